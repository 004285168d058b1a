/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device's VIRTIO shared memory regions (FACTS 16-21): where the regions
 * come from (the back-end's GET_SHMEM_CONFIG, or shm-sizes= for back-ends without the
 * message), the back-end channel's SHMEM_MAP/UNMAP, and the guest's accesses. The
 * bookkeeping and every check are in vhu-shmem.c; this is the device's use of it.
 *
 * The regions are fixed when the device is created: a transport sizes its windows (or
 * its BAR) from them once, before the guest sees the device. So GET_SHMEM_CONFIG goes
 * out at the first negotiation, inside vhu_create(); a back-end reached later (in the
 * background, or after a reconnect) is held to the device's regions: its mappings are
 * checked against them, and a difference is reported.
 *
 * Trust boundary: option values from the operator (checked, errors name the key), the
 * GET_SHMEM_CONFIG reply and the SHMEM requests from the back-end (vhu-shmem.c), guest
 * accesses (bounded by the device core, served by vhu-shmem.c).
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "devices/vhu-dev.h"

/* "ID:SIZE" into *ret, the size a page multiple up to VHU_SHMEM_REGION_MAX. */
static bool parse_region(const char *s, struct vdev_shm *ret)
{
	g_autofree char *id = g_strdup(s);
	char *colon = strchr(id, ':');
	uint64_t n, size;

	if (!colon)
		return false;
	*colon = '\0';
	if (!vhu_parse_u64(id, 255, &n) || !vhu_parse_u64(colon + 1, VHU_SHMEM_REGION_MAX, &size))
		return false;
	if (!size || size % VDEV_SHM_PAGE)
		return false;
	*ret = (struct vdev_shm){ .id = (uint8_t)n, .size = size };
	return true;
}

static int parse_sizes(struct vhu_dev *v, const char *s, GError **error)
{
	g_auto(GStrv) parts = NULL;
	uint64_t total = 0;
	bool seen[VDEV_MAX_SHM] = { false };
	unsigned i, n;

	if (!strcmp(s, "none")) {
		v->o.shm_src = VHU_SHM_OFF;
		return 0;
	}
	parts = g_strsplit(s, "+", 0);
	n = g_strv_length(parts);
	if (n == 0 || n > VHU_SHMEM_MAX_REGIONS)
		goto bad;
	for (i = 0; i < n; i++) {
		struct vdev_shm *r = &v->o.shm[i];

		if (!parse_region(parts[i], r) || seen[r->id])
			goto bad;
		seen[r->id] = true;
		total += r->size;
	}
	if (total > VHU_SHMEM_TOTAL_MAX)
		goto bad;
	v->o.nshm = n;
	v->o.shm_src = VHU_SHM_CONFIG;
	return 0;
bad:
	g_set_error(error, VDEV_ERROR, EINVAL,
		    "%s: shm-sizes=%s: want none, or up to %u ID:SIZE joined by '+' (ID 0-255, "
		    "each once; SIZE a multiple of 4K up to 64G; 256G in all)",
		    v->vdev.name, s, VHU_SHMEM_MAX_REGIONS);
	return -EINVAL;
}

int vhu_shm_parse_opts(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	const char *s = opts ? g_hash_table_lookup(opts, "shm-sizes") : NULL;
	uint64_t bit = VHU_PF_SHMEM;
	int r;

	v->o.shm_src = VHU_SHM_BACKEND;
	if (s) {
		r = parse_sizes(v, s, error);
		if (r < 0)
			return r;
	}
	r = vhu_opt_u64(opts, "shmem-bit", 63, &bit, v->vdev.name, error);
	if (r < 0)
		return r;
	if (bit != VHU_PF_SHMEM && bit != VHU_PF_GPA_ADDRESSES) {
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: shmem-bit=%" PRIu64
			    ": 22 (the spec) or 21 (rust-vmm vhost <= 0.16)",
			    v->vdev.name, bit);
		return -EINVAL;
	}
	v->o.shmem_bit = (unsigned)bit;
	return 0;
}

static void log_regions(struct vhu_dev *v, const char *from)
{
	unsigned i;

	for (i = 0; i < v->vdev.nshm; i++)
		log_info("%s: shared memory region %u: 0x%" PRIx64 " bytes (%s)", v->vdev.name,
			 v->vdev.shm[i].id, v->vdev.shm[i].size, from);
}

void vhu_shm_create(struct vhu_dev *v)
{
	v->conn.shmem_bit = v->o.shmem_bit;
	if (v->o.shm_src != VHU_SHM_CONFIG)
		return;
	if (vdev_set_shm(&v->vdev, v->o.shm, v->o.nshm) == 0) /* checked by the parser */
		log_regions(v, "shm-sizes");
}

static bool same_regions(struct vhu_dev *v, const struct vdev_shm *r, unsigned n)
{
	unsigned i;

	if (n != v->vdev.nshm)
		return false;
	for (i = 0; i < n; i++)
		if (r[i].id != v->vdev.shm[i].id || r[i].size != v->vdev.shm[i].size)
			return false;
	return true;
}

int vhu_shm_session(struct vhu_dev *v)
{
	struct vdev_shm regions[VHU_SHMEM_MAX_REGIONS];
	struct vhu_shmem_config *cfg;
	const char *why = NULL;
	unsigned n = 0;
	int r;

	if (!(v->conn.proto & VHU_PF(SHMEM))) {
		if (v->vdev.nshm)
			log_info("%s: the back-end does not negotiate SHMEM: the shared memory "
				 "regions stay empty",
				 v->vdev.name);
		return 0;
	}
	if (v->o.shm_src == VHU_SHM_CONFIG)
		return 0; /* shm-sizes= is for back-ends without GET_SHMEM_CONFIG */
	cfg = g_new(struct vhu_shmem_config, 1);
	r = vhu_get_shmem_config(&v->conn, cfg);
	if (r == 0)
		r = vhu_shmem_config_parse(cfg, regions, &n, &why);
	g_free(cfg);
	if (r < 0) {
		if (why)
			log_warn("%s: GET_SHMEM_CONFIG: %s: back-end refused", v->vdev.name, why);
		return r;
	}
	if (!v->shm_fixed) {
		vdev_set_shm(&v->vdev, regions, n); /* validated: distinct ids, page multiples */
		log_regions(v, "GET_SHMEM_CONFIG");
	} else if (!same_regions(v, regions, n)) {
		log_warn("%s: the back-end's %u shared memory regions differ from the device's %u "
			 "(fixed when the device was created; shm-sizes= fixes them for a back-end "
			 "that comes later): its mappings are checked against the device's",
			 v->vdev.name, n, v->vdev.nshm);
	}
	return 0;
}

void vhu_shm_fix(struct vhu_dev *v)
{
	vhu_shmem_init(&v->shm, v->name, v->vdev.shm, v->vdev.nshm, 0);
	v->shm_fixed = true;
}

void vhu_shm_drop(struct vhu_dev *v)
{
	vhu_shmem_clear(&v->shm);
}

int vhu_shm_read(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val)
{
	return vhu_shmem_read(&vhu_of(d)->shm, idx, off, size, val);
}

int vhu_shm_write(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val)
{
	return vhu_shmem_write(&vhu_of(d)->shm, idx, off, size, val);
}

static struct vhu_dev *vhu_of_bh(struct vhu_backend_handler *h)
{
	return container_of(h, struct vhu_dev, bh);
}

int vhu_shm_prepare(struct vhu_backend_handler *h, uint32_t req, const struct vhu_shmem_map *m,
		    int fd)
{
	return vhu_shmem_prepare(&vhu_of_bh(h)->shm, req, m, fd);
}

void vhu_shm_commit(struct vhu_backend_handler *h, bool ok)
{
	vhu_shmem_commit(&vhu_of_bh(h)->shm, ok);
}
