/*
 * pkt.h - the native packet format (Sphinx-style, version 1).
 *
 * One packet is PKT_SIZE bytes at every hop. A sender builds it for a path
 * of up to PKT_MAX_HOPS nodes; each node unwraps exactly one layer with its
 * X25519 mix key and learns only its command: forward to the next address,
 * deliver the body, or drop (a dummy). doc/packet-format.md is the
 * byte-by-byte specification; this header mirrors its constants.
 *
 * Functions: pkt_build(), pkt_unwrap(), pkt_addr_valid(), pkt_strerror(),
 * pkt_cmd_name().
 */
#ifndef MIX_PKT_H
#define MIX_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"

#define PKT_VERSION		1
#define PKT_SIZE		20480
#define PKT_MAX_HOPS		16
#define PKT_RB_SIZE		200	/* one hop's routing block */
#define PKT_ROUTING_SIZE	(PKT_MAX_HOPS * PKT_RB_SIZE)		/* beta: 3200 */
#define PKT_ALPHA_SIZE		32	/* X25519 public key of this hop */
#define PKT_MAC_SIZE		32	/* gamma: BLAKE2b-256 keyed */
#define PKT_HEADER_SIZE		(1 + PKT_ALPHA_SIZE + PKT_ROUTING_SIZE + PKT_MAC_SIZE) /* 3265 */
#define PKT_PAYLOAD_SIZE	(PKT_SIZE - PKT_HEADER_SIZE)		/* 17215 */
#define PKT_ZERO_TAG_SIZE	32	/* checked at the exit */
#define PKT_BODY_MAX		(PKT_PAYLOAD_SIZE - PKT_ZERO_TAG_SIZE - 2)	/* 17181 */
#define PKT_ADDR_MAX		127	/* longest next-hop address */
#define PKT_REPLAY_TAG_SIZE	32
#define PKT_SURB_ID_SIZE	16

/* Offsets in a packet */
#define PKT_OFF_VERSION		0
#define PKT_OFF_ALPHA		1
#define PKT_OFF_BETA		(PKT_OFF_ALPHA + PKT_ALPHA_SIZE)	/* 33 */
#define PKT_OFF_GAMMA		(PKT_OFF_BETA + PKT_ROUTING_SIZE)	/* 3233 */
#define PKT_OFF_PAYLOAD		PKT_HEADER_SIZE				/* 3265 */

/* Commands in a routing block */
enum pkt_cmd {
	PKT_CMD_FORWARD = 1,	/* send the unwrapped packet to next_addr */
	PKT_CMD_DELIVER = 2,	/* exit: the body is the message */
	PKT_CMD_DROP = 3,	/* a dummy ends here */
	PKT_CMD_SURB = 4	/* reply block end (reserved; not yet handled) */
};

enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_ARG,		/* caller passed bad arguments */
	PKT_ERR_SIZE,		/* input is not exactly PKT_SIZE bytes */
	PKT_ERR_VERSION,	/* unknown version byte */
	PKT_ERR_POINT,		/* alpha is a low-order point */
	PKT_ERR_MAC,		/* no key opened the header: tampered or not ours */
	PKT_ERR_ROUTING,	/* authenticated routing block is malformed */
	PKT_ERR_UNSUPPORTED,	/* command known but not supported here */
	PKT_ERR_TAG,		/* exit: payload zero tag wrong (tampered payload) */
	PKT_ERR_BODY,		/* exit: body length or padding malformed */
	PKT_ERR_CRYPTO		/* a primitive failed (environment trouble) */
};

/* A node on the sender's path */
struct pkt_hop {
	uint8_t pk[32];		/* the node's X25519 mix public key */
	const char *addr;	/* its mail address (unused for hop 0) */
	uint32_t delay;		/* seconds it holds the packet (continuous mixing) */
};

/* A node's mix key, as given to pkt_unwrap (keep it in secret memory) */
struct pkt_key {
	uint8_t sk[32];
	uint8_t pk[32];
};

/* What one hop learns */
struct pkt_result {
	enum pkt_cmd cmd;
	size_t key_index;			/* which of the keys opened it */
	uint32_t delay;				/* seconds to hold it */
	uint8_t replay_tag[PKT_REPLAY_TAG_SIZE];
	char next_addr[PKT_ADDR_MAX + 1];	/* FORWARD only */
	size_t out_len;		/* FORWARD: PKT_SIZE; DELIVER: body length; DROP: 0 */
};

/*
 * pkt_build - wrap body for the path hops[0..nhops-1]; the last hop gets
 * final_cmd (PKT_CMD_DELIVER or PKT_CMD_DROP). rng is NULL except for
 * known-answer vectors. Writes PKT_SIZE bytes to out.
 */
enum pkt_err pkt_build(uint8_t out[PKT_SIZE], const struct pkt_hop *hops, size_t nhops,
    enum pkt_cmd final_cmd, const uint8_t *body, size_t body_len,
    struct mcrypto_rng *rng) MIX_WUR;

/*
 * pkt_unwrap - peel one layer of in[0..in_len) with the first of keys[]
 * that opens it. On PKT_OK, res says what to do and out holds the next
 * packet (FORWARD) or the body (DELIVER). out must hold PKT_SIZE bytes.
 * Never reads past in_len; on error out's contents are unspecified.
 */
enum pkt_err pkt_unwrap(const uint8_t *in, size_t in_len, const struct pkt_key *keys,
    size_t nkeys, struct pkt_result *res, uint8_t out[PKT_SIZE]) MIX_WUR;

/* pkt_addr_valid - 1 if s (len bytes) is an address a routing block may carry */
int pkt_addr_valid(const char *s, size_t len);

const char *pkt_strerror(enum pkt_err err);
const char *pkt_cmd_name(enum pkt_cmd cmd);

#endif
