/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the SHMEM request decoder, i.e. SHMEM_MAP/UNMAP arriving on the
 * back-end channel (vhu_backend_serve in devices/vhu-conn.c, the table of vhu-proto.c)
 * and handled by devices/vhu-shmem.c (every check, mmap of the fd, prepare/commit),
 * interleaved with guest accesses to the regions and with device resets. It checks that
 *   - nothing crashes (ASan/UBSan), every failure is a return value;
 *   - at most one reply goes out per request, only with REPLY_ACK, and nothing is left
 *     prepared after a request;
 *   - the mapping table stays sound: sorted, no overlaps, inside its region, page
 *     aligned, never longer than the cap;
 *   - a guest read of a byte no mapping covers gives 0;
 *   - no received fd is leaked.
 *
 * Input: byte 0: the negotiated protocol features (bit 0 REPLY_ACK, bit 1
 * BACKEND_SEND_FD, bit 2 SHMEM); then steps, each starting with a byte whose low two bits
 * say what it is:
 *   0: a channel message: 1 byte fd spec (bit 0: attach a memfd; bits 1-4: its size in
 *      pages; bits 5-7: its fill byte / 32), a 12-byte header, and the payload (the
 *      header's size, or what is left); served once;
 *   1: a guest read, 2: a guest write: 1 byte region index, 4 bytes offset (+ a page
 *      multiple from the step byte's high bits), 1 byte size (its low 2 bits: 1/2/4/8),
 *      8 bytes value (writes);
 *   3: every mapping dropped (device reset, back-end lost).
 * Regions: shmid 0 (64 KiB) and shmid 3 (16 KiB), at most 8 mappings.
 * Seeds: tests/fuzz/corpus-vhu-shmem/ (gen-corpus-vhu-shmem.py).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"

#include "devices/vhu-conn.h"
#include "devices/vhu-shmem.h"

#define PG	 4096u
#define MAX_MAPS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vdev_shm regions[] = { { .id = 0, .size = 16 * PG },
					   { .id = 3, .size = 4 * PG } };

struct fz {
	struct vhu_backend_handler h;
	struct vhu_shmem s;
	unsigned commits;
};

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int fz_prepare(struct vhu_backend_handler *h, uint32_t req, const struct vhu_shmem_map *m,
		      int fd)
{
	struct fz *f = (struct fz *)h;

	return vhu_shmem_prepare(&f->s, req, m, fd);
}

static void fz_commit(struct vhu_backend_handler *h, bool ok)
{
	struct fz *f = (struct fz *)h;

	f->commits++;
	vhu_shmem_commit(&f->s, ok);
}

static void fz_nop(struct vhu_backend_handler *h)
{
}

static void fz_nop_idx(struct vhu_backend_handler *h, uint32_t i)
{
}

static const struct vhu_backend_handler_ops fz_ops = {
	.config_changed = fz_nop,
	.vring_call = fz_nop_idx,
	.vring_err = fz_nop_idx,
	.shmem_prepare = fz_prepare,
	.shmem_commit = fz_commit,
};

static void check_table(const struct vhu_shmem *s)
{
	unsigned i;

	if (s->nmaps > MAX_MAPS || s->pending_req)
		abort();
	for (i = 0; i < s->nmaps; i++) {
		const struct vhu_shmem_mapping *m = &s->maps[i];

		if (m->idx >= G_N_ELEMENTS(regions) || !m->len || !m->host ||
		    (m->off | m->len) % PG || m->off > regions[m->idx].size ||
		    m->len > regions[m->idx].size - m->off)
			abort();
		if (i && (m->idx < s->maps[i - 1].idx ||
			  (m->idx == s->maps[i - 1].idx &&
			   s->maps[i - 1].off + s->maps[i - 1].len > m->off)))
			abort(); /* unsorted or overlapping */
	}
}

static bool covered(const struct vhu_shmem *s, unsigned idx, uint64_t off)
{
	unsigned i;

	for (i = 0; i < s->nmaps; i++)
		if (s->maps[i].idx == idx && off - s->maps[i].off < s->maps[i].len)
			return true;
	return false;
}

/* Replies the front-end wrote: whole 20-byte messages with REPLY set. */
static unsigned drain_replies(int fd)
{
	uint8_t b[20];
	unsigned n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_WAITALL) == sizeof(b)) {
		uint32_t flags, sz;

		memcpy(&flags, b + 4, 4);
		memcpy(&sz, b + 8, 4);
		if (!(flags & VHU_FLAG_REPLY) || sz != 8)
			abort();
		n++;
	}
	return n;
}

static int memfd_of(uint8_t spec)
{
	size_t len = (size_t)((spec >> 1) & 15) * PG;
	int fd = memfd_create("fuzz-shm", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		abort();
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			abort();
		memset(p, (spec >> 5) * 32 + 1, len);
		munmap(p, len);
	}
	return fd;
}

/* Put one message (header + payload, whatever they say) on the channel and serve it. */
static size_t step_message(struct fz *f, int sv[2], uint64_t proto, const uint8_t *d, size_t left)
{
	static uint8_t msg[16 * 1024];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint32_t psize;
	size_t len;
	int fd = -1, r;
	unsigned replies;

	if (left < 13)
		return left;
	memcpy(&psize, d + 1 + 8, 4);
	len = 12 + (psize < left - 13 ? psize : left - 13);
	/*
	 * A size beyond the input would only make the receiver wait for the rest (framing is
	 * fuzz-vhu-backend's): say what is there, unless it is beyond any message anyway.
	 */
	memcpy(msg, d + 1, len);
	if (psize > left - 13 && psize <= VHU_MAX_PAYLOAD) {
		psize = (uint32_t)(len - 12);
		memcpy(msg + 8, &psize, 4);
	}
	iov = (struct iovec){ msg, len };
	if (d[0] & 1) {
		struct cmsghdr *c;

		fd = memfd_of(d[0]);
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(sv[1], &mh, MSG_DONTWAIT) < 0)
		abort();
	if (fd >= 0)
		close(fd);
	/* a short message times out after 1 ms: the channel is then unusable */
	r = vhu_backend_serve(sv[0], proto, 1, &f->h);
	replies = drain_replies(sv[1]);
	if (replies > 1 || (replies && !(proto & VHU_PF(REPLY_ACK))))
		abort();
	if (r < 0) { /* framing broken: a fresh channel, as after a reconnect */
		vhu_shmem_clear(&f->s);
		close(sv[0]);
		close(sv[1]);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
	}
	return 1 + len;
}

static size_t step_access(struct fz *f, uint8_t op, const uint8_t *d, size_t left)
{
	bool write = (op & 3) == 2;
	size_t need = 6 + (write ? 8 : 0);
	uint32_t off32;
	uint64_t off, val = 0, got = 1;
	unsigned idx, size;

	if (left < need)
		return left;
	idx = d[0] % G_N_ELEMENTS(regions);
	memcpy(&off32, d + 1, 4);
	off = ((uint64_t)(op >> 2) * PG + off32) % (regions[idx].size + 16);
	size = 1u << (d[5] & 3);
	if (write)
		memcpy(&val, d + 6, 8);
	if (off + size > regions[idx].size)
		return need; /* the core refuses these before the device sees them */
	if (write) {
		vhu_shmem_write(&f->s, idx, off, size, val);
	} else {
		vhu_shmem_read(&f->s, idx, off, size, &got);
		if (size == 1 && !covered(&f->s, idx, off) && got != 0)
			abort();
	}
	return need;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fz f = { .h = { .ops = &fz_ops, .name = "fuzz" } };
	uint64_t proto = 0;
	unsigned before;
	size_t pos = 1;
	int sv[2];

	if (!quiet) {
		g_log_set_always_fatal(G_LOG_FATAL_MASK);
		fuzz_quiet_logs();
		quiet = true;
	}
	if (size < 2 || size > 16 * 1024)
		return 0;
	before = open_fds();
	if (data[0] & 1)
		proto |= VHU_PF(REPLY_ACK);
	if (data[0] & 2)
		proto |= VHU_PF(BACKEND_SEND_FD);
	if (data[0] & 4)
		proto |= VHU_PF(SHMEM);
	vhu_shmem_init(&f.s, "fuzz", regions, G_N_ELEMENTS(regions), MAX_MAPS);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	while (pos < size) {
		uint8_t op = data[pos++];

		if ((op & 3) == 0)
			pos += step_message(&f, sv, proto, data + pos, size - pos);
		else if ((op & 3) == 3)
			vhu_shmem_clear(&f.s);
		else
			pos += step_access(&f, op, data + pos, size - pos);
		check_table(&f.s);
	}
	vhu_shmem_fini(&f.s);
	close(sv[0]);
	close(sv[1]);
	if (open_fds() != before)
		abort();
	return 0;
}
