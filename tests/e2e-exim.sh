#!/bin/bash
# e2e-exim.sh - the Exim recipe of mta-hooks/exim, through a real Exim.
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
# with only the placeholders replaced. Cases, mail sent by SMTP:
#   1. a packet mail is committed to the pool exactly once (a second copy
#      is dropped as a replay);
#   2. mail without a usable packet, and a mail larger than
#      max_message_size, is dropped and counted, and nothing is bounced
#      (the envelope sender is an address of the sink); another address
#      of the node's domain is refused during the SMTP session; EHLO
#      offers no DSN;
#   3. the spool made unusable: the hook exits 75, Exim defers (the mail
#      stays queued, nothing bounced); repaired, a queue run delivers it;
#   4. the hook cannot be executed: the mail is frozen, not bounced;
#      repaired and thawed, it is delivered;
#   5. no mail of any kind reached the sink, and the hook's text is in
#      none.
# Skipped (77, with the reason) when not root, when the unpacked Exim is
# not there, or when this machine does not allow a private mount
# namespace with overlays.

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

. "${top_srcdir:-.}/tests/lib.sh"
MTA_PIPE_USER=$TESTUSER
. "$S/tests/mta-lib.sh"

H=$S/mta-hooks
[ -d "$H/exim" ] || hard "no $H/exim"
[ -x "$B/tests/relay-send" ] || hard "$B/tests/relay-send is not built (make check builds it)"
cp "$B/tests/relay-send" "$T/bin/" && chmod 0755 "$T/bin/relay-send" ||
	hard "cannot stage relay-send"
asan_libesmtp	# libESMTP's false positive under ASan (lib.sh)

mta_tmpdir || hard "cannot make the Exim directory"
X=$MTA_DIR
PORT=$(mta_free_port) || hard "no free port"
XCONF=$X/exim.conf
XLOG=$X/log/mainlog
XPID=
XNS=

# --- the private Exim ---------------------------------------------------------
# exim_stop: end the daemon and every process of its namespace (by pid)
exim_stop() {
	local p i
	[ -n "$XNS" ] || return 0
	[ -n "$XPID" ] && kill -TERM "$XPID" 2>/dev/null
	for i in $(seq 1 50); do
		p=$(exim_procs)
		[ -n "$p" ] || break
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
as_user mkdir "$M" || hard "mkdir $M"
SINK_SENDER=exim-sender-3b9@sink.test

subst() {
	sed -e "s|/usr/local/sbin/mixnode|$T/bin/mixnode|g" \
	    -e "s|/etc/mixmail/mixnode.conf|$CONF|g" \
	    -e "s|mix@node\.example|$ADDR|g" \
	    -e "s|local_parts = mix\$|local_parts = $LOCAL|" \
	    -e "s|node\.example|$DOMAIN|g" \
	    -e "s|^\( *\)user = mixnode\$|\1user = $TESTUSER|" \
	    -e "s|^\( *\)group = mixnode\$|\1group = $TESTUSER|"
}
payload() {
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1"
}

mkdir -p "$X/spool" "$X/log" "$X/bin" "$X/sink" "$X/ov/etc" "$X/ov/etc.work" || hard "mkdir $X"
chown "$XUID:$XUID" "$X/spool" "$X/log" && chmod 0750 "$X/spool" "$X/log" || hard "chown"
chown "$TESTUSER" "$X/sink" && chmod 0755 "$X/sink" "$X/bin" || hard "chown $X/sink"
cat >"$X/bin/sink.sh" <<EOF
#!/bin/sh
# the sink: every mail Exim routes anywhere but the node (bounces included)
f=\$(mktemp "$X/sink/msg.XXXXXXXX") || exit 75
cat >"\$f" || exit 75
printf '%s %s %s\n' "\${f##*/}" "\$SENDER" "\$RECIPIENT" >>"$X/sink/index"
EOF
chmod 0755 "$X/bin/sink.sh"

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
# --- mta-hooks/exim/main
EOF
	payload "$H/exim/main" | subst
	cat <<EOF
begin acl
acl_check_rcpt:
  deny    domains = +relay_to_domains
          !verify = recipient
  accept  domains = +relay_to_domains
  accept  hosts = 127.0.0.1
  deny    message = relay not permitted
begin routers
# --- mta-hooks/exim/router
EOF
	payload "$H/exim/router" | subst
	cat <<EOF
sink:
  driver = accept
  transport = sink_pipe
begin transports
# --- mta-hooks/exim/transport
EOF
	payload "$H/exim/transport" | subst
	cat <<EOF
  # test scaffolding: the staged mixnode finds mixnode-mime here
  environment = MIXNODE_LIBEXECDIR=$T/bin
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
grep -q "^  command = $T/bin/mixnode -c $CONF receive\$" "$XCONF" &&
	ok "the transport's command, with the placeholders replaced" ||
	not_ok "the transport's command is not as expected"

# The start script, run by unshare in a new mount namespace
cat >"$X/ns-start" <<EOF
#!/bin/sh
set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir=$X/ov/etc,workdir=$X/ov/etc.work /etc
echo "Debian-exim:x:$XUID:$XUID:exim (test):/nonexistent:/usr/sbin/nologin" >>/etc/passwd
echo "Debian-exim:x:$XUID:" >>/etc/group
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

if ! unshare --mount --propagation private "$X/ns-start" >"$X/start.out" 2>&1; then
	sed 's/^/  | /' "$X/start.out"
	if grep -q -i -e 'overlay' -e 'mount' -e 'unshare' -e 'permission' "$X/start.out"; then
		skip "this machine allows no private mount namespace with overlays (as above)"
	fi
	not_ok "Exim did not start"
	finish
fi
for i in $(seq 1 50); do
	[ -s "$X/exim.pid" ] && break
	sleep 0.1
done
XPID=$(cat "$X/exim.pid" 2>/dev/null)
[ -n "$XPID" ] && XNS=$(readlink "/proc/$XPID/ns/mnt") ||
	{ not_ok "Exim wrote no pid file"; cat "$X/log/paniclog" 2>/dev/null; finish; }
[ "$XNS" != "$(readlink /proc/self/ns/mnt)" ] && ok "Exim runs in a mount namespace of its own" ||
	not_ok "Exim shares this mount namespace"
mta_wait_port 127.0.0.1 "$PORT" 20 && ok "private Exim $(cut -d' ' -f2 "$XD/ready") on 127.0.0.1:$PORT" ||
	{ not_ok "no SMTP banner from Exim"; cat "$X/log/paniclog" 2>/dev/null; finish; }
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
log_count() { grep -E -c "$1" "$XLOG" 2>/dev/null || true; }
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

echo "--- 5. nothing of the node's went back"
expect_eq "no bounce or warning generated by Exim" "$(log_count " <= <> ")" 0
if grep -rlE "mixnode|temporary failure|dropped mail" "$X/sink" >/dev/null 2>&1; then
	not_ok "the hook's text reached the sink"
else
	ok "the hook's text is in no mail"
fi
pool_check n1 "the pool"
exim_stop
[ -z "$(exim_procs)" ] && ok "Exim and its namespace are gone" || not_ok "Exim processes left"
done_exim
