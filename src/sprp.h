/*
 * sprp.h - the wide-block cipher over a packet's payload.
 *
 * A strong pseudorandom permutation on the whole buffer: change any bit of
 * the input and every bit of the output changes unpredictably. It is the
 * HBSH (hash, block, stream, hash) construction of Crowley and Biggs in its
 * HPolyC instance, with XChaCha20 as the stream cipher and an empty tweak:
 * Poly1305 (s = 0) as the almost-delta-universal hash, AES-256 on one
 * 16-byte block, XChaCha20 over the rest. doc/packet-format.md section 6
 * specifies it byte by byte and explains the choice.
 */
#ifndef MIX_SPRP_H
#define MIX_SPRP_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"

#define SPRP_MIN_LEN	32	/* at least 16 bytes beside the 16-byte block */

struct sprp_key {
	uint8_t stream[32];	/* XChaCha20 key */
	uint8_t hash[16];	/* Poly1305 r */
	uint8_t block[32];	/* AES-256 key */
};

/* sprp_encrypt, sprp_decrypt - in place; 0 on success, -1 on bad length */
int sprp_encrypt(uint8_t *buf, size_t len, const struct sprp_key *key) MIX_WUR;
int sprp_decrypt(uint8_t *buf, size_t len, const struct sprp_key *key) MIX_WUR;

#endif
