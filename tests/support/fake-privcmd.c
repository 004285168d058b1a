/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fake dom0 kernel for xen/privcmd-evt.c (fake-privcmd.h). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "tests/support/fake-privcmd.h"
#include "xen/privcmd-evt-abi.h"
#include "xen/xh-internal.h"

struct fake_kernel fk;
uint8_t fk_page[4096];

static const uint32_t fk_ports[2] = { 17, 23 };

struct xh_ioreq_server {
	int unused;
};
static struct xh_ioreq_server the_srv;
struct xh_ioreq_server *const fk_srv = &the_srv;

void xh_ioreq_server_kernel_view(struct xh_ioreq_server *s, struct xh_ioreq_kernel_view *ret)
{
	g_assert_true(s == &the_srv);
	ret->page = fk_page;
	ret->ports = fk_ports;
	ret->nr_vcpus = 2;
}

uint32_t xh_ioreq_server_domid(struct xh_ioreq_server *s)
{
	return 7;
}

static bool fake_fd(int fd)
{
	struct stat st;

	return fk.path && fstat(fd, &st) == 0 && st.st_dev == fk.dev && st.st_ino == fk.ino;
}

static int fake_ioctl(unsigned long req, void *arg)
{
	unsigned n = fk.ncalls < FK_MAX_CALLS ? fk.ncalls++ : FK_MAX_CALLS - 1;
	int err = ENOTTY;
	bool deassign = false;

	fk.req[n] = req;
	if (req == XH_IOCTL_PRIVCMD_IRQFD) {
		const struct xh_privcmd_irqfd *a = arg;

		memcpy(fk.arg[n], arg, sizeof(*a));
		if (a->dm_op && a->size <= sizeof(fk.dm_op[n])) /* the kernel copies it now */
			memcpy(fk.dm_op[n], (const void *)(uintptr_t)a->dm_op, a->size);
		deassign = a->flags & XH_PRIVCMD_IRQFD_FLAG_DEASSIGN;
		err = fk.irqfd_errno	    ? fk.irqfd_errno
		      : a->fd == UINT32_MAX ? EBADF
		      : deassign	    ? 0
					    : fk.irqfd_assign_errno;
	} else if (req == XH_IOCTL_PRIVCMD_IOEVENTFD) {
		const struct xh_privcmd_ioeventfd *a = arg;

		memcpy(fk.arg[n], arg, sizeof(*a));
		if (a->ports && a->vcpus <= 4)
			memcpy(fk.ports[n], (const void *)(uintptr_t)a->ports, a->vcpus * 4);
		deassign = a->flags & XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN;
		err = fk.ioeventfd_errno	  ? fk.ioeventfd_errno
		      : a->event_fd == UINT32_MAX ? EBADF
		      : deassign		  ? 0
						  : fk.ioeventfd_assign_errno;
	} else if (req == XH_IOCTL_PRIVCMD_RESTRICT) {
		fk.restricted = *(const uint16_t *)arg;
		err = fk.restrict_errno;
	}
	if (fk.bogus_success)
		err = 0;
	if (err) {
		errno = err;
		return -1;
	}
	if (req == XH_IOCTL_PRIVCMD_IRQFD || req == XH_IOCTL_PRIVCMD_IOEVENTFD)
		fk.live += deassign ? -1 : 1;
	return 0;
}

int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fake_fd(fd))
		return fake_ioctl(req, arg);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

void fk_up(int irqfd_errno, int ioeventfd_errno)
{
	struct stat st;
	int fd;

	memset(&fk, 0, sizeof(fk));
	fd = g_file_open_tmp("fake-privcmd-XXXXXX", &fk.path, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	close(fd);
	fk.dev = st.st_dev;
	fk.ino = st.st_ino;
	fk.irqfd_errno = irqfd_errno;
	fk.ioeventfd_errno = ioeventfd_errno;
}

void fk_down(void)
{
	g_unlink(fk.path);
	g_free(fk.path);
	fk.path = NULL;
}

uint64_t fk_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}
