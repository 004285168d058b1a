/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every layer (common/util.h). */
#include <errno.h>
#include <glib.h>
#include <glib-unix.h>

#include "common/util.h"

bool parse_u64_size(const char *s, uint64_t max, uint64_t *ret)
{
	char *end = NULL;
	guint64 v, mul = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	if (*end == 'K' || *end == 'k')
		mul = 1ULL << 10;
	else if (*end == 'M')
		mul = 1ULL << 20;
	else if (*end == 'G')
		mul = 1ULL << 30;
	if (mul > 1)
		end++;
	if (*end || v > max / mul)
		return false;
	*ret = v * mul;
	return true;
}

GSource *fd_source_new(int fd, GIOCondition cond)
{
	GSource *s = g_unix_fd_source_new(fd, cond);

	g_source_set_can_recurse(s, TRUE);
	return s;
}
