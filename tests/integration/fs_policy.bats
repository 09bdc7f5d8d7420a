#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fuseboxd enforcing a fusebox.io/policy itself (-o policy=FILE,policy_root=DIR),
# as it does where the kernel cannot run BPF LSM programs: each right allows and
# denies as specified on a real FUSE mount, the obvious escapes fail, audit mode
# denies nothing and reports all. Runs as root.

load ../lib/fs

setup() {
	fs_setup
	mkdir -p "$L1/secret" "$L1/etc" "$L1/pub"
	echo key >"$L1/secret/key"
	echo pub >"$L1/secret/pub"
	echo conf >"$L1/etc/conf"
	echo free >"$L1/pub/free"
}

teardown() {
	fs_teardown
}

# policy MODE: the test policy, with the mount at /app.
policy() {
	cat >"$T/policy.json" <<EOF
{"mode": "$1", "default": "allow", "rules": [
 {"path": "/app/secret", "deny": ["read"]},
 {"path": "/app/secret/pub", "allow": ["read"]},
 {"path": "/app/etc", "deny": ["write", "create", "delete", "rename", "setattr"]}]}
EOF
}

# mount_policy MODE: fuseboxd -f with the policy, log in $T/log.
mount_policy() {
	policy "$1"
	start_fg "$T/log" -o lowerdir="$L1",upperdir="$U",workdir="$W",policy="$T/policy.json",policy_root=/app "$MNT"
}

denied() { # CMD...: fails with Permission denied
	run "$@"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "read: a denied directory cannot be read or listed; a deeper allow and other paths read" {
	mount_policy enforce
	denied cat "$MNT/secret/key"
	denied ls "$MNT/secret"
	[ "$(cat "$MNT/secret/pub")" = pub ]
	[ "$(cat "$MNT/pub/free")" = free ]
	grep -q 'policy: deny read /app/secret/key by rules\[0\] "/app/secret", pid' "$T/log"
}

@test "write, create, delete, rename and setattr under a denied directory fail; elsewhere they work" {
	mount_policy enforce
	denied sh -c "echo x >>'$MNT/etc/conf'"
	denied truncate -s 0 "$MNT/etc/conf"
	denied touch "$MNT/etc/new"
	denied mkdir "$MNT/etc/d"
	denied rm "$MNT/etc/conf"
	denied mv "$MNT/etc/conf" "$MNT/pub/conf"
	denied mv "$MNT/pub/free" "$MNT/etc/free"
	denied chmod 600 "$MNT/etc/conf"
	denied setfattr -n user.x -v 1 "$MNT/etc/conf"
	[ "$(cat "$MNT/etc/conf")" = conf ]
	[ ! -e "$U/etc" ] # nothing was even copied up
	echo more >>"$MNT/pub/free"
	touch "$MNT/pub/new"
	rm "$MNT/pub/new"
	chmod 600 "$MNT/pub/free"
}

@test "escapes fail: hard link out, symlink, /proc/self/fd reopen, moving or removing a rule's directory" {
	mount_policy enforce
	denied ln "$MNT/secret/key" "$MNT/pub/key"
	ln -s ../secret/key "$MNT/pub/sym"
	denied cat "$MNT/pub/sym"
	denied mv "$MNT/secret" "$MNT/pub/s"
	denied rm -r "$MNT/secret"
	denied mv "$MNT/etc" "$MNT/etc2"
	# Open for reading (allowed), then reopen the fd for writing.
	run python3 - "$MNT/etc/conf" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.open("/proc/self/fd/%d" % fd, os.O_WRONLY)
except PermissionError:
    sys.exit(0)
sys.exit("reopened for writing")
EOF
	[ "$status" -eq 0 ]
	[ "$(cat "$L1/secret/key")" = key ]
}

@test "a path deeper than any walk of the policy is denied: fail closed" {
	local d=$MNT/pub i
	mount_policy enforce
	for i in $(seq 40); do d=$d/d; done
	run mkdir -p "$d"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	grep -q 'policy: deny create .* by too deep to judge' "$T/log"
}

@test "rights the policy denies nowhere are never judged, even on a path too deep to judge" {
	local d=pub i
	for i in $(seq 40); do d=$d/d; done
	mkdir -p "$L1/$d"
	echo deep >"$L1/$d/f"
	cat >"$T/policy.json" <<EOF
{"mode": "enforce", "default": "allow", "rules": [{"path": "/app/etc", "deny": ["write"]}]}
EOF
	start_fg "$T/log" -o lowerdir="$L1",upperdir="$U",workdir="$W",policy="$T/policy.json",policy_root=/app "$MNT"
	# No rule denies read or create: allowed at any depth, as in the kernel programs.
	[ "$(cat "$MNT/$d/f")" = deep ]
	ls "$MNT/$d" >/dev/null
	mkdir "$MNT/$d/new"
	# A rule denies write: where it is too deep to judge, it is denied.
	denied sh -c "echo x >>'$MNT/$d/f'"
	grep -q 'policy: deny a path too long to judge' "$T/log"
	[ "$(grep -c 'policy: deny' "$T/log")" -eq 1 ]
}

@test "audit mode denies nothing and reports every access it would deny" {
	mount_policy audit
	[ "$(cat "$MNT/secret/key")" = key ]
	echo more >>"$MNT/etc/conf"
	touch "$MNT/etc/new"
	rm "$MNT/etc/new"
	# touch: create, opened for writing, then its times set.
	[ "$(grep -o 'would deny [a-z]* [^ ]*' "$T/log")" = "would deny read /app/secret/key
would deny write /app/etc/conf
would deny write /app/etc/new
would deny create /app/etc/new
would deny setattr /app/etc/new
would deny delete /app/etc/new" ]
	! grep -q 'policy: deny' "$T/log"
}

@test "a bad policy file, a policy without its root, or a policy on a noopen mount is refused in one line" {
	echo '{"mode": "enforce", "rules": [{"path": "/app", "deny": ["fly"]}]}' >"$T/bad.json"
	run fbx -o lowerdir="$L1",policy="$T/bad.json",policy_root=/app "$MNT"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"fly"* ]]
	policy enforce
	run fbx -o lowerdir="$L1",policy="$T/policy.json" "$MNT"
	[ "$status" -eq 2 ]
	[ "$output" = "fuseboxd: policy= and policy_root= go together" ]
	run fbx -o lowerdir="$L1",noopen,policy="$T/policy.json",policy_root=/app "$MNT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"noopen mount never sees opens"* ]]
	refute_mounted
	[ -z "$(our_daemons)" ]
}
