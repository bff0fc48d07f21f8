/* creds: the users file (parse, errors with line numbers), password checks
 * (yescrypt, sha512-crypt, bcrypt), SCRAM keys against RFC 5802 and RFC
 * 7677, entries made from passwords, and the atomic rewrite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "creds/creds.h"
#include "creds/verify_cache.h"

static void b64(const void *p, size_t n, char *out)
{
	base64_encode(p, n, out);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static struct creds_db *parse(const char *text, char *err, size_t errlen)
{
	return creds_db_parse(text, strlen(text), "users", err, errlen);
}

/* RFC 5802 §5: user "user", password "pencil", salt QSXCR+Q6sek8bf92, i=4096.
 * RFC 7677 §3: the same with SCRAM-SHA-256 and salt W22ZaJ0SNY7soEsUEjb6gQ==.
 * The keys are those the RFC exchanges imply (test_sasl.c recomputes the
 * proofs and signatures the RFCs print from them). */
static void scram_rfc_vectors(void **st)
{
	struct creds_scram sc;
	unsigned char salt[64], salted[32];
	char out[128];
	size_t n;

	assert_true(base64_decode("QSXCR+Q6sek8bf92", 16, salt, &n));
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA1, "pencil", 6, salt, n, 4096, &sc, salted), 0);
	hex(salted, 20, out);
	assert_string_equal(out, "1d96ee3a529b5a5f9e47c01f229a2cb8a6e15f7d");
	b64(sc.stored_key, 20, out);
	assert_string_equal(out, "6dlGYMOdZcOPutkcNY8U2g7vK9Y=");
	b64(sc.server_key, 20, out);
	assert_string_equal(out, "D+CSWLOshSulAsxiupA+qs2/fTE=");
	char field[CREDS_SCRAM_FIELD_MAX];
	creds_scram_format(CREDS_SCRAM_SHA1, &sc, field);
	assert_string_equal(field, "4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=");

	assert_true(base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, &n));
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA256, "pencil", 6, salt, n, 4096, &sc, salted), 0);
	hex(salted, 32, out);
	assert_string_equal(out, "c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d");
	b64(sc.stored_key, 32, out);
	assert_string_equal(out, "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
	b64(sc.server_key, 32, out);
	assert_string_equal(out, "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");

	/* gsasl --mkpasswd output is accepted with its prefix */
	struct creds_scram p;
	const char *mk = "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
	assert_int_equal(creds_scram_parse(CREDS_SCRAM_SHA256, mk, strlen(mk), &p), 0);
	assert_memory_equal(p.stored_key, sc.stored_key, 32);
	assert_int_equal(p.iter, 4096);
	/* ...but not with the other mechanism's prefix or key size */
	assert_int_equal(creds_scram_parse(CREDS_SCRAM_SHA1, mk, strlen(mk), &p), -1);
	assert_int_equal(creds_scram_parse(CREDS_SCRAM_SHA1, mk + 15, strlen(mk) - 15, &p), -1);
	/* out-of-range inputs */
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA1, "x", 1, salt, n, 0, &sc, NULL), -1);
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA1, "x", 1, salt, 0, 4096, &sc, NULL), -1);
}

static void scram_dummy(void **st)
{
	unsigned char secret[32] = { 1, 2, 3 };
	struct creds_scram a, b, c;
	creds_scram_dummy(NULL, CREDS_SCRAM_SHA256, secret, "nobody", &a);
	creds_scram_dummy(NULL, CREDS_SCRAM_SHA256, secret, "nobody", &b);
	creds_scram_dummy(NULL, CREDS_SCRAM_SHA256, secret, "nobodz", &c);
	assert_memory_equal(&a, &b, sizeof(a)); /* stable: the same salt every time */
	assert_memory_not_equal(a.salt, c.salt, a.salt_len);
	assert_int_equal(a.iter, CREDS_SCRAM_ITER_DEFAULT);
	assert_int_equal(a.salt_len, CREDS_SCRAM_SALT_LEN);
	secret[0] = 9;
	creds_scram_dummy(NULL, CREDS_SCRAM_SHA256, secret, "nobody", &b);
	assert_memory_not_equal(a.salt, b.salt, a.salt_len);
}

/* An unknown user's iteration count and salt length are those of the real
 * users (the first with keys), else 10000 iterations tell them apart. */
static void scram_dummy_looks_like_real_users(void **st)
{
	unsigned char secret[32] = { 7 };
	unsigned char salt[64];
	memset(salt, 0x42, sizeof(salt));
	struct creds_scram real;
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA256, "pw", 2, salt, 24, 10000, &real, NULL), 0);
	char field[CREDS_SCRAM_FIELD_MAX], text[600];
	creds_scram_format(CREDS_SCRAM_SHA256, &real, field);
	snprintf(text, sizeof(text), "nokeys:!:\nalice:!:%s:\n", field);
	char err[256];
	struct creds_db *db = parse(text, err, sizeof(err));
	assert_non_null(db);
	struct creds_scram d, d1;
	creds_scram_dummy(db, CREDS_SCRAM_SHA256, secret, "mallory", &d);
	assert_int_equal(d.iter, 10000);
	assert_int_equal(d.salt_len, 24);
	/* no SCRAM-SHA-1 keys in the file: the defaults */
	creds_scram_dummy(db, CREDS_SCRAM_SHA1, secret, "mallory", &d1);
	assert_int_equal(d1.iter, CREDS_SCRAM_ITER_DEFAULT);
	assert_int_equal(d1.salt_len, CREDS_SCRAM_SALT_LEN);
	creds_db_unref(db);
	/* a 64-octet salt (the most the file takes) is filled, not overrun */
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA256, "pw", 2, salt, 64, 4096, &real, NULL), 0);
	creds_scram_format(CREDS_SCRAM_SHA256, &real, field);
	snprintf(text, sizeof(text), "alice:!:%s:\n", field);
	db = parse(text, err, sizeof(err));
	assert_non_null(db);
	creds_scram_dummy(db, CREDS_SCRAM_SHA256, secret, "mallory", &d);
	assert_int_equal(d.salt_len, 64);
	assert_memory_not_equal(d.salt, d.salt + 32, 32); /* two different blocks */
	creds_db_unref(db);
}

/* The secret beside the users file: made once (0600), then read back the
 * same at every start; a damaged or exposed one is refused. */
static void secret_file(void **st)
{
	char dir[] = "/tmp/test_creds_secret.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/users.secret", dir);
	unsigned char a[CREDS_SECRET_LEN], b[CREDS_SECRET_LEN], zero[CREDS_SECRET_LEN] = { 0 };
	char err[256];
	assert_int_equal(creds_secret_load(path, NULL, a, err, sizeof(err)), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 45); /* 32 octets in base64, LF */
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_int_equal(creds_secret_load(path, NULL, b, err, sizeof(err)), 0);
	assert_memory_equal(a, b, sizeof(a));
	chmod(path, 0644);
	assert_int_equal(creds_secret_load(path, NULL, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "readable by others"));
	chmod(path, 0600);
	FILE *f = fopen(path, "w");
	fputs("not hex\n", f);
	fclose(f);
	assert_int_equal(creds_secret_load(path, NULL, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "base64"));
	unlink(path);
	/* made by root, it belongs to the users file's owner (the daemon's
	 * user reads both after --user); made by anyone else, to them */
	char users[128];
	snprintf(users, sizeof(users), "%s/users", dir);
	fclose(fopen(users, "w"));
	bool root = geteuid() == 0;
	if (root)
		assert_int_equal(chown(users, 12345, 54321), 0);
	assert_int_equal(creds_secret_load(path, users, a, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, root ? 12345 : geteuid());
	assert_int_equal(sb.st_mode & 0777, 0600);
	unlink(path);
	unlink(users);
	rmdir(dir);
	snprintf(path, sizeof(path), "/nonexistent-dir-%d/users.secret", (int)getpid());
	assert_int_equal(creds_secret_load(path, NULL, b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot create"));
}

static char *make_hash(const char *prefix, unsigned long count, const char *pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, setting, sizeof(setting)));
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *h = strdup(crypt_r(pw, setting, cd));
	free(cd);
	return h;
}

static void verify_hash_kinds(void **st)
{
	char *y = make_hash("$y$", 0, "pencil");
	char *s6 = make_hash("$6$", 0, "pencil");
	char *bc = make_hash("$2b$", 5, "pencil");
	assert_memory_equal(y, "$y$", 3);
	char text[2048];
	snprintf(text, sizeof(text),
		 "# users\n\nyes:%s\nsha:%s::\nbf:%s\nlocked:!%s\nnohash:\n", y, s6, bc, y);
	char err[256] = "";
	struct creds_db *db = parse(text, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(creds_db_count(db), 5);
	assert_int_equal(creds_verify_password(db, "yes", "pencil"), CREDS_OK);
	assert_int_equal(creds_verify_password(db, "sha", "pencil"), CREDS_OK);
	assert_int_equal(creds_verify_password(db, "bf", "pencil"), CREDS_OK);
	assert_int_equal(creds_verify_password(db, "yes", "Pencil"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "sha", "pencil "), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "bf", ""), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "locked", "pencil"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "nohash", "pencil"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "nohash", ""), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "nobody", "pencil"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, NULL, "pencil"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "YES", "pencil"), CREDS_BAD); /* case matters */
	/* a password libxcrypt cannot take is wrong, not an error */
	char *lng = malloc(CRYPT_MAX_PASSPHRASE_SIZE + 10);
	memset(lng, 'a', CRYPT_MAX_PASSPHRASE_SIZE + 9);
	lng[CRYPT_MAX_PASSPHRASE_SIZE + 9] = '\0';
	assert_int_equal(creds_verify_password(db, "yes", lng), CREDS_BAD);
	free(lng);
	const struct creds_user *u = creds_db_find(db, "sha");
	assert_non_null(u);
	assert_int_equal(u->line, 4);
	assert_int_equal(u->scram[CREDS_SCRAM_SHA256].iter, 0);
	assert_null(u->cram_md5);
	assert_string_equal(creds_db_user(db, 0)->name, "yes");
	assert_null(creds_db_user(db, 5));
	creds_db_unref(db);
	free(y);
	free(s6);
	free(bc);
}

/* verify_cache: a hit only for the same user, hash and password, in time */
static void verify_cache(void **st)
{
	char *h1 = make_hash("$6$", 0, "pencil");
	char *h2 = make_hash("$6$", 0, "pencil"); /* another salt: a new hash */
	char text[1024], err[256] = "";
	snprintf(text, sizeof(text), "alice:%s\nbob:%s\nnohash:\n", h1, h1);
	struct creds_db *db = parse(text, err, sizeof(err));
	snprintf(text, sizeof(text), "alice:%s\n", h2);
	struct creds_db *db2 = parse(text, err, sizeof(err));
	assert_non_null(db);
	assert_non_null(db2);
	const struct creds_user *alice = creds_db_find(db, "alice");
	const struct creds_user *bob = creds_db_find(db, "bob");
	const struct creds_user *nohash = creds_db_find(db, "nohash");
	struct creds_cache *c = creds_cache_new(60);
	assert_non_null(c);
	assert_false(creds_cache_check(c, alice, "pencil", 100));
	creds_cache_put(c, alice, "pencil", 100);
	assert_true(creds_cache_check(c, alice, "pencil", 100));
	assert_true(creds_cache_check(c, alice, "pencil", 159));
	assert_false(creds_cache_check(c, alice, "pencil", 160)); /* expired */
	assert_false(creds_cache_check(c, alice, "pencil2", 120));
	assert_false(creds_cache_check(c, alice, "", 120));
	assert_false(creds_cache_check(c, bob, "pencil", 120)); /* same hash, other user */
	assert_false(creds_cache_check(c, creds_db_find(db2, "alice"), "pencil", 120)); /* new hash */
	creds_cache_put(c, nohash, "", 100); /* never cached: no hash to check against */
	assert_false(creds_cache_check(c, nohash, "", 100));
	creds_cache_put(c, alice, "other", 130); /* one entry per user: replaced */
	assert_false(creds_cache_check(c, alice, "pencil", 130));
	assert_true(creds_cache_check(c, alice, "other", 130));
	assert_null(creds_cache_new(0));
	creds_cache_free(c);
	creds_cache_free(NULL);
	creds_db_unref(db);
	creds_db_unref(db2);
	free(h1);
	free(h2);
}

/* An unknown user costs one real hash computation: it is checked against
 * a user's own setting (the slowest method and cost), never skipped. The
 * cost is the setting's, so comparing settings proves equal time without a
 * clock (a timed test would be flaky on a busy machine). */
static void unknown_user_costs_a_real_check(void **st)
{
	char *y = make_hash("$y$", 0, "pencil");
	char text[512];
	snprintf(text, sizeof(text), "a:%s\nb:%s\n", y, y);
	char err[256];
	struct creds_db *db = parse(text, err, sizeof(err));
	assert_non_null(db);
	assert_string_equal(creds_db_unknown_setting(db), y);
	assert_int_equal(creds_verify_password(db, "a", "wrong"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "zz", "wrong"), CREDS_BAD);
	assert_int_equal(creds_verify_password(db, "zz", "pencil"), CREDS_BAD);
	creds_db_unref(db);
	free(y);
	/* a file of cheap hashes first and a costly one after: the unknown
	 * user's is the costly one (bcrypt at cost 14 against sha512-crypt's
	 * 5,000 rounds: a thousand times and more apart, whatever the load) */
	char *s6 = make_hash("$6$", 0, "pencil"), *s6b = make_hash("$6$", 0, "pen");
	char *bc = make_hash("$2b$", 14, "pencil");
	snprintf(text, sizeof(text), "a:%s\nb:%s\nc:%s\n", s6, s6b, bc);
	db = parse(text, err, sizeof(err));
	assert_non_null(db);
	assert_string_equal(creds_db_unknown_setting(db), bc);
	assert_true(creds_db_slowest_ms(db) >= 1);
	creds_db_unref(db);
	free(s6);
	free(s6b);
	free(bc);
	/* no user with a crypt hash: a fresh setting of the default method */
	db = parse("# nobody yet\n", err, sizeof(err));
	assert_non_null(db);
	assert_true(strncmp(creds_db_unknown_setting(db), "$y$", 3) == 0);
	creds_db_unref(db);
}

static void full_entries(void **st)
{
	const char *text =
		"user:$6$abcdefgh$Vu2v3Oe0Hbu5Ko9X4Ckz5rV1iN2c6zB2Io3lC9q8hR0r5h9p.QwE8WcM5i3BSHp2CpLpT7W2O0QeU5t5K1V6y/:"
		"4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:"
		"4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=:cGVuY2ls\r\n"
		"  # indented comment\n"
		"scramonly::4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n"
		"\xe0\xb8\x97\xe0\xb8\x94 sp@ce.test:\n";
	char err[256] = "";
	struct creds_db *db = parse(text, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(creds_db_count(db), 3);
	const struct creds_user *u = creds_db_find(db, "user");
	assert_int_equal(u->scram[CREDS_SCRAM_SHA256].iter, 4096);
	assert_int_equal(u->scram[CREDS_SCRAM_SHA1].salt_len, 12);
	assert_string_equal(u->cram_md5, "pencil");
	u = creds_db_find(db, "scramonly");
	assert_string_equal(u->hash, "");
	assert_int_equal(u->scram[CREDS_SCRAM_SHA1].iter, 0);
	assert_non_null(creds_db_find(db, "\xe0\xb8\x97\xe0\xb8\x94 sp@ce.test"));
	creds_db_unref(db);

	/* an empty file is a valid file with nobody in it */
	db = parse("", err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(creds_db_count(db), 0);
	assert_int_equal(creds_verify_password(db, "x", "y"), CREDS_BAD);
	creds_db_unref(db);
}

static void expect_error(const char *text, const char *want)
{
	char err[256] = "";
	struct creds_db *db = parse(text, err, sizeof(err));
	if (db)
		fail_msg("accepted: %s", text);
	if (!strstr(err, want))
		fail_msg("for %s expected \"%s\" in \"%s\"", text, want, err);
}

static void malformed_lines(void **st)
{
	expect_error("ok:\nbad\n", "users: line 2: expected name:hash");
	expect_error("# c\n\n:$6$x$y\n", "users: line 3: bad user name");
	expect_error("a\x01b:\n", "line 1: control character");
	expect_error("a:\x7f\n", "line 1: control character");
	expect_error("a::::::\n", "line 1: too many ':' fields");
	expect_error("a:abcdefghijklm\n", "line 1: password hash: legacy DES");
	expect_error("a:$1$abc$def\n", "line 1: password hash: legacy method");
	expect_error("a:$zz$abc\n", "line 1: password hash");
	expect_error("a::4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n",
		     "line 1: SCRAM-SHA-256 field"); /* SHA-1 keys in the SHA-256 field */
	expect_error("a:::0,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n",
		     "line 1: SCRAM-SHA-1 field");
	expect_error("a:::4096,QSXCR+Q6sek8bf9,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=\n",
		     "line 1: SCRAM-SHA-1 field"); /* bad base64 */
	expect_error("a:::4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=\n", "SCRAM-SHA-1 field");
	expect_error("a::::!!!\n", "line 1: cram-md5 field");
	expect_error("a::::AA==\n", "line 1: cram-md5 field"); /* a NUL in the password */
	expect_error("x:\ny:\nx:\n", "users: line 3: user \"x\" already defined on line 1");
	/* the line limit: 4096 octets including the LF */
	char *big = malloc(CREDS_LINE_MAX + 2);
	memset(big, 'x', CREDS_LINE_MAX + 1);
	memcpy(big, "a:!", 3); /* a locked entry: the hash may be anything */
	big[CREDS_LINE_MAX - 1] = '\n';
	big[CREDS_LINE_MAX] = '\0';
	char err[256];
	struct creds_db *db = parse(big, err, sizeof(err));
	assert_non_null(db); /* 4095 octets + LF: fits */
	creds_db_unref(db);
	big[CREDS_LINE_MAX - 1] = 'x';
	big[CREDS_LINE_MAX] = '\n';
	big[CREDS_LINE_MAX + 1] = '\0';
	expect_error(big, "line 1: line longer than 4096 octets");
	free(big);
	/* a name of 256 octets is one too many */
	char name[300];
	memset(name, 'n', 256);
	memcpy(name + 256, ":\n", 3);
	expect_error(name, "bad user name");
	name[255] = ':';
	name[256] = '\n';
	name[257] = '\0';
	db = parse(name, err, sizeof(err));
	assert_non_null(db);
	creds_db_unref(db);
}

static void names(void **st)
{
	assert_true(creds_valid_name("alice", 5));
	assert_true(creds_valid_name("a@b.test", 8));
	assert_false(creds_valid_name("", 0));
	assert_false(creds_valid_name("a:b", 3));
	assert_false(creds_valid_name("a\tb", 3));
	assert_false(creds_valid_name("a\0b", 3));
	assert_false(creds_valid_name("a\x7f", 2));
}

static void saslprep(void **st)
{
	char *out;
	assert_int_equal(creds_saslprep("I\xc2\xad" "X", &out), 0); /* RFC 4013 §3 */
	assert_string_equal(out, "IX");
	free(out);
	assert_int_equal(creds_saslprep("\xc2\xaa", &out), 0);
	assert_string_equal(out, "a");
	free(out);
	assert_int_equal(creds_saslprep("a\x07", &out), -1);
	assert_null(out);
	assert_int_equal(creds_saslprep("", &out), -1);
	assert_int_equal(creds_saslprep("\xc2\xad", &out), -1); /* maps to nothing */
	assert_int_equal(creds_saslprep("\xff\xfe", &out), -1);  /* not UTF-8 */
	/* an emoji (unassigned in Unicode 3.2) is kept: gsasl_saslprep(...,
	 * GSASL_ALLOW_UNASSIGNED) refuses it */
	assert_int_equal(creds_saslprep("p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91", &out), 0);
	assert_string_equal(out, "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91");
	free(out);
	/* NFKC: a decomposed a + U+0308 becomes the precomposed U+00E4 */
	assert_int_equal(creds_saslprep("pa\xcc\x88ssw\xc3\xb6rd-\xf0\x9f\x94\x91", &out), 0);
	assert_string_equal(out, "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91");
	free(out);
	/* non-ASCII spaces map to SPACE (RFC 4013 §2.1) */
	assert_int_equal(creds_saslprep("a\xc2\xa0" "b", &out), 0);
	assert_string_equal(out, "a b");
	free(out);
	assert_true(creds_saslprep_has_unassigned("key \xf0\x9f\x94\x91"));
	assert_false(creds_saslprep_has_unassigned("p\xc3\xa4ss"));
}

/* A hash passwd makes from a UTF-8 password verifies the prepared form of
 * that password and of its NFKC twin (what the server checks). */
static void entry_make_utf8(void **st)
{
	struct creds_entry_opts o = { .scheme = CREDS_SHA512CRYPT, .iter = 4096 };
	char *line = NULL, err[256] = "";
	const char *composed = "p\xc3\xa4ssw\xc3\xb6rd-\xf0\x9f\x94\x91";
	const char *decomposed = "pa\xcc\x88sswo\xcc\x88rd-\xf0\x9f\x94\x91";
	assert_int_equal(creds_entry_make("j\xc3\xbcrgen", decomposed, &o, &line, err, sizeof(err)), 0);
	struct creds_db *db = parse(line, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(creds_verify_password(db, "j\xc3\xbcrgen", composed), CREDS_OK);
	const struct creds_user *u = creds_db_find(db, "j\xc3\xbcrgen");
	struct creds_scram k;
	assert_int_equal(creds_scram_derive(CREDS_SCRAM_SHA256, composed, strlen(composed),
					    u->scram[0].salt, u->scram[0].salt_len, 4096, &k, NULL), 0);
	assert_memory_equal(k.stored_key, u->scram[0].stored_key, 32);
	creds_db_unref(db);
	free(line);
}

static void entry_make(void **st)
{
	struct creds_entry_opts o = { .scheme = CREDS_YESCRYPT, .iter = 4096, .cram_md5 = true };
	char *line = NULL;
	char err[256] = "";
	assert_int_equal(creds_entry_make("alice", "s3cret pass", &o, &line, err, sizeof(err)), 0);
	assert_memory_equal(line, "alice:$y$", 9);
	struct creds_db *db = parse(line, err, sizeof(err));
	assert_non_null(db);
	const struct creds_user *u = creds_db_find(db, "alice");
	assert_int_equal(creds_verify_password(db, "alice", "s3cret pass"), CREDS_OK);
	assert_string_equal(u->cram_md5, "s3cret pass");
	/* the SCRAM keys are those of the password with the stored salt */
	for (int h = 0; h < CREDS_SCRAM_NHASH; h++) {
		struct creds_scram k;
		const struct creds_scram *sc = &u->scram[h];
		assert_int_equal(sc->iter, 4096);
		assert_int_equal(sc->salt_len, CREDS_SCRAM_SALT_LEN);
		assert_int_equal(creds_scram_derive((enum creds_scram_hash)h, "s3cret pass", 11, sc->salt,
						    sc->salt_len, sc->iter, &k, NULL), 0);
		assert_memory_equal(k.stored_key, sc->stored_key, creds_scram_key_len((enum creds_scram_hash)h));
		assert_memory_equal(k.server_key, sc->server_key, creds_scram_key_len((enum creds_scram_hash)h));
	}
	creds_db_unref(db);
	free(line);

	o.scheme = CREDS_SHA512CRYPT;
	o.cram_md5 = false;
	assert_int_equal(creds_entry_make("b", "\xe2\x85\xa8", &o, &line, err, sizeof(err)), 0); /* U+2168 -> "IX" */
	assert_memory_equal(line, "b:$6$", 5);
	assert_int_equal((int)(strchr(line, '\0') - strrchr(line, ':')) > 10, 1); /* 4 fields, no cram */
	db = parse(line, err, sizeof(err));
	assert_int_equal(creds_verify_password(db, "b", "IX"), CREDS_OK);
	assert_null(creds_db_find(db, "b")->cram_md5);
	creds_db_unref(db);
	free(line);

	o.scheme = CREDS_BCRYPT;
	assert_int_equal(creds_entry_make("c", "pw", &o, &line, err, sizeof(err)), 0);
	assert_memory_equal(line, "c:$2b$10$", 9);
	free(line);

	assert_int_equal(creds_entry_make("bad:name", "pw", &o, &line, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad user name"));
	assert_int_equal(creds_entry_make("n", "bell\x07", &o, &line, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SASLprep"));
	char *lng = malloc(CREDS_PASSWORD_MAX + 2);
	memset(lng, 'p', CREDS_PASSWORD_MAX + 1);
	lng[CREDS_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(creds_entry_make("n", lng, &o, &line, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer"));
	free(lng);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void file_edit(void **st)
{
	char dir[] = "/tmp/postern-test-creds-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/users", dir);
	char err[256] = "";
	/* set/del on a missing file: no such user; add creates it */
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_SET, "a", "a:", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no user \"a\""));
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_ADD, "a", "a:", err, sizeof(err)), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_string_equal(slurp(path), "a:\n");
	/* comments and other lines survive byte for byte; a file without a
	 * final LF gets one before the new line */
	FILE *f = fopen(path, "w");
	fputs("# the users\r\nab:\n\n  # x\na:::\nb:", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_ADD, "a", "a:", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_ADD, "c", "c:!", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "# the users\r\nab:\n\n  # x\na:::\nb:\nc:!\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_SET, "a", "a:!new", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "# the users\r\nab:\n\n  # x\na:!new\nb:\nc:!\n");
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_DEL, "b", NULL, err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "# the users\r\nab:\n\n  # x\na:!new\nc:!\n");
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_DEL, "b", NULL, err, sizeof(err)), -1);
	/* no temporary file is left behind */
	assert_int_equal(count_entries(dir), 1);
	/* a malformed file is not edited */
	f = fopen(path, "w");
	fputs("a:\nbroken\n", f);
	fclose(f);
	assert_int_equal(creds_file_edit(path, CREDS_EDIT_ADD, "z", "z:", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_string_equal(slurp(path), "a:\nbroken\n");
	assert_int_equal(count_entries(dir), 1);
	/* load errors name the file */
	assert_null(creds_db_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 2"));
	unlink(path);
	assert_null(creds_db_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	/* a directory that does not exist */
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/nope/users", dir);
	assert_int_equal(creds_file_edit(bad, CREDS_EDIT_ADD, "z", "z:", err, sizeof(err)), -1);
	rmdir(dir);
}

static void refcount(void **st)
{
	char err[64];
	struct creds_db *db = parse("a:\n", err, sizeof(err));
	assert_ptr_equal(creds_db_ref(db), db);
	creds_db_unref(db);
	assert_non_null(creds_db_find(db, "a"));
	creds_db_unref(db);
	creds_db_unref(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scram_rfc_vectors),
		cmocka_unit_test(scram_dummy),
		cmocka_unit_test(scram_dummy_looks_like_real_users),
		cmocka_unit_test(secret_file),
		cmocka_unit_test(verify_hash_kinds),
		cmocka_unit_test(verify_cache),
		cmocka_unit_test(unknown_user_costs_a_real_check),
		cmocka_unit_test(full_entries),
		cmocka_unit_test(malformed_lines),
		cmocka_unit_test(names),
		cmocka_unit_test(saslprep),
		cmocka_unit_test(entry_make_utf8),
		cmocka_unit_test(entry_make),
		cmocka_unit_test(file_edit),
		cmocka_unit_test(refcount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
