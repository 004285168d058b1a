/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-gpu: the real xvdm serving a vhost-user-gpu device (scanouts=2) in shadow
 * memory mode (DESIGN.md §3) to a simulated domain, backed by QEMU's
 * /usr/lib/qemu/vhost-user-gpu (Debian 12, package qemu-system-gui).
 *
 * vhost-user-gpu needs the display side channel (FACTS 35): the front-end sends
 * VHOST_USER_GPU_SET_SOCKET (33) with one end of a socket pair, answers the back-end's
 * GET_PROTOCOL_FEATURES and GET_DISPLAY_INFO there, and receives the display updates:
 * SCANOUT, then UPDATE with the flushed pixels inline (no DMA-BUF without a render node)
 * or DMABUF_SCANOUT / DMABUF_UPDATE (the latter answered). num_scanouts is 0 in its
 * config: the front-end supplies it.
 *
 * The test sits between xvdm and the back-end as a relay that passes every message (and
 * fd) through unchanged and watches them; when xvdm hands over the side channel, the
 * relay passes it through a socket pair of its own, so the test sees what the back-end
 * shows without depending on how xvdm displays it. The guest side is a virtio-gpu
 * driver as Linux's virtio_gpu uses a 2D device (virtio 1.2 §5.7): num_scanouts from
 * config space; then GET_DISPLAY_INFO (as many enabled scanouts as configured),
 * RESOURCE_CREATE_2D (B8G8R8X8, 64x48), ATTACH_BACKING (three guest pages that are
 * not contiguous), TRANSFER_TO_HOST_2D, SET_SCANOUT, RESOURCE_FLUSH; the pixels the
 * back-end sends on the side channel are compared with what the guest drew, then a
 * sub-rectangle is redrawn, transferred from an offset and flushed, and compared.
 *
 * xvdm serves it in shadow mode (vhost-user-gpu offers no F_XEN_MMAP): the guest
 * addresses inside ATTACH_BACKING are rewritten to shadow copies of the backing in
 * xvdm's area, refreshed on each TRANSFER_TO_HOST_2D. An ATTACH_BACKING that names
 * memory outside guest RAM must fail alone (ERR_UNSPEC) and the device keep working.
 * xvdm runs with display=DIR: the PPM file it writes for scanout 0 must hold the
 * guest's pixels too.
 *
 * Exits 77 if xvdm does not list vhost-user-gpu or vhost-user-gpu is not installed.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpu.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_ids.h>
#include <glib.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"
#include "tests/xensim/vufe.h"

#define VUGPU	 "/usr/lib/qemu/vhost-user-gpu"
#define DOMID	 1
#define IRQ	 42
#define QSIZE	 64
#define CTRLQ	 0
#define SCANOUTS 2
#define W	 64
#define H	 48
#define BPP	 4
#define PAGE	 4096u
#define NPAGES	 (W * H * BPP / PAGE)
#define RES_ID	 7

/* vhost-user and the side channel (docs/interop/vhost-user-gpu.rst): one header each. */
#define VHU_GPU_SET_SOCKET	  33
#define VUG_GET_PROTOCOL_FEATURES 1
#define VUG_SET_PROTOCOL_FEATURES 2
#define VUG_GET_DISPLAY_INFO	  3
#define VUG_FLAG_REPLY		  0x4
#define VUG_SCANOUT		  7
#define VUG_UPDATE		  8
#define VUG_DMABUF_SCANOUT	  9
#define VUG_DMABUF_UPDATE	  10
#define RELAY_MAX_PAYLOAD	  (4u << 20)
#define RELAY_MAX_FDS		  8
#define RELAY_HDR		  12

_Static_assert(W *H *BPP % PAGE == 0, "whole pages of backing");

static struct sim sim;

/* --- the relay --- */

struct relay {
	int listen_fd;
	const char *be_path;
	int fe, be;	      /* main channel: xvdm, vhost-user-gpu */
	int side_fe, side_be; /* side channel: xvdm's end, our end towards the back-end */
	int stop[2];
	pthread_t thread;
	pthread_mutex_t lock;
	/* under lock */
	bool connected, closed, set_socket, failed;
	char what[256];
	unsigned main_msgs, side_msgs, scanouts, dmabuf_msgs, updates;
	uint32_t upd[5]; /* the last UPDATE: scanout_id, x, y, width, height */
	uint8_t *upd_pixels;
	uint32_t upd_len;
};

struct msg {
	uint32_t req, flags, size;
	uint8_t *payload;
	int fds[RELAY_MAX_FDS];
	unsigned nfds;
};

static void msg_close_fds(struct msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/* 0, -EPIPE at EOF, or -errno / -EPROTO. */
static int msg_read(int fd, struct msg *m)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(RELAY_MAX_FDS * sizeof(int))];
	} c;
	uint32_t hdr[3];
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = c.buf,
			     .msg_controllen = sizeof(c.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	size_t got = 0;

	memset(m, 0, sizeof(*m));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		m->nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(m->fds, CMSG_DATA(cm), m->nfds * sizeof(int));
	}
	if (n == 0)
		return -EPIPE;
	if (n != sizeof(hdr) || (mh.msg_flags & MSG_CTRUNC)) {
		msg_close_fds(m);
		return n < 0 ? -errno : -EPROTO;
	}
	m->req = hdr[0];
	m->flags = hdr[1];
	m->size = hdr[2];
	if (m->size > RELAY_MAX_PAYLOAD) {
		msg_close_fds(m);
		return -EPROTO;
	}
	m->payload = g_malloc(m->size + 1);
	while (got < m->size) {
		n = read(fd, m->payload + got, m->size - got);
		if (n <= 0) {
			msg_close_fds(m);
			g_free(m->payload);
			return n < 0 ? -errno : -EPIPE;
		}
		got += (size_t)n;
	}
	return 0;
}

static int msg_write(int fd, const struct msg *m)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(RELAY_MAX_FDS * sizeof(int))];
	} c;
	uint32_t hdr[3] = { m->req, m->flags, m->size };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { m->payload, m->size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = m->size ? 2 : 1 };
	ssize_t n;

	if (m->nfds) {
		mh.msg_control = c.buf;
		mh.msg_controllen = CMSG_SPACE(m->nfds * sizeof(int));
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(m->nfds * sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), m->fds, m->nfds * sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	return n == (ssize_t)(RELAY_HDR + m->size) ? 0 : n < 0 ? -errno : -EIO;
}

/* xvdm's GPU_SET_SOCKET: keep its end, give the back-end one of ours. */
static int relay_take_side(struct relay *r, struct msg *m)
{
	int sp[2];

	if (m->nfds != 1 || r->side_fe >= 0)
		return -EPROTO;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	r->side_fe = m->fds[0];
	r->side_be = sp[0];
	m->fds[0] = sp[1];
	pthread_mutex_lock(&r->lock);
	r->set_socket = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* What the back-end shows: SCANOUT, UPDATE (pixels inline), the DMA-BUF variants. */
static void relay_watch_side(struct relay *r, const struct msg *m)
{
	pthread_mutex_lock(&r->lock);
	r->side_msgs++;
	if (m->req == VUG_SCANOUT)
		r->scanouts++;
	if (m->req == VUG_DMABUF_SCANOUT || m->req == VUG_DMABUF_UPDATE)
		r->dmabuf_msgs++;
	if (m->req == VUG_UPDATE && m->size >= sizeof(r->upd)) {
		memcpy(r->upd, m->payload, sizeof(r->upd));
		g_free(r->upd_pixels);
		r->upd_len = m->size - (uint32_t)sizeof(r->upd);
		r->upd_pixels = g_memdup2(m->payload + sizeof(r->upd), r->upd_len);
		r->updates++;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Move one message from `from` to `to`; false when the relay should end. */
static bool relay_one(struct relay *r, int from, int to)
{
	struct msg m;
	int ret = msg_read(from, &m);

	if (ret == 0 && from == r->fe && m.req == VHU_GPU_SET_SOCKET)
		ret = relay_take_side(r, &m);
	if (ret == 0 && from == r->side_be)
		relay_watch_side(r, &m);
	if (ret == 0)
		ret = msg_write(to, &m);
	msg_close_fds(&m);
	g_free(m.payload);
	if (ret < 0) {
		pthread_mutex_lock(&r->lock);
		if (ret != -EPIPE) {
			r->failed = true;
			snprintf(r->what, sizeof(r->what), "relay: %s", strerror(-ret));
		}
		r->closed = true;
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	if (from == r->fe || from == r->be) {
		pthread_mutex_lock(&r->lock);
		r->main_msgs++;
		pthread_mutex_unlock(&r->lock);
	}
	return true;
}

static int relay_connect(struct relay *r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	r->fe = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (r->fe < 0)
		return -errno;
	r->be = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", r->be_path);
	if (r->be < 0 || connect(r->be, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	pthread_mutex_lock(&r->lock);
	r->connected = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	struct pollfd p[5];
	int ret;

	p[0] = (struct pollfd){ r->stop[0], POLLIN, 0 };
	p[1] = (struct pollfd){ r->listen_fd, POLLIN, 0 };
	if (poll(p, 2, -1) <= 0 || p[0].revents)
		return NULL;
	if ((ret = relay_connect(r)) < 0) {
		pthread_mutex_lock(&r->lock);
		r->failed = r->closed = true;
		snprintf(r->what, sizeof(r->what), "relay: accept/connect: %s", strerror(-ret));
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	for (;;) {
		int fds[4] = { r->fe, r->be, r->side_fe, r->side_be };
		int to[4] = { r->be, r->fe, r->side_be, r->side_fe };

		for (unsigned i = 0; i < 4; i++)
			p[1 + i] = (struct pollfd){ fds[i], POLLIN, 0 }; /* -1 is ignored */
		if (poll(p, 5, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[0].revents)
			return NULL;
		for (unsigned i = 0; i < 4; i++) {
			if (fds[i] >= 0 && p[1 + i].revents && !relay_one(r, fds[i], to[i]))
				return NULL;
		}
	}
}

static void relay_start(struct relay *r, const char *listen_path, const char *be_path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	*r = (struct relay){ .fe = -1, .be = -1, .side_fe = -1, .side_be = -1, .be_path = be_path };
	pthread_mutex_init(&r->lock, NULL);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", listen_path);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	SIM_CHECK(&sim,
		  r->listen_fd >= 0 && !bind(r->listen_fd, (struct sockaddr *)&a, sizeof(a)) &&
			  !listen(r->listen_fd, 1) && !pipe2(r->stop, O_CLOEXEC),
		  "relay socket %s: %s", listen_path, strerror(errno));
	SIM_CHECK(&sim, !pthread_create(&r->thread, NULL, relay_thread, r), "relay thread");
}

static void relay_stop(struct relay *r)
{
	int fds[] = { r->listen_fd, r->fe, r->be, r->side_fe, r->side_be, r->stop[0], r->stop[1] };

	SIM_CHECK(&sim, write(r->stop[1], "x", 1) == 1, "relay stop");
	pthread_join(r->thread, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	g_free(r->upd_pixels);
}

/* --- the guest driver --- */

struct gpu {
	struct vdrv v;
	uint64_t cmd_gpa, resp_gpa;
	uint64_t page_gpa[NPAGES]; /* the resource's backing, not contiguous */
	uint8_t fb[W * H * BPP];   /* what the guest drew, as one linear image */
	unsigned cmds;
};

static uint8_t *ram(struct gpu *g, uint64_t gpa, size_t len)
{
	uint8_t *p = gd_ram(g->v.d, gpa, len);

	SIM_CHECK(&sim, p, "guest RAM 0x%" PRIx64 "+%zu", gpa, len);
	return p;
}

/* One control command (and extra device-readable data); the response type. */
static uint32_t gpu_cmd(struct gpu *g, const void *cmd, uint32_t len, const void *extra,
			uint32_t extra_len, uint32_t resp_len)
{
	struct virtio_gpu_ctrl_hdr *resp;
	struct vdrv_sg sg[3];
	unsigned n = 0;
	uint32_t used, type = le32toh(((const struct virtio_gpu_ctrl_hdr *)cmd)->type);
	uint16_t head, got;
	int r;

	memcpy(ram(g, g->cmd_gpa, len + extra_len), cmd, len);
	sg[n++] = (struct vdrv_sg){ g->cmd_gpa, len, false };
	if (extra_len) {
		memcpy(ram(g, g->cmd_gpa + len, extra_len), extra, extra_len);
		sg[n++] = (struct vdrv_sg){ g->cmd_gpa + len, extra_len, false };
	}
	resp = (struct virtio_gpu_ctrl_hdr *)ram(g, g->resp_gpa, resp_len);
	memset(resp, 0xa5, resp_len);
	sg[n++] = (struct vdrv_sg){ g->resp_gpa, resp_len, true };
	r = vdrv_add(&g->v, CTRLQ, sg, n, &head);
	if (!r)
		r = vdrv_kick(&g->v, CTRLQ);
	if (!r)
		r = vdrv_wait_any(&g->v, CTRLQ, &got, &used, GD_TIMEOUT_MS);
	SIM_CHECK(&sim, !r, "command 0x%x: %s", type, strerror(-r));
	SIM_CHECK(&sim, got == head, "command 0x%x: used head %u, want %u", type, got, head);
	SIM_CHECK(&sim, used >= sizeof(*resp), "command 0x%x: response of %u bytes", type, used);
	if (resp->type == 0xa5a5a5a5) {
		/* Used entry without a response: say what the rings look like a moment later. */
		uint16_t uidx =
			le16toh(__atomic_load_n(&g->v.vq[CTRLQ].used->idx, __ATOMIC_ACQUIRE));

		usleep(200 * 1000);
		sim_note("command 0x%x (%u): used len %u head %u, used idx %u then %u, last used "
			 "%u, "
			 "avail idx %u, response type now 0x%x",
			 type, g->cmds, used, got, uidx,
			 le16toh(__atomic_load_n(&g->v.vq[CTRLQ].used->idx, __ATOMIC_ACQUIRE)),
			 g->v.vq[CTRLQ].last_used, g->v.vq[CTRLQ].avail_idx, le32toh(resp->type));
	}
	g->cmds++;
	return le32toh(resp->type);
}

static void gpu_ok(struct gpu *g, const char *what, const void *cmd, uint32_t len,
		   const void *extra, uint32_t extra_len)
{
	uint32_t t = gpu_cmd(g, cmd, len, extra, extra_len, sizeof(struct virtio_gpu_ctrl_hdr));

	SIM_CHECK(&sim, t == VIRTIO_GPU_RESP_OK_NODATA, "%s: response 0x%x", what, t);
}

#define HDR(t)                                      \
	{                                           \
		.type = htole32(VIRTIO_GPU_CMD_##t) \
	}
#define RECT(x_, y_, w_, h_)                                       \
	{                                                          \
		htole32(x_), htole32(y_), htole32(w_), htole32(h_) \
	}

static void display_info(struct gpu *g)
{
	struct virtio_gpu_ctrl_hdr cmd = HDR(GET_DISPLAY_INFO);
	struct virtio_gpu_resp_display_info *di;
	uint32_t t = gpu_cmd(g, &cmd, sizeof(cmd), NULL, 0, sizeof(*di));
	unsigned enabled = 0;

	SIM_CHECK(&sim, t == VIRTIO_GPU_RESP_OK_DISPLAY_INFO, "GET_DISPLAY_INFO: response 0x%x", t);
	di = (struct virtio_gpu_resp_display_info *)ram(g, g->resp_gpa, sizeof(*di));
	for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
		if (!le32toh(di->pmodes[i].enabled))
			continue;
		SIM_CHECK(&sim, i < SCANOUTS, "GET_DISPLAY_INFO: scanout %u enabled of %u", i,
			  SCANOUTS);
		SIM_CHECK(&sim, le32toh(di->pmodes[i].r.width) && le32toh(di->pmodes[i].r.height),
			  "GET_DISPLAY_INFO: scanout %u enabled with an empty mode", i);
		sim_note("scanout %u: %ux%u", i, le32toh(di->pmodes[i].r.width),
			 le32toh(di->pmodes[i].r.height));
		enabled++;
	}
	SIM_CHECK(&sim, enabled == SCANOUTS, "GET_DISPLAY_INFO: %u scanouts enabled, xvdm has %u",
		  enabled, SCANOUTS);
}

/* Draw into the guest's backing pages and our copy: pixel (x, y) from `seed`. */
static void draw(struct gpu *g, unsigned x0, unsigned y0, unsigned w, unsigned h, uint8_t seed)
{
	for (unsigned y = y0; y < y0 + h; y++) {
		for (unsigned x = x0; x < x0 + w; x++) {
			uint32_t off = (y * W + x) * BPP;
			uint8_t px[BPP] = { (uint8_t)(x * 4 + seed), (uint8_t)(y * 5 + seed),
					    (uint8_t)(x ^ y ^ seed), 0xff };

			memcpy(g->fb + off, px, BPP);
			memcpy(ram(g, g->page_gpa[off / PAGE] + off % PAGE, BPP), px, BPP);
		}
	}
}

/* Wait for UPDATE number `n` and compare its rectangle with the guest's pixels. */
static void check_update(struct gpu *g, struct relay *r, unsigned n, unsigned x0, unsigned y0,
			 unsigned w, unsigned h)
{
	unsigned upd[5], len;
	g_autofree uint8_t *px = NULL;

	for (unsigned i = 0;; i++) {
		pthread_mutex_lock(&r->lock);
		if (r->updates >= n || r->closed || r->dmabuf_msgs)
			break;
		pthread_mutex_unlock(&r->lock);
		SIM_CHECK(&sim, i < 500, "no VHOST_USER_GPU_UPDATE %u from the back-end in 5 s", n);
		g_usleep(10000);
	}
	memcpy(upd, r->upd, sizeof(upd));
	len = r->upd_len;
	px = g_memdup2(r->upd_pixels, len);
	n = r->dmabuf_msgs ? 0 : n;
	pthread_mutex_unlock(&r->lock);
	SIM_CHECK(&sim, n, "the back-end shows by DMA-BUF: this test only reads inline UPDATEs");
	SIM_CHECK(&sim, upd[0] == 0 && upd[1] == x0 && upd[2] == y0 && upd[3] == w && upd[4] == h,
		  "UPDATE: scanout %u (%u,%u) %ux%u, want scanout 0 (%u,%u) %ux%u", upd[0], upd[1],
		  upd[2], upd[3], upd[4], x0, y0, w, h);
	SIM_CHECK(&sim, len == w * h * BPP, "UPDATE: %u bytes of pixels for %ux%u", len, w, h);
	/* B, G, R of each pixel; the X byte is not defined. */
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			SIM_CHECK(&sim,
				  !memcmp(px + (y * w + x) * BPP,
					  g->fb + ((y0 + y) * W + x0 + x) * BPP, 3),
				  "UPDATE: pixel (%u,%u) differs from what the guest drew", x0 + x,
				  y0 + y);
}

/* Command and response pages, and backing pages with a gap after each. */
static void gpu_alloc(struct gpu *g, struct xs_dom *d)
{
	g->cmd_gpa = gd_alloc(d, PAGE, PAGE);
	g->resp_gpa = gd_alloc(d, PAGE, PAGE);
	SIM_CHECK(&sim, g->cmd_gpa && g->resp_gpa, "out of guest RAM");
	for (unsigned i = 0; i < NPAGES; i++) {
		g->page_gpa[i] = gd_alloc(d, PAGE, PAGE);
		SIM_CHECK(&sim, g->page_gpa[i] && gd_alloc(d, PAGE, PAGE), "out of guest RAM");
	}
}

static void gpu_session(struct gpu *g, struct relay *r)
{
	struct virtio_gpu_resource_create_2d c2d = { .hdr = HDR(RESOURCE_CREATE_2D),
						     .resource_id = htole32(RES_ID),
						     .format = htole32(
							     VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM),
						     .width = htole32(W),
						     .height = htole32(H) };
	struct virtio_gpu_resource_attach_backing ab = { .hdr = HDR(RESOURCE_ATTACH_BACKING),
							 .resource_id = htole32(RES_ID),
							 .nr_entries = htole32(NPAGES) };
	struct virtio_gpu_mem_entry ents[NPAGES];
	struct virtio_gpu_transfer_to_host_2d t2d = { .hdr = HDR(TRANSFER_TO_HOST_2D),
						      .r = RECT(0, 0, W, H),
						      .resource_id = htole32(RES_ID) };
	struct virtio_gpu_set_scanout ss = { .hdr = HDR(SET_SCANOUT),
					     .r = RECT(0, 0, W, H),
					     .scanout_id = 0,
					     .resource_id = htole32(RES_ID) };
	struct virtio_gpu_resource_flush rf = { .hdr = HDR(RESOURCE_FLUSH),
						.r = RECT(0, 0, W, H),
						.resource_id = htole32(RES_ID) };

	display_info(g);
	gpu_ok(g, "RESOURCE_CREATE_2D", &c2d, sizeof(c2d), NULL, 0);
	for (unsigned i = 0; i < NPAGES; i++)
		ents[i] = (struct virtio_gpu_mem_entry){ .addr = htole64(g->page_gpa[i]),
							 .length = htole32(PAGE) };
	draw(g, 0, 0, W, H, 0);
	gpu_ok(g, "RESOURCE_ATTACH_BACKING", &ab, sizeof(ab), ents, sizeof(ents));
	gpu_ok(g, "TRANSFER_TO_HOST_2D", &t2d, sizeof(t2d), NULL, 0);
	gpu_ok(g, "SET_SCANOUT", &ss, sizeof(ss), NULL, 0);
	gpu_ok(g, "RESOURCE_FLUSH", &rf, sizeof(rf), NULL, 0);
	check_update(g, r, 1, 0, 0, W, H);

	/* A sub-rectangle: transferred from its offset in the backing, flushed alone. */
	draw(g, 10, 7, 20, 30, 0x55);
	t2d.r = (struct virtio_gpu_rect)RECT(10, 7, 20, 30);
	t2d.offset = htole64((7 * W + 10) * BPP);
	rf.r = t2d.r;
	gpu_ok(g, "TRANSFER_TO_HOST_2D (10,7) 20x30", &t2d, sizeof(t2d), NULL, 0);
	gpu_ok(g, "RESOURCE_FLUSH (10,7) 20x30", &rf, sizeof(rf), NULL, 0);
	check_update(g, r, 2, 10, 7, 20, 30);
}

/* --- the back-end alone, driven by the test's own front-end (vufe.h) --- */

/* The display end of the side channel, as QEMU's front-end serves it (for the direct run). */
struct display {
	struct relay *obs; /* where UPDATEs are recorded */
	int fd;
	pthread_t thread;
	bool handshake; /* SET_PROTOCOL_FEATURES seen (under obs->lock) */
	pthread_cond_t cond;
};

static void *display_thread(void *arg)
{
	struct display *dp = arg;
	struct virtio_gpu_resp_display_info di = { .hdr.type = htole32(
							   VIRTIO_GPU_RESP_OK_DISPLAY_INFO) };
	uint64_t pf = 0;
	struct msg m;

	for (unsigned i = 0; i < SCANOUTS; i++) {
		di.pmodes[i].enabled = htole32(1);
		di.pmodes[i].r.width = htole32(640);
		di.pmodes[i].r.height = htole32(480);
	}
	while (msg_read(dp->fd, &m) == 0) {
		struct msg rep = { .req = m.req, .flags = VUG_FLAG_REPLY };

		relay_watch_side(dp->obs, &m);
		if (m.req == VUG_SET_PROTOCOL_FEATURES) {
			pthread_mutex_lock(&dp->obs->lock);
			dp->handshake = true;
			pthread_cond_broadcast(&dp->cond);
			pthread_mutex_unlock(&dp->obs->lock);
		}
		if (m.req == VUG_GET_PROTOCOL_FEATURES) {
			rep.size = sizeof(pf);
			rep.payload = (uint8_t *)&pf;
		} else if (m.req == VUG_GET_DISPLAY_INFO) {
			rep.size = sizeof(di);
			rep.payload = (uint8_t *)&di;
		}
		if (rep.size && msg_write(dp->fd, &rep) < 0)
			break;
		msg_close_fds(&m);
		g_free(m.payload);
	}
	msg_close_fds(&m);
	return NULL;
}

/*
 * vhost-user-gpu resumes its control queue from the side channel's handshake callback
 * (GET/SET_PROTOCOL_FEATURES). If that runs while the vring set-up messages are still
 * being processed it can pop a request between SET_VRING_ADDR and SET_VRING_BASE, which
 * then rewinds it: the request is served twice. QEMU sends GPU_SET_SOCKET when the device
 * is created, long before the rings; wait for the handshake the same way.
 */
static void wait_handshake(struct display *dp)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&dp->obs->lock);
	while (!dp->handshake && r == 0)
		r = pthread_cond_timedwait(&dp->cond, &dp->obs->lock, &until);
	pthread_mutex_unlock(&dp->obs->lock);
	SIM_CHECK(&sim, dp->handshake, "direct: no SET_PROTOCOL_FEATURES on the side channel");
}

/*
 * The guest driver and the pixel checks against vhost-user-gpu alone, its memory the
 * guest's RAM memfd, the side channel ours: what the xvdm run must match.
 */
static void direct_run(struct xs_dom *d, const char *sock)
{
	struct relay obs = { 0 };
	struct display dp = { .obs = &obs };
	struct gpu g = { 0 };
	struct vufe f;
	int sp[2], ret;

	pthread_mutex_init(&obs.lock, NULL);
	pthread_cond_init(&dp.cond, NULL);
	ret = vufe_connect(&f, sock, 5000);
	if (!ret)
		ret = vufe_negotiate(&f, 1ULL << VIRTIO_F_VERSION_1, 0, 0); /* FACTS 33 */
	SIM_CHECK(&sim, !ret, "direct: connect/negotiate: %s", strerror(-ret));
	SIM_CHECK(&sim, !socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), "socketpair");
	ret = msg_write(f.sock, &(struct msg){ .req = VHU_GPU_SET_SOCKET,
					       .flags = 1,
					       .fds = { sp[1] },
					       .nfds = 1 });
	SIM_CHECK(&sim, !ret, "direct: GPU_SET_SOCKET: %s", strerror(-ret));
	close(sp[1]);
	dp.fd = sp[0];
	SIM_CHECK(&sim, !pthread_create(&dp.thread, NULL, display_thread, &dp), "thread");
	wait_handshake(&dp);
	ret = vufe_set_mem(&f, d, sim.hv, false);
	if (!ret)
		ret = vufe_eventfds(&f);
	if (!ret)
		ret = vdrv_setup_direct(&g.v, d, f.features, 1, QSIZE, &f.kick, &f.call);
	if (!ret)
		ret = vufe_start(&f, &g.v, false);
	SIM_CHECK(&sim, !ret, "direct: set-up: %s", strerror(-ret));
	gpu_alloc(&g, d);
	gpu_session(&g, &obs);
	sim_note("direct: %u commands, %u pixels compared in %u updates, side channel: %u "
		 "messages",
		 g.cmds, W * H + 20 * 30, obs.updates, obs.side_msgs);
	vufe_close(&f);
	pthread_join(dp.thread, NULL); /* the back-end closes its end as it exits */
	close(dp.fd);
	g_free(obs.upd_pixels);
}

/*
 * vhost-user-gpu without MALLOC_PERTURB_ (meson sets it for every test): the back-end
 * leaves parts of what it allocates uninitialised (the flags of its UPDATEs, ...), and
 * its own faults under perturbation are not what this test checks. xvdm keeps it.
 */
static pid_t spawn_vugpu(const char *sockopt)
{
	g_autofree char *perturb = g_strdup(g_getenv("MALLOC_PERTURB_"));
	pid_t pid;

	g_unsetenv("MALLOC_PERTURB_");
	pid = sim_spawn_aux(&sim, (const char *const[]){ VUGPU, sockopt, NULL }, false);
	if (perturb)
		g_setenv("MALLOC_PERTURB_", perturb, TRUE);
	return pid;
}

static void require(struct sim *s)
{
	if (!sim_has_device(s, "vhost-user-gpu")) {
		printf("SKIP: %s: xvdm --list-devices has no vhost-user-gpu\n", s->name);
		exit(77);
	}
	if (access(VUGPU, X_OK)) {
		printf("SKIP: %s: %s not installed (package qemu-system-gui)\n", s->name, VUGPU);
		exit(77);
	}
}

/* Whether data (a PPM file) is the guest's W x H frame. */
static bool ppm_matches(struct gpu *g, const char *data, size_t len)
{
	const char *head = "P6\n64 48\n255\n"; /* the back-end's scanout: the resource's size */
	size_t hl = strlen(head);

	if (len != hl + W * H * 3 || memcmp(data, head, hl))
		return false;
	for (unsigned i = 0; i < W * H; i++) {
		const uint8_t *px = (const uint8_t *)data + hl + 3 * i;

		if (px[0] != g->fb[4 * i + 2] || px[1] != g->fb[4 * i + 1] || px[2] != g->fb[4 * i])
			return false;
	}
	return true;
}

/*
 * The PPM file xvdm writes for scanout 0 (display=DIR) comes to show what the guest drew
 * (the relay sees an UPDATE before xvdm does: wait for it).
 */
static void check_ppm(struct gpu *g, const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "dom1-vhost-user-gpu0-0.ppm", NULL);

	for (unsigned i = 0;; i++) {
		g_autofree char *data = NULL;
		gsize len = 0;

		if (g_file_get_contents(path, &data, &len, NULL) && ppm_matches(g, data, len))
			break;
		SIM_CHECK(&sim, i < 500, "%s: not the guest's %ux%u frame after 5 s", path, W, H);
		g_usleep(10000);
	}
	sim_note("display=DIR: %s holds the guest's %ux%u frame", path, W, H);
}

/* A backing outside guest RAM fails that command alone; the device keeps working. */
static void bad_backing(struct gpu *g)
{
	struct virtio_gpu_resource_create_2d c2d = { .hdr = HDR(RESOURCE_CREATE_2D),
						     .resource_id = htole32(RES_ID + 1),
						     .format = htole32(
							     VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM),
						     .width = htole32(16),
						     .height = htole32(16) };
	struct virtio_gpu_resource_attach_backing ab = { .hdr = HDR(RESOURCE_ATTACH_BACKING),
							 .resource_id = htole32(RES_ID + 1),
							 .nr_entries = htole32(2) };
	struct virtio_gpu_mem_entry ents[2] = {
		{ .addr = htole64(g->page_gpa[0]), .length = htole32(PAGE / 2) },
		{ .addr = htole64(1ULL << 40), .length = htole32(PAGE / 2) }, /* not RAM */
	};
	struct virtio_gpu_resource_unref un = { .hdr = HDR(RESOURCE_UNREF),
						.resource_id = htole32(RES_ID + 1) };
	uint32_t t;

	gpu_ok(g, "RESOURCE_CREATE_2D (16x16)", &c2d, sizeof(c2d), NULL, 0);
	t = gpu_cmd(g, &ab, sizeof(ab), ents, sizeof(ents), sizeof(struct virtio_gpu_ctrl_hdr));
	SIM_CHECK(&sim, t == VIRTIO_GPU_RESP_ERR_UNSPEC,
		  "ATTACH_BACKING outside guest RAM: response 0x%x, want ERR_UNSPEC", t);
	gpu_ok(g, "RESOURCE_UNREF", &un, sizeof(un), NULL, 0);
	display_info(g);
	sim_note("ATTACH_BACKING naming memory outside guest RAM: ERR_UNSPEC, device still "
		 "serving");
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	g_autofree char *sockopt = NULL;
	const char *be_sock, *relay_sock, *direct_sock, *display_dir;
	struct relay r;
	struct gpu g = { 0 };
	char spec[512];
	uint64_t base, n;
	struct xs_dom *d;
	bool set_socket;
	pid_t vug;
	int st, ret;

	sim_init(&sim, "sim-vhu-gpu", argc, argv, 60);
	require(&sim);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	base = hv_host_mmio_base();
	be_sock = sim_path(&sim, "vugpu.sock");
	relay_sock = sim_path(&sim, "relay.sock");
	display_dir = sim_path(&sim, "display");
	SIM_CHECK(&sim, !g_mkdir_with_parents(display_dir, 0700), "mkdir %s", display_dir);
	direct_sock = sim_path(&sim, "vugpu-direct.sock");

	sockopt = g_strdup_printf("--socket-path=%s", direct_sock);
	vug = spawn_vugpu(sockopt);
	sim_wait_listen(&sim, direct_sock, vug, 10000);
	direct_run(d, direct_sock);
	st = sim_aux_stop(&sim, vug, 0, 5000);
	SIM_CHECK(&sim, WIFEXITED(st), "vhost-user-gpu after the direct run: %s",
		  sim_status_str(st));

	g_free(sockopt);
	sockopt = g_strdup_printf("--socket-path=%s", be_sock);
	vug = spawn_vugpu(sockopt);
	sim_wait_listen(&sim, be_sock, vug, 10000);
	relay_start(&r, relay_sock, be_sock);

	snprintf(spec, sizeof(spec),
		 "vhost-user-gpu,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,scanouts=%u,display=%s",
		 base, IRQ, relay_sock, SCANOUTS, display_dir);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	vdrv_init(&g.v, d, 0, base, IRQ);
	ret = vdrv_probe(&g.v, VIRTIO_ID_GPU, 0, 2, QSIZE);
	SIM_CHECK(&sim, !ret, "probe: %s", strerror(-ret));
	/* vhost-user-gpu says 0 scanouts: the number is xvdm's (FACTS 35). */
	SIM_CHECK(&sim,
		  !vdrv_cfg_read(&g.v, offsetof(struct virtio_gpu_config, num_scanouts), 4, &n),
		  "config: num_scanouts");
	SIM_CHECK(&sim, n == SCANOUTS, "config: num_scanouts %" PRIu64 ", xvdm was given %u", n,
		  SCANOUTS);
	sim_note("config: num_scanouts %" PRIu64 ", features 0x%" PRIx64 " of 0x%" PRIx64, n,
		 g.v.features, g.v.device_features);

	pthread_mutex_lock(&r.lock);
	set_socket = r.set_socket;
	SIM_CHECK(&sim, r.connected && !r.failed, "relay: %s",
		  r.connected ? r.what : "xvdm never connected");
	pthread_mutex_unlock(&r.lock);
	SIM_CHECK(&sim, set_socket, "xvdm did not send VHOST_USER_GPU_SET_SOCKET by DRIVER_OK");

	gpu_alloc(&g, d);
	gpu_session(&g, &r);
	sim_note("%u commands, %u pixels compared in 2 updates, side channel: %u messages", g.cmds,
		 W * H + 20 * 30, r.side_msgs);
	check_ppm(&g, display_dir);
	bad_backing(&g);
	ret = vdrv_remove(&g.v);
	SIM_CHECK(&sim, !ret, "remove: %s", strerror(-ret));

	sim_terminate_ok(&sim, 5000);
	relay_stop(&r);
	/* vhost-user-gpu serves one connection and exits when it ends (FACTS 35). */
	st = sim_aux_stop(&sim, vug, 0, 5000);
	SIM_CHECK(&sim, WIFEXITED(st), "vhost-user-gpu after xvdm left: %s", sim_status_str(st));
	g_clear_pointer(&sockopt, g_free); /* sim_pass() exits past scope cleanup */
	sim_pass(&sim);
}
