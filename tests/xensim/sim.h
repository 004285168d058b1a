/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The harness of the simulated-hypervisor tests: a private directory, the hypervisor, the
 * device model under test as a child process with libxensim.so preloaded, a watchdog, and
 * failure handling that never leaves a child behind (SIGKILL on failure, on a signal, on
 * the watchdog, and PR_SET_PDEATHSIG if the test itself dies).
 *
 * A test is run by meson as `test <program> <libxensim.so>`; `program` is xvdm or the
 * self-test's mini device model, empty if it was not built (the test then exits 77, skip).
 * Environment: XENSIM_ASAN_RUNTIME (set by meson with -Dsanitize=true): the ASan runtime
 * to preload first; XENSIM_VERBOSE=1: pass -v to the program.
 */
#pragma once

#include <stdbool.h>
#include <stdnoreturn.h>
#include <sys/types.h>

#include "tests/xensim/hv.h"

#define SIM_MAX_FILES 16
#define SIM_MAX_AUX   8

struct sim {
	const char *name;    /* test name for messages */
	const char *program; /* the device model under test */
	const char *preload; /* libxensim.so */
	char dir[64];
	char *files[SIM_MAX_FILES]; /* removed at the end */
	unsigned nfiles;
	struct hv *hv;
	pid_t pid;		/* the device model, 0 if none */
	bool exited;		/* it exited (status below) */
	int status;		/* its wait status once exited */
	pid_t aux[SIM_MAX_AUX]; /* other processes of the test (back-ends); 0 = free slot */
};

/*
 * Parse argv, arm the watchdog (seconds), make the directory, start the hypervisor.
 * Exits 77 when the program under test is not available.
 */
void sim_init(struct sim *s, const char *name, int argc, char **argv, unsigned watchdog_s);
/* A path inside the test's directory (removed at the end); the string lives until exit. */
const char *sim_path(struct sim *s, const char *file);
void sim_write_file(struct sim *s, const char *path, const char *content);

/* Start the program with args (NULL-terminated, without argv[0]); sets s->pid. */
void sim_spawn(struct sim *s, const char *const *args);
/* Still running? (Reaps it if not; s->status is then valid.) */
bool sim_alive(struct sim *s);
/* SIGTERM, wait up to timeout_ms; returns the wait status (fails the test on timeout). */
int sim_terminate(struct sim *s, int timeout_ms);
/* sim_terminate, and the test fails unless the program exited with status 0. */
void sim_terminate_ok(struct sim *s, int timeout_ms);
/* Wait up to timeout_ms for the program to exit by itself; its wait status (fails on timeout). */
int sim_wait_exit(struct sim *s, int timeout_ms);

/*
 * Another process of the test, e.g. a vhost-user back-end: argv[0] is the program. With
 * `preload`, it runs with libxensim.so (and the ASan runtime) preloaded and
 * XENSIM_SOCKET set, like the program under test. It is killed (SIGKILL) when the test
 * fails, gets a signal or ends; PR_SET_PDEATHSIG covers the test dying. Returns its pid.
 */
pid_t sim_spawn_aux(struct sim *s, const char *const *argv, bool preload);
/* Still running? (Reaps it if not, *ret_status then holds its wait status.) */
bool sim_aux_alive(struct sim *s, pid_t pid, int *ret_status);
/* Send sig (if not 0) and wait up to timeout_ms for it to end: its wait status (fails the
 * test on timeout, after SIGKILL). */
int sim_aux_stop(struct sim *s, pid_t pid, int sig, int timeout_ms);
/* SIGTERM to a helper; the test fails unless it exited with status 0 (`what` names it). */
void sim_aux_stop_ok(struct sim *s, pid_t pid, const char *what, int timeout_ms);
/*
 * Does `program --list-devices` name device type `type`? (For tests of a device xvdm
 * may not have yet: they exit 77 until it does.)
 */
bool sim_has_device(struct sim *s, const char *type);
/*
 * Wait until a unix socket listens at path (/proc/net/unix), failing the test if helper
 * pid (0: none) dies first or timeout_ms passes. Connecting to probe would count as a
 * front-end for back-ends that serve one at a time.
 */
void sim_wait_listen(struct sim *s, const char *path, pid_t pid, int timeout_ms);
/* "exit status 3", "killed by signal 11" */
const char *sim_status_str(int status);

/*
 * Bounded waits that also fail at once, with the exit status, if the device model dies:
 * until addr is served (hv_dom_wait_served), until path holds value (hv_xs_wait).
 */
void sim_wait_served(struct sim *s, struct xs_dom *d, uint64_t addr, int timeout_ms);
void sim_wait_xs(struct sim *s, const char *path, const char *value, int timeout_ms);

/* Report, dump the hypervisor's log and xenstore, kill the child, clean up, exit 1. */
noreturn __attribute__((format(printf, 2, 3))) void sim_fail(struct sim *s, const char *fmt, ...);
/* Clean up and exit 0 (PASS). */
noreturn void sim_pass(struct sim *s);
/* Clean up and exit 77 (SKIP) with the reason, for what is only known once running. */
noreturn __attribute__((format(printf, 2, 3))) void sim_skip(struct sim *s, const char *fmt, ...);

#define SIM_CHECK(s, cond, ...)                   \
	do {                                      \
		if (!(cond))                      \
			sim_fail(s, __VA_ARGS__); \
	} while (0)

/* Progress line on stdout ("# ..."), for the test log. */
__attribute__((format(printf, 1, 2))) void sim_note(const char *fmt, ...);
