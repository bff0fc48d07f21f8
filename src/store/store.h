/* Where accepted mail goes: one interface, several backends (backend.h).
 *
 * A message is streamed into the backend while DATA/BDAT arrives (plain
 * writes, on the event loop: no fsync there), then committed on a worker
 * thread when the backend's commit blocks (maildir: fsync, link, rename,
 * directory fsync; lmtp: the LMTP exchange). The commit reports one result per
 * recipient (LMTP answers per recipient, RFC 2033 §4.2); store_summary turns
 * them into the one reply after DATA. Any failure leaves nothing half-written.
 *
 * Backends: "maildir" (SPEC §5), "discard" (accepts and drops, for tests
 * and benchmarks) and "lmtp" (hands each message to an LMTP server, RFC
 * 2033, such as Dovecot's). */
#ifndef POSTERN_STORE_STORE_H
#define POSTERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum store_kind { STORE_MAILDIR, STORE_DISCARD, STORE_LMTP };

enum store_status {
	STORE_OK = 0,
	STORE_FULL,     /* ENOSPC / EDQUOT: 452 4.3.1 */
	STORE_IOERR,    /* a local failure: 451 4.3.0 */
	STORE_TEMPFAIL, /* the target answered 4xx (or cannot be reached): try again later */
	STORE_PERMFAIL, /* the target answered 5xx: retrying will not help */
};

/* Filesystem calls, replaceable by tests (SQLite-style fault injection).
 * A NULL field keeps the libc call. Directory fsyncs go through open (with
 * O_DIRECTORY) and fsync too; the spool file is opened with O_TMPFILE when
 * the filesystem has it (else O_CREAT); link follows a symbolic link
 * (linkat AT_SYMLINK_FOLLOW: the spool is linked as /proc/self/fd/N). close,
 * unlink (cleanup), read (the EXDEV copy), stat, chown and access always use
 * libc. */
struct store_fs_ops {
	int (*open)(const char *path, int flags, int mode);
	long (*write)(int fd, const void *p, size_t n);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*link)(const char *from, const char *to);
	int (*mkdir)(const char *path, int mode);
	int (*syncfs)(int fd); /* store_sync: the mailboxes' whole file system */
};

struct store_config {
	enum store_kind kind;
	const char *maildir;  /* maildir: the root */
	const char *user;     /* maildir: --user, whose mailboxes they must be (NULL: none) */
	const char *lmtp;     /* lmtp: "HOST:PORT", "[IPv6]:PORT" or "unix:/path" */
	const char *hostname; /* lmtp: the LHLO name (NULL: gethostname) */
	unsigned lmtp_connections; /* lmtp: idle connections kept (0: 20), as many
				    * as deliveries run at once (lmtp_concurrency) */
	/* lmtp, seconds (0: 30, 300, 600): to connect; for each reply and each
	 * write; for each reply to the final dot (RFC 5321 4.5.3.2) */
	unsigned lmtp_connect_timeout, lmtp_timeout, lmtp_data_done_timeout;
	const struct store_fs_ops *ops; /* maildir: NULL for libc */
};

/* What happened to one recipient, or why begin failed. text is for the log:
 * the target's reply ("550 5.1.1 <x@y> User doesn't exist") or the failed
 * step with its path and errno text ("open /var/mail/x/tmp: No space left on
 * device"); "" when there is nothing to say. */
#define STORE_TEXT_MAX 512
struct store_result {
	enum store_status status;
	char text[STORE_TEXT_MAX];
};

struct store;
struct store_msg;

/* On error returns NULL and writes a reason (with the path and the errno
 * text) into err. */
struct store *store_new(const struct store_config *cfg, char *err, size_t errlen);
void store_free(struct store *st);
/* The backend's name for logs: "maildir", "discard", "lmtp". */
const char *store_name(const struct store *st);
/* False when commit does no blocking I/O and may run inline (discard). */
bool store_commit_blocks(const struct store *st);
/* Whether the caller starts the message with Return-Path (RFC 5321 §4.4:
 * the final delivery adds it). False when the target adds it itself (an
 * LMTP server is the final delivery). */
bool store_wants_return_path(const struct store *st);
/* Whether the message queue_id is already in rcpt's mailbox (a delivery
 * that finished before a crash: the queue does not deliver it twice).
 * Blocking (reads directories); false when the backend cannot tell. */
bool store_delivered(struct store *st, const char *rcpt, const char *queue_id);
/* Whether commit can skip its fsyncs for a later store_sync (defer_sync). */
bool store_defers_sync(const struct store *st);
/* BLOCKING. Make every delivery committed with defer_sync before this call
 * durable: one flush for all of them. 0 or an errno. */
int store_sync(struct store *st);
/* Any thread, at shutdown: deliveries in flight that wait on a peer (an LMTP
 * server) give up within a second with a temporary failure, and new ones
 * fail so; their messages stay queued. */
void store_cancel(struct store *st);
/* Whether store_cancel was called: a failure since is the stop's, not the
 * target's. */
bool store_cancelled(const struct store *st);
/* Warnings the backend found at start that do not stop it (a mailbox it
 * cannot write to, with the path): "" when none. */
const char *store_warnings(const struct store *st);

/* One message's envelope. Recipients are "local@domain" as RCPT gave them;
 * a backend uses their canonical form (route_canonical), so recipients that
 * reach the same mailbox get the message once. */
struct store_envelope {
	const char *queue_id;     /* names the message; unique (the caller makes it so) */
	const char *sender;       /* without brackets; "" for <> */
	const char *const *rcpts;
	size_t nrcpts;
	bool smtputf8;            /* MAIL ... SMTPUTF8 (RFC 6531) */
	bool eightbit;            /* BODY=8BITMIME or BINARYMIME (RFC 6152, RFC 3030) */
	bool binary;              /* BODY=BINARYMIME: the body need not be text */
	/* The caller makes the delivery durable later with store_sync, before it
	 * forgets the message (the queue): commit skips its own fsyncs. */
	bool defer_sync;
	/* A delivery of queue_id that may be in the mailbox already (a message
	 * recovered after a crash, whose earlier delivery may not have reached
	 * the disk whole): replace that file instead of adding one. */
	bool replace;
};

/* Start a message. Returns NULL on failure and fills *res (may be NULL):
 * STORE_FULL for ENOSPC/EDQUOT, STORE_IOERR otherwise, including no
 * recipients, an empty queue_id and a recipient that cannot be mapped (the
 * caller should have refused it at RCPT). */
struct store_msg *store_msg_begin(struct store *st, const struct store_envelope *env,
				  struct store_result *res);
/* Append message octets, CRLF line ends as received (buffered; bounded
 * memory). After a failure every later call returns the same failure: the
 * caller keeps reading the message and reports at the end. */
enum store_status store_msg_write(struct store_msg *m, const void *p, size_t n);
/* What the first failed write or begin step was, with its path and errno
 * text, for the log: "" while nothing failed. */
const char *store_msg_error(const struct store_msg *m);
/* Deliver. BLOCKING when store_commit_blocks: call on a worker thread, never
 * on the event loop. Fills results[i] for recipient i of begin (results may
 * be NULL) and returns store_summary of them. On failure nothing of the
 * message remains in any new/ or tmp/ of a maildir. Safe to call from
 * several threads at once for different messages. A second call returns the
 * first call's summary and leaves results alone. */
enum store_status store_msg_commit(struct store_msg *m, struct store_result *results);
/* Remove everything the message created (if not committed) and free it.
 * Call exactly once per store_msg_begin, after commit or instead of it. */
void store_msg_free(struct store_msg *m);

/* The one status for the one reply after DATA, from per-recipient results
 * (SMTP has a single reply for all recipients; until the queue can retry
 * some and bounce others, this is the rule):
 * - all delivered: STORE_OK (250);
 * - any temporary failure (local I/O, a 4xx, the target unreachable): that
 *   temporary status (STORE_FULL before STORE_IOERR before STORE_TEMPFAIL),
 *   so the client retries; the recipients already delivered may get the
 *   message twice, never zero times;
 * - else any permanent failure: STORE_PERMFAIL (5xx), so the client bounces:
 *   a 250 would lose the message for the refused recipients without a word.
 * n == 0 is STORE_IOERR. *which (may be NULL) is the index of the result
 * that decided, for its text. */
enum store_status store_summary(const struct store_result *results, size_t n, size_t *which);

/* "ok", "full", "io_error", "tempfail", "permfail": for logs. */
const char *store_status_name(enum store_status st);

#endif
