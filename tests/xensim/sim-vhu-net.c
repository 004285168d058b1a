/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-net: the real xvdm serving a vhost-user-net device in shadow memory mode
 * (DESIGN.md §3) to a simulated domain, backed by DPDK's dpdk-testpmd with one vhost port
 * (FACTS 34). testpmd forwards in io mode; with a single port, the port is paired with
 * itself, so every frame the guest sends on tx comes back, unmodified, on rx.
 *
 * The guest side is a virtio-net driver as Linux's virtio_net uses the device without
 * offloads (virtio 1.2 §5.1): VERSION_1, MAC and STATUS as offered, the MAC and link
 * status read from config space (the MAC given to xvdm with mac=), the rx queue filled
 * with 2 KiB device-writable buffers, frames sent on tx behind the 12-byte
 * virtio_net_hdr_v1 (in the same buffer as the frame, or in a buffer of its own).
 * Frames go out in batches of 1 to 64, sizes 60 to 1514 bytes; each one must come back
 * once, in order, with a zero header and the same bytes (MACs included), and every tx
 * buffer must be returned. Then xvdm ends on SIGTERM with status 0, testpmd on "quit".
 *
 * Exits 77 if xvdm does not list vhost-user-net or dpdk-testpmd (package dpdk-dev) is
 * not installed.
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
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <glib.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define TESTPMD "/usr/bin/dpdk-testpmd"
#define DOMID	1
#define IRQ	40
#define QSIZE	256
#define RXQ	0
#define TXQ	1
#define NRX	128  /* rx buffers posted at all times */
#define BUFSZ	2048 /* per rx buffer and per tx slot */
#define HDR	12   /* sizeof(struct virtio_net_hdr_v1) */
#define ETH_MIN 60
#define ETH_MAX 1514
#define MAC	"52:54:00:12:34:56"

_Static_assert(sizeof(struct virtio_net_hdr_v1) == HDR, "virtio_net_hdr_v1");

static struct sim sim;

struct net {
	struct vdrv v;
	uint8_t mac[6];
	uint64_t rx_gpa, tx_gpa;     /* NRX rx buffers, QSIZE tx slots */
	uint16_t rx_head_buf[QSIZE]; /* rx descriptor head -> buffer index */
	uint32_t next_seq, expect_seq;
	uint64_t frames_sent, frames_back, bytes_compared, tx_done;
	unsigned split_hdr; /* frames sent with the header in a buffer of its own */
};

static uint8_t *ram(struct net *n, uint64_t gpa, size_t len)
{
	uint8_t *p = gd_ram(n->v.d, gpa, len);

	SIM_CHECK(&sim, p, "guest RAM 0x%" PRIx64 "+%zu", gpa, len);
	return p;
}

static void post_rx(struct net *n, unsigned buf)
{
	struct vdrv_sg sg = { n->rx_gpa + (uint64_t)buf * BUFSZ, BUFSZ, true };
	uint16_t head;
	int r = vdrv_add(&n->v, RXQ, &sg, 1, &head);

	SIM_CHECK(&sim, !r, "rx: add buffer %u: %s", buf, strerror(-r));
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

static void frame_fill(const struct net *n, uint32_t seq, uint8_t *f, unsigned len)
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

static void send_frame(struct net *n, unsigned slot)
{
	uint32_t seq = n->next_seq++;
	unsigned len = frame_len(seq);
	uint64_t gpa = n->tx_gpa + (uint64_t)slot * BUFSZ;
	uint8_t *p = ram(n, gpa, HDR + len);
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
	SIM_CHECK(&sim, !r, "tx: add frame %u: %s", seq, strerror(-r));
	n->frames_sent++;
}

static void check_rx(struct net *n, unsigned buf, uint32_t used_len)
{
	uint32_t seq = n->expect_seq++;
	unsigned len = frame_len(seq);
	uint8_t *p = ram(n, n->rx_gpa + (uint64_t)buf * BUFSZ, BUFSZ);
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)p;
	uint8_t want[ETH_MAX];
	uint32_t got_seq = 0;

	if (used_len >= HDR + 18)
		memcpy(&got_seq, p + HDR + 14, sizeof(got_seq));
	SIM_CHECK(&sim, used_len == HDR + len,
		  "rx frame %u: used length %u, want %u (header + frame; seq in it: %u)", seq,
		  used_len, HDR + len, got_seq);
	SIM_CHECK(&sim, h->flags == 0 && h->gso_type == VIRTIO_NET_HDR_GSO_NONE,
		  "rx frame %u: header flags 0x%x gso_type 0x%x without offloads", seq, h->flags,
		  h->gso_type);
	frame_fill(n, seq, want, len);
	for (unsigned i = 0; i < len; i++)
		SIM_CHECK(&sim, p[HDR + i] == want[i],
			  "rx frame %u (seq in it %u, %u bytes): byte %u is 0x%02x, sent 0x%02x",
			  seq, got_seq, len, i, p[HDR + i], want[i]);
	n->frames_back++;
	n->bytes_compared += len;
}

/* Send `count` frames, wait for each to come back on rx and for every tx buffer. */
static void batch(struct net *n, unsigned count)
{
	uint16_t head;
	uint32_t len;
	int r;

	for (unsigned i = 0; i < count; i++)
		send_frame(n, i);
	r = vdrv_kick(&n->v, TXQ);
	SIM_CHECK(&sim, !r, "tx kick: %s", strerror(-r));
	for (unsigned i = 0; i < count; i++) {
		r = vdrv_wait_any(&n->v, RXQ, &head, &len, GD_TIMEOUT_MS);
		SIM_CHECK(&sim, !r,
			  "rx: frame %u of a batch of %u (seq %u) did not come back: %s "
			  "(%" PRIu64 " frames back so far)",
			  i, count, n->expect_seq, strerror(-r), n->frames_back);
		check_rx(n, n->rx_head_buf[head], len);
		post_rx(n, n->rx_head_buf[head]);
	}
	r = vdrv_kick(&n->v, RXQ);
	SIM_CHECK(&sim, !r, "rx kick: %s", strerror(-r));
	for (unsigned i = 0; i < count; i++) {
		r = vdrv_wait_any(&n->v, TXQ, &head, &len, GD_TIMEOUT_MS);
		SIM_CHECK(&sim, !r, "tx: buffer %u of %u not returned: %s", i, count, strerror(-r));
		n->tx_done++;
	}
}

static void check_config(struct net *n)
{
	uint64_t b, status;
	char mac[18];

	SIM_CHECK(&sim, n->v.features & (1ULL << VIRTIO_NET_F_MAC),
		  "MAC not offered (0x%" PRIx64 ")", n->v.device_features);
	SIM_CHECK(&sim, n->v.features & (1ULL << VIRTIO_NET_F_STATUS),
		  "STATUS not offered (0x%" PRIx64 ")", n->v.device_features);
	/* virtio_cread_bytes(): the MAC byte by byte. */
	for (unsigned i = 0; i < 6; i++) {
		SIM_CHECK(&sim,
			  !vdrv_cfg_read(&n->v, offsetof(struct virtio_net_config, mac) + i, 1, &b),
			  "config: mac[%u]", i);
		n->mac[i] = (uint8_t)b;
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	SIM_CHECK(&sim, !strcmp(mac, MAC), "config: mac %s, xvdm was given %s", mac, MAC);
	SIM_CHECK(&sim,
		  !vdrv_cfg_read(&n->v, offsetof(struct virtio_net_config, status), 2, &status),
		  "config: status");
	SIM_CHECK(&sim, status & VIRTIO_NET_S_LINK_UP, "config: status 0x%" PRIx64 ", link down",
		  status);
	sim_note("config: mac %s, status 0x%" PRIx64 ", features 0x%" PRIx64 " of 0x%" PRIx64, mac,
		 status, n->v.features, n->v.device_features);
}

int main(int argc, char **argv)
{
	static const unsigned batches[] = { 1, 2, 8, 32, 64, 5, 31, 64, 17, 1 };
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	struct net n = { 0 };
	char spec[512], vdev[600];
	const char *sock;
	int in[2], st, r;
	uint64_t base;
	struct xs_dom *d;
	pid_t pmd;

	sim_init(&sim, "sim-vhu-net", argc, argv, 60);
	if (!sim_has_device(&sim, "vhost-user-net")) {
		printf("SKIP: sim-vhu-net: xvdm --list-devices has no vhost-user-net\n");
		exit(77);
	}
	if (access(TESTPMD, X_OK)) {
		printf("SKIP: sim-vhu-net: %s not installed (package dpdk-dev)\n", TESTPMD);
		exit(77);
	}
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	base = hv_host_mmio_base();
	sock = sim_path(&sim, "testpmd.sock");

	/*
	 * testpmd's interactive mode ends at EOF on stdin (FACTS 34): our stdin becomes a pipe
	 * whose write end only this process holds, so testpmd also ends if the test dies.
	 */
	SIM_CHECK(&sim, !pipe2(in, O_CLOEXEC) && dup2(in[0], STDIN_FILENO) == STDIN_FILENO,
		  "stdin pipe: %s", strerror(errno));
	close(in[0]);
	snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,client=0", sock);
	pmd = sim_spawn_aux(&sim,
			    (const char *const[]){ TESTPMD, "--no-huge", "-m", "256", "--no-pci",
						   "--no-shconf", "--no-telemetry", "--vdev", vdev,
						   "--", "-i", "--auto-start", "--forward-mode=io",
						   "--total-num-mbufs=4096", NULL },
			    false);
	sim_wait_listen(&sim, sock, pmd, 15000);

	snprintf(spec, sizeof(spec),
		 "vhost-user-net,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,mac=" MAC,
		 base, IRQ, sock);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	vdrv_init(&n.v, d, 0, base, IRQ);
	r = vdrv_probe(&n.v, VIRTIO_ID_NET, 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS,
		       2, QSIZE);
	SIM_CHECK(&sim, !r, "probe: %s", strerror(-r));
	check_config(&n);
	n.rx_gpa = gd_alloc(d, (size_t)NRX * BUFSZ, 4096);
	n.tx_gpa = gd_alloc(d, (size_t)QSIZE * BUFSZ, 4096);
	SIM_CHECK(&sim, n.rx_gpa && n.tx_gpa, "out of guest RAM");
	for (unsigned i = 0; i < NRX; i++)
		post_rx(&n, i);
	r = vdrv_kick(&n.v, RXQ);
	SIM_CHECK(&sim, !r, "rx kick: %s", strerror(-r));

	for (unsigned i = 0; i < G_N_ELEMENTS(batches); i++)
		batch(&n, batches[i]);
	SIM_CHECK(&sim, n.frames_back == n.frames_sent && n.tx_done == n.frames_sent,
		  "%" PRIu64 " frames sent, %" PRIu64 " back, %" PRIu64 " tx buffers returned",
		  n.frames_sent, n.frames_back, n.tx_done);
	SIM_CHECK(&sim, n.v.interrupts > 0, "no interrupts taken");
	sim_note("%" PRIu64 " frames looped back through testpmd (%u with a separate header "
		 "buffer), %" PRIu64 " bytes compared, %u interrupts",
		 n.frames_back, n.split_hdr, n.bytes_compared, n.v.interrupts);
	r = vdrv_remove(&n.v);
	SIM_CHECK(&sim, !r, "remove: %s", strerror(-r));

	st = sim_terminate(&sim, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm after SIGTERM: %s",
		  sim_status_str(st));
	SIM_CHECK(&sim, write(in[1], "quit\n", 5) == 5, "testpmd stdin: %s", strerror(errno));
	close(in[1]);
	st = sim_aux_stop(&sim, pmd, 0, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "dpdk-testpmd after quit: %s",
		  sim_status_str(st));
	sim_pass(&sim);
}
