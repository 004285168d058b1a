/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shadow virtqueues (devices/svq.h, DESIGN.md §3): guest requests are copied into a
 * memfd the back-end maps, posted on a split ring there (virtio 1.2 §2.7), and copied
 * back when the back-end has used them.
 *
 * Trust boundary: two untrusted peers. The guest ring is walked by devices/virtqueue.c,
 * which bounds every chain; here the guest controls how many bytes and segments each
 * request has, and both are bounded (the bounce budget, SVQ_SEGS_MAX in flight). The
 * back-end maps the whole area and may write any byte of it at any time: xvdm never
 * reads back what it wrote there (descriptors, available ring: the private copies in
 * struct svq are the truth), and of what the back-end writes (used ring flags, index and
 * elements, avail_event, the contents of bounce buffers) each field is loaded once and
 * checked before use: the used index may not move further than the requests in flight,
 * a used id must be the head of a chain in flight, a used length is clamped to the
 * chain's writable bytes. A violation latches the queue broken (-EPROTO) before
 * anything of that element is used; nothing it says can make xvdm touch memory outside
 * the queue's part of the area or complete a guest request twice. The memfd is sealed so
 * that the back-end cannot shrink it under our mapping (SIGBUS).
 *
 * Bounce memory: each queue's pool is cut into at most SVQ_CHUNKS_MAX chunks of a
 * power-of-two size >= 64 bytes, tracked by a bitmap. A request takes ceil(readable /
 * chunk) + ceil(writable / chunk) chunks, first fit from the start of the pool, in up to
 * SVQ_CHAIN_DESC_MAX free runs; each run becomes one shadow descriptor (readable runs
 * first; a run that straddles the readable/writable boundary is split there, which is a
 * chunk boundary). Completions come back in any order and free their runs. Since the
 * pool is empty when nothing is in flight, a request that fits the budget at all fits
 * then (in two descriptors): a request waits only while others are in flight, and one
 * larger than the budget fails at once.
 *
 * Filters (svq_set_filter): a device whose payloads name memory (virtio-gpu's
 * ATTACH_BACKING) rewrites the readable bounce bytes after they were copied in and
 * before the request is published, may answer a request itself (the back-end never sees
 * it), and sees each response before its bytes go back to the guest. The filter reads
 * the bounce bytes through svq_freq_*, which bound every range by the request's own.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/svq-internal.h"
#include "devices/virtqueue.h"

#define SVQ_NUM_MAX	   32768      /* split rings (virtio 1.2 §2.7) */
#define SVQ_ALIGN	   4096ULL    /* each queue's run of the area, and its pool */
#define SVQ_CHUNK_MIN	   64U	      /* smallest bounce chunk: a cache line */
#define SVQ_CHUNKS_MAX	   65536U     /* chunks per pool: a 8 KiB bitmap, 1024 words to scan */
#define SVQ_CHAIN_DESC_MAX 64U	      /* descriptors of one shadow chain */
#define SVQ_SEGS_MAX	   65536U     /* guest segments held by requests in flight */
#define SVQ_NONE	   UINT16_MAX /* no descriptor / request (ids are < 32768) */

/* A lone guest chain (num direct descriptors, the last one an indirect table) always fits. */
_Static_assert(SVQ_SEGS_MAX >= SVQ_NUM_MAX + VQ_INDIRECT_MAX, "SVQ_SEGS_MAX too small");
_Static_assert(SVQ_BOUNCE_MAX / SVQ_CHUNKS_MAX <= UINT32_MAX / 2, "chunk size overflows");

#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))
#define ROUND_UP(n, a)	   (DIV_ROUND_UP(n, a) * (a))

/* xvdm's copy of one shadow descriptor: the truth, whatever the back-end writes. */
struct svq_desc {
	uint32_t chunk; /* first bounce chunk */
	uint32_t len;	/* bytes, > 0 */
	uint16_t flags; /* VRING_DESC_F_WRITE, VRING_DESC_F_NEXT as published */
	uint16_t next;	/* next in the chain, or in the free list */
};

/* One request in flight, indexed by the head of its shadow chain. */
struct svq_req {
	struct vq_elem elem;	   /* the guest's chain, owned while busy */
	struct svq_cookie *cookie; /* the filter's, while busy */
	uint16_t prev;		   /* submission order, for svq_restart */
	uint16_t next;
	bool busy;
};

/* Where the parts of one queue sit in its run of the area (offsets into the run). */
struct svq_layout {
	size_t avail;
	size_t used;
	size_t pool;
	size_t total;
	uint32_t chunk;
	uint32_t nchunks;
};

struct svq {
	struct svq_area *area;
	struct svq_run run; /* our part of the area */
	struct vq *guest;
	char *name;
	uint16_t num;
	bool event_idx;
	int broken; /* 0, or -EPROTO once the back-end broke the shadow ring */
	struct svq_filter *filter;

	/* The shadow ring, in the area (shared with the back-end). */
	uint8_t *desc_va;
	uint8_t *avail_va;
	uint8_t *used_va;
	uint8_t *pool_va;
	uint64_t pool_gpa; /* pool_va as the back-end addresses it */

	/* Bounce pool: one bit per chunk, set = in use. */
	uint32_t chunk;
	uint32_t nchunks;
	uint32_t free_chunks;
	uint64_t *bitmap;

	struct svq_desc *desc; /* num */
	uint16_t free_head;    /* free descriptors, linked through desc[].next */
	uint16_t free_descs;
	struct svq_req *req; /* num */
	uint16_t first;	     /* oldest request in flight, SVQ_NONE when none */
	uint16_t last;	     /* newest */

	uint16_t avail_idx; /* next shadow available entry (published at the end of a forward) */
	uint16_t last_used; /* next shadow used entry to consume */
	unsigned inflight;  /* requests posted to the back-end, not yet used */
	unsigned inflight_segs;

	struct vq_elem held; /* popped from the guest, not posted yet (have_held) */
	bool have_held;
};

/* --- shared ring fields: little-endian (virtio 1.2 §2.7), single loads and stores --- */

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static uint32_t load32(const uint8_t *p)
{
	return le32toh(__atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static uint8_t *avail_flags(struct svq *s)
{
	return s->avail_va + offsetof(struct vring_avail, flags);
}

static uint8_t *avail_idx(struct svq *s)
{
	return s->avail_va + offsetof(struct vring_avail, idx);
}

static uint8_t *avail_ring(struct svq *s, uint16_t i)
{
	return s->avail_va + offsetof(struct vring_avail, ring) + 2 * (size_t)(i & (s->num - 1));
}

static uint8_t *used_event(struct svq *s)
{
	return s->avail_va + offsetof(struct vring_avail, ring) + 2 * (size_t)s->num;
}

static uint8_t *used_flags(struct svq *s)
{
	return s->used_va + offsetof(struct vring_used, flags);
}

static uint8_t *used_idx(struct svq *s)
{
	return s->used_va + offsetof(struct vring_used, idx);
}

static uint8_t *used_elem(struct svq *s, uint16_t i)
{
	return s->used_va + offsetof(struct vring_used, ring) +
	       sizeof(struct vring_used_elem) * (size_t)(i & (s->num - 1));
}

static uint8_t *avail_event(struct svq *s)
{
	return s->used_va + offsetof(struct vring_used, ring) +
	       sizeof(struct vring_used_elem) * (size_t)s->num;
}

static uint64_t chunks_for(const struct svq *s, uint64_t bytes)
{
	return DIV_ROUND_UP(bytes, s->chunk);
}

/* --- queues --- */

static void layout(uint16_t num, size_t bounce, struct svq_layout *l)
{
	l->avail = 16 * (size_t)num;
	/* The used ring on its own cache lines: the back-end writes it, we write the rest. */
	l->used = ROUND_UP(l->avail + 6 + 2 * (size_t)num, 64);
	l->pool = ROUND_UP(l->used + 6 + 8 * (size_t)num, SVQ_ALIGN);
	l->chunk = SVQ_CHUNK_MIN;
	while (DIV_ROUND_UP(bounce, l->chunk) > SVQ_CHUNKS_MAX)
		l->chunk *= 2;
	l->nchunks = (uint32_t)DIV_ROUND_UP(bounce, l->chunk);
	l->total = ROUND_UP(l->pool + (size_t)l->nchunks * l->chunk, SVQ_ALIGN);
}

static bool params_ok(uint16_t num, size_t bounce_bytes)
{
	return is_pow2(num) && num <= SVQ_NUM_MAX && bounce_bytes && bounce_bytes <= SVQ_BOUNCE_MAX;
}

size_t svq_area_need(uint16_t num, size_t bounce_bytes)
{
	struct svq_layout l;

	if (!params_ok(num, bounce_bytes))
		return 0;
	layout(num, bounce_bytes, &l);
	return l.total;
}

int svq_new(struct svq_area *a, struct vq *guest, uint16_t num, size_t bounce_bytes,
	    const char *name, struct svq **ret)
{
	struct svq_layout l;
	struct svq *s;
	size_t off;
	unsigned i;
	int r;

	if (!params_ok(num, bounce_bytes))
		return -EINVAL;
	layout(num, bounce_bytes, &l);
	s = g_new0(struct svq, 1);
	r = svq_area_take(a, l.total, &s->run);
	if (r < 0) {
		g_free(s);
		return r;
	}
	s->area = a;
	off = s->run.off;
	s->guest = guest;
	s->name = g_strdup(name);
	s->num = num;
	s->desc_va = a->va + off;
	s->avail_va = a->va + off + l.avail;
	s->used_va = a->va + off + l.used;
	s->pool_va = a->va + off + l.pool;
	s->pool_gpa = SVQ_AREA_GPA + off + l.pool;
	/* A previous queue may have left its rings here. */
	memset(s->desc_va, 0, l.pool);
	s->chunk = l.chunk;
	s->nchunks = l.nchunks;
	s->free_chunks = l.nchunks;
	s->bitmap = g_new0(uint64_t, DIV_ROUND_UP(l.nchunks, 64));
	s->desc = g_new0(struct svq_desc, num);
	for (i = 0; i < num; i++)
		s->desc[i].next = i + 1 < num ? (uint16_t)(i + 1) : SVQ_NONE;
	s->free_head = 0;
	s->free_descs = num;
	s->req = g_new0(struct svq_req, num);
	s->first = s->last = SVQ_NONE;
	vq_elem_init(&s->held);
	*ret = s;
	return 0;
}

void svq_free(struct svq *s)
{
	unsigned i;

	if (!s)
		return;
	/* Requests in flight are dropped: the device is being reset. */
	for (i = 0; i < s->num; i++) {
		if (s->req[i].busy && s->req[i].cookie && s->filter && s->filter->ops->drop)
			s->filter->ops->drop(s->filter, s->req[i].cookie);
		vq_elem_fini(&s->req[i].elem);
	}
	vq_elem_fini(&s->held);
	svq_area_release(s->area, &s->run);
	g_free(s->req);
	g_free(s->desc);
	g_free(s->bitmap);
	g_free(s->name);
	g_free(s);
}

void svq_ring_addrs(struct svq *s, struct svq_ring_addrs *ret)
{
	ret->desc = (uint64_t)(uintptr_t)s->desc_va;
	ret->avail = (uint64_t)(uintptr_t)s->avail_va;
	ret->used = (uint64_t)(uintptr_t)s->used_va;
}

void svq_set_filter(struct svq *s, struct svq_filter *f)
{
	s->filter = f;
}

void svq_set_event_idx(struct svq *s, bool on)
{
	s->event_idx = on;
}

unsigned svq_inflight(struct svq *s)
{
	return s->inflight;
}

static int svq_break(struct svq *s, const char *why)
{
	if (!s->broken)
		log_warn_rl("%s: back-end broke the shadow ring: %s", s->name, why);
	s->broken = -EPROTO;
	return s->broken;
}

/* --- building chains --- */

/* One run of chunks for a chain being built. */
struct svq_piece {
	uint32_t chunk;
	uint32_t len; /* bytes */
	bool wr;
};

/*
 * Find runs for `bytes` bytes (readable or writable), first fit from *pos on, appending
 * to p[*np]. -ENOSPC when that takes more than max pieces.
 */
static int find_runs(struct svq *s, uint64_t bytes, bool wr, uint32_t *pos, struct svq_piece *p,
		     unsigned *np, unsigned max)
{
	uint64_t want = chunks_for(s, bytes);

	while (want) {
		uint32_t a = svq_bm_find(s->bitmap, s->nchunks, *pos, false);
		/*
		 * The run's end is looked for only as far as it is wanted: in a mostly free
		 * pool an unbounded search walked the whole bitmap (1024 words for 65536
		 * chunks) twice per request.
		 */
		uint32_t b = svq_bm_find(s->bitmap, (uint32_t)MIN((uint64_t)s->nchunks, a + want),
					 a, true);
		uint32_t n = (uint32_t)MIN((uint64_t)(b - a), want);

		/* a >= nchunks only if free_chunks were wrong: then the request just waits. */
		if (*np == max || a >= s->nchunks)
			return -ENOSPC;
		p[*np].chunk = a;
		p[*np].len = (uint32_t)MIN((uint64_t)n * s->chunk, bytes);
		p[*np].wr = wr;
		(*np)++;
		bytes -= p[*np - 1].len;
		want -= n;
		*pos = a + n;
	}
	return 0;
}

/* Publish descriptor id from our copy (the shadow table is only ever written, never read). */
static void write_desc(struct svq *s, uint16_t id)
{
	const struct svq_desc *d = &s->desc[id];
	struct vring_desc v = {
		.addr = htole64(s->pool_gpa + (uint64_t)d->chunk * s->chunk),
		.len = htole32(d->len),
		.flags = htole16(d->flags),
		.next = htole16(d->flags & VRING_DESC_F_NEXT ? d->next : 0),
	};

	memcpy(s->desc_va + sizeof(v) * id, &v, sizeof(v));
}

/* Take bounce runs and descriptors for e: the head of the new chain, or -ENOSPC. */
static int alloc_chain(struct svq *s, const struct vq_elem *e, uint16_t *ret_head)
{
	struct svq_piece p[SVQ_CHAIN_DESC_MAX];
	unsigned np = 0, i, max = MIN(s->free_descs, SVQ_CHAIN_DESC_MAX);
	uint16_t head = SVQ_NONE, prev = SVQ_NONE;
	uint32_t pos = 0;

	if (chunks_for(s, e->rd_len) + chunks_for(s, e->wr_len) > s->free_chunks)
		return -ENOSPC;
	if (find_runs(s, e->rd_len, false, &pos, p, &np, max) < 0 ||
	    find_runs(s, e->wr_len, true, &pos, p, &np, max) < 0)
		return -ENOSPC;
	for (i = 0; i < np; i++) {
		uint16_t id = s->free_head;
		uint32_t n = (uint32_t)chunks_for(s, p[i].len);

		s->free_head = s->desc[id].next;
		s->free_descs--;
		svq_bm_assign(s->bitmap, p[i].chunk, n, true);
		s->free_chunks -= n;
		s->desc[id].chunk = p[i].chunk;
		s->desc[id].len = p[i].len;
		s->desc[id].flags = p[i].wr ? VRING_DESC_F_WRITE : 0;
		s->desc[id].next = SVQ_NONE;
		if (prev == SVQ_NONE) {
			head = id;
		} else {
			s->desc[prev].flags |= VRING_DESC_F_NEXT;
			s->desc[prev].next = id;
		}
		prev = id;
	}
	*ret_head = head;
	return 0;
}

/* Return the descriptors and bounce runs of the chain at head. */
static void free_chain(struct svq *s, uint16_t head)
{
	uint16_t id = head;

	for (;;) {
		struct svq_desc *d = &s->desc[id];
		uint16_t next = d->next;
		uint32_t n = (uint32_t)chunks_for(s, d->len);

		svq_bm_assign(s->bitmap, d->chunk, n, false);
		s->free_chunks += n;
		d->next = s->free_head;
		s->free_head = id;
		s->free_descs++;
		if (!(d->flags & VRING_DESC_F_NEXT))
			return;
		id = next;
	}
}

static uint8_t *desc_buf(struct svq *s, const struct svq_desc *d)
{
	return s->pool_va + (size_t)d->chunk * s->chunk;
}

/*
 * Fill the chain at head: readable bytes from the guest, writable ones zeroed (so
 * that a back-end claiming more than it wrote hands the guest zeros, not old data).
 * -EFAULT when a readable buffer is not guest RAM.
 */
static int fill_chain(struct svq *s, uint16_t head, const struct vq_elem *e)
{
	uint64_t off = 0;
	uint16_t id = head;

	for (;;) {
		const struct svq_desc *d = &s->desc[id];

		if (d->flags & VRING_DESC_F_WRITE) {
			memset(desc_buf(s, d), 0, d->len);
		} else {
			ssize_t n = vq_elem_from_guest(s->guest, e, off, desc_buf(s, d), d->len);

			if (n != (ssize_t)d->len)
				return -EFAULT;
			off += d->len;
		}
		write_desc(s, id);
		if (!(d->flags & VRING_DESC_F_NEXT))
			return 0;
		id = d->next;
	}
}

/*
 * Copy [off, off + len) of the readable (wr false) or writable (wr true) bounce bytes
 * of the chain at head out (to) or in (!to). 0, or -EINVAL when the range is not there.
 */
static int chain_copy(struct svq *s, uint16_t head, bool wr, uint64_t off, uint8_t *buf, size_t len,
		      bool out)
{
	uint16_t id = head;
	uint64_t pos = 0;

	while (len) {
		const struct svq_desc *d = &s->desc[id];

		if (!!(d->flags & VRING_DESC_F_WRITE) == wr && off < pos + d->len) {
			uint64_t in = off > pos ? off - pos : 0;
			size_t n = (size_t)MIN((uint64_t)len, d->len - in);

			if (out)
				memcpy(buf, desc_buf(s, d) + in, n);
			else
				memcpy(desc_buf(s, d) + in, buf, n);
			buf += n;
			off += n;
			len -= n;
		}
		if (!!(d->flags & VRING_DESC_F_WRITE) == wr)
			pos += d->len;
		if (!(d->flags & VRING_DESC_F_NEXT))
			break;
		id = d->next;
	}
	return len ? -EINVAL : 0;
}

int svq_freq_read(const struct svq_freq *r, uint64_t off, void *buf, size_t len)
{
	if (off > r->rd_len || len > r->rd_len - off)
		return -EINVAL;
	return chain_copy(r->s, r->head, false, off, buf, len, true);
}

int svq_freq_write(const struct svq_freq *r, uint64_t off, const void *buf, size_t len)
{
	if (off > r->rd_len || len > r->rd_len - off)
		return -EINVAL;
	return chain_copy(r->s, r->head, false, off, (uint8_t *)(uintptr_t)buf, len, false);
}

int svq_freq_read_written(const struct svq_freq *r, uint64_t off, void *buf, size_t len)
{
	if (off > r->wr_len || len > r->wr_len - off)
		return -EINVAL;
	return chain_copy(r->s, r->head, true, off, buf, len, true);
}

/* Complete the held request with nothing written; the guest ring's error, if any. */
static int fail_held(struct svq *s, const char *why)
{
	int r;

	log_warn_rl("%s: request %u (%" PRIu64 " + %" PRIu64 " bytes): %s: completed with length 0",
		    s->name, s->held.head, s->held.rd_len, s->held.wr_len, why);
	s->have_held = false;
	r = vq_push(s->guest, &s->held, 0);
	return r < 0 ? r : 0;
}

/* The filter answered the held request itself: hand the guest its reply. */
static int reply_held(struct svq *s, const struct svq_freq *fr)
{
	uint32_t len =
		(uint32_t)MIN((uint64_t)MIN(fr->reply_len, SVQ_FILTER_REPLY_MAX), s->held.wr_len);
	int r;

	if (vq_elem_to_guest(s->guest, &s->held, 0, fr->reply, len) != (ssize_t)len)
		len = 0;
	s->have_held = false;
	r = vq_push(s->guest, &s->held, len);
	return r < 0 ? r : 0;
}

/* Run the filter on the chain at head (filled): its verdict; the cookie in *fr. */
static enum svq_verdict filter_request(struct svq *s, uint16_t head, struct svq_freq *fr)
{
	*fr = (struct svq_freq){
		.s = s, .head = head, .rd_len = s->held.rd_len, .wr_len = s->held.wr_len
	};
	if (!s->filter)
		return SVQ_FILTER_FORWARD;
	return s->filter->ops->request(s->filter, fr);
}

static void order_append(struct svq *s, uint16_t head)
{
	s->req[head].prev = s->last;
	s->req[head].next = SVQ_NONE;
	if (s->last == SVQ_NONE)
		s->first = head;
	else
		s->req[s->last].next = head;
	s->last = head;
}

static void order_unlink(struct svq *s, uint16_t head)
{
	struct svq_req *q = &s->req[head];

	if (q->prev == SVQ_NONE)
		s->first = q->next;
	else
		s->req[q->prev].next = q->next;
	if (q->next == SVQ_NONE)
		s->last = q->prev;
	else
		s->req[q->next].prev = q->prev;
}

/*
 * Post the held request: 1 when posted, 0 when it failed alone (completed with length
 * 0), -ENOSPC when it has to wait for completions, or the guest ring's error.
 */
static int forward_held(struct svq *s)
{
	struct vq_elem *e = &s->held;
	uint64_t need = chunks_for(s, e->rd_len) + chunks_for(s, e->wr_len);
	unsigned min_desc = (e->rd_len > 0) + (e->wr_len > 0);
	struct svq_freq fr;
	struct svq_req *q;
	uint16_t head;

	if (need == 0)
		return fail_held(s, "no buffer to forward");
	if (need > s->nchunks || min_desc > MIN(s->num, SVQ_CHAIN_DESC_MAX))
		return fail_held(s, "larger than the shadow queue's bounce budget");
	if (s->inflight_segs + e->n_rd + e->n_wr > SVQ_SEGS_MAX)
		return -ENOSPC;
	if (alloc_chain(s, e, &head) < 0)
		return -ENOSPC;
	if (fill_chain(s, head, e) < 0) {
		free_chain(s, head);
		return fail_held(s, "readable buffer is not guest RAM");
	}
	if (filter_request(s, head, &fr) == SVQ_FILTER_REPLY) {
		free_chain(s, head);
		return reply_held(s, &fr);
	}
	q = &s->req[head];
	q->cookie = fr.cookie;
	q->elem = *e; /* the request takes over the segment array */
	vq_elem_init(e);
	s->have_held = false;
	q->busy = true;
	order_append(s, head);
	s->inflight++;
	s->inflight_segs += q->elem.n_rd + q->elem.n_wr;
	store16(avail_ring(s, s->avail_idx), head);
	s->avail_idx++;
	return 1;
}

/* After publishing the available index from old on: does the back-end want a kick? */
static bool need_kick(struct svq *s, uint16_t old)
{
	/*
	 * Barrier: the available index store before the loads of the back-end's
	 * suppression fields (store -> load; virtio 1.2 §2.7.13.4). Pairs with the
	 * back-end's full barrier between writing them and reading the available index.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (s->event_idx)
		return vring_need_event(load16(avail_event(s)), s->avail_idx, old);
	return !(load16(used_flags(s)) & VRING_USED_F_NO_NOTIFY);
}

/* Guest requests that may fail alone in one svq_forward call before it yields. */
#define SVQ_FORWARD_FAIL_MAX(s) MAX((unsigned)(s)->num, 64U)

int svq_forward(struct svq *s, bool *ret_kick, bool *ret_notify)
{
	uint16_t old = s->avail_idx;
	unsigned moved = 0, failed = 0;
	int r;

	*ret_kick = *ret_notify = false;
	if (s->broken)
		return s->broken;
	for (;;) {
		if (!s->have_held) {
			if (failed == SVQ_FORWARD_FAIL_MAX(s)) {
				r = -EAGAIN;
				break;
			}
			r = vq_pop(s->guest, &s->held);
			if (r <= 0)
				break;
			s->have_held = true;
		}
		r = forward_held(s);
		if (r < 0)
			break;
		if (r)
			moved++;
		else
			failed++;
	}
	if (moved) {
		/*
		 * Barrier: descriptors and available entries before the index that
		 * publishes them (virtio 1.2 §2.7.13.3). Pairs with the back-end's read
		 * barrier after loading the available index.
		 */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		store16(avail_idx(s), s->avail_idx);
		*ret_kick = need_kick(s, old);
	}
	*ret_notify = vq_should_notify(s->guest);
	if (r == -ENOSPC || r == 0)
		return (int)moved;
	return r;
}

/* --- completions --- */

/*
 * Copy the first len bytes of the writable runs of the request at head to the guest
 * (len <= the request's writable bytes): the number of bytes the guest got.
 */
static uint32_t copy_back(struct svq *s, uint16_t head, uint32_t len)
{
	const struct vq_elem *e = &s->req[head].elem;
	uint32_t done = 0;
	uint16_t id = head;

	while (done < len) {
		const struct svq_desc *d = &s->desc[id];

		if (d->flags & VRING_DESC_F_WRITE) {
			uint32_t n = MIN(d->len, len - done);

			if (vq_elem_to_guest(s->guest, e, done, desc_buf(s, d), n) != (ssize_t)n) {
				log_warn_rl("%s: request %u: writable buffer is not guest RAM: "
					    "completed with length 0",
					    s->name, e->head);
				return 0;
			}
			done += n;
		}
		if (!(d->flags & VRING_DESC_F_NEXT))
			break; /* the writable runs hold wr_len >= len bytes */
		id = d->next;
	}
	return done;
}

/* Complete the request at head with len bytes written: the guest ring's error, if any. */
static int complete_one(struct svq *s, uint16_t head, uint32_t len)
{
	struct svq_req *q = &s->req[head];
	int r;

	len = (uint32_t)MIN((uint64_t)len, q->elem.wr_len);
	if (s->filter) {
		struct svq_freq fr = { .s = s,
				       .head = head,
				       .rd_len = q->elem.rd_len,
				       .wr_len = q->elem.wr_len,
				       .cookie = q->cookie };

		s->filter->ops->response(s->filter, &fr, len);
	}
	q->cookie = NULL;
	len = copy_back(s, head, len);
	r = vq_push(s->guest, &q->elem, len);
	free_chain(s, head);
	order_unlink(s, head);
	s->inflight--;
	s->inflight_segs -= q->elem.n_rd + q->elem.n_wr;
	vq_elem_fini(&q->elem);
	q->busy = false;
	return r;
}

/* Consume pending (> 0, checked) used entries: the number completed, or -errno. */
static int complete_pending(struct svq *s, uint16_t pending, unsigned *done)
{
	/*
	 * Barrier: the used index was loaded before the entries it covers (the
	 * back-end writes the entry, a write barrier, then the index: §2.7.8.2).
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	while (pending--) {
		const uint8_t *u = used_elem(s, s->last_used);
		uint32_t id = load32(u + offsetof(struct vring_used_elem, id));
		uint32_t len = load32(u + offsetof(struct vring_used_elem, len));
		int r;

		if (id >= s->num || !s->req[id].busy)
			return svq_break(s, "used id is not the head of a request in flight");
		s->last_used++;
		r = complete_one(s, (uint16_t)id, len);
		if (r < 0)
			return r;
		(*done)++;
	}
	return 0;
}

int svq_complete(struct svq *s, bool *ret_notify)
{
	bool asked = false;
	unsigned done = 0;
	int r = 0;

	*ret_notify = false;
	if (s->broken)
		return s->broken;
	/* Each pass completes at least one request, or asks for a call once: bounded. */
	for (;;) {
		uint16_t pending = (uint16_t)(load16(used_idx(s)) - s->last_used);

		if (pending > s->inflight) {
			r = svq_break(s, "used index ahead of the requests in flight");
			break;
		}
		if (pending) {
			r = complete_pending(s, pending, &done);
			if (r < 0)
				break;
			asked = false;
			continue;
		}
		if (!s->event_idx || asked)
			break;
		/*
		 * virtio 1.2 §2.7.10: call us when the entry at last_used is written, then
		 * look again: the back-end may have used one before it saw used_event.
		 */
		store16(used_event(s), s->last_used);
		/* Barrier: used_event before the used index is loaded again (store -> load). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		asked = true;
	}
	*ret_notify = vq_should_notify(s->guest);
	return r < 0 ? r : (int)done;
}

/* --- reconnection --- */

int svq_restart(struct svq *s)
{
	uint16_t head, n = 0;

	s->broken = 0;
	s->last_used = 0;
	s->avail_idx = 0;
	store16(avail_flags(s), 0);
	store16(used_event(s), 0);
	store16(used_flags(s), 0);
	store16(used_idx(s), 0);
	store16(avail_event(s), 0);
	for (head = s->first; head != SVQ_NONE; head = s->req[head].next) {
		uint16_t id = head;

		/* Rewrite the chain from our copy: the old back-end may have scribbled on it. */
		for (;;) {
			const struct svq_desc *d = &s->desc[id];

			if (d->flags & VRING_DESC_F_WRITE)
				memset(desc_buf(s, d), 0, d->len);
			write_desc(s, id);
			if (!(d->flags & VRING_DESC_F_NEXT))
				break;
			id = d->next;
		}
		store16(avail_ring(s, n), head);
		n++;
	}
	s->avail_idx = n;
	/* Barrier: descriptors and entries before the index (§2.7.13.3). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store16(avail_idx(s), n);
	return n;
}

/* --- self-check (tests, fuzzing) --- */

/* Mark n chunks from c in seen; false when one is seen already or free in the pool. */
static bool check_chunks(const struct svq *s, uint64_t *seen, uint32_t c, uint32_t n)
{
	for (; n; c++, n--) {
		if (c >= s->nchunks || seen[c / 64] & (1ULL << (c % 64)) ||
		    !(s->bitmap[c / 64] & (1ULL << (c % 64))))
			return false;
		seen[c / 64] |= 1ULL << (c % 64);
	}
	return true;
}

/* One chain: its descriptors unseen, its runs owned, its byte counts the request's. */
static bool check_chain(const struct svq *s, uint16_t head, uint8_t *dseen, uint64_t *seen,
			unsigned *ret_chunks)
{
	const struct vq_elem *e = &s->req[head].elem;
	uint64_t rd = 0, wr = 0;
	uint16_t id = head;

	for (;;) {
		const struct svq_desc *d = &s->desc[id];
		uint32_t n = (uint32_t)chunks_for(s, d->len);

		if (dseen[id] || !d->len || !check_chunks(s, seen, d->chunk, n))
			return false;
		dseen[id] = 1;
		*ret_chunks += n;
		if (d->flags & VRING_DESC_F_WRITE)
			wr += d->len;
		else if (wr)
			return false;
		else
			rd += d->len;
		if (!(d->flags & VRING_DESC_F_NEXT))
			break;
		id = d->next;
		if (id >= s->num)
			return false;
	}
	return rd == e->rd_len && wr == e->wr_len;
}

static bool check_all(const struct svq *s, uint8_t *dseen, uint64_t *seen)
{
	unsigned nfree = 0, reqs = 0, busy = 0, segs = 0, chunks = 0, set = 0, i;
	uint16_t id, prev = SVQ_NONE;

	for (id = s->free_head; id != SVQ_NONE; id = s->desc[id].next, nfree++)
		if (id >= s->num || dseen[id]++)
			return false;
	for (id = s->first; id != SVQ_NONE; prev = id, id = s->req[id].next, reqs++) {
		if (id >= s->num || reqs == s->num || !s->req[id].busy || s->req[id].prev != prev ||
		    !check_chain(s, id, dseen, seen, &chunks))
			return false;
		segs += s->req[id].elem.n_rd + s->req[id].elem.n_wr;
	}
	for (i = 0; i < s->num; i++)
		busy += s->req[i].busy;
	for (i = 0; i < DIV_ROUND_UP(s->nchunks, 64); i++)
		set += (unsigned)__builtin_popcountll(s->bitmap[i]);
	return s->last == prev && nfree == s->free_descs && reqs == s->inflight && busy == reqs &&
	       segs == s->inflight_segs && chunks == set && set == s->nchunks - s->free_chunks &&
	       (uint16_t)(s->avail_idx - s->last_used) == s->inflight;
}

int svq_check(struct svq *s)
{
	uint8_t *dseen = g_new0(uint8_t, s->num);
	uint64_t *seen = g_new0(uint64_t, DIV_ROUND_UP(s->nchunks, 64));
	bool ok = check_all(s, dseen, seen);

	g_free(seen);
	g_free(dseen);
	return ok ? 0 : -EUCLEAN;
}
