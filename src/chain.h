/*
 * chain.h - choosing the nodes one message goes through, their mix keys
 * and their delays.
 *
 * Input: the loaded nodes (nodedb_load), a chain spec, the destinations
 * and size of the message, the time, and optionally each node's measured
 * reliability and latency with limits. Output: per hop the node's index,
 * and a struct pkt_hop (usable mix key, address, delay) ready for
 * pkt_build. Hop 1 (index 0) is the node the sender mails; the last hop
 * is the exit.
 *
 * A spec is a list of hops, each a node name or "*" (random), or a hop
 * count for a chain of random hops (spec NULL). 1 to CHAIN_MAX_HOPS hops.
 *
 * Rules, for every hop:
 *   - the node has a mix key usable now (desc_key_usable) and takes
 *     packet version PKT_VERSION;
 *   - no node twice within CHAIN_DISTANCE hops: hops i and i+1, and i and
 *     i+2, are different nodes. Two descriptors are the same node when
 *     they have the same identity key or the same address (ASCII case
 *     ignored), and so on transitively: one operator renamed, or re-keyed
 *     without forgetting the old descriptor, is still one node;
 *   - statistics, when given (stats not NULL, one entry per node): a node
 *     whose entry is known must have reliability >= min_reliability and,
 *     if max_latency is not 0, latency <= max_latency. A node with unknown
 *     statistics passes: a new node has none, and refusing it would make
 *     the network smaller for everyone who has no pinger.
 * And for the exit of a message (ndest > 0):
 *   - capabilities exit (a middleman is never the exit);
 *   - max-size >= the message size (the mail the exit delivers);
 *   - its exit policy allows every destination (chain_policy_allows);
 *   - reliability >= min_reliability_exit too, when known.
 * The last hop of a dummy (ndest == 0) ends the packet with DROP and
 * delivers nothing: it follows the rules of a middle hop.
 *
 * Exit policies. descriptor-format.md makes exit-policy a free one-line
 * summary; a sender can only rely on what it can read exactly. A policy is
 * understood when it is "accept" followed by one or more patterns, single
 * spaces between:
 *     *            every destination
 *     *@DOMAIN     destinations whose domain (after the last @) is DOMAIN,
 *                  ASCII case ignored; DOMAIN is 1 to 253 of A-Z a-z 0-9 . -
 * e.g. "accept *" (what mixnode publishes for an exit) or
 * "accept *@example.org *@example.net". Anything else ("reject *",
 * "middleman: reject *", prose, a pattern with a typo) is not understood,
 * and such a node is never the exit of a message: a wrong guess would
 * hand a message to an exit that throws it away.
 *
 * Random choices (mcrypto_uniform: the OS CSPRNG). The exit is chosen
 * first, then the random hops from the one before the exit down to hop 1.
 * At each random hop the choice is uniform over the nodes allowed at that
 * hop: they pass the rules above, differ from every node already fixed
 * within CHAIN_DISTANCE hops (explicit hops anywhere, chosen hops), and
 * leave the rest of the chain completable. The last condition only
 * matters when fewer than five distinct nodes may be middle hops (with
 * five, a choice always remains, whatever the four neighbours); then a
 * small exhaustive search decides it. So: with no explicit hops next to
 * it, the exit is uniform over all allowed exits; hop n-1 is uniform over
 * the allowed nodes other than the exit; hop n-2 over those other than
 * hops n-1 and n; and so on. If a random hop has no allowed node the
 * request fails (CHAIN_ERR_NODES); it never quietly breaks a rule.
 *
 * Explicit hops are checked against the same rules; one that breaks a
 * rule fails with CHAIN_ERR_RULE, the hop, the rule and a message. It is
 * never replaced by another node.
 *
 * Copies (chain_select_copies): N chains for the same message share the
 * exit (chosen once) and the explicit hops. The random middle hops of copy
 * k avoid every node that is a random middle hop of copies 0..k-1, so that
 * one failing node loses at most the copies that use it. When that leaves
 * no complete chain for copy k (too few nodes), copy k is chosen without
 * that restriction, like a first copy, and its `shared` flag is set: the
 * copy may then share middle nodes with earlier ones. This never fails
 * where a single chain would succeed.
 *
 * Delays. A node whose descriptor says mixing "continuous" holds each
 * packet for the delay the sender writes into its layer. For such a hop
 * the delay is drawn from the exponential distribution with mean
 * delay_mean seconds: the inverse CDF -mean * ln(1 - u) of a uniform
 * u = k / 2^53 (k: the top 53 bits of 64 random bits from the CSPRNG),
 * rounded to the nearest second and capped at CHAIN_DELAY_CAP times the
 * mean (the cap takes e^-10 of the mass; it lowers the mean by a factor
 * 1 - e^-10). delay_mean is at most CHAIN_DELAY_MEAN_MAX, so one hop
 * holds a packet at most 60 hours: a key's grace period (7 days by
 * default) must cover the delays of the hops before it. Other nodes get 0.
 *
 * The pkt_hop addr pointers point into nodes[]: keep nodes until the
 * packet is built.
 *
 * Functions: chain_select(), chain_select_copies(), chain_policy_allows(),
 * chain_delay(), chain_strerror(), chain_rule_name().
 */
#ifndef MIX_CHAIN_H
#define MIX_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "mcrypto.h"
#include "pkt.h"

#define CHAIN_MAX_HOPS		PKT_MAX_HOPS
#define CHAIN_MAX_COPIES	10
#define CHAIN_MAX_NODES		10000
#define CHAIN_DISTANCE		2		/* no node twice within this many hops */
#define CHAIN_DELAY_MEAN_MAX	21600		/* seconds: 6 hours */
#define CHAIN_DELAY_CAP		10		/* a delay is at most 10 means */
#define CHAIN_RANDOM		"*"		/* a random hop in a spec */
#define CHAIN_MIXING_CONTINUOUS	"continuous"	/* mixing with sender-chosen delays */
#define CHAIN_ERR_MAX		384

/* What a pinger measured of one node */
struct chain_stats {
	int known;		/* 0: nothing is known (the node passes the limits) */
	unsigned reliability;	/* percent of test messages that came through, 0..100 */
	uint32_t latency;	/* seconds, typical */
};

struct chain_limits {
	unsigned min_reliability;	/* every hop, percent */
	unsigned min_reliability_exit;	/* the exit of a message, percent */
	uint32_t max_latency;		/* seconds; 0: no limit */
};

struct chain_req {
	const char *const *spec;	/* nhops entries: a node name or "*"; NULL: all "*" */
	size_t nhops;			/* 1..CHAIN_MAX_HOPS */
	const char *const *dest;	/* the destination addresses */
	size_t ndest;			/* 0: a dummy (no exit rules) */
	uint64_t size;			/* bytes of the mail the exit delivers */
	int64_t now;
	const struct chain_stats *stats;	/* NULL, or one entry per node */
	const struct chain_limits *limits;	/* NULL: no limits */
	uint32_t delay_mean;		/* seconds, at most CHAIN_DELAY_MEAN_MAX */
};

struct chain {
	size_t nhops;
	size_t node[CHAIN_MAX_HOPS];		/* index in nodes[] of each hop */
	struct pkt_hop hop[CHAIN_MAX_HOPS];	/* for pkt_build(hop, nhops, ...) */
	int shared;		/* a copy that could not avoid earlier copies' middle nodes */
};

enum chain_err {
	CHAIN_OK = 0,
	CHAIN_ERR_ARG,		/* bad request: hop count, copies, delay mean, node count */
	CHAIN_ERR_UNKNOWN,	/* an explicit hop names no known node */
	CHAIN_ERR_RULE,		/* an explicit hop breaks a rule (chain_error.rule) */
	CHAIN_ERR_NOEXIT,	/* no node may be the exit for this destination and size */
	CHAIN_ERR_NODES		/* not enough nodes for the constraints */
};

enum chain_rule {
	CHAIN_RULE_NONE = 0,
	CHAIN_RULE_KEY,		/* no mix key usable now */
	CHAIN_RULE_VERSION,	/* does not take packet version PKT_VERSION */
	CHAIN_RULE_REPEAT,	/* the same node twice within CHAIN_DISTANCE hops */
	CHAIN_RULE_MIDDLEMAN,	/* a middleman as the exit */
	CHAIN_RULE_SIZE,	/* the message is larger than the exit's max-size */
	CHAIN_RULE_POLICY,	/* the exit policy does not allow a destination */
	CHAIN_RULE_RELIABILITY,	/* measured reliability below the limit */
	CHAIN_RULE_LATENCY	/* measured latency above the limit */
};

struct chain_error {
	enum chain_rule rule;	/* CHAIN_ERR_RULE: which rule */
	size_t hop;		/* the hop (from 1) it is about; 0: none */
	char msg[CHAIN_ERR_MAX];
};

/*
 * chain_select - one chain for req over nodes[0..nnodes) into *out. err
 * may be NULL; on failure it says what and where.
 */
enum chain_err chain_select(const struct descriptor *nodes, size_t nnodes,
    const struct chain_req *req, struct chain *out, struct chain_error *err) MIX_WUR;

/* chain_select_copies - copies (1..CHAIN_MAX_COPIES) chains, out[0..copies) */
enum chain_err chain_select_copies(const struct descriptor *nodes, size_t nnodes,
    const struct chain_req *req, size_t copies, struct chain *out,
    struct chain_error *err) MIX_WUR;

/* chain_policy_allows - 1 if policy is understood and allows dest, else 0 */
int chain_policy_allows(const char *policy, const char *dest);

/*
 * chain_delay - the delay for 64 random bits r: the exponential inverse
 * CDF with mean seconds (capped at CHAIN_DELAY_MEAN_MAX), rounded, at most
 * CHAIN_DELAY_CAP * mean. Deterministic, for tests.
 */
uint32_t chain_delay(uint32_t mean, uint64_t r);

const char *chain_strerror(enum chain_err e);
/* chain_rule_name - a short name for messages, e.g. "repeat" */
const char *chain_rule_name(enum chain_rule r);

#endif
