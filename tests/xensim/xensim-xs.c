/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: libxenstore. The store lives in the simulated hypervisor; watch events
 * are queued there per connection, and an eventfd shared with it (xs_fileno) is
 * readable while the queue is not empty, like the real library's watch pipe.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#include "tests/xensim/xensim.h"

struct xs_handle {
	struct xsim_conn conn;
	int watch_fd;
};

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = calloc(1, sizeof(*h));
	struct xsim_req req = { .op = XSIM_OP_XS_OPEN };
	struct xsim_reply r;
	int ret;

	if (!h)
		return NULL;
	ret = xsim_conn_open(&h->conn, XSIM_KIND_XS);
	if (ret < 0)
		goto err_free;
	ret = xsim_call(&h->conn, &req, NULL, 0, &r);
	if (!ret && r.nfds != 1)
		ret = -EIO;
	if (ret < 0) {
		xsim_reply_fini(&r);
		xsim_conn_close(&h->conn);
		goto err_free;
	}
	h->watch_fd = r.fds[0];
	r.fds[0] = -1;
	xsim_reply_fini(&r);
	return h;

err_free:
	free(h);
	errno = -ret;
	return NULL;
}

void xs_close(struct xs_handle *xsh)
{
	if (!xsh)
		return;
	xsim_conn_close(&xsh->conn);
	close(xsh->watch_fd);
	free(xsh);
}

struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(0);
}

void xs_daemon_close(struct xs_handle *h)
{
	xs_close(h);
}

/* After fork(): our fds are copies, so closing them leaves the parent's handle alone. */
void xs_daemon_destroy_postfork(struct xs_handle *h)
{
	xs_close(h);
}

int xs_fileno(struct xs_handle *h)
{
	return h->watch_fd;
}

/* A xenstore call with data "a\0b" (b may be binary, or absent). */
static int xs_call(struct xs_handle *h, uint32_t op, xs_transaction_t t, const char *a,
		   const void *b, size_t blen, struct xsim_reply *r)
{
	struct xsim_req req = { .op = op, .id = t };
	size_t alen = strlen(a) + 1;
	char *buf;
	int ret;

	if (alen + blen > XSIM_DATA_MAX) {
		memset(r, 0, sizeof(*r));
		return -E2BIG;
	}
	buf = malloc(alen + blen + 1);
	if (!buf) {
		memset(r, 0, sizeof(*r));
		return -ENOMEM;
	}
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	ret = xsim_call(&h->conn, &req, buf, alen + blen, r);
	free(buf);
	return ret;
}

static bool xs_bool(struct xs_handle *h, uint32_t op, xs_transaction_t t, const char *a,
		    const void *b, size_t blen)
{
	struct xsim_reply r;
	int ret = xs_call(h, op, t, a, b, blen, &r);

	xsim_reply_fini(&r);
	if (ret < 0) {
		errno = -ret;
		return false;
	}
	return true;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	struct xsim_reply r;
	int ret = xs_call(h, XSIM_OP_XS_READ, t, path, NULL, 0, &r);
	char *v;

	if (ret < 0) {
		xsim_reply_fini(&r);
		errno = -ret;
		return NULL;
	}
	v = r.data; /* nul-terminated past len by xsim_call */
	r.data = NULL;
	if (len)
		*len = r.hdr.len;
	xsim_reply_fini(&r);
	return v;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	return xs_bool(h, XSIM_OP_XS_WRITE, t, path, data, len);
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return xs_bool(h, XSIM_OP_XS_MKDIR, t, path, NULL, 0);
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return xs_bool(h, XSIM_OP_XS_RM, t, path, NULL, 0);
}

/* Turn "s0\0s1\0...\0" (n strings) into one malloc'd block: char *[n] then the strings. */
static char **string_vector(const char *data, size_t len, unsigned n)
{
	char **v = malloc(n * sizeof(char *) + len + 1);
	char *s;

	if (!v)
		return NULL;
	s = (char *)(v + n);
	memcpy(s, data, len);
	s[len] = '\0';
	for (unsigned i = 0; i < n; i++) {
		v[i] = s;
		s += strlen(s) + 1;
	}
	return v;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
	struct xsim_reply r;
	int ret = xs_call(h, XSIM_OP_XS_DIRECTORY, t, path, NULL, 0, &r);
	char **v = NULL;

	if (!ret) {
		v = string_vector(r.data, r.hdr.len, (unsigned)r.hdr.val[0]);
		if (!v)
			ret = -ENOMEM;
		else
			*num = (unsigned)r.hdr.val[0];
	}
	xsim_reply_fini(&r);
	if (ret < 0)
		errno = -ret;
	return v;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	return xs_bool(h, XSIM_OP_XS_WATCH, 0, path, token, strlen(token) + 1);
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	return xs_bool(h, XSIM_OP_XS_UNWATCH, 0, path, token, strlen(token) + 1);
}

/* One queued watch event, or NULL with errno (EAGAIN: none queued). */
static char **get_watch(struct xs_handle *h, unsigned int *num)
{
	struct xsim_req req = { .op = XSIM_OP_XS_GET_WATCH };
	struct xsim_reply r;
	char **v = NULL;
	int ret = xsim_call(&h->conn, &req, NULL, 0, &r);

	if (!ret) {
		v = string_vector(r.data, r.hdr.len, 2);
		if (!v)
			ret = -ENOMEM;
		else if (num)
			*num = 2;
	}
	xsim_reply_fini(&r);
	if (ret < 0)
		errno = -ret;
	return v;
}

char **xs_check_watch(struct xs_handle *h)
{
	return get_watch(h, NULL);
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	struct pollfd pfd = { .fd = h->watch_fd, .events = POLLIN };
	char **v;

	for (;;) {
		v = get_watch(h, num);
		if (v || errno != EAGAIN)
			return v;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return NULL;
	}
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	uint64_t id = 0;
	int ret = xsim_simple(&h->conn, XSIM_OP_XS_TX_START, 0, 0, 0, 0, 0, 0, &id);

	if (ret < 0) {
		errno = -ret;
		return XBT_NULL;
	}
	return (xs_transaction_t)id;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	int ret = xsim_simple(&h->conn, XSIM_OP_XS_TX_END, 0, t, abort, 0, 0, 0, NULL);

	if (ret < 0) {
		errno = -ret;
		return false;
	}
	return true;
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	char *p;

	if (asprintf(&p, "/local/domain/%u", domid) < 0)
		return NULL;
	return p;
}

bool xs_path_is_subpath(const char *parent, const char *child)
{
	size_t n = strlen(parent);

	if (strncmp(child, parent, n))
		return false;
	return child[n] == '\0' || child[n] == '/';
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	uint64_t v = 0;

	return !xsim_simple(&h->conn, XSIM_OP_XS_INTRODUCED, domid, 0, 0, 0, 0, 0, &v) && v;
}

/* Permissions are not simulated: every node is readable and writable by dom0. */
struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
					  unsigned int *num)
{
	struct xs_permissions *p;
	char *v = xs_read(h, t, path, NULL);

	if (!v)
		return NULL;
	free(v);
	p = calloc(1, sizeof(*p));
	if (p) {
		p->id = 0;
		p->perms = XS_PERM_NONE;
		*num = 1;
	}
	return p;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
			struct xs_permissions *perms, unsigned int num_perms)
{
	char *v = xs_read(h, t, path, NULL);

	free(v);
	return v != NULL;
}

bool xs_restrict(struct xs_handle *h, unsigned domid)
{
	errno = ENOSYS;
	return false;
}

bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
			 unsigned int eventchn)
{
	xsim_unsupported(__func__);
	return false;
}

bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target)
{
	xsim_unsupported(__func__);
	return false;
}

bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
	xsim_unsupported(__func__);
	return false;
}

bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
	xsim_unsupported(__func__);
	return false;
}

char *xs_control_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
	xsim_unsupported(__func__);
	return NULL;
}

char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
	xsim_unsupported(__func__);
	return NULL;
}
