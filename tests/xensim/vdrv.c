/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's virtio core (drivers/virtio/virtio.c, virtio_ring.c as of Linux 6.1): status
 * and feature negotiation, split virtqueues, completions, reset and removal, config reads
 * with the generation loop; the transports are vdrv-mmio.c and vdrv-pci.c, and eventfds
 * for vdrv_setup_direct. Trust boundary: every register value and used-ring entry comes
 * from the device model under test and is checked; a bad one is reported, never trusted.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "tests/xensim/vdrv-internal.h"

int vdrv_fail(struct vdrv *v, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vdrv %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return err;
}

int vdrv_add_status(struct vdrv *v, uint32_t bit)
{
	uint32_t st;
	int ret = v->ops->get_status(v, &st);

	return ret < 0 ? ret : v->ops->set_status(v, st | bit);
}

int vdrv_reset(struct vdrv *v)
{
	uint32_t st = 0;
	int ret = v->ops->set_status(v, 0);

	/* Linux waits until the device reads back 0 (virtio 1.2 §2.4, §4.1.4.3.2, §4.2.2.1). */
	for (unsigned i = 0; !ret && i < 100; i++) {
		ret = v->ops->get_status(v, &st);
		if (!ret && !st)
			return 0;
	}
	return ret < 0 ? ret : vdrv_fail(v, -EPROTO, "Status reads 0x%x after reset", st);
}

static int negotiate(struct vdrv *v, uint64_t want)
{
	uint32_t st;
	int ret;

	if ((ret = v->ops->get_features(v, &v->device_features)) < 0)
		return ret;
	if (!(v->device_features & (1ULL << VIRTIO_F_VERSION_1)))
		return vdrv_fail(v, -EPROTO,
				 "a modern device without VIRTIO_F_VERSION_1 (0x%" PRIx64 ")",
				 v->device_features);
	v->features = v->device_features & (want | 1ULL << VIRTIO_F_VERSION_1);
	if ((ret = v->ops->set_features(v, v->features)) < 0)
		return ret;
	/* virtio_features_ok(). */
	if ((ret = vdrv_add_status(v, VIRTIO_CONFIG_S_FEATURES_OK)) < 0 ||
	    (ret = v->ops->get_status(v, &st)) < 0)
		return ret;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return vdrv_fail(v, -ENODEV, "device refused features 0x%" PRIx64 " (status 0x%x)",
				 v->features, st);
	return 0;
}

int vdrv_bringup(struct vdrv *v, uint64_t features, unsigned nvqs, uint16_t qsize)
{
	uint32_t st;
	int ret;

	if (nvqs > VDRV_MAX_VQS || !qsize)
		return vdrv_fail(v, -EINVAL, "bad probe arguments");
	/* register_virtio_device(), then virtio_dev_probe() and the driver's probe(). */
	if ((ret = vdrv_reset(v)) < 0 ||
	    (ret = vdrv_add_status(v, VIRTIO_CONFIG_S_ACKNOWLEDGE)) < 0 ||
	    (ret = vdrv_add_status(v, VIRTIO_CONFIG_S_DRIVER)) < 0 ||
	    (ret = negotiate(v, features)) < 0)
		return ret;
	if ((ret = v->ops->find_vqs(v, nvqs, qsize)) < 0)
		return ret;
	v->nvqs = nvqs;
	/* virtio_device_ready(). */
	if ((ret = vdrv_add_status(v, VIRTIO_CONFIG_S_DRIVER_OK)) < 0 ||
	    (ret = v->ops->get_status(v, &st)) < 0)
		return ret;
	if ((st & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) ||
	    !(st & VIRTIO_CONFIG_S_DRIVER_OK))
		return vdrv_fail(v, -EPROTO, "Status 0x%x after DRIVER_OK", st);
	return 0;
}

/* --- split virtqueues --- */

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
		return vdrv_fail(v, -ENOMEM, "out of guest RAM for a queue of %u", num);
	vq->desc = gd_ram(v->d, vq->desc_gpa, dsz);
	vq->avail = gd_ram(v->d, vq->avail_gpa, asz);
	vq->used = gd_ram(v->d, vq->used_gpa, usz);
	vq->num = num;
	return 0;
}

uint16_t vdrv_vq_size(uint32_t max, uint16_t wanted)
{
	max = max < wanted ? max : wanted;
	while (max & (max - 1))
		max &= max - 1;
	return (uint16_t)max;
}

int vdrv_vq_prepare(struct vdrv *v, unsigned q, uint16_t num)
{
	struct vdrv_vq *vq = &v->vq[q];
	int ret = vq_alloc(v, vq, num);

	if (ret < 0)
		return ret;
	memset(vq->avail, 0, 6 + 2u * vq->num);
	memset(vq->used, 0, 6 + 8u * vq->num);
	vq_init_ring(vq);
	return 0;
}

int vdrv_add(struct vdrv *v, unsigned q, const struct vdrv_sg *sg, unsigned n, uint16_t *ret_head)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint16_t head, i, last = 0;

	if (q >= v->nvqs || !n)
		return vdrv_fail(v, -EINVAL, "add to queue %u (%u buffers)", q, n);
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
			       : vdrv_fail(v, -errno, "kick %u: %s", q, strerror(errno));
	return v->ops->notify(v, q);
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

static int take_used(struct vdrv *v, unsigned q, uint16_t used_idx, uint16_t head,
		     uint32_t *ret_len)
{
	struct vdrv_vq *vq = &v->vq[q];
	struct vring_used_elem *e = &vq->used->ring[vq->last_used % vq->num];
	uint32_t id = le32toh(e->id), len = le32toh(e->len);

	if ((uint16_t)(used_idx - vq->last_used) > vq->num - vq->num_free)
		return vdrv_fail(v, -EPROTO, "queue %u: used idx %u runs ahead of last used %u", q,
				 used_idx, vq->last_used);
	if (id != head)
		return vdrv_fail(v, -EPROTO, "queue %u: used id %u, expected head %u", q, id, head);
	vq->last_used++;
	free_chain(vq, head);
	*ret_len = len;
	return 0;
}

/* Count what an interrupt signalled. */
static void account(struct vdrv *v, uint32_t isr)
{
	v->interrupts++;
	if (isr & VDRV_ISR_CONFIG)
		v->config_irqs++;
}

int vdrv_wait_used(struct vdrv *v, unsigned q, uint16_t head, uint32_t *ret_len, int timeout_ms)
{
	struct vdrv_vq *vq = &v->vq[q];
	uint32_t isr = 0, seen = 0;
	uint16_t used_idx = 0;
	char state[160];
	int ret;

	if (q >= v->nvqs)
		return vdrv_fail(v, -EINVAL, "wait on queue %u", q);
	for (;;) {
		ret = v->ops->wait_irq(v, q, timeout_ms, &isr);
		if (ret < 0)
			break;
		account(v, isr);
		seen |= isr;
		/* virtio_rmb() after reading the index (vring_interrupt -> more_used). */
		used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
		if ((seen & VDRV_ISR_QUEUE) && used_idx != vq->last_used)
			return take_used(v, q, used_idx, head, ret_len);
	}
	used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	v->ops->irq_state(v, q, state, sizeof(state));
	return vdrv_fail(v, ret,
			 "queue %u: no used buffer for head %u: %s (%s, interrupt bits seen 0x%x, "
			 "used idx %u, last used %u)",
			 q, head, strerror(-ret), state, seen, used_idx, vq->last_used);
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
		return vdrv_fail(v, -EPROTO, "queue %u: used idx %u runs ahead of last used %u", q,
				 used_idx, vq->last_used);
	id = le32toh(e->id);
	len = le32toh(e->len);
	if (id >= vq->num || !(vq->busy[id / 64] & (1ULL << (id % 64))))
		return vdrv_fail(v, -EPROTO, "queue %u: used id %u is not an outstanding head", q,
				 id);
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
	char state[160];
	int ret;

	if (q >= v->nvqs)
		return vdrv_fail(v, -EINVAL, "wait on queue %u", q);
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
				return vdrv_fail(v, ret,
						 "queue %u: no call (%u descriptors out): %s", q,
						 vq->num - vq->num_free, strerror(-ret));
			continue;
		}
		ret = v->ops->wait_irq(v, q, timeout_ms, &isr);
		if (ret < 0) {
			v->ops->irq_state(v, q, state, sizeof(state));
			return vdrv_fail(v, ret,
					 "queue %u: no used buffer (%u outstanding): %s (%s)", q,
					 vq->num - vq->num_free, strerror(-ret), state);
		}
		account(v, isr);
		if (!(isr & VDRV_ISR_CONFIG))
			continue;
		if ((ret = v->ops->get_status(v, &st)) < 0)
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
		return ret == -ENOSPC ? vdrv_fail(v, ret, "queue %u full", q) : ret;
	if ((ret = vdrv_kick(v, q)) < 0)
		return ret;
	return vdrv_wait_used(v, q, head, ret_len, GD_TIMEOUT_MS);
}

int vdrv_remove(struct vdrv *v)
{
	int ret = vdrv_reset(v);

	if (!ret)
		ret = v->ops->del_vqs(v);
	v->nvqs = 0;
	return ret;
}

int vdrv_cfg_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val)
{
	uint32_t g0, g1;
	int ret;

	/* virtio_cread(): retry while the generation changes under us. */
	for (unsigned i = 0; i < 100; i++) {
		if ((ret = v->ops->generation(v, &g0)) < 0 ||
		    (ret = v->ops->cfg_get(v, off, size, val)) < 0 ||
		    (ret = v->ops->generation(v, &g1)) < 0)
			return ret;
		if (g0 == g1)
			return 0;
	}
	return vdrv_fail(v, -EPROTO, "the config generation never settles");
}
