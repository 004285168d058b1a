/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal vhost-user front-end of the test's own, to drive a back-end without xvdm:
 * the back-end's self-check (sim-vhub-blk) and, later, benchmarks against a back-end
 * driven directly. The guest's queues are vdrv rings in guest RAM (vdrv_setup_direct);
 * memory is either the RAM memfd (32-byte regions, uva = gpa + VUFE_UVA_OFFSET so that
 * ring and buffer translation differ) or, with `xen`, F_XEN_MMAP regions (40 bytes,
 * FOREIGN, the domid, one emulated privcmd fd per bank, uva = gpa; FACTS 9–12).
 * Every request asks for REPLY_ACK when negotiated; every wait is bounded.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/vdrv.h"

#define VUFE_UVA_OFFSET 0x7e0000000000ULL

struct vufe {
	int sock;
	uint64_t features;	    /* negotiated virtio features */
	uint64_t protocol_features; /* negotiated protocol features */
	int kick, call;		    /* queue 0 */
};

/* Connect to path, retrying up to timeout_ms while the back-end starts. */
int vufe_connect(struct vufe *f, const char *path, int timeout_ms);
/*
 * GET_FEATURES, SET_FEATURES (offered ∩ want; PROTOCOL_FEATURES kept if offered),
 * GET/SET_PROTOCOL_FEATURES (offered ∩ want_pf), SET_OWNER. -EPROTO if the back-end
 * lacks a bit of need_pf.
 */
int vufe_negotiate(struct vufe *f, uint64_t want, uint64_t want_pf, uint64_t need_pf);
/* GET_CONFIG of [off, off + len). */
int vufe_get_config(struct vufe *f, uint32_t off, void *buf, uint32_t len);
/* SET_MEM_TABLE with every RAM bank of d (see above). */
int vufe_set_mem(struct vufe *f, struct xs_dom *d, struct hv *hv, bool xen);
/* Eventfds for queue 0, to give vdrv_setup_direct(). */
int vufe_eventfds(struct vufe *f);
/* SET_VRING_NUM/ADDR/BASE/CALL/KICK/ENABLE for queue 0 of v. */
int vufe_start(struct vufe *f, struct vdrv *v, bool xen);
void vufe_close(struct vufe *f);
