/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenstore discovery of the virtio slots xl creates (DESIGN.md §4, FACTS 28).
 *
 * Xen 4.17: disk=[ "...,backendtype=standalone,specification=virtio,..." ] writes
 *   /local/domain/<backend>/backend/virtio_disk/<domid>/<devid>/{base,irq,dev,state,...}
 * and waits 10 s for state 2 (InitWait) on create, and for 6 (Closed) after it wrote
 * 5 (Closing) on destroy. xvdm brings the ioreq server up with the slot's range
 * claimed *before* it writes 2: libxl unpauses the guest after that.
 *
 * Trust boundary: backend nodes are written by the toolstack in dom0, but the
 * domain's name is the guest's own to change; every value is parsed and checked
 * (base aligned and not overflowing, irq an SPI, grant_usage 0 or 1; a name goes into
 * a default-socket path only if it is a plain file name) and a bad slot is refused
 * with a log line, never a crash. One slot's failure does not affect the others, nor
 * another guest's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "common/log.h"
#include "vmm/vmm.h"

#define TOKEN_RELEASE "release"
#define TOKEN_CONTROL "control"

/*
 * The two layouts xl writes (FACTS 28, 29, 38):
 *  - Xen 4.17: disk=[...,specification=virtio] -> backend/virtio_disk/<domid>/<devid>
 *    (base decimal, "dev" = the vdev name, e.g. xvda); libxl waits for state 2.
 *  - Xen >= 4.18: virtio=[...] -> backend/virtio/<domid>/<devid> (base hex, devid from 0,
 *    type, transport, grant_usage); libxl does not wait: the guest may run already.
 * The watch token is the directory name.
 */
struct layout {
	const char *dir;
	const char *slot_prefix; /* config key for devid N: slot.<prefix><N>, or "dev" */
};

static const struct layout layouts[] = {
	{ "virtio_disk", NULL },
	{ "virtio", "virtio" },
};

/* xenbus states (xen/io/xenbus.h) */
#define XB_INITIALISING 1
#define XB_INITWAIT	2
#define XB_CLOSING	5
#define XB_CLOSED	6

struct slot {
	const struct layout *lay;
	uint32_t domid;
	char *devid;
	uint64_t base;
	bool served;
	bool refused; /* logged once; retried only if the slot is re-created */
};

static char *slots_path(struct vmm *v, const struct layout *lay)
{
	return g_strdup_printf("/local/domain/%u/backend/%s", v->config->backend_domid, lay->dir);
}

static void write_state(struct vmm *v, const char *dir, int state)
{
	g_autofree char *p = g_strdup_printf("%s/state", dir);
	g_autofree char *s = g_strdup_printf("%d", state);
	int r = xh_xs_write(v->xs, p, s);

	if (r < 0)
		log_warn("%s: cannot write %d: %s", p, state, g_strerror(-r));
}

static void slot_free(struct slot *sl)
{
	g_free(sl->devid);
	g_free(sl);
}

/*
 * The device spec for a slot, in this order: [guest NAME] slot.<vdev>; [xvdm]
 * default-socket (a vhost-user device of the slot's type on the socket the pattern
 * names); [xvdm] default-slot. NULL with *error if none applies.
 */
static char *slot_spec(struct vmm *v, const struct vmm_slot_info *si, const char *vdev,
		       const char **ret_where, GError **error)
{
	const struct vmm_guest_config *gc = vmm_config_find_guest(v->config, si->name, si->domid);
	const char *spec = gc && vdev ? g_hash_table_lookup(gc->slots, vdev) : NULL;
	g_autoptr(GError) err = NULL;
	char *text;

	*ret_where = "config";
	if (spec)
		return g_strdup(spec);
	*ret_where = "default-socket";
	text = vmm_config_default_spec(v->config, si, &err);
	if (text)
		return text;
	if (v->config->default_slot) {
		*ret_where = "default-slot";
		return g_strdup(v->config->default_slot);
	}
	if (err->code != ENOENT || v->config->default_socket) {
		g_propagate_error(error, g_steal_pointer(&err));
		return NULL;
	}
	g_set_error(error, VMM_ERROR, ENOENT,
		    "no device configured for virtio slot '%s': add 'slot.%s = rng' (or another "
		    "type) to [guest %s], or set [xvdm] default-socket or default-slot",
		    vdev ? vdev : si->devid, vdev ? vdev : "<vdev>",
		    si->name ? si->name : "<name>");
	return NULL;
}

/*
 * Only virtio-mmio slots are served. grant_usage=1 (Xen >= 4.18): the guest's driver
 * puts grant references (bit 63 set, Linux drivers/xen/grant-dma-ops.c) in its rings,
 * not guest-physical addresses; *ret_grant says so.
 */
static int slot_check_mode(struct vmm *v, const char *dir, bool *ret_grant, GError **error)
{
	g_autofree char *pt = g_strdup_printf("%s/transport", dir);
	g_autofree char *pg = g_strdup_printf("%s/grant_usage", dir);
	g_autofree char *transport = xh_xs_read(v->xs, pt);
	g_autofree char *grant = xh_xs_read(v->xs, pg);

	if (transport && strcmp(transport, "mmio")) {
		g_set_error(error, VMM_ERROR, EOPNOTSUPP,
			    "%s: transport '%s' is not supported (only mmio)", dir, transport);
		return -EOPNOTSUPP;
	}
	if (grant && strcmp(grant, "0") && strcmp(grant, "1")) {
		g_set_error(error, VMM_ERROR, EINVAL, "%s: grant_usage '%s' is not 0 or 1", dir,
			    grant);
		return -EINVAL;
	}
	*ret_grant = grant && !strcmp(grant, "1");
	return 0;
}

/*
 * A grant slot is served zero copy only: the back-end maps the guest's grants itself
 * (F_XEN_MMAP regions with GRANT|NO_ADVANCE_MAP and a gntdev fd). xvdm's own copies
 * (built-in devices, mem=shadow) go through guest-physical mappings, which cannot
 * follow grant references.
 */
static int slot_apply_grant(struct vmm_devspec *spec, const char *dir, GError **error)
{
	const char *mem = g_hash_table_lookup(spec->opts, "mem");
	const char *flag = g_hash_table_lookup(spec->opts, "xen-grant");

	if (!g_str_has_prefix(spec->type, "vhost-user-")) {
		g_set_error(error, VMM_ERROR, EOPNOTSUPP,
			    "%s: grant_usage=1 needs a vhost-user device whose back-end maps the "
			    "guest's grants (mem=xen-mmap); '%s' is served by xvdm itself, which "
			    "cannot read grant addresses yet: use grant_usage=0 in the xl config",
			    dir, spec->type);
		return -EOPNOTSUPP;
	}
	if ((mem && strcmp(mem, "xen-mmap") && strcmp(mem, "auto")) ||
	    (flag && strcmp(flag, "on"))) {
		g_set_error(
			error, VMM_ERROR, EOPNOTSUPP,
			"%s: grant_usage=1 needs mem=xen-mmap and xen-grant=on, the config says "
			"mem=%s, xen-grant=%s (shadow copies cannot follow grant addresses yet)",
			dir, mem ? mem : "auto", flag ? flag : "off");
		return -EOPNOTSUPP;
	}
	g_hash_table_replace(spec->opts, g_strdup("mem"), g_strdup("xen-mmap"));
	if (!g_hash_table_contains(spec->opts, "xen-flags"))
		g_hash_table_replace(spec->opts, g_strdup("xen-grant"), g_strdup("on"));
	return 0;
}

/* The guest's device for a slot, with libxl's placement and the grant mode applied. */
static struct vmm_devspec *slot_devspec(struct vmm *v, struct slot *sl, const char *dir,
					const char *vdev, const char *name, char **ret_text,
					GError **error)
{
	g_autofree char *ptype = g_strdup_printf("%s/type", dir);
	g_autofree char *pbase = g_strdup_printf("%s/base", dir);
	g_autofree char *pirq = g_strdup_printf("%s/irq", dir);
	g_autofree char *xl_type = sl->lay->slot_prefix ? xh_xs_read(v->xs, ptype) : NULL;
	g_autofree char *text = NULL, *full = NULL;
	struct vmm_slot_info si = { .domid = sl->domid, .name = name, .devid = sl->devid };
	struct vmm_devspec *spec;
	const char *where;
	uint64_t base, irq;
	bool grant = false;
	int r;

	if (xh_xs_read_u64(v->xs, pbase, &base) < 0 || xh_xs_read_u64(v->xs, pirq, &irq) < 0) {
		g_set_error(error, VMM_ERROR, EINVAL, "%s: base or irq missing or not a number",
			    dir);
		return NULL;
	}
	if (slot_check_mode(v, dir, &grant, error) < 0)
		return NULL;
	/* Xen 4.17's only virtio slot is a disk; 4.18 names the device in "type" */
	si.xl_type = sl->lay->slot_prefix ? xl_type : sl->lay->dir;
	si.device_id = sl->lay->slot_prefix ? vmm_xl_type_device_id(xl_type) : VIRTIO_ID_BLOCK;
	text = slot_spec(v, &si, vdev, &where, error);
	if (!text) {
		g_prefix_error(error, "dom%u (%s): ", sl->domid, name ? name : "?");
		return NULL;
	}
	full = g_strdup_printf("%s,base=0x%" PRIx64 ",irq=%" PRIu64, text, base, irq);
	/* libxl's placement gets the same checks as a command-line spec. */
	spec = vmm_devspec_parse(full, error);
	if (!spec) {
		g_prefix_error(error, "%s (%s): ", dir, where);
		return NULL;
	}
	r = grant ? slot_apply_grant(spec, dir, error) : 0;
	if (r < 0) {
		vmm_devspec_free(spec);
		return NULL;
	}
	*ret_text = g_strdup_printf("%s (%s%s)", text, where, grant ? ", grants" : "");
	return spec;
}

/* Bring a slot up: parse what libxl wrote, add the device, enable the server. */
static int slot_setup(struct vmm *v, struct slot *sl, const char *dir, GError **error)
{
	g_autofree char *pdev = g_strdup_printf("%s/dev", dir);
	g_autofree char *pname = g_strdup_printf("/local/domain/%u/name", sl->domid);
	g_autofree char *vdev = sl->lay->slot_prefix
					? g_strdup_printf("%s%s", sl->lay->slot_prefix, sl->devid)
					: xh_xs_read(v->xs, pdev);
	g_autofree char *name = xh_xs_read(v->xs, pname);
	g_autofree char *id = g_strdup(vdev ? vdev : sl->devid);
	g_autofree char *what = NULL;
	struct vmm_devspec *spec;
	struct vmm_guest *g;
	int r;

	spec = slot_devspec(v, sl, dir, vdev, name, &what, error);
	if (!spec)
		return -EINVAL;
	g = vmm_find_guest(v, sl->domid);
	if (!g) {
		g = vmm_guest_new(v, sl->domid, error);
		if (!g) {
			vmm_devspec_free(spec);
			return -EIO;
		}
		g_hash_table_insert(v->guests, GUINT_TO_POINTER(sl->domid), g);
		vmm_track_domain(v, sl->domid);
	}
	r = vmm_guest_add_device(g, spec, id, error);
	if (r == 0) {
		r = vmm_guest_enable(g, error);
		if (r < 0)
			vmm_guest_remove_device(g, spec->base);
	}
	sl->base = spec->base;
	vmm_devspec_free(spec);
	if (r < 0) {
		/* Only this slot fails: the guest's other devices stay served. */
		if (vmm_guest_nr_devices(g) == 0)
			vmm_remove_guest(v, sl->domid);
		return r;
	}
	sl->served = true;
	log_msg("dom%u (%s): virtio slot %s served as %s", sl->domid, name ? name : "?", id, what);
	return 0;
}

static void slot_teardown(struct vmm *v, struct slot *sl)
{
	struct vmm_guest *g = vmm_find_guest(v, sl->domid);

	if (!sl->served || !g)
		return;
	vmm_guest_remove_device(g, sl->base);
	sl->served = false;
	if (vmm_guest_nr_devices(g) == 0)
		vmm_remove_guest(v, sl->domid);
}

static void scan_slot(struct vmm *v, const struct layout *lay, const char *root, const char *dom,
		      const char *devid, GHashTable *seen)
{
	g_autofree char *dir = g_strdup_printf("%s/%s/%s", root, dom, devid);
	g_autofree char *pstate = g_strdup_printf("%s/state", dir);
	char *key = g_strdup_printf("%s/%s/%s", lay->dir, dom, devid);
	struct slot *sl = g_hash_table_lookup(v->slots, key);
	uint64_t state = 0, domid;
	char *end = NULL;

	domid = g_ascii_strtoull(dom, &end, 10);
	if (!*dom || *end || domid >= 0x7ff0) {
		g_free(key);
		return;
	}
	g_hash_table_add(seen, key);
	if (xh_xs_read_u64(v->xs, pstate, &state) < 0)
		return; /* libxl writes the nodes in one transaction: state comes with them */
	if (!sl) {
		sl = g_new0(struct slot, 1);
		sl->lay = lay;
		sl->domid = domid;
		sl->devid = g_strdup(devid);
		g_hash_table_insert(v->slots, g_strdup(key), sl);
	}
	if (state >= XB_INITIALISING && state < XB_CLOSING && !sl->served && !sl->refused) {
		g_autoptr(GError) err = NULL;

		if (slot_setup(v, sl, dir, &err) < 0) {
			log_warn("%s", err->message);
			sl->refused = true;
		} else if (state == XB_INITIALISING) {
			write_state(v, dir, XB_INITWAIT);
		}
	} else if (state == XB_CLOSING) {
		slot_teardown(v, sl);
		write_state(v, dir, XB_CLOSED);
		log_info("dom%u: virtio slot %s closed", sl->domid, sl->devid);
	}
}

/*
 * Rescan every slot of a layout: there are few, and a rescan never misses a coalesced
 * event. Slots whose nodes are gone (libxl removed them, or the domain died) go too.
 */
static void scan_slots(struct vmm *v, const struct layout *lay)
{
	g_autofree char *root = slots_path(v, lay);
	g_auto(GStrv) doms = xh_xs_ls(v->xs, root);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	struct slot *sl;
	char *key;
	unsigned i, j;

	for (i = 0; doms && doms[i]; i++) {
		g_autofree char *p = g_strdup_printf("%s/%s", root, doms[i]);
		g_auto(GStrv) devs = xh_xs_ls(v->xs, p);

		for (j = 0; devs && devs[j]; j++)
			scan_slot(v, lay, root, doms[i], devs[j], seen);
	}
	g_hash_table_iter_init(&it, v->slots);
	while (g_hash_table_iter_next(&it, (gpointer *)&key, (gpointer *)&sl)) {
		if (sl->lay != lay || g_hash_table_contains(seen, key))
			continue;
		slot_teardown(v, sl);
		g_hash_table_iter_remove(&it);
	}
}

static char *control_path(uint32_t domid)
{
	return g_strdup_printf("/local/domain/%u/control/shutdown", domid);
}

/*
 * A tracked domain is reaped when its xenstore node goes. Its control/shutdown node is
 * watched too: xl save and migrate ask the guest to suspend there (libxl's xenstore
 * suspend protocol, "suspend"), and xvdm has no device state to save.
 */
void vmm_track_domain(struct vmm *v, uint32_t domid)
{
	g_autofree char *p = control_path(domid);
	int r;

	if (!g_hash_table_add(v->tracked, GUINT_TO_POINTER(domid)) || !v->xs)
		return;
	r = xh_xs_watch(v->xs, p, TOKEN_CONTROL);
	if (r < 0)
		log_info("dom%u: cannot watch %s (%s): a save will not be reported", domid, p,
			 g_strerror(-r));
}

static void untrack_domain(struct vmm *v, uint32_t domid)
{
	g_autofree char *p = control_path(domid);

	g_hash_table_remove(v->tracked, GUINT_TO_POINTER(domid));
	if (v->xs)
		xh_xs_unwatch(v->xs, p, TOKEN_CONTROL);
}

/* Save/restore is not supported: say so when the toolstack starts one. */
static void control_event(struct vmm *v, const char *path)
{
	g_autofree char *value = NULL, *expect = NULL;
	unsigned domid;

	if (sscanf(path, "/local/domain/%u/", &domid) != 1 || !vmm_find_guest(v, domid))
		return;
	expect = control_path(domid);
	if (strcmp(path, expect))
		return;
	value = xh_xs_read(v->xs, path);
	if (!value || strcmp(value, "suspend"))
		return;
	log_warn("dom%u: the toolstack asks the guest to suspend (xl save or migrate): not "
		 "supported with xvdm, which keeps no device state to save (rings, negotiated "
		 "features, back-end sessions); a restored guest would find its virtio devices "
		 "reset. The devices stay served until the domain is gone",
		 domid);
}

/* @releaseDomain: drop the guests whose domain no longer exists. */
static void reap_guests(struct vmm *v)
{
	GHashTableIter it;
	gpointer key, val;
	GArray *gone = g_array_new(false, false, sizeof(uint32_t));
	guint i;

	g_hash_table_iter_init(&it, v->tracked);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		uint32_t domid = GPOINTER_TO_UINT(key);
		g_autofree char *p = g_strdup_printf("/local/domain/%u", domid);
		g_auto(GStrv) ls = xh_xs_ls(v->xs, p);

		if (!ls)
			g_array_append_val(gone, domid);
	}
	for (i = 0; i < gone->len; i++) {
		uint32_t domid = g_array_index(gone, uint32_t, i);

		untrack_domain(v, domid);
		if (vmm_find_guest(v, domid))
			log_msg("dom%u: domain is gone: releasing its devices", domid);
		vmm_remove_guest(v, domid);
		if (!v->slots)
			continue;
		g_hash_table_iter_init(&it, v->slots);
		while (g_hash_table_iter_next(&it, &key, &val))
			if (((struct slot *)val)->domid == domid) {
				((struct slot *)val)->served = false;
				g_hash_table_iter_remove(&it);
			}
	}
	g_array_free(gone, true);
	if (!v->watch && g_hash_table_size(v->guests) == 0) {
		log_msg("no guest left to serve: exiting");
		g_main_loop_quit(v->loop);
	}
}

void vmm_watch_event(struct vmm *v, const char *path, const char *token)
{
	unsigned i;

	if (!strcmp(token, TOKEN_RELEASE)) {
		reap_guests(v);
		return;
	}
	if (!strcmp(token, TOKEN_CONTROL)) {
		control_event(v, path);
		return;
	}
	for (i = 0; i < G_N_ELEMENTS(layouts) && v->slots; i++)
		if (!strcmp(token, layouts[i].dir))
			scan_slots(v, &layouts[i]);
}

int vmm_watch_start(struct vmm *v, GError **error)
{
	unsigned i;
	int r = 0;

	if (v->watch) {
		v->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						 (GDestroyNotify)slot_free);
		for (i = 0; i < G_N_ELEMENTS(layouts) && r == 0; i++) {
			g_autofree char *root = slots_path(v, &layouts[i]);

			r = xh_xs_watch(v->xs, root, layouts[i].dir);
			if (r == 0)
				log_msg("watching %s for virtio slots", root);
		}
	}
	if (r == 0)
		r = xh_xs_watch(v->xs, "@releaseDomain", TOKEN_RELEASE);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "cannot set a xenstore watch: %s",
			    g_strerror(-r));
		return r;
	}
	return 0;
}

void vmm_watch_stop(struct vmm *v)
{
	unsigned i;

	GHashTableIter it;
	gpointer key;

	if (!v->xs)
		return;
	xh_xs_unwatch(v->xs, "@releaseDomain", TOKEN_RELEASE);
	g_hash_table_iter_init(&it, v->tracked);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		g_autofree char *p = control_path(GPOINTER_TO_UINT(key));

		xh_xs_unwatch(v->xs, p, TOKEN_CONTROL);
	}
	if (!v->slots)
		return;
	for (i = 0; i < G_N_ELEMENTS(layouts); i++) {
		g_autofree char *root = slots_path(v, &layouts[i]);

		xh_xs_unwatch(v->xs, root, layouts[i].dir);
	}
	g_hash_table_destroy(v->slots);
	v->slots = NULL;
}
