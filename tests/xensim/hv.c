/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: socket server, connections, domains, interrupt lines and the
 * event log. Trust boundary: requests come from the process under test (xvdm through
 * libxensim.so); every field is checked as Xen would check it, and a malformed message
 * closes that connection. Nothing here may abort the test on bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/xensim/hv-internal.h"

static void op_hello(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		     struct hv_reply *r)
{
	if (req->arg[0] < XSIM_KIND_DM || req->arg[0] > XSIM_KIND_PRIVCMD || c->kind) {
		r->err = EINVAL;
		return;
	}
	c->kind = (enum xsim_kind)req->arg[0];
	c->pid = (pid_t)req->arg[1];
	hv_log_add(c->hv, HV_EV_CONN_OPEN, 0, -1, c->kind, (uint64_t)c->pid, 0)->conn = c->id;
}

static void op_restrict(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
			struct hv_reply *r)
{
	if (c->kind == XSIM_KIND_XS)
		c->xs_dead = true; /* the real library dup2()s /dev/null over its socket */
	else if (c->restrict_domid >= 0 && c->restrict_domid != req->domid)
		r->err = EPERM;
	else
		c->restrict_domid = req->domid;
}

static hv_op_fn *const op_table[XSIM_OP_MAX] = {
	[XSIM_OP_HELLO] = op_hello,
	[XSIM_OP_RESTRICT] = op_restrict,
	[XSIM_OP_DM_CREATE_SERVER] = hv_op_dm_create,
	[XSIM_OP_DM_DESTROY_SERVER] = hv_op_dm_destroy,
	[XSIM_OP_DM_SET_STATE] = hv_op_dm_set_state,
	[XSIM_OP_DM_MAP_RANGE] = hv_op_dm_map_range,
	[XSIM_OP_DM_UNMAP_RANGE] = hv_op_dm_unmap_range,
	[XSIM_OP_DM_MAP_PCIDEV] = hv_op_dm_map_pcidev,
	[XSIM_OP_DM_UNMAP_PCIDEV] = hv_op_dm_unmap_pcidev,
	[XSIM_OP_DM_SET_IRQ] = hv_op_dm_set_irq,
	[XSIM_OP_DM_SET_INTX] = hv_op_dm_set_intx,
	[XSIM_OP_DM_INJECT_MSI] = hv_op_dm_inject_msi,
	[XSIM_OP_DM_NR_VCPUS] = hv_op_dm_nr_vcpus,
	[XSIM_OP_FMEM_RAM] = hv_op_fmem_ram,
	[XSIM_OP_FMEM_RESOURCE] = hv_op_fmem_resource,
	[XSIM_OP_EVTCHN_BIND] = hv_op_evtchn_bind,
	[XSIM_OP_EVTCHN_UNBIND] = hv_op_evtchn_unbind,
	[XSIM_OP_XS_OPEN] = hv_op_xs_open,
	[XSIM_OP_XS_READ] = hv_op_xs_read,
	[XSIM_OP_XS_WRITE] = hv_op_xs_write,
	[XSIM_OP_XS_MKDIR] = hv_op_xs_mkdir,
	[XSIM_OP_XS_RM] = hv_op_xs_rm,
	[XSIM_OP_XS_DIRECTORY] = hv_op_xs_directory,
	[XSIM_OP_XS_WATCH] = hv_op_xs_watch,
	[XSIM_OP_XS_UNWATCH] = hv_op_xs_unwatch,
	[XSIM_OP_XS_GET_WATCH] = hv_op_xs_get_watch,
	[XSIM_OP_XS_TX_START] = hv_op_xs_tx_start,
	[XSIM_OP_XS_TX_END] = hv_op_xs_tx_end,
	[XSIM_OP_XS_INTRODUCED] = hv_op_xs_introduced,
	[XSIM_OP_PRIVCMD_MAP] = hv_op_privcmd_map,
	[XSIM_OP_PRIVCMD_IRQFD] = hv_op_privcmd_irqfd,
	[XSIM_OP_PRIVCMD_IOEVENTFD] = hv_op_privcmd_ioeventfd,
};

/* The handle kind that may issue each op; 0 = any. */
static enum xsim_kind op_kind(uint32_t op)
{
	if (op >= XSIM_OP_DM_CREATE_SERVER && op <= XSIM_OP_DM_NR_VCPUS)
		return XSIM_KIND_DM;
	if (op == XSIM_OP_FMEM_RAM || op == XSIM_OP_FMEM_RESOURCE)
		return XSIM_KIND_FMEM;
	if (op == XSIM_OP_EVTCHN_BIND || op == XSIM_OP_EVTCHN_UNBIND)
		return XSIM_KIND_EVTCHN;
	if (op >= XSIM_OP_XS_OPEN && op <= XSIM_OP_XS_INTRODUCED)
		return XSIM_KIND_XS;
	if (op >= XSIM_OP_PRIVCMD_MAP && op <= XSIM_OP_PRIVCMD_IOEVENTFD)
		return XSIM_KIND_PRIVCMD;
	return 0;
}

static void dispatch(struct hv_conn *c, const struct xsim_req *req, const char *data,
		     struct hv_reply *r)
{
	enum xsim_kind k;
	struct xs_dom *d;

	if (req->op >= XSIM_OP_MAX || !op_table[req->op]) {
		r->err = ENOSYS;
		return;
	}
	k = op_kind(req->op);
	if (req->op != XSIM_OP_HELLO && (!c->kind || (k && k != c->kind))) {
		r->err = EBADF;
		return;
	}
	if (k == XSIM_KIND_XS && c->xs_dead) {
		r->err = EIO;
		return;
	}
	if (k && k != XSIM_KIND_XS && c->restrict_domid >= 0 && req->domid != c->restrict_domid) {
		r->err = EPERM;
		return;
	}
	op_table[req->op](c, req, data, req->len, r);
	if (r->err && k && k != XSIM_KIND_XS) {
		hv_log_add(c->hv, HV_EV_ERROR, req->domid, -1, req->op, (uint64_t)r->err, 0)->conn =
			c->id;
		d = hv_find_dom(c->hv, req->domid);
		if (d)
			d->stats.errors++;
	}
}

int hv_reply_fd(struct hv_reply *r, int fd)
{
	int dup_fd;

	if (r->nfds >= XSIM_MAX_FDS)
		return -E2BIG;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return -errno;
	r->fds[r->nfds++] = dup_fd;
	return 0;
}

static void send_reply(struct hv_conn *c, struct hv_reply *r)
{
	struct xsim_rsp hdr = { .err = r->err, .len = r->data->len };
	union {
		char buf[CMSG_SPACE(XSIM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { r->data->data, r->data->len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct cmsghdr *ch;

	memcpy(hdr.val, r->val, sizeof(hdr.val));
	if (r->nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(r->nfds * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(r->nfds * sizeof(int));
		memcpy(CMSG_DATA(ch), r->fds, r->nfds * sizeof(int));
	}
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		fprintf(stderr, "hv: conn %u: send: %s\n", c->id, strerror(errno));
}

/*
 * One request; <= 0 at EOF or on a malformed message. Fds sent along are kept in
 * c->req_fds for the op (closed after it unless it took them).
 */
static ssize_t recv_req(struct hv_conn *c, char *buf)
{
	union {
		char buf[CMSG_SPACE(XSIM_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { buf, XSIM_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *ch;
	ssize_t n;

	do {
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	for (ch = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; ch; ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS) {
			for (size_t i = 0; i < (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(fd));
				if (n > 0 && c->req_nfds < XSIM_MAX_FDS)
					c->req_fds[c->req_nfds++] = fd;
				else
					close(fd);
			}
		}
	}
	if (n <= 0)
		return n;
	if ((size_t)n < sizeof(struct xsim_req) || (mh.msg_flags & MSG_TRUNC)) {
		for (unsigned i = 0; i < c->req_nfds; i++)
			close(c->req_fds[i]);
		c->req_nfds = 0;
		fprintf(stderr, "hv: conn %u: malformed message (%zd bytes)\n", c->id, n);
		return -1;
	}
	return n;
}

static void conn_closed(struct hv_conn *c)
{
	hv_conn_unbind_all(c);
	hv_xs_conn_closed(c);
	c->closed = true;
	hv_log_add(c->hv, HV_EV_CONN_CLOSE, 0, -1, c->kind, 0, 0)->conn = c->id;
	pthread_cond_broadcast(&c->hv->cond);
}

static void *conn_thread(void *arg)
{
	struct hv_conn *c = arg;
	struct hv *hv = c->hv;
	char *buf = g_malloc(XSIM_MSG_MAX);
	struct xsim_req req;
	struct hv_reply r;
	ssize_t n;

	while ((n = recv_req(c, buf)) > 0) {
		memcpy(&req, buf, sizeof(req));
		if (req.len != (size_t)n - sizeof(req)) {
			fprintf(stderr, "hv: conn %u: bad length %u\n", c->id, req.len);
			break;
		}
		memset(&r, 0, sizeof(r));
		r.data = g_byte_array_new();
		pthread_mutex_lock(&hv->lock);
		dispatch(c, &req, buf + sizeof(req), &r);
		pthread_cond_broadcast(&hv->cond);
		pthread_mutex_unlock(&hv->lock);
		for (unsigned i = 0; i < c->req_nfds; i++)
			if (c->req_fds[i] >= 0)
				close(c->req_fds[i]);
		c->req_nfds = 0;
		send_reply(c, &r);
		for (unsigned i = 0; i < r.nfds; i++)
			close(r.fds[i]);
		g_byte_array_unref(r.data);
	}
	pthread_mutex_lock(&hv->lock);
	conn_closed(c);
	pthread_mutex_unlock(&hv->lock);
	g_free(buf);
	return NULL;
}

static void *accept_thread(void *arg)
{
	struct hv *hv = arg;
	struct pollfd pfd[2] = { { hv->listen_fd, POLLIN, 0 }, { hv->stop_efd, POLLIN, 0 } };
	struct hv_conn *c;
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(hv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = g_new0(struct hv_conn, 1);
		c->hv = hv;
		c->fd = fd;
		c->restrict_domid = -1;
		c->watch_efd = -1;
		g_queue_init(&c->events);
		pthread_mutex_lock(&hv->lock);
		c->id = ++hv->next_conn_id;
		if (pthread_create(&c->thread, NULL, conn_thread, c)) {
			pthread_mutex_unlock(&hv->lock);
			close(fd);
			g_free(c);
			continue;
		}
		g_ptr_array_add(hv->conns, c);
		pthread_mutex_unlock(&hv->lock);
	}
	return NULL;
}

struct hv *hv_new(const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_condattr_t ca;
	struct hv *hv;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hv: socket path too long: %s\n", socket_path);
		return NULL;
	}
	strcpy(sa.sun_path, socket_path);
	hv = g_new0(struct hv, 1);
	hv->path = g_strdup(socket_path);
	hv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	hv->stop_efd = eventfd(0, EFD_CLOEXEC);
	unlink(socket_path);
	if (hv->listen_fd < 0 || hv->stop_efd < 0 ||
	    bind(hv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(hv->listen_fd, 64) < 0) {
		fprintf(stderr, "hv: cannot listen on %s: %s\n", socket_path, strerror(errno));
		goto err;
	}
	pthread_mutex_init(&hv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hv->cond, &ca);
	pthread_condattr_destroy(&ca);
	hv->conns = g_ptr_array_new();
	hv->doms = g_ptr_array_new();
	hv->log = g_array_new(FALSE, TRUE, sizeof(struct hv_event));
	hv->next_local_port = 1;
	hv->xs = hv_xs_new();
	if (pthread_create(&hv->thread, NULL, accept_thread, hv)) {
		fprintf(stderr, "hv: cannot start the listener thread\n");
		hv_xs_free(hv->xs);
		goto err;
	}
	return hv;

err:
	if (hv->listen_fd >= 0)
		close(hv->listen_fd);
	if (hv->stop_efd >= 0)
		close(hv->stop_efd);
	g_free(hv->path);
	g_free(hv);
	return NULL;
}

static void dom_free(struct xs_dom *d)
{
	for (unsigned i = 0; i < d->servers->len; i++)
		hv_server_free(g_ptr_array_index(d->servers, i));
	g_ptr_array_free(d->servers, TRUE);
	g_hash_table_destroy(d->irqs);
	g_array_free(d->msis, TRUE);
	munmap(d->ram, d->ram_len);
	close(d->ram_fd);
	for (unsigned i = 0; i < d->cfg.nr_vcpus; i++)
		pthread_mutex_destroy(&d->vcpu_lock[i]);
	g_free(d->vcpu_lock);
	pthread_mutex_destroy(&d->alloc_lock);
	g_free(d);
}

void hv_free(struct hv *hv)
{
	uint64_t one = 1;

	if (!hv)
		return;
	if (write(hv->stop_efd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "hv: cannot stop the listener: %s\n", strerror(errno));
	pthread_join(hv->thread, NULL);
	for (unsigned i = 0; i < hv->conns->len; i++) {
		struct hv_conn *c = g_ptr_array_index(hv->conns, i);

		shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->thread, NULL);
		close(c->fd);
		hv_xs_conn_free(c);
		g_free(c);
	}
	g_ptr_array_free(hv->conns, TRUE);
	hv_kevt_free(hv);
	for (unsigned i = 0; i < hv->doms->len; i++)
		dom_free(g_ptr_array_index(hv->doms, i));
	g_ptr_array_free(hv->doms, TRUE);
	hv_xs_free(hv->xs);
	for (unsigned i = 0; i < hv->log->len; i++) {
		struct hv_event *e = &g_array_index(hv->log, struct hv_event, i);

		g_free((char *)e->path);
		g_free((char *)e->value);
	}
	g_array_free(hv->log, TRUE);
	close(hv->listen_fd);
	close(hv->stop_efd);
	unlink(hv->path);
	g_free(hv->path);
	pthread_cond_destroy(&hv->cond);
	pthread_mutex_destroy(&hv->lock);
	g_free(hv);
}

const char *hv_socket_path(struct hv *hv)
{
	return hv->path;
}

int hv_privcmd_open(struct hv *hv)
{
	static unsigned count;
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, own = { .sun_family = AF_UNIX };
	struct xsim_req req = { .op = XSIM_OP_HELLO, .arg = { XSIM_KIND_PRIVCMD, getpid() } };
	struct xsim_rsp rsp;
	int fd, n, ret;

	n = snprintf(own.sun_path + 1, sizeof(own.sun_path) - 1, XSIM_PRIVCMD_NAME "%d/t%u",
		     (int)getpid(), __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED));
	strcpy(sa.sun_path, hv->path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (bind(fd, (struct sockaddr *)&own,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req) ||
	    recv(fd, &rsp, sizeof(rsp), 0) != sizeof(rsp)) {
		ret = errno ? -errno : -EIO;
		close(fd);
		return ret;
	}
	if (rsp.err) {
		close(fd);
		return -rsp.err;
	}
	return fd;
}

void hv_deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int hv_cond_wait(struct hv *hv, const struct timespec *deadline)
{
	return pthread_cond_timedwait(&hv->cond, &hv->lock, deadline);
}

/* --- domains --- */

struct xs_dom *hv_find_dom(struct hv *hv, uint32_t domid)
{
	for (unsigned i = 0; i < hv->doms->len; i++) {
		struct xs_dom *d = g_ptr_array_index(hv->doms, i);

		if (d->domid == domid && !d->destroyed)
			return d;
	}
	return NULL;
}

unsigned hv_host_ram_layout(uint64_t mem, struct hv_ram_bank ret[2])
{
#if defined(__aarch64__)
	static const uint64_t base[2] = { 0x40000000ULL, 0x200000000ULL }; /* FACTS 25 */
	static const uint64_t max[2] = { 0xc0000000ULL, 1ULL << 46 };
#else
	static const uint64_t base[2] = { 0, 0x100000000ULL }; /* below the PCI hole, above 4G */
	static const uint64_t max[2] = { 0xf0000000ULL, 1ULL << 46 };
#endif
	unsigned n = 0;

	for (unsigned i = 0; i < 2 && mem; i++, n++) {
		ret[i].gpa = base[i];
		ret[i].size = MIN(mem, max[i]);
		mem -= ret[i].size;
	}
	return n;
}

uint64_t hv_host_mmio_base(void)
{
#if defined(__aarch64__)
	return 0x02000000ULL; /* libxl's virtio-mmio area (FACTS 25), below RAM0 */
#else
	return 0xfe000000ULL; /* in the x86 PCI hole */
#endif
}

static bool cfg_check(struct hv_dom_cfg *cfg)
{
	if (!cfg->nr_vcpus || cfg->nr_vcpus > HV_MAX_VCPUS || cfg->nr_banks > HV_MAX_BANKS)
		return false;
	if (cfg->host_mem) {
		if (cfg->host_mem % XSIM_PAGE_SIZE)
			return false;
		cfg->nr_banks = hv_host_ram_layout(cfg->host_mem, cfg->banks);
	}
	if (!cfg->nr_banks) {
		cfg->nr_banks = 1;
		cfg->banks[0] = (struct hv_ram_bank){ HV_ARM_RAM0, 64ULL << 20 };
	}
	if (!cfg->nr_spis)
		cfg->nr_spis = HV_ARM_NR_SPIS_DEFAULT;
	for (unsigned i = 0; i < cfg->nr_banks; i++) {
		if (!cfg->banks[i].size || cfg->banks[i].size % XSIM_PAGE_SIZE ||
		    cfg->banks[i].gpa % XSIM_PAGE_SIZE ||
		    cfg->banks[i].gpa + cfg->banks[i].size < cfg->banks[i].gpa)
			return false;
	}
	return true;
}

static int dom_ram(struct xs_dom *d)
{
	for (unsigned i = 0; i < d->cfg.nr_banks; i++) {
		d->bank_off[i] = d->ram_len;
		d->ram_len += d->cfg.banks[i].size;
	}
	d->ram_fd = memfd_create("xensim-ram", MFD_CLOEXEC);
	if (d->ram_fd < 0)
		return -errno;
	if (ftruncate(d->ram_fd, (off_t)d->ram_len) < 0)
		goto err;
	d->ram = mmap(NULL, d->ram_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->ram_fd, 0);
	if (d->ram == MAP_FAILED)
		goto err;
	return 0;
err:
	close(d->ram_fd);
	return -errno;
}

/* As libxl: memory/static-max in KiB (lock held). */
static void write_static_max(struct hv *hv, struct xs_dom *d)
{
	char *path = g_strdup_printf("/local/domain/%u/memory/static-max", d->domid);
	char *val = g_strdup_printf("%" PRIu64, d->ram_len >> 10);

	hv_xs_do_op(hv, NULL, 0, HV_XS_WRITE, path, val, strlen(val));
	g_free(path);
	g_free(val);
}

struct xs_dom *hv_dom_create(struct hv *hv, uint32_t domid, const struct hv_dom_cfg *cfg)
{
	struct xs_dom *d = g_new0(struct xs_dom, 1);
	const struct hv_ram_bank *b0;

	d->hv = hv;
	d->domid = domid;
	d->cfg = *cfg;
	if (!cfg_check(&d->cfg) || dom_ram(d) < 0) {
		fprintf(stderr, "hv: dom%u: invalid configuration or no memory\n", domid);
		g_free(d);
		return NULL;
	}
	d->servers = g_ptr_array_new();
	d->irqs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	d->msis = g_array_new(FALSE, FALSE, sizeof(struct hv_msi));
	d->next_port = 10;
	d->vcpu_lock = g_new(pthread_mutex_t, d->cfg.nr_vcpus);
	for (unsigned i = 0; i < d->cfg.nr_vcpus; i++)
		pthread_mutex_init(&d->vcpu_lock[i], NULL);
	pthread_mutex_init(&d->alloc_lock, NULL);
	b0 = &d->cfg.banks[0];
	d->alloc_next = b0->gpa + (b0->size > (4u << 20) ? (1u << 20) : 0);

	pthread_mutex_lock(&hv->lock);
	if (hv_find_dom(hv, domid)) {
		pthread_mutex_unlock(&hv->lock);
		fprintf(stderr, "hv: dom%u exists\n", domid);
		dom_free(d);
		return NULL;
	}
	g_ptr_array_add(hv->doms, d);
	hv_log_add(hv, HV_EV_DOM_CREATE, domid, -1, 0, 0, 0);
	write_static_max(hv, d);
	hv_xs_fire_special(hv, "@introduceDomain");
	pthread_cond_broadcast(&hv->cond);
	pthread_mutex_unlock(&hv->lock);
	return d;
}

void hv_dom_destroy(struct xs_dom *d)
{
	struct hv *hv = d->hv;

	pthread_mutex_lock(&hv->lock);
	if (!d->destroyed) {
		hv_dom_kill_servers(d);
		d->destroyed = true;
		hv_log_add(hv, HV_EV_DOM_DESTROY, d->domid, -1, 0, 0, 0);
		hv_xs_fire_special(hv, "@releaseDomain");
		pthread_cond_broadcast(&hv->cond);
	}
	pthread_mutex_unlock(&hv->lock);
}

uint32_t hv_dom_id(const struct xs_dom *d)
{
	return d->domid;
}

unsigned hv_dom_nr_vcpus(const struct xs_dom *d)
{
	return d->cfg.nr_vcpus;
}

struct hv *hv_dom_hv(struct xs_dom *d)
{
	return d->hv;
}

void hv_dom_stats(struct xs_dom *d, struct hv_dom_stats *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	*ret = d->stats;
	pthread_mutex_unlock(&d->hv->lock);
}

/* --- interrupts --- */

void hv_irq_get(struct xs_dom *d, unsigned irq, unsigned *ret_level, uint64_t *ret_edges)
{
	struct hv_irq *l;

	pthread_mutex_lock(&d->hv->lock);
	l = g_hash_table_lookup(d->irqs, GUINT_TO_POINTER(irq));
	if (ret_level)
		*ret_level = l ? l->level : 0;
	if (ret_edges)
		*ret_edges = l ? l->edges : 0;
	pthread_mutex_unlock(&d->hv->lock);
}

int hv_irq_wait_edge(struct xs_dom *d, unsigned irq, uint64_t after, int timeout_ms,
		     uint64_t *ret_edges)
{
	struct hv *hv = d->hv;
	struct timespec dl;
	struct hv_irq *l;
	int ret = 0;

	hv_deadline(&dl, timeout_ms);
	pthread_mutex_lock(&hv->lock);
	for (;;) {
		l = g_hash_table_lookup(d->irqs, GUINT_TO_POINTER(irq));
		if (l && l->edges > after)
			break;
		if (hv_cond_wait(hv, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret_edges)
		*ret_edges = l ? l->edges : 0;
	pthread_mutex_unlock(&hv->lock);
	return ret;
}

/* lock held */
static uint64_t msi_count(struct xs_dom *d, uint64_t addr, uint32_t data)
{
	for (unsigned i = 0; i < d->msis->len; i++) {
		const struct hv_msi *m = &g_array_index(d->msis, struct hv_msi, i);

		if (m->addr == addr && m->data == data)
			return m->count;
	}
	return 0;
}

uint64_t hv_msi_count(struct xs_dom *d, uint64_t addr, uint32_t data)
{
	uint64_t n;

	pthread_mutex_lock(&d->hv->lock);
	n = msi_count(d, addr, data);
	pthread_mutex_unlock(&d->hv->lock);
	return n;
}

int hv_msi_wait(struct xs_dom *d, uint64_t addr, uint32_t data, uint64_t after, int timeout_ms,
		uint64_t *ret_count)
{
	struct hv *hv = d->hv;
	struct timespec dl;
	uint64_t n;
	int ret = 0;

	hv_deadline(&dl, timeout_ms);
	pthread_mutex_lock(&hv->lock);
	while ((n = msi_count(d, addr, data)) <= after) {
		if (hv_cond_wait(hv, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (ret_count)
		*ret_count = n;
	pthread_mutex_unlock(&hv->lock);
	return ret;
}
