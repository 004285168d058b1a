/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user wire layer: the message table, framing and the checks.
 *
 * Trust boundary: everything read from the socket comes from the back-end, a separate
 * process we do not trust. vhu_msg_recv() bounds the size before reading the payload,
 * takes at most VHU_MAX_FDS fds and closes every fd it received on every error path;
 * vhu_check_reply() and vhu_check_backend_req() hold each message against its row of
 * devices/vhu-msg.def before anybody reads a field of it. Nothing here aborts.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/vhu-proto.h"

enum vhu_size_rule {
	VHU_SZ_EXACT,
	VHU_SZ_MEMTABLE,
	VHU_SZ_MEMREG,
	VHU_SZ_CONFIG,
	VHU_SZ_ANY,
};

enum vhu_reply_kind {
	VHU_RPL_NONE,
	VHU_RPL_NEVER,
	VHU_RPL_U64,
	VHU_RPL_FIXED,
	VHU_RPL_ANY,
	VHU_RPL_ECHO,
};

enum vhu_fd_rule {
	VHU_FD_NONE,
	VHU_FD_ONE,
	VHU_FD_REGIONS,
	VHU_FD_VRING,
	VHU_FD_OPTIONAL,
};

struct vhu_row {
	const char *name;
	uint32_t id;
	enum vhu_size_rule size_rule;
	uint32_t size;
	enum vhu_reply_kind reply;
	uint32_t reply_size;
	enum vhu_fd_rule fds;
	enum vhu_fd_rule reply_fds;
};

static const struct vhu_row req_rows[] = {
#define VHU_REQ(n, id_, sz_rule, sz, rpl, rpl_sz, fd, rfd) \
	{ .name = #n,                                      \
	  .id = id_,                                       \
	  .size_rule = VHU_SZ_##sz_rule,                   \
	  .size = sz,                                      \
	  .reply = VHU_RPL_##rpl,                          \
	  .reply_size = rpl_sz,                            \
	  .fds = VHU_FD_##fd,                              \
	  .reply_fds = VHU_FD_##rfd },
#define VHU_BREQ(...)
#include "devices/vhu-msg.def"
#undef VHU_REQ
#undef VHU_BREQ
};

static const struct vhu_row breq_rows[] = {
#define VHU_REQ(...)
#define VHU_BREQ(n, id_, sz_rule, sz, fd) \
	{ .name = #n, .id = id_, .size_rule = VHU_SZ_##sz_rule, .size = sz, .fds = VHU_FD_##fd },
#include "devices/vhu-msg.def"
#undef VHU_REQ
#undef VHU_BREQ
};

static const struct vhu_row *find_row(const struct vhu_row *rows, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}

static const struct vhu_row *req_row(uint32_t id)
{
	return find_row(req_rows, ARRAY_SIZE(req_rows), id);
}

static const struct vhu_row *breq_row(uint32_t id)
{
	return find_row(breq_rows, ARRAY_SIZE(breq_rows), id);
}

const char *vhu_req_name(uint32_t id)
{
	const struct vhu_row *r = req_row(id);

	return r ? r->name : "unknown";
}

const char *vhu_breq_name(uint32_t id)
{
	const struct vhu_row *r = breq_row(id);

	return r ? r->name : "unknown";
}

bool vhu_req_known(uint32_t id)
{
	return req_row(id) != NULL;
}

bool vhu_req_has_reply(uint32_t id)
{
	const struct vhu_row *r = req_row(id);

	return r && r->reply != VHU_RPL_NONE && r->reply != VHU_RPL_NEVER;
}

bool vhu_req_may_ack(uint32_t id)
{
	const struct vhu_row *r = req_row(id);

	return r && r->reply == VHU_RPL_NONE;
}

void vhu_msg_init(struct vhu_msg *m, uint32_t request, uint32_t flags)
{
	m->hdr.request = request;
	m->hdr.flags = VHU_VERSION | flags;
	m->hdr.size = 0;
	m->nfds = 0;
}

void vhu_msg_put(struct vhu_msg *m, const void *data, size_t len)
{
	if (len > VHU_MAX_PAYLOAD - m->hdr.size)
		len = VHU_MAX_PAYLOAD - m->hdr.size; /* our own bug; the check refuses it */
	memcpy(m->p.raw + m->hdr.size, data, len);
	m->hdr.size += (uint32_t)len;
}

void vhu_msg_put_u64(struct vhu_msg *m, uint64_t v)
{
	vhu_msg_put(m, &v, sizeof(v));
}

void vhu_msg_close_fds(struct vhu_msg *m)
{
	unsigned i;

	if (!m)
		return;
	for (i = 0; i < m->nfds && i < VHU_MAX_FDS; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/* --- checks --- */

#define proto_fail(...)                 \
	({                              \
		log_debug(__VA_ARGS__); \
		-EPROTO;                \
	})

static size_t region_size(uint64_t proto)
{
	return (proto & VHU_PF(XEN_MMAP)) ? sizeof(struct vhu_mem_region_xen)
					  : sizeof(struct vhu_mem_region);
}

/* The payload size of m against a size rule; *ret_regions for MEMTABLE. */
static int check_size(uint64_t proto, const struct vhu_row *r, const struct vhu_msg *m,
		      unsigned *ret_regions)
{
	uint32_t size = m->hdr.size;
	struct vhu_mem_table_hdr mt;
	struct vhu_config_hdr ch;

	switch (r->size_rule) {
	case VHU_SZ_EXACT:
		return size == r->size ? 0 : -EPROTO;
	case VHU_SZ_ANY:
		return size <= r->size ? 0 : -EPROTO;
	case VHU_SZ_MEMREG:
		return size == 8 + region_size(proto) ? 0 : -EPROTO;
	case VHU_SZ_MEMTABLE:
		if (size < sizeof(mt))
			return -EPROTO;
		memcpy(&mt, m->p.raw, sizeof(mt));
		if (mt.nregions == 0 || mt.nregions > VHU_MAX_REGIONS ||
		    size != sizeof(mt) + mt.nregions * region_size(proto))
			return -EPROTO;
		*ret_regions = mt.nregions;
		return 0;
	case VHU_SZ_CONFIG:
		if (size < sizeof(ch))
			return -EPROTO;
		memcpy(&ch, m->p.raw, sizeof(ch));
		if (ch.size > VHU_MAX_CONFIG || size != sizeof(ch) + ch.size ||
		    !range_ok(ch.offset, ch.size, VHU_MAX_CONFIG))
			return -EPROTO;
		return 0;
	}
	return -EPROTO;
}

static int check_fds(enum vhu_fd_rule rule, const struct vhu_msg *m, unsigned regions)
{
	switch (rule) {
	case VHU_FD_NONE:
		return m->nfds == 0 ? 0 : -EPROTO;
	case VHU_FD_ONE:
		return m->nfds == 1 ? 0 : -EPROTO;
	case VHU_FD_REGIONS:
		return m->nfds == regions ? 0 : -EPROTO;
	case VHU_FD_OPTIONAL:
		return m->nfds <= 1 ? 0 : -EPROTO;
	case VHU_FD_VRING:
		/* the u64 payload was size-checked (8 bytes) before */
		return m->nfds == ((m->p.u64 & VHU_VRING_NOFD_MASK) ? 0u : 1u) ? 0 : -EPROTO;
	}
	return -EPROTO;
}

static bool version_ok(uint32_t flags, uint32_t allowed)
{
	return (flags & VHU_VERSION_MASK) == VHU_VERSION &&
	       !(flags & ~(VHU_VERSION_MASK | allowed));
}

int vhu_check_request(uint64_t proto, const struct vhu_msg *m)
{
	const struct vhu_row *r = req_row(m->hdr.request);
	unsigned regions = 0;

	if (!r)
		return proto_fail("vhost-user: request %u: not in the table", m->hdr.request);
	if (!version_ok(m->hdr.flags, VHU_FLAG_NEED_REPLY))
		return proto_fail("%s: bad flags 0x%x", r->name, m->hdr.flags);
	if (check_size(proto, r, m, &regions) < 0)
		return proto_fail("%s: bad payload size %u", r->name, m->hdr.size);
	if (check_fds(r->fds, m, regions) < 0)
		return proto_fail("%s: %u fds break the table's rule", r->name, m->nfds);
	return 0;
}

static int check_reply_size(const struct vhu_row *r, const struct vhu_msg *req,
			    const struct vhu_msg *reply, bool ack)
{
	uint32_t size = reply->hdr.size;

	if (ack)
		return size == sizeof(uint64_t) ? 0 : -EPROTO;
	switch (r->reply) {
	case VHU_RPL_U64:
		return size == sizeof(uint64_t) ? 0 : -EPROTO;
	case VHU_RPL_FIXED:
		return size == r->reply_size ? 0 : -EPROTO;
	case VHU_RPL_ANY:
		return size <= r->reply_size ? 0 : -EPROTO;
	case VHU_RPL_ECHO:
		/* same header and size back, or nothing at all (the back-end refused) */
		if (size == 0)
			return 0;
		if (size != req->hdr.size)
			return -EPROTO;
		return memcmp(&reply->p.config, &req->p.config, sizeof(struct vhu_config_hdr))
			       ? -EPROTO
			       : 0;
	case VHU_RPL_NONE:
	case VHU_RPL_NEVER:
		break;
	}
	return -EPROTO;
}

int vhu_check_reply(uint64_t proto, const struct vhu_msg *req, const struct vhu_msg *reply)
{
	const struct vhu_row *r = req_row(req->hdr.request);
	bool ack;

	if (!r)
		return proto_fail("vhost-user: reply to unknown request %u", req->hdr.request);
	ack = r->reply == VHU_RPL_NONE;
	if (ack && !(req->hdr.flags & VHU_FLAG_NEED_REPLY))
		return proto_fail("%s: a reply that nobody asked for", r->name);
	if (reply->hdr.request != req->hdr.request)
		return proto_fail("%s: reply carries request id %u (%s)", r->name,
				  reply->hdr.request, vhu_req_name(reply->hdr.request));
	if (!(reply->hdr.flags & VHU_FLAG_REPLY) || !version_ok(reply->hdr.flags, VHU_FLAG_REPLY))
		return proto_fail("%s: reply flags 0x%x (want version 1 and REPLY only)", r->name,
				  reply->hdr.flags);
	if (check_reply_size(r, req, reply, ack) < 0)
		return proto_fail("%s: reply payload of %u bytes breaks the table", r->name,
				  reply->hdr.size);
	if (check_fds(ack ? VHU_FD_NONE : r->reply_fds, reply, 0) < 0)
		return proto_fail("%s: reply with %u fds breaks the table", r->name, reply->nfds);
	return 0;
}

int vhu_check_backend_req(uint64_t proto, const struct vhu_msg *m)
{
	const struct vhu_row *r = breq_row(m->hdr.request);
	unsigned regions = 0;

	if (!version_ok(m->hdr.flags, VHU_FLAG_NEED_REPLY))
		return proto_fail("back-end request %u: bad flags 0x%x", m->hdr.request,
				  m->hdr.flags);
	if (m->nfds && !(proto & VHU_PF(BACKEND_SEND_FD)))
		return proto_fail("back-end request %u: fds without BACKEND_SEND_FD",
				  m->hdr.request);
	if (!r)
		return -ENOTSUP;
	if (check_size(proto, r, m, &regions) < 0)
		return proto_fail("%s: bad payload size %u", r->name, m->hdr.size);
	if (check_fds(r->fds, m, regions) < 0)
		return proto_fail("%s: %u fds break the table's rule", r->name, m->nfds);
	return 0;
}

/* --- framing --- */

static int64_t deadline_after(int timeout_ms)
{
	return g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
}

/* Wait for `events` until the deadline: 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - g_get_monotonic_time();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0; /* readable, writable, or HUP/ERR: the next call says which */
		if (left == 0)
			return -ETIMEDOUT;
	}
}

int vhu_msg_send(int sock, const struct vhu_msg *m, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	const uint8_t *parts[2] = { (const uint8_t *)&m->hdr, m->p.raw };
	size_t lens[2] = { sizeof(m->hdr), m->hdr.size };
	bool fds_sent = m->nfds == 0;
	char cbuf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];

	if (m->nfds > VHU_MAX_FDS || m->hdr.size > VHU_MAX_PAYLOAD)
		return -EINVAL;
	while (lens[0] + lens[1]) {
		struct iovec iov[2] = { { (void *)parts[0], lens[0] },
					{ (void *)parts[1], lens[1] } };
		struct msghdr mh = { .msg_iov = lens[0] ? iov : iov + 1,
				     .msg_iovlen = lens[0] ? 2 : 1 };
		ssize_t n;
		size_t done;
		int r;

		if (!fds_sent) {
			struct cmsghdr *c;

			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
			memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_fd(sock, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ? -errno : -EPIPE;
		fds_sent = true;
		done = (size_t)n;
		if (done >= lens[0]) {
			done -= lens[0];
			lens[0] = 0;
			parts[1] += done;
			lens[1] -= done;
		} else {
			parts[0] += done;
			lens[0] -= done;
		}
	}
	return 0;
}

/* Take the fds of a control message into m (closing those beyond VHU_MAX_FDS). */
static int take_fds(struct msghdr *mh, struct vhu_msg *m)
{
	struct cmsghdr *c;
	int r = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int fds[VHU_MAX_FDS + 1];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > ARRAY_SIZE(fds))
			n = ARRAY_SIZE(fds); /* cannot happen: the buffer holds no more */
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (m->nfds < VHU_MAX_FDS) {
				m->fds[m->nfds++] = fds[i];
			} else {
				close(fds[i]);
				r = -EPROTO;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		r = -EPROTO; /* fds were dropped by the kernel: the message is not whole */
	return r;
}

/* Read exactly len bytes (fds collected into m) before the deadline. */
static int read_full(int sock, void *buf, size_t len, struct vhu_msg *m, int64_t deadline,
		     bool at_boundary)
{
	size_t got = 0;

	while (got < len) {
		char cbuf[CMSG_SPACE(sizeof(int) * (VHU_MAX_FDS + 1))];
		struct iovec iov = { (uint8_t *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_fd(sock, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return errno == ECONNRESET ? -ECONNRESET : -EPROTO;
		r = take_fds(&mh, m);
		if (r < 0)
			return r;
		if (n == 0)
			return at_boundary && got == 0 ? -ECONNRESET : -EPROTO; /* short message */
		got += (size_t)n;
	}
	return 0;
}

int vhu_msg_recv(int sock, int timeout_ms, struct vhu_msg *m)
{
	int64_t deadline = deadline_after(timeout_ms);
	int r;

	m->nfds = 0;
	r = read_full(sock, &m->hdr, sizeof(m->hdr), m, deadline, true);
	if (r < 0)
		goto err;
	if ((m->hdr.flags & VHU_VERSION_MASK) != VHU_VERSION || m->hdr.size > VHU_MAX_PAYLOAD) {
		log_debug("vhost-user: message %u with flags 0x%x and %u payload bytes: refused",
			  m->hdr.request, m->hdr.flags, m->hdr.size);
		r = -EPROTO;
		goto err;
	}
	r = read_full(sock, m->p.raw, m->hdr.size, m, deadline, false);
	if (r < 0)
		goto err;
	return 0;
err:
	vhu_msg_close_fds(m);
	return r;
}

int vhu_send_backend_ack(int sock, const struct vhu_msg *req, uint64_t val, int timeout_ms)
{
	struct vhu_msg m;

	vhu_msg_init(&m, req->hdr.request, VHU_FLAG_REPLY);
	vhu_msg_put_u64(&m, val);
	return vhu_msg_send(sock, &m, timeout_ms);
}
