/*
 * chain.c - choosing the nodes, keys and delays of a message's chain
 * (chain.h has the rules and what "uniform" means here).
 *
 * Nodes are first grouped into "entities" (same identity key or same
 * address, transitively), so that the no-repeat rule compares operators'
 * nodes, not descriptors. Each node is then classed once: allowed as a
 * middle hop, allowed as the exit. The explicit hops are checked and
 * fixed, the exit is chosen, then the other random hops from the exit
 * backwards, each uniformly among the nodes allowed there.
 *
 * Completability: with five or more middle entities a random hop always
 * has a choice (at most four neighbours are excluded), so the hop-by-hop
 * choice cannot run into a dead end. With fewer, a candidate is kept only
 * if the hops below it can still be filled: a depth-first search over
 * those few entities, remembered per (hop, entity of the next hop, entity
 * of the one after), which is all the hops below depend on.
 *
 * Functions: chain_select(), chain_select_copies(), chain_policy_allows(),
 * chain_delay(), chain_strerror(), chain_rule_name().
 *
 * Diagnostics: none logged; results and a message in struct chain_error.
 * An impossible internal state is a bug: msg_panic.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "descriptor.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"

#define NONE		SIZE_MAX
#define FEW_ENTITIES	5	/* from this many middle entities on, no search is needed */
#define LOC_MAX		24	/* entities a search meets: 4 middle, 16 fixed hops */
#define DOMAIN_MAX	253

/* A selection in progress */
struct sel {
	const struct descriptor *nodes;
	size_t n;
	const struct chain_req *req;
	size_t nhops;
	size_t *ent;			/* entity of each node */
	const struct desc_mixkey **key;	/* usable key of each node, or NULL */
	uint8_t *mid;			/* allowed as a random middle hop (this copy) */
	uint8_t *ex;			/* allowed as the random exit */
	size_t *cand;			/* scratch: candidates of one hop */
	size_t fixed[CHAIN_MAX_HOPS];	/* node at each hop, or NONE */
	int exp[CHAIN_MAX_HOPS];	/* 1: an explicit hop */
	/* the search, used only when few entities may be middle hops */
	int few;
	size_t midents[FEW_ENTITIES];	/* a middle node of each middle entity */
	size_t nmidents;
	size_t loc[LOC_MAX];		/* entities met by the search */
	size_t nloc;
	uint8_t memo[CHAIN_MAX_HOPS][LOC_MAX + 1][LOC_MAX + 1];	/* 0 unknown, 1 yes, 2 no */
	struct chain_error *err;
};

/* ---- errors ------------------------------------------------------------------ */

static enum chain_err fail(struct sel *s, enum chain_err e, enum chain_rule rule, size_t hop,
    const char *fmt, ...) MIX_PRINTF(5, 6);

static enum chain_err
fail(struct sel *s, enum chain_err e, enum chain_rule rule, size_t hop, const char *fmt, ...)
{
	va_list ap;

	if (s->err != NULL) {
		s->err->rule = rule;
		s->err->hop = hop;
		va_start(ap, fmt);
		(void)vsnprintf(s->err->msg, sizeof s->err->msg, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* ---- exit policies and delays ---------------------------------------------------- */

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* same_text - a[0..len) and b (NUL-terminated) equal, ASCII case ignored */
static int
same_text(const char *a, size_t len, const char *b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] == '\0' || lower(a[i]) != lower(b[i]))
			return 0;
	return b[len] == '\0';
}

/* domain_ok - p[0..len) is 1..DOMAIN_MAX of A-Z a-z 0-9 . - */
static int
domain_ok(const char *p, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = lower(p[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
chain_policy_allows(const char *policy, const char *dest)
{
	static const char accept[] = "accept ";
	const char *p, *end, *at = strrchr(dest, '@');
	const char *domain = at != NULL && at[1] != '\0' ? at + 1 : NULL;
	int allows = 0;
	size_t len;

	if (strncmp(policy, accept, sizeof accept - 1) != 0)
		return 0;
	/* Every pattern must be understood, whether or not it matches. */
	for (p = policy + sizeof accept - 1;; p = end + 1) {
		end = strchr(p, ' ');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 1 && p[0] == '*')
			allows = 1;
		else if (len > 2 && p[0] == '*' && p[1] == '@' && domain_ok(p + 2, len - 2)) {
			if (domain != NULL && same_text(p + 2, len - 2, domain))
				allows = 1;
		} else
			return 0;
		if (end == NULL)
			return allows;
	}
}

/*
 * ln_2_53 - ln(j / 2^53) for 1 <= j <= 2^53, without libm (the library
 * links no -lm): j = m 2^e with m in [sqrt(1/2), sqrt(2)), and
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, whose odd series
 * is below 1e-19 after the s^23 term.
 */
static double
ln_2_53(uint64_t j)
{
	static const double ln2 = 0.693147180559945309417232121458176568;
	double m, s, s2, term, sum = 0;
	unsigned k;
	int e = 0;

	while (e < 53 && j >= (UINT64_C(1) << (e + 1)))
		e++;
	m = (double)j / (double)(UINT64_C(1) << e);	/* exact: j < 2^54 */
	if (m > 1.41421356237309504880) {
		m /= 2;
		e++;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	term = s;
	for (k = 1; k <= 23; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + (e - 53) * ln2;
}

uint32_t
chain_delay(uint32_t mean, uint64_t r)
{
	uint64_t j = (UINT64_C(1) << 53) - (r >> 11);	/* 2^53 (1 - u), 1..2^53 */
	uint32_t cap;
	double d;

	if (mean > CHAIN_DELAY_MEAN_MAX)
		mean = CHAIN_DELAY_MEAN_MAX;
	cap = mean * CHAIN_DELAY_CAP;
	d = -(double)mean * ln_2_53(j);
	return d >= (double)cap ? cap : (uint32_t)(d + 0.5);
}

/* ---- entities ----------------------------------------------------------------- */

struct idkey {
	uint8_t id[MCRYPTO_SIGN_PK_BYTES];
	size_t i;
};

struct addrkey {
	char addr[PKT_ADDR_MAX + 1];
	size_t i;
};

static int
idkey_cmp(const void *a, const void *b)
{
	return memcmp(((const struct idkey *)a)->id, ((const struct idkey *)b)->id,
	    MCRYPTO_SIGN_PK_BYTES);
}

static int
addrkey_cmp(const void *a, const void *b)
{
	return strcmp(((const struct addrkey *)a)->addr, ((const struct addrkey *)b)->addr);
}

static size_t
uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static void
uf_union(size_t *parent, size_t a, size_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

/* entities - ent[i]: the group of node i by identity key or address */
static void
entities(const struct descriptor *nodes, size_t n, size_t *ent)
{
	struct idkey *ids = mem_calloc(n, sizeof *ids);
	struct addrkey *addrs = mem_calloc(n, sizeof *addrs);
	size_t i, k;

	for (i = 0; i < n; i++) {
		ent[i] = i;
		memcpy(ids[i].id, nodes[i].identity, sizeof ids[i].id);
		ids[i].i = i;
		for (k = 0; k < PKT_ADDR_MAX && nodes[i].address[k] != '\0'; k++)
			addrs[i].addr[k] = lower(nodes[i].address[k]);
		addrs[i].i = i;
	}
	qsort(ids, n, sizeof *ids, idkey_cmp);
	qsort(addrs, n, sizeof *addrs, addrkey_cmp);
	for (i = 1; i < n; i++) {
		if (idkey_cmp(&ids[i - 1], &ids[i]) == 0)
			uf_union(ent, ids[i - 1].i, ids[i].i);
		if (addrkey_cmp(&addrs[i - 1], &addrs[i]) == 0)
			uf_union(ent, addrs[i - 1].i, addrs[i].i);
	}
	for (i = 0; i < n; i++)
		ent[i] = uf_find(ent, i);
	mem_free(ids);
	mem_free(addrs);
}

/* ---- the rules of one node ------------------------------------------------------ */

/*
 * node_rule - the first rule node v breaks at a hop, as the exit of a
 * message if exit; CHAIN_RULE_NONE if none. why (may be NULL) says how.
 */
static enum chain_rule
node_rule(const struct sel *s, size_t v, int exit, char *why, size_t whylen)
{
	const struct descriptor *d = &s->nodes[v];
	const struct chain_req *r = s->req;
	const struct chain_stats *st = r->stats != NULL ? &r->stats[v] : NULL;
	const struct chain_limits *lim = r->limits;
	char dummy[1];
	size_t i;

	if (why == NULL) {
		why = dummy;
		whylen = sizeof dummy;
	}
	if (s->key[v] == NULL) {
		(void)snprintf(why, whylen, "has no mix key usable now");
		return CHAIN_RULE_KEY;
	}
	if ((d->pkt_versions & (UINT32_C(1) << PKT_VERSION)) == 0) {
		(void)snprintf(why, whylen, "does not take packet version %d", PKT_VERSION);
		return CHAIN_RULE_VERSION;
	}
	if (st != NULL && st->known && lim != NULL) {
		if (st->reliability < lim->min_reliability ||
		    (exit && st->reliability < lim->min_reliability_exit)) {
			(void)snprintf(why, whylen, "reliability %u%% is below the limit of %u%%",
			    st->reliability, st->reliability < lim->min_reliability ?
			    lim->min_reliability : lim->min_reliability_exit);
			return CHAIN_RULE_RELIABILITY;
		}
		if (lim->max_latency != 0 && st->latency > lim->max_latency) {
			(void)snprintf(why, whylen, "latency %lu s is above the limit of %lu s",
			    (unsigned long)st->latency, (unsigned long)lim->max_latency);
			return CHAIN_RULE_LATENCY;
		}
	}
	if (!exit)
		return CHAIN_RULE_NONE;
	if (!d->exit) {
		(void)snprintf(why, whylen, "is a middleman: it is never the exit");
		return CHAIN_RULE_MIDDLEMAN;
	}
	if (r->size > d->max_size) {
		(void)snprintf(why, whylen, "takes mail of at most %llu bytes, this message has "
		    "%llu", (unsigned long long)d->max_size, (unsigned long long)r->size);
		return CHAIN_RULE_SIZE;
	}
	for (i = 0; i < r->ndest; i++)
		if (!chain_policy_allows(d->exit_policy, r->dest[i])) {
			(void)snprintf(why, whylen, "its exit policy (\"%.64s\") does not allow "
			    "destination %zu", d->exit_policy, i + 1);
			return CHAIN_RULE_POLICY;
		}
	return CHAIN_RULE_NONE;
}

/* is_exit - whether hop pos carries the rules of an exit */
static int
is_exit(const struct sel *s, size_t pos)
{
	return pos == s->nhops - 1 && s->req->ndest > 0;
}

/* excluded - whether v is the same node as a fixed hop within CHAIN_DISTANCE of pos */
static int
excluded(const struct sel *s, size_t pos, size_t v)
{
	size_t j, lo = pos >= CHAIN_DISTANCE ? pos - CHAIN_DISTANCE : 0;

	for (j = lo; j <= pos + CHAIN_DISTANCE && j < s->nhops; j++)
		if (j != pos && s->fixed[j] != NONE && s->ent[s->fixed[j]] == s->ent[v])
			return 1;
	return 0;
}

/* ---- completability ---------------------------------------------------------- */

/* loc - the search's small number for the entity at hop pos (LOC_MAX: none) */
static size_t
loc(struct sel *s, size_t pos)
{
	size_t e, i;

	if (pos >= s->nhops || s->fixed[pos] == NONE)
		return LOC_MAX;
	e = s->ent[s->fixed[pos]];
	for (i = 0; i < s->nloc; i++)
		if (s->loc[i] == e)
			return i;
	if (s->nloc == LOC_MAX)
		msg_panic("chain: search met more than %d entities", LOC_MAX);
	s->loc[s->nloc] = e;
	return s->nloc++;
}

/*
 * fill - whether every free hop below top can be given a middle node. Hops
 * are filled from the top down; the hops below a free hop pos depend only
 * on the entities at pos + 1 and pos + 2, hence the memo.
 */
static int
fill(struct sel *s, size_t top)
{
	size_t pos = top, a, b, i;
	uint8_t *memo;
	int ok = 0;

	while (pos > 0 && s->fixed[pos - 1] != NONE)
		pos--;
	if (pos == 0)
		return 1;
	pos--;
	if (pos == s->nhops - 1)
		msg_panic("chain: search reached the exit");
	a = loc(s, pos + 1);
	b = loc(s, pos + 2);
	memo = &s->memo[pos][a][b];
	if (*memo != 0)
		return *memo == 1;
	for (i = 0; i < s->nmidents && !ok; i++) {
		if (excluded(s, pos, s->midents[i]))
			continue;
		s->fixed[pos] = s->midents[i];
		ok = fill(s, pos);
		s->fixed[pos] = NONE;
	}
	*memo = ok ? 1 : 2;
	return ok;
}

/* completable - whether the free hops can be filled with v at hop pos */
static int
completable(struct sel *s, size_t pos, size_t v)
{
	int ok;

	if (!s->few)
		return 1;
	s->fixed[pos] = v;
	ok = fill(s, s->nhops);
	s->fixed[pos] = NONE;
	return ok;
}

/* set_middle - the middle entities and the search state for the current mid[] */
static void
set_middle(struct sel *s)
{
	size_t v, i;

	s->nmidents = 0;
	s->few = 1;
	for (v = 0; v < s->n && s->few; v++) {
		if (!s->mid[v])
			continue;
		for (i = 0; i < s->nmidents && s->ent[s->midents[i]] != s->ent[v]; i++)
			;
		if (i < s->nmidents)
			continue;
		if (s->nmidents == FEW_ENTITIES - 1)
			s->few = 0;
		else
			s->midents[s->nmidents++] = v;
	}
	s->nloc = 0;
	memset(s->memo, 0, sizeof s->memo);
}

/* ---- choosing ----------------------------------------------------------------- */

/* candidates - the nodes allowed at free hop pos, into s->cand */
static size_t
candidates(struct sel *s, size_t pos)
{
	const uint8_t *allowed = is_exit(s, pos) ? s->ex : s->mid;
	size_t v, k = 0;

	for (v = 0; v < s->n; v++)
		if (allowed[v] && !excluded(s, pos, v) && completable(s, pos, v))
			s->cand[k++] = v;
	return k;
}

/* no_exit - the failure when no node may be the exit, with counts that say why */
static enum chain_err
no_exit(struct sel *s)
{
	size_t v, usable = 0, exits = 0, policy = 0, size = 0, i;
	const struct descriptor *d;
	int ok;

	for (v = 0; v < s->n; v++) {
		if (node_rule(s, v, 0, NULL, 0) != CHAIN_RULE_NONE)
			continue;
		usable++;
		d = &s->nodes[v];
		if (!d->exit)
			continue;
		exits++;
		for (ok = 1, i = 0; i < s->req->ndest && ok; i++)
			ok = chain_policy_allows(d->exit_policy, s->req->dest[i]);
		if (!ok)
			continue;
		policy++;
		if (s->req->size <= d->max_size)
			size++;
	}
	return fail(s, CHAIN_ERR_NOEXIT, CHAIN_RULE_NONE, s->nhops, "no usable exit for this "
	    "message: of %zu nodes, %zu are usable now, %zu of those are exits, %zu of those "
	    "deliver to %s, %zu of those take %llu bytes%s", s->n, usable, exits, policy,
	    s->req->ndest == 1 ? "the destination" : "every destination", size,
	    (unsigned long long)s->req->size, size > 0 ?
	    ", but none passes the exit reliability limit" : "");
}

/* no_nodes - the failure when free hop pos has no allowed node */
static enum chain_err
no_nodes(struct sel *s, size_t pos)
{
	size_t v, nmid = 0;

	for (v = 0; v < s->n; v++)
		nmid += s->mid[v];
	return fail(s, CHAIN_ERR_NODES, CHAIN_RULE_NONE, pos + 1, "not enough nodes: no node "
	    "can be hop %zu (%zu nodes may be middle hops, no node may appear twice within %d "
	    "hops)", pos + 1, nmid, CHAIN_DISTANCE);
}

/* name_ok - name is a node name (only such user input goes into messages) */
static int
name_ok(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= DESC_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* check_explicit - look up and check every named hop, fix it */
static enum chain_err
check_explicit(struct sel *s)
{
	char why[CHAIN_ERR_MAX / 2];
	enum chain_rule rule;
	const char *name;
	size_t pos, v, j;

	for (pos = 0; pos < s->nhops; pos++) {
		s->fixed[pos] = NONE;
		name = s->req->spec != NULL ? s->req->spec[pos] : CHAIN_RANDOM;
		if ((s->exp[pos] = strcmp(name, CHAIN_RANDOM) != 0) == 0)
			continue;
		for (v = 0; v < s->n && strcmp(s->nodes[v].name, name) != 0; v++)
			;
		if (v == s->n && !name_ok(name))
			return fail(s, CHAIN_ERR_UNKNOWN, CHAIN_RULE_NONE, pos + 1, "hop %zu: not a "
			    "node name (1 to %d of a-z, 0-9 and -) nor %s", pos + 1, DESC_NAME_MAX,
			    CHAIN_RANDOM);
		if (v == s->n)
			return fail(s, CHAIN_ERR_UNKNOWN, CHAIN_RULE_NONE, pos + 1, "hop %zu: no "
			    "known node is called %s", pos + 1, name);
		if ((rule = node_rule(s, v, is_exit(s, pos), why, sizeof why)) != CHAIN_RULE_NONE)
			return fail(s, CHAIN_ERR_RULE, rule, pos + 1, "hop %zu (%s) %s", pos + 1,
			    name, why);
		for (j = pos >= CHAIN_DISTANCE ? pos - CHAIN_DISTANCE : 0; j < pos; j++)
			if (s->fixed[j] != NONE && s->ent[s->fixed[j]] == s->ent[v])
				return fail(s, CHAIN_ERR_RULE, CHAIN_RULE_REPEAT, pos + 1,
				    "hop %zu (%s) is the same node as hop %zu (%s)%s: no node may "
				    "appear twice within %d hops", pos + 1, name, j + 1,
				    s->nodes[s->fixed[j]].name, s->fixed[j] == v ? "" :
				    ", by identity key or address", CHAIN_DISTANCE);
		s->fixed[pos] = v;
	}
	return CHAIN_OK;
}

/* pick_exit - the random exit, uniform over the allowed ones that fit */
static enum chain_err
pick_exit(struct sel *s)
{
	size_t pos = s->nhops - 1, v, k, any = 0;

	for (v = 0; v < s->n; v++)
		any += s->ex[v];
	if (any == 0)
		return s->req->ndest > 0 ? no_exit(s) : no_nodes(s, pos);
	if ((k = candidates(s, pos)) == 0)
		return no_nodes(s, pos);
	s->fixed[pos] = s->cand[mcrypto_uniform((uint32_t)k)];
	return CHAIN_OK;
}

/* pick_middle - the free hops from the exit down to hop 1 */
static enum chain_err
pick_middle(struct sel *s)
{
	size_t pos, k;

	for (pos = s->nhops - 1; pos-- > 0;) {
		if (s->fixed[pos] != NONE)
			continue;
		if ((k = candidates(s, pos)) == 0)
			return no_nodes(s, pos);
		s->fixed[pos] = s->cand[mcrypto_uniform((uint32_t)k)];
	}
	return CHAIN_OK;
}

/* finish - the chain of the fixed hops, with keys and delays */
static void
finish(const struct sel *s, struct chain *c)
{
	const struct descriptor *d;
	uint64_t r;
	size_t pos;

	memset(c, 0, sizeof *c);
	c->nhops = s->nhops;
	for (pos = 0; pos < s->nhops; pos++) {
		c->node[pos] = s->fixed[pos];
		d = &s->nodes[s->fixed[pos]];
		memcpy(c->hop[pos].pk, s->key[s->fixed[pos]]->pk, sizeof c->hop[pos].pk);
		c->hop[pos].addr = d->address;
		if (strcmp(d->mixing, CHAIN_MIXING_CONTINUOUS) == 0) {
			mcrypto_random(NULL, &r, sizeof r);
			c->hop[pos].delay = chain_delay(s->req->delay_mean, r);
		}
	}
}

/* can_complete - whether every free hop can be filled under the current mid[] */
static int
can_complete(struct sel *s)
{
	return !s->few || fill(s, s->nhops);
}

/*
 * copy_of - copy k >= 1 from the fixed hops base (explicit hops, exit):
 * its free hops avoid the random middle nodes of copies 0..k-1, unless
 * that leaves no complete chain (then it is chosen like copy 0, shared).
 */
static enum chain_err
copy_of(struct sel *s, const size_t *base, const uint8_t *mid_all, const struct chain *out,
    size_t k, int *shared)
{
	size_t pos, v, j;

	memcpy(s->mid, mid_all, s->n);
	for (j = 0; j < k; j++)
		for (pos = 0; pos + 1 < s->nhops; pos++)
			if (!s->exp[pos])
				for (v = 0; v < s->n; v++)
					if (s->ent[v] == s->ent[out[j].node[pos]])
						s->mid[v] = 0;
	memcpy(s->fixed, base, sizeof s->fixed);
	set_middle(s);
	if (can_complete(s))
		return pick_middle(s);
	memcpy(s->mid, mid_all, s->n);
	set_middle(s);
	*shared = 1;
	return pick_middle(s);
}

/* classify - usable keys, entities, and who may be a middle hop or the exit */
static void
classify(struct sel *s)
{
	size_t v;

	for (v = 0; v < s->n; v++)
		s->key[v] = desc_key_usable(&s->nodes[v], s->req->now);
	entities(s->nodes, s->n, s->ent);
	for (v = 0; v < s->n; v++) {
		s->mid[v] = node_rule(s, v, 0, NULL, 0) == CHAIN_RULE_NONE;
		s->ex[v] = s->req->ndest > 0 ?
		    node_rule(s, v, 1, NULL, 0) == CHAIN_RULE_NONE : s->mid[v];
	}
}

/* select_all - the chains, once s is set up and the arguments checked */
static enum chain_err
select_all(struct sel *s, size_t copies, struct chain *out)
{
	size_t base[CHAIN_MAX_HOPS], k;
	uint8_t *mid_all;
	enum chain_err e;
	int shared;

	classify(s);
	if ((e = check_explicit(s)) != CHAIN_OK)
		return e;
	set_middle(s);
	if (s->fixed[s->nhops - 1] == NONE && (e = pick_exit(s)) != CHAIN_OK)
		return e;
	memcpy(base, s->fixed, sizeof base);
	if ((e = pick_middle(s)) != CHAIN_OK)
		return e;
	finish(s, &out[0]);
	mid_all = mem_alloc(s->n);
	memcpy(mid_all, s->mid, s->n);
	for (k = 1; k < copies && e == CHAIN_OK; k++) {
		shared = 0;
		if ((e = copy_of(s, base, mid_all, out, k, &shared)) == CHAIN_OK) {
			finish(s, &out[k]);
			out[k].shared = shared;
		}
	}
	mem_free(mid_all);
	return e;
}

enum chain_err
chain_select_copies(const struct descriptor *nodes, size_t nnodes,
    const struct chain_req *req, size_t copies, struct chain *out, struct chain_error *err)
{
	struct sel *s = mem_calloc(1, sizeof *s);
	enum chain_err e;

	s->nodes = nodes;
	s->n = nnodes;
	s->req = req;
	s->nhops = req->nhops;
	s->err = err;
	if (err != NULL) {
		err->rule = CHAIN_RULE_NONE;
		err->hop = 0;
		err->msg[0] = '\0';
	}
	if (req->nhops == 0 || req->nhops > CHAIN_MAX_HOPS)
		e = fail(s, CHAIN_ERR_ARG, CHAIN_RULE_NONE, 0, "a chain has 1 to %d hops, not %zu",
		    CHAIN_MAX_HOPS, req->nhops);
	else if (copies == 0 || copies > CHAIN_MAX_COPIES)
		e = fail(s, CHAIN_ERR_ARG, CHAIN_RULE_NONE, 0, "1 to %d copies, not %zu",
		    CHAIN_MAX_COPIES, copies);
	else if (nnodes > CHAIN_MAX_NODES)
		e = fail(s, CHAIN_ERR_ARG, CHAIN_RULE_NONE, 0, "more than %d nodes",
		    CHAIN_MAX_NODES);
	else if (req->delay_mean > CHAIN_DELAY_MEAN_MAX)
		e = fail(s, CHAIN_ERR_ARG, CHAIN_RULE_NONE, 0, "a mean delay of at most %d s, "
		    "not %lu", CHAIN_DELAY_MEAN_MAX, (unsigned long)req->delay_mean);
	else if (nnodes == 0)
		e = fail(s, CHAIN_ERR_NODES, CHAIN_RULE_NONE, 0, "no nodes known");
	else {
		s->ent = mem_calloc(nnodes, sizeof *s->ent);
		s->key = mem_calloc(nnodes, sizeof *s->key);
		s->mid = mem_calloc(nnodes, 1);
		s->ex = mem_calloc(nnodes, 1);
		s->cand = mem_calloc(nnodes, sizeof *s->cand);
		e = select_all(s, copies, out);
		mem_free(s->ent);
		mem_free(s->key);
		mem_free(s->mid);
		mem_free(s->ex);
		mem_free(s->cand);
	}
	mem_free(s);
	return e;
}

enum chain_err
chain_select(const struct descriptor *nodes, size_t nnodes, const struct chain_req *req,
    struct chain *out, struct chain_error *err)
{
	return chain_select_copies(nodes, nnodes, req, 1, out, err);
}

const char *
chain_strerror(enum chain_err e)
{
	switch (e) {
	case CHAIN_OK:		return "ok";
	case CHAIN_ERR_ARG:	return "invalid chain request";
	case CHAIN_ERR_UNKNOWN:	return "unknown node";
	case CHAIN_ERR_RULE:	return "an explicit hop breaks a rule";
	case CHAIN_ERR_NOEXIT:	return "no usable exit for this destination";
	case CHAIN_ERR_NODES:	return "not enough nodes for the constraints";
	}
	return "unknown error";
}

const char *
chain_rule_name(enum chain_rule r)
{
	switch (r) {
	case CHAIN_RULE_NONE:		return "none";
	case CHAIN_RULE_KEY:		return "no usable key";
	case CHAIN_RULE_VERSION:	return "packet version";
	case CHAIN_RULE_REPEAT:		return "repeat";
	case CHAIN_RULE_MIDDLEMAN:	return "middleman as exit";
	case CHAIN_RULE_SIZE:		return "size";
	case CHAIN_RULE_POLICY:		return "exit policy";
	case CHAIN_RULE_RELIABILITY:	return "reliability";
	case CHAIN_RULE_LATENCY:	return "latency";
	}
	return "unknown rule";
}
