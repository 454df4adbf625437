/*
 * textsink.h - text written either to a stdio stream or into a bounded
 * buffer, for the renderers that offer both (statsreport.c, nodepage.c):
 * a renderer writes through a sink and never checks each write; the sink
 * keeps the first error and counts every byte produced, so the buffer
 * form can tell its caller how much room the whole text needs.
 *
 * Functions: textsink_put(), textsink_str(), textsink_printf(),
 * textsink_buffer(), textsink_buffer_end().
 */
#ifndef MIX_TEXTSINK_H
#define MIX_TEXTSINK_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"		/* MIX_PRINTF */

#define TEXTSINK_PIECE_MAX	512	/* the longest piece textsink_printf formats */

struct textsink {
	FILE *fp;		/* the output, or NULL for buf */
	char *buf;
	size_t size;
	size_t len;		/* bytes produced, whether or not they fit buf */
	int err;		/* errno of the first failure; 0 */
};

/* textsink_put - n bytes of p; nothing after the first error */
void textsink_put(struct textsink *k, const char *p, size_t n);

/* textsink_str - the string s */
void textsink_str(struct textsink *k, const char *s);

/*
 * textsink_printf - a formatted piece of at most TEXTSINK_PIECE_MAX - 1
 * bytes (longer is a bug: msg_panic). For the renderer's own markup and
 * numbers only, never for untrusted text, which needs its escaping.
 */
void textsink_printf(struct textsink *k, const char *fmt, ...) MIX_PRINTF(2, 3);

/*
 * textsink_buffer - start k on buf (size bytes; buf may be NULL when size
 * is 0) for a function that reports the length in *need. 0, or -1 with
 * errno EINVAL (need NULL, or buf NULL with size > 0).
 */
int textsink_buffer(struct textsink *k, char *buf, size_t size, size_t *need);

/*
 * textsink_buffer_end - finish the buffer form after the rendering gave
 * status (0 or -1 with errno): NUL-terminates buf, sets *need to the
 * text's length, and returns 0 if it fit, or -1 (errno ERANGE, buf
 * holding a cut text; or the rendering's errno, buf then empty and *need
 * 0).
 */
int textsink_buffer_end(struct textsink *k, int status, size_t *need);

#endif
