#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: a busybox container under runc with fusebox mounts (one read-only, one
# with an ephemeral writable upper), then the teardown.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }
source tests/lib/common.bash

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ID=fusebox-demo-$$
fb_env_setup
trap 'runc delete -f "$ID" >/dev/null 2>&1 || true; fb_env_teardown' EXIT

say "A read-only image layer on the host: $FB_T/layers/app"
mkdir -p "$FB_T/layers/app/lib"
echo "hello from a fusebox layer" >"$FB_T/layers/app/greeting.txt"
for i in $(seq 1 200); do echo "module $i" >"$FB_T/layers/app/lib/mod$i.py"; done
ls "$FB_T/layers/app" | head

# /app read-only; /work the same layer with a per-container writable upper.
ann=$(jq -cn --arg l "$FB_T/layers/app" '{"fusebox.io/mounts": ([
	{target: "/app", lower: [$l], upper: "none"},
	{target: "/work", lower: [$l], upper: "ephemeral"}] | tojson)}')
say "The container's annotation"
echo "$ann" | jq .

fb_make_bundle "$FB_T/bundle" "$ann" sh -c '
	echo "--- inside the container: the mount"; grep " /app " /proc/mounts
	echo "--- cat /app/greeting.txt"; cat /app/greeting.txt
	echo "--- files under /app/lib: $(ls /app/lib | wc -l)"
	echo "--- a write is refused:"; echo x > /app/new || true
	echo "--- /work has an ephemeral upper: writes land there, the layer stays"
	echo "changed in the container" >/work/greeting.txt; rm /work/lib/mod1.py
	echo "/work/greeting.txt: $(cat /work/greeting.txt)"
	echo "/app/greeting.txt:  $(cat /app/greeting.txt)"
	echo "files under /work/lib: $(ls /work/lib | wc -l)"'
say "runc run (fusebox-hook runs as createRuntime and poststop hook)"
runc run --bundle "$FB_T/bundle" "$ID" </dev/null

say "After the container exited: what is left?"
echo "the layer on the host:     $(cat "$FB_T/layers/app/greeting.txt"), $(ls "$FB_T/layers/app/lib" | wc -l) files"
echo "fuse mounts on the host:   $(grep -c ' fuse.fusebox ' /proc/self/mountinfo || true)"
sleep 0.3
echo "fuseboxd processes:        $(fb_live_daemons)"
echo "state in $STATE_DIR/$ID: $([ -e "$STATE_DIR/$ID" ] && echo present || echo none)"
