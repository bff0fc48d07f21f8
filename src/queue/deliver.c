/* Delivery from the queue through a store backend (queue.h). */
#include "queue/queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t queue_take_due(struct queue *q, uint64_t now, struct queue_job **out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&q->mu);
	for (struct queue_entry *e = q->head; e && n < max; e = e->next) {
		if (e->active || e->held || e->deleted || e->next_try > now)
			continue;
		bool pending = false;
		for (uint32_t i = 0; i < e->nrcpt && !pending; i++)
			pending = e->rstat[i] == QREC_RCPT_PENDING;
		if (!pending)
			continue; /* failed permanently: kept visible, not retried */
		e->active = true;
		out[n++] = (struct queue_job *)e;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

uint64_t queue_next_due(struct queue *q)
{
	uint64_t next = UINT64_MAX;
	pthread_mutex_lock(&q->mu);
	for (struct queue_entry *e = q->head; e; e = e->next) {
		if (e->active || e->held)
			continue;
		bool pending = false;
		for (uint32_t i = 0; i < e->nrcpt && !pending; i++)
			pending = e->rstat[i] == QREC_RCPT_PENDING;
		if (pending && e->next_try < next)
			next = e->next_try;
	}
	pthread_mutex_unlock(&q->mu);
	return next;
}

/* A Maildir file of a previous run carries the queue id as its unique part
 * ("<seconds>.<queue id>.<host>", maildir.c): a recovered message whose
 * delivery finished before the crash is there already, in new/ or cur/.
 * One in tmp/ is what a delivery cut short by the crash left: nobody else
 * writes under our queue id, so it goes (it would also block the new
 * delivery's O_EXCL open within the same second). */
static bool in_mailbox(const struct store *st, const char *rcpt, const char *id)
{
	char dir[PATH_MAX], sub[PATH_MAX], needle[QREC_ID_MAX + 3];
	if (!store_commit_blocks(st) || !store_mailbox_path(st, rcpt, dir, sizeof(dir)))
		return false;
	snprintf(needle, sizeof(needle), ".%s.", id);
	static const char *const subs[] = {"tmp", "new", "cur"};
	bool found = false;
	for (size_t i = 0; i < 3 && !found; i++) {
		int r = snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		DIR *d = r > 0 && (size_t)r < sizeof(sub) ? opendir(sub) : NULL;
		if (!d)
			continue;
		struct dirent *de;
		while (!found && (de = readdir(d))) {
			if (!strstr(de->d_name, needle))
				continue;
			if (i > 0) {
				found = true;
			} else {
				char stale[PATH_MAX + NAME_MAX + 2];
				snprintf(stale, sizeof(stale), "%s/%s", sub, de->d_name);
				(void)unlink(stale);
			}
		}
		closedir(d);
	}
	return found;
}

/* Stream the body into one store message for the n recipients (the
 * Maildir backend links one file into every mailbox: all or none). */
static enum store_status deliver_group(struct queue *q, struct store *st, const struct qrec_msg *m,
				       const char *const *rcpts, size_t n, unsigned char *chunk,
				       size_t chunklen)
{
	enum store_status s = STORE_OK;
	struct store_msg *sm = store_msg_begin(st, m->id, rcpts, n, &s);
	if (!sm)
		return s == STORE_OK ? STORE_IOERR : s;
	if (m->body) {
		s = store_msg_write(sm, m->body, (size_t)m->size);
	} else {
		char path[PATH_MAX];
		int fd = queue_spill_path(q, m->id, path, sizeof(path)) ? open(path, O_RDONLY | O_CLOEXEC)
									 : -1;
		uint64_t got = 0;
		ssize_t r = -1;
		if (fd >= 0) {
			while (s == STORE_OK && (r = read(fd, chunk, chunklen)) > 0) {
				s = store_msg_write(sm, chunk, (size_t)r);
				got += (uint64_t)r;
			}
			close(fd);
		}
		if (s == STORE_OK && (r != 0 || got != m->size))
			s = STORE_IOERR;
	}
	if (s == STORE_OK)
		s = store_msg_commit(sm);
	store_msg_free(sm);
	return s;
}

static void set_text(char **slot, const char *text)
{
	free(*slot);
	*slot = text ? strdup(text) : NULL;
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
	uint64_t delay = now > e->queued_at ? now - e->queued_at : 0;
	bool deferred = false;
	char **addr = err ? NULL : calloc(e->nrcpt, sizeof(char *));
	const char **todo = err ? NULL : calloc(e->nrcpt, sizeof(char *));
	uint32_t *todo_idx = err ? NULL : calloc(e->nrcpt, sizeof(uint32_t));
	size_t ntodo = 0;
	if (!err && (!addr || !todo || !todo_idx))
		err = ENOMEM;
	const unsigned char *p = err ? NULL : m.rcpts;
	size_t left = err ? 0 : m.rcpts_len;
	for (uint32_t i = 0; !err && i < e->nrcpt; i++) {
		struct qrec_str r;
		if (!qrec_next_str(&p, &left, &r) || !(addr[i] = strndup(r.p, r.len)))
			err = EIO;
	}
	/* what to deliver now; a recovered message may be in the mailbox already */
	for (uint32_t i = 0; !err && i < e->nrcpt; i++) {
		if (e->rstat[i] != QREC_RCPT_PENDING)
			continue;
		if (e->recovered && in_mailbox(st, addr[i], e->id)) {
			outcome[i] = QREC_RCPT_DELIVERED;
			text[i] = strdup("250 2.0.0 already in the mailbox before a restart");
			continue;
		}
		todo_idx[ntodo] = i;
		todo[ntodo++] = addr[i];
	}
	const char *group_text = NULL;
	bool group_ok = false;
	if (err) {
		group_text = "451 4.3.0 cannot read the queued message";
	} else if (ntodo) {
		enum store_status s = deliver_group(q, st, &m, todo, ntodo, chunk, QUEUE_INLINE_MAX);
		group_ok = s == STORE_OK;
		group_text = s == STORE_OK     ? "250 2.0.0 delivered"
			     : s == STORE_FULL ? "452 4.3.1 mailbox file system full"
					       : "451 4.3.0 mailbox write failed";
	}
	for (size_t k = 0; group_text && k < (err ? e->nrcpt : ntodo); k++) {
		uint32_t i = err ? (uint32_t)k : todo_idx[k];
		if (err && e->rstat[i] != QREC_RCPT_PENDING)
			continue;
		outcome[i] = group_ok ? QREC_RCPT_DELIVERED : QREC_RCPT_PENDING;
		text[i] = strdup(group_text);
		deferred |= !group_ok;
	}
	for (uint32_t i = 0; report && i < e->nrcpt; i++) {
		if (!text[i])
			continue;
		char target[PATH_MAX];
		const char *a = addr && addr[i] ? addr[i] : "";
		if (!store_commit_blocks(st))
			snprintf(target, sizeof(target), "discard");
		else if (!store_mailbox_path(st, a, target, sizeof(target)))
			snprintf(target, sizeof(target), "-");
		struct queue_report rp = {e->id, a,
					  outcome[i] == QREC_RCPT_DELIVERED ? QUEUE_DELIVERED
									    : QUEUE_DEFERRED,
					  target, delay, text[i]};
		report(arg, &rp);
	}
	for (uint32_t i = 0; addr && i < e->nrcpt; i++)
		free(addr[i]);
	free(addr);
	free(todo);
	free(todo_idx);
	free(rec);
	free(chunk);

	pthread_mutex_lock(&q->mu);
	bool pending = false, failed = false;
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		if (text[i]) {
			e->rstat[i] = outcome[i];
			set_text(&e->rtext[i], text[i]);
		}
		pending |= e->rstat[i] == QREC_RCPT_PENDING;
		failed |= e->rstat[i] == QREC_RCPT_FAILED;
	}
	e->recovered = false;
	e->active = false;
	if (deferred)
		e->attempts++;
	if (pending && queue_retry_expired(&q->retry, e->queued_at, now)) {
		for (uint32_t i = 0; i < e->nrcpt; i++) {
			if (e->rstat[i] != QREC_RCPT_PENDING)
				continue;
			e->rstat[i] = QREC_RCPT_FAILED;
			set_text(&e->rtext[i], "4.4.7 message expired: too long in the queue");
			if (report) {
				struct queue_report rp = {e->id, "", QUEUE_FAILED, "-", delay,
							  e->rtext[i]};
				report(arg, &rp);
			}
		}
		pending = false;
		failed = true;
	}
	if (pending)
		e->next_try = queue_retry_next(&q->retry, e->attempts ? e->attempts : 1, now);
	uint32_t nrcpt = e->nrcpt;
	if (e->deleted || (!pending && !failed))
		queue_finish_entry(q, e);
	else
		(void)queue_write_state(q, e); /* lost: the attempt is repeated */
	pthread_mutex_unlock(&q->mu);
	for (uint32_t i = 0; i < nrcpt; i++)
		free(text[i]);
	free(text);
	free(outcome);
}
