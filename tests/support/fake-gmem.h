/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fake guest memory for unit tests and fuzz targets: a struct gmem over one plain
 * buffer of `size` bytes that the guest sees at [base, base + size). Anything outside
 * is -EFAULT (as the real implementation answers for what is not guest RAM), a range
 * that wraps is -EINVAL. It counts accesses, can be told to fail, and can call a hook
 * before each access (a fuzz target uses it to change "guest" memory under the device).
 *
 *	struct fake_gmem *fg = fake_gmem_new(0x10000, 0x10000);
 *	uint16_t *idx = fake_gmem_ptr(fg, 0x11002, 2);
 *	... use &fg->gmem ...
 *	fake_gmem_free(fg);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gmem.h"

struct fake_gmem {
	struct gmem gmem;
	uint64_t base;
	size_t size;
	uint8_t *mem; /* size bytes, zeroed at creation */

	/* counters */
	unsigned reads;
	unsigned writes;
	unsigned invalidates;

	/* failure injection: when fail_err != 0, the access after fail_after more
	 * successful ones (and every one after it) returns fail_err */
	int fail_err;
	unsigned fail_after;
	/* a hole: [hole_gpa, hole_gpa + hole_len) is -EFAULT too */
	uint64_t hole_gpa;
	uint64_t hole_len;

	/* called before every read/write (after the counters); may change mem */
	void (*on_access)(struct fake_gmem *fg, bool write, uint64_t gpa, size_t len);
};

struct fake_gmem *fake_gmem_new(uint64_t base, size_t size);
void fake_gmem_free(struct fake_gmem *fg); /* NULL-safe */

/* A host pointer to [gpa, gpa + len), or NULL when that is not inside the buffer. */
void *fake_gmem_ptr(struct fake_gmem *fg, uint64_t gpa, size_t len);

/* Little-endian helpers for building rings in tests; they fail the test when out of range. */
void fake_gmem_put16(struct fake_gmem *fg, uint64_t gpa, uint16_t v);
void fake_gmem_put32(struct fake_gmem *fg, uint64_t gpa, uint32_t v);
void fake_gmem_put64(struct fake_gmem *fg, uint64_t gpa, uint64_t v);
uint16_t fake_gmem_get16(struct fake_gmem *fg, uint64_t gpa);
uint32_t fake_gmem_get32(struct fake_gmem *fg, uint64_t gpa);
