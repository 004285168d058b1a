#!/usr/bin/env python3
# Writes the seed corpus of fuzz-virtqueue (tests/fuzz/corpus-virtqueue/), in the input
# format described at the top of fuzz-virtqueue.c. Run from anywhere:
#   python3 gen-corpus-virtqueue.py
import os
import struct

BASE = 0x10000  # guest address of the first memory byte (fuzz-virtqueue.c BASE)
NEXT, WRITE, INDIRECT = 1, 2, 4  # VRING_DESC_F_*
EVENT_IDX, INDIRECT_DESC, VIA_RNG, LAYOUT = 1, 2, 4, 8  # header byte 1


def hdr(log2num, flags, avail_idx, start=0, pokes=((0, 0, 0), (0, 0, 0)),
        offs=(0, 0x1000, 0x1400)):
    h = bytes([log2num, flags]) + struct.pack('<HH', avail_idx, start)
    for at, off64, val in pokes:
        h += bytes([at, off64, val])
    h += struct.pack('<HHH', *offs)
    assert len(h) == 18
    return h


def desc(m, table, i, addr, length, flags, nxt):
    struct.pack_into('<QIHH', m, table + 16 * i, addr, length, flags, nxt)


def avail(m, num, heads, off=0x1000):
    for k, h in enumerate(heads):
        struct.pack_into('<H', m, off + 4 + 2 * (k % num), h)


def image(m):
    return bytes(m).rstrip(b'\0')


def seeds():
    m = bytearray(0x4000)  # one writable buffer, queue 8
    desc(m, 0, 0, BASE + 0x2000, 64, WRITE, 0)
    avail(m, 8, [0])
    yield 'simple', hdr(3, 0, 1) + image(m)

    m = bytearray(0x4000)  # readable -> writable -> writable, and one more; EVENT_IDX
    desc(m, 0, 0, BASE + 0x2000, 16, NEXT, 1)
    desc(m, 0, 1, BASE + 0x2100, 32, WRITE | NEXT, 2)
    desc(m, 0, 2, BASE + 0x2200, 8, WRITE, 0)
    desc(m, 0, 5, BASE + 0x2300, 100, WRITE, 0)
    avail(m, 16, [0, 5])
    struct.pack_into('<H', m, 0x1000 + 4 + 2 * 16, 1)  # used_event
    yield 'chain-event-idx', hdr(4, EVENT_IDX, 2) + image(m)

    m = bytearray(0x4000)  # an indirect table of three, queue 4
    desc(m, 0, 1, BASE + 0x3000, 48, INDIRECT, 0)
    desc(m, 0x3000, 0, BASE + 0x2000, 16, NEXT, 2)
    desc(m, 0x3000, 2, BASE + 0x2100, 16, WRITE | NEXT, 1)
    desc(m, 0x3000, 1, BASE + 0x2200, 16, WRITE, 0)
    avail(m, 4, [1])
    yield 'indirect', hdr(2, INDIRECT_DESC, 1) + image(m)

    m = bytearray(0x4000)  # through the rng device: good, a loop, a bad head, a large one
    desc(m, 0, 0, BASE + 0x2000, 64, WRITE, 0)
    desc(m, 0, 1, BASE + 0x2100, 64, WRITE | NEXT, 1)
    desc(m, 0, 2, BASE + 0x2200, 4096, WRITE, 0)
    avail(m, 8, [0, 1, 9, 2])
    yield 'rng', hdr(3, VIA_RNG | EVENT_IDX | INDIRECT_DESC, 4) + image(m)

    m = bytearray(0x4000)  # indices wrapping at 65536, queue 2
    desc(m, 0, 0, BASE + 0x2000, 8, WRITE, 0)
    desc(m, 0, 1, BASE + 0x2008, 8, WRITE, 0)
    avail(m, 2, [0, 1])
    yield 'wrap', hdr(1, 0, (65535 + 2) & 0xffff, 65535) + image(m)

    m = bytearray(0x4000)  # rings elsewhere; the guest bumps avail->idx (0x1800) mid-way
    desc(m, 0x800, 0, BASE + 0x2000, 8, WRITE, 0)
    avail(m, 8, [0], off=0x17fe)
    yield 'layout-poke', hdr(3, LAYOUT, 1, 0, ((3, 0x1800 // 64, 5), (0, 0, 0)),
                             (0x800, 0x17fe, 0x1c00)) + image(m)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus-virtqueue')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
