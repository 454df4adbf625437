#!/bin/bash
# faults.sh - `mixnode receive` under trouble: a full file system, a write
# that fails, a missing spool, an unreadable key, a lock held elsewhere,
# and kill -9 at random instants. Every failure must be exit 75 with
# nothing half-committed, and after the MTA's retries every packet must be
# in the pool exactly once (doc/INTERNALS.md, sections 3 and 4).
#
# KILL_ITERATIONS (default 200) sets the length of the kill -9 loop.

# As root, run in a mount namespace of its own, so that the tmpfs below
# disappears with the test even if the test itself is killed
if [ "$(id -u)" -eq 0 ] && [ -z "${MIX_FAULTS_NS:-}" ] &&
    unshare -m --propagation private true 2>/dev/null; then
	MIX_FAULTS_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "${top_srcdir:-.}/tests/lib.sh"

M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"
node_make relay || finish	# the next hop of forward packets
DR=$(node_desc relay)
head -c 15000 /dev/zero | tr '\0' 'b' | fold -w 70 | as_user sh -c "cat > '$M/bigbody'"

# mk FILE MKPACKET-ARGS...: an armored mail in $M/FILE
mk() {
	local f=$1
	shift
	if ! mkpacket "$@" >"$M/$f" 2>"$M/$f.err" || [ ! -s "$M/$f" ]; then
		not_ok "mkpacket $* failed"
		sed 's/^/  | /' "$M/$f.err"
		return 1
	fi
	return 0
}

# state NAME: "pool tmp" counts, to compare before and after
state() { echo "$(pool_count "$1") $(tmp_count "$1")"; }

# rx_fail NAME MAIL DESC: exit 75 and nothing changed in pool/ or tmp/
rx_fail() {
	local s0
	s0=$(state "$1")
	receive "$1" "$2"
	expect_rc "$3" 75
	expect_eq "$3: pool/ and tmp/ unchanged" "$(state "$1")" "$s0"
}

# rx_commit NAME MAIL DESC: exit 0, one new entry, then a replay is dropped
rx_commit() {
	local p0
	p0=$(pool_count "$1")
	snap "$1"
	receive "$1" "$2"
	expect_rc "$3" 0
	expect_eq "$3: pool entries gained" "$(($(pool_count "$1") - p0))" 1
	receive "$1" "$2"
	expect_rc "$3, sent again" 0
	expect_eq "$3, sent again: pool entries gained" "$(($(pool_count "$1") - p0))" 1
	delta "$1" "in_forward=1 drop_replay=1" "$3, then sent again"
	expect_eq "$3: tmp/ empty" "$(tmp_count "$1")" 0
}

echo "--- (a) full file system: a small tmpfs"
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: cannot mount a tmpfs; the injected write failure below stands in"
else
	mnt=$T/fsfull
	as_user mkdir "$mnt"
	if mount -t tmpfs -o "size=1m,mode=0700,uid=$(id -u mixtest),gid=$(id -g mixtest)" tmpfs "$mnt" 2>"$T/mount.err"; then
		MOUNTS="$MOUNTS $mnt"
		NODE_SPOOL=$mnt/spool node_make full || finish
		Df=$(node_desc full)
		mk f0.eml "$Df" "$DR" && rx_commit full "$M/f0.eml" "tmpfs spool, space left"
		mk f1.eml "$Df" "$DR" && mk f2.eml "$Df" "$DR" || finish
		# Fill it to the last block
		dd if=/dev/zero of="$mnt/filler" bs=4k >/dev/null 2>&1
		echo "filled: $(df -k --output=avail "$mnt" | tail -1 | tr -d ' ') KB free"
		rx_fail full "$M/f1.eml" "tmpfs spool, no block free"
		# Room for the file to be created and written in part
		truncate -s -8K "$mnt/filler"
		rx_fail full "$M/f2.eml" "tmpfs spool, 8 KB free (a write fails midway)"
		rm -f "$mnt/filler"
		rx_commit full "$M/f1.eml" "tmpfs spool, space freed, first mail retried"
		rx_commit full "$M/f2.eml" "tmpfs spool, space freed, second mail retried"
		pool_check full "tmpfs spool"
	else
		echo "cannot mount a tmpfs here ($(head -1 "$T/mount.err")); the injected write failure below stands in"
	fi
fi

echo "--- (a) injected write failure: ulimit -f (EFBIG)"
node_make bad "exit = yes" || finish
Dl=$(node_desc bad)
if mk l1.eml "$Dl" "$DR" && mk l2.eml -B "$M/bigbody" "$Dl"; then
	for m in l1 l2; do
		s0=$(state bad)
		# SIGXFSZ ignored: the write then fails with EFBIG instead of
		# killing the process. 8 blocks of 1024 bytes: a pool entry
		# (forward 20.6 KB, this deliver 15 KB) cannot be written whole.
		( trap '' XFSZ; ulimit -f 8; exec "${AS[@]}" "$T/bin/mixnode" -c "$(node_conf bad)" receive \
			"$HOOK_SENDER" "$(node_addr bad)" <"$M/$m.eml" >/dev/null 2>"$T/bad/last.err" )
		RC=$?
		cat "$T/bad/last.err" >>"$T/bad/hook.err"
		expect_rc "file size limit 8 KB ($m)" 75
		expect_eq "file size limit 8 KB ($m): pool/ and tmp/ unchanged" "$(state bad)" "$s0"
	done
	rx_commit bad "$M/l1.eml" "limit lifted, forward retried"
	p0=$(pool_count bad)
	receive bad "$M/l2.eml"
	expect_rc "limit lifted, deliver retried" 0
	expect_eq "limit lifted, deliver retried: pool entries gained" "$(($(pool_count bad) - p0))" 1
	pool_check bad "after a write failure"
fi

echo "--- (b) a missing spool, an unreadable key, an unwritable tmp/, a held lock"
mk g1.eml "$Dl" "$DR" || finish
s0=$(state bad)
as_user mv "$(node_spool bad)" "$T/bad/spool.away"
receive bad "$M/g1.eml"
expect_rc "spool directory missing" 75
as_user mv "$T/bad/spool.away" "$(node_spool bad)"
expect_eq "spool directory missing: nothing committed" "$(state bad)" "$s0"
for k in "$(node_spool bad)"/keys/*; do
	kn=keys/$(basename "$k")
	snap bad
	as_user chmod 000 "$k"
	rx_fail bad "$M/g1.eml" "$kn unreadable"
	delta bad "tempfail=1" "$kn unreadable"
	as_user chmod 600 "$k"
done
as_user chmod 000 "$(node_spool bad)/keys"
rx_fail bad "$M/g1.eml" "keys/ unreadable"
as_user chmod 700 "$(node_spool bad)/keys"
as_user chmod 500 "$(node_spool bad)/tmp"
rx_fail bad "$M/g1.eml" "tmp/ not writable"
as_user chmod 700 "$(node_spool bad)/tmp"
as_user chmod 500 "$(node_spool bad)/pool"
rx_fail bad "$M/g1.eml" "pool/ not writable"
as_user chmod 700 "$(node_spool bad)/pool"
if [ "$(id -u)" -eq 0 ]; then
	# A hook misconfigured to run as root refuses, with 75: any other
	# status would make the MTA bounce the mail
	s0=$(state bad)
	"$T/bin/mixnode" -c "$(node_conf bad)" receive <"$M/g1.eml" >/dev/null 2>"$T/bad/root.err"
	RC=$?
	expect_rc "the hook run as root" 75
	expect_eq "the hook run as root: pool/ and tmp/ unchanged" "$(state bad)" "$s0"
fi
rx_commit bad "$M/g1.eml" "everything restored, mail retried"

echo "--- (c) a lost replay cache is never made again empty"
rpl=$(ls "$(node_spool bad)"/replay/*.rpl | head -n 1)
as_user mv "$rpl" "$T/bad/cache.away"
mixnode -c "$(node_conf bad)" keys >"$T/bad/keys.out" 2>&1
expect_eq "keys with a live key's cache lost: exit status" "$?" 75
grep -q "replay cache of live mix key [0-9a-f]* is missing" "$T/bad/keys.out" &&
	ok "keys names the key whose cache is lost" ||
	{ not_ok "keys does not say the cache is lost"; sed 's/^/  | /' "$T/bad/keys.out"; }
[ -e "$rpl" ] && not_ok "keys made a new empty cache for a live key" ||
	ok "keys made no new cache"
mixnode -c "$(node_conf bad)" init >/dev/null 2>&1
expect_eq "init with a live key's cache lost: exit status" "$?" 75
[ -e "$rpl" ] && not_ok "init made a new empty cache for a live key" || ok "init made no new cache"
rx_fail bad "$M/g1.eml" "a pooled packet again, its key's cache lost"
as_user mv "$T/bad/cache.away" "$rpl"
mixnode -c "$(node_conf bad)" keys >/dev/null 2>&1
expect_eq "keys with the cache back" "$?" 0
snap bad
receive bad "$M/g1.eml"
expect_rc "the cache back, the packet again" 0
delta bad "drop_replay=1" "the cache back, the packet again"

# The MIME helper (mixnode-mime) missing or failing: a mail that needs it
# is kept by the MTA (75); a mail whose raw text holds the packet does not
# need it. Then a crashing helper: the same input would crash it on every
# retry, so that mail is dropped (counted as drop_limit), not kept for ever.
if mk m1.eml -e mime-base64 "$Dl" "$DR" && mk m2.eml "$Dl" "$DR"; then
	# $T/bin belongs to whoever runs the tests, not to the test user
	mv "$T/bin/mixnode-mime" "$T/bin/mixnode-mime.away"
	snap bad
	rx_fail bad "$M/m1.eml" "MIME helper missing, base64 mail"
	delta bad "tempfail=1" "MIME helper missing, base64 mail"
	rx_commit bad "$M/m2.eml" "MIME helper missing, plain mail"
	printf '#!/bin/sh\nexit 75\n' >"$T/bin/mixnode-mime"
	chmod 755 "$T/bin/mixnode-mime"
	rx_fail bad "$M/m1.eml" "MIME helper exits 75"
	printf '#!/bin/sh\nkill -SEGV $$\n' >"$T/bin/mixnode-mime"
	snap bad
	receive bad "$M/m1.eml"
	expect_rc "MIME helper crashes" 0
	delta bad "drop_limit=1" "MIME helper crashes"
	mv -f "$T/bin/mixnode-mime.away" "$T/bin/mixnode-mime"
	rx_commit bad "$M/m1.eml" "MIME helper restored, base64 mail retried"
fi

# The replay cache lock held by another process: 75 after lock_timeout
NODE_LOCK_TIMEOUT=1s node_make held || finish
Dh=$(node_desc held)
if mk h0.eml "$Dh" "$DR" && mk h1.eml "$Dh" "$DR"; then
	rx_commit held "$M/h0.eml" "lock test node"
	holders=
	for c in "$(node_spool held)"/replay/*; do
		[ -f "$c" ] || continue
		# The holder execs sleep with the locked descriptor open, so
		# that killing $! releases the lock
		"${AS[@]}" bash -c 'exec 8<"$1" && flock -x 8 && exec sleep 120' holder "$c" \
			</dev/null >/dev/null 2>&1 &
		holders="$holders $!"
		BGPIDS="$BGPIDS $!"
		for i in $(seq 1 100); do
			as_user flock -n "$c" true || break
			sleep 0.05
		done
	done
	if [ -z "$holders" ]; then
		not_ok "lock test: no replay cache file in replay/"
	else
		rx_fail held "$M/h1.eml" "replay cache lock held elsewhere"
		for p in $holders; do kill "$p"; { wait "$p"; } 2>/dev/null; done
		rx_commit held "$M/h1.eml" "lock released, mail retried"
	fi
fi

echo "--- (c) kill -9 at random instants, then the MTA's retries"
N=${KILL_ITERATIONS:-200}
node_make crash || finish
Dc=$(node_desc crash)
mkdir "$M/k"
for i in $(seq 1 "$N"); do
	mkpacket -e "$(echo plain crlf mime-base64 mime-qp nested | cut -d' ' -f$((i % 5 + 1)))" \
	    "$Dc" "$DR" >"$M/k/$i.eml" 2>/dev/null || { not_ok "mkpacket for kill loop ($i)"; finish; }
done
# The hook's typical run time: the median of seven runs of other packets,
# timed as the loop starts them (fork, setpriv, exec, commit, exit)
for i in 1 2 3 4 5 6 7; do mk "w$i.eml" "$Dc" "$DR" || finish; done
for i in 1 2 3 4 5 6 7; do
	t_a=$(date +%s%N)
	"${AS[@]}" "$T/bin/mixnode" -c "$(node_conf crash)" receive <"$M/w$i.eml" >/dev/null 2>&1 &
	wait $!
	t_b=$(date +%s%N)
	echo $(((t_b - t_a) / 1000))
done | sort -n >"$T/runs"
run_us=$(sed -n 4p "$T/runs")
[ "$run_us" -ge 1000 ] || run_us=1000
[ "$run_us" -le 900000 ] || run_us=900000
seed=${KILL_SEED:-$$}
RANDOM=$seed
echo "hook run times (us): $(tr '\n' ' ' <"$T/runs"); kill delays uniform in [0, $run_us] us; seed $seed"
mkfifo "$T/never" && exec 9<>"$T/never"	# read -t on it only times out
base=$(pool_count crash)
killed=0 finished=0 retries=0 resends=0 bad=0 mismatch=0 late=0

# kill_retry MAIL POOL-BEFORE: one hook killed at a random instant, then
# retried until it exits 0 (at most 5 retries); 1 if it never did
kill_retry() {
	local pid d rc r
	"${AS[@]}" "$T/bin/mixnode" -c "$(node_conf crash)" receive "$HOOK_SENDER" \
	    "$(node_addr crash)" <"$1" >/dev/null 2>>"$T/crash/killed.err" &
	pid=$!
	d=$(((RANDOM * 32768 + RANDOM) % (run_us + 1)))
	[ "$d" -eq 0 ] || read -r -t "$((d / 1000000)).$(printf %06d $((d % 1000000)))" -u 9
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	case $rc in
	137) killed=$((killed + 1)) ;;
	0|75) finished=$((finished + 1)) ;;
	*) bad=$((bad + 1)); not_ok "kill loop: a hook exited $rc" ;;
	esac
	[ "$rc" -eq 0 ] && return 0
	# Killed after its link into pool/: the retry must not add a copy
	[ "$2" -lt 0 ] || [ "$(pool_count crash)" -eq "$2" ] || late=$((late + 1))
	for r in 1 2 3 4 5; do
		retries=$((retries + 1))
		receive crash "$1"
		[ "$RC" -eq 0 ] && return 0
	done
	return 1
}

t_a=$(date +%s)
for i in $(seq 1 "$N"); do
	kill_retry "$M/k/$i.eml" "$(pool_count crash)" || { bad=$((bad + 1)); not_ok "kill loop: mail $i never exited 0 in 5 retries"; }
	if [ "$i" -gt 1 ] && [ $((RANDOM % 4)) -eq 0 ]; then
		resends=$((resends + 1))
		kill_retry "$M/k/$((RANDOM % (i - 1) + 1)).eml" -1 ||
			{ bad=$((bad + 1)); not_ok "kill loop: a resent mail never exited 0 in 5 retries"; }
	fi
	# Every packet so far exactly once, after every round
	if [ "$(pool_count crash)" -ne $((base + i)) ] && [ "$mismatch" -eq 0 ]; then
		mismatch=$i
		not_ok "kill loop: after mail $i the pool holds $(($(pool_count crash) - base)) of its packets"
	fi
	[ "$bad" -lt 10 ] || { not_ok "kill loop: stopped after 10 failures"; break; }
done
t_b=$(date +%s)
echo "kill loop: $N packets, $resends resends, $killed hooks killed, $finished finished before the kill, $retries retries, $((t_b - t_a)) s"
expect_eq "kill loop: every packet in the pool exactly once" "$(($(pool_count crash) - base))" "$N"
expect_eq "kill loop: hooks killed (some must be)" "$([ "$killed" -gt $((N / 10)) ] && echo many || echo "only $killed")" many
pool_check crash "kill loop"
if mixnode -c "$(node_conf crash)" check >"$T/crash/check.out" 2>&1; then
	ok "kill loop: mixnode check finds no problem"
else
	not_ok "kill loop: mixnode check finds problems"
	sed 's/^/  | /' "$T/crash/check.out"
fi
echo "kill loop: new packets already in pool/ when their hook was killed: $late"
echo "kill loop: stray files left in tmp/ by killed hooks: $(tmp_count crash)"
# Every mail again: each one is now a replay
snap crash
bad=0
for i in $(seq 1 "$N"); do
	receive crash "$M/k/$i.eml"
	[ "$RC" -eq 0 ] || bad=$((bad + 1))
done
expect_eq "kill loop, every mail sent again: hooks that did not exit 0" "$bad" 0
delta crash "drop_replay=$N" "kill loop, every mail sent again"
expect_eq "kill loop, every mail sent again: pool unchanged" "$(($(pool_count crash) - base))" "$N"

echo "--- the hook's messages"
cat "$T"/*/hook.err "$T/crash/killed.err" >"$T/all.err" 2>/dev/null
{
	for d in "$T"/*/mixnode.conf; do n=$(basename "$(dirname "$d")"); node_addr "$n"; pool_names "$n"; done
	echo "$HOOK_SENDER"
	echo "BEGIN MIXMAIL"
} | grep -v '^$' | LC_ALL=C sort -u >"$T/secrets"
expect_eq "hook messages naming an address or entry" "$(grep -F -c -f "$T/secrets" "$T/all.err")" 0

finish
