/* The maildir backend's own offer to its tests (not used above store/). */
#ifndef POSTERN_STORE_MAILDIR_H
#define POSTERN_STORE_MAILDIR_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The mailbox directory of a recipient address "local@domain" under root
 * (see README: <root>/<domain>/<local> with both parts lower-cased and unsafe
 * octets percent-encoded; maildir.c says how). Writes a NUL-terminated path
 * without a trailing '/' into out; false if it does not fit or the address
 * cannot be mapped. The bare address "postmaster" maps to
 * postmaster@localhost. */
bool maildir_mailbox_path(const char *root, const char *addr, char *out, size_t outlen);

/* ---- maildir_seen.c ---- */

/* Ids held at most, over all mailboxes (8 octets each, in tables at most
 * half full): past it a mailbox is not cached and its lookups scan. */
#define MAILDIR_SEEN_BUDGET ((size_t)1 << 20)

struct maildir_seen;
struct maildir_seen *maildir_seen_new(void);
void maildir_seen_free(struct maildir_seen *s);
/* Whether mailbox dir may hold a file whose name has the queue id id (as
 * escaped in file names) between its first two dots: false is sure. Reads
 * dir's new/ and cur/ at the first lookup; thread-safe. */
bool maildir_seen_may_have(struct maildir_seen *s, const char *dir, const char *id);
/* This process linked a file of id into dir's new/. */
void maildir_seen_add(struct maildir_seen *s, const char *dir, const char *id);

/* ---- maildir_tidy.c ---- */

/* Maildir's rule: a tmp/ file untouched for 36 hours is stale. */
#define MAILDIR_TMP_MAX_AGE (36 * 3600)
#define MAILDIR_TIDY_PATH_MAX PATH_MAX

/* Remove the files of every <root>/<domain>/<mailbox>/tmp/ older than
 * MAILDIR_TMP_MAX_AGE at time now; returns how many went. */
size_t maildir_clean_tmp(const char *root, time_t now);

/* tmp/ is swept at start and then once a day, by the first commit after. */
#define MAILDIR_SWEEP_INTERVAL (24 * 3600)

/* Whether the sweep is due at now; if so, the next one is set a day later,
 * and of threads that ask at once only one is told yes. */
bool maildir_sweep_due(atomic_llong *next, time_t now);

struct maildir_owner_report {
	size_t fixed;    /* entries whose owner became the user */
	size_t problems; /* entries named in text */
	char text[1024]; /* "path: reason; path: reason..." (cut when long) */
};

/* Check the tree's owners. Running as root with a user (--user): root's
 * entries become the user's (an earlier run as root made them), entries of
 * a third owner are reported. Otherwise, as a non-root process: every
 * directory a delivery writes into that this process cannot write is
 * reported. Root without a user checks nothing. */
void maildir_check_owner(const char *root, const char *user, struct maildir_owner_report *r);

#endif
