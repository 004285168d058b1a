/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user front-end connection: requests with strict reply checks and bounded
 * waits, the error latch, negotiation, the back-end channel, unix sockets.
 *
 * Trust boundary: the back-end. Every reply goes through vhu_check_reply() (the
 * table) before a field is read, then through the content checks here (the ring index
 * of GET_VRING_BASE, the config header of GET_CONFIG, the fd of GET_INFLIGHT_FD). A
 * violation, a timeout or a hang-up latches the connection down; the device decides
 * what that means (reconnect or DEVICE_NEEDS_RESET). Back-end-channel requests are
 * checked by vhu_check_backend_req(); their fds are closed on every path.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/vhu-conn.h"

void vhu_conn_init(struct vhu_conn *c, const struct vhu_conn_ops *ops, const char *name,
		   int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->name = name;
	c->sock = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : VHU_TIMEOUT_MS_DEFAULT;
}

static void forget(struct vhu_conn *c)
{
	c->up = false;
	c->features = 0;
	c->proto_offered = 0;
	c->proto = 0;
	c->queue_num = 0;
	c->acks = false;
	c->requests = 0;
	c->hello = false;
}

void vhu_conn_attach(struct vhu_conn *c, int sock)
{
	vhu_conn_close(c);
	forget(c);
	c->sock = sock;
	c->up = true;
}

int vhu_hello(int sock, int timeout_ms)
{
	struct vhu_msg m;

	vhu_msg_init(&m, VHU_GET_FEATURES, 0);
	return vhu_msg_send(sock, &m, timeout_ms);
}

void vhu_conn_attach_hello(struct vhu_conn *c, int sock)
{
	vhu_conn_attach(c, sock);
	c->hello = true;
	c->requests = 1;
}

void vhu_conn_close(struct vhu_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	c->up = false;
}

void vhu_conn_fail(struct vhu_conn *c, int err)
{
	if (!c->up)
		return;
	c->up = false;
	log_debug("%s: back-end connection down: %s", c->name, g_strerror(-err));
	if (c->ops && c->ops->down)
		c->ops->down(c, err);
}

/* Errors that leave the stream in an unknown state. */
static bool latching(int err)
{
	return err == -EPROTO || err == -ETIMEDOUT || err == -ECONNRESET || err == -EPIPE;
}

static int ack_value(struct vhu_conn *c, const struct vhu_msg *req, const struct vhu_msg *r)
{
	if (vhu_req_has_reply(req->hdr.request))
		return 0;
	if (r->p.u64 != 0) {
		log_warn_rl("%s: back-end failed %s (ack %" PRIu64 ")", c->name,
			    vhu_req_name(req->hdr.request), r->p.u64);
		return -EIO;
	}
	return 0;
}

static int request_failed(struct vhu_conn *c, const struct vhu_msg *req, int r)
{
	log_warn("%s: %s: %s%s", c->name, vhu_req_name(req->hdr.request), g_strerror(-r),
		 r == -ETIMEDOUT ? " (no reply within the bound)" : "");
	if (latching(r))
		vhu_conn_fail(c, r);
	return r;
}

/* Read and check the reply (or ack) to req; reply == NULL: not wanted beyond the checks. */
static int request_finish(struct vhu_conn *c, const struct vhu_msg *req, struct vhu_msg *reply)
{
	struct vhu_msg local;
	int r;

	if (!reply)
		reply = &local;
	r = vhu_msg_recv(c->sock, c->timeout_ms, reply);
	if (r < 0)
		return request_failed(c, req, r);
	r = vhu_check_reply(c->proto, req, reply);
	if (r < 0) {
		vhu_msg_close_fds(reply);
		return request_failed(c, req, r);
	}
	r = ack_value(c, req, reply);
	if (reply == &local)
		vhu_msg_close_fds(reply);
	return r;
}

int vhu_request(struct vhu_conn *c, struct vhu_msg *req, struct vhu_msg *reply)
{
	bool want_reply;
	int r;

	if (reply)
		reply->nfds = 0;
	if (!c->up)
		return -ENOTCONN;
	want_reply = vhu_req_has_reply(req->hdr.request);
	if (!want_reply && c->acks && vhu_req_may_ack(req->hdr.request))
		req->hdr.flags |= VHU_FLAG_NEED_REPLY;
	r = vhu_check_request(c->proto, req);
	if (r < 0) {
		log_warn("%s: refusing to send a malformed %s (a bug)", c->name,
			 vhu_req_name(req->hdr.request));
		return -EINVAL; /* our bug: the connection is fine */
	}
	c->requests++;
	r = vhu_msg_send(c->sock, req, c->timeout_ms);
	if (r < 0)
		return request_failed(c, req, r);
	if (!want_reply && !(req->hdr.flags & VHU_FLAG_NEED_REPLY))
		return 0;
	return request_finish(c, req, reply);
}

/* A reply's content is wrong although its shape is right: latch, like a shape error. */
static int content_error(struct vhu_conn *c, struct vhu_msg *reply, const char *what)
{
	log_warn("%s: %s", c->name, what);
	vhu_msg_close_fds(reply);
	vhu_conn_fail(c, -EPROTO);
	return -EPROTO;
}

int vhu_get_u64(struct vhu_conn *c, uint32_t request, uint64_t *ret)
{
	struct vhu_msg m, r;
	int err;

	vhu_msg_init(&m, request, 0);
	err = vhu_request(c, &m, &r);
	if (err == 0)
		*ret = r.p.u64;
	return err;
}

int vhu_send_u64(struct vhu_conn *c, uint32_t request, uint64_t v)
{
	struct vhu_msg m;

	vhu_msg_init(&m, request, 0);
	vhu_msg_put_u64(&m, v);
	return vhu_request(c, &m, NULL);
}

int vhu_send_none(struct vhu_conn *c, uint32_t request)
{
	struct vhu_msg m;

	vhu_msg_init(&m, request, 0);
	return vhu_request(c, &m, NULL);
}

int vhu_set_vring(struct vhu_conn *c, uint32_t request, uint32_t index, uint32_t num)
{
	struct vhu_vring_state s = { .index = index, .num = num };
	struct vhu_msg m;

	vhu_msg_init(&m, request, 0);
	vhu_msg_put(&m, &s, sizeof(s));
	return vhu_request(c, &m, NULL);
}

int vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *ret_num)
{
	struct vhu_vring_state s = { .index = index };
	struct vhu_msg m, r;
	int err;

	vhu_msg_init(&m, VHU_GET_VRING_BASE, 0);
	vhu_msg_put(&m, &s, sizeof(s));
	err = vhu_request(c, &m, &r);
	if (err < 0)
		return err;
	if (r.p.state.index != index)
		return content_error(c, &r, "GET_VRING_BASE: reply for another ring");
	if (r.p.state.num > UINT16_MAX)
		return content_error(c, &r, "GET_VRING_BASE: index beyond 16 bits");
	*ret_num = r.p.state.num;
	return 0;
}

int vhu_set_vring_addr(struct vhu_conn *c, const struct vhu_vring_addr *a)
{
	struct vhu_msg m;

	vhu_msg_init(&m, VHU_SET_VRING_ADDR, 0);
	vhu_msg_put(&m, a, sizeof(*a));
	return vhu_request(c, &m, NULL);
}

int vhu_set_vring_fd(struct vhu_conn *c, uint32_t request, uint32_t index, int fd)
{
	struct vhu_msg m;

	vhu_msg_init(&m, request, 0);
	vhu_msg_put_u64(&m, (index & VHU_VRING_IDX_MASK) | (fd < 0 ? VHU_VRING_NOFD_MASK : 0));
	if (fd >= 0) {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	return vhu_request(c, &m, NULL);
}

int vhu_set_mem_table(struct vhu_conn *c, const struct vhu_mem_region_xen *regions, const int *fds,
		      unsigned n)
{
	struct vhu_mem_table_hdr h = { .nregions = n };
	size_t rsize =
		(c->proto & VHU_PF(XEN_MMAP)) ? sizeof(regions[0]) : sizeof(struct vhu_mem_region);
	struct vhu_msg m;
	unsigned i;

	if (n == 0 || n > VHU_MAX_REGIONS)
		return -EINVAL;
	vhu_msg_init(&m, VHU_SET_MEM_TABLE, 0);
	vhu_msg_put(&m, &h, sizeof(h));
	for (i = 0; i < n; i++) {
		vhu_msg_put(&m, &regions[i], rsize);
		m.fds[i] = fds[i];
	}
	m.nfds = n;
	return vhu_request(c, &m, NULL);
}

static void put_config(struct vhu_msg *m, uint32_t off, const void *buf, uint32_t len)
{
	struct vhu_config_hdr h = { .offset = off, .size = len, .flags = 0 };

	vhu_msg_put(m, &h, sizeof(h));
	vhu_msg_put(m, buf, len);
}

int vhu_get_config(struct vhu_conn *c, uint32_t off, void *buf, uint32_t len)
{
	struct vhu_msg m, r;
	int err;

	if (!range_ok(off, len, VHU_MAX_CONFIG))
		return -EINVAL;
	vhu_msg_init(&m, VHU_GET_CONFIG, 0);
	memset(buf, 0, len);
	put_config(&m, off, buf, len);
	err = vhu_request(c, &m, &r);
	if (err < 0)
		return err;
	if (r.hdr.size == 0) {
		log_warn_rl("%s: back-end refused GET_CONFIG (%u bytes at %u)", c->name, len, off);
		return -EIO;
	}
	memcpy(buf, r.p.raw + sizeof(struct vhu_config_hdr), len);
	return 0;
}

int vhu_set_config(struct vhu_conn *c, uint32_t off, const void *buf, uint32_t len)
{
	struct vhu_msg m;

	if (!range_ok(off, len, VHU_MAX_CONFIG))
		return -EINVAL;
	vhu_msg_init(&m, VHU_SET_CONFIG, 0);
	put_config(&m, off, buf, len);
	return vhu_request(c, &m, NULL);
}

int vhu_get_inflight_fd(struct vhu_conn *c, uint16_t num_queues, uint16_t queue_size,
			struct vhu_inflight *ret, int *ret_fd)
{
	struct vhu_inflight in = { .num_queues = num_queues, .queue_size = queue_size };
	struct vhu_msg m, r;
	int err;

	vhu_msg_init(&m, VHU_GET_INFLIGHT_FD, 0);
	vhu_msg_put(&m, &in, sizeof(in));
	err = vhu_request(c, &m, &r);
	if (err < 0)
		return err;
	/* bounded: one descriptor state per entry of every queue, far below 1 GiB */
	if (r.p.inflight.mmap_size == 0 || r.p.inflight.mmap_size > (1ULL << 30))
		return content_error(c, &r, "GET_INFLIGHT_FD: implausible mmap_size");
	*ret = r.p.inflight;
	*ret_fd = r.fds[0];
	return 0;
}

/* A request whose payload (possibly empty) travels with exactly one fd. */
static int request_with_fd(struct vhu_conn *c, enum vhu_req req, const void *p, size_t len, int fd)
{
	struct vhu_msg m;

	vhu_msg_init(&m, req, 0);
	if (len)
		vhu_msg_put(&m, p, len);
	m.fds[0] = fd;
	m.nfds = 1;
	return vhu_request(c, &m, NULL);
}

int vhu_set_inflight_fd(struct vhu_conn *c, const struct vhu_inflight *in, int fd)
{
	return request_with_fd(c, VHU_SET_INFLIGHT_FD, in, sizeof(*in), fd);
}

int vhu_set_backend_req_fd(struct vhu_conn *c, int fd)
{
	return request_with_fd(c, VHU_SET_BACKEND_REQ_FD, NULL, 0, fd);
}

int vhu_gpu_set_socket(struct vhu_conn *c, int fd)
{
	return request_with_fd(c, VHU_GPU_SET_SOCKET, NULL, 0, fd);
}

int vhu_set_features(struct vhu_conn *c, uint64_t features)
{
	if ((c->proto & VHU_PF(REPLY_ACK)) && (features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		c->acks = true;
	return vhu_send_u64(c, VHU_SET_FEATURES, features);
}

int vhu_get_shmem_config(struct vhu_conn *c, struct vhu_shmem_config *ret)
{
	struct vhu_msg m, r;
	int err;

	vhu_msg_init(&m, VHU_GET_SHMEM_CONFIG, 0);
	err = vhu_request(c, &m, &r);
	if (err == 0)
		memcpy(ret, &r.p.shmem_config, sizeof(*ret)); /* 2056 bytes: the table checked */
	return err;
}

static unsigned shmem_bit(const struct vhu_conn *c)
{
	return c->shmem_bit ? c->shmem_bit : VHU_PF_SHMEM;
}

/*
 * Protocol features between the wire and our view (FACTS 3): with shmem_bit 21 the
 * back-end's bit 21 is SHMEM (rust-vmm vhost <= 0.16) and its bit 22 means nothing we
 * know; otherwise the two views are the same.
 */
static uint64_t proto_from_wire(const struct vhu_conn *c, uint64_t wire)
{
	uint64_t shm = 1ULL << shmem_bit(c);
	uint64_t canon = wire & ~(VHU_PF(GPA_ADDRESSES) | VHU_PF(SHMEM));

	if (shmem_bit(c) == VHU_PF_SHMEM)
		return wire;
	return canon | ((wire & shm) ? VHU_PF(SHMEM) : 0);
}

static uint64_t proto_to_wire(const struct vhu_conn *c, uint64_t canon)
{
	uint64_t wire = canon & ~(VHU_PF(GPA_ADDRESSES) | VHU_PF(SHMEM));

	if (shmem_bit(c) == VHU_PF_SHMEM)
		return canon;
	return wire | ((canon & VHU_PF(SHMEM)) ? 1ULL << shmem_bit(c) : 0);
}

static void log_proto_offer(struct vhu_conn *c, uint64_t wire)
{
	if ((wire & VHU_PF(GPA_ADDRESSES)) && shmem_bit(c) == VHU_PF_SHMEM)
		log_info("%s: back-end offers protocol bit 21 (GPA_ADDRESSES upstream, SHMEM in "
			 "rust-vmm vhost <= 0.16; FACTS 3): not negotiated (shmem-bit=21 takes it "
			 "as SHMEM)",
			 c->name);
	else if ((wire & VHU_PF(GPA_ADDRESSES)) && shmem_bit(c) != VHU_PF_SHMEM)
		log_info("%s: back-end's protocol bit 21 taken as SHMEM (shmem-bit=21)", c->name);
	if ((c->proto_offered & VHU_PF(SHMEM)) &&
	    (c->proto_offered & (VHU_PF(BACKEND_REQ) | VHU_PF(BACKEND_SEND_FD))) !=
		    (VHU_PF(BACKEND_REQ) | VHU_PF(BACKEND_SEND_FD)))
		log_info("%s: back-end offers SHMEM without BACKEND_REQ and BACKEND_SEND_FD: "
			 "not negotiated",
			 c->name);
}

/* What we ack: offered & want, SHMEM only with its channel and fds. */
static uint64_t proto_ack(const struct vhu_conn *c, uint64_t want)
{
	uint64_t ack = c->proto_offered & want;
	uint64_t shm_needs = VHU_PF(BACKEND_REQ) | VHU_PF(BACKEND_SEND_FD);

	if ((ack & shm_needs) != shm_needs)
		ack &= ~VHU_PF(SHMEM);
	return ack;
}

int vhu_negotiate(struct vhu_conn *c, uint64_t want, uint64_t require)
{
	uint64_t wire;
	int r;

	/* FACTS 5: GET_FEATURES first (rust-vmm back-ends decide about acks on it). */
	if (c->hello) { /* sent by vhu_hello(): its reply is in, read it */
		struct vhu_msg m, reply;

		c->hello = false;
		vhu_msg_init(&m, VHU_GET_FEATURES, 0);
		r = request_finish(c, &m, &reply);
		if (r == 0)
			c->features = reply.p.u64;
	} else {
		r = vhu_get_u64(c, VHU_GET_FEATURES, &c->features);
	}
	if (r < 0)
		return r;
	r = vhu_send_none(c, VHU_SET_OWNER);
	if (r < 0)
		return r;
	if (c->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		r = vhu_get_u64(c, VHU_GET_PROTOCOL_FEATURES, &wire);
		if (r < 0)
			return r;
		c->proto_offered = proto_from_wire(c, wire);
		log_proto_offer(c, wire);
		if ((c->proto_offered & require) != require) {
			log_warn("%s: back-end protocol features 0x%" PRIx64 " lack 0x%" PRIx64,
				 c->name, c->proto_offered, require & ~c->proto_offered);
			return -ENOTSUP;
		}
		r = vhu_send_u64(c, VHU_SET_PROTOCOL_FEATURES,
				 proto_to_wire(c, proto_ack(c, want)));
		if (r < 0)
			return r;
		c->proto = proto_ack(c, want);
	} else if (require) {
		log_warn("%s: back-end offers no protocol features (bit 30), needed 0x%" PRIx64,
			 c->name, require);
		return -ENOTSUP;
	}
	if (c->proto & VHU_PF(MQ)) {
		r = vhu_get_u64(c, VHU_GET_QUEUE_NUM, &c->queue_num);
		if (r < 0)
			return r;
	}
	log_debug("%s: back-end features 0x%" PRIx64 ", protocol 0x%" PRIx64 " (acked 0x%" PRIx64
		  "), queues %" PRIu64,
		  c->name, c->features, c->proto_offered, c->proto, c->queue_num);
	return 0;
}

/* --- the back-end channel --- */

int vhu_backend_decide(uint64_t proto, struct vhu_msg *m, bool *ret_reply, uint64_t *ret_val)
{
	int r = vhu_check_backend_req(proto, m);
	int call = 0;

	*ret_reply = (proto & VHU_PF(REPLY_ACK)) && (m->hdr.flags & VHU_FLAG_NEED_REPLY);
	*ret_val = 1; /* failed, unless handled below */
	/* Only an accepted SHMEM_MAP keeps its fd (exactly one: the table checked). */
	if (r < 0 || m->hdr.request != VHU_B_SHMEM_MAP || !(proto & VHU_PF(SHMEM)))
		vhu_msg_close_fds(m);
	if (r == -ENOTSUP) {
		log_debug("back-end request %u: unknown, answered with an error", m->hdr.request);
		return 0;
	}
	if (r < 0)
		return r;
	switch (m->hdr.request) {
	case VHU_B_CONFIG_CHANGE_MSG:
	case VHU_B_VRING_CALL:
	case VHU_B_VRING_ERR:
		*ret_val = 0;
		call = (int)m->hdr.request;
		break;
	case VHU_B_SHMEM_MAP:
	case VHU_B_SHMEM_UNMAP:
		if (!(proto & VHU_PF(SHMEM))) {
			log_debug("back-end request %s without SHMEM negotiated: refused",
				  vhu_breq_name(m->hdr.request));
			break;
		}
		*ret_val = 0; /* the handler's shmem_prepare decides */
		call = (int)m->hdr.request;
		break;
	default:
		/* IOTLB, host notifiers, shared objects: not served. */
		log_debug("back-end request %s: not supported, answered with an error",
			  vhu_breq_name(m->hdr.request));
		break;
	}
	return call;
}

/* Step 1 of SHMEM_MAP/UNMAP: the handler checks and prepares (taking MAP's fd). */
static int shmem_prepare(struct vhu_backend_handler *h, struct vhu_msg *m)
{
	int fd = m->nfds ? m->fds[0] : -1;

	m->nfds = 0; /* the fd is the handler's now */
	if (!h->ops->shmem_prepare || !h->ops->shmem_commit) {
		if (fd >= 0)
			close(fd);
		return -ENOTSUP;
	}
	return h->ops->shmem_prepare(h, m->hdr.request, &m->p.shmem_map, fd);
}

static void call_op(struct vhu_backend_handler *h, const struct vhu_msg *m, int call)
{
	switch (call) {
	case VHU_B_CONFIG_CHANGE_MSG:
		h->ops->config_changed(h);
		break;
	case VHU_B_VRING_CALL:
		h->ops->vring_call(h, m->p.state.index);
		break;
	case VHU_B_VRING_ERR:
		h->ops->vring_err(h, m->p.state.index);
		break;
	case VHU_B_SHMEM_MAP:
	case VHU_B_SHMEM_UNMAP:
		h->ops->shmem_commit(h, true);
		break;
	default:
		break;
	}
}

int vhu_backend_serve(int fd, uint64_t proto, int timeout_ms, struct vhu_backend_handler *h)
{
	struct vhu_msg m;
	bool reply;
	uint64_t val;
	int call, r;

	r = vhu_msg_recv(fd, timeout_ms, &m);
	if (r < 0)
		return r;
	call = vhu_backend_decide(proto, &m, &reply, &val);
	if ((call == VHU_B_SHMEM_MAP || call == VHU_B_SHMEM_UNMAP) && shmem_prepare(h, &m) < 0) {
		/* refused: nothing was prepared, nothing to commit */
		log_warn_rl("%s: back-end request %s refused (G_MESSAGES_DEBUG=vhu says why)",
			    h->name, vhu_breq_name(m.hdr.request));
		val = 1;
		call = 0;
	} else if (call < 0) {
		log_warn_rl("%s: malformed back-end request %u (%s): refused", h->name,
			    m.hdr.request, vhu_breq_name(m.hdr.request));
		val = 1;
	} else if (val) {
		log_warn_rl("%s: back-end request %u (%s) not supported: refused", h->name,
			    m.hdr.request, vhu_breq_name(m.hdr.request));
	}
	if (reply) { /* exactly once, before anything the request causes (FACTS 8, 18) */
		r = vhu_send_backend_ack(fd, &m, val, timeout_ms);
		if (r < 0) {
			if (call == VHU_B_SHMEM_MAP || call == VHU_B_SHMEM_UNMAP)
				h->ops->shmem_commit(h, false);
			return r;
		}
	}
	call_op(h, &m, call);
	return 0;
}

/* --- sockets --- */

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int vhu_socket_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	r = unix_addr(path, &sa);
	if (r < 0)
		return r;
	/*
	 * Non-blocking: a unix connect completes at once or fails, except that a blocking one
	 * waits for ever while the listener's backlog is full. Connections the listener never
	 * accepts stay in it even after we close them, so a back-end that stopped accepting (a
	 * stopped process) fills it after a few retries: -EAGAIN then, like ECONNREFUSED.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vhu_socket_listen(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	r = unix_addr(path, &sa);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of an earlier run */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vhu_socket_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return fd;
}
