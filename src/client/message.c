#include "client/message.h"

#include <string.h>

#include "common/base64.h"

int client_msg_normalize(struct buf *out, const char *in, size_t n)
{
	size_t start = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (in[i] != '\r' && in[i] != '\n')
			continue;
		if ((rc = buf_append(out, in + start, i - start)) != BUF_OK ||
		    (rc = buf_append(out, "\r\n", 2)) != BUF_OK)
			return rc;
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (start < n) {
		if ((rc = buf_append(out, in + start, n - start)) != BUF_OK)
			return rc;
		return buf_append(out, "\r\n", 2);
	}
	return BUF_OK;
}

bool client_msg_has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* RFC 2047 §4.1 "B" encoding, one encoded-word per 45 input octets so each
 * stays under 75 characters; splits only between UTF-8 characters. */
static int encode_words(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;
	int rc = BUF_OK;

	while (i < n && rc == BUF_OK) {
		size_t k = n - i > 45 ? 45 : n - i;

		while (i + k < n && k > 0 && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;
		if (k == 0)
			k = n - i > 45 ? 45 : n - i;
		char enc[64];

		base64_encode(s + i, k, enc);
		rc = buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", enc);
		i += k;
	}
	return rc;
}

int client_msg_build(struct buf *out, const struct client_msg_fields *f)
{
	int rc;
	bool utf8_body = f->body && client_msg_has_8bit(f->body, strlen(f->body));

	if ((rc = buf_printf(out, "From: <%s>\r\n", f->from)) != BUF_OK)
		return rc;
	for (size_t i = 0; i < f->nto; i++)
		if ((rc = buf_printf(out, "%s<%s>%s", i ? " " : "To: ", f->to[i],
				     i + 1 < f->nto ? ",\r\n" : "\r\n")) != BUF_OK)
			return rc;
	if (f->subject) {
		size_t n = strlen(f->subject);

		if ((rc = buf_append_str(out, "Subject: ")) != BUF_OK)
			return rc;
		rc = client_msg_has_8bit(f->subject, n) ? encode_words(out, f->subject, n)
							: buf_append(out, f->subject, n);
		if (rc != BUF_OK || (rc = buf_append_str(out, "\r\n")) != BUF_OK)
			return rc;
	}
	if ((rc = buf_printf(out, "Date: %s\r\nMessage-ID: <%s>\r\n", f->date, f->message_id)) != BUF_OK)
		return rc;
	if (utf8_body &&
	    (rc = buf_append_str(out, "MIME-Version: 1.0\r\n"
				 "Content-Type: text/plain; charset=UTF-8\r\n"
				 "Content-Transfer-Encoding: 8bit\r\n")) != BUF_OK)
		return rc;
	if ((rc = buf_append_str(out, "\r\n")) != BUF_OK)
		return rc;
	if (f->body && f->body[0])
		return client_msg_normalize(out, f->body, strlen(f->body));
	return BUF_OK;
}

int client_msg_dot_stuff(struct buf *out, const char *msg, size_t n)
{
	size_t start = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		bool line_start = i == 0 || msg[i - 1] == '\n';

		if (line_start && msg[i] == '.') {
			if ((rc = buf_append(out, msg + start, i - start)) != BUF_OK ||
			    (rc = buf_append(out, ".", 1)) != BUF_OK)
				return rc;
			start = i;
		}
	}
	if ((rc = buf_append(out, msg + start, n - start)) != BUF_OK)
		return rc;
	return buf_append(out, ".\r\n", 3);
}
