#!/bin/bash
# Cross-build xvdm for the arm64 dom0, against Debian bookworm's arm64 libraries:
#   1. an arm64 sysroot: the arm64 .debs of glib, libfdt and the Xen libraries unpacked
#      with dpkg-deb -x into $WORK/sysroot-arm64 (installing libxen-dev:arm64 or
#      libfdt-dev:arm64 through multiarch would remove the amd64 ones: they are not
#      co-installable, hence the private sysroot);
#   2. a meson cross file for it, $WORK/arm64-cross.ini;
#   3. meson setup + compile of the project source tree into $WORK/build-arm64 (out of
#      tree: the source tree is not touched), only the xvdm executable;
#   4. the binary is copied to $WORK/out/xvdm-arm64 and its DT_NEEDED printed;
#   5. the blk test's own back-ends, tests/backends/vhub-blk and vhub-shm (plain libc), the
#      same way: $WORK/out/vhub-blk-arm64 and vhub-shm-arm64, and the SHMEM round's domU
#      program tests/e2e/shm-probe.c (static, no meson): $WORK/out/shm-probe-arm64 (only
#      when WITH_BLK=1).
# Idempotent: the sysroot is re-unpacked only when its package set changed; meson
# rebuilds incrementally. Env: BUILD_DIR (default $WORK/build-arm64), SRC_ROOT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SR=$WORK/sysroot-arm64
D=$WORK/debs-cross
B=${BUILD_DIR:-$WORK/build-arm64}
CROSS=$WORK/arm64-cross.ini
t0=$(date +%s)

ensure_arm64_arch
ensure_host_pkgs gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross \
	pkg-config meson ninja-build
PKGS="libglib2.0-dev libpcre2-dev libfdt-dev libxen-dev $XVDM_RUNTIME_PKGS
 libxenhypfs1 libxenmisc4.17 libyajl2"
# shellcheck disable=SC2086
download_debs "$D" $PKGS

# ---- sysroot --------------------------------------------------------------
want=$(cd "$D" && ls ./*_arm64.deb | sort)
if [ "$(cat "$SR/.debs" 2>/dev/null)" != "$want" ]; then
	echo "unpacking the arm64 sysroot into $SR"
	rm -rf "$SR" && mkdir -p "$SR"
	for deb in "$D"/*_arm64.deb; do dpkg-deb -x "$deb" "$SR"; done
	# Debian's .so links are absolute (/lib/...): point them into the sysroot.
	find "$SR" -type l | while read -r l; do
		t=$(readlink "$l")
		case $t in /*) [ -e "$SR$t" ] && ln -sfn "$SR$t" "$l" ;; esac
	done
	echo "$want" > "$SR/.debs"
fi
L=$SR/usr/lib/aarch64-linux-gnu

# ---- meson cross file (rewritten only when it changes: meson reconfigures then) ----
tmp=$(mktemp)
cat > "$tmp" <<EOT
[binaries]
c = 'aarch64-linux-gnu-gcc'
ar = 'aarch64-linux-gnu-ar'
strip = 'aarch64-linux-gnu-strip'
pkgconfig = 'pkg-config'

[properties]
sys_root = '$SR'
pkg_config_libdir = ['$L/pkgconfig', '$SR/usr/share/pkgconfig']

[built-in options]
c_args = ['-isystem', '$SR/usr/include']
c_link_args = ['-L$L', '-Wl,-rpath-link,$L', '-Wl,-rpath-link,$SR/lib/aarch64-linux-gnu']

[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'cortex-a57'
endian = 'little'
EOT
if cmp -s "$tmp" "$CROSS"; then rm -f "$tmp"; else mv "$tmp" "$CROSS"; fi

# ---- meson cross-build of xvdm ---------------------------------------------
# One build dir serves one source tree: a dir configured for another checkout (say the
# developer's tree, then CI's fresh clone) would build that other tree's sources.
if [ ! -f "$B/build.ninja" ] || [ "$(cat "$B/.xvdm-source" 2>/dev/null)" != "$SRC_ROOT" ]; then
	rm -rf "$B"
	meson setup --cross-file "$CROSS" -Dsanitize=false -Dfuzz=false "$B" "$SRC_ROOT"
	echo "$SRC_ROOT" > "$B/.xvdm-source"
fi
meson compile -C "$B" xvdm
if [ "${WITH_BLK:-0}" = 1 ]; then
	meson compile -C "$B" vhub-blk
	VHUB=$(find "$B" -name vhub-blk -type f -perm -u+x | head -1)
	[ -n "$VHUB" ] || { echo "no vhub-blk executable under $B"; exit 1; }
	mkdir -p "$WORK/out"
	cp "$VHUB" "$WORK/out/vhub-blk-arm64"
	echo "vhub-blk: $VHUB -> $WORK/out/vhub-blk-arm64 ($(stat -c %s "$VHUB") bytes)"
	meson compile -C "$B" vhub-shm
	VSHM=$(find "$B" -name vhub-shm -type f -perm -u+x | head -1)
	[ -n "$VSHM" ] || { echo "no vhub-shm executable under $B"; exit 1; }
	cp "$VSHM" "$WORK/out/vhub-shm-arm64"
	echo "vhub-shm: $VSHM -> $WORK/out/vhub-shm-arm64 ($(stat -c %s "$VSHM") bytes)"
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -s -o "$WORK/out/shm-probe-arm64" \
		"$E2E_DIR/shm-probe.c"
	echo "shm-probe: $WORK/out/shm-probe-arm64 ($(stat -c %s "$WORK/out/shm-probe-arm64") bytes, static)"
fi
BIN=$(find "$B" -name xvdm -type f -perm -u+x | head -1)
[ -n "$BIN" ] || { echo "no xvdm executable under $B"; exit 1; }
aarch64-linux-gnu-readelf -h "$BIN" | grep -q AArch64 ||
	{ echo "$BIN is not an arm64 executable"; exit 1; }
mkdir -p "$WORK/out"
cp "$BIN" "$WORK/out/xvdm-arm64"
echo "xvdm: $BIN -> $WORK/out/xvdm-arm64 ($(stat -c %s "$BIN") bytes)"
echo "DT_NEEDED: $(aarch64-linux-gnu-readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
echo "cross-build: $(($(date +%s) - t0)) s"
