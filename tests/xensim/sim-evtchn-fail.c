/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-evtchn-fail: the event channel of the only guest fails under xvdm --domid (the
 * simulator makes xenevtchn_pending fail with EFBIG after 10 events, as a read of
 * /dev/xen/evtchn does once its ring overflowed). xvdm must not idle on as if it still
 * served the guest: it logs the failure, releases the guest (its ioreq server destroyed,
 * its window unclaimed) and, with no guest left, exits with status 1, so that whoever
 * started it (a unit file, libxl as device model) sees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/xensim/guest.h"
#include "tests/xensim/sim.h"

#define DOMID 1
#define BASE  0x2000000ULL

static struct sim sim;

int main(int argc, char **argv)
{
	const char *args[] = { "--domid", "1", "--device",
			       "rng,transport=mmio,base=0x2000000,irq=33", NULL };
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 16u << 20 };
	struct hv_dom_stats st;
	struct hv_claim cl;
	struct xs_dom *d;
	unsigned ok = 0;
	int r = 0, status;

	sim_init(&sim, "sim-evtchn-fail", argc, argv, 60);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	setenv("XENSIM_EVTCHN_FAIL_AFTER", "10", 1);
	sim_spawn(&sim, args);
	unsetenv("XENSIM_EVTCHN_FAIL_AFTER");
	sim_wait_served(&sim, d, BASE, 10000);
	/* MagicValue reads until one goes unanswered */
	for (unsigned i = 0; i < 20 && !r; i++) {
		ioreq_t io = { .addr = BASE,
			       .size = 4,
			       .count = 1,
			       .dir = IOREQ_READ,
			       .type = IOREQ_TYPE_COPY };

		r = gd_ioreq(d, 0, -1, &io, 1000);
		if (!r) {
			SIM_CHECK(&sim, io.data == 0x74726976, "MagicValue 0x%llx",
				  (unsigned long long)io.data);
			ok++;
		}
	}
	SIM_CHECK(&sim, ok == 10 && r == -ETIMEDOUT,
		  "%u reads answered, then %s (want 10, then a timeout)", ok, strerror(-r));
	status = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(status) && WEXITSTATUS(status) == 1,
		  "xvdm after its only guest's event channel failed: %s", sim_status_str(status));
	hv_dom_stats(d, &st);
	SIM_CHECK(&sim, st.servers_destroyed == st.servers_created,
		  "%u ioreq servers created, %u destroyed", st.servers_created,
		  st.servers_destroyed);
	hv_dom_claim(d, BASE, &cl);
	SIM_CHECK(&sim, !cl.mapped, "the window is still claimed");
	sim_note("10 reads answered, the 11th event failed (EFBIG): guest released, exit 1");
	sim_pass(&sim);
}
