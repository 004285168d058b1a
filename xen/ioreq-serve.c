/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Serving one ioreq: decode and validate the private copy of a slot, hand it to the
 * handler, fill in the read data. Kept apart from the event-channel and shared-page
 * handling (ioreq.c) so it can be fuzzed without a hypervisor (tests/fuzz/fuzz-ioreq.c).
 *
 * Trust boundary: `req` is a copy of what the guest's vCPU made Xen write; every field
 * is checked here before use: type, size (1, 2, 4, 8), count (1), no pointer data.
 * Whatever the handler or the checks say, a read gets a value of the access size; a
 * write hands the handler only the access size's bits.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "xen/xh-internal.h"

/* Validate the private copy of a request and turn it into an xh_io. */
static int decode(const ioreq_t *req, unsigned vcpu, struct xh_io *io)
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
	/* Arm sends count 1 without pointer data; x86 rep/string ops to our registers are refused */
	if (req->count != 1 || req->data_is_ptr)
		return -EOPNOTSUPP;
	/*
	 * Arm puts the whole source register in a write's data (xen/arch/arm/ioreq.c,
	 * try_fwd_ioserv: p.data = get_user_reg()): a 32-bit `str w1` of a value computed as
	 * (u32)x1 arrives with x1's upper half. Only the access size's bits are written.
	 */
	if (io->write && io->size < 8)
		io->data &= (1ULL << (8 * io->size)) - 1;
	return 0;
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
	r = decode(req, vcpu, &io);
	if (r == 0) {
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
