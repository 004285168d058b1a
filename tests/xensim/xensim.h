/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of libxensim.so, the stand-in for the Xen libraries that is LD_PRELOADed
 * into the program under test. Each library handle owns one connection to the
 * simulated hypervisor (XENSIM_SOCKET); see proto.h. Plain libc only: the library
 * lives inside someone else's process.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/xensim/proto.h"

struct xsim_conn {
	int fd;
	pthread_mutex_t lock;	/* one call at a time per handle */
	struct xsim_conn *next; /* registry for xentoolcore_restrict_all */
};

/* A reply: header, data (nul-terminated past len for convenience) and received fds. */
struct xsim_reply {
	struct xsim_rsp hdr;
	char *data; /* malloc'd, hdr.len + 1 bytes */
	int fds[XSIM_MAX_FDS];
	unsigned nfds;
};

/* Connect to $XENSIM_SOCKET and say hello. 0 or -errno (ENOENT when no socket is set). */
int xsim_conn_open(struct xsim_conn *c, enum xsim_kind kind);
void xsim_conn_close(struct xsim_conn *c);
/*
 * A connection bound to the abstract address `name` first, not registered for
 * xentoolcore_restrict_all (an emulated device fd, xensim-privcmd.c). The caller owns
 * c->fd; xsim_conn_close() must not be used on it.
 */
int xsim_conn_open_named(struct xsim_conn *c, enum xsim_kind kind, const char *name);

/*
 * One call: send req (+ data, + fds), wait for the reply. Returns -errno on a transport
 * failure (the reply is then empty), otherwise -reply.hdr.err. The caller frees the
 * reply with xsim_reply_fini(), which closes any fds it did not take (set them to -1).
 */
int xsim_call(struct xsim_conn *c, struct xsim_req *req, const void *data, size_t len,
	      struct xsim_reply *ret);
/* The same, sending fds along (SCM_RIGHTS; the simulator gets its own copies). */
int xsim_call_fds(struct xsim_conn *c, struct xsim_req *req, const void *data, size_t len,
		  const int *fds, unsigned nfds, struct xsim_reply *ret);
void xsim_reply_fini(struct xsim_reply *r);

/* Shorthand: a call without data whose reply carries nothing but values. */
int xsim_simple(struct xsim_conn *c, uint32_t op, uint32_t domid, uint32_t id, uint64_t a0,
		uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *ret_val0);

/* xensim-fmem.c: the mapped resource holding addr (domain, type, id), or -EFAULT. */
int xsim_fmem_resource_at(const void *addr, uint32_t *ret_domid, uint32_t *ret_type,
			  uint32_t *ret_id);
/*
 * xensim-kevt.c: IOCTL_PRIVCMD_IRQFD / IOEVENTFD on an emulated privcmd fd (the ioctl
 * number is one of the two). 0 or -errno.
 */
int xsim_kevt_ioctl(int fd, unsigned long req, void *arg);

/* Sets errno from a negative return and returns -1; for the int-returning API. */
int xsim_fail(int neg_errno);

/* A function of the real libraries that the simulator does not provide. */
void xsim_unsupported(const char *fn);
