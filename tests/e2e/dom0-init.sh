#!/bin/sh
# dom0 /init of the xvdm end-to-end test. Brings up the Xen toolstack from a busybox
# initramfs, starts xvdm in watch mode, then twice: xl create the domU (a virtio-mmio slot
# that xvdm serves as virtio-rng), wait for the domU's "DOMU: END" marker in its console log,
# xl destroy it (timed) and check that xvdm is still running. Finally SIGTERM xvdm, print
# its log and power off. Every result is an "E2E:" line; the domU's console is relayed as
# "U<round>| " lines and xvdm's log as "XVDM| " lines. tests/e2e/e2e.sh judges them.
# The blk test (e2e.test=blk, dom0-blk.cpio.gz) first writes an 8 MiB image of random bytes
# (/root/disk.raw; the md5s of three regions printed, a copy kept) and serves it twice as
# vhost-user-blk: Debian's qemu-storage-daemon on /run/vub.sock and our vhub-blk (F_XEN_MMAP:
# it maps guest RAM itself through /dev/xen/privcmd) on /run/vhub.sock, and waits for both
# sockets. xvdm runs with /etc/xvdm/xvdm-blk.conf: slot xvda = qemu-storage-daemon in
# mem=shadow, slot xvdb = vhub-blk in mem=xen-mmap. Round 1 creates the domU with an xvda
# disk (domU-blk.cfg), round 2 with an xvdb disk (domU-blk-xen.cfg); each time the domU
# reads and writes /dev/vda (domU-init.sh), and after each xl destroy dom0 prints the md5s
# of the image's regions again and checks that both back-ends still run. Their logs are
# printed at the end as "QSD| " and "VHUB| " lines.
# The PCI round (e2e.pci=1, after the blk rounds, same image and qemu-storage-daemon): a
# virtio-blk device on virtio-pci. dom0 writes the guest's partial device tree with
# `xvdm dtb --config /etc/xvdm/xvdm-pci.conf --guest domU -o /root/xvdm-pci.dtb`, runs
# `xl create -p /root/domU-pci.cfg` (paused: nothing may touch the ECAM window before
# xvdm claims it), starts a second xvdm, `xvdm --config /etc/xvdm/xvdm-pci.conf -v` (static
# devices, the guest found by name in xenstore), waits for its "ready" line, then
# `xl unpause`. The domU enumerates the bus, binds virtio_pci and virtio_blk and runs the
# blk test; dom0 destroys it (timed), expects that xvdm to exit 0 by itself (its only
# guest is gone), and checks the image as after the other rounds. Markers "E2E: P: ",
# console "UP| ", that xvdm's log "XVDMP| ".
# The SHMEM round (e2e.shm=1, last): VIRTIO shared memory through virtio-mmio. dom0 starts
# tests/backends/vhub-shm on /run/vshm.sock (GET_SHMEM_CONFIG: region 0 of 1 MiB; it maps
# 4 KiB (a page) of a memfd of known content at the region's start once xvdm's back-end channel is
# up), writes the guest's virtio,mmio node with `xvdm dtb --config
# /etc/xvdm/xvdm-shm.conf`, runs `xl create -p /root/domU-shm.cfg`, starts a third xvdm,
# `xvdm --config /etc/xvdm/xvdm-shm.conf -v` (a vhost-user-device, device-id 42, base
# 0x2000000, SPI 33), unpauses the guest. The domU's shm-probe finds the region through
# SHMSel/SHMLen/SHMBase, compares the bytes, times reads, prints "SHM-PROBE: UNMAP-NOW";
# dom0 then sends vhub-shm SIGUSR1 (unmap everything) and, on "SHM-PROBE: MAP-AGAIN",
# SIGUSR2 (map again). The same device on virtio-pci (slot 1, BAR 4), backed by a second
# vhub-shm on /run/vshm-pci.sock: shm-probe pci reads it and prints
# "SHM-PROBE: PCI-UNMAP-NOW", dom0 sends that vhub-shm SIGUSR1. Then xl destroy (timed),
# that xvdm exits 0 by itself, both vhub-shm exit 0 on SIGTERM. Markers "E2E: S: ",
# console "US| ", logs "XVDMS| ", "VSHM| " and "VSHMP| ".
# The guests boot (e2e.test=guests, dom0.cpio.gz): one xvdm --watch (xvdm-guests.conf) serves
# two guests through 20 create/destroy cycles (xvdm's fds and VmRSS after each), then one
# guest reads its rng in a loop while the other is destroyed and created beside it; then xl
# starts xvdm as a guest's device model (domU-dm.cfg). See guests_round and dm_round below.
# Kernel cmdline knobs (dom0 bootargs):
#   e2e.test=rng|blk|guests   the scenario (default rng); blk: e2e.rounds=1 is
#                      qemu-storage-daemon (shadow) only; guests: e2e.cycles=N (default 20),
#                      e2e.reboots=N (default 3), e2e.dmtest=0 (no device-model test)
#   e2e.dm=xvdm|fake   xvdm (default): run /usr/bin/xvdm; fake: a shell loop plays only the
#                      backend's xenstore handshake (state 1->2, 5->6), and the domU is told
#                      e2e.dry=1 (it must not touch the unserved virtio-mmio window)
#   e2e.rounds=N       create/destroy rounds (default 2)
#   e2e.wait=S         seconds to wait for the domU's END marker per round (default 300)
#   e2e.xlv=-v         xl verbosity for create (default -v)
#   e2e.logmax=N       print at most N lines of xvdm's log, half from each end
#                      (default 600; 0 = all)
#   e2e.debug=1        run xvdm with -v -v (debug log) instead of -v
#   e2e.pci=1          (blk test) then the PCI round; e2e.rounds=0 e2e.pci=1: the PCI
#                      round alone
#   e2e.shm=1          (blk test) then the SHMEM round (after the PCI round); e2e.rounds=0
#                      e2e.pci=0 e2e.shm=1: the SHMEM round alone
#   e2e.live=1         PCI and SHMEM rounds: relay the domU's console ("LU| ") and xvdm's
#                      log ("LX| ") as they are written (for a guest that hangs)
#   e2e.shell=1        drop to an interactive shell at the end instead of powering off
/bin/busybox --install -s
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/xen /var/log/xen/console /run/lock
up() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$(up) $1" | awk '{printf "%.2f", $1-$2}'; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
say() { echo "E2E: $*"; }
say "dom0 userspace up at uptime $(up) s"

DM=$(arg e2e.dm); DM=${DM:-xvdm}
TEST=$(arg e2e.test); TEST=${TEST:-rng}
ROUNDS=$(arg e2e.rounds)
WAIT=$(arg e2e.wait); WAIT=${WAIT:-300}
XLV=$(arg e2e.xlv); XLV=${XLV:--v}
LOGMAX=$(arg e2e.logmax); LOGMAX=${LOGMAX:-600}
CFGS=/root/domU-rng.cfg # round N uses the Nth (or the last)
XCONF=/etc/xvdm/xvdm.conf
case $TEST in
blk)
	CFGS="/root/domU-blk.cfg /root/domU-blk-xen.cfg"
	XCONF=/etc/xvdm/xvdm-blk.conf
	;;
guests)
	XCONF=/etc/xvdm/xvdm-guests.conf
	ROUNDS=${ROUNDS:-0}
	;;
esac
ROUNDS=${ROUNDS:-2}
PCI=$(arg e2e.pci)
[ "$TEST" = blk ] || PCI=0
SHM=$(arg e2e.shm)
[ "$TEST" = blk ] || SHM=0
CON=/var/log/xen/console/guest-domU.log
XLOG=/var/log/xvdm.log
say "test $TEST: $CFGS, $XCONF, $ROUNDS round(s)$([ "$PCI" = 1 ] && echo ", then the PCI round")$([ "$SHM" = 1 ] && echo ", then the SHMEM round")"

for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc loop; do
	modprobe $m || say "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xen/xenstored.pid || say "xenstored failed"
xen-init-dom0 || say "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	say "xenconsoled failed"
xl list >/dev/null && say "toolstack up at uptime $(up) s"
xl info | grep -E 'xen_version|nr_cpus|free_memory'

# libxl's "standalone" backend type insists that the disk target is a dom0 block device
dd if=/dev/zero of=/run/disk.img bs=1M count=8 2>/dev/null
losetup /dev/loop0 /run/disk.img && say "/dev/loop0 ready"
if [ "$TEST" = guests ]; then # the second guest's disk entry needs its own target
	dd if=/dev/zero of=/run/disk1.img bs=1M count=1 2>/dev/null
	losetup /dev/loop1 /run/disk1.img && say "/dev/loop1 ready"
fi

# Timestamp every write of a backend state (libxl waits 10 s for 1 -> 2 on create and for
# 5 -> 6 on destroy): "E2E: xs: <path>/state written at uptime <s> (now <value>)". The
# time is taken when the watch fires; the value is read afterwards and may be newer.
xenstore-watch /local/domain/0/backend/virtio_disk | while read -r p; do
	case $p in
	*/state)
		read -r t _ < /proc/uptime
		echo "E2E: xs: $p written at uptime $t s (now $(xenstore-read "$p" 2>/dev/null || echo removed))"
		;;
	esac
done &

# alive PID: running and not a zombie (kill -0 alone succeeds on a zombie)
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# The blk test's disk, in 1 MiB units: the domU reads all of it (md5 of the three regions
# before, in and after the write window) and writes BLK_WR_MIB at BLK_WR_AT_MIB
# (domU-init.sh uses the same numbers). dom0 hashes the whole image once (md5 is slow
# under TCG); after each round only the window, and it checks with cmp against its copy
# of the previous image (the window replaced) that nothing else changed.
IMG=/root/disk.raw
IMG_MIB=8 BLK_WR_AT_MIB=5 BLK_WR_MIB=1
md5r() { dd if=$IMG bs=1M skip="$1" count="$2" 2>/dev/null | md5sum | cut -d' ' -f1; }
blk_initial() {
	say "blk: initial: md5 of $IMG: before $(md5r 0 $BLK_WR_AT_MIB)," \
		"window $(md5r $BLK_WR_AT_MIB $BLK_WR_MIB)," \
		"after $(md5r $((BLK_WR_AT_MIB + BLK_WR_MIB)) $((IMG_MIB - BLK_WR_AT_MIB - BLK_WR_MIB)))"
	cp $IMG /root/disk.prev
}
blk_after() { # label
	w=$(md5r $BLK_WR_AT_MIB $BLK_WR_MIB)
	dd if=$IMG of=/root/disk.prev bs=1M skip=$BLK_WR_AT_MIB seek=$BLK_WR_AT_MIB count=$BLK_WR_MIB \
		conv=notrunc 2>/dev/null
	if c=$(cmp /root/disk.prev $IMG 2>&1); then
		say "blk: $1: md5 of $IMG: window $w; the rest is unchanged (cmp)"
	else
		say "blk: $1: md5 of $IMG: window $w; the rest CHANGED (cmp: $c)"
		cp $IMG /root/disk.prev
	fi
}
QSD_PID='' VHUB_PID=''
QLOG=/var/log/qsd.log VLOG=/var/log/vhub.log
if [ "$TEST" = blk ]; then
	dd if=/dev/urandom of=$IMG bs=1M count=$IMG_MIB 2>/dev/null
	say "blk: image $IMG size $(stat -c %s $IMG) bytes (random)"
	blk_initial
	if command -v qemu-storage-daemon >/dev/null; then
		say "qsd: $(qemu-storage-daemon --version | head -1)"
		T0=$(up)
		qemu-storage-daemon --blockdev driver=file,node-name=f0,filename=$IMG \
			--export type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=/run/vub.sock,writable=on \
			> $QLOG 2>&1 &
		QSD_PID=$!
		i=0
		while [ ! -S /run/vub.sock ] && [ $i -lt 300 ] && alive $QSD_PID; do sleep 0.05; i=$((i + 1)); done
		if [ -S /run/vub.sock ]; then
			say "qsd: socket /run/vub.sock appeared $(since $T0) s after start (pid $QSD_PID)"
		else
			say "qsd: NO socket /run/vub.sock $(since $T0) s after start"
			sed 's/^/QSD| /' $QLOG
		fi
	else
		say "qsd: no qemu-storage-daemon in this image (boot dom0-blk.cpio.gz)"
	fi
	if command -v vhub-blk >/dev/null; then
		T0=$(up)
		vhub-blk --socket /run/vhub.sock --disk $IMG > $VLOG 2>&1 &
		VHUB_PID=$!
		i=0
		while [ ! -S /run/vhub.sock ] && [ $i -lt 300 ] && alive $VHUB_PID; do sleep 0.05; i=$((i + 1)); done
		if [ -S /run/vhub.sock ]; then
			say "vhub: socket /run/vhub.sock appeared $(since "$T0") s after start (pid $VHUB_PID)"
		else
			say "vhub: NO socket /run/vhub.sock $(since "$T0") s after start"
			sed 's/^/VHUB| /' $VLOG
		fi
	else
		say "vhub: no vhub-blk in this image"
	fi
fi

XVDM_PID=
XL_EXTRA=
V=-v
[ "$(arg e2e.debug)" = 1 ] && V="-v -v"
[ "$DM" = xvdm ] || PCI=0 SHM=0
case $DM in
xvdm)
	if [ -x /usr/bin/xvdm ]; then
		# shellcheck disable=SC2086
		xvdm --watch --config $XCONF $V > "$XLOG" 2>&1 &
		XVDM_PID=$!
		say "started: xvdm --watch --config $XCONF $V (log $XLOG)"
		sleep 1
		if alive $XVDM_PID; then
			say "xvdm started (pid $XVDM_PID)"
		else
			say "xvdm exited at start-up"
		fi
	else
		say "no /usr/bin/xvdm in this image"
	fi
	;;
fake)
	# Stand-in for a device model's xenstore handshake only: libxl waits (10 s) for
	# backend/virtio_disk/<domid>/<devid>/state 2 on create, and for 6 after it writes 5.
	(
		while :; do
			for dom in $(xenstore-list /local/domain/0/backend/virtio_disk 2>/dev/null); do
				for dev in $(xenstore-list /local/domain/0/backend/virtio_disk/$dom 2>/dev/null); do
					p=/local/domain/0/backend/virtio_disk/$dom/$dev
					case "$(xenstore-read $p/state 2>/dev/null)" in
					1) xenstore-write $p/state 2 && say "fake backend: $p/state 1 -> 2" ;;
					5) xenstore-write $p/state 6 && say "fake backend: $p/state 5 -> 6" ;;
					esac
				done
			done
			sleep 0.2
		done
	) &
	XL_EXTRA="extra=\"console=hvc0 rdinit=/init e2e.test=$TEST e2e.dry=1\""
	say "fake backend started (dry run: the domU does not touch the virtio-mmio window)"
	;;
esac

# domu_console TAG PREFIX: wait (WAIT s) for the domU's END marker in its console log from
# byte $off on, or for the domain to go away, then relay the console as "PREFIX| " lines
domu_console() {
	seen=0
	i=0
	while [ $i -lt $((WAIT * 5)) ]; do
		# a new domain with the same name appends to the same console log
		[ "$(stat -c %s $CON 2>/dev/null || echo 0)" -lt "$off" ] && off=0
		if tail -c +$((off + 1)) $CON 2>/dev/null | grep -q 'DOMU: END'; then seen=1; break; fi
		xl list domU >/dev/null 2>&1 || break
		sleep 0.2
		i=$((i + 1))
	done
	if [ $seen = 1 ]; then
		say "$1: domU END marker after $(since $T0) s"
	else
		say "$1: NO domU END marker after $(since $T0) s"
	fi
	say "$1: ---- domU console ----"
	tail -c +$((off + 1)) $CON 2>/dev/null | tr -d '\r' | sed "s/^/$2| /"
	say "$1: ---- end of domU console ----"
}

# print_log FILE PREFIX: at most LOGMAX lines of a log, half from each end
print_log() {
	lines=$(wc -l < "$1")
	if [ "$LOGMAX" = 0 ] || [ "$lines" -le "$LOGMAX" ]; then
		tr -d '\r' < "$1" | sed "s/^/$2| /"
	else
		head -n $((LOGMAX / 2)) "$1" | tr -d '\r' | sed "s/^/$2| /"
		echo "$2| ... $((lines - LOGMAX / 2 * 2)) lines left out (e2e.logmax=0 prints all) ..."
		tail -n $((LOGMAX / 2)) "$1" | tr -d '\r' | sed "s/^/$2| /"
	fi
}

# round N: create, wait for the domU's END marker, relay its console, destroy (timed)
round() {
	n=$1
	CFG=$(echo $CFGS | awk -v n="$n" '{print $(n <= NF ? n : NF)}')
	off=$(stat -c %s $CON 2>/dev/null || echo 0)
	T0=$(up)
	say "R$n: xl create $CFG at uptime $T0 s"
	if [ -n "$XL_EXTRA" ]; then xl $XLV create $CFG "$XL_EXTRA"; else xl $XLV create $CFG; fi
	rc=$?
	if [ $rc != 0 ]; then
		say "R$n: xl create FAILED (rc $rc)"
		tail -20 /var/log/xen/xl-domU.log 2>/dev/null
		return 1
	fi
	say "R$n: xl create returned after $(since $T0) s"
	domid=$(xl domid domU)
	say "R$n: domid $domid"
	[ "$n" = 1 ] && xenstore-ls -f /local/domain/0/backend/virtio_disk 2>/dev/null | sed 's/^/E2E: R1: xs: /'
	domu_console "R$n" "U$n"
	xl list
	T1=$(up)
	say "R$n: xl destroy domU at uptime $T1 s"
	xl destroy domU
	rc=$?
	say "R$n: xl destroy rc=$rc took $(since $T1) s"
	if xenstore-ls /local/domain/0/backend/virtio_disk/$domid >/dev/null 2>&1; then
		say "R$n: backend/virtio_disk/$domid still in xenstore:"
		xenstore-ls -f /local/domain/0/backend/virtio_disk/$domid
	else
		say "R$n: backend/virtio_disk/$domid removed"
	fi
	if [ -n "$XVDM_PID" ]; then
		if alive $XVDM_PID; then
			say "R$n: xvdm still running after xl destroy (pid $XVDM_PID)"
		else
			say "R$n: xvdm NOT running after xl destroy"
		fi
	fi
	if [ -n "$QSD_PID" ]; then
		if alive $QSD_PID; then
			say "R$n: qemu-storage-daemon still running after xl destroy (pid $QSD_PID)"
		else
			say "R$n: qemu-storage-daemon NOT running after xl destroy"
		fi
	fi
	if [ -n "$VHUB_PID" ]; then
		if alive $VHUB_PID; then
			say "R$n: vhub-blk still running after xl destroy (pid $VHUB_PID)"
		else
			say "R$n: vhub-blk NOT running after xl destroy"
		fi
	fi
	if [ "$TEST" = blk ]; then blk_after "R$n: after destroy"; fi
}

# The PCI round (e2e.pci=1): see the header. Label P, console "UP| ".
PCONF=/etc/xvdm/xvdm-pci.conf PCFG=/root/domU-pci.cfg PDTB=/root/xvdm-pci.dtb
PLOG=/var/log/xvdm-pci.log
pci_round() {
	say "P: PCI round: $PCFG, $PCONF"
	T0=$(up)
	xvdm dtb --config $PCONF --guest domU -o $PDTB
	rc=$?
	say "P: xvdm dtb --config $PCONF --guest domU -o $PDTB: rc $rc, $(stat -c %s $PDTB 2>/dev/null || echo no) bytes, md5 $(md5sum < $PDTB 2>/dev/null | cut -d' ' -f1) ($(since $T0) s)"
	off=$(stat -c %s $CON 2>/dev/null || echo 0)
	T0=$(up)
	say "P: xl create -p $PCFG at uptime $T0 s"
	xl $XLV create -p $PCFG
	rc=$?
	if [ $rc != 0 ]; then
		say "P: xl create -p FAILED (rc $rc)"
		tail -20 /var/log/xen/xl-domU.log 2>/dev/null
		return 1
	fi
	domid=$(xl domid domU)
	say "P: xl create -p returned after $(since $T0) s: domid $domid, state $(xl list domU | awk 'NR == 2 {print $5}')"
	T1=$(up)
	# shellcheck disable=SC2086
	xvdm --config $PCONF $V > $PLOG 2>&1 &
	PX_PID=$!
	say "P: started: xvdm --config $PCONF $V (log $PLOG)"
	i=0
	while ! grep -q ' ready$' $PLOG && [ $i -lt 400 ] && alive $PX_PID; do sleep 0.05; i=$((i + 1)); done
	if grep -q ' ready$' $PLOG && alive $PX_PID; then
		say "P: xvdm ready $(since $T1) s after start (pid $PX_PID)"
		LIVE=""
		if [ "$(arg e2e.live)" = 1 ]; then
			tail -c +$((off + 1)) -f $CON | sed 's/^/LU| /' &
			LIVE="$LIVE $!"
			tail -n +1 -f $PLOG | sed 's/^/LX| /' &
			LIVE="$LIVE $!"
		fi
		xl unpause domU
		say "P: xl unpause domU rc $? at uptime $(up) s"
		domu_console P UP
		# shellcheck disable=SC2086
		[ -n "$LIVE" ] && kill $LIVE 2>/dev/null
	else
		alive $PX_PID || { wait $PX_PID; say "P: xvdm exited at start-up with status $?"; }
		say "P: xvdm NOT ready after $(since $T1) s: the guest stays paused"
	fi
	xl list
	T1=$(up)
	say "P: xl destroy domU at uptime $T1 s"
	xl destroy domU
	rc=$?
	say "P: xl destroy rc=$rc took $(since $T1) s"
	# its only guest is gone: xvdm --config exits by itself
	i=0
	while alive $PX_PID && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	how="by itself"
	if alive $PX_PID; then
		say "P: xvdm still running $(since $T1) s after xl destroy: SIGTERM"
		kill -TERM $PX_PID
		how="after SIGTERM"
	fi
	wait $PX_PID
	say "P: xvdm exit status $? $how, $(since $T1) s after xl destroy"
	if [ -n "$QSD_PID" ]; then
		if alive $QSD_PID; then
			say "P: qemu-storage-daemon still running after xl destroy (pid $QSD_PID)"
		else
			say "P: qemu-storage-daemon NOT running after xl destroy"
		fi
	fi
	blk_after "P: after destroy"
	say "P: ---- xvdm log ($(wc -l < $PLOG) lines) ----"
	print_log $PLOG XVDMP
	say "P: ---- end of xvdm log ----"
}

# The SHMEM round (e2e.shm=1): see the header. Label S, console "US| ", that xvdm's log
# "XVDMS| ", vhub-shm's "VSHM| ". SHM_MAP (ID:SHM_OFFSET:LEN:ro:SEED) must match
# domU-init.sh's SHM_MAPLEN and SHM_SEED; the region is 1 MiB.
SCONF=/etc/xvdm/xvdm-shm.conf SCFG=/root/domU-shm.cfg SDTB=/root/xvdm-shm.dtb
SLOG=/var/log/xvdm-shm.log VSLOG=/var/log/vhub-shm.log
SHM_MAP=0:0:0x1000:ro:7 SHM_PCI_MAP=0:0:0x1000:ro:9
# wait_console MARKER: wait (WAIT s) for MARKER in the domU's console from byte $off on;
# fails at once when the domU printed its END marker or is gone
wait_console() {
	i=0
	while [ $i -lt $((WAIT * 5)) ]; do
		tail -c +$((off + 1)) $CON 2>/dev/null | grep -q "$1" && return 0
		tail -c +$((off + 1)) $CON 2>/dev/null | grep -q 'DOMU: END' && return 1
		xl list domU >/dev/null 2>&1 || return 1
		alive $SX_PID || { say "S: xvdm is gone while waiting for $1"; return 1; }
		if [ $((i % 50)) = 49 ]; then
			say "S: still waiting for $1: xvdm state $(cut -d' ' -f3 /proc/$SX_PID/stat) wchan $(cat /proc/$SX_PID/wchan) $(xl vcpu-list domU | tail -1)"
		fi
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
shm_round() {
	say "S: SHMEM round: $SCFG, $SCONF"
	if ! command -v vhub-shm >/dev/null || [ ! -f /root/domU-shm.cpio.gz ]; then
		say "S: no vhub-shm or /root/domU-shm.cpio.gz in this image"
		return 1
	fi
	T0=$(up)
	vhub-shm --socket /run/vshm.sock --regions 0:0x100000 --map $SHM_MAP > $VSLOG 2>&1 &
	VSHM_PID=$!
	vhub-shm --socket /run/vshm-pci.sock --regions 0:0x100000 --map $SHM_PCI_MAP > $VSLOG.pci 2>&1 &
	VSHMP_PID=$!
	i=0
	while { [ ! -S /run/vshm.sock ] || [ ! -S /run/vshm-pci.sock ]; } && [ $i -lt 300 ] &&
		alive $VSHM_PID && alive $VSHMP_PID; do sleep 0.05; i=$((i + 1)); done
	if [ -S /run/vshm.sock ] && [ -S /run/vshm-pci.sock ]; then
		say "S: vhub-shm: sockets /run/vshm.sock and /run/vshm-pci.sock appeared $(since "$T0") s after start (pids $VSHM_PID $VSHMP_PID; region 0 of 1 MiB, --map $SHM_MAP and $SHM_PCI_MAP)"
	else
		say "S: vhub-shm: NO socket /run/vshm.sock or /run/vshm-pci.sock $(since "$T0") s after start"
		sed 's/^/VSHM| /' $VSLOG $VSLOG.pci
		return 1
	fi
	T0=$(up)
	xvdm dtb --config $SCONF --guest domU -o $SDTB
	say "S: xvdm dtb --config $SCONF --guest domU -o $SDTB: rc $?, $(stat -c %s $SDTB 2>/dev/null || echo no) bytes ($(since $T0) s)"
	off=$(stat -c %s $CON 2>/dev/null || echo 0)
	T0=$(up)
	say "S: xl create -p $SCFG at uptime $T0 s"
	xl $XLV create -p $SCFG
	rc=$?
	if [ $rc != 0 ]; then
		say "S: xl create -p FAILED (rc $rc)"
		tail -20 /var/log/xen/xl-domU.log 2>/dev/null
		return 1
	fi
	domid=$(xl domid domU)
	say "S: xl create -p returned after $(since $T0) s: domid $domid, state $(xl list domU | awk 'NR == 2 {print $5}')"
	T1=$(up)
	# shellcheck disable=SC2086
	xvdm --config $SCONF $V > $SLOG 2>&1 &
	SX_PID=$!
	say "S: started: xvdm --config $SCONF $V (log $SLOG)"
	i=0
	while ! grep -q ' ready$' $SLOG && [ $i -lt 400 ] && alive $SX_PID; do sleep 0.05; i=$((i + 1)); done
	if grep -q ' ready$' $SLOG && alive $SX_PID; then
		say "S: xvdm ready $(since $T1) s after start (pid $SX_PID)"
		LIVE=""
		if [ "$(arg e2e.live)" = 1 ]; then
			tail -c +$((off + 1)) -f $CON | sed 's/^/LU| /' &
			LIVE="$LIVE $!"
			tail -n +1 -f $SLOG | sed 's/^/LX| /' &
			LIVE="$LIVE $!"
		fi
		xl unpause domU
		say "S: xl unpause domU rc $? at uptime $(up) s"
		T2=$(up)
		# shm-probe checked the mapped bytes and measured: the back-end unmaps everything
		if wait_console 'SHM-PROBE: UNMAP-NOW'; then
			kill -USR1 $VSHM_PID
			say "S: the domU's UNMAP-NOW marker after $(since "$T2") s: SIGUSR1 to vhub-shm (unmap everything) rc $?"
		else
			say "S: NO UNMAP-NOW marker from the domU after $(since "$T2") s"
		fi
		# the domU saw zeros: the back-end maps its --map list again
		T2=$(up)
		if wait_console 'SHM-PROBE: MAP-AGAIN'; then
			kill -USR2 $VSHM_PID
			say "S: the domU's MAP-AGAIN marker after $(since "$T2") s: SIGUSR2 to vhub-shm (map again) rc $?"
		else
			say "S: NO MAP-AGAIN marker from the domU after $(since "$T2") s"
		fi
		# the virtio-pci device's back-end unmaps
		T2=$(up)
		if wait_console 'SHM-PROBE: PCI-UNMAP-NOW'; then
			kill -USR1 $VSHMP_PID
			say "S: the domU's PCI-UNMAP-NOW marker after $(since "$T2") s: SIGUSR1 to the virtio-pci device's vhub-shm rc $?"
		else
			say "S: NO PCI-UNMAP-NOW marker from the domU after $(since "$T2") s"
		fi
		domu_console S US
		# shellcheck disable=SC2086
		[ -n "$LIVE" ] && kill $LIVE 2>/dev/null
	else
		alive $SX_PID || { wait $SX_PID; say "S: xvdm exited at start-up with status $?"; }
		say "S: xvdm NOT ready after $(since $T1) s: the guest stays paused"
	fi
	xl list
	T1=$(up)
	say "S: xl destroy domU at uptime $T1 s"
	xl destroy domU
	rc=$?
	say "S: xl destroy rc=$rc took $(since $T1) s"
	i=0
	while alive $SX_PID && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	how="by itself"
	if alive $SX_PID; then
		say "S: xvdm still running $(since $T1) s after xl destroy: SIGTERM"
		kill -TERM $SX_PID
		how="after SIGTERM"
	fi
	wait $SX_PID
	say "S: xvdm exit status $? $how, $(since $T1) s after xl destroy"
	if alive $VSHM_PID && alive $VSHMP_PID; then
		say "S: vhub-shm still running after xl destroy (both; pids $VSHM_PID $VSHMP_PID)"
	else
		say "S: vhub-shm NOT running after xl destroy"
	fi
	kill -TERM $VSHM_PID $VSHMP_PID 2>/dev/null
	wait $VSHM_PID
	rc=$?
	wait $VSHMP_PID
	say "S: vhub-shm exit status $rc (virtio-pci's: $?) after SIGTERM"
	say "S: ---- xvdm log ($(wc -l < $SLOG) lines) ----"
	print_log $SLOG XVDMS
	say "S: ---- end of xvdm log ----"
	say "S: ---- vhub-shm log ($(wc -l < $VSLOG) lines) ----"
	tail -n 100 $VSLOG | tr -d '\r' | sed 's/^/VSHM| /'
	tail -n 100 $VSLOG.pci | tr -d '\r' | sed 's/^/VSHMP| /'
	say "S: ---- end of vhub-shm log ----"
}

# The guests boot (e2e.test=guests): one `xvdm --watch` serves two guests (domU-g1.cfg
# "domU", domU-g2.cfg "domU2", a virtio-rng slot each). Markers "E2E: G: ".
# 1. GCYCLES cycles (e2e.cycles, default 20) of: xl create domU and domU2 at once (each
#    returns once xvdm has answered libxl's handshake), xvdm's fds and VmRSS while serving
#    both, xl destroy of both at once; after each cycle xvdm's open fds (ls /proc/PID/fd)
#    and VmRSS, "E2E: G: cycle N: ...".
# 2. domU (e2e.test=rngloop) reads /dev/hwrng in a loop while domU2 is destroyed and
#    created GREBOOTS times (e2e.reboots, default 3; each time domU2 reads its 64 KiB);
#    then domU's console is relayed ("UG1| "), domU2's last one ("UG2| ").
GCON2=/var/log/xen/console/guest-domU2.log
xvdm_usage() { # "fds F rss R kB"
	echo "fds $(ls /proc/$XVDM_PID/fd 2>/dev/null | wc -l) rss $(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' /proc/$XVDM_PID/status) kB"
}
# gcreate NAME CFG LABEL: xl create, with the time it took
gcreate() {
	t=$(up)
	xl create "$2" > /tmp/xl.$1.out 2>&1
	rc=$?
	[ $rc = 0 ] || { say "G: $3: xl create $2 FAILED rc $rc"; sed 's/^/E2E: G: xl| /' /tmp/xl.$1.out; } >&2
	echo "$(since "$t")"
	return $rc
}
gdestroy() { # NAME LABEL
	t=$(up)
	xl destroy "$1" > /tmp/xl.$1.out 2>&1
	rc=$?
	[ $rc = 0 ] || { say "G: $2: xl destroy $1 FAILED rc $rc"; sed 's/^/E2E: G: xl| /' /tmp/xl.$1.out; } >&2
	echo "$(since "$t")"
	return $rc
}
guests_round() {
	GCYCLES=$(arg e2e.cycles); GCYCLES=${GCYCLES:-20}
	GREBOOTS=$(arg e2e.reboots); GREBOOTS=${GREBOOTS:-3}
	say "G: xvdm pid $XVDM_PID before the cycles: $(xvdm_usage)"
	TG=$(up)
	c=1 bad=0
	while [ $c -le "$GCYCLES" ]; do
		T0=$(up)
		# both at once: libxl serialises what must be, xvdm sees two guests arrive together
		{ gcreate domU /root/domU-g1.cfg "cycle $c" > /tmp/c1 || echo FAILED >> /tmp/c1; } &
		p1=$!
		{ gcreate domU2 /root/domU-g2.cfg "cycle $c" > /tmp/c2 || echo FAILED >> /tmp/c2; } &
		wait $p1 $! # not a bare wait: xvdm and the xenstore watch are children too
		d1=$(xl domid domU 2>/dev/null) d2=$(xl domid domU2 2>/dev/null)
		serving=$(xvdm_usage)
		{ gdestroy domU "cycle $c" > /tmp/x1 || echo FAILED >> /tmp/x1; } &
		p1=$!
		{ gdestroy domU2 "cycle $c" > /tmp/x2 || echo FAILED >> /tmp/x2; } &
		wait $p1 $!
		c1=$(head -1 /tmp/c1) c2=$(head -1 /tmp/c2) x1=$(head -1 /tmp/x1) x2=$(head -1 /tmp/x2)
		bad=$((bad + $(cat /tmp/c1 /tmp/c2 /tmp/x1 /tmp/x2 | grep -c FAILED)))
		left=$(xenstore-list /local/domain/0/backend/virtio_disk 2>/dev/null | tr '\n' ' ')
		alive $XVDM_PID || { say "G: cycle $c: xvdm NOT running"; break; }
		say "G: cycle $c: domids $d1 $d2, create $c1 s $c2 s, destroy $x1 s $x2 s, backends left [${left}], xvdm $(xvdm_usage), cycle $(since "$T0") s; serving both: $serving"
		c=$((c + 1))
	done
	say "G: $((c - 1)) of $GCYCLES cycles done in $(since "$TG") s, $bad xl failures"
	ls -l /proc/$XVDM_PID/fd 2>/dev/null | sed 's/^/E2E: G: fd| /'

	# 2. one guest reading, the other one destroyed and created beside it
	off=$(stat -c %s $CON 2>/dev/null || echo 0)
	T0=$(up)
	c1=$(gcreate domU /root/domU-g1.cfg "reboot") && say "G: R: domU created (domid $(xl domid domU)) in $c1 s"
	c2=$(gcreate domU2 /root/domU-g2.cfg "reboot") && say "G: R: domU2 created (domid $(xl domid domU2)) in $c2 s"
	i=0
	while [ $i -lt $((WAIT * 5)) ] && ! tail -c +$((off + 1)) $CON 2>/dev/null | grep -q 'DOMU: LOOP: read 1:'; do
		sleep 0.2; i=$((i + 1))
	done
	say "G: R: domU's read loop started after $(since "$T0") s"
	r=1
	while [ $r -le "$GREBOOTS" ]; do
		before=$(tail -c +$((off + 1)) $CON | grep -c 'DOMU: LOOP: read')
		x=$(gdestroy domU2 "reboot $r")
		off2=$(stat -c %s $GCON2 2>/dev/null || echo 0)
		T1=$(up)
		c2=$(gcreate domU2 /root/domU-g2.cfg "reboot $r")
		say "G: R: reboot $r: domU2 destroyed in $x s, created again (domid $(xl domid domU2)) in $c2 s"
		i=0
		while [ $i -lt $((WAIT * 5)) ] && ! tail -c +$((off2 + 1)) $GCON2 2>/dev/null | grep -q 'DOMU: END'; do
			sleep 0.2; i=$((i + 1))
		done
		got=$(tail -c +$((off2 + 1)) $GCON2 | tr -d '\r' | grep -a 'DOMU: RESULT: head -c 65536' | sed 's/.*wc -c = \([0-9]*\).*/\1/')
		after=$(tail -c +$((off + 1)) $CON | grep -c 'DOMU: LOOP: read')
		say "G: R: reboot $r: domU2 read ${got:-nothing} bytes from /dev/hwrng $(since "$T1") s after create; domU's loop lines $before -> $after"
		r=$((r + 1))
	done
	sleep 2
	last=$(tail -c +$((off + 1)) $CON | tr -d '\r' | grep -a 'DOMU: LOOP: read' | tail -1)
	say "G: R: domU's last loop line: ${last#DOMU: LOOP: }"
	say "G: R: xvdm after the reboots: $(xvdm_usage)"
	say "G: R: ---- domU console ----"
	tail -c +$((off + 1)) $CON | tr -d '\r' | grep -av 'DOMU: LOOP: read' | sed 's/^/UG1| /'
	tail -c +$((off + 1)) $CON | tr -d '\r' | grep -a 'DOMU: LOOP: read' | awk 'NR <= 3 || NR % 25 == 0' | sed 's/^/UG1| /'
	say "G: R: ---- domU2 console (the last one) ----"
	tail -c +$((off2 + 1)) $GCON2 | tr -d '\r' | sed 's/^/UG2| /'
	say "G: R: ---- end of consoles ----"
	x1=$(gdestroy domU "end") && x2=$(gdestroy domU2 "end") && say "G: R: both destroyed ($x1 s, $x2 s)"
	alive $XVDM_PID && say "G: xvdm still running after all ($(xvdm_usage))"
}

# The guests boot, then: xl starts xvdm as a guest's device model (domU-dm.cfg:
# device_model_override, device_model_args, vfb so that libxl starts one at all). Markers
# "E2E: D: ", the domU's console "UD| ", xvdm's log (libxl's qemu-dm-domUdm.log) "XDM| ".
dm_round() {
	DCON=/var/log/xen/console/guest-domUdm.log
	DLOG=/var/log/xen/qemu-dm-domUdm.log
	xvdm dtb --device rng,transport=mmio,base=0x2000000,irq=33 -o /root/xvdm-dm.dtb > /tmp/dtb.out 2>&1
	say "D: xvdm dtb --device rng,transport=mmio,base=0x2000000,irq=33: rc $?, $(stat -c %s /root/xvdm-dm.dtb 2>/dev/null) bytes"
	T0=$(up)
	xl -vvv create /root/domU-dm.cfg > /tmp/xl-dm.out 2>&1
	rc=$?
	say "D: xl create domU-dm.cfg rc $rc after $(since "$T0") s"
	grep -a -i -E 'spawn|device.model|dm|qmp|error|fail|arg' /tmp/xl-dm.out | tail -60 | sed 's/^/E2E: D: xl| /'
	d=$(xl domid domUdm 2>/dev/null)
	if [ $rc = 0 ] && [ -n "$d" ]; then
		say "D: domid $d, device-model/$d/state = $(xenstore-read /local/domain/0/device-model/$d/state 2>/dev/null || echo none)"
		for p in $(pidof xvdm); do
			[ "$p" = "$XVDM_PID" ] && continue
			DPID=$p
			say "D: device model pid $p: $(tr '\0' ' ' < /proc/$p/cmdline)"
		done
		ls -l /var/run/xen/qmp-* 2>/dev/null | sed 's/^/E2E: D: run| /'
		xl qemu-monitor-command "$d" "info version" > /tmp/qmc.out 2>&1
		say "D: xl qemu-monitor-command (human-monitor-command) rc $?: $(tr '\n' ' ' < /tmp/qmc.out | cut -c1-200)"
		off=0
		T0=$(up)
		i=0
		while [ $i -lt $((WAIT * 5)) ] && ! grep -q 'DOMU: END' $DCON 2>/dev/null; do
			sleep 0.2; i=$((i + 1))
		done
		say "D: domU END marker $(grep -q 'DOMU: END' $DCON 2>/dev/null && echo seen || echo NOT seen) after $(since "$T0") s"
		say "D: ---- domU console ----"
		tr -d '\r' < $DCON | sed 's/^/UD| /'
		say "D: ---- end of domU console ----"
		T1=$(up)
		xl destroy domUdm
		say "D: xl destroy rc=$? took $(since "$T1") s"
		i=0
		while [ -n "${DPID:-}" ] && alive "$DPID" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		if [ -n "${DPID:-}" ] && ! alive "$DPID"; then
			say "D: the device model xvdm exited $(since "$T1") s after xl destroy"
		else
			say "D: the device model xvdm still running $(since "$T1") s after xl destroy"
		fi
		say "D: device-model/$d in xenstore after destroy: $(xenstore-ls /local/domain/0/device-model/$d >/dev/null 2>&1 && echo present || echo gone)"
	else
		say "D: xl create FAILED; ---- xl -vvv output (tail) ----"
		tail -40 /tmp/xl-dm.out | sed 's/^/E2E: D: xlv| /'
		xl destroy domUdm 2>/dev/null
	fi
	say "D: ---- xvdm's log as device model ($DLOG) ----"
	tr -d '\r' < $DLOG 2>/dev/null | tail -80 | sed 's/^/XDM| /'
	say "D: ---- end of xvdm's log ----"
}
[ "$TEST" = guests ] && guests_round
[ "$TEST" = guests ] && [ "$(arg e2e.dmtest)" != 0 ] && dm_round

r=1
while [ $r -le "$ROUNDS" ]; do
	round $r
	r=$((r + 1))
done
[ "$PCI" = 1 ] && pci_round
[ "$SHM" = 1 ] && shm_round

if [ -n "$XVDM_PID" ]; then
	if alive $XVDM_PID; then
		T0=$(up)
		kill -TERM $XVDM_PID
		(sleep 10; kill -KILL $XVDM_PID 2>/dev/null) &
		WD=$!
		wait $XVDM_PID
		rc=$?
		kill $WD 2>/dev/null
		say "xvdm exit status $rc $(since $T0) s after SIGTERM"
	else
		wait $XVDM_PID
		say "xvdm had already exited with status $?"
	fi
	say "---- xvdm log ($(wc -l < $XLOG) lines) ----"
	print_log $XLOG XVDM
	say "---- end of xvdm log ----"
fi
if [ -n "$QSD_PID" ]; then
	kill -TERM $QSD_PID 2>/dev/null
	wait $QSD_PID
	say "qsd: exit status $? after SIGTERM; ---- qemu-storage-daemon log ($(wc -l < $QLOG) lines) ----"
	tail -n 100 $QLOG | tr -d '\r' | sed 's/^/QSD| /'
	say "---- end of qemu-storage-daemon log ----"
fi
if [ -n "$VHUB_PID" ]; then
	kill -TERM $VHUB_PID 2>/dev/null
	wait $VHUB_PID
	say "vhub: exit status $? after SIGTERM; ---- vhub-blk log ($(wc -l < $VLOG) lines) ----"
	tail -n 100 $VLOG | tr -d '\r' | sed 's/^/VHUB| /'
	say "---- end of vhub-blk log ----"
fi
free -m | sed -n 2p
say "dom0 done at uptime $(up) s"
if [ "$(arg e2e.shell)" = 1 ]; then
	exec setsid cttyhack sh
fi
sync
poweroff -f
