/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhub-blk: a small vhost-user-blk back-end for tests, the zero-copy peer of xvdm's
 * xen-mmap memory mode (DESIGN.md §3). Like a rust-vmm back-end built with its `xen`
 * feature it *requires* VHOST_USER_PROTOCOL_F_XEN_MMAP (bit 17) and drops the connection
 * otherwise; each 40-byte region of SET_MEM_TABLE is mapped as vm-memory's
 * MmapXenForeign does (FACTS 9–13): mmap() of the region's /dev/xen/privcmd fd, then
 * IOCTL_PRIVCMD_MMAPBATCH_V2 with pfn = guest_phys_addr / 4096 + i and the domid.
 * With --no-xen it is a plain back-end instead: 32-byte regions, fds mapped directly.
 *
 *   vhub-blk --socket PATH --disk FILE [--no-xen] [--id STRING] [--verbose]
 *
 * Listens on PATH (one front-end at a time, again after a disconnect, like
 * qemu-storage-daemon), serves one request queue of a disk backed by FILE (its size,
 * in 512-byte sectors, is the capacity): IN, OUT, FLUSH (fdatasync), GET_ID; others get
 * UNSUPP. SIGTERM/SIGINT: exit 0 with a statistics line on stderr.
 *
 * Trust boundary: everything from the front-end (messages, fds, ring addresses) and
 * from the guest (rings, descriptors, request headers) is untrusted: sizes, counts,
 * indices and addresses are checked; a protocol violation drops the connection, a bad
 * request chain is skipped (not completed) with a message. Plain libc: this binary also
 * runs on a real Xen dom0 (arm64), with the real privcmd driver.
 */
#include <endian.h>
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/param.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "tests/backends/privcmd-abi.h"

/* vhost-user (FACTS 1–9) */
enum {
	GET_FEATURES = 1,
	SET_FEATURES = 2,
	SET_OWNER = 3,
	RESET_OWNER = 4,
	SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9,
	SET_VRING_BASE = 10,
	GET_VRING_BASE = 11,
	SET_VRING_KICK = 12,
	SET_VRING_CALL = 13,
	SET_VRING_ERR = 14,
	GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16,
	GET_QUEUE_NUM = 17,
	SET_VRING_ENABLE = 18,
	GET_CONFIG = 24,
	SET_CONFIG = 25,
	RESET_DEVICE = 34,
};

#define HDR_SIZE	  12
#define FLAG_VERSION	  0x1
#define FLAG_REPLY	  0x4
#define FLAG_NEED_REPLY	  0x8
#define F_PROTOCOL_FEAT	  30
#define PF_REPLY_ACK	  3
#define PF_CONFIG	  9
#define PF_RESET_DEVICE	  13
#define PF_XEN_MMAP	  17
#define XEN_FOREIGN	  0x1
#define MAX_REGIONS	  8
#define MAX_PAYLOAD	  4096
#define MAX_FDS		  8
#define QUEUE_MAX	  1024
#define SEG_MAX		  126
#define PAGE		  4096ULL
#define ID_STRING_DEFAULT "vhub-blk"

struct region {
	uint64_t gpa, size, uva;
	uint8_t *host; /* mapping of [gpa, gpa + size) */
	size_t map_len;
	int fd;
};

struct vq {
	uint16_t num;
	uint64_t desc_uva, avail_uva, used_uva;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail, used_idx;
	int kick, call;
	bool started, enabled, addr_set;
};

struct be {
	const char *socket_path, *disk_path, *id;
	bool xen, verbose;
	int listen_fd, conn, disk;
	uint64_t capacity; /* sectors */
	uint64_t features, protocol_features;
	struct region reg[MAX_REGIONS];
	unsigned nregions;
	struct vq vq;
	/* statistics */
	uint64_t requests, bytes_in, bytes_out, bad_chains, connections, pages_mapped;
};

static volatile sig_atomic_t stop;

__attribute__((format(printf, 2, 3))) static void msg(struct be *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhub-blk: ");
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

static uint64_t offered_features(void)
{
	return 1ULL << VIRTIO_F_VERSION_1 | 1ULL << F_PROTOCOL_FEAT | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	       1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
}

static uint64_t offered_protocol(struct be *b)
{
	return 1ULL << PF_REPLY_ACK | 1ULL << PF_CONFIG | 1ULL << PF_RESET_DEVICE |
	       (b->xen ? 1ULL << PF_XEN_MMAP : 0);
}

/* --- guest memory --- */

static void unmap_regions(struct be *b)
{
	for (unsigned i = 0; i < b->nregions; i++) {
		munmap(b->reg[i].host, b->reg[i].map_len);
		close(b->reg[i].fd);
	}
	b->nregions = 0;
}

/* A pointer for [addr, addr + len) in one region; by guest-physical or front-end address. */
static void *translate(struct be *b, uint64_t addr, uint64_t len, bool uva)
{
	for (unsigned i = 0; i < b->nregions; i++) {
		const struct region *r = &b->reg[i];
		uint64_t base = uva ? r->uva : r->gpa;

		if (addr >= base && addr - base < r->size && len <= r->size - (addr - base))
			return r->host + (addr - base);
	}
	return NULL;
}

/* vm-memory's MmapXenForeign::new(): mmap the privcmd fd, then map the frames into it. */
static int map_foreign(struct be *b, struct region *r, uint32_t domid)
{
	uint64_t pages = r->size / PAGE;
	struct privcmd_mmapbatch_v2 m;
	uint64_t *pfns;
	int *err, ret = 0;
	unsigned failed = 0;

	if (r->size % PAGE || r->gpa % PAGE || !pages || pages > UINT32_MAX)
		return -EINVAL;
	pfns = calloc(pages, sizeof(*pfns));
	err = calloc(pages, sizeof(*err));
	r->map_len = r->size;
	r->host = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, r->fd, 0);
	if (!pfns || !err || r->host == MAP_FAILED) {
		ret = r->host == MAP_FAILED ? -errno : -ENOMEM;
		r->host = NULL;
		goto out;
	}
	for (uint64_t i = 0; i < pages; i++)
		pfns[i] = r->gpa / PAGE + i;
	m = (struct privcmd_mmapbatch_v2){ .num = (unsigned)pages,
					   .dom = (uint16_t)domid,
					   .addr = (uintptr_t)r->host,
					   .arr = pfns,
					   .err = err };
	if (ioctl(r->fd, IOCTL_PRIVCMD_MMAPBATCH_V2, &m) < 0) {
		ret = -errno;
		munmap(r->host, r->size);
		r->host = NULL;
		goto out;
	}
	for (uint64_t i = 0; i < pages; i++)
		failed += err[i] != 0;
	if (failed) /* vm-memory does not look at err[]; we say so, and carry on like it */
		msg(b, "region 0x%" PRIx64 ": %u of %" PRIu64 " frames not mapped", r->gpa, failed,
		    pages);
	b->pages_mapped += pages - failed;
out:
	free(pfns);
	free(err);
	return ret;
}

static int map_plain(struct region *r, uint64_t offset)
{
	r->map_len = r->size + offset;
	if (r->map_len < r->size)
		return -EINVAL;
	r->host = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->host == MAP_FAILED) {
		r->host = NULL;
		return -errno;
	}
	r->host += offset;
	return 0;
}

/* SET_MEM_TABLE: u32 nregions, u32 padding, regions of 32 (plain) or 40 (Xen) bytes. */
static int set_mem_table(struct be *b, const uint8_t *p, uint32_t size, int *fds, unsigned nfds)
{
	uint32_t n, rsize = b->xen ? 40 : 32;
	int ret = 0;

	if (size < 8)
		return -EPROTO;
	memcpy(&n, p, 4);
	if (!n || n > MAX_REGIONS || size != 8 + n * rsize || nfds != n)
		return -EPROTO; /* rust-vmm: exactly one fd per region */
	unmap_regions(b);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = p + 8 + i * rsize;
		struct region *r = &b->reg[i];
		uint64_t offset;
		uint32_t flags = 0, domid = 0;

		memcpy(&r->gpa, e, 8);
		memcpy(&r->size, e + 8, 8);
		memcpy(&r->uva, e + 16, 8);
		memcpy(&offset, e + 24, 8);
		if (b->xen) {
			memcpy(&flags, e + 32, 4);
			memcpy(&domid, e + 36, 4);
		}
		r->fd = fds[i];
		fds[i] = -1;
		b->nregions = i + 1;
		if (!r->size || r->gpa + r->size < r->gpa || r->uva + r->size < r->uva)
			ret = -EPROTO;
		else if (b->xen && (flags != XEN_FOREIGN || offset || domid > 0x7fef))
			ret = -EPROTO; /* rust-vmm: unknown bits, grants or an offset: refused */
		else
			ret = b->xen ? map_foreign(b, r, domid) : map_plain(r, offset);
		msg(b,
		    "region %u: gpa 0x%" PRIx64 " size 0x%" PRIx64 " uva 0x%" PRIx64
		    " flags 0x%x dom %u: %s",
		    i, r->gpa, r->size, r->uva, flags, domid, ret ? strerror(-ret) : "mapped");
		if (ret < 0) {
			r->host = NULL;
			break;
		}
	}
	if (ret < 0) {
		for (unsigned i = 0; i < b->nregions; i++) {
			if (b->reg[i].host)
				munmap(b->reg[i].host, b->reg[i].map_len);
			close(b->reg[i].fd);
		}
		b->nregions = 0;
	}
	return ret;
}

/* --- the request queue --- */

static int vq_map(struct be *b, struct vq *q)
{
	size_t n = q->num;

	q->desc = translate(b, q->desc_uva, 16 * n, true);
	q->avail = translate(b, q->avail_uva, 6 + 2 * n, true);
	q->used = translate(b, q->used_uva, 6 + 8 * n, true);
	return q->desc && q->avail && q->used ? 0 : -EFAULT;
}

static void vq_stop(struct vq *q)
{
	if (q->kick >= 0)
		close(q->kick);
	q->kick = -1;
	q->started = false;
}

static void vq_reset(struct vq *q)
{
	vq_stop(q);
	if (q->call >= 0)
		close(q->call);
	memset(q, 0, sizeof(*q));
	q->kick = q->call = -1;
}

struct chain {
	struct iovec iov[SEG_MAX + 2];
	bool write[SEG_MAX + 2];
	unsigned n;
};

/* Walk a descriptor chain: bounded, every buffer inside guest RAM. */
static int walk(struct be *b, struct vq *q, uint16_t head, struct chain *c)
{
	uint16_t i = head;

	c->n = 0;
	for (;;) {
		struct vring_desc d = q->desc[i];
		uint16_t flags = le16toh(d.flags);
		uint32_t len = le32toh(d.len);

		if (c->n == SEG_MAX + 2 || (flags & VRING_DESC_F_INDIRECT))
			return -EINVAL;
		c->iov[c->n].iov_base = translate(b, le64toh(d.addr), len, false);
		c->iov[c->n].iov_len = len;
		c->write[c->n] = flags & VRING_DESC_F_WRITE;
		if (!c->iov[c->n].iov_base && len)
			return -EFAULT;
		if (c->n && c->write[c->n - 1] && !c->write[c->n])
			return -EINVAL; /* readable after writable */
		c->n++;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= q->num)
			return -EINVAL;
	}
}

/*
 * Message framing is free (virtio 1.2 §2.6.4): the readable bytes are the header (16
 * bytes) then, for OUT, the data; the writable bytes are, for IN, the data and for
 * GET_ID the id, then the status byte last. Any split into descriptors is valid (a
 * front-end in shadow mode sends one readable and one writable piece).
 */
enum side {
	READABLE,
	WRITABLE
};

static uint64_t side_len(const struct chain *c, enum side sd)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < c->n; i++)
		if (c->write[i] == (sd == WRITABLE))
			n += c->iov[i].iov_len;
	return n;
}

/*
 * Move len bytes at byte `start` of one side: to or from `buf` (disk < 0), or between
 * that side and the disk at `disk` (pread into a writable side, pwrite from a readable
 * one). 0, or -1 on a short disk transfer.
 */
static int side_io(struct be *b, struct chain *c, enum side sd, uint64_t start, uint64_t len,
		   uint8_t *buf, bool to_side, int64_t disk)
{
	uint64_t pos = 0;

	for (unsigned i = 0; i < c->n && len; i++) {
		uint8_t *p = c->iov[i].iov_base;
		uint64_t l = c->iov[i].iov_len, skip, n;

		if (c->write[i] != (sd == WRITABLE))
			continue;
		if (start >= pos + l) {
			pos += l;
			continue;
		}
		skip = start > pos ? start - pos : 0;
		n = MIN(l - skip, len);
		if (disk >= 0) {
			ssize_t r = to_side ? pread(b->disk, p + skip, n, disk)
					    : pwrite(b->disk, p + skip, n, disk);

			if (r != (ssize_t)n)
				return -1;
			disk += (int64_t)n;
		} else if (to_side) {
			memcpy(p + skip, buf, n);
			buf += n;
		} else {
			memcpy(buf, p + skip, n);
			buf += n;
		}
		start += n;
		len -= n;
		pos += l;
	}
	return len ? -1 : 0;
}

/* Serve one request; the status goes to the last writable byte (the caller checks it exists). */
static uint8_t do_request(struct be *b, struct chain *c, uint64_t wr)
{
	struct virtio_blk_outhdr h;
	uint64_t rd = side_len(c, READABLE), off, total;
	uint32_t type;

	if (rd < sizeof(h) || side_io(b, c, READABLE, 0, sizeof(h), (uint8_t *)&h, false, -1))
		return VIRTIO_BLK_S_IOERR;
	type = le32toh(h.type);
	if (type == VIRTIO_BLK_T_FLUSH)
		return fdatasync(b->disk) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (type == VIRTIO_BLK_T_GET_ID) {
		uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
		uint64_t n = MIN(sizeof(id), wr - 1);

		memcpy(id, b->id, MIN(strlen(b->id), sizeof(id))); /* not nul-terminated if 20 */
		side_io(b, c, WRITABLE, 0, n, id, true, -1);
		return VIRTIO_BLK_S_OK;
	}
	if (type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_OUT)
		return VIRTIO_BLK_S_UNSUPP;
	total = type == VIRTIO_BLK_T_IN ? wr - 1 : rd - sizeof(h);
	off = le64toh(h.sector);
	if (total % 512 || off > b->capacity || total / 512 > b->capacity - off)
		return VIRTIO_BLK_S_IOERR;
	if (type == VIRTIO_BLK_T_IN) {
		if (side_io(b, c, WRITABLE, 0, total, NULL, true, (int64_t)(off * 512)))
			return VIRTIO_BLK_S_IOERR;
		b->bytes_in += total;
	} else {
		if (side_io(b, c, READABLE, sizeof(h), total, NULL, false, (int64_t)(off * 512)))
			return VIRTIO_BLK_S_IOERR;
		b->bytes_out += total;
	}
	return VIRTIO_BLK_S_OK;
}

static void process(struct be *b, struct vq *q)
{
	uint16_t avail_idx;
	bool pushed = false;

	if (!q->started || !q->enabled || !q->desc)
		return;
	/* The index before the ring entries it publishes (virtio_rmb). */
	avail_idx = le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
	if ((uint16_t)(avail_idx - q->last_avail) > q->num) {
		msg(b, "avail idx %u runs %u ahead of %u: queue stopped", avail_idx,
		    (uint16_t)(avail_idx - q->last_avail), q->last_avail);
		q->started = false;
		return;
	}
	while (q->last_avail != avail_idx) {
		uint16_t head = le16toh(q->avail->ring[q->last_avail % q->num]);
		struct chain c;
		uint32_t written = 0;
		uint64_t wr;
		uint8_t status;
		struct vring_used_elem *e;

		q->last_avail++;
		if (head >= q->num || walk(b, q, head, &c) < 0) {
			msg(b, "bad descriptor chain at head %u: skipped", head);
			b->bad_chains++;
			continue;
		}
		wr = side_len(&c, WRITABLE);
		if (!wr) {
			msg(b, "request at head %u has no status byte: skipped", head);
			b->bad_chains++;
			continue;
		}
		status = do_request(b, &c, wr);
		side_io(b, &c, WRITABLE, wr - 1, 1, &status, true, -1);
		/*
		 * The status is the last writable byte, and a driver may only look at the
		 * first len bytes (virtio 1.2 §2.7.8.2): len covers the whole writable part,
		 * as QEMU does (a shadow-mode front-end copies back exactly len bytes).
		 */
		written = (uint32_t)MIN(wr, UINT32_MAX);
		b->requests++;
		e = &q->used->ring[q->used_idx % q->num];
		e->id = htole32(head);
		e->len = htole32(written);
		q->used_idx++;
		/* virtio_wmb(): the element before the index that publishes it. */
		__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
		pushed = true;
	}
	if (pushed && q->call >= 0) {
		uint64_t one = 1;

		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (write(q->call, &one, sizeof(one)) < 0)
			dbg(b, "call: %s", strerror(errno));
	}
}

/* --- messages --- */

struct message {
	uint32_t request, flags, size;
	uint8_t payload[MAX_PAYLOAD];
	int fds[MAX_FDS];
	unsigned nfds;
};

static void close_fds(struct message *m)
{
	for (unsigned i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	}
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
	ssize_t n;

	m->nfds = 0;
	n = recvmsg(b->conn, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	for (struct cmsghdr *ch = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; ch;
	     ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
			memcpy(&m->fds[m->nfds++], CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
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
	uint8_t buf[HDR_SIZE + MAX_PAYLOAD];
	uint32_t flags = FLAG_VERSION | FLAG_REPLY;

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

static int payload_u64(const struct message *m, uint64_t *v)
{
	if (m->size != 8)
		return -EPROTO;
	memcpy(v, m->payload, 8);
	return 0;
}

static int get_config(struct be *b, const struct message *m)
{
	struct virtio_blk_config cfg = { 0 };
	uint8_t out[12 + sizeof(cfg)];
	uint32_t off, size;

	if (m->size < 12)
		return -EPROTO;
	memcpy(&off, m->payload, 4);
	memcpy(&size, m->payload + 4, 4);
	if (m->size != 12 + size || off > sizeof(cfg) || size > sizeof(cfg) - off)
		return -EPROTO;
	cfg.capacity = htole64(b->capacity);
	cfg.seg_max = htole32(SEG_MAX);
	cfg.blk_size = htole32(512);
	cfg.num_queues = htole16(1);
	memcpy(out, m->payload, 12);
	memcpy(out + 12, (uint8_t *)&cfg + off, size);
	return send_reply(b, m, out, 12 + size);
}

/* SET_VRING_KICK/CALL/ERR: u64 index | 0x100 (no fd); fd consumed. */
static int vring_fd(struct be *b, struct message *m, int **ret_slot, int *ret_fd)
{
	uint64_t v;

	if (payload_u64(m, &v) < 0 || (v & 0xff) != 0)
		return -EPROTO; /* one queue */
	if ((v & 0x100) ? m->nfds != 0 : m->nfds != 1)
		return -EPROTO;
	*ret_fd = (v & 0x100) ? -1 : m->fds[0];
	if (m->nfds)
		m->fds[0] = -1;
	if (m->request == SET_VRING_KICK)
		*ret_slot = &b->vq.kick;
	else if (m->request == SET_VRING_CALL)
		*ret_slot = &b->vq.call;
	else
		*ret_slot = NULL; /* SET_VRING_ERR: we never report errors that way */
	return 0;
}

static int vring_state(const struct message *m, uint32_t *ret_num)
{
	uint32_t idx;

	if (m->size != 8)
		return -EPROTO;
	memcpy(&idx, m->payload, 4);
	memcpy(ret_num, m->payload + 4, 4);
	return idx == 0 ? 0 : -EPROTO;
}

static int vring_addr(struct be *b, const struct message *m)
{
	struct vq *q = &b->vq;
	uint32_t idx;

	if (m->size != 40)
		return -EPROTO;
	memcpy(&idx, m->payload, 4);
	memcpy(&q->desc_uva, m->payload + 8, 8);
	memcpy(&q->used_uva, m->payload + 16, 8); /* used before avail (FACTS 6) */
	memcpy(&q->avail_uva, m->payload + 24, 8);
	if (idx || !q->num)
		return -EPROTO;
	q->addr_set = true;
	return vq_map(b, q);
}

/* One request; a reply if it has one. <0 drops the connection. */
static int handle(struct be *b, struct message *m)
{
	struct vq *q = &b->vq;
	uint64_t v = 0;
	uint32_t num;
	int ret = 0, *slot, fd;

	dbg(b, "request %u size %u fds %u", m->request, m->size, m->nfds);
	switch (m->request) {
	case GET_FEATURES:
		return reply_u64(b, m, offered_features());
	case SET_FEATURES:
		if ((ret = payload_u64(m, &v)) < 0 || (v & ~offered_features()))
			return -EPROTO;
		b->features = v;
		if (!(v & (1ULL << F_PROTOCOL_FEAT)))
			q->enabled = true; /* no SET_VRING_ENABLE without protocol features */
		break;
	case GET_PROTOCOL_FEATURES:
		return reply_u64(b, m, offered_protocol(b));
	case SET_PROTOCOL_FEATURES:
		if ((ret = payload_u64(m, &v)) < 0 || (v & ~offered_protocol(b)))
			return -EPROTO;
		if (b->xen && !(v & (1ULL << PF_XEN_MMAP))) {
			msg(b, "front-end did not ack F_XEN_MMAP (0x%" PRIx64 "): dropping it", v);
			return -EPROTO; /* as a rust-vmm back-end built with `xen` */
		}
		b->protocol_features = v;
		break;
	case SET_OWNER:
	case SET_CONFIG:
		break;
	case RESET_OWNER:
	case RESET_DEVICE:
		vq_reset(q);
		break;
	case GET_QUEUE_NUM:
		return reply_u64(b, m, 1);
	case SET_MEM_TABLE:
		if (b->xen && !(b->protocol_features & (1ULL << PF_XEN_MMAP)))
			return -EPROTO;
		ret = set_mem_table(b, m->payload, m->size, m->fds, m->nfds);
		if (!ret && q->addr_set)
			ret = vq_map(b, q);
		break;
	case SET_VRING_NUM:
		if ((ret = vring_state(m, &num)) < 0 || !num || num > QUEUE_MAX ||
		    (num & (num - 1)))
			return -EPROTO;
		q->num = (uint16_t)num;
		break;
	case SET_VRING_ADDR:
		ret = vring_addr(b, m);
		break;
	case SET_VRING_BASE:
		if ((ret = vring_state(m, &num)) < 0)
			return ret;
		q->last_avail = q->used_idx = (uint16_t)num;
		break;
	case GET_VRING_BASE: {
		uint32_t st[2] = { 0, q->last_avail };

		if (m->size != 8)
			return -EPROTO;
		vq_stop(q);
		return send_reply(b, m, st, sizeof(st));
	}
	case SET_VRING_KICK:
	case SET_VRING_CALL:
	case SET_VRING_ERR:
		if ((ret = vring_fd(b, m, &slot, &fd)) < 0)
			return ret;
		if (!slot) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (*slot >= 0)
			close(*slot);
		*slot = fd;
		if (m->request == SET_VRING_KICK)
			q->started = fd >= 0;
		break;
	case SET_VRING_ENABLE:
		if ((ret = vring_state(m, &num)) < 0)
			return ret;
		q->enabled = num != 0;
		break;
	case GET_CONFIG:
		return get_config(b, m);
	default:
		msg(b, "request %u not supported", m->request);
		ret = -EOPNOTSUPP;
	}
	if ((m->flags & FLAG_NEED_REPLY) && (b->protocol_features & (1ULL << PF_REPLY_ACK)))
		return reply_u64(b, m, ret ? 1 : 0) < 0 ? -EPIPE : 0;
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static void disconnect(struct be *b)
{
	msg(b, "front-end gone after %" PRIu64 " requests", b->requests);
	close(b->conn);
	b->conn = -1;
	vq_reset(&b->vq);
	unmap_regions(b);
	b->features = b->protocol_features = 0;
}

static void serve(struct be *b)
{
	struct message *m = calloc(1, sizeof(*m));

	while (m && !stop) {
		struct pollfd p[2] = { { b->conn >= 0 ? b->conn : b->listen_fd, POLLIN, 0 },
				       { b->vq.started ? b->vq.kick : -1, POLLIN, 0 } };
		uint64_t cnt;

		if (poll(p, 2, -1) < 0)
			continue; /* EINTR: a signal, checked above */
		if (p[1].revents & POLLIN) {
			if (read(b->vq.kick, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				dbg(b, "kick: %s", strerror(errno));
			process(b, &b->vq);
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (b->conn < 0) {
			b->conn = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (b->conn >= 0) {
				b->connections++;
				msg(b, "front-end connected");
			}
			continue;
		}
		int ret = recv_message(b, m);

		if (!ret)
			ret = handle(b, m);
		close_fds(m);
		if (ret < 0) {
			if (ret != -ECONNRESET)
				msg(b, "request %u: %s", m->request, strerror(-ret));
			disconnect(b);
			continue;
		}
		process(b, &b->vq); /* e.g. SET_VRING_ENABLE with requests already queued */
	}
	free(m);
}

/* --- set-up --- */

static void on_signal(int sig)
{
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
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int parse(struct be *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "disk", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "no-xen", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:d:i:nvh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			b->socket_path = optarg;
			break;
		case 'd':
			b->disk_path = optarg;
			break;
		case 'i':
			b->id = optarg;
			break;
		case 'n':
			b->xen = false;
			break;
		case 'v':
			b->verbose = true;
			break;
		case 'h':
			return 1;
		default:
			return -EINVAL;
		}
	}
	return b->socket_path && b->disk_path && optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct be b = { .xen = true, .id = ID_STRING_DEFAULT, .conn = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct stat st;

	int r = parse(&b, argc, argv);

	if (r != 0) {
		fprintf(r > 0 ? stdout : stderr,
			"usage: %s --socket PATH --disk FILE [--no-xen] [--id STRING] "
			"[--verbose]\n"
			"  a vhost-user-blk back-end on FILE, listening on PATH; it maps guest "
			"memory "
			"from F_XEN_MMAP\n"
			"  memory tables (privcmd), or with --no-xen mmaps the fds it is given\n",
			argv[0]);
		return r > 0 ? 0 : 2;
	}
	vq_reset(&b.vq);
	b.disk = open(b.disk_path, O_RDWR | O_CLOEXEC);
	if (b.disk < 0 || fstat(b.disk, &st) < 0) {
		msg(&b, "%s: %s", b.disk_path, strerror(errno));
		return 1;
	}
	b.capacity = (uint64_t)st.st_size / 512;
	b.listen_fd = listen_on(b.socket_path);
	if (b.listen_fd < 0) {
		msg(&b, "listen on %s: %s", b.socket_path, strerror(-b.listen_fd));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	msg(&b, "serving %s (%" PRIu64 " sectors) on %s, %s", b.disk_path, b.capacity,
	    b.socket_path, b.xen ? "F_XEN_MMAP required" : "plain memory regions");
	serve(&b);
	if (b.conn >= 0)
		disconnect(&b);
	close(b.listen_fd);
	unlink(b.socket_path);
	msg(&b,
	    "done: %" PRIu64 " connection(s), %" PRIu64 " requests, %" PRIu64
	    " bytes read, %" PRIu64 " written, %" PRIu64 " bad chains, %" PRIu64
	    " guest pages mapped through privcmd",
	    b.connections, b.requests, b.bytes_in, b.bytes_out, b.bad_chains, b.pages_mapped);
	return 0;
}
