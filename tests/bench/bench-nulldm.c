/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-nulldm: the null ioreq server of bench-relay, the baseline xvdm's relay is measured
 * against (docs/performance.md). It is written against the real Xen libraries like xvdm and
 * runs with libxensim.so preloaded, so it pays exactly what the simulated hypervisor costs
 * (ioreq page, event channel, dm_op) and nothing else: no device, no main-loop library.
 *
 *   bench-nulldm DOMID BASE SIZE IRQ KICK_FD CALL_FD
 *
 * It claims [BASE, BASE + SIZE) and answers every ioreq there the least a relay can:
 *   read   any offset: 0x74726976 ("virt", what virtio-mmio's MagicValue reads)
 *   write  0x050 (QueueNotify): an eventfd write to KICK_FD (the back-end's kick)
 *          0x064 (InterruptACK): the SPI IRQ lowered (xendevicemodel_set_irq_level 0)
 *          anything else: ignored
 * and when CALL_FD (the back-end's call eventfd) becomes readable it drains it and raises
 * IRQ (set_irq_level 1). Like any device model it calls set_irq_level only when the line
 * changes: a call while the line is high (not yet acknowledged) costs no hypercall. One poll() loop over the event channel and CALL_FD; per ioreq:
 * xenevtchn_pending, _unmask, _notify, as any device model must. Exits on SIGTERM (the
 * default action: the simulated hypervisor drops its server with its connections).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#define MAGIC	   0x74726976u
#define REG_NOTIFY 0x050
#define REG_INTACK 0x064
#define MAX_VCPUS  128

static int die(const char *what)
{
	fprintf(stderr, "bench-nulldm: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t arg_u64(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "bench-nulldm: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "bench-nulldm: eventfd write: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	xenforeignmemory_resource_handle *fres;
	xenevtchn_handle *xce;
	struct shared_iopage *page;
	evtchn_port_t ports[MAX_VCPUS];
	unsigned nr_vcpus = 0, irq;
	uint64_t base, size;
	uint32_t domid;
	ioservid_t id;
	int kick_fd, call_fd;
	bool level = false; /* the SPI as we last set it */
	void *addr = NULL;

	if (argc != 7) {
		fprintf(stderr, "usage: bench-nulldm DOMID BASE SIZE IRQ KICK_FD CALL_FD\n");
		return 2;
	}
	domid = (uint32_t)arg_u64(argv[1]);
	base = arg_u64(argv[2]);
	size = arg_u64(argv[3]);
	irq = (unsigned)arg_u64(argv[4]);
	kick_fd = (int)arg_u64(argv[5]);
	call_fd = (int)arg_u64(argv[6]);
	if (!size || base + size - 1 < base)
		return fprintf(stderr, "bench-nulldm: bad range\n"), 2;

	dmod = xendevicemodel_open(NULL, 0);
	fmem = xenforeignmemory_open(NULL, 0);
	if (!dmod || !fmem)
		return die("open");
	if (xendevicemodel_nr_vcpus(dmod, domid, &nr_vcpus) < 0)
		return die("nr_vcpus");
	if (!nr_vcpus || nr_vcpus > MAX_VCPUS)
		return fprintf(stderr, "bench-nulldm: %u vCPUs\n", nr_vcpus), 1;
	if (xendevicemodel_create_ioreq_server(dmod, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &id) < 0)
		return die("create_ioreq_server");
	fres = xenforeignmemory_map_resource(fmem, domid, XENMEM_resource_ioreq_server, id,
					     XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
					     PROT_READ | PROT_WRITE, 0);
	if (!fres)
		return die("map_resource");
	page = addr;
	if (xendevicemodel_map_io_range_to_ioreq_server(dmod, domid, id, 1, base, base + size - 1) <
	    0)
		return die("map_io_range");
	if (xendevicemodel_set_ioreq_server_state(dmod, domid, id, 1) < 0)
		return die("set_ioreq_server_state");
	xce = xenevtchn_open(NULL, 0);
	if (!xce)
		return die("xenevtchn_open");
	for (unsigned v = 0; v < nr_vcpus; v++) {
		xenevtchn_port_or_error_t p =
			xenevtchn_bind_interdomain(xce, domid, page->vcpu_ioreq[v].vp_eport);

		if (p < 0)
			return die("bind_interdomain");
		ports[v] = (evtchn_port_t)p;
	}

	for (;;) {
		struct pollfd pfd[2] = { { xenevtchn_fd(xce), POLLIN, 0 }, { call_fd, POLLIN, 0 } };
		xenevtchn_port_or_error_t port;
		volatile ioreq_t *slot;
		ioreq_t req;
		unsigned v;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return die("poll");
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t n;

			if (read(call_fd, &n, sizeof(n)) == sizeof(n) && !level) {
				if (xendevicemodel_set_irq_level(dmod, domid, irq, 1) < 0)
					return die("set_irq_level");
				level = true;
			}
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		port = xenevtchn_pending(xce);
		if (port < 0)
			continue;
		xenevtchn_unmask(xce, (evtchn_port_t)port);
		for (v = 0; v < nr_vcpus && ports[v] != (evtchn_port_t)port; v++)
			;
		if (v == nr_vcpus)
			continue;
		slot = &page->vcpu_ioreq[v];
		if (slot->state != STATE_IOREQ_READY)
			continue;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		memcpy(&req, (const void *)slot, sizeof(req));
		slot->state = STATE_IOREQ_INPROCESS;
		if (req.dir == IOREQ_READ) {
			slot->data = req.size >= 4 ? MAGIC : MAGIC & ((1u << (8 * req.size)) - 1);
		} else if (req.type == IOREQ_TYPE_COPY && req.addr - base == REG_NOTIFY) {
			signal_fd(kick_fd);
		} else if (req.type == IOREQ_TYPE_COPY && req.addr - base == REG_INTACK && level) {
			if (xendevicemodel_set_irq_level(dmod, domid, irq, 0) < 0)
				return die("set_irq_level");
			level = false;
		}
		__atomic_thread_fence(__ATOMIC_RELEASE);
		slot->state = STATE_IORESP_READY;
		xenevtchn_notify(xce, (evtchn_port_t)port);
	}
}
