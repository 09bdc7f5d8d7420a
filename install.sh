#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# fusebox installer. Idempotent; run as root on Debian 12.
#   ./install.sh --deps   Debian packages + private libfuse (>= 3.16) only
#   ./install.sh          deps, build, install into PREFIX (default /usr/local),
#                         register the podman/CRI-O hook JSON
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
HERE=$(cd "$(dirname "$0")" && pwd)
FUSE_PREFIX=${FUSE_PREFIX:-/opt/fusebox/libfuse}
FUSE_SRC_SUITE=${FUSE_SRC_SUITE:-trixie}
FUSE_SRC_VERSION=${FUSE_SRC_VERSION:-3.17.2-3}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

die() { echo "install.sh: $*" >&2; exit 1; }
log() { echo "install.sh: $*"; }

[ "$(id -u)" = 0 ] || die "run as root"

PKGS=(
	build-essential pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libjansson-dev libcap-dev libcmocka-dev meson ninja-build dpkg-dev
	runc crun podman busybox-static fuse3 fuse-overlayfs hyperfine jq
	qemu-system-x86 cpio xz-utils zstd kmod util-linux procps psmisc
	e2fsprogs python3 acl attr strace
)

install_packages() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "Debian packages present"
		return
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# libfuse >= 3.16 has the passthrough API; bookworm ships 3.14. Build Debian's own
# fuse3 source package as a static library into a private prefix (system packages
# are left alone: trixie's binary libfuse3-4 would upgrade glibc).
libfuse_ok() {
	PKG_CONFIG_PATH=$FUSE_PREFIX/lib/pkgconfig pkg-config --atleast-version=3.16 fuse3 2>/dev/null &&
		[ -f "$FUSE_PREFIX/lib/libfuse3.a" ]
}

install_libfuse() {
	# passthrough_hp (libfuse's reference low-level server, C++) is a peer in
	# `make bench`; it comes from the same source tree and links libfuse statically.
	local hp=$FUSE_PREFIX/bin/passthrough_hp need_lib=0 need_hp=0
	libfuse_ok || need_lib=1
	[ -x "$hp" ] || need_hp=1
	if [ $need_lib = 0 ] && [ $need_hp = 0 ]; then
		log "libfuse $(PKG_CONFIG_PATH=$FUSE_PREFIX/lib/pkgconfig pkg-config --modversion fuse3) and passthrough_hp in $FUSE_PREFIX"
		return
	fi
	local work
	work=$(mktemp -d /tmp/fusebox-libfuse.XXXXXX)
	trap 'rm -rf "$work"' RETURN
	mkdir -p "$work/sources.d" "$work/lists/partial" "$work/cache/archives/partial"
	cat >"$work/sources.d/src.sources" <<SRC
Types: deb-src
URIs: $MIRROR
Suites: $FUSE_SRC_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local aptopts=(-o Dir::Etc::sourceparts="$work/sources.d" -o Dir::Etc::sourcelist=/dev/null
		-o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
		-o APT::Sandbox::User=root)
	log "fetching Debian source package fuse3 ($FUSE_SRC_SUITE)"
	apt-get "${aptopts[@]}" update -qq
	(cd "$work" && apt-get "${aptopts[@]}" source -qq --download-only "fuse3=$FUSE_SRC_VERSION" >/dev/null 2>&1 ||
		apt-get "${aptopts[@]}" source -qq --download-only fuse3 >/dev/null)
	(cd "$work" && dpkg-source -x --no-check ./*.dsc src >/dev/null)
	local version
	version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
	# Examples on: meson then also builds passthrough_hp (needs a C++ compiler).
	(cd "$work/src" && meson setup build --prefix="$FUSE_PREFIX" --libdir=lib \
		-Ddefault_library=static -Dutils=false -Dexamples=true -Dtests=false \
		-Duseroot=false -Dinitscriptdir= -Dudevrulesdir=/tmp/fusebox-udev-unused >/dev/null)
	if [ $need_lib = 1 ]; then
		log "building libfuse $version (static) and passthrough_hp"
		ninja -C "$work/src/build" >/dev/null && ninja -C "$work/src/build" install >/dev/null
		libfuse_ok || die "libfuse build did not produce $FUSE_PREFIX/lib/libfuse3.a"
	else
		# The installed static library stays untouched: build only the example.
		log "building passthrough_hp from libfuse $version"
		ninja -C "$work/src/build" example/passthrough_hp >/dev/null ||
			die "passthrough_hp did not build (is g++ installed?)"
	fi
	[ -x "$work/src/build/example/passthrough_hp" ] ||
		die "libfuse $version built no example/passthrough_hp (is g++ installed?)"
	install -D -m 0755 "$work/src/build/example/passthrough_hp" "$hp"
}

install_packages
install_libfuse
[ "${1:-}" = "--deps" ] && exit 0

log "building fusebox"
make -C "$HERE" -s
log "installing into ${DESTDIR:-}$PREFIX"
make -C "$HERE" -s install PREFIX="$PREFIX"
