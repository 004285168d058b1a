/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for the simulated-hypervisor tier. Trust boundary: the child is the
 * program under test; its exit status is reported, never assumed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "tests/xensim/sim.h"

extern char **environ;

/* For the signal handlers: the children of this test process, and the test's files. */
static volatile pid_t child_pid;
static volatile pid_t aux_pids[SIM_MAX_AUX];
static struct sim *volatile current;

static void on_fatal_signal(int sig)
{
	static const char msg[] = "FAIL: watchdog or signal; killing the device model\n";
	struct sim *s = current;
	pid_t p = child_pid;

	if (p > 0)
		kill(p, SIGKILL);
	for (unsigned i = 0; i < SIM_MAX_AUX; i++) {
		if (aux_pids[i] > 0)
			kill(aux_pids[i], SIGKILL);
	}
	/* unlink() and rmdir() are async-signal-safe; the list is only appended to. */
	for (unsigned i = 0; s && i < s->nfiles; i++)
		unlink(s->files[i]);
	if (s && s->dir[0])
		rmdir(s->dir);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(sig == SIGALRM ? 2 : 1);
}

void sim_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void cleanup(struct sim *s)
{
	int st;

	if (s->pid > 0 && !s->exited) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &st, 0);
	}
	s->pid = 0;
	child_pid = 0;
	for (unsigned i = 0; i < SIM_MAX_AUX; i++) {
		if (s->aux[i] > 0) {
			kill(s->aux[i], SIGKILL);
			waitpid(s->aux[i], &st, 0);
		}
		s->aux[i] = 0;
		aux_pids[i] = 0;
	}
	current = NULL;
	for (unsigned i = 0; i < s->nfiles; i++) {
		unlink(s->files[i]);
		g_free(s->files[i]);
	}
	s->nfiles = 0;
	if (s->dir[0])
		rmdir(s->dir);
	s->dir[0] = '\0';
}

const char *sim_status_str(int status)
{
	static char buf[64];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "wait status 0x%x", status);
	return buf;
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: %s: ", s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (s->pid > 0 && !sim_alive(s))
		fprintf(stderr, "(the device model is no longer running: %s)\n",
			sim_status_str(s->status));
	if (s->hv) {
		hv_log_dump(s->hv, stderr);
		hv_xs_dump(s->hv, stderr);
	}
	cleanup(s);
	fflush(NULL);
	/* Other threads may still run: no atexit handlers, no leak check of a half test. */
	_exit(1);
}

void sim_pass(struct sim *s)
{
	cleanup(s);
	hv_free(s->hv);
	s->hv = NULL;
	free((char *)s->program);
	free((char *)s->preload);
	printf("PASS: %s\n", s->name);
	fflush(NULL);
	exit(0);
}

void sim_skip(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	cleanup(s);
	hv_free(s->hv);
	s->hv = NULL;
	printf("SKIP: %s: ", s->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(NULL);
	_exit(77); /* as sim_fail: other threads of the test may still run */
}

void sim_init(struct sim *s, const char *name, int argc, char **argv, unsigned watchdog_s)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };

	memset(s, 0, sizeof(*s));
	s->name = name;
	current = s;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: %s <program under test> <libxensim.so>\n", argv[0]);
		exit(2);
	}
	/* Absolute paths: the child may change directory, LD_PRELOAD must still work. */
	s->program = argv[1][0] ? realpath(argv[1], NULL) : NULL;
	s->preload = realpath(argv[2], NULL);
	if (!s->program || access(s->program, X_OK)) {
		printf("SKIP: %s: program under test not built (%s)\n", name,
		       argv[1][0] ? argv[1] : "no path");
		exit(77);
	}
	if (!s->preload) {
		fprintf(stderr, "%s: %s: %s\n", name, argv[2], strerror(errno));
		exit(2);
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(watchdog_s);

	snprintf(s->dir, sizeof(s->dir), "/tmp/xensim-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		sim_fail(s, "mkdtemp: %s", strerror(errno));
	}
	s->hv = hv_new(sim_path(s, "hv.sock"));
	if (!s->hv)
		sim_fail(s, "cannot start the simulated hypervisor");
}

const char *sim_path(struct sim *s, const char *file)
{
	char *p = g_strdup_printf("%s/%s", s->dir, file);

	if (s->nfiles < SIM_MAX_FILES)
		s->files[s->nfiles++] = p;
	return p;
}

void sim_write_file(struct sim *s, const char *path, const char *content)
{
	GError *err = NULL;

	if (!g_file_set_contents(path, content, -1, &err))
		sim_fail(s, "write %s: %s", path, err->message);
}

/*
 * The child's environment: ours, with LD_PRELOAD and XENSIM_SOCKET set. Entries from
 * *ret_own on are ours to free.
 */
static GPtrArray *child_env(struct sim *s, bool preload, unsigned *ret_own)
{
	const char *asan = getenv("XENSIM_ASAN_RUNTIME");
	const char *asan_opts = getenv("ASAN_OPTIONS");
	GPtrArray *env = g_ptr_array_new();

	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "XENSIM_SOCKET=", 14) &&
		    strncmp(*e, "ASAN_OPTIONS=", 13))
			g_ptr_array_add(env, *e);
	}
	*ret_own = env->len;
	if (!preload) {
		if (asan_opts)
			g_ptr_array_add(env, g_strdup_printf("ASAN_OPTIONS=%s", asan_opts));
		g_ptr_array_add(env, NULL);
		return env;
	}
	/* ASan wants its runtime first among the preloaded objects (meson -Dsanitize). */
	if (asan && asan[0] == '/')
		g_ptr_array_add(env, g_strdup_printf("LD_PRELOAD=%s %s", asan, s->preload));
	else
		g_ptr_array_add(env, g_strdup_printf("LD_PRELOAD=%s", s->preload));
	if (asan)
		g_ptr_array_add(env,
				g_strdup_printf("ASAN_OPTIONS=%s%sverify_asan_link_order=0",
						asan_opts ? asan_opts : "", asan_opts ? ":" : ""));
	else if (asan_opts)
		g_ptr_array_add(env, g_strdup_printf("ASAN_OPTIONS=%s", asan_opts));
	g_ptr_array_add(env, g_strdup_printf("XENSIM_SOCKET=%s", hv_socket_path(s->hv)));
	g_ptr_array_add(env, NULL);
	return env;
}

void sim_spawn(struct sim *s, const char *const *args)
{
	GPtrArray *argv = g_ptr_array_new();
	unsigned own;
	GPtrArray *env = child_env(s, true, &own);
	const char *verbose = getenv("XENSIM_VERBOSE");
	pid_t parent = getpid(), pid;
	GString *line = g_string_new(s->program);

	g_ptr_array_add(argv, (char *)s->program);
	if (verbose && !strcmp(verbose, "1"))
		g_ptr_array_add(argv, "-v");
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	for (unsigned i = 1; i + 1 < argv->len; i++)
		g_string_append_printf(line, " %s", (char *)g_ptr_array_index(argv, i));
	sim_note("starting %s", line->str);
	g_string_free(line, TRUE);

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sim_fail(s, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls here: the parent has threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		execve(s->program, (char **)argv->pdata, (char **)env->pdata);
		_exit(127);
	}
	s->pid = pid;
	s->exited = false;
	child_pid = pid;
	g_ptr_array_free(argv, TRUE);
	for (unsigned i = own; i < env->len; i++)
		g_free(g_ptr_array_index(env, i));
	g_ptr_array_free(env, TRUE);
}

pid_t sim_spawn_aux(struct sim *s, const char *const *argv, bool preload)
{
	unsigned own, slot;
	GPtrArray *env;
	GString *line = g_string_new(argv[0]);
	pid_t parent = getpid(), pid;

	for (slot = 0; slot < SIM_MAX_AUX && s->aux[slot]; slot++)
		;
	if (slot == SIM_MAX_AUX)
		sim_fail(s, "more than %d helper processes", SIM_MAX_AUX);
	for (const char *const *a = argv + 1; *a; a++)
		g_string_append_printf(line, " %s", *a);
	sim_note("starting %s%s", line->str, preload ? " (libxensim.so preloaded)" : "");
	g_string_free(line, TRUE);
	env = child_env(s, preload, &own);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		sim_fail(s, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls here: the parent has threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		execve(argv[0], (char **)argv, (char **)env->pdata);
		_exit(127);
	}
	s->aux[slot] = pid;
	aux_pids[slot] = pid;
	for (unsigned i = own; i < env->len; i++)
		g_free(g_ptr_array_index(env, i));
	g_ptr_array_free(env, TRUE);
	return pid;
}

static void aux_forget(struct sim *s, pid_t pid)
{
	for (unsigned i = 0; i < SIM_MAX_AUX; i++) {
		if (s->aux[i] == pid) {
			s->aux[i] = 0;
			aux_pids[i] = 0;
		}
	}
}

bool sim_aux_alive(struct sim *s, pid_t pid, int *ret_status)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return true;
	aux_forget(s, pid);
	if (ret_status)
		*ret_status = st;
	return false;
}

int sim_aux_stop(struct sim *s, pid_t pid, int sig, int timeout_ms)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int st = 0;

	if (sig)
		kill(pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		if (!sim_aux_alive(s, pid, &st))
			return st;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	sim_fail(s, "helper process %d did not end within %d ms of signal %d", (int)pid, timeout_ms,
		 sig);
}

void sim_aux_stop_ok(struct sim *s, pid_t pid, const char *what, int timeout_ms)
{
	int st = sim_aux_stop(s, pid, SIGTERM, timeout_ms);

	if (!WIFEXITED(st) || WEXITSTATUS(st))
		sim_fail(s, "%s after SIGTERM: %s", what, sim_status_str(st));
}

bool sim_alive(struct sim *s)
{
	if (s->pid <= 0 || s->exited)
		return false;
	if (waitpid(s->pid, &s->status, WNOHANG) != s->pid)
		return true;
	s->exited = true;
	child_pid = 0;
	return false;
}

int sim_terminate(struct sim *s, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int st = 0;
	pid_t r;

	if (s->pid <= 0)
		sim_fail(s, "no device model to terminate");
	if (s->exited)
		sim_fail(s, "the device model exited before SIGTERM: %s",
			 sim_status_str(s->status));
	kill(s->pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			s->exited = true;
			s->status = st;
			child_pid = 0;
			return st;
		}
		if (r < 0)
			sim_fail(s, "waitpid: %s", strerror(errno));
		nanosleep(&ts, NULL);
	}
	sim_fail(s, "the device model did not exit within %d ms of SIGTERM", timeout_ms);
}

void sim_terminate_ok(struct sim *s, int timeout_ms)
{
	int st = sim_terminate(s, timeout_ms);

	if (!WIFEXITED(st) || WEXITSTATUS(st))
		sim_fail(s, "xvdm after SIGTERM: %s", sim_status_str(st));
}

int sim_wait_exit(struct sim *s, int timeout_ms)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	for (int waited = 0; waited < timeout_ms; waited += 5) {
		if (!sim_alive(s))
			return s->status;
		nanosleep(&ts, NULL);
	}
	sim_fail(s, "the program did not exit within %d ms", timeout_ms);
}

/* Waits in slices so that a dead device model fails the test at once. */
#define SLICE_MS 100

void sim_wait_served(struct sim *s, struct xs_dom *d, uint64_t addr, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += SLICE_MS) {
		if (!hv_dom_wait_served(d, addr, SLICE_MS))
			return;
		if (!sim_alive(s))
			sim_fail(s, "the device model exited (%s) before 0x%" PRIx64 " was served",
				 sim_status_str(s->status), addr);
	}
	sim_fail(s, "0x%" PRIx64 " not served (mapped, enabled, %u ports bound) after %d ms", addr,
		 hv_dom_nr_vcpus(d), timeout_ms);
}

void sim_wait_xs(struct sim *s, const char *path, const char *value, int timeout_ms)
{
	char *now;

	for (int waited = 0; waited < timeout_ms; waited += SLICE_MS) {
		if (!hv_xs_wait(s->hv, path, value, SLICE_MS))
			return;
		if (!sim_alive(s))
			sim_fail(s, "the device model exited (%s) before %s = %s",
				 sim_status_str(s->status), path, value ? value : "(removed)");
	}
	now = hv_xs_read(s->hv, 0, path);
	sim_fail(s, "%s is %s%s%s after %d ms, want %s", path, now ? "\"" : "",
		 now ? now : "absent", now ? "\"" : "", timeout_ms, value ? value : "absent");
}

bool sim_has_device(struct sim *s, const char *type)
{
	const char *argv[] = { s->program, "--list-devices", NULL };
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;
	int status = 0;

	/* Bounded by the test's watchdog; --list-devices does not touch Xen. */
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
			  NULL, &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL))
		return false;
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = g_strsplit_set(g_strstrip(*l), " \t", 2);

		if (w[0] && !strcmp(w[0], type))
			return true;
	}
	return false;
}

/* /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path"; listening: 0x10000. */
static bool listening(const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents("/proc/net/unix", &text, NULL, NULL))
		return false;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		unsigned long flags;
		char p[256];

		if (sscanf(*l, "%*s %*s %*s %lx %*s %*s %*s %255s", &flags, p) == 2 &&
		    (flags & 0x10000) && !strcmp(p, path))
			return true;
	}
	return false;
}

void sim_wait_listen(struct sim *s, const char *path, pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int st;

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (listening(path))
			return;
		if (pid > 0 && !sim_aux_alive(s, pid, &st))
			sim_fail(s, "helper %d exited (%s) before listening on %s", (int)pid,
				 sim_status_str(st), path);
		nanosleep(&ts, NULL);
	}
	sim_fail(s, "nothing listens on %s after %d ms", path, timeout_ms);
}
