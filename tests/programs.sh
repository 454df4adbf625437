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
	check "$p with an unknown argument" 64 "$b/src/$p" --bogus
	check "$p with no arguments" 64 "$b/src/$p"
done

# mixnode config: effective settings like postconf; errors name file, line
# and setting and exit 78.
cf=conf.$$
printf '# test\nname = testnode\nrelay = maildir:/tmp/x\n' > "$cf"
check "mixnode config" 0 "$b/src/mixnode" -c "$cf" config
grep -qx "name = testnode" out.$$ || { echo "FAIL: config name"; fail=1; }
grep -qx "key_lifetime = 30d" out.$$ || { echo "FAIL: config default"; fail=1; }
check "mixnode config -n" 0 "$b/src/mixnode" -c "$cf" config -n
[ "$(wc -l < out.$$)" -eq 2 ] || { echo "FAIL: config -n printed other than 2 lines"; fail=1; }
check "mixnode config NAME" 0 "$b/src/mixnode" -c "$cf" config relay
grep -qx "relay = maildir:/tmp/x" out.$$ || { echo "FAIL: config NAME"; fail=1; }
check "mixnode config -d NAME" 0 "$b/src/mixnode" -c "$cf" config -d relay
grep -qx "relay = smtp://127.0.0.1:25" out.$$ || { echo "FAIL: config -d"; fail=1; }
check "mixnode config unknown NAME" 78 "$b/src/mixnode" -c "$cf" config nosuch
check "MIXNODE_CONF names the file" 0 env MIXNODE_CONF="$cf" "$b/src/mixnode" config name
grep -qx "name = testnode" out.$$ || { echo "FAIL: MIXNODE_CONF"; fail=1; }
printf 'name = testnode\nexit = perhaps\n' > "$cf"
check "mixnode config with a bad value" 78 "$b/src/mixnode" -c "$cf" config
grep -q "^mixnode: $cf:2: setting exit: " out.$$ || { echo "FAIL: error names file, line, setting"; fail=1; }
check "mixnode config with a missing file" 78 "$b/src/mixnode" -c /nonexistent/m.conf config
check "mixnode unknown command" 64 "$b/src/mixnode" frobnicate
rm -f "$cf"

# Run as root (as CI does), the node commands refuse; the hook refuses with
# 75, never with a status the MTA would bounce. (tests/receive.sh runs them
# as an unprivileged user.)
if [ "$(id -u)" -eq 0 ]; then
	printf 'spool_dir = /nonexistent/spool\n' > "$cf"
	for c in init keys publish check stats; do
		check "mixnode $c as root" 77 "$b/src/mixnode" -c "$cf" $c
		grep -q "refusing to run $c as root" out.$$ ||
			{ echo "FAIL: $c as root: no reason given"; fail=1; }
	done
	check "mixnode receive as root" 75 sh -c "'$b/src/mixnode' -c '$cf' receive < /dev/null"
	rm -f "$cf"
else
	echo "ok: (not root: the refusal of root is checked when the suite runs as root)"
fi

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
