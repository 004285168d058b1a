/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log handler and rate limiting. Trust boundary: none (formats our own strings).
 * The rate-limit state lives at each call site; xvdm is single-threaded, so the one
 * global here is the verbosity (STYLE.md allows the log level as global state).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "common/log.h"

static int log_verbosity;

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst)
{
	gint64 now = g_get_monotonic_time();

	if (now - rl->window_start > 5 * G_USEC_PER_SEC) {
		if (rl->suppressed)
			g_log(XVDM_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
			      "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}

static const char *level_name(GLogLevelFlags level)
{
	switch (level & G_LOG_LEVEL_MASK) {
	case G_LOG_LEVEL_ERROR:
		return "error";
	case G_LOG_LEVEL_CRITICAL:
		return "critical";
	case G_LOG_LEVEL_WARNING:
		return "warning";
	case G_LOG_LEVEL_MESSAGE:
		return "notice";
	case G_LOG_LEVEL_INFO:
		return "info";
	default:
		return "debug";
	}
}

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
				   gpointer user_data)
{
	const char *domain = NULL, *message = NULL;
	struct timespec ts;
	gsize i;

	for (i = 0; i < n_fields; i++) {
		if (!strcmp(fields[i].key, "GLIB_DOMAIN"))
			domain = fields[i].value;
		else if (!strcmp(fields[i].key, "MESSAGE"))
			message = fields[i].value;
	}
	if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))) {
		bool wanted =
			log_verbosity >= 2 || ((level & G_LOG_LEVEL_INFO) && log_verbosity >= 1);

		if (!wanted && g_log_writer_default_would_drop(level, domain))
			return G_LOG_WRITER_HANDLED;
	} else if (log_verbosity < 0 && (level & G_LOG_LEVEL_MESSAGE)) {
		return G_LOG_WRITER_HANDLED;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "[%5ld.%03ld] xvdm %s: %s%s%s\n", (long)ts.tv_sec, ts.tv_nsec / 1000000,
		level_name(level), domain ? domain : "", domain ? ": " : "",
		message ? message : "");
	return G_LOG_WRITER_HANDLED;
}

void log_setup(int verbosity)
{
	log_verbosity = verbosity;
	g_log_set_writer_func(log_writer, NULL, NULL);
}
