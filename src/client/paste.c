/* Finding replies in pasted text: strip what each tool puts before a reply
 * line, then let the client's reply parser group the lines. */
#include "client/paste.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client/reply_parse.h"

struct scan {
	struct client_reply_parser p;
	struct client_reply r;
	client_paste_fn fn;
	void *arg;
	size_t found;
};

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "ddd" then the end, a space or a hyphen: the shape of a reply line. */
static bool reply_shape(const char *s, size_t n)
{
	return n >= 3 && s[0] >= '2' && s[0] <= '5' && digit(s[1]) && digit(s[2]) &&
	       (n == 3 || s[3] == ' ' || s[3] == '-');
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

/* "ddd c.s.d": a reply code with an enhanced code of its class, as bounces
 * and server logs quote them inside a longer line. */
static bool quoted_reply(const char *s, size_t n)
{
	if (n < 9 || !reply_shape(s, n) || s[3] != ' ' || s[4] != s[0] || s[5] != '.')
		return false;
	size_t i = 6;

	while (i < n && digit(s[i]))
		i++;
	if (i == 6 || i >= n || s[i] != '.')
		return false;
	size_t j = ++i;

	while (i < n && digit(s[i]))
		i++;
	return i > j && (i == n || s[i] == ' ');
}

/* The reply line inside one pasted line, or NULL: *len gets its length;
 * *whole is set when the line quotes a whole reply (a log line). */
static const char *payload(const char *s, size_t n, size_t *len, bool *whole)
{
	/* what the tools put before a server line: postern send -v and raw
	 * dialogues ("S: "), swaks ("<-  ", "<~  ", "<** ", "<~* "), msmtp
	 * ("<-- "), and "<<< " */
	static const char *const prefixes[] = { "S: ", "S:", "<-- ", "<<< ", "<-", "<~", "<**", "<~*" };
	static const char said[] = "said: ";

	*whole = false;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (starts(s, n, prefixes[i])) {
			size_t k = strlen(prefixes[i]);

			while (k < n && (s[k] == ' ' || s[k] == '*'))
				k++;
			*len = n - k;
			return reply_shape(s + k, n - k) ? s + k : NULL;
		}
	}
	if (reply_shape(s, n)) {
		*len = n;
		return s;
	}
	/* Postfix: "... said: 550 5.1.1 <a@b>: ... (in reply to RCPT TO command)" */
	for (size_t i = 0; i + sizeof(said) - 1 < n; i++) {
		if (memcmp(s + i, said, sizeof(said) - 1) == 0 &&
		    reply_shape(s + i + sizeof(said) - 1, n - i - (sizeof(said) - 1))) {
			*len = n - i - (sizeof(said) - 1);
			*whole = true;
			return s + i + sizeof(said) - 1;
		}
	}
	/* a reply quoted in a bounce or a server's log ("reject: ... 554 5.7.1 ...") */
	for (size_t i = 1; i < n; i++) {
		if (s[i - 1] == ' ' && quoted_reply(s + i, n - i)) {
			*len = n - i;
			*whole = true;
			return s + i;
		}
	}
	return NULL;
}

/* Hand the reply the parser holds to the callback, and start afresh. */
static int flush(struct scan *sc)
{
	struct client_explain_code c;
	const char *first;
	size_t used = 0;
	int rc = 0;

	if (sc->r.nlines == 0) {
		client_reply_parser_init(&sc->p);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.basic = sc->r.code;
	/* RFC 3463 2 has no class 3: "334 3.7.2" carries no enhanced code */
	if (sc->r.cls == 2 || sc->r.cls == 4 || sc->r.cls == 5) {
		c.cls = sc->r.cls;
		c.subject = sc->r.subject;
		c.detail = sc->r.detail;
	}
	first = client_reply_line(&sc->r, 0, NULL);
	if (!c.cls) {
		/* an enhanced code of another class is kept, to be called impossible */
		struct client_explain_code e;
		size_t k = strcspn(first, " ");
		char tok[16];

		if (k > 0 && k < sizeof(tok)) {
			memcpy(tok, first, k);
			tok[k] = '\0';
			if (strchr(tok, '.') && client_explain_parse(tok, &e) == EXPLAIN_OK && !e.basic) {
				c.cls = e.cls;
				c.subject = e.subject;
				c.detail = e.detail;
			}
		}
	}
	/* the text of every line, joined; a 334's base64 alone (send -v shows
	 * the decoded challenge after it) */
	for (size_t i = 0; i < sc->r.nlines; i++) {
		const char *t = c.cls && c.cls == sc->r.cls ? client_reply_line_text(&sc->r, i)
							    : client_reply_line(&sc->r, i, NULL);
		size_t tl = strlen(t);

		if (c.basic == 334)
			tl = strcspn(t, " ");
		if (used > 0 && used + 1 < sizeof(c.text))
			c.text[used++] = ' ';
		for (size_t k = 0; k < tl && used + 1 < sizeof(c.text); k++) {
			unsigned char ch = (unsigned char)t[k];

			c.text[used++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
		}
		if (c.basic == 334)
			break;
	}
	/* never end inside a UTF-8 sequence */
	if (used + 1 >= sizeof(c.text))
		while (used > 0 && ((unsigned char)c.text[used] & 0xc0) == 0x80)
			used--;
	c.text[used] = '\0';
	sc->found++;
	rc = sc->fn(sc->arg, &c);
	client_reply_parser_init(&sc->p);
	sc->r.nlines = 0;
	return rc;
}

/* Feed one reply line (without its line end) to the reply parser. */
static int feed(struct scan *sc, const char *s, size_t n, bool whole)
{
	static const char in_reply[] = " (in reply to ";
	char line[CLIENT_REPLY_LINE_MAX];
	size_t used = 0;
	int rc;

	if (n > CLIENT_REPLY_LINE_MAX - 2)
		n = CLIENT_REPLY_LINE_MAX - 2;
	memcpy(line, s, n);
	if (whole) {
		/* Postfix logs a multi-line reply on one line ("550-5.7.1 ...")
		 * and adds which command it answered: the reply is complete */
		if (n > 3)
			line[3] = ' ';
		for (size_t k = n; k-- > 4;)
			if (k + sizeof(in_reply) - 1 <= n &&
			    memcmp(line + k, in_reply, sizeof(in_reply) - 1) == 0) {
				n = k;
				break;
			}
		if (sc->p.started && (rc = flush(sc)) != 0)
			return rc;
	}
	line[n] = '\n';
	for (int attempt = 0; attempt < 2; attempt++) {
		enum client_reply_status st = client_reply_parse(&sc->p, &sc->r, line, n + 1, &used);

		if (st == CLIENT_REPLY_DONE)
			return flush(sc);
		if (st == CLIENT_REPLY_MORE)
			return 0;
		/* another reply began (a code change), or a line the parser
		 * refuses: give what came before, then try the line once afresh */
		rc = flush(sc);
		if (rc)
			return rc;
		if (st != CLIENT_REPLY_ERR_CODE)
			return 0;
	}
	return 0;
}

int client_paste_scan(const char *in, size_t n, client_paste_fn fn, void *arg, size_t *found)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	size_t i = 0;
	int rc = 0;

	*found = 0;
	if (!sc)
		return -1;
	sc->fn = fn;
	sc->arg = arg;
	client_reply_parser_init(&sc->p);
	if (n > CLIENT_PASTE_MAX)
		n = CLIENT_PASTE_MAX;
	while (i < n && rc == 0) {
		const char *s = in + i;
		const char *nl = memchr(s, '\n', n - i);
		size_t len = nl ? (size_t)(nl - s) : n - i, plen = 0;

		i += len + (nl ? 1 : 0);
		while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		bool whole;
		const char *p = payload(s, len, &plen, &whole);

		if (p) {
			rc = feed(sc, p, plen, whole);
			continue;
		}
		rc = flush(sc);
		/* a code on a line of its own: "5.7.8", "X.7.8" */
		struct client_explain_code c;
		char tok[32];

		if (rc == 0 && len > 0 && len < sizeof(tok) && memchr(s, '.', len)) {
			memcpy(tok, s, len);
			tok[len] = '\0';
			if (client_explain_parse(tok, &c) == EXPLAIN_OK && c.cls && !c.basic) {
				sc->found++;
				rc = fn(arg, &c);
			}
		}
	}
	if (rc == 0)
		rc = flush(sc);
	*found = sc->found;
	free(sc);
	return rc;
}
