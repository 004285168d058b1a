/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: thin wrappers over g_log with one log domain per directory. A file sets
 * XVDM_LOG_DOMAIN before including this header (meson does it per library:
 * common, xen, vmmio, vdev, vmm). Device lines carry "dom<N>/<device>:".
 *
 *   G_MESSAGES_DEBUG=vmmio,xen xvdm ...     debug output of two layers
 *   xvdm -v                                debug output of every layer
 */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <glib.h>

#ifndef XVDM_LOG_DOMAIN
#define XVDM_LOG_DOMAIN "xvdm"
#endif

#define log_debug(...) g_log(XVDM_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  g_log(XVDM_LOG_DOMAIN, G_LOG_LEVEL_INFO, __VA_ARGS__)
#define log_msg(...)   g_log(XVDM_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, __VA_ARGS__)
#define log_warn(...)  g_log(XVDM_LOG_DOMAIN, G_LOG_LEVEL_WARNING, __VA_ARGS__)
/* Never G_LOG_LEVEL_ERROR (it aborts) nor CRITICAL for peer-controlled input. */

/*
 * Rate-limited warning for anything a guest or peer can trigger at will: at most
 * `burst` lines per 5 s per call site, then one "suppressed" line.
 */
struct log_ratelimit {
	gint64 window_start;
	unsigned printed;
	unsigned suppressed;
};

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst);

#define log_warn_rl(...)                         \
	do {                                     \
		static struct log_ratelimit rl_; \
		if (log_ratelimit_ok(&rl_, 10))  \
			log_warn(__VA_ARGS__);   \
	} while (0)

/* Set up the log handler of the program: level names, timestamps, -v / -q. */
void log_setup(int verbosity);
