/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What both benchmarks (bench-blk, bench-relay) measure with: a clock and medians. */
#pragma once

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);
/* The median of v[0..n) (NAN when n <= 0); sorts v in place. */
double bench_median_inplace(double *v, int n);
/* The same on a copy: v is left as it is. */
double bench_median(const double *v, int n);
