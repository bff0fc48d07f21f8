/* Base64 (RFC 4648 §4) for the AUTH exchange: strict decoding (no spaces,
 * correct padding), because RFC 4954 §4 makes invalid base64 a 501. */
#ifndef POSTERN_COMMON_BASE64_H
#define POSTERN_COMMON_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Octets needed to encode n octets (without a NUL). */
static inline size_t base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }
/* Upper bound of octets decoded from n base64 characters. */
static inline size_t base64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

/* Encode in[0..n) into out (room for base64_encoded_len(n) + 1, NUL-terminated). */
size_t base64_encode(const void *in, size_t n, char *out);
/* Decode in[0..n) into out (room for base64_decoded_max(n)); false if the
 * input is not canonical base64 (bad character, bad length or padding). */
bool base64_decode(const char *in, size_t n, void *out, size_t *out_len);

#endif
