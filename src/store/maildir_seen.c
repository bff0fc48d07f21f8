/* Which queue ids have a file in a mailbox, for recovered deliveries.
 *
 * A message recovered after a crash may have a copy in its mailbox already,
 * whole or cut short (maildir.c replaces it), and the copy's name holds the
 * queue id between its first two dots. Looking for it meant reading new/
 * and cur/ whole for every recovered message: after a crash with a backlog
 * of N messages for a mailbox of M files, N * M entries (a black-box test
 * saw deliveries fall from 2,600 to 60 a second). Here each mailbox is read
 * once, into a set of 64-bit hashes of the ids its names hold, and every
 * file this process links there afterwards is added: a lookup that misses
 * is then sure (no file of that id), and one that hits is checked by a
 * scan (a hash collision, a file a reader deleted, or one it moved from
 * new/ to cur/, which keeps its id).
 *
 * A link made while the mailbox is read is seen by the read or added after
 * it (adds wait for the lock the read holds). Memory is bounded: past
 * MAILDIR_SEEN_BUDGET ids a mailbox is not cached (its lookups scan, as
 * before), and a mailbox not looked up for ten minutes is forgotten. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"
#include "store/maildir.h"

#define SEEN_BUCKETS 256
#define SEEN_IDLE_S 600 /* a mailbox not looked up for this long is forgotten */

struct seen_box {
	struct seen_box *next; /* its bucket's chain */
	char *dir;
	uint64_t *keys; /* open addressing, at most half full; 0: empty */
	size_t cap, n;
	time_t used;
};

struct maildir_seen {
	pthread_mutex_t mu;
	struct seen_box *buckets[SEEN_BUCKETS];
	size_t total; /* ids held in all boxes */
	time_t swept;
};

static uint64_t id_key(const char *id, size_t len)
{
	uint64_t k = hash_fnv1a(HASH_FNV1A_INIT, id, len);
	return k ? k : 1;
}

static size_t dir_bucket(const char *dir)
{
	return (size_t)(hash_fnv1a(HASH_FNV1A_INIT, dir, strlen(dir)) % SEEN_BUCKETS);
}

static void box_free(struct seen_box *b)
{
	free(b->dir);
	free(b->keys);
	free(b);
}

/* 0, or -1 out of memory (the box is then unusable). */
static int box_add(struct maildir_seen *s, struct seen_box *b, uint64_t key)
{
	if (2 * (b->n + 1) > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		if (!keys)
			return -1;
		for (size_t i = 0; i < b->cap; i++) {
			if (!b->keys[i])
				continue;
			size_t j = b->keys[i] & (cap - 1);
			while (keys[j])
				j = (j + 1) & (cap - 1);
			keys[j] = b->keys[i];
		}
		free(b->keys);
		b->keys = keys;
		b->cap = cap;
	}
	size_t j = key & (b->cap - 1);
	for (; b->keys[j]; j = (j + 1) & (b->cap - 1))
		if (b->keys[j] == key)
			return 0;
	b->keys[j] = key;
	b->n++;
	s->total++;
	return 0;
}

static bool box_has(const struct seen_box *b, uint64_t key)
{
	if (!b->cap)
		return false;
	for (size_t j = key & (b->cap - 1); b->keys[j]; j = (j + 1) & (b->cap - 1))
		if (b->keys[j] == key)
			return true;
	return false;
}

/* Read dir/sub's names into b: 0, or -1 (unreadable, or over budget). */
static int box_read(struct maildir_seen *s, struct seen_box *b, const char *sub)
{
	size_t len = strlen(b->dir) + strlen(sub) + 1;
	char *path = malloc(len);
	if (!path)
		return -1;
	memcpy(path, b->dir, strlen(b->dir));
	memcpy(path + strlen(b->dir), sub, strlen(sub) + 1);
	DIR *d = opendir(path);
	free(path);
	if (!d)
		return errno == ENOENT ? 0 : -1; /* no mailbox yet: nothing in it */
	int rc = 0;
	struct dirent *de;
	for (errno = 0; rc == 0 && (de = readdir(d)) != NULL; errno = 0) {
		const char *dot = strchr(de->d_name, '.');
		const char *end = dot ? strchr(dot + 1, '.') : NULL;
		if (!end)
			continue; /* not "<seconds>.<id>.<host>": not ours */
		if (s->total >= MAILDIR_SEEN_BUDGET ||
		    box_add(s, b, id_key(dot + 1, (size_t)(end - dot - 1))) != 0)
			rc = -1;
	}
	if (errno) /* a read error is not the end: a half-read box would say "surely not" */
		rc = -1;
	closedir(d);
	return rc;
}

static struct seen_box **box_slot(struct maildir_seen *s, const char *dir)
{
	struct seen_box **p = &s->buckets[dir_bucket(dir)];
	while (*p && strcmp((*p)->dir, dir) != 0)
		p = &(*p)->next;
	return p;
}

static void box_drop(struct maildir_seen *s, struct seen_box **p)
{
	struct seen_box *b = *p;
	*p = b->next;
	s->total -= b->n;
	box_free(b);
}

/* Forget the mailboxes not looked up for SEEN_IDLE_S; once a minute. */
static void sweep(struct maildir_seen *s, time_t now)
{
	if (now - s->swept < 60)
		return;
	s->swept = now;
	for (size_t i = 0; i < SEEN_BUCKETS; i++)
		for (struct seen_box **p = &s->buckets[i]; *p;)
			if (now - (*p)->used > SEEN_IDLE_S)
				box_drop(s, p);
			else
				p = &(*p)->next;
}

struct maildir_seen *maildir_seen_new(void)
{
	struct maildir_seen *s = calloc(1, sizeof(*s));
	if (s)
		pthread_mutex_init(&s->mu, NULL);
	return s;
}

void maildir_seen_free(struct maildir_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SEEN_BUCKETS; i++)
		while (s->buckets[i])
			box_drop(s, &s->buckets[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

bool maildir_seen_may_have(struct maildir_seen *s, const char *dir, const char *id)
{
	if (!s)
		return true;
	time_t now = time(NULL);
	pthread_mutex_lock(&s->mu);
	sweep(s, now);
	struct seen_box **p = box_slot(s, dir);
	if (!*p) {
		struct seen_box *b = calloc(1, sizeof(*b));
		if (b && (b->dir = strdup(dir)) != NULL) {
			b->next = NULL;
			*p = b;
			if (box_read(s, b, "/new") != 0 || box_read(s, b, "/cur") != 0)
				box_drop(s, p); /* unknown: the caller scans */
		} else {
			free(b);
		}
	}
	bool may = true;
	if (*p) {
		(*p)->used = now;
		may = box_has(*p, id_key(id, strlen(id)));
	}
	pthread_mutex_unlock(&s->mu);
	return may;
}

void maildir_seen_add(struct maildir_seen *s, const char *dir, const char *id)
{
	if (!s)
		return;
	time_t now = time(NULL);
	pthread_mutex_lock(&s->mu);
	sweep(s, now); /* adds come with every delivery: lookups only with recovered ones */
	struct seen_box **p = box_slot(s, dir);
	/* past the budget a box goes rather than grow: a lookup then scans */
	if (*p && (s->total >= MAILDIR_SEEN_BUDGET || box_add(s, *p, id_key(id, strlen(id))) != 0))
		box_drop(s, p);
	pthread_mutex_unlock(&s->mu);
}
