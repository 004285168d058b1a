/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xvdm: command line, start-up, main loop, shutdown.
 *
 *   xvdm --domid N --device rng,transport=mmio,base=0x2000000,irq=33 [--device ...]
 *   xvdm --config FILE                  the [domain N] / [guest NAME] devices
 *   xvdm --watch [--config FILE]        xl's virtio slots, as they come and go
 *   xvdm -xen-domid N -chardev ... -machine xenpv ...   libxl's device_model_override (vmm/dm.c)
 *   xvdm dtb [-o FILE] (--config FILE [--guest NAME|--domid N] | --device ... [--pci ...])
 *                                       the guest device-tree nodes (vmm/dtb.c)
 *
 * Trust boundary: the operator's arguments and config (errors name what is wrong
 * and exit 2), and xenstore (vmm/watch.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "common/log.h"
#include "devices/catalogue.h"
#include "vmm/vmm.h"

#define EXIT_USAGE 2

struct options {
	gint domid;
	char **devices;
	char *config;
	char *pci;
	char *pidfile;
	gboolean watch;
	gboolean list_devices;
	gboolean version;
	gboolean quiet;
	int verbose;
};

struct vmm_guest *vmm_find_guest(struct vmm *v, uint32_t domid)
{
	return g_hash_table_lookup(v->guests, GUINT_TO_POINTER(domid));
}

void vmm_remove_guest(struct vmm *v, uint32_t domid)
{
	struct vmm_guest *g = vmm_find_guest(v, domid);

	if (!g)
		return;
	g_hash_table_remove(v->guests, GUINT_TO_POINTER(domid));
	vmm_guest_free(g);
	log_info("dom%u: released", domid);
}

static gboolean on_verbose(const gchar *name, const gchar *value, gpointer data, GError **error)
{
	struct options *o = data;

	o->verbose++;
	return TRUE;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	GOptionEntry entries[] = {
		{ "domid", 'd', 0, G_OPTION_ARG_INT, &o->domid, "Serve domain N", "N" },
		{ "device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->devices,
		  "A device for --domid: TYPE,transport=mmio,base=ADDR,irq=SPI[,queue-size=N]",
		  "SPEC" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config, "Config file (key file)",
		  "FILE" },
		{ "pci", 0, 0, G_OPTION_ARG_STRING, &o->pci,
		  "PCI placement for --domid: mode=ecam|cfg,ecam=ADDR,mem=BASE:SIZE,"
		  "pref=BASE:SIZE,irq=SPI,msix=on|off",
		  "SPEC" },
		{ "watch", 'w', 0, G_OPTION_ARG_NONE, &o->watch,
		  "Serve the virtio slots xl creates (xenstore backend/virtio_disk)", NULL },
		{ "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &o->pidfile,
		  "Write the process id here once serving (removed at exit)", "FILE" },
		{ "list-devices", 0, 0, G_OPTION_ARG_NONE, &o->list_devices,
		  "List the device types and exit", NULL },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, on_verbose,
		  "More log output (twice: debug)", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet, "Warnings only", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &o->version, "Print the version", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- a standalone Xen device model");
	g_autoptr(GOptionGroup) grp = g_option_group_new("xvdm", "", "", o, NULL);
	g_autoptr(GError) err = NULL;

	o->domid = -1;
	g_option_group_add_entries(grp, entries);
	g_option_context_set_main_group(ctx, g_steal_pointer(&grp));
	g_option_context_set_description(
		ctx, "Examples:\n"
		     "  xvdm --domid 1 --device rng,transport=mmio,base=0x2000000,irq=33\n"
		     "  xvdm --domid 1 --device vhost-user-blk,transport=pci,socket=/run/blk.sock\n"
		     "  xvdm dtb --domid 1 --device vhost-user-blk,transport=pci -o pci.dtb\n"
		     "  xvdm --watch --config /etc/xvdm/xvdm.conf\n");
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "xvdm: %s (see xvdm --help)\n", err->message);
		return -EINVAL;
	}
	if (argc > 1) {
		fprintf(stderr, "xvdm: unexpected argument '%s' (see xvdm --help)\n", argv[1]);
		return -EINVAL;
	}
	if (o->version || o->list_devices)
		return 0;
	if (o->pci && o->domid < 0) {
		fprintf(stderr, "xvdm: --pci needs --domid (use pci= in the config file)\n");
		return -EINVAL;
	}
	if (o->devices && o->domid < 0) {
		fprintf(stderr, "xvdm: --device needs --domid\n");
		return -EINVAL;
	}
	if (o->domid >= 0x7ff0 || (o->domid < 0 && o->domid != -1)) {
		fprintf(stderr, "xvdm: --domid %d is not a domain id\n", o->domid);
		return -EINVAL;
	}
	if (o->domid >= 0 && !o->devices) {
		fprintf(stderr, "xvdm: --domid %d without any --device\n", o->domid);
		return -EINVAL;
	}
	if (o->domid < 0 && !o->config && !o->watch) {
		fprintf(stderr, "xvdm: nothing to serve: give --domid with --device, --config, "
				"or --watch (see xvdm --help)\n");
		return -EINVAL;
	}
	return 0;
}

/* --domid/--device become a [domain N] group of the configuration. */
static int add_cmdline_devices(struct vmm_config *c, const struct options *o, GError **error)
{
	struct vmm_guest_config *gc = g_new0(struct vmm_guest_config, 1);
	unsigned i;

	gc->has_domid = true;
	gc->domid = o->domid;
	gc->pci = c->pci;
	if (o->pci) {
		if (vmm_pci_config_parse(o->pci, &gc->pci, error) < 0 ||
		    vmm_pci_config_check(&gc->pci, error) < 0)
			return -EINVAL;
		gc->has_pci = true;
	}
	gc->devices = g_ptr_array_new_with_free_func((GDestroyNotify)vmm_devspec_free);
	gc->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_ptr_array_add(c->guests, gc);
	for (i = 0; o->devices[i]; i++) {
		struct vmm_devspec *s = vmm_devspec_parse(o->devices[i], error);

		if (!s)
			return -EINVAL;
		if (s->transport == VMM_TRANSPORT_MMIO && (!s->has_base || !s->has_irq)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': needs base= and irq=", o->devices[i]);
			vmm_devspec_free(s);
			return -EINVAL;
		}
		g_ptr_array_add(gc->devices, s);
	}
	return 0;
}

/* A guest named in the config: its domid from xenstore. */
static int resolve_domid(struct vmm *v, const struct vmm_guest_config *gc, uint32_t *ret)
{
	g_auto(GStrv) doms = NULL;
	unsigned i;

	if (gc->has_domid) {
		*ret = gc->domid;
		return 0;
	}
	doms = v->xs ? xh_xs_ls(v->xs, "/local/domain") : NULL;
	for (i = 0; doms && doms[i]; i++) {
		g_autofree char *p = g_strdup_printf("/local/domain/%s/name", doms[i]);
		g_autofree char *name = xh_xs_read(v->xs, p);

		char *end = NULL;
		guint64 n;

		if (!name || strcmp(name, gc->name))
			continue;
		n = g_ascii_strtoull(doms[i], &end, 10);
		if (!*doms[i] || *end || n >= 0x7ff0)
			continue;
		*ret = n;
		return 0;
	}
	return -ENOENT;
}

/* Serve every configured device of one guest; all or nothing. */
static int serve_static_guest(struct vmm *v, const struct vmm_guest_config *gc, GError **error)
{
	struct vmm_guest *g;
	uint32_t domid;
	unsigned i;
	int r;

	r = resolve_domid(v, gc, &domid);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "guest '%s': no such domain in xenstore",
			    gc->name);
		return r;
	}
	if (vmm_find_guest(v, domid)) {
		g_set_error(error, VMM_ERROR, EEXIST, "dom%u is configured twice", domid);
		return -EEXIST;
	}
	g = vmm_guest_new(v, domid, error);
	if (!g)
		return -EIO;
	g_hash_table_insert(v->guests, GUINT_TO_POINTER(domid), g);
	vmm_guest_set_pci(g, &gc->pci);
	for (i = 0; i < gc->devices->len; i++) {
		const struct vmm_devspec *s = gc->devices->pdata[i];
		g_autofree char *id = g_strdup_printf("%s%u", s->type, i);

		r = vmm_guest_add_device(g, s, id, error);
		if (r < 0)
			goto err;
	}
	r = vmm_guest_enable(g, error);
	if (r < 0)
		goto err;
	if (v->xs) {
		g_autofree char *p = g_strdup_printf("/local/domain/%u", domid);
		g_auto(GStrv) ls = xh_xs_ls(v->xs, p);

		if (ls)
			vmm_track_domain(v, domid);
	}
	return 0;
err:
	vmm_remove_guest(v, domid);
	return r;
}

static gboolean on_signal(gpointer data)
{
	struct vmm *v = data;

	log_msg("signal received: shutting down");
	g_main_loop_quit(v->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_xenstore(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm *v = data;
	char *path, *token;
	int r;

	while ((r = xh_xs_next_watch(v->xs, &path, &token)) > 0) {
		vmm_watch_event(v, path, token);
		g_free(path);
		g_free(token);
	}
	if (r < 0 || (cond & (G_IO_HUP | G_IO_ERR))) {
		log_warn("xenstore connection failed (%s): exiting",
			 g_strerror(r < 0 ? -r : EPIPE));
		v->exit_code = 1;
		g_main_loop_quit(v->loop);
		v->xs_source = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static int setup(struct vmm *v, const struct options *o, GError **error)
{
	guint i;
	int r;

	r = xh_ctx_new(&v->xen);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r,
			    "cannot open the Xen device-model interfaces: %s (run xvdm as root in "
			    "dom0, with /dev/xen/privcmd present)",
			    g_strerror(-r));
		return r;
	}
	r = xh_xs_open(&v->xs);
	if (r < 0) {
		if (o->watch) {
			g_set_error(error, VMM_ERROR, -r, "cannot connect to xenstore: %s",
				    g_strerror(-r));
			return r;
		}
		log_info("no xenstore (%s): guests named by domid only", g_strerror(-r));
		v->xs = NULL;
	}
	if (v->xs) {
		r = vmm_watch_start(v, error);
		if (r < 0)
			return r;
		v->xs_source = g_unix_fd_add(xh_xs_fd(v->xs), G_IO_IN | G_IO_HUP | G_IO_ERR,
					     on_xenstore, v);
	}
	for (i = 0; i < v->config->guests->len; i++) {
		const struct vmm_guest_config *gc = v->config->guests->pdata[i];

		if (gc->devices->len == 0)
			continue;
		r = serve_static_guest(v, gc, error);
		if (r < 0)
			return r;
	}
	if (!o->watch && g_hash_table_size(v->guests) == 0) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "the configuration names no devices to serve (use --watch for xl's "
			    "virtio slots)");
		return -EINVAL;
	}
	return 0;
}

static void teardown(struct vmm *v)
{
	GHashTableIter it;
	gpointer val;

	if (v->xs_source)
		g_source_remove(v->xs_source);
	vmm_watch_stop(v);
	g_hash_table_iter_init(&it, v->guests);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		vmm_guest_free(val);
		g_hash_table_iter_remove(&it);
	}
	g_hash_table_destroy(v->guests);
	g_hash_table_destroy(v->tracked);
	xh_xs_close(v->xs);
	xh_ctx_free(v->xen);
	vmm_config_free(v->config);
	g_main_loop_unref(v->loop);
}

static void list_devices(void)
{
	const struct vdev_type *const *t;

	for (t = vdev_types(); *t; t++)
		printf("%-12s %s\n", (*t)->name, (*t)->summary);
}

static int run(struct options *o)
{
	struct vmm v = { 0 };
	g_autoptr(GError) err = NULL;
	int r;

	if (o->version) {
		printf("xvdm %s\n", XVDM_VERSION);
		return 0;
	}
	if (o->list_devices) {
		list_devices();
		return 0;
	}
	log_setup(o->quiet ? -1 : o->verbose);
	signal(SIGPIPE, SIG_IGN);

	v.watch = o->watch;
	v.config = o->config ? vmm_config_load(o->config, &err) : vmm_config_new();
	if (!v.config || (o->domid >= 0 && add_cmdline_devices(v.config, o, &err) < 0)) {
		fprintf(stderr, "xvdm: %s\n", err->message);
		vmm_config_free(v.config);
		return EXIT_USAGE;
	}
	v.loop = g_main_loop_new(NULL, false);
	v.guests = g_hash_table_new(g_direct_hash, g_direct_equal);
	v.tracked = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_unix_signal_add(SIGTERM, on_signal, &v);
	g_unix_signal_add(SIGINT, on_signal, &v);
	if (setup(&v, o, &err) < 0) {
		fprintf(stderr, "xvdm: %s\n", err->message);
		teardown(&v);
		return 1;
	}
	if (o->pidfile && vmm_pidfile_write(o->pidfile, &err) < 0) {
		fprintf(stderr, "xvdm: %s\n", err->message);
		teardown(&v);
		return 1;
	}
	/* systemd Type=notify: every device is served and every range claimed */
	if ((r = vmm_sd_notify("READY=1")) < 0)
		log_warn("cannot notify systemd (NOTIFY_SOCKET): %s", g_strerror(-r));
	log_msg("xvdm %s ready", XVDM_VERSION);
	g_main_loop_run(v.loop);
	vmm_sd_notify("STOPPING=1");
	teardown(&v);
	if (o->pidfile && unlink(o->pidfile) < 0 && errno != ENOENT)
		log_warn("cannot remove the pid file %s: %s", o->pidfile, g_strerror(errno));
	log_msg("stopped");
	return v.exit_code;
}

/* `xvdm dtb`: pick the guest group to describe. */
static const struct vmm_guest_config *dtb_guest(const struct vmm_config *c, const char *name,
						int domid, GError **error)
{
	const struct vmm_guest_config *found = NULL;

	for (guint i = 0; i < c->guests->len; i++) {
		const struct vmm_guest_config *gc = c->guests->pdata[i];

		if (name && (gc->has_domid || strcmp(gc->name, name)))
			continue;
		if (domid >= 0 && (!gc->has_domid || gc->domid != (uint32_t)domid))
			continue;
		if (!name && domid < 0 && gc->devices->len == 0)
			continue;
		if (found) {
			g_set_error(
				error, VMM_ERROR, EINVAL,
				"several guests have devices: choose one with --guest or --domid");
			return NULL;
		}
		found = gc;
	}
	if (!found)
		g_set_error(error, VMM_ERROR, ENOENT,
			    "no such guest with devices in the "
			    "configuration");
	return found;
}

static int dtb_write(const char *out, const void *blob, size_t size)
{
	g_autoptr(GError) err = NULL;

	if (!out || !strcmp(out, "-")) {
		if (fwrite(blob, 1, size, stdout) != size || fflush(stdout)) {
			fprintf(stderr, "xvdm dtb: writing to stdout: %s\n", g_strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!g_file_set_contents(out, blob, size, &err)) {
		fprintf(stderr, "xvdm dtb: %s\n", err->message);
		return 1;
	}
	return 0;
}

static int dtb_main(int argc, char **argv)
{
	struct options o = { .domid = -1 };
	g_autofree char *guest = NULL, *out = NULL;
	gint gic = VMM_DTB_GIC_PHANDLE;
	GOptionEntry entries[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write here (default stdout)",
		  "FILE" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Config file", "FILE" },
		{ "guest", 'g', 0, G_OPTION_ARG_STRING, &guest, "The [guest NAME] to describe",
		  "NAME" },
		{ "domid", 'd', 0, G_OPTION_ARG_INT, &o.domid, "The [domain N] to describe", "N" },
		{ "device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.devices,
		  "A device (as for serving), without a config file", "SPEC" },
		{ "pci", 0, 0, G_OPTION_ARG_STRING, &o.pci, "PCI placement (as for serving)",
		  "SPEC" },
		{ "gic-phandle", 0, 0, G_OPTION_ARG_INT, &gic,
		  "The guest GIC's phandle (libxl: 65000)", "N" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- write a guest's device-tree nodes");
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = NULL;
	const struct vmm_guest_config *gc;
	void *blob = NULL;
	size_t size = 0;
	int code = 2;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx,
		"The output is a partial device tree for xl's device_tree= option:\n"
		"  xvdm dtb --config /etc/xvdm/xvdm.conf --guest domU -o /etc/xen/domU-pci.dtb\n");
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1 || gic <= 0) {
		fprintf(stderr, "xvdm dtb: %s (see xvdm dtb --help)\n",
			err ? err->message : "bad arguments");
		goto out;
	}
	if (o.devices) {
		if (o.config || guest) {
			fprintf(stderr, "xvdm dtb: --device is used without --config/--guest\n");
			goto out;
		}
		if (o.domid < 0)
			o.domid = 0;
	}
	c = o.config ? vmm_config_load(o.config, &err) : vmm_config_new();
	if (!c || (o.devices && add_cmdline_devices(c, &o, &err) < 0))
		goto err;
	if (!(gc = dtb_guest(c, guest, o.devices ? -1 : o.domid, &err)))
		goto err;
	if (!gc->has_pci && !c->has_pci && gc->pci.mode != VMM_PCI_ECAM) {
		/* a device tree is for an Arm guest, whatever this host is */
		struct vmm_guest_config *w = (struct vmm_guest_config *)gc;

		vmm_pci_config_default(&w->pci, VMM_PCI_ECAM);
	}
	if (vmm_dtb_build(gc, gic, &blob, &size, &err) < 0)
		goto err;
	code = dtb_write(out, blob, size);
	goto out;
err:
	fprintf(stderr, "xvdm dtb: %s\n", err->message);
out:
	g_free(blob);
	vmm_config_free(c);
	g_strfreev(o.devices);
	g_free(o.config);
	g_free(o.pci);
	g_free(o.pidfile);
	return code;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int code;

	if (argc > 1 && !strcmp(argv[1], "dtb"))
		return dtb_main(argc - 1, argv + 1);
	/* libxl's device_model_override: QEMU's command line (vmm/dm.c) */
	if (vmm_dm_argv_is_libxl(argc, argv))
		return vmm_dm_main(argc, argv);
	code = parse_args(argc, argv, &o) < 0 ? EXIT_USAGE : run(&o);

	/* every path frees what the options hold (leak checkers run on error paths too) */
	g_strfreev(o.devices);
	g_free(o.config);
	g_free(o.pci);
	g_free(o.pidfile);
	return code;
}
