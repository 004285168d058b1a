/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake dom0 kernel for xen/privcmd-evt.c in unit tests: linking fake-privcmd.c into a
 * test defines ioctl() (the static xen library then calls ours), which answers for a
 * temporary file standing in for /dev/xen/privcmd and passes every other fd to the real
 * syscall. It records each privcmd call (request, the argument bytes, the dm_op buffer
 * and port array the kernel would copy) and answers with the errno the test chose.
 * It also defines the two ioreq-server accessors privcmd-evt.c uses (a fake server of
 * domain 7 with 2 vCPUs on local ports 17 and 23), so no hypervisor is needed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FK_MAX_CALLS 32

struct fake_kernel {
	char *path; /* the stand-in device: pass it as the privcmd path */
	dev_t dev;
	ino_t ino;
	/* 0: the ioctl exists (eventfd -1 gives EBADF, like eventfd_ctx_fdget); else its errno */
	int irqfd_errno, ioeventfd_errno, restrict_errno;
	int irqfd_assign_errno, ioeventfd_assign_errno; /* an existing ioctl refuses assigns */
	bool bogus_success; /* every privcmd ioctl "succeeds", even on eventfd -1 */
	unsigned ncalls;
	unsigned long req[FK_MAX_CALLS];
	uint8_t arg[FK_MAX_CALLS][48];
	uint8_t dm_op[FK_MAX_CALLS][64];
	uint32_t ports[FK_MAX_CALLS][4];
	uint16_t restricted;
	int live; /* assigns minus successful deassigns: what the "kernel" holds */
};

extern struct fake_kernel fk;
extern uint8_t fk_page[4096];
extern struct xh_ioreq_server *const fk_srv;

/* Set up (and remove) the stand-in device; errnos for the two ioctls. */
void fk_up(int irqfd_errno, int ioeventfd_errno);
void fk_down(void);
/* Little-endian value of n bytes at p. */
uint64_t fk_le(const uint8_t *p, unsigned n);
