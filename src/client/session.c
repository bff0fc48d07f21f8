#include "client/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/message.h"
#include "client/transcript.h"
#include "common/base64.h"
#include "common/str.h"

#define OUT_MAX ((size_t)1 << 31)   /* a pipelined batch plus the message */
#define AUTH_LINE_MAX 12288         /* RFC 4954 §4: longest response line */
#define CMD_LINE_MAX 512            /* RFC 5321 §4.5.3.1.4 */
#define BDAT_CHUNK ((size_t)1 << 20)
#define N_(s) s /* a msgid for xgettext, translated through cfg.tr */

enum state {
	S_GREETING,
	S_EHLO,
	S_HELO,
	S_STARTTLS,      /* waiting for the reply to STARTTLS */
	S_HANDSHAKE,     /* the driver runs the TLS handshake */
	S_AUTH,          /* waiting for 334 or the outcome */
	S_TRANSACTION,   /* replies to MAIL, RCPT..., DATA (or BDAT) outstanding */
	S_BODY,          /* the message went out; waiting for its reply */
	S_QUIT,
	S_DONE,
};

/* What each outstanding reply answers, in order (RFC 2920 §3.1). */
enum pending { P_MAIL, P_RCPT, P_DATA, P_BDAT };

struct client_session {
	struct client_session_cfg cfg;
	enum state state;
	struct buf out;
	struct client_reply_parser parser;
	struct client_reply reply;
	struct client_caps caps;
	bool tls_active, cb, authed, mail_ok;
	bool tls_refused; /* --tls-optional: STARTTLS was refused, go on in the clear */
	size_t lmtp_next; /* LMTP: the recipient the next reply after DATA is for */
	size_t delivered; /* LMTP: recipients whose delivery reply was 2xx */
	enum client_mech mech;
	unsigned auth_step;
	struct buf sasl; /* a SASL message (ir, response) before base64 */
	char *pending_ir; /* base64 IR kept for the empty 334 when it did not fit the AUTH line */
	/* the transaction's outstanding replies */
	enum pending *queue;
	size_t qlen, qhead, next_rcpt;
	size_t bdat_sent;  /* message octets already sent in BDAT chunks */
	bool bdat_mode, utf8;
	struct client_result result;
	struct client_rcpt_result *rcpts;
};

static const char *const quit_after_names[] = {
	[CLIENT_QUIT_AFTER_NONE] = "none", [CLIENT_QUIT_AFTER_CONNECT] = "connect",
	[CLIENT_QUIT_AFTER_BANNER] = "banner", [CLIENT_QUIT_AFTER_EHLO] = "ehlo",
	[CLIENT_QUIT_AFTER_TLS] = "tls", [CLIENT_QUIT_AFTER_AUTH] = "auth",
	[CLIENT_QUIT_AFTER_MAIL] = "mail", [CLIENT_QUIT_AFTER_RCPT] = "rcpt",
};

int client_quit_after_by_name(const char *name)
{
	for (size_t i = 1; i < sizeof(quit_after_names) / sizeof(quit_after_names[0]); i++)
		if (strcasecmp(name, quit_after_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *client_quit_after_name(enum client_quit_after q)
{
	return quit_after_names[q];
}

const char *client_phase_name(enum client_phase p)
{
	static const char *const names[] = { "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL",
					     "RCPT", "DATA", "end of data", "QUIT" };
	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

static bool addr_utf8(const char *a)
{
	return client_msg_has_8bit(a, strlen(a));
}

struct client_session *client_session_new(const struct client_session_cfg *cfg)
{
	struct client_session *s = calloc(1, sizeof(*s));
	size_t nr = cfg->nrcpts < CLIENT_RCPT_MAX ? cfg->nrcpts : CLIENT_RCPT_MAX;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->state = S_GREETING;
	s->mech = CLIENT_MECH_NONE;
	s->tls_active = cfg->tls == CLIENT_TLS_IMPLICIT;
	buf_init(&s->out, OUT_MAX);
	buf_init(&s->sasl, AUTH_LINE_MAX);
	client_reply_parser_init(&s->parser);
	s->queue = calloc(cfg->nrcpts + 3, sizeof(*s->queue));
	s->rcpts = calloc(nr ? nr : 1, sizeof(*s->rcpts));
	if (!s->queue || !s->rcpts) {
		client_session_free(s);
		return NULL;
	}
	s->utf8 = addr_utf8(cfg->from);
	for (size_t i = 0; i < cfg->nrcpts; i++)
		s->utf8 |= addr_utf8(cfg->rcpts[i]);
	s->result.mech = CLIENT_MECH_NONE;
	return s;
}

void client_session_free(struct client_session *s)
{
	if (!s)
		return;
	buf_fini(&s->out);
	if (s->sasl.data)
		memset(s->sasl.data, 0, s->sasl.cap);
	buf_fini(&s->sasl);
	if (s->pending_ir) {
		memset(s->pending_ir, 0, strlen(s->pending_ir));
		free(s->pending_ir);
	}
	free(s->queue);
	free(s->rcpts);
	free(s);
}

struct buf *client_session_out(struct client_session *s) { return &s->out; }
const struct client_result *client_session_result(const struct client_session *s) { return &s->result; }
const struct client_caps *client_session_caps(const struct client_session *s) { return &s->caps; }
bool client_session_tls_active(const struct client_session *s) { return s->tls_active; }
bool client_session_settled(const struct client_session *s) { return s->state == S_QUIT || s->state == S_DONE; }

const struct client_rcpt_result *client_session_rcpt(const struct client_session *s, size_t i)
{
	return i < s->cfg.nrcpts && i < CLIENT_RCPT_MAX ? &s->rcpts[i] : NULL;
}

enum client_phase client_session_phase(const struct client_session *s)
{
	return s->result.phase;
}

/* ---- output ---- */

static const char *tr_msg(const struct client_session *s, const char *msgid)
{
	return s->cfg.tr ? s->cfg.tr(msgid) : msgid;
}

static void trace_rc(int rc)
{
	(void)rc; /* a transcript that cannot grow loses lines, never the session */
}

static void send_line(struct client_session *s, const char *fmt, const char *a, const char *b)
{
	size_t start = s->out.len;

	if (buf_printf(&s->out, fmt, a, b) != BUF_OK) {
		s->result.local = CLIENT_LOCAL_NOMEM;
		return;
	}
	if (s->cfg.transcript)
		trace_rc(client_transcript_cmd(s->cfg.transcript, s->out.data + start,
					       s->out.len - start - 2));
}

/* ---- ending ---- */

static void copy_reply(struct client_session *s, const struct client_reply *r)
{
	size_t n;
	const char *t = client_reply_line(r, 0, &n);

	s->result.code = r->code;
	s->result.cls = r->cls;
	s->result.subject = r->subject;
	s->result.detail = r->detail;
	snprintf(s->result.text, sizeof(s->result.text), "%d %.*s", r->code, (int)n, t);
}

static enum client_event quit(struct client_session *s)
{
	send_line(s, "QUIT\r\n%s%s", "", "");
	s->state = S_QUIT;
	return CLIENT_EV_NONE;
}

/* --quit-after: the stage q was reached with reply r; stop there if asked. */
static bool stop_after(struct client_session *s, enum client_quit_after q, const struct client_reply *r)
{
	if (s->cfg.quit_after != q)
		return false;
	s->result.ok = true;
	s->result.quit_early = true;
	if (r) {
		size_t n;
		const char *t = client_reply_line(r, 0, &n);

		snprintf(s->result.final, sizeof(s->result.final), "%d %.*s", r->code, (int)n, t);
	}
	quit(s);
	return true;
}

/* Stop with a server's reply (r) or a reason of our own; say QUIT. */
static enum client_event fail(struct client_session *s, enum client_phase phase,
			      enum client_local local, const struct client_reply *r)
{
	s->result.ok = false;
	s->result.phase = phase;
	s->result.local = local;
	if (r)
		copy_reply(s, r);
	/* 421 closes the connection (RFC 5321 §3.8): no QUIT after it */
	if (r && r->code == 421) {
		s->state = S_DONE;
		return CLIENT_EV_DONE;
	}
	return quit(s);
}

/* ---- steps ---- */

static void ehlo(struct client_session *s)
{
	/* RFC 3207 4.2: the capabilities after STARTTLS replace those before */
	if (s->cfg.transcript && s->tls_active && s->cfg.tls != CLIENT_TLS_IMPLICIT)
		trace_rc(client_transcript_note(s->cfg.transcript,
			 tr_msg(s, N_("EHLO again after STARTTLS: this reply replaces the capabilities above"))));
	/* RFC 2033 4.1: LMTP greets with LHLO */
	send_line(s, s->cfg.lmtp ? "LHLO %s\r\n%s" : "EHLO %s\r\n%s", s->cfg.helo_name, "");
	s->state = S_EHLO;
	s->result.phase = CLIENT_PHASE_EHLO;
}

static enum client_event transaction(struct client_session *s);

static void auth_line(struct client_session *s, const char *b64, size_t n)
{
	if (buf_append(&s->out, b64, n) != BUF_OK || buf_append(&s->out, "\r\n", 2) != BUF_OK) {
		s->result.local = CLIENT_LOCAL_NOMEM;
		return;
	}
	if (s->cfg.transcript)
		trace_rc(client_transcript_auth(s->cfg.transcript, s->mech, s->auth_step, "", b64, n));
}

/* base64 of s->sasl into a fresh string */
static char *sasl_b64(struct client_session *s)
{
	char *b = malloc(base64_encoded_len(s->sasl.len) + 1);

	if (b)
		base64_encode(s->sasl.data, s->sasl.len, b);
	if (s->sasl.data)
		memset(s->sasl.data, 0, s->sasl.len);
	buf_clear(&s->sasl);
	return b;
}

static enum client_event auth_start(struct client_session *s)
{
	enum client_mech m = s->cfg.mech;
	bool has_ir = false;

	s->result.phase = CLIENT_PHASE_AUTH;
	if (m == CLIENT_MECH_NONE) {
		if (!s->caps.mechs && !s->caps.auth[0])
			return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_NO_AUTH, NULL);
		m = client_caps_choose_mech(&s->caps, s->tls_active, s->cb);
		if (m == CLIENT_MECH_NONE) {
			bool only_plain = (s->caps.mechs & ((1u << CLIENT_MECH_PLAIN) |
							     (1u << CLIENT_MECH_LOGIN))) && !s->tls_active;
			return fail(s, CLIENT_PHASE_AUTH,
				    only_plain ? CLIENT_LOCAL_AUTH_NEEDS_TLS : CLIENT_LOCAL_NO_MECH, NULL);
		}
	}
	s->mech = s->result.mech = m;
	s->auth_step = 0;
	buf_clear(&s->sasl);
	if (s->cfg.sasl.start(s->cfg.sasl.arg, m, &s->sasl, &has_ir) != 0)
		return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_SASL, NULL);
	const char *name = client_mech_name(m);
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "AUTH %s", name);
	if (!has_ir) {
		send_line(s, "%s\r\n%s", prefix, "");
	} else {
		char *b = sasl_b64(s);

		if (!b)
			return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_NOMEM, NULL);
		size_t n = strlen(b);
		/* RFC 4954 §4: "=" is an empty initial response; one that does not
		 * fit the 512-octet command line waits for the empty 334 */
		if (strlen(prefix) + 1 + (n ? n : 1) + 2 > CMD_LINE_MAX) {
			send_line(s, "%s\r\n%s", prefix, "");
			s->pending_ir = b;
		} else {
			if (buf_printf(&s->out, "%s %s\r\n", prefix, n ? b : "=") != BUF_OK)
				s->result.local = CLIENT_LOCAL_NOMEM;
			else if (s->cfg.transcript)
				trace_rc(client_transcript_auth(s->cfg.transcript, m, 0, prefix,
								n ? b : "=", n ? n : 1));
			memset(b, 0, n);
			free(b);
		}
	}
	s->state = S_AUTH;
	return CLIENT_EV_NONE;
}

/* After EHLO: TLS first, then AUTH, then the mail. */
static enum client_event after_ehlo(struct client_session *s, const struct client_reply *r)
{
	bool want_tls = s->cfg.tls == CLIENT_TLS_STARTTLS ||
			(s->cfg.tls == CLIENT_TLS_OPTIONAL && s->caps.starttls && !s->tls_refused);

	if (want_tls && !s->tls_active) {
		/* --quit-after ehlo: the first EHLO, before STARTTLS */
		if (stop_after(s, CLIENT_QUIT_AFTER_EHLO, r))
			return CLIENT_EV_NONE;
		if (!s->caps.starttls)
			return fail(s, CLIENT_PHASE_STARTTLS, CLIENT_LOCAL_NO_STARTTLS, NULL);
		send_line(s, "STARTTLS\r\n%s%s", "", "");
		s->state = S_STARTTLS;
		s->result.phase = CLIENT_PHASE_STARTTLS;
		return CLIENT_EV_NONE;
	}
	/* TLS runs now, or none is wanted: "after tls" is here either way */
	if (stop_after(s, CLIENT_QUIT_AFTER_EHLO, r) || stop_after(s, CLIENT_QUIT_AFTER_TLS, r))
		return CLIENT_EV_NONE;
	if (s->cfg.auth && !s->authed)
		return auth_start(s);
	return transaction(s);
}

static enum client_event on_auth_reply(struct client_session *s, const struct client_reply *r)
{
	if (r->code == 334) {
		size_t n;
		const char *t = client_reply_line(r, 0, &n);

		s->auth_step++;
		if (s->pending_ir && n == 0) {
			char *b = s->pending_ir;

			s->pending_ir = NULL;
			s->auth_step = 0;
			auth_line(s, b, strlen(b));
			memset(b, 0, strlen(b));
			free(b);
			return CLIENT_EV_NONE;
		}
		char *raw = malloc(base64_decoded_max(n) + 1);
		size_t raw_len = 0;

		if (!raw)
			return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_NOMEM, r);
		if (r->nlines != 1 || !base64_decode(t, n, raw, &raw_len)) {
			free(raw);
			/* RFC 4954 §4: "*" cancels; the server answers 501 */
			auth_line(s, "*", 1);
			s->result.local = CLIENT_LOCAL_BAD_CHALLENGE;
			copy_reply(s, r);
			return CLIENT_EV_NONE;
		}
		buf_clear(&s->sasl);
		int rc = s->cfg.sasl.step(s->cfg.sasl.arg, raw, raw_len, &s->sasl);

		free(raw);
		if (rc != 0) {
			auth_line(s, "*", 1);
			s->result.local = CLIENT_LOCAL_SASL;
			copy_reply(s, r);
			return CLIENT_EV_NONE;
		}
		char *b = sasl_b64(s);

		if (!b)
			return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_NOMEM, NULL);
		auth_line(s, b, strlen(b));
		memset(b, 0, strlen(b));
		free(b);
		return CLIENT_EV_NONE;
	}
	if (s->result.local == CLIENT_LOCAL_BAD_CHALLENGE || s->result.local == CLIENT_LOCAL_SASL) {
		/* the reply to our "*": the reason is ours, the reply is kept */
		enum client_local why = s->result.local;

		return fail(s, CLIENT_PHASE_AUTH, why, NULL);
	}
	if (r->code / 100 != 2)
		return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_NONE, r);
	if (r->code != 235)
		return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_PROTOCOL, r);
	/* 235: the mechanism must agree (SCRAM: the server signature was checked) */
	if (!s->cfg.sasl.finished(s->cfg.sasl.arg))
		return fail(s, CLIENT_PHASE_AUTH, CLIENT_LOCAL_SASL, r);
	s->authed = true;
	return transaction(s);
}

/* MAIL, RCPT..., DATA: in one write when PIPELINING is offered (RFC 2920
 * §3.1), else one at a time. */
static void queue_cmd(struct client_session *s, enum pending p)
{
	s->queue[s->qlen++] = p;
}

static void send_rcpt(struct client_session *s)
{
	send_line(s, "RCPT TO:<%s>\r\n%s", s->cfg.rcpts[s->next_rcpt++], "");
	queue_cmd(s, P_RCPT);
}

static void send_data_cmd(struct client_session *s)
{
	if (s->bdat_mode)
		return; /* BDAT waits for the envelope replies */
	send_line(s, "DATA\r\n%s%s", "", "");
	queue_cmd(s, P_DATA);
}

static enum client_event transaction(struct client_session *s)
{
	char params[96] = "";
	size_t pl = 0;

	/* after AUTH (or where it would have been): the reply in hand is its */
	if (stop_after(s, CLIENT_QUIT_AFTER_AUTH, &s->reply))
		return CLIENT_EV_NONE;
	s->result.phase = CLIENT_PHASE_MAIL;
	if (s->utf8 && !s->caps.smtputf8)
		return fail(s, CLIENT_PHASE_MAIL, CLIENT_LOCAL_NO_SMTPUTF8, NULL);
	if (s->caps.has_size && s->caps.size > 0 && s->cfg.msg_len > s->caps.size)
		return fail(s, CLIENT_PHASE_MAIL, CLIENT_LOCAL_TOO_BIG, NULL);
	s->bdat_mode = s->cfg.bdat && s->caps.chunking && !s->cfg.lmtp;
	/* RFC 1870 §6: the size declared is the message's, without stuffing */
	if (s->caps.has_size)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " SIZE=%zu", s->cfg.msg_len);
	if (client_msg_has_8bit(s->cfg.msg, s->cfg.msg_len) && s->caps.eightbitmime)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " BODY=8BITMIME");
	if (s->utf8)
		snprintf(params + pl, sizeof(params) - pl, " SMTPUTF8");
	send_line(s, "MAIL FROM:<%s>%s\r\n", s->cfg.from, params);
	s->qlen = s->qhead = s->next_rcpt = 0;
	s->result.accepted = 0;
	queue_cmd(s, P_MAIL);
	if (s->caps.pipelining && s->cfg.quit_after != CLIENT_QUIT_AFTER_MAIL) {
		while (s->next_rcpt < s->cfg.nrcpts)
			send_rcpt(s);
		if (s->cfg.quit_after != CLIENT_QUIT_AFTER_RCPT)
			send_data_cmd(s);
	}
	s->state = S_TRANSACTION;
	return CLIENT_EV_NONE;
}

static void count_lines(const char *m, size_t n, size_t *lines)
{
	*lines = 0;
	for (size_t i = 0; i < n; i++)
		*lines += m[i] == '\n';
}

/* --show-data: the message's lines in the transcript, as "C: " lines */
static void trace_data(struct client_session *s, const char *m, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(m + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (m + i)) : n - i;
		size_t shown = len > 0 && m[i + len - 1] == '\r' ? len - 1 : len;

		trace_rc(client_transcript_cmd(s->cfg.transcript, m + i, shown));
		i += len + (nl ? 1 : 0);
	}
}

static void send_body(struct client_session *s)
{
	size_t lines;

	count_lines(s->cfg.msg, s->cfg.msg_len, &lines);
	if (client_msg_dot_stuff(&s->out, s->cfg.msg, s->cfg.msg_len) != BUF_OK) {
		s->result.local = CLIENT_LOCAL_NOMEM;
		return;
	}
	if (s->cfg.transcript) {
		if (s->cfg.show_data)
			trace_data(s, s->cfg.msg, s->cfg.msg_len);
		trace_rc(client_transcript_body(s->cfg.transcript, "", s->cfg.msg_len, lines));
		trace_rc(client_transcript_cmd(s->cfg.transcript, ".", 1));
	}
	s->state = S_BODY;
	s->result.phase = CLIENT_PHASE_BODY;
}

/* BDAT chunks (RFC 3030 §2): all of them at once when pipelining, each
 * answered by its own reply; the last one says LAST. */
static void send_bdat(struct client_session *s)
{
	do {
		size_t n = s->cfg.msg_len - s->bdat_sent;
		bool last;

		if (n > BDAT_CHUNK)
			n = BDAT_CHUNK;
		last = s->bdat_sent + n == s->cfg.msg_len;
		char cmd[64];
		int k = snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", n, last ? " LAST" : "");

		if (buf_append(&s->out, cmd, (size_t)k) != BUF_OK ||
		    buf_append(&s->out, s->cfg.msg + s->bdat_sent, n) != BUF_OK) {
			s->result.local = CLIENT_LOCAL_NOMEM;
			return;
		}
		if (s->cfg.transcript) {
			size_t lines;

			count_lines(s->cfg.msg + s->bdat_sent, n, &lines);
			cmd[k - 2] = '\0';
			trace_rc(client_transcript_cmd(s->cfg.transcript, cmd, (size_t)k - 2));
			if (s->cfg.show_data)
				trace_data(s, s->cfg.msg + s->bdat_sent, n);
			trace_rc(client_transcript_body(s->cfg.transcript, "", n, lines));
		}
		s->bdat_sent += n;
		queue_cmd(s, P_BDAT);
	} while (s->caps.pipelining && s->bdat_sent < s->cfg.msg_len);
	s->state = S_BODY;
	s->result.phase = CLIENT_PHASE_BODY;
}

static void record_rcpt(struct client_session *s, size_t i, const struct client_reply *r)
{
	size_t n;
	const char *t = client_reply_line(r, 0, &n);

	if (i >= CLIENT_RCPT_MAX)
		return;
	s->rcpts[i].code = r->code;
	snprintf(s->rcpts[i].text, sizeof(s->rcpts[i].text), "%d %.*s", r->code, (int)n, t);
}

static enum client_event on_transaction_reply(struct client_session *s, const struct client_reply *r)
{
	enum pending p = s->queue[s->qhead++];

	switch (p) {
	case P_MAIL:
		s->mail_ok = r->code / 100 == 2;
		if (!s->mail_ok) {
			/* pipelined RCPTs and DATA get their (refusing) replies first */
			s->result.phase = CLIENT_PHASE_MAIL;
			copy_reply(s, r);
			if (s->qhead == s->qlen)
				return fail(s, CLIENT_PHASE_MAIL, CLIENT_LOCAL_NONE, r);
			return CLIENT_EV_NONE;
		}
		if (stop_after(s, CLIENT_QUIT_AFTER_MAIL, r))
			return CLIENT_EV_NONE;
		if (!s->caps.pipelining)
			send_rcpt(s);
		return CLIENT_EV_NONE;
	case P_RCPT: {
		size_t i = 0;

		for (size_t k = 0; k < s->qhead - 1; k++)
			i += s->queue[k] == P_RCPT;
		if (s->mail_ok) {
			record_rcpt(s, i, r);
			if (r->code / 100 == 2)
				s->result.accepted++;
			else
				copy_reply(s, r);
		}
		bool last = i + 1 == s->cfg.nrcpts;

		if (!s->mail_ok) {
			if (s->qhead == s->qlen)
				return fail(s, CLIENT_PHASE_MAIL, CLIENT_LOCAL_NONE, NULL);
			return CLIENT_EV_NONE;
		}
		if (!last) {
			if (!s->caps.pipelining)
				send_rcpt(s);
			return CLIENT_EV_NONE;
		}
		if (s->result.accepted == 0) {
			if (s->qhead < s->qlen)
				return CLIENT_EV_NONE; /* DATA's reply is still to come */
			return fail(s, CLIENT_PHASE_RCPT, CLIENT_LOCAL_NONE, NULL);
		}
		if (stop_after(s, CLIENT_QUIT_AFTER_RCPT, r))
			return CLIENT_EV_NONE;
		if (s->bdat_mode) {
			send_bdat(s);
			return CLIENT_EV_NONE;
		}
		if (!s->caps.pipelining)
			send_data_cmd(s);
		return CLIENT_EV_NONE;
	}
	case P_DATA:
		if (!s->mail_ok || s->result.accepted == 0) {
			if (r->code == 354) {
				/* RFC 2920 §3.1: a 354 with no recipient: send an empty message's end */
				send_line(s, ".\r\n%s%s", "", "");
				s->result.phase = s->mail_ok ? CLIENT_PHASE_RCPT : CLIENT_PHASE_MAIL;
				s->state = S_BODY;
				s->qlen = s->qhead = 0;
				return CLIENT_EV_NONE;
			}
			return fail(s, s->mail_ok ? CLIENT_PHASE_RCPT : CLIENT_PHASE_MAIL,
				    CLIENT_LOCAL_NONE, NULL);
		}
		if (r->code != 354)
			return fail(s, CLIENT_PHASE_DATA, r->code / 100 == 2 ? CLIENT_LOCAL_PROTOCOL
									  : CLIENT_LOCAL_NONE, r);
		send_body(s);
		return CLIENT_EV_NONE;
	case P_BDAT:
		break;
	}
	return CLIENT_EV_NONE;
}

/* RFC 2033 4.2: after the message, one reply for each accepted recipient,
 * in RCPT order; the message went to those that got a 2xx. */
static enum client_event on_lmtp_reply(struct client_session *s, const struct client_reply *r)
{
	size_t n = s->cfg.nrcpts < CLIENT_RCPT_MAX ? s->cfg.nrcpts : CLIENT_RCPT_MAX;

	while (s->lmtp_next < n && s->rcpts[s->lmtp_next].code / 100 != 2)
		s->lmtp_next++;
	if (s->lmtp_next < n)
		record_rcpt(s, s->lmtp_next++, r);
	if (r->code / 100 == 2) {
		size_t len;
		const char *t = client_reply_line(r, 0, &len);

		s->delivered++;
		snprintf(s->result.final, sizeof(s->result.final), "%d %.*s", r->code, (int)len, t);
	} else {
		copy_reply(s, r);
	}
	size_t left = s->lmtp_next;

	while (left < n && s->rcpts[left].code / 100 != 2)
		left++;
	if (left < n)
		return CLIENT_EV_NONE; /* more replies to come */
	s->result.accepted = s->delivered;
	if (s->delivered == 0)
		return fail(s, CLIENT_PHASE_BODY, CLIENT_LOCAL_NONE, NULL);
	s->result.ok = true;
	s->result.phase = CLIENT_PHASE_QUIT;
	return quit(s);
}

static enum client_event on_body_reply(struct client_session *s, const struct client_reply *r)
{
	if (s->qhead < s->qlen && s->queue[s->qhead] == P_BDAT) {
		s->qhead++;
		if (r->code / 100 != 2)
			return fail(s, CLIENT_PHASE_BODY, CLIENT_LOCAL_NONE, r);
		if (s->bdat_sent < s->cfg.msg_len && s->qhead == s->qlen) {
			send_bdat(s); /* one chunk at a time without pipelining */
			return CLIENT_EV_NONE;
		}
		if (s->qhead < s->qlen)
			return CLIENT_EV_NONE;
	} else if (s->result.accepted == 0 || !s->mail_ok) {
		/* the end of the empty message sent after a stray 354 */
		return fail(s, s->result.phase, CLIENT_LOCAL_NONE, NULL);
	} else if (s->cfg.lmtp) {
		return on_lmtp_reply(s, r);
	} else if (r->code / 100 != 2) {
		return fail(s, CLIENT_PHASE_BODY, CLIENT_LOCAL_NONE, r);
	}
	size_t n;
	const char *t = client_reply_line(r, 0, &n);

	s->result.ok = true;
	s->result.phase = CLIENT_PHASE_QUIT;
	snprintf(s->result.final, sizeof(s->result.final), "%d %.*s", r->code, (int)n, t);
	return quit(s);
}

static enum client_event on_reply(struct client_session *s, const struct client_reply *r)
{
	if (s->cfg.transcript)
		trace_rc(client_transcript_reply(s->cfg.transcript, r, s->cfg.tr));
	/* 421 may come at any time: the server is closing (RFC 5321 §3.8) */
	if (r->code == 421 && s->state != S_QUIT)
		return fail(s, s->result.phase, CLIENT_LOCAL_NONE, r);
	switch (s->state) {
	case S_GREETING:
		s->result.phase = CLIENT_PHASE_GREETING;
		if (r->code != 220)
			return fail(s, CLIENT_PHASE_GREETING,
				    r->code / 100 == 2 ? CLIENT_LOCAL_PROTOCOL : CLIENT_LOCAL_NONE, r);
		if (stop_after(s, CLIENT_QUIT_AFTER_BANNER, r))
			return CLIENT_EV_NONE;
		ehlo(s);
		return CLIENT_EV_NONE;
	case S_EHLO:
		if (r->code == 250) {
			client_caps_parse(&s->caps, r);
			return after_ehlo(s, r);
		}
		/* an old server: HELO, unless something needs an extension */
		if ((r->code == 500 || r->code == 502) && s->cfg.tls != CLIENT_TLS_STARTTLS && !s->cfg.lmtp &&
		    !s->cfg.auth && !s->utf8 && !s->tls_active) {
			send_line(s, "HELO %s\r\n%s", s->cfg.helo_name, "");
			s->state = S_HELO;
			return CLIENT_EV_NONE;
		}
		return fail(s, CLIENT_PHASE_EHLO, CLIENT_LOCAL_NONE, r);
	case S_HELO:
		if (r->code != 250)
			return fail(s, CLIENT_PHASE_EHLO, CLIENT_LOCAL_NONE, r);
		memset(&s->caps, 0, sizeof(s->caps));
		if (stop_after(s, CLIENT_QUIT_AFTER_EHLO, r) || stop_after(s, CLIENT_QUIT_AFTER_TLS, r))
			return CLIENT_EV_NONE;
		return transaction(s);
	case S_STARTTLS:
		if (r->code != 220 && s->cfg.tls == CLIENT_TLS_OPTIONAL && r->code / 100 != 2) {
			s->tls_refused = true;
			return after_ehlo(s, r);
		}
		if (r->code != 220)
			return fail(s, CLIENT_PHASE_STARTTLS, CLIENT_LOCAL_NONE, r);
		s->state = S_HANDSHAKE;
		return CLIENT_EV_STARTTLS;
	case S_AUTH:
		return on_auth_reply(s, r);
	case S_TRANSACTION:
		return on_transaction_reply(s, r);
	case S_BODY:
		return on_body_reply(s, r);
	case S_QUIT:
		s->state = S_DONE;
		return CLIENT_EV_DONE;
	case S_HANDSHAKE:
	case S_DONE:
		break;
	}
	return fail(s, s->result.phase, CLIENT_LOCAL_PROTOCOL, r);
}

enum client_event client_session_feed(struct client_session *s, const char *in, size_t len,
	size_t *used)
{
	size_t pos = 0;

	*used = 0;
	while (s->state != S_DONE && s->state != S_HANDSHAKE) {
		size_t u;
		enum client_reply_status st = client_reply_parse(&s->parser, &s->reply, in + pos,
								 len - pos, &u);

		pos += u;
		*used = pos;
		if (st == CLIENT_REPLY_MORE)
			return CLIENT_EV_NONE;
		if (st != CLIENT_REPLY_DONE) {
			s->result.ok = false;
			s->result.local = CLIENT_LOCAL_PROTOCOL;
			s->result.code = 0;
			snprintf(s->result.text, sizeof(s->result.text), "%s", client_reply_strerror(st));
			s->state = S_DONE;
			return CLIENT_EV_DONE;
		}
		enum client_event ev = on_reply(s, &s->reply);

		if (s->result.local == CLIENT_LOCAL_NOMEM) {
			s->result.ok = false;
			s->state = S_DONE;
			return CLIENT_EV_DONE;
		}
		if (ev != CLIENT_EV_NONE)
			return ev;
		if (s->state == S_QUIT && s->out.len > 0)
			return CLIENT_EV_NONE; /* write QUIT before reading on */
	}
	return s->state == S_DONE ? CLIENT_EV_DONE : CLIENT_EV_NONE;
}

enum client_event client_session_eof(struct client_session *s)
{
	if (s->state != S_QUIT && s->state != S_DONE) {
		s->result.ok = false;
		if (s->result.local == CLIENT_LOCAL_NONE && s->result.code == 0) {
			s->result.local = CLIENT_LOCAL_PROTOCOL;
			snprintf(s->result.text, sizeof(s->result.text), "%s",
				 "the server closed the connection");
		}
	}
	s->state = S_DONE;
	return CLIENT_EV_DONE;
}

void client_session_tls_started(struct client_session *s, bool cb)
{
	s->tls_active = true;
	s->cb = cb;
	if (s->state == S_HANDSHAKE) {
		/* RFC 3207 §4.2: forget what was learnt before TLS, greet again */
		memset(&s->caps, 0, sizeof(s->caps));
		client_reply_parser_init(&s->parser);
		ehlo(s);
	}
}
