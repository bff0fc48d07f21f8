#include "smtp/reply_parse.h"

#include <string.h>

void client_reply_parser_init(struct client_reply_parser *p)
{
	p->started = false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1*3DIGIT without a leading zero, as RFC 3463 §2 writes them; returns the
 * octets read, 0 when there is no number. */
static size_t esc_number(const char *s, size_t n, int *out)
{
	size_t i = 0;
	int v = 0;

	while (i < n && i < 3 && is_digit(s[i])) {
		v = v * 10 + (s[i] - '0');
		i++;
	}
	if (i == 0 || (i > 1 && s[0] == '0') || (i < n && is_digit(s[i])))
		return 0;
	*out = v;
	return i;
}

/* "c.s.d" followed by SP or the end of the text (RFC 2034 §4). */
static size_t esc_prefix(const char *s, size_t n, int code, int *cls, int *subject, int *detail)
{
	size_t i, k;

	if (n < 5 || s[0] != (char)('0' + code / 100) || s[1] != '.')
		return 0;
	i = 2;
	if (!(k = esc_number(s + i, n - i, subject)) || i + k >= n || s[i + k] != '.')
		return 0;
	i += k + 1;
	if (!(k = esc_number(s + i, n - i, detail)))
		return 0;
	i += k;
	if (i < n && s[i] != ' ')
		return 0;
	*cls = code / 100;
	return i;
}

const char *client_reply_line_text(const struct client_reply *r, size_t i)
{
	const char *s = r->text + r->off[i];
	int c, sub, det;
	size_t k = esc_prefix(s, r->len[i], r->code, &c, &sub, &det);

	if (k == 0)
		return s;
	return s[k] == ' ' ? s + k + 1 : s + k;
}

/* One line without its ending: "ddd", "ddd SP text" or "ddd-text".
 * *last is true for the final line of a reply. */
static enum client_reply_status parse_line(const char *s, size_t n, int *code, bool *last,
	const char **text, size_t *text_len)
{
	if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return CLIENT_REPLY_ERR_SYNTAX;
	/* RFC 5321 §4.2: the first digit is 2..5, the second 0..5 */
	if (s[0] < '2' || s[0] > '5' || s[1] > '5')
		return CLIENT_REPLY_ERR_SYNTAX;
	for (size_t i = 3; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return CLIENT_REPLY_ERR_SYNTAX;
	}
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (n == 3) {
		*last = true;
		*text = s + 3;
		*text_len = 0;
		return CLIENT_REPLY_DONE;
	}
	if (s[3] != ' ' && s[3] != '-')
		return CLIENT_REPLY_ERR_SYNTAX;
	*last = s[3] == ' ';
	*text = s + 4;
	*text_len = n - 4;
	return CLIENT_REPLY_DONE;
}

static enum client_reply_status fail(struct client_reply_parser *p, enum client_reply_status st)
{
	p->started = false;
	return st;
}

enum client_reply_status client_reply_parse(struct client_reply_parser *p,
	struct client_reply *reply, const char *in, size_t len, size_t *used)
{
	size_t pos = 0;

	*used = 0;
	for (;;) {
		const char *lf = memchr(in + pos, '\n', len - pos);

		if (!lf) {
			/* no complete line: an unfinished one may not grow past the limit */
			if (len - pos >= CLIENT_REPLY_LINE_MAX) {
				*used = len;
				return fail(p, CLIENT_REPLY_ERR_LONG);
			}
			*used = pos;
			return CLIENT_REPLY_MORE;
		}
		size_t end = (size_t)(lf - in) + 1;
		size_t n = end - pos - 1; /* without the LF */
		const char *s = in + pos;

		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (end - pos > CLIENT_REPLY_LINE_MAX) {
			*used = end;
			return fail(p, CLIENT_REPLY_ERR_LONG);
		}
		int code;
		bool last;
		const char *text;
		size_t text_len;
		enum client_reply_status st = parse_line(s, n, &code, &last, &text, &text_len);

		pos = end;
		*used = pos;
		if (st != CLIENT_REPLY_DONE)
			return fail(p, st);
		if (!p->started) {
			p->started = true;
			reply->code = code;
			reply->nlines = 0;
			reply->text_len = 0;
			reply->cls = reply->subject = reply->detail = 0;
		} else if (code != reply->code) {
			return fail(p, CLIENT_REPLY_ERR_CODE);
		}
		if (reply->nlines == CLIENT_REPLY_LINES_MAX)
			return fail(p, CLIENT_REPLY_ERR_LINES);
		/* text_len < 510 and 100 lines of 511 fit in text[] */
		size_t i = reply->nlines++;

		reply->off[i] = reply->text_len;
		reply->len[i] = text_len;
		memcpy(reply->text + reply->text_len, text, text_len);
		reply->text[reply->text_len + text_len] = '\0';
		reply->text_len += text_len + 1;
		if (i == 0)
			esc_prefix(text, text_len, code, &reply->cls, &reply->subject, &reply->detail);
		if (last) {
			p->started = false;
			return CLIENT_REPLY_DONE;
		}
	}
}

const char *client_reply_strerror(enum client_reply_status st)
{
	switch (st) {
	case CLIENT_REPLY_ERR_LONG:
		return "the server sent a reply line longer than 512 octets";
	case CLIENT_REPLY_ERR_SYNTAX:
		return "the server sent something that is not an SMTP reply";
	case CLIENT_REPLY_ERR_CODE:
		return "the server changed the reply code inside a multi-line reply";
	case CLIENT_REPLY_ERR_LINES:
		return "the server sent a reply of more than 100 lines";
	default:
		return "no error";
	}
}
