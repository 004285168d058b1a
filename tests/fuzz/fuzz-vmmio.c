/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: random sequences of guest accesses (ioreqs) to one virtio-mmio window
 * backed by the fake device, mixed with notifications from the device side. After every
 * step it checks the transport's invariants:
 *   - the interrupt line equals (InterruptStatus != 0), set_irq is never called with the
 *     level the line already has, and InterruptStatus holds only defined bits;
 *   - the status never holds a combination the transition table forbids (a bit of the
 *     initialisation sequence without the ones before it, reserved bits, NEEDS_RESET
 *     without the device being broken);
 *   - every queue's size is 0 or a power of two <= QueueNumMax, an enabled queue has a
 *     size and programmed areas, a started device has DRIVER_OK;
 *   - a failed read returns 0, a register read fits in 32 bits, a config read in its size.
 *
 * Input: a sequence of steps, each starting with a control byte c:
 *   c >> 5 in 0..4: guest access. c & 0x10: write; c & 0x07 selects the size from
 *     {1, 2, 3, 4, 8, 4, 4, 4}; c & 0x08: a register offset from one byte (b & 0x3f) * 4,
 *     else a free offset from two bytes (LE, modulo 0x210: a little beyond the window).
 *     Writes then take the value: 1 byte for c >> 5 in 0..1, 4 bytes for 2..3, 8 for 4.
 *   c >> 5 == 5: used-buffer notification from the device for queue (next byte).
 *   c >> 5 == 6: the device changed its config space.
 *   c >> 5 == 7: device event by the next byte: 0 broken, 1 toggle start failure,
 *     2 toggle set_features failure, 3 toggle read-only config.
 * The seed corpus (tests/fuzz/corpus-vmmio/) holds a full probe and a few bad sequences.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "common/util.h"
#include "tests/support/fake-vdev.h"
#include "virtio-mmio/vmmio.h"

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

struct harness {
	struct vmmio m;
	struct fake_vdev *f;
	bool line;
};

static void h_set_irq(struct vmmio *m, bool level)
{
	struct harness *h = container_of(m, struct harness, m);

	CHECK(level != h->line); /* only real transitions reach the hypervisor */
	h->line = level;
}

static const struct vmmio_ops h_ops = {
	.set_irq = h_set_irq,
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

static void check_status(struct vdev *d)
{
	uint8_t s = vdev_get_status(d);
	uint8_t seq = s & 0x0f;

	CHECK(!(s & 0x30)); /* reserved */
	CHECK(!(s & VIRTIO_CONFIG_S_NEEDS_RESET) || d->broken);
	CHECK(seq == 0 || seq == 0x1 || seq == 0x3 || seq == 0xb || seq == 0xf);
	CHECK(!d->started || (s & VIRTIO_CONFIG_S_DRIVER_OK));
	CHECK(!(d->started && d->broken));
}

static void check_queues(struct vdev *d)
{
	unsigned q;

	for (q = 0; q < d->nqueues; q++) {
		const struct vdev_queue *vq = &d->queues[q];

		CHECK(vq->num == 0 || (is_pow2(vq->num) && vq->num <= vq->num_max));
		if (vq->ready)
			CHECK(vq->num && vq->desc && vq->avail && vq->used && !(vq->desc & 15));
	}
}

static void check_invariants(struct harness *h)
{
	CHECK(h->line == h->m.irq_level);
	CHECK(h->m.irq_level == (h->m.interrupt_status != 0));
	CHECK(!(h->m.interrupt_status & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)));
	check_status(&h->f->vdev);
	check_queues(&h->f->vdev);
}

static const unsigned sizes[8] = { 1, 2, 3, 4, 8, 4, 4, 4 };

static bool guest_access(struct harness *h, struct input *in, uint8_t c)
{
	unsigned size = sizes[c & 7], kind = c >> 5;
	uint64_t off, val;
	int r;

	if (c & 0x08) {
		if (!take(in, 1, &off))
			return false;
		off = (off & 0x3f) * 4;
	} else {
		if (!take(in, 2, &off))
			return false;
		off %= 0x210;
	}
	if (c & 0x10) {
		if (!take(in, kind < 2 ? 1 : kind < 4 ? 4 : 8, &val))
			return false;
		vmmio_write(&h->m, off, size, val);
		return true;
	}
	val = 0xdeadbeef;
	r = vmmio_read(&h->m, off, size, &val);
	if (r < 0)
		CHECK(val == 0);
	else if (size < 8)
		CHECK(val < (1ULL << (8 * size)));
	return true;
}

static bool device_event(struct harness *h, struct input *in, uint8_t c)
{
	uint64_t b;

	switch (c >> 5) {
	case 5:
		if (!take(in, 1, &b))
			return false;
		vdev_notify_used(&h->f->vdev, (unsigned)b);
		return true;
	case 6:
		vdev_config_changed(&h->f->vdev);
		return true;
	default:
		if (!take(in, 1, &b))
			return false;
		if (b == 0)
			vdev_set_broken(&h->f->vdev, "fuzz");
		else if (b == 1)
			h->f->start_ret = h->f->start_ret ? 0 : -5;
		else if (b == 2)
			h->f->set_features_ret = h->f->set_features_ret ? 0 : -22;
		else if (b == 3)
			h->f->cfg_read_only = !h->f->cfg_read_only;
		else if (b == 4) /* the kernel's irqfd takes (or gives back) the used interrupts */
			vmmio_set_used_external(&h->m, !h->m.used_external);
		return true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct harness h;
	uint64_t c;
	unsigned i;

	memset(&h, 0, sizeof(h));
	h.f = fake_vdev_new(VIRTIO_ID_RNG, 2, 256, 16);
	if (!h.f)
		abort();
	h.f->offer = (1ULL << 3) | (1ULL << VIRTIO_F_RING_PACKED);
	for (i = 0; i < 16; i++)
		h.f->cfg[i] = (uint8_t)i;
	vmmio_init(&h.m, &h_ops, &h.f->vdev);
	while (take(&in, 1, &c)) {
		bool more = (c >> 5) < 5 ? guest_access(&h, &in, (uint8_t)c)
					 : device_event(&h, &in, (uint8_t)c);

		if (!more)
			break;
		check_invariants(&h);
	}
	vmmio_fini(&h.m);
	fake_vdev_free(h.f);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}
