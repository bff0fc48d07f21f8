/* The users file as a read-only database, and password checks. See creds.h. */
#include "creds/creds.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stringprep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/i18n.h"
#include "common/str.h"

struct creds_db {
	atomic_uint refs;
	struct creds_user *users; /* file order */
	size_t n, cap;
	const struct creds_user **sorted; /* by name, for lookups */
	/* The crypt setting an unknown user is checked against: the slowest
	 * of the file's methods and costs (so the time is that of a real
	 * check), else a fresh setting of the default method. */
	char *dummy_setting;
	unsigned slowest_ms; /* what one check of it took when the file was read */
};

/* The part of a crypt hash that sets its method and cost, before the salt:
 * "$6$rounds=N$", "$y$j9T$", "$2b$12$" (bcrypt's salt and hash share the
 * last field). Its length. */
static size_t method_prefix(const char *h)
{
	size_t n = strlen(h), dollars = 0;
	for (size_t i = 0; i < n; i++)
		dollars += h[i] == '$';
	size_t keep = h[1] == '2' ? 3 : dollars > 1 ? dollars - 1 : dollars;
	for (size_t i = 0, seen = 0; i < n; i++)
		if (h[i] == '$' && ++seen == keep)
			return i + 1;
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How long one check against setting takes, in ns (one crypt_r). */
static uint64_t check_cost(const char *setting, struct crypt_data *cd)
{
	uint64_t t0 = now_ns();
	(void)crypt_r("postern-cost-probe", setting, cd);
	return now_ns() - t0;
}

/* Methods and costs timed per file at most: a file of thousands of users
 * has a handful of them. */
#define COST_KINDS_MAX 16

/* The dummy setting: the slowest kind of hash in the file, timed once per
 * kind (a mixed file made the time of a failure tell unknown users from
 * known ones: a black-box test saw 1.4 ms for sha512-crypt users, 52 for
 * bcrypt ones and 2.2 for unknown names, against the first line's). */
static int choose_dummy(struct creds_db *db)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -1;
	const char *kinds[COST_KINDS_MAX];
	size_t nkinds = 0;
	uint64_t slowest = 0;
	for (size_t i = 0; i < db->n; i++) {
		const char *h = db->users[i].hash;
		if (h[0] != '$')
			continue;
		size_t k = method_prefix(h), j = 0;
		while (j < nkinds && !(strlen(kinds[j]) >= k && !strncmp(kinds[j], h, k) &&
				       method_prefix(kinds[j]) == k))
			j++;
		if (j < nkinds || nkinds == COST_KINDS_MAX)
			continue;
		kinds[nkinds++] = h;
		uint64_t cost = check_cost(h, cd);
		if (!db->dummy_setting || cost > slowest) {
			free(db->dummy_setting);
			if (!(db->dummy_setting = strdup(h))) {
				free(cd);
				return -1;
			}
			slowest = cost;
		}
	}
	if (!db->dummy_setting) {
		char setting[CRYPT_GENSALT_OUTPUT_SIZE];
		if (!crypt_gensalt_rn(NULL, 0, NULL, 0, setting, sizeof(setting)) ||
		    !(db->dummy_setting = strdup(setting))) {
			free(cd);
			return -1;
		}
		slowest = check_cost(db->dummy_setting, cd);
	}
	creds_wipe(cd, sizeof(*cd));
	free(cd);
	db->slowest_ms = (unsigned)((slowest + 999999) / 1000000);
	return 0;
}

void creds_wipe(void *p, size_t n)
{
	if (p)
		explicit_bzero(p, n);
}

int creds_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int creds_saslprep(const char *in, char **out)
{
	*out = NULL;
	/* RFC 4013 with unassigned code points allowed ("query", RFC 3454 §7,
	 * as RFC 4616 §2 prepares presented strings). RFC 5802 §2.2 would
	 * refuse them in SCRAM ("stored strings"), which refuses every emoji
	 * (Unicode 3.2 did not assign them); but what is stored here is a
	 * hash, and libidn pins Unicode 3.2, so the prepared octets can never
	 * change under it. libidn, not gsasl_saslprep(): GNU SASL 2.2.0
	 * inverts its flag (GSASL_ALLOW_UNASSIGNED sets STRINGPREP_NO_UNASSIGNED). */
	char *prep = NULL;
	if (!in || stringprep_profile(in, &prep, "SASLprep", 0) != STRINGPREP_OK || !prep)
		return -1;
	if (!prep[0]) {
		free(prep);
		return -1;
	}
	*out = prep;
	return 0;
}

bool creds_saslprep_has_unassigned(const char *in)
{
	char *strict = NULL;
	int rc = stringprep_profile(in, &strict, "SASLprep", STRINGPREP_NO_UNASSIGNED);
	free(strict);
	return rc == STRINGPREP_CONTAINS_UNASSIGNED;
}

bool creds_valid_name(const char *name, size_t len)
{
	if (len == 0 || len > CREDS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == ':')
			return false;
	}
	return true;
}

/* ---- parsing ---- */

/* The texts below reach a person (postern passwd) in the person's language;
 * posternd reads the file in the C locale, where they stay English in its
 * logs (gettext does not translate in the C locale). */
static int perr(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int perr(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
{
	char why[512]; /* a Thai text takes two to three times the octets of its English */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, _("%s: line %d: %s"), name, (int)line, why);
	else
		/* TRANSLATORS: a file's name, then why it is refused */
		snprintf(err, errlen, _("%s: %s"), name, why);
	return -1;
}

static void user_fini(struct creds_user *u)
{
	free(u->name);
	if (u->hash)
		creds_wipe(u->hash, strlen(u->hash));
	free(u->hash);
	if (u->cram_md5)
		creds_wipe(u->cram_md5, strlen(u->cram_md5));
	free(u->cram_md5);
	creds_wipe(u->scram, sizeof(u->scram));
}

static void db_free(struct creds_db *db)
{
	for (size_t i = 0; i < db->n; i++)
		user_fini(&db->users[i]);
	free(db->users);
	free(db->sorted);
	free(db->dummy_setting);
	free(db);
}

static bool hash_ok(const char *h, const char **why)
{
	if (!h[0])
		return true; /* PLAIN and LOGIN never succeed for this user */
	if (h[0] == '!' || h[0] == '*')
		return true; /* locked, as in shadow(5) */
	if (h[0] != '$') {
		*why = N_("password hash: legacy DES crypt is refused (use yescrypt $y$, sha512-crypt $6$ or bcrypt $2b$)");
		return false;
	}
	switch (crypt_checksalt(h)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_TOO_CHEAP:
		return true;
	case CRYPT_SALT_METHOD_LEGACY:
		*why = N_("password hash: legacy method refused (use yescrypt $y$, sha512-crypt $6$ or bcrypt $2b$)");
		return false;
	case CRYPT_SALT_METHOD_DISABLED:
		*why = N_("password hash: method disabled in libxcrypt");
		return false;
	default:
		*why = N_("password hash: not a crypt(3) hash libxcrypt knows");
		return false;
	}
}

static int b64_field(const char *s, size_t len, unsigned char *out, size_t max, size_t *outlen)
{
	unsigned char tmp[256];
	if (len == 0 || base64_decoded_max(len) > sizeof(tmp) || !base64_decode(s, len, tmp, outlen) ||
	    *outlen > max)
		return -1;
	memcpy(out, tmp, *outlen);
	return 0;
}

int creds_scram_parse(enum creds_scram_hash h, const char *s, size_t len, struct creds_scram *out)
{
	memset(out, 0, sizeof(*out));
	/* accept `gsasl --mkpasswd` output as is: "{SCRAM-SHA-256}4096,..." */
	const char *name = creds_scram_name(h);
	size_t nl = strlen(name);
	if (len > nl + 2 && s[0] == '{') {
		if (memcmp(s + 1, name, nl) != 0 || s[nl + 1] != '}')
			return -1;
		s += nl + 2;
		len -= nl + 2;
	}
	const char *part[4];
	size_t plen[4];
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (k == 4)
				return -1;
			part[k] = s + start;
			plen[k++] = i - start;
			start = i + 1;
		}
	}
	if (k != 4 || plen[0] == 0 || plen[0] > 9)
		return -1;
	unsigned long iter = 0;
	for (size_t i = 0; i < plen[0]; i++) {
		if (part[0][i] < '0' || part[0][i] > '9')
			return -1;
		iter = iter * 10 + (unsigned long)(part[0][i] - '0');
	}
	if (iter == 0 || iter > CREDS_SCRAM_ITER_MAX)
		return -1;
	size_t kl = creds_scram_key_len(h), n;
	if (b64_field(part[1], plen[1], out->salt, CREDS_SALT_MAX, &out->salt_len))
		return -1;
	if (b64_field(part[2], plen[2], out->stored_key, CREDS_KEY_MAX, &n) || n != kl)
		return -1;
	if (b64_field(part[3], plen[3], out->server_key, CREDS_KEY_MAX, &n) || n != kl)
		return -1;
	out->iter = (unsigned)iter;
	return 0;
}

void creds_scram_format(enum creds_scram_hash h, const struct creds_scram *sc, char *out)
{
	size_t kl = creds_scram_key_len(h);
	int n = snprintf(out, CREDS_SCRAM_FIELD_MAX, "%u,", sc->iter);
	size_t o = (size_t)n;
	o += base64_encode(sc->salt, sc->salt_len, out + o);
	out[o++] = ',';
	o += base64_encode(sc->stored_key, kl, out + o);
	out[o++] = ',';
	o += base64_encode(sc->server_key, kl, out + o);
	out[o] = '\0';
}

/* One non-comment line (without its line end) into u. */
static int parse_line(const char *p, size_t len, struct creds_user *u, const char *fname,
		      unsigned line, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f)
			return perr(err, errlen, fname, line, _("control character (octet %u)"), c);
	}
	const char *f[5];
	size_t fl[5];
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == ':') {
			if (k == 5)
				return perr(err, errlen, fname, line,
					    _("too many ':' fields (expected name:hash:scram-sha-256:scram-sha-1[:cram-md5])"));
			f[k] = p + start;
			fl[k++] = i - start;
			start = i + 1;
		}
	}
	if (k < 2)
		return perr(err, errlen, fname, line,
			    _("expected name:hash[:scram-sha-256[:scram-sha-1[:cram-md5]]]"));
	if (!creds_valid_name(f[0], fl[0]))
		return perr(err, errlen, fname, line, _("bad user name (1 to %d octets, no control characters)"),
			    CREDS_NAME_MAX);
	u->name = strndup(f[0], fl[0]);
	u->hash = strndup(f[1], fl[1]);
	if (!u->name || !u->hash)
		return perr(err, errlen, fname, line, _("out of memory"));
	const char *why = NULL;
	if (!hash_ok(u->hash, &why))
		return perr(err, errlen, fname, line, "%s", _(why));
	static const enum creds_scram_hash order[2] = { CREDS_SCRAM_SHA256, CREDS_SCRAM_SHA1 };
	for (size_t i = 0; i < 2; i++) {
		if (k <= 2 + i || fl[2 + i] == 0)
			continue;
		if (creds_scram_parse(order[i], f[2 + i], fl[2 + i], &u->scram[order[i]]))
			return perr(err, errlen, fname, line,
				    _("%s field: expected iterations,salt,StoredKey,ServerKey (base64, %zu-octet keys)"),
				    creds_scram_name(order[i]), creds_scram_key_len(order[i]));
	}
	if (k == 5 && fl[4]) {
		unsigned char pw[CREDS_PASSWORD_MAX + 3];
		size_t n = 0;
		if (base64_decoded_max(fl[4]) > sizeof(pw) || !base64_decode(f[4], fl[4], pw, &n) ||
		    n == 0 || memchr(pw, 0, n)) {
			creds_wipe(pw, sizeof(pw));
			return perr(err, errlen, fname, line, _("cram-md5 field: expected base64 of the password"));
		}
		u->cram_md5 = strndup((const char *)pw, n);
		creds_wipe(pw, sizeof(pw));
		if (!u->cram_md5)
			return perr(err, errlen, fname, line, _("out of memory"));
	}
	u->line = line;
	return 0;
}

static int cmp_user(const void *a, const void *b)
{
	const struct creds_user *x = *(const struct creds_user *const *)a;
	const struct creds_user *y = *(const struct creds_user *const *)b;
	return strcmp(x->name, y->name);
}

struct creds_db *creds_db_parse(const char *text, size_t len, const char *name, char *err,
				size_t errlen)
{
	struct creds_db *db = calloc(1, sizeof(*db));
	if (!db) {
		perr(err, errlen, name, 0, _("out of memory"));
		return NULL;
	}
	atomic_init(&db->refs, 1);
	unsigned line = 0;
	size_t off = 0;
	while (off < len) {
		line++;
		const char *p = text + off;
		const char *nl = memchr(p, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - p) : len - off;
		off += ll + (nl ? 1 : 0);
		if (ll + 1 > CREDS_LINE_MAX) {
			perr(err, errlen, name, line, _("line longer than %d octets"), CREDS_LINE_MAX);
			goto fail;
		}
		if (ll && p[ll - 1] == '\r')
			ll--;
		size_t sp = 0;
		while (sp < ll && (p[sp] == ' ' || p[sp] == '\t'))
			sp++;
		if (sp == ll || p[sp] == '#')
			continue;
		if (db->n == db->cap) {
			size_t cap = db->cap ? db->cap * 2 : 16;
			struct creds_user *v = realloc(db->users, cap * sizeof(*v));
			if (!v) {
				perr(err, errlen, name, line, _("out of memory"));
				goto fail;
			}
			db->users = v;
			db->cap = cap;
		}
		struct creds_user *u = &db->users[db->n++];
		memset(u, 0, sizeof(*u));
		if (parse_line(p, ll, u, name, line, err, errlen))
			goto fail;
	}
	db->sorted = malloc((db->n ? db->n : 1) * sizeof(*db->sorted));
	if (!db->sorted) {
		perr(err, errlen, name, 0, _("out of memory"));
		goto fail;
	}
	for (size_t i = 0; i < db->n; i++)
		db->sorted[i] = &db->users[i];
	qsort(db->sorted, db->n, sizeof(*db->sorted), cmp_user);
	for (size_t i = 1; i < db->n; i++) {
		if (!strcmp(db->sorted[i - 1]->name, db->sorted[i]->name)) {
			unsigned a = db->sorted[i - 1]->line, b = db->sorted[i]->line;
			perr(err, errlen, name, a > b ? a : b, _("user \"%s\" already defined on line %u"),
			     db->sorted[i]->name, a < b ? a : b);
			goto fail;
		}
	}
	if (choose_dummy(db) != 0) {
		perr(err, errlen, name, 0, _("crypt_gensalt: %s"), strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	return db;
fail:
	db_free(db);
	return NULL;
}

struct creds_db *creds_db_load(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perr(err, errlen, path, 0, "%s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		perr(err, errlen, path, 0, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CREDS_FILE_MAX) {
		perr(err, errlen, path, 0, S_ISREG(st.st_mode) ? _("larger than %u octets") : _("not a regular file"),
		     CREDS_FILE_MAX);
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *text = malloc(size ? size : 1);
	if (!text) {
		close(fd);
		perr(err, errlen, path, 0, _("out of memory"));
		return NULL;
	}
	while (got < size) {
		ssize_t r = read(fd, text + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			perr(err, errlen, path, 0, _("read: %s"), r ? strerror(errno) : _("file shrank"));
			close(fd);
			free(text);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	struct creds_db *db = creds_db_parse(text, size, path, err, errlen);
	creds_wipe(text, size);
	free(text);
	return db;
}

struct creds_db *creds_db_ref(struct creds_db *db)
{
	if (db)
		atomic_fetch_add(&db->refs, 1);
	return db;
}

void creds_db_unref(struct creds_db *db)
{
	if (db && atomic_fetch_sub(&db->refs, 1) == 1)
		db_free(db);
}

size_t creds_db_count(const struct creds_db *db)
{
	return db->n;
}

const struct creds_user *creds_db_user(const struct creds_db *db, size_t i)
{
	return i < db->n ? &db->users[i] : NULL;
}

const char *creds_db_unknown_setting(const struct creds_db *db)
{
	return db->dummy_setting;
}

unsigned creds_db_slowest_ms(const struct creds_db *db)
{
	return db ? db->slowest_ms : 0;
}

const struct creds_user *creds_db_find(const struct creds_db *db, const char *name)
{
	struct creds_user key = { .name = (char *)name };
	const struct creds_user *k = &key;
	const struct creds_user **hit = bsearch(&k, db->sorted, db->n, sizeof(*db->sorted), cmp_user);
	return hit ? *hit : NULL;
}

enum creds_verdict creds_verify_password(const struct creds_db *db, const char *name,
					 const char *password)
{
	const struct creds_user *u = name ? creds_db_find(db, name) : NULL;
	bool usable = u && u->hash[0] == '$';
	const char *setting = usable ? u->hash : db->dummy_setting;
	/* 32 KiB: not on a pool thread's stack */
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return CREDS_ERROR;
	/* libxcrypt refuses longer passphrases: such a password is simply wrong */
	bool too_long = !password || strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE;
	const char *h = crypt_r(too_long ? "" : password, setting, cd);
	enum creds_verdict v = CREDS_BAD;
	if (too_long)
		v = CREDS_BAD;
	else if (usable && (!h || h[0] == '*'))
		v = CREDS_ERROR; /* a hash the library refuses: the file needs fixing */
	else if (usable) {
		size_t n = strlen(u->hash);
		if (strlen(h) == n && str_ct_equal(h, u->hash, n))
			v = CREDS_OK;
	}
	creds_wipe(cd, sizeof(*cd));
	free(cd);
	return v;
}
