/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's PCI placement: "mode=ecam,ecam=0x33000000,buses=1,mem=0x34000000:64M,
 * pref=0x100000000:2G,irq=44,msix=off,pio-notify=off" (README "virtio-pci"), and the window for
 * virtio-mmio shared memory regions, "shm-window = 0x180000000:2G".
 *
 * Arm (mode=ecam): xvdm is the host bridge. The defaults sit in holes of Xen's Arm
 * guest map (xen/include/public/arch-arm.h, FACTS 25): ECAM and the 32-bit window
 * between Xen's vPCI MEM window (ends 0x33000000) and the grant table (0x38000000),
 * the 64-bit prefetchable window in the first half of the 4 GiB hole Xen keeps for vPCI
 * between RAM0 and RAM1 (domUs have no Xen vPCI on 4.17); the second half holds the
 * windows of virtio-mmio devices' shared memory regions (shm-window). INTx A-D go to four SPIs after libxl's
 * virtio-mmio SPIs 33-43. MSI-X is off: Xen cannot inject MSIs into Arm guests.
 * x86 (mode=cfg): the devices sit on the guest's own bus behind QEMU's host bridge,
 * claimed per slot; their BARs go where hvmloader and the guest put them, inside
 * the windows (the MMIO hole below 4 GiB; above RAM beyond 4 GiB). pio-notify=on gives
 * every device an I/O BAR with its notify register (VPCI_PIO_BAR) in the port window
 * VMM_PCI_IO_BASE..0xffff, where hvmloader and Linux put I/O BARs.
 *
 * Trust boundary: the operator's input; every value is range-checked here and the
 * windows are checked against each other.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/util.h"
#include "virtio-pci/vpci.h"
#include "vmm/vmm.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

void vmm_pci_config_default(struct vmm_pci_config *c, enum vmm_pci_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	if (mode == VMM_PCI_ECAM) {
		c->ecam_base = 0x33000000;
		c->nr_buses = 1;
		c->mem_base = 0x34000000;
		c->mem_size = 64 * MiB;
		c->pref_base = 0x100000000ULL;
		c->pref_size = 2 * GiB;
		c->shm_base = 0x180000000ULL;
		c->shm_size = 2 * GiB;
		c->irq_base = 44;
		c->msix = false;
	} else {
		c->mem_base = 0xe0000000;
		c->mem_size = 0xfc000000 - 0xe0000000;
		c->pref_base = 4 * GiB;
		c->pref_size = (1ULL << 40) - 4 * GiB - 64 * GiB;
		c->shm_base = (1ULL << 40) - 64 * GiB;
		c->shm_size = 64 * GiB;
		c->msix = true;
	}
}

enum vmm_pci_mode vmm_pci_host_mode(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return VMM_PCI_CFG;
#else
	return VMM_PCI_ECAM;
#endif
}

static bool parse_num(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_u64_size(s, max, ret);
}

/* "BASE:SIZE", both page aligned, the size a power of two is not required. */
static bool parse_window(const char *s, uint64_t *ret_base, uint64_t *ret_size)
{
	g_autofree char *dup = g_strdup(s);
	char *colon = strchr(dup, ':');
	uint64_t base, size;

	if (!colon)
		return false;
	*colon = '\0';
	if (!parse_num(dup, UINT64_MAX, &base) || !parse_num(colon + 1, UINT64_MAX, &size))
		return false;
	if (!size || base % 4096 || size % 4096 || base + size - 1 < base)
		return false;
	*ret_base = base;
	*ret_size = size;
	return true;
}

static bool set_key(struct vmm_pci_config *c, const char *spec, const char *key, const char *val,
		    GError **error)
{
	uint64_t n;

	if (!strcmp(key, "mode")) {
		if (!strcmp(val, "ecam"))
			c->mode = VMM_PCI_ECAM;
		else if (!strcmp(val, "cfg"))
			c->mode = VMM_PCI_CFG;
		else
			goto bad;
	} else if (!strcmp(key, "ecam")) {
		if (!parse_num(val, UINT64_MAX, &n) || n % MiB)
			goto bad;
		c->ecam_base = n;
	} else if (!strcmp(key, "buses")) {
		if (!parse_num(val, VMM_PCI_MAX_BUSES, &n) || n == 0)
			goto bad;
		c->nr_buses = n;
	} else if (!strcmp(key, "mem")) {
		if (!parse_window(val, &c->mem_base, &c->mem_size) ||
		    c->mem_base + c->mem_size > 4 * GiB)
			goto bad;
	} else if (!strcmp(key, "pref")) {
		if (!parse_window(val, &c->pref_base, &c->pref_size))
			goto bad;
	} else if (!strcmp(key, "irq")) {
		if (!parse_num(val, 1019 - 3, &n) || n < 32)
			goto bad;
		c->irq_base = n;
	} else if (!strcmp(key, "msix") || !strcmp(key, "pio-notify")) {
		bool *flag = key[0] == 'm' ? &c->msix : &c->pio_notify;

		if (!strcmp(val, "on"))
			*flag = true;
		else if (!strcmp(val, "off"))
			*flag = false;
		else
			goto bad;
	} else {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "pci '%s': unknown key '%s' (known: mode, ecam, buses, mem, pref, irq, "
			    "msix, pio-notify)",
			    spec, key);
		return false;
	}
	return true;
bad:
	g_set_error(error, VMM_ERROR, EINVAL,
		    "pci '%s': bad %s '%s' (mode=ecam|cfg, ecam=ADDR (1 MiB aligned), buses=1-%u, "
		    "mem=BASE:SIZE below 4 GiB, pref=BASE:SIZE, irq=SPI 32-1016, msix=on|off, "
		    "pio-notify=on|off; sizes take K/M/G)",
		    spec, key, val, VMM_PCI_MAX_BUSES);
	return false;
}

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

/* The PCI windows against each other (the shm-window is checked by vmm_pci_config_check) */
static bool check(const struct vmm_pci_config *c, const char *spec, GError **error)
{
	uint64_t ecam_size = (uint64_t)c->nr_buses * MiB;

	if (c->mode == VMM_PCI_ECAM &&
	    (overlaps(c->ecam_base, ecam_size, c->mem_base, c->mem_size) ||
	     overlaps(c->ecam_base, ecam_size, c->pref_base, c->pref_size))) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "pci '%s': the ECAM window overlaps a BAR window", spec);
		return false;
	}
	if (overlaps(c->mem_base, c->mem_size, c->pref_base, c->pref_size)) {
		g_set_error(error, VMM_ERROR, EINVAL, "pci '%s': the mem and pref windows overlap",
			    spec);
		return false;
	}
	if (c->pio_notify && c->mode != VMM_PCI_CFG) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "pci '%s': pio-notify=on needs mode=cfg (x86: Arm has no port I/O)",
			    spec);
		return false;
	}
	return true;
}

int vmm_pci_config_check(const struct vmm_pci_config *c, GError **error)
{
	uint64_t ecam_size = (uint64_t)c->nr_buses * MiB;

	if (overlaps(c->shm_base, c->shm_size, c->mem_base, c->mem_size) ||
	    overlaps(c->shm_base, c->shm_size, c->pref_base, c->pref_size) ||
	    (c->mode == VMM_PCI_ECAM &&
	     overlaps(c->shm_base, c->shm_size, c->ecam_base, ecam_size))) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "shm-window 0x%" PRIx64 ":0x%" PRIx64
			    " overlaps a PCI window (ecam 0x%" PRIx64 ", mem 0x%" PRIx64
			    ":0x%" PRIx64 ", pref 0x%" PRIx64 ":0x%" PRIx64 ")",
			    c->shm_base, c->shm_size, c->ecam_base, c->mem_base, c->mem_size,
			    c->pref_base, c->pref_size);
		return -EINVAL;
	}
	return 0;
}

int vmm_shm_window_parse(const char *spec, struct vmm_pci_config *c, GError **error)
{
	struct vmm_pci_config tmp = *c;
	uint64_t base, size;

	if (!parse_window(spec, &base, &size) || base + size > (1ULL << 52)) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "shm-window '%s' is not BASE:SIZE (page aligned, below 2^52; sizes "
			    "take K/M/G)",
			    spec);
		return -EINVAL;
	}
	tmp.shm_base = base;
	tmp.shm_size = size;
	tmp.shm_set = true;
	*c = tmp;
	return 0;
}

int vmm_pci_config_parse(const char *spec, struct vmm_pci_config *c, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	struct vmm_pci_config tmp = *c;
	enum vmm_pci_mode mode = c->mode;

	/* mode= first: it picks the defaults the other keys then change */
	for (unsigned i = 0; parts[i]; i++) {
		g_autofree char *kv = g_strstrip(g_strdup(parts[i]));

		if (g_str_has_prefix(kv, "mode=")) {
			if (!set_key(&tmp, spec, "mode", g_strstrip(kv + 5), error))
				return -EINVAL;
			if (tmp.mode != mode) {
				/* an explicit shm-window is not PCI: it survives the switch */
				uint64_t sb = tmp.shm_base, ss = tmp.shm_size;
				bool set = tmp.shm_set;

				vmm_pci_config_default(&tmp, tmp.mode);
				if (set) {
					tmp.shm_base = sb;
					tmp.shm_size = ss;
					tmp.shm_set = true;
				}
			}
			mode = tmp.mode;
		}
	}
	for (unsigned i = 0; parts[i]; i++) {
		char *kv = g_strstrip(parts[i]);
		char *eq = strchr(kv, '=');

		if (!*kv && !parts[i + 1] && i > 0)
			break; /* a trailing comma */
		if (!eq || eq == kv || !eq[1]) {
			g_set_error(error, VMM_ERROR, EINVAL, "pci '%s': '%s' is not KEY=VALUE",
				    spec, kv);
			return -EINVAL;
		}
		*eq = '\0';
		if (!strcmp(g_strstrip(kv), "mode"))
			continue;
		if (!set_key(&tmp, spec, kv, g_strstrip(eq + 1), error))
			return -EINVAL;
	}
	if (!check(&tmp, spec, error))
		return -EINVAL;
	*c = tmp;
	return 0;
}

/* The SPI of a slot's INTA on Arm: the standard swizzle over four consecutive SPIs. */
uint32_t vmm_pci_intx_spi(const struct vmm_pci_config *c, unsigned slot, unsigned pin)
{
	return c->irq_base + vpci_intx_swizzle(slot, pin);
}
