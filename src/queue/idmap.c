/* Queue ids to index slots, for recovery only (queue.c, recover): the
 * messages it has moved to the index while it reads the journal, so that a
 * later S or D record finds them. A cell holds a 64-bit hash of the id, not
 * the id: 16 octets a message (at most half the cells used) instead of the
 * ~350 of an entry in memory. Two ids may share a hash, so a key gives
 * candidates, and the caller reads each candidate slot's id to choose.
 * Open addressing with linear probing; a removal shifts the cells after it
 * back, so no tombstones. */
#include "queue/queue_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct queue_idmap_cell {
	uint64_t key; /* 0: free */
	uint32_t slot;
	uint32_t spill;
};

uint64_t queue_idmap_key(const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h ? h : 1;
}

static size_t home(const struct queue_idmap *m, uint64_t key)
{
	return (size_t)(key ^ (key >> 32)) & (m->cap - 1);
}

static void place(struct queue_idmap *m, struct queue_idmap_cell c)
{
	size_t i = home(m, c.key);
	while (m->cells[i].key)
		i = (i + 1) & (m->cap - 1);
	m->cells[i] = c;
}

static int grow(struct queue_idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct queue_idmap_cell *old = m->cells, *cells = calloc(cap, sizeof(*cells));
	if (!cells)
		return ENOMEM;
	size_t old_cap = m->cap;
	m->cells = cells;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			place(m, old[i]);
	free(old);
	return 0;
}

int queue_idmap_put(struct queue_idmap *m, uint64_t key, uint32_t slot, bool spill)
{
	if ((m->n + 1) * 2 > m->cap && grow(m) != 0) /* at most half full */
		return ENOMEM;
	place(m, (struct queue_idmap_cell){key ? key : 1, slot, spill});
	m->n++;
	return 0;
}

bool queue_idmap_next(const struct queue_idmap *m, uint64_t key, size_t *at, uint32_t *slot)
{
	if (m->n == 0)
		return false;
	size_t mask = m->cap - 1;
	for (size_t i = *at == SIZE_MAX ? home(m, key) : (*at + 1) & mask; m->cells[i].key;
	     i = (i + 1) & mask) {
		if (m->cells[i].key == key) {
			*at = i;
			*slot = m->cells[i].slot;
			return true;
		}
	}
	return false;
}

void queue_idmap_remove_at(struct queue_idmap *m, size_t at)
{
	size_t mask = m->cap - 1, hole = at;
	m->n--;
	/* shift back every later cell of the run that may sit past its home */
	for (size_t i = (hole + 1) & mask; m->cells[i].key; i = (i + 1) & mask) {
		size_t h = home(m, m->cells[i].key);
		/* it stays where it is when its home is in (hole, i] (cyclically) */
		bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
		if (!stays) {
			m->cells[hole] = m->cells[i];
			hole = i;
		}
	}
	m->cells[hole].key = 0;
}

void queue_idmap_each_spill(const struct queue_idmap *m, void (*fn)(void *arg, uint32_t slot),
			    void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->cells[i].key && m->cells[i].spill)
			fn(arg, m->cells[i].slot);
}

void queue_idmap_free(struct queue_idmap *m)
{
	free(m->cells);
	memset(m, 0, sizeof(*m));
}
