/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake back-end of tests/support/fake-svq-backend.h. Trust boundary: the shadow ring it
 * walks was written by the code under test, and a test may have scribbled on it; every
 * index, length and address is checked before use, as a real back-end would.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_ring.h>

#include "common/util.h"
#include "tests/support/fake-svq-backend.h"

enum {
	OWN_FREE,
	OWN_RING,
	OWN_BUF
};

static uint16_t ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

static void mark(struct fake_be *b, const void *ptr, size_t len, uint8_t own)
{
	const uint8_t *p = ptr;

	if (p >= b->region && range_ok((uint64_t)(p - b->region), len, b->size))
		memset(b->owner + (p - b->region), own, len);
}

void fake_be_init(struct fake_be *b, void *region, size_t size, const struct svq_ring_addrs *ra,
		  uint16_t num)
{
	memset(b, 0, sizeof(*b));
	b->region = region;
	b->size = size;
	b->desc = (uint8_t *)(uintptr_t)ra->desc;
	b->avail = (uint8_t *)(uintptr_t)ra->avail;
	b->used = (uint8_t *)(uintptr_t)ra->used;
	b->num = num;
	b->req = g_new0(struct fake_be_req, num);
	b->owner = g_malloc0(size);
	mark(b, b->desc, 16 * (size_t)num, OWN_RING);
	mark(b, b->avail, 6 + 2 * (size_t)num, OWN_RING);
	mark(b, b->used, 6 + 8 * (size_t)num, OWN_RING);
}

void fake_be_fini(struct fake_be *b)
{
	g_free(b->req);
	g_free(b->owner);
	memset(b, 0, sizeof(*b));
}

static void release(struct fake_be *b, uint16_t head)
{
	struct fake_be_req *r = &b->req[head];
	unsigned i;

	if (!r->taken)
		return;
	for (i = 0; i < r->n; i++)
		mark(b, r->buf[i].p, r->buf[i].len, OWN_FREE);
	r->taken = false;
}

/* Check and record one descriptor's buffer. */
static int add_buf(struct fake_be *b, struct fake_be_req *r, uint64_t addr, uint32_t len,
		   uint16_t flags, const char **why)
{
	bool wr = flags & VRING_DESC_F_WRITE;
	uint8_t *p;
	size_t i;

	if (flags & VRING_DESC_F_INDIRECT)
		return *why = "indirect descriptor", -EPROTO;
	if (len == 0)
		return *why = "empty buffer", -EPROTO;
	if (addr < SVQ_AREA_GPA || !range_ok(addr - SVQ_AREA_GPA, len, b->size))
		return *why = "buffer outside the region", -EPROTO;
	if (!wr && r->wr_len)
		return *why = "readable buffer after a writable one", -EPROTO;
	if (r->n == FAKE_BE_BUFS_MAX)
		return *why = "too many buffers", -EPROTO;
	p = b->region + (addr - SVQ_AREA_GPA);
	for (i = 0; i < len; i++)
		if (b->owner[p - b->region + i] != OWN_FREE)
			return *why = "buffer overlaps a ring or another taken buffer", -EEXIST;
	mark(b, p, len, OWN_BUF);
	r->buf[r->n++] = (struct fake_be_buf){ .p = p, .len = len, .wr = wr };
	if (wr)
		r->wr_len += len;
	else
		r->rd_len += len;
	return 0;
}

static int walk(struct fake_be *b, struct fake_be_req *r, uint16_t head, const char **why)
{
	unsigned idx = head, steps;
	int ret;

	for (steps = 0;; steps++) {
		struct vring_desc d;
		uint16_t flags;

		if (idx >= b->num)
			return *why = "descriptor index out of range", -EPROTO;
		if (steps == b->num)
			return *why = "chain longer than the ring", -EPROTO;
		memcpy(&d, b->desc + 16 * (size_t)idx, sizeof(d));
		flags = le16toh(d.flags);
		ret = add_buf(b, r, le64toh(d.addr), le32toh(d.len), flags, why);
		if (ret < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		idx = le16toh(d.next);
	}
}

int fake_be_take(struct fake_be *b, uint16_t *ret_head, const char **why)
{
	uint16_t idx = ld16(b->avail + 2), head;
	struct fake_be_req *r;
	int ret;

	if ((uint16_t)(idx - b->last_avail) > b->num)
		return *why = "available index more than num ahead", -EPROTO;
	if (idx == b->last_avail)
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* entries after the index */
	head = ld16(b->avail + 4 + 2 * (size_t)(b->last_avail & (b->num - 1)));
	b->last_avail++;
	if (b->event_idx)
		st16(b->used + 4 + 8 * (size_t)b->num, b->last_avail);
	if (head >= b->num)
		return *why = "head out of range", -EPROTO;
	release(b, head);
	r = &b->req[head];
	r->n = 0;
	r->rd_len = r->wr_len = 0;
	ret = walk(b, r, head, why);
	if (ret < 0) {
		r->taken = true;
		release(b, head);
		return ret;
	}
	r->taken = true;
	*ret_head = head;
	return 1;
}

struct fake_be_req *fake_be_req(struct fake_be *b, uint16_t head)
{
	return head < b->num && b->req[head].taken ? &b->req[head] : NULL;
}

static uint64_t copy(const struct fake_be_req *r, bool wr, uint64_t off, uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;
	unsigned i;

	for (i = 0; i < r->n && done < len; i++) {
		const struct fake_be_buf *f = &r->buf[i];
		uint64_t n;

		if (f->wr != wr)
			continue;
		if (off >= f->len) {
			off -= f->len;
			continue;
		}
		n = MIN(f->len - off, len - done);
		if (wr)
			memcpy(f->p + off, buf + done, n);
		else
			memcpy(buf + done, f->p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t fake_be_read(const struct fake_be_req *r, uint64_t off, void *buf, uint64_t len)
{
	return copy(r, false, off, buf, len);
}

uint64_t fake_be_write(const struct fake_be_req *r, uint64_t off, const void *buf, uint64_t len)
{
	return copy(r, true, off, (uint8_t *)buf, len);
}

void fake_be_put_used(struct fake_be *b, uint32_t id, uint32_t len)
{
	uint8_t *u = b->used + 4 + 8 * (size_t)(b->used_idx & (b->num - 1));

	if (id < b->num)
		release(b, (uint16_t)id);
	st32(u, id);
	st32(u + 4, len);
	__atomic_thread_fence(__ATOMIC_RELEASE); /* the entry before the index */
	b->used_idx++;
	st16(b->used + 2, b->used_idx);
}

void fake_be_use(struct fake_be *b, uint16_t head, uint32_t len)
{
	fake_be_put_used(b, head, len);
}

void fake_be_set_used_idx(struct fake_be *b, uint16_t idx)
{
	b->used_idx = idx;
	st16(b->used + 2, idx);
}

void fake_be_set_used_flags(struct fake_be *b, uint16_t flags)
{
	st16(b->used, flags);
}

void fake_be_set_avail_event(struct fake_be *b, uint16_t idx)
{
	st16(b->used + 4 + 8 * (size_t)b->num, idx);
}

uint16_t fake_be_used_event(struct fake_be *b)
{
	return ld16(b->avail + 4 + 2 * (size_t)b->num);
}

void fake_be_reserve(struct fake_be *b, const void *p, size_t len)
{
	mark(b, p, len, OWN_RING);
}

void fake_be_reset(struct fake_be *b)
{
	unsigned i;

	for (i = 0; i < b->num; i++)
		release(b, (uint16_t)i);
	b->last_avail = 0;
	b->used_idx = 0;
}
