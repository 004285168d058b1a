/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the two halves of sim-selftest (sim-selftest.c, sim-selftest-pci.c). */
#pragma once

#include <stdint.h>

#include "tests/xensim/guest.h"
#include "tests/xensim/sim.h"

#define BASE   0x2000000ULL /* the minidm's registers (minidm.c) */
#define SIZE   0x200ULL
#define IRQ    33
#define NVCPUS 2

extern struct sim sim;

/* A minidm register at base + off (read of size bytes, 8-byte write); fails the test. */
uint64_t st_rd_at(struct xs_dom *d, uint64_t base, uint64_t off, unsigned size);
void st_wr_at(struct xs_dom *d, uint64_t base, uint64_t off, uint64_t val);

/* An Arm domain served by a minidm at base: the x86-only calls fail as Xen fails them. */
void st_check_arm_pci(struct xs_dom *d, uint64_t base);
/* A new x86 domain, minidms claiming a PCI function: PCI_CONFIG, MSI, INTx. */
void st_run_x86_pci(void);
