/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhub-shm (manual: vhub-shm.c): our mappings, the queue of SHMEM_MAP/UNMAP requests on the
 * back-end channel (one in flight, its reply matched in order), and the control commands
 * that fill the queue.
 *
 * Trust boundary: replies from the front-end (size, flags and id checked) and control
 * commands from a test (arguments checked).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "tests/backends/vhub-shm.h"

static uint8_t pattern(uint8_t seed, uint64_t i)
{
	return (uint8_t)(1 + (seed + i) % 255);
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

void forget_all(struct be *b)
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

void run_ops(struct be *b)
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

void chan_reply(struct be *b)
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

void ops_abort(struct be *b)
{
	if (b->waiting)
		complete(b, head(b), -2);
}

void check_timeout(struct be *b)
{
	struct timespec now;

	if (!b->waiting)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - b->sent_at.tv_sec) * 1000 + (now.tv_nsec - b->sent_at.tv_nsec) / 1000000 >
	    REPLY_WAIT_MS)
		complete(b, head(b), -3);
}

void push_script(struct be *b)
{
	for (unsigned i = 0; i < b->nscript; i++)
		push(b, &b->script[i]);
}

void push_unmap_all(struct be *b, bool to_ctl)
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

/* --- control commands --- */

bool num(const char *s, uint64_t *ret)
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
void serve_ctl(struct be *b, bool readable)
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

/* --map ID:SHM_OFFSET:LEN[:rw|:ro][:SEED] as the control command "map ID OFF LEN MODE SEED" */
int parse_map(struct be *b, char *s)
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
