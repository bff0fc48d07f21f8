/* Credentials: the users file, password hashes (libxcrypt's crypt_r) and
 * SCRAM keys (RFC 5802 §3), so that SCRAM works without the password.
 *
 * The users file, one user per line, fields separated by ':':
 *
 *     name:crypt-hash:scram-sha-256:scram-sha-1[:cram-md5]
 *
 * each scram field "iterations,salt,StoredKey,ServerKey" (base64, the form
 * `gsasl --mkpasswd` prints after its "{SCRAM-...}" prefix) or empty; the
 * cram-md5 field is base64 of the SASLprep'ed password, present only for
 * users written with CRAM-MD5 enabled (GNU SASL computes HMAC-MD5 from the
 * password itself). Fields after the hash may be omitted. '#' starts a
 * comment line; blank lines are ignored.
 *
 * A loaded file is a read-only, reference-counted database shared by every
 * loop and worker thread; a reload builds a new one and swaps the pointer. */
#ifndef POSTERN_CREDS_CREDS_H
#define POSTERN_CREDS_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#define CREDS_NAME_MAX 255      /* octets of a user name */
#define CREDS_LINE_MAX 4096     /* octets of one line of the users file, LF included */
#define CREDS_FILE_MAX (64u << 20) /* a bigger users file is refused */
#define CREDS_PASSWORD_MAX 1024 /* octets of a password */
#define CREDS_SALT_MAX 64       /* octets of a SCRAM salt */
#define CREDS_KEY_MAX 32        /* SHA-256 output */
#define CREDS_SCRAM_SALT_LEN 16 /* what `postern passwd` writes */
/* RFC 7677 §4: at least 4096 iterations. */
#define CREDS_SCRAM_ITER_DEFAULT 4096
#define CREDS_SCRAM_ITER_MAX 10000000
#define CREDS_SECRET_LEN 32     /* octets of the server's secret (creds_secret_load) */

enum creds_scram_hash {
	CREDS_SCRAM_SHA256 = 0,
	CREDS_SCRAM_SHA1 = 1,
};
#define CREDS_SCRAM_NHASH 2

/* RFC 5802 §3: what the server keeps instead of the password. */
struct creds_scram {
	unsigned iter; /* 0: this user has no keys for this hash */
	unsigned char salt[CREDS_SALT_MAX];
	size_t salt_len;
	unsigned char stored_key[CREDS_KEY_MAX];
	unsigned char server_key[CREDS_KEY_MAX];
};

struct creds_user {
	char *name;
	char *hash;     /* crypt(3) string; "" when PLAIN/LOGIN cannot work; "!..." is locked */
	struct creds_scram scram[CREDS_SCRAM_NHASH];
	char *cram_md5; /* the SASLprep'ed password, or NULL */
	unsigned line;  /* in the file, for messages */
};

/* 20 or 32. */
size_t creds_scram_key_len(enum creds_scram_hash h);
const char *creds_scram_name(enum creds_scram_hash h); /* "SCRAM-SHA-256" */

/* ---- the database ---- */

struct creds_db;

/* Read and check the whole file. NULL with a one-line reason naming the
 * file and the line ("users: line 3: ...") on any error. */
struct creds_db *creds_db_load(const char *path, char *err, size_t errlen);
/* The same from memory; name is used in messages. */
struct creds_db *creds_db_parse(const char *text, size_t len, const char *name, char *err,
				size_t errlen);
struct creds_db *creds_db_ref(struct creds_db *db);
void creds_db_unref(struct creds_db *db); /* NULL is a no-op */
size_t creds_db_count(const struct creds_db *db);
const struct creds_user *creds_db_user(const struct creds_db *db, size_t i); /* in file order */
/* Exact (case-sensitive) match; NULL if absent. */
const struct creds_user *creds_db_find(const struct creds_db *db, const char *name);
/* The crypt setting an unknown user's password is checked against: the
 * slowest method and cost in the file, so that no failure is slower than
 * an unknown user's. */
const char *creds_db_unknown_setting(const struct creds_db *db);
/* Milliseconds one check of that setting took when the file was read:
 * the time every failed check is made to take at least (server/auth.c). */
unsigned creds_db_slowest_ms(const struct creds_db *db);

/* A name the file can hold: 1..255 octets, no control octet, no ':'. */
bool creds_valid_name(const char *name, size_t len);

/* ---- checking a password (PLAIN, LOGIN) ---- */

enum creds_verdict {
	CREDS_OK,
	CREDS_BAD,     /* unknown user, wrong password, no usable hash: one answer */
	CREDS_ERROR,   /* out of memory, crypt failure */
};

/* Compare password (already SASLprep'ed) with the user's crypt hash.
 * Blocking: yescrypt costs tens of milliseconds, so the server calls this
 * on a worker thread. An unknown user, a user without a hash and a locked
 * one cost one hash computation all the same (with the first user's
 * setting), so that timing does not tell them apart. Thread-safe. */
enum creds_verdict creds_verify_password(const struct creds_db *db, const char *name,
					 const char *password);

/* ---- SCRAM (RFC 5802 §3) ---- */

/* SaltedPassword := Hi(password, salt, i) (PBKDF2-HMAC);
 * StoredKey := H(HMAC(SaltedPassword, "Client Key"));
 * ServerKey := HMAC(SaltedPassword, "Server Key").
 * salted (optional) receives SaltedPassword. 0 or -1. */
int creds_scram_derive(enum creds_scram_hash h, const char *password, size_t pwlen,
		       const unsigned char *salt, size_t salt_len, unsigned iter,
		       struct creds_scram *out, unsigned char *salted);
/* Keys for a user who has none (unknown, or no SCRAM entry): the salt and
 * keys derived from a secret that outlives restarts (creds_secret_load) and
 * the name, the iteration count and salt length of the file's first user
 * with keys for h (4096 and 16 when none), so that an unknown name looks
 * like a real one across restarts and reloads, and the exchange fails only
 * at the proof, like a wrong password. */
void creds_scram_dummy(const struct creds_db *db, enum creds_scram_hash h,
		       const unsigned char secret[CREDS_SECRET_LEN], const char *name,
		       struct creds_scram *out);
/* Parse / print the "iterations,salt,StoredKey,ServerKey" field. */
int creds_scram_parse(enum creds_scram_hash h, const char *s, size_t len, struct creds_scram *out);
/* out needs CREDS_SCRAM_FIELD_MAX octets. */
#define CREDS_SCRAM_FIELD_MAX 256
void creds_scram_format(enum creds_scram_hash h, const struct creds_scram *sc, char *out);

/* ---- the server's own secret ---- */

/* Read the 32-octet secret kept in path (base64 and a LF), or
 * create it (mode 0600, random, fsynced with its directory; when root
 * creates it, with the owner and group of the file owner_like, which may
 * be NULL) when path does not exist. A file others may read is refused.
 * 0, or -1 with a one-line err naming path. */
int creds_secret_load(const char *path, const char *owner_like, unsigned char out[CREDS_SECRET_LEN],
		      char *err, size_t errlen);

/* ---- helpers ---- */

/* Cryptographically random octets (getrandom). 0 or -1. */
int creds_random(void *buf, size_t n);
/* SASLprep (RFC 4013) of a user name or a password, the one preparation
 * used everywhere: postern passwd before hashing, the server before a
 * lookup or a check, the client before PLAIN, LOGIN and SCRAM. Unassigned
 * code points are allowed (a "query", RFC 3454 §7), so emoji work.
 * *out is malloc'ed (free it). 0, or -1 (prohibited characters such as
 * controls, not UTF-8, empty after mapping). */
int creds_saslprep(const char *in, char **out);
/* Whether in holds a code point Unicode 3.2 did not assign (emoji): strict
 * SCRAM clients such as GNU SASL's refuse such a password. */
bool creds_saslprep_has_unassigned(const char *in);
/* Overwrite a secret before freeing it. */
void creds_wipe(void *p, size_t n);

/* ---- writing the file (postern passwd) ---- */

enum creds_scheme {
	CREDS_YESCRYPT,    /* libxcrypt's default */
	CREDS_SHA512CRYPT,
	CREDS_BCRYPT,
};

struct creds_entry_opts {
	enum creds_scheme scheme;
	unsigned iter;  /* SCRAM iterations; 0: CREDS_SCRAM_ITER_DEFAULT */
	bool cram_md5;  /* also keep the password for CRAM-MD5 */
};

/* One line of the users file (without LF) for name and password: the
 * crypt hash, both SCRAM entries and, if asked, the CRAM-MD5 field. The
 * password is SASLprep'ed first. *line is malloc'ed. 0, or -1 with err. */
int creds_entry_make(const char *name, const char *password, const struct creds_entry_opts *o,
		     char **line, char *err, size_t errlen);

enum creds_edit {
	CREDS_EDIT_ADD, /* fails if name exists */
	CREDS_EDIT_SET, /* fails if name is absent */
	CREDS_EDIT_DEL, /* fails if name is absent */
};

/* Rewrite the users file with the line of name added, replaced or removed:
 * the existing file must load cleanly; every other line (comments too) is
 * kept as it was. Atomic: a temporary file beside it, mode 0600, fsync,
 * rename, fsync of the directory, all under an exclusive lock of the
 * directory (flock) so two editors never lose each other's change. A
 * missing file is created (ADD only). Returns 0, or -1 with a one-line err. */
int creds_file_edit(const char *path, enum creds_edit op, const char *name, const char *line,
		    char *err, size_t errlen);

#endif
