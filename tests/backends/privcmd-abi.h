/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The part of Linux's include/uapi/xen/privcmd.h that a back-end mapping guest memory
 * with F_XEN_MMAP needs (FACTS 11). Debian does not install that header; the layout
 * here is Linux's, for 64-bit hosts (x86_64 and arm64, where xen_pfn_t is 64 bits).
 */
#pragma once

#include <stdint.h>
#include <sys/ioctl.h>

struct privcmd_mmapbatch_v2 {
	unsigned int num;    /* number of pages to populate */
	uint16_t dom;	     /* target domain (domid_t) */
	uint64_t addr;	     /* virtual address: a privcmd mapping, as a whole or its holes */
	const uint64_t *arr; /* guest frame numbers (xen_pfn_t) */
	int *err;	     /* per-page errors, written only if some page failed */
};

#define IOCTL_PRIVCMD_MMAPBATCH_V2 _IOC(_IOC_NONE, 'P', 4, sizeof(struct privcmd_mmapbatch_v2))
#define IOCTL_PRIVCMD_RESTRICT	   _IOC(_IOC_NONE, 'P', 6, sizeof(uint16_t))

#define PRIVCMD_DEV "/dev/xen/privcmd"

_Static_assert(sizeof(void *) != 8 || sizeof(struct privcmd_mmapbatch_v2) == 32,
	       "struct privcmd_mmapbatch_v2 layout (LP64)");
