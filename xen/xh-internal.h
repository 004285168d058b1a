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
