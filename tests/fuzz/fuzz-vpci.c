/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: random sequences of guest config-space and BAR accesses to a virtio-pci
 * host bridge with two devices (slot 0: a fake blk device with 3 MSI-X vectors; slot 1: a
 * fake device with two shared memory regions, no MSI-X, and the port notify register in
 * I/O BAR 0), mixed with device and owner events. After every step it checks:
 *   - the owner is asked to claim only ranges inside a window, outside ECAM, never two
 *     overlapping ranges, never a range twice; every unmap releases exactly a claimed
 *     range; a BAR is claimed iff the transport says it decodes, and then memory (I/O for
 *     the I/O BAR) decoding is on and the BAR holds that address; ports and memory are
 *     separate spaces;
 *   - every config byte that is neither writable nor write-1-to-clear keeps its power-on
 *     value (ids, class, header type, pin, BAR flags, the capability chain, ...);
 *   - the INTx line equals ISR != 0 && MSI-X off && !INTx-disable && attached, set_intx never
 *     gets the level the line already has, status.INTERRUPT = ISR != 0 && MSI-X off;
 *     send_msi only while attached, MSI-X enabled and the function unmasked (a Xen pirq
 *     message, vector 0 with the pirq in the destination ID, ignores the masks);
 *   - vectors are valid or NO_VECTOR, the PBA has no bits beyond the table;
 *   - the device core's status and queue invariants (as in fuzz-vmmio);
 *   - failed ECAM reads return all-ones, failed BAR reads 0, values fit their size.
 *
 * Input: a sequence of steps, each a control byte c (op = c >> 5, sizes {1, 2, 4, 8}[c & 3],
 * write when c & 0x08, device c >> 4 & 1) and its operands, little-endian:
 *   0: ECAM access, offset 3 bytes (mod ECAM size + 4 KiB), value 4 bytes if a write
 *   1: x86 config access, bdf 2 bytes, reg 2 bytes (mod 0x1010), value 4 bytes if a write
 *   2: config access to a device, reg 1 byte (aligned down to the size), value 4 bytes
 *   3: BAR access to a device (c & 0x04: BAR 4, else BAR 2), offset 3 bytes, value 8 bytes
 *   4: MMIO access at window (c & 3: 32-bit, prefetchable, slot 0's BAR 2 address, ECAM)
 *      + offset 3 bytes, then a byte s (size {1,2,4,8}[s & 3], write when s & 4), value 8;
 *      with c & 0x10 a port access in the I/O window instead (offset mod its size)
 *   5: program a 64-bit BAR like Linux (low, then high): BAR c & 0x04 ? 4 : 2 of the device,
 *      address 8 bytes; c & 0x02: then turn memory decoding and bus mastering on; c & 0x01:
 *      BAR 0 instead, at a port of the I/O window, then only I/O decoding on
 *   6: event by the next byte b: b & 7 = 0 used buffer (queue b >> 3), 1 config change,
 *      2 device broken, 3 toggle bar_map failure, 4 PCI reset, 5 detach / re-attach at slot
 *      b >> 3, 6 toggle start failure, 7 toggle set_features failure; on the device
 *   7: a common-cfg write to slot 0's BAR 2 (reaches the device whatever the decoding):
 *      offset 1 byte (mod 64), value 4 bytes; the field's natural size if c & 0x04
 * The seed corpus (tests/fuzz/corpus-vpci/, gen-corpus-vpci.py) holds a Linux-like probe
 * with MSI-X, an INTx probe, BAR sizing and moves, PCI_CFG window use and bad accesses.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "common/util.h"
#include "tests/support/fake-vdev.h"
#include "virtio-pci/vpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

#define ECAM_BASE 0x10000000ULL
#define ECAM_SIZE 0x100000ULL
#define MEM_BASE  0x23000000ULL
#define MEM_SIZE  0x100000ULL
#define PREF_BASE 0x100000000ULL
#define PREF_SIZE 0x1000000ULL
#define IO_BASE	  0x1000ULL
#define IO_SIZE	  0x100ULL
#define NDEV	  2

struct claim {
	bool on;
	uint64_t addr;
	uint64_t size;
};

struct harness;

struct fdev {
	struct vpci_dev p;
	struct fake_vdev *f;
	struct harness *h;
	bool attached;
	unsigned slot;
	bool line;
	struct claim claims[VPCI_NUM_BARS];
	uint8_t ro_snapshot[VPCI_CFG_SIZE];
	uint8_t ro_mask[VPCI_CFG_SIZE]; /* 0xff: neither writable nor W1C (status aside) */
};

struct harness {
	struct vpci_host host;
	struct fdev dev[NDEV];
	int map_ret;
};

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool inside(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

static uint16_t msix_flags(const struct vpci_dev *p)
{
	return p->cap_msix ? (uint16_t)(p->cfg[p->cap_msix + PCI_MSIX_FLAGS] |
					p->cfg[p->cap_msix + PCI_MSIX_FLAGS + 1] << 8)
			   : 0;
}

static void h_set_intx(struct vpci_dev *p, bool level)
{
	struct fdev *fd = container_of(p, struct fdev, p);

	CHECK(level != fd->line);
	fd->line = level;
}

static void h_send_msi(struct vpci_dev *p, uint64_t addr, uint32_t data)
{
	uint16_t fl = msix_flags(p);

	/* a Xen pirq message (vector 0, the pirq in the destination ID bits) ignores the masks */
	uint32_t pirq = (uint32_t)(addr >> 32 & 0xffffff00u) | (uint32_t)(addr >> 12 & 0xff);
	bool xen_pirq = (addr & 0xfff00000u) == 0xfee00000u && !(data & 0xff) && pirq;

	CHECK(p->host && container_of(p, struct fdev, p)->attached);
	CHECK(fl & PCI_MSIX_FLAGS_ENABLE);
	CHECK(xen_pirq || !(fl & PCI_MSIX_FLAGS_MASKALL));
}

static int h_bar_map(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	struct fdev *fd = container_of(p, struct fdev, p);
	struct harness *h = fd->h;
	unsigned i, b;

	CHECK(bar < VPCI_NUM_BARS && !fd->claims[bar].on && fd->attached);
	CHECK(is_pow2(size) && !(addr & (size - 1)));
	if (vpci_bar_is_io(p, bar))
		CHECK(bar == VPCI_PIO_BAR && inside(IO_BASE, IO_SIZE, addr, size));
	else
		CHECK(inside(MEM_BASE, MEM_SIZE, addr, size) ||
		      inside(PREF_BASE, PREF_SIZE, addr, size));
	CHECK(vpci_bar_is_io(p, bar) || !overlaps(addr, size, ECAM_BASE, ECAM_SIZE));
	for (i = 0; i < NDEV; i++)
		for (b = 0; b < VPCI_NUM_BARS; b++)
			if (h->dev[i].claims[b].on &&
			    vpci_bar_is_io(&h->dev[i].p, b) == vpci_bar_is_io(p, bar))
				CHECK(!overlaps(addr, size, h->dev[i].claims[b].addr,
						h->dev[i].claims[b].size));
	if (h->map_ret)
		return h->map_ret;
	fd->claims[bar] = (struct claim){ true, addr, size };
	return 0;
}

static void h_bar_unmap(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	struct fdev *fd = container_of(p, struct fdev, p);

	CHECK(bar < VPCI_NUM_BARS && fd->claims[bar].on);
	CHECK(fd->claims[bar].addr == addr && fd->claims[bar].size == size);
	fd->claims[bar].on = false;
}

static const struct vpci_ops h_ops = {
	.set_intx = h_set_intx,
	.send_msi = h_send_msi,
	.bar_map = h_bar_map,
	.bar_unmap = h_bar_unmap,
};

struct input {
	const uint8_t *p;
	size_t left;
};

static bool take(struct input *in, unsigned n, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned i;

	if (in->left < n)
		return false;
	for (i = 0; i < n; i++)
		v |= (uint64_t)in->p[i] << (8 * i);
	in->p += n;
	in->left -= n;
	*ret = v;
	return true;
}

/* --- invariants --- */

NO_COVERAGE static void check_vdev(struct vdev *d)
{
	uint8_t s = vdev_get_status(d), seq = s & 0x0f;
	unsigned q;

	CHECK(!(s & 0x30));
	CHECK(!(s & VIRTIO_CONFIG_S_NEEDS_RESET) || d->broken);
	CHECK(seq == 0 || seq == 0x1 || seq == 0x3 || seq == 0xb || seq == 0xf);
	CHECK(!d->started || (s & VIRTIO_CONFIG_S_DRIVER_OK));
	for (q = 0; q < d->nqueues; q++) {
		const struct vdev_queue *vq = &d->queues[q];

		CHECK(vq->num == 0 || (is_pow2(vq->num) && vq->num <= vq->num_max));
		if (vq->ready)
			CHECK(vq->num && vq->desc && vq->avail && vq->used && !(vq->desc & 15));
	}
}

static uint64_t bar_addr(const struct vpci_dev *p, unsigned b)
{
	const uint8_t *r = p->cfg + PCI_BASE_ADDRESS_0 + 4 * b;
	uint64_t lo = (uint64_t)r[0] | r[1] << 8 | r[2] << 16 | (uint64_t)r[3] << 24;
	uint64_t hi = (uint64_t)r[4] | r[5] << 8 | r[6] << 16 | (uint64_t)r[7] << 24;

	if (p->bars[b].io)
		return lo & 0xfffc;
	return (lo & ~0xfULL) | hi << 32;
}

_Static_assert(sizeof(((struct vpci_dev *)0)->msix_pba) == 2 * sizeof(uint64_t),
	       "check_dev checks two PBA words");
_Static_assert(VDEV_MAX_QUEUES <= 64, "check_dev keeps one bit per queue");

/* The PBA bits word w may have with n vectors. */
static uint64_t pba_valid(unsigned n, unsigned w)
{
	if (n >= 64 * (w + 1))
		return UINT64_MAX;
	return n <= 64 * w ? 0 : (1ULL << (n - 64 * w)) - 1;
}

/* The checks carry no coverage instrumentation: they would dominate the run time. */
NO_COVERAGE static void check_dev(struct fdev *fd)
{
	struct vpci_dev *p = &fd->p;
	uint16_t cmd = (uint16_t)(p->cfg[PCI_COMMAND] | p->cfg[PCI_COMMAND + 1] << 8);
	bool msix = msix_flags(p) & PCI_MSIX_FLAGS_ENABLE;
	bool pending = p->isr && !msix;
	uint8_t diff = 0;
	uint64_t bad_vec = 0;
	unsigned i;

	CHECK(fd->line == p->intx_level);
	CHECK(p->intx_level == (pending && p->host && !(cmd & PCI_COMMAND_INTX_DISABLE)));
	CHECK(!!(p->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT) == pending);
	CHECK(!(p->isr & ~(1 | VIRTIO_PCI_ISR_CONFIG)));
	for (i = 0; i < VPCI_CFG_SIZE; i++)
		diff |= (uint8_t)((p->cfg[i] ^ fd->ro_snapshot[i]) & fd->ro_mask[i]);
	CHECK(!diff);
	for (i = 0; i < VPCI_NUM_BARS; i++) {
		CHECK(p->bars[i].mapped == fd->claims[i].on);
		if (!p->bars[i].mapped)
			continue;
		CHECK(fd->attached && !p->bars[i].hi_pending &&
		      (cmd & (p->bars[i].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)));
		CHECK(p->bars[i].map_addr == fd->claims[i].addr &&
		      bar_addr(p, i) == fd->claims[i].addr);
	}
	CHECK(p->msix_config == VIRTIO_MSI_NO_VECTOR || p->msix_config < p->msix_vectors);
	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		bad_vec |= (uint64_t)(p->queue_vector[i] != VIRTIO_MSI_NO_VECTOR &&
				      p->queue_vector[i] >= p->msix_vectors)
			   << i;
	CHECK(!bad_vec);
	CHECK(!(p->msix_pba[0] & ~pba_valid(p->msix_vectors, 0)));
	CHECK(!(p->msix_pba[1] & ~pba_valid(p->msix_vectors, 1)));
	check_vdev(&fd->f->vdev);
}

/* --- steps --- */

static const unsigned sizes[4] = { 1, 2, 4, 8 };

static void check_read(int r, uint64_t v, unsigned size, uint64_t fail_val)
{
	if (r < 0)
		CHECK(v == fail_val);
	else if (size < 8)
		CHECK(v < (1ULL << (8 * size)));
}

static uint64_t ones(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

static bool op_ecam(struct harness *h, struct input *in, uint8_t c)
{
	unsigned size = sizes[c & 3];
	uint64_t off, v;

	if (!take(in, 3, &off))
		return false;
	off %= ECAM_SIZE + 0x1000;
	if (c & 0x08) {
		if (!take(in, 4, &v))
			return false;
		vpci_ecam_write(&h->host, off, size, v);
		return true;
	}
	check_read(vpci_ecam_read(&h->host, off, size, &v), v, size, ones(size));
	return true;
}

static bool op_x86(struct harness *h, struct input *in, uint8_t c)
{
	unsigned size = sizes[c & 3];
	uint64_t bdf, reg, v;

	if (!take(in, 2, &bdf) || !take(in, 2, &reg))
		return false;
	reg %= 0x1010;
	if (c & 0x08) {
		if (!take(in, 4, &v))
			return false;
		vpci_cfg_write(&h->host, (uint16_t)bdf, (uint32_t)reg, size, v);
		return true;
	}
	check_read(vpci_cfg_read(&h->host, (uint16_t)bdf, (uint32_t)reg, size, &v), v, size,
		   ones(size));
	return true;
}

static bool op_cfg(struct harness *h, struct input *in, uint8_t c)
{
	struct fdev *fd = &h->dev[(c >> 4) & 1];
	unsigned size = sizes[c & 3];
	uint64_t reg, v, off;

	if (!take(in, 1, &reg))
		return false;
	off = (uint64_t)fd->slot << 15 | (reg & ~(uint64_t)(size - 1) & 0xff);
	if (c & 0x08) {
		if (!take(in, 4, &v))
			return false;
		vpci_ecam_write(&h->host, off, size, v);
		return true;
	}
	check_read(vpci_ecam_read(&h->host, off, size, &v), v, size, ones(size));
	if (!h->host.slots[fd->slot] && size < 8)
		CHECK(v == ones(size)); /* an empty slot */
	return true;
}

static bool op_bar(struct harness *h, struct input *in, uint8_t c)
{
	struct fdev *fd = &h->dev[(c >> 4) & 1];
	unsigned size = sizes[c & 3], bar = (c & 0x04) ? VPCI_SHM_BAR : VPCI_VIRTIO_BAR;
	uint64_t off, v;

	if (!take(in, 3, &off))
		return false;
	if (bar == VPCI_VIRTIO_BAR)
		off %= 0x9000;
	if (c & 0x08) {
		if (!take(in, 8, &v))
			return false;
		vpci_bar_write(&fd->p, bar, off, size, size < 8 ? v & ones(size) : v);
		return true;
	}
	check_read(vpci_bar_read(&fd->p, bar, off, size, &v), v, size, 0);
	return true;
}

static bool op_mmio(struct harness *h, struct input *in, uint8_t c)
{
	static const uint64_t bases[3] = { MEM_BASE, PREF_BASE, ECAM_BASE };
	uint64_t off, s, v, base;
	unsigned size;

	if (!take(in, 3, &off) || !take(in, 1, &s))
		return false;
	size = sizes[s & 3];
	if (c & 0x10) {
		uint16_t port = (uint16_t)(IO_BASE + off % IO_SIZE);
		struct vpci_dev *d = NULL;

		if (size == 8)
			size = 4;
		if (s & 4) {
			if (!take(in, 4, &v))
				return false;
			vpci_pio_write(&h->host, port, size, v & ones(size));
			return true;
		}
		for (unsigned i = 0; i < NDEV; i++)
			if (h->dev[i].claims[VPCI_PIO_BAR].on &&
			    vpci_bar_is_io(&h->dev[i].p, VPCI_PIO_BAR) &&
			    port - h->dev[i].claims[VPCI_PIO_BAR].addr <
				    h->dev[i].claims[VPCI_PIO_BAR].size)
				d = &h->dev[i].p;
		check_read(vpci_pio_read(&h->host, port, size, &v), v, size, d ? 0 : ones(size));
		return true;
	}
	base = (c & 3) == 2 ? bar_addr(&h->dev[0].p, VPCI_VIRTIO_BAR) : bases[(c & 3) % 3];
	if (s & 4) {
		if (!take(in, 8, &v))
			return false;
		vpci_mmio_write(&h->host, base + off, size, size < 8 ? v & ones(size) : v);
		return true;
	}
	check_read(vpci_mmio_read(&h->host, base + off, size, &v), v, size,
		   vpci_host_lookup(&h->host, base + off, &(struct vpci_dev *){ NULL },
				    &(unsigned){ 0 }, &(uint64_t){ 0 }) < 0
			   ? ones(size)
			   : 0);
	return true;
}

static bool op_program_bar(struct harness *h, struct input *in, uint8_t c)
{
	struct fdev *fd = &h->dev[(c >> 4) & 1];
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * ((c & 0x04) ? VPCI_SHM_BAR : VPCI_VIRTIO_BAR);
	uint64_t base = (uint64_t)fd->slot << 15, addr;

	if (!take(in, 8, &addr))
		return false;
	if (c & 0x01) { /* the I/O BAR, then I/O decoding on */
		vpci_ecam_write(&h->host, base | PCI_BASE_ADDRESS_0, 4,
				(uint32_t)(IO_BASE + addr % IO_SIZE));
		vpci_ecam_write(&h->host, base | PCI_COMMAND, 2, PCI_COMMAND_IO);
		return true;
	}
	vpci_ecam_write(&h->host, base | reg, 4, (uint32_t)addr);
	vpci_ecam_write(&h->host, base | (reg + 4), 4, addr >> 32);
	if (c & 0x02)
		vpci_ecam_write(&h->host, base | PCI_COMMAND, 2,
				PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return true;
}

static void reattach(struct harness *h, struct fdev *fd, unsigned slot)
{
	if (fd->attached) {
		vpci_host_detach(&h->host, fd->slot);
		fd->attached = false;
		return;
	}
	fd->attached = true; /* before: a re-attached device may decode at once */
	if (vpci_host_attach(&h->host, slot % VPCI_MAX_SLOTS, &fd->p) == 0)
		fd->slot = slot % VPCI_MAX_SLOTS;
	else
		fd->attached = false;
}

static bool op_event(struct harness *h, struct input *in, uint8_t c)
{
	struct fdev *fd = &h->dev[(c >> 4) & 1];
	uint64_t b;

	if (!take(in, 1, &b))
		return false;
	switch (b & 7) {
	case 0:
		vdev_notify_used(&fd->f->vdev, (unsigned)(b >> 3));
		break;
	case 1:
		vdev_config_changed(&fd->f->vdev);
		break;
	case 2:
		vdev_set_broken(&fd->f->vdev, "fuzz");
		break;
	case 3:
		h->map_ret = h->map_ret ? 0 : -EBUSY;
		break;
	case 4:
		vpci_dev_reset(&fd->p);
		break;
	case 5:
		reattach(h, fd, (unsigned)(b >> 3));
		break;
	case 6:
		fd->f->start_ret = fd->f->start_ret ? 0 : -EIO;
		break;
	default:
		fd->f->set_features_ret = fd->f->set_features_ret ? 0 : -EINVAL;
		break;
	}
	return true;
}

static unsigned common_width(uint64_t off)
{
	if (off == VIRTIO_PCI_COMMON_STATUS || off == VIRTIO_PCI_COMMON_CFGGENERATION)
		return 1;
	if (off >= VIRTIO_PCI_COMMON_MSIX && off < VIRTIO_PCI_COMMON_Q_DESCLO)
		return 2;
	return 4;
}

static bool op_common(struct harness *h, struct input *in, uint8_t c)
{
	uint64_t off, v;
	unsigned size;

	if (!take(in, 1, &off) || !take(in, 4, &v))
		return false;
	off %= 64;
	size = (c & 0x04) ? common_width(off) : sizes[c & 3];
	vpci_bar_write(&h->dev[0].p, VPCI_VIRTIO_BAR, off, size, v & ones(size));
	return true;
}

typedef bool (*op_fn)(struct harness *h, struct input *in, uint8_t c);

static const op_fn ops[8] = {
	op_ecam, op_x86, op_cfg, op_bar, op_mmio, op_program_bar, op_event, op_common,
};

/* --- set-up --- */

static void dev_new(struct harness *h, unsigned i)
{
	static const struct vdev_shm shm[2] = { { .id = 0, .size = 0x4000 },
						{ .id = 2, .size = 0x1000 } };
	struct fdev *fd = &h->dev[i];
	unsigned b;

	fd->h = h;
	fd->f = fake_vdev_new(i ? VIRTIO_ID_GPU : VIRTIO_ID_BLOCK, 2, 256, i ? 8 : 16);
	if (!fd->f)
		abort();
	fd->f->offer = (1ULL << 3) | (1ULL << VIRTIO_F_RING_PACKED);
	for (b = 0; b < 16; b++)
		fd->f->cfg[b] = (uint8_t)b;
	if (i && vdev_set_shm(&fd->f->vdev, shm, 2) < 0)
		abort();
	if (vpci_dev_init(&fd->p, &h_ops, &fd->f->vdev, i ? 0 : 3) < 0 ||
	    (i && vpci_dev_set_pio_notify(&fd->p, true) < 0))
		abort();
	memcpy(fd->ro_snapshot, fd->p.cfg, VPCI_CFG_SIZE);
	for (b = 0; b < VPCI_CFG_SIZE; b++)
		fd->ro_mask[b] = !fd->p.wmask[b] && !fd->p.w1cmask[b] && b != PCI_STATUS ? 0xff : 0;
	fd->slot = i;
	if (vpci_host_attach(&h->host, i, &fd->p) < 0)
		abort();
	fd->attached = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vpci_host_config hc = {
		.ecam = { ECAM_BASE, ECAM_SIZE },
		.mem = { MEM_BASE, MEM_SIZE },
		.pref = { PREF_BASE, PREF_SIZE },
		.io = { IO_BASE, IO_SIZE },
	};
	struct input in = { data, size };
	struct harness *h = calloc(1, sizeof(*h));
	uint64_t c;
	unsigned i, b;

	if (!h || vpci_host_init(&h->host, &hc) < 0)
		abort();
	for (i = 0; i < NDEV; i++)
		dev_new(h, i);
	while (take(&in, 1, &c)) {
		if (!ops[c >> 5](h, &in, (uint8_t)c))
			break;
		for (i = 0; i < NDEV; i++)
			check_dev(&h->dev[i]);
	}
	for (i = 0; i < NDEV; i++) {
		vpci_dev_fini(&h->dev[i].p);
		for (b = 0; b < VPCI_NUM_BARS; b++)
			CHECK(!h->dev[i].claims[b].on); /* everything released */
		fake_vdev_free(h->dev[i].f);
	}
	vpci_host_fini(&h->host);
	free(h);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}
