/*
 * mem.h - allocation that never returns NULL to its caller. Running out of
 * memory is environment trouble: msg_fatal, exit 75, the MTA retries.
 * Secret material uses mcrypto_secret_alloc() instead (guarded, locked,
 * wiped on free).
 */
#ifndef MIX_MEM_H
#define MIX_MEM_H

#include <stddef.h>

void *mem_alloc(size_t len);
void *mem_calloc(size_t n, size_t len);
void *mem_realloc(void *p, size_t len);
char *mem_strdup(const char *s);
void mem_free(void *p);

#endif
