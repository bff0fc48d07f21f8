/* Small string helpers that do not depend on the locale. */
#ifndef POSTERN_COMMON_STR_H
#define POSTERN_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>

static inline char str_ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static inline char str_ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; }
/* Case-insensitive (ASCII) comparison of p[0..n) with the NUL-terminated word. */
bool str_ieq(const char *p, size_t n, const char *word);
/* Case-insensitive (ASCII) prefix test of p[0..n) against the NUL-terminated prefix. */
bool str_iprefix(const char *p, size_t n, const char *prefix);
/* Copy at most dstlen-1 octets and NUL-terminate; returns the length copied. */
size_t str_copy(char *dst, size_t dstlen, const char *src, size_t srclen);
/* Constant-time comparison of two equal-length secrets. */
bool str_ct_equal(const void *a, const void *b, size_t n);

#endif
