#!/usr/bin/env python3
"""Seed corpus for fuzz-vhu-shmem (see its header for the input format)."""
import os
import struct
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-vhu-shmem")
NEED = 0x1 | 0x8
PG = 4096
ALL = 1 | 2 | 4  # REPLY_ACK, BACKEND_SEND_FD, SHMEM


def shm(shmid, fd_off, shm_off, length, flags):
    return struct.pack("<B7xQQQQ", shmid, fd_off, shm_off, length, flags)


def msg(req, payload, fd_pages=None, fill=1, flags=NEED):
    spec = 0 if fd_pages is None else 1 | (fd_pages << 1) | (fill << 5)
    return bytes([0, spec]) + struct.pack("<III", req, flags, len(payload)) + payload


def read(idx, off, size_log2):
    return bytes([1]) + struct.pack("<BIB", idx, off, size_log2)


def write(idx, off, size_log2, val):
    return bytes([2]) + struct.pack("<BIBQ", idx, off, size_log2, val)


def save(name, data):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)


MAP, UNMAP = 9, 10
save("map-read-unmap", bytes([ALL]) + msg(MAP, shm(0, 0, PG, 2 * PG, 0), 2, 3) +
     read(0, PG + 5, 0) + read(0, 0, 3) + msg(UNMAP, shm(0, 0, PG, 2 * PG, 0)) + read(0, PG, 2))
save("map-rw-write", bytes([ALL]) + msg(MAP, shm(3, PG, 0, PG, 1), 2, 1) +
     write(1, 8, 3, 0x1122334455667788) + read(1, 8, 3))
save("overlap", bytes([ALL]) + msg(MAP, shm(0, 0, 0, 4 * PG, 0), 4) +
     msg(MAP, shm(0, 0, 2 * PG, 4 * PG, 0), 4) + msg(UNMAP, shm(0, 0, 0, PG, 0)))
save("missing-fd", bytes([ALL]) + msg(MAP, shm(0, 0, 0, PG, 0)))
save("short-file", bytes([ALL]) + msg(MAP, shm(0, PG, 0, 2 * PG, 0), 2))
save("no-shmem", bytes([1 | 2]) + msg(MAP, shm(0, 0, 0, PG, 0), 1))
save("no-ack", bytes([2 | 4]) + msg(MAP, shm(0, 0, 0, PG, 0), 1) + read(0, 0, 0))
save("reset", bytes([ALL]) + msg(MAP, shm(0, 0, 0, PG, 0), 1) + bytes([3]) + read(0, 0, 0))
save("cap", bytes([ALL]) + b"".join(msg(MAP, shm(0, 0, i * PG, PG, 0), 1)
                                     for i in range(9)))
sys.exit(0)
