#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What fusebox-hook adds to `runc run` of a trivial container, side by side in one
# run: no hooks at all; the hook registered but no fusebox annotation; one fusebox
# mount. Prints medians and the difference to the no-hook run.
#   tests/bench/hook_latency.sh [--runs N] [--out FILE.json]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/common.bash
runs=30 out=
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--out FILE]" >&2; exit 2 ;;
	esac
done
command -v hyperfine >/dev/null || { echo "hook_latency: hyperfine is missing (install.sh --deps)" >&2; exit 1; }
fb_env_setup
trap 'fb_env_teardown' EXIT
mkdir -p "$FB_T/layers/base"
echo hi >"$FB_T/layers/base/f"

fb_make_bundle "$FB_T/plain" '{}' true
jq 'del(.hooks)' "$FB_T/plain/config.json" >"$FB_T/c.json" && mv "$FB_T/c.json" "$FB_T/plain/config.json"
fb_make_bundle "$FB_T/hooked" '{}' true
fb_make_bundle "$FB_T/fusebox" "$(fb_mounts_annotation /data "$FB_T/layers/base")" true

json=$FB_T/hyperfine.json
hyperfine -N --warmup 3 --runs "$runs" --export-json "$json" \
	-n "runc run, no hook" "runc run --bundle $FB_T/plain fbbench-plain" \
	-n "runc run, hook, no annotation" "runc run --bundle $FB_T/hooked fbbench-hooked" \
	-n "runc run, hook, one fusebox mount" "runc run --bundle $FB_T/fusebox fbbench-fusebox" \
	>/dev/null
jq -r '
	(.results[0].median) as $base |
	"| case | median ms | added ms |", "|---|---|---|",
	(.results[] | "| \(.command) | \(.median * 1000 | . * 10 | round / 10) | \((.median - $base) * 1000 | . * 10 | round / 10) |")
' "$json"
[ -n "$out" ] && cp "$json" "$out"
exit 0
