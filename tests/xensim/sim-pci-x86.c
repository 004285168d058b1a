/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-pci-x86: the real xvdm serving virtio-pci devices to a simulated 4-vCPU x86 HVM
 * domain (--pci mode=cfg): it claims its slots on the guest's bus with
 * map_pcidev_to_ioreq_server and answers their PCI_CONFIG ioreqs; the guest reaches
 * config space as an HVM guest's 0xcf8/0xcfc accesses arrive (addr = SBDF << 32 | reg),
 * unclaimed slots read all ones without xvdm seeing them. Devices: vhost-user-blk (shadow,
 * qemu-storage-daemon) on slot 3 and the rng on slot 4, both driven with MSI-X
 * (inject_msi, one vector per queue plus config, each with its own address and data), and
 * a second vhost-user-blk on slot 6 whose driver leaves MSI-X disabled, so xvdm must fall
 * back to INTx (set_pci_intx_level).
 *
 * vCPU 0 enumerates and assigns the BARs in the MMIO hole; then concurrently vCPU 1 and
 * vCPU 3 run the blk data checks (every write compared with its image byte for byte,
 * read-backs, a read past the end, FLUSH, GET_ID) and vCPU 2 reads entropy and checks
 * MSI-X masking: a completion while the queue's vector is masked sends no MSI and sets
 * its pending bit; unmasking delivers it and clears the bit. The MSI-X devices never
 * raise INTx, the INTx device sends no MSI and its line is low at the end. Then xvdm and
 * both daemons end on SIGTERM with status 0 and the slots are released.
 * Run as `sim-pci-x86 <xvdm> <libxensim.so>`; exits 77 like sim-pci-blk.
 */
#include <endian.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"
#include "tests/xensim/sim-pci.h"

#define DOMID	  1
#define NVCPUS	  4
#define NDEV	  3
#define QSIZE	  128
#define RNG_BUF	  4096u
#define RNG_READS 16
#define MSI_ADDR  0xfee00000ULL

static struct sim sim;
static struct gpci_host host;

struct job {
	struct xs_dom *d;
	unsigned vcpu;
	uint8_t slot;
	uint32_t virtio_id;
	struct vdrv_pci_opts opts;
	const struct gpci_fn *fn;
	const char *image; /* blk */
	int err;
	char what[256];
	/* results */
	struct blk_check c;
	struct vblk b;
	unsigned reads, interrupts, msis, spurious, vectors;
	uint64_t intx_edges; /* on the function's INTx line */
	unsigned line;
	bool masked_ok;
};

static void *blk_thread(void *arg)
{
	struct job *j = arg;

	j->err = vblk_probe_pci(&j->b, &host, j->fn, j->vcpu, &j->opts, QSIZE);
	if (j->err) {
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-j->err));
		return NULL;
	}
	j->vectors = j->b.v.pci.nvec;
	j->line = j->b.v.pci.line;
	j->err = blk_check_init(&j->c, &j->b, j->image, 400 + j->slot, 0);
	if (!j->err)
		j->err = blk_check_run(&j->c, 10000);
	if (j->err)
		snprintf(j->what, sizeof(j->what), "%s", j->c.what);
	j->interrupts = j->b.v.interrupts;
	j->msis = j->b.v.pci.msis;
	j->spurious = j->b.v.pci.spurious;
	blk_check_fini(&j->c);
	vblk_remove(&j->b);
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static uint16_t used_idx(struct vdrv *v)
{
	return le16toh(__atomic_load_n(&v->vq[0].used->idx, __ATOMIC_ACQUIRE));
}

/* A completion while the queue's vector is masked: pending bit, no MSI; unmask: the MSI. */
static int check_masking(struct job *j, struct vdrv *v, uint64_t gpa)
{
	unsigned vec = v->pci.queue_vec[0];
	const struct vdrv_msi *m = &v->pci.vec[vec];
	struct vdrv_sg sg = { gpa, 64, true };
	uint64_t before = gd_msi_count(v->d, m->addr, m->data), n = before;
	bool pending = false;
	uint32_t len;
	uint16_t head;
	int ret;

	if ((ret = vdrv_pci_msix_mask(v, vec, true)) < 0 ||
	    (ret = vdrv_add(v, 0, &sg, 1, &head)) < 0 || (ret = vdrv_kick(v, 0)) < 0)
		return ret;
	/* The completion, then its pending bit (bounded: 5 s); then room for a wrong MSI. */
	for (unsigned i = 0; i < 5000 && !pending; i++) {
		if (used_idx(v) != v->vq[0].last_used &&
		    (ret = vdrv_pci_msix_pending(v, vec, &pending)) < 0)
			return ret;
		if (!pending)
			sleep_ms(1);
	}
	sleep_ms(20);
	if (gd_msi_count(v->d, m->addr, m->data) != before || !pending) {
		snprintf(j->what, sizeof(j->what),
			 "masked vector %u: %" PRIu64 " MSIs sent, pending bit %d (want 0, 1)", vec,
			 gd_msi_count(v->d, m->addr, m->data) - before, pending);
		return -1;
	}
	if ((ret = vdrv_pci_msix_mask(v, vec, false)) < 0)
		return ret;
	ret = gd_msi_wait(v->d, m->addr, m->data, &n, 2000);
	if (!ret)
		ret = vdrv_pci_msix_pending(v, vec, &pending);
	if (ret < 0 || pending) {
		snprintf(j->what, sizeof(j->what), "unmasked vector %u: %s, pending bit %d", vec,
			 ret < 0 ? strerror(-ret) : "MSI delivered", pending);
		return -1;
	}
	if ((ret = vdrv_wait_used(v, 0, head, &len, GD_TIMEOUT_MS)) < 0)
		return ret;
	j->masked_ok = true;
	return 0;
}

static void *rng_thread(void *arg)
{
	struct job *j = arg;
	uint64_t gpa = gd_alloc(j->d, RNG_BUF, 4096);
	uint8_t prev[16] = { 0 };
	struct vdrv v;

	j->err = vdrv_pci_probe(&v, &host, j->fn, j->vcpu, &j->opts, VIRTIO_ID_RNG, 0, 1, 64);
	if (j->err) {
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-j->err));
		return NULL;
	}
	j->vectors = v.pci.nvec;
	j->line = v.pci.line;
	for (unsigned i = 0; i < RNG_READS && !j->err; i++) {
		j->err = sim_rng_read(&v, gpa, RNG_BUF - i * 64, prev, j->what, sizeof(j->what));
		j->reads += !j->err;
	}
	if (!j->err && check_masking(j, &v, gpa) < 0)
		j->err = -1;
	j->interrupts = v.interrupts;
	j->msis = v.pci.msis;
	if (!j->err && vdrv_remove(&v) < 0) {
		j->err = -1;
		snprintf(j->what, sizeof(j->what), "remove failed");
	}
	return NULL;
}

static void check_jobs(struct xs_dom *d, struct job *jobs)
{
	for (unsigned i = 0; i < NDEV; i++) {
		struct job *j = &jobs[i];
		bool msix = j->opts.irq == VDRV_PCI_MSIX;

		j->intx_edges = gd_irq_edges(d, HV_INTX_KEY(0, j->slot, 0));
		SIM_CHECK(&sim, !j->err, "vcpu%u (slot %u): %s", j->vcpu, j->slot, j->what);
		SIM_CHECK(&sim, j->interrupts > 0, "slot %u: no interrupts taken", j->slot);
		SIM_CHECK(&sim, j->line == HV_INTX_KEY(0, j->slot, 0), "slot %u: INTx key 0x%x",
			  j->slot, j->line);
		if (msix) {
			SIM_CHECK(&sim, j->msis > 0 && j->vectors == 2,
				  "slot %u: %u MSIs on %u vectors (want config + 1 queue)", j->slot,
				  j->msis, j->vectors);
			SIM_CHECK(&sim, j->intx_edges == 0,
				  "slot %u: INTx raised %" PRIu64 " times while MSI-X was enabled",
				  j->slot, j->intx_edges);
		} else {
			SIM_CHECK(&sim, j->msis == 0 && j->intx_edges > 0,
				  "slot %u (INTx): %u MSIs, %" PRIu64 " INTx edges", j->slot,
				  j->msis, j->intx_edges);
			SIM_CHECK(&sim, gd_irq_level(d, j->line) == 0, "slot %u: INTA still high",
				  j->slot);
		}
		sim_pci_check_claimed(&sim, &host, j->fn);
	}
}

int main(int argc, char **argv)
{
	struct sim_pci_expect want[NDEV] = { { 3, VIRTIO_ID_BLOCK, true, 0 },
					     { 4, VIRTIO_ID_RNG, true, 0 },
					     { 6, VIRTIO_ID_BLOCK, true, 0 } };
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_X86, .host_mem = 64u << 20 };
	const char *args[4 + 2 * NDEV + 1] = { "--domid", "1", "--pci" };
	char specs[NDEV][512], name[32];
	struct hv_dom_stats stats;
	struct gpci_host_cfg hc;
	struct gpci_fn fns[NDEV];
	struct job jobs[NDEV];
	pthread_t t[NDEV];
	pid_t qsd[2] = { 0, 0 };
	struct hv_claim cl;
	struct xs_dom *d;
	int st;

	sim_init(&sim, "sim-pci-x86", argc, argv, 120);
	sim_blk_require(&sim, true);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	gpci_cfg_x86(&hc);
	gpci_host_init(&host, d, &hc);
	args[3] = sim_pci_arg(&sim, &hc);
	for (unsigned i = 0; i < NDEV; i++) {
		jobs[i] = (struct job){ .d = d,
					.vcpu = i + 1,
					.slot = want[i].slot,
					.virtio_id = want[i].virtio_id,
					.fn = &fns[i] };
		/* slots 3 and 4 with MSI-X, each vector its own address/data; slot 6 INTx */
		jobs[i].opts = (struct vdrv_pci_opts){ i < 2 ? VDRV_PCI_MSIX : VDRV_PCI_INTX,
						       MSI_ADDR, 0x40 + 0x10 * i };
		if (want[i].virtio_id == VIRTIO_ID_BLOCK) {
			const char *sock;
			unsigned q = i ? 1 : 0;

			snprintf(name, sizeof(name), "disk%u.img", want[i].slot);
			jobs[i].image = sim_blk_disk(&sim, name, SIM_BLK_DISK_SIZE);
			snprintf(name, sizeof(name), "qsd%u.sock", q);
			sock = sim_path(&sim, name);
			qsd[q] = sim_blk_qsd(&sim, jobs[i].image, sock);
			snprintf(specs[i], sizeof(specs[i]),
				 "vhost-user-blk,transport=pci,slot=%u,socket=%s,mem=shadow",
				 want[i].slot, sock);
		} else {
			snprintf(specs[i], sizeof(specs[i]), "rng,transport=pci,slot=%u",
				 want[i].slot);
		}
		args[4 + 2 * i] = "--device";
		args[5 + 2 * i] = specs[i];
	}
	args[4 + 2 * NDEV] = NULL;
	sim_spawn(&sim, args);
	for (unsigned i = 0; i < NDEV; i++) {
		int r = hv_dom_wait_pci_served(d, HV_SBDF(0, 0, want[i].slot, 0), 10000);

		SIM_CHECK(&sim, !r, "slot %u not claimed: %s", want[i].slot, strerror(-r));
	}

	sim_pci_enumerate(&sim, &host, 0, want, NDEV, fns);
	hv_dom_stats(d, &stats);
	sim_note("enumeration: %u PCI_CONFIG ioreqs to xvdm, %u accesses to unclaimed functions "
		 "answered all-ones by the hypervisor",
		 stats.pci_cfg, stats.pci_cfg_unclaimed);
	for (unsigned i = 0; i < NDEV; i++)
		pthread_create(&t[i], NULL,
			       want[i].virtio_id == VIRTIO_ID_BLOCK ? blk_thread : rng_thread,
			       &jobs[i]);
	for (unsigned i = 0; i < NDEV; i++)
		pthread_join(t[i], NULL);
	check_jobs(d, jobs);
	SIM_CHECK(&sim, jobs[1].masked_ok, "the masking check did not run");
	for (unsigned i = 0; i < NDEV; i++) {
		struct job *j = &jobs[i];

		if (j->virtio_id == VIRTIO_ID_BLOCK)
			sim_note("slot %u blk (%s): %u writes, %u reads, %u flush, %" PRIu64
				 " bytes compared, %" PRIu64 " requests, %u interrupts (%u MSIs, "
				 "%" PRIu64 " INTx edges), GET_ID \"%s\"",
				 j->slot, j->opts.irq == VDRV_PCI_MSIX ? "MSI-X" : "INTx",
				 j->c.writes, j->c.reads, j->c.flushes, j->c.bytes_compared,
				 j->b.completed, j->interrupts, j->msis, j->intx_edges, j->c.id);
		else
			sim_note("slot %u rng (MSI-X): %u reads, %u interrupts, masked vector: no "
				 "MSI, pending bit set; unmasked: delivered, bit clear",
				 j->slot, j->reads, j->interrupts);
	}

	sim_terminate_ok(&sim, 5000);
	for (unsigned i = 0; i < NDEV; i++) {
		hv_dom_pci_claim(d, HV_SBDF(0, 0, want[i].slot, 0), &cl);
		SIM_CHECK(&sim, !cl.mapped, "slot %u still claimed after xvdm ended", want[i].slot);
	}
	for (unsigned q = 0; q < 2; q++) {
		st = sim_aux_stop(&sim, qsd[q], SIGTERM, 5000);
		SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "qemu-storage-daemon %u: %s",
			  q, sim_status_str(st));
	}
	sim_pass(&sim);
}
