/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device: a struct vdev whose queues an external back-end serves.
 * This file owns the connection's life and the vdev_ops; vhu-rings.c the rings,
 * vhu-types.c the device types.
 *
 * Life of a connection. Client mode (default): connect to socket=PATH; server mode
 * (server=on): listen on PATH and accept one back-end. At creation we wait a bounded
 * time (VHU_CREATE_WAIT_MS) for the back-end; if it is there we negotiate at once and
 * the device offers the back-end's features from the start. If it is not there: with
 * reconnect=0 creation fails with a clear error; otherwise the device is created and
 * connects in the background, offering no features (and refusing FEATURES_OK) until
 * the back-end has been negotiated with once. On loss (hang-up, protocol error,
 * timeout) the connection is latched down; with reconnect on we retry every
 * `reconnect` ms (or accept again), renegotiate, and if the driver was running resume
 * its rings where they were (a driver that becomes ready meanwhile gets its rings
 * handed over then); otherwise, or when the new back-end refuses them, the device is
 * marked broken (DEVICE_NEEDS_RESET + config interrupt). xvdm never exits because of a
 * back-end.
 *
 * Trust boundary: the back-end (through devices/vhu-conn.c, which checks every
 * message) and the operator's options (checked in parse_opts, errors name the key).
 * Feature bits offered to the driver are back-end ∩ type mask; a reconnected back-end
 * must still offer everything the driver acked.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/svq.h"
#include "devices/vhu-dev.h"

#define VHU_CREATE_WAIT_MS	 1000
#define VHU_RECONNECT_MS_DEFAULT 1000
#define VHU_SHADOW_MEM_DEFAULT	 (4u << 20)
#define BIT30			 (1ULL << VHU_F_PROTOCOL_FEATURES)

/* Protocol features we implement (FACTS 3): never bits we do not. */
#define VHU_PF_WANT                                                                       \
	(VHU_PF(MQ) | VHU_PF(REPLY_ACK) | VHU_PF(BACKEND_REQ) | VHU_PF(BACKEND_SEND_FD) | \
	 VHU_PF(RESET_DEVICE) | VHU_PF(STATUS))

GSource *vhu_watch(struct vhu_dev *v, GSource *s, GSourceFunc fn, gpointer data)
{
	/* No wake-up writes around each dispatch (common/util.h fd_source_new). */
	g_source_set_can_recurse(s, TRUE);
	g_source_set_callback(s, fn, data, NULL);
	g_source_attach(s, v->ctx);
	return s;
}

void vhu_unwatch(GSource **s)
{
	if (!*s)
		return;
	g_source_destroy(*s);
	g_source_unref(*s);
	*s = NULL;
}

/* --- features and config --- */

static void compute_offer(struct vhu_dev *v)
{
	uint64_t be = v->conn.features;
	uint64_t f = (be & v->dev_mask) | v->type->local_features;

	if (v->mode == VHU_MEM_SHADOW) {
		f &= ~v->type->shadow_mask;
		/* our virtqueue engine serves the guest's rings */
		f |= (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	} else {
		f |= be &
		     ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
		/*
		 * FACTS 12: ACCESS_PLATFORM only for grant mappings. There the guest must
		 * see it (Linux's virtio core fails a device without it when the platform
		 * restricts memory access, as Xen grant DMA does); the back-end gets it
		 * only if it offered it (vhu_backend_features).
		 */
		if (v->o.xen_flags & GMEM_XEN_GRANT)
			f |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	}
	v->offered = f;
}

static void config_refresh(struct vhu_dev *v)
{
	int r;

	if (v->type->cfg_src != VHU_CFG_BACKEND || !v->o.cfg_size)
		return;
	if (!(v->conn.proto & VHU_PF(CONFIG))) {
		log_info("%s: back-end has no CONFIG: config space reads as zeros", v->vdev.name);
		return;
	}
	r = vhu_get_config(&v->conn, 0, v->cfg, v->o.cfg_size);
	if (r < 0)
		log_warn_rl("%s: GET_CONFIG: %s", v->vdev.name, g_strerror(-r));
	else if (v->type->fix_cfg)
		v->type->fix_cfg(v);
}

static uint64_t vhu_features(struct vdev *d)
{
	return vhu_of(d)->offered;
}

static int vhu_set_features_op(struct vdev *d, uint64_t acked)
{
	struct vhu_dev *v = vhu_of(d);

	if (!v->known) {
		log_warn("%s: the back-end was never reached: no features to agree on",
			 v->vdev.name);
		return -ENOTCONN;
	}
	return 0; /* SET_FEATURES goes out on DRIVER_OK, first thing (vhu-rings.c) */
}

static int vhu_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
	memcpy(buf, vhu_of(d)->cfg + off, len); /* bounds checked by the core */
	return 0;
}

static int vhu_cfg_write(struct vdev *d, uint32_t off, const void *buf, uint32_t len)
{
	struct vhu_dev *v = vhu_of(d);
	int r;

	if (v->type->cfg_src != VHU_CFG_BACKEND || !(v->conn.proto & VHU_PF(CONFIG))) {
		log_warn_rl("%s: config write at 0x%x: read-only config space", d->name, off);
		return -EPERM;
	}
	r = vhu_set_config(&v->conn, off, buf, len);
	if (r < 0)
		return r;
	config_refresh(v); /* e.g. virtio-input: select/subsel change what reads return */
	return 0;
}

/* --- the back-end channel --- */

static struct vhu_dev *vhu_of_bh(struct vhu_backend_handler *h)
{
	return container_of(h, struct vhu_dev, bh);
}

static void bh_config_changed(struct vhu_backend_handler *h)
{
	struct vhu_dev *v = vhu_of_bh(h);

	config_refresh(v);
	vdev_config_changed(&v->vdev);
}

static void bh_vring_call(struct vhu_backend_handler *h, uint32_t index)
{
	vhu_rings_called(vhu_of_bh(h), index);
}

static void bh_vring_err(struct vhu_backend_handler *h, uint32_t index)
{
	log_warn_rl("%s: back-end reports an error on queue %u", vhu_of_bh(h)->vdev.name, index);
}

static const struct vhu_backend_handler_ops bh_ops = {
	.config_changed = bh_config_changed,
	.vring_call = bh_vring_call,
	.vring_err = bh_vring_err,
	.shmem_prepare = vhu_shm_prepare,
	.shmem_commit = vhu_shm_commit,
};

static gboolean chan_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct vhu_dev *v = data;
	int r = vhu_backend_serve(fd, v->conn.proto, v->o.timeout_ms, &v->bh);

	if (r == 0)
		return G_SOURCE_CONTINUE;
	log_warn("%s: back-end channel: %s", v->vdev.name, g_strerror(-r));
	g_source_unref(v->chan_src);
	v->chan_src = NULL;
	vhu_conn_fail(&v->conn, r == -ECONNRESET ? r : -EPROTO);
	return G_SOURCE_REMOVE;
}

static int chan_open(struct vhu_dev *v)
{
	int sv[2], r;

	if (!(v->conn.proto & VHU_PF(BACKEND_REQ)))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	r = vhu_set_backend_req_fd(&v->conn, sv[1]);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	v->chan_fd = sv[0];
	v->chan_src = vhu_watch(v, g_unix_fd_source_new(sv[0], G_IO_IN | G_IO_HUP | G_IO_ERR),
				(GSourceFunc)(void (*)(void))chan_cb, v);
	return 0;
}

static void chan_close(struct vhu_dev *v)
{
	vhu_unwatch(&v->chan_src);
	if (v->chan_fd >= 0)
		close(v->chan_fd);
	v->chan_fd = -1;
}

/* --- connection life --- */

static void schedule_retry(struct vhu_dev *v);

/* Idle: nothing but a hang-up or an unsolicited message can arrive between requests. */
static gboolean sock_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct vhu_dev *v = data;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE; /* stale readiness: a reply was read meanwhile */
	if (n > 0)
		log_warn("%s: back-end sent a message nobody asked for", v->vdev.name);
	vhu_conn_fail(&v->conn, n > 0 ? -EPROTO : -ECONNRESET);
	return G_SOURCE_CONTINUE; /* the loss handler removes it */
}

static gboolean down_cb(gpointer data)
{
	struct vhu_dev *v = data;

	g_source_unref(v->down_src);
	v->down_src = NULL;
	vhu_unwatch(&v->sock_src);
	chan_close(v);
	vhu_shm_drop(v); /* FACTS 18: mappings do not outlive the back-end */
	if (v->type->session_end)
		v->type->session_end(v);
	vhu_conn_close(&v->conn);
	if (v->running)
		v->resume = true;
	if (v->o.reconnect_ms) {
		log_msg("%s: back-end lost; %s", v->vdev.name,
			v->o.server ? "waiting for it to connect again" : "reconnecting");
		schedule_retry(v);
	} else if (v->vdev.status & VIRTIO_CONFIG_S_DRIVER) {
		vdev_set_broken(&v->vdev, "back-end lost and reconnect=0");
	} else {
		log_warn("%s: back-end lost (reconnect=0)", v->vdev.name);
	}
	return G_SOURCE_REMOVE;
}

static void conn_down(struct vhu_conn *c, int err)
{
	struct vhu_dev *v = container_of(c, struct vhu_dev, conn);
	GSource *s;

	if (v->down_src) /* deferred: we may be deep inside a request */
		return;
	/*
	 * At the socket watch's priority: that watch stays readable (EOF) until down_cb
	 * removes it, and an idle-priority source would never be dispatched (busy loop).
	 */
	s = g_idle_source_new();
	g_source_set_priority(s, G_PRIORITY_DEFAULT);
	v->down_src = vhu_watch(v, s, down_cb, v);
}

static const struct vhu_conn_ops conn_ops = { .down = conn_down };

static uint64_t proto_want(struct vhu_dev *v)
{
	uint64_t want = VHU_PF_WANT;
	struct gmem_region r;

	if (v->type->cfg_src == VHU_CFG_BACKEND)
		want |= VHU_PF(CONFIG);
	if (v->o.shm_src != VHU_SHM_OFF)
		want |= VHU_PF(SHMEM); /* acked only with BACKEND_REQ and BACKEND_SEND_FD */
	/* auto: zero copy only when guest memory can be shared at all */
	if (v->o.mem == VHU_MEM_XEN_MMAP ||
	    (v->o.mem == VHU_MEM_AUTO && gmem_regions(v->vdev.mem, &r, 1) > 0))
		want |= VHU_PF(XEN_MMAP) | VHU_PF(INFLIGHT_SHMFD);
	return want;
}

/*
 * Resolve the memory mode and the offer of a fresh negotiation. While a driver is
 * running (or waiting to resume), the new back-end must fit it: same mode, and every
 * feature the driver acked still offered.
 */
static int adopt(struct vhu_dev *v)
{
	enum vhu_mem_mode mode =
		(v->conn.proto & VHU_PF(XEN_MMAP)) ? VHU_MEM_XEN_MMAP : VHU_MEM_SHADOW;
	bool driving = v->running || v->resume;
	uint64_t need =
		v->vdev.driver_features & ~(v->type->local_features | (1ULL << VIRTIO_F_VERSION_1));

	if (mode == VHU_MEM_SHADOW && v->type->gpa_in_payload && !v->type->shadow_filter) {
		log_warn("%s: the back-end does not offer F_XEN_MMAP, and %s requests carry guest "
			 "addresses that shadow mode cannot translate: not served",
			 v->vdev.name, v->type->vt->name);
		return -ENOTSUP;
	}
	if (driving && mode != v->mode) {
		log_warn("%s: the new back-end needs another memory mode", v->vdev.name);
		return -EPROTO;
	}
	v->mode = mode;
	compute_offer(v);
	if (driving && (v->offered & need) != need) {
		log_warn("%s: the back-end no longer offers 0x%" PRIx64, v->vdev.name,
			 need & ~v->offered);
		return -EPROTO;
	}
	return 0;
}

static int negotiate(struct vhu_dev *v)
{
	uint64_t require = v->o.mem == VHU_MEM_XEN_MMAP ? VHU_PF(XEN_MMAP) : 0;
	int r;

	r = vhu_negotiate(&v->conn, proto_want(v), require);
	if (r < 0)
		return r;
	if (!(v->conn.features & (1ULL << VIRTIO_F_VERSION_1)))
		log_warn("%s: back-end does not offer VERSION_1", v->vdev.name);
	if ((v->conn.proto & VHU_PF(MQ)) && v->conn.queue_num < v->vdev.nqueues &&
	    v->type->vt->device_id != 1 /* net counts queue pairs */) {
		log_warn("%s: back-end serves %" PRIu64 " queues, the device has %u", v->vdev.name,
			 v->conn.queue_num, v->vdev.nqueues);
		return -ENOTSUP;
	}
	r = adopt(v);
	if (r == 0)
		r = vhu_shm_session(v);
	if (r < 0)
		return r;
	r = chan_open(v);
	if (r == 0 && v->type->session)
		r = v->type->session(v);
	return r;
}

/*
 * A socket attached with its GET_FEATURES reply in (vhu_conn_attach_hello): negotiate,
 * and resume the rings if the driver was running.
 */
static int session_open(struct vhu_dev *v, int fd)
{
	int r;

	vhu_conn_attach_hello(&v->conn, fd);
	r = negotiate(v);
	if (r < 0)
		goto err;
	config_refresh(v);
	v->known = true;
	v->sock_src = vhu_watch(v, g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR),
				(GSourceFunc)(void (*)(void))sock_cb, v);
	log_msg("%s: back-end ready (%s, features 0x%" PRIx64 ", protocol 0x%" PRIx64 ")",
		v->vdev.name, v->mode == VHU_MEM_SHADOW ? "shadow" : "xen-mmap", v->conn.features,
		v->conn.proto);
	if (v->resume && !v->vdev.broken) {
		r = vhu_rings_start(v);
		if (r < 0 && !v->conn.up)
			return 0; /* lost again meanwhile: the next back-end resumes them */
		if (r < 0) {
			vdev_set_broken(&v->vdev, "the new back-end refused the rings");
			return 0; /* the connection itself is fine */
		}
		log_msg("%s: rings resumed", v->vdev.name);
	}
	v->resume = false;
	return 0;
err:
	chan_close(v);
	vhu_shm_drop(v);
	if (v->type->session_end)
		v->type->session_end(v);
	vhu_unwatch(&v->down_src); /* a latch tripped during negotiation: handled here */
	vhu_conn_close(&v->conn);
	if (v->resume && r == -EPROTO)
		vdev_set_broken(&v->vdev, "the new back-end cannot take over the rings");
	return r;
}

/*
 * --- hello: a new connection is negotiated only once the back-end answered ---
 *
 * The kernel completes a unix connect without the back-end (its backlog), so a back-end
 * that is stopped or stuck accepts connections it never answers. Negotiating at once
 * would block the whole process (every guest, every device) for timeout_ms on each
 * retry. Instead GET_FEATURES goes out and the main loop waits for the socket to become
 * readable, bounded by timeout_ms; then the rest of the negotiation, whose peer has just
 * shown it is alive, runs as before.
 */
/* Stop watching the pending connection; its fd is returned, and is the caller's. */
static int hello_end(struct vhu_dev *v)
{
	int fd = v->hello_fd;

	vhu_unwatch(&v->hello_src);
	vhu_unwatch(&v->hello_timer);
	v->hello_fd = -1;
	return fd;
}

static void hello_drop(struct vhu_dev *v)
{
	int fd = hello_end(v);

	if (fd >= 0)
		close(fd);
}

static gboolean hello_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct vhu_dev *v = data;

	/* session_open takes the fd (a hang-up fails there, with a log line) */
	if (session_open(v, hello_end(v)) < 0)
		schedule_retry(v);
	return G_SOURCE_CONTINUE; /* hello_end removed it */
}

static gboolean hello_timeout_cb(gpointer data)
{
	struct vhu_dev *v = data;

	log_warn_rl("%s: the back-end at %s took the connection but did not answer GET_FEATURES "
		    "within %d ms (stopped or stuck?): %s",
		    v->vdev.name, v->o.socket, v->o.timeout_ms,
		    v->o.server ? "waiting for another connection" : "trying again");
	hello_drop(v);
	schedule_retry(v);
	return G_SOURCE_CONTINUE; /* hello_drop removed it */
}

/* Send GET_FEATURES on a new connection and watch for its answer; takes fd. */
static int hello_start(struct vhu_dev *v, int fd)
{
	int r = vhu_hello(fd, v->o.timeout_ms);

	if (r < 0) {
		log_warn_rl("%s: GET_FEATURES to the back-end at %s: %s", v->vdev.name, v->o.socket,
			    g_strerror(-r));
		close(fd);
		return r;
	}
	v->hello_fd = fd;
	v->hello_src = vhu_watch(v, g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR),
				 (GSourceFunc)(void (*)(void))hello_cb, v);
	v->hello_timer =
		vhu_watch(v, g_timeout_source_new((guint)v->o.timeout_ms), hello_timeout_cb, v);
	return 0;
}

static gboolean retry_cb(gpointer data)
{
	struct vhu_dev *v = data;
	int fd = vhu_socket_connect(v->o.socket);

	if (fd < 0)
		return G_SOURCE_CONTINUE;
	g_source_unref(v->retry_src);
	v->retry_src = NULL;
	if (hello_start(v, fd) < 0)
		schedule_retry(v);
	return G_SOURCE_REMOVE;
}

static gboolean accept_cb(gint lfd, GIOCondition cond, gpointer data)
{
	struct vhu_dev *v = data;
	int fd = vhu_socket_accept(lfd);

	if (fd < 0)
		return G_SOURCE_CONTINUE;
	if (v->conn.up || v->down_src || v->hello_fd >= 0 || (v->known && !v->o.reconnect_ms)) {
		log_warn_rl("%s: a second back-end connected: refused", v->vdev.name);
		close(fd);
		return G_SOURCE_CONTINUE;
	}
	hello_start(v, fd);
	return G_SOURCE_CONTINUE;
}

static void schedule_retry(struct vhu_dev *v)
{
	if (v->o.server || v->retry_src || !v->o.reconnect_ms)
		return; /* server mode: the listening socket's watch is always there */
	v->retry_src = vhu_watch(v, g_timeout_source_new(v->o.reconnect_ms), retry_cb, v);
}

/* Bounded wait for the back-end at creation: the connected fd, or -errno. */
static int first_connect(struct vhu_dev *v)
{
	gint64 deadline = g_get_monotonic_time() + VHU_CREATE_WAIT_MS * 1000;
	int fd;

	for (;;) {
		fd = v->o.server ? vhu_socket_accept(v->listen_fd)
				 : vhu_socket_connect(v->o.socket);
		if (fd >= 0 || g_get_monotonic_time() >= deadline)
			return fd;
		if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN)
			return fd;
		g_usleep(20 * 1000);
	}
}

/*
 * GET_FEATURES on the first connection, its answer awaited here for timeout= (so that a
 * guest that probes at once finds the back-end's features; DPDK can take over a second
 * to pick a new connection up): 0 when it is in (fd is still ours), 1 when it will be
 * tried again in the background (reconnect on), -errno (fd closed).
 */
static int first_hello(struct vhu_dev *v, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = vhu_hello(fd, v->o.timeout_ms);

	if (r == 0 && poll(&p, 1, v->o.timeout_ms) > 0)
		return 0;
	close(fd);
	if (r < 0)
		return r;
	if (!v->o.reconnect_ms)
		return -ETIMEDOUT;
	log_warn("%s: the back-end at %s took the connection but did not answer GET_FEATURES "
		 "within %d ms (stopped or stuck?): trying again in the background",
		 v->vdev.name, v->o.socket, v->o.timeout_ms);
	schedule_retry(v);
	return 1;
}

static int connect_at_create(struct vhu_dev *v, GError **error)
{
	bool unanswered;
	int fd, r;

	if (v->o.server) {
		v->listen_fd = vhu_socket_listen(v->o.socket);
		if (v->listen_fd < 0) {
			g_set_error(error, VDEV_ERROR, -v->listen_fd, "%s: cannot listen on %s: %s",
				    v->vdev.name, v->o.socket, g_strerror(-v->listen_fd));
			return v->listen_fd;
		}
		v->listen_src = vhu_watch(v, g_unix_fd_source_new(v->listen_fd, G_IO_IN),
					  (GSourceFunc)(void (*)(void))accept_cb, v);
	}
	fd = first_connect(v);
	r = fd < 0 ? fd : first_hello(v, fd);
	if (r == 1)
		return 0; /* the answer is awaited in the background */
	unanswered = r == -ETIMEDOUT;
	if (r == 0)
		r = session_open(v, fd);
	if (r == 0)
		return 0;
	if (v->o.reconnect_ms) {
		log_msg("%s: back-end at %s not ready (%s): will %s in the background",
			v->vdev.name, v->o.socket, g_strerror(-r),
			v->o.server ? "accept it" : "connect");
		schedule_retry(v);
		return 0;
	}
	if (unanswered)
		g_set_error(error, VDEV_ERROR, ETIMEDOUT,
			    "%s: the vhost-user back-end at %s did not answer GET_FEATURES within "
			    "%d ms (reconnect=0)",
			    v->vdev.name, v->o.socket, v->o.timeout_ms);
	else
		g_set_error(error, VDEV_ERROR, -r,
			    "%s: no vhost-user back-end at %s: %s (reconnect=0)", v->vdev.name,
			    v->o.socket, g_strerror(-r));
	return r;
}

/* --- vdev_ops --- */

static int vhu_start(struct vdev *d)
{
	struct vhu_dev *v = vhu_of(d);

	if (!v->conn.up && v->known && v->o.reconnect_ms) {
		/* The back-end is on its way back: it gets the rings when it is. */
		log_msg("%s: driver ready while the back-end is away: rings handed over on "
			"reconnect",
			d->name);
		v->running = v->resume = true;
		return 0;
	}
	return vhu_rings_start(v);
}

static void vhu_kick(struct vdev *d, unsigned q)
{
	vhu_rings_kick(vhu_of(d), q);
}

static void vhu_reset(struct vdev *d)
{
	struct vhu_dev *v = vhu_of(d);
	bool was_running = v->running;

	vhu_rings_stop(v);
	/*
	 * FACTS 18: every mapping goes with a device reset. A back-end may map before the
	 * driver ever started the device (Linux resets at probe): the rings did not tell it
	 * then, so tell it here, or its table and ours would disagree.
	 */
	if (!was_running && v->shm.nmaps && v->conn.up) {
		if (v->conn.proto & VHU_PF(RESET_DEVICE))
			vhu_send_none(&v->conn, VHU_RESET_DEVICE);
		else if (v->conn.proto & VHU_PF(STATUS))
			vhu_send_u64(&v->conn, VHU_SET_STATUS, 0);
		else
			log_warn_rl("%s: reset drops %u shared memory mapping(s) the back-end "
				    "cannot be told about (no RESET_DEVICE or STATUS)",
				    d->name, v->shm.nmaps);
	}
	vhu_shm_drop(v);
}

static void vhu_free_op(struct vdev *d)
{
	struct vhu_dev *v = vhu_of(d);

	vhu_rings_stop(v);
	vhu_unwatch(&v->listen_src);
	vhu_unwatch(&v->sock_src);
	vhu_unwatch(&v->retry_src);
	vhu_unwatch(&v->down_src);
	hello_drop(v);
	chan_close(v);
	vhu_shmem_fini(&v->shm);
	if (v->type->free)
		v->type->free(v);
	vhu_conn_close(&v->conn);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->o.socket);
	}
	g_main_context_unref(v->ctx);
	g_free(v->o.socket);
	g_free(v->name);
	g_free(v->q);
	g_free(v);
}

static const struct vdev_ops vhu_ops = {
	.type = "vhost-user",
	.features = vhu_features,
	.set_features = vhu_set_features_op,
	.cfg_read = vhu_cfg_read,
	.cfg_write = vhu_cfg_write,
	.start = vhu_start,
	.kick = vhu_kick,
	.reset = vhu_reset,
	.free = vhu_free_op,
	.shm_read = vhu_shm_read,
	.shm_write = vhu_shm_write,
};

/* --- options --- */

static bool opt_bool(const char *s, bool *ret)
{
	if (!g_strcmp0(s, "on") || !g_strcmp0(s, "true") || !g_strcmp0(s, "yes") ||
	    !g_strcmp0(s, "1"))
		*ret = true;
	else if (!g_strcmp0(s, "off") || !g_strcmp0(s, "false") || !g_strcmp0(s, "no") ||
		 !g_strcmp0(s, "0"))
		*ret = false;
	else
		return false;
	return true;
}

bool vhu_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_u64_size(s, max, ret);
}

int vhu_opt_u64(GHashTable *opts, const char *key, uint64_t max, uint64_t *ret, const char *name,
		GError **error)
{
	const char *s = opts ? g_hash_table_lookup(opts, key) : NULL;

	if (!s)
		return 0;
	if (!vhu_parse_u64(s, max, ret)) {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: %s=%s is not a number up to %" PRIu64,
			    name, key, s, max);
		return -EINVAL;
	}
	return 1;
}

static int parse_flags(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	const char *s;
	bool b = false;
	uint64_t n;
	int r;

	s = g_hash_table_lookup(opts, "server");
	if (s && !opt_bool(s, &v->o.server))
		goto bad_bool;
	s = g_hash_table_lookup(opts, "xen-grant");
	if (s && !opt_bool((const char *)s, &b))
		goto bad_bool;
	/* FACTS 10: FOREIGN 0x1; grants 0x2|0x8 (rust-vmm's NO_ADVANCE_MAP) */
	v->o.xen_flags = b ? GMEM_XEN_GRANT | GMEM_XEN_NO_ADVANCE_MAP : GMEM_XEN_FOREIGN;
	r = vhu_opt_u64(opts, "xen-flags", UINT32_MAX, &n, v->vdev.name, error);
	if (r < 0)
		return r;
	if (r)
		v->o.xen_flags = (uint32_t)n;
	s = g_hash_table_lookup(opts, "mem");
	if (!s || !strcmp(s, "auto"))
		/* grant addresses are the back-end's to map: there is no shadow of them */
		v->o.mem = v->o.xen_flags & GMEM_XEN_GRANT ? VHU_MEM_XEN_MMAP : VHU_MEM_AUTO;
	else if (!strcmp(s, "xen-mmap"))
		v->o.mem = VHU_MEM_XEN_MMAP;
	else if (!strcmp(s, "shadow"))
		v->o.mem = VHU_MEM_SHADOW;
	else {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: mem=%s (want auto, xen-mmap or shadow)",
			    v->vdev.name, s);
		return -EINVAL;
	}
	if (v->o.mem == VHU_MEM_SHADOW && (v->o.xen_flags & GMEM_XEN_GRANT)) {
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: mem=shadow cannot serve grant mappings (xen-grant/xen-flags): "
			    "xvdm's copies cannot follow grant addresses yet; use mem=xen-mmap",
			    v->vdev.name);
		return -EINVAL;
	}
	return 0;
bad_bool:
	g_set_error(error, VDEV_ERROR, EINVAL, "%s: '%s' is not on/off", v->vdev.name, s);
	return -EINVAL;
}

static int parse_opts(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	const char *sock = opts ? g_hash_table_lookup(opts, "socket") : NULL;
	uint64_t n;
	int r;

	if (!sock || !*sock) {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: socket=PATH is required", v->vdev.name);
		return -EINVAL;
	}
	v->o.socket = g_strdup(sock);
	r = parse_flags(v, opts, error);
	if (r < 0)
		return r;
	n = VHU_RECONNECT_MS_DEFAULT / 1000;
	r = vhu_opt_u64(opts, "reconnect", 3600, &n, v->vdev.name, error);
	if (r < 0)
		return r;
	v->o.reconnect_ms = (unsigned)n * 1000;
	n = VHU_SHADOW_MEM_DEFAULT;
	r = vhu_opt_u64(opts, "shadow-mem", SVQ_BOUNCE_MAX, &n, v->vdev.name, error);
	if (r < 0 || (r = n ? 0 : -EINVAL) < 0) {
		if (!n)
			g_set_error(error, VDEV_ERROR, EINVAL, "%s: shadow-mem=0", v->vdev.name);
		return r;
	}
	v->o.shadow_mem = n;
	n = VHU_TIMEOUT_MS_DEFAULT;
	r = vhu_opt_u64(opts, "timeout", 600000, &n, v->vdev.name, error);
	if (r < 0)
		return r;
	v->o.timeout_ms = n ? (int)n : VHU_TIMEOUT_MS_DEFAULT;
	return vhu_shm_parse_opts(v, opts, error);
}

/* --- creation --- */

static struct vhu_dev *vhu_alloc(const struct vhu_type *vt)
{
	struct vhu_dev *v = g_new0(struct vhu_dev, 1);

	v->type = vt;
	v->dev_mask = vt->dev_mask;
	v->listen_fd = v->chan_fd = v->inflight_fd = v->hello_fd = -1;
	v->o.nqueues = vt->nqueues;
	v->o.cfg_size = vt->cfg_size;
	v->o.device_id = vt->vt->device_id;
	v->ctx = g_main_context_ref_thread_default();
	return v;
}

int vhu_create(const struct vdev_type *t, const struct vdev_params *p, struct vdev **ret,
	       GError **error)
{
	const struct vhu_type *vt = vhu_type_of(t);
	struct vhu_dev *v = vhu_alloc(vt);
	const char *name = p->name ? p->name : t->name;
	unsigned i;
	int r;

	v->vdev.name = (char *)name; /* for messages until vdev_init copies it */
	r = parse_opts(v, p->opts, error);
	if (r == 0 && vt->gpa_in_payload && !vt->shadow_filter && v->o.mem == VHU_MEM_SHADOW) {
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: mem=shadow cannot serve %s: its requests carry guest addresses "
			    "that shadow copies cannot translate (use a back-end with F_XEN_MMAP, "
			    "mem=xen-mmap or auto)",
			    name, t->name);
		r = -EINVAL;
	}
	if (r == 0 && vt->setup)
		r = vt->setup(v, p->opts, error);
	if (r == 0) {
		r = vdev_init(&v->vdev, &vhu_ops, name, v->o.device_id, v->o.nqueues, p->queue_size,
			      v->o.cfg_size, p->mem);
		if (r < 0)
			g_set_error(error, VDEV_ERROR, -r, "%s: %u queues, %u config bytes: %s",
				    name, v->o.nqueues, v->o.cfg_size, g_strerror(-r));
	}
	if (r < 0) {
		if (vt->free)
			vt->free(v);
		v->vdev.name = NULL;
		g_main_context_unref(v->ctx);
		g_free(v->o.socket);
		g_free(v);
		return r;
	}
	v->q = g_new0(struct vhu_queue, v->vdev.nqueues);
	for (i = 0; i < v->vdev.nqueues; i++)
		v->q[i] = (struct vhu_queue){ .v = v, .index = i, .kick_fd = -1, .call_fd = -1 };
	v->name = g_strdup(name); /* outlives vdev_fini() for the last log lines */
	v->bh = (struct vhu_backend_handler){ .ops = &bh_ops, .name = v->name };
	vhu_conn_init(&v->conn, &conn_ops, v->name, v->o.timeout_ms);
	vhu_shm_create(v);
	r = connect_at_create(v, error);
	if (r < 0) {
		vdev_free(&v->vdev);
		return r;
	}
	vhu_shm_fix(v); /* before any transport sees the device */
	*ret = &v->vdev;
	return 0;
}
