/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: what Xen and xenstored would hold for the domains a device
 * model serves, reachable by libxensim.so over a unix socket (proto.h) from the process
 * under test, and directly from the test through this API.
 *
 * Per domain: guest RAM (a memfd, one or more banks at guest-physical addresses), vCPUs,
 * ioreq servers (their shared ioreq page, MMIO/port/PCI ranges, enabled state, one event
 * channel per vCPU = two eventfds), interrupt lines (level and count of rising edges).
 * Globally: a small xenstore with watches and transactions, and an event log of
 * everything the device model did, for checking the order of its actions.
 *
 * Locking: one lock per struct hv; every function here may be called from any thread.
 * Domains are never freed before hv_free(), so a struct xs_dom pointer stays valid.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct hv;
struct xs_dom;

#define HV_MAX_VCPUS	       128 /* vcpu_ioreq[] slots in one ioreq page */
#define HV_MAX_BANKS	       4
#define HV_MAX_IOREQ_SERVERS   8	     /* Xen's MAX_NR_IOREQ_SERVERS */
#define HV_ARM_RAM0	       0x40000000ULL /* FACTS 25 */
#define HV_ARM_NR_SPIS_DEFAULT 988

enum hv_arch {
	HV_ARCH_ARM,
	HV_ARCH_X86,
};

struct hv_ram_bank {
	uint64_t gpa;
	uint64_t size; /* a multiple of 4096 */
};

struct hv_dom_cfg {
	unsigned nr_vcpus; /* 1..HV_MAX_VCPUS */
	enum hv_arch arch;
	unsigned nr_banks; /* 0: one 64 MiB bank at HV_ARM_RAM0 */
	struct hv_ram_bank banks[HV_MAX_BANKS];
	unsigned nr_spis; /* Arm: SPIs 32 .. 32 + nr_spis - 1 are valid; 0 = default */
	/*
	 * != 0: this many bytes of RAM (a multiple of 4096) in the banks Xen's toolstack
	 * gives a guest on the host's architecture (hv_host_ram_layout()); nr_banks and
	 * banks are then ignored. xvdm derives the same banks from memory/static-max.
	 */
	uint64_t host_mem;
};

/*
 * The RAM banks of a guest of mem bytes on the host's architecture, as libxl lays them
 * out and xvdm's xen/ layer assumes: x86_64 [0, min(mem, 0xf0000000)) then from 4 GiB;
 * aarch64 [0x40000000, min(mem, 3 GiB)) then from 0x200000000. Returns the bank count.
 */
unsigned hv_host_ram_layout(uint64_t mem, struct hv_ram_bank ret[2]);
/* A guest-physical address for virtio-mmio windows that no host-layout RAM bank covers. */
uint64_t hv_host_mmio_base(void);

/* Start listening on socket_path (removed first if it exists). NULL + message on error. */
struct hv *hv_new(const char *socket_path);
/* Stop serving, close every connection, free everything, remove the socket. NULL-safe. */
void hv_free(struct hv *hv);
const char *hv_socket_path(struct hv *hv);
/*
 * A new emulated /dev/xen/privcmd fd, as libxensim.so's open() makes one (for a test that
 * plays the vhost-user front-end itself and hands it to a back-end). -errno on failure.
 */
int hv_privcmd_open(struct hv *hv);

/* --- domains --- */

/*
 * NULL (with a message) if domid is taken by a live domain or the config is invalid.
 * Writes /local/domain/<domid>/memory/static-max (KiB of RAM, as libxl does).
 */
struct xs_dom *hv_dom_create(struct hv *hv, uint32_t domid, const struct hv_dom_cfg *cfg);
/*
 * The domain dies, as `xl destroy` ends: its ioreq servers vanish (their pages and
 * event channels stay valid in the device model's process), later calls for the domid
 * fail with ESRCH, watchers of @releaseDomain get an event. The struct stays allocated.
 */
void hv_dom_destroy(struct xs_dom *d);
uint32_t hv_dom_id(const struct xs_dom *d);
unsigned hv_dom_nr_vcpus(const struct xs_dom *d);
struct hv *hv_dom_hv(struct xs_dom *d);

/* --- ioreq servers, as they are now --- */

struct hv_server_info {
	uint16_t id;
	bool enabled;
	int bufioreq;	    /* handle_bufioreq as created */
	unsigned nr_ranges; /* MMIO + port + PCI */
	unsigned nr_bound;  /* vCPU event channels bound by the device model */
};

/* Live (not destroyed) servers of d; returns the count, fills up to max entries. */
unsigned hv_dom_servers(struct xs_dom *d, struct hv_server_info *out, unsigned max);

/* Who would get a guest MMIO access to addr. */
struct hv_claim {
	bool mapped;	/* an MMIO range of a live server covers addr */
	int server;	/* its id, or -1 */
	bool enabled;	/* that server is enabled */
	unsigned bound; /* how many of its vCPU ports are bound */
};

void hv_dom_claim(struct xs_dom *d, uint64_t addr, struct hv_claim *ret);
/* The same for an x86 I/O port (map_io_range_to_ioreq_server with is_mmio 0). */
void hv_dom_pio_claim(struct xs_dom *d, uint16_t port, struct hv_claim *ret);
/* The same, as it was just before log entry `seq` (replayed from the log). */
void hv_dom_claim_at(struct xs_dom *d, uint64_t addr, uint64_t seq, struct hv_claim *ret);

/*
 * A PCI function as Xen names it in XEN_DMOP_IO_RANGE_PCI ranges and in the high half of a
 * PCI_CONFIG ioreq's addr (FACTS 22): segment 31:16, bus 15:8, device 7:3, function 2:0.
 */
#define HV_SBDF(seg, bus, dev, fn) \
	((uint32_t)(((seg)&0xffffu) << 16 | ((bus)&0xffu) << 8 | ((dev)&0x1fu) << 3 | ((fn)&7u)))

/* Who claims PCI function sbdf (map_pcidev_to_ioreq_server), now or before log entry seq. */
void hv_dom_pci_claim(struct xs_dom *d, uint32_t sbdf, struct hv_claim *ret);
void hv_dom_pci_claim_at(struct xs_dom *d, uint32_t sbdf, uint64_t seq, struct hv_claim *ret);
/* How many servers were live just before log entry `seq`. */
unsigned hv_dom_servers_at(struct xs_dom *d, uint64_t seq);
/* Wait until addr is served: mapped, enabled, every vCPU port bound. 0 or -ETIMEDOUT. */
int hv_dom_wait_served(struct xs_dom *d, uint64_t addr, int timeout_ms);
/* The same for a PCI function's config space (x86: map_pcidev_to_ioreq_server). */
int hv_dom_wait_pci_served(struct xs_dom *d, uint32_t sbdf, int timeout_ms);

struct hv_dom_stats {
	unsigned servers_created;
	unsigned servers_destroyed;
	unsigned ranges_mapped;
	unsigned ranges_unmapped; /* explicit unmap calls */
	unsigned ports_bound;
	unsigned ports_unbound; /* explicit, or by closing the handle */
	unsigned irq_calls;
	unsigned msis;		    /* MSIs delivered (inject_msi calls that succeeded) */
	unsigned pci_cfg;	    /* PCI_CONFIG ioreqs sent to a server */
	unsigned pci_cfg_unclaimed; /* config accesses no server claimed (Xen: all ones) */
	unsigned pio;		    /* port I/O ioreqs sent to a server (x86) */
	unsigned pio_unclaimed;	    /* port accesses no server claimed (Xen: all ones) */
	unsigned strings;	    /* ioreqs with count > 1 or pointer data sent (x86) */
	unsigned errors;	    /* calls that failed (the log has the errno) */
	unsigned privcmd_maps;	    /* IOCTL_PRIVCMD_MMAPBATCH_V2 on emulated privcmd fds */
	uint64_t privcmd_pages;	    /* pages those asked for */
};

void hv_dom_stats(struct xs_dom *d, struct hv_dom_stats *ret);

/* --- interrupts --- */

/* Key for x86 PCI INTx lines in the irq table (hv_irq_*); Arm uses plain SPI numbers. */
#define HV_INTX_KEY(bus, dev, intx) (0x1000000u | (unsigned)(bus) << 16 | (dev) << 8 | (intx))

void hv_irq_get(struct xs_dom *d, unsigned irq, unsigned *ret_level, uint64_t *ret_edges);
/* Wait until the line has had more than `after` rising edges. 0 or -ETIMEDOUT. */
int hv_irq_wait_edge(struct xs_dom *d, unsigned irq, uint64_t after, int timeout_ms,
		     uint64_t *ret_edges);

/*
 * x86 MSIs (xendevicemodel_inject_msi) as the guest's local APICs receive them: how many
 * were delivered with exactly this address and data, and a bounded wait for more than
 * `after` of them. 0 or -ETIMEDOUT.
 */
uint64_t hv_msi_count(struct xs_dom *d, uint64_t addr, uint32_t data);
int hv_msi_wait(struct xs_dom *d, uint64_t addr, uint32_t data, uint64_t after, int timeout_ms,
		uint64_t *ret_count);

/* --- event log --- */

enum hv_ev_type {
	HV_EV_DOM_CREATE,
	HV_EV_DOM_DESTROY,
	HV_EV_CONN_OPEN,     /* a = kind (proto.h), b = pid */
	HV_EV_CONN_CLOSE,    /* a = kind */
	HV_EV_SERVER_CREATE, /* a = bufioreq */
	HV_EV_SERVER_DESTROY,
	HV_EV_SERVER_STATE, /* a = enabled */
	HV_EV_RANGE_MAP,    /* a = start, b = end, c = type (XEN_DMOP_IO_RANGE_*) */
	HV_EV_RANGE_UNMAP,  /* as above */
	HV_EV_PORT_BIND,    /* a = vcpu, b = local port, c = remote port */
	HV_EV_PORT_UNBIND,  /* as above */
	HV_EV_IRQ,	    /* a = irq (or HV_INTX_KEY), b = level */
	HV_EV_MSI,	    /* a = address, b = data */
	HV_EV_XS_WRITE,	    /* path, value; by_client */
	HV_EV_XS_RM,	    /* path; by_client */
	HV_EV_ERROR,	    /* a = op (proto.h), b = errno */
	HV_EV_PRIVCMD_MAP,  /* a = first pfn, b = pages, c = pid of the mapping process */
};

struct hv_event {
	uint64_t seq; /* from 1, increasing */
	enum hv_ev_type type;
	uint32_t domid;
	int server; /* ioreq server id or -1 */
	uint64_t a, b, c;
	const char *path;  /* valid until hv_free */
	const char *value; /* valid until hv_free */
	bool by_client;	   /* done by the process under test, not by the test */
	unsigned conn;	   /* connection id, 0 for the test itself */
};

unsigned hv_log_count(struct hv *hv);
/* Entry i (0-based, seq = i + 1). false if out of range. */
bool hv_log_get(struct hv *hv, unsigned i, struct hv_event *ret);
/* seq of the first xenstore write of `value` to `path` by the client; 0 if none. */
uint64_t hv_log_xs_write_seq(struct hv *hv, const char *path, const char *value);
void hv_log_dump(struct hv *hv, FILE *f);
const char *hv_ev_name(enum hv_ev_type t);

/* --- xenstore, as the toolstack (dom0, absolute or dom0-relative paths) --- */

int hv_xs_write(struct hv *hv, uint32_t tx, const char *path, const char *value);
__attribute__((format(printf, 4, 5))) int hv_xs_printf(struct hv *hv, uint32_t tx, const char *path,
						       const char *fmt, ...);
/* The value (free()), or NULL if the node does not exist. */
char *hv_xs_read(struct hv *hv, uint32_t tx, const char *path);
int hv_xs_mkdir(struct hv *hv, uint32_t tx, const char *path);
/* The number of children of path and, if ret_names, their names (NULL-terminated, free
 * with g_strfreev()); -ENOENT if path does not exist. */
int hv_xs_directory(struct hv *hv, uint32_t tx, const char *path, char ***ret_names);
int hv_xs_rm(struct hv *hv, uint32_t tx, const char *path);
/* 0 and a transaction id, or -errno. Changes become visible (and fire watches) at the end. */
int hv_xs_tx_start(struct hv *hv, uint32_t *ret_tx);
int hv_xs_tx_end(struct hv *hv, uint32_t tx, bool abort);
/* Wait until path holds value (value NULL: until path does not exist). 0 or -ETIMEDOUT. */
int hv_xs_wait(struct hv *hv, const char *path, const char *value, int timeout_ms);
/* Wait until a client has a watch that fires for changes of path. 0 or -ETIMEDOUT. */
int hv_xs_wait_watch(struct hv *hv, const char *path, int timeout_ms);
void hv_xs_dump(struct hv *hv, FILE *f);
