/* queue/: spooling, the group-committed flush, recovery of every crash
 * point (torn appends at every offset, half-received spill files, spill
 * files whose flush never completed), faults at each step (short writes,
 * ENOSPC, EIO in write, pwrite, fdatasync, fsync), queue_min_free, delivery
 * into a Maildir with retry and expiry, idempotent redelivery after a lost
 * D record, the control commands, and Maildir deliveries whose records
 * wait for one sync of the batch (no D record before it; a crash or a
 * failed sync before it delivers again, once). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "queue/queue_int.h"
#include "queue/record.h"

/* ---- fault injection (the store_fs_ops pattern) ---- */

enum fault_op { F_NONE, F_OPEN_CREAT, F_OPEN_READ, F_WRITE, F_PWRITE, F_FDATASYNC, F_FSYNC_DIR };

static struct {
	enum fault_op op;
	int nth; /* fail the nth call of op and every later one */
	bool once; /* only the nth */
	int err;
	int calls;
	size_t short_write; /* with F_WRITE/F_PWRITE: write this much, then fail */
	uint64_t free_space;
	bool slow_sync; /* fdatasync sleeps 20 ms: batches can form */
} g_fault;

static atomic_int g_datasyncs;

static bool trip(enum fault_op op)
{
	if (g_fault.op != op)
		return false;
	if (++g_fault.calls < g_fault.nth || (g_fault.once && g_fault.calls > g_fault.nth))
		return false;
	errno = g_fault.err;
	return true;
}

static int t_open(const char *path, int flags, int mode)
{
	if ((flags & O_CREAT) && trip(F_OPEN_CREAT))
		return -1;
	if ((flags & O_ACCMODE) == O_RDONLY && trip(F_OPEN_READ))
		return -1;
	return open(path, flags, (mode_t)mode);
}

static long t_write(int fd, const void *p, size_t n)
{
	if (trip(F_WRITE)) {
		if (g_fault.short_write && g_fault.short_write < n) {
			size_t k = g_fault.short_write;
			g_fault.short_write = 0; /* the next call fails */
			g_fault.calls--;
			return (long)write(fd, p, k);
		}
		return -1;
	}
	return (long)write(fd, p, n);
}

static long t_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	if (trip(F_PWRITE)) {
		if (g_fault.short_write && g_fault.short_write < n) {
			size_t k = g_fault.short_write;
			g_fault.short_write = 0;
			g_fault.calls--;
			return (long)pwrite(fd, p, k, (off_t)off);
		}
		return -1;
	}
	return (long)pwrite(fd, p, n, (off_t)off);
}

/* Called once from inside the next fdatasync, when set (a flush that
 * overlaps another one). */
static void (*g_inside_sync)(void);
static atomic_bool g_outer_synced; /* the fdatasync that ran it has returned */

static int t_fdatasync(int fd)
{
	atomic_fetch_add(&g_datasyncs, 1);
	void (*inside)(void) = g_inside_sync;
	if (inside) {
		g_inside_sync = NULL;
		inside();
	}
	if (g_fault.slow_sync)
		usleep(20000);
	if (trip(F_FDATASYNC))
		return -1;
	int r = fdatasync(fd);
	if (inside)
		atomic_store(&g_outer_synced, true);
	return r;
}

static int t_fsync(int fd)
{
	if (trip(F_FSYNC_DIR))
		return -1;
	return fsync(fd);
}

static int t_free_space(const char *dir, uint64_t *bytes)
{
	*bytes = g_fault.free_space;
	return 0;
}

static const struct queue_fs_ops t_ops = {t_open, t_pwrite, t_write, t_fdatasync, t_fsync,
					  t_free_space};

static void fault_set(enum fault_op op, int nth, int err)
{
	uint64_t space = g_fault.free_space;
	memset(&g_fault, 0, sizeof(g_fault));
	g_fault.op = op;
	g_fault.nth = nth;
	g_fault.err = err;
	g_fault.free_space = space;
}

/* No fault any more, or just one: the next call of op fails with err. */
static void fault_clear(void)
{
	memset(&g_fault, 0, sizeof(g_fault));
	g_fault.free_space = UINT64_MAX;
}

static void fault_once(enum fault_op op, int err)
{
	fault_clear();
	fault_set(op, 1, err);
	g_fault.once = true;
}

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char qdir[128];
	char mdir[128];
	struct queue *q;
	struct store *st;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static size_t g_active_max; /* 0: the default */

static struct queue *open_q(struct fx *f)
{
	struct queue_config c = {.dir = f->qdir, .min_free = 1000, .ops = &t_ops,
				 .active_max = g_active_max};
	char err[256];
	struct queue *q = queue_open(&c, err, sizeof(err));
	if (!q)
		fprintf(stderr, "queue_open: %s\n", err);
	return q;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_queue.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->qdir, sizeof(f->qdir), "%s/q", f->dir);
	snprintf(f->mdir, sizeof(f->mdir), "%s/mail", f->dir);
	memset(&g_fault, 0, sizeof(g_fault));
	g_fault.free_space = UINT64_MAX;
	g_active_max = 0;
	f->q = open_q(f);
	char err[256];
	struct store_config sc = {.kind = STORE_MAILDIR, .maildir = f->mdir};
	f->st = store_new(&sc, err, sizeof(err));
	*state = f;
	return f->q && f->st ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	queue_close(f->q);
	store_free(f->st);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	queue_close(f->q);
	f->q = open_q(f);
	assert_non_null(f->q);
}

/* ---- committing and waiting for the flush ---- */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	enum queue_status st;
};

static struct waiter g_w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static char g_why[QUEUE_WHY_LOG];

static void on_done(void *arg, enum queue_status st, const char *why)
{
	struct waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->done++;
	if (st != QUEUE_OK) {
		w->st = st;
		snprintf(g_why, sizeof(g_why), "%s", why);
	}
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void wait_done(struct waiter *w, int n)
{
	pthread_mutex_lock(&w->mu);
	while (w->done < n)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* Spool and commit one message; returns the flush's status. */
static enum queue_status put(struct fx *f, const char *id, const char *body, size_t len,
			     size_t nrcpt)
{
	const char *rcpts[] = {"a@example.org", "b@example.org", "c@example.org"};
	enum queue_status st;
	struct queue_msg *m = queue_msg_begin(f->q, id, "s@example.net", 0, rcpts, nrcpt,
					      (uint64_t)time(NULL), &st);
	if (!m)
		return st;
	for (size_t o = 0; o < len; o += 1000) {
		size_t k = len - o < 1000 ? len - o : 1000;
		if ((st = queue_msg_write(m, body + o, k)) != QUEUE_OK) {
			snprintf(g_why, sizeof(g_why), "%s", queue_msg_error(m));
			queue_msg_abort(m);
			return st;
		}
	}
	g_w.done = 0;
	g_w.st = QUEUE_OK;
	g_why[0] = '\0';
	queue_msg_commit(m, on_done, &g_w);
	wait_done(&g_w, 1);
	return g_w.st;
}

static char *body_of(size_t len)
{
	char *b = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		b[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	b[len] = '\0';
	return b;
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	*len = 0;
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, fp);
	fclose(fp);
	return p;
}

/* The one file in the mailbox new/ of a@example.org. */
/* The last file in who's new/ (of queue id id, if not NULL): its contents. */
static char *delivered_file(struct fx *f, const char *who, const char *id, size_t *len,
			    size_t *count)
{
	char dir[256], path[512], needle[64];
	snprintf(dir, sizeof(dir), "%s/example.org/%s/new", f->mdir, who);
	snprintf(needle, sizeof(needle), ".%s.", id ? id : "");
	*count = count_files(dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	char *p = NULL;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && (!id || strstr(de->d_name, needle))) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			free(p);
			p = read_file(path, len);
		}
	if (d)
		closedir(d);
	/* the final delivery's Return-Path comes first (RFC 5321 §4.4, added
	 * when the queue delivers): checked, then left out of the comparison */
	if (p) {
		static const char rp[] = "Return-Path: <";
		assert_memory_equal(p, rp, sizeof(rp) - 1);
		char *nl = memchr(p, '\n', *len);
		assert_non_null(nl);
		size_t cut = (size_t)(nl - p) + 1;
		memmove(p, p + cut, *len - cut);
		*len -= cut;
	}
	return p;
}

static char *delivered(struct fx *f, const char *who, size_t *len, size_t *count)
{
	return delivered_file(f, who, NULL, len, count);
}

static char *delivered_id(struct fx *f, const char *who, const char *id, size_t *len)
{
	size_t count;
	return delivered_file(f, who, id, len, &count);
}

struct reports {
	int delivered, deferred, failed;
	char last[600];
	char last_rcpt[300];
};

static void on_report(void *arg, const struct queue_report *r)
{
	struct reports *rp = arg;
	if (r->outcome == QUEUE_DELIVERED)
		rp->delivered++;
	else if (r->outcome == QUEUE_DEFERRED)
		rp->deferred++;
	else
		rp->failed++;
	snprintf(rp->last, sizeof(rp->last), "%s", r->text);
	if (r->rcpt)
		snprintf(rp->last_rcpt, sizeof(rp->last_rcpt), "%s", r->rcpt);
	else
		snprintf(rp->last_rcpt, sizeof(rp->last_rcpt), "#%u", r->rcpt_no);
}

static size_t run_due(struct fx *f, uint64_t now, struct reports *rp)
{
	struct queue_job *jobs[16];
	(void)queue_load_due(f->q, now); /* as the queue manager does, on its pool */
	size_t n = queue_take_due(f->q, now, jobs, 16);
	for (size_t i = 0; i < n; i++)
		queue_deliver(f->q, jobs[i], f->st, now, on_report, rp);
	(void)queue_sync_delivered(f->q, f->st); /* as the queue manager does */
	return n;
}

/* The journal holds only the segment seg, with the octets data[0..len):
 * what a crash at some moment would have left on disk. */
static void journal_set(struct fx *f, const char *seg, const char *data, size_t len)
{
	char jdir[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	DIR *d = opendir(jdir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", jdir, de->d_name);
			unlink(p);
		}
	closedir(d);
	FILE *fp = fopen(seg, "wb");
	fwrite(data, 1, len, fp);
	fclose(fp);
}

/* ---- tests ---- */

static void test_inline_message_survives_and_delivers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "M1", "Subject: a\r\n\r\nhi\r\n", 18, 2), QUEUE_OK);
	assert_int_equal(queue_size(f->q), 1);
	reopen(f); /* as after a crash: the queue is read back from disk */
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	assert_int_equal(run_due(f, (uint64_t)time(NULL), &rp), 1);
	assert_int_equal(rp.delivered, 2);
	assert_int_equal(queue_size(f->q), 0);
	size_t len, n;
	char *got = delivered(f, "a", &len, &n);
	assert_int_equal(n, 1);
	assert_non_null(got);
	free(got);
	reopen(f);
	assert_int_equal(queue_size(f->q), 0); /* the D record was flushed at close */
}

static void test_large_message_spills_and_delivers(void **state)
{
	struct fx *f = *state;
	size_t len = 300 * 1024 + 17;
	char *body = body_of(len);
	assert_int_equal(put(f, "BIG1", body, len, 1), QUEUE_OK);
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/spill", f->qdir);
	assert_int_equal(count_files(sdir), 1);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 1);
	size_t got_len, n;
	char *got = delivered(f, "a", &got_len, &n);
	assert_non_null(got);
	/* LF-only lines: the same octets with or without line-end conversion */
	assert_int_equal(got_len, len);
	assert_memory_equal(got, body, len);
	free(got);
	free(body);
	assert_int_equal(count_files(sdir), 0);
}

/* The body buffer grows while a message arrives (8 KiB, doubling up to
 * QUEUE_INLINE_MAX, then the spill file): every size around its steps comes
 * back octet for octet, after a restart too. */
static void test_body_sizes_round_trip(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {1, 8191, 8192, 8193, 16385, 40000,
				       QUEUE_INLINE_MAX - 1, QUEUE_INLINE_MAX, QUEUE_INLINE_MAX + 1};
	size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	for (size_t i = 0; i < nsizes; i++) {
		char id[16];
		snprintf(id, sizeof(id), "SZ%zu", i);
		char *body = body_of(sizes[i]);
		assert_int_equal(put(f, id, body, sizes[i], 1), QUEUE_OK);
		free(body);
	}
	reopen(f);
	assert_int_equal(queue_size(f->q), nsizes);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, nsizes);
	for (size_t i = 0; i < nsizes; i++) {
		char id[16];
		snprintf(id, sizeof(id), "SZ%zu", i);
		char *body = body_of(sizes[i]);
		size_t got_len;
		char *got = delivered_id(f, "a", id, &got_len);
		assert_non_null(got);
		assert_int_equal(got_len, sizes[i]);
		assert_memory_equal(got, body, sizes[i]);
		free(got);
		free(body);
	}
}

/* Group commit: 20 messages committed together share a few fdatasyncs. */
static void test_group_commit(void **state)
{
	struct fx *f = *state;
	const char *rcpts[] = {"a@example.org"};
	struct queue_msg *m[20];
	enum queue_status st;
	g_fault.slow_sync = true;
	for (int i = 0; i < 20; i++) {
		char id[16];
		snprintf(id, sizeof(id), "G%d", i);
		m[i] = queue_msg_begin(f->q, id, "", 0, rcpts, 1, 1, &st);
		assert_non_null(m[i]);
		assert_int_equal(queue_msg_write(m[i], "x\r\n", 3), QUEUE_OK);
	}
	atomic_store(&g_datasyncs, 0);
	g_w.done = 0;
	g_w.st = QUEUE_OK;
	for (int i = 0; i < 20; i++)
		queue_msg_commit(m[i], on_done, &g_w);
	wait_done(&g_w, 20);
	assert_int_equal(g_w.st, QUEUE_OK);
	/* one round while the first commits arrive, one for the rest */
	assert_true(atomic_load(&g_datasyncs) <= 3);
	assert_int_equal(queue_size(f->q), 20);
	g_fault.slow_sync = false;
}

/* A crash can stop an append at any octet: recovery keeps exactly the
 * records that are whole, and never a torn one. */
static void test_torn_append_at_every_offset(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "T1", "one\r\n", 5, 1), QUEUE_OK);
	assert_int_equal(put(f, "T2", "two two\r\n", 9, 2), QUEUE_OK);
	queue_close(f->q);
	f->q = NULL;
	char seg[256];
	snprintf(seg, sizeof(seg), "%s/journal/0000000000000001", f->qdir);
	size_t len;
	char *whole = read_file(seg, &len);
	assert_non_null(whole);
	/* where the first record ends */
	uint32_t first = 16 + ((uint32_t)(unsigned char)whole[8] | (uint32_t)(unsigned char)whole[9] << 8);
	/* and the second (the zeros written ahead of the records follow) */
	const unsigned char *h2 = (const unsigned char *)whole + first;
	size_t file_len = len;
	len = first + 16 + ((uint32_t)h2[8] | (uint32_t)h2[9] << 8);
	assert_true(len < file_len);
	for (size_t cut = 0; cut <= len; cut++) {
		/* start from a queue dir holding only the cut segment */
		journal_set(f, seg, whole, cut);
		f->q = open_q(f);
		assert_non_null(f->q);
		size_t want = cut < first ? 0 : cut < len ? 1 : 2;
		assert_int_equal(queue_size(f->q), want);
		queue_close(f->q);
		f->q = NULL;
	}
	free(whole);
	f->q = open_q(f);
}

/* A spill file with no record is a message half-received at a crash. */
static void test_half_received_spill_removed(void **state)
{
	struct fx *f = *state;
	const char *rcpts[] = {"a@example.org"};
	enum queue_status st;
	size_t len = 200 * 1024;
	char *body = body_of(len);
	struct queue_msg *m = queue_msg_begin(f->q, "HALF1", "", 0, rcpts, 1, 1, &st);
	assert_int_equal(queue_msg_write(m, body, len), QUEUE_OK);
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/spill", f->qdir);
	assert_int_equal(count_files(sdir), 1);
	/* "crash": reopen the directory with the message still open */
	struct queue_config c = {.dir = f->qdir, .ops = &t_ops};
	char err[256];
	struct queue *q2 = queue_open(&c, err, sizeof(err));
	assert_non_null(q2);
	assert_int_equal(queue_size(q2), 0);
	assert_int_equal(count_files(sdir), 0);
	queue_close(q2);
	queue_msg_abort(m);
	free(body);
}

/* The M record of a spill message may reach the disk in an earlier flush
 * than its spill file's: such a message was never acknowledged. */
static void test_spill_not_matching_dropped(void **state)
{
	struct fx *f = *state;
	size_t len = 100 * 1024;
	char *body = body_of(len);
	assert_int_equal(put(f, "SP1", body, len, 1), QUEUE_OK);
	char path[256];
	snprintf(path, sizeof(path), "%s/spill/SP1", f->qdir);
	assert_int_equal(truncate(path, 4096), 0);
	reopen(f);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(access(path, F_OK), -1);
	free(body);
}

/* Faults while spooling: 451 (QUEUE_IOERR) or FULL, nothing left behind,
 * nothing recovered. */
static void check_fault(struct fx *f, enum fault_op op, int nth, int err, size_t short_write,
			size_t len)
{
	char *body = body_of(len);
	fault_set(op, nth, err);
	g_fault.short_write = short_write;
	enum queue_status st = put(f, "FAULT1", body, len, 2);
	fault_set(F_NONE, 0, 0);
	assert_int_not_equal(st, QUEUE_OK);
	if (err == ENOSPC)
		assert_int_equal(st, QUEUE_FULL);
	/* the log says what failed: a path under the queue and the errno text */
	assert_non_null(strstr(g_why, f->qdir));
	assert_non_null(strstr(g_why, strerror(err)));
	char sdir[256];
	snprintf(sdir, sizeof(sdir), "%s/spill", f->qdir);
	assert_int_equal(count_files(sdir), 0);
	assert_int_equal(queue_size(f->q), 0);
	/* the queue still works, and the failed message never comes back */
	assert_int_equal(put(f, "AFTER1", "ok\r\n", 4, 1), QUEUE_OK);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 1);
	free(body);
}

static void test_fault_spill_open(void **state)
{
	check_fault(*state, F_OPEN_CREAT, 1, EIO, 0, 100 * 1024);
}

static void test_fault_spill_write_enospc(void **state)
{
	check_fault(*state, F_WRITE, 1, ENOSPC, 0, 200 * 1024);
}

static void test_fault_spill_short_write_then_eio(void **state)
{
	check_fault(*state, F_WRITE, 1, EIO, 100, 200 * 1024);
}

static void test_fault_journal_pwrite_enospc(void **state)
{
	check_fault(*state, F_PWRITE, 1, ENOSPC, 0, 1000);
}

static void test_fault_journal_short_pwrite(void **state)
{
	check_fault(*state, F_PWRITE, 1, EIO, 20, 1000);
}

static void test_fault_spill_fdatasync(void **state)
{
	check_fault(*state, F_FDATASYNC, 1, EIO, 0, 100 * 1024);
}

static void test_fault_journal_fdatasync(void **state)
{
	check_fault(*state, F_FDATASYNC, 1, EIO, 0, 1000);
}

static void test_fault_spill_dir_fsync(void **state)
{
	check_fault(*state, F_FSYNC_DIR, 1, EIO, 0, 100 * 1024);
}

/* The queue directory is removed under a running queue: the open segment
 * still takes writes, but a flush of an unlinked file covers nothing, so
 * the message fails (451), and so does every later one, with the path. */
static void test_vanished_queue_dir(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "V1", "x\r\n", 3, 1), QUEUE_OK);
	assert_int_equal(nftw(f->qdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(put(f, "V2", "y\r\n", 3, 1), QUEUE_IOERR);
	assert_non_null(strstr(g_why, f->qdir));
	assert_non_null(strstr(g_why, "No such file or directory"));
	assert_int_equal(put(f, "V3", "z\r\n", 3, 1), QUEUE_IOERR);
	assert_non_null(strstr(g_why, "append to"));
	assert_non_null(strstr(g_why, "No such file or directory"));
	assert_int_equal(queue_size(f->q), 1); /* V1, in memory only now */
}

static void test_min_free(void **state)
{
	struct fx *f = *state;
	g_fault.free_space = 999; /* min_free is 1000 in this fixture */
	assert_false(queue_space_ok(f->q, 10, 0));
	g_fault.free_space = 5000;
	assert_false(queue_space_ok(f->q, 10, 0)); /* checked once a second */
	assert_true(queue_space_ok(f->q, 11, 0));
	/* a SIZE= must leave min_free */
	assert_true(queue_space_ok(f->q, 11, 4000));
	assert_false(queue_space_ok(f->q, 11, 4001));
	assert_false(queue_space_ok(f->q, 11, UINT64_MAX));
}

/* A failing mailbox defers with the schedule; after max_queue_lifetime
 * the recipient fails and the message stays visible. */
static void test_retry_and_expiry(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "R1", "x\r\n", 3, 1), QUEUE_OK);
	store_free(f->st);
	char err[256];
	struct store_config sc = {.kind = STORE_MAILDIR, .maildir = f->mdir};
	f->st = store_new(&sc, err, sizeof(err));
	/* the mailbox's place is taken by a file: delivery fails */
	char p[256];
	snprintf(p, sizeof(p), "%s/example.org", f->mdir);
	FILE *fp = fopen(p, "w");
	fclose(fp);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(rp.deferred, 1);
	assert_int_equal(queue_next_due(f->q), now + 300);
	assert_int_equal(run_due(f, now + 299, &rp), 0);
	reopen(f); /* the state survives */
	assert_int_equal(queue_next_due(f->q), now + 300);
	assert_int_equal(run_due(f, now + 300, &rp), 1);
	assert_int_equal(queue_next_due(f->q), now + 300 + 600);
	struct buf out;
	buf_init(&out, 1 << 20);
	assert_int_equal(queue_control(f->q, "list", now, &out), 0);
	assert_non_null(strstr(out.data, "state=deferred"));
	assert_non_null(strstr(out.data, "last_error=\"451 4.3.0"));
	/* five days later; the report names the recipient (it said "" and
	 * the log line to="<>", as for a null sender: found in review) */
	assert_int_equal(run_due(f, now + 5 * 86400, &rp), 1);
	assert_int_equal(rp.failed, 1);
	assert_string_equal(rp.last_rcpt, "a@example.org");
	assert_non_null(strstr(rp.last, "4.4.7 message expired"));
	assert_int_equal(queue_size(f->q), 1);
	assert_int_equal(run_due(f, now + 6 * 86400, &rp), 0); /* not retried */
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "list", now, &out), 0);
	assert_non_null(strstr(out.data, "state=failed"));
	assert_non_null(strstr(out.data, "4.4.7"));
	buf_fini(&out);
	unlink(p);
}

/* The D record of a delivered message is lost in a crash: the message is
 * recovered and delivered again, but the Maildir gets it once. */
static void test_redelivery_is_idempotent(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "ID1", "x\r\n", 3, 2), QUEUE_OK);
	char seg[256];
	snprintf(seg, sizeof(seg), "%s/journal/0000000000000001", f->qdir);
	size_t len;
	char *before = read_file(seg, &len);
	reopen(f);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 2);
	queue_close(f->q);
	/* back to the journal as it was before the delivery */
	journal_set(f, seg, before, len);
	free(before);
	f->q = open_q(f);
	assert_int_equal(queue_size(f->q), 1);
	memset(&rp, 0, sizeof(rp));
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 2);
	size_t n;
	char *got = delivered(f, "a", &len, &n);
	assert_int_equal(n, 1);
	assert_int_equal(len, 2);
	assert_memory_equal(got, "x\n", 2);
	free(got);
	free(delivered(f, "b", &len, &n));
	assert_int_equal(n, 1);
}

/* A crash between the Maildir's link into tmp/ and its rename into new/
 * leaves tmp/<seconds>.<queue id>.<host>; the recovered message is
 * delivered again at once (not deferred on that name), and only once. */
static void test_redelivery_over_a_stale_tmp_file(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "ST1", "x\r\n", 3, 1), QUEUE_OK);
	char dir[256], host[256] = "";
	snprintf(dir, sizeof(dir), "%s/example.org/a/tmp", f->mdir);
	char mk[300];
	snprintf(mk, sizeof(mk), "%s/example.org", f->mdir);
	mkdir(mk, 0700);
	snprintf(mk, sizeof(mk), "%s/example.org/a", f->mdir);
	mkdir(mk, 0700);
	mkdir(dir, 0700);
	gethostname(host, sizeof(host) - 1);
	time_t now = time(NULL);
	for (int i = 0; i < 3; i++) { /* the delivery may fall in the next seconds */
		char stale[700];
		snprintf(stale, sizeof(stale), "%s/%lld.ST1.%s", dir, (long long)now + i, host);
		FILE *fp = fopen(stale, "w");
		assert_non_null(fp);
		fputs("half", fp);
		fclose(fp);
	}
	reopen(f);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.deferred, 0);
	assert_int_equal(rp.delivered, 1);
	size_t len, n;
	char *got = delivered(f, "a", &len, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(got, "x\n", 2);
	free(got);
}

static void test_control_commands(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "C1", "Subject: hello\r\nX: y\r\n\r\nbody\r\n", 30, 2), QUEUE_OK);
	struct buf out;
	buf_init(&out, 1 << 20);
	uint64_t now = (uint64_t)time(NULL);
	assert_int_equal(queue_control(f->q, "list", now, &out), 0);
	assert_non_null(strstr(out.data, "ok messages=1\nid=C1 size=30"));
	assert_non_null(strstr(out.data, "from=\"s@example.net\" to=\"a@example.org\" "
					 "to=\"b@example.org\""));
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "show C1", now, &out), 0);
	buf_append(&out, "", 1);
	assert_non_null(strstr(out.data, "headers\nSubject: hello\r\nX: y\r\n"));
	assert_null(strstr(out.data, "body"));
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "hold C1", now, &out), 0);
	struct queue_job *jobs[4];
	assert_int_equal(queue_take_due(f->q, now, jobs, 4), 0);
	reopen(f); /* hold is durable */
	assert_int_equal(queue_take_due(f->q, now, jobs, 4), 0);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "release C1", now, &out), 0);
	assert_int_equal(queue_take_due(f->q, now, jobs, 4), 1);
	queue_deliver(f->q, jobs[0], f->st, now, NULL, NULL);
	assert_int_equal(queue_size(f->q), 1); /* until the Maildir's sync */
	assert_int_equal(queue_sync_delivered(f->q, f->st), 0);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(put(f, "C2", "x\r\n", 3, 1), QUEUE_OK);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "delete C2", now, &out), 0);
	assert_int_equal(queue_size(f->q), 0);
	reopen(f);
	assert_int_equal(queue_size(f->q), 0);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "show C2", now, &out), -1);
	assert_memory_equal(out.data, "error: no message C2", 20);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "frobnicate", now, &out), -1);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "hold a b", now, &out), -1);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "retry", now, &out), 0);
	buf_fini(&out);
}

/* Reclaiming runs while a message waits for its flush: the segment that
 * holds its record must stay. */
static void test_maintain_during_flush(void **state)
{
	struct fx *f = *state;
	const char *rcpts[] = {"a@example.org"};
	enum queue_status st;
	g_fault.slow_sync = true;
	g_fault.free_space = 0; /* short of space: maintenance reclaims at once */
	assert_false(queue_space_ok(f->q, 5, 0));
	struct queue_msg *m = queue_msg_begin(f->q, "MF1", "", 0, rcpts, 1, 1, &st);
	assert_int_equal(queue_msg_write(m, "x\r\n", 3), QUEUE_OK);
	g_w.done = 0;
	g_w.st = QUEUE_OK;
	queue_msg_commit(m, on_done, &g_w);
	queue_maintain(f->q);
	wait_done(&g_w, 1);
	g_fault.slow_sync = false;
	g_fault.free_space = UINT64_MAX;
	assert_int_equal(g_w.st, QUEUE_OK);
	queue_maintain(f->q);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 1);
}

/* queue_sync (from maintenance) while the flusher is in its fdatasync: the
 * flusher cleared the segment's dirty flag, so queue_sync used to find
 * nothing to flush and return at once, and maintenance then unlinked a head
 * segment whose moved messages were not durable yet (a review found it;
 * the same with the roles swapped acknowledged a message early). Now a
 * flush waits for the one in flight, and the segment is still there. */
static struct fx *g_overlap_fx;
static pthread_t g_beside;
static int g_beside_rc = -1;
static bool g_beside_saw_outer;
static struct waiter g_w2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void *sync_beside(void *arg)
{
	struct fx *f = arg;
	g_beside_rc = queue_sync(f->q);
	g_beside_saw_outer = atomic_load(&g_outer_synced);
	return NULL;
}

static void overlap_inside(void)
{
	struct fx *f = g_overlap_fx;
	const char *rcpts[] = {"b@example.org"};
	enum queue_status st;
	/* the segment gets written again while the flusher syncs it ... */
	struct queue_msg *m = queue_msg_begin(f->q, "OV2", "", 0, rcpts, 1, 1, &st);
	assert_int_equal(queue_msg_write(m, "y\r\n", 3), QUEUE_OK);
	queue_msg_commit(m, on_done, &g_w2);
	/* ... and another thread asks for a flush meanwhile, with time to
	 * return before this fdatasync does, were it not to wait */
	assert_int_equal(pthread_create(&g_beside, NULL, sync_beside, f), 0);
	usleep(50 * 1000);
}

static void test_a_flush_waits_for_the_one_in_flight(void **state)
{
	struct fx *f = *state;
	const char *rcpts[] = {"a@example.org"};
	enum queue_status st;
	g_overlap_fx = f;
	atomic_store(&g_outer_synced, false);
	struct queue_msg *m = queue_msg_begin(f->q, "OV1", "", 0, rcpts, 1, 1, &st);
	assert_int_equal(queue_msg_write(m, "x\r\n", 3), QUEUE_OK);
	g_w.done = 0;
	g_w.st = QUEUE_OK;
	g_w2.done = 0;
	g_w2.st = QUEUE_OK;
	g_inside_sync = overlap_inside;
	queue_msg_commit(m, on_done, &g_w);
	wait_done(&g_w, 1);
	wait_done(&g_w2, 1);
	assert_null(g_inside_sync);
	assert_int_equal(pthread_join(g_beside, NULL), 0);
	assert_int_equal(g_beside_rc, 0);
	assert_true(g_beside_saw_outer);
	assert_int_equal(g_w.st, QUEUE_OK);
	assert_int_equal(g_w2.st, QUEUE_OK);
	reopen(f);
	assert_int_equal(queue_size(f->q), 2);
}

/* An fdatasync fails while a second message is appended to the same
 * segment; the next fdatasync of the file succeeds, as Linux's does once it
 * has reported a writeback error (the failed pages count as clean). The
 * second message's record was in those pages: it must get 451, not 250
 * (a review found it acknowledged). A message appended afterwards, into a
 * new segment, is acknowledged. */
static struct waiter g_w3 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void append_inside_failing_sync(void)
{
	const char *rcpts[] = {"a@example.org"};
	enum queue_status st;
	struct queue_msg *m = queue_msg_begin(g_overlap_fx->q, "FG2", "s@example.net", 0, rcpts, 1,
					      (uint64_t)time(NULL), &st);
	assert_non_null(m);
	assert_int_equal(queue_msg_write(m, "b\r\n", 3), QUEUE_OK);
	queue_msg_commit(m, on_done, &g_w3);
	fault_once(F_FDATASYNC, EIO); /* the next fdatasync of the file succeeds */
}

static void test_no_ack_after_a_failed_fdatasync(void **state)
{
	struct fx *f = *state;
	g_overlap_fx = f;
	g_w3.done = 0;
	g_w3.st = QUEUE_OK;
	g_inside_sync = append_inside_failing_sync;
	assert_int_equal(put(f, "FG1", "a\r\n", 3, 1), QUEUE_IOERR);
	wait_done(&g_w3, 1);
	assert_int_equal(g_w3.st, QUEUE_IOERR);
	assert_non_null(strstr(g_why, "fdatasync"));
	assert_int_equal(put(f, "FG3", "c\r\n", 3, 1), QUEUE_OK);
	pthread_mutex_lock(&f->q->mu);
	assert_null(queue_find(f->q, "FG2"));
	struct queue_entry *x = queue_find(f->q, "FG3");
	assert_non_null(x);
	assert_int_equal(x->seg, 2); /* the failed segment takes no more */
	pthread_mutex_unlock(&f->q->mu);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
}

/* Segments fill, rotate, and the old ones go once nothing lives in them;
 * a deferred message in the oldest one is moved forward. */
static void test_segments_reclaimed(void **state)
{
	struct fx *f = *state;
	char jdir[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	/* a message that stays (held) in segment 1 */
	assert_int_equal(put(f, "KEEP", "k\r\n", 3, 1), QUEUE_OK);
	struct buf out;
	buf_init(&out, 4096);
	assert_int_equal(queue_control(f->q, "hold KEEP", 0, &out), 0);
	buf_fini(&out);
	/* 64 KiB inline messages: 1100 of them pass two 64 MiB segments */
	char *body = body_of(QUEUE_INLINE_MAX);
	for (int i = 0; i < 2100; i++) {
		char id[16];
		snprintf(id, sizeof(id), "S%d", i);
		assert_int_equal(put(f, id, body, QUEUE_INLINE_MAX, 1), QUEUE_OK);
		struct queue_job *j[1];
		assert_int_equal(queue_take_due(f->q, (uint64_t)time(NULL), j, 1), 1);
		/* delivered: discard backend, no files needed */
		char err[64];
		struct store_config sc = {.kind = STORE_DISCARD};
		struct store *dis = store_new(&sc, err, sizeof(err));
		queue_deliver(f->q, j[0], dis, (uint64_t)time(NULL), NULL, NULL);
		store_free(dis);
	}
	free(body);
	assert_true(count_files(jdir) >= 3);
	queue_maintain(f->q);
	assert_true(count_files(jdir) <= 2);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1); /* KEEP moved forward */
	buf_init(&out, 4096);
	assert_int_equal(queue_control(f->q, "list", 0, &out), 0);
	assert_non_null(strstr(out.data, "id=KEEP"));
	assert_non_null(strstr(out.data, "state=held"));
	buf_fini(&out);
}

/* ---- Maildir deliveries without their own fsyncs (issue 11, step 3) ---- */

static struct {
	int fsyncs;  /* the store's file and directory fsyncs */
	int syncfs;  /* store_sync's flushes */
	int syncfs_err;
	const char *fail_rename; /* a rename into this path fails with EIO */
	char snap[256]; /* at syncfs: copy the journal here (what a crash would leave) */
	const char *jdir;
} g_st;

static void copy_dir(const char *from, const char *to)
{
	mkdir(to, 0700);
	DIR *d = opendir(from);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char a[512], b[512];
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		size_t len;
		char *data = read_file(a, &len);
		FILE *fp = fopen(b, "wb");
		assert_non_null(fp);
		fwrite(data, 1, len, fp);
		fclose(fp);
		free(data);
	}
	if (d)
		closedir(d);
}

static int st_fsync(int fd)
{
	g_st.fsyncs++;
	return fsync(fd);
}

static int st_syncfs(int fd)
{
	g_st.syncfs++;
	if (g_st.snap[0])
		copy_dir(g_st.jdir, g_st.snap);
	if (g_st.syncfs_err) {
		errno = g_st.syncfs_err;
		return -1;
	}
	return syncfs(fd);
}

static int st_rename(const char *from, const char *to)
{
	if (g_st.fail_rename && strstr(to, g_st.fail_rename)) {
		errno = EIO;
		return -1;
	}
	return rename(from, to);
}

static const struct store_fs_ops st_ops = {.fsync = st_fsync, .rename = st_rename,
					   .syncfs = st_syncfs};

/* The fixture's store, with the counting ops; g_st reset. */
static void counting_store(struct fx *f)
{
	store_free(f->st);
	char err[256];
	struct store_config sc = {.kind = STORE_MAILDIR, .maildir = f->mdir, .ops = &st_ops};
	f->st = store_new(&sc, err, sizeof(err));
	assert_non_null(f->st);
	memset(&g_st, 0, sizeof(g_st));
}

static void deliver_all(struct fx *f, uint64_t now, struct reports *rp)
{
	struct queue_job *jobs[16];
	(void)queue_load_due(f->q, now); /* as the queue manager does, on its pool */
	size_t n = queue_take_due(f->q, now, jobs, 16);
	for (size_t i = 0; i < n; i++)
		queue_deliver(f->q, jobs[i], f->st, now, on_report, rp);
}

/* A batch of deliveries costs no fsync and one syncfs, and no D record is
 * in the journal before that syncfs: a crash at that moment recovers every
 * message of the batch. */
static void test_done_records_follow_one_sync(void **state)
{
	struct fx *f = *state;
	counting_store(f);
	/* the mailboxes exist: their creation is not what is measured */
	assert_int_equal(put(f, "W0", "w\r\n", 3, 3), QUEUE_OK);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(queue_size(f->q), 0);
	memset(&g_st, 0, sizeof(g_st));
	char jdir[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	g_st.jdir = jdir;
	snprintf(g_st.snap, sizeof(g_st.snap), "%s/snap/journal", f->dir);
	char snapq[256], spill[300];
	snprintf(snapq, sizeof(snapq), "%s/snap", f->dir);
	snprintf(spill, sizeof(spill), "%s/spill", snapq);
	assert_int_equal(mkdir(snapq, 0700), 0);
	assert_int_equal(mkdir(spill, 0700), 0);

	assert_int_equal(put(f, "B1", "one\r\n", 5, 1), QUEUE_OK);
	assert_int_equal(put(f, "B2", "two\r\n", 5, 2), QUEUE_OK);
	assert_int_equal(put(f, "B3", "three\r\n", 7, 3), QUEUE_OK);
	memset(&rp, 0, sizeof(rp));
	deliver_all(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 6);
	assert_int_equal(g_st.fsyncs, 0);
	assert_int_equal(g_st.syncfs, 0);
	assert_int_equal(queue_size(f->q), 3); /* not recorded before the sync */
	size_t len, n;
	free(delivered(f, "c", &len, &n));
	assert_int_equal(n, 2); /* W0 and B3: in the mailbox already */

	assert_int_equal(queue_sync_delivered(f->q, f->st), 0);
	assert_int_equal(g_st.syncfs, 1);
	assert_int_equal(g_st.fsyncs, 0);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(queue_sync_delivered(f->q, f->st), 0); /* nothing left: no flush */
	assert_int_equal(g_st.syncfs, 1);

	/* the journal as it was when the syncfs began: all three are there */
	g_st.snap[0] = '\0';
	struct queue_config c = {.dir = snapq};
	char err[256];
	struct queue *sq = queue_open(&c, err, sizeof(err));
	assert_non_null(sq);
	assert_int_equal(queue_size(sq), 3);
	queue_close(sq);

	/* the next flush (this message's) makes the D records durable */
	assert_int_equal(put(f, "B4", "four\r\n", 6, 1), QUEUE_OK);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
}

/* A crash after the deliveries and before their sync: the files may be
 * there whole, cut short or missing. The messages are delivered again, once
 * each, whole. */
static void test_crash_before_sync_redelivers_once(void **state)
{
	struct fx *f = *state;
	counting_store(f);
	assert_int_equal(put(f, "K1", "first\r\n", 7, 2), QUEUE_OK);
	assert_int_equal(put(f, "K2", "second\r\n", 8, 1), QUEUE_OK);
	struct reports rp = {0};
	deliver_all(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 3);
	/* b's copy of K1 lost its data (written, never flushed) */
	char dir[256], path[600];
	snprintf(dir, sizeof(dir), "%s/example.org/b/new", f->mdir);
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".K1.")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			assert_int_equal(truncate(path, 0), 0);
		}
	closedir(d);
	reopen(f); /* the crash: no sync, no D record */
	assert_int_equal(g_st.syncfs, 0);
	assert_int_equal(queue_size(f->q), 2);
	memset(&rp, 0, sizeof(rp));
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 3);
	assert_int_equal(queue_size(f->q), 0);
	size_t len, n;
	char *got = delivered(f, "b", &len, &n);
	assert_int_equal(n, 1);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "first\n", 6);
	free(got);
	snprintf(dir, sizeof(dir), "%s/example.org/a/new", f->mdir);
	assert_int_equal(count_files(dir), 2);
}

/* A failed sync leaves the batch's messages in the queue, deferred, and
 * their next delivery replaces the files this one left. */
static void test_failed_sync_defers_and_replaces(void **state)
{
	struct fx *f = *state;
	counting_store(f);
	assert_int_equal(put(f, "F1", "body\r\n", 6, 1), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	deliver_all(f, now, &rp);
	g_st.syncfs_err = EIO;
	assert_int_equal(queue_sync_delivered(f->q, f->st), EIO);
	assert_int_equal(queue_size(f->q), 1);
	assert_int_equal(queue_next_due(f->q), now + 300);
	struct buf out;
	buf_init(&out, 1 << 20);
	assert_int_equal(queue_control(f->q, "list", now, &out), 0);
	assert_non_null(strstr(out.data, "state=deferred"));
	assert_non_null(strstr(out.data, "could not be flushed"));
	buf_fini(&out);
	g_st.syncfs_err = 0;
	memset(&rp, 0, sizeof(rp));
	run_due(f, now + 300, &rp);
	assert_int_equal(rp.delivered, 1);
	assert_int_equal(queue_size(f->q), 0);
	size_t len, n;
	char *got = delivered(f, "a", &len, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(got, "body\n", 5);
	free(got);
}

/* The current segment is written with zeros ahead of its records (so that
 * an append's fdatasync commits no size change); recovery ends the segment
 * at the zeros and keeps every record before them. */
static void test_zeros_ahead_of_the_records(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "Z1", "one\r\n", 5, 1), QUEUE_OK);
	assert_int_equal(put(f, "Z2", "two\r\n", 5, 2), QUEUE_OK);
	char seg[256];
	snprintf(seg, sizeof(seg), "%s/journal/0000000000000001", f->qdir);
	struct stat sb;
	assert_int_equal(stat(seg, &sb), 0);
	assert_true(sb.st_size >= 512 * 1024); /* records are a few hundred octets */
	size_t len;
	char *data = read_file(seg, &len);
	assert_int_equal(data[len - 1], 0);
	free(data);
	reopen(f);
	assert_int_equal(queue_size(f->q), 2);
	assert_int_equal(put(f, "Z3", "three\r\n", 7, 1), QUEUE_OK);
	reopen(f);
	assert_int_equal(queue_size(f->q), 3);
	struct reports rp = {0};
	run_due(f, (uint64_t)time(NULL), &rp);
	assert_int_equal(rp.delivered, 4);
}

/* On a file system short of space the zeros would take what messages
 * need: none are written there. */
static void test_no_zeros_when_space_is_short(void **state)
{
	struct fx *f = *state;
	g_fault.free_space = (uint64_t)100 * 1024 * 1024;
	assert_int_equal(put(f, "N1", "one\r\n", 5, 1), QUEUE_OK);
	assert_int_equal(put(f, "N2", "two\r\n", 5, 1), QUEUE_OK);
	char seg[256];
	snprintf(seg, sizeof(seg), "%s/journal/0000000000000001", f->qdir);
	struct stat sb;
	assert_int_equal(stat(seg, &sb), 0);
	assert_true(sb.st_size < 4096);
	g_fault.free_space = UINT64_MAX;
}

/* After a crash, a recipient's delivery fails (its copy from before the
 * crash, cut short, stays): its retry still replaces that copy. */
static void test_retry_after_recovery_replaces(void **state)
{
	struct fx *f = *state;
	counting_store(f);
	assert_int_equal(put(f, "RR1", "hello\r\n", 7, 2), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	deliver_all(f, now, &rp);
	char dir[256], path[600];
	snprintf(dir, sizeof(dir), "%s/example.org/b/new", f->mdir);
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			assert_int_equal(truncate(path, 2), 0);
			/* from an earlier second than the retries */
			char older[700];
			snprintf(older, sizeof(older), "%s/1%s", dir, strchr(de->d_name, '.'));
			assert_int_equal(rename(path, older), 0);
		}
	closedir(d);
	reopen(f); /* the crash, before the sync */
	g_st.fail_rename = "/b/new/";
	memset(&rp, 0, sizeof(rp));
	run_due(f, now, &rp);
	/* the store message for both failed: each alone, a replaced, b deferred */
	assert_int_equal(rp.deferred, 1);
	assert_int_equal(rp.delivered, 1);
	g_st.fail_rename = NULL;
	memset(&rp, 0, sizeof(rp));
	run_due(f, now + 300, &rp);
	assert_int_equal(rp.delivered, 1);
	assert_int_equal(queue_size(f->q), 0);
	size_t len, n;
	char *got = delivered(f, "b", &len, &n);
	assert_int_equal(n, 1);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "hello\n", 6);
	free(got);
	free(delivered(f, "a", &len, &n));
	assert_int_equal(n, 1);
}


/* ---- the index: only due messages in memory (index.c) ---- */

/* Reopen with at most max messages in memory. */
static void open_small(struct fx *f, size_t max)
{
	g_active_max = max;
	reopen(f);
}

/* The mailbox of who@example.org cannot be made (a file is in its place):
 * its deliveries defer. Returns the path, to unlink to mend it. */
static void break_mailbox(struct fx *f, const char *who, char *path, size_t n)
{
	snprintf(path, n, "%s/example.org", f->mdir);
	mkdir(f->mdir, 0700);
	mkdir(path, 0700);
	snprintf(path, n, "%s/example.org/%s", f->mdir, who);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
}

static size_t files_of(struct fx *f, const char *who)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/example.org/%s/new", f->mdir, who);
	return count_files(dir);
}

/* n messages of nrcpt recipients, ids prefix0, prefix1, ... */
static void put_n(struct fx *f, const char *prefix, int n, size_t nrcpt, size_t max_in_memory)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		assert_int_equal(put(f, id, "x\r\n", 3, nrcpt), QUEUE_OK);
		assert_true(queue_in_memory(f->q) <= max_in_memory);
	}
}

/* Run a postern queue command that must succeed; its answer as a string. */
static const char *ctl(struct fx *f, const char *cmd, uint64_t now, struct buf *out)
{
	buf_clear(out);
	assert_int_equal(queue_control(f->q, cmd, now, out), 0);
	buf_append(out, "", 1);
	return out->data;
}

/* Deliver everything due at now, round after round; the messages taken. */
static size_t drain(struct fx *f, uint64_t now, struct reports *rp, size_t max_in_memory)
{
	size_t total = 0, n;
	while ((n = run_due(f, now, rp)) > 0) {
		total += n;
		assert_true(queue_in_memory(f->q) <= max_in_memory);
	}
	return total;
}

/* How far deliveries are behind (the queue manager runs them at SCHED_IDLE
 * until it is QMGR_BEHIND_S): since when the oldest due message not yet
 * taken has waited; nothing waiting once all are taken. */
static void test_waiting_since(void **state)
{
	struct fx *f = *state;
	assert_int_equal(queue_waiting_since(f->q), UINT64_MAX);
	uint64_t before = (uint64_t)time(NULL);
	assert_int_equal(put(f, "W1", "x\r\n", 3, 1), QUEUE_OK);
	assert_int_equal(put(f, "W2", "x\r\n", 3, 1), QUEUE_OK);
	uint64_t since = queue_waiting_since(f->q);
	assert_true(since >= before && since <= (uint64_t)time(NULL));
	struct queue_job *jobs[1];
	assert_int_equal(queue_take_due(f->q, (uint64_t)time(NULL), jobs, 1), 1);
	assert_true(queue_waiting_since(f->q) >= since); /* W2's */
	struct reports rp = {0};
	queue_deliver(f->q, jobs[0], f->st, (uint64_t)time(NULL), on_report, &rp);
	assert_int_equal(queue_take_due(f->q, (uint64_t)time(NULL), jobs, 1), 1);
	assert_int_equal(queue_waiting_since(f->q), UINT64_MAX); /* taken, not yet delivered */
	queue_deliver(f->q, jobs[0], f->st, (uint64_t)time(NULL), on_report, &rp);
	(void)queue_sync_delivered(f->q, f->st);
	assert_int_equal(rp.delivered, 2);
}

/* The queue directory as it is now, put back by crash_back: what a crash
 * at this moment leaves (the journal's records are flushed by then). */
static void crash_point(struct fx *f)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp -a %s %s.saved", f->qdir, f->qdir);
	assert_int_equal(system(cmd), 0);
}

static void crash_back(struct fx *f)
{
	char cmd[512];
	queue_close(f->q);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mv %s.saved %s", f->qdir, f->qdir, f->qdir);
	assert_int_equal(system(cmd), 0);
	f->q = open_q(f);
	assert_non_null(f->q);
}

/* hold and delete of a message being delivered take effect when the
 * attempt ends, and the answer says so (it said "ok" alone); both are in
 * the journal at once, so a crash before the attempt ends keeps them (the
 * D record was written only at the end, and kill -9 brought the message
 * back). */
static void test_change_of_a_message_under_way(void **state)
{
	struct fx *f = *state;
	uint64_t now = (uint64_t)time(NULL);
	assert_int_equal(put(f, "U1", "x\r\n", 3, 1), QUEUE_OK);
	assert_int_equal(put(f, "U2", "y\r\n", 3, 1), QUEUE_OK);
	struct queue_job *jobs[2];
	assert_int_equal(queue_take_due(f->q, now, jobs, 2), 2);
	struct buf out;
	buf_init(&out, 4096);
	ctl(f, "hold U1", now, &out);
	assert_string_equal(out.data, "ok hold=U1 note=\"being delivered: takes effect when this attempt ends\"\n");
	ctl(f, "delete U1", now, &out);
	assert_string_equal(out.data, "ok delete=U1 note=\"being delivered: takes effect when this attempt ends\"\n");
	ctl(f, "hold U2", now, &out);
	crash_point(f);
	struct reports rp = {0};
	queue_deliver(f->q, jobs[0], f->st, now, on_report, &rp);
	queue_deliver(f->q, jobs[1], f->st, now, on_report, &rp);
	(void)queue_sync_delivered(f->q, f->st);
	assert_int_equal(queue_size(f->q), 0); /* the attempts delivered both: not cut short */
	crash_back(f);
	ctl(f, "list", now, &out);
	assert_null(strstr(out.data, "id=U1"));
	assert_non_null(strstr(out.data, "id=U2 size=3 age=0s state=held"));
	assert_int_equal(queue_take_due(f->q, now, jobs, 2), 0);
	assert_int_equal(put(f, "U3", "z\r\n", 3, 1), QUEUE_OK);
	ctl(f, "hold U3", now, &out);
	assert_string_equal(out.data, "ok hold=U3\n");
	buf_fini(&out);
}

/* A change whose record cannot be written (the queue's disk is full)
 * changes nothing and says so: delete said ok, and the message came back
 * after a restart; a failed release had already made the message ready. */
static void test_change_not_written_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint64_t now = (uint64_t)time(NULL);
	assert_int_equal(put(f, "N1", "x\r\n", 3, 1), QUEUE_OK);
	assert_int_equal(put(f, "N2", "y\r\n", 3, 1), QUEUE_OK);
	struct buf out;
	buf_init(&out, 4096);
	ctl(f, "hold N2", now, &out);
	fault_set(F_PWRITE, 1, ENOSPC);
	static const char *const refused[] = {"delete N1", "hold N1", "release N2", "delete N2"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		buf_clear(&out);
		assert_int_equal(queue_control(f->q, refused[i], now, &out), -1);
		buf_append(&out, "", 1);
		char want[128];
		snprintf(want, sizeof(want), "error: message %.2s is unchanged: its record cannot be "
			 "written (%s)\n", refused[i] + strlen(refused[i]) - 2, strerror(ENOSPC));
		assert_string_equal(out.data, want);
	}
	fault_clear();
	ctl(f, "list", now, &out);
	assert_non_null(strstr(out.data, "id=N1 size=3"));
	assert_non_null(strstr(out.data, "state=queued"));
	assert_non_null(strstr(out.data, "state=held"));
	struct queue_job *jobs[2];
	assert_int_equal(queue_take_due(f->q, now, jobs, 2), 1); /* N1; N2 stays held */
	struct reports rp = {0};
	queue_deliver(f->q, jobs[0], f->st, now, on_report, &rp);
	(void)queue_sync_delivered(f->q, f->st);
	assert_int_equal(rp.delivered, 1);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
	assert_int_equal(queue_take_due(f->q, now, jobs, 2), 0);
	/* written, but its flush failed: said, not "ok" (whether the fdatasync
	 * that failed was the command's or the flusher's) */
	assert_int_equal(queue_sync(f->q), 0); /* nothing else is waiting for it */
	fault_once(F_FDATASYNC, EIO);
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "release N2", now, &out), -1);
	buf_append(&out, "", 1);
	assert_non_null(strstr(out.data, "error: the change is written but its flush failed"));
	fault_clear();
	buf_fini(&out);
}

/* Past the active limit new messages wait in the index and are delivered
 * in their turn, each once. */
static void test_active_limit(void **state)
{
	struct fx *f = *state;
	open_small(f, 3);
	put_n(f, "L", 20, 1, 3);
	assert_int_equal(queue_size(f->q), 20);
	struct reports rp = {0};
	assert_int_equal(drain(f, (uint64_t)time(NULL), &rp, 3), 20);
	assert_int_equal(rp.delivered, 20);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(files_of(f, "a"), 20);
}

/* Deferred messages leave memory with their recipients' states, and every
 * command of postern queue still finds them. */
static void test_deferred_wait_in_the_index(void **state)
{
	struct fx *f = *state;
	char broken[256];
	break_mailbox(f, "a", broken, sizeof(broken));
	put_n(f, "D", 5, 1, SIZE_MAX);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(drain(f, now, &rp, 5), 5);
	assert_int_equal(rp.deferred, 5);
	assert_int_equal(queue_size(f->q), 5);
	assert_int_equal(queue_in_memory(f->q), 0);
	assert_int_equal(queue_next_due(f->q), now + 300);
	assert_int_equal(run_due(f, now + 299, &rp), 0);

	struct buf out;
	buf_init(&out, 1 << 20);
	ctl(f, "list", now, &out);
	assert_non_null(strstr(out.data, "ok messages=5\n"));
	assert_non_null(strstr(out.data, "id=D3 size=3 age=0s state=deferred next_try=300s"));
	assert_non_null(strstr(out.data, "last_error=\"451 4.3.0"));
	ctl(f, "show D2", now, &out);
	assert_non_null(strstr(out.data, "state=deferred attempts=1"));
	assert_non_null(strstr(out.data, "to=\"a@example.org\" status=pending reply=\"451 4.3.0"));
	assert_int_equal(queue_in_memory(f->q), 0); /* show put it back */
	ctl(f, "hold D1", now, &out);
	/* retrying a held message does nothing, and says so */
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "retry D1", now, &out), -1);
	buf_append(&out, "", 1);
	assert_non_null(strstr(out.data, "error: message D1 is held"));
	ctl(f, "delete D3", now, &out);
	assert_int_equal(queue_size(f->q), 4);
	assert_int_equal(queue_in_memory(f->q), 0);
	reopen(f); /* recovery puts them back in the index */
	assert_int_equal(queue_size(f->q), 4);
	assert_int_equal(queue_in_memory(f->q), 0);
	ctl(f, "list", now, &out);
	assert_non_null(strstr(out.data, "id=D1 size=3 age=0s state=held"));
	assert_null(strstr(out.data, "id=D3"));

	/* mended: retry takes the three not held */
	assert_int_equal(unlink(broken), 0);
	ctl(f, "retry", now, &out);
	assert_string_equal(out.data, "ok retry=3\n");
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(drain(f, now, &rp, 5), 3);
	assert_int_equal(rp.delivered, 3);
	assert_int_equal(queue_size(f->q), 1);
	ctl(f, "release D1", now, &out);
	assert_int_equal(drain(f, now, &rp, 5), 1);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(files_of(f, "a"), 4); /* D3 was deleted */
	buf_fini(&out);
}

/* A failed message stays visible from the index, with its reply, also
 * after a restart. */
static void test_failed_stays_in_the_index(void **state)
{
	struct fx *f = *state;
	char broken[256];
	break_mailbox(f, "a", broken, sizeof(broken));
	assert_int_equal(put(f, "F1", "x\r\n", 3, 1), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(run_due(f, now + 5 * 86400, &rp), 1);
	assert_int_equal(rp.failed, 1);
	assert_int_equal(queue_in_memory(f->q), 0);
	reopen(f);
	assert_int_equal(queue_size(f->q), 1);
	assert_int_equal(queue_in_memory(f->q), 0);
	assert_int_equal(queue_next_due(f->q), UINT64_MAX);
	struct buf out;
	buf_init(&out, 1 << 20);
	ctl(f, "show F1", now, &out);
	assert_non_null(strstr(out.data, "state=failed attempts=2"));
	assert_non_null(strstr(out.data, "status=failed reply=\"4.4.7 message expired"));
	ctl(f, "list", now, &out);
	assert_non_null(strstr(out.data, "id=F1 size=3 age=0s state=failed"));
	assert_non_null(strstr(out.data, "last_error=\"4.4.7 message expired"));
	buf_clear(&out);
	assert_int_equal(queue_control(f->q, "retry F1", now, &out), -1);
	buf_append(&out, "", 1);
	assert_non_null(strstr(out.data, "error: message F1 has no recipient left to try"));
	buf_fini(&out);
}

/* A restart with more messages than the limit keeps the limit, and a
 * recipient delivered before it is not delivered again. */
static void test_recovery_keeps_the_limit(void **state)
{
	struct fx *f = *state;
	open_small(f, 4);
	char broken[256];
	break_mailbox(f, "b", broken, sizeof(broken));
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	put_n(f, "P", 6, 2, SIZE_MAX);
	assert_int_equal(drain(f, now, &rp, 4), 6);
	assert_int_equal(queue_in_memory(f->q), 0);
	put_n(f, "N", 6, 1, SIZE_MAX);
	reopen(f);
	assert_int_equal(queue_size(f->q), 12);
	assert_true(queue_in_memory(f->q) <= 4);
	assert_int_equal(unlink(broken), 0);
	struct buf out;
	buf_init(&out, 4096);
	ctl(f, "retry", now, &out);
	buf_fini(&out);
	assert_int_equal(drain(f, now, &rp, 4), 12);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(files_of(f, "a"), 12);
	assert_int_equal(files_of(f, "b"), 6);
}

/* A message for two mailboxes, one of them broken: the other gets it now
 * (each recipient alone after the shared file failed), the broken one
 * when mended, and neither twice. */
static void test_one_broken_mailbox_holds_back_no_other(void **state)
{
	struct fx *f = *state;
	char broken[256];
	break_mailbox(f, "b", broken, sizeof(broken));
	assert_int_equal(put(f, "BM1", "x\r\n", 3, 2), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(rp.delivered, 1);
	assert_int_equal(rp.deferred, 1);
	assert_int_equal(files_of(f, "a"), 1);
	reopen(f); /* the outcome is in the journal */
	assert_int_equal(unlink(broken), 0);
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(run_due(f, now + 300, &rp), 1);
	assert_int_equal(rp.delivered, 1);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(files_of(f, "a"), 1);
	assert_int_equal(files_of(f, "b"), 1);
}

/* Restarts leave no empty segments behind: neither when the queue is
 * empty nor past a segment that a deferred message holds; the message is
 * kept and delivered once its mailbox is mended. */
static void test_restarts_leave_no_empty_segments(void **state)
{
	struct fx *f = *state;
	char jdir[256], broken[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	for (int i = 0; i < 5; i++)
		reopen(f);
	assert_int_equal(count_files(jdir), 1);
	break_mailbox(f, "a", broken, sizeof(broken));
	assert_int_equal(put(f, "KEEP1", "x\r\n", 3, 1), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(rp.deferred, 1);
	for (int i = 0; i < 5; i++)
		reopen(f);
	assert_int_equal(count_files(jdir), 2); /* KEEP1's, and the new one */
	assert_int_equal(queue_size(f->q), 1);
	assert_int_equal(unlink(broken), 0);
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(run_due(f, now + 300, &rp), 1);
	assert_int_equal(rp.delivered, 1);
	reopen(f);
	assert_int_equal(queue_size(f->q), 0);
	assert_int_equal(count_files(jdir), 1);
	assert_int_equal(files_of(f, "a"), 1);
}

/* Descriptors this process holds on files under dir. */
static size_t fds_under(const char *dir)
{
	char real[512];
	assert_non_null(realpath(dir, real));
	size_t n = 0, len = strlen(real);
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char link[600], target[600];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		ssize_t r = readlink(link, target, sizeof(target) - 1);
		if (r <= 0)
			continue;
		target[r] = '\0';
		n += strncmp(target, real, len) == 0 && target[len] == '/';
	}
	closedir(d);
	return n;
}

/* One held message (HOLD<i>) in its own segment, then a restart, which
 * starts the next segment: the message pins its segment. */
static void held_in_a_segment(struct fx *f, int i)
{
	char id[16], cmd[32];
	struct buf out;
	buf_init(&out, 4096);
	snprintf(id, sizeof(id), "HOLD%d", i);
	assert_int_equal(put(f, id, "x\r\n", 3, 1), QUEUE_OK);
	snprintf(cmd, sizeof(cmd), "hold %s", id);
	assert_int_equal(queue_control(f->q, cmd, 0, &out), 0);
	buf_fini(&out);
	reopen(f);
}

/* A queue of many segments keeps at most QUEUE_SEG_FDS older ones open
 * (descriptors are budgeted), while records in every one stay readable,
 * and a restart reads them all. Each restart starts a segment, and a held
 * message written after it pins it. */
static void test_segment_descriptors_bounded(void **state)
{
	struct fx *f = *state;
	char jdir[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	enum { SEGS = QUEUE_SEG_FDS + 6 };
	struct buf out;
	buf_init(&out, 4096);
	for (int i = 0; i < SEGS; i++) {
		held_in_a_segment(f, i);
		assert_true(fds_under(jdir) <= QUEUE_SEG_FDS + 1);
	}
	assert_int_equal(count_files(jdir), SEGS + 1);
	assert_int_equal(queue_size(f->q), SEGS);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < SEGS; i++) {
			char cmd[32];
			snprintf(cmd, sizeof(cmd), "show HOLD%d", i);
			buf_clear(&out);
			assert_int_equal(queue_control(f->q, cmd, 0, &out), 0);
			assert_non_null(strstr(out.data, "state=held"));
			assert_true(fds_under(jdir) <= QUEUE_SEG_FDS + 1);
		}
	}
	buf_fini(&out);
}

/* Out of descriptors when an older segment must be opened again to bring
 * a message back from the index: the message stays in the index as it
 * was (a review found its recipients all reset to pending, so a delivered
 * one would get the message twice), and comes back once it can. */
static void test_reopen_failure_keeps_the_state(void **state)
{
	struct fx *f = *state;
	char broken[256];
	break_mailbox(f, "b", broken, sizeof(broken));
	assert_int_equal(put(f, "P1", "x\r\n", 3, 2), QUEUE_OK);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(rp.delivered, 1);
	assert_int_equal(rp.deferred, 1);
	/* segments after P1's S record, each pinned by a held message, until
	 * its segment's descriptor is closed */
	reopen(f);
	for (int i = 0; i < QUEUE_SEG_FDS + 2; i++)
		held_in_a_segment(f, i);
	assert_int_equal(unlink(broken), 0);
	g_fault.op = F_OPEN_READ;
	g_fault.nth = 1;
	g_fault.err = EMFILE;
	g_fault.calls = 0;
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(run_due(f, now + 300, &rp), 0);
	assert_true(g_fault.calls > 0); /* the reopen was tried */
	g_fault.op = F_NONE;
	assert_int_equal(run_due(f, now + 300, &rp), 1);
	assert_int_equal(rp.delivered, 1); /* b only */
	assert_int_equal(files_of(f, "a"), 1);
	assert_int_equal(files_of(f, "b"), 1);
	assert_int_equal(queue_size(f->q), QUEUE_SEG_FDS + 2); /* the held ones */
}

/* A list larger than the answer may be is cut between lines, and says so
 * in its status line (a review found it cut silently, mid-line). */
static void test_list_cut_short(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 30; i++) {
		char id[16];
		snprintf(id, sizeof(id), "L%02d", i);
		assert_int_equal(put(f, id, "x\r\n", 3, 1), QUEUE_OK);
	}
	struct buf out;
	buf_init(&out, 2048);
	assert_int_equal(queue_control(f->q, "list", 0, &out), 0);
	buf_append(&out, "", 1);
	unsigned total = 0, shown = 0;
	assert_int_equal(sscanf(out.data, "ok messages=%u shown=%u\n", &total, &shown), 2);
	assert_int_equal(total, 30);
	assert_true(shown > 0 && shown < 30);
	size_t lines = 0;
	for (const char *p = strchr(out.data, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		assert_true(strncmp(p, "id=L", 4) == 0);
		assert_non_null(strchr(p, '\n')); /* whole */
		lines++;
	}
	assert_int_equal(lines, shown);
	buf_fini(&out);
}

/* Two recipients of one mailbox (A and a) beside a broken one: tried
 * alone, the mailbox still gets one file, whatever second each lands in
 * (the copy of an earlier second stands for the first one's). */
static void test_alone_one_file_per_mailbox(void **state)
{
	struct fx *f = *state;
	char broken[256], path[512];
	break_mailbox(f, "b", broken, sizeof(broken));
	const char *sub[] = {"", "/new", "/cur", "/tmp"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/example.org/a%s", f->mdir, sub[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/example.org/a/new/1.AM1.earlier", f->mdir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("an earlier second's copy\n", fp);
	fclose(fp);
	const char *rcpts[] = {"A@example.org", "b@example.org", "a@example.org"};
	enum queue_status st;
	struct queue_msg *m = queue_msg_begin(f->q, "AM1", "s@example.net", 0, rcpts, 3,
					      (uint64_t)time(NULL), &st);
	assert_non_null(m);
	assert_int_equal(queue_msg_write(m, "x\r\n", 3), QUEUE_OK);
	g_w.done = 0;
	queue_msg_commit(m, on_done, &g_w);
	wait_done(&g_w, 1);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	assert_int_equal(run_due(f, now, &rp), 1);
	assert_int_equal(rp.delivered, 2);
	assert_int_equal(rp.deferred, 1);
	assert_int_equal(files_of(f, "a"), 1);
	size_t len;
	char *got = delivered_id(f, "a", "AM1", &len);
	assert_non_null(got);
	assert_int_equal(len, 2);
	assert_memory_equal(got, "x\n", 2);
	free(got);
}

/* The recovery's id map against a plain list: slots put under keys (every
 * seventh under one key, as colliding hashes would be), found among the
 * key's candidates, removed in another order, put again, with the table
 * growing on the way. */
static uint64_t test_key(uint32_t i)
{
	char id[QREC_ID_MAX + 1];
	snprintf(id, sizeof(id), "6B1182%05uXYZ", i);
	return i % 7 == 0 ? 42 : queue_idmap_key(id);
}

static bool test_find(const struct queue_idmap *m, uint32_t i, size_t *at)
{
	uint32_t slot;
	*at = SIZE_MAX;
	while (queue_idmap_next(m, test_key(i), at, &slot))
		if (slot == i)
			return true;
	return false;
}

static void test_idmap(void **state)
{
	(void)state;
	struct queue_idmap m = {0};
	enum { N = 5000 };
	static bool in[N];
	size_t at;
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(queue_idmap_put(&m, test_key(i), i, i % 2), 0);
		in[i] = true;
	}
	for (uint32_t k = 0; k < 3 * N; k++) {
		uint32_t i = (k * 7919u) % N;
		assert_int_equal(test_find(&m, i, &at), in[i]);
		if (in[i]) {
			queue_idmap_remove_at(&m, at);
			in[i] = false;
		} else if (k % 3 == 0) {
			assert_int_equal(queue_idmap_put(&m, test_key(i), i, i % 2), 0);
			in[i] = true;
		}
	}
	size_t n = 0;
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(test_find(&m, i, &at), in[i]);
		n += in[i];
	}
	assert_int_equal(m.n, n);
	queue_idmap_free(&m);
	assert_false(test_find(&m, 1, &at));
}

/* Recovery holds at most 4 x active_max messages in memory while it reads
 * the journal (the oldest wait in the index meanwhile), and a later S or D
 * record still finds them: nothing is lost, delivered twice or revived.
 * Spill messages are judged as they go: the one whose file is gone is
 * dropped, the whole one kept with its file. */
static void test_recovery_bounds_its_memory(void **state)
{
	struct fx *f = *state;
	open_small(f, 2); /* 8 while recovering, then the oldest go */
	char broken[256], sdir[256], path[512];
	break_mailbox(f, "b", broken, sizeof(broken));
	snprintf(sdir, sizeof(sdir), "%s/spill", f->qdir);
	size_t len = 100 * 1024;
	char *body = body_of(len);
	uint64_t now = (uint64_t)time(NULL);
	struct reports rp = {0};
	/* delivered before the restart: its file is gone, its D record comes
	 * after the index has taken it; it is neither dropped early nor revived */
	assert_int_equal(put(f, "SPILLDONE", body, len, 1), QUEUE_OK);
	put_n(f, "P", 20, 2, SIZE_MAX);
	/* P*: a delivered, b deferred (S records after all twenty M) */
	assert_int_equal(drain(f, now, &rp, SIZE_MAX), 21);
	assert_int_equal(rp.delivered, 21);
	assert_int_equal(rp.deferred, 20);
	put_n(f, "N", 12, 1, SIZE_MAX);
	struct buf out;
	buf_init(&out, 1 << 16);
	ctl(f, "hold N3", now, &out);
	ctl(f, "delete P1", now, &out);
	ctl(f, "delete N4", now, &out);
	size_t queued = queue_size(f->q);
	assert_int_equal(queued, 30); /* 20 P + 12 N - 2 deleted */
	assert_int_equal(put(f, "SPILLKEPT", body, len, 1), QUEUE_OK);
	assert_int_equal(put(f, "SPILLLOST", body, len, 1), QUEUE_OK);
	assert_int_equal(put(f, "SPILLCUT", body, len, 1), QUEUE_OK);
	/* more after them: they go to the index while recovery reads on */
	put_n(f, "Z", 10, 1, SIZE_MAX);
	snprintf(path, sizeof(path), "%s/SPILLLOST", sdir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/SPILLCUT", sdir);
	assert_int_equal(truncate(path, 1000), 0); /* its file, cut short: goes too */

	reopen(f);
	assert_true(f->q->recover_peak <= 8 + 1); /* the record that passed 8 */
	assert_int_equal(queue_size(f->q), queued + 1 + 10); /* SPILLLOST, SPILLCUT dropped */
	assert_int_equal(count_files(sdir), 1);               /* SPILLKEPT's */
	ctl(f, "list", now, &out);
	assert_non_null(strstr(out.data, "id=N3 "));
	assert_non_null(strstr(strstr(out.data, "id=N3 "), "state=held"));
	assert_null(strstr(out.data, "id=P1 "));
	assert_null(strstr(out.data, "id=N4 "));
	assert_null(strstr(out.data, "id=SPILLLOST "));
	assert_null(strstr(out.data, "id=SPILLDONE "));
	assert_null(strstr(out.data, "id=SPILLCUT "));
	assert_non_null(strstr(out.data, "id=P7 "));
	assert_non_null(strstr(strstr(out.data, "id=P7 "), "state=deferred"));

	assert_int_equal(unlink(broken), 0);
	ctl(f, "retry", now, &out);
	ctl(f, "release N3", now, &out);
	memset(&rp, 0, sizeof(rp));
	drain(f, now, &rp, SIZE_MAX);
	assert_int_equal(queue_size(f->q), 0);
	/* a: SPILLDONE and P* 20 (once each, before the restart) + N* 11 +
	 * Z* 10 + SPILLKEPT; b: the 19 P* not deleted */
	assert_int_equal(rp.delivered, 19 + 11 + 10 + 1);
	assert_int_equal(files_of(f, "a"), 1 + 20 + 11 + 10 + 1);
	assert_int_equal(files_of(f, "b"), 19);
	buf_fini(&out);
	free(body);
}

/* Recovery moves the oldest messages to the index while it reads; a later
 * record names one of them (its D record: it was deleted), and bringing it
 * back fails (out of descriptors reopening a segment). Recovery went on as
 * if the message were gone: the D record was ignored and the deleted
 * message delivered (a review found it). Now the start fails, and the next
 * start, with descriptors, gets it right. */
static void test_recovery_stops_when_the_index_fails_it(void **state)
{
	struct fx *f = *state;
	uint64_t now = (uint64_t)time(NULL);
	struct buf out;
	buf_init(&out, 1 << 16);
	open_small(f, 1); /* past 4 in memory, recovery moves messages to the index */
	assert_int_equal(put(f, "X1", "x\r\n", 3, 1), QUEUE_OK);
	ctl(f, "hold X1", now, &out);
	ctl(f, "release X1", now, &out); /* an S record in segment 1 */
	for (int i = 0; i < 11; i++) {
		char id[16];
		reopen(f); /* a segment each */
		snprintf(id, sizeof(id), "Y%d", i);
		assert_int_equal(put(f, id, "y\r\n", 3, 1), QUEUE_OK);
	}
	reopen(f);
	ctl(f, "delete X1", now, &out);
	queue_close(f->q);
	fault_once(F_OPEN_READ, EMFILE); /* segment 1 is reopened to load X1 back */
	f->q = open_q(f);
	assert_null(f->q);
	assert_int_equal(g_fault.calls > 0, 1);
	fault_clear();
	f->q = open_q(f);
	assert_non_null(f->q);
	assert_int_equal(queue_size(f->q), 11);
	struct reports rp = {0};
	drain(f, now, &rp, SIZE_MAX);
	assert_int_equal(files_of(f, "a"), 11);
	size_t len;
	assert_null(delivered_id(f, "a", "X1", &len));
	buf_fini(&out);
}

/* One flipped bit in the first record of a segment full of acknowledged
 * mail: recovery reads no record of it, and the segment, holding nothing
 * it knows of, was unlinked at start (a review found it). Now it is said,
 * and the segment is kept aside as NUM.damaged; the other segments'
 * messages are all there. */
static void test_damaged_segment_kept_aside(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "X1", "x\r\n", 3, 1), QUEUE_OK);
	reopen(f);
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "Y%d", i);
		assert_int_equal(put(f, id, "y\r\n", 3, 1), QUEUE_OK);
	}
	reopen(f);
	assert_int_equal(put(f, "Z1", "z\r\n", 3, 1), QUEUE_OK);
	queue_close(f->q);
	char p[256];
	snprintf(p, sizeof(p), "%s/journal/%016x", f->qdir, 2);
	int fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, 20), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, 20), 1);
	close(fd);
	/* one kept aside by an earlier run, when numbers were the same: kept */
	char aside[300];
	snprintf(aside, sizeof(aside), "%s.damaged", p);
	FILE *old = fopen(aside, "w");
	assert_non_null(old);
	fputs("earlier", old);
	fclose(old);
	f->q = open_q(f);
	assert_non_null(f->q);
	assert_int_equal(queue_size(f->q), 2); /* X1 and Z1: Y0..Y4 cannot be read */
	struct stat sb;
	assert_int_equal(stat(aside, &sb), 0);
	assert_int_equal(sb.st_size, 7);
	char jdir[256];
	snprintf(jdir, sizeof(jdir), "%s/journal", f->qdir);
	DIR *d = opendir(jdir);
	assert_non_null(d);
	struct dirent *de;
	size_t kept = 0;
	while ((de = readdir(d)) != NULL)
		kept += strncmp(de->d_name, "0000000000000002.damaged.", 25) == 0;
	closedir(d);
	assert_int_equal(kept, 1);
	reopen(f); /* not read again, and still there */
	assert_int_equal(queue_size(f->q), 2);
	assert_int_equal(stat(aside, &sb), 0);
}

/* A spill message's file cannot be opened at start for a passing reason
 * (an I/O error): it was taken for half-received, dropped and its file
 * unlinked (a review found it). Now the start fails, and the next one
 * delivers it. */
static void test_unreadable_spill_file_fails_the_start(void **state)
{
	struct fx *f = *state;
	size_t len = QUEUE_INLINE_MAX + 100;
	char *body = body_of(len);
	assert_int_equal(put(f, "SP1", body, len, 1), QUEUE_OK);
	queue_close(f->q);
	fault_once(F_OPEN_READ, EIO);
	f->q = open_q(f);
	assert_null(f->q);
	fault_clear();
	f->q = open_q(f);
	assert_non_null(f->q);
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	drain(f, (uint64_t)time(NULL), &rp, SIZE_MAX);
	size_t got_len;
	char *got = delivered_id(f, "a", "SP1", &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	free(got);
	free(body);
}

/* Puts the messages so far in segment 1 behind a later segment, as the
 * oldest one that maintenance may move forward; head: segment 1's path. */
static void behind_a_later_segment(struct fx *f, char *head, size_t size)
{
	reopen(f);
	assert_int_equal(put(f, "S0", "s\r\n", 3, 1), QUEUE_OK);
	reopen(f);
	snprintf(head, size, "%s/journal/%016x", f->qdir, 1);
	struct stat sb;
	assert_int_equal(stat(head, &sb), 0);
}

/* Moving the oldest segment's messages forward brings those of the index
 * into memory one by one: each due one stayed, past the active limit (a
 * review saw 100,000 in memory with a limit of 1,000). */
static void test_relocation_keeps_the_active_limit(void **state)
{
	struct fx *f = *state;
	open_small(f, 2);
	put_n(f, "R", 40, 1, 2);
	char head[300];
	behind_a_later_segment(f, head, sizeof(head));
	struct stat sb;
	atomic_store(&f->q->low_space, true); /* move them forward now */
	queue_maintain(f->q);
	assert_true(queue_in_memory(f->q) <= 2);
	assert_int_equal(queue_size(f->q), 41);
	assert_int_equal(stat(head, &sb), -1); /* the head segment went */
	struct reports rp = {0};
	assert_int_equal(drain(f, (uint64_t)time(NULL), &rp, 2), 41);
}

/* Moving a head segment of many messages forward lets the queue's lock go
 * between batches (sessions' appends waited for the whole move: 0.8 s for
 * 100,000 in review), and loses none: in memory and in the index, every
 * one is moved, the head goes, and each is delivered once. */
static void test_move_lets_the_lock_go_between_batches(void **state)
{
	struct fx *f = *state;
	int n = 5 * QUEUE_MOVE_BATCH + 7;
	open_small(f, QUEUE_MOVE_BATCH + 10); /* some in memory, most in the index */
	put_n(f, "M", n, 1, QUEUE_MOVE_BATCH + 10);
	char head[300];
	behind_a_later_segment(f, head, sizeof(head));
	struct stat sb;
	atomic_store(&f->q->low_space, true); /* move them forward now */
	queue_maintain(f->q);
	assert_true(f->q->move_yields >= (uint64_t)(n / QUEUE_MOVE_BATCH));
	assert_int_equal(stat(head, &sb), -1);
	assert_int_equal(queue_size(f->q), (size_t)n + 1);
	reopen(f); /* and the copies are what a restart finds */
	assert_int_equal(queue_size(f->q), (size_t)n + 1);
	struct reports rp = {0};
	assert_int_equal(drain(f, (uint64_t)time(NULL), &rp, QUEUE_MOVE_BATCH + 10), (size_t)n + 1);
	assert_int_equal(rp.delivered, n + 1);
}

/* A message whose record cannot be read back for delivery is deferred
 * with the system's reason, and its report names the recipient by its
 * place, not as "<>" (a black-box test saw to="<>" and no reason). */
static void test_unreadable_record_deferred_with_its_reason(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "UR1", "x\r\n", 3, 2), QUEUE_OK);
	char seg[300];
	snprintf(seg, sizeof(seg), "%s/journal/%016x", f->qdir, 1);
	assert_int_equal(truncate(seg, 0), 0);
	struct reports rp = {0};
	assert_int_equal(run_due(f, (uint64_t)time(NULL), &rp), 1);
	assert_int_equal(rp.deferred, 2);
	assert_string_equal(rp.last_rcpt, "#2");
	assert_non_null(strstr(rp.last, "cannot read the queued message: "));
}

/* Maintenance moves a held message forward out of the oldest segment, and
 * the fdatasync that should make the copy durable fails (once: the next one
 * "succeeds", as Linux's does). The next maintenance removed the oldest
 * segment, and with the copy's pages lost the message was gone after a
 * restart (a review found it). Now the unsure copy is made again, in a new
 * segment, and flushed before the original may go. */
static void test_failed_sync_of_a_moved_copy(void **state)
{
	struct fx *f = *state;
	assert_int_equal(put(f, "KEEP", "k\r\n", 3, 1), QUEUE_OK);
	struct buf out;
	buf_init(&out, 4096);
	ctl(f, "hold KEEP", 0, &out);
	char head[300];
	behind_a_later_segment(f, head, sizeof(head));
	struct stat sb;
	pthread_mutex_lock(&f->q->mu);
	uint64_t seg = f->q->segs[f->q->nsegs - 1].num, before = f->q->segs[f->q->nsegs - 1].size;
	pthread_mutex_unlock(&f->q->mu);
	atomic_store(&f->q->low_space, true); /* move it forward now */
	fault_once(F_FDATASYNC, EIO);
	queue_maintain(f->q);
	assert_int_equal(stat(head, &sb), 0); /* the copy is not durable: it stays */
	pthread_mutex_lock(&f->q->mu);
	uint64_t after = queue_seg(f->q, seg)->size;
	pthread_mutex_unlock(&f->q->mu);
	assert_true(after > before);
	atomic_store(&f->q->low_space, true);
	queue_maintain(f->q); /* a minute later: copied again, flushed, then it goes */
	assert_int_equal(stat(head, &sb), -1);
	queue_close(f->q);
	f->q = NULL;
	/* the pages whose writeback failed never reached the disk */
	char p[300];
	snprintf(p, sizeof(p), "%s/journal/%016llx", f->qdir, (unsigned long long)seg);
	int fd = open(p, O_RDWR); /* gone already when nothing in it was live */
	static char zeros[65536];
	assert_true(after - before <= sizeof(zeros));
	if (fd >= 0) {
		assert_int_equal(pwrite(fd, zeros, after - before, (off_t)before),
				 (ssize_t)(after - before));
		close(fd);
	}
	f->q = open_q(f);
	assert_non_null(f->q);
	assert_int_equal(queue_size(f->q), 2);
	assert_non_null(strstr(ctl(f, "list", 0, &out), "KEEP"));
	buf_fini(&out);
}

/* A spill file of the right size whose content is not what its record
 * says (a message whose flush never completed: it never got 250): the start
 * only looks at sizes now, and the delivery, which checks the CRC as it
 * reads, delivers nothing of it and drops it. */
static void test_spill_content_checked_at_delivery(void **state)
{
	struct fx *f = *state;
	size_t len = QUEUE_INLINE_MAX + 100;
	char *body = body_of(len);
	assert_int_equal(put(f, "SPB", body, len, 2), QUEUE_OK);
	free(body);
	queue_close(f->q);
	char sp[300];
	snprintf(sp, sizeof(sp), "%s/spill/SPB", f->qdir);
	int fd = open(sp, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Z", 1, 1000), 1);
	close(fd);
	f->q = open_q(f);
	assert_non_null(f->q);
	assert_int_equal(queue_size(f->q), 1);
	struct reports rp = {0};
	assert_int_equal(run_due(f, (uint64_t)time(NULL), &rp), 1);
	assert_int_equal(rp.delivered, 0);
	assert_non_null(strstr(rp.last, "does not match its record"));
	assert_int_equal(files_of(f, "a"), 0);
	assert_int_equal(files_of(f, "b"), 0);
	assert_int_equal(queue_size(f->q), 0);
	reopen(f);
	assert_int_equal(queue_size(f->q), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inline_message_survives_and_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_message_spills_and_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_sizes_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_append_at_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_received_spill_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spill_not_matching_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spill_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spill_write_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spill_short_write_then_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_journal_pwrite_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_journal_short_pwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spill_fdatasync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_journal_fdatasync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_flush_waits_for_the_one_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spill_dir_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_queue_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redelivery_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redelivery_over_a_stale_tmp_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintain_during_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_records_follow_one_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_sync_redelivers_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_sync_defers_and_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zeros_ahead_of_the_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_zeros_when_space_is_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_recovery_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_wait_in_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_stays_in_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_keeps_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_bounds_its_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_broken_mailbox_holds_back_no_other, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alone_one_file_per_mailbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restarts_leave_no_empty_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_descriptors_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_failure_keeps_the_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ack_after_a_failed_fdatasync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_stops_when_the_index_fails_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_segment_kept_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_spill_file_fails_the_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relocation_keeps_the_active_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_lets_the_lock_go_between_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_of_a_message_under_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_not_written_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_record_deferred_with_its_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_sync_of_a_moved_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spill_content_checked_at_delivery, setup, teardown),
		cmocka_unit_test(test_idmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
