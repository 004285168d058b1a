/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel notification paths: privcmd irqfd and ioeventfd (see privcmd-evt.h; the ABI in
 * privcmd-evt-abi.h; FACTS 31, 37).
 *
 * Trust boundary: nothing here reads guest- or back-end-controlled data. The kernel
 * reads the arguments we encode (the ioreq page address, the port array, the dm_op
 * buffer) during the ioctl only: none of them has to outlive the call. What outlives
 * it is the kernel's pointer to the ioreq page and its handlers on our ports, which is
 * why every ioeventfd is deassigned before the server goes (xh_pevt_free).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_mmio.h>

#include <xendevicemodel.h>
#include <xen/hvm/dm_op.h>

#include "common/log.h"
#include "xen/privcmd-evt-abi.h"
#include "xen/privcmd-evt.h"
#include "xen/xh-internal.h"

#define QUEUE_NOTIFY_LEN 4	/* Linux's virtio_mmio writes QueueNotify with writel() */
#define MAX_VQ		 0xffff /* the kernel matches data & 0xffff */

enum kind {
	IOEVENTFD,
	IRQFD
};

struct reg {
	enum kind kind;
	int fd;	 /* the caller's eventfd number, the key */
	int dup; /* our duplicate: deassign works even after the caller closed its fd */
	uint64_t base;
	uint32_t vq_or_spi;
};

struct xh_pevt {
	int fd; /* /dev/xen/privcmd, restricted to domid */
	uint16_t domid;
	struct xh_ioreq_server *srv;
	GArray *regs; /* struct reg */
};

/* --- encoding (pure; tests/unit/test-privcmd-evt.c) --- */

void xh_privcmd_irqfd_encode(struct xh_privcmd_irqfd *out, uint16_t dom, const void *dm_op,
			     uint32_t size, int fd, bool deassign)
{
	memset(out, 0, sizeof(*out));
	out->dm_op = (uint64_t)(uintptr_t)dm_op;
	out->size = size;
	out->fd = (uint32_t)fd;
	out->flags = deassign ? XH_PRIVCMD_IRQFD_FLAG_DEASSIGN : 0;
	out->dom = dom;
}

void xh_privcmd_ioeventfd_encode(struct xh_privcmd_ioeventfd *out, uint16_t dom,
				 const void *ioreq_page, const uint32_t *ports, uint32_t vcpus,
				 uint64_t base, uint32_t vq, int fd, bool deassign)
{
	memset(out, 0, sizeof(*out));
	out->ioreq = (uint64_t)(uintptr_t)ioreq_page;
	out->ports = (uint64_t)(uintptr_t)ports;
	out->addr = base; /* the kernel adds VIRTIO_MMIO_QUEUE_NOTIFY itself */
	out->addr_len = QUEUE_NOTIFY_LEN;
	out->event_fd = (uint32_t)fd;
	out->vcpus = vcpus;
	out->vq = vq;
	out->flags = deassign ? XH_PRIVCMD_IOEVENTFD_FLAG_DEASSIGN : 0;
	out->dom = dom;
}

/*
 * The dm_op the kernel issues on each call: XEN_DMOP_set_irq_level(spi, 1). The level
 * is never lowered: Xen's Arm vGIC injects the SPI on every level-1 call and treats
 * the line as an edge (FACTS 26), as xvdm's own path relies on too.
 */
void xh_dm_op_set_irq_level_encode(struct xen_dm_op *op, uint32_t spi, uint8_t level)
{
	memset(op, 0, sizeof(*op));
	op->op = XEN_DMOP_set_irq_level;
	op->u.set_irq_level.irq = spi;
	op->u.set_irq_level.level = level;
}

/* --- probe --- */

int xh_pevt_errno_offered(int err)
{
	/*
	 * The probe deassigns eventfd -1: a kernel that has the ioctl gets as far as
	 * eventfd_ctx_fdget() and answers EBADF. Everything else means "not usable":
	 * ENOTTY (no such ioctl: irqfd < 6.6, ioeventfd < 6.7), EOPNOTSUPP (configured out),
	 * EINVAL/ENOSYS (older privcmd defaults, other drivers), EPERM/EACCES (a
	 * restriction or an LSM said no).
	 */
	return err == EBADF;
}

const char *xh_pevt_reason(int neg_err)
{
	switch (-neg_err) {
	case 0:
		return "offered";
	case ENOTTY:
		return "the kernel has no such privcmd ioctl (irqfd came with Linux 6.6, ioeventfd "
		       "with 6.7)";
	case EOPNOTSUPP:
		return "the kernel was built without CONFIG_XEN_PRIVCMD_EVENTFD (6.6: "
		       "CONFIG_XEN_PRIVCMD_IRQFD)";
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "no /dev/xen/privcmd (not a Xen dom0, or privcmd not loaded)";
	case EACCES:
	case EPERM:
		return "not permitted";
	case EXDEV:
		return "x86 PV dom0 (the kernel's ioeventfd needs an auto-translated dom0)";
	default:
		return "the probe failed";
	}
}

static int probe_one(int fd, unsigned long req, void *arg)
{
	if (ioctl(fd, req, arg) == 0)
		return -EPROTO; /* deassigning eventfd -1 cannot succeed: not the ioctl we know */
	return xh_pevt_errno_offered(errno) ? 0 : -errno;
}

/* An x86 PV dom0: its privcmd mappings have no page array for the kernel to read. */
static bool pv_dom0(const char *guest_type_path)
{
	g_autofree char *type = NULL;

	if (!guest_type_path || !g_file_get_contents(guest_type_path, &type, NULL, NULL))
		return false; /* no such file: not Xen, or an old kernel; the probe decides */
	return !strcmp(g_strstrip(type), "PV");
}

void xh_pevt_probe(const char *path, const char *guest_type_path, struct xh_pevt_support *ret)
{
	struct xh_privcmd_irqfd irq;
	struct xh_privcmd_ioeventfd ioe;
	int fd;

	memset(ret, 0, sizeof(*ret));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret->open_err = -errno;
		ret->irqfd_err = ret->ioeventfd_err = -errno;
		return;
	}
	xh_privcmd_irqfd_encode(&irq, 0, NULL, 0, -1, true);
	xh_privcmd_ioeventfd_encode(&ioe, 0, NULL, NULL, 1, 0, 0, -1, true);
	ret->irqfd_err = probe_one(fd, XH_IOCTL_PRIVCMD_IRQFD, &irq);
	ret->ioeventfd_err = probe_one(fd, XH_IOCTL_PRIVCMD_IOEVENTFD, &ioe);
	if (!ret->ioeventfd_err && pv_dom0(guest_type_path))
		ret->ioeventfd_err = -EXDEV;
	ret->caps =
		(ret->irqfd_err ? 0 : XH_PEVT_IRQFD) | (ret->ioeventfd_err ? 0 : XH_PEVT_IOEVENTFD);
	close(fd);
	log_debug("privcmd eventfds at %s: irqfd %s, ioeventfd %s", path,
		  xh_pevt_reason(ret->irqfd_err), xh_pevt_reason(ret->ioeventfd_err));
}

/* --- one guest's registrations --- */

int xh_pevt_new(struct xh_ioreq_server *s, const char *path, struct xh_pevt **ret)
{
	struct xh_pevt *e;
	uint16_t dom;
	int fd, r;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dom = (uint16_t)xh_ioreq_server_domid(s);
	/* Least privilege: this fd can only ever act on this guest. */
	if (ioctl(fd, XH_IOCTL_PRIVCMD_RESTRICT, &dom) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	e = g_new0(struct xh_pevt, 1);
	e->fd = fd;
	e->domid = dom;
	e->srv = s;
	e->regs = g_array_new(false, false, sizeof(struct reg));
	*ret = e;
	return 0;
}

static int find(struct xh_pevt *e, enum kind k, int fd)
{
	for (guint i = 0; i < e->regs->len; i++) {
		const struct reg *r = &g_array_index(e->regs, struct reg, i);

		if (r->kind == k && r->fd == fd)
			return (int)i;
	}
	return -1;
}

/* The kernel call for one registration (assign or deassign), on our duplicate fd. */
static int call(struct xh_pevt *e, const struct reg *r, bool deassign)
{
	struct xh_privcmd_irqfd irq;
	struct xh_privcmd_ioeventfd ioe;
	struct xen_dm_op op;
	struct xh_ioreq_kernel_view kv;
	int rc;

	if (r->kind == IRQFD) {
		xh_dm_op_set_irq_level_encode(&op, r->vq_or_spi, 1);
		xh_privcmd_irqfd_encode(&irq, e->domid, &op, sizeof(op), r->dup, deassign);
		rc = ioctl(e->fd, XH_IOCTL_PRIVCMD_IRQFD, &irq);
	} else {
		xh_ioreq_server_kernel_view(e->srv, &kv);
		xh_privcmd_ioeventfd_encode(&ioe, e->domid, kv.page, kv.ports, kv.nr_vcpus, r->base,
					    r->vq_or_spi, r->dup, deassign);
		rc = ioctl(e->fd, XH_IOCTL_PRIVCMD_IOEVENTFD, &ioe);
	}
	return rc < 0 ? -errno : 0;
}

static int assign(struct xh_pevt *e, struct reg *r)
{
	int rc;

	if (find(e, r->kind, r->fd) >= 0)
		return -EBUSY;
	r->dup = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
	if (r->dup < 0)
		return -errno;
	rc = call(e, r, false);
	if (rc < 0) {
		close(r->dup);
		return rc;
	}
	g_array_append_val(e->regs, *r);
	return 0;
}

static int deassign(struct xh_pevt *e, enum kind k, int fd)
{
	int i = find(e, k, fd), rc;
	struct reg r;

	if (i < 0)
		return -ENOENT;
	r = g_array_index(e->regs, struct reg, (guint)i);
	g_array_remove_index_fast(e->regs, (guint)i);
	rc = call(e, &r, true);
	close(r.dup);
	if (rc < 0)
		log_debug("dom%u: privcmd %s deassign: %s", e->domid,
			  k == IRQFD ? "irqfd" : "ioeventfd", g_strerror(-rc));
	return rc;
}

int xh_pevt_ioeventfd(struct xh_pevt *e, uint64_t base, unsigned vq, int kick_fd, bool assign_it)
{
	struct reg r = { .kind = IOEVENTFD, .fd = kick_fd, .base = base, .vq_or_spi = vq };

	if (!assign_it)
		return deassign(e, IOEVENTFD, kick_fd);
	if (kick_fd < 0 || vq > MAX_VQ || base + VIRTIO_MMIO_QUEUE_NOTIFY < base)
		return -EINVAL;
	return assign(e, &r);
}

int xh_pevt_irqfd(struct xh_pevt *e, uint32_t spi, int call_fd, bool assign_it)
{
	struct reg r = { .kind = IRQFD, .fd = call_fd, .vq_or_spi = spi };

	if (!assign_it)
		return deassign(e, IRQFD, call_fd);
	if (call_fd < 0)
		return -EINVAL;
	return assign(e, &r);
}

unsigned xh_pevt_count(const struct xh_pevt *e)
{
	return e ? e->regs->len : 0;
}

void xh_pevt_free(struct xh_pevt *e)
{
	if (!e)
		return;
	while (e->regs->len) {
		const struct reg *r = &g_array_index(e->regs, struct reg, e->regs->len - 1);

		deassign(e, r->kind, r->fd);
	}
	g_array_free(e->regs, true);
	close(e->fd);
	g_free(e);
}
