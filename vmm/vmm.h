/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmm/: the xvdm program. It assembles guests from xen/ (ioreq servers, guest memory,
 * interrupts), the transports and the device catalogue, and runs one GLib main loop
 * for every guest. Three ways in: the command line (--domid/--device), a config
 * file (--config), and xenstore discovery (--watch), DESIGN.md §4.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "virtio-mmio/vmmio.h"
#include "xen/privcmd-evt.h"
#include "xen/xh.h"

#define VMM_ERROR vmm_error_quark()
GQuark vmm_error_quark(void);

/* ---- device specs: "rng,transport=mmio,base=0x2000000,irq=33,queue-size=256" ---- */

enum vmm_transport {
	VMM_TRANSPORT_MMIO,
	VMM_TRANSPORT_PCI,
};

#define VMM_PCI_MAX_SLOTS 32

/* notify= (vmm/notify.h): who carries a virtio-mmio device's kicks and interrupts. */
enum vmm_notify_mode {
	VMM_NOTIFY_AUTO,   /* the dom0 kernel where it offers privcmd ioeventfd/irqfd, else xvdm */
	VMM_NOTIFY_KERNEL, /* the kernel, or the device is refused */
	VMM_NOTIFY_XVDM,   /* always xvdm (the behaviour before Linux 6.7) */
};

/* "auto", "kernel", "xvdm": 0, or -EINVAL. */
int vmm_notify_parse(const char *s, enum vmm_notify_mode *ret);
const char *vmm_notify_mode_name(enum vmm_notify_mode m);

struct vmm_devspec {
	char *type;
	enum vmm_transport transport;
	bool has_base, has_irq, has_slot;
	uint64_t base;		     /* mmio */
	uint32_t irq;		     /* mmio */
	uint8_t slot;		     /* pci: device number on bus 0 */
	uint16_t queue_size;	     /* 0 = the type's default */
	enum vmm_notify_mode notify; /* mmio: notify=, default auto */
	GHashTable *opts;	     /* device-specific keys, checked by the catalogue */
};

/* Parse a spec; the type and every option are checked. NULL with *error on failure. */
struct vmm_devspec *vmm_devspec_parse(const char *spec, GError **error);
void vmm_devspec_free(struct vmm_devspec *s);

/* ---- a guest's PCI placement (vmm/pcicfg.c, README "virtio-pci") ---- */

enum vmm_pci_mode {
	VMM_PCI_ECAM, /* Arm: xvdm is the host bridge, config space through an ECAM window */
	VMM_PCI_CFG,  /* x86 HVM: slots claimed on the guest's bus, PCI_CONFIG ioreqs */
};

#define VMM_PCI_MAX_BUSES 16
#define VMM_PCI_IO_BASE	  0x1000 /* x86 I/O BARs: ports 0x1000-0xffff (below: legacy devices) */

struct vmm_pci_config {
	enum vmm_pci_mode mode;
	uint64_t ecam_base; /* ECAM: bus 0 at ecam_base, 1 MiB per bus */
	unsigned nr_buses;
	uint64_t mem_base, mem_size;   /* 32-bit non-prefetchable BAR window */
	uint64_t pref_base, pref_size; /* 64-bit prefetchable BAR window */
	uint32_t irq_base;	       /* ECAM: INTA-INTD after the swizzle on irq_base..+3 */
	bool msix;		       /* offer MSI-X (needs inject_msi: x86 only) */
	bool pio_notify;	       /* x86: notify register in an I/O BAR (pio-notify=on) */
	/* not PCI: where virtio-mmio devices' shared memory windows go (shm-window =) */
	uint64_t shm_base, shm_size;
	bool shm_set; /* given explicitly (kept when pci = mode= switches defaults) */
};

/* The defaults of a mode; the mode this host's guests use (Arm: ecam, x86: cfg). */
void vmm_pci_config_default(struct vmm_pci_config *c, enum vmm_pci_mode mode);
enum vmm_pci_mode vmm_pci_host_mode(void);
/* Apply "KEY=VALUE,..." on top of *c; *c is unchanged on error. */
int vmm_pci_config_parse(const char *spec, struct vmm_pci_config *c, GError **error);
/* The shm-window against the PCI windows, once everything is known. */
int vmm_pci_config_check(const struct vmm_pci_config *c, GError **error);
/* shm-window = BASE:SIZE (page aligned, below 2^52) into c->shm_base/shm_size. */
int vmm_shm_window_parse(const char *spec, struct vmm_pci_config *c, GError **error);
/* Arm: the SPI of a slot's interrupt pin (1 = INTA). */
uint32_t vmm_pci_intx_spi(const struct vmm_pci_config *c, unsigned slot, unsigned pin);

/* ---- config file (README "Configuration") ---- */

struct vmm_guest_config {
	char *name;	/* [guest NAME]: matched against the domain's xenstore name */
	bool has_domid; /* [domain N] */
	uint32_t domid;
	GPtrArray *devices; /* struct vmm_devspec *: served as soon as the guest is known */
	GHashTable *slots;  /* vdev ("xvda") -> char * spec without transport/base/irq */
	bool has_pci;	    /* pci= given for this guest, else the [xvdm] one */
	struct vmm_pci_config pci;
};

struct vmm_config {
	GPtrArray *guests;    /* struct vmm_guest_config * */
	char *default_slot;   /* spec for slots no [guest] names; NULL = refuse them */
	char *default_socket; /* socket pattern for slots no [guest] names; NULL = none */
	uint32_t backend_domid;
	bool has_pci;		   /* [xvdm] pci = given */
	struct vmm_pci_config pci; /* [xvdm] pci =, or the host's defaults */
};

struct vmm_config *vmm_config_load(const char *path, GError **error);
struct vmm_config *vmm_config_new(void);
void vmm_config_free(struct vmm_config *c);
const struct vmm_guest_config *vmm_config_find_guest(const struct vmm_config *c, const char *name,
						     uint32_t domid);

/*
 * An xl virtio slot no [guest] group names gets a vhost-user device on the socket
 * [xvdm] default-socket names (README "default-socket"). The facts a pattern may use:
 */
struct vmm_slot_info {
	uint32_t domid;	     /* %d */
	const char *name;    /* %n: the domain's name, NULL if unknown */
	const char *devid;   /* %i: the xenstore device id */
	const char *xl_type; /* %t ("," becomes "-"): "virtio_disk", or "virtio,device26" */
	uint32_t device_id;  /* the virtio device id the slot serves, 0 = unknown */
};

/* A default-socket pattern: absolute, no ',', only %d %n %i %t %%. */
int vmm_socket_pattern_check(const char *pattern, GError **error);
/* The pattern filled in; NULL with *error when a value is unsafe in a path. */
char *vmm_socket_pattern_expand(const char *pattern, const struct vmm_slot_info *si,
				GError **error);
/* "virtio,device26" -> 26; 0 for "virtio,device" and anything else. */
uint32_t vmm_xl_type_device_id(const char *type);
/* "vhost-user-<type>,socket=<expanded pattern>"; NULL with *error (ENOENT: no pattern). */
char *vmm_config_default_spec(const struct vmm_config *c, const struct vmm_slot_info *si,
			      GError **error);

/* ---- guest device tree (vmm/dtb.c, `xvdm dtb`) ---- */

#define VMM_DTB_GIC_PHANDLE 65000 /* GUEST_PHANDLE_GIC: the phandle libxl gives the GIC */

/* The partial device tree (libxl device_tree=) for a guest's devices; g_free the blob. */
int vmm_dtb_build(const struct vmm_guest_config *gc, uint32_t gic_phandle, void **ret_blob,
		  size_t *ret_size, GError **error);

/* ---- guests ---- */

struct vmm;
struct vmm_guest;

struct vmm_guest *vmm_guest_new(struct vmm *v, uint32_t domid, GError **error);
/* The guest's PCI placement; used when its first PCI device is added. */
void vmm_guest_set_pci(struct vmm_guest *g, const struct vmm_pci_config *c);
/* Add a virtio-mmio or -pci device (before or after enable). 0 or -errno with *error. */
int vmm_guest_add_device(struct vmm_guest *g, const struct vmm_devspec *spec, const char *id,
			 GError **error);
/* Remove the device whose window starts at base. */
int vmm_guest_remove_device(struct vmm_guest *g, uint64_t base);
unsigned vmm_guest_nr_devices(struct vmm_guest *g);
/* Enable the ioreq server and start serving. */
int vmm_guest_enable(struct vmm_guest *g, GError **error);
void vmm_guest_free(struct vmm_guest *g);

/* ---- the program ---- */

/* What the dom0 kernel offers for notify= (vmm/notify.c): probed once per process. */
struct vmm_notify_probe {
	bool done;
	struct xh_pevt_support s;
	const char *privcmd_path;    /* NULL: XH_PRIVCMD_PATH */
	const char *guest_type_path; /* NULL: XH_GUEST_TYPE_PATH */
};

struct vmm {
	struct xh_ctx *xen;
	struct xh_xs *xs; /* NULL when xenstore is not reachable (command-line mode only) */
	struct vmm_config *config;
	GMainLoop *loop;
	GHashTable *guests; /* domid -> struct vmm_guest * */
	guint xs_source;
	GHashTable *slots;   /* "domid/devid" -> struct slot (vmm/watch.c) */
	GHashTable *tracked; /* domids whose xenstore node existed: reaped when it goes */
	bool watch;
	int exit_code;
	struct vmm_notify_probe notify_probe;
};

struct vmm_guest *vmm_find_guest(struct vmm *v, uint32_t domid);
void vmm_remove_guest(struct vmm *v, uint32_t domid);

/*
 * xenstore (vmm/watch.c): with v->watch, discovery of xl's virtio slots; always,
 * @releaseDomain to release the devices of guests that are gone.
 */
int vmm_watch_start(struct vmm *v, GError **error);
void vmm_track_domain(struct vmm *v, uint32_t domid);
void vmm_watch_stop(struct vmm *v);
/* Called by the xenstore fd handler for every watch event. */
void vmm_watch_event(struct vmm *v, const char *path, const char *token);

/* ---- libxl device-model mode (vmm/dm-args.c, vmm/dm.c; README "libxl device model") ---- */

#define VMM_DM_MMIO_BASE_DEFAULT 0x2000000 /* GUEST_VIRTIO_MMIO_BASE (Arm guest map) */
#define VMM_DM_MMIO_IRQ_DEFAULT	 33	   /* GUEST_VIRTIO_MMIO_SPI_FIRST */

/* A QMP monitor: -chardev socket,id=ID,path=P|fd=N,server=on + -mon chardev=ID,mode=control */
struct vmm_dm_monitor {
	char *id;
	char *path; /* NULL with an inherited listening fd */
	int fd;	    /* -1 unless fd=N */
};

struct vmm_dm_args {
	int domid;	   /* -xen-domid; -1 if absent */
	char *name;	   /* -name */
	char *machine;	   /* the -machine type: xenpv, xenpvh, xenfv, pc, none */
	bool probe;	   /* -machine none without -xen-domid (libxl >= 4.20 probes the DM) */
	bool hvm;	   /* -machine xenfv / pc,accel=xen: an x86 HVM guest */
	bool start_paused; /* -S: "prelaunch" until QMP cont */
	bool restrict_xen; /* -xen-domid-restrict / --restrict */
	char *runas;	   /* -runas USER[:GROUP] / -run-with user=... / --runas */
	char *pidfile;	   /* -pidfile / --pidfile */
	uint64_t ram_mb;   /* -m */
	int verbosity;	   /* -v (more), -q (-1) */
	GPtrArray *mons;   /* struct vmm_dm_monitor *: the QMP monitors, libxl-cmd first */
	GPtrArray *notes;  /* char *: options accepted and ignored, for one log line */
	struct vmm_config *config;	/* owns guest (its only group) */
	struct vmm_guest_config *guest; /* the devices and the PCI placement */
};

/* Does argv look like libxl's (QEMU-style -xen-domid / -machine)? */
bool vmm_dm_argv_is_libxl(int argc, char **argv);
/* Parse libxl's argv (argv[0] is the program). NULL with *error naming the option. */
struct vmm_dm_args *vmm_dm_args_parse(int argc, char **argv, GError **error);
void vmm_dm_args_free(struct vmm_dm_args *a);
/* The whole mode: parse, serve, QMP, exit status. */
int vmm_dm_main(int argc, char **argv);

/* ---- QMP (vmm/qmp.c): the subset libxl speaks, testable without sockets ---- */

enum vmm_run_state {
	VMM_RUN_PRELAUNCH, /* -S: devices served, waiting for cont */
	VMM_RUN_RUNNING,
	VMM_RUN_PAUSED, /* after stop */
};

struct vmm_qmp_server;
struct vmm_qmp_ops {
	/* cont/stop changed the state (already recorded in srv->state) */
	void (*state_changed)(struct vmm_qmp_server *srv);
	/* quit: reply sent; the owner ends the process */
	void (*quit)(struct vmm_qmp_server *srv);
};

struct vmm_qmp_server {
	const struct vmm_qmp_ops *ops;
	enum vmm_run_state state;
	GPtrArray *chardevs; /* char *: label, filename, label, ... (query-chardev) */
};

#define VMM_QMP_MAX_MESSAGE (64 * 1024) /* one command, bytes; larger closes the client */
#define VMM_QMP_MAX_DEPTH   32
#define VMM_QMP_MAX_PENDING (256 * 1024) /* replies a client has not read; more: dropped */

/* One client's connection state. */
struct vmm_qmp_conn {
	struct vmm_qmp_server *srv;
	GString *in;	  /* bytes of the message being received */
	unsigned depth;	  /* brace/bracket depth in `in` */
	bool in_str, esc; /* inside a string, after a backslash */
	bool garbage;	  /* skipping a non-object token at top level */
	bool negotiated;  /* qmp_capabilities done */
};

void vmm_qmp_conn_init(struct vmm_qmp_conn *c, struct vmm_qmp_server *srv);
void vmm_qmp_conn_fini(struct vmm_qmp_conn *c);
/* The greeting QEMU sends on connect, with its "\r\n". */
void vmm_qmp_greeting(GString *out);
/*
 * Feed received bytes; replies are appended to out. Returns 0, or -EMSGSIZE / -EPROTO
 * when the client must be dropped (after the error reply was appended).
 */
int vmm_qmp_feed(struct vmm_qmp_conn *c, const char *data, size_t len, GString *out);
/* A state change as QMP names it ("running", "prelaunch", "paused"). */
const char *vmm_run_state_name(enum vmm_run_state s);

/* ---- QMP monitor sockets (vmm/qmp-sock.c): one client at a time, like QEMU's ---- */

struct vmm_qmp_mon;

/* Listen on path (an existing socket file is replaced) or on an inherited listening fd. */
struct vmm_qmp_mon *vmm_qmp_mon_new(struct vmm_qmp_server *srv, const char *id, const char *path,
				    int fd, GError **error);
/* Close the client and the listener; unlink the path we bound. NULL-safe. */
void vmm_qmp_mon_free(struct vmm_qmp_mon *m);
/* Clients accepted so far (tests, logs). */
unsigned vmm_qmp_mon_clients(const struct vmm_qmp_mon *m);

/* ---- operations (vmm/dm-ops.c): systemd readiness, pid file, dropping privileges ---- */

/* sd_notify(3)'s datagram to $NOTIFY_SOCKET, if set: 0, or -errno (logged by the caller). */
int vmm_sd_notify(const char *state);
/* Write our pid to path (atomically: a temporary file renamed over it). */
int vmm_pidfile_write(const char *path, GError **error);
/* "USER" or "USER:GROUP": setgroups/setgid/setuid, verified irreversible. */
int vmm_drop_privileges(const char *runas, GError **error);
