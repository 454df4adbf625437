#!/bin/bash
# demo.sh - the quick-start demo (demo/mixnet-demo) works from this build:
# three nodes carry demo/message.eml, and the demo's own checks (exact
# To, Subject, text and attachment; the anonymous From; nothing of the
# sender's identity; every pool empty at the end) all pass. Run as root,
# the demo runs the programs as its user mixdemo.
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
B=$(cd "$top_builddir" && pwd) || exit 99
S=$(cd "$top_srcdir" && pwd) || exit 99
out=$(mktemp /tmp/mixtest-demo.XXXXXX) || exit 99
trap 'rm -f "$out"' EXIT
"$S/demo/mixnet-demo" "$B" >"$out" 2>&1
rc=$?
cat "$out"
fails=0
if [ "$rc" -eq 0 ]; then echo "ok: the demo exited 0"; else echo "FAIL: the demo exited $rc"; fails=1; fi
n=$(grep -c '^    ok: ' "$out")
if [ "$n" -eq 5 ] && ! grep -q FAILED "$out"; then
	echo "ok: the demo's 5 checks passed"
else
	echo "FAIL: the demo's checks: $n of 5 passed"
	fails=1
fi
if grep -q '^    Subject: Documents about the water contract$' "$out" &&
    grep -q '^    From: Anonymous <nobody@mix-n3.test>$' "$out"; then
	echo "ok: the delivered mail is printed"
else
	echo "FAIL: the delivered mail is not printed"
	fails=1
fi
if ls -d /tmp/mixmail-demo.* 2>/dev/null | grep -q .; then
	# another demo may be running at this instant; only report
	echo "note: /tmp/mixmail-demo.* directories exist"
fi
exit "$fails"
