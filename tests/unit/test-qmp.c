/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmm/qmp.c: QMP conversations byte for byte as libxl (libxl_qmp.c: yajl's compact JSON,
 * "\r\n" after each message, numeric ids) has them with its device model, and what a
 * bad client can send: unknown commands, garbage, partial and oversized messages, deep
 * nesting, a disconnect mid-message.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "vmm/vmm.h"

struct fx {
	struct vmm_qmp_server srv;
	struct vmm_qmp_conn c;
	GString *out;
	unsigned changes, quits;
};

static struct fx *fx_of(struct vmm_qmp_server *s)
{
	return (struct fx *)((char *)s - offsetof(struct fx, srv));
}

static void on_change(struct vmm_qmp_server *s)
{
	fx_of(s)->changes++;
}

static void on_quit(struct vmm_qmp_server *s)
{
	fx_of(s)->quits++;
}

static const struct vmm_qmp_ops ops = { .state_changed = on_change, .quit = on_quit };

static void fx_setup(struct fx *f, gconstpointer data)
{
	f->srv.ops = &ops;
	f->srv.state = VMM_RUN_RUNNING;
	f->srv.chardevs = g_ptr_array_new();
	g_ptr_array_add(f->srv.chardevs, "libxl-cmd");
	g_ptr_array_add(f->srv.chardevs, "unix:/var/run/xen/qmp-libxl-5,server=on");
	vmm_qmp_conn_init(&f->c, &f->srv);
	f->out = g_string_new(NULL);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	vmm_qmp_conn_fini(&f->c);
	g_ptr_array_free(f->srv.chardevs, true);
	g_string_free(f->out, true);
}

/* Send, and compare everything that came back. */
static void say(struct fx *f, const char *in, const char *want)
{
	g_string_truncate(f->out, 0);
	g_assert_cmpint(vmm_qmp_feed(&f->c, in, strlen(in), f->out), ==, 0);
	g_assert_cmpstr(f->out->str, ==, want);
}

static void negotiate(struct fx *f)
{
	say(f, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
	    "{\"return\": {}, \"id\": 1}\r\n");
}

static void test_greeting(void)
{
	g_autoptr(GString) g = g_string_new(NULL);

	vmm_qmp_greeting(g);
	g_assert_cmpstr(
		g->str, ==,
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": "
		"7}, \"package\": \"xvdm\"}, \"capabilities\": []}}\r\n");
}

/* libxl's device-model start: capabilities, query-chardev, query-vnc; then a cont. */
static void test_libxl_start(struct fx *f, gconstpointer data)
{
	negotiate(f);
	say(f, "{\"execute\":\"query-chardev\",\"id\":2}\r\n",
	    "{\"return\": [{\"frontend-open\": true, \"filename\": "
	    "\"unix:/var/run/xen/qmp-libxl-5,server=on\", \"label\": \"libxl-cmd\"}], \"id\": "
	    "2}\r\n");
	say(f, "{\"execute\":\"query-vnc\",\"id\":3}\r\n",
	    "{\"return\": {\"enabled\": false}, \"id\": 3}\r\n");
	say(f, "{\"execute\":\"query-status\",\"id\":4}\r\n",
	    "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "
	    "\"id\": 4}\r\n");
	/* already running: no event, no state change */
	say(f, "{\"execute\":\"cont\",\"id\":5}\r\n", "{\"return\": {}, \"id\": 5}\r\n");
	g_assert_cmpuint(f->changes, ==, 0);
}

/* dm_restrict: -S, libxl asks query-status (wants prelaunch), later cont. */
static void test_prelaunch_cont(struct fx *f, gconstpointer data)
{
	f->srv.state = VMM_RUN_PRELAUNCH;
	negotiate(f);
	say(f, "{\"execute\":\"query-status\",\"id\":2}\r\n",
	    "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}, "
	    "\"id\": 2}\r\n");
	g_string_truncate(f->out, 0);
	g_assert_cmpint(vmm_qmp_feed(&f->c, "{\"execute\":\"cont\",\"id\":3}\r\n", 26, f->out), ==,
			0);
	g_assert_true(g_str_has_prefix(f->out->str, "{\"timestamp\": {\"seconds\": "));
	g_assert_nonnull(
		strstr(f->out->str, "\"event\": \"RESUME\"}\r\n{\"return\": {}, \"id\": 3}\r\n"));
	g_assert_cmpint(f->srv.state, ==, VMM_RUN_RUNNING);
	g_assert_cmpuint(f->changes, ==, 1);
	g_string_truncate(f->out, 0);
	g_assert_cmpint(vmm_qmp_feed(&f->c, "{\"execute\":\"stop\",\"id\":4}\r\n", 26, f->out), ==,
			0);
	g_assert_nonnull(
		strstr(f->out->str, "\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": 4}\r\n"));
	g_assert_cmpint(f->srv.state, ==, VMM_RUN_PAUSED);
	say(f, "{\"execute\":\"query-status\",\"id\":5}\r\n",
	    "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}, "
	    "\"id\": 5}\r\n");
}

static void test_quit(struct fx *f, gconstpointer data)
{
	negotiate(f);
	say(f, "{\"execute\":\"quit\",\"id\":9}\r\n", "{\"return\": {}, \"id\": 9}\r\n");
	g_assert_cmpuint(f->quits, ==, 1);
}

static void test_unknown(struct fx *f, gconstpointer data)
{
	say(f, "{\"execute\":\"query-status\",\"id\":1}\r\n",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
	    "negotiation with 'qmp_capabilities'\"}, \"id\": 1}\r\n");
	negotiate(f);
	say(f, "{\"execute\":\"qmp_capabilities\",\"id\":2}\r\n",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is "
	    "already complete, command ignored\"}, \"id\": 2}\r\n");
	/* libxl's save path: refused, the id echoed whatever its type */
	say(f,
	    "{\"execute\":\"xen-save-devices-state\",\"id\":\"libxl-7\",\"arguments\":{"
	    "\"filename\":"
	    "\"/var/lib/xen/qemu-save.3\",\"live\":false}}\r\n",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
	    "xen-save-devices-state has not been found\"}, \"id\": \"libxl-7\"}\r\n");
	say(f, "{\"execute\":\"device_add\",\"id\":{\"n\":[1,\"x\\\"y\"]}}",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command device_add has "
	    "not been found\"}, \"id\": {\"n\":[1,\"x\\\"y\"]}}\r\n");
	say(f, "{\"execute\":\"qu\\u0065ry-vnc\"}", "{\"return\": {\"enabled\": false}}\r\n");
	say(f, "{\"execute\":\"query-command-line-options\",\"id\":3}",
	    "{\"return\": [], \"id\": 3}\r\n");
}

static void test_members(struct fx *f, gconstpointer data)
{
	negotiate(f);
	say(f, "{\"id\":4}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member "
	    "'execute'\"}, \"id\": 4}\r\n");
	say(f, "{\"execute\":42}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' "
	    "must be a string\"}}\r\n");
	say(f, "{\"execute\":\"cont\",\"arguments\":[]}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' "
	    "must be an object\"}}\r\n");
	say(f, "{\"execute\":\"cont\",\"bogus\":1}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'bogus' is "
	    "unexpected\"}}\r\n");
}

/* Framing: one byte at a time, several messages per read, whitespace between them. */
static void test_framing(struct fx *f, gconstpointer data)
{
	static const char conv[] = "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n"
				   "  {\"execute\":\"query-vnc\",\"id\":2}\r\n"
				   "{\"execute\":\"query-status\",\"id\":\"a}{\"}";
	static const char want[] =
		"{\"return\": {}, \"id\": 1}\r\n"
		"{\"return\": {\"enabled\": false}, \"id\": 2}\r\n"
		"{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "
		"\"id\": \"a}{\"}\r\n";

	for (size_t i = 0; i < sizeof(conv) - 1; i++)
		g_assert_cmpint(vmm_qmp_feed(&f->c, conv + i, 1, f->out), ==, 0);
	g_assert_cmpstr(f->out->str, ==, want);
	vmm_qmp_conn_fini(&f->c);
	vmm_qmp_conn_init(&f->c, &f->srv);
	say(f, conv, want);
}

#define NOTOBJ                                                                            \
	"{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON " \
	"object\"}}\r\n"
#define PARSE_ERR "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n"

static void test_garbage(struct fx *f, gconstpointer data)
{
	say(f, "hello world\r\n", NOTOBJ NOTOBJ);
	say(f, "{bad json}", PARSE_ERR);
	say(f, "{\"execute\":\"cont\",}", PARSE_ERR);
	say(f, "{\"execute\":\"cont\"]", PARSE_ERR);
	say(f, "{\"execute\":\"co\x01nt\"}", PARSE_ERR);
	say(f, "{\"execute\":\"cont\"} x",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
	    "negotiation with 'qmp_capabilities'\"}}\r\n" NOTOBJ);
	say(f, "{\"execute\":\"\\q\"}", PARSE_ERR);
	say(f, "{\"execute\":\"x\",\"id\":01.}", PARSE_ERR);
	say(f, "[1,2]\n", NOTOBJ);
	/* still usable afterwards */
	negotiate(f);
}

static void test_oversized(struct fx *f, gconstpointer data)
{
	g_autoptr(GString) big = g_string_new("{\"execute\":\"query-status\",\"id\":\"");

	while (big->len <= VMM_QMP_MAX_MESSAGE)
		g_string_append(big, "AAAAAAAAAAAAAAAA");
	g_assert_cmpint(vmm_qmp_feed(&f->c, big->str, big->len, f->out), ==, -EMSGSIZE);
	g_assert_nonnull(strstr(f->out->str, "too large"));
}

static void test_deep(struct fx *f, gconstpointer data)
{
	g_autoptr(GString) deep = g_string_new("{\"execute\":\"cont\",\"id\":");

	for (int i = 0; i < VMM_QMP_MAX_DEPTH + 1; i++)
		g_string_append(deep, "[");
	g_assert_cmpint(vmm_qmp_feed(&f->c, deep->str, deep->len, f->out), ==, -EPROTO);
	g_assert_nonnull(strstr(f->out->str, "too deep"));
}

/* A client gone in the middle of a message: nothing answered, nothing kept. */
static void test_disconnect(struct fx *f, gconstpointer data)
{
	say(f, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n{\"execute\":\"qu",
	    "{\"return\": {}, \"id\": 1}\r\n");
	vmm_qmp_conn_fini(&f->c);
	vmm_qmp_conn_init(&f->c, &f->srv); /* the next client starts afresh */
	say(f, "ery-status\"}", NOTOBJ);
	negotiate(f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qmp/greeting", test_greeting);
#define T(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)
	T("/qmp/libxl/start", test_libxl_start);
	T("/qmp/libxl/prelaunch-cont-stop", test_prelaunch_cont);
	T("/qmp/libxl/quit", test_quit);
	T("/qmp/unknown-command", test_unknown);
	T("/qmp/members", test_members);
	T("/qmp/framing", test_framing);
	T("/qmp/garbage", test_garbage);
	T("/qmp/oversized", test_oversized);
	T("/qmp/too-deep", test_deep);
	T("/qmp/disconnect-mid-message", test_disconnect);
#undef T
	return g_test_run();
}
