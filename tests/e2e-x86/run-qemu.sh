#!/bin/bash
# Boot Xen 4.17 x86_64 and a PV dom0 under qemu-system-x86_64 (TCG, nested AMD SVM+NPT
# emulated by QEMU) through QEMU's multiboot loader: -kernel = the gunzipped Xen ELF,
# -initrd = "dom0 kernel with its cmdline, dom0 initramfs" (module cmdlines may not hold a
# comma). The lab's settings (README, "Workarounds"): CPU EPYC with -monitor (a family-23 CPU:
# no GART scan in the guests; no MWAIT hints), -smp 1 (dom0 userspace segfaults with 2
# emulated CPUs on a loaded host), Xen smap=0 (the PV dom0 dies at its first exception
# otherwise). The boot holds /tmp/xen-lab-boot.lock (one emulated Xen boot at a time).
# Usage: run-qemu.sh [dom0 cmdline knobs...]     e.g. run-qemu.sh e2e.only=a e2e.shell=1
# Env: WORK, LOG (serial log, lines prefixed with host seconds since its first line), TIMEOUT (s, default 1500),
#      CPU, SMP, MEM (MiB), DOM0_MEM, INTERACTIVE=1 (serial on this terminal, no timeout),
#      KEEPALIVE (s between the keep-alive spaces on the serial input, default 2),
#      STDIN (the serial console's input instead, e.g. a FIFO for Xen's debug keys: three
#      Ctrl-A switch the input to Xen, then 'd' dumps every vCPU's registers, 'q' the domains).
set -euo pipefail
WORK=${WORK:-/var/tmp/xvdm-lab}
OUT=$WORK/x86/out
LOG=${LOG:-$WORK/x86/serial-$(date +%H%M%S).log}
TIMEOUT=${TIMEOUT:-1500}
CPU=${CPU:-EPYC,+svm,+npt,-monitor}
SMP=${SMP:-1}
MEM=${MEM:-2048}
DOM0_MEM=${DOM0_MEM:-768M}
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=${DOM0_MEM},max:${DOM0_MEM} dom0_max_vcpus=${SMP} loglvl=all guest_loglvl=all console_timestamps=boot smap=0"
DOM0_ARGS="console=hvc0 earlyprintk=xen rdinit=/init quiet loglevel=4 $*"
QEMU=(qemu-system-x86_64
	-machine q35 -accel tcg,thread=multi -cpu "$CPU" -smp "$SMP" -m "$MEM"
	-display none -monitor none -serial stdio -no-reboot -nic none
	-kernel "$OUT/xen" -append "$XEN_ARGS"
	-initrd "$OUT/vmlinuz $DOM0_ARGS,$OUT/dom0.cpio.gz")

if [ "${INTERACTIVE:-0}" = 1 ]; then
	exec flock /tmp/xen-lab-boot.lock "${QEMU[@]}"
fi
echo "serial log: $LOG"
# Workaround 6 (README): Xen under TCG sometimes stops getting timer interrupts while a dom0
# process is busy; nothing is scheduled until another interrupt comes. A space on the serial
# console every KEEPALIVE s (it goes to dom0's console input, which nobody reads) is one.
keepalive() {
	if [ -n "${STDIN:-}" ]; then cat "$STDIN"; return; fi
	while sleep "${KEEPALIVE:-2}"; do printf ' ' || return 0; done
}
set +e
keepalive | flock /tmp/xen-lab-boot.lock /usr/bin/time -f "qemu max RSS %M KiB, user %U s, sys %S s, wall %e s" \
	-o "$LOG.time" timeout "$TIMEOUT" "${QEMU[@]}" 2>&1 |
	perl -MTime::HiRes=time -ne 'BEGIN { $| = 1 } $s //= time; printf "[%7.1f] %s", time - $s, $_' > "$LOG"
rc=${PIPESTATUS[1]}
set -e
echo "qemu rc=$rc; $(tail -1 "$LOG.time" 2>/dev/null)"
[ "$rc" = 124 ] && echo "TIMEOUT: QEMU killed after $TIMEOUT s"
exit 0
