/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user wire layer and connection (devices/vhu-proto.h, devices/vhu-conn.h)
 * against a peer on a socketpair. The peer side is written by hand here (its own
 * parsing, not the code under test): replies are queued before the request is sent
 * (the socket buffer holds them), so everything runs on one thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <glib.h>

#include "devices/vhu-conn.h"

/* --- the hand-written peer --- */

struct raw {
	uint32_t req, flags, size;
	uint8_t payload[VHU_MAX_PAYLOAD];
	int fds[16];
	unsigned nfds;
};

static void peer_send(int fd, uint32_t req, uint32_t flags, const void *p, size_t len,
		      const int *fds, unsigned nfds)
{
	uint32_t hdr[3] = { req, flags, (uint32_t)len };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)p, len } };
	char cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	g_assert_cmpint(sendmsg(fd, &mh, 0), ==, (ssize_t)(sizeof(hdr) + len));
}

static void peer_reply_u64(int fd, uint32_t req, uint64_t v)
{
	peer_send(fd, req, VHU_VERSION | VHU_FLAG_REPLY, &v, sizeof(v), NULL, 0);
}

/* Read one whole message (fds collected) from the front-end. */
static void peer_read(int fd, struct raw *m)
{
	uint8_t buf[12];
	char cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	memset(m, 0, sizeof(*m));
	g_assert_cmpint(n, ==, 12);
	memcpy(&m->req, buf, 4);
	memcpy(&m->flags, buf + 4, 4);
	memcpy(&m->size, buf + 8, 4);
	g_assert_cmpuint(m->size, <=, VHU_MAX_PAYLOAD);
	if (m->size)
		g_assert_cmpint(recv(fd, m->payload, m->size, MSG_DONTWAIT), ==, m->size);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		memcpy(m->fds + m->nfds, CMSG_DATA(c), k * sizeof(int));
		m->nfds += k;
	}
}

static void raw_close(struct raw *m)
{
	unsigned i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

static bool peer_empty(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* --- fixture: a connection on one end of a socketpair --- */

struct fx {
	struct vhu_conn c;
	int peer;
	unsigned downs;
	int down_err;
};

static void fx_down(struct vhu_conn *c, int err)
{
	struct fx *f = (struct fx *)c; /* c is the first member */

	f->downs++;
	f->down_err = err;
}

static const struct vhu_conn_ops fx_ops = { .down = fx_down };

static void fx_setup(struct fx *f, gconstpointer data)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	vhu_conn_init(&f->c, &fx_ops, "test/vhu", 300);
	vhu_conn_attach(&f->c, sv[0]);
	f->peer = sv[1];
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vhu_conn_close(&f->c);
	close(f->peer);
}

#define FX_TEST(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

/* --- the table --- */

static void test_table(void)
{
	g_assert_cmpstr(vhu_req_name(1), ==, "GET_FEATURES");
	g_assert_cmpstr(vhu_req_name(21), ==, "SET_BACKEND_REQ_FD");
	g_assert_cmpstr(vhu_req_name(44), ==, "GET_SHMEM_CONFIG");
	g_assert_cmpstr(vhu_req_name(45), ==, "unknown");
	g_assert_cmpstr(vhu_breq_name(2), ==, "CONFIG_CHANGE_MSG");
	g_assert_cmpstr(vhu_breq_name(9), ==, "SHMEM_MAP");
	g_assert_cmpstr(vhu_breq_name(10), ==, "SHMEM_UNMAP");
	g_assert_cmpint(VHU_GET_INFLIGHT_FD, ==, 31);
	g_assert_cmpint(VHU_RESET_DEVICE, ==, 34);
	g_assert_cmpint(VHU_B_VRING_CALL, ==, 4);
	g_assert_true(vhu_req_has_reply(VHU_GET_VRING_BASE));
	g_assert_true(vhu_req_has_reply(VHU_GET_CONFIG));
	g_assert_false(vhu_req_has_reply(VHU_SET_MEM_TABLE));
	g_assert_false(vhu_req_known(0));
	g_assert_false(vhu_req_known(1000));
}

static void test_check_request(void)
{
	struct vhu_msg m;

	vhu_msg_init(&m, VHU_SET_FEATURES, 0);
	g_assert_cmpint(vhu_check_request(0, &m), ==, -EPROTO); /* 0 bytes, wants 8 */
	vhu_msg_put_u64(&m, 1);
	g_assert_cmpint(vhu_check_request(0, &m), ==, 0);
	m.nfds = 1;
	m.fds[0] = 0;
	g_assert_cmpint(vhu_check_request(0, &m), ==, -EPROTO);
	vhu_msg_init(&m, VHU_SET_VRING_KICK, 0);
	vhu_msg_put_u64(&m, 3);
	g_assert_cmpint(vhu_check_request(0, &m), ==, -EPROTO); /* fd missing */
	m.p.u64 = 3 | VHU_VRING_NOFD_MASK;
	g_assert_cmpint(vhu_check_request(0, &m), ==, 0);
	vhu_msg_init(&m, 77, 0);
	g_assert_cmpint(vhu_check_request(0, &m), ==, -EPROTO);
}

/* --- request bytes --- */

static void expect_hdr(struct raw *m, uint32_t req, uint32_t flags, uint32_t size, unsigned nfds)
{
	g_assert_cmpuint(m->req, ==, req);
	g_assert_cmpuint(m->flags, ==, flags);
	g_assert_cmpuint(m->size, ==, size);
	g_assert_cmpuint(m->nfds, ==, nfds);
}

static void test_bytes_simple(struct fx *f, gconstpointer data)
{
	struct vhu_vring_addr a = {
		.index = 1, .desc = 0x1000, .used = 0x3000, .avail = 0x2000, .log = 0
	};
	struct raw m;
	uint64_t v = 0;
	uint32_t u;

	peer_reply_u64(f->peer, VHU_GET_FEATURES, 0x175007e46ULL);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, 0);
	g_assert_cmphex(v, ==, 0x175007e46ULL);
	peer_read(f->peer, &m);
	expect_hdr(&m, 1, 0x1, 0, 0);

	g_assert_cmpint(vhu_send_u64(&f->c, VHU_SET_FEATURES, 0x100000000ULL), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 2, 0x1, 8, 0);
	memcpy(&v, m.payload, 8);
	g_assert_cmphex(v, ==, 0x100000000ULL);

	g_assert_cmpint(vhu_set_vring(&f->c, VHU_SET_VRING_NUM, 1, 256), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 8, 0x1, 8, 0);
	memcpy(&u, m.payload, 4);
	g_assert_cmpuint(u, ==, 1);
	memcpy(&u, m.payload + 4, 4);
	g_assert_cmpuint(u, ==, 256);

	g_assert_cmpint(vhu_set_vring_addr(&f->c, &a), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 9, 0x1, 40, 0);
	memcpy(&v, m.payload + 8, 8);
	g_assert_cmphex(v, ==, 0x1000); /* desc @8 */
	memcpy(&v, m.payload + 16, 8);
	g_assert_cmphex(v, ==, 0x3000); /* used @16 (FACTS 6) */
	memcpy(&v, m.payload + 24, 8);
	g_assert_cmphex(v, ==, 0x2000); /* avail @24 */
	g_assert_true(peer_empty(f->peer));
}

static void test_bytes_vring_fd(struct fx *f, gconstpointer data)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct raw m;
	uint64_t v;

	g_assert_cmpint(vhu_set_vring_fd(&f->c, VHU_SET_VRING_KICK, 2, efd), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 12, 0x1, 8, 1);
	memcpy(&v, m.payload, 8);
	g_assert_cmphex(v, ==, 2);
	raw_close(&m);
	g_assert_cmpint(vhu_set_vring_fd(&f->c, VHU_SET_VRING_CALL, 3, -1), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 13, 0x1, 8, 0);
	memcpy(&v, m.payload, 8);
	g_assert_cmphex(v, ==, 0x103);		     /* bit 8: no fd */
	g_assert_cmpint(fcntl(efd, F_GETFD), >=, 0); /* still ours */
	close(efd);
}

static void test_bytes_mem_table(struct fx *f, gconstpointer data)
{
	struct vhu_mem_region_xen r[2] = {
		{ 0x40000000, 0x8000000, 0x40000000, 0, 0x1, 7 },
		{ 0x200000000ULL, 0x1000000, 0x200000000ULL, 0, 0x1, 7 },
	};
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	uint32_t u;
	uint64_t v;
	struct raw m;

	/* 32-byte regions without XEN_MMAP (FACTS 7) */
	g_assert_cmpint(vhu_set_mem_table(&f->c, r, fds, 2), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 5, 0x1, 8 + 32 * 2, 2);
	memcpy(&u, m.payload, 4);
	g_assert_cmpuint(u, ==, 2);
	memcpy(&v, m.payload + 8 + 32, 8);
	g_assert_cmphex(v, ==, 0x200000000ULL);
	raw_close(&m);

	/* 40-byte regions with XEN_MMAP: flags @32, domid @36 (FACTS 9) */
	f->c.proto |= VHU_PF(XEN_MMAP);
	r[1].xen_mmap_flags = 0xa;
	g_assert_cmpint(vhu_set_mem_table(&f->c, r, fds, 2), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 5, 0x1, 8 + 40 * 2, 2);
	memcpy(&v, m.payload + 8 + 0, 8);
	g_assert_cmphex(v, ==, 0x40000000);
	memcpy(&v, m.payload + 8 + 16, 8);
	g_assert_cmphex(v, ==, 0x40000000); /* userspace_addr = gpa (FACTS 12) */
	memcpy(&v, m.payload + 8 + 24, 8);
	g_assert_cmphex(v, ==, 0); /* mmap_offset (FACTS 11) */
	memcpy(&u, m.payload + 8 + 32, 4);
	g_assert_cmphex(u, ==, 0x1);
	memcpy(&u, m.payload + 8 + 36, 4);
	g_assert_cmpuint(u, ==, 7);
	memcpy(&u, m.payload + 8 + 40 + 32, 4);
	g_assert_cmphex(u, ==, 0xa);
	raw_close(&m);
	g_assert_cmpint(vhu_set_mem_table(&f->c, r, fds, 0), ==, -EINVAL);
	g_assert_cmpint(vhu_set_mem_table(&f->c, r, fds, 9), ==, -EINVAL);
	close(fds[0]);
	close(fds[1]);
}

static void test_bytes_config(struct fx *f, gconstpointer data)
{
	uint8_t cfg[60], reply[12 + 60];
	struct vhu_config_hdr h = { 0, 60, 0 };
	struct raw m;
	uint64_t cap = 2048;

	memcpy(reply, &h, 12);
	memset(reply + 12, 0, 60);
	memcpy(reply + 12, &cap, 8);
	peer_send(f->peer, VHU_GET_CONFIG, VHU_VERSION | VHU_FLAG_REPLY, reply, sizeof(reply), NULL,
		  0);
	g_assert_cmpint(vhu_get_config(&f->c, 0, cfg, 60), ==, 0);
	g_assert_cmpmem(cfg, 8, &cap, 8);
	peer_read(f->peer, &m);
	expect_hdr(&m, 24, 0x1, 12 + 60, 0);
	g_assert_cmpmem(m.payload, 12, &h, 12);

	g_assert_cmpint(vhu_set_config(&f->c, 4, "\x01\x02", 2), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 25, 0x1, 12 + 2, 0);
	g_assert_cmpmem(m.payload + 12, 2, "\x01\x02", 2);
	g_assert_cmpint(vhu_get_config(&f->c, 200, cfg, 60), ==, -EINVAL); /* beyond 256 */
	/* refused: an empty reply is -EIO and the connection stays up */
	peer_send(f->peer, VHU_GET_CONFIG, VHU_VERSION | VHU_FLAG_REPLY, NULL, 0, NULL, 0);
	g_assert_cmpint(vhu_get_config(&f->c, 0, cfg, 60), ==, -EIO);
	g_assert_true(f->c.up);
	peer_read(f->peer, &m);
}

static void test_bytes_fd_requests(struct fx *f, gconstpointer data)
{
	struct vhu_inflight in = { 4096, 0, 1, 256, 0 }, got;
	int efd = eventfd(0, EFD_CLOEXEC), rfd = -1;
	struct raw m;

	g_assert_cmpint(vhu_set_backend_req_fd(&f->c, efd), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 21, 0x1, 0, 1);
	raw_close(&m);

	peer_send(f->peer, VHU_GET_INFLIGHT_FD, VHU_VERSION | VHU_FLAG_REPLY, &in, sizeof(in), &efd,
		  1);
	g_assert_cmpint(vhu_get_inflight_fd(&f->c, 1, 256, &got, &rfd), ==, 0);
	g_assert_cmpint(rfd, >=, 0);
	g_assert_cmpuint(got.mmap_size, ==, 4096);
	peer_read(f->peer, &m);
	expect_hdr(&m, 31, 0x1, 24, 0);
	g_assert_cmpint(vhu_set_inflight_fd(&f->c, &got, rfd), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 32, 0x1, 24, 1);
	raw_close(&m);
	close(rfd);
	close(efd);
}

/* --- acks --- */

static void test_acks(struct fx *f, gconstpointer data)
{
	struct raw m;
	uint64_t v;

	f->c.proto = VHU_PF(REPLY_ACK);
	/* no acks before SET_FEATURES with bit 30 (rust-vmm's rule, FACTS 5) */
	g_assert_cmpint(vhu_send_none(&f->c, VHU_SET_OWNER), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 3, 0x1, 0, 0);
	peer_reply_u64(f->peer, VHU_SET_FEATURES, 0);
	g_assert_cmpint(vhu_set_features(&f->c, (1ULL << 32) | (1ULL << 30)), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 2, 0x1 | VHU_FLAG_NEED_REPLY, 8, 0);
	/* from now on every request without a body of its own asks for an ack */
	peer_reply_u64(f->peer, VHU_SET_VRING_NUM, 0);
	g_assert_cmpint(vhu_set_vring(&f->c, VHU_SET_VRING_NUM, 0, 128), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 8, 0x9, 8, 0);
	/* GET_* carry no NEED_REPLY: their reply is the ack (FACTS 5) */
	peer_reply_u64(f->peer, VHU_GET_FEATURES, 5);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, 0);
	peer_read(f->peer, &m);
	expect_hdr(&m, 1, 0x1, 0, 0);
	/* a NACK fails the request, not the connection */
	peer_reply_u64(f->peer, VHU_SET_VRING_BASE, 1);
	g_assert_cmpint(vhu_set_vring(&f->c, VHU_SET_VRING_BASE, 0, 0), ==, -EIO);
	g_assert_true(f->c.up);
	g_assert_cmpuint(f->downs, ==, 0);
	peer_read(f->peer, &m);
}

/* --- reply checks: every one latches the connection --- */

static void expect_latched(struct fx *f, int err)
{
	uint64_t v;

	g_assert_false(f->c.up);
	g_assert_cmpuint(f->downs, ==, 1);
	g_assert_cmpint(f->down_err, ==, err);
	/* latched: the next request fails at once, nothing is sent */
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -ENOTCONN);
	g_assert_cmpuint(f->downs, ==, 1);
}

static void test_reply_wrong_id(struct fx *f, gconstpointer data)
{
	uint64_t v;

	peer_reply_u64(f->peer, VHU_GET_PROTOCOL_FEATURES, 1);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_wrong_size(struct fx *f, gconstpointer data)
{
	uint32_t small = 1;
	uint64_t v;

	peer_send(f->peer, VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, &small, 4, NULL, 0);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_no_reply_flag(struct fx *f, gconstpointer data)
{
	uint64_t v = 1;

	peer_send(f->peer, VHU_GET_FEATURES, VHU_VERSION, &v, 8, NULL, 0);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_bad_version(struct fx *f, gconstpointer data)
{
	uint64_t v = 1;

	peer_send(f->peer, VHU_GET_FEATURES, 0x2 | VHU_FLAG_REPLY, &v, 8, NULL, 0);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_extra_fd(struct fx *f, gconstpointer data)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	unsigned before;
	uint64_t v = 1;

	peer_send(f->peer, VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, &v, 8, &efd, 1);
	close(efd);
	before = open_fds();
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	/* the received fd was closed (the socket is closed by the latch owner later) */
	g_assert_cmpuint(open_fds(), ==, before);
	expect_latched(f, -EPROTO);
}

static void test_reply_missing_fd(struct fx *f, gconstpointer data)
{
	struct vhu_inflight in = { 4096, 0, 1, 256, 0 }, got;
	int rfd = -1;

	peer_send(f->peer, VHU_GET_INFLIGHT_FD, VHU_VERSION | VHU_FLAG_REPLY, &in, sizeof(in), NULL,
		  0);
	g_assert_cmpint(vhu_get_inflight_fd(&f->c, 1, 256, &got, &rfd), ==, -EPROTO);
	g_assert_cmpint(rfd, ==, -1);
	expect_latched(f, -EPROTO);
}

static void test_reply_short(struct fx *f, gconstpointer data)
{
	uint32_t hdr[3] = { VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 8 };
	uint64_t v;

	/* a header announcing 8 bytes, 3 of them, then the peer is gone */
	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, 12);
	g_assert_cmpint(write(f->peer, "abc", 3), ==, 3);
	shutdown(f->peer, SHUT_WR);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_short_header(struct fx *f, gconstpointer data)
{
	uint64_t v;

	g_assert_cmpint(write(f->peer, "\x01\x00\x00", 3), ==, 3);
	shutdown(f->peer, SHUT_WR);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_eof(struct fx *f, gconstpointer data)
{
	uint64_t v;

	shutdown(f->peer, SHUT_WR);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -ECONNRESET);
	expect_latched(f, -ECONNRESET);
}

static void test_reply_oversize(struct fx *f, gconstpointer data)
{
	uint32_t hdr[3] = { VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 1 << 20 };
	uint64_t v;

	g_assert_cmpint(write(f->peer, hdr, sizeof(hdr)), ==, 12);
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_timeout(struct fx *f, gconstpointer data)
{
	gint64 t0 = g_get_monotonic_time();
	uint64_t v;

	/* the peer never answers: -ETIMEDOUT within the bound (300 ms here) */
	g_assert_cmpint(vhu_get_u64(&f->c, VHU_GET_FEATURES, &v), ==, -ETIMEDOUT);
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 290 * 1000);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2000 * 1000);
	expect_latched(f, -ETIMEDOUT);
}

static void test_reply_timeout_ack(struct fx *f, gconstpointer data)
{
	/* acks on, the peer never acks: bounded too */
	f->c.proto = VHU_PF(REPLY_ACK);
	f->c.acks = true;
	g_assert_cmpint(vhu_set_vring(&f->c, VHU_SET_VRING_NUM, 0, 8), ==, -ETIMEDOUT);
	expect_latched(f, -ETIMEDOUT);
}

static void test_reply_vring_base_index(struct fx *f, gconstpointer data)
{
	struct vhu_vring_state s = { 1, 5 };
	uint32_t num = 0;

	peer_send(f->peer, VHU_GET_VRING_BASE, VHU_VERSION | VHU_FLAG_REPLY, &s, 8, NULL, 0);
	g_assert_cmpint(vhu_get_vring_base(&f->c, 1, &num), ==, 0);
	g_assert_cmpuint(num, ==, 5);
	peer_send(f->peer, VHU_GET_VRING_BASE, VHU_VERSION | VHU_FLAG_REPLY, &s, 8, NULL, 0);
	g_assert_cmpint(vhu_get_vring_base(&f->c, 0, &num), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_reply_config_echo(struct fx *f, gconstpointer data)
{
	uint8_t reply[12 + 8] = { 0 };
	struct vhu_config_hdr h = { 0, 8, 0 };
	uint8_t cfg[16];

	h.size = 8; /* the request asks for 16 */
	memcpy(reply, &h, 12);
	peer_send(f->peer, VHU_GET_CONFIG, VHU_VERSION | VHU_FLAG_REPLY, reply, sizeof(reply), NULL,
		  0);
	g_assert_cmpint(vhu_get_config(&f->c, 0, cfg, 16), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

static void test_send_dead_peer(struct fx *f, gconstpointer data)
{
	/* a dead peer is -EPIPE (MSG_NOSIGNAL: no SIGPIPE kills the test) */
	close(f->peer);
	f->peer = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(vhu_send_none(&f->c, VHU_SET_OWNER), ==, -EPIPE);
	expect_latched(f, -EPIPE);
}

/* --- negotiation --- */

static void test_negotiate_qsd(struct fx *f, gconstpointer data)
{
	uint64_t want = VHU_PF(MQ) | VHU_PF(REPLY_ACK) | VHU_PF(BACKEND_REQ) | VHU_PF(CONFIG) |
			VHU_PF(BACKEND_SEND_FD) | VHU_PF(RESET_DEVICE) | VHU_PF(STATUS);
	static const uint32_t order[] = { 1, 3, 15, 16, 17 };
	struct raw m;
	uint64_t v;
	unsigned i;

	/* qemu-storage-daemon (FACTS 32) */
	peer_reply_u64(f->peer, VHU_GET_FEATURES, 0x175007e46ULL);
	peer_reply_u64(f->peer, VHU_GET_PROTOCOL_FEATURES, 0x8f2b);
	peer_reply_u64(f->peer, VHU_GET_QUEUE_NUM, 1);
	g_assert_cmpint(vhu_negotiate(&f->c, want, 0), ==, 0);
	g_assert_cmphex(f->c.features, ==, 0x175007e46ULL);
	g_assert_cmphex(f->c.proto, ==, 0x629); /* MQ, REPLY_ACK, BACKEND_REQ, CONFIG, SEND_FD */
	g_assert_cmpuint(f->c.queue_num, ==, 1);
	g_assert_false(f->c.acks);
	for (i = 0; i < G_N_ELEMENTS(order); i++) {
		peer_read(f->peer, &m);
		g_assert_cmpuint(m.req, ==, order[i]);
		g_assert_cmpuint(m.flags, ==, 0x1); /* no NEED_REPLY during negotiation */
		if (m.req == VHU_SET_PROTOCOL_FEATURES) {
			memcpy(&v, m.payload, 8);
			g_assert_cmphex(v, ==, 0x629);
		}
	}
	g_assert_true(peer_empty(f->peer));
}

static void test_negotiate_require(struct fx *f, gconstpointer data)
{
	peer_reply_u64(f->peer, VHU_GET_FEATURES, 0x175007e46ULL);
	peer_reply_u64(f->peer, VHU_GET_PROTOCOL_FEATURES, 0x8f2b);
	g_assert_cmpint(vhu_negotiate(&f->c, ~0ULL, VHU_PF(XEN_MMAP)), ==, -ENOTSUP);
}

static void test_negotiate_no_bit30(struct fx *f, gconstpointer data)
{
	struct raw m;

	peer_reply_u64(f->peer, VHU_GET_FEATURES, 1ULL << 32);
	g_assert_cmpint(vhu_negotiate(&f->c, ~0ULL, 0), ==, 0);
	g_assert_cmphex(f->c.proto, ==, 0);
	peer_read(f->peer, &m);
	g_assert_cmpuint(m.req, ==, 1);
	peer_read(f->peer, &m);
	g_assert_cmpuint(m.req, ==, 3);
	g_assert_true(peer_empty(f->peer));
}

/*
 * vhu_hello: GET_FEATURES goes out before the socket is attached; once attached with
 * vhu_conn_attach_hello, vhu_negotiate reads that reply and does not ask again.
 */
static void test_negotiate_hello(struct fx *f, gconstpointer data)
{
	int sock = f->c.sock, sv[2];
	struct raw m;

	f->c.sock = -1; /* the fixture's socket, not attached yet */
	vhu_conn_close(&f->c);
	g_assert_cmpint(vhu_hello(sock, 300), ==, 0);
	peer_read(f->peer, &m);
	g_assert_cmpuint(m.req, ==, VHU_GET_FEATURES);
	g_assert_cmpuint(m.flags, ==, 0x1);
	g_assert_true(peer_empty(f->peer));
	peer_reply_u64(f->peer, VHU_GET_FEATURES, 1ULL << 32);
	vhu_conn_attach_hello(&f->c, sock);
	g_assert_cmpint(vhu_negotiate(&f->c, ~0ULL, 0), ==, 0);
	g_assert_cmphex(f->c.features, ==, 1ULL << 32);
	peer_read(f->peer, &m);
	g_assert_cmpuint(m.req, ==, VHU_SET_OWNER); /* GET_FEATURES was not sent again */
	g_assert_true(peer_empty(f->peer));
	/* a wrong reply to the hello latches like any other */
	vhu_conn_close(&f->c);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	close(f->peer);
	f->peer = sv[1];
	g_assert_cmpint(vhu_hello(sv[0], 300), ==, 0);
	peer_read(f->peer, &m);
	peer_reply_u64(f->peer, VHU_GET_PROTOCOL_FEATURES, 0);
	vhu_conn_attach_hello(&f->c, sv[0]);
	g_assert_cmpint(vhu_negotiate(&f->c, ~0ULL, 0), ==, -EPROTO);
	expect_latched(f, -EPROTO);
}

/*
 * A back-end that listens but never accepts: connections pile up in its backlog, even
 * closed ones; once it is full, vhu_socket_connect fails at once with -EAGAIN (a
 * blocking connect would wait for ever). A missing socket is -ENOENT.
 */
static void test_socket_backlog(void)
{
	g_autofree char *dir = g_dir_make_tmp("vhu-sock-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "be.sock", NULL);
	int lfd, fd, i, eagain = 0;

	g_assert_cmpint(vhu_socket_connect(path), ==, -ENOENT);
	lfd = vhu_socket_listen(path);
	g_assert_cmpint(lfd, >=, 0);
	for (i = 0; i < 8; i++) {
		fd = vhu_socket_connect(path);
		if (fd == -EAGAIN) {
			eagain++;
			continue;
		}
		g_assert_cmpint(fd, >=, 0);
		g_assert_cmpint(vhu_hello(fd, 100), ==, 0); /* queued, never read */
		close(fd);
	}
	g_assert_cmpint(eagain, >=, 1);
	/* accepting one frees a place */
	fd = vhu_socket_accept(lfd);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	fd = vhu_socket_connect(path);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	close(lfd);
	unlink(path);
	g_assert_cmpint(rmdir(dir), ==, 0);
}

/* --- the back-end channel --- */

struct bh {
	struct vhu_backend_handler h;
	int peer; /* the back-end's end: the ack must already be there */
	unsigned config, calls, errs;
	uint32_t last_index;
	bool ack_before_op;
};

static void bh_config(struct vhu_backend_handler *h)
{
	struct bh *b = (struct bh *)h;

	b->config++;
	b->ack_before_op = !peer_empty(b->peer);
}

static void bh_call(struct vhu_backend_handler *h, uint32_t index)
{
	struct bh *b = (struct bh *)h;

	b->calls++;
	b->last_index = index;
}

static void bh_err(struct vhu_backend_handler *h, uint32_t index)
{
	((struct bh *)h)->errs++;
}

static const struct vhu_backend_handler_ops bh_ops = {
	.config_changed = bh_config,
	.vring_call = bh_call,
	.vring_err = bh_err,
};

struct chan {
	int fe, be;
	struct bh b;
};

static void chan_open(struct chan *c)
{
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	c->fe = sv[0];
	c->be = sv[1];
	memset(&c->b, 0, sizeof(c->b));
	c->b.h.ops = &bh_ops;
	c->b.h.name = "test/vhu";
	c->b.peer = c->be;
}

static void chan_close(struct chan *c)
{
	close(c->fe);
	close(c->be);
}

static uint64_t read_ack(int fd, uint32_t req)
{
	struct raw m;
	uint64_t v;

	peer_read(fd, &m);
	expect_hdr(&m, req, VHU_VERSION | VHU_FLAG_REPLY, 8, 0);
	memcpy(&v, m.payload, 8);
	return v;
}

#define ALL_PF (VHU_PF(REPLY_ACK) | VHU_PF(BACKEND_SEND_FD))

static void test_chan_config_change(void)
{
	struct chan c;

	chan_open(&c);
	peer_send(c.be, VHU_B_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, NULL,
		  0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.config, ==, 1);
	g_assert_true(c.b.ack_before_op); /* replied before acting (FACTS 18) */
	g_assert_cmphex(read_ack(c.be, VHU_B_CONFIG_CHANGE_MSG), ==, 0);
	g_assert_true(peer_empty(c.be)); /* exactly once */
	/* without NEED_REPLY: no reply */
	peer_send(c.be, VHU_B_CONFIG_CHANGE_MSG, VHU_VERSION, NULL, 0, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.config, ==, 2);
	g_assert_true(peer_empty(c.be));
	/* NEED_REPLY but REPLY_ACK not negotiated: no reply either (FACTS 8) */
	peer_send(c.be, VHU_B_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, NULL,
		  0);
	g_assert_cmpint(vhu_backend_serve(c.fe, 0, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.config, ==, 3);
	g_assert_true(peer_empty(c.be));
	chan_close(&c);
}

static void test_chan_vring_call(void)
{
	struct vhu_vring_state s = { 1, 0 };
	struct chan c;

	chan_open(&c);
	peer_send(c.be, VHU_B_VRING_CALL, VHU_VERSION | VHU_FLAG_NEED_REPLY, &s, 8, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.calls, ==, 1);
	g_assert_cmpuint(c.b.last_index, ==, 1);
	g_assert_cmphex(read_ack(c.be, VHU_B_VRING_CALL), ==, 0);
	peer_send(c.be, VHU_B_VRING_ERR, VHU_VERSION, &s, 8, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.errs, ==, 1);
	/* a bad size: refused with an error, the op is not called, the channel lives */
	peer_send(c.be, VHU_B_VRING_CALL, VHU_VERSION | VHU_FLAG_NEED_REPLY, &s, 4, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.calls, ==, 1);
	g_assert_cmphex(read_ack(c.be, VHU_B_VRING_CALL), ==, 1);
	chan_close(&c);
}

static void test_chan_unknown_and_fds(void)
{
	struct vhu_shmem_map map = { 0 };
	int efd = eventfd(0, EFD_CLOEXEC);
	unsigned before;
	struct chan c;

	chan_open(&c);
	peer_send(c.be, 99, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmphex(read_ack(c.be, 99), ==, 1);
	g_assert_true(peer_empty(c.be));

	/* SHMEM_MAP without SHMEM negotiated: refused, its fd closed */
	peer_send(c.be, VHU_B_SHMEM_MAP, VHU_VERSION | VHU_FLAG_NEED_REPLY, &map, sizeof(map), &efd,
		  1);
	before = open_fds();
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(open_fds(), ==, before);
	g_assert_cmphex(read_ack(c.be, VHU_B_SHMEM_MAP), ==, 1);

	/* fds without BACKEND_SEND_FD: refused and closed */
	peer_send(c.be, VHU_B_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_NEED_REPLY, NULL, 0, &efd,
		  1);
	before = open_fds();
	g_assert_cmpint(vhu_backend_serve(c.fe, VHU_PF(REPLY_ACK), 300, &c.b.h), ==, 0);
	g_assert_cmpuint(open_fds(), ==, before);
	g_assert_cmpuint(c.b.config, ==, 0);
	g_assert_cmphex(read_ack(c.be, VHU_B_CONFIG_CHANGE_MSG), ==, 1);

	/* a REPLY flag on a request: refused */
	peer_send(c.be, VHU_B_CONFIG_CHANGE_MSG, VHU_VERSION | VHU_FLAG_REPLY, NULL, 0, NULL, 0);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, 0);
	g_assert_cmpuint(c.b.config, ==, 0);

	/* EOF: the channel is done */
	close(c.be);
	c.be = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(vhu_backend_serve(c.fe, ALL_PF, 300, &c.b.h), ==, -ECONNRESET);
	close(efd);
	chan_close(&c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_test_add_func("/vhu/proto/table", test_table);
	g_test_add_func("/vhu/proto/check-request", test_check_request);
	FX_TEST("/vhu/proto/bytes/simple", test_bytes_simple);
	FX_TEST("/vhu/proto/bytes/vring-fd", test_bytes_vring_fd);
	FX_TEST("/vhu/proto/bytes/mem-table", test_bytes_mem_table);
	FX_TEST("/vhu/proto/bytes/config", test_bytes_config);
	FX_TEST("/vhu/proto/bytes/fd-requests", test_bytes_fd_requests);
	FX_TEST("/vhu/proto/acks", test_acks);
	FX_TEST("/vhu/proto/reply/wrong-id", test_reply_wrong_id);
	FX_TEST("/vhu/proto/reply/wrong-size", test_reply_wrong_size);
	FX_TEST("/vhu/proto/reply/no-reply-flag", test_reply_no_reply_flag);
	FX_TEST("/vhu/proto/reply/bad-version", test_reply_bad_version);
	FX_TEST("/vhu/proto/reply/extra-fd", test_reply_extra_fd);
	FX_TEST("/vhu/proto/reply/missing-fd", test_reply_missing_fd);
	FX_TEST("/vhu/proto/reply/short-payload", test_reply_short);
	FX_TEST("/vhu/proto/reply/short-header", test_reply_short_header);
	FX_TEST("/vhu/proto/reply/eof", test_reply_eof);
	FX_TEST("/vhu/proto/reply/oversize", test_reply_oversize);
	FX_TEST("/vhu/proto/reply/timeout", test_reply_timeout);
	FX_TEST("/vhu/proto/reply/timeout-ack", test_reply_timeout_ack);
	FX_TEST("/vhu/proto/reply/vring-base-index", test_reply_vring_base_index);
	FX_TEST("/vhu/proto/reply/config-echo", test_reply_config_echo);
	FX_TEST("/vhu/proto/send/dead-peer", test_send_dead_peer);
	FX_TEST("/vhu/proto/negotiate/qsd", test_negotiate_qsd);
	FX_TEST("/vhu/proto/negotiate/require", test_negotiate_require);
	FX_TEST("/vhu/proto/negotiate/no-bit30", test_negotiate_no_bit30);
	FX_TEST("/vhu/proto/negotiate/hello", test_negotiate_hello);
	g_test_add_func("/vhu/proto/socket/backlog", test_socket_backlog);
	g_test_add_func("/vhu/proto/chan/config-change", test_chan_config_change);
	g_test_add_func("/vhu/proto/chan/vring-call", test_chan_vring_call);
	g_test_add_func("/vhu/proto/chan/unknown-and-fds", test_chan_unknown_and_fds);
	return g_test_run();
}
