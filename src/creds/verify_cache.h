/* A cache of successful password checks (PLAIN, LOGIN), in the manner of
 * Dovecot's auth cache and saslauthd -c: yescrypt is meant to cost tens of
 * milliseconds, which a busy submission server would pay on every session.
 *
 * An entry holds no password: only HMAC-SHA-256 under a key drawn at start,
 * over the user name, the user's crypt hash and the password. A changed
 * hash (a new users file) therefore misses, a wrong password misses and
 * pays the full check, failures are never cached, and entries expire after
 * a TTL. One entry per user (direct-mapped, bounded memory); thread-safe. */
#ifndef POSTERN_CREDS_VERIFY_CACHE_H
#define POSTERN_CREDS_VERIFY_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "creds/creds.h"

#define CREDS_CACHE_SLOTS 4096

struct creds_cache;

/* ttl_s > 0. NULL on failure (no memory, no random numbers). */
struct creds_cache *creds_cache_new(unsigned ttl_s);
void creds_cache_free(struct creds_cache *c); /* wipes it; NULL is a no-op */

/* true when this user's password was checked good against this same hash
 * less than ttl seconds ago. now is seconds on a monotonic clock. */
bool creds_cache_check(struct creds_cache *c, const struct creds_user *u, const char *password,
		       unsigned long long now);
/* Remember a password that creds_verify_password accepted. */
void creds_cache_put(struct creds_cache *c, const struct creds_user *u, const char *password,
		     unsigned long long now);

#endif
