/*
 * relay-send.c - hands a batch of mails to a relay through relay.c, for
 * tests/relay.sh and the end-to-end tests.
 *
 * usage: relay-send -r RELAY [-s SENDER] [-H EHLO-NAME] [-T SECONDS] < LIST
 *
 *   -r RELAY    smtp://HOST:PORT or maildir:/PATH (relay_parse)
 *   -s SENDER   the envelope sender of every message (default
 *               relay-send@localhost.invalid; "" for <>)
 *   -H NAME     the EHLO name (relay_set_helo)
 *   -T SECONDS  the timeout of each SMTP step
 *
 * LIST has one message per line: the path of a file holding the whole
 * mail, then its recipients, separated by blanks. Empty lines and lines
 * starting with '#' are skipped. All the messages go out as one batch
 * (one relay_send call: one SMTP session).
 *
 * Output: one line per message, in input order, "N RESULT CODE" (N from
 * 1, RESULT SENT, TEMP or PERM, CODE the SMTP reply that decided or 0),
 * then relay_send's error text, if any, on stderr as "relay-send: TEXT".
 * Exit 0 when the batch was handed over (whatever the results), 2 on a
 * usage, list or file error (nothing sent).
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcrypto.h"
#include "mem.h"
#include "relay.h"

#define LINE_MAX_LEN	8192
#define RCPT_MAX	64
#define FILE_MAX	(16 * 1024 * 1024)

static void
usage(void)
{
	fputs("usage: relay-send -r RELAY [-s SENDER] [-H EHLO-NAME] [-T SECONDS] < LIST\n",
	    stderr);
	exit(2);
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "relay-send: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(2);
}

/* slurp - the whole file; dies on error */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (fp == NULL)
		die("cannot open a message file", path);
	do {
		if (n == cap) {
			if (cap >= FILE_MAX)
				die("message file too large", path);
			cap = cap ? cap * 2 : 65536;
			buf = mem_realloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	if (ferror(fp))
		die("cannot read a message file", path);
	fclose(fp);
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	struct relay r;
	struct relay_msg *msgs = NULL;
	char err[1024], line[LINE_MAX_LEN], *tok, *save, *end;
	const char *spec = NULL, *sender = "relay-send@localhost.invalid", *helo = NULL;
	size_t n = 0, cap = 0, i, nr;
	long timeout = 0;
	char **rcpt;
	int c;

	while ((c = getopt(argc, argv, "r:s:H:T:")) != -1) {
		switch (c) {
		case 'r':
			spec = optarg;
			break;
		case 's':
			sender = optarg;
			break;
		case 'H':
			helo = optarg;
			break;
		case 'T':
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    timeout < RELAY_TIMEOUT_MIN || timeout > RELAY_TIMEOUT_MAX)
				die("bad -T", optarg);
			break;
		default:
			usage();
		}
	}
	if (spec == NULL || optind != argc)
		usage();
	if (mcrypto_init() != 0)
		die("cannot initialise libsodium", NULL);
	if (relay_parse(spec, &r, err, sizeof err) != 0)
		die("bad relay", err);
	if (helo != NULL && relay_set_helo(&r, helo, err, sizeof err) != 0)
		die("bad EHLO name", err);
	if (timeout > 0)
		r.timeout = (unsigned)timeout;

	while (fgets(line, sizeof line, stdin) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(stdin))
			die("list line too long", NULL);
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((tok = strtok_r(line, " \t", &save)) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			msgs = mem_realloc(msgs, cap * sizeof *msgs);
		}
		memset(&msgs[n], 0, sizeof msgs[n]);
		msgs[n].data = slurp(tok, &msgs[n].len);
		msgs[n].sender = sender;
		rcpt = mem_calloc(RCPT_MAX, sizeof *rcpt);
		for (nr = 0; (tok = strtok_r(NULL, " \t", &save)) != NULL; nr++) {
			if (nr == RCPT_MAX)
				die("too many recipients on a list line", NULL);
			rcpt[nr] = mem_strdup(tok);
		}
		msgs[n].rcpt = (const char *const *)rcpt;
		msgs[n].nrcpt = nr;
		n++;
	}
	if (ferror(stdin))
		die("cannot read the list", NULL);

	relay_send(&r, msgs, n, err, sizeof err);
	for (i = 0; i < n; i++)
		printf("%zu %s %d\n", i + 1, relay_result_name(msgs[i].result), msgs[i].code);
	if (err[0] != '\0')
		fprintf(stderr, "relay-send: %s\n", err);
	for (i = 0; i < n; i++) {
		for (nr = 0; nr < msgs[i].nrcpt; nr++)
			mem_free((void *)msgs[i].rcpt[nr]);
		mem_free((void *)msgs[i].rcpt);
		mem_free((void *)msgs[i].data);
	}
	mem_free(msgs);
	return fflush(stdout) == 0 ? 0 : 2;
}
