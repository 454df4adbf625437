/*
 * testutil.c - helpers shared by the Check unit tests.
 */
#include <config.h>

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mcrypto.h"
#include "testutil.h"

void
tu_init(void)
{
	ck_assert_int_eq(mcrypto_init(), 0);
}

const char *
tu_srcpath(const char *rel)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof path, "%s/tests/%s", top ? top : ".", rel);
	return path;
}

uint8_t *
tu_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;

	/* no ck_assert here: this also runs outside tests (Check cannot report) */
	if (fp == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(EXIT_FAILURE);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap + 1)) == NULL)
				abort();
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	if (ferror(fp)) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(EXIT_FAILURE);
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

void
tu_node_key(struct pkt_key *k, unsigned i)
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

void
tu_path(struct pkt_hop *hops, struct pkt_key *keys, size_t n)
{
	static char addrs[PKT_MAX_HOPS][64];
	size_t i;

	for (i = 0; i < n; i++) {
		tu_node_key(&keys[i], (unsigned)i);
		memcpy(hops[i].pk, keys[i].pk, 32);
		snprintf(addrs[i], sizeof addrs[i], "node%zu@mix%zu.test", i, i);
		hops[i].addr = addrs[i];
		hops[i].delay = (uint32_t)(60 * i);
	}
}

void
tu_rm_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			tu_rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

void
tu_make_tmpdir(char *buf, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, size, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}
