/* Queue ids to index slots, for recovery only (queue.c, recover): the
 * messages it has moved to the index while it reads the journal, so that a
 * later S or D record finds them. 40 octets a message instead of the
 * ~350 of an entry in memory. Open addressing with linear probing; a
 * removal shifts the cells after it back, so no tombstones. */
#include "queue/queue_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct queue_idmap_cell {
	char id[QREC_ID_MAX + 1]; /* "": free */
	uint32_t slot;
	bool spill;
};

static size_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

/* The cell of id, or the free cell where it would go (cap > n). */
static struct queue_idmap_cell *find(const struct queue_idmap *m, const char *id)
{
	size_t mask = m->cap - 1;
	for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
		struct queue_idmap_cell *c = &m->cells[i];
		if (!c->id[0] || strcmp(c->id, id) == 0)
			return c;
	}
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
		if (old[i].id[0])
			*find(m, old[i].id) = old[i];
	free(old);
	return 0;
}

int queue_idmap_put(struct queue_idmap *m, const char *id, uint32_t slot, bool spill)
{
	if (strlen(id) > QREC_ID_MAX)
		return EINVAL;
	if ((m->n + 1) * 2 > m->cap && grow(m) != 0) /* at most half full */
		return ENOMEM;
	struct queue_idmap_cell *c = find(m, id);
	if (!c->id[0]) {
		memcpy(c->id, id, strlen(id) + 1);
		m->n++;
	}
	c->slot = slot;
	c->spill = spill;
	return 0;
}

bool queue_idmap_take(struct queue_idmap *m, const char *id, uint32_t *slot)
{
	if (m->n == 0)
		return false;
	struct queue_idmap_cell *c = find(m, id);
	if (!c->id[0])
		return false;
	*slot = c->slot;
	m->n--;
	/* shift back every later cell of the run that may sit past its home */
	size_t mask = m->cap - 1, hole = (size_t)(c - m->cells);
	for (size_t i = (hole + 1) & mask; m->cells[i].id[0]; i = (i + 1) & mask) {
		size_t home = id_hash(m->cells[i].id) & mask;
		/* movable when its home is not in (hole, i] (cyclically) */
		bool between = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
		if (!between) {
			m->cells[hole] = m->cells[i];
			hole = i;
		}
	}
	m->cells[hole].id[0] = '\0';
	return true;
}

bool queue_idmap_has(const struct queue_idmap *m, const char *id)
{
	return m->n > 0 && strlen(id) <= QREC_ID_MAX && find(m, id)->id[0];
}

void queue_idmap_each_spill(const struct queue_idmap *m, void (*fn)(void *arg, uint32_t slot),
			    void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->cells[i].id[0] && m->cells[i].spill)
			fn(arg, m->cells[i].slot);
}

void queue_idmap_free(struct queue_idmap *m)
{
	free(m->cells);
	memset(m, 0, sizeof(*m));
}
