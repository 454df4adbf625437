/*
 * mem.c - allocation wrappers: exit with a temporary failure instead of
 * returning NULL, so that no caller has an out-of-memory path to get wrong.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

void *
mem_alloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (p == NULL)
		msg_fatal("out of memory (%zu bytes)", len);
	return p;
}

void *
mem_calloc(size_t n, size_t len)
{
	void *p;

	if (len != 0 && n > SIZE_MAX / len)
		msg_panic("mem_calloc: size overflow");
	p = calloc(n ? n : 1, len ? len : 1);
	if (p == NULL)
		msg_fatal("out of memory (%zu x %zu bytes)", n, len);
	return p;
}

void *
mem_realloc(void *old, size_t len)
{
	void *p = realloc(old, len ? len : 1);

	if (p == NULL)
		msg_fatal("out of memory (%zu bytes)", len);
	return p;
}

char *
mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mem_alloc(n);

	memcpy(p, s, n);
	return p;
}

void
mem_free(void *p)
{
	free(p);
}
