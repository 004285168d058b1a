/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated dom0 kernel's privcmd irqfd and ioeventfd (Linux >= 6.7,
 * drivers/xen/privcmd.c), outside the device model's process as the real ones are:
 * libxensim forwards IOCTL_PRIVCMD_IRQFD/IOEVENTFD with the eventfd (xensim-kevt.c).
 *
 *  - ioeventfd: registrations per (domain, ioreq server). When the guest side makes a
 *    vCPU's ioreq READY (guest.c), a COPY write with addr == addr + VIRTIO_MMIO_QUEUE_NOTIFY,
 *    size == addr_len and (data & 0xffff) == vq signals the eventfd and is completed here
 *    (IORESP_READY, then the dm->guest notification), as ioeventfd_interrupt() does. The
 *    device model is still notified: the real handler shares the port's IRQ with
 *    /dev/xen/evtchn, so the device model wakes and finds the slot no longer READY.
 *    Any other write is held INPROCESS while the handler "matches" and put back to READY,
 *    after the device model was notified (the real handlers run in that order); with
 *    hv_kevt_set_hold_us() the hold is long enough for the device model to see it.
 *    Assign checks as privcmd_ioeventfd_assign(): addr_len 1/2/4/8, no wrap, 1..4096
 *    vCPUs, EBUSY for an eventfd already registered on the server, EINVAL when the vCPU
 *    count differs from the server's other registrations; deassign ENODEV if absent.
 *  - irqfd: a thread polls the eventfds; a signal is read (eventfd_ctx_do_read) and the
 *    registered set_irq_level issued. Xen's Arm vGIC injects the SPI on every
 *    set_irq_level(1) (FACTS 26), and the kernel never lowers it, so an injection here is
 *    one rising edge that does not hold the line: the level xvdm drives for its own
 *    interrupts (config changes) is left alone. EBUSY for an eventfd already registered;
 *    deassign of an unknown eventfd is not an error (privcmd_irqfd_deassign()).
 *
 * Eventfds are compared with kcmp(KCMP_FILE), as the kernel compares eventfd contexts.
 * Differences: registrations hold a copy of the eventfd, so closing the device model's
 * last copy does not end an irqfd (Linux ends it on EPOLLHUP); both live until deassigned
 * or until the hypervisor goes, as the kernel's do when a device model dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <linux/virtio_mmio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "tests/xensim/hv-internal.h"

#define FLAG_DEASSIGN 1u

struct kioe {
	uint32_t domid;
	uint16_t server;
	uint64_t addr;
	uint32_t len, vq, vcpus;
	int fd;
};

struct kirq {
	uint32_t domid;
	uint32_t irq;
	unsigned level;
	int fd;
};

struct kcount {
	uint32_t domid;
	uint64_t kicks, irqs;
};

struct hv_kevt {
	pthread_mutex_t lock; /* ioe; irq and counts are under the hv lock */
	GArray *ioe;	      /* struct kioe */
	GArray *irq;	      /* struct kirq */
	GArray *counts;	      /* struct kcount */
	int epfd, stop_efd;
	pthread_t thread;
	bool running;
	unsigned hold_us; /* a write the handler does not take stays INPROCESS this long */
};

static bool same_file(int a, int b)
{
	pid_t me = getpid();
	long r = syscall(SYS_kcmp, me, me, KCMP_FILE, a, b);

	return r == 0 || (r < 0 && a == b);
}

static struct kcount *count_of(struct hv_kevt *k, uint32_t domid)
{
	struct kcount c = { .domid = domid };

	for (unsigned i = 0; i < k->counts->len; i++) {
		struct kcount *e = &g_array_index(k->counts, struct kcount, i);

		if (e->domid == domid)
			return e;
	}
	g_array_append_val(k->counts, c);
	return &g_array_index(k->counts, struct kcount, k->counts->len - 1);
}

/* hv lock held */
static struct hv_kevt *kevt(struct hv *hv)
{
	if (!hv->kevt) {
		struct hv_kevt *k = g_new0(struct hv_kevt, 1);

		pthread_mutex_init(&k->lock, NULL);
		k->ioe = g_array_new(false, false, sizeof(struct kioe));
		k->irq = g_array_new(false, false, sizeof(struct kirq));
		k->counts = g_array_new(false, false, sizeof(struct kcount));
		k->epfd = epoll_create1(EPOLL_CLOEXEC);
		k->stop_efd = eventfd(0, EFD_CLOEXEC);
		__atomic_store_n(&hv->kevt, k, __ATOMIC_RELEASE); /* hv_kevt_ioreq: no lock */
	}
	return hv->kevt;
}

/* The fd that came with the request, taken from the connection; -1 if none. */
static int take_fd(struct hv_conn *c)
{
	int fd;

	if (!c->req_nfds || c->req_fds[0] < 0)
		return -1;
	fd = c->req_fds[0];
	c->req_fds[0] = -1;
	return fd;
}

/* --- irqfd --- */

/* One injection: an edge on the SPI, the line's level untouched (see the top). */
static void inject(struct hv *hv, const struct kirq *q)
{
	struct xs_dom *d = hv_find_dom(hv, q->domid);
	struct hv_irq *l;

	if (!d || d->destroyed || !q->level)
		return;
	l = g_hash_table_lookup(d->irqs, GUINT_TO_POINTER(q->irq));
	if (!l) {
		l = g_new0(struct hv_irq, 1);
		g_hash_table_insert(d->irqs, GUINT_TO_POINTER(q->irq), l);
	}
	l->edges++;
	d->stats.irq_calls++;
	count_of(hv->kevt, q->domid)->irqs++;
	hv_log_add(hv, HV_EV_IRQ, d->domid, -1, q->irq, q->level, 1);
	pthread_cond_broadcast(&hv->cond);
}

static void *irq_thread(void *arg)
{
	struct hv *hv = arg;
	struct hv_kevt *k = hv->kevt;
	struct epoll_event ev[8];

	for (;;) {
		int n = epoll_wait(k->epfd, ev, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t cnt;

			if (ev[i].data.fd == k->stop_efd)
				return NULL;
			/* eventfd_ctx_do_read(): the count is consumed, one injection for all */
			if (read(ev[i].data.fd, &cnt, sizeof(cnt)) != sizeof(cnt))
				continue;
			pthread_mutex_lock(&hv->lock);
			for (unsigned j = 0; j < k->irq->len; j++) {
				struct kirq *q = &g_array_index(k->irq, struct kirq, j);

				if (q->fd == ev[i].data.fd)
					inject(hv, q);
			}
			pthread_mutex_unlock(&hv->lock);
		}
	}
	return NULL;
}

void hv_op_privcmd_irqfd(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	struct hv_kevt *k = kevt(c->hv);
	struct kirq q = { .domid = req->domid,
			  .irq = (uint32_t)req->arg[1],
			  .level = (unsigned)req->arg[2] };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = take_fd(c);

	if (req->arg[0] & ~(uint64_t)FLAG_DEASSIGN) {
		r->err = EINVAL;
	} else if (fd < 0) {
		r->err = EBADF;
	} else if (req->arg[0] & FLAG_DEASSIGN) {
		for (unsigned i = 0; i < k->irq->len; i++) {
			struct kirq *e = &g_array_index(k->irq, struct kirq, i);

			if (same_file(e->fd, fd)) {
				epoll_ctl(k->epfd, EPOLL_CTL_DEL, e->fd, NULL);
				close(e->fd);
				g_array_remove_index(k->irq, i);
				break;
			}
		}
	} else {
		for (unsigned i = 0; i < k->irq->len && !r->err; i++)
			if (same_file(g_array_index(k->irq, struct kirq, i).fd, fd))
				r->err = EBUSY;
		if (!r->err && !k->running) {
			ev.data.fd = k->stop_efd;
			epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->stop_efd, &ev);
			k->running = !pthread_create(&k->thread, NULL, irq_thread, c->hv);
		}
		ev.data.fd = fd;
		if (!r->err && epoll_ctl(k->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			r->err = errno;
		if (!r->err) {
			q.fd = fd;
			fd = -1;
			g_array_append_val(k->irq, q);
		}
	}
	if (fd >= 0)
		close(fd);
}

/* --- ioeventfd --- */

void hv_op_privcmd_ioeventfd(struct hv_conn *c, const struct xsim_req *req, const char *data,
			     size_t len, struct hv_reply *r)
{
	struct hv_kevt *k = kevt(c->hv);
	struct kioe e = { .domid = req->domid,
			  .server = (uint16_t)req->id,
			  .addr = req->arg[0],
			  .len = (uint32_t)req->arg[1],
			  .vq = (uint32_t)(req->arg[1] >> 32),
			  .vcpus = (uint32_t)req->arg[3] };
	bool deassign = req->arg[2] & FLAG_DEASSIGN;
	int fd = take_fd(c);

	pthread_mutex_lock(&k->lock);
	if (req->arg[2] & ~(uint64_t)FLAG_DEASSIGN) {
		r->err = EINVAL;
	} else if (fd < 0) {
		r->err = EBADF;
	} else if (deassign) {
		r->err = ENODEV;
		for (unsigned i = 0; i < k->ioe->len; i++) {
			struct kioe *o = &g_array_index(k->ioe, struct kioe, i);

			if (o->domid == e.domid && o->server == e.server && o->vcpus == e.vcpus &&
			    same_file(o->fd, fd)) {
				close(o->fd);
				g_array_remove_index(k->ioe, i);
				r->err = 0;
				break;
			}
		}
	} else if (e.addr + e.len < e.addr ||
		   (e.len != 1 && e.len != 2 && e.len != 4 && e.len != 8) || !e.vcpus ||
		   e.vcpus > 4096) {
		r->err = EINVAL;
	} else {
		for (unsigned i = 0; i < k->ioe->len && !r->err; i++) {
			const struct kioe *o = &g_array_index(k->ioe, struct kioe, i);

			if (o->domid != e.domid || o->server != e.server)
				continue;
			if (o->vcpus != e.vcpus)
				r->err = EINVAL; /* "Invalid ioeventfd configuration mismatch" */
			else if (same_file(o->fd, fd))
				r->err = EBUSY;
		}
		if (!r->err) {
			e.fd = fd;
			fd = -1;
			g_array_append_val(k->ioe, e);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (fd >= 0)
		close(fd);
}

bool hv_kevt_ioreq(struct hv *hv, struct xs_dom *d, uint16_t server, unsigned vcpu,
		   volatile ioreq_t *slot, int g2dm, int dm2g)
{
	struct hv_kevt *k = __atomic_load_n(&hv->kevt, __ATOMIC_ACQUIRE);
	bool bound = false, hit = false, write_req;
	uint64_t one = 1;
	unsigned hold;

	if (!k)
		return false;
	write_req = slot->state == STATE_IOREQ_READY && slot->type == IOREQ_TYPE_COPY &&
		    slot->dir == IOREQ_WRITE;
	pthread_mutex_lock(&k->lock);
	hold = k->hold_us;
	for (unsigned i = 0; i < k->ioe->len && !hit; i++) {
		const struct kioe *e = &g_array_index(k->ioe, struct kioe, i);

		if (e->domid != d->domid || e->server != server || vcpu >= e->vcpus)
			continue;
		bound = true; /* the kernel's handler is on this server's ports */
		if (write_req && slot->addr == e->addr + VIRTIO_MMIO_QUEUE_NOTIFY &&
		    slot->size == e->len && (slot->data & 0xffff) == e->vq)
			hit = write(e->fd, &one, sizeof(one)) == sizeof(one);
	}
	if (bound && write_req && !hit)
		slot->state = STATE_IOREQ_INPROCESS; /* the handler holds it while matching */
	pthread_mutex_unlock(&k->lock);
	if (!bound)
		return false;
	if (hit) {
		/* completed by the kernel: the state, then its notification */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		slot->state = STATE_IORESP_READY;
		pthread_mutex_lock(&hv->lock);
		count_of(k, d->domid)->kicks++;
		pthread_mutex_unlock(&hv->lock);
		if (write(dm2g, &one, sizeof(one)) != sizeof(one))
			return false;
	}
	/* /dev/xen/evtchn's handler: the device model wakes in any case */
	if (write(g2dm, &one, sizeof(one)) != sizeof(one))
		return false;
	if (write_req && !hit) {
		if (hold)
			usleep(hold);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		slot->state = STATE_IOREQ_READY; /* not ours: back for the device model */
	}
	return true;
}

void hv_kevt_set_hold_us(struct hv *hv, unsigned us)
{
	pthread_mutex_lock(&hv->lock);
	kevt(hv)->hold_us = us;
	pthread_mutex_unlock(&hv->lock);
}

void hv_kevt_stats(struct hv *hv, uint32_t domid, uint64_t *ret_kicks, uint64_t *ret_irqs)
{
	*ret_kicks = *ret_irqs = 0;
	pthread_mutex_lock(&hv->lock);
	if (hv->kevt) {
		const struct kcount *c = count_of(hv->kevt, domid);

		*ret_kicks = c->kicks;
		*ret_irqs = c->irqs;
	}
	pthread_mutex_unlock(&hv->lock);
}

void hv_kevt_free(struct hv *hv)
{
	struct hv_kevt *k = hv->kevt;
	uint64_t one = 1;

	if (!k)
		return;
	if (k->running && write(k->stop_efd, &one, sizeof(one)) == sizeof(one))
		pthread_join(k->thread, NULL);
	for (unsigned i = 0; i < k->ioe->len; i++)
		close(g_array_index(k->ioe, struct kioe, i).fd);
	for (unsigned i = 0; i < k->irq->len; i++)
		close(g_array_index(k->irq, struct kirq, i).fd);
	g_array_free(k->ioe, true);
	g_array_free(k->irq, true);
	g_array_free(k->counts, true);
	close(k->epfd);
	close(k->stop_efd);
	pthread_mutex_destroy(&k->lock);
	g_free(k);
	hv->kevt = NULL;
}
