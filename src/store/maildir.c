/* The "maildir" store backend (backend.h, SPEC §5).
 *
 * Delivery of one message into mailboxes M1..Mn:
 *
 *   begin   open an unnamed spool file in M1/tmp (O_TMPFILE; where the
 *           filesystem lacks it, the named M1/tmp/<name> with O_EXCL)
 *   write   CRLF -> LF into a 64 KiB buffer, write() it whenever it is full
 *   commit  flush; fsync(file)
 *           link the unnamed spool -> Mk/new/<name>: the file is whole
 *           before it has a name, so it needs no tmp/ stage (a named spool,
 *           a copy on EXDEV and a file replaced after a crash take the
 *           classic way: Mk/tmp/<name>, renamed to Mk/new/<name>); close
 *           fsync every Mk/new/ (shared between concurrent commits)
 *   failure unlink every tmp/ and new/ entry this message made
 *
 * A mailbox's directories are made when a step finds them missing (ENOENT,
 * or ENOTDIR where something else is in the way), then the step is tried
 * again: a delivery into an existing mailbox costs no mkdir at all.
 *
 * A delivery from the queue (defer_sync) skips both fsyncs: the queue keeps
 * the message until store_sync, one syncfs(2) of the Maildir root's file
 * system for every delivery of a batch, has returned (queue/queue.c). Why
 * syncfs and not the same fsyncs batched: on ext4 each file fsync writes its
 * data and commits on its own, so N files cost N flushes wherever they run;
 * syncfs writes back every dirty file and commits once (bench/RESULTS.md,
 * "Queue: delivery without per-file fsync"). Its cost is everything dirty on
 * that file system, so only the queue manager's pool thread waits for it,
 * never a session. A mailbox on another file system than the root (a mount
 * point below it) is delivered with the fsyncs, as without defer_sync.
 * A recovered message (replace) is written over a file of its queue id that
 * an earlier, unsynced delivery may have left incomplete.
 *
 * The unnamed spool is why an interrupted delivery (kill -9, a second
 * SIGTERM, a crash mid-DATA) leaves nothing in tmp/: the kernel drops the
 * file with the last descriptor. Only the instant between link and rename
 * of the classic way can leave a tmp/ entry; those, and the named spools of
 * filesystems without O_TMPFILE, go after 36 hours (clean_tmp).
 *
 * Files are stored with LF line ends (SPEC §5: the Unix convention that
 * Postfix's local/virtual delivery, Dovecot and mutt expect); the session
 * hands over CRLF lines only (bare CR and LF are normalised or refused).
 *
 * <name> is "<seconds>.<queue id>.<hostname>" (the Maildir convention; the
 * queue id makes it unique), with '/', ':' and control octets of the queue id
 * and the hostname written as "\ooo" octal escapes as the Maildir spec asks. */
#include "store/maildir.h"

#include "common/hash.h"
#include "common/str.h"
#include "store/backend.h"
#include "store/route.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Write buffer per message: memory stays bounded whatever the message size,
 * and write() is called with large chunks. */
#define MAILDIR_BUF_SIZE ((size_t)64 * 1024)
#define MAILDIR_PATH_MAX ((size_t)PATH_MAX)
#define MAILDIR_NAME_MAX ((size_t)NAME_MAX)
#define DIRSYNC_BUCKETS 64
/* Mailboxes created but not yet synced (see fresh_add); past this, begin
 * syncs a new mailbox itself. Reached only by thousands of new mailboxes
 * whose first messages all failed. */
#define FRESH_MAX 1024

/* ---- libc defaults for struct store_fs_ops ---- */

static int fs_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }
static long fs_write(int fd, const void *p, size_t n) { return (long)write(fd, p, n); }
static int fs_fsync(int fd) { return fsync(fd); }
static int fs_rename(const char *from, const char *to) { return rename(from, to); }
/* follows a symbolic link: the unnamed spool is linked as /proc/self/fd/N */
static int fs_link(const char *from, const char *to)
{
	return linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}
static int fs_mkdir(const char *path, int mode) { return mkdir(path, (mode_t)mode); }
static int fs_syncfs(int fd) { return syncfs(fd); }

/* A mailbox begin created whose directory entries are not yet durable. */
struct fresh_dir {
	struct fresh_dir *next;
	char *dir;
	unsigned levels; /* sync_chain(st, dir, levels) makes them durable */
};

/* One directory whose fsync concurrent commits share (see dir_sync). */
struct dirsync {
	struct dirsync *next;
	char *path;
	unsigned refs;       /* threads inside dir_sync for this path */
	bool running;        /* an fsync of this directory is in flight */
	uint64_t started;    /* generation of the latest fsync started */
	uint64_t completed;  /* generation of the latest fsync finished */
	uint64_t err_gen;    /* latest generation that failed (0: none) */
	int err;             /* its errno */
	pthread_cond_t done;
};

struct maildir {
	char *root;      /* no trailing '/', except for "/" itself */
	struct store_fs_ops ops;
	char host[4 * 256]; /* escaped hostname */
	pthread_mutex_t mu; /* guards sync[] (and every dirsync in it) and fresh */
	struct dirsync *sync[DIRSYNC_BUCKETS];
	struct fresh_dir *fresh;
	size_t nfresh;
	dev_t root_dev;     /* defer_sync covers mailboxes on this file system */
	bool tmpfile;       /* O_TMPFILE spools can be linked through /proc/self/fd */
	atomic_llong next_clean; /* time of the next tmp/ sweep */
	struct maildir_seen *seen; /* queue ids with a file, per mailbox (replace) */
	char warnings[1200];
};

struct mbox {
	char *dir;    /* <root>/<domain>/<local> */
	char *newdir; /* dir/new, or dir/cur where the copy it replaces is */
	char *tmp;    /* dir/tmp/<name> */
	char *new;    /* dir/new/<name> */
	bool in_tmp;  /* tmp exists and is ours */
	bool in_new;  /* new exists and is ours */
	bool copied;  /* on another file system (EXDEV): synced by commit */
	bool replace; /* new is an earlier copy's name: renamed over, not linked */
};

struct maildir_msg {
	struct maildir *st;
	struct mbox *mb;
	size_t nmb;
	size_t nrcpts; /* as given to begin: one result each */
	int fd;
	bool unnamed;  /* fd is an O_TMPFILE: spool names it for link and copy */
	char spool[32 + MAILDIR_PATH_MAX]; /* the spool file's path */
	char spool_dir[MAILDIR_PATH_MAX + 32]; /* an unnamed spool's tmp/, for the log */
	bool cr;       /* the last octet written was a CR, not yet stored */
	char *buf;
	size_t buflen;
	size_t size;   /* octets accepted by write */
	int err;       /* first failure (sticky), its errno ... */
	struct store_result failure; /* ... and what the log says */
	bool ok;       /* and delivered */
	bool defer_sync; /* envelope's defer_sync: store_sync makes it durable */
	/* BODY=BINARYMIME: stored as it came, CRLF and all (RFC 3030: binary
	 * content is delivered unaltered; LF line ends are for text) */
	bool binary;
	char id_esc[4 * 64]; /* the queue id as its file names hold it */
};

static enum store_status status_of(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? STORE_FULL : STORE_IOERR;
}

/* errno after a failed call; an injected fault may forget to set it. */
static int last_err(void) { return errno ? errno : EIO; }

/* ---- mailbox mapping ----
 *
 * "local@domain" -> <root>/<domain>/<local>
 *
 * - The address is made canonical first (route_canonical): "alice"@x and
 *   alice@x are one mailbox, and so are x and x. as domains.
 * - The address splits at its LAST '@' (a quoted local part may hold '@').
 * - Both parts are lower-cased, ASCII A-Z only; other octets (UTF-8 of
 *   SMTPUTF8 addresses) are kept as they are.
 * - '/', '%', control octets (0x00-0x1f, 0x7f) and a leading '.' of either part
 *   become %XX (upper-case hex), so no part can climb out of the root ("..",
 *   "a/../b"), hide itself (".x"), or collide with an encoded name ('%').
 * - An empty local part or domain cannot be mapped, nor can a part whose
 *   encoding is longer than NAME_MAX.
 * - The bare "postmaster" (RFC 5321 §4.5.1, any case) is postmaster@localhost.
 *
 * Examples: User@Example.COM -> example.com/user; a/b@x -> x/a%2Fb;
 * .profile@x -> x/%2Eprofile; 100%@x -> x/100%25. */

static bool put(char *out, size_t outlen, size_t *pos, const char *p, size_t n)
{
	if (n >= outlen - *pos)
		return false;
	memcpy(out + *pos, p, n);
	*pos += n;
	out[*pos] = '\0';
	return true;
}

static bool put_component(char *out, size_t outlen, size_t *pos, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = *pos;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)str_ascii_lower(p[i]);
		if (c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.')) {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			if (!put(out, outlen, pos, e, sizeof e))
				return false;
		} else if (!put(out, outlen, pos, (const char *)&c, 1)) {
			return false;
		}
	}
	return *pos - start <= MAILDIR_NAME_MAX;
}

bool maildir_mailbox_path(const char *root, const char *addr, char *out, size_t outlen)
{
	const char *local, *domain;
	size_t llen, dlen, pos = 0;

	if (!root || !*root || !addr || !out || outlen == 0)
		return false;
	size_t rootlen = strlen(root);
	while (rootlen > 1 && root[rootlen - 1] == '/') /* "/x/" is "/x", "/" stays */
		rootlen--;
	/* "/" between root and domain, none when the root is "/" itself */
	const char *sep = rootlen == 1 && root[0] == '/' ? "" : "/";
	out[0] = '\0';
	/* "alice"@x is alice@x (RFC 5321 §4.1.2): one mailbox, not two */
	char canon[ROUTE_ADDR_MAX + 1];
	if (!route_canonical(addr, canon, sizeof canon))
		return false;
	addr = canon;
	const char *at = strrchr(addr, '@');
	if (at) {
		local = addr;
		llen = (size_t)(at - addr);
		domain = at + 1;
		dlen = strlen(domain);
	} else if (str_ieq(addr, strlen(addr), "postmaster")) {
		local = "postmaster";
		llen = strlen(local);
		domain = "localhost";
		dlen = strlen(domain);
	} else {
		return false;
	}
	if (!put(out, outlen, &pos, root, rootlen) ||
	    !put(out, outlen, &pos, sep, strlen(sep)) ||
	    !put_component(out, outlen, &pos, domain, dlen) || !put(out, outlen, &pos, "/", 1) ||
	    !put_component(out, outlen, &pos, local, llen)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* ---- small path helpers ---- */

/* a + b + c in a new string; NULL if out of memory or longer than PATH_MAX. */
static char *path_join(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	if (na + nb + nc >= MAILDIR_PATH_MAX)
		return NULL;
	char *p = malloc(na + nb + nc + 1);
	if (!p)
		return NULL;
	memcpy(p, a, na);
	memcpy(p + na, b, nb);
	memcpy(p + na + nb, c, nc);
	p[na + nb + nc] = '\0';
	return p;
}

/* Maildir escapes for a file-name part: '/' and ':' (the flag separator) as
 * "\057" and "\072"; control octets the same way. */
static bool put_escaped(char *out, size_t outlen, size_t *pos, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '/' || c == ':' || c < 0x20 || c == 0x7f) {
			char e[5];
			int r = snprintf(e, sizeof e, "\\%03o", c);
			if (r != 4 || !put(out, outlen, pos, e, 4))
				return false;
		} else if (!put(out, outlen, pos, s, 1)) {
			return false;
		}
	}
	return true;
}

/* mkdir -p. On success *created is how many directories were made along the
 * chain ending at path (0: it existed). path is modified and restored. */
static int mkdir_p(const struct maildir *st, char *path, int mode, unsigned *created)
{
	unsigned up = 0;

	*created = 0;
	errno = 0;
	if (st->ops.mkdir(path, mode) == 0) {
		*created = 1;
		return 0;
	}
	int e = last_err();
	if (e == EEXIST)
		return 0;
	if (e != ENOENT)
		return e;
	char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return ENOENT;
	*slash = '\0';
	e = mkdir_p(st, path, mode, &up);
	*slash = '/';
	if (e)
		return e;
	errno = 0;
	if (st->ops.mkdir(path, mode) == 0) {
		*created = up + 1;
		return 0;
	}
	e = last_err();
	if (e == EEXIST) { /* a concurrent begin made it */
		*created = up;
		return 0;
	}
	return e;
}

/* ---- grouped directory fsync ---- */

static int fsync_dir(const struct maildir *st, const char *path)
{
	errno = 0;
	int fd = st->ops.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return last_err();
	int e = 0;
	errno = 0;
	if (st->ops.fsync(fd) < 0)
		e = last_err();
	close(fd);
	return e;
}

static size_t dirsync_bucket(const char *path)
{
	return hash_fnv1a(HASH_FNV1A_INIT, path, strlen(path)) % DIRSYNC_BUCKETS;
}

/* fsync the directory path so that every entry changed before this call is
 * durable; concurrent callers for the same directory share fsyncs.
 *
 * Why it is correct: the caller's rename finished before it took the lock and
 * read `started`. It waits for generation target = started + 1, which is
 * numbered under the lock only after that read, and whose fsync is issued
 * after the lock is dropped, hence after the rename: an fsync of a directory
 * makes every entry change that preceded it durable, so it covers the rename.
 * Fsyncs of one directory run one at a time and take consecutive numbers, so
 * completed >= target means generation target has finished. A caller that
 * arrives while an fsync is in flight cannot rely on it (it may have started
 * before the rename) and waits for the next one, which then covers every
 * caller that queued meanwhile: N concurrent commits cost about 2 fsyncs, not N.
 *
 * Errors: a failure of any generation >= target is reported (conservative: a
 * later failure may be reported to a caller the earlier success already
 * covered, which costs a retry, never a lost message). Entries live only while
 * some thread uses them, so the table holds at most one per waiting thread.
 * Returns 0 or an errno. */
static int dir_sync(struct maildir *st, const char *path)
{
	size_t b = dirsync_bucket(path);
	struct dirsync *d;

	pthread_mutex_lock(&st->mu);
	for (d = st->sync[b]; d; d = d->next)
		if (strcmp(d->path, path) == 0)
			break;
	if (!d) {
		d = calloc(1, sizeof *d);
		if (d && !(d->path = strdup(path))) {
			free(d);
			d = NULL;
		}
		if (!d) { /* no memory for sharing: still be durable */
			pthread_mutex_unlock(&st->mu);
			return fsync_dir(st, path);
		}
		pthread_cond_init(&d->done, NULL);
		d->next = st->sync[b];
		st->sync[b] = d;
	}
	d->refs++;

	uint64_t target = d->started + 1;
	while (d->completed < target) {
		if (d->running) {
			pthread_cond_wait(&d->done, &st->mu);
			continue;
		}
		d->running = true;
		uint64_t gen = ++d->started;
		pthread_mutex_unlock(&st->mu);
		int e = fsync_dir(st, path);
		pthread_mutex_lock(&st->mu);
		d->completed = gen;
		if (e) {
			d->err_gen = gen;
			d->err = e;
		}
		d->running = false;
		pthread_cond_broadcast(&d->done);
	}
	int e = d->err_gen >= target ? d->err : 0;

	if (--d->refs == 0) { /* idle: nobody waits, nothing runs */
		struct dirsync **pp = &st->sync[b];
		while (*pp != d)
			pp = &(*pp)->next;
		*pp = d->next;
		pthread_cond_destroy(&d->done);
		free(d->path);
		free(d);
	}
	pthread_mutex_unlock(&st->mu);
	return e;
}

/* path -> its parent directory, in place ("a" -> ".", "/a" -> "/"). */
static void parent_of(char *p, size_t plen)
{
	char *slash = strrchr(p, '/');
	if (!slash)
		(void)str_copy(p, plen, ".", 1);
	else if (slash == p)
		p[1] = '\0';
	else
		*slash = '\0';
}

/* Directories we created must survive a crash like the message does: fsync
 * dir and its first count - 1 ancestors, which hold the new entries. */
static int sync_chain(struct maildir *st, const char *dir, unsigned count)
{
	char p[PATH_MAX];

	(void)str_copy(p, sizeof p, dir, strlen(dir));
	for (unsigned j = 0; j < count; j++) {
		int e = dir_sync(st, p);
		if (e)
			return e;
		parent_of(p, sizeof p);
	}
	return 0;
}

/* ---- mailboxes created but not yet durable ----
 *
 * begin creates a missing mailbox, but the fsyncs that make its directory
 * entries durable belong on a worker, in commit. If that first message never
 * commits (aborted, too big, failed), later deliveries find the directories
 * present and would never sync them; and a concurrent first delivery that saw
 * EEXIST must not say 250 before they are durable either. So the store
 * remembers each mailbox it created until a commit into it synced the chain.
 * (A concurrent begin sees EEXIST only after the creator's mkdir, which the
 * creator follows at once with fresh_add; its commit comes a message later.) */

static bool fresh_add(struct maildir *st, const char *dir, unsigned levels)
{
	struct fresh_dir *f;
	bool ok = true;

	pthread_mutex_lock(&st->mu);
	for (f = st->fresh; f; f = f->next)
		if (strcmp(f->dir, dir) == 0)
			break;
	if (f) {
		if (levels > f->levels)
			f->levels = levels;
	} else if (st->nfresh < FRESH_MAX && (f = calloc(1, sizeof *f)) != NULL &&
		   (f->dir = strdup(dir)) != NULL) {
		f->levels = levels;
		f->next = st->fresh;
		st->fresh = f;
		st->nfresh++;
	} else {
		free(f);
		ok = false;
	}
	pthread_mutex_unlock(&st->mu);
	return ok;
}

static unsigned fresh_levels(struct maildir *st, const char *dir)
{
	unsigned levels = 0;

	pthread_mutex_lock(&st->mu);
	for (const struct fresh_dir *f = st->fresh; f; f = f->next)
		if (strcmp(f->dir, dir) == 0) {
			levels = f->levels;
			break;
		}
	pthread_mutex_unlock(&st->mu);
	return levels;
}

/* The chain of dir was synced up to levels: forget it unless it grew meanwhile. */
static void fresh_done(struct maildir *st, const char *dir, unsigned levels)
{
	pthread_mutex_lock(&st->mu);
	for (struct fresh_dir **pp = &st->fresh; *pp; pp = &(*pp)->next) {
		struct fresh_dir *f = *pp;
		if (strcmp(f->dir, dir) != 0)
			continue;
		if (f->levels <= levels) {
			*pp = f->next;
			st->nfresh--;
			free(f->dir);
			free(f);
		}
		break;
	}
	pthread_mutex_unlock(&st->mu);
}

/* ---- store ---- */

static void maildir_close(void *be);

/* Mailboxes an earlier run as root left behind would fail every delivery
 * with 451 once the server runs as user: fix them, or name them at start. */
static void check_owners(struct maildir *st, const char *user)
{
	struct maildir_owner_report r;
	char *w = st->warnings;
	size_t wl = sizeof st->warnings;

	maildir_check_owner(st->root, user, &r);
	if (r.fixed > 0)
		store_set_err(w, wl, "changed the owner of %zu entries under %s from root to %s%s",
			      r.fixed, st->root, user, r.problems ? "; " : "");
	if (r.problems > 0) {
		size_t n = strlen(w);
		store_set_err(w + n, wl - n,
			      "%zu entries under the maildir root are not usable by this server "
			      "(deliveries to them will get 451 4.3.0): %s",
			      r.problems, r.text);
	}
}

static void *maildir_open(const struct store_config *cfg, char *err, size_t errlen)
{
	const char *root = cfg->maildir;
	const struct store_fs_ops *ops = cfg->ops;
	struct maildir *st = calloc(1, sizeof *st);
	if (!st) {
		store_set_err(err, errlen, "out of memory");
		return NULL;
	}
	st->ops = (struct store_fs_ops){fs_open,  fs_write, fs_fsync, fs_rename,
					fs_link,  fs_mkdir, fs_syncfs};
	if (ops) { /* a NULL field keeps the libc call */
		if (ops->open)
			st->ops.open = ops->open;
		if (ops->write)
			st->ops.write = ops->write;
		if (ops->fsync)
			st->ops.fsync = ops->fsync;
		if (ops->rename)
			st->ops.rename = ops->rename;
		if (ops->link)
			st->ops.link = ops->link;
		if (ops->mkdir)
			st->ops.mkdir = ops->mkdir;
		if (ops->syncfs)
			st->ops.syncfs = ops->syncfs;
	}
	pthread_mutex_init(&st->mu, NULL);
	st->seen = maildir_seen_new(); /* NULL: every replace scans */

	char host[256];
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		(void)str_copy(host, sizeof host, "localhost", 9);
	host[sizeof host - 1] = '\0';
	size_t hpos = 0;
	if (!put_escaped(st->host, sizeof st->host, &hpos, host))
		(void)str_copy(st->host, sizeof st->host, "localhost", 9);

	if (!root || root[0] == '\0') {
		store_set_err(err, errlen, "maildir root is empty");
		goto fail;
	}
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len >= MAILDIR_PATH_MAX) {
		store_set_err(err, errlen, "maildir root is too long");
		goto fail;
	}
	if (!(st->root = strndup(root, len)))
		goto nomem;

	unsigned created = 0;
	int e = mkdir_p(st, st->root, 0700, &created);
	struct stat sb;
	if (e) {
		store_set_err(err, errlen, "maildir root %s: cannot create: %s", st->root, strerror(e));
		goto fail;
	}
	if (stat(st->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		store_set_err(err, errlen, "maildir root %s: %s", st->root, "not a directory");
		goto fail;
	}
	st->root_dev = sb.st_dev;
	if (access(st->root, W_OK | X_OK) != 0) {
		store_set_err(err, errlen, "maildir root %s: not writable: %s", st->root, strerror(errno));
		goto fail;
	}
	/* A root we just made: its entry lives in its parent, and so on up. */
	if (created > 0) {
		char parent[PATH_MAX];
		(void)str_copy(parent, sizeof parent, st->root, strlen(st->root));
		parent_of(parent, sizeof parent);
		if ((e = sync_chain(st, parent, created)) != 0) {
			store_set_err(err, errlen, "maildir root %s: fsync: %s", st->root, strerror(e));
			goto fail;
		}
	}
	st->tmpfile = access("/proc/self/fd", X_OK) == 0;
	check_owners(st, cfg->user);
	time_t now = time(NULL);
	(void)maildir_clean_tmp(st->root, now);
	atomic_store(&st->next_clean, (long long)now + MAILDIR_SWEEP_INTERVAL);
	return st;

nomem:
	store_set_err(err, errlen, "out of memory");
fail:
	maildir_close(st);
	return NULL;
}

static void maildir_close(void *be)
{
	struct maildir *st = be;

	if (!st)
		return;
	for (size_t b = 0; b < DIRSYNC_BUCKETS; b++) { /* empty unless a commit still runs */
		struct dirsync *d = st->sync[b];
		while (d) {
			struct dirsync *next = d->next;
			pthread_cond_destroy(&d->done);
			free(d->path);
			free(d);
			d = next;
		}
	}
	while (st->fresh) {
		struct fresh_dir *f = st->fresh;
		st->fresh = f->next;
		free(f->dir);
		free(f);
	}
	pthread_mutex_destroy(&st->mu);
	maildir_seen_free(st->seen);
	free(st->root);
	free(st);
}

/* ---- messages ---- */

static int write_all(const struct maildir *st, int fd, const char *p, size_t n)
{
	while (n > 0) {
		errno = 0;
		long r = st->ops.write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return last_err();
		}
		if (r == 0 || (size_t)r > n)
			return EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int flush(struct maildir_msg *m)
{
	int e = m->buflen ? write_all(m->st, m->fd, m->buf, m->buflen) : 0;
	if (!e)
		m->buflen = 0;
	return e;
}

/* Remove every entry of the message and close its file. */
static void cleanup(struct maildir_msg *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	for (size_t k = 0; k < m->nmb; k++) {
		struct mbox *mb = &m->mb[k];
		if (mb->in_tmp)
			(void)unlink(mb->tmp);
		if (mb->in_new)
			(void)unlink(mb->new);
		mb->in_tmp = mb->in_new = false;
	}
}

/* Remember the first failure of a message: its status, and the step with
 * its path and errno text for the log (item: a store error says which path). */
static void fail_step(struct maildir_msg *m, int e, const char *step, const char *path)
{
	if (m->err)
		return;
	m->err = e;
	store_result_set(&m->failure, status_of(e), "%s %s: %s", step, path, strerror(e));
}

static void maildir_free(void *msg);

/* Make mb's tmp/, new/ and cur/ (and missing parents): a step found them
 * missing. Directories made here must become as durable as the message
 * that needed them (fresh_add: commit syncs the chain). 0 or an errno,
 * recorded for the log. */
static int make_mailbox(struct maildir_msg *m, const struct mbox *mb)
{
	static const char *const sub[] = {"/tmp", "/new", "/cur"};
	struct maildir *st = m->st;
	char path[PATH_MAX];
	unsigned fresh = 0;

	for (size_t s = 0; s < sizeof sub / sizeof sub[0]; s++) {
		unsigned created;
		size_t dl = strlen(mb->dir);
		if (str_copy(path, sizeof path, mb->dir, dl) != dl ||
		    !put(path, sizeof path, &dl, sub[s], strlen(sub[s]))) {
			fail_step(m, ENAMETOOLONG, "mkdir", mb->dir);
			return ENAMETOOLONG;
		}
		int e = mkdir_p(st, path, 0700, &created);
		if (e) {
			fail_step(m, e, "mkdir", path);
			return e;
		}
		if (created > fresh)
			fresh = created;
	}
	/* dir/{tmp,new,cur} and fresh - 1 levels above were made here */
	if (fresh > 0 && !fresh_add(st, mb->dir, fresh)) {
		int e = sync_chain(st, mb->dir, fresh);
		if (e) {
			fail_step(m, e, "fsync", mb->dir);
			return e;
		}
	}
	return 0;
}

/* A step failed with e: true when that was for want of mb's directories and
 * they are made now, so that the caller tries the step once more. */
static bool made_missing(struct maildir_msg *m, const struct mbox *mb, int e)
{
	return (e == ENOENT || e == ENOTDIR) && make_mailbox(m, mb) == 0;
}

/* Create mb's tmp/<name> (O_EXCL), making mb's directories if missing:
 * the descriptor, or -1 with the failure recorded. */
static int open_tmp(struct maildir_msg *m, const struct mbox *mb)
{
	const struct maildir *st = m->st;
	for (int tries = 0;; tries++) {
		errno = 0;
		int fd = st->ops.open(mb->tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		int e = last_err();
		if (tries > 0 || !made_missing(m, mb, e)) {
			fail_step(m, e, "open", mb->tmp);
			return -1;
		}
	}
}

/* The spool for the log: its name, or for an unnamed one where it is. */
static const char *spool_name(const struct maildir_msg *m)
{
	return m->unnamed ? m->spool_dir : m->spool;
}

/* The spool file in the first mailbox's tmp/: unnamed when the filesystem
 * can (nothing to clean after a crash), else named. 0 or an errno. */
static int open_spool(struct maildir_msg *m)
{
	const struct maildir *st = m->st;
	struct mbox *first = &m->mb[0];
	char dir[MAILDIR_PATH_MAX];
	int e;

	if (st->tmpfile) {
		int r = snprintf(dir, sizeof dir, "%s/tmp", first->dir);
		if (r < 0 || (size_t)r >= sizeof dir) {
			fail_step(m, ENAMETOOLONG, "open", first->dir);
			return ENAMETOOLONG;
		}
		for (int tries = 0; tries < 2; tries++) {
			errno = 0;
			m->fd = st->ops.open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
			if (m->fd >= 0) {
				m->unnamed = true;
				(void)snprintf(m->spool, sizeof m->spool, "/proc/self/fd/%d", m->fd);
				(void)snprintf(m->spool_dir, sizeof m->spool_dir, "%s (unnamed spool)",
					       dir);
				return 0;
			}
			e = last_err();
			if (tries > 0 || !made_missing(m, first, e))
				break;
		}
		if (m->err)
			return m->err; /* the mailbox could not be made */
		/* not supported here (kernel or filesystem): use a named file */
		if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL) {
			fail_step(m, e, "open", dir);
			return e;
		}
	}
	if ((m->fd = open_tmp(m, first)) < 0)
		return m->err;
	first->in_tmp = true;
	(void)str_copy(m->spool, sizeof m->spool, first->tmp, strlen(first->tmp));
	return 0;
}

/* The path of a file of queue_id in mailbox dir's new/ or cur/ (malloc'd),
 * or NULL: "<seconds>.<queue id>.<host>[:2,flags]", the escaped queue id
 * between dots being unique. */
static char *find_delivered(const char *dir, const char *queue_id)
{
	char needle[NAME_MAX + 1];
	size_t pos = 0;

	if (!put(needle, sizeof needle, &pos, ".", 1) ||
	    !put_escaped(needle, sizeof needle, &pos, queue_id) ||
	    !put(needle, sizeof needle, &pos, ".", 1))
		return NULL;
	static const char *const subs[] = {"/new/", "/cur/"};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		char *sub = path_join(dir, subs[i], "");
		DIR *d = sub ? opendir(sub) : NULL;
		char *found = NULL;
		struct dirent *de;
		while (d && !found && (de = readdir(d)) != NULL)
			if (strstr(de->d_name, needle))
				found = path_join(sub, de->d_name, "");
		if (d)
			closedir(d);
		free(sub);
		if (found)
			return found;
	}
	return NULL;
}

static void free_dirs(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void *maildir_begin(void *be, const struct store_envelope *env, struct store_result *res)
{
	struct maildir *st = be;
	const char *queue_id = env->queue_id;
	const char *const *rcpts = env->rcpts;
	size_t n = env->nrcpts;
	char path[PATH_MAX];
	char name[NAME_MAX + 1];
	size_t pos = 0;

	struct maildir_msg *m = calloc(1, sizeof *m);
	if (!m) {
		store_result_set(res, STORE_IOERR, "out of memory");
		return NULL;
	}
	m->st = st;
	m->fd = -1;
	m->nrcpts = n;

	int r = snprintf(name, sizeof name, "%lld.", (long long)time(NULL));
	if (r < 0 || (size_t)r >= sizeof name)
		goto fail;
	pos = (size_t)r;
	size_t id_pos = 0;
	if (!put_escaped(m->id_esc, sizeof m->id_esc, &id_pos, queue_id) ||
	    !put_escaped(name, sizeof name, &pos, queue_id) || !put(name, sizeof name, &pos, ".", 1) ||
	    !put_escaped(name, sizeof name, &pos, st->host)) {
		store_result_set(res, STORE_IOERR, "queue id %s: file name too long", queue_id);
		goto fail_res;
	}

	if (!(m->mb = calloc(n, sizeof *m->mb)))
		goto fail;
	/* one file per mailbox, however many recipients name it */
	char **dirs = calloc(n, sizeof(*dirs));
	size_t *of = calloc(n, sizeof(*of));
	bool ok = dirs && of;
	for (size_t i = 0; ok && i < n; i++) {
		if (!maildir_mailbox_path(st->root, rcpts[i], path, sizeof path)) {
			store_result_set(res, STORE_IOERR, "recipient %s: no mailbox path", rcpts[i]);
			free_dirs(dirs, n);
			free(of);
			goto fail_res;
		}
		ok = (dirs[i] = strdup(path)) != NULL;
	}
	ok = ok && store_unique((const char *const *)dirs, n, strcmp, of) > 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (of[i] != m->nmb)
			continue; /* a mailbox named before */
		struct mbox *mb = &m->mb[m->nmb++];
		mb->dir = dirs[i];
		dirs[i] = NULL;
		ok = (mb->newdir = path_join(mb->dir, "/new", "")) &&
		     (mb->tmp = path_join(mb->dir, "/tmp/", name)) &&
		     (mb->new = path_join(mb->dir, "/new/", name));
	}
	free_dirs(dirs, n);
	free(of);
	if (!ok)
		goto fail;

	for (size_t k = 0; env->replace && k < m->nmb; k++) {
		if (!maildir_seen_may_have(st->seen, m->mb[k].dir, m->id_esc))
			continue; /* surely no copy: no scan of the mailbox */
		char *old = find_delivered(m->mb[k].dir, queue_id);
		/* the directory whose entry changes is the copy's: new/ or,
		 * once a reader moved it, cur/ (its fsync makes it durable) */
		char *dir = old ? strndup(old, (size_t)(strrchr(old, '/') - old)) : NULL;
		if (old && !dir) {
			free(old);
			goto fail;
		}
		if (old) {
			free(m->mb[k].new);
			m->mb[k].new = old;
			free(m->mb[k].newdir);
			m->mb[k].newdir = dir;
			m->mb[k].replace = true;
		}
	}
	m->defer_sync = env->defer_sync;
	m->binary = env->binary;
	if (!(m->buf = malloc(MAILDIR_BUF_SIZE)))
		goto fail;
	if (open_spool(m) != 0)
		goto fail_step;
	return m;

fail:
	store_result_set(res, STORE_IOERR, "out of memory");
	goto fail_res;
fail_step:
	*res = m->failure;
fail_res:
	maildir_free(m);
	return NULL;
}

/* Append n octets to the buffer, writing it out whenever it is full. */
static int put_buf(struct maildir_msg *m, const char *p, size_t n)
{
	while (n > 0) {
		size_t chunk = MAILDIR_BUF_SIZE - m->buflen;
		if (chunk > n)
			chunk = n;
		memcpy(m->buf + m->buflen, p, chunk);
		m->buflen += chunk;
		p += chunk;
		n -= chunk;
		if (m->buflen == MAILDIR_BUF_SIZE) {
			int e = flush(m);
			if (e)
				return e;
		}
	}
	return 0;
}

/* CRLF -> LF. A CR at the end of one write waits for the next octet; a CR
 * that is not followed by LF is kept. */
static int put_lf(struct maildir_msg *m, const char *p, size_t n)
{
	int e = 0;

	while (n > 0 && !e) {
		if (m->cr) {
			m->cr = false;
			if (*p != '\n' && (e = put_buf(m, "\r", 1)) != 0)
				break;
		}
		const char *cr = memchr(p, '\r', n);
		size_t run = cr ? (size_t)(cr - p) : n;
		e = put_buf(m, p, run);
		if (cr) {
			m->cr = true;
			run++;
		}
		p += run;
		n -= run;
	}
	return e;
}

static enum store_status maildir_write(void *msg, const void *p, size_t n)
{
	struct maildir_msg *m = msg;

	if (m->err)
		return m->failure.status;
	m->size += n;
	int e = m->binary ? put_buf(m, p, n) : put_lf(m, p, n);
	if (e) {
		fail_step(m, e, "write", spool_name(m));
		return m->failure.status;
	}
	return STORE_OK;
}

/* EXDEV: the mailboxes are on different filesystems, so copy the spool file. */
static int copy_file(struct maildir_msg *m, const char *from, struct mbox *to)
{
	const struct maildir *st = m->st;
	int e = 0;

	errno = 0;
	int in = st->ops.open(from, O_RDONLY | O_CLOEXEC, 0);
	if (in < 0) {
		fail_step(m, last_err(), "open", from);
		return m->err;
	}
	int out = open_tmp(m, to);
	if (out < 0) {
		close(in);
		return m->err;
	}
	to->in_tmp = true;
	for (;;) {
		ssize_t r = read(in, m->buf, MAILDIR_BUF_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = last_err();
			break;
		}
		if (r == 0)
			break;
		if ((e = write_all(st, out, m->buf, (size_t)r)) != 0)
			break;
	}
	errno = 0;
	if (!e && st->ops.fsync(out) < 0)
		e = last_err();
	close(in);
	if (close(out) < 0 && !e && errno != EINTR)
		e = errno;
	if (e)
		fail_step(m, e, "copy to", to->tmp);
	return e;
}

/* Once a day one commit (on a worker thread, never the loop) sweeps tmp/. */
static void sweep_if_due(struct maildir *st)
{
	time_t now = time(NULL);
	if (maildir_sweep_due(&st->next_clean, now))
		(void)maildir_clean_tmp(st->root, now);
}

/* op (link or rename) from -> to in mailbox mb, making mb's directories
 * if they are missing; 0 or an errno (m->err set when they could not be). */
static int name_made(struct maildir_msg *m, const struct mbox *mb,
		     int (*op)(const char *, const char *), const char *from, const char *to)
{
	errno = 0;
	if (op(from, to) == 0)
		return 0;
	int e = last_err();
	if (!made_missing(m, mb, e))
		return e;
	errno = 0;
	return op(from, to) == 0 ? 0 : last_err();
}

/* Give the spool a name in mailbox k: new/<name> by a link when the spool
 * is unnamed and nothing is to be replaced; else tmp/<name> (a link, or a
 * copy across file systems) for commit's rename. 0 or an errno. */
static int place(struct maildir_msg *m, struct mbox *mb, size_t k)
{
	const struct maildir *st = m->st;
	int e;
	if (m->unnamed && !mb->replace) {
		if ((e = name_made(m, mb, st->ops.link, m->spool, mb->new)) == 0) {
			mb->in_new = true;
			return 0;
		}
		if (m->err)
			return m->err;
		/* EEXIST: a file of this very name (same second, same queue id),
		 * which the classic way renames over; EXDEV: copied below */
		if (e != EEXIST && e != EXDEV) {
			fail_step(m, e, "link to", mb->new);
			return e;
		}
	}
	e = name_made(m, mb, st->ops.link, m->spool, mb->tmp);
	/* The name holds the queue id: a tmp/ file of that name is what a
	 * delivery of this very message left when it was cut short between
	 * link and rename, and the queue delivers it again (same second). */
	if (e == EEXIST) {
		errno = 0;
		e = unlink(mb->tmp) == 0 && st->ops.link(m->spool, mb->tmp) == 0 ? 0 : last_err();
	}
	if (e == 0) {
		mb->in_tmp = true;
		return 0;
	}
	if (m->err)
		return m->err;
	if (e != EXDEV || k == 0) {
		fail_step(m, e, "link to", mb->tmp);
		return e;
	}
	if (copy_file(m, m->spool, mb) != 0)
		return m->err;
	mb->copied = true;
	return 0;
}

static void maildir_commit(void *msg, struct store_result *results)
{
	struct maildir_msg *m = msg;
	struct maildir *st = m->st;
	int e = 0;

	if (m->err)
		goto fail;
	if (m->cr && (e = put_buf(m, "\r", 1)) != 0) {
		fail_step(m, e, "write", spool_name(m));
		goto fail;
	}
	m->cr = false;
	if ((e = flush(m)) != 0) {
		fail_step(m, e, "write", spool_name(m));
		goto fail;
	}
	struct stat sb;
	bool defer = m->defer_sync && fstat(m->fd, &sb) == 0 && sb.st_dev == st->root_dev;
	errno = 0;
	if (!defer && st->ops.fsync(m->fd) < 0) {
		fail_step(m, last_err(), "fsync", spool_name(m));
		goto fail;
	}

	/* known before any link: a later replace must find these, even if
	 * this commit fails and leaves one behind (a needless add only costs
	 * that replace a scan) */
	for (size_t k = 0; k < m->nmb; k++)
		maildir_seen_add(st->seen, m->mb[k].dir, m->id_esc);

	/* An unnamed spool gets its names here (a named one has its first):
	 * straight into new/ where it can, else into tmp/ for the rename. */
	for (size_t k = m->unnamed ? 0 : 1; k < m->nmb; k++)
		if (place(m, &m->mb[k], k) != 0)
			goto fail;
	int fd = m->fd;
	m->fd = -1;
	if (close(fd) < 0 && errno != EINTR) { /* NFS may report write errors only here */
		fail_step(m, last_err(), "close", spool_name(m));
		goto fail;
	}

	/* The first mailbox last, as the spec of the sequence asks; all links are
	 * made by now, so the order only decides what a failure must undo. */
	for (size_t i = 0; i < m->nmb; i++) {
		struct mbox *mb = &m->mb[(i + 1) % m->nmb];
		if (!mb->in_tmp)
			continue; /* linked into new/ */
		if ((e = name_made(m, mb, st->ops.rename, mb->tmp, mb->new)) != 0) {
			fail_step(m, e, "rename to", mb->new);
			goto fail;
		}
		mb->in_tmp = false;
		mb->in_new = true;
	}
	/* and after: a mailbox first read between that add and the links
	 * (by a recovered delivery beside this one) did not see them */
	for (size_t k = 0; k < m->nmb; k++)
		maildir_seen_add(st->seen, m->mb[k].dir, m->id_esc);

	/* Only the new/ entries need to be durable: an unsynced tmp/ entry that
	 * survives a crash is stale spool, which Maildir readers clean up. */
	for (size_t k = 0; k < m->nmb; k++)
		if ((!defer || m->mb[k].copied) && (e = dir_sync(st, m->mb[k].newdir)) != 0) {
			fail_step(m, e, "fsync", m->mb[k].newdir);
			goto fail;
		}
	/* A mailbox created by some begin and not yet synced: its tmp/new/cur
	 * and the chain of parents must be durable too. */
	for (size_t k = 0; k < m->nmb; k++) {
		unsigned levels = fresh_levels(st, m->mb[k].dir);
		if (levels == 0)
			continue;
		if (defer && !m->mb[k].copied) { /* on the root's file system: store_sync */
			fresh_done(st, m->mb[k].dir, levels);
			continue;
		}
		if ((e = sync_chain(st, m->mb[k].dir, levels)) != 0) {
			fail_step(m, e, "fsync", m->mb[k].dir);
			goto fail;
		}
		fresh_done(st, m->mb[k].dir, levels);
	}

	m->ok = true;
	sweep_if_due(st);
	for (size_t i = 0; i < m->nrcpts; i++)
		store_result_set(&results[i], STORE_OK, "delivered to maildir");
	return;

fail:
	/* The unlinks are not fsynced: a removed entry that comes back after a
	 * crash is a duplicate delivery (the client got 4xx and retries), which
	 * SMTP tolerates; a lost message it does not. */
	cleanup(m);
	store_result_fill(results, m->nrcpts, &m->failure);
}

static void maildir_free(void *msg)
{
	struct maildir_msg *m = msg;

	if (!m)
		return;
	if (!m->ok)
		cleanup(m);
	else if (m->fd >= 0)
		close(m->fd);
	for (size_t k = 0; k < m->nmb; k++) {
		free(m->mb[k].dir);
		free(m->mb[k].newdir);
		free(m->mb[k].tmp);
		free(m->mb[k].new);
	}
	free(m->mb);
	free(m->buf);
	free(m);
}

/* A file of this message in new/ or cur/: "<seconds>.<queue id>.<host>"
 * (the escaped queue id, between dots, is unique). */
static bool maildir_delivered(void *be, const char *rcpt, const char *queue_id)
{
	const struct maildir *st = be;
	char dir[PATH_MAX];

	if (!maildir_mailbox_path(st->root, rcpt, dir, sizeof dir))
		return false;
	char *found = find_delivered(dir, queue_id);
	bool yes = found != NULL;
	free(found);
	return yes;
}

static int maildir_sync(void *be)
{
	const struct maildir *st = be;
	errno = 0;
	int fd = st->ops.open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return last_err();
	errno = 0;
	int e = st->ops.syncfs(fd) < 0 ? last_err() : 0;
	close(fd);
	return e;
}

static const char *maildir_warnings(const void *be)
{
	const struct maildir *st = be;
	return st->warnings;
}

static const char *maildir_error(const void *msg)
{
	const struct maildir_msg *m = msg;
	return m->failure.text;
}

const struct store_backend store_backend_maildir = {
	.name = "maildir",
	.commit_blocks = true,
	.return_path = true,
	.open = maildir_open,
	.begin = maildir_begin,
	.write = maildir_write,
	.commit = maildir_commit,
	.free = maildir_free,
	.error = maildir_error,
	.delivered = maildir_delivered,
	.sync = maildir_sync,
	.warnings = maildir_warnings,
	.close = maildir_close,
};
