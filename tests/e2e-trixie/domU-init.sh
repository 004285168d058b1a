#!/bin/sh
# domU /init of the perf lab (tests/e2e-trixie): load virtio_mmio and virtio_blk, wait for
# /dev/vda, run blkbench's workload on it (O_DIRECT, queue depth 1: sequential 64 KiB read
# and write of the whole disk, then 4 KiB random reads and writes for e2e.secs seconds
# each), then print the md5 of the whole disk read back with O_DIRECT, which dom0 compares
# with its own of the image after the guest is gone. Also the device's negotiated features
# and the number of virtio interrupts the workload took (for the cost per request). Markers: DOMU: ..., BENCH: ...; the
# last is "DOMU: END". The guest then stays alive: dom0 destroys it.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
SECS=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^e2e.secs=//p' | tail -1)
echo "DOMU: userspace up at uptime $(up) s"
modprobe virtio_mmio && modprobe virtio_blk || echo "DOMU: modprobe failed"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -b /dev/vda ]; then
	echo "DOMU: /dev/vda $(cat /sys/block/vda/size) sectors at uptime $(up) s"
	irqs() { awk '/virtio/ {n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; print n; exit}' /proc/interrupts; }
	echo "DOMU: virtio features $(cat /sys/bus/virtio/devices/virtio0/features 2>/dev/null)"
	i0=$(irqs)
	/usr/bin/blkbench run /dev/vda "${SECS:-5}"
	echo "DOMU: blkbench exit status $?"
	echo "DOMU: virtio interrupts during blkbench $(($(irqs) - i0))"
	echo "DOMU: MD5 $(dd if=/dev/vda iflag=direct bs=65536 2>/dev/null | md5sum | cut -d' ' -f1)"
else
	echo "DOMU: NO /dev/vda after 30 s"
	dmesg | tail -20
fi
echo "DOMU: END"
while :; do sleep 3600; done
