#!/bin/sh
# domU /init of the xvdm end-to-end test: load virtio_mmio + virtio_rng, read 64 KiB from
# /dev/hwrng (served by xvdm in dom0), print DOMU: markers, then stay alive: dom0 destroys
# the domain (xl destroy is part of the test). The last marker is always "DOMU: END".
# Knob (domU cmdline, xl "extra="): e2e.dry=1 never touches the virtio-mmio window (without
# an ioreq server Xen injects a data abort into the domU): only checks that the device-tree
# node and the modules are there and that virtio_rng loads.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
echo "DOMU: userspace up at uptime $(up) s"
for n in /proc/device-tree/virtio@*; do
	[ -d "$n" ] || { echo "DOMU: NO virtio node in the device tree"; continue; }
	echo "DOMU: DT node $n compatible=$(cat "$n/compatible")" \
		"reg=$(hexdump -v -e '4/1 "%02x" " "' "$n/reg")" \
		"interrupts=$(hexdump -v -e '4/1 "%02x" " "' "$n/interrupts")"
done
echo "DOMU: modules: $(cd /lib/modules/*/kernel && find . -name '*.ko' | sed 's|.*/||' | tr '\n' ' ')"
echo "DOMU: hw_random core: $(ls -d /sys/class/misc/hw_random 2>/dev/null || echo missing)," \
	"/dev/hwrng: $(ls /dev/hwrng 2>/dev/null || echo missing)"

if grep -q 'e2e.dry=1' /proc/cmdline; then
	modprobe virtio_rng && echo "DOMU: DRY: virtio_rng loaded (virtio_mmio not loaded)"
	echo "DOMU: DRY: lsmod: $(lsmod | awk 'NR>1{print $1}' | tr '\n' ' ')"
	echo "DOMU: DRY: rng_current = $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
else
	T0=$(up)
	modprobe virtio_mmio && echo "DOMU: virtio_mmio loaded"
	modprobe virtio_rng && echo "DOMU: virtio_rng loaded"
	i=0
	while [ ! -e /sys/bus/virtio/devices/virtio0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	for d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$d" ] || { echo "DOMU: no virtio device appeared"; continue; }
		drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
		echo "DOMU: $(basename "$d"): device $(cat "$d/device") vendor $(cat "$d/vendor")" \
			"status $(cat "$d/status" 2>/dev/null) driver ${drv:-none}"
	done
	i=0
	while ! grep -q virtio_rng /sys/class/misc/hw_random/rng_current 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	echo "DOMU: rng_available = $(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)"
	echo "DOMU: rng_current = $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	T1=$(up)
	n=$(timeout 120 head -c 65536 /dev/hwrng | tee /tmp/rng.bin | wc -c)
	T2=$(up)
	echo "DOMU: RESULT: head -c 65536 /dev/hwrng | wc -c = $n" \
		"($(echo "$T2 $T1" | awk '{printf "%.2f", $1-$2}') s; probe took $(echo "$T1 $T0" | awk '{printf "%.2f", $1-$2}') s)"
	echo "DOMU: first bytes: $(head -c 16 /tmp/rng.bin | od -An -tx1 | tr -s ' ')"
	nz=$(tr -d '\000' < /tmp/rng.bin | wc -c)
	lines=$(od -An -v -tx1 /tmp/rng.bin | sort -u | wc -l)
	if [ "$nz" -gt 0 ]; then
		echo "DOMU: RESULT: bytes are not all zero ($nz of $n non-zero, $lines distinct 16-byte lines)"
	else
		echo "DOMU: RESULT: bytes are ALL ZERO ($n bytes)"
	fi
	dmesg | grep -E 'virtio|rng|abort|Unable to handle|Internal error|Oops|BUG' | tail -20 | sed 's/^/DOMU: dmesg: /'
fi
echo "DOMU: END at uptime $(up) s"
# Stay alive: dom0 destroys this domain.
while :; do sleep 3600; done
