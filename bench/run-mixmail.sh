#!/bin/bash
# run-mixmail.sh - what a sender waits for: the time and memory of one
# `mixmail` run that builds the first-hop mails of a message for a 5-hop
# chain and writes them with --dump (durably: each file synced, the
# directory synced), for a one-packet message and for a 1 MiB one.
#
# usage (from the build directory): bash SRCDIR/bench/run-mixmail.sh [RUNS]
# Makes five nodes (mixnode init/publish; the last an exit) and a
# MIXMAIL_HOME under one /tmp directory, removed at the end. As root, the
# programs run as the user mixtest (made if missing). Prints, per size,
# the median and the slowest wall time of RUNS runs (default 21; 5 for
# 1 MiB), the mails written, and the peak resident memory of one run
# (GNU time, if /usr/bin/time is there). No network is used.
set -u
RUNS=${1:-21}
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(pwd)
for p in src/mixnode src/mixmail; do
	[ -x "$B/$p" ] || { echo "run-mixmail.sh: $B/$p is not built (run it from the build directory)"; exit 1; }
done
AS=()
if [ "$(id -u)" -eq 0 ]; then
	id -u mixtest >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group mixtest || exit 1
	AS=(setpriv --reuid=mixtest --regid=mixtest --init-groups --)
fi
W=$(mktemp -d /tmp/bench-mixmail.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT
chmod 0755 "$W"
[ ${#AS[@]} -eq 0 ] || chown mixtest:mixtest "$W" || exit 1
mkdir "$W/bin" && cp "$B/src/mixnode" "$B/src/mixmail" "$W/bin/" && chmod -R a+rX "$W/bin" || exit 1
u() { "${AS[@]}" "$@"; }
export MIXMAIL_HOME=$W/mm

for i in 1 2 3 4 5; do
	n=n$i
	u mkdir "$W/$n" || exit 1
	{
		echo "name = $n"
		echo "address = $n@mix-$n.test"
		echo "spool_dir = $W/$n/spool"
		echo "replay_capacity = 2000"
		echo "max_message_size = 2M"
		[ $i -eq 5 ] && echo "exit = yes"
	} | u sh -c "cat > '$W/$n/mixnode.conf'" || exit 1
	u "$W/bin/mixnode" -c "$W/$n/mixnode.conf" init >/dev/null || exit 1
	u "$W/bin/mixnode" -c "$W/$n/mixnode.conf" publish >/dev/null || exit 1
	u "$W/bin/mixmail" import "$W/$n/spool/descriptor" >/dev/null || exit 1
done

# body FILE BYTES: ASCII text in lines of 72
body() {
	u sh -c "awk -v n=$2 'BEGIN { l = \"\"; for (i = 0; i < 71; i++) l = l sprintf(\"%c\", 97 + i % 26);
	    while (n > 72) { print l; n -= 72 } s = \"\"; for (i = 1; i < n; i++) s = s \"z\"; print s }' > '$1'"
}

ms() { date +%s%N; }

# run NAME BYTES RUNS
run() {
	local name=$1 bytes=$2 runs=$3 i t0 t1 d mails rss
	body "$W/$name.txt" "$bytes"
	: >"$W/$name.times"
	for i in $(seq 1 "$runs"); do
		d=$W/dump-$name-$i
		u mkdir "$d" || exit 1
		t0=$(ms)
		u "$W/bin/mixmail" -s "bench" -l n1,n2,n3,n4,n5 --dump "$d" bench@sink.test \
		    <"$W/$name.txt" || { echo "run-mixmail.sh: mixmail failed"; exit 1; }
		t1=$(ms)
		echo $(((t1 - t0) / 1000)) >>"$W/$name.times"
		mails=$(ls "$d" | wc -l)
		rm -rf "$d"
	done
	rss=-
	if [ -x /usr/bin/time ]; then
		d=$W/dump-$name-rss
		u mkdir "$d" || exit 1
		rss=$(u /usr/bin/time -f %M "$W/bin/mixmail" -s bench -l n1,n2,n3,n4,n5 --dump "$d" \
		    bench@sink.test <"$W/$name.txt" 2>&1 >/dev/null | tail -n 1)
		rss="$rss KiB"
	fi
	sort -n "$W/$name.times" | awk -v name="$name" -v bytes="$bytes" -v mails="$mails" -v rss="$rss" '
	    { t[NR] = $1 }
	    END { printf "%-8s %8d bytes  %3d mails  median %8.1f ms  slowest %8.1f ms  (%d runs)  peak RSS %s\n",
	          name, bytes, mails, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000, NR, rss }'
}

echo "mixmail --dump, 5 hops, $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
run small 1000 "$RUNS"
run 1MiB 1048576 $((RUNS < 5 ? RUNS : 5))
