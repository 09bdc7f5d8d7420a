#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: a busybox container under runc with a fusebox mount, then the teardown.
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

ann=$(fb_mounts_annotation /app "$FB_T/layers/app")
say "The container's annotation"
echo "$ann" | jq .

fb_make_bundle "$FB_T/bundle" "$ann" sh -c '
	echo "--- inside the container: the mount"; grep " /app " /proc/mounts
	echo "--- cat /app/greeting.txt"; cat /app/greeting.txt
	echo "--- files under /app/lib: $(ls /app/lib | wc -l)"
	echo "--- a write is refused:"; echo x > /app/new || true'
say "runc run (fusebox-hook runs as createRuntime and poststop hook)"
runc run --bundle "$FB_T/bundle" "$ID" </dev/null

say "After the container exited: what is left?"
echo "fuse mounts on the host:   $(grep -c ' fuse.fusebox ' /proc/self/mountinfo || true)"
sleep 0.3
echo "fuseboxd processes:        $(fb_live_daemons)"
echo "state in $STATE_DIR/$ID: $([ -e "$STATE_DIR/$ID" ] && echo present || echo none)"
