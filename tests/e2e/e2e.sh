#!/bin/bash
# Real-Xen end-to-end test of xvdm (DESIGN.md §5, tier 3, arm64), Debian bookworm packages only:
# Xen 4.17 (rebuilt with CONFIG_IOREQ_SERVER=y) under qemu-system-aarch64 (TCG); dom0 runs
# the arm64 cross-build of xvdm as `xvdm --watch --config /etc/xvdm/xvdm.conf -v`; a domU with
# a virtio-mmio slot (xl disk ... backendtype=standalone,specification=virtio) loads
# virtio_mmio + virtio_rng and reads 64 KiB from /dev/hwrng; dom0 destroys it (timed), checks
# that xvdm survived, creates it again (new domid, served again), destroys it again, then
# stops xvdm with SIGTERM. Pass/fail comes from the markers in the serial log.
# The blk test (a second boot) serves the slot as vhost-user-blk instead, backed by an 8 MiB
# image of random bytes in dom0: round 1 through Debian's arm64 qemu-storage-daemon with
# xvdm in mem=shadow, round 2 through our vhub-blk (tests/backends) in mem=xen-mmap (the
# back-end maps guest RAM itself). Each time the domU reads all of /dev/vda, writes 1 MiB and
# reads it back; after xl destroy, dom0's md5s of the image file must match what the domU
# read and wrote.
# The blk boot then runs the PCI round: the same device through virtio-pci instead. dom0
# writes the guest's partial device tree with `xvdm dtb` (a pci-host-ecam-generic node),
# creates the domU paused with it (domU-pci.cfg: device_tree=, vuart="sbsa_uart" for the
# SPIs), starts `xvdm --config xvdm-pci.conf` (xvdm is the guest's PCI host bridge), then
# unpauses it; the domU's Linux enumerates the bus, virtio_pci binds 1af4:1042, and
# virtio_blk reads and writes /dev/vda with INTx interrupts; the data is checked as above.
# Then the SHMEM round: a vhost-user-device (device-id 42) with a VIRTIO shared memory region
# on virtio-mmio, backed by our vhub-shm; the domU's shm-probe finds the region through
# SHMSel/SHMLen/SHMBase (via /dev/mem), reads the page vhub-shm mapped and compares them
# with their known pattern, times reads of the window, a register and RAM, then sees zeros
# after dom0 makes vhub-shm unmap (SIGUSR1) and the bytes again after it maps (SIGUSR2);
# then the same device on virtio-pci (SHARED_MEMORY capability, BAR 4), its own vhub-shm.
#
# Usage: tests/e2e/e2e.sh [--dry-run] [--demo]
#   --dry-run  boot with a fake backend (a shell loop doing only libxl's xenstore handshake)
#              instead of xvdm; the domU does not touch the virtio-mmio window. Checks the
#              lab itself (images, toolstack, domU boot, modules, create/destroy rounds);
#              an xvdm build failure is reported but does not stop it.
#   --demo     at the end, also print the domU console and an excerpt of xvdm's log.
# Env: WORK (default /var/tmp/xvdm-lab; may start empty), TESTS (any of "rng blk pci shm dry
#      blk-dry guests", one boot each; default "rng blk"; guests = two guests served by one
#      xvdm --watch: 20 create/destroy cycles with xvdm's fds and RSS, one guest restarted
#      while the other reads its rng, then xl starting xvdm as a device model; blk-dry = the blk lab with the fake backend:
#      qemu-storage-daemon comes up, the domU only loads virtio_blk; pci = the blk lab with
#      the PCI round alone; shm = the blk lab with the SHMEM round alone), BLK_ROUNDS (default 2;
#      1 = only the qemu-storage-daemon/shadow round), PCI_ROUND (default 1; 0 = the blk
#      boot without its PCI round), SHM_ROUND (default 1; 0 = without the SHMEM round),
#      SKIP_FETCH=1, TIMEOUT (per boot, default 900 s), DESTROY_MAX (s, default 9.5),
#      E2E_ARGS (extra dom0 knobs, e.g. "e2e.shell=1 e2e.logmax=0"), VERBOSE=1 (build
#      output on the terminal; otherwise in $WORK/logs/), INTERACTIVE=1 (build, then boot
#      with the serial console on this terminal: no log, no checks; with e2e.shell=1 in
#      E2E_ARGS dom0 ends in a shell).
# Prints one line per check, then "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export WORK=${WORK:-/var/tmp/xvdm-lab}
TESTS=${TESTS:-rng blk}
DEMO=0
for a in "$@"; do
	case $a in
	--dry-run) TESTS=dry ;;
	--demo) DEMO=1 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument $a (try --help)"; exit 2 ;;
	esac
done
TIMEOUT=${TIMEOUT:-900}
DESTROY_MAX=${DESTROY_MAX:-9.5}
BLK_ROUNDS=${BLK_ROUNDS:-2}
PCI_ROUND=${PCI_ROUND:-1}
SHM_ROUND=${SHM_ROUND:-1}
# qemu-storage-daemon and the dom0-blk image only when a blk test runs
case " $TESTS " in *" blk "* | *" blk-dry "* | *" pci "* | *" shm "*) export WITH_BLK=1 ;; *) export WITH_BLK=0 ;; esac
mkdir -p "$WORK/logs"
T=$WORK/timings.txt
: > "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
summary() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

# phase NAME CMD...: run a build step, output in $WORK/logs/NAME.log, time in $T
phase() {
	local n=$1 s rc
	shift
	s=$(date +%s)
	printf '%-16s ' "$n"
	if [ "${VERBOSE:-0}" = 1 ]; then
		echo
		"$@" 2>&1 | tee "$WORK/logs/$n.log"
		rc=${PIPESTATUS[0]}
	else
		"$@" > "$WORK/logs/$n.log" 2>&1
		rc=$?
	fi
	echo "$n: $(($(date +%s) - s)) s" >> "$T"
	if [ $rc = 0 ]; then
		echo "done in $(($(date +%s) - s)) s   ($(tail -1 "$WORK/logs/$n.log"))"
	else
		echo "FAILED after $(($(date +%s) - s)) s; last lines of $WORK/logs/$n.log:"
		tail -25 "$WORK/logs/$n.log" | sed 's/^/    /'
	fi
	return $rc
}

t_start=$(date +%s)
if [ "${SKIP_FETCH:-0}" != 1 ]; then
	phase fetch-debs "$HERE/fetch-debs.sh" || { ko "fetch the Debian packages"; summary; }
fi
phase build-xen-ioreq "$HERE/build-xen-ioreq.sh" || { ko "rebuild the hypervisor with CONFIG_IOREQ_SERVER=y"; summary; }
if phase cross-build "$HERE/cross-build.sh"; then
	have_xvdm=1
else
	have_xvdm=0
	case " $TESTS " in
	*" rng "* | *" blk "* | *" pci "* | *" shm "* | *" guests "*) ko "cross-build xvdm for arm64 (meson, $WORK/build-arm64)"; summary ;;
	esac
	echo "                 (dry run: going on without xvdm)"
	rm -f "$WORK/out/xvdm-arm64"
fi
REQUIRE_XVDM=$have_xvdm phase build-images "$HERE/build-images.sh" || { ko "build the boot images"; summary; }

if [ "${INTERACTIVE:-0}" = 1 ]; then
	dm=xvdm test=rng
	case $TESTS in dry | blk-dry) dm=fake ;; guests) test=guests ;; esac
	extra=""
	case $TESTS in blk | blk-dry | pci | shm)
		test=blk
		export DOM0_INITRD=$WORK/out/dom0-blk.cpio.gz ;;
	esac
	case $TESTS in
	blk) extra="e2e.pci=$PCI_ROUND e2e.shm=$SHM_ROUND" ;;
	pci) extra="e2e.rounds=0 e2e.pci=1" ;;
	shm) extra="e2e.rounds=0 e2e.pci=0 e2e.shm=1" ;;
	esac
	# shellcheck disable=SC2086
	exec "$HERE/run-qemu.sh" e2e.dm=$dm e2e.test=$test $extra ${E2E_ARGS:-}
fi

# boot NAME INITRD KNOBS...: one QEMU boot (never two at once: 2-core machine)
boot() {
	local n=$1 initrd=$2 s
	shift 2
	LOG=$WORK/logs/serial-$n.log
	s=$(date +%s)
	printf '%-16s ' "boot-$n"
	# shellcheck disable=SC2086
	LOG=$LOG TIMEOUT=$TIMEOUT DOM0_INITRD=$WORK/out/$initrd "$HERE/run-qemu.sh" "$@" ${E2E_ARGS:-} \
		> "$WORK/logs/boot-$n.log" 2>&1
	echo "boot-$n: $(($(date +%s) - s)) s" >> "$T"
	echo "done in $(($(date +%s) - s)) s   (serial log $LOG; $(grep -o 'qemu max RSS [0-9]* KiB' "$LOG.time" 2>/dev/null))"
	grep -q '^qemu rc=0,' "$WORK/logs/boot-$n.log" ||
		{ grep '^qemu rc=' "$WORK/logs/boot-$n.log"; head -3 "$LOG"; } | sed 's/^/                 /'
	grep -q TIMEOUT "$WORK/logs/boot-$n.log" && echo "                 TIMEOUT: QEMU was killed after $TIMEOUT s"
	# the markers, without the host timestamps and carriage returns
	CLEAN=$LOG.clean
	tr -d '\r' < "$LOG" | sed 's/^\[ *[0-9.]*\] //' > "$CLEAN"
}
line() { grep -a -m1 -- "$1" "$CLEAN"; }
expect() { # description grep-pattern
	if grep -aq -- "$2" "$CLEAN"; then ok "$1"; else ko "$1   (no line matching: $2)"; fi
}
destroy_check() { # round (a number, or P for the PCI round, S for the SHMEM round)
	local l s r=R$1
	case $1 in P | S) r=$1 ;; esac
	l=$(line "E2E: $r: xl destroy rc=")
	s=$(echo "$l" | sed -n 's/.*took \([0-9.]*\) s.*/\1/p')
	if [ -n "$s" ] && echo "$l" | grep -q 'rc=0 ' && awk "BEGIN{exit !($s < $DESTROY_MAX)}"; then
		ok "$r: xl destroy took $s s (limit $DESTROY_MAX s; libxl gives up after 10 s)"
	else
		ko "$r: xl destroy fast and clean   (${l:-no xl destroy line})"
	fi
}
domid_check() {
	local d1 d2
	d1=$(line "E2E: R1: domid" | awk '{print $NF}')
	d2=$(line "E2E: R2: domid" | awk '{print $NF}')
	if [ -n "$d1" ] && [ -n "$d2" ] && [ "$d1" != "$d2" ]; then
		ok "R2: the same guest was created again as a new domain (domid $d1 -> $d2)"
	else
		ko "R2: the same guest was created again as a new domain (domid '$d1' -> '$d2')"
	fi
}
# Informational: when the backend state was written, per round (dom0-init.sh's xenstore
# watch). The first two writes (libxl's 1, the backend's 2) bracket libxl's 10 s wait on
# create, the last two (libxl's 5, the backend's 6) the one on destroy.
handshakes() {
	local r d
	for r in 1 2; do
		d=$(line "E2E: R$r: domid" | awk '{print $NF}')
		[ -n "$d" ] || continue
		grep -a "E2E: xs: /local/domain/0/backend/virtio_disk/$d/[0-9]*/state written" "$CLEAN" |
			sed 's/.* at uptime \([0-9.]*\) s (now \(.*\))/\1 \2/' | awk -v r="$r" '
			{ t[NR] = $1; v[NR] = $2 }
			END {
				if (NR == 0) exit
				printf "    R%s: backend state written at dom0 uptime", r
				for (i = 1; i <= NR; i++) printf " %s", t[i]
				if (NR >= 4)
					printf "  (watch events 1->2 ~%.2f s, 5->6 ~%.2f s apart)", t[2] - t[1], t[NR] - t[NR - 1]
				printf "\n"
			}'
	done
}
# md5 FIELD LINE: the md5 after "FIELD " in LINE (dom0's "E2E: blk: ..." lines)
md5() { echo "$2" | sed -n "s/.*$1 \([0-9a-f]\{32\}\).*/\1/p"; }
# blk_round R: the blk test's checks of round R. dom0 prints the md5s of the image's three
# regions (0-5 MiB, the 1 MiB window at 5 MiB, 6-8 MiB) at the start, then after each
# round the window's md5 and whether the rest is unchanged (cmp); the domU prints its md5s
# of the same regions of /dev/vda and of what it wrote into the window.
blk_round() {
	local r=$1 size init pre post rd wr d slot mode be
	if [ "$r" = 1 ]; then slot=xvda mode=shadow be=qemu-storage-daemon; else slot=xvdb mode=xen-mmap be=vhub-blk; fi
	d=$(line "E2E: R$r: domid" | awk '{print $NF}')
	size=$(line "E2E: blk: image " | sed -n 's/.* size \([0-9]*\) bytes.*/\1/p')
	init=$(line "E2E: blk: initial: md5")
	if [ "$r" = 1 ]; then pre=$init; else pre=$(line "E2E: blk: R$((r - 1)): after destroy: md5"); fi
	post=$(line "E2E: blk: R$r: after destroy: md5")
	rd=$(line "^U$r| DOMU: RESULT: read [0-9]* MiB of /dev/vda")
	wr=$(line "^U$r| DOMU: RESULT: wrote ")
	expect "R$r: xl create domU returned (backend handshake within libxl's 10 s)" "E2E: R$r: xl create returned"
	expect "R$r: xvdm connected slot $slot of dom${d:-?} to $be in mem=$mode" \
		"^XVDM| .* vhu: dom${d:-?}/$slot: back-end ready ($mode,"
	expect "R$r: domU probed virtio0 = DeviceID 2 (block), bound to virtio_blk" \
		"^U$r| DOMU: virtio0: device 0x0002 .*driver virtio_blk"
	expect "R$r: /dev/vda is as large as dom0's image ($size bytes)" "^U$r| DOMU: RESULT: /dev/vda size ${size:-unknown} bytes"
	if [ -n "$(md5 before "$rd")" ] && [ "$(md5 before "$rd")" = "$(md5 before "$init")" ] &&
		[ "$(md5 window "$rd")" = "$(md5 window "$pre")" ] && [ "$(md5 after "$rd")" = "$(md5 after "$init")" ]; then
		ok "R$r: md5s of all of /dev/vda read in the domU = dom0's md5s of the image (window $(md5 window "$rd"))"
	else
		ko "R$r: md5s of all of /dev/vda read in the domU = dom0's md5s of the image   (domU: ${rd:-no line}; dom0: ${init:-no line}; ${pre:-no line})"
	fi
	expect "R$r: the domU wrote 1 MiB at 5 MiB with O_DIRECT and fsync (dd rc 0)" "^U$r| DOMU: RESULT: wrote .*dd rc 0,"
	expect "R$r: the domU read the window back (O_DIRECT, page cache dropped): same md5" "^U$r| DOMU: RESULT: read back .* = written"
	destroy_check "$r"
	expect "R$r: backend/virtio_disk node removed after destroy" "E2E: R$r: backend/virtio_disk/[0-9]* removed"
	expect "R$r: xvdm still running after xl destroy (kill -0)" "E2E: R$r: xvdm still running after xl destroy"
	expect "R$r: qemu-storage-daemon still running after xl destroy" "E2E: R$r: qemu-storage-daemon still running"
	expect "R$r: vhub-blk still running after xl destroy" "E2E: R$r: vhub-blk still running"
	if [ -n "$(md5 md5 "$wr")" ] && [ "$(md5 md5 "$wr")" = "$(md5 window "$post")" ]; then
		ok "R$r: dom0 after destroy: the image's 1 MiB at 5 MiB has the md5 the domU wrote ($(md5 window "$post"))"
	else
		ko "R$r: dom0 after destroy: the image's 1 MiB at 5 MiB has the md5 the domU wrote   (domU: ${wr:-no line}; dom0: ${post:-no line})"
	fi
	expect "R$r: dom0 after destroy: the rest of the image is unchanged (cmp)" \
		"E2E: blk: R$r: after destroy: .*; the rest is unchanged (cmp)"
}
# pci_round: the PCI round's checks (dom0-init.sh's "E2E: P: " lines, the domU's "UP| "
# console, the PCI xvdm's "XVDMP| " log). The image checks are blk_round's: the domU must
# read what the last round left in the window.
pci_round() {
	local d size init pre post rd wr irq n w
	d=$(line "E2E: P: xl create -p returned" | sed -n 's/.*domid \([0-9]*\).*/\1/p')
	size=$(line "E2E: blk: image " | sed -n 's/.* size \([0-9]*\) bytes.*/\1/p')
	init=$(line "E2E: blk: initial: md5")
	pre=$(grep -a "E2E: blk: R[0-9]*: after destroy: md5" "$CLEAN" | tail -1)
	[ -n "$pre" ] || pre=$init
	post=$(line "E2E: blk: P: after destroy: md5")
	rd=$(line "^UP| DOMU: RESULT: read [0-9]* MiB of /dev/vda")
	wr=$(line "^UP| DOMU: RESULT: wrote ")
	expect "P: xvdm dtb --config xvdm-pci.conf --guest domU wrote the partial device tree in dom0" \
		"E2E: P: xvdm dtb .*: rc 0, [0-9]* bytes"
	expect "P: xl create -p domU-pci.cfg (device_tree=, vuart=sbsa_uart): domain created paused" \
		"E2E: P: xl create -p returned .*, state --p---"
	expect "P: xvdm --config xvdm-pci.conf ready (the guest named domU found in xenstore), then xl unpause" \
		"E2E: P: xl unpause domU rc 0"
	expect "P: xvdm is dom${d:-?}'s PCI host bridge: ECAM at 0x33000000 claimed, INTx on SPIs 44-47" \
		"^XVDMP| .* dom${d:-?}: PCI host bridge, ECAM at 0x33000000, .*INTx on SPIs 44-47"
	expect "P: xvdm serves vhost-user-blk on virtio-pci 0000:00:01.0, INTA on SPI 45" \
		"^XVDMP| .* dom${d:-?}/vhost-user-blk0: vhost-user-blk on virtio-pci 0000:00:01.0, INTA on SPI 45"
	expect "P: xvdm connected it to qemu-storage-daemon in mem=shadow" \
		"^XVDMP| .* vhu: dom${d:-?}/vhost-user-blk0: back-end ready (shadow,"
	expect "P: domU's vGIC has 32 SPIs (vuart=sbsa_uart: libxl asks for 1, Xen rounds up to 32), so SPIs 44-47 exist" \
		"^UP| DOMU: pci: dmesg: .*GICv3: 32 SPIs implemented"
	expect "P: domU device tree has xvdm dtb's /passthrough/pcie@33000000, compatible pci-host-ecam-generic" \
		"^UP| DOMU: pci: DT node /proc/device-tree/passthrough/pcie@33000000 compatible=pci-host-ecam-generic "
	expect "P: domU's Linux found the host bridge: PCI bus 0000:00 on the platform device 33000000.pcie" \
		"^UP| DOMU: pci: bus 0000:00 under platform/passthrough/33000000.pcie/"
	expect "P: domU enumerated 0000:00:01.0 = 1af4:1042 (virtio-blk, modern) with its BARs assigned" \
		"^UP| DOMU: pci: 0000:00:01.0: vendor 0x1af4 device 0x1042 .* BARs [0-9]"
	expect "P: virtio_pci bound 0000:00:01.0" "^UP| DOMU: pci: 0000:00:01.0: vendor 0x1af4 device 0x1042 .* driver virtio-pci "
	expect "P: domU probed virtio0 = DeviceID 2 (block) on 0000:00:01.0, bound to virtio_blk" \
		"^UP| DOMU: virtio0: device 0x0002 .*driver virtio_blk"
	expect "P: /dev/vda is as large as dom0's image (${size:-unknown} bytes)" "^UP| DOMU: RESULT: /dev/vda size ${size:-unknown} bytes"
	if [ -n "$(md5 before "$rd")" ] && [ "$(md5 before "$rd")" = "$(md5 before "$init")" ] &&
		[ "$(md5 window "$rd")" = "$(md5 window "$pre")" ] && [ "$(md5 after "$rd")" = "$(md5 after "$init")" ]; then
		ok "P: md5s of all of /dev/vda read in the domU = dom0's md5s of the image (window $(md5 window "$rd"))"
	else
		ko "P: md5s of all of /dev/vda read in the domU = dom0's md5s of the image   (domU: ${rd:-no line}; dom0: ${init:-no line}; ${pre:-no line})"
	fi
	expect "P: the domU wrote 1 MiB at 5 MiB with O_DIRECT and fsync (dd rc 0)" "^UP| DOMU: RESULT: wrote .*dd rc 0,"
	expect "P: the domU read the window back (O_DIRECT, page cache dropped): same md5" "^UP| DOMU: RESULT: read back .* = written"
	# /proc/interrupts (busybox tr -s): "IRQ: COUNT GICv3 45 Level virtio0"
	irq=$(line "^UP| DOMU: pci: interrupts: .* GICv3 45 Level .*virtio0")
	n=$(echo "$irq" | awk '{print $6}')
	if [ -n "$n" ] && [ "$n" -gt 0 ] 2>/dev/null; then
		ok "P: virtio0's interrupts arrived as INTx on SPI 45 (level): $n in /proc/interrupts"
	else
		ko "P: virtio0's interrupts arrived as INTx on SPI 45   (${irq:-no /proc/interrupts line for GICv3 45 Level virtio0})"
	fi
	# Linux's virtio_pci is the first real driver of the transport: anything xvdm dropped or
	# refused (a bad access, a failed INTx, a bad descriptor chain) is a warning
	w=$(grep -a '^XVDMP| .* warning: ' "$CLEAN" | head -3)
	if [ -z "$w" ]; then ok "P: xvdm logged no warning (no guest access dropped, no INTx failure)"; else ko "P: xvdm logged warnings: $w"; fi
	destroy_check P
	expect "P: xvdm exited 0 by itself after xl destroy (its only guest was gone)" "E2E: P: xvdm exit status 0 by itself"
	expect "P: qemu-storage-daemon still running after xl destroy" "E2E: P: qemu-storage-daemon still running"
	if [ -n "$(md5 md5 "$wr")" ] && [ "$(md5 md5 "$wr")" = "$(md5 window "$post")" ]; then
		ok "P: dom0 after destroy: the image's 1 MiB at 5 MiB has the md5 the domU wrote ($(md5 window "$post"))"
	else
		ko "P: dom0 after destroy: the image's 1 MiB at 5 MiB has the md5 the domU wrote   (domU: ${wr:-no line}; dom0: ${post:-no line})"
	fi
	expect "P: dom0 after destroy: the rest of the image is unchanged (cmp)" \
		"E2E: blk: P: after destroy: .*; the rest is unchanged (cmp)"
}
# shm_round: the SHMEM round's checks (dom0-init.sh's "E2E: S: " lines, the domU's "US| "
# console with shm-probe's lines, that xvdm's "XVDMS| " log). The cost per access is printed,
# not judged: emulated hardware.
shm_round() {
	local d l len gpa w
	d=$(line "E2E: S: xl create -p returned" | sed -n 's/.*domid \([0-9]*\).*/\1/p')
	expect "S: two vhub-shm (tests/backends, arm64) listen on /run/vshm.sock and /run/vshm-pci.sock (region 0: 1 MiB; --map 4 KiB, seeds 7 and 9)" \
		"E2E: S: vhub-shm: sockets /run/vshm.sock and /run/vshm-pci.sock appeared"
	expect "S: xvdm dtb --config xvdm-shm.conf --guest domU wrote the partial device tree in dom0" \
		"E2E: S: xvdm dtb .*: rc 0, [0-9]* bytes"
	expect "S: xl create -p domU-shm.cfg (device_tree=, vuart=sbsa_uart): domain created paused" \
		"E2E: S: xl create -p returned .*, state --p---"
	expect "S: xvdm --config xvdm-shm.conf ready, then xl unpause" "E2E: S: xl unpause domU rc 0"
	expect "S: xvdm got region 0 (1 MiB) from vhub-shm's GET_SHMEM_CONFIG for dom${d:-?}'s vhost-user-device" \
		"^XVDMS| .* dom${d:-?}/.*: shared memory region 0: 0x100000 bytes (GET_SHMEM_CONFIG)"
	expect "S: domU device tree has xvdm dtb's /passthrough/virtio@2000000, compatible virtio,mmio" \
		"^US| DOMU: shm: DT node /proc/device-tree/passthrough/virtio@2000000 compatible=virtio,mmio "
	expect "S: domU reads the device's registers through /dev/mem: magic 'virt', version 2, DeviceID 42" \
		"^US| DOMU: shm: virtio-mmio at 0x2000000: magic 0x74726976 version 2 device 42 "
	expect "S: SHMSel 1 (no such region) reads SHMLen = SHMBase = all ones" \
		"^US| DOMU: shm: SHMSel 1: len 0xffffffffffffffff base 0xffffffffffffffff"
	l=$(line "^US| DOMU: RESULT: shm: SHMSel 0: ")
	len=$(echo "$l" | sed -n 's/.*SHMLen \(0x[0-9a-f]*\).*/\1/p')
	gpa=$(echo "$l" | sed -n 's/.*SHMBase \(0x[0-9a-f]*\).*/\1/p')
	if [ "$len" = 0x100000 ] && [ -n "$gpa" ] &&
		[ $((gpa)) -ge $((0x180000000)) ] && [ $((gpa + len)) -le $((0x180000000 + 0x80000000)) ]; then
		ok "S: SHMSel 0: SHMLen 0x100000, SHMBase $gpa inside shm-window 0x180000000:2G"
	else
		ko "S: SHMSel 0: SHMLen 0x100000, SHMBase inside shm-window 0x180000000:2G   (${l:-no SHMSel 0 line})"
	fi
	expect "S: the domU read all 4096 bytes the back-end mapped, through the window: each = 1 + (7 + k) % 255" \
		"^US| DOMU: RESULT: shm: the back-end's mapping: 4096 bytes read (512 8-byte reads, .*, all = 1 + (7 + k) % 255"
	expect "S: the window reads 0 around the mapping (unmapped)" "^US| DOMU: RESULT: shm: outside the mapping: 128 bytes read 0"
	expect "S: the domU asked for the unmap, dom0 sent SIGUSR1 to vhub-shm (SHMEM_UNMAP of everything)" \
		"E2E: S: the domU's UNMAP-NOW marker .*SIGUSR1 to vhub-shm (unmap everything) rc 0"
	expect "S: after the back-end's UNMAP the domU reads 0 in all 4096 bytes" \
		"^US| DOMU: RESULT: shm: after UNMAP: all 4096 bytes read 0"
	expect "S: dom0 sent SIGUSR2 to vhub-shm (SHMEM_MAP again)" \
		"E2E: S: the domU's MAP-AGAIN marker .*SIGUSR2 to vhub-shm (map again) rc 0"
	expect "S: mapped again, the domU reads the bytes again (8 of every 64)" \
		"^US| DOMU: RESULT: shm: mapped again: 512 bytes read .*, all = 1 + (7 + k) % 255"
	expect "S: shm-probe exited 0" "^US| DOMU: shm: shm-probe exit status 0 "
	expect "S: pci: xvdm serves the same device on virtio-pci 0000:00:01.0" \
		"^XVDMS| .* dom${d:-?}/vhost-user-device1: vhost-user-device on virtio-pci 0000:00:01.0"
	expect "S: pci: the domU enumerated 0000:00:01.0 = 1af4:106a (virtio device 42), no driver bound" \
		"^US| DOMU: shm: pci: 0000:00:01.0: vendor 0x1af4 device 0x106a .* driver \$"
	expect "S: pci: the domU found region 0's SHARED_MEMORY capability (cfg_type 8) in config space: BAR 4, 1 MiB" \
		"^US| DOMU: RESULT: shm: pci: SHARED_MEMORY capability at 0x[0-9a-f]*: id 0, BAR 4, offset 0x0, length 0x100000"
	expect "S: pci: through BAR 4 the domU read the page the other vhub-shm mapped: = 1 + (9 + k) % 255 (one word in 8)" \
		"^US| DOMU: RESULT: shm: pci: the back-end's mapping: 512 bytes read .*, all = 1 + (9 + k) % 255"
	expect "S: pci: BAR 4 reads 0 around the mapping" "^US| DOMU: RESULT: shm: pci: outside the mapping: 128 bytes read 0"
	expect "S: pci: dom0 sent SIGUSR1 to that vhub-shm (SHMEM_UNMAP)" \
		"E2E: S: the domU's PCI-UNMAP-NOW marker .*SIGUSR1 to the virtio-pci device's vhub-shm rc 0"
	expect "S: pci: after the UNMAP the domU reads 0 through BAR 4" "^US| DOMU: RESULT: shm: pci: after UNMAP: 512 bytes read 0"
	expect "S: pci: shm-probe pci exited 0" "^US| DOMU: shm: shm-probe pci exit status 0 "
	w=$(grep -a '^XVDMS| .* warning: ' "$CLEAN" | head -3)
	if [ -z "$w" ]; then ok "S: xvdm logged no warning"; else ko "S: xvdm logged warnings: $w"; fi
	destroy_check S
	expect "S: xvdm exited 0 by itself after xl destroy (its only guest was gone)" "E2E: S: xvdm exit status 0 by itself"
	expect "S: both vhub-shm still running after xl destroy" "E2E: S: vhub-shm still running"
	expect "S: both vhub-shm exited with status 0 on SIGTERM" "E2E: S: vhub-shm exit status 0 (virtio-pci's: 0) "
}
# shm_figures: the SHMEM round's cost per access (informational)
shm_figures() {
	local l
	l=$(line "^US| DOMU: RESULT: shm: cost per 4-byte read")
	[ -n "$l" ] || return 0
	echo "$l" | sed 's/^US| DOMU: RESULT: shm: /    S figures: /'
}
# guests_round: the guests boot's checks ("E2E: G: " lines). Per cycle, dom0 prints xvdm's
# open fds and VmRSS; after GUESTS_WARMUP cycles (default 2) both must stay flat: the same fd
# count in every later cycle, and RSS within GUESTS_RSS_SLACK kB (default 64) of the first
# cycle after the warm-up.
guests_round() {
	local n cyc w bad l r
	w=${GUESTS_WARMUP:-2}
	cyc=$(grep -a -c 'E2E: G: cycle [0-9]*: domids' "$CLEAN")
	n=$(line "E2E: G: [0-9]* of [0-9]* cycles done" | sed -n 's/.*G: \([0-9]*\) of \([0-9]*\) cycles done.*, \([0-9]*\) xl failures/\1 \2 \3/p')
	set -- $n
	if [ -n "$n" ] && [ "$1" = "$2" ] && [ "$3" = 0 ] && [ "$cyc" = "$1" ]; then
		ok "G: $1 cycles of xl create domU, domU2 / xl destroy both, no xl failure (one xvdm --watch serves both)"
	else
		ko "G: create/destroy cycles all done without xl failures   (${n:-no summary line}; $cyc cycle lines)"
	fi
	bad=$(grep -a 'E2E: G: cycle [0-9]*: domids' "$CLEAN" | grep -v -c 'backends left \[\]')
	if [ "$bad" = 0 ]; then ok "G: no backend/virtio_disk node left after any cycle"; else ko "G: $bad cycles left backend nodes"; fi
	echo "    G figures: xvdm after each cycle (open fds, VmRSS):"
	grep -a 'E2E: G: \(xvdm pid .* before the cycles\|cycle [0-9]*: domids\)' "$CLEAN" |
		sed 's/.*G: \(cycle [0-9]*\): domids \([0-9]* [0-9]*\), create \(.*\), destroy \(.*\), backends.*xvdm fds \([0-9]*\) rss \([0-9]*\) kB, cycle \([0-9.]* s\)\(; serving both: \)*\(.*\)/\1: fds \5, rss \6 kB (serving both: \9; domids \2; create \3, destroy \4; cycle \7)/; s/.*G: xvdm pid \([0-9]*\) before the cycles: fds \([0-9]*\) rss \([0-9]*\) kB/before: fds \2, rss \3 kB (pid \1)/' |
		sed 's/^/      /'
	l=$(grep -a 'E2E: G: cycle [0-9]*: domids' "$CLEAN" | sed 's/.*cycle \([0-9]*\): .*, xvdm fds \([0-9]*\) rss \([0-9]*\) kB.*/\1 \2 \3/' |
		awk -v w="$w" '$1 > w { if (!n++) { f0 = $2; r0 = $3; fmin = fmax = $2; rmin = rmax = $3 }
			if ($2 < fmin) fmin = $2; if ($2 > fmax) fmax = $2; if ($3 < rmin) rmin = $3; if ($3 > rmax) rmax = $3 }
			END { if (n) print n, f0, fmin, fmax, r0, rmin, rmax }')
	set -- $l
	if [ -n "$l" ] && [ "$1" -ge 2 ] && [ "$3" = "$4" ]; then
		ok "G: xvdm's open fds flat after $w warm-up cycles: $3 in each of the $1 later cycles"
	else
		ko "G: xvdm's open fds flat after $w warm-up cycles   (cycles, first, min, max: ${l:-no figures})"
	fi
	if [ -n "$l" ] && [ "$1" -ge 2 ] && [ $(($7 - $5)) -le "${GUESTS_RSS_SLACK:-64}" ]; then
		ok "G: xvdm's VmRSS flat after $w warm-up cycles: $5 kB, then $6-$7 kB (growth $(($7 - $5)) kB, limit ${GUESTS_RSS_SLACK:-64} kB)"
	else
		ko "G: xvdm's VmRSS flat after $w warm-up cycles   (cycles, fds first/min/max, rss first/min/max: ${l:-no figures})"
	fi
	expect "G: R: domU (reading /dev/hwrng in a loop) and domU2 created" "E2E: G: R: domU2 created"
	expect "G: R: domU read its 64 KiB, then started its read loop" "E2E: G: R: domU's read loop started"
	n=$(grep -a -c 'E2E: G: R: reboot [0-9]*: domU2 read 65536 bytes' "$CLEAN")
	r=$(grep -a -c 'E2E: G: R: reboot [0-9]*: domU2 destroyed' "$CLEAN")
	if [ "$r" -ge 1 ] && [ "$n" = "$r" ]; then
		ok "G: R: domU2 destroyed and created $r times beside domU; each time it read 65536 bytes from its rng"
	else
		ko "G: R: domU2 destroyed and created beside domU, reading its rng each time   ($n of $r)"
	fi
	bad=$(grep -a 'E2E: G: R: reboot [0-9]*: domU2 read' "$CLEAN" | sed 's/.*loop lines \([0-9]*\) -> \([0-9]*\).*/\1 \2/' | awk '$2 <= $1' | wc -l)
	if [ "$r" -ge 1 ] && [ "$bad" = 0 ]; then
		ok "G: R: domU's read loop went on through each of domU2's restarts"
	else
		ko "G: R: domU's read loop went on through each of domU2's restarts   ($bad restarts without progress)"
	fi
	l=$(line "E2E: G: R: domU's last loop line: read")
	n=$(echo "$l" | sed -n 's/.*read \([0-9]*\): 4096 bytes, 0 errors so far.*/\1/p')
	if [ -n "$n" ]; then ok "G: R: domU: $n reads of 4096 bytes from /dev/hwrng, 0 errors"; else ko "G: R: domU's read loop without errors   (${l:-no loop line})"; fi
	expect "G: R: both guests destroyed at the end" "E2E: G: R: both destroyed"
	expect "G: xvdm still running after all cycles and restarts" "E2E: G: xvdm still running after all"
}
# dm_round: the libxl device-model test ("E2E: D: " lines)
dm_round() {
	local d
	expect "D: xvdm dtb wrote the domU's virtio,mmio node (rng, 0x2000000, SPI 33)" "E2E: D: xvdm dtb .*: rc 0, [0-9]* bytes"
	expect "D: xl create domU-dm.cfg (device_model_override=/usr/bin/xvdm) returned 0" "E2E: D: xl create domU-dm.cfg rc 0 "
	d=$(line "E2E: D: domid " | sed -n 's/.*domid \([0-9]*\),.*/\1/p')
	expect "D: device-model/${d:-?}/state = running" "E2E: D: domid [0-9]*, device-model/[0-9]*/state = running"
	expect "D: libxl started xvdm with QEMU's command line (-xen-domid ${d:-?} ... -device virtio-rng-device)" \
		"E2E: D: device model pid [0-9]*: .*xvdm .*-xen-domid ${d:-?} .*-device virtio-rng-device"
	expect "D: domU probed virtio0 = DeviceID 4 (entropy), bound to virtio_rng" "^UD| DOMU: virtio0: device 0x0004 .*driver virtio_rng"
	expect "D: head -c 65536 /dev/hwrng | wc -c = 65536 (the device model's rng)" "^UD| DOMU: RESULT: head -c 65536 /dev/hwrng | wc -c = 65536 "
	expect "D: the bytes are not all zero" "^UD| DOMU: RESULT: bytes are not all zero"
	expect "D: xl destroy rc 0" "E2E: D: xl destroy rc=0 "
	expect "D: the device model xvdm exited after xl destroy" "E2E: D: the device model xvdm exited"
}
no_crash() {
	local bad
	bad=$(grep -a -E '^U[0-9PSGD][0-9]*\| .*(Unable to handle kernel|Internal error|Oops|Kernel panic|Call trace)|Xen BUG|Panic on CPU|FATAL PAGE FAULT' "$CLEAN" | head -3)
	if [ -z "$bad" ]; then ok "no kernel oops, data abort or Xen crash in the serial log"; else ko "crash in the serial log: $bad"; fi
}

for t in $TESTS; do
	case $t in
	rng)
		boot rng dom0.cpio.gz e2e.dm=xvdm
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "xvdm --watch --config /etc/xvdm/xvdm.conf -v running in dom0" "E2E: xvdm started"
		for r in 1 2; do
			expect "R$r: xl create domU returned (backend handshake within libxl's 10 s)" "E2E: R$r: xl create returned"
			[ $r = 2 ] && domid_check
			expect "R$r: domU probed virtio0 = DeviceID 4 (entropy), bound to virtio_rng" \
				"^U$r| DOMU: virtio0: device 0x0004 .*driver virtio_rng"
			expect "R$r: /sys/class/misc/hw_random/rng_current names virtio_rng" \
				"^U$r| DOMU: rng_current = virtio_rng"
			expect "R$r: head -c 65536 /dev/hwrng | wc -c = 65536" \
				"^U$r| DOMU: RESULT: head -c 65536 /dev/hwrng | wc -c = 65536 "
			expect "R$r: the bytes are not all zero" "^U$r| DOMU: RESULT: bytes are not all zero"
			destroy_check $r
			expect "R$r: backend/virtio_disk node removed after destroy" "E2E: R$r: backend/virtio_disk/[0-9]* removed"
			expect "R$r: xvdm still running after xl destroy (kill -0)" "E2E: R$r: xvdm still running after xl destroy"
		done
		expect "xvdm exited with status 0 on SIGTERM" "E2E: xvdm exit status 0 "
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	blk)
		boot blk dom0-blk.cpio.gz e2e.dm=xvdm e2e.test=blk e2e.rounds="$BLK_ROUNDS" e2e.pci="$PCI_ROUND" \
			e2e.shm="$SHM_ROUND"
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "qemu-storage-daemon (Debian arm64) exports /root/disk.raw on /run/vub.sock" \
			"E2E: qsd: socket /run/vub.sock appeared"
		expect "vhub-blk (F_XEN_MMAP) serves /root/disk.raw on /run/vhub.sock" \
			"E2E: vhub: socket /run/vhub.sock appeared"
		expect "xvdm --watch --config /etc/xvdm/xvdm-blk.conf -v running in dom0" "E2E: xvdm started"
		for r in $(seq 1 "$BLK_ROUNDS"); do
			blk_round "$r"
			[ "$r" = 2 ] && domid_check
		done
		[ "$PCI_ROUND" = 1 ] && pci_round
		[ "$SHM_ROUND" = 1 ] && shm_round
		expect "xvdm exited with status 0 on SIGTERM" "E2E: xvdm exit status 0 "
		expect "qemu-storage-daemon exited with status 0 on SIGTERM" "E2E: qsd: exit status 0 "
		expect "vhub-blk exited with status 0 on SIGTERM" "E2E: vhub: exit status 0 "
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	pci)
		boot pci dom0-blk.cpio.gz e2e.dm=xvdm e2e.test=blk e2e.rounds=0 e2e.pci=1
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "qemu-storage-daemon (Debian arm64) exports /root/disk.raw on /run/vub.sock" \
			"E2E: qsd: socket /run/vub.sock appeared"
		pci_round
		expect "qemu-storage-daemon exited with status 0 on SIGTERM" "E2E: qsd: exit status 0 "
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	shm)
		boot shm dom0-blk.cpio.gz e2e.dm=xvdm e2e.test=blk e2e.rounds=0 e2e.pci=0 e2e.shm=1
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		shm_round
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	guests)
		boot guests dom0.cpio.gz e2e.dm=xvdm e2e.test=guests
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "xvdm --watch --config /etc/xvdm/xvdm-guests.conf -v running in dom0" "E2E: xvdm started"
		guests_round
		dm_round
		expect "xvdm exited with status 0 on SIGTERM" "E2E: xvdm exit status 0 "
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	blk-dry)
		boot blk-dry dom0-blk.cpio.gz e2e.dm=fake e2e.test=blk
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "qemu-storage-daemon (Debian arm64) exports /root/disk.raw on /run/vub.sock" \
			"E2E: qsd: socket /run/vub.sock appeared"
		expect "fake backend (xenstore handshake only) running" "E2E: fake backend started"
		expect "R1: xl create domU returned" "E2E: R1: xl create returned"
		expect "R1: domU initramfs has virtio_blk.ko" "^U1| DOMU: modules: .*virtio_blk.ko"
		expect "R1: modprobe virtio_blk works" "^U1| DOMU: DRY: virtio_blk loaded"
		expect "R1: domU reached its END marker" "^U1| DOMU: END"
		destroy_check 1
		expect "R1: qemu-storage-daemon still running after xl destroy" "E2E: R1: qemu-storage-daemon still running"
		expect "qemu-storage-daemon exited on SIGTERM" "E2E: qsd: exit status 0 "
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	dry)
		boot dry dom0.cpio.gz e2e.dm=fake
		expect "dom0 toolstack up (xenstored, xenconsoled, xl list)" "E2E: toolstack up"
		expect "fake backend (xenstore handshake only) running" "E2E: fake backend started"
		for r in 1 2; do
			expect "R$r: xl create domU returned" "E2E: R$r: xl create returned"
			[ $r = 2 ] && domid_check
			expect "R$r: domU device tree has virtio@2000000, compatible virtio,mmio" \
				"^U$r| DOMU: DT node /proc/device-tree/virtio@2000000 compatible=virtio,mmio"
			expect "R$r: domU initramfs has virtio_mmio.ko" "^U$r| DOMU: modules: .*virtio_mmio.ko"
			expect "R$r: domU initramfs has virtio-rng.ko" "^U$r| DOMU: modules: .*virtio-rng.ko"
			expect "R$r: hw_random core and /dev/hwrng present" "^U$r| DOMU: hw_random core: /sys/class/misc/hw_random, /dev/hwrng: /dev/hwrng"
			expect "R$r: modprobe virtio_rng works" "^U$r| DOMU: DRY: virtio_rng loaded"
			expect "R$r: domU reached its END marker" "^U$r| DOMU: END"
			destroy_check $r
		done
		no_crash
		expect "dom0 finished and powered off" "E2E: dom0 done"
		;;
	*) ko "unknown test $t" ;;
	esac
	grep -a -E 'E2E: (D: (xl create|xl destroy|domid|device model pid|the device model|domU END)|G: (R: |[0-9]* of)|toolstack up|qsd: socket|vhub: socket|(R[0-9]|P|S): (xl create returned|xl create -p returned|xvdm ready|domU END marker|NO domU|xl destroy rc|xvdm exit))|^U[0-9P]\| DOMU: RESULT: (head|read|wrote)' "$CLEAN" | sed 's/^/    /'
	shm_figures
	handshakes
	echo "    timings: $(tail -1 "$LOG.time" 2>/dev/null)"

	if [ "$DEMO" = 1 ] && [ "$t" = rng ]; then
		echo
		echo "==== What the domU saw (round 1: its console, DOMU: lines) ===="
		grep -a '^U1| DOMU:' "$CLEAN" | sed 's/^U1| /  /'
		echo
		echo "==== Round 2 (a new domain, served again) ===="
		grep -a -E '^U2\| DOMU: (virtio0|rng_current|RESULT|first bytes)' "$CLEAN" | sed 's/^U2| /  /'
		echo
		echo "==== xvdm's log in dom0 (excerpt: $(grep -a -m1 -- '---- xvdm log' "$CLEAN" | sed 's/.*(\(.*\)).*/\1/')) ===="
		grep -a '^XVDM| ' "$CLEAN" | sed 's/^XVDM| /  /' | awk 'NR<=40{print; next} {tail[NR%20]=$0; n=NR}
			END{if (n>60) print "  ..."; for (i=n-19; i<=n; i++) if (i>40) print tail[i%20]}'
		echo
		echo "==== dom0's view ===="
		grep -a -E 'E2E: (xvdm started|R[0-9]: (domid|xl create returned|xl destroy|xvdm still)|xvdm exit status)' "$CLEAN" | sed 's/^/  /'
		echo
		echo "(full serial log: $LOG)"
	fi
done
echo "total: $(($(date +%s) - t_start)) s" >> "$T"
echo "timings: $(tr '\n' ';' < "$T" | sed 's/;$//; s/;/; /g')"
summary
