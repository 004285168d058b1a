/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xen/privcmd-evt.c: the privcmd irqfd/ioeventfd ABI byte for byte (Linux
 * include/uapi/xen/privcmd.h: irqfd since 6.6, ioeventfd since 6.7), the probe's reading of each errno, and one
 * guest's registrations, against the fake kernel of tests/support/fake-privcmd.h (this
 * binary defines ioctl(); a temporary file stands in for /dev/xen/privcmd; the ioreq
 * server's two accessors are faked too, so no hypervisor is needed).
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
#include "tests/support/fake-privcmd.h"

/* --- layout --- */

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
	g_assert_cmphex(fk_le(b, 8), ==, (uint64_t)(uintptr_t)&op);
	g_assert_cmpuint(fk_le(b + 8, 4), ==, sizeof(op));
	g_assert_cmpuint(fk_le(b + 12, 4), ==, 9);
	g_assert_cmpuint(fk_le(b + 16, 4), ==, 0);
	g_assert_cmphex(fk_le(b + 20, 2), ==, 0x1234);
	g_assert_cmpuint(fk_le(b + 22, 2), ==, 0); /* padding zeroed */
	xh_privcmd_irqfd_encode(&a, 1, NULL, 0, -1, true);
	memcpy(b, &a, sizeof(b));
	g_assert_cmpuint(fk_le(b + 16, 4), ==, 1);
	g_assert_cmphex(fk_le(b + 12, 4), ==, 0xffffffff);

	/* the dm_op: XEN_DMOP_set_irq_level = 19, irq at u (offset 8), level after it */
	memcpy(b, &op, 16);
	g_assert_cmpuint(fk_le(b, 4), ==, 19);
	g_assert_cmpuint(fk_le(b + 4, 4), ==, 0);
	g_assert_cmpuint(fk_le(b + 8, 4), ==, 38);
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
	xh_privcmd_ioeventfd_encode(&a, 3, fk_page, ports, 3, 0x2000c00, 1, 11, false);
	memcpy(b, &a, sizeof(b));
	g_assert_cmphex(fk_le(b, 8), ==, (uint64_t)(uintptr_t)fk_page);
	g_assert_cmphex(fk_le(b + 8, 8), ==, (uint64_t)(uintptr_t)ports);
	/* the window base: the kernel matches base + VIRTIO_MMIO_QUEUE_NOTIFY (0x50) */
	g_assert_cmphex(fk_le(b + 16, 8), ==, 0x2000c00);
	g_assert_cmpuint(fk_le(b + 24, 4), ==, 4); /* writel() */
	g_assert_cmpuint(fk_le(b + 28, 4), ==, 11);
	g_assert_cmpuint(fk_le(b + 32, 4), ==, 3);
	g_assert_cmpuint(fk_le(b + 36, 4), ==, 1);
	g_assert_cmpuint(fk_le(b + 40, 4), ==, 0);
	g_assert_cmpuint(fk_le(b + 44, 2), ==, 3);
	g_assert_cmpuint(fk_le(b + 46, 2), ==, 0);
	xh_privcmd_ioeventfd_encode(&a, 3, fk_page, ports, 3, 0x2000c00, 1, 11, true);
	memcpy(b, &a, sizeof(b));
	g_assert_cmpuint(fk_le(b + 40, 4), ==, 1);
}

/* --- probe --- */

static void probe_errno_table(void)
{
	g_assert_true(xh_pevt_errno_offered(EBADF));
	/* before 6.6/6.7 (Debian 12's 6.1): no such ioctl */
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
		{ EBADF, EBADF, XH_PEVT_ALL },	     /* 6.7+ with the option */
		{ ENOTTY, ENOTTY, 0 },		     /* 6.1 */
		{ EOPNOTSUPP, EOPNOTSUPP, 0 },	     /* 6.12 without the option */
		{ EBADF, ENOTTY, XH_PEVT_IRQFD },    /* irqfd only */
		{ EPERM, EBADF, XH_PEVT_IOEVENTFD }, /* refused */
		{ EINVAL, EINVAL, 0 },		     /* older default */
		{ 0, 0, XH_PEVT_ALL },		     /* the fake's own kernel with both: EBADF */
		{ -1, -1, 0 },			     /* "success" is not our ioctl: EPROTO */
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
		struct xh_pevt_support s;
		int want_irq = t[i].irq < 0 ? -EPROTO : t[i].irq == EBADF ? 0 : -t[i].irq;
		int want_ioe = t[i].ioe < 0 ? -EPROTO : t[i].ioe == EBADF ? 0 : -t[i].ioe;

		fk_up(t[i].irq < 0 ? 0 : t[i].irq, t[i].ioe < 0 ? 0 : t[i].ioe);
		fk.bogus_success = t[i].irq < 0;
		xh_pevt_probe(fk.path, "/nonexistent/guest_type", &s);
		g_assert_cmpuint(s.caps, ==, t[i].caps);
		g_assert_cmpint(s.irqfd_err, ==, want_irq);
		g_assert_cmpint(s.ioeventfd_err, ==, want_ioe);
		/* the probes deassign eventfd -1: nothing can have been registered */
		g_assert_cmpuint(fk.ncalls, ==, 2);
		g_assert_cmphex(fk.req[0], ==, XH_IOCTL_PRIVCMD_IRQFD);
		g_assert_cmpuint(fk_le(fk.arg[0] + 16, 4), ==, XH_PRIVCMD_IRQFD_FLAG_DEASSIGN);
		g_assert_cmphex(fk_le(fk.arg[0] + 12, 4), ==, 0xffffffff);
		g_assert_cmphex(fk.req[1], ==, XH_IOCTL_PRIVCMD_IOEVENTFD);
		g_assert_cmpuint(fk_le(fk.arg[1] + 40, 4), ==, XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN);
		g_assert_cmphex(fk_le(fk.arg[1] + 28, 4), ==, 0xffffffff);
		fk_down();
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
		fk_up(0, 0);
		xh_pevt_probe(fk.path, gt, &s);
		g_assert_cmpuint(s.caps, ==, t[i].caps);
		if (t[i].caps != XH_PEVT_ALL) {
			g_assert_cmpint(s.ioeventfd_err, ==, -EXDEV);
			g_assert_nonnull(strstr(xh_pevt_reason(s.ioeventfd_err), "PV dom0"));
		}
		fk_down();
	}
	g_unlink(gt);
}

/* --- registrations --- */

static void regs_assign_deassign(void)
{
	struct xh_pevt *e;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	const struct xen_dm_op *op;

	fk_up(0, 0);
	g_assert_cmpint(xh_pevt_new(fk_srv, fk.path, &e), ==, 0);
	g_assert_cmpuint(fk.restricted, ==, 7); /* the fd only ever acts on the guest */

	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, true), ==, 0);
	g_assert_cmphex(fk.req[1], ==, XH_IOCTL_PRIVCMD_IOEVENTFD);
	g_assert_cmphex(fk_le(fk.arg[1], 8), ==, (uint64_t)(uintptr_t)fk_page);
	g_assert_cmpuint(fk.ports[1][0], ==, 17);
	g_assert_cmpuint(fk.ports[1][1], ==, 23);
	g_assert_cmphex(fk_le(fk.arg[1] + 16, 8), ==, 0x2000200);
	g_assert_cmpuint(fk_le(fk.arg[1] + 32, 4), ==, 2);
	g_assert_cmpuint(fk_le(fk.arg[1] + 36, 4), ==, 1);
	g_assert_cmpuint(fk_le(fk.arg[1] + 44, 2), ==, 7);
	/* the kernel gets a duplicate, never the caller's number */
	g_assert_cmpint((int)fk_le(fk.arg[1] + 28, 4), !=, kick);

	g_assert_cmpint(xh_pevt_irqfd(e, 40, call, true), ==, 0);
	op = (const struct xen_dm_op *)fk.dm_op[2];
	g_assert_cmpuint(op->op, ==, XEN_DMOP_set_irq_level);
	g_assert_cmpuint(op->u.set_irq_level.irq, ==, 40);
	g_assert_cmpuint(op->u.set_irq_level.level, ==, 1);
	g_assert_cmpuint(fk_le(fk.arg[2] + 8, 4), ==, sizeof(struct xen_dm_op));
	g_assert_cmpuint(xh_pevt_count(e), ==, 2);

	/* twice the same eventfd: refused before the kernel sees it */
	g_assert_cmpint(xh_pevt_irqfd(e, 40, call, true), ==, -EBUSY);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 0x10000, kick + 100, true), ==, -EINVAL);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 0, -1, true), ==, -EINVAL);
	g_assert_cmpuint(fk.ncalls, ==, 3);

	/* the caller closes its fd first: the deassign still reaches the kernel */
	close(kick);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, false), ==, 0);
	g_assert_cmpuint(fk_le(fk.arg[3] + 40, 4), ==, 1);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000200, 1, kick, false), ==, -ENOENT);
	g_assert_cmpuint(xh_pevt_count(e), ==, 1);

	/* what is left is deassigned by free */
	g_assert_cmpint(fk.live, ==, 1);
	xh_pevt_free(e);
	g_assert_cmpint(fk.live, ==, 0);
	g_assert_cmpuint(fk.ncalls, ==, 5);
	g_assert_cmphex(fk.req[4], ==, XH_IOCTL_PRIVCMD_IRQFD);
	g_assert_cmpuint(fk_le(fk.arg[4] + 16, 4), ==, 1);
	close(call);
	fk_down();
}

static void regs_kernel_refuses(void)
{
	struct xh_pevt *e;
	int fd = eventfd(0, EFD_CLOEXEC);

	fk_up(EOPNOTSUPP, ENOTTY);
	g_assert_cmpint(xh_pevt_new(fk_srv, fk.path, &e), ==, 0);
	g_assert_cmpint(xh_pevt_irqfd(e, 40, fd, true), ==, -EOPNOTSUPP);
	g_assert_cmpint(xh_pevt_ioeventfd(e, 0x2000000, 0, fd, true), ==, -ENOTTY);
	g_assert_cmpuint(xh_pevt_count(e), ==, 0);
	xh_pevt_free(e);
	g_assert_cmpuint(fk.ncalls, ==, 3); /* restrict + two refused assigns, no deassign */
	fk_down();

	fk_up(0, 0);
	fk.restrict_errno = EINVAL;
	g_assert_cmpint(xh_pevt_new(fk_srv, fk.path, &e), ==, -EINVAL);
	fk_down();
	g_assert_cmpint(xh_pevt_new(fk_srv, "/nonexistent/privcmd", &e), ==, -ENOENT);
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
