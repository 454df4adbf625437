#!/bin/bash
# flush.sh - `mixnode flush`, the flusher, end to end with Maildir relays.
#
# Three nodes (n1, n2 middlemen, n3 the exit), each handing its mail to a
# Maildir of its own; the test carries each mail to the next node's
# receive hook by hand. Cases:
#   1. a message through n1 -> n2 -> n3: the exact mail the exit delivers
#      (anonymous From, Date, Message-ID shape, the abuse contact, the
#      sender's To/Subject/body, nothing of the sender's headers) and the
#      counters at every hop;
#   2. the threshold rule: nothing leaves below it, everything at it;
#   3. the exit policy: blocked destination, header filter, too many
#      recipients, a body that is no message: refused, counted, gone;
#   4. a middleman given a final-hop packet re-wraps it for the exit;
#   5. dummies: made per round, sent to known nodes and dropped there;
#      a node that knows no other node sends them through itself;
#   6. a relay that refuses for now: entries wait in defer/, then go
#      once their time has come (MIXNODE_TEST_NOW);
#   7. a damaged entry goes to corrupt/;
#   8. two flushes at once, and kill -9 in a loop: every packet leaves,
#      a final-hop mail is never delivered twice, forwarded duplicates
#      are dropped by the next hop's replay cache.
# Every loop is bounded.
. "${top_srcdir:-.}/tests/lib.sh"

COMMON="mixing = threshold
mix_threshold = 1
dummy_per_round = 0
dummy_per_inbound_permille = 0"
md() { echo "$T/$1/md"; }
node_make n1 "$COMMON" "relay = maildir:$(md n1)" || finish
node_make n2 "$COMMON" "relay = maildir:$(md n2)" || finish
as_user mkdir -p "$T/n3" || hard "mkdir n3"
as_user sh -c "printf '%s\n' '# test blocklist' '*@blocked.test' 'evil.test' > '$T/n3/block'"
as_user sh -c "printf '%s\n' 'Subject: *forbidden*' > '$T/n3/hfilter'"
node_make n3 "$COMMON" "relay = maildir:$(md n3)" "exit = yes" \
    "exit_from = Anonymous <nobody@mix-n3.test>" "abuse_contact = abuse@mix-n3.test" \
    "exit_blocklist = $T/n3/block" "exit_header_filter = $T/n3/hfilter" \
    "exit_max_recipients = 3" || finish
D1=$(node_desc n1)
D2=$(node_desc n2)
D3=$(node_desc n3)
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"

# flush NAME [ENV=VALUE...]: one run; $RC; output in $T/NAME/flush.out
flush() {
	local n=$1
	shift
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" flush \
	    >"$T/$n/flush.out" 2>&1
	RC=$?
	cat "$T/$n/flush.out" >>"$T/$n/flush.log"
	[ "$RC" -eq 0 ] || sed "s/^/  | $n flush: /" "$T/$n/flush.out"
}
# spool_count NAME DIR: entries in the spool's DIR
spool_count() { ls -A "$(node_spool "$1")/$2" | grep -c .; }

# new_mails NAME: the files in NAME's Maildir new/ not yet taken, then
# marks them taken (moved to cur/)
new_mails() {
	local d f
	d=$(md "$1")
	for f in $(ls "$d/new" 2>/dev/null | LC_ALL=C sort); do
		as_user mv "$d/new/$f" "$d/cur/$f" && echo "$d/cur/$f"
	done
}
new_count() { ls "$(md "$1")/new" 2>/dev/null | wc -l; }

# carry FROM TO: every new mail of FROM into TO's hook; prints how many
carry() {
	local f k=0
	for f in $(new_mails "$1"); do
		receive "$2" "$f"
		[ "$RC" -eq 0 ] || not_ok "carry $1 -> $2: receive exited $RC"
		k=$((k + 1))
	done
	echo "$k"
}

# msg FILE TO SUBJECT [EXTRA-HEADER]: a whole body (doc/body-format.md:
# version 1, type 1) holding a message (doc/message-format.md)
msg() {
	as_user sh -c "{ printf '\001\001'; printf 'To: %s\nSubject: %s\n%sMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nThe meeting is at the old mill at %s.\n' '$2' '$3' '${4:-}' '$3'; } > '$1'"
}

# pkt OUT BODY DESC...: an armored mail for the path
pkt() {
	local out=$1 body=$2
	shift 2
	mkpacket -B "$body" "$@" >"$out" 2>"$out.err" || { not_ok "mkpacket failed"; cat "$out.err"; }
}

# --- 1. through three hops ----------------------------------------------------
msg "$M/b1" "alice@sink.test" "Flush test 7f3a"
pkt "$M/p1" "$M/b1" "$D1" "$D2" "$D3"
snap n1; snap n2; snap n3
receive n1 "$M/p1"
expect_rc "hop 1: receive" 0
flush n1
expect_rc "hop 1: flush" 0
expect_eq "hop 1: pool empty after the round" "$(pool_count n1)" 0
expect_eq "hop 1: one mail out" "$(new_count n1)" 1
f=$(ls "$(md n1)/new/"* 2>/dev/null | head -n 1)
grep -q "^To: $(node_addr n2)$" "$f" && ok "hop 1: the mail goes to n2" || not_ok "hop 1: To: is not n2"
grep -q "^From: $(node_addr n1)$" "$f" && ok "hop 1: From: is n1's address" || not_ok "hop 1: From:"
expect_eq "hop 1: the header is the one shape of a packet mail (src/pktmail.h)" \
    "$(sed -n '/^$/q;s/:.*//p' "$f" | tr '\n' ' ')" \
    "From To Date Message-ID MIME-Version Content-Type Content-Transfer-Encoding "
grep -q '^-----BEGIN MIXMAIL PACKET-----$' "$f" && ok "hop 1: an armored packet" ||
	not_ok "hop 1: no armor"
delta n1 "in_forward=1 out_forward=1 rounds=1 pool_size=1" "hop 1"
expect_eq "hop 1 -> 2 carried" "$(carry n1 n2)" 1
flush n2
expect_eq "hop 2 -> 3 carried" "$(carry n2 n3)" 1
delta n2 "in_forward=1 out_forward=1 rounds=1 pool_size=1" "hop 2"
flush n3
expect_rc "exit: flush" 0
delta n3 "in_deliver=1 out_deliver=1 rounds=1 pool_size=1" "exit"
expect_eq "exit: one mail delivered" "$(new_count n3)" 1
f=$(ls "$(md n3)/new/"* 2>/dev/null | head -n 1)
as_user cat "$f" >"$M/delivered1" 2>/dev/null
hdr() { sed -n '/^$/q;p' "$M/delivered1" | grep -i "^$1:" | sed "s/^[^:]*: //"; }
expect_eq "exit: From" "$(hdr From)" "Anonymous <nobody@mix-n3.test>"
expect_eq "exit: To" "$(hdr To)" "alice@sink.test"
expect_eq "exit: Subject" "$(hdr Subject)" "Flush test 7f3a"
case $(hdr Message-ID) in
"<"[0-9a-f]*"@mix-n3.test>") ok "exit: Message-ID is random hex at the node's domain" ;;
*) not_ok "exit: Message-ID $(hdr Message-ID)" ;;
esac
case $(hdr Date) in
*" +0000") ok "exit: Date in UTC" ;;
*) not_ok "exit: Date $(hdr Date)" ;;
esac
grep -q "abuse@mix-n3.test" "$M/delivered1" && ok "exit: the abuse contact is named" ||
	not_ok "exit: no abuse contact"
grep -q "^The meeting is at the old mill at Flush test 7f3a.$" "$M/delivered1" &&
	ok "exit: the body" || not_ok "exit: body missing"
if grep -qi -e '^Received:' -e '^X-' -e 'mkpacket' -e 'n1@' -e 'n2@' "$M/delivered1"; then
	not_ok "exit: the delivered mail names something of the path"
else
	ok "exit: nothing of the path in the delivered mail"
fi
new_mails n3 >/dev/null
for n in n1 n2 n3; do
	expect_eq "$n: out/ and sending/ empty" "$(spool_count $n out)$(spool_count $n sending)" 00
done

# --- 2. the threshold ------------------------------------------------------------
node_make t1 "mixing = threshold" "mix_threshold = 5" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md t1)" || finish
DT=$(node_desc t1)
for i in 1 2 3 4 5; do pkt "$M/t$i" "$M/b1" "$DT" "$D3"; done
for i in 1 2 3 4; do receive t1 "$M/t$i"; done
flush t1
expect_eq "threshold 5, 4 pooled: nothing leaves" "$(new_count t1)" 0
expect_eq "threshold 5, 4 pooled: 4 stay" "$(pool_count t1)" 4
receive t1 "$M/t5"
flush t1
expect_eq "threshold 5, 5 pooled: all leave" "$(new_count t1)" 5
expect_eq "threshold 5, 5 pooled: pool empty" "$(pool_count t1)" 0

# --- 3. the exit policy -------------------------------------------------------------
msg "$M/bb" "victim@blocked.test" "blocked"
msg "$M/bs" "bob@sub.evil.test" "blocked by domain"
msg "$M/bh" "carol@sink.test" "a forbidden subject"
msg "$M/br" "a@sink.test, b@sink.test, c@sink.test, d@sink.test" "too many"
as_user sh -c "printf '\001\001Not a message at all\n' > '$M/bx'"
as_user sh -c "printf '\001\001From: someone@else.test\nTo: x@sink.test\n\nbody\n' > '$M/bf'"
for b in bb bs bh br bx bf; do pkt "$M/p$b" "$M/$b" "$D3"; done
snap n3
for b in bb bs bh br bx bf; do receive n3 "$M/p$b"; done
flush n3
expect_eq "policy: nothing delivered" "$(new_count n3)" 0
delta n3 "in_deliver=6 refuse_blocked=2 refuse_header=1 refuse_rcpts=1 drop_body=2 rounds=1 pool_size=6" \
    "policy"
expect_eq "policy: pool empty" "$(pool_count n3)" 0
expect_eq "policy: failed/ empty" "$(spool_count n3 failed)" 0

# an exit whose own From would make every mail invalid refuses to run
node_make e9 "$COMMON" "exit = yes" "exit_from = Nobody at all" "relay = maildir:$(md e9)" || finish
pkt "$M/pe9" "$M/b1" "$(node_desc e9)"
receive e9 "$M/pe9"
flush e9 >/dev/null
expect_eq "bad exit_from: flush exits 78" "$RC" 78
grep -q 'exit_from' "$T/e9/flush.out" && ok "bad exit_from: the message names the setting" ||
	not_ok "bad exit_from: no message naming the setting"
expect_eq "bad exit_from: the entry stays in the pool" "$(pool_count e9)" 1

# --- 4. a middleman re-wraps a final-hop packet ----------------------------------------
mixnode -c "$(node_conf n1)" nodes import "$D3" >/dev/null 2>&1 || not_ok "n1: import n3"
msg "$M/bm" "dave@sink.test" "Rewrapped 51c"
pkt "$M/pm" "$M/bm" "$D1"
snap n1
receive n1 "$M/pm"
flush n1
delta n1 "in_deliver=1 out_forward=1 rounds=1 pool_size=1" "middleman"
f=$(ls "$(md n1)/new/"* 2>/dev/null | head -n 1)
grep -q "^To: $(node_addr n3)$" "$f" 2>/dev/null && ok "middleman: re-wrapped for the exit n3" ||
	not_ok "middleman: not sent to n3"
expect_eq "middleman -> exit carried" "$(carry n1 n3)" 1
flush n3
f=$(ls "$(md n3)/new/"* 2>/dev/null | head -n 1)
grep -q "^Subject: Rewrapped 51c" "$f" 2>/dev/null && ok "middleman: the exit delivered it" ||
	not_ok "middleman: not delivered"
new_mails n3 >/dev/null

# --- 5. dummies ------------------------------------------------------------------------
node_make d1 "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 5" \
    "dummy_pool_permille = 0" "dummy_hops = 2" "relay = maildir:$(md d1)" || finish
mixnode -c "$(node_conf d1)" nodes import "$D1" "$D2" >/dev/null 2>&1 || not_ok "d1: import"
total=0
for r in 1 2 3 4 5 6; do
	snap d1
	flush d1
	k=$(new_count d1)
	expect_eq "dummies round $r: out_dummy counts the mails" "$(stat_get d1 out_dummy)" \
	    $(( $(awk '$1 == "out_dummy" { print $2 }' "$T/d1/snap") + k ))
	total=$((total + k))
	for f in $(new_mails d1); do
		to=$(sed -n 's/^To: //p' "$f" | head -n 1)
		case $to in
		"$(node_addr n1)") receive n1 "$f" ;;
		"$(node_addr n2)") receive n2 "$f" ;;
		*) not_ok "dummy to an unknown node: $to" ;;
		esac
	done
done
[ "$total" -gt 0 ] && [ "$total" -le 60 ] && ok "dummies: $total in 6 rounds (mean 5 per round)" ||
	not_ok "dummies: $total in 6 rounds"
# the first hop forwards them; after the second they end (dropped, counted)
snap n1; snap n2
flush n1; flush n2
k1=$(carry n1 n2); k2=$(carry n2 n1)
flush n1; flush n2
expect_eq "dummies: none left in flight" "$(new_count n1)$(new_count n2)" 00
expect_eq "dummies: every one ended at its last hop" \
    $(( $(stat_get n1 in_dummy) + $(stat_get n2 in_dummy) )) \
    $(( $(awk '$1 == "in_dummy" { print $2 }' "$T/n1/snap") + $(awk '$1 == "in_dummy" { print $2 }' "$T/n2/snap") + total ))
# a node that knows nobody sends them through itself
node_make d2 "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 3" \
    "dummy_pool_permille = 1000" "relay = maildir:$(md d2)" || finish
flush d2
flush d2
k=$(new_count d2)
[ "$k" -gt 0 ] || { flush d2; flush d2; k=$(new_count d2); }
[ "$k" -gt 0 ] && ok "dummies through itself: $k sent" || not_ok "dummies through itself: none"
snap d2
carry d2 d2 >/dev/null
expect_eq "dummies through itself: dropped on return" "$(stat_get d2 in_dummy)" \
    $(( $(awk '$1 == "in_dummy" { print $2 }' "$T/d2/snap") + k ))

# --- 6. the relay refuses for now -------------------------------------------------------
NOW=$(date +%s)
pkt "$M/pd" "$M/b1" "$D1" "$D3"
receive n1 "$M/pd"
as_user chmod 0500 "$(md n1)/tmp"
snap n1
flush n1 MIXNODE_TEST_NOW=$NOW
expect_rc "deferred: flush" 0
delta n1 "out_temp=1 rounds=1 pool_size=1" "deferred"
expect_eq "deferred: waits in defer/" "$(spool_count n1 defer)" 1
as_user chmod 0700 "$(md n1)/tmp"
flush n1 MIXNODE_TEST_NOW=$((NOW + 60))
expect_eq "deferred: not before its time" "$(new_count n1)" 0
flush n1 MIXNODE_TEST_NOW=$((NOW + 1000))
expect_eq "deferred: sent when due" "$(new_count n1)" 1
expect_eq "deferred: defer/ empty" "$(spool_count n1 defer)" 0
new_mails n1 >/dev/null

# --- 7. a damaged entry ---------------------------------------------------------------
pkt "$M/pc" "$M/b1" "$D1" "$D3"
receive n1 "$M/pc"
e=$(pool_names n1 | head -n 1)
as_user sh -c "printf X | dd of='$(node_spool n1)/pool/$e' bs=1 seek=200 conv=notrunc 2>/dev/null"
snap n1
flush n1
delta n1 "corrupt=1 rounds=1 pool_size=1" "damaged entry"
expect_eq "damaged entry: kept in corrupt/" "$(ls -A "$(node_spool n1)/corrupt" | grep -c "$e")" 1

# --- 8. concurrency and crashes --------------------------------------------------------
node_make k1 "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$(md k1)" "exit = yes" || finish
node_make k2 "relay = maildir:$(md k2)" || finish
DK1=$(node_desc k1)
DK2=$(node_desc k2)
N=120
mkk() {
	msg "$M/kb$1" "r$1@sink.test" "crash $1"
	if [ $(($1 % 2)) -eq 0 ]; then pkt "$M/k$1" "$M/kb$1" "$DK1"; else pkt "$M/k$1" "$M/kb$1" "$DK1" "$DK2"; fi
	receive k1 "$M/k$1"
}
for i in $(seq 1 $((N / 2))); do mkk $i; done
expect_eq "crash: $((N / 2)) pooled" "$(pool_count k1)" $((N / 2))
# two at once, one of them killed
flush_bg() {
	as_user "$T/bin/mixnode" -c "$(node_conf k1)" flush >>"$T/k1/flush.log" 2>&1 &
}
flush_bg; p1=$!
flush_bg; p2=$!
sleep 0.05
kill -9 $p1 2>/dev/null
wait $p1 $p2 2>/dev/null
# then kill -9 at random moments until the pool is empty
for i in $(seq $((N / 2 + 1)) $N); do mkk $i; done
kills=0
for i in $(seq 1 60); do
	[ "$(pool_count k1)" -eq 0 ] && [ "$(spool_count k1 out)" -eq 0 ] && break
	flush_bg; p=$!
	sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 $p 2>/dev/null && kills=$((kills + 1))
	wait $p 2>/dev/null
done
flush k1
flush k1
expect_eq "crash: pool and out/ empty after $kills kills" \
    "$(pool_count k1)$(spool_count k1 out)" 00
# every final-hop mail at most once; delivered + uncertain = all
uncertain=$(spool_count k1 failed)
dups=0
delivered=0
for i in $(seq 2 2 $N); do
	c=$(grep -l "^To: r$i@sink.test$" "$(md k1)"/new/* 2>/dev/null | wc -l)
	[ "$c" -gt 1 ] && dups=$((dups + 1))
	delivered=$((delivered + c))
done
expect_eq "crash: no final-hop mail delivered twice" "$dups" 0
expect_eq "crash: final-hop mails delivered or kept in failed/" $((delivered + uncertain)) $((N / 2))
expect_eq "crash: out_uncertain counts failed/" "$(stat_get k1 out_uncertain)" "$uncertain"
# forwarded packets: duplicates are possible, the next hop keeps one of each
snap k2
fw=0
for f in $(grep -L '^To: r[0-9]*@sink.test$' "$(md k1)"/new/* 2>/dev/null); do
	receive k2 "$f"
	fw=$((fw + 1))
done
expect_eq "crash: every forwarded packet reached the next hop once" "$(pool_count k2)" $((N / 2))
expect_eq "crash: the rest were replays" "$(stat_get k2 drop_replay)" $((fw - N / 2))

# --- privacy of the flusher's messages ------------------------------------------------
if cat "$T"/*/flush.log | grep -q -e '@sink.test' -e 'alice' -e 'meeting' -e '[0-9a-f]\{32\}'; then
	not_ok "a flush message names an address, a body or an entry"
	cat "$T"/*/flush.log | grep -e '@sink.test' -e 'alice' -e '[0-9a-f]\{32\}' | head -n 5 | sed 's/^/  | /'
else
	ok "flush messages name no address, body or entry"
fi
finish
