/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2): the register file of one
 * device window, mapped onto the device core (devices/vdev.h).
 *
 * Trust boundary: every offset, size and value passed to vmmio_read()/vmmio_write()
 * comes from the guest (an ioreq) and is checked here: offsets against the window and
 * the register table, sizes and alignment (control registers are 32-bit only, §4.2.2.2),
 * the selected queue through vdev_queue() (which may return NULL), queue fields against
 * the device state, config accesses against the device's config size (in the core).
 * Nothing the guest does ends in an abort: a bad access reads 0 or is dropped, logs a
 * rate-limited warning and returns -EINVAL.
 *
 * The device side (struct vdev_bus) is trusted only as far as it is our own code: a
 * used-buffer notification outside DRIVER_OK (a late back-end call after a reset) is
 * dropped rather than shown to the driver.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "common/log.h"
#include "common/util.h"
#include "virtio-mmio/vmmio.h"

/* virtio 1.2 §4.2.2: "virt" in little-endian; Linux's UAPI header has no name for it. */
#define VMMIO_MAGIC   0x74726976u
#define VMMIO_VERSION 2u
#define VMMIO_INT_ALL (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)

static const char *dev_name(struct vmmio *m)
{
	return m->dev->name ? m->dev->name : "vmmio";
}

/* --- interrupt line (virtio 1.2 §4.2.3.4) --- */

static void set_line(struct vmmio *m, bool level)
{
	if (m->irq_level == level)
		return;
	m->irq_level = level;
	m->ops->set_irq(m, level);
}

/* The line follows InterruptStatus != 0. */
static void update_line(struct vmmio *m)
{
	set_line(m, m->interrupt_status != 0);
}

static void raise_int(struct vmmio *m, uint32_t bit)
{
	m->interrupt_status |= bit;
	update_line(m);
}

static void bus_notify_used(struct vdev_bus *bus, unsigned q)
{
	struct vmmio *m = container_of(bus, struct vmmio, bus);

	/*
	 * virtio 1.2 §2.1.2 / §3.1.1: no used buffer notifications before DRIVER_OK. A call
	 * that arrives after a reset (a back-end that was slow to stop) would otherwise leave
	 * a stale InterruptStatus bit in a freshly reset device.
	 */
	if (!(vdev_get_status(m->dev) & VIRTIO_CONFIG_S_DRIVER_OK)) {
		log_debug("%s: used notification for queue %u outside DRIVER_OK: dropped",
			  dev_name(m), q);
		return;
	}
	raise_int(m, VIRTIO_MMIO_INT_VRING);
}

static void bus_notify_config(struct vdev_bus *bus)
{
	struct vmmio *m = container_of(bus, struct vmmio, bus);

	/* The core decides when a config notification is due (also DEVICE_NEEDS_RESET). */
	raise_int(m, VIRTIO_MMIO_INT_CONFIG);
}

static const struct vdev_bus_ops vmmio_bus_ops = {
	.notify_used = bus_notify_used,
	.notify_config = bus_notify_config,
};

/*
 * InterruptACK (virtio 1.2 §4.2.2): clear the handled bits. Xen's vGIC treats the SPI
 * as edge-triggered (FACTS 26): if events remain pending the line is already high and
 * would give the driver no new interrupt, so pulse it low and high again.
 */
static void interrupt_ack(struct vmmio *m, uint32_t val)
{
	if (val & ~VMMIO_INT_ALL)
		log_warn_rl("%s: InterruptACK 0x%" PRIx32 " has undefined bits", dev_name(m), val);
	m->interrupt_status &= ~val;
	if (m->interrupt_status) {
		set_line(m, false);
		set_line(m, true);
	} else {
		set_line(m, false);
	}
}

void vmmio_set_used_external(struct vmmio *m, bool on)
{
	m->used_external = on;
}

/* --- init --- */

void vmmio_init(struct vmmio *m, const struct vmmio_ops *ops, struct vdev *dev)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->dev = dev;
	m->bus.ops = &vmmio_bus_ops;
	m->nshm = dev->nshm; /* fixed from now on (devices/vdev.h) */
	m->shm_base = g_new(uint64_t, m->nshm);
	for (i = 0; i < m->nshm; i++)
		m->shm_base[i] = VMMIO_SHM_UNPLACED;
	vdev_attach(dev, &m->bus);
}

/* Detaches the device; does not touch the line (vmm/ may already have released it). */
void vmmio_fini(struct vmmio *m)
{
	if (m->dev && m->dev->bus == &m->bus)
		vdev_attach(m->dev, NULL);
	m->dev = NULL;
	g_free(m->shm_base);
	m->shm_base = NULL;
	m->nshm = 0;
}

/* The transport's share of a device reset (Status = 0): virtio 1.2 §4.2.2.1. */
static void transport_reset(struct vmmio *m)
{
	m->device_features_sel = 0;
	m->driver_features_sel = 0;
	m->queue_sel = 0;
	m->shm_sel = 0;
	m->interrupt_status = 0;
	set_line(m, false);
}

/* --- queue registers (virtio 1.2 §4.2.3.2) --- */

/*
 * The selected queue, for a write: NULL (and a warning) unless it exists, the device is
 * between FEATURES_OK and DRIVER_OK, and the queue is not enabled yet (§4.2.2.2: the
 * driver must not touch QueueNum or the addresses while QueueReady is set).
 */
static struct vdev_queue *writable_queue(struct vmmio *m, uint64_t off)
{
	struct vdev_queue *vq = vdev_queue(m->dev, m->queue_sel);

	if (!vq) {
		log_warn_rl("%s: write to 0x%03" PRIx64 " for queue %" PRIu32 ": no such queue",
			    dev_name(m), off, m->queue_sel);
		return NULL;
	}
	if (!vdev_queue_writable(m->dev)) {
		log_warn_rl("%s: write to 0x%03" PRIx64 " for queue %" PRIu32
			    " in status 0x%x: dropped",
			    dev_name(m), off, m->queue_sel, vdev_get_status(m->dev));
		return NULL;
	}
	if (vq->ready) {
		log_warn_rl("%s: write to 0x%03" PRIx64 " for enabled queue %" PRIu32 ": dropped",
			    dev_name(m), off, m->queue_sel);
		return NULL;
	}
	return vq;
}

static void set_low(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *addr, uint32_t val)
{
	*addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
}

/*
 * The areas must be programmed (non-zero: guest RAM never starts at 0 on our
 * platforms) and aligned: virtio 1.2 §2.7 (split ring: descriptors 16, driver area 2,
 * device area 4; a driver requirement by §2.7.1) and §2.8 (packed ring: 16, 4, 4).
 * Refusing QueueReady otherwise keeps misaligned rings away from any code that walks
 * them.
 */
static bool queue_areas_ok(struct vmmio *m, const struct vdev_queue *vq)
{
	bool packed = m->dev->driver_features & (1ULL << VIRTIO_F_RING_PACKED);
	uint64_t avail_align = packed ? 4 : 2;

	if (!vq->desc || !vq->avail || !vq->used)
		return false;
	return !(vq->desc & 15) && !(vq->avail & (avail_align - 1)) && !(vq->used & 3);
}

static int queue_ready_write(struct vmmio *m, uint32_t val)
{
	struct vdev_queue *vq;

	if (val > 1) {
		log_warn_rl("%s: QueueReady = 0x%" PRIx32 ": only 0 or 1", dev_name(m), val);
		return -EINVAL;
	}
	vq = vdev_queue(m->dev, m->queue_sel);
	/*
	 * Disabling a queue that is not enabled changes nothing and is accepted in any state:
	 * Linux writes 0 to every queue's QueueReady after the reset that removes a device.
	 */
	if (vq && !val && !vq->ready)
		return 0;
	if (!vq || !vdev_queue_writable(m->dev)) {
		log_warn_rl("%s: QueueReady write to queue %" PRIu32 " in status 0x%x: dropped",
			    dev_name(m), m->queue_sel, vdev_get_status(m->dev));
		return -EINVAL;
	}
	if (val && (!vq->num || !queue_areas_ok(m, vq))) {
		log_warn_rl("%s: QueueReady for queue %" PRIu32 " without a size or with "
			    "missing/misaligned areas: refused",
			    dev_name(m), m->queue_sel);
		return -EINVAL;
	}
	vq->ready = val;
	return 0;
}

static int queue_write(struct vmmio *m, uint64_t off, uint32_t val)
{
	struct vdev_queue *vq;

	if (off == VIRTIO_MMIO_QUEUE_READY)
		return queue_ready_write(m, val);
	vq = writable_queue(m, off);
	if (!vq)
		return -EINVAL;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (vdev_queue_set_num(m->dev, m->queue_sel, val) < 0) {
			log_warn_rl("%s: QueueNum %" PRIu32 " for queue %" PRIu32
				    " (max %u, power of two): refused",
				    dev_name(m), val, m->queue_sel, vq->num_max);
			return -EINVAL;
		}
		return 0;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_low(&vq->desc, val);
		return 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_high(&vq->desc, val);
		return 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_low(&vq->avail, val);
		return 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_high(&vq->avail, val);
		return 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_low(&vq->used, val);
		return 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_high(&vq->used, val);
		return 0;
	default:
		return -EINVAL; /* not reached: the caller dispatches only queue registers */
	}
}

/* --- status --- */

static int status_write(struct vmmio *m, uint32_t val)
{
	int r;

	/* The device status is one byte (virtio 1.2 §2.1); higher bits are reserved. */
	if (val > 0xff) {
		log_warn_rl("%s: Status = 0x%" PRIx32 ": reserved bits set", dev_name(m), val);
		return -EINVAL;
	}
	r = vdev_set_status(m->dev, (uint8_t)val);
	if (val == 0)
		transport_reset(m); /* after the core: drops anything raised during the reset */
	return r;
}

/* --- register file (virtio 1.2 §4.2.2, table "MMIO Device Register Layout") --- */

enum reg_kind {
	REG_NONE, /* reserved: not a register */
	REG_RO,
	REG_WO,
	REG_RW,
	REG_LEGACY, /* version 1 only (§4.2.4): not offered */
};

static enum reg_kind reg_kind(uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
	case VIRTIO_MMIO_VERSION:
	case VIRTIO_MMIO_DEVICE_ID:
	case VIRTIO_MMIO_VENDOR_ID:
	case VIRTIO_MMIO_DEVICE_FEATURES:
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_INTERRUPT_STATUS:
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return REG_RO;
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
	case VIRTIO_MMIO_DRIVER_FEATURES:
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
	case VIRTIO_MMIO_QUEUE_SEL:
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_NOTIFY:
	case VIRTIO_MMIO_INTERRUPT_ACK:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
	case VIRTIO_MMIO_SHM_SEL:
		return REG_WO;
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_STATUS:
		return REG_RW;
	case VIRTIO_MMIO_GUEST_PAGE_SIZE:
	case VIRTIO_MMIO_QUEUE_ALIGN:
	case VIRTIO_MMIO_QUEUE_PFN:
		return REG_LEGACY;
	default:
		return REG_NONE;
	}
}

/*
 * SHMLen / SHMBase of the region SHMSel names (a shmid, §4.2.2): all ones when the device
 * has no such region or vmm/ did not place it (FACTS 20).
 */
static uint32_t shm_reg(struct vmmio *m, uint64_t off)
{
	int idx = m->shm_sel <= 0xff ? vdev_shm_find(m->dev, (uint8_t)m->shm_sel) : -ENOENT;
	uint64_t v;

	if (idx < 0 || (unsigned)idx >= m->nshm || m->shm_base[idx] == VMMIO_SHM_UNPLACED)
		return 0xffffffffu;
	if (off == VIRTIO_MMIO_SHM_LEN_LOW || off == VIRTIO_MMIO_SHM_LEN_HIGH)
		v = m->dev->shm[idx].size;
	else
		v = m->shm_base[idx];
	if (off == VIRTIO_MMIO_SHM_LEN_HIGH || off == VIRTIO_MMIO_SHM_BASE_HIGH)
		return (uint32_t)(v >> 32);
	return (uint32_t)v;
}

static uint32_t reg_read(struct vmmio *m, uint64_t off)
{
	struct vdev *d = m->dev;
	struct vdev_queue *vq;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return d->vendor_id;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return vdev_host_features_word(d, m->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0 = "queue not available" (§4.2.2) */
		vq = vdev_queue(d, m->queue_sel);
		return vq ? vq->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		vq = vdev_queue(d, m->queue_sel);
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		if (m->used_external && (vdev_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK))
			return m->interrupt_status | VIRTIO_MMIO_INT_VRING;
		return m->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return vdev_get_status(d);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return shm_reg(m, off);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->cfg_generation;
	default:
		return 0;
	}
}

static int reg_write(struct vmmio *m, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = val;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		return vdev_set_driver_features_word(m->dev, m->driver_features_sel, val);
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = val;
		return 0;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val; /* any value: the accessor refuses out-of-range ones */
		return 0;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* §4.2.3.3: the value is the queue index (no VIRTIO_F_NOTIFICATION_DATA). */
		vdev_kick(m->dev, val);
		return 0;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		interrupt_ack(m, val);
		return 0;
	case VIRTIO_MMIO_STATUS:
		return status_write(m, val);
	case VIRTIO_MMIO_SHM_SEL:
		m->shm_sel = val;
		return 0;
	default:
		return queue_write(m, off, val);
	}
}

/* --- config space (virtio 1.2 §4.2.2: offset 0x100+, byte-aligned accesses) --- */

static int cfg_read(struct vmmio *m, uint32_t off, unsigned size, uint64_t *ret_val)
{
	uint8_t buf[8] = { 0 };
	uint64_t v = 0;
	unsigned i;
	int r;

	r = vdev_cfg_read(m->dev, off, buf, size);
	if (r < 0) {
		log_warn_rl("%s: config read of %u bytes at 0x%" PRIx32 " (size 0x%" PRIx32 "): %s",
			    dev_name(m), size, off, m->dev->cfg_size, g_strerror(-r));
		return r;
	}
	for (i = 0; i < size; i++) /* config fields are little-endian (§2.5) */
		v |= (uint64_t)buf[i] << (8 * i);
	*ret_val = v;
	return 0;
}

static int cfg_write(struct vmmio *m, uint32_t off, unsigned size, uint64_t val)
{
	uint8_t buf[8];
	unsigned i;
	int r;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	r = vdev_cfg_write(m->dev, off, buf, size);
	if (r < 0)
		log_warn_rl("%s: config write of %u bytes at 0x%" PRIx32 " (size 0x%" PRIx32
			    "): %s",
			    dev_name(m), size, off, m->dev->cfg_size, g_strerror(-r));
	return r;
}

/* --- entry points --- */

static bool size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/*
 * Common checks; returns the register kind, or REG_NONE for a bad access (logged).
 * Control registers take only 32-bit aligned accesses (§4.2.2.2); config space any
 * of 1/2/4/8 bytes at any offset (bounds checked by the core).
 */
static int check_access(struct vmmio *m, const char *dir, uint64_t off, unsigned size,
			enum reg_kind *ret_kind)
{
	if (!size_ok(size) || off >= VMMIO_WINDOW_SIZE) {
		log_warn_rl("%s: %s of %u bytes at 0x%" PRIx64 ": bad access", dev_name(m), dir,
			    size, off);
		return -EINVAL;
	}
	if (off >= VIRTIO_MMIO_CONFIG) {
		*ret_kind = REG_RW;
		return 1; /* config space */
	}
	if (size != 4 || (off & 3)) {
		log_warn_rl("%s: %s of %u bytes at 0x%" PRIx64 ": registers are 32-bit aligned",
			    dev_name(m), dir, size, off);
		return -EINVAL;
	}
	*ret_kind = reg_kind(off);
	if (*ret_kind == REG_NONE || *ret_kind == REG_LEGACY) {
		log_warn_rl("%s: %s of %s register 0x%" PRIx64 ": ignored", dev_name(m), dir,
			    *ret_kind == REG_NONE ? "reserved" : "legacy (version 1)", off);
		return -EINVAL;
	}
	return 0;
}

int vmmio_read(struct vmmio *m, uint64_t off, unsigned size, uint64_t *ret_val)
{
	enum reg_kind kind;
	int r;

	*ret_val = 0;
	r = check_access(m, "read", off, size, &kind);
	if (r < 0)
		return r;
	if (r == 1)
		return cfg_read(m, (uint32_t)(off - VIRTIO_MMIO_CONFIG), size, ret_val);
	if (kind == REG_WO) {
		log_warn_rl("%s: read of write-only register 0x%" PRIx64, dev_name(m), off);
		return -EINVAL;
	}
	*ret_val = reg_read(m, off);
	return 0;
}

int vmmio_write(struct vmmio *m, uint64_t off, unsigned size, uint64_t val)
{
	enum reg_kind kind;
	int r;

	r = check_access(m, "write", off, size, &kind);
	if (r < 0)
		return r;
	if (r == 1)
		return cfg_write(m, (uint32_t)(off - VIRTIO_MMIO_CONFIG), size, val);
	if (kind == REG_RO) {
		log_warn_rl("%s: write of read-only register 0x%" PRIx64 ": dropped", dev_name(m),
			    off);
		return -EINVAL;
	}
	if (val > 0xffffffffu) {
		log_warn_rl("%s: 32-bit write at 0x%" PRIx64 " carries 0x%" PRIx64 ": dropped",
			    dev_name(m), off, val);
		return -EINVAL;
	}
	return reg_write(m, off, (uint32_t)val);
}

/* --- shared memory windows (virtio 1.2 §2.10; FACTS 21: trap and emulate) --- */

int vmmio_set_shm_base(struct vmmio *m, unsigned idx, uint64_t gpa)
{
	if (idx >= m->nshm)
		return -EINVAL;
	if (gpa != VMMIO_SHM_UNPLACED && (gpa % VDEV_SHM_PAGE || gpa + m->dev->shm[idx].size < gpa))
		return -EINVAL;
	m->shm_base[idx] = gpa;
	return 0;
}

int vmmio_shm_lookup(struct vmmio *m, uint64_t gpa, unsigned *ret_idx, uint64_t *ret_off)
{
	unsigned i;

	for (i = 0; i < m->nshm; i++) {
		if (m->shm_base[i] == VMMIO_SHM_UNPLACED || gpa < m->shm_base[i] ||
		    gpa - m->shm_base[i] >= m->dev->shm[i].size)
			continue;
		*ret_idx = i;
		*ret_off = gpa - m->shm_base[i];
		return 0;
	}
	return -ENOENT;
}

int vmmio_shm_read(struct vmmio *m, unsigned idx, uint64_t off, unsigned size, uint64_t *ret_val)
{
	int r = vdev_shm_read(m->dev, idx, off, size, ret_val);

	if (r == -EINVAL)
		log_warn_rl("%s: read of %u bytes at shared memory region %u + 0x%" PRIx64
			    ": bad access",
			    dev_name(m), size, idx, off);
	return r;
}

int vmmio_shm_write(struct vmmio *m, unsigned idx, uint64_t off, unsigned size, uint64_t val)
{
	int r = vdev_shm_write(m->dev, idx, off, size, val);

	if (r == -EINVAL)
		log_warn_rl("%s: write of %u bytes at shared memory region %u + 0x%" PRIx64
			    ": bad access, dropped",
			    dev_name(m), size, idx, off);
	return r;
}
