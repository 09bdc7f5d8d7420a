#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fusebox-hook with real runc containers: mounts, teardown, refusals.

load ../lib/common

setup_file() {
	fb_env_setup
	mkdir -p "$FB_T/layers/base/sub" "$FB_T/layers/top"
	echo "hello from the base layer" >"$FB_T/layers/base/hello.txt"
	head -c 100000 /dev/urandom >"$FB_T/layers/base/sub/blob"
	echo "base version" >"$FB_T/layers/base/both.txt"
	echo "top version" >"$FB_T/layers/top/both.txt"
	mkdir -p "$FB_T/outside/secret"
	fb_make_rootfs "$FB_T/rootfs-template"
	export FB_T
}

teardown_file() {
	fb_env_teardown
}

setup() {
	fb_bundle_setup fbtest
}

teardown() {
	fb_bundle_teardown
}

@test "a file in a lower layer reads the same inside the container" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation /data "$FB_T/layers/base")" \
		sh -c 'cat /data/hello.txt; md5sum /data/sub/blob'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello from the base layer" ]
	[ "${lines[1]%% *}" = "$(md5sum <"$FB_T/layers/base/sub/blob" | cut -d' ' -f1)" ]
}

@test "the mount inside the container is a FUSE mount served by fusebox" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation /data "$FB_T/layers/base")" \
		cat /proc/self/mountinfo
	fb_runc "$ID" "$BUNDLE"
	[ "$status" -eq 0 ]
	# mountinfo: "... /data ro,nosuid,nodev,... - fuse.fusebox fusebox ro,..."
	awk '$5 == "/data" && $6 ~ /^ro,nosuid,nodev/' <<<"$output" | grep -q ' - fuse\.fusebox fusebox ro,'

}

@test "a write into a read-only fusebox mount fails with EROFS" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation /data "$FB_T/layers/base")" \
		sh -c 'echo x > /data/new; echo rc=$?; rm /data/hello.txt; echo rc=$?'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *"rc=1"* ]]
	[ ! -e "$FB_T/layers/base/new" ]
	[ -e "$FB_T/layers/base/hello.txt" ]
}

@test "two lower layers merge and the top-most one wins" {
	fb_make_bundle "$BUNDLE" \
		"$(fb_mounts_annotation /data "$FB_T/layers/top" "$FB_T/layers/base")" \
		sh -c 'cat /data/both.txt /data/hello.txt'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "top version" ]
	[ "${lines[1]}" = "hello from the base layer" ]
}

@test "after the container exits no mount, daemon or state is left" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation /data "$FB_T/layers/base")" \
		cat /data/hello.txt
	fb_runc "$ID" "$BUNDLE"
	[ "$status" -eq 0 ]
	fb_assert_clean "$ID"
}

@test "a detached container is listed by fuseboxctl status and cleaned at delete" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation /srv/app "$FB_T/layers/base")" \
		sleep 60
	timeout 30 runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run timeout 30 runc exec "$ID" cat /srv/app/hello.txt
	echo "exec: $status: $output"
	[ "$output" = "hello from the base layer" ]
	run "$CTL" status --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[[ "$output" == *"/srv/app"*"running"* ]]
	[ "$(fb_live_daemons)" -ge 1 ]
	runc kill "$ID" KILL
	for i in $(seq 50); do runc state "$ID" | grep -q '"stopped"' && break; sleep 0.1; done
	runc delete "$ID"
	fb_assert_clean "$ID"
}

@test "a container without fusebox annotations runs untouched" {
	fb_make_bundle "$BUNDLE" '{"other.io/x": "1"}' cat /proc/mounts
	fb_runc "$ID" "$BUNDLE"
	[ "$status" -eq 0 ]
	! grep -q fusebox <<<"$output"
	[ ! -e "$STATE_DIR/$ID" ]
}

@test "a symlink in the image cannot redirect the mount target onto the host" {
	# /escape -> /etc: resolved inside the rootfs, never to the host's /etc.
	ln -s /etc "$BUNDLE/rootfs/escape"
	local name=fusebox-escape-$$
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation "/escape/$name" "$FB_T/layers/base")" \
		cat "/etc/$name/hello.txt"
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from the base layer" ]
	[ ! -e "/etc/$name" ]
	[ -d "$BUNDLE/rootfs/etc/$name" ]
}

@test "a target through a dangling symlink in the image is refused" {
	ln -s "/nonexistent-$$" "$BUNDLE/rootfs/dangling"
	refused "$(fb_mounts_annotation /dangling/sub "$FB_T/layers/base")" \
		"target /dangling/sub goes through a dangling symlink in the image"
	[ ! -e "/nonexistent-$$" ]
}

@test "poststop is idempotent and succeeds when there is nothing to undo" {
	run "$HOOK" --config "$FB_T/fusebox.conf" poststop <<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$ID\",\"status\":\"stopped\"}"
	[ "$status" -eq 0 ]
	run "$HOOK" --config "$FB_T/fusebox.conf" poststop <<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$ID\",\"pid\":null}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "malformed JSON in fusebox.io/mounts is refused" {
	refused '{"fusebox.io/mounts": "[{\"target\": \"/data\""}' "fusebox.io/mounts: invalid JSON"
}

@test "an unknown key in a mount is refused" {
	refused "{\"fusebox.io/mounts\": \"[{\\\"target\\\":\\\"/data\\\",\\\"lower\\\":[\\\"$FB_T/layers/base\\\"],\\\"uper\\\":\\\"none\\\"}]\"}" \
		'unknown key "uper"'
}

@test "a relative target is refused" {
	refused "$(fb_mounts_annotation data "$FB_T/layers/base")" \
		'[0].target: "data" must be an absolute path'
}

@test "a '..' in a lower path is refused" {
	refused "$(fb_mounts_annotation /data "$FB_T/layers/../outside/secret")" \
		"must not contain '.' or '..' components"
}

@test "a lower outside the allowed roots is refused" {
	refused "$(fb_mounts_annotation /data "$FB_T/outside/secret")" \
		"is outside the allowed lower_roots ($FB_T/layers)"
}

@test "a lower symlinked from inside the allowed root to outside is refused" {
	ln -s "$FB_T/outside/secret" "$FB_T/layers/sneaky"
	refused "$(fb_mounts_annotation /data "$FB_T/layers/sneaky")" "is outside the allowed"
	rm "$FB_T/layers/sneaky"
}

@test "a missing lower directory is refused with its name" {
	refused "$(fb_mounts_annotation /data "$FB_T/layers/nope")" \
		"lower[0]: \"$FB_T/layers/nope\": No such file or directory"
}

@test "an unknown fusebox.io annotation is refused" {
	refused '{"fusebox.io/mount": "[]"}' 'unknown annotation "fusebox.io/mount"'
}

@test "a target that is a file in the image is refused and the mount undone" {
	echo file >"$BUNDLE/rootfs/etc/notadir"
	refused "$(fb_mounts_annotation /etc/notadir "$FB_T/layers/base")" \
		"exists in the image and is not a directory"
}

@test "a daemon that fails to start is reported and everything is undone" {
	sed -i "s|^fuseboxd = .*|fuseboxd = /bin/false|" "$FB_T/fusebox.conf"
	run refused "$(fb_mounts_annotation /data "$FB_T/layers/base")" "fuseboxd failed to start"
	sed -i "s|^fuseboxd = .*|fuseboxd = $FUSEBOXD|" "$FB_T/fusebox.conf"
	echo "$output"
	[ "$status" -eq 0 ]
}
