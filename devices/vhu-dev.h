/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device (inside devices/ only): one struct vdev whose queues are served
 * by an external back-end. vhost-user.c owns the connection's life (connect or accept,
 * negotiation, loss, reconnect) and the vdev_ops; vhu-rings.c hands the rings to the
 * back-end in either memory mode and relays kicks and calls; vhu-types.c is the table
 * of device types (blk, net, fs, ...).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <glib-unix.h>

#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "devices/vhu-conn.h"
#include "devices/vhu-shmem.h"

struct svq;
struct svq_area;
struct svq_filter;
struct vhu_gpu;
struct vq;
struct vhu_dev;

enum vhu_mem_mode {
	VHU_MEM_AUTO,
	VHU_MEM_XEN_MMAP, /* zero copy: the back-end maps guest RAM (F_XEN_MMAP) */
	VHU_MEM_SHADOW,	  /* shadow virtqueues in a memfd xvdm owns */
};

enum vhu_cfg_src {
	VHU_CFG_NONE,	 /* no config space */
	VHU_CFG_BACKEND, /* GET_CONFIG / SET_CONFIG (protocol feature CONFIG) */
	VHU_CFG_LOCAL,	 /* built by xvdm from options (virtiofsd has no CONFIG, FACTS 35) */
};

/* One row per vhost-user device type (vhu-types.c). */
struct vhu_type {
	const struct vdev_type *vt; /* its catalogue row */
	uint16_t nqueues;	    /* default queue count */
	uint32_t cfg_size;
	enum vhu_cfg_src cfg_src;
	uint64_t dev_mask;	 /* device-specific feature bits taken from the back-end */
	uint64_t local_features; /* bits xvdm implements itself (e.g. net MAC, STATUS) */
	/*
	 * The device's requests carry guest-physical addresses in their payload (virtio-gpu
	 * ATTACH_BACKING): shadow copies cannot translate them, so shadow mode serves the
	 * type only with a shadow_filter that rewrites them.
	 */
	bool gpa_in_payload;
	uint64_t shadow_mask; /* device feature bits never offered in shadow mode */
	/* Type-specific options: queue count, local config. Optional. */
	int (*setup)(struct vhu_dev *v, GHashTable *opts, GError **error);
	/* Patch the back-end's config after each GET_CONFIG (e.g. blk num_queues). Optional. */
	void (*fix_cfg)(struct vhu_dev *v);
	/* Optional: after each negotiation (-errno fails the session), and when it is gone. */
	int (*session)(struct vhu_dev *v);
	void (*session_end)(struct vhu_dev *v);
	/* Optional: shadow mode's request filter of queue q (NULL: none). */
	struct svq_filter *(*shadow_filter)(struct vhu_dev *v, unsigned q);
	/* Optional: the rings were taken back, the shadow area is about to go. */
	void (*rings_stopped)(struct vhu_dev *v);
	/* Optional: free what setup allocated. */
	void (*free)(struct vhu_dev *v);
};

/* Where the device's shared memory regions come from (shm-sizes=). */
enum vhu_shm_src {
	VHU_SHM_BACKEND, /* GET_SHMEM_CONFIG, when the back-end offers SHMEM */
	VHU_SHM_CONFIG,	 /* shm-sizes=ID:SIZE+...: no GET_SHMEM_CONFIG */
	VHU_SHM_OFF,	 /* shm-sizes=none: SHMEM not negotiated */
};

/* Options common to every vhost-user type (vhost-user.c parses them). */
struct vhu_opts {
	char *socket;
	bool server;
	enum vhu_mem_mode mem;
	unsigned reconnect_ms; /* 0: off */
	size_t shadow_mem;     /* bounce bytes per queue */
	uint32_t xen_flags;    /* xen_mmap_flags of each region */
	int timeout_ms;
	uint16_t nqueues;  /* from the type, or num-queues= */
	uint32_t cfg_size; /* from the type, or config-size= */
	uint32_t device_id;
	enum vhu_shm_src shm_src;
	unsigned nshm; /* VHU_SHM_CONFIG: the configured regions */
	struct vdev_shm shm[VHU_SHMEM_MAX_REGIONS];
	unsigned shmem_bit; /* shmem-bit=: 22, or 21 for rust-vmm vhost <= 0.16 */
};

struct vhu_queue {
	struct vhu_dev *v;
	unsigned index;
	int kick_fd; /* eventfds, ours: -1 until the ring is set up */
	int call_fd;
	GSource *call_src;
	GSource *more_src; /* shadow: svq_forward stopped by its budget (-EAGAIN) */
	struct vq *vq;	   /* shadow: the guest ring */
	struct svq *svq;   /* shadow: the ring the back-end sees */
	bool set_up;	   /* handed to the back-end since the last start */
	bool rekick;	   /* shadow resume: requests were re-posted, kick once set up */
	unsigned kernel;   /* VDEV_NOTIFY_* the device's notify path carries for us */
};

struct vhu_dev {
	struct vdev vdev;
	char *name; /* a copy of vdev.name for the connection's log lines */
	const struct vhu_type *type;
	struct vhu_opts o;
	struct vhu_conn conn;
	struct vhu_backend_handler bh;
	GMainContext *ctx; /* where every source of the device lives */

	uint64_t dev_mask;	/* the type's mask, adjusted by its setup hook */
	uint32_t scanouts;	/* gpu: num_scanouts when the back-end says 0 */
	struct vhu_gpu *gpu;	/* gpu: side channel, display, shadow backing */
	size_t area_extra;	/* shadow area bytes beyond the queues' (gpu backing) */
	enum vhu_mem_mode mode; /* resolved at negotiation */
	bool known;		/* the back-end's features are known (negotiated once) */
	uint64_t offered;	/* features offered to the driver (0 until known) */
	bool running;		/* start() succeeded: rings are (or were) with the back-end */
	bool resume;		/* the back-end went away while running: resume on reconnect */

	int listen_fd;	      /* server mode */
	int chan_fd;	      /* our end of the back-end channel */
	int hello_fd;	      /* a new connection whose GET_FEATURES reply is awaited (vhu_hello) */
	GSource *hello_src;   /* its readiness */
	GSource *hello_timer; /* its bound (timeout_ms) */
	GSource *listen_src;
	GSource *sock_src;
	GSource *chan_src;
	GSource *retry_src;
	GSource *down_src;

	uint8_t cfg[VDEV_MAX_CFG_SIZE];
	struct svq_area *area;
	int inflight_fd;
	struct vhu_inflight inflight;
	struct vhu_queue *q; /* nqueues */

	/* Shared memory regions: the mappings the back-end made (vhu-shmem.h). */
	struct vhu_shmem shm;
	bool shm_fixed; /* vdev.shm is final (a transport may have sized windows from it) */
};

static inline struct vhu_dev *vhu_of(struct vdev *d)
{
	return container_of(d, struct vhu_dev, vdev);
}

/* vhost-user.c: the constructor every catalogue row of vhu-types.c points to. */
int vhu_create(const struct vdev_type *t, const struct vdev_params *p, struct vdev **ret,
	       GError **error);
/* vhost-user.c: a number up to max with an optional K/M/G suffix; false if it is not one. */
bool vhu_parse_u64(const char *s, uint64_t max, uint64_t *ret);
/*
 * vhost-user.c: option key (NULL opts or absent key: 0, *ret untouched), a number up to
 * max with an optional K/M/G suffix (1, *ret set), or -EINVAL with *error set.
 */
int vhu_opt_u64(GHashTable *opts, const char *key, uint64_t max, uint64_t *ret, const char *name,
		GError **error);
/* vhu-types.c */
const struct vhu_type *vhu_type_of(const struct vdev_type *t);

/* vhu-dev-shmem.c: the device's shared memory regions */
/* shm-sizes= and shmem-bit= into v->o (before vdev_init). */
int vhu_shm_parse_opts(struct vhu_dev *v, GHashTable *opts, GError **error);
/* After vdev_init: the configured regions, if any. */
void vhu_shm_create(struct vhu_dev *v);
/* After each negotiation: GET_SHMEM_CONFIG (when it applies). -errno fails the session. */
int vhu_shm_session(struct vhu_dev *v);
/* The end of creation: the regions are final; the mapping table is set up on them. */
void vhu_shm_fix(struct vhu_dev *v);
/* Every mapping gone: device reset, back-end lost, device freed. */
void vhu_shm_drop(struct vhu_dev *v);
/* vdev_ops shm_read / shm_write and the back-end handler's shmem ops. */
int vhu_shm_read(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val);
int vhu_shm_write(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val);
int vhu_shm_prepare(struct vhu_backend_handler *h, uint32_t req, const struct vhu_shmem_map *m,
		    int fd);
void vhu_shm_commit(struct vhu_backend_handler *h, bool ok);
/* vhost-user.c: attach a GLib source to the device's context. */
GSource *vhu_watch(struct vhu_dev *v, GSource *s, GSourceFunc fn, gpointer data);
void vhu_unwatch(GSource **s);

/* vhu-rings.c */
/* The virtio features to send with SET_FEATURES (bit 30 included when offered). */
uint64_t vhu_backend_features(struct vhu_dev *v);
/* DRIVER_OK, or resume after a reconnect (v->resume): hand every ready ring over. */
int vhu_rings_start(struct vhu_dev *v);
/* Take the rings back (GET_VRING_BASE, RESET_DEVICE where negotiated) and drop them. */
void vhu_rings_stop(struct vhu_dev *v);
void vhu_rings_kick(struct vhu_dev *v, unsigned q);
/* The back-end signalled queue q (call eventfd or VRING_CALL on the channel). */
void vhu_rings_called(struct vhu_dev *v, unsigned q);
