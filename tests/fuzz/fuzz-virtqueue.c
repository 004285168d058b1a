/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the split-virtqueue engine (devices/virtqueue.c) and the rng
 * device on top of it (devices/rng.c): the input is the guest's memory (descriptor
 * table, rings, indirect tables, buffers) plus a few parameters. Nothing may crash,
 * trip a sanitizer, or run unbounded.
 *
 * Trust boundary: the whole input is hostile guest state; this file only lays it out.
 *
 * Input layout (little-endian):
 *   0      log2 of the queue size (mod 9: 1 .. 256)
 *   1      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 through the rng device (else the
 *          engine directly), bit 3 use the ring offsets below (else the default layout)
 *   2..3   avail->idx, written over the memory image
 *   4..5   starting last_avail_idx (engine mode; also the used idx)
 *   6..11  two "concurrent guest" writes: at access number a[i], set byte off[i] to v[i]
 *          (a: 1 byte, off: 1 byte scaled by 64, v: 1 byte)
 *   12..17 desc, avail, used offsets into guest memory (u16 each, used with bit 3)
 *   18..   the guest memory image, from its first byte
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "devices/virtqueue.h"
#include "tests/support/fake-gmem.h"

#define BASE	  0x10000ULL
#define MEM_SIZE  0x4000 /* 16 KiB: desc @0, avail @0x1000, used @0x1400, the rest free */
#define HDR_SIZE  18
#define MAX_LOOPS 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fuzz_mem {
	struct fake_gmem *fg;
	unsigned accesses;
	struct {
		unsigned at;
		unsigned off;
		uint8_t val;
	} poke[2];
};

/* The guest changes its memory while the device reads it. */
static struct fuzz_mem *cur;

static void on_access(struct fake_gmem *fg, bool write, uint64_t gpa, size_t len)
{
	unsigned i;

	cur->accesses++;
	for (i = 0; i < ARRAY_SIZE(cur->poke); i++)
		if (cur->poke[i].at == cur->accesses && cur->poke[i].off < fg->size)
			fg->mem[cur->poke[i].off] = cur->poke[i].val;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static void noop_used(struct vdev_bus *bus, unsigned q)
{
}

static void noop_config(struct vdev_bus *bus)
{
}

static const struct vdev_bus_ops bus_ops = {
	.notify_used = noop_used,
	.notify_config = noop_config,
};

static void run_engine(struct fake_gmem *fg, const struct vdev_queue *q, uint64_t features,
		       uint16_t start)
{
	static uint8_t buf[4096];
	struct vq_elem e;
	struct vq *vq;
	unsigned i;
	int r;

	if (vq_new(&fg->gmem, q, features, "fuzz", &vq) < 0)
		return;
	vq_set_last_avail(vq, start);
	vq_elem_init(&e);
	for (i = 0; i < MAX_LOOPS; i++) {
		ssize_t n;

		r = vq_pop(vq, &e);
		if (r == -EAGAIN)
			continue;
		if (r <= 0)
			break;
		n = vq_elem_from_guest(vq, &e, i % 7, buf, MIN(e.rd_len, sizeof(buf)));
		n = vq_elem_to_guest(vq, &e, i % 5, buf, MIN(e.wr_len, sizeof(buf)));
		if (vq_push(vq, &e, n < 0 ? 0 : (uint32_t)n) < 0)
			break;
		if (i % 3 == 0)
			vq_should_notify(vq);
	}
	/*
	 * No check that the loop ended by itself: rings may overlap (a used ring on top
	 * of avail->idx makes every push offer a new buffer), which is exactly why the
	 * devices bound each run. The engine's own bounds are per call.
	 */
	vq_should_notify(vq);
	vq_elem_fini(&e);
	vq_free(vq);
}

static void run_rng(struct fake_gmem *fg, const struct vdev_queue *q, uint64_t features)
{
	struct vdev_params p = { .name = "fuzz/rng", .mem = &fg->gmem, .queue_size = q->num };
	struct vdev_bus bus = { .ops = &bus_ops };
	struct vdev_queue *dq;
	struct vdev *d;
	unsigned i;

	if (vdev_create("rng", &p, &d, NULL) < 0)
		return;
	vdev_attach(d, &bus);
	vdev_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vdev_set_driver_features_word(d, 0, (uint32_t)features);
	vdev_set_driver_features_word(d, 1, 1); /* VIRTIO_F_VERSION_1 */
	vdev_set_status(d, 0xb);
	vdev_queue_set_num(d, 0, q->num);
	dq = vdev_queue(d, 0);
	dq->desc = q->desc;
	dq->avail = q->avail;
	dq->used = q->used;
	dq->ready = true;
	vdev_set_status(d, 0xf);
	vdev_kick(d, 0);
	for (i = 0; i < 4 && g_main_context_pending(NULL); i++)
		g_main_context_iteration(NULL, FALSE);
	vdev_kick(d, 0);
	vdev_free(d); /* drops a pending continuation */
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_mem m = { 0 };
	struct vdev_queue q = { 0 };
	uint64_t features = 0;
	unsigned i;

	if (size < HDR_SIZE)
		return 0;
	m.fg = fake_gmem_new(BASE, MEM_SIZE);
	memcpy(m.fg->mem, data + HDR_SIZE, MIN(size - HDR_SIZE, (size_t)MEM_SIZE));
	q.num = (uint16_t)(1u << (data[0] % 9));
	q.num_max = q.num;
	q.ready = true;
	if (data[1] & 1)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (data[1] & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 8) {
		q.desc = BASE + get16(data + 12) % MEM_SIZE;
		q.avail = BASE + get16(data + 14) % MEM_SIZE;
		q.used = BASE + get16(data + 16) % MEM_SIZE;
	} else {
		q.desc = BASE;
		q.avail = BASE + 0x1000;
		q.used = BASE + 0x1400;
	}
	if (q.avail + 4 <= BASE + MEM_SIZE) {
		m.fg->mem[q.avail + 2 - BASE] = data[2];
		m.fg->mem[q.avail + 3 - BASE] = data[3];
	}
	for (i = 0; i < ARRAY_SIZE(m.poke); i++) {
		m.poke[i].at = data[6 + 3 * i];
		m.poke[i].off = data[7 + 3 * i] * 64u;
		m.poke[i].val = data[8 + 3 * i];
	}
	cur = &m;
	m.fg->on_access = on_access;
	if (data[1] & 4)
		run_rng(m.fg, &q, features);
	else
		run_engine(m.fg, &q, features, get16(data + 4));
	cur = NULL;
	fake_gmem_free(m.fg);
	return 0;
}
