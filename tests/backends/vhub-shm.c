/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhub-shm: a small vhost-user back-end for tests of VIRTIO shared memory regions (FACTS
 * 16-18): it answers GET_SHMEM_CONFIG with the regions it is given, and maps and unmaps
 * memfd ranges of known content into them over the back-end channel (SHMEM_MAP/UNMAP),
 * when a test tells it to. It is a generic device for xvdm's `vhost-user-device`
 * (device-id= and num-queues=1 on xvdm's side): one queue, set up and never used.
 *
 *   vhub-shm --socket PATH [--control PATH] [--regions ID:SIZE[,ID:SIZE...]]
 *            [--nregions N] [--shmem-bit 22|21] [--no-shmem-config] [--no-reply-ack]
 *            [--map ID:SHM_OFFSET:LEN[:rw][:SEED]]... [--verbose]
 *
 *   --socket       listen here for the front-end (one at a time, again after a disconnect)
 *   --control      listen here for a test's commands (below)
 *   --regions      GET_SHMEM_CONFIG's regions (default 0:0x100000); sizes are sent as
 *                  given, page multiple or not, so a test can offer bad ones
 *   --nregions     the nregions field to send instead of the true count (a lie)
 *   --shmem-bit    offer SHMEM as protocol bit 22 (default) or 21 (rust-vmm vhost <= 0.16)
 *   --no-shmem-config  a back-end without the message: GET_SHMEM_CONFIG drops the connection
 *   --no-reply-ack don't offer REPLY_ACK (SHMEM requests then get no reply)
 *   --map          map this once the back-end channel is up (repeatable; SIGUSR2 maps the
 *                  list again); SIGUSR1 unmaps everything mapped; SIGTERM/SIGINT: exit 0
 *
 * Content: the memfd behind a mapping with seed S holds, at file offset i, the byte
 * 1 + (S + i) % 255 (never 0, so a read of 0 means "not mapped"). With fd_offset 0 the
 * byte at window offset shm_offset + k is 1 + (S + k) % 255. Mappings are read-only
 * unless :rw / "rw" is given.
 *
 * Control protocol (a unix stream socket; one command per line; one reply line each):
 *   map ID SHM_OFFSET LEN [rw|ro] [SEED] [FD_OFFSET]   -> "ack 0", "ack N" (refused),
 *                                                          "ack none" (no REPLY_ACK)
 *   unmap ID SHM_OFFSET LEN                            -> "ack N"
 *   raw map|unmap ID FD_OFFSET SHM_OFFSET LEN FLAGS [nofd|FILESIZE]
 *                       exactly these fields (no checks); the fd is a memfd of FILESIZE
 *                       bytes (default FD_OFFSET + LEN) or none  -> "ack N"
 *   peek ID SHM_OFFSET  the byte in our own memfd there        -> "byte 0xNN" | "err ..."
 *   poke ID SHM_OFFSET BYTE   write it into our memfd          -> "ok"
 *   unmap-all           UNMAP every mapping we made            -> "ok N"
 *   status              -> "conn C chan H shmem S maps M resets R"
 *   drop                close the front-end connection          -> "ok"
 *   quit                -> "ok", then exit 0
 * A reply "err ..." names what went wrong (no front-end, bad arguments, timeout).
 * The mappings we made are forgotten on RESET_DEVICE and on disconnect, as the front-end
 * forgets them (FACTS 18).
 *
 * Trust boundary: the front-end's messages (framing, sizes and fd counts checked; a
 * violation drops the connection) and the control socket (a test's; arguments checked).
 * Plain libc, so that it cross-builds for the real-Xen lab like vhub-blk.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

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

static volatile sig_atomic_t stop, sig_unmap, sig_map;

__attribute__((format(printf, 2, 3))) static void msg(struct be *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhub-shm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define dbg(b, ...)                          \
	do {                                 \
		if ((b)->verbose)            \
			msg(b, __VA_ARGS__); \
	} while (0)

static uint8_t pattern(uint8_t seed, uint64_t i)
{
	return (uint8_t)(1 + (seed + i) % 255);
}

static bool have(const struct be *b, unsigned pf)
{
	return b->acked_proto & (1ULL << pf);
}

/* --- control replies --- */

__attribute__((format(printf, 2, 3))) static void say(struct be *b, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || b->ctl < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (send(b->ctl, line, (size_t)n, MSG_NOSIGNAL) != n)
		dbg(b, "control reply lost");
}

/* --- our mappings --- */

static void forget(struct mapping *m)
{
	if (m->p)
		munmap(m->p, m->len);
	memset(m, 0, sizeof(*m));
}

static void forget_all(struct be *b)
{
	for (unsigned i = 0; i < MAX_MAPS; i++)
		forget(&b->maps[i]);
}

static struct mapping *find_map(struct be *b, uint8_t id, uint64_t off)
{
	for (unsigned i = 0; i < MAX_MAPS; i++) {
		struct mapping *m = &b->maps[i];

		if (m->live && m->shmid == id && off >= m->shm_offset &&
		    off - m->shm_offset < m->len)
			return m;
	}
	return NULL;
}

/*
 * A memfd of `size` bytes, filled with the pattern of `seed` when len != 0 (raw requests
 * leave it sparse); *ret_view maps [view_off, view_off + len) of it (len 0: none).
 */
static int make_memfd(uint64_t size, uint8_t seed, uint64_t view_off, uint64_t len,
		      uint8_t **ret_view)
{
	int fd = memfd_create("vhub-shm", MFD_CLOEXEC);
	uint8_t *p;

	*ret_view = NULL;
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		goto fail;
	p = size && len ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : NULL;
	if (p == MAP_FAILED)
		goto fail;
	for (uint64_t i = 0; p && i < size; i++)
		p[i] = pattern(seed, i);
	if (p)
		munmap(p, size);
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)view_off);
		*ret_view = p == MAP_FAILED ? NULL : p;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* --- the back-end channel: one request at a time, replies matched in order --- */

static int chan_send(struct be *b, uint32_t req, uint32_t flags, const struct shmem_map *m, int fd)
{
	uint32_t hdr[3] = { req, flags, sizeof(*m) };
	struct iovec iov[2] = { { hdr, HDR_SIZE }, { (void *)m, sizeof(*m) } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(b->chan, &mh, MSG_NOSIGNAL) == (ssize_t)(HDR_SIZE + sizeof(*m)) ? 0 : -EPIPE;
}

static void push(struct be *b, const struct op *op)
{
	if (b->op_count == MAX_OPS) {
		if (op->to_ctl)
			say(b, "err busy");
		return;
	}
	b->ops[(b->op_head + b->op_count++) % MAX_OPS] = *op;
}

static struct op *head(struct be *b)
{
	return b->op_count ? &b->ops[b->op_head] : NULL;
}

static void pop(struct be *b)
{
	b->op_head = (b->op_head + 1) % MAX_OPS;
	b->op_count--;
	b->waiting = false;
}

/* The front-end answered (ack >= 0) or cannot (-1: no REPLY_ACK, -2: gone, -3: timeout). */
static void complete(struct be *b, struct op *op, int64_t ack)
{
	bool ok = ack == 0 || ack == -1;

	if (op->kind == OP_MAP && !op->raw && ok) {
		for (unsigned i = 0; i < MAX_MAPS; i++) {
			if (!b->maps[i].live) {
				b->maps[i] = b->staged;
				b->maps[i].live = true;
				b->staged.p = NULL;
				break;
			}
		}
	} else if (op->kind == OP_UNMAP && !op->raw && ok) {
		struct mapping *m = find_map(b, op->m.shmid, op->m.shm_offset);

		if (m && m->shm_offset == op->m.shm_offset && m->len == op->m.len)
			forget(m);
	}
	forget(&b->staged);
	if (op->to_ctl) {
		if (ack >= 0)
			say(b, "ack %" PRId64, ack);
		else
			say(b, ack == -1   ? "ack none"
			       : ack == -2 ? "err disconnected"
					   : "err timeout");
	}
	pop(b);
}

static int send_op(struct be *b, struct op *op)
{
	uint32_t flags = FLAG_VERSION | (have(b, PF_REPLY_ACK) ? FLAG_NEED_REPLY : 0);
	int fd = -1, r;

	if (op->kind == OP_SAY) {
		say(b, "%s", op->say);
		pop(b);
		return 0;
	}
	if (op->kind == OP_MAP && !op->nofd) {
		fd = make_memfd(op->file_size, op->seed, op->m.fd_offset, op->raw ? 0 : op->m.len,
				&b->staged.p);
		if (fd < 0 || (!op->raw && !b->staged.p)) {
			if (fd >= 0)
				close(fd);
			forget(&b->staged);
			if (op->to_ctl)
				say(b, "err memfd: %s", strerror(errno));
			pop(b);
			return 0;
		}
		b->staged.shmid = op->m.shmid;
		b->staged.shm_offset = op->m.shm_offset;
		b->staged.len = op->raw ? 0 : op->m.len;
	}
	r = chan_send(b, op->kind == OP_MAP ? B_SHMEM_MAP : B_SHMEM_UNMAP, flags, &op->m, fd);
	if (fd >= 0)
		close(fd);
	dbg(b, "%s shmid %u shm_offset 0x%" PRIx64 " len 0x%" PRIx64 " flags 0x%" PRIx64 ": %s",
	    op->kind == OP_MAP ? "MAP" : "UNMAP", op->m.shmid, op->m.shm_offset, op->m.len,
	    op->m.flags, r < 0 ? "send failed" : "sent");
	if (r < 0) {
		complete(b, op, -2);
		return r;
	}
	if (!(flags & FLAG_NEED_REPLY)) {
		complete(b, op, -1);
		return 0;
	}
	b->waiting = true;
	clock_gettime(CLOCK_MONOTONIC, &b->sent_at);
	return 0;
}

static void run_ops(struct be *b)
{
	struct op *op;

	while (!b->waiting && (op = head(b))) {
		if (op->kind != OP_SAY && b->chan < 0) {
			if (op->to_ctl)
				say(b, "err no back-end channel");
			pop(b);
			continue;
		}
		send_op(b, op);
	}
}

static void chan_reply(struct be *b)
{
	uint8_t buf[HDR_SIZE + 8];
	uint32_t req, flags, size;
	uint64_t v;
	ssize_t n = recv(b->chan, buf, sizeof(buf), MSG_WAITALL);

	if (n != (ssize_t)sizeof(buf)) {
		msg(b, "back-end channel closed");
		close(b->chan);
		b->chan = -1;
		if (b->waiting)
			complete(b, head(b), -2);
		return;
	}
	memcpy(&req, buf, 4);
	memcpy(&flags, buf + 4, 4);
	memcpy(&size, buf + 8, 4);
	memcpy(&v, buf + HDR_SIZE, 8);
	if (!b->waiting || size != 8 || flags != (FLAG_VERSION | FLAG_REPLY) ||
	    req != (head(b)->kind == OP_MAP ? B_SHMEM_MAP : B_SHMEM_UNMAP)) {
		msg(b, "unexpected reply %u flags 0x%x size %u on the back-end channel", req, flags,
		    size);
		return;
	}
	complete(b, head(b), (int64_t)(v > INT64_MAX ? INT64_MAX : v));
}

static void check_timeout(struct be *b)
{
	struct timespec now;

	if (!b->waiting)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - b->sent_at.tv_sec) * 1000 + (now.tv_nsec - b->sent_at.tv_nsec) / 1000000 >
	    REPLY_WAIT_MS)
		complete(b, head(b), -3);
}

static void push_script(struct be *b)
{
	for (unsigned i = 0; i < b->nscript; i++)
		push(b, &b->script[i]);
}

static void push_unmap_all(struct be *b, bool to_ctl)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MAX_MAPS; i++) {
		struct mapping *m = &b->maps[i];
		struct op op = { .kind = OP_UNMAP };

		if (!m->live)
			continue;
		op.m = (struct shmem_map){ .shmid = m->shmid,
					   .shm_offset = m->shm_offset,
					   .len = m->len };
		push(b, &op);
		n++;
	}
	if (to_ctl) {
		struct op done = { .kind = OP_SAY };

		snprintf(done.say, sizeof(done.say), "ok %u", n);
		push(b, &done);
	}
}

/* --- the front-end connection --- */

static void close_fds(struct message *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

static int recv_message(struct be *b, struct message *m)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t hdr[HDR_SIZE];
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recvmsg(b->conn, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);

	m->nfds = 0;
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k && m->nfds < MAX_FDS; i++)
			memcpy(&m->fds[m->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n != HDR_SIZE || (mh.msg_flags & MSG_CTRUNC))
		return n == 0 ? -ECONNRESET : -EPROTO;
	memcpy(&m->request, hdr, 4);
	memcpy(&m->flags, hdr + 4, 4);
	memcpy(&m->size, hdr + 8, 4);
	if ((m->flags & 0x3) != FLAG_VERSION || m->size > MAX_PAYLOAD)
		return -EPROTO;
	if (m->size && recv(b->conn, m->payload, m->size, MSG_WAITALL) != (ssize_t)m->size)
		return -EPROTO;
	return 0;
}

static int send_reply(struct be *b, const struct message *req, const void *p, uint32_t size)
{
	static uint8_t buf[HDR_SIZE + 2056];
	uint32_t flags = FLAG_VERSION | FLAG_REPLY;

	if (size > sizeof(buf) - HDR_SIZE)
		return -EINVAL;
	memcpy(buf, &req->request, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	memcpy(buf + HDR_SIZE, p, size);
	return send(b->conn, buf, HDR_SIZE + size, MSG_NOSIGNAL) == HDR_SIZE + size ? 0 : -EPIPE;
}

static int reply_u64(struct be *b, const struct message *m, uint64_t v)
{
	return send_reply(b, m, &v, sizeof(v));
}

static uint64_t offered_protocol(const struct be *b)
{
	uint64_t pf =
		(1ULL << PF_BACKEND_REQ) | (1ULL << PF_BACKEND_FD) | (1ULL << PF_RESET_DEVICE);

	if (b->reply_ack)
		pf |= 1ULL << PF_REPLY_ACK;
	if (b->shmem_bit)
		pf |= 1ULL << b->shmem_bit;
	return pf;
}

static int shmem_config(struct be *b, const struct message *m)
{
	static uint8_t out[8 + 8 * MAX_REGIONS];
	uint32_t n = 0;

	if (!b->shmem_config) {
		msg(b, "GET_SHMEM_CONFIG: not implemented here (--no-shmem-config): disconnecting");
		return -EPROTO;
	}
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		n += b->sizes[i] != 0;
	if (b->nregions_lie >= 0)
		n = (uint32_t)b->nregions_lie;
	memset(out, 0, sizeof(out));
	memcpy(out, &n, 4);
	memcpy(out + 8, b->sizes, sizeof(b->sizes));
	return send_reply(b, m, out, sizeof(out));
}

/* One front-end request; < 0 drops the connection. */
static int handle(struct be *b, struct message *m)
{
	uint64_t u = 0;
	bool replied = true;
	int r = 0;

	if (m->size >= 8)
		memcpy(&u, m->payload, 8);
	switch (m->request) {
	case GET_FEATURES:
		r = reply_u64(b, m, (1ULL << F_VERSION_1) | (1ULL << F_PROTOCOL_FEAT));
		break;
	case GET_PROTOCOL_FEATURES:
		r = reply_u64(b, m, offered_protocol(b));
		break;
	case SET_PROTOCOL_FEATURES:
		b->acked_proto = u & offered_protocol(b);
		replied = false;
		break;
	case GET_QUEUE_NUM:
		r = reply_u64(b, m, 1);
		break;
	case GET_VRING_BASE: {
		uint32_t st[2] = { (uint32_t)u, 0 };

		r = send_reply(b, m, st, sizeof(st));
		break;
	}
	case GET_CONFIG: /* zeros: this device has no config space of its own */
		if (m->size < 12 || m->size > 12 + 256)
			return -EPROTO;
		memset(m->payload + 12, 0, m->size - 12);
		r = send_reply(b, m, m->payload, m->size);
		break;
	case GET_SHMEM_CONFIG:
		r = shmem_config(b, m);
		break;
	case SET_BACKEND_REQ_FD:
		if (m->nfds != 1)
			return -EPROTO;
		if (b->chan >= 0)
			close(b->chan);
		b->chan = m->fds[0];
		m->nfds = 0;
		msg(b, "back-end channel up (SHMEM %s)",
		    (b->shmem_bit && have(b, b->shmem_bit)) ? "negotiated" : "not negotiated");
		push_script(b);
		replied = false;
		break;
	case RESET_DEVICE:
		forget_all(b); /* the front-end drops every mapping with a reset */
		b->resets++;
		replied = false;
		break;
	default:
		replied = false; /* memory table, rings, features: taken, not used */
		break;
	}
	if (!replied && (m->flags & FLAG_NEED_REPLY) && have(b, PF_REPLY_ACK))
		r = reply_u64(b, m, 0);
	return r;
}

static void disconnect(struct be *b)
{
	msg(b, "front-end gone");
	close(b->conn);
	b->conn = -1;
	if (b->chan >= 0)
		close(b->chan);
	b->chan = -1;
	if (b->waiting)
		complete(b, head(b), -2);
	forget_all(b);
	b->acked_proto = 0;
}

static void serve_conn(struct be *b)
{
	static struct message m;
	int r = recv_message(b, &m);

	if (!r)
		r = handle(b, &m);
	close_fds(&m);
	if (r < 0) {
		if (r != -ECONNRESET)
			msg(b, "request %u: %s", m.request, strerror(-r));
		disconnect(b);
	}
}

/* Serve every front-end message already queued (e.g. SET_BACKEND_REQ_FD after negotiation). */
static void drain_conn(struct be *b)
{
	struct pollfd p;

	do {
		serve_conn(b);
		p = (struct pollfd){ b->conn, POLLIN, 0 };
	} while (b->conn >= 0 && poll(&p, 1, 0) == 1);
}

/* --- control commands --- */

static bool num(const char *s, uint64_t *ret)
{
	char *end;

	if (!s)
		return false;
	errno = 0;
	*ret = strtoull(s, &end, 0);
	return !errno && end != s && !*end;
}

static int cmd_map(struct be *b, char **a, int n, struct op *op)
{
	uint64_t id, off, len, seed = 0, fdo = 0;

	if (n < 4 || !num(a[1], &id) || id > 255 || !num(a[2], &off) || !num(a[3], &len) ||
	    (n > 5 && !num(a[5], &seed)) || (n > 6 && !num(a[6], &fdo)) || fdo + len < fdo ||
	    (n > 4 && strcmp(a[4], "rw") && strcmp(a[4], "ro")))
		return -EINVAL;
	op->kind = OP_MAP;
	op->m = (struct shmem_map){ .shmid = (uint8_t)id,
				    .fd_offset = fdo,
				    .shm_offset = off,
				    .len = len,
				    .flags = n > 4 && !strcmp(a[4], "rw") };
	op->seed = (uint8_t)seed;
	op->file_size = fdo + len;
	return 0;
}

static int cmd_raw(struct be *b, char **a, int n, struct op *op)
{
	uint64_t id, fs;

	if (n < 7 || (strcmp(a[1], "map") && strcmp(a[1], "unmap")) || !num(a[2], &id) ||
	    id > 255 || !num(a[3], &op->m.fd_offset) || !num(a[4], &op->m.shm_offset) ||
	    !num(a[5], &op->m.len) || !num(a[6], &op->m.flags))
		return -EINVAL;
	op->kind = strcmp(a[1], "map") ? OP_UNMAP : OP_MAP;
	op->raw = true;
	op->m.shmid = (uint8_t)id;
	op->nofd = op->kind == OP_UNMAP || (n > 7 && !strcmp(a[7], "nofd"));
	op->file_size = op->m.fd_offset + op->m.len;
	if (op->file_size < op->m.len || op->file_size > (1ULL << 32))
		op->file_size = 4096;
	if (n > 7 && strcmp(a[7], "nofd") && (!num(a[7], &fs) || fs > (1ULL << 32)))
		return -EINVAL;
	if (n > 7 && strcmp(a[7], "nofd"))
		op->file_size = fs;
	return 0;
}

static void cmd_peek_poke(struct be *b, char **a, int n)
{
	uint64_t id, off, v = 0;
	struct mapping *m;

	if (n < 3 || !num(a[1], &id) || !num(a[2], &off) || (n > 3 && !num(a[3], &v)) || id > 255 ||
	    v > 255) {
		say(b, "err arguments");
		return;
	}
	m = find_map(b, (uint8_t)id, off);
	if (!m) {
		say(b, "err unmapped");
		return;
	}
	if (!strcmp(a[0], "poke")) {
		m->p[off - m->shm_offset] = (uint8_t)v;
		say(b, "ok");
	} else {
		say(b, "byte 0x%02x", m->p[off - m->shm_offset]);
	}
}

static void command(struct be *b, char *line)
{
	char *a[10];
	int n = 0;
	struct op op = { .to_ctl = true };

	for (char *t = strtok(line, " \t\r"); t && n < 10; t = strtok(NULL, " \t\r"))
		a[n++] = t;
	if (!n)
		return;
	dbg(b, "control: %s", a[0]);
	if (!strcmp(a[0], "map") || !strcmp(a[0], "unmap") || !strcmp(a[0], "raw")) {
		int r = !strcmp(a[0], "raw") ? cmd_raw(b, a, n, &op) : cmd_map(b, a, n, &op);

		if (!strcmp(a[0], "unmap")) { /* only shmid, shm_offset and len count */
			op.kind = OP_UNMAP;
			op.m.flags = 0;
			op.m.fd_offset = 0;
		}
		if (r < 0)
			say(b, "err arguments");
		else
			push(b, &op);
	} else if (!strcmp(a[0], "peek") || !strcmp(a[0], "poke")) {
		cmd_peek_poke(b, a, n);
	} else if (!strcmp(a[0], "unmap-all")) {
		push_unmap_all(b, true);
	} else if (!strcmp(a[0], "status")) {
		unsigned maps = 0;

		for (unsigned i = 0; i < MAX_MAPS; i++)
			maps += b->maps[i].live;
		say(b, "conn %d chan %d shmem %d maps %u resets %u", b->conn >= 0, b->chan >= 0,
		    b->shmem_bit && have(b, b->shmem_bit), maps, b->resets);
	} else if (!strcmp(a[0], "drop")) {
		if (b->conn >= 0)
			disconnect(b);
		say(b, "ok");
	} else if (!strcmp(a[0], "quit")) {
		say(b, "ok");
		stop = 1;
	} else {
		say(b, "err unknown command");
	}
}

/* Read what the control client sent; run whole lines (one at a time while a reply is due). */
static void serve_ctl(struct be *b, bool readable)
{
	char *nl;

	if (readable) {
		ssize_t n = recv(b->ctl, b->ctl_buf + b->ctl_len,
				 sizeof(b->ctl_buf) - 1 - b->ctl_len, MSG_DONTWAIT);

		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			close(b->ctl);
			b->ctl = -1;
			b->ctl_len = 0;
			return;
		}
		if (n > 0)
			b->ctl_len += (size_t)n;
	}
	while (!b->waiting && !b->op_count && (nl = memchr(b->ctl_buf, '\n', b->ctl_len))) {
		size_t len = (size_t)(nl - b->ctl_buf) + 1;

		*nl = '\0';
		command(b, b->ctl_buf);
		memmove(b->ctl_buf, b->ctl_buf + len, b->ctl_len - len);
		b->ctl_len -= len;
		run_ops(b);
	}
	if (b->ctl_len == sizeof(b->ctl_buf) - 1) {
		say(b, "err line too long");
		b->ctl_len = 0;
	}
}

/* --- set-up --- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_unmap = 1;
	else if (sig == SIGUSR2)
		sig_map = 1;
	else
		stop = 1;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static void loop(struct be *b)
{
	while (!stop) {
		struct pollfd p[4] = {
			{ b->conn >= 0 ? b->conn : b->listen_fd, POLLIN, 0 },
			{ b->chan, POLLIN, 0 },
			{ b->ctl >= 0 ? b->ctl : b->ctl_listen, POLLIN, 0 },
		};

		if (sig_unmap || sig_map) {
			if (sig_unmap)
				push_unmap_all(b, false);
			if (sig_map)
				push_script(b);
			sig_unmap = sig_map = 0;
			run_ops(b);
		}
		if (poll(p, 3, b->waiting ? 100 : 1000) < 0)
			continue; /* EINTR: a signal, handled above */
		if (p[0].revents && b->conn < 0) {
			b->conn = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (b->conn >= 0)
				msg(b, "front-end connected");
		} else if (p[0].revents) {
			drain_conn(b); /* before any command: it may need what is queued */
		}
		if (b->chan >= 0 && p[1].revents)
			chan_reply(b);
		if (p[2].revents && b->ctl < 0 && b->ctl_listen >= 0)
			b->ctl = accept4(b->ctl_listen, NULL, NULL, SOCK_CLOEXEC);
		else if (p[2].revents && b->ctl >= 0)
			serve_ctl(b, true);
		check_timeout(b);
		run_ops(b);
		if (b->ctl >= 0)
			serve_ctl(b, false);
	}
}

static int parse_regions(struct be *b, char *s)
{
	memset(b->sizes, 0, sizeof(b->sizes));
	for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
		char *colon = strchr(t, ':');
		uint64_t id, size;

		if (!colon)
			return -EINVAL;
		*colon = '\0';
		if (!num(t, &id) || id >= MAX_REGIONS || !num(colon + 1, &size))
			return -EINVAL;
		b->sizes[id] = size;
	}
	return 0;
}

/* --map ID:SHM_OFFSET:LEN[:rw|:ro][:SEED] as the control command "map ID OFF LEN MODE SEED" */
static int parse_map(struct be *b, char *s)
{
	char *tok[5], *a[6] = { "map" }, *t;
	int k = 0, n;

	while (k < 5 && (t = strsep(&s, ":")))
		tok[k++] = t;
	if (s || k < 3 || b->nscript == MAX_SCRIPT)
		return -EINVAL;
	a[1] = tok[0];
	a[2] = tok[1];
	a[3] = tok[2];
	n = 4;
	if (k > 3 && (!strcmp(tok[3], "rw") || !strcmp(tok[3], "ro"))) {
		a[n++] = tok[3];
		if (k > 4)
			a[n++] = tok[4];
	} else if (k == 4) {
		a[n++] = "ro"; /* a seed without a mode */
		a[n++] = tok[3];
	} else if (k > 4) {
		return -EINVAL;
	}
	return cmd_map(b, a, n, &b->script[b->nscript++]);
}

static int parse(struct be *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "regions", required_argument, NULL, 'r' },
		{ "nregions", required_argument, NULL, 'n' },
		{ "shmem-bit", required_argument, NULL, 'b' },
		{ "no-shmem-config", no_argument, NULL, 'C' },
		{ "no-reply-ack", no_argument, NULL, 'A' },
		{ "map", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "s:c:r:n:b:CAm:v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			b->socket_path = optarg;
			break;
		case 'c':
			b->control_path = optarg;
			break;
		case 'r':
			if (parse_regions(b, optarg) < 0)
				return -EINVAL;
			break;
		case 'n':
			if (!num(optarg, &v) || v > UINT32_MAX)
				return -EINVAL;
			b->nregions_lie = (long)v;
			break;
		case 'b':
			if (!num(optarg, &v) || (v != 21 && v != 22))
				return -EINVAL;
			b->shmem_bit = (unsigned)v;
			break;
		case 'C':
			b->shmem_config = false;
			break;
		case 'A':
			b->reply_ack = false;
			break;
		case 'm':
			if (parse_map(b, optarg) < 0)
				return -EINVAL;
			break;
		case 'v':
			b->verbose = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return b->socket_path && optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static struct be b = { .conn = -1,
			       .chan = -1,
			       .ctl = -1,
			       .ctl_listen = -1,
			       .nregions_lie = -1,
			       .shmem_bit = 22,
			       .shmem_config = true,
			       .reply_ack = true };
	struct sigaction sa = { .sa_handler = on_signal };

	b.sizes[0] = 0x100000;
	if (parse(&b, argc, argv) < 0) {
		fprintf(stderr,
			"usage: %s --socket PATH [--control PATH] [--regions ID:SIZE[,...]] "
			"[--nregions N] [--shmem-bit 22|21] [--no-shmem-config] [--no-reply-ack] "
			"[--map ID:SHM_OFFSET:LEN[:rw][:SEED]]... [--verbose]\n",
			argv[0]);
		return 2;
	}
	b.listen_fd = listen_on(b.socket_path);
	if (b.listen_fd >= 0 && b.control_path)
		b.ctl_listen = listen_on(b.control_path);
	if (b.listen_fd < 0 || (b.control_path && b.ctl_listen < 0)) {
		msg(&b, "cannot listen: %s", strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	msg(&b, "listening on %s%s%s", b.socket_path, b.control_path ? ", control on " : "",
	    b.control_path ? b.control_path : "");
	loop(&b);
	if (b.conn >= 0)
		disconnect(&b);
	close(b.listen_fd);
	unlink(b.socket_path);
	if (b.control_path) {
		if (b.ctl >= 0)
			close(b.ctl);
		close(b.ctl_listen);
		unlink(b.control_path);
	}
	msg(&b, "done");
	return 0;
}
