/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A Linux-like virtio-mmio driver (drivers/virtio/virtio_mmio.c, virtio.c, virtio_ring.c
 * as of Linux 6.1). Trust boundary: every register value and used-ring entry comes from
 * the device model under test and is checked; a bad one is reported, never trusted.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "tests/xensim/vdrv.h"

#define VIRT_MAGIC 0x74726976 /* "virt" */

__attribute__((format(printf, 3, 4))) static int fail(struct vdrv *v, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vdrv %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return err;
}

void vdrv_init(struct vdrv *v, struct xs_dom *d, unsigned vcpu, uint64_t base, unsigned irq)
{
	memset(v, 0, sizeof(*v));
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
		return fail(v, ret, "read 0x%03x/%u: %s", off, size, strerror(-ret));
	return 0;
}

int vdrv_write(struct vdrv *v, uint32_t off, unsigned size, uint64_t val)
{
	int ret = gd_mmio_write(v->d, v->vcpu, v->base + off, size, val);

	if (ret < 0)
		return fail(v, ret, "write 0x%03x/%u = 0x%" PRIx64 ": %s", off, size, val,
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

/* virtio_add_status(): read, or in the bit, write. */
static int add_status(struct vdrv *v, uint32_t bit)
{
	uint32_t st;
	int ret = vdrv_read32(v, VIRTIO_MMIO_STATUS, &st);

	return ret < 0 ? ret : vdrv_write32(v, VIRTIO_MMIO_STATUS, st | bit);
}

int vdrv_reset(struct vdrv *v)
{
	uint32_t st = 0;
	int ret = vdrv_write32(v, VIRTIO_MMIO_STATUS, 0);

	/* Linux waits until the device reads back 0 (virtio 1.2 §4.2.2.1). */
	for (unsigned i = 0; !ret && i < 100; i++) {
		ret = vdrv_read32(v, VIRTIO_MMIO_STATUS, &st);
		if (!ret && !st)
			return 0;
	}
	return ret < 0 ? ret : fail(v, -EPROTO, "Status reads 0x%x after reset", st);
}

static int identify(struct vdrv *v, uint32_t device_id)
{
	uint32_t magic;
	int ret;

	if ((ret = vdrv_read32(v, VIRTIO_MMIO_MAGIC_VALUE, &magic)) < 0)
		return ret;
	if (magic != VIRT_MAGIC)
		return fail(v, -ENODEV, "MagicValue 0x%x", magic);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_VERSION, &v->version)) < 0)
		return ret;
	if (v->version != 2)
		return fail(v, -ENODEV, "Version %u (want 2)", v->version);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_ID, &v->device_id)) < 0)
		return ret;
	if (!v->device_id || v->device_id != device_id)
		return fail(v, -ENODEV, "DeviceID %u (want %u)", v->device_id, device_id);
	return vdrv_read32(v, VIRTIO_MMIO_VENDOR_ID, &v->vendor_id);
}

static int negotiate(struct vdrv *v, uint64_t want)
{
	uint32_t hi, lo, st;
	int ret;

	/* vm_get_features(): high word first. */
	if ((ret = vdrv_write32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_FEATURES, &hi)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_DEVICE_FEATURES, &lo)) < 0)
		return ret;
	v->device_features = (uint64_t)hi << 32 | lo;
	if (!(v->device_features & (1ULL << VIRTIO_F_VERSION_1)))
		return fail(v, -EPROTO,
			    "a version 2 device without VIRTIO_F_VERSION_1 (0x%" PRIx64 ")",
			    v->device_features);
	v->features = v->device_features & (want | 1ULL << VIRTIO_F_VERSION_1);
	/* vm_finalize_features(): high word first. */
	if ((ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(v->features >> 32))) <
		    0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)) < 0 ||
	    (ret = vdrv_write32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)v->features)) < 0)
		return ret;
	/* virtio_features_ok(). */
	if ((ret = add_status(v, VIRTIO_CONFIG_S_FEATURES_OK)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_STATUS, &st)) < 0)
		return ret;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail(v, -ENODEV, "device refused features 0x%" PRIx64 " (status 0x%x)",
			    v->features, st);
	return 0;
}

static void vq_init_ring(struct vdrv_vq *vq)
{
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->free_head = 0;
	vq->num_free = vq->num;
	memset(vq->busy, 0, sizeof(vq->busy));
	for (uint16_t i = 0; i < vq->num; i++)
		vq->desc[i].next = htole16((uint16_t)(i + 1));
}

/* Guest RAM for the three areas, once per queue (reused after a reset). */
static int vq_alloc(struct vdrv *v, struct vdrv_vq *vq, uint16_t num)
{
	size_t dsz = 16u * num, asz = 6 + 2u * num, usz = 6 + 8u * num;

	if (vq->desc && vq->num == num)
		return 0;
	vq->desc_gpa = gd_alloc(v->d, dsz, 4096);
	vq->avail_gpa = gd_alloc(v->d, asz, 64);
	vq->used_gpa = gd_alloc(v->d, usz, 4096);
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa)
		return fail(v, -ENOMEM, "out of guest RAM for a queue of %u", num);
	vq->desc = gd_ram(v->d, vq->desc_gpa, dsz);
	vq->avail = gd_ram(v->d, vq->avail_gpa, asz);
	vq->used = gd_ram(v->d, vq->used_gpa, usz);
	vq->num = num;
	return 0;
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
		return fail(v, -ENOENT, "queue %u: QueueReady reads %u before setup", q, ready);
	if ((ret = vdrv_read32(v, VIRTIO_MMIO_QUEUE_NUM_MAX, &max)) < 0)
		return ret;
	if (!max)
		return fail(v, -ENOENT, "queue %u: QueueNumMax is 0", q);
	if (max > 32768)
		return fail(v, -EPROTO, "queue %u: QueueNumMax %u > 32768", q, max);
	/* vring_create_virtqueue(): the largest power of two <= min(max, wanted). */
	max = max < qsize ? max : qsize;
	while (max & (max - 1))
		max &= max - 1;
	if ((ret = vq_alloc(v, vq, (uint16_t)max)) < 0)
		return ret;
	memset(vq->avail, 0, 6 + 2u * vq->num);
	memset(vq->used, 0, 6 + 8u * vq->num);
	vq_init_ring(vq);
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

int vdrv_probe(struct vdrv *v, uint32_t device_id, uint64_t features, unsigned nvqs, uint16_t qsize)
{
	uint32_t st;
	int ret;

	if (nvqs > VDRV_MAX_VQS || !qsize)
		return fail(v, -EINVAL, "bad probe arguments");
	v->edges = gd_irq_edges(v->d, v->irq);
	/* virtio_mmio_probe(), then register_virtio_device() and virtio_dev_probe(). */
	if ((ret = identify(v, device_id)) < 0 || (ret = vdrv_reset(v)) < 0 ||
	    (ret = add_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE)) < 0 ||
	    (ret = add_status(v, VIRTIO_CONFIG_S_DRIVER)) < 0 || (ret = negotiate(v, features)) < 0)
		return ret;
	for (unsigned q = 0; q < nvqs; q++) {
		if ((ret = setup_vq(v, q, qsize)) < 0)
			return ret;
	}
	v->nvqs = nvqs;
	/* virtio_device_ready(). */
	if ((ret = add_status(v, VIRTIO_CONFIG_S_DRIVER_OK)) < 0 ||
	    (ret = vdrv_read32(v, VIRTIO_MMIO_STATUS, &st)) < 0)
		return ret;
	if ((st & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) ||
	    !(st & VIRTIO_CONFIG_S_DRIVER_OK))
		return fail(v, -EPROTO, "Status 0x%x after DRIVER_OK", st);
	return 0;
}

int vdrv_add(struct vdrv *v, unsigned q, const struct vdrv_sg *sg, unsigned n, uint16_t *ret_head)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint16_t head, i, last = 0;

	if (q >= v->nvqs || !n)
		return fail(v, -EINVAL, "add to queue %u (%u buffers)", q, n);
	if (n > vq->num_free)
		return -ENOSPC;
	head = i = vq->free_head;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *dsc = &vq->desc[i];

		dsc->addr = htole64(sg[k].gpa);
		dsc->len = htole32(sg[k].len);
		dsc->flags = htole16((uint16_t)((sg[k].write ? VRING_DESC_F_WRITE : 0) |
						(k + 1 < n ? VRING_DESC_F_NEXT : 0)));
		last = i;
		i = le16toh(dsc->next);
	}
	vq->free_head = i;
	vq->num_free -= n;
	vq->busy[head / 64] |= 1ULL << (head % 64);
	vq->desc[last].next = htole16(vq->free_head); /* kept for freeing the chain */
	vq->avail->ring[vq->avail_idx % vq->num] = htole16(head);
	/* VIRTIO_RING_F_EVENT_IDX: used_event asks for an interrupt at the next used entry. */
	if (v->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))
		vq->avail->ring[vq->num] = htole16(vq->last_used);
	/* virtio_wmb(): the ring entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx), __ATOMIC_RELAXED);
	*ret_head = head;
	return 0;
}

int vdrv_kick(struct vdrv *v, unsigned q)
{
	uint64_t one = 1;

	/* virtio_mb(): the index is visible before the notification. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (v->direct)
		return write(v->kick_fd[q], &one, sizeof(one)) == sizeof(one)
			       ? 0
			       : fail(v, -errno, "kick %u: %s", q, strerror(errno));
	return vdrv_write32(v, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

int vdrv_setup_direct(struct vdrv *v, struct xs_dom *d, uint64_t features, unsigned nvqs,
		      uint16_t qsize, const int *kick, const int *call)
{
	int ret;

	if (nvqs > VDRV_MAX_VQS || !qsize || (qsize & (qsize - 1)))
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->d = d;
	v->direct = true;
	v->features = features;
	snprintf(v->name, sizeof(v->name), "direct");
	for (unsigned q = 0; q < nvqs; q++) {
		struct vdrv_vq *vq = &v->vq[q];

		if ((ret = vq_alloc(v, vq, qsize)) < 0)
			return ret;
		vq_init_ring(vq);
		v->kick_fd[q] = kick[q];
		v->call_fd[q] = call[q];
	}
	v->nvqs = nvqs;
	return 0;
}

/* Direct mode: wait until call_fd[q] is signalled. */
static int wait_call(struct vdrv *v, unsigned q, int timeout_ms)
{
	struct pollfd p = { v->call_fd[q], POLLIN, 0 };
	uint64_t cnt;
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (!n)
		return -ETIMEDOUT;
	if (read(v->call_fd[q], &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	v->interrupts++;
	return 0;
}

static void free_chain(struct vdrv_vq *vq, uint16_t head)
{
	uint16_t i = head;
	unsigned n = 1;

	while (le16toh(vq->desc[i].flags) & VRING_DESC_F_NEXT) {
		i = le16toh(vq->desc[i].next);
		n++;
	}
	vq->desc[i].next = htole16(vq->free_head);
	vq->free_head = head;
	vq->num_free += n;
	vq->busy[head / 64] &= ~(1ULL << (head % 64));
}

/* vm_interrupt(): read InterruptStatus, acknowledge it. */
static int handle_interrupt(struct vdrv *v, uint32_t *ret_isr)
{
	int ret = vdrv_read32(v, VIRTIO_MMIO_INTERRUPT_STATUS, ret_isr);

	if (ret < 0)
		return ret;
	v->interrupts++;
	if (*ret_isr & VIRTIO_MMIO_INT_CONFIG)
		v->config_irqs++;
	return *ret_isr ? vdrv_write32(v, VIRTIO_MMIO_INTERRUPT_ACK, *ret_isr) : 0;
}

static int take_used(struct vdrv *v, unsigned q, uint16_t used_idx, uint16_t head,
		     uint32_t *ret_len)
{
	struct vdrv_vq *vq = &v->vq[q];
	struct vring_used_elem *e = &vq->used->ring[vq->last_used % vq->num];
	uint32_t id = le32toh(e->id), len = le32toh(e->len);

	if ((uint16_t)(used_idx - vq->last_used) > vq->num - vq->num_free)
		return fail(v, -EPROTO, "queue %u: used idx %u runs ahead of last used %u", q,
			    used_idx, vq->last_used);
	if (id != head)
		return fail(v, -EPROTO, "queue %u: used id %u, expected head %u", q, id, head);
	vq->last_used++;
	free_chain(vq, head);
	*ret_len = len;
	return 0;
}

int vdrv_wait_used(struct vdrv *v, unsigned q, uint16_t head, uint32_t *ret_len, int timeout_ms)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint32_t isr = 0, seen = 0;
	uint16_t used_idx = 0;
	int ret;

	if (q >= v->nvqs)
		return fail(v, -EINVAL, "wait on queue %u", q);
	for (;;) {
		ret = gd_irq_wait(v->d, v->irq, &v->edges, timeout_ms);
		if (ret < 0)
			break;
		if ((ret = handle_interrupt(v, &isr)) < 0)
			return ret;
		seen |= isr;
		/* virtio_rmb() after reading the index (vring_interrupt -> more_used). */
		used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
		if ((seen & VIRTIO_MMIO_INT_VRING) && used_idx != vq->last_used)
			return take_used(v, q, used_idx, head, ret_len);
	}
	used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	return fail(v, ret,
		    "queue %u: no used buffer for head %u: %s (irq %u level %u edges %" PRIu64
		    ", InterruptStatus bits seen 0x%x, used idx %u, last used %u)",
		    q, head, strerror(-ret), v->irq, gd_irq_level(v->d, v->irq), v->edges, seen,
		    used_idx, vq->last_used);
}

/* The next used element, any outstanding head; 0 if taken, 1 if the ring has nothing new. */
static int take_any(struct vdrv *v, unsigned q, uint16_t *ret_head, uint32_t *ret_len)
{
	struct vdrv_vq *vq = &v->vq[q];
	/* virtio_rmb() after reading the index. */
	uint16_t used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	struct vring_used_elem *e = &vq->used->ring[vq->last_used % vq->num];
	uint32_t id, len;

	if (used_idx == vq->last_used)
		return 1;
	if ((uint16_t)(used_idx - vq->last_used) > vq->num - vq->num_free)
		return fail(v, -EPROTO, "queue %u: used idx %u runs ahead of last used %u", q,
			    used_idx, vq->last_used);
	id = le32toh(e->id);
	len = le32toh(e->len);
	if (id >= vq->num || !(vq->busy[id / 64] & (1ULL << (id % 64))))
		return fail(v, -EPROTO, "queue %u: used id %u is not an outstanding head", q, id);
	vq->last_used++;
	free_chain(vq, (uint16_t)id);
	*ret_head = (uint16_t)id;
	*ret_len = len;
	return 0;
}

int vdrv_wait_any(struct vdrv *v, unsigned q, uint16_t *ret_head, uint32_t *ret_len, int timeout_ms)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint32_t isr = 0, st = 0;
	int ret;

	if (q >= v->nvqs)
		return fail(v, -EINVAL, "wait on queue %u", q);
	for (;;) {
		if (v->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))
			vq->avail->ring[vq->num] = htole16(vq->last_used);
		/* virtio_mb(): used_event is visible before we look at the used index again. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		ret = take_any(v, q, ret_head, ret_len);
		if (ret <= 0)
			return ret;
		if (v->direct) {
			if ((ret = wait_call(v, q, timeout_ms)) < 0)
				return fail(v, ret, "queue %u: no call (%u descriptors out): %s", q,
					    vq->num - vq->num_free, strerror(-ret));
			continue;
		}
		ret = gd_irq_wait(v->d, v->irq, &v->edges, timeout_ms);
		if (ret < 0)
			return fail(v, ret, "queue %u: no used buffer (%u outstanding): %s", q,
				    vq->num - vq->num_free, strerror(-ret));
		if ((ret = handle_interrupt(v, &isr)) < 0)
			return ret;
		if (!(isr & VIRTIO_MMIO_INT_CONFIG))
			continue;
		if ((ret = vdrv_read32(v, VIRTIO_MMIO_STATUS, &st)) < 0)
			return ret;
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			return -ESHUTDOWN;
	}
}

int vdrv_xfer(struct vdrv *v, unsigned q, const struct vdrv_sg *sg, unsigned n, uint32_t *ret_len)
{
	uint16_t head;
	int ret = vdrv_add(v, q, sg, n, &head);

	if (ret < 0)
		return ret == -ENOSPC ? fail(v, ret, "queue %u full", q) : ret;
	if ((ret = vdrv_kick(v, q)) < 0)
		return ret;
	return vdrv_wait_used(v, q, head, ret_len, GD_TIMEOUT_MS);
}

int vdrv_remove(struct vdrv *v)
{
	uint32_t ready;
	int ret = vdrv_reset(v);

	/* vm_del_vq(), after the driver's remove() reset the device. */
	for (unsigned q = 0; !ret && q < v->nvqs; q++) {
		if ((ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_SEL, q)) < 0 ||
		    (ret = vdrv_write32(v, VIRTIO_MMIO_QUEUE_READY, 0)) < 0 ||
		    (ret = vdrv_read32(v, VIRTIO_MMIO_QUEUE_READY, &ready)) < 0)
			break;
		if (ready)
			ret = fail(v, -EPROTO, "queue %u: QueueReady reads %u after removal", q,
				   ready);
	}
	v->nvqs = 0;
	return ret;
}

int vdrv_cfg_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val)
{
	uint32_t g0, g1;
	int ret;

	/* virtio_cread(): retry while ConfigGeneration changes under us. */
	for (unsigned i = 0; i < 100; i++) {
		if ((ret = vdrv_read32(v, VIRTIO_MMIO_CONFIG_GENERATION, &g0)) < 0 ||
		    (ret = vdrv_read(v, VIRTIO_MMIO_CONFIG + off, size, val)) < 0 ||
		    (ret = vdrv_read32(v, VIRTIO_MMIO_CONFIG_GENERATION, &g1)) < 0)
			return ret;
		if (g0 == g1)
			return 0;
	}
	return fail(v, -EPROTO, "ConfigGeneration never settles");
}
