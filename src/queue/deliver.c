/* Delivery from the queue through a store backend (queue.h). */
#include "queue/queue_int.h"

#include "common/log.h"
#include "smtp/trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool is_due(const struct queue_entry *e, uint64_t now)
{
	return !e->active && !e->held && !e->deleted && e->next_try <= now && queue_entry_pending(e) > 0;
}

/* New messages are on the ready list; deferred ones come back from the
 * index (index.c, queue_load_due) when their time comes, as do new ones
 * that waited there past the active limit. The few in memory that are not
 * due (an attempt's state that could not be written) are found by a scan
 * at most once a second. No file I/O: this runs on the event loop. */
size_t queue_take_due(struct queue *q, uint64_t now, struct queue_job **out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&q->mu);
	if (q->scanned_at != now) {
		q->scanned_at = now;
		for (struct queue_entry *e = q->head; e; e = e->next)
			if (!e->in_ready && is_due(e, now))
				queue_make_ready(q, e);
	}
	while (n < max && q->ready_head) {
		struct queue_entry *e = q->ready_head;
		queue_ready_unlink(q, e);
		if (!is_due(e, now))
			continue; /* held, failed or deferred meanwhile: the scan finds it later */
		e->active = true;
		out[n++] = (struct queue_job *)e;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* The ready list is in the order messages came due, and holds the oldest:
 * those past the active limit wait in the index behind them, and due ones
 * of the index are loaded onto it as room comes (index.c). */
uint64_t queue_waiting_since(struct queue *q)
{
	uint64_t since = UINT64_MAX;
	pthread_mutex_lock(&q->mu);
	const struct queue_entry *e = q->ready_head;
	if (e)
		since = e->next_try > e->queued_at ? e->next_try : e->queued_at;
	pthread_mutex_unlock(&q->mu);
	return since;
}

bool queue_load_wanted(struct queue *q, uint64_t now)
{
	pthread_mutex_lock(&q->mu);
	bool want = q->index_used && q->index_due <= now && q->nentries < q->active_max;
	pthread_mutex_unlock(&q->mu);
	return want;
}

size_t queue_load_due(struct queue *q, uint64_t now)
{
	pthread_mutex_lock(&q->mu);
	size_t n = queue_index_load_due(q, now, QUEUE_LOAD_BATCH);
	pthread_mutex_unlock(&q->mu);
	return n;
}

uint64_t queue_next_due(struct queue *q)
{
	uint64_t next = UINT64_MAX;
	pthread_mutex_lock(&q->mu);
	for (struct queue_entry *e = q->head; e; e = e->next) {
		if (!e->active && !e->held && queue_entry_pending(e) > 0 && e->next_try < next)
			next = e->next_try;
	}
	if (q->index_used && q->index_due < next) /* a lower bound */
		next = q->index_due;
	pthread_mutex_unlock(&q->mu);
	return next;
}

/* Stream the body into one store message for the n recipients and
 * commit: one result per recipient (an LMTP server answers each; the
 * Maildir backend links one file into every mailbox). */
/* The message's first octets (the first chunk of a spill file, which holds
 * the trace header whole), with Return-Path as RFC 5321 §4.4 has it: the
 * final delivery adds it, so a store that is one (Maildir) gets it first,
 * and one that passes the message on (LMTP) does not. It is added here,
 * not when the message is queued, so a queue delivered after a change of
 * store is right too; a message queued by an older postern, which carries
 * it already, keeps or loses its own. */
static enum store_status write_first(struct store *st, struct store_msg *sm, const char *from,
				     const unsigned char *p, size_t n)
{
	static const char rp[] = "Return-Path:";
	bool has = n >= sizeof(rp) - 1 && strncasecmp((const char *)p, rp, sizeof(rp) - 1) == 0;
	if (store_wants_return_path(st) && !has) {
		struct buf line;
		buf_init(&line, QREC_STR_MAX + 32);
		enum store_status s = smtp_trace_return_path(&line, from) == BUF_OK
					      ? store_msg_write(sm, line.data, line.len)
					      : STORE_IOERR;
		buf_fini(&line);
		if (s != STORE_OK)
			return s;
	} else if (!store_wants_return_path(st) && has) {
		const unsigned char *nl = memchr(p, '\n', n);
		size_t cut = nl ? (size_t)(nl - p) + 1 : 0;
		p += cut;
		n -= cut;
	}
	return n ? store_msg_write(sm, p, n) : STORE_OK;
}

static void deliver_group(struct queue *q, struct store *st, const struct qrec_msg *m,
			  bool recovered, const char *const *rcpts, size_t n, unsigned char *chunk,
			  size_t chunklen, struct store_result *res, bool *damaged)
{
	char from[QREC_STR_MAX + 1];
	memcpy(from, m->from.p, m->from.len);
	from[m->from.len] = '\0';
	struct store_envelope env = {
		.queue_id = m->id,
		.sender = from,
		.rcpts = rcpts,
		.nrcpts = n,
		.smtputf8 = m->flags & QREC_F_SMTPUTF8,
		.eightbit = m->flags & QREC_F_8BIT,
		.binary = m->flags & QREC_F_BINARY,
		.defer_sync = store_defers_sync(st),
		.replace = recovered,
	};
	struct store_result begin_res = {STORE_IOERR, ""};
	struct store_msg *sm = store_msg_begin(st, &env, &begin_res);
	enum store_status s = STORE_OK;
	if (sm && m->body) {
		s = write_first(st, sm, from, m->body, (size_t)m->size);
	} else if (sm) {
		char path[PATH_MAX];
		int fd = queue_spill_path(q, m->id, path, sizeof(path)) ? open(path, O_RDONLY | O_CLOEXEC)
									 : -1;
		uint64_t got = 0;
		uint32_t crc = 0;
		ssize_t r = -1;
		if (fd >= 0) {
			while (s == STORE_OK && (r = read(fd, chunk, chunklen)) > 0) {
				if (recovered)
					crc = qrec_crc(crc, chunk, (size_t)r);
				s = got ? store_msg_write(sm, chunk, (size_t)r)
					: write_first(st, sm, from, chunk, (size_t)r);
				got += (uint64_t)r;
			}
			close(fd);
		}
		if (s == STORE_OK && (r != 0 || got != m->size)) {
			s = STORE_IOERR;
			snprintf(begin_res.text, sizeof(begin_res.text), "spill file %.400s: %s", path,
				 fd < 0 ? strerror(errno) : "shorter than queued");
		} else if (s == STORE_OK && recovered && crc != m->body_crc) {
			/* checked here for a message found at start, not when
			 * the start finds it (reading every spill file then made
			 * a start with a large queue take minutes): its flush
			 * never completed, so it never got 250; nothing of it is
			 * committed, and it goes. A message this process spooled
			 * and flushed needs no check. */
			s = STORE_IOERR;
			*damaged = true;
			snprintf(begin_res.text, sizeof(begin_res.text), "spill file %.400s: does not "
				 "match its record (its flush never completed): dropped", path);
		}
	}
	if (sm && s == STORE_OK) {
		(void)store_msg_commit(sm, res);
	} else {
		if (sm && s != STORE_OK && !begin_res.text[0])
			snprintf(begin_res.text, sizeof(begin_res.text), "%s", store_msg_error(sm));
		if (sm && s != STORE_OK)
			begin_res.status = s;
		for (size_t i = 0; i < n; i++)
			res[i] = begin_res;
	}
	store_msg_free(sm);
}

/* Whether every recipient of a group failed with a local step (the
 * Maildir backend is one file linked into every mailbox: all or nothing). */
static bool all_failed_locally(const struct store_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (res[i].status != STORE_IOERR && res[i].status != STORE_FULL)
			return false;
	return true;
}

/* The text kept and logged for a recipient: the target's own words (an
 * LMTP server's reply, with its address), or for a local failure the
 * enhanced code and the failed step with its path and errno text. */
static char *result_text(const struct store_result *r)
{
	static const char *const code[] = {
		[STORE_OK] = "250 2.0.0 delivered",
		[STORE_FULL] = "452 4.3.1",
		[STORE_IOERR] = "451 4.3.0",
		[STORE_TEMPFAIL] = "451 4.4.0",
		[STORE_PERMFAIL] = "550 5.0.0",
	};
	char buf[STORE_TEXT_MAX + 32];
	bool local = r->status == STORE_FULL || r->status == STORE_IOERR;
	if (r->text[0] && !local)
		snprintf(buf, sizeof(buf), "%s", r->text);
	else if (r->text[0])
		snprintf(buf, sizeof(buf), "%s %s", code[r->status], r->text);
	else
		snprintf(buf, sizeof(buf), "%s%s%s", code[r->status], r->status ? " " : "",
			 r->status ? store_status_name(r->status) : "");
	return strdup(buf);
}

static void set_text(char **slot, const char *text)
{
	free(*slot);
	*slot = text ? strdup(text) : NULL;
}

/* Record an attempt's outcome in its entry, and its S or D record (mu
 * held); release the entry and free o. */
static void outcome_apply(struct queue *q, struct queue_attempt *o)
{
	struct queue_entry *e = o->e;
	bool pending = false, failed = false;
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		if (o->text[i]) {
			e->rstat[i] = o->rstat[i];
			set_text(&e->rtext[i], o->text[i]);
		}
		pending |= e->rstat[i] == QREC_RCPT_PENDING;
		failed |= e->rstat[i] == QREC_RCPT_FAILED;
	}
	/* a recipient still pending may have an earlier copy in its mailbox
	 * (cut short, or not flushed): its next attempt replaces it too */
	e->recovered = o->redeliver || (e->recovered && pending);
	e->active = false;
	if (o->damaged) { /* half-received: never acknowledged, never delivered */
		log_msg(LOG_WARN, "event=queue_recover_dropped queue_id=%s reason=\"spill file "
			"does not match its record: its flush never completed\"", e->id);
		e->deleted = true;
	}
	if (o->deferred && !o->interrupted)
		e->attempts++;
	if (pending && queue_retry_expired(&q->retry, e->queued_at, o->now)) {
		for (uint32_t i = 0; i < e->nrcpt; i++) {
			if (e->rstat[i] != QREC_RCPT_PENDING)
				continue;
			e->rstat[i] = QREC_RCPT_FAILED;
			set_text(&e->rtext[i], "4.4.7 message expired: too long in the queue");
			if (o->report) {
				struct queue_report rp = {e->id, o->addr ? o->addr[i] : NULL, i + 1,
							  QUEUE_FAILED, o->target, o->delay, e->rtext[i]};
				o->report(o->arg, &rp);
			}
		}
		pending = false;
		failed = true;
	}
	if (pending && o->interrupted)
		e->next_try = 0; /* the stop's doing, not the target's: at once after the start */
	else if (pending)
		e->next_try = queue_retry_next(&q->retry, e->attempts ? e->attempts : 1, o->now,
					       e->queued_at);
	uint32_t nrcpt = e->nrcpt;
	if (e->deleted || (!pending && !failed))
		queue_finish_entry(q, e);
	/* lost: the attempt is repeated; not written: it stays in memory */
	else if (!(e->unsaved = queue_write_state(q, e) != 0) && !queue_entry_wanted(e, o->now))
		(void)queue_index_put(q, e, NULL); /* deferred or failed: out of memory */
	queue_attempt_free(o, nrcpt);
}

void queue_attempt_free(struct queue_attempt *o, uint32_t nrcpt)
{
	for (uint32_t i = 0; i < nrcpt; i++) {
		free(o->text[i]);
		free(o->addr ? o->addr[i] : NULL);
	}
	free(o->text);
	free(o->addr);
	free(o->rstat);
	free(o);
}

int queue_sync_delivered(struct queue *q, struct store *st)
{
	pthread_mutex_lock(&q->mu);
	struct queue_attempt *batch = q->unsynced;
	q->unsynced = NULL;
	pthread_mutex_unlock(&q->mu);
	if (!batch)
		return 0;
	/* one flush for the whole batch; only after it may a D record (or an S
	 * record saying delivered) be written, hence flushed */
	int err = store_sync(st);
	if (err)
		log_msg(LOG_ERROR, "event=delivery_sync_failed target=%s error=\"%s\" "
			"action=\"the batch's messages are delivered again\"", store_name(st),
			strerror(err));
	pthread_mutex_lock(&q->mu);
	while (batch) {
		struct queue_attempt *o = batch;
		batch = o->next;
		if (err) { /* in doubt: delivered again later, over what is there */
			for (uint32_t i = 0; i < o->e->nrcpt; i++) {
				if (o->rstat[i] != QREC_RCPT_DELIVERED)
					continue;
				o->rstat[i] = QREC_RCPT_PENDING;
				free(o->text[i]);
				o->text[i] = strdup("451 4.3.0 the delivery could not be flushed to disk");
			}
			o->deferred = true;
			o->redeliver = true;
		}
		outcome_apply(q, o);
	}
	pthread_mutex_unlock(&q->mu);
	return err;
}

bool queue_unsynced(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	bool any = q->unsynced != NULL;
	pthread_mutex_unlock(&q->mu);
	return any;
}

void queue_deliver(struct queue *q, struct queue_job *job, struct store *st, uint64_t now,
		   queue_report_fn report, void *arg)
{
	struct queue_entry *e = (struct queue_entry *)job;
	unsigned char *rec = NULL;
	size_t len = 0;
	struct qrec_msg m;
	int err = queue_read_record(q, e, &rec, &len);
	if (!err && !qrec_parse_msg(rec + QREC_HDR, len - QREC_HDR, &m))
		err = EIO;
	uint8_t *outcome = calloc(e->nrcpt, 1);
	char **text = calloc(e->nrcpt, sizeof(char *));
	unsigned char *chunk = malloc(QUEUE_INLINE_MAX);
	if (!outcome || !text || !chunk) { /* try again later */
		free(outcome);
		free(text);
		free(chunk);
		free(rec);
		pthread_mutex_lock(&q->mu);
		e->active = false;
		e->next_try = now + 60;
		pthread_mutex_unlock(&q->mu);
		return;
	}
	bool deferred = false, damaged = false;
	char **addr = err ? NULL : calloc(e->nrcpt, sizeof(char *));
	const char **pending = err ? NULL : calloc(e->nrcpt, sizeof(char *));
	uint32_t *pending_idx = err ? NULL : calloc(e->nrcpt, sizeof(uint32_t));
	size_t npending = 0;
	if (!err && (!addr || !pending || !pending_idx))
		err = ENOMEM;
	const unsigned char *p = err ? NULL : m.rcpts;
	size_t left = err ? 0 : m.rcpts_len;
	for (uint32_t i = 0; !err && i < e->nrcpt; i++) {
		struct qrec_str r;
		if (!qrec_next_str(&p, &left, &r) || !(addr[i] = strndup(r.p, r.len)))
			err = EIO;
	}
	/* the recipients still pending are delivered now (a recovered
	 * message may be in the mailbox already, whole or not: the store
	 * replaces that copy) */
	for (uint32_t i = 0; !err && i < e->nrcpt; i++) {
		if (e->rstat[i] != QREC_RCPT_PENDING)
			continue;
		pending_idx[npending] = i;
		pending[npending++] = addr[i];
	}
	struct store_result *res = npending ? calloc(npending, sizeof(*res)) : NULL;
	if (npending && !res)
		err = ENOMEM;
	if (!err && npending) {
		deliver_group(q, st, &m, e->recovered, pending, npending, chunk, QUEUE_INLINE_MAX, res,
			      &damaged);
		/* one broken mailbox must not hold back the others (Postfix's
		 * virtual(8) delivers each recipient alone): after a local
		 * failure of the whole group, each is tried on its own, as a
		 * replacement (two recipients with one mailbox get one file) */
		bool alone = !damaged && npending > 1 && all_failed_locally(res, npending);
		for (size_t k = 0; alone && k < npending; k++)
			deliver_group(q, st, &m, true, &pending[k], 1, chunk, QUEUE_INLINE_MAX, &res[k],
				      &damaged);
	}
	/* as Postfix's delay=: from its arrival to this attempt's end */
	uint64_t ended = (uint64_t)time(NULL);
	uint64_t delay = ended > e->queued_at ? ended - e->queued_at : 0;
	bool unsynced = false; /* delivered, durable only after store_sync */
	for (size_t k = 0; !err && k < npending; k++) {
		uint32_t i = pending_idx[k];
		outcome[i] = res[k].status == STORE_OK       ? QREC_RCPT_DELIVERED
			     : res[k].status == STORE_PERMFAIL ? QREC_RCPT_FAILED
							       : QREC_RCPT_PENDING;
		text[i] = result_text(&res[k]);
		deferred |= outcome[i] == QREC_RCPT_PENDING;
		unsynced |= outcome[i] == QREC_RCPT_DELIVERED && store_defers_sync(st);
	}
	free(res);
	for (uint32_t i = 0; err && i < e->nrcpt; i++) {
		if (e->rstat[i] != QREC_RCPT_PENDING)
			continue;
		outcome[i] = QREC_RCPT_PENDING;
		char why[200];
		snprintf(why, sizeof(why), "451 4.3.0 cannot read the queued message: %s",
			 strerror(err));
		text[i] = strdup(why);
		deferred = true;
	}
	for (uint32_t i = 0; report && i < e->nrcpt; i++) {
		if (!text[i])
			continue;
		struct queue_report rp = {
			e->id, addr ? addr[i] : NULL, i + 1,
			outcome[i] == QREC_RCPT_DELIVERED ? QUEUE_DELIVERED
			: outcome[i] == QREC_RCPT_FAILED  ? QUEUE_FAILED
							  : QUEUE_DEFERRED,
			store_name(st), delay, text[i]};
		report(arg, &rp);
	}
	free(pending);
	free(pending_idx);
	free(rec);
	free(chunk);

	struct queue_attempt *o = malloc(sizeof(*o));
	if (o)
		*o = (struct queue_attempt){NULL, e, outcome, text, deferred, false,
					    deferred && store_cancelled(st), damaged, now, delay,
					    report, arg, store_name(st), addr}; /* the addresses go with it */
	else {
		for (uint32_t i = 0; addr && i < e->nrcpt; i++)
			free(addr[i]);
		free(addr);
	}
	if (o && unsynced) {
		/* its S or D record waits for the store's flush (queue_sync_delivered):
		 * the entry stays active, and its recipients pending, until then */
		pthread_mutex_lock(&q->mu);
		o->next = q->unsynced;
		q->unsynced = o;
		pthread_mutex_unlock(&q->mu);
		return;
	}
	if (!o) { /* out of memory: the attempt is repeated, over what it left */
		for (uint32_t i = 0; i < e->nrcpt; i++)
			free(text[i]);
		free(text);
		free(outcome);
		pthread_mutex_lock(&q->mu);
		e->active = false;
		e->recovered |= unsynced;
		e->next_try = now + 60;
		pthread_mutex_unlock(&q->mu);
		return;
	}
	pthread_mutex_lock(&q->mu);
	outcome_apply(q, o);
	pthread_mutex_unlock(&q->mu);
}
