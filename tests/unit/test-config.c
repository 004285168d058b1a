/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device specs and the config file (vmm/devspec.c, vmm/config.c): every operator error. */
#include <errno.h>
#include <stdio.h>
#include <glib/gstdio.h>

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
	{ "rng,transport=pci", "transport 'pci' is not supported" },
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
	{ "[guest domU]\nslot.xvda=rng,irq=33\n", "come from xenstore" },
	{ "[guest domU]\nslot.=rng\n", "unknown key 'slot.'" },
	{ "[guest domU]\ndevices=rng,irq=33\n", "needs base= and irq=" },
	{ "[guest domU]\ndevices=rng,base=0x2000000,irq=33,x=1\n", "unknown key 'x'" },
	{ "[guest domU]\ndisk=1\n", "unknown key 'disk'" },
	{ "[guest a/b]\n", "not a guest name" },
	{ "[domain x]\n", "not a domid" },
	{ "[domain ]\n", "not a domid" },
	{ "not a key file", "" },
};

int main(int argc, char **argv)
{
	unsigned i;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/spec/ok", spec_ok);
	for (i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
		g_autofree char *p = g_strdup_printf("/config/spec/bad/%u", i);

		g_test_add_data_func(p, bad_specs[i], spec_bad);
	}
	g_test_add_func("/config/file/ok", config_ok);
	for (i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
		g_autofree char *p = g_strdup_printf("/config/file/bad/%u", i);

		g_test_add_data_func(p, bad_configs[i], config_bad);
	}
	return g_test_run();
}
