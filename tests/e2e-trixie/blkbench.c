/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blkbench: the trixie perf lab's small static arm64 helper, in the domU and in dom0.
 *
 * Every 4 KiB block of the disk holds a pattern that names it: bytes 0-7 a magic word
 * with the generation in its low byte, bytes 8-15 the block number, the rest a
 * xorshift stream seeded by both. A read can then check that it got the right block of
 * the right generation, and dom0 can check a whole image after the guest wrote it.
 *
 *   blkbench fill FILE MIB           dom0: write MIB MiB of generation-0 blocks
 *   blkbench check FILE              dom0: every block names its own number, generation <= 2
 *   blkbench run DEV SECONDS         domU: the workload on DEV with O_DIRECT, queue depth 1:
 *       seqread  64 KiB reads of the whole disk, each block checked (generation 0)
 *       seqwrite 64 KiB writes of the whole disk (generation 1), then fsync
 *       randread 4 KiB reads at random blocks, each checked (generation 1)
 *       randwrite 4 KiB writes at random blocks (generation 2), then fsync
 *     each phase stops at the end of the disk (sequential) or after SECONDS (random) and
 *     prints one "BENCH: <phase> <bytes> bytes <ops> ops <sec> s <MB/s> MB/s <IOPS> IOPS
 *     <errors> errors" line; the random positions come from a fixed seed.
 *   blkbench now                     CLOCK_MONOTONIC in ns
 *   blkbench dmexec STAMP QMP DM ARGS...
 *       dom0, as libxl's device_model_override: for the real launch (argv has -xen-domid),
 *       forks a process that polls QMP (a unix socket path, %d = the domid) until it can
 *       connect and read the greeting, then writes "<exec ns> <ready ns>" to STAMP (%d
 *       too); the parent takes the exec time just before it execs DM with ARGS (the same
 *       pid: the one libxl started).
 *       libxl's probe (-machine none) is exec'd with no measurement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLK   4096u
#define SEQ   65536u
#define MAGIC 0x5856444d42454e00ull /* "XVDMBEN" + generation byte */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void pattern(unsigned char *b, uint64_t blk, unsigned gen)
{
	uint64_t s = (blk + 1) * 0x9e3779b97f4a7c15ull ^ (gen + 1) * 0xbf58476d1ce4e5b9ull;
	uint64_t w = MAGIC | gen;

	memcpy(b, &w, 8);
	memcpy(b + 8, &blk, 8);
	for (unsigned i = 16; i < BLK; i += 8) {
		w = xs(&s);
		memcpy(b + i, &w, 8);
	}
}

/* 0: block blk of generation gen (any generation <= maxgen if gen < 0); else 1 */
static int pattern_ok(const unsigned char *b, uint64_t blk, int gen, unsigned maxgen)
{
	static unsigned char want[BLK];
	uint64_t w, n;

	memcpy(&w, b, 8);
	memcpy(&n, b + 8, 8);
	if ((w & ~0xffull) != MAGIC || n != blk)
		return 1;
	if (gen >= 0 ? (w & 0xff) != (unsigned)gen : (w & 0xff) > maxgen)
		return 1;
	pattern(want, blk, w & 0xff);
	return memcmp(want, b, BLK) != 0;
}

static int do_fill(const char *path, long mib)
{
	static unsigned char b[BLK];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || mib <= 0) {
		fprintf(stderr, "blkbench fill: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "bad size");
		return 1;
	}
	for (uint64_t i = 0; i < (uint64_t)mib * 256; i++) {
		pattern(b, i, 0);
		if (write(fd, b, BLK) != BLK) {
			fprintf(stderr, "blkbench fill: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return close(fd) != 0;
}

static int do_check(const char *path)
{
	static unsigned char b[BLK];
	unsigned long bad = 0, gens[3] = { 0 };
	uint64_t i = 0;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "blkbench check: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, b, BLK)) == BLK) {
		if (pattern_ok(b, i, -1, 2))
			bad++;
		else
			gens[b[0]]++;
		i++;
	}
	close(fd);
	printf("CHECK: %s: %" PRIu64 " blocks, %lu bad, generation 0/1/2: %lu/%lu/%lu\n", path, i,
	       bad, gens[0], gens[1], gens[2]);
	return bad != 0 || n != 0 || i == 0;
}

struct phase {
	const char *name;
	unsigned long ops, errors;
	uint64_t bytes, t0, t1;
};

static void report(struct phase *p)
{
	double s = (double)(p->t1 - p->t0) / 1e9;

	printf("BENCH: %s %" PRIu64 " bytes %lu ops %.3f s %.3f MB/s %.1f IOPS %lu errors\n",
	       p->name, p->bytes, p->ops, s, s > 0 ? (double)p->bytes / 1e6 / s : 0.0,
	       s > 0 ? (double)p->ops / s : 0.0, p->errors);
	fflush(stdout);
}

static int do_run(const char *dev, int seconds)
{
	unsigned char *buf;
	uint64_t nblk, rs = 0x2545f4914f6cdd1dull;
	off_t size;
	int fd = open(dev, O_RDWR | O_DIRECT), bad = 0;
	struct phase p;

	if (fd < 0 || seconds <= 0) {
		fprintf(stderr, "blkbench run: %s: %s\n", dev,
			fd < 0 ? strerror(errno) : "bad time");
		return 1;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size < (off_t)SEQ || posix_memalign((void **)&buf, BLK, SEQ)) {
		fprintf(stderr, "blkbench run: %s: too small or no memory\n", dev);
		return 1;
	}
	nblk = (uint64_t)size / BLK;
	printf("BENCH: device %s %" PRIu64 " bytes, O_DIRECT, queue depth 1\n", dev,
	       (uint64_t)size);

	p = (struct phase){ .name = "seqread", .t0 = now_ns() };
	for (uint64_t off = 0; off + SEQ <= (uint64_t)size; off += SEQ) {
		if (pread(fd, buf, SEQ, off) != SEQ) {
			p.errors++;
			continue;
		}
		for (unsigned i = 0; i < SEQ / BLK; i++)
			p.errors += pattern_ok(buf + i * BLK, off / BLK + i, 0, 0);
		p.ops++;
		p.bytes += SEQ;
	}
	p.t1 = now_ns();
	report(&p);
	bad |= p.errors != 0;

	p = (struct phase){ .name = "seqwrite", .t0 = now_ns() };
	for (uint64_t off = 0; off + SEQ <= (uint64_t)size; off += SEQ) {
		for (unsigned i = 0; i < SEQ / BLK; i++)
			pattern(buf + i * BLK, off / BLK + i, 1);
		if (pwrite(fd, buf, SEQ, off) != SEQ) {
			p.errors++;
			continue;
		}
		p.ops++;
		p.bytes += SEQ;
	}
	p.errors += fsync(fd) != 0;
	p.t1 = now_ns();
	report(&p);
	bad |= p.errors != 0;

	p = (struct phase){ .name = "randread", .t0 = now_ns() };
	do {
		uint64_t blk = xs(&rs) % nblk;

		if (pread(fd, buf, BLK, blk * BLK) != BLK || pattern_ok(buf, blk, 1, 1))
			p.errors++;
		p.ops++;
		p.bytes += BLK;
	} while ((p.t1 = now_ns()) - p.t0 < (uint64_t)seconds * 1000000000ull);
	report(&p);
	bad |= p.errors != 0;

	p = (struct phase){ .name = "randwrite", .t0 = now_ns() };
	do {
		uint64_t blk = xs(&rs) % nblk;

		pattern(buf, blk, 2);
		if (pwrite(fd, buf, BLK, blk * BLK) != BLK)
			p.errors++;
		p.ops++;
		p.bytes += BLK;
	} while (now_ns() - p.t0 < (uint64_t)seconds * 1000000000ull);
	p.errors += fsync(fd) != 0;
	p.t1 = now_ns();
	report(&p);
	bad |= p.errors != 0;
	close(fd);
	free(buf);
	return bad;
}

/* Connect to the QMP socket until it answers with its greeting (a line). */
static uint64_t qmp_ready(const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	char c;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	while (now_ns() < deadline) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return 0;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			/* the greeting is one line: its first byte is enough */
			if (read(fd, &c, 1) == 1) {
				uint64_t t = now_ns();

				close(fd);
				return t;
			}
		}
		close(fd);
		usleep(1000);
	}
	return 0;
}

static int do_dmexec(int argc, char **argv)
{
	char stamp[256], qmp[256];
	int domid = -1, pfd[2];
	uint64_t t0;
	pid_t pid;

	for (int i = 3; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-xen-domid"))
			domid = atoi(argv[i + 1]);
	if (domid < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		execv(argv[2], argv + 2);
		fprintf(stderr, "blkbench dmexec: %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	snprintf(stamp, sizeof(stamp), argv[0], domid);
	snprintf(qmp, sizeof(qmp), argv[1], domid);
	pid = fork();
	if (pid == 0) {
		/* a grandchild, so that the device model has no child of ours to reap; it
		 * keeps none of the fds libxl gave the device model */
		if (fork() == 0) {
			int nul = open("/dev/null", O_RDWR);
			uint64_t t1;
			FILE *f;

			for (int fd = 0; fd < 1024; fd++)
				if (fd != pfd[0] && fd != nul)
					close(fd);
			if (read(pfd[0], &t0, sizeof(t0)) != sizeof(t0))
				_exit(1);
			t1 = qmp_ready(qmp, 120);
			f = fopen(stamp, "w");
			if (f) {
				fprintf(f, "%" PRIu64 " %" PRIu64 "\n", t0, t1);
				fclose(f);
			}
			_exit(0);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	close(pfd[0]);
	t0 = now_ns();
	if (write(pfd[1], &t0, sizeof(t0)) != sizeof(t0))
		fprintf(stderr, "blkbench dmexec: no stamp: %s\n", strerror(errno));
	execv(argv[2], argv + 2);
	fprintf(stderr, "blkbench dmexec: %s: %s\n", argv[2], strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return do_fill(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "check"))
		return do_check(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "run"))
		return do_run(argv[2], atoi(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%" PRIu64 "\n", now_ns());
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "dmexec"))
		return do_dmexec(argc - 2, argv + 2);
	fprintf(stderr, "usage: blkbench fill FILE MIB | check FILE | run DEV SECONDS | now |"
			" dmexec STAMP QMP DM [ARGS...]\n");
	return 2;
}
