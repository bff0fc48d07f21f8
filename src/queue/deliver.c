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
 * delivery finished before the crash is there already, in new/ or cur/. */
static bool in_mailbox(const struct store *st, const char *rcpt, const char *id)
{
	char dir[PATH_MAX], sub[PATH_MAX], needle[QREC_ID_MAX + 3];
	if (!store_commit_blocks(st) || !store_mailbox_path(st, rcpt, dir, sizeof(dir)))
		return false;
	snprintf(needle, sizeof(needle), ".%s.", id);
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; i < 2; i++) {
		int r = snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		DIR *d = r > 0 && (size_t)r < sizeof(sub) ? opendir(sub) : NULL;
		if (!d)
			continue;
		struct dirent *de;
		bool found = false;
		while (!found && (de = readdir(d)))
			found = strstr(de->d_name, needle) != NULL;
		closedir(d);
		if (found)
			return true;
	}
	return false;
}

/* Stream the body into one recipient's store message. */
static enum store_status deliver_one(struct queue *q, struct store *st, const struct qrec_msg *m,
				     const char *rcpt, unsigned char *chunk, size_t chunklen)
{
	enum store_status s = STORE_OK;
	const char *rc[1] = {rcpt};
	struct store_msg *sm = store_msg_begin(st, m->id, rc, 1, &s);
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
	if (!outcome || !text || !chunk)
		err = ENOMEM;
	const unsigned char *p = err ? NULL : m.rcpts;
	size_t left = err ? 0 : m.rcpts_len;
	uint64_t delay = now > e->queued_at ? now - e->queued_at : 0;
	bool deferred = false;
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		struct qrec_str r = {"", 0};
		char addr[QREC_STR_MAX + 1], target[PATH_MAX];
		if (!err && !qrec_next_str(&p, &left, &r))
			err = EIO;
		memcpy(addr, r.p, r.len);
		addr[r.len] = '\0';
		if (e->rstat[i] != QREC_RCPT_PENDING)
			continue;
		if (!store_commit_blocks(st))
			snprintf(target, sizeof(target), "discard");
		else if (!store_mailbox_path(st, addr, target, sizeof(target)))
			snprintf(target, sizeof(target), "-");
		const char *msg;
		enum queue_outcome oc;
		if (err) {
			oc = QUEUE_DEFERRED;
			msg = "4.3.0 cannot read the queued message";
		} else if (e->recovered && in_mailbox(st, addr, e->id)) {
			oc = QUEUE_DELIVERED;
			msg = "250 2.0.0 already in the mailbox before a restart";
		} else {
			enum store_status s = deliver_one(q, st, &m, addr, chunk, QUEUE_INLINE_MAX);
			oc = s == STORE_OK ? QUEUE_DELIVERED : QUEUE_DEFERRED;
			msg = s == STORE_OK	 ? "250 2.0.0 delivered"
			      : s == STORE_FULL ? "452 4.3.1 mailbox file system full"
						: "451 4.3.0 mailbox write failed";
		}
		outcome[i] = oc == QUEUE_DELIVERED ? QREC_RCPT_DELIVERED : QREC_RCPT_PENDING;
		text[i] = strdup(msg);
		deferred |= oc == QUEUE_DEFERRED;
		if (report) {
			struct queue_report rp = {e->id, addr, oc, target, delay, msg};
			report(arg, &rp);
		}
	}
	free(rec);
	free(chunk);

	pthread_mutex_lock(&q->mu);
	bool pending = false, failed = false;
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		if (text && text[i]) {
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
	for (uint32_t i = 0; text && i < nrcpt; i++)
		free(text[i]);
	free(text);
	free(outcome);
}
