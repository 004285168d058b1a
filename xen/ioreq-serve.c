/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Serving one ioreq: decode and validate the private copy of a slot, hand it to the
 * handler, fill in the read data. Kept apart from the event-channel and shared-page
 * handling (ioreq.c) so it can be fuzzed without a hypervisor (tests/fuzz/fuzz-ioreq.c).
 *
 * Trust boundary: `req` is a copy of what the guest's vCPU made Xen write; every field
 * is checked here before use: type, size (1, 2, 4, 8), count (1 .. XH_IOREQ_MAX_REPS),
 * pointer data (only with guest memory to resolve it). Whatever the handler or the checks
 * say, a read gets a value of the access size; a write hands the handler only the access
 * size's bits.
 *
 * x86 string ioreqs (Xen's hvmemul rep ins/outs/movs/stos; QEMU's cpu_ioreq_pio and
 * cpu_ioreq_move do the same): repetition i uses
 *   device address  addr + i * step for MMIO (COPY); addr itself for a port (PIO),
 *   pointer data    data + i * step, a guest-physical address in RAM,
 * with step = size, or -size when df (the guest's direction flag) is set. With pointer
 * data, a read stores each value the device returns into guest RAM and a write takes each
 * value from there; without, a write repeats `data` and a read keeps the last value.
 */
#include <errno.h>
#include <string.h>

#include "common/gmem.h"
#include "common/log.h"
#include "xen/xh-internal.h"

/* Validate the private copy of a request and turn it into an xh_io (repetition 0). */
static int decode(const struct xh_ioreq_handler *h, const ioreq_t *req, unsigned vcpu,
		  struct xh_io *io)
{
	memset(io, 0, sizeof(*io));
	io->vcpu = vcpu;
	io->write = req->dir == IOREQ_WRITE;
	io->addr = req->addr;
	io->data = req->data;
	switch (req->type) {
	case IOREQ_TYPE_COPY:
		io->type = XH_IO_MMIO;
		break;
	case IOREQ_TYPE_PIO:
		io->type = XH_IO_PIO;
		break;
	case IOREQ_TYPE_PCI_CONFIG:
		io->type = XH_IO_PCI_CONFIG;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (req->size != 1 && req->size != 2 && req->size != 4 && req->size != 8)
		return -EINVAL;
	io->size = req->size;
	if (req->count == 0 || req->count > XH_IOREQ_MAX_REPS)
		return -EINVAL;
	/* Xen sends config space accesses one at a time, never through memory. */
	if (io->type == XH_IO_PCI_CONFIG && (req->count != 1 || req->data_is_ptr))
		return -EINVAL;
	if (req->data_is_ptr && !h->mem)
		return -EOPNOTSUPP;
	/*
	 * Arm puts the whole source register in a write's data (xen/arch/arm/ioreq.c,
	 * try_fwd_ioserv: p.data = get_user_reg()): a 32-bit `str w1` of a value computed as
	 * (u32)x1 arrives with x1's upper half. Only the access size's bits are written.
	 */
	if (io->write && io->size < 8 && !req->data_is_ptr)
		io->data &= (1ULL << (8 * io->size)) - 1;
	return 0;
}

/* addr + i * step, or -EINVAL when that leaves the 64-bit address space. */
static int rep_addr(uint64_t base, uint32_t i, unsigned size, bool df, uint64_t *ret)
{
	uint64_t off = (uint64_t)i * size;

	if (df ? base < off : base + off < base)
		return -EINVAL;
	*ret = df ? base - off : base + off;
	return 0;
}

/*
 * Repetitions 0 .. count - 1 of a string ioreq. A repetition the handler refuses behaves as
 * a single access would (a read gets all ones, a write is dropped) and the string goes on;
 * an address that leaves the 64-bit space or pointer data that is not guest RAM stops it.
 */
static int serve_string(struct xh_ioreq_handler *h, const ioreq_t *req, struct xh_io *io)
{
	uint64_t mask = io->size < 8 ? (1ULL << (8 * io->size)) - 1 : ~0ULL;
	/* decode() left a write's value masked to the access size in io->data */
	uint64_t first = io->addr, ptr = req->data, value = io->data, last = io->data;
	uint32_t i;
	int r = 0;

	for (i = 0; i < req->count; i++) {
		uint64_t gpa = 0, v = 0;

		if (io->type == XH_IO_MMIO)
			r = rep_addr(first, i, io->size, req->df, &io->addr);
		if (r == 0 && req->data_is_ptr)
			r = rep_addr(ptr, i, io->size, req->df, &gpa);
		/* x86 guests are little-endian, like every host xvdm runs on */
		if (r == 0 && io->write && req->data_is_ptr)
			r = gmem_read(h->mem, gpa, &v, io->size);
		if (r < 0)
			break;
		io->data = io->write ? (req->data_is_ptr ? GUINT64_FROM_LE(v) : value) : 0;
		if (h->ops->access(h, io) < 0 && !io->write)
			io->data = ~0ULL;
		if (io->write)
			continue;
		last = io->data & mask;
		if (req->data_is_ptr) {
			v = GUINT64_TO_LE(last);
			r = gmem_write(h->mem, gpa, &v, io->size);
			if (r < 0)
				break;
		}
	}
	io->data = last;
	return r;
}

void xh_ioreq_serve(struct xh_ioreq_handler *h, uint32_t domid, unsigned vcpu, ioreq_t *req,
		    struct xh_ioreq_stats *stats)
{
	struct xh_io io;
	int r;

	if (req->type == IOREQ_TYPE_INVALIDATE) {
		stats->invalidate++;
		if (h->ops->invalidate)
			h->ops->invalidate(h);
		return;
	}
	if (req->type == IOREQ_TYPE_TIMEOFFSET)
		return;
	r = decode(h, req, vcpu, &io);
	if (r == 0 && (req->count > 1 || req->data_is_ptr)) {
		stats->served++;
		stats->string++;
		r = serve_string(h, req, &io);
		if (r < 0)
			log_warn_rl("dom%u: vCPU %u: string ioreq type %u size %u count %u ptr %u"
				    " df %u addr 0x%" PRIx64 " data 0x%" PRIx64 ": stopped: %s",
				    domid, vcpu, req->type, req->size, req->count, req->data_is_ptr,
				    req->df, req->addr, (uint64_t)req->data, g_strerror(-r));
	} else if (r == 0) {
		r = h->ops->access(h, &io);
		stats->served++;
	} else {
		stats->bad++;
		log_warn_rl(
			"dom%u: vCPU %u: bad ioreq type %u size %u count %u ptr %u addr 0x%" PRIx64
			": completed without effect",
			domid, vcpu, req->type, req->size, req->count, req->data_is_ptr, req->addr);
	}
	if (req->dir == IOREQ_READ && !req->data_is_ptr) {
		/* Never hand the guest bits beyond the access size (Arm copies all 64). */
		uint64_t mask = req->size >= 8 ? ~0ULL : (1ULL << (8 * req->size)) - 1;

		req->data = (r == 0 ? io.data : ~0ULL) & mask;
	}
}
