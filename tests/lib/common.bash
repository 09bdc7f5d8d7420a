# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for fusebox's bats integration tests: real runc containers on a
# busybox-static rootfs, the real hook and the real fuseboxd from $O.

FUSEBOX_SRC=${FUSEBOX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$FUSEBOX_SRC/$O ;; esac
HOOK=$BUILD/fusebox-hook
CTL=$BUILD/fuseboxctl
FUSEBOXD=$BUILD/fuseboxd
STATE_DIR=${FUSEBOX_TEST_STATE_DIR:-/run/fusebox}

# A temp dir per test file with an allowed layer root and a fusebox.conf.
fb_env_setup() {
	FB_T=$(mktemp -d /tmp/fusebox-test.XXXXXX)
	mkdir -p "$FB_T/layers" "$FB_T/uppers" "$FB_T/outside"
	cat >"$FB_T/fusebox.conf" <<CONF
lower_root = $FB_T/layers
upper_root = $FB_T/uppers
state_dir = $STATE_DIR
fuseboxd = $FUSEBOXD
CONF
	export FB_T
}

fb_env_teardown() {
	[ -n "${FB_T:-}" ] && rm -rf "$FB_T"
}

# fb_make_rootfs DIR: a minimal busybox-static root file system.
fb_make_rootfs() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,dev,proc,sys,tmp,etc,root}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
}

# fb_json_list ARGS...: a JSON list of strings (jq's own --args would take "-c"
# for one of its options, and -R splits at newlines).
fb_json_list() {
	local a
	for a in "$@"; do jq -cn --arg a "$a" '$a'; done | jq -cs .
}

# fb_make_bundle BUNDLE ANNOTATIONS_JSON CMD...: config.json for `runc run`,
# with fusebox-hook as createRuntime and poststop hook.
fb_make_bundle() {
	local bundle=$1 ann=$2
	shift 2
	mkdir -p "$bundle"
	[ -d "$bundle/rootfs" ] || fb_make_rootfs "$bundle/rootfs"
	rm -f "$bundle/config.json"
	(cd "$bundle" && runc spec)
	local args
	args=$(fb_json_list "$@")
	jq --argjson ann "$ann" --argjson args "$args" --arg hook "$HOOK" \
		--arg conf "$FB_T/fusebox.conf" '
		.process.terminal = false | .process.args = $args |
		.root.path = "rootfs" | .annotations = $ann |
		.hooks = {
			createRuntime: [{path: $hook, args: ["fusebox-hook", "--config", $conf, "createRuntime"]}],
			poststop: [{path: $hook, args: ["fusebox-hook", "--config", $conf, "poststop"]}]
		}' "$bundle/config.json" >"$bundle/config.json.new"
	mv "$bundle/config.json.new" "$bundle/config.json"
}

# fb_mounts_annotation TARGET LOWER...: {"fusebox.io/mounts": "[...]"}, read-only.
fb_mounts_annotation() {
	fb_mounts_annotation_upper none "$@"
}

# fb_mounts_annotation_upper UPPER TARGET LOWER...: the same with "upper": UPPER.
fb_mounts_annotation_upper() {
	local upper=$1 target=$2
	shift 2
	local lowers
	lowers=$(fb_json_list "$@")
	jq -cn --arg t "$target" --argjson l "$lowers" --arg u "$upper" \
		'{"fusebox.io/mounts": ([{target: $t, lower: $l, upper: $u}] | tojson)}'
}

# fb_runc ID BUNDLE: runc run, stdout+stderr in $output, status in $status.
fb_runc() {
	local id=$1 bundle=$2
	run timeout 60 runc run --bundle "$bundle" "$id" </dev/null
}

# Live (non-zombie) fuseboxd processes serving this test run's layers (other
# fuseboxd instances on the machine, e.g. a benchmark, are not ours to judge).
fb_live_daemons() {
	local pid n=0
	for pid in $(pgrep -x fuseboxd); do
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && continue
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$FB_T/" && n=$((n + 1))
	done
	echo "$n"
}

# Nothing of container ID is left: no state, no daemon, no host FUSE mount of ours,
# no runc container.
fb_assert_clean() {
	local id=$1 i
	# Daemons exit on ENODEV once the container's namespace is gone; allow a moment.
	for i in $(seq 50); do
		[ "$(fb_live_daemons)" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(fb_live_daemons)" -eq 0 ] || { echo "fuseboxd still running"; ps -ef | grep "[f]useboxd.*$FB_T/"; return 1; }
	[ ! -e "$STATE_DIR/$id" ] || { echo "state left: $STATE_DIR/$id"; return 1; }
	! grep -q ' fuse.fusebox ' /proc/self/mountinfo || { echo "host fusebox mount left"; return 1; }
	! runc list -q | grep -qx "$id" || { echo "runc container left"; return 1; }
}

# refused ANNOTATIONS_JSON EXPECTED_TEXT: runc run fails with the hook's one-line
# message and leaves nothing behind.
refused() {
	fb_make_bundle "$BUNDLE" "$1" cat /proc/mounts
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -ne 0 ]
	# runc quotes the hook's stderr inside its own message: undo its escaping.
	local msg=${output//\\\"/\"}
	[[ "$msg" == *"fusebox-hook: $ID: "*"$2"* ]]
	[ "$(grep -c 'fusebox-hook:' <<<"$msg")" -eq 1 ]
	fb_assert_clean "$ID"
}

# fb_bundle_setup PREFIX: per test, ID=PREFIX-N-PID and BUNDLE with a copy of
# $FB_T/rootfs-template (made by the file's setup_file).
fb_bundle_setup() {
	ID=$1-$BATS_TEST_NUMBER-$$
	BUNDLE=$FB_T/bundle-$BATS_TEST_NUMBER
	mkdir -p "$BUNDLE"
	cp -a "$FB_T/rootfs-template" "$BUNDLE/rootfs"
}

# fb_bundle_teardown: the test's container (if any) and its bundle go.
fb_bundle_teardown() {
	runc delete -f "$ID" >/dev/null 2>&1 || true
	rm -rf "$BUNDLE"
}

# fb_lsm_runs: "yes" when this kernel runs BPF LSM programs, else "no".
fb_lsm_runs() {
	if "$CTL" probe | grep -q '^bpf-lsm: yes'; then echo yes; else echo no; fi
}
