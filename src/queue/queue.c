/* The durable queue: journal segments, the group-committed flush, recovery.
 *
 * On disk, under queue_dir:
 *
 *   journal/<16 hex digits>   append-only segments of records (record.h)
 *   spill/<queue id>          the body of a message larger than
 *                             QUEUE_INLINE_MAX, written in bounded chunks
 *
 * Accepting a message (DESIGN.md §4: 250 means durable):
 *   1. While DATA/BDAT arrives the body goes into a 64 KiB buffer; when it
 *      overflows, the buffer and everything after it go to spill/<id>
 *      (plain writes, no fsync). Memory per message stays bounded.
 *   2. At the end of data the M record (envelope, then the inline body, or
 *      the spill file's size and CRC) is appended to the current segment
 *      with one pwrite, and the message joins the flusher's waiting list.
 *   3. The flusher thread takes the WHOLE waiting list as one batch:
 *      fdatasync of each spill file in it (large messages only), one fsync
 *      of spill/ if any, one fdatasync per written segment (normally one),
 *      and an fsync of journal/ when a segment was created. Only then are
 *      the batch's messages put in the queue and their sessions told, and
 *      only then do they answer 250. Every message that finished while a
 *      flush was running rides the next one: N concurrent sessions cost
 *      one fdatasync, not N (group commit, as a database's WAL).
 *   A failed flush answers 451 to its batch and writes D records for it.
 *   The current segment is kept written with zeros ahead of its records
 *   (zero_ahead), so that these fdatasyncs commit no size change.
 *
 * Delivery appends S records (per-recipient state, attempts, next retry,
 * hold) and finally a D record; they are flushed lazily, by the next
 * message's round or after QUEUE_LAZY_FLUSH_MS (queue_int.h),
 * because losing one only repeats a delivery, and a Maildir delivery of a
 * recovered message replaces the file of its queue id if there is one
 * (deliver.c, store/maildir.c), so a Maildir never gets a message twice.
 * Maildir deliveries skip their own fsyncs: a delivery's S or D record is
 * appended only after one store_sync (syncfs) has covered every delivery of
 * its batch (queue_sync_delivered), so no record saying "delivered" can be
 * durable before the mail is; a crash in between delivers again.
 *
 * Recovery (queue_open): the segments are read in order; a record whose
 * magic, length or CRC fails ends its segment (a torn append: it was never
 * acknowledged, since its flush did not complete). M adds an entry, S
 * replaces its state, D removes it. A spill message whose file is missing
 * or does not match the size and CRC of its record is dropped: its flush
 * never completed (or it was delivered and its D record was lost). Spill
 * files that no entry names are half-received messages and are removed.
 * Memory stays bounded meanwhile: past RECOVER_IN_MEMORY messages the
 * oldest go to the index (recover_bound), and a later record naming one
 * brings it back. Appends then go to a new segment; old segments are never
 * written again.
 *
 * Space: segments are removed from the head only (a D record lives in a
 * later segment than its M record, so removing in order can never bring a
 * delivered message back). A head segment that still holds live messages
 * (deferred ones) has them copied forward (queue_maintain), so a long retry
 * does not pin the journal. */
#include "queue/queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* ---- libc defaults ---- */

static int fs_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }
static long fs_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	return (long)pwrite(fd, p, n, (off_t)off);
}
static long fs_write(int fd, const void *p, size_t n) { return (long)write(fd, p, n); }
static int fs_fdatasync(int fd) { return fdatasync(fd); }
static int fs_fsync(int fd) { return fsync(fd); }
static int fs_free_space(const char *dir, uint64_t *bytes)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) != 0)
		return -1;
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

int queue_errno(void) { return errno ? errno : EIO; }

enum queue_status queue_status_of(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? QUEUE_FULL : QUEUE_IOERR;
}

static char *join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na + nb + 2 > PATH_MAX)
		return NULL;
	char *p = malloc(na + nb + 2);
	if (p) {
		memcpy(p, a, na);
		p[na] = '/';
		memcpy(p + na + 1, b, nb + 1);
	}
	return p;
}

bool queue_spill_path(const struct queue *q, const char *id, char *out, size_t outlen)
{
	int r = snprintf(out, outlen, "%s/%s", q->sdir, id);
	return r > 0 && (size_t)r < outlen;
}

static void unlink_spill(const struct queue *q, const char *id)
{
	char path[PATH_MAX];
	if (queue_spill_path(q, id, path, sizeof(path)))
		(void)unlink(path);
}

static int sync_dir(const struct queue *q, const char *path)
{
	errno = 0;
	int fd = q->ops.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return queue_errno();
	errno = 0;
	int e = q->ops.fsync(fd) < 0 ? queue_errno() : 0;
	close(fd);
	return e;
}

/* ---- the entry table ---- */

static size_t hash_id(const char *id, size_t size)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h & (size - 1);
}

struct queue_entry *queue_find(struct queue *q, const char *id)
{
	for (struct queue_entry *e = q->hash[hash_id(id, q->hsize)]; e; e = e->hnext)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void rehash(struct queue *q)
{
	size_t size = q->hsize * 2;
	struct queue_entry **h = calloc(size, sizeof(*h));
	if (!h)
		return; /* longer chains, still correct */
	for (struct queue_entry *e = q->head; e; e = e->next) {
		size_t b = hash_id(e->id, size);
		e->hnext = h[b];
		h[b] = e;
	}
	free(q->hash);
	q->hash = h;
	q->hsize = size;
}

struct qseg *queue_seg(struct queue *q, uint64_t num)
{
	for (size_t i = 0; i < q->nsegs; i++)
		if (q->segs[i].num == num)
			return &q->segs[i];
	return NULL;
}

static int seg_path(const struct queue *q, uint64_t num, char *out, size_t outlen);

/* Close the least recently read older segments past QUEUE_SEG_FDS (mu
 * held): never the one appended to, nor one written since its last flush
 * or being flushed, nor keep. */
static void seg_trim_fds(struct queue *q, const struct qseg *keep)
{
	for (;;) {
		size_t open = 0;
		struct qseg *lru = NULL;
		for (size_t i = 0; i + 1 < q->nsegs; i++) {
			struct qseg *s = &q->segs[i];
			if (s->fd < 0)
				continue;
			open++;
			if (s != keep && !s->dirty && !s->syncing && (!lru || s->used < lru->used))
				lru = s;
		}
		if (open <= QUEUE_SEG_FDS || !lru)
			return;
		close(lru->fd);
		lru->fd = -1;
	}
}

int queue_seg_fd(struct queue *q, struct qseg *s)
{
	s->used = ++q->seg_clock;
	if (s->fd >= 0)
		return s->fd;
	char path[PATH_MAX];
	int e = seg_path(q, s->num, path, sizeof(path));
	if (e) {
		errno = e;
		return -1;
	}
	/* an older segment is never written again */
	errno = 0;
	if ((s->fd = q->ops.open(path, O_RDONLY | O_CLOEXEC, 0)) >= 0)
		seg_trim_fds(q, s);
	else
		s->fd = -1;
	return s->fd;
}

void queue_seg_ref(struct queue *q, uint64_t num, int delta, uint64_t bytes)
{
	struct qseg *s = num ? queue_seg(q, num) : NULL;
	if (!s)
		return;
	s->live = (uint64_t)((int64_t)s->live + delta);
	s->live_bytes = delta > 0 ? s->live_bytes + bytes : s->live_bytes - bytes;
}

void queue_make_ready(struct queue *q, struct queue_entry *e)
{
	if (e->in_ready)
		return;
	e->rprev = q->ready_tail;
	e->rnext = NULL;
	if (q->ready_tail)
		q->ready_tail->rnext = e;
	else
		q->ready_head = e;
	q->ready_tail = e;
	e->in_ready = true;
}

void queue_ready_unlink(struct queue *q, struct queue_entry *e)
{
	if (!e->in_ready)
		return;
	if (e->rprev)
		e->rprev->rnext = e->rnext;
	else
		q->ready_head = e->rnext;
	if (e->rnext)
		e->rnext->rprev = e->rprev;
	else
		q->ready_tail = e->rprev;
	e->rprev = e->rnext = NULL;
	e->in_ready = false;
}

void queue_link(struct queue *q, struct queue_entry *e)
{
	if (q->nentries >= q->hsize)
		rehash(q);
	size_t b = hash_id(e->id, q->hsize);
	e->hnext = q->hash[b];
	q->hash[b] = e;
	e->prev = q->tail;
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->nentries++;
	queue_make_ready(q, e);
}

void queue_insert(struct queue *q, struct queue_entry *e)
{
	queue_link(q, e);
	queue_seg_ref(q, e->seg, 1, e->len);
	queue_seg_ref(q, e->snap_seg, 1, e->snap_len);
}

uint32_t queue_entry_pending(const struct queue_entry *e)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->nrcpt; i++)
		n += e->rstat[i] == QREC_RCPT_PENDING;
	return n;
}

void queue_entry_free(struct queue_entry *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; e->rtext && i < e->nrcpt; i++)
		free(e->rtext[i]);
	free(e->rtext);
	free(e->rstat);
	free(e);
}

void queue_unlink(struct queue *q, struct queue_entry *e)
{
	queue_ready_unlink(q, e);
	struct queue_entry **pp = &q->hash[hash_id(e->id, q->hsize)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		q->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		q->tail = e->prev;
	q->nentries--;
}

void queue_remove(struct queue *q, struct queue_entry *e)
{
	queue_unlink(q, e);
	queue_seg_ref(q, e->seg, -1, e->len);
	queue_seg_ref(q, e->snap_seg, -1, e->snap_len);
	queue_entry_free(e);
}

size_t queue_size(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->nentries + q->index_used;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t queue_in_memory(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->nentries;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* ---- segments and appends ---- */

static int seg_path(const struct queue *q, uint64_t num, char *out, size_t outlen)
{
	int r = snprintf(out, outlen, "%s/%016" PRIx64, q->jdir, num);
	return r > 0 && (size_t)r < outlen ? 0 : ENAMETOOLONG;
}

/* A new current segment (mu held, or before the flusher runs). */
static int seg_create(struct queue *q)
{
	char path[PATH_MAX];
	uint64_t num = q->nsegs ? q->segs[q->nsegs - 1].num + 1 : 1;
	int e = seg_path(q, num, path, sizeof(path));
	if (e)
		return e;
	if (q->nsegs == q->segcap) {
		size_t cap = q->segcap ? q->segcap * 2 : 16;
		struct qseg *s = realloc(q->segs, cap * sizeof(*s));
		if (!s)
			return ENOMEM;
		q->segs = s;
		q->segcap = cap;
	}
	errno = 0;
	int fd = q->ops.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return queue_errno();
	q->segs[q->nsegs++] = (struct qseg){.num = num, .fd = fd, .used = ++q->seg_clock};
	q->jdir_dirty = true;
	seg_trim_fds(q, NULL); /* the one appended to until now is an older one */
	return 0;
}

int queue_write_all(struct queue *q, int fd, const void *p, size_t n, int64_t off)
{
	const char *s = p;
	while (n > 0) {
		errno = 0;
		long r = off < 0 ? q->ops.write(fd, s, n) : q->ops.pwrite(fd, s, n, (uint64_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return queue_errno();
		if (r == 0 || (size_t)r > n)
			return EIO; /* a short write that makes no progress */
		s += r;
		n -= (size_t)r;
		if (off >= 0)
			off += r;
	}
	return 0;
}

int queue_append(struct queue *q, const void *rec, size_t n, const void *body, size_t bodylen,
		 uint64_t *seg, uint64_t *off)
{
	struct qseg *cur = &q->segs[q->nsegs - 1];
	/* after a failed flush, what the old segment holds is in doubt: start
	 * a new one (which also notices a queue directory that went away) */
	if (q->rotate || (cur->size > 0 && cur->size + n + bodylen > QUEUE_SEGMENT_MAX)) {
		int e = seg_create(q);
		if (e)
			return e;
		q->rotate = false;
		cur = &q->segs[q->nsegs - 1];
	}
	int e = queue_write_all(q, cur->fd, rec, n, (int64_t)cur->size);
	if (!e && bodylen)
		e = queue_write_all(q, cur->fd, body, bodylen, (int64_t)(cur->size + n));
	if (e) {
		/* the next record overwrites whatever part of this one landed;
		 * cut it off now so that a crash does not even show it */
		if (ftruncate(cur->fd, (off_t)cur->size) != 0)
			(void)0;
		cur->zeroed = cur->size;
		return e;
	}
	*seg = cur->num;
	*off = cur->size;
	cur->size += n + bodylen;
	if (cur->zeroed < cur->size)
		cur->zeroed = cur->size;
	cur->dirty = true;
	return 0;
}

/* A lazy record is written (mu held): the flusher is woken only by the
 * first since its last round, which starts the wait that the later ones
 * share (a wake per record cost a context switch per delivery). */
static void mark_dirty(struct queue *q)
{
	if (!q->dirty)
		pthread_cond_signal(&q->wake);
	q->dirty = true;
}

int queue_append_lazy(struct queue *q, const struct buf *rec)
{
	uint64_t seg, off;
	int e = queue_append(q, rec->data, rec->len, NULL, 0, &seg, &off);
	if (!e)
		mark_dirty(q);
	return e;
}

int queue_write_state(struct queue *q, struct queue_entry *e)
{
	const char **text = calloc(e->nrcpt, sizeof(*text));
	if (!text)
		return ENOMEM;
	for (uint32_t i = 0; i < e->nrcpt; i++)
		text[i] = e->rtext[i];
	struct qrec_state_out s = {e->id, e->attempts, e->next_try, e->held, e->nrcpt, e->rstat,
				   text};
	int rc = qrec_begin(&q->rec, QREC_STATE) || qrec_put_state(&q->rec, &s) ? ENOMEM : 0;
	free(text);
	if (rc)
		return rc;
	qrec_seal(&q->rec, NULL, 0);
	uint64_t seg, off;
	if ((rc = queue_append(q, q->rec.data, q->rec.len, NULL, 0, &seg, &off)) != 0)
		return rc;
	mark_dirty(q);
	queue_seg_ref(q, e->snap_seg, -1, e->snap_len);
	e->snap_seg = seg;
	e->snap_off = off;
	e->snap_len = (uint32_t)q->rec.len;
	e->unsaved = false;
	queue_seg_ref(q, seg, 1, e->snap_len);
	return 0;
}

int queue_write_done(struct queue *q, const char *id)
{
	if (qrec_begin(&q->rec, QREC_DONE) != 0 || qrec_put_str(&q->rec, id, strlen(id)) != 0)
		return ENOMEM;
	qrec_seal(&q->rec, NULL, 0);
	return queue_append_lazy(q, &q->rec);
}

void queue_drop_entry(struct queue *q, struct queue_entry *e)
{
	if (e->spill)
		unlink_spill(q, e->id);
	queue_remove(q, e);
}

void queue_finish_entry(struct queue *q, struct queue_entry *e)
{
	(void)queue_write_done(q, e->id); /* lost, it only repeats a delivery (top comment) */
	queue_drop_entry(q, e);
}

int queue_read_record(struct queue *q, struct queue_entry *e, unsigned char **rec, size_t *len)
{
	pthread_mutex_lock(&q->mu);
	uint64_t seg = e->seg, off = e->off;
	size_t n = e->len;
	pthread_mutex_unlock(&q->mu);
	return queue_read_record_at(q, seg, off, n, rec, len);
}

/* Why a segment could not be opened or its descriptor duplicated: out of
 * descriptors or memory is passing (the caller tries again later), a
 * missing file is not (EIO, as a record that does not check). */
static int seg_open_error(void)
{
	return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? errno : EIO;
}

int queue_pread_record(struct queue *q, uint64_t seg, uint64_t off, size_t n, unsigned char **rec)
{
	struct qseg *s = queue_seg(q, seg);
	int fd = s ? queue_seg_fd(q, s) : -1;
	if (fd < 0)
		return s ? seg_open_error() : EIO;
	unsigned char *p = n >= QREC_HDR ? malloc(n) : NULL;
	if (!p)
		return n >= QREC_HDR ? ENOMEM : EIO;
	if (pread(fd, p, n, (off_t)off) != (ssize_t)n || !qrec_check(p, n)) {
		free(p);
		return EIO;
	}
	*rec = p;
	return 0;
}

int queue_read_record_at(struct queue *q, uint64_t seg, uint64_t off, size_t n, unsigned char **rec,
			 size_t *len)
{
	pthread_mutex_lock(&q->mu);
	struct qseg *s = queue_seg(q, seg);
	int sfd = s ? queue_seg_fd(q, s) : -1;
	/* read without mu: the duplicate outlives a close or an unlink */
	int fd = sfd >= 0 ? fcntl(sfd, F_DUPFD_CLOEXEC, 0) : -1;
	int open_err = fd < 0 && s ? seg_open_error() : EIO;
	pthread_mutex_unlock(&q->mu);
	if (fd < 0)
		return open_err;
	unsigned char *p = malloc(n);
	int err = p ? 0 : ENOMEM;
	if (p && pread(fd, p, n, (off_t)off) != (ssize_t)n)
		err = EIO;
	close(fd);
	if (!err && !qrec_check(p, n))
		err = EIO;
	if (err) {
		free(p);
		return err;
	}
	*rec = p;
	*len = n;
	return 0;
}

/* ---- the flusher ---- */

struct dirty_fd {
	int fd;
	uint64_t num;
};

/* fdatasync up to 8 dirty segments (and journal/ after a new segment);
 * flush_mu held. *more: others are left. */
static int flush_some(struct queue *q, bool *more)
{
	struct dirty_fd fds[8];
	size_t nfds = 0;
	*more = false;
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->nsegs; i++) {
		if (!q->segs[i].dirty)
			continue;
		if (nfds == sizeof(fds) / sizeof(fds[0])) {
			*more = true;
			break;
		}
		/* used without mu: while syncing counts it, the segment keeps
		 * its descriptor (seg_trim_fds) and its place (queue_maintain) */
		fds[nfds++] = (struct dirty_fd){q->segs[i].fd, q->segs[i].num};
		q->segs[i].dirty = false;
		q->segs[i].syncing++;
	}
	bool jdir = q->jdir_dirty;
	q->jdir_dirty = false;
	pthread_mutex_unlock(&q->mu);
	int err = 0;
	for (size_t i = 0; i < nfds; i++) {
		errno = 0;
		struct stat st;
		if (q->ops.fdatasync(fds[i].fd) < 0 && !err)
			err = queue_errno();
		/* flushed, but unlinked (the queue directory was removed): a
		 * restart would not find it, so it covers nothing */
		else if (!err && fstat(fds[i].fd, &st) == 0 && st.st_nlink == 0)
			err = ENOENT;
	}
	if (jdir && !err)
		err = sync_dir(q, q->jdir);
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < nfds; i++) {
		struct qseg *s = queue_seg(q, fds[i].num);
		if (!s)
			continue;
		s->syncing--;
		s->dirty |= err != 0;
		if (err) /* which of them failed is not known: none is vouched for */
			s->unsure_below = s->size;
	}
	seg_trim_fds(q, NULL); /* an older segment flushed for the last time */
	if (err) {
		q->sync_failures++;
		q->rotate = true;
		q->jdir_dirty |= jdir;
	}
	pthread_mutex_unlock(&q->mu);
	return err;
}

/* Make every record appended before the call durable. One caller at a
 * time (flush_mu): a segment whose dirty flag another caller cleared is
 * covered only once that caller's fdatasync has returned, so a second
 * caller must not find the flag clear and return at once. */
static int flush_segments(struct queue *q)
{
	pthread_mutex_lock(&q->flush_mu);
	bool more = true;
	int err = 0;
	while (!err && more)
		err = flush_some(q, &more);
	pthread_mutex_unlock(&q->flush_mu);
	return err;
}

int queue_sync(struct queue *q)
{
	return flush_segments(q);
}

void queue_msg_free(struct queue_msg *m)
{
	if (m->spill_fd >= 0)
		close(m->spill_fd);
	for (uint32_t i = 0; i < m->nrcpt; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->from);
	buf_fini(&m->body);
	free(m->spill_path);
	buf_fini(&m->env);
	queue_entry_free(m->entry);
	free(m);
}

/* Write zeros ahead of the current segment's records (QUEUE_ZERO_AHEAD),
 * after a round, so that the next rounds' fdatasyncs find the blocks
 * allocated and the size unchanged. A zero region is not a record (its
 * magic does not match): recovery ends the segment there. Failures only
 * cost the gain; under mu (an append must not land in the region while the
 * zeros are written). Only where space is plenty: on a nearly full file
 * system the zeros would take what messages need. */
static bool zero_needed(struct queue *q)
{
	const struct qseg *cur = &q->segs[q->nsegs - 1];
	return cur->zeroed < cur->size + QUEUE_ZERO_AHEAD / 2 && cur->zeroed < QUEUE_SEGMENT_MAX;
}

static void zero_ahead(struct queue *q)
{
	static const unsigned char zeros[64 * 1024];
	pthread_mutex_lock(&q->mu);
	bool need = zero_needed(q) && !atomic_load(&q->low_space);
	pthread_mutex_unlock(&q->mu);
	uint64_t free_bytes = 0;
	if (!need || q->ops.free_space(q->dir, &free_bytes) != 0 ||
	    free_bytes < QUEUE_ZERO_MIN_FREE || free_bytes < 2 * q->min_free)
		return;
	pthread_mutex_lock(&q->mu);
	struct qseg *cur = &q->segs[q->nsegs - 1];
	uint64_t end = cur->size + QUEUE_ZERO_AHEAD;
	if (end > QUEUE_SEGMENT_MAX)
		end = QUEUE_SEGMENT_MAX;
	if (zero_needed(q)) {
		uint64_t off = cur->zeroed;
		while (off < end) {
			size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);
			ssize_t r = pwrite(cur->fd, zeros, n, (off_t)off);
			if (r <= 0)
				break;
			off += (uint64_t)r;
		}
		cur->zeroed = off;
	}
	pthread_mutex_unlock(&q->mu);
}

/* One round: the batch is every message committed since the last one. */
static void flush_round(struct queue *q, struct queue_msg *batch)
{
	bool spilled = false;
	for (struct queue_msg *m = batch; m; m = m->next) {
		if (m->spill_fd < 0 || m->err)
			continue;
		errno = 0;
		struct stat st;
		if (q->ops.fdatasync(m->spill_fd) < 0)
			queue_msg_fail(m, queue_errno(), "fdatasync", m->spill_path);
		else if (fstat(m->spill_fd, &st) == 0 && st.st_nlink == 0)
			queue_msg_fail(m, ENOENT, "fdatasync", m->spill_path);
		spilled = true;
	}
	const char *what = q->sdir;
	int e = spilled ? sync_dir(q, q->sdir) : 0;
	if (!e) {
		what = q->jdir;
		e = flush_segments(q);
	}
	if (e)
		log_msg(LOG_ERROR, "event=queue_flush_failed dir=%s error=\"%s\"", what, strerror(e));

	pthread_mutex_lock(&q->mu);
	for (struct queue_msg *m = batch; m; m = m->next) {
		if (m->entry && m->entry->seg) /* spool.c's reference of the appended record */
			queue_seg_ref(q, m->entry->seg, -1, 0);
		if (!m->err && e)
			queue_msg_fail(m, e, "flush", what);
		struct qseg *s = m->entry ? queue_seg(q, m->entry->seg) : NULL;
		if (!m->err && s && m->entry->off < s->unsure_below)
			queue_msg_fail(m, EIO, "an earlier fdatasync failed in", q->jdir);
		if (m->err) {
			/* unknown on disk after a failed flush: make sure it never
			 * counts (the client got 451 and sends it again) */
			(void)queue_write_done(q, m->id);
			if (m->spill_path)
				(void)unlink(m->spill_path);
		}
	}
	pthread_mutex_unlock(&q->mu);

	/* durable: said (logged) before any delivery can take it, the batch's
	 * lines in one write */
	log_hold();
	for (struct queue_msg *m = batch; m && q->on_queued; m = m->next)
		if (!m->err)
			q->on_queued(m->arg);
	log_release();

	bool any = false;
	pthread_mutex_lock(&q->mu);
	for (struct queue_msg *m = batch; m; m = m->next) {
		if (m->err)
			continue;
		struct queue_entry *x = m->entry;
		m->entry = NULL;
		queue_insert(q, x);
		/* past the active limit, or behind messages of the index that
		 * were due when it arrived: it waits in the index (index.c) */
		if (q->nentries > q->active_max || (q->index_used && q->index_due <= x->queued_at))
			(void)queue_index_put(q, x, NULL);
		any = true;
	}
	pthread_mutex_unlock(&q->mu);

	while (batch) {
		struct queue_msg *m = batch;
		batch = m->next;
		m->done(m->arg, m->err, m->why);
		queue_msg_free(m);
	}
	if (any && q->on_ready)
		q->on_ready(q->on_ready_arg);
	if (!e)
		zero_ahead(q);
}

/* Wait on q->wake (mu held) until the monotonic time *until. */
static void wait_until(struct queue *q, const struct timespec *until)
{
	(void)pthread_cond_timedwait(&q->wake, &q->mu, until);
}

static void *flusher_main(void *arg)
{
	struct queue *q = arg;
	int e;
	(void)pthread_setname_np(pthread_self(), "queue-flush"); /* for top -H and perf */
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && !q->waiting && !q->dirty)
			pthread_cond_wait(&q->wake, &q->mu);
		/* Only lazy records (S, D) to flush: they may wait for the next
		 * message's flush, which covers them for free. A round of their
		 * own would occupy the disk and this thread just when a session
		 * waits for its 250 (measured: at one session every message paid
		 * for the previous one's D record). */
		if (!q->stop && !q->waiting && q->dirty) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += QUEUE_LAZY_FLUSH_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			while (!q->stop && !q->waiting && q->dirty) {
				struct timespec now;
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (now.tv_sec > until.tv_sec ||
				    (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
					break;
				wait_until(q, &until);
			}
		}
		if (!q->waiting && !q->dirty)
			break; /* stop, with nothing left to flush */
		struct queue_msg *batch = q->waiting;
		q->waiting = NULL;
		q->waiting_tail = &q->waiting;
		q->dirty = false;
		pthread_mutex_unlock(&q->mu);
		if (batch)
			flush_round(q, batch);
		else if ((e = flush_segments(q)) != 0)
			log_msg(LOG_ERROR, "event=queue_flush_failed dir=%s error=\"%s\"", q->jdir,
				strerror(e));
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

void queue_wait_flush(struct queue_msg *m)
{
	struct queue *q = m->q;
	pthread_mutex_lock(&q->mu);
	m->next = NULL;
	*q->waiting_tail = m;
	q->waiting_tail = &m->next;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->mu);
}

/* ---- recovery ---- */

/* While recovery reads the journal it holds at most this many messages in
 * memory: past it the oldest go to the index, and a later S or D record
 * brings one back. So a restart with a large queue does not need an
 * entry's ~350 octets for each of its messages at once, only the id map's
 * 16 (idmap.c). */
#define RECOVER_IN_MEMORY(q) (4 * (q)->active_max)

struct recovery {
	struct queue_idmap indexed; /* messages moved to the index meanwhile */
};

/* Whether id was moved to the index meanwhile (1: its slot and map cell;
 * -errno: the index cannot be read). */
static int indexed(struct queue *q, struct recovery *rc, const char *id, uint32_t *slot,
		   size_t *at)
{
	uint64_t key = queue_idmap_key(id);
	*at = SIZE_MAX;
	while (queue_idmap_next(&rc->indexed, key, at, slot)) {
		int r = queue_index_slot_is(q, *slot, id); /* the hash's candidates: the id decides */
		if (r != 0)
			return r; /* 1, or -errno: cannot tell */
	}
	return 0;
}

/* id's entry in *e: in memory, or brought back from the index; NULL: none.
 * An errno when it is in the index and cannot be brought back: recovery
 * stops then, as going on would take it for gone (a D or S record after it
 * ignored, a second entry for a copy moved forward). */
static int recovered(struct queue *q, struct recovery *rc, const char *id, struct queue_entry **e)
{
	uint32_t slot;
	size_t at;
	if ((*e = queue_find(q, id)))
		return 0;
	int r = indexed(q, rc, id, &slot, &at);
	if (r <= 0)
		return -r;
	errno = 0;
	if (!(*e = queue_index_load_slot(q, slot)))
		return errno ? errno : EIO;
	queue_idmap_remove_at(&rc->indexed, at);
	return 0;
}

static int apply_msg(struct queue *q, struct recovery *rc, const struct qrec_msg *r,
		     uint64_t seg, uint64_t off, size_t len)
{
	struct queue_entry *e;
	int err = recovered(q, rc, r->id, &e);
	if (err)
		return err;
	if (e) { /* a copy moved forward by queue_maintain: the newest wins */
		queue_seg_ref(q, e->seg, -1, e->len);
		e->seg = seg;
		e->off = off;
		e->len = (uint32_t)len;
		queue_seg_ref(q, seg, 1, e->len);
		return 0;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return ENOMEM;
	memcpy(e->id, r->id, sizeof(e->id));
	e->seg = seg;
	e->off = off;
	e->len = (uint32_t)len;
	e->size = r->size;
	e->queued_at = r->queued_at;
	e->spill = r->spill;
	e->nrcpt = r->nrcpt;
	e->recovered = true;
	e->rstat = calloc(r->nrcpt, 1);
	e->rtext = calloc(r->nrcpt, sizeof(char *));
	if (!e->rstat || !e->rtext) {
		queue_entry_free(e);
		return ENOMEM;
	}
	queue_insert(q, e);
	return 0;
}

static int apply_state(struct queue *q, struct recovery *rc, const struct qrec_state *s,
		       uint64_t seg, uint64_t off, size_t len)
{
	struct queue_entry *e;
	int err = recovered(q, rc, s->id, &e);
	if (err || !e || e->nrcpt != s->nrcpt)
		return err; /* 0: done meanwhile, or not ours: ignore */
	const unsigned char *p = s->rcpts;
	size_t n = s->rcpts_len;
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		uint8_t st;
		struct qrec_str t;
		if (!qrec_next_rcpt(&p, &n, &st, &t))
			return 0;
		e->rstat[i] = st;
		free(e->rtext[i]);
		e->rtext[i] = t.len ? strndup(t.p, t.len) : NULL;
	}
	e->attempts = s->attempts;
	e->next_try = s->next_try;
	e->held = s->held;
	queue_seg_ref(q, e->snap_seg, -1, e->snap_len);
	e->snap_seg = seg;
	e->snap_off = off;
	e->snap_len = (uint32_t)len;
	queue_seg_ref(q, seg, 1, e->snap_len);
	return 0;
}

static int spill_check(struct queue *q, struct queue_entry *e);
static bool spill_verdict(struct queue *q, struct queue_entry *e, int check);

static void drop_unmatched(struct queue *q, struct queue_entry *e)
{
	log_msg(LOG_WARN, "event=queue_recover_dropped queue_id=%s reason=\"spill file "
		"missing or incomplete: never acknowledged, or already delivered\"", e->id);
	queue_remove(q, e);
}

/* Past RECOVER_IN_MEMORY, the oldest messages go to the index, down to
 * half of it: one still queued long after it came is more likely waiting
 * for a retry than about to be delivered. (A spill message's file is
 * looked at only at the end: a later D record may explain its absence.) */
static int recover_bound(struct queue *q, struct recovery *rc)
{
	if (q->nentries > q->recover_peak)
		q->recover_peak = q->nentries;
	if (q->nentries <= RECOVER_IN_MEMORY(q))
		return 0;
	while (q->head && q->nentries > RECOVER_IN_MEMORY(q) / 2) {
		struct queue_entry *e = q->head;
		char id[QREC_ID_MAX + 1];
		bool spill = e->spill;
		uint32_t slot;
		memcpy(id, e->id, sizeof(id));
		if (!queue_index_put(q, e, &slot))
			return 0; /* no index: memory it is */
		if (queue_idmap_put(&rc->indexed, queue_idmap_key(id), slot, spill) != 0) {
			/* it could not be found again: back, or recovery stops */
			errno = 0;
			return queue_index_load_slot(q, slot) ? 0 : errno ? errno : ENOMEM;
		}
	}
	return 0;
}

/* A spill message moved to the index while recovering: in memory for a
 * moment to look at its file, then back to the index or dropped. */
static void check_indexed_spill(void *arg, uint32_t slot)
{
	struct queue *q = arg;
	struct queue_entry *e = queue_index_load_slot(q, slot);
	if (!e)
		return;
	char id[sizeof(e->id)];
	memcpy(id, e->id, sizeof(id));
	if (spill_verdict(q, e, spill_check(q, e)))
		(void)queue_index_put(q, e, NULL);
	else
		unlink_spill(q, id); /* half-received: the cleanup of spill/ kept it */
}

/* Whether a queued message's body is the spill file name: one in memory,
 * or one moved to the index meanwhile. */
static bool spill_owned(struct queue *q, struct recovery *rc, const char *name)
{
	if (strlen(name) > QREC_ID_MAX)
		return false;
	struct queue_entry *e = queue_find(q, name);
	uint32_t slot;
	size_t at;
	return e ? e->spill : indexed(q, rc, name, &slot, &at) != 0; /* unknown: kept */
}

/* A segment's records end at off. Past them the file holds zeros (written
 * ahead) or nothing, unless a record there did not check out: a write cut
 * by a crash (what follows was never acknowledged: its flush did not
 * complete) or a damaged disk (what follows is lost). Either way it is
 * said, with where, rather than passed over; true then (the segment is
 * kept aside when it goes: seg_remove). */
static bool warn_if_cut(struct queue *q, const struct qseg *s, int fd, uint64_t off)
{
	unsigned char buf[64 * 1024];
	uint64_t pos = off, nonzero = 0;
	ssize_t r;
	while (!nonzero && (r = pread(fd, buf, sizeof(buf), (off_t)pos)) > 0) {
		for (ssize_t i = 0; i < r && !nonzero; i++)
			nonzero = buf[i] ? pos + (uint64_t)i + 1 : 0;
		pos += (uint64_t)r;
	}
	if (r < 0) /* what is there cannot be read: as if something were */
		nonzero = pos + 1;
	if (nonzero)
		log_msg(LOG_WARN, "event=queue_journal_cut dir=%s segment=%016" PRIx64 " offset=%" PRIu64
			" reason=\"a record that does not check out: a write cut by a crash (what "
			"follows was never acknowledged) or a damaged disk (what follows is lost)\"",
			q->dir, s->num, off);
	return nonzero != 0;
}

/* Read one segment's records until the end or the first bad one. */
static int scan_segment(struct queue *q, struct recovery *rc, struct qseg *s)
{
	unsigned char hdr[QREC_HDR];
	unsigned char *rec = NULL;
	uint64_t off = 0;
	int err = 0;
	int fd = queue_seg_fd(q, s);
	if (fd < 0)
		return errno ? errno : EIO;
	for (;;) {
		ssize_t got = pread(fd, hdr, QREC_HDR, (off_t)off);
		if (got < 0) { /* unreadable is not the end: stop the start */
			err = errno;
			break;
		}
		if (got != QREC_HDR)
			break;
		enum qrec_type t;
		uint32_t plen;
		if (qrec_header(hdr, QREC_HDR, &t, &plen) != QREC_OK)
			break;
		size_t n = QREC_HDR + (size_t)plen;
		unsigned char *r = realloc(rec, n);
		if (!r) {
			err = ENOMEM;
			break;
		}
		rec = r;
		if ((got = pread(fd, rec, n, (off_t)off)) < 0) {
			err = errno;
			break;
		}
		if (got != (ssize_t)n || !qrec_check(rec, n))
			break;
		const unsigned char *p = rec + QREC_HDR;
		struct qrec_msg m;
		struct qrec_state st;
		char id[QREC_ID_MAX + 1];
		if (t == QREC_MSG && qrec_parse_msg(p, plen, &m))
			err = apply_msg(q, rc, &m, s->num, off, n);
		else if (t == QREC_STATE && qrec_parse_state(p, plen, &st))
			err = apply_state(q, rc, &st, s->num, off, n);
		else if (t == QREC_DONE && qrec_parse_done(p, plen, id)) {
			struct queue_entry *e;
			if (!(err = recovered(q, rc, id, &e)) && e)
				queue_remove(q, e);
		} else {
			break; /* CRC right, content wrong: not written by us */
		}
		if (err || (err = recover_bound(q, rc)) != 0)
			break;
		off += n;
	}
	free(rec);
	s->size = off;
	if (!err)
		s->damaged = warn_if_cut(q, s, fd, off);
	return err;
}

/* A spill file is the message only if its size matches its record:
 * ESTALE when it is missing or does not match (a message whose flush did
 * not complete), 0 when it matches, another errno when it could not be
 * looked at (recovery stops then: an acknowledged message is never dropped
 * for a passing error). Its CRC is checked as it is delivered (deliver.c):
 * reading every spill file whole here made a start with a large queue of
 * large messages take minutes. */
static int spill_check(struct queue *q, struct queue_entry *e)
{
	char path[PATH_MAX];
	if (!queue_spill_path(q, e->id, path, sizeof(path)))
		return ENAMETOOLONG;
	int fd = q->ops.open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? ESTALE : errno;
	struct stat st;
	int err = fstat(fd, &st) == 0 ? 0 : errno;
	close(fd);
	if (err)
		return err;
	return (uint64_t)st.st_size == e->size ? 0 : ESTALE;
}

/* After spill_check: a message whose file is not what its record says is
 * dropped; one that could not be checked (out of descriptors or memory, an
 * I/O error) fails the start (recover), rather than be dropped or
 * delivered unchecked. true: e is kept. */
static bool spill_verdict(struct queue *q, struct queue_entry *e, int check)
{
	if (check == ESTALE) {
		drop_unmatched(q, e);
		return false;
	}
	if (check && !q->recover_err)
		q->recover_err = check;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool is_hex16(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 16 && s[n] == '\0';
}

static int recover(struct queue *q, char *err, size_t errlen)
{
	DIR *d = opendir(q->jdir);
	if (!d) {
		snprintf(err, errlen, "queue_dir %s: %s", q->jdir, strerror(errno));
		return -1;
	}
	uint64_t *nums = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_hex16(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *v = realloc(nums, cap * sizeof(*v));
			if (!v) { /* a segment left unread would lose its D records */
				closedir(d);
				free(nums);
				snprintf(err, errlen, "queue_dir %s: out of memory", q->jdir);
				return -1;
			}
			nums = v;
		}
		nums[n++] = strtoull(de->d_name, NULL, 16);
	}
	closedir(d);
	if (n)
		qsort(nums, n, sizeof(*nums), cmp_u64);
	struct recovery state = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX];
		if (seg_path(q, nums[i], path, sizeof(path))) {
			snprintf(err, errlen, "queue_dir %s: path too long", q->jdir);
			rc = -1;
			break;
		}
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "queue segment %s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (q->nsegs == q->segcap) {
			size_t c = q->segcap ? q->segcap * 2 : 16;
			struct qseg *s = realloc(q->segs, c * sizeof(*s));
			if (!s) {
				close(fd);
				rc = -1;
				snprintf(err, errlen, "out of memory");
				break;
			}
			q->segs = s;
			q->segcap = c;
		}
		q->segs[q->nsegs] = (struct qseg){.num = nums[i], .fd = fd, .used = ++q->seg_clock};
		struct qseg *s = &q->segs[q->nsegs++];
		seg_trim_fds(q, NULL); /* the ones read before may close */
		int e = scan_segment(q, &state, s);
		if (e) {
			snprintf(err, errlen, "queue segment %s: %s", path, strerror(e));
			rc = -1;
		}
	}
	free(nums);
	if (rc) {
		queue_idmap_free(&state.indexed);
		return rc;
	}

	/* spill messages whose flush never completed (those in the index:
	 * below, once the map's slots are no longer needed) */
	for (struct queue_entry *e = q->head, *next; e; e = next) {
		next = e->next;
		if (e->spill)
			(void)spill_verdict(q, e, spill_check(q, e));
	}
	/* half-received messages */
	if ((d = opendir(q->sdir))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] != '.' && !spill_owned(q, &state, de->d_name))
				unlink_spill(q, de->d_name);
		}
		closedir(d);
	}
	/* loading and putting back moves slots: the map's last use */
	queue_idmap_each_spill(&state.indexed, check_indexed_spill, q);
	queue_idmap_free(&state.indexed);
	if (q->recover_err) {
		snprintf(err, errlen, "queue %s: cannot check the spill files of queued messages: %s",
			 q->dir, strerror(q->recover_err));
		return -1;
	}
	if (q->nentries + q->index_used)
		log_msg(LOG_INFO, "event=queue_recovered dir=%s messages=%zu segments=%zu "
			"peak_in_memory=%zu", q->dir, q->nentries + q->index_used, q->nsegs,
			q->recover_peak);
	/* from now on only the due ones in memory, and the memory goes back */
	queue_index_settle(q, (uint64_t)time(NULL));
	malloc_trim(0);
	return 0;
}

/* ---- open and close ---- */

/* A segment that holds nothing queued goes; one with data past a damaged
 * record is renamed NUM.damaged instead, for whoever wants to salvage it
 * (recovery reads only the records before the damage). mu held or alone. */
static void seg_remove(struct queue *q, struct qseg *s)
{
	char path[PATH_MAX], aside[PATH_MAX + 16];
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (seg_path(q, s->num, path, sizeof(path)) != 0)
		return;
	if (!s->damaged) {
		(void)unlink(path);
		return;
	}
	/* never over an earlier one: numbers start again when the journal empties */
	snprintf(aside, sizeof(aside), "%s.damaged", path);
	int r = renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE);
	if (r != 0 && errno == EEXIST) {
		snprintf(aside, sizeof(aside), "%s.damaged.%lld", path, (long long)time(NULL));
		r = renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE);
	}
	if (r == 0)
		log_msg(LOG_WARN, "event=queue_segment_kept path=%s reason=\"data past a record that "
			"does not check out: kept for salvage, not read again\"", aside);
	else
		log_msg(LOG_ERROR, "event=queue_segment_kept path=%s error=\"rename to %s: %s\"",
			path, aside, strerror(errno));
}

/* Before the new segment is made, the recovered ones that hold nothing
 * queued go: the oldest in order (a D record lives after its M record, so
 * removing from the head never brings a message back), and past the first
 * that still holds mail, those without a single record. queue_maintain
 * would remove the first kind a minute later, and the second kind only
 * after the mail before them: a server restarted often would otherwise
 * keep an empty segment, and its descriptor, per start. */
static void drop_dead_segments(struct queue *q)
{
	size_t kept = 0;
	bool head = true;
	for (size_t i = 0; i < q->nsegs; i++) {
		struct qseg *s = &q->segs[i];
		head = head && s->live == 0;
		if (!head && s->size > 0) {
			q->segs[kept++] = *s;
			continue;
		}
		seg_remove(q, s);
	}
	q->nsegs = kept;
}

static int mkdir_if_missing(const char *path, bool *made)
{
	if (mkdir(path, 0700) == 0) {
		*made = true;
		return 0;
	}
	return errno == EEXIST ? 0 : errno;
}

struct queue *queue_open(const struct queue_config *cfg, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->ops = (struct queue_fs_ops){fs_open, fs_pwrite, fs_write, fs_fdatasync, fs_fsync,
				       fs_free_space};
	if (cfg->ops) {
		const struct queue_fs_ops *o = cfg->ops;
		if (o->open) q->ops.open = o->open;
		if (o->pwrite) q->ops.pwrite = o->pwrite;
		if (o->write) q->ops.write = o->write;
		if (o->fdatasync) q->ops.fdatasync = o->fdatasync;
		if (o->fsync) q->ops.fsync = o->fsync;
		if (o->free_space) q->ops.free_space = o->free_space;
	}
	q->min_free = cfg->min_free;
	q->retry = cfg->retry;
	if (q->retry.n == 0)
		queue_retry_defaults(&q->retry);
	q->on_ready = cfg->on_ready;
	q->on_queued = cfg->on_queued;
	q->on_ready_arg = cfg->on_ready_arg;
	q->active_max = cfg->active_max ? cfg->active_max : QUEUE_ACTIVE_MAX;
	q->index_fd = -1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->flush_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->wake, &ca);
	pthread_condattr_destroy(&ca);
	q->waiting_tail = &q->waiting;
	buf_init(&q->rec, QREC_HDR + QREC_MAX_PAYLOAD);
	atomic_store(&q->space_free, UINT64_MAX);
	q->hsize = 1024;
	q->hash = calloc(q->hsize, sizeof(*q->hash));
	const char *dir = cfg->dir && *cfg->dir ? cfg->dir : QUEUE_DEFAULT_DIR;
	if (!q->hash || !(q->dir = strdup(dir)) || !(q->jdir = join(dir, "journal")) ||
	    !(q->sdir = join(dir, "spill"))) {
		snprintf(err, errlen, "queue_dir %s: out of memory or path too long", dir);
		goto fail;
	}
	bool made = false;
	int e;
	if ((e = mkdir_if_missing(q->dir, &made)) || (e = mkdir_if_missing(q->jdir, &made)) ||
	    (e = mkdir_if_missing(q->sdir, &made))) {
		snprintf(err, errlen, "queue_dir %s: cannot create: %s", q->dir, strerror(e));
		goto fail;
	}
	if (access(q->dir, R_OK | W_OK | X_OK) || access(q->jdir, R_OK | W_OK | X_OK) ||
	    access(q->sdir, R_OK | W_OK | X_OK)) {
		snprintf(err, errlen, "queue_dir %s: not writable: %s", q->dir, strerror(errno));
		goto fail;
	}
	if ((e = queue_index_open(q)) != 0) {
		snprintf(err, errlen, "queue_dir %s: cannot create its index: %s", q->dir, strerror(e));
		goto fail;
	}
	if (recover(q, err, errlen))
		goto fail;
	drop_dead_segments(q);
	if ((e = seg_create(q)) != 0 || (e = sync_dir(q, q->jdir)) != 0 ||
	    (made && ((e = sync_dir(q, q->dir)) != 0 || (e = sync_dir(q, q->sdir)) != 0))) {
		snprintf(err, errlen, "queue_dir %s: %s", q->dir, strerror(e));
		goto fail;
	}
	q->jdir_dirty = false;
	if (pthread_create(&q->flusher, NULL, flusher_main, q) != 0) {
		snprintf(err, errlen, "queue: cannot start the flusher thread");
		goto fail;
	}
	q->flusher_running = true;
	return q;
fail:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->flusher_running) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->wake);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->flusher, NULL);
	}
	/* deliveries never synced: as after a crash, delivered again at the
	 * next start over what they left */
	while (q->unsynced) {
		struct queue_attempt *o = q->unsynced;
		q->unsynced = o->next;
		queue_attempt_free(o, o->e->nrcpt);
	}
	while (q->head)
		queue_remove(q, q->head);
	queue_index_close(q);
	for (size_t i = 0; i < q->nsegs; i++)
		if (q->segs[i].fd >= 0)
			close(q->segs[i].fd);
	free(q->segs);
	free(q->hash);
	buf_fini(&q->rec);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->flush_mu);
	free(q->dir);
	free(q->jdir);
	free(q->sdir);
	free(q);
}

bool queue_space_ok(struct queue *q, uint64_t now, uint64_t size)
{
	if (q->min_free == 0 && size == 0)
		return true;
	if (atomic_exchange(&q->space_checked, now) != now) {
		uint64_t free_bytes = 0;
		if (q->ops.free_space(q->dir, &free_bytes) != 0)
			free_bytes = UINT64_MAX; /* unknown: the writes will tell */
		atomic_store(&q->space_free, free_bytes);
		if (free_bytes < q->min_free)
			atomic_store(&q->low_space, true);
	}
	uint64_t free_bytes = atomic_load(&q->space_free);
	/* Postfix's smtpd refuses a SIZE= the queue cannot hold the same way */
	return free_bytes >= q->min_free && free_bytes - q->min_free >= size;
}

/* ---- reclaiming head segments ---- */

/* Copy e's M record (and write its state) into the current segment. */
static int relocate(struct queue *q, uint64_t head_num, struct queue_entry *e)
{
	int err = 0;
	if (e->seg == head_num) {
		struct qseg *head = queue_seg(q, head_num);
		int fd = head ? queue_seg_fd(q, head) : -1;
		unsigned char *rec = malloc(e->len);
		if (!rec || fd < 0) {
			free(rec);
			return rec ? EIO : ENOMEM;
		}
		if (pread(fd, rec, e->len, (off_t)e->off) != (ssize_t)e->len ||
		    !qrec_check(rec, e->len))
			err = EIO;
		uint64_t seg, off;
		if (!err)
			err = queue_append(q, rec, e->len, NULL, 0, &seg, &off);
		free(rec);
		if (err)
			return err;
		queue_seg_ref(q, e->seg, -1, e->len);
		e->seg = seg;
		e->off = off;
		queue_seg_ref(q, seg, 1, e->len);
	}
	/* always: the state must follow the record it belongs to */
	return queue_write_state(q, e);
}

struct relocation {
	uint64_t head, now;
	int err;
	size_t moved;
};

/* A message brought in from the index to be moved goes back: a due one
 * stays only while memory is below the active limit (the index says it is
 * due, and a load brings it back in its turn). */
static void index_put_back(struct queue *q, struct queue_entry *e, uint64_t now)
{
	if (!queue_entry_wanted(e, now) || q->nentries > q->active_max)
		(void)queue_index_put(q, e, NULL);
}

/* Whether e's M or S record lies below its segment's unsure_below: a
 * failed fdatasync may have lost it (a copy moved forward, above all). */
static bool entry_unsure(struct queue *q, const struct queue_entry *e)
{
	const struct qseg *s = queue_seg(q, e->seg);
	const struct qseg *t = e->snap_seg ? queue_seg(q, e->snap_seg) : NULL;
	return (s && e->off < s->unsure_below) || (t && e->snap_off < t->unsure_below);
}

/* A message of the index whose records are unsure: copied again. */
static bool rescue_indexed(struct queue *q, struct queue_entry *e, void *arg)
{
	struct relocation *r = arg;
	if (!r->err && entry_unsure(q, e))
		r->err = relocate(q, e->seg, e);
	index_put_back(q, e, r->now);
	return false;
}

/* After a failed fdatasync, the messages whose records it left unsure
 * (copies a move had just made, whose originals maintenance would then
 * remove) are copied again from the page cache into the current segment
 * and flushed. 0: none is unsure any more, and a head segment may go;
 * else not now. mu held; dropped for the flush. */
static int rescue_unsure(struct queue *q)
{
	bool any = false;
	for (size_t i = 0; i < q->nsegs; i++)
		any |= q->segs[i].unsure_below > 0;
	if (!any)
		return 0;
	uint64_t failures = q->sync_failures;
	int e = 0;
	bool busy = false;
	for (struct queue_entry *x = q->head; x && !e; x = x->next) {
		if (!entry_unsure(q, x))
			continue;
		if (x->active) {
			busy = true;
			continue;
		}
		e = relocate(q, x->seg, x);
	}
	struct relocation r = {0, (uint64_t)time(NULL), e, 0};
	for (size_t i = 0; i < q->nsegs && !r.err; i++) {
		uint32_t from = 0;
		if (q->segs[i].unsure_below &&
		    queue_index_each_in_seg(q, q->segs[i].num, &from, rescue_indexed, &r) < 0)
			r.err = EIO;
	}
	if (r.err || busy)
		return r.err ? r.err : EAGAIN;
	pthread_mutex_unlock(&q->mu);
	e = queue_sync(q);
	pthread_mutex_lock(&q->mu);
	/* a round that failed meanwhile may have taken the copies with it */
	return e ? e : q->sync_failures != failures ? EAGAIN : 0;
}

/* A message of the index that pins the head segment: moved, and back;
 * true when a batch of moves is done (move_head yields the lock then). */
static bool relocate_indexed(struct queue *q, struct queue_entry *e, void *arg)
{
	struct relocation *r = arg;
	if (!r->err)
		r->err = relocate(q, r->head, e);
	index_put_back(q, e, r->now);
	return !r->err && ++r->moved % QUEUE_MOVE_BATCH == 0;
}

/* Between two batches of moves the lock is let go, so that sessions'
 * appends (and their 250s) do not wait for a whole segment's worth. */
static void yield_mu(struct queue *q)
{
	q->move_yields++;
	pthread_mutex_unlock(&q->mu);
	sched_yield();
	pthread_mutex_lock(&q->mu);
}

/* Copy every message whose M or latest S record is in the head segment
 * num forward (mu held; let go between batches). 0, or why not all could
 * be; *busy: one was being delivered (it holds its records: next time). */
static int move_head(struct queue *q, uint64_t num, bool *busy)
{
	struct relocation r = {num, (uint64_t)time(NULL), 0, 0};
	/* in memory: the list may change while the lock is let go, so each
	 * batch walks it from the start (those moved no longer match) */
	for (bool again = true; again && !r.err;) {
		again = false;
		for (struct queue_entry *x = q->head; x && !r.err; x = x->next) {
			if (x->seg != num && x->snap_seg != num)
				continue;
			if (x->active) {
				*busy = true;
				continue;
			}
			r.err = relocate(q, num, x);
			if (!r.err && ++r.moved % QUEUE_MOVE_BATCH == 0) {
				again = true;
				break;
			}
		}
		if (again)
			yield_mu(q);
	}
	/* in the index: slot by slot, going on where the last batch stopped */
	uint32_t from = 0;
	int done = 0;
	while (!r.err && (done = queue_index_each_in_seg(q, num, &from, relocate_indexed, &r)) == 0)
		yield_mu(q);
	return r.err ? r.err : done < 0 ? EIO : 0;
}

/* Octets of the journal that no message needs any more. */
static uint64_t dead_bytes(const struct queue *q)
{
	uint64_t n = 0;
	for (size_t i = 0; i < q->nsegs; i++)
		n += q->segs[i].size - q->segs[i].live_bytes;
	return n;
}

void queue_maintain(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	if (rescue_unsure(q) != 0) { /* no segment goes while a copy is unsure */
		pthread_mutex_unlock(&q->mu);
		return;
	}
	/* everything in the current segment is done: start a new one, so that
	 * this one can go (a nearly full disk gets its space back) */
	struct qseg *cur = &q->segs[q->nsegs - 1];
	if (cur->live == 0 && cur->size > 0 &&
	    (cur->size >= QUEUE_RECLAIM_MIN || atomic_load(&q->low_space)) && seg_create(q) == 0)
		atomic_store(&q->low_space, false);
	while (q->nsegs > 1) {
		struct qseg *head = &q->segs[0];
		if (head->live == 0 && !head->dirty && !head->syncing) {
			seg_remove(q, head);
			memmove(q->segs, q->segs + 1, (q->nsegs - 1) * sizeof(*q->segs));
			q->nsegs--;
			pthread_mutex_unlock(&q->mu);
			(void)sync_dir(q, q->jdir);
			pthread_mutex_lock(&q->mu);
			continue;
		}
		if (head->live == 0 || q->nsegs < 3) {
			if (head->dirty || head->syncing) { /* its last records must be durable first */
				pthread_mutex_unlock(&q->mu);
				int e = queue_sync(q);
				pthread_mutex_lock(&q->mu);
				if (!e)
					continue;
			}
			break;
		}
		/* deferred messages pin the oldest segment: move them forward,
		 * when that frees much more than it copies (or space is short);
		 * a queue of deferred mail in bulk is not rewritten every minute */
		if (!atomic_load(&q->low_space) && head->live_bytes * QUEUE_MOVE_RATIO > dead_bytes(q))
			break;
		bool busy = false;
		uint64_t num = head->num, failures = q->sync_failures;
		int e = move_head(q, num, &busy); /* head may have moved: segs can grow */
		if (e || busy || q->sync_failures != failures)
			break;
		pthread_mutex_unlock(&q->mu);
		e = queue_sync(q); /* the copies are durable before the original goes */
		pthread_mutex_lock(&q->mu);
		if (e || q->sync_failures != failures)
			break; /* a failed round may have lost copies: rescue_unsure first */
	}
	pthread_mutex_unlock(&q->mu);
}
