#!/bin/bash
# Trixie's xen-hypervisor-4.20-arm64 is built without CONFIG_IOREQ_SERVER (on Arm the option
# needs CONFIG_EXPERT): no device model can serve a guest with it. This rebuilds only the
# hypervisor from trixie's xen source (through the private apt configuration) with Debian's
# xen-kconfig plus CONFIG_EXPERT=y CONFIG_IOREQ_SERVER=y, with the host's aarch64 cross gcc.
# Output: $W/out/xen-ioreq (+ .config). Skipped when it exists and has the option.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t0=$(date +%s)
if [ -f "$W/out/xen-ioreq" ] && grep -q '^CONFIG_IOREQ_SERVER=y' "$W/out/xen-ioreq.config" 2>/dev/null; then
	echo "$W/out/xen-ioreq is there"
	exit 0
fi
mkdir -p "$W/src" "$W/out"
cd "$W/src"
dir=$(ls -d xen-4.20*/ 2>/dev/null | head -1 || true)
if [ -z "$dir" ]; then
	# The mirror has answered 404 for this version's .dsc while both tarballs download
	# (apt checks them against the signed Sources index): unpack by hand if need be.
	tapt source -qq --only-source xen >/dev/null 2>&1 || true
	dir=$(ls -d xen-4.20*/ 2>/dev/null | head -1 || true)
	if [ -z "$dir" ]; then
		orig=$(ls xen_4.20*.orig.tar.* | head -1)
		deb=$(ls xen_4.20*.debian.tar.* | head -1)
		v=${orig#xen_}
		v=${v%.orig.tar.*}
		mkdir -p "xen-$v"
		tar -xf "$orig" -C "xen-$v" --strip-components=1
		tar -xf "$deb" -C "xen-$v"
		(cd "xen-$v" && grep -v '^#' debian/patches/series | grep . | while read -r p; do
			patch -p1 -s -N < "debian/patches/$p" >/dev/null || echo "patch $p did not apply"
		done)
		dir=xen-$v/
	fi
	rm -f xen_*.orig.tar.* xen_*.debian.tar.* xen_*.dsc
fi
cd "$dir/xen"
M=(XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
cp ../debian/xen-kconfig .config
printf 'CONFIG_EXPERT=y\nCONFIG_IOREQ_SERVER=y\n' >> .config
make -s "${M[@]}" olddefconfig
grep -q '^CONFIG_IOREQ_SERVER=y' .config || { echo "CONFIG_IOREQ_SERVER did not stick"; exit 1; }
make -s "${M[@]}" -j"${JOBS:-2}" xen 2>&1 | tail -5
cp xen "$W/out/xen-ioreq"
cp .config "$W/out/xen-ioreq.config"
echo "hypervisor build: $(($(date +%s) - t0)) s"
