/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xen/privcmd-evt.c: the privcmd irqfd/ioeventfd ABI byte for byte (Linux
 * include/uapi/xen/privcmd.h since 6.7), the probe's reading of each errno, and one
 * guest's registrations. The kernel is a fake here: this binary defines ioctl(), which
 * the static xen library then calls; it answers for one marked fd (a temporary file
 * standing in for /dev/xen/privcmd) and passes every other fd to the real syscall.
 * The ioreq server is faked too (its two accessors), so no hypervisor is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <glib.h>
#include <glib/gstdio.h>

#include <xendevicemodel.h>
#include <xen/hvm/dm_op.h>

#include "xen/privcmd-evt-abi.h"
#include "xen/privcmd-evt.h"
#include "xen/xh-internal.h"

/* --- the fake kernel --- */

#define MAX_CALLS 16

static struct {
	char *path; /* the stand-in device */
	dev_t dev;
	ino_t ino;
	int irqfd_errno, ioeventfd_errno, restrict_errno; /* 0: success */
	unsigned ncalls;
	unsigned long req[MAX_CALLS];
	uint8_t arg[MAX_CALLS][48];
	uint8_t dm_op[MAX_CALLS][sizeof(struct xen_dm_op)];
	uint32_t ports[MAX_CALLS][4];
	uint16_t restricted;
} k;

static bool fake_fd(int fd)
{
	struct stat st;

	return k.path && fstat(fd, &st) == 0 && st.st_dev == k.dev && st.st_ino == k.ino;
}

static int fake_ioctl(unsigned long req, void *arg)
{
	unsigned n = k.ncalls < MAX_CALLS ? k.ncalls++ : MAX_CALLS - 1;
	int err = ENOTTY;

	k.req[n] = req;
	if (req == XH_IOCTL_PRIVCMD_IRQFD) {
		const struct xh_privcmd_irqfd *a = arg;

		memcpy(k.arg[n], arg, sizeof(*a));
		if (a->dm_op && a->size <= sizeof(k.dm_op[n])) /* the kernel copies it now */
			memcpy(k.dm_op[n], (const void *)(uintptr_t)a->dm_op, a->size);
		err = k.irqfd_errno;
	} else if (req == XH_IOCTL_PRIVCMD_IOEVENTFD) {
		const struct xh_privcmd_ioeventfd *a = arg;

		memcpy(k.arg[n], arg, sizeof(*a));
		if (a->ports && a->vcpus <= 4)
			memcpy(k.ports[n], (const void *)(uintptr_t)a->ports, a->vcpus * 4);
		err = k.ioeventfd_errno;
	} else if (req == XH_IOCTL_PRIVCMD_RESTRICT) {
		k.restricted = *(const uint16_t *)arg;
		err = k.restrict_errno;
	}
	if (err) {
		errno = err;
		return -1;
	}
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

static void kernel_up(int irqfd_errno, int ioeventfd_errno)
{
	struct stat st;
	int fd;

	memset(&k, 0, sizeof(k));
	fd = g_file_open_tmp("fake-privcmd-XXXXXX", &k.path, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	close(fd);
	k.dev = st.st_dev;
	k.ino = st.st_ino;
	k.irqfd_errno = irqfd_errno;
	k.ioeventfd_errno = ioeventfd_errno;
}

static void kernel_down(void)
{
	g_unlink(k.path);
	g_free(k.path);
	k.path = NULL;
}

/* --- the fake ioreq server --- */

static uint8_t fake_page[4096];
static const uint32_t fake_ports[2] = { 17, 23 };

struct xh_ioreq_server {
	int unused;
};
static struct xh_ioreq_server fake_srv;

void xh_ioreq_server_kernel_view(struct xh_ioreq_server *s, struct xh_ioreq_kernel_view *ret)
{
	g_assert_true(s == &fake_srv);
	ret->page = fake_page;
	ret->ports = fake_ports;
	ret->nr_vcpus = 2;
}

uint32_t xh_ioreq_server_domid(struct xh_ioreq_server *s)
{
	return 7;
}

/* --- layout --- */

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void abi_numbers(void)
{
	/* _IOW('P', nr, size) with the generic encoding of x86 and arm64 */
	g_assert_cmphex(XH_IOCTL_PRIVCMD_IRQFD, ==, 0x40185008);
	g_assert_cmphex(XH_IOCTL_PRIVCMD_IOEVENTFD, ==, 0x40305009);
	g_assert_cmphex(XH_IOCTL_PRIVCMD_RESTRICT, ==, 0x00025006);
	g_assert_cmpuint(XH_PRIVCMD_IRQFD_FLAG_DEASSIGN, ==, 1);
	g_assert_cmpuint(XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN, ==, 1);
}

static void abi_irqfd_layout(void)
{
	struct xh_privcmd_irqfd a;
	struct xen_dm_op op;
	uint8_t b[24];

	/* include/uapi/xen/privcmd.h: u64 dm_op, u32 size, u32 fd, u32 flags, domid_t, pad[2] */
	g_assert_cmpuint(sizeof(a), ==, 24);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, dm_op), ==, 0);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, size), ==, 8);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, fd), ==, 12);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, flags), ==, 16);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, dom), ==, 20);
	g_assert_cmpuint(offsetof(struct xh_privcmd_irqfd, pad), ==, 22);

	xh_dm_op_set_irq_level_encode(&op, 38, 1);
	memset(&a, 0xa5, sizeof(a));
	xh_privcmd_irqfd_encode(&a, 0x1234, &op, sizeof(op), 9, false);
	memcpy(b, &a, sizeof(b));
	g_assert_cmphex(le(b, 8), ==, (uint64_t)(uintptr_t)&op);
	g_assert_cmpuint(le(b + 8, 4), ==, sizeof(op));
	g_assert_cmpuint(le(b + 12, 4), ==, 9);
	g_assert_cmpuint(le(b + 16, 4), ==, 0);
	g_assert_cmphex(le(b + 20, 2), ==, 0x1234);
	g_assert_cmpuint(le(b + 22, 2), ==, 0); /* padding zeroed */
	xh_privcmd_irqfd_encode(&a, 1, NULL, 0, -1, true);
	memcpy(b, &a, sizeof(b));
	g_assert_cmpuint(le(b + 16, 4), ==, 1);
	g_assert_cmphex(le(b + 12, 4), ==, 0xffffffff);

	/* the dm_op: XEN_DMOP_set_irq_level = 19, irq at u (offset 8), level after it */
	memcpy(b, &op, 16);
	g_assert_cmpuint(le(b, 4), ==, 19);
	g_assert_cmpuint(le(b + 4, 4), ==, 0);
	g_assert_cmpuint(le(b + 8, 4), ==, 38);
	g_assert_cmpuint(b[12], ==, 1);
}

static void abi_ioeventfd_layout(void)
{
	struct xh_privcmd_ioeventfd a;
	uint32_t ports[3] = { 1, 2, 3 };
	uint8_t b[48];

	g_assert_cmpuint(sizeof(a), ==, 48);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, ioreq), ==, 0);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, ports), ==, 8);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, addr), ==, 16);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, addr_len), ==, 24);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, event_fd), ==, 28);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, vcpus), ==, 32);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, vq), ==, 36);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, flags), ==, 40);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, dom), ==, 44);
	g_assert_cmpuint(offsetof(struct xh_privcmd_ioeventfd, pad), ==, 46);

	memset(&a, 0xa5, sizeof(a));
	xh_privcmd_ioeventfd_encode(&a, 3, fake_page, ports, 3, 0x2000c00, 1, 11, false);
	memcpy(b, &a, sizeof(b));
	g_assert_cmphex(le(b, 8), ==, (uint64_t)(uintptr_t)fake_page);
	g_assert_cmphex(le(b + 8, 8), ==, (uint64_t)(uintptr_t)ports);
	/* the window base: the kernel matches base + VIRTIO_MMIO_QUEUE_NOTIFY (0x50) */
	g_assert_cmphex(le(b + 16, 8), ==, 0x2000c00);
	g_assert_cmpuint(le(b + 24, 4), ==, 4); /* writel() */
	g_assert_cmpuint(le(b + 28, 4), ==, 11);
	g_assert_cmpuint(le(b + 32, 4), ==, 3);
	g_assert_cmpuint(le(b + 36, 4), ==, 1);
	g_assert_cmpuint(le(b + 40, 4), ==, 0);
	g_assert_cmpuint(le(b + 44, 2), ==, 3);
	g_assert_cmpuint(le(b + 46, 2), ==, 0);
	xh_privcmd_ioeventfd_encode(&a, 3, fake_page, ports, 3, 0x2000c00, 1, 11, true);
	memcpy(b, &a, sizeof(b));
	g_assert_cmpuint(le(b + 40, 4), ==, 1);
}

/* --- probe --- */

static void probe_errno_table(void)
{
	g_assert_true(xh_pevt_errno_offered(EBADF));
	/* < 6.7 (Debian 12's 6.1): no such ioctl */
	g_assert_false(xh_pevt_errno_offered(ENOTTY));
	/* 6.7+ without CONFIG_XEN_PRIVCMD_EVENTFD (Debian 13's 6.12) */
	g_assert_false(xh_pevt_errno_offered(EOPNOTSUPP));
	g_assert_false(xh_pevt_errno_offered(EINVAL));
	g_assert_false(xh_pevt_errno_offered(ENOSYS));
	g_assert_false(xh_pevt_errno_offered(EPERM));
	g_assert_false(xh_pevt_errno_offered(EACCES));
	g_assert_false(xh_pevt_errno_offered(ENOENT));
	g_assert_false(xh_pevt_errno_offered(0));
	g_assert_nonnull(strstr(xh_pevt_reason(-ENOTTY), "6.7"));
	g_assert_nonnull(strstr(xh_pevt_reason(-EOPNOTSUPP), "CONFIG_XEN_PRIVCMD_EVENTFD"));
	g_assert_nonnull(strstr(xh_pevt_reason(-ENOENT), "/dev/xen/privcmd"));
}

static void probe_no_device(void)
{
	struct xh_pevt_support s;

	xh_pevt_probe("/nonexistent/xen/privcmd", NULL, &s);
	g_assert_cmpuint(s.caps, ==, 0);
	g_assert_cmpint(s.open_err, ==, -ENOENT);
	g_assert_cmpint(s.irqfd_err, ==, -ENOENT);
	g_assert_cmpint(s.ioeventfd_err, ==, -ENOENT);
}

static void probe_not_privcmd(void)
{
	struct xh_pevt_support s;

	/* a real character device that knows no privcmd ioctl: the real kernel's ENOTTY */
	xh_pevt_probe("/dev/null", NULL, &s);
	g_assert_cmpuint(s.caps, ==, 0);
	g_assert_cmpint(s.open_err, ==, 0);
	g_assert_cmpint(s.irqfd_err, ==, -ENOTTY);
	g_assert_cmpint(s.ioeventfd_err, ==, -ENOTTY);
}

static void probe_cases(void)
{
	static const struct {
		int irq, ioe;
		unsigned caps;
	} t[] = {
		{ EBADF, EBADF, XH_PEVT_ALL },	     /* 6.8+ with the option */
		{ ENOTTY, ENOTTY, 0 },		     /* 6.1 */
		{ EOPNOTSUPP, EOPNOTSUPP, 0 },	     /* 6.12 without the option */
		{ EBADF, ENOTTY, XH_PEVT_IRQFD },    /* irqfd only */
		{ EPERM, EBADF, XH_PEVT_IOEVENTFD }, /* refused */
		{ EINVAL, EINVAL, 0 },		     /* older default */
		{ 0, 0, 0 },			     /* "success" is not our ioctl */
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
		struct xh_pevt_support s;

		kernel_up(t[i].irq, t[i].ioe);
		xh_pevt_probe(k.path, "/nonexistent/guest_type", &s);
		g_assert_cmpuint(s.caps, ==, t[i].caps);
		g_assert_cmpint(s.irqfd_err, ==,
				t[i].irq == EBADF ? 0
				: t[i].irq	  ? -t[i].irq
						  : -EPROTO);
		g_assert_cmpint(s.ioeventfd_err, ==,
				t[i].ioe == EBADF ? 0
				: t[i].ioe	  ? -t[i].ioe
						  : -EPROTO);
		/* the probes deassign eventfd -1: nothing can have been registered */
		g_assert_cmpuint(k.ncalls, ==, 2);
		g_assert_cmphex(k.req[0], ==, XH_IOCTL_PRIVCMD_IRQFD);
		g_assert_cmpuint(le(k.arg[0] + 16, 4), ==, XH_PRIVCMD_IRQFD_FLAG_DEASSIGN);
		g_assert_cmphex(le(k.arg[0] + 12, 4), ==, 0xffffffff);
		g_assert_cmphex(k.req[1], ==, XH_IOCTL_PRIVCMD_IOEVENTFD);
		g_assert_cmpuint(le(k.arg[1] + 40, 4), ==, XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN);
		g_assert_cmphex(le(k.arg[1] + 28, 4), ==, 0xffffffff);
		kernel_down();
	}
}

static void probe_pv_dom0(void)
{
	static const struct {
		const char *type;
		unsigned caps;
	} t[] = { { "PV\n", XH_PEVT_IRQFD }, { "PVH\n", XH_PEVT_ALL }, { "HVM\n", XH_PEVT_ALL } };
	g_autofree char *gt = NULL;
	int fd = g_file_open_tmp("guest-type-XXXXXX", &gt, NULL);

	g_assert_cmpint(fd, >=, 0);
	close(fd);
	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
		struct xh_pevt_support s;

		g_assert_true(g_file_set_contents(gt, t[i].type, -1, NULL));
		kernel_up(EBADF, EBADF);
		xh_pevt_probe(k.path, gt, &s);
		g_assert_cmpuint(s.caps, ==, t[i].caps);
		if (t[i].caps != XH_PEVT_ALL) {
			g_assert_cmpint(s.ioeventfd_err, ==, -EXDEV);
			g_assert_nonnull(strstr(xh_pevt_reason(s.ioeventfd_err), "PV dom0"));
		}
		kernel_down();
	}
	g_unlink(gt);
}

/* --- registrations --- */

static void regs_assign_deassign(void)
{
	struct xh_pevt *e;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	const struct xen_dm_op *op;

	kernel_up(0, 0);
	g_assert_cmpint(xh_pevt_new(&fake_srv, k.path, &e), ==, 0);
	g_assert_cmpuint(k.restricted, ==, 7); /* the fd only ever acts on the guest */

	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, true), ==, 0);
	g_assert_cmphex(k.req[1], ==, XH_IOCTL_PRIVCMD_IOEVENTFD);
	g_assert_cmphex(le(k.arg[1], 8), ==, (uint64_t)(uintptr_t)fake_page);
	g_assert_cmpuint(k.ports[1][0], ==, 17);
	g_assert_cmpuint(k.ports[1][1], ==, 23);
	g_assert_cmphex(le(k.arg[1] + 16, 8), ==, 0x2000200);
	g_assert_cmpuint(le(k.arg[1] + 32, 4), ==, 2);
	g_assert_cmpuint(le(k.arg[1] + 36, 4), ==, 1);
	g_assert_cmpuint(le(k.arg[1] + 44, 2), ==, 7);
	/* the kernel gets a duplicate, never the caller's number */
	g_assert_cmpint((int)le(k.arg[1] + 28, 4), !=, kick);

	g_assert_cmpint(xh_pevt_irqfd(e, 40, call, true), ==, 0);
	op = (const struct xen_dm_op *)k.dm_op[2];
	g_assert_cmpuint(op->op, ==, XEN_DMOP_set_irq_level);
	g_assert_cmpuint(op->u.set_irq_level.irq, ==, 40);
	g_assert_cmpuint(op->u.set_irq_level.level, ==, 1);
	g_assert_cmpuint(le(k.arg[2] + 8, 4), ==, sizeof(struct xen_dm_op));
	g_assert_cmpuint(xh_pevt_count(e), ==, 2);

	/* twice the same eventfd: refused before the kernel sees it */
	g_assert_cmpint(xh_pevt_irqfd(e, 40, call, true), ==, -EBUSY);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 0x10000, kick + 100, true), ==, -EINVAL);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 0, -1, true), ==, -EINVAL);
	g_assert_cmpuint(k.ncalls, ==, 3);

	/* the caller closes its fd first: the deassign still reaches the kernel */
	close(kick);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, false), ==, 0);
	g_assert_cmpuint(le(k.arg[3] + 40, 4), ==, 1);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, false), ==, -ENOENT);
	g_assert_cmpuint(xh_pevt_count(e), ==, 1);

	/* what is left is deassigned by free */
	xh_pevt_free(e);
	g_assert_cmpuint(k.ncalls, ==, 5);
	g_assert_cmphex(k.req[4], ==, XH_IOCTL_PRIVCMD_IRQFD);
	g_assert_cmpuint(le(k.arg[4] + 16, 4), ==, 1);
	close(call);
	kernel_down();
}

static void regs_kernel_refuses(void)
{
	struct xh_pevt *e;
	int fd = eventfd(0, EFD_CLOEXEC);

	kernel_up(EOPNOTSUPP, ENOTTY);
	g_assert_cmpint(xh_pevt_new(&fake_srv, k.path, &e), ==, 0);
	g_assert_cmpint(xh_pevt_irqfd(e, 40, fd, true), ==, -EOPNOTSUPP);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000000, 0, fd, true), ==, -ENOTTY);
	g_assert_cmpuint(xh_pevt_count(e), ==, 0);
	xh_pevt_free(e);
	g_assert_cmpuint(k.ncalls, ==, 3); /* restrict + two refused assigns, no deassign */
	kernel_down();

	kernel_up(0, 0);
	k.restrict_errno = EINVAL;
	g_assert_cmpint(xh_pevt_new(&fake_srv, k.path, &e), ==, -EINVAL);
	kernel_down();
	g_assert_cmpint(xh_pevt_new(&fake_srv, "/nonexistent/privcmd", &e), ==, -ENOENT);
	close(fd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/privcmd-evt/abi/numbers", abi_numbers);
	g_test_add_func("/privcmd-evt/abi/irqfd", abi_irqfd_layout);
	g_test_add_func("/privcmd-evt/abi/ioeventfd", abi_ioeventfd_layout);
	g_test_add_func("/privcmd-evt/probe/errno", probe_errno_table);
	g_test_add_func("/privcmd-evt/probe/no-device", probe_no_device);
	g_test_add_func("/privcmd-evt/probe/not-privcmd", probe_not_privcmd);
	g_test_add_func("/privcmd-evt/probe/kernels", probe_cases);
	g_test_add_func("/privcmd-evt/probe/pv-dom0", probe_pv_dom0);
	g_test_add_func("/privcmd-evt/regs/assign-deassign", regs_assign_deassign);
	g_test_add_func("/privcmd-evt/regs/kernel-refuses", regs_kernel_refuses);
	return g_test_run();
}
