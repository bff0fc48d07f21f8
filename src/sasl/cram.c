/* CRAM-MD5 for the server (cram.h), HMAC-MD5 from libcrypto. */
#include "sasl/cram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

size_t cram_challenge(char *out, uint64_t random, time_t now, const char *hostname)
{
	int n = snprintf(out, CRAM_CHALLENGE_MAX, "<%llu.%lld@%s>", (unsigned long long)random,
			 (long long)now, hostname);
	return n > 0 && n < CRAM_CHALLENGE_MAX ? (size_t)n : 0;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool cram_parse(const unsigned char *in, size_t len, size_t *user_len)
{
	if (len < CRAM_DIGEST_HEX + 2 || in[len - CRAM_DIGEST_HEX - 1] != ' ')
		return false;
	for (size_t i = len - CRAM_DIGEST_HEX; i < len; i++)
		if (hex_value(in[i]) < 0)
			return false;
	*user_len = len - CRAM_DIGEST_HEX - 1;
	return true;
}

bool cram_verify(const unsigned char *in, size_t len, const char *secret, const char *challenge)
{
	size_t user_len;
	if (!cram_parse(in, len, &user_len))
		return false;
	unsigned char mac[EVP_MAX_MD_SIZE], got[16];
	unsigned int maclen = 0;
	if (!HMAC(EVP_md5(), secret, (int)strlen(secret), (const unsigned char *)challenge,
		  strlen(challenge), mac, &maclen) ||
	    maclen != sizeof(got))
		return false;
	const unsigned char *hex = in + user_len + 1;
	for (size_t i = 0; i < sizeof(got); i++)
		got[i] = (unsigned char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
	bool same = CRYPTO_memcmp(mac, got, sizeof(got)) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return same;
}
