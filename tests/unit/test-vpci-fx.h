/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixture of the virtio-pci unit tests (test-vpci.c: PCI side, test-vpci-virtio.c:
 * virtio side): one host with FACTS 25's Arm windows, a fake device in slot FX_SLOT, and
 * recorders for INTx, MSIs and BAR map/unmap calls.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/virtio_config.h>

#include "tests/support/fake-vdev.h"
#include "virtio-pci/vpci.h"

#define FX_ECAM_BASE 0x10000000ULL
#define FX_ECAM_SIZE (2 * VPCI_ECAM_BUS_SIZE) /* buses 0-1 */
#define FX_MEM_BASE  0x23000000ULL
#define FX_MEM_SIZE  0x10000000ULL
#define FX_PREF_BASE 0x100000000ULL
#define FX_PREF_SIZE 0x100000000ULL
#define FX_SLOT	     3
#define FX_NQUEUES   2
#define FX_QUEUE_MAX 256
#define FX_CFG_SIZE  16
#define FX_MSIX	     3
#define FX_BAR2_ADDR (FX_PREF_BASE + 0x200000)
#define FX_PAGE	     0x1000
#define FX_IO_BASE   0x1000
#define FX_IO_SIZE   0xf000

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define F_V1  (1ULL << VIRTIO_F_VERSION_1)
#define F_DEV (1ULL << 3)

struct fx_map_event {
	bool map;
	unsigned bar;
	uint64_t addr;
	uint64_t size;
};

struct fx_msi {
	uint64_t addr;
	uint32_t data;
};

struct fx {
	struct vpci_host h;
	struct fake_vdev *f;
	struct vpci_dev p;

	bool intx;
	unsigned intx_changes;
	bool intx_repeated; /* set_intx called with the level it already had */
	struct fx_msi msi[64];
	unsigned nmsi;
	struct fx_map_event ev[64];
	unsigned nev;
	int map_ret; /* returned by bar_map */
};

/* g_test_init, with the expected warnings of negative tests shown only with -v */
void fx_test_init(int *argc, char ***argv);

extern const struct vpci_ops fx_ops;
/* The transport's promise to bar_map: inside a window of h, outside its ECAM window. */
bool fx_claim_ok(const struct vpci_host *h, uint64_t addr, uint64_t size);

/* A second device on the host, with its own recorder (fx_ops would take it for fx->p). */
struct other {
	struct vpci_dev p;
	int claims; /* bar_map calls minus bar_unmap calls */
};

extern const struct vpci_ops other_ops;

/* msix vectors per test: FX_MSIX unless the test data says otherwise */
void fx_setup(struct fx *fx, gconstpointer data);
void fx_setup_nomsix(struct fx *fx, gconstpointer data);
void fx_teardown(struct fx *fx, gconstpointer data);
/* The default host configuration. */
struct vpci_host_config fx_host_config(void);

/* config space of the fixture's device through ECAM; asserts success */
uint32_t cfg_rd(struct fx *fx, uint32_t reg, unsigned size);
void cfg_wr(struct fx *fx, uint32_t reg, unsigned size, uint32_t val);
/* all-ones written to a BAR register, the value read back, the old value restored */
uint32_t bar_size_probe(struct fx *fx, unsigned reg);
/* a 64-bit BAR as Linux programs it: low dword, then high dword */
void bar64_program(struct fx *fx, unsigned bar, uint64_t addr);
void cmd_set(struct fx *fx, uint16_t bits, bool on);
/* BAR 2 mapped at FX_BAR2_ADDR, memory decoding on */
void fx_enable_bar2(struct fx *fx);
/* the config offset of the first virtio capability of cfg_type, walked like Linux; 0 if none */
unsigned find_vcap(struct fx *fx, uint8_t cfg_type);

/* BAR 2 accesses at an offset (through vpci_bar_read/write) */
uint64_t b2_rd(struct fx *fx, uint64_t off, unsigned size);
void b2_wr(struct fx *fx, uint64_t off, unsigned size, uint64_t val);
void b2_wr_bad(struct fx *fx, uint64_t off, unsigned size, uint64_t val);
/* common cfg fields (offsets VIRTIO_PCI_COMMON_*) with their natural width */
uint32_t cc_rd(struct fx *fx, uint32_t off);
void cc_wr(struct fx *fx, uint32_t off, uint32_t val);
void cc_wr_bad(struct fx *fx, uint32_t off, uint32_t val);
unsigned cc_width(uint32_t off);

/* virtio 1.2 §3.1.1 through the common cfg */
void to_features_ok(struct fx *fx);
void setup_queue(struct fx *fx, unsigned q);
void to_driver_ok(struct fx *fx);
uint64_t gpa(unsigned q, unsigned part);
