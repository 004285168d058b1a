/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the files of xen/ only. */
#pragma once

#include <xendevicemodel.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>

#include "xen/xh.h"

struct xh_ctx {
	xentoollog_logger *log;
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
};
