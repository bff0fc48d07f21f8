/* Dropping root after the listeners are bound (Postfix's and OpenSMTPD's
 * habit): the loops then run as an unprivileged user that owns the Maildir. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/internal.h"

int srv_drop_privileges(const char *user, const char *maildir, char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user = \"%s\": %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user = \"%s\": refusing to run as uid 0", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0; /* started as that user already */
		snprintf(err, errlen, "user = \"%s\": only root can switch users", user);
		return -1;
	}
	/* The Maildir root the store just created as root becomes the user's;
	 * a root that someone else owns is left as the administrator set it. */
	struct stat st;
	if (maildir && stat(maildir, &st) == 0 && st.st_uid == 0 &&
	    chown(maildir, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, errlen, "maildir = \"%s\": chown to %s: %s", maildir, user, strerror(errno));
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "user = \"%s\": %s", user, strerror(errno));
		return -1;
	}
	/* there is no way back */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "user = \"%s\": root privileges could be regained", user);
		return -1;
	}
	return 0;
}

static bool named_in(const char *name, const char *const *names)
{
	for (; names && *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

/* Whether dir holds nothing but entries named in ours: a directory posternd
 * made, now or in an earlier run. */
static bool holds_only(const char *dir, const char *const *ours)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool only = true;
	struct dirent *de;
	while (only && (de = readdir(d)))
		only = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		       named_in(de->d_name, ours);
	closedir(d);
	return only;
}

/* root's entries below the directory dfd (the queue's journal/, spill/ and
 * their files, from a run as root) become the user's, down to depth
 * levels; at the top only those named in ours (NULL: all). Everything goes
 * through dfd and NOFOLLOW: what the user owns can be changed under us (a
 * directory swapped for a symbolic link between a check and its use would
 * otherwise have root hand over files elsewhere). dfd is closed. */
static int give_entries(int dfd, const char *path, const char *const *ours,
			const struct passwd *pw, unsigned depth, char *err, size_t errlen,
			const char *key)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (ours && !named_in(de->d_name, ours)))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (st.st_uid == 0 &&
		    fchownat(dirfd(d), de->d_name, pw->pw_uid, pw->pw_gid, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(err, errlen, "%s: chown %s/%s to %s: %s", key, path, de->d_name,
				 pw->pw_name, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode) && depth > 1) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			if (sub >= 0)
				rc = give_entries(sub, p, NULL, pw, depth - 1, err, errlen, key);
		}
	}
	closedir(d);
	return rc;
}

int srv_prepare_dir(const char *dir, const char *const *ours, const char *user, const char *key,
		    char *err, size_t errlen)
{
	char p[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(p)) {
		snprintf(err, errlen, "%s = \"%s\": bad path", key, dir);
		return -1;
	}
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) { /* mkdir -p */
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s = \"%s\": cannot create %s: %s", key, dir, p,
				 strerror(errno));
			return -1;
		}
		*s = '/';
	}
	bool made = mkdir(p, 0700) == 0;
	if (!made && errno != EEXIST) {
		snprintf(err, errlen, "%s = \"%s\": cannot create: %s", key, dir, strerror(errno));
		return -1;
	}
	if (!user || geteuid() != 0)
		return 0;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user = \"%s\": %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	/* made by us as root (now, or by an earlier run: it holds only what
	 * posternd puts there): the user's. Anything else (a directory such as
	 * /run or /var/spool named by mistake) is left as the administrator
	 * set it, and so is what is in it. */
	if (!made && !holds_only(p, ours))
		return 0;
	struct stat st;
	if (stat(p, &st) == 0 && st.st_uid == 0 && chown(p, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, errlen, "%s = \"%s\": chown to %s: %s", key, dir, user, strerror(errno));
		return -1;
	}
	int dfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dfd < 0 ? 0 : give_entries(dfd, p, ours, pw, 2, err, errlen, key);
}
