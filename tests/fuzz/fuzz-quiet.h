/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every fuzz target feeds peer- or guest-controlled garbage, which xvdm reports with
 * (rate-limited) warnings by design: drop them so the fuzzer's own output stays readable.
 * Set FUZZ_LOG=1 to see them.
 */
#pragma once

#include <glib.h>

static GLogWriterOutput fuzz_drop_logs(GLogLevelFlags level, const GLogField *fields, gsize n,
				       gpointer data)
{
	return G_LOG_WRITER_HANDLED;
}

static inline void fuzz_quiet_logs(void)
{
	if (!g_getenv("FUZZ_LOG"))
		g_log_set_writer_func(fuzz_drop_logs, NULL, NULL);
}
