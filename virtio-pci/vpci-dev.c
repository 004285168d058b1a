/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One virtio-pci function's configuration space (PCI Local Bus 3.0 §6.1-6.2, virtio 1.2
 * §4.1.4): the type-0 header, the BARs and their decoding, the capability list with the
 * PCI_CFG access window and MSI-X.
 *
 * Trust boundary: every config access comes from the guest (ECAM or PCI_CONFIG ioreqs),
 * already checked for size and alignment by vpci-host.c. What a write may change is
 * decided byte by byte by the write mask (read-only bytes keep their value) and the
 * write-1-to-clear mask; a BAR only ever holds an address aligned to its size (the mask
 * clears the low bits, which is also how sizing works). The transport then decides from
 * the config space which BARs decode, and asks the owner to claim a range only after
 * vpci_host_bar_ok() placed it inside a configured window.
 *
 * 64-bit BARs: Linux (pci_std_update_resource) and firmware write the low dword, then the
 * high dword. A low-half write therefore leaves the pair inconsistent: the BAR stops
 * decoding until its high half is written, or until the guest turns memory decoding on
 * (a guest that changed only the low half with decoding off is done with the BAR then).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "common/util.h"
#include "virtio-pci/vpci-internal.h"

#define VPCI_VENDOR_ID	     0x1af4 /* virtio 1.2 §4.1.2 */
#define VPCI_DEVICE_ID_BASE  0x1040 /* + virtio device id (§4.1.2.1, non-transitional) */
#define VPCI_REVISION	     1	    /* §4.1.2.1: non-transitional devices have revision >= 1 */
#define VPCI_CAP_START	     PCI_STD_HEADER_SIZEOF
#define VPCI_INTX_PIN	     1 /* INTA */
#define CLASS(base, sub, pi) (((uint32_t)(base) << 16) | ((sub) << 8) | (pi))

/* Command bits the function implements (no SERR/parity reporting; I/O with the I/O BAR). */
#define CMD_WRITABLE (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)
#define STATUS_W1C                                                                       \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT | \
	 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* The PCI class code per virtio device type (PCI Code and ID Assignment). */
static uint32_t class_code(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return CLASS(0x02, 0x00, 0); /* Ethernet controller */
	case VIRTIO_ID_BLOCK:
	case VIRTIO_ID_FS:
		return CLASS(0x01, 0x80, 0); /* other mass storage */
	case VIRTIO_ID_SCSI:
		return CLASS(0x01, 0x00, 0); /* SCSI controller */
	case VIRTIO_ID_CONSOLE:
	case VIRTIO_ID_VSOCK:
		return CLASS(0x07, 0x80, 0); /* other communication controller */
	case VIRTIO_ID_GPU:
		return CLASS(0x03, 0x80, 0); /* other display controller */
	case VIRTIO_ID_INPUT:
		return CLASS(0x09, 0x80, 0); /* other input controller */
	case VIRTIO_ID_SOUND:
		return CLASS(0x04, 0x01, 0); /* multimedia audio */
	default:
		return CLASS(0xff, 0x00, 0); /* unassigned class */
	}
}

/* --- building the config space --- */

static void set16(struct vpci_dev *p, unsigned off, uint16_t v)
{
	vpci_put16(p->cfg + off, v);
}

static void set32(struct vpci_dev *p, unsigned off, uint32_t v)
{
	vpci_put32(p->cfg + off, v);
}

static void set_wmask(struct vpci_dev *p, unsigned off, unsigned len, uint32_t mask)
{
	unsigned i;

	for (i = 0; i < len; i++)
		p->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

static void header_init(struct vpci_dev *p)
{
	uint32_t id = p->dev->device_id;

	set16(p, PCI_VENDOR_ID, VPCI_VENDOR_ID);
	set16(p, PCI_DEVICE_ID, (uint16_t)(VPCI_DEVICE_ID_BASE + id));
	set32(p, PCI_CLASS_REVISION, class_code(id) << 8 | VPCI_REVISION);
	p->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	set16(p, PCI_SUBSYSTEM_VENDOR_ID, VPCI_VENDOR_ID);
	set16(p, PCI_SUBSYSTEM_ID, (uint16_t)id);
	set16(p, PCI_STATUS, PCI_STATUS_CAP_LIST);
	p->cfg[PCI_INTERRUPT_PIN] = VPCI_INTX_PIN;

	set_wmask(p, PCI_COMMAND, 2, CMD_WRITABLE | (p->pio_notify ? PCI_COMMAND_IO : 0));
	vpci_put16(p->w1cmask + PCI_STATUS, STATUS_W1C);
	p->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	p->wmask[PCI_LATENCY_TIMER] = 0xff;
	p->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/* A 64-bit memory BAR pair idx/idx+1 of `size` bytes (a power of two >= 16). */
static void bar64_init(struct vpci_dev *p, unsigned idx, uint64_t size, bool prefetch)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;
	uint64_t addr_mask = ~(size - 1);
	uint32_t flags = PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64 |
			 (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);

	p->bars[idx].size = size;
	p->bars[idx].is64 = true;
	p->bars[idx].prefetch = prefetch;
	set32(p, reg, flags);
	set_wmask(p, reg, 4, (uint32_t)addr_mask & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK);
	set_wmask(p, reg + 4, 4, (uint32_t)(addr_mask >> 32));
}

/* An I/O BAR of `size` bytes (a power of two >= 4); x86 ports are 16 bits. */
static void bario_init(struct vpci_dev *p, unsigned idx, uint32_t size)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;

	p->bars[idx].size = size;
	p->bars[idx].io = true;
	set32(p, reg, PCI_BASE_ADDRESS_SPACE_IO);
	set_wmask(p, reg, 4, 0xffffu & ~(size - 1) & (uint32_t)PCI_BASE_ADDRESS_IO_MASK);
}

/* Append a capability of len bytes; its offset, or 0 when the config space is full. */
static unsigned cap_add(struct vpci_dev *p, unsigned *next_free, uint8_t id, unsigned len)
{
	unsigned off = *next_free, prev;

	if (off + len > VPCI_CFG_SIZE)
		return 0;
	p->cfg[off + PCI_CAP_LIST_ID] = id;
	p->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	/* Link it at the end of the chain (Linux walks from PCI_CAPABILITY_LIST). */
	if (!p->cfg[PCI_CAPABILITY_LIST]) {
		p->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		prev = p->cfg[PCI_CAPABILITY_LIST];
		while (p->cfg[prev + PCI_CAP_LIST_NEXT])
			prev = p->cfg[prev + PCI_CAP_LIST_NEXT];
		p->cfg[prev + PCI_CAP_LIST_NEXT] = (uint8_t)off;
	}
	*next_free = (off + len + 3) & ~3u;
	return off;
}

/* A virtio vendor capability (virtio 1.2 §4.1.4): struct virtio_pci_cap or a larger one. */
static unsigned vcap_add(struct vpci_dev *p, unsigned *next_free, unsigned len, uint8_t type,
			 uint8_t bar, uint8_t id, uint32_t offset, uint32_t length)
{
	unsigned off = cap_add(p, next_free, PCI_CAP_ID_VNDR, len);

	if (!off)
		return 0;
	p->cfg[off + offsetof(struct virtio_pci_cap, cap_len)] = (uint8_t)len;
	p->cfg[off + offsetof(struct virtio_pci_cap, cfg_type)] = type;
	p->cfg[off + offsetof(struct virtio_pci_cap, bar)] = bar;
	p->cfg[off + offsetof(struct virtio_pci_cap, id)] = id;
	set32(p, off + offsetof(struct virtio_pci_cap, offset), offset);
	set32(p, off + offsetof(struct virtio_pci_cap, length), length);
	return off;
}

static int shm_caps_add(struct vpci_dev *p, unsigned *next_free)
{
	const struct vdev *d = p->dev;
	uint64_t off = 0;
	unsigned i, c;

	for (i = 0; i < d->nshm; i++) {
		c = vcap_add(p, next_free, sizeof(struct virtio_pci_cap64),
			     VIRTIO_PCI_CAP_SHARED_MEMORY_CFG, VPCI_SHM_BAR, d->shm[i].id,
			     (uint32_t)off, (uint32_t)d->shm[i].size);
		if (!c)
			return -ENOSPC;
		set32(p, c + offsetof(struct virtio_pci_cap64, offset_hi), (uint32_t)(off >> 32));
		set32(p, c + offsetof(struct virtio_pci_cap64, length_hi),
		      (uint32_t)(d->shm[i].size >> 32));
		off += d->shm[i].size; /* back to back (FACTS 19); page multiples by vdev_set_shm */
	}
	return 0;
}

static unsigned msix_cap_add(struct vpci_dev *p, unsigned *next_free)
{
	unsigned c = cap_add(p, next_free, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);

	if (!c)
		return 0;
	set16(p, c + PCI_MSIX_FLAGS, (uint16_t)(p->msix_vectors - 1));
	set32(p, c + PCI_MSIX_TABLE, p->layout.msix_table | VPCI_VIRTIO_BAR);
	set32(p, c + PCI_MSIX_PBA, p->layout.msix_pba | VPCI_VIRTIO_BAR);
	set_wmask(p, c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	return c;
}

static int caps_init(struct vpci_dev *p)
{
	const struct vpci_layout *l = &p->layout;
	const struct vdev *d = p->dev;
	unsigned next = VPCI_CAP_START, c;
	bool ok = true;

	/* First in the chain: Linux (virtio_pci_find_capability) takes the first NOTIFY. */
	if (p->pio_notify) {
		c = vcap_add(p, &next, sizeof(struct virtio_pci_notify_cap),
			     VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_PIO_BAR, 0, 0, 2);
		ok &= !!c; /* notify_off_multiplier 0: one register for every queue */
	}
	ok &= !!vcap_add(p, &next, sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_COMMON_CFG,
			 VPCI_VIRTIO_BAR, 0, l->common, sizeof(struct virtio_pci_common_cfg));
	ok &= !!vcap_add(p, &next, sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_ISR_CFG,
			 VPCI_VIRTIO_BAR, 0, l->isr, 1);
	if (d->cfg_size) /* §4.1.4.6: only for devices with device-specific configuration */
		ok &= !!vcap_add(p, &next, sizeof(struct virtio_pci_cap), VIRTIO_PCI_CAP_DEVICE_CFG,
				 VPCI_VIRTIO_BAR, 0, l->device, d->cfg_size);
	c = vcap_add(p, &next, sizeof(struct virtio_pci_notify_cap), VIRTIO_PCI_CAP_NOTIFY_CFG,
		     VPCI_VIRTIO_BAR, 0, l->notify, d->nqueues * VPCI_NOTIFY_MULT);
	if (c)
		set32(p, c + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier),
		      VPCI_NOTIFY_MULT);
	ok &= !!c;
	/* §4.1.4.9: the driver programs bar, offset, length and accesses pci_cfg_data. */
	c = vcap_add(p, &next, sizeof(struct virtio_pci_cfg_cap), VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0,
		     0);
	if (c) {
		p->cap_pci_cfg = (uint8_t)c;
		set_wmask(p, c + offsetof(struct virtio_pci_cap, bar), 1, 0xff);
		set_wmask(p, c + offsetof(struct virtio_pci_cap, offset), 4, 0xffffffff);
		set_wmask(p, c + offsetof(struct virtio_pci_cap, length), 4, 0xffffffff);
		set_wmask(p, c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), 4, 0xffffffff);
	}
	ok &= !!c;
	if (!ok || shm_caps_add(p, &next) < 0)
		return -ENOSPC;
	if (p->msix_vectors) {
		p->cap_msix = (uint8_t)msix_cap_add(p, &next);
		if (!p->cap_msix)
			return -ENOSPC;
	}
	return 0;
}

/*
 * BAR 2: one page each for common cfg, ISR, device cfg and notify (the notify area of at
 * most 64 queues * 4 bytes fits a page), then the MSI-X table and PBA on pages of their
 * own; the size rounded up to a power of two.
 */
static uint64_t layout_init(struct vpci_dev *p)
{
	struct vpci_layout *l = &p->layout;
	uint32_t end;

	l->common = 0;
	l->isr = VPCI_PAGE;
	l->device = 2 * VPCI_PAGE;
	l->notify = 3 * VPCI_PAGE;
	end = 4 * VPCI_PAGE;
	if (p->msix_vectors) {
		l->msix_table = end;
		end += (p->msix_vectors * PCI_MSIX_ENTRY_SIZE + VPCI_PAGE - 1) & ~(VPCI_PAGE - 1);
		l->msix_pba = end;
		end += VPCI_PAGE;
	}
	return 1ULL << g_bit_storage(end - 1);
}

/* The size of BAR 4 for the device's shared memory regions; 0 = none, -EINVAL if too big. */
static int shm_bar_size(const struct vdev *d, uint64_t *ret_size)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < d->nshm; i++) {
		if (d->shm[i].size > (1ULL << 62) - sum)
			return -EINVAL;
		sum += d->shm[i].size;
	}
	*ret_size = sum ? 1ULL << g_bit_storage(sum - 1) : 0;
	return 0;
}

/* The power-on state of config space and MSI-X table (init and PCI reset). */
static int config_init(struct vpci_dev *p)
{
	uint64_t shm_size;
	unsigned i;

	memset(p->cfg, 0, sizeof(p->cfg));
	memset(p->wmask, 0, sizeof(p->wmask));
	memset(p->w1cmask, 0, sizeof(p->w1cmask));
	memset(p->bars, 0, sizeof(p->bars));
	p->cap_msix = 0;
	p->cap_pci_cfg = 0;
	if (shm_bar_size(p->dev, &shm_size) < 0)
		return -EINVAL;
	header_init(p);
	bar64_init(p, VPCI_VIRTIO_BAR, layout_init(p), true);
	if (p->pio_notify)
		bario_init(p, VPCI_PIO_BAR, VPCI_PIO_BAR_SIZE);
	if (shm_size)
		bar64_init(p, VPCI_SHM_BAR, shm_size, true);
	memset(p->msix, 0, sizeof(p->msix));
	memset(p->msix_pba, 0, sizeof(p->msix_pba));
	for (i = 0; i < p->msix_vectors; i++)
		p->msix[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT; /* PCI 3.0 §6.8.2.9: masked */
	return caps_init(p);
}

int vpci_dev_init(struct vpci_dev *p, const struct vpci_ops *ops, struct vdev *dev,
		  unsigned msix_vectors)
{
	int r;

	if (msix_vectors > VPCI_MAX_MSIX)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->dev = dev;
	p->msix_vectors = msix_vectors;
	r = config_init(p);
	if (r < 0) {
		log_debug("%s: no virtio-pci function: %s", vpci_name(p), g_strerror(-r));
		p->dev = NULL;
		return r;
	}
	p->bus.ops = &vpci_bus_ops;
	vpci_virtio_reset(p);
	vdev_attach(dev, &p->bus);
	return 0;
}

int vpci_dev_set_pio_notify(struct vpci_dev *p, bool on)
{
	bool was = p->pio_notify;
	int r;

	if (p->host)
		return -EBUSY;
	p->pio_notify = on;
	r = config_init(p);
	if (r < 0) {
		p->pio_notify = was;
		config_init(p);
	}
	return r;
}

bool vpci_bar_is_io(const struct vpci_dev *p, unsigned bar)
{
	return bar < VPCI_NUM_BARS && p->bars[bar].io;
}

void vpci_dev_fini(struct vpci_dev *p)
{
	if (p->host)
		vpci_host_detach(p->host, p->slot);
	if (p->dev && p->dev->bus == &p->bus)
		vdev_attach(p->dev, NULL);
	p->dev = NULL;
}

void vpci_dev_reset(struct vpci_dev *p)
{
	vpci_dev_unmap_all(p);
	vdev_reset(p->dev);
	config_init(p); /* cannot fail: it succeeded with the same inputs at init */
	vpci_virtio_reset(p);
	vpci_update_intx(p);
	if (p->host)
		vpci_host_update_decode(p->host);
}

/* --- BAR decoding --- */

uint16_t vpci_dev_command(const struct vpci_dev *p)
{
	return vpci_get16(p->cfg + PCI_COMMAND);
}

uint16_t vpci_msix_flags(const struct vpci_dev *p)
{
	return p->cap_msix ? vpci_get16(p->cfg + p->cap_msix + PCI_MSIX_FLAGS) : 0;
}

static uint64_t bar_addr(const struct vpci_dev *p, unsigned idx)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;
	uint64_t addr = vpci_get32(p->cfg + reg) & (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;

	if (p->bars[idx].io)
		return vpci_get32(p->cfg + reg) & (uint32_t)PCI_BASE_ADDRESS_IO_MASK;
	if (p->bars[idx].is64)
		addr |= (uint64_t)vpci_get32(p->cfg + reg + 4) << 32;
	return addr;
}

/* Decoding wanted by the config space (the windows are checked separately). */
static bool bar_wanted(const struct vpci_dev *p, unsigned idx)
{
	return p->bars[idx].size && !p->bars[idx].hi_pending &&
	       (vpci_dev_command(p) & (p->bars[idx].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY));
}

static void bar_unmap(struct vpci_dev *p, unsigned idx)
{
	struct vpci_bar *b = &p->bars[idx];

	b->mapped = false;
	p->ops->bar_unmap(p, idx, b->map_addr, b->size);
	log_debug("%s: BAR %u unmapped from 0x%" PRIx64, vpci_name(p), idx, b->map_addr);
}

void vpci_dev_unmap_stale(struct vpci_dev *p)
{
	unsigned i;

	for (i = 0; i < VPCI_NUM_BARS; i++)
		if (p->bars[i].mapped &&
		    (!bar_wanted(p, i) || bar_addr(p, i) != p->bars[i].map_addr))
			bar_unmap(p, i);
}

void vpci_dev_map_pending(struct vpci_dev *p)
{
	struct vpci_bar *b;
	uint64_t addr;
	unsigned i;
	int r;

	for (i = 0; i < VPCI_NUM_BARS; i++) {
		b = &p->bars[i];
		if (b->mapped || !bar_wanted(p, i) || !p->host)
			continue;
		addr = bar_addr(p, i);
		if (!vpci_host_bar_ok(p->host, p, i, addr, b->size)) {
			log_debug_rl("%s: BAR %u at 0x%" PRIx64 " (0x%" PRIx64
				     " bytes) is outside the windows or overlaps: not decoding",
				     vpci_name(p), i, addr, b->size);
			continue;
		}
		r = p->ops->bar_map(p, i, addr, b->size);
		if (r < 0) {
			log_debug_rl("%s: BAR %u at 0x%" PRIx64 ": claim failed: %s", vpci_name(p),
				     i, addr, g_strerror(-r));
			continue;
		}
		b->mapped = true;
		b->map_addr = addr;
		log_debug("%s: BAR %u decodes at 0x%" PRIx64, vpci_name(p), i, addr);
	}
}

void vpci_dev_unmap_all(struct vpci_dev *p)
{
	unsigned i;

	for (i = 0; i < VPCI_NUM_BARS; i++)
		if (p->bars[i].mapped)
			bar_unmap(p, i);
}

/* --- config accesses --- */

static bool touches(uint32_t reg, unsigned size, uint32_t start, uint32_t len)
{
	return reg < start + len && start < reg + size;
}

/* §4.1.4.9: an access to pci_cfg_data runs an access of cap.length bytes in cap.bar. */
static void pci_cfg_window(struct vpci_dev *p, bool write)
{
	unsigned c = p->cap_pci_cfg;
	uint8_t bar = p->cfg[c + offsetof(struct virtio_pci_cap, bar)];
	uint32_t off = vpci_get32(p->cfg + c + offsetof(struct virtio_pci_cap, offset));
	uint32_t len = vpci_get32(p->cfg + c + offsetof(struct virtio_pci_cap, length));
	uint8_t *data = p->cfg + c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	uint64_t v = 0;

	if ((len != 1 && len != 2 && len != 4) || off % len || bar >= VPCI_NUM_BARS) {
		log_debug_rl("%s: PCI_CFG access bar %u offset 0x%x length %u: ignored",
			     vpci_name(p), bar, off, len);
		if (!write)
			vpci_put32(data, 0);
		return;
	}
	if (write) {
		vpci_bar_write(p, bar, off, len,
			       vpci_get32(data) & (uint32_t)((1ULL << (8 * len)) - 1));
		return;
	}
	vpci_bar_read(p, bar, off, len, &v);
	vpci_put32(data, (uint32_t)v);
}

static bool pci_cfg_data_hit(const struct vpci_dev *p, uint32_t reg, unsigned size)
{
	return p->cap_pci_cfg &&
	       touches(reg, size,
		       p->cap_pci_cfg + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), 1);
}

uint32_t vpci_dev_cfg_read(struct vpci_dev *p, uint32_t reg, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	if (pci_cfg_data_hit(p, reg, size))
		pci_cfg_window(p, false);
	for (i = 0; i < size; i++)
		v |= (uint32_t)p->cfg[reg + i] << (8 * i);
	return v;
}

/* Which BARs a write touched: the low half of a 64-bit pair waits for its high half. */
static bool bars_written(struct vpci_dev *p, uint32_t reg, unsigned size)
{
	bool any = false;
	unsigned i;

	for (i = 0; i < VPCI_NUM_BARS; i++) {
		if (!touches(reg, size, PCI_BASE_ADDRESS_0 + 4 * i, 4))
			continue;
		any = true;
		if (p->bars[i].size && p->bars[i].is64)
			p->bars[i].hi_pending = true;
		else if (i > 0 && p->bars[i - 1].size && p->bars[i - 1].is64)
			p->bars[i - 1].hi_pending = false;
	}
	return any;
}

static void command_written(struct vpci_dev *p, uint16_t old)
{
	uint16_t cmd = vpci_dev_command(p);
	unsigned i;

	/* Decoding turned on: the guest considers every BAR programmed. */
	if ((cmd & PCI_COMMAND_MEMORY) && !(old & PCI_COMMAND_MEMORY))
		for (i = 0; i < VPCI_NUM_BARS; i++)
			p->bars[i].hi_pending = false;
	if ((cmd ^ old) & PCI_COMMAND_INTX_DISABLE)
		vpci_update_intx(p);
}

void vpci_dev_cfg_write(struct vpci_dev *p, uint32_t reg, unsigned size, uint32_t val)
{
	uint16_t old_cmd = vpci_dev_command(p), old_msix = vpci_msix_flags(p);
	bool decode = false;
	unsigned i;

	for (i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		unsigned r = reg + i;

		p->cfg[r] = (uint8_t)((p->cfg[r] & ~p->wmask[r]) | (b & p->wmask[r]));
		p->cfg[r] &= (uint8_t) ~(b & p->w1cmask[r]);
	}
	if (touches(reg, size, PCI_COMMAND, 2)) {
		command_written(p, old_cmd);
		decode = true;
	}
	if (touches(reg, size, PCI_BASE_ADDRESS_0, 4 * VPCI_NUM_BARS))
		decode |= bars_written(p, reg, size);
	if (decode && p->host)
		vpci_host_update_decode(p->host);
	if (p->cap_msix && vpci_msix_flags(p) != old_msix)
		vpci_msix_flags_changed(p);
	if (pci_cfg_data_hit(p, reg, size))
		pci_cfg_window(p, true);
}
