/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-rng: the real xvdm serving four virtio-rng devices over virtio-mmio to a simulated
 * 4-vCPU Arm domain. Four vCPU threads each probe one device as Linux does, read entropy
 * through its queue, remove/reset and probe again, concurrently. Then: an access outside
 * every window is a data abort, INVALIDATE and malformed ioreqs are completed, and after
 * SIGTERM xvdm exits 0 having destroyed its ioreq server and unbound its ports.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define DOMID  1
#define NDEV   4
#define BASE0  0x2000000ULL
#define WINDOW 0x200ULL
#define IRQ0   33
#define ROUNDS 3
#define READS  6
#define BUF    4096u
#define QSIZE  64

static struct sim sim;

struct job {
	struct xs_dom *d;
	unsigned i; /* device and vCPU */
	int err;
	char what[96];
	unsigned reads;
};

static uint64_t base_of(unsigned i)
{
	return BASE0 + i * WINDOW;
}

static int read_entropy(struct job *j, struct vdrv *v, uint64_t gpa, uint8_t *prev)
{
	struct vdrv_sg sg = { gpa, BUF, true };
	uint8_t *buf = gd_ram(j->d, gpa, BUF);
	uint32_t len = 0;
	size_t nz = 0;
	int ret;

	memset(buf, 0, BUF);
	ret = vdrv_xfer(v, 0, &sg, 1, &len);
	if (ret < 0)
		return ret;
	if (!len || len > BUF) {
		snprintf(j->what, sizeof(j->what), "used len %u for a %u-byte buffer", len, BUF);
		return -EPROTO;
	}
	for (uint32_t k = 0; k < len; k++)
		nz += buf[k] != 0;
	if (nz < len / 2) {
		snprintf(j->what, sizeof(j->what), "only %zu of %u bytes non-zero", nz, len);
		return -EPROTO;
	}
	if (len >= 16 && !memcmp(prev, buf, 16)) {
		snprintf(j->what, sizeof(j->what), "two reads returned the same bytes");
		return -EPROTO;
	}
	memcpy(prev, buf, 16);
	j->reads++;
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct job *j = arg;
	uint64_t gpa = gd_alloc(j->d, BUF, 4096);
	uint8_t prev[16] = { 0 };
	struct vdrv v;

	vdrv_init(&v, j->d, j->i, base_of(j->i), IRQ0 + j->i);
	for (unsigned r = 0; r < ROUNDS && !j->err; r++) {
		snprintf(j->what, sizeof(j->what), "round %u: probe", r);
		j->err = vdrv_probe(&v, VIRTIO_ID_RNG, 0, 1, QSIZE);
		for (unsigned k = 0; k < READS && !j->err; k++) {
			snprintf(j->what, sizeof(j->what), "round %u: read %u", r, k);
			j->err = read_entropy(j, &v, gpa, prev);
		}
		if (j->err)
			break;
		/* Alternate Linux's driver removal (reset + queue teardown) and a plain reset. */
		snprintf(j->what, sizeof(j->what), "round %u: %s", r, r % 2 ? "reset" : "remove");
		j->err = r % 2 ? vdrv_reset(&v) : vdrv_remove(&v);
	}
	return NULL;
}

static void run_vcpus(struct xs_dom *d)
{
	struct job jobs[NDEV];
	pthread_t t[NDEV];

	for (unsigned i = 0; i < NDEV; i++) {
		jobs[i] = (struct job){ .d = d, .i = i };
		pthread_create(&t[i], NULL, vcpu_thread, &jobs[i]);
	}
	for (unsigned i = 0; i < NDEV; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < NDEV; i++)
		SIM_CHECK(&sim, !jobs[i].err, "vcpu%u / device at 0x%" PRIx64 ": %s: %s", i,
			  base_of(i), jobs[i].what, strerror(-jobs[i].err));
	sim_note("%u vCPUs: %u probes, %u entropy reads of %u bytes each", NDEV, NDEV * ROUNDS,
		 NDEV * ROUNDS * READS, BUF);
}

static void check_served(struct xs_dom *d)
{
	struct hv_server_info info[HV_MAX_IOREQ_SERVERS];
	unsigned n;

	for (unsigned i = 0; i < NDEV; i++)
		sim_wait_served(&sim, d, base_of(i), 10000);
	n = hv_dom_servers(d, info, HV_MAX_IOREQ_SERVERS);
	SIM_CHECK(&sim, n == 1, "%u ioreq servers for one guest (DESIGN §4: one)", n);
	SIM_CHECK(&sim, info[0].bufioreq == 0, "buffered ioreqs %d (FACTS 23: off on Arm)",
		  info[0].bufioreq);
}

static void check_abort(struct xs_dom *d)
{
	static const uint64_t outside[] = { BASE0 - 4, BASE0 + 0x100000, 0x10000000, 0x40000000 };
	uint64_t v;

	for (unsigned i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		int ret = gd_mmio_read(d, 0, outside[i], 4, &v);

		SIM_CHECK(&sim, ret == -EFAULT,
			  "read at 0x%" PRIx64 " outside every window: %s"
			  " (want a data abort)",
			  outside[i], ret ? strerror(-ret) : "served");
	}
}

/* Ioreqs Xen on Arm never sends, or sends malformed: each must still be completed. */
static void check_bad_ioreqs(struct xs_dom *d)
{
#define COPY_AT (BASE0 + VIRTIO_MMIO_CONFIG_GENERATION) /* read-only: writes are dropped */
	static const struct {
		const char *what;
		uint8_t type;
		uint32_t size, count;
		uint8_t dir, ptr;
		uint64_t addr;
	} bad[] = {
		/* what, type, size, count, dir, data_is_ptr, addr */
		{ "COPY size 3 read", IOREQ_TYPE_COPY, 3, 1, IOREQ_READ, 0, COPY_AT },
		{ "COPY size 3 write", IOREQ_TYPE_COPY, 3, 1, IOREQ_WRITE, 0, COPY_AT },
		{ "COPY size 0 read", IOREQ_TYPE_COPY, 0, 1, IOREQ_READ, 0, COPY_AT },
		{ "COPY size 16 read", IOREQ_TYPE_COPY, 16, 1, IOREQ_READ, 0, COPY_AT },
		{ "COPY count 2 read", IOREQ_TYPE_COPY, 4, 2, IOREQ_READ, 0, COPY_AT },
		{ "COPY count 0 write", IOREQ_TYPE_COPY, 4, 0, IOREQ_WRITE, 0, COPY_AT },
		{ "COPY data_is_ptr read", IOREQ_TYPE_COPY, 4, 1, IOREQ_READ, 1, COPY_AT },
		{ "COPY outside the windows", IOREQ_TYPE_COPY, 4, 1, IOREQ_READ, 0, 0x30000000 },
		{ "PIO read", IOREQ_TYPE_PIO, 4, 1, IOREQ_READ, 0, 0x10 },
		{ "PIO write", IOREQ_TYPE_PIO, 1, 1, IOREQ_WRITE, 0, 0x10 },
		{ "PCI_CONFIG read", IOREQ_TYPE_PCI_CONFIG, 4, 1, IOREQ_READ, 0, 0 },
		{ "TIMEOFFSET", IOREQ_TYPE_TIMEOFFSET, 8, 1, IOREQ_WRITE, 0, 0 },
		{ "type 0x42", 0x42, 4, 1, IOREQ_READ, 0, COPY_AT },
	};
	struct hv_server_info info;
	uint64_t magic = 0;
	int ret;

	SIM_CHECK(&sim, hv_dom_servers(d, &info, 1) == 1, "server gone");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ioreq_t io = { .addr = bad[i].addr,
			       .size = bad[i].size,
			       .count = bad[i].count,
			       .dir = bad[i].dir,
			       .data_is_ptr = bad[i].ptr,
			       .type = bad[i].type };

		/* Straight to the server, as Xen would never route most of these. */
		ret = gd_ioreq(d, i % NDEV, info.id, &io, 2000);
		SIM_CHECK(&sim, !ret, "%s: %s (every ioreq must be completed)", bad[i].what,
			  strerror(-ret));
	}
	ret = gd_send_invalidate(d, 2);
	SIM_CHECK(&sim, !ret, "INVALIDATE: %s", strerror(-ret));
	ret = gd_mmio_read(d, 3, BASE0 + VIRTIO_MMIO_MAGIC_VALUE, 4, &magic);
	SIM_CHECK(&sim, !ret && magic == 0x74726976,
		  "MagicValue after the bad ioreqs: %s 0x%" PRIx64, strerror(-ret), magic);
	sim_note("%zu malformed ioreqs and an INVALIDATE completed", sizeof(bad) / sizeof(bad[0]));
}

static void check_teardown(struct xs_dom *d)
{
	struct hv_dom_stats st;
	struct hv_claim cl;

	hv_dom_stats(d, &st);
	SIM_CHECK(&sim, hv_dom_servers(d, NULL, 0) == 0, "ioreq server left after exit");
	for (unsigned i = 0; i < NDEV; i++) {
		hv_dom_claim(d, base_of(i), &cl);
		SIM_CHECK(&sim, !cl.mapped, "0x%" PRIx64 " still mapped after exit", base_of(i));
	}
	SIM_CHECK(&sim, st.servers_created == st.servers_destroyed,
		  "%u servers created, %u destroyed", st.servers_created, st.servers_destroyed);
	SIM_CHECK(&sim, st.ports_bound == st.ports_unbound, "%u ports bound, %u unbound",
		  st.ports_bound, st.ports_unbound);
	sim_note("teardown: %u server(s) destroyed, %u range(s) mapped, %u unmapped explicitly, "
		 "%u port(s) unbound, %u failed hypervisor calls",
		 st.servers_destroyed, st.ranges_mapped, st.ranges_unmapped, st.ports_unbound,
		 st.errors);
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NDEV, .arch = HV_ARCH_ARM };
	const char *args[2 + 2 * NDEV + 1] = { "--domid", "1" };
	char specs[NDEV][96];
	struct xs_dom *d;

	sim_init(&sim, "sim-rng", argc, argv, 110);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	for (unsigned i = 0; i < NDEV; i++) {
		snprintf(specs[i], sizeof(specs[i]), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u",
			 base_of(i), IRQ0 + i);
		args[2 + 2 * i] = "--device";
		args[3 + 2 * i] = specs[i];
	}
	args[2 + 2 * NDEV] = NULL;
	sim_spawn(&sim, args);

	check_served(d);
	check_abort(d);
	run_vcpus(d);
	check_bad_ioreqs(d);
	run_vcpus(d); /* still fine after all that */

	sim_terminate_ok(&sim, 5000);
	check_teardown(d);
	sim_pass(&sim);
}
