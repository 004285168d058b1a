/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP subset libxl speaks to its device model (libxl_qmp.c, QEMU's qapi docs),
 * without sockets: bytes in, replies out (vmm/qmp-sock.c owns the sockets).
 *
 *   <- {"QMP": {"version": {...}, "capabilities": []}}\r\n
 *   -> {"execute":"qmp_capabilities","id":1}\r\n
 *   <- {"return": {}, "id": 1}\r\n
 *   -> {"execute":"query-chardev","id":2}\r\n
 *   <- {"return": [{"frontend-open": true, "filename": "unix:...", "label": ...}], "id": 2}\r\n
 *
 * Commands: qmp_capabilities, query-chardev, query-status, query-vnc, query-version,
 * query-commands, query-command-line-options, cont, stop, quit; anything else gets
 * CommandNotFound with the id echoed, as QEMU does.
 *
 * Trust boundary: every byte comes from a local client of the monitor socket (libxl,
 * libxenstat, or anything that can connect). A message is bounded
 * (VMM_QMP_MAX_MESSAGE, nesting VMM_QMP_MAX_DEPTH); it is split off the stream by
 * counting braces outside strings, then parsed by a strict recursive-descent parser of
 * the JSON subset QMP uses. Garbage gets an error reply; only an oversized or too deeply
 * nested message drops the client.
 */
#include <errno.h>
#include <string.h>

#include "vmm/vmm.h"

/* The QEMU release whose command set and replies we follow (Debian 12: QEMU 7.2). */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2

const char *vmm_run_state_name(enum vmm_run_state s)
{
	switch (s) {
	case VMM_RUN_PRELAUNCH:
		return "prelaunch";
	case VMM_RUN_PAUSED:
		return "paused";
	case VMM_RUN_RUNNING:
	default:
		return "running";
	}
}

void vmm_qmp_conn_init(struct vmm_qmp_conn *c, struct vmm_qmp_server *srv)
{
	memset(c, 0, sizeof(*c));
	c->srv = srv;
	c->in = g_string_new(NULL);
}

void vmm_qmp_conn_fini(struct vmm_qmp_conn *c)
{
	if (c->in)
		g_string_free(c->in, true);
	c->in = NULL;
}

static void json_str(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			g_string_append_printf(out, "\\%c", ch);
		else if (ch < 0x20)
			g_string_append_printf(out, "\\u%04x", ch);
		else
			g_string_append_c(out, ch);
	}
	g_string_append_c(out, '"');
}

void vmm_qmp_greeting(GString *out)
{
	g_string_append_printf(out,
			       "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": %d, "
			       "\"major\": %d}, \"package\": \"xvdm\"}, \"capabilities\": []}}\r\n",
			       QMP_QEMU_MINOR, QMP_QEMU_MAJOR);
}

/* ---- the JSON subset: a strict parser over one complete message ---- */

struct jp {
	const char *s;
	size_t n, i;
	unsigned depth;
};

static bool jp_more(const struct jp *p)
{
	return p->i < p->n;
}

static void jp_ws(struct jp *p)
{
	while (jp_more(p) && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' ||
			      p->s[p->i] == '\n'))
		p->i++;
}

static int hex4(const char *s, gunichar *ret)
{
	gunichar v = 0;

	for (int k = 0; k < 4; k++) {
		int d = g_ascii_xdigit_value(s[k]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

/* A string at p->i; its decoded text into out (if not NULL). */
static int jp_string(struct jp *p, GString *out)
{
	if (!jp_more(p) || p->s[p->i] != '"')
		return -EINVAL;
	p->i++;
	while (jp_more(p)) {
		unsigned char ch = p->s[p->i++];
		char buf[6];
		gunichar u;

		if (ch == '"')
			return out && !g_utf8_validate(out->str, out->len, NULL) ? -EINVAL : 0;
		if (ch < 0x20)
			return -EINVAL;
		if (ch != '\\') {
			if (out)
				g_string_append_c(out, ch);
			continue;
		}
		if (!jp_more(p))
			return -EINVAL;
		ch = p->s[p->i++];
		switch (ch) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			ch = '\b';
			break;
		case 'f':
			ch = '\f';
			break;
		case 'n':
			ch = '\n';
			break;
		case 'r':
			ch = '\r';
			break;
		case 't':
			ch = '\t';
			break;
		case 'u':
			if (p->n - p->i < 4 || hex4(p->s + p->i, &u) < 0 || u == 0)
				return -EINVAL;
			p->i += 4;
			if (u >= 0xd800 && u <= 0xdfff)
				u = 0xfffd; /* surrogates: not needed by any command here */
			if (out)
				g_string_append_len(out, buf, g_unichar_to_utf8(u, buf));
			continue;
		default:
			return -EINVAL;
		}
		if (out)
			g_string_append_c(out, ch);
	}
	return -EINVAL;
}

static int jp_number(struct jp *p)
{
	size_t start = p->i, digits;

	if (p->s[p->i] == '-')
		p->i++;
	for (digits = 0; jp_more(p) && g_ascii_isdigit(p->s[p->i]); digits++)
		p->i++;
	if (!digits)
		return -EINVAL;
	if (jp_more(p) && p->s[p->i] == '.') {
		p->i++;
		for (digits = 0; jp_more(p) && g_ascii_isdigit(p->s[p->i]); digits++)
			p->i++;
		if (!digits)
			return -EINVAL;
	}
	if (jp_more(p) && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (jp_more(p) && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		for (digits = 0; jp_more(p) && g_ascii_isdigit(p->s[p->i]); digits++)
			p->i++;
		if (!digits)
			return -EINVAL;
	}
	return p->i > start ? 0 : -EINVAL;
}

static int jp_value(struct jp *p);

/* An object or array body after its opening character. */
static int jp_container(struct jp *p, char close)
{
	int r;

	if (++p->depth > VMM_QMP_MAX_DEPTH)
		return -EINVAL;
	jp_ws(p);
	if (jp_more(p) && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return 0;
	}
	for (;;) {
		jp_ws(p);
		if (close == '}') {
			if ((r = jp_string(p, NULL)) < 0)
				return r;
			jp_ws(p);
			if (!jp_more(p) || p->s[p->i++] != ':')
				return -EINVAL;
		}
		if ((r = jp_value(p)) < 0)
			return r;
		jp_ws(p);
		if (!jp_more(p))
			return -EINVAL;
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i++] != close)
			return -EINVAL;
		p->depth--;
		return 0;
	}
}

static int jp_value(struct jp *p)
{
	static const char *const lits[] = { "true", "false", "null" };

	jp_ws(p);
	if (!jp_more(p))
		return -EINVAL;
	switch (p->s[p->i]) {
	case '{':
		p->i++;
		return jp_container(p, '}');
	case '[':
		p->i++;
		return jp_container(p, ']');
	case '"':
		return jp_string(p, NULL);
	default:
		break;
	}
	if (p->s[p->i] == '-' || g_ascii_isdigit(p->s[p->i]))
		return jp_number(p);
	for (unsigned k = 0; k < G_N_ELEMENTS(lits); k++) {
		size_t len = strlen(lits[k]);

		if (p->n - p->i >= len && !memcmp(p->s + p->i, lits[k], len)) {
			p->i += len;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- requests ---- */

struct qmp_req {
	GString *execute; /* NULL if absent */
	bool execute_bad; /* present but not a string */
	bool args_bad;	  /* "arguments" present but not an object */
	const char *id;	  /* raw JSON of "id", echoed verbatim; NULL if absent */
	size_t id_len;
	GString *unexpected; /* the first unexpected member */
};

static int parse_member(struct jp *p, struct qmp_req *q, const char *key)
{
	size_t start;
	int r;

	jp_ws(p);
	start = p->i;
	if (!strcmp(key, "execute")) {
		if (jp_more(p) && p->s[p->i] == '"') {
			if (q->execute)
				g_string_truncate(q->execute, 0);
			else
				q->execute = g_string_new(NULL);
			q->execute_bad = false;
			return jp_string(p, q->execute);
		}
		q->execute_bad = true;
	}
	if ((r = jp_value(p)) < 0)
		return r;
	if (!strcmp(key, "id")) {
		q->id = p->s + start;
		q->id_len = p->i - start;
	} else if (!strcmp(key, "arguments")) {
		q->args_bad = p->s[start] != '{';
	} else if (strcmp(key, "execute") && !q->unexpected) {
		q->unexpected = g_string_new(key);
	}
	return 0;
}

static int parse_request(const char *s, size_t n, struct qmp_req *q)
{
	struct jp p = { .s = s, .n = n };
	int r;

	jp_ws(&p);
	if (!jp_more(&p) || p.s[p.i] != '{')
		return -EINVAL;
	p.i++;
	p.depth = 1;
	jp_ws(&p);
	if (jp_more(&p) && p.s[p.i] == '}')
		return 0;
	for (;;) {
		g_autoptr(GString) key = g_string_new(NULL);

		jp_ws(&p);
		if ((r = jp_string(&p, key)) < 0)
			return r;
		jp_ws(&p);
		if (!jp_more(&p) || p.s[p.i++] != ':')
			return -EINVAL;
		if ((r = parse_member(&p, q, key->str)) < 0)
			return r;
		jp_ws(&p);
		if (!jp_more(&p))
			return -EINVAL;
		if (p.s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.s[p.i++] != '}')
			return -EINVAL;
		jp_ws(&p);
		return jp_more(&p) ? -EINVAL : 0;
	}
}

/*
 * The id as the client wrote it, less the JSON whitespace outside strings: a CR or LF
 * there would break the reply's line framing (strings hold no raw control characters:
 * the parser refused those).
 */
static void append_id(GString *out, const char *id, size_t len)
{
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (in_str) {
			in_str = esc || c != '"';
			esc = !esc && c == '\\';
		} else if (c == '"') {
			in_str = true;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		}
		g_string_append_c(out, c);
	}
}

static void reply_end(GString *out, const struct qmp_req *q)
{
	if (q && q->id) {
		g_string_append(out, ", \"id\": ");
		append_id(out, q->id, q->id_len);
	}
	g_string_append(out, "}\r\n");
}

static void reply_error(GString *out, const struct qmp_req *q, const char *cls, const char *desc)
{
	g_string_append_printf(out, "{\"error\": {\"class\": \"%s\", \"desc\": ", cls);
	json_str(out, desc);
	g_string_append_c(out, '}');
	reply_end(out, q);
}

static void emit_event(GString *out, const char *name)
{
	gint64 now = g_get_real_time();

	g_string_append_printf(out,
			       "{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT
			       ", \"microseconds\": %" G_GINT64_FORMAT "}, \"event\": \"%s\"}\r\n",
			       now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, name);
}

/* ---- commands: each appends its "return" value ---- */

struct qmp_cmd {
	const char *name;
	void (*run)(struct vmm_qmp_conn *c, GString *ret, GString *events);
};

static void cmd_empty(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	g_string_append(ret, "{}");
}

static void cmd_capabilities(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	c->negotiated = true;
	g_string_append(ret, "{}");
}

static void cmd_chardev(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	GPtrArray *cd = c->srv->chardevs;

	g_string_append_c(ret, '[');
	for (guint i = 0; cd && i + 1 < cd->len; i += 2) {
		g_string_append(ret, i ? ", {\"frontend-open\": true, \"filename\": "
				       : "{\"frontend-open\": true, \"filename\": ");
		json_str(ret, cd->pdata[i + 1]);
		g_string_append(ret, ", \"label\": ");
		json_str(ret, cd->pdata[i]);
		g_string_append_c(ret, '}');
	}
	g_string_append_c(ret, ']');
}

static void cmd_status(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	enum vmm_run_state s = c->srv->state;

	g_string_append_printf(ret, "{\"status\": \"%s\", \"singlestep\": false, \"running\": %s}",
			       vmm_run_state_name(s), s == VMM_RUN_RUNNING ? "true" : "false");
}

static void cmd_vnc(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	g_string_append(ret, "{\"enabled\": false}");
}

static void cmd_version(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	g_string_append_printf(ret,
			       "{\"qemu\": {\"micro\": 0, \"minor\": %d, \"major\": %d}, "
			       "\"package\": \"xvdm\"}",
			       QMP_QEMU_MINOR, QMP_QEMU_MAJOR);
}

static void set_state(struct vmm_qmp_conn *c, enum vmm_run_state s, GString *events)
{
	struct vmm_qmp_server *srv = c->srv;

	if (srv->state == s)
		return;
	srv->state = s;
	emit_event(events, s == VMM_RUN_RUNNING ? "RESUME" : "STOP");
	if (srv->ops && srv->ops->state_changed)
		srv->ops->state_changed(srv);
}

static void cmd_cont(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	set_state(c, VMM_RUN_RUNNING, events);
	g_string_append(ret, "{}");
}

static void cmd_stop(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	set_state(c, VMM_RUN_PAUSED, events);
	g_string_append(ret, "{}");
}

static void cmd_commands(struct vmm_qmp_conn *c, GString *ret, GString *events);

static const struct qmp_cmd qmp_cmds[] = {
	{ "qmp_capabilities", cmd_capabilities },
	{ "query-chardev", cmd_chardev },
	{ "query-status", cmd_status },
	{ "query-vnc", cmd_vnc },
	{ "query-version", cmd_version },
	{ "query-commands", cmd_commands },
	{ "query-command-line-options", NULL }, /* [] : nothing to introspect */
	{ "cont", cmd_cont },
	{ "stop", cmd_stop },
	{ "quit", cmd_empty }, /* the owner ends the process after the reply */
};

static void cmd_commands(struct vmm_qmp_conn *c, GString *ret, GString *events)
{
	g_string_append_c(ret, '[');
	for (unsigned i = 0; i < G_N_ELEMENTS(qmp_cmds); i++)
		g_string_append_printf(ret, "%s{\"name\": \"%s\"}", i ? ", " : "",
				       qmp_cmds[i].name);
	g_string_append_c(ret, ']');
}

/* Why a request cannot run (QEMU's wording), or NULL; *ret_cls is the error class. */
static char *check_request(struct vmm_qmp_conn *c, const struct qmp_req *q,
			   const struct qmp_cmd *cmd, const char **ret_cls)
{
	*ret_cls = "GenericError";
	if (q->execute_bad)
		return g_strdup("QMP input member 'execute' must be a string");
	if (q->args_bad)
		return g_strdup("QMP input member 'arguments' must be an object");
	if (q->unexpected)
		return g_strdup_printf("QMP input member '%s' is unexpected", q->unexpected->str);
	if (!q->execute)
		return g_strdup("QMP input lacks member 'execute'");
	*ret_cls = "CommandNotFound";
	if (!c->negotiated && (!cmd || cmd->run != cmd_capabilities))
		return g_strdup("Expecting capabilities negotiation with 'qmp_capabilities'");
	if (c->negotiated && cmd && cmd->run == cmd_capabilities)
		return g_strdup("Capabilities negotiation is already complete, command ignored");
	if (!cmd)
		return g_strdup_printf("The command %s has not been found", q->execute->str);
	return NULL;
}

static void dispatch(struct vmm_qmp_conn *c, const struct qmp_req *q, GString *out)
{
	const struct qmp_cmd *cmd = NULL;
	g_autoptr(GString) ret = g_string_new(NULL);
	g_autoptr(GString) events = g_string_new(NULL);
	g_autofree char *desc = NULL;
	const char *cls;

	for (unsigned i = 0; q->execute && i < G_N_ELEMENTS(qmp_cmds); i++)
		if (!strcmp(qmp_cmds[i].name, q->execute->str))
			cmd = &qmp_cmds[i];
	desc = check_request(c, q, cmd, &cls);
	if (desc) {
		reply_error(out, q, cls, desc);
		return;
	}
	if (cmd->run)
		cmd->run(c, ret, events);
	else
		g_string_append(ret, "[]");
	g_string_append_len(out, events->str, events->len);
	g_string_append_printf(out, "{\"return\": %s", ret->str);
	reply_end(out, q);
	if (!strcmp(cmd->name, "quit") && c->srv->ops && c->srv->ops->quit)
		c->srv->ops->quit(c->srv);
}

static void handle_message(struct vmm_qmp_conn *c, GString *out)
{
	struct qmp_req q = { 0 };

	if (parse_request(c->in->str, c->in->len, &q) < 0)
		reply_error(out, NULL, "GenericError", "JSON parse error");
	else
		dispatch(c, &q, out);
	if (q.execute)
		g_string_free(q.execute, true);
	if (q.unexpected)
		g_string_free(q.unexpected, true);
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One byte of a message being split off the stream; 1 when the message is complete. */
static int split_byte(struct vmm_qmp_conn *c, char ch)
{
	g_string_append_c(c->in, ch);
	if (c->in->len > VMM_QMP_MAX_MESSAGE)
		return -EMSGSIZE;
	if (c->in_str) {
		if (c->esc)
			c->esc = false;
		else if (ch == '\\')
			c->esc = true;
		else if (ch == '"')
			c->in_str = false;
		return 0;
	}
	if (ch == '"') {
		c->in_str = true;
	} else if (ch == '{' || ch == '[') {
		if (++c->depth > VMM_QMP_MAX_DEPTH)
			return -EPROTO;
	} else if (ch == '}' || ch == ']') {
		if (--c->depth == 0)
			return 1;
	}
	return 0;
}

int vmm_qmp_feed(struct vmm_qmp_conn *c, const char *data, size_t len, GString *out)
{
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		int r;

		if (c->in->len == 0) {
			if (c->garbage && !is_ws(ch) && ch != '{')
				continue;
			c->garbage = false;
			if (is_ws(ch))
				continue;
			if (ch != '{') {
				/* QMP input must be an object: one reply per stray token */
				reply_error(out, NULL, "GenericError",
					    "QMP input must be a JSON object");
				c->garbage = true;
				continue;
			}
		}
		r = split_byte(c, ch);
		if (r < 0) {
			reply_error(out, NULL, "GenericError",
				    r == -EMSGSIZE ? "JSON message too large (closing)"
						   : "JSON nesting too deep (closing)");
			return r;
		}
		if (r == 1) {
			handle_message(c, out);
			g_string_truncate(c->in, 0);
			c->depth = 0;
			c->in_str = c->esc = false;
		}
	}
	return 0;
}
