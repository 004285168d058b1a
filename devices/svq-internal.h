/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the shadow-virtqueue code (devices/svq.c, devices/svq-area.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/svq.h"

/* A part of the area that one queue owns. */
struct svq_run {
	size_t off;
	size_t len;
	struct svq_run *next; /* the area's runs, by offset */
};

struct svq_area {
	int fd;
	size_t size;
	uint8_t *va;
	char *name;
	struct svq_run *runs;
};

/* First fit: place a run of len bytes in the area (run->off), or -ENOMEM. */
int svq_area_take(struct svq_area *a, size_t len, struct svq_run *run);
void svq_area_release(struct svq_area *a, struct svq_run *run);

/* Bounce pool bitmaps: the first index >= pos whose bit is `set` (or n); set or clear cnt bits. */
uint32_t svq_bm_find(const uint64_t *bm, uint32_t n, uint32_t pos, bool set);
void svq_bm_assign(uint64_t *bm, uint32_t pos, uint32_t cnt, bool set);
