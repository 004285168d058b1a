/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-pci-x86-io: what x86 HVM guests send that Arm guests do not, against the real xvdm
 * (--pci mode=cfg,pio-notify=on) serving two virtio-rng functions on a simulated 2-vCPU
 * x86 domain:
 *  - port I/O: each function has an I/O BAR 0 with its notify register; the guest's PCI
 *    core assigns it from the port window (as hvmloader does), xvdm claims the ports once
 *    I/O decoding is on (map_io_range_to_ioreq_server, is_mmio 0), the driver picks the
 *    port NOTIFY capability as Linux does and every kick is an `out` (IOREQ_TYPE_PIO);
 *    slot 4 uses MSI-X, slot 5 INTx. A port nobody claims reads all ones from Xen itself.
 *  - string ioreqs (rep movs/stos/ins/outs as Xen's emulator sends them: count > 1, data
 *    a guest-physical pointer, the direction flag): the MSI-X table of slot 4 read into
 *    guest RAM forwards and backwards and compared with single reads, rewritten from RAM,
 *    filled with rep stos, restored; rep outsw of queue indexes to the notify port (kicks),
 *    one of a queue that does not exist (ignored); rep insw from the write-only register
 *    stores all ones, as four single reads would return. Entropy still flows afterwards.
 *  - INVALIDATE (Xen's map-cache flush, to every server) between requests: xvdm drops its
 *    guest mappings and the next requests map them again.
 * Then xvdm ends on SIGTERM with status 0 and the port ranges are released.
 * Run as `sim-pci-x86-io <xvdm> <libxensim.so>`.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>

#include "tests/xensim/sim-pci.h"

#define DOMID	 1
#define NVCPUS	 2
#define NDEV	 2
#define RNG_BUF	 4096u
#define MSI_ADDR 0xfee00000ULL

static struct sim sim;
static struct gpci_host host;

static void rng_reads(struct vdrv *v, uint64_t gpa, unsigned n, const char *when)
{
	uint8_t prev[16] = { 0 };
	char what[256] = "";

	for (unsigned i = 0; i < n; i++) {
		int r = sim_rng_read(v, gpa, RNG_BUF, prev, what, sizeof(what));

		SIM_CHECK(&sim, !r, "rng read %u %s: %s", i, when, what);
	}
}

static uint32_t mmio_rd32(struct xs_dom *d, uint64_t a)
{
	uint64_t v = 0;
	int r = gd_mmio_read(d, 0, a, 4, &v);

	SIM_CHECK(&sim, !r, "read 0x%" PRIx64 ": %s", a, strerror(-r));
	return (uint32_t)v;
}

static void string_op(struct xs_dom *d, const struct gd_string *s, const char *what)
{
	int r = gd_string(d, 0, s);

	SIM_CHECK(&sim, !r, "%s: %s", what, strerror(-r));
}

/* rep movsl/stosl against the MSI-X table of v's function; restores what it changes. */
static void msix_strings(struct xs_dom *d, struct vdrv *v)
{
	uint64_t entry = v->pci.msix_table, ram = gd_alloc(d, 4096, 4096);
	uint32_t single[4], *buf = gd_ram(d, ram, 4096), want[4];
	struct gd_string s = { .size = 4, .count = 4, .addr = entry, .gpa = ram, .ptr = true };

	for (unsigned i = 0; i < 4; i++)
		single[i] = mmio_rd32(d, entry + 4 * i);
	SIM_CHECK(&sim, single[0] == (uint32_t)MSI_ADDR && single[2] == 0x60,
		  "MSI-X entry 0 is 0x%08x/0x%08x, data 0x%x", single[0], single[1], single[2]);
	/* rep movsl, device -> RAM, forwards */
	memset(buf, 0xa5, 64);
	string_op(d, &s, "rep movsl from the MSI-X table");
	SIM_CHECK(&sim, !memcmp(buf, single, 16) && buf[4] == 0xa5a5a5a5,
		  "rep movsl read %08x %08x %08x %08x (%08x after), single reads %08x %08x %08x "
		  "%08x",
		  buf[0], buf[1], buf[2], buf[3], buf[4], single[0], single[1], single[2],
		  single[3]);
	/* the same backwards (std; rep movsl): from the last dword down */
	memset(buf, 0xa5, 64);
	s.df = true;
	s.addr = entry + 12;
	s.gpa = ram + 12;
	string_op(d, &s, "rep movsl from the MSI-X table, df");
	SIM_CHECK(&sim, !memcmp(buf, single, 16), "backwards rep movsl differs");
	/* RAM -> device: a new data word through rep movsl, read back singly */
	memcpy(want, single, 16);
	want[2] = 0x61;
	memcpy(buf, want, 16);
	s = (struct gd_string){
		.write = true, .size = 4, .count = 3, .addr = entry, .gpa = ram, .ptr = true
	};
	string_op(d, &s, "rep movsl to the MSI-X table");
	SIM_CHECK(&sim, mmio_rd32(d, entry + 8) == 0x61, "MSI-X data after rep movsl: 0x%x",
		  mmio_rd32(d, entry + 8));
	/* rep stosl: data and vector control to 1 (masked), then everything restored */
	s = (struct gd_string){
		.write = true, .size = 4, .count = 2, .addr = entry + 8, .value = 1
	};
	string_op(d, &s, "rep stosl to the MSI-X table");
	SIM_CHECK(&sim, mmio_rd32(d, entry + 8) == 1 && mmio_rd32(d, entry + 12) == 1,
		  "rep stosl: data 0x%x ctrl 0x%x", mmio_rd32(d, entry + 8),
		  mmio_rd32(d, entry + 12));
	memcpy(buf, single, 16);
	s = (struct gd_string){
		.write = true, .size = 4, .count = 4, .addr = entry, .gpa = ram, .ptr = true
	};
	string_op(d, &s, "rep movsl restoring the MSI-X entry");
	for (unsigned i = 0; i < 4; i++)
		SIM_CHECK(&sim, mmio_rd32(d, entry + 4 * i) == single[i],
			  "MSI-X entry 0 dword %u not restored", i);
}

/* rep outsw / insw on the notify port. */
static void port_strings(struct xs_dom *d, struct vdrv *v)
{
	uint64_t ram = gd_alloc(d, 4096, 4096);
	uint16_t *w = gd_ram(d, ram, 4096);
	struct gd_string s = { .pio = true,
			       .write = true,
			       .size = 2,
			       .count = 3,
			       .addr = v->pci.notify.gpa,
			       .gpa = ram,
			       .ptr = true };

	w[0] = w[1] = w[2] = 0; /* queue 0, three times: kicks with nothing new to do */
	string_op(d, &s, "rep outsw to the notify port");
	w[0] = 7; /* no such queue: xvdm logs and ignores it */
	s.count = 1;
	string_op(d, &s, "outsw of queue 7");
	for (unsigned i = 0; i < 8; i++)
		w[i] = 0x1234;
	s = (struct gd_string){ .pio = true,
				.size = 2,
				.count = 4,
				.addr = v->pci.notify.gpa,
				.gpa = ram,
				.ptr = true };
	string_op(d, &s, "rep insw from the notify port");
	/* each repetition as a single `in` of the write-only register: all ones */
	SIM_CHECK(&sim, w[0] == 0xffff && w[3] == 0xffff && w[4] == 0x1234,
		  "rep insw stored %04x %04x %04x %04x %04x", w[0], w[1], w[2], w[3], w[4]);
}

int main(int argc, char **argv)
{
	struct sim_pci_expect want[NDEV] = { { 4, VIRTIO_ID_RNG, true, 0, true },
					     { 5, VIRTIO_ID_RNG, true, 0, true } };
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_X86, .host_mem = 32u << 20 };
	const char *args[] = { "--domid",  "1",
			       "--pci",	   NULL,
			       "--device", "rng,transport=pci,slot=4",
			       "--device", "rng,transport=pci,slot=5",
			       NULL };
	struct vdrv_pci_opts opts[NDEV] = { { VDRV_PCI_MSIX, MSI_ADDR, 0x60 },
					    { VDRV_PCI_INTX, 0, 0 } };
	struct hv_dom_stats st0, st1;
	struct gpci_host_cfg hc;
	struct gpci_fn fns[NDEV];
	struct vdrv v[NDEV];
	char pci[320];
	uint64_t gpa;
	uint32_t val;
	struct hv_claim cl;
	struct xs_dom *d;
	int r, status;

	sim_init(&sim, "sim-pci-x86-io", argc, argv, 60);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	gpci_cfg_x86(&hc);
	gpci_host_init(&host, d, &hc);
	snprintf(pci, sizeof(pci), "%s,pio-notify=on", sim_pci_arg(&sim, &hc));
	args[3] = pci;
	sim_spawn(&sim, args);
	for (unsigned i = 0; i < NDEV; i++) {
		r = hv_dom_wait_pci_served(d, HV_SBDF(0, 0, want[i].slot, 0), 10000);
		SIM_CHECK(&sim, !r, "slot %u not claimed: %s", want[i].slot, strerror(-r));
	}
	sim_pci_enumerate(&sim, &host, 0, want, NDEV, fns);
	for (unsigned i = 0; i < NDEV; i++) {
		const struct gpci_bar *b = &fns[i].bar[0];

		SIM_CHECK(&sim, b->io && b->size == 4 && b->addr >= hc.io_base,
			  "%s: BAR 0 io %d size %" PRIu64 " at 0x%" PRIx64, fns[i].name, b->io,
			  b->size, b->addr);
		r = vdrv_pci_probe(&v[i], &host, &fns[i], i, &opts[i], VIRTIO_ID_RNG, 0, 1, 64);
		SIM_CHECK(&sim, !r, "%s: probe: %s", fns[i].name, strerror(-r));
		SIM_CHECK(&sim, v[i].pci.notify.io && v[i].pci.notify.gpa == b->addr,
			  "%s: the driver's notify is %s 0x%" PRIx64, fns[i].name,
			  v[i].pci.notify.io ? "port" : "MMIO", v[i].pci.notify.gpa);
		sim_pci_check_claimed(&sim, &host, &fns[i]);
		sim_note("%s: I/O BAR 0 at port 0x%" PRIx64 ", notify by `out`, %s", fns[i].name,
			 b->addr, i ? "INTx" : "MSI-X");
	}

	gpa = gd_alloc(d, RNG_BUF, 4096);
	hv_dom_stats(d, &st0);
	for (unsigned i = 0; i < NDEV; i++)
		rng_reads(&v[i], gpa, 8, "over port notify");
	hv_dom_stats(d, &st1);
	SIM_CHECK(&sim, st1.pio - st0.pio >= 16, "%u port ioreqs for 16 requests",
		  st1.pio - st0.pio);
	sim_note("16 rng requests: %u port ioreqs (notifies), %u MSIs", st1.pio - st0.pio,
		 st1.msis - st0.msis);
	sim_pci_check_intx_idle(&sim, &v[1]);

	/* unclaimed port: Xen answers, xvdm never sees it */
	r = gd_pio_read(d, 0, 0x5000, 4, &val);
	SIM_CHECK(&sim, !r && val == 0xffffffff, "port 0x5000: %s, 0x%x", strerror(-r), val);

	hv_dom_stats(d, &st0);
	msix_strings(d, &v[0]);
	port_strings(d, &v[0]);
	hv_dom_stats(d, &st1);
	SIM_CHECK(&sim, st1.strings - st0.strings == 8, "%u string ioreqs sent, want 8",
		  st1.strings - st0.strings);
	rng_reads(&v[0], gpa, 4, "after the strings");

	for (unsigned k = 0; k < 3; k++) {
		r = gd_send_invalidate(d, k % NVCPUS);
		SIM_CHECK(&sim, !r, "INVALIDATE: %s", strerror(-r));
		for (unsigned i = 0; i < NDEV; i++)
			rng_reads(&v[i], gpa, 2, "after INVALIDATE");
	}
	sim_note("MSI-X table by rep movsl (both directions) and rep stosl, notify by rep "
		 "outsw/insw: %u string ioreqs; 3 INVALIDATEs, each followed by reads on both",
		 st1.strings - st0.strings);

	for (unsigned i = 0; i < NDEV; i++)
		SIM_CHECK(&sim, !vdrv_remove(&v[i]), "%s: remove", fns[i].name);
	status = sim_terminate(&sim, 5000);
	SIM_CHECK(&sim, WIFEXITED(status) && WEXITSTATUS(status) == 0, "xvdm after SIGTERM: %s",
		  sim_status_str(status));
	for (unsigned i = 0; i < NDEV; i++) {
		hv_dom_pio_claim(d, (uint16_t)fns[i].bar[0].addr, &cl);
		SIM_CHECK(&sim, !cl.mapped, "port 0x%" PRIx64 " still claimed after xvdm ended",
			  fns[i].bar[0].addr);
	}
	sim_pass(&sim);
}
