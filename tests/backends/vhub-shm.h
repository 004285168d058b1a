/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhub-shm's inside (tests/backends/vhub-shm.c is its manual): the front-end connection and
 * start-up there, our mappings, the back-end channel's request queue and the control
 * commands in vhub-shm-ops.c.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum {
	GET_FEATURES = 1,
	GET_VRING_BASE = 11,
	GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16,
	GET_QUEUE_NUM = 17,
	SET_BACKEND_REQ_FD = 21,
	GET_CONFIG = 24,
	RESET_DEVICE = 34,
	GET_SHMEM_CONFIG = 44,
	B_SHMEM_MAP = 9,
	B_SHMEM_UNMAP = 10,
};

#define HDR_SIZE	12
#define FLAG_VERSION	0x1
#define FLAG_REPLY	0x4
#define FLAG_NEED_REPLY 0x8
#define F_VERSION_1	32
#define F_PROTOCOL_FEAT 30
#define PF_REPLY_ACK	3
#define PF_BACKEND_REQ	5
#define PF_BACKEND_FD	10
#define PF_RESET_DEVICE 13
#define MAX_PAYLOAD	4096
#define MAX_FDS		8
#define MAX_REGIONS	256
#define MAX_MAPS	64
#define MAX_OPS		128
#define MAX_SCRIPT	16
#define REPLY_WAIT_MS	5000

struct message {
	uint32_t request, flags, size;
	uint8_t payload[MAX_PAYLOAD];
	int fds[MAX_FDS];
	unsigned nfds;
};

struct shmem_map { /* FACTS 17 */
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset, shm_offset, len, flags;
};

struct mapping {
	bool live;
	uint8_t shmid;
	uint64_t shm_offset, len;
	uint8_t *p; /* our view of the memfd, fd_offset .. fd_offset + len */
};

enum op_kind {
	OP_MAP,
	OP_UNMAP,
	OP_SAY
};

struct op {
	enum op_kind kind;
	bool raw, nofd, to_ctl;
	struct shmem_map m;
	uint8_t seed;
	uint64_t file_size;
	char say[64]; /* OP_SAY: the control reply */
};

struct be {
	const char *socket_path, *control_path;
	uint64_t sizes[MAX_REGIONS];
	long nregions_lie; /* -1: the truth */
	unsigned shmem_bit;
	bool shmem_config, reply_ack, verbose;
	struct op script[MAX_SCRIPT];
	unsigned nscript;

	int listen_fd, conn, chan, ctl_listen, ctl;
	uint64_t acked_proto;
	struct mapping maps[MAX_MAPS];
	unsigned resets;
	struct op ops[MAX_OPS]; /* FIFO */
	unsigned op_head, op_count;
	bool waiting; /* ops[op_head] was sent, its reply is due */
	struct mapping staged;
	struct timespec sent_at;
	char ctl_buf[512];
	size_t ctl_len;
};

extern volatile sig_atomic_t stop;

/* vhub-shm.c */
__attribute__((format(printf, 2, 3))) void msg(struct be *b, const char *fmt, ...);
/* The front-end is gone (or sent: "drop"): forget everything it had. */
void disconnect(struct be *b);

#define dbg(b, ...)                          \
	do {                                 \
		if ((b)->verbose)            \
			msg(b, __VA_ARGS__); \
	} while (0)

static inline bool have(const struct be *b, unsigned pf)
{
	return b->acked_proto & (1ULL << pf);
}

/* vhub-shm-ops.c */
bool num(const char *s, uint64_t *ret);
/* Drop our record of every mapping (the front-end dropped them). */
void forget_all(struct be *b);
/* Queue the --map list, or an UNMAP of every mapping (to_ctl: then answer "ok N"). */
void push_script(struct be *b);
void push_unmap_all(struct be *b, bool to_ctl);
/* Send what is queued, one request at a time; a reply on the channel; a reply overdue. */
void run_ops(struct be *b);
void chan_reply(struct be *b);
void check_timeout(struct be *b);
/* The request in flight will never be answered (the front-end is gone). */
void ops_abort(struct be *b);
/* Control input: read it (readable) and run whole lines while no reply is due. */
void serve_ctl(struct be *b, bool readable);
/* --map ID:SHM_OFFSET:LEN[:rw|:ro][:SEED] into b->script. */
int parse_map(struct be *b, char *s);
