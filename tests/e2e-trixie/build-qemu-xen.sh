#!/bin/bash
# QEMU 10 with Xen for the arm64 trixie dom0: Debian builds its qemu-system-aarch64 with
# --disable-xen (its only Xen build is amd64's i386-softmmu qemu-system-xen), so the
# comparison's device model is built here from trixie's own qemu source:
#   - source: apt-get source through the private apt configuration, unpacked by hand with
#     debian/patches applied;
#   - sysroot: trixie's arm64 -dev .debs unpacked with dpkg-deb -x into $W/qemu-xen/sysroot;
#   - compiler: the host's gcc-aarch64-linux-gnu 12 with its own glibc 2.36 (trixie's 2.41
#     headers do not mix with its tool include dir); trixie's libraries are linked with
#     --allow-shlib-undefined, so the binary runs on trixie's glibc;
#   - meson: QEMU 10 needs meson >= 1.5; trixie's (pure Python) .deb is unpacked and put on
#     PYTHONPATH for this build only.
# Configuration: Xen only (no TCG, no KVM), fdt, pixman and vnc (libxl always passes
# "-vnc none"), vhost-user; a device config that selects CONFIG_VIRTIO_MMIO (the xenpvh
# machine instantiates virtio-mmio transports, which nothing selects without TCG).
# Output: $W/out/qemu-xen/qemu-system-aarch64 and keymaps/ (QEMU looks for keymaps under
# <bindir>/../share/qemu even for -vnc none). Skipped when the binary is there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
Q=$W/qemu-xen
SR=$Q/sysroot
t0=$(date +%s)
if [ -x "$W/out/qemu-xen/qemu-system-aarch64" ] && [ -d "$W/out/qemu-xen/keymaps" ]; then
	echo "$W/out/qemu-xen/qemu-system-aarch64 is there"
	exit 0
fi
mkdir -p "$Q/debs" "$Q/src" "$W/out/qemu-xen"
cd "$Q/src"
dir=$(ls -d qemu-10*/ 2>/dev/null | head -1 || true)
if [ -z "$dir" ]; then
	tapt source --download-only -qq qemu >/dev/null 2>&1 || true
	orig=$(ls qemu_*.orig.tar.* | head -1)
	deb=$(ls qemu_*.debian.tar.* | head -1)
	tar -xf "$orig"
	dir=$(ls -d qemu-10*/ | head -1)
	tar -xf "$deb" -C "$dir"
	(cd "$dir" && grep -v '^#' debian/patches/series | grep . | while read -r p; do
		patch -p1 -s -N < "debian/patches/$p" >/dev/null || echo "patch $p did not apply"
	done)
	rm -f qemu_*.orig.tar.* qemu_*.debian.tar.* qemu_*.dsc
fi
SRC=$Q/src/${dir%/}
printf '# tests/e2e-trixie: Xen-only qemu-system-aarch64\nCONFIG_VIRTIO_MMIO=y\n' \
	> "$SRC/configs/devices/aarch64-softmmu/xen-lab.mak"

closure=$(tcache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances libglib2.0-dev:arm64 libpixman-1-dev:arm64 libfdt-dev:arm64 \
	zlib1g-dev:arm64 libxen-dev:arm64 libc6-dev:arm64 | grep -v '^ ' | grep -E '^(lib|zlib)[^<>]*:arm64$' |
	grep -Ev '^lib(c6|c6-dev|crypt1|crypt-dev|python|perl|gcc-[0-9]+-dev|stdc|llvm|clang|pam|audit|semanage|db5|debconf)(:|$)' |
	sort -u)
# shellcheck disable=SC2086
tdl "$Q/debs" $closure meson
debset=$(cd "$Q/debs" && ls ./*_arm64.deb | sort)
if [ "$(cat "$SR/.debs" 2>/dev/null)" != "$debset" ]; then
	rm -rf "$SR" && mkdir -p "$SR/usr/lib" "$SR/usr/bin"
	ln -s usr/lib "$SR/lib"
	ln -s usr/bin "$SR/bin"
	for deb in "$Q"/debs/*_arm64.deb; do
		case ${deb##*/} in libc6_* | libc6-dev_* | libcrypt*) continue ;; esac
		dpkg-deb -x "$deb" "$SR"
	done
	find "$SR" -type l | while read -r l; do
		t=$(readlink "$l")
		case $t in /*) [ -e "$SR$t" ] && ln -sfn "$SR$t" "$l" ;; esac
	done
	echo "$debset" > "$SR/.debs"
	rm -rf "$Q/build"
fi
rm -rf "$Q/meson" && mkdir -p "$Q/meson" && dpkg-deb -x "$(ls "$Q"/debs/meson_*_all.deb | head -1)" "$Q/meson"
export PYTHONPATH=$Q/meson/usr/lib/python3/dist-packages
export PATH=$Q/meson/usr/bin:$PATH
L=$SR/usr/lib/aarch64-linux-gnu
export PKG_CONFIG_LIBDIR=$L/pkgconfig:$SR/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$SR
# QEMU's configure looks for <cross-prefix>pkg-config unless told
export PKG_CONFIG=pkg-config
B=$Q/build
if [ ! -f "$B/build.ninja" ]; then
	rm -rf "$B" && mkdir -p "$B" && cd "$B"
	"$SRC/configure" --cross-prefix=aarch64-linux-gnu- \
		--target-list=aarch64-softmmu --enable-xen --disable-tcg --disable-kvm \
		--without-default-features --enable-fdt=system --enable-pixman --enable-vnc \
		--enable-vhost-user --with-devices-aarch64=xen-lab \
		--disable-docs --disable-tools --disable-user --disable-werror --disable-download \
		--disable-install-blobs \
		--extra-cflags="-isystem $SR/usr/include" \
		--extra-ldflags="-L$L -Wl,-rpath-link,$L -Wl,--allow-shlib-undefined" \
		> "$Q/configure.log" 2>&1 || { tail -40 "$Q/configure.log"; exit 1; }
fi
cd "$B"
ninja -j"${JOBS:-2}" qemu-system-aarch64 > "$Q/build.log" 2>&1 || { tail -40 "$Q/build.log"; exit 1; }
cp "$B/qemu-system-aarch64" "$W/out/qemu-xen/"
rm -rf "$W/out/qemu-xen/keymaps" && cp -r "$SRC/pc-bios/keymaps" "$W/out/qemu-xen/keymaps"
aarch64-linux-gnu-strip "$W/out/qemu-xen/qemu-system-aarch64"
echo "qemu-xen: $(stat -c %s "$W/out/qemu-xen/qemu-system-aarch64") bytes, $(($(date +%s) - t0)) s"
