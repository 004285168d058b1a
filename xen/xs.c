/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenstore helpers. Trust boundary: values under a guest's own /local/domain/<domid>
 * tree are written by that guest; backend nodes are written by the toolstack. Callers
 * parse every value with xh_xs_read_u64() or check it themselves; values are always
 * NUL-terminated strings here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "common/log.h"
#include "xen/xh.h"

struct xh_xs {
	struct xs_handle *h;
};

int xh_xs_open(struct xh_xs **ret)
{
	struct xh_xs *xs = g_new0(struct xh_xs, 1);

	/* No events for a watch after xs_unwatch returned. */
	xs->h = xs_open(XS_UNWATCH_FILTER);
	if (!xs->h) {
		int r = errno ? -errno : -EIO;

		g_free(xs);
		return r;
	}
	*ret = xs;
	return 0;
}

void xh_xs_close(struct xh_xs *xs)
{
	if (!xs)
		return;
	xs_close(xs->h);
	g_free(xs);
}

char *xh_xs_read(struct xh_xs *xs, const char *path)
{
	unsigned int len = 0;
	char *v = xs_read(xs->h, XBT_NULL, path, &len);
	char *copy;

	if (!v)
		return NULL;
	copy = g_strndup(v, len); /* xenstore values may hold NULs: stop at the first */
	free(v);
	return copy;
}

int xh_xs_write(struct xh_xs *xs, const char *path, const char *value)
{
	return xs_write(xs->h, XBT_NULL, path, value, strlen(value)) ? 0 : -errno;
}

int xh_xs_rm(struct xh_xs *xs, const char *path)
{
	return xs_rm(xs->h, XBT_NULL, path) ? 0 : -errno;
}

char **xh_xs_ls(struct xh_xs *xs, const char *path)
{
	unsigned int n = 0, i;
	char **d = xs_directory(xs->h, XBT_NULL, path, &n);
	char **v;

	if (!d)
		return NULL;
	v = g_new0(char *, n + 1);
	for (i = 0; i < n; i++)
		v[i] = g_strdup(d[i]);
	free(d);
	return v;
}

int xh_xs_watch(struct xh_xs *xs, const char *path, const char *token)
{
	return xs_watch(xs->h, path, token) ? 0 : -errno;
}

int xh_xs_unwatch(struct xh_xs *xs, const char *path, const char *token)
{
	return xs_unwatch(xs->h, path, token) ? 0 : -errno;
}

int xh_xs_fd(struct xh_xs *xs)
{
	return xs_fileno(xs->h);
}

int xh_xs_next_watch(struct xh_xs *xs, char **ret_path, char **ret_token)
{
	char **ev = xs_check_watch(xs->h);

	if (!ev)
		return errno == EAGAIN ? 0 : -errno;
	*ret_path = g_strdup(ev[XS_WATCH_PATH]);
	*ret_token = g_strdup(ev[XS_WATCH_TOKEN]);
	free(ev);
	return 1;
}

int xh_xs_read_u64(struct xh_xs *xs, const char *path, uint64_t *ret)
{
	char *v = xh_xs_read(xs, path);
	char *end = NULL;
	guint64 n;

	if (!v)
		return -ENOENT;
	errno = 0;
	n = g_ascii_strtoull(g_strstrip(v), &end, 0);
	if (errno || end == v || *end) {
		g_free(v);
		return -EINVAL;
	}
	g_free(v);
	*ret = n;
	return 0;
}
