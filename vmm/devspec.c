/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device specs from the command line and the config file:
 *   TYPE[,transport=mmio][,base=ADDR][,irq=N][,queue-size=N][,notify=auto|kernel|xvdm]
 *       [,KEY=VALUE...]
 *   TYPE,transport=pci[,slot=N][,queue-size=N][,KEY=VALUE...]
 * Trust boundary: the operator's input. Every number is range-checked and every
 * error names the spec and the key.
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "devices/catalogue.h"
#include "virtio-mmio/vmmio.h"
#include "vmm/vmm.h"

G_DEFINE_QUARK(xvdm_vmm_error, vmm_error)

static bool parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	char *end = NULL;
	guint64 v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

int vmm_notify_parse(const char *s, enum vmm_notify_mode *ret)
{
	static const char *const names[] = { "auto", "kernel", "xvdm" };

	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
		if (!strcmp(s, names[i])) {
			*ret = (enum vmm_notify_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *vmm_notify_mode_name(enum vmm_notify_mode m)
{
	return m == VMM_NOTIFY_KERNEL ? "kernel" : m == VMM_NOTIFY_XVDM ? "xvdm" : "auto";
}

static bool set_key(struct vmm_devspec *s, const char *spec, const char *key, const char *val,
		    GError **error)
{
	uint64_t n;

	if (!strcmp(key, "transport")) {
		if (!strcmp(val, "mmio")) {
			s->transport = VMM_TRANSPORT_MMIO;
		} else if (!strcmp(val, "pci")) {
			s->transport = VMM_TRANSPORT_PCI;
		} else {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': transport '%s' is not supported (mmio or pci)",
				    spec, val);
			return false;
		}
	} else if (!strcmp(key, "slot")) {
		if (!parse_u64(val, VMM_PCI_MAX_SLOTS - 1, &n)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': slot '%s' is not a PCI device number (0-31)",
				    spec, val);
			return false;
		}
		s->slot = n;
		s->has_slot = true;
	} else if (!strcmp(key, "base")) {
		if (!parse_u64(val, UINT64_MAX - VMMIO_WINDOW_SIZE, &n) || n % VMMIO_WINDOW_SIZE) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': base '%s' is not an address aligned to 0x%x",
				    spec, val, VMMIO_WINDOW_SIZE);
			return false;
		}
		s->base = n;
		s->has_base = true;
	} else if (!strcmp(key, "irq")) {
		/* Arm SPIs are 32..1019 (GIC); libxl hands out 33-43 for virtio-mmio. */
		if (!parse_u64(val, 1019, &n) || n < 32) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': irq '%s' is not an SPI number (32-1019)", spec,
				    val);
			return false;
		}
		s->irq = n;
		s->has_irq = true;
	} else if (!strcmp(key, "notify")) {
		if (vmm_notify_parse(val, &s->notify) < 0) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': notify '%s' is not auto, kernel or xvdm", spec,
				    val);
			return false;
		}
	} else if (!strcmp(key, "queue-size")) {
		if (!parse_u64(val, VDEV_QUEUE_SIZE_MAX, &n) || !is_pow2(n)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "device '%s': queue-size '%s' must be a power of two "
				    "between 1 and %u",
				    spec, val, VDEV_QUEUE_SIZE_MAX);
			return false;
		}
		s->queue_size = n;
	} else {
		if (g_hash_table_contains(s->opts, key)) {
			g_set_error(error, VMM_ERROR, EINVAL, "device '%s': '%s' given twice", spec,
				    key);
			return false;
		}
		g_hash_table_insert(s->opts, g_strdup(key), g_strdup(val));
	}
	return true;
}

/* Device-specific keys must be ones the type knows: say which ones it does. */
static bool check_opts(const struct vmm_devspec *s, const char *spec, GError **error)
{
	const struct vdev_type *t = vdev_type_find(s->type);
	GHashTableIter it;
	const char *key;

	g_hash_table_iter_init(&it, s->opts);
	while (g_hash_table_iter_next(&it, (gpointer *)&key, NULL)) {
		const char *const *k;
		g_autofree char *known = NULL;

		for (k = t->option_keys; k && *k; k++)
			if (!strcmp(*k, key))
				break;
		if (k && *k)
			continue;
		known = t->option_keys && *t->option_keys
				? g_strjoinv(", ", (char **)t->option_keys)
				: g_strdup("none");
		g_set_error(error, VMM_ERROR, EINVAL,
			    "device '%s': unknown key '%s' (common keys: transport, base, irq, "
			    "slot, queue-size, notify; %s keys: %s)",
			    spec, key, s->type, known);
		return false;
	}
	return true;
}

struct vmm_devspec *vmm_devspec_parse(const char *spec, GError **error)
{
	struct vmm_devspec *s = g_new0(struct vmm_devspec, 1);
	char **parts = g_strsplit(spec, ",", -1);
	unsigned i;

	s->opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	s->type = g_strstrip(g_strdup(parts[0] ? parts[0] : ""));
	if (!*s->type) {
		g_set_error(error, VMM_ERROR, EINVAL, "device '%s': no device type", spec);
		goto err;
	}
	if (!vdev_type_find(s->type)) {
		GString *names = g_string_new(NULL);
		const struct vdev_type *const *t;

		for (t = vdev_types(); *t; t++)
			g_string_append_printf(names, "%s%s", names->len ? ", " : "", (*t)->name);
		g_set_error(error, VMM_ERROR, EINVAL,
			    "device '%s': unknown device type '%s' (known: %s)", spec, s->type,
			    names->str);
		g_string_free(names, true);
		goto err;
	}
	for (i = 1; parts[i]; i++) {
		char *kv = g_strstrip(parts[i]);
		char *eq = strchr(kv, '=');

		if (!eq || eq == kv || !eq[1]) {
			g_set_error(error, VMM_ERROR, EINVAL, "device '%s': '%s' is not KEY=VALUE",
				    spec, kv);
			goto err;
		}
		*eq = '\0';
		if (!set_key(s, spec, g_strstrip(kv), g_strstrip(eq + 1), error))
			goto err;
	}
	if (!check_opts(s, spec, error))
		goto err;
	if (s->transport == VMM_TRANSPORT_PCI && (s->has_base || s->has_irq)) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "device '%s': base= and irq= are for transport=mmio; a PCI device gets "
			    "its BARs from the guest and its INTx from the guest's pci= settings",
			    spec);
		goto err;
	}
	if (s->transport == VMM_TRANSPORT_PCI && s->notify == VMM_NOTIFY_KERNEL) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "device '%s': notify=kernel needs transport=mmio (the kernel's "
			    "ioeventfd matches virtio-mmio's QueueNotify only)",
			    spec);
		goto err;
	}
	if (s->transport == VMM_TRANSPORT_MMIO && s->has_slot) {
		g_set_error(error, VMM_ERROR, EINVAL, "device '%s': slot= needs transport=pci",
			    spec);
		goto err;
	}
	g_strfreev(parts);
	return s;
err:
	g_strfreev(parts);
	vmm_devspec_free(s);
	return NULL;
}

void vmm_devspec_free(struct vmm_devspec *s)
{
	if (!s)
		return;
	g_hash_table_destroy(s->opts);
	g_free(s->type);
	g_free(s);
}
