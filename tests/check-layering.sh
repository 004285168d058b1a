#!/bin/bash
# The layering of DESIGN.md §2, checked on every #include of the project's sources:
#   common/       -> common
#   xen/          -> common, and Xen's headers (the only directory that may include them)
#   devices/      -> common, devices
#   virtio-mmio/  -> common, devices/vdev.h, virtio-mmio
#   virtio-pci/   -> common, devices/vdev.h, virtio-pci
#   vmm/          -> everything above
# Exits 1 and names each violation.
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
bad=0
xen_hdr='^(xen/|xen[a-z_]*\.h$|xs\.h$|xs_lib\.h$)'
check() { # file allowed-project-dirs-regex xen-allowed
	local f=$1 allowed=$2 xen_ok=$3 inc
	while IFS= read -r inc; do
		case $inc in
		\<*)	inc=${inc#<}; inc=${inc%>}
			if [ "$xen_ok" = 0 ] && [[ $inc =~ $xen_hdr ]]; then
				echo "$f: includes Xen header <$inc> (only xen/ may)"; bad=1
			fi ;;
		\"*)	inc=${inc#\"}; inc=${inc%\"}
			if [[ $inc != */* ]]; then
				echo "$f: include \"$inc\" is not directory-qualified"; bad=1
			elif ! [[ $inc =~ $allowed ]]; then
				echo "$f: includes \"$inc\" across layers"; bad=1
			fi ;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f")
}
for f in $(git ls-files 'common/*.[ch]' 'xen/*.[ch]' 'devices/*.[ch]' 'virtio-mmio/*.[ch]' \
		'virtio-pci/*.[ch]' 'vmm/*.[ch]' 2>/dev/null); do
	case $f in
	common/*)	check "$f" '^common/' 0 ;;
	xen/*)		check "$f" '^(common|xen)/' 1 ;;
	devices/*)	check "$f" '^(common|devices)/' 0 ;;
	virtio-mmio/*)	check "$f" '^(common/|devices/vdev\.h$|virtio-mmio/)' 0 ;;
	virtio-pci/*)	check "$f" '^(common/|devices/vdev\.h$|virtio-pci/)' 0 ;;
	vmm/*)		check "$f" '^(common|xen|devices|virtio-mmio|virtio-pci|vmm)/' 0 ;;
	esac
done
[ $bad = 0 ] && echo "layering ok"
exit $bad
