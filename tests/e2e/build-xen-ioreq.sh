#!/bin/bash
# Debian's xen-hypervisor-4.17-arm64 is built WITHOUT CONFIG_IOREQ_SERVER (on Arm it is
# "EXPERT", default n), so the dm_op hypercall does not exist in it and no ioreq-server
# device model (xvdm) can run. This rebuilds *only the hypervisor* from Debian bookworm's
# own `xen` source package (apt-get source, deb-src of bookworm main) with
# CONFIG_EXPERT=y + CONFIG_IOREQ_SERVER=y, cross-compiled with Debian's
# gcc-aarch64-linux-gnu. Output: $WORK/out/xen-ioreq (+ .config, + .version).
# Skipped when $WORK/out/xen-ioreq exists, was built from XEN_SRC_VER and has the option.
# About 35-50 s on 2 cores.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# bookworm main carries 4.17.5+72; the bookworm-security source (4.17.7) was not
# downloadable from the mirror. A 4.17.5 hypervisor runs fine under the 4.17.7 tools
# (same 4.17 domctl/sysctl interface versions).
XEN_SRC_VER=${XEN_SRC_VER:-4.17.5+72-g01140da4e8-1}
OUT=$WORK/out
SRC=$WORK/src
DIR=$SRC/xen-${XEN_SRC_VER%-*}   # apt-get source unpacks into xen-<upstream version>
t0=$(date +%s)

changelog_ver() { head -1 "$1/debian/changelog" 2>/dev/null | sed -n 's/^xen (\([^)]*\)).*/\1/p'; }
if [ -f "$OUT/xen-ioreq" ]; then
	have=$(cat "$OUT/xen-ioreq.version" 2>/dev/null || changelog_ver "$DIR")
	if [ "$have" = "$XEN_SRC_VER" ] && grep -qx 'CONFIG_IOREQ_SERVER=y' "$OUT/xen-ioreq.config" 2>/dev/null; then
		echo "$OUT/xen-ioreq is up to date (xen $have, CONFIG_IOREQ_SERVER=y): not rebuilt"
		echo "$XEN_SRC_VER" > "$OUT/xen-ioreq.version"
		exit 0
	fi
fi

if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
	! grep -qs '^deb-src' /etc/apt/sources.list; then
	echo "adding a deb-src entry for bookworm"
	cat > /etc/apt/sources.list.d/bookworm-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	_apt_updated=0
	apt_update_once
fi
ensure_host_pkgs gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu make flex bison python3 dpkg-dev bc xz-utils

mkdir -p "$SRC"
if [ "$(changelog_ver "$DIR")" != "$XEN_SRC_VER" ]; then
	rm -rf "$DIR"
	(cd "$SRC" && { apt-get source -qq "xen=$XEN_SRC_VER" >/dev/null 2>&1 ||
		{ apt_update_once && apt-get source -qq "xen=$XEN_SRC_VER" >/dev/null; }; })
fi
cd "$DIR/xen"
M="XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"
cp ../debian/xen-kconfig .config
cat >> .config <<'EOF'
CONFIG_EXPERT=y
CONFIG_IOREQ_SERVER=y
EOF
# shellcheck disable=SC2086
make -s $M olddefconfig
grep -E '^CONFIG_(EXPERT|IOREQ_SERVER|DEBUG)=' .config
# shellcheck disable=SC2086
make -s $M -j"$(nproc)" xen 2>&1 | tail -5
grep -qx 'CONFIG_IOREQ_SERVER=y' .config || { echo "CONFIG_IOREQ_SERVER did not stick"; exit 1; }
mkdir -p "$OUT"
cp xen "$OUT/xen-ioreq"
cp .config "$OUT/xen-ioreq.config"
echo "$XEN_SRC_VER" > "$OUT/xen-ioreq.version"
echo "hypervisor build: $(($(date +%s) - t0)) s"
