/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user front-end connection: one socket to one back-end, the features it
 * offered and we acked, strict request/reply exchanges with a bounded wait, and an
 * error latch (rust-vmm `vhost` style): the first protocol error, timeout or hang-up
 * marks the connection down, calls ops->down() once, and every later request fails
 * with -ENOTCONN until a new socket is attached. Synchronous: a request returns when
 * its reply (or REPLY_ACK ack) is in, or the bound has passed.
 *
 * Also here: the back-end channel (SET_BACKEND_REQ_FD) dispatcher, and the unix socket
 * helpers for client and server mode.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/vhu-proto.h"

#define VHU_TIMEOUT_MS_DEFAULT 5000

struct vhu_conn;

struct vhu_conn_ops {
	/* The latch tripped (err: -EPROTO, -ETIMEDOUT, -ECONNRESET, ...). Called once, from
	 * inside the failing request: defer real work (the caller is still unwinding). */
	void (*down)(struct vhu_conn *c, int err);
};

struct vhu_conn {
	const struct vhu_conn_ops *ops;
	const char *name; /* the device's name, for log lines (not owned) */
	int sock;	  /* -1 while down */
	int timeout_ms;
	bool up;		/* attached and not latched */
	uint64_t features;	/* GET_FEATURES */
	uint64_t proto_offered; /* GET_PROTOCOL_FEATURES (0 without bit 30) */
	uint64_t proto;		/* what we acked with SET_PROTOCOL_FEATURES */
	uint64_t queue_num;	/* GET_QUEUE_NUM (0 without MQ) */
	bool acks;		/* NEED_REPLY in use (see vhu_set_features) */
	bool hello;		/* vhu_hello() sent GET_FEATURES: vhu_negotiate reads its reply */
	unsigned requests;	/* requests sent since attach, for tests and logs */
	/*
	 * The wire bit of VHOST_USER_PROTOCOL_F_SHMEM: 22 (0 means 22), or 21 for back-ends
	 * built on rust-vmm vhost <= 0.16 (FACTS 3). proto_offered and proto always hold it
	 * at VHU_PF_SHMEM, whatever the wire says.
	 */
	unsigned shmem_bit;
};

void vhu_conn_init(struct vhu_conn *c, const struct vhu_conn_ops *ops, const char *name,
		   int timeout_ms);
/* Take a connected socket; forget everything negotiated before. */
void vhu_conn_attach(struct vhu_conn *c, int sock);
/*
 * A negotiation that starts without waiting, for callers that must not block on a
 * back-end that accepted the connection but may never answer (a stopped process: the
 * kernel completes a unix connect without it). vhu_hello() sends GET_FEATURES on a
 * connected socket that is not attached yet (0 or -errno); once the socket is readable,
 * vhu_conn_attach_hello() attaches it and vhu_negotiate() reads that reply instead of
 * asking again.
 */
int vhu_hello(int sock, int timeout_ms);
void vhu_conn_attach_hello(struct vhu_conn *c, int sock);
/* Close the socket (no ops->down call). */
void vhu_conn_close(struct vhu_conn *c);
/* Trip the latch from outside (hang-up seen by a watch): ops->down once. */
void vhu_conn_fail(struct vhu_conn *c, int err);

/*
 * Send req; wait for its mandatory reply, or for the u64 ack when acks are on (the
 * NEED_REPLY flag is added here). The reply, when there is one, lands in *reply (which
 * then owns its fds). 0; -EIO when the back-end answered "failed" (a non-zero ack or a
 * refused GET_CONFIG): the connection stays up; -ENOTCONN when down; the latch trips
 * on -EPROTO, -ETIMEDOUT, -ECONNRESET, -EPIPE.
 */
int vhu_request(struct vhu_conn *c, struct vhu_msg *req, struct vhu_msg *reply);

/* Typed requests. */
int vhu_get_u64(struct vhu_conn *c, uint32_t request, uint64_t *ret);
int vhu_send_u64(struct vhu_conn *c, uint32_t request, uint64_t v);
int vhu_send_none(struct vhu_conn *c, uint32_t request);
int vhu_set_vring(struct vhu_conn *c, uint32_t request, uint32_t index, uint32_t num);
int vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *ret_num);
int vhu_set_vring_addr(struct vhu_conn *c, const struct vhu_vring_addr *a);
/* SET_VRING_KICK/CALL/ERR; fd < 0 sends "no fd" (bit 8). The fd stays ours. */
int vhu_set_vring_fd(struct vhu_conn *c, uint32_t request, uint32_t index, int fd);
/* Regions are 40 bytes when XEN_MMAP is acked, else the first 32 bytes of each. fds stay ours. */
int vhu_set_mem_table(struct vhu_conn *c, const struct vhu_mem_region_xen *regions, const int *fds,
		      unsigned n);
int vhu_get_config(struct vhu_conn *c, uint32_t off, void *buf, uint32_t len);
int vhu_set_config(struct vhu_conn *c, uint32_t off, const void *buf, uint32_t len);
/* GET_INFLIGHT_FD: *ret filled and *ret_fd ours. SET_INFLIGHT_FD: fd stays ours. */
int vhu_get_inflight_fd(struct vhu_conn *c, uint16_t num_queues, uint16_t queue_size,
			struct vhu_inflight *ret, int *ret_fd);
int vhu_set_inflight_fd(struct vhu_conn *c, const struct vhu_inflight *in, int fd);
int vhu_set_backend_req_fd(struct vhu_conn *c, int fd);
/* VHOST_USER_GPU_SET_SOCKET: never acked, whatever REPLY_ACK says (vhu-msg.def). fd stays ours. */
int vhu_gpu_set_socket(struct vhu_conn *c, int fd);
/*
 * SET_FEATURES. Acks (NEED_REPLY) are used from this request on when REPLY_ACK was
 * negotiated and bit 30 is in `features`: some rust-vmm versions only ack once the
 * front-end acked bit 30 (their update_reply_ack_flag), so asking earlier could hang.
 */
int vhu_set_features(struct vhu_conn *c, uint64_t features);

/*
 * GET_SHMEM_CONFIG (SHMEM negotiated): the raw 2056-byte reply in *ret (validate it with
 * vhu_shmem_config_parse()).
 */
int vhu_get_shmem_config(struct vhu_conn *c, struct vhu_shmem_config *ret);

/*
 * Negotiate on a fresh connection (FACTS 5, 34): GET_FEATURES, SET_OWNER, and with
 * bit 30 GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES(offered & want), then
 * GET_QUEUE_NUM when MQ was acked. `require` bits must all be offered (else -ENOTSUP).
 * SHMEM is acked only together with BACKEND_REQ and BACKEND_SEND_FD (its requests come
 * on the back-end channel and MAP carries an fd).
 */
int vhu_negotiate(struct vhu_conn *c, uint64_t want, uint64_t require);

/* --- the back-end channel --- */

struct vhu_backend_handler;
struct vhu_backend_handler_ops {
	/* Called after the reply (if any) went out, so they may talk to the back-end. */
	void (*config_changed)(struct vhu_backend_handler *h);
	void (*vring_call)(struct vhu_backend_handler *h, uint32_t index);
	void (*vring_err)(struct vhu_backend_handler *h, uint32_t index);
	/*
	 * SHMEM_MAP / SHMEM_UNMAP (only with SHMEM negotiated), in two steps around the reply
	 * (FACTS 18; devices/vhu-shmem.h): prepare checks the request and gets it ready
	 * without any visible effect, and takes `fd` (MAP's; -1 for UNMAP), closing it on
	 * every path; 0 = it will succeed. commit runs after the reply went out (ok) or could
	 * not be sent (!ok: undo), only after a successful prepare. NULL: refused.
	 */
	int (*shmem_prepare)(struct vhu_backend_handler *h, uint32_t req,
			     const struct vhu_shmem_map *m, int fd);
	void (*shmem_commit)(struct vhu_backend_handler *h, bool ok);
};

struct vhu_backend_handler {
	const struct vhu_backend_handler_ops *ops;
	const char *name;
};

/*
 * The decision for one back-end request that passed framing: checks it against the
 * table, says whether and what to answer (*ret_reply, *ret_val: 0 = done) and which
 * handler op to call afterwards (returned: the request id, or 0 for none). Closes the
 * message's fds, except the one fd of a SHMEM_MAP it accepts (SHMEM negotiated): that
 * stays in m->fds[0] for the caller. SHMEM requests get *ret_val 0 here; the handler's
 * shmem_prepare decides. -EPROTO for a message that breaks the table (answer it, if
 * asked, with an error and keep the channel: the framing is intact).
 */
int vhu_backend_decide(uint64_t proto, struct vhu_msg *m, bool *ret_reply, uint64_t *ret_val);

/*
 * Serve one request from the back-end channel: receive (bounded), decide, reply exactly
 * once when REPLY_ACK is negotiated and NEED_REPLY is set, then call the op. 0, or
 * -errno when the channel is unusable (EOF, framing, timeout): close it.
 */
int vhu_backend_serve(int fd, uint64_t proto, int timeout_ms, struct vhu_backend_handler *h);

/* --- sockets --- */

/* Connect to a unix socket; the fd (non-blocking, close-on-exec) or -errno. */
int vhu_socket_connect(const char *path);
/* Listen on a unix socket (a stale socket file is replaced); the fd or -errno. */
int vhu_socket_listen(const char *path);
/* Accept one connection (non-blocking); the fd, -EAGAIN, or -errno. */
int vhu_socket_accept(int listen_fd);
