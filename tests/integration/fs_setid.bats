#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Set-id bits and file capabilities after writes, truncates and chown on a
# fuseboxd upper, next to the same steps on native files: fuseboxd clears them
# itself (FUSE_CAP_HANDLE_KILLPRIV_V2, fs/killpriv.c), in every data mode.

load ../lib/fs

setup() {
	fs_setup
	chmod 755 "$T"
	mkdir -m 777 "$T/native"
}

teardown() {
	fs_teardown
}

as_user() {
	setpriv --reuid 1000 --regid 1000 --clear-groups "$@"
}

# root, but without CAP_FSETID (and in group 0, the files' group)
as_root_without_fsetid() {
	setpriv --inh-caps=-all --bounding-set=-fsetid "$@"
}

has_cap() {
	getfattr -n security.capability "$1" >/dev/null 2>&1
}

# The steps of after_changes and whether their file starts with a capability.
STEPS="read-user:cap write-user:cap write-root:cap write-nofsetid truncate-user:cap
truncate-root otrunc-user otrunc-root chown:cap chownnone-root chownnone-nofsetid:cap
fallocate-user"
MODES="4777 6777 2777 2767"

# new_files DIR: a file for each step and mode ("STEP-MODE"), holding "data\n",
# with that mode and, where the step says so, a capability (cap_net_raw+ep,
# revision 2, as setcap writes it). One python for all: these tests run many.
new_files() {
	python3 - "$1" "$STEPS" "$MODES" <<'PY'
import os, struct, sys
d, steps, modes = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
cap = struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0)
for step in steps:
    name, _, want_cap = step.partition(":")
    for m in modes:
        p = "%s/%s-%s" % (d, name, m)
        with open(p, "w") as f:
            f.write("data\n")
        if want_cap:
            os.setxattr(p, "security.capability", cap)
        os.chmod(p, int(m, 8))
PY
}

# after_changes DIR: one line per file "NAME MODE CAP": what is left of its
# set-id bits and capability after its step.
after_changes() {
	local d=$1 m f
	new_files "$d"
	for m in $MODES; do
		as_user cat "$d/read-user-$m" >/dev/null
		as_user sh -c "echo x >>'$d/write-user-$m'"
		sh -c "echo x >>'$d/write-root-$m'"
		as_root_without_fsetid sh -c "echo x >>'$d/write-nofsetid-$m'"
		as_user truncate -s 1 "$d/truncate-user-$m"
		truncate -s 1 "$d/truncate-root-$m"
		as_user sh -c ": >'$d/otrunc-user-$m'"
		sh -c ": >'$d/otrunc-root-$m'"
		chown 1000 "$d/chown-$m"
		# chown(f, -1, -1): no owner, no group, yet set-id bits go.
		python3 -c 'import os, sys; os.chown(sys.argv[1], -1, -1)' "$d/chownnone-root-$m"
		as_root_without_fsetid python3 -c 'import os, sys; os.chown(sys.argv[1], -1, -1)' \
			"$d/chownnone-nofsetid-$m"
		as_user fallocate -l 8192 "$d/fallocate-user-$m"
	done
	for f in "$d"/*; do
		printf '%s %s %s\n' "${f##*/}" "$(stat -c %a "$f")" "$(has_cap "$f" && echo cap || echo -)"
	done
}

# same_as_native MOUNT_OPTIONS: the steps on the mount leave what they leave natively.
same_as_native() {
	fbx -o lowerdir="$L1",upperdir="$U",workdir="$W",allow_other${1:+,$1} "$MNT"
	chmod 777 "$MNT"
	after_changes "$T/native" >"$T/native.out"
	after_changes "$MNT" >"$T/fuseboxd.out"
	# The reference itself: a read keeps everything; a user's write clears
	# setuid and the capability, root's only the capability.
	grep -qx 'read-user-4777 4777 cap' "$T/native.out"
	grep -qx 'write-user-4777 777 -' "$T/native.out"
	grep -qx 'write-root-4777 4777 -' "$T/native.out"
	grep -qx 'chownnone-root-6777 777 -' "$T/native.out"
	grep -qx 'chownnone-root-2767 2767 -' "$T/native.out"
	diff -u "$T/native.out" "$T/fuseboxd.out"
	# What the mount shows is what the upper holds.
	(cd "$U" && for f in *; do printf '%s %s\n' "$f" "$(stat -c %a "$f")"; done) >"$T/upper.out"
	diff -u <(cut -d' ' -f1,2 "$T/fuseboxd.out") "$T/upper.out"
}

@test "writes, truncates, O_TRUNC opens and chown clear set-id bits and capabilities as on native files (passthrough)" {
	same_as_native ""
}

@test "writes, truncates, O_TRUNC opens and chown clear set-id bits and capabilities as on native files (nopassthrough)" {
	same_as_native nopassthrough
}

@test "writes, truncates, O_TRUNC opens and chown clear set-id bits and capabilities as on native files (noopen)" {
	same_as_native noopen
}

@test "a user's write to a setuid lower file leaves an upper copy without setuid; the lower keeps it" {
	printf 'data\n' >"$L1/f"
	chmod 4777 "$L1/f"
	fbx -o lowerdir="$L1",upperdir="$U",workdir="$W",allow_other "$MNT"
	as_user sh -c "echo x >>'$MNT/f'"
	[ "$(stat -c %a "$MNT/f")" = 777 ]
	[ "$(stat -c %a "$U/f")" = 777 ]
	[ "$(stat -c %a "$L1/f")" = 4777 ]
	[ "$(cat "$MNT/f")" = "$(printf 'data\nx')" ]
}

@test "a file made setuid while a user holds it open for writing loses setuid at that user's next write" {
	fbx -o lowerdir="$L1",upperdir="$U",workdir="$W",allow_other "$MNT"
	printf 'data\n' >"$MNT/f"
	chmod 666 "$MNT/f"
	cat "$MNT/f" >/dev/null # the next open is of an upper file: passthrough
	mkfifo -m 666 "$T/opened" "$T/go"
	as_user sh -c "exec 5>>'$MNT/f'; echo >'$T/opened'; read _ <'$T/go'; echo x >&5" &
	read -r _ <"$T/opened"
	chmod 4777 "$MNT/f"
	echo >"$T/go"
	wait $!
	[ "$(stat -c %a "$MNT/f")" = 777 ]
	[ "$(stat -c %a "$U/f")" = 777 ]
}
