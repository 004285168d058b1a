/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-selftest: the simulator against a device model of our own (xensim-minidm), so the
 * tier is known to work before xvdm is blamed: interposition, ioreq ABI and routing,
 * event channels with masking, foreign mappings (and their errors), interrupt edges,
 * INVALIDATE, bad ioreqs, xenstore watches (relative paths, @releaseDomain), the event
 * log's ordering queries, teardown on SIGTERM, and a second device-model life.
 * On an x86 domain (sim-selftest-pci.c): PCI functions claimed per server, PCI_CONFIG
 * ioreqs (addr, size, direction, routing, unclaimed functions), MSIs and PCI INTx.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <xen/hvm/dm_op.h>

#include "tests/xensim/sim-selftest.h"

struct sim sim;

struct vcpu_job {
	struct xs_dom *d;
	unsigned vcpu;
	int err;
	unsigned done;
};

static void *reader(void *arg)
{
	struct vcpu_job *j = arg;
	uint64_t v;

	for (j->done = 0; j->done < 500; j->done++) {
		j->err = gd_mmio_read(j->d, j->vcpu, BASE, 4, &v);
		if (!j->err && v != 0x6d696e69)
			j->err = -EPROTO;
		if (j->err)
			break;
	}
	return NULL;
}

static void concurrent_reads(struct xs_dom *d)
{
	struct vcpu_job jobs[NVCPUS];
	pthread_t t[NVCPUS];

	for (unsigned i = 0; i < NVCPUS; i++) {
		jobs[i] = (struct vcpu_job){ d, i, 0, 0 };
		pthread_create(&t[i], NULL, reader, &jobs[i]);
	}
	for (unsigned i = 0; i < NVCPUS; i++) {
		pthread_join(t[i], NULL);
		SIM_CHECK(&sim, !jobs[i].err, "vcpu%u: read %u failed: %s", i, jobs[i].done,
			  strerror(-jobs[i].err));
	}
}

uint64_t st_rd_at(struct xs_dom *d, uint64_t base, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	int ret = gd_mmio_read(d, 0, base + off, size, &v);

	SIM_CHECK(&sim, !ret, "read 0x%" PRIx64 "+0x%" PRIx64 ": %s", base, off, strerror(-ret));
	return v;
}

void st_wr_at(struct xs_dom *d, uint64_t base, uint64_t off, uint64_t val)
{
	int ret = gd_mmio_write(d, 0, base + off, 8, val);

	SIM_CHECK(&sim, !ret, "write 0x%" PRIx64 "+0x%" PRIx64 ": %s", base, off, strerror(-ret));
}

static uint64_t rd(struct xs_dom *d, uint64_t off, unsigned size)
{
	return st_rd_at(d, BASE, off, size);
}

static void wr(struct xs_dom *d, uint64_t off, uint64_t val)
{
	st_wr_at(d, BASE, off, val);
}

static void check_memory(struct xs_dom *d)
{
	/* 3 pages, unaligned, so the device model maps several pfns. */
	uint64_t gpa = gd_alloc(d, 3 * 4096, 4096) + 100, len = 2 * 4096 + 7, sum = 0;
	uint8_t *p = gd_ram(d, gpa, len);

	SIM_CHECK(&sim, p, "gd_alloc/gd_ram");
	for (uint64_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(i * 7 + 3);
		sum += p[i];
	}
	wr(d, 0x08, gpa);
	wr(d, 0x10, len);
	SIM_CHECK(&sim, rd(d, 0x18, 8) == sum, "checksum 0x%" PRIx64 ", want 0x%" PRIx64,
		  rd(d, 0x18, 8), sum);
	for (uint64_t i = 0; i < len; i++)
		SIM_CHECK(&sim, p[i] == (uint8_t) ~(uint8_t)(i * 7 + 3),
			  "byte %" PRIu64 " not inverted by the device model", i);
	/* A page outside RAM: per-page error -EINVAL, whole call NULL (all pages failed). */
	wr(d, 0x30, 0x1000);
	SIM_CHECK(&sim, (int64_t)rd(d, 0x38, 8) == -EINVAL, "map outside RAM gave %" PRId64,
		  (int64_t)rd(d, 0x38, 8));
	wr(d, 0x30, gpa);
	SIM_CHECK(&sim, rd(d, 0x38, 8) == 0, "map inside RAM gave %" PRId64,
		  (int64_t)rd(d, 0x38, 8));
}

static void check_irq(struct xs_dom *d)
{
	uint64_t e = gd_irq_edges(d, IRQ);
	int ret;

	wr(d, 0x20, 1);
	ret = gd_irq_wait(d, IRQ, &e, 1000);
	SIM_CHECK(&sim, !ret && gd_irq_level(d, IRQ) == 1, "no edge on irq %d", IRQ);
	wr(d, 0x20, 1); /* level already high: no new edge */
	SIM_CHECK(&sim, gd_irq_edges(d, IRQ) == e, "edge counted twice");
	wr(d, 0x24, 1);
	SIM_CHECK(&sim, gd_irq_level(d, IRQ) == 0, "irq %d still high", IRQ);
}

static void check_bad_ioreqs(struct xs_dom *d)
{
	ioreq_t io = {
		.addr = BASE, .size = 3, .count = 1, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY
	};
	uint64_t before = rd(d, 0x2c, 4);
	int ret = gd_ioreq(d, 0, -1, &io, 2000);

	SIM_CHECK(&sim, !ret && io.data == 0xffffff, "size-3 read: %s data 0x%" PRIx64,
		  strerror(-ret), (uint64_t)io.data);
	io = (ioreq_t){ .addr = 0x10, .size = 1, .count = 1, .type = IOREQ_TYPE_PIO };
	ret = gd_ioreq(d, 1, 0, &io, 2000);
	SIM_CHECK(&sim, !ret, "PIO ioreq: %s", strerror(-ret));
	ret = gd_send_invalidate(d, 1);
	SIM_CHECK(&sim, !ret && rd(d, 0x2c, 4) == before + 1, "INVALIDATE: %s", strerror(-ret));
	ret = gd_mmio_read(d, 0, BASE + SIZE, 4, &before);
	SIM_CHECK(&sim, ret == -EFAULT, "access outside the range gave %d, want -EFAULT", ret);
}

/* The ordering queries: the range was served when the device model said "ready". */
static void check_log(struct xs_dom *d)
{
	uint64_t seq = hv_log_xs_write_seq(sim.hv, "/local/domain/0/minidm/1/state", "ready");
	struct hv_claim cl;

	SIM_CHECK(&sim, seq, "no client write of state = ready in the log");
	hv_dom_claim_at(d, BASE, seq, &cl);
	SIM_CHECK(&sim, cl.mapped && cl.enabled && cl.bound == NVCPUS,
		  "at 'ready': mapped %d enabled %d bound %u", cl.mapped, cl.enabled, cl.bound);
	hv_dom_claim_at(d, BASE, 1, &cl);
	SIM_CHECK(&sim, !cl.mapped, "claimed before anything happened");
}

static void check_teardown(struct xs_dom *d, unsigned expect_servers)
{
	struct hv_dom_stats st;
	struct hv_claim cl;

	hv_dom_stats(d, &st);
	hv_dom_claim(d, BASE, &cl);
	SIM_CHECK(&sim, !cl.mapped && hv_dom_servers(d, NULL, 0) == 0, "server left behind");
	SIM_CHECK(&sim,
		  st.servers_created == expect_servers && st.servers_destroyed == expect_servers &&
			  st.ports_bound == st.ports_unbound && st.errors == 0,
		  "stats: created %u destroyed %u bound %u unbound %u errors %u",
		  st.servers_created, st.servers_destroyed, st.ports_bound, st.ports_unbound,
		  st.errors);
}

static void start_dm(struct xs_dom *d, bool no_unmask)
{
	const char *const args[] = { "1", "0x2000000", "0x200", "33", no_unmask ? "nounmask" : NULL,
				     NULL };

	hv_xs_rm(sim.hv, 0, "/local/domain/0/minidm");
	sim_spawn(&sim, args);
	sim_wait_xs(&sim, "/local/domain/0/minidm/1/state", "ready", 5000);
	sim_wait_served(&sim, d, BASE, 1000);
}

/* A stopped device model: the access times out (bounded), later ones work again. */
static void check_stall(struct xs_dom *d)
{
	ioreq_t io = {
		.addr = BASE, .size = 4, .count = 1, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY
	};
	int ret;

	kill(sim.pid, SIGSTOP);
	ret = gd_ioreq(d, 0, -1, &io, 300);
	kill(sim.pid, SIGCONT);
	SIM_CHECK(&sim, ret == -ETIMEDOUT, "stopped device model: %s, want a timeout",
		  strerror(-ret));
	SIM_CHECK(&sim, rd(d, 0, 4) == 0x6d696e69, "magic after the stall");
}

/* A port that is never unmasked delivers one event only, as /dev/xen/evtchn does. */
static void check_masking(struct xs_dom *d)
{
	ioreq_t io = {
		.addr = BASE, .size = 4, .count = 1, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY
	};
	int ret;

	SIM_CHECK(&sim, rd(d, 0, 4) == 0x6d696e69, "first read without unmask");
	ret = gd_ioreq(d, 0, -1, &io, 300);
	SIM_CHECK(&sim, ret == -ETIMEDOUT, "second read on a masked port: %s, want a timeout",
		  ret ? strerror(-ret) : "served");
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM };
	struct hv_server_info info;
	struct xs_dom *d;
	int st;

	sim_init(&sim, "sim-selftest", argc, argv, 60);
	d = hv_dom_create(sim.hv, 1, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");

	start_dm(d, false);
	SIM_CHECK(&sim, hv_dom_servers(d, &info, 1) == 1 && info.bufioreq == 0 && info.enabled,
		  "server info");
	check_log(d);
	concurrent_reads(d);
	check_memory(d);
	check_irq(d);
	check_bad_ioreqs(d);
	check_stall(d);
	sim_note("minidm life 1 ok; stopping it with xenstore cmd = quit");
	SIM_CHECK(&sim, !hv_xs_write(sim.hv, 0, "/local/domain/0/minidm/1/cmd", "quit"), "write");
	for (int i = 0; i < 500 && sim_alive(&sim); i++)
		usleep(10000);
	SIM_CHECK(&sim, sim.exited && WIFEXITED(sim.status) && !WEXITSTATUS(sim.status),
		  "minidm did not quit cleanly: %s",
		  sim.exited ? sim_status_str(sim.status) : "still running");
	check_teardown(d, 1);

	sim_note("minidm life 2: SIGTERM");
	start_dm(d, false);
	st = sim_terminate(&sim, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && !WEXITSTATUS(st), "minidm: %s", sim_status_str(st));
	check_teardown(d, 2);

	sim_note("minidm life 3: never unmasks its ports");
	start_dm(d, true);
	check_masking(d);
	st = sim_terminate(&sim, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && !WEXITSTATUS(st), "minidm: %s", sim_status_str(st));
	check_teardown(d, 3);

	sim_note("minidm life 4: the x86-only calls on Arm; then the domain dies (@releaseDomain)");
	start_dm(d, false);
	st_check_arm_pci(d, BASE);
	hv_dom_destroy(d);
	for (int i = 0; i < 500 && sim_alive(&sim); i++)
		usleep(10000);
	SIM_CHECK(&sim, sim.exited && WIFEXITED(sim.status), "minidm ignored @releaseDomain");

	st_run_x86_pci();
	sim_pass(&sim);
}
