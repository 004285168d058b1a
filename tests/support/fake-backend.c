/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scripted fake vhost-user back-end of tests/support/fake-backend.h. Trust boundary:
 * what it reads comes from the code under test; it checks the framing it needs and
 * fails the test (g_assert) on nonsense, which is what a test double is for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/support/fake-backend.h"

#define REPLY 0x5 /* version 1 | REPLY */
#define NEED  0x8

static uint64_t mem_gpa_of(struct fake_backend *fb);

static int unix_socket(const char *path, bool listen_on)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	if (listen_on) {
		unlink(path);
		g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
		g_assert_cmpint(listen(fd, 4), ==, 0);
		return fd;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void send_msg(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t len, int pass_fd)
{
	uint32_t hdr[3] = { req, flags, len };
	struct iovec iov[2] = { { hdr, 12 }, { (void *)p, len } };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
	send_msg(fd, req, REPLY, &v, 8, -1);
}

/* One message, blocking (the socket is blocking); false at EOF or on error. */
static bool recv_msg(int fd, struct fb_msg *m, int *fds, unsigned max_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	uint32_t hdr[3];
	struct iovec iov = { hdr, 12 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	if (recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC) != 12)
		return false;
	m->req = hdr[0];
	m->flags = hdr[1];
	m->size = hdr[2];
	m->nfds = 0;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;

		for (i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < max_fds)
				fds[m->nfds++] = f;
			else
				close(f);
		}
	}
	if (m->size > sizeof(m->payload))
		return false;
	return m->size == 0 || recv(fd, m->payload, m->size, MSG_WAITALL) == (ssize_t)m->size;
}

static void set_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void close_fds(int *fds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Answer one request; the fds are consumed. */
static void serve(struct fake_backend *fb, int fd, struct fb_msg *m, int *fds)
{
	uint32_t idx = 0;
	uint64_t u = 0;
	bool has_reply = true;

	memcpy(&idx, m->payload, m->size >= 4 ? 4 : 0);
	memcpy(&u, m->payload, m->size >= 8 ? 8 : 0);
	g_mutex_lock(&fb->lock);
	switch (m->req) {
	case 1: /* GET_FEATURES */
		reply_u64(fd, m->req, fb->features);
		break;
	case 15: /* GET_PROTOCOL_FEATURES */
		reply_u64(fd, m->req, fb->proto);
		break;
	case 17: /* GET_QUEUE_NUM */
		reply_u64(fd, m->req, fb->queue_num);
		break;
	case 16: /* SET_PROTOCOL_FEATURES */
		fb->acked_proto = u;
		has_reply = false;
		break;
	case 24: { /* GET_CONFIG: echo with our bytes */
		uint8_t out[12 + 256];
		uint32_t off, sz;

		memcpy(&off, m->payload, 4);
		memcpy(&sz, m->payload + 4, 4);
		memcpy(out, m->payload, 12);
		if (off + sz <= 256)
			memcpy(out + 12, fb->config + off, sz);
		send_msg(fd, m->req, REPLY, out, 12 + sz, -1);
		break;
	}
	case 11: { /* GET_VRING_BASE */
		uint32_t st[2] = { idx, idx < FB_MAX_QUEUES ? fb->vring_base[idx] : 0 };

		send_msg(fd, m->req, REPLY, st, 8, -1);
		break;
	}
	case 31: { /* GET_INFLIGHT_FD */
		uint64_t in[3] = { 4096, 0, 0 };
		int mfd = memfd_create("fb-inflight", MFD_CLOEXEC);

		g_assert_cmpint(ftruncate(mfd, 4096), ==, 0);
		memcpy(&in[2], m->payload + 16, 4);
		send_msg(fd, m->req, REPLY, in, 24, mfd);
		close(mfd);
		break;
	}
	case 12: /* SET_VRING_KICK */
	case 13: /* SET_VRING_CALL */
		idx = (uint32_t)(u & 0xff);
		if (idx < FB_MAX_QUEUES && m->nfds == 1) {
			set_fd(m->req == 12 ? &fb->kick[idx] : &fb->call[idx], fds[0]);
			m->nfds = 0;
		}
		has_reply = false;
		break;
	case 21: /* SET_BACKEND_REQ_FD */
		if (m->nfds == 1) {
			set_fd(&fb->chan, fds[0]);
			m->nfds = 0;
		}
		has_reply = false;
		break;
	case 5: /* SET_MEM_TABLE: the first region */
		memcpy(&fb->mem_userspace, m->payload + 8 + 16, 8);
		memcpy(&fb->mem_size, m->payload + 8 + 8, 8);
		has_reply = false;
		break;
	default:
		has_reply = false;
		break;
	}
	if (!has_reply && (m->flags & NEED))
		reply_u64(fd, m->req, fb->nack_req == m->req ? 1 : 0);
	g_mutex_unlock(&fb->lock);
	close_fds(fds, m->nfds);
}

static void record(struct fake_backend *fb, const struct fb_msg *m)
{
	g_mutex_lock(&fb->lock);
	if (fb->msgs->len < FB_MAX_MSGS)
		g_ptr_array_add(fb->msgs, g_memdup2(m, sizeof(*m)));
	g_cond_broadcast(&fb->cond);
	g_mutex_unlock(&fb->lock);
}

/* Serve one connection until EOF, a drop or stop. */
static void serve_conn(struct fake_backend *fb, int fd)
{
	struct fb_msg *m = g_new0(struct fb_msg, 1);
	int fds[8];

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { fb->wake[0], POLLIN, 0 } };
		char b;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			(void)!read(fb->wake[0], &b, 1);
			if (fb->stop || fb->drop)
				break;
		}
		if (!p[0].revents)
			continue;
		if (!recv_msg(fd, m, fds, 8))
			break;
		m->conn = fb->conns;
		record(fb, m);
		if (fb->mute_req == m->req) {
			close_fds(fds, m->nfds);
			continue;
		}
		serve(fb, fd, m, fds);
	}
	g_free(m);
}

static void conn_end(struct fake_backend *fb)
{
	unsigned i;

	g_mutex_lock(&fb->lock);
	for (i = 0; i < FB_MAX_QUEUES; i++) {
		set_fd(&fb->kick[i], -1);
		set_fd(&fb->call[i], -1);
	}
	set_fd(&fb->chan, -1);
	close(fb->sock);
	fb->sock = -1;
	fb->connected = false;
	fb->drop = false;
	g_cond_broadcast(&fb->cond);
	g_mutex_unlock(&fb->lock);
}

static gpointer thread_fn(gpointer data)
{
	struct fake_backend *fb = data;

	while (!fb->stop) {
		int fd = -1;

		if (fb->client) {
			gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

			while (!fb->stop && (fd = unix_socket(fb->path, false)) < 0 &&
			       g_get_monotonic_time() < end)
				g_usleep(10000);
			if (fd < 0)
				break;
		} else {
			struct pollfd p[2] = { { fb->listen_fd, POLLIN, 0 },
					       { fb->wake[0], POLLIN, 0 } };
			char b;

			if (poll(p, 2, -1) < 0)
				continue;
			if (p[1].revents) {
				(void)!read(fb->wake[0], &b, 1);
				continue;
			}
			fd = accept4(fb->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
		}
		g_mutex_lock(&fb->lock);
		fb->sock = fd;
		fb->conns++;
		fb->connected = true;
		g_cond_broadcast(&fb->cond);
		g_mutex_unlock(&fb->lock);
		serve_conn(fb, fd);
		conn_end(fb);
		if (fb->client)
			break; /* one connection */
	}
	return NULL;
}

static struct fake_backend *fb_new(const char *path, uint64_t features, uint64_t proto, bool client)
{
	struct fake_backend *fb = g_new0(struct fake_backend, 1);
	unsigned i;

	fb->features = features;
	fb->proto = proto;
	fb->queue_num = FB_MAX_QUEUES;
	fb->path = g_strdup(path);
	fb->client = client;
	fb->sock = fb->chan = -1;
	for (i = 0; i < FB_MAX_QUEUES; i++)
		fb->kick[i] = fb->call[i] = -1;
	g_mutex_init(&fb->lock);
	g_cond_init(&fb->cond);
	fb->msgs = g_ptr_array_new_with_free_func(g_free);
	g_assert_cmpint(pipe2(fb->wake, O_CLOEXEC | O_NONBLOCK), ==, 0);
	fb->listen_fd = client ? -1 : unix_socket(path, true);
	fb->thread = g_thread_new("fake-backend", thread_fn, fb);
	return fb;
}

struct fake_backend *fake_backend_new(const char *path, uint64_t features, uint64_t proto)
{
	return fb_new(path, features, proto, false);
}

struct fake_backend *fake_backend_new_client(const char *path, uint64_t features, uint64_t proto)
{
	return fb_new(path, features, proto, true);
}

static void wake(struct fake_backend *fb)
{
	(void)!write(fb->wake[1], "x", 1);
}

void fake_backend_free(struct fake_backend *fb)
{
	if (!fb)
		return;
	fb->stop = true;
	wake(fb);
	g_thread_join(fb->thread);
	if (fb->listen_fd >= 0) {
		close(fb->listen_fd);
		unlink(fb->path);
	}
	close(fb->wake[0]);
	close(fb->wake[1]);
	g_ptr_array_free(fb->msgs, true);
	g_mutex_clear(&fb->lock);
	g_cond_clear(&fb->cond);
	g_free(fb->path);
	g_free(fb);
}

void fake_backend_drop(struct fake_backend *fb)
{
	g_mutex_lock(&fb->lock);
	fb->drop = true;
	wake(fb);
	while (fb->connected)
		g_cond_wait(&fb->cond, &fb->lock);
	g_mutex_unlock(&fb->lock);
}

static unsigned count_locked(struct fake_backend *fb, uint32_t req)
{
	unsigned i, n = 0;

	for (i = 0; i < fb->msgs->len; i++)
		if (!req || ((struct fb_msg *)fb->msgs->pdata[i])->req == req)
			n++;
	return n;
}

bool fake_backend_wait(struct fake_backend *fb, uint32_t req, unsigned count, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	bool ok;

	g_mutex_lock(&fb->lock);
	while (!(ok = count_locked(fb, req) >= count) &&
	       g_cond_wait_until(&fb->cond, &fb->lock, end))
		;
	ok = count_locked(fb, req) >= count;
	g_mutex_unlock(&fb->lock);
	return ok;
}

bool fake_backend_wait_conns(struct fake_backend *fb, unsigned n, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	bool ok;

	g_mutex_lock(&fb->lock);
	while (fb->conns < n && g_cond_wait_until(&fb->cond, &fb->lock, end))
		;
	ok = fb->conns >= n;
	g_mutex_unlock(&fb->lock);
	return ok;
}

unsigned fake_backend_count(struct fake_backend *fb, uint32_t req)
{
	unsigned n;

	g_mutex_lock(&fb->lock);
	n = count_locked(fb, req);
	g_mutex_unlock(&fb->lock);
	return n;
}

unsigned fake_backend_nmsgs(struct fake_backend *fb)
{
	return fake_backend_count(fb, 0);
}

bool fake_backend_msg(struct fake_backend *fb, unsigned i, struct fb_msg *ret)
{
	bool ok;

	g_mutex_lock(&fb->lock);
	ok = i < fb->msgs->len;
	if (ok)
		*ret = *(struct fb_msg *)fb->msgs->pdata[i];
	g_mutex_unlock(&fb->lock);
	return ok;
}

bool fake_backend_last(struct fake_backend *fb, uint32_t req, struct fb_msg *ret)
{
	bool ok = false;
	unsigned i;

	g_mutex_lock(&fb->lock);
	for (i = fb->msgs->len; i-- > 0 && !ok;) {
		if (((struct fb_msg *)fb->msgs->pdata[i])->req == req) {
			*ret = *(struct fb_msg *)fb->msgs->pdata[i];
			ok = true;
		}
	}
	g_mutex_unlock(&fb->lock);
	return ok;
}

void fake_backend_clear(struct fake_backend *fb)
{
	g_mutex_lock(&fb->lock);
	g_ptr_array_set_size(fb->msgs, 0);
	g_mutex_unlock(&fb->lock);
}

void fake_backend_call(struct fake_backend *fb, unsigned q)
{
	uint64_t one = 1;

	g_mutex_lock(&fb->lock);
	g_assert_cmpint(fb->call[q], >=, 0);
	g_assert_cmpint(write(fb->call[q], &one, 8), ==, 8);
	g_mutex_unlock(&fb->lock);
}

uint64_t fake_backend_kicks(struct fake_backend *fb, unsigned q)
{
	uint64_t n = 0;
	int fd;

	g_mutex_lock(&fb->lock);
	fd = fb->kick[q];
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		if (read(fd, &n, 8) != 8)
			n = 0;
	}
	g_mutex_unlock(&fb->lock);
	return n;
}

int64_t fake_backend_chan_request(struct fake_backend *fb, uint32_t req, bool need_reply,
				  const void *payload, uint32_t len, int timeout_ms)
{
	struct fb_msg m;
	struct pollfd p;
	int fd, fds[8];
	gint64 end;
	uint64_t v;

	g_mutex_lock(&fb->lock);
	fd = fb->chan;
	g_mutex_unlock(&fb->lock);
	g_assert_cmpint(fd, >=, 0);
	send_msg(fd, req, 0x1 | (need_reply ? NEED : 0), payload, len, -1);
	if (!need_reply)
		return -1;
	/* The front-end answers from its main loop, on this thread: iterate it meanwhile. */
	end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		p = (struct pollfd){ fd, POLLIN, 0 };
		if (poll(&p, 1, 0) == 1)
			break;
		if (g_get_monotonic_time() > end)
			return -1;
		g_main_context_iteration(NULL, false);
		g_usleep(1000);
	}
	if (!recv_msg(fd, &m, fds, 8))
		return -1;
	close_fds(fds, m.nfds);
	g_assert_cmpuint(m.req, ==, req);
	g_assert_cmpuint(m.flags, ==, REPLY);
	g_assert_cmpuint(m.size, ==, 8);
	memcpy(&v, m.payload, 8);
	return (int64_t)v;
}

void *fake_backend_gpa(struct fake_backend *fb, uint64_t gpa, uint64_t len)
{
	uint64_t base = mem_gpa_of(fb);

	if (gpa < base || gpa - base > fb->mem_size || len > fb->mem_size - (gpa - base))
		return NULL;
	return (void *)(uintptr_t)(fb->mem_userspace + (gpa - base));
}

static uint64_t mem_gpa_of(struct fake_backend *fb)
{
	struct fb_msg m;
	uint64_t gpa = 0;

	if (fake_backend_last(fb, 5, &m))
		memcpy(&gpa, m.payload + 8, 8);
	return gpa;
}
