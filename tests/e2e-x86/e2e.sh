#!/bin/bash
# The x86 lab: xvdm serving virtio-pci to real x86 HVM guests on Xen 4.17, beside QEMU.
# Debian 12 packages only: Xen 4.17 amd64 under qemu-system-x86_64 (TCG, nested SVM+NPT),
# a PV dom0 with the toolstack, Debian's QEMU for HVM guests, qemu-storage-daemon, and a
# native release build of xvdm. One boot, two HVM guests (dom0-init.sh):
#   A  xl create; libxl runs scripts/xvdm-hvm-dm as the device model, which starts xvdm
#      (virtio-blk over vhost-user to qemu-storage-daemon, shadow mode, on 00:04.0, and the
#      built-in rng on 00:05.0) before it execs QEMU; MSI-X. QEMU's own virtio-blk-pci on
#      00:06.0 (a file) runs the same sequential read and write: the throughput ratio is
#      printed, not checked.
#   B  xl create -p, xvdm --domid N (the same devices), xl unpause; pci=nomsi: INTx.
# Each guest reads all of its disk, writes 1 MiB, reads it back, reads 64 KiB from
# /dev/hwrng; dom0 checks the image's md5s against what the guest printed.
# Pass/fail from the serial-log markers; ends with "N passed, M failed" (exit 1 on failure).
# Env: WORK (default /var/tmp/xvdm-lab; the lab lives in $WORK/x86), SKIP_FETCH=1,
#      XVDM_SRC (build xvdm from this tree instead of the checkout), TIMEOUT (boot, default
#      1500 s), E2E_ARGS (dom0 knobs: e2e.only=a|b, e2e.wait=S), LOG, CHECK_ONLY=1 (only
#      the checks, on an existing LOG).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export WORK=${WORK:-/var/tmp/xvdm-lab}
X=$WORK/x86
mkdir -p "$X/logs"
[ "${CHECK_ONLY:-0}" = 1 ] || [ ! -f "${LOG:-$X/serial.log}" ] || mv "${LOG:-$X/serial.log}" "${LOG:-$X/serial.log}.prev"
T=$X/timings.txt
[ "${CHECK_ONLY:-0}" = 1 ] || : > "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else ko "$d"; fi; }
phase() { # NAME CMD...: output in $X/logs/NAME.log, time in $T
	local n=$1 s
	s=$(date +%s)
	shift
	if "$@" > "$X/logs/$n.log" 2>&1; then
		echo "$n: $(($(date +%s) - s)) s" | tee -a "$T"
	else
		tail -20 "$X/logs/$n.log"; ko "$n (log: $X/logs/$n.log)"
		echo "$pass passed, $fail failed"; exit 1
	fi
}
LOG=${LOG:-$X/serial.log}
if [ "${CHECK_ONLY:-0}" != 1 ]; then
	[ "${SKIP_FETCH:-0}" = 1 ] || phase fetch "$HERE/fetch-debs.sh"
	phase build "$HERE/build-images.sh"
	s=$(date +%s)
	# shellcheck disable=SC2086
	LOG=$LOG TIMEOUT=${TIMEOUT:-1500} "$HERE/run-qemu.sh" ${E2E_ARGS:-} | tee "$X/logs/boot.log" | grep -v '^serial log'
	wall=$(sed -n 's/.*wall \([0-9.]*\) s.*/\1/p' "$LOG.time" 2>/dev/null | tail -1)
	echo "boot: ${wall:-?} s; $(($(date +%s) - s)) s with the wait for /tmp/xen-lab-boot.lock ($(tail -1 "$LOG.time" 2>/dev/null))" | tee -a "$T"
fi

has() { grep -q -- "$1" "$LOG"; }
# the value after "KEY" in guest P's console (P = A or B), or in dom0's E2E lines
gval() { grep -a -m1 "$1| DOMU: $2" "$LOG" | tr -d '\r' | sed "s/.*DOMU: $2 *//"; }
eval_() { grep -a -m1 "E2E: $1" "$LOG" | tr -d '\r' | sed "s/.*E2E: $1 *//"; }
pci() { grep -a "$1| DOMU: pci: $2 " "$LOG" | head -1; }
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }

check "Xen: SVM with HAP (nested paging)" has "HVM: Hardware Assisted Paging (HAP) detected"
check "dom0: toolstack up" has "E2E: toolstack up"
check "dom0: qemu-storage-daemon up (two vhost-user-blk exports)" has "E2E: qemu-storage-daemon up"

guest() { # P NAME IRQMODE
	local p=$1 n=$2 mode=$3 line msi irqs init final wr
	[ "$p" = A ] && check "$n: xl create ran scripts/xvdm-hvm-dm, which started xvdm before QEMU" \
		grep -q "E2E: $n: dm: xvdm-hvm-dm: dom[0-9]* ($n): xvdm (pid [0-9]*) serves" "$LOG"
	[ "$p" = B ] && check "$n: xl create -p, xvdm --domid ready, xl unpause" \
		grep -q "E2E: $n: unpaused at" "$LOG"
	check "$n: guest /init ran (HVM)" grep -q "$p| DOMU: hypervisor: xen guest_type: HVM" "$LOG"
	line=$(pci "$p" 0000:00:04.0)
	check "$n: 00:04.0 is 1af4:1042 (virtio-blk), virtio-pci bound" \
		grep -q '0x1af4:0x1042 .* driver virtio-pci ' <<< "$line"
	line=$(pci "$p" 0000:00:05.0)
	check "$n: 00:05.0 is 1af4:1044 (virtio-rng), virtio-pci bound" \
		grep -q '0x1af4:0x1044 .* driver virtio-pci ' <<< "$line"
	msi=$(pci "$p" 0000:00:04.0 | sed -n 's/.*msi_irqs \([0-9]*\).*/\1/p')
	irqs=$(grep -a "$p| DOMU: irq at end: " "$LOG" | sed 's/.*irq at end: //')
	if [ "$mode" = msix ]; then
		check "$n: MSI-X in use (00:04.0 has ${msi:-no} MSI vectors; /proc/interrupts lists virtio MSI lines)" \
			bash -c '[ "${1:-0}" -gt 0 ] && grep -qi "msi.*virtio" <<< "$2"' _ "$msi" "$irqs"
	else
		check "$n: INTx in use (00:04.0 has ${msi:-no} MSI vectors; virtio on an IO-APIC line)" \
			bash -c '[ "${1:-x}" = 0 ] && grep -qi "virtio" <<< "$2" && ! grep -qi "msi" <<< "$2" && grep -qiE "io-?apic|xt-pic" <<< "$2"' _ "$msi" "$irqs"
	fi
	if [ "$p" = B ]; then # xvdm --pci mode=cfg,pio-notify=on: virtio_pci takes the port NOTIFY
		check "$n: virtio-pci notifies through I/O ports (pio-notify=on: /proc/ioports has virtio-pci-modern)" \
			grep -q "$p| DOMU: ioports: .*virtio-pci-modern" "$LOG"
	fi
	init=$(eval_ "$n: image md5 initial")
	check "$n: the guest read all of /dev/vda: md5 = the image's ($init)" same "$(gval "$p" "md5 all:")" "$init"
	wr=$(gval "$p" "md5 written:")
	check "$n: 1 MiB written and read back ($wr)" same "$(gval "$p" "md5 read back:")" "$wr"
	final=$(eval_ "$n: image md5 final")
	check "$n: dom0 finds the written 1 MiB in the image" same "${final##* region }" "$wr"
	check "$n: the image's final md5 = the guest's last read (${final%% *})" \
		same "$(gval "$p" "md5 final:")" "${final%% *}"
	check "$n: /dev/hwrng (virtio_rng) gave 65536 bytes, not all zero" \
		bash -c '[ "$1" = 65536 ] && [ "${2:-0}" -gt 0 ] && [ "${3#virtio_rng}" != "$3" ]' _ \
		"$(gval "$p" "hwrng bytes:")" "$(gval "$p" "hwrng nonzero:")" "$(gval "$p" "rng_current:")"
	check "$n: xvdm exited by itself after the domain went away" has "E2E: $n: xvdm exited after the domain went away"
	grep -a -E "$p\| DOMU: (pci|irq at end|disk|ioports):|E2E: $n: (xl create returned|gone|unpaused|xvdm ready)" "$LOG" |
		sed 's/^/      /'
}
guest A hvm-a msix
# QEMU's virtio-blk-pci against xvdm + qemu-storage-daemon (same guest, same workload)
rate() { # P LABEL OP: MB/s over every round that printed a time
	grep -a "$1| DOMU: bench: $2 $3 " "$LOG" |
		sed -n 's/.* \([0-9]*\) bytes in \([0-9.]*\) s.*/\1 \2/p' |
		awk '{ b += $1; t += $2 } END { if (t > 0) printf "%.1f", b / 1e6 / t }'
}
qr=$(rate A qemu read) qw=$(rate A qemu write) xr=$(rate A xvdm read) xw=$(rate A xvdm write)
check "hvm-a: the same read and write ran on QEMU's virtio-blk-pci (00:06.0) and through xvdm" \
	bash -c '[ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] && [ -n "$4" ]' _ "$qr" "$qw" "$xr" "$xw"
if [ -n "$qr" ] && [ -n "$xr" ] && [ -n "$qw" ] && [ -n "$xw" ]; then
	awk -v qr="$qr" -v qw="$qw" -v xr="$xr" -v xw="$xw" 'BEGIN {
		printf "      throughput (MB/s, not checked): sequential read QEMU %s, xvdm %s, xvdm/QEMU %.2f; write QEMU %s, xvdm %s, xvdm/QEMU %.2f\n",
			qr, xr, xr / qr, qw, xw, xw / qw }' | tee -a "$T"
fi
guest B hvm-b intx
check "dom0: no userspace segfault or general protection fault (README workaround 5)" \
	bash -c '! grep -a -q -E "segfault at|E2E: dom0 dmesg: .*general protection" "$1"' _ "$LOG"
check "no guest oops or panic, no Xen crash" \
	bash -c '! grep -a -q -E "DOMU:.*(Oops|Kernel panic)|[AB]\| .*(Oops|Kernel panic|BUG:)|Panic on CPU|domain_crash" "$1"' _ "$LOG"
check "dom0 finished" has "E2E: dom0 done"
grep -a -E 'E2E: (dom0 userspace up|toolstack up|dom0 done)' "$LOG" | sed 's/^/      /'
cat "$T"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
