#!/bin/bash
# relay.sh - the outbound hand-off (src/relay.c) against a real Postfix.
#
# A private Postfix on 127.0.0.1 (tests/mta-lib.sh) takes, through the
# driver tests/relay-send run as the test user:
#   1. 20 messages in one batch: one SMTP connection with 20 transactions,
#      every message delivered exactly once, byte for byte (line ends
#      normalized to LF, Postfix's Return-Path: and Received: removed),
#      with our EHLO name;
#   1b. 150 messages in one batch: two SMTP sessions at once, each
#      message delivered exactly once;
#   2. a batch mixing recipients the server defers (450) and refuses (550)
#      with good ones: TEMP, PERM and SENT per relay.h, the good ones
#      delivered, and no address or server text in the error line;
#   3. Postfix stopped: every message TEMP, no process of the instance
#      left; started again, the same batch goes through (nothing lost);
#   4. a Maildir relay: the 20 messages as files in new/, mode 0600,
#      exact LF contents, tmp/ empty.
# Needs root and Postfix (skipped otherwise, saying why). Traffic goes to
# 127.0.0.1 only; every wait is bounded.

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: relay: not root (a private Postfix needs root)"
	exit 77
fi
if [ ! -x /usr/sbin/postfix ] || ! id -u postfix >/dev/null 2>&1; then
	echo "SKIP: relay: postfix is not installed (apt-get install postfix)"
	exit 77
fi

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

[ -x "$B/tests/relay-send" ] || hard "$B/tests/relay-send is not built (make check builds it)"
cp "$B/tests/relay-send" "$T/bin/" && chmod 0755 "$T/bin/relay-send" ||
	hard "cannot stage relay-send"
asan_libesmtp	# libESMTP's false positive under ASan (lib.sh)
HELO=relay-test.invalid
SENDER=node@relay.test
M=$T/msgs
mkdir "$M" && chmod 0755 "$M" || hard "mkdir $M"

# relay_send OUT SPEC < LIST: the driver as the test user; $RC, OUT.out, OUT.err
relay_send() {
	as_user "$T/bin/relay-send" -r "$2" -s "$SENDER" -H "$HELO" -T 20 \
	    >"$1.out" 2>"$1.err"
	RC=$?
}

# write_msg N FILE [crlf]: a mail with dots, an mbox From, 8-bit text,
# trailing blanks and a long line; To: mN@sink.test
write_msg() {
	local n=$1 f=$2
	{
		printf 'From: Node <%s>\n' "$SENDER"
		printf 'To: m%s@sink.test\n' "$n"
		printf 'Subject: relay test %s\n' "$n"
		printf 'Date: Thu, 01 Jan 1970 00:00:00 +0000\n'
		printf 'Message-ID: <relay-%s@relay.test>\n' "$n"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n'
		printf 'Content-Transfer-Encoding: 8bit\n\n'
		printf 'body of message %s\n.\n.leading dot\n..two dots\n' "$n"
		printf 'From the start of a line\ncaf\351 8-bit\ntrailing blanks   \n\n\n'
		head -c 900 /dev/zero | tr '\0' x
		printf '\n-----BEGIN TEST-----\nend %s\n' "$n"
	} >"$f"
	[ "${3:-}" = crlf ] && sed -i 's/$/\r/' "$f"
	chmod 0644 "$f"
}

# delivered FILE: a sink file without the headers Postfix put on top
delivered() {
	LC_ALL=C awk 'top == 0 && /^(Return-Path|Received):/ { skip = 1; next }
	    top == 0 && skip && /^[ \t]/ { next }
	    { top = 1; print }' "$1"
}

# sink_file RCPT: the sink files delivered to RCPT (names, one per line)
sink_file() {
	awk -v r="$1" '$3 == r { print $1 }' "$MTA_DIR/sink/index" 2>/dev/null
}

# wait_disconnects N: until smtpd has logged N disconnects (at most 10 s)
wait_disconnects() {
	local i
	for i in $(seq 1 50); do
		[ "$(grep -c 'postfix/smtpd\[[0-9]*\]: disconnect from' "$(mta_log "$MTA_DIR")")" -ge "$1" ] &&
			return 0
		sleep 0.2
	done
	return 1
}

# results OUT: the driver's lines as "RESULT CODE" in order
results() {
	awk '{ print $2, $3 }' "$1.out" | tr '\n' ',' | sed 's/,$//'
}

mta_tmpdir || hard "cannot make the MTA directory"
PORT=$(mta_free_port) || hard "no free port"
mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "the private Postfix did not start"; finish; }
ok "private Postfix on 127.0.0.1:$PORT"
SMTP=smtp://127.0.0.1:$PORT
LOG=$(mta_log "$MTA_DIR")

# --- 1. 20 messages, one session ----------------------------------------------
N=20
: >"$M/list20"
for i in $(seq 1 $N); do
	if [ $((i % 4)) -eq 0 ]; then write_msg "$i" "$M/m$i" crlf; else write_msg "$i" "$M/m$i"; fi
	tr -d '\r' <"$M/m$i" >"$M/m$i.lf"
	echo "$M/m$i m$i@sink.test" >>"$M/list20"
done
conns=$(mta_connections "$MTA_DIR")
discs=$(grep -c 'postfix/smtpd\[[0-9]*\]: disconnect from' "$LOG")
relay_send "$T/b1" "$SMTP" <"$M/list20"
expect_eq "batch of $N: driver exit status" "$RC" 0
expect_eq "batch of $N: all SENT 250" "$(results "$T/b1")" \
    "$(for i in $(seq 1 $N); do printf 'SENT 250,'; done | sed 's/,$//')"
expect_eq "batch of $N: no error text" "$(cat "$T/b1.err")" ""
wait_disconnects $((discs + 1)) || not_ok "smtpd logged no disconnect"
expect_eq "batch of $N: one SMTP connection" "$(mta_connections "$MTA_DIR")" $((conns + 1))
last=$(grep 'postfix/smtpd\[[0-9]*\]: disconnect from' "$LOG" | tail -n 1)
case $last in
*" mail=$N rcpt=$N "*) ok "batch of $N: $N transactions in that session" ;;
*) not_ok "batch of $N: the session was not $N transactions: ${last#*disconnect from}" ;;
esac
mta_sink_wait "$MTA_DIR" $N 30 || not_ok "batch of $N: not all delivered"
mta_wait_queue_empty "$MTA_DIR" 30 || not_ok "batch of $N: queue not empty"
bad=0
for i in $(seq 1 $N); do
	f=$(sink_file "m$i@sink.test")
	if [ "$(echo "$f" | grep -c .)" -ne 1 ]; then
		not_ok "message $i delivered $(echo "$f" | grep -c .) times"
		bad=1
		continue
	fi
	if ! delivered "$MTA_DIR/sink/$f" | cmp -s - "$M/m$i.lf"; then
		not_ok "message $i not delivered byte for byte"
		delivered "$MTA_DIR/sink/$f" | diff "$M/m$i.lf" - | head -n 10 | sed 's/^/  | /'
		bad=1
	fi
	grep -q "^Received: from $HELO (localhost \[127.0.0.1\])" "$MTA_DIR/sink/$f" || {
		not_ok "message $i: the Received: line does not show EHLO $HELO"
		bad=1
	}
done
[ "$bad" -eq 0 ] && ok "batch of $N: each delivered exactly once, byte for byte, EHLO $HELO"

# --- 1b. a large batch: parallel sessions ------------------------------------------
# 150 messages: relay.h cuts them into 2 slices of 75, sent over 2
# connections at once; each message still arrives exactly once.
NP=150
: >"$M/listp"
for i in $(seq 1 $NP); do
	printf 'From: <%s>\nTo: p%s@sink.test\nSubject: parallel %s\n\nbody %s\n' \
	    "$SENDER" "$i" "$i" "$i" >"$M/p$i"
	chmod 0644 "$M/p$i"
	echo "$M/p$i p$i@sink.test" >>"$M/listp"
done
before=$(mta_sink_count "$MTA_DIR")
conns=$(mta_connections "$MTA_DIR")
relay_send "$T/bp" "$SMTP" <"$M/listp"
expect_eq "batch of $NP: driver exit status" "$RC" 0
expect_eq "batch of $NP: all SENT" "$(awk '$2 == "SENT"' "$T/bp.out" | wc -l)" $NP
expect_eq "batch of $NP: two SMTP connections" "$(mta_connections "$MTA_DIR")" $((conns + 2))
mta_sink_wait "$MTA_DIR" $((before + NP)) 60 || not_ok "batch of $NP: not all delivered"
mta_wait_queue_empty "$MTA_DIR" 60 || not_ok "batch of $NP: queue not empty"
bad=0
for i in $(seq 1 $NP); do
	[ "$(sink_file "p$i@sink.test" | grep -c .)" -eq 1 ] || bad=$((bad + 1))
done
expect_eq "batch of $NP: each delivered exactly once" "$bad" 0

# --- 2. 450 and 550 in the same batch ------------------------------------------
for i in 1 2 3 4 5 6 7; do write_msg "x$i" "$M/x$i"; done
cat >"$M/listx" <<EOF
$M/x1 g1@sink.test
$M/x2 defer@sink.test
$M/x3 reject@sink.test
$M/x4 g2@sink.test
$M/x5 g3@sink.test defer@sink.test
$M/x6 g4@sink.test reject@sink.test
$M/x7 g5@sink.test
EOF
before=$(mta_sink_count "$MTA_DIR")
conns=$(mta_connections "$MTA_DIR")
relay_send "$T/b2" "$SMTP" <"$M/listx"
expect_eq "mixed batch: driver exit status" "$RC" 0
expect_eq "mixed batch: verdicts" "$(results "$T/b2")" \
    "SENT 250,TEMP 450,PERM 550,SENT 250,TEMP 450,PERM 550,SENT 250"
mta_sink_wait "$MTA_DIR" $((before + 5)) 30 || not_ok "mixed batch: not all delivered"
mta_wait_queue_empty "$MTA_DIR" 30 || not_ok "mixed batch: queue not empty"
for r in g1 g2 g3 g4 g5; do
	expect_eq "mixed batch: $r@sink.test got it once" "$(sink_file "$r@sink.test" | grep -c .)" 1
done
expect_eq "mixed batch: nothing for defer@ and reject@" \
    "$(sink_file defer@sink.test)$(sink_file reject@sink.test)" ""
expect_eq "mixed batch: one SMTP connection" "$(mta_connections "$MTA_DIR")" $((conns + 1))
err=$(cat "$T/b2.err")
case $err in
*"2 refused (5xx), 2 deferred (4xx)"*) ok "mixed batch: the error line counts the classes" ;;
*) not_ok "mixed batch: error line: $err" ;;
esac
if grep -q -e '@' -e 'rejected for test' -e 'deferred for test' -e 'Recipient' "$T/b2.err"; then
	not_ok "mixed batch: the error line holds an address or the server's text"
else
	ok "mixed batch: no address and no server text in the error line"
fi
if grep 'NOQUEUE: reject: RCPT' "$LOG" | grep -qv "helo=<$HELO>"; then
	not_ok "an EHLO name other than $HELO reached Postfix"
else
	ok "Postfix saw only EHLO $HELO"
fi

# --- 3. Postfix stopped, then back ------------------------------------------------
for i in 1 2 3 4 5; do
	write_msg "s$i" "$M/s$i"
	echo "$M/s$i s$i@sink.test"
done >"$M/lists"
mta_postfix_stop "$MTA_DIR" || not_ok "mta_postfix_stop failed"
expect_eq "Postfix stopped: no process of the instance left" "$(mta_procs "$MTA_DIR")" ""
relay_send "$T/b3" "$SMTP" <"$M/lists"
expect_eq "Postfix stopped: driver exit status" "$RC" 0
expect_eq "Postfix stopped: all TEMP, no reply" "$(results "$T/b3")" \
    "TEMP 0,TEMP 0,TEMP 0,TEMP 0,TEMP 0"
grep -q 'refused' "$T/b3.err" && ok "Postfix stopped: the error line says refused" ||
	not_ok "Postfix stopped: error line: $(cat "$T/b3.err")"
before=$(mta_sink_count "$MTA_DIR")
if mta_postfix_start "$MTA_DIR" "$PORT"; then
	relay_send "$T/b4" "$SMTP" <"$M/lists"
	expect_eq "Postfix back: the kept batch is SENT" "$(results "$T/b4")" \
	    "SENT 250,SENT 250,SENT 250,SENT 250,SENT 250"
	mta_sink_wait "$MTA_DIR" $((before + 5)) 30 || not_ok "Postfix back: not all delivered"
	for i in 1 2 3 4 5; do
		[ "$(sink_file "s$i@sink.test" | grep -c .)" -eq 1 ] || not_ok "s$i not delivered once"
	done
	ok "Postfix back: the 5 kept messages delivered"
else
	not_ok "Postfix did not start again"
fi

# --- 4. Maildir --------------------------------------------------------------------
MD=$T/maildir
relay_send "$T/b5" "maildir:$MD" <"$M/list20"
expect_eq "maildir: driver exit status" "$RC" 0
expect_eq "maildir: all SENT" "$(results "$T/b5")" \
    "$(for i in $(seq 1 $N); do printf 'SENT 0,'; done | sed 's/,$//')"
expect_eq "maildir: $N files in new/" "$(ls -A "$MD/new" | wc -l)" $N
expect_eq "maildir: tmp/ empty" "$(ls -A "$MD/tmp" | wc -l)" 0
expect_eq "maildir: names are 32 hex digits" \
    "$(ls -A "$MD/new" | grep -Evx '[0-9a-f]{32}' | wc -l)" 0
expect_eq "maildir: files 0600, owned by $TESTUSER" \
    "$(stat -c '%a %U' "$MD"/new/* | sort -u)" "600 $TESTUSER"
expect_eq "maildir: directories 0700" "$(stat -c '%a' "$MD" "$MD/tmp" "$MD/new" "$MD/cur" | sort -u)" 700
got=$(for f in "$MD"/new/*; do sha256sum <"$f"; done | sort)
want=$(for i in $(seq 1 $N); do sha256sum <"$M/m$i.lf"; done | sort)
expect_eq "maildir: each message once, exact" "$got" "$want"

finish
