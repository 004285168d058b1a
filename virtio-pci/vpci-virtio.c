/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio side of a virtio-pci function (virtio 1.2 §4.1.4-4.1.5): the structures in
 * BAR 2 (common configuration, ISR, device configuration, notifications, MSI-X table and
 * PBA), the shared memory regions in BAR 4, and the interrupts (MSI-X or INTx).
 *
 * Trust boundary: offsets, sizes and values of vpci_bar_read/write come from the guest
 * (MMIO ioreqs, or the PCI_CFG window whose bar/offset/length the guest chose). Each
 * access is checked against the BAR's regions, common configuration fields take their
 * natural width only (§4.1.3.1), the selected queue goes through vdev_queue() (NULL when
 * out of range), queue fields follow the device state, vectors are checked against the
 * MSI-X table size (an invalid one reads back VIRTIO_MSI_NO_VECTOR, §4.1.4.3), device
 * config and shared memory are bounds-checked in the core. A bad access reads 0, is
 * dropped, logs rate-limited and returns -EINVAL.
 *
 * The device side (struct vdev_bus) is our own code: a used-buffer notification outside
 * DRIVER_OK (a back-end that was slow to stop) is dropped rather than shown to the driver.
 */
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "common/util.h"
#include "virtio-pci/vpci-internal.h"

/* virtio 1.2 §4.1.4.5: bit 0 of the ISR; the UAPI header names only the config bit. */
#define VPCI_ISR_QUEUE 0x1

/* --- interrupts (virtio 1.2 §4.1.5.3-4.1.5.4) --- */

static bool msix_enabled(const struct vpci_dev *p)
{
	return vpci_msix_flags(p) & PCI_MSIX_FLAGS_ENABLE;
}

void vpci_update_intx(struct vpci_dev *p)
{
	bool pending = p->isr && !msix_enabled(p);
	bool level = pending && p->host && !(vpci_dev_command(p) & PCI_COMMAND_INTX_DISABLE);
	uint16_t status = vpci_get16(p->cfg + PCI_STATUS);

	/* Interrupt Status shows the function's INTx state whatever INTx Disable says. */
	status = pending ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT;
	vpci_put16(p->cfg + PCI_STATUS, status);
	if (level == p->intx_level)
		return;
	p->intx_level = level;
	p->ops->set_intx(p, level);
}

static bool pba_test(const struct vpci_dev *p, unsigned v)
{
	return p->msix_pba[v / 64] & (1ULL << (v % 64));
}

static void pba_set(struct vpci_dev *p, unsigned v, bool on)
{
	if (on)
		p->msix_pba[v / 64] |= 1ULL << (v % 64);
	else
		p->msix_pba[v / 64] &= ~(1ULL << (v % 64));
}

/*
 * Xen x86 HVM: a Linux guest with XENFEAT_hvm_pirqs (the default) turns its MSIs into event
 * channels. It writes a message with vector 0 and the pirq in the destination ID bits (high
 * bits in the upper address) and never touches the mask bits: masking is the hypervisor's,
 * on the event channel (Linux sets pci_msi_ignore_mask). Xen's inject_msi delivers such a
 * message as an event on the pirq. Honouring the power-on mask bit would keep every message
 * in the PBA for ever, so these entries ignore the vector and function masks (QEMU does the
 * same for its emulated devices). A native message never has vector 0 (vectors 0-15 are
 * reserved on x86).
 */
static bool xen_pirq_msg(const struct vpci_msix_entry *e)
{
	uint32_t pirq = (e->addr_hi & 0xffffff00u) | ((e->addr_lo >> 12) & 0xff);

	return (e->addr_lo & 0xfff00000u) == 0xfee00000u && !(e->data & 0xff) && pirq;
}

static bool vector_masked(const struct vpci_dev *p, unsigned v)
{
	if (xen_pirq_msg(&p->msix[v]))
		return false;
	return (vpci_msix_flags(p) & PCI_MSIX_FLAGS_MASKALL) ||
	       (p->msix[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(struct vpci_dev *p, unsigned v)
{
	const struct vpci_msix_entry *e = &p->msix[v];

	if (!p->host) {
		log_debug("%s: MSI-X vector %u while off the bus: dropped", vpci_name(p), v);
		return;
	}
	p->ops->send_msi(p, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

/* PCI 3.0 §6.8.3.4: a masked vector's message waits in the PBA until unmasked. */
static void msix_signal(struct vpci_dev *p, uint16_t v)
{
	if (v >= p->msix_vectors)
		return; /* VIRTIO_MSI_NO_VECTOR: no notification (§4.1.5.4) */
	if (vector_masked(p, v)) {
		pba_set(p, v, true);
		return;
	}
	msix_send(p, v);
}

static void msix_deliver_pending(struct vpci_dev *p, unsigned v)
{
	if (msix_enabled(p) && pba_test(p, v) && !vector_masked(p, v)) {
		pba_set(p, v, false);
		msix_send(p, v);
	}
}

void vpci_msix_flags_changed(struct vpci_dev *p)
{
	unsigned v;

	vpci_update_intx(p); /* MSI-X enable takes INTx away, disable gives it back */
	for (v = 0; v < p->msix_vectors; v++)
		msix_deliver_pending(p, v);
}

static void signal_event(struct vpci_dev *p, uint8_t isr_bit, uint16_t vector)
{
	if (msix_enabled(p)) {
		msix_signal(p, vector);
		return;
	}
	p->isr |= isr_bit;
	vpci_update_intx(p);
}

static void bus_notify_used(struct vdev_bus *bus, unsigned q)
{
	struct vpci_dev *p = container_of(bus, struct vpci_dev, bus);

	/* §2.1.2 / §3.1.1: none before DRIVER_OK; a late call after a reset is stale. */
	if (!(vdev_get_status(p->dev) & VIRTIO_CONFIG_S_DRIVER_OK) || q >= p->dev->nqueues) {
		log_debug("%s: used notification for queue %u outside DRIVER_OK: dropped",
			  vpci_name(p), q);
		return;
	}
	signal_event(p, VPCI_ISR_QUEUE, p->queue_vector[q]);
}

static void bus_notify_config(struct vdev_bus *bus)
{
	struct vpci_dev *p = container_of(bus, struct vpci_dev, bus);

	signal_event(p, VIRTIO_PCI_ISR_CONFIG, p->msix_config);
}

const struct vdev_bus_ops vpci_bus_ops = {
	.notify_used = bus_notify_used,
	.notify_config = bus_notify_config,
};

void vpci_virtio_reset(struct vpci_dev *p)
{
	unsigned i;

	p->device_feature_select = 0;
	p->driver_feature_select = 0;
	p->queue_select = 0;
	p->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < VDEV_MAX_QUEUES; i++)
		p->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	memset(p->msix_pba, 0, sizeof(p->msix_pba)); /* events of the old life */
	p->isr = 0;
	vpci_update_intx(p);
}

/* --- common configuration (virtio 1.2 §4.1.4.3) --- */

/* The natural width of the field at off (§4.1.3.1), 0 if there is none. */
static unsigned common_width(uint32_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return 4;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	default:
		return 0;
	}
}

static uint32_t queue_field(struct vpci_dev *p, const struct vdev_queue *vq, uint32_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* §4.1.4.3: the maximum until the driver writes a (smaller) size */
		return vq->num ? vq->num : vq->num_max;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return p->queue_vector[p->queue_select];
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return vq->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return p->queue_select; /* notify address = notify + queue * VPCI_NOTIFY_MULT */
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return (uint32_t)vq->desc;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return (uint32_t)(vq->desc >> 32);
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return (uint32_t)vq->avail;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return (uint32_t)(vq->avail >> 32);
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return (uint32_t)vq->used;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return (uint32_t)(vq->used >> 32);
	default:
		return 0;
	}
}

static uint32_t common_read(struct vpci_dev *p, uint32_t off)
{
	struct vdev *d = p->dev;
	struct vdev_queue *vq;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return p->device_feature_select;
	case VIRTIO_PCI_COMMON_DF:
		return vdev_host_features_word(d, p->device_feature_select);
	case VIRTIO_PCI_COMMON_GFSELECT:
		return p->driver_feature_select;
	case VIRTIO_PCI_COMMON_GF:
		if (p->driver_feature_select > 1)
			return 0;
		return (uint32_t)(d->driver_features >> (32 * p->driver_feature_select));
	case VIRTIO_PCI_COMMON_MSIX:
		return p->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return d->nqueues;
	case VIRTIO_PCI_COMMON_STATUS:
		return vdev_get_status(d);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return (uint8_t)d->cfg_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return p->queue_select;
	default:
		vq = vdev_queue(d, p->queue_select);
		return vq ? queue_field(p, vq, off) : 0; /* no such queue: every field 0 */
	}
}

/* A vector the MSI-X table has, or VIRTIO_MSI_NO_VECTOR (§4.1.4.3, §4.1.5.1.2). */
static uint16_t checked_vector(struct vpci_dev *p, uint32_t v)
{
	if (v != VIRTIO_MSI_NO_VECTOR && v >= p->msix_vectors) {
		log_debug_rl("%s: MSI-X vector %u of %u: no vector", vpci_name(p), v,
			     p->msix_vectors);
		return VIRTIO_MSI_NO_VECTOR;
	}
	return (uint16_t)v;
}

/*
 * The selected queue, for a write of its configuration: NULL (logged) unless it exists,
 * the device is between FEATURES_OK and DRIVER_OK and the queue is not enabled
 * (§4.1.4.3.2: the driver must not change an enabled queue).
 */
static struct vdev_queue *writable_queue(struct vpci_dev *p, uint32_t off)
{
	struct vdev_queue *vq = vdev_queue(p->dev, p->queue_select);

	if (!vq || !vdev_queue_writable(p->dev) || vq->ready) {
		log_warn_rl("%s: common cfg write at 0x%x for queue %u (%s, status 0x%x): dropped",
			    vpci_name(p), off, p->queue_select,
			    !vq		? "no such queue"
			    : vq->ready ? "enabled"
					: "not writable",
			    vdev_get_status(p->dev));
		return NULL;
	}
	return vq;
}

/*
 * Areas programmed (guest RAM never starts at 0 on our platforms) and aligned: split ring
 * 16/2/4, packed ring 16/4/4 (§2.7, §2.8). Same rule as virtio-mmio's QueueReady.
 */
static bool queue_areas_ok(struct vpci_dev *p, const struct vdev_queue *vq)
{
	bool packed = p->dev->driver_features & (1ULL << VIRTIO_F_RING_PACKED);
	uint64_t avail_align = packed ? 4 : 2;

	if (!vq->desc || !vq->avail || !vq->used)
		return false;
	return !(vq->desc & 15) && !(vq->avail & (avail_align - 1)) && !(vq->used & 3);
}

static int queue_enable_write(struct vpci_dev *p, uint32_t val)
{
	struct vdev_queue *vq;

	if (val == 0) {
		/* §4.1.4.3.2: the driver must not write 0; without RING_RESET we ignore it. */
		log_debug_rl("%s: queue_enable = 0 for queue %u: ignored", vpci_name(p),
			     p->queue_select);
		return 0;
	}
	if (val != 1) {
		log_warn_rl("%s: queue_enable = 0x%x: only 1", vpci_name(p), val);
		return -EINVAL;
	}
	vq = writable_queue(p, VIRTIO_PCI_COMMON_Q_ENABLE);
	if (!vq)
		return -EINVAL;
	/* A driver that keeps the offered size never writes queue_size (§4.1.5.1.3). */
	if (!vq->num && vdev_queue_set_num(p->dev, p->queue_select, vq->num_max) < 0)
		return -EINVAL;
	if (!queue_areas_ok(p, vq)) {
		log_warn_rl("%s: queue_enable for queue %u with missing or misaligned areas: "
			    "refused",
			    vpci_name(p), p->queue_select);
		return -EINVAL;
	}
	vq->ready = true;
	return 0;
}

static void set_low(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
}

static int queue_write(struct vpci_dev *p, uint32_t off, uint32_t val)
{
	struct vdev_queue *vq;

	if (off == VIRTIO_PCI_COMMON_Q_ENABLE)
		return queue_enable_write(p, val);
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		/* Routing only: accepted in any state (Linux clears vectors after a reset). */
		if (!vdev_queue(p->dev, p->queue_select))
			return -EINVAL;
		p->queue_vector[p->queue_select] = checked_vector(p, val);
		return 0;
	}
	vq = writable_queue(p, off);
	if (!vq)
		return -EINVAL;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (vdev_queue_set_num(p->dev, p->queue_select, val) < 0) {
			log_warn_rl("%s: queue_size %u for queue %u (max %u, power of two): "
				    "refused",
				    vpci_name(p), val, p->queue_select, vq->num_max);
			return -EINVAL;
		}
		return 0;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		set_low(&vq->desc, val);
		return 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_high(&vq->desc, val);
		return 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		set_low(&vq->avail, val);
		return 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_high(&vq->avail, val);
		return 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		set_low(&vq->used, val);
		return 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_high(&vq->used, val);
		return 0;
	default:
		return -EINVAL; /* read-only fields */
	}
}

static int common_write(struct vpci_dev *p, uint32_t off, uint32_t val)
{
	int r;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		p->device_feature_select = val;
		return 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		p->driver_feature_select = val;
		return 0;
	case VIRTIO_PCI_COMMON_GF:
		return vdev_set_driver_features_word(p->dev, p->driver_feature_select, val);
	case VIRTIO_PCI_COMMON_MSIX:
		p->msix_config = checked_vector(p, val);
		return 0;
	case VIRTIO_PCI_COMMON_STATUS:
		r = vdev_set_status(p->dev, (uint8_t)val);
		if (val == 0)
			vpci_virtio_reset(p); /* after the core: drops what the reset raised */
		return r;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		p->queue_select = (uint16_t)val; /* any value: vdev_queue() refuses bad ones */
		return 0;
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		log_warn_rl("%s: write of read-only common cfg field 0x%x: dropped", vpci_name(p),
			    off);
		return -EINVAL;
	default:
		return queue_write(p, off, val);
	}
}

/* --- device configuration (§4.1.4.6): little-endian bytes, any size --- */

static int device_read(struct vpci_dev *p, uint32_t off, unsigned size, uint64_t *ret_val)
{
	uint8_t buf[8] = { 0 };
	unsigned i;
	int r;

	r = vdev_cfg_read(p->dev, off, buf, size);
	if (r < 0)
		return r;
	for (i = 0; i < size; i++)
		*ret_val |= (uint64_t)buf[i] << (8 * i);
	return 0;
}

static int device_write(struct vpci_dev *p, uint32_t off, unsigned size, uint64_t val)
{
	uint8_t buf[8];
	unsigned i;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	return vdev_cfg_write(p->dev, off, buf, size);
}

/* --- MSI-X table and PBA (PCI 3.0 §6.8.2.6-6.8.2.10): dword accesses --- */

static uint32_t *msix_field(struct vpci_dev *p, uint32_t rel)
{
	struct vpci_msix_entry *e = &p->msix[rel / PCI_MSIX_ENTRY_SIZE];

	switch (rel % PCI_MSIX_ENTRY_SIZE) {
	case PCI_MSIX_ENTRY_LOWER_ADDR:
		return &e->addr_lo;
	case PCI_MSIX_ENTRY_UPPER_ADDR:
		return &e->addr_hi;
	case PCI_MSIX_ENTRY_DATA:
		return &e->data;
	default:
		return &e->ctrl;
	}
}

static void msix_table_write32(struct vpci_dev *p, uint32_t rel, uint32_t val)
{
	unsigned v = rel / PCI_MSIX_ENTRY_SIZE;

	if (rel % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_VECTOR_CTRL)
		/* Only the mask bit is defined; the rest is reserved (reads 0). */
		p->msix[v].ctrl = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	else
		*msix_field(p, rel) = val;
	/* unmasked, or the message is now a Xen pirq one (never masked): a pending one goes */
	msix_deliver_pending(p, v);
}

static bool dword_access(uint64_t off, unsigned size)
{
	return (size == 4 || size == 8) && !(off & (size - 1));
}

static int msix_read(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t *ret_val)
{
	const struct vpci_layout *l = &p->layout;
	uint32_t table_len = p->msix_vectors * PCI_MSIX_ENTRY_SIZE;
	uint32_t pba_len = (p->msix_vectors + 63) / 64 * 8;
	uint64_t rel;

	if (!dword_access(off, size))
		return -EINVAL;
	if (off >= l->msix_table && range_ok(off - l->msix_table, size, table_len)) {
		rel = off - l->msix_table;
		*ret_val = *msix_field(p, (uint32_t)rel);
		if (size == 8)
			*ret_val |= (uint64_t)*msix_field(p, (uint32_t)rel + 4) << 32;
		return 0;
	}
	if (off >= l->msix_pba && range_ok(off - l->msix_pba, size, pba_len)) {
		rel = off - l->msix_pba;
		*ret_val = p->msix_pba[rel / 8] >> (8 * (rel % 8));
		if (size == 4)
			*ret_val &= 0xffffffffu;
		return 0;
	}
	return -EINVAL;
}

static int msix_write(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t val)
{
	const struct vpci_layout *l = &p->layout;
	uint32_t table_len = p->msix_vectors * PCI_MSIX_ENTRY_SIZE;
	uint32_t rel;

	/* The PBA is read-only (PCI 3.0 §6.8.2.10): writes to it are bad accesses. */
	if (!dword_access(off, size) || off < l->msix_table ||
	    !range_ok(off - l->msix_table, size, table_len))
		return -EINVAL;
	rel = (uint32_t)(off - l->msix_table);
	msix_table_write32(p, rel, (uint32_t)val);
	if (size == 8)
		msix_table_write32(p, rel + 4, (uint32_t)(val >> 32));
	return 0;
}

/* --- BAR dispatch --- */

static bool in_region(uint64_t off, unsigned size, uint32_t start, uint64_t len)
{
	return off >= start && range_ok(off - start, size, len);
}

static bool in_msix(const struct vpci_dev *p, uint64_t off)
{
	return p->msix_vectors && off >= p->layout.msix_table &&
	       off < p->layout.msix_pba + VPCI_PAGE;
}

/*
 * The shared memory region holding [off, off + size) of BAR 4: its index; -ENOENT in the
 * padding after the last region; -EINVAL for an access outside the BAR or across regions.
 */
static int shm_region(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t *ret_rel)
{
	const struct vdev *d = p->dev;
	uint64_t start = 0;
	unsigned i;

	for (i = 0; i < d->nshm; i++) {
		if (off >= start && off - start < d->shm[i].size) {
			*ret_rel = off - start;
			return range_ok(*ret_rel, size, d->shm[i].size) ? (int)i : -EINVAL;
		}
		start += d->shm[i].size;
	}
	/* the padding up to the power-of-two BAR size: like an unmapped part, nothing there */
	return range_ok(off, size, p->bars[VPCI_SHM_BAR].size) ? -ENOENT : -EINVAL;
}

static int virtio_bar_read(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t *ret_val)
{
	const struct vpci_layout *l = &p->layout;

	if (in_region(off, size, l->common, sizeof(struct virtio_pci_common_cfg))) {
		if (common_width((uint32_t)(off - l->common)) != size)
			return -EINVAL;
		*ret_val = common_read(p, (uint32_t)(off - l->common));
		return 0;
	}
	if (off == l->isr && size <= 4) {
		/* §4.1.4.5: reading the ISR clears it and de-asserts INTx. */
		*ret_val = p->isr;
		p->isr = 0;
		vpci_update_intx(p);
		return 0;
	}
	if (in_region(off, size, l->device, p->dev->cfg_size))
		return device_read(p, (uint32_t)(off - l->device), size, ret_val);
	if (in_msix(p, off))
		return msix_read(p, off, size, ret_val);
	return -EINVAL; /* notify area (write-only), gaps */
}

static int virtio_bar_write(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t val)
{
	const struct vpci_layout *l = &p->layout;
	uint32_t rel;

	if (in_region(off, size, l->common, sizeof(struct virtio_pci_common_cfg))) {
		rel = (uint32_t)(off - l->common);
		return common_width(rel) == size ? common_write(p, rel, (uint32_t)val) : -EINVAL;
	}
	if (in_region(off, size, l->device, p->dev->cfg_size))
		return device_write(p, (uint32_t)(off - l->device), size, val);
	if (in_region(off, size, l->notify, p->dev->nqueues * VPCI_NOTIFY_MULT)) {
		rel = (uint32_t)(off - l->notify);
		/* §4.1.5.2: a 16-bit write of the queue index at its notify address. */
		if (rel % VPCI_NOTIFY_MULT || (size != 2 && size != 4))
			return -EINVAL;
		vdev_kick(p->dev, rel / VPCI_NOTIFY_MULT);
		return 0;
	}
	if (in_msix(p, off))
		return msix_write(p, off, size, val);
	return -EINVAL; /* ISR (read-only), gaps */
}

/*
 * The port notify register (I/O BAR 0, notify_off_multiplier 0): a 16-bit write of the
 * queue index at offset 0 (§4.1.5.2); a 32-bit one carries the index in its low half.
 */
static int pio_bar_write(struct vpci_dev *p, uint64_t off, unsigned size, uint64_t val)
{
	if (off != 0 || (size != 2 && size != 4))
		return -EINVAL;
	vdev_kick(p->dev, (unsigned)(val & 0xffff));
	return 0;
}

static bool bar_access_ok(struct vpci_dev *p, unsigned bar, unsigned size)
{
	return bar < VPCI_NUM_BARS && p->bars[bar].size &&
	       (size == 1 || size == 2 || size == 4 || size == 8);
}

int vpci_bar_read(struct vpci_dev *p, unsigned bar, uint64_t off, unsigned size, uint64_t *ret_val)
{
	uint64_t rel;
	int r = -EINVAL, idx;

	*ret_val = 0;
	if (bar_access_ok(p, bar, size) && bar == VPCI_VIRTIO_BAR) {
		r = virtio_bar_read(p, off, size, ret_val);
	} else if (bar_access_ok(p, bar, size) && bar == VPCI_SHM_BAR) {
		idx = shm_region(p, off, size, &rel);
		if (idx == -ENOENT)
			return 0; /* padding reads 0 */
		if (idx >= 0)
			return vdev_shm_read(p->dev, (unsigned)idx, rel, size, ret_val); /* logs */
		r = idx;
	}
	if (r < 0) {
		*ret_val = 0;
		log_warn_rl("%s: read of %u bytes at BAR %u + 0x%" PRIx64 ": bad access",
			    vpci_name(p), size, bar, off);
	}
	return r;
}

int vpci_bar_write(struct vpci_dev *p, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
	/* A value with more bits than the access has is a bad access. */
	bool ok = bar_access_ok(p, bar, size) && (size == 8 || !(val >> (8 * size)));
	uint64_t rel;
	int r = -EINVAL, idx;

	if (ok && bar == VPCI_VIRTIO_BAR) {
		r = virtio_bar_write(p, off, size, val);
	} else if (ok && p->bars[bar].io) {
		r = pio_bar_write(p, off, size, val);
	} else if (ok && bar == VPCI_SHM_BAR) {
		idx = shm_region(p, off, size, &rel);
		if (idx == -ENOENT)
			return 0; /* padding ignores writes */
		if (idx >= 0)
			return vdev_shm_write(p->dev, (unsigned)idx, rel, size, val); /* logs */
		r = idx;
	}
	if (r < 0)
		log_warn_rl("%s: write of %u bytes at BAR %u + 0x%" PRIx64 ": dropped",
			    vpci_name(p), size, bar, off);
	return r;
}
