/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio device core: the part of a virtio device that does not depend on the
 * transport (virtio 1.2 §2 and §3): device status with its table of legal
 * transitions, feature negotiation, the per-queue configuration a driver programs,
 * the configuration-space generation. Transports (virtio-mmio/, virtio-pci/) map their
 * registers onto these calls; device types (rng, vhost-user, ...) implement
 * struct vdev_ops. A device signals only through struct vdev_bus (interrupts), which
 * the transport embeds and hands down when it attaches the device.
 *
 * Ownership: vmm/ creates a device (devices/catalogue.h), hands it to one transport,
 * and frees it after the transport is gone.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct gmem;
struct vdev;

#define VDEV_MAX_QUEUES	  64
#define VDEV_MAX_CFG_SIZE 0x100 /* virtio-mmio gives 0x100 bytes of config space */
#define VDEV_MAX_SHM	  256	/* shmid is a u8 (virtio 1.2 §2.10) */
#define VDEV_SHM_PAGE	  4096	/* region sizes and mappings are multiples of Xen's page */

/*
 * One VIRTIO shared memory region (virtio 1.2 §2.10): `id` is the shmid the driver sees
 * (SHMSel on virtio-mmio, the capability's id on virtio-pci), `size` a non-zero multiple
 * of the page size. Where the region sits in guest-physical space is the transport's and
 * vmm/'s business; the device only serves accesses at an offset into it.
 */
struct vdev_shm {
	uint8_t id;
	uint64_t size;
};

/* The driver's view of one queue, as programmed through the transport. */
struct vdev_queue {
	uint16_t num_max; /* QueueNumMax: configuration, never changed by the guest */
	uint16_t num;	  /* 0 until the driver writes QueueNum */
	bool ready;
	uint64_t desc;	/* descriptor area (guest-physical) */
	uint64_t avail; /* driver area */
	uint64_t used;	/* device area */
};

/* Implemented by the transport; a device calls it through vdev_notify_*(). */
struct vdev_bus;
struct vdev_bus_ops {
	/* A used buffer notification for queue q (virtio 1.2 §2.7.7/2.7.8). */
	void (*notify_used)(struct vdev_bus *bus, unsigned q);
	/* A configuration change notification (also raised with DEVICE_NEEDS_RESET). */
	void (*notify_config)(struct vdev_bus *bus);
};

struct vdev_bus {
	const struct vdev_bus_ops *ops;
};

/*
 * Optional, supplied by vmm/ (vdev_set_notify): a path for a queue's notifications that
 * bypasses xvdm — the dom0 kernel's privcmd ioeventfd/irqfd. A device whose back-end
 * takes a kick and a call eventfd per queue offers both with attach() when the ring
 * starts; `*ret_took` says which the path carries from then on: VDEV_NOTIFY_KICK (the
 * guest's QueueNotify of q signals kick_fd without reaching xvdm), VDEV_NOTIFY_CALL (a
 * signal on call_fd raises the used-buffer interrupt without xvdm: the device must stop
 * reading call_fd). 0 with nothing taken: keep relaying; -errno: the device must not start
 * (the operator required the path). detach() before either fd is closed.
 */
#define VDEV_NOTIFY_KICK (1u << 0)
#define VDEV_NOTIFY_CALL (1u << 1)

struct vdev_notify;
struct vdev_notify_ops {
	int (*attach)(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd,
		      unsigned *ret_took);
	void (*detach)(struct vdev_notify *n, unsigned q, int kick_fd, int call_fd);
};

struct vdev_notify {
	const struct vdev_notify_ops *ops;
};

/* Implemented by each device type. */
struct vdev_ops {
	const char *type; /* catalogue name, e.g. "rng" */
	/* Device-specific feature bits offered (the core adds VIRTIO_F_VERSION_1). */
	uint64_t (*features)(struct vdev *d);
	/* acked ⊆ offered, checked by the core before the call; non-zero fails FEATURES_OK. */
	int (*set_features)(struct vdev *d, uint64_t acked);
	/* Bounds pre-checked by the core: off + len <= d->cfg_size. May be NULL if cfg_size 0. */
	int (*cfg_read)(struct vdev *d, uint32_t off, void *buf, uint32_t len);
	int (*cfg_write)(struct vdev *d, uint32_t off, const void *buf, uint32_t len);
	/* DRIVER_OK: queues are configured (d->queues). Failure marks the device broken. */
	int (*start)(struct vdev *d);
	/* The driver notified queue q (QueueNotify). Only called while started. */
	void (*kick)(struct vdev *d, unsigned q);
	/* Back to the initial state: stop every queue, forget everything. Cannot fail. */
	void (*reset)(struct vdev *d);
	/* Free the device (after reset). */
	void (*free)(struct vdev *d);
	/*
	 * A guest access to shared memory region d->shm[idx] at off, size 1/2/4/8 bytes:
	 * idx, size and off + size <= d->shm[idx].size pre-checked by the core. A read of
	 * a part nothing is mapped at returns 0 in *val; a write there is dropped. May be
	 * NULL (the whole region then reads 0 and ignores writes).
	 */
	int (*shm_read)(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val);
	int (*shm_write)(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val);
};

struct vdev {
	const struct vdev_ops *ops;
	struct vdev_bus *bus;	    /* set by vdev_attach(); NULL while detached */
	struct gmem *mem;	    /* guest memory for devices that walk rings themselves */
	struct vdev_notify *notify; /* vdev_set_notify(), or NULL: every notification relayed */
	char *name;		    /* "dom<N>/<device>" for log lines */
	uint32_t device_id;	    /* VIRTIO_ID_* */
	uint32_t vendor_id;
	uint32_t cfg_size; /* <= VDEV_MAX_CFG_SIZE */
	unsigned nqueues;  /* <= VDEV_MAX_QUEUES */
	struct vdev_queue *queues;
	/*
	 * Shared memory regions, set by the device type (vdev_set_shm()) before a transport
	 * is attached and fixed from then on: a transport sizes its windows or BAR from
	 * them once. Distinct ids; owned by the core (freed by vdev_fini()).
	 */
	unsigned nshm; /* <= VDEV_MAX_SHM */
	struct vdev_shm *shm;

	/* Core state, changed only through the functions below. */
	uint8_t status;
	bool started;		  /* ops->start succeeded and no reset since */
	bool broken;		  /* DEVICE_NEEDS_RESET latched */
	uint64_t driver_features; /* as written by the driver so far */
	uint32_t cfg_generation;
};

/* Set up the core part of a device; queues get num_max = queue_max each. */
int vdev_init(struct vdev *d, const struct vdev_ops *ops, const char *name, uint32_t device_id,
	      unsigned nqueues, uint16_t queue_max, uint32_t cfg_size, struct gmem *mem);
void vdev_fini(struct vdev *d);
/* ops->reset + vdev_fini + ops->free; NULL-safe. */
void vdev_free(struct vdev *d);

void vdev_attach(struct vdev *d, struct vdev_bus *bus);
/* Before the device starts; NULL takes it away (the device must have detached). */
void vdev_set_notify(struct vdev *d, struct vdev_notify *n);

/* --- called by transports --- */

/* The feature word `sel` (32 bits) offered to the driver; 0 beyond 64 bits. */
uint32_t vdev_host_features_word(struct vdev *d, uint32_t sel);
/* Store a word of the driver's features; ignored (returns -EINVAL) after FEATURES_OK. */
int vdev_set_driver_features_word(struct vdev *d, uint32_t sel, uint32_t val);

/*
 * A status write from the driver (virtio 1.2 §2.1, §3.1.1). 0 resets the device.
 * Other values go through the transition table: the driver may only add the next
 * bit of the initialisation sequence (or FAILED), never clear one. FEATURES_OK is
 * refused (left clear) when the driver acked features that were not offered or the
 * device rejects them; DRIVER_OK starts the device. Returns 0, or -EINVAL for an
 * illegal transition (status unchanged).
 */
int vdev_set_status(struct vdev *d, uint8_t status);
uint8_t vdev_get_status(struct vdev *d);
void vdev_reset(struct vdev *d);

/* Queue fields may be written only between FEATURES_OK and DRIVER_OK. */
bool vdev_queue_writable(struct vdev *d);
/* NULL when q is out of range. */
struct vdev_queue *vdev_queue(struct vdev *d, unsigned q);
/* -EINVAL unless 0 < num <= num_max and num is a power of two (split rings). */
int vdev_queue_set_num(struct vdev *d, unsigned q, uint32_t num);

/* Config space, bounds-checked (overflow-safe) here. */
int vdev_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len);
int vdev_cfg_write(struct vdev *d, uint32_t off, const void *buf, uint32_t len);

/* QueueNotify: forwards to ops->kick when started; drops and warns otherwise. */
void vdev_kick(struct vdev *d, unsigned q);

/*
 * A guest access to shared memory region d->shm[idx] (an index into d->shm, not a
 * shmid) at byte offset off, size 1, 2, 4 or 8. Checked here: idx < nshm, the size,
 * off + size <= the region's size without overflow (-EINVAL otherwise; a read then
 * still sets *val = 0). Unmapped parts read 0 and ignore writes, and so does a device
 * without shm_read/shm_write. *val holds the bytes in host order, as in a register read.
 */
int vdev_shm_read(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t *val);
int vdev_shm_write(struct vdev *d, unsigned idx, uint64_t off, unsigned size, uint64_t val);
/* The index in d->shm of shmid `id`, or -ENOENT. */
int vdev_shm_find(struct vdev *d, uint8_t id);

/* --- called by devices --- */

/*
 * Give the device its shared memory regions (copied): before vdev_attach(). -EINVAL
 * for n > VDEV_MAX_SHM, a repeated id, or a size that is 0 or not a page multiple.
 */
int vdev_set_shm(struct vdev *d, const struct vdev_shm *shm, unsigned n);

void vdev_notify_used(struct vdev *d, unsigned q);
/* The device changed its config space: bump the generation, notify the driver. */
void vdev_config_changed(struct vdev *d);
/* Latch DEVICE_NEEDS_RESET and raise a config notification (virtio 1.2 §2.1.2). */
void vdev_set_broken(struct vdev *d, const char *why);
