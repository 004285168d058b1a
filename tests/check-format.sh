#!/bin/bash
# Every C file of the project matches .clang-format (STYLE.md). Prints the files that
# do not, with the first lines of the diff; exits 1 if there is any.
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
CF=${CLANG_FORMAT:-clang-format}
command -v "$CF" >/dev/null || { echo "clang-format not found"; exit 77; }
bad=0
while IFS= read -r f; do
	if ! diff -q <("$CF" --style=file "$f") "$f" >/dev/null; then
		echo "not formatted: $f"
		diff -u "$f" <("$CF" --style=file "$f") | head -20
		bad=1
	fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
exit $bad
