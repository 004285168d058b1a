#!/bin/bash
# The trixie perf lab (issue 8, items 4 and 5): xvdm against QEMU 10's own xenpvh
# virtio-blk in a real Xen 4.20 arm64 guest, emulated under QEMU TCG, in ONE boot.
#   1. fetch-debs.sh      trixie arm64 .debs (private apt configuration in $W/apt)
#   2. build-xen-ioreq.sh trixie's hypervisor with CONFIG_IOREQ_SERVER=y
#   3. build-qemu-xen.sh  QEMU 10.0 from trixie's source with Xen (the xenpvh machine)
#   4. ../e2e/cross-build.sh  xvdm and vhub-blk for arm64 against bookworm (xvdm links
#      only the stable Xen libraries: the same binary runs on trixie's), in $W/bookworm
#   5. blkbench.c, static arm64 (the guest's workload and dom0's helper)
#   6. build-images.sh, then one boot (dom0-init.sh) under flock $BOOT_LOCK:
#      the same guest workload against (a) QEMU, (b) xvdm + qemu-storage-daemon (shadow),
#      (c) xvdm + vhub-blk (xen-mmap), (d) xvdm as libxl's device model + vhub-blk.
# Prints the throughput table with ratios to QEMU, the footprint and start-up table, the
# dom0 CPU time per request, and "N passed, M failed" for the functional checks (each
# guest ran blkbench without an error and the image dom0 holds afterwards has the guest's
# md5 and only well-formed blocks). Nothing is asserted on a time or a rate: this is a
# benchmark on emulated hardware, not part of the default CI run.
# Env: WORK (default /var/tmp/xvdm-lab; everything under $WORK/trixie), SKIP_FETCH=1,
#      RUNS="qemu qsd vhub dm", MIB=32 (image size), SECS=5 (each random phase),
#      BOOT_LOCK=/tmp/xen-lab-boot.lock, TIMEOUT=1500 (the boot), LOG (a serial log to
#      parse instead of booting: PARSE_ONLY=1).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BOOT_LOCK=${BOOT_LOCK:-/tmp/xen-lab-boot.lock}
RUNS=${RUNS:-qemu qsd vhub dm}
MIB=${MIB:-32}
SECS=${SECS:-5}
mkdir -p "$W/logs" "$W/out"
TM=$W/timings.txt
t_start=$(date +%s)
phase() { # name cmd...
	local n=$1 s
	shift
	s=$(date +%s)
	echo "== $n"
	if ! "$@" > "$W/logs/$n.log" 2>&1; then
		tail -30 "$W/logs/$n.log"
		echo "phase $n FAILED (log: $W/logs/$n.log)"
		exit 1
	fi
	tail -2 "$W/logs/$n.log" | sed 's/^/   /'
	echo "$n: $(($(date +%s) - s)) s" >> "$TM"
}
build_blkbench() {
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -s -o "$W/out/blkbench-arm64" \
		"$T_DIR/blkbench.c" && echo "blkbench: $(stat -c %s "$W/out/blkbench-arm64") bytes, static"
}
LOG=${LOG:-$W/logs/serial-perf.log}
if [ "${PARSE_ONLY:-0}" != 1 ]; then
	: > "$TM"
	[ "${SKIP_FETCH:-0}" = 1 ] || phase fetch-debs "$T_DIR/fetch-debs.sh"
	phase build-xen-ioreq "$T_DIR/build-xen-ioreq.sh"
	phase build-qemu-xen "$T_DIR/build-qemu-xen.sh"
	phase cross-build env WORK="$W/bookworm" WITH_BLK=1 "$E2E_DIR/cross-build.sh"
	phase blkbench build_blkbench
	phase build-images "$T_DIR/build-images.sh"
	echo "== boot (waits for $BOOT_LOCK)"
	echo "host load before the boot: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$TM"
	s=$(date +%s)
	WORK=$W LOG=$LOG TIMEOUT=${TIMEOUT:-1500} flock "$BOOT_LOCK" "$E2E_DIR/run-qemu.sh" \
		"e2e.runs=$(echo "$RUNS" | tr ' ' '+')" "e2e.mib=$MIB" "e2e.secs=$SECS" \
		${E2E_ARGS:-} > "$W/logs/boot.log" 2>&1
	cat "$W/logs/boot.log"
	echo "boot (lock wait included): $(($(date +%s) - s)) s; host load after it: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$TM"
fi
[ -f "$LOG" ] || { echo "no serial log $LOG"; exit 1; }
tr -d '\r' < "$LOG" | sed 's/^\[ *[0-9.]*\] //' > "$LOG.clean"
L=$LOG.clean

pass=0
fail=0
check() { # description condition-result(0/1)
	if [ "$2" = 0 ]; then
		pass=$((pass + 1))
		echo "  ok:   $1"
	else
		fail=$((fail + 1))
		echo "  FAIL: $1"
	fi
}
has() { grep -q -- "$1" "$L" && echo 0 || echo 1; }
echo "== checks"
check "toolstack up (xl list)" "$(has 'E2E: toolstack up')"
check "hypervisor has CONFIG_IOREQ_SERVER=y" "$(has 'E2E: hypervisor has CONFIG_IOREQ_SERVER=y')"
check "the bookworm-built xvdm runs on trixie's libraries" "$(has 'E2E: xvdm runs: ')"
for r in $RUNS; do
	ok=0
	grep -q "E2E: RUN $r xl create -p OK" "$L" || ok=1
	check "$r: xl create -p" "$ok"
	n=$(grep -c "E2E: RUN $r BENCH: [a-z]* .* 0 errors" "$L")
	check "$r: the four blkbench phases ran with 0 errors ($n)" "$([ "$n" = 4 ] && echo 0 || echo 1)"
	check "$r: blkbench exit status 0" "$(has "E2E: RUN $r DOMU: blkbench exit status 0")"
	m=$(sed -n "s/.*E2E: RUN $r MD5 guest \([0-9a-f]*\) dom0 \([0-9a-f]*\).*/\1 \2/p" "$L")
	set -- $m
	check "$r: the guest's md5 of the disk is dom0's md5 of the image (${1:-none})" \
		"$([ -n "${1:-}" ] && [ "${1:-}" = "${2:-}" ] && echo 0 || echo 1)"
	check "$r: blkbench check of the image: every block well-formed" \
		"$(grep -q "E2E: RUN $r CHECK: .* 0 bad" "$L" && echo 0 || echo 1)"
	case $r in
	qemu | dm)
		check "$r: exec -> QMP greeting measured" \
			"$(grep -q "E2E: RUN $r READY [0-9]* [1-9][0-9]*" "$L" && echo 0 || echo 1)"
		;;
	esac
done
case " $RUNS " in *" qsd "* | *" vhub "*)
	check "xvdm --watch exited 0 on SIGTERM" "$(has 'E2E: xvdm --watch exit status 0')"
	;;
esac

# ---- the tables ----
val() { # run phase field(MB/s|IOPS|ops)
	sed -n "s/.*E2E: RUN $1 BENCH: $2 .* \([0-9.]*\) MB\/s \([0-9.]*\) IOPS.*/\1 \2/p" "$L" |
		head -1 | awk -v f="$3" '{print (f == "MB/s") ? $1 : $2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
label() {
	case $1 in
	qemu) echo "QEMU 10 xenpvh virtio-blk" ;;
	qsd) echo "xvdm + qemu-storage-daemon (shadow)" ;;
	vhub) echo "xvdm + vhub-blk (xen-mmap)" ;;
	dm) echo "xvdm as libxl DM + vhub-blk (xen-mmap)" ;;
	esac
}
echo
echo "== in-guest throughput (blkbench, O_DIRECT, queue depth 1, $MIB MiB disk, random phases ${SECS} s)"
printf '| %-40s | %12s | %12s | %15s | %15s |\n' "server" "seq read 64K" "seq write 64K" "rand read 4K" "rand write 4K"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "-------------:" "-------------:" "----------------:" "----------------:"
for r in $RUNS; do
	printf '| %-40s | %7s MB/s | %7s MB/s | %10s IOPS | %10s IOPS |\n' "$(label $r)" \
		"$(val $r seqread MB/s)" "$(val $r seqwrite MB/s)" "$(val $r randread IOPS)" "$(val $r randwrite IOPS)"
done
if grep -q "E2E: RUN qemu BENCH" "$L"; then
	for r in $RUNS; do
		[ $r = qemu ] && continue
		printf '| %-40s | %12s | %12s | %15s | %15s |\n' "ratio $r / QEMU" \
			"$(ratio "$(val $r seqread MB/s)" "$(val qemu seqread MB/s)")" \
			"$(ratio "$(val $r seqwrite MB/s)" "$(val qemu seqwrite MB/s)")" \
			"$(ratio "$(val $r randread IOPS)" "$(val qemu randread IOPS)")" \
			"$(ratio "$(val $r randwrite IOPS)" "$(val qemu randwrite IOPS)")"
	done
fi

rssf() { sed -n "s/.*E2E: RUN $1 RSS $2 \([0-9]*\) \([0-9]*\).*/\1 \2/p" "$L" | head -1; }
ready_ms() {
	sed -n "s/.*E2E: RUN $1 READY \([0-9]*\) \([0-9]*\).*/\1 \2/p" "$L" | head -1 |
		awk '$2 > 0 {printf "%.1f", ($2 - $1) / 1e6}'
}
echo
echo "== footprint and start-up, one virtio-blk device (dom0 /proc; exec -> QMP greeting)"
q=$(rssf qemu DM)
d=$(rssf dm DM)
w=$(rssf vhub xvdm)
set -- $q
qr=${1:-} qh=${2:-}
set -- $d
dr=${1:-} dh=${2:-}
set -- $w
wr=${1:-} wh=${2:-}
printf '| %-44s | %10s | %10s | %14s |\n' "process" "VmRSS kB" "VmHWM kB" "exec->ready ms"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------:" "-----------:" "---------------:"
printf '| %-44s | %10s | %10s | %14s |\n' "QEMU 10 xenpvh (virtio-blk on a file)" "$qr" "$qh" "$(ready_ms qemu)"
printf '| %-44s | %10s | %10s | %14s |\n' "xvdm as libxl DM (vhost-user-blk, xen-mmap)" "$dr" "$dh" "$(ready_ms dm)"
printf '| %-44s | %10s | %10s | %14s |\n' "xvdm --watch serving one guest (xen-mmap)" "$wr" "$wh" "-"
printf '| %-44s | %10s | %10s | %14s |\n' "ratio xvdm DM / QEMU" "$(ratio "$dr" "$qr")" "$(ratio "$dh" "$qh")" \
	"$(ratio "$(ready_ms dm)" "$(ready_ms qemu)")"
grep -E "E2E: RUN dm dm: .*(ioreq server .* created|back-end ready|ready, [0-9]+ device)" "$L" |
	sed 's/^.*E2E: RUN dm dm: /   xvdm DM log: /'
echo "   (exec at $(sed -n 's/.*E2E: RUN dm READY \([0-9]*\) .*/\1/p' "$L" | awk '{printf "%.3f", $1 / 1e9}') s on the same clock)"

echo
echo "== dom0 CPU time while blkbench ran (clock ticks of 10 ms; per guest request)"
for r in $RUNS; do
	ops=$(sed -n "s/.*E2E: RUN $r BENCH: [a-z]* [0-9]* bytes \([0-9]*\) ops.*/\1/p" "$L" | awk '{s += $1} END {print s + 0}')
	grep "E2E: RUN $r CPU " "$L" | sed "s/.*E2E: RUN $r CPU //" | while read -r who ticks _ _ wall _; do
		printf '   %-5s %-9s %6s ticks in %6s s, %s guest requests: %s ms CPU per request\n' "$r" "$who" \
			"$ticks" "$wall" "$ops" "$(awk -v t="$ticks" -v o="$ops" 'BEGIN { if (o > 0) printf "%.3f", t * 10 / o; else print "-" }')"
	done
done
echo
echo "== per process while blkbench ran: minor faults, context switches, mappings, threads (name:ticks at the end)"
grep -E "E2E: RUN [a-z]+ (FAULTS|MAPS|THREADS1|QEMUTRACE|REMAPS|AROUND-REMAP) " "$L" | sed 's/^.*E2E: RUN /   /'
echo "== interrupts and features seen by the guest"
grep -E "E2E: RUN [a-z]+ DOMU: virtio (features|interrupts)" "$L" | sed 's/^.*E2E: RUN /   /'
echo
cat "$TM" 2>/dev/null | sed 's/^/   /'
[ "${PARSE_ONLY:-0}" = 1 ] || echo "   total: $(($(date +%s) - t_start)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
