/* The durable queue between the SMTP sessions and delivery (DESIGN.md §4).
 * How it is laid out on disk and why a 250 is safe: queue.c's top comment.
 *
 * Threads: spooling (queue_msg_*) runs on the event loops (plain writes,
 * no fsync); the flush runs on the queue's own flusher thread, which calls
 * the commit callbacks from there; queue_deliver and the control commands
 * block on file I/O and belong on a worker pool. Every function is safe to
 * call from any thread. */
#ifndef POSTERN_QUEUE_QUEUE_H
#define POSTERN_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "queue/retry.h"
#include "store/store.h"

#define QUEUE_DEFAULT_DIR "/var/spool/postern"
#define QUEUE_DEFAULT_MIN_FREE ((uint64_t)100 * 1024 * 1024) /* Postfix queue_minfree */
/* A message up to this size is kept in memory while it arrives and lands in
 * the journal with its envelope in one write; a larger one streams into its
 * own spill file in chunks of this size. */
#define QUEUE_INLINE_MAX ((size_t)64 * 1024)
/* A journal segment is closed and a new one begun past this size. */
#define QUEUE_SEGMENT_MAX ((uint64_t)64 * 1024 * 1024)
/* Older segments that keep their descriptor open, the most recently read
 * (besides the one appended to and one not yet flushed): a queue of many
 * gigabytes has many segments, and descriptors are budgeted
 * (server/fdlimit.c); the others are opened again when read. */
#define QUEUE_SEG_FDS 8
/* Descriptors the queue holds at most, besides the spill files of the
 * messages being received and a read's duplicate per delivery: those
 * segments, the index, and a directory being synced. */
#define QUEUE_FDS (QUEUE_SEG_FDS + 4)
/* When the queue runs empty, the current segment is closed (so that it can
 * be removed) once it holds this much, or at once when space is short. */
#define QUEUE_RECLAIM_MIN ((uint64_t)1024 * 1024)
/* At most this many messages are in memory (due or being delivered); the
 * rest wait in the on-disk index (index.c), and come in QUEUE_LOAD_BATCH
 * at a time as deliveries finish: a thousand keep every delivery slot busy
 * and cost ~350 KiB, also while a slow target holds the deliveries up.
 * (Postfix's qmgr_message_active_limit is 20000.) */
#define QUEUE_ACTIVE_MAX ((size_t)1000)

enum queue_status {
	QUEUE_OK = 0,
	QUEUE_FULL,  /* below queue_min_free, ENOSPC, EDQUOT */
	QUEUE_IOERR, /* anything else */
};

/* File system calls, replaceable by tests (as store_fs_ops); a NULL field
 * keeps the libc call. */
struct queue_fs_ops {
	int (*open)(const char *path, int flags, int mode);
	long (*pwrite)(int fd, const void *p, size_t n, uint64_t off);
	long (*write)(int fd, const void *p, size_t n);
	int (*fdatasync)(int fd); /* spill files and journal segments */
	int (*fsync)(int fd);     /* directories */
	/* free octets for unprivileged users on the queue's file system */
	int (*free_space)(const char *dir, uint64_t *bytes);
};

struct queue_config {
	const char *dir;
	uint64_t min_free;
	struct queue_retry retry;
	const struct queue_fs_ops *ops; /* NULL: libc */
	/* Called from the flusher thread when messages became durable and may
	 * be delivered (wake the queue manager). Optional. */
	void (*on_ready)(void *arg);
	void *on_ready_arg;
	/* Called from the flusher thread with a commit's arg when its message
	 * became durable, before the queue manager can take it (log it then:
	 * its delivery's lines come after). Optional. */
	void (*on_queued)(void *msg_arg);
	size_t active_max; /* 0: QUEUE_ACTIVE_MAX */
};

struct queue;
struct queue_msg;

/* Create the directories if missing, recover what a previous run left
 * (queue.c: Recovery), start the flusher. NULL with a reason on error. */
struct queue *queue_open(const struct queue_config *cfg, char *err, size_t errlen);
/* Stop the flusher (pending commits are flushed first) and free. */
void queue_close(struct queue *q);
/* Messages in the queue (any state). */
size_t queue_size(struct queue *q);
/* Of them, those in memory (at most active_max but for moments). */
size_t queue_in_memory(struct queue *q);

/* ---- spooling (the SMTP side) ---- */

/* False when the queue's file system has less than min_free octets free,
 * or would have after a message of size octets (a MAIL's SIZE=, 0 if
 * none): MAIL gets 452 4.3.1. statvfs at most once a second. */
bool queue_space_ok(struct queue *q, uint64_t now, uint64_t size);
/* A new message (id: [0-9A-Za-z]{1,31}, unique; flags: QUEUE_F_*). */
#define QUEUE_F_SMTPUTF8 1u /* MAIL ... SMTPUTF8 (RFC 6531) */
#define QUEUE_F_8BIT 2u     /* BODY=8BITMIME or BINARYMIME */
#define QUEUE_F_BINARY 4u   /* BODY=BINARYMIME (RFC 3030): need not be text */
struct queue_msg *queue_msg_begin(struct queue *q, const char *id, const char *from,
				  unsigned flags, const char *const *rcpts, size_t nrcpt,
				  uint64_t queued_at, enum queue_status *st);
/* Append octets (the message as received, CRLF line ends). After a failure
 * every later call returns it. */
enum queue_status queue_msg_write(struct queue_msg *m, const void *p, size_t n);
/* The longest queue_msg_error / why text, NUL included. */
#define QUEUE_WHY_LOG 512
/* What the first failure of m was, with the path and the errno text, for
 * the log ("" while nothing failed). */
const char *queue_msg_error(const struct queue_msg *m);
/* Octets written so far: the message as the queue holds it (with the
 * trace headers the server added), as `postern queue list` shows it. */
uint64_t queue_msg_size(const struct queue_msg *m);
/* The whole message arrived: append its record, and call done(arg, status,
 * why) from the flusher thread once a flush covers message and envelope
 * (OK, why ""), or it failed (nothing of it stays; why says what failed,
 * with the path and the errno text). m belongs to the queue from now on. */
typedef void (*queue_done_fn)(void *arg, enum queue_status st, const char *why);
void queue_msg_commit(struct queue_msg *m, queue_done_fn done, void *arg);
/* Drop a message being received: nothing of it stays. */
void queue_msg_abort(struct queue_msg *m);

/* ---- delivery (the queue manager) ---- */

enum queue_outcome { QUEUE_DELIVERED, QUEUE_DEFERRED, QUEUE_FAILED };

/* One line of the delivery log, per recipient and attempt. */
struct queue_report {
	const char *id;
	const char *rcpt;   /* NULL: the record naming it could not be read */
	uint32_t rcpt_no;   /* its place in the envelope, from 1 */
	enum queue_outcome outcome;
	const char *target; /* the store backend: "maildir", "lmtp", "discard" */
	uint64_t delay;     /* seconds since queued */
	const char *text;   /* the reply or the error */
};
typedef void (*queue_report_fn)(void *arg, const struct queue_report *r);

struct queue_job;
/* Take up to max messages due at now (not held, not failed, not being
 * delivered) from those in memory; they are marked active until
 * queue_deliver returns. No file I/O (the event loop calls it). */
size_t queue_take_due(struct queue *q, uint64_t now, struct queue_job **out, size_t max);
/* Whether messages of the on-disk index may be due at now and memory has
 * room for them (no I/O: a hint for queue_load_due). */
bool queue_load_wanted(struct queue *q, uint64_t now);
/* BLOCKING (reads the index). Bring up to a batch of the index's messages
 * due at now into memory, onto the ready list; the number brought. */
size_t queue_load_due(struct queue *q, uint64_t now);
/* The earliest next attempt of a waiting message; UINT64_MAX if none. */
uint64_t queue_next_due(struct queue *q);
/* Since when the oldest message that is due and not yet taken for
 * delivery has waited (UINT64_MAX: none waits): how far the deliveries are
 * behind. */
uint64_t queue_waiting_since(struct queue *q);
/* BLOCKING. Deliver the pending recipients of job through st, report each
 * recipient, and record the outcome (state or done record, lazily flushed)
 * and release the job; when st defers its flush (store_defers_sync) and
 * something was delivered, the recording and the release wait for the next
 * queue_sync_delivered. */
void queue_deliver(struct queue *q, struct queue_job *job, struct store *st, uint64_t now,
		   queue_report_fn report, void *arg);
/* BLOCKING. Make the deliveries that queue_deliver left unsynced durable
 * with one store_sync(st), and only then record them (D or S records) and
 * release their entries. If the sync fails they are delivered again (over
 * what they left, so never twice). 0 or the sync's errno. */
int queue_sync_delivered(struct queue *q, struct store *st);
/* Whether deliveries wait for queue_sync_delivered. */
bool queue_unsynced(struct queue *q);
/* BLOCKING. Drop head journal segments nothing refers to any more, moving
 * the few live messages of an old segment forward first. */
void queue_maintain(struct queue *q);

/* ---- control (postern queue) ---- */

/* BLOCKING. One command line ("list", "show ID", "retry [ID]", "hold ID",
 * "release ID", "delete ID"): the answer goes into out, first line "ok" or
 * "error: ...". Returns 0, or -1 for a refused command. */
int queue_control(struct queue *q, const char *line, uint64_t now, struct buf *out);

#endif
