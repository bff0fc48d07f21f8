/* Shared by the files of src/queue/ only. */
#ifndef POSTERN_QUEUE_QUEUE_INT_H
#define POSTERN_QUEUE_QUEUE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "queue/queue.h"
#include "queue/record.h"

#define QUEUE_WHY_MAX QUEUE_WHY_LOG
/* How long lazily written records (S, D) wait for a message's flush to
 * ride before they get a flush of their own. */
#define QUEUE_LAZY_FLUSH_MS 100
/* The current segment is kept written with zeros this far ahead of its
 * records (refilled when less than half is left), so that the fdatasync
 * of an append rewrites blocks the file has: no size or block allocation
 * to commit with it (bench/RESULTS.md: ~15-30 % less per fdatasync). */
#define QUEUE_ZERO_AHEAD ((uint64_t)1024 * 1024)
/* ... and only while the file system has this much free (and twice
 * queue_min_free). */
#define QUEUE_ZERO_MIN_FREE ((uint64_t)256 * 1024 * 1024)
/* At most this many messages are loaded from the index into memory at a
 * time (index.c), so that one call stays short. */
#define QUEUE_LOAD_BATCH 256
/* The head segment's live messages are copied forward only when the
 * journal holds this many times their size in dead records. */
#define QUEUE_MOVE_RATIO 4
/* Messages maintenance moves forward per hold of the queue's lock. */
#define QUEUE_MOVE_BATCH 64

/* One journal segment: <dir>/journal/<16 hex digits>. */
struct qseg {
	uint64_t num;
	int fd;        /* -1: closed (a clean older segment), see queue_seg_fd */
	uint64_t used; /* q->seg_clock when last read: the least recent is closed */
	uint64_t size; /* octets of whole records */
	uint64_t zeroed; /* octets of the file: records, then zeros written ahead */
	uint64_t live; /* entries whose M or latest S record is here */
	uint64_t live_bytes; /* the octets of those records */
	bool dirty;    /* written since its last fdatasync */
	/* Records that start below it were written when an fdatasync of the
	 * segment failed: no later flush vouches for them, as Linux reports a
	 * writeback error once and then takes the pages for clean (PostgreSQL's
	 * "fsyncgate"); a message among them gets 451, never 250. */
	uint64_t unsure_below;
	/* recovery found data past a record that does not check out: when the
	 * segment goes, it is kept aside (renamed), not unlinked */
	bool damaged;
	/* flushes in progress that cover it (the flusher's and queue_sync's may
	 * overlap on one segment): while non-zero it stays */
	unsigned syncing;
};

/* A message in the queue (acknowledged: a flush covered its M record)
 * that is in memory: due, being delivered, or just changed. The others
 * (deferred, held, failed, and new ones past the active limit) are slots
 * of the on-disk index (index.c), as Postfix keeps only its active queue
 * in memory: memory does not grow with the queue. */
struct queue_entry {
	struct queue_entry *prev, *next; /* q->entries, in queue order */
	struct queue_entry *hnext;       /* hash chain */
	struct queue_entry *rprev, *rnext; /* q's ready list: may be due now */
	bool in_ready;
	char id[QREC_ID_MAX + 1];
	uint64_t seg, off;   /* its M record: segment and offset of the header */
	uint32_t len;        /* header + payload */
	uint64_t snap_seg;   /* its latest S record: segment (0: none), */
	uint64_t snap_off;   /* offset */
	uint32_t snap_len;   /* and length; its recipients' state is what it says */
	uint64_t size;
	uint64_t queued_at;
	bool spill;
	bool held;
	bool active;         /* being delivered */
	bool recovered;      /* from a previous run: may be in a mailbox already */
	bool deleted;        /* deleted while active: dropped when the job ends */
	bool unsaved;        /* its recipients' states are not in its latest S record */
	uint32_t attempts;
	uint64_t next_try;
	uint32_t nrcpt;
	uint8_t *rstat;      /* enum qrec_rcpt per recipient */
	char **rtext;        /* last reply or error per recipient (NULL: none) */
};

struct queue_msg {
	struct queue *q;
	struct queue_msg *next; /* flusher's waiting list */
	char id[QREC_ID_MAX + 1];
	struct buf env;         /* the M record's header and envelope (no body) */
	char *from;
	uint8_t flags;
	char **rcpts;
	uint32_t nrcpt;
	uint64_t queued_at;
	struct buf body;        /* inline body or write buffer: max QUEUE_INLINE_MAX */
	uint64_t size;
	uint32_t crc;
	int spill_fd;           /* -1: inline */
	char *spill_path;
	enum queue_status err;  /* sticky */
	char why[QUEUE_WHY_MAX]; /* its step, path and errno text */
	queue_done_fn done;
	void *arg;
	struct queue_entry *entry; /* made at commit, inserted once durable */
};

/* What one delivery attempt did, waiting for the store's flush before it
 * is recorded (queue_sync_delivered). */
struct queue_attempt {
	struct queue_attempt *next;
	struct queue_entry *e;  /* active until recorded */
	uint8_t *rstat;         /* per recipient: the new state (text[i] set) */
	char **text;            /* per recipient: the reply; NULL: not tried */
	bool deferred;          /* some recipient was deferred: one more attempt */
	bool redeliver;         /* the next attempt replaces what this one left */
	bool interrupted;       /* given up at shutdown: not an attempt, due at the next start */
	bool damaged;           /* its spill file does not match its record: it goes */
	uint64_t now, delay;
	queue_report_fn report;
	void *arg;
	const char *target;
	char **addr;            /* per recipient: its address, for the reports (NULL: unread) */
};
/* o and what it holds (its entry's nrcpt recipients). */
void queue_attempt_free(struct queue_attempt *o, uint32_t nrcpt);

struct queue {
	char *dir, *jdir, *sdir;
	uint64_t min_free;
	struct queue_retry retry;
	struct queue_fs_ops ops;
	void (*on_ready)(void *arg);
	void *on_ready_arg;
	void (*on_queued)(void *msg_arg);

	pthread_mutex_t flush_mu; /* one flush_segments at a time (queue.c) */
	pthread_mutex_t mu; /* everything below */
	struct qseg *segs;  /* oldest first; the last one is appended to */
	size_t nsegs, segcap;
	uint64_t seg_clock; /* counts segment reads, for qseg.used */
	bool jdir_dirty;    /* a segment was created: fsync the journal directory */
	bool rotate;        /* a flush failed: the next append starts a new segment */
	uint64_t sync_failures; /* failed flush rounds so far: one during a move voids it */
	uint64_t move_yields;   /* times maintenance let the lock go between moves (tests) */
	atomic_bool low_space; /* ENOSPC, or below min_free: reclaim even a small segment */
	struct queue_entry *head, *tail;
	/* Entries to look at first for delivery: new ones, retried and
	 * released ones; the rest is scanned for due retries once a second. */
	struct queue_entry *ready_head, *ready_tail;
	uint64_t scanned_at;
	struct queue_entry **hash;
	size_t hsize, nentries; /* in memory */
	size_t active_max;      /* entries in memory past which new ones go to the index */
	/* the index of the messages not in memory (index.c) */
	int index_fd;
	uint32_t index_slots;   /* slots in the file, used or free */
	uint32_t index_free;    /* first free slot (a chain through the file); UINT32_MAX: none */
	uint32_t index_pos;     /* where the next scan for due slots starts */
	size_t index_used;
	uint64_t index_due;     /* no slot is due before this (a lower bound) */
	size_t recover_peak;    /* most messages in memory at once while recovering */
	int recover_err;        /* a spill file could not be checked: the start fails */
	struct buf rec;     /* scratch for S and D records */

	pthread_t flusher;
	bool flusher_running;
	pthread_cond_t wake;
	bool stop;
	bool dirty;         /* lazily written records wait for a flush */
	struct queue_msg *waiting, **waiting_tail;
	struct queue_attempt *unsynced; /* deliveries waiting for store_sync */

	atomic_uint_fast64_t space_checked; /* second of the last statvfs */
	atomic_uint_fast64_t space_free;    /* octets it found free (UINT64_MAX: unknown) */
};

/* queue.c */
/* Link an entry into memory (table, queue order, ready list), and unlink
 * it; segment references stay as they are (mu held). */
void queue_link(struct queue *q, struct queue_entry *e);
void queue_unlink(struct queue *q, struct queue_entry *e);
int queue_errno(void);
enum queue_status queue_status_of(int e);
/* write (off < 0) or pwrite at off all n octets, through q->ops; 0 or an errno. */
int queue_write_all(struct queue *q, int fd, const void *p, size_t n, int64_t off);
/* Append rec (a whole record: header + payload) plus body to the current
 * segment; with mu held. Returns 0 or an errno; *seg and *off say where. */
int queue_append(struct queue *q, const void *rec, size_t n, const void *body, size_t bodylen,
		 uint64_t *seg, uint64_t *off);
/* Append a record that needs no waiter (S, D): flushed by the next round. */
int queue_append_lazy(struct queue *q, const struct buf *rec);
struct qseg *queue_seg(struct queue *q, uint64_t num);
/* s's descriptor, opened again if it was closed (mu held; the caller does
 * not close it, and duplicates it to use it without mu). -1 with errno. */
int queue_seg_fd(struct queue *q, struct qseg *s);
/* An entry's record of bytes octets in segment num came (delta 1) or went (-1). */
void queue_seg_ref(struct queue *q, uint64_t num, int delta, uint64_t bytes);
struct queue_entry *queue_find(struct queue *q, const char *id);
void queue_insert(struct queue *q, struct queue_entry *e);
/* Put e on the ready list (mu held): a delivery looks at it next. */
void queue_make_ready(struct queue *q, struct queue_entry *e);
void queue_ready_unlink(struct queue *q, struct queue_entry *e);
/* Unlink from the table and free; drops segment references. */
void queue_remove(struct queue *q, struct queue_entry *e);
void queue_entry_free(struct queue_entry *e);
/* Its recipients still pending. */
uint32_t queue_entry_pending(const struct queue_entry *e);
/* Write the entry's S snapshot (with mu held); 0 or an errno. */
int queue_write_state(struct queue *q, struct queue_entry *e);
/* Append the D record of id, flushed lazily (mu held); 0 or an errno. */
int queue_write_done(struct queue *q, const char *id);
/* Remove the entry and its spill file (mu held). */
void queue_drop_entry(struct queue *q, struct queue_entry *e);
/* Write a D record and remove the entry and its spill file (mu held); a
 * D record that could not be written only repeats a delivery. */
void queue_finish_entry(struct queue *q, struct queue_entry *e);
/* Read the record at seg/off (mu held); 0 or an errno. */
int queue_pread_record(struct queue *q, uint64_t seg, uint64_t off, size_t n, unsigned char **rec);
/* Read an entry's M record (mu NOT held: e->seg/off are read under it). */
int queue_read_record(struct queue *q, struct queue_entry *e, unsigned char **rec, size_t *len);
int queue_read_record_at(struct queue *q, uint64_t seg, uint64_t off, size_t n, unsigned char **rec,
			 size_t *len);
/* The spill file of id into out. */
bool queue_spill_path(const struct queue *q, const char *id, char *out, size_t outlen);
/* Record m's first failure: status and why ("step path: errno text"). */
void queue_msg_fail(struct queue_msg *m, int e, const char *step, const char *path);
/* Hand a committed message (record appended, or m->err set) to the flusher. */
void queue_wait_flush(struct queue_msg *m);
void queue_msg_free(struct queue_msg *m);
/* Block until everything written so far is durable; 0 or an errno. */
int queue_sync(struct queue *q);

/* index.c: the messages not in memory, one fixed-size slot each in an
 * unnamed file of the queue directory (rebuilt from the journal at every
 * start, so never flushed). Everything with mu held. */
int queue_index_open(struct queue *q);
void queue_index_close(struct queue *q);
/* Move e out of memory into a slot (e is freed; *slot, if not NULL, says
 * which), if it is idle and its recipients' state is in its latest S
 * record; false: it stays. */
bool queue_index_put(struct queue *q, struct queue_entry *e, uint32_t *slot);
/* Load slot i into memory whatever the limit; NULL if it is free or
 * cannot be read. */
struct queue_entry *queue_index_load_slot(struct queue *q, uint32_t i);
/* Whether slot i holds the message id: 1 or 0, or -errno when it cannot
 * be read (not to be taken for "no"). */
int queue_index_slot_is(struct queue *q, uint32_t i, const char *id);
/* Whether e belongs in memory at now: being delivered, or due. */
bool queue_entry_wanted(const struct queue_entry *e, uint64_t now);
/* Put every entry that is not wanted at now into the index, and the
 * newest of the rest while more than active_max are in memory. */
void queue_index_settle(struct queue *q, uint64_t now);
/* Load up to max due slots (not held, a recipient pending, next_try <=
 * now) into memory, onto the ready list; the number loaded. */
size_t queue_index_load_due(struct queue *q, uint64_t now, size_t max);
/* Load the message id into memory whatever the limit; NULL if no slot has it. */
struct queue_entry *queue_index_load_id(struct queue *q, const char *id);
/* Load the messages whose M or latest S record is in segment seg, one at
 * a time, from slot *cursor (0 at first) on, and call fn on each (which
 * may put it back); fn returns true to stop there, for now. 1: the pass
 * reached the last slot; 0: stopped by fn, to go on from *cursor; -1: the
 * index could not be read. */
int queue_index_each_in_seg(struct queue *q, uint64_t seg, uint32_t *cursor,
			    bool (*fn)(struct queue *q, struct queue_entry *e, void *arg), void *arg);
/* One message in the index: what the entry holds, but its recipients'
 * states, which its latest S record has. */
struct queue_slot {
	char id[QREC_ID_MAX + 1]; /* "": a free slot */
	uint64_t seg, off, snap_seg, snap_off;
	uint64_t size, queued_at, next_try;
	uint32_t len, snap_len, attempts, nrcpt;
	uint32_t npending;  /* recipients still pending */
	uint32_t next_free; /* a free slot: the next one in the chain */
	uint8_t spill, held, recovered;
};
/* mu held: a copy of every used slot (*n of them; NULL with *n 0 when there
 * are none), or -1 (out of memory, or the index could not be read). Taken with the entries in memory under
 * one lock, a list sees each message once, wherever it moves meanwhile. */
int queue_index_snapshot(struct queue *q, struct queue_slot **out, size_t *n);
/* retry without an id: every slot not held is due now; the count. */
size_t queue_index_retry_all(struct queue *q);

/* idmap.c: queue ids to index slots (recovery's messages moved out of
 * memory while it reads the journal), by a hash of the id. */
struct queue_idmap {
	struct queue_idmap_cell *cells;
	size_t cap, n;
};
uint64_t queue_idmap_key(const char *id);
/* 0 or an errno; spill: the message's body is a spill file */
int queue_idmap_put(struct queue_idmap *m, uint64_t key, uint32_t slot, bool spill);
/* The next slot put under key, after the cell *at (SIZE_MAX: from the
 * start); *at says where, for remove_at. false: no more. */
bool queue_idmap_next(const struct queue_idmap *m, uint64_t key, size_t *at, uint32_t *slot);
/* Remove the cell at (from next); other positions move. */
void queue_idmap_remove_at(struct queue_idmap *m, size_t at);
/* fn(arg, slot) for the slot of every spill message in m. */
void queue_idmap_each_spill(const struct queue_idmap *m, void (*fn)(void *arg, uint32_t slot),
			    void *arg);
void queue_idmap_free(struct queue_idmap *m);

#endif
