#!/bin/sh
# domU /init of the x86 lab (HVM guests A and B): load virtio_pci, virtio_blk and virtio_rng,
# list the PCI functions (driver, irq, MSI vectors) and the virtio lines of /proc/interrupts,
# then on the disk of the PCI function e2e.blk= (xvdm's): md5 of all of it, write 1 MiB of
# random bytes at 2 MiB, drop the page cache, read it back; with e2e.qblk= (QEMU's own
# virtio-blk-pci) time the same sequential read (all of the disk) and write (16 MiB at 8 MiB,
# fsync) on both disks, alternately, twice; read 64 KiB from /dev/hwrng; print the disk's final md5; power off.
# Every line starts with "DOMU: "; dom0 checks the md5s against the image file.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
say() { echo "DOMU: $*"; }
say "userspace up at uptime $(up) s"
say "hypervisor: $(cat /sys/hypervisor/type 2>/dev/null) guest_type: $(cat /sys/hypervisor/guest_type 2>/dev/null)"
for m in virtio_pci virtio_blk virtio_rng; do
	modprobe $m 2>&1 | sed 's/^/DOMU: modprobe: /'
done
for d in /sys/bus/pci/devices/*; do
	drv=$(readlink "$d/driver"); drv=${drv##*/}
	say "pci: ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") class $(cat "$d/class") driver ${drv:-none} irq $(cat "$d/irq") msi_irqs $(ls "$d/msi_irqs" 2>/dev/null | wc -l)"
done
dmesg | grep -E 'pci 0000:00:0[3-6]\.0: (BAR|\[1af4)|virtio' | sed 's/^/DOMU: dmesg: /'
grep -i virtio /proc/interrupts | tr -s ' ' | sed 's/^/DOMU: irq: /'
grep -i virtio /proc/ioports | tr -s ' ' | sed 's/^/DOMU: ioports: /'

# the block device of a PCI function: /sys/block/vdX/device -> .../0000:00:04.0/virtioN
disk_of() {
	for b in /sys/block/vd*; do
		case $(readlink -f "$b/device") in */"$1"/virtio*) echo "${b##*/}"; return ;; esac
	done
}
secs() { echo "$1 $2" | awk '{printf "%.2f", $2 - $1}'; }
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches; }
bench() { # DEV LABEL
	dropcache
	t0=$(up); dd if=/dev/$1 of=/dev/null bs=1M 2>/dev/null; t1=$(up)
	say "bench: $2 read $(($(cat /sys/block/$1/size) * 512)) bytes in $(secs $t0 $t1) s"
	t0=$(up); dd if=/dev/zero of=/dev/$1 bs=1M count=16 seek=8 conv=fsync 2>/dev/null; t1=$(up)
	say "bench: $2 write 16777216 bytes in $(secs $t0 $t1) s"
}

BLK=$(arg e2e.blk) QBLK=$(arg e2e.qblk)
dev=$(disk_of "$BLK")
say "disk: xvdm ${dev:-none} on $BLK, $(cat /sys/block/$dev/size 2>/dev/null) sectors"
if [ -n "$dev" ]; then
	say "md5 all: $(md5sum < /dev/$dev | cut -d' ' -f1)"
	head -c 1048576 /dev/urandom > /tmp/w
	say "md5 written: $(md5sum < /tmp/w | cut -d' ' -f1)"
	dd if=/tmp/w of=/dev/$dev bs=1M seek=2 conv=fsync 2>/dev/null && say "write: done"
	dropcache
	say "md5 read back: $(dd if=/dev/$dev bs=1M skip=2 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
fi
if [ -n "$QBLK" ]; then
	qdev=$(disk_of "$QBLK")
	say "disk: qemu ${qdev:-none} on $QBLK, $(cat /sys/block/$qdev/size 2>/dev/null) sectors"
	if [ -n "$dev" ] && [ -n "$qdev" ]; then
		for _ in 1 2; do
			bench "$qdev" qemu
			bench "$dev" xvdm
		done
	fi
fi
say "rng_current: $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
say "hwrng bytes: $(head -c 65536 /dev/hwrng | wc -c)"
say "hwrng nonzero: $(head -c 4096 /dev/hwrng | tr -d '\000' | wc -c)"
grep -i virtio /proc/interrupts | tr -s ' ' | sed 's/^/DOMU: irq at end: /'
[ -n "$dev" ] && { dropcache; say "md5 final: $(md5sum < /dev/$dev | cut -d' ' -f1)"; }
say "END at uptime $(up) s"
sync
poweroff -f
