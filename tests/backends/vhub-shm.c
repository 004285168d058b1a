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
 * Plain libc, so that it cross-builds for the real-Xen lab like vhub-blk. This file: the
 * front-end connection and start-up; vhub-shm-ops.c: our mappings, the back-end channel's
 * request queue and the control commands.
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

#include "tests/backends/vhub-shm.h"

volatile sig_atomic_t stop;
static volatile sig_atomic_t sig_unmap, sig_map;

void msg(struct be *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhub-shm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

void disconnect(struct be *b)
{
	msg(b, "front-end gone");
	close(b->conn);
	b->conn = -1;
	if (b->chan >= 0)
		close(b->chan);
	b->chan = -1;
	ops_abort(b);
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
