/* Care of a Maildir tree outside deliveries (maildir.c calls these at start
 * and daily): stale spool files leave tmp/ after 36 hours (the Maildir
 * rule), and the tree's owners are checked so that a mailbox the server
 * cannot write to is named at start instead of failing every delivery.
 *
 * The tree is <root>/<domain>/<mailbox>/{tmp,new,cur}/<file>: depth 0 is the
 * root, 4 a message file. The walk never follows a symbolic link. */
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TREE_DEPTH 4

struct walk {
	/* called for every entry (the root too, at depth 0); dirfd holds it */
	void (*visit)(struct walk *w, int dirfd, const char *name, const char *path,
		      const struct stat *sb, int depth);
	int max_depth;
	/* NULL, or at depth 3 (a mailbox's subdirectories) only the one of
	 * this name: the others hold every message of the store */
	const char *only_sub;
};

static void walk_dir(struct walk *w, int fd, const char *path, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (w->only_sub && depth + 1 == TREE_DEPTH - 1 && strcmp(de->d_name, w->only_sub) != 0)
			continue;
		char sub[MAILDIR_TIDY_PATH_MAX];
		int r = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (r < 0 || (size_t)r >= sizeof sub)
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		w->visit(w, dirfd(d), de->d_name, sub, &sb, depth + 1);
		if (S_ISDIR(sb.st_mode) && depth + 1 < w->max_depth) {
			int sfd = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd >= 0)
				walk_dir(w, sfd, sub, depth + 1);
		}
	}
	closedir(d);
}

static void walk(struct walk *w, const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	if (fstat(fd, &sb) == 0)
		w->visit(w, AT_FDCWD, root, root, &sb, 0);
	walk_dir(w, fd, root, 0);
}

/* ---- stale spool files ---- */

struct clean {
	struct walk w;
	time_t cutoff;
	size_t removed;
};

static void clean_visit(struct walk *w, int dirfd, const char *name, const char *path,
			const struct stat *sb, int depth)
{
	struct clean *c = (struct clean *)w;
	(void)path;
	if (depth != TREE_DEPTH || !S_ISREG(sb->st_mode) || sb->st_mtime >= c->cutoff)
		return;
	/* only files of a tmp/ directory: the walk gave us its fd, check its name */
	const char *slash = strrchr(path, '/');
	if (!slash || slash - path < 4 || memcmp(slash - 4, "/tmp", 4) != 0)
		return;
	if (unlinkat(dirfd, name, 0) == 0)
		c->removed++;
}

size_t maildir_clean_tmp(const char *root, time_t now)
{
	struct clean c = {{clean_visit, TREE_DEPTH, "tmp"}, now - MAILDIR_TMP_MAX_AGE, 0};
	walk(&c.w, root);
	return c.removed;
}

bool maildir_sweep_due(atomic_llong *next, time_t now)
{
	long long due = atomic_load(next);
	return (long long)now >= due &&
	       atomic_compare_exchange_strong(next, &due, (long long)now + MAILDIR_SWEEP_INTERVAL);
}

/* ---- owners ---- */

struct owners {
	struct walk w;
	bool fix;      /* running as root for user: root's entries become uid's */
	uid_t uid;
	gid_t gid;
	const char *user;
	struct maildir_owner_report *r;
};

__attribute__((format(printf, 2, 3)))
static void report(struct maildir_owner_report *r, const char *fmt, ...)
{
	size_t len = strlen(r->text);
	r->problems++;
	if (r->problems > 1 && len + 2 < sizeof r->text) {
		memcpy(r->text + len, "; ", 3);
		len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(r->text + len, sizeof r->text - len, fmt, ap);
	va_end(ap);
}

static void owners_visit(struct walk *w, int dirfd, const char *name, const char *path,
			 const struct stat *sb, int depth)
{
	struct owners *o = (struct owners *)w;
	if (S_ISLNK(sb->st_mode))
		return;
	if (!o->fix) {
		/* the directories a delivery writes into, as this process */
		if (S_ISDIR(sb->st_mode) && depth < TREE_DEPTH &&
		    faccessat(dirfd, name, W_OK | X_OK, AT_EACCESS) != 0)
			report(o->r, "%s: not writable: %s", path, strerror(errno));
		return;
	}
	if (sb->st_uid == o->uid)
		return;
	if (sb->st_uid != 0) {
		report(o->r, "%s: owned by uid %u, not %s", path, (unsigned)sb->st_uid, o->user);
		return;
	}
	if (fchownat(dirfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) == 0)
		o->r->fixed++;
	else
		report(o->r, "%s: chown to %s: %s", path, o->user, strerror(errno));
}

void maildir_check_owner(const char *root, const char *user, struct maildir_owner_report *r)
{
	struct owners o = {{owners_visit, TREE_DEPTH - 1, NULL}, false, 0, 0, user, r};

	memset(r, 0, sizeof *r);
	if (geteuid() == 0 && user) {
		errno = 0;
		struct passwd *pw = getpwnam(user);
		if (!pw || pw->pw_uid == 0)
			return; /* the privilege drop says why */
		o.fix = true;
		o.uid = pw->pw_uid;
		o.gid = pw->pw_gid;
		o.w.max_depth = TREE_DEPTH; /* message files too: readers run as the user */
	} else if (geteuid() == 0) {
		return; /* root writes anywhere */
	}
	walk(&o.w, root);
}
