/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Least privilege: after setup, every Xen handle of the process (devicemodel,
 * foreignmemory, evtchn, the ioreq servers' handles) is restricted to one guest with
 * xentoolcore_restrict_all(); xenstore handles become unusable (the library dup2()s
 * /dev/null over them), so callers close theirs first. Trust boundary: none here.
 */
#include <errno.h>

#include <xentoolcore.h>

#include "xen/xh.h"

int xh_restrict(uint32_t domid)
{
	return xentoolcore_restrict_all(domid) < 0 ? (errno ? -errno : -EIO) : 0;
}
