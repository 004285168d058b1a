/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by vmm/dm-args.c (the command line) and vmm/dm-dev.c (-machine, -device) only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vmm/vmm.h"

struct dm_kv {
	char *key, *val;
};

void dm_kv_free(struct dm_kv *kv);
/* QEMU's "a=1,b,,c=2,noX" with an implied key for a leading bare value; NULL on an empty key. */
GPtrArray *dm_qopts_parse(const char *s, const char *implied);
/* The value of key (the last one wins, as in QEMU), or NULL. */
const char *dm_qopt(GPtrArray *a, const char *key);
bool dm_parse_u64(const char *s, uint64_t max, uint64_t *ret);

struct dm_chardev {
	char *id, *path;
	int fd;
	bool server;
	char *reconnect;
};

struct dm_parse {
	struct vmm_dm_args *a;
	GHashTable *chardevs; /* id -> struct dm_chardev * */
	GHashTable *netdevs;  /* id -> chardev id */
	GPtrArray *mon_ids;   /* chardev ids of -mon mode=control */
	GPtrArray *devices;   /* -device values, resolved at the end */
	GPtrArray *machine;   /* every -machine's properties (struct dm_kv *) */
	bool machine_seen;
};

/* virtio-mmio slots of the xenpvh machine (virtio-mmio-base, -irq-base, -num). */
struct dm_mmio_place {
	uint64_t mmio_base, mmio_irq, mmio_num;
};

/* -machine properties into the guest's PCI placement and *mp. */
int dm_machine_props(struct dm_parse *ps, struct dm_mmio_place *mp, GError **error);
/* Every -device into a struct vmm_devspec of ps->a->guest. */
int dm_resolve_devices(struct dm_parse *ps, const struct dm_mmio_place *mp, GError **error);
