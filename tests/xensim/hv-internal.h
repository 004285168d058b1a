/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the simulated hypervisor, shared by hv*.c and the guest driver (guest.c). */
#pragma once

#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

#include "tests/xensim/hv.h"
#include "tests/xensim/proto.h"

struct hv_conn {
	struct hv *hv;
	unsigned id;
	int fd;
	pthread_t thread;
	enum xsim_kind kind;
	pid_t pid;
	int64_t restrict_domid; /* -1: unrestricted */
	bool xs_dead;		/* xenstore handle after xentoolcore_restrict_all */
	bool closed;
	/* fds that came with the request being dispatched: an op takes one by setting -1 */
	int req_fds[XSIM_MAX_FDS];
	unsigned req_nfds;
	/* xenstore */
	int watch_efd; /* readable while events is not empty */
	GQueue events; /* struct hv_watch_event * */
};

/* One vCPU's event channel of an ioreq server. */
struct hv_port {
	uint32_t remote; /* the guest's port, written to vp_eport */
	uint32_t local;	 /* the device model's port while bound */
	bool bound;
	struct hv_conn *conn;
	int g2dm; /* eventfd: the guest (Xen) notifies the device model */
	int dm2g; /* eventfd: the device model notifies the guest */
};

struct hv_range {
	uint32_t type;	     /* XEN_DMOP_IO_RANGE_PORT / _MEMORY / _PCI */
	uint64_t start, end; /* inclusive */
};

struct hv_server {
	struct xs_dom *d;
	uint16_t id;
	int bufioreq;
	bool enabled;
	bool destroyed;
	int page_fd;
	struct shared_iopage *page; /* one ioreq_t per vCPU */
	GArray *ranges;		    /* struct hv_range */
	struct hv_port *ports;	    /* [nr_vcpus] */
};

struct hv_irq {
	unsigned level;
	uint64_t edges;
};

/* MSIs delivered with one (address, data) pair. */
struct hv_msi {
	uint64_t addr;
	uint32_t data;
	uint64_t count;
};

struct xs_dom {
	struct hv *hv;
	uint32_t domid;
	struct hv_dom_cfg cfg;
	bool destroyed;
	int ram_fd;
	uint8_t *ram;
	uint64_t ram_len;
	uint64_t bank_off[HV_MAX_BANKS];
	GPtrArray *servers; /* every server ever created; freed with the hv */
	GHashTable *irqs;   /* unsigned -> struct hv_irq * */
	GArray *msis;	    /* struct hv_msi */
	uint32_t next_port;
	struct hv_dom_stats stats;
	/* guest side (guest.c) */
	pthread_mutex_t *vcpu_lock; /* [nr_vcpus]: one access in flight per vCPU */
	pthread_mutex_t alloc_lock;
	uint64_t alloc_next; /* bump allocator over bank 0 */
};

struct hv_xs; /* hv-xs.c */

struct hv {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast on every state change */
	char *path;
	int listen_fd;
	int stop_efd;
	pthread_t thread;
	GPtrArray *conns; /* struct hv_conn * */
	GPtrArray *doms;  /* struct xs_dom * */
	unsigned next_conn_id;
	uint32_t next_local_port;
	GArray *log; /* struct hv_event; path and value owned */
	struct hv_xs *xs;
	struct hv_kevt *kevt; /* the emulated dom0 kernel's privcmd eventfds (hv-kevt.c) */
};

/* A reply under construction (hv.c sends it after the lock is dropped). */
struct hv_reply {
	int err;
	uint64_t val[4];
	GByteArray *data;
	int fds[XSIM_MAX_FDS]; /* our own dups, closed after sending */
	unsigned nfds;
};

typedef void hv_op_fn(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		      struct hv_reply *r);

/* hv.c */
struct hv_event *hv_log_add(struct hv *hv, enum hv_ev_type type, uint32_t domid, int server,
			    uint64_t a, uint64_t b, uint64_t c);
void hv_log_add_xs(struct hv *hv, enum hv_ev_type type, const char *path, const char *value,
		   size_t len, bool by_client);
struct xs_dom *hv_find_dom(struct hv *hv, uint32_t domid);
int hv_reply_fd(struct hv_reply *r, int fd);
/* lock held; deadline from hv_deadline(); 0 or ETIMEDOUT */
int hv_cond_wait(struct hv *hv, const struct timespec *deadline);
void hv_deadline(struct timespec *ts, int timeout_ms);

/* hv-ioreq.c: dm, fmem and evtchn operations (lock held) */
hv_op_fn hv_op_dm_create, hv_op_dm_destroy, hv_op_dm_set_state, hv_op_dm_map_range,
	hv_op_dm_unmap_range, hv_op_dm_map_pcidev, hv_op_dm_unmap_pcidev, hv_op_dm_set_irq,
	hv_op_dm_set_intx, hv_op_dm_inject_msi, hv_op_dm_nr_vcpus, hv_op_fmem_ram,
	hv_op_fmem_resource, hv_op_evtchn_bind, hv_op_evtchn_unbind, hv_op_privcmd_map;
void hv_conn_unbind_all(struct hv_conn *c);
void hv_dom_kill_servers(struct xs_dom *d);
void hv_server_free(struct hv_server *s);
int hv_ranges_add(GArray *a, uint32_t type, uint64_t start, uint64_t end);
int hv_ranges_remove(GArray *a, uint32_t type, uint64_t start, uint64_t end);
bool hv_ranges_contain(GArray *a, uint32_t type, uint64_t start, uint64_t end);
/*
 * The live, enabled server whose MMIO ranges hold [addr, addr + len), or whose PCI ranges
 * hold sbdf; as Xen's ioreq_server_select(), the highest server id wins when several do.
 */
struct hv_server *hv_route_mmio(struct xs_dom *d, uint64_t addr, uint64_t len);
struct hv_server *hv_route_pci(struct xs_dom *d, uint32_t sbdf);
/* x86 port I/O: the server whose port ranges hold [port, port + len). */
struct hv_server *hv_route_pio(struct xs_dom *d, uint64_t port, uint64_t len);

/*
 * hv-kevt.c: Linux >= 6.7's privcmd irqfd and ioeventfd, emulated as the dom0 kernel
 * runs them (drivers/xen/privcmd.c), outside the device model's process.
 */
struct hv_kevt;
hv_op_fn hv_op_privcmd_irqfd, hv_op_privcmd_ioeventfd;
/*
 * The vCPU's ioreq just became READY on server `server` of d. If the kernel has an
 * ioeventfd handler on that server's ports, it runs here and delivers the event to the
 * device model (g2dm; the handler shares the port's IRQ with /dev/xen/evtchn), and true is
 * returned; else false and the caller notifies. A matching QueueNotify (a COPY write at a
 * window's base + 0x50, its size, data & 0xffff == its queue) signals the eventfd and is
 * completed first (IORESP_READY + dm2g): the device model finds the slot not READY. Other
 * writes are held INPROCESS for the hold time after the event, then put back to READY,
 * as ioeventfd_interrupt() does while it matches. Called without the hv lock.
 */
bool hv_kevt_ioreq(struct hv *hv, struct xs_dom *d, uint16_t server, unsigned vcpu,
		   volatile ioreq_t *slot, int g2dm, int dm2g);
/*
 * How long the emulated handler holds a write it does not take (default 0; the real one
 * takes well under a microsecond): long enough that the device model sees INPROCESS.
 */
void hv_kevt_set_hold_us(struct hv *hv, unsigned us);
/* Counters for tests: kicks signalled, ioreqs completed, interrupts raised. */
void hv_kevt_stats(struct hv *hv, uint32_t domid, uint64_t *ret_kicks, uint64_t *ret_irqs);
void hv_kevt_free(struct hv *hv);

/* hv-xs.c (lock held unless noted) */
enum hv_xs_opk {
	HV_XS_WRITE,
	HV_XS_MKDIR,
	HV_XS_RM,
};

/* The absolute form of a node path (g_free), or NULL if xenstored would refuse it. */
char *hv_xs_abs_path(const char *path, bool *ret_rel);
/* A change by c (NULL: the test), in transaction tx_id or directly (firing watches). */
int hv_xs_do_op(struct hv *hv, struct hv_conn *c, uint32_t tx_id, enum hv_xs_opk kind,
		const char *p, const void *val, size_t len);
int hv_xs_do_read(struct hv *hv, struct hv_conn *c, uint32_t tx_id, const char *p, GBytes **ret);
GPtrArray *hv_xs_list(struct hv *hv, struct hv_conn *c, uint32_t tx_id, const char *p,
		      int *ret_err);
uint32_t hv_xs_tx_new(struct hv *hv, struct hv_conn *c);
int hv_xs_tx_finish(struct hv *hv, struct hv_conn *c, uint32_t tx_id, bool abort);
/* A client watch fires for changes of p. */
bool hv_xs_watched(struct hv *hv, const char *p);
struct hv_xs *hv_xs_new(void);
void hv_xs_free(struct hv_xs *xs);
hv_op_fn hv_op_xs_open, hv_op_xs_read, hv_op_xs_write, hv_op_xs_mkdir, hv_op_xs_rm,
	hv_op_xs_directory, hv_op_xs_watch, hv_op_xs_unwatch, hv_op_xs_get_watch, hv_op_xs_tx_start,
	hv_op_xs_tx_end, hv_op_xs_introduced;
void hv_xs_conn_closed(struct hv_conn *c);
void hv_xs_conn_free(struct hv_conn *c);
void hv_xs_fire_special(struct hv *hv, const char *name);
