/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xen/: the only layer that includes Xen's headers (DESIGN.md §2). It gives vmm/:
 *  - struct xh_ctx: the process-wide library handles (devicemodel, foreignmemory);
 *  - struct xh_ioreq_server: one guest's ioreq server (create, map ranges, enable,
 *    one event channel per vCPU, serve ioreqs, teardown in reverse order);
 *  - interrupts (Arm SPIs);
 *  - a struct gmem for a guest's RAM through foreign mappings with a bounded cache;
 *  - xenstore helpers (struct xh_xs).
 * Everything here logs at debug level only and returns -errno; vmm/ reports failures.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct gmem;
struct xh_ctx;
struct xh_ioreq_server;

int xh_ctx_new(struct xh_ctx **ret);
void xh_ctx_free(struct xh_ctx *x);

/* --- ioreq server --- */

enum xh_io_type {
	XH_IO_MMIO,	  /* IOREQ_TYPE_COPY */
	XH_IO_PIO,	  /* IOREQ_TYPE_PIO */
	XH_IO_PCI_CONFIG, /* IOREQ_TYPE_PCI_CONFIG: addr = SBDF << 32 | register */
};

/* One guest access, copied out of the shared ioreq page and validated. */
struct xh_io {
	enum xh_io_type type;
	bool write;
	uint8_t size; /* 1, 2, 4 or 8 */
	unsigned vcpu;
	uint64_t addr;
	uint64_t data; /* value written, or the value to return for a read */
};

struct xh_ioreq_handler;
struct xh_ioreq_handler_ops {
	/*
	 * Emulate io; for reads set io->data. A negative return is logged by the caller
	 * of the handler (rate-limited); the ioreq is completed either way, reads with
	 * all ones.
	 */
	int (*access)(struct xh_ioreq_handler *h, struct xh_io *io);
	/* Xen asked every device model to drop its guest-memory mappings. */
	void (*invalidate)(struct xh_ioreq_handler *h);
};

struct xh_ioreq_handler {
	const struct xh_ioreq_handler_ops *ops;
	/*
	 * Guest RAM for x86 string ioreqs whose data is a guest-physical pointer (rep
	 * ins/outs/movs between RAM and a device); NULL refuses them as bad ioreqs.
	 */
	struct gmem *mem;
};

/*
 * x86 string ioreqs (count > 1, or data a pointer) are served one repetition at a time
 * through ops->access; more repetitions than this in one ioreq are refused (a guest could
 * otherwise stall the process: Xen bounds pointer ones to a page, rep stos only to what
 * its page tables map contiguously).
 */
#define XH_IOREQ_MAX_REPS (1u << 20)

/* Counters, for tests and the status log line. */
struct xh_ioreq_stats {
	uint64_t served;
	uint64_t bad;	     /* invalid size, count, pointer data or type */
	uint64_t string;     /* served ioreqs with count > 1 or pointer data (x86) */
	uint64_t invalidate; /* INVALIDATE broadcasts acknowledged */
	uint64_t spurious;   /* event with no READY slot */
};

/*
 * Create the server (buffered ioreqs off) and map its ioreq page. The server is
 * not enabled: map the ranges first, then xh_ioreq_server_enable().
 */
int xh_ioreq_server_new(struct xh_ctx *x, uint32_t domid, struct xh_ioreq_handler *h,
			struct xh_ioreq_server **ret);
/* [start, start + size) of guest-physical MMIO space. */
int xh_ioreq_server_map_mmio(struct xh_ioreq_server *s, uint64_t start, uint64_t size);
int xh_ioreq_server_unmap_mmio(struct xh_ioreq_server *s, uint64_t start, uint64_t size);
/* x86: [start, start + size) of I/O port space (start + size <= 0x10000); XH_IO_PIO ioreqs. */
int xh_ioreq_server_map_pio(struct xh_ioreq_server *s, uint16_t start, uint32_t size);
int xh_ioreq_server_unmap_pio(struct xh_ioreq_server *s, uint16_t start, uint32_t size);
/*
 * x86 HVM: claim a PCI function; the guest's config-space accesses to it arrive as
 * XH_IO_PCI_CONFIG (addr = SBDF << 32 | register). Released at teardown.
 */
int xh_ioreq_server_map_pcidev(struct xh_ioreq_server *s, uint16_t seg, uint8_t bus, uint8_t dev,
			       uint8_t fn);
int xh_ioreq_server_unmap_pcidev(struct xh_ioreq_server *s, uint16_t seg, uint8_t bus, uint8_t dev,
				 uint8_t fn);
/* Enable and bind one event channel per vCPU. After this the guest may be unpaused. */
int xh_ioreq_server_enable(struct xh_ioreq_server *s);
/* The fd to poll for ioreqs (valid after enable). */
int xh_ioreq_server_fd(struct xh_ioreq_server *s);
/* Serve what the fd signalled. Returns 0, or -errno if the event channel failed. */
int xh_ioreq_server_dispatch(struct xh_ioreq_server *s);
uint32_t xh_ioreq_server_id(struct xh_ioreq_server *s);
unsigned xh_ioreq_server_nr_vcpus(struct xh_ioreq_server *s);
const struct xh_ioreq_stats *xh_ioreq_server_stats(struct xh_ioreq_server *s);
/* Unbind, disable, unmap ranges, unmap the page, destroy. NULL-safe. */
void xh_ioreq_server_free(struct xh_ioreq_server *s);

/* --- interrupts --- */

/* Arm: SPI line level (xendevicemodel_set_irq_level). */
int xh_set_irq_level(struct xh_ctx *x, uint32_t domid, uint32_t irq, bool level);
/* x86: INTx level of a PCI device (intx 0-3 = INTA-INTD); fails on Arm (FACTS 26). */
int xh_set_pci_intx_level(struct xh_ctx *x, uint32_t domid, uint16_t seg, uint8_t bus, uint8_t dev,
			  uint8_t intx, bool level);
/* x86: deliver an MSI (an MSI-X table entry's address and data); fails on Arm. */
int xh_inject_msi(struct xh_ctx *x, uint32_t domid, uint64_t addr, uint32_t data);

/* --- guest memory --- */

#define XH_GMEM_CACHE_DEFAULT (64u << 20) /* bytes of guest memory kept mapped */

/* A struct gmem for domid's RAM; cache_bytes bounds what stays mapped at once. */
struct gmem *xh_gmem_new(struct xh_ctx *x, uint32_t domid, size_t cache_bytes);
void xh_gmem_free(struct gmem *g);
/* Mappings currently held (for tests and leak checks). */
unsigned xh_gmem_mapped_buckets(struct gmem *g);

/* --- xenstore --- */

struct xh_xs;

int xh_xs_open(struct xh_xs **ret);
void xh_xs_close(struct xh_xs *xs);
/* NULL if absent (errno kept); g_free() the result. */
char *xh_xs_read(struct xh_xs *xs, const char *path);
int xh_xs_write(struct xh_xs *xs, const char *path, const char *value);
int xh_xs_rm(struct xh_xs *xs, const char *path);
/* Child names (NULL-terminated, g_strfreev()), or NULL if the node is absent. */
char **xh_xs_ls(struct xh_xs *xs, const char *path);
int xh_xs_watch(struct xh_xs *xs, const char *path, const char *token);
int xh_xs_unwatch(struct xh_xs *xs, const char *path, const char *token);
/* The fd that becomes readable when a watch fired. */
int xh_xs_fd(struct xh_xs *xs);
/* Next pending watch event without blocking: 1 and path/token (g_free), 0 if none. */
int xh_xs_next_watch(struct xh_xs *xs, char **ret_path, char **ret_token);
/* Parse a xenstore value as an unsigned number (decimal, or 0x hex). */
int xh_xs_read_u64(struct xh_xs *xs, const char *path, uint64_t *ret);

/* --- guest RAM layout and back-end sharing (F_XEN_MMAP) --- */

struct gmem_region;

/*
 * The RAM banks Xen's toolstack gives a guest of mem_bytes on this architecture:
 * Arm: 0x40000000 (up to 3 GiB), then 0x200000000; x86: below the 0xf0000000 PCI hole,
 * then above 4 GiB. Returns the number of banks written (<= max).
 */
int xh_ram_layout(uint64_t mem_bytes, struct gmem_region *ret, unsigned max);
/* Tell a guest's gmem its RAM banks (enables gmem_regions() and gmem_share()). */
void xh_gmem_set_ram(struct gmem *g, const struct gmem_region *banks, unsigned n);

/* --- least privilege --- */

/*
 * Restrict every Xen handle this process holds to domid (xentoolcore_restrict_all).
 * Irreversible; xenstore handles stop working: close them first. Handles opened later
 * (a privcmd fd for a reconnecting back-end) are not restricted by this call.
 */
int xh_restrict(uint32_t domid);
