#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# A file-access policy on a host whose kernel does not run BPF LSM programs (this
# CI kernel), with real runc containers, the real hook and the real fuseboxd: a
# policy whose rules all lie inside passthrough fusebox mounts is enforced by
# fuseboxd (EACCES inside the container); anything fuseboxd cannot see (a rule
# outside the mounts, an exec rule, a rule in a "data": "cached" mount, a deny
# default) is refused with one line naming lsm=...,bpf and the first such rule,
# unless fusebox.conf says degraded_enforcement = yes, which starts the container
# with fuseboxd enforcing what lies inside its mounts and says so in status.

load ../lib/common

setup_file() {
	fb_env_setup
	local app=$FB_T/layers/app
	mkdir -p "$app/secret" "$app/etc" "$app/data" "$app/bin"
	echo key >"$app/secret/key"
	echo pub >"$app/secret/pub"
	echo conf >"$app/etc/conf"
	echo old >"$app/data/old"
	fb_make_rootfs "$FB_T/rootfs-template"
	cp "$FB_T/fusebox.conf" "$FB_T/fusebox.conf.strict"
	LSM_RUNS=$(fb_lsm_runs)
	export FB_T LSM_RUNS
}

teardown_file() {
	fb_env_teardown
}

setup() {
	[ "$LSM_RUNS" = no ] || skip "this kernel runs BPF LSM programs: the kernel enforces, not fuseboxd"
	fb_bundle_setup fbfpol
	cp "$FB_T/fusebox.conf.strict" "$FB_T/fusebox.conf"
}

teardown() {
	fb_bundle_teardown
	rm -f "/var/log/fusebox/$ID.log" "/var/log/fusebox/$ID.log.1"
}

allow_degraded() {
	echo "degraded_enforcement = yes" >>"$FB_T/fusebox.conf"
}

# annotations DATA POLICY_JSON: /app (writable, ephemeral upper) with "data": DATA,
# and the policy.
annotations() {
	jq -cn --arg l "$FB_T/layers/app" --arg d "$1" --argjson p "$2" '{
		"fusebox.io/mounts": ([{target: "/app", lower: [$l], upper: "ephemeral", data: $d}] | tojson),
		"fusebox.io/policy": ($p | tojson)}'
}

# policy MODE [EXTRA_RULE_JSON...]: the in-mount rules, then the extra ones.
policy() {
	local mode=$1 extra
	shift
	extra=$(printf '%s\n' "$@" | jq -cs .)
	jq -cn --arg m "$mode" --argjson x "$extra" '{mode: $m, default: "allow", rules: ([
		{path: "/app/secret", deny: ["read"]},
		{path: "/app/secret/pub", allow: ["read"]},
		{path: "/app/etc", deny: ["write", "create", "delete"]}] + $x)}'
}

# What the container tries; one line per attempt: "NAME: " and its output, "ok"
# for none, or its error.
PROBE='
try() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name: ${out:-ok}"; else echo "$name: ${out:-failed}"; fi; }
try read-key cat /app/secret/key
try list-secret ls /app/secret
try read-pub cat /app/secret/pub
try write-conf sh -c "echo x >>/app/etc/conf"
try create-etc touch /app/etc/new
try delete-conf rm /app/etc/conf
try write-data sh -c "echo new >/app/data/new && cat /app/data/new"
try write-host-etc sh -c "echo x >>/etc/passwd"
'

# run_probe ANNOTATIONS: run PROBE in a container (writable root, so that what is
# outside the mounts can be tried too); its output in $output.
run_probe() {
	fb_make_bundle "$BUNDLE" "$1" sh -c "$PROBE"
	jq '.root.readonly = false' "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
}

# refused ANNOTATIONS EXPECTED_TEXT: runc run fails with the hook's one line, which
# names the missing kernel feature; nothing is left.
refused() {
	fb_make_bundle "$BUNDLE" "$1" cat /etc/passwd
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -ne 0 ]
	local msg=${output//\\\"/\"}
	[[ "$msg" == *"fusebox-hook: $ID: "*"$2"* ]]
	[[ "$msg" == *"this kernel does not run BPF LSM programs"*"lsm=...,bpf"* ]]
	[ "$(grep -c 'fusebox-hook:' <<<"$msg")" -eq 1 ]
	[[ "${msg%\\n*}" != *"\\n"* ]]
	fb_assert_clean "$ID"
}

@test "rules inside a passthrough mount: the container starts and fuseboxd denies with EACCES what they deny" {
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-key: cat: can't open '/app/secret/key': Permission denied"* ]]
	[[ "$output" == *"list-secret: "*"Permission denied"* ]]
	# The deeper allow wins over the directory's deny.
	[[ "$output" == *"read-pub: pub"* ]]
	[[ "$output" == *"write-conf: "*"Permission denied"* ]]
	[[ "$output" == *"create-etc: "*"Permission denied"* ]]
	[[ "$output" == *"delete-conf: "*"Permission denied"* ]]
	# What no rule denies works.
	[[ "$output" == *"write-data: new"* ]]
	[[ "$output" == *"write-host-etc: ok"* ]]
	fb_assert_clean "$ID"
}

@test "audit mode: fuseboxd lets every access through" {
	run_probe "$(annotations passthrough "$(policy audit)")"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-key: key"* ]]
	[[ "$output" == *"list-secret: key"* ]]
	[[ "$output" == *"write-conf: ok"* ]]
	[[ "$output" == *"create-etc: ok"* ]]
	[[ "$output" == *"delete-conf: ok"* ]]
	[[ "$output" != *"Permission denied"* ]]
	fb_assert_clean "$ID"
}

@test "fuseboxd gets the policy as a 0600 file in the state dir; status and state.json say fuseboxd" {
	fb_make_bundle "$BUNDLE" "$(annotations passthrough "$(policy enforce)")" sleep 60
	runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	[ "$(stat -c %a "$STATE_DIR/$ID/policy.json")" = 600 ]
	jq -e '.rules[0] == {path: "/app/secret", deny: ["read"]}' "$STATE_DIR/$ID/policy.json"
	[ "$(jq -r .enforcement "$STATE_DIR/$ID/state.json")" = fuseboxd ]
	run "$CTL" status --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"policy: enforced by fuseboxd (no BPF LSM; every rule is inside the fusebox mounts)"* ]]
	pgrep -af fuseboxd | grep -F "$FB_T/" | grep -F "policy=$STATE_DIR/$ID/policy.json,policy_root=/app"
	runc delete -f "$ID"
	fb_assert_clean "$ID"
}

@test "a \"data\": \"cached\" mount without rules next to the policy's mount starts, without the policy" {
	local ann
	ann=$(jq -cn --arg l "$FB_T/layers/app" --argjson p "$(policy enforce)" '{
		"fusebox.io/mounts": ([{target: "/app", lower: [$l]},
				       {target: "/cache", lower: [$l], data: "cached"}] | tojson),
		"fusebox.io/policy": ($p | tojson)}')
	fb_make_bundle "$BUNDLE" "$ann" sh -c 'cat /cache/secret/key; cat /app/secret/key; true'
	fb_runc "$ID" "$BUNDLE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "key"*"can't open '/app/secret/key': Permission denied"* ]]
	fb_assert_clean "$ID"
}

@test "a rule outside the fusebox mounts is refused, naming the rule and the mounts" {
	refused "$(annotations passthrough "$(policy enforce '{"path": "/etc", "deny": ["write"]}')")" \
		"fuseboxd cannot enforce this policy on its own: rules[3] \"/etc\" is outside the fusebox mounts (/app); refusing to start the container without its policy"
}

@test "degraded_enforcement = yes starts it: the in-mount rules still hold, the outside rule does not, status says so" {
	allow_degraded
	local ann
	ann=$(annotations passthrough "$(policy enforce '{"path": "/etc", "deny": ["write"]}')")
	run_probe "$ann"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-key: cat: can't open '/app/secret/key': Permission denied"* ]]
	[[ "$output" == *"read-pub: pub"* ]]
	[[ "$output" == *"write-conf: "*"Permission denied"* ]]
	# Not enforced: nothing on this host can see /etc.
	[[ "$output" == *"write-host-etc: ok"* ]]
	fb_assert_clean "$ID"

	runc delete -f "$ID" >/dev/null 2>&1 || true
	fb_make_bundle "$BUNDLE" "$ann" sleep 60
	runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run "$CTL" status --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[[ "$output" == *"policy: enforced by fuseboxd-degraded (no BPF LSM; only inside the fusebox mounts)"* ]]
	[[ "$output" == *"policy: NOT enforced: rules[3] \"/etc\" is outside the fusebox mounts (/app)"* ]]
	[ "$(jq -r .enforcement "$STATE_DIR/$ID/state.json")" = fuseboxd-degraded ]
	runc delete -f "$ID"
	fb_assert_clean "$ID"
}

@test "an exec rule is refused: mmap(PROT_EXEC) and memfd never reach fuseboxd" {
	refused "$(annotations passthrough "$(policy enforce '{"path": "/app/bin", "deny": ["exec"]}')")" \
		"rules[3] \"/app/bin\" denies exec (mmap with PROT_EXEC and memfd never reach a FUSE daemon)"
}

@test "a rule through a symlink in a layer is refused: fuseboxd judges resolved paths, not links" {
	ln -s secret "$FB_T/layers/app/keys"
	refused "$(annotations passthrough "$(policy enforce '{"path": "/app/keys/key", "deny": ["read"]}')")" \
		"rules[3] \"/app/keys/key\" goes through a symlink, /app/keys (fuseboxd judges the path an access resolves to, not the link's)"
	refused "$(annotations passthrough "$(policy enforce '{"path": "/app/keys", "deny": ["read"]}')")" \
		"rules[3] \"/app/keys\" goes through a symlink, /app/keys"
	rm "$FB_T/layers/app/keys"
}

@test "degraded_enforcement = yes starts a policy with a rule through a symlink, and status names it" {
	ln -s secret "$FB_T/layers/app/keys"
	allow_degraded
	fb_make_bundle "$BUNDLE" "$(annotations passthrough "$(policy enforce '{"path": "/app/keys", "deny": ["read"]}')")" sleep 60
	runc run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	rm "$FB_T/layers/app/keys"
	run "$CTL" status --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[[ "$output" == *"policy: NOT enforced: rules[3] \"/app/keys\" goes through a symlink, /app/keys"* ]]
	runc delete -f "$ID"
	fb_assert_clean "$ID"
}

@test "a rule inside a \"data\": \"cached\" mount is refused: its opens never reach fuseboxd" {
	refused "$(annotations cached "$(policy enforce)")" \
		"rules[0] \"/app/secret\" is inside /app, a \"data\": \"cached\" mount (its opens never reach fuseboxd)"
}

@test "a deny default is refused: it covers what is outside the mounts" {
	refused "$(annotations passthrough '{"default": "deny", "rules": [{"path": "/app", "allow": ["read"]}]}')" \
		"default \"deny\" also covers what is outside the fusebox mounts (/app)"
}

@test "operator programs are refused without BPF LSM even with degraded_enforcement = yes" {
	allow_degraded
	mkdir -p "$FB_T/programs"
	cp "$BUILD/bpf/policy.bpf.o" "$FB_T/programs/mine.bpf.o"
	chmod 0755 "$FB_T" "$FB_T/programs"
	echo "program_dir = $FB_T/programs" >>"$FB_T/fusebox.conf"
	refused "$(jq -c '. + {"fusebox.io/programs": "[\"mine\"]"}' \
		<<<"$(annotations passthrough "$(policy enforce)")")" \
		"fusebox.io/programs: this kernel does not run BPF LSM programs"
}

# ---- the audit log: fuseboxd's denials outlive the container ----

# A log line: time, id, and the event's fields.
LOG_TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z'

@test "denials outlive the container: /var/log/fusebox/ID.log has them, fuseboxctl audit ID prints them" {
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -eq 0 ]
	fb_assert_clean "$ID"
	local log=/var/log/fusebox/$ID.log
	cat "$log"
	grep -Eq "^$LOG_TIME $ID pid=[0-9]+ uid=0 comm=cat op=fuse rights=read path=/app/secret/key verdict=deny by=rules\[0\]\$" "$log"
	grep -Eq "^$LOG_TIME $ID pid=[0-9]+ uid=0 comm=rm op=fuse rights=delete path=/app/etc/conf verdict=deny by=rules\[2\]\$" "$log"
	# The allowed accesses are not in it.
	! grep -q 'path=/app/secret/pub\|path=/app/data' "$log"
	[ "$(stat -c %a "$log")" = 640 ]
	run "$CTL" audit --config "$FB_T/fusebox.conf" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$log")" ]
	# Without an id: every container's log, this one's lines among them.
	run "$CTL" audit --config "$FB_T/fusebox.conf"
	[[ "$output" == *"$ID pid="*"path=/app/secret/key verdict=deny"* ]]
}

@test "audit mode: the would-be denials are in the log as verdict=audit" {
	run_probe "$(annotations passthrough "$(policy audit)")"
	[ "$status" -eq 0 ]
	run "$CTL" audit --config "$FB_T/fusebox.conf" "$ID"
	echo "$output"
	[[ "$output" == *" $ID pid="*" comm=cat op=fuse rights=read path=/app/secret/key verdict=audit by=rules[0]"* ]]
	[[ "$output" != *"verdict=deny"* ]]
}

@test "the log is bounded: past 1 MiB it becomes ID.log.1, replacing the older one, and the newest events stay" {
	local log=/var/log/fusebox/$ID.log
	mkdir -p /var/log/fusebox
	yes 'old rotated line' | head -c 100000 >"$log.1"
	yes 'filler line of an earlier run of this container' | head -c $((1024 * 1024 - 40)) >"$log"
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -eq 0 ]
	# The full file moved to .1 (the old .1 is gone); the new file has the denials.
	[ "$(stat -c %s "$log.1")" -gt 1000000 ]
	! grep -q 'old rotated line' "$log.1"
	grep -q 'path=/app/secret/key verdict=deny' "$log"
	[ "$(stat -c %s "$log")" -le $((1024 * 1024)) ]
	run "$CTL" audit --config "$FB_T/fusebox.conf" "$ID"
	[[ "${lines[0]}" == "filler line"* ]]
	[[ "${lines[-1]}" == *"$ID pid="* ]]
}

@test "fuseboxctl audit --follow ID prints the events of a container that starts after it" {
	local out=$FB_T/follow.out
	"$CTL" audit --config "$FB_T/fusebox.conf" --follow "$ID" >"$out" 2>&1 &
	local follower=$!
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -eq 0 ]
	local i
	for i in $(seq 40); do
		grep -q 'path=/app/secret/key verdict=deny' "$out" && break
		sleep 0.1
	done
	kill "$follower"
	wait "$follower" || true
	cat "$out"
	grep -Eq "^$LOG_TIME $ID pid=[0-9]+ uid=0 comm=cat op=fuse rights=read path=/app/secret/key verdict=deny" "$out"
}

@test "log_dir in fusebox.conf says where the logs go" {
	echo "log_dir = $FB_T/audit" >>"$FB_T/fusebox.conf"
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -eq 0 ]
	grep -q 'path=/app/secret/key verdict=deny' "$FB_T/audit/$ID.log"
	[ ! -e "/var/log/fusebox/$ID.log" ]
	run "$CTL" audit --config "$FB_T/fusebox.conf" "$ID"
	[[ "$output" == *"path=/app/secret/key verdict=deny"* ]]
}

@test "log_keep bounds the number of logs: poststop removes the oldest, never a running container's" {
	local d=$FB_T/audit-keep
	mkdir -p "$d"
	echo "log_dir = $d" >>"$FB_T/fusebox.conf"
	echo "log_keep = 2" >>"$FB_T/fusebox.conf"
	for n in old1 old2 old3 running; do echo "line of $n" >"$d/$n.log"; done
	echo rotated >"$d/old1.log.1"
	touch -d '3 days ago' "$d/old1.log" "$d/old1.log.1"
	touch -d '2 days ago' "$d/old2.log"
	touch -d '1 day ago' "$d/old3.log"
	touch -d '4 days ago' "$d/running.log"
	# A container that still has state keeps its log, however old.
	mkdir -p "$STATE_DIR/running"
	run_probe "$(annotations passthrough "$(policy enforce)")"
	rmdir "$STATE_DIR/running"
	[ "$status" -eq 0 ]
	ls "$d"
	[ -e "$d/$ID.log" ]
	[ -e "$d/running.log" ]
	[ -e "$d/old3.log" ]
	[ ! -e "$d/old2.log" ]
	[ ! -e "$d/old1.log" ]
	[ ! -e "$d/old1.log.1" ]
}

@test "log_keep must be a number of logs: a bad value is a one-line error naming it" {
	echo "log_keep = 0" >>"$FB_T/fusebox.conf"
	run_probe "$(annotations passthrough "$(policy enforce)")"
	[ "$status" -ne 0 ]
	local msg=${output//\\\"/\"}
	[[ "$msg" == *'fusebox.conf:5: log_keep: "0" (expected 1..1000000)'* ]]
}
