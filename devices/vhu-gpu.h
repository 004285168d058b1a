/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-gpu (inside devices/ only). Two parts:
 *  - vhu-gpu.c: the display side channel (QEMU docs/interop/vhost-user-gpu.rst, FACTS 35).
 *    After negotiation xvdm sends VHOST_USER_GPU_SET_SOCKET with one end of a socket
 *    pair and serves the other: protocol features, GET_DISPLAY_INFO (the configured
 *    scanouts), and the back-end's display updates, kept as the latest frame per
 *    scanout (and written as PPM files with display=DIR).
 *  - vhu-gpu-shadow.c: the control-queue filter of shadow mode: RESOURCE_ATTACH_BACKING
 *    names guest pages the back-end cannot reach, so each resource's backing is shadowed
 *    in the device's svq area and the request rewritten to point there.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <linux/virtio_gpu.h>

#include "devices/svq.h"

struct gmem;
struct vhu_dev;

/* Side-channel requests (the back-end sends them; vhost-user-gpu.rst "Message types"). */
enum vhu_gpu_req {
	VHU_GPU_GET_PROTOCOL_FEATURES = 1,
	VHU_GPU_SET_PROTOCOL_FEATURES = 2,
	VHU_GPU_GET_DISPLAY_INFO = 3,
	VHU_GPU_CURSOR_POS = 4,
	VHU_GPU_CURSOR_POS_HIDE = 5,
	VHU_GPU_CURSOR_UPDATE = 6,
	VHU_GPU_SCANOUT = 7,
	VHU_GPU_UPDATE = 8,
	VHU_GPU_DMABUF_SCANOUT = 9,
	VHU_GPU_DMABUF_UPDATE = 10,
	VHU_GPU_GET_EDID = 11,
};

#define VHU_GPU_HDR	   12	       /* u32 request, flags, size; host byte order */
#define VHU_GPU_FLAG_REPLY 0x4	       /* on our replies */
#define VHU_GPU_DIM_MAX	   16384       /* a scanout's width or height */
#define VHU_GPU_FB_MAX	   (64u << 20) /* bytes of one scanout's frame (4 per pixel) */
#define VHU_GPU_UPDATE_HDR 20	       /* scanout_id, x, y, width, height before the pixels */

/* The latest frame of one scanout: x8r8g8b8 little-endian (B, G, R, X bytes). */
struct vhu_gpu_scanout {
	uint32_t width; /* 0: disabled */
	uint32_t height;
	uint8_t *fb; /* width * height * 4, NULL when disabled or shown by DMA-BUF */
	bool dmabuf;
};

/* What the side channel shows, and how it is configured. */
struct vhu_gpu_display {
	char *name;	    /* the device's, for log lines and file names */
	char *dir;	    /* display=DIR: PPM files, or NULL */
	uint32_t nscanouts; /* scanouts= */
	uint32_t width;	    /* width=, height=: the mode GET_DISPLAY_INFO reports */
	uint32_t height;
	uint64_t proto; /* side-channel protocol features agreed (we offer none) */
	struct vhu_gpu_scanout so[VIRTIO_GPU_MAX_SCANOUTS];
	uint32_t cursor_scanout, cursor_x, cursor_y;
	bool cursor_visible;
	unsigned updates; /* UPDATE and DMABUF_UPDATE messages taken */
	unsigned files;	  /* PPM files written */
};

/* What to send back for one request (GET_* and DMABUF_UPDATE). */
struct vhu_gpu_reply {
	bool send;
	uint32_t request;
	uint32_t size;
	uint8_t body[sizeof(struct virtio_gpu_resp_display_info)];
};

void vhu_gpu_display_init(struct vhu_gpu_display *d, const char *name, uint32_t nscanouts,
			  uint32_t width, uint32_t height, const char *dir);
void vhu_gpu_display_fini(struct vhu_gpu_display *d);

/*
 * The framing check of a header, before its payload is read: 0, or -EPROTO for an
 * unknown request or a size its row does not allow (flags are not checked: see
 * vhu-gpu.c).
 */
int vhu_gpu_check_hdr(const struct vhu_gpu_display *d, uint32_t request, uint32_t flags,
		      uint32_t size);
/*
 * Take one whole message (header checked or not: checked again): update the display,
 * say what to answer in *ret. Every fd is closed (a DMA-BUF is not displayed). 0, or
 * -EPROTO when it breaks a rule: the channel should be closed.
 */
int vhu_gpu_handle(struct vhu_gpu_display *d, uint32_t request, uint32_t flags,
		   const uint8_t *payload, uint32_t size, int *fds, unsigned nfds,
		   struct vhu_gpu_reply *ret);

/* The side channel of a connection, served on a GLib main context. */
struct vhu_gpu_chan {
	int fd; /* our end, -1 when closed */
	GSource *src;
	uint8_t hdr[VHU_GPU_HDR];
	size_t hgot;
	uint32_t request, flags, size;
	uint8_t *payload;
	size_t pgot;
	int fds[2];
	unsigned nfds;
};

/* The shadow-mode filter of the control queue (vhu-gpu-shadow.c). */
struct vhu_gpu_shadow;

/* The device's vhost-user-gpu state (vhu_dev.gpu). */
struct vhu_gpu {
	struct vhu_gpu_display disp;
	struct vhu_gpu_chan chan;
	struct vhu_gpu_shadow *shadow;
	size_t backing_max; /* backing-mem=: shadow backing bytes per device */
};

/* vhu-gpu.c: the type hooks of vhu-types.c. */
int vhu_gpu_setup(struct vhu_dev *v, GHashTable *opts, GError **error);
int vhu_gpu_session(struct vhu_dev *v);	     /* after negotiation: SET_SOCKET */
void vhu_gpu_session_end(struct vhu_dev *v); /* the connection is gone */
struct svq_filter *vhu_gpu_filter(struct vhu_dev *v, unsigned q);
void vhu_gpu_rings_stopped(struct vhu_dev *v); /* before the area goes */
void vhu_gpu_free(struct vhu_dev *v);
/* Serve what is readable on the channel: 0, or -errno when it was closed. */
int vhu_gpu_chan_serve(struct vhu_gpu_chan *c, struct vhu_gpu_display *d);
void vhu_gpu_chan_close(struct vhu_gpu_chan *c);

/* vhu-gpu-shadow.c */
struct vhu_gpu_shadow *vhu_gpu_shadow_new(const char *name, size_t max);
void vhu_gpu_shadow_free(struct vhu_gpu_shadow *g); /* NULL-safe; after vhu_gpu_shadow_reset */
/* The filter for the control queue, its blocks taken from area (kept until reset). */
struct svq_filter *vhu_gpu_shadow_filter(struct vhu_gpu_shadow *g, struct svq_area *area,
					 struct gmem *mem);
/* Forget every resource and free its backing (device reset, before the area goes). */
void vhu_gpu_shadow_reset(struct vhu_gpu_shadow *g);
/* Backing bytes in use, and resources known (tests, logs). */
size_t vhu_gpu_shadow_used(const struct vhu_gpu_shadow *g);
unsigned vhu_gpu_shadow_resources(const struct vhu_gpu_shadow *g);
