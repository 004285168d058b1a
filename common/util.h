/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every layer. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <glib.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* true when [off, off + len) lies inside [0, size), without overflow. */
static inline bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static inline bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * A number (decimal, 0x hex, 0 octal) with an optional K/M/G suffix (binary units), at
 * most max; no sign, nothing after. The operator-input parser of every layer.
 */
bool parse_u64_size(const char *s, uint64_t max, uint64_t *ret);

/*
 * g_unix_fd_source_new() for a hot fd (ioreqs, back-end calls), marked can-recurse. GLib
 * 2.74 takes a source's fds out of the poll set around every dispatch of a source that
 * cannot recurse and puts them back after it (block_source/unblock_source), and each
 * change writes the context's wake-up eventfd: two writes, and one read plus an extra
 * poll() in the next iteration, per event. xvdm never iterates the main loop from inside
 * a callback, so no source can be re-entered and the blocking buys nothing.
 */
GSource *fd_source_new(int fd, GIOCondition cond);
