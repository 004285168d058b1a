/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device-type catalogue: the table of types and the checks common to every
 * device spec before a type's constructor runs.
 *
 * Trust boundary: the type name, the option keys and the queue size come from the
 * command line, a config file or xenstore (vmm/ parses them); they are checked here
 * and turned into a GError naming what is valid. Option values are the constructor's.
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "devices/catalogue-internal.h"

/* clang-format off */
static const struct vdev_type *const types[] = {
	&vdev_type_rng,
	&vdev_type_vhu_blk,
	&vdev_type_vhu_net,
	&vdev_type_vhu_fs,
	&vdev_type_vhu_gpu,
	&vdev_type_vhu_vsock,
	&vdev_type_vhu_i2c,
	&vdev_type_vhu_gpio,
	&vdev_type_vhu_snd,
	&vdev_type_vhu_scmi,
	&vdev_type_vhu_rng,
	&vdev_type_vhu_input,
	&vdev_type_vhu_can,
	&vdev_type_vhu_console,
	&vdev_type_vhu_device,
	NULL,
};
/* clang-format on */

G_DEFINE_QUARK(xvdm_vdev_error, vdev_error)

const struct vdev_type *vdev_type_find(const char *name)
{
	size_t i;

	for (i = 0; types[i]; i++)
		if (!g_strcmp0(types[i]->name, name))
			return types[i];
	return NULL;
}

const struct vdev_type *const *vdev_types(void)
{
	return types;
}

/* "a, b, c" from a NULL-terminated list, or "none". */
static char *join_names(const char *const *names)
{
	if (!names || !names[0])
		return g_strdup("none");
	return g_strjoinv(", ", (char **)names);
}

static bool key_known(const struct vdev_type *t, const char *key)
{
	const char *const *k;

	for (k = t->option_keys; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

static int check_opts(const struct vdev_type *t, const struct vdev_params *p, GError **error)
{
	GHashTableIter it;
	gpointer key;

	if (!p->opts)
		return 0;
	g_hash_table_iter_init(&it, p->opts);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		char *valid;

		if (key_known(t, key))
			continue;
		valid = join_names(t->option_keys);
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: unknown option '%s' for device type '%s' (valid keys: %s)",
			    p->name ? p->name : t->name, (const char *)key, t->name, valid);
		g_free(valid);
		return -EINVAL;
	}
	return 0;
}

int vdev_create(const char *type, const struct vdev_params *p, struct vdev **ret, GError **error)
{
	const struct vdev_type *t = vdev_type_find(type);
	struct vdev_params q = *p;
	int r;

	if (!t) {
		GString *names = g_string_new(NULL);
		size_t i;

		for (i = 0; types[i]; i++)
			g_string_append_printf(names, "%s%s", i ? ", " : "", types[i]->name);
		g_set_error(error, VDEV_ERROR, ENOENT, "unknown device type '%s' (known: %s)",
			    type ? type : "(null)", names->str);
		g_string_free(names, true);
		return -ENOENT;
	}
	r = check_opts(t, p, error);
	if (r < 0)
		return r;
	if (q.queue_size == 0)
		q.queue_size = VDEV_QUEUE_SIZE_DEFAULT;
	/* virtio 1.2 §2.7: split queue sizes are powers of two, at most 32768. */
	if (!is_pow2(q.queue_size) || q.queue_size > VDEV_QUEUE_SIZE_MAX) {
		g_set_error(error, VDEV_ERROR, EINVAL,
			    "%s: queue size %u is not a power of two between 1 and %u",
			    p->name ? p->name : t->name, p->queue_size, VDEV_QUEUE_SIZE_MAX);
		return -EINVAL;
	}
	return t->create(t, &q, ret, error);
}
