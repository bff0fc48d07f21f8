/* CRAM-MD5 (RFC 2195), the server's side, pure: the challenge it sends and
 * the check of the client's "user SP digest". Run here rather than by
 * libgsasl, whose challenge is always "<digits.0@localhost>": SPEC §3 asks
 * for "<random.timestamp@hostname>", as RFC 2195 §2 has it. */
#ifndef POSTERN_SASL_CRAM_H
#define POSTERN_SASL_CRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CRAM_CHALLENGE_MAX 300
#define CRAM_DIGEST_HEX 32

/* "<random.timestamp@hostname>" into out (CRAM_CHALLENGE_MAX); its length,
 * or 0 if hostname does not fit. */
size_t cram_challenge(char *out, uint64_t random, time_t now, const char *hostname);
/* Split a response: the user name is in[0 .. *user_len), then one space,
 * then 32 hex digits (either case). False when it is not of that form. */
bool cram_parse(const unsigned char *in, size_t len, size_t *user_len);
/* Whether the response's digest (its last 32 octets, cram_parse) is
 * HMAC-MD5 of the challenge keyed with the secret; compared in constant
 * time. False also when the digest cannot be computed. */
bool cram_verify(const unsigned char *in, size_t len, const char *secret, const char *challenge);

#endif
