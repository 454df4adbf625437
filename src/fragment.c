/*
 * fragment.c - the body format: whole messages and erasure-coded fragments
 * (fragment.h; doc/body-format.md is the specification).
 *
 * A whole body is the version, the type and the message. A fragment body
 * is a 25-byte header (version, type, message id, k, n, index, message
 * length L) and one shard of S bytes. k and S are functions of L alone,
 *
 *   k = max(1, ceil(L / FRAG_SHARD_MAX)),   S = ceil(L / k),
 *
 * so that every message has exactly one shape and a reader can check the
 * header against the body's length. The message, padded with k * S - L
 * zero bytes (fewer than k, all in data shard k - 1), is cut into the k
 * data shards; fec.c computes the parity shards k..n-1.
 *
 * Functions: fragment_plan(), fragment_split(), fragment_parse(),
 * fragment_assemble(), fragment_strerror().
 *
 * Diagnostics: msg_panic() if the erasure code refuses arguments this
 * module has checked (a bug). Nothing is logged: a message id or message
 * byte must never reach a log.
 */
#include <config.h>

#include <string.h>

#include "bytes.h"
#include "fec.h"
#include "fragment.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

/* Body fields (doc/body-format.md section 3), big-endian */
#define F_VERSION	0	/* 1 */
#define F_TYPE		1	/* 1 */
#define F_ID		2	/* 16 */
#define F_K		18	/* 1 */
#define F_N		19	/* 1 */
#define F_INDEX		20	/* 1 */
#define F_LENGTH	21	/* 4 */
#define F_SHARD		25	/* S = body length - 25 */

_Static_assert(F_SHARD == FRAG_HEAD, "the shard follows the header");
_Static_assert(F_ID + FRAG_ID_SIZE == F_K, "the id is 16 bytes");
_Static_assert(FRAG_MSG_MAX <= UINT32_MAX, "the message length is 4 bytes");
_Static_assert(FRAG_N_MAX <= 255, "k, n and the index are one byte each");
_Static_assert(FRAG_COPIES_MAX * FRAG_K_MAX <= FRAG_N_MAX, "copies never need n > 255");
_Static_assert(FRAG_SHARD_MAX / 2 > FRAG_K_MAX, "the padding stays within the last data shard");
_Static_assert(FRAG_SHARD_MAX < FRAG_WHOLE_MAX, "a message that needs one shard fits a whole body");

/* shards_for - k for a message of len bytes */
static unsigned
shards_for(size_t len)
{
	return len == 0 ? 1 : (unsigned)((len + FRAG_SHARD_MAX - 1) / FRAG_SHARD_MAX);
}

/* shard_len - S for a message of len bytes in k shards */
static size_t
shard_len(size_t len, unsigned k)
{
	return (len + k - 1) / k;
}

/* all_zero - 1 if p[0..len) is all zero (not secret: plain loop) */
static int
all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* ---- the sender's side ----------------------------------------------------- */

enum frag_err
fragment_plan(size_t msg_len, unsigned copies, unsigned *k, unsigned *n)
{
	unsigned kk, nn;

	if (k == NULL || n == NULL)
		return FRAG_ERR_ARG;
	*k = *n = 0;
	if (copies < 1 || copies > FRAG_COPIES_MAX)
		return FRAG_ERR_ARG;
	if (msg_len > FRAG_MSG_MAX)
		return FRAG_ERR_TOO_LONG;
	if (copies == 1 && msg_len <= FRAG_WHOLE_MAX) {
		*k = *n = 1;
		return FRAG_OK;
	}
	kk = shards_for(msg_len);
	nn = (4 * kk + 2) / 3;
	if (copies * kk > nn)
		nn = copies * kk;
	*k = kk;
	*n = nn;
	return FRAG_OK;
}

enum frag_err
fragment_split(const uint8_t *msg, size_t len, unsigned copies, const uint8_t *id,
    uint8_t **bodies, size_t *body_len, size_t *count)
{
	uint8_t drawn[FRAG_ID_SIZE], *buf, *p;
	const uint8_t *data[FRAG_K_MAX];
	uint8_t *parity[FRAG_N_MAX];
	unsigned k, n, i;
	size_t s, blen, off, take;
	enum frag_err err;

	if (bodies == NULL || body_len == NULL || count == NULL || (msg == NULL && len > 0))
		return FRAG_ERR_ARG;
	*bodies = NULL;
	*body_len = *count = 0;
	if ((err = fragment_plan(len, copies, &k, &n)) != FRAG_OK)
		return err;

	if (k == 1 && n == 1) {
		buf = mem_alloc(FRAG_WHOLE_HEAD + len);
		buf[F_VERSION] = FRAG_VERSION;
		buf[F_TYPE] = FRAG_TYPE_WHOLE;
		if (len > 0)
			memcpy(buf + FRAG_WHOLE_HEAD, msg, len);
		*bodies = buf;
		*body_len = FRAG_WHOLE_HEAD + len;
		*count = 1;
		return FRAG_OK;
	}

	if (id == NULL) {
		mcrypto_random(NULL, drawn, sizeof drawn);
		id = drawn;
	}
	s = shard_len(len, k);
	blen = FRAG_HEAD + s;
	buf = mem_calloc(n, blen);		/* zero: the padding */
	for (i = 0; i < n; i++) {
		p = buf + i * blen;
		p[F_VERSION] = FRAG_VERSION;
		p[F_TYPE] = FRAG_TYPE_FRAGMENT;
		memcpy(p + F_ID, id, FRAG_ID_SIZE);
		p[F_K] = (uint8_t)k;
		p[F_N] = (uint8_t)n;
		p[F_INDEX] = (uint8_t)i;
		put_be32(p + F_LENGTH, (uint32_t)len);
		if (i < k) {
			off = i * s;
			/* off < len unless len is 0: the padding is shorter than a shard */
			take = len - off < s ? len - off : s;
			if (take > 0)
				memcpy(p + F_SHARD, msg + off, take);
			data[i] = p + F_SHARD;
		} else {
			parity[i - k] = p + F_SHARD;
		}
	}
	if (fec_encode(k, n, data, parity, s) != FEC_OK)
		msg_panic("fragment_split: the erasure code refused k=%u n=%u", k, n);
	mcrypto_wipe(drawn, sizeof drawn);
	*bodies = buf;
	*body_len = blen;
	*count = n;
	return FRAG_OK;
}

/* ---- the exit's side ------------------------------------------------------- */

enum frag_err
fragment_parse(const uint8_t *body, size_t len, struct fragment *out)
{
	unsigned k, n, index;
	size_t msg_len, s, pad;

	if (out == NULL || (body == NULL && len > 0))
		return FRAG_ERR_ARG;
	memset(out, 0, sizeof *out);
	if (len < FRAG_WHOLE_HEAD)
		return FRAG_ERR_SHORT;
	if (body[F_VERSION] != FRAG_VERSION)
		return FRAG_ERR_VERSION;
	if (len > PKT_BODY_MAX)
		return FRAG_ERR_LENGTH;
	if (body[F_TYPE] == FRAG_TYPE_WHOLE) {
		out->type = FRAG_TYPE_WHOLE;
		out->k = out->n = 1;
		out->msg_len = out->data_len = len - FRAG_WHOLE_HEAD;
		out->data = body + FRAG_WHOLE_HEAD;
		return FRAG_OK;
	}
	if (body[F_TYPE] != FRAG_TYPE_FRAGMENT)
		return FRAG_ERR_TYPE;
	if (len < FRAG_HEAD)
		return FRAG_ERR_SHORT;

	k = body[F_K];
	n = body[F_N];
	index = body[F_INDEX];
	if (k < 1 || k > FRAG_K_MAX || n < k || index >= n)
		return FRAG_ERR_FIELD;
	msg_len = get_be32(body + F_LENGTH);
	s = len - FRAG_HEAD;
	if (msg_len > FRAG_MSG_MAX || shards_for(msg_len) != k || shard_len(msg_len, k) != s)
		return FRAG_ERR_LENGTH;
	pad = k * s - msg_len;			/* < k <= s, section 3 */
	if (index == k - 1 && !all_zero(body + len - pad, pad))
		return FRAG_ERR_PADDING;

	out->type = FRAG_TYPE_FRAGMENT;
	memcpy(out->id, body + F_ID, FRAG_ID_SIZE);
	out->k = k;
	out->n = n;
	out->index = index;
	out->msg_len = msg_len;
	out->data = body + F_SHARD;
	out->data_len = s;
	return FRAG_OK;
}

/*
 * same_message - b is a fragment of a's message. Fields that only a
 * hand-made struct can get wrong (ranges, the shard's length) were
 * checked on a by frag_valid.
 */
static int
same_message(const struct fragment *a, const struct fragment *b)
{
	return b->type == FRAG_TYPE_FRAGMENT && b->k == a->k && b->n == a->n &&
	    b->msg_len == a->msg_len && mcrypto_equal(a->id, b->id, FRAG_ID_SIZE);
}

/* frag_valid - f's own fields agree, as fragment_parse leaves them */
static int
frag_valid(const struct fragment *f)
{
	return f->k >= 1 && f->k <= FRAG_K_MAX && f->n >= f->k && f->n <= FRAG_N_MAX &&
	    f->index < f->n && f->msg_len <= FRAG_MSG_MAX && shards_for(f->msg_len) == f->k &&
	    f->data_len == shard_len(f->msg_len, f->k) && (f->data != NULL || f->data_len == 0);
}

/*
 * fragment_assemble - group by index (refusing conflicting repeats), take
 * the first k present indices (the data shards first: they need no
 * arithmetic), decode, then check the padding and every shard not used
 * against the rebuilt message.
 */
enum frag_err
fragment_assemble(const struct fragment *const *frags, size_t count, uint8_t **msg,
    size_t *msg_len)
{
	const struct fragment *at[FRAG_N_MAX] = { NULL };
	const uint8_t *shards[FRAG_K_MAX];
	unsigned idx[FRAG_K_MAX];
	uint8_t *data[FRAG_K_MAX];
	const struct fragment *f0, *f;
	uint8_t *buf = NULL, *check = NULL;
	unsigned k, n, i, used, distinct = 0;
	size_t j, s, total;
	enum frag_err err = FRAG_OK;

	if (msg == NULL || msg_len == NULL || (frags == NULL && count > 0))
		return FRAG_ERR_ARG;
	*msg = NULL;
	*msg_len = 0;
	if (count == 0)
		return FRAG_ERR_TOO_FEW;
	for (j = 0; j < count; j++)
		if (frags[j] == NULL)
			return FRAG_ERR_ARG;
	f0 = frags[0];
	if (f0->type != FRAG_TYPE_FRAGMENT)
		return FRAG_ERR_MIXED;
	for (j = 0; j < count; j++) {
		f = frags[j];
		if (!same_message(f0, f))
			return FRAG_ERR_MIXED;
		if (!frag_valid(f))
			return FRAG_ERR_ARG;
	}
	k = f0->k;
	n = f0->n;
	s = f0->data_len;
	for (j = 0; j < count; j++) {
		f = frags[j];
		if (at[f->index] == NULL) {
			at[f->index] = f;
			distinct++;
		} else if (s > 0 && memcmp(at[f->index]->data, f->data, s) != 0) {
			return FRAG_ERR_INCONSISTENT;
		}
	}
	if (distinct < k)
		return FRAG_ERR_TOO_FEW;

	for (used = 0, i = 0; i < n && used < k; i++) {
		if (at[i] != NULL) {
			shards[used] = at[i]->data;
			idx[used++] = i;
		}
	}
	total = (size_t)k * s;
	buf = mem_alloc(total);
	for (i = 0; i < k; i++)
		data[i] = buf + i * s;
	if (fec_decode(k, n, shards, idx, k, data, s) != FEC_OK)
		msg_panic("fragment_assemble: the erasure code refused k=%u n=%u", k, n);
	if (!all_zero(buf + f0->msg_len, total - f0->msg_len)) {
		err = FRAG_ERR_INCONSISTENT;
		goto out;
	}
	/* shards beyond the k used: i continues after the last used index */
	if (s > 0) {
		check = mem_alloc(s);
		for (; i < n; i++) {
			if (at[i] == NULL)
				continue;
			if (fec_shard(k, n, i, (const uint8_t *const *)data, check, s) != FEC_OK)
				msg_panic("fragment_assemble: fec_shard refused index %u", i);
			if (memcmp(check, at[i]->data, s) != 0) {
				err = FRAG_ERR_INCONSISTENT;
				goto out;
			}
		}
	}
	*msg = buf;
	*msg_len = f0->msg_len;
	buf = NULL;
out:
	if (check != NULL) {
		mcrypto_wipe(check, s);
		mem_free(check);
	}
	if (buf != NULL) {
		mcrypto_wipe(buf, total);
		mem_free(buf);
	}
	return err;
}

const char *
fragment_strerror(enum frag_err err)
{
	switch (err) {
	case FRAG_OK:			return "success";
	case FRAG_ERR_ARG:		return "invalid arguments";
	case FRAG_ERR_TOO_LONG:		return "message too long";
	case FRAG_ERR_SHORT:		return "body shorter than its header";
	case FRAG_ERR_VERSION:		return "unknown body version";
	case FRAG_ERR_TYPE:		return "unknown body type";
	case FRAG_ERR_FIELD:		return "k, n or index out of range";
	case FRAG_ERR_LENGTH:		return "lengths do not add up";
	case FRAG_ERR_PADDING:		return "nonzero padding";
	case FRAG_ERR_MIXED:		return "parts of different messages";
	case FRAG_ERR_TOO_FEW:		return "not enough parts";
	case FRAG_ERR_INCONSISTENT:	return "parts do not fit together";
	}
	return "unknown error";
}
