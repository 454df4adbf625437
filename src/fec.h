/*
 * fec.h - a systematic erasure code over GF(2^8): k data shards become n
 * shards, any k of which give the data back.
 *
 * Shard i < k is data shard i itself; shard i >= k is parity, the sum over
 * j < k of G[i][j] * data[j] with G[i][j] = 1 / (i XOR j) in GF(2^8)
 * (polynomial x^8 + x^4 + x^3 + x^2 + 1). The parity rows form a Cauchy
 * matrix, so every k rows of the generator are independent (MDS).
 * doc/body-format.md section 5 derives the construction.
 *
 * All shards of one code word have the same length, which may be 0. The
 * arithmetic uses log/exp tables indexed by the data: its timing depends
 * on the bytes coded, which are message bytes the exit reads anyway; never
 * use this module on keys.
 *
 * No function allocates except fec_decode (mem_alloc: out of memory is
 * fatal), none logs, none exits on bad input.
 *
 * Functions: fec_gf_mul(), fec_gf_inv(), fec_shard(), fec_encode(),
 * fec_decode(), fec_strerror().
 */
#ifndef MIX_FEC_H
#define MIX_FEC_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"

#define FEC_N_MAX	255	/* 1 <= k <= n <= FEC_N_MAX */

enum fec_err {
	FEC_OK = 0,
	FEC_ERR_ARG,		/* k, n or an index out of range, a NULL buffer */
	FEC_ERR_TOO_FEW,	/* decode: fewer than k shards given */
	FEC_ERR_DUPLICATE	/* decode: a shard index given twice */
};

/* fec_gf_mul - a * b in GF(2^8) */
uint8_t fec_gf_mul(uint8_t a, uint8_t b);
/* fec_gf_inv - the inverse of a != 0; 0 for a == 0 */
uint8_t fec_gf_inv(uint8_t a);

/*
 * fec_shard - shard number index (0 <= index < n) of the code word whose
 * data shards are data[0..k), into out (len bytes; not one of data[]).
 */
enum fec_err fec_shard(unsigned k, unsigned n, unsigned index, const uint8_t *const *data,
    uint8_t *out, size_t len) MIX_WUR;

/* fec_encode - the n - k parity shards of data[0..k) into parity[0..n-k) */
enum fec_err fec_encode(unsigned k, unsigned n, const uint8_t *const *data,
    uint8_t *const *parity, size_t len) MIX_WUR;

/*
 * fec_decode - the k data shards, into data[0..k) (len bytes each), from
 * count shards: shards[i] is shard number index[i]. At least k distinct
 * indices below n are needed (FEC_ERR_TOO_FEW otherwise, FEC_ERR_DUPLICATE
 * if one repeats); the data shards among them are used first, extra
 * shards are ignored. data[j] may be the very buffer given as shard j; no
 * other overlap is allowed. On error data[] is unchanged.
 */
enum fec_err fec_decode(unsigned k, unsigned n, const uint8_t *const *shards,
    const unsigned *index, size_t count, uint8_t *const *data, size_t len) MIX_WUR;

const char *fec_strerror(enum fec_err err);

#endif
