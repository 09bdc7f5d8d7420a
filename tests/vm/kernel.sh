#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fetches a stock Debian kernel for the VM tests and prints the directory that holds it:
#   vmlinux (uncompressed, booted through QEMU's PVH entry; absent if it could not be
#   extracted), vmlinuz (the bzImage), config, version (the package, name=version),
#   modules/*.ko (uncompressed; only fuse.ko, and only where FUSE is a module).
# The package is fetched with `apt-get download` through a private apt configuration
# (own sources, lists and cache; the system's apt setup is not touched) and unpacked
# with `dpkg -x`: nothing is installed. Results are cached under
# $FUSEBOX_VM_CACHE/<package>_<version>, so a second run needs no network.
#
# Which kernel: the pinned bookworm-backports 6.12 package below (FUSE built in, FUSE
# passthrough, lsm_cgroup). If the mirror no longer serves it, the newest 6.12 of
# bookworm-backports, with a warning; if there is none, bookworm's newest 6.1.
# FUSEBOX_VM_KERNEL_SERIES=6.1 asks for bookworm's newest 6.1 directly (make check-long).
# Exit status: 0 found, 2 no kernel can be had (no mirror, no cache), 1 other errors.
set -euo pipefail

KERNEL_PKG=${FUSEBOX_VM_KERNEL_PKG:-linux-image-6.12.95+deb12-amd64}
KERNEL_VERSION=${FUSEBOX_VM_KERNEL_VERSION:-6.12.95-1~bpo12+1}
SERIES_RE='^linux-image-6\.12\.[0-9]+\+deb12-amd64$'
FALLBACK_RE='^linux-image-6\.1\.0-[0-9]+-amd64$'
MIRROR=${FUSEBOX_VM_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE=${FUSEBOX_VM_CACHE:-/var/cache/fusebox/vm}
HERE=$(cd "$(dirname "$0")" && pwd)

warn() { echo "kernel.sh: $*" >&2; }
die() { warn "$*"; exit 1; }
unavailable() { warn "$*"; exit 2; }

mkdir -p "$CACHE"
# One fetch at a time; a second caller waits and then finds the cache filled.
exec 9>"$CACHE/.lock"
flock 9

cached() { [ -f "$CACHE/$1_$2/version" ] && echo "$CACHE/$1_$2"; }

# Pinned and cached: no apt at all.
if [ "${FUSEBOX_VM_KERNEL_SERIES:-6.12}" != 6.1 ] && dir=$(cached "$KERNEL_PKG" "$KERNEL_VERSION"); then
	echo "$dir"
	exit 0
fi

work=$(mktemp -d /tmp/fusebox-vm-kernel.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/pkg"
aptopts=(-o Dir::Etc::sourceparts="$work/sources.d" -o Dir::Etc::sourcelist=/dev/null
	-o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)

# use_suite SUITE: make SUITE the only source and fetch its package list.
use_suite() {
	rm -f "$work/sources.d/"*
	cat >"$work/sources.d/kernel.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $1
Components: main
Signed-By: $KEYRING
EOF
	rm -f "$work/lists/"*Packages*
	apt-get "${aptopts[@]}" -qq update >"$work/update.log" 2>&1 &&
		compgen -G "$work/lists/*_Packages*" >/dev/null
}

# served PKG VERSION: true if the mirror's list has exactly that version of PKG.
served() {
	apt-cache "${aptopts[@]}" madison "$1" 2>/dev/null |
		awk -F' [|] ' -v v="$2" '$2 == v {f = 1} END {exit !f}'
}

# newest PKG_RE: the newest package name matching PKG_RE and its version, "name version".
newest() {
	apt-cache "${aptopts[@]}" search --names-only "$1" 2>/dev/null | awk '{print $1}' |
		while read -r p; do
			apt-cache "${aptopts[@]}" madison "$p" 2>/dev/null |
				awk -F' [|] ' '{gsub(/ /, "", $1); print $1, $2}'
		done | sort -V -k2 | tail -n 1
}

# A kernel cached earlier, newest first, when the mirror can't be reached.
newest_cached() {
	local d
	for d in $(ls -d "$CACHE"/linux-image-*_* 2>/dev/null | sort -V -r); do
		[ -f "$d/version" ] && { echo "$d"; return 0; }
	done
	return 1
}

pkg=$KERNEL_PKG ver=$KERNEL_VERSION
# FUSEBOX_VM_KERNEL_SERIES=6.1: bookworm's own newest 6.1 instead (the oldest kernel
# fusebox supports), cached like the other.
if [ "${FUSEBOX_VM_KERNEL_SERIES:-6.12}" = 6.1 ]; then
	if use_suite bookworm; then
		read -r pkg ver <<<"$(newest "$FALLBACK_RE")" || true
		[ -n "$pkg" ] || unavailable "no 6.1 kernel package in bookworm on $MIRROR"
	elif dir=$(ls -d "$CACHE"/linux-image-6.1.0-*_* 2>/dev/null | sort -V | tail -n 1) &&
		[ -f "$dir/version" ]; then
		warn "mirror $MIRROR unreachable; using cached $(cat "$dir/version")"
		echo "$dir"
		exit 0
	else
		unavailable "mirror $MIRROR unreachable and no 6.1 kernel cached in $CACHE"
	fi
elif ! use_suite bookworm-backports; then
	if dir=$(newest_cached); then
		warn "mirror $MIRROR unreachable; using cached $(cat "$dir/version")"
		echo "$dir"
		exit 0
	fi
	unavailable "mirror $MIRROR unreachable and no kernel cached in $CACHE:" \
		"$(grep -m 1 -E '^(E|W): Failed' "$work/update.log" || tail -n 1 "$work/update.log")"
fi
if [ "${FUSEBOX_VM_KERNEL_SERIES:-6.12}" != 6.1 ] && ! served "$pkg" "$ver"; then
	read -r pkg ver <<<"$(newest "$SERIES_RE")" || true
	if [ -n "$pkg" ]; then
		warn "pinned $KERNEL_PKG=$KERNEL_VERSION is gone from the mirror; using $pkg=$ver"
	else
		use_suite bookworm || unavailable "mirror $MIRROR: no bookworm package list"
		read -r pkg ver <<<"$(newest "$FALLBACK_RE")" || true
		[ -n "$pkg" ] || unavailable "no 6.12 or 6.1 kernel package on $MIRROR"
		warn "no 6.12 kernel in bookworm-backports; using $pkg=$ver"
	fi
fi
if dir=$(cached "$pkg" "$ver"); then
	echo "$dir"
	exit 0
fi

(cd "$work/pkg" && apt-get "${aptopts[@]}" -qq download "$pkg=$ver" >"$work/download.log" 2>&1) ||
	unavailable "apt-get download $pkg=$ver failed: $(tail -n 1 "$work/download.log")"
dpkg -x "$work"/pkg/*.deb "$work/root"

# Stage next to the cache entry, then rename: a crash leaves no half-filled entry.
stage=$(mktemp -d "$CACHE/.stage.XXXXXX")
trap 'rm -rf "$work" "$stage"' EXIT
vmlinuz=$(ls "$work"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -f "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"
cp "$vmlinuz" "$stage/vmlinuz"
cp "$work"/root/boot/config-* "$stage/config"
if ! "$HERE/extract-vmlinux.sh" "$stage/vmlinuz" "$stage/vmlinux"; then
	warn "could not extract vmlinux from $pkg; the VM will boot the bzImage"
	rm -f "$stage/vmlinux"
fi
# FUSE is built into 6.12; 6.1 has it as a module, which busybox insmod loads uncompressed.
if ! grep -q '^CONFIG_FUSE_FS=y' "$stage/config"; then
	ko=$(find "$work/root/lib/modules" -name 'fuse.ko*' | head -n 1)
	[ -n "$ko" ] || die "$pkg has neither built-in FUSE nor fuse.ko"
	mkdir -p "$stage/modules"
	case "$ko" in
	*.xz) xz -dc "$ko" >"$stage/modules/fuse.ko" ;;
	*.zst) zstd -qdc "$ko" >"$stage/modules/fuse.ko" ;;
	*) cp "$ko" "$stage/modules/fuse.ko" ;;
	esac
fi
echo "$pkg=$ver" >"$stage/version"
chmod 755 "$stage"
rm -rf "${CACHE:?}/${pkg}_$ver"
mv "$stage" "$CACHE/${pkg}_$ver"
echo "$CACHE/${pkg}_$ver"
