/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scripted fake vhost-user back-end for the device tests (test-vhu-dev): it runs on
 * its own thread, listens on a unix socket (or connects to one, for server-mode tests),
 * answers every front-end request the way a real back-end does (features and protocol
 * features as configured, GET_CONFIG from its config bytes, GET_VRING_BASE, acks when
 * NEED_REPLY is set), records every message, keeps the kick/call eventfds and the
 * back-end channel, and can be told to misbehave or to drop the connection. It parses
 * the wire by hand (not with the code under test).
 *
 *	struct fake_backend *fb = fake_backend_new(path, 0x175007e46, 0x8f2b);
 *	... create the device, drive it ...
 *	g_assert_true(fake_backend_wait(fb, VHU_SET_VRING_ENABLE, 1, 2000));
 *	fake_backend_free(fb);
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define FB_MAX_QUEUES 64
#define FB_MAX_MSGS   4096

struct fb_msg {
	uint32_t req, flags, size;
	uint8_t payload[4096];
	unsigned nfds;
	unsigned conn; /* which connection (1, 2, ...) */
};

struct fake_backend {
	/* configuration: set before the front-end connects (or under fb->lock) */
	uint64_t features;
	uint64_t proto;
	uint64_t queue_num;
	uint8_t config[256];
	uint32_t vring_base[FB_MAX_QUEUES]; /* GET_VRING_BASE answers */
	uint32_t nack_req;		    /* ack this request id with 1 (0: none) */
	uint32_t mute_req;		    /* never answer this request id (0: none) */

	/* state, under lock */
	GMutex lock;
	GCond cond;
	GPtrArray *msgs; /* struct fb_msg */
	unsigned conns;	 /* connections served so far */
	bool connected;
	uint64_t acked_proto;
	int kick[FB_MAX_QUEUES]; /* the front-end's eventfds (ours: dup-free copies) */
	int call[FB_MAX_QUEUES];
	int chan;		/* the back-end channel */
	uint64_t mem_userspace; /* the first region's userspace_addr and size */
	uint64_t mem_size;

	/* internal */
	char *path;
	bool client; /* connect to path instead of listening on it */
	int listen_fd;
	int sock;
	int wake[2];
	bool stop;
	bool drop; /* drop the current connection at the next chance */
	GThread *thread;
};

/* Listen on path (a stale file is replaced) and serve connections one after another. */
struct fake_backend *fake_backend_new(const char *path, uint64_t features, uint64_t proto);
/* Connect to a listening front-end at path (retrying for up to 2 s), serve it. */
struct fake_backend *fake_backend_new_client(const char *path, uint64_t features, uint64_t proto);
/* Stop the thread, close everything, unlink the socket; NULL-safe. */
void fake_backend_free(struct fake_backend *fb);

/* Close the current connection (a back-end crash); keep listening. */
void fake_backend_drop(struct fake_backend *fb);
/* Wait until `count` messages `req` arrived in total (or of any id with req 0). */
bool fake_backend_wait(struct fake_backend *fb, uint32_t req, unsigned count, int timeout_ms);
/* Wait until `n` connections were accepted in total. */
bool fake_backend_wait_conns(struct fake_backend *fb, unsigned n, int timeout_ms);
unsigned fake_backend_count(struct fake_backend *fb, uint32_t req);
unsigned fake_backend_nmsgs(struct fake_backend *fb);
/* A copy of message i (in arrival order); false when there is none. */
bool fake_backend_msg(struct fake_backend *fb, unsigned i, struct fb_msg *ret);
/* The last message `req`; false when none. */
bool fake_backend_last(struct fake_backend *fb, uint32_t req, struct fb_msg *ret);
/* Forget the recorded messages. */
void fake_backend_clear(struct fake_backend *fb);

/* Signal queue q's call eventfd; read (and reset) its kick eventfd's counter. */
void fake_backend_call(struct fake_backend *fb, unsigned q);
uint64_t fake_backend_kicks(struct fake_backend *fb, unsigned q);
/*
 * Send a back-end-channel request; with NEED_REPLY, read the u64 reply (-1: none),
 * iterating the thread-default main context meanwhile (the front-end answers there).
 */
int64_t fake_backend_chan_request(struct fake_backend *fb, uint32_t req, bool need_reply,
				  const void *payload, uint32_t len, int timeout_ms);
/* A pointer into the front-end's memory region (shadow mode: same process), or NULL. */
void *fake_backend_gpa(struct fake_backend *fb, uint64_t gpa, uint64_t len);
