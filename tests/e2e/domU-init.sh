#!/bin/sh
# domU /init of the xvdm end-to-end test: load virtio_mmio + virtio_rng, read 64 KiB from
# /dev/hwrng (served by xvdm in dom0), print DOMU: markers, then stay alive: dom0 destroys
# the domain (xl destroy is part of the test). The last marker is always "DOMU: END".
# e2e.test=blk (domU-blk.cfg): load virtio_mmio + virtio_blk instead; print /dev/vda's size
# and the md5s of all of it in three regions (0-5 MiB, 5-6 MiB, the rest; read with
# O_DIRECT), write 1 MiB of random bytes at 5 MiB
# (O_DIRECT, then fsync: a flush), drop the page cache, read the window back (O_DIRECT) and
# compare md5s. dom0 compares these md5s with its own of the image file.
# e2e.test=pci (domU-pci.cfg, the PCI round): no virtio-mmio; the kernel's built-in
# pci-host-generic driver finds xvdm's host bridge in the device tree (/passthrough/pcie@*,
# from xvdm dtb) and enumerates bus 0 through ECAM at boot. Print the DT node, the bus and
# its devices (vendor, device, class, IRQ, BARs, driver) from /sys, load virtio_pci and
# virtio_blk, then the same /dev/vda test as blk, then the INTx line in /proc/interrupts.
# e2e.test=shm (domU-shm.cfg, the SHMEM round): no virtio driver; shm-probe reads the
# virtio-mmio registers and the shared memory window through /dev/mem (see below).
# e2e.test=rngloop (the guests boot's domU-g1.cfg): the rng test, then after END reads
# /dev/hwrng for ever, 4 KiB a time, one "DOMU: LOOP: read N: B bytes, E errors" line each.
# Knobs (domU cmdline, xl "extra="): e2e.test=rng|rngloop|blk|pci|shm (default rng);
# e2e.shmreads=N (shm: reads per cost measurement, default 100); e2e.dry=1 never
# touches the virtio-mmio window (without an ioreq server Xen injects a data abort into the
# domU): only checks that the device-tree node and the modules are there and that
# virtio_rng (or virtio_blk) loads.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$(up) $1" | awk '{printf "%.2f", $1-$2}'; }
TEST=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^e2e.test=//p' | tail -1)
TEST=${TEST:-rng}
echo "DOMU: userspace up at uptime $(up) s"

# The SHMEM round (e2e.test=shm, domU-shm.cfg): no virtio driver at all (the device is
# reached through /dev/mem; a bound virtio_mmio would own the window, and
# CONFIG_IO_STRICT_DEVMEM refuses /dev/mem there). shm-probe (tests/e2e/shm-probe.c) reads
# the registers at the base of xvdm dtb's /passthrough/virtio@* node and the shared memory
# window they point at. SHM_MAPLEN and SHM_SEED must match dom0-init.sh's vhub-shm --map.
if [ "$TEST" = shm ]; then
	SHM_MAPLEN=0x1000 SHM_SEED=7 SHM_PCI_SEED=9
	N=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^e2e.shmreads=//p' | tail -1)
	base=
	for n in /proc/device-tree/passthrough/virtio@*; do
		[ -d "$n" ] || { echo "DOMU: shm: NO /passthrough/virtio@* node in the device tree"; continue; }
		echo "DOMU: shm: DT node $n compatible=$(cat "$n/compatible")" \
			"reg=$(hexdump -v -e '4/1 "%02x" " "' "$n/reg")" \
			"interrupts=$(hexdump -v -e '4/1 "%02x" " "' "$n/interrupts")"
		base=0x$(hexdump -v -n 8 -e '8/1 "%02x"' "$n/reg")
	done
	echo "DOMU: shm: loaded modules: $(lsmod | awk 'NR > 1 {print $1}' | tr '\n' ' ')(none expected)"
	if [ -n "$base" ]; then
		T1=$(up)
		/usr/bin/shm-probe "$base" $SHM_MAPLEN $SHM_SEED "${N:-100}" 60
		echo "DOMU: shm: shm-probe exit status $? ($(since $T1) s)"
	fi
	# the same device on virtio-pci (vendor 0x1af4, device 0x1040 + 42), no driver bound
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" 2>/dev/null) $(cat "$d/device" 2>/dev/null)" = "0x1af4 0x106a" ] || continue
		echo "DOMU: shm: pci: $(basename "$d"): vendor 0x1af4 device 0x106a class $(cat "$d/class")" \
			"driver $(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)"
		T1=$(up)
		/usr/bin/shm-probe pci "$d" $SHM_MAPLEN $SHM_PCI_SEED 60
		echo "DOMU: shm: shm-probe pci exit status $? ($(since $T1) s)"
	done
	dmesg | grep -E 'virtio|abort|Unable to handle|Internal error|Oops|BUG|devmem|mem:' | tail -10 |
		sed 's/^/DOMU: dmesg: /'
	echo "DOMU: END at uptime $(up) s"
	while :; do sleep 3600; done
fi
for n in /proc/device-tree/virtio@*; do
	[ -d "$n" ] || { echo "DOMU: NO virtio node in the device tree"; continue; }
	echo "DOMU: DT node $n compatible=$(cat "$n/compatible")" \
		"reg=$(hexdump -v -e '4/1 "%02x" " "' "$n/reg")" \
		"interrupts=$(hexdump -v -e '4/1 "%02x" " "' "$n/interrupts")"
done
echo "DOMU: modules: $(cd /lib/modules/*/kernel && find . -name '*.ko' | sed 's|.*/||' | tr '\n' ' ')"
echo "DOMU: hw_random core: $(ls -d /sys/class/misc/hw_random 2>/dev/null || echo missing)," \
	"/dev/hwrng: $(ls /dev/hwrng 2>/dev/null || echo missing)"

# The blk test: /dev/vda is qemu-storage-daemon's image in dom0, through xvdm.
# WR_AT/WR (MiB) must match dom0-init.sh's BLK_WR_AT_MIB/BLK_WR_MIB.
rd() { # md5 of COUNT MiB of /dev/vda at SKIP MiB, read with O_DIRECT
	timeout 300 dd if=/dev/vda bs=1M skip="$1" count="$2" iflag=direct 2>>/tmp/dd.err | md5sum | cut -d' ' -f1
}
blk_test() {
	WR_AT=5 WR=1
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -b /dev/vda ] || { echo "DOMU: RESULT: no /dev/vda"; return 1; }
	sz=$(($(cat /sys/block/vda/size) * 512))
	echo "DOMU: RESULT: /dev/vda size $sz bytes" \
		"(ro $(cat /sys/block/vda/ro), queue max_sectors_kb $(cat /sys/block/vda/queue/max_sectors_kb))"
	mib=$((sz / 1048576))
	T1=$(up)
	: > /tmp/dd.err
	b=$(rd 0 $WR_AT) w=$(rd $WR_AT $WR) a=$(rd $((WR_AT + WR)) $((mib - WR_AT - WR)))
	echo "DOMU: RESULT: read $mib MiB of /dev/vda (O_DIRECT): md5 before $b, window $w, after $a" \
		"($(since $T1) s)"
	grep -v records /tmp/dd.err | sed 's/^/DOMU: dd: /'
	dd if=/dev/urandom of=/tmp/pat bs=1M count=$WR 2>/dev/null
	p=$(md5sum < /tmp/pat | cut -d' ' -f1)
	T1=$(up)
	timeout 300 dd if=/tmp/pat of=/dev/vda bs=1M seek=$WR_AT count=$WR oflag=direct conv=notrunc,fsync 2>/tmp/dd.err
	rc=$?
	echo "DOMU: RESULT: wrote $WR MiB at $WR_AT MiB (O_DIRECT, fsync): dd rc $rc, md5 $p ($(since $T1) s)"
	grep -v records /tmp/dd.err | sed 's/^/DOMU: dd: /'
	sync
	echo 3 > /proc/sys/vm/drop_caches
	T1=$(up)
	: > /tmp/dd.err
	b=$(rd $WR_AT $WR)
	if [ "$b" = "$p" ]; then
		echo "DOMU: RESULT: read back $WR MiB at $WR_AT MiB (O_DIRECT): md5 $b = written ($(since $T1) s)"
	else
		echo "DOMU: RESULT: read back $WR MiB at $WR_AT MiB (O_DIRECT): md5 $b DIFFERS from written $p"
	fi
	grep -v records /tmp/dd.err | sed 's/^/DOMU: dd: /'
}

# pci_devices: one line per PCI function Linux found (lspci's view, from /sys)
pci_devices() {
	for d in /sys/bus/pci/devices/*; do
		[ -e "$d" ] || { echo "DOMU: pci: NO PCI device in /sys/bus/pci/devices"; continue; }
		drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
		bars=$(awk '$1 != "0x0000000000000000" {printf "%s%d=%s-%s", s, NR - 1, $1, $2; s = " "}' "$d/resource")
		echo "DOMU: pci: $(basename "$d"): vendor $(cat "$d/vendor") device $(cat "$d/device")" \
			"class $(cat "$d/class") irq $(cat "$d/irq") driver ${drv:-none} BARs ${bars:-none}"
	done
}
pci_probe() {
	for n in /proc/device-tree/passthrough/pcie@*; do
		[ -d "$n" ] || { echo "DOMU: pci: NO /passthrough/pcie@* node in the device tree"; continue; }
		echo "DOMU: pci: DT node $n compatible=$(cat "$n/compatible")" \
			"reg=$(hexdump -v -e '4/1 "%02x" " "' "$n/reg")" \
			"bus-range=$(hexdump -v -e '4/1 "%02x" " "' "$n/bus-range")" \
			"interrupt-map entries=$(($(stat -c %s "$n/interrupt-map") / 32))"
	done
	for b in /sys/class/pci_bus/*; do
		[ -e "$b" ] || { echo "DOMU: pci: NO PCI bus (the host bridge was not found)"; continue; }
		echo "DOMU: pci: bus $(basename "$b") under $(readlink -f "$b/device" | sed 's|/sys/devices/||')"
	done
	dmesg | grep -E 'SPIs implemented|pci-host-generic|pci_bus|pci 0000|PCI host|ECAM' | sed 's/^/DOMU: pci: dmesg: /'
	pci_devices
	modprobe virtio_pci && echo "DOMU: virtio_pci loaded"
}

if grep -q 'e2e.dry=1' /proc/cmdline; then
	if [ "$TEST" = blk ]; then
		modprobe virtio_blk && echo "DOMU: DRY: virtio_blk loaded (virtio_mmio not loaded)"
	else
		modprobe virtio_rng && echo "DOMU: DRY: virtio_rng loaded (virtio_mmio not loaded)"
	fi
	echo "DOMU: DRY: lsmod: $(lsmod | awk 'NR>1{print $1}' | tr '\n' ' ')"
	echo "DOMU: DRY: rng_current = $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
else
	T0=$(up)
	if [ "$TEST" = pci ]; then
		pci_probe
	else
		modprobe virtio_mmio && echo "DOMU: virtio_mmio loaded"
	fi
	if [ "$TEST" = blk ] || [ "$TEST" = pci ]; then
		modprobe virtio_blk && echo "DOMU: virtio_blk loaded"
	else
		modprobe virtio_rng && echo "DOMU: virtio_rng loaded"
	fi
	i=0
	while [ ! -e /sys/bus/virtio/devices/virtio0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	for d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$d" ] || { echo "DOMU: no virtio device appeared"; continue; }
		drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
		echo "DOMU: $(basename "$d"): device $(cat "$d/device") vendor $(cat "$d/vendor")" \
			"status $(cat "$d/status" 2>/dev/null) driver ${drv:-none}"
	done
	if [ "$TEST" = pci ]; then
		pci_devices
		for d in /sys/bus/virtio/devices/virtio*; do
			[ -e "$d" ] && echo "DOMU: pci: $(basename "$d") is on $(readlink -f "$d" | sed 's|/sys/devices/||')"
		done
	fi
	if [ "$TEST" = blk ] || [ "$TEST" = pci ]; then
		blk_test
		[ "$TEST" = pci ] && grep -E 'virtio|CPU' /proc/interrupts | tr -s ' ' | sed 's/^/DOMU: pci: interrupts: /'
		dmesg | grep -E 'virtio|vda|blk|I/O error|abort|Unable to handle|Internal error|Oops|BUG' |
			tail -20 | sed 's/^/DOMU: dmesg: /'
		echo "DOMU: END at uptime $(up) s"
		while :; do sleep 3600; done
	fi
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
# e2e.test=rngloop (the guests boot's domU): keep reading /dev/hwrng, 4 KiB a time, while dom0
# destroys and creates the other guest; a short read (or one that hangs 30 s) is an error.
if [ "$TEST" = rngloop ]; then
	i=0 err=0
	while :; do
		n=$(timeout 30 head -c 4096 /dev/hwrng | wc -c)
		i=$((i + 1))
		[ "$n" = 4096 ] || err=$((err + 1))
		echo "DOMU: LOOP: read $i: $n bytes, $err errors so far, uptime $(up) s"
	done
fi
# Stay alive: dom0 destroys this domain.
while :; do sleep 3600; done
