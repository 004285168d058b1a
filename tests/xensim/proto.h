/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The wire protocol between libxensim.so (in the process under test, e.g. xvdm) and the
 * simulated hypervisor (hv.c, in the test process). One SOCK_SEQPACKET connection per
 * library handle; every call is one request message and one reply message, fds travel
 * with SCM_RIGHTS. Both ends are built from this tree, so the structs are host-endian.
 */
#pragma once

#include <stdint.h>

#define XSIM_ENV_SOCKET "XENSIM_SOCKET"
#define XSIM_MSG_MAX	(64 * 1024) /* a whole message, header included */
#define XSIM_MAX_FDS	4
#define XSIM_PAGE_SIZE	4096
#define XSIM_MAX_BANKS	4

/* Which library handle a connection belongs to (sent with XSIM_OP_HELLO). */
enum xsim_kind {
	XSIM_KIND_DM = 1,
	XSIM_KIND_FMEM,
	XSIM_KIND_EVTCHN,
	XSIM_KIND_XS,
	XSIM_KIND_PRIVCMD, /* an emulated /dev/xen/privcmd fd (xensim-privcmd.c) */
};

/*
 * An emulated privcmd fd is a connection of kind XSIM_KIND_PRIVCMD whose own (client)
 * end is bound to the abstract unix address "\0" XSIM_PRIVCMD_NAME "<pid>/<n>": that is
 * how a process that received the fd over SCM_RIGHTS recognises it (getsockname).
 */
#define XSIM_PRIVCMD_NAME "xensim-privcmd/"

enum xsim_op {
	XSIM_OP_HELLO = 1, /* arg0 = kind, arg1 = pid */
	XSIM_OP_RESTRICT,  /* domid; xentoolcore_restrict_all and the per-library restricts */

	/* xendevicemodel */
	XSIM_OP_DM_CREATE_SERVER,  /* arg0 = handle_bufioreq -> val0 = id */
	XSIM_OP_DM_DESTROY_SERVER, /* id */
	XSIM_OP_DM_SET_STATE,	   /* id, arg0 = enabled */
	XSIM_OP_DM_MAP_RANGE,	   /* id, arg0 = is_mmio, arg1 = start, arg2 = end */
	XSIM_OP_DM_UNMAP_RANGE,	   /* as above */
	XSIM_OP_DM_MAP_PCIDEV,	   /* id, arg0 = segment, arg1 = bus, arg2 = device, arg3 = fn */
	XSIM_OP_DM_UNMAP_PCIDEV,   /* as above */
	XSIM_OP_DM_SET_IRQ,	   /* arg0 = irq, arg1 = level */
	XSIM_OP_DM_SET_INTX,   /* arg0 = segment, arg1 = bus, arg2 = device, arg3 = intx|lvl<<8 */
	XSIM_OP_DM_INJECT_MSI, /* arg0 = addr, arg1 = data */
	XSIM_OP_DM_NR_VCPUS,   /* -> val0 */

	/* xenforeignmemory */
	XSIM_OP_FMEM_RAM,      /* -> val0 = nbanks, data = struct xsim_bank[], fd = RAM memfd */
	XSIM_OP_FMEM_RESOURCE, /* arg0 = type, arg1 = id, arg2 = frame, arg3 = nr -> fd */

	/* xenevtchn */
	XSIM_OP_EVTCHN_BIND,   /* arg0 = remote port -> val0 = local port, fds g2dm, dm2g */
	XSIM_OP_EVTCHN_UNBIND, /* arg0 = local port */

	/* xenstore: data = path '\0' [value] */
	XSIM_OP_XS_OPEN, /* -> fd = watch eventfd */
	XSIM_OP_XS_READ,
	XSIM_OP_XS_WRITE,
	XSIM_OP_XS_MKDIR,
	XSIM_OP_XS_RM,
	XSIM_OP_XS_DIRECTORY,  /* -> val0 = count, data = names '\0'-separated */
	XSIM_OP_XS_WATCH,      /* data = path '\0' token '\0' */
	XSIM_OP_XS_UNWATCH,    /* as above */
	XSIM_OP_XS_GET_WATCH,  /* -> data = path '\0' token '\0', or EAGAIN */
	XSIM_OP_XS_TX_START,   /* -> val0 = tx id */
	XSIM_OP_XS_TX_END,     /* tx, arg0 = abort */
	XSIM_OP_XS_INTRODUCED, /* domid -> val0 = 0/1 */

	/* privcmd (an emulated /dev/xen/privcmd fd) */
	XSIM_OP_PRIVCMD_MAP, /* arg0 = first pfn, arg1 = pages, arg2 = caller pid
				-> as XSIM_OP_FMEM_RAM */
	/* Linux >= 6.7's privcmd eventfds (hv-kevt.c); the eventfd travels as fd 0 */
	XSIM_OP_PRIVCMD_IRQFD,	   /* arg0 = flags, arg1 = irq, arg2 = level (set_irq_level) */
	XSIM_OP_PRIVCMD_IOEVENTFD, /* id = server, arg0 = addr, arg1 = addr_len | vq << 32,
				      arg2 = flags, arg3 = vcpus */
	XSIM_OP_MAX,
};

struct xsim_req {
	uint32_t op;
	uint32_t domid;
	uint32_t id;  /* ioreq server id, or xenstore transaction */
	uint32_t len; /* bytes following the header */
	uint64_t arg[4];
};

struct xsim_rsp {
	int32_t err; /* 0 or a positive errno, as the real library would set it */
	uint32_t len;
	uint64_t val[4];
};

/* One bank of guest RAM, at `offset` in the RAM memfd. */
struct xsim_bank {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

#define XSIM_DATA_MAX (XSIM_MSG_MAX - sizeof(struct xsim_rsp))

_Static_assert(sizeof(struct xsim_req) == 48, "xsim_req layout");
_Static_assert(sizeof(struct xsim_rsp) == 40, "xsim_rsp layout");
