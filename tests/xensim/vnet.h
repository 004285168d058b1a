/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-net checks of the net tests (sim-vhu-net, sim-pci-net), with dpdk-testpmd
 * as the back-end (FACTS 34): testpmd forwards in io mode with one vhost port paired
 * with itself, so every frame the guest sends on tx comes back, unmodified, on rx.
 *
 * The guest side is a virtio-net driver as Linux's virtio_net uses the device without
 * offloads (virtio 1.2 §5.1), over any vdrv transport: VERSION_1, MAC and STATUS as
 * offered, the MAC and link status read from config space, the rx queue filled with
 * 2 KiB device-writable buffers, frames sent on tx behind the 12-byte virtio_net_hdr_v1
 * (in the same buffer as the frame, or in a buffer of its own). Frames go out in batches
 * of 1 to 64, sizes 60 to 1514 bytes; each one must come back once, in order, with a zero
 * header and the same bytes (MACs included), and every tx buffer must be returned.
 * Every failure ends the test through sim_fail().
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define VNET_TESTPMD  "/usr/bin/dpdk-testpmd"
#define VNET_QSIZE    256
#define VNET_MAC      "52:54:00:12:34:56"
#define VNET_FEATURES (1ULL << 5 | 1ULL << 16) /* VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS */

struct vnet {
	struct vdrv v; /* probed by the test (2 queues: rx, tx; VNET_FEATURES) */
	uint8_t mac[6];
	uint64_t rx_gpa, tx_gpa;	  /* rx buffers, VNET_QSIZE tx slots */
	uint16_t rx_head_buf[VNET_QSIZE]; /* rx descriptor head -> buffer index */
	uint32_t next_seq, expect_seq;
	uint64_t frames_sent, frames_back, bytes_compared, tx_done;
	unsigned split_hdr; /* frames sent with the header in a buffer of its own */
};

/* Exit 77 unless xvdm lists vhost-user-net and dpdk-testpmd is installed. */
void vnet_require(struct sim *s);
/*
 * testpmd serving a vhost-user socket at sock; waits until it listens. Its stdin is a
 * pipe whose write end (*ret_stdin) only this process holds: testpmd ends at EOF, also
 * if the test dies (FACTS 34).
 */
pid_t vnet_testpmd(struct sim *s, const char *sock, int *ret_stdin);
/* "quit" on its stdin; it must end with status 0. */
void vnet_testpmd_quit(struct sim *s, pid_t pid, int stdin_fd);
/* After the probe: MAC and STATUS negotiated, MAC and link from config, rx buffers posted. */
void vnet_start(struct sim *s, struct vnet *n);
/* The batches; every frame back and compared, every tx buffer returned. */
void vnet_run(struct sim *s, struct vnet *n);
