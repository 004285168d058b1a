/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test's own vhost-user front-end (vufe.h). Trust boundary: the back-end under test;
 * reply ids, flags and sizes are checked and every read is bounded by a poll timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/xensim/vufe.h"

#define HDR	      12
#define FLAG_VERSION  0x1
#define FLAG_REPLY    0x4
#define FLAG_NEED     0x8
#define F_PROTOCOL    30
#define PF_REPLY_ACK  3
#define PF_XEN_MMAP   17
#define REPLY_TIMEOUT 5000
#define MAX_MSG	      512
#define MAX_REGIONS   4
#define XEN_FOREIGN   0x1

enum {
	GET_FEATURES = 1,
	SET_FEATURES = 2,
	SET_OWNER = 3,
	SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9,
	SET_VRING_BASE = 10,
	SET_VRING_KICK = 12,
	SET_VRING_CALL = 13,
	GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16,
	SET_VRING_ENABLE = 18,
	GET_CONFIG = 24,
};

static int send_msg(struct vufe *f, uint32_t req, uint32_t flags, const void *p, uint32_t len,
		    const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t hdr[HDR];
	struct iovec iov[2] = { { hdr, HDR }, { (void *)p, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct cmsghdr *ch;

	flags |= FLAG_VERSION;
	memcpy(hdr, &req, 4);
	memcpy(hdr + 4, &flags, 4);
	memcpy(hdr + 8, &len, 4);
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(ch), fds, nfds * sizeof(int));
	}
	return sendmsg(f->sock, &mh, MSG_NOSIGNAL) == (ssize_t)(HDR + len) ? 0 : -EPIPE;
}

static int read_full(struct vufe *f, void *buf, size_t len)
{
	struct pollfd p = { f->sock, POLLIN, 0 };
	size_t got = 0;

	while (got < len) {
		int n = poll(&p, 1, REPLY_TIMEOUT);
		ssize_t r;

		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		r = recv(f->sock, (char *)buf + got, len - got, 0);
		if (r <= 0)
			return r ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/* A reply to req of exactly len bytes. */
static int recv_reply(struct vufe *f, uint32_t req, void *p, uint32_t len)
{
	uint32_t h[3];
	int ret = read_full(f, h, sizeof(h));

	if (ret < 0)
		return ret;
	if (h[0] != req || (h[1] & 0x3) != FLAG_VERSION || !(h[1] & FLAG_REPLY) || h[2] != len) {
		fprintf(stderr, "vufe: reply %u flags 0x%x size %u to request %u (want %u bytes)\n",
			h[0], h[1], h[2], req, len);
		return -EPROTO;
	}
	return read_full(f, p, len);
}

/* A request without a reply body; waits for the REPLY_ACK if negotiated. */
static int request(struct vufe *f, uint32_t req, const void *p, uint32_t len, const int *fds,
		   unsigned nfds)
{
	bool ack = f->protocol_features & (1ULL << PF_REPLY_ACK);
	uint64_t v = 0;
	int ret = send_msg(f, req, ack ? FLAG_NEED : 0, p, len, fds, nfds);

	if (ret < 0 || !ack)
		return ret;
	if ((ret = recv_reply(f, req, &v, sizeof(v))) < 0)
		return ret;
	return v ? -EIO : 0;
}

static int get_u64(struct vufe *f, uint32_t req, uint64_t *v)
{
	int ret = send_msg(f, req, 0, NULL, 0, NULL, 0);

	return ret < 0 ? ret : recv_reply(f, req, v, sizeof(*v));
}

int vufe_connect(struct vufe *f, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	memset(f, 0, sizeof(*f));
	f->kick = f->call = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (int waited = 0;; waited += 10) {
		f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (f->sock < 0)
			return -errno;
		if (!connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(f->sock);
		f->sock = -1;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

int vufe_negotiate(struct vufe *f, uint64_t want, uint64_t want_pf, uint64_t need_pf)
{
	uint64_t offered, pf = 0;
	int ret;

	if ((ret = get_u64(f, GET_FEATURES, &offered)) < 0)
		return ret;
	f->features = offered & (want | 1ULL << F_PROTOCOL);
	if ((ret = request(f, SET_FEATURES, &f->features, 8, NULL, 0)) < 0)
		return ret;
	if (f->features & (1ULL << F_PROTOCOL)) {
		if ((ret = get_u64(f, GET_PROTOCOL_FEATURES, &pf)) < 0)
			return ret;
		pf &= want_pf;
		if ((ret = request(f, SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0)) < 0)
			return ret;
		f->protocol_features = pf;
	}
	if ((pf & need_pf) != need_pf) {
		fprintf(stderr, "vufe: protocol features 0x%llx lack 0x%llx\n",
			(unsigned long long)pf, (unsigned long long)need_pf);
		return -EPROTO;
	}
	return request(f, SET_OWNER, NULL, 0, NULL, 0);
}

int vufe_get_config(struct vufe *f, uint32_t off, void *buf, uint32_t len)
{
	uint8_t m[12 + 256] = { 0 };
	int ret;

	if (len > 256)
		return -EINVAL;
	memcpy(m, &off, 4);
	memcpy(m + 4, &len, 4);
	if ((ret = send_msg(f, GET_CONFIG, 0, m, 12 + len, NULL, 0)) < 0 ||
	    (ret = recv_reply(f, GET_CONFIG, m, 12 + len)) < 0)
		return ret;
	memcpy(buf, m + 12, len);
	return 0;
}

int vufe_set_mem(struct vufe *f, struct xs_dom *d, struct hv *hv, bool xen)
{
	struct hv_ram_bank banks[MAX_REGIONS];
	uint64_t offs[MAX_REGIONS];
	uint8_t m[8 + 40 * MAX_REGIONS] = { 0 };
	unsigned n = gd_ram_banks(d, banks, offs, MAX_REGIONS), rsize = xen ? 40 : 32;
	int fds[MAX_REGIONS], ramfd = xen ? -1 : gd_ram_fd(d), ret = 0;
	uint32_t domid = hv_dom_id(d), flags = XEN_FOREIGN;

	if (ramfd < 0 && !xen)
		return ramfd;
	memcpy(m, &n, 4);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = m + 8 + i * rsize;
		uint64_t uva = xen ? banks[i].gpa : banks[i].gpa + VUFE_UVA_OFFSET;

		memcpy(e, &banks[i].gpa, 8);
		memcpy(e + 8, &banks[i].size, 8);
		memcpy(e + 16, &uva, 8);
		if (xen) {
			memcpy(e + 32, &flags, 4);
			memcpy(e + 36, &domid, 4);
			fds[i] = hv_privcmd_open(hv);
			if (fds[i] < 0)
				ret = fds[i];
		} else {
			memcpy(e + 24, &offs[i], 8); /* mmap_offset */
			fds[i] = ramfd;
		}
	}
	if (!ret)
		ret = request(f, SET_MEM_TABLE, m, 8 + n * rsize, fds, n);
	for (unsigned i = 0; xen && i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]); /* our copy (FACTS 11) */
	}
	if (ramfd >= 0)
		close(ramfd);
	return ret;
}

int vufe_eventfds(struct vufe *f)
{
	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return f->kick < 0 || f->call < 0 ? -errno : 0;
}

int vufe_start(struct vufe *f, struct vdrv *v, bool xen)
{
	uint64_t uva = xen ? 0 : VUFE_UVA_OFFSET;
	uint32_t num[2] = { 0, v->vq[0].num }, base[2] = { 0, 0 }, on[2] = { 0, 1 };
	uint64_t addr[5] = { 0, v->vq[0].desc_gpa + uva, v->vq[0].used_gpa + uva,
			     v->vq[0].avail_gpa + uva, 0 };
	uint64_t idx = 0;
	int ret;

	if ((ret = request(f, SET_VRING_NUM, num, 8, NULL, 0)) < 0 ||
	    (ret = request(f, SET_VRING_ADDR, addr, 40, NULL, 0)) < 0 ||
	    (ret = request(f, SET_VRING_BASE, base, 8, NULL, 0)) < 0 ||
	    (ret = request(f, SET_VRING_CALL, &idx, 8, &f->call, 1)) < 0 ||
	    (ret = request(f, SET_VRING_KICK, &idx, 8, &f->kick, 1)) < 0)
		return ret;
	if (f->features & (1ULL << F_PROTOCOL))
		ret = request(f, SET_VRING_ENABLE, on, 8, NULL, 0);
	return ret;
}

void vufe_close(struct vufe *f)
{
	if (f->sock >= 0)
		close(f->sock);
	if (f->kick >= 0)
		close(f->kick);
	if (f->call >= 0)
		close(f->call);
	f->sock = f->kick = f->call = -1;
}
