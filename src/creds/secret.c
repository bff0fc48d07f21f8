/* The server's own secret, kept in a file beside the users file: the key
 * from which unknown users' SCRAM salts come (creds_scram_dummy). It must
 * outlive restarts and reloads, else an unknown name's salt would change
 * at each start while a real user's stays, which tells them apart. A file
 * of its own rather than a hash of the users file: that would change at
 * every `postern passwd`, for every unknown name at once. See creds.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "creds/creds.h"

#define SECRET_B64_LEN ((CREDS_SECRET_LEN + 2) / 3 * 4)
#define SECRET_TEXT_LEN (SECRET_B64_LEN + 1) /* base64 and LF */

static int read_secret(int fd, const char *path, unsigned char out[CREDS_SECRET_LEN], char *err,
		       size_t errlen)
{
	char text[SECRET_TEXT_LEN + 1];
	size_t got = 0;
	while (got < sizeof(text)) {
		ssize_t r = read(fd, text + got, sizeof(text) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	unsigned char raw[CREDS_SECRET_LEN + 2];
	size_t n = 0;
	bool ok = got == SECRET_TEXT_LEN && text[SECRET_B64_LEN] == '\n' &&
		  base64_decode(text, SECRET_B64_LEN, raw, &n) && n == CREDS_SECRET_LEN;
	if (ok)
		memcpy(out, raw, CREDS_SECRET_LEN);
	else
		snprintf(err, errlen, "%s: expected %d octets in base64 and a newline (delete the "
				      "file to make a new secret)", path, CREDS_SECRET_LEN);
	creds_wipe(raw, sizeof(raw));
	creds_wipe(text, sizeof(text));
	return ok ? 0 : -1;
}

/* The directory of path, for the fsync that makes a new name durable. */
static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

static int create_secret(const char *path, const char *owner_like,
			 unsigned char out[CREDS_SECRET_LEN], char *err, size_t errlen)
{
	char text[SECRET_TEXT_LEN + 1];
	if (creds_random(out, CREDS_SECRET_LEN)) {
		snprintf(err, errlen, "%s: no random numbers", path);
		return -1;
	}
	base64_encode(out, CREDS_SECRET_LEN, text);
	text[SECRET_B64_LEN] = '\n';
	/* O_EXCL: of two starts racing, the second reads the first one's file */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		creds_wipe(text, sizeof(text));
		if (e == EEXIST)
			return 1;
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
		return -1;
	}
	/* root creating it gives it the users file's owner: whoever may read
	 * that file (the daemon's user after --user) may read this one */
	struct stat like;
	if (geteuid() == 0 && owner_like && stat(owner_like, &like) == 0 &&
	    fchown(fd, like.st_uid, like.st_gid) != 0) {
		snprintf(err, errlen, "%s: chown: %s", path, strerror(errno));
		creds_wipe(text, sizeof(text));
		close(fd);
		unlink(path);
		return -1;
	}
	ssize_t w = write(fd, text, SECRET_TEXT_LEN);
	int werr = errno;
	creds_wipe(text, sizeof(text));
	if (w != SECRET_TEXT_LEN || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: write: %s", path, w < 0 ? strerror(werr) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0 || fsync_dir_of(path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int creds_secret_load(const char *path, const char *owner_like, unsigned char out[CREDS_SECRET_LEN],
		      char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			struct stat st;
			int rc = -1;
			if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
				snprintf(err, errlen, "%s: not a regular file", path);
			else if (st.st_mode & 077)
				snprintf(err, errlen, "%s: readable by others (mode %03o): chmod 600 it",
					 path, (unsigned)(st.st_mode & 0777));
			else
				rc = read_secret(fd, path, out, err, errlen);
			close(fd);
			return rc;
		}
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		int rc = create_secret(path, owner_like, out, err, errlen);
		if (rc <= 0)
			return rc;
		/* created meanwhile by another start: read that one */
	}
	snprintf(err, errlen, "%s: appears and vanishes", path);
	return -1;
}
