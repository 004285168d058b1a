/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-gpu's display side channel (devices/vhu-gpu.h; QEMU
 * docs/interop/vhost-user-gpu.rst; FACTS 35) and the device type's hooks.
 *
 * The back-end asks (GET_PROTOCOL_FEATURES, GET_DISPLAY_INFO: we answer) and shows
 * (SCANOUT sets a scanout's size, UPDATE brings a rectangle of pixels inline,
 * DMABUF_SCANOUT / DMABUF_UPDATE the same through a DMA-BUF, CURSOR_* the cursor).
 * Every message is described once in the table below (size rule, fds, reply) and
 * checked against it before anything of it is used. We keep the latest frame of each
 * scanout in memory and, with display=DIR, write it to DIR/<device>-<scanout>.ppm on
 * each UPDATE (written to a temporary file and renamed: a reader never sees half a
 * frame). DMA-BUFs are not displayed: their fds are closed, DMABUF_UPDATE is answered.
 *
 * The channel is non-blocking and read as the bytes come (an UPDATE of a full frame is
 * megabytes: xvdm never waits for the rest of one); replies are small and sent with a
 * bounded wait.
 *
 * Trust boundary: the back-end writes everything on the channel. Payload sizes are
 * bounded by the table before any allocation (an UPDATE by VHU_GPU_FB_MAX), scanout ids
 * by scanouts=, rectangles by the scanout's size (overflow-safe), and at most one fd is
 * accepted per message, closed on every path. A message that breaks a rule closes the
 * channel and latches the device broken; xvdm keeps running. Options come from the
 * operator (checked, errors name the key).
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/log.h"
#include "devices/vhu-dev.h"
#include "devices/vhu-gpu.h"

#define GPU_DEFAULT_W	     1024
#define GPU_DEFAULT_H	     768
#define GPU_BACKING_DEFAULT  (64u << 20)
#define GPU_MSGS_PER_WAKEUP  64
#define GPU_CURSOR_UPDATE_SZ (12 + 8 + 64 * 64 * 4)

/* --- the message table --- */

enum size_rule {
	SZ_EXACT,  /* payload == size */
	SZ_UPDATE, /* VHU_GPU_UPDATE_HDR + up to VHU_GPU_FB_MAX bytes of pixels */
};

struct gpu_row {
	uint32_t id;
	const char *name;
	enum size_rule rule;
	uint32_t size;
	bool fd_ok; /* may carry one fd */
};

static const struct gpu_row rows[] = {
	{ VHU_GPU_GET_PROTOCOL_FEATURES, "GET_PROTOCOL_FEATURES", SZ_EXACT, 0, false },
	{ VHU_GPU_SET_PROTOCOL_FEATURES, "SET_PROTOCOL_FEATURES", SZ_EXACT, 8, false },
	{ VHU_GPU_GET_DISPLAY_INFO, "GET_DISPLAY_INFO", SZ_EXACT, 0, false },
	{ VHU_GPU_CURSOR_POS, "CURSOR_POS", SZ_EXACT, 12, false },
	{ VHU_GPU_CURSOR_POS_HIDE, "CURSOR_POS_HIDE", SZ_EXACT, 12, false },
	{ VHU_GPU_CURSOR_UPDATE, "CURSOR_UPDATE", SZ_EXACT, GPU_CURSOR_UPDATE_SZ, false },
	{ VHU_GPU_SCANOUT, "SCANOUT", SZ_EXACT, 12, false },
	{ VHU_GPU_UPDATE, "UPDATE", SZ_UPDATE, VHU_GPU_UPDATE_HDR, false },
	{ VHU_GPU_DMABUF_SCANOUT, "DMABUF_SCANOUT", SZ_EXACT, 40, true },
	{ VHU_GPU_DMABUF_UPDATE, "DMABUF_UPDATE", SZ_EXACT, VHU_GPU_UPDATE_HDR, false },
	/* GET_EDID (11) only with protocol feature EDID (bit 0), which we do not offer */
};

static const struct gpu_row *row_of(uint32_t id)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(rows); i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}

static int bad(const struct vhu_gpu_display *d, const char *fmt, const char *what, uint32_t v)
{
	log_debug("%s: side channel: %s: bad %s (%u)", d->name, fmt, what, v);
	return -EPROTO;
}

int vhu_gpu_check_hdr(const struct vhu_gpu_display *d, uint32_t request, uint32_t flags,
		      uint32_t size)
{
	const struct gpu_row *r = row_of(request);

	if (!r)
		return bad(d, "request", "id", request);
	/*
	 * flags are not checked: vhost-user-gpu leaves them uninitialised in the UPDATEs it
	 * allocates (QEMU's front-end ignores them), and no request flag exists.
	 */
	if (r->rule == SZ_EXACT && size != r->size)
		return bad(d, r->name, "size", size);
	if (r->rule == SZ_UPDATE && (size < r->size || size - r->size > VHU_GPU_FB_MAX))
		return bad(d, r->name, "size", size);
	return 0;
}

/* --- the display --- */

void vhu_gpu_display_init(struct vhu_gpu_display *d, const char *name, uint32_t nscanouts,
			  uint32_t width, uint32_t height, const char *dir)
{
	memset(d, 0, sizeof(*d));
	d->name = g_strdup(name);
	d->dir = g_strdup(dir);
	d->nscanouts = MIN(MAX(nscanouts, 1u), (uint32_t)VIRTIO_GPU_MAX_SCANOUTS);
	d->width = width;
	d->height = height;
}

static void scanout_clear(struct vhu_gpu_scanout *s)
{
	g_free(s->fb);
	*s = (struct vhu_gpu_scanout){ 0 };
}

void vhu_gpu_display_fini(struct vhu_gpu_display *d)
{
	unsigned i;

	for (i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++)
		scanout_clear(&d->so[i]);
	g_free(d->name);
	g_free(d->dir);
	d->name = d->dir = NULL;
}

static uint32_t u32_at(const uint8_t *p, unsigned i)
{
	uint32_t v;

	memcpy(&v, p + 4 * i, sizeof(v));
	return v;
}

/* DIR/<device>-<scanout>.ppm, the frame as RGB. */
static void write_ppm(struct vhu_gpu_display *d, uint32_t id)
{
	const struct vhu_gpu_scanout *s = &d->so[id];
	g_autofree char *base = g_strdelimit(g_strdup_printf("%s-%u.ppm", d->name, id), "/", '-');
	g_autofree char *path = g_build_filename(d->dir, base, NULL);
	g_autofree char *head = g_strdup_printf("P6\n%u %u\n255\n", s->width, s->height);
	size_t hl = strlen(head), n = (size_t)s->width * s->height, i;
	g_autofree uint8_t *buf = g_malloc(hl + 3 * n);
	g_autoptr(GError) err = NULL;

	memcpy(buf, head, hl);
	for (i = 0; i < n; i++) { /* x8r8g8b8 little-endian: B, G, R, X */
		buf[hl + 3 * i] = s->fb[4 * i + 2];
		buf[hl + 3 * i + 1] = s->fb[4 * i + 1];
		buf[hl + 3 * i + 2] = s->fb[4 * i];
	}
	if (!g_file_set_contents(path, (const char *)buf, (gssize)(hl + 3 * n), &err))
		log_warn_rl("%s: display: %s", d->name, err->message);
	else
		d->files++;
}

static int do_scanout(struct vhu_gpu_display *d, const uint8_t *p)
{
	uint32_t id = u32_at(p, 0), w = u32_at(p, 1), h = u32_at(p, 2);
	struct vhu_gpu_scanout *s;

	if (id >= d->nscanouts)
		return bad(d, "SCANOUT", "scanout id", id);
	if (w > VHU_GPU_DIM_MAX || h > VHU_GPU_DIM_MAX || (uint64_t)w * h * 4 > VHU_GPU_FB_MAX)
		return bad(d, "SCANOUT", "size", w);
	s = &d->so[id];
	scanout_clear(s);
	if (!w || !h)
		return 0; /* disabled */
	s->fb = g_try_malloc0((size_t)w * h * 4);
	if (!s->fb)
		return -ENOMEM;
	s->width = w;
	s->height = h;
	log_debug("%s: scanout %u: %ux%u", d->name, id, w, h);
	return 0;
}

/* The rectangle (x, y, w, h) lies inside scanout id, which shows pixels we keep. */
static int check_rect(const struct vhu_gpu_display *d, const char *what, const uint8_t *p)
{
	uint32_t id = u32_at(p, 0), x = u32_at(p, 1), y = u32_at(p, 2);
	uint32_t w = u32_at(p, 3), h = u32_at(p, 4);
	const struct vhu_gpu_scanout *s;

	if (id >= d->nscanouts)
		return bad(d, what, "scanout id", id);
	s = &d->so[id];
	if (x > s->width || w > s->width - x || y > s->height || h > s->height - y)
		return bad(d, what, "rectangle", x);
	return 0;
}

static int do_update(struct vhu_gpu_display *d, const uint8_t *p, uint32_t size)
{
	uint32_t id = u32_at(p, 0), x = u32_at(p, 1), y = u32_at(p, 2);
	uint32_t w = u32_at(p, 3), h = u32_at(p, 4), row;
	struct vhu_gpu_scanout *s;

	if (check_rect(d, "UPDATE", p) < 0)
		return -EPROTO;
	s = &d->so[id];
	if (!s->fb || (uint64_t)w * h * 4 != size - VHU_GPU_UPDATE_HDR)
		return bad(d, "UPDATE", "pixel bytes", size);
	for (row = 0; row < h; row++)
		memcpy(s->fb + ((size_t)(y + row) * s->width + x) * 4,
		       p + VHU_GPU_UPDATE_HDR + (size_t)row * w * 4, (size_t)w * 4);
	d->updates++;
	if (d->dir)
		write_ppm(d, id);
	return 0;
}

static int do_dmabuf_scanout(struct vhu_gpu_display *d, const uint8_t *p, unsigned nfds)
{
	uint32_t id = u32_at(p, 0), w = u32_at(p, 3), h = u32_at(p, 4);

	if (id >= d->nscanouts)
		return bad(d, "DMABUF_SCANOUT", "scanout id", id);
	if (w > VHU_GPU_DIM_MAX || h > VHU_GPU_DIM_MAX || (!w || !h) != (nfds == 0))
		return bad(d, "DMABUF_SCANOUT", "size or fd", w);
	scanout_clear(&d->so[id]);
	d->so[id].width = w;
	d->so[id].height = h;
	d->so[id].dmabuf = w && h;
	log_info("%s: scanout %u shown by DMA-BUF (%ux%u): not displayed by xvdm", d->name, id, w,
		 h);
	return 0;
}

static void reply_u64(struct vhu_gpu_reply *ret, uint32_t req, uint64_t v)
{
	ret->send = true;
	ret->request = req;
	ret->size = sizeof(v);
	memcpy(ret->body, &v, sizeof(v));
}

static void reply_display_info(const struct vhu_gpu_display *d, struct vhu_gpu_reply *ret)
{
	struct virtio_gpu_resp_display_info di = { 0 };
	uint32_t i;

	di.hdr.type = htole32(VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	for (i = 0; i < d->nscanouts; i++) {
		di.pmodes[i].r.width = htole32(d->width);
		di.pmodes[i].r.height = htole32(d->height);
		di.pmodes[i].enabled = htole32(1);
	}
	ret->send = true;
	ret->request = VHU_GPU_GET_DISPLAY_INFO;
	ret->size = sizeof(di);
	memcpy(ret->body, &di, sizeof(di));
}

static int dispatch(struct vhu_gpu_display *d, uint32_t request, const uint8_t *p, uint32_t size,
		    unsigned nfds, struct vhu_gpu_reply *ret)
{
	uint64_t v;

	switch (request) {
	case VHU_GPU_GET_PROTOCOL_FEATURES:
		reply_u64(ret, request, 0); /* none: no EDID, no DMABUF_SCANOUT2 */
		return 0;
	case VHU_GPU_SET_PROTOCOL_FEATURES:
		memcpy(&v, p, sizeof(v));
		if (v)
			return bad(d, "SET_PROTOCOL_FEATURES", "bits beyond our offer",
				   (uint32_t)v);
		d->proto = v;
		return 0;
	case VHU_GPU_GET_DISPLAY_INFO:
		reply_display_info(d, ret);
		return 0;
	case VHU_GPU_CURSOR_POS:
	case VHU_GPU_CURSOR_POS_HIDE:
	case VHU_GPU_CURSOR_UPDATE:
		if (u32_at(p, 0) >= d->nscanouts)
			return bad(d, "CURSOR", "scanout id", u32_at(p, 0));
		d->cursor_scanout = u32_at(p, 0);
		d->cursor_x = u32_at(p, 1);
		d->cursor_y = u32_at(p, 2);
		d->cursor_visible = request != VHU_GPU_CURSOR_POS_HIDE;
		return 0;
	case VHU_GPU_SCANOUT:
		return do_scanout(d, p);
	case VHU_GPU_UPDATE:
		return do_update(d, p, size);
	case VHU_GPU_DMABUF_SCANOUT:
		return do_dmabuf_scanout(d, p, nfds);
	case VHU_GPU_DMABUF_UPDATE:
		if (check_rect(d, "DMABUF_UPDATE", p) < 0)
			return -EPROTO;
		d->updates++;
		ret->send = true; /* the back-end waits for it (an empty reply) */
		ret->request = request;
		ret->size = 0;
		return 0;
	}
	return bad(d, "request", "id", request);
}

int vhu_gpu_handle(struct vhu_gpu_display *d, uint32_t request, uint32_t flags,
		   const uint8_t *payload, uint32_t size, int *fds, unsigned nfds,
		   struct vhu_gpu_reply *ret)
{
	const struct gpu_row *r = row_of(request);
	unsigned i;
	int err;

	ret->send = false;
	err = vhu_gpu_check_hdr(d, request, flags, size);
	if (err == 0 && nfds > (r->fd_ok ? 1u : 0u))
		err = bad(d, r->name, "fd count", nfds);
	if (err == 0)
		err = dispatch(d, request, payload, size, nfds, ret);
	for (i = 0; i < nfds; i++) /* a DMA-BUF is not displayed: never kept */
		if (fds[i] >= 0)
			close(fds[i]);
	if (err < 0)
		ret->send = false;
	return err;
}

/* --- the channel --- */

static void chan_reset_msg(struct vhu_gpu_chan *c)
{
	unsigned i;

	for (i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
	g_free(c->payload);
	c->payload = NULL;
	c->hgot = c->pgot = 0;
}

void vhu_gpu_chan_close(struct vhu_gpu_chan *c)
{
	vhu_unwatch(&c->src);
	chan_reset_msg(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* recvmsg into buf, keeping up to 2 fds: bytes, 0 at EOF, or -errno (-EAGAIN). */
static ssize_t chan_recv(struct vhu_gpu_chan *c, void *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	struct cmsghdr *h;
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	bool extra = false;

	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	for (h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		size_t k, cnt;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + k * sizeof(int), sizeof(fd));
			if (c->nfds < G_N_ELEMENTS(c->fds))
				c->fds[c->nfds++] = fd;
			else {
				close(fd);
				extra = true;
			}
		}
	}
	if (extra || (mh.msg_flags & MSG_CTRUNC))
		return -EPROTO;
	return n;
}

static int chan_send_reply(struct vhu_gpu_chan *c, const struct vhu_gpu_reply *r)
{
	uint32_t hdr[3] = { r->request, VHU_GPU_FLAG_REPLY, r->size };
	uint8_t buf[VHU_GPU_HDR + sizeof(r->body)];
	size_t len = VHU_GPU_HDR + r->size, done = 0;
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + VHU_GPU_HDR, r->body, r->size);
	while (done < len) {
		ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (poll(&p, 1, VHU_TIMEOUT_MS_DEFAULT) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* One step: 1 when a whole message was handled, 0 when more bytes are needed, -errno. */
static int chan_step(struct vhu_gpu_chan *c, struct vhu_gpu_display *d)
{
	struct vhu_gpu_reply rep;
	ssize_t n;
	int r;

	if (c->hgot < VHU_GPU_HDR) {
		n = chan_recv(c, c->hdr + c->hgot, VHU_GPU_HDR - c->hgot);
		if (n <= 0)
			return n == 0	      ? (c->hgot ? -EPROTO : -ECONNRESET)
			       : n == -EAGAIN ? 0
					      : (int)n;
		c->hgot += (size_t)n;
		if (c->hgot < VHU_GPU_HDR)
			return 0;
		c->request = u32_at(c->hdr, 0);
		c->flags = u32_at(c->hdr, 1);
		c->size = u32_at(c->hdr, 2);
		if (vhu_gpu_check_hdr(d, c->request, c->flags, c->size) < 0)
			return -EPROTO; /* before allocating what the size says */
		c->payload = g_try_malloc(c->size ? c->size : 1);
		if (!c->payload)
			return -ENOMEM;
	}
	if (c->pgot < c->size) {
		n = chan_recv(c, c->payload + c->pgot, c->size - c->pgot);
		if (n <= 0)
			return n == 0 ? -EPROTO : n == -EAGAIN ? 0 : (int)n;
		c->pgot += (size_t)n;
		if (c->pgot < c->size)
			return 0;
	}
	r = vhu_gpu_handle(d, c->request, c->flags, c->payload, c->size, c->fds, c->nfds, &rep);
	c->nfds = 0; /* closed by vhu_gpu_handle */
	chan_reset_msg(c);
	if (r == 0 && rep.send)
		r = chan_send_reply(c, &rep);
	return r < 0 ? r : 1;
}

int vhu_gpu_chan_serve(struct vhu_gpu_chan *c, struct vhu_gpu_display *d)
{
	unsigned i;
	int r = 0;

	/* Bounded work per wake-up: a flooding back-end cannot starve the other sources. */
	for (i = 0; i < GPU_MSGS_PER_WAKEUP; i++) {
		r = chan_step(c, d);
		if (r <= 0)
			break;
	}
	return r < 0 ? r : 0;
}

/* --- the device type's hooks (vhu-types.c) --- */

static gboolean chan_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct vhu_dev *v = data;
	struct vhu_gpu *g = v->gpu;
	int r = vhu_gpu_chan_serve(&g->chan, &g->disp);

	if (r == 0)
		return G_SOURCE_CONTINUE;
	g_source_unref(g->chan.src); /* removed by returning G_SOURCE_REMOVE */
	g->chan.src = NULL;
	vhu_gpu_chan_close(&g->chan);
	if (r == -ECONNRESET) {
		log_info("%s: the back-end closed the display channel", v->vdev.name);
		return G_SOURCE_REMOVE;
	}
	log_warn("%s: display channel: %s: closed", v->vdev.name,
		 r == -EPROTO ? "the back-end broke the protocol" : g_strerror(-r));
	vdev_set_broken(&v->vdev, "vhost-user-gpu display channel broken");
	return G_SOURCE_REMOVE;
}

int vhu_gpu_session(struct vhu_dev *v)
{
	struct vhu_gpu *g = v->gpu;
	int sv[2], r;

	vhu_gpu_chan_close(&g->chan); /* a former back-end's */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	r = vhu_gpu_set_socket(&v->conn, sv[1]);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	g->disp.proto = 0;
	g->chan.fd = sv[0];
	g->chan.src = vhu_watch(v, g_unix_fd_source_new(sv[0], G_IO_IN | G_IO_HUP | G_IO_ERR),
				(GSourceFunc)(void (*)(void))chan_cb, v);
	return 0;
}

void vhu_gpu_session_end(struct vhu_dev *v)
{
	vhu_gpu_chan_close(&v->gpu->chan);
}

struct svq_filter *vhu_gpu_filter(struct vhu_dev *v, unsigned q)
{
	/* virtio 1.2 §5.7.2: queue 0 is controlq; the cursor queue names no memory */
	return q == 0 ? vhu_gpu_shadow_filter(v->gpu->shadow, v->area, v->vdev.mem) : NULL;
}

void vhu_gpu_rings_stopped(struct vhu_dev *v)
{
	vhu_gpu_shadow_reset(v->gpu->shadow);
}

void vhu_gpu_free(struct vhu_dev *v)
{
	if (!v->gpu)
		return;
	vhu_gpu_chan_close(&v->gpu->chan);
	vhu_gpu_shadow_free(v->gpu->shadow);
	vhu_gpu_display_fini(&v->gpu->disp);
	g_free(v->gpu);
	v->gpu = NULL;
}

static int opt_dim(struct vhu_dev *v, GHashTable *opts, const char *key, uint64_t *n,
		   GError **error)
{
	int r = vhu_opt_u64(opts, key, VHU_GPU_DIM_MAX, n, v->vdev.name, error);

	if (r > 0 && *n == 0) {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: %s=0", v->vdev.name, key);
		return -EINVAL;
	}
	return r < 0 ? r : 0;
}

int vhu_gpu_setup(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	uint64_t n = 1, w = GPU_DEFAULT_W, h = GPU_DEFAULT_H, mem = GPU_BACKING_DEFAULT;
	const char *dir = opts ? g_hash_table_lookup(opts, "display") : NULL;
	int r;

	r = vhu_opt_u64(opts, "scanouts", VIRTIO_GPU_MAX_SCANOUTS, &n, v->vdev.name, error);
	if (r >= 0)
		r = opt_dim(v, opts, "width", &w, error);
	if (r >= 0)
		r = opt_dim(v, opts, "height", &h, error);
	if (r >= 0)
		r = vhu_opt_u64(opts, "backing-mem", SVQ_AREA_SIZE_MAX / 2, &mem, v->vdev.name,
				error);
	if (r < 0)
		return r;
	if (dir && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, VDEV_ERROR, ENOENT, "%s: display=%s is not a directory",
			    v->vdev.name, dir);
		return -ENOENT;
	}
	v->scanouts = n ? (uint32_t)n : 1;
	v->gpu = g_new0(struct vhu_gpu, 1);
	v->gpu->chan.fd = -1;
	v->gpu->backing_max = (size_t)mem;
	v->area_extra = (size_t)mem;
	vhu_gpu_display_init(&v->gpu->disp, v->vdev.name, v->scanouts, (uint32_t)w, (uint32_t)h,
			     dir);
	v->gpu->shadow = vhu_gpu_shadow_new(v->vdev.name, (size_t)mem);
	return 0;
}
