/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shared memory bookkeeping of vhost-user devices (devices/vhu-shmem.c) and the
 * back-end channel's SHMEM_MAP/UNMAP (devices/vhu-conn.c): every rule of FACTS 16-18 with
 * a negative test, mappings of memfds with known content, guest accesses, and the reply
 * that goes out before the request takes effect. No device and no back-end process: the
 * channel is a socketpair driven by hand.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <glib.h>

#include "devices/vhu-conn.h"
#include "devices/vhu-shmem.h"

#define PG  4096ULL
#define MIB (1ULL << 20)

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A memfd of `size` bytes, byte i = (uint8_t)(seed + i / PG) (one value per page). */
static int memfd_pattern(uint64_t size, uint8_t seed)
{
	int fd = memfd_create("test-shm", MFD_CLOEXEC);
	uint8_t *p;
	uint64_t i;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(p != MAP_FAILED);
	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(seed + i / PG);
	munmap(p, size);
	return fd;
}

static uint8_t fd_byte(int fd, uint64_t off)
{
	uint8_t b = 0;

	g_assert_cmpint(pread(fd, &b, 1, (off_t)off), ==, 1);
	return b;
}

/* --- fixture: two regions, shmid 0 (1 MiB) and shmid 5 (64 KiB) --- */

static const struct vdev_shm regions[] = { { .id = 0, .size = MIB }, { .id = 5, .size = 16 * PG } };

struct fx {
	struct vhu_shmem s;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
	vhu_shmem_init(&f->s, "test/shm", regions, G_N_ELEMENTS(regions), GPOINTER_TO_UINT(data));
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vhu_shmem_fini(&f->s);
}

#define FX_TEST(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)
#define FX_TEST_CAP(path, fn, cap) \
	g_test_add(path, struct fx, GUINT_TO_POINTER(cap), fx_setup, fn, fx_teardown)

static struct vhu_shmem_map req(uint8_t shmid, uint64_t fd_off, uint64_t shm_off, uint64_t len,
				uint64_t flags)
{
	return (struct vhu_shmem_map){ .shmid = shmid,
				       .fd_offset = fd_off,
				       .shm_offset = shm_off,
				       .len = len,
				       .flags = flags };
}

/* MAP through prepare + commit with a fresh memfd of fd_size bytes; the result. */
static int do_map(struct fx *f, struct vhu_shmem_map m, uint64_t fd_size, uint8_t seed)
{
	int r = vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, memfd_pattern(fd_size, seed));

	if (r == 0)
		vhu_shmem_commit(&f->s, true);
	return r;
}

static int do_unmap(struct fx *f, struct vhu_shmem_map m)
{
	int r = vhu_shmem_prepare(&f->s, VHU_B_SHMEM_UNMAP, &m, -1);

	if (r == 0)
		vhu_shmem_commit(&f->s, true);
	return r;
}

static uint64_t rd(struct fx *f, unsigned idx, uint64_t off, unsigned size)
{
	uint64_t v = 0xdead;

	vhu_shmem_read(&f->s, idx, off, size, &v);
	return v;
}

/* --- GET_SHMEM_CONFIG (FACTS 16) --- */

static void test_config_valid(void)
{
	struct vhu_shmem_config *c = g_new0(struct vhu_shmem_config, 1);
	struct vdev_shm r[VHU_SHMEM_MAX_REGIONS];
	const char *why = NULL;
	unsigned n = 99;

	g_assert_cmpint(vhu_shmem_config_parse(c, r, &n, &why), ==, 0);
	g_assert_cmpuint(n, ==, 0); /* no regions is a valid answer */
	c->nregions = 2;
	c->memory_sizes[3] = 64 * MIB;
	c->memory_sizes[255] = PG;
	c->padding = 0xffffffff; /* not looked at */
	g_assert_cmpint(vhu_shmem_config_parse(c, r, &n, &why), ==, 0);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpuint(r[0].id, ==, 3);
	g_assert_cmpuint(r[0].size, ==, 64 * MIB);
	g_assert_cmpuint(r[1].id, ==, 255);
	g_assert_cmpuint(r[1].size, ==, PG);
	/* the largest region, eight of them up to the sum limit */
	memset(c, 0, sizeof(*c));
	c->nregions = 4;
	for (n = 0; n < 4; n++)
		c->memory_sizes[n * 10] = VHU_SHMEM_REGION_MAX;
	g_assert_cmpint(vhu_shmem_config_parse(c, r, &n, &why), ==, 0);
	g_assert_cmpuint(n, ==, 4);
	g_free(c);
}

static void expect_bad_config(const struct vhu_shmem_config *c)
{
	struct vdev_shm r[VHU_SHMEM_MAX_REGIONS];
	const char *why = NULL;
	unsigned n = 99;

	g_assert_cmpint(vhu_shmem_config_parse(c, r, &n, &why), ==, -EPROTO);
	g_assert_nonnull(why);
	g_assert_cmpuint(n, ==, 99);
}

static void test_config_nregions(void)
{
	struct vhu_shmem_config *c = g_new0(struct vhu_shmem_config, 1);

	c->memory_sizes[0] = PG;
	c->memory_sizes[1] = PG;
	c->nregions = 1; /* two non-zero sizes */
	expect_bad_config(c);
	c->nregions = 3;
	expect_bad_config(c);
	c->nregions = 0xffffffff;
	expect_bad_config(c);
	memset(c, 0, sizeof(*c));
	c->nregions = 1; /* no size at all */
	expect_bad_config(c);
	g_free(c);
}

static void test_config_256_regions(void)
{
	struct vhu_shmem_config *c = g_new0(struct vhu_shmem_config, 1);
	unsigned i;

	c->nregions = 256;
	for (i = 0; i < 256; i++)
		c->memory_sizes[i] = PG;
	expect_bad_config(c); /* consistent, but far beyond what a transport can show */
	c->nregions = VHU_SHMEM_MAX_REGIONS + 1;
	for (i = VHU_SHMEM_MAX_REGIONS + 1; i < 256; i++)
		c->memory_sizes[i] = 0;
	expect_bad_config(c);
	g_free(c);
}

static void test_config_sizes(void)
{
	struct vhu_shmem_config *c = g_new0(struct vhu_shmem_config, 1);
	unsigned i;

	c->nregions = 1;
	c->memory_sizes[7] = PG + 1;
	expect_bad_config(c);
	c->memory_sizes[7] = PG / 2;
	expect_bad_config(c);
	c->memory_sizes[7] = UINT64_MAX & ~(PG - 1);
	expect_bad_config(c);
	c->memory_sizes[7] = VHU_SHMEM_REGION_MAX + PG;
	expect_bad_config(c);
	/* each fine, too much together */
	memset(c, 0, sizeof(*c));
	c->nregions = VHU_SHMEM_MAX_REGIONS;
	for (i = 0; i < VHU_SHMEM_MAX_REGIONS; i++)
		c->memory_sizes[i] = VHU_SHMEM_REGION_MAX;
	expect_bad_config(c);
	g_free(c);
}

/* --- SHMEM_MAP rules (FACTS 18), pure --- */

static void expect_map_refused(struct fx *f, struct vhu_shmem_map m, int err)
{
	const char *why = NULL;
	unsigned idx = 77;

	g_assert_cmpint(vhu_shmem_check_map(&f->s, &m, &idx, &why), ==, err);
	g_assert_nonnull(why);
	g_assert_cmpuint(idx, ==, 77);
}

static void test_map_shmid(struct fx *f, gconstpointer data)
{
	const char *why;
	unsigned idx;

	expect_map_refused(f, req(1, 0, 0, PG, 0), -ENOENT); /* unused id */
	expect_map_refused(f, req(255, 0, 0, PG, 0), -ENOENT);
	g_assert_cmpint(vhu_shmem_check_map(&f->s, &(struct vhu_shmem_map){ .shmid = 5, .len = PG },
					    &idx, &why),
			==, 0);
	g_assert_cmpuint(idx, ==, 1);
}

static void test_map_len_and_alignment(struct fx *f, gconstpointer data)
{
	expect_map_refused(f, req(0, 0, 0, 0, 0), -EINVAL);	   /* len 0 */
	expect_map_refused(f, req(0, 1, 0, PG, 0), -EINVAL);	   /* fd_offset */
	expect_map_refused(f, req(0, 0, 0x800, PG, 0), -EINVAL);   /* shm_offset */
	expect_map_refused(f, req(0, 0, 0, PG + 512, 0), -EINVAL); /* len */
	expect_map_refused(f, req(0, 0, 0, PG, 2), -EINVAL);	   /* unknown flag bit 1 */
	expect_map_refused(f, req(0, 0, 0, PG, 1ULL << 63), -EINVAL);
}

static void test_map_bounds(struct fx *f, gconstpointer data)
{
	/* shm_offset + len beyond the region, at its end, and wrapping around */
	expect_map_refused(f, req(0, 0, MIB - PG, 2 * PG, 0), -EINVAL);
	expect_map_refused(f, req(0, 0, MIB, PG, 0), -EINVAL);
	expect_map_refused(f, req(5, 0, 0, 17 * PG, 0), -EINVAL);
	expect_map_refused(f, req(0, 0, UINT64_MAX & ~(PG - 1), 2 * PG, 0), -EINVAL);
	expect_map_refused(f, req(0, 0, PG, UINT64_MAX & ~(PG - 1), 0), -EINVAL);
	/* fd_offset + len overflowing (an off_t) */
	expect_map_refused(f, req(0, UINT64_MAX & ~(PG - 1), 0, PG, 0), -EINVAL);
	expect_map_refused(f, req(0, (uint64_t)INT64_MAX + 1, 0, PG, 0), -EINVAL);
	/* the whole region is fine */
	g_assert_cmpint(do_map(f, req(0, 0, 0, MIB, 0), MIB, 0), ==, 0);
}

static void test_map_overlap(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(do_map(f, req(0, 0, 4 * PG, 4 * PG, 0), 4 * PG, 0), ==, 0); /* [4, 8) */
	expect_map_refused(f, req(0, 0, 4 * PG, 4 * PG, 0), -EEXIST);		    /* the same */
	expect_map_refused(f, req(0, 0, 2 * PG, 3 * PG, 0), -EEXIST);		    /* its front */
	expect_map_refused(f, req(0, 0, 7 * PG, 2 * PG, 0), -EEXIST);		    /* its back */
	expect_map_refused(f, req(0, 0, 5 * PG, PG, 0), -EEXIST);		    /* inside */
	expect_map_refused(f, req(0, 0, 0, 16 * PG, 0), -EEXIST);		    /* around */
	/* adjacent on both sides, and the same range in another region: fine */
	g_assert_cmpint(do_map(f, req(0, 0, 0, 4 * PG, 0), 4 * PG, 0), ==, 0);
	g_assert_cmpint(do_map(f, req(0, 0, 8 * PG, PG, 0), PG, 0), ==, 0);
	g_assert_cmpint(do_map(f, req(5, 0, 4 * PG, 4 * PG, 0), 4 * PG, 0), ==, 0);
	g_assert_cmpuint(f->s.nmaps, ==, 4);
	expect_map_refused(f, req(0, 0, 3 * PG, 2 * PG, 0), -EEXIST); /* across two */
}

static void test_map_cap(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(do_map(f, req(0, 0, 0, PG, 0), PG, 0), ==, 0);
	g_assert_cmpint(do_map(f, req(0, 0, 2 * PG, PG, 0), PG, 0), ==, 0);
	expect_map_refused(f, req(0, 0, 4 * PG, PG, 0), -ENOSPC);
	g_assert_cmpint(do_unmap(f, req(0, 0, 0, PG, 0)), ==, 0);
	g_assert_cmpint(do_map(f, req(0, 0, 4 * PG, PG, 0), PG, 0), ==, 0);
}

/* --- the fd (FACTS 18: closed on every path) --- */

static void test_map_fd(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(0, 0, 0, 2 * PG, 1);
	unsigned before = open_fds();
	int sv[2];

	/* no fd */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, -1), ==, -EBADF);
	/* a file shorter than fd_offset + len (its pages beyond the end would fault) */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, memfd_pattern(PG, 0)), ==,
			-EINVAL);
	m.fd_offset = PG;
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, memfd_pattern(2 * PG, 0)), ==,
			-EINVAL);
	/* an fd that cannot be mapped */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	close(sv[1]);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, sv[0]), <, 0);
	/* a bad request with a good fd */
	m = req(9, 0, 0, PG, 0);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, memfd_pattern(PG, 0)), ==,
			-ENOENT);
	/* UNMAP with an fd */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_UNMAP, &m, memfd_pattern(PG, 0)), ==,
			-EINVAL);
	g_assert_cmpuint(f->s.nmaps, ==, 0);
	g_assert_cmpuint(f->s.pending_req, ==, 0);
	/* a good one: the mapping holds the memory, not the fd */
	g_assert_cmpint(do_map(f, req(0, PG, 0, PG, 0), 2 * PG, 0x40), ==, 0);
	g_assert_cmpuint(open_fds(), ==, before);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, 0x41);
}

static void test_map_rw_needs_writable_fd(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(0, 0, 0, PG, VHU_SHMEM_FLAG_RW);
	int fd = memfd_pattern(PG, 0);
	char path[64];
	int ro;

	g_snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(ro, >=, 0);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, ro), ==, -EACCES);
	m.flags = 0; /* read-only is fine */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, fd), ==, 0);
	vhu_shmem_commit(&f->s, true);
	g_assert_cmpuint(f->s.nmaps, ==, 1);
}

/* --- SHMEM_UNMAP: exactly one existing mapping --- */

static void expect_unmap_refused(struct fx *f, struct vhu_shmem_map m, int err)
{
	const char *why = NULL;
	unsigned at = 77;
	unsigned n = f->s.nmaps;

	g_assert_cmpint(vhu_shmem_check_unmap(&f->s, &m, &at, &why), ==, err);
	g_assert_nonnull(why);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_UNMAP, &m, -1), ==, err);
	g_assert_cmpuint(f->s.nmaps, ==, n); /* nothing changed */
}

static void test_unmap(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(do_map(f, req(0, 0, 4 * PG, 4 * PG, 0), 4 * PG, 0x10), ==, 0);
	g_assert_cmpint(do_map(f, req(0, 0, 8 * PG, PG, 0), PG, 0x20), ==, 0);
	/* partial: a piece of it, its start with a shorter or longer length, inside */
	expect_unmap_refused(f, req(0, 0, 4 * PG, PG, 0), -EINVAL);
	expect_unmap_refused(f, req(0, 0, 4 * PG, 5 * PG, 0), -EINVAL); /* covers both */
	expect_unmap_refused(f, req(0, 0, 5 * PG, PG, 0), -EINVAL);
	expect_unmap_refused(f, req(0, 0, 5 * PG, 3 * PG, 0), -EINVAL);
	/* nothing there, another region, an unknown shmid */
	expect_unmap_refused(f, req(0, 0, 0, PG, 0), -ENOENT);
	expect_unmap_refused(f, req(0, 0, 12 * PG, PG, 0), -ENOENT);
	expect_unmap_refused(f, req(5, 0, 4 * PG, 4 * PG, 0), -ENOENT);
	expect_unmap_refused(f, req(3, 0, 4 * PG, 4 * PG, 0), -ENOENT);
	expect_unmap_refused(f, req(0, 0, UINT64_MAX, PG, 0), -ENOENT);
	g_assert_cmphex(rd(f, 0, 4 * PG, 1), ==, 0x10);
	/* exact: fd_offset and flags are not looked at */
	g_assert_cmpint(do_unmap(f, req(0, 123, 4 * PG, 4 * PG, 7)), ==, 0);
	g_assert_cmpuint(f->s.nmaps, ==, 1);
	g_assert_cmphex(rd(f, 0, 4 * PG, 1), ==, 0);			/* gone */
	g_assert_cmphex(rd(f, 0, 8 * PG, 1), ==, 0x20);			/* the other stays */
	expect_unmap_refused(f, req(0, 0, 4 * PG, 4 * PG, 0), -ENOENT); /* twice */
}

/* --- guest accesses --- */

static void test_access_read(struct fx *f, gconstpointer data)
{
	/* region 0: [2, 4) from a file's pages 1-2 (0x31, 0x32); [4, 5) its own (0x50) */
	g_assert_cmpint(do_map(f, req(0, PG, 2 * PG, 2 * PG, 0), 4 * PG, 0x30), ==, 0);
	g_assert_cmpint(do_map(f, req(0, 0, 4 * PG, PG, 1), PG, 0x50), ==, 0);
	g_assert_cmphex(rd(f, 0, 2 * PG, 1), ==, 0x31);
	g_assert_cmphex(rd(f, 0, 3 * PG + 6, 2), ==, 0x3232);
	g_assert_cmphex(rd(f, 0, 2 * PG + 8, 8), ==, 0x3131313131313131ULL);
	g_assert_cmphex(rd(f, 0, 4 * PG, 4), ==, 0x50505050);
	/* unmapped parts read 0, also in the other region */
	g_assert_cmphex(rd(f, 0, 0, 8), ==, 0);
	g_assert_cmphex(rd(f, 0, 5 * PG, 8), ==, 0);
	g_assert_cmphex(rd(f, 1, 0, 4), ==, 0);
	/* unaligned across edges: hole|mapping, mapping|mapping, mapping|hole */
	g_assert_cmphex(rd(f, 0, 2 * PG - 2, 4), ==, 0x31310000);
	g_assert_cmphex(rd(f, 0, 4 * PG - 1, 2), ==, 0x5032);
	g_assert_cmphex(rd(f, 0, 5 * PG - 3, 8), ==, 0x505050);
}

static void test_access_write(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(0, 0, 0, PG, VHU_SHMEM_FLAG_RW);
	int fd = memfd_pattern(PG, 0);
	int keep = dup(fd);

	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, fd), ==, 0);
	vhu_shmem_commit(&f->s, true);
	g_assert_cmpint(vhu_shmem_write(&f->s, 0, 16, 4, 0xa1b2c3d4), ==, 0);
	g_assert_cmphex(fd_byte(keep, 16), ==, 0xd4); /* little-endian, visible to the back-end */
	g_assert_cmphex(fd_byte(keep, 19), ==, 0xa1);
	g_assert_cmphex(rd(f, 0, 16, 4), ==, 0xa1b2c3d4);
	/* a write straddling the mapping's end: the mapped part lands, the rest vanishes */
	g_assert_cmpint(vhu_shmem_write(&f->s, 0, PG - 2, 4, 0x11223344), ==, 0);
	g_assert_cmphex(fd_byte(keep, PG - 1), ==, 0x33);
	g_assert_cmphex(rd(f, 0, PG, 2), ==, 0);
	/* into nothing: dropped, no error */
	g_assert_cmpint(vhu_shmem_write(&f->s, 0, 8 * PG, 8, ~0ULL), ==, 0);
	g_assert_cmphex(rd(f, 0, 8 * PG, 8), ==, 0);
	close(keep);
}

static void test_access_write_read_only(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(5, 0, 0, PG, 0); /* flags bit 0 clear */
	int fd = memfd_pattern(PG, 0x77);
	int keep = dup(fd);

	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, fd), ==, 0);
	vhu_shmem_commit(&f->s, true);
	g_assert_cmpint(vhu_shmem_write(&f->s, 1, 0, 8, 0), ==, -EPERM);
	g_assert_cmpint(vhu_shmem_write(&f->s, 1, PG - 1, 2, 0), ==, -EPERM);
	g_assert_cmphex(fd_byte(keep, 0), ==, 0x77);
	g_assert_cmphex(fd_byte(keep, PG - 1), ==, 0x77);
	g_assert_cmphex(rd(f, 1, 0, 1), ==, 0x77);
	close(keep);
}

/* A back-end that shrinks its file under a mapping costs an error, not a SIGBUS. */
static void test_access_truncated(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(0, 0, 0, 2 * PG, VHU_SHMEM_FLAG_RW);
	int fd = memfd_pattern(2 * PG, 0x60);
	int keep = dup(fd);
	uint64_t v = 1;

	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, fd), ==, 0);
	vhu_shmem_commit(&f->s, true);
	g_assert_cmpint(ftruncate(keep, (off_t)PG), ==, 0);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, 0x60);
	g_assert_cmpint(vhu_shmem_read(&f->s, 0, PG, 8, &v), ==, -EFAULT);
	g_assert_cmphex(v, ==, 0);
	g_assert_cmpint(vhu_shmem_write(&f->s, 0, PG + 8, 8, 1), ==, -EFAULT);
	close(keep);
}

/* --- prepare / commit --- */

static void test_commit_undo(struct fx *f, gconstpointer data)
{
	struct vhu_shmem_map m = req(0, 0, 0, PG, 0);

	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP, &m, memfd_pattern(PG, 9)), ==, 0);
	g_assert_cmpuint(f->s.nmaps, ==, 0);	/* not visible before the commit */
	g_assert_cmphex(rd(f, 0, 0, 1), ==, 0); /* (the reply goes out in between) */
	vhu_shmem_commit(&f->s, false);		/* the reply failed */
	g_assert_cmpuint(f->s.nmaps, ==, 0);
	g_assert_cmpuint(f->s.pending_req, ==, 0);
	g_assert_cmpint(do_map(f, m, PG, 9), ==, 0);
	/* UNMAP prepared, reply failed: still mapped */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_UNMAP, &m, -1), ==, 0);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, 9);
	vhu_shmem_commit(&f->s, false);
	g_assert_cmpuint(f->s.nmaps, ==, 1);
	/* a prepare left without commit is undone by the next one */
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP,
					  &(struct vhu_shmem_map){ .len = PG, .shm_offset = PG },
					  memfd_pattern(PG, 1)),
			==, 0);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_UNMAP, &m, -1), ==, 0);
	vhu_shmem_commit(&f->s, true);
	g_assert_cmpuint(f->s.nmaps, ==, 0);
}

static void test_clear(struct fx *f, gconstpointer data)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		g_assert_cmpint(do_map(f, req(0, 0, i * 2 * PG, PG, i & 1), PG, (uint8_t)i), ==, 0);
	g_assert_cmpint(vhu_shmem_prepare(&f->s, VHU_B_SHMEM_MAP,
					  &(struct vhu_shmem_map){ .shmid = 5, .len = PG },
					  memfd_pattern(PG, 1)),
			==, 0);
	g_assert_cmphex(rd(f, 0, 14 * PG, 1), ==, 7);
	vhu_shmem_clear(&f->s); /* device reset, back-end lost */
	g_assert_cmpuint(f->s.nmaps, ==, 0);
	g_assert_cmpuint(f->s.pending_req, ==, 0);
	for (i = 0; i < 8; i++)
		g_assert_cmphex(rd(f, 0, i * 2 * PG, 8), ==, 0);
	/* usable again */
	g_assert_cmpint(do_map(f, req(0, 0, 0, PG, 0), PG, 3), ==, 0);
	g_assert_cmphex(rd(f, 0, 0, 1), ==, 3);
}

/* --- the back-end channel (vhu_backend_serve) --- */

struct chan {
	struct vhu_backend_handler h;
	struct vhu_shmem s;
	int fe, be;
	unsigned prepares, commits, undos;
	bool replied_before_commit;
};

static bool readable(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

static int ch_prepare(struct vhu_backend_handler *h, uint32_t r, const struct vhu_shmem_map *m,
		      int fd)
{
	struct chan *c = (struct chan *)h;

	c->prepares++;
	return vhu_shmem_prepare(&c->s, r, m, fd);
}

static void ch_commit(struct vhu_backend_handler *h, bool ok)
{
	struct chan *c = (struct chan *)h;

	if (ok)
		c->commits++;
	else
		c->undos++;
	c->replied_before_commit = readable(c->be);
	vhu_shmem_commit(&c->s, ok);
}

static void ch_nop(struct vhu_backend_handler *h)
{
}

static void ch_nop_idx(struct vhu_backend_handler *h, uint32_t i)
{
}

static const struct vhu_backend_handler_ops ch_ops = {
	.config_changed = ch_nop,
	.vring_call = ch_nop_idx,
	.vring_err = ch_nop_idx,
	.shmem_prepare = ch_prepare,
	.shmem_commit = ch_commit,
};

static void chan_open(struct chan *c)
{
	int sv[2];

	memset(c, 0, sizeof(*c));
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	c->fe = sv[0];
	c->be = sv[1];
	c->h = (struct vhu_backend_handler){ .ops = &ch_ops, .name = "test/chan" };
	vhu_shmem_init(&c->s, "test/chan", regions, G_N_ELEMENTS(regions), 0);
}

static void chan_close(struct chan *c)
{
	vhu_shmem_fini(&c->s);
	close(c->fe);
	if (c->be >= 0)
		close(c->be);
}

/* A back-end request on the channel (header by hand: not the code under test). */
static void be_send(struct chan *c, uint32_t request, bool need_reply,
		    const struct vhu_shmem_map *m, int fd)
{
	uint32_t hdr[3] = { request, 0x1 | (need_reply ? 0x8 : 0), sizeof(*m) };
	struct iovec iov[2] = { { hdr, 12 }, { (void *)m, sizeof(*m) } };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	g_assert_cmpint(sendmsg(c->be, &mh, MSG_NOSIGNAL), ==, 12 + sizeof(*m));
	if (fd >= 0)
		close(fd); /* in flight: the receiver owns its copy */
}

/* The one u64 reply to `request`, or -1 when none arrived. */
static int64_t be_reply(struct chan *c, uint32_t request)
{
	uint8_t b[20];
	uint32_t hdr[3];
	uint64_t v;

	if (!readable(c->be))
		return -1;
	g_assert_cmpint(recv(c->be, b, sizeof(b), MSG_WAITALL), ==, 20);
	memcpy(hdr, b, 12);
	memcpy(&v, b + 12, 8);
	g_assert_cmpuint(hdr[0], ==, request);
	g_assert_cmphex(hdr[1], ==, 0x5); /* version 1 | REPLY */
	g_assert_cmpuint(hdr[2], ==, 8);
	g_assert_false(readable(c->be)); /* exactly once */
	return (int64_t)v;
}

#define SHM_PF (VHU_PF(REPLY_ACK) | VHU_PF(BACKEND_SEND_FD) | VHU_PF(SHMEM))

static void test_chan_map_unmap(void)
{
	struct vhu_shmem_map m = req(0, 0, PG, 2 * PG, 0);
	unsigned before = open_fds();
	struct chan c;
	uint64_t v;

	chan_open(&c);
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(2 * PG, 0xa0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpuint(c.commits, ==, 1);
	g_assert_true(c.replied_before_commit); /* FACTS 18 */
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 0);
	g_assert_cmpint(vhu_shmem_read(&c.s, 0, 2 * PG, 1, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xa1);
	/* UNMAP: acked, then gone */
	be_send(&c, VHU_B_SHMEM_UNMAP, true, &m, -1);
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpuint(c.commits, ==, 2);
	g_assert_true(c.replied_before_commit);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_UNMAP), ==, 0);
	g_assert_cmpuint(c.s.nmaps, ==, 0);
	/* without NEED_REPLY: done, no reply */
	be_send(&c, VHU_B_SHMEM_MAP, false, &m, memfd_pattern(2 * PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, -1);
	g_assert_cmpuint(c.s.nmaps, ==, 1);
	chan_close(&c);
	g_assert_cmpuint(open_fds(), ==, before);
}

static void test_chan_refused(void)
{
	struct vhu_shmem_map m = req(0, 0, 0, PG, 0);
	unsigned before = open_fds();
	struct chan c;

	chan_open(&c);
	/* missing fd: the table refuses it, the handler never sees it */
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, -1);
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 1);
	g_assert_cmpuint(c.prepares, ==, 0);
	/* UNMAP with an fd: the table again */
	be_send(&c, VHU_B_SHMEM_UNMAP, true, &m, memfd_pattern(PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_UNMAP), ==, 1);
	g_assert_cmpuint(c.prepares, ==, 0);
	/* SHMEM not negotiated: refused, fd closed */
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF & ~VHU_PF(SHMEM), 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 1);
	g_assert_cmpuint(c.prepares, ==, 0);
	/* a rule broken: the handler refuses, nothing is committed */
	m.shmid = 1;
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 1);
	g_assert_cmpuint(c.prepares, ==, 1);
	g_assert_cmpuint(c.commits + c.undos, ==, 0);
	/* a partial unmap: refused, the mapping stays */
	m = req(0, 0, 0, 2 * PG, 0);
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(2 * PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 0);
	m.len = PG;
	be_send(&c, VHU_B_SHMEM_UNMAP, true, &m, -1);
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_UNMAP), ==, 1);
	g_assert_cmpuint(c.s.nmaps, ==, 1);
	chan_close(&c);
	g_assert_cmpuint(open_fds(), ==, before);
}

/* A handler without shmem ops (a device that has none) refuses, closing the fd. */
static void test_chan_no_ops(void)
{
	static const struct vhu_backend_handler_ops plain = { .config_changed = ch_nop,
							      .vring_call = ch_nop_idx,
							      .vring_err = ch_nop_idx };
	struct vhu_shmem_map m = req(0, 0, 0, PG, 0);
	unsigned before = open_fds();
	struct chan c;

	chan_open(&c);
	c.h.ops = &plain;
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(PG, 0));
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), ==, 0);
	g_assert_cmpint(be_reply(&c, VHU_B_SHMEM_MAP), ==, 1);
	chan_close(&c);
	g_assert_cmpuint(open_fds(), ==, before);
}

/* The reply cannot be sent (the back-end is gone): the prepared mapping is undone. */
static void test_chan_reply_fails(void)
{
	struct vhu_shmem_map m = req(0, 0, 0, PG, 0);
	unsigned before = open_fds();
	struct chan c;

	chan_open(&c);
	be_send(&c, VHU_B_SHMEM_MAP, true, &m, memfd_pattern(PG, 0));
	close(c.be);
	c.be = -1;
	g_assert_cmpint(vhu_backend_serve(c.fe, SHM_PF, 300, &c.h), <, 0);
	g_assert_cmpuint(c.prepares, ==, 1);
	g_assert_cmpuint(c.undos, ==, 1);
	g_assert_cmpuint(c.commits, ==, 0);
	g_assert_cmpuint(c.s.nmaps, ==, 0);
	chan_close(&c);
	g_assert_cmpuint(open_fds(), ==, before);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_test_add_func("/vhu/shmem/config/valid", test_config_valid);
	g_test_add_func("/vhu/shmem/config/nregions", test_config_nregions);
	g_test_add_func("/vhu/shmem/config/256-regions", test_config_256_regions);
	g_test_add_func("/vhu/shmem/config/sizes", test_config_sizes);
	FX_TEST("/vhu/shmem/map/shmid", test_map_shmid);
	FX_TEST("/vhu/shmem/map/len-and-alignment", test_map_len_and_alignment);
	FX_TEST("/vhu/shmem/map/bounds-and-overflow", test_map_bounds);
	FX_TEST("/vhu/shmem/map/overlap", test_map_overlap);
	FX_TEST_CAP("/vhu/shmem/map/cap", test_map_cap, 2);
	FX_TEST("/vhu/shmem/map/fd", test_map_fd);
	FX_TEST("/vhu/shmem/map/rw-needs-writable-fd", test_map_rw_needs_writable_fd);
	FX_TEST("/vhu/shmem/unmap/exactly-one", test_unmap);
	FX_TEST("/vhu/shmem/access/read", test_access_read);
	FX_TEST("/vhu/shmem/access/write", test_access_write);
	FX_TEST("/vhu/shmem/access/write-read-only", test_access_write_read_only);
	FX_TEST("/vhu/shmem/access/truncated", test_access_truncated);
	FX_TEST("/vhu/shmem/commit/undo", test_commit_undo);
	FX_TEST("/vhu/shmem/clear", test_clear);
	g_test_add_func("/vhu/shmem/chan/map-unmap", test_chan_map_unmap);
	g_test_add_func("/vhu/shmem/chan/refused", test_chan_refused);
	g_test_add_func("/vhu/shmem/chan/no-ops", test_chan_no_ops);
	g_test_add_func("/vhu/shmem/chan/reply-fails", test_chan_reply_fails);
	return g_test_run();
}
