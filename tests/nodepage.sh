#!/bin/bash
# nodepage.sh - `mixnode publish --out DIR`: the public files of a node with
# real traffic, then its page rendered in headless Chromium at phone width.
#
# One exit node, its relay a Maildir: a two-hop packet through itself
# (intermediate, then final after the test carries the mail back), a dummy
# and a mail without a packet (a drop), flushed, so the counters are not
# zero. Then publish --out: refused for a missing DIR, a file, extra
# arguments; the four files written whole (no temporary left), mode 0644,
# the descriptor as the spool's and standard output, stats.txt and
# stats.json as `mixnode stats --report` / `--json` say; well-formed XML
# (xmllint, when installed); publish without --out unchanged; an
# unwritable DIR gives 75 and leaves nothing.
#
# Chromium (skipped with 77 if /usr/bin/chromium is absent) loads a
# harness page of the test's own (file://, the only place with script),
# which frames index.html at 390 by 844 pixels and reports: six chart SVGs
# of non-zero size, nothing wider than the frame, the identity and mix key
# fingerprints in the rendered text, no script in the page; and that a
# script inserted into a copy of the page does not run (the page's CSP).
# Chromium runs with a private profile under $T, no network (a network
# namespace of its own when possible, and a resolver that finds nothing),
# a timeout, and no process of it may survive.
. "${top_srcdir:-.}/tests/lib.sh"

NOW=$(date +%s)			# one time for every command: rows to the hour agree
MD=$T/md
W=$T/www
CF=$(node_conf a)
mn() { as_user env "MIXNODE_TEST_NOW=$NOW" "$T/bin/mixnode" -c "$CF" "$@"; }

node_make a "mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" "relay = maildir:$MD" "exit = yes" || finish
D=$(node_desc a)
M=$T/mail
as_user mkdir "$M" "$W" || hard "mkdir"

# --- traffic ---------------------------------------------------------------------
as_user sh -c "{ printf '\001\001'; printf 'To: reader@sink.test\nSubject: page test\n\nHello.\n'; } > '$M/body'"
mkpacket -B "$M/body" "$D" "$D" >"$M/p1" 2>"$M/p1.err" || { not_ok "mkpacket"; cat "$M/p1.err"; }
mkpacket -d "$D" >"$M/dummy" 2>"$M/dummy.err" || { not_ok "mkpacket -d"; cat "$M/dummy.err"; }
printf 'To: %s\nSubject: no packet\n\nnothing here\n' "$(node_addr a)" >"$M/junk"
receive a "$M/p1"
expect_rc "hop 1: receive" 0
mn flush >"$T/flush.out" 2>&1 || { not_ok "flush 1"; cat "$T/flush.out"; }
n=0
for f in "$MD"/new/*; do
	[ -e "$f" ] || continue
	as_user cat "$f" >"$M/carried.$n" && as_user rm -f "$f"
	receive a "$M/carried.$n"
	expect_rc "hop 2: receive" 0
	n=$((n + 1))
done
expect_eq "one mail carried back" "$n" 1
receive a "$M/dummy"
expect_rc "dummy: receive" 0
receive a "$M/junk"
expect_rc "junk: receive" 0
mn flush >"$T/flush.out" 2>&1 || { not_ok "flush 2"; cat "$T/flush.out"; }
for c in in_forward in_deliver in_dummy drop_nopacket rounds out_deliver; do
	v=$(stat_get a "$c")
	[ "$v" != missing ] && [ "$v" -ge 1 ] && ok "counter $c is $v" || not_ok "counter $c is $v"
done

# --- publish --out: refusals -------------------------------------------------------
mn publish --out "$T/nonexistent" >"$T/out" 2>"$T/err"
expect_eq "a missing DIR: exit status" "$?" 78
grep -q "nonexistent: No such file or directory" "$T/err" && ok "a missing DIR is named" ||
	not_ok "message: $(cat "$T/err")"
[ -e "$T/nonexistent" ] && not_ok "publish made the missing DIR" || ok "DIR is never made"
mn publish --out "$D" >"$T/out" 2>"$T/err"
expect_eq "a file as DIR: exit status" "$?" 78
mn publish --out >"$T/out" 2>"$T/err"
expect_eq "--out without DIR: exit status" "$?" 64
mn publish "$W" >"$T/out" 2>"$T/err"
expect_eq "an argument without --out: exit status" "$?" 64
expect_eq "nothing written by the refusals" "$(ls -A "$W" | wc -l)" 0

# --- publish --out: the files ------------------------------------------------------
mn publish >"$T/plain.out" 2>"$T/err"
expect_eq "publish without --out" "$?" 0
mn publish --out "$W" >"$T/out" 2>"$T/err"
expect_eq "publish --out" "$?" 0
[ -s "$T/err" ] && not_ok "publish --out wrote to stderr: $(cat "$T/err")"
cmp -s "$T/out" "$T/plain.out" && ok "standard output is what publish alone prints" ||
	not_ok "publish --out printed something else"
cmp -s "$W/descriptor" "$D" && ok "DIR/descriptor is the spool's" || not_ok "DIR/descriptor differs"
cmp -s "$W/descriptor" "$T/out" && ok "DIR/descriptor is what was printed" ||
	not_ok "DIR/descriptor differs from the output"
expect_eq "DIR holds exactly the four files" "$(ls -A "$W" | LC_ALL=C sort | tr '\n' ' ')" \
    "descriptor index.html stats.json stats.txt "
for f in descriptor index.html stats.json stats.txt; do
	expect_eq "$f: mode" "$(stat -c %a "$W/$f")" 644
	expect_eq "$f: owner" "$(stat -c %U "$W/$f")" "$TESTUSER"
done
mn stats --report >"$T/report" 2>&1
cmp -s "$W/stats.txt" "$T/report" && ok "stats.txt is mixnode stats --report" ||
	not_ok "stats.txt differs from stats --report"
mn stats --json >"$T/json" 2>&1
cmp -s "$W/stats.json" "$T/json" && ok "stats.json is mixnode stats --json" ||
	not_ok "stats.json differs from stats --json"
H=$W/index.html
ID=$(sed -n 's/^identity //p' "$D")
KEYS=$(sed -n 's/^mix-key \([0-9a-f]*\) .*/\1/p' "$D")
[ ${#ID} -eq 64 ] && [ -n "$KEYS" ] || hard "no identity or mix key in the descriptor"
grep -q "<code class=\"fp\" id=\"identity\">$ID</code>" "$H" && ok "the page holds the identity fingerprint" ||
	not_ok "identity fingerprint missing from the page"
for k in $KEYS; do
	grep -q "$k" "$H" && ok "the page holds mix key ${k:0:16}..." || not_ok "mix key $k missing"
done
expect_eq "six charts" "$(grep -c '<svg class="chart"' "$H")" 6
grep -q '<span id="node-name">a</span>' "$H" && ok "the page names the node" || not_ok "node name"
grep -q "$(node_addr a)" "$H" && ok "the page shows the address" || not_ok "address"
grep -qi '<script' "$H" && not_ok "a script in the page" || ok "no script in the page"
grep -q '<rect class="s-fwd"' "$H" && grep -q '<rect class="s-fin"' "$H" &&
    grep -q '<rect class="s-dum"' "$H" && grep -q '<rect class="s-pool"' "$H" &&
    grep -q '<rect class="d0"' "$H" && ok "bars for intermediate, final, dummies, pool, drops" ||
	not_ok "a chart has no bar"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$H" 2>"$T/xml.err" && ok "index.html is well-formed XML (xmllint)" ||
		{ not_ok "xmllint"; head -5 "$T/xml.err"; }
fi

# again: the files replaced whole, no temporary left
receive a "$M/junk"
mn publish --out "$W" >/dev/null 2>"$T/err"
expect_eq "publish --out again" "$?" 0
expect_eq "again: still exactly four files" "$(ls -A "$W" | wc -l)" 4
mn stats --report >"$T/report" 2>&1
cmp -s "$W/stats.txt" "$T/report" && ok "again: stats.txt is current" || not_ok "again: stats.txt stale"

# an unwritable DIR: 75, nothing left behind
as_user mkdir "$T/ro" && as_user chmod 0555 "$T/ro" || hard "mkdir ro"
mn publish --out "$T/ro" >"$T/out" 2>"$T/err"
expect_eq "an unwritable DIR: exit status" "$?" 75
expect_eq "an unwritable DIR: nothing in it" "$(ls -A "$T/ro" | wc -l)" 0
[ -s "$T/out" ] && not_ok "the descriptor was printed although --out failed" ||
	ok "nothing printed when --out fails"

# --- the page in Chromium ----------------------------------------------------------
[ "$FAILS" -eq 0 ] || finish
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no $CHROMIUM (scripts/quickstart installs it)"

# A copy with a script inserted: the page's CSP must keep it from running
sed 's|<title>|<script>document.title = "SCRIPT RAN";</script><title>|' "$H" >"$W/evil.html"
grep -q 'SCRIPT RAN' "$W/evil.html" || hard "could not make evil.html"
cat >"$T/harness.html" <<'EOF'
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>harness</title></head>
<body style="margin:0">
<iframe id="page" src="www/index.html" style="width:390px;height:844px;border:0"></iframe>
<iframe id="evil" src="www/evil.html" style="width:390px;height:100px;border:0"></iframe>
<pre id="out">pending</pre>
<script>
var lines = [], loaded = 0;
function report(frame) {
  var d, all, svgs, i, r, right = 0;
  try {
    d = frame.contentDocument;
    if (frame.id === 'evil') {
      lines.push('evil-title ' + d.title);
      return;
    }
    lines.push('client ' + d.documentElement.clientWidth);
    lines.push('scroll ' + d.documentElement.scrollWidth);
    svgs = d.querySelectorAll('svg.chart');
    lines.push('charts ' + svgs.length);
    for (i = 0; i < svgs.length; i++) {
      r = svgs[i].getBoundingClientRect();
      lines.push('chart ' + svgs[i].parentNode.id + ' ' + Math.round(r.width) + ' ' +
          Math.round(r.height));
    }
    all = d.body.getElementsByTagName('*');
    for (i = 0; i < all.length; i++) {
      r = all[i].getBoundingClientRect();
      if (r.right > right)
        right = r.right;
    }
    lines.push('right ' + Math.ceil(right));
    lines.push('scripts ' + d.getElementsByTagName('script').length);
    lines.push('text ' + d.body.innerText.replace(/\s+/g, ' '));
  } catch (e) {
    lines.push('error ' + e);
  }
}
function done() {
  if (++loaded === 2)
    document.getElementById('out').textContent = lines.join('\n') + '\nend';
}
document.getElementById('page').addEventListener('load', function () { report(this); done(); });
document.getElementById('evil').addEventListener('load', function () { report(this); done(); });
</script>
</body></html>
EOF
PROFILE=$T/chromium-profile
mkdir -p "$PROFILE" "$T/chome" || hard "mkdir profile"
NET=()
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && unshare --net true 2>/dev/null; then
	NET=(unshare --net)	# no network at all: only loopback, down
fi
# --headless=new renders as Chrome does; --allow-file-access-from-files lets
# the harness read its frames (file:// pages are otherwise opaque origins)
HOME=$T/chome XDG_CONFIG_HOME=$T/chome XDG_CACHE_HOME=$T/chome \
    timeout -k 5 120 "${NET[@]}" "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
    --user-data-dir="$PROFILE" --window-size=390,844 --hide-scrollbars \
    --allow-file-access-from-files \
    --no-first-run --no-default-browser-check --disable-extensions --disable-sync \
    --disable-background-networking --disable-component-update --disable-breakpad \
    --disable-default-apps --metrics-recording-only --host-resolver-rules="MAP * ~NOTFOUND" \
    --proxy-server="http://127.0.0.1:9" --virtual-time-budget=10000 \
    --dump-dom "file://$T/harness.html" >"$T/dom" 2>"$T/chromium.err"
rc=$?
# Every process of this run carries our private profile in its command line
for p in $(pgrep -f -- "--user-data-dir=$PROFILE" 2>/dev/null); do
	kill -9 "$p" 2>/dev/null
done
sleep 1
left=$(pgrep -f -- "--user-data-dir=$PROFILE" 2>/dev/null | wc -l)
expect_eq "no Chromium process survives" "$left" 0
expect_eq "chromium exit status" "$rc" 0
[ "$rc" -eq 0 ] || tail -5 "$T/chromium.err"
sed -n '/<pre id="out">/,/^end/p' "$T/dom" | sed 's/<pre id="out">//' >"$T/result"
grep -q '^end' "$T/result" || { not_ok "the harness reported nothing"; head -c 2000 "$T/dom"; finish; }
grep '^error' "$T/result" && not_ok "the harness could not read the page"
r() { sed -n "s/^$1 //p" "$T/result"; }
expect_eq "rendered at phone width" "$(r client)" 390
[ "$(r scroll)" -le 390 ] && ok "no horizontal scrolling at 390 px ($(r scroll))" ||
	not_ok "the page scrolls sideways: $(r scroll) px wide"
[ "$(r right)" -le 390 ] && ok "no element sticks out at 390 px ($(r right))" ||
	not_ok "an element reaches $(r right) px"
expect_eq "six charts rendered" "$(r charts)" 6
r chart >"$T/charts"
while read -r id w h; do
	[ "$w" -gt 200 ] && [ "$h" -gt 100 ] && [ "$w" -le 390 ] &&
	    ok "chart $id rendered ${w}x$h" || not_ok "chart $id rendered ${w}x$h"
done <"$T/charts"
expect_eq "no script element in the page" "$(r scripts)" 0
TEXT=$(r text)
case $TEXT in *"$ID"*) ok "the identity fingerprint is shown" ;;
*) not_ok "the identity fingerprint is not in the rendered text" ;; esac
for k in $KEYS; do
	case $TEXT in *"$k"*) ok "mix key ${k:0:16}... is shown" ;;
	*) not_ok "mix key $k is not in the rendered text" ;; esac
done
case $TEXT in *"Messages per hour, last 24 hours"*"Drops per day by reason"*) ok "the chart captions are shown" ;;
*) not_ok "chart captions missing from the rendered text" ;; esac
[ "$(r evil-title)" = "mixmail node a" ] && ok "an inserted script does not run (CSP)" ||
	not_ok "evil.html title: $(r evil-title)"
finish
