#!/bin/bash
# Host tools (amd64, installed) and the arm64 .debs of the lab (downloaded only, into
# $WORK/debs, never installed): Xen hypervisor and toolstack with its libraries,
# busybox-static, the current Debian cloud-arm64 kernel, and the libraries xvdm needs at
# run time in dom0. With WITH_BLK=1 also qemu-storage-daemon and its libraries (the blk
# test's back-end) into $WORK/debs-qsd. Idempotent: packages already installed or
# downloaded are skipped.
# Usage: WORK=/var/tmp/xvdm-lab [WITH_BLK=1] tests/e2e/fetch-debs.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D=$WORK/debs
mkdir -p "$D"
t0=$(date +%s)

ensure_arm64_arch
ensure_host_pkgs qemu-system-arm kmod cpio gzip xz-utils time binutils-aarch64-linux-gnu
t1=$(date +%s)

# The cloud-arm64 kernel ABI package the meta package points at today
# (e.g. linux-image-6.1.0-56-cloud-arm64); kept once resolved.
KPKG=$(cat "$D/KPKG" 2>/dev/null || true)
if [ -z "$KPKG" ] || ! compgen -G "$D/${KPKG}_*_arm64.deb" >/dev/null; then
	KPKG=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null |
		awk '/Depends: linux-image-/{print $2; exit}' || true)
	if [ -z "$KPKG" ]; then
		apt_update_once
		KPKG=$(apt-cache depends linux-image-cloud-arm64:arm64 |
			awk '/Depends: linux-image-/{print $2; exit}')
	fi
	KPKG=${KPKG%:arm64}
fi
echo "kernel package: $KPKG"

PKGS="xen-hypervisor-4.17-arm64 xen-utils-4.17 xen-utils-common xenstore-utils
 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
 libxenhypfs1 libxenmisc4.17 libxenstore4 libxentoolcore1 libxentoollog1
 libyajl2 libext2fs2 libcom-err2 libfdt1 libuuid1 zlib1g liblzma5 libbz2-1.0 libzstd1
 libc6 libgcc-s1 libncurses6 libncursesw6 libtinfo6
 busybox-static $KPKG $XVDM_RUNTIME_PKGS"
# shellcheck disable=SC2046,SC2086
download_debs "$D" $(echo $PKGS | tr ' ' '\n' | sort -u)
echo "$KPKG" > "$D/KPKG"
qsd=""
if [ "${WITH_BLK:-0}" = 1 ]; then
	# shellcheck disable=SC2086
	download_debs "$WORK/debs-qsd" $QSD_PKGS
	qsd=", qemu-storage-daemon debs: $(du -sh "$WORK/debs-qsd" | cut -f1)"
fi
t2=$(date +%s)
echo "host apt: $((t1 - t0)) s, arm64 debs: $((t2 - t1)) s, size: $(du -sh "$D" | cut -f1)$qsd"
