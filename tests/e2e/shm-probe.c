/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shm-probe: the domU side of the e2e SHMEM round (tests/e2e/README.md). A static arm64
 * program in the domU's initramfs; it reaches a virtio-mmio device that xvdm serves and that
 * no Linux driver has bound (virtio_mmio is not loaded) through /dev/mem, so every access
 * is a guest load or store that Xen turns into an ioreq for xvdm:
 *   1. the device's registers at MMIO_BASE (from the device tree): MagicValue, Version,
 *      DeviceID, then SHMSel 0 -> SHMLenLow/High, SHMBaseLow/High (and SHMSel 1: unused,
 *      all ones);
 *   2. region 0's window at SHMBase: wait until its first word is not 0 (the back-end,
 *      tests/backends/vhub-shm --map 0:0:MAPLEN:ro:SEED, maps when its back-end channel is
 *      up), then read MAPLEN bytes (8-byte reads) and compare each with
 *      1 + (SEED + k) % 255, and read the 64 bytes after the mapping and the region's last
 *      64: 0 (unmapped);
 *   3. the cost per access: N 4-byte reads each of the mapped window, of the unmapped part
 *      of the window (the MAPLEN bytes after the mapping), of MagicValue (the bare ioreq
 *      round trip) and of guest RAM, with the same instruction (ldr w); ns per read and
 *      the ratios;
 *   4. prints "SHM-PROBE: UNMAP-NOW" (dom0 then sends SIGUSR1 to vhub-shm: it unmaps
 *      everything), waits until the first word reads 0 and reads all MAPLEN bytes: 0;
 *   5. prints "SHM-PROBE: MAP-AGAIN" (dom0 sends SIGUSR2: vhub-shm maps its list again),
 *      waits for the bytes and compares 8 of every 64 again.
 * Under QEMU TCG every trapped access costs milliseconds (measured: 1-2 ms on the quiet
 * 2-core host, 9-28 ms when it is busy), so MAPLEN is one page and N a hundred: about 1,600
 * trapped reads in all, both transports.
 * Lines "DOMU: shm: ..." and "DOMU: RESULT: shm: ..." for tests/e2e/e2e.sh; exit 0 when
 * every check passed.
 *
 *   shm-probe MMIO_BASE MAPLEN SEED N WAIT_S
 *   shm-probe pci /sys/bus/pci/devices/DEV MAPLEN SEED WAIT_S
 *
 * The pci form does the same for a virtio-pci function no driver has bound: the
 * SHARED_MEMORY capability of region 0 from sysfs config space, BAR 4's address from sysfs
 * resource, memory decoding turned on through sysfs enable, then the page (one 8-byte read
 * in every 64 bytes), zeros around it, "SHM-PROBE: PCI-UNMAP-NOW" and zeros (no timing).
 *
 * Accesses are `ldr w`/`ldr x`/`str w` with a plain base register (inline assembly): Xen
 * emulates an MMIO access only from a data abort with a valid syndrome, which a
 * post-indexed load the compiler may choose would not have. /dev/mem maps non-RAM as
 * Device-nGnRnE: aligned accesses only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define MAGIC	    0x000
#define VERSION	    0x004
#define DEVICE_ID   0x008
#define VENDOR_ID   0x00c
#define SHM_SEL	    0x0ac
#define SHM_LEN_LO  0x0b0
#define SHM_LEN_HI  0x0b4
#define SHM_BASE_LO 0x0b8
#define SHM_BASE_HI 0x0bc

static int fails;

static inline uint32_t rd32(const volatile void *p)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static inline uint64_t rd64(const volatile void *p)
{
	uint64_t v;

	__asm__ volatile("ldr %x0, [%1]" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static inline void wr32(volatile void *p, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(p) : "memory");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile uint8_t *map_phys(int fd, uint64_t pa, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)pa);

	if (p == MAP_FAILED) {
		printf("DOMU: RESULT: shm: mmap of /dev/mem at 0x%" PRIx64 " (0x%" PRIx64
		       " bytes) FAILED: %s\n",
		       pa, len, strerror(errno));
		exit(1);
	}
	return p;
}

static uint8_t pattern(unsigned seed, uint64_t k)
{
	return (uint8_t)(1 + (seed + k) % 255);
}

/*
 * Compare the 8 bytes at every STEP-th offset of LEN bytes at W (8-byte reads; STEP 8: all
 * of them) with the pattern, or with 0 when SEED < 0: mismatches; the first one printed.
 */
static uint64_t compare(const volatile uint8_t *w, uint64_t len, uint64_t step, int seed,
			const char *what)
{
	uint64_t bad = 0;

	for (uint64_t off = 0; off < len; off += step) {
		uint64_t v = rd64(w + off);

		for (unsigned i = 0; i < 8 && off + i < len; i++) {
			uint8_t got = (uint8_t)(v >> (8 * i));
			uint8_t want = seed < 0 ? 0 : pattern((unsigned)seed, off + i);

			if (got != want && bad++ == 0)
				printf("DOMU: shm: %s: first difference at +0x%" PRIx64
				       ": 0x%02x, expected 0x%02x\n",
				       what, off + i, got, want);
		}
	}
	return bad;
}

/* Poll the first word of W until it is (nonzero ? not 0 : 0); seconds waited, or -1 */
static double wait_word(const volatile uint8_t *w, int nonzero, double limit)
{
	double t0 = now();

	while (now() - t0 < limit) {
		if ((rd32(w) != 0) == nonzero)
			return now() - t0;
		usleep(20000);
	}
	return -1;
}

/* ns per 4-byte read, N reads at P + (i * 64) % SPAN (SPAN a power of two) */
static double cost(const volatile uint8_t *p, uint64_t span, unsigned n)
{
	double t0 = now();
	uint32_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += rd32(p + (((uint64_t)i * 64) & (span - 1)));
	__asm__ volatile("" : : "r"(sum));
	return (now() - t0) * 1e9 / n;
}

static void check_pattern(const volatile uint8_t *win, uint64_t maplen, uint64_t step,
			  unsigned seed, const char *when)
{
	double t0 = now();
	uint64_t bad = compare(win, maplen, step, (int)seed, when);
	double dt = now() - t0;

	if (bad) {
		fails++;
		printf("DOMU: RESULT: shm: %s: %" PRIu64
		       " bytes DIFFER from the pattern (seed %u)\n",
		       when, bad, seed);
	} else {
		printf("DOMU: RESULT: shm: %s: %" PRIu64 " bytes read (%" PRIu64
		       " 8-byte reads, one every %" PRIu64 " bytes of the %" PRIu64
		       "-byte mapping, %.2f s), all = 1 + (%u + k) %% 255\n",
		       when, (maplen + step - 1) / step * 8, (maplen + step - 1) / step, step,
		       maplen, dt, seed);
	}
}

/*
 * virtio-pci: the function's SHARED_MEMORY capability for region 0 (cfg_type 8, struct
 * virtio_pci_cap64) from sysfs config space, its BAR's address from sysfs resource; turn
 * memory decoding on (sysfs enable: no driver did), check the page the back-end mapped
 * (one 8-byte read in every 64 bytes), 64 bytes after it and the region's end, then
 * "SHM-PROBE: PCI-UNMAP-NOW" and zeros. Returns failures.
 */
static int pci_probe(const char *dev, uint64_t maplen, unsigned seed, double limit)
{
	uint8_t cfg[256];
	char path[512], line[256];
	uint64_t off = 0, len = 0, bar_addr = 0, start, end, flags, z;
	int bar = -1, fd, n, f0 = fails;
	unsigned pos, hops = 0;
	volatile uint8_t *win;
	FILE *rf;
	double t;

	snprintf(path, sizeof(path), "%s/config", dev);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : (int)pread(fd, cfg, sizeof(cfg), 0);
	if (fd >= 0)
		close(fd);
	if (n != (int)sizeof(cfg)) {
		printf("DOMU: RESULT: shm: pci: cannot read 256 bytes of %s\n", path);
		return 1;
	}
	for (pos = cfg[0x34] & 0xfc; pos && pos < 0xe8 && hops++ < 48; pos = cfg[pos + 1] & 0xfc) {
		uint32_t o, l, oh, lh;

		if (cfg[pos] != 0x09 || cfg[pos + 3] != 8 || cfg[pos + 5] != 0 || cfg[pos + 2] < 24)
			continue;
		memcpy(&o, cfg + pos + 8, 4);
		memcpy(&l, cfg + pos + 12, 4);
		memcpy(&oh, cfg + pos + 16, 4);
		memcpy(&lh, cfg + pos + 20, 4);
		bar = cfg[pos + 4];
		off = (uint64_t)oh << 32 | o;
		len = (uint64_t)lh << 32 | l;
		printf("DOMU: RESULT: shm: pci: SHARED_MEMORY capability at 0x%02x: id 0, BAR %d, "
		       "offset 0x%" PRIx64 ", length 0x%" PRIx64 "\n",
		       pos, bar, off, len);
		break;
	}
	if (bar < 0 || bar > 5) {
		printf("DOMU: RESULT: shm: pci: NO SHARED_MEMORY capability for region 0\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/resource", dev);
	rf = fopen(path, "r");
	for (int i = 0; rf && fgets(line, sizeof(line), rf); i++)
		if (i == bar &&
		    sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &flags) == 3)
			bar_addr = start;
	if (rf)
		fclose(rf);
	snprintf(path, sizeof(path), "%s/enable", dev);
	fd = open(path, O_WRONLY);
	n = fd < 0 ? -1 : (int)write(fd, "1", 1);
	if (fd >= 0)
		close(fd);
	printf("DOMU: shm: pci: BAR %d at 0x%" PRIx64 ", memory decoding on (%s: %s)\n", bar,
	       bar_addr, path, n == 1 ? "ok" : strerror(errno));
	if (!bar_addr || len < 2 * maplen)
		return 1;
	fd = open("/dev/mem", O_RDWR | O_SYNC);
	win = map_phys(fd, bar_addr + off, len);
	t = wait_word(win, 1, limit);
	if (t < 0) {
		printf("DOMU: RESULT: shm: pci: the window's first word still reads 0 after %.0f "
		       "s\n",
		       limit);
		return 1;
	}
	check_pattern(win, maplen, 64, seed, "pci: the back-end's mapping");
	z = compare(win + maplen, 64, 8, -1, "pci: after the mapping") +
	    compare(win + len - 64, 64, 8, -1, "pci: the region's end");
	if (z) {
		fails++;
		printf("DOMU: RESULT: shm: pci: outside the mapping: %" PRIu64 " bytes are NOT 0\n",
		       z);
	} else {
		printf("DOMU: RESULT: shm: pci: outside the mapping: 128 bytes read 0\n");
	}
	printf("SHM-PROBE: PCI-UNMAP-NOW\n");
	t = wait_word(win, 0, limit);
	z = t < 0 ? 1 : compare(win, maplen, 64, -1, "pci: after UNMAP");
	if (z) {
		fails++;
		printf("DOMU: RESULT: shm: pci: after UNMAP: the mapping still shows (%" PRIu64
		       " bytes not 0)\n",
		       z);
	} else {
		printf("DOMU: RESULT: shm: pci: after UNMAP: 512 bytes read 0 (one 8-byte read in "
		       "every "
		       "64 bytes; gone %.2f s after the marker)\n",
		       t);
	}
	return fails - f0;
}

int main(int argc, char **argv)
{
	uint64_t base, maplen, len, gpa, maxmap;
	unsigned seed, n;
	double limit, t;
	volatile uint8_t *regs, *win;
	uint8_t *ram;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && !strcmp(argv[1], "pci")) {
		int f = pci_probe(argv[2], strtoull(argv[3], NULL, 0),
				  (unsigned)strtoul(argv[4], NULL, 0), atof(argv[5]));

		printf("DOMU: shm: shm-probe pci done: %d failure(s)\n", f);
		return f ? 1 : 0;
	}
	if (argc != 6) {
		fprintf(stderr,
			"usage: %s MMIO_BASE MAPLEN SEED N WAIT_S\n"
			"       %s pci /sys/bus/pci/devices/DEV MAPLEN SEED WAIT_S\n",
			argv[0], argv[0]);
		return 2;
	}
	base = strtoull(argv[1], NULL, 0);
	maplen = strtoull(argv[2], NULL, 0);
	seed = (unsigned)strtoul(argv[3], NULL, 0);
	n = (unsigned)strtoul(argv[4], NULL, 0);
	limit = atof(argv[5]);
	fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0) {
		printf("DOMU: RESULT: shm: open /dev/mem FAILED: %s\n", strerror(errno));
		return 1;
	}

	/* 1. the registers */
	regs = map_phys(fd, base, 0x1000);
	printf("DOMU: shm: virtio-mmio at 0x%" PRIx64 ": magic 0x%08x version %u device %u vendor "
	       "0x%08x\n",
	       base, rd32(regs + MAGIC), rd32(regs + VERSION), rd32(regs + DEVICE_ID),
	       rd32(regs + VENDOR_ID));
	wr32(regs + SHM_SEL, 1);
	printf("DOMU: shm: SHMSel 1: len 0x%08x%08x base 0x%08x%08x\n", rd32(regs + SHM_LEN_HI),
	       rd32(regs + SHM_LEN_LO), rd32(regs + SHM_BASE_HI), rd32(regs + SHM_BASE_LO));
	wr32(regs + SHM_SEL, 0);
	len = (uint64_t)rd32(regs + SHM_LEN_HI) << 32 | rd32(regs + SHM_LEN_LO);
	gpa = (uint64_t)rd32(regs + SHM_BASE_HI) << 32 | rd32(regs + SHM_BASE_LO);
	printf("DOMU: RESULT: shm: SHMSel 0: SHMLen 0x%" PRIx64 " SHMBase 0x%" PRIx64 "\n", len,
	       gpa);
	if (len == UINT64_MAX || len < 2 * maplen || (gpa & 0xfff) || (maplen & (maplen - 1))) {
		printf("DOMU: RESULT: shm: region 0 is not usable (len 0x%" PRIx64
		       ", need 0x%" PRIx64 "; MAPLEN must be a power of two)\n",
		       len, 2 * maplen);
		return 1;
	}

	/* 2. the window: wait for the back-end's mapping, compare it, and what is around */
	maxmap = len > (64u << 20) ? (64u << 20) : len;
	win = map_phys(fd, gpa, maxmap);
	printf("DOMU: shm: window mapped from /dev/mem (0x%" PRIx64 " bytes); first read\n",
	       maxmap);
	t = wait_word(win, 1, limit);
	if (t < 0) {
		printf("DOMU: RESULT: shm: the window's first word still reads 0 after %.0f s: "
		       "nothing mapped\n",
		       limit);
		return 1;
	}
	printf("DOMU: shm: the window's first word is 0x%08x (mapped; waited %.2f s)\n", rd32(win),
	       t);
	check_pattern(win, maplen, 8, seed, "the back-end's mapping");
	{
		uint64_t z1 = compare(win + maplen, 64, 8, -1, "after the mapping");
		uint64_t z2 = compare(win + maxmap - 64, 64, 8, -1, "the window's end");

		if (z1 || z2) {
			fails++;
			printf("DOMU: RESULT: shm: outside the mapping: %" PRIu64 " + %" PRIu64
			       " bytes are NOT 0\n",
			       z1, z2);
		} else {
			printf("DOMU: RESULT: shm: outside the mapping: 128 bytes read 0 (the 64 "
			       "after "
			       "it and the window's last 64)\n");
		}
	}

	/* 3. the cost per access: the same ldr w on each */
	ram = malloc(maplen);
	memset(ram, 1, maplen);
	{
		double c_reg = cost(regs + MAGIC, 4, n);
		double c_win = cost(win, maplen, n);
		double c_zero = cost(win + maplen, maplen, n);
		double c_ram = cost(ram, maplen, n);

		printf("DOMU: RESULT: shm: cost per 4-byte read (%u reads each): shared-memory "
		       "window "
		       "(mapped) %.0f ns, window (unmapped part) %.0f ns, virtio-mmio register "
		       "(MagicValue) %.0f ns, guest RAM %.1f ns; window/register %.2f, "
		       "window/RAM %.0f, register/RAM %.0f\n",
		       n, c_win, c_zero, c_reg, c_ram, c_win / c_reg, c_win / c_ram, c_reg / c_ram);
	}

	/* 4. the back-end unmaps: the window reads 0 */
	printf("SHM-PROBE: UNMAP-NOW\n");
	t = wait_word(win, 0, limit);
	if (t < 0) {
		fails++;
		printf("DOMU: RESULT: shm: after UNMAP: the first word still reads 0x%08x after "
		       "%.0f s\n",
		       rd32(win), limit);
	} else {
		uint64_t z = compare(win, maplen, 8, -1, "after UNMAP");

		if (z) {
			fails++;
			printf("DOMU: RESULT: shm: after UNMAP: %" PRIu64 " of %" PRIu64
			       " bytes are NOT 0\n",
			       z, maplen);
		} else {
			printf("DOMU: RESULT: shm: after UNMAP: all %" PRIu64
			       " bytes read 0 (gone %.2f s after the marker)\n",
			       maplen, t);
		}
	}

	/* 5. the back-end maps again */
	printf("SHM-PROBE: MAP-AGAIN\n");
	t = wait_word(win, 1, limit);
	if (t < 0) {
		fails++;
		printf("DOMU: RESULT: shm: after MAP again: the first word still reads 0 after "
		       "%.0f s\n",
		       limit);
	} else {
		printf("DOMU: shm: mapped again %.2f s after the marker\n", t);
		check_pattern(win, maplen, 64, seed, "mapped again");
	}
	printf("DOMU: shm: shm-probe done: %d failure(s)\n", fails);
	return fails ? 1 : 0;
}
