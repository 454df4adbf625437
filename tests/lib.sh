# lib.sh - what the shell tests of mixnode share (sourced by bash scripts).
#
# The programs refuse to run as root, and CI runs `make check` as root from
# a checkout under /root. So, when run as root, the tests create (once) a
# system user "mixtest", copy the programs into a stage directory under
# /tmp owned by that user, and run them as that user with setpriv (part of
# util-linux, which every Debian has; unlike runuser it execs the program
# in place, so $! of a background job is the program's own pid, which the
# kill -9 tests need). Not as root, everything runs as the current user.
#
# Every test gets a fresh stage directory $T, removed on every exit path
# (after unmounting any file system the test mounted under it, listed in
# $MOUNTS, and killing any helper process listed in $BGPIDS). Exit status:
# 0 all checks passed, 1 some failed, 77 skipped (the reason is printed),
# 99 the build is incomplete.
#
# Helpers:
#   as_user CMD...          run CMD as the test user
#   mixnode ARGS...         the staged mixnode, as the test user
#   mkpacket ARGS...        the staged tests/mkpacket, as the test user
#   node_make NAME [LINE..] a node in $T/NAME: config (+ extra lines), init,
#                           publish; sets nothing else
#   node_conf / node_spool / node_desc / node_addr NAME
#   receive NAME MAIL       run the hook (stdin MAIL), status in $RC,
#                           stderr in $T/NAME/last.err and appended to
#                           $T/NAME/hook.err; an exit status other than 0
#                           or 75 is a failure
#   stat_get NAME COUNTER   a counter of `mixnode stats`
#   snap NAME / delta NAME "c1=n1 c2=n2"  every counter's change since the
#                           snapshot must be as listed, all others 0
#   pool_count / tmp_count NAME, pool_names NAME
#   entry_check FILE        a pool entry is complete: magic, reserved
#                           bytes, lengths and checksum (doc/INTERNALS.md 2)
#   pool_check NAME DESC    every entry named right, complete, and no two
#                           holding the same replay tag
#   be_uint FILE OFF LEN    a big-endian number from a file
#   mail_headers MAIL       From, To, Subject... values (never to be logged)
#   asan_libesmtp           under ASan, suppress libESMTP's false positive
#                           (for tests whose programs send by SMTP)
#   ok / not_ok / expect_eq / expect_rc   report one check
#   finish                  summary and exit status

set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
B=$(cd "$top_builddir" && pwd) || { echo "lib.sh: no build dir $top_builddir"; exit 99; }
S=$(cd "$top_srcdir" && pwd) || { echo "lib.sh: no source dir $top_srcdir"; exit 99; }
TESTNAME=$(basename "$0" .sh)

FAILS=0
PASSES=0
T=
MOUNTS=
BGPIDS=
AS=()
TESTUSER=$(id -un)

ok() { PASSES=$((PASSES + 1)); echo "ok: $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
skip() { echo "SKIP: $TESTNAME: $*"; exit 77; }
hard() { echo "ERROR: $TESTNAME: $*"; exit 99; }

# expect_eq DESC GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', wanted '$3'"; fi
}

# expect_rc DESC WANT: checks $RC of the last receive
expect_rc() {
	expect_eq "$1: exit status" "$RC" "$2"
}

cleanup() {
	local p m
	set +e
	for p in $BGPIDS; do
		kill -9 "$p" 2>/dev/null
	done
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# finish - summary; the exit status make check sees
finish() {
	echo "$TESTNAME: $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ] && exit 0
	exit 1
}

# --- the user the programs run as ------------------------------------------
ensure_user() {
	local i
	for i in 1 2 3 4 5; do
		id -u mixtest >/dev/null 2>&1 && return 0
		# Another test may be creating it at this instant: then useradd
		# fails on the lock or the existing name, and the next round sees it.
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin --user-group mixtest >/dev/null 2>&1 && return 0
		sleep 1
	done
	id -u mixtest >/dev/null 2>&1
}

umask 022
[ -x "$B/src/mixnode" ] || hard "$B/src/mixnode is not built"
[ -x "$B/src/mixnode-mime" ] || hard "$B/src/mixnode-mime is not built"
[ -x "$B/src/mixnode-flush" ] || hard "$B/src/mixnode-flush is not built"
[ -x "$B/tests/mkpacket" ] || hard "$B/tests/mkpacket is not built (make check builds it)"

T=$(mktemp -d /tmp/mixtest-$TESTNAME.XXXXXX) ||
	skip "cannot make a temporary directory under /tmp"
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null 2>&1 || skip "running as root, and setpriv (util-linux) is missing"
	ensure_user || skip "running as root, and the user mixtest cannot be created (useradd)"
	TESTUSER=mixtest
	AS=(setpriv --reuid=mixtest --regid=mixtest --init-groups --)
	chown mixtest:mixtest "$T" || hard "chown $T"
	"${AS[@]}" true || skip "setpriv cannot switch to the user mixtest here"
fi
mkdir "$T/bin" && cp "$B/src/mixnode" "$B/src/mixnode-mime" "$B/src/mixnode-flush" \
	"$B/tests/mkpacket" "$T/bin/" &&
	chmod 0755 "$T/bin" "$T/bin/mixnode" "$T/bin/mixnode-mime" "$T/bin/mixnode-flush" \
	"$T/bin/mkpacket" ||
	hard "cannot stage the programs in $T/bin"
# mixnode receive and flush run their helpers from here, not from the install path
MIXNODE_LIBEXECDIR=$T/bin
export MIXNODE_LIBEXECDIR
# The user's own files (nodes, mails) are made by the user, so that they
# are readable by it whoever runs the shell.
as_user() { "${AS[@]}" "$@"; }
as_user test -w "$T" || skip "$T is not writable by $TESTUSER"
as_user "$T/bin/mixnode" --version >/dev/null 2>&1 ||
	hard "the staged mixnode does not run as $TESTUSER (is /tmp mounted noexec?)"
mixnode() { as_user "$T/bin/mixnode" "$@"; }
mkpacket() { as_user "$T/bin/mkpacket" "$@"; }
echo "$TESTNAME: running the programs as $TESTUSER in $T"

# --- nodes -------------------------------------------------------------------
node_conf() { echo "$T/$1/mixnode.conf"; }
node_spool() {
	if [ -f "$T/$1/spool.path" ]; then cat "$T/$1/spool.path"; else echo "$T/$1/spool"; fi
}
node_desc() { echo "$(node_spool "$1")/descriptor"; }
node_addr() { echo "$1@mix-$1.test"; }

# node_make NAME [EXTRA-CONFIG-LINE...]: 1 if any step fails. The spool is
# $T/NAME/spool, or $NODE_SPOOL if set; lock_timeout 60s or $NODE_LOCK_TIMEOUT;
# replay_capacity 2000 or $NODE_REPLAY_CAPACITY.
node_make() {
	local n=$1 l
	shift
	as_user mkdir -p "$T/$n" || { not_ok "$n: mkdir"; return 1; }
	[ -z "${NODE_SPOOL:-}" ] || echo "$NODE_SPOOL" >"$T/$n/spool.path"
	{
		echo "# $TESTNAME node $n"
		echo "name = $n"
		echo "address = $(node_addr "$n")"
		echo "spool_dir = $(node_spool "$n")"
		echo "max_message_size = 64k"
		# Long enough that no lock wait on a busy machine ends in 75
		echo "lock_timeout = ${NODE_LOCK_TIMEOUT:-60s}"
		# Small replay caches: the default (10 M tags) is a 256 MB file
		echo "replay_capacity = ${NODE_REPLAY_CAPACITY:-2000}"
		for l in "$@"; do echo "$l"; done
	} | as_user sh -c "cat > '$(node_conf "$n")'" || { not_ok "$n: config"; return 1; }
	mixnode -c "$(node_conf "$n")" init >"$T/$n/init.out" 2>&1 ||
		{ not_ok "$n: init failed"; sed 's/^/  | /' "$T/$n/init.out"; return 1; }
	mixnode -c "$(node_conf "$n")" publish >"$T/$n/publish.out" 2>&1 ||
		{ not_ok "$n: publish failed"; sed 's/^/  | /' "$T/$n/publish.out"; return 1; }
	[ -s "$(node_desc "$n")" ] || { not_ok "$n: publish wrote no descriptor"; return 1; }
	return 0
}

# The envelope the MTA passes to the hook: never to appear in a log
HOOK_SENDER=envelope-sender-7c1@sender.example.test
MAXERRLINES=0	# most lines one hook run wrote to stderr

# receive NAME MAIL [ENV=VALUE...]: sets RC
receive() {
	local n=$1 mail=$2 l
	shift 2
	as_user env "$@" "$T/bin/mixnode" -c "$(node_conf "$n")" receive \
	    "$HOOK_SENDER" "$(node_addr "$n")" <"$mail" >"$T/$n/last.out" 2>"$T/$n/last.err"
	RC=$?
	cat "$T/$n/last.err" >>"$T/$n/hook.err"
	l=$(wc -l <"$T/$n/last.err")
	[ "$l" -le "$MAXERRLINES" ] || MAXERRLINES=$l
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 75 ]; then
		not_ok "receive exited $RC (only 0 and 75 are allowed)"
		sed 's/^/  | /' "$T/$n/last.err"
	fi
	return 0
}

# --- statistics ----------------------------------------------------------------
# stats_dump NAME: "counter value" lines, sorted
stats_dump() {
	mixnode -c "$(node_conf "$1")" stats 2>"$T/$1/stats.err" | LC_ALL=C sort
}

stat_get() {
	stats_dump "$1" | awk -v c="$2" '$1 == c { print $2; f = 1 } END { if (!f) print "missing" }'
}

snap() {
	stats_dump "$1" >"$T/$1/snap"
	[ -s "$T/$1/snap" ] || not_ok "$1: mixnode stats printed nothing"
}

# delta NAME "counter=n ..." [DESC]: the change since snap, all counters
delta() {
	local n=$1 want=$2 desc=${3:-counters} got
	stats_dump "$n" >"$T/$n/now"
	got=$(LC_ALL=C join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$T/$n/snap" "$T/$n/now" |
	    awk '{ d = $3 - $2; if (d != 0) { printf "%s%s=%d", sep, $1, d; sep = " " } }')
	want=$(echo "$want" | tr ' ' '\n' | grep -v '=0$' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	got=$(echo "$got" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$desc: counter changes" "$got" "$want"
}

# --- the spool -----------------------------------------------------------------
pool_names() { ls -A "$(node_spool "$1")/pool" 2>/dev/null | LC_ALL=C sort; }
pool_count() { ls -A "$(node_spool "$1")/pool" 2>/dev/null | wc -l; }
tmp_count() { ls -A "$(node_spool "$1")/tmp" 2>/dev/null | wc -l; }

# be_uint FILE OFFSET LEN: a big-endian unsigned number from the file
be_uint() {
	od -An -v -tu1 -j "$2" -N "$3" "$1" | awk '{ for (i = 1; i <= NF; i++) v = v * 256 + $i } END { print v + 0 }'
}

# entry_check FILE: 0 if the pool entry is whole and valid, else prints why
entry_check() {
	local f=$1 size a d kind want sum
	size=$(wc -c <"$f")
	[ "$size" -ge 101 ] || { echo "short ($size bytes)"; return 1; }
	[ "$(head -c 8 "$f")" = MIXPOOL1 ] || { echo "bad magic"; return 1; }
	kind=$(be_uint "$f" 8 1)
	case $kind in 1|2|3) ;; *) echo "bad kind $kind"; return 1;; esac
	[ "$(be_uint "$f" 9 3)" = 0 ] || { echo "reserved bytes not zero"; return 1; }
	a=$(be_uint "$f" 64 1)
	d=$(be_uint "$f" $((65 + a)) 4)
	want=$((69 + a + d + 32))
	[ "$size" -eq "$want" ] || { echo "length $size, fields say $want"; return 1; }
	sum=$(head -c $((69 + a + d)) "$f" | b2sum -l 256 | cut -d' ' -f1)
	[ "$sum" = "$(tail -c 32 "$f" | od -An -v -tx1 | tr -d ' \n')" ] ||
		{ echo "checksum wrong"; return 1; }
	return 0
}

# pool_check NAME DESC: names are 32 hex digits, every entry is valid, no
# two entries hold the same replay tag
pool_check() {
	local n=$1 desc=$2 f e bad=0 why
	for f in "$(node_spool "$n")"/pool/*; do
		[ -e "$f" ] || continue
		e=$(basename "$f")
		if ! echo "$e" | grep -Eqx '[0-9a-f]{32}'; then
			not_ok "$desc: pool entry with a bad name"
			bad=1
		elif ! why=$(entry_check "$f"); then
			not_ok "$desc: pool entry not valid: $why"
			bad=1
		fi
	done
	if [ "$(for f in "$(node_spool "$n")"/pool/*; do [ -e "$f" ] &&
	    od -An -v -tx1 -j 12 -N 32 "$f" | tr -d ' \n' && echo; done | sort | uniq -d | wc -l)" -ne 0 ]; then
		not_ok "$desc: two pool entries hold the same packet"
		bad=1
	fi
	[ "$bad" -eq 0 ] && ok "$desc: pool entries valid and distinct"
}

# mail_headers MAIL: the values of From, To, Subject (things never to log)
mail_headers() {
	sed -n '1,/^\r\{0,1\}$/p' "$1" | sed -n 's/^\(From\|To\|Subject\|Cc\|Reply-To\):[ \t]*//Ip' |
	    tr -d '\r' | grep -v '^$'
}

# asan_libesmtp - libESMTP trips ASan's strict_string_checks with a false
# positive (src/relay.c explains): under ASan, suppress reports from the
# interceptors libESMTP calls, nothing else. A no-op otherwise.
asan_libesmtp() {
	[ -n "${ASAN_OPTIONS:-}" ] || return 0
	echo 'interceptor_via_lib:libesmtp.so' >"$T/asan.supp" && chmod 0644 "$T/asan.supp" ||
		hard "cannot write $T/asan.supp"
	export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$T/asan.supp"
}
