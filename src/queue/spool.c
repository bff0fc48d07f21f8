/* Spooling one message into the queue (queue.c's top comment, steps 1-2):
 * a bounded buffer, a spill file past QUEUE_INLINE_MAX, then the M record. */
#include "queue/queue_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The body buffer starts at this and grows up to QUEUE_INLINE_MAX: most
 * mail is a few KiB, and a 64 KiB buffer for each, freed at every commit,
 * had glibc give its pages back and fault them in again (an madvise of
 * 64-320 KiB every dozen messages on the event loops). */
#define QUEUE_BODY_START ((size_t)8 * 1024)

void queue_msg_fail(struct queue_msg *m, int e, const char *step, const char *path)
{
	if (m->err)
		return;
	m->err = queue_status_of(e);
	if (m->err == QUEUE_FULL) /* the queue gives back what it can */
		atomic_store(&m->q->low_space, true);
	snprintf(m->why, sizeof(m->why), "%s %s: %s", step, path, strerror(e));
}

const char *queue_msg_error(const struct queue_msg *m)
{
	return m ? m->why : "";
}

uint64_t queue_msg_size(const struct queue_msg *m)
{
	return m->size;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n <= QREC_ID_MAX &&
	       strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

struct queue_msg *queue_msg_begin(struct queue *q, const char *id, const char *from,
				  unsigned flags, const char *const *rcpts, size_t nrcpt,
				  uint64_t queued_at, enum queue_status *st)
{
	*st = QUEUE_IOERR;
	if (!id || !valid_id(id) || !from || nrcpt == 0 || nrcpt > UINT32_MAX ||
	    (flags & ~(QUEUE_F_SMTPUTF8 | QUEUE_F_8BIT | QUEUE_F_BINARY)))
		return NULL;
	struct queue_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->q = q;
	m->spill_fd = -1;
	memcpy(m->id, id, strlen(id) + 1);
	m->queued_at = queued_at;
	m->flags = (uint8_t)flags;
	m->nrcpt = (uint32_t)nrcpt;
	buf_init(&m->env, QREC_HDR + QREC_MAX_PAYLOAD - QUEUE_INLINE_MAX);
	buf_init(&m->body, QUEUE_INLINE_MAX);
	if (!(m->from = strdup(from)) || !(m->rcpts = calloc(nrcpt, sizeof(char *))) ||
	    buf_reserve(&m->body, QUEUE_BODY_START) != BUF_OK)
		goto fail;
	for (size_t i = 0; i < nrcpt; i++)
		if (!(m->rcpts[i] = strdup(rcpts[i])))
			goto fail;
	*st = QUEUE_OK;
	return m;
fail:
	queue_msg_free(m);
	return NULL;
}

/* The buffer is full: it goes to the spill file (opened at the first time). */
static int spill(struct queue_msg *m)
{
	struct queue *q = m->q;
	if (m->spill_fd < 0) {
		char path[PATH_MAX];
		if (!queue_spill_path(q, m->id, path, sizeof(path)) || !(m->spill_path = strdup(path)))
			return ENOMEM;
		errno = 0;
		m->spill_fd = q->ops.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (m->spill_fd < 0) {
			int e = queue_errno();
			m->spill_fd = -1;
			free(m->spill_path);
			m->spill_path = NULL;
			queue_msg_fail(m, e, "open", path);
			return e;
		}
	}
	int e = queue_write_all(q, m->spill_fd, m->body.data, m->body.len, -1);
	if (!e)
		buf_clear(&m->body);
	else
		queue_msg_fail(m, e, "write", m->spill_path);
	return e;
}

enum queue_status queue_msg_write(struct queue_msg *m, const void *p, size_t n)
{
	const unsigned char *s = p;
	if (!m)
		return QUEUE_IOERR;
	if (m->err)
		return m->err;
	m->crc = qrec_crc(m->crc, s, n);
	m->size += n;
	while (n > 0) {
		size_t k = QUEUE_INLINE_MAX - m->body.len;
		if (k > n)
			k = n;
		if (buf_append(&m->body, s, k) != BUF_OK) { /* fits: only memory can fail */
			queue_msg_fail(m, ENOMEM, "spool to", m->q->sdir);
			return m->err;
		}
		s += k;
		n -= k;
		if (m->body.len == QUEUE_INLINE_MAX && n > 0) {
			int e = spill(m);
			if (e) {
				queue_msg_fail(m, e, "spool to", m->q->sdir);
				return m->err;
			}
		}
	}
	return QUEUE_OK;
}

static struct queue_entry *entry_for(const struct queue_msg *m)
{
	struct queue_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->id, m->id, sizeof(e->id));
	e->size = m->size;
	e->queued_at = m->queued_at;
	e->spill = m->spill_fd >= 0;
	e->nrcpt = m->nrcpt;
	e->rstat = calloc(m->nrcpt, 1);
	e->rtext = calloc(m->nrcpt, sizeof(char *));
	if (!e->rstat || !e->rtext) {
		queue_entry_free(e);
		return NULL;
	}
	return e;
}

/* The M record: envelope, then the inline body (none for a spill file). */
static int append_record(struct queue_msg *m)
{
	struct queue *q = m->q;
	int e = 0;
	if (m->spill_fd >= 0 && m->body.len && (e = spill(m)) != 0)
		return e;
	bool inline_body = m->spill_fd < 0;
	struct qrec_envelope env = {m->id, m->queued_at, m->from, m->flags,
				    (const char *const *)m->rcpts, m->nrcpt, m->size, !inline_body,
				    m->crc};
	if (qrec_begin(&m->env, QREC_MSG) || qrec_put_envelope(&m->env, &env))
		return ENOMEM; /* more recipients than a record holds */
	/* m->crc is the inline body's CRC: it was computed as the body came */
	size_t bodylen = inline_body ? m->body.len : 0;
	qrec_seal_crc(&m->env, bodylen, m->crc);
	/* the body after the envelope, so that the record is one write under
	 * the queue's lock (two where the buffer cannot take it) */
	const char *body = inline_body ? m->body.data : NULL;
	if (bodylen && buf_append(&m->env, body, bodylen) == BUF_OK) {
		body = NULL;
		bodylen = 0;
	}
	if (!(m->entry = entry_for(m)))
		return ENOMEM;
	pthread_mutex_lock(&q->mu);
	e = queue_append(q, m->env.data, m->env.len, body, bodylen, &m->entry->seg,
			 &m->entry->off);
	/* the segment holds a record that may become a message: it must not
	 * be reclaimed before the flush decides (flush_round drops this) */
	if (!e)
		queue_seg_ref(q, m->entry->seg, 1, 0);
	pthread_mutex_unlock(&q->mu);
	m->entry->len = (uint32_t)(m->env.len + bodylen);
	return e;
}

void queue_msg_commit(struct queue_msg *m, queue_done_fn done, void *arg)
{
	m->done = done;
	m->arg = arg;
	if (!m->err) {
		int e = append_record(m);
		if (e) /* a spill write names its own file; this names the journal */
			queue_msg_fail(m, e, "append to", m->q->jdir);
	}
	buf_fini(&m->body); /* the record is written: the buffer is not needed */
	queue_wait_flush(m);
}

void queue_msg_abort(struct queue_msg *m)
{
	if (!m)
		return;
	if (m->spill_path)
		(void)unlink(m->spill_path);
	queue_msg_free(m);
}
