#!/bin/bash
# The x86 lab's packages, Debian 12 only: the host's qemu-system-x86 (TCG) and tools
# (installed), and the amd64 .debs of the emulated machine (downloaded into $WORK/x86/debs,
# never installed): Xen 4.17 hypervisor and toolstack, Debian's QEMU for HVM guests
# (qemu-system-xen, seabios), qemu-storage-daemon (package qemu-system-common), busybox,
# the current amd64 kernel, and the shared-library closure of all of them (which also
# covers what xvdm links: GLib, libfdt, the Xen libraries). Idempotent: a second run
# downloads nothing.
# Usage: WORK=/var/tmp/xvdm-lab tests/e2e-x86/fetch-debs.sh
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
D=$WORK/x86/debs
mkdir -p "$D"
t0=$(date +%s)
ensure_host_pkgs qemu-system-x86 kmod cpio gzip time
t1=$(date +%s)

# the amd64 kernel ABI package the meta package points at (kept once resolved)
KPKG=$(cat "$D/KPKG" 2>/dev/null || true)
if [ -z "$KPKG" ] || ! compgen -G "$D/${KPKG}_*_amd64.deb" >/dev/null; then
	KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-/{print $2; exit}' || true)
	if [ -z "$KPKG" ]; then
		apt_update_once
		KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
	fi
fi
echo "kernel package: $KPKG"

TOP="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils qemu-system-xen
 qemu-system-common qemu-system-data seabios busybox-static zlib1g $XVDM_RUNTIME_PKGS"
TOP=$(echo $TOP) # one line
if [ ! -f "$D/PKGS" ] || [ "$(head -1 "$D/PKGS")" != "# $KPKG $TOP" ]; then
	# the lib* part of the dependency closure (perl, python, pam... are not needed to boot)
	# shellcheck disable=SC2086
	LIBS=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $TOP 2>/dev/null |
		grep -E '^lib[a-z0-9.+-]*$' |
		grep -v -E '^lib(perl|python|gdbm|debian-installer|pam|semanage|sepol|audit|newt|slang|textwrap|nsl|tirpc|db5|sqlite|readline|cap2-bin)' |
		sort -u)
	{ echo "# $KPKG $TOP"; echo $TOP $KPKG $LIBS | tr ' ' '\n' | sort -u; } > "$D/PKGS.new"
	mv "$D/PKGS.new" "$D/PKGS"
fi
missing=()
while read -r p; do
	case $p in "#"*|"") continue ;; esac
	compgen -G "$D/${p}_*.deb" >/dev/null || missing+=("$p")
done < "$D/PKGS"
if [ ${#missing[@]} != 0 ]; then
	echo "downloading ${#missing[@]} amd64 package(s) into $D"
	if ! (cd "$D" && apt-get download -qq "${missing[@]}" 2>/dev/null); then
		apt_update_once
		(cd "$D" && apt-get download -qq "${missing[@]}")
	fi
fi
echo "$KPKG" > "$D/KPKG"
echo "host apt: $((t1 - t0)) s, amd64 debs: $(( $(date +%s) - t1 )) s, $(grep -vc '^#' "$D/PKGS") packages, $(du -sh "$D" | cut -f1)"
