/* store/maildir.c: mailbox mapping, durable delivery, hard links, bounded
 * writes, fault injection of every filesystem step (nothing may be left
 * behind), grouped directory fsyncs under threads, deliveries whose flush
 * is deferred to one store_sync, and a recovered message replacing its
 * earlier copy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/backend.h"
#include "store/maildir.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- fault-injecting filesystem ops ---- */

enum fault_op { F_NONE, F_OPEN_CREAT, F_WRITE, F_FSYNC_FILE, F_FSYNC_DIR, F_LINK, F_RENAME };

static struct {
	enum fault_op op;
	int nth; /* fail the nth call of op and every later one */
	int err;
	int calls;
	size_t short_write; /* >0: write at most this much per call */
	bool eintr_once;    /* the next write fails with EINTR */
	bool no_tmpfile;    /* open(O_TMPFILE) fails with EOPNOTSUPP */
} g_fault;

static atomic_long g_dir_fsyncs, g_file_fsyncs, g_writes;
static atomic_size_t g_max_write;

static bool trip(enum fault_op op)
{
	if (g_fault.op != op)
		return false;
	if (++g_fault.calls < g_fault.nth)
		return false;
	errno = g_fault.err;
	return true;
}

static int t_open(const char *path, int flags, int mode)
{
	bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
	if (creates && trip(F_OPEN_CREAT))
		return -1;
	if ((flags & O_TMPFILE) == O_TMPFILE && g_fault.no_tmpfile) {
		errno = EOPNOTSUPP; /* as on a filesystem without O_TMPFILE */
		return -1;
	}
	return open(path, flags, (mode_t)mode);
}

static long t_write(int fd, const void *p, size_t n)
{
	if (trip(F_WRITE))
		return -1;
	if (g_fault.eintr_once) {
		g_fault.eintr_once = false;
		errno = EINTR;
		return -1;
	}
	if (g_fault.short_write && n > g_fault.short_write)
		n = g_fault.short_write;
	atomic_fetch_add(&g_writes, 1);
	size_t max = atomic_load(&g_max_write);
	while (n > max && !atomic_compare_exchange_weak(&g_max_write, &max, n))
		;
	return (long)write(fd, p, n);
}

/* the inodes of the directories fsynced, the latest DIR_SEEN */
#define DIR_SEEN 64
static ino_t g_dirs_synced[DIR_SEEN];
static atomic_long g_dir_seen;

static bool dir_synced(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	long n = atomic_load(&g_dir_seen);
	for (long i = 0; i < n && i < DIR_SEEN; i++)
		if (g_dirs_synced[i] == sb.st_ino)
			return true;
	return false;
}

static int t_fsync(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return -1;
	if (S_ISDIR(sb.st_mode)) {
		atomic_fetch_add(&g_dir_fsyncs, 1);
		g_dirs_synced[atomic_fetch_add(&g_dir_seen, 1) % DIR_SEEN] = sb.st_ino;
		if (trip(F_FSYNC_DIR))
			return -1;
	} else {
		atomic_fetch_add(&g_file_fsyncs, 1);
		if (trip(F_FSYNC_FILE))
			return -1;
	}
	return fsync(fd);
}

static atomic_long g_renames, g_mkdirs;

static int t_rename(const char *from, const char *to)
{
	atomic_fetch_add(&g_renames, 1);
	if (trip(F_RENAME))
		return -1;
	return rename(from, to);
}

static int t_link(const char *from, const char *to)
{
	if (trip(F_LINK))
		return -1;
	return linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
}

static int t_mkdir(const char *path, int mode)
{
	atomic_fetch_add(&g_mkdirs, 1);
	return mkdir(path, (mode_t)mode);
}

static atomic_long g_syncfs;

static int t_syncfs(int fd)
{
	atomic_fetch_add(&g_syncfs, 1);
	return syncfs(fd);
}

static const struct store_fs_ops t_ops = {
	.open = t_open,
	.write = t_write,
	.fsync = t_fsync,
	.rename = t_rename,
	.link = t_link,
	.mkdir = t_mkdir,
	.syncfs = t_syncfs,
};

static void fault_set(enum fault_op op, int nth, int err)
{
	memset(&g_fault, 0, sizeof g_fault);
	g_fault.op = op;
	g_fault.nth = nth;
	g_fault.err = err;
}

static void counters_reset(void)
{
	atomic_store(&g_dir_fsyncs, 0);
	atomic_store(&g_file_fsyncs, 0);
	atomic_store(&g_writes, 0);
	atomic_store(&g_max_write, 0);
	atomic_store(&g_renames, 0);
	atomic_store(&g_mkdirs, 0);
}

/* ---- the store API in the shape these tests use ---- */

static struct store *mk_store(enum store_kind kind, const char *root,
			      const struct store_fs_ops *ops, char *err, size_t errlen)
{
	struct store_config cfg = {.kind = kind, .maildir = root, .ops = ops};
	return store_new(&cfg, err, errlen);
}

static struct store_msg *begin(struct store *st, const char *qid, const char *const *rcpts,
			       size_t n, enum store_status *status)
{
	struct store_envelope env = {
		.queue_id = qid, .sender = "s@example.org", .rcpts = rcpts, .nrcpts = n};
	struct store_result res;
	struct store_msg *m = store_msg_begin(st, &env, &res);
	*status = res.status;
	return m;
}

/* ---- fixture: a fresh temporary directory per test ---- */

struct fx {
	char dir[64];
	char root[128];
	struct store *st;
};

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	(void)snprintf(fx->dir, sizeof fx->dir, "/tmp/test_maildir.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	int r = snprintf(fx->root, sizeof fx->root, "%s/mail", fx->dir);
	assert_true(r > 0 && (size_t)r < sizeof fx->root);
	fault_set(F_NONE, 0, 0);
	counters_reset();
	char err[256];
	fx->st = mk_store(STORE_MAILDIR, fx->root, &t_ops, err, sizeof err);
	assert_non_null(fx->st);
	/* the new root's entry in fx->dir was made durable */
	assert_int_equal(atomic_load(&g_dir_fsyncs), 1);
	counters_reset();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	store_free(fx->st);
	(void)nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

static size_t g_nfiles;

static int count_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	if (type == FTW_F)
		g_nfiles++;
	return 0;
}

/* Regular files anywhere under dir (every tmp/, new/ and cur/). */
static size_t count_files(const char *dir)
{
	g_nfiles = 0;
	(void)nftw(dir, count_entry, 16, FTW_PHYS);
	return g_nfiles;
}

/* The only file in dir (asserted), as a full path. */
static void only_file(const char *dir, char *out, size_t outlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = snprintf(out, outlen, "%s/%s", dir, de->d_name);
		assert_true(r > 0 && (size_t)r < outlen);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void sub(char *out, size_t outlen, const char *root, const char *rest)
{
	int r = snprintf(out, outlen, "%s/%s", root, rest);
	assert_true(r > 0 && (size_t)r < outlen);
}

static void expect_map(const struct fx *fx, const char *addr, const char *rel)
{
	char got[PATH_MAX], want[PATH_MAX];
	sub(want, sizeof want, fx->root, rel);
	assert_true(maildir_mailbox_path(fx->root, addr, got, sizeof got));
	assert_string_equal(got, want);
}

/* ---- mapping ---- */

static void test_mapping(void **state)
{
	struct fx *fx = *state;
	char out[PATH_MAX];

	expect_map(fx, "User@Example.COM", "example.com/user");
	expect_map(fx, "a.b@x.org", "x.org/a.b");
	expect_map(fx, "a/b@x.org", "x.org/a%2Fb");
	expect_map(fx, ".hidden@x.org", "x.org/%2Ehidden");
	expect_map(fx, "..@x.org", "x.org/%2E.");
	expect_map(fx, "100%@x.org", "x.org/100%25");
	expect_map(fx, "%2Fa@x.org", "x.org/%252fa");
	expect_map(fx, "a\x01" "b\x7f@x.org", "x.org/a%01b%7F");
	expect_map(fx, "u@.evil", "%2Eevil/u");
	expect_map(fx, "u@a/../b", "a%2F..%2Fb/u");
	expect_map(fx, "\"a@b\"@x.org", "x.org/\"a@b\"");
	/* RFC 5321 §4.1.2: quotes that are not needed name the same mailbox */
	expect_map(fx, "\"alice\"@localhost", "localhost/alice");
	expect_map(fx, "\"Al\\ice\"@x.org.", "x.org/alice");
	/* quoted local parts that need their quotes cannot leave the root */
	expect_map(fx, "\"../x\"@x.org", "x.org/\"..%2Fx\"");
	expect_map(fx, "\"..\"@x.org", "x.org/\"..\"");
	expect_map(fx, "\".x\"@x.org", "x.org/\".x\"");
	expect_map(fx, "\"a/b\"@x.org", "x.org/a%2Fb");
	expect_map(fx, "\"a/../../b\"@x.org", "x.org/\"a%2F..%2F..%2Fb\"");
	/* SMTPUTF8: only ASCII is folded, UTF-8 octets stay */
	expect_map(fx, "\xc3\x9cNI@B\xc3\xbc.DE", "b\xc3\xbc.de/\xc3\x9cni");
	expect_map(fx, "postmaster", "localhost/postmaster");
	expect_map(fx, "PostMaster", "localhost/postmaster");
	expect_map(fx, "Postmaster@Example.com", "example.com/postmaster");

	assert_false(maildir_mailbox_path(fx->root, "@x.org", out, sizeof out));
	assert_false(maildir_mailbox_path(fx->root, "user@", out, sizeof out));
	assert_false(maildir_mailbox_path(fx->root, "user", out, sizeof out));
	assert_false(maildir_mailbox_path(fx->root, "", out, sizeof out));
	assert_false(maildir_mailbox_path(fx->root, "a@b", out, strlen(fx->root) + 4));
	assert_true(maildir_mailbox_path(fx->root, "a@b", out, strlen(fx->root) + 5));
	/* a component longer than NAME_MAX once encoded */
	char big[200];
	memset(big, '/', 99);
	(void)snprintf(big + 99, sizeof big - 99, "@x.org");
	assert_false(maildir_mailbox_path(fx->root, big, out, sizeof out));

	/* a trailing '/' on the root is not doubled */
	char err[256], root2[160];
	sub(root2, sizeof root2, fx->root, "");
	struct store *st2 = mk_store(STORE_MAILDIR, root2, NULL, err, sizeof err);
	assert_non_null(st2);
	assert_true(maildir_mailbox_path(root2, "a@b", out, sizeof out));
	sub(root2, sizeof root2, fx->root, "b/a");
	assert_string_equal(out, root2);
	store_free(st2);
}

/* ---- delivery ---- */

static void test_deliver_one(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"Alice@Example.ORG"};
	const char msg1[] = "Return-Path: <a@b>\r\nSubject: hi\r\n\r\n";
	const char msg2[] = "body\r\n\0binary\xff\r\n";
	/* stored with LF line ends (SPEC §5) */
	const char want[] = "Return-Path: <a@b>\nSubject: hi\n\nbody\n\0binary\xff\n";
	enum store_status s;
	char p[PATH_MAX], f[PATH_MAX];
	struct stat sb;

	struct store_msg *m = begin(fx->st, "Q1:a/b", rcpt, 1, &s);
	assert_non_null(m);
	assert_int_equal(s, STORE_OK);
	assert_int_equal(store_msg_write(m, msg1, sizeof msg1 - 1), STORE_OK);
	assert_int_equal(store_msg_write(m, msg2, sizeof msg2 - 1), STORE_OK);
	assert_int_equal(store_msg_write(m, "", 0), STORE_OK);
	/* the spool has no name while it fills: a crash now leaves nothing */
	sub(p, sizeof p, fx->root, "example.org/alice/tmp");
	assert_int_equal(entries(p), 0);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK); /* idempotent */
	store_msg_free(m);

	assert_int_equal(entries(p), 0);
	sub(p, sizeof p, fx->root, "example.org/alice/cur");
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	sub(p, sizeof p, fx->root, "example.org/alice/new");
	only_file(p, f, sizeof f);
	/* "<seconds>.<queue id, '/' and ':' escaped>.<host>" */
	assert_non_null(strstr(f, ".Q1\\072a\\057b."));
	assert_int_equal(stat(f, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	size_t len;
	char *got = slurp(f, &len);
	assert_int_equal(len, sizeof want - 1);
	assert_memory_equal(got, want, sizeof want - 1);
	free(got);
	assert_int_equal(count_files(fx->root), 1);
	/* the file; new/; and the fresh mailbox: alice (tmp, new, cur),
	 * example.org (alice) and the root (example.org) */
	assert_int_equal(atomic_load(&g_file_fsyncs), 1);
	assert_int_equal(atomic_load(&g_dir_fsyncs), 4);

	/* the mailbox is durable now: the next message costs one of each,
	 * and no mkdir (the mailbox exists) and no rename (the unnamed spool
	 * is linked straight into new/) */
	counters_reset();
	m = begin(fx->st, "Q1b", rcpt, 1, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	store_msg_free(m);
	assert_int_equal(atomic_load(&g_file_fsyncs), 1);
	assert_int_equal(atomic_load(&g_dir_fsyncs), 1);
	assert_int_equal(atomic_load(&g_mkdirs), 0);
	assert_int_equal(atomic_load(&g_renames), 0);
}

static void test_free_without_commit(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"a@x.org", "b@x.org"};
	enum store_status s;

	struct store_msg *m = begin(fx->st, "Q2", rcpt, 2, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_write(m, "abc", 3), STORE_OK);
	assert_int_equal(count_files(fx->root), 0); /* the spool is unnamed */
	store_msg_free(m);
	assert_int_equal(count_files(fx->root), 0);

	/* where O_TMPFILE is missing, the named spool is removed as well */
	g_fault.no_tmpfile = true;
	m = begin(fx->st, "Q2b", rcpt, 2, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_write(m, "abc", 3), STORE_OK);
	assert_int_equal(count_files(fx->root), 1);
	store_msg_free(m);
	assert_int_equal(count_files(fx->root), 0);
}

static void test_three_rcpts_hard_links(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"Alice@example.org", "bob@example.org", "alice@EXAMPLE.org"};
	enum store_status s;
	char p[PATH_MAX], fa[PATH_MAX], fb[PATH_MAX];
	struct stat sa, sbb;

	struct store_msg *m = begin(fx->st, "Q3", rcpt, 3, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_write(m, "hello\r\n", 7), STORE_OK);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	store_msg_free(m);

	assert_int_equal(count_files(fx->root), 2);
	sub(p, sizeof p, fx->root, "example.org/alice/new");
	only_file(p, fa, sizeof fa);
	sub(p, sizeof p, fx->root, "example.org/bob/new");
	only_file(p, fb, sizeof fb);
	assert_int_equal(stat(fa, &sa), 0);
	assert_int_equal(stat(fb, &sbb), 0);
	assert_int_equal(sa.st_ino, sbb.st_ino);
	assert_int_equal(sa.st_nlink, 2);
	assert_int_equal(sa.st_size, 6); /* "hello\n" */
}

static void fill(char *p, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((off + i) * 7 % 251);
}

/* Write size octets in 1000-octet pieces and commit to one mailbox. */
static enum store_status deliver(struct fx *fx, const char *qid, const char *const *rcpt, size_t n,
				 size_t size, enum store_status *wst)
{
	enum store_status s;
	char piece[1000];

	struct store_msg *m = begin(fx->st, qid, rcpt, n, &s);
	if (!m)
		return s;
	*wst = STORE_OK;
	for (size_t off = 0; off < size; off += sizeof piece) {
		size_t k = size - off < sizeof piece ? size - off : sizeof piece;
		fill(piece, k, off);
		s = store_msg_write(m, piece, k);
		if (*wst == STORE_OK)
			*wst = s;
		else
			assert_int_equal(s, *wst); /* sticky */
	}
	s = store_msg_commit(m, NULL);
	store_msg_free(m);
	return s;
}

static void check_big(struct fx *fx, size_t size)
{
	char p[PATH_MAX], f[PATH_MAX];
	size_t len;

	sub(p, sizeof p, fx->root, "x.org/big/new");
	only_file(p, f, sizeof f);
	char *got = slurp(f, &len);
	char *want = malloc(size);
	assert_non_null(want);
	fill(want, size, 0);
	assert_int_equal(len, size);
	assert_memory_equal(got, want, size);
	free(got);
	free(want);
}

static void test_one_mib(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"big@x.org"};
	enum store_status w;
	const size_t size = 1024 * 1024;

	assert_int_equal(deliver(fx, "Q4", rcpt, 1, size, &w), STORE_OK);
	assert_int_equal(w, STORE_OK);
	check_big(fx, size);
	/* whole 64 KiB chunks: memory bounded, few syscalls */
	assert_int_equal(atomic_load(&g_max_write), 64 * 1024);
	assert_int_equal(atomic_load(&g_writes), 16);
}

static void test_short_writes_and_eintr(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"big@x.org"};
	enum store_status w;
	const size_t size = 300 * 1000 + 17;

	g_fault.short_write = 4093;
	g_fault.eintr_once = true;
	assert_int_equal(deliver(fx, "Q5", rcpt, 1, size, &w), STORE_OK);
	assert_false(g_fault.eintr_once);
	check_big(fx, size);
}

/* ---- fault injection: each step fails, nothing may remain ---- */

struct fault_case {
	enum fault_op op;
	int nth;
	int err;
	size_t nrcpt;
	size_t size;
	enum store_status want;
	enum store_status want_write; /* status of the writes */
	bool named_only; /* a step of the classic way only (the named spool) */
};

static void run_fault(struct fx *fx, const struct fault_case *c)
{
	/* fresh mailboxes for each round, as some faults hit their creation */
	const char *rounds[2][3] = {{"one@x.org", "two@y.org", "three@x.org"},
				    {"one@v.org", "two@w.org", "three@v.org"}};
	enum store_status w;

	/* with the unnamed spool, then with the named one (no O_TMPFILE) */
	for (size_t named = c->named_only; named < 2; named++) {
		const char *const *rcpt = rounds[named];
		size_t before = (named - c->named_only) * c->nrcpt;
		fault_set(c->op, c->nth, c->err);
		g_fault.no_tmpfile = named;
		assert_int_equal(deliver(fx, named ? "QF2" : "QF", rcpt, c->nrcpt, c->size, &w),
				 c->want);
		assert_int_equal(w, c->want_write);
		assert_true(g_fault.calls >= c->nth); /* the fault was reached */
		assert_int_equal(count_files(fx->root), before);

		/* the store still works afterwards */
		fault_set(F_NONE, 0, 0);
		g_fault.no_tmpfile = named;
		assert_int_equal(deliver(fx, named ? "QG2" : "QG", rcpt, c->nrcpt, c->size, &w),
				 STORE_OK);
		assert_int_equal(count_files(fx->root), before + c->nrcpt);
	}
}

/* A mailbox's directories removed behind the store's back (or a part of
 * them) are made again by the next delivery, with either spool. */
static void test_mailbox_made_again(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"gone@x.org", "other@y.org"};
	static const char *const parts[] = {"x.org/gone", "x.org/gone/tmp", "y.org/other/new",
					    "y.org/other"};
	char p[PATH_MAX];
	enum store_status w;

	for (size_t named = 0; named < 2; named++) {
		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
			g_fault.no_tmpfile = named;
			assert_int_equal(deliver(fx, "QM", rcpt, 2, 100, &w), STORE_OK);
			sub(p, sizeof p, fx->root, parts[i]);
			(void)nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			counters_reset();
			assert_int_equal(deliver(fx, "QN", rcpt, 2, 100, &w), STORE_OK);
			assert_true(atomic_load(&g_mkdirs) > 0);
			/* made durable: its entry, and the directories made */
			assert_true(atomic_load(&g_dir_fsyncs) >= 3);
			sub(p, sizeof p, fx->root, "x.org/gone/new");
			assert_true(entries(p) >= 1);
			sub(p, sizeof p, fx->root, "y.org/other/new");
			assert_true(entries(p) >= 1);
			sub(p, sizeof p, fx->root, "x.org/gone/cur");
			assert_int_equal(entries(p), 0);
			sub(p, sizeof p, fx->root, "x.org/gone/tmp");
			assert_int_equal(entries(p), 0);
		}
	}
}

/* A file of the very name already in new/ (the same queue id in the same
 * second): the unnamed spool cannot be linked there, and the classic way
 * renames the message over it. */
static void test_same_name_in_new(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"same@x.org"};
	char host[256], p[PATH_MAX], dir[PATH_MAX];
	enum store_status w;

	assert_int_equal(deliver(fx, "QS", rcpt, 1, 10, &w), STORE_OK);
	assert_int_equal(gethostname(host, sizeof host), 0);
	sub(dir, sizeof dir, fx->root, "x.org/same/new");
	time_t now = time(NULL);
	for (time_t t = now; t <= now + 1; t++) { /* begin runs in one of them */
		int r = snprintf(p, sizeof p, "%s/%lld.QX.%s", dir, (long long)t, host);
		assert_true(r > 0 && (size_t)r < sizeof p);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("old", f);
		fclose(f);
	}
	counters_reset();
	assert_int_equal(deliver(fx, "QX", rcpt, 1, 100, &w), STORE_OK);
	assert_int_equal(atomic_load(&g_renames), 1);
	assert_int_equal(entries(dir), 3);
	size_t replaced = 0;
	for (time_t t = now; t <= now + 1; t++) {
		int r = snprintf(p, sizeof p, "%s/%lld.QX.%s", dir, (long long)t, host);
		assert_true(r > 0 && (size_t)r < sizeof p);
		size_t len;
		char *got = slurp(p, &len);
		replaced += len == 100;
		free(got);
	}
	assert_int_equal(replaced, 1);
	sub(p, sizeof p, fx->root, "x.org/same/tmp");
	assert_int_equal(entries(p), 0);
}

/* Line ends: CRLF becomes LF wherever the writes split it; a CR on its own
 * stays (the session never sends one, but nothing is lost if it did). */
static void test_lf_line_ends(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"lf@x.org"};
	static const char *const pieces[] = {"Subject: a\r", "\nTo: b\r\n\r", "\n", "one\rtwo\r\n",
					     "\r", "\r\n", "last\r"};
	const char want[] = "Subject: a\nTo: b\n\none\rtwo\n\r\nlast\r";
	enum store_status s;
	char p[PATH_MAX], f[PATH_MAX];
	size_t len;

	struct store_msg *m = begin(fx->st, "QL", rcpt, 1, &s);
	assert_non_null(m);
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
		assert_int_equal(store_msg_write(m, pieces[i], strlen(pieces[i])), STORE_OK);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	store_msg_free(m);
	sub(p, sizeof p, fx->root, "x.org/lf/new");
	only_file(p, f, sizeof f);
	char *got = slurp(f, &len);
	assert_int_equal(len, sizeof want - 1);
	assert_memory_equal(got, want, len);
	free(got);
}

/* The queue asks after a crash whether a message is in a mailbox already. */
static void test_delivered(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"a@x.org", "\"b\"@x.org"};
	enum store_status w;

	assert_int_equal(deliver(fx, "Q1:7", rcpt, 2, 10, &w), STORE_OK);
	assert_true(store_delivered(fx->st, "a@x.org", "Q1:7"));
	assert_true(store_delivered(fx->st, "A@X.ORG", "Q1:7"));
	assert_true(store_delivered(fx->st, "b@x.org", "Q1:7"));
	assert_false(store_delivered(fx->st, "a@x.org", "Q1"));
	assert_false(store_delivered(fx->st, "a@x.org", "1:7"));
	assert_false(store_delivered(fx->st, "c@x.org", "Q1:7"));
	/* read and moved to cur/ by a mail reader: still delivered */
	char p[PATH_MAX], f[PATH_MAX], to[PATH_MAX + 8];
	sub(p, sizeof p, fx->root, "x.org/a/new");
	only_file(p, f, sizeof f);
	(void)snprintf(to, sizeof to, "%s:2,S", f);
	memcpy(to + strlen(p) - 3, "cur", 3);
	assert_int_equal(rename(f, to), 0);
	assert_true(store_delivered(fx->st, "a@x.org", "Q1:7"));
}

/* Store errors name the step, the path and the errno text (for the log). */
static void test_error_text(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"full@x.org", "other@y.org"};
	char big[70 * 1024];
	struct store_result res[2];
	enum store_status s;

	memset(big, 'b', sizeof big);
	fault_set(F_WRITE, 1, ENOSPC);
	struct store_msg *m = begin(fx->st, "QE", rcpt, 2, &s);
	assert_non_null(m);
	assert_string_equal(store_msg_error(m), "");
	assert_int_equal(store_msg_write(m, big, sizeof big), STORE_FULL);
	assert_non_null(strstr(store_msg_error(m), "write "));
	assert_non_null(strstr(store_msg_error(m), strerror(ENOSPC)));
	/* the unnamed spool is named by where it is, not by /proc/self/fd */
	assert_non_null(strstr(store_msg_error(m), "/x.org/full/tmp (unnamed spool)"));
	assert_null(strstr(store_msg_error(m), "/proc/"));
	assert_int_equal(store_msg_commit(m, res), STORE_FULL);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(res[i].status, STORE_FULL);
		assert_string_equal(res[i].text, store_msg_error(m));
	}
	store_msg_free(m);

	fault_set(F_RENAME, 1, EIO);
	g_fault.no_tmpfile = true; /* a named spool is renamed into new/ */
	m = begin(fx->st, "QE2", rcpt, 2, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_commit(m, res), STORE_IOERR);
	assert_non_null(strstr(res[0].text, "rename to "));
	assert_non_null(strstr(res[0].text, fx->root));
	assert_non_null(strstr(res[0].text, "/new/"));
	assert_non_null(strstr(res[0].text, strerror(EIO)));
	store_msg_free(m);

	/* begin: the directory it could not make */
	fault_set(F_NONE, 0, 0);
	char p[PATH_MAX];
	sub(p, sizeof p, fx->root, "z.org");
	int fd = open(p, O_CREAT | O_WRONLY, 0600); /* a file where the domain goes */
	assert_true(fd >= 0);
	close(fd);
	const char *blocked[] = {"u@z.org"};
	struct store_result r;
	struct store_envelope env = {
		.queue_id = "QE3", .sender = "", .rcpts = blocked, .nrcpts = 1};
	assert_null(store_msg_begin(fx->st, &env, &r));
	assert_int_equal(r.status, STORE_IOERR);
	assert_non_null(strstr(r.text, "mkdir "));
	assert_non_null(strstr(r.text, p));
	assert_non_null(strstr(r.text, strerror(ENOTDIR)));
	unlink(p);
}

static void test_fault_write_enospc_at_commit(void **state)
{
	struct fault_case c = {F_WRITE, 1, ENOSPC, 1, 100, STORE_FULL, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_write_eio_midway(void **state)
{
	/* the 2nd 64 KiB chunk fails inside store_msg_write; later writes repeat it */
	struct fault_case c = {F_WRITE, 2, EIO, 2, 300 * 1000, STORE_IOERR, STORE_IOERR, false};
	run_fault(*state, &c);
}

static void test_fault_write_edquot(void **state)
{
	struct fault_case c = {F_WRITE, 1, EDQUOT, 1, 100 * 1000, STORE_FULL, STORE_FULL, false};
	run_fault(*state, &c);
}

static void test_fault_fsync_file(void **state)
{
	struct fault_case c = {F_FSYNC_FILE, 1, EIO, 2, 1000, STORE_IOERR, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_link(void **state)
{
	/* the second link fails after the first made a file in two@y.org */
	struct fault_case c = {F_LINK, 2, EIO, 3, 1000, STORE_IOERR, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_link_enospc(void **state)
{
	struct fault_case c = {F_LINK, 1, ENOSPC, 2, 1000, STORE_FULL, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_rename_second(void **state)
{
	/* one rename into new/ succeeded before the failure: it must be undone
	 * (an unnamed spool is linked into new/, renamed nowhere) */
	struct fault_case c = {F_RENAME, 2, EIO, 2, 1000, STORE_IOERR, STORE_OK, true};
	run_fault(*state, &c);
}

static void test_fault_rename_last(void **state)
{
	struct fault_case c = {F_RENAME, 3, EIO, 3, 1000, STORE_IOERR, STORE_OK, true};
	run_fault(*state, &c);
}

static void test_fault_dir_fsync(void **state)
{
	/* every rename is done; the 2nd new/ fsync fails: both new/ entries go */
	struct fault_case c = {F_FSYNC_DIR, 2, EIO, 2, 1000, STORE_IOERR, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_dir_fsync_enospc(void **state)
{
	struct fault_case c = {F_FSYNC_DIR, 1, ENOSPC, 1, 1000, STORE_FULL, STORE_OK, false};
	run_fault(*state, &c);
}

static void test_fault_dir_fsync_fresh_chain(void **state)
{
	/* the new/ fsync passes, the fsync of the freshly made mailbox fails */
	struct fault_case c = {F_FSYNC_DIR, 2, EIO, 1, 1000, STORE_IOERR, STORE_OK, false};
	run_fault(*state, &c);
}

/* A mailbox whose first message failed is still made durable by the next. */
static void test_fresh_mailbox_synced_later(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"new@x.org"};
	enum store_status s;

	struct store_msg *m = begin(fx->st, "QA", rcpt, 1, &s);
	assert_non_null(m);
	store_msg_free(m); /* aborted: no commit */
	counters_reset();
	m = begin(fx->st, "QB", rcpt, 1, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	store_msg_free(m);
	/* new/, then new (tmp, new, cur), x.org (new), root (x.org) */
	assert_int_equal(atomic_load(&g_dir_fsyncs), 4);
	counters_reset();
	m = begin(fx->st, "QC", rcpt, 1, &s);
	assert_non_null(m);
	assert_int_equal(store_msg_commit(m, NULL), STORE_OK);
	store_msg_free(m);
	assert_int_equal(atomic_load(&g_dir_fsyncs), 1);
}

static void test_fault_open_spool(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"a@x.org"};
	enum store_status s = STORE_OK;

	fault_set(F_OPEN_CREAT, 1, ENOSPC);
	assert_null(begin(fx->st, "QO", rcpt, 1, &s));
	assert_int_equal(s, STORE_FULL);
	fault_set(F_OPEN_CREAT, 1, EACCES);
	assert_null(begin(fx->st, "QO", rcpt, 1, &s));
	assert_int_equal(s, STORE_IOERR);
	assert_int_equal(count_files(fx->root), 0);
}

static void test_exdev_copies(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"one@x.org", "two@y.org"};
	enum store_status w;
	char p[PATH_MAX], fa[PATH_MAX], fb[PATH_MAX];
	struct stat sa, sbb;
	size_t la, lb;

	/* the first link names the spool in one's own tmp/; the second crosses */
	fault_set(F_LINK, 2, EXDEV);
	assert_int_equal(deliver(fx, "QX", rcpt, 2, 200 * 1000, &w), STORE_OK);
	assert_int_equal(count_files(fx->root), 2);
	sub(p, sizeof p, fx->root, "x.org/one/new");
	only_file(p, fa, sizeof fa);
	sub(p, sizeof p, fx->root, "y.org/two/new");
	only_file(p, fb, sizeof fb);
	assert_int_equal(stat(fa, &sa), 0);
	assert_int_equal(stat(fb, &sbb), 0);
	assert_int_not_equal(sa.st_ino, sbb.st_ino);
	char *a = slurp(fa, &la), *b = slurp(fb, &lb);
	assert_int_equal(la, 200 * 1000);
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	/* the copy is fsynced as well as the spool file */
	assert_int_equal(atomic_load(&g_file_fsyncs), 2);
}

static void test_bad_begin(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = {"ok@x.org", "@nolocal"};
	enum store_status s = STORE_OK;

	assert_null(begin(fx->st, "QB", bad, 2, &s));
	assert_int_equal(s, STORE_IOERR);
	s = STORE_OK;
	assert_null(begin(fx->st, "QB", bad, 0, &s));
	assert_int_equal(s, STORE_IOERR);
	s = STORE_OK;
	assert_null(begin(fx->st, "", bad, 1, &s));
	assert_int_equal(s, STORE_IOERR);
	assert_int_equal(count_files(fx->root), 0);
}

/* ---- store_new ---- */

static void test_root_unusable(void **state)
{
	struct fx *fx = *state;
	char err[256], p[PATH_MAX];
	struct stat sb;

	/* tests run as root, which ignores permission bits: use a regular file */
	sub(p, sizeof p, fx->dir, "file");
	int fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	err[0] = '\0';
	assert_null(mk_store(STORE_MAILDIR, p, NULL, err, sizeof err));
	assert_non_null(strstr(err, "not a directory"));

	sub(p, sizeof p, fx->dir, "file/below");
	err[0] = '\0';
	assert_null(mk_store(STORE_MAILDIR, p, NULL, err, sizeof err));
	assert_non_null(strstr(err, "cannot create"));

	err[0] = '\0';
	assert_null(mk_store(STORE_MAILDIR, "", NULL, err, sizeof err));
	assert_true(err[0] != '\0');
	assert_null(mk_store(STORE_MAILDIR, NULL, NULL, err, sizeof err));

	/* a missing root is created, mode 0700 */
	sub(p, sizeof p, fx->dir, "a/b/c");
	struct store *st = mk_store(STORE_MAILDIR, p, NULL, err, sizeof err);
	assert_non_null(st);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	store_free(st);
}

/* ---- grouped directory fsync ---- */

#define THREADS 8
#define PER_THREAD 50

struct worker {
	struct store *st;
	int id;
	atomic_int *failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const char *rcpt[] = {"same@example.org"};
	char qid[32], body[64];

	for (int i = 0; i < PER_THREAD; i++) {
		enum store_status s;
		(void)snprintf(qid, sizeof qid, "T%d-%d", w->id, i);
		int n = snprintf(body, sizeof body, "Subject: %d/%d\r\n\r\nhi\r\n", w->id, i);
		struct store_msg *m = begin(w->st, qid, rcpt, 1, &s);
		if (!m) {
			atomic_fetch_add(w->failures, 1);
			continue;
		}
		if (store_msg_write(m, body, (size_t)n) != STORE_OK || store_msg_commit(m, NULL) != STORE_OK)
			atomic_fetch_add(w->failures, 1);
		store_msg_free(m);
	}
	return NULL;
}

static void test_threads_share_dir_fsync(void **state)
{
	struct fx *fx = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	atomic_int failures = 0;
	char p[PATH_MAX];
	enum store_status ws;
	const char *rcpt[] = {"same@example.org"};

	/* make the mailbox first, so only new/ fsyncs are counted below */
	assert_int_equal(deliver(fx, "warmup", rcpt, 1, 10, &ws), STORE_OK);
	counters_reset();

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){fx->st, i, &failures};
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	const long commits = THREADS * PER_THREAD;
	long dirs = atomic_load(&g_dir_fsyncs);
	assert_int_equal(atomic_load(&failures), 0);
	sub(p, sizeof p, fx->root, "example.org/same/new");
	assert_int_equal(entries(p), commits + 1);
	sub(p, sizeof p, fx->root, "example.org/same/tmp");
	assert_int_equal(entries(p), 0);
	assert_int_equal(atomic_load(&g_file_fsyncs), commits);
	/* never more than one directory fsync per commit; how many fewer depends
	 * on timing, so it is printed, not asserted */
	assert_true(dirs <= commits);
	print_message("%d threads x %d commits: %ld directory fsyncs for %ld commits\n", THREADS,
		      PER_THREAD, dirs, commits);
}

/* One message delivered with defer_sync and optionally replace. */
static void deliver_with(struct fx *fx, const char *qid, const char *const *rcpts, size_t n,
			 const char *body, bool defer_sync, bool replace)
{
	struct store_envelope env = {.queue_id = qid, .sender = "s@example.org", .rcpts = rcpts,
				     .nrcpts = n, .defer_sync = defer_sync, .replace = replace};
	struct store_result res[4];
	struct store_msg *m = store_msg_begin(fx->st, &env, res);
	assert_non_null(m);
	assert_int_equal(store_msg_write(m, body, strlen(body)), STORE_OK);
	assert_int_equal(store_msg_commit(m, res), STORE_OK);
	store_msg_free(m);
}

/* A queue delivery (defer_sync) makes no fsync at all, even of a new
 * mailbox's directories; store_sync is one syncfs for all of them. */
static void test_defer_sync(void **state)
{
	struct fx *fx = *state;
	const char *r1[] = {"a@x.org", "b@x.org"}, *r2[] = {"c@y.org"};
	atomic_store(&g_syncfs, 0);
	assert_true(store_defers_sync(fx->st));
	deliver_with(fx, "D1", r1, 2, "one\r\n", true, false);
	deliver_with(fx, "D2", r2, 1, "two\r\n", true, false);
	assert_int_equal(atomic_load(&g_file_fsyncs), 0);
	assert_int_equal(atomic_load(&g_dir_fsyncs), 0);
	assert_int_equal(atomic_load(&g_syncfs), 0);
	char p[PATH_MAX], f[PATH_MAX];
	sub(p, sizeof p, fx->root, "x.org/b/new");
	only_file(p, f, sizeof f);
	size_t len;
	char *got = slurp(f, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(got, "one\n", 4);
	free(got);
	assert_int_equal(store_sync(fx->st), 0);
	assert_int_equal(atomic_load(&g_syncfs), 1);
	/* without defer_sync: the file's and the directory's fsyncs */
	deliver_with(fx, "D3", r2, 1, "three\r\n", false, false);
	assert_int_equal(atomic_load(&g_file_fsyncs), 1);
	assert_true(atomic_load(&g_dir_fsyncs) >= 1);
	assert_int_equal(atomic_load(&g_syncfs), 1);
}

/* A recovered message (replace) is written over the file of its queue id,
 * wherever a mail reader moved it, and nowhere else. */
static void test_replace(void **state)
{
	struct fx *fx = *state;
	const char *rcpt[] = {"a@x.org", "b@x.org"};
	deliver_with(fx, "R7", rcpt, 2, "whole message\r\n", true, false);
	char p[PATH_MAX], f[PATH_MAX], to[PATH_MAX + 8];
	sub(p, sizeof p, fx->root, "x.org/a/new");
	only_file(p, f, sizeof f);
	assert_int_equal(truncate(f, 3), 0); /* its data never reached the disk */
	(void)snprintf(to, sizeof to, "%s:2,S", f);
	memcpy(to + strlen(p) - 3, "cur", 3);
	assert_int_equal(rename(f, to), 0);
	deliver_with(fx, "R7", rcpt, 2, "whole message\r\n", true, true);
	assert_int_equal(entries(p), 0);
	size_t len;
	char *got = slurp(to, &len);
	assert_int_equal(len, 14);
	assert_memory_equal(got, "whole message\n", 14);
	free(got);
	sub(p, sizeof p, fx->root, "x.org/b/new");
	assert_int_equal(entries(p), 1);
	sub(p, sizeof p, fx->root, "x.org/b/cur");
	assert_int_equal(entries(p), 0);
	/* another queue id is not replaced */
	deliver_with(fx, "R8", rcpt, 1, "other\r\n", true, true);
	sub(p, sizeof p, fx->root, "x.org/a/new");
	assert_int_equal(entries(p), 1);
	/* without defer_sync, the directory fsynced is the one whose entry
	 * changed: cur/, where the reader moved the copy (a review found new/
	 * fsynced instead, so the replacement was not durable) */
	atomic_store(&g_dir_seen, 0);
	deliver_with(fx, "R7", rcpt, 1, "whole message\r\n", false, true);
	sub(p, sizeof p, fx->root, "x.org/a/cur");
	assert_true(dir_synced(p));
}

/* store_unique: recipients naming one mailbox, numbered in the order
 * first seen, in O(n log n) (a message may have 100,000 recipients: the
 * backends compared each with every other). */
static void test_unique(void **state)
{
	(void)state;
	const char *keys[] = {"b", "a", "B", "c", "a", "b"};
	size_t of[6];
	assert_int_equal(store_unique(keys, 6, strcasecmp, of), 3);
	size_t want_ci[] = {0, 1, 0, 2, 1, 0};
	assert_memory_equal(of, want_ci, sizeof(of));
	assert_int_equal(store_unique(keys, 6, strcmp, of), 4);
	size_t want_cs[] = {0, 1, 2, 3, 1, 0};
	assert_memory_equal(of, want_cs, sizeof(of));

	enum { N = 30000, DISTINCT = 1000 };
	static char buf[N][16];
	static const char *many[N];
	static size_t many_of[N];
	for (size_t i = 0; i < N; i++) {
		snprintf(buf[i], sizeof buf[i], "k%zu", (DISTINCT - 1 - i % DISTINCT) * 7919 % DISTINCT);
		many[i] = buf[i];
	}
	assert_int_equal(store_unique(many, N, strcmp, many_of), DISTINCT);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(many_of[i], i % DISTINCT);
}

/* The set of queue ids a mailbox's names hold (maildir_seen.c): read once,
 * then kept up to date by adds; a miss is sure, a hit may be checked. */
static void touch_file(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_seen(void **state)
{
	struct fx *fx = *state;
	char box[PATH_MAX], sub[PATH_MAX + 8];
	snprintf(box, sizeof box, "%s/box", fx->dir);
	struct maildir_seen *s = maildir_seen_new();
	assert_non_null(s);
	/* no mailbox yet: nothing in it */
	assert_false(maildir_seen_may_have(s, box, "Q1"));
	maildir_seen_add(s, box, "Q1"); /* as a delivery that made it would */
	assert_true(maildir_seen_may_have(s, box, "Q1"));
	maildir_seen_free(s);

	assert_int_equal(mkdir(box, 0700), 0);
	snprintf(sub, sizeof sub, "%s/new", box);
	assert_int_equal(mkdir(sub, 0700), 0);
	touch_file(sub, "1700000000.ABC.host");
	snprintf(sub, sizeof sub, "%s/cur", box);
	assert_int_equal(mkdir(sub, 0700), 0);
	touch_file(sub, "1700000001.DEF.host:2,S"); /* a reader moved it */
	touch_file(sub, "not-ours");
	s = maildir_seen_new();
	assert_true(maildir_seen_may_have(s, box, "ABC"));
	assert_true(maildir_seen_may_have(s, box, "DEF"));
	assert_false(maildir_seen_may_have(s, box, "XYZ"));
	/* a file linked after the read is known by its add */
	touch_file(sub, "1700000002.XYZ.host");
	maildir_seen_add(s, box, "XYZ");
	assert_true(maildir_seen_may_have(s, box, "XYZ"));
	maildir_seen_free(s);

	/* adds alone (every delivery adds) do not grow it past its budget: the
	 * box goes, and the next lookup reads the mailbox again (a review saw
	 * 114 MB after three million deliveries) */
	s = maildir_seen_new();
	assert_false(maildir_seen_may_have(s, box, "GONE"));
	maildir_seen_add(s, box, "GONE"); /* no file: only the box knows it */
	assert_true(maildir_seen_may_have(s, box, "GONE"));
	for (size_t i = 0; i <= MAILDIR_SEEN_BUDGET; i++) {
		char id[32];
		snprintf(id, sizeof id, "B%zu", i);
		maildir_seen_add(s, box, id);
	}
	assert_false(maildir_seen_may_have(s, box, "GONE")); /* read again */
	maildir_seen_free(s);

	/* a mailbox that cannot be read: unknown, so "may" (the caller scans) */
	char other[PATH_MAX];
	snprintf(other, sizeof other, "%s/other", fx->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	touch_file(other, "new"); /* new/ is a file: opendir fails */
	s = maildir_seen_new();
	assert_true(maildir_seen_may_have(s, other, "ABC"));
	maildir_seen_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique),
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_without_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_rcpts_hard_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_mib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_writes_and_eintr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_write_enospc_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_write_eio_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_write_edquot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_fsync_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_made_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_name_in_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_link_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_rename_second, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_rename_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_dir_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_dir_fsync_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_dir_fsync_fresh_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_mailbox_synced_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_open_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exdev_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_begin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_dir_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lf_line_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defer_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
