#!/bin/bash
# run-e2e.sh - end to end through a private Postfix on 127.0.0.1: packets
# per second from SMTP into the first node's pool (through the shipped
# pipe service of mta-hooks/postfix), and messages per second through a
# whole 3-hop chain into a Maildir (doc/PERFORMANCE.md, section 5).
#
# usage (as root, from the build directory):
#   bash SRCDIR/bench/run-e2e.sh [N [M [REPS]]]
# N packets for the pool figure (default 2000), M messages for the chain
# (default 1000), REPS repetitions of each (default 1), interleaved:
# pool, split, chain, pool, split, chain...
#
# Set-up: a private Postfix (tests/mta-lib.sh); three nodes n1, n2, n3
# (n3 the exit) as the user mixtest, each with mixing = threshold,
# mix_threshold = 1 (every flush sends the whole pool) and no dummies.
# n1's hook is the shipped recipe (mta-hooks/postfix: master.cf, main.cf,
# transport) with only its placeholders replaced; n2 and n3 get the same
# service under the names mixn2 and mixn3. Mail to sink@sink.test goes to
# Postfix's virtual(8) agent, into the Maildir $W/sinkmd/sink. Every mail
# is made beforehand with `mixmail -l n1,n2,n3 --dump` (one message of
# 1,000 bytes each: distinct packets, since replays are dropped).
#
# The figures, each on a line starting with "RESULT":
#   pool   N first-hop mails injected over SMTP to n1 (bench/bench-inject:
#          BENCH_SESSIONS parallel sessions, default 4, each a new
#          connection every 100 mails); the time
#          from the first connection until n1's pool holds N entries, and
#          when the last mail was accepted (SMTP 250).
#   split  the same two halves apart: N other mails injected while Postfix
#          holds n1's mail (an access map HOLD: the SMTP acceptance alone),
#          then released (postsuper -H, postqueue -f) and timed until all
#          are in the pool (Postfix's delivery and the hook alone).
#          BENCH_SPLIT=0 leaves it out.
#   chain  M messages injected to n1, then per hop: wait until the node's
#          pool holds M, run `mixnode flush` (until the pool is empty, at
#          most 5 runs); after n3, wait until the Maildir holds M. The hops
#          run one after the other (store and forward), so the time of each
#          is its own; a network of three machines would overlap them.
# Between figures n1's pool is emptied by deleting its entries and the
# Maildir is emptied; each figure checks that no mail bounced or stayed
# deferred. Every wait is bounded (BENCH_WAIT seconds, default 600).
# The script moves itself (so every process it starts: Postfix, the hooks,
# the flushes, bench-inject) into a cgroup of its own in the cgroup v2
# hierarchy, when there is one (/sys/fs/cgroup/unified or /sys/fs/cgroup;
# no controller is enabled or changed): each figure then also shows the
# CPU time those processes used, per packet or message, how many CPUs
# they kept busy on average, how many CPUs the rest of the machine used
# meanwhile (/proc/stat less the cgroup: the machine is often shared;
# /proc/stat counts clock ticks, so over a window shorter than a few
# seconds this one is off by a tenth of a CPU or more, even below zero),
# and for how much of the time at least one of them waited for the disk
# (the cgroup's io.pressure, "some").
# BENCH_PERF=DIR: `perf record -a -g`, limited to that cgroup, over the
# first pool and the first chain figure, into DIR/pool.data and
# DIR/chain.data (DIR must exist).
# Postfix is stopped, background jobs ended and $W removed on every exit.
set -u
N=${1:-2000}
M=${2:-1000}
REPS=${3:-1}
J=${BENCH_SESSIONS:-4}
WAIT=${BENCH_WAIT:-600}
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(pwd)
H=$S/mta-hooks/postfix
die() { echo "run-e2e.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (a private Postfix needs root)"
for p in src/mixnode src/mixnode-flush src/mixnode-mime src/mixmail bench/bench-inject; do
	[ -x "$B/$p" ] || die "$B/$p is not built (run from the build directory)"
done
[ -x /usr/lib/postfix/sbin/virtual ] || die "Postfix's virtual(8) is missing"
id -u mixtest >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group mixtest || exit 1
MTA_PIPE_USER=mixtest
. "$S/tests/mta-lib.sh"
W=$(mktemp -d /tmp/bench-e2e.XXXXXX) || exit 1
BG=
CG=
cleanup() {
	local p
	set +e
	for p in $BG; do kill "$p" 2>/dev/null; done
	for p in $BG; do wait "$p" 2>/dev/null; done
	mta_cleanup
	rm -rf "$W"
	if [ -n "$CG" ]; then
		echo $$ >"${CG%/*}/cgroup.procs"
		rmdir "$CG" 2>/dev/null || echo "run-e2e.sh: $CG is not empty, left in place" >&2
	fi
}
trap cleanup EXIT
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	if [ -f "$d/cgroup.procs" ] && [ -f "$d/cgroup.subtree_control" ] &&
	    mkdir "$d/mixmail-bench-e2e.$$" 2>/dev/null; then
		CG=$d/mixmail-bench-e2e.$$
		echo $$ >"$CG/cgroup.procs" || { rmdir "$CG"; CG=; }
		break
	fi
done
# cg_snap: the time (ns), the cgroup's CPU time and disk wait (us), and
# the whole machine's busy CPU time (clock ticks)
TICK=$(getconf CLK_TCK)
cg_snap() {
	[ -n "$CG" ] || { echo "0 0 0 0"; return; }
	echo "$(date +%s%N) $(sed -n 's/^usage_usec //p' "$CG/cpu.stat")" \
	    "$(sed -n 's/^some .*total=//p' "$CG/io.pressure")" \
	    "$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)"
}
# cg_say BEFORE COUNT UNIT: what the cgroup used since the snapshot BEFORE
# (its window is a little longer than the figure's: bench-inject's start
# and its reading of the mail files are in it)
cg_say() {
	[ -n "$CG" ] || { echo "(no cgroup: CPU not measured)"; return; }
	echo "$1 $(cg_snap)" | awk -v n="$2" -v unit="$3" -v tick="$TICK" '{
	    w = ($5 - $1) / 1000
	    printf "CPU %.2f ms per %s, %.2f CPUs busy; the rest of the machine: %.2f CPUs;",
	        ($6 - $2) / 1000 / n, unit, ($6 - $2) / w, (($8 - $4) / tick * 1e6 - ($6 - $2)) / w
	    printf " waited for the disk %.0f %% of the time", ($7 - $3) / w * 100 }'
}
chmod 0755 "$W"
mkdir "$W/bin" && cp "$B/src/mixnode" "$B/src/mixnode-flush" "$B/src/mixnode-mime" \
    "$B/src/mixmail" "$B/bench/bench-inject" "$W/bin/" || exit 1
chmod 0755 "$W/bin" "$W"/bin/*
AS=(setpriv --reuid=mixtest --regid=mixtest --init-groups --)
u() { "${AS[@]}" env MIXNODE_LIBEXECDIR="$W/bin" "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }
conf() { echo "$W/$1/mixnode.conf"; }
spool() { echo "$W/$1/spool"; }
count() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null | wc -l; }
pool() { count "$(spool "$1")/pool"; }

# --- Postfix ---------------------------------------------------------------------
mta_tmpdir || exit 1
PORT=$(mta_free_port) || exit 1
E=$MTA_DIR/etc
SINK=$W/sinkmd
mkdir -p "$SINK/sink/tmp" "$SINK/sink/new" "$SINK/sink/cur" && chown -R mixtest:mixtest "$SINK" &&
	chmod -R 0755 "$SINK" || exit 1
mta_postfix_setup "$MTA_DIR" "$PORT" \
    "virtual_mailbox_base = $SINK" "virtual_mailbox_maps = inline:{ sink@sink.test=sink/ }" \
    "virtual_uid_maps = static:$(id -u mixtest)" "virtual_gid_maps = static:$(id -g mixtest)" \
    "virtual_minimum_uid = 1" || exit 1
echo "virtual   unix  - n n - - virtual" >>"$E/master.cf"
printf 'sink.test\tvirtual:\n' >>"$E/transport"
# HOLD for the split figure: this map is filled only while it runs
: >"$E/hold"
postconf -c "$E" -e "smtpd_recipient_restrictions = check_recipient_access texthash:$E/hold, $(postconf -c "$E" -h smtpd_recipient_restrictions)" ||
	exit 1

# The shipped recipe for n1, its placeholders replaced (as tests/hooks.sh)
subst() {
	local n=$1
	sed -e "s|/home/mixnode/mixmail/sbin/mixnode|$W/bin/mixnode|g" \
	    -e "s|/home/mixnode/mixmail/mixnode.conf|$(conf "$n")|g" \
	    -e "s|/usr/local/sbin/mixnode|$W/bin/mixnode|g" \
	    -e "s|/etc/mixmail/mixnode.conf|$(conf "$n")|g" \
	    -e "s|/var/spool/mixnode|$(spool "$n")|g" \
	    -e "s|mix@node\.example|$n@mix-$n.test|g" \
	    -e "s|node\.example|mix-$n.test|g" \
	    -e "s|hash:/etc/postfix/transport|texthash:$E/transport|g" \
	    -e "s|user=mixnode|user=mixtest|g"
}
payload() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1"; }
payload "$H/master.cf" | subst n1 >>"$E/master.cf" || exit 1
payload "$H/transport" | subst n1 >>"$E/transport" || exit 1
while IFS= read -r l; do
	postconf -c "$E" -e "$l" || die "postconf -e '$l'"
done < <(payload "$H/main.cf" | subst n1)
# n2 and n3: the same service and its mixnode_* limits under their own names
for n in n2 n3; do
	payload "$H/master.cf" | subst "$n" | sed "s/^mixnode /mix$n /" >>"$E/master.cf" || exit 1
	printf 'mix-%s.test\tmix%s:\n' "$n" "$n" >>"$E/transport"
	while IFS= read -r l; do
		postconf -c "$E" -e "mix$n${l#mixnode}" || die "postconf -e"
	done < <(payload "$H/main.cf" | grep '^mixnode_')
done
# the staged programs find mixnode-mime and mixnode-flush here
postconf -c "$E" -e "export_environment = TZ MAIL_CONFIG LANG MIXNODE_LIBEXECDIR=$W/bin" || exit 1

# --- the nodes and the sender ------------------------------------------------------
for n in n1 n2 n3; do
	mkdir "$W/$n" && chown mixtest:mixtest "$W/$n" || exit 1
	{
		echo "name = $n"
		echo "address = $n@mix-$n.test"
		echo "spool_dir = $(spool "$n")"
		echo "relay = smtp://127.0.0.1:$PORT"
		echo "mixing = threshold"
		echo "mix_threshold = 1"
		echo "dummy_per_round = 0"
		echo "dummy_per_inbound_permille = 0"
		echo "dummy_pool_permille = 0"
		echo "lock_timeout = 60s"
		echo "replay_capacity = 200000"
		[ "$n" = n3 ] && echo "exit = yes"
	} >"$(conf "$n")"
	chmod 0644 "$(conf "$n")"
	u "$W/bin/mixnode" -c "$(conf "$n")" init >/dev/null || die "$n: init"
	u "$W/bin/mixnode" -c "$(conf "$n")" publish >/dev/null || die "$n: publish"
done
for n in n1 n2 n3; do
	for o in n1 n2 n3; do
		[ "$o" = "$n" ] || u "$W/bin/mixnode" -c "$(conf "$n")" nodes import \
		    "$(spool "$o")/descriptor" >/dev/null || die "$n: nodes import"
	done
done
mkdir -m 0700 "$W/mm" && chown mixtest:mixtest "$W/mm" || exit 1
export MIXMAIL_HOME=$W/mm
printf 'relay = smtp://127.0.0.1:%s\nhops = 3\n' "$PORT" >"$W/mm/mixmail.conf"
chown mixtest:mixtest "$W/mm/mixmail.conf"
u "$W/bin/mixmail" import "$(spool n1)/descriptor" "$(spool n2)/descriptor" \
    "$(spool n3)/descriptor" >/dev/null || die "mixmail import"
awk 'BEGIN { for (i = 0; i < 13; i++) print "This line is the text of a benchmark message, 76 bytes long, for the chain." }' \
    >"$W/body.txt"
chmod 0644 "$W/body.txt"

# gen DIR COUNT: COUNT first-hop mails (one message each) into DIR, in two
# parallel loops; then the list of their files in DIR.list
gen() {
	local d=$1 c=$2 h
	mkdir "$d" && chown mixtest:mixtest "$d" || exit 1
	h=$((c / 2))
	for k in "$h" $((c - h)); do
		u bash -c 'for i in $(seq 1 "$1"); do
			"$0" -s bench -l n1,n2,n3 --dump "$2" sink@sink.test <"$3" || exit 1
		done' "$W/bin/mixmail" "$k" "$d" "$W/body.txt" &
	done
	wait || true
	[ "$(count "$d")" -eq "$c" ] || die "mixmail made $(count "$d") mails in $d, not $c"
	find "$d" -name '*.eml' >"$d.list"
}
t0=$(date +%s)
for r in $(seq 1 "$REPS"); do
	gen "$W/pool$r" "$N"
	[ "${BENCH_SPLIT:-1}" = 0 ] || gen "$W/split$r" "$N"
	gen "$W/chain$r" "$M"
done
echo "# prepared the mails with mixmail --dump in $(( $(date +%s) - t0 )) s"

mta_postfix_start "$MTA_DIR" "$PORT" || exit 1
postconf -c "$E" -n >/dev/null 2>"$W/postconf.err"
[ -s "$W/postconf.err" ] && { echo "# postconf warns:"; cat "$W/postconf.err"; }
echo "# bash bench/run-e2e.sh $N $M $REPS   (Postfix $(postconf -d -h mail_version) on 127.0.0.1:$PORT;" \
    "$J SMTP sessions; $(nproc) CPUs, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'))"
grep -E '^mixnode ' "$E/master.cf" | sed 's/^/# n1 service: /'
postconf -c "$E" -n | grep -E '^mixnode_' | sed 's/^/# n1 limits: /'

# inject ARGS...: bench-inject as mixtest; its key=value lines in $W/inject.out
inject() {
	u "$W/bin/bench-inject" -W "$WAIT" "$@" >"$W/inject.out" 2>"$W/inject.err"
	local rc=$?
	cat "$W/inject.err" >&2
	return $rc
}
val() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" "$W/inject.out" | head -n 1; }

# settled: the queue is empty and nothing bounced or stayed deferred
BOUNCED=0
settled() {
	mta_wait_queue_empty "$MTA_DIR" 60 || die "$1: Postfix's queue did not drain"
	local b
	b=$(mta_bounces "$MTA_DIR")
	[ "$b" -eq "$BOUNCED" ] || die "$1: Postfix bounced $((b - BOUNCED)) mails"
	[ "$(mta_log_count "$MTA_DIR" 'status=deferred')" -eq 0 ] ||
		die "$1: Postfix deferred mail (see $(mta_log "$MTA_DIR"))"
}
clear_pool() { find "$(spool n1)/pool" -mindepth 1 -maxdepth 1 -type f -delete; }
PERFPID=
perf_start() {
	[ -n "${BENCH_PERF:-}" ] && [ "$1" -eq 1 ] || return 0
	if [ -n "$CG" ]; then
		perf record -a -g -e cpu-clock -G "${CG##*/}" -o "$BENCH_PERF/$2.data" \
		    >"$BENCH_PERF/$2.log" 2>&1 &
	else
		perf record -a -g -o "$BENCH_PERF/$2.data" >"$BENCH_PERF/$2.log" 2>&1 &
	fi
	PERFPID=$!
	BG="$BG $PERFPID"
	sleep 1
}
perf_stop() {
	[ -n "$PERFPID" ] || return 0
	kill -INT "$PERFPID"
	wait "$PERFPID" 2>/dev/null
	PERFPID=
}

# --- 1. packets per second into n1's pool ----------------------------------------
fig_pool() {
	local r=$1 l c
	settled "pool $r (before)"
	[ "$(pool n1)" -eq 0 ] || die "n1's pool is not empty"
	l=$(load)
	perf_start "$r" pool
	c=$(cg_snap)
	inject -r "smtp://127.0.0.1:$PORT" -t n1@mix-n1.test -j "$J" -p "$(spool n1)/pool" -n "$N" \
	    <"$W/pool$r.list" || die "pool $r: bench-inject failed"
	c=$(cg_say "$c" "$N" packet)
	perf_stop
	[ "$r" -eq 1 ] && sed -n '/^sent=/q;s/^/# /;p' "$W/inject.out"
	settled "pool $r"
	[ "$(pool n1)" -eq "$N" ] || die "pool $r: n1's pool holds $(pool n1), not $N"
	echo "RESULT pool  rep $r: $N packets, $J SMTP sessions: SMTP accepted all in $(val smtp_s) s" \
	    "($(val smtp_rate)/s); all in n1's pool in $(val pool_s) s: $(val pool_rate) packets/s" \
	    "(pool held $(val pool_at_smtp_end) when SMTP ended) [load $l]"
	echo "       $c"
	clear_pool
}

# --- 1b. the split: SMTP acceptance alone, then the delivery and hook alone -------
fig_split() {
	local r=$1 l l2 a as ar c c2
	settled "split $r (before)"
	printf 'n1@mix-n1.test\tHOLD\n' >"$E/hold"
	postfix -c "$E" reload >/dev/null 2>&1 || die "reload"
	sleep 2
	mta_wait_port 127.0.0.1 "$PORT" 20 || die "no banner after the reload"
	l=$(load)
	c=$(cg_snap)
	inject -r "smtp://127.0.0.1:$PORT" -t n1@mix-n1.test -j "$J" <"$W/split$r.list" ||
		die "split $r: bench-inject failed"
	as=$(val smtp_s)
	ar=$(val smtp_rate)
	c=$(cg_say "$c" "$N" mail)
	a=$(mta_queue_count "$MTA_DIR")
	[ "$a" -eq "$N" ] && [ "$(pool n1)" -eq 0 ] || die "split $r: $a held, pool $(pool n1)"
	: >"$E/hold"
	postfix -c "$E" reload >/dev/null 2>&1 || die "reload"
	sleep 2
	mta_wait_port 127.0.0.1 "$PORT" 20 || die "no banner after the reload"
	l2=$(load)
	c2=$(cg_snap)
	u "$W/bin/bench-inject" -W "$WAIT" -p "$(spool n1)/pool" -n "$N" >"$W/inject.out" 2>&1 &
	BG="$BG $!"
	local wp=$!
	postsuper -c "$E" -H ALL >/dev/null 2>&1 || die "postsuper -H"
	postqueue -c "$E" -f >/dev/null 2>&1
	wait "$wp" || { cat "$W/inject.out"; die "split $r: the pool did not fill"; }
	c2=$(cg_say "$c2" "$N" packet)
	settled "split $r"
	[ "$(pool n1)" -eq "$N" ] || die "split $r: n1's pool holds $(pool n1), not $N"
	echo "RESULT split rep $r: SMTP alone (n1's mail held): $N in $as s: $ar mails/s [load $l]"
	echo "       $c"
	echo "RESULT split rep $r: delivery + hook alone (the held mail released): $N in $(val pool_s) s:" \
	    "$(val pool_rate) packets/s [load $l2]"
	echo "       $c2"
	clear_pool
}

# --- 2. messages per second through the chain n1, n2, n3 -------------------------
fig_chain() {
	local r=$1 l t0 t1 tf k nxt i runs line total c
	settled "chain $r (before)"
	[ "$(count "$SINK/sink/new")" -eq 0 ] || die "the Maildir is not empty"
	l=$(load)
	perf_start "$r" chain
	c=$(cg_snap)
	t0=$(date +%s%N)
	inject -r "smtp://127.0.0.1:$PORT" -t n1@mix-n1.test -j "$J" -p "$(spool n1)/pool" -n "$M" \
	    <"$W/chain$r.list" || die "chain $r: bench-inject failed"
	line="in n1 $(val pool_s) s"
	for k in 1 2 3; do
		t1=$(date +%s%N)
		runs=0
		for i in 1 2 3 4 5; do
			[ "$(pool "n$k")" -gt 0 ] || break
			u "$W/bin/mixnode" -c "$(conf "n$k")" flush >>"$W/flush.log" 2>&1 ||
				die "chain $r: n$k flush failed ($(tail -n 3 "$W/flush.log"))"
			runs=$((runs + 1))
		done
		[ "$(pool "n$k")" -eq 0 ] || die "chain $r: n$k's pool still holds $(pool "n$k")"
		tf=$(( ($(date +%s%N) - t1) / 1000000 ))
		if [ "$k" -lt 3 ]; then
			nxt="$(spool "n$((k + 1))")/pool"
		else
			nxt=$SINK/sink/new
		fi
		u "$W/bin/bench-inject" -W "$WAIT" -p "$nxt" -n "$M" >"$W/inject.out" 2>&1 ||
			{ cat "$W/inject.out"; die "chain $r: after n$k's flush, $nxt did not fill"; }
		line="$line; flush n$k $(awk -v t="$tf" 'BEGIN { printf "%.2f", t / 1000 }') s ($runs run$([ "$runs" -eq 1 ] || echo s))"
		line="$line + $(val pool_s) s until $([ "$k" -lt 3 ] && echo "n$((k + 1))'s pool" || echo "the Maildir") holds $M"
	done
	total=$(( ($(date +%s%N) - t0) / 1000000 ))
	c=$(cg_say "$c" "$M" message)
	perf_stop
	settled "chain $r"
	for k in 1 2 3; do
		for d in pool out sending defer failed; do
			[ "$(count "$(spool "n$k")/$d")" -eq 0 ] || die "chain $r: n$k $d/ holds $(count "$(spool "n$k")/$d")"
		done
	done
	[ "$(count "$SINK/sink/new")" -eq "$M" ] || die "chain $r: the Maildir holds $(count "$SINK/sink/new")"
	echo "RESULT chain rep $r: $M messages through n1,n2,n3 into the Maildir in" \
	    "$(awk -v t="$total" 'BEGIN { printf "%.2f", t / 1000 }') s:" \
	    "$(awk -v t="$total" -v m="$M" 'BEGIN { printf "%.1f", m / (t / 1000) }') messages/s [load $l]"
	echo "       split: $line"
	echo "       $c"
	find "$SINK/sink/new" -mindepth 1 -delete
}

for r in $(seq 1 "$REPS"); do
	fig_pool "$r"
	[ "${BENCH_SPLIT:-1}" = 0 ] || fig_split "$r"
	fig_chain "$r"
done
exit 0
