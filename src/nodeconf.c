/*
 * nodeconf.c - the settings table of mixnode (see doc/mixnode.conf.5).
 */
#include <config.h>

#include <stdlib.h>

#include "mixing.h"
#include "nodeconf.h"

#define DAY (24LL * 3600)

static const char *const other_mail_choices[] = { "discard", "keep", NULL };

const struct conf_setting nodeconf_table[] = {
	{ "name", CONF_NAME, "mixnode", 0, 32, NULL,
	    "the node's nickname in its descriptor" },
	{ "address", CONF_ADDRESS, "mix@localhost.invalid", 0, 0, NULL,
	    "the mail address the MTA delivers to this node's receive hook" },
	{ "spool_dir", CONF_PATH, "/var/spool/mixnode", 0, 0, NULL,
	    "pool, keys, replay caches and statistics (mode 0700)" },
	{ "relay", CONF_RELAY, "smtp://127.0.0.1:25", 0, 0, NULL,
	    "outbound hand-off: smtp://HOST:PORT or maildir:/PATH" },
	{ "max_message_size", CONF_SIZE, "128k", 32 * 1024, 10 * 1024 * 1024, NULL,
	    "largest mail receive accepts; larger mail is read and dropped" },
	{ "lock_timeout", CONF_DURATION, "10s", 1, 300, NULL,
	    "longest wait for a lock before a temporary failure" },
	{ "key_lifetime", CONF_DURATION, "30d", DAY, 365 * DAY, NULL,
	    "how long a mix key is valid" },
	{ "key_publish_ahead", CONF_DURATION, "7d", 0, 90 * DAY, NULL,
	    "how long before its validity a new mix key is published" },
	{ "key_grace", CONF_DURATION, "7d", DAY, 90 * DAY, NULL,
	    "how long after expiry a mix key still decrypts in-flight packets" },
	{ "replay_capacity", CONF_INT, "10000000", 1000, 1000000000, NULL,
	    "replay tags each mix key's cache holds (16 bytes per 3/4 slot on disk)" },
	{ "exit", CONF_BOOL, "no", 0, 0, NULL,
	    "yes: deliver final-hop mail; no: middleman, never delivers" },
	{ "mixing", CONF_ENUM, "binomial", 0, 0, mixing_strategy_choices,
	    "which pooled packets a flush sends (doc/mixing.md)" },
	{ "mix_threshold", CONF_INT, "50", 1, MIXING_THRESHOLD_MAX, NULL,
	    "threshold, threshold-timed: send all once this many are pooled" },
	{ "mix_interval", CONF_DURATION, "15m", 1, 7 * DAY, NULL,
	    "timed, threshold-timed, mixmaster, binomial: time between rounds" },
	{ "mix_min_pool", CONF_INT, "45", 0, MIXING_MIN_POOL_MAX, NULL,
	    "mixmaster, binomial: packets that always stay in the pool" },
	{ "mix_rate_permille", CONF_INT, "650", 1, 1000, NULL,
	    "mixmaster, binomial: at most this many per mille of the pool leave a round" },
	{ "dummy_per_round", CONF_INT, "1", 0, 100, NULL,
	    "mean number of dummies a mixing round makes (drawn from 0 to twice this)" },
	{ "dummy_per_inbound_permille", CONF_INT, "100", 0, 1000, NULL,
	    "and, per mille, one more dummy for each packet received since the last round" },
	{ "dummy_pool_permille", CONF_INT, "500", 0, 1000, NULL,
	    "per mille of the dummies put in the pool before selection (the rest leave at once)" },
	{ "dummy_hops", CONF_INT, "3", 1, 16, NULL,
	    "hops of a dummy's chain (fewer when fewer nodes are known)" },
	{ "retry_max_age", CONF_DURATION, "5d", 3600, 30 * DAY, NULL,
	    "how long an entry the relay keeps refusing for now is retried before failed/" },
	{ "exit_from", CONF_STRING, "Anonymous <nobody@localhost.invalid>", 0, 200, NULL,
	    "exit: the From: of delivered mail" },
	{ "abuse_contact", CONF_STRING, "", 0, 200, NULL,
	    "exit: the abuse contact named in delivered mail (an address or URL)" },
	{ "exit_max_size", CONF_SIZE, "1M", 1024, 1097984, NULL,
	    "exit: largest message delivered" },
	{ "exit_max_recipients", CONF_INT, "10", 1, 100, NULL,
	    "exit: most destinations of one message" },
	{ "exit_blocklist", CONF_STRING, "", 0, 1024, NULL,
	    "exit: file of destination patterns never delivered to (empty: none)" },
	{ "exit_header_filter", CONF_STRING, "", 0, 1024, NULL,
	    "exit: file of header patterns whose messages are refused (empty: none)" },
	{ "fragment_expire", CONF_DURATION, "2d", 3600, 30 * DAY, NULL,
	    "exit: how long the parts of an incomplete long message are kept" },
	/* mail that holds no packet: doc/autoreply.md */
	{ "autoreply", CONF_BOOL, "yes", 0, 0, NULL,
	    "answer the subjects remailer-key, -conf, -stats, -help and -adminkey" },
	{ "autoreply_per_requester", CONF_INT, "3", 0, 100, NULL,
	    "most auto-replies to one address a day (UTC)" },
	{ "autoreply_per_hour", CONF_INT, "60", 0, 1000, NULL,
	    "most auto-replies and forwarded complaints an hour, in all" },
	{ "help_file", CONF_STRING, "", 0, 1024, NULL,
	    "file sent for remailer-help (empty: the built-in text)" },
	{ "admin_key_file", CONF_STRING, "", 0, 1024, NULL,
	    "file sent for remailer-adminkey: the operator's key (empty: none)" },
	{ "other_mail", CONF_ENUM, "discard", 0, 0, other_mail_choices,
	    "mail that is neither a packet nor a request: discard, or keep in SPOOL/operator/" },
	{ "other_mail_max_count", CONF_INT, "1000", 1, 1000000, NULL,
	    "most mails kept in SPOOL/operator/ (new/ and cur/)" },
	{ "other_mail_max_bytes", CONF_SIZE, "10M", 65536, 1073741824, NULL,
	    "most bytes kept in SPOOL/operator/ (new/ and cur/)" },
	{ "complaints_address", CONF_STRING, "", 0, 254, NULL,
	    "mail the MTA passes for this address is forwarded to operator_address (empty: none)" },
	{ "operator_address", CONF_STRING, "", 0, 254, NULL,
	    "where complaints are forwarded" },
};

const size_t nodeconf_count = sizeof nodeconf_table / sizeof *nodeconf_table;

void
nodeconf_init(struct conf *c)
{
	conf_init(c, nodeconf_table, nodeconf_count);
}

const char *
nodeconf_path(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	env = getenv("MIXNODE_CONF");
	if (env != NULL && *env != '\0')
		return env;
	return NODECONF_DEFAULT_PATH;
}
