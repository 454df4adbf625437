# net-lib.sh - the three-node mix network behind a real MTA: what
# tests/e2e-postfix.sh and tests/e2e-exim.sh share. Sourced after
# tests/lib.sh, once the nodes exist.
#
# The test sets, before it uses these:
#   NODES        the node names in chain order; the last is the exit
#   MM           mixmail's home directory (MIXMAIL_HOME)
#   EXIT_FROM    the exit's From field; ABUSE its abuse contact
#   NET_START    when the network cases began (date +%s)
#   NET_LIMIT    seconds after NET_START at which run_net gives up
#   NET_MTA      the MTA's name in messages ("Postfix", "Exim")
#   NET_HOST     the host name in the MTA's own Received field
#   NET_ADDED    an ERE of the header field names the MTA's delivery adds
# and defines these functions:
#   net_queue_count        print the MTA queue's size
#   net_queue_wait SECS    wait until the queue is empty; false if not
#   net_log_tail           print the MTA log's last lines
#   net_give_up            end the test (report and exit)

# mm ARGS...: mixmail as the test user, stdin from $IN (default /dev/null);
# $RC, $T/mm.out, $T/mm.err (also appended to $T/mm.all)
mm() {
	as_user env MIXMAIL_HOME="$MM" "$T/bin/mixmail" "$@" <"${IN:-/dev/null}" \
	    >"$T/mm.out" 2>"$T/mm.err"
	RC=$?
	cat "$T/mm.err" >>"$T/mm.all"
	[ "$RC" -eq 0 ] || sed 's/^/  | mixmail: /' "$T/mm.err"
}

# --- driving the network ------------------------------------------------------------
# flush NAME [ENV=VALUE...]: one run; $RC; its output in $T/NAME/flush.log
flush() {
	local n=$1
	shift
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" flush >"$T/$n/flush.out" 2>&1
	RC=$?
	cat "$T/$n/flush.out" >>"$T/$n/flush.log"
	[ "$RC" -eq 0 ] || sed "s/^/  | $n flush: /" "$T/$n/flush.out"
}
spool_count() { ls -A "$(node_spool "$1")/$2" 2>/dev/null | grep -c .; }

# idle: nothing in flight: the queue empty, and at every node pool/, out/,
# sending/, defer/ and tmp/ empty and no fragment set waiting
idle() {
	local n d
	[ "$(net_queue_count)" = 0 ] || return 1
	for n in $NODES; do
		for d in pool out sending defer tmp; do
			[ "$(spool_count "$n" "$d")" -eq 0 ] || return 1
		done
		ls "$(node_spool "$n")/frag" 2>/dev/null | grep -Eqx '[0-9a-f]{32}' && return 1
	done
	return 0
}

# run_net DESC [PASSES]: flush every node in order, each followed by the
# queue draining, until idle; at most PASSES (6) passes. A queue that does
# not drain in 60 s ends it (a hook deferring: no use waiting again).
run_net() {
	local desc=$1 max=${2:-6} p n
	# A broken build must not keep CI waiting
	if [ $(( $(date +%s) - NET_START )) -gt "$NET_LIMIT" ]; then
		not_ok "$desc: the network cases ran over $NET_LIMIT s, giving up"
		net_give_up
	fi
	for p in $(seq 1 "$max"); do
		for n in $NODES; do
			flush "$n"
			[ "$RC" -eq 0 ] || not_ok "$desc: $n flush exited $RC"
			if ! net_queue_wait 60; then
				not_ok "$desc: the queue did not drain (pass $p, after $n's flush)"
				net_log_tail | sed 's/^/  | /'
				return 1
			fi
		done
		if idle; then
			echo "  ($desc: idle after $p passes)"
			return 0
		fi
	done
	not_ok "$desc: still mail in flight after $max passes"
	for n in $NODES; do
		echo "  | $n: pool $(spool_count "$n" pool) out $(spool_count "$n" out) defer $(spool_count "$n" defer) frag $(ls "$(node_spool "$n")/frag" 2>/dev/null | tr '\n' ' ')"
	done
	echo "  | queue $(net_queue_count)"
	return 1
}

# changes NAME "c=n ..." DESC [VARYING...]: since `snap NAME`, each listed
# counter changed by n, each VARYING counter by anything, all others not
# at all (rounds and pool_size vary with the passes)
changes() {
	local n=$1 want=$2 desc=$3 got
	shift 3
	stats_dump "$n" >"$T/$n/now"
	got=$(LC_ALL=C join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$T/$n/snap" "$T/$n/now" |
	    awk -v ign="rounds pool_size $*" 'BEGIN { k = split(ign, a, " "); for (i = 1; i <= k; i++) skip[a[i]] = 1 }
	    { d = $3 - $2; if (d != 0 && !($1 in skip)) print $1 "=" d }' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	want=$(echo "$want" | tr ' ' '\n' | grep -v '=0$' | grep . | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$desc: counters" "$got" "$want"
}
# chg NAME COUNTER: its change since `snap NAME`
chg() {
	echo $(( $(stat_get "$1" "$2") - $(awk -v c="$2" '$1 == c { print $2; f = 1 } END { if (!f) print 0 }' "$T/$1/snap") ))
}
snap_all() { local n; for n in $NODES; do snap "$n"; done; }

# --- the delivered mail -------------------------------------------------------------
# hdr FILE NAME: the unfolded value of each field NAME in FILE's header
hdr() {
	awk -v want="$(echo "$2" | tr 'A-Z' 'a-z')" '
	function out() { if (cur == want) print val }
	/^$/ { exit }
	/^[ \t]/ { val = val $0; next }
	{ out(); i = index($0, ":"); cur = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1); sub(/^[ \t]+/, "", val) }
	END { out() }' "$1"
}
# names FILE: the header's field names, in order, less what the MTA adds
# on delivery (NET_ADDED) and Received
names() {
	sed -n '/^$/q;/^[^[:space:]]/p' "$1" | sed 's/:.*//' | grep -Evi "^(Received|$NET_ADDED)\$" |
	    tr '\n' ' ' | sed 's/ $//'
}
body_of() { sed '1,/^$/d' "$1"; }
armor_of() { sed -n '/^-----BEGIN MIXMAIL PACKET-----$/,/^-----END MIXMAIL PACKET-----$/p' "$1"; }

# exit_mail DESC FILE TO SUBJECT BODYFILE NAMES: FILE is the exit's mail
# of that message, exactly: the exit's From, Message-ID, Date and abuse
# contact, To: TO, the header field names NAMES in this order, only the
# MTA's own Received, the body BODYFILE byte for byte
exit_mail() {
	local desc=$1 f=$2 to=$3 subj=$4 bodyf=$5 want=$6 x v
	x=$(echo "$NODES" | awk '{ print $NF }')
	expect_eq "$desc: From is the exit's" "$(hdr "$f" From)" "$EXIT_FROM"
	expect_eq "$desc: To" "$(hdr "$f" To)" "$to"
	expect_eq "$desc: Subject" "$(hdr "$f" Subject)" "$subj"
	v=$(hdr "$f" Message-ID)
	echo "$v" | grep -Eqx "<[0-9a-f]{32}@mix-$x\\.test>" && ok "$desc: Message-ID is the exit's" ||
		not_ok "$desc: Message-ID '$v'"
	v=$(hdr "$f" Date)
	echo "$v" | grep -Eqx '(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000' &&
		ok "$desc: Date is the exit's (UTC)" || not_ok "$desc: Date '$v'"
	hdr "$f" Comments | grep -qF "Abuse contact: $ABUSE" && ok "$desc: the abuse contact" ||
		not_ok "$desc: no abuse contact"
	expect_eq "$desc: $NET_MTA's Received only" \
	    "$(grep -c '^Received:' "$f") $(grep -c "by $(echo "$NET_HOST" | sed 's/\./\\./g')" "$f")" "1 1"
	expect_eq "$desc: header fields" "$(names "$f")" "$want"
	if body_of "$f" | cmp -s - "$bodyf"; then
		ok "$desc: body byte for byte"
	else
		not_ok "$desc: body differs ($(body_of "$f" | wc -c) bytes, sent $(wc -c <"$bodyf"))"
	fi
}

# --- the sender's side ----------------------------------------------------------------
# text FILE N MARK: N bytes of text in lines of 60 with MARK first, LF at the end
text() {
	{ echo "$3"; yes 'Lorem ipsum dolor sit amet, consectetur adipiscing elit sed .'; } |
	    head -c "$(($2 - 1))" >"$1"
	echo >>"$1"
	chmod 0644 "$1"
}

# sender_fields TAG NUM: a sender's identifying header fields, each value
# with a marker of its own (added to DROPPED); NUM (10 to 59) makes the
# Date and the address unique
sender_fields() {
	local t=$1 k=$2
	DROPPED+=("real.sender.$t@home.example" "mx-$t.home.example" "msgid-$t@home.example"
	    "Mailer-$t" "Agent-$t" "sender-hdr-$t@home.example" "10:11:$k +0100"
	    "198.51.100.$k" "Org-$t" "bounce-$t@home.example" "bcc-$t@home.example"
	    "Thread-$t" "X-Custom-$t")
	cat <<EOT
Return-Path: <bounce-$t@home.example>
Received: from mx-$t.home.example by relay.home.example; Thu, 01 Jan 2026 09:00:00 +0100
From: Real Sender <real.sender.$t@home.example>
Sender: sender-hdr-$t@home.example
Date: Thu, 01 Jan 2026 10:11:$k +0100
Message-ID: <msgid-$t@home.example>
X-Mailer: Mailer-$t
User-Agent: Agent-$t
X-Originating-IP: [198.51.100.$k]
Organization: Org-$t
Bcc: bcc-$t@home.example
Thread-Topic: Thread-$t
X-Custom: X-Custom-$t
EOT
}
