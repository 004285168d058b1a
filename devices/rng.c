/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built-in virtio entropy device (virtio 1.2 §5.4): one queue, "requestq", whose
 * buffers the device fills with bytes from getrandom(). No feature bits of its own,
 * no configuration space.
 *
 * Trust boundary: the request queue is guest memory walked by devices/virtqueue.c,
 * which bounds every chain; here the guest controls only how many bytes it asks for
 * and how often. Both are capped: RNG_REQ_MAX bytes per request (the device may fill
 * less than the buffer, §5.4.6.2), and RNG_RUN_CHAINS requests / RNG_RUN_BYTES bytes
 * per run. When a run ends with requests left, the rest is served from an idle source
 * on the thread-default main context, so a guest that refills the ring as fast as we
 * drain it shares the thread with everything else instead of keeping it.
 */
#include <errno.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/catalogue-internal.h"
#include "devices/vdev.h"
#include "devices/virtqueue.h"

#define RNG_REQ_MAX    (64 * 1024)   /* bytes given to one request */
#define RNG_RUN_CHAINS 256	     /* requests served per run */
#define RNG_RUN_BYTES  (1024 * 1024) /* bytes served per run (checked between requests) */

struct rng {
	struct vdev vdev;
	struct vq *vq; /* requestq; NULL until DRIVER_OK, or if the driver left it unused */
	struct vq_elem elem;
	GSource *more; /* pending continuation of a run cut short by its budget */
};

/*
 * One bounce buffer for every rng device: a request is filled and copied to the guest
 * in one call (rng_fill), and devices run on the main loop's thread only, so nothing
 * else can use it meanwhile. A zeroed 64 KiB in each device cost 64 KiB of RSS per
 * device (8 devices: +450 KiB) before the guest asked for a byte; in .bss it is
 * resident only once used (bench-relay's footprint).
 */
static uint8_t rng_buf[RNG_REQ_MAX];

static struct rng *to_rng(struct vdev *d)
{
	return container_of(d, struct rng, vdev);
}

static uint64_t rng_features(struct vdev *d)
{
	/* Nothing device-specific (§5.4.3); the ring features our engine handles. */
	return (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
}

/* Up to len random bytes into buf, without blocking: the count, or -errno. */
static ssize_t random_bytes(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, GRND_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Fill the writable part of the popped request; the number of bytes written. */
static uint32_t rng_fill(struct rng *s)
{
	struct vq_elem *e = &s->elem;
	size_t want = e->wr_len < RNG_REQ_MAX ? (size_t)e->wr_len : RNG_REQ_MAX;
	ssize_t n;

	if (want == 0) {
		/* §5.4.6.1: the driver must not do this; the request just gets nothing. */
		log_warn_rl("%s: request %u has no device-writable buffer", s->vdev.name, e->head);
		return 0;
	}
	n = random_bytes(rng_buf, want);
	if (n <= 0) {
		log_warn_rl("%s: getrandom: %s", s->vdev.name, n ? g_strerror((int)-n) : "no data");
		return 0;
	}
	n = vq_elem_to_guest(s->vq, e, 0, rng_buf, (size_t)n);
	if (n < 0) {
		log_warn_rl("%s: request %u: buffer is not guest RAM", s->vdev.name, e->head);
		return 0;
	}
	return (uint32_t)n;
}

static void rng_run(struct rng *s);

static gboolean rng_more(gpointer data)
{
	struct rng *s = data; /* GLib's callback shape; the source dies before s (reset) */

	g_source_unref(s->more);
	s->more = NULL;
	if (s->vdev.started && !s->vdev.broken && s->vq)
		rng_run(s);
	return G_SOURCE_REMOVE;
}

static void rng_defer(struct rng *s)
{
	if (s->more)
		return;
	s->more = g_idle_source_new();
	/* Default priority: take turns with ioreqs rather than wait until they stop. */
	g_source_set_priority(s->more, G_PRIORITY_DEFAULT);
	g_source_set_callback(s->more, rng_more, s, NULL);
	g_source_attach(s->more, g_main_context_get_thread_default());
}

static void rng_cancel_more(struct rng *s)
{
	if (!s->more)
		return;
	g_source_destroy(s->more);
	g_source_unref(s->more);
	s->more = NULL;
}

/* Serve requests until the ring is empty or the run's budget is spent. */
static void rng_run(struct rng *s)
{
	unsigned chains = 0;
	size_t bytes = 0;
	bool more = false;
	int r;

	for (;;) {
		uint32_t len;

		if (chains == RNG_RUN_CHAINS || bytes >= RNG_RUN_BYTES) {
			more = true;
			break;
		}
		r = vq_pop(s->vq, &s->elem);
		if (r == -EAGAIN)
			more = true;
		if (r <= 0)
			break;
		len = rng_fill(s);
		r = vq_push(s->vq, &s->elem, len);
		if (r < 0)
			break;
		chains++;
		bytes += len;
	}
	if (vq_should_notify(s->vq))
		vdev_notify_used(&s->vdev, 0);
	if (more) {
		log_debug("%s: %u requests, %zu bytes in this run; the rest later", s->vdev.name,
			  chains, bytes);
		rng_defer(s);
	} else if (vq_is_broken(s->vq)) {
		vdev_set_broken(&s->vdev, "requestq is broken");
	}
}

static void rng_kick(struct vdev *d, unsigned q)
{
	struct rng *s = to_rng(d);

	if (!s->vq) {
		log_warn_rl("%s: notify of requestq, which the driver did not enable", d->name);
		return;
	}
	rng_run(s);
}

static int rng_start(struct vdev *d)
{
	struct rng *s = to_rng(d);
	struct vdev_queue *q = vdev_queue(d, 0);
	char *name;
	int r;

	if (!q->ready) {
		log_info("%s: driver ready without enabling requestq", d->name);
		return 0;
	}
	name = g_strdup_printf("%s:requestq", d->name);
	r = vq_new(d->mem, q, d->driver_features, name, &s->vq);
	g_free(name);
	if (r < 0)
		log_warn("%s: requestq: bad ring layout (size %u, desc 0x%" G_GINT64_MODIFIER
			 "x, avail 0x%" G_GINT64_MODIFIER "x, used 0x%" G_GINT64_MODIFIER "x)",
			 d->name, q->num, q->desc, q->avail, q->used);
	return r;
}

static void rng_reset(struct vdev *d)
{
	struct rng *s = to_rng(d);

	rng_cancel_more(s);
	vq_free(s->vq);
	s->vq = NULL;
}

static void rng_free(struct vdev *d)
{
	struct rng *s = to_rng(d);

	rng_cancel_more(s);
	vq_free(s->vq);
	vq_elem_fini(&s->elem);
	g_free(s);
}

static const struct vdev_ops rng_ops = {
	.type = "rng",
	.features = rng_features,
	.start = rng_start,
	.kick = rng_kick,
	.reset = rng_reset,
	.free = rng_free,
};

static int rng_create(const struct vdev_type *t, const struct vdev_params *p, struct vdev **ret,
		      GError **error)
{
	struct rng *s = g_new0(struct rng, 1);
	int r;

	r = vdev_init(&s->vdev, &rng_ops, p->name ? p->name : t->name, VIRTIO_ID_RNG, 1,
		      p->queue_size, 0, p->mem);
	if (r < 0) {
		g_set_error(error, VDEV_ERROR, -r, "%s: cannot create the rng device: %s",
			    p->name ? p->name : t->name, g_strerror(-r));
		g_free(s);
		return r;
	}
	vq_elem_init(&s->elem);
	*ret = &s->vdev;
	return 0;
}

static const char *const rng_option_keys[] = { NULL };

const struct vdev_type vdev_type_rng = {
	.name = "rng",
	.summary = "virtio entropy device, fed from the host's getrandom()",
	.device_id = VIRTIO_ID_RNG,
	.option_keys = rng_option_keys,
	.create = rng_create,
};
