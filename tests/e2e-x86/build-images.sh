#!/bin/bash
# Boot artefacts of the x86 lab from the .debs fetch-debs.sh downloaded ($WORK/x86/debs) and
# a native release build of xvdm (the host is Debian 12 amd64 like the dom0). No emulation:
# meson/ninja, dpkg-deb -x, depmod -b, cpio.
#   $WORK/x86/build          xvdm's meson build dir (release; only the xvdm target) of this
#                            checkout, or of XVDM_SRC
#   $WORK/x86/out/xen        Debian's xen-4.17-amd64.gz, gunzipped (QEMU's multiboot loader
#                            takes the ELF, not the gzip)
#   $WORK/x86/out/vmlinuz    Debian's amd64 kernel (PV dom0, HVM domUs)
#   $WORK/x86/out/domU.cpio.gz  busybox + virtio_pci, virtio_blk, virtio_rng modules
#   $WORK/x86/out/dom0.cpio.gz  busybox, the Xen toolstack, Debian's QEMU for HVM guests,
#                            seabios, qemu-storage-daemon, xvdm (/usr/local/bin), the wrapper
#                            scripts/xvdm-hvm-dm (/usr/local/libexec), /etc/xvdm/hvm.conf, and
#                            the domU files in /root
# Every dynamic binary of dom0 (xl, xenstored, QEMU, qemu-storage-daemon, xvdm) must resolve
# its libraries inside the dom0 tree (ld.so --list in a chroot), or this fails.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../e2e/lib.sh"
X=$WORK/x86
D=$X/debs
KPKG=$(cat "$D/KPKG")
KVER=${KPKG#linux-image-}
OUT=$X/out
B=$X/images
rm -rf "$B" && mkdir -p "$B" "$OUT"
t0=$(date +%s)

# ---- xvdm, native ---------------------------------------------------------
# XVDM_SRC: another source tree (e.g. a `git archive` of a commit) instead of this checkout
XVDM_SRC=${XVDM_SRC:-$SRC_ROOT}
if [ "$(cat "$X/build/.xvdm-src" 2>/dev/null)" != "$XVDM_SRC" ]; then
	rm -rf "$X/build"
	meson setup --buildtype=release "$X/build" "$XVDM_SRC" > /dev/null
	echo "$XVDM_SRC" > "$X/build/.xvdm-src"
fi
ninja -j2 -C "$X/build" vmm/xvdm > /dev/null
XVDM_BIN=$X/build/vmm/xvdm

# ---- kernel + hypervisor --------------------------------------------------
mkdir -p "$B/kernel" "$B/xen"
dpkg-deb -x "$D/${KPKG}"_*_amd64.deb "$B/kernel"
dpkg-deb -x "$D"/xen-hypervisor-4.17-amd64_*_amd64.deb "$B/xen"
cp "$B/kernel/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
zcat "$B/xen/boot/xen-4.17-amd64.gz" > "$OUT/xen"

# shellcheck disable=SC2034 # read by modules.sh
MSRC=$B/kernel/lib/modules/$KVER
. "$HERE/../e2e/modules.sh"

# ---- domU initramfs -------------------------------------------------------
U=$B/domU
mkdir -p "$U"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp}
dpkg-deb -x "$D"/busybox-static_*_amd64.deb "$B/bb"
cp "$B/bb/bin/busybox" "$U/bin/busybox"
ln -s busybox "$U/bin/sh"
add_modules "$U" virtio_pci virtio_blk virtio_rng
grep -q 'CONFIG_HW_RANDOM=y' "$B/kernel/boot/config-$KVER" || add_modules "$U" rng-core
depmod -b "$U" "$KVER"
install -m 755 "$HERE/domU-init.sh" "$U/init"
(cd "$U" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/domU.cpio.gz")

# ---- dom0 initramfs -------------------------------------------------------
R=$B/dom0
mkdir -p "$R"
for deb in "$D"/*.deb; do
	case $deb in *linux-image*|*xen-hypervisor*) continue ;; esac
	dpkg-deb -x "$deb" "$R"
done
rm -rf "$R"/usr/share/{doc,man,locale,lintian,bug,info} "$R"/usr/lib/xen-4.17/lib/python \
	"$R"/usr/lib/x86_64-linux-gnu/gconv "$R"/usr/include
mkdir -p "$R"/{dev,proc,sys,run,tmp,root,var/lib/xen,var/log/xen,var/lib/xenstored,var/lock} \
	"$R"/{sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/libexec,etc/xvdm,etc/default}
ln -sfn /run "$R/var/run"
ln -sf busybox "$R/bin/sh"
add_modules "$R" xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc
depmod -b "$R" "$KVER"
install -m 755 "$HERE/dom0-init.sh" "$R/init"
install -m 755 "$XVDM_BIN" "$R/usr/local/bin/xvdm"
install -m 755 "$SRC_ROOT/scripts/xvdm-hvm-dm" "$R/usr/local/libexec/xvdm-hvm-dm"
cp "$HERE/xvdm-hvm.conf" "$R/etc/xvdm/hvm.conf"
echo "XVDM_ARGS=-v" > "$R/etc/default/xvdm-hvm-dm"
cp "$OUT/vmlinuz" "$OUT/domU.cpio.gz" "$HERE"/domU-*.cfg "$R/root/"
miss=$(for b in usr/libexec/xen-qemu-system-i386 usr/lib/xen-4.17/bin/xl \
	usr/lib/xen-4.17/bin/xenstored usr/lib/xen-4.17/bin/xenconsoled usr/bin/qemu-storage-daemon \
	usr/local/bin/xvdm; do
	LD_LIBRARY_PATH=/usr/lib/xen-4.17/lib/x86_64-linux-gnu chroot "$R" \
		/lib64/ld-linux-x86-64.so.2 --list "/$b" 2>&1 | sed "s|^|$b: |" |
		grep -E 'not found|error' || true
done)
[ -z "$miss" ] || { echo "missing libraries in the dom0 image:"; echo "$miss"; exit 1; }
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/dom0.cpio.gz")
echo "build: $(( $(date +%s) - t0 )) s; dom0 $(du -sh "$R" | cut -f1) unpacked, $(du -h "$OUT/dom0.cpio.gz" | cut -f1) gzip"
