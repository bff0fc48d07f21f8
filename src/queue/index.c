/* The index: the queued messages that are not in memory (queue_int.h).
 *
 * Memory holds only the messages that are due or being delivered, at most
 * active_max of them (Postfix's active queue and qmgr_message_active_limit);
 * a deferred, held or failed message, and a new one while the active ones
 * are at the limit, is a fixed-size slot here (Postfix's deferred, hold and
 * incoming queues). So the server's memory stays flat while the queue
 * grows (bench/RESULTS.md): a slot costs 128 octets of file, not ~350 of
 * memory.
 *
 * The journal stays the only truth: a slot holds what the entry held but
 * its recipients' states, which are those of the message's latest S record
 * (an entry whose states were not written there stays in memory). So the
 * file is never flushed and has no name (O_TMPFILE): at a restart,
 * recovery rebuilds it from the journal.
 *
 * Free slots form a chain through the file; the file is cut to nothing
 * when its last slot is freed. A scan for due slots reads SCAN_SLOTS at a
 * time from where the last one stopped, so every slot gets its turn. */
#include "queue/queue_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define SLOT_SIZE 128
#define SCAN_SLOTS 512 /* 64 KiB per read */
#define NO_SLOT UINT32_MAX

_Static_assert(sizeof(struct queue_slot) <= SLOT_SIZE, "a slot must fit its place in the file");

int queue_index_open(struct queue *q)
{
	q->index_free = NO_SLOT;
	q->index_due = UINT64_MAX;
	int fd = open(q->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* a file system without O_TMPFILE: a name, removed at once */
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/index.XXXXXX", q->dir) >= (int)sizeof(path))
			return ENAMETOOLONG;
		if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
			(void)unlink(path);
	}
	if (fd < 0)
		return errno;
	q->index_fd = fd;
	return 0;
}

void queue_index_close(struct queue *q)
{
	if (q->index_fd >= 0)
		close(q->index_fd);
	q->index_fd = -1;
}

static int slot_write(struct queue *q, uint32_t i, const struct queue_slot *s)
{
	unsigned char b[SLOT_SIZE] = {0};
	memcpy(b, s, sizeof(*s));
	errno = 0;
	return pwrite(q->index_fd, b, SLOT_SIZE, (off_t)i * SLOT_SIZE) == SLOT_SIZE ? 0
										    : queue_errno();
}

static int slot_read(struct queue *q, uint32_t i, struct queue_slot *s)
{
	unsigned char b[SLOT_SIZE];
	errno = 0;
	if (pread(q->index_fd, b, SLOT_SIZE, (off_t)i * SLOT_SIZE) != SLOT_SIZE)
		return queue_errno();
	memcpy(s, b, sizeof(*s));
	return 0;
}

bool queue_entry_wanted(const struct queue_entry *e, uint64_t now)
{
	return e->active || e->deleted || e->unsaved ||
	       (!e->held && e->next_try <= now && queue_entry_pending(e) > 0);
}

static void note_due(struct queue *q, const struct queue_slot *s)
{
	if (!s->held && s->npending && s->next_try < q->index_due)
		q->index_due = s->next_try;
}

bool queue_index_put(struct queue *q, struct queue_entry *e, uint32_t *slot)
{
	if (q->index_fd < 0 || e->active || e->deleted || e->unsaved)
		return false;
	struct queue_slot s;
	memset(&s, 0, sizeof(s));
	memcpy(s.id, e->id, sizeof(s.id));
	s.seg = e->seg;
	s.off = e->off;
	s.len = e->len;
	s.snap_seg = e->snap_seg;
	s.snap_off = e->snap_off;
	s.snap_len = e->snap_len;
	s.size = e->size;
	s.queued_at = e->queued_at;
	s.next_try = e->next_try;
	s.attempts = e->attempts;
	s.nrcpt = e->nrcpt;
	s.npending = queue_entry_pending(e);
	s.spill = e->spill;
	s.held = e->held;
	s.recovered = e->recovered;
	s.next_free = NO_SLOT;
	bool reuse = q->index_free != NO_SLOT; /* a free slot, else a new one at the end */
	uint32_t i = reuse ? q->index_free : q->index_slots, next_free = NO_SLOT;
	if (reuse) {
		struct queue_slot old = {.next_free = NO_SLOT};
		if (slot_read(q, i, &old))
			return false;
		next_free = old.next_free;
	} else if (i == NO_SLOT) {
		return false;
	}
	if (slot_write(q, i, &s))
		return false;
	if (reuse)
		q->index_free = next_free;
	else
		q->index_slots++;
	q->index_used++;
	note_due(q, &s);
	if (slot)
		*slot = i;
	/* its segment references go with it into the slot */
	queue_unlink(q, e);
	queue_entry_free(e);
	return true;
}

/* Free slot i (its content is in s already); false if that failed. */
static bool slot_free(struct queue *q, uint32_t i)
{
	struct queue_slot s;
	memset(&s, 0, sizeof(s));
	s.next_free = q->index_free;
	if (slot_write(q, i, &s))
		return false;
	q->index_free = i;
	if (--q->index_used == 0) { /* give the space back */
		(void)ftruncate(q->index_fd, 0);
		q->index_slots = 0;
		q->index_free = NO_SLOT;
		q->index_pos = 0;
		q->index_due = UINT64_MAX;
	}
	return true;
}

/* The recipients' states from the slot's S record: 0, EIO if the record
 * is not what the slot says, or a passing error (out of descriptors or
 * memory: the slot stays for a later try). */
static int load_states(struct queue *q, const struct queue_slot *s, struct queue_entry *e)
{
	unsigned char *rec = NULL;
	struct qrec_state st;
	int err = queue_pread_record(q, s->snap_seg, s->snap_off, s->snap_len, &rec);
	if (err)
		return err;
	bool ok = qrec_parse_state(rec + QREC_HDR, s->snap_len - QREC_HDR, &st) &&
		  st.nrcpt == e->nrcpt && strcmp(st.id, e->id) == 0;
	const unsigned char *p = ok ? st.rcpts : NULL;
	size_t n = ok ? st.rcpts_len : 0;
	for (uint32_t i = 0; ok && i < e->nrcpt; i++) {
		uint8_t status;
		struct qrec_str t;
		if (!qrec_next_rcpt(&p, &n, &status, &t) || status > QREC_RCPT_FAILED) {
			ok = false;
			break;
		}
		e->rstat[i] = status;
		if (t.len && !(e->rtext[i] = strndup(t.p, t.len))) {
			free(rec);
			return ENOMEM;
		}
	}
	free(rec);
	return ok ? 0 : EIO;
}

/* Bring slot i (content s) into memory and free it; NULL if that failed
 * (the slot stays). */
static struct queue_entry *slot_load(struct queue *q, uint32_t i, const struct queue_slot *s)
{
	struct queue_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->id, s->id, sizeof(e->id));
	e->seg = s->seg;
	e->off = s->off;
	e->len = s->len;
	e->snap_seg = s->snap_seg;
	e->snap_off = s->snap_off;
	e->snap_len = s->snap_len;
	e->size = s->size;
	e->queued_at = s->queued_at;
	e->next_try = s->next_try;
	e->attempts = s->attempts;
	e->nrcpt = s->nrcpt;
	e->spill = s->spill;
	e->held = s->held;
	e->recovered = s->recovered;
	e->rstat = calloc(e->nrcpt ? e->nrcpt : 1, 1);
	e->rtext = calloc(e->nrcpt ? e->nrcpt : 1, sizeof(char *));
	if (!e->rstat || !e->rtext) {
		queue_entry_free(e);
		return NULL;
	}
	int err = s->snap_seg ? load_states(q, s, e) : 0;
	if (err && err != EIO) {
		queue_entry_free(e);
		return NULL;
	}
	if (err) {
		/* cannot happen unless the disk lies: rather deliver twice
		 * (over what is there) than never */
		log_msg(LOG_ERROR, "event=queue_state_unreadable queue_id=%s action=\"its pending "
			"recipients are taken as all of them\"", e->id);
		for (uint32_t k = 0; k < e->nrcpt; k++) {
			free(e->rtext[k]);
			e->rtext[k] = NULL;
			e->rstat[k] = QREC_RCPT_PENDING;
		}
		e->recovered = true;
	}
	if (!slot_free(q, i)) {
		queue_entry_free(e);
		return NULL;
	}
	queue_link(q, e);
	return e;
}

struct queue_entry *queue_index_load_slot(struct queue *q, uint32_t i)
{
	struct queue_slot s;
	if (i >= q->index_slots || slot_read(q, i, &s) || !s.id[0])
		return NULL;
	return slot_load(q, i, &s);
}

int queue_index_slot_is(struct queue *q, uint32_t i, const char *id)
{
	struct queue_slot s;
	if (i >= q->index_slots)
		return 0;
	int e = slot_read(q, i, &s);
	if (e)
		return -e;
	return s.id[0] && strncmp(s.id, id, sizeof(s.id)) == 0;
}

/* What a scan does with a used slot. */
enum visit { SKIP, LOAD, STOP };

/* Visit used slots once each, from *cursor on: to the end and round to
 * where it began when wrap, else to the end only; load those the visitor
 * wants. *cursor is left where the next scan goes on. The number loaded,
 * or -1 if the scan did not see every slot it was to (stopped, or a read
 * failed: *failed). */
static long scan(struct queue *q, uint32_t *cursor, bool wrap,
		 enum visit (*visit)(void *arg, const struct queue_slot *s, struct queue_entry **e),
		 void *arg, bool *failed)
{
	*failed = false;
	unsigned char *chunk = malloc((size_t)SCAN_SLOTS * SLOT_SIZE);
	if (!chunk) {
		*failed = true;
		return -1;
	}
	uint32_t total = q->index_slots, pos = *cursor < total ? *cursor : 0;
	uint32_t span = wrap ? total : total - pos;
	uint32_t seen = 0, n = 0, k = 0;
	long loaded = 0;
	bool whole = true;
	while (seen < span && q->index_used > 0) {
		if (k == n) {
			n = total - pos < SCAN_SLOTS ? total - pos : SCAN_SLOTS;
			size_t want = (size_t)n * SLOT_SIZE;
			if (pread(q->index_fd, chunk, want, (off_t)pos * SLOT_SIZE) != (ssize_t)want) {
				whole = false;
				*failed = true;
				break;
			}
			k = 0;
		}
		struct queue_slot s;
		memcpy(&s, chunk + (size_t)k * SLOT_SIZE, sizeof(s));
		uint32_t i = pos;
		k++;
		seen++;
		if (++pos == total) {
			pos = 0;
			k = n; /* read again from the start */
		}
		if (!s.id[0])
			continue;
		struct queue_entry *e = NULL;
		enum visit v = visit(arg, &s, &e);
		if (v == STOP) {
			pos = i;
			whole = false;
			break;
		}
		if (v == LOAD && (e = slot_load(q, i, &s)) == NULL)
			whole = false; /* it stays, and counts as due: tried again */
		else if (v == LOAD) {
			loaded++;
			if (visit(arg, &s, &e) == STOP) { /* told of the load; enough? */
				whole = seen == span;
				break;
			}
		}
	}
	free(chunk);
	*cursor = q->index_slots ? pos % q->index_slots : 0;
	return whole ? loaded : -1;
}

/* ---- loading due slots ---- */

struct due_scan {
	uint64_t now, min_due;
	size_t max, loaded;
};

static enum visit visit_due(void *arg, const struct queue_slot *s, struct queue_entry **e)
{
	struct due_scan *d = arg;
	if (*e) /* loaded */
		return ++d->loaded == d->max ? STOP : SKIP;
	if (s->held || s->npending == 0)
		return SKIP;
	if (s->next_try <= d->now)
		return LOAD;
	if (s->next_try < d->min_due)
		d->min_due = s->next_try;
	return SKIP;
}

size_t queue_index_load_due(struct queue *q, uint64_t now, size_t max)
{
	if (q->index_used == 0 || q->index_due > now)
		return 0;
	size_t room = q->nentries < q->active_max ? q->active_max - q->nentries : 0;
	if (max > room)
		max = room;
	if (max == 0)
		return 0;
	struct due_scan d = {now, UINT64_MAX, max, 0};
	bool failed;
	long r = scan(q, &q->index_pos, true, visit_due, &d, &failed);
	/* a whole pass saw every slot left: none is due before min_due */
	if (r >= 0)
		q->index_due = q->index_used ? d.min_due : UINT64_MAX;
	return d.loaded;
}

/* ---- loading by id or by segment ---- */

struct id_scan {
	const char *id;
	struct queue_entry *found;
};

static enum visit visit_id(void *arg, const struct queue_slot *s, struct queue_entry **e)
{
	struct id_scan *d = arg;
	if (*e) {
		d->found = *e;
		return STOP;
	}
	return strcmp(s->id, d->id) == 0 ? LOAD : SKIP;
}

struct queue_entry *queue_index_load_id(struct queue *q, const char *id)
{
	struct id_scan d = {id, NULL};
	uint32_t from = 0;
	bool failed;
	if (q->index_used)
		(void)scan(q, &from, false, visit_id, &d, &failed);
	return d.found;
}

struct seg_scan {
	struct queue *q;
	uint64_t seg;
	bool (*fn)(struct queue *q, struct queue_entry *e, void *arg);
	void *arg;
};

static enum visit visit_seg(void *arg, const struct queue_slot *s, struct queue_entry **e)
{
	struct seg_scan *d = arg;
	if (*e)
		return d->fn(d->q, *e, d->arg) ? STOP : SKIP;
	return s->seg == d->seg || s->snap_seg == d->seg ? LOAD : SKIP;
}

int queue_index_each_in_seg(struct queue *q, uint64_t seg, uint32_t *cursor,
			    bool (*fn)(struct queue *q, struct queue_entry *e, void *arg), void *arg)
{
	struct seg_scan d = {q, seg, fn, arg};
	bool failed = false;
	if (q->index_used && *cursor < q->index_slots &&
	    scan(q, cursor, false, visit_seg, &d, &failed) < 0)
		return failed ? -1 : 0;
	*cursor = UINT32_MAX;
	return 1;
}

/* ---- retry all, settle ---- */

size_t queue_index_retry_all(struct queue *q)
{
	size_t n = 0;
	for (uint32_t i = 0; i < q->index_slots; i++) {
		struct queue_slot s;
		if (slot_read(q, i, &s) || !s.id[0] || s.held || s.next_try == 0)
			continue;
		s.next_try = 0;
		if (slot_write(q, i, &s) == 0)
			n++;
	}
	if (q->index_used)
		q->index_due = 0;
	return n;
}

void queue_index_settle(struct queue *q, uint64_t now)
{
	for (struct queue_entry *e = q->head, *next; e; e = next) {
		next = e->next;
		if (!queue_entry_wanted(e, now))
			(void)queue_index_put(q, e, NULL);
	}
	/* still too many: the newest wait in the index, due */
	for (struct queue_entry *e = q->tail, *prev; e && q->nentries > q->active_max; e = prev) {
		prev = e->prev;
		(void)queue_index_put(q, e, NULL);
	}
}

/* ---- each, for list ---- */

int queue_index_snapshot(struct queue *q, struct queue_slot **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!q->index_used)
		return 0;
	struct queue_slot *v = malloc((size_t)q->index_used * sizeof(*v));
	unsigned char *chunk = malloc((size_t)SCAN_SLOTS * SLOT_SIZE);
	if (!v || !chunk) {
		free(v);
		free(chunk);
		return -1;
	}
	for (uint32_t pos = 0; pos < q->index_slots && *n < q->index_used;) {
		uint32_t k = q->index_slots - pos < SCAN_SLOTS ? q->index_slots - pos : SCAN_SLOTS;
		size_t want = (size_t)k * SLOT_SIZE;
		if (pread(q->index_fd, chunk, want, (off_t)pos * SLOT_SIZE) != (ssize_t)want) {
			free(chunk); /* a list that leaves messages out says so */
			free(v);
			return -1;
		}
		for (uint32_t i = 0; i < k && *n < q->index_used; i++) {
			memcpy(&v[*n], chunk + (size_t)i * SLOT_SIZE, sizeof(*v));
			if (v[*n].id[0])
				(*n)++;
		}
		pos += k;
	}
	free(chunk);
	*out = v;
	return 0;
}
