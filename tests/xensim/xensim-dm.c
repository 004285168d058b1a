/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: libxendevicemodel. Every operation is forwarded to the simulated
 * hypervisor, which checks it as Xen would and answers with Xen's errno.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <xendevicemodel.h>

#include "tests/xensim/xensim.h"

struct xendevicemodel_handle {
	struct xsim_conn conn;
};

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	xendevicemodel_handle *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return NULL;
	ret = xsim_conn_open(&h->conn, XSIM_KIND_DM);
	if (ret < 0) {
		free(h);
		errno = -ret;
		return NULL;
	}
	return h;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	if (!dmod)
		return 0;
	xsim_conn_close(&dmod->conn);
	free(dmod);
	return 0;
}

static int dm_op(xendevicemodel_handle *h, uint32_t op, domid_t domid, uint32_t id, uint64_t a0,
		 uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *ret_val)
{
	int ret = xsim_simple(&h->conn, op, domid, id, a0, a1, a2, a3, ret_val);

	return ret < 0 ? xsim_fail(ret) : 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
				       int handle_bufioreq, ioservid_t *id)
{
	uint64_t v = 0;

	if (dm_op(dmod, XSIM_OP_DM_CREATE_SERVER, domid, 0, (uint64_t)handle_bufioreq, 0, 0, 0,
		  &v) < 0)
		return -1;
	*id = (ioservid_t)v;
	return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						ioservid_t id, int is_mmio, uint64_t start,
						uint64_t end)
{
	return dm_op(dmod, XSIM_OP_DM_MAP_RANGE, domid, id, (uint64_t)is_mmio, start, end, 0, NULL);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						    ioservid_t id, int is_mmio, uint64_t start,
						    uint64_t end)
{
	return dm_op(dmod, XSIM_OP_DM_UNMAP_RANGE, domid, id, (uint64_t)is_mmio, start, end, 0,
		     NULL);
}

/*
 * The real library builds start = end = XEN_DMOP_PCI_SBDF(segment, bus, device, function),
 * which masks device to 5 bits and function to 3: device 32 silently names device 0. We
 * send the masked fields, as Xen would see them, and say so on stderr.
 */
static int pcidev_op(xendevicemodel_handle *dmod, uint32_t op, domid_t domid, ioservid_t id,
		     uint16_t segment, uint8_t bus, uint8_t device, uint8_t function)
{
	uint32_t sbdf = XEN_DMOP_PCI_SBDF(segment, bus, device, function);

	if (device > 0x1f || function > 7)
		fprintf(stderr,
			"xensim: %s_pcidev %02x:%02x.%x: masked to %02x:%02x.%x as"
			" libxendevicemodel does\n",
			op == XSIM_OP_DM_MAP_PCIDEV ? "map" : "unmap", bus, device, function,
			(sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f, sbdf & 7);
	return dm_op(dmod, op, domid, id, sbdf >> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f,
		     sbdf & 7, NULL);
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
					      ioservid_t id, uint16_t segment, uint8_t bus,
					      uint8_t device, uint8_t function)
{
	return pcidev_op(dmod, XSIM_OP_DM_MAP_PCIDEV, domid, id, segment, bus, device, function);
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						  ioservid_t id, uint16_t segment, uint8_t bus,
						  uint8_t device, uint8_t function)
{
	return pcidev_op(dmod, XSIM_OP_DM_UNMAP_PCIDEV, domid, id, segment, bus, device, function);
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id)
{
	return dm_op(dmod, XSIM_OP_DM_DESTROY_SERVER, domid, id, 0, 0, 0, 0, NULL);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
					  int enabled)
{
	return dm_op(dmod, XSIM_OP_DM_SET_STATE, domid, id, (uint64_t) !!enabled, 0, 0, 0, NULL);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid, unsigned int irq,
				 unsigned int level)
{
	return dm_op(dmod, XSIM_OP_DM_SET_IRQ, domid, 0, irq, level, 0, 0, NULL);
}

int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod, domid_t domid, uint16_t segment,
				      uint8_t bus, uint8_t device, uint8_t intx, unsigned int level)
{
	return dm_op(dmod, XSIM_OP_DM_SET_INTX, domid, 0, segment, bus, device,
		     (uint64_t)intx | (uint64_t)level << 8, NULL);
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid, uint64_t msi_addr,
			      uint32_t msi_data)
{
	return dm_op(dmod, XSIM_OP_DM_INJECT_MSI, domid, 0, msi_addr, msi_data, 0, 0, NULL);
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
	uint64_t v = 0;

	if (dm_op(dmod, XSIM_OP_DM_NR_VCPUS, domid, 0, 0, 0, 0, 0, &v) < 0)
		return -1;
	*vcpus = (unsigned int)v;
	return 0;
}

int xendevicemodel_restrict(xendevicemodel_handle *dmod, domid_t domid)
{
	return dm_op(dmod, XSIM_OP_RESTRICT, domid, 0, 0, 0, 0, 0, NULL);
}

/*
 * The rest of the API: defined so that a call can never reach the real library with
 * one of our handles. They fail with ENOSYS and say so on stderr.
 */
int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid, ioservid_t id,
					 xen_pfn_t *ioreq_gfn, xen_pfn_t *bufioreq_gfn,
					 evtchn_port_t *bufioreq_port)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						ioservid_t id, uint16_t type, uint32_t flags)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod, domid_t domid, uint8_t irq,
				     unsigned int level)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dmod, domid_t domid, uint8_t link,
				      uint8_t irq)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_track_dirty_vram(xendevicemodel_handle *dmod, domid_t domid, uint64_t first_pfn,
				    uint32_t nr, unsigned long *dirty_bitmap)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_modified_memory(xendevicemodel_handle *dmod, domid_t domid, uint64_t first_pfn,
				   uint32_t nr)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_modified_memory_bulk(xendevicemodel_handle *dmod, domid_t domid,
					struct xen_dm_op_modified_memory_extent extents[],
					uint32_t nr)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_set_mem_type(xendevicemodel_handle *dmod, domid_t domid, hvmmem_type_t mem_type,
				uint64_t first_pfn, uint32_t nr)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_inject_event(xendevicemodel_handle *dmod, domid_t domid, int vcpu,
				uint8_t vector, uint8_t type, uint32_t error_code, uint8_t insn_len,
				uint64_t extra)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_shutdown(xendevicemodel_handle *dmod, domid_t domid, unsigned int reason)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_relocate_memory(xendevicemodel_handle *dmod, domid_t domid, uint32_t size,
				   uint64_t src_gfn, uint64_t dst_gfn)
{
	xsim_unsupported(__func__);
	return -1;
}

int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *dmod, domid_t domid, uint64_t start,
					uint64_t end, uint32_t type)
{
	xsim_unsupported(__func__);
	return -1;
}
