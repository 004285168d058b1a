/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-gpu in shadow mode (devices/vhu-gpu.h): the control queue's filter.
 *
 * RESOURCE_ATTACH_BACKING (virtio 1.2 §5.7.6.8) hands the device a list of guest
 * pages, which a back-end that maps only the shadow area cannot reach (and
 * vhost-user-gpu offers no F_XEN_MMAP). So each resource's backing gets a block of the
 * device's svq area as large as the guest's pages together; the request's entries are
 * rewritten to name consecutive parts of the block (same count, same lengths) before
 * the back-end sees them, and the guest's pages are copied into the block: at attach,
 * and on each TRANSFER_TO_HOST_2D (the only 2D command that reads the backing) — just
 * the transferred rectangle's rows, walked the way the back-end walks them (stride =
 * the resource's width * 4: every virtio-gpu 2D format is 32 bits per pixel), or the
 * whole backing when the resource's size is not known. The block is freed when the
 * back-end answers DETACH_BACKING or RESOURCE_UNREF (it processes the control queue in
 * order, so nothing before can still read it), or when a failed ATTACH_BACKING
 * comes back. RESOURCE_CREATE_BLOB (not offered) is refused here.
 *
 * Trust boundary: the guest writes the requests (copied to the bounce buffers before
 * we read them: what we check is what the back-end gets) and the pages they name;
 * every entry is copied through gmem (an address that is not guest RAM fails that
 * command with ERR_UNSPEC, the back-end never sees it), entry counts are bounded by
 * GPU_ENTRIES_MAX, backing bytes by backing-mem= per device (beyond: ERR_OUT_OF_MEMORY),
 * resources tracked by GPU_RES_MAX. The back-end writes the responses: only their type
 * is read, to decide whether an ATTACH_BACKING took.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/vhu-gpu.h"

#define GPU_ENTRIES_MAX 16384 /* per ATTACH_BACKING, as vhost-user-gpu */
#define GPU_RES_MAX	16384 /* resources tracked per device */
#define GPU_BPP		4
#define ROUND_UP_4K(n)	(((n) + 4095) & ~(uint64_t)4095) /* svq blocks are whole pages */

struct gpu_ent {
	uint64_t gpa;
	uint64_t off; /* in the backing */
	uint32_t len;
};

struct gpu_res {
	uint32_t id;
	uint32_t width, height; /* from RESOURCE_CREATE_2D; 0: not known */
	struct svq_block *blk;	/* the shadow backing, NULL when none */
	struct gpu_ent *ents;
	uint32_t nents;
	uint64_t size;
};

/* A request in flight that we must follow up on its response. */
struct svq_cookie {
	uint32_t type;
	uint32_t res_id;
	uint32_t width, height;
	struct svq_block *blk; /* ATTACH_BACKING: the new backing until it took */
	struct gpu_ent *ents;
	uint32_t nents;
	uint64_t size;
};

struct vhu_gpu_shadow {
	struct svq_filter filter;
	char *name;
	struct gmem *mem;
	struct svq_area *area;
	GHashTable *res; /* resource id -> struct gpu_res */
	size_t max;
	size_t used;
};

static void res_free(gpointer p)
{
	struct gpu_res *r = p;

	svq_block_free(r->blk);
	g_free(r->ents);
	g_free(r);
}

static void backing_drop(struct vhu_gpu_shadow *g, struct gpu_res *r)
{
	if (r->blk)
		g->used -= svq_block_size(r->blk);
	svq_block_free(r->blk);
	g_free(r->ents);
	r->blk = NULL;
	r->ents = NULL;
	r->nents = 0;
	r->size = 0;
}

static struct gpu_res *res_find(struct vhu_gpu_shadow *g, uint32_t id)
{
	return g_hash_table_lookup(g->res, GUINT_TO_POINTER(id));
}

/* The resource id's entry, created when there is room: NULL when there is none. */
static struct gpu_res *res_get(struct vhu_gpu_shadow *g, uint32_t id)
{
	struct gpu_res *r = res_find(g, id);

	if (r || g_hash_table_size(g->res) >= GPU_RES_MAX)
		return r;
	r = g_new0(struct gpu_res, 1);
	r->id = id;
	g_hash_table_insert(g->res, GUINT_TO_POINTER(id), r);
	return r;
}

static void cookie_free(struct vhu_gpu_shadow *g, struct svq_cookie *c)
{
	if (c->blk)
		g->used -= svq_block_size(c->blk);
	svq_block_free(c->blk);
	g_free(c->ents);
	g_free(c);
}

/* Answer the request ourselves with an error, as the back-end would (fence echoed). */
static enum svq_verdict reply_err(struct svq_freq *r, const struct virtio_gpu_ctrl_hdr *cmd,
				  uint32_t type)
{
	struct virtio_gpu_ctrl_hdr resp = { .type = htole32(type) };

	if (cmd->flags & htole32(VIRTIO_GPU_FLAG_FENCE)) {
		resp.flags = htole32(VIRTIO_GPU_FLAG_FENCE);
		resp.fence_id = cmd->fence_id;
		resp.ctx_id = cmd->ctx_id;
	}
	memcpy(r->reply, &resp, sizeof(resp));
	r->reply_len = sizeof(resp);
	return SVQ_FILTER_REPLY;
}

/* Copy [off, off + len) of the resource's backing from the guest's pages (clamped). */
static int copy_in(struct vhu_gpu_shadow *g, struct gpu_res *r, uint64_t off, uint64_t len)
{
	uint32_t lo = 0, hi = r->nents;

	if (off >= r->size)
		return 0;
	len = MIN(len, r->size - off);
	while (hi - lo > 1) { /* the last entry starting at or before off */
		uint32_t mid = lo + (hi - lo) / 2;

		if (r->ents[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (; len && lo < r->nents; lo++) {
		const struct gpu_ent *e = &r->ents[lo];
		uint64_t in = off - e->off;
		uint64_t n = MIN(len, e->len - in);

		if (in >= e->len)
			continue; /* a zero-length entry */
		if (gmem_read(g->mem, e->gpa + in, svq_block_va(r->blk) + off, (size_t)n) < 0)
			return -EFAULT;
		off += n;
		len -= n;
	}
	return 0;
}

/* Read and check the entries of an ATTACH_BACKING: their count, or -EINVAL. */
static int read_entries(struct svq_freq *r, uint32_t nr, struct gpu_ent **ret, uint64_t *size)
{
	const size_t at = sizeof(struct virtio_gpu_resource_attach_backing);
	g_autofree struct virtio_gpu_mem_entry *w = NULL;
	struct gpu_ent *e;
	uint64_t total = 0;
	uint32_t i;

	if (nr > GPU_ENTRIES_MAX)
		return -EINVAL;
	w = g_new(struct virtio_gpu_mem_entry, nr ? nr : 1);
	if (svq_freq_read(r, at, w, (size_t)nr * sizeof(*w)) < 0)
		return -EINVAL;
	e = g_new(struct gpu_ent, nr ? nr : 1);
	for (i = 0; i < nr; i++) {
		e[i].gpa = le64toh(w[i].addr);
		e[i].len = le32toh(w[i].length);
		e[i].off = total;
		total += e[i].len; /* <= 16384 * 4 GiB: no overflow */
	}
	*ret = e;
	*size = total;
	return (int)nr;
}

/* Point the request's entries at consecutive parts of the block. */
static void rewrite_entries(struct svq_freq *r, const struct svq_cookie *c)
{
	const size_t at = sizeof(struct virtio_gpu_resource_attach_backing);
	uint32_t i;

	for (i = 0; i < c->nents; i++) {
		struct virtio_gpu_mem_entry w = { .addr = htole64(svq_block_gpa(c->blk) +
								  c->ents[i].off),
						  .length = htole32(c->ents[i].len) };

		svq_freq_write(r, at + (size_t)i * sizeof(w), &w, sizeof(w));
	}
}

static enum svq_verdict on_attach(struct vhu_gpu_shadow *g, struct svq_freq *r,
				  const struct virtio_gpu_ctrl_hdr *h)
{
	struct virtio_gpu_resource_attach_backing ab;
	struct gpu_res tmp = { 0 }, *res;
	struct svq_cookie *c;
	int n;

	if (svq_freq_read(r, 0, &ab, sizeof(ab)) < 0)
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_UNSPEC);
	res = res_find(g, le32toh(ab.resource_id));
	if (res && res->blk)
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_UNSPEC); /* has a backing already */
	n = read_entries(r, le32toh(ab.nr_entries), &tmp.ents, &tmp.size);
	if (n < 0)
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_UNSPEC);
	tmp.nents = (uint32_t)n;
	if (tmp.size == 0)
		goto err_free; /* nothing to shadow: the back-end judges it */
	if (ROUND_UP_4K(tmp.size) > g->max - g->used ||
	    svq_block_new(g->area, tmp.size, &tmp.blk) < 0) {
		log_warn_rl("%s: ATTACH_BACKING of %" PRIu64 " bytes: over backing-mem=%zu "
			    "(%zu in use)",
			    g->name, tmp.size, g->max, g->used);
		g_free(tmp.ents);
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	}
	g->used += svq_block_size(tmp.blk);
	c = g_new0(struct svq_cookie, 1);
	*c = (struct svq_cookie){ .type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
				  .res_id = le32toh(ab.resource_id),
				  .blk = tmp.blk,
				  .ents = tmp.ents,
				  .nents = tmp.nents,
				  .size = tmp.size };
	if (copy_in(g, &tmp, 0, tmp.size) < 0) {
		log_warn_rl("%s: ATTACH_BACKING of resource %u names memory that is not guest "
			    "RAM: refused",
			    g->name, c->res_id);
		cookie_free(g, c);
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_UNSPEC);
	}
	rewrite_entries(r, c);
	r->cookie = c;
	return SVQ_FILTER_FORWARD;
err_free:
	g_free(tmp.ents);
	return SVQ_FILTER_FORWARD;
}

static enum svq_verdict on_transfer(struct vhu_gpu_shadow *g, struct svq_freq *r,
				    const struct virtio_gpu_ctrl_hdr *h)
{
	struct virtio_gpu_transfer_to_host_2d t;
	struct gpu_res *res;
	uint64_t off, stride;
	uint32_t x, y, w, rows, i;
	int err = 0;

	if (svq_freq_read(r, 0, &t, sizeof(t)) < 0)
		return SVQ_FILTER_FORWARD; /* the back-end refuses it */
	res = res_find(g, le32toh(t.resource_id));
	if (!res || !res->blk)
		return SVQ_FILTER_FORWARD;
	off = le64toh(t.offset);
	x = le32toh(t.r.x);
	y = le32toh(t.r.y);
	w = le32toh(t.r.width);
	stride = (uint64_t)res->width * GPU_BPP;
	if (!res->width || (!off && !x && !y && w == res->width)) {
		err = copy_in(g, res, 0, res->size);
	} else {
		/* rows beyond the resource are refused by the back-end: bounded work */
		rows = MIN(le32toh(t.r.height), res->height);
		for (i = 0; i < rows && !err; i++)
			err = copy_in(g, res, off + stride * i, (uint64_t)w * GPU_BPP);
	}
	if (err < 0) {
		log_warn_rl("%s: TRANSFER_TO_HOST_2D: resource %u: backing not guest RAM", g->name,
			    res->id);
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_UNSPEC);
	}
	return SVQ_FILTER_FORWARD;
}

/* CREATE_2D, DETACH_BACKING, UNREF: followed up on their response. */
static enum svq_verdict on_follow(struct vhu_gpu_shadow *g, struct svq_freq *r,
				  const struct virtio_gpu_ctrl_hdr *h, uint32_t type)
{
	struct virtio_gpu_resource_create_2d c2d = { 0 };
	size_t len = type == VIRTIO_GPU_CMD_RESOURCE_CREATE_2D
			     ? sizeof(c2d)
			     : sizeof(struct virtio_gpu_resource_unref);
	struct svq_cookie *c;

	if (svq_freq_read(r, 0, &c2d, len) < 0)
		return SVQ_FILTER_FORWARD; /* too short: the back-end refuses it */
	if (type == VIRTIO_GPU_CMD_RESOURCE_CREATE_2D && !res_find(g, le32toh(c2d.resource_id)) &&
	    g_hash_table_size(g->res) >= GPU_RES_MAX)
		return reply_err(r, h, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
	c = g_new0(struct svq_cookie, 1);
	c->type = type;
	c->res_id = le32toh(c2d.resource_id);
	if (type == VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) {
		c->width = le32toh(c2d.width);
		c->height = le32toh(c2d.height);
	}
	r->cookie = c;
	return SVQ_FILTER_FORWARD;
}

static enum svq_verdict gs_request(struct svq_filter *f, struct svq_freq *r)
{
	struct vhu_gpu_shadow *g = container_of(f, struct vhu_gpu_shadow, filter);
	struct virtio_gpu_ctrl_hdr h;
	uint32_t type;

	if (svq_freq_read(r, 0, &h, sizeof(h)) < 0)
		return SVQ_FILTER_FORWARD; /* no command: the back-end refuses it */
	type = le32toh(h.type);
	switch (type) {
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		return on_attach(g, r, &h);
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
		return on_transfer(g, r, &h);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		return on_follow(g, r, &h, type);
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB:
		/* its entries name guest pages too; blob resources are not offered */
		return reply_err(r, &h, VIRTIO_GPU_RESP_ERR_UNSPEC);
	}
	return SVQ_FILTER_FORWARD;
}

static void gs_response(struct svq_filter *f, struct svq_freq *r, uint32_t len)
{
	struct vhu_gpu_shadow *g = container_of(f, struct vhu_gpu_shadow, filter);
	struct svq_cookie *c = r->cookie;
	struct virtio_gpu_ctrl_hdr resp;
	struct gpu_res *res;
	bool ok;

	if (!c)
		return;
	ok = len >= sizeof(resp) && svq_freq_read_written(r, 0, &resp, sizeof(resp)) == 0 &&
	     le32toh(resp.type) == VIRTIO_GPU_RESP_OK_NODATA;
	switch (c->type) {
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
		res = ok ? res_get(g, c->res_id) : NULL;
		if (res) {
			res->width = c->width;
			res->height = c->height;
		}
		break;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
		res = ok ? res_get(g, c->res_id) : NULL;
		if (res && !res->blk) { /* it took: the resource owns the block now */
			res->blk = c->blk;
			res->ents = c->ents;
			res->nents = c->nents;
			res->size = c->size;
			c->blk = NULL;
			c->ents = NULL;
		}
		break;
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
		res = res_find(g, c->res_id);
		if (res)
			backing_drop(g, res);
		if (res && c->type == VIRTIO_GPU_CMD_RESOURCE_UNREF)
			g_hash_table_remove(g->res, GUINT_TO_POINTER(c->res_id));
		break;
	}
	cookie_free(g, c);
}

static void gs_drop(struct svq_filter *f, struct svq_cookie *c)
{
	cookie_free(container_of(f, struct vhu_gpu_shadow, filter), c);
}

static const struct svq_filter_ops gs_ops = {
	.request = gs_request,
	.response = gs_response,
	.drop = gs_drop,
};

struct vhu_gpu_shadow *vhu_gpu_shadow_new(const char *name, size_t max)
{
	struct vhu_gpu_shadow *g = g_new0(struct vhu_gpu_shadow, 1);

	g->filter.ops = &gs_ops;
	g->name = g_strdup(name);
	g->max = max;
	g->res = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, res_free);
	return g;
}

void vhu_gpu_shadow_free(struct vhu_gpu_shadow *g)
{
	if (!g)
		return;
	vhu_gpu_shadow_reset(g);
	g_hash_table_unref(g->res);
	g_free(g->name);
	g_free(g);
}

struct svq_filter *vhu_gpu_shadow_filter(struct vhu_gpu_shadow *g, struct svq_area *area,
					 struct gmem *mem)
{
	g->area = area;
	g->mem = mem;
	return &g->filter;
}

void vhu_gpu_shadow_reset(struct vhu_gpu_shadow *g)
{
	GHashTableIter it;
	gpointer res;

	g_hash_table_iter_init(&it, g->res);
	while (g_hash_table_iter_next(&it, NULL, &res))
		backing_drop(g, res);
	g_hash_table_remove_all(g->res);
	g->area = NULL;
}

size_t vhu_gpu_shadow_used(const struct vhu_gpu_shadow *g)
{
	return g->used;
}

unsigned vhu_gpu_shadow_resources(const struct vhu_gpu_shadow *g)
{
	return g_hash_table_size(g->res);
}
