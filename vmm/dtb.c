/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest device-tree nodes for what a configuration serves (`xvdm dtb`): a
 * pci-host-ecam-generic host bridge and virtio,mmio nodes, under /passthrough, as the
 * partial device tree libxl copies into an Arm guest's DT (xl's device_tree=).
 * libxl takes the root's #address-cells/#size-cells (2/2) and the /passthrough and
 * /aliases nodes of that file; the GIC it creates has phandle 65000
 * (GUEST_PHANDLE_GIC) and #address-cells 0, so interrupt-map entries have no parent
 * unit address. The same blob works as a dom0less overlay source.
 *
 * Trust boundary: the operator's configuration, already checked by the parsers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <libfdt.h>

#include "virtio-mmio/vmmio.h"
#include "vmm/vmm.h"

#define GIC_SPI		       0
#define IRQ_TYPE_EDGE_RISING   1
#define IRQ_TYPE_LEVEL_HIGH    4
#define PCI_SPACE_MEM32	       0x02000000u
#define PCI_SPACE_MEM64_PREF   0x43000000u
#define PCI_DEVFN_MASK_DEV_LO2 0x1800u /* the low two bits of the device number */

static int prop_u64s(void *fdt, const char *name, const uint64_t *v, unsigned n)
{
	fdt64_t be[8];

	for (unsigned i = 0; i < n; i++)
		be[i] = cpu_to_fdt64(v[i]);
	return fdt_property(fdt, name, be, n * sizeof(be[0]));
}

static int prop_u32s(void *fdt, const char *name, const uint32_t *v, unsigned n)
{
	fdt32_t be[16 * 8];

	if (n > G_N_ELEMENTS(be))
		return -FDT_ERR_NOSPACE;
	for (unsigned i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(v[i]);
	return fdt_property(fdt, name, be, n * sizeof(be[0]));
}

static int mmio_node(void *fdt, const struct vmm_devspec *s, uint32_t gic)
{
	char name[48];
	uint64_t reg[2] = { s->base, VMMIO_WINDOW_SIZE };
	uint32_t irq[3] = { GIC_SPI, s->irq - 32, IRQ_TYPE_EDGE_RISING };
	int r;

	snprintf(name, sizeof(name), "virtio@%" PRIx64, s->base);
	if ((r = fdt_begin_node(fdt, name)) ||
	    (r = fdt_property_string(fdt, "compatible", "virtio,mmio")) ||
	    (r = prop_u64s(fdt, "reg", reg, 2)) ||
	    (r = fdt_property_u32(fdt, "interrupt-parent", gic)) ||
	    (r = prop_u32s(fdt, "interrupts", irq, 3)) ||
	    (r = fdt_property(fdt, "dma-coherent", NULL, 0)))
		return r;
	return fdt_end_node(fdt);
}

/* ranges: <pci.hi pci.mid pci.lo cpu.hi cpu.lo size.hi size.lo> per window. */
static int pci_ranges(void *fdt, const struct vmm_pci_config *c)
{
	uint32_t v[14] = {
		PCI_SPACE_MEM32,	c->mem_base >> 32,	(uint32_t)c->mem_base,
		c->mem_base >> 32,	(uint32_t)c->mem_base,	c->mem_size >> 32,
		(uint32_t)c->mem_size,	PCI_SPACE_MEM64_PREF,	c->pref_base >> 32,
		(uint32_t)c->pref_base, c->pref_base >> 32,	(uint32_t)c->pref_base,
		c->pref_size >> 32,	(uint32_t)c->pref_size,
	};

	return prop_u32s(fdt, "ranges", v, 14);
}

/* INTx: the low two device-number bits and the pin pick one of four SPIs. */
static int pci_interrupt_map(void *fdt, const struct vmm_pci_config *c, uint32_t gic)
{
	uint32_t mask[4] = { PCI_DEVFN_MASK_DEV_LO2, 0, 0, 7 };
	uint32_t map[16 * 8];
	unsigned n = 0;
	int r;

	for (unsigned dev = 0; dev < 4; dev++) {
		for (unsigned pin = 1; pin <= 4; pin++) {
			uint32_t e[8] = { dev << 11,
					  0,
					  0,
					  pin,
					  gic,
					  GIC_SPI,
					  vmm_pci_intx_spi(c, dev, pin) - 32,
					  IRQ_TYPE_LEVEL_HIGH };

			memcpy(map + n, e, sizeof(e));
			n += 8;
		}
	}
	if ((r = prop_u32s(fdt, "interrupt-map-mask", mask, 4)))
		return r;
	return prop_u32s(fdt, "interrupt-map", map, n);
}

static int pci_node(void *fdt, const struct vmm_pci_config *c, uint32_t gic)
{
	char name[48];
	uint64_t reg[2] = { c->ecam_base, (uint64_t)c->nr_buses << 20 };
	uint32_t bus_range[2] = { 0, c->nr_buses - 1 };
	int r;

	snprintf(name, sizeof(name), "pcie@%" PRIx64, c->ecam_base);
	if ((r = fdt_begin_node(fdt, name)) ||
	    (r = fdt_property_string(fdt, "compatible", "pci-host-ecam-generic")) ||
	    (r = fdt_property_string(fdt, "device_type", "pci")) ||
	    (r = prop_u64s(fdt, "reg", reg, 2)) ||
	    (r = prop_u32s(fdt, "bus-range", bus_range, 2)) ||
	    (r = fdt_property_u32(fdt, "#address-cells", 3)) ||
	    (r = fdt_property_u32(fdt, "#size-cells", 2)) ||
	    (r = fdt_property_u32(fdt, "#interrupt-cells", 1)) || (r = pci_ranges(fdt, c)) ||
	    (r = pci_interrupt_map(fdt, c, gic)) ||
	    (r = fdt_property(fdt, "dma-coherent", NULL, 0)))
		return r;
	return fdt_end_node(fdt);
}

static int build(void *fdt, size_t size, const struct vmm_guest_config *gc, uint32_t gic)
{
	bool has_pci = false;
	int r;

	for (guint i = 0; i < gc->devices->len; i++)
		has_pci |= ((struct vmm_devspec *)gc->devices->pdata[i])->transport ==
			   VMM_TRANSPORT_PCI;
	if ((r = fdt_create(fdt, size)) || (r = fdt_finish_reservemap(fdt)) ||
	    (r = fdt_begin_node(fdt, "")) || (r = fdt_property_u32(fdt, "#address-cells", 2)) ||
	    (r = fdt_property_u32(fdt, "#size-cells", 2)) ||
	    (r = fdt_begin_node(fdt, "passthrough")) ||
	    (r = fdt_property_string(fdt, "compatible", "simple-bus")) ||
	    (r = fdt_property(fdt, "ranges", NULL, 0)) ||
	    (r = fdt_property_u32(fdt, "#address-cells", 2)) ||
	    (r = fdt_property_u32(fdt, "#size-cells", 2)))
		return r;
	if (has_pci && (r = pci_node(fdt, &gc->pci, gic)))
		return r;
	for (guint i = 0; i < gc->devices->len; i++) {
		const struct vmm_devspec *s = gc->devices->pdata[i];

		if (s->transport == VMM_TRANSPORT_MMIO && (r = mmio_node(fdt, s, gic)))
			return r;
	}
	if ((r = fdt_end_node(fdt)) || (r = fdt_end_node(fdt)))
		return r;
	return fdt_finish(fdt);
}

int vmm_dtb_build(const struct vmm_guest_config *gc, uint32_t gic_phandle, void **ret_blob,
		  size_t *ret_size, GError **error)
{
	size_t size = 4096;

	if (gc->pci.mode != VMM_PCI_ECAM) {
		for (guint i = 0; i < gc->devices->len; i++) {
			if (((struct vmm_devspec *)gc->devices->pdata[i])->transport ==
			    VMM_TRANSPORT_PCI) {
				g_set_error(error, VMM_ERROR, EINVAL,
					    "a device tree describes an ECAM host bridge: the "
					    "guest's pci mode is 'cfg' (x86); use mode=ecam");
				return -EINVAL;
			}
		}
	}
	for (;;) {
		void *fdt = g_malloc0(size);
		int r = build(fdt, size, gc, gic_phandle);

		if (r == 0) {
			*ret_blob = fdt;
			*ret_size = fdt_totalsize(fdt);
			return 0;
		}
		g_free(fdt);
		if (r != -FDT_ERR_NOSPACE || size >= (1u << 20)) {
			g_set_error(error, VMM_ERROR, EIO, "building the device tree: %s",
				    fdt_strerror(r));
			return -EIO;
		}
		size *= 2;
	}
}
