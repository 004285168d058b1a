/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Operations for every start mode: readiness for systemd (sd_notify(3)'s datagram to
 * $NOTIFY_SOCKET, no libsystemd), a pid file, and dropping to an unprivileged user.
 *
 * Trust boundary: the environment and arguments the operator or systemd gave us.
 */
#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/vmm.h"

int vmm_sd_notify(const char *state)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	ssize_t n;
	int fd, r = 0;

	if (!path || !*path)
		return 0;
	/* "/run/systemd/notify", or "@name" for the abstract namespace */
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

int vmm_pidfile_write(const char *path, GError **error)
{
	g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());

	/* g_file_set_contents writes a temporary file and renames it over path */
	if (!g_file_set_contents(path, pid, -1, error)) {
		g_prefix_error(error, "pid file: ");
		return -EIO;
	}
	return 0;
}

static int lookup(const char *runas, uid_t *ret_uid, gid_t *ret_gid, char **ret_user,
		  GError **error)
{
	g_auto(GStrv) p = g_strsplit(runas, ":", 2);
	struct passwd *pw = p[0] ? getpwnam(p[0]) : NULL;

	if (!pw) {
		g_set_error(error, VMM_ERROR, ENOENT, "--runas %s: no such user", runas);
		return -ENOENT;
	}
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	if (*ret_uid == 0) {
		g_set_error(error, VMM_ERROR, EINVAL, "--runas %s: that is root", runas);
		return -EINVAL;
	}
	/* *ret_user only on success: the caller frees it then */
	*ret_user = g_strdup(pw->pw_name);
	if (p[1]) {
		struct group *gr = getgrnam(p[1]);

		if (!gr) {
			g_set_error(error, VMM_ERROR, ENOENT, "--runas %s: no such group", runas);
			g_clear_pointer(ret_user, g_free);
			return -ENOENT;
		}
		*ret_gid = gr->gr_gid;
	}
	return 0;
}

int vmm_drop_privileges(const char *runas, GError **error)
{
	g_autofree char *user = NULL;
	uid_t uid;
	gid_t gid;
	int r = lookup(runas, &uid, &gid, &user, error);

	if (r < 0)
		return r;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		r = -errno;
		g_set_error(error, VMM_ERROR, -r, "--runas %s: %s", runas, g_strerror(-r));
		return r;
	}
	/* irreversible: getting root back must fail */
	if (setuid(0) == 0 || geteuid() == 0) {
		g_set_error(error, VMM_ERROR, EPERM, "--runas %s: root could be regained", runas);
		return -EPERM;
	}
	return 0;
}
