/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user wire layer (QEMU docs/interop/vhost-user.rst; FACTS 1-17): message
 * structs, the message table of devices/vhu-msg.def, framing over a unix stream
 * socket with fds in SCM_RIGHTS, and the checks every message goes through. Nothing
 * here knows about devices: devices/vhu-conn.h is the front-end's use of it.
 *
 *	struct vhu_msg m, r;
 *	vhu_msg_init(&m, VHU_GET_FEATURES, 0);
 *	vhu_msg_send(sock, &m, timeout_ms);
 *	vhu_msg_recv(sock, timeout_ms, &r);		// framing: header, size bound, fds
 *	vhu_check_reply(proto, &m, &r);			// the table: id, REPLY, size, fds
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header flags (FACTS 1). */
#define VHU_VERSION	    0x1
#define VHU_VERSION_MASK    0x3
#define VHU_FLAG_REPLY	    0x4
#define VHU_FLAG_NEED_REPLY 0x8

/* Virtio feature bit 30 (a bit number, FACTS 2). */
#define VHU_F_PROTOCOL_FEATURES 30

/* Protocol feature bit numbers (FACTS 3). */
enum vhu_proto_bit {
	VHU_PF_MQ = 0,
	VHU_PF_LOG_SHMFD = 1,
	VHU_PF_RARP = 2,
	VHU_PF_REPLY_ACK = 3,
	VHU_PF_MTU = 4,
	VHU_PF_BACKEND_REQ = 5,
	VHU_PF_CROSS_ENDIAN = 6,
	VHU_PF_CRYPTO_SESSION = 7,
	VHU_PF_PAGEFAULT = 8,
	VHU_PF_CONFIG = 9,
	VHU_PF_BACKEND_SEND_FD = 10,
	VHU_PF_HOST_NOTIFIER = 11,
	VHU_PF_INFLIGHT_SHMFD = 12,
	VHU_PF_RESET_DEVICE = 13,
	VHU_PF_INBAND_NOTIFICATIONS = 14,
	VHU_PF_CONFIGURE_MEM_SLOTS = 15,
	VHU_PF_STATUS = 16,
	VHU_PF_XEN_MMAP = 17,
	VHU_PF_SHARED_OBJECT = 18,
	VHU_PF_DEVICE_STATE = 19,
	VHU_PF_GET_VRING_BASE_INFLIGHT = 20,
	/* 21: GPA_ADDRESSES upstream, but SHMEM in rust-vmm vhost <= 0.16 (FACTS 3) */
	VHU_PF_GPA_ADDRESSES = 21,
	VHU_PF_SHMEM = 22,
};

#define VHU_PF(bit) (1ULL << VHU_PF_##bit)

/* Front-end request ids (VHU_GET_FEATURES, ...) and back-end-channel ids (VHU_B_...). */
enum vhu_req {
#define VHU_REQ(name, id, ...) VHU_##name = id,
#define VHU_BREQ(...)
#include "devices/vhu-msg.def"
#undef VHU_REQ
#undef VHU_BREQ
};

enum vhu_breq {
#define VHU_REQ(...)
#define VHU_BREQ(name, id, ...) VHU_B_##name = id,
#include "devices/vhu-msg.def"
#undef VHU_REQ
#undef VHU_BREQ
};

#define VHU_MAX_FDS	    8	 /* fds in one message (FACTS 7) */
#define VHU_MAX_REGIONS	    8	 /* regions in one SET_MEM_TABLE */
#define VHU_MAX_CONFIG	    256	 /* bytes of config space in GET/SET_CONFIG */
#define VHU_MAX_PAYLOAD	    4096 /* larger than any message of the table */
#define VHU_VRING_IDX_MASK  0xff
#define VHU_VRING_NOFD_MASK 0x100
#define VHU_SHMEM_MAX	    256

/* --- wire structs (host byte order, FACTS 1) --- */

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes */
};

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhu_vring_addr { /* FACTS 6: used comes before avail */
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhu_mem_region { /* FACTS 7 */
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhu_mem_region_xen { /* FACTS 9: with F_XEN_MMAP */
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
	uint32_t xen_mmap_flags;
	uint32_t domid;
};

struct vhu_mem_table_hdr {
	uint32_t nregions;
	uint32_t padding;
};

struct vhu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags; /* 0: VHOST_SET_CONFIG_TYPE_FRONTEND */
};

struct vhu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};

struct vhu_shmem_config { /* FACTS 16 */
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHU_SHMEM_MAX];
};

struct vhu_shmem_map { /* FACTS 17 */
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

_Static_assert(sizeof(struct vhu_hdr) == 12, "FACTS 1");
_Static_assert(sizeof(struct vhu_vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "FACTS 6");
_Static_assert(sizeof(struct vhu_mem_region) == 32, "FACTS 7");
_Static_assert(sizeof(struct vhu_mem_region_xen) == 40, "FACTS 9");
_Static_assert(offsetof(struct vhu_mem_region_xen, xen_mmap_flags) == 32, "FACTS 9");
_Static_assert(offsetof(struct vhu_mem_region_xen, domid) == 36, "FACTS 9");
_Static_assert(sizeof(struct vhu_mem_table_hdr) == 8, "FACTS 7");
_Static_assert(sizeof(struct vhu_config_hdr) == 12, "config header");
_Static_assert(sizeof(struct vhu_inflight) == 24, "FACTS 32");
_Static_assert(sizeof(struct vhu_shmem_config) == 2056, "FACTS 16");
_Static_assert(sizeof(struct vhu_shmem_map) == 40, "FACTS 17");

/*
 * One message with its fds. The payload is raw bytes (copy fields in and out with
 * memcpy or the accessors below: the buffer after a 12-byte header is not 8-aligned
 * on the wire, but here it is, and the sizes are checked before any field is read).
 * Received fds are owned by the message: vhu_msg_close_fds() or take them.
 */
struct vhu_msg {
	struct vhu_hdr hdr;
	uint32_t pad_;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		struct vhu_config_hdr config;
		struct vhu_inflight inflight;
		struct vhu_shmem_config shmem_config;
		struct vhu_shmem_map shmem_map;
		uint8_t raw[VHU_MAX_PAYLOAD];
	} p;
	int fds[VHU_MAX_FDS];
	unsigned nfds;
};

const char *vhu_req_name(uint32_t id);	/* "GET_FEATURES", or "unknown" */
const char *vhu_breq_name(uint32_t id); /* "CONFIG_CHANGE_MSG", or "unknown" */
bool vhu_req_known(uint32_t id);
/* The reply of a request is mandatory (GET_*), else it is an optional u64 ack. */
bool vhu_req_has_reply(uint32_t id);
/* The request may ask for a u64 ack with NEED_REPLY (reply kind NONE, not NEVER). */
bool vhu_req_may_ack(uint32_t id);

/* A request with an empty payload and no fds. */
void vhu_msg_init(struct vhu_msg *m, uint32_t request, uint32_t flags);
/* Append len bytes to the payload (the caller stays within VHU_MAX_PAYLOAD). */
void vhu_msg_put(struct vhu_msg *m, const void *data, size_t len);
void vhu_msg_put_u64(struct vhu_msg *m, uint64_t v);
/* Close the fds the message holds (received ones); NULL-safe. */
void vhu_msg_close_fds(struct vhu_msg *m);

/*
 * The checks of the table, one function per direction. `proto` is the negotiated
 * protocol feature mask (region sizes depend on XEN_MMAP, back-end fds on
 * BACKEND_SEND_FD). All return 0 or -EPROTO (logged at debug level, naming the rule).
 */
/* A front-end request (what we send; the fake back-end of the tests checks with it too). */
int vhu_check_request(uint64_t proto, const struct vhu_msg *m);
/* The reply to `req`: id, REPLY, NEED_REPLY clear, size by the reply kind, fd count. */
int vhu_check_reply(uint64_t proto, const struct vhu_msg *req, const struct vhu_msg *reply);
/* A back-end-channel request: REPLY clear, size, fds (only with BACKEND_SEND_FD).
 * -ENOTSUP for an id the table does not know (answer it with an error, keep going). */
int vhu_check_backend_req(uint64_t proto, const struct vhu_msg *m);

/*
 * Send a whole message and its fds (MSG_NOSIGNAL: a dead peer is -EPIPE, never a
 * signal), waiting at most timeout_ms for room. 0, -ETIMEDOUT, -EPIPE, -ECONNRESET.
 * The fds stay the caller's.
 */
int vhu_msg_send(int sock, const struct vhu_msg *m, int timeout_ms);

/*
 * Receive one message: header, payload, fds from any part of it. Checks the version
 * bits, that the size is at most VHU_MAX_PAYLOAD and that no fd was cut off
 * (MSG_CTRUNC). 0; -ECONNRESET when the peer closed between messages; -EPROTO for a
 * short message, a bad header or too many fds; -ETIMEDOUT when the whole message did
 * not arrive within timeout_ms. On failure every fd received is closed.
 */
int vhu_msg_recv(int sock, int timeout_ms, struct vhu_msg *m);

/* Reply to a back-end-channel request with a u64 (0 = success), REPLY set. */
int vhu_send_backend_ack(int sock, const struct vhu_msg *req, uint64_t val, int timeout_ms);
