#!/usr/bin/env python3
# Writes the seed corpus of fuzz-vpci (tests/fuzz/corpus-vpci/), in the input format
# described at the top of fuzz-vpci.c. Run from anywhere: python3 gen-corpus-vpci.py
import os
import struct

SIZES = {1: 0, 2: 1, 4: 2, 8: 3}
PREF_BASE, MEM_BASE = 0x100000000, 0x23000000
# <linux/pci_regs.h>
COMMAND, STATUS, BAR2, BAR3, BAR4, BAR5, CAP_LIST = 0x04, 0x06, 0x18, 0x1c, 0x20, 0x24, 0x34
MEMORY, MASTER, INTX_DISABLE = 0x2, 0x4, 0x400
MSIX_ENABLE, MSIX_MASKALL = 0x8000, 0x4000
# <linux/virtio_pci.h> common cfg
DFSELECT, DF, GFSELECT, GF, MSIX, NUMQ, DSTATUS = 0, 4, 8, 12, 16, 18, 20
Q_SELECT, Q_SIZE, Q_MSIX, Q_ENABLE, Q_NOFF = 22, 24, 26, 28, 30
Q_DESCLO, Q_AVAILLO, Q_USEDLO = 32, 40, 48
# BAR 2 layout (virtio-pci/vpci-dev.c) and slot 0's capabilities
ISR, DEVCFG, NOTIFY, MSIX_TABLE, MSIX_PBA = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000
CAP_PCI_CFG, CAP_MSIX = 0x84, 0x98


def val(size, v):
    return struct.pack('<Q', v)[:size]


def ecam(off, size, write=False, v=0):
    c = 0 << 5 | (8 if write else 0) | SIZES[size]
    return bytes([c]) + val(3, off) + (val(4, v) if write else b'')


def x86(bdf, reg, size, write=False, v=0):
    c = 1 << 5 | (8 if write else 0) | SIZES[size]
    return bytes([c]) + val(2, bdf) + val(2, reg) + (val(4, v) if write else b'')


def cfg(dev, reg, size, write=False, v=0):
    c = 2 << 5 | dev << 4 | (8 if write else 0) | SIZES[size]
    return bytes([c, reg]) + (val(4, v) if write else b'')


def bar(dev, off, size, write=False, v=0, shm=False):
    c = 3 << 5 | dev << 4 | (8 if write else 0) | (4 if shm else 0) | SIZES[size]
    return bytes([c]) + val(3, off) + (val(8, v) if write else b'')


def mmio(win, off, size, write=False, v=0):
    s = SIZES[size] | (4 if write else 0)
    return bytes([4 << 5 | win]) + val(3, off) + bytes([s]) + (val(8, v) if write else b'')


def program(dev, addr, enable=True, shm=False):
    return bytes([5 << 5 | dev << 4 | (4 if shm else 0) | (2 if enable else 0)]) + val(8, addr)


def program_io(dev, port_off):
    return bytes([5 << 5 | dev << 4 | 1]) + val(8, port_off)


def port(off, size, write=False, v=0):
    s = SIZES[size] | (4 if write else 0)
    return bytes([4 << 5 | 0x10]) + val(3, off) + bytes([s]) + (val(4, v) if write else b'')


def event(dev, b):
    return bytes([6 << 5 | dev << 4, b])


def common(off, v):
    return bytes([7 << 5 | 4, off]) + val(4, v)


def sizing(dev, reg):
    return cfg(dev, reg, 4) + cfg(dev, reg, 4, True, 0xffffffff) + cfg(dev, reg, 4) + \
        cfg(dev, reg, 4, True, 0)


def probe_caps(dev):
    s = cfg(dev, 0, 4) + cfg(dev, STATUS, 2) + cfg(dev, CAP_LIST, 1)
    for pos in range(0x40, 0x100, 4):
        s += cfg(dev, pos, 4)
    return s


def virtio_init(w, msix):
    """w(off, size, value) writes BAR 2 of slot 0 through some path."""
    s = w(DSTATUS, 1, 0) + w(DSTATUS, 1, 1) + w(DSTATUS, 1, 3)
    s += w(GFSELECT, 4, 1) + w(GF, 4, 1) + w(GFSELECT, 4, 0) + w(GF, 4, 8)
    s += w(DSTATUS, 1, 0xb)
    if msix:
        s += w(MSIX, 2, 0)
    for q in range(2):
        base = 0x40000000 + q * 0x10000
        s += w(Q_SELECT, 2, q) + w(Q_SIZE, 2, 64)
        for off, part in ((Q_DESCLO, 0), (Q_AVAILLO, 1), (Q_USEDLO, 2)):
            s += w(off, 4, base + part * 0x1000) + w(off + 4, 4, 0)
        if msix:
            s += w(Q_MSIX, 2, q + 1)
        s += w(Q_ENABLE, 2, 1)
    s += w(DSTATUS, 1, 0xf)
    return s


def via_mmio(off, size, v):
    return mmio(2, off, size, True, v)


def probe_msix():
    s = sizing(0, BAR2) + sizing(0, BAR3) + probe_caps(0)
    s += program(0, PREF_BASE + 0x100000)
    for v in range(3):
        e = MSIX_TABLE + 16 * v
        s += mmio(2, e, 8, True, 0xfee00000) + mmio(2, e + 8, 4, True, 0x40 + v)
        s += mmio(2, e + 12, 4, True, 0)
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE)
    s += virtio_init(via_mmio, True)
    s += mmio(2, NOTIFY + 4, 2, True, 1) + event(0, 0 | 1 << 3) + event(0, 1)
    s += mmio(2, MSIX_TABLE + 12, 4, True, 1) + event(0, 1) + mmio(2, MSIX_PBA, 8)
    s += mmio(2, MSIX_TABLE + 12, 4, True, 0)
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE | MSIX_MASKALL) + event(0, 0)
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE)
    s += via_mmio(DSTATUS, 1, 0)
    return s


def probe_intx():
    s = program(0, MEM_BASE)
    s += virtio_init(lambda off, size, v: bar(0, off, size, True, v), False)
    s += event(0, 0) + cfg(0, STATUS, 2) + bar(0, ISR, 1) + event(0, 1)
    s += cfg(0, COMMAND, 2, True, MEMORY | INTX_DISABLE) + event(0, 0)
    s += cfg(0, COMMAND, 2, True, MEMORY) + mmio(2, ISR, 1)
    s += bar(0, DEVCFG + 4, 4) + bar(0, DEVCFG, 8, True, 0x1122334455667788)
    return s


def bar_moves():
    s = program(0, PREF_BASE + 0x8000) + program(1, PREF_BASE + 0x10000)
    s += program(1, PREF_BASE + 0x20000, shm=True)
    s += bar(1, 0x4000, 4, shm=True) + bar(1, 0x10, 8, True, 7, shm=True)
    s += cfg(0, BAR2, 4, True, 0x23000000)              # low half only: waits
    s += cfg(0, BAR3, 4, True, 0)                       # consistent again
    s += program(1, PREF_BASE + 0x8000)                 # overlaps slot 0: refused
    s += program(0, PREF_BASE + 0x40000)                # slot 1 may decode now
    s += cfg(0, COMMAND, 2, True, 0) + cfg(0, COMMAND, 2, True, MEMORY)
    s += sizing(0, BAR2) + sizing(0, BAR3)              # while decoding
    s += program(0, 0x10000000) + program(0, 0xfffffffffff00000)
    s += event(0, 3) + program(0, MEM_BASE + 0x8000) + event(0, 3)
    s += cfg(0, COMMAND, 2, True, MEMORY | MASTER)
    s += event(1, 5) + event(1, 5 | 7 << 3) + event(0, 4)
    return s


def pci_cfg_window():
    data = CAP_PCI_CFG + 16
    s = cfg(0, CAP_PCI_CFG + 4, 1, True, 2) + cfg(0, CAP_PCI_CFG + 12, 4, True, 2)
    s += cfg(0, CAP_PCI_CFG + 8, 4, True, NUMQ) + cfg(0, data, 4)
    s += cfg(0, CAP_PCI_CFG + 8, 4, True, DSTATUS) + cfg(0, CAP_PCI_CFG + 12, 4, True, 1)
    s += cfg(0, data, 4, True, 1) + cfg(0, data, 1)
    s += cfg(0, CAP_PCI_CFG + 8, 4, True, ISR) + cfg(0, data, 4)
    s += cfg(0, CAP_PCI_CFG + 8, 4, True, MSIX_TABLE) + cfg(0, CAP_PCI_CFG + 12, 4, True, 4)
    s += cfg(0, data, 4, True, 0xfee00000) + cfg(0, data, 4)
    s += cfg(0, CAP_PCI_CFG + 12, 4, True, 3) + cfg(0, data, 4)
    return s


def bad_access():
    s = ecam(0x100000, 4) + ecam(3, 2) + ecam(0, 8) + ecam(0x8000 | 0x1000, 4)
    s += ecam(0x100, 4) + ecam(0x4, 2, True, 0x10007) + x86(0x0008, 0, 4)
    s += x86(0x0100, 0, 4) + x86(0, 0x1000, 4) + x86(0, 0x3, 2, True, 1)
    s += bar(0, 0x8000, 4) + bar(0, 0x3001, 2, True, 1) + bar(1, 0x5000, 4, shm=True)
    s += mmio(0, 0, 4) + mmio(3, 0, 4, True, 0) + common(NUMQ, 3) + common(Q_SELECT, 0xffff)
    s += common(Q_SIZE, 64) + common(Q_ENABLE, 1) + event(0, 2) + common(DSTATUS, 0)
    return s


def port_notify():
    # slot 1's I/O BAR 0 (the port notify register): sizing, placed, written, read, moved
    s = sizing(1, 0x10) + program_io(1, 0x40) + port(0x40, 2, True, 0) + port(0x40, 2)
    s += port(0x42, 2, True, 1) + port(0x40, 4, True, 1) + port(0x44, 1)
    s += program_io(1, 0x80) + port(0x80, 2, True, 0) + cfg(1, COMMAND, 2, True, 0)
    s += port(0x80, 2, True, 0) + event(1, 4) + port(0x80, 2)
    return s


def xen_pirq():
    # an x86 HVM guest's MSI-X set-up with Xen pirqs: vector 0, the pirq in the destination
    # ID bits (bits 8+ in the upper address), mask bits never cleared; then the function
    # mask set: these messages are still delivered
    s = program(0, PREF_BASE + 0x100000)
    for v, pirq in enumerate((0x37, 0x1a5, 0x12)):
        e = MSIX_TABLE + 16 * v
        s += mmio(2, e, 4, True, 0xfee00000 | (pirq & 0xff) << 12)
        s += mmio(2, e + 4, 4, True, pirq & ~0xff) + mmio(2, e + 8, 4, True, 0)
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE)
    s += virtio_init(via_mmio, True)
    s += event(0, 0) + event(0, 1) + mmio(2, MSIX_PBA, 8)
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE | MSIX_MASKALL) + event(0, 0) + event(0, 1)
    s += mmio(2, MSIX_TABLE + 8, 4, True, 0x41) + event(0, 1)   # native again: masked
    s += cfg(0, CAP_MSIX + 2, 2, True, MSIX_ENABLE) + mmio(2, MSIX_PBA, 8)
    return s


SEEDS = {
    'probe-msix': probe_msix(),
    'probe-intx': probe_intx(),
    'bar-moves': bar_moves(),
    'pci-cfg-window': pci_cfg_window(),
    'bad-access': bad_access(),
    'port-notify': port_notify(),
    'xen-pirq': xen_pirq(),
}

if __name__ == '__main__':
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus-vpci')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
