/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device types: one catalogue row (struct vdev_type) and one vhu_type
 * row each, all built by vhu_create(). A type says how many queues it has, where its
 * config space comes from (the back-end's GET_CONFIG, or built here from options when
 * the back-end has none: virtio-fs, FACTS 35; virtio-net, whose MAC and link status
 * QEMU also provides itself), and which device feature bits it takes from the back-end.
 *
 * Trust boundary: option values from the operator (checked, errors name the key) and,
 * in the fix_cfg hooks, config bytes from the back-end (fixed-size copies only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_gpu.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "common/log.h"
#include "devices/catalogue-internal.h"
#include "devices/vhu-dev.h"
#include "devices/vhu-gpu.h"

#define BIT(n)	 (1ULL << (n))
#define DEV_BITS 0x00ffffffULL /* bits 0-23: device specific (virtio 1.2 §6) */

#define COMMON_KEYS                                                                                \
	"socket", "server", "mem", "reconnect", "shadow-mem", "xen-grant", "xen-flags", "timeout", \
		"shm-sizes", "shmem-bit"

static const char *const keys_plain[] = { COMMON_KEYS, NULL };
static const char *const keys_queues[] = { COMMON_KEYS, "num-queues", NULL };
static const char *const keys_net[] = { COMMON_KEYS, "mac", NULL };
static const char *const keys_fs[] = { COMMON_KEYS, "tag", "num-request-queues", NULL };
static const char *const keys_gpu[] = { COMMON_KEYS, "scanouts",    "width", "height",
					"display",   "backing-mem", NULL };
static const char *const keys_generic[] = { COMMON_KEYS, "device-id", "num-queues", "config-size",
					    NULL };

#define ROW(id_, name_, devid, keys_, what)                                  \
	const struct vdev_type vdev_type_vhu_##id_ = { .name = name_,        \
						       .summary = what,      \
						       .device_id = devid,   \
						       .option_keys = keys_, \
						       .create = vhu_create }

/* clang-format off */
ROW(blk, "vhost-user-blk", VIRTIO_ID_BLOCK, keys_queues, "virtio-blk served by a vhost-user back-end (qemu-storage-daemon, ...)");
ROW(net, "vhost-user-net", VIRTIO_ID_NET, keys_net, "virtio-net served by a vhost-user back-end (DPDK, ...)");
ROW(fs, "vhost-user-fs", VIRTIO_ID_FS, keys_fs, "virtio-fs served by virtiofsd (tag= required)");
ROW(gpu, "vhost-user-gpu", VIRTIO_ID_GPU, keys_gpu, "virtio-gpu served by a vhost-user back-end");
ROW(vsock, "vhost-user-vsock", VIRTIO_ID_VSOCK, keys_plain, "virtio-vsock served by a vhost-user back-end");
ROW(i2c, "vhost-user-i2c", VIRTIO_ID_I2C_ADAPTER, keys_plain, "virtio-i2c served by a vhost-user back-end");
ROW(gpio, "vhost-user-gpio", VIRTIO_ID_GPIO, keys_plain, "virtio-gpio served by a vhost-user back-end");
ROW(snd, "vhost-user-snd", VIRTIO_ID_SOUND, keys_plain, "virtio-sound served by a vhost-user back-end");
ROW(scmi, "vhost-user-scmi", VIRTIO_ID_SCMI, keys_plain, "virtio-scmi served by a vhost-user back-end");
ROW(rng, "vhost-user-rng", VIRTIO_ID_RNG, keys_plain, "virtio-rng served by a vhost-user back-end");
ROW(input, "vhost-user-input", VIRTIO_ID_INPUT, keys_plain, "virtio-input served by a vhost-user back-end");
ROW(can, "vhost-user-can", VIRTIO_ID_CAN, keys_plain, "virtio-can served by a vhost-user back-end");
ROW(console, "vhost-user-console", VIRTIO_ID_CONSOLE, keys_queues, "virtio-console served by a vhost-user back-end");
ROW(device, "vhost-user-device", 0, keys_generic, "any virtio device served by a vhost-user back-end (device-id= required)");
/* clang-format on */

/* --- type hooks --- */

static int opt_queues(struct vhu_dev *v, GHashTable *opts, const char *key, uint64_t max,
		      GError **error)
{
	uint64_t n = 0;
	int r = vhu_opt_u64(opts, key, max, &n, v->vdev.name, error);

	if (r <= 0)
		return r;
	if (n == 0) {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: %s=0", v->vdev.name, key);
		return -EINVAL;
	}
	return (int)n;
}

static int setup_queues(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	int n = opt_queues(v, opts, "num-queues", VDEV_MAX_QUEUES, error);

	if (n > 0)
		v->o.nqueues = (uint16_t)n;
	return n < 0 ? n : 0;
}

static int setup_blk(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	int r = setup_queues(v, opts, error);

	if (v->o.nqueues == 1)
		v->dev_mask &= ~BIT(VIRTIO_BLK_F_MQ); /* offered only with several queues */
	return r;
}

/* Our queue count, whatever the back-end's config says (QEMU does the same). */
static void fix_blk(struct vhu_dev *v)
{
	uint16_t n = GUINT16_TO_LE(v->o.nqueues);

	memcpy(v->cfg + offsetof(struct virtio_blk_config, num_queues), &n, sizeof(n));
}

static int setup_net(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	const char *mac = opts ? g_hash_table_lookup(opts, "mac") : NULL;
	struct virtio_net_config *c = (struct virtio_net_config *)v->cfg;
	unsigned b[6], i;
	guint h;

	if (mac) {
		if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4],
			   &b[5]) != 6 ||
		    strlen(mac) != 17 || (b[0] & 1)) {
			g_set_error(error, VDEV_ERROR, EINVAL,
				    "%s: mac=%s is not a unicast xx:xx:xx:xx:xx:xx", v->vdev.name,
				    mac);
			return -EINVAL;
		}
		for (i = 0; i < 6; i++)
			c->mac[i] = (uint8_t)b[i];
	} else {
		/* stable per device name, locally administered (52:54:00 as QEMU) */
		h = g_str_hash(v->vdev.name);
		memcpy(c->mac, "\x52\x54\x00", 3);
		c->mac[3] = (uint8_t)(h >> 16);
		c->mac[4] = (uint8_t)(h >> 8);
		c->mac[5] = (uint8_t)h;
	}
	c->status = GUINT16_TO_LE(VIRTIO_NET_S_LINK_UP);
	c->max_virtqueue_pairs = GUINT16_TO_LE(1);
	return 0;
}

#define FS_TAG_LEN 36 /* virtio 1.2 §5.11.4 */

static int setup_fs(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	const char *tag = opts ? g_hash_table_lookup(opts, "tag") : NULL;
	int n = opt_queues(v, opts, "num-request-queues", VDEV_MAX_QUEUES - 1, error);
	uint32_t nreq;

	if (n < 0)
		return n;
	if (!tag || !*tag || strlen(tag) > FS_TAG_LEN) {
		g_set_error(error, VDEV_ERROR, EINVAL, "%s: tag= (1 to %u bytes) is required",
			    v->vdev.name, FS_TAG_LEN);
		return -EINVAL;
	}
	nreq = n > 0 ? (uint32_t)n : 1;
	v->o.nqueues = (uint16_t)(1 + nreq); /* hiprio + request queues */
	memset(v->cfg, 0, FS_TAG_LEN + 4);
	memcpy(v->cfg, tag, strlen(tag));
	nreq = GUINT32_TO_LE(nreq);
	memcpy(v->cfg + FS_TAG_LEN, &nreq, sizeof(nreq));
	return 0;
}

/* vhost-user-gpu reports num_scanouts = 0: the front-end supplies it (FACTS 35). */
static void fix_gpu(struct vhu_dev *v)
{
	struct virtio_gpu_config *c = (struct virtio_gpu_config *)v->cfg;

	if (!c->num_scanouts)
		c->num_scanouts = GUINT32_TO_LE(v->scanouts);
}

static int setup_generic(struct vhu_dev *v, GHashTable *opts, GError **error)
{
	uint64_t id = 0, cfg = 0;
	int r;

	r = vhu_opt_u64(opts, "device-id", 0xffff, &id, v->vdev.name, error);
	if (r < 0)
		return r;
	if (!id) {
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: device-id=N (a virtio device id) is "
			    "required",
			    v->vdev.name);
		return -EINVAL;
	}
	v->o.device_id = (uint32_t)id;
	r = vhu_opt_u64(opts, "config-size", VDEV_MAX_CFG_SIZE, &cfg, v->vdev.name, error);
	if (r < 0)
		return r;
	v->o.cfg_size = (uint32_t)cfg;
	return setup_queues(v, opts, error);
}

/* --- the table --- */

#define BLK_BITS                                                                               \
	(BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_GEOMETRY) | \
	 BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |         \
	 BIT(VIRTIO_BLK_F_TOPOLOGY) | BIT(VIRTIO_BLK_F_CONFIG_WCE) | BIT(VIRTIO_BLK_F_MQ) |    \
	 BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES))
/* Up to write_zeroes_may_unmap and its padding: SECURE_ERASE and ZONED are not offered. */
#define BLK_CFG_SIZE 60
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 56, "blk config");

#define NET_BITS                                                                                   \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |    \
	 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) |                              \
	 BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | \
	 BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_MRG_RXBUF))

static const struct vhu_type vhu_types[] = {
	{ .vt = &vdev_type_vhu_blk,
	  .nqueues = 1,
	  .cfg_size = BLK_CFG_SIZE,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = BLK_BITS,
	  .setup = setup_blk,
	  .fix_cfg = fix_blk },
	{ .vt = &vdev_type_vhu_net,
	  .nqueues = 2,
	  .cfg_size = 12,
	  .cfg_src = VHU_CFG_LOCAL,
	  .dev_mask = NET_BITS,
	  .local_features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS),
	  .setup = setup_net },
	{ .vt = &vdev_type_vhu_fs,
	  .nqueues = 2,
	  .cfg_size = FS_TAG_LEN + 4,
	  .cfg_src = VHU_CFG_LOCAL,
	  .dev_mask = DEV_BITS,
	  .setup = setup_fs },
	/*
	 * No BLOB resources (bit 3): host-visible memory is the SHMEM issue; no EDID: xvdm
	 * does not answer the side channel's GET_EDID. Shadow mode translates 2D backing
	 * only (devices/vhu-gpu-shadow.c): no VIRGL or CONTEXT_INIT there.
	 */
	{ .vt = &vdev_type_vhu_gpu,
	  .nqueues = 2,
	  .cfg_size = sizeof(struct virtio_gpu_config),
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS & ~(BIT(VIRTIO_GPU_F_RESOURCE_BLOB) | BIT(VIRTIO_GPU_F_EDID)),
	  .gpa_in_payload = true,
	  .shadow_mask = BIT(VIRTIO_GPU_F_VIRGL) | BIT(VIRTIO_GPU_F_CONTEXT_INIT),
	  .setup = vhu_gpu_setup,
	  .fix_cfg = fix_gpu,
	  .session = vhu_gpu_session,
	  .session_end = vhu_gpu_session_end,
	  .shadow_filter = vhu_gpu_filter,
	  .rings_stopped = vhu_gpu_rings_stopped,
	  .free = vhu_gpu_free },
	{ .vt = &vdev_type_vhu_vsock,
	  .nqueues = 3,
	  .cfg_size = 8,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_i2c, .nqueues = 1, .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_gpio,
	  .nqueues = 2,
	  .cfg_size = 8,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_snd,
	  .nqueues = 4,
	  .cfg_size = 12,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_scmi, .nqueues = 2, .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_rng, .nqueues = 1, .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_input,
	  .nqueues = 2,
	  .cfg_size = 136,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS },
	{ .vt = &vdev_type_vhu_can,
	  .nqueues = 3,
	  .cfg_size = 2,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS },
	/* rx, tx and, with MULTIPORT, the control pair; unused queues are not set up */
	{ .vt = &vdev_type_vhu_console,
	  .nqueues = 4,
	  .cfg_size = 12,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS,
	  .setup = setup_queues },
	{ .vt = &vdev_type_vhu_device,
	  .nqueues = 1,
	  .cfg_src = VHU_CFG_BACKEND,
	  .dev_mask = DEV_BITS,
	  .setup = setup_generic },
};

const struct vhu_type *vhu_type_of(const struct vdev_type *t)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(vhu_types); i++)
		if (vhu_types[i].vt == t)
			return &vhu_types[i];
	return &vhu_types[G_N_ELEMENTS(vhu_types) - 1]; /* cannot happen: t is one of ours */
}
