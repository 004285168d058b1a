/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handing rings to a vhost-user back-end and relaying notifications, in both memory
 * modes (DESIGN.md §3):
 *  - xen-mmap: the back-end maps guest RAM itself (F_XEN_MMAP, FACTS 9-14) and walks the
 *    guest's own rings; we relay QueueNotify to the kick eventfd and the call eventfd
 *    to a used-buffer notification.
 *  - shadow: the back-end maps an svq_area (a memfd of ours) and walks shadow rings in
 *    it; devices/svq.c copies requests between the guest's rings and the shadow ones.
 *
 * Order on start (what every known back-end accepts; FACTS 33, 34, QEMU's order):
 * SET_FEATURES, [GET/SET_INFLIGHT_FD], SET_MEM_TABLE, then per ready queue
 * SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL, then
 * SET_VRING_ENABLE for each (with bit 30: DPDK needs it, rust-vmm only takes it once
 * bit 30 is acked), then SET_STATUS where negotiated.
 *
 * Trust boundary: the back-end writes the call eventfds and, in shadow mode, the shadow
 * used rings, which svq_complete() checks. A call is not always a completion (FACTS 33):
 * spurious calls cost one notification (xen-mmap) or nothing (shadow). The guest's rings
 * are read here only for the used index on resume (one bounded gmem read).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "common/gmem.h"
#include "common/log.h"
#include "devices/svq.h"
#include "devices/vhu-dev.h"
#include "devices/virtqueue.h"

#define RING_BITS ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))
#define BIT30	  (1ULL << VHU_F_PROTOCOL_FEATURES)

uint64_t vhu_backend_features(struct vhu_dev *v)
{
	uint64_t be = v->conn.features;
	uint64_t f = v->vdev.driver_features & be; /* local bits (net MAC) stay with us */

	if (v->mode == VHU_MEM_SHADOW) {
		/* The shadow rings are ours: direct descriptors, EVENT_IDX when it can. */
		f &= ~(RING_BITS | (1ULL << VIRTIO_F_ACCESS_PLATFORM));
		f |= be & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	}
	f |= be & ((1ULL << VIRTIO_F_VERSION_1) | BIT30);
	return f;
}

static int eventfd_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is full, the peer has plenty to read already */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_rl("eventfd write: %s", g_strerror(errno));
}

/*
 * One read takes the whole counter and resets it (an eventfd without EFD_SEMAPHORE, as
 * ours are): a second read could only fail with EAGAIN, a wasted syscall per call.
 */
static void eventfd_drain(int fd)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
}

/* --- notifications --- */

static void forward(struct vhu_queue *q);

static gboolean more_cb(gpointer data)
{
	struct vhu_queue *q = data; /* GLib's callback shape; the source dies before q */

	vhu_unwatch(&q->more_src);
	forward(q);
	return G_SOURCE_REMOVE;
}

/* Shadow: move the guest's requests to the back-end. */
static void forward(struct vhu_queue *q)
{
	struct vhu_dev *v = q->v;
	bool kick = false, notify = false;
	int r;

	if (!q->svq || !v->conn.up || v->vdev.broken)
		return; /* while the back-end is away, requests wait in the guest ring */
	r = svq_forward(q->svq, &kick, &notify);
	if (kick)
		eventfd_signal(q->kick_fd);
	if (notify)
		vdev_notify_used(&v->vdev, q->index);
	if (r == -EAGAIN && !q->more_src)
		q->more_src = vhu_watch(v, g_idle_source_new(), more_cb, q);
	else if (r < 0 && r != -EAGAIN)
		vdev_set_broken(&v->vdev, "shadow queue: guest ring or shadow ring broken");
}

void vhu_rings_kick(struct vhu_dev *v, unsigned qi)
{
	struct vhu_queue *q = &v->q[qi];

	if (!q->set_up) {
		if (v->resume) /* every ring is kicked when it is handed over (vhu_rings_start) */
			log_debug("%s: notify of queue %u while the back-end is away: held",
				  v->vdev.name, qi);
		else
			log_warn_rl("%s: notify of queue %u, which the driver did not enable",
				    v->vdev.name, qi);
		return;
	}
	if (v->mode == VHU_MEM_SHADOW)
		forward(q);
	else
		eventfd_signal(q->kick_fd); /* kept by a reconnecting back-end: never lost */
}

void vhu_rings_called(struct vhu_dev *v, unsigned qi)
{
	struct vhu_queue *q;
	bool notify = false;
	int r;

	if (qi >= v->vdev.nqueues || !v->q[qi].set_up) {
		log_warn_rl("%s: back-end signalled queue %u, which is not running", v->vdev.name,
			    qi);
		return;
	}
	q = &v->q[qi];
	if (v->mode != VHU_MEM_SHADOW) {
		vdev_notify_used(&v->vdev, qi);
		return;
	}
	r = svq_complete(q->svq, &notify);
	if (notify)
		vdev_notify_used(&v->vdev, qi);
	if (r < 0) {
		vdev_set_broken(&v->vdev, "back-end broke the shadow ring");
		return;
	}
	if (r > 0)
		forward(q); /* room was freed */
}

static gboolean call_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct vhu_queue *q = data;

	eventfd_drain(fd); /* coalesce: one notification for however many calls */
	vhu_rings_called(q->v, q->index);
	return G_SOURCE_CONTINUE;
}

/* --- memory tables --- */

/*
 * Grant mappings: the guest's rings and buffers hold (grant_ref << 12 | offset) with
 * bit 63 set (Linux drivers/xen/grant-dma-ops.c, XEN_GRANT_DMA_ADDR_OFF). rust-vmm's
 * vm-memory (src/mmap/xen.rs, MmapXenGrant) maps ((addr & ~bit 63) >> 12) as the grant
 * reference of the region's domid, on demand with NO_ADVANCE_MAP: one region over the
 * whole grant-reference space (2^32 refs of 4 KiB) translates every such address.
 */
#define GRANT_ADDR_OFF	 (1ULL << 63)
#define GRANT_SPACE_SIZE (1ULL << 44)

static int mem_banks(struct vhu_dev *v, struct gmem_region *banks)
{
	if (v->o.xen_flags & GMEM_XEN_GRANT) {
		banks[0] = (struct gmem_region){ .gpa = GRANT_ADDR_OFF, .size = GRANT_SPACE_SIZE };
		return 1;
	}
	return gmem_regions(v->vdev.mem, banks, VHU_MAX_REGIONS);
}

static int mem_table_xen(struct vhu_dev *v)
{
	struct gmem_region banks[VHU_MAX_REGIONS];
	struct vhu_mem_region_xen r[VHU_MAX_REGIONS];
	int fds[VHU_MAX_REGIONS];
	int n, i, got = 0, err;

	n = mem_banks(v, banks);
	if (n <= 0)
		return n < 0 ? n : -ENOMEM;
	for (i = 0; i < n; i++) {
		struct gmem_share sh;

		err = gmem_share(v->vdev.mem, (unsigned)i, v->o.xen_flags, &sh);
		if (err < 0)
			goto out;
		fds[got++] = sh.fd;
		/* FACTS 11, 12: mmap_offset 0, userspace_addr = guest-physical */
		r[i] = (struct vhu_mem_region_xen){ .guest_phys_addr = banks[i].gpa,
						    .memory_size = banks[i].size,
						    .userspace_addr = banks[i].gpa,
						    .mmap_offset = 0,
						    .xen_mmap_flags = sh.xen_flags,
						    .domid = sh.domid };
	}
	err = vhu_set_mem_table(&v->conn, r, fds, (unsigned)n);
out:
	for (i = 0; i < got; i++)
		close(fds[i]); /* FACTS 11: the back-end has its own copies now */
	if (err < 0)
		log_warn("%s: F_XEN_MMAP memory table: %s", v->vdev.name, g_strerror(-err));
	return err;
}

static size_t ring_bounce(struct vhu_dev *v)
{
	return v->o.shadow_mem;
}

static int area_setup(struct vhu_dev *v)
{
	size_t need = 0;
	unsigned i;
	int r;

	if (v->area)
		return 0;
	for (i = 0; i < v->vdev.nqueues; i++) {
		struct vdev_queue *dq = &v->vdev.queues[i];

		if (dq->ready)
			need += svq_area_need(dq->num, ring_bounce(v));
	}
	if (need == 0)
		return 0;
	need += v->area_extra;
	r = svq_area_new(need, v->vdev.name, &v->area);
	if (r < 0)
		log_warn("%s: shadow memory of %zu bytes: %s", v->vdev.name, need, g_strerror(-r));
	return r;
}

static int mem_table_shadow(struct vhu_dev *v)
{
	struct vhu_mem_region_xen r = { 0 };
	int fd;

	if (!v->area)
		return 0; /* no ready queue: nothing to map */
	r.guest_phys_addr = SVQ_AREA_GPA;
	r.memory_size = svq_area_size(v->area);
	r.userspace_addr = (uint64_t)(uintptr_t)svq_area_va(v->area);
	fd = svq_area_fd(v->area);
	return vhu_set_mem_table(&v->conn, &r, &fd, 1);
}

/* --- rings --- */

/*
 * The kernel path (vdev.h, struct vdev_notify): only in xen-mmap mode, where the back-end
 * walks the guest's own rings; shadow mode needs every kick and call itself. Kept across
 * reconnects with the eventfds; a session that falls back to shadow mode takes it back.
 */
static int notify_attach(struct vhu_dev *v, struct vhu_queue *q)
{
	struct vdev_notify *n = v->vdev.notify;
	unsigned took = 0;
	int r;

	if (!n || q->kernel || v->mode == VHU_MEM_SHADOW)
		return 0;
	r = n->ops->attach(n, q->index, q->kick_fd, q->call_fd, &took);
	if (r < 0)
		return r;
	q->kernel = took;
	if (took & VDEV_NOTIFY_CALL)
		vhu_unwatch(&q->call_src); /* the kernel reads call_fd now */
	return 0;
}

static void notify_detach(struct vhu_dev *v, struct vhu_queue *q)
{
	struct vdev_notify *n = v->vdev.notify;

	if (!q->kernel)
		return;
	if (n)
		n->ops->detach(n, q->index, q->kick_fd, q->call_fd);
	if ((q->kernel & VDEV_NOTIFY_CALL) && !q->call_src && q->call_fd >= 0)
		q->call_src = vhu_watch(v, g_unix_fd_source_new(q->call_fd, G_IO_IN),
					(GSourceFunc)(void (*)(void))call_cb, q);
	q->kernel = 0;
}

/* Local state of a queue for its first start: eventfds, and in shadow mode its rings. */
static int queue_local_setup(struct vhu_dev *v, struct vhu_queue *q)
{
	struct vdev_queue *dq = &v->vdev.queues[q->index];
	g_autofree char *name = g_strdup_printf("%s:q%u", v->vdev.name, q->index);
	int r;

	if (q->kick_fd >= 0)
		return 0;
	q->kick_fd = eventfd_new();
	q->call_fd = eventfd_new();
	if (q->kick_fd < 0 || q->call_fd < 0)
		return -EMFILE;
	q->call_src = vhu_watch(v, g_unix_fd_source_new(q->call_fd, G_IO_IN),
				(GSourceFunc)(void (*)(void))call_cb, q);
	if (v->mode != VHU_MEM_SHADOW)
		return 0;
	r = vq_new(v->vdev.mem, dq, v->vdev.driver_features, name, &q->vq);
	if (r < 0)
		return r;
	r = svq_new(v->area, q->vq, dq->num, ring_bounce(v), name, &q->svq);
	if (r == 0 && v->type->shadow_filter)
		svq_set_filter(q->svq, v->type->shadow_filter(v, q->index));
	return r;
}

/* The index the back-end starts from, and the ring addresses it gets. */
static int queue_base(struct vhu_dev *v, struct vhu_queue *q, struct vhu_vring_addr *a,
		      uint32_t *ret_base)
{
	struct vdev_queue *dq = &v->vdev.queues[q->index];
	struct svq_ring_addrs ra;
	uint16_t used_idx;
	int r;

	*a = (struct vhu_vring_addr){ .index = q->index };
	*ret_base = 0;
	if (v->mode == VHU_MEM_SHADOW) {
		if (v->resume) {
			r = svq_restart(q->svq); /* in-flight requests re-posted from index 0 */
			if (r < 0)
				return r;
			q->rekick = r > 0;
		}
		svq_set_event_idx(q->svq,
				  vhu_backend_features(v) & (1ULL << VIRTIO_RING_F_EVENT_IDX));
		svq_ring_addrs(q->svq, &ra);
		a->desc = ra.desc;
		a->avail = ra.avail;
		a->used = ra.used;
		return 0;
	}
	/* xen-mmap: guest-physical ring addresses (FACTS 12) */
	a->desc = dq->desc;
	a->avail = dq->avail;
	a->used = dq->used;
	if (!v->resume)
		return 0;
	/*
	 * Resume from what the guest was told is done: the used index. Requests after it
	 * are handed out again (the back-end's inflight region, where negotiated, tells it
	 * which ones it already completed; without it a request in flight at the crash may
	 * run twice, as with QEMU).
	 */
	r = gmem_read(v->vdev.mem, dq->used + 2, &used_idx, sizeof(used_idx));
	if (r < 0)
		return r;
	*ret_base = GUINT16_FROM_LE(used_idx);
	return 0;
}

static int queue_start(struct vhu_dev *v, struct vhu_queue *q)
{
	struct vdev_queue *dq = &v->vdev.queues[q->index];
	struct vhu_vring_addr a;
	uint32_t base;
	int r;

	r = queue_local_setup(v, q);
	if (r == 0 && v->mode == VHU_MEM_SHADOW)
		notify_detach(v, q);
	else if (r == 0)
		r = notify_attach(v, q);
	if (r < 0)
		return r;
	r = queue_base(v, q, &a, &base);
	if (r < 0)
		return r;
	r = vhu_set_vring(&v->conn, VHU_SET_VRING_NUM, q->index, dq->num);
	if (r == 0)
		r = vhu_set_vring(&v->conn, VHU_SET_VRING_BASE, q->index, base);
	if (r == 0)
		r = vhu_set_vring_addr(&v->conn, &a); /* before KICK (FACTS 34) */
	if (r == 0)
		r = vhu_set_vring_fd(&v->conn, VHU_SET_VRING_KICK, q->index, q->kick_fd);
	if (r == 0)
		r = vhu_set_vring_fd(&v->conn, VHU_SET_VRING_CALL, q->index, q->call_fd);
	if (r == 0)
		q->set_up = true;
	return r;
}

static int inflight_setup(struct vhu_dev *v)
{
	int r;

	if (v->mode == VHU_MEM_SHADOW || !(v->conn.proto & VHU_PF(INFLIGHT_SHMFD)))
		return 0;
	if (v->inflight_fd < 0) {
		r = vhu_get_inflight_fd(&v->conn, (uint16_t)v->vdev.nqueues,
					v->vdev.queues[0].num_max, &v->inflight, &v->inflight_fd);
		if (r < 0)
			return r;
	}
	/* Same fd after a reconnect: the new back-end finds what the old one had in flight. */
	return vhu_set_inflight_fd(&v->conn, &v->inflight, v->inflight_fd);
}

static int rings_enable(struct vhu_dev *v)
{
	unsigned i;
	int r;

	if (!(v->conn.features & BIT30))
		return 0; /* without bit 30 rings start enabled */
	for (i = 0; i < v->vdev.nqueues; i++) {
		if (!v->q[i].set_up)
			continue;
		r = vhu_set_vring(&v->conn, VHU_SET_VRING_ENABLE, i, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int vhu_rings_start(struct vhu_dev *v)
{
	unsigned i;
	int r;

	if (!v->conn.up)
		return -ENOTCONN;
	r = vhu_set_features(&v->conn, vhu_backend_features(v));
	if (r == 0)
		r = inflight_setup(v);
	if (r == 0 && v->mode == VHU_MEM_SHADOW)
		r = area_setup(v);
	if (r == 0)
		r = v->mode == VHU_MEM_SHADOW ? mem_table_shadow(v) : mem_table_xen(v);
	for (i = 0; r == 0 && i < v->vdev.nqueues; i++) {
		v->q[i].set_up = false;
		if (v->vdev.queues[i].ready)
			r = queue_start(v, &v->q[i]);
		else
			log_info("%s: queue %u left unused by the driver: not set up", v->vdev.name,
				 i);
	}
	if (r == 0)
		r = rings_enable(v);
	if (r == 0 && (v->conn.proto & VHU_PF(STATUS)))
		r = vhu_send_u64(&v->conn, VHU_SET_STATUS,
				 v->vdev.status | VIRTIO_CONFIG_S_DRIVER_OK);
	if (r < 0) {
		log_warn("%s: handing the rings to the back-end failed: %s", v->vdev.name,
			 g_strerror(-r));
		return r;
	}
	v->running = true;
	/* Anything the guest queued meanwhile, or a resumed ring's backlog: go. */
	for (i = 0; i < v->vdev.nqueues; i++) {
		if (!v->q[i].set_up)
			continue;
		if (v->q[i].rekick)
			eventfd_signal(v->q[i].kick_fd);
		v->q[i].rekick = false;
		if (v->resume || v->mode == VHU_MEM_SHADOW)
			vhu_rings_kick(v, i);
	}
	v->resume = false;
	return 0;
}

static void queue_drop(struct vhu_queue *q)
{
	notify_detach(q->v, q); /* before the eventfds close */
	vhu_unwatch(&q->call_src);
	vhu_unwatch(&q->more_src);
	svq_free(q->svq);
	q->svq = NULL;
	vq_free(q->vq);
	q->vq = NULL;
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	q->kick_fd = q->call_fd = -1;
	q->set_up = false;
}

void vhu_rings_stop(struct vhu_dev *v)
{
	unsigned i;

	for (i = 0; i < v->vdev.nqueues && v->conn.up; i++) {
		uint32_t base;

		if (v->q[i].set_up && vhu_get_vring_base(&v->conn, i, &base) == 0)
			log_debug("%s: queue %u stopped at %u", v->vdev.name, i, base);
	}
	if (v->running && v->conn.up && (v->conn.proto & VHU_PF(RESET_DEVICE)))
		vhu_send_none(&v->conn, VHU_RESET_DEVICE);
	if (v->running && v->conn.up && (v->conn.proto & VHU_PF(STATUS)))
		vhu_send_u64(&v->conn, VHU_SET_STATUS, 0);
	for (i = 0; i < v->vdev.nqueues; i++)
		queue_drop(&v->q[i]);
	if (v->type->rings_stopped)
		v->type->rings_stopped(v);
	svq_area_free(v->area);
	v->area = NULL;
	if (v->inflight_fd >= 0)
		close(v->inflight_fd);
	v->inflight_fd = -1;
	v->running = false;
	v->resume = false;
}
