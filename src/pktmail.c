/*
 * pktmail.c - the mail around a packet (pktmail.h).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "armor.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "pktmail.h"

#define ID_BYTES	16	/* random bytes of a Message-ID: 32 hex digits */

void
pktmail_date(int64_t t, char buf[PKTMAIL_DATE_MAX])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900) {
		tt = 0;
		(void)gmtime_r(&tt, &tm);
	}
	(void)snprintf(buf, PKTMAIL_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* addr_ok - not empty, not too long, no control character, no DEL */
static int
addr_ok(const char *a)
{
	size_t i, n = strlen(a);

	if (n == 0 || n > PKTMAIL_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || (unsigned char)a[i] == 0x7f)
			return 0;
	return 1;
}

/* domain_of - what follows the last '@' of an address, up to a closing '>' */
static void
domain_of(const char *addr, char *out, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t n;

	if (at == NULL || at[1] == '\0' || at[1] == '>') {
		(void)snprintf(out, size, "%s", PKTMAIL_DOMAIN_NONE);
		return;
	}
	n = strcspn(at + 1, "> \t");
	if (n >= size)
		n = size - 1;
	memcpy(out, at + 1, n);
	out[n] = '\0';
}

int
pktmail_build(const char *from, const char *to, int64_t now, const uint8_t pkt[PKT_SIZE],
    char **mail, size_t *len)
{
	char date[PKTMAIL_DATE_MAX], hex[2 * ID_BYTES + 1], domain[PKTMAIL_ADDR_MAX + 1], *m;
	uint8_t id[ID_BYTES];
	size_t cap, head, k;
	int h;

	*mail = NULL;
	*len = 0;
	if (!addr_ok(from) || !addr_ok(to))
		return -1;
	pktmail_date(now, date);
	mcrypto_random(NULL, id, sizeof id);
	mcrypto_hex(hex, id, sizeof id);
	domain_of(from, domain, sizeof domain);
	cap = 512 + 3 * PKTMAIL_ADDR_MAX + ARMOR_SIZE;
	m = mem_alloc(cap);
	h = snprintf(m, cap, "From: %s\nTo: %s\nDate: %s\nMessage-ID: <%s@%s>\n"
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n\n", from, to, date, hex, domain);
	if (h < 0 || (size_t)h >= cap - ARMOR_SIZE)
		msg_panic("pktmail_build: header too long");
	head = (size_t)h;
	k = armor_encode(m + head, cap - head, pkt);
	if (k != ARMOR_SIZE - 1)
		msg_panic("pktmail_build: armor_encode wrote %zu bytes", k);
	*mail = m;
	*len = head + k;
	return 0;
}
