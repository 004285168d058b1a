/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake guest memory of tests/support/fake-gmem.h. Trust boundary: the addresses
 * and lengths come from the code under test (ultimately from fuzz input) and are
 * checked like the real implementation does: overflow first, then the bounds.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "common/util.h"
#include "tests/support/fake-gmem.h"

static struct fake_gmem *to_fake(struct gmem *g)
{
	return container_of(g, struct fake_gmem, gmem);
}

static bool in_hole(const struct fake_gmem *fg, uint64_t gpa, size_t len)
{
	if (!fg->hole_len || !len)
		return false;
	return gpa < fg->hole_gpa + fg->hole_len && fg->hole_gpa < gpa + len;
}

/* 0 and *ret_off, or -errno for an access the fake refuses. */
static int check(struct fake_gmem *fg, bool write, uint64_t gpa, size_t len, size_t *ret_off)
{
	if (write)
		fg->writes++;
	else
		fg->reads++;
	if (fg->on_access)
		fg->on_access(fg, write, gpa, len);
	if (fg->fail_err) {
		if (fg->fail_after == 0)
			return fg->fail_err;
		fg->fail_after--;
	}
	if (len && gpa > UINT64_MAX - (len - 1))
		return -EINVAL;
	if (gpa < fg->base || !range_ok(gpa - fg->base, len, fg->size) || in_hole(fg, gpa, len))
		return -EFAULT;
	*ret_off = (size_t)(gpa - fg->base);
	return 0;
}

static int fake_read(struct gmem *g, uint64_t gpa, void *buf, size_t len)
{
	struct fake_gmem *fg = to_fake(g);
	size_t off = 0;
	int r = check(fg, false, gpa, len, &off);

	if (r < 0)
		return r;
	if (len)
		memcpy(buf, fg->mem + off, len);
	return 0;
}

static int fake_write(struct gmem *g, uint64_t gpa, const void *buf, size_t len)
{
	struct fake_gmem *fg = to_fake(g);
	size_t off = 0;
	int r = check(fg, true, gpa, len, &off);

	if (r < 0)
		return r;
	if (len)
		memcpy(fg->mem + off, buf, len);
	return 0;
}

static void fake_invalidate(struct gmem *g)
{
	to_fake(g)->invalidates++;
}

static const struct gmem_ops fake_gmem_ops = {
	.read = fake_read,
	.write = fake_write,
	.invalidate = fake_invalidate,
};

struct fake_gmem *fake_gmem_new(uint64_t base, size_t size)
{
	struct fake_gmem *fg = g_new0(struct fake_gmem, 1);

	fg->gmem.ops = &fake_gmem_ops;
	fg->base = base;
	fg->size = size;
	fg->mem = g_malloc0(size ? size : 1);
	return fg;
}

void fake_gmem_free(struct fake_gmem *fg)
{
	if (!fg)
		return;
	g_free(fg->mem);
	g_free(fg);
}

void *fake_gmem_ptr(struct fake_gmem *fg, uint64_t gpa, size_t len)
{
	if (gpa < fg->base || !range_ok(gpa - fg->base, len, fg->size))
		return NULL;
	return fg->mem + (gpa - fg->base);
}

static void *ptr_or_fail(struct fake_gmem *fg, uint64_t gpa, size_t len)
{
	static uint8_t scratch[8];
	void *p = fake_gmem_ptr(fg, gpa, len);

	if (!p) {
		/* test code only: a test that builds rings outside its memory is wrong */
		g_printerr("fake-gmem: 0x%" G_GINT64_MODIFIER "x+%zu is outside the fake memory\n",
			   gpa, len);
		g_test_fail();
		return scratch;
	}
	return p;
}

void fake_gmem_put16(struct fake_gmem *fg, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(ptr_or_fail(fg, gpa, 2), &v, 2);
}

void fake_gmem_put32(struct fake_gmem *fg, uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	memcpy(ptr_or_fail(fg, gpa, 4), &v, 4);
}

void fake_gmem_put64(struct fake_gmem *fg, uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(ptr_or_fail(fg, gpa, 8), &v, 8);
}

uint16_t fake_gmem_get16(struct fake_gmem *fg, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ptr_or_fail(fg, gpa, 2), 2);
	return le16toh(v);
}

uint32_t fake_gmem_get32(struct fake_gmem *fg, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ptr_or_fail(fg, gpa, 4), 4);
	return le32toh(v);
}
