/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's virtio-mmio transport (drivers/virtio/virtio_mmio.c as of Linux 6.1): the
 * register accesses of probe, feature negotiation, queue setup, interrupts and removal.
 * Trust boundary: every register value comes from the device model under test and is
 * checked; a bad one is reported, never trusted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_mmio.h>

#include "tests/xensim/vdrv-internal.h"

#define VIRT_MAGIC 0x74726976 /* "virt" */

void vdrv_init(struct vdrv *v, struct xs_dom *d, unsigned vcpu, uint64_t base, unsigned irq)
{
	memset(v, 0, sizeof(*v));
	v->ops = &vdrv_mmio_ops;
	v->d = d;
	v->vcpu = vcpu;
	v->base = base;
	v->irq = irq;
	snprintf(v->name, sizeof(v->name), "dev@0x%" PRIx64 "/vcpu%u", base, vcpu);
}

int vdrv_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val)
{
	int ret = gd_mmio_read(v->d, v->vcpu, v->base + off, size, val);

	if (ret < 0)
		return vdrv_fail(v, ret, "read 0x%03x/%u: %s", off, size, strerror(-ret));
	return 0;
}

int vdrv_write(struct vdrv *v, uint32_t off, unsigned size, uint64_t val)
{
	int ret = gd_mmio_write(v->d, v->vcpu, v->base + off, size, val);

	if (ret < 0)
		return vdrv_fail(v, ret, "write 0x%03x/%u = 0x%" PRIx64 ": %s", off, size, val,
				 strerror(-ret));
	return 0;
}

int vdrv_read32(struct vdrv *v, uint32_t off, uint32_t *val)
{
	uint64_t x;
	int ret = vdrv_read(v, off, 4, &x);

	*val = (uint32_t)x;
	return ret;
}

int vdrv_write32(struct vdrv *v, uint32_t off, uint32_t val)
{
	return vdrv_write(v, off, 4, val);
}

static int get_status(struct vdrv *v, uint32_t *ret)
{
	return vdrv_read32(v, VIRTIO_MMIO_STATUS, ret);
}

static int set_status(struct vdrv *v, uint32_t st)
{
	return vdrv_write32(v, VIRTIO_MMIO_STATUS, st);
}

static int identify(struct vdrv *v, uint32_t device_id)
{
	uint32_t magic;
	int ret;

	if ((ret = vdrv_read32(v, VIRTIO_MMIO_MAGIC_VALUE, &magic)) < 0)
		return ret;
	if (magic != VIRT_MAGIC)
		return vdrv_fail(v, -ENODEV, "MagicValue 0x%x", magic);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_VERSION, &v->version)) < 0)
		return ret;
	if (v->version != 2)
		return vdrv_fail(v, -ENODEV, "Version %u (want 2)", v->version);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_ID, &v->device_id)) < 0)
		return ret;
	if (!v->device_id || v->device_id != device_id)
		return vdrv_fail(v, -ENODEV, "DeviceID %u (want %u)", v->device_id, device_id);
	return vdrv_read32(v, VIRTIO_MMIO_VENDOR_ID, &v->vendor_id);
}

/* vm_get_features(): high word first. */
static int get_features(struct vdrv *v, uint64_t *ret_features)
{
	uint32_t hi, lo;
	int ret;

	if ((ret = vdrv_write32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_FEATURES, &hi)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_FEATURES, &lo)) < 0)
		return ret;
	*ret_features = (uint64_t)hi << 32 | lo;
	return 0;
}

/* vm_finalize_features(): high word first. */
static int set_features(struct vdrv *v, uint64_t f)
{
	int ret;

	if ((ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32))) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)) < 0)
		return ret;
	return vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

static int write64(struct vdrv *v, uint32_t lo_off, uint32_t hi_off, uint64_t val)
{
	int ret = vdrv_write32(v, lo_off, (uint32_t)val);

	return ret < 0 ? ret : vdrv_write32(v, hi_off, (uint32_t)(val >> 32));
}

/* vm_setup_vq(). */
static int setup_vq(struct vdrv *v, unsigned q, uint16_t qsize)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint32_t ready, max;
	int ret;

	if ((ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_SEL, q)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_QUEUE_READY, &ready)) < 0)
		return ret;
	if (ready)
		return vdrv_fail(v, -ENOENT, "queue %u: QueueReady reads %u before setup", q,
				 ready);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_QUEUE_NUM_MAX, &max)) < 0)
		return ret;
	if (!max)
		return vdrv_fail(v, -ENOENT, "queue %u: QueueNumMax is 0", q);
	if (max > 32768)
		return vdrv_fail(v, -EPROTO, "queue %u: QueueNumMax %u > 32768", q, max);
	if ((ret = vdrv_vq_prepare(v, q, vdrv_vq_size(max, qsize))) < 0)
		return ret;
	if ((ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_NUM, vq->num)) < 0 ||
	    (ret = write64(v, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
			   vq->desc_gpa)) < 0 ||
	    (ret = write64(v, VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
			   vq->avail_gpa)) < 0 ||
	    (ret = write64(v, VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
			   vq->used_gpa)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_READY, 1)) < 0)
		return ret;
	return 0;
}

static int find_vqs(struct vdrv *v, unsigned nvqs, uint16_t qsize)
{
	int ret;

	for (unsigned q = 0; q < nvqs; q++) {
		if ((ret = setup_vq(v, q, qsize)) < 0)
			return ret;
	}
	return 0;
}

int vdrv_probe(struct vdrv *v, uint32_t device_id, uint64_t features, unsigned nvqs, uint16_t qsize)
{
	int ret;

	if (nvqs > VDRV_MAX_VQS || !qsize)
		return vdrv_fail(v, -EINVAL, "bad probe arguments");
	v->edges = gd_irq_edges(v->d, v->irq);
	/* virtio_mmio_probe(), then the virtio core. */
	if ((ret = identify(v, device_id)) < 0)
		return ret;
	return vdrv_bringup(v, features, nvqs, qsize);
}

static int notify(struct vdrv *v, unsigned q)
{
	return vdrv_write32(v, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* An edge on the SPI, then vm_interrupt(): read InterruptStatus, acknowledge it. */
static int wait_irq(struct vdrv *v, unsigned q, int timeout_ms, uint32_t *ret_isr)
{
	int ret = gd_irq_wait(v->d, v->irq, &v->edges, timeout_ms);

	if (ret < 0)
		return ret;
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_INTERRUPT_STATUS, ret_isr)) < 0)
		return ret;
	return *ret_isr ? vdrv_write32(v, VIRTIO_MMIO_INTERRUPT_ACK, *ret_isr) : 0;
}

static void irq_state(struct vdrv *v, unsigned q, char *buf, size_t len)
{
	snprintf(buf, len, "irq %u level %u edges %" PRIu64, v->irq, gd_irq_level(v->d, v->irq),
		 v->edges);
}

static int generation(struct vdrv *v, uint32_t *ret)
{
	return vdrv_read32(v, VIRTIO_MMIO_CONFIG_GENERATION, ret);
}

static int cfg_get(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val)
{
	return vdrv_read(v, VIRTIO_MMIO_CONFIG + off, size, val);
}

/* vm_del_vq(), after the driver's remove() reset the device. */
static int del_vqs(struct vdrv *v)
{
	uint32_t ready;
	int ret = 0;

	for (unsigned q = 0; !ret && q < v->nvqs; q++) {
		if ((ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_SEL, q)) < 0 ||
		    (ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_READY, 0)) < 0 ||
		    (ret = vdrv_read32(v, VIRTIO_MMIO_QUEUE_READY, &ready)) < 0)
			break;
		if (ready)
			ret = vdrv_fail(v, -EPROTO, "queue %u: QueueReady reads %u after removal",
					q, ready);
	}
	return ret;
}

const struct vdrv_ops vdrv_mmio_ops = {
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
