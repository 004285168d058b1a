/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kicks and interrupts through the dom0 kernel (notify.h; DESIGN.md §4; FACTS 31, 37).
 *
 * With the kernel path a virtio-mmio device's QueueNotify of queue q never reaches xvdm:
 * the kernel's handler on our event-channel ports matches the ioreq (window base +
 * 0x50, 4 bytes, data & 0xffff == q), signals the ring's kick eventfd and completes it.
 * The back-end's call eventfd makes the kernel issue set_irq_level(spi, 1) itself. xvdm
 * then cannot know when a used buffer is pending, so InterruptStatus reads the used bit
 * set from DRIVER_OK on (vmmio_set_used_external); config interrupts stay with xvdm.
 *
 * notify=auto takes whatever the kernel offers, queue by queue, and relays the rest (a
 * refusal is logged once per device); notify=kernel refuses to create the device where
 * the kernel lacks either ioctl, and fails the device's start if the kernel refuses a
 * registration. Trust boundary: configuration (the mode) only.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "vmm/notify.h"
#include "vmm/vmm.h"

struct vmm_notify {
	struct vdev_notify n;
	char *name;
	enum vmm_notify_mode mode;
	unsigned caps; /* XH_PEVT_* offered by the kernel */
	struct xh_ioreq_server *srv;
	struct xh_pevt **pevt; /* the guest's */
	const char *privcmd_path;
	struct vmmio *mmio;
	uint64_t base;
	uint32_t spi;
	uint64_t kicks, calls; /* bit q: the kernel carries queue q's kick / call */
	bool said_kernel, said_refused;
};

unsigned vmm_notify_caps(struct vmm_notify_probe *p)
{
	if (p->done)
		return p->s.caps;
	xh_pevt_probe(p->privcmd_path ? p->privcmd_path : XH_PRIVCMD_PATH,
		      p->guest_type_path ? p->guest_type_path : XH_GUEST_TYPE_PATH, &p->s);
	p->done = true;
	if (p->s.caps == XH_PEVT_ALL)
		log_info("kernel notifications: the dom0 kernel offers privcmd ioeventfd and "
			 "irqfd: virtio-mmio kicks and interrupts of vhost-user devices bypass "
			 "xvdm unless notify=xvdm");
	else
		log_info("kernel notifications: privcmd ioeventfd %s, irqfd %s: %s",
			 xh_pevt_reason(p->s.ioeventfd_err), xh_pevt_reason(p->s.irqfd_err),
			 p->s.caps ? "notify=auto uses what is offered"
				   : "xvdm relays kicks and interrupts");
	return p->s.caps;
}

static void refused(struct vmm_notify *v, const char *what, unsigned q, int err)
{
	if (v->mode == VMM_NOTIFY_KERNEL) {
		log_warn("%s: the kernel refused the %s of queue %u: %s (notify=kernel)", v->name,
			 what, q, g_strerror(-err));
		return;
	}
	if (!v->said_refused)
		log_info("%s: the kernel refused the %s of queue %u (%s): xvdm relays it", v->name,
			 what, q, g_strerror(-err));
	v->said_refused = true;
}

static int attach(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd, unsigned *ret_took)
{
	struct vmm_notify *v = container_of(n, struct vmm_notify, n);
	bool must = v->mode == VMM_NOTIFY_KERNEL;
	int r = 0;

	*ret_took = 0;
	if (q >= 64)
		return must ? -EINVAL : 0;
	if (!*v->pevt) {
		r = xh_pevt_new(v->srv, v->privcmd_path, v->pevt);
		if (r < 0) {
			refused(v, "privcmd handle", q, r);
			return must ? r : 0;
		}
	}
	if (v->caps & XH_PEVT_IOEVENTFD) {
		r = xh_pevt_ioeventfd(*v->pevt, v->base, q, kick_fd, true);
		if (r == 0) {
			*ret_took |= VDEV_NOTIFY_KICK;
			v->kicks |= 1ULL << q;
		} else {
			refused(v, "ioeventfd", q, r);
			if (must)
				return r;
		}
	}
	if (v->caps & XH_PEVT_IRQFD) {
		r = xh_pevt_irqfd(*v->pevt, v->spi, call_fd, true);
		if (r == 0) {
			*ret_took |= VDEV_NOTIFY_CALL;
			v->calls |= 1ULL << q;
			vmmio_set_used_external(v->mmio, true);
		} else {
			refused(v, "irqfd", q, r);
			if (must) {
				if (*ret_took & VDEV_NOTIFY_KICK)
					xh_pevt_ioeventfd(*v->pevt, v->base, q, kick_fd, false);
				v->kicks &= ~(1ULL << q);
				*ret_took = 0;
				return r;
			}
		}
	}
	if (*ret_took && !v->said_kernel)
		log_info("%s: queue %u: %s%s%s through the kernel", v->name, q,
			 *ret_took & VDEV_NOTIFY_KICK ? "kicks" : "",
			 *ret_took == (VDEV_NOTIFY_KICK | VDEV_NOTIFY_CALL) ? " and " : "",
			 *ret_took & VDEV_NOTIFY_CALL ? "interrupts" : "");
	v->said_kernel = v->said_kernel || *ret_took;
	return 0;
}

static void detach(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd)
{
	struct vmm_notify *v = container_of(n, struct vmm_notify, n);

	if (q >= 64)
		return;
	/* The guest may have dropped every registration already (teardown): nothing left. */
	if (*v->pevt && (v->kicks & (1ULL << q)))
		xh_pevt_ioeventfd(*v->pevt, v->base, q, kick_fd, false);
	if (*v->pevt && (v->calls & (1ULL << q)))
		xh_pevt_irqfd(*v->pevt, v->spi, call_fd, false);
	v->kicks &= ~(1ULL << q);
	v->calls &= ~(1ULL << q);
	if (!v->calls)
		vmmio_set_used_external(v->mmio, false);
}

static const struct vdev_notify_ops notify_ops = {
	.attach = attach,
	.detach = detach,
};

int vmm_notify_new(struct vmm_notify_probe *p, enum vmm_notify_mode mode, const char *name,
		   struct xh_ioreq_server *srv, struct xh_pevt **pevt, struct vmmio *mmio,
		   uint64_t base, uint32_t spi, struct vmm_notify **ret, GError **error)
{
	struct vmm_notify *v;
	unsigned caps;

	*ret = NULL;
	if (mode == VMM_NOTIFY_XVDM)
		return 0;
	caps = vmm_notify_caps(p);
	if (mode == VMM_NOTIFY_KERNEL && caps != XH_PEVT_ALL) {
		g_set_error(
			error, VMM_ERROR, EOPNOTSUPP,
			"%s: notify=kernel, but the dom0 kernel cannot carry the notifications: "
			"privcmd ioeventfd: %s; irqfd: %s (Linux >= 6.8 with "
			"CONFIG_XEN_PRIVCMD_EVENTFD=y is needed; notify=auto falls back to xvdm)",
			name, xh_pevt_reason(p->s.ioeventfd_err), xh_pevt_reason(p->s.irqfd_err));
		return -EOPNOTSUPP;
	}
	if (!caps)
		return 0;
	/*
	 * The guest's privcmd handle now, while xvdm still has its privileges: in the libxl
	 * mode the rings start after --runas and the restriction (vmm/dm.c).
	 */
	if (!*pevt) {
		const char *path = p->privcmd_path ? p->privcmd_path : XH_PRIVCMD_PATH;
		int r = xh_pevt_new(srv, path, pevt);

		if (r < 0 && mode == VMM_NOTIFY_KERNEL) {
			g_set_error(error, VMM_ERROR, -r, "%s: notify=kernel: cannot open %s: %s",
				    name, path, g_strerror(-r));
			return r;
		}
		if (r < 0) {
			log_info("%s: cannot open %s for kernel notifications (%s): xvdm relays "
				 "them",
				 name, path, g_strerror(-r));
			return 0;
		}
	}
	v = g_new0(struct vmm_notify, 1);
	v->n.ops = &notify_ops;
	v->name = g_strdup(name);
	v->mode = mode;
	v->caps = caps;
	v->srv = srv;
	v->pevt = pevt;
	v->privcmd_path = p->privcmd_path ? p->privcmd_path : XH_PRIVCMD_PATH;
	v->mmio = mmio;
	v->base = base;
	v->spi = spi;
	*ret = v;
	return 0;
}

struct vdev_notify *vmm_notify_vdev(struct vmm_notify *n)
{
	return n ? &n->n : NULL;
}

unsigned vmm_notify_kernel_kicks(const struct vmm_notify *n)
{
	return n ? (unsigned)__builtin_popcountll(n->kicks) : 0;
}

unsigned vmm_notify_kernel_calls(const struct vmm_notify *n)
{
	return n ? (unsigned)__builtin_popcountll(n->calls) : 0;
}

void vmm_notify_free(struct vmm_notify *n)
{
	if (!n)
		return;
	g_free(n->name);
	g_free(n);
}
