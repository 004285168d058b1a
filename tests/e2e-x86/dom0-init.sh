#!/bin/sh
# dom0 /init of the x86 lab (PV dom0, Xen 4.17 amd64): the toolstack, then
#   guest A (domU-a.cfg): plain `xl create`; libxl runs /usr/local/libexec/xvdm-hvm-dm as
#     the device model, which starts xvdm (blk + rng, MSI-X) and then execs QEMU (with QEMU's
#     own virtio-blk-pci on /srv/q.img for the comparison);
#   guest B (domU-b.cfg, pci=nomsi): `xl create -p`, `xvdm --domid N --device ...`, wait for
#     xvdm's pid file, `xl unpause` (INTx; pio-notify=on: kicks by `out` to I/O BAR 0).
# The disks are 32 MiB of random bytes served by qemu-storage-daemon (vhost-user-blk) in
# dom0; their md5s are printed before and after each guest. Markers: "E2E: ", guest console
# lines "A| " and "B| ", xvdm logs "XVDM-A| " and "XVDM-B| ". Knobs (cmdline):
# e2e.wait=S (per guest, default 400), e2e.only=a|b, e2e.mon=S (a progress line every S s,
# default 30), e2e.top=1 (top with each), e2e.shell=1 (a shell at the end).
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib/xen-4.17/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/xen /run/xvdm /var/log/xen/console /run/lock
up() { cut -d' ' -f1 /proc/uptime; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
since() { echo "$(up) $1" | awk '{printf "%.1f", $1-$2}'; }
e2e() { echo "E2E: $*"; }
stty -echo 2>/dev/null # run-qemu.sh's keep-alive spaces arrive on the console
e2e "dom0 userspace up at uptime $(up) s"
for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc; do modprobe $m || e2e "modprobe $m failed"; done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xen/xenstored.pid || e2e "xenstored failed"
xen-init-dom0 > /dev/null || e2e "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	e2e "xenconsoled failed"
xl list > /dev/null && e2e "toolstack up at uptime $(up) s"
xl info | grep -E 'xen_version|virt_caps|free_memory' | sed 's/^/E2E: xl info: /'
WAIT=$(arg e2e.wait); WAIT=${WAIT:-400}
MON=$(arg e2e.mon); MON=${MON:-30}
ONLY=$(arg e2e.only)

# 32 MiB of random bytes per disk, on a tmpfs of their own (the initramfs holds half of
# dom0's RAM at most); qemu-storage-daemon serves a and b over vhost-user-blk
mkdir -p /srv && mount -t tmpfs -o size=112m tmpfs /srv
for d in a b q; do head -c 33554432 /dev/urandom > /srv/$d.img; done
for d in a b; do
	qemu-storage-daemon --blockdev driver=file,node-name=f0,filename=/srv/$d.img \
		--export type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=/run/qsd-$d.sock,writable=on \
		> /run/qsd-$d.log 2>&1 &
done
for i in $(seq 1 100); do [ -S /run/qsd-a.sock ] && [ -S /run/qsd-b.sock ] && break; sleep 0.1; done
[ -S /run/qsd-a.sock ] && [ -S /run/qsd-b.sock ] && e2e "qemu-storage-daemon up" || cat /run/qsd-*.log
md5() { md5sum < "$1" | cut -d' ' -f1; }
region_md5() { dd if="$1" bs=1M skip=2 count=1 2>/dev/null | md5sum | cut -d' ' -f1; }

# wait_gone NAME DOMID T0: until the domain is gone (or WAIT s)
wait_gone() {
	i=0
	while [ $i -lt "$WAIT" ] && xenstore-exists /local/domain/$2; do
		sleep 1; i=$((i + 1))
		if [ $((i % MON)) = 0 ]; then
			e2e "$1: +$(since $3) s: $(tail -c 120 /var/log/xen/console/guest-$1.log 2>/dev/null | tr -d '\r' | tail -1)"
			[ "$(arg e2e.top)" = 1 ] && top -b -n1 | sed -n '1,12p' | sed "s/^/E2E: top: /"
		fi
	done
	if xenstore-exists /local/domain/$2; then
		e2e "$1: still there after $WAIT s: destroying it"
		tail -3 /var/log/xen/console/guest-$1.log
		xl destroy "$1"
	else
		e2e "$1: gone at $(since $3) s after xl create"
	fi
}
# xvdm_exit NAME PID: did xvdm exit by itself once the domain was gone?
xvdm_exit() {
	i=0
	while [ $i -lt 50 ] && kill -0 "$2" 2>/dev/null && ! grep -q '^State:.*Z' /proc/$2/status 2>/dev/null; do
		sleep 0.2; i=$((i + 1))
	done
	if kill -0 "$2" 2>/dev/null && ! grep -q '^State:.*Z' /proc/$2/status 2>/dev/null; then
		e2e "$1: xvdm (pid $2) still running 10 s after the domain went away"; kill "$2"
	else
		e2e "$1: xvdm exited after the domain went away"
	fi
}
report() { # NAME LETTER IMG
	e2e "$1: image md5 final $(md5 $3) region $(region_md5 $3)"
	e2e "---- $1 console ----"
	sed "s/^/$2| /" /var/log/xen/console/guest-$1.log 2>/dev/null | tr -d '\r'
	e2e "---- $1 xvdm log ----"
	sed "s/^/XVDM-$2| /" "$4" 2>/dev/null
	e2e "---- $1 qemu-dm log ----"
	tail -15 /var/log/xen/qemu-dm-$1.log 2>/dev/null | sed "s/^/QDM-$2| /"
	e2e "---- end $1 ----"
}

if [ "$ONLY" != b ]; then
	# guest A: xl starts the wrapper as device model; xvdm comes up before QEMU
	e2e "hvm-a: image md5 initial $(md5 /srv/a.img)"
	e2e "hvm-a: xl create at uptime $(up) s"
	T0=$(up)
	if xl create /root/domU-a.cfg > /run/xl-a.log 2>&1; then
		domid=$(xl domid hvm-a)
		pid=$(cat /run/xvdm/hvm-a.pid 2>/dev/null)
		e2e "hvm-a: xl create returned after $(since $T0) s (domid $domid, xvdm pid ${pid:-none})"
		grep 'xvdm-hvm-dm' /var/log/xen/qemu-dm-hvm-a.log | sed 's/^/E2E: hvm-a: dm: /'
		wait_gone hvm-a "$domid" "$T0"
		[ -n "$pid" ] && xvdm_exit hvm-a "$pid"
	else
		e2e "hvm-a: xl create FAILED"; sed 's/^/E2E: xl: /' /run/xl-a.log | tail -20
	fi
	report hvm-a A /srv/a.img /var/log/xen/xvdm-hvm-a.log
fi

if [ "$ONLY" != a ]; then
	# guest B: create paused, attach xvdm, unpause
	e2e "hvm-b: image md5 initial $(md5 /srv/b.img)"
	e2e "hvm-b: xl create -p at uptime $(up) s"
	T0=$(up)
	if xl create -p /root/domU-b.cfg > /run/xl-b.log 2>&1; then
		domid=$(xl domid hvm-b)
		xvdm --domid "$domid" --pidfile /run/xvdm-b.pid -v --pci mode=cfg,pio-notify=on \
			--device vhost-user-blk,transport=pci,slot=4,socket=/run/qsd-b.sock,mem=shadow \
			--device rng,transport=pci,slot=5 > /run/xvdm-b.log 2>&1 &
		pid=$!
		for i in $(seq 1 300); do [ -s /run/xvdm-b.pid ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.1; done
		if [ -s /run/xvdm-b.pid ]; then
			e2e "hvm-b: xvdm ready (pid $pid) at $(since $T0) s"
			xl unpause "$domid" && e2e "hvm-b: unpaused at $(since $T0) s after xl create"
		else
			e2e "hvm-b: xvdm did not come up"
		fi
		wait_gone hvm-b "$domid" "$T0"
		xvdm_exit hvm-b "$pid"
	else
		e2e "hvm-b: xl create FAILED"; sed 's/^/E2E: xl: /' /run/xl-b.log | tail -20
	fi
	report hvm-b B /srv/b.img /run/xvdm-b.log
fi

dmesg | grep -i -E "segfault|general protection" | sed "s/^/E2E: dom0 dmesg: /"
e2e "dom0 done at uptime $(up) s"
[ "$(arg e2e.shell)" = 1 ] && exec setsid cttyhack sh
sync
poweroff -f
