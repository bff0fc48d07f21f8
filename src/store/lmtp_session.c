/* The LMTP client session (lmtp_session.h, RFC 2033). */
#include "store/lmtp_session.h"

#include "common/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
	S_GREETING, /* waiting for 220 */
	S_LHLO,     /* waiting for LHLO's 250 */
	S_READY,    /* between messages */
	S_ENVELOPE, /* MAIL, RCPT..., DATA sent (or being sent one by one) */
	S_BODY,     /* 354 came: the driver streams the body */
	S_REPLIES,  /* "." sent: one reply per accepted recipient */
	S_CLOSED,
};

/* The replies a message waits for, in order: MAIL, RCPT 0..n-1, DATA. */
enum step { STEP_RSET, STEP_MAIL, STEP_RCPT, STEP_DATA };

struct lmtp_session {
	enum state state;
	struct buf out;
	struct client_reply_parser parser;
	struct client_reply reply;
	char *lhlo_name;
	bool pipelining, eightbitmime, smtputf8;
	bool pipe; /* this message's envelope goes in one write (PIPELINING, and it fits) */
	/* the message */
	char *sender;
	char **rcpts;
	size_t nrcpts;
	bool use_smtputf8, use_8bit;
	struct lmtp_rcpt_result *results;
	size_t *accepted; /* indexes of recipients RCPT accepted, in order */
	size_t naccepted;
	enum step step; /* the next reply expected in S_ENVELOPE */
	size_t rcpt;    /* the recipient whose RCPT reply is next */
	size_t sent;    /* commands of the envelope written (without PIPELINING: one ahead) */
	bool mail_failed;
	bool need_rset; /* the last transaction did not end with "." */
	size_t replied; /* replies to "." received in S_REPLIES */
	/* the body's dot-stuffing */
	bool bol;       /* at the start of a line */
	char tail[2];   /* the body's last two octets: does it end with CRLF? */
	char error[CLIENT_REPLY_LINE_MAX + 64];
};

struct lmtp_session *lmtp_session_new(const char *lhlo_name)
{
	struct lmtp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!(s->lhlo_name = strdup(lhlo_name))) {
		free(s);
		return NULL;
	}
	buf_init(&s->out, LMTP_OUT_MAX);
	client_reply_parser_init(&s->parser);
	s->state = S_GREETING;
	return s;
}

static void msg_clear(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
	free(s->sender);
	free(s->results);
	free(s->accepted);
	s->rcpts = NULL;
	s->sender = NULL;
	s->results = NULL;
	s->accepted = NULL;
	s->nrcpts = s->naccepted = 0;
}

void lmtp_session_free(struct lmtp_session *s)
{
	if (!s)
		return;
	msg_clear(s);
	buf_fini(&s->out);
	free(s->lhlo_name);
	free(s);
}

struct buf *lmtp_session_out(struct lmtp_session *s) { return &s->out; }

const char *lmtp_session_error(const struct lmtp_session *s) { return s->error; }

bool lmtp_session_after_dot(const struct lmtp_session *s) { return s->state == S_REPLIES; }

const struct lmtp_rcpt_result *lmtp_session_rcpt(const struct lmtp_session *s, size_t i)
{
	return i < s->nrcpts ? &s->results[i] : NULL;
}

static enum lmtp_event closed(struct lmtp_session *s, const char *fmt, const char *arg)
{
	if (s->state != S_CLOSED)
		(void)snprintf(s->error, sizeof(s->error), fmt, arg);
	s->state = S_CLOSED;
	return LMTP_EV_CLOSED;
}

/* The reply's first line with its code, as recipients and logs see it. */
static void reply_text(const struct client_reply *r, char *out, size_t outlen)
{
	size_t len;
	const char *line = client_reply_line(r, 0, &len);
	(void)snprintf(out, outlen, "%d%s%.*s", r->code, len ? " " : "", (int)len, line);
}

static void set_result(struct lmtp_session *s, size_t i, const struct client_reply *r)
{
	s->results[i].code = r->code;
	reply_text(r, s->results[i].text, sizeof(s->results[i].text));
}

/* ---- commands ---- */

static bool queue_cmd(struct lmtp_session *s, const char *fmt, const char *a, const char *b,
		      const char *c)
{
	return buf_printf(&s->out, fmt, a, b, c) == BUF_OK;
}

/* The envelope command number k: 0 MAIL, 1..n RCPT, n+1 DATA. */
static bool send_cmd(struct lmtp_session *s, size_t k)
{
	if (k == 0)
		return queue_cmd(s, "MAIL FROM:<%s>%s%s\r\n", s->sender,
				 s->use_8bit ? " BODY=8BITMIME" : "",
				 s->use_smtputf8 ? " SMTPUTF8" : "");
	if (k <= s->nrcpts)
		return queue_cmd(s, "RCPT TO:<%s>%s%s\r\n", s->rcpts[k - 1], "", "");
	return queue_cmd(s, "DATA\r\n%s%s%s", "", "", "");
}

static bool has_non_ascii(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return true;
	return false;
}

/* Whether the whole envelope fits in `out` beside what is there: a long
 * recipient list goes one command at a time instead (RFC 2920 leaves it to
 * the client). The count is generous: the longest parameters, CRLFs. */
static bool envelope_fits(const struct lmtp_session *s)
{
	size_t need = strlen("RSET\r\nMAIL FROM:<> BODY=8BITMIME SMTPUTF8\r\nDATA\r\n") +
		      strlen(s->sender);
	for (size_t i = 0; i < s->nrcpts && need <= LMTP_OUT_MAX; i++)
		need += strlen("RCPT TO:<>\r\n") + strlen(s->rcpts[i]);
	return s->out.len + need <= LMTP_OUT_MAX;
}

enum lmtp_event lmtp_session_start(struct lmtp_session *s, const struct lmtp_msg *m)
{
	if (s->state != S_READY || m->nrcpts == 0)
		return closed(s, "%s", "a message started at the wrong time");
	msg_clear(s);
	s->rcpts = calloc(m->nrcpts, sizeof(*s->rcpts));
	s->results = calloc(m->nrcpts, sizeof(*s->results));
	s->accepted = calloc(m->nrcpts, sizeof(*s->accepted));
	s->sender = strdup(m->sender);
	if (!s->rcpts || !s->results || !s->accepted || !s->sender)
		return closed(s, "%s", "out of memory");
	s->nrcpts = m->nrcpts;
	bool utf8_addr = has_non_ascii(m->sender);
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (!(s->rcpts[i] = strdup(m->rcpts[i])))
			return closed(s, "%s", "out of memory");
		utf8_addr = utf8_addr || has_non_ascii(m->rcpts[i]);
	}
	/* RFC 6531 §3.2: SMTPUTF8 only where offered; a message that needs
	 * it (UTF-8 in an address, or in its headers: RFC 6532) goes nowhere
	 * else, as postern does not downgrade it */
	if ((utf8_addr || (m->smtputf8 && m->utf8_headers)) && !s->smtputf8) {
		for (size_t i = 0; i < s->nrcpts; i++) {
			s->results[i].code = 553;
			(void)snprintf(s->results[i].text, sizeof(s->results[i].text),
				       "553 5.6.7 the LMTP server does not offer SMTPUTF8 for <%s>",
				       s->rcpts[i]);
		}
		return LMTP_EV_DONE;
	}
	/* RFC 6152 §3: 8-bit content only to a server that offers 8BITMIME,
	 * declared or not (a client that sent it without BODY=8BITMIME, or
	 * with SMTPUTF8 alone); postern does not convert it to 7 bits, so it
	 * is returned */
	if (m->has_8bit && !s->eightbitmime) {
		for (size_t i = 0; i < s->nrcpts; i++) {
			s->results[i].code = 554;
			(void)snprintf(s->results[i].text, sizeof(s->results[i].text),
				       "554 5.6.3 the LMTP server does not offer 8BITMIME for "
				       "this 8-bit message");
		}
		return LMTP_EV_DONE;
	}
	s->use_smtputf8 = m->smtputf8 && s->smtputf8;
	/* and it goes declared, as Postfix's smtp(8) declares what cleanup found */
	s->use_8bit = (m->eightbit || m->has_8bit) && s->eightbitmime;
	s->rcpt = 0;
	s->mail_failed = false;
	s->replied = 0;
	/* A transaction left open (DATA refused, or no recipient for it) must
	 * be reset first, or the server answers MAIL with 503. */
	s->step = s->need_rset ? STEP_RSET : STEP_MAIL;
	if (s->need_rset && buf_append_str(&s->out, "RSET\r\n") != BUF_OK)
		return closed(s, "%s", "out of memory");
	s->need_rset = true; /* until the replies to "." are in */
	/* RFC 2920: MAIL, every RCPT and DATA in one go when pipelining */
	s->pipe = s->pipelining && envelope_fits(s);
	s->sent = s->pipe ? s->nrcpts + 2 : s->step == STEP_RSET ? 0 : 1;
	for (size_t k = 0; k < s->sent; k++)
		if (!send_cmd(s, k))
			return closed(s, "%s", "out of memory");
	s->state = S_ENVELOPE;
	return LMTP_EV_NONE;
}

/* Not pipelining: the next command, unless the message is decided. */
static bool send_next(struct lmtp_session *s, size_t k)
{
	if (s->pipe || k < s->sent)
		return true;
	s->sent = k + 1;
	return send_cmd(s, k);
}

/* ---- the body ---- */

void lmtp_session_body(struct lmtp_session *s, const char *p, size_t n)
{
	if (s->state != S_BODY || n == 0)
		return;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		/* RFC 5321 §4.5.2: a line starting with "." gets one more */
		if (s->bol && p[i] == '.') {
			(void)buf_append(&s->out, p + start, i - start);
			(void)buf_append(&s->out, ".", 1);
			start = i;
		}
		s->bol = p[i] == '\n';
	}
	(void)buf_append(&s->out, p + start, n - start);
	s->tail[0] = n >= 2 ? p[n - 2] : s->tail[1];
	s->tail[1] = p[n - 1];
}

void lmtp_session_body_end(struct lmtp_session *s)
{
	if (s->state != S_BODY)
		return;
	if (s->tail[0] != '\r' || s->tail[1] != '\n')
		(void)buf_append(&s->out, "\r\n", 2);
	(void)buf_append(&s->out, ".\r\n", 3);
	s->state = S_REPLIES;
}

/* ---- replies ---- */

static void parse_lhlo(struct lmtp_session *s, const struct client_reply *r)
{
	s->pipelining = s->eightbitmime = s->smtputf8 = false;
	for (size_t i = 1; i < r->nlines; i++) { /* line 0 is the greeting */
		size_t len;
		const char *kw = client_reply_line(r, i, &len);
		size_t n = strcspn(kw, " ");
		s->pipelining = s->pipelining || str_ieq(kw, n, "PIPELINING");
		s->eightbitmime = s->eightbitmime || str_ieq(kw, n, "8BITMIME");
		s->smtputf8 = s->smtputf8 || str_ieq(kw, n, "SMTPUTF8");
	}
}

/* Recipients still without a final reply get r (MAIL or DATA refused,
 * 421). A RCPT that got 250 is not final: only the reply after "." is. */
static void fill_undecided(struct lmtp_session *s, const struct client_reply *r)
{
	for (size_t i = 0; i < s->nrcpts; i++)
		if (s->results[i].code == 0)
			set_result(s, i, r);
}

static enum lmtp_event msg_done(struct lmtp_session *s)
{
	s->state = S_READY;
	return LMTP_EV_DONE;
}

/* One reply to the envelope (MAIL, a RCPT, DATA), in the order they went. */
static enum lmtp_event envelope_reply(struct lmtp_session *s, const struct client_reply *r)
{
	switch (s->step) {
	case STEP_RSET: /* whatever it says, the next MAIL will tell */
		s->step = STEP_MAIL;
		return send_next(s, 0) ? LMTP_EV_NONE : closed(s, "%s", "out of memory");
	case STEP_MAIL:
		if (r->code / 100 != 2) {
			s->mail_failed = true;
			fill_undecided(s, r);
			if (!s->pipe)
				return msg_done(s);
		}
		s->step = STEP_RCPT;
		return send_next(s, 1) ? LMTP_EV_NONE : closed(s, "%s", "out of memory");
	case STEP_RCPT: {
		size_t i = s->rcpt++;
		if (!s->mail_failed) {
			if (r->code / 100 == 2)
				s->accepted[s->naccepted++] = i;
			else
				set_result(s, i, r);
		}
		if (s->rcpt < s->nrcpts)
			return send_next(s, s->rcpt + 1) ? LMTP_EV_NONE
							 : closed(s, "%s", "out of memory");
		s->step = STEP_DATA;
		if (!s->pipe && s->naccepted == 0)
			return msg_done(s); /* nobody to send it to */
		return send_next(s, s->nrcpts + 1) ? LMTP_EV_NONE : closed(s, "%s", "out of memory");
	}
	case STEP_DATA:
		if (r->code == 354) {
			if (s->naccepted == 0) /* a server that takes DATA for nobody */
				return closed(s, "%s", "the LMTP server answered 354 with no recipient");
			s->state = S_BODY;
			s->bol = true;
			s->tail[0] = s->tail[1] = '\0';
			return LMTP_EV_BODY;
		}
		if (r->code < 400) { /* DATA said yes without 354: the body would be lost */
			char text[CLIENT_REPLY_LINE_MAX + 8];
			reply_text(r, text, sizeof(text));
			return closed(s, "the LMTP server answered DATA with %s", text);
		}
		fill_undecided(s, r);
		return msg_done(s);
	}
	return closed(s, "%s", "internal error");
}

static enum lmtp_event on_reply(struct lmtp_session *s, const struct client_reply *r)
{
	char text[CLIENT_REPLY_LINE_MAX + 8];

	if (r->code == 421) { /* the server closes: RFC 5321 §3.8 */
		reply_text(r, text, sizeof(text));
		if (s->state == S_ENVELOPE || s->state == S_BODY || s->state == S_REPLIES)
			fill_undecided(s, r);
		return closed(s, "the LMTP server closed the connection: %s", text);
	}
	switch (s->state) {
	case S_GREETING:
		if (r->code != 220) {
			reply_text(r, text, sizeof(text));
			return closed(s, "the LMTP server refused the connection: %s", text);
		}
		s->state = S_LHLO;
		return queue_cmd(s, "LHLO %s\r\n%s%s", s->lhlo_name, "", "")
			       ? LMTP_EV_NONE
			       : closed(s, "%s", "out of memory");
	case S_LHLO:
		if (r->code != 250) {
			reply_text(r, text, sizeof(text));
			return closed(s, "the LMTP server refused LHLO: %s", text);
		}
		parse_lhlo(s, r);
		s->state = S_READY;
		return LMTP_EV_READY;
	case S_ENVELOPE:
		return envelope_reply(s, r);
	case S_REPLIES:
		/* RFC 2033 §4.2: one reply per accepted recipient, in RCPT order */
		set_result(s, s->accepted[s->replied++], r);
		if (s->replied < s->naccepted)
			return LMTP_EV_NONE;
		s->need_rset = false;
		return msg_done(s);
	case S_READY:
	case S_BODY:
	case S_CLOSED:
		break;
	}
	reply_text(r, text, sizeof(text));
	return closed(s, "the LMTP server sent an unexpected reply: %s", text);
}

enum lmtp_event lmtp_session_feed(struct lmtp_session *s, const char *in, size_t len,
				  size_t *used)
{
	size_t pos = 0;
	enum lmtp_event ev = LMTP_EV_NONE;

	*used = 0;
	while (ev == LMTP_EV_NONE && s->state != S_CLOSED && pos < len) {
		size_t n;
		enum client_reply_status st =
			client_reply_parse(&s->parser, &s->reply, in + pos, len - pos, &n);
		pos += n;
		if (st == CLIENT_REPLY_MORE)
			break;
		if (st != CLIENT_REPLY_DONE)
			ev = closed(s, "the LMTP server broke the protocol: %s",
				    client_reply_strerror(st));
		else
			ev = on_reply(s, &s->reply);
	}
	*used = pos;
	if (s->state == S_CLOSED)
		return LMTP_EV_CLOSED;
	return ev;
}

enum lmtp_event lmtp_session_eof(struct lmtp_session *s, const char *why)
{
	return closed(s, "%s", why && *why ? why : "the LMTP server closed the connection");
}
