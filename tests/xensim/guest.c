/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest side: ioreqs sent the way Xen sends them (xen/common/ioreq.c, ioreq_send),
 * guest RAM, interrupt lines. Trust boundary: the ioreq page is shared with the device
 * model under test; its answers (state, data) are checked, never trusted, and every
 * wait for it is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/xensim/guest.h"
#include "tests/xensim/hv-internal.h"

/* What one ioreq needs, looked up under the hv lock and used without it. */
struct slot_ref {
	struct xs_dom *d;
	unsigned vcpu;
	volatile ioreq_t *slot;
	int g2dm;
	int dm2g;
	uint32_t port;
	uint16_t server;
};

static int find_slot(struct xs_dom *d, unsigned vcpu, int server, const ioreq_t *io,
		     struct slot_ref *ref)
{
	uint64_t len = (uint64_t)io->size * (io->count ? io->count : 1);
	struct hv_server *s = NULL;
	int ret = 0;

	pthread_mutex_lock(&d->hv->lock);
	if (d->destroyed) {
		ret = -ESRCH;
	} else if (server < 0 && io->type == IOREQ_TYPE_PCI_CONFIG) {
		s = hv_route_pci(d, (uint32_t)(io->addr >> 32));
		if (s)
			d->stats.pci_cfg++;
		else
			ret = -ENODEV;
	} else if (server < 0 && io->type == IOREQ_TYPE_PIO) {
		/* a string's port stays put: only its size counts */
		s = hv_route_pio(d, io->addr, io->size);
		if (s)
			d->stats.pio++;
		else
			ret = -ENODEV;
	} else if (server < 0) {
		/* a backwards string (df) covers the bytes below its first address */
		uint64_t lo = io->df && io->count > 1 ? io->addr - len + io->size : io->addr;

		s = hv_route_mmio(d, lo, len);
		if (!s)
			ret = -EFAULT; /* Xen finds no server: the guest takes a data abort */
	} else {
		for (unsigned i = 0; i < d->servers->len && !s; i++) {
			struct hv_server *c = g_ptr_array_index(d->servers, i);

			if (c->id == server && !c->destroyed && c->enabled)
				s = c;
		}
		if (!s)
			ret = -ENOENT;
	}
	if (s && (io->count > 1 || io->data_is_ptr))
		d->stats.strings++;
	if (s) {
		ref->d = d;
		ref->vcpu = vcpu;
		ref->slot = &s->page->vcpu_ioreq[vcpu];
		ref->g2dm = s->ports[vcpu].g2dm;
		ref->dm2g = s->ports[vcpu].dm2g;
		ref->port = s->ports[vcpu].remote;
		ref->server = s->id;
	}
	pthread_mutex_unlock(&d->hv->lock);
	return ret;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the device model's notification, then look at the slot; as Xen's vCPU does. */
static int wait_response(struct slot_ref *ref, ioreq_t *io, int timeout_ms)
{
	volatile ioreq_t *slot = ref->slot;
	struct pollfd pfd = { .fd = ref->dm2g, .events = POLLIN };
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t cnt;
	unsigned st;

	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			break;
		if (read(ref->dm2g, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			return -errno;
		/* smp_rmb(): the state before the data it guards. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		st = slot->state;
		if (st == STATE_IORESP_READY) {
			io->data = slot->data;
			slot->state = STATE_IOREQ_NONE;
			return 0;
		}
		if (st != STATE_IOREQ_READY && st != STATE_IOREQ_INPROCESS) {
			fprintf(stderr, "gd: srv%u slot left in state %u by the device model\n",
				ref->server, st);
			slot->state = STATE_IOREQ_NONE;
			return -EPROTO;
		}
	}
	st = slot->state;
	fprintf(stderr,
		"gd: srv%u port %u: no answer in %d ms (addr 0x%" PRIx64 " size %u type %u dir %u,"
		" slot state %u%s)\n",
		ref->server, ref->port, timeout_ms, (uint64_t)io->addr, io->size, io->type, io->dir,
		st, st == STATE_IORESP_READY ? ": completed but the port was not notified" : "");
	slot->state = STATE_IOREQ_NONE;
	return -ETIMEDOUT;
}

static int send_wait(struct slot_ref *ref, ioreq_t *io, int timeout_ms)
{
	volatile ioreq_t *slot = ref->slot;
	ioreq_t p = *io;
	uint64_t one = 1, cnt;

	if (slot->state != STATE_IOREQ_NONE)
		return -EBUSY;
	/* A late notification of an earlier, timed-out ioreq must not count for this one. */
	while (read(ref->dm2g, &cnt, sizeof(cnt)) > 0)
		;
	p.vp_eport = ref->port;
	p.state = STATE_IOREQ_NONE;
	memcpy((void *)slot, &p, sizeof(p));
	/* smp_wmb(): the request is visible before the device model can see READY. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IOREQ_READY;
	/*
	 * The event reaches dom0. Where the dom0 kernel has a privcmd ioeventfd handler on the
	 * port (hv-kevt.c), it delivers the event and may complete a QueueNotify itself.
	 */
	if (!hv_kevt_ioreq(ref->d->hv, ref->d, ref->server, ref->vcpu, slot, ref->g2dm,
			   ref->dm2g) &&
	    write(ref->g2dm, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return wait_response(ref, io, timeout_ms);
}

int gd_ioreq(struct xs_dom *d, unsigned vcpu, int server, ioreq_t *io, int timeout_ms)
{
	struct slot_ref ref;
	int ret;

	if (vcpu >= d->cfg.nr_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&d->vcpu_lock[vcpu]);
	ret = find_slot(d, vcpu, server, io, &ref);
	if (!ret)
		ret = send_wait(&ref, io, timeout_ms);
	pthread_mutex_unlock(&d->vcpu_lock[vcpu]);
	return ret;
}

static bool size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

int gd_mmio_read(struct xs_dom *d, unsigned vcpu, uint64_t addr, unsigned size, uint64_t *val)
{
	ioreq_t io = {
		.addr = addr, .size = size, .count = 1, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY
	};
	int ret;

	if (!size_ok(size))
		return -EINVAL;
	ret = gd_ioreq(d, vcpu, -1, &io, GD_TIMEOUT_MS);
	if (ret < 0)
		return ret;
	if (size < 8 && io.data >> (size * 8)) {
		fprintf(stderr,
			"gd: read 0x%" PRIx64 "/%u returned 0x%" PRIx64 ": bits above the"
			" access size\n",
			addr, size, (uint64_t)io.data);
		return -EPROTO;
	}
	*val = io.data;
	return 0;
}

int gd_mmio_write(struct xs_dom *d, unsigned vcpu, uint64_t addr, unsigned size, uint64_t val)
{
	ioreq_t io = {
		.addr = addr, .size = size, .count = 1, .dir = IOREQ_WRITE, .type = IOREQ_TYPE_COPY
	};

	if (!size_ok(size))
		return -EINVAL;
	io.data = size < 8 ? val & ((1ULL << (size * 8)) - 1) : val;
	/*
	 * Arm Xen forwards the whole source register (try_fwd_ioserv: p.data =
	 * get_user_reg()), so the bits above the access size are whatever the register
	 * held: give them something other than zero, as a compiler may.
	 */
	if (d->cfg.arch == HV_ARCH_ARM && size < 8)
		io.data |= 0x5aa5c33c9669f00fULL & ~((1ULL << (size * 8)) - 1);
	return gd_ioreq(d, vcpu, -1, &io, GD_TIMEOUT_MS);
}

/*
 * An x86 access no server claims: Xen's null handler (hvm_io_intercept) completes it, reads
 * all ones, writes dropped; counted in *unclaimed.
 */
static int null_handler(struct xs_dom *d, unsigned *unclaimed, ioreq_t *io)
{
	pthread_mutex_lock(&d->hv->lock);
	(*unclaimed)++;
	pthread_mutex_unlock(&d->hv->lock);
	if (io->dir == IOREQ_READ && !io->data_is_ptr)
		io->data = (1ULL << (io->size * 8)) - 1;
	return 0;
}

static int pci_cfg(struct xs_dom *d, unsigned vcpu, uint32_t sbdf, unsigned reg, unsigned size,
		   ioreq_t *io)
{
	uint64_t ones = (1ULL << (size * 8)) - 1;
	int ret;

	if (d->cfg.arch != HV_ARCH_X86)
		return -EOPNOTSUPP;
	if ((size != 1 && size != 2 && size != 4) || reg >= 256 || (reg & (size - 1)))
		return -EINVAL;
	io->addr = (uint64_t)sbdf << 32 | reg;
	io->size = size;
	io->count = 1;
	io->type = IOREQ_TYPE_PCI_CONFIG;
	ret = gd_ioreq(d, vcpu, -1, io, GD_TIMEOUT_MS);
	if (ret == -ENODEV)
		return null_handler(d, &d->stats.pci_cfg_unclaimed, io);
	if (!ret && io->dir == IOREQ_READ && (io->data & ~ones)) {
		fprintf(stderr,
			"gd: PCI config read %08x+0x%x/%u returned 0x%" PRIx64 ": bits above the"
			" access size\n",
			sbdf, reg, size, (uint64_t)io->data);
		return -EPROTO;
	}
	return ret;
}

int gd_pci_cfg_read(struct xs_dom *d, unsigned vcpu, uint32_t sbdf, unsigned reg, unsigned size,
		    uint32_t *val)
{
	ioreq_t io = { .dir = IOREQ_READ };
	int ret = pci_cfg(d, vcpu, sbdf, reg, size, &io);

	if (!ret)
		*val = (uint32_t)io.data;
	return ret;
}

int gd_pci_cfg_write(struct xs_dom *d, unsigned vcpu, uint32_t sbdf, unsigned reg, unsigned size,
		     uint32_t val)
{
	ioreq_t io = { .dir = IOREQ_WRITE };

	io.data = size < 4 ? val & ((1u << (size * 8)) - 1) : val;
	return pci_cfg(d, vcpu, sbdf, reg, size, &io);
}

static int pio(struct xs_dom *d, unsigned vcpu, ioreq_t *io)
{
	int ret;

	if (d->cfg.arch != HV_ARCH_X86)
		return -EOPNOTSUPP;
	if ((io->size != 1 && io->size != 2 && io->size != 4) || io->addr > 0xffff)
		return -EINVAL;
	io->type = IOREQ_TYPE_PIO;
	ret = gd_ioreq(d, vcpu, -1, io, GD_TIMEOUT_MS);
	if (ret == -ENODEV)
		return null_handler(d, &d->stats.pio_unclaimed, io);
	return ret;
}

int gd_pio_read(struct xs_dom *d, unsigned vcpu, uint16_t port, unsigned size, uint32_t *val)
{
	ioreq_t io = { .addr = port, .size = size, .count = 1, .dir = IOREQ_READ };
	int ret = pio(d, vcpu, &io);

	if (!ret && io.data >> (size * 8)) {
		fprintf(stderr,
			"gd: port read 0x%x/%u returned 0x%" PRIx64 ": bits above the"
			" access size\n",
			port, size, (uint64_t)io.data);
		return -EPROTO;
	}
	if (!ret)
		*val = (uint32_t)io.data;
	return ret;
}

int gd_pio_write(struct xs_dom *d, unsigned vcpu, uint16_t port, unsigned size, uint32_t val)
{
	ioreq_t io = { .addr = port, .size = size, .count = 1, .dir = IOREQ_WRITE };

	io.data = size < 4 ? val & ((1u << (size * 8)) - 1) : val;
	return pio(d, vcpu, &io);
}

int gd_string(struct xs_dom *d, unsigned vcpu, const struct gd_string *str)
{
	ioreq_t io = { .addr = str->addr,
		       .size = str->size,
		       .count = str->count,
		       .dir = str->write ? IOREQ_WRITE : IOREQ_READ,
		       .df = str->df,
		       .data_is_ptr = str->ptr,
		       .data = str->ptr ? str->gpa : str->value };
	uint64_t span = (uint64_t)str->size * str->count;

	if (d->cfg.arch != HV_ARCH_X86)
		return -EOPNOTSUPP;
	if ((str->size != 1 && str->size != 2 && str->size != 4 && str->size != 8) || !str->count ||
	    (str->pio && str->size == 8) || (!str->ptr && !str->write))
		return -EINVAL;
	/* As hvmemul_do_io_addr: the RAM side of one ioreq stays inside one page. */
	if (str->ptr &&
	    (!gd_ram(d, str->df ? str->gpa + str->size - span : str->gpa, span) ||
	     (str->df ? (str->gpa + str->size - span) >> 12 != (str->gpa + str->size - 1) >> 12
		      : str->gpa >> 12 != (str->gpa + span - 1) >> 12)))
		return -EINVAL;
	if (str->pio)
		return pio(d, vcpu, &io);
	io.type = IOREQ_TYPE_COPY;
	return gd_ioreq(d, vcpu, -1, &io, GD_TIMEOUT_MS);
}

int gd_send_invalidate(struct xs_dom *d, unsigned vcpu)
{
	int ids[HV_MAX_IOREQ_SERVERS], n = 0, ret = 0;

	pthread_mutex_lock(&d->hv->lock);
	for (unsigned i = 0; i < d->servers->len && n < HV_MAX_IOREQ_SERVERS; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		if (!s->destroyed && s->enabled)
			ids[n++] = s->id;
	}
	pthread_mutex_unlock(&d->hv->lock);
	/* As ioreq_signal_mapcache_invalidate(): size 4, write, data ~0, count 0. */
	for (int i = 0; i < n && !ret; i++) {
		ioreq_t io = {
			.size = 4, .dir = IOREQ_WRITE, .data = ~0ULL, .type = IOREQ_TYPE_INVALIDATE
		};

		ret = gd_ioreq(d, vcpu, ids[i], &io, GD_TIMEOUT_MS);
	}
	return ret;
}

void *gd_ram(struct xs_dom *d, uint64_t gpa, size_t len)
{
	for (unsigned i = 0; i < d->cfg.nr_banks; i++) {
		const struct hv_ram_bank *b = &d->cfg.banks[i];

		if (gpa >= b->gpa && gpa - b->gpa <= b->size && len <= b->size - (gpa - b->gpa))
			return d->ram + d->bank_off[i] + (gpa - b->gpa);
	}
	return NULL;
}

int gd_ram_fd(struct xs_dom *d)
{
	int fd = fcntl(d->ram_fd, F_DUPFD_CLOEXEC, 3);

	return fd < 0 ? -errno : fd;
}

unsigned gd_ram_banks(struct xs_dom *d, struct hv_ram_bank *ret, uint64_t *ret_offsets,
		      unsigned max)
{
	unsigned n = d->cfg.nr_banks < max ? d->cfg.nr_banks : max;

	for (unsigned i = 0; i < n; i++) {
		ret[i] = d->cfg.banks[i];
		ret_offsets[i] = d->bank_off[i];
	}
	return n;
}

uint64_t gd_alloc(struct xs_dom *d, size_t size, size_t align)
{
	const struct hv_ram_bank *b = &d->cfg.banks[0];
	uint64_t gpa = 0, a;

	if (!align || (align & (align - 1)))
		return 0;
	pthread_mutex_lock(&d->alloc_lock);
	a = (d->alloc_next + align - 1) & ~((uint64_t)align - 1);
	if (a >= d->alloc_next && a - b->gpa <= b->size && size <= b->size - (a - b->gpa)) {
		gpa = a;
		d->alloc_next = a + size;
		memset(gd_ram(d, gpa, size), 0, size);
	}
	pthread_mutex_unlock(&d->alloc_lock);
	return gpa;
}

uint64_t gd_irq_edges(struct xs_dom *d, unsigned irq)
{
	uint64_t e;

	hv_irq_get(d, irq, NULL, &e);
	return e;
}

unsigned gd_irq_level(struct xs_dom *d, unsigned irq)
{
	unsigned l;

	hv_irq_get(d, irq, &l, NULL);
	return l;
}

int gd_irq_wait(struct xs_dom *d, unsigned irq, uint64_t *edges, int timeout_ms)
{
	return hv_irq_wait_edge(d, irq, *edges, timeout_ms, edges);
}

uint64_t gd_msi_count(struct xs_dom *d, uint64_t addr, uint32_t data)
{
	return hv_msi_count(d, addr, data);
}

int gd_msi_wait(struct xs_dom *d, uint64_t addr, uint32_t data, uint64_t *count, int timeout_ms)
{
	return hv_msi_wait(d, addr, data, *count, timeout_ms, count);
}
