#!/bin/sh
# programs.sh - the programs answer --version and --help truthfully, refuse
# unknown arguments with the usage exit code (64), and the demo runs.
set -u
b=${top_builddir:-.}
s=${top_srcdir:-.}
fail=0

check() {	# check DESCRIPTION EXPECTED-STATUS COMMAND...
	desc=$1 want=$2
	shift 2
	"$@" >out.$$ 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $desc: exit $got, wanted $want"
		sed 's/^/  | /' out.$$
		fail=1
	else
		echo "ok: $desc"
	fi
}

for p in mixmail mixnode; do
	check "$p --version" 0 "$b/src/$p" --version
	grep -q "^$p 0\." out.$$ || { echo "FAIL: $p --version output"; fail=1; }
	check "$p --help" 0 "$b/src/$p" --help
	grep -q "^usage: $p" out.$$ || { echo "FAIL: $p --help output"; fail=1; }
	grep -q "not yet" out.$$ || { echo "FAIL: $p --help hides that commands are missing"; fail=1; }
	check "$p with an unknown argument" 64 "$b/src/$p" --bogus
	check "$p with no arguments" 64 "$b/src/$p"
done

# The demo carries the message through three hops and shows the tag defeat.
check "packet demo" 0 "$b/demo/packet-demo" "$s/demo/message.txt"
grep -q "Documents about the water contract" out.$$ ||
	{ echo "FAIL: the demo did not deliver the message"; fail=1; }
grep -q "next hop:    mix@charlie.example" out.$$ ||
	{ echo "FAIL: the demo did not show the next hop"; fail=1; }
grep -q "drops it: payload integrity check failed" out.$$ ||
	{ echo "FAIL: the demo's tagging attack was not dropped at the exit"; fail=1; }
check "packet demo with a missing file" 1 "$b/demo/packet-demo" /nonexistent/file

rm -f out.$$
exit $fail
