#!/bin/bash
# The perf lab's boot artefacts from the trixie .debs (dpkg-deb -x, xz, depmod, cpio only):
#   $W/out/Image          linux-image-<abi>-cloud-arm64 (6.12)
#   $W/out/domU.cpio.gz   busybox, virtio_mmio + virtio_blk, domU-init.sh, blkbench
#   $W/out/dom0.cpio.gz   busybox, xen-utils-4.20 and its libraries, the xen modules and
#                         loop, qemu-storage-daemon (trixie's qemu-utils), the Xen-enabled
#                         QEMU 10 (build-qemu-xen.sh) with keymaps, xvdm and vhub-blk
#                         (cross-built against bookworm), blkbench, the domU files, the
#                         xl configs and xvdm's config of the comparison.
# Trixie is usr-merged: the rootfs gets /bin /sbin /lib -> usr/...; the kernel's .ko.xz
# modules are decompressed here (busybox modprobe needs no xz) and depmod -b is run.
# Every executable's DT_NEEDED closure is checked against the dom0 tree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D=$W/debs
KPKG=$(cat "$D/KPKG")
KVER=${KPKG#linux-image-}
OUT=$W/out
B=$W/images
BW=$W/bookworm/out
rm -rf "$B" && mkdir -p "$B" "$OUT"
t0=$(date +%s)
for f in "$BW/xvdm-arm64" "$BW/vhub-blk-arm64" "$OUT/blkbench-arm64" \
	"$OUT/qemu-xen/qemu-system-aarch64" "$OUT/xen-ioreq"; do
	[ -f "$f" ] || { echo "missing $f (run perf.sh, which builds it)"; exit 1; }
done

mkdir -p "$B/kernel"
dpkg-deb -x "$D/${KPKG}"_*_arm64.deb "$B/kernel"
cp "$B/kernel/boot/vmlinuz-$KVER" "$OUT/Image"
MSRC=$B/kernel/usr/lib/modules/$KVER
[ -d "$MSRC" ] || MSRC=$B/kernel/lib/modules/$KVER

. "$E2E_DIR/modules.sh"

# ---- domU -----------------------------------------------------------------------
U=$B/domU
mkdir -p "$U"/{bin,sbin,usr/bin,usr/sbin,lib,dev,proc,sys,tmp}
dpkg-deb -x "$D"/busybox-static_*_arm64.deb "$B/bb"
BB=$B/bb/usr/bin/busybox
[ -f "$BB" ] || BB=$B/bb/bin/busybox
cp "$BB" "$U/bin/busybox"
ln -s busybox "$U/bin/sh"
add_modules "$U" virtio_mmio virtio_blk
depmod -b "$U" "$KVER"
install -m 755 "$T_DIR/domU-init.sh" "$U/init"
install -m 755 "$OUT/blkbench-arm64" "$U/usr/bin/blkbench"
(cd "$U" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/domU.cpio.gz.tmp")
mv "$OUT/domU.cpio.gz.tmp" "$OUT/domU.cpio.gz"

# ---- dom0 -----------------------------------------------------------------------
R=$B/dom0
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib"
ln -s usr/bin "$R/bin"
ln -s usr/sbin "$R/sbin"
ln -s usr/lib "$R/lib"
for deb in "$D"/*_arm64.deb; do
	case $deb in *linux-image* | *xen-hypervisor*) continue ;; esac
	dpkg-deb -x "$deb" "$R"
done
# qemu-storage-daemon alone from qemu-utils, its libraries from the rest of debs-qsd
mkdir -p "$B/qsd"
for deb in "$W"/debs-qsd/*_arm64.deb; do
	case ${deb##*/} in
	qemu-utils_*) dpkg-deb -x "$deb" "$B/qsd" ;;
	*) dpkg-deb -x "$deb" "$R" ;;
	esac
done
cp "$B/qsd/usr/bin/qemu-storage-daemon" "$R/usr/bin/"
# the Xen-enabled QEMU: under /usr/local/bin, its keymaps in ../share/qemu; its libraries
# (pixman, fdt, glib, xen, zlib) are in the trixie set above
mkdir -p "$R/usr/local/bin" "$R/usr/local/share/qemu"
cp "$OUT/qemu-xen/qemu-system-aarch64" "$R/usr/local/bin/qemu-system-aarch64-xen"
cp -r "$OUT/qemu-xen/keymaps" "$R/usr/local/share/qemu/"
install -m 755 "$BW/xvdm-arm64" "$R/usr/bin/xvdm"
install -m 755 "$BW/vhub-blk-arm64" "$R/usr/bin/vhub-blk"
install -m 755 "$OUT/blkbench-arm64" "$R/usr/bin/blkbench"
rm -rf "$R"/usr/share/{doc,man,locale,lintian,bug,info} "$R"/usr/lib/xen-4.20/lib/python \
	"$R"/usr/lib/xen-4.20/ocaml "$R"/usr/lib/xen-4.20/bin/oxenstored "$R"/usr/lib/aarch64-linux-gnu/gconv
mkdir -p "$R"/{dev,proc,sys,run,tmp,root,var/lib/xen,var/log/xen,var/lib/xenstored,var/lock,etc/xvdm}
ln -sfn /run "$R/var/run"
ln -sf busybox "$R/usr/bin/sh"
add_modules "$R" xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc loop
depmod -b "$R" "$KVER"
install -m 755 "$T_DIR/dom0-init.sh" "$R/init"
install -m 755 "$T_DIR/dm-qemu" "$T_DIR/dm-xvdm" "$R/usr/bin/"
cp "$OUT/Image" "$R/root/Image"
cp "$OUT/domU.cpio.gz" "$R/root/domU.cpio.gz"
cp "$T_DIR"/bench-*.cfg "$R/root/"
cp "$T_DIR/xvdm-bench.conf" "$R/etc/xvdm/"
for f in usr/bin/xvdm usr/bin/vhub-blk usr/bin/qemu-storage-daemon \
	usr/local/bin/qemu-system-aarch64-xen usr/lib/xen-4.20/bin/xl; do
	[ -f "$R/$f" ] || { echo "dom0 lacks $f"; exit 1; }
	miss=$(elf_missing "$R" "$R/$f")
	[ -z "$miss" ] || { echo "dom0 lacks libraries of $f:$miss"; exit 1; }
done
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/dom0.cpio.gz.tmp")
# renamed into place: a boot that has the old image open keeps it
mv "$OUT/dom0.cpio.gz.tmp" "$OUT/dom0.cpio.gz"
echo "images: $(($(date +%s) - t0)) s; dom0.cpio.gz $(du -h "$OUT/dom0.cpio.gz" | cut -f1), domU.cpio.gz $(du -h "$OUT/domU.cpio.gz" | cut -f1)"
