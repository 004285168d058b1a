/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VIRTIO shared memory regions of a vhost-user device: GET_SHMEM_CONFIG validation,
 * the SHMEM_MAP/UNMAP mapping table, and guest accesses served from it.
 *
 * Trust boundary: the back-end (the GET_SHMEM_CONFIG reply; every field of a SHMEM_MAP
 * or SHMEM_UNMAP and its fd, after the message table of vhu-proto.c checked their shape
 * and fd count) and the guest (offsets and sizes of accesses, already bounded by the
 * device core to a region). Nothing from either is trusted: every offset, length and
 * flag is checked before anything is mapped, the number of mappings is capped, received
 * fds are closed on every path, and the mapped memory is only ever touched through
 * process_vm_readv/writev, which turn a fault (a file shrunk under the mapping) into an
 * error instead of a SIGBUS.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/vhu-shmem.h"

void vhu_shmem_init(struct vhu_shmem *s, const char *name, const struct vdev_shm *regions,
		    unsigned nregions, unsigned max_maps)
{
	long host_page = sysconf(_SC_PAGESIZE);

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->regions = regions;
	s->nregions = nregions;
	s->page = host_page > VDEV_SHM_PAGE ? (uint64_t)host_page : VDEV_SHM_PAGE;
	s->max_maps = max_maps ? max_maps : VHU_SHMEM_MAX_MAPS;
}

static void unmap_one(struct vhu_shmem_mapping *m)
{
	if (m->host)
		munmap(m->host, m->len);
	m->host = NULL;
}

void vhu_shmem_clear(struct vhu_shmem *s)
{
	unsigned i;

	if (s->pending_req)
		vhu_shmem_commit(s, false);
	for (i = 0; i < s->nmaps; i++)
		unmap_one(&s->maps[i]);
	if (s->nmaps)
		log_debug("%s: %u shared memory mappings dropped", s->name, s->nmaps);
	g_free(s->maps);
	s->maps = NULL;
	s->nmaps = 0;
}

void vhu_shmem_fini(struct vhu_shmem *s)
{
	vhu_shmem_clear(s);
}

/* --- GET_SHMEM_CONFIG (FACTS 16) --- */

int vhu_shmem_config_parse(const struct vhu_shmem_config *c, struct vdev_shm *ret, unsigned *ret_n,
			   const char **ret_why)
{
	unsigned i, n = 0;
	uint64_t total = 0;

	for (i = 0; i < VHU_SHMEM_MAX; i++)
		if (c->memory_sizes[i])
			n++;
	if (n != c->nregions) {
		*ret_why = "nregions is not the number of non-zero sizes";
		return -EPROTO;
	}
	if (n > VHU_SHMEM_MAX_REGIONS) {
		*ret_why = "more regions than xvdm serves (8)";
		return -EPROTO;
	}
	n = 0;
	for (i = 0; i < VHU_SHMEM_MAX; i++) {
		uint64_t size = c->memory_sizes[i];

		if (!size)
			continue;
		if (size % VDEV_SHM_PAGE) {
			*ret_why = "a region size is not a multiple of 4 KiB";
			return -EPROTO;
		}
		if (size > VHU_SHMEM_REGION_MAX) {
			*ret_why = "a region is larger than 64 GiB";
			return -EPROTO;
		}
		total += size; /* at most 8 * 64 GiB: no overflow */
		ret[n++] = (struct vdev_shm){ .id = (uint8_t)i, .size = size };
	}
	if (total > VHU_SHMEM_TOTAL_MAX) {
		*ret_why = "the regions add up to more than 256 GiB";
		return -EPROTO;
	}
	*ret_n = n;
	return 0;
}

/* --- the mapping table: sorted by (idx, off), no overlaps --- */

static bool key_less(const struct vhu_shmem_mapping *m, unsigned idx, uint64_t off)
{
	return m->idx < idx || (m->idx == idx && m->off < off);
}

/* The first position whose mapping does not start before (idx, off). */
static unsigned lower_bound(const struct vhu_shmem *s, unsigned idx, uint64_t off)
{
	unsigned lo = 0, hi = s->nmaps;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (key_less(&s->maps[mid], idx, off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The mapping that contains byte `off` of region idx, or NULL. */
static struct vhu_shmem_mapping *find_at(const struct vhu_shmem *s, unsigned idx, uint64_t off)
{
	unsigned p = lower_bound(s, idx, off + 1); /* off < region size: no overflow */
	struct vhu_shmem_mapping *m;

	if (!p)
		return NULL;
	m = &s->maps[p - 1];
	return m->idx == idx && off - m->off < m->len ? m : NULL;
}

static int region_index(const struct vhu_shmem *s, uint8_t shmid)
{
	unsigned i;

	for (i = 0; i < s->nregions; i++)
		if (s->regions[i].id == shmid)
			return (int)i;
	return -ENOENT;
}

#define refuse(err, why)          \
	({                        \
		*ret_why = (why); \
		(err);            \
	})

int vhu_shmem_check_map(const struct vhu_shmem *s, const struct vhu_shmem_map *m, unsigned *ret_idx,
			const char **ret_why)
{
	int idx = region_index(s, m->shmid);
	unsigned p;

	if (idx < 0)
		return refuse(-ENOENT, "no region with this shmid");
	if (m->len == 0)
		return refuse(-EINVAL, "len is 0");
	if (m->flags & ~VHU_SHMEM_FLAG_RW)
		return refuse(-EINVAL, "unknown flags");
	if ((m->fd_offset | m->shm_offset | m->len) % s->page)
		return refuse(-EINVAL, "fd_offset, shm_offset or len is not page-aligned");
	if (m->fd_offset > (uint64_t)INT64_MAX || m->len > (uint64_t)INT64_MAX - m->fd_offset)
		return refuse(-EINVAL, "fd_offset + len overflows");
	if (m->shm_offset + m->len < m->shm_offset)
		return refuse(-EINVAL, "shm_offset + len overflows");
	if (!range_ok(m->shm_offset, m->len, s->regions[idx].size))
		return refuse(-EINVAL, "the range is beyond the region");
	p = lower_bound(s, (unsigned)idx, m->shm_offset);
	if (p > 0 && s->maps[p - 1].idx == (unsigned)idx &&
	    s->maps[p - 1].off + s->maps[p - 1].len > m->shm_offset)
		return refuse(-EEXIST, "overlaps an existing mapping");
	if (p < s->nmaps && s->maps[p].idx == (unsigned)idx &&
	    s->maps[p].off < m->shm_offset + m->len)
		return refuse(-EEXIST, "overlaps an existing mapping");
	if (s->nmaps >= s->max_maps)
		return refuse(-ENOSPC, "too many mappings");
	*ret_idx = (unsigned)idx;
	return 0;
}

int vhu_shmem_check_unmap(const struct vhu_shmem *s, const struct vhu_shmem_map *m,
			  unsigned *ret_at, const char **ret_why)
{
	int idx = region_index(s, m->shmid);
	unsigned p;

	if (idx < 0)
		return refuse(-ENOENT, "no region with this shmid");
	p = lower_bound(s, (unsigned)idx, m->shm_offset);
	if (p == s->nmaps || s->maps[p].idx != (unsigned)idx || s->maps[p].off != m->shm_offset) {
		/* either nothing there, or it starts inside a mapping: a partial unmap */
		return refuse(find_at(s, (unsigned)idx, m->shm_offset) ? -EINVAL : -ENOENT,
			      "no mapping starts at shm_offset");
	}
	if (s->maps[p].len != m->len)
		return refuse(-EINVAL, "len is not the mapping's length");
	*ret_at = p;
	return 0;
}

/* --- SHMEM_MAP / SHMEM_UNMAP --- */

/* The fd must hold [off, off + len): a mapping beyond the end of a file faults. */
static int check_fd(int fd, uint64_t off, uint64_t len, const char **ret_why)
{
	struct stat st;

	if (fd < 0)
		return refuse(-EBADF, "no fd");
	if (fstat(fd, &st) < 0)
		return refuse(-errno, "fstat failed");
	if (S_ISREG(st.st_mode) && (st.st_size < 0 || (uint64_t)st.st_size < off + len))
		return refuse(-EINVAL, "the file is shorter than fd_offset + len");
	if (S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return refuse(-EINVAL, "the fd cannot be mapped");
	return 0;
}

static int prepare_map(struct vhu_shmem *s, const struct vhu_shmem_map *m, int fd,
		       const char **ret_why)
{
	bool rw = m->flags & VHU_SHMEM_FLAG_RW;
	unsigned idx;
	void *host;
	int r;

	r = vhu_shmem_check_map(s, m, &idx, ret_why);
	if (r == 0)
		r = check_fd(fd, m->fd_offset, m->len, ret_why);
	if (r < 0)
		return r;
	host = mmap(NULL, m->len, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, fd,
		    (off_t)m->fd_offset);
	if (host == MAP_FAILED)
		return refuse(-errno, "mmap of the fd failed");
	s->pending = (struct vhu_shmem_mapping){
		.idx = idx, .off = m->shm_offset, .len = m->len, .rw = rw, .host = host
	};
	return 0;
}

int vhu_shmem_prepare(struct vhu_shmem *s, uint32_t req, const struct vhu_shmem_map *m, int fd)
{
	const char *why = "unknown request";
	const char **ret_why = &why; /* for refuse() */
	int r = -EINVAL;

	if (s->pending_req)
		vhu_shmem_commit(s, false); /* a prepare without commit: our bug, undo it */
	if (req == VHU_B_SHMEM_MAP)
		r = prepare_map(s, m, fd, ret_why);
	else if (req == VHU_B_SHMEM_UNMAP)
		r = fd >= 0 ? refuse(-EINVAL, "an fd with UNMAP")
			    : vhu_shmem_check_unmap(s, m, &s->pending_at, ret_why);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		log_debug("%s: %s of shmid %u, 0x%" PRIx64 "+0x%" PRIx64 " (fd_offset 0x%" PRIx64
			  ", flags 0x%" PRIx64 "): %s (%s)",
			  s->name, vhu_breq_name(req), m->shmid, m->shm_offset, m->len,
			  m->fd_offset, m->flags, why, g_strerror(-r));
		return r;
	}
	s->pending_req = req;
	return 0;
}

void vhu_shmem_commit(struct vhu_shmem *s, bool ok)
{
	uint32_t req = s->pending_req;
	unsigned p;

	s->pending_req = 0;
	if (req == VHU_B_SHMEM_MAP && ok) {
		p = lower_bound(s, s->pending.idx, s->pending.off);
		s->maps = g_renew(struct vhu_shmem_mapping, s->maps, s->nmaps + 1);
		memmove(&s->maps[p + 1], &s->maps[p], (s->nmaps - p) * sizeof(s->maps[0]));
		s->maps[p] = s->pending;
		s->nmaps++;
	} else if (req == VHU_B_SHMEM_MAP) {
		unmap_one(&s->pending);
	} else if (req == VHU_B_SHMEM_UNMAP && ok) {
		p = s->pending_at;
		unmap_one(&s->maps[p]);
		memmove(&s->maps[p], &s->maps[p + 1], (s->nmaps - p - 1) * sizeof(s->maps[0]));
		s->nmaps--;
	}
	memset(&s->pending, 0, sizeof(s->pending));
}

/* --- guest accesses --- */

/* Copy between our buffer and a mapping without risking a SIGBUS (see the top). */
static int copy_mapping(void *mapping, void *buf, size_t len, bool write)
{
	struct iovec local = { buf, len }, remote = { mapping, len };
	ssize_t n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
			  : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/*
 * Walk [off, off + size) of region idx piece by piece (an unaligned access may span a
 * mapping's edge): mapped pieces are copied, the others read as zeros / are dropped.
 */
static int access_bytes(struct vhu_shmem *s, unsigned idx, uint64_t off, uint8_t *buf,
			unsigned size, bool write)
{
	uint64_t pos = off, end = off + size;
	int ret = 0;

	while (pos < end) {
		struct vhu_shmem_mapping *m = find_at(s, idx, pos);
		uint64_t stop = end;
		unsigned p;
		int r;

		if (!m) {
			p = lower_bound(s, idx, pos);
			if (p < s->nmaps && s->maps[p].idx == idx && s->maps[p].off < end)
				stop = s->maps[p].off;
			pos = stop; /* unmapped: zeros stay zeros, writes vanish */
			continue;
		}
		if (m->off + m->len < stop)
			stop = m->off + m->len;
		if (write && !m->rw) {
			log_warn_rl("%s: guest write into a read-only shared memory mapping "
				    "(region %u + 0x%" PRIx64 "): dropped",
				    s->name, idx, pos);
			ret = -EPERM;
		} else {
			r = copy_mapping(m->host + (pos - m->off), buf + (pos - off), stop - pos,
					 write);
			if (r < 0) {
				log_warn_rl("%s: shared memory region %u + 0x%" PRIx64
					    ": the back-end's memory is gone (%s)",
					    s->name, idx, pos, g_strerror(-r));
				ret = r;
			}
		}
		pos = stop;
	}
	return ret;
}

int vhu_shmem_read(struct vhu_shmem *s, unsigned idx, uint64_t off, unsigned size,
		   uint64_t *ret_val)
{
	uint8_t buf[8] = { 0 };
	uint64_t v = 0;
	unsigned i;
	int r;

	r = access_bytes(s, idx, off, buf, size, false);
	if (r < 0)
		memset(buf, 0, sizeof(buf));
	for (i = 0; i < size; i++) /* the guest is little-endian (virtio 1.2 §1.4) */
		v |= (uint64_t)buf[i] << (8 * i);
	*ret_val = v;
	return r;
}

int vhu_shmem_write(struct vhu_shmem *s, unsigned idx, uint64_t off, unsigned size, uint64_t val)
{
	uint8_t buf[8];
	unsigned i;

	for (i = 0; i < size; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
	return access_bytes(s, idx, off, buf, size, true);
}
