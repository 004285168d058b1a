/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The privcmd irqfd (Linux >= 6.6) and ioeventfd (>= 6.7) ioctls
 * (include/uapi/xen/privcmd.h, drivers/xen/privcmd.c, CONFIG_XEN_PRIVCMD_EVENTFD, which
 * 6.6 called CONFIG_XEN_PRIVCMD_IRQFD), private to xen/. Debian 12's
 * linux-libc-dev (6.1) does not have them, so the layout is restated here and checked
 * byte by byte against the kernel's in tests/unit/test-privcmd-evt.c. Both structs are
 * architecture independent (u64 user pointers, explicit padding): 24 and 48 bytes on
 * every ABI. Numbers: _IOW('P', 8 / 9, struct) as in current kernels. The first postings
 * used _IOC(_IOC_NONE, ...) and pointer fields; a kernel with that number answers the
 * probe with ENOTTY and is treated as lacking the feature.
 */
#pragma once

#include <stdint.h>
#include <sys/ioctl.h>

#define XH_PRIVCMD_IRQFD_FLAG_DEASSIGN	   (1u << 0)
#define XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN (1u << 0)

/*
 * The kernel watches eventfd `fd`; each time it is signalled, it reads the counter and
 * issues the dm_op in [dm_op, dm_op + size) for domain `dom` (one buffer, copied at
 * assign time). Deassign matches by eventfd only.
 */
struct xh_privcmd_irqfd {
	uint64_t dm_op; /* user pointer to the dm_op buffer */
	uint32_t size;	/* its size */
	uint32_t fd;	/* eventfd */
	uint32_t flags; /* XH_PRIVCMD_IRQFD_FLAG_* */
	uint16_t dom;
	uint8_t pad[2];
};

/*
 * The kernel binds its own handler to the dm's local event-channel ports (one per vCPU,
 * `ports[vcpus]`) of the ioreq server whose shared page the dm mapped at `ioreq`. A
 * READY, COPY, write ioreq with addr == addr + VIRTIO_MMIO_QUEUE_NOTIFY, size ==
 * addr_len and (data & 0xffff) == vq signals event_fd and is completed in the kernel.
 * Deassign matches dom, ioreq, vcpus and the eventfd.
 */
struct xh_privcmd_ioeventfd {
	uint64_t ioreq; /* user address of the mapped ioreq page */
	uint64_t ports; /* user pointer to uint32_t local ports, one per vCPU */
	uint64_t addr;	/* virtio-mmio window base */
	uint32_t addr_len;
	uint32_t event_fd;
	uint32_t vcpus;
	uint32_t vq;
	uint32_t flags; /* XH_PRIVCMD_IOEVENTFD_FLAG_* */
	uint16_t dom;
	uint8_t pad[2];
};

_Static_assert(sizeof(struct xh_privcmd_irqfd) == 24, "struct privcmd_irqfd is 24 bytes");
_Static_assert(sizeof(struct xh_privcmd_ioeventfd) == 48, "struct privcmd_ioeventfd is 48 bytes");

#define XH_IOCTL_PRIVCMD_IRQFD	   _IOW('P', 8, struct xh_privcmd_irqfd)
#define XH_IOCTL_PRIVCMD_IOEVENTFD _IOW('P', 9, struct xh_privcmd_ioeventfd)
#define XH_IOCTL_PRIVCMD_RESTRICT  _IOC(_IOC_NONE, 'P', 6, sizeof(uint16_t))

#include <stdbool.h>

struct xen_dm_op;

/* Encoders (privcmd-evt.c), exposed for the layout tests. */
void xh_privcmd_irqfd_encode(struct xh_privcmd_irqfd *out, uint16_t dom, const void *dm_op,
			     uint32_t size, int fd, bool deassign);
void xh_privcmd_ioeventfd_encode(struct xh_privcmd_ioeventfd *out, uint16_t dom,
				 const void *ioreq_page, const uint32_t *ports, uint32_t vcpus,
				 uint64_t base, uint32_t vq, int fd, bool deassign);
void xh_dm_op_set_irq_level_encode(struct xen_dm_op *op, uint32_t spi, uint8_t level);
