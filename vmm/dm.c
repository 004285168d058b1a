/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxl device-model mode (DESIGN.md §4, start mode 3; README "libxl device model"):
 * xl's device_model_override starts xvdm with QEMU's command line (vmm/dm-args.c).
 *
 * Order: the QMP sockets listen → the guest's ioreq server serves every device (no
 * range the guest may touch is unclaimed) → pid file → device-model/<domid>/state =
 * running (unless -S: then on QMP cont) → optionally restrict the Xen handles to the
 * guest and drop to --runas → READY=1 to systemd. Exit 0 on SIGHUP/SIGTERM/SIGINT, on
 * QMP quit, and when libxl removes /local/domain/0/device-model/<domid> (destroy);
 * libxl's probe (-machine none without -xen-domid) gets its QMP answers and exit 0.
 *
 * Trust boundary: the command line (libxl and the xl config: errors exit 2), QMP
 * clients (vmm/qmp.c), xenstore (only the existence of our node is used).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "common/log.h"
#include "common/util.h"
#include "vmm/vmm.h"

#define EXIT_USAGE	2
#define PROBE_TIMEOUT_S 30 /* a probe nobody talks to ends by itself */
/* libxl reads the state of a local device model under its own domain (LIBXL_TOOLSTACK_DOMID) */
#define DM_XS_DOMID 0

struct dm {
	struct vmm v;
	struct vmm_dm_args *a;
	struct vmm_qmp_server qmp;
	GPtrArray *mons; /* struct vmm_qmp_mon * */
	char *node;	 /* /local/domain/0/device-model/<domid> */
	bool node_seen;
	guint sig_src[3];
};

static void dm_write_state(struct dm *dm)
{
	g_autofree char *p = g_strdup_printf("%s/state", dm->node);
	const char *s = vmm_run_state_name(dm->qmp.state);
	int r;

	if (!dm->v.xs) {
		log_info(
			"dom%d: %s (not written to xenstore: no xenstore access after restricting)",
			dm->a->domid, s);
		return;
	}
	r = xh_xs_write(dm->v.xs, p, s);
	if (r < 0)
		log_warn("dom%d: cannot write %s = %s: %s (libxl will time out waiting for it)",
			 dm->a->domid, p, s, g_strerror(-r));
	else
		log_info("dom%d: %s = %s", dm->a->domid, p, s);
	dm->node_seen = true;
}

static void qmp_state_changed(struct vmm_qmp_server *srv)
{
	struct dm *dm = container_of(srv, struct dm, qmp);

	log_msg("dom%d: QMP: %s", dm->a->domid, vmm_run_state_name(srv->state));
	/* QEMU records only "running" (xen_change_state_handler); libxl waits for it */
	if (srv->state == VMM_RUN_RUNNING)
		dm_write_state(dm);
}

static void qmp_quit(struct vmm_qmp_server *srv)
{
	struct dm *dm = container_of(srv, struct dm, qmp);

	log_msg("QMP quit: shutting down");
	g_main_loop_quit(dm->v.loop);
}

static const struct vmm_qmp_ops dm_qmp_ops = {
	.state_changed = qmp_state_changed,
	.quit = qmp_quit,
};

static gboolean on_signal(gpointer data)
{
	struct dm *dm = data;

	log_msg("signal received: shutting down");
	g_main_loop_quit(dm->v.loop);
	return G_SOURCE_CONTINUE;
}

/* Our device-model node: when libxl removes it (xl destroy), we are done. */
static gboolean on_xenstore(gint fd, GIOCondition cond, gpointer data)
{
	struct dm *dm = data;
	char *path, *token;
	int r;

	while ((r = xh_xs_next_watch(dm->v.xs, &path, &token)) > 0) {
		g_auto(GStrv) ls = xh_xs_ls(dm->v.xs, dm->node);

		g_free(path);
		g_free(token);
		if (ls) {
			dm->node_seen = true;
		} else if (dm->node_seen) {
			log_msg("dom%d: %s was removed (domain destroyed): shutting down",
				dm->a->domid, dm->node);
			g_main_loop_quit(dm->v.loop);
		}
	}
	if (r < 0 || (cond & (G_IO_HUP | G_IO_ERR))) {
		log_warn("xenstore connection failed (%s): exiting",
			 g_strerror(r < 0 ? -r : EPIPE));
		dm->v.exit_code = 1;
		dm->v.xs_source = 0;
		g_main_loop_quit(dm->v.loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static int listen_monitors(struct dm *dm, GError **error)
{
	dm->qmp.ops = &dm_qmp_ops;
	dm->qmp.chardevs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < dm->a->mons->len; i++) {
		const struct vmm_dm_monitor *m = dm->a->mons->pdata[i];
		struct vmm_qmp_mon *mon = vmm_qmp_mon_new(&dm->qmp, m->id, m->path, m->fd, error);

		if (!mon)
			return -EIO;
		g_ptr_array_add(dm->mons, mon);
		g_ptr_array_add(dm->qmp.chardevs, g_strdup(m->id));
		g_ptr_array_add(dm->qmp.chardevs,
				m->path ? g_strdup_printf("unix:%s,server=on", m->path)
					: g_strdup_printf("fd:%d", m->fd));
		log_info("QMP monitor %s on %s", m->id, m->path ? m->path : "an inherited socket");
	}
	return 0;
}

static int serve_guest(struct dm *dm, GError **error)
{
	const struct vmm_guest_config *gc = dm->a->guest;
	uint32_t domid = dm->a->domid;
	struct vmm_guest *g = vmm_guest_new(&dm->v, domid, error);
	int r;

	if (!g)
		return -EIO;
	g_hash_table_insert(dm->v.guests, GUINT_TO_POINTER(domid), g);
	vmm_guest_set_pci(g, &gc->pci);
	for (guint i = 0; i < gc->devices->len; i++) {
		const struct vmm_devspec *s = gc->devices->pdata[i];
		g_autofree char *id = g_strdup_printf("%s%u", s->type, i);

		r = vmm_guest_add_device(g, s, id, error);
		if (r < 0)
			return r;
	}
	return vmm_guest_enable(g, error);
}

static int open_xen(struct dm *dm, GError **error)
{
	int r = xh_ctx_new(&dm->v.xen);

	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r,
			    "cannot open the Xen device-model interfaces: %s (xl runs its device "
			    "model as root in dom0; /dev/xen/privcmd must exist)",
			    g_strerror(-r));
		return r;
	}
	r = xh_xs_open(&dm->v.xs);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r,
			    "cannot connect to xenstore: %s (libxl waits for %s/state there)",
			    g_strerror(-r), dm->node);
		dm->v.xs = NULL;
		return r;
	}
	return 0;
}

static int watch_node(struct dm *dm, GError **error)
{
	int r = xh_xs_watch(dm->v.xs, dm->node, "xvdm-dm");

	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "cannot watch %s: %s", dm->node, g_strerror(-r));
		return r;
	}
	dm->v.xs_source =
		g_unix_fd_add(xh_xs_fd(dm->v.xs), G_IO_IN | G_IO_HUP | G_IO_ERR, on_xenstore, dm);
	return 0;
}

/* After setup: the Xen handles serve this guest only, and root may be left behind. */
static int restrict_privileges(struct dm *dm, GError **error)
{
	int r;

	if (dm->a->restrict_xen) {
		/* xenstore handles die under xentoolcore_restrict_all: give ours up first */
		if (dm->v.xs_source)
			g_source_remove(dm->v.xs_source);
		dm->v.xs_source = 0;
		xh_xs_close(dm->v.xs);
		dm->v.xs = NULL;
		r = xh_restrict(dm->a->domid);
		if (r < 0) {
			g_set_error(error, VMM_ERROR, -r,
				    "cannot restrict the Xen handles to dom%d: %s", dm->a->domid,
				    g_strerror(-r));
			return r;
		}
		log_msg("dom%d: Xen handles restricted to this guest (xenstore closed: exit on "
			"SIGHUP or QMP quit)",
			dm->a->domid);
	}
	if (dm->a->runas) {
		r = vmm_drop_privileges(dm->a->runas, error);
		if (r < 0)
			return r;
		log_msg("running as %s from now on", dm->a->runas);
	}
	return 0;
}

static int setup(struct dm *dm, GError **error)
{
	struct vmm_dm_args *a = dm->a;
	int r;

	dm->qmp.state = a->start_paused ? VMM_RUN_PRELAUNCH : VMM_RUN_RUNNING;
	dm->node = g_strdup_printf("/local/domain/%d/device-model/%d", DM_XS_DOMID, a->domid);
	/* QMP listens before anything can tell libxl we are up */
	if ((r = listen_monitors(dm, error)) < 0 || (r = open_xen(dm, error)) < 0)
		return r;
	if ((r = serve_guest(dm, error)) < 0)
		return r;
	if (a->pidfile && (r = vmm_pidfile_write(a->pidfile, error)) < 0)
		return r;
	if ((r = watch_node(dm, error)) < 0)
		return r;
	if (dm->qmp.state == VMM_RUN_RUNNING)
		dm_write_state(dm);
	else
		log_msg("dom%d: -S: waiting for QMP cont", a->domid);
	return restrict_privileges(dm, error);
}

static void teardown(struct dm *dm)
{
	GHashTableIter it;
	gpointer val;

	for (unsigned i = 0; i < G_N_ELEMENTS(dm->sig_src); i++)
		if (dm->sig_src[i])
			g_source_remove(dm->sig_src[i]);
	if (dm->v.xs_source)
		g_source_remove(dm->v.xs_source);
	g_ptr_array_set_free_func(dm->mons, (GDestroyNotify)vmm_qmp_mon_free);
	g_ptr_array_free(dm->mons, true);
	if (dm->qmp.chardevs)
		g_ptr_array_free(dm->qmp.chardevs, true);
	g_hash_table_iter_init(&it, dm->v.guests);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		vmm_guest_free(val);
		g_hash_table_iter_remove(&it);
	}
	g_hash_table_destroy(dm->v.guests);
	g_hash_table_destroy(dm->v.tracked);
	xh_xs_close(dm->v.xs);
	xh_ctx_free(dm->v.xen);
	if (dm->a->pidfile && unlink(dm->a->pidfile) < 0 && errno != ENOENT)
		log_warn("cannot remove the pid file %s: %s", dm->a->pidfile, g_strerror(errno));
	g_main_loop_unref(dm->v.loop);
	g_free(dm->node);
}

static gboolean on_probe_timeout(gpointer data)
{
	struct dm *dm = data;

	log_msg("probe: no QMP client for %d s: exiting", PROBE_TIMEOUT_S);
	g_main_loop_quit(dm->v.loop);
	return G_SOURCE_REMOVE;
}

/* libxl >= 4.20 starts the device model once with -machine none to learn what it can do. */
static int run_probe(struct dm *dm)
{
	g_autoptr(GError) err = NULL;
	guint t;

	log_msg("libxl's probe invocation (-machine none): answering QMP, then exiting 0");
	if (dm->a->mons->len == 0)
		return 0;
	dm->qmp.state = VMM_RUN_PRELAUNCH;
	if (listen_monitors(dm, &err) < 0) {
		log_warn("probe: %s", err->message);
		return 0;
	}
	t = g_timeout_add_seconds(PROBE_TIMEOUT_S, on_probe_timeout, dm);
	g_main_loop_run(dm->v.loop);
	g_source_remove(t);
	return 0;
}

static void log_notes(const struct vmm_dm_args *a)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; i < a->notes->len; i++)
		g_string_append_printf(s, "%s%s", i ? "; " : "", (char *)a->notes->pdata[i]);
	if (s->len)
		log_info("accepted and ignored: %s", s->str);
}

static int dm_run(struct dm *dm)
{
	g_autoptr(GError) err = NULL;
	int r;

	log_notes(dm->a);
	if (dm->a->probe)
		return run_probe(dm);
	if (dm->a->hvm) {
		fprintf(stderr,
			"xvdm: dom%d is an x86 HVM guest (-machine %s): it needs QEMU as its "
			"device model for the PC platform; run xvdm beside it (README, "
			"\"virtio-pci\"), not as device_model_override\n",
			dm->a->domid, dm->a->machine);
		return 1;
	}
	r = setup(dm, &err);
	if (r < 0) {
		fprintf(stderr, "xvdm: dom%d: %s\n", dm->a->domid, err->message);
		return 1;
	}
	r = vmm_sd_notify("READY=1");
	if (r < 0)
		log_warn("cannot notify systemd: %s", g_strerror(-r));
	log_msg("xvdm: device model of dom%d (%s) ready, %u device(s)", dm->a->domid,
		dm->a->name ? dm->a->name : "unnamed", dm->a->guest->devices->len);
	g_main_loop_run(dm->v.loop);
	vmm_sd_notify("STOPPING=1");
	log_msg("stopped");
	return dm->v.exit_code;
}

int vmm_dm_main(int argc, char **argv)
{
	g_autoptr(GError) err = NULL;
	struct dm dm = { 0 };
	int code;

	dm.a = vmm_dm_args_parse(argc, argv, &err);
	if (!dm.a) {
		fprintf(stderr, "xvdm: %s\n", err->message);
		return EXIT_USAGE;
	}
	log_setup(dm.a->verbosity);
	signal(SIGPIPE, SIG_IGN);
	dm.v.config = dm.a->config;
	dm.v.loop = g_main_loop_new(NULL, false);
	dm.v.guests = g_hash_table_new(g_direct_hash, g_direct_equal);
	dm.v.tracked = g_hash_table_new(g_direct_hash, g_direct_equal);
	dm.mons = g_ptr_array_new();
	/* libxl ends its device model with SIGHUP (libxl__kill_xs_path) */
	dm.sig_src[0] = g_unix_signal_add(SIGHUP, on_signal, &dm);
	dm.sig_src[1] = g_unix_signal_add(SIGTERM, on_signal, &dm);
	dm.sig_src[2] = g_unix_signal_add(SIGINT, on_signal, &dm);
	code = dm_run(&dm);
	teardown(&dm);
	vmm_dm_args_free(dm.a);
	return code;
}
