/* The commands of `postern queue` (postqueue/postsuper's jobs), answered
 * as text: a first line "ok" or "error: ...", then logfmt lines. */
#include "queue/queue_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* What list needs of an entry, copied under the lock. */
struct snap {
	char id[QREC_ID_MAX + 1];
	uint64_t seg, off;
	uint32_t len;
	uint64_t size, queued_at, next_try;
	const char *state;
	char *last_error;
};

/* hold or delete of a message being delivered: the attempt under way is
 * not cut short (what it delivers stays delivered), which the answer says
 * (it said "ok" alone, and a black-box test saw a deleted message delivered) */
#define UNDER_WAY " note=\"being delivered: takes effect when this attempt ends\""

/* The state list and show print, from what an entry or a slot holds. */
static const char *state_name(bool active, bool held, uint32_t npending, uint32_t attempts)
{
	if (active)
		return "active";
	if (held)
		return "held";
	if (npending == 0)
		return "failed";
	return attempts ? "deferred" : "queued";
}

static const char *state_of(const struct queue_entry *e)
{
	return state_name(e->active, e->held, queue_entry_pending(e), e->attempts);
}

/* The last error of a message, picked among its recipients' replies:
 * every attempt tries each recipient still pending, so their replies are
 * the latest attempt's (best); a failed one's may be older (next); a
 * delivered one's is no error. The first reply of the best rank wins. */
struct error_pick {
	int rank; /* 0: none yet; 2: nothing can beat it */
	const char *text;
	size_t len;
};

static void error_pick(struct error_pick *p, uint8_t status, const char *text, size_t len)
{
	int rank = !len || status == QREC_RCPT_DELIVERED ? 0 : status == QREC_RCPT_PENDING ? 2 : 1;
	if (rank > p->rank)
		*p = (struct error_pick){rank, text, len};
}

static const char *last_error(const struct queue_entry *e)
{
	struct error_pick p = {0, NULL, 0};
	for (uint32_t i = 0; i < e->nrcpt && p.rank < 2; i++)
		error_pick(&p, e->rstat[i], e->rtext[i], e->rtext[i] ? strlen(e->rtext[i]) : 0);
	return p.text;
}

static void put_quoted(struct buf *out, const char *key, const char *v, size_t n)
{
	char raw[1024], q[4 * sizeof(raw) + 3];
	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	memcpy(raw, v, n);
	raw[n] = '\0';
	buf_printf(out, " %s=%s", key, log_quote(q, sizeof(q), raw));
}

static void put_envelope(struct buf *out, const struct qrec_msg *m, const struct queue_entry *e)
{
	put_quoted(out, "from", m->from.p, m->from.len);
	const unsigned char *p = m->rcpts;
	size_t left = m->rcpts_len;
	struct qrec_str r;
	for (uint32_t i = 0; i < m->nrcpt && qrec_next_str(&p, &left, &r); i++) {
		if (!e) {
			put_quoted(out, "to", r.p, r.len);
			continue;
		}
		buf_append_str(out, "\nrecipient");
		put_quoted(out, "to", r.p, r.len);
		buf_printf(out, " status=%s", e->rstat[i] == QREC_RCPT_DELIVERED ? "delivered"
					      : e->rstat[i] == QREC_RCPT_FAILED  ? "failed"
										 : "pending");
		if (e->rtext[i])
			put_quoted(out, "reply", e->rtext[i], strlen(e->rtext[i]));
	}
}

/* One line of list. */
static void put_line(struct queue *q, const struct snap *v, uint64_t now, struct buf *out)
{
	unsigned char *rec;
	size_t len;
	struct qrec_msg m;
	buf_printf(out, "id=%s size=%llu age=%llus state=%s", v->id, (unsigned long long)v->size,
		   (unsigned long long)(now > v->queued_at ? now - v->queued_at : 0), v->state);
	if (strcmp(v->state, "deferred") == 0)
		buf_printf(out, " next_try=%llus",
			   (unsigned long long)(v->next_try > now ? v->next_try - now : 0));
	if (queue_read_record_at(q, v->seg, v->off, v->len, &rec, &len) == 0) {
		if (qrec_parse_msg(rec + QREC_HDR, len - QREC_HDR, &m))
			put_envelope(out, &m, NULL);
		free(rec);
	}
	if (v->last_error)
		put_quoted(out, "last_error", v->last_error, strlen(v->last_error));
	buf_append_str(out, "\n");
}

struct list_ctx {
	struct queue *q;
	uint64_t now;
	struct buf *out;
	size_t n;     /* messages */
	size_t shown; /* lines that fit in the answer */
};

/* Room a line may need at most (its quoted addresses and reply): with less
 * left, the answer is full and a line would be cut. */
#define LIST_LINE_ROOM ((size_t)64 * 1024)

/* v's line, whole or not at all. */
static void list_line(struct list_ctx *c, const struct snap *v)
{
	c->n++;
	if (c->shown < c->n - 1)
		return; /* full already */
	size_t start = c->out->len;
	put_line(c->q, v, c->now, c->out);
	size_t room = c->out->max / 8 < LIST_LINE_ROOM ? c->out->max / 8 : LIST_LINE_ROOM;
	if (c->out->max - c->out->len < room)
		c->out->len = start; /* it may not be whole: the list ends before it */
	else
		c->shown++;
}

/* last_error, from a message's S record. */
static char *state_error(struct queue *q, const struct queue_slot *s)
{
	unsigned char *rec;
	size_t len;
	struct qrec_state st;
	struct error_pick pick = {0, NULL, 0};
	if (!s->snap_seg || queue_read_record_at(q, s->snap_seg, s->snap_off, s->snap_len, &rec, &len))
		return NULL;
	if (qrec_parse_state(rec + QREC_HDR, len - QREC_HDR, &st)) {
		const unsigned char *p = st.rcpts;
		size_t left = st.rcpts_len;
		uint8_t status;
		struct qrec_str t;
		while (pick.rank < 2 && qrec_next_rcpt(&p, &left, &status, &t))
			error_pick(&pick, status, t.p, t.len);
	}
	char *err = pick.rank ? strndup(pick.text, pick.len) : NULL;
	free(rec);
	return err;
}

/* A message of the index (index.c), listed as one in memory would be. */
static void list_slot(struct list_ctx *c, const struct queue_slot *s)
{
	struct snap v = {.seg = s->seg, .off = s->off, .len = s->len, .size = s->size,
			 .queued_at = s->queued_at, .next_try = s->next_try};
	memcpy(v.id, s->id, sizeof(v.id));
	v.state = state_name(false, s->held, s->npending, s->attempts);
	v.last_error = state_error(c->q, s);
	list_line(c, &v);
	free(v.last_error);
}

static int cmd_list(struct queue *q, uint64_t now, struct buf *out)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->nentries, k = 0;
	struct snap *v = calloc(n ? n : 1, sizeof(*v));
	for (struct queue_entry *e = q->head; v && e && k < n; e = e->next, k++) {
		memcpy(v[k].id, e->id, sizeof(v[k].id));
		v[k].seg = e->seg;
		v[k].off = e->off;
		v[k].len = e->len;
		v[k].size = e->size;
		v[k].queued_at = e->queued_at;
		v[k].next_try = e->next_try;
		v[k].state = state_of(e);
		const char *le = last_error(e);
		v[k].last_error = le ? strdup(le) : NULL;
	}
	/* the index in the same hold: a message that moves between memory
	 * and index while the lines are made is listed once, as it was */
	struct queue_slot *slots = NULL;
	size_t nslots = 0;
	int e = v ? queue_index_snapshot(q, &slots, &nslots) : -1;
	pthread_mutex_unlock(&q->mu);
	if (!v || e) {
		buf_append_str(out, v ? "error: the queue's index cannot be read (or out of memory)\n"
				      : "error: out of memory\n");
		for (size_t i = 0; v && i < k; i++)
			free(v[i].last_error);
		free(v);
		return -1;
	}
	struct buf lines; /* the count comes first, known at the end */
	buf_init(&lines, out->max - (out->max / 4 < 4096 ? out->max / 4 : 4096));
	struct list_ctx c = {q, now, &lines, 0, 0};
	for (size_t i = 0; i < k; i++) {
		list_line(&c, &v[i]);
		free(v[i].last_error);
	}
	free(v);
	for (size_t i = 0; i < nslots; i++)
		list_slot(&c, &slots[i]);
	free(slots);
	if (c.shown < c.n) /* said, not cut silently: the answer has a limit */
		buf_printf(out, "ok messages=%zu shown=%zu\n", c.n, c.shown);
	else
		buf_printf(out, "ok messages=%zu\n", c.n);
	buf_append(out, lines.data, lines.len);
	buf_fini(&lines);
	return 0;
}

/* The header section of a message: up to the first empty line, bounded. */
static void put_headers(struct queue *q, const struct qrec_msg *m, struct buf *out)
{
	char chunk[QUEUE_INLINE_MAX];
	size_t n = 0;
	if (m->body) {
		n = m->size < sizeof(chunk) ? (size_t)m->size : sizeof(chunk);
		memcpy(chunk, m->body, n);
	} else {
		char path[4096];
		FILE *f = queue_spill_path(q, m->id, path, sizeof(path)) ? fopen(path, "rb") : NULL;
		if (f) {
			n = fread(chunk, 1, sizeof(chunk), f);
			fclose(f);
		}
	}
	size_t end = n;
	for (size_t i = 0; i + 3 < n; i++)
		if (memcmp(chunk + i, "\r\n\r\n", 4) == 0) {
			end = i + 2;
			break;
		}
	buf_append_str(out, "headers\n");
	buf_append(out, chunk, end);
}

/* The entry of id, in memory (loaded from the index if it is there);
 * mu held. */
static struct queue_entry *find_or_fail(struct queue *q, const char *id, struct buf *out)
{
	struct queue_entry *e = NULL;
	if (id && *id && !(e = queue_find(q, id)))
		e = queue_index_load_id(q, id);
	if (!e)
		buf_printf(out, "error: no message %s in the queue\n", id && *id ? id : "(no id)");
	return e;
}

static int cmd_show(struct queue *q, const char *id, uint64_t now, struct buf *out)
{
	pthread_mutex_lock(&q->mu);
	struct queue_entry *e = find_or_fail(q, id, out);
	if (!e) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	/* a copy of the entry's state: the table may change while we read */
	struct queue_entry c = *e;
	c.rstat = malloc(e->nrcpt);
	c.rtext = calloc(e->nrcpt, sizeof(char *));
	for (uint32_t i = 0; c.rstat && c.rtext && i < e->nrcpt; i++) {
		c.rstat[i] = e->rstat[i];
		c.rtext[i] = e->rtext[i] ? strdup(e->rtext[i]) : NULL;
	}
	const char *state = state_of(e);
	if (!queue_entry_wanted(e, now))
		(void)queue_index_put(q, e, NULL); /* back where it was */
	pthread_mutex_unlock(&q->mu);
	unsigned char *rec = NULL;
	size_t len;
	struct qrec_msg m;
	int rc = -1;
	if (!c.rstat || !c.rtext)
		buf_append_str(out, "error: out of memory\n");
	else if (queue_read_record_at(q, c.seg, c.off, c.len, &rec, &len) ||
		 !qrec_parse_msg(rec + QREC_HDR, len - QREC_HDR, &m))
		buf_printf(out, "error: cannot read message %s\n", c.id);
	else {
		buf_printf(out, "ok\nid=%s size=%llu age=%llus state=%s attempts=%u", c.id,
			   (unsigned long long)c.size,
			   (unsigned long long)(now > c.queued_at ? now - c.queued_at : 0), state,
			   c.attempts);
		put_envelope(out, &m, &c);
		buf_append_str(out, "\n");
		put_headers(q, &m, out);
		rc = 0;
	}
	free(rec);
	for (uint32_t i = 0; c.rtext && i < c.nrcpt; i++)
		free(c.rtext[i]);
	free(c.rtext);
	free(c.rstat);
	return rc;
}

/* hold, release and delete, each written to the journal before it takes
 * effect: a change that cannot be written changes nothing, and says why
 * (mu held). A message being delivered gets its D record at once too (a
 * crash must not bring it back); the attempt under way is not cut short,
 * and the message goes when it ends. */
static int change_recorded(struct queue *q, struct queue_entry *e, const char *verb, uint64_t now,
			   struct buf *out)
{
	int err;
	if (strcmp(verb, "delete") == 0) {
		if ((err = queue_write_done(q, e->id)) == 0) {
			buf_printf(out, "ok delete=%s%s\n", e->id, e->active ? UNDER_WAY : "");
			if (e->active)
				e->deleted = true; /* dropped when its delivery ends */
			else
				queue_drop_entry(q, e);
			return 0;
		}
	} else {
		bool held = e->held;
		uint64_t next_try = e->next_try;
		e->held = verb[0] == 'h';
		if (!e->held)
			e->next_try = 0;
		if ((err = queue_write_state(q, e)) == 0) {
			if (!e->held)
				queue_make_ready(q, e);
			buf_printf(out, "ok %s=%s%s\n", verb, e->id, e->active ? UNDER_WAY : "");
		} else {
			e->held = held;
			e->next_try = next_try;
		}
	}
	if (err)
		buf_printf(out, "error: message %s is unchanged: its record cannot be written (%s)\n",
			   e->id, strerror(err));
	if (!queue_entry_wanted(e, now)) /* held, or unchanged: it waits in the index */
		(void)queue_index_put(q, e, NULL);
	return err ? -1 : 0;
}

/* retry, hold, release, delete: small changes under the lock. */
static int cmd_change(struct queue *q, const char *verb, const char *id, uint64_t now,
		      struct buf *out)
{
	int rc = 0;
	bool written = false;
	pthread_mutex_lock(&q->mu);
	if (strcmp(verb, "retry") == 0 && (!id || !*id)) {
		size_t n = 0;
		for (struct queue_entry *e = q->head; e; e = e->next)
			if (!e->held && e->next_try) {
				e->next_try = 0;
				queue_make_ready(q, e);
				n++;
			}
		n += queue_index_retry_all(q);
		buf_printf(out, "ok retry=%zu\n", n);
		pthread_mutex_unlock(&q->mu);
		return 0;
	}
	struct queue_entry *e = find_or_fail(q, id, out);
	if (!e) {
		rc = -1;
	} else if (strcmp(verb, "retry") == 0) {
		bool pending = false;
		for (uint32_t i = 0; i < e->nrcpt; i++)
			pending |= e->rstat[i] == QREC_RCPT_PENDING;
		if (e->held || !pending) { /* said, not "ok" for nothing done */
			buf_printf(out, e->held ? "error: message %s is held: release it to deliver it\n"
						: "error: message %s has no recipient left to try\n",
				   e->id);
			if (!queue_entry_wanted(e, now))
				(void)queue_index_put(q, e, NULL);
			rc = -1;
		} else {
			e->next_try = 0;
			queue_make_ready(q, e);
			buf_printf(out, "ok retry=1\n");
		}
	} else {
		rc = change_recorded(q, e, verb, now, out);
		written = rc == 0;
	}
	uint64_t failures = q->sync_failures;
	pthread_mutex_unlock(&q->mu);
	/* "ok" is said once the change is durable: a crash after it does not
	 * bring a deleted message back or release a held one. A round of the
	 * flusher's that failed meanwhile may have been the one that covered
	 * the record (and lost it). */
	int err = written ? queue_sync(q) : 0;
	if (written && !err) {
		pthread_mutex_lock(&q->mu);
		err = q->sync_failures != failures ? EIO : 0;
		pthread_mutex_unlock(&q->mu);
	}
	if (err) {
		buf_clear(out);
		buf_printf(out, "error: the change is written but its flush failed (%s): it may not "
				"survive a restart\n",
			   strerror(err));
		rc = -1;
	}
	return rc;
}

int queue_control(struct queue *q, const char *line, uint64_t now, struct buf *out)
{
	char verb[16] = "", id[QREC_ID_MAX + 2] = "";
	size_t vl = strcspn(line, " \r\n");
	if (vl == 0 || vl >= sizeof(verb)) {
		buf_append_str(out, "error: expected list, show, retry, hold, release or delete\n");
		return -1;
	}
	memcpy(verb, line, vl);
	const char *a = line + vl;
	a += strspn(a, " ");
	size_t il = strcspn(a, " \r\n");
	if (il >= sizeof(id) || a[il + strspn(a + il, " \r\n")] != '\0') {
		buf_append_str(out, "error: expected one queue id\n");
		return -1;
	}
	memcpy(id, a, il);
	if (strcmp(verb, "list") == 0) {
		if (!*id)
			return cmd_list(q, now, out);
		buf_append_str(out, "error: list takes no queue id\n");
		return -1;
	}
	if (strcmp(verb, "show") == 0)
		return cmd_show(q, id, now, out);
	if (strcmp(verb, "retry") == 0 || strcmp(verb, "hold") == 0 ||
	    strcmp(verb, "release") == 0 || strcmp(verb, "delete") == 0)
		return cmd_change(q, verb, id, now, out);
	buf_printf(out, "error: unknown command \"%s\"\n", verb);
	return -1;
}
