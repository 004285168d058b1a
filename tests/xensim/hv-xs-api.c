/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: the xenstore API for the test itself (dom0's toolstack).
 * Every function takes the hv lock; changes wake hv_*_wait() callers.
 * Trust boundary: none; the test is the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/xensim/hv-internal.h"

static int api_op(struct hv *hv, uint32_t tx, enum hv_xs_opk kind, const char *path,
		  const char *value)
{
	char *p = hv_xs_abs_path(path, NULL);
	int ret;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&hv->lock);
	ret = hv_xs_do_op(hv, NULL, tx, kind, p, value, value ? strlen(value) : 0);
	pthread_cond_broadcast(&hv->cond);
	pthread_mutex_unlock(&hv->lock);
	g_free(p);
	return ret;
}

int hv_xs_write(struct hv *hv, uint32_t tx, const char *path, const char *value)
{
	return api_op(hv, tx, HV_XS_WRITE, path, value);
}

int hv_xs_printf(struct hv *hv, uint32_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int ret;

	va_start(ap, fmt);
	v = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ret = hv_xs_write(hv, tx, path, v);
	g_free(v);
	return ret;
}

int hv_xs_mkdir(struct hv *hv, uint32_t tx, const char *path)
{
	return api_op(hv, tx, HV_XS_MKDIR, path, NULL);
}

int hv_xs_rm(struct hv *hv, uint32_t tx, const char *path)
{
	return api_op(hv, tx, HV_XS_RM, path, NULL);
}

char *hv_xs_read(struct hv *hv, uint32_t tx, const char *path)
{
	char *p = hv_xs_abs_path(path, NULL), *v = NULL;
	GBytes *b;
	gsize len;

	if (!p)
		return NULL;
	pthread_mutex_lock(&hv->lock);
	if (!hv_xs_do_read(hv, NULL, tx, p, &b)) {
		const char *d = g_bytes_get_data(b, &len);

		v = malloc(len + 1);
		if (v && len) /* an empty GBytes has NULL data */
			memcpy(v, d, len);
		if (v)
			v[len] = '\0';
	}
	pthread_mutex_unlock(&hv->lock);
	g_free(p);
	return v;
}

int hv_xs_directory(struct hv *hv, uint32_t tx, const char *path, char ***ret_names)
{
	char *p = hv_xs_abs_path(path, NULL);
	GPtrArray *names = NULL;
	int ret;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&hv->lock);
	names = hv_xs_list(hv, NULL, tx, p, &ret);
	if (names)
		ret = (int)names->len;
	pthread_mutex_unlock(&hv->lock);
	g_free(p);
	if (names && ret_names) {
		g_ptr_array_set_free_func(names, NULL);
		g_ptr_array_add(names, NULL);
		*ret_names = (char **)g_ptr_array_free(names, FALSE);
	} else if (names) {
		g_ptr_array_free(names, TRUE);
	}
	return ret;
}

int hv_xs_tx_start(struct hv *hv, uint32_t *ret_tx)
{
	pthread_mutex_lock(&hv->lock);
	*ret_tx = hv_xs_tx_new(hv, NULL);
	pthread_mutex_unlock(&hv->lock);
	return 0;
}

int hv_xs_tx_end(struct hv *hv, uint32_t tx, bool abort)
{
	int ret;

	pthread_mutex_lock(&hv->lock);
	ret = hv_xs_tx_finish(hv, NULL, tx, abort);
	pthread_cond_broadcast(&hv->cond);
	pthread_mutex_unlock(&hv->lock);
	return ret;
}

static bool node_is(struct hv *hv, const char *p, const char *value)
{
	GBytes *b = NULL;
	const char *d;
	gsize len;

	hv_xs_do_read(hv, NULL, 0, p, &b); /* b stays NULL if p does not exist */
	if (!value || !b)
		return !value && !b;
	d = g_bytes_get_data(b, &len);
	return len == strlen(value) && (!len || !memcmp(d, value, len));
}

int hv_xs_wait(struct hv *hv, const char *path, const char *value, int timeout_ms)
{
	char *p = hv_xs_abs_path(path, NULL);
	struct timespec dl;
	int ret = 0;

	if (!p)
		return -EINVAL;
	hv_deadline(&dl, timeout_ms);
	pthread_mutex_lock(&hv->lock);
	while (!node_is(hv, p, value)) {
		if (hv_cond_wait(hv, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&hv->lock);
	g_free(p);
	return ret;
}

int hv_xs_wait_watch(struct hv *hv, const char *path, int timeout_ms)
{
	char *p = hv_xs_abs_path(path, NULL);
	struct timespec dl;
	int ret = 0;

	if (!p)
		return -EINVAL;
	hv_deadline(&dl, timeout_ms);
	pthread_mutex_lock(&hv->lock);
	while (!hv_xs_watched(hv, p)) {
		if (hv_cond_wait(hv, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&hv->lock);
	g_free(p);
	return ret;
}
