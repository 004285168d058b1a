/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: the connection to the simulated hypervisor, and
 * xentoolcore_restrict_all. Trust boundary: the hypervisor is our own test process;
 * replies are still size-checked so that a broken simulator fails loudly, not subtly.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xentoolcore.h>

#include "tests/xensim/xensim.h"

/* Every open handle, for xentoolcore_restrict_all(). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xsim_conn *registry;

int xsim_fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

void xsim_unsupported(const char *fn)
{
	fprintf(stderr, "xensim: %s is not simulated\n", fn);
	errno = ENOSYS;
}

/* Connect to $XENSIM_SOCKET (bound first to the abstract address `name` if not NULL). */
static int conn_connect(struct xsim_conn *c, const char *name)
{
	const char *path = getenv(XSIM_ENV_SOCKET);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sockaddr_un own = { .sun_family = AF_UNIX };
	size_t nlen = name ? strlen(name) : 0;
	int ret;

	c->fd = -1;
	c->next = NULL;
	if (!path || !*path)
		return -ENOENT; /* like a host without /dev/xen */
	if (strlen(path) >= sizeof(sa.sun_path) || nlen + 1 > sizeof(own.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (name) {
		memcpy(own.sun_path + 1, name, nlen); /* sun_path[0] = 0: abstract */
		if (bind(c->fd, (struct sockaddr *)&own,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nlen)) < 0)
			goto err;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err;
	return 0;
err:
	ret = -errno;
	close(c->fd);
	c->fd = -1;
	return ret;
}

static int conn_hello(struct xsim_conn *c, enum xsim_kind kind)
{
	struct xsim_req req = { .op = XSIM_OP_HELLO, .arg = { kind, (uint64_t)getpid() } };
	struct xsim_reply r;
	int ret;

	pthread_mutex_init(&c->lock, NULL);
	ret = xsim_call(c, &req, NULL, 0, &r);
	xsim_reply_fini(&r);
	if (ret < 0) {
		pthread_mutex_destroy(&c->lock);
		close(c->fd);
		c->fd = -1;
	}
	return ret;
}

int xsim_conn_open(struct xsim_conn *c, enum xsim_kind kind)
{
	int ret = conn_connect(c, NULL);

	if (!ret)
		ret = conn_hello(c, kind);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&registry_lock);
	c->next = registry;
	registry = c;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

int xsim_conn_open_named(struct xsim_conn *c, enum xsim_kind kind, const char *name)
{
	int ret = conn_connect(c, name);

	return ret < 0 ? ret : conn_hello(c, kind);
}

void xsim_conn_close(struct xsim_conn *c)
{
	struct xsim_conn **p;

	if (c->fd < 0)
		return;
	pthread_mutex_lock(&registry_lock);
	for (p = &registry; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->lock);
}

static int send_req(struct xsim_conn *c, struct xsim_req *req, const void *data, size_t len,
		    const int *fds, unsigned nfds)
{
	struct iovec iov[2] = { { req, sizeof(*req) }, { (void *)data, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	union {
		char buf[CMSG_SPACE(XSIM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct cmsghdr *ch;
	ssize_t n;

	if (len > XSIM_MSG_MAX - sizeof(*req) || nfds > XSIM_MAX_FDS)
		return -E2BIG;
	req->len = (uint32_t)len;
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(ch), fds, nfds * sizeof(int));
	}
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -EIO; /* the simulator is gone */
	return 0;
}

static int recv_rsp(struct xsim_conn *c, struct xsim_reply *r)
{
	union {
		char buf[CMSG_SPACE(XSIM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	char *buf = malloc(XSIM_MSG_MAX);
	struct iovec iov = { buf, XSIM_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *ch;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	do {
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	for (ch = CMSG_FIRSTHDR(&mh); n >= 0 && ch; ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (unsigned i = 0; i < k && r->nfds < XSIM_MAX_FDS; i++)
				memcpy(&r->fds[r->nfds++], CMSG_DATA(ch) + i * sizeof(int),
				       sizeof(int));
		}
	}
	if (n < (ssize_t)sizeof(r->hdr) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		free(buf);
		return -EIO;
	}
	memcpy(&r->hdr, buf, sizeof(r->hdr));
	if (r->hdr.len != (size_t)n - sizeof(r->hdr)) {
		free(buf);
		return -EIO;
	}
	memmove(buf, buf + sizeof(r->hdr), r->hdr.len);
	buf[r->hdr.len] = '\0';
	r->data = buf;
	return 0;
}

int xsim_call(struct xsim_conn *c, struct xsim_req *req, const void *data, size_t len,
	      struct xsim_reply *r)
{
	return xsim_call_fds(c, req, data, len, NULL, 0, r);
}

int xsim_call_fds(struct xsim_conn *c, struct xsim_req *req, const void *data, size_t len,
		  const int *fds, unsigned nfds, struct xsim_reply *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < XSIM_MAX_FDS; i++)
		r->fds[i] = -1;
	pthread_mutex_lock(&c->lock);
	ret = send_req(c, req, data, len, fds, nfds);
	if (!ret)
		ret = recv_rsp(c, r);
	pthread_mutex_unlock(&c->lock);
	if (ret < 0)
		return ret;
	return -r->hdr.err;
}

void xsim_reply_fini(struct xsim_reply *r)
{
	for (unsigned i = 0; i < r->nfds; i++) {
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	}
	r->nfds = 0;
	free(r->data);
	r->data = NULL;
}

int xsim_simple(struct xsim_conn *c, uint32_t op, uint32_t domid, uint32_t id, uint64_t a0,
		uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *ret_val0)
{
	struct xsim_req req = { .op = op, .domid = domid, .id = id, .arg = { a0, a1, a2, a3 } };
	struct xsim_reply r;
	int ret = xsim_call(c, &req, NULL, 0, &r);

	if (!ret && ret_val0)
		*ret_val0 = r.hdr.val[0];
	xsim_reply_fini(&r);
	return ret;
}

/*
 * Like the real one: restricts every handle opened so far to `domid`. For xenstore
 * handles the real library dup2()s /dev/null over the connection, so the simulator
 * makes them fail from then on as well.
 */
int xentoolcore_restrict_all(domid_t domid)
{
	int ret = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct xsim_conn *c = registry; c && !ret; c = c->next)
		ret = xsim_simple(c, XSIM_OP_RESTRICT, domid, 0, 0, 0, 0, 0, NULL);
	pthread_mutex_unlock(&registry_lock);
	return ret < 0 ? xsim_fail(ret) : 0;
}
