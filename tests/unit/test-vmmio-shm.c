/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VIRTIO shared memory regions in the device core (devices/vdev.c: vdev_set_shm,
 * vdev_shm_read/write, the checks every transport relies on) and in the virtio-mmio
 * transport (virtio-mmio/vmmio.c: SHMSel, SHMLen, SHMBase, FACTS 20; the windows vmm/
 * places and routes to vmmio_shm_read/write). The device is a small one of this file,
 * whose regions are plain memory.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "common/util.h"
#include "devices/vdev.h"
#include "virtio-mmio/vmmio.h"

#define PG   4096ULL
#define GIB  (1ULL << 30)
#define ONES 0xffffffffULL

/* --- a device with shared memory: region i is mem[i] (only its first page is backed) --- */

struct shmdev {
	struct vdev vdev;
	uint8_t mem[2][PG];
	unsigned reads, writes;
	unsigned last_idx, last_size;
	uint64_t last_off;
};

static struct shmdev *shmdev_of(struct vdev *d)
{
	return container_of(d, struct shmdev, vdev);
}

static int sd_read(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val)
{
	struct shmdev *s = shmdev_of(d);

	s->reads++;
	s->last_idx = idx;
	s->last_off = off;
	s->last_size = size;
	*val = 0;
	if (idx < 2 && off + size <= PG)
		memcpy(val, s->mem[idx] + off, size); /* little-endian host */
	return 0;
}

static int sd_write(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val)
{
	struct shmdev *s = shmdev_of(d);

	s->writes++;
	s->last_idx = idx;
	s->last_off = off;
	s->last_size = size;
	if (idx < 2 && off + size <= PG)
		memcpy(s->mem[idx] + off, &val, size);
	return 0;
}

static void sd_free(struct vdev *d)
{
	g_free(shmdev_of(d));
}

static const struct vdev_ops sd_ops = {
	.type = "test-shm", .shm_read = sd_read, .shm_write = sd_write, .free = sd_free
};
static const struct vdev_ops sd_ops_plain = { .type = "test-plain", .free = sd_free };

/* Regions: shmid 2 of 6 GiB (above 4 GiB: both halves of SHMLen), shmid 9 of one page. */
static const struct vdev_shm two[] = { { .id = 2, .size = 6 * GIB }, { .id = 9, .size = PG } };

static struct shmdev *shmdev_new(const struct vdev_ops *ops, const struct vdev_shm *shm, unsigned n)
{
	struct shmdev *s = g_new0(struct shmdev, 1);

	g_assert_cmpint(vdev_init(&s->vdev, ops, "test/shm", VIRTIO_ID_GPU, 1, 8, 0, NULL), ==, 0);
	g_assert_cmpint(vdev_set_shm(&s->vdev, shm, n), ==, 0);
	return s;
}

/* --- the core --- */

static void test_vdev_set_shm(void)
{
	struct shmdev *s = shmdev_new(&sd_ops, two, 2);
	struct vdev_shm many[VDEV_MAX_SHM + 1];
	unsigned i;

	g_assert_cmpuint(s->vdev.nshm, ==, 2);
	g_assert_true(s->vdev.shm != two); /* a copy */
	g_assert_cmpuint(s->vdev.shm[0].size, ==, 6 * GIB);
	g_assert_cmpint(vdev_shm_find(&s->vdev, 9), ==, 1);
	g_assert_cmpint(vdev_shm_find(&s->vdev, 0), ==, -ENOENT);
	/* refused: a repeated id, size 0, not a page multiple, too many; nothing changes */
	g_assert_cmpint(vdev_set_shm(&s->vdev, (struct vdev_shm[]){ { 1, PG }, { 1, PG } }, 2), ==,
			-EINVAL);
	g_assert_cmpint(vdev_set_shm(&s->vdev, (struct vdev_shm[]){ { 1, 0 } }, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_set_shm(&s->vdev, (struct vdev_shm[]){ { 1, PG + 8 } }, 1), ==,
			-EINVAL);
	for (i = 0; i < G_N_ELEMENTS(many); i++)
		many[i] = (struct vdev_shm){ .id = (uint8_t)i, .size = PG };
	g_assert_cmpint(vdev_set_shm(&s->vdev, many, VDEV_MAX_SHM + 1), ==, -EINVAL);
	g_assert_cmpuint(s->vdev.nshm, ==, 2);
	/* all 256 ids are possible in the core (devices cap lower) */
	g_assert_cmpint(vdev_set_shm(&s->vdev, many, VDEV_MAX_SHM), ==, 0);
	g_assert_cmpint(vdev_shm_find(&s->vdev, 255), ==, 255);
	g_assert_cmpint(vdev_set_shm(&s->vdev, NULL, 0), ==, 0);
	g_assert_cmpuint(s->vdev.nshm, ==, 0);
	vdev_free(&s->vdev);
}

static void test_vdev_shm_bounds(void)
{
	struct shmdev *s = shmdev_new(&sd_ops, two, 2);
	uint64_t v;

	/* good: the op sees exactly the access */
	s->mem[1][PG - 1] = 0x5a;
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, PG - 1, 1, &v), ==, 0);
	g_assert_cmphex(v, ==, 0x5a);
	g_assert_cmpuint(s->last_idx, ==, 1);
	g_assert_cmpuint(s->last_off, ==, PG - 1);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 0, 6 * GIB - 8, 8, &v), ==, 0);
	g_assert_cmpuint(s->reads, ==, 2);
	/* bad: region index, size, beyond the end, wrapping around; op never called */
	v = 7;
	g_assert_cmpint(vdev_shm_read(&s->vdev, 2, 0, 4, &v), ==, -EINVAL);
	g_assert_cmphex(v, ==, 0);
	g_assert_cmpint(vdev_shm_read(&s->vdev, UINT32_MAX, 0, 4, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, 0, 3, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, 0, 16, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, 0, 0, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, PG - 1, 2, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 1, PG, 1, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_read(&s->vdev, 0, UINT64_MAX - 3, 8, &v), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_write(&s->vdev, 2, 0, 4, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_write(&s->vdev, 1, PG - 4, 8, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_shm_write(&s->vdev, 0, UINT64_MAX, 1, 1), ==, -EINVAL);
	g_assert_cmpuint(s->reads, ==, 2);
	g_assert_cmpuint(s->writes, ==, 0);
	vdev_free(&s->vdev);
}

/* A device without shm ops: its regions read 0 and ignore writes. */
static void test_vdev_shm_no_ops(void)
{
	struct shmdev *s = shmdev_new(&sd_ops_plain, two, 2);
	uint64_t v = 1;

	g_assert_cmpint(vdev_shm_read(&s->vdev, 0, 8, 8, &v), ==, 0);
	g_assert_cmphex(v, ==, 0);
	g_assert_cmpint(vdev_shm_write(&s->vdev, 1, 8, 8, ~0ULL), ==, 0);
	vdev_free(&s->vdev);
}

/* --- virtio-mmio --- */

struct fx {
	struct shmdev *s;
	struct vmmio m;
};

static void fx_irq(struct vmmio *m, bool level)
{
}

static const struct vmmio_ops fx_ops = { .set_irq = fx_irq };

static void fx_setup(struct fx *f, gconstpointer data)
{
	f->s = shmdev_new(&sd_ops, two, data ? 0 : 2);
	vmmio_init(&f->m, &fx_ops, &f->s->vdev);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vmmio_fini(&f->m);
	vdev_free(&f->s->vdev);
}

#define FX_TEST(path, fn)	 g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)
#define FX_TEST_NO_SHM(path, fn) g_test_add(path, struct fx, "", fx_setup, fn, fx_teardown)

static uint64_t reg(struct fx *f, uint64_t off)
{
	uint64_t v = 0x1234;

	g_assert_cmpint(vmmio_read(&f->m, off, 4, &v), ==, 0);
	return v;
}

static void sel(struct fx *f, uint32_t id)
{
	g_assert_cmpint(vmmio_write(&f->m, VIRTIO_MMIO_SHM_SEL, 4, id), ==, 0);
}

static void expect_absent(struct fx *f)
{
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_LOW), ==, ONES);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_HIGH), ==, ONES);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_BASE_LOW), ==, ONES);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_BASE_HIGH), ==, ONES);
}

static void test_mmio_registers(struct fx *f, gconstpointer data)
{
	uint64_t v;

	/* nothing placed yet: every id is absent, even those the device has */
	sel(f, 2);
	expect_absent(f);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 0, 0x500000000ULL), ==, 0);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 1, 0x30000000ULL), ==, 0);
	/* shmid 2: 6 GiB at 0x5_0000_0000 */
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_LOW), ==, (6 * GIB) & ONES);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_HIGH), ==, (6 * GIB) >> 32);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_BASE_LOW), ==, 0);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_BASE_HIGH), ==, 5);
	sel(f, 9);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_LOW), ==, PG);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_LEN_HIGH), ==, 0);
	g_assert_cmphex(reg(f, VIRTIO_MMIO_SHM_BASE_LOW), ==, 0x30000000);
	/* ids the device does not have, also beyond a byte (SHMSel is 32 bits) */
	sel(f, 0);
	expect_absent(f);
	sel(f, 0x109); /* 9 + 256 must not alias shmid 9 */
	expect_absent(f);
	sel(f, 0xffffffff);
	expect_absent(f);
	/* SHMSel is write-only, the others read-only */
	g_assert_cmpint(vmmio_read(&f->m, VIRTIO_MMIO_SHM_SEL, 4, &v), ==, -EINVAL);
	g_assert_cmpint(vmmio_write(&f->m, VIRTIO_MMIO_SHM_LEN_LOW, 4, 0), ==, -EINVAL);
	g_assert_cmpint(vmmio_write(&f->m, VIRTIO_MMIO_SHM_BASE_HIGH, 4, 0), ==, -EINVAL);
	/* 32-bit accesses only */
	g_assert_cmpint(vmmio_read(&f->m, VIRTIO_MMIO_SHM_LEN_LOW, 8, &v), ==, -EINVAL);
	/* taken away again */
	sel(f, 9);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 1, VMMIO_SHM_UNPLACED), ==, 0);
	expect_absent(f);
	/* a device reset clears SHMSel (virtio 1.2 §4.2.2.1): back to id 0 */
	sel(f, 2);
	g_assert_cmpint(vmmio_write(&f->m, VIRTIO_MMIO_STATUS, 4, 0), ==, 0);
	g_assert_cmpuint(f->m.shm_sel, ==, 0);
}

static void test_mmio_set_base(struct fx *f, gconstpointer data)
{
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 2, 0x10000000), ==, -EINVAL); /* no region 2 */
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 0, 0x10000800), ==, -EINVAL); /* unaligned */
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 0, UINT64_MAX & ~(PG - 1)), ==,
			-EINVAL); /* wraps */
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 1, (UINT64_MAX & ~(PG - 1)) - PG), ==, 0);
	g_assert_cmpuint(f->m.shm_base[0], ==, VMMIO_SHM_UNPLACED);
}

static void test_mmio_lookup_and_access(struct fx *f, gconstpointer data)
{
	unsigned idx = 99;
	uint64_t off = 99, v;

	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x30000000, &idx, &off), ==, -ENOENT);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 0, 0x500000000ULL), ==, 0);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 1, 0x30000000ULL), ==, 0);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x30000ffc, &idx, &off), ==, 0);
	g_assert_cmpuint(idx, ==, 1);
	g_assert_cmphex(off, ==, 0xffc);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x500000000ULL + 6 * GIB - 1, &idx, &off), ==, 0);
	g_assert_cmpuint(idx, ==, 0);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x30001000, &idx, &off), ==, -ENOENT);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x2ffffffc, &idx, &off), ==, -ENOENT);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x500000000ULL + 6 * GIB, &idx, &off), ==, -ENOENT);
	/* forwarded to the device, any alignment */
	g_assert_cmpint(vmmio_shm_write(&f->m, 1, 0x11, 4, 0xcafef00d), ==, 0);
	g_assert_cmphex(f->s->mem[1][0x11], ==, 0x0d);
	g_assert_cmpint(vmmio_shm_read(&f->m, 1, 0x12, 2, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xfef0);
	g_assert_cmpuint(f->s->last_size, ==, 2);
	/* bad accesses: 0 / dropped, logged, the device is not asked */
	g_assert_cmpint(vmmio_shm_read(&f->m, 1, PG - 2, 4, &v), ==, -EINVAL);
	g_assert_cmphex(v, ==, 0);
	g_assert_cmpint(vmmio_shm_write(&f->m, 3, 0, 4, 1), ==, -EINVAL);
	g_assert_cmpint(vmmio_shm_read(&f->m, 0, 0, 5, &v), ==, -EINVAL);
	g_assert_cmpuint(f->s->reads, ==, 1);
	g_assert_cmpuint(f->s->writes, ==, 1);
}

static void test_mmio_no_regions(struct fx *f, gconstpointer data)
{
	unsigned idx;
	uint64_t off, v;

	g_assert_cmpuint(f->m.nshm, ==, 0);
	sel(f, 0);
	expect_absent(f);
	g_assert_cmpint(vmmio_set_shm_base(&f->m, 0, 0x30000000), ==, -EINVAL);
	g_assert_cmpint(vmmio_shm_lookup(&f->m, 0x30000000, &idx, &off), ==, -ENOENT);
	g_assert_cmpint(vmmio_shm_read(&f->m, 0, 0, 4, &v), ==, -EINVAL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_test_add_func("/vdev/shm/set", test_vdev_set_shm);
	g_test_add_func("/vdev/shm/bounds", test_vdev_shm_bounds);
	g_test_add_func("/vdev/shm/no-ops", test_vdev_shm_no_ops);
	FX_TEST("/vmmio/shm/registers", test_mmio_registers);
	FX_TEST("/vmmio/shm/set-base", test_mmio_set_base);
	FX_TEST("/vmmio/shm/lookup-and-access", test_mmio_lookup_and_access);
	FX_TEST_NO_SHM("/vmmio/shm/no-regions", test_mmio_no_regions);
	return g_test_run();
}
