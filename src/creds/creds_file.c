/* Writing the users file: one entry from a password, and the atomic
 * rewrite `postern passwd` uses. See creds.h. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/i18n.h" /* postern passwd shows these errors to a person */
#include "creds/creds.h"

/* bcrypt's cost (2^10 rounds, about yescrypt's default time here);
 * libxcrypt's own default for it is lower. */
#define CREDS_BCRYPT_COST 10

int creds_entry_make(const char *name, const char *password, const struct creds_entry_opts *o,
		     char **line, char *err, size_t errlen)
{
	*line = NULL;
	if (!creds_valid_name(name, strlen(name))) {
		snprintf(err, errlen, _("bad user name (1 to %d octets, no control characters, no ':')"),
			 CREDS_NAME_MAX);
		return -1;
	}
	char *prep = NULL;
	if (creds_saslprep(password, &prep)) {
		snprintf(err, errlen, _("the password is empty, not UTF-8, or has characters SASLprep "
				        "(RFC 4013) prohibits, such as control characters"));
		return -1;
	}
	size_t plen = strlen(prep);
	int rc = -1;
	struct crypt_data *cd = NULL;
	struct creds_scram sc[CREDS_SCRAM_NHASH];
	char *cram = NULL;
	memset(sc, 0, sizeof(sc));
	if (plen > CREDS_PASSWORD_MAX || plen >= CRYPT_MAX_PASSPHRASE_SIZE) {
		snprintf(err, errlen, _("the password is longer than %d octets"), CREDS_PASSWORD_MAX);
		goto out;
	}
	const char *prefix = o->scheme == CREDS_SHA512CRYPT ? "$6$" : o->scheme == CREDS_BCRYPT ? "$2b$" : "$y$";
	unsigned long count = o->scheme == CREDS_BCRYPT ? CREDS_BCRYPT_COST : 0;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof(setting))) {
		snprintf(err, errlen, _("crypt_gensalt(%s): %s"), prefix, strerror(errno));
		goto out;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		snprintf(err, errlen, _("out of memory"));
		goto out;
	}
	const char *hash = crypt_r(prep, setting, cd);
	if (!hash || hash[0] != '$') {
		snprintf(err, errlen, _("crypt(%s) failed"), prefix);
		goto out;
	}
	unsigned iter = o->iter ? o->iter : CREDS_SCRAM_ITER_DEFAULT;
	char field[CREDS_SCRAM_NHASH][CREDS_SCRAM_FIELD_MAX];
	for (int h = 0; h < CREDS_SCRAM_NHASH; h++) {
		unsigned char salt[CREDS_SCRAM_SALT_LEN];
		if (creds_random(salt, sizeof(salt)) ||
		    creds_scram_derive((enum creds_scram_hash)h, prep, plen, salt, sizeof(salt), iter,
				       &sc[h], NULL)) {
			snprintf(err, errlen, _("SCRAM key derivation failed"));
			goto out;
		}
		creds_scram_format((enum creds_scram_hash)h, &sc[h], field[h]);
	}
	if (o->cram_md5) {
		cram = malloc(base64_encoded_len(plen) + 1);
		if (!cram) {
			snprintf(err, errlen, _("out of memory"));
			goto out;
		}
		base64_encode(prep, plen, cram);
	}
	size_t need = strlen(name) + strlen(hash) + strlen(field[0]) + strlen(field[1]) +
		      (cram ? strlen(cram) : 0) + 8;
	char *l = malloc(need);
	if (!l) {
		snprintf(err, errlen, _("out of memory"));
		goto out;
	}
	snprintf(l, need, "%s:%s:%s:%s%s%s", name, hash, field[CREDS_SCRAM_SHA256],
		 field[CREDS_SCRAM_SHA1], cram ? ":" : "", cram ? cram : "");
	if (strlen(l) + 1 > CREDS_LINE_MAX) {
		snprintf(err, errlen, _("the entry would be longer than %d octets"), CREDS_LINE_MAX);
		creds_wipe(l, strlen(l));
		free(l);
		goto out;
	}
	*line = l;
	rc = 0;
out:
	if (cd)
		creds_wipe(cd, sizeof(*cd));
	free(cd);
	creds_wipe(sc, sizeof(sc));
	if (cram)
		creds_wipe(cram, strlen(cram));
	free(cram);
	creds_wipe(prep, plen);
	free(prep);
	return rc;
}

static int read_all(int fd, char **text, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CREDS_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *t = malloc(size + 1);
	if (!t)
		return -1;
	while (got < size) {
		ssize_t r = read(fd, t + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(t);
			errno = r ? errno : EIO;
			return -1;
		}
		got += (size_t)r;
	}
	t[size] = '\0';
	*text = t;
	*len = size;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Whether the line p[0..len) is the entry of name (the parser's rules). */
static bool line_is(const char *p, size_t len, const char *name)
{
	size_t sp = 0;
	while (sp < len && (p[sp] == ' ' || p[sp] == '\t'))
		sp++;
	if (sp == len || p[sp] == '#')
		return false;
	size_t nl = strlen(name);
	return len > nl && p[nl] == ':' && memcmp(p, name, nl) == 0;
}

int creds_file_edit(const char *path, enum creds_edit op, const char *name, const char *line,
		    char *err, size_t errlen)
{
	int rc = -1, dfd = -1, fd = -1, tfd = -1;
	char *text = NULL, *tmp = NULL, *dir = NULL;
	size_t len = 0;
	struct creds_db *db = NULL;
	struct stat old;
	bool existed = false;

	const char *slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	tmp = malloc(strlen(path) + 8);
	if (!dir || !tmp) {
		snprintf(err, errlen, _("out of memory"));
		goto out;
	}
	tmp[0] = '\0'; /* no temporary file yet */
	/* The directory, not the file, is locked: the file is replaced by
	 * rename, so a lock on it would not stop the next editor. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fd >= 0) {
		existed = fstat(fd, &old) == 0;
		if (!existed || read_all(fd, &text, &len)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	db = creds_db_parse(text ? text : "", len, path, err, errlen);
	if (!db)
		goto out; /* a file posternd would refuse is not edited: fix it first */
	bool present = creds_db_find(db, name) != NULL;
	if (op == CREDS_EDIT_ADD && present) {
		snprintf(err, errlen, _("%s: user \"%s\" exists (use set to change the password)"), path, name);
		goto out;
	}
	if (op != CREDS_EDIT_ADD && !present) {
		snprintf(err, errlen, _("%s: no user \"%s\""), path, name);
		goto out;
	}

	snprintf(tmp, strlen(path) + 8, "%s.XXXXXX", path);
	tfd = mkstemp(tmp); /* mode 0600 */
	if (tfd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(tfd, 0600) != 0) {
		snprintf(err, errlen, _("%s: chmod: %s"), tmp, strerror(errno));
		goto out;
	}
	/* root editing a file that belongs to the daemon's user keeps its owner */
	if (existed && geteuid() == 0 && fchown(tfd, old.st_uid, old.st_gid) != 0) {
		snprintf(err, errlen, _("%s: chown: %s"), tmp, strerror(errno));
		goto out;
	}
	int werr = 0;
	size_t off = 0;
	bool ends_nl = true;
	while (off < len && !werr) {
		const char *p = text + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - p) + 1 : len - off;
		off += ll;
		size_t body = ll - (nl ? 1 : 0);
		if (line_is(p, body, name)) {
			if (op == CREDS_EDIT_SET)
				werr = write_all(tfd, line, strlen(line)) || write_all(tfd, "\n", 1);
			continue;
		}
		werr = write_all(tfd, p, ll);
		ends_nl = nl != NULL;
	}
	if (!werr && op == CREDS_EDIT_ADD) {
		if (!ends_nl)
			werr = write_all(tfd, "\n", 1);
		werr = werr || write_all(tfd, line, strlen(line)) || write_all(tfd, "\n", 1);
	}
	if (werr || fsync(tfd) != 0) {
		snprintf(err, errlen, _("%s: write: %s"), tmp, strerror(errno));
		goto out;
	}
	if (close(tfd) != 0) {
		tfd = -1;
		snprintf(err, errlen, _("%s: close: %s"), tmp, strerror(errno));
		goto out;
	}
	tfd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, _("rename %s to %s: %s"), tmp, path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (fsync(dfd) != 0) {
		snprintf(err, errlen, _("%s: fsync: %s"), dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (tmp && tmp[0] && rc != 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd); /* releases the lock */
	creds_db_unref(db);
	if (text)
		creds_wipe(text, len);
	free(text);
	free(tmp);
	free(dir);
	return rc;
}
