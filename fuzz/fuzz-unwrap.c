/*
 * fuzz-unwrap.c - libFuzzer harness for pkt_unwrap() (src/pkt.c).
 *
 * The first input byte chooses a mode:
 *
 *   even: raw.   The rest of the input, copied to a buffer of exactly its
 *                size (so that AddressSanitizer sees any read past in_len),
 *                is unwrapped as one packet with node key 0. This exercises
 *                the size, version, point and MAC checks; random bytes
 *                almost never get past the MAC.
 *   odd:  build. To get past the MAC, a valid packet is built for a short
 *                path whose first hop is node key 0, from a deterministic
 *                generator seeded with a hash of the whole input. The rest
 *                of the input is a list of 4-byte mutations
 *                (hop, offset high, offset low, xor) applied to the packet
 *                just before that hop unwraps it, as a tagging attacker on
 *                a link would. The packet is then unwrapped hop by hop.
 *
 *   mode byte of a build input: bit 0 set, bits 1-2 path length - 1,
 *   bit 3 final command DROP instead of DELIVER, bits 4-7 index into
 *   body_lens[].
 *
 * In build mode the harness aborts (msg_panic) if
 *   - an unaltered packet fails anywhere, or reaches the exit with another
 *     command, address, delay or body than was built (a correctness bug);
 *   - an altered packet is delivered at all: the tagging property. Every
 *     byte of the header is under the hop's MAC and the payload goes through
 *     a wide-block cipher checked by the zero tag at the exit, so an altered
 *     packet must never deliver any message, least of all an altered one.
 *
 * Node keys are derived like tests/testutil.c tu_node_key(): key i is the
 * deterministic generator's stream for seed 0x6b, i, 0, ...
 *
 * Seeds live in fuzz/corpus/unwrap/: a valid raw packet for key 0, short
 * raw garbage, and build inputs for each path length with and without
 * mutations. "make fuzz-smoke" runs this harness briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mcrypto.h"
#include "pkt.h"

#define MAX_PATH	4	/* build mode paths: 1..4 hops */
#define MUT_SIZE	4	/* hop, offset high, offset low, xor */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t body_lens[16] = {
	0, 1, 2, 31, 32, 33, 100, 255, 256, 257, 1000, 4096,
	PKT_BODY_MAX - 256, PKT_BODY_MAX - 2, PKT_BODY_MAX - 1, PKT_BODY_MAX
};

static struct pkt_key keys[MAX_PATH];
static struct pkt_hop hops[MAX_PATH];
static char addrs[MAX_PATH][32];

/* node_key - key i, as tests/testutil.c tu_node_key() derives it */
static void
node_key(struct pkt_key *k, unsigned i)
{
	uint8_t seed[32];
	struct mcrypto_rng rng;

	memset(seed, 0, sizeof seed);
	seed[0] = 0x6b;
	seed[1] = (uint8_t)i;
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, k->sk, sizeof k->sk);
	mcrypto_x25519_base(k->pk, k->sk);
}

/* init_once - libraries and the fixed path, on the first input */
static void
init_once(void)
{
	static int done;
	unsigned i;

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-unwrap: mcrypto_init failed");
	for (i = 0; i < MAX_PATH; i++) {
		node_key(&keys[i], i);
		memcpy(hops[i].pk, keys[i].pk, sizeof hops[i].pk);
		/* Fixed-width names: the address never overflows addrs[i]. */
		memcpy(addrs[i], "node0@mix0.test", sizeof "node0@mix0.test");
		addrs[i][4] = addrs[i][9] = (char)('0' + i);
		hops[i].addr = addrs[i];
		hops[i].delay = 60 * i + 7;
	}
	done = 1;
}

/* check_result - invariants of any successful unwrap */
static void
check_result(const struct pkt_result *res, const uint8_t *out)
{
	switch (res->cmd) {
	case PKT_CMD_FORWARD:
		if (res->out_len != PKT_SIZE || out[PKT_OFF_VERSION] != PKT_VERSION ||
		    !pkt_addr_valid(res->next_addr, strlen(res->next_addr)))
			msg_panic("fuzz-unwrap: bad forward result");
		break;
	case PKT_CMD_DELIVER:
		if (res->out_len > PKT_BODY_MAX)
			msg_panic("fuzz-unwrap: body length %zu", res->out_len);
		break;
	case PKT_CMD_DROP:
		if (res->out_len != 0)
			msg_panic("fuzz-unwrap: drop with output");
		break;
	default:
		msg_panic("fuzz-unwrap: command %d returned", (int)res->cmd);
	}
	if (res->key_index != 0)
		msg_panic("fuzz-unwrap: key index %zu of 1 key", res->key_index);
}

/* fuzz_raw - the input as one packet for key 0 */
static void
fuzz_raw(const uint8_t *data, size_t size)
{
	struct pkt_result res;
	uint8_t *in, *out;

	/* malloc(0) may return NULL; one spare byte keeps the pointer valid. */
	if ((in = malloc(size ? size : 1)) == NULL || (out = malloc(PKT_SIZE)) == NULL)
		msg_panic("fuzz-unwrap: out of memory");
	if (size > 0)
		memcpy(in, data, size);
	if (pkt_unwrap(in, size, &keys[0], 1, &res, out) == PKT_OK)
		check_result(&res, out);
	free(in);
	free(out);
}

/* fuzz_build - a valid packet, mutated in transit, through every hop */
static void
fuzz_build(uint8_t mode, const uint8_t *data, size_t size, const uint8_t *muts,
    size_t nmut)
{
	size_t nhops = 1 + ((mode >> 1) & 3), blen = body_lens[mode >> 4];
	enum pkt_cmd final = (mode & 8) ? PKT_CMD_DROP : PKT_CMD_DELIVER;
	struct mcrypto_rng rng;
	struct pkt_result res;
	uint8_t seed[32], *body, *pkt, *out, *before;
	size_t h, m;
	int altered = 0;
	enum pkt_err err;

	body = malloc(blen ? blen : 1);
	pkt = malloc(PKT_SIZE);
	out = malloc(PKT_SIZE);
	before = malloc(PKT_SIZE);
	if (body == NULL || pkt == NULL || out == NULL || before == NULL)
		msg_panic("fuzz-unwrap: out of memory");

	mcrypto_hash(seed, sizeof seed, NULL, 0, data, size);
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, body, blen);
	if (pkt_build(pkt, hops, nhops, final, body, blen, &rng) != PKT_OK)
		msg_panic("fuzz-unwrap: pkt_build failed");

	for (h = 0; h < nhops; h++) {
		/* The attacker's turn on the link into hop h. */
		memcpy(before, pkt, PKT_SIZE);
		for (m = 0; m < nmut; m++) {
			const uint8_t *u = muts + m * MUT_SIZE;

			if (u[0] % nhops == h)
				pkt[((size_t)u[1] << 8 | u[2]) % PKT_SIZE] ^= u[3];
		}
		if (memcmp(before, pkt, PKT_SIZE) != 0)
			altered = 1;

		err = pkt_unwrap(pkt, PKT_SIZE, &keys[h], 1, &res, out);
		if (err != PKT_OK) {
			if (!altered)
				msg_panic("fuzz-unwrap: honest packet failed at hop %zu of %zu: %s",
				    h, nhops, pkt_strerror(err));
			break;
		}
		check_result(&res, out);
		if (altered) {
			/* Forwarding garbage is fine; delivering anything is not. */
			if (res.cmd == PKT_CMD_DELIVER)
				msg_panic("fuzz-unwrap: altered packet delivered a%s body at hop %zu",
				    res.out_len == blen && memcmp(out, body, blen) == 0 ?
				    "n unaltered" : "n ALTERED", h);
			if (res.cmd != PKT_CMD_FORWARD)
				break;
			memcpy(pkt, out, PKT_SIZE);
			continue;
		}
		if (res.delay != hops[h].delay)
			msg_panic("fuzz-unwrap: delay %u at hop %zu", res.delay, h);
		if (h + 1 < nhops) {
			if (res.cmd != PKT_CMD_FORWARD || strcmp(res.next_addr, hops[h + 1].addr) != 0)
				msg_panic("fuzz-unwrap: hop %zu did not forward to the next hop", h);
			memcpy(pkt, out, PKT_SIZE);
			continue;
		}
		if (res.cmd != final)
			msg_panic("fuzz-unwrap: exit says %s, built %s",
			    pkt_cmd_name(res.cmd), pkt_cmd_name(final));
		if (final == PKT_CMD_DELIVER &&
		    (res.out_len != blen || memcmp(out, body, blen) != 0))
			msg_panic("fuzz-unwrap: exit delivered a different body");
	}
	free(body);
	free(pkt);
	free(out);
	free(before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0) {
		fuzz_raw(data, 0);
		return 0;
	}
	if ((data[0] & 1) == 0)
		fuzz_raw(data + 1, size - 1);
	else
		fuzz_build(data[0], data, size, data + 1, (size - 1) / MUT_SIZE);
	return 0;
}
