/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: IOCTL_PRIVCMD_IRQFD and IOCTL_PRIVCMD_IOEVENTFD on an emulated privcmd
 * fd (Linux >= 6.7, include/uapi/xen/privcmd.h; xvdm's xen/privcmd-evt.c). The kernel
 * side runs in the simulated hypervisor (hv-kevt.c): the arguments are checked and
 * translated here, as privcmd_ioctl_irqfd/ioeventfd copy them in, and the eventfd goes
 * along over the privcmd connection (whose restriction gives EPERM for another domain).
 *
 * XENSIM_PRIVCMD_EVENTFD chooses the kernel: "1" has both ioctls; "eopnotsupp" is a 6.7+
 * kernel without CONFIG_XEN_PRIVCMD_EVENTFD (Debian's 6.12): EOPNOTSUPP; anything else,
 * or unset, is a kernel before 6.7 (Debian's 6.1): ENOTTY, the default, so every other
 * test keeps xvdm's own notification path.
 *
 * irqfd: only a dm_op of XEN_DMOP_set_irq_level is understood (what a virtio-mmio device
 * model registers; the kernel would issue any dm_op). ioeventfd: `ioreq` must lie in a
 * mapped ioreq-server resource of this process (the kernel's find_vma; EFAULT otherwise),
 * which names the server; `ports` is read as the kernel copies it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/hvm/dm_op.h>

#include "tests/xensim/xensim.h"
#include "xen/privcmd-evt-abi.h"

static int kernel_answer(void)
{
	const char *e = getenv("XENSIM_PRIVCMD_EVENTFD");

	if (e && !strcmp(e, "1"))
		return 0;
	if (e && !strcmp(e, "eopnotsupp"))
		return -EOPNOTSUPP;
	return -ENOTTY;
}

/* eventfd_ctx_fdget(): a valid fd of an eventfd. */
static int eventfd_check(uint32_t fd)
{
	char path[64], link[64];
	ssize_t n;

	if ((int)fd < 0 || fcntl((int)fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", (int)fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -EBADF;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") ? -EINVAL : 0;
}

static int call(int pfd, struct xsim_req *req, int efd)
{
	struct xsim_conn c = { .fd = pfd };
	struct xsim_reply r;
	int ret;

	pthread_mutex_init(&c.lock, NULL);
	ret = xsim_call_fds(&c, req, NULL, 0, &efd, 1, &r);
	pthread_mutex_destroy(&c.lock);
	xsim_reply_fini(&r);
	return ret;
}

static int irqfd(int pfd, const struct xh_privcmd_irqfd *a)
{
	struct xsim_req req = { .op = XSIM_OP_PRIVCMD_IRQFD, .domid = a->dom };
	struct xen_dm_op op;
	int ret;

	if (a->flags & ~XH_PRIVCMD_IRQFD_FLAG_DEASSIGN)
		return -EINVAL;
	ret = eventfd_check(a->fd);
	if (ret < 0)
		return ret;
	req.arg[0] = a->flags;
	if (!(a->flags & XH_PRIVCMD_IRQFD_FLAG_DEASSIGN)) {
		if (!a->dm_op || a->size < offsetof(struct xen_dm_op, u) + 8)
			return -EFAULT;
		memcpy(&op, (const void *)(uintptr_t)a->dm_op,
		       a->size < sizeof(op) ? a->size : sizeof(op));
		if (op.op != XEN_DMOP_set_irq_level) {
			fprintf(stderr, "xensim: privcmd irqfd with dm_op %u is not simulated\n",
				op.op);
			return -EINVAL;
		}
		req.arg[1] = op.u.set_irq_level.irq;
		req.arg[2] = op.u.set_irq_level.level;
	}
	return call(pfd, &req, (int)a->fd);
}

static int ioeventfd(int pfd, const struct xh_privcmd_ioeventfd *a)
{
	struct xsim_req req = { .op = XSIM_OP_PRIVCMD_IOEVENTFD, .domid = a->dom };
	uint32_t domid, type, id;
	int ret;

	if (a->flags & ~XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN)
		return -EINVAL;
	ret = eventfd_check(a->event_fd);
	if (ret < 0)
		return ret;
	ret = xsim_fmem_resource_at((const void *)(uintptr_t)a->ioreq, &domid, &type, &id);
	if (ret < 0)
		return ret;
	if (type != XENMEM_resource_ioreq_server || domid != a->dom)
		return -EINVAL;
	if (!(a->flags & XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN)) {
		const volatile uint32_t *ports = (const uint32_t *)(uintptr_t)a->ports;

		if (!ports || !a->vcpus)
			return a->vcpus ? -EFAULT : -EINVAL;
		for (uint32_t i = 0; i < a->vcpus && i < 4096; i++)
			(void)ports[i]; /* memdup_array_user(): readable, or the caller crashes */
	}
	req.id = id;
	req.arg[0] = a->addr;
	req.arg[1] = a->addr_len | (uint64_t)a->vq << 32;
	req.arg[2] = a->flags;
	req.arg[3] = a->vcpus;
	return call(pfd, &req, (int)a->event_fd);
}

int xsim_kevt_ioctl(int fd, unsigned long req, void *arg)
{
	int ret = kernel_answer();

	if (ret < 0)
		return ret;
	if (!arg)
		return -EFAULT;
	if (req == XH_IOCTL_PRIVCMD_IRQFD)
		return irqfd(fd, arg);
	return ioeventfd(fd, arg);
}
