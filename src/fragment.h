/*
 * fragment.h - the body format: what a packet's body carries, one whole
 * message or one erasure-coded fragment of a longer one.
 *
 * doc/body-format.md specifies every byte and the rules below. A message
 * of at most FRAG_WHOLE_MAX bytes travels as one whole body. A longer one
 * (or a short one sent with copies) is cut into k data shards of equal
 * length, fec.h adds parity shards up to n, and each shard becomes a
 * fragment body; the exit rebuilds the message from any k distinct
 * fragments. The sender (mixmail) calls fragment_plan() and
 * fragment_split(); the exit calls fragment_parse() on every delivered
 * body and fragment_assemble() on the fragments of one message id.
 *
 * Nothing here logs: never log a message id or message bytes elsewhere.
 * Out of memory is fatal (mem.h); every other failure is a result.
 *
 * Functions: fragment_plan(), fragment_split(), fragment_parse(),
 * fragment_assemble(), fragment_strerror().
 */
#ifndef MIX_FRAGMENT_H
#define MIX_FRAGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "fec.h"
#include "mcrypto.h"
#include "pkt.h"

#define FRAG_VERSION		1
#define FRAG_TYPE_WHOLE		1
#define FRAG_TYPE_FRAGMENT	2
#define FRAG_ID_SIZE		16
#define FRAG_WHOLE_HEAD		2	/* version, type */
#define FRAG_HEAD		25	/* version, type, id, k, n, index, length */
#define FRAG_WHOLE_MAX		(PKT_BODY_MAX - FRAG_WHOLE_HEAD)	/* 17179 */
#define FRAG_SHARD_MAX		(PKT_BODY_MAX - FRAG_HEAD)		/* 17156 */
#define FRAG_K_MAX		64
#define FRAG_N_MAX		FEC_N_MAX				/* 255 */
#define FRAG_MSG_MAX		(FRAG_K_MAX * FRAG_SHARD_MAX)		/* 1097984 */
#define FRAG_COPIES_MAX		3

/* One parsed body; data points into the body given to fragment_parse */
struct fragment {
	int type;			/* FRAG_TYPE_WHOLE or FRAG_TYPE_FRAGMENT */
	uint8_t id[FRAG_ID_SIZE];	/* fragment: the message id; whole: zero */
	unsigned k;			/* fragment: shards needed; whole: 1 */
	unsigned n;			/* fragment: shards made; whole: 1 */
	unsigned index;			/* fragment: this shard, < n; whole: 0 */
	size_t msg_len;			/* the whole message's length */
	const uint8_t *data;		/* whole: the message; fragment: the shard */
	size_t data_len;
};

enum frag_err {
	FRAG_OK = 0,
	FRAG_ERR_ARG,		/* caller passed bad arguments */
	FRAG_ERR_TOO_LONG,	/* plan, split: message over FRAG_MSG_MAX bytes */
	FRAG_ERR_SHORT,		/* parse: shorter than its header */
	FRAG_ERR_VERSION,	/* parse: unknown version */
	FRAG_ERR_TYPE,		/* parse: unknown type */
	FRAG_ERR_FIELD,		/* parse: k, n or index out of range */
	FRAG_ERR_LENGTH,	/* parse: lengths do not add up */
	FRAG_ERR_PADDING,	/* parse: nonzero padding in the last data shard */
	FRAG_ERR_MIXED,		/* assemble: parts of different messages, or a whole body */
	FRAG_ERR_TOO_FEW,	/* assemble: not enough parts (yet) */
	FRAG_ERR_INCONSISTENT	/* assemble: the parts do not form one code word */
};

/*
 * fragment_plan - how a message of msg_len bytes travels with the given
 * copies (1..FRAG_COPIES_MAX; 1 is the default): as *n bodies, any *k of
 * which rebuild it. *k == *n == 1 means one whole body (only with copies
 * 1); otherwise k = ceil(msg_len / FRAG_SHARD_MAX) (at least 1) and
 * n = max(ceil(4k / 3), copies * k).
 */
enum frag_err fragment_plan(size_t msg_len, unsigned copies, unsigned *k,
    unsigned *n) MIX_WUR;

/*
 * fragment_split - msg as the bodies of fragment_plan(len, copies): *count
 * bodies of *body_len bytes each, body i at *bodies + i * *body_len, in
 * one mem_alloc'ed buffer (free it with mem_free). id is the message id
 * for fragments; NULL draws it from the OS CSPRNG, which is what a
 * sender must do (a fixed id is for tests). A whole body has no id.
 */
enum frag_err fragment_split(const uint8_t *msg, size_t len, unsigned copies,
    const uint8_t *id, uint8_t **bodies, size_t *body_len, size_t *count) MIX_WUR;

/*
 * fragment_parse - check body (len bytes) against every rule of
 * doc/body-format.md section 4 and describe it in *out; out->data points
 * into body. Never reads past len and never allocates.
 */
enum frag_err fragment_parse(const uint8_t *body, size_t len, struct fragment *out) MIX_WUR;

/*
 * fragment_assemble - the message from parsed fragments of one message:
 * all must share id, k, n and length (FRAG_ERR_MIXED otherwise); repeats
 * of an index with the same shard are ignored; fewer than k distinct
 * indices is FRAG_ERR_TOO_FEW, which the exit reads as "wait for more".
 * FRAG_ERR_INCONSISTENT: a repeated index with another shard, a decoded
 * padding that is not zero, or a shard beyond the k used that does not
 * match the rebuilt message. On FRAG_OK *msg is mem_alloc'ed (free with
 * mem_free) and holds *msg_len bytes; on error *msg is NULL.
 */
enum frag_err fragment_assemble(const struct fragment *const *frags, size_t count,
    uint8_t **msg, size_t *msg_len) MIX_WUR;

const char *fragment_strerror(enum frag_err err);

#endif
