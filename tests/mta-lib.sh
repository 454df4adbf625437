# mta-lib.sh - a private Postfix on 127.0.0.1 for the shell tests (sourced
# by bash scripts, after tests/lib.sh if that is used too).
#
# Each instance lives in one directory DIR, with its own configuration,
# queue, data and log, and listens on 127.0.0.1:PORT only. No file outside
# DIR is written and the system's Postfix (/etc/postfix, if configured at
# all) is neither read nor touched. Needs root (postfix -c runs only as
# root) and the postfix package; mta_usable says whether both are there.
#
#   DIR/etc/     main.cf, master.cf, transport, access (root's)
#   DIR/queue/   queue_directory (made by postfix start); master.pid in pid/
#   DIR/data/    data_directory (the postfix user's)
#   DIR/log/maillog   the instance's log (postlogd, no syslog)
#   DIR/sink/    what the sink pipe delivered: one file per recipient
#                (msg.XXXXXXXX, LF line ends, Return-Path: first), and
#                "index", one line per file: "FILE SENDER RECIPIENT"
#   DIR/bin/sink.sh   the sink pipe command
#
# DIR and its parents must be searchable by the postfix user and by the
# pipe user: make DIR with mta_tmpdir, or give it mode 0755 under a 0711
# parent (lib.sh's $T is 0700: not usable as a parent as it is).
#
# Routing: every domain goes to the sink pipe, unless a pipe service of
# its own is added with mta_postfix_pipe; nothing is ever sent out by
# SMTP or looked up in DNS. Recipient verdicts (check_recipient_access):
#   defer@sink.test   450 4.2.0   (RCPT refused for now)
#   reject@sink.test  550 5.1.1   (RCPT refused for good)
# Pipe transports deliver one recipient per call (recipient_limit 1); the
# queue is retried every 10 s, backoff 10 s to 60 s.
#
# Functions (all waits are bounded; each returns non-zero on failure and
# says why on stderr):
#   mta_usable                   0 if root and postfix is installed, else
#                                prints why not and returns 1
#   mta_tmpdir                   sets MTA_DIR to a fresh 0755 directory
#                                under /tmp, removed at exit
#   mta_free_port                prints a port on 127.0.0.1 (30000-59999)
#                                that nothing listens on right now
#   mta_postfix_setup DIR PORT [MAIN.CF-LINE...]
#                                writes the configuration (does not start)
#   mta_postfix_pipe DIR NAME DOMAIN ARGV...
#                                a pipe service NAME (user $MTA_PIPE_USER,
#                                flags Rq, one recipient per call) for mail
#                                to DOMAIN; ARGV may use Postfix's
#                                ${sender} ${recipient} ${queue_id}.
#                                Reloads a running instance.
#   mta_postfix_start DIR PORT [MAIN.CF-LINE...]
#                                setup (if DIR has no configuration yet;
#                                otherwise the lines are added with
#                                postconf), start, and wait (at most
#                                $MTA_START_WAIT s) for the 220 banner.
#                                Registers DIR: it is stopped at exit.
#   mta_postfix_stop DIR         stop; wait (at most 10 s) for the master to
#                                go; kill -9 whatever of the instance is
#                                left. Safe to call twice or on a stopped
#                                instance; runs at exit for every started DIR
#   mta_procs DIR                prints the pids of live processes of the
#                                instance (their cwd is DIR/queue)
#   mta_wait_port HOST PORT [SECONDS]
#                                until HOST:PORT greets with 220 (default 10)
#   mta_wait_queue_empty DIR [SECONDS]
#                                until the queue holds nothing (default 30)
#   mta_flush DIR                retry the deferred mail now (postqueue -f)
#   mta_queue_count DIR          prints how many messages are queued
#   mta_log DIR                  prints the path of the instance's log
#   mta_connections DIR          prints how many SMTP connections smtpd
#                                has logged so far
#   mta_sink_count DIR           prints how many files the sink holds
#   mta_sink_wait DIR N [SECONDS]
#                                until the sink holds at least N files
#                                (default 30)
#   mta_postfix_hook DIR NAME DOMAIN LOG ARGV...
#                                mta_postfix_pipe, but the command's
#                                standard output and error are appended to
#                                LOG (a file the pipe user may create or
#                                write) instead of Postfix's log and bounce
#                                text, and the sanitizer settings of the
#                                calling shell (ASAN_OPTIONS, UBSAN_OPTIONS,
#                                LSAN_OPTIONS, when set) are put into ARGV
#                                with env(1): pipe(8) runs commands with a
#                                clean environment. LOG not writable or
#                                the command missing: exit 75 (Postfix
#                                defers, never bounces). No word of ARGV
#                                may hold white space (master.cf).
#   mta_log_count DIR ERE        prints how many lines of the instance's
#                                log match ERE (grep -E)
#   mta_log_wait DIR ERE N [SECONDS]
#                                until at least N log lines match ERE
#                                (default 30)
#   mta_bounces DIR              prints how many bounce notifications the
#                                instance made or deliveries it bounced
#                                (log lines "status=bounced" or
#                                "non-delivery notification")
#
# Settings: MTA_PIPE_USER (default mixtest; must exist, be neither root
# nor postfix), MTA_START_WAIT (default 20 s).

: "${MTA_PIPE_USER:=mixtest}"
: "${MTA_START_WAIT:=20}"
MTA_DIR=
MTA_RUNNING=
MTA_TMPDIRS=

mta_err() { echo "mta-lib: $*" >&2; }

mta_usable() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root (a private Postfix needs root)"
		return 1
	fi
	if ! command -v postfix >/dev/null 2>&1 || [ ! -x /usr/sbin/postfix ] ||
	    ! id -u postfix >/dev/null 2>&1; then
		echo "postfix is not installed (apt-get install postfix)"
		return 1
	fi
	return 0
}

mta_tmpdir() {
	MTA_DIR=$(mktemp -d /tmp/mixtest-mta.XXXXXX) || { mta_err "mktemp failed"; return 1; }
	chmod 0755 "$MTA_DIR" || return 1
	MTA_TMPDIRS="$MTA_TMPDIRS $MTA_DIR"
}

# mta_port_busy PORT: 0 if something accepts connections on 127.0.0.1:PORT
mta_port_busy() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

mta_free_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((30000 + (RANDOM * 32768 + RANDOM) % 30000))
		if ! mta_port_busy "$p"; then
			echo "$p"
			return 0
		fi
	done
	mta_err "no free port found"
	return 1
}

mta_postfix_setup() {
	local d=$1 port=$2 l
	shift 2
	case $d in /*) ;; *) mta_err "DIR must be absolute: $d"; return 1;; esac
	id -u "$MTA_PIPE_USER" >/dev/null 2>&1 || { mta_err "no user $MTA_PIPE_USER"; return 1; }
	mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/log" "$d/sink" "$d/bin" || return 1
	chmod 0755 "$d" "$d/etc" "$d/queue" "$d/bin" "$d/log" || return 1
	chown postfix "$d/data" "$d/log" && chmod 0700 "$d/data" || return 1
	chown "$MTA_PIPE_USER" "$d/sink" && chmod 0755 "$d/sink" || return 1
	# The postfix user must reach the data directory by its path
	setpriv --reuid=postfix --regid=postfix --clear-groups -- test -w "$d/data" ||
		{ mta_err "the postfix user cannot reach $d/data (a parent is not searchable)"; return 1; }

	cat >"$d/bin/sink.sh" <<EOF
#!/bin/sh
# sink.sh SENDER RECIPIENT QUEUE-ID: keep the mail (stdin) in $d/sink
f=\$(mktemp "$d/sink/msg.XXXXXXXX") || exit 75
cat >"\$f" || { rm -f "\$f"; exit 75; }
printf '%s %s %s\n' "\${f##*/}" "\$1" "\$2" >>"$d/sink/index" || exit 75
exit 0
EOF
	chmod 0755 "$d/bin/sink.sh" || return 1

	cat >"$d/etc/main.cf" <<EOF
# private Postfix of the mixmail tests (tests/mta-lib.sh)
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/log/maillog
maillog_file_prefixes = $d/log
myhostname = mta.mixtest.test
mydomain = mixtest.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
smtpd_banner = \$myhostname ESMTP mixtest
biff = no
append_dot_mydomain = no
smtputf8_enable = no
local_recipient_maps =
alias_maps =
alias_database =
transport_maps = texthash:$d/etc/transport
sink_destination_recipient_limit = 1
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
smtpd_recipient_restrictions = check_recipient_access texthash:$d/etc/access, permit_mynetworks, reject_unauth_destination
EOF
	for l in "$@"; do echo "$l" >>"$d/etc/main.cf"; done

	cat >"$d/etc/transport" <<EOF
*	sink:
EOF
	cat >"$d/etc/access" <<EOF
defer@sink.test		450 4.2.0 deferred for test
reject@sink.test	550 5.1.1 rejected for test
EOF
	cat >"$d/etc/master.cf" <<EOF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
sink      unix  - n n -  - pipe
  flags=Rq user=$MTA_PIPE_USER argv=$d/bin/sink.sh \${sender} \${recipient} \${queue_id}
EOF
	echo "$port" >"$d/etc/port"
}

mta_postfix_pipe() {
	local d=$1 name=$2 domain=$3
	shift 3
	[ -f "$d/etc/master.cf" ] || { mta_err "$d is not set up"; return 1; }
	{
		echo "$name unix - n n - - pipe"
		echo "  flags=Rq user=$MTA_PIPE_USER argv=$*"
	} >>"$d/etc/master.cf" || return 1
	printf '%s\t%s:\n' "$domain" "$name" >>"$d/etc/transport" || return 1
	postconf -c "$d/etc" -e "${name}_destination_recipient_limit = 1" || return 1
	if postfix -c "$d/etc" status >/dev/null 2>&1; then
		postfix -c "$d/etc" reload >/dev/null 2>&1 || { mta_err "reload failed"; return 1; }
	fi
	return 0
}

mta_wait_port() {
	local host=$1 port=$2 max=${3:-10} i
	for i in $(seq 1 $((max * 10))); do
		if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && read -t 2 -r l <&3 &&
		    case \$l in 220*) exit 0;; *) exit 1;; esac" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	mta_err "no SMTP banner on $host:$port after $max s"
	return 1
}

mta_postfix_start() {
	local d=$1 port=$2 l
	shift 2
	if [ ! -f "$d/etc/main.cf" ]; then
		mta_postfix_setup "$d" "$port" "$@" || return 1
	else
		for l in "$@"; do
			postconf -c "$d/etc" -e "$l" || return 1
		done
	fi
	case " $MTA_RUNNING " in *" $d "*) ;; *) MTA_RUNNING="$MTA_RUNNING $d";; esac
	if ! postfix -c "$d/etc" start >"$d/log/start.out" 2>&1; then
		mta_err "postfix start failed:"
		sed 's/^/  | /' "$d/log/start.out" >&2
		[ -f "$d/log/maillog" ] && tail -n 20 "$d/log/maillog" | sed 's/^/  | /' >&2
		return 1
	fi
	mta_wait_port 127.0.0.1 "$port" "$MTA_START_WAIT"
}

# mta_alive PID: running and not a zombie
mta_alive() {
	local s
	[ -r "/proc/$1/stat" ] || return 1
	s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

mta_procs() {
	local d=$1 p q
	q=$(cd "$d/queue" 2>/dev/null && pwd -P) || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$q" ] || continue
		mta_alive "${p#/proc/}" && echo "${p#/proc/}"
	done
	return 0
}

mta_postfix_stop() {
	local d=$1 pid= i p
	[ -d "$d/etc" ] || return 0
	[ -r "$d/queue/pid/master.pid" ] && pid=$(tr -d ' \n' <"$d/queue/pid/master.pid")
	postfix -c "$d/etc" stop >/dev/null 2>&1
	if [ -n "$pid" ]; then
		for i in $(seq 1 100); do
			mta_alive "$pid" || break
			sleep 0.1
		done
	fi
	# Whatever is left (a stuck master, daemons, pipe commands): by pid
	for i in 1 2 3; do
		p=$(mta_procs "$d")
		[ -n "$p" ] || break
		# shellcheck disable=SC2086
		kill -9 $p 2>/dev/null
		sleep 0.2
	done
	MTA_RUNNING=$(echo " $MTA_RUNNING " | sed "s| $d | |g")
	[ -z "$(mta_procs "$d")" ] || { mta_err "processes of $d survived kill -9"; return 1; }
	return 0
}

mta_queue_count() {
	postqueue -c "$1/etc" -j 2>/dev/null | wc -l
}

mta_wait_queue_empty() {
	local d=$1 max=${2:-30} i
	for i in $(seq 1 $((max * 5))); do
		[ "$(mta_queue_count "$d")" -eq 0 ] && return 0
		sleep 0.2
	done
	mta_err "queue of $d not empty after $max s"
	return 1
}

mta_flush() {
	postqueue -c "$1/etc" -f >/dev/null 2>&1
}

mta_log() {
	echo "$1/log/maillog"
}

mta_connections() {
	grep -c 'postfix/smtpd\[[0-9]*\]: connect from' "$1/log/maillog" 2>/dev/null || true
}

mta_sink_count() {
	find "$1/sink" -maxdepth 1 -name 'msg.*' -type f 2>/dev/null | wc -l
}

mta_sink_wait() {
	local d=$1 n=$2 max=${3:-30} i
	for i in $(seq 1 $((max * 5))); do
		[ "$(mta_sink_count "$d")" -ge "$n" ] && return 0
		sleep 0.2
	done
	mta_err "the sink of $d holds $(mta_sink_count "$d") files, not $n, after $max s"
	return 1
}

mta_postfix_hook() {
	local d=$1 name=$2 domain=$3 log=$4 v a
	local envs=()
	shift 4
	[ -d "$d/bin" ] || { mta_err "$d is not set up"; return 1; }
	case $log in /*) ;; *) mta_err "LOG must be absolute: $log"; return 1;; esac
	# Exit 75 rather than sh's 2 or 127: any other status is a bounce
	cat >"$d/bin/logged.sh" <<'EOF'
#!/bin/sh
# logged.sh LOG COMMAND [ARG...]: COMMAND with its output appended to LOG
log=$1
shift
( : >>"$log" ) 2>/dev/null || exit 75
command -v "$1" >/dev/null 2>&1 || { echo "logged.sh: no command $1" >>"$log"; exit 75; }
exec "$@" >>"$log" 2>&1
EOF
	chmod 0755 "$d/bin/logged.sh" || return 1
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=("$v=${!v}")
	done
	for a in "$log" "${envs[@]}" "$@"; do
		case $a in *[[:space:]]*) mta_err "white space in a pipe argument: $a"; return 1;; esac
	done
	mta_postfix_pipe "$d" "$name" "$domain" "$d/bin/logged.sh" "$log" env "${envs[@]}" "$@"
}

mta_log_count() {
	local c
	c=$(grep -cE -- "$2" "$1/log/maillog" 2>/dev/null)
	echo "${c:-0}"
}

mta_log_wait() {
	local d=$1 ere=$2 n=$3 max=${4:-30} i
	for i in $(seq 1 $((max * 5))); do
		[ "$(mta_log_count "$d" "$ere")" -ge "$n" ] && return 0
		sleep 0.2
	done
	mta_err "fewer than $n log lines match '$ere' after $max s"
	return 1
}

mta_bounces() {
	mta_log_count "$1" 'status=bounced|non-delivery notification'
}

# At exit: stop every instance started here, then remove mta_tmpdir's
# directories; then lib.sh's cleanup, if lib.sh was sourced first.
mta_cleanup() {
	local d
	set +e
	for d in $MTA_RUNNING; do
		mta_postfix_stop "$d"
	done
	for d in $MTA_TMPDIRS; do
		rm -rf "$d"
	done
}
if declare -F cleanup >/dev/null 2>&1; then
	trap 'mta_cleanup; cleanup' EXIT
else
	trap mta_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
fi
