/* Connection counts per client address, shared by every loop. A small
 * open-addressing table under one mutex: it is touched once at connect and
 * once at close, and never holds more entries than max_connections. */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "server/internal.h"

static void addr_key(const struct sockaddr_storage *a, unsigned char key[16])
{
	memset(key, 0, 16);
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)a;
		key[10] = key[11] = 0xff; /* IPv4-mapped form */
		memcpy(key + 12, &in4->sin_addr, 4);
	} else if (a->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
	}
}

static size_t addr_hash(const unsigned char key[16], size_t size)
{
	return (size_t)hash_fnv1a(HASH_FNV1A_INIT, key, 16) & (size - 1);
}

int srv_ip_table_init(struct srv_ip_table *t, unsigned max_connections)
{
	size_t size = 64;
	while (size < (size_t)max_connections * 2)
		size *= 2;
	t->slots = calloc(size, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->size = size;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void srv_ip_table_fini(struct srv_ip_table *t)
{
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
}

/* Linear probing; a slot whose count drops to 0 stays as a tombstone only
 * until the table is rebuilt below, so lookups scan until an empty key. */
static struct srv_ip_slot *find(struct srv_ip_table *t, const unsigned char key[16], bool add)
{
	static const unsigned char zero[16];
	size_t i = addr_hash(key, t->size);
	struct srv_ip_slot *free_slot = NULL;
	for (size_t n = 0; n < t->size; n++, i = (i + 1) & (t->size - 1)) {
		struct srv_ip_slot *s = &t->slots[i];
		if (!memcmp(s->addr, key, 16) && memcmp(key, zero, 16))
			return s;
		if (s->count == 0 && !free_slot)
			free_slot = s;
		if (!memcmp(s->addr, zero, 16))
			break;
	}
	if (add && free_slot) {
		memcpy(free_slot->addr, key, 16);
		free_slot->count = 0;
	}
	return add ? free_slot : NULL;
}

bool srv_ip_acquire(struct srv_ip_table *t, const struct sockaddr_storage *addr, unsigned limit)
{
	unsigned char key[16];
	addr_key(addr, key);
	pthread_mutex_lock(&t->lock);
	struct srv_ip_slot *s = find(t, key, true);
	bool ok = s && (limit == 0 || s->count < limit);
	if (ok)
		s->count++;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void srv_ip_release(struct srv_ip_table *t, const struct sockaddr_storage *addr)
{
	unsigned char key[16];
	addr_key(addr, key);
	pthread_mutex_lock(&t->lock);
	struct srv_ip_slot *s = find(t, key, false);
	if (s && s->count > 0)
		s->count--;
	pthread_mutex_unlock(&t->lock);
}
