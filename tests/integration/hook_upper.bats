#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fusebox-hook with writable uppers in real runc containers: "ephemeral" uppers
# vanish with the container, persistent ones keep their files for the next.

load ../lib/common

setup_file() {
	fb_env_setup
	mkdir -p "$FB_T/layers/base/etc"
	echo "from the image" >"$FB_T/layers/base/etc/motd"
	echo "keep me" >"$FB_T/layers/base/etc/other"
	fb_make_rootfs "$FB_T/rootfs-template"
	export FB_T
}

teardown_file() {
	fb_env_teardown
}

setup() {
	fb_bundle_setup fbupper
}

teardown() {
	if [ -f "$FB_T/fusebox.conf.orig" ]; then
		mv "$FB_T/fusebox.conf.orig" "$FB_T/fusebox.conf"
	fi
	runc delete -f "$ID-2" >/dev/null 2>&1 || true
	rm -rf "$BUNDLE-2"
	fb_bundle_teardown
}

@test "an ephemeral upper: the container writes, copies up and deletes; after exit the upper is gone" {
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation_upper ephemeral /app "$FB_T/layers/base")" \
		sh -c 'echo new >/app/new && echo changed >>/app/etc/motd && rm /app/etc/other &&
			mkdir /app/d && cat /app/new /app/etc/motd && ls /app/etc && grep " /app " /proc/mounts &&
			{ test -e /run/fusebox && echo visible || echo hidden; }'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = new ]
	[ "${lines[1]}" = "from the image" ]
	[ "${lines[2]}" = changed ]
	[ "${lines[3]}" = motd ]
	[[ "${lines[4]}" == *" /app fuse.fusebox rw,"* ]]
	# The host's state dir is not visible in the container.
	[ "${lines[5]}" = hidden ]
	# The image layer is untouched, and the upper went with the state dir.
	[ "$(cat "$FB_T/layers/base/etc/motd")" = "from the image" ]
	[ -f "$FB_T/layers/base/etc/other" ]
	fb_assert_clean "$ID"
}

@test "a persistent upper keeps the container's files for the next container" {
	mkdir "$FB_T/uppers/app1"
	local ann
	ann=$(fb_mounts_annotation_upper "$FB_T/uppers/app1" /app "$FB_T/layers/base")
	fb_make_bundle "$BUNDLE" "$ann" sh -c 'echo 1 >/app/counter && rm /app/etc/other'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	fb_assert_clean "$ID"
	[ "$(cat "$FB_T/uppers/app1/data/counter")" = 1 ]
	fb_make_bundle "$BUNDLE" "$ann" sh -c 'cat /app/counter; ls /app/etc'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = motd ]
	fb_assert_clean "$ID"
}

@test "a persistent upper in use by a running container is refused to a second one" {
	mkdir "$FB_T/uppers/shared"
	local ann
	ann=$(fb_mounts_annotation_upper "$FB_T/uppers/shared" /app "$FB_T/layers/base")
	fb_make_bundle "$BUNDLE" "$ann" sleep 60
	timeout 30 runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	mkdir -p "$BUNDLE-2"
	cp -a "$FB_T/rootfs-template" "$BUNDLE-2/rootfs"
	fb_make_bundle "$BUNDLE-2" "$ann" true
	fb_runc "$ID-2" "$BUNDLE-2"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"in use by another fuseboxd"* ]]
	[ ! -e "$STATE_DIR/$ID-2" ]
	runc kill "$ID" KILL
	for i in $(seq 50); do runc state "$ID" | grep -q '"stopped"' && break; sleep 0.1; done
	runc delete "$ID"
	fb_assert_clean "$ID"
}

@test "a persistent upper outside upper_root, or missing, is refused" {
	refused "$(fb_mounts_annotation_upper "$FB_T/outside" /app "$FB_T/layers/base")" \
		"[0].upper: \"$FB_T/outside\" is outside the allowed upper_roots"
	refused "$(fb_mounts_annotation_upper "$FB_T/uppers/none" /app "$FB_T/layers/base")" \
		"[0].upper: \"$FB_T/uppers/none\": No such file or directory"
	refused "$(fb_mounts_annotation_upper relative /app "$FB_T/layers/base")" \
		"[0].upper: expected \"none\", \"ephemeral\" or an absolute"
}

@test "\"data\": \"cached\" serves the mount without OPEN round trips (fuseboxd -o noopen)" {
	local ann
	ann=$(jq -cn --arg l "$FB_T/layers/base" \
		'{"fusebox.io/mounts": ([{target: "/app", lower: [$l], upper: "ephemeral", data: "cached"}] | tojson)}')
	fb_make_bundle "$BUNDLE" "$ann" sh -c 'cat /app/etc/motd; echo w >/app/etc/motd; cat /app/etc/motd; sleep 60'
	timeout 30 runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	local pid
	for i in $(seq 50); do
		pid=$(pgrep -f "fuseboxd.*$FB_T/layers/base" | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ',noopen'
	run timeout 30 runc exec "$ID" cat /app/etc/motd
	[ "$output" = w ]
	runc kill "$ID" KILL
	for i in $(seq 50); do runc state "$ID" | grep -q '"stopped"' && break; sleep 0.1; done
	runc delete "$ID"
	fb_assert_clean "$ID"
}

@test "fuseboxd_spin_us and fuseboxd_prefetch in fusebox.conf reach the daemons; a bad value is refused in one line" {
	cp "$FB_T/fusebox.conf" "$FB_T/fusebox.conf.orig"
	printf 'fuseboxd_spin_us = 0\nfuseboxd_prefetch = 4096\n' >>"$FB_T/fusebox.conf"
	fb_make_bundle "$BUNDLE" "$(fb_mounts_annotation_upper ephemeral /app "$FB_T/layers/base")" \
		sh -c 'sleep 60'
	timeout 30 runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	local pid i
	for i in $(seq 50); do
		pid=$(pgrep -f "fuseboxd.*$FB_T/layers/base" | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- ' --spin=0 --prefetch=4096 '
	run timeout 30 runc exec "$ID" cat /app/etc/motd
	[ "$output" = "from the image" ]
	runc kill "$ID" KILL
	for i in $(seq 50); do runc state "$ID" | grep -q '"stopped"' && break; sleep 0.1; done
	runc delete "$ID"
	fb_assert_clean "$ID"

	cp "$FB_T/fusebox.conf.orig" "$FB_T/fusebox.conf"
	echo "fuseboxd_spin_us = fast" >>"$FB_T/fusebox.conf"
	fb_runc "$ID" "$BUNDLE"
	[ "$status" -ne 0 ]
	local msg=${output//\\\"/\"}
	echo "$msg"
	[[ "$msg" == *"fusebox-hook: $ID: $FB_T/fusebox.conf:5: fuseboxd_spin_us: \"fast\" (expected 0..1000)\\n"* ]]
	fb_assert_clean "$ID"
}
