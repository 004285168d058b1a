# shellcheck shell=bash disable=SC2034
# Sourced by the tests/e2e scripts: defaults and small apt helpers.
# Only Debian packages, only through apt (nothing arm64 is installed on the host:
# arm64 .debs are downloaded and unpacked with dpkg-deb -x).
WORK=${WORK:-/var/tmp/xvdm-lab}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$E2E_DIR/../.." && pwd)
export WORK
export DEBIAN_FRONTEND=noninteractive

_apt_updated=0
apt_update_once() {
	[ "$_apt_updated" = 1 ] && return 0
	echo "apt-get update"
	apt-get update -qq
	_apt_updated=1
}

# Install the host (amd64) packages that are missing; a no-op when all are there.
ensure_host_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	echo "installing host packages: ${missing[*]}"
	apt_update_once
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_arm64_arch() {
	dpkg --print-foreign-architectures | grep -qx arm64 && return 0
	echo "dpkg --add-architecture arm64"
	dpkg --add-architecture arm64
	_apt_updated=0
	apt_update_once
}

# download_debs DIR PKG...: apt-get download the arm64 .debs not yet in DIR.
download_debs() {
	local dir=$1 p missing=()
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		compgen -G "$dir/${p}_*_arm64.deb" >/dev/null || missing+=("$p:arm64")
	done
	[ ${#missing[@]} = 0 ] && return 0
	echo "downloading ${#missing[@]} arm64 package(s) into $dir"
	# apt-get download runs as _apt where it can; a root-owned dir only makes it warn.
	if ! (cd "$dir" && apt-get download -qq "${missing[@]}" 2>/dev/null); then
		apt_update_once
		(cd "$dir" && apt-get download -qq "${missing[@]}")
	fi
}

# The arm64 .debs xvdm needs at run time in dom0 (and to link against, with their -dev
# packages, in the cross sysroot). Keep in step with what xvdm links:
# build-images.sh checks the binary's DT_NEEDED closure against the dom0 image.
XVDM_RUNTIME_PKGS="libglib2.0-0 libpcre2-8-0 libffi8 libmount1 libselinux1 libblkid1 zlib1g
 libfdt1 libxendevicemodel1 libxenforeignmemory1 libxenevtchn1 libxenstore4 libxentoolcore1
 libxengnttab1 libxencall1 libxentoollog1"

# The blk test's back-end in dom0: Debian's arm64 qemu-storage-daemon (package
# qemu-system-common, of which build-images.sh keeps /usr/bin/qemu-storage-daemon only) and
# the packages of its DT_NEEDED closure that the set above lacks (found by iterating
# aarch64-linux-gnu-readelf -d from the binary; glib, pcre2, ffi, libc, zlib and zstd are
# already there). Downloaded into $WORK/debs-qsd only when the blk test is selected
# (WITH_BLK=1); build-images.sh checks the closure again against the dom0 image.
QSD_PKGS="qemu-system-common libaio1 libfuse3-3 libgmp10 libgnutls30 libhogweed6 libidn2-0
 libnettle8 libnuma1 libp11-kit0 libtasn1-6 libunistring2 liburing2"
