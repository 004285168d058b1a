#!/usr/bin/env python3
# Writes the seed corpus of fuzz-vmmio (tests/fuzz/corpus-vmmio/), in the input format
# described at the top of fuzz-vmmio.c. Run from anywhere: python3 gen-corpus-vmmio.py
import os
import struct

SIZES = {1: 0, 2: 1, 3: 2, 4: 3, 8: 4}
# virtio-mmio register offsets (Linux <linux/virtio_mmio.h>)
MAGIC, VERSION, DEVICE_ID, DEV_F, DEV_F_SEL, DRV_F, DRV_F_SEL = 0x0, 0x4, 0x8, 0x10, 0x14, 0x20, 0x24
PAGE_SIZE, Q_SEL, Q_NUM_MAX, Q_NUM, Q_PFN, Q_READY, Q_NOTIFY = 0x28, 0x30, 0x34, 0x38, 0x40, 0x44, 0x50
INT_STATUS, INT_ACK, STATUS = 0x60, 0x64, 0x70
Q_DESC, Q_AVAIL, Q_USED = 0x80, 0x90, 0xa0
SHM_SEL, SHM_LEN, CFG_GEN, CFG = 0xac, 0xb0, 0xfc, 0x100


def wr(off, val):  # 32-bit register write, 4-byte value
    return bytes([0x40 | 0x18 | SIZES[4], off // 4]) + struct.pack('<I', val)


def rd(off):
    return bytes([0x08 | SIZES[4], off // 4])


def rd_any(off, size):
    return bytes([SIZES[size]]) + struct.pack('<H', off)


def wr_any(off, size, val):
    kind = 4 if size == 8 else 2
    return bytes([kind << 5 | 0x10 | SIZES[size]]) + struct.pack('<H', off) + \
        struct.pack('<Q' if kind == 4 else '<I', val)


def used(q):
    return bytes([0xa0, q])


def cfg_changed():
    return bytes([0xc0])


def dev_event(b):
    return bytes([0xe0, b])


def probe(nq=2):
    s = rd(MAGIC) + rd(VERSION) + rd(DEVICE_ID) + wr(STATUS, 0) + wr(STATUS, 1) + wr(STATUS, 3)
    s += wr(DEV_F_SEL, 1) + rd(DEV_F) + wr(DEV_F_SEL, 0) + rd(DEV_F)
    s += wr(DRV_F_SEL, 1) + wr(DRV_F, 1) + wr(DRV_F_SEL, 0) + wr(DRV_F, 8)
    s += wr(STATUS, 0xb) + rd(STATUS)
    for q in range(nq):
        base = 0x40000000 + q * 0x10000
        s += wr(Q_SEL, q) + rd(Q_READY) + rd(Q_NUM_MAX) + wr(Q_NUM, 64)
        for reg, part in ((Q_DESC, 0), (Q_AVAIL, 1), (Q_USED, 2)):
            s += wr(reg, base + part * 0x1000) + wr(reg + 4, 0)
        s += wr(Q_READY, 1)
    s += wr(STATUS, 0xf)
    return s


seeds = {
    'probe': probe(),
    'probe-io': probe() + wr(Q_NOTIFY, 0) + used(0) + rd(INT_STATUS) + wr(INT_ACK, 1) +
    wr(Q_NOTIFY, 1) + used(1) + cfg_changed() + wr(INT_ACK, 1) + rd(INT_STATUS) + wr(INT_ACK, 2),
    'config': rd(CFG_GEN) + rd_any(CFG, 1) + rd_any(CFG + 1, 2) + rd_any(CFG + 4, 4) +
    rd_any(CFG + 8, 8) + wr_any(CFG + 2, 2, 0x1234) + wr_any(CFG + 8, 8, 0x1122334455667788) +
    rd_any(CFG + 15, 4) + rd_any(0x1ff, 1) + dev_event(3) + wr_any(CFG, 1, 0xff) + cfg_changed() +
    rd(CFG_GEN),
    'bad-access': rd_any(STATUS + 1, 4) + wr_any(STATUS, 1, 1) + rd_any(MAGIC, 3) +
    rd_any(0x200, 4) + wr(PAGE_SIZE, 4096) + rd(Q_PFN) + wr(MAGIC, 0) + rd(Q_NOTIFY) +
    wr(SHM_SEL, 0) + rd(SHM_LEN) + wr(Q_SEL, 7) + rd(Q_NUM_MAX) + wr(Q_NUM, 3),
    'broken-reset': probe() + dev_event(0) + rd(STATUS) + rd(INT_STATUS) + wr(Q_NOTIFY, 0) +
    wr(STATUS, 0) + dev_event(1) + probe() + rd(STATUS) + wr(STATUS, 0),
    'status-walk': wr(STATUS, 2) + wr(STATUS, 1) + wr(STATUS, 0x41) + wr(STATUS, 0x81) +
    wr(STATUS, 1) + wr(STATUS, 0) + wr(STATUS, 1) + wr(STATUS, 3) + wr(STATUS, 0xb) +
    wr(STATUS, 0x0f) + wr(STATUS, 0x8f),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus-vmmio')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
