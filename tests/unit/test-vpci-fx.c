/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fixture of the virtio-pci unit tests (see test-vpci-fx.h). */
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "tests/unit/test-vpci-fx.h"

static void fx_set_intx(struct vpci_dev *p, bool level)
{
	struct fx *fx = container_of(p, struct fx, p);

	if (level == fx->intx)
		fx->intx_repeated = true;
	fx->intx = level;
	fx->intx_changes++;
}

static void fx_send_msi(struct vpci_dev *p, uint64_t addr, uint32_t data)
{
	struct fx *fx = container_of(p, struct fx, p);

	g_assert_cmpuint(fx->nmsi, <, G_N_ELEMENTS(fx->msi));
	fx->msi[fx->nmsi].addr = addr;
	fx->msi[fx->nmsi].data = data;
	fx->nmsi++;
}

static bool in_win(const struct vpci_window *w, uint64_t addr, uint64_t size)
{
	return addr >= w->base && addr + size <= w->base + w->size && addr + size > addr;
}

bool fx_claim_ok(const struct vpci_host *h, uint64_t addr, uint64_t size)
{
	const struct vpci_window *e = &h->cfg.ecam;

	if (!in_win(&h->cfg.mem, addr, size) && !in_win(&h->cfg.pref, addr, size))
		return false;
	return !(addr < e->base + e->size && e->base < addr + size);
}

static void record(struct fx *fx, bool map, unsigned bar, uint64_t addr, uint64_t size)
{
	g_assert_cmpuint(fx->nev, <, G_N_ELEMENTS(fx->ev));
	fx->ev[fx->nev] = (struct fx_map_event){ map, bar, addr, size };
	fx->nev++;
}

static int fx_bar_map(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	struct fx *fx = container_of(p, struct fx, p);

	if (vpci_bar_is_io(p, bar))
		g_assert_true(in_win(&fx->h.cfg.io, addr, size));
	else
		g_assert_true(fx_claim_ok(&fx->h, addr, size));
	if (fx->map_ret)
		return fx->map_ret;
	record(fx, true, bar, addr, size);
	return 0;
}

static void fx_bar_unmap(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	record(container_of(p, struct fx, p), false, bar, addr, size);
}

const struct vpci_ops fx_ops = {
	.set_intx = fx_set_intx,
	.send_msi = fx_send_msi,
	.bar_map = fx_bar_map,
	.bar_unmap = fx_bar_unmap,
};

struct vpci_host_config fx_host_config(void)
{
	return (struct vpci_host_config){
		.ecam = { FX_ECAM_BASE, FX_ECAM_SIZE },
		.mem = { FX_MEM_BASE, FX_MEM_SIZE },
		.pref = { FX_PREF_BASE, FX_PREF_SIZE },
		.io = { FX_IO_BASE, FX_IO_SIZE },
	};
}

static void fx_setup_vectors(struct fx *fx, unsigned vectors)
{
	struct vpci_host_config hc = fx_host_config();
	unsigned i;

	memset(fx, 0, sizeof(*fx));
	g_assert_cmpint(vpci_host_init(&fx->h, &hc), ==, 0);
	fx->f = fake_vdev_new(VIRTIO_ID_BLOCK, FX_NQUEUES, FX_QUEUE_MAX, FX_CFG_SIZE);
	g_assert_nonnull(fx->f);
	fx->f->offer = F_DEV;
	for (i = 0; i < FX_CFG_SIZE; i++)
		fx->f->cfg[i] = (uint8_t)(0xa0 + i);
	g_assert_cmpint(vpci_dev_init(&fx->p, &fx_ops, &fx->f->vdev, vectors), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, FX_SLOT, &fx->p), ==, 0);
}

void fx_setup(struct fx *fx, gconstpointer data)
{
	fx_setup_vectors(fx, FX_MSIX);
}

void fx_setup_nomsix(struct fx *fx, gconstpointer data)
{
	fx_setup_vectors(fx, 0);
}

void fx_teardown(struct fx *fx, gconstpointer data)
{
	unsigned i, maps = 0, unmaps = 0;

	g_assert_false(fx->intx_repeated);
	g_assert_true(fx->intx == fx->p.intx_level);
	vpci_dev_fini(&fx->p);
	vpci_host_fini(&fx->h);
	/* every claim released exactly once */
	for (i = 0; i < fx->nev; i++)
		fx->ev[i].map ? maps++ : unmaps++;
	g_assert_cmpuint(maps, ==, unmaps);
	g_assert_false(fx->intx);
	fake_vdev_free(fx->f);
}

static uint64_t ecam_off(uint32_t reg)
{
	return (uint64_t)FX_SLOT << 15 | reg;
}

uint32_t cfg_rd(struct fx *fx, uint32_t reg, unsigned size)
{
	uint64_t v = 0xdeadbeefdeadULL;

	g_assert_cmpint(vpci_ecam_read(&fx->h, ecam_off(reg), size, &v), ==, 0);
	g_assert_cmpuint(v, <, 1ULL << (8 * size));
	return (uint32_t)v;
}

void cfg_wr(struct fx *fx, uint32_t reg, unsigned size, uint32_t val)
{
	g_assert_cmpint(vpci_ecam_write(&fx->h, ecam_off(reg), size, val), ==, 0);
}

void bar64_program(struct fx *fx, unsigned bar, uint64_t addr)
{
	cfg_wr(fx, PCI_BASE_ADDRESS_0 + 4 * bar, 4, (uint32_t)addr);
	cfg_wr(fx, PCI_BASE_ADDRESS_0 + 4 * bar + 4, 4, (uint32_t)(addr >> 32));
}

void cmd_set(struct fx *fx, uint16_t bits, bool on)
{
	uint32_t cmd = cfg_rd(fx, PCI_COMMAND, 2);

	cfg_wr(fx, PCI_COMMAND, 2, on ? cmd | bits : cmd & ~bits);
}

void fx_enable_bar2(struct fx *fx)
{
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_BAR2_ADDR);
	cmd_set(fx, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, true);
	g_assert_true(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
}

unsigned find_vcap(struct fx *fx, uint8_t cfg_type)
{
	unsigned pos, ttl = 48; /* Linux's PCI_FIND_CAP_TTL */

	if (!(cfg_rd(fx, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = cfg_rd(fx, PCI_CAPABILITY_LIST, 1);
	while (pos >= PCI_STD_HEADER_SIZEOF && ttl--) {
		pos &= ~3u;
		if (cfg_rd(fx, pos + PCI_CAP_LIST_ID, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(fx, pos + offsetof(struct virtio_pci_cap, cfg_type), 1) == cfg_type)
			return pos;
		pos = cfg_rd(fx, pos + PCI_CAP_LIST_NEXT, 1);
	}
	return 0;
}

uint64_t b2_rd(struct fx *fx, uint64_t off, unsigned size)
{
	uint64_t v = 0xdeadbeef;

	g_assert_cmpint(vpci_bar_read(&fx->p, VPCI_VIRTIO_BAR, off, size, &v), ==, 0);
	return v;
}

void b2_wr(struct fx *fx, uint64_t off, unsigned size, uint64_t val)
{
	g_assert_cmpint(vpci_bar_write(&fx->p, VPCI_VIRTIO_BAR, off, size, val), ==, 0);
}

void b2_wr_bad(struct fx *fx, uint64_t off, unsigned size, uint64_t val)
{
	g_assert_cmpint(vpci_bar_write(&fx->p, VPCI_VIRTIO_BAR, off, size, val), ==, -EINVAL);
}

unsigned cc_width(uint32_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	default:
		return 4;
	}
}

uint32_t cc_rd(struct fx *fx, uint32_t off)
{
	return (uint32_t)b2_rd(fx, fx->p.layout.common + off, cc_width(off));
}

void cc_wr(struct fx *fx, uint32_t off, uint32_t val)
{
	b2_wr(fx, fx->p.layout.common + off, cc_width(off), val);
}

void cc_wr_bad(struct fx *fx, uint32_t off, uint32_t val)
{
	b2_wr_bad(fx, fx->p.layout.common + off, cc_width(off), val);
}

uint64_t gpa(unsigned q, unsigned part)
{
	return 0x40000000ULL + q * 0x10000 + part * 0x1000;
}

void to_features_ok(struct fx *fx)
{
	cc_wr(fx, VIRTIO_PCI_COMMON_STATUS, 0);
	cc_wr(fx, VIRTIO_PCI_COMMON_STATUS, S_ACK);
	cc_wr(fx, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV);
	cc_wr(fx, VIRTIO_PCI_COMMON_GFSELECT, 0);
	cc_wr(fx, VIRTIO_PCI_COMMON_GF, (uint32_t)(F_V1 | F_DEV));
	cc_wr(fx, VIRTIO_PCI_COMMON_GFSELECT, 1);
	cc_wr(fx, VIRTIO_PCI_COMMON_GF, (uint32_t)((F_V1 | F_DEV) >> 32));
	cc_wr(fx, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(cc_rd(fx, VIRTIO_PCI_COMMON_STATUS), ==, S_ACK | S_DRV | S_FOK);
}

void setup_queue(struct fx *fx, unsigned q)
{
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_SELECT, q);
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_SIZE, 64);
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)gpa(q, 0));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_DESCHI, (uint32_t)(gpa(q, 0) >> 32));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)gpa(q, 1));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_AVAILHI, (uint32_t)(gpa(q, 1) >> 32));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)gpa(q, 2));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_USEDHI, (uint32_t)(gpa(q, 2) >> 32));
	cc_wr(fx, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	g_assert_cmpuint(cc_rd(fx, VIRTIO_PCI_COMMON_Q_ENABLE), ==, 1);
}

void to_driver_ok(struct fx *fx)
{
	unsigned q;

	to_features_ok(fx);
	for (q = 0; q < FX_NQUEUES; q++)
		setup_queue(fx, q);
	cc_wr(fx, VIRTIO_PCI_COMMON_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_true(fx->f->vdev.started);
}

static void other_set_intx(struct vpci_dev *p, bool level)
{
}

static void other_send_msi(struct vpci_dev *p, uint64_t addr, uint32_t data)
{
}

static int other_bar_map(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	g_assert_true(fx_claim_ok(p->host, addr, size));
	container_of(p, struct other, p)->claims++;
	return 0;
}

static void other_bar_unmap(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	container_of(p, struct other, p)->claims--;
}

const struct vpci_ops other_ops = {
	.set_intx = other_set_intx,
	.send_msi = other_send_msi,
	.bar_map = other_bar_map,
	.bar_unmap = other_bar_unmap,
};

uint32_t bar_size_probe(struct fx *fx, unsigned reg)
{
	uint32_t old = cfg_rd(fx, reg, 4), v;

	cfg_wr(fx, reg, 4, 0xffffffff);
	v = cfg_rd(fx, reg, 4);
	cfg_wr(fx, reg, 4, old);
	return v;
}
static GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
				     gpointer user_data)
{
	if (!g_test_verbose())
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_default(level, fields, n_fields, user_data);
}

void fx_test_init(int *argc, char ***argv)
{
	g_test_init(argc, argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal, shown with -v. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(quiet_writer, NULL, NULL);
}
