/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xen/: the guest RAM layout handed to back-ends that map guest memory (F_XEN_MMAP). */
#include "common/gmem.h"
#include "xen/xh.h"

#if defined(__aarch64__) || defined(__arm__)
#define LOW_BASE 0x40000000ULL
#define LOW_MAX	 0xc0000000ULL
#define HIGH	 0x200000000ULL
#else
#define LOW_BASE 0x0ULL
#define LOW_MAX	 0xf0000000ULL
#define HIGH	 0x100000000ULL
#endif

static void layout_small(void)
{
	struct gmem_region r[2];

	g_assert_cmpint(xh_ram_layout(192ULL << 20, r, 2), ==, 1);
	g_assert_cmphex(r[0].gpa, ==, LOW_BASE);
	g_assert_cmphex(r[0].size, ==, 192ULL << 20);
}

static void layout_two_banks(void)
{
	struct gmem_region r[2];
	uint64_t mem = LOW_MAX + (1ULL << 30);

	g_assert_cmpint(xh_ram_layout(mem, r, 2), ==, 2);
	g_assert_cmphex(r[0].gpa, ==, LOW_BASE);
	g_assert_cmphex(r[0].size, ==, LOW_MAX);
	g_assert_cmphex(r[1].gpa, ==, HIGH);
	g_assert_cmphex(r[1].size, ==, 1ULL << 30);
	/* exactly the low bank: no empty second bank */
	g_assert_cmpint(xh_ram_layout(LOW_MAX, r, 2), ==, 1);
}

static void layout_limits(void)
{
	struct gmem_region r[2];

	g_assert_cmpint(xh_ram_layout(0, r, 2), ==, 0);
	g_assert_cmpint(xh_ram_layout(LOW_MAX + 4096, r, 1), ==, 1); /* max respected */
	g_assert_cmpint(xh_ram_layout(UINT64_MAX, r, 2), ==, 2);     /* no overflow */
	g_assert_cmphex(r[1].gpa + r[1].size, >, r[1].gpa);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/xen/ram-layout/small", layout_small);
	g_test_add_func("/xen/ram-layout/two-banks", layout_two_banks);
	g_test_add_func("/xen/ram-layout/limits", layout_limits);
	return g_test_run();
}
