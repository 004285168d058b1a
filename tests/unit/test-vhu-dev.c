/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device (devices/vhost-user.c, vhu-rings.c, vhu-types.c) against the
 * scripted fake back-end of tests/support/fake-backend.h, driven through the device
 * core the way a transport does. The fake runs on its own thread; the device's sources
 * run on this thread's default main context, iterated by spin().
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <glib.h>

#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/svq.h"
#include "devices/vdev.h"
#include "devices/vhu-conn.h"
#include "devices/vhu-proto.h"
#include "tests/support/fake-backend.h"
#include "tests/support/fake-gmem.h"

#define QSD_FEATURES 0x175007e46ULL /* FACTS 32 */
#define QSD_PROTO    0x8f2bULL
#define V1	     (1ULL << VIRTIO_F_VERSION_1)
#define RAM	     0x40000000ULL
#define RAM_SIZE     0x100000
#define RAM1	     0x200000000ULL

/* --- a bus that counts, guest memory with shareable banks --- */

struct tbus {
	struct vdev_bus bus;
	unsigned used[VDEV_MAX_QUEUES];
	unsigned config;
};

static void tb_used(struct vdev_bus *b, unsigned q)
{
	((struct tbus *)b)->used[q]++;
}

static void tb_config(struct vdev_bus *b)
{
	((struct tbus *)b)->config++;
}

static const struct vdev_bus_ops tb_ops = { .notify_used = tb_used, .notify_config = tb_config };

struct xgm {
	struct gmem gmem;
	struct fake_gmem *fg;
	bool shareable;
	unsigned shares;
};

static struct fake_gmem *fg_of(struct gmem *g)
{
	return ((struct xgm *)g)->fg;
}

static int xgm_read(struct gmem *g, uint64_t gpa, void *buf, size_t len)
{
	return gmem_read(&fg_of(g)->gmem, gpa, buf, len);
}

static int xgm_write(struct gmem *g, uint64_t gpa, const void *buf, size_t len)
{
	return gmem_write(&fg_of(g)->gmem, gpa, buf, len);
}

static void xgm_invalidate(struct gmem *g)
{
}

static int xgm_regions(struct gmem *g, struct gmem_region *ret, unsigned max)
{
	if (!((struct xgm *)g)->shareable)
		return -EOPNOTSUPP;
	ret[0] = (struct gmem_region){ RAM, RAM_SIZE };
	if (max > 1)
		ret[1] = (struct gmem_region){ RAM1, 0x10000 };
	return max > 1 ? 2 : 1;
}

static int xgm_share(struct gmem *g, unsigned idx, uint32_t flags, struct gmem_share *ret)
{
	((struct xgm *)g)->shares++;
	ret->fd = eventfd(0, EFD_CLOEXEC); /* stands for a privcmd fd */
	ret->xen_flags = flags;
	ret->domid = 7;
	return 0;
}

static const struct gmem_ops xgm_ops = {
	.read = xgm_read,
	.write = xgm_write,
	.invalidate = xgm_invalidate,
	.regions = xgm_regions,
	.share = xgm_share,
};

/* --- fixture --- */

struct fx {
	char *dir, *path;
	struct xgm mem;
	struct tbus bus;
	struct fake_backend *fb;
	struct vdev *d;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("vhu-dev-XXXXXX", NULL);
	f->path = g_build_filename(f->dir, "be.sock", NULL);
	f->mem.gmem.ops = &xgm_ops;
	f->mem.fg = fake_gmem_new(RAM, RAM_SIZE);
	f->bus.bus.ops = &tb_ops;
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vdev_free(f->d);
	fake_backend_free(f->fb);
	fake_gmem_free(f->mem.fg);
	unlink(f->path);
	rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

#define FX_TEST(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

static void spin_ms(int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(NULL, false))
			;
		g_usleep(1000);
	}
}

/* Iterate the main context until cond holds (evaluated once per round). */
#define spin_until(cond, ms)                                               \
	({                                                                 \
		gint64 end_ = g_get_monotonic_time() + (ms)*1000;          \
		bool ok_;                                                  \
		while (!(ok_ = (cond)) && g_get_monotonic_time() < end_) { \
			while (g_main_context_iteration(NULL, false))      \
				;                                          \
			g_usleep(1000);                                    \
		}                                                          \
		ok_;                                                       \
	})

/* Create a device of `type` with "k=v,k=v" options (socket= is added). */
static int create(struct fx *f, const char *type, const char *opts, GError **error)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	struct vdev_params p = { .name = "dom1/vhu0", .mem = &f->mem.gmem, .opts = h };
	char **kv = g_strsplit(opts ? opts : "", ",", -1);
	unsigned i;
	int r;

	g_hash_table_insert(h, g_strdup("socket"), g_strdup(f->path));
	for (i = 0; kv[i]; i++) {
		char *eq = strchr(kv[i], '=');

		if (eq) {
			*eq = 0;
			g_hash_table_replace(h, g_strdup(kv[i]), g_strdup(eq + 1));
		}
	}
	g_strfreev(kv);
	r = vdev_create(type, &p, &f->d, error);
	g_hash_table_destroy(h);
	if (r == 0)
		vdev_attach(f->d, &f->bus.bus);
	return r;
}

static uint64_t offered(struct vdev *d)
{
	return vdev_host_features_word(d, 0) | (uint64_t)vdev_host_features_word(d, 1) << 32;
}

static uint64_t qaddr(unsigned q, unsigned part)
{
	return RAM + q * 0x10000 + part * 0x1000;
}

/* The driver's side of initialisation (virtio 1.2 §3.1.1), queues of 8 entries. */
static void drive(struct vdev *d, uint64_t features, unsigned nready)
{
	unsigned q;

	g_assert_cmpint(vdev_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE), ==, 0);
	g_assert_cmpint(vdev_set_status(d, 3), ==, 0);
	vdev_set_driver_features_word(d, 0, (uint32_t)features);
	vdev_set_driver_features_word(d, 1, (uint32_t)(features >> 32));
	g_assert_cmpint(vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK), ==, 0);
	g_assert_true(vdev_get_status(d) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (q = 0; q < nready; q++) {
		struct vdev_queue *vq = vdev_queue(d, q);

		g_assert_cmpint(vdev_queue_set_num(d, q, 8), ==, 0);
		vq->desc = qaddr(q, 0);
		vq->avail = qaddr(q, 1);
		vq->used = qaddr(q, 2);
		vq->ready = true;
	}
	vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* --- creation --- */

static void test_create_absent(struct fx *f, gconstpointer data)
{
	GError *err = NULL;
	gint64 t0 = g_get_monotonic_time();

	g_assert_cmpint(create(f, "vhost-user-blk", "reconnect=0", &err), <, 0);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "no vhost-user back-end"));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 3 * G_USEC_PER_SEC); /* bounded */
	g_error_free(err);
}

static void test_create_background(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(create(f, "vhost-user-blk", NULL, NULL), ==, 0);
	/* not known yet: nothing but VERSION_1 offered, FEATURES_OK refused */
	g_assert_cmphex(offered(f->d), ==, V1);
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_true(spin_until(offered(f->d) != V1, 3000));
	g_assert_true(offered(f->d) & (1ULL << VIRTIO_BLK_F_FLUSH));
}

static void test_create_bad_options(struct fx *f, gconstpointer data)
{
	static const char *const bad[][2] = {
		{ "vhost-user-blk", "mem=fast" },
		{ "vhost-user-blk", "reconnect=soon" },
		{ "vhost-user-blk", "server=maybe" },
		{ "vhost-user-blk", "shadow-mem=0" },
		{ "vhost-user-blk", "num-queues=0" },
		{ "vhost-user-blk", "num-queues=65" },
		{ "vhost-user-blk", "xen-flags=0x1ffffffff" },
		{ "vhost-user-fs", "num-request-queues=1" }, /* no tag */
		{ "vhost-user-fs", "tag=0123456789012345678901234567890123456" },
		{ "vhost-user-net", "mac=01:02:03:04:05:06" }, /* multicast */
		{ "vhost-user-device", "num-queues=1" },       /* no device-id */
		{ "vhost-user-device", "device-id=2,config-size=257" },
		{ "vhost-user-blk", "tag=x" }, /* not a blk key */
	};
	unsigned i;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *err = NULL;

		g_assert_cmpint(create(f, bad[i][0], bad[i][1], &err), <, 0);
		g_assert_nonnull(err);
		g_test_message("%s,%s: %s", bad[i][0], bad[i][1], err->message);
		g_error_free(err);
		g_assert_null(f->d);
	}
}

/* --- negotiation and config --- */

static void test_blk_qsd(struct fx *f, gconstpointer data)
{
	uint64_t cap = 4096, got = 0, want;
	uint16_t nq = 0;
	struct fb_msg m;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	memcpy(f->fb->config, &cap, 8);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	/* back-end ∩ blk mask, plus the rings our engine serves; bit 30 never */
	want = (QSD_FEATURES & 0xffffffULL & ~(1ULL << VIRTIO_BLK_F_MQ)) | V1 |
	       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	g_assert_cmphex(offered(f->d), ==, want);
	g_assert_cmpuint(f->d->cfg_size, ==, 60);
	g_assert_cmpint(vdev_cfg_read(f->d, 0, &got, 8), ==, 0);
	g_assert_cmpuint(got, ==, 4096);
	g_assert_cmpint(vdev_cfg_read(f->d, offsetof(struct virtio_blk_config, num_queues), &nq, 2),
			==, 0);
	g_assert_cmpuint(nq, ==, 1);
	g_assert_cmphex(f->fb->acked_proto, ==, 0x629);
	/* the back-end channel was handed over */
	g_assert_true(fake_backend_last(f->fb, VHU_SET_BACKEND_REQ_FD, &m));
	g_assert_cmpuint(m.nfds, ==, 1);
}

static void test_blk_mq(struct fx *f, gconstpointer data)
{
	GError *err = NULL;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	f->fb->queue_num = 4;
	g_assert_cmpint(create(f, "vhost-user-blk", "num-queues=4", NULL), ==, 0);
	g_assert_cmpuint(f->d->nqueues, ==, 4);
	g_assert_true(offered(f->d) & (1ULL << VIRTIO_BLK_F_MQ));
	vdev_free(f->d);
	f->d = NULL;
	/* more queues than the back-end serves: refused */
	g_assert_cmpint(create(f, "vhost-user-blk", "num-queues=8,reconnect=0", &err), <, 0);
	g_error_free(err);
}

/*
 * virtio-gpu requests carry guest addresses (ATTACH_BACKING) that shadow copies cannot
 * translate: mem=shadow is refused at creation, a back-end without F_XEN_MMAP is not
 * served, and with F_XEN_MMAP num_scanouts is supplied when the back-end says 0
 * (FACTS 35).
 */
static void gpu_modes(struct fx *f)
{
	GError *err = NULL;
	uint32_t n = 0;

	struct fb_msg m;

	/* shadow mode translates ATTACH_BACKING (vhu-gpu-shadow.c): served, no VIRGL there */
	g_assert_cmpint(create(f, "vhost-user-gpu", "mem=shadow,reconnect=0,scanouts=3", &err), ==,
			0);
	g_assert_no_error(err);
	/* the side channel: one fd, never NEED_REPLY (libvhost-user would not ack it) */
	g_assert_true(fake_backend_wait(f->fb, VHU_GPU_SET_SOCKET, 1, 1000));
	g_assert_true(fake_backend_last(f->fb, VHU_GPU_SET_SOCKET, &m));
	g_assert_cmpuint(m.nfds, ==, 1);
	g_assert_cmpuint(m.flags & VHU_FLAG_NEED_REPLY, ==, 0);
	g_assert_cmpint(vdev_cfg_read(f->d, 8, &n, 4), ==, 0);
	g_assert_cmpuint(n, ==, 3);
	vdev_free(f->d);
	f->d = NULL;
	/* bad gpu options name their key */
	g_assert_cmpint(create(f, "vhost-user-gpu", "width=0", &err), <, 0);
	g_assert_nonnull(strstr(err->message, "width"));
	g_clear_error(&err);
	g_assert_cmpint(create(f, "vhost-user-gpu", "display=/nonexistent/dir", &err), <, 0);
	g_assert_nonnull(strstr(err->message, "display"));
	g_clear_error(&err);
	fake_backend_free(f->fb);
	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, V1 | (1ULL << 30), QSD_PROTO | VHU_PF(XEN_MMAP));
	g_assert_cmpint(create(f, "vhost-user-gpu", "scanouts=2", NULL), ==, 0);
	g_assert_cmpint(vdev_cfg_read(f->d, 8, &n, 4), ==, 0);
	g_assert_cmpuint(n, ==, 2);
	vdev_free(f->d);
	f->d = NULL;
	fake_backend_free(f->fb);
	f->mem.shareable = false;
	f->fb = fake_backend_new(f->path, V1 | (1ULL << 30), QSD_PROTO);
}

static void test_types(struct fx *f, gconstpointer data)
{
	uint8_t cfg[40];
	uint32_t n = 0;

	f->fb = fake_backend_new(f->path, V1 | (1ULL << 30), QSD_PROTO);
	/* virtio-fs: config built by xvdm (virtiofsd has none, FACTS 35) */
	g_assert_cmpint(create(f, "vhost-user-fs", "tag=shared,num-request-queues=2", NULL), ==, 0);
	g_assert_cmpuint(f->d->device_id, ==, VIRTIO_ID_FS);
	g_assert_cmpuint(f->d->nqueues, ==, 3);
	g_assert_cmpint(vdev_cfg_read(f->d, 0, cfg, 40), ==, 0);
	g_assert_cmpstr((char *)cfg, ==, "shared");
	memcpy(&n, cfg + 36, 4);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpint(vdev_cfg_write(f->d, 0, "x", 1), <, 0); /* read-only */
	vdev_free(f->d);
	/* virtio-net: MAC and STATUS are ours */
	g_assert_cmpint(create(f, "vhost-user-net", "mac=52:54:00:aa:bb:cc", NULL), ==, 0);
	g_assert_cmpuint(f->d->nqueues, ==, 2);
	g_assert_true(offered(f->d) & (1ULL << 5));
	g_assert_cmpint(vdev_cfg_read(f->d, 0, cfg, 6), ==, 0);
	g_assert_cmpmem(cfg, 6, "\x52\x54\x00\xaa\xbb\xcc", 6);
	vdev_free(f->d);
	f->d = NULL;
	gpu_modes(f);
	/* generic */
	g_assert_cmpint(
		create(f, "vhost-user-device", "device-id=34,num-queues=3,config-size=8", NULL), ==,
		0);
	g_assert_cmpuint(f->d->device_id, ==, 34);
	g_assert_cmpuint(f->d->nqueues, ==, 3);
	g_assert_cmpuint(f->d->cfg_size, ==, 8);
	vdev_free(f->d);
	f->d = NULL;
	/* every other type at least comes up */
	{
		static const char *const t[] = { "vhost-user-vsock",  "vhost-user-i2c",
						 "vhost-user-gpio",   "vhost-user-snd",
						 "vhost-user-scmi",   "vhost-user-rng",
						 "vhost-user-input",  "vhost-user-can",
						 "vhost-user-console" };
		unsigned i;

		for (i = 0; i < G_N_ELEMENTS(t); i++) {
			g_assert_cmpint(create(f, t[i], NULL, NULL), ==, 0);
			vdev_free(f->d);
			f->d = NULL;
		}
	}
}

/* --- start: the request sequence in each memory mode --- */

static const uint32_t start_order[] = { VHU_SET_FEATURES,   VHU_SET_MEM_TABLE,	 VHU_SET_VRING_NUM,
					VHU_SET_VRING_BASE, VHU_SET_VRING_ADDR,	 VHU_SET_VRING_KICK,
					VHU_SET_VRING_CALL, VHU_SET_VRING_ENABLE };

static void expect_order(struct fake_backend *fb, unsigned from)
{
	struct fb_msg m;
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(start_order); i++) {
		g_assert_true(fake_backend_msg(fb, from + i, &m));
		g_assert_cmpuint(m.req, ==, start_order[i]);
		/* REPLY_ACK (in 0x8f2b) is used from SET_FEATURES on */
		g_assert_cmphex(m.flags, ==, 0x9);
	}
}

static void test_start_shadow(struct fx *f, gconstpointer data)
{
	struct fb_msg m;
	unsigned before;
	uint64_t v;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	before = fake_backend_nmsgs(f->fb);
	drive(f->d, V1 | (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC), 1);
	g_assert_true(f->d->started);
	expect_order(f->fb, before);
	/* the back-end gets the driver's features minus the rings we serve, plus bit 30 */
	g_assert_true(fake_backend_last(f->fb, VHU_SET_FEATURES, &m));
	memcpy(&v, m.payload, 8);
	g_assert_cmphex(v, ==,
			V1 | (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << 30) |
				(1ULL << VIRTIO_RING_F_EVENT_IDX));
	/* one 32-byte region: the shadow area */
	g_assert_true(fake_backend_last(f->fb, VHU_SET_MEM_TABLE, &m));
	g_assert_cmpuint(m.size, ==, 8 + 32);
	g_assert_cmpuint(m.nfds, ==, 1);
	memcpy(&v, m.payload + 8, 8);
	g_assert_cmphex(v, ==, SVQ_AREA_GPA);
}

static void test_start_xen(struct fx *f, gconstpointer data)
{
	struct fb_msg m;
	uint32_t u;
	uint64_t v;

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(XEN_MMAP));
	g_assert_cmpint(create(f, "vhost-user-blk", NULL, NULL), ==, 0); /* mem=auto */
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_true(fake_backend_last(f->fb, VHU_SET_MEM_TABLE, &m));
	g_assert_cmpuint(m.size, ==, 8 + 40 * 2); /* FACTS 9 */
	g_assert_cmpuint(m.nfds, ==, 2);
	memcpy(&v, m.payload + 8 + 40 + 16, 8);
	g_assert_cmphex(v, ==, RAM1); /* userspace_addr = gpa */
	memcpy(&u, m.payload + 8 + 32, 4);
	g_assert_cmphex(u, ==, 0x1); /* FOREIGN */
	memcpy(&u, m.payload + 8 + 36, 4);
	g_assert_cmpuint(u, ==, 7);
	g_assert_cmpuint(f->mem.shares, ==, 2);
	/* ring addresses are guest-physical */
	g_assert_true(fake_backend_last(f->fb, VHU_SET_VRING_ADDR, &m));
	memcpy(&v, m.payload + 8, 8);
	g_assert_cmphex(v, ==, qaddr(0, 0));
	memcpy(&v, m.payload + 16, 8);
	g_assert_cmphex(v, ==, qaddr(0, 2));

	/* kick relay and call relay (coalesced, never lost) */
	vdev_kick(f->d, 0);
	vdev_kick(f->d, 0);
	g_assert_cmpuint(fake_backend_kicks(f->fb, 0), ==, 2);
	fake_backend_call(f->fb, 0);
	fake_backend_call(f->fb, 0);
	g_assert_true(spin_until(f->bus.used[0] >= 1, 2000));
	spin_ms(20);
	g_assert_cmpuint(f->bus.used[0], ==, 1);
	fake_backend_call(f->fb, 0);
	g_assert_true(spin_until(f->bus.used[0] == 2, 2000));
}

static void test_start_xen_grant(struct fx *f, gconstpointer data)
{
	struct fb_msg m;
	uint32_t u;

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(XEN_MMAP));
	GError *err = NULL;
	uint64_t v;

	g_assert_cmpint(create(f, "vhost-user-blk", "xen-grant=on", NULL), ==, 0); /* mem=auto */
	/* the guest's grant DMA needs ACCESS_PLATFORM, offered whatever the back-end says */
	g_assert_cmphex(vdev_host_features_word(f->d, 1) & (1u << (VIRTIO_F_ACCESS_PLATFORM - 32)),
			!=, 0);
	drive(f->d, V1 | (1ULL << VIRTIO_F_ACCESS_PLATFORM), 1);
	g_assert_true(f->d->started);
	g_assert_true(fake_backend_last(f->fb, VHU_SET_MEM_TABLE, &m));
	/* one region over the grant-reference space (bit 63), one gntdev fd */
	g_assert_cmpuint(m.size, ==, 8 + 40);
	g_assert_cmpuint(m.nfds, ==, 1);
	memcpy(&v, m.payload + 8, 8);
	g_assert_cmphex(v, ==, 1ULL << 63);
	memcpy(&v, m.payload + 8 + 8, 8);
	g_assert_cmphex(v, ==, 1ULL << 44);
	memcpy(&v, m.payload + 8 + 16, 8);
	g_assert_cmphex(v, ==, 1ULL << 63); /* userspace_addr = guest address */
	memcpy(&u, m.payload + 8 + 32, 4);
	g_assert_cmphex(u, ==, 0xa); /* GRANT | rust-vmm's NO_ADVANCE_MAP (FACTS 10) */
	memcpy(&u, m.payload + 8 + 36, 4);
	g_assert_cmpuint(u, ==, 7);
	/* the back-end did not offer ACCESS_PLATFORM: it does not get it */
	g_assert_true(fake_backend_last(f->fb, VHU_SET_FEATURES, &m));
	memcpy(&v, m.payload, 8);
	g_assert_cmphex(v & (1ULL << VIRTIO_F_ACCESS_PLATFORM), ==, 0);
	vdev_free(f->d);
	/* shadow copies cannot follow grant addresses */
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,xen-grant=on", &err), <, 0);
	g_assert_nonnull(strstr(err->message, "cannot serve grant mappings"));
	g_clear_error(&err);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=xen-mmap,xen-flags=0x102", NULL), ==, 0);
	drive(f->d, V1, 1);
	g_assert_true(fake_backend_last(f->fb, VHU_SET_MEM_TABLE, &m));
	memcpy(&u, m.payload + 8 + 32, 4);
	g_assert_cmphex(u, ==, 0x102);
}

static void test_xen_required(struct fx *f, gconstpointer data)
{
	GError *err = NULL;

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=xen-mmap,reconnect=0", &err), <, 0);
	g_error_free(err);
}

/* --- the shadow data path, end to end through the fake back-end --- */

struct ring {
	uint8_t *desc, *avail, *used;
};

static void shadow_ring(struct fake_backend *fb, struct ring *r)
{
	struct fb_msg m;
	uint64_t a[3];

	g_assert_true(fake_backend_last(fb, VHU_SET_VRING_ADDR, &m));
	memcpy(a, m.payload + 8, 24); /* desc, used, avail: xvdm's addresses, this process */
	r->desc = (uint8_t *)(uintptr_t)a[0];
	r->used = (uint8_t *)(uintptr_t)a[1];
	r->avail = (uint8_t *)(uintptr_t)a[2];
}

/* Serve the next shadow request: check the readable bytes, fill the writable ones. */
static void backend_serve_one(struct fake_backend *fb, uint16_t *last, const char *expect,
			      const char *answer)
{
	struct ring r;
	uint16_t aidx, head, i, flags, used_idx;
	uint32_t len, written = 0;
	uint64_t addr;

	shadow_ring(fb, &r);
	memcpy(&aidx, r.avail + 2, 2);
	g_assert_cmpuint(aidx, !=, *last);
	memcpy(&head, r.avail + 4 + 2 * (*last % 8), 2);
	i = head;
	for (;;) {
		uint8_t *p;

		memcpy(&addr, r.desc + 16 * i, 8);
		memcpy(&len, r.desc + 16 * i + 8, 4);
		memcpy(&flags, r.desc + 16 * i + 12, 2);
		p = fake_backend_gpa(fb, addr, len);
		g_assert_nonnull(p);
		if (flags & VRING_DESC_F_WRITE) {
			memcpy(p, answer, strlen(answer));
			written += strlen(answer);
		} else {
			g_assert_cmpmem(p, strlen(expect), expect, strlen(expect));
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		memcpy(&i, r.desc + 16 * i + 14, 2);
	}
	memcpy(&used_idx, r.used + 2, 2);
	memcpy(r.used + 4 + 8 * (used_idx % 8), &(uint32_t){ head }, 4);
	memcpy(r.used + 4 + 8 * (used_idx % 8) + 4, &written, 4);
	used_idx++;
	__atomic_store_n((uint16_t *)(void *)(r.used + 2), used_idx, __ATOMIC_RELEASE);
	(*last)++;
	fake_backend_call(fb, 0);
}

/* A guest request: a readable buffer with `out`, a writable one of 16 bytes. */
static void guest_post(struct fx *f, uint16_t slot, const char *out)
{
	struct fake_gmem *fg = f->mem.fg;
	uint64_t buf = RAM + 0x80000 + slot * 0x100;
	uint16_t idx = fake_gmem_get16(fg, qaddr(0, 1) + 2);

	memcpy(fake_gmem_ptr(fg, buf, 16), out, strlen(out));
	fake_gmem_put64(fg, qaddr(0, 0) + 16 * (2 * slot), buf);
	fake_gmem_put32(fg, qaddr(0, 0) + 16 * (2 * slot) + 8, 16);
	fake_gmem_put16(fg, qaddr(0, 0) + 16 * (2 * slot) + 12, VRING_DESC_F_NEXT);
	fake_gmem_put16(fg, qaddr(0, 0) + 16 * (2 * slot) + 14, 2 * slot + 1);
	fake_gmem_put64(fg, qaddr(0, 0) + 16 * (2 * slot + 1), buf + 0x80);
	fake_gmem_put32(fg, qaddr(0, 0) + 16 * (2 * slot + 1) + 8, 16);
	fake_gmem_put16(fg, qaddr(0, 0) + 16 * (2 * slot + 1) + 12, VRING_DESC_F_WRITE);
	fake_gmem_put16(fg, qaddr(0, 1) + 4 + 2 * (idx % 8), 2 * slot);
	fake_gmem_put16(fg, qaddr(0, 1) + 2, idx + 1);
}

static void expect_guest_used(struct fx *f, uint16_t n, uint16_t slot, const char *in)
{
	struct fake_gmem *fg = f->mem.fg;

	g_assert_cmpuint(fake_gmem_get16(fg, qaddr(0, 2) + 2), ==, n);
	g_assert_cmpuint(fake_gmem_get32(fg, qaddr(0, 2) + 4 + 8 * ((n - 1) % 8)), ==, 2 * slot);
	g_assert_cmpmem(fake_gmem_ptr(fg, RAM + 0x80000 + slot * 0x100 + 0x80, strlen(in)),
			strlen(in), in, strlen(in));
}

static void test_shadow_data(struct fx *f, gconstpointer data)
{
	uint16_t last = 0;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	drive(f->d, V1, 1);
	guest_post(f, 0, "request-0");
	vdev_kick(f->d, 0);
	g_assert_cmpuint(fake_backend_kicks(f->fb, 0), >=, 1);
	backend_serve_one(f->fb, &last, "request-0", "answer-0");
	g_assert_true(spin_until(f->bus.used[0] >= 1, 2000));
	expect_guest_used(f, 1, 0, "answer-0");
	/* a spurious call (FACTS 33) completes nothing and notifies nobody */
	fake_backend_call(f->fb, 0);
	spin_ms(20);
	g_assert_cmpuint(f->bus.used[0], ==, 1);
}

/* --- back-end channel --- */

static void test_chan_config_change(struct fx *f, gconstpointer data)
{
	uint64_t cap = 1;
	unsigned gets;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	drive(f->d, V1, 1);
	gets = fake_backend_count(f->fb, VHU_GET_CONFIG);
	cap = 8192;
	memcpy(f->fb->config, &cap, 8);
	/* REPLY_ACK negotiated + NEED_REPLY: exactly one reply, 0 */
	g_assert_cmpint(
		fake_backend_chan_request(f->fb, VHU_B_CONFIG_CHANGE_MSG, true, NULL, 0, 2000), ==,
		0);
	g_assert_true(spin_until(f->bus.config == 1, 2000));
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_GET_CONFIG), ==, gets + 1);
	g_assert_cmpint(vdev_cfg_read(f->d, 0, &cap, 8), ==, 0);
	g_assert_cmpuint(cap, ==, 8192);
	g_assert_cmpuint(f->d->cfg_generation, ==, 1);
	/* VRING_CALL on the channel is a call */
	g_assert_cmpint(fake_backend_chan_request(f->fb, VHU_B_VRING_CALL, true,
						  &(struct vhu_vring_state){ 0, 0 }, 8, 2000),
			==, 0);
	/* SHMEM_MAP: this back-end has no SHMEM, refused */
	g_assert_cmpint(fake_backend_chan_request(f->fb, VHU_B_SHMEM_MAP, true,
						  &(struct vhu_shmem_map){ 0 }, 40, 2000),
			==, 1);
	g_assert_false(f->d->broken);
}

/* --- stop, loss, reconnect --- */

static void test_reset(struct fx *f, gconstpointer data)
{
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(RESET_DEVICE));
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	drive(f->d, V1, 1);
	vdev_set_status(f->d, 0);
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_GET_VRING_BASE), ==, 1);
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_RESET_DEVICE), ==, 1);
	/* and again from scratch */
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_SET_MEM_TABLE), ==, 2);
}

static void test_nack_fails_start(struct fx *f, gconstpointer data)
{
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	f->fb->nack_req = VHU_SET_VRING_ADDR;
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	drive(f->d, V1, 1);
	g_assert_true(f->d->broken);
	g_assert_true(vdev_get_status(f->d) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_timeout_breaks(struct fx *f, gconstpointer data)
{
	gint64 t0;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	f->fb->mute_req = VHU_SET_VRING_NUM; /* never acked */
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,timeout=300,reconnect=0", NULL), ==,
			0);
	t0 = g_get_monotonic_time();
	drive(f->d, V1, 1);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	g_assert_true(f->d->broken);
}

static void test_loss_no_reconnect(struct fx *f, gconstpointer data)
{
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,reconnect=0", NULL), ==, 0);
	drive(f->d, V1, 1);
	fake_backend_drop(f->fb);
	g_assert_true(spin_until(f->d->broken, 2000));
	g_assert_true(vdev_get_status(f->d) & VIRTIO_CONFIG_S_NEEDS_RESET);
	g_assert_cmpuint(f->bus.config, ==, 1);
	vdev_kick(f->d, 0); /* dropped by the core, no crash */
}

static void test_reconnect_shadow(struct fx *f, gconstpointer data)
{
	uint16_t last = 0;
	struct fb_msg m;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,reconnect=1", NULL), ==, 0);
	drive(f->d, V1, 1);
	guest_post(f, 0, "first");
	vdev_kick(f->d, 0);
	/* the back-end took the request and died before completing it */
	fake_backend_drop(f->fb);
	g_assert_true(spin_until(fake_backend_count(f->fb, VHU_SET_VRING_ENABLE) == 2, 4000));
	g_assert_true(fake_backend_last(f->fb, VHU_SET_VRING_BASE, &m));
	g_assert_cmpuint(m.conn, ==, 2);
	g_assert_false(f->d->broken);
	/* the request is posted again on the new back-end's ring, from index 0 */
	g_assert_true(spin_until(fake_backend_kicks(f->fb, 0) >= 1, 2000));
	backend_serve_one(f->fb, &last, "first", "done");
	g_assert_true(spin_until(f->bus.used[0] >= 1, 2000));
	expect_guest_used(f, 1, 0, "done"); /* exactly once */
	g_assert_cmpuint(fake_gmem_get16(f->mem.fg, qaddr(0, 2) + 2), ==, 1);
}

static void test_reconnect_xen_base(struct fx *f, gconstpointer data)
{
	struct fb_msg m;
	uint32_t st[2];

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(XEN_MMAP));
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=xen-mmap,reconnect=1", NULL), ==, 0);
	drive(f->d, V1, 1);
	fake_gmem_put16(f->mem.fg, qaddr(0, 2) + 2, 5); /* the guest saw 5 completions */
	fake_backend_drop(f->fb);
	g_assert_true(spin_until(fake_backend_count(f->fb, VHU_SET_VRING_ENABLE) == 2, 4000));
	g_assert_true(fake_backend_last(f->fb, VHU_SET_VRING_BASE, &m));
	memcpy(st, m.payload, 8);
	g_assert_cmpuint(st[1], ==, 5);
	g_assert_false(f->d->broken);
}

static void test_reconnect_features_changed(struct fx *f, gconstpointer data)
{
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,reconnect=1", NULL), ==, 0);
	drive(f->d, V1 | (1ULL << VIRTIO_BLK_F_FLUSH), 1);
	f->fb->features = QSD_FEATURES & ~(1ULL << VIRTIO_BLK_F_FLUSH);
	fake_backend_drop(f->fb);
	g_assert_true(spin_until(f->d->broken, 4000));
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_SET_VRING_ENABLE), ==, 1);
}

static void test_start_while_away(struct fx *f, gconstpointer data)
{
	uint16_t last = 0;

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow,reconnect=1", NULL), ==, 0);
	fake_backend_drop(f->fb);
	g_assert_true(spin_until(fake_backend_count(f->fb, 0) > 0 && !f->fb->connected, 500));
	spin_ms(50); /* the loss is seen */
	/* the driver comes up while the back-end is away: no DEVICE_NEEDS_RESET */
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_false(f->d->broken);
	guest_post(f, 0, "early");
	vdev_kick(f->d, 0);
	g_assert_true(spin_until(fake_backend_count(f->fb, VHU_SET_VRING_ENABLE) == 1, 4000));
	g_assert_true(spin_until(fake_backend_kicks(f->fb, 0) >= 1, 2000));
	backend_serve_one(f->fb, &last, "early", "late");
	g_assert_true(spin_until(f->bus.used[0] >= 1, 2000));
	expect_guest_used(f, 1, 0, "late");
}

static void test_server_mode(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(create(f, "vhost-user-blk", "server=on,mem=shadow", NULL), ==, 0);
	f->fb = fake_backend_new_client(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_true(spin_until(offered(f->d) != V1, 3000));
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_cmpuint(fake_backend_count(f->fb, VHU_SET_VRING_ENABLE), ==, 1);
}

/* --- back-ends that take the connection but never answer (stopped or stuck) --- */

static void test_stuck_create(struct fx *f, gconstpointer data)
{
	int lfd = vhu_socket_listen(f->path); /* never accepted: connects complete in the backlog */
	GError *err = NULL;
	gint64 t0 = g_get_monotonic_time();

	/* reconnect=0: a clear error once the answer's bound (timeout=) has passed */
	g_assert_cmpint(create(f, "vhost-user-blk", "reconnect=0,timeout=200", &err), ==,
			-ETIMEDOUT);
	g_assert_nonnull(strstr(err->message, "did not answer GET_FEATURES within 200 ms"));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	g_clear_error(&err);
	/*
	 * reconnect on: created, nothing offered; the retries (every 1 s, each given 200 ms)
	 * fill the backlog and never block the loop: a spin of 3 s takes about 3 s.
	 */
	g_assert_cmpint(create(f, "vhost-user-blk", "reconnect=1,timeout=200", NULL), ==, 0);
	t0 = g_get_monotonic_time();
	spin_ms(3000);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 3500 * 1000);
	g_assert_cmphex(offered(f->d), ==, V1);
	/* the back-end comes to life on the same socket: negotiated, the driver can start */
	close(lfd);
	unlink(f->path);
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_true(spin_until(offered(f->d) != V1, 4000));
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
}

static void test_stuck_server_peer(struct fx *f, gconstpointer data)
{
	int c1, c2;
	char b[16];

	g_assert_cmpint(create(f, "vhost-user-blk", "server=on,mem=shadow,timeout=300", NULL), ==,
			0);
	/* a peer that connects and never answers, then a second one meanwhile */
	c1 = vhu_socket_connect(f->path);
	g_assert_cmpint(c1, >=, 0);
	spin_ms(50);
	c2 = vhu_socket_connect(f->path);
	g_assert_cmpint(c2, >=, 0);
	spin_ms(50);
	g_assert_cmpint(recv(c2, b, sizeof(b), MSG_DONTWAIT), ==, 0);  /* refused: closed */
	g_assert_cmpint(recv(c1, b, sizeof(b), MSG_DONTWAIT), ==, 12); /* GET_FEATURES */
	/* its bound passes: dropped, the loop never blocked */
	g_assert_true(spin_until(recv(c1, b, sizeof(b), MSG_DONTWAIT) == 0, 2000));
	g_assert_cmphex(offered(f->d), ==, V1);
	close(c1);
	close(c2);
	/* a real back-end connects: negotiated */
	f->fb = fake_backend_new_client(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_true(spin_until(offered(f->d) != V1, 3000));
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
}

/* --- a notification path outside xvdm (struct vdev_notify: the kernel's privcmd eventfds) --- */

struct tnotify {
	struct vdev_notify n;
	unsigned take; /* VDEV_NOTIFY_* to take */
	int fail;      /* attach's return */
	unsigned attached, detached;
	int kick[VDEV_MAX_QUEUES], call[VDEV_MAX_QUEUES];
	bool open_at_detach;
};

static int tn_attach(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd,
		     unsigned *ret_took)
{
	struct tnotify *t = container_of(n, struct tnotify, n);

	t->attached++;
	t->kick[q] = kick_fd;
	t->call[q] = call_fd;
	*ret_took = t->fail ? 0 : t->take;
	return t->fail;
}

static void tn_detach(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd)
{
	struct tnotify *t = container_of(n, struct tnotify, n);

	t->detached++;
	g_assert_cmpint(kick_fd, ==, t->kick[q]);
	g_assert_cmpint(call_fd, ==, t->call[q]);
	/* the device still holds both: a kernel deassign needs them open */
	t->open_at_detach = fcntl(kick_fd, F_GETFD) >= 0 && fcntl(call_fd, F_GETFD) >= 0;
}

static const struct vdev_notify_ops tn_ops = { .attach = tn_attach, .detach = tn_detach };

static void test_notify_kernel(struct fx *f, gconstpointer data)
{
	struct tnotify t = { .n.ops = &tn_ops, .take = VDEV_NOTIFY_KICK | VDEV_NOTIFY_CALL };
	uint64_t one = 1, n = 0;

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(XEN_MMAP));
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=xen-mmap", NULL), ==, 0);
	vdev_set_notify(f->d, &t.n);
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_cmpuint(t.attached, ==, 1);
	/* "the kernel" signals the kick eventfd: the back-end sees the kick */
	g_assert_cmpint(write(t.kick[0], &one, 8), ==, 8);
	g_assert_true(spin_until(fake_backend_kicks(f->fb, 0) == 1, 2000));
	/* the back-end's call is the kernel's now: xvdm raises nothing, the count waits */
	fake_backend_call(f->fb, 0);
	spin_ms(30);
	g_assert_cmpuint(f->bus.used[0], ==, 0);
	g_assert_cmpint(read(t.call[0], &n, 8), ==, 8);
	g_assert_cmpuint(n, ==, 1);
	/* reset: detached before the eventfds close, once */
	vdev_set_status(f->d, 0);
	g_assert_cmpuint(t.detached, ==, 1);
	g_assert_true(t.open_at_detach);
	/* again; then the device goes, detaching in teardown */
	drive(f->d, V1, 1);
	g_assert_cmpuint(t.attached, ==, 2);
	vdev_free(f->d);
	f->d = NULL;
	g_assert_cmpuint(t.detached, ==, 2);
}

static void test_notify_partial_and_refused(struct fx *f, gconstpointer data)
{
	struct tnotify t = { .n.ops = &tn_ops, .take = VDEV_NOTIFY_KICK };

	f->mem.shareable = true;
	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO | VHU_PF(XEN_MMAP));
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=xen-mmap", NULL), ==, 0);
	vdev_set_notify(f->d, &t.n);
	drive(f->d, V1, 1);
	/* kicks only: calls are still relayed by xvdm */
	fake_backend_call(f->fb, 0);
	g_assert_true(spin_until(f->bus.used[0] == 1, 2000));
	vdev_kick(f->d, 0); /* a QueueNotify the kernel did not match still gets through */
	g_assert_true(spin_until(fake_backend_kicks(f->fb, 0) == 1, 2000));
	vdev_set_status(f->d, 0);
	g_assert_cmpuint(t.detached, ==, 1);
	/* an attach that fails (notify=kernel and the kernel refused): no start */
	t.fail = -EPERM;
	drive(f->d, V1, 1);
	g_assert_false(f->d->started);
	g_assert_cmpuint(t.detached, ==, 1);
}

static void test_notify_shadow(struct fx *f, gconstpointer data)
{
	struct tnotify t = { .n.ops = &tn_ops, .take = VDEV_NOTIFY_KICK | VDEV_NOTIFY_CALL };

	f->fb = fake_backend_new(f->path, QSD_FEATURES, QSD_PROTO);
	g_assert_cmpint(create(f, "vhost-user-blk", "mem=shadow", NULL), ==, 0);
	vdev_set_notify(f->d, &t.n);
	drive(f->d, V1, 1);
	g_assert_true(f->d->started);
	g_assert_cmpuint(t.attached, ==, 0); /* shadow rings need every kick and call */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	FX_TEST("/vhu/dev/create/absent", test_create_absent);
	FX_TEST("/vhu/dev/create/background", test_create_background);
	FX_TEST("/vhu/dev/create/bad-options", test_create_bad_options);
	FX_TEST("/vhu/dev/negotiate/blk-qsd", test_blk_qsd);
	FX_TEST("/vhu/dev/negotiate/blk-mq", test_blk_mq);
	FX_TEST("/vhu/dev/types", test_types);
	FX_TEST("/vhu/dev/start/shadow", test_start_shadow);
	FX_TEST("/vhu/dev/start/xen-mmap", test_start_xen);
	FX_TEST("/vhu/dev/start/xen-grant", test_start_xen_grant);
	FX_TEST("/vhu/dev/start/xen-required", test_xen_required);
	FX_TEST("/vhu/dev/shadow/data", test_shadow_data);
	FX_TEST("/vhu/dev/chan/config-change", test_chan_config_change);
	FX_TEST("/vhu/dev/stop/reset", test_reset);
	FX_TEST("/vhu/dev/broken/nack", test_nack_fails_start);
	FX_TEST("/vhu/dev/broken/timeout", test_timeout_breaks);
	FX_TEST("/vhu/dev/broken/loss-no-reconnect", test_loss_no_reconnect);
	FX_TEST("/vhu/dev/reconnect/shadow-resume", test_reconnect_shadow);
	FX_TEST("/vhu/dev/reconnect/xen-base", test_reconnect_xen_base);
	FX_TEST("/vhu/dev/reconnect/features-changed", test_reconnect_features_changed);
	FX_TEST("/vhu/dev/reconnect/start-while-away", test_start_while_away);
	FX_TEST("/vhu/dev/server-mode", test_server_mode);
	FX_TEST("/vhu/dev/stuck/create", test_stuck_create);
	FX_TEST("/vhu/dev/stuck/server-peer", test_stuck_server_peer);
	FX_TEST("/vhu/dev/notify/kernel", test_notify_kernel);
	FX_TEST("/vhu/dev/notify/partial-refused", test_notify_partial_and_refused);
	FX_TEST("/vhu/dev/notify/shadow", test_notify_shadow);
	return g_test_run();
}
