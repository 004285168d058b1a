/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-privcmd: the emulated /dev/xen/privcmd of libxensim.so (xensim-privcmd.c), with
 * guest RAM laid out for the host's architecture in two banks (hv_host_ram_layout) and
 * memory/static-max written as libxl writes it. xensim-privcmd-probe maps a range of
 * the second bank as a vhost-user back-end with F_XEN_MMAP would (its own open(), and a
 * privcmd fd the test opened and let it inherit), checks privcmd's rules and the bytes,
 * and writes markers the test then finds in guest RAM.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/xensim/guest.h"
#include "tests/xensim/proto.h"
#include "tests/xensim/sim.h"

#define DOMID 3
#define PAGES 24u

static struct sim sim;

/* Count the probe's privcmd events; its connection closes asynchronously (bounded wait). */
static void check_log(pid_t pid)
{
	unsigned maps = 0, opens = 0, closes = 0, conn = 0;
	struct hv_event e;

	for (int tries = 0; tries < 200 && !closes; tries++) {
		maps = opens = closes = conn = 0;
		if (tries)
			usleep(10000);
		for (unsigned i = 0; hv_log_get(sim.hv, i, &e); i++) {
			if (e.type == HV_EV_CONN_OPEN && e.a == XSIM_KIND_PRIVCMD &&
			    e.b == (uint64_t)pid) {
				opens++;
				conn = e.conn;
			}
			if (e.type == HV_EV_CONN_CLOSE && conn && e.conn == conn)
				closes++;
			if (e.type == HV_EV_PRIVCMD_MAP && e.c == (uint64_t)pid && e.domid == DOMID)
				maps++;
		}
	}
	SIM_CHECK(&sim, opens == 1, "%u privcmd opens by the probe (want 1)", opens);
	SIM_CHECK(&sim, maps == 3, "%u privcmd batches logged for the probe (want 3)", maps);
	SIM_CHECK(&sim, closes == 1, "the probe's privcmd fd was not seen closed");
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .host_mem = 0xf0000000ULL + (16u << 20) };
	struct hv_ram_bank banks[2];
	struct hv_dom_stats st;
	char dom[16], gpa_s[32], pages[16], fd_s[16], sum_s[32], *max;
	uint64_t gpa, sum = 0;
	struct xs_dom *d;
	uint8_t *ram;
	int fd, status;

	sim_init(&sim, "sim-privcmd", argc, argv, 30);
	SIM_CHECK(&sim, hv_host_ram_layout(cfg.host_mem, banks) == 2, "two banks expected");
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	max = hv_xs_read(sim.hv, 0, "/local/domain/3/memory/static-max");
	SIM_CHECK(&sim, max && strtoull(max, NULL, 10) == cfg.host_mem >> 10,
		  "memory/static-max is %s, want %" PRIu64, max ? max : "absent",
		  cfg.host_mem >> 10);
	free(max);

	/* A pattern at the start of bank 1, and its checksum as the probe computes it. */
	gpa = banks[1].gpa + 8 * 4096;
	ram = gd_ram(d, gpa, PAGES * 4096);
	SIM_CHECK(&sim, ram, "no guest RAM at 0x%" PRIx64, gpa);
	for (unsigned i = 0; i < PAGES * 4096; i++)
		ram[i] = (uint8_t)(i * 7 + i / 4096);
	for (unsigned i = 0; i < PAGES * 4096; i++)
		sum = sum * 31 + ram[i];

	fd = hv_privcmd_open(sim.hv);
	SIM_CHECK(&sim, fd >= 0, "hv_privcmd_open: %s", strerror(-fd));
	fcntl(fd, F_SETFD, 0); /* inherited by the probe */
	snprintf(dom, sizeof(dom), "%u", DOMID);
	snprintf(gpa_s, sizeof(gpa_s), "0x%" PRIx64, gpa);
	snprintf(pages, sizeof(pages), "%u", PAGES);
	snprintf(fd_s, sizeof(fd_s), "%d", fd);
	snprintf(sum_s, sizeof(sum_s), "%" PRIx64, sum);
	sim_spawn(&sim, (const char *const[]){ dom, gpa_s, pages, fd_s, sum_s, NULL });
	status = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe: %s",
		  sim_status_str(status));
	close(fd);

	SIM_CHECK(&sim, !memcmp(ram, "probe", 5) && !memcmp(ram + PAGES * 4096 - 5, "probe", 5),
		  "the probe's writes through privcmd mappings are not in guest RAM");
	hv_dom_stats(d, &st);
	SIM_CHECK(&sim, st.privcmd_maps == 3 && st.privcmd_pages == 2 * PAGES + 3,
		  "%u batches of %" PRIu64 " pages (want 3 of %u)", st.privcmd_maps,
		  st.privcmd_pages, 2 * PAGES + 3);
	check_log(sim.pid);
	sim_note("banks 0x%" PRIx64 "+0x%" PRIx64 " 0x%" PRIx64 "+0x%" PRIx64
		 "; %u pages mapped twice, checksum %016" PRIx64 " matched",
		 banks[0].gpa, banks[0].size, banks[1].gpa, banks[1].size, PAGES, sum);
	sim_pass(&sim);
}
