/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the files of xen/ only. */
#pragma once

#include <xendevicemodel.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>
#include <xen/hvm/ioreq.h>

#include "xen/xh.h"

struct xh_ctx {
	xentoollog_logger *log;
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
};

/* Serve one request (a private copy of a slot); see ioreq-serve.c. */
void xh_ioreq_serve(struct xh_ioreq_handler *h, uint32_t domid, unsigned vcpu, ioreq_t *req,
		    struct xh_ioreq_stats *stats);

/* What the kernel's ioeventfd needs of a server (privcmd-evt.c); see ioreq.c. */
struct xh_ioreq_kernel_view {
	void *page;	       /* the mapped shared ioreq page */
	const uint32_t *ports; /* our local event-channel port of each vCPU */
	unsigned nr_vcpus;
};
void xh_ioreq_server_kernel_view(struct xh_ioreq_server *s, struct xh_ioreq_kernel_view *ret);
uint32_t xh_ioreq_server_domid(struct xh_ioreq_server *s);
