#!/bin/bash
# chaos.sh - crashes and hostile surroundings that faults.sh, receive.sh
# and flush.sh leave out (issue 7; doc/TESTING.md maps every item):
#
#   1. key rotation killed: `mixnode keys` and `publish` killed with
#      kill -9 at random instants while the clock (MIXNODE_TEST_NOW) walks
#      through key windows of one day; after each kill the descriptor left
#      is whole, a later run finishes, keys/ and replay/ match (no tmp-
#      leftover, no key without its cache, no orphan cache), and a packet
#      for every key in the descriptor is accepted exactly once, a packet
#      made before the kill included;
#   2. reassembly killed: an exit flushing multi-fragment messages killed
#      at random instants; every message is delivered exactly once or,
#      if a kill fell inside its hand-off, kept in failed/ (never twice),
#      and nothing is left that blocks the next message;
#   3. exhausted file descriptors (ulimit -n) for receive, keys and
#      flush: 75 and nothing changed, or success; nothing lost;
#   4. the clock jumping back and far forward across key windows, pool
#      ages, retry ages and statistics buckets;
#   5. missing and unreadable key files for every command that reads
#      them: 75 or 78 naming the file, nothing changed; a mix key file
#      removed and put back is refused, never given a new empty cache;
#   6. hostile configuration values, one setting at a time (out of range,
#      overflowing, wrong type, control characters, too long, given
#      twice) and hostile whole files: init 78 naming the setting or the
#      file, nothing created; the hook 75;
#   7. zero-length, huge, deeply nested and 8-bit input, on stdin and in
#      the pool.
# A full disk is faults.sh's (receive) and e2e-postfix.sh's (the spool).
#
# The kill delays are random, but no check depends on where a kill lands:
# each is an invariant that must hold wherever it does. CHAOS_SCALE (a
# percentage, default 100) scales every loop; under AddressSanitizer
# (ASAN_OPTIONS set by the Makefile) the default is 35, as the programs
# run several times slower. CHAOS_SEED makes a run repeatable;
# CHAOS_SECTIONS="1 4" runs only those sections.

. "${top_srcdir:-.}/tests/lib.sh"

if [ -n "${ASAN_OPTIONS:-}" ]; then
	SCALE=${CHAOS_SCALE:-35}
	echo "sanitized build (ASAN_OPTIONS is set): loops at $SCALE% of their length"
else
	SCALE=${CHAOS_SCALE:-100}
fi
# CHAOS_SECTIONS (default all) runs only the sections listed, e.g. "1 4"
want() { case " ${CHAOS_SECTIONS:-1 2 3 4 5 6 7} " in *" $1 "*) return 0 ;; esac; return 1; }
scaled() { local n=$(($1 * SCALE / 100)); [ "$n" -ge 3 ] || n=3; echo "$n"; }
seed=${CHAOS_SEED:-$$}
RANDOM=$seed
echo "seed $seed (CHAOS_SEED=$seed repeats the kill instants)"
DAY=86400
T0=$(date +%s)
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"
mkfifo "$T/never" && exec 9<>"$T/never"	# read -t on it only times out
cp "$B/src/mixmail" "$T/bin/" && chmod 0755 "$T/bin/mixmail" || hard "cannot stage mixmail"

# run NAME [ENV=VALUE...] -- ARGS...: mixnode as the test user; $RC, output in $T/NAME/run.out
run() {
	local n=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	as_user env "${envs[@]}" "$T/bin/mixnode" -c "$(node_conf "$n")" "$@" >"$T/$n/run.out" 2>&1
	RC=$?
}
# mk FILE MKPACKET-ARGS...: an armored mail in $M/FILE; 1 on failure
mk() {
	local f=$1
	shift
	mkpacket "$@" >"$M/$f" 2>"$M/$f.err" && [ -s "$M/$f" ] && return 0
	not_ok "mkpacket $* failed: $(head -c 300 "$M/$f.err")"
	return 1
}
spool_count() { ls -A "$(node_spool "$1")/$2" 2>/dev/null | grep -c .; }
# sleep_us N: wait N microseconds without sleep(1) (a read that times out)
sleep_us() { [ "$1" -eq 0 ] || read -r -t "$(($1 / 1000000)).$(printf %06d $(($1 % 1000000)))" -u 9; }
rand_us() { echo $(((RANDOM * 32768 + RANDOM) % ($1 + 1))); }
# median_us CMD...: the median run time of five runs of CMD, at least 1 ms
median_us() {
	local i a b
	for i in 1 2 3 4 5; do
		a=$(date +%s%N)
		"$@" >/dev/null 2>&1
		b=$(date +%s%N)
		echo $(((b - a) / 1000))
	done | sort -n | sed -n 3p | awk '{ print ($1 < 1000) ? 1000 : $1 }'
}
# kill_at US CMD...: CMD in the background, kill -9 after US microseconds;
# $RC its status (137: killed)
kill_at() {
	local us=$1 pid
	shift
	"$@" >/dev/null 2>>"$T/killed.err" &
	pid=$!
	sleep_us "$us"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	RC=$?
}
# spool_sum NAME: a fingerprint of every file's name and contents but the statistics
spool_sum() {
	(cd "$(node_spool "$1")" && find . -type f ! -name stats -print0 | LC_ALL=C sort -z |
	    xargs -0 -r sha256sum) 2>/dev/null | sha256sum | cut -c1-16
}
md() { echo "$T/$1/md"; }
# msgbody J: a whole body (doc/body-format.md) for rJ@sink.test in $M/fdbJ
msgbody() { as_user sh -c "printf '\001\001To: r%s@sink.test\nSubject: fd %s\n\nbody\n' $1 $1 > '$M/fdb$1'"; }
le_uint() { od -An -v -tu8 -j "$2" -N 8 "$1" | tr -d ' '; }

# ---------------------------------------------------------------------------
if want 1; then
echo "--- 1. key rotation killed at random instants"
# Keys of one day, a successor 12 h ahead, one day of grace: the clock
# moves 6 h per round, so most rounds make or retire a key.
node_make rot "exit = yes" "key_lifetime = 1d" "key_publish_ahead = 12h" "key_grace = 1d" ||
	finish
SP=$(node_spool rot)
N=$(scaled 40)
run_us=$(median_us as_user env MIXNODE_TEST_NOW="$T0" "$T/bin/mixnode" -c "$(node_conf rot)" publish)
echo "publish run time $run_us us; $N rounds, kill delays uniform in [0, $run_us] us"

# key_state: "keys caches tmp orphans" of the spool
key_state() {
	local k id nk=0 nc=0 ntmp=0 orphan=0 missing=0
	for k in "$SP"/keys/mix-*.key; do
		[ -e "$k" ] || continue
		nk=$((nk + 1))
		id=${k##*/mix-}; id=${id%.key}
		[ -e "$SP/replay/$id.rpl" ] || missing=$((missing + 1))
	done
	for k in "$SP"/replay/*.rpl; do
		[ -e "$k" ] || continue
		nc=$((nc + 1))
		id=${k##*/}; id=${id%.rpl}
		[ -e "$SP/keys/mix-$id.key" ] || orphan=$((orphan + 1))
	done
	ntmp=$(ls -A "$SP/keys" | grep -c '^tmp-')
	echo "$nk $nc $ntmp $orphan $missing"
}
# accept_once MAIL NOW DESC: committed once (one new entry), then a replay
accept_once() {
	local p0=$(pool_count rot)
	receive rot "$1" MIXNODE_TEST_NOW="$2"
	if [ "$RC" -ne 0 ] || [ "$(pool_count rot)" -ne $((p0 + 1)) ]; then
		rot_bad=$((rot_bad + 1))
		not_ok "$3: exit $RC, pool gained $(($(pool_count rot) - p0)), not 1"
		sed 's/^/  | /' "$T/rot/last.err"
		return 1
	fi
	receive rot "$1" MIXNODE_TEST_NOW="$2"
	if [ "$RC" -ne 0 ] || [ "$(pool_count rot)" -ne $((p0 + 1)) ]; then
		rot_bad=$((rot_bad + 1))
		not_ok "$3, sent again: exit $RC, pool gained $(($(pool_count rot) - p0))"
		return 1
	fi
	accepted=$((accepted + 1))
	return 0
}
rot_bad=0 killed=0 accepted=0 early=0 made=0 retired=0 maxkeys=0
mk held.eml -n "$T0" "$(node_desc rot)" || finish
snap rot
t_a=$(date +%s)
for i in $(seq 1 "$N"); do
	now=$((T0 + i * DAY / 4))
	before=$(ls "$SP/keys" | grep -c '^mix-')
	cmd=$([ $((RANDOM % 2)) -eq 0 ] && echo keys || echo publish)
	kill_at "$(rand_us "$run_us")" as_user env MIXNODE_TEST_NOW="$now" \
	    "$T/bin/mixnode" -c "$(node_conf rot)" "$cmd"
	[ "$RC" -eq 137 ] && killed=$((killed + 1))
	[ "$RC" -eq 137 ] || [ "$RC" -eq 0 ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: $cmd exited $RC"; }
	# Whatever the kill left: the descriptor is whole (mkpacket verifies
	# its signature), and a packet made before the kill, for a key still
	# live, is committed now or deferred (75), never lost or doubled
	if ! mkpacket -n "$now" "$(node_desc rot)" >/dev/null 2>"$M/desc.err"; then
		rot_bad=$((rot_bad + 1))
		not_ok "round $i: the descriptor after a killed $cmd: $(head -c 200 "$M/desc.err")"
	fi
	p0=$(pool_count rot)
	deferred=0
	receive rot "$M/held.eml" MIXNODE_TEST_NOW="$now"
	if [ "$RC" -eq 0 ]; then
		[ "$(pool_count rot)" -eq $((p0 + 1)) ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: a packet made before the kill: pool gained $(($(pool_count rot) - p0))"; }
		accepted=$((accepted + 1))
		receive rot "$M/held.eml" MIXNODE_TEST_NOW="$now"
		[ "$RC" -eq 0 ] && [ "$(pool_count rot)" -eq $((p0 + 1)) ] ||
			{ rot_bad=$((rot_bad + 1)); not_ok "round $i: the same packet again was not a replay"; }
	else
		early=$((early + 1))
		deferred=1
	fi
	# A later run finishes and leaves keys/ and replay/ matching
	run rot MIXNODE_TEST_NOW="$now" -- "$cmd"
	[ "$RC" -eq 0 ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: $cmd after the kill exited $RC"; sed 's/^/  | /' "$T/rot/run.out"; }
	run rot MIXNODE_TEST_NOW="$now" -- publish
	[ "$RC" -eq 0 ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: publish exited $RC"; sed 's/^/  | /' "$T/rot/run.out"; }
	st=$(key_state)
	set -- $st
	[ "$3$4$5" = 000 ] && [ "$1" -eq "$2" ] && [ "$1" -ge 1 ] ||
		{ rot_bad=$((rot_bad + 1)); not_ok "round $i: keys caches tmp orphans missing = $st"; }
	[ "$1" -le "$maxkeys" ] || maxkeys=$1
	# The held packet, if the hook deferred it before the run
	[ "$deferred" -eq 0 ] || accept_once "$M/held.eml" "$now" "round $i: the deferred packet"
	# A fresh packet for every key in the new descriptor, each once
	k=0
	for from in $(awk '$1 == "mix-key" { print $3 }' "$(node_desc rot)"); do
		k=$((k + 1))
		ft=$(date -u -d "$from" +%s)
		[ "$ft" -ge "$now" ] || ft=$now
		mk "r$k.eml" -n "$ft" "$(node_desc rot)" </dev/null &&
			accept_once "$M/r$k.eml" "$now" "round $i: a packet for key $k of the descriptor"
	done
	[ "$k" -ge 1 ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: no key in the descriptor"; }
	if [ $((i % 20)) -eq 0 ]; then
		run rot MIXNODE_TEST_NOW="$now" -- check
		[ "$RC" -eq 0 ] || { rot_bad=$((rot_bad + 1)); not_ok "round $i: mixnode check"; sed 's/^/  | /' "$T/rot/run.out"; }
	fi
	mk held.eml -n "$now" "$(node_desc rot)" || rot_bad=$((rot_bad + 1))
	[ "$rot_bad" -lt 10 ] || { not_ok "key rotation loop: stopped after 10 failures"; break; }
done
t_b=$(date +%s)
echo "key rotation: $N rounds, $killed runs killed, $accepted packets accepted once, $early deferred by a hook (75), most keys at once $maxkeys, $((t_b - t_a)) s"
expect_eq "key rotation loop: failures" "$rot_bad" 0
expect_eq "key rotation loop: runs killed (some must be)" \
    "$([ "$killed" -gt $((N / 10)) ] && echo many || echo "only $killed")" many
# Every packet of the loop was recorded in a cache that is still there or
# was retired with its key; the pool holds each packet once
pool_check rot "key rotation loop"
fi

# ---------------------------------------------------------------------------
if want 2; then
echo "--- 2. an exit reassembling long messages, flush killed at random instants"
node_make ex "exit = yes" "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md ex)" || finish
as_user env MIXMAIL_HOME="$T/mm" "$T/bin/mixmail" import "$(node_desc ex)" >/dev/null 2>&1 ||
	hard "mixmail import"
# long_msg J: the fragments of a 40 KB message to rJ@sink.test, committed at the exit
long_msg() {
	local d=$M/long$1 f
	as_user mkdir "$d"
	{ echo "message $1"; head -c 40000 /dev/zero | tr '\0' 'L' | fold -w 64; } |
	    as_user sh -c "cat > '$d.txt'"
	as_user env MIXMAIL_HOME="$T/mm" "$T/bin/mixmail" -l ex -s "long $1" --dump "$d" \
	    "r$1@sink.test" <"$d.txt" >/dev/null 2>"$d.err" ||
		{ not_ok "mixmail for message $1: $(head -c 300 "$d.err")"; return 1; }
	for f in "$d"/*.eml; do
		receive ex "$f"
		[ "$RC" -eq 0 ] || { not_ok "message $1: a fragment's receive exited $RC"; return 1; }
	done
	nfrag=$(ls "$d"/*.eml | wc -l)
}
# delivered J: how many mails to rJ@sink.test the relay holds
delivered() { grep -l "^To: r$1@sink.test$" "$(md ex)"/new/* 2>/dev/null | wc -l; }
flush_ex() { run ex "$@" -- flush; }
long_msg 0 || finish
a=$(date +%s%N)
flush_ex
b=$(date +%s%N)
expect_eq "reassembly: flush without a kill" "$RC" 0
expect_eq "reassembly: a message of $nfrag fragments delivered once" "$(delivered 0)" 1
fl_us=$((2 * (b - a) / 1000))
R=$(scaled 20)
KILLS=4
echo "flush run time $(((b - a) / 1000)) us; $R messages, $KILLS kills each, delays in [0, $fl_us] us"
rs_bad=0 killed=0 once=0 uncertain=0 twice=0
for j in $(seq 1 "$R"); do
	long_msg "$j" || { rs_bad=$((rs_bad + 1)); continue; }
	f0=$(spool_count ex failed)
	for k in $(seq 1 "$KILLS"); do
		kill_at "$(rand_us "$fl_us")" as_user "$T/bin/mixnode" -c "$(node_conf ex)" flush
		[ "$RC" -eq 137 ] && killed=$((killed + 1))
	done
	flush_ex
	[ "$RC" -eq 0 ] || { rs_bad=$((rs_bad + 1)); not_ok "message $j: the flush after the kills exited $RC"; sed 's/^/  | /' "$T/ex/run.out"; }
	flush_ex
	d=$(delivered "$j")
	u=$(($(spool_count ex failed) - f0))
	case "$d $u" in
	"1 0") once=$((once + 1)) ;;
	"0 "[1-9]*) uncertain=$((uncertain + 1)) ;;
	*) rs_bad=$((rs_bad + 1)); [ "$d" -le 1 ] || twice=$((twice + 1))
	   not_ok "message $j: delivered $d times, $u new entries in failed/" ;;
	esac
	[ "$(pool_count ex)$(spool_count ex out)$(spool_count ex sending)" = 000 ] ||
		{ rs_bad=$((rs_bad + 1)); not_ok "message $j: pool/, out/ or sending/ not empty"; }
	[ "$rs_bad" -lt 10 ] || { not_ok "reassembly loop: stopped after 10 failures"; break; }
done
echo "reassembly: $R messages, $killed flushes killed, $once delivered once, $uncertain kept in failed/ (a kill inside the hand-off)"
expect_eq "reassembly loop: failures" "$rs_bad" 0
expect_eq "reassembly loop: no message delivered twice" "$twice" 0
expect_eq "reassembly loop: flushes killed (some must be)" \
    "$([ "$killed" -gt $((R * KILLS / 10)) ] && echo many || echo "only $killed")" many
expect_eq "reassembly loop: most messages delivered" "$([ "$once" -ge $((R / 2)) ] && echo yes || echo "only $once")" yes
# Nothing left blocks: the next message goes through at once
long_msg $((R + 1)) && flush_ex
expect_eq "after the loop: a new message delivered once" "$(delivered $((R + 1)))" 1
run ex -- check
expect_rc "after the loop: mixnode check" 0
fi

# ---------------------------------------------------------------------------
if want 3; then
echo "--- 3. exhausted file descriptors (ulimit -n)"
# The smallest limit at which the program starts at all (the dynamic
# loader needs descriptors too); from there up, every run must be 0 or 75
lo=3
while [ "$lo" -lt 64 ] && ! as_user sh -c "ulimit -n $lo && exec '$T/bin/mixnode' --version" >/dev/null 2>&1; do
	lo=$((lo + 1))
done
echo "mixnode starts with $lo descriptors; trying $lo to $((lo + 24))"
node_make fd "exit = yes" "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md fd)" || finish
node_make fd2 || finish
# limited N MAIL: receive with at most N descriptors; $RC
limited() {
	as_user sh -c "ulimit -n $1 && exec '$T/bin/mixnode' -c '$(node_conf fd)' receive" \
	    <"$2" >/dev/null 2>>"$T/fd/hook.err"
	RC=$?
}
fd_bad=0
for style in plain mime-base64; do
	mk "fd-$style.eml" -e "$style" "$(node_desc fd)" || continue
	committed=0 c75=0
	for n in $(seq "$lo" $((lo + 24))); do
		s0="$(pool_count fd) $(tmp_count fd)"
		limited "$n" "$M/fd-$style.eml"
		case $RC in
		0)	if [ "$committed" -eq 0 ]; then
				committed=1
				[ "$(pool_count fd)" -eq $(( ${s0% *} + 1 )) ] ||
					{ fd_bad=$((fd_bad + 1)); not_ok "receive ($style), $n descriptors: exit 0 without one new entry"; }
			else
				[ "$(pool_count fd) $(tmp_count fd)" = "$s0" ] ||
					{ fd_bad=$((fd_bad + 1)); not_ok "receive ($style), $n descriptors: a replay changed the pool"; }
			fi ;;
		75)	c75=$((c75 + 1))
			[ "$(pool_count fd) $(tmp_count fd)" = "$s0" ] ||
				{ fd_bad=$((fd_bad + 1)); not_ok "receive ($style), $n descriptors: 75, but pool/ or tmp/ changed"; } ;;
		*)	fd_bad=$((fd_bad + 1)); not_ok "receive ($style), $n descriptors: exit $RC" ;;
		esac
	done
	echo "receive ($style): 75 at $c75 limits, then committed once"
	expect_eq "receive ($style) under descriptor limits: committed in the end" "$committed" 1
	[ "$c75" -gt 0 ] && ok "receive ($style): some limits give 75" ||
		not_ok "receive ($style): no limit gave 75 (the loop tests nothing)"
done
# keys at a rotation point with few descriptors: 0 or 75, never a key
# without its cache; then a run without a limit finishes
SP=$(node_spool fd)
for n in $(seq "$lo" $((lo + 16))); do
	as_user sh -c "ulimit -n $n && MIXNODE_TEST_NOW=$((T0 + 25 * DAY)) exec '$T/bin/mixnode' -c '$(node_conf fd)' keys" \
	    >/dev/null 2>&1
	RC=$?
	case $RC in 0|75) ;; *) fd_bad=$((fd_bad + 1)); not_ok "keys, $n descriptors: exit $RC" ;; esac
	for k in "$SP"/keys/mix-*.key; do
		id=${k##*/mix-}; id=${id%.key}
		[ -e "$SP/replay/$id.rpl" ] || { fd_bad=$((fd_bad + 1)); not_ok "keys, $n descriptors: a key without its cache"; }
	done
done
run fd MIXNODE_TEST_NOW=$((T0 + 25 * DAY)) -- keys
expect_rc "keys without a limit after the limited runs" 0
# flush: deliveries (exit) and forwards (to fd2); 0 or 75 each time; in
# the end every final-hop mail delivered at most once (or kept in
# failed/), every packet at fd2 exactly once
NF=$(scaled 20)
for i in $(seq 1 "$NF"); do
	msgbody "$i"
	if [ $((i % 2)) -eq 0 ]; then mk "fdp$i" -B "$M/fdb$i" "$(node_desc fd)"
	else mk "fdp$i" -B "$M/fdb$i" "$(node_desc fd)" "$(node_desc fd2)"; fi
	receive fd "$M/fdp$i"
done
p0=$(pool_count fd)
c75=0
for n in $(seq "$lo" $((lo + 30))); do
	[ "$(pool_count fd)$(spool_count fd defer)" != 00 ] || break
	as_user sh -c "ulimit -n $n && exec '$T/bin/mixnode' -c '$(node_conf fd)' flush" >/dev/null 2>"$T/fd/flush.err"
	RC=$?
	case $RC in
	0) ;;
	75) c75=$((c75 + 1)) ;;
	*) fd_bad=$((fd_bad + 1)); not_ok "flush, $n descriptors: exit $RC"; sed 's/^/  | /' "$T/fd/flush.err" ;;
	esac
	[ "$(spool_count fd out)$(spool_count fd sending)" = 00 ] || [ "$RC" -ne 0 ] ||
		{ fd_bad=$((fd_bad + 1)); not_ok "flush, $n descriptors: exit 0 with entries left in out/ or sending/"; }
done
echo "flush: 75 at $c75 limits"
for i in 1 2 3; do run fd MIXNODE_TEST_NOW=$((T0 + 25 * DAY + i * DAY)) -- flush; done
expect_eq "flush after the limited runs: pool/, out/, sending/, defer/ empty" \
    "$(pool_count fd)$(spool_count fd out)$(spool_count fd sending)$(spool_count fd defer)" 0000
dups=0 got=0
for i in $(seq 2 2 "$NF"); do
	c=$(grep -l "^To: r$i@sink.test$" "$(md fd)"/new/* 2>/dev/null | wc -l)
	[ "$c" -le 1 ] || dups=$((dups + 1))
	got=$((got + c))
done
expect_eq "flush under descriptor limits: no final-hop mail twice" "$dups" 0
expect_eq "flush under descriptor limits: final-hop mails delivered or in failed/" \
    $((got + $(spool_count fd failed))) $((NF / 2))
for f in $(grep -L '^To: r[0-9]*@sink.test$' "$(md fd)"/new/* 2>/dev/null); do receive fd2 "$f"; done
expect_eq "flush under descriptor limits: every forwarded packet at the next hop once" \
    "$(pool_count fd2)" $(((NF + 1) / 2))
expect_eq "descriptor limits: failures" "$fd_bad" 0
fi

# ---------------------------------------------------------------------------
if want 4; then
echo "--- 4. the clock jumps back and far forward"
# Default key windows (30 d, successor 7 d ahead, 7 d grace), timed
# mixing every hour, a Maildir relay. Each program runs at the time given.
node_make clk "exit = yes" "mixing = timed" "mix_interval = 1h" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md clk)" || finish
SP=$(node_spool clk)
# The clock of this section starts where the node's first key does
C0=$(le_uint "$SP/keys/$(ls "$SP/keys" | grep '^mix-' | head -n 1)" 88)
ck_bad=0
keyset() { ls "$SP/keys" | grep '^mix-' | LC_ALL=C sort; }
# at NOW CMD...: a mixnode command at that time, exit 0 required
at() {
	local t=$1
	shift
	run clk MIXNODE_TEST_NOW="$t" -- "$@"
	[ "$RC" -eq 0 ] || { ck_bad=$((ck_bad + 1)); not_ok "clock at C0 $(((t - C0) / 3600))h: $* exited $RC"; sed 's/^/  | /' "$T/clk/run.out"; }
}
# kept DESC: every key file of $K is still there
kept() {
	local gone
	gone=$(keyset | LC_ALL=C comm -23 <(echo "$K") -)
	[ -z "$gone" ] && ok "$1: no key destroyed" ||
		{ ck_bad=$((ck_bad + 1)); not_ok "$1: keys destroyed: $gone"; }
}
# stats_sane DESC NOW: the statistics file whole and readable three ways
stats_sane() {
	# the size of the layout (doc/INTERNALS.md 7.1), the same after every jump
	: "${stats_size:=$(stat -c %s "$SP/stats")}"
	[ "$stats_size" -gt 0 ] && [ "$(stat -c %s "$SP/stats" 2>/dev/null)" = "$stats_size" ] ||
		{ ck_bad=$((ck_bad + 1)); not_ok "$1: stats file size $(stat -c %s "$SP/stats"), was $stats_size"; }
	for o in "" --report --json; do
		run clk MIXNODE_TEST_NOW="$2" -- stats $o
		[ "$RC" -eq 0 ] || { ck_bad=$((ck_bad + 1)); not_ok "$1: stats $o exited $RC"; }
	done
}
at $((C0 + 25 * DAY)) keys			# the successor: two keys
K=$(keyset)
expect_eq "clock: two keys before the jumps" "$(echo "$K" | wc -l)" 2
for i in 1 2 3 4 5; do msgbody "c$i"; done
mk c1.eml -B "$M/fdbc1" -n "$C0" "$(node_desc clk)" && mk c2.eml -B "$M/fdbc2" -n "$C0" "$(node_desc clk)" || finish
mk c3.eml -B "$M/fdbc3" -n "$C0" "$(node_desc clk)" || finish
snap clk
receive clk "$M/c1.eml" MIXNODE_TEST_NOW=$((C0 + 2 * DAY))
expect_rc "clock: a packet at C0 + 2d" 0
# Far back: ten days before the first key was made
tb=$((C0 - 10 * DAY))
for c in keys publish flush check; do at "$tb" "$c"; done
kept "clock 10 days back (keys, publish, flush, check)"
stats_sane "clock 10 days back" "$tb"
# Forward into the first key's grace: it still decrypts
tg=$((C0 + 36 * DAY))
for c in keys publish flush; do at "$tg" "$c"; done
kept "clock forward into the first key's grace"
p0=$(pool_count clk)
receive clk "$M/c2.eml" MIXNODE_TEST_NOW="$tg"
expect_rc "clock: a packet for the first key in its grace, after keys and flush" 0
expect_eq "clock: that packet committed" "$(($(pool_count clk) - p0))" 1
receive clk "$M/c1.eml" MIXNODE_TEST_NOW="$tg"
expect_eq "clock: the packet of C0 + 2d again is a replay (its cache survived the jumps)" \
    "$(($(pool_count clk) - p0))" 1
stats_sane "clock forward 36 days" "$tg"
# Far forward: a year on. Every old key's grace is over: retired with its
# cache, as at any other time; a new key is made and published
tf=$((C0 + 400 * DAY))
at "$tf" flush
pool_tf=$(pool_count clk)
for c in keys publish; do at "$tf" "$c"; done
expect_eq "clock a year on: the old keys retired" "$(keyset | LC_ALL=C comm -12 <(echo "$K") - | wc -l)" 0
K2=$(keyset)
receive clk "$M/c3.eml" MIXNODE_TEST_NOW="$tf"
expect_rc "clock a year on: a packet for a retired key" 0
# ...and back again: the key made a year on is kept
for c in keys publish check; do at "$tg" "$c"; done
K=$K2 kept "clock back from a year on"
# The pool: a timed round at C0 + 400d, then back at C0 + 36d: the round
# is due at once (a clock that went back does not hold the pool)
mk c4.eml -B "$M/fdbc4" -n "$tg" "$(node_desc clk)" || finish
receive clk "$M/c4.eml" MIXNODE_TEST_NOW="$tg"
expect_rc "clock: a packet after the jumps" 0
r0=$(stat_get clk rounds)
at "$tg" flush
expect_eq "clock back: a mixing round at once" "$(($(stat_get clk rounds) - r0))" 1
expect_eq "clock back: the pool left in that round" "$(pool_count clk)" 0
# Retry ages: refused for now at tr, then the clock goes back three days:
# the entry waits in defer/ (one place), then goes once, not to failed/
tr=$((C0 + 40 * DAY))
mk c5.eml -B "$M/fdbc5" -n "$tg" "$(node_desc clk)" || finish
receive clk "$M/c5.eml" MIXNODE_TEST_NOW="$tr"
as_user mkdir -p "$(md clk)/tmp" "$(md clk)/new" "$(md clk)/cur"
as_user chmod 0500 "$(md clk)/tmp"
at "$tr" flush
as_user chmod 0700 "$(md clk)/tmp"
expect_eq "clock: refused for now, waits in defer/" "$(spool_count clk defer)" 1
n0=$(ls "$(md clk)/new" | wc -l)
at $((tr - 3 * DAY)) flush
expect_eq "clock 3 days back: the entry in exactly one place (defer/ or sent)" \
    $(($(spool_count clk defer) + $(ls "$(md clk)/new" | wc -l) - n0)) 1
at $((tr + 30 * DAY)) flush
expect_eq "clock 30 days on (past retry_max_age): sent once, not failed" \
    "$(($(ls "$(md clk)/new" | wc -l) - n0)) $(spool_count clk defer) $(spool_count clk failed)" "1 0 0"
stats_sane "after every jump" $((tr + 30 * DAY))
# The counters: every commit and drop counted once, whatever the bucket
delta clk "in_deliver=4 drop_replay=1 drop_key=1 out_deliver=4 out_temp=1 rounds=7 pool_size=4" \
    "clock: totals across the jumps"
expect_eq "clock jumps: failures" "$ck_bad" 0
fi

# ---------------------------------------------------------------------------
if want 5; then
echo "--- 5. missing and unreadable key files, for every command"
node_make kf "exit = yes" "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md kf)" || finish
SP=$(node_spool kf)
msgbody kf && mk kf.eml -B "$M/fdbkf" "$(node_desc kf)" || finish
receive kf "$M/kf.eml"
kf_bad=0
# every command that reads the keys, at a time when keys would rotate
tk=$((T0 + 25 * DAY))
mixkey=$(ls "$SP/keys" | grep '^mix-' | head -n 1)
for f in identity.key names.key "$mixkey" keys; do
	for how in unreadable missing; do
		# a missing mix key is a retired one: below
		[ "$how" = missing ] && { [ "$f" = keys ] || [ "$f" = "$mixkey" ]; } && continue
		p=$SP/keys/$f
		[ "$f" = keys ] && p=$SP/keys
		sum0=$(spool_sum kf)
		if [ "$how" = unreadable ]; then as_user chmod 000 "$p"; else as_user mv "$p" "$T/kf/away"; fi
		for c in keys publish flush check; do
			run kf MIXNODE_TEST_NOW="$tk" -- $c
			case "$c:$RC" in
			check:1|*:75|*:78) ;;
			*) kf_bad=$((kf_bad + 1)); not_ok "$f $how: $c exited $RC"; sed 's/^/  | /' "$T/kf/run.out" ;;
			esac
			# the message names what is wrong
			grep -q -e "$f" "$T/kf/run.out" ||
				{ kf_bad=$((kf_bad + 1)); not_ok "$f $how: $c does not name it"; sed 's/^/  | /' "$T/kf/run.out"; }
		done
		if [ "$how" = unreadable ]; then as_user chmod "$([ "$f" = keys ] && echo 0700 || echo 0600)" "$p"
		else as_user mv "$T/kf/away" "$p"; fi
		# stats may count a temporary failure; nothing else may change
		[ "$(spool_sum kf)" = "$sum0" ] ||
			{ kf_bad=$((kf_bad + 1)); not_ok "$f $how: the spool changed"; }
	done
done
expect_eq "missing and unreadable key files: 75 or 78 naming the file, nothing changed" "$kf_bad" 0
# A mix key file gone is a key retired by hand: keys makes a key valid
# now and deletes the orphan cache. Put back later, the key has no cache
# and is refused (75, naming it) rather than given a new, empty one
as_user mv "$SP/keys/$mixkey" "$T/kf/away"
run kf MIXNODE_TEST_NOW="$tk" -- keys
expect_rc "a mix key file gone: keys" 0
id=${mixkey#mix-}; id=${id%.key}
[ -e "$SP/replay/$id.rpl" ] && not_ok "a mix key file gone: its cache kept" || ok "a mix key file gone: its cache deleted"
as_user mv "$T/kf/away" "$SP/keys/$mixkey"
run kf MIXNODE_TEST_NOW="$tk" -- keys
expect_rc "the mix key file put back: keys" 75
grep -q "live mix key $id is missing" "$T/kf/run.out" && ok "the mix key file put back: keys names the key" ||
	{ not_ok "the mix key file put back: keys does not name the key"; sed 's/^/  | /' "$T/kf/run.out"; }
receive kf "$M/kf.eml"
expect_rc "the mix key file put back: receive" 75
as_user mv "$SP/keys/$mixkey" "$T/kf/away"
# the packet pooled before is not lost: it is delivered
run kf MIXNODE_TEST_NOW="$tk" -- keys
expect_rc "the key retired again: keys" 0
run kf MIXNODE_TEST_NOW="$tk" -- flush
expect_rc "the key retired again: flush" 0
expect_eq "the packet pooled before: delivered" "$(ls "$(md kf)/new" 2>/dev/null | wc -l)$(pool_count kf)" 10
fi

# ---------------------------------------------------------------------------
if want 6; then
echo "--- 6. hostile configuration values, one setting at a time"
# For every setting: values out of range, overflowing, of the wrong type,
# with control characters, too long, and the setting given twice. `init`
# must exit 78 with a message naming the setting and holding no control
# character, and create nothing; the hook (receive) must exit 75.
as_user mkdir "$T/cf"
long=$(head -c 300 /dev/zero | tr '\0' 'x')
huge=99999999999999999999999999
declare -A bad=(
	[name]="1abc UPPER a_b ${long}"
	[address]="noat a@ <x@y.test> a@b@c"
	[spool_dir]="relative/dir /a/../b"
	[relay]="smtp://host smtp://h:99999 ftp://h:25 maildir:rel"
	[max_message_size]="31k 11M 1T -1 4k2"
	[lock_timeout]="0 301 5x 1e3"
	[key_lifetime]="23h 366d 0"
	[key_publish_ahead]="91d -1d"
	[key_grace]="0 23h 91d"
	[replay_capacity]="999 1000000001 -5 0x10"
	[exit]="maybe 2 ja"
	[mixing]="random Threshold"
	[mix_threshold]="0 -1"
	[mix_interval]="0 8d"
	[mix_min_pool]="-1"
	[mix_rate_permille]="0 1001"
	[dummy_per_round]="-1 101"
	[dummy_per_inbound_permille]="-1 1001"
	[dummy_pool_permille]="1001"
	[dummy_hops]="0 17"
	[retry_max_age]="59m 31d"
	[exit_from]="$long"
	[abuse_contact]="$long"
	[exit_max_size]="1023 1097985"
	[exit_max_recipients]="0 101"
	[exit_blocklist]=""
	[exit_header_filter]=""
	[fragment_expire]="59m 31d"
)
run_cf() {
	as_user "$T/bin/mixnode" -c "$T/cf/c.conf" "$@" </dev/null >"$T/cf/out" 2>&1
	RC=$?
}
# cf_case SETTING DESC: $T/cf/c.conf is written; init and receive judged
cf_bad=0 cf_n=0
cf_case() {
	cf_n=$((cf_n + 1))
	run_cf init
	if [ "$RC" -ne 78 ] || ! grep -q "$1" "$T/cf/out" ||
	    LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <"$T/cf/out"); then
		cf_bad=$((cf_bad + 1))
		not_ok "$2: init exited $RC (78 wanted), naming '$1' without control characters"
		head -c 400 "$T/cf/out" | cat -v | sed 's/^/  | /'
	fi
	[ ! -e "$T/cf/spool" ] || { cf_bad=$((cf_bad + 1)); not_ok "$2: init created the spool"; as_user rm -rf "$T/cf/spool"; }
	as_user "$T/bin/mixnode" -c "$T/cf/c.conf" receive <"$M/cf.eml" >/dev/null 2>&1
	RC=$?
	[ "$RC" -eq 75 ] || { cf_bad=$((cf_bad + 1)); not_ok "$2: receive exited $RC (75 wanted)"; }
}
# conf_with SETTING VALUE: a valid base with SETTING = VALUE
conf_with() {
	{
		[ "$1" = name ] || echo "name = cf"
		[ "$1" = address ] || echo "address = cf@mix-cf.test"
		[ "$1" = spool_dir ] || echo "spool_dir = $T/cf/spool"
		printf '%s = %s\n' "$1" "$2"
	} | as_user sh -c "cat > '$T/cf/c.conf'"
}
printf 'To: cf@mix-cf.test\n\nno packet\n' >"$M/cf.eml"
for k in $(as_user "$T/bin/mixnode" config -d | sed 's/ = .*//'); do
	nums="$huge -$huge"
	case $k in exit_from|abuse_contact|exit_blocklist|exit_header_filter) nums= ;; esac
	# A setting added since: control characters, which every type refuses
	[ -n "${bad[$k]+x}" ] || { echo "note: setting $k has no values of its own here"; bad[$k]=; nums=; }
	for v in ${bad[$k]} $nums "$(printf 'a\001b')" "$(printf '\033[31mred')" "$(printf 'x\ty')"; do
		conf_with "$k" "$v"
		cf_case "$k" "$k = $(echo "$v" | cut -c1-20 | cat -v)"
	done
	# twice, with its default both times
	def=$(as_user "$T/bin/mixnode" config -d "$k" | sed 's/^[^=]*= \{0,1\}//')
	{ conf_with "$k" "$def"; as_user sh -c "printf '%s = %s\n' '$k' '$def' >> '$T/cf/c.conf'"; }
	cf_case "$k" "$k given twice"
done
# A policy whose settings are each in range but together need more keys
# than a node may hold
conf_with key_lifetime 1d
as_user sh -c "printf 'key_publish_ahead = 90d\nkey_grace = 90d\n' >> '$T/cf/c.conf'"
cf_case key_lifetime "key_lifetime too short for publish-ahead and grace"
echo "hostile configuration: $cf_n files"
expect_eq "hostile values: init 78 naming the setting, nothing created, receive 75" "$cf_bad" 0
# Whole files: missing, unreadable, a directory, a NUL byte, an unknown
# setting, a line too long, a file too large, binary garbage
whole() {
	run_cf init
	expect_eq "$1: init exit status" "$RC" 78
	grep -q "$T/cf/c.conf" "$T/cf/out" && ok "$1: the message names the file" ||
		{ not_ok "$1: the message does not name the file"; sed 's/^/  | /' "$T/cf/out"; }
	[ ! -e "$T/cf/spool" ] && ok "$1: nothing created" || { not_ok "$1: init created the spool"; as_user rm -rf "$T/cf/spool"; }
	as_user "$T/bin/mixnode" -c "$T/cf/c.conf" receive <"$M/cf.eml" >/dev/null 2>&1
	expect_eq "$1: receive exit status" "$?" 75
}
as_user rm -f "$T/cf/c.conf"
whole "configuration file missing"
conf_with name cf; as_user chmod 000 "$T/cf/c.conf"
whole "configuration file unreadable"
as_user rm -f "$T/cf/c.conf"; as_user mkdir "$T/cf/c.conf"
whole "configuration file a directory"
as_user rmdir "$T/cf/c.conf"
conf_with name cf; as_user sh -c "printf 'exit = n\000o\n' >> '$T/cf/c.conf'"
whole "a NUL byte"
conf_with name cf; as_user sh -c "printf 'no_such_setting = 1\n' >> '$T/cf/c.conf'"
whole "an unknown setting"
conf_with name cf; as_user sh -c "printf 'exit_from = %s\n' '$(head -c 2000 /dev/zero | tr '\0' z)' >> '$T/cf/c.conf'"
whole "a line of 2000 bytes"
as_user sh -c "{ echo 'name = cf'; head -c 300000 /dev/zero | tr '\0' '#'; } > '$T/cf/c.conf'"
whole "a file of 300 KB"
as_user sh -c "head -c 4096 /dev/urandom > '$T/cf/c.conf'"
whole "4 KB of random bytes"
fi

# ---------------------------------------------------------------------------
if want 7; then
echo "--- 7. zero-length, huge, deeply nested and 8-bit input"
node_make in "exit = yes" "mixing = threshold" "mix_threshold = 1" \
    "dummy_per_round = 0" "dummy_per_inbound_permille = 0" "relay = maildir:$(md in)" || finish
# rx_drop FILE DESC COUNTERS...: exit 0, one of the counters +1, pool unchanged
rx_drop() {
	local f=$1 desc=$2 got p0
	shift 2
	p0=$(pool_count in)
	snap in
	receive in "$f"
	expect_rc "$desc" 0
	stats_dump in >"$T/in/now"
	got=$(LC_ALL=C join "$T/in/snap" "$T/in/now" | awk '$3 != $2 { printf "%s%s=%d", s, $1, $3 - $2; s = " " }')
	case " $* " in
	*" $got "*) ok "$desc: counted as $got" ;;
	*) not_ok "$desc: counter changes '$got', wanted one of: $*" ;;
	esac
	expect_eq "$desc: pool and tmp/ unchanged" "$(pool_count in) $(tmp_count in)" "$p0 0"
}
head -c $((64 * 1024 * 1024)) /dev/zero | tr '\0' 'A' | fold -w 76 >"$M/huge.eml"
rx_drop "$M/huge.eml" "64 MB on stdin (max_message_size 64k)" drop_oversize=1
: >"$M/zero.eml"
rx_drop "$M/zero.eml" "zero-length mail" drop_nopacket=1
# 1,000 nested multiparts and 900 nested message/rfc822 parts (within
# max_message_size), then 20,000 levels straight into the MIME helper
deep() {
	printf 'To: x@y.test\nMIME-Version: 1.0\n'
	for i in $(seq 1 "$1"); do printf 'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' "$i" "$i"; done
	printf 'Content-Type: text/plain\n\nnothing\n'
}
deep 20000 >"$M/deep20k.eml"
as_user "$T/bin/mixnode-mime" <"$M/deep20k.eml" >/dev/null 2>&1
RC=$?
case $RC in 3|5) ok "mixnode-mime, 20,000 nested multiparts: exit $RC" ;;
*) not_ok "mixnode-mime, 20,000 nested multiparts: exit $RC (3 or 5 wanted)" ;; esac
{ printf 'To: x@y.test\nMIME-Version: 1.0\n'
  for i in $(seq 1 1000); do printf 'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' "$i" "$i"; done
  printf 'Content-Type: text/plain\n\nnothing\n'; } >"$M/deep.eml"
rx_drop "$M/deep.eml" "1,000 nested multiparts" drop_limit=1 drop_nopacket=1 drop_parse=1
{ printf 'To: x@y.test\nMIME-Version: 1.0\n'
  for i in $(seq 1 900); do printf 'Content-Type: message/rfc822\n\nSubject: %d\nMIME-Version: 1.0\n' "$i"; done
  printf 'Content-Type: text/plain\n\nnothing\n'; } >"$M/deep822.eml"
rx_drop "$M/deep822.eml" "900 nested message/rfc822 parts" drop_limit=1 drop_nopacket=1 drop_parse=1
# A packet in base64 below nine levels of multipart (the bound is 8)
if mk d9.eml -e mime-base64 "$(node_desc in)"; then
	{ printf 'To: x@y.test\nMIME-Version: 1.0\n'
	  for i in $(seq 1 8); do printf 'Content-Type: multipart/mixed; boundary="d%d"\n\n--d%d\n' "$i" "$i"; done
	  sed -n '/^MIME-Version/,$p' "$M/d9.eml" | sed 1d; } >"$M/d9deep.eml"
	rx_drop "$M/d9deep.eml" "a packet below nine levels of multipart" drop_limit=1
fi
# 8-bit garbage around a good packet: headers, lines before and after
# the armor; committed once, then a replay
msgbody in8
if mk g8.eml -B "$M/fdbin8" "$(node_desc in)"; then
	{ printf 'From: \377\376 <\200@\201>\nSubject: \351\000\033[2J\r\nX-8bit: \360\237\222\251\377\n'
	  cat "$M/g8.eml"
	  head -c 3000 /dev/urandom | tr -d '\n' | fold -w 70; echo; } >"$M/g8bit.eml"
	p0=$(pool_count in)
	snap in
	receive in "$M/g8bit.eml"
	expect_rc "a packet among 8-bit garbage" 0
	receive in "$M/g8bit.eml"
	expect_rc "a packet among 8-bit garbage, again" 0
	delta in "in_deliver=1 drop_replay=1" "a packet among 8-bit garbage, twice"
	expect_eq "a packet among 8-bit garbage: one entry" "$(($(pool_count in) - p0))" 1
fi
# The MIME helper alone: more than it reads (10 MB) is a bound, exit 5
head -c $((11 * 1024 * 1024)) /dev/zero | tr '\0' 'B' | fold -w 76 >"$M/11m.eml"
as_user "$T/bin/mixnode-mime" <"$M/11m.eml" >/dev/null 2>&1
expect_eq "mixnode-mime, 11 MB: exit status (a bound hit)" "$?" 5
# On disk: an empty and a 2 GB (sparse) file among the pool entries
SP=$(node_spool in)
as_user sh -c ": > '$SP/pool/00000000000000000000000000000000'"
as_user truncate -s 2G "$SP/pool/ffffffffffffffffffffffffffffffff"
snap in
run in -- flush
expect_rc "flush with an empty and a 2 GB pool entry" 0
expect_eq "both in corrupt/, the good entry delivered" \
    "$(spool_count in corrupt) $(pool_count in) $(ls "$(md in)/new" | wc -l)" "2 0 1"
delta in "corrupt=2 out_deliver=1 rounds=1 pool_size=3" "flush with an empty and a 2 GB pool entry"
rm -f "$M/huge.eml" "$M/11m.eml"
fi

# ---------------------------------------------------------------------------
finish
