/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of vhost-user-gpu's side-channel decoder (devices/vhu-gpu.c) and of its
 * shadow-mode control-queue filter (devices/vhu-gpu-shadow.c), the latter through a
 * real shadow queue (devices/svq.c) with the fake back-end of fake-svq-backend.h.
 * Trust boundary: none (test code); the tests play a misbehaving back-end and guest.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <linux/virtio_ring.h>

#include "devices/svq.h"
#include "devices/vdev.h"
#include "devices/vhu-gpu.h"
#include "devices/virtqueue.h"
#include "tests/support/fake-gmem.h"
#include "tests/support/fake-svq-backend.h"

static unsigned warnings;

/* --- the side channel --- */

static int handle(struct vhu_gpu_display *d, uint32_t req, const void *p, uint32_t size, int *fds,
		  unsigned nfds, struct vhu_gpu_reply *rep)
{
	return vhu_gpu_handle(d, req, 0, p, size, fds, nfds, rep);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_display_info(void)
{
	struct vhu_gpu_display d;
	struct vhu_gpu_reply rep;
	struct virtio_gpu_resp_display_info di;
	uint64_t v = 0;

	vhu_gpu_display_init(&d, "dom1/gpu", 3, 800, 600, NULL);
	g_assert_cmpint(handle(&d, VHU_GPU_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &rep), ==, 0);
	g_assert_true(rep.send);
	g_assert_cmpuint(rep.size, ==, 8);
	memcpy(&v, rep.body, 8);
	g_assert_cmpuint(v, ==, 0);
	g_assert_cmpint(handle(&d, VHU_GPU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, &rep), ==, 0);
	g_assert_false(rep.send);
	v = 1; /* EDID: never offered */
	g_assert_cmpint(handle(&d, VHU_GPU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, &rep), ==,
			-EPROTO);
	g_assert_cmpint(handle(&d, VHU_GPU_GET_DISPLAY_INFO, NULL, 0, NULL, 0, &rep), ==, 0);
	g_assert_true(rep.send);
	g_assert_cmpuint(rep.request, ==, VHU_GPU_GET_DISPLAY_INFO);
	g_assert_cmpuint(rep.size, ==, sizeof(di));
	memcpy(&di, rep.body, sizeof(di));
	g_assert_cmpuint(le32toh(di.hdr.type), ==, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
		g_assert_cmpuint(le32toh(di.pmodes[i].enabled), ==, i < 3);
		g_assert_cmpuint(le32toh(di.pmodes[i].r.width), ==, i < 3 ? 800 : 0);
		g_assert_cmpuint(le32toh(di.pmodes[i].r.height), ==, i < 3 ? 600 : 0);
	}
	vhu_gpu_display_fini(&d);
}

static void test_bad_messages(void)
{
	struct vhu_gpu_display d;
	struct vhu_gpu_reply rep;
	uint8_t buf[64] = { 0 };
	uint32_t so[3] = { 0, 4, 4 }, upd[5] = { 0, 0, 0, 4, 4 };
	int sp[2];

	vhu_gpu_display_init(&d, "dom1/gpu", 1, 1024, 768, NULL);
	/* unknown requests, GET_EDID without the protocol feature */
	g_assert_cmpint(vhu_gpu_check_hdr(&d, 0, 0, 0), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, 99, 0, 0), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_GET_EDID, 0, 4), ==, -EPROTO);
	/* sizes */
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_GET_DISPLAY_INFO, 0, 1), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_SCANOUT, 0, 11), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_UPDATE, 0, 19), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_UPDATE, 0, 20 + VHU_GPU_FB_MAX + 1), ==,
			-EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_UPDATE, 0, UINT32_MAX), ==, -EPROTO);
	g_assert_cmpint(vhu_gpu_check_hdr(&d, VHU_GPU_CURSOR_UPDATE, 0, 12), ==, -EPROTO);
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, buf, 8, NULL, 0, &rep), ==, -EPROTO);
	/* a scanout that does not exist, or too large */
	so[0] = 1;
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, so, 12, NULL, 0, &rep), ==, -EPROTO);
	so[0] = 0;
	so[1] = VHU_GPU_DIM_MAX + 1;
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, so, 12, NULL, 0, &rep), ==, -EPROTO);
	so[1] = 4;
	/* UPDATE before SCANOUT, then outside it, then with the wrong pixel count */
	memcpy(buf, upd, 20);
	g_assert_cmpint(handle(&d, VHU_GPU_UPDATE, buf, 20 + 4 * 4 * 4, NULL, 0, &rep), ==,
			-EPROTO);
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, so, 12, NULL, 0, &rep), ==, 0);
	upd[1] = UINT32_MAX; /* x + w overflows */
	memcpy(buf, upd, 20);
	g_assert_cmpint(handle(&d, VHU_GPU_UPDATE, buf, 20 + 64, NULL, 0, &rep), ==, -EPROTO);
	upd[1] = 0;
	upd[3] = 2;
	memcpy(buf, upd, 20);
	g_assert_cmpint(handle(&d, VHU_GPU_UPDATE, buf, 20 + 4, NULL, 0, &rep), ==, -EPROTO);
	/* an fd where none belongs: refused and closed */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), ==, 0);
	g_assert_cmpint(handle(&d, VHU_GPU_GET_DISPLAY_INFO, NULL, 0, &sp[0], 1, &rep), ==,
			-EPROTO);
	g_assert_false(rep.send);
	g_assert_false(fd_open(sp[0]));
	close(sp[1]);
	g_assert_cmpuint(d.updates, ==, 0);
	vhu_gpu_display_fini(&d);
}

static void test_update_and_ppm(void)
{
	g_autofree char *dir = g_dir_make_tmp("vhu-gpu-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "dom1-gpu-0.ppm", NULL);
	g_autofree char *data = NULL;
	struct vhu_gpu_display d;
	struct vhu_gpu_reply rep;
	uint32_t so[3] = { 0, 4, 2 }, msg[5 + 2];
	gsize len = 0;

	g_assert_nonnull(dir);
	vhu_gpu_display_init(&d, "dom1/gpu", 1, 1024, 768, dir);
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, so, 12, NULL, 0, &rep), ==, 0);
	/* two pixels at (1,1): B, G, R, X */
	msg[0] = 0, msg[1] = 1, msg[2] = 1, msg[3] = 2, msg[4] = 1;
	memcpy(&msg[5], "\x01\x02\x03\x00\x04\x05\x06\x00", 8);
	g_assert_cmpint(handle(&d, VHU_GPU_UPDATE, msg, sizeof(msg), NULL, 0, &rep), ==, 0);
	g_assert_false(rep.send);
	g_assert_cmpuint(d.updates, ==, 1);
	g_assert_cmpuint(d.files, ==, 1);
	g_assert_cmpmem(d.so[0].fb + (1 * 4 + 1) * 4, 8, &msg[5], 8);
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	g_assert_cmpuint(len, ==, strlen("P6\n4 2\n255\n") + 4 * 2 * 3);
	g_assert_cmpmem(data + len - 9, 6, "\x03\x02\x01\x06\x05\x04", 6); /* RGB */
	/* disabling the scanout drops its frame */
	so[1] = 0;
	g_assert_cmpint(handle(&d, VHU_GPU_SCANOUT, so, 12, NULL, 0, &rep), ==, 0);
	g_assert_null(d.so[0].fb);
	vhu_gpu_display_fini(&d);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_dmabuf(void)
{
	struct vhu_gpu_display d;
	struct vhu_gpu_reply rep;
	uint32_t ds[10] = { 0, 0, 0, 640, 480, 640, 480, 2560, 0, 0 }, upd[5] = { 0, 0, 0, 8, 8 };
	int sp[2];

	vhu_gpu_display_init(&d, "dom1/gpu", 1, 1024, 768, NULL);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), ==, 0);
	/* the DMA-BUF fd is closed: xvdm does not display DMA-BUFs */
	g_assert_cmpint(handle(&d, VHU_GPU_DMABUF_SCANOUT, ds, 40, &sp[0], 1, &rep), ==, 0);
	g_assert_false(fd_open(sp[0]));
	g_assert_true(d.so[0].dmabuf);
	/* an enabled DMA-BUF scanout without its fd */
	g_assert_cmpint(handle(&d, VHU_GPU_DMABUF_SCANOUT, ds, 40, NULL, 0, &rep), ==, -EPROTO);
	/* DMABUF_UPDATE must be answered: the back-end waits for it */
	g_assert_cmpint(handle(&d, VHU_GPU_DMABUF_UPDATE, upd, 20, NULL, 0, &rep), ==, 0);
	g_assert_true(rep.send);
	g_assert_cmpuint(rep.request, ==, VHU_GPU_DMABUF_UPDATE);
	g_assert_cmpuint(rep.size, ==, 0);
	close(sp[1]);
	vhu_gpu_display_fini(&d);
}

/* The channel over a real socket pair: a reply goes out, a bad message closes it. */
static void test_channel(void)
{
	struct vhu_gpu_display d;
	struct vhu_gpu_chan c = { .fd = -1 };
	uint32_t hdr[3] = { VHU_GPU_GET_DISPLAY_INFO, 0, 0 }, rhdr[3];
	uint8_t body[sizeof(struct virtio_gpu_resp_display_info)];
	int sp[2];

	vhu_gpu_display_init(&d, "dom1/gpu", 1, 1024, 768, NULL);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), ==, 0);
	c.fd = sp[0];
	/* half a header: nothing yet */
	g_assert_cmpint(write(sp[1], hdr, 6), ==, 6);
	g_assert_cmpint(vhu_gpu_chan_serve(&c, &d), ==, 0);
	g_assert_cmpint(write(sp[1], (uint8_t *)hdr + 6, 6), ==, 6);
	g_assert_cmpint(vhu_gpu_chan_serve(&c, &d), ==, 0);
	g_assert_cmpint(read(sp[1], rhdr, 12), ==, 12);
	g_assert_cmpuint(rhdr[0], ==, VHU_GPU_GET_DISPLAY_INFO);
	g_assert_cmpuint(rhdr[1], ==, VHU_GPU_FLAG_REPLY);
	g_assert_cmpuint(rhdr[2], ==, sizeof(body));
	g_assert_cmpint(read(sp[1], body, sizeof(body)), ==, (ssize_t)sizeof(body));
	/* a size beyond the table: refused before anything is allocated */
	hdr[0] = VHU_GPU_UPDATE;
	hdr[2] = UINT32_MAX;
	g_assert_cmpint(write(sp[1], hdr, 12), ==, 12);
	g_assert_cmpint(vhu_gpu_chan_serve(&c, &d), ==, -EPROTO);
	vhu_gpu_chan_close(&c);
	g_assert_cmpint(c.fd, ==, -1);
	/* EOF */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp + 0), ==, 0);
	c.fd = sp[0];
	close(sp[1]);
	g_assert_cmpint(vhu_gpu_chan_serve(&c, &d), ==, -ECONNRESET);
	vhu_gpu_chan_close(&c);
	vhu_gpu_display_fini(&d);
}

/* --- the shadow filter --- */

#define BASE	 0x100000ULL
#define MEM_SIZE 0x100000ULL
#define DESC	 (BASE + 0x0000)
#define AVAIL	 (BASE + 0x4000)
#define USED	 (BASE + 0x6000)
#define CMD	 (BASE + 0x10000)
#define RESP	 (BASE + 0x11000)
#define PAGES	 (BASE + 0x20000) /* backing pages, one apart */
#define QNUM	 8

struct gs {
	struct fake_gmem *fg;
	struct vdev_queue q;
	struct vq *vq;
	struct svq_area *area;
	struct svq *s;
	struct vhu_gpu_shadow *g;
	struct fake_be be;
	uint16_t avail_idx, next_desc;
};

static void gs_setup(struct gs *t, size_t backing_max)
{
	struct svq_ring_addrs ra;

	memset(t, 0, sizeof(*t));
	t->fg = fake_gmem_new(BASE, MEM_SIZE);
	t->q = (struct vdev_queue){ .num_max = QNUM,
				    .num = QNUM,
				    .ready = true,
				    .desc = DESC,
				    .avail = AVAIL,
				    .used = USED };
	g_assert_cmpint(vq_new(&t->fg->gmem, &t->q, 0, "t:q0", &t->vq), ==, 0);
	g_assert_cmpint(svq_area_new(1 << 20, "t", &t->area), ==, 0);
	g_assert_cmpint(svq_new(t->area, t->vq, QNUM, 64 * 1024, "t:svq0", &t->s), ==, 0);
	t->g = vhu_gpu_shadow_new("t", backing_max);
	svq_set_filter(t->s, vhu_gpu_shadow_filter(t->g, t->area, &t->fg->gmem));
	svq_ring_addrs(t->s, &ra);
	fake_be_init(&t->be, svq_area_va(t->area), svq_area_size(t->area), &ra, QNUM);
}

static void gs_teardown(struct gs *t)
{
	fake_be_fini(&t->be);
	svq_free(t->s);
	vhu_gpu_shadow_reset(t->g);
	g_assert_cmpuint(vhu_gpu_shadow_used(t->g), ==, 0);
	vhu_gpu_shadow_free(t->g);
	svq_area_free(t->area);
	vq_free(t->vq);
	fake_gmem_free(t->fg);
}

/*
 * Send a command (cmd + extra readable, a 24-byte response) through the svq. If it
 * reaches the back-end, the back-end answers `be_type` (after checking with `seen`).
 * Returns the response type the guest got.
 */
typedef void (*be_check_fn)(struct gs *t, struct fake_be_req *r);

static uint32_t gs_cmd(struct gs *t, const void *cmd, uint32_t len, uint32_t be_type,
		       be_check_fn seen, bool *ret_reached)
{
	struct virtio_gpu_ctrl_hdr resp = { .type = htole32(be_type) };
	bool kick, notify;
	uint16_t head;
	const char *why;
	uint64_t d = DESC + 16ULL * t->next_desc;
	int r;

	memcpy(fake_gmem_ptr(t->fg, CMD, len), cmd, len);
	memset(fake_gmem_ptr(t->fg, RESP, 24), 0xa5, 24);
	fake_gmem_put64(t->fg, d, CMD);
	fake_gmem_put32(t->fg, d + 8, len);
	fake_gmem_put16(t->fg, d + 12, VRING_DESC_F_NEXT);
	fake_gmem_put16(t->fg, d + 14, (t->next_desc + 1) % QNUM);
	d = DESC + 16ULL * ((t->next_desc + 1) % QNUM);
	fake_gmem_put64(t->fg, d, RESP);
	fake_gmem_put32(t->fg, d + 8, 24);
	fake_gmem_put16(t->fg, d + 12, VRING_DESC_F_WRITE);
	fake_gmem_put16(t->fg, AVAIL + 4 + 2 * (t->avail_idx % QNUM), t->next_desc);
	t->avail_idx++;
	fake_gmem_put16(t->fg, AVAIL + 2, t->avail_idx);
	t->next_desc = (t->next_desc + 2) % QNUM;
	g_assert_cmpint(svq_forward(t->s, &kick, &notify), >=, 0);
	r = fake_be_take(&t->be, &head, &why);
	g_assert_cmpint(r, >=, 0);
	*ret_reached = r == 1;
	if (r == 1) {
		if (seen)
			seen(t, fake_be_req(&t->be, head));
		fake_be_write(fake_be_req(&t->be, head), 0, &resp, sizeof(resp));
		fake_be_use(&t->be, head, sizeof(resp));
		g_assert_cmpint(svq_complete(t->s, &notify), ==, 1);
	}
	g_assert_cmpint(svq_check(t->s), ==, 0);
	return le32toh(((struct virtio_gpu_ctrl_hdr *)fake_gmem_ptr(t->fg, RESP, 24))->type);
}

#define HDR(t)                                      \
	{                                           \
		.type = htole32(VIRTIO_GPU_CMD_##t) \
	}

struct attach3 {
	struct virtio_gpu_resource_attach_backing ab;
	struct virtio_gpu_mem_entry e[3];
};

static uint8_t *shadow_at(struct gs *t, uint64_t gpa)
{
	return (uint8_t *)svq_area_va(t->area) + (gpa - SVQ_AREA_GPA);
}

/* The back-end sees entries inside the area, holding the guest's page contents. */
static void seen_attach(struct gs *t, struct fake_be_req *r)
{
	struct attach3 a;

	g_assert_cmpuint(fake_be_read(r, 0, &a, sizeof(a)), ==, sizeof(a));
	g_assert_cmpuint(le32toh(a.ab.nr_entries), ==, 3);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t gpa = le64toh(a.e[i].addr);

		g_assert_cmpuint(gpa, >=, SVQ_AREA_GPA);
		g_assert_cmpuint(le32toh(a.e[i].length), ==, 4096);
		if (i)
			g_assert_cmpuint(gpa, ==, le64toh(a.e[i - 1].addr) + 4096);
		g_assert_cmpmem(shadow_at(t, gpa), 4096,
				fake_gmem_ptr(t->fg, PAGES + 8192ULL * i, 4096), 4096);
	}
}

static uint64_t shadow_base;

static void seen_transfer(struct gs *t, struct fake_be_req *r)
{
	/* the shadow backing holds the guest's new pixels by the time the back-end looks */
	g_assert_cmpmem(shadow_at(t, shadow_base) + 4096 + 100, 16,
			fake_gmem_ptr(t->fg, PAGES + 8192 + 100, 16), 16);
}

static void remember_base(struct gs *t, struct fake_be_req *r)
{
	struct attach3 a;

	fake_be_read(r, 0, &a, sizeof(a));
	shadow_base = le64toh(a.e[0].addr);
}

static void test_shadow_attach(void)
{
	struct virtio_gpu_resource_create_2d c2d = { .hdr = HDR(RESOURCE_CREATE_2D),
						     .resource_id = htole32(5),
						     .format = htole32(1),
						     .width = htole32(64),
						     .height = htole32(48) };
	struct attach3 a = { .ab = { .hdr = HDR(RESOURCE_ATTACH_BACKING),
				     .resource_id = htole32(5),
				     .nr_entries = htole32(3) } };
	struct virtio_gpu_transfer_to_host_2d t2d = { .hdr = HDR(TRANSFER_TO_HOST_2D),
						      .r = { 0, htole32(16), htole32(4),
							     htole32(16) },
						      .offset = htole64(4096 + 100),
						      .resource_id = htole32(5) };
	struct virtio_gpu_resource_unref un = { .hdr = HDR(RESOURCE_UNREF),
						.resource_id = htole32(5) };
	struct gs t;
	bool reached;

	gs_setup(&t, 1 << 20);
	for (unsigned i = 0; i < 3; i++) {
		a.e[i].addr = htole64(PAGES + 8192ULL * i);
		a.e[i].length = htole32(4096);
		memset(fake_gmem_ptr(t.fg, PAGES + 8192ULL * i, 4096), 0x10 + i, 4096);
	}
	g_assert_cmpuint(gs_cmd(&t, &c2d, sizeof(c2d), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached),
			 ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(
		gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, seen_attach, &reached), ==,
		VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(vhu_gpu_shadow_used(t.g), ==, 3 * 4096);
	g_assert_cmpuint(vhu_gpu_shadow_resources(t.g), ==, 1);
	/* a second backing for the same resource: refused here */
	g_assert_cmpuint(gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached), ==,
			 VIRTIO_GPU_RESP_ERR_UNSPEC);
	g_assert_false(reached);
	/* the guest draws; a transfer of a rectangle (rows at stride 256) copies it */
	memset(fake_gmem_ptr(t.fg, PAGES + 8192 + 100, 16), 0x77, 16);
	g_assert_cmpuint(gs_cmd(&t, &t2d, sizeof(t2d), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached),
			 ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(gs_cmd(&t, &un, sizeof(un), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached), ==,
			 VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(vhu_gpu_shadow_used(t.g), ==, 0);
	g_assert_cmpuint(vhu_gpu_shadow_resources(t.g), ==, 0);
	/* again, now checking the transferred bytes in the shadow */
	g_assert_cmpuint(gs_cmd(&t, &c2d, sizeof(c2d), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached),
			 ==, VIRTIO_GPU_RESP_OK_NODATA);
	g_assert_cmpuint(
		gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, remember_base, &reached), ==,
		VIRTIO_GPU_RESP_OK_NODATA);
	memset(fake_gmem_ptr(t.fg, PAGES + 8192 + 100, 16), 0x99, 16);
	g_assert_cmpuint(
		gs_cmd(&t, &t2d, sizeof(t2d), VIRTIO_GPU_RESP_OK_NODATA, seen_transfer, &reached),
		==, VIRTIO_GPU_RESP_OK_NODATA);
	gs_teardown(&t);
}

static void test_shadow_refusals(void)
{
	struct attach3 a = { .ab = { .hdr = HDR(RESOURCE_ATTACH_BACKING),
				     .resource_id = htole32(9),
				     .nr_entries = htole32(3) } };
	struct virtio_gpu_resource_create_blob blob = { .hdr = HDR(RESOURCE_CREATE_BLOB) };
	struct gs t;
	bool reached;

	gs_setup(&t, 8192); /* room for two pages */
	for (unsigned i = 0; i < 3; i++) {
		a.e[i].addr = htole64(PAGES + 8192ULL * i);
		a.e[i].length = htole32(4096);
	}
	/* over backing-mem: OUT_OF_MEMORY, never sent */
	g_assert_cmpuint(gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached), ==,
			 VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	g_assert_false(reached);
	g_assert_cmpuint(warnings, >, 0);
	/* outside guest RAM: UNSPEC, never sent, nothing kept */
	a.ab.nr_entries = htole32(2);
	a.e[1].addr = htole64(1ULL << 40);
	g_assert_cmpuint(gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached), ==,
			 VIRTIO_GPU_RESP_ERR_UNSPEC);
	g_assert_false(reached);
	g_assert_cmpuint(vhu_gpu_shadow_used(t.g), ==, 0);
	/* more entries than the request holds */
	a.ab.nr_entries = htole32(4);
	g_assert_cmpuint(gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached), ==,
			 VIRTIO_GPU_RESP_ERR_UNSPEC);
	g_assert_false(reached);
	/* the back-end refuses a good one: its block is freed */
	a.ab.nr_entries = htole32(2);
	a.e[1].addr = htole64(PAGES + 8192);
	g_assert_cmpuint(
		gs_cmd(&t, &a, sizeof(a), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, NULL, &reached),
		==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
	g_assert_true(reached);
	g_assert_cmpuint(vhu_gpu_shadow_used(t.g), ==, 0);
	/* blobs name guest pages too: refused */
	g_assert_cmpuint(gs_cmd(&t, &blob, sizeof(blob), VIRTIO_GPU_RESP_OK_NODATA, NULL, &reached),
			 ==, VIRTIO_GPU_RESP_ERR_UNSPEC);
	g_assert_false(reached);
	/* in flight at reset: the block goes with the queue */
	gs_teardown(&t);
}

/* Warnings are part of what is tested (refusals are logged): count them, do not abort. */
static GLogWriterOutput count_warnings(GLogLevelFlags level, const GLogField *fields, gsize n,
				       gpointer data)
{
	if (level & G_LOG_LEVEL_WARNING)
		warnings++;
	return g_log_writer_default(level, fields, n, data);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(count_warnings, NULL, NULL);
	g_test_add_func("/vhu-gpu/chan/display-info", test_display_info);
	g_test_add_func("/vhu-gpu/chan/bad-messages", test_bad_messages);
	g_test_add_func("/vhu-gpu/chan/update-ppm", test_update_and_ppm);
	g_test_add_func("/vhu-gpu/chan/dmabuf", test_dmabuf);
	g_test_add_func("/vhu-gpu/chan/socket", test_channel);
	g_test_add_func("/vhu-gpu/shadow/attach-transfer-unref", test_shadow_attach);
	g_test_add_func("/vhu-gpu/shadow/refusals", test_shadow_refusals);
	return g_test_run();
}
