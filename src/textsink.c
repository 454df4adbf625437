/*
 * textsink.c - text to a stream or a bounded buffer (textsink.h).
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "textsink.h"

void
textsink_put(struct textsink *k, const char *p, size_t n)
{
	size_t room;

	if (k->err != 0 || n == 0)
		return;
	if (k->fp != NULL) {
		errno = 0;
		if (fwrite(p, 1, n, k->fp) != n) {
			k->err = errno != 0 ? errno : EIO;
			return;
		}
	} else if (k->size > 0 && k->len < k->size - 1) {
		room = k->size - 1 - k->len;
		memcpy(k->buf + k->len, p, n < room ? n : room);
	}
	k->len += n;
}

void
textsink_str(struct textsink *k, const char *s)
{
	textsink_put(k, s, strlen(s));
}

void
textsink_printf(struct textsink *k, const char *fmt, ...)
{
	char piece[TEXTSINK_PIECE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(piece, sizeof piece, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof piece)
		msg_panic("textsink: a formatted piece outgrew %zu bytes", sizeof piece);
	textsink_put(k, piece, (size_t)n);
}

int
textsink_buffer(struct textsink *k, char *buf, size_t size, size_t *need)
{
	memset(k, 0, sizeof *k);
	if (need != NULL)
		*need = 0;
	if (need == NULL || (buf == NULL && size > 0)) {
		errno = EINVAL;
		return -1;
	}
	k->buf = buf;
	k->size = size;
	if (size > 0)
		buf[0] = '\0';
	return 0;
}

int
textsink_buffer_end(struct textsink *k, int status, size_t *need)
{
	if (status != 0) {
		if (k->size > 0)
			k->buf[0] = '\0';
		return -1;
	}
	*need = k->len;
	if (k->len >= k->size) {
		if (k->size > 0)
			k->buf[k->size - 1] = '\0';
		errno = ERANGE;
		return -1;
	}
	k->buf[k->len] = '\0';
	return 0;
}
