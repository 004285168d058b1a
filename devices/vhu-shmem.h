/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VIRTIO shared memory regions of a vhost-user device (FACTS 16-21; QEMU
 * docs/interop/vhost-user.rst, GET_SHMEM_CONFIG and BACKEND_SHMEM_MAP/UNMAP).
 *
 * The regions themselves (id, size) belong to the device core (struct vdev_shm); this
 * is the back-end's side of them: the validation of a GET_SHMEM_CONFIG reply, and the
 * table of mappings a back-end placed into the regions with SHMEM_MAP, each one xvdm's
 * own mmap() of a range of the back-end's fd. Under Xen a dom0 process cannot put those
 * pages at a guest-physical address (FACTS 21), so the guest's accesses to a region
 * trap into xvdm (an ioreq) and are served from these mappings: vhu_shmem_read/write.
 *
 * A request is handled in two steps so that the reply goes out before anything the
 * request causes (FACTS 18): vhu_shmem_prepare() checks it and, for MAP, makes the
 * mapping (nothing a guest access can see yet); the caller replies; vhu_shmem_commit()
 * then publishes the mapping (MAP) or removes it (UNMAP), or undoes the preparation.
 *
 * The checks are pure functions over the table (vhu_shmem_check_map/_unmap) so that
 * each rule is testable without a socket or an fd.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/vdev.h"
#include "devices/vhu-proto.h"

/* At most this many regions per device: each needs a PCI capability in 192 bytes. */
#define VHU_SHMEM_MAX_REGIONS 8
/* Largest region (a virtio-fs DAX window is a few GiB) and largest sum of regions. */
#define VHU_SHMEM_REGION_MAX (64ULL << 30)
#define VHU_SHMEM_TOTAL_MAX  (256ULL << 30)
/* Mappings per device by default: each is a VMA of xvdm's. */
#define VHU_SHMEM_MAX_MAPS 1024
/* SHMEM_MAP flags: bit 0 = read-write (else read-only); every other bit is refused. */
#define VHU_SHMEM_FLAG_RW 0x1ULL

struct vhu_shmem_mapping {
	unsigned idx;  /* index into the device's regions */
	uint64_t off;  /* offset in the region */
	uint64_t len;  /* bytes, a page multiple */
	bool rw;       /* mapped read-write; else writes are dropped */
	uint8_t *host; /* our mapping of the back-end's fd range */
};

struct vhu_shmem {
	const char *name;		/* the device's, for log lines (not owned) */
	const struct vdev_shm *regions; /* the device's (not owned, fixed) */
	unsigned nregions;
	uint64_t page; /* alignment of offsets and lengths */
	unsigned max_maps;
	struct vhu_shmem_mapping *maps; /* sorted by (idx, off), never overlapping */
	unsigned nmaps;

	/* the request between prepare and commit */
	uint32_t pending_req; /* 0: none */
	struct vhu_shmem_mapping pending;
	unsigned pending_at; /* UNMAP: the mapping's position in maps */
};

/*
 * regions: the device's table (d->shm, d->nshm); max_maps 0 = VHU_SHMEM_MAX_MAPS. The
 * alignment is the larger of 4 KiB (Xen's page) and the host's page size.
 */
void vhu_shmem_init(struct vhu_shmem *s, const char *name, const struct vdev_shm *regions,
		    unsigned nregions, unsigned max_maps);
/* Drop every mapping (and anything prepared); the table stays usable. */
void vhu_shmem_clear(struct vhu_shmem *s);
void vhu_shmem_fini(struct vhu_shmem *s);

/*
 * A GET_SHMEM_CONFIG reply (FACTS 16) into regions: entry i non-zero = region with
 * shmid i. 0 with *ret_n regions in ret (ascending ids; room for VHU_SHMEM_MAX_REGIONS),
 * or -EPROTO with *ret_why naming the broken rule: nregions not the count of non-zero
 * entries, more than VHU_SHMEM_MAX_REGIONS, a size that is not a multiple of 4 KiB or
 * above VHU_SHMEM_REGION_MAX, a sum above VHU_SHMEM_TOTAL_MAX.
 */
int vhu_shmem_config_parse(const struct vhu_shmem_config *c, struct vdev_shm *ret, unsigned *ret_n,
			   const char **ret_why);

/*
 * The rules of SHMEM_MAP (FACTS 18), without the fd: a known shmid, len != 0, page-aligned
 * fd_offset, shm_offset and len, no overflow of fd_offset + len or shm_offset + len, the
 * range inside the region, no overlap with a mapping, no unknown flag, room for one more
 * mapping. 0 with *ret_idx = the region's index, or -EINVAL / -ENOENT (shmid) / -EEXIST
 * (overlap) / -ENOSPC (cap) with *ret_why.
 */
int vhu_shmem_check_map(const struct vhu_shmem *s, const struct vhu_shmem_map *m, unsigned *ret_idx,
			const char **ret_why);
/*
 * SHMEM_UNMAP names exactly one existing mapping: same shmid, shm_offset and len
 * (fd_offset and flags are not looked at). A range that covers part of a mapping, more
 * than one, or none is refused and changes nothing. 0 with *ret_at = its position in
 * s->maps, or -ENOENT / -EINVAL with *ret_why.
 */
int vhu_shmem_check_unmap(const struct vhu_shmem *s, const struct vhu_shmem_map *m,
			  unsigned *ret_at, const char **ret_why);

/*
 * Step 1 of a back-end request `req` (VHU_B_SHMEM_MAP or VHU_B_SHMEM_UNMAP): the checks
 * above; for MAP also the fd (present, a file range that exists: a regular file must be
 * at least fd_offset + len long) and the mmap() itself (PROT_READ, plus PROT_WRITE when
 * flags has VHU_SHMEM_FLAG_RW). Takes `fd` (-1: none) and closes it on every path.
 * 0 = the request will succeed (reply 0), else -errno (reply non-zero; nothing changed),
 * logged at debug level with the rule.
 */
int vhu_shmem_prepare(struct vhu_shmem *s, uint32_t req, const struct vhu_shmem_map *m, int fd);
/* Step 2, after the reply: ok = publish / remove; !ok = undo (the reply failed). */
void vhu_shmem_commit(struct vhu_shmem *s, bool ok);

/*
 * A guest access of size 1/2/4/8 at off in region idx (the core checked idx, size and
 * the bounds). Parts without a mapping read 0 and ignore writes; a write into a read-only
 * mapping is dropped (-EPERM, warned, rate-limited). The value is the little-endian
 * reading of the bytes. Memory is touched only through process_vm_readv/writev, so a
 * back-end that shrinks its file under a mapping costs an -EFAULT, not a SIGBUS.
 */
int vhu_shmem_read(struct vhu_shmem *s, unsigned idx, uint64_t off, unsigned size,
		   uint64_t *ret_val);
int vhu_shmem_write(struct vhu_shmem *s, unsigned idx, uint64_t off, unsigned size, uint64_t val);
