#!/bin/bash
# compose.sh - golden tests of what mixmail composes, read where it is
# delivered: each case is sent with mixmail --dump through a one-hop chain
# to a test exit node, whose `mixnode receive` peels the layer and whose
# `mixnode flush` writes the final mail to a Maildir. The delivered mail,
# with its Date and Message-ID (random and timed by design) replaced by
# fixed text, must equal tests/compose/NAME.golden byte for byte:
#   plain      mail(1) form: -s, two destinations, --cc, -H fields
#   utf8       a UTF-8 subject and body
#   mime       -m: a multipart mail with a binary attachment and the
#              sender's identifying fields, which must not arrive
#   dotlines   a body of lines that SMTP and mbox treat specially
# MIX_REGEN_GOLDEN=1 rewrites the golden files from this build (then read
# the diff before committing it).
. "${top_srcdir:-.}/tests/lib.sh"

[ -x "$B/src/mixmail" ] || hard "$B/src/mixmail is not built"
cp "$B/src/mixmail" "$T/bin/" && chmod 0755 "$T/bin/mixmail" || hard "cannot stage mixmail"
G=$S/tests/compose
MD=$T/x/md

node_make x "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$MD" "exit = yes" \
    "exit_from = Anonymous <nobody@mix-x.test>" "abuse_contact = abuse@mix-x.test" || finish
as_user env MIXMAIL_HOME="$T/mm" "$T/bin/mixmail" import "$(node_desc x)" >/dev/null 2>"$T/import.err" ||
	{ cat "$T/import.err"; hard "mixmail import failed"; }
userfile() { as_user sh -c "cat > '$T/$1'"; }

# case NAME MIXMAIL-ARGS...: stdin is the message or body
case_() {
	local name=$1 f d got
	shift
	userfile "$name.in"
	d=$T/dump-$name
	as_user mkdir "$d" || hard "mkdir $d"
	as_user env MIXMAIL_HOME="$T/mm" "$T/bin/mixmail" -l x --dump "$d" "$@" \
	    <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	[ "$RC" -eq 0 ] || { not_ok "$name: mixmail exited $RC"; sed 's/^/  | /' "$T/$name.err"; return; }
	f=$(ls "$d"/*.eml 2>/dev/null)
	[ "$(echo "$f" | grep -c .)" -eq 1 ] || { not_ok "$name: not one first-hop mail"; return; }
	receive x "$f"
	[ "$RC" -eq 0 ] || { not_ok "$name: receive exited $RC"; return; }
	as_user "$T/bin/mixnode" -c "$(node_conf x)" flush >"$T/$name.flush" 2>&1 ||
		{ not_ok "$name: flush failed"; sed 's/^/  | /' "$T/$name.flush"; return; }
	f=$(ls "$MD/new/"* 2>/dev/null)
	[ "$(echo "$f" | grep -c .)" -eq 1 ] || { not_ok "$name: not one delivered mail"; return; }
	got=$T/$name.got
	sed -e 's/^Date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\} +0000$/Date: DATE/' \
	    -e 's/^Message-ID: <[0-9a-f]\{32\}@mix-x\.test>$/Message-ID: <ID@mix-x.test>/' \
	    "$f" >"$got"
	as_user rm -f "$f"
	if [ -n "${MIX_REGEN_GOLDEN:-}" ]; then
		cp "$got" "$G/$name.golden" && ok "$name: golden file rewritten"
		return
	fi
	if cmp -s "$got" "$G/$name.golden"; then
		ok "$name: the delivered mail is the golden one"
	else
		not_ok "$name: the delivered mail differs from tests/compose/$name.golden"
		diff -u "$G/$name.golden" "$got" | head -40 | sed 's/^/  | /'
	fi
}

# Inputs are made first and redirected: case_ must run in this shell (a
# pipe would run it in a subshell, and its checks would not count)
printf 'Dear editors,\n\nthe figures are attached to the next mail.\n\n-- \nA friend\n' >"$T/plain.txt"
case_ plain -s "Quarterly figures" --cc desk@newsroom.test -H "Keywords: budget, water" \
	    -H "Reply-To: drop@box.test" editor@newsroom.test tips@newsroom.test <"$T/plain.txt"

printf 'Grüße aus Zürich: das Café schließt um 18 Uhr.\n' >"$T/utf8.txt"
case_ utf8 -s "Café in Zürich – Öffnungszeiten" leser@zeitung.test <"$T/utf8.txt"

{
	cat <<'MAIL'
From: Real Sender <real.sender@home.test>
Sender: relay@home.test
To: Editor <editor@newsroom.test>
Cc: desk@newsroom.test
Subject: Report with a spreadsheet
Date: Fri, 20 Nov 2026 21:04:11 +0100
Message-ID: <unique-77e1@home.test>
Received: from laptop.home.test (laptop [192.0.2.7]) by mx.home.test
X-Mailer: Sendtool 9.1
User-Agent: Agent/2.0
References: <older-1@newsroom.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b-1"

This is a multi-part message in MIME format.

--b-1
Content-Type: text/plain; charset=us-ascii

See the attachment.

--b-1
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

MAIL
	# 300 bytes: every byte value, some twice
	awk 'BEGIN { for (i = 0; i < 300; i++) printf "%c", i % 256 }' LC_ALL=C |
	    base64 -w 76
	printf '\n--b-1--\n'
} >"$T/mime.txt"
case_ mime -m <"$T/mime.txt"

printf 'From the start of a line\n.\n..two dots\n.single dot above\n\nlast line without end' >"$T/dot.txt"
case_ dotlines -s "Lines that transports mangle" editor@newsroom.test <"$T/dot.txt"

# The sender's identifying fields never arrive
if grep -qi -e real.sender -e unique-77e1 -e Sendtool -e Agent/2.0 -e 192.0.2.7 -e '^Sender:' \
    "$T/mime.got" 2>/dev/null; then
	not_ok "mime: a field that names the sender arrived"
else
	ok "mime: nothing of the sender's fields arrived"
fi
# The attachment's bytes are intact
if [ -f "$T/mime.got" ]; then
	awk '/^Content-Transfer-Encoding: base64$/ { b = 1; getline; next } /^--b-1--$/ { b = 0 } b && NF' \
	    "$T/mime.got" | base64 -d 2>/dev/null | cmp -s - <(awk 'BEGIN { for (i = 0; i < 300; i++) printf "%c", i % 256 }' LC_ALL=C) &&
		ok "mime: the attachment's 300 bytes arrived intact" ||
		not_ok "mime: the attachment's bytes differ"
fi
finish
