#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# fusebox-hook and file-access policy annotations with real runc containers, on
# this host: bad annotations are refused with one line naming what is wrong and
# what would be accepted, and where the kernel does not run BPF LSM programs
# (the CI kernel) a policy that fuseboxd cannot enforce on its own is refused
# naming the missing kernel feature, never ignored, leaving nothing behind.
# Enforcement by BPF LSM is tested in the VM (tests/vm/guest/50-policy.sh), by
# fuseboxd in hook_policy_fuseboxd.bats.

load ../lib/common

setup_file() {
	fb_env_setup
	mkdir -p "$FB_T/layers/base" "$FB_T/policies" "$FB_T/programs"
	echo hello >"$FB_T/layers/base/hello.txt"
	cat >>"$FB_T/fusebox.conf" <<CONF
policy_dir = $FB_T/policies
program_dir = $FB_T/programs
CONF
	cp "$FUSEBOX_SRC/configs/policies/readonly-etc.json" "$FB_T/policies/"
	# An operator program: any file will do until it is loaded (never, on this host).
	cp "$BUILD/bpf/policy.bpf.o" "$FB_T/programs/mine.bpf.o"
	chmod 0644 "$FB_T/programs/mine.bpf.o"
	chmod 0755 "$FB_T" "$FB_T/programs"
	echo secret >"$FB_T/outside/host.bpf.o"
	fb_make_rootfs "$FB_T/rootfs-template"
	LSM_RUNS=$(fb_lsm_runs)
	export FB_T LSM_RUNS
}

teardown_file() {
	fb_env_teardown
}

setup() {
	fb_bundle_setup fbpol
}

teardown() {
	fb_bundle_teardown
}

# policy_ann JSON_OBJECT_OF_ANNOTATIONS: values given as JSON are turned into strings.
policy_ann() {
	jq -c 'with_entries(.value |= if type == "string" then . else tojson end)' <<<"$1"
}

# Nothing of fusebox's BPF side is left on the host either.
assert_no_bpf_left() {
	[ ! -e /sys/fs/bpf/fusebox ] || { echo "pins left: $(ls -R /sys/fs/bpf/fusebox)"; return 1; }
}

# refused ANNOTATIONS_JSON EXPECTED_TEXT: runc run fails with the hook's one-line
# message and leaves nothing behind.
refused() {
	fb_make_bundle "$BUNDLE" "$(policy_ann "$1")" cat /etc/passwd
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -ne 0 ]
	# runc quotes the hook's stderr inside its own message: undo its escaping.
	local msg=${output//\\\"/\"}
	[[ "$msg" == *"fusebox-hook: $ID: "*"$2"* ]]
	[ "$(grep -c 'fusebox-hook:' <<<"$msg")" -eq 1 ]
	# One line: runc shows the hook's newline as \n, and only at the end.
	[[ "${msg%\\n*}" != *"\\n"* ]]
	fb_assert_clean "$ID"
	assert_no_bpf_left
}

POLICY='{"mode": "enforce", "default": "allow", "rules": [{"path": "/etc", "deny": ["write"]}]}'

need_no_lsm() {
	[ "$LSM_RUNS" = no ] || skip "this kernel runs BPF LSM programs: the refusal cannot happen here"
}

@test "without BPF LSM a policy is refused naming the lsm=...,bpf boot parameter, nothing left" {
	need_no_lsm
	refused "{\"fusebox.io/policy\": $POLICY}" \
		"fusebox.io/policy: this kernel does not run BPF LSM programs"
	[[ "$output" == *"lsm=...,bpf"* ]]
	[[ "$output" == *"refusing to start the container without its policy"* ]]
}

@test "without BPF LSM a policy next to a fusebox mount is refused before any mount or daemon" {
	need_no_lsm
	local ann
	ann=$(jq -c --argjson p "$POLICY" '. + {"fusebox.io/policy": $p}' \
		<<<"$(fb_mounts_annotation /data "$FB_T/layers/base")")
	refused "$ann" "(kernel parameter lsm=...,bpf"
}

@test "without BPF LSM an admin profile is refused the same way" {
	need_no_lsm
	refused '{"fusebox.io/profile": "readonly-etc"}' \
		"fusebox.io/profile: this kernel does not run BPF LSM programs"
}

@test "without BPF LSM operator programs are refused the same way" {
	need_no_lsm
	refused '{"fusebox.io/programs": ["mine"]}' \
		"fusebox.io/programs: this kernel does not run BPF LSM programs"
}

@test "without BPF LSM the refusal names the first rule fuseboxd cannot enforce" {
	need_no_lsm
	refused "{\"fusebox.io/policy\": $POLICY}" \
		"fuseboxd cannot enforce this policy on its own: rules[0] \"/etc\" is outside the fusebox mounts (there are none)"
}

@test "a policy that is not valid JSON is refused" {
	refused '{"fusebox.io/policy": "{\"mode\": \"enforce\", "}' "fusebox.io/policy: "
	[[ "$output" == *"JSON"* ]]
}

@test "an unknown right is refused with the list of rights" {
	refused '{"fusebox.io/policy": {"mode": "enforce", "default": "allow", "rules": [{"path": "/etc", "deny": ["wrte"]}]}}' \
		'"wrte"'
	[[ "$output" == *"read, write, exec, create, delete, rename, link, setattr"* ]]
}

@test "an unknown mode is refused" {
	refused '{"fusebox.io/policy": {"mode": "permissive", "default": "allow", "rules": []}}' \
		"fusebox.io/policy: mode"
}

@test "an unknown profile is refused, naming where profiles live" {
	refused '{"fusebox.io/profile": "nope"}' \
		"fusebox.io/profile: unknown profile \"nope\" (expected a profile that exists as $FB_T/policies/nope.json)"
}

@test "a profile name with a path in it is refused" {
	refused '{"fusebox.io/profile": "../readonly-etc"}' "fusebox.io/profile: invalid profile name"
}

@test "a program name with '/' is refused as a name, not a path" {
	refused "{\"fusebox.io/programs\": [\"$FB_T/outside/host\"]}" \
		"fusebox.io/programs: [0]"
	[[ "$output" == *"is not a program name (names, not paths"* ]]
}

@test "a program name with '..' is refused" {
	refused '{"fusebox.io/programs": ["../outside/host"]}' "is not a program name"
}

@test "a program that is not in program_dir is refused, naming program_dir" {
	refused '{"fusebox.io/programs": ["other"]}' \
		"fusebox.io/programs: [0] \"other\": $FB_T/programs/other.bpf.o: No such file or directory (expected a program the operator installed in $FB_T/programs)"
}

@test "a program symlinked from program_dir to elsewhere is refused" {
	ln -s "$FB_T/outside/host.bpf.o" "$FB_T/programs/link.bpf.o"
	run refused '{"fusebox.io/programs": ["link"]}' "symlinks are not followed"
	rm "$FB_T/programs/link.bpf.o"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a program writable by others is refused" {
	cp "$FB_T/programs/mine.bpf.o" "$FB_T/programs/open.bpf.o"
	chmod 0666 "$FB_T/programs/open.bpf.o"
	run refused '{"fusebox.io/programs": ["open"]}' "is writable by group or others"
	rm "$FB_T/programs/open.bpf.o"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "programs must be a list of names" {
	refused '{"fusebox.io/programs": "mine"}' "fusebox.io/programs: invalid JSON"
	refused '{"fusebox.io/programs": {"a": 1}}' "fusebox.io/programs: not a list"
}

@test "more than 8 programs are refused" {
	refused '{"fusebox.io/programs": ["a","b","c","d","e","f","g","h","i"]}' \
		"fusebox.io/programs: 9 names"
}

# A state directory as createRuntime leaves it after recording a policy.
fake_policy_state() {
	mkdir -p "$STATE_DIR/$ID"
	printf '{"id":"%s","container_pid":0,"mounts":[],"policy":{"cgroup_id":%s,"cgroup":"/sys/fs/cgroup/unified/gone","programs":1}}' \
		"$ID" "$1" >"$STATE_DIR/$ID/state.json"
}

@test "poststop removes a recorded policy whose cgroup is gone, with pid absent, 0 or null" {
	local pid
	for pid in '' '"pid":0,' '"pid":null,'; do
		fake_policy_state 987654321
		run "$HOOK" --config "$FB_T/fusebox.conf" poststop \
			<<<"{\"ociVersion\":\"1.0.2\",\"id\":\"$ID\",$pid\"status\":\"stopped\"}"
		echo "$output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		[ ! -e "$STATE_DIR/$ID" ]
	done
	assert_no_bpf_left
}

@test "fuseboxctl cleanup removes a recorded policy and is idempotent" {
	fake_policy_state 987654322
	run "$CTL" cleanup --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ ! -e "$STATE_DIR/$ID" ]
	run "$CTL" cleanup --config "$FB_T/fusebox.conf" "$ID"
	[ "$status" -eq 0 ]
	assert_no_bpf_left
}

@test "fuseboxctl status shows a recorded policy's cgroup" {
	fake_policy_state 987654323
	run "$CTL" status --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	"$CTL" cleanup --config "$FB_T/fusebox.conf" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy: cgroup /sys/fs/cgroup/unified/gone (id 987654323), 1 program"* ]]
}

@test "fuseboxctl audit of a container with no audit log says so and exits 0" {
	sed '$a log_dir = '"$FB_T/audit" "$FB_T/fusebox.conf" >"$FB_T/audit.conf"
	run "$CTL" audit --config "$FB_T/audit.conf" never-ran
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "fuseboxctl: no audit events of never-ran ($FB_T/audit/never-ran.log)" ]]
	run "$CTL" audit --config "$FB_T/audit.conf" ../x
	[ "$status" -eq 2 ]
	[[ "$output" == *'"../x" is not a container id'* ]]
}
