/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the PCI side of virtio-pci/ (host bridge, config space, BARs and their
 * decoding, capabilities, the PCI_CFG window, the INTx swizzle). The virtio side (common
 * cfg, notify, ISR, MSI-X) is in test-vpci-virtio.c.
 */
#include <errno.h>
#include <string.h>
#include <linux/pci.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "tests/unit/test-vpci-fx.h"

#define BAR2_SIZE 0x8000ULL /* 4 pages + MSI-X table + PBA, rounded up */

static uint32_t cfg_rd_slot(struct fx *fx, unsigned bus, unsigned slot, unsigned fn, uint32_t reg,
			    unsigned size)
{
	uint64_t v = 0;

	g_assert_cmpint(
		vpci_ecam_read(&fx->h, (uint64_t)bus << 20 | slot << 15 | fn << 12 | reg, size, &v),
		==, 0);
	return (uint32_t)v;
}

/* --- host bridge --- */

static void test_ecam_absent(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(cfg_rd_slot(fx, 0, FX_SLOT, 0, PCI_VENDOR_ID, 4), ==, 0x10421af4);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, 0, 0, PCI_VENDOR_ID, 4), ==, 0xffffffff);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, 31, 0, PCI_VENDOR_ID, 2), ==, 0xffff);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, FX_SLOT, 1, PCI_VENDOR_ID, 4), ==, 0xffffffff);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, FX_SLOT, 7, PCI_HEADER_TYPE, 1), ==, 0xff);
	g_assert_cmpuint(cfg_rd_slot(fx, 1, FX_SLOT, 0, PCI_VENDOR_ID, 4), ==, 0xffffffff);
	/* writes to absent functions are dropped without touching the device */
	g_assert_cmpint(vpci_ecam_write(&fx->h, 1 << 20 | FX_SLOT << 15 | PCI_COMMAND, 2, 0x6), ==,
			0);
	g_assert_cmpint(vpci_ecam_write(&fx->h, FX_SLOT << 15 | 1 << 12 | PCI_COMMAND, 2, 0x6), ==,
			0);
	g_assert_cmpuint(cfg_rd(fx, PCI_COMMAND, 2), ==, 0);
}

static void test_ecam_bad_access(struct fx *fx, gconstpointer data)
{
	uint64_t v;

	v = 0;
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_ECAM_SIZE, 4, &v), ==, -EINVAL);
	g_assert_cmpuint(v, ==, 0xffffffff);
	v = 0;
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_SLOT << 15, 8, &v), ==, -EINVAL);
	g_assert_cmpuint(v, ==, UINT64_MAX);
	v = 0;
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_SLOT << 15 | 1, 2, &v), ==, -EINVAL);
	g_assert_cmpuint(v, ==, 0xffff);
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_SLOT << 15 | 2, 4, &v), ==, -EINVAL);
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_SLOT << 15, 3, &v), ==, -EINVAL);
	g_assert_cmpint(vpci_ecam_read(&fx->h, FX_SLOT << 15, 0, &v), ==, -EINVAL);
	/* bad writes are dropped */
	g_assert_cmpint(vpci_ecam_write(&fx->h, FX_SLOT << 15 | PCI_COMMAND, 8, 0x6), ==, -EINVAL);
	g_assert_cmpint(vpci_ecam_write(&fx->h, FX_SLOT << 15 | (PCI_COMMAND + 1), 2, 0x6), ==,
			-EINVAL);
	g_assert_cmpint(vpci_ecam_write(&fx->h, FX_SLOT << 15 | PCI_COMMAND, 2, 0x10006), ==,
			-EINVAL);
	g_assert_cmpint(vpci_ecam_write(&fx->h, FX_ECAM_SIZE + PCI_COMMAND, 2, 6), ==, -EINVAL);
	g_assert_cmpuint(cfg_rd(fx, PCI_COMMAND, 2), ==, 0);
}

static void test_ecam_extended(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(cfg_rd(fx, 0x100, 4), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, 0xffc, 4), ==, 0);
	cfg_wr(fx, 0x100, 4, 0xffffffff);
	g_assert_cmpuint(cfg_rd(fx, 0x100, 4), ==, 0);
}

static void test_cfg_x86(struct fx *fx, gconstpointer data)
{
	uint16_t bdf = PCI_DEVFN(FX_SLOT, 0);
	uint64_t v = 0;

	g_assert_cmpint(vpci_cfg_read(&fx->h, bdf, PCI_VENDOR_ID, 4, &v), ==, 0);
	g_assert_cmpuint(v, ==, 0x10421af4);
	g_assert_cmpint(vpci_cfg_write(&fx->h, bdf, PCI_INTERRUPT_LINE, 1, 0x2b), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, PCI_INTERRUPT_LINE, 1), ==, 0x2b);
	g_assert_cmpint(vpci_cfg_read(&fx->h, PCI_DEVFN(FX_SLOT, 2), 0, 4, &v), ==, 0);
	g_assert_cmpuint(v, ==, 0xffffffff);
	g_assert_cmpint(vpci_cfg_read(&fx->h, 1 << 8 | bdf, 0, 4, &v), ==, 0);
	g_assert_cmpuint(v, ==, 0xffffffff);
	g_assert_cmpint(vpci_cfg_read(&fx->h, bdf, 0x1000, 4, &v), ==, -EINVAL);
	g_assert_cmpint(vpci_cfg_read(&fx->h, bdf, 0x3, 2, &v), ==, -EINVAL);
}

static void test_host_attach(struct fx *fx, gconstpointer data)
{
	struct fake_vdev *f2 = fake_vdev_new(VIRTIO_ID_NET, 2, 64, 8);
	struct other o = { 0 };
	struct vpci_dev *p2 = &o.p;

	g_assert_cmpint(vpci_dev_init(p2, &other_ops, &f2->vdev, 0), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, FX_SLOT, p2), ==, -EBUSY);
	g_assert_cmpint(vpci_host_attach(&fx->h, VPCI_MAX_SLOTS, p2), ==, -EINVAL);
	g_assert_cmpint(vpci_host_attach(&fx->h, 0, p2), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, 1, p2), ==, -EINVAL); /* already attached */
	g_assert_cmpuint(cfg_rd_slot(fx, 0, 0, 0, PCI_DEVICE_ID, 2), ==, 0x1041);
	vpci_host_detach(&fx->h, 0);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, 0, 0, PCI_DEVICE_ID, 2), ==, 0xffff);
	vpci_host_detach(&fx->h, 0); /* empty slot: no-op */
	vpci_dev_fini(p2);
	fake_vdev_free(f2);
}

static void test_host_init_bad(void)
{
	struct vpci_host_config hc = fx_host_config();
	struct vpci_host h;

	hc.ecam.size = VPCI_ECAM_BUS_SIZE + 4096;
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, -EINVAL);
	hc.ecam.size = 257ULL * VPCI_ECAM_BUS_SIZE;
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, -EINVAL);
	hc = fx_host_config();
	hc.mem.base = 0xf0000000;
	hc.mem.size = 0x20000000; /* beyond 4 GiB */
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, -EINVAL);
	hc = fx_host_config();
	hc.pref.base = UINT64_MAX - 0xfff;
	hc.pref.size = 0x2000; /* wraps */
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, -EINVAL);
	hc = fx_host_config();
	hc.ecam.size = 0; /* x86: no ECAM */
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, 0);
	vpci_host_fini(&h);
}

static void test_swizzle(void)
{
	g_assert_cmpuint(vpci_intx_swizzle(0, 1), ==, 0);
	g_assert_cmpuint(vpci_intx_swizzle(1, 1), ==, 1);
	g_assert_cmpuint(vpci_intx_swizzle(3, 1), ==, 3);
	g_assert_cmpuint(vpci_intx_swizzle(4, 1), ==, 0);
	g_assert_cmpuint(vpci_intx_swizzle(31, 1), ==, 3);
	g_assert_cmpuint(vpci_intx_swizzle(1, 4), ==, 0);
	g_assert_cmpuint(vpci_intx_swizzle(2, 2), ==, 3);
	g_assert_cmpuint(vpci_intx_swizzle(5, 0), ==, 1); /* no pin: as INTA */
	g_assert_cmpuint(vpci_intx_swizzle(5, 9), ==, 1);
}

/* --- header --- */

static void test_header_ids(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(cfg_rd(fx, PCI_VENDOR_ID, 2), ==, 0x1af4);
	g_assert_cmpuint(cfg_rd(fx, PCI_DEVICE_ID, 2), ==, 0x1040 + VIRTIO_ID_BLOCK);
	g_assert_cmpuint(cfg_rd(fx, PCI_REVISION_ID, 1), ==, 1);
	g_assert_cmpuint(cfg_rd(fx, PCI_CLASS_REVISION, 4) >> 8, ==, 0x018000);
	g_assert_cmpuint(cfg_rd(fx, PCI_HEADER_TYPE, 1), ==, PCI_HEADER_TYPE_NORMAL);
	g_assert_cmpuint(cfg_rd(fx, PCI_SUBSYSTEM_VENDOR_ID, 2), ==, 0x1af4);
	g_assert_cmpuint(cfg_rd(fx, PCI_SUBSYSTEM_ID, 2), ==, VIRTIO_ID_BLOCK);
	g_assert_cmpuint(cfg_rd(fx, PCI_INTERRUPT_PIN, 1), ==, 1);
	g_assert_cmpuint(cfg_rd(fx, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST);
	g_assert_cmpuint(cfg_rd(fx, PCI_COMMAND, 2), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, PCI_BIST, 1), ==, 0);
}

static uint32_t class_of(uint32_t device_id)
{
	struct fake_vdev *f = fake_vdev_new(device_id, 1, 64, 0);
	struct vpci_dev p;
	uint32_t c;

	g_assert_cmpint(vpci_dev_init(&p, &fx_ops, &f->vdev, 0), ==, 0);
	c = (uint32_t)(p.cfg[PCI_CLASS_PROG] | p.cfg[PCI_CLASS_DEVICE] << 8 |
		       p.cfg[PCI_CLASS_DEVICE + 1] << 16);
	vpci_dev_fini(&p);
	fake_vdev_free(f);
	return c;
}

static void test_header_class(void)
{
	g_assert_cmphex(class_of(VIRTIO_ID_NET), ==, 0x020000);
	g_assert_cmphex(class_of(VIRTIO_ID_BLOCK), ==, 0x018000);
	g_assert_cmphex(class_of(VIRTIO_ID_GPU), ==, 0x038000);
	g_assert_cmphex(class_of(VIRTIO_ID_INPUT), ==, 0x098000);
	g_assert_cmphex(class_of(VIRTIO_ID_RNG), ==, 0xff0000);
}

static void test_header_masks(struct fx *fx, gconstpointer data)
{
	/* read-only: ids, class, header type, pin, capability pointer */
	cfg_wr(fx, PCI_VENDOR_ID, 4, 0);
	cfg_wr(fx, PCI_CLASS_REVISION, 4, 0);
	cfg_wr(fx, PCI_HEADER_TYPE, 1, 0x80);
	cfg_wr(fx, PCI_INTERRUPT_PIN, 1, 4);
	cfg_wr(fx, PCI_CAPABILITY_LIST, 1, 0);
	cfg_wr(fx, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	g_assert_cmpuint(cfg_rd(fx, PCI_VENDOR_ID, 4), ==, 0x10421af4);
	g_assert_cmpuint(cfg_rd(fx, PCI_CLASS_REVISION, 4), ==, 0x01800001);
	g_assert_cmpuint(cfg_rd(fx, PCI_HEADER_TYPE, 1), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, PCI_INTERRUPT_PIN, 1), ==, 1);
	g_assert_cmpuint(cfg_rd(fx, PCI_CAPABILITY_LIST, 1), ==, PCI_STD_HEADER_SIZEOF);
	g_assert_cmpuint(cfg_rd(fx, PCI_SUBSYSTEM_VENDOR_ID, 4), ==, 0x00021af4);
	/* command: memory, bus master, INTx disable only */
	cfg_wr(fx, PCI_COMMAND, 2, 0xffff);
	g_assert_cmphex(cfg_rd(fx, PCI_COMMAND, 2), ==,
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	cfg_wr(fx, PCI_COMMAND, 2, 0);
	g_assert_cmpuint(cfg_rd(fx, PCI_COMMAND, 2), ==, 0);
	/* read/write bytes */
	cfg_wr(fx, PCI_INTERRUPT_LINE, 1, 0x2a);
	cfg_wr(fx, PCI_CACHE_LINE_SIZE, 1, 0x10);
	g_assert_cmpuint(cfg_rd(fx, PCI_INTERRUPT_LINE, 1), ==, 0x2a);
	g_assert_cmpuint(cfg_rd(fx, PCI_CACHE_LINE_SIZE, 1), ==, 0x10);
	/* reserved and unused: 0 */
	cfg_wr(fx, PCI_CARDBUS_CIS, 4, 0xffffffff);
	g_assert_cmpuint(cfg_rd(fx, PCI_CARDBUS_CIS, 4), ==, 0);
	cfg_wr(fx, 0xfc, 4, 0xffffffff);
	g_assert_cmpuint(cfg_rd(fx, 0xfc, 4), ==, 0);
}

static void test_header_status_w1c(struct fx *fx, gconstpointer data)
{
	uint16_t errs = PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_DETECTED_PARITY;

	/* the device never reports errors itself: plant two as if it had */
	fx->p.cfg[PCI_STATUS + 1] |= errs >> 8;
	g_assert_cmphex(cfg_rd(fx, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST | errs);
	cfg_wr(fx, PCI_STATUS, 2, 0); /* writing 0 clears nothing */
	g_assert_cmphex(cfg_rd(fx, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST | errs);
	cfg_wr(fx, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
	g_assert_cmphex(cfg_rd(fx, PCI_STATUS, 2), ==,
			PCI_STATUS_CAP_LIST | PCI_STATUS_DETECTED_PARITY);
	cfg_wr(fx, PCI_STATUS, 2, 0xffff); /* CAP_LIST and INTERRUPT are not W1C */
	g_assert_cmphex(cfg_rd(fx, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST);
	/* a command write (same dword) leaves the status alone */
	fx->p.cfg[PCI_STATUS + 1] |= errs >> 8;
	cfg_wr(fx, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	g_assert_cmphex(cfg_rd(fx, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST | errs);
}

/* --- BARs --- */

static void test_bar_sizing(struct fx *fx, gconstpointer data)
{
	uint32_t flags = PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH;
	unsigned i;

	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_2, 4), ==, flags);
	g_assert_cmphex(bar_size_probe(fx, PCI_BASE_ADDRESS_2), ==,
			(uint32_t) ~(BAR2_SIZE - 1) | flags);
	g_assert_cmphex(bar_size_probe(fx, PCI_BASE_ADDRESS_3), ==, 0xffffffff);
	g_assert_cmpuint(fx->p.bars[VPCI_VIRTIO_BAR].size, ==, BAR2_SIZE);
	/* unused BARs and the ROM read 0, all-ones included (no shared memory: no BAR 4) */
	for (i = 0; i < VPCI_NUM_BARS; i++)
		if (i != 2 && i != 3)
			g_assert_cmphex(bar_size_probe(fx, PCI_BASE_ADDRESS_0 + 4 * i), ==, 0);
	g_assert_cmphex(bar_size_probe(fx, PCI_ROM_ADDRESS), ==, 0);
	/* the address bits below the size never stick */
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_PREF_BASE + 0x1234567);
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_2, 4), ==, 0x01230000 | flags);
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_3, 4), ==, 1);
	/* byte writes go through the same masks */
	cfg_wr(fx, PCI_BASE_ADDRESS_2, 1, 0xff);
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_2, 4), ==, 0x01230000 | flags);
	g_assert_cmpuint(fx->nev, ==, 0); /* decoding is off: nothing claimed */
}

static void test_bar_decode(struct fx *fx, gconstpointer data)
{
	struct vpci_dev *p;
	unsigned bar;
	uint64_t off, v;

	bar64_program(fx, VPCI_VIRTIO_BAR, FX_BAR2_ADDR);
	g_assert_cmpuint(fx->nev, ==, 0);
	g_assert_cmpint(vpci_host_lookup(&fx->h, FX_BAR2_ADDR, &p, &bar, &off), ==, -ENOENT);
	g_assert_cmpint(vpci_mmio_read(&fx->h, FX_BAR2_ADDR, 4, &v), ==, -ENOENT);
	g_assert_cmphex(v, ==, 0xffffffff);
	cmd_set(fx, PCI_COMMAND_MEMORY, true);
	g_assert_cmpuint(fx->nev, ==, 1);
	g_assert_true(fx->ev[0].map);
	g_assert_cmpuint(fx->ev[0].bar, ==, VPCI_VIRTIO_BAR);
	g_assert_cmphex(fx->ev[0].addr, ==, FX_BAR2_ADDR);
	g_assert_cmphex(fx->ev[0].size, ==, BAR2_SIZE);
	g_assert_cmpint(vpci_host_lookup(&fx->h, FX_BAR2_ADDR + 0x1000, &p, &bar, &off), ==, 0);
	g_assert_true(p == &fx->p);
	g_assert_cmpuint(bar, ==, VPCI_VIRTIO_BAR);
	g_assert_cmphex(off, ==, 0x1000);
	g_assert_cmpint(vpci_host_lookup(&fx->h, FX_BAR2_ADDR + BAR2_SIZE, &p, &bar, &off), ==,
			-ENOENT);
	/* device_status through the MMIO entry point */
	g_assert_cmpint(vpci_mmio_read(&fx->h, FX_BAR2_ADDR + VIRTIO_PCI_COMMON_NUMQ, 2, &v), ==,
			0);
	g_assert_cmpuint(v, ==, FX_NQUEUES);
	/* other command bits change nothing */
	cmd_set(fx, PCI_COMMAND_MASTER, true);
	g_assert_cmpuint(fx->nev, ==, 1);
	cmd_set(fx, PCI_COMMAND_MEMORY, false);
	g_assert_cmpuint(fx->nev, ==, 2);
	g_assert_false(fx->ev[1].map);
	g_assert_cmphex(fx->ev[1].addr, ==, FX_BAR2_ADDR);
	g_assert_cmpint(vpci_mmio_write(&fx->h, FX_BAR2_ADDR, 4, 1), ==, -ENOENT);
}

/* Linux with decoding on: low dword, then high dword. No bogus address in between. */
static void test_bar_move(struct fx *fx, gconstpointer data)
{
	uint64_t to = FX_PREF_BASE + 0x80000000ULL;

	fx_enable_bar2(fx);
	g_assert_cmpuint(fx->nev, ==, 1);
	cfg_wr(fx, PCI_BASE_ADDRESS_2, 4, (uint32_t)to);
	/* the pair is inconsistent: the old range is released, nothing new claimed */
	g_assert_cmpuint(fx->nev, ==, 2);
	g_assert_false(fx->ev[1].map);
	g_assert_cmphex(fx->ev[1].addr, ==, FX_BAR2_ADDR);
	g_assert_false(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
	cfg_wr(fx, PCI_BASE_ADDRESS_3, 4, (uint32_t)(to >> 32));
	g_assert_cmpuint(fx->nev, ==, 3);
	g_assert_true(fx->ev[2].map);
	g_assert_cmphex(fx->ev[2].addr, ==, to);
	/* rewriting the same value claims nothing new */
	cfg_wr(fx, PCI_BASE_ADDRESS_3, 4, (uint32_t)(to >> 32));
	g_assert_cmpuint(fx->nev, ==, 3);
}

/* Across the 4 GiB line: old high + new low would be a bogus address. */
static void test_bar_partial_64(struct fx *fx, gconstpointer data)
{
	uint64_t to = FX_MEM_BASE + 0x100000;

	fx_enable_bar2(fx);
	cfg_wr(fx, PCI_BASE_ADDRESS_2, 4, (uint32_t)to);
	g_assert_cmpuint(fx->nev, ==, 2);	/* unmapped; 0x1_2310_0000 never claimed */
	cmd_set(fx, PCI_COMMAND_MASTER, false); /* unrelated command writes keep waiting */
	g_assert_cmpuint(fx->nev, ==, 2);
	cfg_wr(fx, PCI_BASE_ADDRESS_3, 4, 0);
	g_assert_cmpuint(fx->nev, ==, 3);
	g_assert_cmphex(fx->ev[2].addr, ==, to); /* prefetchable BAR in the 32-bit window */
}

/* Decoding off, only the low half changed, decoding on: the guest is done. */
static void test_bar_partial_64_low_only(struct fx *fx, gconstpointer data)
{
	fx_enable_bar2(fx);
	cmd_set(fx, PCI_COMMAND_MEMORY, false);
	cfg_wr(fx, PCI_BASE_ADDRESS_2, 4, (uint32_t)(FX_BAR2_ADDR + 0x10000));
	cmd_set(fx, PCI_COMMAND_MEMORY, true);
	g_assert_cmpuint(fx->nev, ==, 3);
	g_assert_cmphex(fx->ev[2].addr, ==, FX_BAR2_ADDR + 0x10000);
}

/* Linux's sizing with decoding left on (mmio_always_on): never a claim at all-ones. */
static void test_bar_sizing_while_decoding(struct fx *fx, gconstpointer data)
{
	fx_enable_bar2(fx);
	bar_size_probe(fx, PCI_BASE_ADDRESS_2);
	bar_size_probe(fx, PCI_BASE_ADDRESS_3);
	g_assert_cmpuint(fx->nev, ==, 3);
	g_assert_false(fx->ev[1].map);
	g_assert_true(fx->ev[2].map);
	g_assert_cmphex(fx->ev[2].addr, ==, FX_BAR2_ADDR);
}

static void test_bar_outside_windows(struct fx *fx, gconstpointer data)
{
	static const uint64_t bad[] = {
		0,
		FX_ECAM_BASE,
		FX_MEM_BASE - 0x8000,
		FX_MEM_BASE + FX_MEM_SIZE,
		FX_PREF_BASE - 0x8000,
		FX_PREF_BASE + FX_PREF_SIZE,
		0xffffffffffff8000ULL,
	};
	unsigned i;

	cmd_set(fx, PCI_COMMAND_MEMORY, true);
	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		bar64_program(fx, VPCI_VIRTIO_BAR, bad[i] & ~(BAR2_SIZE - 1));
	g_assert_cmpuint(fx->nev, ==, 0);
	g_assert_false(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
	/* a good address afterwards decodes */
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_PREF_BASE);
	g_assert_cmpuint(fx->nev, ==, 1);
}

/* Windows of a host config that is odd but accepted: still nothing outside is claimed. */
static void test_bar_odd_windows(struct fx *fx, gconstpointer data)
{
	struct vpci_host_config hc = fx_host_config();

	vpci_host_detach(&fx->h, FX_SLOT);
	/* the 32-bit window contains the ECAM window; the prefetchable one is half a BAR */
	hc.mem.base = FX_ECAM_BASE - 0x100000;
	hc.mem.size = 0x10000000;
	hc.pref.size = BAR2_SIZE / 2;
	g_assert_cmpint(vpci_host_init(&fx->h, &hc), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, FX_SLOT, &fx->p), ==, 0);
	cmd_set(fx, PCI_COMMAND_MEMORY, true);
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_ECAM_BASE + 0x8000);
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_ECAM_BASE);
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_ECAM_BASE + FX_ECAM_SIZE - BAR2_SIZE);
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_PREF_BASE); /* straddles the window's end */
	g_assert_cmpuint(fx->nev, ==, 0);
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_ECAM_BASE - 0x10000);
	g_assert_cmpuint(fx->nev, ==, 1);
}

static void test_bar_map_fails(struct fx *fx, gconstpointer data)
{
	fx->map_ret = -EBUSY;
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_BAR2_ADDR);
	cmd_set(fx, PCI_COMMAND_MEMORY, true);
	g_assert_false(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
	g_assert_cmpuint(fx->nev, ==, 0);
	fx->map_ret = 0;
	cmd_set(fx, PCI_COMMAND_MASTER, true); /* tried again at the next command write */
	g_assert_true(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
}

static void test_bar_overlap(struct fx *fx, gconstpointer data)
{
	struct fake_vdev *f2 = fake_vdev_new(VIRTIO_ID_NET, 2, 64, 8);
	struct other o = { 0 };
	uint64_t base = 5ULL << 15;

	g_assert_cmpint(vpci_dev_init(&o.p, &other_ops, &f2->vdev, 0), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, 5, &o.p), ==, 0);
	fx_enable_bar2(fx);
	/* device 5 programs the same range: refused while slot 3 decodes there */
	vpci_ecam_write(&fx->h, base | PCI_BASE_ADDRESS_2, 4, (uint32_t)FX_BAR2_ADDR);
	vpci_ecam_write(&fx->h, base | PCI_BASE_ADDRESS_3, 4, (uint32_t)(FX_BAR2_ADDR >> 32));
	vpci_ecam_write(&fx->h, base | PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	g_assert_false(o.p.bars[VPCI_VIRTIO_BAR].mapped);
	g_assert_cmpint(o.claims, ==, 0);
	/* slot 3 moves away: device 5 decodes */
	bar64_program(fx, VPCI_VIRTIO_BAR, FX_BAR2_ADDR + 0x100000);
	g_assert_true(o.p.bars[VPCI_VIRTIO_BAR].mapped);
	g_assert_cmpint(o.claims, ==, 1);
	g_assert_true(fx->p.bars[VPCI_VIRTIO_BAR].mapped);
	vpci_dev_fini(&o.p); /* detaches: unmaps */
	g_assert_false(o.p.bars[VPCI_VIRTIO_BAR].mapped);
	g_assert_cmpint(o.claims, ==, 0);
	fake_vdev_free(f2);
}

static void test_bar_unmap_on_detach_and_reset(struct fx *fx, gconstpointer data)
{
	fx_enable_bar2(fx);
	vpci_dev_reset(&fx->p);
	g_assert_cmpuint(fx->nev, ==, 2);
	g_assert_false(fx->ev[1].map);
	g_assert_cmpuint(cfg_rd(fx, PCI_COMMAND, 2), ==, 0);
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_2, 4), ==,
			PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	fx_enable_bar2(fx);
	vpci_host_detach(&fx->h, FX_SLOT);
	g_assert_cmpuint(fx->nev, ==, 4);
	g_assert_false(fx->ev[3].map);
	g_assert_cmpuint(cfg_rd_slot(fx, 0, FX_SLOT, 0, 0, 4), ==, 0xffffffff);
	/* re-attached with decoding still on in its config space: decodes again */
	g_assert_cmpint(vpci_host_attach(&fx->h, FX_SLOT, &fx->p), ==, 0);
	g_assert_cmpuint(fx->nev, ==, 5);
}

/* --- capabilities --- */

static void check_vcap(struct fx *fx, uint8_t type, unsigned len, uint32_t off, uint32_t length)
{
	unsigned c = find_vcap(fx, type);

	g_assert_cmpuint(c, !=, 0);
	g_assert_cmpuint(c % 4, ==, 0);
	g_assert_cmpuint(c + len, <=, VPCI_CFG_SIZE);
	g_assert_cmpuint(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, cap_len), 1), ==, len);
	g_assert_cmpuint(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, bar), 1), ==,
			 VPCI_VIRTIO_BAR);
	g_assert_cmphex(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, offset), 4), ==, off);
	g_assert_cmphex(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, length), 4), ==, length);
	g_assert_cmpuint(off % FX_PAGE, ==, 0);
	g_assert_cmpuint(off + length, <=, BAR2_SIZE);
}

static unsigned find_cap_id(struct fx *fx, uint8_t id)
{
	unsigned pos = cfg_rd(fx, PCI_CAPABILITY_LIST, 1), ttl = 48;

	while (pos >= PCI_STD_HEADER_SIZEOF && ttl--) {
		if (cfg_rd(fx, pos, 1) == id)
			return pos;
		pos = cfg_rd(fx, pos + PCI_CAP_LIST_NEXT, 1);
	}
	g_assert_cmpuint(ttl, !=, (unsigned)-1); /* the chain ends */
	return 0;
}

static void test_caps_chain(struct fx *fx, gconstpointer data)
{
	const struct vpci_layout *l = &fx->p.layout;
	unsigned c;
	uint32_t table, pba;

	check_vcap(fx, VIRTIO_PCI_CAP_COMMON_CFG, sizeof(struct virtio_pci_cap), l->common,
		   sizeof(struct virtio_pci_common_cfg));
	check_vcap(fx, VIRTIO_PCI_CAP_ISR_CFG, sizeof(struct virtio_pci_cap), l->isr, 1);
	check_vcap(fx, VIRTIO_PCI_CAP_DEVICE_CFG, sizeof(struct virtio_pci_cap), l->device,
		   FX_CFG_SIZE);
	check_vcap(fx, VIRTIO_PCI_CAP_NOTIFY_CFG, sizeof(struct virtio_pci_notify_cap), l->notify,
		   FX_NQUEUES * 4);
	c = find_vcap(fx, VIRTIO_PCI_CAP_NOTIFY_CFG);
	g_assert_cmpuint(cfg_rd(fx, c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), ==, 4);
	g_assert_cmpuint(find_vcap(fx, VIRTIO_PCI_CAP_PCI_CFG), !=, 0);
	g_assert_cmpuint(find_vcap(fx, VIRTIO_PCI_CAP_SHARED_MEMORY_CFG), ==, 0);
	/* the capabilities are read-only */
	cfg_wr(fx, c + PCI_CAP_LIST_NEXT, 1, 0);
	cfg_wr(fx, c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, 0);
	g_assert_cmpuint(cfg_rd(fx, c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), ==, 4);
	g_assert_cmpuint(find_vcap(fx, VIRTIO_PCI_CAP_PCI_CFG), !=, 0);
	/* MSI-X: table and PBA in BAR 2 at their own pages */
	c = find_cap_id(fx, PCI_CAP_ID_MSIX);
	g_assert_cmpuint(c, !=, 0);
	g_assert_cmpuint(cfg_rd(fx, c + PCI_MSIX_FLAGS, 2), ==, FX_MSIX - 1);
	table = cfg_rd(fx, c + PCI_MSIX_TABLE, 4);
	pba = cfg_rd(fx, c + PCI_MSIX_PBA, 4);
	g_assert_cmpuint(table & PCI_MSIX_TABLE_BIR, ==, VPCI_VIRTIO_BAR);
	g_assert_cmpuint(pba & PCI_MSIX_PBA_BIR, ==, VPCI_VIRTIO_BAR);
	g_assert_cmphex(table & PCI_MSIX_TABLE_OFFSET, ==, l->msix_table);
	g_assert_cmphex(pba & PCI_MSIX_PBA_OFFSET, ==, l->msix_pba);
	g_assert_cmpuint(l->msix_table % FX_PAGE, ==, 0);
	g_assert_cmpuint(l->msix_pba % FX_PAGE, ==, 0);
	g_assert_cmpuint(l->msix_pba + FX_PAGE, <=, BAR2_SIZE);
	/* only enable and function mask are writable */
	cfg_wr(fx, c + PCI_MSIX_FLAGS, 2, 0xffff);
	g_assert_cmphex(cfg_rd(fx, c + PCI_MSIX_FLAGS, 2), ==,
			PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (FX_MSIX - 1));
	cfg_wr(fx, c + PCI_MSIX_TABLE, 4, 0);
	g_assert_cmpuint(cfg_rd(fx, c + PCI_MSIX_TABLE, 4), ==, table);
}

static void test_caps_no_msix(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(find_cap_id(fx, PCI_CAP_ID_MSIX), ==, 0);
	g_assert_cmpuint(find_vcap(fx, VIRTIO_PCI_CAP_COMMON_CFG), !=, 0);
	g_assert_cmpuint(fx->p.bars[VPCI_VIRTIO_BAR].size, ==, 0x4000);
}

static void test_caps_no_device_cfg(void)
{
	struct fake_vdev *f = fake_vdev_new(VIRTIO_ID_RNG, 1, 64, 0);
	struct vpci_dev p;

	unsigned c, n = 0;

	g_assert_cmpint(vpci_dev_init(&p, &fx_ops, &f->vdev, 2), ==, 0);
	for (c = p.cfg[PCI_CAPABILITY_LIST]; c; c = p.cfg[c + PCI_CAP_LIST_NEXT], n++)
		g_assert_false(p.cfg[c] == PCI_CAP_ID_VNDR &&
			       p.cfg[c + offsetof(struct virtio_pci_cap, cfg_type)] ==
				       VIRTIO_PCI_CAP_DEVICE_CFG);
	g_assert_cmpuint(n, ==, 5); /* common, ISR, notify, PCI_CFG, MSI-X */
	vpci_dev_fini(&p);
	fake_vdev_free(f);
}

/* §4.1.4.9: reads and writes through pci_cfg_data reach the BAR the cap names. */
static void test_caps_pci_cfg(struct fx *fx, gconstpointer data)
{
	unsigned c = find_vcap(fx, VIRTIO_PCI_CAP_PCI_CFG);
	unsigned bar = c + offsetof(struct virtio_pci_cap, bar);
	unsigned off = c + offsetof(struct virtio_pci_cap, offset);
	unsigned len = c + offsetof(struct virtio_pci_cap, length);
	unsigned dat = c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);

	g_assert_cmpuint(c, !=, 0);
	/* decoding is off and BAR 2 is unprogrammed: the window still works */
	cfg_wr(fx, bar, 1, VPCI_VIRTIO_BAR);
	cfg_wr(fx, off, 4, VIRTIO_PCI_COMMON_NUMQ);
	cfg_wr(fx, len, 4, 2);
	g_assert_cmpuint(cfg_rd(fx, dat, 4), ==, FX_NQUEUES);
	cfg_wr(fx, off, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_wr(fx, len, 4, 1);
	cfg_wr(fx, dat, 4, S_ACK);
	g_assert_cmpuint(vdev_get_status(&fx->f->vdev), ==, S_ACK);
	g_assert_cmpuint(cfg_rd(fx, dat, 1), ==, S_ACK);
	/* device config */
	cfg_wr(fx, off, 4, fx->p.layout.device + 4);
	cfg_wr(fx, len, 4, 4);
	g_assert_cmphex(cfg_rd(fx, dat, 4), ==, 0xa7a6a5a4);
	/* bad length, misaligned offset, no such BAR: nothing happens, data reads 0 */
	cfg_wr(fx, len, 4, 3);
	g_assert_cmpuint(cfg_rd(fx, dat, 4), ==, 0);
	cfg_wr(fx, len, 4, 4);
	cfg_wr(fx, off, 4, fx->p.layout.device + 2);
	g_assert_cmpuint(cfg_rd(fx, dat, 4), ==, 0);
	cfg_wr(fx, bar, 1, 7);
	cfg_wr(fx, off, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_wr(fx, len, 4, 1);
	cfg_wr(fx, dat, 4, 0);
	g_assert_cmpuint(vdev_get_status(&fx->f->vdev), ==, S_ACK);
	cfg_wr(fx, bar, 1, 0); /* an unimplemented BAR */
	g_assert_cmpuint(cfg_rd(fx, dat, 4), ==, 0);
	g_assert_cmpuint(fx->nev, ==, 0);
}

static void test_msix_too_many(void)
{
	struct fake_vdev *f = fake_vdev_new(VIRTIO_ID_NET, 2, 64, 8);
	struct vpci_dev p;

	g_assert_cmpint(vpci_dev_init(&p, &fx_ops, &f->vdev, VPCI_MAX_MSIX + 1), ==, -EINVAL);
	g_assert_cmpint(vpci_dev_init(&p, &fx_ops, &f->vdev, VPCI_MAX_MSIX), ==, 0);
	vpci_dev_fini(&p);
	fake_vdev_free(f);
}

/* The fixture's device again, now with the port notify register (x86, pio-notify=on). */
static void pio_setup(struct fx *fx)
{
	g_assert_cmpint(vpci_dev_set_pio_notify(&fx->p, true), ==, -EBUSY); /* attached */
	vpci_host_detach(&fx->h, FX_SLOT);
	g_assert_cmpint(vpci_dev_set_pio_notify(&fx->p, true), ==, 0);
	g_assert_cmpint(vpci_host_attach(&fx->h, FX_SLOT, &fx->p), ==, 0);
}

/* BAR 0 is a 4-byte I/O BAR; its NOTIFY capability comes first, multiplier 0, length 2. */
static void test_pio_layout(struct fx *fx, gconstpointer data)
{
	unsigned c, pos;

	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_0, 4), ==, 0); /* not by default */
	pio_setup(fx);
	g_assert_true(vpci_bar_is_io(&fx->p, VPCI_PIO_BAR));
	g_assert_false(vpci_bar_is_io(&fx->p, VPCI_VIRTIO_BAR));
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_0, 4), ==, PCI_BASE_ADDRESS_SPACE_IO);
	g_assert_cmphex(bar_size_probe(fx, PCI_BASE_ADDRESS_0), ==, 0xfffd); /* 4 ports, 16 bit */
	c = find_vcap(fx, VIRTIO_PCI_CAP_NOTIFY_CFG);
	g_assert_cmpuint(c, ==, cfg_rd(fx, PCI_CAPABILITY_LIST, 1)); /* the head of the chain */
	g_assert_cmpuint(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, bar), 1), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, offset), 4), ==, 0);
	g_assert_cmpuint(cfg_rd(fx, c + offsetof(struct virtio_pci_cap, length), 4), ==, 2);
	g_assert_cmpuint(
		cfg_rd(fx, c + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier), 4),
		==, 0);
	/* the memory NOTIFY is still there, further down the chain, for other drivers */
	for (pos = cfg_rd(fx, c + PCI_CAP_LIST_NEXT, 1); pos; pos = cfg_rd(fx, pos + 1, 1))
		if (cfg_rd(fx, pos, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(fx, pos + offsetof(struct virtio_pci_cap, cfg_type), 1) ==
			    VIRTIO_PCI_CAP_NOTIFY_CFG)
			break;
	g_assert_cmpuint(pos, !=, 0);
	g_assert_cmpuint(cfg_rd(fx, pos + offsetof(struct virtio_pci_cap, bar), 1), ==,
			 VPCI_VIRTIO_BAR);
	/* the command register's I/O bit is writable now */
	cmd_set(fx, PCI_COMMAND_IO, true);
	g_assert_cmphex(cfg_rd(fx, PCI_COMMAND, 2) & PCI_COMMAND_IO, ==, PCI_COMMAND_IO);
	cmd_set(fx, PCI_COMMAND_IO, false);
}

/* Decoding follows PCI_COMMAND_IO and the port window; a port write kicks its queue. */
static void test_pio_decode_kick(struct fx *fx, gconstpointer data)
{
	uint64_t v;

	pio_setup(fx);
	to_driver_ok(fx);
	cfg_wr(fx, PCI_BASE_ADDRESS_0, 4, 0xc040);
	g_assert_cmpuint(fx->nev, ==, 0); /* I/O decoding off */
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc040, 2, 1), ==, -ENOENT);
	cmd_set(fx, PCI_COMMAND_IO, true);
	g_assert_cmpuint(fx->nev, ==, 1);
	g_assert_true(fx->ev[0].map);
	g_assert_cmpuint(fx->ev[0].bar, ==, VPCI_PIO_BAR);
	g_assert_cmphex(fx->ev[0].addr, ==, 0xc040);
	g_assert_cmphex(fx->ev[0].size, ==, VPCI_PIO_BAR_SIZE);
	/* memory decoding is off: only the port BAR decodes, and only in port space */
	g_assert_cmpint(vpci_mmio_read(&fx->h, 0xc040, 2, &v), ==, -ENOENT);
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc040, 2, 1), ==, 0);
	g_assert_cmpuint(fx->f->kicks[1], ==, 1);
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc040, 4, 0), ==, 0);
	g_assert_cmpuint(fx->f->kicks[0], ==, 1);
	/* bad: other offsets and sizes, reads of the write-only register, other ports */
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc042, 2, 1), ==, -EINVAL);
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc040, 1, 1), ==, -EINVAL);
	g_assert_cmpint(vpci_pio_read(&fx->h, 0xc040, 2, &v), ==, -EINVAL);
	g_assert_cmphex(v, ==, 0);
	g_assert_cmpint(vpci_pio_read(&fx->h, 0xc044, 2, &v), ==, -ENOENT);
	g_assert_cmphex(v, ==, 0xffff);
	g_assert_cmpuint(fx->f->nkicks, ==, 2);
	/* a queue that does not exist: logged by the device, nothing kicked */
	g_assert_cmpint(vpci_pio_write(&fx->h, 0xc040, 2, FX_NQUEUES), ==, 0);
	g_assert_cmpuint(fx->f->nkicks, ==, 2);
	/* a move below the port window stops decoding; back inside, it decodes again */
	cfg_wr(fx, PCI_BASE_ADDRESS_0, 4, 0x0800);
	g_assert_cmpuint(fx->nev, ==, 2);
	g_assert_false(fx->ev[1].map);
	cfg_wr(fx, PCI_BASE_ADDRESS_0, 4, 0xe000);
	g_assert_cmpuint(fx->nev, ==, 3);
	g_assert_cmphex(fx->ev[2].addr, ==, 0xe000);
	/* a PCI reset keeps the I/O BAR (unprogrammed, not decoding) */
	vpci_dev_reset(&fx->p);
	g_assert_cmpuint(fx->nev, ==, 4);
	g_assert_true(vpci_bar_is_io(&fx->p, VPCI_PIO_BAR));
	g_assert_cmphex(cfg_rd(fx, PCI_BASE_ADDRESS_0, 4), ==, PCI_BASE_ADDRESS_SPACE_IO);
}

/* Port and memory BARs at the same number never overlap; a host without a port window. */
static void test_pio_spaces(struct fx *fx, gconstpointer data)
{
	struct vpci_host_config hc = fx_host_config();
	struct vpci_host h;

	pio_setup(fx);
	cfg_wr(fx, PCI_BASE_ADDRESS_0, 4, 0xc040);
	cmd_set(fx, PCI_COMMAND_IO, true);
	fx_enable_bar2(fx);
	g_assert_cmpuint(fx->nev, ==, 2); /* both decode */
	hc.io.base = 0xf000;
	hc.io.size = 0x2000; /* beyond port 0xffff */
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, -EINVAL);
	/* no port window: the I/O BAR never decodes */
	vpci_host_detach(&fx->h, FX_SLOT);
	hc = fx_host_config();
	hc.io.size = 0;
	g_assert_cmpint(vpci_host_init(&h, &hc), ==, 0);
	g_assert_cmpint(vpci_host_attach(&h, FX_SLOT, &fx->p), ==, 0);
	cfg_wr(fx, PCI_BASE_ADDRESS_0, 4, 0xc040);
	g_assert_false(fx->p.bars[VPCI_PIO_BAR].mapped);
	vpci_host_fini(&h);
}

#define ADD(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

int main(int argc, char **argv)
{
	fx_test_init(&argc, &argv);
	ADD("/vpci/ecam/absent", test_ecam_absent);
	ADD("/vpci/ecam/bad-access", test_ecam_bad_access);
	ADD("/vpci/ecam/extended", test_ecam_extended);
	ADD("/vpci/cfg/x86-bdf", test_cfg_x86);
	ADD("/vpci/host/attach", test_host_attach);
	g_test_add_func("/vpci/host/init-bad", test_host_init_bad);
	g_test_add_func("/vpci/swizzle", test_swizzle);
	ADD("/vpci/header/ids", test_header_ids);
	g_test_add_func("/vpci/header/class", test_header_class);
	ADD("/vpci/header/masks", test_header_masks);
	ADD("/vpci/header/status-w1c", test_header_status_w1c);
	ADD("/vpci/bar/sizing", test_bar_sizing);
	ADD("/vpci/bar/decode", test_bar_decode);
	ADD("/vpci/bar/move", test_bar_move);
	ADD("/vpci/bar/partial-64", test_bar_partial_64);
	ADD("/vpci/bar/partial-64-low-only", test_bar_partial_64_low_only);
	ADD("/vpci/bar/sizing-while-decoding", test_bar_sizing_while_decoding);
	ADD("/vpci/bar/outside-windows", test_bar_outside_windows);
	ADD("/vpci/bar/odd-windows", test_bar_odd_windows);
	ADD("/vpci/bar/map-fails", test_bar_map_fails);
	ADD("/vpci/bar/overlap", test_bar_overlap);
	ADD("/vpci/bar/unmap-on-detach-and-reset", test_bar_unmap_on_detach_and_reset);
	ADD("/vpci/caps/chain", test_caps_chain);
	g_test_add("/vpci/caps/no-msix", struct fx, NULL, fx_setup_nomsix, test_caps_no_msix,
		   fx_teardown);
	g_test_add_func("/vpci/caps/no-device-cfg", test_caps_no_device_cfg);
	ADD("/vpci/caps/pci-cfg", test_caps_pci_cfg);
	g_test_add_func("/vpci/msix/too-many", test_msix_too_many);
	ADD("/vpci/pio/layout", test_pio_layout);
	ADD("/vpci/pio/decode-kick", test_pio_decode_kick);
	ADD("/vpci/pio/spaces", test_pio_spaces);
	return g_test_run();
}
