/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxl's device-model command line (libxl_dm.c, libxl__build_device_model_args_new)
 * into a struct vmm_guest_config:
 *
 *   -xen-domid N -no-shutdown -chardev socket,id=libxl-cmd,path=P,server=on,wait=off
 *   -mon chardev=libxl-cmd,mode=control -chardev socket,id=libxenstat-cmd,... -mon ...
 *   -nodefaults -no-user-config -xen-attach -name NAME -vnc none -display none -nographic
 *   <device_model_args> -machine xenpv <device_model_args_pv> -m MB
 *
 * device_model_args use QEMU's spellings: -chardev socket,id=X,path=P with
 * -device vhost-user-blk-pci,chardev=X (the -pci variants go on virtio-pci, the plain
 * and -device variants on virtio-mmio), -netdev vhost-user,id=N,chardev=X with
 * -device virtio-net-pci,netdev=N, and -machine xenpvh,pci-ecam-base=... (QEMU's
 * hw/xen/xen-pvh-common.c properties) for the PCI windows and the virtio-mmio slots.
 * QEMU option values: "key=value,..." with ",," for a comma, a leading implied key.
 *
 * Trust boundary: the toolstack's and the operator's input (the xl config). Options
 * that do not concern a virtio device model are accepted and named in one log line;
 * unknown options, devices and keys are errors that name them.
 */
#include <errno.h>
#include <string.h>

#include "vmm/dm-internal.h"

void dm_kv_free(struct dm_kv *kv)
{
	g_free(kv->key);
	g_free(kv->val);
	g_free(kv);
}

GPtrArray *dm_qopts_parse(const char *s, const char *implied)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)dm_kv_free);
	GString *item = g_string_new(NULL);
	const char *p = s;

	for (;;) {
		if (*p == ',' && p[1] == ',') {
			g_string_append_c(item, ',');
			p += 2;
			continue;
		}
		if (*p && *p != ',') {
			g_string_append_c(item, *p++);
			continue;
		}
		if (item->len) {
			struct dm_kv *kv = g_new0(struct dm_kv, 1);
			char *eq = strchr(item->str, '=');

			if (eq) {
				kv->key = g_strndup(item->str, eq - item->str);
				kv->val = g_strdup(eq + 1);
			} else if (a->len == 0 && implied) {
				kv->key = g_strdup(implied);
				kv->val = g_strdup(item->str);
			} else if (g_str_has_prefix(item->str, "no") && item->str[2]) {
				kv->key = g_strdup(item->str + 2); /* QEMU's old "nowait" */
				kv->val = g_strdup("off");
			} else {
				kv->key = g_strdup(item->str);
				kv->val = g_strdup("on");
			}
			g_ptr_array_add(a, kv);
			if (!*kv->key) {
				g_ptr_array_free(a, true);
				g_string_free(item, true);
				return NULL;
			}
		}
		g_string_truncate(item, 0);
		if (!*p)
			break;
		p++;
	}
	g_string_free(item, true);
	return a;
}

const char *dm_qopt(GPtrArray *a, const char *key)
{
	const char *v = NULL;

	for (guint i = 0; i < a->len; i++) {
		struct dm_kv *kv = a->pdata[i];

		if (!strcmp(kv->key, key))
			v = kv->val; /* the last one wins, as in QEMU */
	}
	return v;
}

bool dm_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end = NULL;
	guint64 v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

static bool is_on(const char *v)
{
	return v && (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

/* ---- the parse ---- */

static void chardev_free(struct dm_chardev *c)
{
	g_free(c->id);
	g_free(c->path);
	g_free(c->reconnect);
	g_free(c);
}

static int opt_domid(struct dm_parse *ps, const char *arg, GError **error)
{
	uint64_t n;

	if (!dm_parse_u64(arg, 0x7fef, &n)) {
		g_set_error(error, VMM_ERROR, EINVAL, "-xen-domid '%s' is not a domain id", arg);
		return -EINVAL;
	}
	ps->a->domid = n;
	return 0;
}

static int opt_chardev(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "backend");
	struct dm_chardev *c;
	const char *id, *fd;
	uint64_t n;

	if (!o || !(id = dm_qopt(o, "id")) || !*id) {
		g_set_error(error, VMM_ERROR, EINVAL, "-chardev '%s': no id=", arg);
		return -EINVAL;
	}
	if (strcmp(dm_qopt(o, "backend") ? dm_qopt(o, "backend") : "", "socket")) {
		g_ptr_array_add(ps->a->notes, g_strdup_printf("-chardev %s (not a socket)", id));
		return 0;
	}
	c = g_new0(struct dm_chardev, 1);
	c->id = g_strdup(id);
	c->path = g_strdup(dm_qopt(o, "path"));
	c->fd = -1;
	c->server = is_on(dm_qopt(o, "server"));
	c->reconnect = g_strdup(dm_qopt(o, "reconnect"));
	fd = dm_qopt(o, "fd");
	if (fd && dm_parse_u64(fd, G_MAXINT, &n))
		c->fd = n;
	if ((!c->path || !*c->path) && c->fd < 0) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-chardev '%s': a socket needs path= or fd= (host=/port= TCP sockets "
			    "are not supported)",
			    arg);
		chardev_free(c);
		return -EINVAL;
	}
	g_hash_table_replace(ps->chardevs, c->id, c);
	return 0;
}

static int opt_mon(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "chardev");
	const char *id = o ? dm_qopt(o, "chardev") : NULL;
	const char *mode = o ? dm_qopt(o, "mode") : NULL;

	if (!id) {
		g_set_error(error, VMM_ERROR, EINVAL, "-mon '%s': no chardev=", arg);
		return -EINVAL;
	}
	if (mode && strcmp(mode, "control")) {
		g_ptr_array_add(ps->a->notes, g_strdup_printf("-mon %s (mode=%s)", id, mode));
		return 0;
	}
	g_ptr_array_add(ps->mon_ids, g_strdup(id));
	return 0;
}

static int opt_netdev(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "type");
	const char *type = o ? dm_qopt(o, "type") : NULL, *id = o ? dm_qopt(o, "id") : NULL;

	if (!type || !id || strcmp(type, "vhost-user") || !dm_qopt(o, "chardev")) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-netdev '%s': xvdm serves only -netdev vhost-user,id=ID,chardev=CHR "
			    "(emulated NICs and taps need QEMU)",
			    arg);
		return -EINVAL;
	}
	g_hash_table_replace(ps->netdevs, g_strdup(id), g_strdup(dm_qopt(o, "chardev")));
	return 0;
}

static int opt_machine(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "type");

	if (!o) {
		g_set_error(error, VMM_ERROR, EINVAL, "-machine '%s': empty key", arg);
		return -EINVAL;
	}
	/* QEMU merges every -machine: the last type wins, properties accumulate */
	for (guint i = 0; i < o->len; i++) {
		struct dm_kv *kv = o->pdata[i];

		if (!strcmp(kv->key, "type")) {
			g_free(ps->a->machine);
			ps->a->machine = g_strdup(kv->val);
		} else {
			struct dm_kv *copy = g_new0(struct dm_kv, 1);

			copy->key = g_strdup(kv->key);
			copy->val = g_strdup(kv->val);
			g_ptr_array_add(ps->machine, copy);
		}
	}
	ps->machine_seen = true;
	return 0;
}

static int opt_m(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "size");
	const char *v = o ? dm_qopt(o, "size") : NULL;
	g_autofree char *num = g_strdup(v ? v : "");
	size_t len = strlen(num);
	uint64_t mul = 1, n;

	if (len && (num[len - 1] == 'M' || num[len - 1] == 'G')) {
		mul = num[len - 1] == 'G' ? 1024 : 1;
		num[len - 1] = '\0';
	}
	if (!dm_parse_u64(num, UINT32_MAX, &n) || !n) {
		g_set_error(error, VMM_ERROR, EINVAL, "-m '%s' is not a size in MiB", arg);
		return -EINVAL;
	}
	ps->a->ram_mb = n * mul;
	return 0;
}

static int opt_name(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "guest");

	g_free(ps->a->name);
	ps->a->name = g_strdup(o && dm_qopt(o, "guest") ? dm_qopt(o, "guest") : arg);
	return 0;
}

static int opt_device(struct dm_parse *ps, const char *arg, GError **error)
{
	g_ptr_array_add(ps->devices, g_strdup(arg));
	return 0;
}

static int opt_paused(struct dm_parse *ps, const char *arg, GError **error)
{
	ps->a->start_paused = true;
	return 0;
}

static int opt_restrict(struct dm_parse *ps, const char *arg, GError **error)
{
	ps->a->restrict_xen = true;
	return 0;
}

static int opt_runas(struct dm_parse *ps, const char *arg, GError **error)
{
	if (!*arg) {
		g_set_error(error, VMM_ERROR, EINVAL, "-runas: no user");
		return -EINVAL;
	}
	g_free(ps->a->runas);
	ps->a->runas = g_strdup(arg);
	return 0;
}

static int opt_run_with(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, NULL);

	for (guint i = 0; o && i < o->len; i++) {
		struct dm_kv *kv = o->pdata[i];

		if (!strcmp(kv->key, "user")) {
			if (opt_runas(ps, kv->val, error) < 0)
				return -EINVAL;
		} else {
			g_ptr_array_add(ps->a->notes, g_strdup_printf("-run-with %s", kv->key));
		}
	}
	return 0;
}

static int opt_pidfile(struct dm_parse *ps, const char *arg, GError **error)
{
	g_free(ps->a->pidfile);
	ps->a->pidfile = g_strdup(arg);
	return 0;
}

static int opt_verbose(struct dm_parse *ps, const char *arg, GError **error)
{
	ps->a->verbosity++;
	return 0;
}

static int opt_quiet(struct dm_parse *ps, const char *arg, GError **error)
{
	ps->a->verbosity = -1;
	return 0;
}

static int opt_net(struct dm_parse *ps, const char *arg, GError **error)
{
	if (strcmp(arg, "none")) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-net %s: emulated NICs need QEMU (xvdm serves virtio devices only)",
			    arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_refuse(struct dm_parse *ps, const char *arg, GError **error)
{
	return -ENOTSUP; /* the caller names the option and why */
}

struct dm_opt {
	const char *name;
	bool has_arg;
	int (*fn)(struct dm_parse *ps, const char *arg, GError **error); /* NULL: ignored */
	const char *why;						 /* ignored / refused */
};

/* Every option libxl_dm.c emits for qemu-xen (PV, PVH, HVM), plus xvdm's own. */
static const struct dm_opt dm_opts[] = {
	{ "-xen-domid", true, opt_domid, NULL },
	{ "-chardev", true, opt_chardev, NULL },
	{ "-mon", true, opt_mon, NULL },
	{ "-name", true, opt_name, NULL },
	{ "-device", true, opt_device, NULL },
	{ "-netdev", true, opt_netdev, NULL },
	{ "-machine", true, opt_machine, NULL },
	{ "-M", true, opt_machine, NULL },
	{ "-m", true, opt_m, NULL },
	{ "-S", false, opt_paused, NULL },
	{ "-xen-domid-restrict", false, opt_restrict, NULL },
	{ "--restrict", false, opt_restrict, NULL },
	{ "-runas", true, opt_runas, NULL },
	{ "--runas", true, opt_runas, NULL },
	{ "-run-with", true, opt_run_with, NULL },
	{ "-pidfile", true, opt_pidfile, NULL },
	{ "--pidfile", true, opt_pidfile, NULL },
	{ "-net", true, opt_net, NULL },
	{ "-v", false, opt_verbose, NULL },
	{ "--verbose", false, opt_verbose, NULL },
	{ "-q", false, opt_quiet, NULL },
	{ "-no-shutdown", false, NULL, "guest shutdown is Xen's" },
	{ "-nodefaults", false, NULL, "xvdm has no default devices" },
	{ "-no-user-config", false, NULL, "xvdm reads no QEMU config" },
	{ "-xen-attach", false, NULL, "xvdm always attaches" },
	{ "-nographic", false, NULL, "no display" },
	{ "-no-acpi", false, NULL, "no ACPI" },
	{ "-usb", false, NULL, "no USB" },
	{ "-sdl", false, NULL, "no display" },
	{ "-vnc", true, NULL, "no display" },
	{ "-display", true, NULL, "no display" },
	{ "-k", true, NULL, "no display" },
	{ "-spice", true, NULL, "no display" },
	{ "-serial", true, NULL, "no emulated serial port" },
	{ "-boot", true, NULL, "firmware boot order" },
	{ "-smp", true, NULL, "vCPUs come from Xen" },
	{ "-kernel", true, NULL, "Xen loads the kernel" },
	{ "-initrd", true, NULL, "Xen loads the initrd" },
	{ "-append", true, NULL, "Xen passes the command line" },
	{ "-chroot", true, NULL, "not applied: vhost-user reconnects need the socket paths" },
	{ "-object", true, NULL, "guest RAM is Xen's, not a memory backend" },
	{ "-numa", true, NULL, "guest RAM is Xen's" },
	{ "-incoming", true, opt_refuse,
	  "save, restore and migration are not supported by xvdm (the guest's virtio "
	  "devices cannot be saved)" },
	{ "-drive", true, opt_refuse,
	  "emulated disks need QEMU; give a vhost-user-blk device with a "
	  "qemu-storage-daemon export" },
	{ "-usbdevice", true, opt_refuse, "USB devices need QEMU" },
	{ "-soundhw", true, opt_refuse, "emulated sound cards need QEMU" },
	{ "-daemonize", false, opt_refuse, "libxl keeps the device model as its child" },
};

static const struct dm_opt *find_opt(const char *name)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(dm_opts); i++)
		if (!strcmp(dm_opts[i].name, name))
			return &dm_opts[i];
	return NULL;
}

static int parse_argv(struct dm_parse *ps, int argc, char **argv, GError **error)
{
	for (int i = 1; i < argc; i++) {
		const struct dm_opt *o = find_opt(argv[i]);
		const char *arg = NULL;
		int r;

		if (!o) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "unknown option '%s' (xvdm takes the options libxl passes to a "
				    "device model; see README \"libxl device model\")",
				    argv[i]);
			return -EINVAL;
		}
		if (o->has_arg) {
			if (i + 1 >= argc) {
				g_set_error(error, VMM_ERROR, EINVAL, "%s needs a value", argv[i]);
				return -EINVAL;
			}
			arg = argv[++i];
		}
		if (!o->fn) {
			g_ptr_array_add(ps->a->notes,
					arg ? g_strdup_printf("%s %s (%s)", o->name, arg, o->why)
					    : g_strdup_printf("%s (%s)", o->name, o->why));
			continue;
		}
		r = o->fn(ps, arg ? arg : "", error);
		if (r == -ENOTSUP)
			g_set_error(error, VMM_ERROR, ENOTSUP, "%s%s%s: %s", o->name,
				    arg ? " " : "", arg ? arg : "", o->why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int resolve_monitors(struct dm_parse *ps, GError **error)
{
	for (guint i = 0; i < ps->mon_ids->len; i++) {
		struct dm_chardev *c = g_hash_table_lookup(ps->chardevs, ps->mon_ids->pdata[i]);
		struct vmm_dm_monitor *m;

		if (!c) {
			g_set_error(error, VMM_ERROR, ENOENT, "-mon chardev=%s: no such -chardev",
				    (char *)ps->mon_ids->pdata[i]);
			return -ENOENT;
		}
		if (c->fd < 0 && !c->server) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "-chardev %s: a QMP monitor must be server=on", c->id);
			return -EINVAL;
		}
		m = g_new0(struct vmm_dm_monitor, 1);
		m->id = g_strdup(c->id);
		m->path = g_strdup(c->path);
		m->fd = c->fd;
		g_ptr_array_add(ps->a->mons, m);
	}
	return 0;
}

static int finish(struct dm_parse *ps, GError **error)
{
	struct vmm_dm_args *a = ps->a;
	struct dm_mmio_place mp = { VMM_DM_MMIO_BASE_DEFAULT, VMM_DM_MMIO_IRQ_DEFAULT, 0 };

	a->probe = a->domid < 0 && a->machine && !strcmp(a->machine, "none");
	a->hvm = a->machine && (!strcmp(a->machine, "xenfv") || g_str_has_prefix(a->machine, "pc"));
	if (resolve_monitors(ps, error) < 0)
		return -EINVAL;
	if (a->probe)
		return 0;
	if (a->domid < 0) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "no -xen-domid (and not libxl's probe, -machine none)");
		return -EINVAL;
	}
	a->guest->domid = a->domid;
	if (a->machine && strcmp(a->machine, "xenpv") && strcmp(a->machine, "xenpvh") && !a->hvm) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-machine %s: xvdm serves Xen guests (xenpv, xenpvh; xenfv is "
			    "recognised and refused)",
			    a->machine);
		return -EINVAL;
	}
	if (dm_machine_props(ps, &mp, error) < 0)
		return -EINVAL;
	return dm_resolve_devices(ps, &mp, error);
}

bool vmm_dm_argv_is_libxl(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-xen-domid") || !strcmp(argv[i], "-machine") ||
		    !strcmp(argv[i], "-M"))
			return true;
	return false;
}

struct vmm_dm_args *vmm_dm_args_parse(int argc, char **argv, GError **error)
{
	struct vmm_dm_args *a = g_new0(struct vmm_dm_args, 1);
	struct dm_parse ps = { .a = a };
	int r;

	a->domid = -1;
	a->mons = g_ptr_array_new();
	a->notes = g_ptr_array_new_with_free_func(g_free);
	a->config = vmm_config_new();
	a->guest = g_new0(struct vmm_guest_config, 1);
	a->guest->has_domid = true;
	a->guest->devices = g_ptr_array_new_with_free_func((GDestroyNotify)vmm_devspec_free);
	a->guest->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->guest->pci = a->config->pci;
	g_ptr_array_add(a->config->guests, a->guest);
	ps.chardevs =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)chardev_free);
	ps.netdevs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ps.mon_ids = g_ptr_array_new_with_free_func(g_free);
	ps.devices = g_ptr_array_new_with_free_func(g_free);
	ps.machine = g_ptr_array_new_with_free_func((GDestroyNotify)dm_kv_free);

	r = parse_argv(&ps, argc, argv, error);
	if (r == 0)
		r = finish(&ps, error);
	g_hash_table_destroy(ps.chardevs);
	g_hash_table_destroy(ps.netdevs);
	g_ptr_array_free(ps.mon_ids, true);
	g_ptr_array_free(ps.devices, true);
	g_ptr_array_free(ps.machine, true);
	if (r < 0) {
		vmm_dm_args_free(a);
		return NULL;
	}
	return a;
}

static void monitor_free(struct vmm_dm_monitor *m)
{
	g_free(m->id);
	g_free(m->path);
	g_free(m);
}

void vmm_dm_args_free(struct vmm_dm_args *a)
{
	if (!a)
		return;
	g_ptr_array_set_free_func(a->mons, (GDestroyNotify)monitor_free);
	g_ptr_array_free(a->mons, true);
	g_ptr_array_free(a->notes, true);
	vmm_config_free(a->config);
	g_free(a->name);
	g_free(a->machine);
	g_free(a->runas);
	g_free(a->pidfile);
	g_free(a);
}
