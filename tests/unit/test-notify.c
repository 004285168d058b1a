/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmm/notify.c: notify=auto|kernel|xvdm against the fake kernel of
 * tests/support/fake-privcmd.h — the probe happens once and only when needed, kernel
 * mode refuses a kernel without the ioctls with an error that says why, auto falls back
 * queue by queue, attach/detach register and deassign exactly what was taken, and
 * InterruptStatus follows the irqfd (vmmio_set_used_external).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <glib.h>

#include "tests/support/fake-privcmd.h"
#include "tests/support/fake-vdev.h"
#include "virtio-mmio/vmmio.h"
#include "vmm/notify.h"
#include "xen/privcmd-evt-abi.h"

#define BASE 0x2000000ULL
#define SPI  33

struct fx {
	struct vmm_notify_probe probe;
	struct fake_vdev *f;
	struct vmmio m;
	struct xh_pevt *pevt;
	struct vmm_notify *n;
	int kick[2], call[2];
};

static void fx_set_irq(struct vmmio *m, bool level)
{
}

static const struct vmmio_ops fx_ops = { .set_irq = fx_set_irq };

static void fx_up(struct fx *x, int irqfd_errno, int ioeventfd_errno)
{
	memset(x, 0, sizeof(*x));
	fk_up(irqfd_errno, ioeventfd_errno);
	x->probe.privcmd_path = fk.path;
	x->probe.guest_type_path = "/nonexistent/guest_type";
	x->f = fake_vdev_new(VIRTIO_ID_BLOCK, 2, 8, 0);
	vmmio_init(&x->m, &fx_ops, &x->f->vdev);
	for (unsigned i = 0; i < 2; i++) {
		x->kick[i] = eventfd(0, EFD_CLOEXEC);
		x->call[i] = eventfd(0, EFD_CLOEXEC);
	}
}

static void fx_down(struct fx *x)
{
	xh_pevt_free(x->pevt);
	g_assert_cmpint(fk.live, ==, 0); /* nothing left registered in the "kernel" */
	vmm_notify_free(x->n);
	vmmio_fini(&x->m);
	fake_vdev_free(x->f);
	for (unsigned i = 0; i < 2; i++) {
		close(x->kick[i]);
		close(x->call[i]);
	}
	fk_down();
}

static int mk(struct fx *x, enum vmm_notify_mode mode, GError **error)
{
	return vmm_notify_new(&x->probe, mode, "dom7/blk0", fk_srv, &x->pevt, &x->m, BASE, SPI,
			      &x->n, error);
}

static void test_parse(void)
{
	enum vmm_notify_mode m = VMM_NOTIFY_XVDM;

	g_assert_cmpint(vmm_notify_parse("auto", &m), ==, 0);
	g_assert_cmpint(m, ==, VMM_NOTIFY_AUTO);
	g_assert_cmpint(vmm_notify_parse("kernel", &m), ==, 0);
	g_assert_cmpint(m, ==, VMM_NOTIFY_KERNEL);
	g_assert_cmpint(vmm_notify_parse("xvdm", &m), ==, 0);
	g_assert_cmpint(m, ==, VMM_NOTIFY_XVDM);
	g_assert_cmpint(vmm_notify_parse("Kernel", &m), ==, -EINVAL);
	g_assert_cmpint(vmm_notify_parse("", &m), ==, -EINVAL);
	g_assert_cmpstr(vmm_notify_mode_name(VMM_NOTIFY_KERNEL), ==, "kernel");
}

/* Debian's kernels: 6.1 has no such ioctl, 6.12 has it configured out. */
static void test_absent(void)
{
	static const int errs[] = { ENOTTY, EOPNOTSUPP };

	for (unsigned i = 0; i < G_N_ELEMENTS(errs); i++) {
		struct fx x;
		GError *err = NULL;

		fx_up(&x, errs[i], errs[i]);
		/* xvdm: not even probed */
		g_assert_cmpint(mk(&x, VMM_NOTIFY_XVDM, NULL), ==, 0);
		g_assert_null(x.n);
		g_assert_cmpuint(fk.ncalls, ==, 0);
		/* auto: probed once, nothing to do */
		g_assert_cmpint(mk(&x, VMM_NOTIFY_AUTO, NULL), ==, 0);
		g_assert_null(x.n);
		g_assert_cmpuint(fk.ncalls, ==, 2);
		/* kernel: an error naming the reason; no second probe */
		g_assert_cmpint(mk(&x, VMM_NOTIFY_KERNEL, &err), ==, -EOPNOTSUPP);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, "notify=kernel"));
		g_assert_nonnull(strstr(err->message, errs[i] == ENOTTY
							      ? "Linux 6.6"
							      : "CONFIG_XEN_PRIVCMD_EVENTFD"));
		g_error_free(err);
		g_assert_cmpuint(fk.ncalls, ==, 2);
		g_assert_null(x.n);
		fx_down(&x);
	}
}

static void drive_ok(struct fx *x)
{
	struct vdev *d = &x->f->vdev;

	vdev_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_set_status(d, 3);
	vdev_set_driver_features_word(d, 1, 1); /* VERSION_1 */
	vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK);
	vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	g_assert_true(vdev_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static uint32_t int_status(struct fx *x)
{
	uint64_t v = 0;

	g_assert_cmpint(vmmio_read(&x->m, VIRTIO_MMIO_INTERRUPT_STATUS, 4, &v), ==, 0);
	return (uint32_t)v;
}

static void test_kernel_both(void)
{
	struct fx x;
	struct vdev_notify *vn;
	unsigned took = 0;

	fx_up(&x, 0, 0);
	g_assert_cmpint(mk(&x, VMM_NOTIFY_KERNEL, NULL), ==, 0);
	g_assert_nonnull(x.n);
	/* the guest's holder, made with the device (before any privilege is dropped) */
	g_assert_nonnull(x.pevt);
	g_assert_cmpuint(fk.restricted, ==, 7);
	vn = vmm_notify_vdev(x.n);
	drive_ok(&x);
	g_assert_cmpuint(int_status(&x), ==, 0);
	g_assert_cmpint(vn->ops->attach(vn, 0, x.kick[0], x.call[0], &took), ==, 0);
	g_assert_cmpuint(took, ==, VDEV_NOTIFY_KICK | VDEV_NOTIFY_CALL);
	g_assert_cmpint(vn->ops->attach(vn, 1, x.kick[1], x.call[1], &took), ==, 0);
	g_assert_cmpint(fk.live, ==, 4);
	g_assert_cmpuint(vmm_notify_kernel_kicks(x.n), ==, 2);
	g_assert_cmpuint(vmm_notify_kernel_calls(x.n), ==, 2);
	/* ioeventfd: the window base and the queue index; irqfd: set_irq_level(SPI, 1) */
	g_assert_cmphex(fk.req[3], ==, XH_IOCTL_PRIVCMD_IOEVENTFD);
	g_assert_cmphex(fk_le(fk.arg[3] + 16, 8), ==, BASE);
	g_assert_cmpuint(fk_le(fk.arg[3] + 36, 4), ==, 0);
	g_assert_cmphex(fk.req[4], ==, XH_IOCTL_PRIVCMD_IRQFD);
	g_assert_cmpuint(fk_le(fk.dm_op[4] + 8, 4), ==, SPI);
	g_assert_cmpuint(fk.dm_op[4][12], ==, 1);
	g_assert_cmpuint(fk_le(fk.arg[5] + 36, 4), ==, 1);
	/* xvdm cannot see the calls: the used bit reads set */
	g_assert_cmpuint(int_status(&x), ==, VIRTIO_MMIO_INT_VRING);
	vn->ops->detach(vn, 0, x.kick[0], x.call[0]);
	g_assert_cmpint(fk.live, ==, 2);
	g_assert_cmpuint(int_status(&x), ==, VIRTIO_MMIO_INT_VRING); /* queue 1 still */
	vn->ops->detach(vn, 1, x.kick[1], x.call[1]);
	g_assert_cmpint(fk.live, ==, 0);
	g_assert_cmpuint(int_status(&x), ==, 0);
	/* a detach after the guest dropped everything (teardown order) is harmless */
	g_assert_cmpint(vn->ops->attach(vn, 0, x.kick[0], x.call[0], &took), ==, 0);
	xh_pevt_free(x.pevt);
	x.pevt = NULL;
	vn->ops->detach(vn, 0, x.kick[0], x.call[0]);
	g_assert_cmpuint(int_status(&x), ==, 0);
	fx_down(&x);
}

static void test_refused(void)
{
	struct fx x;
	struct vdev_notify *vn;
	unsigned took = 9;

	/* offered, but the kernel refuses the irqfd: auto takes the kick only */
	fx_up(&x, 0, 0);
	fk.irqfd_assign_errno = EPERM;
	g_assert_cmpint(mk(&x, VMM_NOTIFY_AUTO, NULL), ==, 0);
	vn = vmm_notify_vdev(x.n);
	drive_ok(&x);
	g_assert_cmpint(vn->ops->attach(vn, 0, x.kick[0], x.call[0], &took), ==, 0);
	g_assert_cmpuint(took, ==, VDEV_NOTIFY_KICK);
	g_assert_cmpuint(int_status(&x), ==, 0); /* calls relayed: the register is xvdm's */
	vn->ops->detach(vn, 0, x.kick[0], x.call[0]);
	g_assert_cmpint(fk.live, ==, 0);
	fx_down(&x);

	/* the privcmd handle cannot be restricted: auto relays, kernel refuses the device */
	fx_up(&x, 0, 0);
	fk.restrict_errno = EACCES;
	g_assert_cmpint(mk(&x, VMM_NOTIFY_AUTO, NULL), ==, 0);
	g_assert_null(x.n);
	g_assert_null(x.pevt);
	{
		GError *err = NULL;

		g_assert_cmpint(mk(&x, VMM_NOTIFY_KERNEL, &err), ==, -EACCES);
		g_assert_nonnull(strstr(err->message, "cannot open"));
		g_error_free(err);
	}
	fx_down(&x);

	/* kernel: the same refusal fails the attach and undoes the ioeventfd */
	fx_up(&x, 0, 0);
	fk.irqfd_assign_errno = EPERM;
	g_assert_cmpint(mk(&x, VMM_NOTIFY_KERNEL, NULL), ==, 0);
	vn = vmm_notify_vdev(x.n);
	g_assert_cmpint(vn->ops->attach(vn, 0, x.kick[0], x.call[0], &took), ==, -EPERM);
	g_assert_cmpuint(took, ==, 0);
	g_assert_cmpint(fk.live, ==, 0);
	g_assert_cmpuint(vmm_notify_kernel_kicks(x.n), ==, 0);
	fx_down(&x);

	/* only irqfd offered (ioeventfd missing): auto takes the call only */
	fx_up(&x, 0, ENOTTY);
	g_assert_cmpint(mk(&x, VMM_NOTIFY_AUTO, NULL), ==, 0);
	vn = vmm_notify_vdev(x.n);
	g_assert_cmpint(vn->ops->attach(vn, 0, x.kick[0], x.call[0], &took), ==, 0);
	g_assert_cmpuint(took, ==, VDEV_NOTIFY_CALL);
	vn->ops->detach(vn, 0, x.kick[0], x.call[0]);
	fx_down(&x);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_FATAL_MASK); /* refusals warn: expected */
	g_test_add_func("/notify/parse", test_parse);
	g_test_add_func("/notify/absent", test_absent);
	g_test_add_func("/notify/kernel-both", test_kernel_both);
	g_test_add_func("/notify/refused", test_refused);
	return g_test_run();
}
