#!/bin/bash
# e2e-postfix.sh - the whole mixnet through a real Postfix.
#
# A private Postfix on 127.0.0.1 (tests/mta-lib.sh) carries every mail:
# mixmail (the sender) hands its first-hop mails to it over SMTP; it pipes
# the mail of each node's domain into that node's `mixnode receive` (run
# as the test user, its output kept in $T/NAME/hook.err); the nodes'
# flushes hand their mail back to it over SMTP; what the exit delivers
# lands in the sink (every other domain). Three nodes: n1 and n2
# middlemen, n3 the exit; n2's spool is on a small tmpfs. The test drives
# the network in bounded passes: flush n1, n2, n3 in turn, each time
# waiting for Postfix's queue to drain, until nothing is in flight. Cases:
#   1. a message (mixmail -m, sender's header fields with markers) through
#      the explicit chain n1,n2,n3: the exact mail delivered (From is the
#      exit's, its own Date and Message-ID, the abuse contact, To, Subject,
#      Reply-To as sent, the header field list, the body byte for byte),
#      the counters at each hop;
#   2. random chains (the configured 3 hops, and -l '*,*,n3'), several
#      messages: each delivered exactly once, byte-exact;
#   3. copies (-c 2, -c 3): every copy reaches the exit, which delivers
#      one mail per message;
#   4. a 60 KB message: 6 erasure-coded packets, rebuilt at the exit,
#      delivered once, byte-exact;
#   5. attachments (multipart/mixed, a text part, two binary attachments
#      in base64): the body byte for byte, each attachment decoded equal
#      to its file;
#   6. dummies: n1 makes cover traffic through the nodes it knows; Postfix
#      carries it, the last hops count it (in_dummy), the sink gets nothing;
#   7. Postfix down while a node flushes: the mail waits in defer/
#      (out_temp), the flush exits 0; Postfix up again, the next due run
#      sends it, delivered exactly once;
#   8. n2's spool full: its hook exits 75, Postfix defers (the mail stays
#      queued, nothing bounces); space freed and the queue flushed, the
#      message arrives, once;
#   9. garbage (no packet, a damaged armor) and replays (the same
#      first-hop mail again, re-encoded as quoted-printable, inside a MIME
#      attachment) to n1: dropped and counted, the queue drains, nothing
#      bounces; the original arrives once.
# Throughout: no sender header marker reaches the sink; every sink mail
# comes from the exit and goes to a destination of the test, as often as
# expected; Postfix never bounces; no address, subject or body marker
# appears in any node's output, the stats, or mixmail's stderr; no
# content marker in Postfix's log.
# Needs root and Postfix (skipped otherwise). Traffic goes to 127.0.0.1
# only; every wait and loop is bounded. E2E_KEEP=DIR keeps a copy of the
# sink, Postfix's log and the nodes' outputs in DIR, for a look after.

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: e2e-postfix: not root (a private Postfix needs root)"
	exit 77
fi
if [ ! -x /usr/sbin/postfix ] || ! id -u postfix >/dev/null 2>&1; then
	echo "SKIP: e2e-postfix: postfix is not installed (apt-get install postfix)"
	exit 77
fi
command -v base64 >/dev/null 2>&1 || { echo "SKIP: e2e-postfix: no base64 (coreutils)"; exit 77; }

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

[ -x "$B/src/mixmail" ] || hard "$B/src/mixmail is not built"
[ -x "$B/tests/relay-send" ] || hard "$B/tests/relay-send is not built (make check builds it)"
cp "$B/src/mixmail" "$B/tests/relay-send" "$T/bin/" &&
	chmod 0755 "$T/bin/mixmail" "$T/bin/relay-send" || hard "cannot stage mixmail and relay-send"

# libESMTP's false positive under ASan (lib.sh); mta_postfix_hook hands
# ASAN_OPTIONS, suppressions included, to the hooks Postfix runs
asan_libesmtp

NODES="n1 n2 n3"
EXIT_FROM="Anonymous <nobody@mix-n3.test>"
ABUSE=abuse-e2e@mix-n3.test
M=$T/mail
mkdir "$M" && chown "$TESTUSER" "$M" && chmod 0755 "$M" || hard "mkdir $M"
START=$(date +%s)

# What must never appear in a log (any node output, stats, mixmail's
# stderr): the destinations, subjects, bodies and the sender's header
# values. Filled by the cases; CONTENT also must not be in Postfix's log.
ADDRS=()
CONTENT=()
# Header values of the sender's mail that must never travel
DROPPED=()
# declare -A WANT: destination -> how many mails the sink must hold for it
declare -A WANT=()

# --- the MTA and the nodes ---------------------------------------------------------
mta_tmpdir || hard "cannot make the MTA directory"
PORT=$(mta_free_port) || hard "no free port"
mta_postfix_setup "$MTA_DIR" "$PORT" || hard "cannot set up Postfix"

# n2's spool is on a small tmpfs, so that case 8 can fill it (where no
# tmpfs can be mounted, case 8 is left out and says so)
FS=$T/n2fs
as_user mkdir "$FS" || hard "mkdir $FS"
if mount -t tmpfs -o "size=4m,mode=0700,uid=$(id -u "$TESTUSER"),gid=$(id -g "$TESTUSER")" \
    mixtest-e2e "$FS" 2>"$T/mount.err"; then
	MOUNTS="$MOUNTS $FS"
	FSFULL=yes
else
	FSFULL="no: cannot mount a tmpfs here ($(head -n 1 "$T/mount.err"))"
fi

COMMON=("mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0"
    "dummy_per_inbound_permille = 0" "dummy_pool_permille = 0" "dummy_hops = 2"
    "relay = smtp://127.0.0.1:$PORT")
node_make n1 "${COMMON[@]}" || finish
NODE_SPOOL=$FS/spool node_make n2 "${COMMON[@]}" || finish
node_make n3 "${COMMON[@]}" "exit = yes" "exit_from = $EXIT_FROM" "abuse_contact = $ABUSE" || finish
for n in $NODES; do
	others=()
	for o in $NODES; do [ "$o" = "$n" ] || others+=("$(node_desc "$o")"); done
	mixnode -c "$(node_conf "$n")" nodes import "${others[@]}" >"$T/$n/import.out" 2>&1 ||
		{ not_ok "$n: nodes import"; sed 's/^/  | /' "$T/$n/import.out"; }
	mta_postfix_hook "$MTA_DIR" "hook$n" "mix-$n.test" "$T/$n/hook.err" \
	    env "MIXNODE_LIBEXECDIR=$T/bin" "$T/bin/mixnode" -c "$(node_conf "$n")" \
	    receive '${sender}' '${recipient}' || hard "cannot add the pipe of $n"
	ADDRS+=("$(node_addr "$n")")
done
mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "the private Postfix did not start"; finish; }
ok "private Postfix on 127.0.0.1:$PORT, three nodes, hooks as $TESTUSER"
if [ -n "${ASAN_OPTIONS:-}" ]; then
	expect_eq "the hooks get ASAN_OPTIONS in their argv" \
	    "$(grep -cF -- " env ASAN_OPTIONS=$ASAN_OPTIONS " "$MTA_DIR/etc/master.cf")" 3
fi

# The sender
MM=$T/mm
as_user mkdir -m 0700 "$MM" || hard "mkdir $MM"
printf 'relay = smtp://127.0.0.1:%s\nrelay_timeout = 30s\nhops = 3\n' "$PORT" |
    as_user sh -c "cat > '$MM/mixmail.conf'" || hard "mixmail.conf"
ADDRS+=(nobody@localhost.invalid)
: >"$T/mm.all"

# The network's shared helpers (tests/net-lib.sh)
NET_START=$START
NET_LIMIT=900
NET_MTA=Postfix
NET_HOST=mta.mixtest.test
NET_ADDED=Return-Path
net_queue_count() { mta_queue_count "$MTA_DIR"; }
net_queue_wait() { mta_wait_queue_empty "$MTA_DIR" "$1"; }
net_log_tail() { tail -n 5 "$(mta_log "$MTA_DIR")"; }
net_give_up() { finish; }
. "$S/tests/net-lib.sh"

mm import "$(node_desc n1)" "$(node_desc n2)" "$(node_desc n3)"
expect_eq "mixmail imports the three descriptors" "$RC" 0

# --- the sink ---------------------------------------------------------------------
# sink_files RCPT: the sink's files for RCPT
sink_files() { awk -v r="$1" '$3 == r { print $1 }' "$MTA_DIR/sink/index" 2>/dev/null; }
sink_n() { sink_files "$1" | grep -c .; }

# delivered DESC RCPT TO SUBJECT BODYFILE NAMES: the one mail RCPT got is
# the exit's mail of that message, exactly (exit_mail); its file in $DF
delivered() {
	local desc=$1 rcpt=$2 f
	DF=
	expect_eq "$desc: delivered exactly once" "$(sink_n "$rcpt")" 1
	f=$(sink_files "$rcpt" | head -n 1)
	[ -n "$f" ] || return 1
	DF=$MTA_DIR/sink/$f
	expect_eq "$desc: envelope sender is the exit" "$(awk -v f="$f" '$1 == f { print $2 }' "$MTA_DIR/sink/index")" \
	    "$(node_addr n3)"
	exit_mail "$desc" "$DF" "$3" "$4" "$5" "$6"
}

# ================================================================================
# 1. the explicit chain n1,n2,n3, a whole mail (-m) with the sender's fields
# ================================================================================
R1=dest-one-e2e@sink.test
S1="E2E explicit chain 4a7f"
REPLY1=reply-e2e-7c2@example.org
text "$M/b1" 1800 "body-mark-one-e2e-31d"
{
	sender_fields e2e-c1 41
	cat <<EOF
To: Dest One <$R1>
Subject: $S1
Reply-To: $REPLY1
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

EOF
	cat "$M/b1"
} >"$M/m1"
chmod 0644 "$M/m1"
ADDRS+=("$R1" "$REPLY1")
CONTENT+=("$S1" body-mark-one-e2e-31d)
snap_all
conns=$(mta_connections "$MTA_DIR")
mm -v -l n1,n2,n3 -m "$M/m1"
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "1. the first-hop mail stayed in the queue"
expect_eq "1. mixmail -m -l n1,n2,n3: exit status" "$RC" 0
grep -q '^mixmail: 13 header fields of the mail removed' "$T/mm.err" &&
	ok "1. mixmail says it removed the 13 fields that do not travel" || not_ok "1. mixmail's count of removed fields"
expect_eq "1. one packet, chain n1,n2,n3" "$(sed -n 's/^mixmail: packet [0-9]*: chain \([^ ]*\).*/\1/p' "$T/mm.err")" n1,n2,n3
expect_eq "1. mixmail used one SMTP session" "$(mta_connections "$MTA_DIR")" $((conns + 1))
expect_eq "1. n1's hook committed it" "$(pool_count n1)" 1
WANT[$R1]=1
run_net "1. explicit chain" 3
delivered "1. explicit chain" "$R1" "Dest One <$R1>" "$S1" "$M/b1" \
    "From To Subject Reply-To Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
if [ -n "$DF" ]; then
	expect_eq "1. Reply-To travels" "$(hdr "$DF" Reply-To)" "$REPLY1"
	expect_eq "1. Content-Type" "$(hdr "$DF" Content-Type)" "text/plain; charset=us-ascii"
fi
changes n1 "in_forward=1 out_forward=1" "1. n1"
changes n2 "in_forward=1 out_forward=1" "1. n2"
changes n3 "in_deliver=1 out_deliver=1" "1. n3"

# ================================================================================
# 2. random chains: the configured 3 hops, and -l '*,*,n3'
# ================================================================================
snap_all
: >"$T/chains"
for i in 1 2 3 4 5; do
	r=random-$i-e2e@sink.test
	text "$M/b2.$i" $((300 + i * 211)) "body-mark-random-$i-e2e"
	ADDRS+=("$r")
	CONTENT+=("Random chain $i e2e-6c1" "body-mark-random-$i-e2e")
	WANT[$r]=1
	if [ "$i" -le 3 ]; then
		IN=$M/b2.$i mm -v -s "Random chain $i e2e-6c1" "$r"
	else
		IN=$M/b2.$i mm -v -l '*,*,n3' -s "Random chain $i e2e-6c1" "$r"
	fi
	[ "$RC" -eq 0 ] || not_ok "2. message $i: mixmail exited $RC"
	sed -n 's/^mixmail: packet [0-9]*: chain \([^ ]*\).*/\1/p' "$T/mm.err" >>"$T/chains"
done
expect_eq "2. five chains, each two middlemen then n3" \
    "$(grep -Ecx 'n1,n2,n3|n2,n1,n3' "$T/chains")" 5
echo "  (2. chains: $(sort "$T/chains" | uniq -c | tr '\n' ' '))"
run_net "2. random chains"
for i in 1 2 3 4 5; do
	delivered "2. random chain $i" "random-$i-e2e@sink.test" "random-$i-e2e@sink.test" "Random chain $i e2e-6c1" "$M/b2.$i" \
	    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
done
changes n3 "in_deliver=5 out_deliver=5" "2. n3"
expect_eq "2. the middlemen forwarded 10 packets" $(( $(chg n1 out_forward) + $(chg n2 out_forward) )) 10

# ================================================================================
# 3. copies: -c 2 and -c 3; the exit delivers each message once
# ================================================================================
snap_all
for c in 2 3; do
	r=copies-$c-e2e@sink.test
	text "$M/b3.$c" 700 "body-mark-copies-$c-e2e"
	ADDRS+=("$r")
	CONTENT+=("Copies $c e2e-0b7" "body-mark-copies-$c-e2e")
	WANT[$r]=1
	IN=$M/b3.$c mm -v -c "$c" -s "Copies $c e2e-0b7" "$r"
	expect_eq "3. -c $c: mixmail" "$RC" 0
	grep -q "as $c packets (any 1 rebuild it)" "$T/mm.err" && ok "3. -c $c: $c packets" ||
		not_ok "3. -c $c: not $c packets"
done
run_net "3. copies"
for c in 2 3; do
	delivered "3. -c $c" "copies-$c-e2e@sink.test" "copies-$c-e2e@sink.test" "Copies $c e2e-0b7" "$M/b3.$c" \
	    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
done
expect_eq "3. every copy reached the exit" "$(chg n3 in_deliver)" 5
changes n3 "in_deliver=5 out_deliver=2" "3. n3" frag_stored

# ================================================================================
# 4. a 60 KB message: 6 packets, any 4 rebuild it
# ================================================================================
R4=long-e2e@sink.test
text "$M/b4" 60000 "body-mark-long-e2e-a93"
ADDRS+=("$R4")
CONTENT+=("Long message e2e-d05" body-mark-long-e2e-a93)
WANT[$R4]=1
snap_all
IN=$M/b4 mm -v -s "Long message e2e-d05" "$R4"
expect_eq "4. 60 KB: mixmail" "$RC" 0
grep -q "as 6 packets (any 4 rebuild it)" "$T/mm.err" && ok "4. 60 KB: 6 packets" ||
	not_ok "4. 60 KB: not 6 packets"
run_net "4. 60 KB"
delivered "4. 60 KB" "$R4" "$R4" "Long message e2e-d05" "$M/b4" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
expect_eq "4. all 6 fragments reached the exit" "$(chg n3 in_deliver)" 6
[ "$(chg n3 frag_stored)" -ge 4 ] && ok "4. the exit stored $(chg n3 frag_stored) fragments (4 rebuild it)" ||
	not_ok "4. the exit stored $(chg n3 frag_stored) fragments, fewer than 4"
changes n3 "in_deliver=6 out_deliver=1" "4. n3" frag_stored

# ================================================================================
# 5. attachments: multipart/mixed, a text part, two binary attachments
# ================================================================================
R5=attach-e2e@sink.test
S5="Attachments e2e-5e8"
head -c 3072 /dev/urandom >"$M/a.bin"
head -c 1000 /dev/urandom >"$M/b.dat"
chmod 0644 "$M/a.bin" "$M/b.dat"
BOUND="e2e-boundary-$RANDOM$RANDOM"
{
	echo "This is a multi-part message in MIME format."
	echo
	echo "--$BOUND"
	echo "Content-Type: text/plain; charset=us-ascii"
	echo "Content-Transfer-Encoding: 7bit"
	echo
	echo "body-mark-attach-e2e-c44"
	echo "The two files are attached."
	echo "--$BOUND"
	echo "Content-Type: application/octet-stream; name=\"a.bin\""
	echo "Content-Transfer-Encoding: base64"
	echo "Content-Disposition: attachment; filename=\"a.bin\""
	echo
	base64 "$M/a.bin"
	echo "--$BOUND"
	echo "Content-Type: application/octet-stream; name=\"b.dat\""
	echo "Content-Transfer-Encoding: base64"
	echo "Content-Disposition: attachment; filename=\"b.dat\""
	echo
	base64 "$M/b.dat"
	echo "--$BOUND--"
} >"$M/b5"
{
	sender_fields e2e-c5 47
	cat <<EOF
To: $R5
Subject: $S5
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="$BOUND"

EOF
	cat "$M/b5"
} >"$M/m5"
chmod 0644 "$M/b5" "$M/m5"
ADDRS+=("$R5")
CONTENT+=("$S5" body-mark-attach-e2e-c44)
WANT[$R5]=1
mm -m "$M/m5"
expect_eq "5. attachments: mixmail -m" "$RC" 0
grep -q '^mixmail: 13 header fields of the mail removed' "$T/mm.err" &&
	ok "5. mixmail says it removed the 13 fields that do not travel" || not_ok "5. mixmail's count of removed fields"
run_net "5. attachments"
delivered "5. attachments" "$R5" "$R5" "$S5" "$M/b5" "From To Subject Date Message-ID Comments MIME-Version Content-Type"
# part FILE NAME: the base64 text of the attachment called NAME
part() {
	awk -v b="--$BOUND" -v n="filename=\"$2\"" '
	$0 == b || $0 == b "--" { inp = 0; hdr = 1; mine = 0; next }
	hdr && index($0, n) { mine = 1 }
	hdr && $0 == "" { hdr = 0; inp = mine; next }
	inp { print }' "$1"
}
for a in a.bin b.dat; do
	if [ -n "$DF" ] && part "$DF" "$a" | base64 -d 2>/dev/null | cmp -s - "$M/$a"; then
		ok "5. attachment $a decodes to the file sent"
	else
		not_ok "5. attachment $a differs"
	fi
done

# ================================================================================
# 6. dummies: n1 makes cover traffic; Postfix carries it; nothing to the sink
# ================================================================================
C1=$(node_conf n1)
as_user sed -i 's/^dummy_per_round = 0$/dummy_per_round = 4/' "$C1"
grep -qx 'dummy_per_round = 4' "$C1" || hard "cannot switch n1's dummies on"
sink_before=$(mta_sink_count "$MTA_DIR")
HOOKSENT='status=sent \(delivered via hookn[123] service'
hooksent=$(mta_log_count "$MTA_DIR" "$HOOKSENT")
snap_all
for i in 1 2 3 4 5 6; do
	flush n1
	mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "6. n1's dummies stayed queued"
	[ "$(chg n1 out_dummy)" -ge 4 ] && break
done
as_user sed -i 's/^dummy_per_round = 4$/dummy_per_round = 0/' "$C1"
grep -qx 'dummy_per_round = 0' "$C1" || hard "cannot switch n1's dummies off"
run_net "6. dummies"
D=$(chg n1 out_dummy)
[ "$D" -gt 0 ] && ok "6. n1 sent $D dummies" || not_ok "6. n1 sent no dummy in 6 rounds"
expect_eq "6. every dummy ended at its last hop (in_dummy)" \
    $(( $(chg n1 in_dummy) + $(chg n2 in_dummy) + $(chg n3 in_dummy) )) "$D"
expect_eq "6. the first hops forwarded them" $(( $(chg n2 in_forward) + $(chg n3 in_forward) )) "$D"
expect_eq "6. Postfix delivered each to two hooks (dummy_hops 2)" \
    "$(mta_log_count "$MTA_DIR" "$HOOKSENT")" $((hooksent + 2 * D))
expect_eq "6. nothing reached the sink" "$(mta_sink_count "$MTA_DIR")" "$sink_before"
changes n1 "out_dummy=$D" "6. n1"
changes n2 "" "6. n2" in_forward out_forward in_dummy
changes n3 "" "6. n3" in_forward out_forward in_dummy

# ================================================================================
# 7. Postfix down while a node flushes
# ================================================================================
R7=down-e2e@sink.test
text "$M/b7" 900 "body-mark-down-e2e-f12"
ADDRS+=("$R7")
CONTENT+=("Postfix down e2e-8d3" body-mark-down-e2e-f12)
WANT[$R7]=1
snap_all
IN=$M/b7 mm -l n1,n2,n3 -s "Postfix down e2e-8d3" "$R7"
expect_eq "7. mixmail" "$RC" 0
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "7. the first-hop mail stayed queued"
flush n1
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "7. n1's mail stayed queued"
expect_eq "7. the packet is in n2's pool" "$(pool_count n2)" 1
mta_postfix_stop "$MTA_DIR" || not_ok "7. Postfix did not stop"
NOW=$(date +%s)
flush n2 MIXNODE_TEST_NOW=$NOW
expect_rc "7. flush with Postfix down" 0
expect_eq "7. the mail waits in defer/" "$(spool_count n2 defer)$(pool_count n2)$(spool_count n2 out)" 100
expect_eq "7. out_temp counted" "$(chg n2 out_temp)" 1
mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "7. Postfix did not start again"; finish; }
flush n2 MIXNODE_TEST_NOW=$((NOW + 60))
expect_eq "7. not sent before its retry time" "$(spool_count n2 defer)" 1
flush n2 MIXNODE_TEST_NOW=$((NOW + 1000))
expect_rc "7. the due flush" 0
expect_eq "7. defer/ empty after the due flush" "$(spool_count n2 defer)" 0
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "7. n2's mail stayed queued"
run_net "7. Postfix down"
delivered "7. Postfix down" "$R7" "$R7" "Postfix down e2e-8d3" "$M/b7" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
changes n2 "in_forward=1 out_forward=1 out_temp=1" "7. n2"

# ================================================================================
# 8. n2's spool full: the hook defers, Postfix keeps the mail
# ================================================================================
if [ "$FSFULL" = yes ]; then
	R8=full-e2e@sink.test
	text "$M/b8" 900 "body-mark-full-e2e-2c9"
	ADDRS+=("$R8")
	CONTENT+=("Spool full e2e-47a" body-mark-full-e2e-2c9)
	WANT[$R8]=1
	as_user dd if=/dev/zero of="$FS/fill" bs=64k count=100 >/dev/null 2>&1
	as_user dd if=/dev/zero of="$FS/fill2" bs=1k count=4096 >/dev/null 2>&1
	expect_eq "8. n2's file system is full" "$(df --output=avail -k "$FS" | tail -n 1 | tr -d ' ')" 0
	snap_all
	defers=$(mta_log_count "$MTA_DIR" 'status=deferred')
	bounces=$(mta_bounces "$MTA_DIR")
	sink_before=$(mta_sink_count "$MTA_DIR")
	IN=$M/b8 mm -l n2,n1,n3 -s "Spool full e2e-47a" "$R8"
	expect_eq "8. mixmail" "$RC" 0
	mta_log_wait "$MTA_DIR" 'status=deferred' $((defers + 1)) 60 ||
		not_ok "8. Postfix did not defer the mail"
	expect_eq "8. the hook said temporary failure (75)" \
	    "$(tail -n 50 "$(mta_log "$MTA_DIR")" | grep -q 'relay=hookn2.*status=deferred (temporary failure' && echo yes)" yes
	expect_eq "8. the mail stays in Postfix's queue" "$(mta_queue_count "$MTA_DIR")" 1
	expect_eq "8. nothing committed at n2" "$(pool_count n2)$(tmp_count n2)" 00
	sleep 2
	expect_eq "8. nothing bounced" "$(mta_bounces "$MTA_DIR") $(mta_sink_count "$MTA_DIR")" "$bounces $sink_before"
	as_user rm -f "$FS/fill" "$FS/fill2"
	mta_flush "$MTA_DIR"
	mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "8. the queue did not drain after the space was freed"
	expect_eq "8. committed at n2 once the space is back" "$(pool_count n2)" 1
	run_net "8. spool full"
	delivered "8. spool full" "$R8" "$R8" "Spool full e2e-47a" "$M/b8" \
	    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
	changes n2 "in_forward=1 out_forward=1" "8. n2" tempfail
	[ "$(chg n2 tempfail)" -ge 1 ] && ok "8. n2 counted the temporary failure ($(chg n2 tempfail))" ||
		not_ok "8. n2 did not count the temporary failure"
	expect_eq "8. nothing bounced, ever" "$(mta_bounces "$MTA_DIR")" "$bounces"
else
	ok "(8. not run: $FSFULL)"
fi

# ================================================================================
# 9. garbage and replays to n1, from a sender in the sink's domain
# ================================================================================
GS=garbage-e2e@sink.test
R9=replay-e2e@sink.test
ADDRS+=("$GS" "$R9")
CONTENT+=("Replayed e2e-9f0" body-mark-replay-e2e-61b)
WANT[$R9]=1
text "$M/b9" 500 "body-mark-replay-e2e-61b"
G=$T/garbage
as_user mkdir -m 0755 "$G" || hard "mkdir $G"
IN=$M/b9 mm -l n1,n2,n3 -s "Replayed e2e-9f0" --dump "$G" "$R9"
expect_eq "9. the first-hop mail (--dump)" "$RC $(ls "$G" | grep -c '\.eml$')" "0 1"
P=$(ls "$G"/*.eml | head -n 1)
IN=$M/b9 mm -l n1,n2,n3 -s "Replayed e2e-9f0" --dump "$G" "$R9"
Q=$(ls "$G"/*.eml | grep -vxF "$P" | head -n 1)
# the mails, each with a header of its own
hdr9() { printf 'From: %s\nTo: %s\nSubject: test %s\nMessage-ID: <%s.%s@sink.test>\n' "$GS" "$(node_addr n1)" "$1" "$1" "$RANDOM$RANDOM"; }
cp "$P" "$G/r0"
{ hdr9 nopacket; printf '\nNothing to see here: no packet at all.\n'; } >"$G/g1"
# a damaged armor: the other mail with one body line of its armor left out
{ hdr9 armor; echo; armor_of "$Q" | sed '10d'; } >"$G/g2"
cp "$P" "$G/r1"
{
	hdr9 qp
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n'
	# every = as =3D, and each armor line broken in two by a soft line break
	armor_of "$P" | sed 's/=/=3D/g; s/^\([A-Za-z0-9+\/]\{20\}\)\(.\)/\1=\n\2/'
} >"$G/r2"
{
	hdr9 mime
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="rb9"\n\n--rb9\nContent-Type: text/plain\n\nSee the attachment.\n--rb9\n'
	printf 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="p.txt"\n\n'
	armor_of "$P" | base64
	printf -- '--rb9--\n'
} >"$G/r3"
chmod 0644 "$G"/*
cmp -s "$G/r2" "$P" && hard "the quoted-printable mail is no different"
grep -q 'MIXMAIL PACKET' "$G/r3" && not_ok "9. the MIME mail shows the armor in clear"
snap_all
sink_before=$(mta_sink_count "$MTA_DIR")
bounces=$(mta_bounces "$MTA_DIR")
# send9 FILE...: each to n1 from $GS, in one SMTP session
send9() {
	local f
	for f in "$@"; do echo "$G/$f $(node_addr n1)"; done >"$G/list"
	as_user "$T/bin/relay-send" -r "smtp://127.0.0.1:$PORT" -s "$GS" -T 30 <"$G/list" >"$G/rs.out" 2>"$G/rs.err"
	RC=$?
	cat "$G/rs.err" >>"$T/mm.all"
	expect_eq "9. relay-send $*" "$RC $(grep -c ' SENT 250$' "$G/rs.out")" "0 $#"
}
send9 r0
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "9. the first mail stayed queued"
expect_eq "9. the first mail is committed" "$(pool_count n1)" 1
send9 g1 g2 r1 r2 r3
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "9. garbage and replays stayed queued"
expect_eq "9. nothing more in n1's pool" "$(pool_count n1)" 1
changes n1 "in_forward=1 drop_nopacket=1 drop_armor=1 drop_replay=3" "9. n1"
sleep 2
expect_eq "9. nothing bounced (log, sink)" "$(mta_bounces "$MTA_DIR") $(mta_sink_count "$MTA_DIR")" "$bounces $sink_before"
run_net "9. replays"
delivered "9. the replayed message" "$R9" "$R9" "Replayed e2e-9f0" "$M/b9" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"

# ================================================================================
# everything, at the end
# ================================================================================
run_net "the end" 2
# the sink holds exactly the expected mails: destination and count
bad=0
for r in "${!WANT[@]}"; do
	[ "$(sink_n "$r")" -eq "${WANT[$r]}" ] || { not_ok "sink: $(sink_n "$r") mails for $r, not ${WANT[$r]}"; bad=1; }
done
want_total=0
for r in "${!WANT[@]}"; do want_total=$((want_total + WANT[$r])); done
expect_eq "sink: as many mails as messages, each from the exit" \
    "$(mta_sink_count "$MTA_DIR") $(awk -v s="$(node_addr n3)" 'NF == 3 && $2 == s' "$MTA_DIR/sink/index" | wc -l)" \
    "$want_total $want_total"
[ "$bad" -eq 0 ] && ok "sink: each destination got exactly its mails"
expect_eq "Postfix never bounced" "$(mta_bounces "$MTA_DIR")" 0
grep -l -i -e '^From: MAILER-DAEMON' -e 'Undelivered Mail' "$MTA_DIR"/sink/msg.* >/dev/null 2>&1 &&
	not_ok "a bounce in the sink" || ok "no bounce in the sink"
for n in $NODES; do
	expect_eq "$n: failed/ and corrupt/ empty" "$(spool_count "$n" failed)$(spool_count "$n" corrupt)" 00
done
bad=0
for w in "${DROPPED[@]}"; do
	if grep -rqF -- "$w" "$MTA_DIR/sink"; then not_ok "the sender's field value $w reached the sink"; bad=1; fi
done
[ "$bad" -eq 0 ] && ok "none of the sender's ${#DROPPED[@]} dropped header values reached the sink"

# Privacy: nothing of a message or an address in any log
for n in $NODES; do
	stats_dump "$n" >"$T/$n/stats.final"
	cat "$T/$n/stats.err" >>"$T/$n/stats.final" 2>/dev/null
done
LOGS=("$T/mm.all")
for n in $NODES; do LOGS+=("$T/$n/hook.err" "$T/$n/flush.log" "$T/$n/stats.final" "$T/$n/import.out"); done
bad=0
for w in "${ADDRS[@]}" "${CONTENT[@]}" "${DROPPED[@]}"; do
	if grep -qF -- "$w" "${LOGS[@]}" 2>/dev/null; then
		not_ok "a log names '$w': $(grep -lF -- "$w" "${LOGS[@]}" | tr '\n' ' ')"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && ok "no address, subject, body or header marker in any node's output, the stats or mixmail's stderr"
bad=0
for w in "${CONTENT[@]}" "${DROPPED[@]}"; do
	grep -qF -- "$w" "$(mta_log "$MTA_DIR")" && { not_ok "Postfix's log shows '$w'"; bad=1; }
done
[ "$bad" -eq 0 ] && ok "no subject, body or sender field in Postfix's log"
echo "  (hook output lines: $(cat "$T"/n?/hook.err | wc -l); runtime $(( $(date +%s) - START )) s)"
if [ -n "${E2E_KEEP:-}" ] && mkdir -p "$E2E_KEEP"; then
	cp -r "$MTA_DIR/sink" "$MTA_DIR/log" "$E2E_KEEP/"
	for n in $NODES; do mkdir -p "$E2E_KEEP/$n" && cp "$T/$n"/*.err "$T/$n"/*.log "$T/$n"/*.final "$E2E_KEEP/$n/"; done
	cp "$T/mm.all" "$E2E_KEEP/"
	echo "  (kept in $E2E_KEEP)"
fi
finish
