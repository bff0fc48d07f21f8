#include "common/str.h"

#include <string.h>

bool str_ieq(const char *p, size_t n, const char *word)
{
	size_t wn = strlen(word);
	if (wn != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (str_ascii_lower(p[i]) != str_ascii_lower(word[i]))
			return false;
	return true;
}

bool str_iprefix(const char *p, size_t n, const char *prefix)
{
	size_t pn = strlen(prefix);
	if (pn > n)
		return false;
	for (size_t i = 0; i < pn; i++)
		if (str_ascii_lower(p[i]) != str_ascii_lower(prefix[i]))
			return false;
	return true;
}

size_t str_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	if (dstlen == 0)
		return 0;
	size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

bool str_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}
