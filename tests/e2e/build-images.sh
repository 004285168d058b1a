#!/bin/bash
# Boot artefacts for the lab, from the .debs fetch-debs.sh downloaded. No emulation, chroot
# or debootstrap: only dpkg-deb -x, depmod -b and cpio.
#   $WORK/out/Image         Debian cloud-arm64 kernel (dom0 and domU)
#   $WORK/out/xen           Debian's own hypervisor (reference; the test boots xen-ioreq)
#   $WORK/out/domU.cpio.gz  busybox + virtio, virtio_ring, virtio_mmio, virtio_rng,
#                           virtio_blk and virtio_pci (+ virtio_pci_modern_dev,
#                           virtio_pci_legacy_dev) modules
#   $WORK/out/dom0.cpio.gz  busybox + Xen toolstack + xen modules + xvdm (/usr/bin/xvdm,
#                           /etc/xvdm/xvdm.conf, the guests boot's xvdm-guests.conf) + its arm64
#                           runtime libraries + domU files (+ domU-g1/g2/dm.cfg: the guests boot)
# xvdm comes from XVDM_BIN (default $WORK/out/xvdm-arm64, made by cross-build.sh); when it
# is missing the dom0 image is built without it unless REQUIRE_XVDM=1. Every DT_NEEDED of
# the binary (recursively) must resolve inside the dom0 image, or this fails.
# Extra files for dom0's /root: EXTRA_DOM0_FILES="a:b".   About 3-5 s.
# WITH_BLK=1 (the blk test) also writes
#   $WORK/out/dom0-blk.cpio.gz  dom0.cpio.gz followed by a second gzip'd cpio archive (the
#                           kernel unpacks concatenated archives in order) with what only the
#                           blk test needs: /usr/bin/qemu-storage-daemon and its libraries
#                           (from $WORK/debs-qsd; its closure is checked too), /usr/bin/vhub-blk
#                           (from VHUB_BIN, default $WORK/out/vhub-blk-arm64, made by
#                           cross-build.sh), /etc/xvdm/xvdm-blk.conf, /root/domU-blk*.cfg,
#                           the PCI round's /etc/xvdm/xvdm-pci.conf and /root/domU-pci.cfg,
#                           and the SHMEM round's /usr/bin/vhub-shm (VSHM_BIN, default
#                           $WORK/out/vhub-shm-arm64), /etc/xvdm/xvdm-shm.conf,
#                           /root/domU-shm.cfg and /root/domU-shm.cpio.gz (domU.cpio.gz
#                           plus /usr/bin/shm-probe from PROBE_BIN, default
#                           $WORK/out/shm-probe-arm64).
#                           So the rng test's dom0 stays as small as it was.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D=$WORK/debs
KPKG=$(cat "$D/KPKG")
KVER=${KPKG#linux-image-}
OUT=$WORK/out
B=$WORK/images
XVDM_BIN=${XVDM_BIN:-$OUT/xvdm-arm64}
rm -rf "$B" && mkdir -p "$B" "$OUT"
t0=$(date +%s)

# ---- kernel + hypervisor --------------------------------------------------
mkdir -p "$B/kernel" "$B/xen"
dpkg-deb -x "$D/${KPKG}"_*_arm64.deb "$B/kernel"
dpkg-deb -x "$D"/xen-hypervisor-4.17-arm64_*_arm64.deb "$B/xen"
cp "$B/kernel/boot/vmlinuz-$KVER" "$OUT/Image"
cp "$B/xen/boot/xen-4.17-arm64" "$OUT/xen"

# shellcheck disable=SC2034 # read by modules.sh
MSRC=$B/kernel/lib/modules/$KVER
. "$(dirname "$0")/modules.sh"

# ---- domU initramfs -------------------------------------------------------
# hw_random core is built into Debian's cloud-arm64 kernel (CONFIG_HW_RANDOM=y);
# virtio_rng (virtio-rng.ko), virtio_mmio, virtio and virtio_ring are modules. The PCI
# round: CONFIG_PCI_HOST_GENERIC (pci-host-ecam-generic) is built in; virtio_pci is a
# module (its deps virtio_pci_modern_dev and virtio_pci_legacy_dev come along).
U=$B/domU
mkdir -p "$U"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp}
dpkg-deb -x "$D"/busybox-static_*_arm64.deb "$B/bb"
cp "$B/bb/bin/busybox" "$U/bin/busybox"
ln -s busybox "$U/bin/sh"
add_modules "$U" virtio_mmio virtio_rng virtio_blk virtio_pci
grep -q 'CONFIG_PCI_HOST_GENERIC=y' "$B/kernel/boot/config-$KVER" ||
	{ echo "$KPKG lacks CONFIG_PCI_HOST_GENERIC=y: the PCI round cannot find xvdm's host bridge"; exit 1; }
grep -q 'CONFIG_HW_RANDOM=y' "$B/kernel/boot/config-$KVER" || add_modules "$U" rng-core
depmod -b "$U" "$KVER"
install -m 755 "$E2E_DIR/domU-init.sh" "$U/init"
(cd "$U" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/domU.cpio.gz")

# ---- dom0 initramfs -------------------------------------------------------
R=$B/dom0
mkdir -p "$R"
for deb in "$D"/*_arm64.deb; do
	case $deb in *linux-image*|*xen-hypervisor*|*-dev_*) continue ;; esac
	dpkg-deb -x "$deb" "$R"
done
# trim what a test dom0 never needs
rm -rf "$R"/usr/share/{doc,man,locale,lintian,bug,glib-2.0} "$R"/usr/lib/xen-4.17/lib/python \
	"$R"/usr/lib/aarch64-linux-gnu/{gconv,gio,glib-2.0}
mkdir -p "$R"/{dev,proc,sys,run,tmp,root,etc/xvdm,var/lib/xen,var/log/xen,var/lib/xenstored,var/lock,sbin,usr/bin,usr/sbin}
ln -sfn /run "$R/var/run"
ln -sf busybox "$R/bin/sh"
add_modules "$R" xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc loop
depmod -b "$R" "$KVER"
install -m 755 "$E2E_DIR/dom0-init.sh" "$R/init"
cp "$OUT/Image" "$R/root/Image"
cp "$OUT/domU.cpio.gz" "$R/root/domU.cpio.gz"
cp "$E2E_DIR/domU-rng.cfg" "$E2E_DIR/domU-g1.cfg" "$E2E_DIR/domU-g2.cfg" "$E2E_DIR/domU-dm.cfg" "$R/root/"
cp "$E2E_DIR/xvdm.conf" "$R/etc/xvdm/xvdm.conf"
cp "$E2E_DIR/xvdm-guests.conf" "$R/etc/xvdm/"

# lib_in SONAME ROOT...: the file the dynamic loader would use (LD_LIBRARY_PATH as
# dom0-init.sh sets it) in the union of the ROOTs (dom0's initramfs archives), following
# links inside that ROOT; nothing if absent.
lib_in() {
	local so=$1 r d f t
	shift
	for r in "$@"; do
		for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib; do
			f=$r/$d/$so
			while [ -L "$f" ]; do
				t=$(readlink "$f")
				case $t in /*) f=$r$t ;; *) f=$(dirname "$f")/$t ;; esac
			done
			[ -f "$f" ] && { echo "$f"; return 0; }
		done
	done
	return 0
}
needed() { aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# check_closure ELF ROOT...: its ELF interpreter and every DT_NEEDED (recursively) are in
# the union of the ROOTs; prints the sonames, or what is missing (and fails)
check_closure() {
	local bin=$1 interp todo seen=" " absent="" next elf so f
	shift
	interp=$(aarch64-linux-gnu-readelf -l "$bin" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
	[ -e "$1$interp" ] || { echo "$(basename "$bin")'s ELF interpreter $interp is not in dom0"; return 1; }
	todo=$bin
	while [ -n "$todo" ]; do
		next=""
		for elf in $todo; do
			for so in $(needed "$elf"); do
				case $seen in *" $so "*) continue ;; esac
				seen="$seen$so "
				f=$(lib_in "$so" "$@")
				if [ -z "$f" ]; then absent="$absent $so"; else next="$next $f"; fi
			done
		done
		todo=$next
	done
	[ -z "$absent" ] || { echo "$(basename "$bin") needs libraries that are not in dom0:$absent"; return 1; }
	echo "$seen"
}

if [ -f "$XVDM_BIN" ]; then
	install -m 755 "$XVDM_BIN" "$R/usr/bin/xvdm"
	seen=$(check_closure "$R/usr/bin/xvdm" "$R") || { echo "$seen"; exit 1; }
	echo "xvdm in dom0: $(stat -c %s "$XVDM_BIN") bytes; runtime closure (all present):$seen"
else
	[ "${REQUIRE_XVDM:-0}" = 1 ] && { echo "no xvdm binary at $XVDM_BIN"; exit 1; }
	echo "WARNING: no xvdm binary at $XVDM_BIN: dom0 is built without it"
fi
IFS=:
for f in ${EXTRA_DOM0_FILES:-}; do [ -n "$f" ] && cp "$f" "$R/root/"; done
unset IFS
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT/dom0.cpio.gz")

# ---- the blk test's addition to dom0 (a second archive) -----------------------
rm -f "$OUT/dom0-blk.cpio.gz"
blk=""
if [ "${WITH_BLK:-0}" = 1 ]; then
	Q=$B/dom0-blk
	mkdir -p "$Q"/{usr/bin,etc/xvdm,root} "$B/qsd"
	for deb in "$WORK"/debs-qsd/*_arm64.deb; do
		case $deb in
		*/qemu-system-common_*) dpkg-deb -x "$deb" "$B/qsd" ;;
		*) dpkg-deb -x "$deb" "$Q" ;;
		esac
	done
	cp "$B/qsd/usr/bin/qemu-storage-daemon" "$Q/usr/bin/"
	rm -rf "${Q:?}"/usr/share "$Q"/etc/{fuse.conf,pkcs11} "$Q"/usr/lib/aarch64-linux-gnu/pkcs11
	seen=$(check_closure "$Q/usr/bin/qemu-storage-daemon" "$R" "$Q") || { echo "$seen"; exit 1; }
	VHUB_BIN=${VHUB_BIN:-$OUT/vhub-blk-arm64}
	if [ -f "$VHUB_BIN" ]; then
		install -m 755 "$VHUB_BIN" "$Q/usr/bin/vhub-blk"
		v=$(check_closure "$Q/usr/bin/vhub-blk" "$R" "$Q") || { echo "$v"; exit 1; }
		echo "vhub-blk in dom0-blk; runtime closure (all present):$v"
	else
		echo "WARNING: no vhub-blk binary at $VHUB_BIN: dom0-blk is built without it"
	fi
	# the SHMEM round: vhub-shm in dom0, shm-probe in its own domU initramfs (domU.cpio.gz
	# followed by a second archive with /usr/bin/shm-probe)
	VSHM_BIN=${VSHM_BIN:-$OUT/vhub-shm-arm64}
	PROBE_BIN=${PROBE_BIN:-$OUT/shm-probe-arm64}
	if [ -f "$VSHM_BIN" ] && [ -f "$PROBE_BIN" ]; then
		install -m 755 "$VSHM_BIN" "$Q/usr/bin/vhub-shm"
		v=$(check_closure "$Q/usr/bin/vhub-shm" "$R" "$Q") || { echo "$v"; exit 1; }
		echo "vhub-shm in dom0-blk; runtime closure (all present):$v"
		mkdir -p "$B/domU-shm/usr/bin"
		install -m 755 "$PROBE_BIN" "$B/domU-shm/usr/bin/shm-probe"
		(cd "$B/domU-shm" && find . | cpio -o -H newc --quiet | gzip -1 > "$B/domU-shm-add.cpio.gz")
		cat "$OUT/domU.cpio.gz" "$B/domU-shm-add.cpio.gz" > "$Q/root/domU-shm.cpio.gz"
	else
		echo "WARNING: no $VSHM_BIN or $PROBE_BIN: dom0-blk is built without the SHMEM round's programs"
	fi
	cp "$E2E_DIR/domU-blk.cfg" "$E2E_DIR/domU-blk-xen.cfg" "$E2E_DIR/domU-pci.cfg" \
		"$E2E_DIR/domU-shm.cfg" "$Q/root/"
	cp "$E2E_DIR/xvdm-blk.conf" "$E2E_DIR/xvdm-pci.conf" "$E2E_DIR/xvdm-shm.conf" "$Q/etc/xvdm/"
	(cd "$Q" && find . | cpio -o -H newc --quiet | gzip -1 > "$B/dom0-blk-add.cpio.gz")
	cat "$OUT/dom0.cpio.gz" "$B/dom0-blk-add.cpio.gz" > "$OUT/dom0-blk.cpio.gz"
	echo "qemu-storage-daemon in dom0-blk; runtime closure (all present):$seen"
	blk=", dom0-blk.cpio.gz $(du -h "$OUT/dom0-blk.cpio.gz" | cut -f1) (+$(du -sh "$Q" | cut -f1) uncompressed)"
fi

echo "images: $(($(date +%s) - t0)) s; dom0 rootfs $(du -sh "$R" | cut -f1) uncompressed," \
	"dom0.cpio.gz $(du -h "$OUT/dom0.cpio.gz" | cut -f1), domU.cpio.gz $(du -h "$OUT/domU.cpio.gz" | cut -f1)$blk"
