#!/bin/bash
# autoreply.sh - mail to the node that holds no packet (doc/autoreply.md):
# the five auto-replies against golden files, rate limits (per requester,
# in total, and hooks at once), every loop signal, other mail kept or
# discarded within its bounds, complaints forwarded to the operator, the
# outbox sent by flush through a Maildir relay with its retry and drop,
# the hook's 75 with nothing changed, and that no address or subject
# reaches a log, the statistics or the rate table.
# The clock is fixed (MIXNODE_TEST_NOW) for every program, so the goldens'
# dates and the statistics report are fixed too. MIX_REGEN_GOLDEN=1
# rewrites tests/autoreply/*.eml from this build (read the diff then).
. "${top_srcdir:-.}/tests/lib.sh"

G=$S/tests/autoreply
NOW=1700000000			# 2023-11-14 22:13:20 UTC
export MIXNODE_TEST_NOW=$NOW
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"

# Dummies off: the relay's Maildir then holds only the outbox's mails.
QUIET=("dummy_per_round = 0" "dummy_per_inbound_permille = 0")
printf 'Help text of node n1, written by its operator.\nSend remailer-key for the key.\n' |
	as_user sh -c "cat > '$T/help.txt'"
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZZZZZZ operator key of n1\n-----END PGP PUBLIC KEY BLOCK-----\n' |
	as_user sh -c "cat > '$T/admin.asc'"
node_make n1 "relay = maildir:$T/n1/relay" "${QUIET[@]}" "help_file = $T/help.txt" \
	"admin_key_file = $T/admin.asc" "other_mail = keep" "other_mail_max_count = 2" \
	"complaints_address = abuse-n1@mix-n1.test" "operator_address = op@operator.test" || finish
node_make n2 "relay = maildir:$T/n2/relay" "${QUIET[@]}" "exit = yes" \
	"help_file = $T/missing-help.txt" || finish

SUBJ_SECRET="Private subject 9f3e"
REQ=requester-5b2@example.test
# req FILE SUBJECT FROM [HEADER-LINE...]: a request mail in $M/FILE
req() {
	local f=$1 subj=$2 from=$3 h
	shift 3
	{
		printf 'From: %s\n' "$from"
		printf 'To: someone@mix.test\n'
		printf 'Subject: %s\n' "$subj"
		printf 'Date: Tue, 14 Nov 2023 22:00:00 +0000\n'
		printf 'Message-ID: <req-77aa@example.test>\n'
		for h in "$@"; do printf '%s\n' "$h"; done
		printf '\nPlease answer. %s\n' "$SUBJ_SECRET"
	} | as_user sh -c "cat > '$M/$f'"
}

# rcv NODE MAIL SENDER RECIPIENT [ENV=VALUE...]: the hook with this envelope; $RC
rcv() {
	local n=$1 mail=$2 snd=$3 rcp=$4
	shift 4
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" receive "$snd" "$rcp" \
	    <"$mail" >"$T/$n/last.out" 2>"$T/$n/last.err"
	RC=$?
	cat "$T/$n/last.err" >>"$T/$n/hook.err"
}

# flush NODE [ENV=VALUE...]: one flush run; $RC
flush() {
	local n=$1
	shift
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" flush >"$T/$n/flush.out" 2>&1
	RC=$?
	cat "$T/$n/flush.out" >>"$T/$n/flush.log"
}

outbox_count() { ls -A "$(node_spool "$1")/outbox" 2>/dev/null | grep -c '^[0-9a-f]\{32\}$'; }
relay_new() { ls -A "$T/$1/relay/new" 2>/dev/null | LC_ALL=C sort; }
op_count() { ls -A "$(node_spool "$1")/operator/new" 2>/dev/null | wc -l; }

# golden NAME FILE: FILE (Message-ID and boundary masked) against $G/NAME.eml
golden() {
	local name=$1 f=$2 got=$T/golden.$1
	sed -e 's/^Message-ID: <[0-9a-f]\{32\}@/Message-ID: <MESSAGE-ID@/' \
	    -e 's/=_mixnode_[0-9a-f]\{32\}/=_mixnode_BOUNDARY/g' "$f" >"$got"
	if [ -n "${MIX_REGEN_GOLDEN:-}" ]; then
		cp "$got" "$G/$name.eml" && ok "$name: golden file rewritten"
		return
	fi
	if cmp -s "$got" "$G/$name.eml"; then
		ok "$name: the reply is the golden one"
	else
		not_ok "$name: the reply differs from tests/autoreply/$name.eml"
		diff -u "$G/$name.eml" "$got" | head -30 | sed 's/^/  | /'
	fi
}

# answer NODE MAIL NAME: a request answered: queued, sent by flush, golden
answer() {
	local n=$1 mail=$2 name=$3 before new sent0
	before=$(relay_new "$n")
	snap "$n"
	rcv "$n" "$mail" "$HOOK_SENDER" "$(node_addr "$n")"
	expect_eq "$name: hook exit status" "$RC" 0
	delta "$n" "reply_queued=1" "$name"
	expect_eq "$name: one entry in outbox/" "$(outbox_count "$n")" 1
	sent0=$(stat_get "$n" outbox_sent)
	flush "$n"
	expect_eq "$name: flush exit status" "$RC" 0
	expect_eq "$name: outbox/ empty after the flush" "$(outbox_count "$n")" 0
	expect_eq "$name: outbox_sent" "$(stat_get "$n" outbox_sent)" $((sent0 + 1))
	new=$(LC_ALL=C comm -13 <(echo "$before") <(relay_new "$n") | grep .)
	expect_eq "$name: one mail handed to the relay" "$(echo "$new" | grep -c .)" 1
	LAST=$T/$n/relay/new/$(echo "$new" | head -1)
	[ -f "$LAST" ] || return
	if [ "$name" = key ]; then
		# the descriptor's keys are random: its header block only (the body below)
		sed '/^$/q' "$LAST" >"$T/key.head"
		golden key-header "$T/key.head"
	else
		golden "$name" "$LAST"
	fi
}

# refused NODE MAIL DESC COUNTER [SENDER]: not answered, counted, nothing queued
refused() {
	local n=$1 mail=$2 desc=$3 c=$4 snd=${5-$HOOK_SENDER}
	snap "$n"
	rcv "$n" "$mail" "$snd" "$(node_addr "$n")"
	expect_eq "$desc: hook exit status" "$RC" 0
	delta "$n" "$c=1" "$desc"
	expect_eq "$desc: nothing in outbox/" "$(outbox_count "$n")" 0
}

# --- 1. the replies, golden ------------------------------------------------------
req none.eml "Minutes of the board" "Carol <$REQ>"
snap n1
rcv n1 "$M/none.eml" "$HOOK_SENDER" "$(node_addr n1)"
delta n1 "drop_nopacket=1 other_kept=1" "a mail that is no request, kept"

req conf.eml "remailer-conf" "Carol <$REQ>"
answer n1 "$M/conf.eml" conf
req help.eml "  REMAILER-Help  " "Carol <$REQ>"
answer n1 "$M/help.eml" help-file
req adminkey.eml "remailer-adminkey" "$REQ"
answer n1 "$M/adminkey.eml" adminkey
# The statistics are those the steps above counted, at the fixed clock.
req stats.eml "=?utf-8?q?remailer-stats?=" "Dave <dave-11@example.test>"
answer n1 "$M/stats.eml" stats
req key.eml "remailer-key" "Dave <dave-11@example.test>" "Reply-To: Erin <erin-22@example.test>"
answer n1 "$M/key.eml" key
if [ -n "${LAST:-}" ]; then
	sed '1,/^$/d' "$LAST" | cmp -s - "$(node_desc n1)" &&
		ok "remailer-key: the body is the published descriptor, byte for byte" ||
		not_ok "remailer-key: the body is not the descriptor"
	grep -q '^To: erin-22@example.test$' "$LAST" && ok "remailer-key: answered to Reply-To" ||
		not_ok "remailer-key: not sent to the Reply-To address"
fi
# n2: no admin key, help_file missing (the built-in text), an exit's conf
req n2-help.eml "remailer-help" "$REQ"
answer n2 "$M/n2-help.eml" help-default
req n2-adminkey.eml "remailer-adminkey" "$REQ"
answer n2 "$M/n2-adminkey.eml" noadminkey
req n2-conf.eml "remailer-conf" "$REQ"
answer n2 "$M/n2-conf.eml" conf-exit
grep -q "help_file" "$T/n2/hook.err" && ok "a missing help_file is logged" ||
	not_ok "a missing help_file is not logged"

# --- 2. subjects that are no command --------------------------------------------
for s in "Re: remailer-key" "remailer-key please" "remailer" ""; do
	req other.eml "$s" "$REQ"
	snap n2
	rcv n2 "$M/other.eml" "$HOOK_SENDER" "$(node_addr n2)"
	delta n2 "drop_nopacket=1" "subject '$s': other mail, discarded"
done
expect_eq "other_mail = discard: nothing kept" "$(op_count n2)" 0

# --- 3. loop protection ---------------------------------------------------------
req l.eml "remailer-help" "$REQ" "Auto-Submitted: auto-replied"
refused n1 "$M/l.eml" "Auto-Submitted: auto-replied" reply_loop
req l.eml "remailer-help" "$REQ" "Auto-Submitted: auto-generated (vacation)"
refused n1 "$M/l.eml" "Auto-Submitted: auto-generated" reply_loop
for p in bulk list junk " Bulk "; do
	req l.eml "remailer-help" "$REQ" "Precedence: $p"
	refused n1 "$M/l.eml" "Precedence: $p" reply_loop
done
for h in "List-Id: <board.example.test>" "List-Unsubscribe: <mailto:x@example.test>" \
    "list-post: <mailto:x@example.test>"; do
	req l.eml "remailer-help" "$REQ" "$h"
	refused n1 "$M/l.eml" "$h" reply_loop
done
for a in MAILER-DAEMON@example.test postmaster@example.test noreply@example.test \
    No-Reply@example.test "$(node_addr n1)" "N1@MIX-N1.TEST"; do
	req l.eml "remailer-help" "Someone <$a>"
	refused n1 "$M/l.eml" "reply address $a" reply_loop
done
req l.eml "remailer-help" "$REQ" "Reply-To: noreply@example.test"
refused n1 "$M/l.eml" "Reply-To a no-reply address (From valid)" reply_loop
for f in "not an address" "a@example.test, b@example.test" "<a b@example.test>" \
    "Group: a@example.test;" "x@-bad..domain"; do
	req l.eml "remailer-help" "$f"
	refused n1 "$M/l.eml" "no valid reply address ($f)" reply_loop
done
req l.eml "remailer-help" "$REQ"
refused n1 "$M/l.eml" "envelope sender <>" reply_loop "<>"
refused n1 "$M/l.eml" "empty envelope sender" reply_loop ""
req l.eml "remailer-help" "fresh-6@example.test" "Auto-Submitted: no"
snap n1
rcv n1 "$M/l.eml" - "$(node_addr n1)"
delta n1 "reply_queued=1" "Auto-Submitted: no, envelope sender not given: answered"
flush n1

# --- 4. rate limits -------------------------------------------------------------
node_make n3 "relay = maildir:$T/n3/relay" "${QUIET[@]}" "autoreply_per_requester = 2" \
	"autoreply_per_hour = 3" || finish
req a.eml "remailer-help" "a-1@example.test"
req A.eml "remailer-help" "A-1@EXAMPLE.TEST"
req b.eml "remailer-help" "b-2@example.test"
# rl NODE MAIL DESC COUNTER [ENV...]
rl() {
	local n=$1 mail=$2 desc=$3 c=$4
	shift 4
	snap "$n"
	rcv "$n" "$mail" "$HOOK_SENDER" "$(node_addr "$n")" "$@"
	expect_eq "$desc: exit status" "$RC" 0
	delta "$n" "$c=1" "$desc"
}
rl n3 "$M/a.eml" "a, 1st" reply_queued
rl n3 "$M/A.eml" "a in upper case, 2nd" reply_queued
rl n3 "$M/a.eml" "a, 3rd of the day" reply_rate
rl n3 "$M/b.eml" "b, 1st (3rd of the hour)" reply_queued
rl n3 "$M/b.eml" "b, 2nd: the hourly total" reply_rate
rl n3 "$M/b.eml" "b, next hour" reply_queued MIXNODE_TEST_NOW=$((NOW + 3600))
rl n3 "$M/a.eml" "a, next hour, same day" reply_rate MIXNODE_TEST_NOW=$((NOW + 3600))
rl n3 "$M/a.eml" "a, next day" reply_queued MIXNODE_TEST_NOW=$((NOW + 86400))
expect_eq "rate limits: outbox entries" "$(outbox_count n3)" 5
RATE=$(node_spool n3)/autoreply.rate
expect_eq "the rate table's size" "$(stat -c %s "$RATE")" 131136
expect_eq "the rate table's mode" "$(stat -c %a "$RATE")" 600
expect_eq "the secret key's mode" "$(stat -c %a "$(node_spool n3)/autoreply.key")" 600

# twenty hooks at once, twenty requesters, five replies an hour
node_make n4 "relay = maildir:$T/n4/relay" "${QUIET[@]}" "autoreply_per_hour = 5" || finish
for i in $(seq 1 20); do req "p$i.eml" "remailer-help" "parallel-$i@example.test"; done
snap n4
pids=
for i in $(seq 1 20); do
	as_user "$T/bin/mixnode" -c "$(node_conf n4)" receive "$HOOK_SENDER" "$(node_addr n4)" \
	    <"$M/p$i.eml" >/dev/null 2>>"$T/n4/hook.err" &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
expect_eq "20 hooks at once: all exit 0" "$bad" 0
delta n4 "reply_queued=5 reply_rate=15" "20 hooks at once"
expect_eq "20 hooks at once: 5 outbox entries" "$(outbox_count n4)" 5

# --- 5. other mail: kept within its bounds -------------------------------------
req o1.eml "Hello" "$REQ"
snap n1
rcv n1 "$M/o1.eml" "$HOOK_SENDER" "$(node_addr n1)"
delta n1 "drop_nopacket=1 other_kept=1" "second other mail kept"
expect_eq "operator/new holds two mails" "$(op_count n1)" 2
f=$(ls "$(node_spool n1)/operator/new" | head -1)
cmp -s "$(node_spool n1)/operator/new/$f" "$M/none.eml" ||
	cmp -s "$(node_spool n1)/operator/new/$f" "$M/o1.eml" &&
	ok "a kept mail is the mail as it arrived" || not_ok "a kept mail differs"
snap n1
rcv n1 "$M/o1.eml" "$HOOK_SENDER" "$(node_addr n1)"
delta n1 "drop_nopacket=1 other_full=1" "third other mail: the mailbox is full"
expect_eq "operator/new still holds two" "$(op_count n1)" 2
node_make n5 "relay = maildir:$T/n5/relay" "${QUIET[@]}" "other_mail = keep" \
	"other_mail_max_bytes = 64k" || finish
{ req big.eml "Big" "$REQ"; head -c 40000 /dev/zero | tr '\0' 'x' | fold -w 70; } >/dev/null
{ cat "$M/big.eml"; head -c 40000 /dev/zero | tr '\0' 'x' | fold -w 70; } |
	as_user sh -c "cat > '$M/big2.eml'"
snap n5
rcv n5 "$M/big2.eml" "$HOOK_SENDER" "$(node_addr n5)"
rcv n5 "$M/big2.eml" "$HOOK_SENDER" "$(node_addr n5)"
delta n5 "drop_nopacket=2 other_kept=1 other_full=1" "other_mail_max_bytes"

# --- 6. complaints --------------------------------------------------------------
req c.eml "Abuse report: spam from your node" "Victim <victim-9@example.test>"
for rcpt in abuse-n1@mix-n1.test ABUSE-N1@Mix-N1.Test; do
	before=$(relay_new n1)
	snap n1
	rcv n1 "$M/c.eml" "$HOOK_SENDER" "$rcpt"
	expect_eq "complaint to $rcpt: exit status" "$RC" 0
	delta n1 "other_forwarded=1" "complaint to $rcpt"
	flush n1
	new=$(LC_ALL=C comm -13 <(echo "$before") <(relay_new n1) | grep .)
	expect_eq "complaint: one mail to the operator" "$(echo "$new" | grep -c .)" 1
	C=$T/n1/relay/new/$(echo "$new" | head -1)
done
golden complaint "$C"
# the original is inside, byte for byte, between the part's header and the closing boundary
sed -n '/^Content-Transfer-Encoding: 8bit$/,/^--=_mixnode_/p' "$C" | sed '1,2d;$d' |
	cmp -s - "$M/c.eml" && ok "complaint: the original is attached unchanged" ||
	not_ok "complaint: the attached original differs"
snap n1
rcv n1 "$M/c.eml" "$HOOK_SENDER" "$(node_addr n1)"
delta n1 "drop_nopacket=1 other_full=1" "the same mail to the node's own address: other mail"

# --- 7. the outbox: retry, drop after retry_max_age, damaged entries -------------
req r.eml "remailer-help" "retry-3@example.test"
rcv n2 "$M/r.eml" "$HOOK_SENDER" "$(node_addr n2)"
as_user chmod 0500 "$T/n2/relay/new"
snap n2
flush n2
expect_eq "relay refusing for now: flush exit status" "$RC" 0
expect_eq "relay refusing for now: the entry stays" "$(outbox_count n2)" 1
expect_eq "relay refusing for now: nothing counted as sent" "$(stat_get n2 outbox_sent)" \
	"$(awk '$1 == "outbox_sent" { print $2 }' "$T/n2/snap")"
flush n2 MIXNODE_TEST_NOW=$((NOW + 4 * 86400))
expect_eq "still refusing after 4 days: the entry stays" "$(outbox_count n2)" 1
flush n2 MIXNODE_TEST_NOW=$((NOW + 6 * 86400))
expect_eq "older than retry_max_age: dropped" "$(outbox_count n2)" 0
expect_eq "older than retry_max_age: outbox_failed" "$(stat_get n2 outbox_failed)" 1
as_user chmod 0700 "$T/n2/relay/new"
printf 'mixoutbox 1\nkind reply\ngarbage\n' |
	as_user sh -c "cat > '$(node_spool n2)/outbox/0123456789abcdef0123456789abcdef'"
flush n2
expect_eq "a damaged entry: removed" "$(outbox_count n2)" 0
expect_eq "a damaged entry: outbox_failed" "$(stat_get n2 outbox_failed)" 2

# --- 8. the hook defers with nothing changed when it cannot write -------------------
SP3=$(node_spool n3)
as_user cp "$SP3/autoreply.rate" "$T/rate.before"
as_user chmod 0500 "$SP3/outbox"
req d.eml "remailer-help" "defer-4@example.test"
snap n3
rcv n3 "$M/d.eml" "$HOOK_SENDER" "$(node_addr n3)" MIXNODE_TEST_NOW=$((NOW + 2 * 86400))
expect_eq "outbox/ not writable: exit status" "$RC" 75
delta n3 "tempfail=1" "outbox/ not writable"
cmp -s "$SP3/autoreply.rate" "$T/rate.before" && ok "outbox/ not writable: rate table unchanged" ||
	not_ok "outbox/ not writable: the rate table changed"
as_user chmod 0700 "$SP3/outbox"
expect_eq "outbox/ not writable: no entry" "$(outbox_count n3)" 5
as_user chmod 0500 "$(node_spool n5)/operator/new"
snap n5
rcv n5 "$M/o1.eml" "$HOOK_SENDER" "$(node_addr n5)"
expect_eq "operator/ not writable (keep): exit status" "$RC" 75
delta n5 "tempfail=1" "operator/ not writable (keep)"
expect_eq "operator/ not writable (keep): nothing left in tmp/" \
	"$(ls -A "$(node_spool n5)/operator/tmp" | wc -l)" 0
as_user chmod 0700 "$(node_spool n5)/operator/new"

# --- 9. settings ------------------------------------------------------------------
node_make n6 "relay = maildir:$T/n6/relay" || finish
echo "complaints_address = abuse@mix-n6.test" | as_user sh -c "cat >> '$(node_conf n6)'"
mixnode -c "$(node_conf n6)" check >"$T/n6/check.out" 2>&1
grep -q "setting operator_address: must be set" "$T/n6/check.out" &&
	ok "check: complaints_address without operator_address is a problem" ||
	{ not_ok "check does not name operator_address"; sed 's/^/  | /' "$T/n6/check.out"; }
rcv n6 "$M/o1.eml" "$HOOK_SENDER" "$(node_addr n6)"
expect_eq "the hook with that configuration: exit status" "$RC" 75
node_make n7 "relay = maildir:$T/n7/relay" "autoreply = no" || finish
req x.eml "remailer-help" "$REQ"
snap n7
rcv n7 "$M/x.eml" "$HOOK_SENDER" "$(node_addr n7)"
delta n7 "drop_nopacket=1" "autoreply = no: a request is other mail"

# --- 10. privacy ----------------------------------------------------------------------
leak=0
for w in "$REQ" example.test victim-9 erin-22 dave-11 "$SUBJ_SECRET" "$HOOK_SENDER" \
    "remailer-" "board" "Abuse report"; do
	for f in "$T"/n*/hook.err "$T"/n*/flush.log; do
		if grep -qiF -- "$w" "$f"; then
			not_ok "'$w' appears in $f"
			leak=1
		fi
	done
	for n in n1 n2 n3 n4 n5; do
		for f in stats autoreply.rate; do
			[ -f "$(node_spool $n)/$f" ] || continue
			if grep -qaiF -- "$w" "$(node_spool $n)/$f"; then
				not_ok "'$w' appears in $n's $f"
				leak=1
			fi
		done
	done
done
[ "$leak" -eq 0 ] && ok "no address or subject in a log, a statistics file or a rate table"
finish
