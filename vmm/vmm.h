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
#include "xen/xh.h"

#define VMM_ERROR vmm_error_quark()
GQuark vmm_error_quark(void);

/* ---- device specs: "rng,transport=mmio,base=0x2000000,irq=33,queue-size=256" ---- */

enum vmm_transport {
	VMM_TRANSPORT_MMIO,
	VMM_TRANSPORT_PCI,
};

#define VMM_PCI_MAX_SLOTS 32

struct vmm_devspec {
	char *type;
	enum vmm_transport transport;
	bool has_base, has_irq, has_slot;
	uint64_t base;	     /* mmio */
	uint32_t irq;	     /* mmio */
	uint8_t slot;	     /* pci: device number on bus 0 */
	uint16_t queue_size; /* 0 = the type's default */
	GHashTable *opts;    /* device-specific keys, checked by the catalogue */
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

struct vmm_pci_config {
	enum vmm_pci_mode mode;
	uint64_t ecam_base; /* ECAM: bus 0 at ecam_base, 1 MiB per bus */
	unsigned nr_buses;
	uint64_t mem_base, mem_size;   /* 32-bit non-prefetchable BAR window */
	uint64_t pref_base, pref_size; /* 64-bit prefetchable BAR window */
	uint32_t irq_base;	       /* ECAM: INTA-INTD after the swizzle on irq_base..+3 */
	bool msix;		       /* offer MSI-X (needs inject_msi: x86 only) */
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
