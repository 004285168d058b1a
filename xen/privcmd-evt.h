/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel notification paths (Linux >= 6.7 privcmd irqfd/ioeventfd, DESIGN.md §4): the
 * dom0 kernel signals a queue's kick eventfd itself when the guest writes QueueNotify,
 * and raises the device's SPI itself when the back-end signals the call eventfd, so
 * neither crosses xvdm. Only virtio-mmio QueueNotify is matched by the kernel, and only
 * set_irq_level (Arm SPIs) is issued here.
 *
 * xh_pevt_probe() says whether the running kernel has them (once per process; irqfd came
 * with Linux 6.6, ioeventfd with 6.7; Debian's 6.1 has neither ioctl, its 6.12 has them
 * without CONFIG_XEN_PRIVCMD_EVENTFD). A
 * struct xh_pevt holds one guest's registrations on a privcmd fd restricted to that
 * guest; every registration keeps a duplicate of its eventfd, so it can always be
 * deassigned, and xh_pevt_free() deassigns whatever is left. It must go before the
 * guest's ioreq server: the kernel keeps a pointer to the mapped ioreq page.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct xh_ioreq_server;
struct xh_pevt;

#define XH_PRIVCMD_PATH	   "/dev/xen/privcmd"
#define XH_GUEST_TYPE_PATH "/sys/hypervisor/guest_type"

enum {
	XH_PEVT_IRQFD = 1u << 0,
	XH_PEVT_IOEVENTFD = 1u << 1,
	XH_PEVT_ALL = XH_PEVT_IRQFD | XH_PEVT_IOEVENTFD,
};

/* What the kernel behind `path` offers. */
struct xh_pevt_support {
	unsigned caps;	   /* XH_PEVT_* */
	int open_err;	   /* -errno of opening the device, 0 if it opened */
	int irqfd_err;	   /* -errno the probe of each ioctl gave, 0 when offered */
	int ioeventfd_err; /* ... (-ENOTTY: no such ioctl, -EOPNOTSUPP: configured out) */
};

/*
 * Probe by deassigning eventfd -1 (nothing is ever registered by a probe): a kernel
 * with the ioctl answers EBADF; one without it ENOTTY (Debian's 6.1) or
 * EOPNOTSUPP (CONFIG_XEN_PRIVCMD_EVENTFD=n, Debian's 6.12). The kernel's ioeventfd
 * reads the ioreq page through the privcmd mapping's page array, which only an
 * auto-translated dom0 has (Arm, x86 PVH): where `guest_type_path`
 * (XH_GUEST_TYPE_PATH) says "PV", ioeventfd is refused with -EXDEV. Never fails; the
 * result says what is offered and why not.
 */
void xh_pevt_probe(const char *path, const char *guest_type_path, struct xh_pevt_support *ret);
/* An errno (positive) a probe ioctl gave: 1 if it means "the kernel has it", else 0. */
int xh_pevt_errno_offered(int err);
/* A short reason for a probe's -errno, for log lines and errors. */
const char *xh_pevt_reason(int neg_err);

/*
 * One guest's registrations: opens `path` (XH_PRIVCMD_PATH) and restricts it to the
 * server's domain. -errno if the device cannot be opened or restricted.
 */
int xh_pevt_new(struct xh_ioreq_server *s, const char *path, struct xh_pevt **ret);
/*
 * QueueNotify of queue vq in the virtio-mmio window at `base` signals kick_fd in the
 * kernel (assign), or no longer (deassign). -EBUSY if kick_fd is already registered,
 * -ENOENT deassigning what is not.
 */
int xh_pevt_ioeventfd(struct xh_pevt *e, uint64_t base, unsigned vq, int kick_fd, bool assign);
/* A signal on call_fd raises SPI `spi` (set_irq_level 1) in the kernel, or no longer. */
int xh_pevt_irqfd(struct xh_pevt *e, uint32_t spi, int call_fd, bool assign);
/* Registrations held (tests, leak checks). */
unsigned xh_pevt_count(const struct xh_pevt *e);
/* Deassign everything left, close. NULL-safe. Before xh_ioreq_server_free(). */
void xh_pevt_free(struct xh_pevt *e);
