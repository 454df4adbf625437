#!/bin/bash
# mixmail.sh - the sender's program, mixmail(1), as the test user
# (tests/lib.sh), against real nodes made with mixnode init/publish:
#   1. usage errors (64), root (77), settings (78), each saying what is wrong;
#   2. import: good descriptors, a bad signature, expired keys, keys
#      published too far ahead; `mixmail nodes`, `mixmail forget`;
#   3. --dump: one file per mail (copies, fragments of a 60 KB message,
#      more than CHAIN_MAX_COPIES chains), each a mail to its first hop
#      whose packet that node's `mixnode receive` commits; the fragments
#      of a message sent through the exit alone rebuild the message; -m
#      drops the identifying header fields; explicit chains, refusals
#      (middleman as the exit, unknown node, repeat), too large (4),
#      invalid (65), no nodes (3), an unwritable dump directory (2);
#   4. SMTP to a private Postfix (tests/mta-lib.sh; as root only): the
#      mails arrive in its sink and commit at their first hops; a first hop
#      the MTA defers gives 2 and names the copy that went and the one that
#      did not; Postfix stopped gives 2 and "nothing was sent".
# No message byte, subject or destination ever appears on stderr.
. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

[ -x "$B/src/mixmail" ] || hard "$B/src/mixmail is not built"
cp "$B/src/mixmail" "$T/bin/" && chmod 0755 "$T/bin/mixmail" || hard "cannot stage mixmail"

MM=$T/mm			# MIXMAIL_HOME; the first import makes it
SUBJ=Xyzzy-subject-7f3		# markers that must never reach stderr or a mail file
BODYMARK=plugh-body-91c
RCPT=rcpt-5e2@example.org
: >"$T/all.err"

# mm ARGS...: mixmail as the test user, stdin from $IN (default /dev/null);
# $RC, $T/mm.out, $T/mm.err (also appended to $T/all.err)
mm() {
	as_user env MIXMAIL_HOME="${MMHOME:-$MM}" ${MMENV:-} "$T/bin/mixmail" "$@" \
	    <"${IN:-/dev/null}" >"$T/mm.out" 2>"$T/mm.err"
	RC=$?
	cat "$T/mm.err" >>"$T/all.err"
}

# expect_mm DESC STATUS [TEXT]: the last mm exited STATUS and said TEXT (stderr)
expect_mm() {
	expect_eq "$1: exit status" "$RC" "$2"
	if [ -n "${3:-}" ]; then
		if grep -qF -- "$3" "$T/mm.err"; then
			ok "$1: says \"$3\""
		else
			not_ok "$1: does not say \"$3\""
			sed 's/^/  | /' "$T/mm.err"
		fi
	fi
}

# userfile NAME: a file the test user can read (stdin from cat)
userfile() { as_user sh -c "cat > '$T/$1'"; }
# dumpdir NAME: a fresh directory for --dump
dumpdir() { as_user mkdir "$T/$1" && echo "$T/$1"; }
mails_in() { find "$1" -maxdepth 1 -name '*.eml' -type f | wc -l; }

# body N: N bytes of ASCII text in lines of 60, with the body marker, ending in LF
body() {
	{ echo "$BODYMARK"; yes 'abcdefghijklmnopqrstuvwxyz0123456789 the quick brown fox ju' ; } |
	    head -c "$(($1 - 1))"
	echo
}

# --- 1. usage, root, settings ------------------------------------------------------
mm; expect_mm "no arguments" 64
mm --bogus; expect_mm "an unknown option" 64
mm -c 4 "$RCPT"; expect_mm "-c 4" 64 "copies must be a number from 1 to 3"
mm -c x "$RCPT"; expect_mm "-c x" 64 "copies must be a number from 1 to 3"
mm -s "$SUBJ"; expect_mm "no destination" 64 "name at least one destination ADDRESS"
mm -l "$(printf '*,%.0s' $(seq 1 16))*" "$RCPT"; expect_mm "17 hops" 64 "at most 16 hops"
mm -l 'b,,a' "$RCPT"; expect_mm "an empty hop" 64 "hop 2 of the chain is empty"
mm -l 'b,N!' "$RCPT"; expect_mm "a hop that is no name" 64 "hop 2 of the chain is neither"
mm -m -s "$SUBJ"; expect_mm "-m with -s" 64 "-m sends a complete mail"
mm -m a b; expect_mm "-m with two files" 64 "at most one FILE"
mm --dump "$T/nonexistent" "$RCPT"; expect_mm "--dump to no directory" 64 "is not a directory"
mm import; expect_mm "import without a file" 64 "name at least one FILE"
mm nodes extra; expect_mm "nodes with an argument" 64 "takes no arguments"
mm -v nodes; expect_mm "a command after an option" 64 "nodes is a command"
mm --version; expect_mm "--version" 0
grep -q "^mixmail 0\." "$T/mm.out" && ok "--version prints the version" || not_ok "--version output"
if [ "$(id -u)" -eq 0 ]; then
	MIXMAIL_HOME=$MM "$T/bin/mixmail" nodes >"$T/root.out" 2>&1
	expect_eq "as root: exit status" "$?" 77
	grep -q "refusing to run as root" "$T/root.out" && ok "as root: says so" ||
		not_ok "as root: no reason given"
	echo x | MIXMAIL_HOME=$MM "$T/bin/mixmail" --dump "$T" "$RCPT" >/dev/null 2>&1
	expect_eq "sending as root" "$?" 77
else
	ok "(not root: the refusal of root is checked when the suite runs as root)"
fi
mm nodes; expect_mm "nodes with no directory yet" 0
expect_eq "nodes: none known" "$(head -1 "$T/mm.out")" "0 nodes known (add some with: mixmail import FILE...)"
[ -e "$MM" ] && not_ok "nodes made the directory" || ok "nodes writes nothing"
IN=/dev/null mm --dump "$T" "$RCPT"; expect_mm "sending with no nodes" 3 "no nodes known"
mm config; expect_mm "config" 0
grep -qx "relay = smtp://127.0.0.1:25" "$T/mm.out" && grep -qx "copies = 1" "$T/mm.out" &&
	grep -qx "from = nobody@localhost.invalid" "$T/mm.out" && ok "config shows the defaults" ||
	{ not_ok "config output"; cat "$T/mm.out"; }

# --- 2. nodes: import, list, forget ------------------------------------------------
# a and e are exits, b, c and d middlemen
for n in a b c d e; do
	case $n in a|e) x="exit = yes";; *) x="exit = no";; esac
	node_make "$n" "$x" || hard "node $n"
done
mm import "$(node_desc a)" "$(node_desc b)" "$(node_desc c)" "$(node_desc d)" "$(node_desc e)"
expect_mm "import five descriptors" 0
expect_eq "import: five new" "$(grep -c ': node [a-e] new$' "$T/mm.out")" 5
expect_eq "the directory's mode" "$(stat -c %a "$MM")" 700
mm import "$(node_desc a)"; expect_mm "import again" 0
grep -q "node a unchanged" "$T/mm.out" && ok "import again: unchanged" || not_ok "import again"
sed 's/^max-size 65536$/max-size 65537/' "$(node_desc b)" | userfile forged.desc
cmp -s "$T/forged.desc" "$(node_desc b)" && hard "the forged descriptor is unchanged"
mm import "$T/forged.desc"; expect_mm "a changed descriptor" 1 "bad descriptor signature"
NOW=$(date +%s)
MMENV="MIXMAIL_TEST_NOW=$((NOW + 400 * 86400))" mm import "$(node_desc c)"
expect_mm "import when every key has expired" 1 "node c: every mix key has expired"
MMENV="MIXMAIL_TEST_NOW=$((NOW - 3 * 86400))" mm import "$(node_desc d)"
expect_mm "import of a descriptor from the future" 1 "more than a day after"
mm import /nonexistent/x.desc "$(node_desc e)"; expect_mm "import of a missing file" 66 \
	"/nonexistent/x.desc: No such file"
mm nodes; expect_mm "nodes" 0
expect_eq "nodes: five known" "$(head -1 "$T/mm.out")" "5 nodes known"
expect_eq "nodes: a" "$(awk '$1 == "a" { print $2, $3, $6, $8, $9 }' "$T/mm.out")" \
	"$(node_addr a) exit usable - -"
expect_eq "nodes: b" "$(awk '$1 == "b" { print $2, $3, $5, $6 }' "$T/mm.out")" \
	"$(node_addr b) middleman 65536 usable"
MMENV="MIXMAIL_TEST_NOW=$((NOW + 400 * 86400))" mm nodes
expect_eq "nodes a year later: keys expired" "$(awk '$1 == "a" { print $6 }' "$T/mm.out")" expired
mm forget zz; expect_mm "forget an unknown node" 1 "no node zz"
# settings errors name the file, the line and the setting
MMCONF=$MM/mixmail.conf
printf '# test\ncopies = 4\n' | as_user sh -c "cat > '$MMCONF'"
IN=/dev/null mm --dump "$T" "$RCPT"; expect_mm "copies = 4 in mixmail.conf" 78 "mixmail.conf:2: setting copies"
printf 'chain = b,,a\n' | as_user sh -c "cat > '$MMCONF'"
IN=/dev/null mm --dump "$T" "$RCPT"; expect_mm "a bad chain setting" 78 "setting chain: hop 2 of the chain is empty"
as_user rm -f "$MMCONF"
as_user chmod 0770 "$MM"
mm nodes; expect_mm "a directory others may write" 78 "lets group or others write it"
as_user chmod 0700 "$MM"

# --- 3. sending into files ---------------------------------------------------------
# node_of ADDRESS: the node with that address
node_of() {
	local n
	for n in a b c d e f; do
		[ "$(node_addr "$n")" = "$1" ] && { echo "$n"; return 0; }
	done
	return 1
}

# The header fields of every mail that carries a packet, in order
# (src/pktmail.h): a node's forwarded packets have the very same
PKTMAIL_FIELDS="From To Date Message-ID MIME-Version Content-Type Content-Transfer-Encoding "

# check_mails DIR N DESC: N mails, each 0600, nothing half-written, each a
# first-hop mail of the documented form to a node, with no plaintext
check_mails() {
	local d=$1 want=$2 desc=$3 f bad=0
	expect_eq "$desc: mails written" "$(mails_in "$d")" "$want"
	[ -z "$(find "$d" -name '.tmp-*')" ] || { not_ok "$desc: a tmp file is left"; bad=1; }
	for f in "$d"/*.eml; do
		[ -e "$f" ] || continue
		[ "$(stat -c %a "$f")" = 600 ] || { not_ok "$desc: mode $(stat -c %a "$f")"; bad=1; }
		echo "$(basename "$f")" | grep -Eqx '[0-9a-f]{32}\.eml' ||
			{ not_ok "$desc: a file name that is not random hex"; bad=1; }
		node_of "$(sed -n 's/^To: //p' "$f")" >/dev/null ||
			{ not_ok "$desc: To: is no node's address"; bad=1; }
		[ "$(sed -n '1p' "$f")" = "From: nobody@localhost.invalid" ] ||
			{ not_ok "$desc: From: is not the neutral one"; bad=1; }
		sed -n '1,/^$/p' "$f" | grep -Eq '^Date: .* \+0000$' ||
			{ not_ok "$desc: no UTC Date:"; bad=1; }
		[ "$(sed -n '/^$/q;s/:.*//p' "$f" | tr '\n' ' ')" = "$PKTMAIL_FIELDS" ] ||
			{ not_ok "$desc: the header is not the one shape of a packet mail"; bad=1; }
		grep -qx -- "-----BEGIN MIXMAIL PACKET-----" "$f" ||
			{ not_ok "$desc: no armor"; bad=1; }
		grep -qF -e "$SUBJ" -e "$BODYMARK" -e "$RCPT" -e "the quick brown" "$f" &&
			{ not_ok "$desc: plaintext in a first-hop mail"; bad=1; }
	done
	[ "$bad" -eq 0 ] && ok "$desc: every mail in the documented form, no plaintext"
}

# commit_all DIR DESC: each mail to its first hop's receive; every one is
# committed: each node's pool gains one entry per mail it got
commit_all() {
	local d=$1 desc=$2 f n bad=0
	declare -A before=() want=()
	for n in a b c d e; do before[$n]=$(pool_count "$n"); want[$n]=0; done
	for f in "$d"/*.eml; do
		n=$(node_of "$(sed -n 's/^To: //p' "$f")") || continue
		receive "$n" "$f"
		[ "$RC" -eq 0 ] || { not_ok "$desc: receive at $n exited $RC"; bad=1; }
		want[$n]=$((want[$n] + 1))
	done
	for n in a b c d e; do
		[ "$(pool_count "$n")" -eq $((before[$n] + want[$n])) ] ||
			{ not_ok "$desc: $n's pool gained $(($(pool_count "$n") - before[$n])), not ${want[$n]}"; bad=1; }
	done
	[ "$bad" -eq 0 ] && ok "$desc: every mail committed at its first hop"
}

# chains: the -v lines "packet N: chain X,Y,Z" as X,Y,Z
chains() { sed -n 's/^mixmail: packet [0-9]*: chain \([^ ]*\).*/\1/p' "$T/mm.err"; }

body 200 >"$T/short.txt"
IN=$T/short.txt
D=$(dumpdir d1); mm -s "$SUBJ" --dump "$D" "$RCPT"
expect_mm "a short message" 0
check_mails "$D" 1 "a short message"
commit_all "$D" "a short message"

D=$(dumpdir d2); mm -v -c 2 -l '*,*,*' --dump "$D" "$RCPT"
expect_mm "-c 2" 0 "as 2 packets (any 1 rebuild it)"
check_mails "$D" 2 "-c 2"
commit_all "$D" "-c 2"
c1=$(chains | sed -n 1p); c2=$(chains | sed -n 2p)
expect_eq "-c 2: the same exit" "${c1##*,}" "${c2##*,}"
m1=$(echo "${c1%,*}" | tr ',' '\n' | sort); m2=$(echo "${c2%,*}" | tr ',' '\n' | sort)
expect_eq "-c 2: the copies share no middle node" "$(comm -12 <(echo "$m1") <(echo "$m2"))" ""

body 60000 >"$T/long.txt"
IN=$T/long.txt
D=$(dumpdir d3); mm -v --dump "$D" "$RCPT"
expect_mm "a 60 KB message" 0 "as 6 packets (any 4 rebuild it)"
check_mails "$D" 6 "a 60 KB message"
commit_all "$D" "a 60 KB message"

D=$(dumpdir d4); mm -v -c 3 --dump "$D" "$RCPT"
expect_mm "a 60 KB message, 3 copies" 0 "as 12 packets (any 4 rebuild it)"
check_mails "$D" 12 "3 copies"
expect_eq "12 chains, one exit" "$(chains | wc -l) $(chains | sed 's/.*,//' | sort -u | wc -l)" "12 1"
commit_all "$D" "3 copies"
# The chains come in groups of 10 (CHAIN_MAX_COPIES); the exits are a
# and e, so a second group that chose its own exit would show in a few runs
for i in 1 2 3 4; do
	D=$(dumpdir "d4-$i"); mm -v -c 3 --dump "$D" "$RCPT"
	[ "$RC" -eq 0 ] && [ "$(chains | sed 's/.*,//' | sort -u | wc -l)" -eq 1 ] || break
done
expect_eq "12 chains, one exit, 4 more times" "$i $RC $(chains | sed 's/.*,//' | sort -u | wc -l)" "4 0 1"

# Through the exit alone: its pool holds the bodies; the data fragments
# rebuild the message, which ends with the body as sent.
pool_names a >"$T/a.before"
D=$(dumpdir d5); mm -l a --dump "$D" "$RCPT"
expect_mm "a 60 KB message through the exit alone" 0
check_mails "$D" 6 "exit alone"
commit_all "$D" "exit alone"
pool_names a | comm -13 "$T/a.before" - >"$T/a.new"
rm -f "$T"/shard.*; bad=0
while read -r e; do
	f=$(node_spool a)/pool/$e
	[ "$(be_uint "$f" 8 1)" = 2 ] || { not_ok "exit alone: an entry that is not a deliver"; bad=1; }
	len=$(be_uint "$f" 65 4)
	tail -c +70 "$f" | head -c "$len" >"$T/fbody"
	[ "$(be_uint "$T/fbody" 0 2)" = $((256 + 2)) ] || { not_ok "exit alone: not a fragment body"; bad=1; }
	echo "$(od -An -tx1 -j 2 -N 16 "$T/fbody" | tr -d ' \n') $(be_uint "$T/fbody" 18 1) $(be_uint "$T/fbody" 19 1) $(be_uint "$T/fbody" 21 4)" >>"$T/fids"
	tail -c +26 "$T/fbody" >"$T/shard.$(be_uint "$T/fbody" 20 1)"
	L=$(be_uint "$T/fbody" 21 4)
done <"$T/a.new"
expect_eq "exit alone: one message id, k 4, n 6" "$(sort -u "$T/fids" | wc -l) $(awk '{print $2, $3}' "$T/fids" | sort -u)" "1 4 6"
expect_eq "exit alone: indices 0 to 5" "$(ls "$T"/shard.* | sed 's/.*\.//' | sort -n | tr '\n' ' ')" "0 1 2 3 4 5 "
cat "$T/shard.0" "$T/shard.1" "$T/shard.2" "$T/shard.3" | head -c "$L" >"$T/rebuilt"
tail -c "$(wc -c <"$T/long.txt")" "$T/rebuilt" | cmp -s - "$T/long.txt" && [ "$bad" -eq 0 ] &&
	ok "exit alone: the data fragments rebuild the message" || not_ok "exit alone: the message is not rebuilt"

# -m: a complete mail; the identifying fields never travel
cat >"$T/full.eml" <<EOF
From: Real Sender <real.sender@home.example>
To: Dest One <$RCPT>
Cc: dest2@example.net
Subject: $SUBJ
Date: Thu, 01 Jan 2026 10:00:00 +0100
Message-ID: <unique-id-123@home.example>
Received: from home.example by mx.example
X-Mailer: Sendtool 9.1
User-Agent: Agent/2.0
Reply-To: replies@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

$BODYMARK
--BOUND
Content-Type: application/octet-stream; name="a.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="a.bin"

AAECAwQFBgcICQ==
--BOUND--
EOF
chmod 0644 "$T/full.eml"
pool_names a >"$T/a.before"
D=$(dumpdir d6); IN=/dev/null mm -l a -m "$T/full.eml" --dump "$D"
expect_mm "-m FILE" 0 "header fields of the mail removed"
check_mails "$D" 1 "-m"
commit_all "$D" "-m"
e=$(pool_names a | comm -13 "$T/a.before" - | head -1)
f=$(node_spool a)/pool/$e
tail -c +70 "$f" | head -c "$(be_uint "$f" 65 4)" | tail -c +3 >"$T/carried"
for w in "^To: Dest One <$RCPT>" "^Cc: dest2@example.net" "^Subject: $SUBJ" \
    "^Reply-To: replies@example.org" "^$BODYMARK\$" "^AAECAwQFBgcICQ==\$"; do
	grep -q "$w" "$T/carried" && ok "-m carries $w" || not_ok "-m does not carry $w"
done
for w in real.sender unique-id-123 "^Received:" Sendtool Agent/2.0 "^Date:" "^From:"; do
	grep -q "$w" "$T/carried" && not_ok "-m carries $w" || ok "-m drops $w"
done
IN=$T/full.eml mm -l a -m --dump "$D"; expect_mm "-m from standard input" 0

IN=$T/short.txt
D=$(dumpdir d7); mm -v -l b,c,a --dump "$D" "$RCPT"
expect_mm "an explicit chain" 0
expect_eq "an explicit chain: as given" "$(chains)" "b,c,a"
expect_eq "an explicit chain: the mail goes to b" "$(sed -n 's/^To: //p' "$D"/*.eml)" "$(node_addr b)"
commit_all "$D" "an explicit chain"
mm -l b,c,d --dump "$D" "$RCPT"
expect_mm "a middleman as the exit" 3 "hop 3 (d) is a middleman: it is never the exit"
mm -l b,zz,a --dump "$D" "$RCPT"; expect_mm "an unknown node" 3 "hop 2: no known node is called zz"
mm -l b,b,a --dump "$D" "$RCPT"; expect_mm "a node twice" 3 "hop 2 (b) is the same node as hop 1 (b)"
expect_eq "refusals write nothing" "$(mails_in "$D")" 1
body 100000 >"$T/big.txt"
IN=$T/big.txt mm --dump "$D" "$RCPT"; expect_mm "100 KB (exits take 64 KB)" 4 "too large for every usable exit"
IN=$T/big.txt mm -l b,c,a --dump "$D" "$RCPT"; expect_mm "100 KB, exit named" 4 "too large for the exit named"
head -c 1100000 /dev/zero | tr '\0' x >"$T/huge.txt"
IN=$T/huge.txt mm --dump "$D" "$RCPT"; expect_mm "1.1 MB" 4 "too large"
mm -H "From: $RCPT" --dump "$D" "$RCPT"; expect_mm "-H From:" 65 "header field From not allowed"
mm --dump "$D" not-an-address; expect_mm "a bad address" 65 "malformed destination address"
{ printf 'To: %s\nSubject: big\n\n' "$RCPT"; cat "$T/huge.txt"; } >"$T/huge.eml"
IN=$T/huge.eml mm -m --dump "$D"; expect_mm "-m, a 1.1 MB mail" 4 "too large"
printf 'Subject: nobody\n\nno destination\n' >"$T/norcpt.eml"
IN=$T/norcpt.eml mm -m --dump "$D"; expect_mm "-m, a mail without To or Cc" 65
expect_eq "failures write nothing" "$(mails_in "$D")" 1
MMHOME=$T/empty mm --dump "$D" "$RCPT"; expect_mm "no nodes" 3 "no nodes known"
D=$(dumpdir d8); as_user chmod 0500 "$D"
mm -s "$SUBJ" --dump "$D" "$RCPT"; expect_mm "an unwritable dump directory" 2 "only 0 of 1 mail handed to --dump"
grep -q "NOT handed over: cannot create a file" "$T/mm.err" && ok "the mail is named as not written" ||
	{ not_ok "no reason per mail"; cat "$T/mm.err"; }

# --- 4. SMTP through a private Postfix -----------------------------------------------
if why=$(mta_usable); then
	asan_libesmtp	# libESMTP's false positive under ASan (lib.sh)
	mta_tmpdir || hard "cannot make the MTA directory"
	PORT=$(mta_free_port) || hard "no free port"
	mta_postfix_start "$MTA_DIR" "$PORT" || { not_ok "the private Postfix did not start"; finish; }
	printf 'relay = smtp://127.0.0.1:%s\nrelay_timeout = 20s\n' "$PORT" |
	    as_user sh -c "cat > '$MMCONF'"
	mm -c 2 -s "$SUBJ" "$RCPT"; expect_mm "SMTP: 2 copies" 0
	mta_sink_wait "$MTA_DIR" 2 30 && ok "SMTP: two mails in the sink" || not_ok "SMTP: the sink"
	mta_wait_queue_empty "$MTA_DIR" 10
	expect_eq "SMTP: envelope sender" "$(awk '{ print $2 }' "$MTA_DIR/sink/index" | sort -u)" \
		nobody@localhost.invalid
	as_user mkdir "$T/sink"
	for f in "$MTA_DIR"/sink/msg.*; do cp "$f" "$T/sink/$(basename "$f").eml"; done
	chmod 0644 "$T"/sink/*
	commit_all "$T/sink" "SMTP"
	awk '{ print $3 }' "$MTA_DIR/sink/index" | sort >"$T/rcpts"
	sed -n 's/^To: //p' "$T"/sink/*.eml | sort | cmp -s - "$T/rcpts" &&
		ok "SMTP: each mail went to the first hop its To: names" || not_ok "SMTP: envelope and To: differ"

	# A first hop the MTA defers: copy 1 to b goes, copy 2 to f does not
	node_addr() { case $1 in f) echo defer@sink.test;; *) echo "$1@mix-$1.test";; esac; }
	node_make f "exit = no" || hard "node f"
	as_user mkdir -m 0700 "$T/mm2"
	MMHOME=$T/mm2 mm import "$(node_desc a)" "$(node_desc b)" "$(node_desc f)"
	as_user cp "$MMCONF" "$T/mm2/"
	MMHOME=$T/mm2 mm -c 2 -l '*,a' "$RCPT"
	expect_mm "SMTP: one first hop deferred" 2 "only 1 of 2 mails handed to smtp://127.0.0.1:$PORT"
	grep -q "(first hop b): handed over" "$T/mm.err" && grep -q "(first hop f): NOT handed over: not accepted, temporary, SMTP reply 450" "$T/mm.err" &&
		ok "SMTP: says which copy went and which did not" || { not_ok "SMTP: per-copy report"; cat "$T/mm.err"; }
	grep -q "the message can still arrive" "$T/mm.err" && ok "SMTP: says the message can still arrive" ||
		not_ok "SMTP: no word on arrival"

	mta_postfix_stop "$MTA_DIR"
	mm -s "$SUBJ" "$RCPT"
	expect_mm "SMTP: relay down" 2 "only 0 of 1 mail handed to smtp://127.0.0.1:$PORT"
	grep -q "nothing was sent" "$T/mm.err" && ok "SMTP: relay down: nothing was sent" ||
		not_ok "SMTP: relay down: no summary"
else
	ok "(SMTP not tested: $why)"
fi

# Nothing of any message on stderr, ever
for w in "$SUBJ" "$BODYMARK" "$RCPT" "quick brown" real.sender; do
	grep -qF -- "$w" "$T/all.err" && not_ok "stderr shows message content ($w)" ||
		ok "stderr never shows $w"
done
finish
