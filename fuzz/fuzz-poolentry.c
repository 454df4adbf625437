/*
 * fuzz-poolentry.c - libFuzzer harness for pool_entry_decode() (src/pool.c),
 * the parser of pool entries read back from disk (doc/INTERNALS.md
 * section 2).
 *
 * The input, copied to a buffer of exactly its size (so that
 * AddressSanitizer sees any read past len), is decoded twice:
 *
 *   1. as it is;
 *   2. resealed: if it is long enough to have one, its last 32 bytes are
 *      replaced by the BLAKE2b-256 of the bytes before them, so that
 *      mutations get past the checksum and reach the field checks, not
 *      only the length and checksum checks.
 *
 * The harness aborts (msg_panic) if an accepted entry
 *   - points its data outside the input, or has an address that is not
 *     NUL-terminated within PKT_ADDR_MAX bytes;
 *   - breaks a rule of section 2 that pool.h callers rely on (kind 1..3;
 *     forward and dummy: an address and PKT_SIZE bytes; deliver: no
 *     address and at most PKT_BODY_MAX bytes; times not negative);
 *   - does not encode back to exactly the input bytes: every entry has one
 *     encoding.
 *
 * Seeds live in fuzz/corpus/poolentry/: valid entries of each kind (two
 * forward, three deliver: empty, short and PKT_BODY_MAX bytes, one dummy),
 * written and checked as golden files by tests/check_pool.c
 * (MIX_WRITE_SEEDS=1 rewrites them). "make fuzz-smoke" runs this harness
 * briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mcrypto.h"
#include "pkt.h"
#include "pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[POOL_ENTRY_MAX];

static void
init_once(void)
{
	static int done;

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-poolentry: mcrypto_init failed");
	done = 1;
}

/* check - decode buf and hold an accepted entry to pool.h's promises */
static void
check(const uint8_t *buf, size_t len)
{
	struct pool_entry e;
	size_t alen, n;

	if (pool_entry_decode(buf, len, &e) != POOL_OK)
		return;
	alen = strnlen(e.addr, sizeof e.addr);
	if (alen > PKT_ADDR_MAX)
		msg_panic("fuzz-poolentry: address not terminated");
	if (e.data < buf || e.data_len > len || (size_t)(e.data - buf) > len - e.data_len)
		msg_panic("fuzz-poolentry: data outside the input");
	switch (e.kind) {
	case POOL_FORWARD:
	case POOL_DUMMY:
		if (!pkt_addr_valid(e.addr, alen) || e.data_len != PKT_SIZE)
			msg_panic("fuzz-poolentry: invalid forward or dummy entry accepted");
		break;
	case POOL_DELIVER:
		if (alen != 0 || e.data_len > PKT_BODY_MAX)
			msg_panic("fuzz-poolentry: invalid deliver entry accepted");
		break;
	default:
		msg_panic("fuzz-poolentry: kind %d accepted", (int)e.kind);
	}
	if (e.due < 0 || e.not_before < 0)
		msg_panic("fuzz-poolentry: negative time accepted");
	if (pool_entry_encode(&e, again, &n) != POOL_OK)
		msg_panic("fuzz-poolentry: an accepted entry does not encode");
	if (n != len || memcmp(again, buf, len) != 0)
		msg_panic("fuzz-poolentry: entry does not encode back to its bytes");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	init_once();
	/* malloc(0) may return NULL; one spare byte keeps the pointer valid. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		msg_panic("fuzz-poolentry: out of memory");
	if (size > 0)
		memcpy(copy, data, size);
	check(copy, size);
	if (size >= POOL_SUM_SIZE) {
		mcrypto_hash(copy + size - POOL_SUM_SIZE, POOL_SUM_SIZE, NULL, 0, copy,
		    size - POOL_SUM_SIZE);
		check(copy, size);
	}
	free(copy);
	return 0;
}
