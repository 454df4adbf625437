/*
 * kat-gen - print the known-answer vectors of the packet format.
 *
 * Usage: tests/kat-gen > tests/vectors/pkt-v1.kat   (or: make vectors)
 *
 * Everything is deterministic: node secret keys and the sender's
 * randomness come from fixed 32-byte seeds through the ChaCha20 generator
 * of mcrypto_random (doc/packet-format.md, section 12). The output is a
 * text file of "name = value" lines in records opened by "[kind]" lines;
 * tests/check_kat.c reads it back, rebuilds every packet from the same
 * seeds (the bytes must match) and unwraps the stored bytes hop by hop
 * (the results must match). Regenerate only for an intended format change.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcrypto.h"
#include "pkt.h"
#include "sprp.h"

static void
put_hex(const char *name, const uint8_t *p, size_t len)
{
	char *hex = malloc(2 * len + 1);

	if (hex == NULL)
		exit(1);
	mcrypto_hex(hex, p, len);
	printf("%s = %s\n", name, hex);
	free(hex);
}

static void
put_digest(const char *name, const uint8_t *p, size_t len)
{
	uint8_t d[32];

	mcrypto_hash(d, sizeof d, NULL, 0, p, len);
	put_hex(name, d, sizeof d);
}

static void
seed_of(uint8_t seed[32], const char *label)
{
	mcrypto_hash(seed, 32, NULL, 0, (const uint8_t *)label, strlen(label));
}

/* sprp_vector - one wide-block cipher vector; full bytes up to 256 */
static void
sprp_vector(const char *name, size_t len)
{
	struct mcrypto_rng rng;
	struct sprp_key k;
	uint8_t seed[32], *buf = malloc(len), kb[80];

	seed_of(seed, name);
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, k.stream, sizeof k.stream);
	mcrypto_random(&rng, k.hash, sizeof k.hash);
	mcrypto_random(&rng, k.block, sizeof k.block);
	mcrypto_random(&rng, buf, len);
	memcpy(kb, k.stream, 32);
	memcpy(kb + 32, k.hash, 16);
	memcpy(kb + 48, k.block, 32);
	printf("[sprp]\nname = %s\nlength = %zu\n", name, len);
	put_hex("key", kb, sizeof kb);
	if (len <= 256)
		put_hex("plaintext", buf, len);
	else
		put_hex("plaintext.seed", seed, 32);
	if (sprp_encrypt(buf, len, &k) != 0)
		exit(1);
	if (len <= 256)
		put_hex("ciphertext", buf, len);
	else
		put_digest("ciphertext.blake2b", buf, len);
	printf("\n");
	free(buf);
}

/* packet_vector - build a packet, then unwrap it hop by hop */
static void
packet_vector(const char *name, size_t nhops, enum pkt_cmd final, size_t body_len,
    int full_outputs)
{
	struct pkt_hop hops[PKT_MAX_HOPS];
	struct pkt_key keys[PKT_MAX_HOPS];
	struct pkt_result res;
	struct mcrypto_rng rng;
	char addrs[PKT_MAX_HOPS][64], field[64], label[128];
	uint8_t seed[32], *body = malloc(body_len + 1);
	uint8_t *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);
	size_t i;
	enum pkt_err err;

	printf("[packet]\nname = %s\nhops = %zu\nfinal = %s\n", name, nhops, pkt_cmd_name(final));
	for (i = 0; i < nhops; i++) {
		snprintf(label, sizeof label, "%s node %zu", name, i);
		seed_of(seed, label);
		mcrypto_rng_seed(&rng, seed);
		mcrypto_random(&rng, keys[i].sk, 32);
		mcrypto_x25519_base(keys[i].pk, keys[i].sk);
		memcpy(hops[i].pk, keys[i].pk, 32);
		snprintf(addrs[i], sizeof addrs[i], "hop%zu@node%zu.example", i, i);
		hops[i].addr = addrs[i];
		hops[i].delay = (uint32_t)(i * 300 + 7);
		snprintf(field, sizeof field, "hop.%zu.sk", i);
		put_hex(field, keys[i].sk, 32);
		snprintf(field, sizeof field, "hop.%zu.pk", i);
		put_hex(field, keys[i].pk, 32);
		printf("hop.%zu.addr = %s\nhop.%zu.delay = %u\n", i, addrs[i], i,
		    (unsigned)hops[i].delay);
	}
	snprintf(label, sizeof label, "%s body", name);
	seed_of(seed, label);
	mcrypto_rng_seed(&rng, seed);
	for (i = 0; i < body_len; i++) {	/* printable text, lines of 64 */
		uint8_t b;

		mcrypto_random(&rng, &b, 1);
		body[i] = (i % 65 == 64) ? '\n' : (uint8_t)('a' + b % 26);
	}
	put_hex("body", body, body_len);

	snprintf(label, sizeof label, "%s sender", name);
	seed_of(seed, label);
	put_hex("rng.seed", seed, 32);
	mcrypto_rng_seed(&rng, seed);
	if (pkt_build(pkt, hops, nhops, final, body, body_len, &rng) != PKT_OK)
		exit(1);
	put_hex("packet", pkt, PKT_SIZE);

	for (i = 0; i < nhops; i++) {
		err = pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out);
		if (err != PKT_OK)
			exit(1);
		printf("unwrap.%zu.cmd = %s\nunwrap.%zu.delay = %u\n", i, pkt_cmd_name(res.cmd), i,
		    (unsigned)res.delay);
		snprintf(field, sizeof field, "unwrap.%zu.replay", i);
		put_hex(field, res.replay_tag, sizeof res.replay_tag);
		if (res.cmd == PKT_CMD_FORWARD) {
			printf("unwrap.%zu.next = %s\n", i, res.next_addr);
			snprintf(field, sizeof field, full_outputs ? "unwrap.%zu.out" :
			    "unwrap.%zu.out.blake2b", i);
			if (full_outputs)
				put_hex(field, out, PKT_SIZE);
			else
				put_digest(field, out, PKT_SIZE);
			memcpy(pkt, out, PKT_SIZE);
		} else if (res.cmd == PKT_CMD_DELIVER) {
			printf("unwrap.%zu.body_length = %zu\n", i, res.out_len);
		}
	}
	printf("\n");
	free(body);
	free(pkt);
	free(out);
}

int
main(void)
{
	if (mcrypto_init() != 0)
		return 1;
	printf("# mixmail packet format version 1: known-answer vectors.\n"
	    "# Generated by tests/kat-gen (make vectors); checked by tests/check_kat.\n"
	    "# Specification: doc/packet-format.md. Do not edit by hand.\n\n");
	sprp_vector("sprp-32", 32);
	sprp_vector("sprp-33", 33);
	sprp_vector("sprp-200", 200);
	sprp_vector("sprp-payload", PKT_PAYLOAD_SIZE);
	packet_vector("one-hop-deliver", 1, PKT_CMD_DELIVER, 12, 1);
	packet_vector("three-hop-deliver", 3, PKT_CMD_DELIVER, 700, 1);
	packet_vector("two-hop-drop", 2, PKT_CMD_DROP, 0, 1);
	packet_vector("max-hop-deliver", PKT_MAX_HOPS, PKT_CMD_DELIVER, PKT_BODY_MAX, 0);
	return 0;
}
