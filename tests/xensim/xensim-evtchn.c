/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxensim.so: libxenevtchn. A bound interdomain port is a pair of eventfds shared
 * with the simulated hypervisor: guest->dm (the vCPU's ioreq is ready) and dm->guest
 * (xenevtchn_notify). xenevtchn_fd() is an epoll fd over the guest->dm eventfds.
 *
 * As with /dev/xen/evtchn, a port that xenevtchn_pending() returned is masked until
 * xenevtchn_unmask(); events that arrive meanwhile stay pending (the eventfd counter)
 * and are delivered on unmask. xenevtchn_pending() blocks unless the fd was made
 * non-blocking, like read() on the real device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <xenevtchn.h>

#include "tests/xensim/xensim.h"

struct xsim_port {
	uint32_t port;
	int g2dm; /* readable when the remote end notified us */
	int dm2g; /* written by xenevtchn_notify */
	bool masked;
};

struct xenevtchn_handle {
	struct xsim_conn conn;
	int epfd;
	pthread_mutex_t lock; /* ports[] */
	struct xsim_port *ports;
	unsigned nports;
};

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	xenevtchn_handle *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return NULL;
	h->epfd = epoll_create1((flags & XENEVTCHN_NO_CLOEXEC) ? 0 : EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		free(h);
		return NULL;
	}
	ret = xsim_conn_open(&h->conn, XSIM_KIND_EVTCHN);
	if (ret < 0) {
		close(h->epfd);
		free(h);
		errno = -ret;
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	for (unsigned i = 0; i < xce->nports; i++) {
		close(xce->ports[i].g2dm);
		close(xce->ports[i].dm2g);
	}
	free(xce->ports);
	close(xce->epfd);
	xsim_conn_close(&xce->conn); /* the simulator unbinds what is left */
	pthread_mutex_destroy(&xce->lock);
	free(xce);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->epfd;
}

static struct xsim_port *find_port(xenevtchn_handle *h, evtchn_port_t port)
{
	for (unsigned i = 0; i < h->nports; i++) {
		if (h->ports[i].port == port)
			return &h->ports[i];
	}
	return NULL;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
						     evtchn_port_t remote_port)
{
	struct xsim_req req = { .op = XSIM_OP_EVTCHN_BIND, .domid = domid, .arg = { remote_port } };
	struct epoll_event ev = { .events = EPOLLIN };
	struct xsim_reply r;
	struct xsim_port *p, *np;
	int ret, port = -1;

	ret = xsim_call(&xce->conn, &req, NULL, 0, &r);
	if (!ret && r.nfds != 2)
		ret = -EIO;
	if (ret < 0)
		goto out;
	pthread_mutex_lock(&xce->lock);
	np = realloc(xce->ports, (xce->nports + 1) * sizeof(*np));
	if (!np) {
		pthread_mutex_unlock(&xce->lock);
		ret = -ENOMEM;
		goto out;
	}
	xce->ports = np;
	p = &np[xce->nports];
	p->port = (uint32_t)r.hdr.val[0];
	p->g2dm = r.fds[0];
	p->dm2g = r.fds[1];
	p->masked = false;
	ev.data.u32 = p->port;
	if (epoll_ctl(xce->epfd, EPOLL_CTL_ADD, p->g2dm, &ev) < 0) {
		ret = -errno;
		pthread_mutex_unlock(&xce->lock);
		goto out;
	}
	xce->nports++;
	port = (int)p->port;
	r.fds[0] = r.fds[1] = -1;
	pthread_mutex_unlock(&xce->lock);
out:
	xsim_reply_fini(&r);
	return ret < 0 ? xsim_fail(ret) : port;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct xsim_port *p;
	int ret;

	pthread_mutex_lock(&xce->lock);
	p = find_port(xce, port);
	if (!p) {
		pthread_mutex_unlock(&xce->lock);
		return xsim_fail(-EINVAL);
	}
	epoll_ctl(xce->epfd, EPOLL_CTL_DEL, p->g2dm, NULL);
	close(p->g2dm);
	close(p->dm2g);
	*p = xce->ports[--xce->nports];
	pthread_mutex_unlock(&xce->lock);
	ret = xsim_simple(&xce->conn, XSIM_OP_EVTCHN_UNBIND, 0, 0, port, 0, 0, 0, NULL);
	return ret < 0 ? xsim_fail(ret) : 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	uint64_t one = 1;
	struct xsim_port *p;
	int ret = 0;

	pthread_mutex_lock(&xce->lock);
	p = find_port(xce, port);
	if (!p)
		ret = -EINVAL;
	else if (write(p->dm2g, &one, sizeof(one)) != sizeof(one))
		ret = -errno;
	pthread_mutex_unlock(&xce->lock);
	return ret < 0 ? xsim_fail(ret) : 0;
}

/* One ready, unmasked port: consume its events and mask it. -EAGAIN if none. */
static int take_ready(xenevtchn_handle *h, int timeout_ms)
{
	struct epoll_event ev;
	struct xsim_port *p;
	uint64_t cnt;
	int n, port;

	n = epoll_wait(h->epfd, &ev, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EAGAIN;
	pthread_mutex_lock(&h->lock);
	p = find_port(h, ev.data.u32);
	if (!p || read(p->g2dm, &cnt, sizeof(cnt)) != sizeof(cnt)) {
		pthread_mutex_unlock(&h->lock);
		return -EAGAIN; /* unbound meanwhile, or another thread took it */
	}
	port = (int)p->port;
	ev.events = 0;
	epoll_ctl(h->epfd, EPOLL_CTL_MOD, p->g2dm, &ev);
	p->masked = true;
	pthread_mutex_unlock(&h->lock);
	return port;
}

/*
 * XENSIM_EVTCHN_FAIL_AFTER=N: after N events, xenevtchn_pending fails with EFBIG, as a
 * read of /dev/xen/evtchn does once its ring overflowed (Linux drivers/xen/evtchn.c).
 */
static bool fail_now(void)
{
	static long left = -2;
	static bool failed;

	if (left == -2) {
		const char *e = getenv("XENSIM_EVTCHN_FAIL_AFTER");

		left = e ? strtol(e, NULL, 10) : -1;
	}
	if (!failed && left >= 0 && left-- == 0)
		failed = true; /* and stays failed, like the overflowed ring */
	return failed;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	bool nonblock = fcntl(xce->epfd, F_GETFL) & O_NONBLOCK;
	int ret;

	if (fail_now())
		return xsim_fail(-EFBIG);

	do {
		ret = take_ready(xce, nonblock ? 0 : -1);
	} while ((ret == -EAGAIN && !nonblock) || ret == -EINTR);
	return ret < 0 ? xsim_fail(ret) : ret;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = port };
	struct xsim_port *p;
	int ret = 0;

	pthread_mutex_lock(&xce->lock);
	p = find_port(xce, port);
	if (!p)
		ret = -EINVAL;
	else if (p->masked && epoll_ctl(xce->epfd, EPOLL_CTL_MOD, p->g2dm, &ev) < 0)
		ret = -errno;
	else
		p->masked = false;
	pthread_mutex_unlock(&xce->lock);
	return ret < 0 ? xsim_fail(ret) : 0;
}

int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
	int ret = xsim_simple(&xce->conn, XSIM_OP_RESTRICT, domid, 0, 0, 0, 0, 0, NULL);

	return ret < 0 ? xsim_fail(ret) : 0;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned open_flags)
{
	xsim_unsupported(__func__);
	return NULL;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
	xsim_unsupported(__func__);
	return -1;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
	xsim_unsupported(__func__);
	return -1;
}
