#!/usr/bin/env bash
# Checks vendor-headers/ against the upstream DAOS headers of each release we
# support, without a DAOS install: for every tag, the public headers of
# daos-stack/daos (src/include, with daos_version.h generated as the build
# does) become a fake install prefix, and then
#   1. every item bindgen emits from the vendor headers must also be emitted,
#      under the same name, from the upstream headers of that release;
#   2. `cargo check -p daos -p daos-csi` must pass with DAOS_DIR set to it,
#      i.e. code written against the emulator build compiles against a real
#      install of that release.
#
# usage: daos-sys/scripts/check-upstream.sh [DAOS_GIT_DIR] [TAG...]
#   DAOS_GIT_DIR  a clone (bare is fine) of daos-stack/daos
#                 (default /work/.mirror/daos-stack+daos/repo)
#   TAG           default: v2.8.0 v2.6.5.p2
# VENDOR_HEADERS=dir checks another copy of the vendor headers.
set -euo pipefail
cd "$(dirname "$0")/../.."
vendor=${VENDOR_HEADERS:-vendor-headers}

default_git=/work/.mirror/daos-stack+daos/repo
daos_git=${1:-$default_git}
shift || true
if [ ! -d "$daos_git" ]; then
	# Only the default location may be absent (a machine without the mirror).
	[ "$daos_git" = "$default_git" ] || { echo "no git dir at $daos_git" >&2; exit 2; }
	echo "check-upstream: skipped, no daos-stack/daos clone at $daos_git"
	exit 0
fi
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(v2.8.0 v2.6.5.p2)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# The generated bindings.rs of daos-sys built against prefix $1, target dir $2.
bindings_for() {
	local out_dir
	out_dir=$(DAOS_DIR=$1 cargo build -q -p daos-sys --target-dir "$2" --message-format=json |
		grep -o '"out_dir":"[^"]*daos-sys-[^"]*"' | tail -n1 | cut -d'"' -f4)
	echo "$out_dir/bindings.rs"
}

# The item names of a bindings.rs, without bindgen's names for unnamed enums.
item_names() {
	grep -oE '^ *pub (const|fn|struct|union|type|static) [A-Za-z0-9_]+' "$1" |
		awk '{ print $2 " " $3 }' | grep -v '_bindgen_ty_' | sort -u
}

# $1: prefix to fill with the headers of tag $2 and a placeholder libdaos.so.
upstream_prefix() {
	local prefix=$1 tag=$2 sconscript major minor fix
	mkdir -p "$prefix/include" "$prefix/lib64"
	mkdir -p "$work/src-$tag"
	git -C "$daos_git" archive "$tag" src/include | tar -x -C "$work/src-$tag"
	cp -r "$work/src-$tag/src/include/." "$prefix/include/"
	sconscript=$(git -C "$daos_git" show "$tag:src/SConscript")
	api() { sed -n "s/^API_VERSION_$1 = \"\([0-9]*\)\"/\1/p" <<<"$sconscript"; }
	IFS=. read -r major minor fix < <(git -C "$daos_git" show "$tag:VERSION")
	sed -e "s/@TMPL_MAJOR@/$(api MAJOR)/" -e "s/@TMPL_MINOR@/$(api MINOR)/" \
		-e "s/@TMPL_FIX@/$(api FIX)/" -e "s/@TMPL_PKG_MAJOR@/$major/" \
		-e "s/@TMPL_PKG_MINOR@/$minor/" -e "s/@TMPL_PKG_FIX@/$fix/" \
		"$prefix/include/daos_version.h.in" >"$prefix/include/daos_version.h"
	# Enough for build.rs to accept the prefix; `cargo check` never links.
	touch "$prefix/lib64/libdaos.so"
}

# $1: prefix holding the vendor headers, with the 2.6 version header if $2 is 2.7.
vendor_prefix() {
	local prefix=$1 api_minor=$2
	mkdir -p "$prefix/include" "$prefix/lib64"
	cp "$vendor"/*.h "$prefix/include/"
	[ "$api_minor" != 7 ] || cp "$vendor/v2.6/daos_version.h" "$prefix/include/"
	touch "$prefix/lib64/libdaos.so"
}

for tag in "${tags[@]}"; do
	printf '\n=== %s\n' "$tag"
	upstream_prefix "$work/up-$tag" "$tag"
	api_minor=$(sed -n 's/^#define DAOS_API_VERSION_MINOR \([0-9]*\)/\1/p' "$work/up-$tag/include/daos_version.h")
	vendor_prefix "$work/vendor-$tag" "$api_minor"

	target=target/upstream-check
	up=$(bindings_for "$work/up-$tag" "$target")
	item_names "$up" >"$work/up-$tag.names"
	ours=$(bindings_for "$work/vendor-$tag" "$target")
	item_names "$ours" >"$work/vendor-$tag.names"
	extra=$(comm -23 "$work/vendor-$tag.names" "$work/up-$tag.names")
	if [ -n "$extra" ]; then
		echo "vendor-headers declare items the $tag headers do not (or name differently):"
		sed 's/^/  /' <<<"$extra"
		status=1
	else
		echo "every vendor-headers item has its upstream name ($(wc -l <"$work/vendor-$tag.names") items)"
	fi

	if DAOS_DIR="$work/up-$tag" cargo check -q -p daos -p daos-csi --target-dir "$target" 2>"$work/check.log"; then
		echo "daos and daos-csi compile against the $tag headers"
	else
		grep -E '^error' -A6 "$work/check.log" || cat "$work/check.log"
		status=1
	fi
done
exit $status
