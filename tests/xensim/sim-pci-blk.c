/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-pci-blk: the real xvdm as the PCI host bridge of a simulated 3-vCPU Arm domain
 * (--pci mode=ecam: ECAM window, 32-bit and 64-bit prefetchable BAR windows, INTx
 * swizzled onto four SPIs; no MSI-X on Arm), serving a vhost-user-blk device in shadow
 * mode (DESIGN.md §3) backed by qemu-storage-daemon on slot 1, the built-in rng on slot 5
 * (the same INTx line as slot 1 after the swizzle: a shared, level-triggered SPI) and a
 * virtio-mmio rng beside them. The blk device also has two VIRTIO shared memory regions
 * (shm-sizes=): BAR 4 and one SHARED_MEMORY capability each, found as Linux's
 * vp_get_shm_region does; nothing is mapped there, so they read 0 and ignore writes.
 *
 * vCPU 0 enumerates bus 0 through ECAM as Linux's PCI core does (vendor ids, BAR sizing
 * by all-ones writes, 64-bit pairs, capabilities) and assigns the BARs from the windows;
 * none may be claimed before memory decoding is on. Then, concurrently: vCPU 1 binds the
 * virtio-pci blk driver (INTx) and runs the blk data checks (blk-check.h: every write
 * compared with the image file byte for byte, read-backs, a read past the end, FLUSH,
 * GET_ID); vCPU 2 binds the virtio-pci rng driver and reads entropy, removes and probes
 * it again; vCPU 0 drives the virtio-mmio rng. Every BAR is claimed once its driver
 * enabled decoding; the PCI_CFG capability window reads what the BAR reads; the shared
 * line is low once every interrupt was taken. Then the rng's BAR 2 is moved: decoding
 * off (unclaimed), a new address, decoding on (claimed there, not at the old address),
 * and the driver works at the new place. xvdm and qemu-storage-daemon end on SIGTERM
 * with status 0.
 * Run as `sim-pci-blk <xvdm> <libxensim.so>`. Exits 77 without vhost-user-blk in xvdm or
 * without qemu-storage-daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"
#include "tests/xensim/sim-pci.h"

#define DOMID	  1
#define NVCPUS	  3
#define BLK_SLOT  1
#define RNG_SLOT  5 /* (5 + 1 - 1) % 4 == (1 + 1 - 1) % 4: both on INTB's SPI */
#define MMIO_IRQ  33
#define QSIZE	  128
#define RNG_BUF	  4096u
#define RNG_READS 24
/* shm-sizes= gives the blk device two shared memory regions its back-end never fills */
#define SHM_A	   0
#define SHM_A_SIZE 0x100000
#define SHM_B	   7
#define SHM_B_SIZE 0x10000

static struct sim sim;
static struct gpci_host host;

struct job {
	struct xs_dom *d;
	unsigned vcpu;
	const struct gpci_fn *fn; /* NULL: the virtio-mmio rng */
	const char *image;	  /* blk */
	int err;
	char what[256];
	/* results */
	struct blk_check c;
	struct vblk b;
	unsigned reads, interrupts, spurious;
	uint32_t window_numq;
	unsigned line;
};

/*
 * The regions as vp_get_shm_region() finds them, inside BAR 4; qemu-storage-daemon maps
 * nothing there, so they read 0 and ignore writes (vpci.h, vhu-shmem).
 */
static int check_shm(struct job *j)
{
	static const struct {
		uint8_t id;
		uint64_t size;
	} want[] = { { SHM_A, SHM_A_SIZE }, { SHM_B, SHM_B_SIZE } };
	const struct gpci_bar *b4 = &j->fn->bar[4];
	uint64_t gpa, len, v = 1;
	int ret;

	for (unsigned i = 0; i < 2; i++) {
		ret = vdrv_pci_shm(&j->b.v, want[i].id, &gpa, &len);
		if (ret < 0 || len != want[i].size || gpa < b4->addr ||
		    gpa + len > b4->addr + b4->size) {
			snprintf(j->what, sizeof(j->what),
				 "shm %u: %s, 0x%" PRIx64 "+0x%" PRIx64 " (BAR 4 0x%" PRIx64
				 "+0x%" PRIx64 ")",
				 want[i].id, ret < 0 ? strerror(-ret) : "found", gpa, len, b4->addr,
				 b4->size);
			return -EPROTO;
		}
		if ((ret = gd_mmio_write(j->d, j->vcpu, gpa + len - 8, 8, ~0ULL)) < 0 ||
		    (ret = gd_mmio_read(j->d, j->vcpu, gpa + len - 8, 8, &v)) < 0 || v) {
			snprintf(j->what, sizeof(j->what), "shm %u, unmapped: %s, reads 0x%" PRIx64,
				 want[i].id, ret < 0 ? strerror(-ret) : "accessible", v);
			return ret < 0 ? ret : -EPROTO;
		}
	}
	return vdrv_pci_shm(&j->b.v, 1, &gpa, &len) == -ENOENT ? 0 : -EPROTO;
}

static void *blk_thread(void *arg)
{
	struct job *j = arg;
	const struct vdrv_pci_opts o = { .irq = VDRV_PCI_INTX };
	struct vdrv_pci *p = &j->b.v.pci;

	j->err = vblk_probe_pci(&j->b, &host, j->fn, j->vcpu, &o, QSIZE);
	if (j->err) {
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-j->err));
		return NULL;
	}
	j->line = p->line;
	j->err = check_shm(j);
	if (j->err)
		return NULL;
	/* virtio 1.2 §4.1.4.9: the PCI_CFG window reads the BAR's bytes. */
	j->err = vdrv_pci_cfg_window_read(
		&j->b.v, p->common.bar, p->common.off + VIRTIO_PCI_COMMON_NUMQ, 2, &j->window_numq);
	if (j->err) {
		snprintf(j->what, sizeof(j->what), "PCI_CFG window: %s", strerror(-j->err));
		return NULL;
	}
	j->err = blk_check_init(&j->c, &j->b, j->image, 300, 0);
	if (!j->err)
		j->err = blk_check_run(&j->c, 10000);
	if (j->err)
		snprintf(j->what, sizeof(j->what), "%s", j->c.what);
	j->interrupts = j->b.v.interrupts;
	j->spurious = p->spurious;
	blk_check_fini(&j->c);
	vblk_remove(&j->b);
	return NULL;
}

static int rng_round(struct job *j, struct vdrv *v, uint64_t gpa, uint8_t *prev)
{
	const struct vdrv_pci_opts o = { .irq = VDRV_PCI_INTX };
	int ret;

	ret = j->fn ? vdrv_pci_probe(v, &host, j->fn, j->vcpu, &o, VIRTIO_ID_RNG, 0, 1, 64)
		    : vdrv_probe(v, VIRTIO_ID_RNG, 0, 1, 64);
	if (ret < 0) {
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < RNG_READS / 2; i++) {
		if ((ret = sim_rng_read(v, gpa, RNG_BUF - i * 100, prev, j->what,
					sizeof(j->what))) < 0)
			return ret;
		j->reads++;
	}
	j->interrupts += v->interrupts;
	j->spurious += v->pci.spurious;
	j->line = j->fn ? v->pci.line : MMIO_IRQ;
	ret = vdrv_remove(v);
	if (ret < 0)
		snprintf(j->what, sizeof(j->what), "remove: %s", strerror(-ret));
	return ret;
}

static void *rng_thread(void *arg)
{
	struct job *j = arg;
	uint64_t gpa = gd_alloc(j->d, RNG_BUF, 4096);
	uint8_t prev[16] = { 0 };
	struct vdrv v;

	for (unsigned r = 0; r < 2 && !j->err; r++) {
		if (!j->fn)
			vdrv_init(&v, j->d, j->vcpu, hv_host_mmio_base(), MMIO_IRQ);
		j->err = rng_round(j, &v, gpa, prev);
	}
	return NULL;
}

/* Decoding off, BAR 2 to `to`, decoding on: xvdm must follow (vpci.h: moves). */
static void move_bar(struct xs_dom *d, struct gpci_fn *f, uint64_t to)
{
	uint64_t from = f->bar[2].addr;
	struct hv_claim cl;
	uint32_t cmd, lo, hi;

	SIM_CHECK(&sim, !gpci_fn_read(&host, 0, f, PCI_COMMAND, 2, &cmd), "command");
	SIM_CHECK(&sim, !gpci_fn_write(&host, 0, f, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY),
		  "command");
	hv_dom_claim(d, from, &cl);
	SIM_CHECK(&sim, !cl.mapped, "BAR 2 at 0x%" PRIx64 " still claimed with decoding off", from);
	SIM_CHECK(&sim,
		  !gpci_fn_write(&host, 0, f, PCI_BASE_ADDRESS_2, 4,
				 (uint32_t)to | f->bar[2].flags) &&
			  !gpci_fn_write(&host, 0, f, PCI_BASE_ADDRESS_3, 4, to >> 32) &&
			  !gpci_fn_read(&host, 0, f, PCI_BASE_ADDRESS_2, 4, &lo) &&
			  !gpci_fn_read(&host, 0, f, PCI_BASE_ADDRESS_3, 4, &hi),
		  "BAR 2 write");
	SIM_CHECK(&sim, ((uint64_t)hi << 32 | (lo & ~0xfu)) == to, "BAR 2 reads 0x%08x%08x", hi,
		  lo);
	SIM_CHECK(&sim, !gpci_fn_write(&host, 0, f, PCI_COMMAND, 2, cmd), "command");
	f->bar[2].addr = to;
	sim_pci_check_claimed(&sim, &host, f);
	hv_dom_claim(d, from, &cl);
	SIM_CHECK(&sim, !cl.mapped, "the old BAR 2 address 0x%" PRIx64 " is still claimed", from);
	sim_note("%s: BAR 2 moved from 0x%" PRIx64 " to 0x%" PRIx64 ", claims followed", f->name,
		 from, to);
}

static void check_job(struct job *j, const char *what)
{
	SIM_CHECK(&sim, !j->err, "vcpu%u (%s): %s", j->vcpu, what, j->what);
	SIM_CHECK(&sim, j->interrupts > 0, "%s: no interrupts taken", what);
}

int main(int argc, char **argv)
{
	static const struct sim_pci_expect want[] = { { BLK_SLOT, VIRTIO_ID_BLOCK, false, 2 },
						      { RNG_SLOT, VIRTIO_ID_RNG, false, 0 } };
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	struct gpci_host_cfg hc;
	struct gpci_fn fns[2];
	struct job blk, rng, mmio;
	char blk_spec[512], rng_spec[128], mmio_spec[128];
	pthread_t t[3];
	struct xs_dom *d;
	const char *sock;
	pid_t qsd;

	sim_init(&sim, "sim-pci-blk", argc, argv, 120);
	sim_blk_require(&sim, true);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	gpci_cfg_arm(&hc);
	gpci_host_init(&host, d, &hc);

	sock = sim_path(&sim, "qsd.sock");
	blk = (struct job){ .d = d, .vcpu = 1, .fn = &fns[0] };
	blk.image = sim_blk_disk(&sim, "disk.img", SIM_BLK_DISK_SIZE);
	qsd = sim_blk_qsd(&sim, blk.image, sock);
	snprintf(blk_spec, sizeof(blk_spec),
		 "vhost-user-blk,transport=pci,slot=%u,socket=%s,mem=shadow,shm-sizes=%u:0x%x+%u:"
		 "0x%x",
		 BLK_SLOT, sock, SHM_A, SHM_A_SIZE, SHM_B, SHM_B_SIZE);
	snprintf(rng_spec, sizeof(rng_spec), "rng,transport=pci,slot=%u", RNG_SLOT);
	snprintf(mmio_spec, sizeof(mmio_spec), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u",
		 hv_host_mmio_base(), MMIO_IRQ);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--pci", sim_pci_arg(&sim, &hc),
					       "--device", blk_spec, "--device", rng_spec,
					       "--device", mmio_spec, NULL });
	sim_wait_served(&sim, d, hc.ecam_base, 10000);
	sim_wait_served(&sim, d, hv_host_mmio_base(), 10000);

	sim_pci_enumerate(&sim, &host, 0, want, 2, fns);
	rng = (struct job){ .d = d, .vcpu = 2, .fn = &fns[1] };
	mmio = (struct job){ .d = d, .vcpu = 0 };
	pthread_create(&t[0], NULL, blk_thread, &blk);
	pthread_create(&t[1], NULL, rng_thread, &rng);
	pthread_create(&t[2], NULL, rng_thread, &mmio);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	check_job(&blk, "virtio-pci blk");
	check_job(&rng, "virtio-pci rng");
	check_job(&mmio, "virtio-mmio rng");
	SIM_CHECK(&sim, blk.window_numq == 1, "num_queues through the PCI_CFG window: %u",
		  blk.window_numq);
	SIM_CHECK(&sim, blk.line == rng.line && blk.line == hc.spi_base + 1,
		  "INTx lines: blk SPI %u, rng SPI %u, expected both on %u", blk.line, rng.line,
		  hc.spi_base + 1);
	SIM_CHECK(&sim, gd_irq_level(d, blk.line) == 0, "SPI %u still high after the last ISR read",
		  blk.line);
	sim_pci_check_claimed(&sim, &host, &fns[0]);
	sim_pci_check_claimed(&sim, &host, &fns[1]);
	sim_note("blk (INTx on SPI %u): %u writes, %u reads, %u flush, %" PRIu64
		 " bytes compared, %" PRIu64 " requests, %u interrupts (%u with an ISR of 0: "
		 "the shared line), GET_ID \"%s\"",
		 blk.line, blk.c.writes, blk.c.reads, blk.c.flushes, blk.c.bytes_compared,
		 blk.b.completed, blk.interrupts, blk.spurious, blk.c.id);
	sim_note("blk: BAR 4 (shared memory) %" PRIu64 " KiB at 0x%" PRIx64
		 ", regions %u (0x%x bytes) and %u (0x%x bytes) found, reading 0 with nothing "
		 "mapped",
		 fns[0].bar[4].size >> 10, fns[0].bar[4].addr, SHM_A, SHM_A_SIZE, SHM_B,
		 SHM_B_SIZE);
	sim_note("rng (INTx on SPI %u): %u reads in 2 probes, %u interrupts (%u spurious); "
		 "virtio-mmio rng: %u reads, %u interrupts",
		 rng.line, rng.reads, rng.interrupts, rng.spurious, mmio.reads, mmio.interrupts);

	move_bar(d, &fns[1], fns[1].bar[2].addr + 16 * fns[1].bar[2].size);
	rng.err = 0;
	rng.reads = 0;
	rng_thread(&rng);
	check_job(&rng, "virtio-pci rng after the BAR move");

	sim_terminate_ok(&sim, 5000);
	sim_aux_stop_ok(&sim, qsd, "qemu-storage-daemon", 5000);
	sim_pass(&sim);
}
