/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-dm: xvdm started the way libxl starts a device model (device_model_override):
 * libxl's exact argv for a PV/PVH guest with device_model_args. Checked: the QMP socket
 * listens before device-model/<domid>/state = running is written; libxl's QMP
 * conversation byte for byte over the socket (greeting, qmp_capabilities,
 * query-chardev, query-status, query-vnc), an unknown command, a client that
 * disconnects mid-message, the next client served; the guest probes and reads the
 * virtio-rng device; the pid file; xl destroy (the node removed) ends xvdm with exit 0
 * and its socket and pid file are gone. A second life ends with SIGHUP (exit 0); the
 * probe invocation (-machine none) exits 0, with and without a QMP conversation.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_ids.h>
#include <glib.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define DOMID 3
#define BASE  0x2000000ULL /* GUEST_VIRTIO_MMIO_BASE: xvdm's default first slot */
#define IRQ   33
#define NODE  "/local/domain/0/device-model/3"

static struct sim sim;

static bool listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		/* flags 00010000 = __SO_ACCEPTCON: a listening socket */
		found = n > strlen(path) && !strcmp(line + n - strlen(path), path) &&
			strstr(line, " 00010000 ");
	}
	if (f)
		fclose(f);
	return found;
}

static int qmp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 5, 0 };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	SIM_CHECK(&sim, fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
		  "connect %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One line up to "\r\n" (bounded wait: SO_RCVTIMEO). */
static void qmp_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);

		SIM_CHECK(&sim, r == 1, "QMP read: %s", r < 0 ? strerror(errno) : "EOF");
		n++;
		if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
			break;
	}
	buf[n] = '\0';
}

/* Send as libxl does (compact JSON, "\r\n"), compare the reply byte for byte. */
static void qmp_expect(int fd, const char *send, const char *want)
{
	char buf[1024];

	SIM_CHECK(&sim, write(fd, send, strlen(send)) == (ssize_t)strlen(send), "QMP write");
	qmp_line(fd, buf, sizeof(buf));
	SIM_CHECK(&sim, !strcmp(buf, want), "QMP: sent %s\n  got  %s\n  want %s", send, buf, want);
}

static void qmp_greeting(int fd)
{
	char buf[1024];

	qmp_line(fd, buf, sizeof(buf));
	SIM_CHECK(&sim, g_str_has_prefix(buf, "{\"QMP\": {\"version\": {\"qemu\": {"),
		  "QMP greeting: %s", buf);
}

/* Dropped, each of them, and the next client is served. */
static void bad_clients(const char *qmp)
{
	g_autoptr(GString) big = g_string_new("{\"execute\":\"query-status\",\"id\":\"");
	struct timeval tv = { 5, 0 };
	char buf[1024];
	size_t sent = 0;
	int fd;

	/* a message over 64 KiB: an error reply, then EOF */
	while (big->len < 70000)
		g_string_append(big, "AAAAAAAAAAAAAAAA");
	fd = qmp_connect(qmp);
	qmp_greeting(fd);
	SIM_CHECK(&sim, send(fd, big->str, big->len, MSG_NOSIGNAL) == (ssize_t)big->len, "send");
	qmp_line(fd, buf, sizeof(buf));
	SIM_CHECK(&sim, strstr(buf, "too large"), "oversized message: %s", buf);
	/* EOF, or ECONNRESET: xvdm closed with the rest of the message unread */
	errno = 0;
	SIM_CHECK(&sim, read(fd, buf, 1) <= 0 && errno != EAGAIN,
		  "oversized message: the client is not dropped");
	close(fd);

	/* stray tokens, one error reply each, never read: dropped once too much is pending */
	fd = qmp_connect(qmp);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(buf, ' ', sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i += 2)
		buf[i] = 'x';
	while (sent < (64u << 20)) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (n < 0)
			break;
		sent += n;
	}
	SIM_CHECK(&sim, sent < (64u << 20) && (errno == EPIPE || errno == ECONNRESET),
		  "a client that never reads was not dropped (%zu bytes sent, %s)", sent,
		  strerror(errno));
	close(fd);
}

static void libxl_conversation(const char *qmp)
{
	g_autofree char *chardev = NULL;
	int fd = qmp_connect(qmp);

	qmp_greeting(fd);
	qmp_expect(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
		   "{\"return\": {}, \"id\": 1}\r\n");
	chardev = g_strdup_printf(
		"{\"return\": [{\"frontend-open\": true, \"filename\": \"unix:%s,server=on\", "
		"\"label\": \"libxl-cmd\"}, {\"frontend-open\": true, \"filename\": "
		"\"unix:%s,server=on\", \"label\": \"libxenstat-cmd\"}], \"id\": 2}\r\n",
		qmp, sim_path(&sim, "qmp-libxenstat-3"));
	qmp_expect(fd, "{\"execute\":\"query-chardev\",\"id\":2}\r\n", chardev);
	qmp_expect(fd, "{\"execute\":\"query-status\",\"id\":3}\r\n",
		   "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": "
		   "true}, \"id\": 3}\r\n");
	qmp_expect(fd, "{\"execute\":\"query-vnc\",\"id\":4}\r\n",
		   "{\"return\": {\"enabled\": false}, \"id\": 4}\r\n");
	qmp_expect(fd, "{\"execute\":\"xen-save-devices-state\",\"id\":5}\r\n",
		   "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
		   "xen-save-devices-state has not been found\"}, \"id\": 5}\r\n");
	close(fd);

	/* a client gone mid-message, then the next one (one at a time, as QEMU) */
	fd = qmp_connect(qmp);
	qmp_greeting(fd);
	SIM_CHECK(&sim, write(fd, "{\"execute\":\"qmp_capa", 20) == 20, "QMP write");
	close(fd);
	fd = qmp_connect(qmp);
	qmp_greeting(fd);
	qmp_expect(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
		   "{\"return\": {}, \"id\": 1}\r\n");
	qmp_expect(fd, "{\"execute\":\"query-status\",\"id\":2}\r\n",
		   "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": "
		   "true}, \"id\": 2}\r\n");
	close(fd);
	bad_clients(qmp);
	sim_note("QMP: libxl's conversation, an unknown command, a client gone mid-message, an "
		 "oversized message, a client that does not read its replies");
}

static void use_rng(struct xs_dom *d)
{
	uint64_t gpa = gd_alloc(d, 4096, 4096);
	struct vdrv_sg sg = { gpa, 4096, true };
	struct vdrv v;
	uint32_t len = 0;
	int r;

	sim_wait_served(&sim, d, BASE, 10000);
	vdrv_init(&v, d, 0, BASE, IRQ);
	r = vdrv_probe(&v, VIRTIO_ID_RNG, 0, 1, 64);
	SIM_CHECK(&sim, !r, "probe the rng at 0x%llx: %s", BASE, strerror(-r));
	r = vdrv_xfer(&v, 0, &sg, 1, &len);
	SIM_CHECK(&sim, !r && len > 0 && len <= 4096, "entropy read: %s, %u bytes", strerror(-r),
		  len);
	r = vdrv_remove(&v);
	SIM_CHECK(&sim, !r, "remove: %s", strerror(-r));
	sim_note("the guest read %u bytes of entropy from virtio-mmio 0x%llx", len, BASE);
}

/* libxl's argv for a PV/PVH guest: libxl__build_device_model_args_new(). */
static void spawn_dm(const char *qmp, const char *pidfile, bool restricted)
{
	g_autofree char *libxl =
		g_strdup_printf("socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp);
	g_autofree char *stat =
		g_strdup_printf("socket,id=libxenstat-cmd,path=%s,server=on,wait=off",
				sim_path(&sim, "qmp-libxenstat-3"));
	const char *args[] = { "-xen-domid",
			       "3",
			       "-no-shutdown",
			       "-chardev",
			       libxl,
			       "-mon",
			       "chardev=libxl-cmd,mode=control",
			       "-chardev",
			       stat,
			       "-mon",
			       "chardev=libxenstat-cmd,mode=control",
			       "-nodefaults",
			       "-no-user-config",
			       "-xen-attach",
			       "-name",
			       "guest3",
			       "-vnc",
			       "none",
			       "-display",
			       "none",
			       "-nographic",
			       "-device",
			       "virtio-rng-device",
			       "-machine",
			       "xenpv",
			       "-m",
			       "64",
			       "-pidfile",
			       pidfile,
			       NULL,
			       NULL,
			       NULL,
			       NULL,
			       NULL };

	if (restricted) { /* libxl's dm_restrict: -S (QMP cont starts it) and the restriction */
		args[G_N_ELEMENTS(args) - 5] = "-S";
		args[G_N_ELEMENTS(args) - 4] = "-xen-domid-restrict";
		args[G_N_ELEMENTS(args) - 3] = "-runas";
		args[G_N_ELEMENTS(args) - 2] = "nobody";
	}

	hv_xs_mkdir(sim.hv, 0, NODE); /* libxl makes the node before spawning */
	sim_spawn(&sim, args);
}

/* The state must not appear before QMP listens (libxl connects as soon as it sees it). */
static void wait_ready(const char *qmp)
{
	for (int waited = 0; !listening(qmp); waited++) {
		char *st = hv_xs_read(sim.hv, 0, NODE "/state");

		SIM_CHECK(&sim, !st, "state '%s' written before QMP listens on %s", st, qmp);
		SIM_CHECK(&sim, sim_alive(&sim), "xvdm exited (%s) before listening",
			  sim_status_str(sim.status));
		SIM_CHECK(&sim, waited < 10000, "QMP never listened on %s", qmp);
		usleep(1000);
	}
	sim_wait_xs(&sim, NODE "/state", "running", 10000);
}

static void first_life(struct xs_dom *d, const char *qmp, const char *pidfile)
{
	g_autofree char *pid = NULL;
	g_autofree char *want = NULL;
	int st;

	spawn_dm(qmp, pidfile, false);
	wait_ready(qmp);
	SIM_CHECK(&sim, g_file_get_contents(pidfile, &pid, NULL, NULL), "no pid file %s", pidfile);
	want = g_strdup_printf("%d\n", (int)sim.pid);
	SIM_CHECK(&sim, !strcmp(pid, want), "pid file holds '%s', want '%s'", pid, want);
	libxl_conversation(qmp);
	use_rng(d);
	/* xl destroy: libxl removes the node (and sends SIGHUP; here only the node goes) */
	SIM_CHECK(&sim, !hv_xs_rm(sim.hv, 0, NODE), "rm " NODE);
	st = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm after its node went: %s",
		  sim_status_str(st));
	SIM_CHECK(&sim, access(pidfile, F_OK) && access(qmp, F_OK),
		  "pid file or QMP socket left after exit");
	SIM_CHECK(&sim, hv_dom_servers(d, NULL, 0) == 0, "ioreq server left after exit");
	sim_note("node removed: exit 0, pid file and socket gone, ioreq server destroyed");
}

/* systemd's NOTIFY_SOCKET: a datagram socket the test reads READY=1 from. */
static int notify_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = sim_path(&sim, "notify");
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	SIM_CHECK(&sim, fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)), "bind %s: %s",
		  path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", path, 1);
	return fd;
}

static void second_life(struct xs_dom *d, const char *qmp, const char *pidfile)
{
	int nfd = notify_socket();
	char msg[64] = { 0 };
	char *state;
	ssize_t n;
	int st;

	spawn_dm(qmp, pidfile, false);
	unsetenv("NOTIFY_SOCKET");
	n = recv(nfd, msg, sizeof(msg) - 1, 0);
	SIM_CHECK(&sim, n == 7 && !strcmp(msg, "READY=1"), "sd_notify: got %zd bytes '%s'", n, msg);
	/* ready means serving: the state is written and QMP listens */
	state = hv_xs_read(sim.hv, 0, NODE "/state");
	SIM_CHECK(&sim, state && !strcmp(state, "running") && listening(qmp),
		  "READY=1 before state running (%s) and QMP listening", state ? state : "none");
	free(state);
	use_rng(d);
	SIM_CHECK(&sim, !kill(sim.pid, SIGHUP), "kill");
	st = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm after SIGHUP: %s",
		  sim_status_str(st));
	n = recv(nfd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	SIM_CHECK(&sim, n == 10 && !memcmp(msg, "STOPPING=1", 10), "no STOPPING=1 at exit");
	close(nfd);
	SIM_CHECK(&sim, hv_dom_servers(d, NULL, 0) == 0, "ioreq server left after SIGHUP");
	hv_xs_rm(sim.hv, 0, NODE);
	sim_note("second life: READY=1 once serving, SIGHUP, STOPPING=1, exit 0");
}

/* After -runas nobody: no uid or gid of the process is root any more. */
static void check_uid(void)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)sim.pid);
	g_autofree char *status = NULL;
	unsigned u[4] = { 0 }, g[4] = { 0 };
	const char *uid, *gid;

	SIM_CHECK(&sim, g_file_get_contents(path, &status, NULL, NULL), "read %s", path);
	uid = strstr(status, "\nUid:");
	gid = strstr(status, "\nGid:");
	SIM_CHECK(&sim,
		  uid && gid &&
			  sscanf(uid, "\nUid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4 &&
			  sscanf(gid, "\nGid: %u %u %u %u", &g[0], &g[1], &g[2], &g[3]) == 4,
		  "no Uid/Gid in %s", path);
	for (int i = 0; i < 4; i++)
		SIM_CHECK(&sim, u[i] && g[i], "still root after -runas nobody: uid %u gid %u", u[i],
			  g[i]);
}

/* dm_restrict: -S (prelaunch until QMP cont), the Xen handles restricted to the guest,
 * then -runas nobody. */
static void restricted_life(struct xs_dom *d, const char *qmp, const char *pidfile)
{
	char *state;
	int fd, st;

	spawn_dm(qmp, pidfile, true);
	sim_wait_listen(&sim, qmp, 0, 10000);
	sim_wait_served(&sim, d, BASE, 10000);
	fd = qmp_connect(qmp);
	qmp_greeting(fd);
	qmp_expect(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
		   "{\"return\": {}, \"id\": 1}\r\n");
	qmp_expect(fd, "{\"execute\":\"query-status\",\"id\":2}\r\n",
		   "{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": "
		   "false}, \"id\": 2}\r\n");
	state = hv_xs_read(sim.hv, 0, NODE "/state");
	SIM_CHECK(&sim, !state, "state '%s' written before cont under -S", state);
	/* cont: a RESUME event, then the reply */
	SIM_CHECK(&sim, write(fd, "{\"execute\":\"cont\",\"id\":3}\r\n", 27) == 27, "write");
	{
		char buf[512];

		qmp_line(fd, buf, sizeof(buf));
		SIM_CHECK(&sim, strstr(buf, "\"event\": \"RESUME\""), "want RESUME: %s", buf);
		qmp_line(fd, buf, sizeof(buf));
		SIM_CHECK(&sim, !strcmp(buf, "{\"return\": {}, \"id\": 3}\r\n"), "cont: %s", buf);
	}
	close(fd);
	check_uid();
	use_rng(d); /* served through the restricted handles */
	st = sim_terminate(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "restricted xvdm after SIGTERM: %s",
		  sim_status_str(st));
	SIM_CHECK(&sim, hv_dom_servers(d, NULL, 0) == 0, "ioreq server left (restricted)");
	hv_xs_rm(sim.hv, 0, NODE);
	sim_note("restricted life: prelaunch until cont, served after xentoolcore_restrict_all and "
		 "-runas nobody");
}

/* Xen >= 4.20: -machine none, no -xen-domid. */
static void probes(void)
{
	const char *bare[] = { "-S",	     "-no-user-config", "-nodefaults",
			       "-nographic", "-machine",	"none",
			       NULL };
	const char *qmp = sim_path(&sim, "qmp-probe");
	g_autofree char *chr =
		g_strdup_printf("socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp);
	const char *talk[] = { "-S",	      "-no-user-config",
			       "-nodefaults", "-nographic",
			       "-machine",    "none",
			       "-chardev",    chr,
			       "-mon",	      "chardev=libxl-cmd,mode=control",
			       NULL };
	int st, fd;

	sim_spawn(&sim, bare);
	st = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare probe: %s",
		  sim_status_str(st));
	sim_spawn(&sim, talk);
	sim_wait_listen(&sim, qmp, 0, 10000);
	fd = qmp_connect(qmp);
	qmp_greeting(fd);
	qmp_expect(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
		   "{\"return\": {}, \"id\": 1}\r\n");
	qmp_expect(fd, "{\"execute\":\"query-command-line-options\",\"id\":2}\r\n",
		   "{\"return\": [], \"id\": 2}\r\n");
	qmp_expect(fd, "{\"execute\":\"quit\",\"id\":3}\r\n", "{\"return\": {}, \"id\": 3}\r\n");
	close(fd);
	st = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "probe after quit: %s",
		  sim_status_str(st));
	sim_note("probe invocations: exit 0 (bare, and after a QMP conversation ending in quit)");
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM };
	const char *qmp, *pidfile;
	struct xs_dom *d;

	sim_init(&sim, "sim-dm", argc, argv, 150);
	qmp = sim_path(&sim, "qmp-libxl-3");
	pidfile = sim_path(&sim, "xvdm-3.pid");
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	hv_xs_write(sim.hv, 0, "/local/domain/3/name", "guest3");
	first_life(d, qmp, pidfile);
	second_life(d, qmp, pidfile);
	restricted_life(d, qmp, pidfile);
	probes();
	sim_pass(&sim);
}
