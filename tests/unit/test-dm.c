/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmm/dm-args.c: libxl's device-model command lines, exactly as
 * libxl__build_device_model_args_new() builds them (libxl_dm.c), with
 * device_model_args / device_model_args_pv in QEMU's spellings; vmm/dm-ops.c's sd_notify,
 * pid file and the refusals of --runas.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "vmm/vmm.h"

#define QMP_LIBXL(d)                                                                             \
	"-chardev", "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-" #d ",server=on,wait=off", \
		"-mon", "chardev=libxl-cmd,mode=control"
#define QMP_STAT(d)                                                             \
	"-chardev",                                                             \
		"socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-" #d \
		",server=on,wait=off",                                          \
		"-mon", "chardev=libxenstat-cmd,mode=control"

static struct vmm_dm_args *parse(const char *const *argv, GError **error)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return vmm_dm_args_parse(argc, (char **)argv, error);
}

static const struct vmm_devspec *dev(const struct vmm_dm_args *a, unsigned i)
{
	g_assert_cmpuint(i, <, a->guest->devices->len);
	return a->guest->devices->pdata[i];
}

/* An Arm PVH guest (libxl passes "-machine xenpv"; the xenpvh one is device_model_args_pv). */
static void test_arm_pvh(void)
{
	const char *argv[] = {
		"/usr/local/bin/xvdm", "-xen-domid", "5", "-no-shutdown", QMP_LIBXL(5), QMP_STAT(5),
		"-nodefaults", "-no-user-config", "-xen-attach", "-name", "domU", "-vnc", "none",
		"-display", "none", "-nographic",
		/* device_model_args */
		"-chardev", "socket,id=blk0,path=/run/xvdm/blk0.sock", "-device",
		"vhost-user-blk-pci,chardev=blk0,num-queues=2,addr=03.0,id=disk0,mem=shadow",
		"-chardev", "socket,id=rng0,path=/run/xvdm/rng,,0.sock", "-device",
		"vhost-user-rng-device,chardev=rng0", "-chardev", "socket,id=gen,path=/run/g.sock",
		"-device", "vhost-user-device,chardev=gen,virtio-id=25,num_vqs=2,config_size=8",
		"-netdev", "vhost-user,id=n0,chardev=netc", "-chardev",
		"socket,id=netc,path=/run/net.sock,server=on", "-device",
		"virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56", "-machine", "xenpv",
		/* device_model_args_pv */
		"-machine",
		"xenpvh,pci-ecam-base=0x10000000,pci-ecam-size=0x200000,pci-mmio-base=0x20000000,"
		"pci-mmio-size=0x1000000,pci-mmio-high-base=0x100000000,pci-mmio-high-size="
		"0x40000000,pci-intx-irq-base=60,virtio-mmio-base=0x3000000,virtio-mmio-irq-base="
		"50",
		"-m", "512", NULL
	};
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);
	const struct vmm_devspec *s;
	const struct vmm_dm_monitor *m;

	g_assert_no_error(err);
	g_assert_nonnull(a);
	g_assert_cmpint(a->domid, ==, 5);
	g_assert_cmpstr(a->name, ==, "domU");
	g_assert_cmpstr(a->machine, ==, "xenpvh");
	g_assert_false(a->probe);
	g_assert_false(a->hvm);
	g_assert_false(a->start_paused);
	g_assert_cmpuint(a->ram_mb, ==, 512);
	g_assert_cmpuint(a->mons->len, ==, 2);
	m = a->mons->pdata[0];
	g_assert_cmpstr(m->id, ==, "libxl-cmd");
	g_assert_cmpstr(m->path, ==, "/var/run/xen/qmp-libxl-5");
	g_assert_cmpint(m->fd, ==, -1);
	m = a->mons->pdata[1];
	g_assert_cmpstr(m->id, ==, "libxenstat-cmd");
	g_assert_cmpuint(a->guest->devices->len, ==, 4);

	s = dev(a, 0);
	g_assert_cmpstr(s->type, ==, "vhost-user-blk");
	g_assert_cmpint(s->transport, ==, VMM_TRANSPORT_PCI);
	g_assert_true(s->has_slot);
	g_assert_cmpuint(s->slot, ==, 3);
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "socket"), ==, "/run/xvdm/blk0.sock");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "num-queues"), ==, "2");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "mem"), ==, "shadow");
	g_assert_false(g_hash_table_contains(s->opts, "id"));

	s = dev(a, 1);
	g_assert_cmpstr(s->type, ==, "vhost-user-rng");
	g_assert_cmpint(s->transport, ==, VMM_TRANSPORT_MMIO);
	g_assert_cmphex(s->base, ==, 0x3000000); /* virtio-mmio-base, first slot */
	g_assert_cmpuint(s->irq, ==, 50);
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "socket"), ==, "/run/xvdm/rng,0.sock");

	s = dev(a, 2);
	g_assert_cmpstr(s->type, ==, "vhost-user-device");
	g_assert_cmpint(s->transport, ==, VMM_TRANSPORT_MMIO);
	g_assert_cmphex(s->base, ==, 0x3000200);
	g_assert_cmpuint(s->irq, ==, 51);
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "device-id"), ==, "25");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "num-queues"), ==, "2");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "config-size"), ==, "8");

	s = dev(a, 3);
	g_assert_cmpstr(s->type, ==, "vhost-user-net");
	g_assert_cmpint(s->transport, ==, VMM_TRANSPORT_PCI);
	g_assert_false(s->has_slot);
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "socket"), ==, "/run/net.sock");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "server"), ==, "on");
	g_assert_cmpstr(g_hash_table_lookup(s->opts, "mac"), ==, "52:54:00:12:34:56");

	g_assert_true(a->guest->has_pci);
	g_assert_cmpint(a->guest->pci.mode, ==, VMM_PCI_ECAM);
	g_assert_cmphex(a->guest->pci.ecam_base, ==, 0x10000000);
	g_assert_cmpuint(a->guest->pci.nr_buses, ==, 2);
	g_assert_cmphex(a->guest->pci.mem_base, ==, 0x20000000);
	g_assert_cmphex(a->guest->pci.mem_size, ==, 0x1000000);
	g_assert_cmphex(a->guest->pci.pref_base, ==, 0x100000000);
	g_assert_cmphex(a->guest->pci.pref_size, ==, 0x40000000);
	g_assert_cmpuint(a->guest->pci.irq_base, ==, 60);
	g_assert_cmpuint(a->notes->len, >=, 6); /* -no-shutdown, -nodefaults, -vnc, ... */
	vmm_dm_args_free(a);
}

/* Xen's defaults: virtio-mmio slots from GUEST_VIRTIO_MMIO_BASE / SPI 33; old spellings. */
static void test_pv_defaults(void)
{
	const char *argv[] = {
		"xvdm",	       "-xen-domid",
		"1",	       "-no-shutdown",
		"-chardev",    "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-1,server,nowait",
		"-mon",	       "chardev=libxl-cmd,mode=control",
		"-nodefaults", "-no-user-config",
		"-xen-attach", "-name",
		"g",	       "-vnc",
		"none",	       "-display",
		"none",	       "-nographic",
		"-device",     "virtio-rng-device",
		"-device",     "virtio-rng-device,base=0x2400000,irq=40",
		"-device",     "virtio-rng-device",
		"-machine",    "xenpv",
		"-m",	       "128",
		NULL
	};
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);

	g_assert_no_error(err);
	g_assert_cmpuint(a->mons->len, ==, 1);
	g_assert_cmpstr(dev(a, 0)->type, ==, "rng");
	g_assert_cmphex(dev(a, 0)->base, ==, VMM_DM_MMIO_BASE_DEFAULT);
	g_assert_cmpuint(dev(a, 0)->irq, ==, VMM_DM_MMIO_IRQ_DEFAULT);
	g_assert_cmphex(dev(a, 1)->base, ==, 0x2400000);
	g_assert_cmpuint(dev(a, 1)->irq, ==, 40);
	g_assert_cmphex(dev(a, 2)->base, ==, VMM_DM_MMIO_BASE_DEFAULT + 2 * 0x200);
	g_assert_cmpuint(dev(a, 2)->irq, ==, VMM_DM_MMIO_IRQ_DEFAULT + 2);
	g_assert_false(a->guest->has_pci);
	vmm_dm_args_free(a);
}

/* dm_restrict=1: libxl pre-opens the QMP socket (fd=), adds -S, -xen-domid-restrict, -chroot. */
static void test_restricted(void)
{
	const char *argv[] = { "xvdm",
			       "-xen-domid",
			       "9",
			       "-no-shutdown",
			       "-chardev",
			       "socket,id=libxl-cmd,fd=7,server=on,wait=off",
			       "-S",
			       "-mon",
			       "chardev=libxl-cmd,mode=control",
			       QMP_STAT(9),
			       "-nodefaults",
			       "-no-user-config",
			       "-xen-attach",
			       "-name",
			       "r",
			       "-vnc",
			       "none",
			       "-display",
			       "none",
			       "-nographic",
			       "-xen-domid-restrict",
			       "-chroot",
			       "/var/run/xen/qemu-root-9",
			       "-machine",
			       "xenpv",
			       "-m",
			       "256",
			       "-runas",
			       "xen-qemuuser-range-base:xen-qemuuser-range-base",
			       "-pidfile",
			       "/run/xvdm-9.pid",
			       NULL };
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);
	const struct vmm_dm_monitor *m;

	g_assert_no_error(err);
	g_assert_true(a->start_paused);
	g_assert_true(a->restrict_xen);
	g_assert_cmpstr(a->runas, ==, "xen-qemuuser-range-base:xen-qemuuser-range-base");
	g_assert_cmpstr(a->pidfile, ==, "/run/xvdm-9.pid");
	m = a->mons->pdata[0];
	g_assert_cmpint(m->fd, ==, 7);
	g_assert_null(m->path);
	g_assert_cmpuint(a->guest->devices->len, ==, 0);
	vmm_dm_args_free(a);
}

/* x86 HVM (vga="none", no NICs): parsed, marked HVM; dm mode then refuses it. */
static void test_x86_hvm(void)
{
	const char *argv[] = { "xvdm",
			       "-xen-domid",
			       "7",
			       "-no-shutdown",
			       QMP_LIBXL(7),
			       QMP_STAT(7),
			       "-nodefaults",
			       "-no-user-config",
			       "-name",
			       "hvm1",
			       "-vnc",
			       "none",
			       "-display",
			       "none",
			       "-serial",
			       "pty",
			       "-nographic",
			       "-boot",
			       "order=cd",
			       "-smp",
			       "2,maxcpus=2",
			       "-net",
			       "none",
			       "-machine",
			       "xenfv,suppress-vmdesc=on,max-ram-below-4g=4026531840",
			       "-m",
			       "1016",
			       NULL };
	const char *vga[] = { "xvdm",	  "-xen-domid", "7", "-device", "cirrus-vga,vgamem_mb=8",
			      "-machine", "xenfv",	NULL };
	const char *disk[] = { "xvdm",
			       "-xen-domid",
			       "7",
			       "-drive",
			       "file=/dev/vg/d,if=ide,index=0,media=disk,format=raw",
			       NULL };
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);

	g_assert_no_error(err);
	g_assert_true(a->hvm);
	g_assert_cmpstr(a->machine, ==, "xenfv");
	g_assert_cmpuint(a->ram_mb, ==, 1016);
	vmm_dm_args_free(a);

	g_assert_null(parse(vga, &err));
	g_assert_nonnull(strstr(err->message, "cirrus-vga"));
	g_clear_error(&err);
	g_assert_null(parse(disk, &err));
	g_assert_nonnull(strstr(err->message, "-drive"));
	g_assert_nonnull(strstr(err->message, "QEMU"));
}

/* Xen >= 4.20 probes its device model: -machine none, no -xen-domid. */
static void test_probe(void)
{
	const char *argv[] = { "xvdm",
			       "-S",
			       "-no-user-config",
			       "-nodefaults",
			       "-nographic",
			       "-machine",
			       "none",
			       "-chardev",
			       "socket,id=libxl-cmd,fd=3,server=on,wait=off",
			       "-mon",
			       "chardev=libxl-cmd,mode=control",
			       NULL };
	const char *nodomid[] = { "xvdm", "-machine", "xenpv", NULL };
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);

	g_assert_no_error(err);
	g_assert_true(a->probe);
	g_assert_cmpuint(a->mons->len, ==, 1);
	vmm_dm_args_free(a);
	g_assert_null(parse(nodomid, &err));
	g_assert_nonnull(strstr(err->message, "-xen-domid"));
}

static void expect_error(const char *what, const char *const *argv, const char *needle)
{
	g_autoptr(GError) err = NULL;
	struct vmm_dm_args *a = parse(argv, &err);

	if (a || !err || !strstr(err->message, needle)) {
		g_test_message("%s: want an error naming '%s', got %s", what, needle,
			       err ? err->message : "success");
		g_test_fail();
	}
	vmm_dm_args_free(a);
}

static void test_errors(void)
{
#define ARGV(...) ((const char *const[]){ "xvdm", "-xen-domid", "2", __VA_ARGS__, NULL })
	expect_error("unknown option", ARGV("-fancy"), "unknown option '-fancy'");
	expect_error("missing value", ARGV("-name"), "-name needs a value");
	expect_error("bad domid", ((const char *const[]){ "x", "-xen-domid", "x1", NULL }),
		     "not a domain id");
	expect_error("unknown device", ARGV("-device", "e1000,netdev=n"), "'e1000'");
	expect_error("no chardev", ARGV("-device", "vhost-user-blk-pci"), "no chardev=");
	expect_error("missing chardev", ARGV("-device", "vhost-user-blk-pci,chardev=nope"),
		     "chardev=nope");
	expect_error("unknown key",
		     ARGV("-chardev", "socket,id=c,path=/s", "-device",
			  "vhost-user-blk-pci,chardev=c,frobnicate=1"),
		     "unknown key 'frobnicate'");
	expect_error("bad addr",
		     ARGV("-chardev", "socket,id=c,path=/s", "-device",
			  "vhost-user-blk-pci,chardev=c,addr=03.1"),
		     "addr=03.1");
	expect_error("tap netdev", ARGV("-netdev", "type=tap,id=n0,ifname=vif"), "-netdev");
	expect_error("tcp chardev", ARGV("-chardev", "socket,id=c,host=::1,port=4444"),
		     "path= or fd=");
	expect_error("mon without chardev", ARGV("-mon", "chardev=ghost,mode=control"),
		     "chardev=ghost");
	expect_error("machine prop", ARGV("-machine", "xenpvh,gic-version=3"), "gic-version");
	expect_error("machine type", ARGV("-machine", "virt"), "-machine virt");
	expect_error("incoming", ARGV("-incoming", "fd:5"), "save, restore");
	expect_error("bad -m", ARGV("-m", "lots"), "-m 'lots'");
	expect_error("ecam window",
		     ARGV("-machine", "xenpvh,pci-ecam-base=0x10000001,pci-ecam-size=0x100000"),
		     "PCI");
	expect_error("too many mmio",
		     ARGV("-machine", "xenpvh,virtio-mmio-num=1", "-device", "virtio-rng-device",
			  "-device", "virtio-rng-device"),
		     "virtio-mmio-num=1");
#undef ARGV
}

static void test_dispatch(void)
{
	const char *libxl[] = { "xvdm", "-xen-domid", "1", NULL };
	const char *probe[] = { "xvdm", "-machine", "none", NULL };
	const char *ours[] = { "xvdm", "--domid", "1", "--device", "rng", NULL };

	g_assert_true(vmm_dm_argv_is_libxl(3, (char **)libxl));
	g_assert_true(vmm_dm_argv_is_libxl(3, (char **)probe));
	g_assert_false(vmm_dm_argv_is_libxl(5, (char **)ours));
}

/* sd_notify's datagram, to a path and to an abstract ("@") socket; no NOTIFY_SOCKET: no-op. */
static void test_notify(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-dm-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "notify", NULL);
	g_autofree char *abstract = g_strdup_printf("@xvdm-test-%d", (int)getpid());
	const char *targets[] = { path, abstract };
	char buf[32] = { 0 };

	g_assert_nonnull(dir);
	for (unsigned i = 0; i < G_N_ELEMENTS(targets); i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		socklen_t len = offsetof(struct sockaddr_un, sun_path) + strlen(targets[i]);
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memcpy(sa.sun_path, targets[i], strlen(targets[i]));
		if (targets[i][0] == '@')
			sa.sun_path[0] = '\0';
		g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, len), ==, 0);
		g_setenv("NOTIFY_SOCKET", targets[i], true);
		g_assert_cmpint(vmm_sd_notify("READY=1"), ==, 0);
		g_assert_cmpint(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT), ==, 7);
		g_assert_cmpstr(buf, ==, "READY=1");
		close(fd);
	}
	g_setenv("NOTIFY_SOCKET", "relative/path", true);
	g_assert_cmpint(vmm_sd_notify("READY=1"), ==, -EAFNOSUPPORT);
	g_unsetenv("NOTIFY_SOCKET");
	g_assert_cmpint(vmm_sd_notify("READY=1"), ==, 0);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_pidfile(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-dm-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "xvdm.pid", NULL);
	g_autofree char *want = g_strdup_printf("%d\n", (int)getpid());
	g_autofree char *got = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(vmm_pidfile_write(path, &err), ==, 0);
	g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, want);
	g_unlink(path);
	g_rmdir(dir);
	g_assert_cmpint(vmm_pidfile_write("/nonexistent-dir/xvdm.pid", &err), <, 0);
	g_assert_nonnull(strstr(err->message, "pid file"));
}

static void test_runas_errors(void)
{
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(vmm_drop_privileges("no-such-user-xvdm", &err), ==, -ENOENT);
	g_assert_nonnull(strstr(err->message, "no such user"));
	g_clear_error(&err);
	g_assert_cmpint(vmm_drop_privileges("root", &err), ==, -EINVAL);
	g_clear_error(&err);
	g_assert_cmpint(vmm_drop_privileges("nobody:no-such-group-xvdm", &err), ==, -ENOENT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dm/args/arm-pvh", test_arm_pvh);
	g_test_add_func("/dm/args/pv-defaults", test_pv_defaults);
	g_test_add_func("/dm/args/restricted", test_restricted);
	g_test_add_func("/dm/args/x86-hvm", test_x86_hvm);
	g_test_add_func("/dm/args/probe", test_probe);
	g_test_add_func("/dm/args/errors", test_errors);
	g_test_add_func("/dm/args/dispatch", test_dispatch);
	g_test_add_func("/dm/ops/sd-notify", test_notify);
	g_test_add_func("/dm/ops/pidfile", test_pidfile);
	g_test_add_func("/dm/ops/runas-errors", test_runas_errors);
	return g_test_run();
}
