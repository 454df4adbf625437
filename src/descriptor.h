/*
 * descriptor.h - a node's signed descriptor: what senders and other nodes
 * need to use it, signed with its Ed25519 identity key.
 *
 * The format is text, one "keyword value" line per field in a fixed order,
 * ending with the signature line; doc/descriptor-format.md specifies it
 * byte by byte. desc_format() writes it, desc_parse() is the one parser
 * that mixnode and mixmail both use: it checks every field and the
 * signature, and accepts nothing it does not understand.
 *
 * Functions: desc_format(), desc_parse(), desc_key_usable(),
 * desc_strerror().
 */
#ifndef MIX_DESCRIPTOR_H
#define MIX_DESCRIPTOR_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"
#include "pkt.h"

#define DESC_VERSION		1
#define DESC_MAX_SIZE		8192	/* a descriptor longer than this is refused */
#define DESC_NAME_MAX		32
#define DESC_SOFTWARE_MAX	64
#define DESC_MIXING_MAX		32
#define DESC_POLICY_MAX		256
#define DESC_MAX_KEYS		8	/* mix keys listed in one descriptor */

struct desc_mixkey {
	uint8_t pk[32];
	int64_t valid_from;		/* senders use it from ... */
	int64_t valid_until;		/* ... until (exclusive) */
};

struct descriptor {
	char name[DESC_NAME_MAX + 1];		/* [a-z0-9-], 1..32 */
	char address[PKT_ADDR_MAX + 1];		/* pkt_addr_valid() */
	uint8_t identity[MCRYPTO_SIGN_PK_BYTES];
	int64_t published;			/* when it was signed */
	char software[DESC_SOFTWARE_MAX + 1];	/* e.g. "mixmail 0.1.0" */
	int exit;				/* 1: delivers final-hop mail */
	uint64_t max_size;			/* largest mail the node accepts */
	char mixing[DESC_MIXING_MAX + 1];	/* strategy name, e.g. "mixmaster" */
	uint32_t pkt_versions;			/* bit v set: packet version v */
	char exit_policy[DESC_POLICY_MAX + 1];	/* one-line summary */
	size_t nkeys;				/* 1..DESC_MAX_KEYS, sorted by valid_from */
	struct desc_mixkey keys[DESC_MAX_KEYS];
};

enum desc_err {
	DESC_OK = 0,
	DESC_ERR_ARG,		/* the struct given to desc_format is invalid */
	DESC_ERR_SIZE,		/* longer than DESC_MAX_SIZE, or empty */
	DESC_ERR_SYNTAX,	/* a line is malformed, missing, repeated or out of order */
	DESC_ERR_VERSION,	/* unknown descriptor version */
	DESC_ERR_VALUE,		/* a field's value is out of range */
	DESC_ERR_SIGNATURE	/* the signature does not verify */
};

/*
 * desc_format - the signed descriptor text for d, signed with id_sk (whose
 * public half must equal d->identity). *out is malloc'ed and NUL-terminated;
 * *out_len excludes the NUL.
 */
enum desc_err desc_format(const struct descriptor *d, const uint8_t id_sk[64],
    char **out, size_t *out_len) MIX_WUR;

/*
 * desc_parse - parse and verify buf[0..len) into *d (written only on
 * DESC_OK). If line is not NULL it receives the 1-based line of the first
 * problem (0 when not tied to a line).
 */
enum desc_err desc_parse(const char *buf, size_t len, struct descriptor *d,
    unsigned *line) MIX_WUR;

/* desc_key_usable - the key senders should use at now, or NULL */
const struct desc_mixkey *desc_key_usable(const struct descriptor *d, int64_t now);

const char *desc_strerror(enum desc_err e);

#endif
