/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: a small xenstored. Nodes live in a flat table (path ->
 * value); writing a node creates its missing parents. Watches fire as in xenstored:
 * once when registered, on a write of the node or any node below it, and on removal of
 * the node, a node below it or a node above it. "@introduceDomain" and "@releaseDomain"
 * fire when the test creates or destroys a domain. Transactions work on a snapshot and
 * are replayed on commit, so their changes appear (and fire watches) all at once; they
 * never fail with EAGAIN. Permissions and quotas are not simulated.
 * Trust boundary: paths, values and tokens from the process under test are checked
 * (length, characters) as xenstored does; the hv lock is held unless a function says so.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/xensim/hv-internal.h"

#define XS_PATH_MAX  3072 /* XENSTORE_ABS_PATH_MAX */
#define XS_VALUE_MAX 4096 /* XENSTORE_PAYLOAD_MAX */
#define DOM0_HOME    "/local/domain/0"

struct hv_watch {
	struct hv_conn *conn; /* NULL never: the test does not watch */
	char *path;	      /* absolute, or "@..." */
	char *given;	      /* as registered */
	char *token;
	bool rel;
};

struct hv_watch_event {
	char *path;
	char *token;
};

struct hv_txop {
	enum hv_xs_opk kind;
	char *path;
	GBytes *val;
};

struct hv_tx {
	uint32_t id;
	struct hv_conn *conn; /* NULL: the test's */
	GHashTable *snap;
	GPtrArray *ops;
};

struct hv_xs {
	GHashTable *nodes; /* char *path -> GBytes * */
	GPtrArray *watches;
	GHashTable *txs; /* id -> struct hv_tx * */
	uint32_t next_tx;
};

/* --- the node table --- */

static GHashTable *table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				     (GDestroyNotify)g_bytes_unref);
}

static void table_set(GHashTable *t, const char *p, const void *val, size_t len)
{
	g_hash_table_replace(t, g_strdup(p), g_bytes_new(val, len));
}

static bool is_under(const char *p, const char *parent)
{
	size_t n = strlen(parent);

	if (!strcmp(parent, "/"))
		return p[0] == '/';
	return !strncmp(p, parent, n) && (p[n] == '\0' || p[n] == '/');
}

static char *parent_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s == p ? g_strdup("/") : g_strndup(p, (size_t)(s - p));
}

static void st_write(GHashTable *t, const char *p, const void *val, size_t len)
{
	/* Missing parents appear with empty values. */
	for (const char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		char *par = g_strndup(p, (size_t)(s - p));

		if (!g_hash_table_contains(t, par))
			table_set(t, par, "", 0);
		g_free(par);
	}
	table_set(t, p, val, len);
}

/* 1 if something was removed, 0 if nothing was there (but the parent is), or -errno. */
static int st_rm(GHashTable *t, const char *p)
{
	GHashTableIter it;
	gpointer key;
	char *par;
	int ret;

	if (!strcmp(p, "/"))
		return -EINVAL;
	if (!g_hash_table_contains(t, p)) {
		/* xenstored: removing a missing node is fine if its parent exists */
		par = parent_of(p);
		ret = g_hash_table_contains(t, par) ? 0 : -ENOENT;
		g_free(par);
		return ret;
	}
	g_hash_table_iter_init(&it, t);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (is_under(key, p))
			g_hash_table_iter_remove(&it);
	}
	return 1;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the children of p, sorted (owned by the array), or NULL if p does not exist. */
static GPtrArray *st_dir(GHashTable *t, const char *p)
{
	size_t n = strcmp(p, "/") ? strlen(p) : 0;
	GHashTableIter it;
	GPtrArray *names;
	gpointer key;

	if (!g_hash_table_contains(t, p))
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	g_hash_table_iter_init(&it, t);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const char *k = key;

		if (strcmp(k, "/") && !strncmp(k, p, n) && k[n] == '/' && !strchr(k + n + 1, '/'))
			g_ptr_array_add(names, g_strdup(k + n + 1));
	}
	g_ptr_array_sort(names, cmp_str);
	return names;
}

/* --- paths --- */

/* The absolute form of a node path, or NULL if xenstored would refuse it. */
char *hv_xs_abs_path(const char *path, bool *ret_rel)
{
	bool rel = path[0] != '/';
	char *p = rel ? g_strconcat(DOM0_HOME "/", path, NULL) : g_strdup(path);
	size_t n = strlen(p);

	if (ret_rel)
		*ret_rel = rel;
	if (!path[0] || n > XS_PATH_MAX || strstr(p, "//") || (n > 1 && p[n - 1] == '/'))
		goto bad;
	for (const char *s = p; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("-/_@", *s))
			goto bad;
	}
	return p;
bad:
	g_free(p);
	return NULL;
}

/* --- watches --- */

static void queue_event(struct hv_watch *w, const char *path)
{
	struct hv_conn *c = w->conn;
	struct hv_watch_event *ev = g_new(struct hv_watch_event, 1);
	uint64_t one = 1;

	if (w->rel && is_under(path, DOM0_HOME) && strcmp(path, DOM0_HOME))
		path += strlen(DOM0_HOME "/");
	ev->path = g_strdup(path);
	ev->token = g_strdup(w->token);
	if (g_queue_is_empty(&c->events) && write(c->watch_efd, &one, sizeof(one)) < 0)
		fprintf(stderr, "hv: watch eventfd: %s\n", strerror(errno));
	g_queue_push_tail(&c->events, ev);
}

static void fire(struct hv *hv, const char *p, bool rm)
{
	for (unsigned i = 0; i < hv->xs->watches->len; i++) {
		struct hv_watch *w = g_ptr_array_index(hv->xs->watches, i);

		if (w->path[0] == '@')
			continue;
		if (is_under(p, w->path))
			queue_event(w, p);
		else if (rm && is_under(w->path, p))
			queue_event(w, w->path);
	}
}

void hv_xs_fire_special(struct hv *hv, const char *name)
{
	for (unsigned i = 0; i < hv->xs->watches->len; i++) {
		struct hv_watch *w = g_ptr_array_index(hv->xs->watches, i);

		if (!strcmp(w->path, name))
			queue_event(w, name);
	}
}

static void watch_free(struct hv_watch *w)
{
	g_free(w->path);
	g_free(w->given);
	g_free(w->token);
	g_free(w);
}

static void event_free(struct hv_watch_event *ev)
{
	g_free(ev->path);
	g_free(ev->token);
	g_free(ev);
}

/* --- transactions --- */

static void txop_free(struct hv_txop *op)
{
	g_free(op->path);
	if (op->val)
		g_bytes_unref(op->val);
	g_free(op);
}

static void tx_free(struct hv_tx *tx)
{
	g_hash_table_destroy(tx->snap);
	g_ptr_array_free(tx->ops, TRUE);
	g_free(tx);
}

static struct hv_tx *tx_new(struct hv *hv, struct hv_conn *c)
{
	struct hv_tx *tx = g_new0(struct hv_tx, 1);
	GHashTableIter it;
	gpointer k, v;

	if (!++hv->xs->next_tx)
		hv->xs->next_tx = 1;
	tx->id = hv->xs->next_tx;
	tx->conn = c;
	tx->snap = table_new();
	tx->ops = g_ptr_array_new_with_free_func((GDestroyNotify)txop_free);
	g_hash_table_iter_init(&it, hv->xs->nodes);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(tx->snap, g_strdup(k), g_bytes_ref(v));
	g_hash_table_insert(hv->xs->txs, GUINT_TO_POINTER(tx->id), tx);
	return tx;
}

/* The table an operation works on: the transaction's snapshot, or the store. */
static int pick(struct hv *hv, struct hv_conn *c, uint32_t tx_id, struct hv_tx **ret_tx,
		GHashTable **ret_t)
{
	struct hv_tx *tx = NULL;

	if (tx_id) {
		tx = g_hash_table_lookup(hv->xs->txs, GUINT_TO_POINTER(tx_id));
		if (!tx || tx->conn != c)
			return -ENOENT;
	}
	*ret_tx = tx;
	*ret_t = tx ? tx->snap : hv->xs->nodes;
	return 0;
}

/* --- operations, shared by the socket handlers and the test API --- */

int hv_xs_do_op(struct hv *hv, struct hv_conn *c, uint32_t tx_id, enum hv_xs_opk kind,
		const char *p, const void *val, size_t len)
{
	struct hv_tx *tx;
	GHashTable *t;
	int ret = pick(hv, c, tx_id, &tx, &t);

	if (ret < 0)
		return ret;
	if (len > XS_VALUE_MAX)
		return -E2BIG;
	if (kind == HV_XS_RM) {
		ret = st_rm(t, p);
		if (ret < 0)
			return ret;
	} else if (kind == HV_XS_WRITE || !g_hash_table_contains(t, p)) {
		st_write(t, p, val, len);
		ret = 1;
	}
	if (tx) {
		struct hv_txop *op = g_new0(struct hv_txop, 1);

		op->kind = kind;
		op->path = g_strdup(p);
		op->val = kind == HV_XS_WRITE ? g_bytes_new(val, len) : NULL;
		g_ptr_array_add(tx->ops, op);
		return 0;
	}
	if (ret > 0) {
		fire(hv, p, kind == HV_XS_RM);
		hv_log_add_xs(hv, kind == HV_XS_RM ? HV_EV_XS_RM : HV_EV_XS_WRITE, p,
			      kind == HV_XS_RM ? NULL : val, len, c != NULL);
	}
	return 0;
}

int hv_xs_tx_finish(struct hv *hv, struct hv_conn *c, uint32_t tx_id, bool abort)
{
	struct hv_tx *tx = g_hash_table_lookup(hv->xs->txs, GUINT_TO_POINTER(tx_id));

	if (!tx_id || !tx || tx->conn != c)
		return -ENOENT;
	g_hash_table_steal(hv->xs->txs, GUINT_TO_POINTER(tx_id));
	for (unsigned i = 0; !abort && i < tx->ops->len; i++) {
		struct hv_txop *op = g_ptr_array_index(tx->ops, i);
		gsize len = 0;
		const void *val = op->val ? g_bytes_get_data(op->val, &len) : NULL;

		hv_xs_do_op(hv, c, 0, op->kind, op->path, val, len);
	}
	tx_free(tx);
	return 0;
}

int hv_xs_do_read(struct hv *hv, struct hv_conn *c, uint32_t tx_id, const char *p, GBytes **ret)
{
	struct hv_tx *tx;
	GHashTable *t;
	int r = pick(hv, c, tx_id, &tx, &t);

	if (r < 0)
		return r;
	*ret = g_hash_table_lookup(t, p);
	return *ret ? 0 : -ENOENT;
}

/* --- socket handlers --- */

/* data = path '\0' [rest]: the absolute path (g_free) and the rest, or NULL (EINVAL). */
static char *split_req(const char *data, size_t len, const char **rest, size_t *rest_len,
		       bool *ret_rel)
{
	const char *nul = memchr(data, '\0', len);

	if (!nul)
		return NULL;
	*rest = nul + 1;
	*rest_len = len - (size_t)(nul + 1 - data);
	return hv_xs_abs_path(data, ret_rel);
}

void hv_op_xs_open(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		   struct hv_reply *r)
{
	int ret;

	if (c->watch_efd < 0)
		c->watch_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ret = c->watch_efd < 0 ? -errno : hv_reply_fd(r, c->watch_efd);
	if (ret < 0)
		r->err = -ret;
}

void hv_op_xs_read(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		   struct hv_reply *r)
{
	const char *rest;
	size_t rlen;
	char *p = split_req(data, len, &rest, &rlen, NULL);
	GBytes *v;
	gsize vlen;
	const void *vd;
	int ret;

	ret = p ? hv_xs_do_read(c->hv, c, req->id, p, &v) : -EINVAL;
	if (!ret) {
		vd = g_bytes_get_data(v, &vlen);
		g_byte_array_append(r->data, vd, (guint)vlen);
	}
	r->err = -ret;
	g_free(p);
}

static void mutate(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		   struct hv_reply *r, enum hv_xs_opk kind)
{
	const char *rest;
	size_t rlen;
	char *p = split_req(data, len, &rest, &rlen, NULL);

	r->err = p ? -hv_xs_do_op(c->hv, c, req->id, kind, p, rest, kind == HV_XS_WRITE ? rlen : 0)
		   : EINVAL;
	g_free(p);
}

void hv_op_xs_write(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		    struct hv_reply *r)
{
	mutate(c, req, data, len, r, HV_XS_WRITE);
}

void hv_op_xs_mkdir(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		    struct hv_reply *r)
{
	mutate(c, req, data, len, r, HV_XS_MKDIR);
}

void hv_op_xs_rm(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		 struct hv_reply *r)
{
	mutate(c, req, data, len, r, HV_XS_RM);
}

void hv_op_xs_directory(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
			struct hv_reply *r)
{
	const char *rest;
	size_t rlen;
	char *p = split_req(data, len, &rest, &rlen, NULL);
	struct hv_tx *tx;
	GHashTable *t;
	GPtrArray *names = NULL;

	r->err = p ? -pick(c->hv, c, req->id, &tx, &t) : EINVAL;
	if (!r->err) {
		names = st_dir(t, p);
		r->err = names ? 0 : ENOENT;
	}
	for (unsigned i = 0; names && i < names->len; i++) {
		const char *n = g_ptr_array_index(names, i);

		g_byte_array_append(r->data, (const guint8 *)n, (guint)strlen(n) + 1);
	}
	if (names && r->data->len > XSIM_DATA_MAX) {
		r->err = E2BIG;
		g_byte_array_set_size(r->data, 0);
	}
	r->val[0] = names && !r->err ? names->len : 0;
	if (names)
		g_ptr_array_free(names, TRUE);
	g_free(p);
}

/* Watch requests: data = path '\0' token '\0'. */
static int watch_args(const char *data, size_t len, char **ret_path, bool *ret_rel,
		      const char **ret_token)
{
	const char *tok, *end;
	size_t tlen;

	if (!len || !memchr(data, '\0', len))
		return -EINVAL;
	if (data[0] == '@') {
		if (strcmp(data, "@releaseDomain") && strcmp(data, "@introduceDomain"))
			return -EINVAL;
		*ret_path = g_strdup(data);
		*ret_rel = false;
		tok = data + strlen(data) + 1;
		tlen = len - strlen(data) - 1;
	} else {
		*ret_path = split_req(data, len, &tok, &tlen, ret_rel);
		if (!*ret_path)
			return -EINVAL;
	}
	end = memchr(tok, '\0', tlen);
	if (!end) {
		g_free(*ret_path);
		return -EINVAL;
	}
	*ret_token = tok;
	return 0;
}

static struct hv_watch *find_watch(struct hv_conn *c, const char *given, const char *token,
				   unsigned *ret_i)
{
	for (unsigned i = 0; i < c->hv->xs->watches->len; i++) {
		struct hv_watch *w = g_ptr_array_index(c->hv->xs->watches, i);

		if (w->conn == c && !strcmp(w->given, given) && !strcmp(w->token, token)) {
			*ret_i = i;
			return w;
		}
	}
	return NULL;
}

void hv_op_xs_watch(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		    struct hv_reply *r)
{
	struct hv_watch *w;
	const char *token;
	char *p;
	bool rel;
	unsigned i;
	int ret = watch_args(data, len, &p, &rel, &token);

	if (ret < 0 || c->watch_efd < 0) {
		r->err = ret < 0 ? -ret : EBADF;
		return;
	}
	if (find_watch(c, data, token, &i)) {
		g_free(p);
		r->err = EEXIST;
		return;
	}
	w = g_new0(struct hv_watch, 1);
	w->conn = c;
	w->path = p;
	w->given = g_strdup(data);
	w->token = g_strdup(token);
	w->rel = rel;
	g_ptr_array_add(c->hv->xs->watches, w);
	/* xenstored fires every new watch once, with the path as registered. */
	queue_event(&(struct hv_watch){ .conn = c, .token = w->token }, w->given);
}

void hv_op_xs_unwatch(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		      struct hv_reply *r)
{
	const char *token;
	char *p;
	bool rel;
	unsigned i;
	struct hv_watch *w;
	int ret = watch_args(data, len, &p, &rel, &token);

	if (ret < 0) {
		r->err = -ret;
		return;
	}
	g_free(p);
	w = find_watch(c, data, token, &i);
	if (!w) {
		r->err = ENOENT;
		return;
	}
	g_ptr_array_remove_index(c->hv->xs->watches, i);
	watch_free(w);
}

void hv_op_xs_get_watch(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
			struct hv_reply *r)
{
	struct hv_watch_event *ev = g_queue_pop_head(&c->events);
	uint64_t cnt;

	if (!ev) {
		r->err = EAGAIN;
		return;
	}
	g_byte_array_append(r->data, (const guint8 *)ev->path, (guint)strlen(ev->path) + 1);
	g_byte_array_append(r->data, (const guint8 *)ev->token, (guint)strlen(ev->token) + 1);
	event_free(ev);
	/* Empty queue: the fd stops being readable. */
	if (g_queue_is_empty(&c->events) && read(c->watch_efd, &cnt, sizeof(cnt)) < 0 &&
	    errno != EAGAIN)
		fprintf(stderr, "hv: watch eventfd: %s\n", strerror(errno));
}

void hv_op_xs_tx_start(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		       struct hv_reply *r)
{
	r->val[0] = tx_new(c->hv, c)->id;
}

void hv_op_xs_tx_end(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		     struct hv_reply *r)
{
	r->err = -hv_xs_tx_finish(c->hv, c, req->id, req->arg[0] != 0);
}

void hv_op_xs_introduced(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	r->val[0] = hv_find_dom(c->hv, req->domid) != NULL;
}

/* --- lifetime --- */

struct hv_xs *hv_xs_new(void)
{
	struct hv_xs *xs = g_new0(struct hv_xs, 1);

	xs->nodes = table_new();
	xs->watches = g_ptr_array_new();
	xs->txs =
		g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)tx_free);
	/* What xenstored and xen-init-dom0 leave behind. */
	table_set(xs->nodes, "/", "", 0);
	st_write(xs->nodes, "/tool/xenstored", "", 0);
	st_write(xs->nodes, DOM0_HOME "/name", "Domain-0", 8);
	st_write(xs->nodes, DOM0_HOME "/domid", "0", 1);
	return xs;
}

void hv_xs_free(struct hv_xs *xs)
{
	g_hash_table_destroy(xs->nodes);
	for (unsigned i = 0; i < xs->watches->len; i++)
		watch_free(g_ptr_array_index(xs->watches, i));
	g_ptr_array_free(xs->watches, TRUE);
	g_hash_table_destroy(xs->txs);
	g_free(xs);
}

void hv_xs_conn_closed(struct hv_conn *c)
{
	GHashTableIter it;
	gpointer v;

	for (unsigned i = c->hv->xs->watches->len; i-- > 0;) {
		struct hv_watch *w = g_ptr_array_index(c->hv->xs->watches, i);

		if (w->conn == c) {
			g_ptr_array_remove_index(c->hv->xs->watches, i);
			watch_free(w);
		}
	}
	g_hash_table_iter_init(&it, c->hv->xs->txs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		if (((struct hv_tx *)v)->conn == c)
			g_hash_table_iter_remove(&it);
	}
}

void hv_xs_conn_free(struct hv_conn *c)
{
	g_queue_clear_full(&c->events, (GDestroyNotify)event_free);
	if (c->watch_efd >= 0)
		close(c->watch_efd);
}

uint32_t hv_xs_tx_new(struct hv *hv, struct hv_conn *c)
{
	return tx_new(hv, c)->id;
}

/* Children of p (names owned by the array), or NULL with *ret_err. */
GPtrArray *hv_xs_list(struct hv *hv, struct hv_conn *c, uint32_t tx_id, const char *p, int *ret_err)
{
	struct hv_tx *tx;
	GHashTable *t;
	GPtrArray *names;

	*ret_err = pick(hv, c, tx_id, &tx, &t);
	if (*ret_err)
		return NULL;
	names = st_dir(t, p);
	*ret_err = names ? 0 : -ENOENT;
	return names;
}

bool hv_xs_watched(struct hv *hv, const char *p)
{
	for (unsigned i = 0; i < hv->xs->watches->len; i++) {
		struct hv_watch *w = g_ptr_array_index(hv->xs->watches, i);

		if (w->path[0] != '@' && is_under(p, w->path))
			return true;
	}
	return false;
}

void hv_xs_dump(struct hv *hv, FILE *f)
{
	GPtrArray *keys = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;

	pthread_mutex_lock(&hv->lock);
	g_hash_table_iter_init(&it, hv->xs->nodes);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(keys, key);
	g_ptr_array_sort(keys, cmp_str);
	fprintf(f, "xenstore (%u nodes):\n", keys->len);
	for (unsigned i = 0; i < keys->len; i++) {
		const char *k = g_ptr_array_index(keys, i);
		GBytes *b = g_hash_table_lookup(hv->xs->nodes, k);
		gsize len;
		const char *d = g_bytes_get_data(b, &len);

		fprintf(f, "  %s = \"%.*s\"\n", k, (int)len, d ? d : "");
	}
	for (unsigned i = 0; i < hv->xs->watches->len; i++) {
		struct hv_watch *w = g_ptr_array_index(hv->xs->watches, i);

		fprintf(f, "  watch conn%u %s token %s\n", w->conn->id, w->given, w->token);
	}
	g_ptr_array_free(keys, TRUE);
	pthread_mutex_unlock(&hv->lock);
}
