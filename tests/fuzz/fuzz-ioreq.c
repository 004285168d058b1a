/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: raw ioreq_t slots, exactly as a guest's vCPUs can make Xen write them
 * (any type, size, count, pointer flag, direction, address, data), through the real
 * decode/serve path of xen/ioreq-serve.c into two virtio-mmio windows backed by fake
 * devices. Checks: a read always gets a value that fits the access size; bad requests are
 * counted, never served; served requests reach the transport only with size 1/2/4/8,
 * and a write's data never has bits beyond its size (Arm hands over the whole source
 * register: the decoder must mask it). x86 string ioreqs (count > 1, pointer data, the
 * direction flag) run against a small fake guest RAM: every repetition reaches the
 * transport with a valid size, pointer reads never write RAM outside the string.
 *
 * Input: a sequence of 32-byte ioreq_t images (FACTS 22); the address is folded onto the
 * two windows (0x2000000 and 0x2000200) or just beyond them, so that most requests land
 * somewhere meaningful.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "common/util.h"
#include "tests/fuzz/fuzz-quiet.h"
#include "tests/support/fake-gmem.h"
#include "tests/support/fake-vdev.h"
#include "virtio-mmio/vmmio.h"
#include "xen/xh-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define BASE	 0x2000000ULL
#define RAM	 0x40000000ULL
#define RAM_SIZE 0x1000

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

struct harness {
	struct xh_ioreq_handler h;
	struct vmmio m[2];
	struct fake_vdev *f[2];
	unsigned accesses, invalidates;
};

static void set_irq(struct vmmio *m, bool level)
{
}

static const struct vmmio_ops mmio_ops = { .set_irq = set_irq };

static int h_access(struct xh_ioreq_handler *hh, struct xh_io *io)
{
	struct harness *h = container_of(hh, struct harness, h);
	uint64_t off = io->addr - BASE;
	unsigned i = off / VMMIO_WINDOW_SIZE;

	CHECK(io->size == 1 || io->size == 2 || io->size == 4 || io->size == 8);
	CHECK(!io->write || io->size == 8 || io->data >> (8 * io->size) == 0);
	h->accesses++;
	if (io->type != XH_IO_MMIO || off >= 2 * VMMIO_WINDOW_SIZE)
		return -ENODEV;
	off %= VMMIO_WINDOW_SIZE;
	if (io->write)
		return vmmio_write(&h->m[i], off, io->size, io->data);
	return vmmio_read(&h->m[i], off, io->size, &io->data);
}

static void invalidate(struct xh_ioreq_handler *hh)
{
	container_of(hh, struct harness, h)->invalidates++;
}

static const struct xh_ioreq_handler_ops handler_ops = {
	.access = h_access,
	.invalidate = invalidate,
};

/* Only a pointer read stores into RAM, and only inside its string. */
static void check_ram(struct fake_gmem *ram, const uint8_t *snap, const ioreq_t *req)
{
	uint64_t span = (uint64_t)req->count * req->size, lo, hi;

	if (req->type == IOREQ_TYPE_INVALIDATE || req->dir != IOREQ_READ || !req->data_is_ptr) {
		CHECK(memcmp(snap, ram->mem, RAM_SIZE) == 0);
		return;
	}
	lo = req->df ? req->data + req->size - span : req->data;
	hi = lo + span;
	for (uint64_t a = RAM; a < RAM + RAM_SIZE; a++)
		if (a < lo || a >= hi)
			CHECK(snap[a - RAM] == ram->mem[a - RAM]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h = { .h.ops = &handler_ops };
	struct xh_ioreq_stats st = { 0 };
	struct fake_gmem *ram = fake_gmem_new(RAM, RAM_SIZE);
	static uint8_t snap[RAM_SIZE];
	unsigned i;

	h.h.mem = &ram->gmem;

	for (i = 0; i < 2; i++) {
		h.f[i] = fake_vdev_new(i ? VIRTIO_ID_RNG : VIRTIO_ID_BLOCK, 2, 64, 16);
		vmmio_init(&h.m[i], &mmio_ops, &h.f[i]->vdev);
	}
	for (; size >= sizeof(ioreq_t); data += sizeof(ioreq_t), size -= sizeof(ioreq_t)) {
		ioreq_t req;
		uint64_t before;
		unsigned size_in;

		memcpy(&req, data, sizeof(req));
		req.addr = BASE + req.addr % (2 * VMMIO_WINDOW_SIZE + 0x40);
		/* strings: keep them short (the limit itself stays reachable) and point most of
		   them at the fake RAM, some just off it */
		if (req.count > 64 && req.count <= XH_IOREQ_MAX_REPS)
			req.count %= 64;
		if (req.data_is_ptr && (req.data & 1))
			req.data = RAM - 8 + (req.data >> 1) % (RAM_SIZE + 16);
		req.state = STATE_IOREQ_INPROCESS;
		size_in = req.size;
		before = st.served + st.bad;
		memcpy(snap, ram->mem, RAM_SIZE);
		xh_ioreq_serve(&h.h, 1, req.vp_eport % 4, &req, &st);
		check_ram(ram, snap, &req);
		/* INVALIDATE and TIMEOFFSET carry no guest access: Xen reads nothing back. */
		if (req.type == IOREQ_TYPE_INVALIDATE || req.type == IOREQ_TYPE_TIMEOFFSET)
			continue;
		CHECK(st.served + st.bad == before + 1);
		if (req.dir == IOREQ_READ && !req.data_is_ptr && size_in > 0 && size_in < 8)
			CHECK(req.data >> (8 * size_in) == 0);
		CHECK(req.size == size_in); /* the slot keeps what Xen wrote */
	}
	for (i = 0; i < 2; i++) {
		vmmio_fini(&h.m[i]);
		fake_vdev_free(h.f[i]);
	}
	fake_gmem_free(ram);
	return 0;
}
