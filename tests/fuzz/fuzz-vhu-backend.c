/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the vhost-user back-end channel (vhu_backend_serve in
 * devices/vhu-conn.c over vhu-proto.c). A stream of back-end requests, with fds in
 * SCM_RIGHTS, is queued on a socketpair and served until the channel fails. It checks
 * that
 *   - nothing crashes (ASan/UBSan), every failure is a return value;
 *   - at most one reply goes out per request, and only with REPLY_ACK negotiated;
 *   - the handler's ops only see requests that passed the table (vring index from a
 *     whole payload);
 *   - no received fd is leaked.
 *
 * Input: byte 0: the negotiated protocol features (bit 0 REPLY_ACK, bit 1
 * BACKEND_SEND_FD); byte 1: bits 0-2 the number of fds (0-7) attached to the first
 * byte; the rest is the stream. Seeds: tests/fuzz/corpus-vhu-backend/.
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

static unsigned ops_calls;

static void h_config(struct vhu_backend_handler *h)
{
	ops_calls++;
}

static void h_call(struct vhu_backend_handler *h, uint32_t index)
{
	ops_calls++;
}

static const struct vhu_backend_handler_ops hops = {
	.config_changed = h_config,
	.vring_call = h_call,
	.vring_err = h_call,
};

/* Replies the front-end wrote: whole 20-byte messages with REPLY set. */
static unsigned count_replies(int fd)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct vhu_backend_handler h = { .ops = &hops, .name = "fuzz" };
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	uint64_t proto = 0;
	unsigned before, nfds, served = 0, i;
	int sv[2], fds[8];

	if (!quiet) {
		g_log_set_always_fatal(G_LOG_FATAL_MASK);
		fuzz_quiet_logs();
		quiet = true;
	}
	if (size < 3 || size > 64 * 1024)
		return 0;
	before = open_fds();
	if (data[0] & 1)
		proto |= VHU_PF(REPLY_ACK);
	if (data[0] & 2)
		proto |= VHU_PF(BACKEND_SEND_FD);
	nfds = data[1] & 7;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	{
		struct iovec iov = { (void *)(data + 2), size - 2 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
		if (sendmsg(sv[1], &mh, MSG_DONTWAIT) < 0)
			abort();
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	shutdown(sv[1], SHUT_WR);
	ops_calls = 0;
	while (vhu_backend_serve(sv[0], proto, 1, &h) == 0)
		served++;
	if (ops_calls > served)
		abort();
	i = count_replies(sv[1]);
	if (i > served || (i && !(proto & VHU_PF(REPLY_ACK))))
		abort(); /* more than one reply per request, or one nobody may ask for */
	close(sv[0]);
	close(sv[1]);
	if (open_fds() != before)
		abort();
	return 0;
}
