/* FNV-1a (64-bit): the hash of the in-memory tables (connection counts per
 * address, AUTH failures, the password cache, directory fsync buckets).
 * Not a MAC: a table an attacker can aim at gets a secret seed. */
#ifndef POSTERN_COMMON_HASH_H
#define POSTERN_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT UINT64_C(14695981039346656037) /* the offset basis */

static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * UINT64_C(1099511628211);
	return h;
}

#endif
