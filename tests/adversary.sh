#!/bin/bash
# adversary.sh - an active attacker against a real network of nodes
# (issue 7). Nodes hand their mail to Maildirs; the test carries it to the
# next node's receive hook, and plays the attacker in between.
#
#   1. Tagging. Between hop 1 and hop 2 (the mail n1's flush emits), and
#      between hop 2 and the exit, one bit is flipped in every region of
#      the packet (doc/packet-format.md; the regions and test points come
#      from tests/tamper -l, derived from src/pkt.h), several offsets per
#      region, first and last byte included. The remaining hops run. For
#      every case nothing altered is delivered: each is dropped and counted
#      with the reason of the hop that can tell (the spec lists no ignored
#      bits, so a byte-identical delivery would fail too). An untouched
#      control is delivered exactly once. Prints the region/hop table that
#      doc/SECURITY.md section 2.2 carries.
#   2. Replay. Exact copies, re-armored copies (line lengths, armor forms,
#      the five envelopes of tests/mkpacket) and copies with one byte
#      altered in each region, sent to the node after the original: one
#      commit; header changes dropped as drop_key/drop_version, payload
#      changes as drop_replay (same tag, section 10). Again after the entry
#      was flushed, and after a key rotation with the old key in grace.
#   3. n-1. A node with the default mixing (binomial) and dummy settings,
#      flooded by the attacker's packets (the test: it knows their next
#      hop, a node of its own), one target packet let in; flush rounds one
#      slot apart (MIXNODE_TEST_NOW) until the target leaves, R times.
#      Per round: which outputs the attacker cannot account for. Asserted:
#      exact accounting, the pool floor, the target leaving exactly once,
#      and (failure probability printed, below 1e-16) that dummies leave
#      both directly and from the pool; printed: the distribution.
#      doc/SECURITY.md section 2.4 explains. R = 12 repetitions (6 under
#      ASan), or $ADV_NM1_REPS.
#
# Every assertion's judge is first tried on a doctored input (an altered
# delivered mail, a second commit), so a judge that cannot fail fails.
# Nothing depends on timing; every loop is bounded.
. "${top_srcdir:-.}/tests/lib.sh"

[ -x "$B/tests/tamper" ] || hard "$B/tests/tamper is not built (make check builds it)"
cp "$B/tests/tamper" "$T/bin/" && chmod 0755 "$T/bin/tamper" || hard "cannot stage tamper"
tamper() { as_user "$T/bin/tamper" "$@"; }

M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"
md() { echo "$T/$1/md"; }

# flush NAME [ENV=VALUE...]: one run; $RC
flush() {
	local n=$1
	shift
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" flush >"$T/$n/flush.out" 2>&1
	RC=$?
	cat "$T/$n/flush.out" >>"$T/$n/flush.log"
	[ "$RC" -eq 0 ] || { not_ok "$n: flush exited $RC"; sed "s/^/  | $n flush: /" "$T/$n/flush.out"; }
}
# new_mails NAME: the new mails of NAME's Maildir, moved to cur/ (taken)
new_mails() {
	local d f
	d=$(md "$1")
	for f in $(ls "$d/new" 2>/dev/null | LC_ALL=C sort); do
		as_user mv "$d/new/$f" "$d/cur/$f" && echo "$d/cur/$f"
	done
}
new_count() { ls "$(md "$1")/new" 2>/dev/null | wc -l; }
# carry FROM TO: every new mail of FROM into TO's hook
carry() {
	local f
	for f in $(new_mails "$1"); do
		receive "$2" "$f"
		[ "$RC" -eq 0 ] || not_ok "carry $1 -> $2: receive exited $RC"
	done
}
# msg FILE TO SUBJECT: a whole body (doc/body-format.md) holding a message
msg() {
	as_user sh -c "{ printf '\001\001'; printf 'To: %s\nSubject: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nThe parcel is under the third stone of %s.\n' '$2' '$3' '$3'; } > '$1'"
}
# pkt OUT BODY DESC...: an armored mail for the path
pkt() {
	local out=$1 body=$2
	shift 2
	mkpacket -B "$body" "$@" >"$out" 2>"$out.err" || { not_ok "mkpacket failed"; cat "$out.err"; }
}
# counter_of REGION: the drop a node that can judge REGION counts
counter_of() {
	case $1 in
	version) echo drop_version ;;
	payload.*) echo drop_tampered ;;
	*) echo drop_key ;;
	esac
}

NOW=$(date +%s)
COMMON="mixing = threshold
mix_threshold = 1
dummy_per_round = 0
dummy_per_inbound_permille = 0"
node_make n1 "$COMMON" "relay = maildir:$(md n1)" || finish
node_make n2 "$COMMON" "relay = maildir:$(md n2)" || finish
node_make n3 "$COMMON" "relay = maildir:$(md n3)" "exit = yes" \
    "exit_from = Anonymous <nobody@mix-n3.test>" "abuse_contact = abuse@mix-n3.test" || finish
D1=$(node_desc n1)
D2=$(node_desc n2)
D3=$(node_desc n3)

# The regions and test points (tamper -l), and the spec's ignored regions:
# bytes a node may change without effect. doc/packet-format.md lists none
# (every header byte is under the MAC, every payload byte under the zero
# tag), so a delivery after any flip is a failure.
IGNORED_REGIONS=""
tamper -l >"$T/regions" || hard "tamper -l failed"
REGIONS=$(awk '$1 == "region" { print $2 }' "$T/regions")
expect_eq "the regions cover the packet" \
    "$(awk '$1 == "region" { if ($3 != e) bad = 1; e = $4 } END { print bad ? "gap" : e }' "$T/regions")" 20480
echo "regions: $(echo $REGIONS | wc -w), test points: $(grep -c '^point ' "$T/regions")"

# --- the judge of what the exit delivered --------------------------------------
# normal FILE: a delivered mail without the fields the exit draws afresh
normal() { as_user cat "$1" | sed '1,/^$/{/^Date: /d;/^Message-ID: /d}'; }
# judge NAME: takes NAME's new mails and prints "none", or "identical K" /
# "altered K" (K mails; altered if any differs from the reference)
judge() {
	local f k=0 alt=0
	for f in $(new_mails "$1"); do
		k=$((k + 1))
		normal "$f" | cmp -s - "$M/ref.normal" || alt=1
	done
	if [ "$k" -eq 0 ]; then echo none
	elif [ "$alt" -eq 1 ]; then echo "altered $k"
	else echo "identical $k"; fi
}

echo "--- reference: a message through n1 -> n2 -> n3, untouched (${SECONDS}s)"
msg "$M/body" "alice@sink.test" "Tagging control 4b1"
pkt "$M/ref.eml" "$M/body" "$D1" "$D2" "$D3"
receive n1 "$M/ref.eml"; flush n1; carry n1 n2; flush n2; carry n2 n3; flush n3
ref=$(new_mails n3)
expect_eq "reference: one mail delivered" "$(echo "$ref" | grep -c .)" 1
normal "$ref" >"$M/ref.normal"
grep -q "^The parcel is under the third stone of Tagging control 4b1.$" "$M/ref.normal" &&
	ok "reference: the body as sent" || not_ok "reference: body missing"
# The judge must see an altered delivery and accept an identical one
d=$(md n3)
as_user sh -c "sed 's/third stone/thirD stone/' '$ref' > '$d/new/doctored'"
expect_eq "judge self-test: an altered delivered mail is seen" "$(judge n3)" "altered 1"
as_user cp "$ref" "$d/new/copy"
expect_eq "judge self-test: an identical one is identical" "$(judge n3)" "identical 1"
as_user cp "$ref" "$d/new/copy2"
as_user sh -c "sed 's/^Subject: .*/Subject: Tagging control 4b2/' '$ref' > '$d/new/doctored2'"
expect_eq "judge self-test: one altered among several" "$(judge n3)" "altered 2"

# allowed RESULT REGION: 1 if a tagging case may end so
allowed() {
	case $1 in
	none) return 0 ;;
	"identical 1") case " $IGNORED_REGIONS " in *" $2 "*) return 0 ;; esac ;;
	esac
	return 1
}

# changes NAME: every counter's change since snap NAME, "c=n" sorted
changes() {
	stats_dump "$1" >"$T/$1/now"
	LC_ALL=C join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$T/$1/snap" "$T/$1/now" |
	    awk '{ d = $3 - $2; if (d != 0) { printf "%s%s=%d", sep, $1, d; sep = " " } }'
}
# row REGION POSITION TEXT: one cell of the table (counter names, no counts)
row() { echo "$1 $2 $(echo "$3" | sed 's/=[0-9]*//g; s/ /,/g')" >>"$T/table"; }
: >"$T/table"

echo "--- 1a. tagging between hop 1 and hop 2 (n1's output, before n2) (${SECONDS}s)"
# The control: its mail from n1 is tampered with at every header point
# (the MAC fails first, so one packet serves all), then carried untouched.
msg "$M/bodyc" "alice@sink.test" "Tagging control 4b1"
pkt "$M/c1.eml" "$M/bodyc" "$D1" "$D2" "$D3"
receive n1 "$M/c1.eml"; flush n1
c12=$(new_mails n1)
expect_eq "control reached n1's relay" "$(echo "$c12" | grep -c .)" 1
as_user mkdir "$M/pos1" "$M/pos2"
tamper -A "$M/pos1" -t "$(node_addr n2)" "$c12" >"$M/pos1/index" || not_ok "tamper -A (1)"
for r in $REGIONS; do
	case $r in payload.*) continue ;; esac
	want=$(counter_of "$r")
	k=0
	snap n2
	while read -r i name off mask; do
		[ "$name" = "$r" ] || continue
		receive n2 "$M/pos1/$i.eml"
		[ "$RC" -eq 0 ] || not_ok "$r@$off/$mask: n2 exited $RC"
		[ "$(pool_count n2)" -eq 0 ] || not_ok "$r@$off/$mask: n2 committed a tampered packet"
		k=$((k + 1))
	done <"$M/pos1/index"
	got=$(changes n2)
	expect_eq "hop1->2 $r ($k flips): n2 drops them" "$got" "$want=$k"
	row "$r" 1 "n2:$got"
done
flush n2
expect_eq "hop1->2 header flips: n2 sent nothing" "$(new_count n2)" 0
flush n3
res=$(judge n3)
allowed "$res" any && ok "hop1->2 header flips: nothing delivered" || not_ok "hop1->2 header flips: $res"
# Payload points: a packet whose payload changed keeps its replay tag, so
# each flip needs its own packet (else n2 drops the rest as replays).
for r in $REGIONS; do
	case $r in payload.*) ;; *) continue ;; esac
	grep " $r " "$M/pos1/index" >"$M/pts"
	k=$(grep -c . "$M/pts")
	snap n2; snap n3
	for i in $(seq 1 "$k"); do
		pkt "$M/pp$i.eml" "$M/bodyc" "$D1" "$D2" "$D3"
		receive n1 "$M/pp$i.eml"
	done
	flush n1
	i=0
	for f in $(new_mails n1); do
		i=$((i + 1))
		read -r _ name off mask < <(sed -n "${i}p" "$M/pts")
		tamper -F "$off:$mask" -t "$(node_addr n2)" "$f" >"$M/pt$i.eml" || not_ok "tamper $r"
		receive n2 "$M/pt$i.eml"
	done
	expect_eq "hop1->2 $r: $k packets from n1" "$i" "$k"
	got2=$(changes n2)
	expect_eq "hop1->2 $r ($k flips): n2 cannot tell, commits" "$got2" "in_forward=$k"
	flush n2
	carry n2 n3
	got=$(changes n3)
	expect_eq "hop1->2 $r ($k flips): the exit drops them" "$got" "drop_tampered=$k"
	flush n3
	res=$(judge n3)
	allowed "$res" "$r" && ok "hop1->2 $r: nothing altered delivered ($res)" ||
		not_ok "hop1->2 $r: $res"
	row "$r" 1 "n2:$got2,n3:$got"
done
# The control, untouched, after all that
snap n2; snap n3
receive n2 "$c12"; flush n2; carry n2 n3; flush n3
expect_eq "hop1->2: the untouched control is delivered exactly once" "$(judge n3)" "identical 1"

echo "--- 1b. tagging between hop 2 and the exit (n2's output, before n3) (${SECONDS}s)"
pkt "$M/c2.eml" "$M/bodyc" "$D1" "$D2" "$D3"
receive n1 "$M/c2.eml"; flush n1; carry n1 n2; flush n2
c23=$(new_mails n2)
expect_eq "control reached n2's relay" "$(echo "$c23" | grep -c .)" 1
tamper -A "$M/pos2" -t "$(node_addr n3)" "$c23" >"$M/pos2/index" || not_ok "tamper -A (2)"
# The exit checks the zero tag before the replay cache: every variant of
# one packet is judged on its own, and none burns the control's tag.
for r in $REGIONS; do
	want=$(counter_of "$r")
	k=0
	snap n3
	while read -r i name off mask; do
		[ "$name" = "$r" ] || continue
		receive n3 "$M/pos2/$i.eml"
		[ "$RC" -eq 0 ] || not_ok "$r@$off/$mask: n3 exited $RC"
		[ "$(pool_count n3)" -eq 0 ] || not_ok "$r@$off/$mask: n3 committed a tampered packet"
		k=$((k + 1))
	done <"$M/pos2/index"
	got=$(changes n3)
	expect_eq "hop2->exit $r ($k flips): n3 drops them" "$got" "$want=$k"
	row "$r" 2 "n3:$got"
done
flush n3
res=$(judge n3)
allowed "$res" any && ok "hop2->exit: nothing altered delivered ($res)" || not_ok "hop2->exit: $res"
receive n3 "$c23"; flush n3
expect_eq "hop2->exit: the untouched control is delivered exactly once" "$(judge n3)" "identical 1"

echo "--- the table: who drops a packet tampered with in each region (${SECONDS}s)"
printf '%-20s %-32s %s\n' region "tampered n1->n2" "tampered n2->exit"
awk '{ c[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; o[n++] = $1 } }
    END { for (i = 0; i < n; i++) printf "%-20s %-32s %s\n", o[i], c[o[i], 1], c[o[i], 2] }' "$T/table"

echo "--- 2. replay: variants sent to one node (r1, a middleman) after the original (${SECONDS}s)"
node_make r1 "$COMMON" "relay = maildir:$(md r1)" || finish
DR=$(node_desc r1)
pkt "$M/r.eml" "$M/body" -o "$M/r.raw" "$DR" "$D3"
pkt "$M/r2.eml" "$M/body" "$DR" "$D3"		# for the key rotation, later
snap r1
receive r1 "$M/r.eml"
expect_eq "replay: the original is committed" "$(changes r1)" "in_forward=1"
R_ENTRY=$(pool_names r1)
R_TAG=$(od -An -v -tx1 -j 12 -N 32 "$(node_spool r1)/pool/$R_ENTRY" | tr -d ' \n')
# holding NAME: pool entries and mails in NAME's Maildir new/ that hold the
# original's replay tag / any packet (commits the test can see)
holding() {
	local f k=0
	for f in "$(node_spool "$1")"/pool/*; do
		[ -e "$f" ] || continue
		[ "$(od -An -v -tx1 -j 12 -N 32 "$f" | tr -d ' \n')" = "$R_TAG" ] && k=$((k + 1))
	done
	echo "$k"
}
expect_eq "replay: one pool entry holds the original" "$(holding r1)" 1
# judge self-test: a second copy of the entry, planted, is counted
as_user cp "$(node_spool r1)/pool/$R_ENTRY" "$(node_spool r1)/pool/0123456789abcdef0123456789abcdef"
expect_eq "replay judge self-test: a second commit is seen" "$(holding r1)" 2
as_user rm -f "$(node_spool r1)/pool/0123456789abcdef0123456789abcdef"

# variant DESC MAIL WANT [ENV=VALUE...]: never committed, counted as WANT
variant() {
	local desc=$1 mail=$2 want=$3 got
	shift 3
	snap r1
	receive r1 "$mail" "$@"
	expect_rc "$desc" 0
	got=$(changes r1)
	case "|$want|" in
	*"|$got|"*) ok "$desc: $got" ;;
	*) not_ok "$desc: counters '$got', wanted '$want'" ;;
	esac
	expect_eq "$desc: not committed" "$(holding r1) $(pool_count r1)" "$ONE $ONE"
	echo "$desc: $got" >>"$T/replays"
}
ONE=1
: >"$T/replays"
variant "exact copy" "$M/r.eml" drop_replay=1
for e in plain crlf mime-base64 mime-qp nested; do
	mkpacket -r "$M/r.raw" -e "$e" "$DR" >"$M/re-$e.eml" || not_ok "mkpacket -r -e $e"
	variant "re-armored, envelope $e" "$M/re-$e.eml" drop_replay=1
done
for w in 4 60 76 200 27308; do
	tamper -i "$M/r.raw" -w "$w" -t "$(node_addr r1)" >"$M/rw-$w.eml" || not_ok "tamper -w $w"
	variant "re-armored, $w base64 characters a line" "$M/rw-$w.eml" drop_replay=1
done
tamper -i "$M/r.raw" -a loose -w 76 -t "$(node_addr r1)" >"$M/rl.eml" || not_ok "tamper -a loose"
variant "re-armored, loose form (CR LF, blanks, extra header)" "$M/rl.eml" drop_replay=1
# Unused bits in the last base64 character: the same bytes if a reader
# accepts them, an armor error if it does not; never a second commit.
tamper -i "$M/r.raw" -a noncanon -t "$(node_addr r1)" >"$M/rn.eml" || not_ok "tamper -a noncanon"
variant "re-armored, non-canonical base64 padding bits" "$M/rn.eml" "drop_replay=1|drop_armor=1"
# One byte altered in each region (its middle test point)
awk '$1 == "point" && !seen[$2]++ { print $2, $3, $4 }' "$T/regions" >"$M/mid"
awk '$1 == "point" && $4 == "10" { print $2, $3, $4 }' "$T/regions" >"$M/mid10"
while read -r name off mask; do
	m=$(awk -v n="$name" '$1 == n { print $2 ":" $3 }' "$M/mid10")
	[ -n "$m" ] || m="$off:80"
	case $name in
	version) want=drop_version ;;
	payload.*) want=drop_replay ;;	# same alpha, same tag (spec section 10)
	*) want=drop_key ;;
	esac
	tamper -i "$M/r.raw" -F "$m" -t "$(node_addr r1)" >"$M/ra.eml" </dev/null || not_ok "tamper -F $m"
	variant "altered $name (byte ${m%:*}, mask ${m#*:})" "$M/ra.eml" "$want=1" </dev/null
done <"$M/mid"

echo "--- 2b. replay after the entry was flushed (${SECONDS}s)"
flush r1
expect_eq "replay: the original leaves once" "$(new_count r1)" 1
carry r1 n3; flush n3
expect_eq "replay: the exit delivers it once, unaltered" "$(judge n3)" "identical 1"
ONE=0
variant "after the flush: exact copy" "$M/r.eml" drop_replay=1
variant "after the flush: re-armored, mime-qp" "$M/re-mime-qp.eml" drop_replay=1
variant "after the flush: re-armored, loose" "$M/rl.eml" drop_replay=1
tamper -i "$M/r.raw" -F 20000:10 -t "$(node_addr r1)" >"$M/ra.eml" || not_ok "tamper"
variant "after the flush: payload altered" "$M/ra.eml" drop_replay=1
flush r1
expect_eq "replay: nothing more leaves r1" "$(new_count r1)" 0

echo "--- 2c. replay after a key rotation, the old key in its grace (${SECONDS}s)"
DAY=86400
if MIXNODE_TEST_NOW=$((NOW + 25 * DAY)) mixnode -c "$(node_conf r1)" keys >"$T/r1/keys.out" 2>&1 &&
    grep -q "^created 1 mix key" "$T/r1/keys.out"; then
	ok "rotation: a successor key made at day 25"
else
	not_ok "rotation: no successor at day 25"; sed 's/^/  | /' "$T/r1/keys.out"
fi
AT=$((NOW + 33 * DAY))	# the first key expired at day 30; its grace ends at day 37
MIXNODE_TEST_NOW=$AT mixnode -c "$(node_conf r1)" keys >"$T/r1/keys.out" 2>&1 ||
	not_ok "rotation: mixnode keys at day 33"
variant "day 33 (old key in grace): exact copy" "$M/r.eml" drop_replay=1 MIXNODE_TEST_NOW=$AT
variant "day 33: re-armored, nested" "$M/re-nested.eml" drop_replay=1 MIXNODE_TEST_NOW=$AT
variant "day 33: payload altered" "$M/ra.eml" drop_replay=1 MIXNODE_TEST_NOW=$AT
# the old key still opens new packets: the drops above are replays, not key failures
snap r1
receive r1 "$M/r2.eml" MIXNODE_TEST_NOW=$AT
expect_eq "day 33: a fresh packet for the old key is committed" "$(changes r1)" "in_forward=1"
snap r1
receive r1 "$M/r2.eml" MIXNODE_TEST_NOW=$AT
expect_eq "day 33: and its replay is dropped" "$(changes r1)" "drop_replay=1"
expect_eq "day 33: one pool entry (the fresh packet)" "$(pool_count r1)" 1
pool_check r1 "replay"
echo "replay variants and their counters:"
sed 's/^/  /' "$T/replays"

echo "--- 3. n-1: a flooded node with the default mixing and dummy settings (${SECONDS}s)"
# x: defaults (binomial, mix_interval 15m, mix_min_pool 45, mix_rate_permille
# 650; dummy_per_round 1, dummy_per_inbound_permille 100, dummy_pool_permille
# 500, dummy_hops 3). It knows n1 and n2 (dummy chains start there). The
# attacker's packets go x -> a, a node of the attacker's whom x does not
# know, so the attacker recognises its outputs by their To:. The target
# goes x -> e, which x does not know either (so the test can tell it from
# the dummies; the attacker cannot tell it from a dummy).
NODE_REPLAY_CAPACITY=4000 node_make x "relay = maildir:$(md x)" || finish
node_make a || finish
node_make e || finish
mixnode -c "$(node_conf x)" nodes import "$D1" "$D2" >"$T/x/import.out" 2>&1 ||
	{ not_ok "x: import n1 n2"; sed 's/^/  | /' "$T/x/import.out"; }
DX=$(node_desc x)
DA=$(node_desc a)
DE=$(node_desc e)
MINPOOL=45	# the default mix_min_pool
K=64		# the attacker's packets kept in x's pool
W=2		# rounds of flooding before the first target
R=${ADV_NM1_REPS:-12}
if [ -n "${ASAN_OPTIONS:-}" ] && [ -z "${ADV_NM1_REPS:-}" ]; then
	R=6	# sanitized programs are slower; the bounds below still hold
fi
I=$((R < 70 ? 130 - W - R : 60))	# rounds after the attack, without input
CAP=200		# rounds per repetition at most (see the bound below)
SLOT=900	# the default mix_interval: one round per slot
TNOW=$(( (NOW / SLOT + 4) * SLOT ))
RND=0		# rounds so far
ATT=0		# attacker's packets in x's pool (known to the attacker)
AIN=0		# attacker's packets sent
as_user mkdir "$M/nm1" || hard "mkdir $M/nm1"
# flood K: K fresh attacker packets into x (built in one tamper -P run)
flood() {
	local f
	[ "$1" -gt 0 ] || return 0
	rm -rf "$M/nm1/a" && as_user mkdir "$M/nm1/a" || hard "mkdir $M/nm1/a"
	tamper -P "$M/nm1/a" -n "$1" "$DX" "$DA" || { not_ok "tamper -P"; return; }
	for f in "$M"/nm1/a/*.eml; do
		receive x "$f"
		[ "$RC" -eq 0 ] || not_ok "n-1: an attacker packet refused ($RC)"
	done
	AIN=$((AIN + $1))
	ATT=$((ATT + $1))
}
NM1_BAD=0
bad_round() { NM1_BAD=$((NM1_BAD + 1)); not_ok "$@"; }
# round TGT: one flush round (next slot); classifies x's outputs by To:
# and checks them against the counters. Sets OA (attacker's), OT (the
# target), OD (others: dummies), N (pool at the round), DIRECT, POOLED.
round() {
	local tgt=$1 n0 after ch dfw ddu drd f to
	n0=$(pool_count x)
	snap x
	RND=$((RND + 1))
	flush x MIXNODE_TEST_NOW=$((TNOW + RND * SLOT))
	# every mail's To: (one per mail: the shape of doc/packet-format.md 9.3)
	grep -h -m 1 '^To: ' "$(md x)"/new/* 2>/dev/null | sed 's/^To: //' >"$T/x/to"
	OA=$(grep -c -x -F "$(node_addr a)" "$T/x/to")
	OT=$(grep -c -x -F "$(node_addr e)" "$T/x/to")
	OD=$(($(grep -c . "$T/x/to") - OA - OT))
	[ "$(grep -c . "$T/x/to")" -eq "$(new_count x)" ] || bad_round "n-1 round $RND: a mail without To:"
	rm -f "$(md x)"/new/*
	ch=" $(changes x) "
	get() { local v=${ch#* $1=}; [ "$v" = "$ch" ] && echo 0 || echo "${v%% *}"; }
	dfw=$(get out_forward); ddu=$(get out_dummy); drd=$(get rounds); N=$(get pool_size)
	after=$(pool_count x)
	[ "$drd" = 1 ] || bad_round "n-1 round $RND: rounds counted $drd"
	[ "$((OA + OT))" = "$dfw" ] ||
		bad_round "n-1 round $RND: $((OA + OT)) forwarded mails, out_forward $dfw"
	[ "$OD" = "$ddu" ] || bad_round "n-1 round $RND: $OD other mails, out_dummy $ddu"
	[ "$OT" -le "$tgt" ] || bad_round "n-1 round $RND: a target that is not in the pool left"
	[ "$OA" -le "$ATT" ] || bad_round "n-1 round $RND: more attacker outputs than it sent"
	# the pool: n at the round = n0 + dummies pooled now; what left it
	# = outputs - dummies sent directly
	POOLED=$((N - n0))
	DIRECT=$((OA + OT + OD - (N - after)))
	{ [ "$POOLED" -ge 0 ] && [ "$DIRECT" -ge 0 ] && [ "$DIRECT" -le "$OD" ]; } ||
		bad_round "n-1 round $RND: pool $n0 -> $N -> $after does not add up ($OA+$OT+$OD out)"
	# the floor of cover (doc/SECURITY.md 2.4): the round's first dummy
	# always leaves at once, so no round releases only the attacker's
	[ "$DIRECT" -ge 1 ] || bad_round "n-1 round $RND: no dummy left at once"
	# the binomial pool's floor (doc/mixing.md 8): never below min(n, m)
	if [ "$N" -gt "$MINPOOL" ]; then
		[ "$after" -ge "$MINPOOL" ] || bad_round "n-1 round $RND: pool left at $after < $MINPOOL"
	else
		[ "$after" -eq "$N" ] || bad_round "n-1 round $RND: $N <= $MINPOOL entries, yet some left"
	fi
	ATT=$((ATT - OA))
	# rep round n att pooled-dummies-before target-out attacker-out dummies direct pooled-now
	echo "$REP $RR $N $ATT $((n0 - ATT - OA - tgt)) $OT $OA $OD $DIRECT $POOLED" >>"$T/nm1.rounds"
}
: >"$T/nm1.rounds"
REP=w; RR=0
flood "$K"
for i in $(seq 1 "$W"); do RR=$i; round 0; flood "$OA"; done
for REP in $(seq 1 "$R"); do
	pkt "$M/nm1/t.eml" "$M/body" "$DX" "$DE"
	receive x "$M/nm1/t.eml"
	left=0
	for RR in $(seq 1 "$CAP"); do
		round 1
		left=$((left + OT))
		[ "$OT" -eq 0 ] || break
		flood "$OA"
	done
	expect_eq "n-1 repetition $REP: the target left exactly once, in round $RR" "$left" 1
	flood "$OA"
done
REP=i
for RR in $(seq 1 "$I"); do round 0; done
expect_eq "n-1: in all $RND rounds the outputs match the counters, the pool adds up, the floor holds" \
    "$NM1_BAD" 0
expect_eq "n-1: every attacker packet and target accounted for" \
    "$(awk '{ a += $7; t += $6 } END { print a + 0, t + 0 }' "$T/nm1.rounds")" "$((AIN - ATT)) $R"
expect_eq "n-1: the target never left alone (a dummy beside it in each of its $R rounds)" \
    "$(awk '$6 == 1 && $8 == 0 { n++ } END { print n + 0 }' "$T/nm1.rounds")" 0

# Dummies are random: dummy_per_round 1 draws 1 or 2 (uniform); the first
# leaves at once (checked in every round above), the second goes to the
# pool or straight out on a fair coin, and so does each inbound one. So in
# a round no dummy goes into the pool with probability at most
# 1/2 + 1/2 * 1/2 = 3/4, whatever the inbound coins add. Over at least
# W + R + I rounds that fails with probability at most (3/4)^(W+R+I):
# printed, and below 1e-16 (I makes W+R+I >= 130).
minr=$((W + R + I))
bound=$(awk -v r="$minr" 'BEGIN { printf "%.1e", exp(r * log(3 / 4)) }')
awk -v b="$bound" 'BEGIN { exit !(b + 0 < 1e-16) }' && ok "n-1: $minr rounds at least: chance bound $bound" ||
	not_ok "n-1: too few rounds for a safe bound ($bound)"
expect_eq "n-1: some dummies went into the pool first (fails by chance with p <= $bound)" \
    "$(awk '{ p += $10 } END { print (p > 0) }' "$T/nm1.rounds")" 1
# Each round of a repetition holds n >= K + 1 = 65 entries, so the target
# leaves with probability at least 0.28 a round (p(n) = min(0.65, 1 - 45/n),
# less the floor's thinning when more than n - 45 coins come up: 0.285 at
# n = 65, more for larger n): it stays CAP rounds with probability below
# 0.72^200 < 1e-28.

echo "n-1 measurement: $R repetitions; the attacker keeps $K packets in the pool"
awk -v R="$R" '
$1 ~ /^[0-9]/ {
	nr[$1]++
	if ($6 == 1) {
		u = $6 + $8; hu[u]++; tr++; pd += $5; nn += $3
		if (u == 1) alone++
		# a naive attacker: the first round with an unaccounted output
		# is the target round, and he picks one of its outputs
		if (!early[$1]) win += 1 / u
	} else {
		nt++; hn[$8]++
		if ($8 > 0) { early[$1] = 1; busy++ }
	}
}
$1 == "i" { idle++; ido += $8 }
END {
	printf "  rounds per repetition until the target left:"
	for (r = 1; r <= R; r++) printf " %d", nr[r]
	printf "\n  rounds that released the target: %d; unaccounted outputs in them (target + dummies):\n", tr
	for (u = 1; u <= 60; u++) if (hu[u]) printf "    %2d: %d\n", u, hu[u]
	printf "  the target left with no dummy beside it: %d of %d\n", alone, tr
	printf "  mean pool at the target'\''s round: %.1f entries, of them %.1f pooled dummies\n", nn / tr, pd / tr
	printf "  rounds of the attack without the target: %d; with unaccounted outputs: %d\n", nt, busy
	printf "  a naive attacker (first round with an unaccounted output, one of them at random) names the target with probability %.2f\n", win / R
	printf "  %d rounds without input afterwards: %.2f dummies a round\n", idle, ido / idle
}' "$T/nm1.rounds"

echo "adversary: ${SECONDS}s"
finish
