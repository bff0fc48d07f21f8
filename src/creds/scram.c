/* SCRAM keys (RFC 5802 §3, RFC 7677) through OpenSSL's libcrypto. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "creds/creds.h"

size_t creds_scram_key_len(enum creds_scram_hash h)
{
	return h == CREDS_SCRAM_SHA1 ? 20 : 32;
}

const char *creds_scram_name(enum creds_scram_hash h)
{
	return h == CREDS_SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

static const EVP_MD *md(enum creds_scram_hash h)
{
	return h == CREDS_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

int creds_scram_derive(enum creds_scram_hash h, const char *password, size_t pwlen,
		       const unsigned char *salt, size_t salt_len, unsigned iter,
		       struct creds_scram *out, unsigned char *salted)
{
	size_t kl = creds_scram_key_len(h);
	unsigned char sp[CREDS_KEY_MAX], ck[CREDS_KEY_MAX];
	unsigned int n = 0;
	int rc = -1;
	if (iter == 0 || iter > CREDS_SCRAM_ITER_MAX || salt_len == 0 || salt_len > CREDS_SALT_MAX)
		return -1;
	memset(out, 0, sizeof(*out));
	/* Hi() is PBKDF2 with HMAC as the PRF and dkLen the hash size (RFC 5802 §2.2) */
	if (!PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)salt_len, (int)iter, md(h), (int)kl, sp))
		goto out;
	if (!HMAC(md(h), sp, (int)kl, (const unsigned char *)"Client Key", 10, ck, &n) || n != kl)
		goto out;
	if (!EVP_Digest(ck, kl, out->stored_key, &n, md(h), NULL) || n != kl)
		goto out;
	if (!HMAC(md(h), sp, (int)kl, (const unsigned char *)"Server Key", 10, out->server_key, &n) ||
	    n != kl)
		goto out;
	memcpy(out->salt, salt, salt_len);
	out->salt_len = salt_len;
	out->iter = iter;
	if (salted)
		memcpy(salted, sp, kl);
	rc = 0;
out:
	creds_wipe(sp, sizeof(sp));
	creds_wipe(ck, sizeof(ck));
	return rc;
}

/* HMAC-SHA256(secret, label NUL hash counter name), block after block
 * (counter 0, 1, ...) until n octets: a salt may be up to 64 octets. */
static void prf(const unsigned char secret[CREDS_SECRET_LEN], const char *label,
		enum creds_scram_hash h, const char *name, unsigned char *out, size_t n)
{
	unsigned char buf[CREDS_NAME_MAX + 32], mac[32];
	size_t ll = strlen(label), nl = strnlen(name, CREDS_NAME_MAX);
	memcpy(buf, label, ll);
	buf[ll] = 0;
	buf[ll + 1] = (unsigned char)h;
	memcpy(buf + ll + 3, name, nl);
	for (unsigned char block = 0; n; block++) {
		unsigned int ml = 0;
		buf[ll + 2] = block;
		if (!HMAC(EVP_sha256(), secret, CREDS_SECRET_LEN, buf, ll + 3 + nl, mac, &ml))
			memset(mac, 0, sizeof(mac));
		size_t k = n < sizeof(mac) ? n : sizeof(mac);
		memcpy(out, mac, k);
		out += k;
		n -= k;
	}
	creds_wipe(mac, sizeof(mac));
}

void creds_scram_dummy(const struct creds_db *db, enum creds_scram_hash h,
		       const unsigned char secret[CREDS_SECRET_LEN], const char *name,
		       struct creds_scram *out)
{
	size_t kl = creds_scram_key_len(h);
	memset(out, 0, sizeof(*out));
	out->iter = CREDS_SCRAM_ITER_DEFAULT;
	out->salt_len = CREDS_SCRAM_SALT_LEN;
	for (size_t i = 0; db && i < creds_db_count(db); i++) {
		const struct creds_scram *real = &creds_db_user(db, i)->scram[h];
		if (real->iter) {
			out->iter = real->iter;
			out->salt_len = real->salt_len;
			break;
		}
	}
	prf(secret, "salt", h, name, out->salt, out->salt_len);
	prf(secret, "stored", h, name, out->stored_key, kl);
	prf(secret, "server", h, name, out->server_key, kl);
}
