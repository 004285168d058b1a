/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: what a QMP client (libxl, or anything that can reach the monitor
 * socket) sends, through vmm/qmp.c's engine, cut into reads of fuzzer-chosen sizes.
 * Checks: every reply is one line ending in "\r\n"; the engine's buffer never holds more
 * than one message's bound; a dropped client (-EMSGSIZE/-EPROTO) got its error reply;
 * run state changes only through cont/stop; nothing is ever read past the input.
 *
 * Input: byte 0 seeds the read sizes (1..64 bytes each), the rest is the byte stream.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-quiet.h"
#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

static unsigned quits;

static void state_changed(struct vmm_qmp_server *srv)
{
	CHECK(srv->state == VMM_RUN_RUNNING || srv->state == VMM_RUN_PAUSED);
}

static void quit(struct vmm_qmp_server *srv)
{
	quits++;
}

static const struct vmm_qmp_ops ops = { .state_changed = state_changed, .quit = quit };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

/* Replies are whole lines: JSON objects ending in CRLF, no bare CR or LF inside. */
static void check_replies(const GString *out)
{
	const char *p = out->str, *end = out->str + out->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);

		CHECK(nl && nl > p && nl[-1] == '\r');
		CHECK(p[0] == '{' && nl[-2] == '}');
		CHECK(!memchr(p, '\r', nl - 1 - p));
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_qmp_server srv = { .ops = &ops, .state = VMM_RUN_RUNNING };
	struct vmm_qmp_conn c;
	GString *out = g_string_new(NULL);
	unsigned seed = size ? data[0] : 0;
	size_t off = size ? 1 : 0;

	srv.chardevs = g_ptr_array_new();
	g_ptr_array_add(srv.chardevs, (char *)"libxl-cmd");
	g_ptr_array_add(srv.chardevs, (char *)"unix:/run/xen/qmp-libxl-1,server=on");
	vmm_qmp_conn_init(&c, &srv);
	vmm_qmp_greeting(out);
	while (off < size) {
		size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 64;
		int r;

		n = n > size - off ? size - off : n;
		g_string_truncate(out, 0);
		r = vmm_qmp_feed(&c, (const char *)data + off, n, out);
		off += n;
		check_replies(out);
		CHECK(c.in->len <= VMM_QMP_MAX_MESSAGE);
		CHECK(c.depth <= VMM_QMP_MAX_DEPTH + 1);
		if (r < 0) {
			CHECK(r == -EMSGSIZE || r == -EPROTO);
			CHECK(out->len > 0); /* the client is told why before it is dropped */
			vmm_qmp_conn_fini(&c);
			vmm_qmp_conn_init(&c, &srv);
		}
	}
	vmm_qmp_conn_fini(&c);
	g_ptr_array_free(srv.chardevs, true);
	g_string_free(out, true);
	return 0;
}
