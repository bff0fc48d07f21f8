#include "client/caps.h"

#include <string.h>

#include "common/str.h"

static const char *const mech_names[CLIENT_MECH__COUNT] = {
	[CLIENT_MECH_SCRAM_SHA_256_PLUS] = "SCRAM-SHA-256-PLUS",
	[CLIENT_MECH_SCRAM_SHA_1_PLUS] = "SCRAM-SHA-1-PLUS",
	[CLIENT_MECH_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[CLIENT_MECH_SCRAM_SHA_1] = "SCRAM-SHA-1",
	[CLIENT_MECH_CRAM_MD5] = "CRAM-MD5",
	[CLIENT_MECH_PLAIN] = "PLAIN",
	[CLIENT_MECH_LOGIN] = "LOGIN",
};

const char *client_mech_name(enum client_mech m)
{
	return m >= 0 && m < CLIENT_MECH__COUNT ? mech_names[m] : "?";
}

static enum client_mech mech_by_word(const char *s, size_t n)
{
	for (int m = 0; m < CLIENT_MECH__COUNT; m++)
		if (str_ieq(s, n, mech_names[m]))
			return (enum client_mech)m;
	return CLIENT_MECH_NONE;
}

enum client_mech client_mech_by_name(const char *name)
{
	return mech_by_word(name, strlen(name));
}

bool client_mech_exposes_password(enum client_mech m)
{
	return m == CLIENT_MECH_PLAIN || m == CLIENT_MECH_LOGIN;
}

/* The keyword of an EHLO line and where its parameters start. */
static size_t keyword_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ' ')
		i++;
	return i;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static void parse_auth(struct client_caps *caps, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		size_t start = i;

		while (i < n && s[i] != ' ')
			i++;
		if (i == start)
			break;
		enum client_mech m = mech_by_word(s + start, i - start);

		if (m != CLIENT_MECH_NONE)
			caps->mechs |= 1u << m;
		/* keep the offer as sent (ASCII letters, digits, '-', '_'), for messages */
		size_t have = strlen(caps->auth);

		if (have + 1 + (i - start) < sizeof(caps->auth)) {
			if (have)
				caps->auth[have++] = ' ';
			for (size_t k = start; k < i; k++) {
				char c = s[k];
				bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
					  (c >= '0' && c <= '9') || c == '-' || c == '_';

				caps->auth[have++] = ok ? c : '?';
			}
			caps->auth[have] = '\0';
		}
	}
}

void client_caps_parse(struct client_caps *caps, const struct client_reply *ehlo)
{
	memset(caps, 0, sizeof(*caps));
	for (size_t i = 1; i < ehlo->nlines; i++) {
		size_t n;
		const char *s = client_reply_line(ehlo, i, &n);
		size_t k = keyword_len(s, n);
		const char *arg = k < n ? s + k + 1 : s + n;
		size_t arg_len = k < n ? n - k - 1 : 0;

		if (str_ieq(s, k, "PIPELINING"))
			caps->pipelining = true;
		else if (str_ieq(s, k, "8BITMIME"))
			caps->eightbitmime = true;
		else if (str_ieq(s, k, "SMTPUTF8"))
			caps->smtputf8 = true;
		else if (str_ieq(s, k, "CHUNKING"))
			caps->chunking = true;
		else if (str_ieq(s, k, "STARTTLS"))
			caps->starttls = true;
		else if (str_ieq(s, k, "ENHANCEDSTATUSCODES"))
			caps->enhanced = true;
		else if (str_ieq(s, k, "DSN"))
			caps->dsn = true;
		else if (str_ieq(s, k, "SIZE")) {
			caps->has_size = true;
			if (!parse_u64(arg, arg_len, &caps->size))
				caps->size = 0;
		} else if (str_ieq(s, k, "AUTH")) {
			parse_auth(caps, arg, arg_len);
		} else if (k > 5 && str_iprefix(s, k, "AUTH=") && !caps->mechs) {
			/* the pre-RFC 2554 spelling some servers still send */
			parse_auth(caps, s + 5, n - 5);
		}
	}
}

enum client_mech client_caps_choose_mech(const struct client_caps *caps, bool tls, bool cb)
{
	for (int m = 0; m < CLIENT_MECH__COUNT; m++) {
		if (!(caps->mechs & (1u << m)))
			continue;
		if ((m == CLIENT_MECH_SCRAM_SHA_256_PLUS || m == CLIENT_MECH_SCRAM_SHA_1_PLUS) &&
		    !(tls && cb))
			continue;
		if (client_mech_exposes_password((enum client_mech)m) && !tls)
			continue;
		return (enum client_mech)m;
	}
	return CLIENT_MECH_NONE;
}
