#!/usr/bin/env python3
"""Seed corpora for fuzz-vhu-reply and fuzz-vhu-backend (see their headers)."""
import os
import struct
import sys

root = os.path.dirname(os.path.abspath(__file__))
REPLY = 0x4 | 0x1


def msg(req, payload=b"", flags=REPLY):
    return struct.pack("<III", req, flags, len(payload)) + payload


def write(d, name, data):
    os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, d, name), "wb") as f:
        f.write(data)


u64 = lambda v: struct.pack("<Q", v)
# fuzz-vhu-reply: which, flags, arg, stream
write("corpus-vhu-reply", "get-features", bytes([0, 0, 0]) + msg(1, u64(0x175007e46)))
write("corpus-vhu-reply", "vring-base", bytes([1, 0, 1]) + msg(11, struct.pack("<II", 1, 7)))
cfg = struct.pack("<III", 0, 60, 0) + bytes(60)
write("corpus-vhu-reply", "config", bytes([2, 0, 60]) + msg(24, cfg))
write("corpus-vhu-reply", "inflight", bytes([3, 1 << 2, 0]) +
      msg(31, struct.pack("<QQHHI", 4096, 0, 1, 256, 0)))
write("corpus-vhu-reply", "ack", bytes([4, 1, 0]) + msg(8, u64(0)))
write("corpus-vhu-reply", "mem-table-ack", bytes([5, 3, 0]) + msg(5, u64(0)))
write("corpus-vhu-reply", "negotiate-qsd", bytes([6, 0, 0]) + msg(1, u64(0x175007e46)) +
      msg(15, u64(0x8f2b)) + msg(17, u64(1)))
# fuzz-vhu-backend: proto, nfds, stream
NEED = 0x1 | 0x8
write("corpus-vhu-backend", "config-change", bytes([3, 0]) + msg(2, b"", NEED))
write("corpus-vhu-backend", "vring-call", bytes([3, 0]) + msg(4, struct.pack("<II", 0, 0), NEED) +
      msg(5, struct.pack("<II", 1, 0), 0x1))
write("corpus-vhu-backend", "shmem-map", bytes([3, 1]) + msg(9, bytes(40), NEED))
write("corpus-vhu-backend", "unknown", bytes([1, 0]) + msg(77, b"xx", NEED))
sys.exit(0)
