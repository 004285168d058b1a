#!/bin/sh
# dom0 /init of the perf lab (tests/e2e-trixie, Xen 4.20 and Linux 6.12 from trixie): bring
# up the toolstack, then run the same domU workload (domU-init.sh: blkbench) four times, one
# domU after the other, each on its own image of e2e.mib MiB of blkbench's pattern:
#   qemu  QEMU 10 xenpvh as libxl's device model, its own virtio-blk-device (bench-qemu.cfg)
#   qsd   xvdm --watch, shadow mode, qemu-storage-daemon (bench-qsd.cfg)
#   vhub  xvdm --watch, xen-mmap mode, vhub-blk (bench-vhub.cfg)
#   dm    xvdm as libxl's device model, xen-mmap, vhub-blk (bench-dm.cfg)
# For each: xl create -p, the server ready, unpause, the guest's BENCH lines, the CPU time
# (utime + stime, clock ticks) of the device model and back-end while blkbench ran, their
# VmRSS/VmHWM, xl destroy, then dom0's md5 of the image against the guest's and blkbench
# check. qemu and dm also get exec -> QMP greeting from dm-qemu/dm-xvdm (blkbench dmexec).
# Markers: "E2E: ..." (perf.sh parses "E2E: RUN <run> ..."). Knobs (dom0 cmdline):
# e2e.runs="qemu qsd vhub dm" (any subset, "+"-separated), e2e.mib=32, e2e.secs=5 (each random
# phase), e2e.wait=900 (per guest), e2e.shell=1.
/bin/busybox --install -s
export PATH=/usr/lib/xen-4.20/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/xen /var/log/xen/console /run/lock
up() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$(up) $1" | awk '{printf "%.2f", $1-$2}'; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
echo "E2E: dom0 userspace up at uptime $(up) s; kernel $(uname -r)"
RUNS=$(arg e2e.runs | tr '+' ' ')
RUNS=${RUNS:-qemu qsd vhub dm}
MIB=$(arg e2e.mib)
MIB=${MIB:-32}
SECS=$(arg e2e.secs)
SECS=${SECS:-5}
WAIT=$(arg e2e.wait)
WAIT=${WAIT:-900}

for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc loop; do
	modprobe $m || echo "E2E: modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen
T=$(up)
xenstored --pid-file /run/xen/xenstored.pid || echo "E2E: xenstored failed"
xen-init-dom0 > /dev/null || echo "E2E: xen-init-dom0 failed"
xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	echo "E2E: xenconsoled failed"
xl list > /dev/null && echo "E2E: toolstack up at uptime $(up) s ($(since $T) s)"
xl info | grep -E 'xen_version|xen_extra|nr_cpus|free_memory' | sed 's/^/E2E: xl info: /'
xenhypfs cat /buildinfo/config 2>/dev/null | grep -q '^CONFIG_IOREQ_SERVER=y' &&
	echo "E2E: hypervisor has CONFIG_IOREQ_SERVER=y" || echo "E2E: hypervisor has NO CONFIG_IOREQ_SERVER"
echo "E2E: CLK_TCK $(getconf CLK_TCK 2>/dev/null || echo 100)"
# the bookworm cross-build of xvdm on trixie's libraries (.so.1 Xen libraries, glib 2.84)
v=$(xvdm --version 2>&1 | head -1) && echo "E2E: xvdm runs: $v" || echo "E2E: xvdm does not run: $v"
v=$(vhub-blk --help 2>&1 | head -1)
echo "E2E: vhub-blk: $v"
echo "E2E: qemu-xen: $(qemu-system-aarch64-xen --version 2>&1 | head -1)"
echo "E2E: qsd: $(qemu-storage-daemon --version 2>&1 | head -1)"

# the images: one per run, blkbench's generation-0 pattern
T=$(up)
for r in $RUNS; do blkbench fill /run/disk-$r.raw "$MIB" || echo "E2E: fill $r failed"; done
dd if=/dev/zero of=/run/qdisk.img bs=1M count=1 2>/dev/null
echo "E2E: images of $MIB MiB written in $(since $T) s"
free -m | sed 's/^/E2E: free: /'

# utime + stime of a process in clock ticks; VmRSS and VmHWM in kB; minor faults and
# context switches; per-thread ticks (name:ticks)
cpu() { awk '{print $14 + $15}' /proc/$1/stat 2>/dev/null || echo 0; }
minflt() { awk '{print $10}' /proc/$1/stat 2>/dev/null || echo 0; }
ctxsw() { awk '/ctxt_switches/ {s += $2} END {print s + 0}' /proc/$1/status 2>/dev/null; }
threads() {
	for t in /proc/$1/task/*; do
		printf '%s:%s ' "$(tr ' ' '_' < $t/comm)" "$(awk '{print $14 + $15}' $t/stat)"
	done
}
rss() {
	echo "$(awk '/^VmRSS/{print $2}' /proc/$1/status 2>/dev/null) $(awk '/^VmHWM/{print $2}' /proc/$1/status 2>/dev/null)"
}
# the destroy handshake of backend/virtio nodes no watcher serves (QEMU does not)
fakebe_loop() {
	while :; do
		for dom in $(xenstore-list /local/domain/0/backend/virtio 2>/dev/null); do
			for dev in $(xenstore-list /local/domain/0/backend/virtio/$dom 2>/dev/null); do
				p=/local/domain/0/backend/virtio/$dom/$dev
				[ "$(xenstore-read $p/state 2>/dev/null)" = 5 ] && xenstore-write $p/state 6
			done
		done
		sleep 0.2
	done
}
wait_console() { # name pattern seconds
	i=0
	while ! grep -q "$2" /var/log/xen/console/guest-$1.log 2>/dev/null; do
		[ $i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# run_guest RUN CFG NAME "PID:label ..." (the processes to measure; DM = libxl's device model)
run_guest() {
	run=$1 cfg=$2 name=$3 procs=$4
	echo "E2E: ==== run $run: $cfg ===="
	T0=$(up)
	if ! xl create -p /root/$cfg "extra=\"console=hvc0 quiet rdinit=/init e2e.secs=$SECS\"" \
		> /run/xl-$run.log 2>&1; then
		echo "E2E: RUN $run xl create FAILED after $(since $T0) s"
		sed "s/^/E2E: RUN $run xl: /" /run/xl-$run.log | tail -30
		for f in /var/log/xen/qemu-dm-$name.log; do [ -f $f ] && sed "s/^/E2E: RUN $run dm: /" $f; done
		return 1
	fi
	domid=$(xl domid $name)
	echo "E2E: RUN $run xl create -p OK in $(since $T0) s (domid $domid)"
	dmpid=$(xenstore-read /local/domain/$domid/image/device-model-pid 2>/dev/null)
	if [ -n "$dmpid" ]; then
		procs="$dmpid:DM $procs"
		i=0
		while [ ! -s /run/dm-stamp-$domid ] && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "E2E: RUN $run READY $(cat /run/dm-stamp-$domid 2>/dev/null)"
	else
		# the watching xvdm: the slot is served once it wrote the backend state
		i=0
		p=/local/domain/0/backend/virtio/$domid/0/state
		while ! xenstore-read $p 2>/dev/null | grep -q '^[234]$' && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo "E2E: RUN $run backend state $(xenstore-read $p 2>/dev/null) after $(since $T0) s"
	fi
	xl unpause $name
	if ! wait_console $name "BENCH: device" "$WAIT"; then
		echo "E2E: RUN $run the guest never started blkbench"
	fi
	dmlog=/var/log/xen/qemu-dm-$name.log
	n0=$(wc -l < $dmlog 2>/dev/null || echo 0)
	tr0="$(grep -c 'handle_ioreq I/O' $dmlog 2>/dev/null) $(grep -c 'handle_ioreq I/O.* type=8 ' $dmlog 2>/dev/null) $(grep -c 'xen_remap_bucket index' $dmlog 2>/dev/null)"
	c0=""
	for pl in $procs; do
		p=${pl%%:*}
		c0="$c0 $(cpu $p) $(minflt $p) $(ctxsw $p)"
		echo "E2E: RUN $run THREADS0 ${pl#*:} $(threads $p)"
	done
	T1=$(up)
	# the mappings while the workload runs (QEMU's map cache of guest RAM, for one)
	if wait_console $name "BENCH: seqwrite" "$WAIT"; then
		for pl in $procs; do
			echo "E2E: RUN $run MAPS ${pl#*:} $(wc -l < /proc/${pl%%:*}/maps) mappings during the workload"
		done
	fi
	wait_console $name "DOMU: blkbench exit" "$WAIT" || echo "E2E: RUN $run blkbench did not end"
	wall=$(since $T1)
	set -- $tr0
	[ "${1:-0}" -gt 0 ] || grep -q 'handle_ioreq I/O' $dmlog 2>/dev/null &&
		echo "E2E: RUN $run QEMUTRACE $(($(grep -c 'handle_ioreq I/O' $dmlog) - $1)) ioreqs," \
			"$(($(grep -c 'handle_ioreq I/O.* type=8 ' $dmlog) - $2)) of them invalidates," \
			"$(($(grep -c 'xen_remap_bucket index' $dmlog) - $3)) map-cache bucket (re)mappings"
	if grep -q 'xen_remap_bucket index' $dmlog 2>/dev/null; then
		tail -n +$((n0 + 1)) $dmlog | sed -n 's/.*xen_remap_bucket index \(0x[0-9a-f]*\).*/\1/p' |
			sort | uniq -c | sort -rn > /run/remaps-$run
		echo "E2E: RUN $run REMAPS $(wc -l < /run/remaps-$run) distinct 1 MiB buckets; the most" \
			"remapped (count index): $(head -8 /run/remaps-$run | awk '{printf "%s %s, ", $1, $2}')"
		# what QEMU did between two remaps of the same bucket: the lines around one
		b=$(awk 'NR == 1 {print $2}' /run/remaps-$run)
		tail -n +$((n0 + 1)) $dmlog | grep -n "xen_remap_bucket index $b\$" | sed -n '3p' | cut -d: -f1 |
			while read -r ln; do
				tail -n +$((n0 + 1)) $dmlog | sed -n "$((ln - 6)),$((ln + 2))p" |
					sed "s/^/E2E: RUN $run AROUND-REMAP /"
			done
	fi
	set -- $c0
	for pl in $procs; do
		p=${pl%%:*}
		echo "E2E: RUN $run CPU ${pl#*:} $(($(cpu $p) - $1)) ticks in $wall s"
		echo "E2E: RUN $run FAULTS ${pl#*:} $(($(minflt $p) - $2)) minor faults $(($(ctxsw $p) - $3)) context switches"
		echo "E2E: RUN $run THREADS1 ${pl#*:} $(threads $p)"
		shift 3
	done
	wait_console $name "DOMU: END" 300 || echo "E2E: RUN $run no END"
	for pl in $procs; do echo "E2E: RUN $run RSS ${pl#*:} $(rss ${pl%%:*})"; done
	sed -n "s/^\(BENCH\|DOMU\): /E2E: RUN $run &/p" /var/log/xen/console/guest-$name.log
	T2=$(up)
	# what xl destroy waits for: the backend state and the domain's nodes, every 0.5 s
	(
		while :; do
			echo "E2E: RUN $run destroy +$(since $T2) s: backend state" \
				"$(xenstore-read /local/domain/0/backend/virtio/$domid/0/state 2>/dev/null || echo gone)," \
				"domain node $(xenstore-exists /local/domain/$domid 2>/dev/null && echo present || echo gone)," \
				"xl list: $(xl list 2>/dev/null | awk -v d=$domid '$2 == d {print $5}')"
			sleep 0.5
		done
	) &
	tpid=$!
	xl destroy $name && echo "E2E: RUN $run xl destroy took $(since $T2) s"
	kill $tpid
	gmd5=$(sed -n 's/.*DOMU: MD5 \([0-9a-f]*\).*/\1/p' /var/log/xen/console/guest-$name.log)
	dmd5=$(md5sum < /run/disk-$run.raw | cut -d' ' -f1)
	echo "E2E: RUN $run MD5 guest ${gmd5:-none} dom0 $dmd5"
	blkbench check /run/disk-$run.raw | sed "s/^/E2E: RUN $run /"
	grep -q 'DOMU: END' /var/log/xen/console/guest-$name.log ||
		sed "s/^/E2E: RUN $run console: /" /var/log/xen/console/guest-$name.log | tail -40
	for f in /var/log/xen/qemu-dm-$name.log; do
		[ -f $f ] && sed "s/^/E2E: RUN $run dm: /" $f | tail -40
	done
	echo "E2E: RUN $run done in $(since $T0) s"
}

for run in $RUNS; do
	case $run in
	qemu)
		fakebe_loop &
		fpid=$!
		run_guest qemu bench-qemu.cfg bench-qemu ""
		kill $fpid
		;;
	qsd | vhub)
		if [ -z "$xpid" ]; then
			qemu-storage-daemon --blockdev driver=file,node-name=f0,filename=/run/disk-qsd.raw \
				--export type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=/run/qsd.sock,writable=on \
				> /run/qsd.log 2>&1 &
			qpid=$!
			vhub-blk --socket /run/vhub.sock --disk /run/disk-vhub.raw > /run/vhub.log 2>&1 &
			vpid=$!
			i=0
			while { [ ! -S /run/qsd.sock ] || [ ! -S /run/vhub.sock ]; } && [ $i -lt 300 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			T=$(up)
			xvdm --watch --config /etc/xvdm/xvdm-bench.conf -v > /run/xvdm.log 2>&1 &
			xpid=$!
			sleep 1
			echo "E2E: xvdm --watch pid $xpid, VmRSS/VmHWM $(rss $xpid) kB before any guest"
		fi
		if [ $run = qsd ]; then
			run_guest qsd bench-qsd.cfg bench-qsd "$xpid:xvdm $qpid:qsd"
		else
			run_guest vhub bench-vhub.cfg bench-vhub "$xpid:xvdm $vpid:vhub-blk"
		fi
		;;
	dm)
		if [ -n "$xpid" ]; then
			kill $xpid
			wait $xpid
			echo "E2E: xvdm --watch exit status $?"
			sed 's/^/E2E: xvdm: /' /run/xvdm.log | tail -60
			xpid=
		fi
		vhub-blk --socket /run/vhub-dm.sock --disk /run/disk-dm.raw > /run/vhub-dm.log 2>&1 &
		dpid=$!
		i=0
		while [ ! -S /run/vhub-dm.sock ] && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		fakebe_loop &
		fpid=$!
		run_guest dm bench-dm.cfg bench-dm "$dpid:vhub-blk"
		kill $fpid
		;;
	*) echo "E2E: unknown run $run" ;;
	esac
done
if [ -n "$xpid" ]; then
	kill $xpid
	wait $xpid
	echo "E2E: xvdm --watch exit status $?"
	sed 's/^/E2E: xvdm: /' /run/xvdm.log | tail -60
fi
for p in $qpid $vpid $dpid; do kill $p 2>/dev/null; done
echo "E2E: dom0 done at uptime $(up) s"
if [ "$(arg e2e.shell)" = 1 ]; then
	exec setsid cttyhack sh
fi
sync
poweroff -f
