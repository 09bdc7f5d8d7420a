# SPDX-License-Identifier: GPL-2.0-only
# The VM benchmark (tests/bench/vm.sh): what a policy costs the files a container
# touches. Three real runc containers with the real hook run side by side:
#   a  no fusebox annotation
#   b  a 50-rule policy that does not deny the files touched (the cost of the check)
#   c  one operator program (program_dir/allow_all.bpf.o: lsm_cgroup file_open and
#      inode_getattr, both allow)
# and vm-bench-files times open+close and stat of FILES files inside each, REPS times,
# in a rotating order (a b c, b c a, c a b, ...) so drift spreads over all three.
# a is also timed before b starts ("a0": no fusebox BPF on the node at all) and
# between b and c starting ("a1": b's policy programs loaded, no operator program),
# which splits what a policy elsewhere on the node costs a container without one.
# Results are console lines, parsed on the host:
#   FUSEBOX-BENCH case=a rep=1 open_ns=N stat_ns=N
# fusebox.bench=FILES,PASSES,REPS on the kernel command line sets the sizes.
. /opt/fusebox/tests/lib/tap.sh
. /opt/fusebox/tests/lib/policy.sh

files=2000 passes=3 reps=7
for arg in $(cat /proc/cmdline); do
	case $arg in
	fusebox.bench=*)
		set -- $(echo "${arg#fusebox.bench=}" | tr , ' ')
		files=$1 passes=$2 reps=$3
		;;
	esac
done
echo "FUSEBOX-BENCH-INFO files=$files passes=$passes reps=$reps kernel=$(uname -r)"

# The files timed: /srv/data/bench/f00000..., four levels deep, under two rules
# that name other rights (so the policy walks every ancestor up to /).
bench_dir=/srv/data/bench
mkdir -p $rootfs$bench_dir
(cd $rootfs$bench_dir && awk -v n="$files" 'BEGIN { for (i = 0; i < n; i++) printf "f%05d\n", i }' |
	xargs touch)
cp /opt/fusebox/bin/vm-bench-files $rootfs/bench-files

# 50 rules over distinct paths, as a web application's policy might say; every
# path exists in the image (type d or f), so no rule is dropped.
cat >/tmp/rules.txt <<'RULES'
d /etc deny write,create,delete,rename,setattr
f /etc/shadow deny read
f /etc/gshadow deny read
d /etc/ssl/private deny read
d /etc/ssh deny read
f /etc/ssh/ssh_known_hosts allow read
d /etc/sudoers.d deny read
f /etc/hosts allow write
f /etc/resolv.conf allow write
d /etc/cron.d deny read,exec
d /usr deny write,create,delete,rename,setattr
d /usr/local/bin deny exec
f /usr/local/bin/app-cli allow exec
d /usr/sbin deny exec
d /usr/lib/debug deny read
d /usr/share/doc deny read
d /bin deny write,create,delete,rename,setattr
d /sbin deny exec
d /lib/modules deny read
d /boot deny read
d /root deny read,write,create
d /home deny write,create,delete
d /home/app allow write,create,delete
d /home/app/.ssh deny read
d /var/log deny delete,rename,setattr
d /var/log/app allow create
d /var/lib/dpkg deny write,create,delete
d /var/cache deny exec
d /var/spool deny read
d /var/backups deny read
d /opt/app deny write,create,delete,rename
d /opt/app/bin allow exec
d /opt/app/config deny write
f /opt/app/config/secrets.yaml deny read
d /opt/app/plugins deny exec
d /opt/app/plugins/signed allow exec
d /opt/app/data allow write,create,delete,rename
d /opt/app/data/uploads deny exec
d /run/secrets deny read
f /run/secrets/tls.crt allow read
d /srv deny exec
d /srv/data deny delete,rename,setattr
d /srv/www deny write,create
d /srv/www/cache allow write,create,delete
d /tmp deny exec
d /mnt deny read,write
d /media deny read,write
d /var/tmp deny exec
d /var/mail deny read
d /etc/profile.d deny write,create
RULES
while read -r type path verdict rights; do
	case $type in
	d) mkdir -p "$rootfs$path" ;;
	f) mkdir -p "$rootfs${path%/*}" && : >>"$rootfs$path" ;;
	esac
done </tmp/rules.txt
policy=$(awk 'BEGIN { printf "{\"mode\": \"enforce\", \"default\": \"allow\", \"rules\": [" }
	{ n = split($4, r, ","); list = ""
	  for (i = 1; i <= n; i++) list = list (i > 1 ? ", " : "") "\"" r[i] "\""
	  printf "%s{\"path\": \"%s\", \"%s\": [%s]}", (NR > 1 ? ", " : ""), $2, $3, list }
	END { print "]}" }' /tmp/rules.txt)
nrules=$(echo "$policy" | grep -o '"path"' | wc -l)

echo 'exec sleep 100000' >$rootfs/bench-idle.sh
# start ID ANNOTATIONS: a detached container with the hook, idle until killed.
start() {
	use_annotations "$2"
	sed 's|"/cmd.sh"|"/bench-idle.sh"|' config.json >config.idle && mv config.idle config.json
	if runc run -d "$1" >/tmp/start.out 2>&1 </dev/null; then
		return 0
	fi
	diag </tmp/start.out
	return 1
}
# run CASE ID REP: time the files in container ID, print one result line.
run() {
	if runc exec "$2" /bench-files $bench_dir "$files" "$passes" >/tmp/run.out 2>&1 &&
		out=$(grep '^open_ns=' /tmp/run.out); then
		echo "FUSEBOX-BENCH case=$1 rep=$3 $out"
	else
		not_ok "vm-bench-files ran in container $1 (rep $3)"
		diag </tmp/run.out
	fi
}
stop_all() {
	for id in fbb-a fbb-b fbb-c; do
		runc kill $id KILL >/dev/null 2>&1
	done
	for id in fbb-a fbb-b fbb-c; do
		eventually sh -c "! runc state $id 2>/dev/null | grep -q running"
		runc delete -f $id >/dev/null 2>&1
	done
}

# alone CASE: time container a REPS times.
alone() {
	i=1
	while [ $i -le "$reps" ]; do
		run "$1" fbb-a $i
		i=$((i + 1))
	done
}

if ! start fbb-a '{}'; then
	not_ok "bench: container a (no policy) starts"
	restore_config
	exit 0
fi
alone a0
if start fbb-b "{\"fusebox.io/policy\": $(jstr "$policy")}" && alone a1 &&
	start fbb-c "{\"fusebox.io/programs\": $(jstr '["allow_all"]')}"; then
	ok "bench: containers a (no policy), b ($nrules-rule policy), c (one operator program) run side by side"
else
	not_ok "bench: containers b ($nrules-rule policy) and c (one operator program) start"
	stop_all
	restore_config
	exit 0
fi
runc exec fbb-b cat /etc/shadow >/tmp/shadow.out 2>&1
check "bench: the policy is enforced in b (/etc/shadow: EACCES)" \
	grep -q 'Permission denied' /tmp/shadow.out
check "bench: the operator program is attached for c" \
	sh -c 'bpftool prog show | grep -q "name op_allow_open"'

i=1
while [ $i -le "$reps" ]; do
	case $((i % 3)) in
	1) order="a b c" ;;
	2) order="b c a" ;;
	0) order="c a b" ;;
	esac
	for c in $order; do
		run $c fbb-$c $i
	done
	i=$((i + 1))
done

stop_all
check "bench: after the containers stop nothing of fusebox's BPF is left" eventually nothing_left
rm -rf $rootfs/srv $rootfs/bench-files $rootfs/bench-idle.sh
restore_config
exit 0
