/*
 * pkt.c - build and unwrap native packets (doc/packet-format.md).
 *
 * Header: version || alpha || beta || gamma. alpha is a fresh X25519 public
 * key for this hop (no blinding: each hop's alpha travels encrypted in the
 * previous hop's routing block, so one scalar multiplication per hop
 * suffices). beta holds PKT_MAX_HOPS routing blocks under a ChaCha20 layer
 * per hop, with the Sphinx filler so that every hop's MAC covers exactly
 * what that hop will see. gamma is a BLAKE2b MAC over version || alpha ||
 * beta. The payload passes through the wide-block cipher (sprp.c) once per
 * hop and carries a zero tag that the exit checks.
 *
 * Functions: pkt_build(), pkt_unwrap(), pkt_addr_valid(), pkt_strerror(),
 * pkt_cmd_name().
 */
#include <config.h>

#include <string.h>

#include "bytes.h"
#include "mcrypto.h"
#include "pkt.h"
#include "sprp.h"

/* Routing block layout */
#define RB_OFF_CMD	0
#define RB_OFF_RSVD	1	/* 3 bytes, zero */
#define RB_OFF_DELAY	4	/* uint32, big-endian seconds */
#define RB_OFF_ALPHA	8	/* FORWARD: next alpha; SURB: id */
#define RB_OFF_GAMMA	40	/* FORWARD: next gamma */
#define RB_OFF_ADDRLEN	72
#define RB_OFF_ADDR	73
#define RB_ADDR_FIELD	(PKT_RB_SIZE - RB_OFF_ADDR)	/* 127 */

#define B	PKT_ROUTING_SIZE
#define S	PKT_RB_SIZE

static const char label[16] = "mixmail-sphinx-1";
static const char kdf_ctx[MCRYPTO_KDF_CTX_BYTES] = { 'm', 'i', 'x', 's', 'p', 'h', 'x', '1' };

enum { KDF_MAC = 1, KDF_HDR = 2, KDF_SPRP_STREAM = 3, KDF_SPRP_HASH = 4,
	KDF_SPRP_BLOCK = 5, KDF_REPLAY = 6 };

struct hopkeys {
	uint8_t mac[32];
	uint8_t hdr[32];
	struct sprp_key sprp;
	uint8_t replay[32];
};

/* derive - the hop's keys from its X25519 shared secret, alpha and pk */
static void
derive(struct hopkeys *k, const uint8_t ss[32], const uint8_t alpha[32],
    const uint8_t pk[32])
{
	uint8_t in[sizeof label + 96], s[32];

	memcpy(in, label, sizeof label);
	memcpy(in + 16, ss, 32);
	memcpy(in + 48, alpha, 32);
	memcpy(in + 80, pk, 32);
	mcrypto_hash(s, sizeof s, NULL, 0, in, sizeof in);
	mcrypto_kdf(k->mac, 32, KDF_MAC, kdf_ctx, s);
	mcrypto_kdf(k->hdr, 32, KDF_HDR, kdf_ctx, s);
	mcrypto_kdf(k->sprp.stream, 32, KDF_SPRP_STREAM, kdf_ctx, s);
	mcrypto_kdf(k->sprp.hash, 16, KDF_SPRP_HASH, kdf_ctx, s);
	mcrypto_kdf(k->sprp.block, 32, KDF_SPRP_BLOCK, kdf_ctx, s);
	mcrypto_kdf(k->replay, 32, KDF_REPLAY, kdf_ctx, s);
	mcrypto_wipe(in, sizeof in);
	mcrypto_wipe(s, sizeof s);
}

/* header_mac - gamma over version || alpha || beta */
static void
header_mac(uint8_t out[32], const uint8_t key[32], const uint8_t *hdr)
{
	mcrypto_hash(out, PKT_MAC_SIZE, key, 32, hdr, PKT_OFF_GAMMA);
}

int
pkt_addr_valid(const char *s, size_t len)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t i, at = len;
	int prev_dot = 1;

	if (len < 3 || len > PKT_ADDR_MAX)
		return 0;
	/* dot-atom "@" dot-atom, RFC 5322 atext only in the local part */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@') {
			if (at != len || prev_dot)
				return 0;
			at = i;
			prev_dot = 1;
			continue;
		}
		if (c == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
			continue;
		}
		prev_dot = 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-')
			continue;
		if (at == len && c != '\0' && strchr(atext, c) != NULL)
			continue;
		return 0;
	}
	return at != len && !prev_dot;
}

/* rb_forward - the routing block telling a hop to forward */
static void
rb_forward(uint8_t rb[S], uint32_t delay, const uint8_t alpha[32],
    const uint8_t gamma[32], const char *addr)
{
	size_t n = strlen(addr);

	memset(rb, 0, S);
	rb[RB_OFF_CMD] = PKT_CMD_FORWARD;
	put_be32(rb + RB_OFF_DELAY, delay);
	memcpy(rb + RB_OFF_ALPHA, alpha, 32);
	memcpy(rb + RB_OFF_GAMMA, gamma, 32);
	rb[RB_OFF_ADDRLEN] = (uint8_t)n;
	memcpy(rb + RB_OFF_ADDR, addr, n);
}

enum pkt_err
pkt_build(uint8_t out[PKT_SIZE], const struct pkt_hop *hops, size_t nhops,
    enum pkt_cmd final_cmd, const uint8_t *body, size_t body_len,
    struct mcrypto_rng *rng)
{
	struct hopkeys keys[PKT_MAX_HOPS];
	uint8_t alpha[PKT_MAX_HOPS][32];
	uint8_t esk[32], ss[32], rb[S], gamma[32];
	uint8_t stream[B + S], filler[B];
	uint8_t *beta = out + PKT_OFF_BETA, *payload = out + PKT_OFF_PAYLOAD;
	size_t i, flen;
	enum pkt_err err = PKT_OK;

	if (nhops < 1 || nhops > PKT_MAX_HOPS || hops == NULL)
		return PKT_ERR_ARG;
	if (final_cmd != PKT_CMD_DELIVER && final_cmd != PKT_CMD_DROP)
		return PKT_ERR_ARG;
	if (body_len > PKT_BODY_MAX || (body_len > 0 && body == NULL))
		return PKT_ERR_ARG;
	for (i = 1; i < nhops; i++)
		if (hops[i].addr == NULL || !pkt_addr_valid(hops[i].addr, strlen(hops[i].addr)))
			return PKT_ERR_ARG;

	/* Ephemeral keys and per-hop secrets, in hop order. */
	for (i = 0; i < nhops; i++) {
		mcrypto_random(rng, esk, sizeof esk);
		mcrypto_x25519_base(alpha[i], esk);
		if (mcrypto_x25519(ss, esk, hops[i].pk) != 0) {
			err = PKT_ERR_POINT;	/* the node's public key is unusable */
			goto out;
		}
		derive(&keys[i], ss, alpha[i], hops[i].pk);
	}

	/* Filler: what hops 0..n-2 shift into the bottom of beta. */
	flen = 0;
	for (i = 0; i + 1 < nhops; i++) {
		memset(stream, 0, sizeof stream);
		mcrypto_chacha20_xor(stream, stream, sizeof stream, keys[i].hdr);
		memset(filler + flen, 0, S);
		flen += S;
		/* filler ^= stream[B + S - flen .. B + S) */
		{
			size_t j;

			for (j = 0; j < flen; j++)
				filler[j] ^= stream[B + S - flen + j];
		}
	}

	/* The last hop's beta: its block, random padding, then the filler. */
	i = nhops - 1;
	memset(rb, 0, S);
	rb[RB_OFF_CMD] = (uint8_t)final_cmd;
	put_be32(rb + RB_OFF_DELAY, hops[i].delay);
	memcpy(beta, rb, S);
	mcrypto_random(rng, beta + S, B - nhops * S);
	mcrypto_chacha20_xor(beta, beta, B - flen, keys[i].hdr);
	memcpy(beta + B - flen, filler, flen);
	out[PKT_OFF_VERSION] = PKT_VERSION;
	memcpy(out + PKT_OFF_ALPHA, alpha[i], 32);
	header_mac(gamma, keys[i].mac, out);

	/* Earlier hops, from the last but one back to the first. */
	while (i-- > 0) {
		rb_forward(rb, hops[i].delay, alpha[i + 1], gamma, hops[i + 1].addr);
		memmove(beta + S, beta, B - S);
		memcpy(beta, rb, S);
		mcrypto_chacha20_xor(beta, beta, B, keys[i].hdr);
		memcpy(out + PKT_OFF_ALPHA, alpha[i], 32);
		header_mac(gamma, keys[i].mac, out);
	}
	memcpy(out + PKT_OFF_GAMMA, gamma, 32);

	/* Payload: zero tag, length, body, zero padding; one SPRP layer a hop. */
	memset(payload, 0, PKT_PAYLOAD_SIZE);
	payload[PKT_ZERO_TAG_SIZE] = (uint8_t)(body_len >> 8);
	payload[PKT_ZERO_TAG_SIZE + 1] = (uint8_t)body_len;
	if (body_len > 0)
		memcpy(payload + PKT_ZERO_TAG_SIZE + 2, body, body_len);
	for (i = nhops; i-- > 0;) {
		if (sprp_encrypt(payload, PKT_PAYLOAD_SIZE, &keys[i].sprp) != 0) {
			err = PKT_ERR_CRYPTO;
			goto out;
		}
	}

out:
	mcrypto_wipe(keys, sizeof keys);
	mcrypto_wipe(esk, sizeof esk);
	mcrypto_wipe(ss, sizeof ss);
	mcrypto_wipe(stream, sizeof stream);
	if (err != PKT_OK)
		mcrypto_wipe(out, PKT_SIZE);
	return err;
}

/* parse_rb - check an authenticated routing block and fill res */
static enum pkt_err
parse_rb(const uint8_t rb[S], struct pkt_result *res)
{
	size_t alen;

	if (!mcrypto_is_zero(rb + RB_OFF_RSVD, 3))
		return PKT_ERR_ROUTING;
	res->delay = get_be32(rb + RB_OFF_DELAY);
	switch (rb[RB_OFF_CMD]) {
	case PKT_CMD_FORWARD:
		alen = rb[RB_OFF_ADDRLEN];
		if (alen > RB_ADDR_FIELD ||
		    !pkt_addr_valid((const char *)rb + RB_OFF_ADDR, alen) ||
		    !mcrypto_is_zero(rb + RB_OFF_ADDR + alen, RB_ADDR_FIELD - alen))
			return PKT_ERR_ROUTING;
		memcpy(res->next_addr, rb + RB_OFF_ADDR, alen);
		res->next_addr[alen] = '\0';
		res->cmd = PKT_CMD_FORWARD;
		return PKT_OK;
	case PKT_CMD_DELIVER:
	case PKT_CMD_DROP:
		if (!mcrypto_is_zero(rb + RB_OFF_ALPHA, S - RB_OFF_ALPHA))
			return PKT_ERR_ROUTING;
		res->cmd = (enum pkt_cmd)rb[RB_OFF_CMD];
		return PKT_OK;
	case PKT_CMD_SURB:
		return PKT_ERR_UNSUPPORTED;
	default:
		return PKT_ERR_ROUTING;
	}
}

enum pkt_err
pkt_unwrap(const uint8_t *in, size_t in_len, const struct pkt_key *keys,
    size_t nkeys, struct pkt_result *res, uint8_t out[PKT_SIZE])
{
	struct hopkeys k;
	uint8_t ss[32], mac[32], beta[B + S];
	uint8_t *payload;
	size_t i, blen;
	enum pkt_err err;
	int opened = 0, bad_point = 0;

	if (in == NULL || keys == NULL || res == NULL || out == NULL)
		return PKT_ERR_ARG;
	memset(res, 0, sizeof *res);
	if (in_len != PKT_SIZE)
		return PKT_ERR_SIZE;
	if (in[PKT_OFF_VERSION] != PKT_VERSION)
		return PKT_ERR_VERSION;

	/* Trial decryption: the header names no key, so try each live one. */
	for (i = 0; i < nkeys && !opened; i++) {
		if (mcrypto_x25519(ss, keys[i].sk, in + PKT_OFF_ALPHA) != 0) {
			bad_point = 1;
			break;
		}
		derive(&k, ss, in + PKT_OFF_ALPHA, keys[i].pk);
		header_mac(mac, k.mac, in);
		if (mcrypto_equal(mac, in + PKT_OFF_GAMMA, PKT_MAC_SIZE)) {
			opened = 1;
			res->key_index = i;
		}
	}
	mcrypto_wipe(ss, sizeof ss);
	if (!opened) {
		err = bad_point ? PKT_ERR_POINT : PKT_ERR_MAC;
		goto out;
	}
	memcpy(res->replay_tag, k.replay, sizeof res->replay_tag);

	/* Decrypt beta extended by one zero block; the first block is ours. */
	memcpy(beta, in + PKT_OFF_BETA, B);
	memset(beta + B, 0, S);
	mcrypto_chacha20_xor(beta, beta, sizeof beta, k.hdr);
	if ((err = parse_rb(beta, res)) != PKT_OK)
		goto out;

	switch (res->cmd) {
	case PKT_CMD_FORWARD:
		out[PKT_OFF_VERSION] = PKT_VERSION;
		memcpy(out + PKT_OFF_ALPHA, beta + RB_OFF_ALPHA, 32);
		memcpy(out + PKT_OFF_BETA, beta + S, B);
		memcpy(out + PKT_OFF_GAMMA, beta + RB_OFF_GAMMA, 32);
		payload = out + PKT_OFF_PAYLOAD;
		memcpy(payload, in + PKT_OFF_PAYLOAD, PKT_PAYLOAD_SIZE);
		if (sprp_decrypt(payload, PKT_PAYLOAD_SIZE, &k.sprp) != 0) {
			err = PKT_ERR_CRYPTO;
			goto out;
		}
		res->out_len = PKT_SIZE;
		break;
	case PKT_CMD_DELIVER:
		memcpy(out, in + PKT_OFF_PAYLOAD, PKT_PAYLOAD_SIZE);
		if (sprp_decrypt(out, PKT_PAYLOAD_SIZE, &k.sprp) != 0) {
			err = PKT_ERR_CRYPTO;
			goto out;
		}
		if (!mcrypto_is_zero(out, PKT_ZERO_TAG_SIZE)) {
			err = PKT_ERR_TAG;
			goto out;
		}
		blen = (size_t)out[PKT_ZERO_TAG_SIZE] << 8 | out[PKT_ZERO_TAG_SIZE + 1];
		if (blen > PKT_BODY_MAX ||
		    !mcrypto_is_zero(out + PKT_ZERO_TAG_SIZE + 2 + blen,
		    PKT_PAYLOAD_SIZE - PKT_ZERO_TAG_SIZE - 2 - blen)) {
			err = PKT_ERR_BODY;
			goto out;
		}
		memmove(out, out + PKT_ZERO_TAG_SIZE + 2, blen);
		res->out_len = blen;
		break;
	case PKT_CMD_DROP:
		res->out_len = 0;
		break;
	default:
		err = PKT_ERR_ROUTING;
		goto out;
	}
	err = PKT_OK;

out:
	mcrypto_wipe(&k, sizeof k);
	mcrypto_wipe(beta, sizeof beta);
	if (err != PKT_OK) {
		uint8_t tag[PKT_REPLAY_TAG_SIZE];

		/* Keep the replay tag if the header opened: callers may count it. */
		memcpy(tag, res->replay_tag, sizeof tag);
		memset(res, 0, sizeof *res);
		if (opened)
			memcpy(res->replay_tag, tag, sizeof tag);
	}
	return err;
}

const char *
pkt_strerror(enum pkt_err err)
{
	switch (err) {
	case PKT_OK:		return "ok";
	case PKT_ERR_ARG:	return "invalid argument";
	case PKT_ERR_SIZE:	return "wrong packet size";
	case PKT_ERR_VERSION:	return "unknown packet version";
	case PKT_ERR_POINT:	return "invalid public key in header";
	case PKT_ERR_MAC:	return "header authentication failed (tampered, or no matching key)";
	case PKT_ERR_ROUTING:	return "malformed routing block";
	case PKT_ERR_UNSUPPORTED: return "unsupported routing command";
	case PKT_ERR_TAG:	return "payload integrity check failed";
	case PKT_ERR_BODY:	return "malformed payload body";
	case PKT_ERR_CRYPTO:	return "cryptographic primitive failed";
	}
	return "unknown error";
}

const char *
pkt_cmd_name(enum pkt_cmd cmd)
{
	switch (cmd) {
	case PKT_CMD_FORWARD:	return "forward";
	case PKT_CMD_DELIVER:	return "deliver";
	case PKT_CMD_DROP:	return "drop";
	case PKT_CMD_SURB:	return "reply-block";
	}
	return "unknown";
}
