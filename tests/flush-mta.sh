#!/bin/bash
# flush-mta.sh - `mixnode flush` handing mail to a real Postfix.
#
# A private Postfix on 127.0.0.1 (tests/mta-lib.sh) is the relay of an
# exit node. Cases:
#   1. one round with final-hop mails to a recipient Postfix takes, one it
#      defers (450) and one it refuses (550), and a packet for another
#      node: the good ones arrive exactly once, the 450 waits in defer/
#      (out_temp), the 550 is kept in failed/ (out_failed); one SMTP
#      session for the round;
#   2. Postfix stopped for a round: every mail waits in defer/, nothing is
#      lost; Postfix started again, the next due run delivers each exactly
#      once;
#   3. the 450 recipient keeps refusing: after retry_max_age the entry
#      goes to failed/, never silently away.
# Needs root and Postfix (skipped otherwise). Traffic goes to 127.0.0.1
# only; every wait is bounded.

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: flush-mta: not root (a private Postfix needs root)"
	exit 77
fi
if [ ! -x /usr/sbin/postfix ] || ! id -u postfix >/dev/null 2>&1; then
	echo "SKIP: flush-mta: postfix is not installed (apt-get install postfix)"
	exit 77
fi

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

asan_libesmtp	# libESMTP's false positive under ASan (lib.sh)

mta_tmpdir || hard "cannot make the MTA directory"
PORT=$(mta_free_port) || hard "no free port"
mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "the private Postfix did not start"; finish; }
ok "private Postfix on 127.0.0.1:$PORT"

node_make x1 "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = smtp://127.0.0.1:$PORT" "exit = yes" \
    "exit_from = Anonymous <nobody@mix-x1.test>" "retry_max_age = 2h" || finish
node_make x2 || finish
DX1=$(node_desc x1)
DX2=$(node_desc x2)
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"

flush() {
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf x1)" flush >"$T/x1/flush.out" 2>&1
	RC=$?
	cat "$T/x1/flush.out" >>"$T/x1/flush.log"
	[ "$RC" -eq 0 ] || sed 's/^/  | flush: /' "$T/x1/flush.out"
}
spool_count() { ls -A "$(node_spool x1)/$1" | grep -c .; }
sink_files() { awk -v r="$1" '$3 == r { print $1 }' "$MTA_DIR/sink/index" 2>/dev/null; }

# deliver NAME TO SUBJECT: a final-hop packet for x1 into its pool
deliver() {
	as_user sh -c "{ printf '\001\001'; printf 'To: %s\nSubject: %s\n\nbody of %s\n' '$2' '$3' '$3'; } > '$M/$1.b'"
	mkpacket -B "$M/$1.b" "$DX1" >"$M/$1" 2>/dev/null || not_ok "mkpacket $1"
	receive x1 "$M/$1"
}

# --- 1. 250, 450 and 550 in one round ---------------------------------------------
deliver a1 ok1@sink.test "good one"
deliver a2 defer@sink.test "deferred one"
deliver a3 reject@sink.test "refused one"
deliver a4 ok2@sink.test "good two"
mkpacket "$DX1" "$DX2" >"$M/fw" 2>/dev/null && receive x1 "$M/fw"
conns=$(mta_connections "$MTA_DIR")
snap x1
flush
expect_rc "mixed round: flush" 0
delta x1 "out_deliver=2 out_forward=1 out_temp=1 out_failed=1 rounds=1 pool_size=5" "mixed round"
mta_sink_wait "$MTA_DIR" 3 30 || not_ok "mixed round: not all delivered"
mta_wait_queue_empty "$MTA_DIR" 30 || not_ok "mixed round: queue not empty"
expect_eq "mixed round: ok1 got it once" "$(sink_files ok1@sink.test | grep -c .)" 1
expect_eq "mixed round: ok2 got it once" "$(sink_files ok2@sink.test | grep -c .)" 1
expect_eq "mixed round: x2 got its packet" "$(sink_files "$(node_addr x2)" | grep -c .)" 1
expect_eq "mixed round: one SMTP session" "$(mta_connections "$MTA_DIR")" $((conns + 1))
expect_eq "mixed round: the 450 waits in defer/" "$(spool_count defer)" 1
expect_eq "mixed round: the 550 is kept in failed/" "$(spool_count failed)" 1
expect_eq "mixed round: pool, out/, sending/ empty" \
    "$(spool_count pool)$(spool_count out)$(spool_count sending)" 000
f=$(sink_files ok1@sink.test | head -n 1)
grep -q '^From: Anonymous <nobody@mix-x1.test>$' "$MTA_DIR/sink/$f" &&
	ok "mixed round: delivered From is the exit's" || not_ok "mixed round: From"
awk -v s="$(node_addr x1)" '$1 != "" && $2 != s { bad = 1 } END { exit bad }' "$MTA_DIR/sink/index" &&
	ok "mixed round: envelope sender is the node" || not_ok "mixed round: envelope sender"

# --- 2. Postfix stopped for a round -------------------------------------------------
NOW=$(date +%s)
for i in 1 2 3 4 5; do deliver s$i "s$i@sink.test" "while stopped $i"; done
mta_postfix_stop "$MTA_DIR" || not_ok "Postfix did not stop"
before=$(mta_sink_count "$MTA_DIR")
snap x1
flush MIXNODE_TEST_NOW=$NOW
expect_rc "stopped: flush" 0
delta x1 "out_temp=5 rounds=1 pool_size=5" "stopped"
expect_eq "stopped: all 5 (and the 450) wait in defer/" "$(spool_count defer)" 6
mta_postfix_start "$MTA_DIR" "$PORT" || not_ok "Postfix did not start again"
flush MIXNODE_TEST_NOW=$((NOW + 1000))
for i in 1 2 3 4 5; do
	mta_sink_wait "$MTA_DIR" $((before + i)) 30 >/dev/null 2>&1
done
mta_wait_queue_empty "$MTA_DIR" 30 || not_ok "stopped: queue not empty"
bad=0
for i in 1 2 3 4 5; do
	[ "$(sink_files "s$i@sink.test" | grep -c .)" -eq 1 ] || bad=$((bad + 1))
done
expect_eq "stopped: each delivered exactly once after the restart" "$bad" 0
expect_eq "stopped: only the 450 still waits" "$(spool_count defer)" 1

# --- 3. refused for now, for too long ------------------------------------------------
for h in 2 3 4 5 6 7 8; do flush MIXNODE_TEST_NOW=$((NOW + h * 3600 * 4)); done
expect_eq "retry_max_age: defer/ empty" "$(spool_count defer)" 0
expect_eq "retry_max_age: kept in failed/" "$(spool_count failed)" 2
expect_eq "retry_max_age: defer@ never got it" "$(sink_files defer@sink.test | grep -c .)" 0
expect_eq "retry_max_age: reject@ never got it" "$(sink_files reject@sink.test | grep -c .)" 0
finish
