#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# mkinitramfs.sh KERNEL_DIR OUT: builds the VM tests' initramfs (uncompressed cpio, newc):
#   /init                     tests/vm/init.sh
#   /bin, /sbin, /usr/...     busybox-static and its applet links
#   /opt/fusebox/bin          fusebox-hook, fuseboxctl, fuseboxd (those that are built),
#                             vm-probe, vm-deny-open, vm-bench-files, vm-exec-escape
#                             (tests/vm/build-progs.sh)
#   /opt/fusebox/bpf          $O/bpf/*.bpf.o
#   /usr/sbin/runc, bpftool   from the host, like every binary with its ldd libraries
#   /opt/fusebox/bundle       an OCI bundle: busybox rootfs + config.json (runc spec), and
#                             config-hook.json: the same with fusebox-hook as createRuntime
#                             and poststop hook, annotations "@ANNOTATIONS@" for tests to fill
#   /opt/fusebox/fusebox.conf the hook's config: policies, programs in /opt/fusebox/{policies,programs}
#   /opt/fusebox/programs     deny_forbidden.bpf.o (progs/op_deny_name.bpf.c), an operator program;
#                             not_cgroup.bpf.o (bpf/lsm_probe.bpf.o), one the hook must refuse;
#                             allow_all.bpf.o (progs/op_allow_all.bpf.c), an operator program
#                             that allows everything (the benchmark); many_hooks.bpf.o
#                             (progs/op_many_hooks.bpf.c), one on more hooks than the kernel has,
#                             and ten_hooks.bpf.o (the same, -DFB_TEN_HOOKS), one on all of them
#   /opt/fusebox/layers       the lower_root for fusebox.io/mounts in the guest
#   /opt/fusebox/tests        tests/vm/guest{,-nobpf,-bench}/*.sh and tests/vm/lib/*.sh
#   /opt/fusebox/kconfig      the guest kernel's config lines the tests compare against
#   /lib/modules/*.ko         KERNEL_DIR/modules (fuse.ko where FUSE is a module)
# Uncompressed, because QEMU loads it straight into guest memory and a gzip'ed one
# would be inflated by the emulated CPU.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: mkinitramfs.sh KERNEL_DIR OUT" >&2; exit 2; }
kdir=$1 out=$2
cd "$(dirname "$0")/../.."
O=${O:-build}
die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }

root=$(mktemp -d /tmp/fusebox-vm-root.XXXXXX)
trap 'rm -rf "$root"' EXIT

# add_file SRC DEST [MODE]: copy SRC (following links) to DEST inside the image.
add_file() {
	mkdir -p "$root/$(dirname "$2")"
	cp -L "$1" "$root/$2"
	[ -z "${3:-}" ] || chmod "$3" "$root/$2"
}

# add_bin SRC DEST: a dynamic executable and every shared library ldd lists for it,
# each at the path the dynamic loader looks for it.
add_bin() {
	local lib
	add_file "$1" "$2" 0755
	ldd "$1" 2>/dev/null | awk '/=> \// {print $3} /^[[:space:]]*\// {print $1}' |
		while read -r lib; do
			[ -e "$root/$lib" ] || add_file "$lib" "$lib"
		done
}

# add_busybox DIR: busybox-static in DIR/bin (a path inside the image) with a link for
# every applet.
add_busybox() {
	local bb=/bin/busybox dir=$root$1 applet
	[ -x "$bb" ] || die "$bb not found (Debian package busybox-static)"
	add_file "$bb" "$1/bin/busybox" 0755
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin}
	for applet in $("$bb" --list-full); do
		[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done
}

mkdir -p "$root"/{proc,sys,dev,run,tmp,root,etc,newroot,lib/modules,opt/fusebox/bpf}
add_busybox /
add_file tests/vm/init.sh /init 0755
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# fusebox's binaries, as far as they are built; the tests say which they need.
for b in fusebox-hook fuseboxctl fuseboxd; do
	if [ -x "$O/$b" ]; then
		add_bin "$O/$b" "/opt/fusebox/bin/$b"
	fi
done
for b in vm-probe vm-deny-open vm-bench-files vm-exec-escape; do
	[ -x "$O/tests/vm/$b" ] || die "$O/tests/vm/$b missing: run tests/vm/build-progs.sh"
	add_bin "$O/tests/vm/$b" "/opt/fusebox/bin/$b"
done
mkdir -p "$root/opt/fusebox/policies" "$root/opt/fusebox/programs"
add_file "$O/tests/vm/op_deny_name.bpf.o" /opt/fusebox/programs/deny_forbidden.bpf.o 0644
add_file "$O/tests/vm/op_allow_all.bpf.o" /opt/fusebox/programs/allow_all.bpf.o 0644
add_file "$O/tests/vm/op_many_hooks.bpf.o" /opt/fusebox/programs/many_hooks.bpf.o 0644
add_file "$O/tests/vm/op_ten_hooks.bpf.o" /opt/fusebox/programs/ten_hooks.bpf.o 0644
# Not an lsm_cgroup-only object: attaching it fails after the policy is in place.
add_file "$O/bpf/lsm_probe.bpf.o" /opt/fusebox/programs/not_cgroup.bpf.o 0644
mkdir -p "$root/opt/fusebox/layers"
cat >"$root/opt/fusebox/fusebox.conf" <<CONF
lower_root = /opt/fusebox/layers
state_dir = /run/fusebox
fuseboxd = /opt/fusebox/bin/fuseboxd
policy_dir = /opt/fusebox/policies
program_dir = /opt/fusebox/programs
CONF
for o in "$O"/bpf/*.bpf.o; do
	if [ -f "$o" ]; then
		add_file "$o" "/opt/fusebox/bpf/${o##*/}"
	fi
done

runc=$(command -v runc) || die "runc not found"
add_bin "$runc" /usr/sbin/runc
if bpftool=$(command -v bpftool); then
	add_bin "$bpftool" /usr/sbin/bpftool
fi

for t in tests/vm/guest/*.sh tests/vm/guest-nobpf/*.sh tests/vm/guest-bench/*.sh; do
	add_file "$t" "/opt/fusebox/tests/${t#tests/vm/}" 0755
done
for l in tests/vm/lib/*.sh; do
	add_file "$l" "/opt/fusebox/tests/lib/${l##*/}"
done
echo "${FUSEBOX_VM_TEST_TIMEOUT:-90}" >"$root/opt/fusebox/test-timeout"
grep -E '^(# )?CONFIG_(BPF_LSM|BPF_SYSCALL|CGROUP_BPF|FUSE_FS|FUSE_PASSTHROUGH|FUSE_IO_URING)[= ]' \
	"$kdir/config" >"$root/opt/fusebox/kconfig" || true
for m in "$kdir"/modules/*.ko; do
	if [ -f "$m" ]; then
		add_file "$m" "/lib/modules/${m##*/}"
	fi
done

# The OCI bundle for runc: config.json from runc itself, with the container running
# /cmd.sh, which each test writes into the rootfs.
bundle=/opt/fusebox/bundle
add_busybox "$bundle/rootfs"
mkdir -p "$root$bundle/rootfs"/{proc,sys,dev,tmp,etc}
echo top-secret >"$root$bundle/rootfs/etc/secret"
echo public-data >"$root$bundle/rootfs/etc/public"
(cd "$root$bundle" && runc spec) || die "runc spec failed"
jq '.process.terminal = false | .process.args = ["/bin/sh", "/cmd.sh"]' \
	"$root$bundle/config.json" >"$root$bundle/config.json.tmp"
mv "$root$bundle/config.json.tmp" "$root$bundle/config.json"
jq '.root.readonly = false | .annotations = "@ANNOTATIONS@" | .hooks = {
	createRuntime: [{path: "/opt/fusebox/bin/fusebox-hook",
		args: ["fusebox-hook", "--config", "/opt/fusebox/fusebox.conf", "createRuntime"]}],
	poststop: [{path: "/opt/fusebox/bin/fusebox-hook",
		args: ["fusebox-hook", "--config", "/opt/fusebox/fusebox.conf", "poststop"]}]}' \
	"$root$bundle/config.json" >"$root$bundle/config-hook.json"

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -rf "$root" "$tmp"' EXIT
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out"
