/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-fs: the real xvdm serving a vhost-user-fs device in shadow memory mode
 * (DESIGN.md §3) to a simulated domain, backed by QEMU's C virtiofsd (Debian 12,
 * /usr/lib/qemu/virtiofsd) sharing a directory the test fills. virtiofsd has no CONFIG
 * (FACTS 35): the tag and the request-queue count are xvdm's, from tag= and
 * num-request-queues=, and are read back from config space as Linux's virtio_fs does.
 *
 * The guest side is a virtio-fs driver speaking FUSE over the request queue as Linux's
 * fs/fuse/virtio_fs.c does (virtio 1.2 §5.11): device-readable fuse_in_header + args,
 * then device-writable fuse_out_header + reply, the data of reads in separate 4 KiB
 * buffers. FUSE_INIT; FUSE_LOOKUP of a file the test wrote (its size and mode checked)
 * and of a name that does not exist (-ENOENT); FUSE_OPEN; FUSE_READ of every byte in
 * chunks of several sizes, aligned and not, and past the end, each compared with the
 * file; FUSE_RELEASE; FUSE_FORGET on the hiprio queue. Then xvdm ends on SIGTERM with
 * status 0 and virtiofsd, which serves one connection, ends by itself with status 0.
 *
 * Exits 77 if xvdm does not list vhost-user-fs, virtiofsd is not installed (package
 * qemu-system-common), or the test is not root (virtiofsd needs it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <glib.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define DOMID	  1
#define IRQ	  41
#define QSIZE	  128
#define HIPRIO	  0
#define REQQ	  1
#define TAG	  "xvdm-sim-fs-tag-0123456789abcdefghij" /* 36 bytes: no NUL in config */
#define FILE_NAME "data.bin"
#define FILE_SIZE (200u * 1024 + 123)
#define PAGE	  4096u
#define MAX_READ  (64u * 1024)
#define MAX_SG	  (4 + MAX_READ / PAGE + 1)

_Static_assert(sizeof(TAG) - 1 == sizeof(((struct virtio_fs_config *)0)->tag), "tag length");

static struct sim sim;

struct fs {
	struct vdrv v;
	uint64_t in_gpa, out_gpa, data_gpa; /* request, reply header + args, read data */
	uint64_t unique;
	uint64_t requests, bytes_compared;
};

static uint8_t *ram(struct fs *f, uint64_t gpa, size_t len)
{
	uint8_t *p = gd_ram(f->v.d, gpa, len);

	SIM_CHECK(&sim, p, "guest RAM 0x%" PRIx64 "+%zu", gpa, len);
	return p;
}

/*
 * One FUSE request on queue q: the header and `args` device-readable, then (unless
 * noreply) a device-writable fuse_out_header + `out_len` bytes of reply and `data_len`
 * bytes of data in 4 KiB buffers. Returns the reply's error (0 or -errno); *ret_len is
 * the reply's length after the out header.
 */
static int fuse_req(struct fs *f, unsigned q, uint32_t opcode, uint64_t nodeid, const void *args,
		    uint32_t args_len, uint32_t out_len, uint32_t data_len, bool noreply,
		    uint32_t *ret_len)
{
	struct fuse_in_header *ih = (struct fuse_in_header *)ram(f, f->in_gpa, PAGE);
	struct fuse_out_header *oh = (struct fuse_out_header *)ram(f, f->out_gpa, PAGE);
	struct vdrv_sg sg[MAX_SG];
	unsigned n = 0;
	uint16_t head, got;
	uint32_t used;
	int r;

	SIM_CHECK(&sim,
		  sizeof(*ih) + args_len <= PAGE && sizeof(*oh) + out_len <= PAGE &&
			  data_len <= MAX_READ,
		  "fuse_req sizes");
	*ih = (struct fuse_in_header){ .len = (uint32_t)sizeof(*ih) + args_len,
				       .opcode = opcode,
				       .unique = ++f->unique,
				       .nodeid = nodeid,
				       .pid = 4242 };
	memcpy(ih + 1, args, args_len);
	/* Linux's virtio_fs: the in header, then the in args, each a buffer of its own. */
	sg[n++] = (struct vdrv_sg){ f->in_gpa, sizeof(*ih), false };
	if (args_len)
		sg[n++] = (struct vdrv_sg){ f->in_gpa + sizeof(*ih), args_len, false };
	if (!noreply) {
		memset(oh, 0xa5, PAGE);
		sg[n++] = (struct vdrv_sg){ f->out_gpa, sizeof(*oh), true };
		if (out_len)
			sg[n++] = (struct vdrv_sg){ f->out_gpa + sizeof(*oh), out_len, true };
		for (uint32_t off = 0; off < data_len; off += PAGE)
			sg[n++] = (struct vdrv_sg){ f->data_gpa + off,
						    data_len - off < PAGE ? data_len - off : PAGE,
						    true };
	}
	r = vdrv_add(&f->v, q, sg, n, &head);
	SIM_CHECK(&sim, !r, "opcode %u: add: %s", opcode, strerror(-r));
	r = vdrv_kick(&f->v, q);
	SIM_CHECK(&sim, !r, "opcode %u: kick: %s", opcode, strerror(-r));
	r = vdrv_wait_any(&f->v, q, &got, &used, GD_TIMEOUT_MS);
	SIM_CHECK(&sim, !r, "opcode %u (unique %" PRIu64 ") on queue %u: no reply: %s", opcode,
		  f->unique, q, strerror(-r));
	SIM_CHECK(&sim, got == head, "opcode %u: used head %u, want %u", opcode, got, head);
	f->requests++;
	if (noreply) {
		SIM_CHECK(&sim, used == 0, "opcode %u without reply: used length %u", opcode, used);
		return 0;
	}
	SIM_CHECK(&sim, used >= sizeof(*oh) && oh->len == used && oh->unique == f->unique,
		  "opcode %u: used length %u, out header len %u unique %" PRIu64 " (want %" PRIu64
		  ")",
		  opcode, used, oh->len, (uint64_t)oh->unique, f->unique);
	SIM_CHECK(&sim, oh->error <= 0 && oh->error > -4096, "opcode %u: error %d", opcode,
		  oh->error);
	SIM_CHECK(&sim, oh->error == 0 || used == sizeof(*oh),
		  "opcode %u: error %d with %u bytes of reply", opcode, oh->error, used);
	*ret_len = used - (uint32_t)sizeof(*oh);
	return oh->error;
}

static void check_config(struct fs *f)
{
	char tag[sizeof(TAG)] = { 0 };
	uint64_t b, nreq;

	/* virtio_cread_bytes(): the tag byte by byte. */
	for (unsigned i = 0; i < sizeof(TAG) - 1; i++) {
		SIM_CHECK(&sim,
			  !vdrv_cfg_read(&f->v, offsetof(struct virtio_fs_config, tag) + i, 1, &b),
			  "config: tag[%u]", i);
		tag[i] = (char)b;
	}
	SIM_CHECK(&sim, !strcmp(tag, TAG), "config: tag \"%s\", xvdm was given \"%s\"", tag, TAG);
	SIM_CHECK(&sim,
		  !vdrv_cfg_read(&f->v, offsetof(struct virtio_fs_config, num_request_queues), 4,
				 &nreq),
		  "config: num_request_queues");
	SIM_CHECK(&sim, nreq == 1, "config: num_request_queues %" PRIu64 ", xvdm was given 1",
		  nreq);
	sim_note("config: tag \"%s\", num_request_queues %" PRIu64, tag, nreq);
}

static void fuse_init(struct fs *f)
{
	/* As Linux 6.1 sends it: the whole 64-byte struct, this header's minor version. */
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION,
				   .max_readahead = 128 * 1024,
				   .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES };
	struct fuse_init_out *out;
	uint32_t len;
	int r = fuse_req(f, REQQ, FUSE_INIT, 0, &in, sizeof(in), sizeof(*out), 0, false, &len);

	SIM_CHECK(&sim, !r, "FUSE_INIT: %s", strerror(-r));
	out = (struct fuse_init_out *)ram(f, f->out_gpa + sizeof(struct fuse_out_header),
					  sizeof(*out));
	SIM_CHECK(&sim, len >= FUSE_COMPAT_22_INIT_OUT_SIZE && out->major == FUSE_KERNEL_VERSION,
		  "FUSE_INIT: reply of %u bytes, major %u", len, out->major);
	sim_note("FUSE_INIT: virtiofsd speaks FUSE %u.%u, max_write %u, flags 0x%x", out->major,
		 out->minor, out->max_write, out->flags);
}

static uint64_t fuse_lookup(struct fs *f, const char *name, struct fuse_attr *ret_attr)
{
	struct fuse_entry_out *e;
	uint32_t len;
	int r = fuse_req(f, REQQ, FUSE_LOOKUP, FUSE_ROOT_ID, name, (uint32_t)strlen(name) + 1,
			 sizeof(*e), 0, false, &len);

	if (r == -ENOENT)
		return 0;
	SIM_CHECK(&sim, !r, "FUSE_LOOKUP %s: %s", name, strerror(-r));
	SIM_CHECK(&sim, len == sizeof(*e), "FUSE_LOOKUP %s: reply of %u bytes", name, len);
	e = (struct fuse_entry_out *)ram(f, f->out_gpa + sizeof(struct fuse_out_header),
					 sizeof(*e));
	SIM_CHECK(&sim, e->nodeid > FUSE_ROOT_ID, "FUSE_LOOKUP %s: nodeid %" PRIu64, name,
		  (uint64_t)e->nodeid);
	*ret_attr = e->attr;
	return e->nodeid;
}

/* Read [off, off + size) and compare with the file's bytes; returns the bytes read. */
static uint32_t fuse_read(struct fs *f, uint64_t nodeid, uint64_t fh, const uint8_t *file,
			  uint64_t off, uint32_t size)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size, .flags = O_RDONLY };
	uint32_t want = off >= FILE_SIZE ? 0 : (uint32_t)MIN((uint64_t)size, FILE_SIZE - off);
	uint8_t *data = ram(f, f->data_gpa, MAX_READ);
	uint32_t len;
	int r;

	memset(data, 0x5a, MAX_READ);
	r = fuse_req(f, REQQ, FUSE_READ, nodeid, &in, sizeof(in), 0, size, false, &len);
	SIM_CHECK(&sim, !r, "FUSE_READ %u at %" PRIu64 ": %s", size, off, strerror(-r));
	SIM_CHECK(&sim, len == want, "FUSE_READ %u at %" PRIu64 ": %u bytes, want %u", size, off,
		  len, want);
	for (uint32_t i = 0; i < len; i++)
		SIM_CHECK(&sim, data[i] == file[off + i],
			  "FUSE_READ %u at %" PRIu64 ": byte %" PRIu64 " of the file is 0x%02x, "
			  "the file has 0x%02x",
			  size, off, off + i, data[i], file[off + i]);
	f->bytes_compared += len;
	return len;
}

static void fs_session(struct fs *f, const uint8_t *file)
{
	static const uint32_t sizes[] = { MAX_READ, 4096, 1, 10000, 65535, 33333 };
	struct fuse_open_in oin = { .flags = O_RDONLY };
	struct fuse_release_in rin = { 0 };
	struct fuse_forget_in fin = { .nlookup = 1 };
	struct fuse_open_out *oo;
	struct fuse_attr attr;
	uint64_t nodeid, off = 0, covered = 0;
	uint32_t len;
	int r;

	fuse_init(f);
	SIM_CHECK(&sim, fuse_lookup(f, "no-such-file", &attr) == 0,
		  "FUSE_LOOKUP of a missing name succeeded");
	nodeid = fuse_lookup(f, FILE_NAME, &attr);
	SIM_CHECK(&sim, nodeid, "FUSE_LOOKUP %s: ENOENT", FILE_NAME);
	SIM_CHECK(&sim, attr.size == FILE_SIZE && S_ISREG(attr.mode),
		  "FUSE_LOOKUP %s: size %" PRIu64 " mode 0%o, want %u and a regular file",
		  FILE_NAME, (uint64_t)attr.size, attr.mode, FILE_SIZE);
	r = fuse_req(f, REQQ, FUSE_OPEN, nodeid, &oin, sizeof(oin), sizeof(*oo), 0, false, &len);
	SIM_CHECK(&sim, !r && len == sizeof(*oo), "FUSE_OPEN: %s, %u bytes", strerror(-r), len);
	oo = (struct fuse_open_out *)ram(f, f->out_gpa + sizeof(struct fuse_out_header),
					 sizeof(*oo));
	rin.fh = oo->fh; /* the out page is reused by the next request */
	rin.flags = O_RDONLY;

	/* The whole file in chunks of varied sizes, then unaligned bits and past the end. */
	for (unsigned i = 0; off < FILE_SIZE; i++) {
		len = fuse_read(f, nodeid, rin.fh, file, off, sizes[i % G_N_ELEMENTS(sizes)]);
		SIM_CHECK(&sim, len, "FUSE_READ at %" PRIu64 ": 0 bytes before the end", off);
		off += len;
		covered += len;
	}
	fuse_read(f, nodeid, rin.fh, file, 4095, 10000);
	fuse_read(f, nodeid, rin.fh, file, FILE_SIZE - 100, MAX_READ);
	fuse_read(f, nodeid, rin.fh, file, FILE_SIZE, PAGE);
	fuse_read(f, nodeid, rin.fh, file, FILE_SIZE + 12345, PAGE);
	SIM_CHECK(&sim, covered == FILE_SIZE, "read %" PRIu64 " of %u bytes", covered, FILE_SIZE);

	r = fuse_req(f, REQQ, FUSE_RELEASE, nodeid, &rin, sizeof(rin), 0, 0, false, &len);
	SIM_CHECK(&sim, !r && !len, "FUSE_RELEASE: %s, %u bytes", strerror(-r), len);
	/* FORGET has no reply and goes on the hiprio queue (virtio 1.2 §5.11.6.1). */
	fuse_req(f, HIPRIO, FUSE_FORGET, nodeid, &fin, sizeof(fin), 0, 0, true, &len);
}

static void require(struct sim *s)
{
	if (!sim_has_device(s, "vhost-user-fs")) {
		printf("SKIP: %s: xvdm --list-devices has no vhost-user-fs\n", s->name);
		exit(77);
	}
	if (access(VIRTIOFSD, X_OK)) {
		printf("SKIP: %s: %s not installed (package qemu-system-common)\n", s->name,
		       VIRTIOFSD);
		exit(77);
	}
	if (geteuid()) {
		printf("SKIP: %s: virtiofsd needs root (it changes credentials per request)\n",
		       s->name);
		exit(77);
	}
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	/* static: sim_pass() and sim_fail() exit() past any scope cleanup */
	static uint8_t file[FILE_SIZE];
	g_autofree char *srcopt = NULL, *sockopt = NULL;
	const char *sock, *path;
	struct fs f = { 0 };
	char spec[512];
	uint64_t base;
	struct xs_dom *d;
	uint32_t x = 12345;
	pid_t vfsd;
	int st, r;

	sim_init(&sim, "sim-vhu-fs", argc, argv, 60);
	require(&sim);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	base = hv_host_mmio_base();
	sock = sim_path(&sim, "virtiofsd.sock");

	/* The shared directory is the test's own (removed at the end with what is in it). */
	path = sim_path(&sim, FILE_NAME);
	for (uint32_t i = 0; i < FILE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		file[i] = (uint8_t)(x >> 8);
	}
	SIM_CHECK(&sim, g_file_set_contents(path, (const char *)file, FILE_SIZE, NULL), "write %s",
		  path);

	srcopt = g_strdup_printf("source=%s", sim.dir);
	sockopt = g_strdup_printf("--socket-path=%s", sock);
	/* sandbox=chroot: one process (namespace mode forks a child into new namespaces). */
	vfsd = sim_spawn_aux(&sim,
			     (const char *const[]){ VIRTIOFSD, sockopt, "-o", srcopt, "-o",
						    "cache=none", "-o", "sandbox=chroot", NULL },
			     false);
	sim_wait_listen(&sim, sock, vfsd, 10000);

	snprintf(spec, sizeof(spec),
		 "vhost-user-fs,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,tag=" TAG ",num-request-queues=1",
		 base, IRQ, sock);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	vdrv_init(&f.v, d, 0, base, IRQ);
	r = vdrv_probe(&f.v, VIRTIO_ID_FS, 0, 2, QSIZE);
	SIM_CHECK(&sim, !r, "probe: %s", strerror(-r));
	check_config(&f);
	f.in_gpa = gd_alloc(d, PAGE, PAGE);
	f.out_gpa = gd_alloc(d, PAGE, PAGE);
	f.data_gpa = gd_alloc(d, MAX_READ, PAGE);
	SIM_CHECK(&sim, f.in_gpa && f.out_gpa && f.data_gpa, "out of guest RAM");

	fs_session(&f, file);
	SIM_CHECK(&sim, f.v.interrupts > 0, "no interrupts taken");
	sim_note("%" PRIu64 " FUSE requests, %" PRIu64 " bytes of %s read and compared (%u in the "
		 "file), %u interrupts",
		 f.requests, f.bytes_compared, FILE_NAME, FILE_SIZE, f.v.interrupts);
	r = vdrv_remove(&f.v);
	SIM_CHECK(&sim, !r, "remove: %s", strerror(-r));

	sim_terminate_ok(&sim, 5000);
	/* virtiofsd serves one connection and exits when it ends (FACTS 35). */
	st = sim_aux_stop(&sim, vfsd, 0, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "virtiofsd after xvdm left: %s",
		  sim_status_str(st));
	g_clear_pointer(&srcopt, g_free);
	g_clear_pointer(&sockopt, g_free);
	sim_pass(&sim);
}
