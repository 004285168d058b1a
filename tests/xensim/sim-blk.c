/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers of the xvdm blk tests (sim-blk.h). Trust boundary: none (test set-up). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "tests/xensim/sim-blk.h"

void sim_blk_require(struct sim *s, bool qsd)
{
	if (!sim_has_device(s, "vhost-user-blk")) {
		printf("SKIP: %s: xvdm --list-devices has no vhost-user-blk yet\n", s->name);
		exit(77);
	}
	if (qsd && access(SIM_QSD, X_OK)) {
		printf("SKIP: %s: %s not installed (package qemu-system-common)\n", s->name,
		       SIM_QSD);
		exit(77);
	}
}

const char *sim_blk_disk(struct sim *s, const char *name, uint32_t size)
{
	const char *path = sim_path(s, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, size) < 0)
		sim_fail(s, "%s: %s", path, strerror(errno));
	close(fd);
	return path;
}

pid_t sim_blk_qsd(struct sim *s, const char *image, const char *sock)
{
	g_autofree char *blockdev = g_strdup_printf("driver=file,node-name=f0,filename=%s", image);
	g_autofree char *export = g_strdup_printf(
		"type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=%s,writable=on",
		sock);
	pid_t pid;

	unlink(sock); /* a killed daemon leaves it behind */
	pid = sim_spawn_aux(
		s,
		(const char *const[]){ SIM_QSD, "--blockdev", blockdev, "--export", export, NULL },
		false);
	sim_wait_listen(s, sock, pid, 10000);
	return pid;
}
