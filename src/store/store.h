/* Where accepted mail goes. A message is streamed into one spool file while
 * DATA/BDAT arrives (plain writes, on the event loop: no fsync there), then
 * committed durably on a worker thread: fsync the file, place it in every
 * recipient's mailbox, fsync the directories, and only then may the server say
 * 250. Any failure leaves nothing half-written anywhere.
 *
 * Backends: "maildir" (SPEC §5) and "discard" (accepts and drops, for tests
 * and benchmarks). */
#ifndef POSTERN_STORE_STORE_H
#define POSTERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum store_kind { STORE_MAILDIR, STORE_DISCARD };

enum store_status {
	STORE_OK = 0,
	STORE_FULL,  /* ENOSPC / EDQUOT: 452 4.3.1 */
	STORE_IOERR, /* anything else: 451 4.3.0 */
};

/* Filesystem calls, replaceable by tests (SQLite-style fault injection).
 * A NULL field keeps the libc call. Directory fsyncs go through open (with
 * O_DIRECTORY) and fsync too. close, unlink (cleanup), read (the EXDEV copy),
 * stat and access (store_new) always use libc. */
struct store_fs_ops {
	int (*open)(const char *path, int flags, int mode);
	long (*write)(int fd, const void *p, size_t n);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*link)(const char *from, const char *to);
	int (*mkdir)(const char *path, int mode);
};

struct store;
struct store_msg;

/* root: the Maildir root (ignored for STORE_DISCARD). ops: NULL for libc.
 * On error returns NULL and writes a reason into err. */
struct store *store_new(enum store_kind kind, const char *root, const struct store_fs_ops *ops,
			char *err, size_t errlen);
void store_free(struct store *st);
/* False for the discard backend: its commit does no I/O and may run inline. */
bool store_commit_blocks(const struct store *st);

/* The mailbox directory of a recipient address "local@domain" (see README:
 * <root>/<domain>/<local>/ with both parts lower-cased and unsafe octets
 * percent-encoded). Writes a NUL-terminated path into out; false if it does
 * not fit or the address cannot be mapped.
 * Reading (documented in maildir.c): the path is written WITHOUT a trailing
 * '/'; the bare address "postmaster" maps to postmaster@localhost; for
 * STORE_DISCARD the root is empty, so the path is the relative
 * "<domain>/<local>", useful only to check that an address maps. */
bool store_mailbox_path(const struct store *st, const char *addr, char *out, size_t outlen);

/* Start a message for n recipients (addresses "local@domain"; recipients
 * that map to the same mailbox are stored once there). queue_id names the
 * message; it must be unique (the caller makes it so). Creates missing
 * mailbox directories and the spool file in the first mailbox's tmp/.
 * Returns NULL and sets *status on failure: STORE_FULL for ENOSPC/EDQUOT,
 * STORE_IOERR otherwise, including n == 0, an empty queue_id and a recipient
 * that cannot be mapped (the caller should have refused it at RCPT). */
struct store_msg *store_msg_begin(struct store *st, const char *queue_id,
				  const char *const *rcpts, size_t n, enum store_status *status);
/* Append message octets (buffered; bounded memory). After a failure every
 * later call returns the same failure: the caller keeps reading the message
 * and reports at the end. */
enum store_status store_msg_write(struct store_msg *m, const void *p, size_t n);
/* Make the message durable in every mailbox. BLOCKING (fsync): call on a
 * worker thread, never on the event loop. On failure nothing of the message
 * remains in any new/ or tmp/. Safe to call from several threads at once for
 * different messages: directory fsyncs of concurrent commits into the same
 * directory are shared. A second call returns the first call's result. */
enum store_status store_msg_commit(struct store_msg *m);
/* Remove everything the message created (if not committed) and free it.
 * Call exactly once per store_msg_begin, after commit or instead of it. */
void store_msg_free(struct store_msg *m);

#endif
