/* store/maildir_tidy.c: the 36-hour sweep of tmp/, and the owner check of
 * the Maildir tree at start (fixing what an earlier run as root left, or
 * naming what this process cannot write). Run as root (as CI does): the
 * tests make entries of other owners and switch to "nobody" in a child. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/maildir.h"
#include "store/store.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fx {
	char dir[64];
	char root[128];
};

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(p);
}

static void path(char *out, const struct fx *fx, const char *rel)
{
	int r = snprintf(out, PATH_MAX, "%s/%s", fx->root, rel);
	assert_true(r > 0 && r < PATH_MAX);
}

static void mkdirs(const struct fx *fx, const char *rel)
{
	char p[PATH_MAX];
	path(p, fx, rel);
	for (char *s = p + strlen(fx->root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(p, 0700);
		*s = '/';
	}
	assert_true(mkdir(p, 0700) == 0 || access(p, F_OK) == 0);
}

/* A file rel, last modified age seconds ago. */
static void file(const struct fx *fx, const char *rel, time_t age)
{
	char p[PATH_MAX];
	path(p, fx, rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	struct timespec ts[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static bool exists(const struct fx *fx, const char *rel)
{
	char p[PATH_MAX];
	path(p, fx, rel);
	return access(p, F_OK) == 0;
}

static uid_t owner(const struct fx *fx, const char *rel)
{
	char p[PATH_MAX];
	struct stat sb;
	path(p, fx, rel);
	assert_int_equal(lstat(p, &sb), 0);
	return sb.st_uid;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	(void)snprintf(fx->dir, sizeof fx->dir, "/tmp/test_tidy.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(chmod(fx->dir, 0755), 0); /* "nobody" may look in */
	(void)snprintf(fx->root, sizeof fx->root, "%s/mail", fx->dir);
	assert_int_equal(mkdir(fx->root, 0700), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	(void)nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static const time_t HOUR = 3600;

static void test_clean_tmp(void **state)
{
	struct fx *fx = *state;
	mkdirs(fx, "x.org/a/tmp");
	mkdirs(fx, "x.org/a/new");
	mkdirs(fx, "y.org/b/tmp");
	mkdirs(fx, "y.org/tmp");
	file(fx, "x.org/a/tmp/old", 37 * HOUR);
	file(fx, "x.org/a/tmp/young", 35 * HOUR);
	file(fx, "x.org/a/new/old", 100 * HOUR); /* delivered mail is never touched */
	file(fx, "y.org/b/tmp/old", 40 * HOUR);
	file(fx, "y.org/tmp/old", 40 * HOUR); /* not a mailbox's tmp/ */

	assert_int_equal(maildir_clean_tmp(fx->root, time(NULL)), 2);
	assert_false(exists(fx, "x.org/a/tmp/old"));
	assert_false(exists(fx, "y.org/b/tmp/old"));
	assert_true(exists(fx, "x.org/a/tmp/young"));
	assert_true(exists(fx, "x.org/a/new/old"));
	assert_true(exists(fx, "y.org/tmp/old"));
	/* two hours later the young one is stale too */
	assert_int_equal(maildir_clean_tmp(fx->root, time(NULL) + 2 * HOUR), 1);
	assert_false(exists(fx, "x.org/a/tmp/young"));
}

static void test_sweep_daily(void **state)
{
	(void)state;
	atomic_llong next = 1000;
	assert_false(maildir_sweep_due(&next, 999));
	assert_true(maildir_sweep_due(&next, 1000));
	assert_int_equal(atomic_load(&next), 1000 + MAILDIR_SWEEP_INTERVAL);
	/* once per day, whoever asks */
	assert_false(maildir_sweep_due(&next, 1001));
	assert_false(maildir_sweep_due(&next, 1000 + MAILDIR_SWEEP_INTERVAL - 1));
	assert_true(maildir_sweep_due(&next, 5000 + MAILDIR_SWEEP_INTERVAL));
	assert_int_equal(atomic_load(&next), 5000 + 2 * MAILDIR_SWEEP_INTERVAL);
}

static struct store *open_store(const struct fx *fx, const char *user)
{
	char err[256];
	struct store_config cfg = {.kind = STORE_MAILDIR, .maildir = fx->root, .user = user};
	struct store *st = store_new(&cfg, err, sizeof err);
	assert_non_null(st);
	return st;
}

static void test_store_sweeps_at_start(void **state)
{
	struct fx *fx = *state;
	mkdirs(fx, "x.org/a/tmp");
	file(fx, "x.org/a/tmp/left-by-a-crash", 37 * HOUR);
	file(fx, "x.org/a/tmp/in-use", 0);
	struct store *st = open_store(fx, NULL);
	assert_false(exists(fx, "x.org/a/tmp/left-by-a-crash"));
	assert_true(exists(fx, "x.org/a/tmp/in-use"));
	store_free(st);
}

static void test_owner_fixed_for_user(void **state)
{
	struct fx *fx = *state;
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	uid_t nobody = pw->pw_uid;
	/* an earlier run as root made these */
	mkdirs(fx, "x.org/a/tmp");
	mkdirs(fx, "x.org/a/new");
	mkdirs(fx, "x.org/a/cur");
	file(fx, "x.org/a/new/m1", 0);
	/* and someone else owns this one */
	mkdirs(fx, "y.org/b/tmp");
	char p[PATH_MAX];
	path(p, fx, "y.org/b");
	assert_int_equal(chown(p, 4242, 4242), 0);

	struct maildir_owner_report r;
	maildir_check_owner(fx->root, "nobody", &r);
	/* root, x.org, a, tmp, new, cur, m1, y.org, y.org/b/tmp */
	assert_int_equal(r.fixed, 9);
	assert_int_equal(r.problems, 1);
	assert_non_null(strstr(r.text, p));
	assert_non_null(strstr(r.text, "owned by uid 4242, not nobody"));
	assert_int_equal(owner(fx, "x.org/a/tmp"), nobody);
	assert_int_equal(owner(fx, "x.org/a/new/m1"), nobody);
	assert_int_equal(owner(fx, "x.org"), nobody);
	assert_int_equal(owner(fx, "y.org/b"), 4242);

	/* once fixed, nothing more to do */
	maildir_check_owner(fx->root, "nobody", &r);
	assert_int_equal(r.fixed, 0);
	assert_int_equal(r.problems, 1);

	/* root without --user writes anywhere: nothing to check */
	maildir_check_owner(fx->root, NULL, &r);
	assert_int_equal(r.fixed + r.problems, 0);
}

static void test_store_warns_at_start(void **state)
{
	struct fx *fx = *state;
	mkdirs(fx, "x.org/a/tmp");
	struct store *st = open_store(fx, "nobody");
	assert_non_null(strstr(store_warnings(st), "changed the owner of 4 entries"));
	store_free(st);
	st = open_store(fx, "nobody");
	assert_string_equal(store_warnings(st), "");
	store_free(st);
}

/* As a plain user, a mailbox it cannot write is named. */
static void test_not_writable_named(void **state)
{
	struct fx *fx = *state;
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	mkdirs(fx, "x.org/good/tmp");
	mkdirs(fx, "x.org/bad/tmp");
	char p[PATH_MAX], bad[PATH_MAX];
	/* everything is nobody's but bad/tmp, which root keeps */
	struct maildir_owner_report r;
	maildir_check_owner(fx->root, "nobody", &r);
	path(bad, fx, "x.org/bad/tmp");
	assert_int_equal(chown(bad, 0, 0), 0);
	path(p, fx, "x.org/bad");
	assert_int_equal(chmod(p, 0755), 0);

	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
			_exit(3);
		maildir_check_owner(fx->root, NULL, &r);
		ssize_t n = write(fds[1], &r, sizeof r);
		_exit(n == (ssize_t)sizeof r ? 0 : 4);
	}
	close(fds[1]);
	memset(&r, 0, sizeof r);
	assert_int_equal(read(fds[0], &r, sizeof r), (ssize_t)sizeof r);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(r.problems, 1);
	assert_non_null(strstr(r.text, bad));
	assert_non_null(strstr(r.text, "not writable: Permission denied"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
		cmocka_unit_test(test_sweep_daily),
		cmocka_unit_test_setup_teardown(test_store_sweeps_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_fixed_for_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_warns_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_writable_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
