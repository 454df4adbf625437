#!/bin/bash
# run-flush.sh - bench/bench-flush against a private Postfix on 127.0.0.1.
#
# usage (as root, from the build directory):
#   bash SRCDIR/bench/run-flush.sh [N]
# Starts a private Postfix (tests/mta-lib.sh) whose every mail is
# discarded once queued (the benchmark measures the node's hand-off, not
# Postfix's delivery), makes a node (mixing = threshold, mix_threshold = 1,
# no dummies, relay = that Postfix) as the user mixtest, fills its pool
# with N entries (default 10000) and times one `mixnode flush`. Then the
# selection benchmark over 1,000,000 empty entries. Everything lives under
# one /tmp directory, removed at the end; Postfix is stopped on every exit.
# BENCH_SMTP_SOURCE=1 also times Postfix's smtp-source sending N mails of
# the same size to the same Postfix: the MTA's own ceiling here.
# BENCH_SELECT=0 skips the selection benchmark (it makes and removes a
# million files, which slows the file system for a while afterwards).
set -u
N=${1:-10000}
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "run-flush.sh: run as root (a private Postfix needs root)"; exit 1; }
for p in src/mixnode src/mixnode-flush bench/bench-flush; do
	[ -x "$B/$p" ] || { echo "run-flush.sh: $B/$p is not built"; exit 1; }
done
id -u mixtest >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group mixtest || exit 1
MTA_PIPE_USER=mixtest
. "$S/tests/mta-lib.sh"
W=$(mktemp -d /tmp/bench-flush.XXXXXX) || exit 1
trap 'mta_cleanup; rm -rf "$W"' EXIT
chmod 0755 "$W"
mkdir "$W/bin" && cp "$B/src/mixnode" "$B/src/mixnode-flush" "$B/bench/bench-flush" "$W/bin/" ||
	exit 1
chmod 0755 "$W/bin" "$W"/bin/*
mkdir "$W/node" && chown mixtest:mixtest "$W/node" || exit 1
AS=(setpriv --reuid=mixtest --regid=mixtest --init-groups --)
mta_tmpdir || exit 1
PORT=$(mta_free_port) || exit 1
mta_postfix_setup "$MTA_DIR" "$PORT" "transport_maps =" "default_transport = discard" || exit 1
# BENCH_QUEUE_TMPFS=1: Postfix's queue in memory, to see the node's own
# share of the time (Postfix syncs every queue file it accepts)
if [ -n "${BENCH_QUEUE_TMPFS:-}" ]; then
	mount -t tmpfs -o size=1g,mode=0755 tmpfs "$MTA_DIR/queue" || exit 1
	trap 'for d in $MTA_RUNNING; do mta_postfix_stop "$d"; done
	    umount "$MTA_DIR/queue"; mta_cleanup; rm -rf "$W"' EXIT
fi
mta_postfix_start "$MTA_DIR" "$PORT" || exit 1
cat >"$W/node/mixnode.conf" <<EOC
name = bench
address = bench@mix-bench.test
spool_dir = $W/node/spool
relay = smtp://127.0.0.1:$PORT
mixing = threshold
mix_threshold = 1
dummy_per_round = 0
dummy_per_inbound_permille = 0
replay_capacity = 100000
EOC
chmod 0644 "$W/node/mixnode.conf"
export MIXNODE_LIBEXECDIR=$W/bin
"${AS[@]}" "$W/bin/mixnode" -c "$W/node/mixnode.conf" init >/dev/null || exit 1
echo "# ${BENCH_QUEUE_TMPFS:+BENCH_QUEUE_TMPFS=1 }bash bench/run-flush.sh $N   (Postfix 127.0.0.1:$PORT, discard transport)"
"${AS[@]}" env MIXNODE_LIBEXECDIR="$W/bin" "$W/bin/bench-flush" \
    -c "$W/node/mixnode.conf" -m "$W/bin/mixnode" -n "$N"
echo "# mixnode stats after the run:"
"${AS[@]}" "$W/bin/mixnode" -c "$W/node/mixnode.conf" stats | grep -E '^(out_|rounds|pool_size)'
# BENCH_SMTP_SOURCE=1: Postfix's own ceiling on this machine. Postfix's
# smtp-source sends N messages of a first-hop mail's size (28 KB) to the
# same instance, in as many parallel sessions as the flusher uses (6),
# after the queue has drained.
if [ -n "${BENCH_SMTP_SOURCE:-}" ] && command -v smtp-source >/dev/null 2>&1; then
	mta_wait_queue_empty "$MTA_DIR" 300 || echo "# the queue did not drain"
	sleep 2
	t0=$(date +%s%N)
	smtp-source -s 6 -m "$N" -l 28000 -f bench@mix-bench.test -t sink@sink.test \
	    127.0.0.1:"$PORT" || echo "# smtp-source failed"
	t1=$(date +%s%N)
	awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "smtp-source -s 6 -m %d -l 28000: %.2f s, %.0f messages/s\n", n, ns / 1e9, n / (ns / 1e9) }'
fi
[ "${BENCH_SELECT:-1}" = 0 ] && exit 0
mkdir "$W/sel" && chown mixtest:mixtest "$W/sel"
"${AS[@]}" "$W/bin/bench-flush" -S 1000000 -d "$W/sel/spool" | grep -v '^#\|^machine\|^os\|^load\|^lib'
