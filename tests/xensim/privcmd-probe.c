/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensim-privcmd-probe: run by sim-privcmd with libxensim.so preloaded, it uses
 * /dev/xen/privcmd the way a vhost-user back-end with F_XEN_MMAP does (rust-vmm
 * vm-memory's MmapXenForeign: mmap the fd, then IOCTL_PRIVCMD_MMAPBATCH_V2 with
 * pfn = gpa / 4096 and the domid) and checks the privcmd rules the emulation keeps.
 *
 *   xensim-privcmd-probe DOMID GPA PAGES INHERITED_FD SUM
 *
 * Maps [GPA, GPA + PAGES pages) once through its own open() and once through
 * INHERITED_FD (a privcmd fd the test opened: recognised without an open() here), checks
 * that both show the same bytes and that their checksum is SUM (hex, computed by the test
 * from guest RAM), then writes "probe" at the start of the first page and at the end of
 * the last.
 * Exit 0 if every check held; otherwise a message on stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/backends/privcmd-abi.h"

#define PAGE 4096u

static int batch(int fd, uint16_t dom, void *addr, const uint64_t *pfns, unsigned n, int *err)
{
	struct privcmd_mmapbatch_v2 m = {
		.num = n, .dom = dom, .addr = (uintptr_t)addr, .arr = pfns, .err = err
	};

	return ioctl(fd, IOCTL_PRIVCMD_MMAPBATCH_V2, &m);
}

static void *map_range(int fd, uint16_t dom, uint64_t gpa, unsigned pages)
{
	uint64_t *pfns = calloc(pages, sizeof(*pfns));
	int *err = calloc(pages, sizeof(*err));
	void *p;

	for (unsigned i = 0; i < pages; i++)
		pfns[i] = gpa / PAGE + i;
	p = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "probe: mmap privcmd fd %d: %s\n", fd, strerror(errno));
		exit(1);
	}
	if (batch(fd, dom, p, pfns, pages, err) < 0) {
		fprintf(stderr, "probe: MMAPBATCH_V2: %s\n", strerror(errno));
		exit(1);
	}
	for (unsigned i = 0; i < pages; i++) {
		if (err[i]) {
			fprintf(stderr, "probe: page %u: err %d\n", i, err[i]);
			exit(1);
		}
	}
	/* privcmd: a populated area takes further batches only for its holes. */
	if (batch(fd, dom, p, pfns, 1, err) == 0 || errno != EINVAL) {
		fprintf(stderr, "probe: a second batch over mapped pages was not refused\n");
		exit(1);
	}
	free(pfns);
	free(err);
	return p;
}

/* A batch with a frame that is not RAM: err[] names it, the others map. */
static void check_hole(int fd, uint16_t dom, uint64_t gpa)
{
	uint64_t pfns[3] = { gpa / PAGE, 0xfffffff0ULL, gpa / PAGE + 1 };
	int err[3] = { 7, 7, 7 };
	uint8_t *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int ret;

	if (p == MAP_FAILED || batch(fd, dom, p + PAGE, pfns, 1, err) == 0 || errno != EINVAL) {
		fprintf(stderr, "probe: a first batch not covering the whole area was accepted\n");
		exit(1);
	}
	ret = batch(fd, dom, p, pfns, 3, err);
	if (ret || err[0] || err[1] != -EINVAL || err[2]) {
		fprintf(stderr, "probe: batch with a hole: ret %d err %d %d %d\n", ret, err[0],
			err[1], err[2]);
		exit(1);
	}
	munmap(p, 3 * PAGE);
}

int main(int argc, char **argv)
{
	uint16_t dom;
	uint64_t gpa, want, sum = 0;
	unsigned pages;
	int fd, fd2;
	uint8_t *a, *b;

	if (argc != 6) {
		fprintf(stderr, "usage: %s DOMID GPA PAGES INHERITED_FD SUM\n", argv[0]);
		return 2;
	}
	dom = (uint16_t)strtoul(argv[1], NULL, 0);
	gpa = strtoull(argv[2], NULL, 0);
	pages = (unsigned)strtoul(argv[3], NULL, 0);
	fd2 = atoi(argv[4]);
	want = strtoull(argv[5], NULL, 16);
	fd = open(PRIVCMD_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "probe: open %s: %s\n", PRIVCMD_DEV, strerror(errno));
		return 1;
	}
	a = map_range(fd, dom, gpa, pages);
	b = map_range(fd2, dom, gpa, pages);
	if (memcmp(a, b, (size_t)pages * PAGE)) {
		fprintf(stderr, "probe: two mappings of the same frames differ\n");
		return 1;
	}
	check_hole(fd, dom, gpa);
	for (size_t i = 0; i < (size_t)pages * PAGE; i++)
		sum = sum * 31 + a[i];
	if (sum != want) {
		fprintf(stderr, "probe: checksum %016" PRIx64 ", guest RAM has %016" PRIx64 "\n",
			sum, want);
		return 1;
	}
	memcpy(a, "probe", 5);
	memcpy(b + (size_t)pages * PAGE - 5, "probe", 5);
	if (memcmp(a + (size_t)pages * PAGE - 5, "probe", 5)) {
		fprintf(stderr, "probe: a write through one mapping is not seen by the other\n");
		return 1;
	}
	munmap(a, (size_t)pages * PAGE);
	munmap(b, (size_t)pages * PAGE);
	close(fd);
	close(fd2);
	return 0;
}
