#!/bin/bash
# receive.sh - `mixnode receive`, the MTA's pipe hook, end to end.
#
# Each case feeds one mail to the hook and checks three things: the exit
# status (0 for a commit and for every deliberate drop), the change of
# every statistics counter (the expected ones by the expected amount, all
# others unchanged), and what the spool holds afterwards (pool/ gains an
# entry only for a commit, tmp/ is left empty). Then 20 hooks at once,
# the privacy of the hook's messages and the modes of the spool.
. "${top_srcdir:-.}/tests/lib.sh"

node_make n1 "exit = yes" || finish
node_make n2 "exit = yes" || finish
D1=$(node_desc n1)
D2=$(node_desc n2)
M=$T/mail
as_user mkdir "$M" || hard "mkdir $M"
printf 'Body text of the receive test: the meeting is at the old mill.\n' |
	as_user sh -c "cat > '$M/body'"
BODYMARK="meeting is at the old mill"

# mk FILE MKPACKET-ARGS...: an armored mail in $M/FILE, with a sender and
# a subject (which the hook must never log) in its headers
SUBJECT="Minutes of the water board 4c1d"
FROM="Alice Sender <alice-4c1d@sender.example.test>"
mk() {
	local f=$1
	shift
	if ! mkpacket "$@" >"$M/$f.tmp" 2>"$M/$f.err" || [ ! -s "$M/$f.tmp" ]; then
		not_ok "mkpacket $* failed"
		sed 's/^/  | /' "$M/$f.err"
		return 1
	fi
	sed -e "s/^Subject: [^\r]*/Subject: $SUBJECT/" \
	    -e "s/^\(To: [^\r]*\)\(\r\{0,1\}\)\$/From: $FROM\2\n\1\2/" "$M/$f.tmp" >"$M/$f"
	rm -f "$M/$f.tmp"
	grep -q "^Subject: $SUBJECT" "$M/$f" && grep -q "^From: $FROM" "$M/$f" ||
		{ not_ok "$f: no Subject or From header to set"; return 1; }
	return 0
}

# case_rx NODE MAIL DESC "COUNTERS" POOL-GAIN: one hook run, all checks.
# A new entry's times must be 0 (doc/INTERNALS.md 1.1); this is checked
# before anything reads the file, since a read sets its access time.
case_rx() {
	local n=$1 mail=$2 desc=$3 want=$4 gain=$5 p0 e
	p0=$(pool_names "$n")
	snap "$n"
	receive "$n" "$mail"
	expect_rc "$desc" 0
	delta "$n" "$want" "$desc"
	NEW=$(LC_ALL=C comm -13 <(echo "$p0") <(pool_names "$n"))
	expect_eq "$desc: pool entries gained" "$(echo "$NEW" | grep -c .)" "$gain"
	for e in $NEW; do
		expect_eq "$desc: entry access and modification times" \
			"$(stat -c '%X %Y' "$(node_spool "$n")/pool/$e")" "0 0"
	done
	expect_eq "$desc: tmp/ left empty" "$(tmp_count "$n")" 0
}

echo "--- valid packets are committed"
mk deliver.eml -B "$M/body" -o "$M/deliver.raw" "$D1" &&
	case_rx n1 "$M/deliver.eml" "1-hop deliver" "in_deliver=1" 1
[ -n "$NEW" ] && expect_eq "deliver entry: kind 2 (deliver)" "$(be_uint "$(node_spool n1)/pool/$NEW" 8 1)" 2
# A dummy ends at its last hop: counted, nothing kept
mk dummy.eml -d "$D1" && case_rx n1 "$M/dummy.eml" "1-hop dummy" "in_dummy=1" 0
# A 2-hop path: n1 forwards to n2. The next packet is in n1's entry; armored
# again it is what n2 would receive from n1, and n2 delivers it.
NEW=
mk fwd.eml -B "$M/body" -o "$M/fwd.raw" "$D1" "$D2" &&
	case_rx n1 "$M/fwd.eml" "2-hop, first hop forwards" "in_forward=1" 1
f=$(node_spool n1)/pool/$NEW
if [ -n "$NEW" ] && [ -f "$f" ]; then
	expect_eq "forward entry: kind 1 (forward)" "$(be_uint "$f" 8 1)" 1
	a=$(be_uint "$f" 64 1)
	expect_eq "forward entry: next hop is n2" "$(tail -c +66 "$f" | head -c "$a")" "$(node_addr n2)"
	expect_eq "forward entry: data is one packet" "$(be_uint "$f" $((65 + a)) 4)" 20480
	tail -c +$((70 + a)) "$f" | head -c 20480 | as_user sh -c "cat > '$M/hop2.raw'"
	mk hop2.eml -r "$M/hop2.raw" "$D2" &&
		case_rx n2 "$M/hop2.eml" "2-hop, second hop delivers" "in_deliver=1" 1
	# The same next packet with one payload bit flipped: a middle hop
	# cannot see it, the exit must drop it
	mk hop2-tampered.eml -r "$M/hop2.raw" -F 10000 "$D2" &&
		case_rx n2 "$M/hop2-tampered.eml" "2-hop, flipped payload bit at the exit" "drop_tampered=1" 0
else
	not_ok "2-hop: no new entry in n1's pool"
fi

echo "--- each envelope style of a new packet is committed"
for e in plain crlf mime-base64 mime-qp nested; do
	mk "new-$e.eml" -B "$M/body" -e "$e" "$D1" &&
		case_rx n1 "$M/new-$e.eml" "new packet, envelope $e" "in_deliver=1" 1
done

echo "--- replays are dropped"
case_rx n1 "$M/deliver.eml" "exact replay" "drop_replay=1" 0
case_rx n1 "$M/fwd.eml" "exact replay of a forward" "drop_replay=1" 0
for e in crlf mime-base64 mime-qp nested; do
	if mk "replay-$e.eml" -r "$M/deliver.raw" -e "$e" "$D1"; then
		if cmp -s "$M/replay-$e.eml" "$M/deliver.eml"; then
			not_ok "re-armored mail ($e) is identical to the first: not a new envelope"
		fi
		case_rx n1 "$M/replay-$e.eml" "re-armored replay, envelope $e" "drop_replay=1" 0
	fi
done
# A replay with an altered payload keeps its tag: a middle hop drops it as
# a replay (the payload is not authenticated before the exit)
mk fwd-tampered.eml -r "$M/fwd.raw" -F 12000 -e mime-qp "$D1" &&
	case_rx n1 "$M/fwd-tampered.eml" "replay with a flipped payload bit" "drop_replay=1" 0

echo "--- tampered packets are dropped"
mk hdr.eml -F 100 "$D1" && case_rx n1 "$M/hdr.eml" "flipped bit in the routing header" "drop_key=1" 0
mk mac.eml -F 3240 "$D1" && case_rx n1 "$M/mac.eml" "flipped bit in the header MAC" "drop_key=1" 0
mk ver.eml -F 0 "$D1" && case_rx n1 "$M/ver.eml" "flipped bit in the version byte" "drop_version=1" 0
mk pay.eml -F 10000 "$D1" && case_rx n1 "$M/pay.eml" "flipped bit in the payload (1-hop deliver)" "drop_tampered=1" 0
mk last.eml -F 20479 "$D1" && case_rx n1 "$M/last.eml" "flipped bit in the last byte" "drop_tampered=1" 0
mk other.eml "$D2" && case_rx n1 "$M/other.eml" "a packet for another node" "drop_key=1" 0

echo "--- garbage, empty and packetless mail is dropped"
G=$S/tests/mail
case_rx n1 "$G/empty.eml" "empty mail" "drop_nopacket=1" 0
case_rx n1 /dev/null "empty stdin" "drop_nopacket=1" 0
case_rx n1 "$G/garbage.eml" "random bytes (tests/mail/garbage.eml)" "drop_parse=1" 0
case_rx n1 "$G/none.eml" "mail without a packet" "drop_nopacket=1" 0
case_rx n1 "$G/binary-body.eml" "mail with a binary body" "drop_nopacket=1" 0
case_rx n1 "$G/bad-armor.eml" "armor that does not decode (tests/mail)" "drop_armor=1" 0
# Fresh random bytes: GMime may see a message with an unusable body
# (drop_nopacket) or none at all (drop_parse), by chance; exactly one of
# those, nothing else
for i in 1 2 3 4 5; do
	head -c 30000 /dev/urandom >"$M/random$i.eml"
	p0=$(pool_count n1)
	snap n1
	receive n1 "$M/random$i.eml"
	expect_rc "30000 random bytes ($i)" 0
	stats_dump n1 >"$T/n1/now"
	got=$(LC_ALL=C join "$T/n1/snap" "$T/n1/now" | awk '$3 != $2 { printf "%s%s=%d", s, $1, $3 - $2; s = " " }')
	case $got in
	drop_parse=1|drop_nopacket=1) ok "30000 random bytes ($i): counted as $got" ;;
	*) not_ok "30000 random bytes ($i): counter changes '$got', wanted drop_parse=1 or drop_nopacket=1" ;;
	esac
	expect_eq "30000 random bytes ($i): pool entries gained" "$(($(pool_count n1) - p0))" 0
	expect_eq "30000 random bytes ($i): tmp/ left empty" "$(tmp_count n1)" 0
done
# Broken base64 in the armor of a real packet: a character outside the
# alphabet, a missing line, a missing END line
if mk b64.eml "$D1"; then
	awk '/^-----BEGIN/ { n = NR } n && NR == n + 10 { $0 = substr($0, 1, 20) "*" substr($0, 22) } 1' \
		"$M/b64.eml" >"$M/b64-char.eml"
	awk '/^-----BEGIN/ { n = NR } !(n && NR == n + 10)' "$M/b64.eml" >"$M/b64-line.eml"
	grep -v '^-----END' "$M/b64.eml" >"$M/b64-end.eml"
	case_rx n1 "$M/b64-char.eml" "armor with a bad base64 character" "drop_armor=1" 0
	case_rx n1 "$M/b64-line.eml" "armor with a base64 line missing" "drop_armor=1" 0
	case_rx n1 "$M/b64-end.eml" "armor without its END line" "drop_armor=1" 0
	case_rx n1 "$M/b64.eml" "the same packet, armor intact" "in_deliver=1" 1
fi

echo "--- oversized mail is dropped (max_message_size = 64k)"
# pad MAIL SIZE OUT: MAIL with lines of text appended, exactly SIZE bytes
pad() {
	local have need
	cp "$1" "$3"
	have=$(wc -c <"$3")
	need=$(($2 - have))
	while [ "$need" -gt 0 ]; do
		if [ "$need" -ge 77 ]; then
			printf '%076d\n' 0 >>"$3"
			need=$((need - 77))
		else
			head -c $((need - 1)) /dev/zero | tr '\0' 'p' >>"$3"
			echo >>"$3"
			need=0
		fi
	done
}
if mk big.eml "$D1"; then
	pad "$M/big.eml" 204800 "$M/big-200k.eml"
	case_rx n1 "$M/big-200k.eml" "200 KB mail with a valid packet" "drop_oversize=1" 0
	case_rx n1 "$M/big.eml" "the same packet in a small mail (not recorded)" "in_deliver=1" 1
fi
if mk edge1.eml "$D1" && mk edge2.eml "$D1"; then
	pad "$M/edge1.eml" 65536 "$M/edge1-65536.eml"
	pad "$M/edge2.eml" 65537 "$M/edge2-65537.eml"
	case_rx n1 "$M/edge1-65536.eml" "mail of exactly 64k" "in_deliver=1" 1
	case_rx n1 "$M/edge2-65537.eml" "mail of 64k + 1" "drop_oversize=1" 0
fi

echo "--- expired keys (default life 30d, publish ahead 7d, grace 7d; clock from MIXNODE_TEST_NOW)"
node_make n3 "exit = yes" || finish
D3=$(node_desc n3)
t0=$(date +%s)
day=86400
# rx_at NODE MAIL TIME DESC STATUS "COUNTERS": one hook run at a given time
rx_at() {
	local p0
	p0=$(pool_count "$1")
	snap "$1"
	receive "$1" "$2" MIXNODE_TEST_NOW="$3"
	expect_rc "$4" "$5"
	delta "$1" "$6" "$4"
	expect_eq "$4: pool entries gained" "$(($(pool_count "$1") - p0))" \
		"$(case $6 in in_*) echo 1;; *) echo 0;; esac)"
	expect_eq "$4: tmp/ left empty" "$(tmp_count "$1")" 0
}
# keys_at NODE TIME: mixnode keys at that time
keys_at() {
	if MIXNODE_TEST_NOW=$2 mixnode -c "$(node_conf "$1")" keys >"$T/$1/keys.out" 2>&1; then
		ok "mixnode keys at t0 + $((($2 - t0) / day))d"
	else
		not_ok "mixnode keys at t0 + $((($2 - t0) / day))d failed"
		sed 's/^/  | /' "$T/$1/keys.out"
	fi
}
# Packets for the first key, made at t0
if mk k1.eml -n "$t0" "$D3" && mk k2.eml -n "$t0" "$D3" && mk k3.eml -n "$t0" "$D3" &&
    mk k4.eml -n "$t0" "$D3"; then
	# At t0 + 25d the successor key is made (valid from t0 + 30d)
	keys_at n3 $((t0 + 25 * day))
	rx_at n3 "$M/k1.eml" $((t0 + 36 * day)) "first key in its grace (t0 + 36d)" 0 "in_deliver=1"
	rx_at n3 "$M/k2.eml" $((t0 + 38 * day)) "first key past its grace, not yet retired (t0 + 38d)" \
		0 "drop_key=1"
	keys_at n3 $((t0 + 38 * day))
	rx_at n3 "$M/k3.eml" $((t0 + 38 * day)) "first key retired by mixnode keys (t0 + 38d)" \
		0 "drop_key=1"
	# No live key at all (the second one's grace ended at t0 + 67d and
	# nobody ran mixnode keys): the node cannot judge mail, so it defers
	rx_at n3 "$M/k4.eml" $((t0 + 70 * day)) "no live key at all (t0 + 70d)" 75 "tempfail=1"
fi

echo "--- 20 hooks at once"
if mk same.eml -B "$M/body" "$D1"; then
	p0=$(pool_count n1)
	snap n1
	pids=
	for i in $(seq 1 20); do
		as_user "$T/bin/mixnode" -c "$(node_conf n1)" receive "$HOOK_SENDER" "$(node_addr n1)" \
		    <"$M/same.eml" >/dev/null 2>"$T/n1/par$i.err" &
		pids="$pids $!"
	done
	bad=0
	for p in $pids; do
		wait "$p"
		rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	cat "$T"/n1/par*.err >>"$T/n1/hook.err"
	rm -f "$T"/n1/par*.err
	expect_eq "20 hooks, same mail: hooks that did not exit 0" "$bad" 0
	expect_eq "20 hooks, same mail: pool entries gained" "$(($(pool_count n1) - p0))" 1
	delta n1 "in_deliver=1 drop_replay=19" "20 hooks, same mail"
	expect_eq "20 hooks, same mail: tmp/ left empty" "$(tmp_count n1)" 0
fi
ok20=1
for i in $(seq 1 20); do
	mk "diff$i.eml" -B "$M/body" -e "$(echo plain crlf mime-base64 mime-qp nested | cut -d' ' -f$((i % 5 + 1)))" "$D1" ||
		ok20=0
done
if [ "$ok20" -eq 1 ]; then
	p0=$(pool_count n1)
	snap n1
	pids=
	for i in $(seq 1 20); do
		as_user "$T/bin/mixnode" -c "$(node_conf n1)" receive "$HOOK_SENDER" "$(node_addr n1)" \
		    <"$M/diff$i.eml" >/dev/null 2>"$T/n1/par$i.err" &
		pids="$pids $!"
	done
	bad=0
	for p in $pids; do
		wait "$p"
		rc=$?
		[ "$rc" -eq 0 ] || bad=$((bad + 1))
	done
	cat "$T"/n1/par*.err >>"$T/n1/hook.err"
	expect_eq "20 hooks, 20 packets: hooks that did not exit 0" "$bad" 0
	expect_eq "20 hooks, 20 packets: pool entries gained" "$(($(pool_count n1) - p0))" 20
	delta n1 "in_deliver=20" "20 hooks, 20 packets"
	expect_eq "20 hooks, 20 packets: tmp/ left empty" "$(tmp_count n1)" 0
fi

echo "--- the pool, the spool and the hook's messages"
for n in n1 n2 n3; do
	pool_check "$n" "$n"
	sp=$(node_spool "$n")
	expect_eq "$n: directories in the spool not mode 0700" "$(find "$sp" -type d ! -perm 0700 | wc -l)" 0
	# The descriptor is public (it is published); everything else is 0600
	expect_eq "$n: files in the spool not mode 0600" \
		"$(find "$sp" -type f ! -perm 0600 ! -path "$sp/descriptor" | wc -l)" 0
	expect_eq "$n: descriptor writable by others" "$(find "$sp/descriptor" -perm /022 | wc -l)" 0
	expect_eq "$n: spool entries not owned by $TESTUSER" "$(find "$sp" ! -user "$TESTUSER" | wc -l)" 0
	find "$sp" \( -type d ! -perm 0700 \) -o \( -type f ! -perm 0600 ! -path "$sp/descriptor" \) \
		-o ! -user "$TESTUSER" | sed "s,^$T/,  | ," | head -5
	expect_eq "$n: pool entries with a modification time other than 0" \
		"$(find "$sp/pool" -type f -exec stat -c '%Y' {} + | grep -cvx '0')" 0
done
# Nothing the hook wrote may name an address, a subject, the body, a
# packet byte or an entry name
cat "$T"/n?/hook.err >"$T/all.err"
{
	for n in n1 n2 n3; do node_addr "$n"; pool_names "$n"; done
	echo "$HOOK_SENDER"
	echo "$BODYMARK"
	echo "$SUBJECT"
	echo "$FROM"
	echo "alice-4c1d"
	echo "sender.example"
	echo "BEGIN MIXMAIL"
	for f in "$M"/*.eml; do mail_headers "$f"; done
} | grep '.......' | LC_ALL=C sort -u >"$T/secrets"
leaks=$(grep -F -c -f "$T/secrets" "$T/all.err")
expect_eq "hook messages naming an address, subject, body or entry" "$leaks" 0
[ "$leaks" -eq 0 ] || grep -F -f "$T/secrets" "$T/all.err" | head -5 | sed 's/^/  | /'
expect_eq "most lines of messages from one hook run" "$MAXERRLINES" 1
echo "secrets checked: $(wc -l <"$T/secrets"), hook message lines: $(wc -l <"$T/all.err")"

finish
