/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM through xenforeignmemory, behind common/gmem.h, with a bounded cache of
 * mapped buckets (GMEM_BUCKET_PAGES pages each, least recently used evicted first).
 *
 * Trust boundary: every guest-physical address comes from the guest (ring addresses,
 * descriptors). Overflow is checked before any arithmetic; a page Xen refuses to map
 * (not RAM, not the guest's) gives -EFAULT for the access that touched it. Nothing
 * here keeps a pointer into guest memory past a call.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <xenforeignmemory.h>
#if defined(__aarch64__) || defined(__arm__)
#include <xen/arch-arm.h>
#endif

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "xen/xh-internal.h"

#define GMEM_PAGE_SHIFT	  12
#define GMEM_PAGE_SIZE	  (1u << GMEM_PAGE_SHIFT)
#define GMEM_BUCKET_PAGES 256u /* 1 MiB per mapping */
#define GMEM_BUCKET_SIZE  ((uint64_t)GMEM_BUCKET_PAGES << GMEM_PAGE_SHIFT)
#define XH_RAM_BANKS_MAX  2

struct bucket {
	uint64_t index; /* gpa / GMEM_BUCKET_SIZE */
	uint8_t *va;
	GList link;				/* in the LRU list, most recent first */
	uint64_t valid[GMEM_BUCKET_PAGES / 64]; /* pages Xen mapped */
};

struct xh_gmem {
	struct gmem base;
	struct xh_ctx *x;
	uint32_t domid;
	unsigned max_buckets;
	GHashTable *buckets; /* index -> struct bucket */
	GQueue lru;
	struct gmem_region ram[XH_RAM_BANKS_MAX];
	unsigned nr_ram;
};

static struct xh_gmem *to_xg(struct gmem *g)
{
	return container_of(g, struct xh_gmem, base);
}

static void bucket_unmap(struct xh_gmem *xg, struct bucket *b)
{
	xenforeignmemory_unmap(xg->x->fmem, b->va, GMEM_BUCKET_PAGES);
	g_queue_unlink(&xg->lru, &b->link);
	g_hash_table_remove(xg->buckets, &b->index);
	g_free(b);
}

static struct bucket *bucket_get(struct xh_gmem *xg, uint64_t index)
{
	xen_pfn_t pfns[GMEM_BUCKET_PAGES];
	int err[GMEM_BUCKET_PAGES];
	struct bucket *b = g_hash_table_lookup(xg->buckets, &index);
	unsigned i, n_ok = 0;
	void *va;

	if (b) {
		g_queue_unlink(&xg->lru, &b->link);
		g_queue_push_head_link(&xg->lru, &b->link);
		return b;
	}
	while (g_hash_table_size(xg->buckets) >= xg->max_buckets)
		bucket_unmap(xg, xg->lru.tail->data);
	for (i = 0; i < GMEM_BUCKET_PAGES; i++)
		pfns[i] = index * GMEM_BUCKET_PAGES + i;
	va = xenforeignmemory_map(xg->x->fmem, xg->domid, PROT_READ | PROT_WRITE, GMEM_BUCKET_PAGES,
				  pfns, err);
	if (!va)
		return NULL;
	b = g_new0(struct bucket, 1);
	b->index = index;
	b->va = va;
	b->link.data = b;
	for (i = 0; i < GMEM_BUCKET_PAGES; i++)
		if (!err[i]) {
			b->valid[i / 64] |= 1ULL << (i % 64);
			n_ok++;
		}
	g_hash_table_insert(xg->buckets, &b->index, b);
	g_queue_push_head_link(&xg->lru, &b->link);
	log_debug("dom%u: mapped guest 0x%" PRIx64 "+1M (%u/%u pages)", xg->domid,
		  index * GMEM_BUCKET_SIZE, n_ok, GMEM_BUCKET_PAGES);
	return b;
}

static bool pages_valid(const struct bucket *b, unsigned first, unsigned last)
{
	unsigned i;

	for (i = first; i <= last; i++)
		if (!(b->valid[i / 64] & (1ULL << (i % 64))))
			return false;
	return true;
}

/*
 * Ring indices and flags are 2-byte fields the guest updates concurrently: an aligned
 * access of 2, 4 or 8 bytes is one load or store, so it can never be torn (a torn avail
 * index would look like a guest protocol violation).
 */
#define COPY_ONCE(type, guest, p, write)                                         \
	do {                                                                     \
		type v_;                                                         \
		if (write) {                                                     \
			memcpy(&v_, p, sizeof(v_));                              \
			__atomic_store_n((type *)(guest), v_, __ATOMIC_RELAXED); \
		} else {                                                         \
			v_ = __atomic_load_n((type *)(guest), __ATOMIC_RELAXED); \
			memcpy(p, &v_, sizeof(v_));                              \
		}                                                                \
	} while (0)

static void copy_chunk(uint8_t *guest, uint8_t *p, size_t len, bool write)
{
	uintptr_t a = (uintptr_t)guest;

	if (len == 2 && !(a & 1))
		COPY_ONCE(uint16_t, guest, p, write);
	else if (len == 4 && !(a & 3))
		COPY_ONCE(uint32_t, guest, p, write);
	else if (len == 8 && !(a & 7))
		COPY_ONCE(uint64_t, guest, p, write);
	else if (write)
		memcpy(guest, p, len);
	else
		memcpy(p, guest, len);
}

/* Copy between buf and guest memory, bucket by bucket. */
static int copy_guest(struct xh_gmem *xg, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;

	if (len == 0)
		return 0;
	if (gpa + len - 1 < gpa)
		return -EINVAL;
	while (len) {
		uint64_t index = gpa / GMEM_BUCKET_SIZE;
		uint64_t off = gpa % GMEM_BUCKET_SIZE;
		size_t chunk = MIN(len, GMEM_BUCKET_SIZE - off);
		struct bucket *b = bucket_get(xg, index);

		if (!b ||
		    !pages_valid(b, off >> GMEM_PAGE_SHIFT, (off + chunk - 1) >> GMEM_PAGE_SHIFT))
			return -EFAULT;
		copy_chunk(b->va + off, p, chunk, write);
		p += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

static int xg_read(struct gmem *g, uint64_t gpa, void *buf, size_t len)
{
	return copy_guest(to_xg(g), gpa, buf, len, false);
}

static int xg_write(struct gmem *g, uint64_t gpa, const void *buf, size_t len)
{
	return copy_guest(to_xg(g), gpa, (void *)buf, len, true);
}

static void xg_invalidate(struct gmem *g)
{
	struct xh_gmem *xg = to_xg(g);

	while (xg->lru.head)
		bucket_unmap(xg, xg->lru.head->data);
}

static int xg_regions(struct gmem *g, struct gmem_region *ret, unsigned max)
{
	struct xh_gmem *xg = to_xg(g);
	unsigned i;

	if (!xg->nr_ram)
		return -ENOENT; /* the guest's memory size was not known */
	for (i = 0; i < xg->nr_ram && i < max; i++)
		ret[i] = xg->ram[i];
	return i;
}

/*
 * The back-end maps the bank itself: with a privcmd fd (foreign mapping by domid and
 * pfn) or a gntdev fd (grant mappings, one region: the grant-reference space). Each
 * region gets its own fd (FACTS 11).
 */
static int xg_share(struct gmem *g, unsigned idx, uint32_t xen_flags, struct gmem_share *ret)
{
	struct xh_gmem *xg = to_xg(g);
	const char *dev = xen_flags & GMEM_XEN_GRANT ? "/dev/xen/gntdev" : "/dev/xen/privcmd";
	int fd;

	/* grants: one region, the guest's whole grant-reference space (RAM size unknown) */
	if (xen_flags & GMEM_XEN_GRANT ? idx != 0 : idx >= xg->nr_ram)
		return -ENOENT;
	if (!(xen_flags & (GMEM_XEN_FOREIGN | GMEM_XEN_GRANT)))
		return -EINVAL;
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret->fd = fd;
	ret->xen_flags = xen_flags;
	ret->domid = xg->domid;
	return 0;
}

static const struct gmem_ops xh_gmem_ops = {
	.read = xg_read,
	.write = xg_write,
	.invalidate = xg_invalidate,
	.regions = xg_regions,
	.share = xg_share,
};

int xh_ram_layout(uint64_t mem_bytes, struct gmem_region *ret, unsigned max)
{
#if defined(__aarch64__) || defined(__arm__)
	static const uint64_t base[] = GUEST_RAM_BANK_BASES;
	static const uint64_t size[] = GUEST_RAM_BANK_SIZES;
#else
	/* x86 HVM/PVH as libxl builds them: low RAM up to the PCI hole, the rest above 4 GiB */
	static const uint64_t base[] = { 0, 0x100000000ULL };
	static const uint64_t size[] = { 0xf0000000ULL, 1ULL << 46 };
#endif
	unsigned n = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(base) && mem_bytes && n < max; i++) {
		uint64_t s = MIN(mem_bytes, size[i]);

		ret[n].gpa = base[i];
		ret[n].size = s;
		mem_bytes -= s;
		n++;
	}
	return n;
}

void xh_gmem_set_ram(struct gmem *g, const struct gmem_region *banks, unsigned n)
{
	struct xh_gmem *xg = to_xg(g);

	xg->nr_ram = MIN(n, XH_RAM_BANKS_MAX);
	memcpy(xg->ram, banks, xg->nr_ram * sizeof(*banks));
}

struct gmem *xh_gmem_new(struct xh_ctx *x, uint32_t domid, size_t cache_bytes)
{
	struct xh_gmem *xg = g_new0(struct xh_gmem, 1);

	xg->base.ops = &xh_gmem_ops;
	xg->x = x;
	xg->domid = domid;
	xg->max_buckets = MAX(1u, cache_bytes / GMEM_BUCKET_SIZE);
	xg->buckets = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_queue_init(&xg->lru);
	return &xg->base;
}

void xh_gmem_free(struct gmem *g)
{
	struct xh_gmem *xg;

	if (!g)
		return;
	xg = to_xg(g);
	xg_invalidate(g);
	g_hash_table_destroy(xg->buckets);
	g_free(xg);
}

unsigned xh_gmem_mapped_buckets(struct gmem *g)
{
	return g_hash_table_size(to_xg(g)->buckets);
}
