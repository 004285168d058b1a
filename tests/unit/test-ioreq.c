/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xen/ioreq-serve.c: decoding and serving one ioreq as Xen writes it, without a
 * hypervisor. A recording handler stands in for vmm/: a 256-byte "device" in MMIO at
 * DEV_MMIO and one I/O port (DEV_PORT) that returns a counter, and a fake guest RAM for
 * the pointer data of x86 string ioreqs (rep ins/outs/movs/stos; Xen's hvmemul, QEMU's
 * cpu_ioreq_pio/cpu_ioreq_move), PCI_CONFIG decoding and INVALIDATE.
 */
#include <string.h>

#include "common/util.h"
#include "tests/support/fake-gmem.h"
#include "xen/xh-internal.h"

#define DEV_MMIO 0xfe000000ULL
#define DEV_PORT 0xc040
#define RAM	 0x100000ULL

struct rec {
	struct xh_ioreq_handler h;
	uint8_t regs[256];
	unsigned accesses, invalidates;
	uint32_t port_reads;
	GArray *port_writes; /* uint64_t, in order */
	struct xh_io last;
};

static int rec_access(struct xh_ioreq_handler *hh, struct xh_io *io)
{
	struct rec *r = container_of(hh, struct rec, h);

	r->accesses++;
	r->last = *io;
	if (io->type == XH_IO_PIO) {
		if (io->addr != DEV_PORT)
			return -ENODEV;
		if (io->write)
			g_array_append_val(r->port_writes, io->data);
		else
			io->data = 0xa0 + r->port_reads++;
		return 0;
	}
	if (io->type == XH_IO_PCI_CONFIG) {
		io->data = io->write ? io->data : 0x10421af4;
		return 0;
	}
	if (io->addr < DEV_MMIO || io->addr - DEV_MMIO + io->size > sizeof(r->regs)) {
		io->data = 0; /* unclaimed MMIO elsewhere: reads 0, writes dropped */
		return 0;
	}
	if (io->write) {
		uint64_t v = GUINT64_TO_LE(io->data);

		memcpy(r->regs + (io->addr - DEV_MMIO), &v, io->size);
	} else {
		uint64_t v = 0;

		memcpy(&v, r->regs + (io->addr - DEV_MMIO), io->size);
		io->data = GUINT64_FROM_LE(v) | (io->size < 8 ? 0xdead0000ULL << 32 : 0);
	}
	return 0;
}

static void rec_invalidate(struct xh_ioreq_handler *hh)
{
	container_of(hh, struct rec, h)->invalidates++;
}

static const struct xh_ioreq_handler_ops rec_ops = {
	.access = rec_access,
	.invalidate = rec_invalidate,
};

struct fx {
	struct rec r;
	struct fake_gmem *ram;
	struct xh_ioreq_stats st;
};

static void fx_init(struct fx *f, bool with_mem)
{
	memset(f, 0, sizeof(*f));
	f->r.h.ops = &rec_ops;
	f->r.port_writes = g_array_new(false, false, sizeof(uint64_t));
	f->ram = fake_gmem_new(RAM, 0x2000);
	if (with_mem)
		f->r.h.mem = &f->ram->gmem;
	for (unsigned i = 0; i < sizeof(f->r.regs); i++)
		f->r.regs[i] = (uint8_t)i;
}

static void fx_fini(struct fx *f)
{
	g_array_free(f->r.port_writes, true);
	fake_gmem_free(f->ram);
}

static void serve(struct fx *f, ioreq_t *req)
{
	req->state = STATE_IOREQ_INPROCESS;
	xh_ioreq_serve(&f->r.h, 7, 0, req, &f->st);
}

/* A single port read and write: the port itself, the data masked to the size. */
static void pio_single(void)
{
	struct fx f;
	ioreq_t rd = { .addr = DEV_PORT,
		       .size = 1,
		       .count = 1,
		       .dir = IOREQ_READ,
		       .type = IOREQ_TYPE_PIO,
		       .data = ~0ULL };
	ioreq_t wr = { .addr = DEV_PORT,
		       .size = 2,
		       .count = 1,
		       .dir = IOREQ_WRITE,
		       .type = IOREQ_TYPE_PIO,
		       .data = 0x12345678 };

	fx_init(&f, true);
	serve(&f, &rd);
	g_assert_cmphex(rd.data, ==, 0xa0);
	g_assert_cmpint(f.r.last.type, ==, XH_IO_PIO);
	serve(&f, &wr);
	g_assert_cmpuint(f.r.port_writes->len, ==, 1);
	g_assert_cmphex(g_array_index(f.r.port_writes, uint64_t, 0), ==, 0x5678);
	g_assert_cmpuint(f.st.served, ==, 2);
	g_assert_cmpuint(f.st.string, ==, 0);
	fx_fini(&f);
}

/* rep outsw: count words from guest RAM to the same port, pointer forwards or backwards. */
static void pio_rep_outs(void)
{
	for (int df = 0; df <= 1; df++) {
		struct fx f;
		uint64_t ptr = RAM + 0x100;
		ioreq_t req = { .addr = DEV_PORT,
				.size = 2,
				.count = 4,
				.dir = IOREQ_WRITE,
				.type = IOREQ_TYPE_PIO,
				.data_is_ptr = 1,
				.df = df };

		fx_init(&f, true);
		for (unsigned i = 0; i < 8; i++)
			fake_gmem_put16(f.ram, RAM + 0xf8 + 2 * i, 0x1000 + i);
		req.data = ptr;
		serve(&f, &req);
		g_assert_cmpuint(f.r.port_writes->len, ==, 4);
		for (unsigned i = 0; i < 4; i++) {
			/* forwards: words at 0x100, 0x102 ...; backwards: 0x100, 0xfe ... */
			unsigned word = df ? 4 - i : 4 + i;

			g_assert_cmphex(g_array_index(f.r.port_writes, uint64_t, i), ==,
					0x1000 + word);
		}
		g_assert_cmphex(req.data, ==, ptr); /* pointer ioreqs keep their data */
		g_assert_cmpuint(f.st.string, ==, 1);
		g_assert_cmpuint(f.st.bad, ==, 0);
		fx_fini(&f);
	}
}

/* rep insb: each value read from the port lands in guest RAM, in order. */
static void pio_rep_ins(void)
{
	struct fx f;
	ioreq_t req = { .addr = DEV_PORT,
			.size = 1,
			.count = 5,
			.dir = IOREQ_READ,
			.type = IOREQ_TYPE_PIO,
			.data_is_ptr = 1,
			.data = RAM + 0x200 };
	uint8_t *p;

	fx_init(&f, true);
	serve(&f, &req);
	p = fake_gmem_ptr(f.ram, RAM + 0x200, 6);
	g_assert_nonnull(p);
	for (unsigned i = 0; i < 5; i++)
		g_assert_cmphex(p[i], ==, 0xa0 + i);
	g_assert_cmphex(p[5], ==, 0); /* nothing beyond count */
	g_assert_cmphex(req.data, ==, RAM + 0x200);
	g_assert_cmpuint(f.r.port_reads, ==, 5);
	fx_fini(&f);
}

/* rep movsl RAM -> device and device -> RAM, both directions of the flag. */
static void mmio_rep_movs(void)
{
	for (int df = 0; df <= 1; df++) {
		struct fx f;
		uint64_t dev = DEV_MMIO + 0x40, ram = RAM + 0x400;
		ioreq_t wr = { .addr = dev,
			       .size = 4,
			       .count = 3,
			       .dir = IOREQ_WRITE,
			       .type = IOREQ_TYPE_COPY,
			       .data_is_ptr = 1,
			       .df = df,
			       .data = ram };
		ioreq_t rd = { .addr = dev,
			       .size = 4,
			       .count = 3,
			       .dir = IOREQ_READ,
			       .type = IOREQ_TYPE_COPY,
			       .data_is_ptr = 1,
			       .df = df,
			       .data = ram + 0x100 };
		int step = df ? -4 : 4;

		fx_init(&f, true);
		for (int i = 0; i < 3; i++)
			fake_gmem_put32(f.ram, ram + i * step, 0xc0de0000 + i);
		serve(&f, &wr);
		for (int i = 0; i < 3; i++) {
			uint32_t v;

			memcpy(&v, f.r.regs + 0x40 + i * step, 4);
			g_assert_cmphex(GUINT32_FROM_LE(v), ==, 0xc0de0000 + i);
		}
		serve(&f, &rd);
		/* the device's upper junk never reaches RAM: 4 bytes each, in place */
		for (int i = 0; i < 3; i++)
			g_assert_cmphex(fake_gmem_get32(f.ram, ram + 0x100 + i * step), ==,
					0xc0de0000 + i);
		g_assert_cmpuint(f.st.string, ==, 2);
		fx_fini(&f);
	}
}

/* rep stosl to MMIO: the same value at each address; a read with count > 1 keeps the last. */
static void mmio_rep_stos(void)
{
	struct fx f;
	ioreq_t st = { .addr = DEV_MMIO + 0x80,
		       .size = 4,
		       .count = 8,
		       .dir = IOREQ_WRITE,
		       .type = IOREQ_TYPE_COPY,
		       .data = 0x5aa5c33c9669f00fULL };
	ioreq_t rd = { .addr = DEV_MMIO + 0x10,
		       .size = 1,
		       .count = 4,
		       .dir = IOREQ_READ,
		       .type = IOREQ_TYPE_COPY };

	fx_init(&f, true);
	serve(&f, &st);
	for (unsigned i = 0; i < 8; i++) {
		uint32_t v;

		memcpy(&v, f.r.regs + 0x80 + 4 * i, 4);
		g_assert_cmphex(GUINT32_FROM_LE(v), ==, 0x9669f00f);
	}
	g_assert_cmphex(f.r.regs[0xa0], ==, 0xa0); /* untouched after 8 reps */
	serve(&f, &rd);
	g_assert_cmphex(rd.data, ==, 0x13);
	g_assert_cmpuint(f.r.accesses, ==, 12);
	fx_fini(&f);
}

/* Refusals: count 0 or too many, pointer data without guest memory, PCI_CONFIG strings. */
static void refused(void)
{
	struct fx f;
	ioreq_t reqs[] = {
		{ .addr = DEV_PORT, .size = 1, .count = 0, .type = IOREQ_TYPE_PIO },
		{ .addr = DEV_PORT,
		  .size = 1,
		  .count = XH_IOREQ_MAX_REPS + 1,
		  .type = IOREQ_TYPE_PIO },
		{ .addr = (0x28ULL << 32) | 0,
		  .size = 4,
		  .count = 2,
		  .type = IOREQ_TYPE_PCI_CONFIG },
		{ .addr = (0x28ULL << 32) | 0,
		  .size = 4,
		  .count = 1,
		  .data_is_ptr = 1,
		  .data = RAM,
		  .type = IOREQ_TYPE_PCI_CONFIG },
		{ .addr = DEV_PORT, .size = 3, .count = 2, .type = IOREQ_TYPE_PIO },
		{ .addr = DEV_MMIO, .size = 4, .count = 1, .type = 9 },
	};

	fx_init(&f, true);
	for (unsigned i = 0; i < G_N_ELEMENTS(reqs); i++) {
		reqs[i].dir = IOREQ_READ;
		serve(&f, &reqs[i]);
		g_assert_cmpuint(f.st.bad, ==, i + 1);
		if (reqs[i].size < 8 && reqs[i].size > 0 && !reqs[i].data_is_ptr)
			g_assert_cmphex(reqs[i].data, ==, (1ULL << (8 * reqs[i].size)) - 1);
	}
	g_assert_cmpuint(f.r.accesses, ==, 0);
	fx_fini(&f);

	/* no guest memory: pointer data refused, nothing served */
	fx_init(&f, false);
	{
		ioreq_t req = { .addr = DEV_PORT,
				.size = 1,
				.count = 2,
				.dir = IOREQ_WRITE,
				.type = IOREQ_TYPE_PIO,
				.data_is_ptr = 1,
				.data = RAM };

		serve(&f, &req);
		g_assert_cmpuint(f.st.bad, ==, 1);
		g_assert_cmpuint(f.r.port_writes->len, ==, 0);
	}
	fx_fini(&f);
}

/* A repetition the device refuses reads all ones, like a single access; the string goes on. */
static void refused_repetition(void)
{
	struct fx f;
	ioreq_t in = { .addr = DEV_PORT + 2,
		       .size = 2,
		       .count = 3,
		       .dir = IOREQ_READ,
		       .type = IOREQ_TYPE_PIO,
		       .data_is_ptr = 1,
		       .data = RAM + 0x300 };
	ioreq_t single = { .addr = DEV_PORT + 2,
			   .size = 2,
			   .count = 1,
			   .dir = IOREQ_READ,
			   .type = IOREQ_TYPE_PIO };

	fx_init(&f, true);
	fake_gmem_put16(f.ram, RAM + 0x306, 0x1234);
	serve(&f, &in);
	g_assert_cmpuint(f.r.accesses, ==, 3);
	for (unsigned i = 0; i < 3; i++)
		g_assert_cmphex(fake_gmem_get16(f.ram, RAM + 0x300 + 2 * i), ==, 0xffff);
	g_assert_cmphex(fake_gmem_get16(f.ram, RAM + 0x306), ==, 0x1234);
	serve(&f, &single);
	g_assert_cmphex(single.data, ==, 0xffff);
	fx_fini(&f);
}

/* A pointer that runs out of RAM, or wraps, stops the string there: no access beyond it. */
static void pointer_out_of_ram(void)
{
	struct fx f;
	ioreq_t out = { .addr = DEV_PORT,
			.size = 2,
			.count = 4,
			.dir = IOREQ_WRITE,
			.type = IOREQ_TYPE_PIO,
			.data_is_ptr = 1,
			.data = RAM + 0x2000 - 4 };
	ioreq_t in = { .addr = DEV_PORT,
		       .size = 4,
		       .count = 3,
		       .dir = IOREQ_READ,
		       .type = IOREQ_TYPE_PIO,
		       .data_is_ptr = 1,
		       .df = 1,
		       .data = 4 };
	ioreq_t wrap = { .addr = ~0ULL - 3,
			 .size = 4,
			 .count = 3,
			 .dir = IOREQ_WRITE,
			 .type = IOREQ_TYPE_COPY,
			 .data = 1 };

	fx_init(&f, true);
	serve(&f, &out);
	g_assert_cmpuint(f.r.port_writes->len, ==, 2); /* the two words still in RAM */
	serve(&f, &in);				       /* 4 is not RAM: the first store fails */
	g_assert_cmpuint(f.r.port_reads, ==, 1);
	f.r.accesses = 0;
	serve(&f, &wrap);
	g_assert_cmpuint(f.r.accesses, ==, 1); /* the first rep, then the address wraps */
	g_assert_cmpuint(f.st.string, ==, 3);
	fx_fini(&f);
}

/* PCI_CONFIG carries SBDF << 32 | register; the handler sees it unchanged. */
static void pci_config(void)
{
	struct fx f;
	ioreq_t rd = { .addr = (0x28ULL << 32) | 0x4,
		       .size = 2,
		       .count = 1,
		       .dir = IOREQ_READ,
		       .type = IOREQ_TYPE_PCI_CONFIG };

	fx_init(&f, true);
	serve(&f, &rd);
	g_assert_cmpint(f.r.last.type, ==, XH_IO_PCI_CONFIG);
	g_assert_cmphex(f.r.last.addr, ==, (0x28ULL << 32) | 0x4);
	g_assert_cmphex(rd.data, ==, 0x1af4); /* masked to 2 bytes */
	fx_fini(&f);
}

/* INVALIDATE (as ioreq_signal_mapcache_invalidate sends it, count 0) reaches the handler. */
static void invalidate(void)
{
	struct fx f;
	ioreq_t req = {
		.size = 4, .dir = IOREQ_WRITE, .data = ~0ULL, .type = IOREQ_TYPE_INVALIDATE
	};

	fx_init(&f, true);
	serve(&f, &req);
	serve(&f, &req);
	g_assert_cmpuint(f.r.invalidates, ==, 2);
	g_assert_cmpuint(f.st.invalidate, ==, 2);
	g_assert_cmpuint(f.st.bad + f.st.served, ==, 0);
	g_assert_cmpuint(f.r.accesses, ==, 0);
	fx_fini(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/ioreq/pio/single", pio_single);
	g_test_add_func("/ioreq/pio/rep-outs", pio_rep_outs);
	g_test_add_func("/ioreq/pio/rep-ins", pio_rep_ins);
	g_test_add_func("/ioreq/mmio/rep-movs", mmio_rep_movs);
	g_test_add_func("/ioreq/mmio/rep-stos", mmio_rep_stos);
	g_test_add_func("/ioreq/refused", refused);
	g_test_add_func("/ioreq/pointer-out-of-ram", pointer_out_of_ram);
	g_test_add_func("/ioreq/refused-repetition", refused_repetition);
	g_test_add_func("/ioreq/pci-config", pci_config);
	g_test_add_func("/ioreq/invalidate", invalidate);
	return g_test_run();
}
