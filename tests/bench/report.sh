# SPDX-License-Identifier: GPL-2.0-only
# The benchmark's JSON and its tables (sourced by tests/bench/run.sh).
# Input: the TSV files run.sh fills in $W (results, workloads, rss, reqstat).

# report_json: everything measured, as one JSON document on stdout.
report_json() {
	jq -n \
		--rawfile res "$W/results.tsv" --rawfile wl "$W/workloads.tsv" \
		--rawfile rss "$W/rss.tsv" --rawfile rq "$W/reqstat.tsv" \
		--rawfile rqw "$W/reqstat_write.tsv" \
		--rawfile notes "$W/notes.txt" --arg peers "${PEERS[*]}" \
		--argjson quick "$QUICK" --argjson runs "$RUNS" --argjson duration "$DURATION" \
		--arg date "$(date -u +%FT%TZ)" --arg kernel "$(uname -r)" \
		--argjson cpus "$(nproc)" --arg load0 "$LOAD_START" \
		--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
		--argjson small "$SMALL_FILES" --argjson dirs "$SMALL_DIRS" \
		--argjson bytes "$SMALL_BYTES" --argjson big "$BIG_MIB" \
		--argjson tree "$TREE_ENTRIES" --argjson write "$WRITE_FILES" \
		--arg fo "$(dpkg-query -W -f='${Version}' fuse-overlayfs 2>/dev/null)" \
		--arg libfuse "$(PKG_CONFIG_PATH=$FUSE_PREFIX/lib/pkgconfig pkg-config --modversion fuse3 2>/dev/null)" \
		--arg git "$(git -C "$SRC" describe --always --dirty 2>/dev/null)" '
	def rows($s): $s | split("\n") | map(select(length > 0) | split("\t"));
	rows($res) as $R
	| {
		schema: 1,
		date: $date,
		quick: ($quick == 1),
		runs: $runs,
		duration_s: $duration,
		host: {kernel: $kernel, cpus: $cpus, loadavg_start: $load0, loadavg_end: $load1},
		versions: {"fuse-overlayfs": $fo, libfuse: $libfuse, fusebox: $git},
		data: {
			small_files: $small, small_dirs: $dirs, small_bytes: $bytes,
			layers: "two lower layers of small_files/2, side by side for native and passthrough_hp (one mount per layer), merged for the overlays",
			big_mib: $big, tree_entries: $tree, write_files: $write,
			disk: "fresh loop-mounted ext4 with journal (loop direct-io when possible)",
			cold: "sync; drop_caches=3; wait until the FUSE daemons are idle",
			warm: "after one warmup run"
		},
		peers: ($peers | split(" ")),
		workloads: [rows($wl)[] as $w | {
			id: $w[0],
			label: $w[1],
			results: ([$R[] | select(.[0] == $w[0])] as $cells
				| ([$cells[] | select(.[1] == "native" and .[2] == "ok") | .[3] | tonumber]
					| first) as $nat
				| [$cells[] | {key: .[1], value: (
					if .[2] == "ok" then
						{status: "ok", median_s: (.[3] | tonumber), times_s: (.[4] | fromjson)}
						+ (if $nat then {ratio: ((.[3] | tonumber) / $nat)} else {} end)
					else {status: .[2], reason: .[5]} end)}]
				| from_entries)
		}],
		rss_kib: (rows($rss) | group_by(.[0]) | map({key: .[0][0], value: {
			max: (map(.[2] | tonumber) | max),
			by_scenario: (map({key: .[1], value: (.[2] | tonumber)}) | from_entries)
		}}) | from_entries),
		reqstat: {
			what: "FUSE requests per file for a cat of all small files (fuseboxctl reqstat; FORGET is not traced)",
			per_file: (rows($rq) | group_by(.[0]) | map({key: .[0][0], value: (
				group_by(.[1]) | map({key: .[0][1], value: (
					group_by(.[2]) | map({key: .[0][2],
						value: ((map(.[3] | tonumber) | add) / $small)}) | from_entries)})
				| from_entries)}) | from_entries),
			write_what: "FUSE requests per new file for one untimed run of the write workload",
			write_per_file: (rows($rqw) | group_by(.[0]) | map({key: .[0][0], value: (
				group_by(.[1]) | map({key: .[0][1],
					value: ((map(.[2] | tonumber) | add) / $write)}) | from_entries)})
				| from_entries)
		},
		notes: ($notes | split("\n") | map(select(length > 0)))
	}'
}

# Align TSV on stdin: first column left, the others right.
report_columns() {
	awk -F'\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
	  if (NF > nf) nf = NF; n = NR }
	END {
		for (r = 1; r <= n; r++) {
			line = sprintf("%-" w[1] "s", cell[r, 1])
			for (i = 2; i <= nf; i++)
				line = line sprintf("  %" w[i] "s", cell[r, i])
			print line
		}
	}'
}

# jq: a number with $d decimals, as text (jq has no printf).
JQ_FIXED='def fixed($d): ((. * pow(10; $d)) | round | tostring) as $s
	| (if ($s | length) <= $d then ("0" * ($d - ($s | length) + 1)) + $s else $s end) as $p
	| $p[0:($p | length) - $d] + "." + $p[($p | length) - $d:];'

# report_print FILE: the tables of a results JSON.
report_print() {
	local f=$1
	echo
	echo "median seconds (ratio to native), median of $(jq -r '.runs' "$f") run(s) per cell, $(jq -r '.host.cpus' "$f") vCPUs, load $(jq -r '.host.loadavg_start' "$f") at start"
	jq -r "$JQ_FIXED"'
	. as $d
	| .peers as $P
	| ([.workloads[].results[] | select(.status != "ok") | .reason] | unique) as $why
	| (["workload"] + $P | @tsv),
	  ($d.workloads[] as $w | [$w.label] + [$P[] as $p | $w.results[$p] |
		if . == null then "-"
		elif .status == "ok" then
			"\(.median_s | fixed(3)) (\(if .ratio then (.ratio | fixed(2)) else "?" end))"
		else "\(.status)[\(.reason as $r | $why | index($r) + 1)]" end] | @tsv),
	  (["daemon peak RSS, MiB"] + [$P[] as $p | ($d.rss_kib[$p].max // null) |
		if . == null then "-" else (. / 1024 | fixed(1)) end] | @tsv)' "$f" | report_columns
	jq -r '[.workloads[].results[] | select(.status != "ok") | .reason] | unique
		| to_entries[] | "[\(.key + 1)] \(.value)"' "$f"

	if [ "$(jq '.reqstat.per_file | length' "$f")" -gt 0 ]; then
		echo
		echo "FUSE requests per file, cat of all $(jq -r .data.small_files "$f") small files (FORGET not traced)"
		jq -r "$JQ_FIXED"'
		.peers as $P
		| .reqstat.per_file as $q
		| [$P[] as $p | select($q[$p]) | ("cold", "warm") as $t | select($q[$p][$t])
			| {p: $p, t: $t}] as $cols
		| ["LOOKUP", "GETATTR", "OPEN", "READ", "FLUSH", "RELEASE", "OPENDIR", "READDIR",
		   "READDIRPLUS", "RELEASEDIR", "GETXATTR", "LISTXATTR", "ACCESS", "STATFS"] as $order
		| ([$q[][] | keys[]] | unique) as $seen
		| (($order | map(select(. as $o | $seen | index($o)))) + ($seen - $order)) as $ops
		| (["opcode"] + [$cols[] | "\(.p) \(.t)"] | @tsv),
		  ($ops[] as $o | [$o] + [$cols[] | ($q[.p][.t][$o] // 0) | fixed(2)] | @tsv),
		  (["total"] + [$cols[] | ([$q[.p][.t][]] | add // 0) | fixed(2)] | @tsv)' "$f" |
			report_columns
	fi
	if [ "$(jq '.reqstat.write_per_file // {} | length' "$f")" -gt 0 ]; then
		echo
		echo "FUSE requests per file, write of $(jq -r .data.write_files "$f") new 4 KiB files + sync"
		jq -r "$JQ_FIXED"'
		.reqstat.write_per_file as $q
		| [.peers[] | select($q[.])] as $cols
		| ["LOOKUP", "GETATTR", "MKDIR", "CREATE", "GETXATTR", "SETATTR", "WRITE", "FLUSH",
		   "RELEASE"] as $order
		| ([$q[] | keys[]] | unique) as $seen
		| (($order | map(select(. as $o | $seen | index($o)))) + ($seen - $order)) as $ops
		| (["opcode"] + $cols | @tsv),
		  ($ops[] as $o | [$o] + [$cols[] | ($q[.][$o] // 0) | fixed(2)] | @tsv),
		  (["total"] + [$cols[] | ([$q[.][]] | add // 0) | fixed(2)] | @tsv)' "$f" |
			report_columns
	fi
	if [ "$(jq '.notes | length' "$f")" -gt 0 ]; then
		echo
		jq -r '.notes[] | "note: \(.)"' "$f"
	fi
}
