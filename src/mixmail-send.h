/*
 * mixmail-send.h - sending one message: compose it (or clean a complete
 * mail), cut it into bodies (src/fragment.h), choose one chain per body,
 * all ending at the same exit (src/chain.h), wrap each body in a packet
 * (src/pkt.h) and hand the first-hop mails over (mixmail-out.h).
 *
 * Copies: `copies` (1 to FRAG_COPIES_MAX) is fragment_plan's: the message
 * travels as n = max(ceil(4k/3), copies * k) bodies of which any k
 * rebuild it (k = 1 for a message that fits one packet: copies 2 sends 2
 * bodies, either of which is enough, and the exit delivers the message
 * once). Every body gets its own chain. The chains are chosen by
 * chain_select_copies, CHAIN_MAX_COPIES at a time: within each group the
 * random middle hops avoid each other's nodes; the first group's exit is
 * named as the exit of the later groups, so every body reaches the same
 * exit. The mails are handed over in a random order.
 *
 * Functions: mmsend_run().
 */
#ifndef MIX_MIXMAIL_SEND_H
#define MIX_MIXMAIL_SEND_H

#include <stddef.h>

#include "mixmail-home.h"

struct mmsend_opts {
	int whole_mail;			/* -m: a complete RFC 5322 mail */
	const char *mail_file;		/* -m FILE; NULL or "-": standard input */
	const char *subject;		/* -s, or NULL */
	const char *chain;		/* -l, or NULL: the configured chain */
	unsigned copies;		/* -c, or 0: the configured copies */
	const char *const *headers;	/* -H "Name: value" */
	size_t nheaders;
	const char *const *to;		/* the ADDRESS arguments */
	size_t nto;
	const char *const *cc;		/* --cc */
	size_t ncc;
	const char *dump;		/* --dump DIR, or NULL: the relay */
	int verbose;			/* -v */
};

/* mmsend_run - send one message as o says; an exit code (mixmail-home.h) */
int mmsend_run(const struct mm_home *h, const struct mmsend_opts *o);

#endif
