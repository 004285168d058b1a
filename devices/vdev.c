/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio device core: status, features, queue configuration, config space.
 *
 * Trust boundary: every value arriving through the vdev_set_* / vdev_cfg_* / vdev_queue_*
 * calls comes from the guest driver (through a transport) and is checked here:
 * status transitions against the table below, acked features against the offer,
 * queue sizes against QueueNumMax, config accesses against cfg_size.
 */
#include <errno.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/vdev.h"

int vdev_init(struct vdev *d, const struct vdev_ops *ops, const char *name, uint32_t device_id,
	      unsigned nqueues, uint16_t queue_max, uint32_t cfg_size, struct gmem *mem)
{
	unsigned i;

	if (nqueues == 0 || nqueues > VDEV_MAX_QUEUES || cfg_size > VDEV_MAX_CFG_SIZE ||
	    !is_pow2(queue_max))
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->name = g_strdup(name);
	d->device_id = device_id;
	d->vendor_id = 0x4d445658; /* "XVDM", little-endian */
	d->cfg_size = cfg_size;
	d->nqueues = nqueues;
	d->mem = mem;
	d->queues = g_new0(struct vdev_queue, nqueues);
	for (i = 0; i < nqueues; i++)
		d->queues[i].num_max = queue_max;
	return 0;
}

void vdev_fini(struct vdev *d)
{
	g_free(d->shm);
	d->shm = NULL;
	d->nshm = 0;
	g_free(d->queues);
	d->queues = NULL;
	g_free(d->name);
	d->name = NULL;
}

void vdev_free(struct vdev *d)
{
	if (!d)
		return;
	if (d->ops->reset)
		d->ops->reset(d);
	vdev_fini(d);
	d->ops->free(d);
}

void vdev_set_notify(struct vdev *d, struct vdev_notify *n)
{
	d->notify = n;
}

void vdev_attach(struct vdev *d, struct vdev_bus *bus)
{
	d->bus = bus;
}

/*
 * Transport feature bits (virtio 1.2 §6) the transports and the virtqueue engine
 * implement. A device (or a back-end behind it) may offer more, e.g. RING_PACKED,
 * NOTIFICATION_DATA or RING_RESET, which need transport support we do not have: those
 * are never offered to the driver.
 */
#define VDEV_DEVICE_BITS 0x00ffffffULL /* bits 0-23: device type specific */
#define VDEV_TRANSPORT_BITS                                                          \
	((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
	 (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM))

static uint64_t host_features(struct vdev *d)
{
	uint64_t f = d->ops->features ? d->ops->features(d) : 0;

	return (f & (VDEV_DEVICE_BITS | VDEV_TRANSPORT_BITS)) | (1ULL << VIRTIO_F_VERSION_1);
}

uint32_t vdev_host_features_word(struct vdev *d, uint32_t sel)
{
	if (sel > 1)
		return 0;
	return (uint32_t)(host_features(d) >> (32 * sel));
}

int vdev_set_driver_features_word(struct vdev *d, uint32_t sel, uint32_t val)
{
	if (d->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		log_warn_rl("%s: driver features written after FEATURES_OK: ignored", d->name);
		return -EINVAL;
	}
	if (sel > 1) {
		if (val)
			log_warn_rl("%s: driver features word %u = 0x%x: no such features", d->name,
				    sel, val);
		return val ? -EINVAL : 0;
	}
	d->driver_features &= ~(0xffffffffULL << (32 * sel));
	d->driver_features |= (uint64_t)val << (32 * sel);
	return 0;
}

/*
 * Legal driver-initiated transitions (virtio 1.2 §3.1.1): the driver sets the bits of the
 * sequence in order, one or several in one write (SeaBIOS writes ACKNOWLEDGE|DRIVER, then
 * adds FEATURES_OK, to a virtio-pci disk it boots from), and may set FAILED at any time.
 * Writing the current value again is accepted (Linux re-writes status with bits OR-ed
 * in). Everything else, in particular clearing a bit without writing 0, is refused.
 */
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK

static const uint8_t status_sequence[] = { 0, S_ACK, S_ACK | S_DRV, S_ACK | S_DRV | S_FOK,
					   S_ACK | S_DRV | S_FOK | S_DOK };

static int sequence_step(uint8_t seq)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_sequence); i++)
		if (status_sequence[i] == seq)
			return (int)i;
	return -1;
}

static bool transition_ok(uint8_t from, uint8_t to)
{
	int step_from =
		sequence_step(from & ~(VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET));
	int step_to = sequence_step(to & ~VIRTIO_CONFIG_S_FAILED);

	if (to & VIRTIO_CONFIG_S_NEEDS_RESET)
		return false; /* only the device sets it */
	if ((from & VIRTIO_CONFIG_S_FAILED) && !(to & VIRTIO_CONFIG_S_FAILED))
		return false;
	return step_from >= 0 && step_to >= step_from;
}

static int features_ok(struct vdev *d)
{
	uint64_t offered = host_features(d);
	uint64_t extra = d->driver_features & ~offered;
	int r;

	if (extra) {
		log_warn("%s: driver acked features 0x%" G_GINT64_MODIFIER
			 "x that were not offered: FEATURES_OK refused",
			 d->name, extra);
		return -EINVAL;
	}
	if (!(d->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
		log_warn("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not "
			 "supported): FEATURES_OK refused",
			 d->name);
		return -EINVAL;
	}
	r = d->ops->set_features ? d->ops->set_features(d, d->driver_features) : 0;
	if (r < 0)
		log_warn("%s: device refused features 0x%" G_GINT64_MODIFIER "x: %s", d->name,
			 d->driver_features, g_strerror(-r));
	return r;
}

static void driver_ok(struct vdev *d)
{
	int r = d->ops->start ? d->ops->start(d) : 0;

	if (r < 0) {
		vdev_set_broken(d, g_strerror(-r));
		return;
	}
	d->started = true;
	log_info("%s: driver ready (features 0x%" G_GINT64_MODIFIER "x)", d->name,
		 d->driver_features);
}

int vdev_set_status(struct vdev *d, uint8_t status)
{
	uint8_t old = d->status;
	uint8_t added;

	if (status == 0) {
		vdev_reset(d);
		return 0;
	}
	if (!transition_ok(old & ~VIRTIO_CONFIG_S_NEEDS_RESET, status)) {
		log_warn_rl("%s: illegal status change 0x%x -> 0x%x: ignored", d->name, old,
			    status);
		return -EINVAL;
	}
	added = status & ~old;
	if ((added & S_FOK) && features_ok(d) < 0) {
		/* the driver reads it back and gives up (§3.1.1 step 6); no DRIVER_OK without it */
		status &= ~(S_FOK | S_DOK);
		added &= ~S_DOK;
	}
	d->status = status | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* A driver that writes DRIVER_OK together with FAILED has given up: start nothing. */
	if ((added & S_DOK) && !d->broken && !(status & VIRTIO_CONFIG_S_FAILED))
		driver_ok(d);
	if (added & VIRTIO_CONFIG_S_FAILED)
		log_info("%s: driver gave up on the device (FAILED)", d->name);
	return 0;
}

uint8_t vdev_get_status(struct vdev *d)
{
	return d->status;
}

void vdev_reset(struct vdev *d)
{
	unsigned i;

	if (d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->started = false;
	d->broken = false;
	d->driver_features = 0;
	for (i = 0; i < d->nqueues; i++) {
		uint16_t max = d->queues[i].num_max;

		memset(&d->queues[i], 0, sizeof(d->queues[i]));
		d->queues[i].num_max = max;
	}
	log_debug("%s: reset", d->name);
}

bool vdev_queue_writable(struct vdev *d)
{
	return (d->status & S_FOK) && !(d->status & S_DOK) && !(d->status & VIRTIO_CONFIG_S_FAILED);
}

struct vdev_queue *vdev_queue(struct vdev *d, unsigned q)
{
	return q < d->nqueues ? &d->queues[q] : NULL;
}

int vdev_queue_set_num(struct vdev *d, unsigned q, uint32_t num)
{
	struct vdev_queue *vq = vdev_queue(d, q);

	if (!vq || num == 0 || num > vq->num_max || !is_pow2(num))
		return -EINVAL;
	vq->num = num;
	return 0;
}

int vdev_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
	if (!range_ok(off, len, d->cfg_size) || !d->ops->cfg_read)
		return -EINVAL;
	return d->ops->cfg_read(d, off, buf, len);
}

int vdev_cfg_write(struct vdev *d, uint32_t off, const void *buf, uint32_t len)
{
	if (!range_ok(off, len, d->cfg_size) || !d->ops->cfg_write)
		return -EINVAL;
	return d->ops->cfg_write(d, off, buf, len);
}

void vdev_kick(struct vdev *d, unsigned q)
{
	if (q >= d->nqueues) {
		log_warn_rl("%s: notify of queue %u: no such queue", d->name, q);
		return;
	}
	if (!d->started || d->broken) {
		log_warn_rl("%s: notify of queue %u while the device is %s: ignored", d->name, q,
			    d->broken ? "broken (DEVICE_NEEDS_RESET)" : "not started");
		return;
	}
	if (d->ops->kick)
		d->ops->kick(d, q);
}

int vdev_set_shm(struct vdev *d, const struct vdev_shm *shm, unsigned n)
{
	bool seen[VDEV_MAX_SHM] = { false };
	unsigned i;

	if (n > VDEV_MAX_SHM)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (seen[shm[i].id] || shm[i].size == 0 || shm[i].size % VDEV_SHM_PAGE)
			return -EINVAL;
		seen[shm[i].id] = true;
	}
	g_free(d->shm);
	d->shm = n ? g_memdup2(shm, n * sizeof(*shm)) : NULL;
	d->nshm = n;
	return 0;
}

int vdev_shm_find(struct vdev *d, uint8_t id)
{
	unsigned i;

	for (i = 0; i < d->nshm; i++)
		if (d->shm[i].id == id)
			return (int)i;
	return -ENOENT;
}

static bool shm_access_ok(struct vdev *d, unsigned idx, uint64_t off, unsigned size)
{
	if (idx >= d->nshm || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	return range_ok(off, size, d->shm[idx].size);
}

int vdev_shm_read(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val)
{
	*val = 0;
	if (!shm_access_ok(d, idx, off, size)) {
		log_debug("%s: shm read of %u bytes at region %u + 0x%" G_GINT64_MODIFIER
			  "x: out of range",
			  d->name, size, idx, off);
		return -EINVAL;
	}
	if (!d->ops->shm_read)
		return 0;
	return d->ops->shm_read(d, idx, off, size, val);
}

int vdev_shm_write(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val)
{
	if (!shm_access_ok(d, idx, off, size)) {
		log_debug("%s: shm write of %u bytes at region %u + 0x%" G_GINT64_MODIFIER
			  "x: out of range",
			  d->name, size, idx, off);
		return -EINVAL;
	}
	if (!d->ops->shm_write)
		return 0;
	return d->ops->shm_write(d, idx, off, size, val);
}

void vdev_notify_used(struct vdev *d, unsigned q)
{
	if (d->bus)
		d->bus->ops->notify_used(d->bus, q);
}

void vdev_config_changed(struct vdev *d)
{
	d->cfg_generation++;
	if (d->bus && (d->status & S_DOK))
		d->bus->ops->notify_config(d->bus);
}

void vdev_set_broken(struct vdev *d, const char *why)
{
	if (d->broken)
		return;
	log_warn("%s: device broken (%s): DEVICE_NEEDS_RESET", d->name, why);
	d->broken = true;
	d->started = false;
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (d->bus && (d->status & S_DRV))
		d->bus->ops->notify_config(d->bus);
}
