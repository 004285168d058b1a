#!/bin/bash
# Boot Xen + dom0 under qemu-system-aarch64 (TCG) with QEMU's guest-loader (no firmware, no
# u-boot): Xen is loaded as -kernel, dom0's kernel and initramfs as multiboot,module nodes
# in /chosen. One boot runs the whole scenario (dom0-init.sh) and ends with poweroff.
# NB: QEMU puts the DTB at RAM base + 128 MiB (0x48000000) when -kernel is used without
# -initrd; a guest-loader module placed there is overwritten by the DTB and Xen 4.17
# double-frees it (BUG at common/page_alloc.c:1429). Hence kernel @0x42000000 (< 96 MiB
# Image) and initramfs @0x4a000000.
# Usage: run-qemu.sh [dom0 cmdline knobs...]      e.g.  run-qemu.sh e2e.dm=fake e2e.shell=1
# Env: WORK, XEN_IMAGE (default $WORK/out/xen-ioreq), LOG (serial log, each line prefixed
#      with host seconds since start), TIMEOUT (s, default 900), CPU (cortex-a57|max), SMP,
#      MEM (MiB), GIC (2|3), DOM0_MEM, DOM0_INITRD, INTERACTIVE=1 (serial on the terminal,
#      no timeout, no log: for e2e.shell=1).
# Never run two boots at once on a 2-core machine (each takes 1.3-2.4 GiB too).
set -euo pipefail
WORK=${WORK:-/var/tmp/xvdm-lab}
OUT=$WORK/out
LOG=${LOG:-$WORK/serial-$(date +%H%M%S).log}
TIMEOUT=${TIMEOUT:-900}
CPU=${CPU:-cortex-a57}
SMP=${SMP:-2}
MEM=${MEM:-2048}
GIC=${GIC:-3}
DOM0_MEM=${DOM0_MEM:-768M}
XEN_IMAGE=${XEN_IMAGE:-$OUT/xen-ioreq}
XEN_ARGS="console=dtuart dom0_mem=${DOM0_MEM},max:${DOM0_MEM} dom0_max_vcpus=${SMP} loglvl=all guest_loglvl=all console_timestamps=boot"
DOM0_ARGS="console=hvc0 earlycon=xen rdinit=/init quiet loglevel=4 $*"

QEMU=(qemu-system-aarch64
	-machine "virt,virtualization=on,gic-version=$GIC"
	-cpu "$CPU" -smp "$SMP" -m "$MEM"
	-display none -monitor none -serial stdio -no-reboot -nic none
	-kernel "$XEN_IMAGE" -append "$XEN_ARGS"
	-device "guest-loader,addr=${KADDR:-0x42000000},kernel=$OUT/Image,bootargs=$DOM0_ARGS"
	-device "guest-loader,addr=${IADDR:-0x4a000000},initrd=${DOM0_INITRD:-$OUT/dom0.cpio.gz}")

if [ "${INTERACTIVE:-0}" = 1 ]; then
	echo "interactive boot (Ctrl-A X quits QEMU); dom0 cmdline: $*"
	exec "${QEMU[@]}"
fi
echo "serial log: $LOG"
start=$(date +%s.%N)
set +e
/usr/bin/time -f "qemu max RSS %M KiB, user %U s, sys %S s, wall %e s" -o "$LOG.time" \
	timeout "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1 | while IFS= read -r line; do
	printf '[%7.1f] %s\n' "$(echo "$(date +%s.%N) $start" | awk '{print $1-$2}')" "$line"
done > "$LOG"
rc=${PIPESTATUS[0]}
set -e
echo "qemu rc=$rc, wall $(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1-$2}') s; $(tail -1 "$LOG.time" 2>/dev/null)"
[ "$rc" = 124 ] && echo "TIMEOUT: QEMU killed after $TIMEOUT s"
exit 0
