# shellcheck shell=bash disable=SC2034
# Sourced by the tests/e2e-trixie scripts: defaults, the private trixie apt configuration.
# The host stays Debian 12: trixie's arm64 .debs are downloaded through an apt configuration
# of our own ($W/apt: sources, lists, cache) and only unpacked (dpkg-deb -x); trixie's Xen and
# QEMU sources are compiled with the host's cross gcc.
WORK=${WORK:-/var/tmp/xvdm-lab}
W=$WORK/trixie
T_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$T_DIR/../.." && pwd)
E2E_DIR=$SRC_ROOT/tests/e2e
MIRROR=${MIRROR:-http://deb.debian.org/debian}
export WORK DEBIAN_FRONTEND=noninteractive
AP=$W/apt
APT_OPTS=(-o Dir::Etc::sourcelist="$AP/etc/sources.list" -o Dir::Etc::sourceparts=/dev/null
	-o Dir::State::Lists="$AP/lists" -o Dir::Cache="$AP/cache"
	-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
	-o Debug::NoLocking=1)
tapt() { apt-get "${APT_OPTS[@]}" "$@"; }
tcache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# tdl DIR PKG...: download the trixie arm64 (or all) .debs not yet in DIR.
tdl() {
	local dir=$1 p n want=()
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		n=${p%%:*}
		compgen -G "$dir/${n}_*_arm64.deb" >/dev/null || compgen -G "$dir/${n}_*_all.deb" >/dev/null ||
			want+=("$p")
	done
	[ ${#want[@]} = 0 ] && return 0
	echo "downloading ${#want[@]} trixie package(s) into $dir"
	(cd "$dir" && tapt download -qq "${want[@]}" 2>&1 | grep -v unsandboxed) || true
	for p in "${want[@]}"; do
		n=${p%%:*}
		compgen -G "$dir/${n}_*.deb" >/dev/null || { echo "could not download $p"; return 1; }
	done
}

# The arm64 DT_NEEDED closure of ELF files, resolved in a root directory: prints the
# missing sonames (none when the root has them all). Used to check the dom0 image.
elf_missing() { # root file...
	local root=$1 f n seen=" " todo=() missing=""
	shift
	todo=("$@")
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for n in $(aarch64-linux-gnu-readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $seen in *" $n "*) continue ;; esac
			seen="$seen$n "
			local p
			p=$(find "$root/usr/lib/aarch64-linux-gnu" "$root/usr/lib" -maxdepth 1 -name "$n" 2>/dev/null | head -1)
			if [ -n "$p" ]; then todo+=("$(readlink -f "$p")"); else missing="$missing $n"; fi
		done
	done
	echo "$missing"
}
