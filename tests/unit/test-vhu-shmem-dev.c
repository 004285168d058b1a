/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VIRTIO shared memory regions of a vhost-user device, end to end inside one process:
 * the real device code (devices/vhost-user.c, vhu-dev-shmem.c, vhu-shmem.c) against the
 * real test back-end tests/backends/vhub-shm (a child process, driven over its control
 * socket): GET_SHMEM_CONFIG at creation, good and bad replies, shm-sizes=, shmem-bit=21,
 * SHMEM_MAP/UNMAP of memfds with known content seen through vdev_shm_read/write, and
 * every mapping gone after a device reset and after a back-end disconnect.
 *
 * argv[1] (meson passes it) is the vhub-shm binary. The device's sources run on this
 * thread's main context: every wait iterates it, since xvdm answers the back-end there.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/virtio_config.h>
#include <glib.h>

#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "tests/support/fake-gmem.h"

#define PG	      4096ULL
#define RAM	      0x40000000ULL
#define RAM_SIZE      0x100000
#define V1	      (1ULL << VIRTIO_F_VERSION_1)
#define DEFAULT_SIZE  0x100000ULL /* vhub-shm's default region 0 */
#define DEVICE_ID_OPT "device-id=42"

static const char *vhub_shm;

struct fx {
	char *dir, *sock, *ctl_path;
	GPid pid;
	int ctl;
	struct fake_gmem *fg;
	struct vdev *d;
};

static void spin(int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(NULL, false))
			;
		g_usleep(1000);
	}
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The back-end dies with the test, also when an assertion aborts it. */
static void child_setup(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Start vhub-shm with extra arguments ("--a b --c", split on spaces). */
static void backend_start(struct fx *f, const char *args)
{
	g_autofree char *cmd = g_strdup_printf("%s --socket %s --control %s%s%s", vhub_shm, f->sock,
					       f->ctl_path, args ? " " : "", args ? args : "");
	g_auto(GStrv) argv = g_strsplit(cmd, " ", -1);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

	g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
				    &f->pid, NULL));
	while ((f->ctl = connect_unix(f->ctl_path)) < 0 && g_get_monotonic_time() < end)
		g_usleep(10000);
	g_assert_cmpint(f->ctl, >=, 0);
}

static void backend_stop(struct fx *f)
{
	int st;

	if (!f->pid)
		return;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	g_spawn_close_pid(f->pid);
	f->pid = 0;
	close(f->ctl);
	f->ctl = -1;
}

/* One control command; its reply line (iterating the main context meanwhile). */
static char *ctl(struct fx *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static char *ctl(struct fx *f, const char *fmt, ...)
{
	gint64 end = g_get_monotonic_time() + 8 * G_USEC_PER_SEC;
	GString *line = g_string_new(NULL);
	char *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_assert_cmpint(send(f->ctl, cmd, strlen(cmd), MSG_NOSIGNAL), ==, (ssize_t)strlen(cmd));
	g_assert_cmpint(send(f->ctl, "\n", 1, MSG_NOSIGNAL), ==, 1);
	g_free(cmd);
	while (g_get_monotonic_time() < end) {
		char c;
		ssize_t n = recv(f->ctl, &c, 1, MSG_DONTWAIT);

		if (n == 1 && c == '\n')
			return g_string_free(line, false);
		if (n == 1) {
			g_string_append_c(line, c);
			continue;
		}
		while (g_main_context_iteration(NULL, false))
			;
		g_usleep(500);
	}
	g_string_free(line, true);
	g_assert_not_reached();
}

#define ctl_is(f, want, ...)                               \
	do {                                               \
		g_autofree char *r_ = ctl(f, __VA_ARGS__); \
		g_assert_cmpstr(r_, ==, want);             \
	} while (0)

static void fx_setup(struct fx *f, gconstpointer data)
{
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("vhu-shmem-XXXXXX", NULL);
	f->sock = g_build_filename(f->dir, "be.sock", NULL);
	f->ctl_path = g_build_filename(f->dir, "ctl.sock", NULL);
	f->fg = fake_gmem_new(RAM, RAM_SIZE);
	f->ctl = -1;
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vdev_free(f->d);
	backend_stop(f);
	fake_gmem_free(f->fg);
	unlink(f->sock);
	unlink(f->ctl_path);
	rmdir(f->dir);
	g_free(f->sock);
	g_free(f->ctl_path);
	g_free(f->dir);
}

#define FX_TEST(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

/* vhost-user-device with "k=v,k=v" options (socket= added); 0 or -errno with *error. */
static int create(struct fx *f, const char *opts, GError **error)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	struct vdev_params p = { .name = "dom1/shm0", .mem = &f->fg->gmem, .opts = h };
	g_auto(GStrv) kv = g_strsplit(opts ? opts : "", ",", -1);
	unsigned i;
	int r;

	g_hash_table_insert(h, g_strdup("socket"), g_strdup(f->sock));
	for (i = 0; kv[i]; i++) {
		char *eq = strchr(kv[i], '=');

		if (eq) {
			*eq = 0;
			g_hash_table_replace(h, g_strdup(kv[i]), g_strdup(eq + 1));
		}
	}
	r = vdev_create("vhost-user-device", &p, &f->d, error);
	g_hash_table_destroy(h);
	return r;
}

static uint64_t rd(struct fx *f, unsigned idx, uint64_t off, unsigned size)
{
	uint64_t v = 0xdead;

	vdev_shm_read(f->d, idx, off, size, &v);
	return v;
}

/* vhub-shm's content: byte k of a mapping with seed S (fd_offset 0) */
static uint8_t pat(uint8_t seed, uint64_t k)
{
	return (uint8_t)(1 + (seed + k) % 255);
}

/* The driver's side of initialisation with one ring in guest memory. */
static void drive(struct vdev *d)
{
	struct vdev_queue *vq = vdev_queue(d, 0);

	vdev_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_set_status(d, 3);
	vdev_set_driver_features_word(d, 1, (uint32_t)(V1 >> 32));
	g_assert_cmpint(vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK), ==, 0);
	g_assert_cmpint(vdev_queue_set_num(d, 0, 8), ==, 0);
	vq->desc = RAM;
	vq->avail = RAM + 0x1000;
	vq->used = RAM + 0x2000;
	vq->ready = true;
	vdev_set_status(d, 3 | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	g_assert_true(d->started);
}

/* --- where the regions come from --- */

static void test_config_from_backend(struct fx *f, gconstpointer data)
{
	backend_start(f, "--regions 0:0x10000,7:0x4000000");
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	g_assert_cmpuint(f->d->nshm, ==, 2);
	g_assert_cmpuint(f->d->shm[0].id, ==, 0);
	g_assert_cmpuint(f->d->shm[0].size, ==, 0x10000);
	g_assert_cmpuint(f->d->shm[1].id, ==, 7);
	g_assert_cmpuint(f->d->shm[1].size, ==, 0x4000000);
	ctl_is(f, "conn 1 chan 1 shmem 1 maps 0 resets 0", "status");
}

static void expect_refused(struct fx *f, const char *backend_args)
{
	GError *err = NULL;

	backend_start(f, backend_args);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", &err), <, 0);
	g_assert_nonnull(err);
	g_assert_null(f->d); /* the device fails, not the process */
	g_error_free(err);
	backend_stop(f);
}

static void test_config_bad(struct fx *f, gconstpointer data)
{
	GString *all = g_string_new("--regions ");
	unsigned i;

	expect_refused(f, "--regions 0:12345"); /* not a page multiple */
	expect_refused(f, "--regions 0:0x800");
	expect_refused(f, "--regions 0:0x1000,1:0x1000 --nregions 1"); /* a lie */
	expect_refused(f, "--regions 0:0x1000 --nregions 0");
	expect_refused(f, "--regions 0:0x2000000000000"); /* 512 TiB */
	for (i = 0; i < 256; i++)
		g_string_append_printf(all, "%s%u:0x1000", i ? "," : "", i);
	expect_refused(f, all->str); /* a back-end claiming 256 regions */
	g_string_free(all, true);
}

static void test_config_sizes_option(struct fx *f, gconstpointer data)
{
	/* a back-end without GET_SHMEM_CONFIG (it would drop the connection): not asked */
	backend_start(f, "--no-shmem-config");
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0,shm-sizes=3:64K+1:1M", NULL), ==, 0);
	g_assert_cmpuint(f->d->nshm, ==, 2);
	g_assert_cmpuint(f->d->shm[0].id, ==, 3);
	g_assert_cmpuint(f->d->shm[0].size, ==, 0x10000);
	g_assert_cmpuint(f->d->shm[1].size, ==, 0x100000);
	ctl_is(f, "ack 0", "map 3 0x1000 0x2000 ro 5");
	g_assert_cmphex(rd(f, 0, 0x1000, 1), ==, pat(5, 0));
	ctl_is(f, "ack 1", "map 0 0 0x1000"); /* not one of the configured ids */
}

static void test_config_none(struct fx *f, gconstpointer data)
{
	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0,shm-sizes=none", NULL), ==, 0);
	g_assert_cmpuint(f->d->nshm, ==, 0);
	ctl_is(f, "conn 1 chan 1 shmem 0 maps 0 resets 0", "status");
}

static void test_options_refused(struct fx *f, gconstpointer data)
{
	static const char *const bad[] = {
		"shm-sizes=",	    "shm-sizes=0",
		"shm-sizes=0:",	    "shm-sizes=0:4097",
		"shm-sizes=256:4K", "shm-sizes=0:4K+0:8K",
		"shm-sizes=0:0",    "shm-sizes=0:128G",
		"shm-sizes=x:4K",   "shm-sizes=0:4K+1:4K+2:4K+3:4K+4:4K+5:4K+6:4K+7:4K+8:4K",
		"shm-sizes=0:4K+",  "shm-sizes=0:64G+1:64G+2:64G+3:64G+4:4K",
		"shmem-bit=23",	    "shmem-bit=0",
	};
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *err = NULL;
		g_autofree char *opts = g_strdup_printf(DEVICE_ID_OPT ",%s", bad[i]);

		g_assert_cmpint(create(f, opts, &err), ==, -EINVAL);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, "shm"));
		g_error_free(err);
	}
}

/* rust-vmm vhost <= 0.16 says SHMEM with bit 21 (FACTS 3): only with shmem-bit=21. */
static void test_bit21(struct fx *f, gconstpointer data)
{
	backend_start(f, "--shmem-bit 21");
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	g_assert_cmpuint(f->d->nshm, ==, 0); /* bit 21 is GPA_ADDRESSES upstream: not acked */
	ctl_is(f, "conn 1 chan 1 shmem 0 maps 0 resets 0", "status");
	vdev_free(f->d);
	f->d = NULL;
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0,shmem-bit=21", NULL), ==, 0);
	g_assert_cmpuint(f->d->nshm, ==, 1);
	ctl_is(f, "conn 1 chan 1 shmem 1 maps 0 resets 0", "status");
	ctl_is(f, "ack 0", "map 0 0 0x1000 ro 1");
	g_assert_cmphex(rd(f, 0, 0, 1), ==, pat(1, 0));
}

/* --- mappings --- */

static void test_map_read_unmap(struct fx *f, gconstpointer data)
{
	unsigned k;

	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	ctl_is(f, "ack 0", "map 0 0x4000 0x3000 ro 9");
	for (k = 0; k < 0x3000; k += 0x7f9)
		g_assert_cmphex(rd(f, 0, 0x4000 + k, 1), ==, pat(9, k));
	g_assert_cmphex(rd(f, 0, 0x4000, 4), ==,
			pat(9, 0) | pat(9, 1) << 8 | pat(9, 2) << 16 | (uint64_t)pat(9, 3) << 24);
	g_assert_cmphex(rd(f, 0, 0x3ff8, 8), ==, 0); /* before it: nothing mapped */
	g_assert_cmphex(rd(f, 0, 0x7000, 8), ==, 0); /* after it */
	/* refused by xvdm: overlap, beyond the region, unaligned, zero length, unknown id */
	ctl_is(f, "ack 1", "map 0 0x6000 0x2000");
	ctl_is(f, "ack 1", "map 0 0xff000 0x2000");
	ctl_is(f, "ack 1", "raw map 0 0 0x10800 0x1000 0");
	ctl_is(f, "ack 1", "raw map 0 0 0x10000 0 0");
	ctl_is(f, "ack 1", "raw map 0 0 0x10000 0x1000 0 nofd");
	ctl_is(f, "ack 1", "map 1 0 0x1000");
	ctl_is(f, "ack 1", "unmap 0 0x4000 0x1000"); /* partial */
	g_assert_cmphex(rd(f, 0, 0x4000, 1), ==, pat(9, 0));
	ctl_is(f, "ack 0", "unmap 0 0x4000 0x3000");
	g_assert_cmphex(rd(f, 0, 0x4000, 8), ==, 0); /* gone */
	ctl_is(f, "ack 1", "unmap 0 0x4000 0x3000");
	g_assert_false(f->d->broken);
}

static void test_write(struct fx *f, gconstpointer data)
{
	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	ctl_is(f, "ack 0", "map 0 0 0x1000 rw 0");
	ctl_is(f, "ack 0", "map 0 0x1000 0x1000 ro 0");
	/* the guest writes, the back-end sees it; the back-end writes, the guest sees it */
	g_assert_cmpint(vdev_shm_write(f->d, 0, 0x10, 2, 0xbeef), ==, 0);
	ctl_is(f, "byte 0xef", "peek 0 0x10");
	ctl_is(f, "byte 0xbe", "peek 0 0x11");
	ctl_is(f, "ok", "poke 0 0x20 0x5a");
	g_assert_cmphex(rd(f, 0, 0x20, 1), ==, 0x5a);
	/* read-only: dropped */
	g_assert_cmpint(vdev_shm_write(f->d, 0, 0x1010, 1, 0), ==, -EPERM);
	ctl_is(f, "byte 0x11", "peek 0 0x1010"); /* pat(0, 0x10) */
}

static void test_reset_drops(struct fx *f, gconstpointer data)
{
	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	drive(f->d);
	ctl_is(f, "ack 0", "map 0 0 0x2000 ro 3");
	g_assert_cmphex(rd(f, 0, 0x1000, 1), ==, pat(3, 0x1000));
	vdev_set_status(f->d, 0); /* device reset */
	g_assert_cmphex(rd(f, 0, 0x1000, 8), ==, 0);
	ctl_is(f, "conn 1 chan 1 shmem 1 maps 0 resets 1", "status");
	/* and mapped again after the reset */
	ctl_is(f, "ack 0", "map 0 0 0x2000 ro 4");
	g_assert_cmphex(rd(f, 0, 0, 1), ==, pat(4, 0));
}

/* The driver's probe resets a device that never started: the back-end must hear of it. */
static void test_reset_before_start(struct fx *f, gconstpointer data)
{
	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	ctl_is(f, "ack 0", "map 0 0 0x2000 ro 5");
	g_assert_cmphex(rd(f, 0, 0x10, 1), ==, pat(5, 0x10));
	vdev_set_status(f->d, 0); /* Linux's probe */
	g_assert_cmphex(rd(f, 0, 0x10, 8), ==, 0);
	ctl_is(f, "conn 1 chan 1 shmem 1 maps 0 resets 1", "status");
	/* both tables agree: the same range maps again, and unmaps once */
	ctl_is(f, "ack 0", "map 0 0 0x2000 ro 6");
	g_assert_cmphex(rd(f, 0, 0x10, 1), ==, pat(6, 0x10));
	ctl_is(f, "ack 0", "unmap 0 0 0x2000");
	ctl_is(f, "ack 1", "unmap 0 0 0x2000");
}

static void test_disconnect_drops(struct fx *f, gconstpointer data)
{
	g_autofree char *st = NULL;
	unsigned tries;

	backend_start(f, NULL);
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=1", NULL), ==, 0);
	ctl_is(f, "ack 0", "map 0 0x8000 0x1000 rw 2");
	g_assert_cmphex(rd(f, 0, 0x8000, 1), ==, pat(2, 0));
	ctl_is(f, "ok", "drop");
	spin(200);
	g_assert_cmphex(rd(f, 0, 0x8000, 8), ==, 0); /* gone with the back-end */
	/* it comes back (reconnect=1), the same regions, and maps again */
	for (tries = 0; tries < 50; tries++) {
		g_free(st);
		st = ctl(f, "status");
		if (!strcmp(st, "conn 1 chan 1 shmem 1 maps 0 resets 0"))
			break;
		spin(100);
	}
	g_assert_cmpstr(st, ==, "conn 1 chan 1 shmem 1 maps 0 resets 0");
	ctl_is(f, "ack 0", "map 0 0x8000 0x1000 ro 6");
	g_assert_cmphex(rd(f, 0, 0x8000, 1), ==, pat(6, 0));
	g_assert_cmpuint(f->d->nshm, ==, 1);
}

/* Signals drive the back-end too (the real-Xen lab uses them): --map, SIGUSR1, SIGUSR2. */
static void test_scripted(struct fx *f, gconstpointer data)
{
	backend_start(f, "--map 0:0:0x1000:ro:11 --map 0:0x3000:0x1000:rw");
	g_assert_cmpint(create(f, DEVICE_ID_OPT ",reconnect=0", NULL), ==, 0);
	spin(100);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, pat(11, 0));
	g_assert_cmphex(rd(f, 0, 0x3000, 1), ==, pat(0, 0));
	kill(f->pid, SIGUSR1);
	spin(300);
	g_assert_cmphex(rd(f, 0, 0, 8), ==, 0);
	g_assert_cmphex(rd(f, 0, 0x3000, 8), ==, 0);
	kill(f->pid, SIGUSR2);
	spin(300);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, pat(11, 0));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	signal(SIGPIPE, SIG_IGN);
	vhub_shm = argc > 1 ? argv[1] : getenv("VHUB_SHM");
	if (!vhub_shm) {
		g_printerr("usage: %s PATH-TO-vhub-shm\n", argv[0]);
		return 77;
	}
	FX_TEST("/vhu/shmem-dev/config/from-backend", test_config_from_backend);
	FX_TEST("/vhu/shmem-dev/config/bad", test_config_bad);
	FX_TEST("/vhu/shmem-dev/config/shm-sizes", test_config_sizes_option);
	FX_TEST("/vhu/shmem-dev/config/none", test_config_none);
	FX_TEST("/vhu/shmem-dev/config/options-refused", test_options_refused);
	FX_TEST("/vhu/shmem-dev/config/bit21", test_bit21);
	FX_TEST("/vhu/shmem-dev/map/read-unmap", test_map_read_unmap);
	FX_TEST("/vhu/shmem-dev/map/write", test_write);
	FX_TEST("/vhu/shmem-dev/drop/reset", test_reset_drops);
	FX_TEST("/vhu/shmem-dev/drop/reset-before-start", test_reset_before_start);
	FX_TEST("/vhu/shmem-dev/drop/disconnect", test_disconnect_drops);
	FX_TEST("/vhu/shmem-dev/backend/scripted", test_scripted);
	return g_test_run();
}
