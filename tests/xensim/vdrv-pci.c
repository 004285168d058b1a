/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's virtio-pci transport (vdrv-pci.h): Linux 6.1's virtio_pci_modern over the
 * guest PCI core (gpci.c). Trust boundary: capabilities, register values, MSI-X table
 * contents and interrupts come from the device model under test; each is checked
 * against the virtio and PCI rules and a bad one is reported, never trusted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "tests/xensim/vdrv-internal.h"
#include "tests/xensim/vdrv-pci.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define COMMON_MIN	  sizeof(struct virtio_pci_common_cfg) /* 56, as Linux 6.1 */
#define IRQ_SLICE_MS	  20
#define CAP(field)	  offsetof(struct virtio_pci_cap, field)

_Static_assert(sizeof(struct virtio_pci_common_cfg) == 56, "virtio_pci_common_cfg");
_Static_assert(sizeof(struct virtio_pci_cap64) == 24, "virtio_pci_cap64");

/* --- register access --- */

static int rd(struct vdrv *v, const struct vdrv_pci_region *r, uint32_t off, unsigned size,
	      uint64_t *val)
{
	int ret;

	if (!r->gpa || off + size > r->len)
		return vdrv_fail(v, -EINVAL, "read outside a region (+0x%x/%u of %u)", off, size,
				 r->len);
	ret = gd_mmio_read(v->d, v->vcpu, r->gpa + off, size, val);
	return ret < 0 ? vdrv_fail(v, ret, "read 0x%" PRIx64 "/%u: %s", r->gpa + off, size,
				   strerror(-ret))
		       : 0;
}

static int wr(struct vdrv *v, const struct vdrv_pci_region *r, uint32_t off, unsigned size,
	      uint64_t val)
{
	int ret;

	if (!r->gpa || off + size > r->len)
		return vdrv_fail(v, -EINVAL, "write outside a region (+0x%x/%u of %u)", off, size,
				 r->len);
	ret = gd_mmio_write(v->d, v->vcpu, r->gpa + off, size, val);
	return ret < 0 ? vdrv_fail(v, ret, "write 0x%" PRIx64 "/%u = 0x%" PRIx64 ": %s",
				   r->gpa + off, size, val, strerror(-ret))
		       : 0;
}

static int crd(struct vdrv *v, uint32_t off, unsigned size, uint32_t *val)
{
	uint64_t x = 0;
	int ret = rd(v, &v->pci.common, off, size, &x);

	*val = (uint32_t)x;
	return ret;
}

static int cwr(struct vdrv *v, uint32_t off, unsigned size, uint32_t val)
{
	return wr(v, &v->pci.common, off, size, val);
}

static int cfg_rd(struct vdrv *v, unsigned reg, unsigned size, uint32_t *val)
{
	return gpci_fn_read(v->pci.host, v->vcpu, &v->pci.fn, reg, size, val);
}

static int cfg_wr(struct vdrv *v, unsigned reg, unsigned size, uint32_t val)
{
	return gpci_fn_write(v->pci.host, v->vcpu, &v->pci.fn, reg, size, val);
}

/* --- capabilities (vp_modern_probe, map_capability) --- */

/*
 * virtio_pci_find_capability(): the first of cfg_type whose BAR is a memory BAR. (For
 * PCI_CFG, whose bar field is the driver's to write, any BAR value counts.)
 */
static int find_vcap(struct vdrv *v, uint8_t cfg_type, uint8_t *ret_pos)
{
	const struct gpci_fn *f = &v->pci.fn;
	uint32_t type, bar, len;
	int ret;

	*ret_pos = 0;
	for (uint8_t pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, 0); pos;
	     pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, pos)) {
		if ((ret = cfg_rd(v, pos + CAP(cfg_type), 1, &type)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(bar), 1, &bar)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(cap_len), 1, &len)) < 0)
			return ret;
		if (type != cfg_type || (bar >= GPCI_NUM_BARS && type != VIRTIO_PCI_CAP_PCI_CFG))
			continue; /* reserved BAR values are ignored, as Linux does */
		if (len < (type == VIRTIO_PCI_CAP_PCI_CFG ? sizeof(struct virtio_pci_cfg_cap)
							  : sizeof(struct virtio_pci_cap)))
			return vdrv_fail(v, -EPROTO, "capability at 0x%x (type %u): cap_len %u",
					 pos, type, len);
		/* vp_modern_probe: IORESOURCE_IO | IORESOURCE_MEM for NOTIFY, MEM for the rest */
		if (type == VIRTIO_PCI_CAP_PCI_CFG ||
		    (f->bar[bar].size && f->bar[bar].addr &&
		     (!f->bar[bar].io || type == VIRTIO_PCI_CAP_NOTIFY_CFG))) {
			*ret_pos = pos;
			return 0;
		}
	}
	return 0;
}

/* map_capability(): at least minlen bytes, aligned, inside the BAR. */
static int map_cap(struct vdrv *v, uint8_t pos, uint32_t minlen, uint32_t align, uint32_t maxlen,
		   struct vdrv_pci_region *r)
{
	const struct gpci_fn *f = &v->pci.fn;
	uint32_t bar, off, len;
	int ret;

	if ((ret = cfg_rd(v, pos + CAP(bar), 1, &bar)) < 0 ||
	    (ret = cfg_rd(v, pos + CAP(offset), 4, &off)) < 0 ||
	    (ret = cfg_rd(v, pos + CAP(length), 4, &len)) < 0)
		return ret;
	if (len < minlen)
		return vdrv_fail(v, -EPROTO, "capability at 0x%x: length %u < %u", pos, len,
				 minlen);
	if (off & (align - 1))
		return vdrv_fail(v, -EPROTO, "capability at 0x%x: offset 0x%x not aligned to %u",
				 pos, off, align);
	if ((uint64_t)off + minlen > f->bar[bar].size || (uint64_t)off + len > f->bar[bar].size)
		return vdrv_fail(v, -EPROTO,
				 "capability at 0x%x: %u@0x%x out of range on BAR %u (%" PRIu64
				 " bytes)",
				 pos, len, off, bar, f->bar[bar].size);
	r->bar = (uint8_t)bar;
	r->off = off;
	r->len = len < maxlen ? len : maxlen;
	r->gpa = f->bar[bar].addr + off;
	r->io = f->bar[bar].io;
	return 0;
}

/* Every SHARED_MEMORY capability, checked as vp_get_shm_region() checks one. */
static int find_shm(struct vdrv *v)
{
	const struct gpci_fn *f = &v->pci.fn;
	uint32_t type, bar, id, len, olo, ohi, llo, lhi;
	int ret;

	for (uint8_t pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, 0); pos;
	     pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, pos)) {
		struct vdrv_pci_shm *s = &v->pci.shm[v->pci.nshm];

		if ((ret = cfg_rd(v, pos + CAP(cfg_type), 1, &type)) < 0)
			return ret;
		if (type != VIRTIO_PCI_CAP_SHARED_MEMORY_CFG)
			continue;
		if ((ret = cfg_rd(v, pos + CAP(cap_len), 1, &len)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(bar), 1, &bar)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(id), 1, &id)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(offset), 4, &olo)) < 0 ||
		    (ret = cfg_rd(v, pos + CAP(length), 4, &llo)) < 0 ||
		    (ret = cfg_rd(v, pos + offsetof(struct virtio_pci_cap64, offset_hi), 4, &ohi)) <
			    0 ||
		    (ret = cfg_rd(v, pos + offsetof(struct virtio_pci_cap64, length_hi), 4, &lhi)) <
			    0)
			return ret;
		if (len < sizeof(struct virtio_pci_cap64))
			return vdrv_fail(v, -EPROTO, "shm capability at 0x%x: cap_len %u < 24", pos,
					 len);
		if (v->pci.nshm == VDRV_PCI_MAX_SHM)
			return vdrv_fail(v, -EPROTO, "more than %u shm capabilities",
					 VDRV_PCI_MAX_SHM);
		*s = (struct vdrv_pci_shm){ (uint8_t)id, (uint8_t)bar, (uint64_t)ohi << 32 | olo,
					    (uint64_t)lhi << 32 | llo, 0 };
		if (bar >= GPCI_NUM_BARS || !f->bar[bar].size || f->bar[bar].io ||
		    s->off + s->len < s->off || s->off + s->len > f->bar[bar].size)
			return vdrv_fail(v, -EPROTO,
					 "shm %u: BAR %u offset 0x%" PRIx64 " len 0x%" PRIx64
					 " exceeds the BAR (%" PRIu64 " bytes)",
					 id, bar, s->off, s->len,
					 bar < GPCI_NUM_BARS ? f->bar[bar].size : 0);
		s->gpa = f->bar[bar].addr + s->off;
		v->pci.nshm++;
	}
	return 0;
}

static int find_msix(struct vdrv *v)
{
	const struct gpci_fn *f = &v->pci.fn;
	uint8_t pos = gpci_find_cap(f, PCI_CAP_ID_MSIX, 0);
	uint32_t ctrl, table, pba, tb, pb;
	int ret;

	v->pci.msix_cap = pos;
	if (!pos)
		return 0;
	if ((ret = cfg_rd(v, pos + PCI_MSIX_FLAGS, 2, &ctrl)) < 0 ||
	    (ret = cfg_rd(v, pos + PCI_MSIX_TABLE, 4, &table)) < 0 ||
	    (ret = cfg_rd(v, pos + PCI_MSIX_PBA, 4, &pba)) < 0)
		return ret;
	v->pci.msix_size = (uint16_t)((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1);
	tb = table & PCI_MSIX_TABLE_BIR;
	pb = pba & PCI_MSIX_PBA_BIR;
	if (tb >= GPCI_NUM_BARS || pb >= GPCI_NUM_BARS || !f->bar[tb].addr || !f->bar[pb].addr ||
	    (uint64_t)(table & PCI_MSIX_TABLE_OFFSET) + 16u * v->pci.msix_size > f->bar[tb].size ||
	    (uint64_t)(pba & PCI_MSIX_PBA_OFFSET) + 8u * ((v->pci.msix_size + 63) / 64) >
		    f->bar[pb].size)
		return vdrv_fail(v, -EPROTO,
				 "MSI-X: %u entries, table 0x%x, PBA 0x%x do not fit their BARs",
				 v->pci.msix_size, table, pba);
	v->pci.msix_table = f->bar[tb].addr + (table & PCI_MSIX_TABLE_OFFSET);
	v->pci.msix_pba = f->bar[pb].addr + (pba & PCI_MSIX_PBA_OFFSET);
	return 0;
}

static int find_caps(struct vdrv *v)
{
	uint8_t common, notify, isr, device;
	int ret;

	if ((ret = find_vcap(v, VIRTIO_PCI_CAP_COMMON_CFG, &common)) < 0 ||
	    (ret = find_vcap(v, VIRTIO_PCI_CAP_NOTIFY_CFG, &notify)) < 0 ||
	    (ret = find_vcap(v, VIRTIO_PCI_CAP_ISR_CFG, &isr)) < 0 ||
	    (ret = find_vcap(v, VIRTIO_PCI_CAP_DEVICE_CFG, &device)) < 0 ||
	    (ret = find_vcap(v, VIRTIO_PCI_CAP_PCI_CFG, &v->pci.pci_cfg_cap)) < 0)
		return ret;
	if (!common)
		return vdrv_fail(v, -ENODEV, "no COMMON capability: not a modern device");
	if (!isr || !notify)
		return vdrv_fail(v, -EINVAL, "missing capabilities %s%s", isr ? "" : "ISR ",
				 notify ? "" : "NOTIFY");
	if ((ret = map_cap(v, common, COMMON_MIN, 4, UINT32_MAX, &v->pci.common)) < 0 ||
	    (ret = map_cap(v, isr, 1, 1, 1, &v->pci.isr)) < 0 ||
	    (ret = map_cap(v, notify, 2, 2, UINT32_MAX, &v->pci.notify)) < 0 ||
	    (device && (ret = map_cap(v, device, 0, 4, 4096, &v->pci.device)) < 0) ||
	    (ret = cfg_rd(v, notify + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier),
			  4, &v->pci.notify_mult)) < 0)
		return ret;
	if ((ret = find_shm(v)) < 0 || (ret = find_msix(v)) < 0)
		return ret;
	if (!v->pci.pci_cfg_cap)
		return vdrv_fail(v, -EPROTO, "no PCI_CFG capability (virtio 1.2 §4.1.4.9: MUST)");
	return 0;
}

/* --- MSI-X (msix_capability_init, __pci_write_msi_msg) --- */

static int msix_entry_wr(struct vdrv *v, unsigned i, unsigned field, uint32_t val)
{
	uint64_t a = v->pci.msix_table + 16u * i + field;
	int ret = gd_mmio_write(v->d, v->vcpu, a, 4, val);

	return ret < 0 ? vdrv_fail(v, ret, "MSI-X entry %u +%u: %s", i, field, strerror(-ret)) : 0;
}

static int msix_ctrl(struct vdrv *v, uint32_t clear, uint32_t set)
{
	uint32_t ctrl;
	int ret = cfg_rd(v, v->pci.msix_cap + PCI_MSIX_FLAGS, 2, &ctrl);

	return ret < 0 ? ret
		       : cfg_wr(v, v->pci.msix_cap + PCI_MSIX_FLAGS, 2, (ctrl & ~clear) | set);
}

static int set_intx_disable(struct vdrv *v, bool disable)
{
	uint32_t cmd;
	int ret = cfg_rd(v, PCI_COMMAND, 2, &cmd);

	if (ret < 0)
		return ret;
	return cfg_wr(v, PCI_COMMAND, 2,
		      disable ? cmd | PCI_COMMAND_INTX_DISABLE : cmd & ~PCI_COMMAND_INTX_DISABLE);
}

static int msix_enable(struct vdrv *v, unsigned nvec)
{
	uint64_t back;
	int ret;

	/* Enabled and function-masked while the table is written. */
	if ((ret = msix_ctrl(v, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE)) < 0)
		return ret;
	for (unsigned i = 0; i < nvec; i++) {
		struct vdrv_msi *m = &v->pci.vec[i];

		m->addr = v->pci.msi_addr | (uint64_t)i << 12;
		m->data = v->pci.msi_data + i;
		if ((ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)m->addr)) < 0 ||
		    (ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_UPPER_ADDR, m->addr >> 32)) < 0 ||
		    (ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_DATA, m->data)) < 0)
			return ret;
		/* The read that flushes the writes; it must show the data written. */
		ret = gd_mmio_read(v->d, v->vcpu, v->pci.msix_table + 16u * i + PCI_MSIX_ENTRY_DATA,
				   4, &back);
		if (ret < 0 || back != m->data)
			return vdrv_fail(v, ret < 0 ? ret : -EPROTO,
					 "MSI-X entry %u: data reads 0x%" PRIx64 ", wrote 0x%x", i,
					 back, m->data);
	}
	v->pci.nvec = nvec;
	if ((ret = set_intx_disable(v, true)) < 0)
		return ret;
	for (unsigned i = 0; i < v->pci.msix_size; i++) {
		if ((ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_VECTOR_CTRL,
					 PCI_MSIX_ENTRY_CTRL_MASKBIT)) < 0)
			return ret;
	}
	if ((ret = msix_ctrl(v, PCI_MSIX_FLAGS_MASKALL, 0)) < 0)
		return ret;
	/* request_irq(): each vector unmasked at startup. */
	for (unsigned i = 0; i < nvec; i++) {
		v->pci.vec[i].seen = gd_msi_count(v->d, v->pci.vec[i].addr, v->pci.vec[i].data);
		if ((ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_VECTOR_CTRL, 0)) < 0)
			return ret;
	}
	v->pci.msix = true;
	return 0;
}

/* vp_modern_config_vector() / vp_modern_queue_vector(): write, read back. */
static int set_vector(struct vdrv *v, uint32_t reg, uint16_t vec)
{
	uint32_t back;
	int ret;

	if ((ret = cwr(v, reg, 2, vec)) < 0 || (ret = crd(v, reg, 2, &back)) < 0)
		return ret;
	if (back != vec)
		return vdrv_fail(v, -EBUSY, "vector register 0x%x reads 0x%x, wrote 0x%x", reg,
				 back, vec);
	return 0;
}

/* --- the virtio config ops --- */

static int get_status(struct vdrv *v, uint32_t *ret)
{
	return crd(v, VIRTIO_PCI_COMMON_STATUS, 1, ret);
}

static int set_status(struct vdrv *v, uint32_t st)
{
	return cwr(v, VIRTIO_PCI_COMMON_STATUS, 1, st);
}

/* vp_modern_get_features(): select 0, then 1. */
static int get_features(struct vdrv *v, uint64_t *ret_features)
{
	uint32_t lo, hi;
	int ret;

	if ((ret = cwr(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0)) < 0 ||
	    (ret = crd(v, VIRTIO_PCI_COMMON_DF, 4, &lo)) < 0 ||
	    (ret = cwr(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 1)) < 0 ||
	    (ret = crd(v, VIRTIO_PCI_COMMON_DF, 4, &hi)) < 0)
		return ret;
	*ret_features = (uint64_t)hi << 32 | lo;
	return 0;
}

static int set_features(struct vdrv *v, uint64_t f)
{
	int ret;

	if ((ret = cwr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0)) < 0 ||
	    (ret = cwr(v, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f)) < 0 ||
	    (ret = cwr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1)) < 0)
		return ret;
	return cwr(v, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(f >> 32));
}

static int write64(struct vdrv *v, uint32_t lo, uint64_t val)
{
	int ret = cwr(v, lo, 4, (uint32_t)val);

	return ret < 0 ? ret : cwr(v, lo + 4, 4, (uint32_t)(val >> 32));
}

/* setup_vq() of virtio_pci_modern.c. */
static int setup_vq(struct vdrv *v, unsigned q, uint16_t qsize, uint16_t vec)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint32_t num, enabled, noff;
	uint64_t at;
	int ret;

	if ((ret = cwr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, q)) < 0 ||
	    (ret = crd(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, &num)) < 0 ||
	    (ret = crd(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, &enabled)) < 0)
		return ret;
	if (!num || enabled)
		return vdrv_fail(v, -ENOENT, "queue %u: queue_size %u, queue_enable %u", q, num,
				 enabled);
	if (num & (num - 1))
		return vdrv_fail(v, -EINVAL, "queue %u: bad queue size %u", q, num);
	if ((ret = vdrv_vq_prepare(v, q, vdrv_vq_size(num, qsize))) < 0)
		return ret;
	if ((ret = cwr(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, vq->num)) < 0 ||
	    (ret = write64(v, VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc_gpa)) < 0 ||
	    (ret = write64(v, VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail_gpa)) < 0 ||
	    (ret = write64(v, VIRTIO_PCI_COMMON_Q_USEDLO, vq->used_gpa)) < 0 ||
	    (ret = crd(v, VIRTIO_PCI_COMMON_Q_NOFF, 2, &noff)) < 0)
		return ret;
	at = (uint64_t)noff * v->pci.notify_mult;
	if (at + 2 > v->pci.notify.len)
		return vdrv_fail(v, -EINVAL,
				 "queue %u: notify offset %u * multiplier %u beyond the notify "
				 "area (%u bytes)",
				 q, noff, v->pci.notify_mult, v->pci.notify.len);
	v->pci.notify_gpa[q] = v->pci.notify.gpa + at;
	v->pci.queue_vec[q] = vec;
	if (vec != VIRTIO_MSI_NO_VECTOR)
		return set_vector(v, VIRTIO_PCI_COMMON_Q_MSIX, vec);
	return 0;
}

/*
 * vp_modern_find_vqs() → vp_find_vqs(): MSI-X with a vector per queue (or, with a small
 * table, config + one shared: Linux's second try), enabled here as vp_request_msix_vectors
 * does, with the config vector set right after; or INTx.
 */
static int find_vqs(struct vdrv *v, unsigned nvqs, uint16_t qsize)
{
	bool per_vq = v->pci.msix_size >= nvqs + 1;
	uint32_t n, on;
	int ret;

	if ((ret = crd(v, VIRTIO_PCI_COMMON_NUMQ, 2, &n)) < 0)
		return ret;
	v->pci.num_queues = (uint16_t)n;
	if (nvqs > n)
		return vdrv_fail(v, -ENOENT, "%u queues wanted, num_queues is %u", nvqs, n);
	if (v->pci.want_msix && ((ret = msix_enable(v, per_vq ? nvqs + 1 : 2)) < 0 ||
				 (ret = set_vector(v, VIRTIO_PCI_COMMON_MSIX, 0)) < 0))
		return ret;
	for (unsigned q = 0; q < nvqs; q++) {
		uint16_t vec = !v->pci.nvec ? VIRTIO_MSI_NO_VECTOR : per_vq ? (uint16_t)(q + 1) : 1;

		if ((ret = setup_vq(v, q, qsize, vec)) < 0)
			return ret;
	}
	/* "Select and activate all queues. Has to be done last." */
	for (unsigned q = 0; q < nvqs; q++) {
		if ((ret = cwr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, q)) < 0 ||
		    (ret = cwr(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1)) < 0 ||
		    (ret = crd(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, &on)) < 0)
			return ret;
		if (on != 1)
			return vdrv_fail(v, -EPROTO, "queue %u: queue_enable reads %u", q, on);
	}
	return 0;
}

/* vp_notify(): the queue index, 16 bits, at the queue's notify address. */
static int notify(struct vdrv *v, unsigned q)
{
	int ret = v->pci.notify.io
			  ? gd_pio_write(v->d, v->vcpu, (uint16_t)v->pci.notify_gpa[q], 2, q)
			  : gd_mmio_write(v->d, v->vcpu, v->pci.notify_gpa[q], 2, q);

	return ret < 0 ? vdrv_fail(v, ret, "notify queue %u at 0x%" PRIx64 ": %s", q,
				   v->pci.notify_gpa[q], strerror(-ret))
		       : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* vp_vring_interrupt / vp_config_changed on their vectors: no ISR read with MSI-X. */
static int wait_msix(struct vdrv *v, unsigned q, int timeout_ms, uint32_t *ret_isr)
{
	struct vdrv_msi *qv = &v->pci.vec[v->pci.queue_vec[q]], *cv = &v->pci.vec[0];
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t n;

	for (;;) {
		int64_t left = deadline - now_ms();
		int ret = gd_msi_wait(
			v->d, qv->addr, qv->data, &qv->seen,
			(int)(left < IRQ_SLICE_MS ? (left > 0 ? left : 0) : IRQ_SLICE_MS));

		*ret_isr = ret ? 0 : VDRV_ISR_QUEUE;
		n = gd_msi_count(v->d, cv->addr, cv->data);
		if (n > cv->seen) {
			cv->seen = n;
			*ret_isr |= VDRV_ISR_CONFIG;
		}
		if (*ret_isr) {
			v->pci.msis++;
			return 0;
		}
		if (left <= 0)
			return -ETIMEDOUT;
	}
}

/*
 * INTx is level-triggered and may be shared: while the line is high the handler runs
 * (vp_interrupt: read the ISR, which clears it); a rising edge wakes a waiter whose line
 * was low. An ISR of 0 means another device holds the line.
 */
static int wait_intx(struct vdrv *v, int timeout_ms, uint32_t *ret_isr)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t isr;
	int ret;

	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (!gd_irq_level(v->d, v->pci.line)) {
			ret = gd_irq_wait(v->d, v->pci.line, &v->edges,
					  (int)(left < IRQ_SLICE_MS ? left : IRQ_SLICE_MS));
			if (ret == -ETIMEDOUT)
				continue;
		} else {
			/* A high level: the edges that raised it are taken with it. */
			v->edges = gd_irq_edges(v->d, v->pci.line);
		}
		if ((ret = rd(v, &v->pci.isr, 0, 1, &isr)) < 0)
			return ret;
		if (isr & ~(uint64_t)(VDRV_ISR_QUEUE | VDRV_ISR_CONFIG))
			return vdrv_fail(v, -EPROTO, "ISR reads 0x%" PRIx64, isr);
		if (isr) {
			*ret_isr = (uint32_t)isr;
			return 0;
		}
		v->pci.spurious++;
		if (gd_irq_level(v->d, v->pci.line)) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL); /* someone else's level: let its driver run */
		}
	}
}

static int wait_irq(struct vdrv *v, unsigned q, int timeout_ms, uint32_t *ret_isr)
{
	return v->pci.msix ? wait_msix(v, q, timeout_ms, ret_isr)
			   : wait_intx(v, timeout_ms, ret_isr);
}

static void irq_state(struct vdrv *v, unsigned q, char *buf, size_t len)
{
	const struct vdrv_msi *m = &v->pci.vec[v->pci.queue_vec[q]];

	if (v->pci.msix)
		snprintf(buf, len,
			 "MSI-X vector %u: addr 0x%" PRIx64 " data 0x%x, %" PRIu64
			 " delivered, %" PRIu64 " taken",
			 v->pci.queue_vec[q], m->addr, m->data,
			 gd_msi_count(v->d, m->addr, m->data), m->seen);
	else
		snprintf(buf, len, "INTx line 0x%x level %u edges %" PRIu64 ", %u spurious",
			 v->pci.line, gd_irq_level(v->d, v->pci.line), v->edges, v->pci.spurious);
}

static int generation(struct vdrv *v, uint32_t *ret)
{
	return crd(v, VIRTIO_PCI_COMMON_CFGGENERATION, 1, ret);
}

/* vp_get(): 1, 2, 4 bytes as such, 8 as two 4-byte reads. */
static int cfg_get(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val)
{
	uint64_t lo, hi;
	int ret;

	if (size != 8)
		return rd(v, &v->pci.device, off, size, val);
	if ((ret = rd(v, &v->pci.device, off, 4, &lo)) < 0 ||
	    (ret = rd(v, &v->pci.device, off + 4, 4, &hi)) < 0)
		return ret;
	*val = hi << 32 | lo;
	return 0;
}

/* del_vq() per queue, then vp_del_vqs() and pci_free_irq_vectors(), pci_disable_device. */
static int del_vqs(struct vdrv *v)
{
	uint32_t on;
	int ret;

	for (unsigned q = 0; q < v->nvqs; q++) {
		if ((ret = cwr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, q)) < 0 ||
		    (ret = crd(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, &on)) < 0)
			return ret;
		if (on)
			return vdrv_fail(v, -EPROTO, "queue %u: queue_enable reads %u after reset",
					 q, on);
		if (v->pci.msix &&
		    (ret = set_vector(v, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR)) < 0)
			return ret;
	}
	if (v->pci.msix) {
		if ((ret = set_vector(v, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR)) < 0)
			return ret;
		for (unsigned i = 0; i < v->pci.nvec; i++) {
			if ((ret = msix_entry_wr(v, i, PCI_MSIX_ENTRY_VECTOR_CTRL,
						 PCI_MSIX_ENTRY_CTRL_MASKBIT)) < 0)
				return ret;
		}
		if ((ret = msix_ctrl(v, PCI_MSIX_FLAGS_ENABLE, 0)) < 0 ||
		    (ret = set_intx_disable(v, false)) < 0)
			return ret;
		v->pci.msix = false;
	}
	return gpci_disable(v->pci.host, v->vcpu, &v->pci.fn);
}

const struct vdrv_ops vdrv_pci_ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_features = get_features,
	.set_features = set_features,
	.find_vqs = find_vqs,
	.notify = notify,
	.wait_irq = wait_irq,
	.irq_state = irq_state,
	.generation = generation,
	.cfg_get = cfg_get,
	.del_vqs = del_vqs,
};

/* --- probe --- */

static int identify(struct vdrv *v, uint32_t device_id)
{
	const struct gpci_fn *f = &v->pci.fn;

	if (f->vendor != VIRTIO_PCI_VENDOR || f->device < 0x1000 || f->device > 0x107f)
		return vdrv_fail(v, -ENODEV, "%04x:%04x is not a virtio device", f->vendor,
				 f->device);
	v->vendor_id = f->subsys_vendor;
	/* Transitional ids name the type in the subsystem id, as the legacy driver did. */
	v->device_id = f->device < 0x1040 ? f->subsys_device : f->device - 0x1040u;
	if (v->device_id != device_id)
		return vdrv_fail(v, -ENODEV, "virtio device id %u (want %u)", v->device_id,
				 device_id);
	return 0;
}

int vdrv_pci_probe(struct vdrv *v, struct gpci_host *h, const struct gpci_fn *f, unsigned vcpu,
		   const struct vdrv_pci_opts *o, uint32_t device_id, uint64_t features,
		   unsigned nvqs, uint16_t qsize)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->ops = &vdrv_pci_ops;
	v->d = h->d;
	v->vcpu = vcpu;
	v->pci.host = h;
	v->pci.fn = *f;
	v->pci.line = gpci_intx_line(h, f);
	v->edges = gd_irq_edges(v->d, v->pci.line);
	v->version = 1; /* the modern interface */
	snprintf(v->name, sizeof(v->name), "pci %s/vcpu%u", f->name, vcpu);
	if (nvqs > VDRV_MAX_VQS || !qsize)
		return vdrv_fail(v, -EINVAL, "bad probe arguments");
	if ((ret = identify(v, device_id)) < 0 || (ret = gpci_enable(h, vcpu, &v->pci.fn)) < 0 ||
	    (ret = find_caps(v)) < 0)
		return ret;
	if (o->irq == VDRV_PCI_MSIX) {
		if (!v->pci.msix_cap || v->pci.msix_size < 2)
			return vdrv_fail(v, -ENODEV, "MSI-X wanted, the device has %u vectors",
					 v->pci.msix_cap ? v->pci.msix_size : 0);
		v->pci.want_msix = true;
		v->pci.msi_addr = o->msi_addr;
		v->pci.msi_data = o->msi_data;
	} else if (!f->irq_pin) {
		return vdrv_fail(v, -ENODEV, "INTx wanted, the interrupt pin is 0");
	}
	return vdrv_bringup(v, features, nvqs, qsize);
}

/* --- extras for tests --- */

int vdrv_pci_shm(struct vdrv *v, uint8_t shmid, uint64_t *ret_gpa, uint64_t *ret_len)
{
	for (unsigned i = 0; i < v->pci.nshm; i++) {
		if (v->pci.shm[i].id == shmid) {
			*ret_gpa = v->pci.shm[i].gpa;
			*ret_len = v->pci.shm[i].len;
			return 0;
		}
	}
	return -ENOENT;
}

int vdrv_pci_cfg_window_read(struct vdrv *v, uint8_t bar, uint32_t off, unsigned size,
			     uint32_t *val)
{
	uint8_t pos = v->pci.pci_cfg_cap;
	int ret;

	if (!pos)
		return -ENOENT;
	if ((ret = cfg_wr(v, pos + CAP(bar), 1, bar)) < 0 ||
	    (ret = cfg_wr(v, pos + CAP(offset), 4, off)) < 0 ||
	    (ret = cfg_wr(v, pos + CAP(length), 4, size)) < 0)
		return ret;
	return cfg_rd(v, pos + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), size, val);
}

int vdrv_pci_isr(struct vdrv *v, uint32_t *ret_isr)
{
	uint64_t isr;
	int ret = rd(v, &v->pci.isr, 0, 1, &isr);

	if (!ret)
		*ret_isr = (uint32_t)isr;
	return ret;
}

int vdrv_pci_msix_mask(struct vdrv *v, unsigned vec, bool mask)
{
	if (!v->pci.msix_cap || vec >= v->pci.msix_size)
		return -EINVAL;
	return msix_entry_wr(v, vec, PCI_MSIX_ENTRY_VECTOR_CTRL,
			     mask ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

int vdrv_pci_msix_pending(struct vdrv *v, unsigned vec, bool *ret_pending)
{
	uint64_t word;
	int ret;

	if (!v->pci.msix_cap || vec >= v->pci.msix_size)
		return -EINVAL;
	ret = gd_mmio_read(v->d, v->vcpu, v->pci.msix_pba + 8u * (vec / 64), 8, &word);
	if (ret < 0)
		return vdrv_fail(v, ret, "PBA read: %s", strerror(-ret));
	*ret_pending = word >> (vec % 64) & 1;
	return 0;
}
