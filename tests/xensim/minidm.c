/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim-minidm: a tiny device model written against the real Xen libraries, used by the
 * self-test of the simulator (test-selftest.c). It is linked like xvdm and run with
 * libxensim.so preloaded, so it checks the interposition as well as the simulation.
 *
 *   xensim-minidm DOMID BASE SIZE IRQ [nounmask] [pci=BUS:DEV.FN]
 *
 * Registers (offsets from BASE, 4 or 8 bytes):
 *   0x00 R  magic 0x6d696e69 ("mini")
 *   0x08 W  guest address A          0x10 W  length L: sum the bytes of [A, A+L) into
 *           0x18 and invert them in guest memory (foreign mapping, page by page)
 *   0x18 R  that sum                 0x20 W  raise IRQ     0x24 W  lower IRQ
 *   0x28 R  ioreqs handled so far    0x2c R  INVALIDATEs seen
 *   0x30 W  map the page at this address alone; 0x38 R: that call's err[0] (or -errno)
 *   0x40 R  addr of the last PCI_CONFIG ioreq  0x48 R  its size | dir << 8
 *   0x4c R  PCI_CONFIG ioreqs seen            0x60 R  result of the last call below (-errno)
 *   0x50 W  MSI address                        0x58 W  MSI data: xendevicemodel_inject_msi
 *   0x68 W  bus << 24 | dev << 16 | intx << 8 | level: xendevicemodel_set_pci_intx_level
 *   0x70 W  (map_pcidev) / 0x78 W (unmap_pcidev): seg << 32 | bus << 16 | dev << 8 | fn,
 *           bit 48: use the next server id instead of ours
 * Anything else reads 0. With pci=, the server also claims that function (segment 0)
 * before it says ready, and serves its 256-byte config space: vendor 0x5853 ("XS"),
 * device 0x0001, the rest zero and writable except the ids; other functions read ~0. Bad ioreqs (size, type) are completed; reads give all ones.
 * It writes /local/domain/0/minidm/DOMID/state = ready once served, quits when
 * minidm/DOMID/cmd (dom0-relative watch) reads "quit", on @releaseDomain for DOMID, or on
 * SIGTERM: then it unmaps, destroys its server and exits 0. With "nounmask" it never
 * unmasks a port after xenevtchn_pending(), a bug the simulator must make visible.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#define PAGE 4096u

struct dm {
	uint32_t domid;
	uint64_t base, size;
	unsigned irq, nr_vcpus;
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	xenevtchn_handle *xce;
	struct xs_handle *xs;
	xenforeignmemory_resource_handle *fres;
	ioservid_t id;
	struct shared_iopage *page;
	evtchn_port_t *ports; /* local port per vCPU */
	uint64_t addr, sum, handled, invalidates;
	int64_t map_err;
	bool no_unmask;
	/* PCI (x86) */
	bool pci;
	unsigned pci_bus, pci_dev, pci_fn;
	uint8_t cfg[256];
	uint64_t pci_addr, pci_sizedir, pci_count, msi_addr;
	int64_t call_ret;
};

static int die(const char *what)
{
	fprintf(stderr, "minidm: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Sum and invert [a, a + len) through foreign mappings of one page at a time. */
static void checksum(struct dm *dm, uint64_t a, uint64_t len)
{
	dm->sum = 0;
	while (len) {
		xen_pfn_t pfn = a / PAGE;
		uint64_t off = a % PAGE, n = PAGE - off < len ? PAGE - off : len;
		int err = 0;
		uint8_t *p = xenforeignmemory_map(dm->fmem, dm->domid, PROT_READ | PROT_WRITE, 1,
						  &pfn, &err);

		if (!p || err) {
			dm->sum = UINT64_MAX;
			return;
		}
		for (uint64_t i = 0; i < n; i++) {
			dm->sum += p[off + i];
			p[off + i] = (uint8_t)~p[off + i];
		}
		xenforeignmemory_unmap(dm->fmem, p, 1);
		a += n;
		len -= n;
	}
}

static void try_map(struct dm *dm, uint64_t a)
{
	xen_pfn_t pfn = a / PAGE;
	int err = 0;
	void *p = xenforeignmemory_map(dm->fmem, dm->domid, PROT_READ, 1, &pfn, &err);

	dm->map_err = p ? err : -errno;
	if (p)
		xenforeignmemory_unmap(dm->fmem, p, 1);
}

static uint64_t reg_read(struct dm *dm, uint64_t off)
{
	switch (off) {
	case 0x00:
		return 0x6d696e69;
	case 0x18:
		return dm->sum;
	case 0x28:
		return dm->handled;
	case 0x2c:
		return dm->invalidates;
	case 0x38:
		return (uint64_t)dm->map_err;
	case 0x40:
		return dm->pci_addr;
	case 0x48:
		return dm->pci_sizedir;
	case 0x4c:
		return dm->pci_count;
	case 0x60:
		return (uint64_t)dm->call_ret;
	default:
		return 0;
	}
}

static int64_t call_ret(int ret)
{
	return ret < 0 ? -(int64_t)errno : 0;
}

static void pcidev_call(struct dm *dm, bool map, uint64_t v)
{
	ioservid_t id = (ioservid_t)(dm->id + ((v >> 48) & 1));
	uint16_t seg = (uint16_t)(v >> 32);
	uint8_t bus = (uint8_t)(v >> 16), dev = (uint8_t)(v >> 8), fn = (uint8_t)v;

	dm->call_ret = call_ret(map ? xendevicemodel_map_pcidev_to_ioreq_server(
					      dm->dmod, dm->domid, id, seg, bus, dev, fn)
				    : xendevicemodel_unmap_pcidev_from_ioreq_server(
					      dm->dmod, dm->domid, id, seg, bus, dev, fn));
}

static void reg_write(struct dm *dm, uint64_t off, uint64_t val)
{
	switch (off) {
	case 0x50:
		dm->msi_addr = val;
		break;
	case 0x58:
		dm->call_ret = call_ret(xendevicemodel_inject_msi(dm->dmod, dm->domid, dm->msi_addr,
								  (uint32_t)val));
		break;
	case 0x68:
		dm->call_ret = call_ret(xendevicemodel_set_pci_intx_level(
			dm->dmod, dm->domid, 0, (uint8_t)(val >> 24), (uint8_t)(val >> 16),
			(uint8_t)(val >> 8), (uint8_t)val));
		break;
	case 0x70:
	case 0x78:
		pcidev_call(dm, off == 0x70, val);
		break;
	case 0x08:
		dm->addr = val;
		break;
	case 0x10:
		checksum(dm, dm->addr, val);
		break;
	case 0x20:
	case 0x24:
		xendevicemodel_set_irq_level(dm->dmod, dm->domid, dm->irq, off == 0x20);
		break;
	case 0x30:
		try_map(dm, val);
		break;
	default:
		break;
	}
}

/* A PCI_CONFIG ioreq (x86): addr = SBDF << 32 | reg (FACTS 22). */
static void handle_pci(struct dm *dm, ioreq_t *io)
{
	uint32_t sbdf = (uint32_t)(io->addr >> 32), reg = (uint32_t)io->addr;
	uint32_t mine = dm->pci_bus << 8 | dm->pci_dev << 3 | dm->pci_fn;
	bool good = dm->pci && sbdf == mine && io->count == 1 && !io->data_is_ptr &&
		    (io->size == 1 || io->size == 2 || io->size == 4) && reg + io->size <= 256;

	dm->pci_addr = io->addr;
	dm->pci_sizedir = io->size | (uint64_t)io->dir << 8;
	dm->pci_count++;
	if (io->dir == IOREQ_READ) {
		io->data = good ? 0 : (1ULL << (io->size * 8)) - 1;
		for (unsigned i = 0; good && i < io->size; i++)
			io->data |= (uint64_t)dm->cfg[reg + i] << (8 * i);
		return;
	}
	for (unsigned i = 0; good && i < io->size; i++) {
		if (reg + i >= 4) /* vendor and device id are read-only */
			dm->cfg[reg + i] = (uint8_t)(io->data >> (8 * i));
	}
}

static void handle(struct dm *dm, ioreq_t *io)
{
	bool good = io->type == IOREQ_TYPE_COPY && io->count == 1 && !io->data_is_ptr &&
		    (io->size == 4 || io->size == 8) && io->addr >= dm->base &&
		    io->addr - dm->base < dm->size;

	dm->handled++;
	if (io->type == IOREQ_TYPE_INVALIDATE) {
		dm->invalidates++;
		return;
	}
	if (io->type == IOREQ_TYPE_PCI_CONFIG) {
		handle_pci(dm, io);
		return;
	}
	if (!good) {
		if (io->dir == IOREQ_READ)
			io->data = io->size && io->size < 8 ? (1ULL << (io->size * 8)) - 1 : ~0ULL;
		return;
	}
	if (io->dir == IOREQ_READ) {
		io->data = reg_read(dm, io->addr - dm->base);
		if (io->size == 4)
			io->data &= 0xffffffffu;
	} else {
		reg_write(dm, io->addr - dm->base, io->data);
	}
}

static void serve_port(struct dm *dm)
{
	int port = xenevtchn_pending(dm->xce);
	ioreq_t *slot, io;
	unsigned v;

	if (port < 0)
		return;
	for (v = 0; v < dm->nr_vcpus && dm->ports[v] != (evtchn_port_t)port; v++)
		;
	if (!dm->no_unmask)
		xenevtchn_unmask(dm->xce, port);
	if (v == dm->nr_vcpus)
		return;
	slot = &dm->page->vcpu_ioreq[v];
	if (slot->state != STATE_IOREQ_READY)
		return;
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the state before the request */
	memcpy(&io, slot, sizeof(io));
	slot->state = STATE_IOREQ_INPROCESS;
	handle(dm, &io);
	slot->data = io.data;
	__atomic_thread_fence(__ATOMIC_RELEASE); /* the data before the state */
	slot->state = STATE_IORESP_READY;
	xenevtchn_notify(dm->xce, port);
}

/* true: quit. */
static bool serve_xs(struct dm *dm)
{
	char **ev, *v;
	bool quit = false;

	while ((ev = xs_check_watch(dm->xs))) {
		if (!strcmp(ev[XS_WATCH_TOKEN], "cmd")) {
			v = xs_read(dm->xs, XBT_NULL, ev[XS_WATCH_PATH], NULL);
			quit |= v && !strcmp(v, "quit");
			free(v);
		} else if (!strcmp(ev[XS_WATCH_TOKEN], "release")) {
			quit |= !xs_is_domain_introduced(dm->xs, dm->domid);
		}
		free(ev);
	}
	return quit;
}

static int setup(struct dm *dm)
{
	char path[64];

	if (xendevicemodel_nr_vcpus(dm->dmod, dm->domid, &dm->nr_vcpus) < 0)
		return die("nr_vcpus");
	if (xendevicemodel_create_ioreq_server(dm->dmod, dm->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
					       &dm->id) < 0)
		return die("create_ioreq_server");
	dm->fres =
		xenforeignmemory_map_resource(dm->fmem, dm->domid, XENMEM_resource_ioreq_server,
					      dm->id, XENMEM_resource_ioreq_server_frame_ioreq(0),
					      1, (void **)&dm->page, PROT_READ | PROT_WRITE, 0);
	if (!dm->fres)
		return die("map_resource");
	if (xendevicemodel_map_io_range_to_ioreq_server(dm->dmod, dm->domid, dm->id, 1, dm->base,
							dm->base + dm->size - 1) < 0)
		return die("map_io_range");
	if (dm->pci && xendevicemodel_map_pcidev_to_ioreq_server(
			       dm->dmod, dm->domid, dm->id, 0, (uint8_t)dm->pci_bus,
			       (uint8_t)dm->pci_dev, (uint8_t)dm->pci_fn) < 0)
		return die("map_pcidev");
	if (xendevicemodel_set_ioreq_server_state(dm->dmod, dm->domid, dm->id, 1) < 0)
		return die("set_ioreq_server_state");
	dm->ports = calloc(dm->nr_vcpus, sizeof(*dm->ports));
	for (unsigned v = 0; v < dm->nr_vcpus; v++) {
		int p = xenevtchn_bind_interdomain(dm->xce, dm->domid,
						   dm->page->vcpu_ioreq[v].vp_eport);

		if (p < 0)
			return die("bind_interdomain");
		dm->ports[v] = (evtchn_port_t)p;
	}
	snprintf(path, sizeof(path), "minidm/%u/cmd", dm->domid);
	if (!xs_watch(dm->xs, path, "cmd") || !xs_watch(dm->xs, "@releaseDomain", "release"))
		return die("xs_watch");
	snprintf(path, sizeof(path), "/local/domain/0/minidm/%u/state", dm->domid);
	if (!xs_write(dm->xs, XBT_NULL, path, "ready", 5))
		return die("xs_write");
	return 0;
}

static void teardown(struct dm *dm)
{
	for (unsigned v = 0; dm->ports && v < dm->nr_vcpus; v++)
		xenevtchn_unbind(dm->xce, dm->ports[v]);
	xendevicemodel_unmap_io_range_from_ioreq_server(dm->dmod, dm->domid, dm->id, 1, dm->base,
							dm->base + dm->size - 1);
	if (dm->pci)
		xendevicemodel_unmap_pcidev_from_ioreq_server(
			dm->dmod, dm->domid, dm->id, 0, (uint8_t)dm->pci_bus, (uint8_t)dm->pci_dev,
			(uint8_t)dm->pci_fn);
	xendevicemodel_destroy_ioreq_server(dm->dmod, dm->domid, dm->id);
	xenforeignmemory_unmap_resource(dm->fmem, dm->fres);
	free(dm->ports);
}

int main(int argc, char **argv)
{
	struct dm dm = { 0 };
	struct pollfd pfd[3];
	sigset_t ss;
	int ret = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: %s DOMID BASE SIZE IRQ [nounmask] [pci=BUS:DEV.FN]\n",
			argv[0]);
		return 2;
	}
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "nounmask")) {
			dm.no_unmask = true;
		} else if (sscanf(argv[i], "pci=%x:%x.%x", &dm.pci_bus, &dm.pci_dev, &dm.pci_fn) ==
				   3 &&
			   dm.pci_bus < 256 && dm.pci_dev < 32 && dm.pci_fn < 8) {
			dm.pci = true;
		} else {
			fprintf(stderr, "minidm: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	dm.cfg[0] = 0x53;
	dm.cfg[1] = 0x58;
	dm.cfg[2] = 0x01;
	dm.domid = (uint32_t)strtoul(argv[1], NULL, 0);
	dm.base = strtoull(argv[2], NULL, 0);
	dm.size = strtoull(argv[3], NULL, 0);
	dm.irq = (unsigned)strtoul(argv[4], NULL, 0);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	dm.dmod = xendevicemodel_open(NULL, 0);
	dm.fmem = xenforeignmemory_open(NULL, 0);
	dm.xce = xenevtchn_open(NULL, 0);
	dm.xs = xs_open(0);
	if (!dm.dmod || !dm.fmem || !dm.xce || !dm.xs)
		return die("open");
	if (setup(&dm))
		return 1;
	pfd[0] = (struct pollfd){ xenevtchn_fd(dm.xce), POLLIN, 0 };
	pfd[1] = (struct pollfd){ xs_fileno(dm.xs), POLLIN, 0 };
	pfd[2] = (struct pollfd){ signalfd(-1, &ss, SFD_CLOEXEC), POLLIN, 0 };
	for (;;) {
		if (poll(pfd, 3, -1) < 0 && errno != EINTR) {
			ret = die("poll");
			break;
		}
		if (pfd[0].revents)
			serve_port(&dm);
		if ((pfd[1].revents && serve_xs(&dm)) || pfd[2].revents)
			break;
	}
	teardown(&dm);
	xs_close(dm.xs);
	xenevtchn_close(dm.xce);
	xenforeignmemory_close(dm.fmem);
	xendevicemodel_close(dm.dmod);
	close(pfd[2].fd);
	return ret;
}
