/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the vhost-user reply path (devices/vhu-conn.c over vhu-proto.c), from
 * the socket to the typed request helpers. A "back-end" stream of bytes, with fds in
 * SCM_RIGHTS, is queued on a socketpair before a request goes out; the helper then
 * receives and checks whatever is there. It checks that
 *   - nothing crashes or reads beyond a message (ASan/UBSan);
 *   - a failure other than -EIO (a refusal) latches the connection, and a latched
 *     connection refuses the next request without reading;
 *   - no received fd is leaked: the process's fd count is back where it was.
 *
 * Input: byte 0 selects the request (see run()), byte 1: bit 0 acks on (REPLY_ACK and
 * SET_FEATURES sent), bit 1 XEN_MMAP negotiated, bits 2-4 the number of fds (0-7)
 * attached to the stream's first byte; byte 2: a size or index for the request; the rest
 * is the stream. The seed corpus (tests/fuzz/corpus-vhu-reply/, gen-corpus-vhu.py) holds
 * a valid reply for each request.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"

#include "devices/vhu-conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static void queue_stream(int fd, const uint8_t *p, size_t len, unsigned nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[8];
	unsigned i;

	if (len == 0)
		return;
	for (i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		abort(); /* the input is capped below the socket buffer */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

static int run(struct vhu_conn *c, uint8_t which, uint8_t arg)
{
	struct vhu_mem_region_xen r = { 0x40000000, 0x1000, 0x40000000, 0, 1, 1 };
	struct vhu_inflight in;
	uint8_t cfg[VHU_MAX_CONFIG];
	uint64_t v;
	uint32_t num;
	int fd = -1, efd, ret;

	switch (which % 8) {
	case 0:
		return vhu_get_u64(c, VHU_GET_FEATURES, &v);
	case 1:
		return vhu_get_vring_base(c, arg % 4, &num);
	case 2:
		return vhu_get_config(c, 0, cfg, arg % (VHU_MAX_CONFIG + 1));
	case 3:
		ret = vhu_get_inflight_fd(c, 1, 256, &in, &fd);
		if (ret == 0)
			close(fd);
		return ret;
	case 4:
		return vhu_set_vring(c, VHU_SET_VRING_NUM, arg, 256);
	case 5:
		efd = eventfd(0, EFD_CLOEXEC);
		ret = vhu_set_mem_table(c, &r, &efd, 1);
		close(efd);
		return ret;
	case 6:
		return vhu_negotiate(c, ~0ULL, 0);
	default:
		return vhu_send_none(c, VHU_SET_OWNER);
	}
}

static unsigned downs;

static void on_down(struct vhu_conn *c, int err)
{
	downs++;
}

static const struct vhu_conn_ops ops = { .down = on_down };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct vhu_conn c;
	unsigned before;
	uint64_t v;
	int sv[2], r;

	if (!quiet) {
		g_log_set_always_fatal(G_LOG_FATAL_MASK);
		fuzz_quiet_logs();
		quiet = true;
	}
	if (size < 3 || size > 64 * 1024)
		return 0;
	before = open_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	vhu_conn_init(&c, &ops, "fuzz", 1);
	c.timeout_ms = 1;
	vhu_conn_attach(&c, sv[0]);
	if (data[1] & 1) {
		c.proto |= VHU_PF(REPLY_ACK);
		c.acks = true;
	}
	if (data[1] & 2)
		c.proto |= VHU_PF(XEN_MMAP);
	queue_stream(sv[1], data + 3, size - 3, (data[1] >> 2) & 7);
	shutdown(sv[1], SHUT_WR); /* the stream ends here: EOF, not a wait */
	downs = 0;
	r = run(&c, data[0], data[2]);
	if (r < 0 && r != -EIO && r != -EINVAL && r != -ENOTSUP && !(downs == 1 && !c.up))
		abort(); /* a failure that did not latch */
	if (!c.up && vhu_get_u64(&c, VHU_GET_FEATURES, &v) != -ENOTCONN)
		abort();
	vhu_conn_close(&c);
	close(sv[1]);
	if (open_fds() != before)
		abort(); /* a received fd leaked */
	return 0;
}
