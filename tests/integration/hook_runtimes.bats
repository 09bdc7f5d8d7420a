#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fusebox-hook under the other runtimes it is written for: crun (OCI hooks in
# config.json, poststop state with "pid": 0) and podman (oci-hooks(5) JSON from
# --hooks-dir, matched on the annotations; podman runs poststop itself, with
# "pid": null). Each gets a fusebox mount with an ephemeral upper, a policy
# enforced by fuseboxd (this host's kernel runs no BPF LSM), a refused bad
# annotation, and leaves nothing behind.
#
# crun 1.8 refuses hybrid cgroup hosts like this one unless the unified
# hierarchy's cgroup.controllers is hidden, which fb_crun does in a private mount
# namespace for the crun process only (PLATFORM.md).

load ../lib/common

setup_file() {
	fb_env_setup
	# What the runtimes make outside their private roots (podman's blob cache,
	# crun's state root), removed again at the end if this file made it.
	NEW_DIRS=""
	local d
	for d in /var/lib/containers /run/crun; do [ -e $d ] || NEW_DIRS="$NEW_DIRS $d"; done
	export NEW_DIRS
	mkdir -p "$FB_T/layers/app/etc" "$FB_T/layers/app/secret"
	echo "from the layer" >"$FB_T/layers/app/etc/motd"
	echo key >"$FB_T/layers/app/secret/key"
	fb_make_rootfs "$FB_T/rootfs-template"
	mkdir -p "$FB_T/rootfs-template/app"
	# podman: private storage (vfs: no mounts of its own to leave), the image
	# imported from the same rootfs, the hook registered from configs/hooks.d.
	mkdir -p "$FB_T/podman/hooks"
	local f
	for f in "$FUSEBOX_SRC"/configs/hooks.d/*.json.in; do
		sed "s|@BINDIR@/fusebox-hook|$HOOK|" "$f" |
			jq --arg conf "$FB_T/fusebox.conf" '.hook.args |= [.[0], "--config", $conf] + .[1:]' \
				>"$FB_T/podman/hooks/$(basename "${f%.in}")"
	done
	tar -C "$FB_T/rootfs-template" -c . | fb_podman import - fusebox-test:latest >/dev/null
	LSM_RUNS=$(fb_lsm_runs)
	export FB_T LSM_RUNS
}

teardown_file() {
	fb_podman rm -af >/dev/null 2>&1 || true
	fb_podman rmi -af >/dev/null 2>&1 || true
	[ -z "$NEW_DIRS" ] || rm -rf $NEW_DIRS
	fb_env_teardown
}

setup() {
	fb_bundle_setup fbrt
}

teardown() {
	"${CRUN[@]}" delete -f "$ID" >/dev/null 2>&1 || true
	fb_podman rm -f "$ID" >/dev/null 2>&1 || true
	fb_bundle_teardown
}

# CRUN: crun with the unified hierarchy's controllers hidden (a command, for timeout).
CRUN=(unshare -m sh -c 'mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null
	exec crun "$@"' crun)

# podman_argv: PODMAN, podman on this test file's private storage with fusebox's hooks.
podman_argv() {
	PODMAN=(podman --root "$FB_T/podman/root" --runroot "$FB_T/podman/run"
		--tmpdir "$FB_T/podman/tmp" --storage-driver vfs --runtime runc
		--cgroup-manager cgroupfs --events-backend file --hooks-dir "$FB_T/podman/hooks")
}
fb_podman() {
	podman_argv
	"${PODMAN[@]}" "$@"
}

# podman_run ID ANNOTATIONS_JSON CMD...: podman run --rm with those annotations.
podman_run() {
	local id=$1 a
	local -a anns=()
	# podman splits --annotation values as CSV: quote each one, doubling its quotes.
	while IFS= read -r a; do anns+=(--annotation "\"${a//\"/\"\"}\""); done \
		< <(jq -r 'to_entries[] | "\(.key)=\(.value)"' <<<"$2")
	shift 2
	podman_argv
	run timeout 60 "${PODMAN[@]}" run --rm --name "$id" --network none \
		--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "${anns[@]}" \
		fusebox-test:latest "$@"
}

# Nothing of container ID is left on the host: state, daemon, FUSE mount, upper.
assert_clean() {
	local i
	for i in $(seq 50); do
		[ "$(fb_live_daemons)" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(fb_live_daemons)" -eq 0 ] || { echo "fuseboxd still running"; return 1; }
	[ ! -e "$STATE_DIR/$1" ] || { echo "state left: $STATE_DIR/$1"; return 1; }
	# podman names its containers by a 64-digit id, not by --name.
	! ls "$STATE_DIR" 2>/dev/null | grep -Eqx '[0-9a-f]{64}' || { echo "podman state left"; return 1; }
	! grep -q ' fuse.fusebox ' /proc/self/mountinfo || { echo "host fusebox mount left"; return 1; }
}

# The container's script: reads the layer, writes to the upper, reports the mount.
APP_SCRIPT='cat /app/etc/motd && echo new >/app/new && cat /app/new && grep -c " /app fuse.fusebox rw," /proc/mounts'

upper_ann() { fb_mounts_annotation_upper ephemeral /app "$FB_T/layers/app"; }

# A policy whose only rule lies inside the passthrough mount: fuseboxd enforces it.
policy_ann() {
	jq -cn --arg l "$FB_T/layers/app" '{
		"fusebox.io/mounts": ([{target: "/app", lower: [$l], upper: "ephemeral", data: "passthrough"}] | tojson),
		"fusebox.io/policy": ({mode: "enforce", rules: [{path: "/app/secret", deny: ["read"]}]} | tojson)}'
}

check_app_output() {
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "from the layer" ]
	[ "${lines[1]}" = new ]
	[ "${lines[2]}" = 1 ]
	# The layer is untouched: the write went to the ephemeral upper, gone with the state.
	[ ! -e "$FB_T/layers/app/new" ]
}

# The policy's script: the denied file, then one outside the rule.
POLICY_SCRIPT='cat /app/secret/key; cat /app/etc/motd'

check_policy_output() {
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"can't open '/app/secret/key': Permission denied"* ]]
	[ "${lines[1]}" = "from the layer" ]
}

@test "crun: a fusebox mount with an ephemeral upper, and poststop (pid 0) removes everything" {
	fb_make_bundle "$BUNDLE" "$(upper_ann)" sh -c "$APP_SCRIPT"
	run timeout 60 "${CRUN[@]}" run --bundle "$BUNDLE" "$ID" </dev/null
	check_app_output
	assert_clean "$ID"
}

@test "crun: a policy inside the mount is enforced (by fuseboxd here) and the rest still reads" {
	[ "$LSM_RUNS" = no ] || skip "this kernel runs BPF LSM programs: tests/vm covers the kernel's enforcement"
	fb_make_bundle "$BUNDLE" "$(policy_ann)" sh -c "$POLICY_SCRIPT"
	run timeout 60 "${CRUN[@]}" run --bundle "$BUNDLE" "$ID" </dev/null
	check_policy_output
	assert_clean "$ID"
}

@test "crun: a bad annotation stops the start with the hook's one line, and nothing is left" {
	# crun drops hooks' stderr unless the run.oci.hooks.stderr annotation names a file.
	jq -cn --arg e "$FB_T/hook-stderr-$ID" '{"fusebox.io/mounts": "[{\"target\": \"/app\", \"lower\": [\"/etc\"]}]",
		"run.oci.hooks.stderr": $e}' >"$FB_T/ann-$ID"
	fb_make_bundle "$BUNDLE" "$(cat "$FB_T/ann-$ID")" true
	run timeout 60 "${CRUN[@]}" run --bundle "$BUNDLE" "$ID" </dev/null
	echo "$output"
	cat "$FB_T/hook-stderr-$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"error executing hook \`$HOOK\` (exit code: 1)"* ]]
	[ "$(wc -l <"$FB_T/hook-stderr-$ID")" -eq 1 ]
	grep -q "^fusebox-hook: $ID: .*/etc" "$FB_T/hook-stderr-$ID"
	assert_clean "$ID"
}

@test "podman: the hook from configs/hooks.d mounts with an ephemeral upper; podman's poststop (pid null) removes everything" {
	podman_run "$ID" "$(upper_ann)" sh -c "$APP_SCRIPT"
	check_app_output
	assert_clean "$ID"
}

@test "podman: a policy inside the mount is enforced (by fuseboxd here)" {
	[ "$LSM_RUNS" = no ] || skip "this kernel runs BPF LSM programs: tests/vm covers the kernel's enforcement"
	podman_run "$ID" "$(policy_ann)" sh -c "$POLICY_SCRIPT"
	check_policy_output
	assert_clean "$ID"
}

@test "podman: a bad annotation fails the start with the hook's one line, and nothing is left" {
	podman_run "$ID" '{"fusebox.io/mounts": "[{\"target\": \"/app\", \"lower\": [\"/etc\"]}]"}' true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" =~ "fusebox-hook: "[0-9a-f]{64}": fusebox.io/mounts: [0].lower[0]: \"/etc\" is outside the allowed lower_roots" ]]
	assert_clean "$ID"
}

@test "podman: a container without fusebox annotations does not run the hook" {
	# A fusebox.conf that does not parse: had the hook run, the start would fail.
	cp "$FB_T/fusebox.conf" "$FB_T/fusebox.conf.good"
	echo "bogus = 1" >>"$FB_T/fusebox.conf"
	podman_run "$ID" '{"other.io/x": "1"}' echo plain
	cp "$FB_T/fusebox.conf.good" "$FB_T/fusebox.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = plain ]
}
