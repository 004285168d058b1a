/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxl device-model mode: QEMU's -machine xenpvh properties and -device options
 * (device_model_args) into xvdm's PCI placement and device specs:
 *   -device vhost-user-blk-pci,chardev=X,addr=03.0,num-queues=2   virtio-pci, slot 3
 *   -device vhost-user-rng-device,chardev=Y                       the next virtio-mmio slot
 *   -device virtio-net-pci,netdev=N  with  -netdev vhost-user,id=N,chardev=Z
 *   -machine xenpvh,pci-ecam-base=...,pci-mmio-base=...,pci-intx-irq-base=...
 *
 * Trust boundary: the xl config's device_model_args; unknown drivers, keys and
 * properties are errors that name them.
 */
#include <errno.h>
#include <string.h>

#include "devices/catalogue.h"
#include "virtio-mmio/vmmio.h"
#include "vmm/dm-internal.h"

/* ---- -machine properties: QEMU's xenpvh names (hw/xen/xen-pvh-common.c) ---- */

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
static int machine_pci(struct dm_parse *ps, GString *spec, GError **error)
{
	static const struct {
		const char *base, *size, *key;
	} win[] = {
		{ "pci-mmio-base", "pci-mmio-size", "mem" },
		{ "pci-mmio-high-base", "pci-mmio-high-size", "pref" },
	};
	const char *v;
	uint64_t n, m;

	if ((v = dm_qopt(ps->machine, "pci-ecam-base")))
		g_string_append_printf(spec, ",ecam=%s", v);
	if ((v = dm_qopt(ps->machine, "pci-ecam-size"))) {
		if (!dm_parse_u64(v, UINT64_MAX, &n) || n < (1 << 20)) {
			g_set_error(error, VMM_ERROR, EINVAL, "-machine pci-ecam-size=%s", v);
			return -EINVAL;
		}
		/* 1 MiB per bus; xvdm claims at most VMM_PCI_MAX_BUSES of them */
		g_string_append_printf(spec, ",buses=%" G_GUINT64_FORMAT,
				       MIN(n >> 20, (uint64_t)VMM_PCI_MAX_BUSES));
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(win); i++) {
		const char *b = dm_qopt(ps->machine, win[i].base),
			   *s = dm_qopt(ps->machine, win[i].size);

		if (!b && !s)
			continue;
		if (!b || !s || !dm_parse_u64(b, UINT64_MAX, &n) ||
		    !dm_parse_u64(s, UINT64_MAX, &m)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "-machine: %s and %s must both be numbers", win[i].base,
				    win[i].size);
			return -EINVAL;
		}
		g_string_append_printf(spec,
				       ",%s=0x%" G_GINT64_MODIFIER "x:0x%" G_GINT64_MODIFIER "x",
				       win[i].key, n, m);
	}
	if ((v = dm_qopt(ps->machine, "pci-intx-irq-base")))
		g_string_append_printf(spec, ",irq=%s", v);
	return 0;
}

int dm_machine_props(struct dm_parse *ps, struct dm_mmio_place *mp, GError **error)
{
	g_autoptr(GString) spec = g_string_new("mode=ecam");
	struct vmm_guest_config *gc = ps->a->guest;
	bool pci = false;

	for (guint i = 0; i < ps->machine->len; i++) {
		struct dm_kv *kv = ps->machine->pdata[i];
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
			if (!dm_parse_u64(kv->val, UINT64_MAX, dst)) {
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

static int dev_backend(struct dm_parse *ps, struct vmm_devspec *s, const char *key, const char *val,
		       GError **error)
{
	struct dm_chardev *c;

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

static int dev_key(struct dm_parse *ps, struct vmm_devspec *s, const char *key, const char *val,
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
		if (!dm_parse_u64(val, UINT64_MAX - VMMIO_WINDOW_SIZE, &n) || n % VMMIO_WINDOW_SIZE)
			goto bad;
		s->base = n;
		s->has_base = true;
		return 0;
	}
	if (!strcmp(key, "irq") && s->transport == VMM_TRANSPORT_MMIO) {
		if (!dm_parse_u64(val, 1019, &n) || n < 32)
			goto bad;
		s->irq = n;
		s->has_irq = true;
		return 0;
	}
	if (!strcmp(key, "queue-size") || !strcmp(key, "vq_size")) {
		if (!dm_parse_u64(val, VDEV_QUEUE_SIZE_MAX, &n) || !n || (n & (n - 1)))
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

static struct vmm_devspec *dev_parse(struct dm_parse *ps, const char *arg, GError **error)
{
	g_autoptr(GPtrArray) o = dm_qopts_parse(arg, "driver");
	const char *drv = o ? dm_qopt(o, "driver") : NULL;
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
		struct dm_kv *kv = o->pdata[i];

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

int dm_resolve_devices(struct dm_parse *ps, const struct dm_mmio_place *mp, GError **error)
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
