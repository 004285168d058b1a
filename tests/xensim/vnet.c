/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-net checks with dpdk-testpmd (vnet.h). Trust boundary: config space, used
 * lengths and received bytes come from the device model and the back-end; each is
 * checked against what was sent.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <glib.h>

#include "tests/xensim/vnet.h"

#define RXQ	0
#define TXQ	1
#define NRX	128  /* rx buffers posted at all times */
#define BUFSZ	2048 /* per rx buffer and per tx slot */
#define HDR	12   /* sizeof(struct virtio_net_hdr_v1) */
#define ETH_MIN 60
#define ETH_MAX 1514

_Static_assert(sizeof(struct virtio_net_hdr_v1) == HDR, "virtio_net_hdr_v1");
_Static_assert(VNET_FEATURES == (1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS),
	       "VNET_FEATURES");

static uint8_t *ram(struct sim *s, struct vnet *n, uint64_t gpa, size_t len)
{
	uint8_t *p = gd_ram(n->v.d, gpa, len);

	SIM_CHECK(s, p, "guest RAM 0x%" PRIx64 "+%zu", gpa, len);
	return p;
}

static void post_rx(struct sim *s, struct vnet *n, unsigned buf)
{
	struct vdrv_sg sg = { n->rx_gpa + (uint64_t)buf * BUFSZ, BUFSZ, true };
	uint16_t head;
	int r = vdrv_add(&n->v, RXQ, &sg, 1, &head);

	SIM_CHECK(s, !r, "rx: add buffer %u: %s", buf, strerror(-r));
	n->rx_head_buf[head] = (uint16_t)buf;
}

/* Frame seq: its length, and its bytes (dst = src = our MAC, ethertype 0x88b5). */
static unsigned frame_len(uint32_t seq)
{
	static const unsigned special[] = { ETH_MIN, ETH_MAX, 61, 1513, 64, 1000 };

	if (seq < G_N_ELEMENTS(special))
		return special[seq];
	return ETH_MIN + (seq * 7919u) % (ETH_MAX - ETH_MIN + 1);
}

static void frame_fill(const struct vnet *n, uint32_t seq, uint8_t *f, unsigned len)
{
	uint32_t x = seq * 2654435761u + 1;

	memcpy(f, n->mac, 6);
	memcpy(f + 6, n->mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 14, &seq, sizeof(seq));
	for (unsigned i = 18; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		f[i] = (uint8_t)x;
	}
}

static void send_frame(struct sim *s, struct vnet *n, unsigned slot)
{
	uint32_t seq = n->next_seq++;
	unsigned len = frame_len(seq);
	uint64_t gpa = n->tx_gpa + (uint64_t)slot * BUFSZ;
	uint8_t *p = ram(s, n, gpa, HDR + len);
	struct vdrv_sg sg[2];
	uint16_t head;
	unsigned nsg;
	int r;

	memset(p, 0, HDR); /* no offloads: flags 0, GSO_NONE */
	frame_fill(n, seq, p + HDR, len);
	if (seq % 3 == 2) { /* the header alone, then the frame (virtio 1.2 §5.1.6.6) */
		sg[0] = (struct vdrv_sg){ gpa, HDR, false };
		sg[1] = (struct vdrv_sg){ gpa + HDR, len, false };
		nsg = 2;
		n->split_hdr++;
	} else {
		sg[0] = (struct vdrv_sg){ gpa, HDR + len, false };
		nsg = 1;
	}
	r = vdrv_add(&n->v, TXQ, sg, nsg, &head);
	SIM_CHECK(s, !r, "tx: add frame %u: %s", seq, strerror(-r));
	n->frames_sent++;
}

static void check_rx(struct sim *s, struct vnet *n, unsigned buf, uint32_t used_len)
{
	uint32_t seq = n->expect_seq++;
	unsigned len = frame_len(seq);
	uint8_t *p = ram(s, n, n->rx_gpa + (uint64_t)buf * BUFSZ, BUFSZ);
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)p;
	uint8_t want[ETH_MAX];
	uint32_t got_seq = 0;

	if (used_len >= HDR + 18)
		memcpy(&got_seq, p + HDR + 14, sizeof(got_seq));
	SIM_CHECK(s, used_len == HDR + len,
		  "rx frame %u: used length %u, want %u (header + frame; seq in it: %u)", seq,
		  used_len, HDR + len, got_seq);
	SIM_CHECK(s, h->flags == 0 && h->gso_type == VIRTIO_NET_HDR_GSO_NONE,
		  "rx frame %u: header flags 0x%x gso_type 0x%x without offloads", seq, h->flags,
		  h->gso_type);
	frame_fill(n, seq, want, len);
	for (unsigned i = 0; i < len; i++)
		SIM_CHECK(s, p[HDR + i] == want[i],
			  "rx frame %u (seq in it %u, %u bytes): byte %u is 0x%02x, sent 0x%02x",
			  seq, got_seq, len, i, p[HDR + i], want[i]);
	n->frames_back++;
	n->bytes_compared += len;
}

/* Send `count` frames, wait for each to come back on rx and for every tx buffer. */
static void batch(struct sim *s, struct vnet *n, unsigned count)
{
	uint16_t head;
	uint32_t len;
	int r;

	for (unsigned i = 0; i < count; i++)
		send_frame(s, n, i);
	r = vdrv_kick(&n->v, TXQ);
	SIM_CHECK(s, !r, "tx kick: %s", strerror(-r));
	for (unsigned i = 0; i < count; i++) {
		r = vdrv_wait_any(&n->v, RXQ, &head, &len, GD_TIMEOUT_MS);
		SIM_CHECK(s, !r,
			  "rx: frame %u of a batch of %u (seq %u) did not come back: %s "
			  "(%" PRIu64 " frames back so far)",
			  i, count, n->expect_seq, strerror(-r), n->frames_back);
		check_rx(s, n, n->rx_head_buf[head], len);
		post_rx(s, n, n->rx_head_buf[head]);
	}
	r = vdrv_kick(&n->v, RXQ);
	SIM_CHECK(s, !r, "rx kick: %s", strerror(-r));
	for (unsigned i = 0; i < count; i++) {
		r = vdrv_wait_any(&n->v, TXQ, &head, &len, GD_TIMEOUT_MS);
		SIM_CHECK(s, !r, "tx: buffer %u of %u not returned: %s", i, count, strerror(-r));
		n->tx_done++;
	}
}

static void check_config(struct sim *s, struct vnet *n)
{
	uint64_t b, status;
	char mac[18];

	SIM_CHECK(s, n->v.features & (1ULL << VIRTIO_NET_F_MAC), "MAC not offered (0x%" PRIx64 ")",
		  n->v.device_features);
	SIM_CHECK(s, n->v.features & (1ULL << VIRTIO_NET_F_STATUS),
		  "STATUS not offered (0x%" PRIx64 ")", n->v.device_features);
	/* virtio_cread_bytes(): the MAC byte by byte. */
	for (unsigned i = 0; i < 6; i++) {
		SIM_CHECK(s,
			  !vdrv_cfg_read(&n->v, offsetof(struct virtio_net_config, mac) + i, 1, &b),
			  "config: mac[%u]", i);
		n->mac[i] = (uint8_t)b;
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	SIM_CHECK(s, !strcmp(mac, VNET_MAC), "config: mac %s, xvdm was given %s", mac, VNET_MAC);
	SIM_CHECK(s, !vdrv_cfg_read(&n->v, offsetof(struct virtio_net_config, status), 2, &status),
		  "config: status");
	SIM_CHECK(s, status & VIRTIO_NET_S_LINK_UP, "config: status 0x%" PRIx64 ", link down",
		  status);
	sim_note("config: mac %s, status 0x%" PRIx64 ", features 0x%" PRIx64 " of 0x%" PRIx64, mac,
		 status, n->v.features, n->v.device_features);
}

void vnet_require(struct sim *s)
{
	if (!sim_has_device(s, "vhost-user-net")) {
		printf("SKIP: %s: xvdm --list-devices has no vhost-user-net\n", s->name);
		exit(77);
	}
	if (access(VNET_TESTPMD, X_OK)) {
		printf("SKIP: %s: %s not installed (package dpdk-dev)\n", s->name, VNET_TESTPMD);
		exit(77);
	}
}

pid_t vnet_testpmd(struct sim *s, const char *sock, int *ret_stdin)
{
	char vdev[600];
	int in[2];
	pid_t pmd;

	/* Our stdin becomes the pipe testpmd inherits; only we hold its write end. */
	SIM_CHECK(s, !pipe2(in, O_CLOEXEC) && dup2(in[0], STDIN_FILENO) == STDIN_FILENO,
		  "stdin pipe: %s", strerror(errno));
	close(in[0]);
	snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,client=0", sock);
	pmd = sim_spawn_aux(s,
			    (const char *const[]){ VNET_TESTPMD, "--no-huge", "-m", "256",
						   "--no-pci", "--no-shconf", "--no-telemetry",
						   "--vdev", vdev, "--", "-i", "--auto-start",
						   "--forward-mode=io", "--total-num-mbufs=4096",
						   NULL },
			    false);
	sim_wait_listen(s, sock, pmd, 15000);
	*ret_stdin = in[1];
	return pmd;
}

void vnet_testpmd_quit(struct sim *s, pid_t pid, int stdin_fd)
{
	int st;

	SIM_CHECK(s, write(stdin_fd, "quit\n", 5) == 5, "testpmd stdin: %s", strerror(errno));
	close(stdin_fd);
	st = sim_aux_stop(s, pid, 0, 10000);
	SIM_CHECK(s, WIFEXITED(st) && WEXITSTATUS(st) == 0, "dpdk-testpmd after quit: %s",
		  sim_status_str(st));
}

void vnet_start(struct sim *s, struct vnet *n)
{
	int r;

	check_config(s, n);
	n->rx_gpa = gd_alloc(n->v.d, (size_t)NRX * BUFSZ, 4096);
	n->tx_gpa = gd_alloc(n->v.d, (size_t)VNET_QSIZE * BUFSZ, 4096);
	SIM_CHECK(s, n->rx_gpa && n->tx_gpa, "out of guest RAM");
	for (unsigned i = 0; i < NRX; i++)
		post_rx(s, n, i);
	r = vdrv_kick(&n->v, RXQ);
	SIM_CHECK(s, !r, "rx kick: %s", strerror(-r));
}

void vnet_run(struct sim *s, struct vnet *n)
{
	static const unsigned batches[] = { 1, 2, 8, 32, 64, 5, 31, 64, 17, 1 };

	for (unsigned i = 0; i < G_N_ELEMENTS(batches); i++)
		batch(s, n, batches[i]);
	SIM_CHECK(s, n->frames_back == n->frames_sent && n->tx_done == n->frames_sent,
		  "%" PRIu64 " frames sent, %" PRIu64 " back, %" PRIu64 " tx buffers returned",
		  n->frames_sent, n->frames_back, n->tx_done);
	SIM_CHECK(s, n->v.interrupts > 0, "no interrupts taken");
}
