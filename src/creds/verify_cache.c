#include "creds/verify_cache.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/str.h"

#define TAG_LEN 32

struct cache_entry {
	unsigned char tag[TAG_LEN]; /* HMAC(key, name \0 hash \0 password) */
	unsigned long long expires; /* 0: empty */
};

struct creds_cache {
	pthread_mutex_t lock;
	unsigned ttl;
	unsigned char key[32];
	struct cache_entry slots[CREDS_CACHE_SLOTS];
};

struct creds_cache *creds_cache_new(unsigned ttl_s)
{
	struct creds_cache *c = calloc(1, sizeof(*c));
	if (!c || ttl_s == 0 || creds_random(c->key, sizeof(c->key))) {
		free(c);
		return NULL;
	}
	c->ttl = ttl_s;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void creds_cache_free(struct creds_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	creds_wipe(c, sizeof(*c));
	free(c);
}

/* The slot: FNV-1a of the name (the name is not secret; the tag is). */
static size_t slot_of(const char *name)
{
	return hash_fnv1a(HASH_FNV1A_INIT, name, strlen(name)) % CREDS_CACHE_SLOTS;
}

static bool tag_of(const struct creds_cache *c, const struct creds_user *u, const char *password,
		   unsigned char *tag)
{
	unsigned char buf[CREDS_NAME_MAX + 1 + 512 + 1 + CREDS_PASSWORD_MAX];
	size_t nl = strlen(u->name), hl = strlen(u->hash), pl = strlen(password);
	if (nl > CREDS_NAME_MAX || hl > 512 || pl > CREDS_PASSWORD_MAX)
		return false;
	memcpy(buf, u->name, nl + 1);
	memcpy(buf + nl + 1, u->hash, hl + 1);
	memcpy(buf + nl + 1 + hl + 1, password, pl);
	unsigned len = 0;
	bool ok = HMAC(EVP_sha256(), c->key, sizeof(c->key), buf, nl + hl + 2 + pl, tag, &len) &&
		  len == TAG_LEN;
	creds_wipe(buf, sizeof(buf));
	return ok;
}

bool creds_cache_check(struct creds_cache *c, const struct creds_user *u, const char *password,
		       unsigned long long now)
{
	unsigned char tag[TAG_LEN];
	if (!c || !u || u->hash[0] != '$' || !tag_of(c, u, password, tag))
		return false;
	struct cache_entry *e = &c->slots[slot_of(u->name)];
	pthread_mutex_lock(&c->lock);
	bool hit = e->expires > now && str_ct_equal((const char *)e->tag, (const char *)tag, TAG_LEN);
	pthread_mutex_unlock(&c->lock);
	creds_wipe(tag, sizeof(tag));
	return hit;
}

void creds_cache_put(struct creds_cache *c, const struct creds_user *u, const char *password,
		     unsigned long long now)
{
	unsigned char tag[TAG_LEN];
	if (!c || !u || u->hash[0] != '$' || !tag_of(c, u, password, tag))
		return;
	struct cache_entry *e = &c->slots[slot_of(u->name)];
	pthread_mutex_lock(&c->lock);
	memcpy(e->tag, tag, TAG_LEN);
	e->expires = now + c->ttl;
	pthread_mutex_unlock(&c->lock);
	creds_wipe(tag, sizeof(tag));
}
