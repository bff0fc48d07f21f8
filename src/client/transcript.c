#include "client/transcript.h"

#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/escape.h"
#include "smtp/codes.h"

#define N_(s) s /* a msgid for xgettext, translated through tr */

static const char *tr_or_id(client_transcript_tr tr, const char *s)
{
	return tr && s ? tr(s) : s;
}

int client_transcript_quote(struct buf *out, const char *s, size_t n)
{
	return esc_append(out, ESC_TERMINAL, s, n);
}

/* A line of the peer's or ours, with anything unprintable escaped. */
static int line(struct buf *out, const char *who, const char *s, size_t n)
{
	int rc = buf_append_str(out, who);

	if (rc == BUF_OK)
		rc = client_transcript_quote(out, s, n);
	if (rc == BUF_OK)
		rc = buf_append_str(out, "\n");
	return rc;
}

int client_transcript_cmd(struct buf *out, const char *l, size_t n)
{
	return line(out, "C: ", l, n);
}

int client_transcript_note(struct buf *out, const char *text)
{
	return buf_printf(out, "   -- %s\n", text);
}

int client_transcript_body(struct buf *out, const char *cmd, size_t octets, size_t lines)
{
	return buf_printf(out, "C: %s(message: %zu octets, %zu lines)\n", cmd, octets, lines);
}

/* Decoded response with its secret replaced by the mask; *secret says
 * whether the base64 itself must be hidden. */
static int masked(struct buf *dec, enum client_mech mech, unsigned step, const char *d, size_t n,
		  bool *secret)
{
	*secret = false;
	switch (mech) {
	case CLIENT_MECH_PLAIN: {
		/* authzid NUL authcid NUL passwd (RFC 4616 §2) */
		const char *nul1 = memchr(d, '\0', n);
		const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - d)) : NULL;

		*secret = true;
		if (!nul2)
			return buf_append_str(dec, CLIENT_MASK);
		int rc = client_transcript_quote(dec, d, (size_t)(nul2 + 1 - d));

		return rc == BUF_OK ? buf_append_str(dec, CLIENT_MASK) : rc;
	}
	case CLIENT_MECH_LOGIN:
		/* the first answer is the user name, the second the password */
		if (step >= 2) {
			*secret = true;
			return buf_append_str(dec, CLIENT_MASK);
		}
		return client_transcript_quote(dec, d, n);
	case CLIENT_MECH_SCRAM_SHA_1:
	case CLIENT_MECH_SCRAM_SHA_256:
	case CLIENT_MECH_SCRAM_SHA_1_PLUS:
	case CLIENT_MECH_SCRAM_SHA_256_PLUS: {
		/* client-final-message: c=...,r=...,p=proof (RFC 5802 §7); the
		 * client-first starts with the GS2 header instead, whose
		 * "p=tls-exporter" names a channel binding and is no secret */
		if (n < 2 || d[0] != 'c' || d[1] != '=')
			return client_transcript_quote(dec, d, n);
		for (size_t i = 1; i + 2 <= n; i++) {
			if (d[i - 1] == ',' && d[i] == 'p' && d[i + 1] == '=') {
				*secret = true;
				size_t end = i + 2;

				while (end < n && d[end] != ',')
					end++;
				int rc = client_transcript_quote(dec, d, i + 2);

				if (rc == BUF_OK)
					rc = buf_append_str(dec, CLIENT_MASK);
				if (rc == BUF_OK)
					rc = client_transcript_quote(dec, d + end, n - end);
				return rc;
			}
		}
		return client_transcript_quote(dec, d, n);
	}
	default:
		return client_transcript_quote(dec, d, n);
	}
}

int client_transcript_auth(struct buf *out, enum client_mech mech, unsigned step,
	const char *prefix, const char *b64, size_t b64_len)
{
	struct buf dec;
	bool secret = false;
	int rc = BUF_OK;
	char *raw = malloc(base64_decoded_max(b64_len) + 1);
	size_t raw_len = 0;

	if (!raw)
		return BUF_NOMEM;
	buf_init(&dec, 16384);
	if (b64_len > 0 && !base64_decode(b64, b64_len, raw, &raw_len))
		rc = client_transcript_quote(&dec, "(not base64)", 12);
	else if (b64_len > 0)
		rc = masked(&dec, mech, step, raw, raw_len, &secret);
	memset(raw, 0, raw_len);
	free(raw);
	if (rc == BUF_OK)
		rc = buf_printf(out, "C: %s%s", prefix, prefix[0] && b64_len ? " " : "");
	if (rc == BUF_OK)
		rc = secret ? buf_append_str(out, CLIENT_MASK) : buf_append(out, b64, b64_len);
	if (rc == BUF_OK && b64_len > 0)
		rc = buf_printf(out, "   \xe2\x86\x90 \"%.*s\"", (int)dec.len, dec.data ? dec.data : "");
	if (rc == BUF_OK)
		rc = buf_append_str(out, "\n");
	buf_fini(&dec);
	return rc;
}

/* "334 <base64>": the challenge decoded, or a note that it is not base64. */
static int challenge(struct buf *out, const char *b64, size_t n)
{
	char *raw = malloc(base64_decoded_max(n) + 1);
	size_t raw_len = 0;
	int rc;

	if (!raw)
		return BUF_NOMEM;
	if (!base64_decode(b64, n, raw, &raw_len)) {
		free(raw);
		return buf_append_str(out, "   \xe2\x86\x90 (not base64)");
	}
	rc = buf_append_str(out, "   \xe2\x86\x90 \"");
	if (rc == BUF_OK)
		rc = client_transcript_quote(out, raw, raw_len);
	if (rc == BUF_OK)
		rc = buf_append_str(out, "\"");
	free(raw);
	return rc;
}

int client_transcript_reply(struct buf *out, const struct client_reply *r,
	client_transcript_tr tr)
{
	int rc = BUF_OK;

	for (size_t i = 0; i < r->nlines && rc == BUF_OK; i++) {
		size_t n;
		const char *t = client_reply_line(r, i, &n);

		rc = buf_printf(out, "S: %d%c", r->code, i + 1 < r->nlines ? '-' : ' ');
		if (rc == BUF_OK)
			rc = client_transcript_quote(out, t, n);
		if (rc == BUF_OK && r->code == 334)
			rc = challenge(out, t, n);
		if (rc == BUF_OK)
			rc = buf_append_str(out, "\n");
	}
	if (rc != BUF_OK)
		return rc;
	/* the annotation: class, the code's name and meaning, the enhanced code's name */
	const struct smtp_basic_code *b = smtp_code_basic(r->code);
	const char *cls = smtp_code_class_name(r->code / 100);

	rc = buf_printf(out, "   \xe2\x86\xb3 %dxx %s", r->code / 100, tr_or_id(tr, cls));
	if (rc == BUF_OK && b)
		rc = buf_printf(out, ": %s. %s", tr_or_id(tr, b->name), tr_or_id(tr, b->meaning));
	else if (rc == BUF_OK)
		rc = buf_printf(out, ": %d %s", r->code, tr_or_id(tr, N_("is not a defined SMTP reply code")));
	if (rc == BUF_OK && r->cls) {
		const struct smtp_enh_code *e = smtp_code_enhanced(r->subject, r->detail);

		if (e)
			rc = buf_printf(out, " [%d.%d.%d %s]", r->cls, r->subject, r->detail,
					tr_or_id(tr, e->name));
	}
	if (rc == BUF_OK)
		rc = buf_append_str(out, "\n");
	return rc;
}
