/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device specs and the config file (vmm/devspec.c, vmm/config.c): every operator error. */
#include <errno.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <libfdt.h>

#include "vmm/vmm.h"

static void spec_ok(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_devspec *s =
		vmm_devspec_parse("rng, transport=mmio ,base=0x2000200,irq=34,queue-size=64", &err);

	g_assert_no_error(err);
	g_assert_nonnull(s);
	g_assert_cmpstr(s->type, ==, "rng");
	g_assert_true(s->has_base && s->has_irq);
	g_assert_cmphex(s->base, ==, 0x2000200);
	g_assert_cmpuint(s->irq, ==, 34);
	g_assert_cmpuint(s->queue_size, ==, 64);
	g_assert_cmpuint(g_hash_table_size(s->opts), ==, 0);
	vmm_devspec_free(s);
}

/* notify= (README "Kernel notifications"): auto by default, kernel and xvdm by name. */
static void spec_notify(void)
{
	static const struct {
		const char *spec;
		enum vmm_notify_mode mode;
	} t[] = {
		{ "rng", VMM_NOTIFY_AUTO },
		{ "rng,notify=kernel", VMM_NOTIFY_KERNEL },
		{ "rng,notify=xvdm", VMM_NOTIFY_XVDM },
		{ "rng,notify=auto", VMM_NOTIFY_AUTO },
		{ "rng,transport=pci,notify=xvdm", VMM_NOTIFY_XVDM },
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(t); i++) {
		g_autoptr(GError) err = NULL;
		struct vmm_devspec *s = vmm_devspec_parse(t[i].spec, &err);

		g_assert_no_error(err);
		g_assert_cmpint(s->notify, ==, t[i].mode);
		g_assert_cmpuint(g_hash_table_size(s->opts), ==, 0); /* a common key */
		vmm_devspec_free(s);
	}
}

static void spec_bad(gconstpointer data)
{
	const char *const *c = data; /* spec, expected fragment of the message */
	g_autoptr(GError) err = NULL;
	struct vmm_devspec *s = vmm_devspec_parse(c[0], &err);

	g_assert_null(s);
	g_assert_nonnull(err);
	if (!strstr(err->message, c[1]))
		g_error("'%s': message '%s' lacks '%s'", c[0], err->message, c[1]);
}

static const char *const bad_specs[][2] = {
	{ "", "no device type" },
	{ "nosuch", "unknown device type 'nosuch' (known: rng" },
	{ "rng,transport=isa", "transport 'isa' is not supported" },
	{ "rng,transport=pci,base=0x2000000", "base= and irq= are for transport=mmio" },
	{ "rng,transport=pci,irq=40", "base= and irq= are for transport=mmio" },
	{ "rng,slot=3", "slot= needs transport=pci" },
	{ "rng,transport=pci,slot=32", "not a PCI device number" },
	{ "rng,base=0x2000001", "not an address aligned" },
	{ "rng,base=junk", "not an address" },
	{ "rng,base=-512", "not an address" },
	{ "rng,base=0xfffffffffffffe00", "not an address" },
	{ "rng,irq=31", "not an SPI" },
	{ "rng,irq=1020", "not an SPI" },
	{ "rng,irq=33x", "not an SPI" },
	{ "rng,queue-size=0", "power of two" },
	{ "rng,queue-size=100", "power of two" },
	{ "rng,queue-size=65536", "power of two" },
	{ "rng,foo", "is not KEY=VALUE" },
	{ "rng,=1", "is not KEY=VALUE" },
	{ "rng,foo=", "is not KEY=VALUE" },
	{ "rng,foo=1", "unknown key 'foo'" },
	{ "rng,notify=yes", "notify 'yes' is not auto, kernel or xvdm" },
	{ "rng,notify=", "is not KEY=VALUE" },
	{ "rng,transport=pci,notify=kernel", "notify=kernel needs transport=mmio" },
};

static struct vmm_config *load(const char *text, GError **err)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("xvdm-test-XXXXXX.conf", &path, NULL);
	struct vmm_config *c;

	g_assert_cmpint(fd, >=, 0);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	close(fd);
	c = vmm_config_load(path, err);
	g_unlink(path);
	return c;
}

static void config_ok(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_config *c =
		load("[xvdm]\nbackend-domid=3\ndefault-slot=rng\n"
		     "[guest domU]\nslot.xvda = rng,queue-size=128\n"
		     "devices = rng,base=0x2000000,irq=33;rng,base=0x2000200,irq=34\n"
		     "[domain 7]\ndevices=rng,base=0x2000000,irq=33\n",
		     &err);
	const struct vmm_guest_config *gc;

	g_assert_no_error(err);
	g_assert_cmpuint(c->backend_domid, ==, 3);
	g_assert_cmpstr(c->default_slot, ==, "rng");
	gc = vmm_config_find_guest(c, "domU", 99);
	g_assert_nonnull(gc);
	g_assert_cmpstr(g_hash_table_lookup(gc->slots, "xvda"), ==, "rng,queue-size=128");
	g_assert_cmpuint(gc->devices->len, ==, 2);
	gc = vmm_config_find_guest(c, "other", 7);
	g_assert_nonnull(gc);
	g_assert_true(gc->has_domid);
	g_assert_null(vmm_config_find_guest(c, "other", 8));
	vmm_config_free(c);
}

static void config_bad(gconstpointer data)
{
	const char *const *c = data;
	g_autoptr(GError) err = NULL;
	struct vmm_config *cfg = load(c[0], &err);

	g_assert_null(cfg);
	g_assert_nonnull(err);
	if (!strstr(err->message, c[1]))
		g_error("config '%s': message '%s' lacks '%s'", c[0], err->message, c[1]);
}

static const char *const bad_configs[][2] = {
	{ "[gust x]\n", "unknown group [gust x]" },
	{ "[xvdm]\nfoo=1\n", "unknown key 'foo'" },
	{ "[xvdm]\nbackend-domid=x\n", "not a domid" },
	{ "[xvdm]\nbackend-domid=40000\n", "not a domid" },
	{ "[xvdm]\ndefault-slot=nosuch\n", "unknown device type" },
	{ "[xvdm]\ndefault-slot=rng,base=0x2000000\n", "come from xenstore" },
	{ "[xvdm]\ndefault-socket=run/%n.sock\n", "not an absolute path" },
	{ "[xvdm]\ndefault-socket=/run/%n,x.sock\n", "without ','" },
	{ "[xvdm]\ndefault-socket=/run/%x.sock\n", "unknown '%x'" },
	{ "[xvdm]\ndefault-socket=/run/x%\n", "unknown '%'" },
	{ "[guest domU]\nslot.xvda=rng,irq=33\n", "come from xenstore" },
	{ "[guest domU]\nslot.=rng\n", "unknown key 'slot.'" },
	{ "[guest domU]\ndevices=rng,irq=33\n", "needs base= and irq=" },
	{ "[guest domU]\ndevices=rng,base=0x2000000,irq=33,x=1\n", "unknown key 'x'" },
	{ "[guest domU]\ndisk=1\n", "unknown key 'disk'" },
	{ "[guest a/b]\n", "not a guest name" },
	{ "[domain x]\n", "not a domid" },
	{ "[domain ]\n", "not a domid" },
	{ "not a key file", "" },
	{ "[xvdm]\npci=mode=isa\n", "bad mode 'isa'" },
	{ "[guest x]\npci=ecam=0x33000001\n", "bad ecam" },
	{ "[guest x]\npci=mode=ecam,mem=0x33000000:16M\n", "ECAM window overlaps" },
	{ "[guest x]\npci=mem=0x40000000:1G,pref=0x60000000:1M\n", "windows overlap" },
	{ "[guest x]\npci=mem=0xf0000000:512M\n", "below 4 GiB" },
	{ "[guest x]\npci=pref=0x1000:0\n", "bad pref" },
	{ "[guest x]\npci=irq=31\n", "bad irq" },
	{ "[guest x]\npci=buses=0\n", "bad buses" },
	{ "[guest x]\npci=msix=maybe\n", "bad msix" },
	{ "[guest x]\npci=mode=cfg,pio-notify=1\n", "bad pio-notify" },
	{ "[guest x]\npci=mode=ecam,pio-notify=on\n", "pio-notify=on needs mode=cfg" },
	{ "[guest x]\npci=foo=1\n", "unknown key 'foo'" },
	{ "[guest x]\npci=irq\n", "not KEY=VALUE" },
	{ "[guest x]\nshm-window=0x1000\n", "is not BASE:SIZE" },
	{ "[guest x]\npci=mode=ecam\nshm-window=0x34000000:1M\n", "overlaps a PCI window" },
	{ "[xvdm]\npci=mode=ecam\nshm-window=0x33000000:4K\n", "[xvdm]: shm-window" },
};

/* shm-window is not PCI: key order and a pci mode switch do not change it */
static void shm_window_order(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = load("[guest a]\nshm-window=0x1c0010000:16M\npci=mode=ecam\n"
				    "[guest b]\npci=mode=ecam\n"
				    "[xvdm]\nshm-window=0x1c0000000:1G\npci=mode=ecam\n",
				    &err);
	const struct vmm_guest_config *gc;

	g_assert_no_error(err);
	gc = vmm_config_find_guest(c, "a", 99);
	g_assert_cmpint(gc->pci.mode, ==, VMM_PCI_ECAM);
	g_assert_cmphex(gc->pci.shm_base, ==, 0x1c0010000);
	g_assert_cmphex(gc->pci.shm_size, ==, 16 << 20);
	gc = vmm_config_find_guest(c, "b", 99);
	g_assert_cmphex(gc->pci.shm_base, ==, 0x1c0000000);
	g_assert_cmphex(gc->pci.ecam_base, ==, 0x33000000);
	vmm_config_free(c);
}

static void pci_config(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = load("[guest b]\npci=irq=50\ndevices=rng,transport=pci,slot=5\n"
				    "[xvdm]\npci=mode=ecam,mem=0x30000000:32M\n"
				    "[guest c]\npci=mode=cfg,msix=off,pio-notify=on\n",
				    &err);
	const struct vmm_guest_config *gc;

	g_assert_no_error(err);
	g_assert_true(c->has_pci);
	g_assert_cmpint(c->pci.mode, ==, VMM_PCI_ECAM);
	g_assert_cmphex(c->pci.mem_base, ==, 0x30000000);
	g_assert_cmphex(c->pci.mem_size, ==, 32 << 20);
	g_assert_cmphex(c->pci.ecam_base, ==, 0x33000000);
	/* [xvdm] is applied first wherever it is in the file */
	gc = vmm_config_find_guest(c, "b", 99);
	g_assert_true(gc->has_pci);
	g_assert_cmpuint(gc->pci.irq_base, ==, 50);
	g_assert_cmphex(gc->pci.mem_base, ==, 0x30000000);
	g_assert_cmpuint(gc->devices->len, ==, 1);
	g_assert_cmpint(((struct vmm_devspec *)gc->devices->pdata[0])->transport, ==,
			VMM_TRANSPORT_PCI);
	g_assert_cmpuint(((struct vmm_devspec *)gc->devices->pdata[0])->slot, ==, 5);
	/* a mode change starts from that mode's defaults */
	gc = vmm_config_find_guest(c, "c", 99);
	g_assert_cmpint(gc->pci.mode, ==, VMM_PCI_CFG);
	g_assert_false(gc->pci.msix);
	g_assert_true(gc->pci.pio_notify);
	g_assert_cmphex(gc->pci.mem_base, ==, 0xe0000000);
	vmm_config_free(c);
}

static void pci_swizzle(void)
{
	struct vmm_pci_config c;

	vmm_pci_config_default(&c, VMM_PCI_ECAM);
	g_assert_cmpuint(c.irq_base, ==, 44);
	g_assert_cmpuint(vmm_pci_intx_spi(&c, 0, 1), ==, 44);
	g_assert_cmpuint(vmm_pci_intx_spi(&c, 1, 1), ==, 45);
	g_assert_cmpuint(vmm_pci_intx_spi(&c, 3, 2), ==, 44);
	g_assert_cmpuint(vmm_pci_intx_spi(&c, 31, 1), ==, 47);
}

/* The partial device tree parses back with libfdt and says what the config says. */
static void dtb(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = load("[domain 3]\npci=irq=48,pref=0x200000000:1G\n"
				    "devices=rng,transport=pci;rng,base=0x2000200,irq=34\n",
				    &err);
	const struct vmm_guest_config *gc;
	g_autofree char *dtc = NULL;
	const fdt32_t *p;
	void *blob = NULL;
	size_t size = 0;
	int node, len;

	g_assert_no_error(err);
	gc = vmm_config_find_guest(c, NULL, 3);
	/* a device tree is for Arm: describe an ECAM host whatever this host is */
	((struct vmm_guest_config *)gc)->pci.mode = VMM_PCI_ECAM;
	((struct vmm_guest_config *)gc)->pci.ecam_base = 0x33000000;
	((struct vmm_guest_config *)gc)->pci.nr_buses = 1;
	((struct vmm_guest_config *)gc)->pci.mem_base = 0x34000000;
	((struct vmm_guest_config *)gc)->pci.mem_size = 64 << 20;
	g_assert_cmpint(vmm_dtb_build(gc, VMM_DTB_GIC_PHANDLE, &blob, &size, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(fdt_check_header(blob), ==, 0);
	g_assert_cmpuint(fdt_totalsize(blob), ==, size);
	g_assert_cmpint(fdt_address_cells(blob, 0), ==, 2);
	g_assert_cmpint(fdt_size_cells(blob, 0), ==, 2);
	node = fdt_path_offset(blob, "/passthrough/pcie@33000000");
	g_assert_cmpint(node, >=, 0);
	g_assert_cmpint(fdt_node_check_compatible(blob, node, "pci-host-ecam-generic"), ==, 0);
	p = fdt_getprop(blob, node, "reg", &len);
	g_assert_cmpint(len, ==, 16);
	g_assert_cmphex(fdt32_to_cpu(p[1]), ==, 0x33000000);
	g_assert_cmphex(fdt32_to_cpu(p[3]), ==, 1 << 20);
	p = fdt_getprop(blob, node, "ranges", &len);
	g_assert_cmpint(len, ==, 14 * 4);
	g_assert_cmphex(fdt32_to_cpu(p[0]), ==, 0x02000000);
	g_assert_cmphex(fdt32_to_cpu(p[4]), ==, 0x34000000);
	g_assert_cmphex(fdt32_to_cpu(p[7]), ==, 0x43000000);
	g_assert_cmphex(fdt32_to_cpu(p[10]), ==, 2); /* cpu address high word of 8 GiB */
	g_assert_cmphex(fdt32_to_cpu(p[13]), ==, 1 << 30);
	p = fdt_getprop(blob, node, "interrupt-map", &len);
	g_assert_cmpint(len, ==, 16 * 8 * 4);
	for (unsigned i = 0; i < 16; i++) {
		unsigned dev = fdt32_to_cpu(p[i * 8]) >> 11, pin = fdt32_to_cpu(p[i * 8 + 3]);

		g_assert_cmpuint(fdt32_to_cpu(p[i * 8 + 4]), ==, VMM_DTB_GIC_PHANDLE);
		g_assert_cmpuint(fdt32_to_cpu(p[i * 8 + 6]) + 32, ==, 48 + (dev + pin - 1) % 4);
		g_assert_cmpuint(fdt32_to_cpu(p[i * 8 + 7]), ==, 4); /* level high */
	}
	g_assert_nonnull(fdt_getprop(blob, node, "dma-coherent", NULL));
	node = fdt_path_offset(blob, "/passthrough/virtio@2000200");
	g_assert_cmpint(node, >=, 0);
	p = fdt_getprop(blob, node, "interrupts", &len);
	g_assert_cmpint(len, ==, 12);
	g_assert_cmpuint(fdt32_to_cpu(p[1]), ==, 2);
	dtc = g_find_program_in_path("dtc");
	if (dtc) {
		g_autofree char *path = NULL, *out = NULL, *cmd = NULL;
		int fd = g_file_open_tmp("xvdm-test-XXXXXX.dtb", &path, NULL), st = -1;

		g_assert_true(g_file_set_contents(path, blob, size, NULL));
		close(fd);
		cmd = g_strdup_printf("dtc -q -I dtb -O dts %s", path);
		g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &st, NULL));
		g_unlink(path);
		g_assert_cmpint(st, ==, 0);
		g_assert_nonnull(strstr(out, "pcie@33000000"));
		g_assert_nonnull(strstr(out, "compatible = \"virtio,mmio\""));
	} else {
		g_test_message("dtc not installed: libfdt checks only");
	}
	g_free(blob);
	vmm_config_free(c);
}

/* [xvdm] default-socket: a vhost-user device of the slot's type on the pattern's socket. */
static void default_socket(void)
{
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = load("[xvdm]\ndefault-socket=/run/xvdm/%n-%d-%i-%t.%%\n", &err);
	struct vmm_slot_info si = {
		.domid = 7, .name = "web-1", .devid = "0", .xl_type = "virtio,device26"
	};
	struct vmm_devspec *s;
	char *spec;

	g_assert_no_error(err);
	g_assert_cmpstr(c->default_socket, ==, "/run/xvdm/%n-%d-%i-%t.%%");
	/* the xl type names the device */
	g_assert_cmpuint(vmm_xl_type_device_id("virtio,device19"), ==, 19);
	g_assert_cmpuint(vmm_xl_type_device_id("virtio,device"), ==, 0);
	g_assert_cmpuint(vmm_xl_type_device_id("virtio,device2x"), ==, 0);
	g_assert_cmpuint(vmm_xl_type_device_id("virtio,device0"), ==, 0);
	g_assert_cmpuint(vmm_xl_type_device_id("virtio,device65536"), ==, 0);
	g_assert_cmpuint(vmm_xl_type_device_id(NULL), ==, 0);
	/* 4.18 vsock: the named type, %t with ',' -> '-' */
	si.xl_type = "virtio,device19";
	si.device_id = 19;
	spec = vmm_config_default_spec(c, &si, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(spec, ==, "vhost-user-vsock,socket=/run/xvdm/web-1-7-0-virtio-device19.%");
	g_free(spec);
	/* 4.17 disk */
	si.xl_type = "virtio_disk";
	si.devid = "51712";
	si.device_id = 2;
	spec = vmm_config_default_spec(c, &si, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(spec, ==, "vhost-user-blk,socket=/run/xvdm/web-1-7-51712-virtio_disk.%");
	g_free(spec);
	/* a device id without a type of its own: the generic device */
	si.device_id = 42;
	spec = vmm_config_default_spec(c, &si, &err);
	g_assert_no_error(err);
	g_assert_true(g_str_has_prefix(spec, "vhost-user-device,device-id=42,socket=/run/xvdm/"));
	g_free(spec);
	/* the result is a spec the parser takes */
	spec = vmm_config_default_spec(c, &si, &err);
	s = vmm_devspec_parse(spec, &err);
	g_assert_no_error(err);
	g_assert_nonnull(s);
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "device-id"), ==, "42");
	vmm_devspec_free(s);
	g_free(spec);
	vmm_config_free(c);
}

static void default_socket_bad(void)
{
	static const char *const names[] = { NULL,	    "",	   "..", ".hidden", "a/b",
					     "a,socket=/x", "a b", "x=1" };
	g_autoptr(GError) err = NULL;
	struct vmm_config *c = load("[xvdm]\ndefault-socket=/run/%n.sock\n", &err);
	struct vmm_config *none = load("[xvdm]\ndefault-slot=rng\n", &err);
	struct vmm_slot_info si = {
		.domid = 3, .devid = "0", .xl_type = "virtio,device", .device_id = 0
	};
	unsigned i;

	g_assert_no_error(err);
	/* "virtio,device": which device is the guest's to say; the config must name it */
	si.name = "ok";
	g_assert_null(vmm_config_default_spec(c, &si, &err));
	g_assert_nonnull(strstr(err->message, "names no virtio device"));
	g_clear_error(&err);
	/* fs and gpu need options a pattern cannot give */
	si.device_id = 26;
	g_assert_null(vmm_config_default_spec(c, &si, &err));
	g_assert_nonnull(strstr(err->message, "tag="));
	g_clear_error(&err);
	/* the guest's name must not leave the directory nor add spec keys */
	si.device_id = 2;
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		si.name = names[i];
		g_assert_null(vmm_config_default_spec(c, &si, &err));
		g_assert_nonnull(err);
		if (!strstr(err->message, "only letters"))
			g_error("name '%s': %s", names[i] ? names[i] : "(null)", err->message);
		g_clear_error(&err);
	}
	/* no pattern: ENOENT, the caller goes on to default-slot */
	si.name = "ok";
	g_assert_null(vmm_config_default_spec(none, &si, &err));
	g_assert_error(err, VMM_ERROR, ENOENT);
	vmm_config_free(c);
	vmm_config_free(none);
}

int main(int argc, char **argv)
{
	unsigned i;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/spec/ok", spec_ok);
	g_test_add_func("/config/spec/notify", spec_notify);
	for (i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
		g_autofree char *p = g_strdup_printf("/config/spec/bad/%u", i);

		g_test_add_data_func(p, bad_specs[i], spec_bad);
	}
	g_test_add_func("/config/file/ok", config_ok);
	g_test_add_func("/config/pci/ok", pci_config);
	g_test_add_func("/config/pci/swizzle", pci_swizzle);
	g_test_add_func("/config/pci/shm-window-order", shm_window_order);
	g_test_add_func("/config/dtb", dtb);
	g_test_add_func("/config/default-socket/ok", default_socket);
	g_test_add_func("/config/default-socket/bad", default_socket_bad);
	for (i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
		g_autofree char *p = g_strdup_printf("/config/file/bad/%u", i);

		g_test_add_data_func(p, bad_configs[i], config_bad);
	}
	return g_test_run();
}
