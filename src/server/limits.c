/* Counts per client, shared by every loop: connections at once
 * (max_connections_per_ip) and password checks in flight
 * (auth_checks_per_client, auth_checks_max). A small open-addressing table
 * under one mutex: it is touched once when a count goes up and once when it
 * goes down, and never holds more live entries than its total bound. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "server/internal.h"

/* Keys: an IPv4 client is ::ffff:a.b.c.d (an IPv4-mapped IPv6 peer of a
 * dual-stack listener gets the same key). An IPv6 client is its /64: one
 * subscriber commonly gets a whole /64 (RFC 6177) and picks addresses in it
 * at will, so counting single addresses would let one host multiply its
 * share by 2^64. The last octet 64 marks a prefix key, so no prefix key
 * equals an IPv4 key and no key is all zeros (an empty slot). */
void srv_client_key(const struct sockaddr_storage *addr, unsigned char key[SRV_CLIENT_KEY_LEN])
{
	memset(key, 0, SRV_CLIENT_KEY_LEN);
	if (addr->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)addr)->sin_addr, 4);
	} else if (addr->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(key, a->s6_addr, 16);
		} else {
			memcpy(key, a->s6_addr, 8);
			key[15] = 64;
		}
	}
}

bool srv_client_is_loopback(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
	if (addr->ss_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static size_t key_hash(const unsigned char key[SRV_CLIENT_KEY_LEN], size_t size)
{
	return (size_t)hash_fnv1a(HASH_FNV1A_INIT, key, SRV_CLIENT_KEY_LEN) & (size - 1);
}

int srv_ip_table_init(struct srv_ip_table *t, unsigned max_entries)
{
	size_t size = 64;
	while (size < (size_t)max_entries * 2)
		size *= 2;
	t->slots = calloc(size, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->size = size;
	t->total = 0;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void srv_ip_table_fini(struct srv_ip_table *t)
{
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
}

static bool slot_empty(const struct srv_ip_slot *s)
{
	static const unsigned char zero[SRV_CLIENT_KEY_LEN];
	return !memcmp(s->key, zero, sizeof(zero));
}

/* Linear probing: a slot whose count drops to 0 keeps its key (a
 * tombstone, reusable) until srv_ip_release can empty it. */
static struct srv_ip_slot *find(struct srv_ip_table *t, const unsigned char *key, bool add)
{
	size_t i = key_hash(key, t->size);
	struct srv_ip_slot *free_slot = NULL;
	for (size_t n = 0; n < t->size; n++, i = (i + 1) & (t->size - 1)) {
		struct srv_ip_slot *s = &t->slots[i];
		if (slot_empty(s)) {
			if (!free_slot)
				free_slot = s;
			break;
		}
		if (!memcmp(s->key, key, SRV_CLIENT_KEY_LEN))
			return s;
		if (s->count == 0 && !free_slot)
			free_slot = s;
	}
	if (!add || !free_slot)
		return NULL;
	memcpy(free_slot->key, key, SRV_CLIENT_KEY_LEN);
	free_slot->count = 0;
	return free_slot;
}

enum srv_ip_verdict srv_ip_acquire(struct srv_ip_table *t, const struct sockaddr_storage *addr,
				   unsigned per_client, unsigned total)
{
	unsigned char key[SRV_CLIENT_KEY_LEN];
	srv_client_key(addr, key);
	pthread_mutex_lock(&t->lock);
	enum srv_ip_verdict v = SRV_IP_OK;
	struct srv_ip_slot *s = NULL;
	if (total && t->total >= total)
		v = SRV_IP_TOTAL_FULL;
	else if (!(s = find(t, key, true)))
		v = SRV_IP_TOTAL_FULL; /* more live entries than the table was sized for */
	else if (per_client && s->count >= per_client)
		v = SRV_IP_CLIENT_FULL;
	if (v == SRV_IP_OK) {
		s->count++;
		t->total++;
	}
	pthread_mutex_unlock(&t->lock);
	return v;
}

void srv_ip_release(struct srv_ip_table *t, const struct sockaddr_storage *addr)
{
	unsigned char key[SRV_CLIENT_KEY_LEN];
	srv_client_key(addr, key);
	pthread_mutex_lock(&t->lock);
	struct srv_ip_slot *s = find(t, key, false);
	if (s && s->count > 0) {
		s->count--;
		t->total--;
	}
	/* A tombstone followed by an empty slot ends no probe chain: empty it,
	 * and the tombstones before it, so lookups stay short however many
	 * addresses came and went. */
	if (s && s->count == 0) {
		size_t i = (size_t)(s - t->slots);
		while (slot_empty(&t->slots[(i + 1) & (t->size - 1)]) && t->slots[i].count == 0 &&
		       !slot_empty(&t->slots[i])) {
			memset(t->slots[i].key, 0, SRV_CLIENT_KEY_LEN);
			i = (i - 1) & (t->size - 1);
		}
	}
	pthread_mutex_unlock(&t->lock);
}
