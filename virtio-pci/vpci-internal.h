/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the files of virtio-pci/ only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "virtio-pci/vpci.h"

#define VPCI_PAGE 0x1000u

/* A debug line at most `burst` times per 5 s per call site (guest-triggerable events). */
#define log_debug_rl(...)                        \
	do {                                     \
		static struct log_ratelimit rl_; \
		if (log_ratelimit_ok(&rl_, 10))  \
			log_debug(__VA_ARGS__);  \
	} while (0)

static inline const char *vpci_name(const struct vpci_dev *p)
{
	return p->dev && p->dev->name ? p->dev->name : "vpci";
}

static inline uint16_t vpci_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t vpci_get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void vpci_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void vpci_put32(uint8_t *b, uint32_t v)
{
	vpci_put16(b, (uint16_t)v);
	vpci_put16(b + 2, (uint16_t)(v >> 16));
}

/* true when [a, a + alen) and [b, b + blen) intersect (no wrap: both checked by callers). */
static inline bool vpci_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* --- vpci-host.c --- */

/*
 * May BAR `bar` of p decode at [addr, addr + size)? Inside a matching window, outside
 * ECAM, and not overlapping any other decoding BAR of the host.
 */
bool vpci_host_bar_ok(struct vpci_host *h, const struct vpci_dev *p, unsigned bar, uint64_t addr,
		      uint64_t size);
/* Bring every device's BAR mappings in line with its config space (unmaps first). */
void vpci_host_update_decode(struct vpci_host *h);

/* --- vpci-dev.c --- */

/* Config access at reg (< 4096) of an attached device: size 1/2/4, aligned (checked). */
uint32_t vpci_dev_cfg_read(struct vpci_dev *p, uint32_t reg, unsigned size);
void vpci_dev_cfg_write(struct vpci_dev *p, uint32_t reg, unsigned size, uint32_t val);
/* Unmap BARs that must not decode (pass 1), then map those that should (pass 2). */
void vpci_dev_unmap_stale(struct vpci_dev *p);
void vpci_dev_map_pending(struct vpci_dev *p);
void vpci_dev_unmap_all(struct vpci_dev *p);
uint16_t vpci_dev_command(const struct vpci_dev *p);
uint16_t vpci_msix_flags(const struct vpci_dev *p);

/* --- vpci-virtio.c --- */

extern const struct vdev_bus_ops vpci_bus_ops;
/* The transport's share of a virtio reset (device_status = 0). */
void vpci_virtio_reset(struct vpci_dev *p);
/* Recompute the INTx line and status.INTERRUPT after ISR, command or MSI-X changes. */
void vpci_update_intx(struct vpci_dev *p);
/* MSI-X enable or function mask changed: deliver what is pending and now unmasked. */
void vpci_msix_flags_changed(struct vpci_dev *p);
