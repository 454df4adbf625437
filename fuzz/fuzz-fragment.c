/*
 * fuzz-fragment.c - libFuzzer harness for the body format (src/fragment.c,
 * doc/body-format.md): fragment_parse() on one body, fragment_assemble()
 * on many, and the erasure code beneath it.
 *
 * Each input is used three ways:
 *
 *   1. as one body, copied to a buffer of exactly its size (so that
 *      AddressSanitizer sees any read past len), for fragment_parse;
 *   2. as a set of bodies, records of a 2-byte big-endian length and that
 *      many bytes (a short last record is dropped), each copied to its own
 *      buffer; the records that parse (whole bodies too, which make the
 *      set mixed) go to fragment_assemble;
 *   3. as a recipe for a round trip: bytes 0-2 give a message length (at
 *      most 3 * FRAG_SHARD_MAX + 99, so that k <= 4 and a run stays fast;
 *      below 256 when byte 0 is even, as most messages are one body),
 *      byte 3 the copies, the rest is repeated to make the message and
 *      says which bodies are lost or repeated; fragment_split, then
 *      fragment_parse and fragment_assemble on what survives.
 *
 * The harness aborts (msg_panic) if
 *   - an accepted body breaks a rule of section 4 (its data outside the
 *     body, k > n, index >= n, k * S shorter than the message, a whole
 *     body of more than FRAG_WHOLE_MAX bytes);
 *   - an assembled message has another length than its fragments say, or
 *     a fragment given is not the shard fec_shard() computes from the
 *     message (assembly promises a consistent set);
 *   - an error does not match the input: FRAG_ERR_TOO_FEW with k or more
 *     distinct indices, FRAG_ERR_MIXED when all parts agree, success with
 *     parts that differ or with fewer than k;
 *   - a round trip with k or more distinct bodies kept does not give the
 *     message back, or one with fewer does not say FRAG_ERR_TOO_FEW.
 *
 * Seeds live in fuzz/corpus/fragment/: whole and fragment bodies, broken
 * ones, and sets of records, written and checked as golden files by
 * tests/check_fragment.c (MIX_WRITE_SEEDS=1 rewrites them). "make
 * fuzz-smoke" runs this harness briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fec.h"
#include "fragment.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS	(2 * FRAG_N_MAX)
#define RT_LEN_MAX	(3 * FRAG_SHARD_MAX + 100)

static void
init_once(void)
{
	static int done;

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-fragment: mcrypto_init failed");
	done = 1;
}

/* dup_exact - a copy of p[0..len) in a buffer of exactly len bytes (1 if len is 0) */
static uint8_t *
dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *q = mem_alloc(len);

	if (len > 0)
		memcpy(q, p, len);
	return q;
}

/* check_body - parse one body; hold an accepted one to fragment.h's promises */
static enum frag_err
check_body(const uint8_t *body, size_t len, struct fragment *f)
{
	enum frag_err err = fragment_parse(body, len, f);

	if (err != FRAG_OK)
		return err;
	if (f->type == FRAG_TYPE_WHOLE) {
		if (f->data != body + FRAG_WHOLE_HEAD || f->data_len != len - FRAG_WHOLE_HEAD ||
		    f->msg_len != f->data_len || f->data_len > FRAG_WHOLE_MAX)
			msg_panic("fuzz-fragment: bad whole body accepted");
		return err;
	}
	if (f->type != FRAG_TYPE_FRAGMENT)
		msg_panic("fuzz-fragment: type %d accepted", f->type);
	if (f->data != body + FRAG_HEAD || f->data_len != len - FRAG_HEAD || len > PKT_BODY_MAX)
		msg_panic("fuzz-fragment: shard outside the body");
	if (f->k < 1 || f->k > FRAG_K_MAX || f->k > f->n || f->n > FRAG_N_MAX || f->index >= f->n)
		msg_panic("fuzz-fragment: k %u, n %u, index %u accepted", f->k, f->n, f->index);
	if (f->msg_len > FRAG_MSG_MAX || (size_t)f->k * f->data_len < f->msg_len ||
	    (f->k > 1 && (size_t)(f->k - 1) * FRAG_SHARD_MAX >= f->msg_len))
		msg_panic("fuzz-fragment: a length that does not add up accepted");
	return err;
}

/* distinct - the number of distinct indices among frags */
static unsigned
distinct(const struct fragment *const *frags, size_t count)
{
	uint8_t seen[256] = { 0 };
	unsigned d = 0;
	size_t i;

	for (i = 0; i < count; i++)
		if (!seen[frags[i]->index & 0xff]++)
			d++;
	return d;
}

/* agree - all of frags are fragments of one message (id, k, n, length) */
static int
agree(const struct fragment *const *frags, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (frags[i]->type != FRAG_TYPE_FRAGMENT || frags[i]->k != frags[0]->k ||
		    frags[i]->n != frags[0]->n || frags[i]->msg_len != frags[0]->msg_len ||
		    memcmp(frags[i]->id, frags[0]->id, FRAG_ID_SIZE) != 0)
			return 0;
	return 1;
}

/*
 * check_assembled - msg is what frags assembled to: each fragment must be
 * the shard the code computes from it.
 */
static void
check_assembled(const struct fragment *const *frags, size_t count, const uint8_t *msg,
    size_t msg_len)
{
	const struct fragment *f = frags[0];
	const uint8_t *data[FRAG_K_MAX];
	uint8_t *padded, *shard, seen[FRAG_N_MAX] = { 0 };
	size_t s = f->data_len, i;
	unsigned j;

	if (msg_len != f->msg_len)
		msg_panic("fuzz-fragment: assembled %zu bytes of a %zu-byte message", msg_len,
		    f->msg_len);
	padded = mem_calloc(f->k, s ? s : 1);
	shard = mem_alloc(s);
	if (msg_len > 0)
		memcpy(padded, msg, msg_len);
	for (j = 0; j < f->k; j++)
		data[j] = padded + j * s;
	for (i = 0; i < count; i++) {
		if (seen[frags[i]->index]++)
			continue;		/* assemble compared repeats byte by byte */
		if (fec_shard(f->k, f->n, frags[i]->index, data, shard, s) != FEC_OK)
			msg_panic("fuzz-fragment: fec_shard refused an accepted fragment");
		if (s > 0 && memcmp(shard, frags[i]->data, s) != 0)
			msg_panic("fuzz-fragment: assembled from parts that do not fit");
	}
	mem_free(shard);
	mem_free(padded);
}

/* assemble - fragment_assemble, its result checked against the parts */
static enum frag_err
assemble(const struct fragment *const *frags, size_t count, uint8_t **msg, size_t *msg_len)
{
	enum frag_err err = fragment_assemble(frags, count, msg, msg_len);
	int same = count > 0 && agree(frags, count);

	switch (err) {
	case FRAG_OK:
		if (!same || distinct(frags, count) < frags[0]->k)
			msg_panic("fuzz-fragment: assembled parts that cannot make a message");
		check_assembled(frags, count, *msg, *msg_len);
		break;
	case FRAG_ERR_TOO_FEW:
		if (count > 0 && (!same || distinct(frags, count) >= frags[0]->k))
			msg_panic("fuzz-fragment: \"not enough parts\" with enough");
		break;
	case FRAG_ERR_MIXED:
		if (same)
			msg_panic("fuzz-fragment: parts of one message called mixed");
		break;
	case FRAG_ERR_INCONSISTENT:
		if (!same)
			msg_panic("fuzz-fragment: mixed parts called inconsistent");
		break;
	default:
		msg_panic("fuzz-fragment: assemble said %s", fragment_strerror(err));
	}
	if (err != FRAG_OK && *msg != NULL)
		msg_panic("fuzz-fragment: a message returned with an error");
	return err;
}

/* check_set - the input as records, the fragments among them assembled */
static void
check_set(const uint8_t *in, size_t size)
{
	uint8_t *bufs[MAX_RECORDS], *msg;
	struct fragment f[MAX_RECORDS];
	const struct fragment *fp[MAX_RECORDS];
	size_t nb = 0, nf = 0, off = 0, l, msg_len, i;

	while (size - off >= 2 && nb < MAX_RECORDS) {
		l = (size_t)in[off] << 8 | in[off + 1];
		off += 2;
		if (l > size - off)
			break;
		bufs[nb] = dup_exact(in + off, l);
		if (check_body(bufs[nb], l, &f[nf]) == FRAG_OK) {
			fp[nf] = &f[nf];
			nf++;
		}
		nb++;
		off += l;
	}
	if (nf > 0 && assemble(fp, nf, &msg, &msg_len) == FRAG_OK)
		mem_free(msg);
	for (i = 0; i < nb; i++)
		mem_free(bufs[i]);
}

/* check_roundtrip - split a message made from the input, lose some bodies, rebuild */
static void
check_roundtrip(const uint8_t *in, size_t size)
{
	static const uint8_t id[FRAG_ID_SIZE] = {
		'f', 'u', 'z', 'z', '-', 'f', 'r', 'a', 'g', 'm', 'e', 'n', 't', '-', 'i', 'd'
	};
	uint8_t *msg, *bodies, *got;
	struct fragment f[MAX_RECORDS];
	const struct fragment *fp[MAX_RECORDS];
	size_t len, blen, count, got_len, nf = 0, i;
	unsigned copies, k, n, have = 0, times, t;
	uint8_t seen[FRAG_N_MAX] = { 0 };
	enum frag_err err;

	if (size < 4)
		return;
	/* byte 0 odd: up to RT_LEN_MAX; even: a cheap short message */
	if (in[0] & 1)
		len = ((size_t)in[0] << 15 | (size_t)in[1] << 8 | in[2]) % (RT_LEN_MAX + 1);
	else
		len = in[2];
	copies = 1 + in[3] % FRAG_COPIES_MAX;
	in += 4;
	size -= 4;
	/* the rest of the input over and over (memcpy: no traced compare per byte) */
	msg = mem_calloc(len ? len : 1, 1);
	for (i = 0; size > 0 && i < len; i += size)
		memcpy(msg + i, in, len - i < size ? len - i : size);
	if (fragment_plan(len, copies, &k, &n) != FRAG_OK)
		msg_panic("fuzz-fragment: no plan for %zu bytes", len);
	if (fragment_split(msg, len, copies, id, &bodies, &blen, &count) != FRAG_OK ||
	    count != n || blen > PKT_BODY_MAX)
		msg_panic("fuzz-fragment: split failed");
	for (i = 0; i < count; i++) {
		/* two bits per body from the input: 0 lost, 1 once, 2 and 3 twice */
		times = size > 0 ? (in[(i / 4) % size] >> (2 * (i % 4))) & 3 : 1;
		if (times == 0)
			continue;
		if (times > 2)
			times = 2;
		for (t = 0; t < times && nf < MAX_RECORDS; t++) {
			if (check_body(bodies + i * blen, blen, &f[nf]) != FRAG_OK)
				msg_panic("fuzz-fragment: a body of split does not parse");
			fp[nf] = &f[nf];
			nf++;
		}
		if (!seen[i]++)
			have++;
	}
	if (n == 1) {
		if (nf > 0 && (f[0].type != FRAG_TYPE_WHOLE || f[0].data_len != len ||
		    (len > 0 && memcmp(f[0].data, msg, len) != 0)))
			msg_panic("fuzz-fragment: whole body round trip");
	} else {
		err = assemble(fp, nf, &got, &got_len);
		if (have >= k && (err != FRAG_OK || got_len != len ||
		    (len > 0 && memcmp(got, msg, len) != 0)))
			msg_panic("fuzz-fragment: %u of k=%u n=%u parts, no message", have, k, n);
		if (have < k && err != FRAG_ERR_TOO_FEW)
			msg_panic("fuzz-fragment: %u of k=%u parts, not \"too few\"", have, k);
		if (err == FRAG_OK)
			mem_free(got);
	}
	mem_free(bodies);
	mem_free(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragment f;
	uint8_t *copy;

	init_once();
	copy = dup_exact(data, size);
	(void)check_body(copy, size, &f);
	mem_free(copy);
	check_set(data, size);
	check_roundtrip(data, size);
	return 0;
}
