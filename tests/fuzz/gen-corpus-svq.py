#!/usr/bin/env python3
# Writes the seed corpus of fuzz-svq (tests/fuzz/corpus-svq/), in the input format
# described at the top of fuzz-svq.c. Run from anywhere:
#   python3 gen-corpus-svq.py
import os
import struct

BASE = 0x10000  # guest address of the first memory byte (fuzz-svq.c BASE)
SCRIPT_OPS = 64
NEXT, WRITE, INDIRECT = 1, 2, 4  # VRING_DESC_F_*
G_EVENT, G_INDIRECT, S_EVENT = 1, 2, 4  # header byte 3
FWD, TAKE, USE, LIE_USED, IDX_JUMP, COMPLETE, RESTART, BUMP, SCRIBBLE, FLAGS, POKE, NOP = range(12)


def hdr(gnum_log2, snum_log2, bounce64, flags, avail_idx, start, ops):
    assert len(ops) <= SCRIPT_OPS
    h = bytes([gnum_log2, snum_log2, bounce64 - 1, flags]) + struct.pack('<HH', avail_idx, start)
    ops = list(ops) + [(NOP, 0, 0, 0)] * (SCRIPT_OPS - len(ops))
    for op, a, b, c in ops:
        h += bytes([op, a, b, c])
    return h


def desc(m, table, i, addr, length, flags, nxt):
    struct.pack_into('<QIHH', m, table + 16 * i, addr, length, flags, nxt)


def avail(m, num, heads, start=0):
    for k, h in enumerate(heads):
        struct.pack_into('<H', m, 0x1000 + 4 + 2 * ((start + k) % num), h)


def image(m):
    return bytes(m).rstrip(b'\0')


def fill(m, off, n, seed):
    for i in range(n):
        m[off + i] = (seed * 31 + i * 7) & 0xff


def use(a, length, c=0x5a):
    return (USE, a, length & 0xff, ((length >> 8) & 0x3f) | (c & 0xc0))


def seeds():
    # blk write: header + data readable, status writable
    m = bytearray(0x4000)
    fill(m, 0x2000, 16, 1)
    fill(m, 0x2100, 512, 2)
    desc(m, 0, 0, BASE + 0x2000, 16, NEXT, 1)
    desc(m, 0, 1, BASE + 0x2100, 512, NEXT, 2)
    desc(m, 0, 2, BASE + 0x2400, 1, WRITE, 0)
    avail(m, 8, [0])
    yield 'blk-write', hdr(3, 3, 64, 0, 1, 0,
                           [(FWD, 0, 0, 0), (TAKE, 0, 0, 0), use(0, 1), (COMPLETE, 0, 0, 0)]) + image(m)

    # blk read: header readable, data and status writable, EVENT_IDX on both sides
    m = bytearray(0x4000)
    desc(m, 0, 0, BASE + 0x2000, 16, NEXT, 1)
    desc(m, 0, 1, BASE + 0x2100, 1024, NEXT | WRITE, 2)
    desc(m, 0, 2, BASE + 0x2600, 1, WRITE, 0)
    avail(m, 8, [0])
    yield 'blk-read', hdr(3, 3, 64, G_EVENT | S_EVENT, 1, 0,
                          [(FWD, 0, 0, 0), (TAKE, 0, 0, 0), use(0, 1025), (COMPLETE, 0, 0, 0),
                           (FWD, 0, 0, 0)]) + image(m)

    # net rx: four writable buffers completed out of order
    m = bytearray(0x4000)
    for i in range(4):
        desc(m, 0, i, BASE + 0x2000 + 0x600 * i, 1526, WRITE, 0)
    avail(m, 16, [0, 1, 2, 3])
    yield 'net-rx', hdr(4, 4, 128, 0, 4, 0,
                        [(FWD, 0, 0, 0), (TAKE, 7, 0, 0), use(3, 60), use(1, 1500),
                         (COMPLETE, 0, 0, 0), use(0, 1526), use(2, 0), (COMPLETE, 0, 0, 0)]) + image(m)

    # bounce exhaustion: 1 KiB of bounce space, three 400-byte requests
    m = bytearray(0x4000)
    for i in range(3):
        desc(m, 0, i, BASE + 0x2000 + 0x200 * i, 400, WRITE, 0)
    avail(m, 8, [0, 1, 2])
    yield 'bounce-full', hdr(3, 3, 16, 0, 3, 0,
                             [(FWD, 0, 0, 0), (TAKE, 7, 0, 0), use(0, 400), (COMPLETE, 0, 0, 0),
                              (FWD, 0, 0, 0), (TAKE, 7, 0, 0), use(0, 400), use(0, 400),
                              (COMPLETE, 0, 0, 0)]) + image(m)

    # a request larger than the budget, then a good one; guest indirect table
    m = bytearray(0x4000)
    desc(m, 0, 0, BASE + 0x2000, 0x1000, WRITE, 0)
    desc(m, 0, 1, BASE + 0x3000, 32, INDIRECT, 0)
    desc(m, 0x3000, 0, BASE + 0x3100, 16, NEXT, 1)
    desc(m, 0x3000, 1, BASE + 0x3200, 64, WRITE, 0)
    avail(m, 8, [0, 1])
    yield 'too-large-indirect', hdr(3, 2, 8, G_INDIRECT, 2, 0,
                                    [(FWD, 0, 0, 0), (TAKE, 1, 0, 0), use(0, 64),
                                     (COMPLETE, 0, 0, 0)]) + image(m)

    # restart with requests in flight, one of them held
    m = bytearray(0x4000)
    for i in range(5):
        desc(m, 0, 2 * i, BASE + 0x2000 + 0x400 * i, 100, NEXT, 2 * i + 1)
        desc(m, 0, 2 * i + 1, BASE + 0x2200 + 0x400 * i, 200, WRITE, 0)
        fill(m, 0x2000 + 0x400 * i, 100, i)
    avail(m, 16, [0, 2, 4, 6, 8])
    yield 'restart', hdr(4, 3, 24, 0, 5, 0,
                         [(FWD, 0, 0, 0), (TAKE, 2, 0, 0), use(2, 200), (COMPLETE, 0, 0, 0),
                          (RESTART, 0, 0, 0), (TAKE, 7, 0, 0), use(0, 200), use(0, 200),
                          use(0, 200), (COMPLETE, 0, 0, 0), (FWD, 0, 0, 0), (TAKE, 7, 0, 0),
                          use(0, 200), (COMPLETE, 0, 0, 0)]) + image(m)

    # a lying back-end: bad id, duplicate, index jump; then a restart and honest work
    m = bytearray(0x4000)
    for i in range(4):
        desc(m, 0, i, BASE + 0x2000 + 0x100 * i, 64, WRITE, 0)
    avail(m, 8, [0, 1, 2, 3])
    yield 'liar', hdr(3, 3, 64, S_EVENT, 4, 0,
                      [(FWD, 0, 0, 0), (TAKE, 7, 0, 0), (LIE_USED, 0, 0, 0xff),
                       (LIE_USED, 0, 0, 3), (COMPLETE, 0, 0, 0), (RESTART, 0, 0, 0),
                       (SCRIBBLE, 5, 0, 0xff), (IDX_JUMP, 0x7f, 0, 0), (COMPLETE, 0, 0, 0),
                       (RESTART, 0, 0, 0), (TAKE, 7, 0, 0), use(0, 64), use(0, 64),
                       (COMPLETE, 0, 0, 0), (LIE_USED, 9, 1, 1), (COMPLETE, 0, 0, 0)]) + image(m)

    # wrap-around of the guest's indices, guest bumps and pokes, suppression flags
    m = bytearray(0x4000)
    for i in range(2):
        desc(m, 0, i, BASE + 0x2000 + 0x100 * i, 32, WRITE, 0)
    avail(m, 2, [0, 1], start=0xffff)
    yield 'wrap', hdr(1, 1, 2, G_EVENT, 0x0001, 0xffff,
                      [(FLAGS, 1, 0, 0), (FWD, 0, 0, 0), (TAKE, 1, 0, 0), use(0, 32),
                       (COMPLETE, 0, 0, 0), (FWD, 0, 0, 0), (BUMP, 1, 0, 0), (POKE, 0x02, 0x10, 1),
                       (FWD, 0, 0, 0), (TAKE, 1, 0, 0), use(0, 32), (COMPLETE, 0, 0, 0)]) + image(m)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus-svq')
    os.makedirs(out, exist_ok=True)
    for name, blob in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(blob)


if __name__ == '__main__':
    main()
