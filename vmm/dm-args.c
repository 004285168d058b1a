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

#include "devices/catalogue.h"
#include "virtio-mmio/vmmio.h"
#include "vmm/vmm.h"

struct kv {
	char *key, *val;
};

static void kv_free(struct kv *kv)
{
	g_free(kv->key);
	g_free(kv->val);
	g_free(kv);
}

/* "a=1,b,,c=2,noX" with implied key for a leading bare value; NULL on an empty key. */
static GPtrArray *qopts_parse(const char *s, const char *implied)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)kv_free);
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
			struct kv *kv = g_new0(struct kv, 1);
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

static const char *qopt(GPtrArray *a, const char *key)
{
	const char *v = NULL;

	for (guint i = 0; i < a->len; i++) {
		struct kv *kv = a->pdata[i];

		if (!strcmp(kv->key, key))
			v = kv->val; /* the last one wins, as in QEMU */
	}
	return v;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *ret)
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

struct chardev {
	char *id, *path;
	int fd;
	bool server;
	char *reconnect;
};

static void chardev_free(struct chardev *c)
{
	g_free(c->id);
	g_free(c->path);
	g_free(c->reconnect);
	g_free(c);
}

struct parse {
	struct vmm_dm_args *a;
	GHashTable *chardevs; /* id -> struct chardev * */
	GHashTable *netdevs;  /* id -> chardev id */
	GPtrArray *mon_ids;   /* chardev ids of -mon mode=control */
	GPtrArray *devices;   /* -device values, resolved at the end */
	GPtrArray *machine;   /* every -machine's properties (struct kv *) */
	bool machine_seen;
};

static int opt_domid(struct parse *ps, const char *arg, GError **error)
{
	uint64_t n;

	if (!parse_u64(arg, 0x7fef, &n)) {
		g_set_error(error, VMM_ERROR, EINVAL, "-xen-domid '%s' is not a domain id", arg);
		return -EINVAL;
	}
	ps->a->domid = n;
	return 0;
}

static int opt_chardev(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "backend");
	struct chardev *c;
	const char *id, *fd;
	uint64_t n;

	if (!o || !(id = qopt(o, "id")) || !*id) {
		g_set_error(error, VMM_ERROR, EINVAL, "-chardev '%s': no id=", arg);
		return -EINVAL;
	}
	if (strcmp(qopt(o, "backend") ? qopt(o, "backend") : "", "socket")) {
		g_ptr_array_add(ps->a->notes, g_strdup_printf("-chardev %s (not a socket)", id));
		return 0;
	}
	c = g_new0(struct chardev, 1);
	c->id = g_strdup(id);
	c->path = g_strdup(qopt(o, "path"));
	c->fd = -1;
	c->server = is_on(qopt(o, "server"));
	c->reconnect = g_strdup(qopt(o, "reconnect"));
	fd = qopt(o, "fd");
	if (fd && parse_u64(fd, G_MAXINT, &n))
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

static int opt_mon(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "chardev");
	const char *id = o ? qopt(o, "chardev") : NULL;
	const char *mode = o ? qopt(o, "mode") : NULL;

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

static int opt_netdev(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "type");
	const char *type = o ? qopt(o, "type") : NULL, *id = o ? qopt(o, "id") : NULL;

	if (!type || !id || strcmp(type, "vhost-user") || !qopt(o, "chardev")) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-netdev '%s': xvdm serves only -netdev vhost-user,id=ID,chardev=CHR "
			    "(emulated NICs and taps need QEMU)",
			    arg);
		return -EINVAL;
	}
	g_hash_table_replace(ps->netdevs, g_strdup(id), g_strdup(qopt(o, "chardev")));
	return 0;
}

static int opt_machine(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "type");

	if (!o) {
		g_set_error(error, VMM_ERROR, EINVAL, "-machine '%s': empty key", arg);
		return -EINVAL;
	}
	/* QEMU merges every -machine: the last type wins, properties accumulate */
	for (guint i = 0; i < o->len; i++) {
		struct kv *kv = o->pdata[i];

		if (!strcmp(kv->key, "type")) {
			g_free(ps->a->machine);
			ps->a->machine = g_strdup(kv->val);
		} else {
			struct kv *copy = g_new0(struct kv, 1);

			copy->key = g_strdup(kv->key);
			copy->val = g_strdup(kv->val);
			g_ptr_array_add(ps->machine, copy);
		}
	}
	ps->machine_seen = true;
	return 0;
}

static int opt_m(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "size");
	const char *v = o ? qopt(o, "size") : NULL;
	g_autofree char *num = g_strdup(v ? v : "");
	size_t len = strlen(num);
	uint64_t mul = 1, n;

	if (len && (num[len - 1] == 'M' || num[len - 1] == 'G')) {
		mul = num[len - 1] == 'G' ? 1024 : 1;
		num[len - 1] = '\0';
	}
	if (!parse_u64(num, UINT32_MAX, &n) || !n) {
		g_set_error(error, VMM_ERROR, EINVAL, "-m '%s' is not a size in MiB", arg);
		return -EINVAL;
	}
	ps->a->ram_mb = n * mul;
	return 0;
}

static int opt_name(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "guest");

	g_free(ps->a->name);
	ps->a->name = g_strdup(o && qopt(o, "guest") ? qopt(o, "guest") : arg);
	return 0;
}

static int opt_device(struct parse *ps, const char *arg, GError **error)
{
	g_ptr_array_add(ps->devices, g_strdup(arg));
	return 0;
}

static int opt_paused(struct parse *ps, const char *arg, GError **error)
{
	ps->a->start_paused = true;
	return 0;
}

static int opt_restrict(struct parse *ps, const char *arg, GError **error)
{
	ps->a->restrict_xen = true;
	return 0;
}

static int opt_runas(struct parse *ps, const char *arg, GError **error)
{
	if (!*arg) {
		g_set_error(error, VMM_ERROR, EINVAL, "-runas: no user");
		return -EINVAL;
	}
	g_free(ps->a->runas);
	ps->a->runas = g_strdup(arg);
	return 0;
}

static int opt_run_with(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, NULL);

	for (guint i = 0; o && i < o->len; i++) {
		struct kv *kv = o->pdata[i];

		if (!strcmp(kv->key, "user")) {
			if (opt_runas(ps, kv->val, error) < 0)
				return -EINVAL;
		} else {
			g_ptr_array_add(ps->a->notes, g_strdup_printf("-run-with %s", kv->key));
		}
	}
	return 0;
}

static int opt_pidfile(struct parse *ps, const char *arg, GError **error)
{
	g_free(ps->a->pidfile);
	ps->a->pidfile = g_strdup(arg);
	return 0;
}

static int opt_verbose(struct parse *ps, const char *arg, GError **error)
{
	ps->a->verbosity++;
	return 0;
}

static int opt_quiet(struct parse *ps, const char *arg, GError **error)
{
	ps->a->verbosity = -1;
	return 0;
}

static int opt_net(struct parse *ps, const char *arg, GError **error)
{
	if (strcmp(arg, "none")) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "-net %s: emulated NICs need QEMU (xvdm serves virtio devices only)",
			    arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_refuse(struct parse *ps, const char *arg, GError **error)
{
	return -ENOTSUP; /* the caller names the option and why */
}

struct dm_opt {
	const char *name;
	bool has_arg;
	int (*fn)(struct parse *ps, const char *arg, GError **error); /* NULL: ignored */
	const char *why;					      /* ignored / refused */
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

static int parse_argv(struct parse *ps, int argc, char **argv, GError **error)
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

/* ---- -machine properties: QEMU's xenpvh names (hw/xen/xen-pvh-common.c) ---- */

struct machine_place {
	uint64_t mmio_base, mmio_irq, mmio_num;
};

static const char *const machine_ignored[] = {
	"accel",
	"suppress-vmdesc",
	"max-ram-below-4g",
	"igd-passthru",
	"ram-low-base",
	"ram-low-size",
	"ram-high-base",
	"ram-high-size",
	"tpm-base-addr",
	"tpm-base",
	"tpm-size",
	"virtio-mmio-size",
	"max-cpus",
	"usb",
	"dump-guest-core",
	"mem-merge",
	NULL,
};

/* The pci-* properties as a vmm_pci_config spec ("mode=ecam,ecam=...,mem=B:S,..."). */
static int machine_pci(struct parse *ps, GString *spec, GError **error)
{
	static const struct {
		const char *base, *size, *key;
	} win[] = {
		{ "pci-mmio-base", "pci-mmio-size", "mem" },
		{ "pci-mmio-high-base", "pci-mmio-high-size", "pref" },
	};
	const char *v;
	uint64_t n, m;

	if ((v = qopt(ps->machine, "pci-ecam-base")))
		g_string_append_printf(spec, ",ecam=%s", v);
	if ((v = qopt(ps->machine, "pci-ecam-size"))) {
		if (!parse_u64(v, UINT64_MAX, &n) || n < (1 << 20)) {
			g_set_error(error, VMM_ERROR, EINVAL, "-machine pci-ecam-size=%s", v);
			return -EINVAL;
		}
		/* 1 MiB per bus; xvdm claims at most VMM_PCI_MAX_BUSES of them */
		g_string_append_printf(spec, ",buses=%" G_GUINT64_FORMAT,
				       MIN(n >> 20, (uint64_t)VMM_PCI_MAX_BUSES));
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(win); i++) {
		const char *b = qopt(ps->machine, win[i].base), *s = qopt(ps->machine, win[i].size);

		if (!b && !s)
			continue;
		if (!b || !s || !parse_u64(b, UINT64_MAX, &n) || !parse_u64(s, UINT64_MAX, &m)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "-machine: %s and %s must both be numbers", win[i].base,
				    win[i].size);
			return -EINVAL;
		}
		g_string_append_printf(spec,
				       ",%s=0x%" G_GINT64_MODIFIER "x:0x%" G_GINT64_MODIFIER "x",
				       win[i].key, n, m);
	}
	if ((v = qopt(ps->machine, "pci-intx-irq-base")))
		g_string_append_printf(spec, ",irq=%s", v);
	return 0;
}

static int machine_props(struct parse *ps, struct machine_place *mp, GError **error)
{
	g_autoptr(GString) spec = g_string_new("mode=ecam");
	struct vmm_guest_config *gc = ps->a->guest;
	bool pci = false;

	for (guint i = 0; i < ps->machine->len; i++) {
		struct kv *kv = ps->machine->pdata[i];
		const char *const *k;
		uint64_t *dst = NULL;

		if (g_str_has_prefix(kv->key, "pci-")) {
			pci = true;
			continue;
		}
		if (!strcmp(kv->key, "virtio-mmio-base"))
			dst = &mp->mmio_base;
		else if (!strcmp(kv->key, "virtio-mmio-irq-base"))
			dst = &mp->mmio_irq;
		else if (!strcmp(kv->key, "virtio-mmio-num"))
			dst = &mp->mmio_num;
		if (dst) {
			if (!parse_u64(kv->val, UINT64_MAX, dst)) {
				g_set_error(error, VMM_ERROR, EINVAL,
					    "-machine %s=%s: not a number", kv->key, kv->val);
				return -EINVAL;
			}
			continue;
		}
		for (k = machine_ignored; *k && strcmp(*k, kv->key); k++)
			;
		if (!*k) {
			g_set_error(
				error, VMM_ERROR, EINVAL,
				"-machine: unknown property '%s' (xvdm knows xenpvh's pci-ecam-*, "
				"pci-mmio-*, pci-mmio-high-*, pci-intx-irq-base, virtio-mmio-*)",
				kv->key);
			return -EINVAL;
		}
	}
	if (!pci)
		return 0;
	if (machine_pci(ps, spec, error) < 0)
		return -EINVAL;
	vmm_pci_config_default(&gc->pci, VMM_PCI_ECAM);
	if (vmm_pci_config_parse(spec->str, &gc->pci, error) < 0 ||
	    vmm_pci_config_check(&gc->pci, error) < 0) {
		g_prefix_error(error, "-machine PCI properties: ");
		return -EINVAL;
	}
	gc->has_pci = true;
	return 0;
}

/* ---- -device: QEMU driver names to xvdm device types ---- */

static const struct {
	const char *qemu, *type;
} dev_names[] = {
	{ "vhost-user-blk", "vhost-user-blk" },
	{ "vhost-user-fs", "vhost-user-fs" },
	{ "vhost-user-gpu", "vhost-user-gpu" },
	{ "vhost-user-snd", "vhost-user-snd" },
	{ "vhost-user-rng", "vhost-user-rng" },
	{ "vhost-user-i2c", "vhost-user-i2c" },
	{ "vhost-user-gpio", "vhost-user-gpio" },
	{ "vhost-user-scmi", "vhost-user-scmi" },
	{ "vhost-user-vsock", "vhost-user-vsock" },
	{ "vhost-user-input", "vhost-user-input" },
	{ "vhost-user-can", "vhost-user-can" },
	{ "vhost-user-console", "vhost-user-console" },
	{ "vhost-user", "vhost-user-device" }, /* vhost-user-device(-pci) */
	{ "virtio-net", "vhost-user-net" },    /* with -netdev vhost-user */
	{ "virtio-rng", "rng" },	       /* xvdm's own entropy device */
};

/* "vhost-user-blk-pci" -> vhost-user-blk on PCI; "-device" suffix or none: virtio-mmio. */
static const char *map_driver(const char *drv, enum vmm_transport *ret)
{
	g_autofree char *base = g_strdup(drv);

	*ret = VMM_TRANSPORT_MMIO;
	if (g_str_has_suffix(base, "-pci")) {
		*ret = VMM_TRANSPORT_PCI;
		base[strlen(base) - 4] = '\0';
	}
	if (g_str_has_suffix(base, "-device"))
		base[strlen(base) - 7] = '\0';
	for (unsigned i = 0; i < G_N_ELEMENTS(dev_names); i++)
		if (!strcmp(dev_names[i].qemu, base))
			return dev_names[i].type;
	return NULL;
}

/* QEMU device keys that mean nothing here (transport tuning xvdm decides itself). */
static const char *const dev_ignored[] = {
	"id",
	"bus",
	"bootindex",
	"disable-legacy",
	"disable-modern",
	"iommu_platform",
	"ats",
	"event_idx",
	"indirect_desc",
	"config-wce",
	"seg-max-adjust",
	"vectors",
	"rombar",
	"use-started",
	"ioeventfd",
	"guest-cid",
	"edid",
	"rng",
	"packed",
	"x-pcie-lnksta-dllla",
	NULL,
};

static const struct {
	const char *qemu, *ours;
} dev_keys[] = {
	{ "num_vqs", "num-queues" },
	{ "virtio-id", "device-id" },
	{ "config_size", "config-size" },
	{ "max_outputs", "scanouts" },
	{ "xres", "width" },
	{ "yres", "height" },
};

static bool type_has_key(const char *type, const char *key)
{
	const struct vdev_type *t = vdev_type_find(type);

	for (const char *const *k = t ? t->option_keys : NULL; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

static int dev_backend(struct parse *ps, struct vmm_devspec *s, const char *key, const char *val,
		       GError **error)
{
	struct chardev *c;

	if (!strcmp(key, "netdev")) {
		const char *id = g_hash_table_lookup(ps->netdevs, val);

		if (!id) {
			g_set_error(error, VMM_ERROR, ENOENT, "netdev=%s: no such -netdev", val);
			return -ENOENT;
		}
		val = id;
	}
	c = g_hash_table_lookup(ps->chardevs, val);
	if (!c || !c->path) {
		g_set_error(error, VMM_ERROR, ENOENT,
			    "chardev=%s: no -chardev socket,id=%s,path=... for it", val, val);
		return -ENOENT;
	}
	g_hash_table_replace(s->opts, g_strdup("socket"), g_strdup(c->path));
	if (c->server)
		g_hash_table_replace(s->opts, g_strdup("server"), g_strdup("on"));
	if (c->reconnect)
		g_hash_table_replace(s->opts, g_strdup("reconnect"), g_strdup(c->reconnect));
	return 0;
}

/* "03.0", "0x3", "1f": QEMU's PCI addr= (hex slot, function 0 only). */
static int dev_addr(struct vmm_devspec *s, const char *val, GError **error)
{
	g_auto(GStrv) p = g_strsplit(val, ".", 2);
	char *end = NULL;
	guint64 slot = g_ascii_strtoull(p[0], &end, 16);

	if (!*p[0] || *end || slot >= VMM_PCI_MAX_SLOTS ||
	    (p[1] && strcmp(p[1], "0") && strcmp(p[1], "0x0"))) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "addr=%s: not a PCI slot (hex 0-1f, function 0)", val);
		return -EINVAL;
	}
	s->slot = slot;
	s->has_slot = true;
	return 0;
}

static int dev_key(struct parse *ps, struct vmm_devspec *s, const char *key, const char *val,
		   GError **error)
{
	uint64_t n;

	for (const char *const *k = dev_ignored; *k; k++)
		if (!strcmp(*k, key))
			return 0;
	for (unsigned i = 0; i < G_N_ELEMENTS(dev_keys); i++)
		if (!strcmp(dev_keys[i].qemu, key))
			key = dev_keys[i].ours;
	if (!strcmp(key, "chardev") || !strcmp(key, "netdev"))
		return dev_backend(ps, s, key, val, error);
	if (!strcmp(key, "addr") && s->transport == VMM_TRANSPORT_PCI)
		return dev_addr(s, val, error);
	if (!strcmp(key, "base") && s->transport == VMM_TRANSPORT_MMIO) {
		if (!parse_u64(val, UINT64_MAX - VMMIO_WINDOW_SIZE, &n) || n % VMMIO_WINDOW_SIZE)
			goto bad;
		s->base = n;
		s->has_base = true;
		return 0;
	}
	if (!strcmp(key, "irq") && s->transport == VMM_TRANSPORT_MMIO) {
		if (!parse_u64(val, 1019, &n) || n < 32)
			goto bad;
		s->irq = n;
		s->has_irq = true;
		return 0;
	}
	if (!strcmp(key, "queue-size") || !strcmp(key, "vq_size")) {
		if (!parse_u64(val, VDEV_QUEUE_SIZE_MAX, &n) || !n || (n & (n - 1)))
			goto bad;
		s->queue_size = n;
		return 0;
	}
	if (type_has_key(s->type, key) && strcmp(key, "socket")) {
		g_hash_table_replace(s->opts, g_strdup(key), g_strdup(val));
		return 0;
	}
	g_set_error(error, VMM_ERROR, EINVAL, "unknown key '%s' for %s%s", key, s->type,
		    s->transport == VMM_TRANSPORT_MMIO ? " on virtio-mmio" : " on virtio-pci");
	return -EINVAL;
bad:
	g_set_error(error, VMM_ERROR, EINVAL, "%s=%s: bad value", key, val);
	return -EINVAL;
}

static struct vmm_devspec *dev_parse(struct parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = qopts_parse(arg, "driver");
	const char *drv = o ? qopt(o, "driver") : NULL;
	struct vmm_devspec *s = g_new0(struct vmm_devspec, 1);
	const char *type;

	s->opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	type = drv ? map_driver(drv, &s->transport) : NULL;
	if (!type || !vdev_type_find(type)) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "'%s' is not a device xvdm serves (vhost-user-* and virtio-net with "
			    "-netdev vhost-user, as -pci or virtio-mmio variants; see README)",
			    drv ? drv : arg);
		goto err;
	}
	s->type = g_strdup(type);
	for (guint i = 0; i < o->len; i++) {
		struct kv *kv = o->pdata[i];

		if (!strcmp(kv->key, "driver"))
			continue;
		if (dev_key(ps, s, kv->key, kv->val, error) < 0)
			goto err;
	}
	if (type_has_key(s->type, "socket") && !g_hash_table_contains(s->opts, "socket")) {
		g_set_error(error, VMM_ERROR, EINVAL, "no chardev= (the vhost-user back-end)");
		goto err;
	}
	return s;
err:
	g_prefix_error(error, "-device %s: ", arg);
	vmm_devspec_free(s);
	return NULL;
}

static int resolve_devices(struct parse *ps, const struct machine_place *mp, GError **error)
{
	struct vmm_guest_config *gc = ps->a->guest;
	unsigned nmmio = 0;

	for (guint i = 0; i < ps->devices->len; i++) {
		struct vmm_devspec *s = dev_parse(ps, ps->devices->pdata[i], error);

		if (!s)
			return -EINVAL;
		g_ptr_array_add(gc->devices, s);
		if (s->transport != VMM_TRANSPORT_MMIO)
			continue;
		/* xenpvh's virtio-mmio slots, in order (virtio-mmio-base/-irq-base/-num) */
		if (mp->mmio_num && nmmio >= mp->mmio_num) {
			g_set_error(error, VMM_ERROR, ENOSPC,
				    "-device %s: more virtio-mmio devices than "
				    "virtio-mmio-num=%" G_GUINT64_FORMAT,
				    (char *)ps->devices->pdata[i], mp->mmio_num);
			return -ENOSPC;
		}
		if (!s->has_base)
			s->base = mp->mmio_base + (uint64_t)nmmio * VMMIO_WINDOW_SIZE;
		if (!s->has_irq)
			s->irq = mp->mmio_irq + nmmio;
		s->has_base = s->has_irq = true;
		nmmio++;
	}
	return 0;
}

static int resolve_monitors(struct parse *ps, GError **error)
{
	for (guint i = 0; i < ps->mon_ids->len; i++) {
		struct chardev *c = g_hash_table_lookup(ps->chardevs, ps->mon_ids->pdata[i]);
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

static int finish(struct parse *ps, GError **error)
{
	struct vmm_dm_args *a = ps->a;
	struct machine_place mp = { VMM_DM_MMIO_BASE_DEFAULT, VMM_DM_MMIO_IRQ_DEFAULT, 0 };

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
	if (machine_props(ps, &mp, error) < 0)
		return -EINVAL;
	return resolve_devices(ps, &mp, error);
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
	struct parse ps = { .a = a };
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
	ps.machine = g_ptr_array_new_with_free_func((GDestroyNotify)kv_free);

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
