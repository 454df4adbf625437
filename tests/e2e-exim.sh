#!/bin/bash
# e2e-exim.sh - the Exim recipe of mta-hooks/exim, through a real Exim: one
# node's hook alone, then the whole three-node mixnet.
#
# Debian's exim4 and postfix packages conflict, so this test does not
# expect Exim to be installed: scripts/fetch-exim unpacks Debian's
# exim4-daemon-light (and whatever libraries it lacks here) into a cache
# directory, found through $MIXMAIL_EXIM_DIR or /var/cache/mixmail-test/exim.
# The test itself needs no network.
#
# That Exim runs as root with a private configuration (-C) on 127.0.0.1,
# inside a private mount namespace (unshare) in which /etc and the
# library directory are overlays whose upper layers live in the test's
# directory: the Exim user Debian-exim is added to /etc/passwd, the
# configuration is listed in /etc/exim4/trusted_configs (so that Exim's
# re-executed delivery processes keep root and can switch to the node's
# user: mta-hooks/exim/main, note 5), and the missing libraries appear
# where the setuid binary looks for them. Nothing outside the test's
# directory is written; the overlays vanish with the namespace when the
# Exim processes end.
#
# The routers, transport and main settings are taken from mta-hooks/exim
# with only the placeholders replaced: once as shipped for the node n1,
# and once per mixnet node x1, x2, x3, each instance's router and
# transport names suffixed with the node's name (_x1...). The mixnet
# nodes' command is a small wrapper, $X/bin/hook-xN, that keeps the
# hook's output in $T/xN/hook.err (for the privacy checks) and then execs
# mixnode with the recipe's arguments as they are. Mail to dest.test goes
# to a Maildir (appendfile); every other domain to the sink pipe, which
# must stay empty (bounces would land there). The hooks get the sanitizer
# settings through the transport's environment option (under ASan the
# test checks that they arrive: a sanitizer report ends a hook with
# status 1, which Exim would count as a failed delivery). Cases, mail
# sent by SMTP:
#   1. a packet mail is committed to n1's pool exactly once (a second
#      copy is dropped as a replay);
#   2. mail without a usable packet, and a mail larger than
#      max_message_size, is dropped and counted, and nothing is bounced
#      (the envelope sender is an address of the sink); another address
#      of the node's domain is refused during the SMTP session; EHLO
#      offers no DSN;
#   3. the spool made unusable: the hook exits 75, Exim defers (the mail
#      stays queued, nothing bounced); repaired, a queue run delivers it;
#   4. the hook cannot be executed: the mail is frozen, not bounced;
#      repaired and thawed, it is delivered;
# The mixnet: x1, x2 middlemen, x3 the exit; mixmail (the sender) and the
# nodes' `mixnode flush` hand their mail to the same Exim by SMTP. The
# test drives it in bounded passes (flush x1, x2, x3, each followed by
# Exim's queue draining) until nothing is in flight.
#   5. a whole mail (mixmail -m: multipart/mixed, a text part and a
#      binary attachment, the sender's identifying header fields) through
#      the chain x1,x2,x3: delivered once, exactly (From, Date and
#      Message-ID the exit's, the abuse contact, To, Subject, Reply-To,
#      the header field list, the body byte for byte, the attachment
#      decoded equal to its file), the counters at each hop;
#   6. a long message sent as several erasure-coded packets: rebuilt at
#      the exit, delivered once, byte-exact;
#   7. copies (-c 2): both reach the exit, which delivers one mail;
#   8. dummies: x1 makes cover traffic; Exim carries each to two hooks,
#      the last hop counts it (in_dummy), the Maildir gets nothing;
#   9. Exim stopped while x2 flushes: the mail waits in x2's defer/
#      (out_temp); Exim started again, the due flush sends it, delivered
#      exactly once;
#  10. garbage (no packet) and replays (the same first-hop mail again,
#      and re-encoded as quoted-printable) to x1: dropped and counted,
#      never bounced; the message arrives once;
#  11. at the end: the Maildir holds exactly the expected mails, each from
#      the exit; no mail of any kind reached the sink; Exim made no bounce
#      and failed no delivery; none of the sender's dropped header values
#      reached the Maildir; no address, subject or body marker in any
#      node's output, the stats or mixmail's stderr; no content marker in
#      Exim's log; the hooks' text is in no mail.
# Every wait and loop is bounded (and the whole mixnet part gives up
# after 5 minutes); Exim and its namespace are ended on every exit path.
# Skipped (77, with the reason) when not root, when the unpacked Exim is
# not there, or when this machine does not allow a private mount
# namespace with overlays. E2E_KEEP=DIR keeps the Maildir, Exim's log and
# the nodes' outputs in DIR, for a look after.

TESTNAME=e2e-exim
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: $TESTNAME: not root (Exim with a private configuration needs root)"
	exit 77
fi
XD=${MIXMAIL_EXIM_DIR:-/var/cache/mixmail-test/exim}
EXIM=$XD/root/usr/sbin/exim4
if [ ! -x "$EXIM" ] || [ ! -f "$XD/ready" ]; then
	echo "SKIP: $TESTNAME: no unpacked Exim in $XD (run scripts/fetch-exim, or set MIXMAIL_EXIM_DIR)"
	exit 77
fi
for t in unshare nsenter mount; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "SKIP: $TESTNAME: $t is missing (util-linux)"; exit 77; }
done
if [ ! -u "$EXIM" ]; then
	echo "SKIP: $TESTNAME: $EXIM is not setuid root (unpack it as root: scripts/fetch-exim)"
	exit 77
fi
if command -v findmnt >/dev/null 2>&1 &&
    findmnt -n -o OPTIONS -T "$EXIM" 2>/dev/null | tr ',' '\n' | grep -qx nosuid; then
	echo "SKIP: $TESTNAME: $XD is on a file system mounted nosuid (Exim must regain root)"
	exit 77
fi
command -v base64 >/dev/null 2>&1 || { echo "SKIP: $TESTNAME: no base64 (coreutils)"; exit 77; }

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

H=$S/mta-hooks
[ -d "$H/exim" ] || hard "no $H/exim"
[ -x "$B/src/mixmail" ] || hard "$B/src/mixmail is not built"
[ -x "$B/tests/relay-send" ] || hard "$B/tests/relay-send is not built (make check builds it)"
cp "$B/src/mixmail" "$B/tests/relay-send" "$T/bin/" &&
	chmod 0755 "$T/bin/mixmail" "$T/bin/relay-send" || hard "cannot stage mixmail and relay-send"
# libESMTP's false positive under ASan (lib.sh); before the configuration
# is written: the hooks get these settings from the transports
asan_libesmtp

mta_tmpdir || hard "cannot make the Exim directory"
X=$MTA_DIR
PORT=$(mta_free_port) || hard "no free port"
XCONF=$X/exim.conf
XLOG=$X/log/mainlog
XPID=
XNS=
START=$(date +%s)

# --- the private Exim ---------------------------------------------------------
# exim_stop: end the daemon and every process of its namespace (by pid)
exim_stop() {
	local p i
	[ -n "$XNS" ] || return 0
	[ -n "$XPID" ] && kill -TERM "$XPID" 2>/dev/null
	for i in $(seq 1 50); do
		p=$(exim_procs)
		[ -n "$p" ] || break
		# shellcheck disable=SC2086
		[ "$i" -gt 20 ] && kill -9 $p 2>/dev/null
		sleep 0.1
	done
	XNS=
}
# exim_procs: the pids of live processes in the Exim's mount namespace
exim_procs() {
	local p
	[ -n "$XNS" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$XNS" ] || continue
		mta_alive "${p#/proc/}" && echo "${p#/proc/}"
	done
	return 0
}
trap 'exim_stop; mta_cleanup; cleanup' EXIT

# exim_cmd ARGS...: Exim with the private configuration, inside the namespace
exim_cmd() {
	nsenter --mount="/proc/$XPID/ns/mnt" -- "$EXIM" -C "$XCONF" "$@"
}

# A uid and gid for Debian-exim that nobody here uses
XUID=
for u in $(seq 64990 -1 64900); do
	if ! getent passwd "$u" >/dev/null && ! getent group "$u" >/dev/null; then
		XUID=$u
		break
	fi
done
[ -n "$XUID" ] || hard "no free uid for Debian-exim"

# --- the nodes ------------------------------------------------------------------
# n1 alone (cases 1 to 4; n2 only lends its descriptor to the packets)
node_make n1 "mixing = threshold" "mix_threshold = 1000" "dummy_per_round = 0" \
    "dummy_per_inbound_permille = 0" || finish
node_make n2 || finish
CONF=$(node_conf n1)
SPOOL=$(node_spool n1)
ADDR=$(node_addr n1)
DOMAIN=${ADDR#*@}
LOCAL=${ADDR%@*}
D1=$(node_desc n1)
D2=$(node_desc n2)
M=$T/mail
as_user mkdir "$M" && chmod 0755 "$M" || hard "mkdir $M"
SINK_SENDER=exim-sender-3b9@sink.test

# The mixnet: x1, x2 middlemen, x3 the exit
NODES="x1 x2 x3"
EXIT_FROM="Anonymous <nobody@mix-x3.test>"
ABUSE=abuse-exim@mix-x3.test
COMMON=("mixing = threshold" "mix_threshold = 1" "dummy_per_round = 0"
    "dummy_per_inbound_permille = 0" "dummy_pool_permille = 0" "dummy_hops = 2"
    "relay = smtp://127.0.0.1:$PORT")
node_make x1 "${COMMON[@]}" || finish
node_make x2 "${COMMON[@]}" || finish
node_make x3 "${COMMON[@]}" "exit = yes" "exit_from = $EXIT_FROM" "abuse_contact = $ABUSE" || finish
for n in $NODES; do
	others=()
	for o in $NODES; do [ "$o" = "$n" ] || others+=("$(node_desc "$o")"); done
	mixnode -c "$(node_conf "$n")" nodes import "${others[@]}" >"$T/$n/import.out" 2>&1 ||
		{ not_ok "$n: nodes import"; sed 's/^/  | /' "$T/$n/import.out"; }
done

# --- the configuration ----------------------------------------------------------
# payload FILE: the recipe's lines, less comments and empty lines
payload() {
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1"
}
# recipe FILE NODE COMMAND [SUFFIX]: FILE's payload for NODE, its
# placeholders replaced (the mixnode path by COMMAND); with SUFFIX, every
# router or transport it defines, and every transport it names, gets
# SUFFIX appended, so that one configuration can hold an instance per node
recipe() {
	local f=$1 n=$2 cmd=$3 sfx=${4:-} addr
	local rename=()
	addr=$(node_addr "$n")
	[ -z "$sfx" ] || rename=(-e "s|^\([A-Za-z0-9_]*\):\$|\1$sfx:|"
	    -e "s|^\([[:space:]]*transport[[:space:]]*=[[:space:]]*[A-Za-z0-9_]*\)[[:space:]]*\$|\1$sfx|")
	payload "$f" | sed -e "s|/usr/local/sbin/mixnode|$cmd|g" \
	    -e "s|/etc/mixmail/mixnode.conf|$(node_conf "$n")|g" \
	    -e "s|mix@node\.example|$addr|g" \
	    -e "s|local_parts = mix\$|local_parts = ${addr%@*}|" \
	    -e "s|node\.example|${addr#*@}|g" \
	    -e "s|^\( *\)user = mixnode\$|\1user = $TESTUSER|" \
	    -e "s|^\( *\)group = mixnode\$|\1group = $TESTUSER|" \
	    "${rename[@]}"
}

mkdir -p "$X/spool" "$X/log" "$X/bin" "$X/sink" "$X/maildir" "$X/ov/etc" "$X/ov/etc.work" ||
	hard "mkdir $X"
chown "$XUID:$XUID" "$X/spool" "$X/log" && chmod 0750 "$X/spool" "$X/log" || hard "chown"
chown "$TESTUSER" "$X/sink" "$X/maildir" && chmod 0755 "$X/sink" "$X/maildir" "$X/bin" ||
	hard "chown $X/sink $X/maildir"
cat >"$X/bin/sink.sh" <<EOF
#!/bin/sh
# the sink: every mail Exim routes anywhere but a node or dest.test
# (bounces included)
f=\$(mktemp "$X/sink/msg.XXXXXXXX") || exit 75
cat >"\$f" || exit 75
printf '%s %s %s\n' "\${f##*/}" "\$SENDER" "\$RECIPIENT" >>"$X/sink/index"
EOF
chmod 0755 "$X/bin/sink.sh"
# The mixnet nodes' hook: mixnode with the recipe's arguments, its output
# kept for the privacy checks (Exim keeps only a failure's output). Never
# a status Exim would bounce for a fault of the test's own.
for n in $NODES; do
	cat >"$X/bin/hook-$n" <<EOF
#!/bin/sh
# hook-$n ARGS...: $T/bin/mixnode ARGS..., output appended to $T/$n/hook.err
( : >>"$T/$n/hook.err" ) 2>/dev/null || exit 75
[ -x "$T/bin/mixnode" ] || exit 75
# what reached the hook of the sanitizer settings (checked under ASan)
printf '%s\n' "\${ASAN_OPTIONS:-}" >"$T/$n/asan.seen" 2>/dev/null
exec "$T/bin/mixnode" "\$@" >>"$T/$n/hook.err" 2>&1
EOF
	chmod 0755 "$X/bin/hook-$n"
done

# The transports' environment (test scaffolding): the staged helpers, and
# the sanitizer settings of this shell (Exim clears the environment:
# keep_environment is empty). A ;-separated list: ASAN_OPTIONS holds colons.
XENV="<; MIXNODE_LIBEXECDIR=$T/bin"
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] || continue
	case ${!v} in *'$'*|*'\'*|*';'*) hard "$v holds \$, \\ or ; (Exim's expansion or list)";; esac
	XENV="$XENV; $v=${!v}"
done
if payload "$H/exim/transport" | grep -q '^[[:space:]]*environment[[:space:]]*='; then
	not_ok "mta-hooks/exim/transport sets environment itself; the test's own setting (the staged helpers, the sanitizer options) would make a second one"
fi
DOMAINS="$DOMAIN"
for n in $NODES; do DOMAINS="$DOMAINS : mix-$n.test"; done

{
	cat <<EOF
# private Exim of tests/e2e-exim.sh
exim_path = $EXIM
exim_user = Debian-exim
exim_group = Debian-exim
primary_hostname = mta.eximtest.test
qualify_domain = eximtest.test
spool_directory = $X/spool
log_file_path = $X/log/%slog
local_interfaces = 127.0.0.1
daemon_smtp_ports = $PORT
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts =
never_users = root
smtp_accept_queue_per_connection = 0
acl_smtp_rcpt = acl_check_rcpt
# --- mta-hooks/exim/main (its node domain: every node's)
EOF
	payload "$H/exim/main" | sed "s|node\.example|$DOMAINS|g"
	cat <<EOF
begin acl
acl_check_rcpt:
  deny    domains = +relay_to_domains
          !verify = recipient
  accept  domains = +relay_to_domains
  accept  hosts = 127.0.0.1
  deny    message = relay not permitted
begin routers
# --- mta-hooks/exim/router, for n1
EOF
	recipe "$H/exim/router" n1 "$T/bin/mixnode"
	for n in $NODES; do
		echo "# --- mta-hooks/exim/router, for $n"
		recipe "$H/exim/router" "$n" "$X/bin/hook-$n" "_$n"
	done
	cat <<EOF
dest:
  driver = accept
  domains = dest.test
  transport = dest_maildir
sink:
  driver = accept
  transport = sink_pipe
begin transports
# --- mta-hooks/exim/transport, for n1
EOF
	recipe "$H/exim/transport" n1 "$T/bin/mixnode"
	echo "  # test scaffolding: the staged mixnode finds mixnode-mime here; sanitizers"
	echo "  environment = $XENV"
	for n in $NODES; do
		echo "# --- mta-hooks/exim/transport, for $n"
		recipe "$H/exim/transport" "$n" "$X/bin/hook-$n" "_$n"
		echo "  environment = $XENV"
	done
	cat <<EOF
dest_maildir:
  driver = appendfile
  directory = $X/maildir
  maildir_format
  create_directory
  user = $TESTUSER
  group = $TESTUSER
  mode = 0644
  return_path_add
  envelope_to_add
sink_pipe:
  driver = pipe
  command = $X/bin/sink.sh
  user = $TESTUSER
  group = $TESTUSER
  message_prefix =
  message_suffix =
begin retry
*  *  F,1h,10s
EOF
} >"$XCONF" || hard "cannot write $XCONF"
chmod 0644 "$XCONF"
grep -Eq "^  command = $T/bin/mixnode -c $CONF receive( |\$)" "$XCONF" &&
	ok "the transport's command, with the placeholders replaced" ||
	not_ok "the transport's command is not as expected: $(grep -m 1 '^  command' "$XCONF")"
for n in $NODES; do
	grep -Eq "^  command = $X/bin/hook-$n -c $(node_conf "$n") receive( |\$)" "$XCONF" &&
		grep -q "^mixnode_pipe_$n:\$" "$XCONF" && grep -q "^  transport = mixnode_pipe_$n\$" "$XCONF" ||
		not_ok "the recipe's instance for $n is not as expected"
done

# The start script, run by unshare in a new mount namespace (again after
# a stop: the upper layers keep what the first start wrote)
cat >"$X/ns-start" <<EOF
#!/bin/sh
set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir=$X/ov/etc,workdir=$X/ov/etc.work /etc
grep -q '^Debian-exim:' /etc/passwd ||
	echo "Debian-exim:x:$XUID:$XUID:exim (test):/nonexistent:/usr/sbin/nologin" >>/etc/passwd
grep -q '^Debian-exim:' /etc/group || echo "Debian-exim:x:$XUID:" >>/etc/group
mkdir -p /etc/exim4
echo "$XCONF" >/etc/exim4/trusted_configs
chmod 0644 /etc/exim4/trusted_configs
EOF
# Each library directory of the unpacked tree (the libraries Exim lacks
# here) over the system's directory of the same name
n=0
for d in $(find "$XD/root" -type f -name 'lib*.so*' | sed 's|/[^/]*$||' | sort -u); do
	sys=${d#"$XD/root"}
	[ -d "$sys" ] || continue
	n=$((n + 1))
	mkdir -p "$X/ov/lib$n" "$X/ov/lib$n.work" && cp -a "$d"/lib*.so* "$X/ov/lib$n/" ||
		hard "cannot stage the libraries of $d"
	echo "mount -t overlay overlay -o lowerdir=$sys,upperdir=$X/ov/lib$n,workdir=$X/ov/lib$n.work $sys" \
	    >>"$X/ns-start"
done
echo "exec $EXIM -C $XCONF -bd -q10s -oX $PORT -oP $X/exim.pid" >>"$X/ns-start"
chmod 0755 "$X/ns-start"

# exim_start: the daemon in a new namespace; XPID, XNS; 2 if the
# namespace or its overlays cannot be made, 1 on any other failure
exim_start() {
	local i
	rm -f "$X/exim.pid"
	if ! unshare --mount --propagation private "$X/ns-start" >"$X/start.out" 2>&1; then
		sed 's/^/  | /' "$X/start.out"
		grep -q -i -e 'overlay' -e 'mount' -e 'unshare' -e 'permission' "$X/start.out" && return 2
		return 1
	fi
	for i in $(seq 1 50); do
		[ -s "$X/exim.pid" ] && break
		sleep 0.1
	done
	XPID=$(cat "$X/exim.pid" 2>/dev/null)
	[ -n "$XPID" ] && XNS=$(readlink "/proc/$XPID/ns/mnt") ||
		{ echo "  | Exim wrote no pid file"; cat "$X/log/paniclog" 2>/dev/null; return 1; }
	mta_wait_port 127.0.0.1 "$PORT" 20 ||
		{ echo "  | no SMTP banner"; cat "$X/log/paniclog" 2>/dev/null; return 1; }
}

exim_start
case $? in
0) ;;
2) skip "this machine allows no private mount namespace with overlays (as above)" ;;
*) not_ok "Exim did not start"; finish ;;
esac
[ "$XNS" != "$(readlink /proc/self/ns/mnt)" ] && ok "Exim runs in a mount namespace of its own" ||
	not_ok "Exim shares this mount namespace"
ok "private Exim $(cut -d' ' -f2 "$XD/ready") on 127.0.0.1:$PORT"
grep -q Debian-exim /etc/passwd && not_ok "Debian-exim leaked into the real /etc/passwd" ||
	ok "the real /etc is untouched"
exim_cmd -bV >"$X/bV.out" 2>&1 && ok "exim -bV accepts the configuration" ||
	{ not_ok "exim -bV"; sed 's/^/  | /' "$X/bV.out"; }

# --- helpers ---------------------------------------------------------------------
wait_until() {
	local max=$1 i
	shift
	for i in $(seq 1 $((max * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
log_count() { grep -E -c -- "$1" "$XLOG" 2>/dev/null || true; }
log_more() { [ "$(log_count "$1")" -gt "$2" ]; }
pool_is() { [ "$(pool_count n1)" -eq "$1" ]; }
queue_count() { exim_cmd -bpc 2>/dev/null || echo error; }
queue_empty() { [ "$(queue_count)" = 0 ]; }
sink_count() { find "$X/sink" -name 'msg.*' -type f | wc -l; }
smtp_send() {
	echo "$2 $3" | as_user "$T/bin/relay-send" -r "smtp://127.0.0.1:$PORT" -s "$1" \
	    -H client.eximtest.test -T 30 2>"$T/send.err"
}
delivered() {
	wait_until 30 queue_empty || not_ok "$1: the queue did not empty ($(queue_count))"
	expect_eq "$1: nothing reached the sink (no bounce)" "$(sink_count)" 0
}
packet() {
	local f=$1
	shift
	mkpacket "$@" "$D1" "$D2" >"$M/$f" 2>"$M/$f.err" && [ -s "$M/$f" ] ||
		{ not_ok "mkpacket $f"; return 1; }
	chmod 0644 "$M/$f"
}
done_exim() {
	if { [ "$FAILS" -ne 0 ] || [ -n "${EXIM_TEST_VERBOSE:-}" ]; } && [ -s "$XLOG" ]; then
		echo "--- the last lines of Exim's log"
		tail -n 30 "$XLOG" | sed 's/^/  | /'
		[ -s "$X/log/paniclog" ] && sed 's/^/  | panic: /' "$X/log/paniclog"
	fi
	if [ -n "${E2E_KEEP:-}" ] && mkdir -p "$E2E_KEEP"; then
		cp -r "$X/maildir" "$X/log" "$XCONF" "$E2E_KEEP/" 2>/dev/null
		for n in $NODES; do
			mkdir -p "$E2E_KEEP/$n" && cp "$T/$n"/*.err "$T/$n"/*.log "$E2E_KEEP/$n/" 2>/dev/null
		done
		cp "$T/mm.all" "$E2E_KEEP/" 2>/dev/null
		echo "  (kept in $E2E_KEEP)"
	fi
	finish
}
# Exim's log lines for the node's transport: delivered, deferred
DONE="=> $LOCAL <$ADDR> R=mixnode T=mixnode_pipe"
DEFER="== $ADDR R=mixnode T=mixnode_pipe"

echo "--- 1. a packet is committed exactly once"
packet p1 || done_exim
snap n1
r=$(smtp_send "$SINK_SENDER" "$M/p1" "$ADDR")
[ "$r" = "1 SENT 250" ] || { not_ok "packet: SMTP: got '$r'"; done_exim; }
ok "packet: SMTP"
wait_until 30 pool_is 1 || not_ok "packet: the pool did not gain the entry"
delivered "packet"
delta n1 "in_forward=1" "packet"
expect_eq "packet: Exim logged the delivery by the node's transport" "$(log_count "$DONE")" 1
snap n1
expect_eq "same packet again: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p1" "$ADDR")" "1 SENT 250"
wait_until 30 log_more "$DONE" 1 || not_ok "same packet again: not delivered"
delivered "same packet again"
delta n1 "drop_replay=1" "same packet again"
expect_eq "same packet again: still one pool entry" "$(pool_count n1)" 1

echo "--- 2. mail without a usable packet is dropped, never bounced"
cp "$S/tests/mail/none.eml" "$S/tests/mail/bad-armor.eml" "$M/" && chmod 0644 "$M"/*.eml
packet big || done_exim
head -c 150000 /dev/zero | tr '\0' 'x' | fold -w 70 >>"$M/big"
for c in "none.eml drop_nopacket" "bad-armor.eml drop_armor" "big drop_oversize"; do
	set -- $c
	n=$(log_count "$DONE")
	snap n1
	expect_eq "$1: SMTP" "$(smtp_send "$SINK_SENDER" "$M/$1" "$ADDR")" "1 SENT 250"
	wait_until 30 log_more "$DONE" "$n" || not_ok "$1: Exim did not deliver it to the hook"
	delivered "$1"
	delta n1 "$2=1" "$1"
done
expect_eq "another address of the node's domain: refused during SMTP" \
    "$(smtp_send "$SINK_SENDER" "$M/none.eml" "other@$DOMAIN" | cut -c1-8)" "1 PERM 5"
exec 3<>"/dev/tcp/127.0.0.1/$PORT" && read -r -t 10 l <&3 && printf 'EHLO client.eximtest.test\r\n' >&3
ehlo=
while read -r -t 10 l <&3; do ehlo="$ehlo ${l:4}"; [ "${l:3:1}" = - ] || break; done
printf 'QUIT\r\n' >&3
exec 3>&-
case $ehlo in *DSN*) not_ok "EHLO offers DSN" ;; *) ok "EHLO offers no DSN" ;; esac

echo "--- 3. an unusable spool: the hook exits 75, Exim defers"
packet p3 || done_exim
n=$(log_count "$DEFER")
chmod 000 "$SPOOL/pool"
expect_eq "unusable spool: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p3" "$ADDR")" "1 SENT 250"
wait_until 30 log_more "$DEFER" "$n" || not_ok "unusable spool: Exim did not defer"
expect_eq "unusable spool: the mail stays in the queue" "$(queue_count)" 1
grep "$DEFER" "$XLOG" | grep -q "returned 75" &&
	ok "unusable spool: Exim saw exit 75" || not_ok "unusable spool: no 'returned 75' in Exim's log"
expect_eq "unusable spool: nothing reached the sink" "$(sink_count)" 0
chmod 0700 "$SPOOL/pool"
exim_cmd -qff >/dev/null 2>&1
wait_until 30 pool_is 2 || not_ok "repaired: the pool did not gain the entry"
delivered "repaired"

echo "--- 4. the hook cannot be executed: frozen, not bounced"
packet p4 || done_exim
mv "$T/bin/mixnode" "$T/bin/mixnode.x" || hard "mv mixnode"
n=$(log_count "Frozen")
expect_eq "no hook: SMTP" "$(smtp_send "$SINK_SENDER" "$M/p4" "$ADDR")" "1 SENT 250"
wait_until 30 log_more "Frozen" "$n" || not_ok "no hook: the mail was not frozen"
expect_eq "no hook: the mail stays in the queue" "$(queue_count)" 1
expect_eq "no hook: nothing reached the sink" "$(sink_count)" 0
mv "$T/bin/mixnode.x" "$T/bin/mixnode" || hard "mv mixnode back"
id=$(exim_cmd -bp 2>/dev/null | awk 'NF >= 3 && $3 ~ /^[0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+$/ { print $3; exit }')
[ -n "$id" ] && exim_cmd -Mt "$id" >/dev/null 2>&1 && exim_cmd -qff >/dev/null 2>&1
wait_until 30 pool_is 3 || not_ok "thawed: the pool did not gain the entry"
delivered "thawed"
pool_check n1 "n1's pool"

# ================================================================================
# The mixnet: x1, x2, x3 behind the same Exim
# ================================================================================
NETSTART=$(date +%s)
# What must never appear in a log (any node output, stats, mixmail's
# stderr): the destinations, subjects, bodies and the sender's header
# values. CONTENT and DROPPED also must not be in Exim's log.
ADDRS=()
CONTENT=()
# Header values of the sender's mail that must never travel
DROPPED=()
# WANT: destination -> how many mails the Maildir must hold for it
declare -A WANT=()
for n in $NODES; do ADDRS+=("$(node_addr "$n")"); done

# The sender
MM=$T/mm
as_user mkdir -m 0700 "$MM" || hard "mkdir $MM"
printf 'relay = smtp://127.0.0.1:%s\nrelay_timeout = 30s\nhops = 3\n' "$PORT" |
    as_user sh -c "cat > '$MM/mixmail.conf'" || hard "mixmail.conf"
ADDRS+=(nobody@localhost.invalid)
: >"$T/mm.all"

# The network's shared helpers (tests/net-lib.sh)
NET_START=$NETSTART
NET_LIMIT=300
NET_MTA=Exim
NET_HOST=mta.eximtest.test
NET_ADDED='Return-Path|Envelope-to'
net_queue_count() { queue_count; }
net_queue_wait() { wait_until "$1" queue_empty; }
net_log_tail() { tail -n 5 "$XLOG"; }
net_give_up() { done_exim; }
. "$S/tests/net-lib.sh"

mm import "$(node_desc x1)" "$(node_desc x2)" "$(node_desc x3)"
expect_eq "mixmail imports the three descriptors" "$RC" 0

# --- the Maildir ------------------------------------------------------------------
md_all() { find "$X/maildir/new" "$X/maildir/cur" -type f 2>/dev/null; }
md_count() { md_all | wc -l; }
# md_files RCPT: the Maildir's files for RCPT (Envelope-to)
md_files() {
	local f
	for f in $(md_all); do
		[ "$(hdr "$f" Envelope-to)" = "$1" ] && echo "$f"
	done
	return 0
}
md_n() { md_files "$1" | grep -c .; }

# arrived DESC RCPT TO SUBJECT BODYFILE NAMES: the one mail RCPT got is
# the exit's mail of that message, exactly (exit_mail); its file in $DF
arrived() {
	local desc=$1 rcpt=$2
	DF=
	expect_eq "$desc: delivered exactly once" "$(md_n "$rcpt")" 1
	DF=$(md_files "$rcpt" | head -n 1)
	[ -n "$DF" ] || return 1
	expect_eq "$desc: envelope sender is the exit" "$(hdr "$DF" Return-path)" "<$(node_addr x3)>"
	exit_mail "$desc" "$DF" "$3" "$4" "$5" "$6"
}

# hookdone: Exim's log lines of deliveries to the mixnet nodes' hooks
HOOKDONE='=> x[123] <x[123]@mix-x[123]\.test> R=mixnode_x[123] T=mixnode_pipe_x[123]( |$)'

echo "--- 5. a whole mail with an attachment through the chain x1,x2,x3"
R5=dest-one-exim@dest.test
S5="Exim explicit chain 5b1e"
REPLY5=reply-exim-93a@example.org
head -c 3000 /dev/urandom >"$M/a.bin"
chmod 0644 "$M/a.bin"
BOUND="exim-boundary-$RANDOM$RANDOM"
{
	echo "This is a multi-part message in MIME format."
	echo
	echo "--$BOUND"
	echo "Content-Type: text/plain; charset=us-ascii"
	echo "Content-Transfer-Encoding: 7bit"
	echo
	echo "body-mark-chain-exim-6d2"
	echo "The file is attached."
	echo ".a line with a leading dot"
	echo "--$BOUND"
	echo "Content-Type: application/octet-stream; name=\"a.bin\""
	echo "Content-Transfer-Encoding: base64"
	echo "Content-Disposition: attachment; filename=\"a.bin\""
	echo
	base64 "$M/a.bin"
	echo "--$BOUND--"
} >"$M/b5"
{
	sender_fields exim-c5 43
	cat <<EOF
To: Dest One <$R5>
Subject: $S5
Reply-To: $REPLY5
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="$BOUND"

EOF
	cat "$M/b5"
} >"$M/m5"
chmod 0644 "$M/b5" "$M/m5"
ADDRS+=("$R5" "$REPLY5")
CONTENT+=("$S5" body-mark-chain-exim-6d2)
WANT[$R5]=1
snap_all
mm -v -l x1,x2,x3 -m "$M/m5"
expect_eq "5. mixmail -m -l x1,x2,x3: exit status" "$RC" 0
grep -q '^mixmail: 13 header fields of the mail removed' "$T/mm.err" &&
	ok "5. mixmail says it removed the 13 fields that do not travel" || not_ok "5. mixmail's count of removed fields"
expect_eq "5. one packet, chain x1,x2,x3" "$(sed -n 's/^mixmail: packet [0-9]*: chain \([^ ]*\).*/\1/p' "$T/mm.err")" x1,x2,x3
wait_until 60 queue_empty || not_ok "5. the first-hop mail stayed in Exim's queue"
expect_eq "5. x1's hook committed it" "$(pool_count x1)" 1
run_net "5. explicit chain" 3
arrived "5. explicit chain" "$R5" "Dest One <$R5>" "$S5" "$M/b5" \
    "From To Subject Reply-To Date Message-ID Comments MIME-Version Content-Type"
if [ -n "$DF" ]; then
	expect_eq "5. Reply-To travels" "$(hdr "$DF" Reply-To)" "$REPLY5"
	expect_eq "5. Content-Type" "$(hdr "$DF" Content-Type)" "multipart/mixed; boundary=\"$BOUND\""
	if awk -v b="--$BOUND" -v n='filename="a.bin"' '
	    $0 == b || $0 == b "--" { inp = 0; hdr = 1; mine = 0; next }
	    hdr && index($0, n) { mine = 1 }
	    hdr && $0 == "" { hdr = 0; inp = mine; next }
	    inp { print }' "$DF" | base64 -d 2>/dev/null | cmp -s - "$M/a.bin"; then
		ok "5. the attachment decodes to the file sent"
	else
		not_ok "5. the attachment differs"
	fi
fi
changes x1 "in_forward=1 out_forward=1" "5. x1"
changes x2 "in_forward=1 out_forward=1" "5. x2"
changes x3 "in_deliver=1 out_deliver=1" "5. x3"
expect_eq "5. Exim delivered to each hook once" "$(log_count "$HOOKDONE")" 3
if [ -n "${ASAN_OPTIONS:-}" ]; then
	expect_eq "the four transports pass ASAN_OPTIONS" "$(grep -cF -- "; ASAN_OPTIONS=$ASAN_OPTIONS" "$XCONF")" 4
	expect_eq "5. each hook got ASAN_OPTIONS from Exim" \
	    "$(cat "$T"/x1/asan.seen "$T"/x2/asan.seen "$T"/x3/asan.seen 2>/dev/null | sort -u)" "$ASAN_OPTIONS"
fi

echo "--- 6. a long message: several erasure-coded packets"
R6=long-exim@dest.test
S6="Long message exim-2f7"
text "$M/b6" 36000 "body-mark-long-exim-c38"
ADDRS+=("$R6")
CONTENT+=("$S6" body-mark-long-exim-c38)
WANT[$R6]=1
snap_all
IN=$M/b6 mm -v -s "$S6" "$R6"
expect_eq "6. mixmail" "$RC" 0
NP=$(sed -n 's/^mixmail: a message of [0-9]* bytes as \([0-9]*\) packets (any \([0-9]*\) rebuild it).*/\1 \2/p' "$T/mm.err")
set -- $NP
if [ $# -eq 2 ] && [ "$1" -gt 1 ] && [ "$2" -gt 1 ]; then
	ok "6. $1 packets, any $2 rebuild it"
else
	not_ok "6. not several erasure-coded packets: '$NP'"
	set -- 0 0
fi
NP=$1
run_net "6. long"
arrived "6. long" "$R6" "$R6" "$S6" "$M/b6" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
expect_eq "6. all $NP packets reached the exit" "$(chg x3 in_deliver)" "$NP"
changes x3 "in_deliver=$NP out_deliver=1" "6. x3" frag_stored

echo "--- 7. copies: -c 2, one mail"
R7=copies-exim@dest.test
S7="Copies exim-a40"
text "$M/b7" 700 "body-mark-copies-exim-1e5"
ADDRS+=("$R7")
CONTENT+=("$S7" body-mark-copies-exim-1e5)
WANT[$R7]=1
snap_all
IN=$M/b7 mm -v -c 2 -s "$S7" "$R7"
expect_eq "7. -c 2: mixmail" "$RC" 0
grep -q "as 2 packets (any 1 rebuild it)" "$T/mm.err" && ok "7. -c 2: 2 packets" ||
	not_ok "7. -c 2: not 2 packets"
run_net "7. copies"
arrived "7. copies" "$R7" "$R7" "$S7" "$M/b7" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
changes x3 "in_deliver=2 out_deliver=1" "7. x3" frag_stored

echo "--- 8. dummies: Exim carries them, their last hop drops them"
C1=$(node_conf x1)
as_user sed -i 's/^dummy_per_round = 0$/dummy_per_round = 4/' "$C1"
grep -qx 'dummy_per_round = 4' "$C1" || hard "cannot switch x1's dummies on"
md_before=$(md_count)
hookdone=$(log_count "$HOOKDONE")
snap_all
for i in 1 2 3 4 5 6; do
	flush x1
	wait_until 60 queue_empty || not_ok "8. x1's dummies stayed queued"
	[ "$(chg x1 out_dummy)" -ge 4 ] && break
done
as_user sed -i 's/^dummy_per_round = 4$/dummy_per_round = 0/' "$C1"
grep -qx 'dummy_per_round = 0' "$C1" || hard "cannot switch x1's dummies off"
run_net "8. dummies"
D=$(chg x1 out_dummy)
[ "$D" -gt 0 ] && ok "8. x1 sent $D dummies" || not_ok "8. x1 sent no dummy in 6 rounds"
expect_eq "8. every dummy ended at its last hop (in_dummy)" \
    $(( $(chg x1 in_dummy) + $(chg x2 in_dummy) + $(chg x3 in_dummy) )) "$D"
expect_eq "8. the first hops forwarded them" $(( $(chg x2 in_forward) + $(chg x3 in_forward) )) "$D"
expect_eq "8. Exim delivered each to two hooks (dummy_hops 2)" "$(log_count "$HOOKDONE")" $((hookdone + 2 * D))
expect_eq "8. nothing reached the Maildir" "$(md_count)" "$md_before"
changes x1 "out_dummy=$D" "8. x1"
changes x2 "" "8. x2" in_forward out_forward in_dummy
changes x3 "" "8. x3" in_forward out_forward in_dummy

echo "--- 9. Exim stopped while a node flushes"
R9=down-exim@dest.test
S9="Exim down exim-7c0"
text "$M/b9" 900 "body-mark-down-exim-4b8"
ADDRS+=("$R9")
CONTENT+=("$S9" body-mark-down-exim-4b8)
WANT[$R9]=1
snap_all
IN=$M/b9 mm -l x1,x2,x3 -s "$S9" "$R9"
expect_eq "9. mixmail" "$RC" 0
wait_until 60 queue_empty || not_ok "9. the first-hop mail stayed queued"
flush x1
wait_until 60 queue_empty || not_ok "9. x1's mail stayed queued"
expect_eq "9. the packet is in x2's pool" "$(pool_count x2)" 1
exim_stop
[ -z "$(exim_procs)" ] && ! mta_port_busy "$PORT" && ok "9. Exim is stopped" || not_ok "9. Exim did not stop"
NOW=$(date +%s)
flush x2 MIXNODE_TEST_NOW=$NOW
expect_rc "9. flush with Exim down" 0
expect_eq "9. the mail waits in defer/" "$(spool_count x2 defer)$(pool_count x2)$(spool_count x2 out)" 100
expect_eq "9. out_temp counted" "$(chg x2 out_temp)" 1
exim_start || { not_ok "9. Exim did not start again"; done_exim; }
ok "9. Exim started again"
flush x2 MIXNODE_TEST_NOW=$((NOW + 60))
expect_eq "9. not sent before its retry time" "$(spool_count x2 defer)" 1
flush x2 MIXNODE_TEST_NOW=$((NOW + 1000))
expect_rc "9. the due flush" 0
expect_eq "9. defer/ empty after the due flush" "$(spool_count x2 defer)" 0
wait_until 60 queue_empty || not_ok "9. x2's mail stayed queued"
run_net "9. Exim down"
arrived "9. Exim down" "$R9" "$R9" "$S9" "$M/b9" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"
changes x2 "in_forward=1 out_forward=1 out_temp=1" "9. x2"

echo "--- 10. garbage and replays to x1: dropped, never bounced"
GS=garbage-exim@dest.test
R10=replay-exim@dest.test
S10="Replayed exim-d91"
ADDRS+=("$GS" "$R10")
CONTENT+=("$S10" body-mark-replay-exim-0a6)
WANT[$R10]=1
text "$M/b10" 500 "body-mark-replay-exim-0a6"
G=$T/garbage
as_user mkdir -m 0755 "$G" || hard "mkdir $G"
IN=$M/b10 mm -l x1,x2,x3 -s "$S10" --dump "$G" "$R10"
expect_eq "10. the first-hop mail (--dump)" "$RC $(ls "$G" | grep -c '\.eml$')" "0 1"
P=$(ls "$G"/*.eml | head -n 1)
hdr10() { printf 'From: %s\nTo: %s\nSubject: test %s\nMessage-ID: <%s.%s@dest.test>\n' "$GS" "$(node_addr x1)" "$1" "$1" "$RANDOM$RANDOM"; }
cp "$P" "$G/r0"
cp "$P" "$G/r1"
{ hdr10 nopacket; printf '\nNothing to see here: no packet at all.\n'; } >"$G/g1"
{
	hdr10 qp
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n'
	# every = as =3D, and each armor line broken in two by a soft line break
	armor_of "$P" | sed 's/=/=3D/g; s/^\([A-Za-z0-9+\/]\{20\}\)\(.\)/\1=\n\2/'
} >"$G/r2"
chmod 0644 "$G"/*
cmp -s "$G/r2" "$P" && hard "the quoted-printable mail is no different"
snap_all
md_before=$(md_count)
# send10 FILE...: each to x1 from $GS, in one SMTP session
send10() {
	local f
	for f in "$@"; do echo "$G/$f $(node_addr x1)"; done >"$G/list"
	as_user "$T/bin/relay-send" -r "smtp://127.0.0.1:$PORT" -s "$GS" -T 30 <"$G/list" >"$G/rs.out" 2>"$G/rs.err"
	RC=$?
	cat "$G/rs.err" >>"$T/mm.all"
	expect_eq "10. relay-send $*" "$RC $(grep -c ' SENT 250$' "$G/rs.out")" "0 $#"
}
send10 r0
wait_until 60 queue_empty || not_ok "10. the first mail stayed queued"
expect_eq "10. the first mail is committed" "$(pool_count x1)" 1
send10 g1 r1 r2
wait_until 60 queue_empty || not_ok "10. garbage and replays stayed queued"
expect_eq "10. nothing more in x1's pool" "$(pool_count x1)" 1
changes x1 "in_forward=1 drop_nopacket=1 drop_replay=2" "10. x1"
expect_eq "10. nothing bounced (log, Maildir, sink)" "$(log_count ' <= <> ') $(md_count) $(sink_count)" "0 $md_before 0"
run_net "10. replays"
arrived "10. the replayed message" "$R10" "$R10" "$S10" "$M/b10" \
    "From To Subject Date Message-ID Comments MIME-Version Content-Type Content-Transfer-Encoding"

echo "--- 11. at the end: exactly the mails sent, nothing of the nodes' went back"
run_net "the end" 2
bad=0
for r in "${!WANT[@]}"; do
	[ "$(md_n "$r")" -eq "${WANT[$r]}" ] || { not_ok "Maildir: $(md_n "$r") mails for $r, not ${WANT[$r]}"; bad=1; }
done
want_total=0
for r in "${!WANT[@]}"; do want_total=$((want_total + WANT[$r])); done
from_exit=0
for f in $(md_all); do
	[ "$(hdr "$f" Return-path)" = "<$(node_addr x3)>" ] && from_exit=$((from_exit + 1))
done
expect_eq "Maildir: as many mails as messages, each from the exit" "$(md_count) $from_exit" \
    "$want_total $want_total"
[ "$bad" -eq 0 ] && ok "Maildir: each destination got exactly its mails"
expect_eq "no bounce or warning generated by Exim" "$(log_count " <= <> ")" 0
expect_eq "no delivery failed (**) or was frozen since case 4" \
    "$(log_count ' \*\* ') $(log_count 'Frozen')" "0 1"
expect_eq "no mail of any kind reached the sink" "$(sink_count)" 0
for n in $NODES; do
	expect_eq "$n: failed/ and corrupt/ empty" "$(spool_count "$n" failed)$(spool_count "$n" corrupt)" 00
done
if grep -rlE "mixnode|temporary failure|dropped mail" "$X/sink" "$X/maildir" >/dev/null 2>&1; then
	not_ok "the hook's text reached a mail"
else
	ok "the hook's text is in no mail"
fi
bad=0
for w in "${DROPPED[@]}"; do
	if grep -rqF -- "$w" "$X/maildir"; then not_ok "the sender's field value $w reached the Maildir"; bad=1; fi
done
[ "$bad" -eq 0 ] && ok "none of the sender's ${#DROPPED[@]} dropped header values reached the Maildir"

# Privacy: nothing of a message or an address in any log
for n in $NODES; do
	stats_dump "$n" >"$T/$n/stats.final"
	cat "$T/$n/stats.err" >>"$T/$n/stats.final" 2>/dev/null
done
LOGS=("$T/mm.all")
for n in $NODES; do
	touch "$T/$n/hook.err"
	LOGS+=("$T/$n/hook.err" "$T/$n/flush.log" "$T/$n/stats.final" "$T/$n/import.out")
done
bad=0
for w in "${ADDRS[@]}" "${CONTENT[@]}" "${DROPPED[@]}"; do
	if grep -qF -- "$w" "${LOGS[@]}" 2>/dev/null; then
		not_ok "a log names '$w': $(grep -lF -- "$w" "${LOGS[@]}" | tr '\n' ' ')"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && ok "no address, subject, body or header marker in any node's output, the stats or mixmail's stderr"
bad=0
for w in "${CONTENT[@]}" "${DROPPED[@]}"; do
	grep -qF -- "$w" "$X/log"/* && { not_ok "Exim's log shows '$w'"; bad=1; }
done
[ "$bad" -eq 0 ] && ok "no subject, body or sender field in Exim's log"
exim_stop
[ -z "$(exim_procs)" ] && ok "Exim and its namespace are gone" || not_ok "Exim processes left"
echo "  (hook output lines: $(cat "$T"/x?/hook.err | wc -l); runtime $(( $(date +%s) - START )) s, the mixnet $(( $(date +%s) - NETSTART )) s)"
done_exim
