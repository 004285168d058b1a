/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config file: a GLib key file (README "Configuration").
 *
 *   [xvdm]
 *   backend-domid = 0            the domain xvdm runs in (backend/... paths)
 *   default-slot = rng           device for xl virtio slots no [guest] names
 *   default-socket = /run/xvdm/%n-%i.sock   vhost-user socket for slots no [guest] names
 *   pci = mode=ecam,irq=44       PCI placement for every guest (vmm/pcicfg.c)
 *
 *   [guest domU]                 a guest by name (or [domain 5] by domid)
 *   slot.xvda = rng              the device behind xl's virtio slot "xvda"
 *   devices = rng,transport=mmio,base=0x2000000,irq=33;...   served directly
 *   pci = irq=48                 this guest's PCI placement, on top of [xvdm] pci
 *
 * Trust boundary: the operator's file. Unknown groups and keys are errors (a typo
 * must not silently leave a guest without its device); every spec is parsed here.
 */
#include <errno.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "devices/catalogue.h"
#include "vmm/vmm.h"

struct vmm_config *vmm_config_new(void)
{
	struct vmm_config *c = g_new0(struct vmm_config, 1);

	c->guests = g_ptr_array_new();
	vmm_pci_config_default(&c->pci, vmm_pci_host_mode());
	return c;
}

static void guest_config_free(struct vmm_guest_config *gc)
{
	g_free(gc->name);
	g_ptr_array_free(gc->devices, true);
	g_hash_table_destroy(gc->slots);
	g_free(gc);
}

void vmm_config_free(struct vmm_config *c)
{
	if (!c)
		return;
	g_ptr_array_set_free_func(c->guests, (GDestroyNotify)guest_config_free);
	g_ptr_array_free(c->guests, true);
	g_free(c->default_slot);
	g_free(c->default_socket);
	g_free(c);
}

/* A slot spec must name a device type and options only: xl chose base and irq. */
static bool check_slot_spec(const char *file, const char *what, const char *spec, GError **error)
{
	struct vmm_devspec *s = vmm_devspec_parse(spec, error);

	if (!s) {
		g_prefix_error(error, "%s: %s: ", file, what);
		return false;
	}
	if (s->has_base || s->has_irq) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "%s: %s: base and irq of an xl virtio slot come from xenstore, not "
			    "from the config",
			    file, what);
		vmm_devspec_free(s);
		return false;
	}
	vmm_devspec_free(s);
	return true;
}

static bool load_xvdm_group(struct vmm_config *c, GKeyFile *kf, const char *file, GError **error)
{
	g_auto(GStrv) keys = g_key_file_get_keys(kf, "xvdm", NULL, NULL);
	unsigned i;

	for (i = 0; keys && keys[i]; i++) {
		g_autofree char *v = g_key_file_get_string(kf, "xvdm", keys[i], NULL);

		if (!strcmp(keys[i], "default-slot")) {
			if (!check_slot_spec(file, "[xvdm] default-slot", v, error))
				return false;
			c->default_slot = g_strdup(v);
		} else if (!strcmp(keys[i], "default-socket")) {
			if (vmm_socket_pattern_check(v, error) < 0) {
				g_prefix_error(error, "%s: [xvdm] default-socket: ", file);
				return false;
			}
			c->default_socket = g_strdup(v);
		} else if (!strcmp(keys[i], "backend-domid")) {
			char *end = NULL;
			guint64 n = g_ascii_strtoull(v, &end, 10);

			if (!*v || *end || n >= 0x7ff0) {
				g_set_error(error, VMM_ERROR, EINVAL,
					    "%s: [xvdm] backend-domid '%s' is not a domid", file,
					    v);
				return false;
			}
			c->backend_domid = n;
		} else if (!strcmp(keys[i], "pci")) {
			if (vmm_pci_config_parse(v, &c->pci, error) < 0) {
				g_prefix_error(error, "%s: [xvdm] ", file);
				return false;
			}
			c->has_pci = true;
		} else if (!strcmp(keys[i], "shm-window")) {
			if (vmm_shm_window_parse(v, &c->pci, error) < 0) {
				g_prefix_error(error, "%s: [xvdm] ", file);
				return false;
			}
			c->has_pci = true;
		} else {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "%s: [xvdm]: unknown key '%s' (known: backend-domid, "
				    "default-slot, default-socket, pci, shm-window)",
				    file, keys[i]);
			return false;
		}
	}
	return true;
}

static bool load_guest_key(struct vmm_guest_config *gc, GKeyFile *kf, const char *file,
			   const char *group, const char *key, GError **error)
{
	if (!strcmp(key, "pci")) {
		g_autofree char *v = g_key_file_get_string(kf, group, key, NULL);

		if (vmm_pci_config_parse(v ? v : "", &gc->pci, error) < 0) {
			g_prefix_error(error, "%s: [%s] ", file, group);
			return false;
		}
		gc->has_pci = true;
	} else if (!strcmp(key, "shm-window")) {
		g_autofree char *v = g_key_file_get_string(kf, group, key, NULL);

		if (vmm_shm_window_parse(v ? v : "", &gc->pci, error) < 0) {
			g_prefix_error(error, "%s: [%s] ", file, group);
			return false;
		}
		gc->has_pci = true;
	} else if (!strcmp(key, "devices")) {
		g_auto(GStrv) specs = g_key_file_get_string_list(kf, group, key, NULL, NULL);
		unsigned i;

		for (i = 0; specs && specs[i]; i++) {
			struct vmm_devspec *s;

			if (!*g_strstrip(specs[i]))
				continue;
			s = vmm_devspec_parse(specs[i], error);
			if (!s) {
				g_prefix_error(error, "%s: [%s] devices: ", file, group);
				return false;
			}
			if (s->transport == VMM_TRANSPORT_MMIO && (!s->has_base || !s->has_irq)) {
				g_set_error(error, VMM_ERROR, EINVAL,
					    "%s: [%s] devices: '%s' needs base= and irq=", file,
					    group, specs[i]);
				vmm_devspec_free(s);
				return false;
			}
			g_ptr_array_add(gc->devices, s);
		}
	} else if (g_str_has_prefix(key, "slot.") && key[5]) {
		g_autofree char *v = g_key_file_get_string(kf, group, key, NULL);
		g_autofree char *what = g_strdup_printf("[%s] %s", group, key);

		if (!check_slot_spec(file, what, v, error))
			return false;
		g_hash_table_insert(gc->slots, g_strdup(key + 5), g_strdup(v));
	} else {
		g_set_error(
			error, VMM_ERROR, EINVAL,
			"%s: [%s]: unknown key '%s' (known: devices, slot.<vdev>, pci, shm-window)",
			file, group, key);
		return false;
	}
	return true;
}

static bool load_guest_group(struct vmm_config *c, GKeyFile *kf, const char *file,
			     const char *group, GError **error)
{
	struct vmm_guest_config *gc = g_new0(struct vmm_guest_config, 1);
	g_auto(GStrv) keys = NULL;
	unsigned i;

	gc->devices = g_ptr_array_new_with_free_func((GDestroyNotify)vmm_devspec_free);
	gc->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gc->pci = c->pci; /* [xvdm] is loaded first */
	g_ptr_array_add(c->guests, gc);
	if (g_str_has_prefix(group, "guest ")) {
		gc->name = g_strstrip(g_strdup(group + 6));
		if (!*gc->name || strchr(gc->name, '/')) {
			g_set_error(error, VMM_ERROR, EINVAL, "%s: [%s]: not a guest name", file,
				    group);
			return false;
		}
	} else {
		char *end = NULL;
		guint64 n = g_ascii_strtoull(group + 7, &end, 10);

		if (!group[7] || *end || n >= 0x7ff0) {
			g_set_error(error, VMM_ERROR, EINVAL, "%s: [%s]: not a domid", file, group);
			return false;
		}
		gc->has_domid = true;
		gc->domid = n;
	}
	keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (i = 0; keys && keys[i]; i++)
		if (!load_guest_key(gc, kf, file, group, keys[i], error))
			return false;
	if (vmm_pci_config_check(&gc->pci, error) < 0) {
		g_prefix_error(error, "%s: [%s]: ", file, group);
		return false;
	}
	return true;
}

struct vmm_config *vmm_config_load(const char *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) groups = NULL;
	struct vmm_config *c;
	unsigned i;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	c = vmm_config_new();
	groups = g_key_file_get_groups(kf, NULL);
	/* [xvdm] first: its pci= is the default of every guest group */
	if (g_key_file_has_group(kf, "xvdm") &&
	    (!load_xvdm_group(c, kf, path, error) || vmm_pci_config_check(&c->pci, error) < 0)) {
		if (error && *error && !g_str_has_prefix((*error)->message, path))
			g_prefix_error(error, "%s: [xvdm]: ", path);
		vmm_config_free(c);
		return NULL;
	}
	for (i = 0; groups[i]; i++) {
		bool ok;

		if (!strcmp(groups[i], "xvdm"))
			ok = true;
		else if (g_str_has_prefix(groups[i], "guest ") ||
			 g_str_has_prefix(groups[i], "domain "))
			ok = load_guest_group(c, kf, path, groups[i], error);
		else {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "%s: unknown group [%s] (known: [xvdm], [guest NAME], "
				    "[domain DOMID])",
				    path, groups[i]);
			ok = false;
		}
		if (!ok) {
			vmm_config_free(c);
			return NULL;
		}
	}
	return c;
}

const struct vmm_guest_config *vmm_config_find_guest(const struct vmm_config *c, const char *name,
						     uint32_t domid)
{
	guint i;

	for (i = 0; i < c->guests->len; i++) {
		const struct vmm_guest_config *gc = c->guests->pdata[i];

		if (gc->has_domid && gc->domid == domid)
			return gc;
		if (!gc->has_domid && name && !strcmp(gc->name, name))
			return gc;
	}
	return NULL;
}

/* --- the default socket of an xl slot no [guest] names (README "default-socket") --- */

/*
 * A pattern is an absolute path with %d (domid), %n (guest name), %i (devid), %t (xl
 * type) and %%. No ',': the path goes into a device spec, where ',' separates keys.
 */
int vmm_socket_pattern_check(const char *pattern, GError **error)
{
	const char *p;

	if (!pattern || pattern[0] != '/' || strchr(pattern, ',')) {
		g_set_error(error, VMM_ERROR, EINVAL, "'%s' is not an absolute path without ','",
			    pattern ? pattern : "");
		return -EINVAL;
	}
	for (p = pattern; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (!*p || !strchr("dnit%", *p)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "'%s': unknown '%%%.1s' (known: %%d domid, %%n guest name, "
				    "%%i devid, %%t xl type, %%%%)",
				    pattern, p);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The guest picks its own name (xenstore /local/domain/N/name is writable by the
 * guest): only names that cannot leave the directory or inject spec keys are used.
 */
static bool safe_component(const char *s)
{
	if (!s || !*s || s[0] == '.' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && !strchr("._-", *s))
			return false;
	return true;
}

char *vmm_socket_pattern_expand(const char *pattern, const struct vmm_slot_info *si, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *type = g_strdup(si->xl_type ? si->xl_type : "");
	const char *p, *val;

	g_strdelimit(type, ",", '-'); /* "virtio,device26" -> "virtio-device26" */
	for (p = pattern; *p; p++) {
		if (*p != '%' || !p[1]) {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == 'd') {
			g_string_append_printf(out, "%u", si->domid);
			continue;
		}
		val = *p == 'n' ? si->name : *p == 'i' ? si->devid : *p == 't' ? type : "%";
		if (*p != '%' && !safe_component(val)) {
			g_set_error(error, VMM_ERROR, EINVAL,
				    "dom%u: %%%c of default-socket would be '%s': only letters, "
				    "digits, '.', '_' and '-' (not first) are used in a path",
				    si->domid, *p, val ? val : "(unknown)");
			return NULL;
		}
		g_string_append(out, val);
	}
	return g_strdup(out->str);
}

uint32_t vmm_xl_type_device_id(const char *type)
{
	guint64 n;
	char *end = NULL;

	if (!type || !g_str_has_prefix(type, "virtio,device") || !type[13])
		return 0;
	n = g_ascii_strtoull(type + 13, &end, 10);
	return *end || n == 0 || n > 0xffff ? 0 : (uint32_t)n;
}

/* The vhost-user type for a virtio device id: the named one, else vhost-user-device. */
static char *default_type(uint32_t device_id, GError **error)
{
	const struct vdev_type *const *t;

	if (device_id == VIRTIO_ID_FS || device_id == VIRTIO_ID_GPU) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "virtio device %u needs options of its own (fs: tag=; gpu: its display "
			    "side channel): name the slot in the config",
			    device_id);
		return NULL;
	}
	for (t = vdev_types(); *t; t++)
		if ((*t)->device_id == device_id && g_str_has_prefix((*t)->name, "vhost-user-"))
			return g_strdup((*t)->name);
	return g_strdup_printf("vhost-user-device,device-id=%u", device_id);
}

char *vmm_config_default_spec(const struct vmm_config *c, const struct vmm_slot_info *si,
			      GError **error)
{
	g_autofree char *sock = NULL;
	g_autofree char *type = NULL;

	if (!c->default_socket) {
		g_set_error(error, VMM_ERROR, ENOENT, "no [xvdm] default-socket");
		return NULL;
	}
	if (!si->device_id) {
		g_set_error(error, VMM_ERROR, ENOENT,
			    "xl type '%s' names no virtio device (write type=virtio,device<N> in "
			    "the xl config, or name the slot in the xvdm config)",
			    si->xl_type ? si->xl_type : "?");
		return NULL;
	}
	type = default_type(si->device_id, error);
	if (!type)
		return NULL;
	sock = vmm_socket_pattern_expand(c->default_socket, si, error);
	if (!sock)
		return NULL;
	return g_strdup_printf("%s,socket=%s", type, sock);
}
