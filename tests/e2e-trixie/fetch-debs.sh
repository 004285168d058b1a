#!/bin/bash
# The trixie arm64 .debs of the perf lab, downloaded (never installed) through the private
# apt configuration in $W/apt: Xen 4.20 hypervisor and toolstack with their libraries,
# busybox-static, the 6.12 cloud-arm64 kernel, xvdm's run-time libraries and
# qemu-storage-daemon with the libraries of its closure. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D=$W/debs
mkdir -p "$D" "$AP/etc" "$AP/lists/partial" "$AP/cache/archives/partial"
t0=$(date +%s)
cat > "$AP/etc/sources.list" <<EOT
deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
EOT
# The lists are refreshed once a day at most.
if [ -z "$(find "$AP/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
	tapt update -qq
fi
KPKG=$(tcache depends linux-image-cloud-arm64:arm64 | awk '/Depends: linux-image-/{print $2; exit}')
KPKG=${KPKG%:arm64}
[ -n "$KPKG" ] || { echo "cannot resolve linux-image-cloud-arm64"; exit 1; }
echo "kernel package: $KPKG"
PKGS="xen-hypervisor-4.20-arm64 xen-utils-4.20 xen-utils-common xenstore-utils
 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
 libxenhypfs1 libxenmisc4.20 libxenstore4 libxentoolcore1 libxentoollog1
 libyajl2 libext2fs2t64 libcom-err2 libfdt1 libuuid1 zlib1g liblzma5 libbz2-1.0 libzstd1
 libc6 libgcc-s1 libncurses6 libncursesw6 libtinfo6 busybox-static $KPKG
 libglib2.0-0t64 libpcre2-8-0 libffi8 libmount1 libselinux1 libblkid1 libpixman-1-0"
# shellcheck disable=SC2046
tdl "$D" $(for p in $PKGS; do echo "$p:arm64"; done)
echo "$KPKG" > "$D/KPKG"
# qemu-storage-daemon (trixie ships it in qemu-utils; bookworm had it in qemu-system-common)
# and the shared libraries of its closure.
QSD_PKG=qemu-utils
closure=$(tcache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances "$QSD_PKG:arm64" | grep -v '^ ' |
	grep -E '^lib[^<>]*:arm64$' |
	grep -Ev '^lib(c6|gcc-s1|pam|audit|semanage|sepol|db5|debconf|systemd|cap-ng|crypt)' | sort -u)
# shellcheck disable=SC2086
tdl "$W/debs-qsd" "$QSD_PKG:arm64" $closure
echo "$QSD_PKG" > "$W/debs-qsd/PKG"
echo "fetch: $(($(date +%s) - t0)) s, $(du -sh "$D" | cut -f1) + qsd $(du -sh "$W/debs-qsd" | cut -f1)"
