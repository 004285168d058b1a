/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QMP monitor socket: -chardev socket,id=ID,path=P,server=on,wait=off (or an fd libxl
 * bound and passed, fd=N). Like QEMU's socket chardev it serves one client at a time:
 * while one is connected the listener is not polled, further clients wait in the
 * backlog; libxl connects once per operation.
 *
 * Trust boundary: whoever can connect to the socket (root-owned directory in dm mode).
 * Reads are bounded per call; the message parser (vmm/qmp.c) bounds each message; a
 * client that does not read its replies is dropped once VMM_QMP_MAX_PENDING bytes wait.
 * A client may disconnect at any byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib-unix.h>

#include "common/log.h"
#include "vmm/vmm.h"

struct vmm_qmp_mon {
	struct vmm_qmp_server *srv;
	char *id;
	char *path; /* bound by us: unlinked at the end */
	int lfd;
	guint accept_src;
	int cfd;
	guint in_src, out_src;
	struct vmm_qmp_conn conn;
	GString *out;
	unsigned clients;
};

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data);

static void listen_again(struct vmm_qmp_mon *m)
{
	if (!m->accept_src)
		m->accept_src = g_unix_fd_add(m->lfd, G_IO_IN, on_accept, m);
}

static void drop_client(struct vmm_qmp_mon *m, const char *why)
{
	if (m->cfd < 0)
		return;
	if (why)
		log_info("QMP %s: client dropped: %s", m->id, why);
	else
		log_debug("QMP %s: client disconnected", m->id);
	if (m->in_src)
		g_source_remove(m->in_src);
	if (m->out_src)
		g_source_remove(m->out_src);
	m->in_src = m->out_src = 0;
	close(m->cfd);
	m->cfd = -1;
	vmm_qmp_conn_fini(&m->conn);
	g_string_truncate(m->out, 0);
	listen_again(m);
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

/* Write what is pending; false if the client is gone (it was dropped). */
static bool flush(struct vmm_qmp_mon *m)
{
	while (m->out->len) {
		ssize_t n = send(m->cfd, m->out->str, m->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			drop_client(m, NULL);
			return false;
		}
		g_string_erase(m->out, 0, n);
	}
	if (m->out->len > VMM_QMP_MAX_PENDING) {
		drop_client(m, "it does not read its replies");
		return false;
	}
	if (m->out->len && !m->out_src)
		m->out_src = g_unix_fd_add(m->cfd, G_IO_OUT, on_writable, m);
	return true;
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm_qmp_mon *m = data;

	m->out_src = 0;
	flush(m);
	return G_SOURCE_REMOVE;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm_qmp_mon *m = data;
	char buf[4096];
	ssize_t n = recv(m->cfd, buf, sizeof(buf), MSG_DONTWAIT);
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		m->in_src = 0; /* removed by returning REMOVE */
		drop_client(m, NULL);
		return G_SOURCE_REMOVE;
	}
	r = vmm_qmp_feed(&m->conn, buf, n, m->out);
	if (!flush(m))
		return G_SOURCE_REMOVE; /* drop_client removed this source */
	if (r < 0) {
		/* the error reply went out as far as the socket takes it */
		drop_client(m, r == -EMSGSIZE ? "message too large" : "nesting too deep");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm_qmp_mon *m = data;
	int c = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn_rl("QMP %s: accept: %s", m->id, g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	m->cfd = c;
	m->clients++;
	vmm_qmp_conn_init(&m->conn, m->srv);
	log_debug("QMP %s: client connected", m->id);
	/* one client at a time: the next waits in the backlog */
	m->accept_src = 0;
	m->in_src = g_unix_fd_add(c, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, m);
	vmm_qmp_greeting(m->out);
	flush(m);
	return G_SOURCE_REMOVE;
}

static int bind_path(struct vmm_qmp_mon *m, const char *path, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, VMM_ERROR, ENAMETOOLONG, "QMP socket path '%s' is too long",
			    path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->lfd < 0)
		goto err;
	/* as QEMU does: a stale socket of an earlier run is replaced */
	if (unlink(path) < 0 && errno != ENOENT)
		goto err;
	if (bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err;
	m->path = g_strdup(path);
	if (listen(m->lfd, 4) < 0)
		goto err;
	return 0;
err:
	g_set_error(error, VMM_ERROR, errno, "QMP socket %s: %s", path, g_strerror(errno));
	return -errno;
}

struct vmm_qmp_mon *vmm_qmp_mon_new(struct vmm_qmp_server *srv, const char *id, const char *path,
				    int fd, GError **error)
{
	struct vmm_qmp_mon *m = g_new0(struct vmm_qmp_mon, 1);

	m->srv = srv;
	m->id = g_strdup(id);
	m->lfd = -1;
	m->cfd = -1;
	m->out = g_string_new(NULL);
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);

		/* libxl bound and listens on it (dm_restrict); we only take it over */
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			g_set_error(error, VMM_ERROR, errno, "QMP %s: fd %d: %s", id, fd,
				    g_strerror(errno));
			vmm_qmp_mon_free(m);
			return NULL;
		}
		m->lfd = fd;
	} else if (bind_path(m, path, error) < 0) {
		vmm_qmp_mon_free(m);
		return NULL;
	}
	listen_again(m);
	return m;
}

void vmm_qmp_mon_free(struct vmm_qmp_mon *m)
{
	if (!m)
		return;
	drop_client(m, NULL);
	if (m->accept_src)
		g_source_remove(m->accept_src);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->path)
		unlink(m->path);
	g_string_free(m->out, true);
	g_free(m->path);
	g_free(m->id);
	g_free(m);
}

unsigned vmm_qmp_mon_clients(const struct vmm_qmp_mon *m)
{
	return m->clients;
}
