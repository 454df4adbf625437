#!/bin/bash
# hooks.sh - the recipes operators copy from mta-hooks/ work as shipped.
#
# The files are taken from mta-hooks/ and only their placeholders are
# replaced (the staged mixnode, the test user, the test node's
# configuration, address and domain); nothing else of them is rewritten.
#
#   1. Postfix (postfix/master.cf, main.cf, transport) in a private
#      instance on 127.0.0.1 (tests/mta-lib.sh), mail sent by SMTP:
#      a. a packet mail is committed to the node's pool exactly once (a
#         second copy is dropped as a replay); a MIME-encoded one too;
#         20 in one session all arrive, every entry valid;
#      b. mail without a usable packet (no packet, broken armor, larger
#         than max_message_size) is dropped and counted, and nothing is
#         bounced: the envelope sender is an address of the sink, where
#         any bounce would land; another address of the node's domain is
#         refused during the SMTP session;
#      c. the spool made unusable: the hook exits 75, Postfix defers
#         (the mail stays queued, nothing bounced); repaired, a queue
#         flush delivers it, once;
#      d. the hook's messages reach Postfix's log, never a mail.
#   2. dot-forward/forward through Postfix's local(8), the same way: a
#      packet is committed, and 75 defers.
#   3. procmail/procmailrc (when procmail is installed, unpacked by
#      scripts/fetch-exim, or named by $PROCMAIL): 0 delivers, 75 makes
#      procmail exit 75 and file nothing.
#   4. cron/mixnode and cron/crontab: every line has five valid time
#      fields (and the user field in the system file), and its command
#      runs as the node's user: quiet when the flush works, loud when it
#      fails; publish writes the descriptor.
#   5. systemd/*: systemd-analyze verify finds nothing (when
#      systemd-analyze exists), and each ExecStart= runs as its User=.
# Needs root and Postfix (skipped otherwise). Traffic goes to 127.0.0.1
# only; every wait is bounded.

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: hooks: not root (a private Postfix needs root)"
	exit 77
fi
if [ ! -x /usr/sbin/postfix ] || ! id -u postfix >/dev/null 2>&1; then
	echo "SKIP: hooks: postfix is not installed (apt-get install postfix)"
	exit 77
fi

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

H=$S/mta-hooks
[ -d "$H/postfix" ] || hard "no $H/postfix"
[ -x "$B/tests/relay-send" ] || hard "$B/tests/relay-send is not built (make check builds it)"
cp "$B/tests/relay-send" "$T/bin/" && chmod 0755 "$T/bin/relay-send" ||
	hard "cannot stage relay-send"
asan_libesmtp	# libESMTP's false positive under ASan (lib.sh)

mta_tmpdir || hard "cannot make the MTA directory"
PORT=$(mta_free_port) || hard "no free port"
LOG=$(mta_log "$MTA_DIR")

# wait_until SECONDS CMD...: until CMD succeeds; 1 if it never did
wait_until() {
	local max=$1 i
	shift
	for i in $(seq 1 $((max * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
log_count() { grep -E -c "$1" "$LOG" 2>/dev/null || true; }
log_more() { [ "$(log_count "$1")" -gt "$2" ]; }
pool_is() { [ "$(pool_count n1)" -eq "$1" ]; }
# done_hooks: the summary; on a failure, the end of Postfix's log first
done_hooks() {
	if [ "$FAILS" -ne 0 ] && [ -s "$LOG" ]; then
		echo "--- the last lines of Postfix's log"
		tail -n 40 "$LOG" | sed 's/^/  | /'
	fi
	finish
}

# The node: a middleman that keeps what it receives (no round is due
# before 1000 packets, no dummies), handing mail to the private Postfix.
node_make n1 "relay = smtp://127.0.0.1:$PORT" "mixing = threshold" "mix_threshold = 1000" \
    "dummy_per_round = 0" "dummy_per_inbound_permille = 0" || done_hooks
node_make n2 || done_hooks
CONF=$(node_conf n1)
SPOOL=$(node_spool n1)
ADDR=$(node_addr n1)
DOMAIN=${ADDR#*@}
D1=$(node_desc n1)
D2=$(node_desc n2)
FWD_DOMAIN=fwd-$DOMAIN
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"
SINK_SENDER=hook-sender-5e2@sink.test

# subst: the placeholders of mta-hooks/README, replaced by this test's
subst() {
	sed -e "s|/home/mixnode/mixmail/sbin/mixnode|$T/bin/mixnode|g" \
	    -e "s|/home/mixnode/mixmail/mixnode.conf|$CONF|g" \
	    -e "s|/usr/local/sbin/mixnode|$T/bin/mixnode|g" \
	    -e "s|/etc/mixmail/mixnode.conf|$CONF|g" \
	    -e "s|/var/spool/mixnode|$SPOOL|g" \
	    -e "s|mix@node\.example|$ADDR|g" \
	    -e "s|node\.example|$DOMAIN|g" \
	    -e "s|hash:/etc/postfix/transport|texthash:$MTA_DIR/etc/transport|g" \
	    -e "s|user=mixnode|user=$TESTUSER|g" \
	    -e "s|^User=mixnode\$|User=$TESTUSER|" \
	    -e "s|^Group=mixnode\$|Group=$TESTUSER|"
}
# payload: a shipped file without its comments and blank lines
payload() {
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1"
}

# smtp_send SENDER FILE RCPT: one mail by SMTP; prints relay-send's
# result ("1 SENT 250", "1 PERM 550", ...)
smtp_send() {
	echo "$2 $3" | as_user "$T/bin/relay-send" -r "smtp://127.0.0.1:$PORT" -s "$1" \
	    -H client.hooks.test -T 30 2>"$T/send.err"
}

# delivered DESC: the queue empties and nothing reached the sink
delivered() {
	mta_wait_queue_empty "$MTA_DIR" 30 2>/dev/null || not_ok "$1: the queue did not empty"
	expect_eq "$1: nothing reached the sink (no bounce)" "$(mta_sink_count "$MTA_DIR")" 0
}

# packet FILE [MKPACKET-ARGS]: a forward packet for n1, next hop n2
packet() {
	local f=$1
	shift
	mkpacket "$@" "$D1" "$D2" >"$M/$f" 2>"$M/$f.err" && [ -s "$M/$f" ] ||
		{ not_ok "mkpacket $f"; sed 's/^/  | /' "$M/$f.err"; return 1; }
	chmod 0644 "$M/$f"
}

echo "--- the Postfix recipe, installed from mta-hooks/postfix"
mta_postfix_setup "$MTA_DIR" "$PORT" || hard "cannot set up the private Postfix"
E=$MTA_DIR/etc
payload "$H/postfix/master.cf" | subst >>"$E/master.cf" || hard "master.cf"
payload "$H/postfix/transport" | subst >>"$E/transport" || hard "transport"
n=0
while IFS= read -r l; do
	postconf -c "$E" -e "$l" || not_ok "postconf -e '$l' failed"
	n=$((n + 1))
done < <(payload "$H/postfix/main.cf" | subst)
[ "$n" -ge 5 ] && ok "main.cf: $n settings applied" || not_ok "main.cf: only $n settings found"
grep -q "^mixnode .* pipe\$" "$E/master.cf" && grep -qF "argv=$T/bin/mixnode -c $CONF receive - \${recipient}" "$E/master.cf" &&
	ok "master.cf: the pipe service, with the placeholders replaced" ||
	not_ok "master.cf: service or argv not as expected"
# Test scaffolding, not part of the recipe: the staged mixnode finds its
# helper (mixnode-mime) through MIXNODE_LIBEXECDIR, as in tests/lib.sh,
# because it is not installed where it was built to look.
postconf -c "$E" -e "export_environment = TZ MAIL_CONFIG LANG MIXNODE_LIBEXECDIR=$T/bin" ||
	hard "postconf export_environment"
# The recipe's parameter names must match its service name: Postfix warns
# about a mixnode_* parameter no master.cf service uses.
postconf -c "$E" -n >/dev/null 2>"$T/postconf.err"
if [ -s "$T/postconf.err" ]; then
	not_ok "postconf warns about the recipe:"
	sed 's/^/  | /' "$T/postconf.err"
else
	ok "postconf: no warnings about the recipe"
fi
postfix -c "$E" check >"$T/check.out" 2>&1 && ok "postfix check" ||
	{ not_ok "postfix check"; sed 's/^/  | /' "$T/check.out"; }
mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "the private Postfix did not start"; done_hooks; }
ok "private Postfix on 127.0.0.1:$PORT with the recipe"

echo "--- 1a. a packet is committed exactly once"
packet p1 || done_hooks
snap n1
r=$(smtp_send "$SINK_SENDER" "$M/p1" "$ADDR")
# Nothing below can work if this does not: stop rather than wait in vain
[ "$r" = "1 SENT 250" ] || { not_ok "packet: SMTP: got '$r', wanted '1 SENT 250'"; done_hooks; }
ok "packet: SMTP"
wait_until 30 pool_is 1 || not_ok "packet: the pool did not gain the entry"
delivered "packet"
delta n1 "in_forward=1" "packet"
expect_eq "packet: pool entries" "$(pool_count n1)" 1
expect_eq "packet: Postfix logged it sent by the mixnode service" \
    "$(log_count "to=<$ADDR>, relay=mixnode, .*status=sent")" 1
snap n1
expect_eq "same packet again: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p1" "$ADDR")" "1 SENT 250"
wait_until 30 log_more "relay=mixnode, .*status=sent" 1 || not_ok "same packet again: not delivered"
delivered "same packet again"
delta n1 "drop_replay=1" "same packet again"
expect_eq "same packet again: still one pool entry" "$(pool_count n1)" 1

packet p2 -e mime-qp || done_hooks
snap n1
expect_eq "MIME packet: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p2" "$ADDR")" "1 SENT 250"
wait_until 30 pool_is 2 || not_ok "MIME packet: the pool did not gain the entry"
delivered "MIME packet"
delta n1 "in_forward=1" "MIME packet"

# 20 in one session: Postfix runs hooks in parallel (up to the recipe's
# concurrency limit); every one is committed, once
: >"$M/list20"
for i in $(seq 1 20); do
	packet "m$i" || break
	echo "$M/m$i $ADDR" >>"$M/list20"
done
snap n1
as_user "$T/bin/relay-send" -r "smtp://127.0.0.1:$PORT" -s "$SINK_SENDER" -T 30 \
    <"$M/list20" >"$T/send20.out" 2>&1
expect_eq "20 packets: all accepted by SMTP" "$(grep -c ' SENT 250$' "$T/send20.out")" 20
wait_until 60 pool_is 22 || not_ok "20 packets: the pool holds $(pool_count n1), not 22"
delivered "20 packets"
delta n1 "in_forward=20" "20 packets"
pool_check n1 "after 22 packets"

echo "--- 1b. mail without a usable packet is dropped, never bounced"
cp "$S/tests/mail/none.eml" "$M/none.eml"
cp "$S/tests/mail/bad-armor.eml" "$M/bad-armor.eml"
# random text lines: no armor, so the hook also runs mixnode-mime
head -c 6000 /dev/urandom | base64 >"$M/random.eml"
# a real packet in a mail larger than max_message_size (64k)
packet big || done_hooks
head -c 150000 /dev/zero | tr '\0' 'x' | fold -w 70 >>"$M/big"
chmod 0644 "$M"/*.eml "$M/big"
for c in "none.eml drop_nopacket" "bad-armor.eml drop_armor" "random.eml drop_nopacket" \
    "big drop_oversize"; do
	set -- $c
	sent=$(log_count "relay=mixnode, .*status=sent")
	snap n1
	expect_eq "$1: SMTP" "$(smtp_send "$SINK_SENDER" "$M/$1" "$ADDR")" "1 SENT 250"
	wait_until 30 log_more "relay=mixnode, .*status=sent" "$sent" ||
		not_ok "$1: Postfix did not deliver it to the hook"
	delivered "$1"
	delta n1 "$2=1" "$1"
done
expect_eq "drops: pool unchanged" "$(pool_count n1)" 22
expect_eq "another address of the node's domain: refused during SMTP" \
    "$(smtp_send "$SINK_SENDER" "$M/none.eml" "other@$DOMAIN")" "1 PERM 550"
delivered "another address"

echo "--- 1c. an unusable spool: the hook exits 75, Postfix defers"
packet p3 || done_hooks
deferred=$(log_count "relay=mixnode, .*status=deferred")
snap n1
chmod 000 "$SPOOL/pool"
expect_eq "unusable spool: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p3" "$ADDR")" "1 SENT 250"
wait_until 30 log_more "relay=mixnode, .*status=deferred" "$deferred" ||
	not_ok "unusable spool: Postfix did not log a deferral"
expect_eq "unusable spool: the mail stays in the queue" "$(mta_queue_count "$MTA_DIR")" 1
t=$(stat_get n1 tempfail)
s=$(grep tempfail "$T/n1/snap" | cut -d' ' -f2)
[ "$t" != missing ] && [ "$t" -gt "$s" ] && ok "unusable spool: counted as tempfail" ||
	not_ok "unusable spool: tempfail $s -> $t"
grep "relay=mixnode, .*status=deferred" "$LOG" | grep -q "temporary failure, the MTA will retry" &&
	ok "unusable spool: the hook's reason is in Postfix's log" ||
	not_ok "unusable spool: the hook's message is not in Postfix's log"
expect_eq "unusable spool: nothing reached the sink" "$(mta_sink_count "$MTA_DIR")" 0
chmod 0700 "$SPOOL/pool"
mta_flush "$MTA_DIR"
wait_until 30 pool_is 23 || not_ok "repaired: the pool did not gain the entry"
delivered "repaired"
expect_eq "repaired: in_forward counted once" \
    "$(( $(stat_get n1 in_forward) - $(grep '^in_forward ' "$T/n1/snap" | cut -d' ' -f2) ))" 1
pool_check n1 "after the deferral"

echo "--- 1d. the hook's messages never reach a mail"
# smtp_dsn RCPT: one SMTP session by hand that asks for a notice on
# success (RFC 3461 NOTIFY=SUCCESS), with a mail that the hook drops.
# Prints the EHLO keywords on one line, then the reply code to RCPT.
smtp_dsn() {
	local l code=
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	r3() { read -r -t 10 l <&3 || return 1; l=${l%$'\r'}; }
	r3 || return 1
	printf 'EHLO client.hooks.test\r\n' >&3
	while r3; do printf '%s ' "${l:4}"; [ "${l:3:1}" = - ] || break; done
	echo
	printf 'MAIL FROM:<%s>\r\n' "$SINK_SENDER" >&3 && r3
	printf 'RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE\r\n' "$1" >&3 && r3 && code=${l:0:3}
	if [ "$code" = 250 ]; then
		printf 'DATA\r\n' >&3 && r3
		printf 'Subject: no packet\r\n\r\nno packet here\r\n.\r\n' >&3 && r3
	fi
	printf 'QUIT\r\n' >&3
	exec 3>&-
	echo "$code"
}
sent=$(log_count "relay=mixnode, .*status=sent")
smtp_dsn "$ADDR" >"$T/dsn.out"
grep -qw DSN <(head -n 1 "$T/dsn.out") && not_ok "EHLO offers DSN" || ok "EHLO does not offer DSN"
case $(tail -n 1 "$T/dsn.out") in
5*) ok "a request for a success notice is refused" ;;
250)
	not_ok "a request for a success notice is accepted"
	wait_until 30 log_more "relay=mixnode, .*status=sent" "$sent"
	;;
*) not_ok "SMTP by hand: RCPT answered '$(tail -n 1 "$T/dsn.out")'" ;;
esac
delivered "success notice"
expect_eq "no bounce or notice of any kind in Postfix's log" \
    "$(log_count "status=bounced|status=expired|notification")" 0
if [ -d "$MTA_DIR/sink" ] && grep -rlE "mixnode|temporary failure|dropped mail" "$MTA_DIR/sink" >/dev/null 2>&1; then
	not_ok "the hook's text reached the sink"
else
	ok "the hook's text is in no mail"
fi

echo "--- 2. dot-forward/forward through Postfix's local(8)"
# The test user's .forward, found through forward_path (its home is
# /nonexistent); the node's second address is TESTUSER@FWD_DOMAIN.
FWD=$MTA_DIR/fwd
mkdir "$FWD" && chown "$TESTUSER" "$FWD" && chmod 0755 "$FWD" || hard "mkdir $FWD"
payload "$H/dot-forward/forward" | subst >"$FWD/forward.$TESTUSER" &&
	chown "$TESTUSER" "$FWD/forward.$TESTUSER" && chmod 0644 "$FWD/forward.$TESTUSER" ||
	hard "cannot write the .forward"
expect_eq ".forward: one line, the hook in quotes" "$(cat "$FWD/forward.$TESTUSER")" \
    "\"|$T/bin/mixnode -c $CONF receive\""
postconf -c "$E" -e "mydestination = $FWD_DOMAIN" "forward_path = $FWD/forward.\${user}" ||
	hard "postconf for local(8)"
printf '%s\tlocal:\n' "$FWD_DOMAIN" >>"$E/transport"
echo "local unix - n n - - local" >>"$E/master.cf"
postfix -c "$E" reload >/dev/null 2>&1 || not_ok "postfix reload"
FADDR=$TESTUSER@$FWD_DOMAIN
packet f1 || done_hooks
np=$(pool_count n1)
snap n1
expect_eq ".forward: SMTP" "$(smtp_send "$SINK_SENDER" "$M/f1" "$FADDR")" "1 SENT 250"
wait_until 30 pool_is $((np + 1)) || not_ok ".forward: the pool did not gain the entry"
delivered ".forward"
delta n1 "in_forward=1" ".forward"
expect_eq ".forward: local(8) delivered it to the command" \
    "$(log_count "to=<$FADDR>, relay=local, .*status=sent \(delivered to command")" 1
packet f2 || done_hooks
deferred=$(log_count "to=<$FADDR>, relay=local, .*status=deferred")
chmod 000 "$SPOOL/pool"
expect_eq ".forward, unusable spool: SMTP" "$(smtp_send "$SINK_SENDER" "$M/f2" "$FADDR")" "1 SENT 250"
wait_until 30 log_more "to=<$FADDR>, relay=local, .*status=deferred" "$deferred" ||
	not_ok ".forward, unusable spool: local(8) did not defer"
expect_eq ".forward, unusable spool: the mail stays in the queue" "$(mta_queue_count "$MTA_DIR")" 1
chmod 0700 "$SPOOL/pool"
mta_flush "$MTA_DIR"
wait_until 30 pool_is $((np + 2)) || not_ok ".forward, repaired: the pool did not gain the entry"
delivered ".forward, repaired"
expect_eq ".forward: no bounce in Postfix's log" "$(log_count "status=bounced|non-delivery notification")" 0

echo "--- 3. procmail/procmailrc"
# procmail: $PROCMAIL, else the installed one, else the one scripts/fetch-exim
# unpacked (next to its Exim)
PM=${PROCMAIL:-$(command -v procmail 2>/dev/null)}
[ -n "$PM" ] || PM=${MIXMAIL_EXIM_DIR:-/var/cache/mixmail-test/exim}/root/usr/bin/procmail
if [ ! -x "$PM" ]; then
	echo "note: no procmail (install it, run scripts/fetch-exim, or set PROCMAIL): recipe not run"
else
	P=$T/pm
	as_user mkdir "$P" || hard "mkdir $P"
	# Test scaffolding first: where procmail would file the mail if the
	# recipe let it fall through (it must not).
	{ echo "DEFAULT=$P/mbox"; echo "ORGMAIL=$P/mbox"; payload "$H/procmail/procmailrc" | subst; } |
		as_user sh -c "cat > '$P/procmailrc'" || hard "procmailrc"
	grep -qx "| $T/bin/mixnode -c $CONF receive" "$P/procmailrc" &&
		ok "procmailrc: the hook's line, with the placeholders replaced" ||
		not_ok "procmailrc: no hook line"
	# procmail makes the user's system mailbox (/var/mail/USER) when it
	# starts, whatever the rcfile says: it runs in a mount namespace of
	# its own, with a directory of the test over /var/mail.
	mkdir "$P/varmail" && chown root:mail "$P/varmail" && chmod 2775 "$P/varmail" ||
		hard "mkdir $P/varmail"
	pm() {
		unshare --mount --propagation private \
		    sh -c 'mount --bind "$1" /var/mail && shift && exec "$@"' sh "$P/varmail" \
		    "${AS[@]}" env -i HOME="$P" PATH=/usr/bin:/bin MIXNODE_LIBEXECDIR="$T/bin" \
		    "$PM" "$P/procmailrc" <"$1" >"$P/out" 2>&1
	}
	packet q1 || done_hooks
	np=$(pool_count n1)
	snap n1
	pm "$M/q1"
	rc=$?
	if grep -q -i -e 'mount' -e 'unshare' "$P/out"; then
		sed 's/^/  | /' "$P/out"
		not_ok "procmail: cannot run it in a mount namespace of its own (as above)"
	fi
	expect_eq "procmail: exit status of a commit" "$rc" 0
	delta n1 "in_forward=1" "procmail"
	expect_eq "procmail: pool entries gained" "$(($(pool_count n1) - np))" 1
	packet q2 || done_hooks
	chmod 000 "$SPOOL/pool"
	pm "$M/q2"
	expect_eq "procmail, unusable spool: exit status 75 for the MTA" "$?" 75
	chmod 0700 "$SPOOL/pool"
	expect_eq "procmail, unusable spool: pool entries gained" "$(($(pool_count n1) - np))" 1
	# (an empty system mailbox is what procmail makes at its start)
	if [ -n "$(find "$P/varmail" -type f -size +0c)" ] || [ -e "$P/mbox" ]; then
		not_ok "procmail filed a mail in a mailbox"
	else
		ok "procmail filed nothing in a mailbox"
	fi
fi

echo "--- 4. cron/mixnode and cron/crontab"
# cron_field VALUE MIN MAX: a list of *, N, N-M, each with an optional /STEP
cron_field() {
	local item a b IFS=, -
	set -f
	[ -n "$1" ] || return 1
	for item in $1; do
		case $item in */*) [[ ${item#*/} =~ ^[1-9][0-9]*$ ]] || return 1; item=${item%%/*};; esac
		[ "$item" = '*' ] && continue
		[[ $item =~ ^([0-9]+)(-([0-9]+))?$ ]] || return 1
		a=${BASH_REMATCH[1]}
		b=${BASH_REMATCH[3]:-$a}
		[ "$a" -ge "$2" ] && [ "$b" -le "$3" ] && [ "$a" -le "$b" ] || return 1
	done
	return 0
}
# cron_lines FILE: the job lines (no comments, blanks or VAR=value lines)
cron_lines() {
	payload "$1" | grep -v -E '^[A-Za-z_][A-Za-z0-9_]*='
}
# cron_run DESC COMMAND: the command as cron would run it: /bin/sh -c, as
# the node's user
cron_run() {
	as_user /bin/sh -c "$2" >"$T/cron.out" 2>&1
	RC=$?
}
for f in mixnode crontab; do
	[ "$f" = mixnode ] && sys=1 || sys=0
	jobs=0
	while IFS= read -r l; do
		jobs=$((jobs + 1))
		read -r mi ho dm mo dw rest <<<"$l"
		cron_field "$mi" 0 59 && cron_field "$ho" 0 23 && cron_field "$dm" 1 31 &&
		    cron_field "$mo" 1 12 && cron_field "$dw" 0 7 &&
			ok "cron/$f job $jobs: five valid time fields" ||
			not_ok "cron/$f job $jobs: bad time fields: $mi $ho $dm $mo $dw"
		if [ "$sys" = 1 ]; then
			read -r u cmd <<<"$rest"
			expect_eq "cron/$f job $jobs: runs as the node's user" "$u" mixnode
		else
			cmd=$rest
		fi
		case $cmd in
		*"mixnode -c "*" flush"|*"mixnode -c "*" flush "*) what=flush ;;
		*"mixnode -c "*" publish"|*"mixnode -c "*" publish "*) what=publish ;;
		*) not_ok "cron/$f job $jobs: neither flush nor publish: $cmd"; continue ;;
		esac
		cmd=$(echo "$cmd" | subst)
		case $cmd in
		"$T/bin/mixnode -c $CONF "*|"out=\$($T/bin/mixnode -c $CONF "*) ;;
		*) not_ok "cron/$f job $jobs: the command does not start with the mixnode path: $cmd" ;;
		esac
		if [ "$what" = flush ]; then
			r0=$(stat_get n1 rounds)
			cron_run "$f" "$cmd"
			expect_eq "cron/$f flush: exit status" "$RC" 0
			expect_eq "cron/$f flush: silent when it works" "$(wc -c <"$T/cron.out")" 0
			expect_eq "cron/$f flush: one round ran" "$(($(stat_get n1 rounds) - r0))" 1
			# A flush that fails must say so, for cron to mail it
			chmod 000 "$SPOOL"
			cron_run "$f" "$cmd"
			chmod 0700 "$SPOOL"
			grep -q "mixnode" "$T/cron.out" &&
				ok "cron/$f flush: a failing flush prints its error" ||
				not_ok "cron/$f flush: a failing flush printed nothing"
		else
			rm -f "$SPOOL/descriptor"
			cron_run "$f" "$cmd"
			expect_eq "cron/$f publish: exit status" "$RC" 0
			expect_eq "cron/$f publish: silent when it works" "$(wc -c <"$T/cron.out")" 0
			[ -s "$SPOOL/descriptor" ] && ok "cron/$f publish: the descriptor is written" ||
				not_ok "cron/$f publish: no descriptor"
		fi
	done < <(cron_lines "$H/cron/$f")
	expect_eq "cron/$f: two jobs" "$jobs" 2
done

echo "--- 5. systemd units"
SD=$T/systemd
mkdir "$SD" || hard "mkdir $SD"
for u in mixnode-flush.service mixnode-flush.timer mixnode-publish.service mixnode-publish.timer; do
	[ -f "$H/systemd/$u" ] || { not_ok "systemd/$u is missing"; continue; }
	subst <"$H/systemd/$u" >"$SD/$u"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# --man=no: the manual pages are not installed by make check.
	# Any output at all (an unknown key, a bad value: systemd only warns
	# and goes on) counts as a failure.
	(cd "$SD" && systemd-analyze verify --man=no ./*.service ./*.timer) >"$T/verify.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$T/verify.out" ]; then
		ok "systemd-analyze verify: no findings"
	else
		not_ok "systemd-analyze verify (exit $rc):"
		sed 's/^/  | /' "$T/verify.out"
	fi
else
	echo "note: systemd-analyze is not installed: the units are not verified"
fi
for u in mixnode-flush.service mixnode-publish.service; do
	exe=$(sed -n 's/^ExecStart=//p' "$SD/$u")
	usr=$(sed -n 's/^User=//p' "$SD/$u")
	expect_eq "systemd/$u: User= is the node's user" "$usr" "$TESTUSER"
	case $exe in "$T/bin/mixnode -c $CONF "*) ;; *) not_ok "systemd/$u: ExecStart= is '$exe'" ;; esac
	grep -qx "ReadWritePaths=$SPOOL" "$SD/$u" && ok "systemd/$u: the spool is writable" ||
		not_ok "systemd/$u: no ReadWritePaths= for the spool"
	# ExecStart= without a shell, split on blanks as systemd does here
	read -r -a argv <<<"$exe"
	as_user "${argv[@]}" >"$T/unit.out" 2>&1
	expect_eq "systemd/$u: ExecStart= runs as the node's user" "$?" 0
done
done_hooks
