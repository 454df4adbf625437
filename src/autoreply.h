/*
 * autoreply.h - the node's answers to mail that holds no packet
 * (doc/autoreply.md): the commands remailer-key, -conf, -stats, -help and
 * -adminkey, their rate limits and loop protection, and the complaints
 * forwarded to the operator.
 *
 * The pieces, each used by one program:
 *   - the classification line mixnode-mime writes for a mail without a
 *     packet, and the checks behind it (the command, the reply address,
 *     the loop signals): autoreply_class_format(), autoreply_class_parse(),
 *     autoreply_cmd_find(), autoreply_addr_valid(), autoreply_local_loop();
 *   - the settings: autoreply_settings();
 *   - the rate limits, a fixed table in SPOOL/autoreply.rate keyed by a
 *     keyed hash of the requester's address (never the address):
 *     autoreply_requester_key(), autoreply_rate_*();
 *   - the replies and the forwarded complaint: autoreply_body(),
 *     autoreply_compose(), autoreply_complaint().
 * Nothing here logs an address or a subject.
 */
#ifndef MIX_AUTOREPLY_H
#define MIX_AUTOREPLY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "mcrypto.h"

#define AR_ADDR_MAX		254	/* a reply address (RFC 5321 path - 2) */
#define AR_LOCAL_MAX		64	/* its local part */
#define AR_CLASS_MAX		300	/* the classification line, LF included */
#define AR_CLASS_PREFIX		"mixnode-class 1 "
#define AR_FILE_MAX		(64 * 1024)	/* help, admin key and descriptor files */
#define AR_KEY_FILE		"autoreply.key"
#define AR_RATE_FILE		"autoreply.rate"
#define AR_HASH_BYTES		16	/* a requester's key in the rate table */
#define AR_RATE_SLOTS		4096
#define AR_RATE_HEAD		64
#define AR_RATE_SLOT		32
#define AR_RATE_SIZE		(AR_RATE_HEAD + AR_RATE_SLOTS * AR_RATE_SLOT)	/* 131136 */
#define AR_ID_HEX		32	/* hex digits of a Message-ID or a MIME boundary */

/* The commands (the Subject of a request) */
enum ar_cmd {
	AR_NONE = 0,
	AR_KEY,		/* remailer-key: the signed descriptor */
	AR_CONF,	/* remailer-conf: capabilities and settings */
	AR_STATS,	/* remailer-stats: the statistics report */
	AR_HELP,	/* remailer-help: how to use the node */
	AR_ADMINKEY	/* remailer-adminkey: the operator's key */
};

/* Loop signals: why a request is not answered (a bit set) */
#define AR_LOOP_AUTO		0x01	/* Auto-Submitted: present and not "no" */
#define AR_LOOP_PRECEDENCE	0x02	/* Precedence: bulk, list or junk */
#define AR_LOOP_LIST		0x04	/* a List-* header */
#define AR_LOOP_DAEMON		0x08	/* the reply address is a daemon's or a no-reply */
#define AR_LOOP_MIME_MASK	0x0f	/* the bits mixnode-mime may report */
#define AR_LOOP_SELF		0x10	/* the reply address is the node's own (the hook) */
#define AR_LOOP_NULL_SENDER	0x20	/* the envelope sender was <> (the hook) */

/* What mixnode-mime found in a mail without a packet */
struct ar_class {
	enum ar_cmd cmd;
	unsigned loop;			/* AR_LOOP_* bits */
	char addr[AR_ADDR_MAX + 1];	/* the reply address, "" if none valid */
};

/* autoreply_cmd_name - "remailer-key", ...; "none" for AR_NONE */
const char *autoreply_cmd_name(enum ar_cmd c);

/*
 * autoreply_cmd_find - the command a (decoded) Subject of len bytes names:
 * exactly one command name, any case, surrounding white space ignored.
 */
enum ar_cmd autoreply_cmd_find(const char *subject, size_t len);

/*
 * autoreply_addr_valid - 1 if s (len bytes) is an address to reply to: one
 * dot-atom local part (at most 64 bytes) "@" a domain of letters, digits,
 * '-' and '.' (no empty label), at most AR_ADDR_MAX bytes, nothing else.
 */
int autoreply_addr_valid(const char *s, size_t len);

/* autoreply_local_loop - 1 if the local part of addr is mailer-daemon,
 * postmaster, noreply, no-reply or do-not-reply (any case) */
int autoreply_local_loop(const char *addr);

/* autoreply_addr_equal - 1 if a and b are the same address, ignoring case */
int autoreply_addr_equal(const char *a, const char *b);

/*
 * autoreply_class_format - c as the one line mixnode-mime writes (with LF,
 * NUL-terminated, at most AR_CLASS_MAX bytes); 0, or -1 if c is invalid.
 */
int autoreply_class_format(const struct ar_class *c, char buf[AR_CLASS_MAX + 1]);

/* autoreply_class_parse - the line (len bytes, LF included) into c; 0 or -1 */
int autoreply_class_parse(const char *line, size_t len, struct ar_class *c);

/* The settings of this module (doc/mixnode.conf.5) */
enum ar_other {
	AR_OTHER_DISCARD = 0,
	AR_OTHER_KEEP
};

struct ar_settings {
	int enabled;			/* autoreply */
	unsigned per_requester;		/* autoreply_per_requester: a day */
	unsigned per_hour;		/* autoreply_per_hour: in total */
	const char *help_file;		/* "" if unset */
	const char *admin_key_file;	/* "" if unset */
	enum ar_other other;		/* other_mail */
	uint64_t other_max_count;	/* other_mail_max_count */
	uint64_t other_max_bytes;	/* other_mail_max_bytes */
	const char *complaints;		/* complaints_address, "" if unset */
	const char *operator_addr;	/* operator_address, "" if unset */
};

/*
 * autoreply_settings - the settings from c, checked beyond their types:
 * the two addresses valid and different, operator_address set when
 * complaints_address is, the files absolute paths. 0, or -1 with
 * "PATH:LINE: setting NAME: why" in err.
 */
int autoreply_settings(const struct conf *c, struct ar_settings *s, char *err, size_t errlen);

/*
 * autoreply_requester_key - the rate table's key of addr: BLAKE2b-128 keyed
 * by the node's secret in SPOOL/autoreply.key (32 random bytes, made 0600
 * when missing) over addr in lower case. 0, or -1 (errno).
 */
int autoreply_requester_key(const char *spool, const char *addr, uint8_t key[AR_HASH_BYTES]) MIX_WUR;

/* autoreply_requester_hash - the same from a given secret (tests) */
void autoreply_requester_hash(const uint8_t secret[32], const char *addr,
    uint8_t key[AR_HASH_BYTES]);

/* The verdict of the rate limits */
enum ar_rate_verdict {
	AR_RATE_OK = 0,
	AR_RATE_REQUESTER,	/* this requester had per_requester replies today (UTC) */
	AR_RATE_TOTAL		/* the node sent per_hour replies in this hour */
};

/*
 * The rate table as an image of its file (AR_RATE_SIZE bytes; layout in
 * doc/autoreply.md section 5). key NULL means a mail counted only in the
 * total (a forwarded complaint).
 */
void autoreply_rate_init(uint8_t *img);
int autoreply_rate_valid(const uint8_t *img);	/* 1 if the header is ours */
enum ar_rate_verdict autoreply_rate_check(const uint8_t *img, const uint8_t *key, int64_t now,
    unsigned per_requester, unsigned per_hour);
/* autoreply_rate_take - count one reply at now; the byte ranges changed
 * are [0, AR_RATE_HEAD) and [*slot_off, *slot_off + AR_RATE_SLOT) (0: none) */
void autoreply_rate_take(uint8_t *img, const uint8_t *key, int64_t now, size_t *slot_off);

/* The rate table's file, locked for the caller's whole decision */
struct ar_rate;

/*
 * autoreply_rate_open - open (make when missing or damaged) and lock
 * SPOOL/autoreply.rate, waiting at most timeout_ms. 0 or -1 (errno).
 */
int autoreply_rate_open(const char *spool, unsigned timeout_ms, struct ar_rate **r) MIX_WUR;
enum ar_rate_verdict autoreply_rate_file_check(const struct ar_rate *r, const uint8_t *key,
    int64_t now, unsigned per_requester, unsigned per_hour);
/* autoreply_rate_commit - take one reply and write it durably; 0 or -1 */
int autoreply_rate_commit(struct ar_rate *r, const uint8_t *key, int64_t now) MIX_WUR;
void autoreply_rate_close(struct ar_rate *r);		/* unlocks */

/* What a reply's body is made from */
struct ar_node {
	const struct conf *conf;	/* the node's settings */
	const struct ar_settings *set;
	const char *spool;
	int64_t now;
};

/*
 * autoreply_body - the body of the reply to cmd, in a buffer from
 * mem_alloc (NUL-terminated). 0, or -1 for transient trouble (errno: a
 * file that exists could not be read). A missing descriptor, help or key
 * file gives a fixed text instead (doc/autoreply.md section 4).
 */
int autoreply_body(const struct ar_node *an, enum ar_cmd cmd, char **body, size_t *len) MIX_WUR;

/* autoreply_conf_text - the remailer-conf body (a pure function of c and s) */
char *autoreply_conf_text(const struct conf *c, const struct ar_settings *s, size_t *len);

/* The built-in remailer-help text, %s for the node's address (twice) */
extern const char autoreply_help_default[];

/*
 * autoreply_compose - the reply mail from `from` to `to` for cmd with body,
 * dated now, Message-ID <id@DOMAIN-OF-FROM> (id: AR_ID_HEX hex digits).
 * A buffer from mem_alloc; -1 if an address is unusable.
 */
int autoreply_compose(const char *from, const char *to, enum ar_cmd cmd, int64_t now,
    const char *id, const char *body, size_t body_len, uint8_t **mail, size_t *len) MIX_WUR;

/*
 * autoreply_complaint - the mail to the operator with orig attached as
 * message/rfc822 (boundary "=_mixnode_" and AR_ID_HEX hex digits, which
 * must not occur in orig: -1 if it does, or an address is unusable).
 */
int autoreply_complaint(const char *from, const char *to, const char *node_name, int64_t now,
    const char *id, const char *boundary, const uint8_t *orig, size_t orig_len,
    uint8_t **mail, size_t *len) MIX_WUR;

/* autoreply_random_hex - AR_ID_HEX random hex digits and a NUL */
void autoreply_random_hex(char out[AR_ID_HEX + 1]);

#endif
