# shellcheck shell=bash
# Sourced by the build-images.sh of tests/e2e, tests/e2e-x86 and tests/e2e-trixie.
# add_modules ROOT MODULE...: copy kernel modules (names with - or _, files .ko or .ko.xz,
# decompressed on the way) and, recursively, their dependencies from $MSRC (the unpacked
# kernel package's lib/modules/$KVER) into ROOT/lib/modules/$KVER; run depmod -b after.
add_modules() {
	local root=$1 m f rel dst dep
	shift
	mkdir -p "$root/lib/modules/$KVER"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		if [ -f "$MSRC/$f" ] && [ ! -f "$root/lib/modules/$KVER/$f" ]; then
			cp "$MSRC/$f" "$root/lib/modules/$KVER/"
		fi
	done
	for m in "$@"; do
		f=$(find "$MSRC/kernel" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" -o -name "${m//-/_}.ko*" \) | head -1)
		[ -n "$f" ] || { echo "module $m not found in ${KPKG:-$MSRC}"; exit 1; }
		rel=${f#"$MSRC"/}
		rel=${rel%.xz}
		dst=$root/lib/modules/$KVER/$rel
		[ -f "$dst" ] && continue
		mkdir -p "$(dirname "$dst")"
		case $f in
		*.xz) xz -dc "$f" > "$dst" ;;
		*) cp "$f" "$dst" ;;
		esac
		for dep in $(modinfo -F depends "$dst" | tr ',' ' '); do add_modules "$root" "$dep"; done
	done
}
