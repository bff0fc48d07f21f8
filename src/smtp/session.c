/* The server session state machine. One command table, one reply
 * chokepoint, one function that changes state. See session.h. */
#include "smtp/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/str.h"
#include "smtp/hops.h"
#include "smtp/reply.h"

enum smtp_state {
	SMTP_S_CONNECTED, /* greeted, no EHLO/HELO yet */
	SMTP_S_READY,     /* EHLO/HELO done, no transaction */
	SMTP_S_MAIL,      /* MAIL accepted: RCPT, DATA or BDAT may follow */
	SMTP_S_DATA,      /* reading DATA content up to <CRLF>.<CRLF> */
	SMTP_S_BDAT,      /* reading the octets of one BDAT chunk */
	SMTP_S_COMMIT,    /* waiting for the owner's durable commit */
	SMTP_S_TLS,       /* waiting for the TLS handshake */
	SMTP_S_AUTH,      /* 334 said: waiting for the client's response line */
	SMTP_S_AUTH_WAIT, /* the SASL backend is working on a response */
	SMTP_S_CLOSED,    /* 221 or 421 said: no more input */
};

/* Replies queued but not yet written: past this the session stops reading
 * until the owner flushes (a client that pipelines without reading). */
#define SMTP_OUT_HIGH (32 * 1024)
#define SMTP_OUT_MAX (256 * 1024)
/* Decoded message content is handed to the store in chunks of this size. */
#define SMTP_CHUNK 16384

struct smtp_session {
	const struct smtp_config *cfg;
	const struct smtp_hooks *hooks;
	enum smtp_state state;
	struct smtp_line_reader lines;
	struct buf out;
	enum smtp_verb verb; /* the command being answered, for on_reply */

	bool esmtp;         /* EHLO (not HELO): extensions are on */
	bool tls;           /* TLS is active */
	bool authenticated;
	bool shutting_down;
	unsigned errors;
	unsigned junk_commands; /* CMD_LIMIT commands since the last message */
	unsigned cmd_flags;     /* the table flags of the command last dispatched */
	bool improper_pipelining_seen;
	unsigned auth_failures;
	bool auth_active;   /* auth_start succeeded and auth_end is still owed */
	bool line_is_auth;  /* the command line being read began with "AUTH " */
	char auth_user[256];

	/* the transaction */
	struct smtp_envelope env;
	size_t rcpts_refused;
	bool bdat_used;
	bool msg_open;      /* msg_begin was called and not yet ended */
	enum smtp_msg_status msg_status;
	bool too_big;
	struct smtp_hops hops; /* Received fields of the message under way */
	struct smtp_dot_reader dot;
	struct smtp_bdat_reader bdat;
	uint64_t bdat_left; /* octets of the current chunk still to read */
	uint64_t bdat_octets; /* the chunks' sizes so far in this transaction, as sent */
	bool bdat_last;
	bool bdat_discard;  /* the chunk is read and thrown away (refused BDAT) */
	struct smtp_reply bdat_refusal; /* why, answered once the chunk is read */
	enum smtp_state bdat_prev_state;

	char text[1024];    /* room for replies with variable text */
};

struct cmd_entry {
	enum smtp_verb verb;
	struct smtp_reply (*handler)(struct smtp_session *s, const struct smtp_cmd *cmd);
	unsigned flags;
};

/* Command flags, in the manner of Postfix's smtpd command table, checked in
 * one place (dispatch) before any handler runs. */
#define CMD_PRE_TLS 0x1 /* allowed before STARTTLS under require_tls (RFC 3207 §4) */
#define CMD_LAST 0x2    /* ends a pipelined group (RFC 2920 §3.1): input after it is improper */
#define CMD_LIMIT 0x4   /* past junk_command_limit in a session, each one counts as an error */
#define CMD_OCTETS 0x8  /* octets follow the command (BDAT): a refusal still consumes them */

static void bdat_chunk_end(struct smtp_session *s);
static void shutdown_if_at_rest(struct smtp_session *s);

static const struct smtp_reply REPLY_NONE = { 0, ESC_NONE, NULL };

void smtp_config_defaults(struct smtp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = "localhost";
	cfg->banner = "ESMTP postern";
	cfg->line_limit = SMTP_LINE_MIN;
	cfg->max_message_size = SMTP_DEFAULT_MAX_MESSAGE_SIZE;
	cfg->max_recipients = SMTP_DEFAULT_MAX_RECIPIENTS;
	cfg->max_errors = SMTP_DEFAULT_MAX_ERRORS;
	cfg->junk_command_limit = SMTP_DEFAULT_JUNK_COMMAND_LIMIT;
	cfg->max_auth_failures = SMTP_DEFAULT_MAX_AUTH_FAILURES;
	cfg->bare_newline = SMTP_BARE_NORMALIZE;
}

static const char *const state_names[] = {
	[SMTP_S_CONNECTED] = "connected", [SMTP_S_READY] = "ready",
	[SMTP_S_MAIL] = "mail",           [SMTP_S_DATA] = "data",
	[SMTP_S_BDAT] = "bdat",           [SMTP_S_COMMIT] = "commit",
	[SMTP_S_TLS] = "tls",             [SMTP_S_AUTH] = "auth",
	[SMTP_S_AUTH_WAIT] = "auth_wait", [SMTP_S_CLOSED] = "closed",
};

/* Every state change goes through here (OpenSMTPD's smtp_enter_state). */
static void set_state(struct smtp_session *s, enum smtp_state st)
{
	if (st != s->state && s->hooks->on_state)
		s->hooks->on_state(s->hooks->ctx, state_names[s->state], state_names[st]);
	s->state = st;
}

/* The reply chokepoint: format, count protocol errors, tell the owner. */
static void reply(struct smtp_session *s, int code, enum smtp_esc esc, const char *text)
{
	smtp_reply_format(&s->out, code, esc, text);
	if (s->hooks->on_reply)
		s->hooks->on_reply(s->hooks->ctx, s->verb, code, text);
	if (code == 221 || code == 421)
		set_state(s, SMTP_S_CLOSED);
}

static void replyf(struct smtp_session *s, int code, enum smtp_esc esc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void replyf(struct smtp_session *s, int code, enum smtp_esc esc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
	reply(s, code, esc, s->text);
}

/* Syntax and sequence errors count toward max_errors; policy refusals of
 * recipients do not (a 101st recipient is not a broken client). */
static void count_error(struct smtp_session *s)
{
	if (s->state == SMTP_S_CLOSED)
		return;
	if (++s->errors >= s->cfg->max_errors)
		replyf(s, 421, ESC_SEC_OTHER, "%s Error: too many errors", s->cfg->hostname);
}

static void protocol_error(struct smtp_session *s, int code, enum smtp_esc esc, const char *text)
{
	reply(s, code, esc, text);
	count_error(s);
}

/* 530 (STARTTLS or AUTH first) counts too, as in Postfix: a client that
 * keeps ignoring it is broken or probing. */
static bool is_protocol_error(int code)
{
	return (code >= 500 && code <= 504) || code == 530 || code == 555;
}

static void answer(struct smtp_session *s, struct smtp_reply r)
{
	if (!r.code)
		return;
	if (is_protocol_error(r.code))
		protocol_error(s, r.code, r.esc, r.text);
	else
		reply(s, r.code, r.esc, r.text);
}

static struct smtp_reply mk(int code, enum smtp_esc esc, const char *text)
{
	struct smtp_reply r = { code, esc, text };
	return r;
}

static struct smtp_reply mkf(struct smtp_session *s, int code, enum smtp_esc esc,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct smtp_reply mkf(struct smtp_session *s, int code, enum smtp_esc esc,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
	return mk(code, esc, s->text);
}

/* ---- the transaction ---- */

static void msg_end(struct smtp_session *s)
{
	if (s->msg_open && s->hooks->msg_abort)
		s->hooks->msg_abort(s->hooks->ctx);
	s->msg_open = false;
}

static void txn_reset(struct smtp_session *s)
{
	msg_end(s);
	memset(&s->env.from, 0, sizeof(s->env.from));
	memset(&s->env.params, 0, sizeof(s->env.params));
	s->env.nrcpts = 0;
	s->env.queue_id[0] = '\0';
	s->env.size = 0;
	s->rcpts_refused = 0;
	s->bdat_used = false;
	s->bdat_octets = 0;
	s->too_big = false;
	s->msg_status = SMTP_MSG_OK;
	/* keep rcpt storage up to the default size; free a bigger one */
	if (s->env.rcpt_cap > SMTP_DEFAULT_MAX_RECIPIENTS) {
		free(s->env.rcpts);
		s->env.rcpts = NULL;
		s->env.rcpt_cap = 0;
	}
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT ||
	    s->state == SMTP_S_COMMIT)
		set_state(s, SMTP_S_READY);
}

/* RFC 3848 and RFC 6531 §3.7.3: the "with" keyword of the Received header. */
static const char *protocol_name(const struct smtp_session *s)
{
	static const char *const names[2][2][2] = {
		/* [utf8][tls][auth] */
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};
	if (!s->esmtp)
		return "SMTP";
	return names[s->env.params.smtputf8][s->tls][s->authenticated];
}

static bool msg_start(struct smtp_session *s)
{
	s->env.protocol = protocol_name(s);
	s->env.size = 0;
	smtp_hops_init(&s->hops);
	s->msg_status = s->hooks->msg_begin ? s->hooks->msg_begin(s->hooks->ctx, &s->env)
					    : SMTP_MSG_OK;
	s->msg_open = s->msg_status == SMTP_MSG_OK;
	return s->msg_open;
}

/* Hand decoded content to the store, unless the message is already refused. */
static void msg_content(struct smtp_session *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	s->env.size += n;
	smtp_hops_feed(&s->hops, p, n);
	if (s->cfg->max_message_size && s->env.size > s->cfg->max_message_size) {
		if (!s->too_big)
			msg_end(s); /* drop what was spooled: it will never be delivered */
		s->too_big = true;
		return;
	}
	if (!s->msg_open || s->msg_status != SMTP_MSG_OK)
		return;
	if (s->hooks->msg_write)
		s->msg_status = s->hooks->msg_write(s->hooks->ctx, p, n);
}

/* The whole message is in: refuse it with the first reason, or commit it. */
static void msg_finish(struct smtp_session *s, bool saw_bare, bool long_line)
{
	struct smtp_reply r = REPLY_NONE;
	if (s->too_big)
		r = mk(552, ESC_SYS_MSG_TOO_BIG, "Error: message size exceeds fixed limit");
	else if (saw_bare && s->cfg->bare_newline == SMTP_BARE_REJECT)
		r = mk(554, ESC_MEDIA_OTHER, "Error: bare <CR> or <LF> in message content");
	else if (long_line)
		r = mkf(s, 554, ESC_MEDIA_OTHER, "Error: message has a line longer than %zu octets",
			s->cfg->text_line_limit);
	else if (s->hops.count > SMTP_HOP_LIMIT) /* RFC 5321 §6.3: a mail loop */
		r = mk(554, ESC_NET_LOOP, "Error: too many hops");
	else if (s->msg_status == SMTP_MSG_FULL)
		r = mk(452, ESC_SYS_FULL, "Error: insufficient system storage");
	else if (s->msg_status == SMTP_MSG_IOERR)
		r = mk(451, ESC_SYS_OTHER, "Error: local error in processing");
	if (r.code) {
		reply(s, r.code, r.esc, r.text);
		txn_reset(s);
		return;
	}
	set_state(s, SMTP_S_COMMIT);
	if (s->hooks->msg_commit) {
		s->hooks->msg_commit(s->hooks->ctx, &s->env);
	} else {
		smtp_session_msg_done(s, SMTP_MSG_OK);
	}
}

void smtp_session_msg_done(struct smtp_session *s, enum smtp_msg_status st)
{
	if (s->state != SMTP_S_COMMIT)
		return;
	s->msg_open = false; /* the owner has finished with the spool either way */
	if (st == SMTP_MSG_OK) {
		replyf(s, 250, ESC_OTHER_UNDEFINED, "Ok: queued as %s", s->env.queue_id);
		s->junk_commands = 0; /* a client that sends mail is not idling */
	}
	else if (st == SMTP_MSG_FULL)
		reply(s, 452, ESC_SYS_FULL, "Error: insufficient system storage");
	else if (st == SMTP_MSG_REJECTED)
		reply(s, 554, ESC_SYS_OTHER, "Error: the mailbox server refused the message");
	else
		reply(s, 451, ESC_SYS_OTHER, "Error: local error in processing");
	txn_reset(s);
	set_state(s, SMTP_S_READY);
	shutdown_if_at_rest(s);
}

/* ---- command handlers: each returns its reply ---- */

static struct smtp_reply h_ehlo_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	bool ehlo = cmd->verb == SMTP_VERB_EHLO;
	if (!cmd->arg_len || !smtp_cmd_valid_helo(cmd->arg, cmd->arg_len))
		return ehlo ? mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: EHLO hostname")
			    : mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: HELO hostname");
	txn_reset(s);
	set_state(s, SMTP_S_READY);
	s->esmtp = ehlo;
	str_copy(s->env.helo, sizeof(s->env.helo), cmd->arg, cmd->arg_len);
	if (!ehlo)
		return mk(250, ESC_NONE, s->cfg->hostname);
	struct buf b;
	buf_init(&b, sizeof(s->text));
	buf_printf(&b, "%s\nPIPELINING\n", s->cfg->hostname);
	if (s->cfg->max_message_size)
		buf_printf(&b, "SIZE %llu\n", (unsigned long long)s->cfg->max_message_size);
	else
		buf_append_str(&b, "SIZE\n");
	buf_append_str(&b, "8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8\nCHUNKING\nBINARYMIME");
	if (s->cfg->tls_available && !s->tls)
		buf_append_str(&b, "\nSTARTTLS");
	/* TLS must come first: AUTH would only get 530, so it is not offered
	 * before it (Postfix's smtpd_tls_auth_only) */
	bool auth_now = !(s->cfg->require_tls && !s->tls);
	const char *mechs = auth_now && s->hooks->auth_mechs
				    ? s->hooks->auth_mechs(s->hooks->ctx, s->tls) : "";
	if (mechs && *mechs)
		buf_printf(&b, "\nAUTH %s", mechs);
	str_copy(s->text, sizeof(s->text), b.data, b.len);
	buf_fini(&b);
	return mk(250, ESC_NONE, s->text);
}

static const char *path_show(const struct smtp_path *p)
{
	return p->addr;
}

static struct smtp_reply h_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->state == SMTP_S_CONNECTED)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send HELO/EHLO first");
	if (s->state != SMTP_S_READY)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: nested MAIL command");
	if (s->cfg->require_auth && !s->authenticated)
		return mk(530, ESC_SEC_OTHER, "Error: authentication required");
	struct smtp_path from;
	struct smtp_mail_params params;
	switch (smtp_cmd_parse_mail(cmd->arg, cmd->arg_len, &from, &params)) {
	case SMTP_PARSE_OK:
		break;
	case SMTP_PARSE_BAD_ADDRESS:
		return mk(501, ESC_ADDR_BAD_SENDER_SYNTAX, "Error: bad sender address syntax");
	case SMTP_PARSE_UNKNOWN_PARAM:
		return mk(555, ESC_PROTO_INVALID_ARGUMENTS, "Error: unsupported MAIL parameter");
	case SMTP_PARSE_BAD_PARAM:
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Error: bad MAIL parameter value");
	default:
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: MAIL FROM:<address>");
	}
	bool has_params = params.has_size || params.body != SMTP_BODY_NONE || params.smtputf8 ||
			  params.has_auth;
	if (has_params && !s->esmtp)
		return mk(555, ESC_PROTO_INVALID_ARGUMENTS,
			  "Error: MAIL parameters need EHLO, not HELO");
	if (from.utf8 && !params.smtputf8)
		return mk(553, ESC_MEDIA_NON_ASCII_ADDRESS,
			  "Error: non-ASCII sender address needs SMTPUTF8");
	if (params.has_size && s->cfg->max_message_size && params.size > s->cfg->max_message_size)
		return mk(552, ESC_SYS_MSG_TOO_BIG, "Error: message size exceeds fixed limit");
	if (s->hooks->mail_check &&
	    !s->hooks->mail_check(s->hooks->ctx, params.has_size ? params.size : 0))
		return mk(452, ESC_SYS_FULL, "Error: insufficient system storage");
	s->env.from = from;
	s->env.params = params;
	if (!s->authenticated)
		s->env.params.has_auth = false; /* RFC 4954 §5: ignore AUTH= from the unauthenticated */
	set_state(s, SMTP_S_MAIL);
	return mk(250, ESC_ADDR_OTHER, "Ok");
}

static bool rcpt_store(struct smtp_session *s, const struct smtp_path *to)
{
	if (s->env.nrcpts == s->env.rcpt_cap) {
		size_t cap = s->env.rcpt_cap ? s->env.rcpt_cap * 2 : 8;
		if (cap > s->cfg->max_recipients)
			cap = s->cfg->max_recipients;
		struct smtp_path *p = realloc(s->env.rcpts, cap * sizeof(*p));
		if (!p)
			return false;
		s->env.rcpts = p;
		s->env.rcpt_cap = cap;
	}
	s->env.rcpts[s->env.nrcpts++] = *to;
	return true;
}

static struct smtp_reply h_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->state == SMTP_S_CONNECTED)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send HELO/EHLO first");
	if (s->state != SMTP_S_MAIL)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: need MAIL command");
	if (s->bdat_used)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: RCPT after BDAT");
	struct smtp_path to;
	switch (smtp_cmd_parse_rcpt(cmd->arg, cmd->arg_len, &to)) {
	case SMTP_PARSE_OK:
		break;
	case SMTP_PARSE_BAD_ADDRESS:
		return mk(501, ESC_ADDR_BAD_DEST_SYNTAX, "Error: bad recipient address syntax");
	case SMTP_PARSE_UNKNOWN_PARAM:
		return mk(555, ESC_PROTO_INVALID_ARGUMENTS, "Error: unsupported RCPT parameter");
	case SMTP_PARSE_BAD_PARAM:
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Error: bad RCPT parameter value");
	default:
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: RCPT TO:<address>");
	}
	if (to.utf8 && !s->env.params.smtputf8)
		return mk(553, ESC_MEDIA_NON_ASCII_ADDRESS,
			  "Error: non-ASCII recipient address needs SMTPUTF8");
	if (s->env.nrcpts >= s->cfg->max_recipients)
		return mk(452, ESC_PROTO_TOO_MANY_RECIPIENTS, "Error: too many recipients");
	enum smtp_rcpt_verdict v = s->hooks->rcpt_check
		? s->hooks->rcpt_check(s->hooks->ctx, &to, s->authenticated) : SMTP_RCPT_OK;
	switch (v) {
	case SMTP_RCPT_OK:
		break;
	case SMTP_RCPT_RELAY_DENIED:
		s->rcpts_refused++;
		return mkf(s, 554, ESC_SEC_DELIVERY_NOT_AUTHORIZED, "<%s>: Relay access denied",
			   path_show(&to));
	case SMTP_RCPT_NO_MAILBOX:
		s->rcpts_refused++;
		return mkf(s, 550, ESC_ADDR_BAD_DEST_MAILBOX,
			   "<%s>: Recipient address rejected: User unknown", path_show(&to));
	default:
		s->rcpts_refused++;
		return mk(451, ESC_SYS_OTHER, "Error: temporary failure, try again later");
	}
	if (!rcpt_store(s, &to))
		return mk(451, ESC_SYS_OTHER, "Error: out of memory");
	return mk(250, ESC_ADDR_DEST_VALID, "Ok");
}

/* Shared checks of DATA and BDAT: a transaction with a valid recipient. */
static struct smtp_reply need_recipients(struct smtp_session *s)
{
	if (s->state == SMTP_S_CONNECTED)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send HELO/EHLO first");
	if (s->state != SMTP_S_MAIL)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: need MAIL command");
	if (s->env.nrcpts == 0 && s->rcpts_refused > 0)
		return mk(554, ESC_PROTO_INVALID_COMMAND, "Error: no valid recipients");
	if (s->env.nrcpts == 0)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: need RCPT command");
	return REPLY_NONE;
}

static struct smtp_reply h_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg_len)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: DATA");
	struct smtp_reply r = need_recipients(s);
	if (r.code)
		return r;
	if (s->bdat_used)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: DATA after BDAT in one transaction");
	if (s->env.params.body == SMTP_BODY_BINARYMIME)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: BODY=BINARYMIME needs BDAT");
	smtp_dot_reader_init(&s->dot, s->cfg->bare_newline, s->cfg->text_line_limit);
	msg_start(s);
	set_state(s, SMTP_S_DATA);
	return mk(354, ESC_NONE, "End data with <CR><LF>.<CR><LF>");
}

/* RFC 3030 §2: BDAT's octets follow it whatever the reply, so a refused
 * BDAT whose size parses has its chunk read and thrown away, then r is said
 * (else the octets would be taken for commands). Without a trustworthy size
 * nothing can be skipped: r is said at once. */
static void refuse_octets(struct smtp_session *s, const struct smtp_cmd *cmd, struct smtp_reply r)
{
	uint64_t size;
	if (!smtp_cmd_bdat_size(cmd->arg, cmd->arg_len, &size)) {
		answer(s, r);
		return;
	}
	s->bdat_left = size;
	s->bdat_last = false;
	s->bdat_refusal = r;
	s->bdat_discard = true;
	s->bdat_prev_state = s->state;
	set_state(s, SMTP_S_BDAT);
}

static struct smtp_reply h_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	uint64_t size;
	bool last;
	if (smtp_cmd_parse_bdat(cmd->arg, cmd->arg_len, &size, &last) != SMTP_PARSE_OK) {
		/* "BDAT 30 LASTX": its 30 octets follow all the same */
		refuse_octets(s, cmd, mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: BDAT size [LAST]"));
		return REPLY_NONE;
	}
	/* CHUNKING is advertised only in the reply to EHLO (RFC 3030 §2, as
	 * AUTH is: RFC 4954 §4) */
	struct smtp_reply refusal = s->state != SMTP_S_CONNECTED && !s->esmtp
					    ? mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send EHLO first")
					    : need_recipients(s);
	if (refusal.code) {
		refuse_octets(s, cmd, refusal); /* the chunk is consumed first, then refused */
		return REPLY_NONE;
	}
	s->bdat_left = size;
	s->bdat_octets += size;
	s->bdat_last = last;
	s->bdat_discard = false;
	s->bdat_prev_state = s->state;
	set_state(s, SMTP_S_BDAT);
	if (!s->bdat_used) {
		s->bdat_used = true;
		smtp_bdat_reader_init(&s->bdat, s->cfg->bare_newline, s->cfg->text_line_limit,
				      s->env.params.body == SMTP_BODY_BINARYMIME);
		msg_start(s);
	}
	return REPLY_NONE; /* answered when the chunk has been read */
}

/* RSET and QUIT take no argument (RFC 5321 §4.1.1.5, §4.1.1.10), as DATA
 * does; NOOP, VRFY and HELP may have one. */
static struct smtp_reply h_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg_len)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: RSET");
	txn_reset(s);
	return mk(250, ESC_OTHER_UNDEFINED, "Ok");
}

static struct smtp_reply h_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	return mk(250, ESC_OTHER_UNDEFINED, "Ok");
}

static struct smtp_reply h_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg_len)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: QUIT");
	txn_reset(s);
	return mk(221, ESC_OTHER_UNDEFINED, "Bye");
}

/* RFC 5321 §3.5.3: 252 says nothing about whether the mailbox exists. */
static struct smtp_reply h_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!cmd->arg_len)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: VRFY address");
	return mk(252, ESC_OTHER_UNDEFINED, "Cannot VRFY user, but will accept message");
}

static struct smtp_reply h_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	return mk(214, ESC_OTHER_UNDEFINED,
		  "postern: see RFC 5321 and the postern README; commands: EHLO HELO MAIL RCPT "
		  "DATA BDAT RSET NOOP VRFY HELP QUIT");
}

static struct smtp_reply h_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!s->cfg->tls_available || !s->hooks->starttls)
		return mk(502, ESC_PROTO_INVALID_COMMAND, "Error: TLS not available");
	if (cmd->arg_len)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: STARTTLS");
	if (s->tls)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: TLS already active");
	if (s->state == SMTP_S_CONNECTED || !s->esmtp) /* an extension: HELO did not offer it */
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send EHLO first");
	if (s->state != SMTP_S_READY)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: STARTTLS inside a mail transaction");
	if (!s->hooks->starttls(s->hooks->ctx))
		return mk(454, ESC_SEC_OTHER, "TLS not available due to temporary reason");
	return mk(220, ESC_OTHER_UNDEFINED, "Ready to start TLS");
}

static void auth_finish(struct smtp_session *s)
{
	if (s->auth_active && s->hooks->auth_end)
		s->hooks->auth_end(s->hooks->ctx);
	s->auth_active = false;
	if (s->state == SMTP_S_AUTH || s->state == SMTP_S_AUTH_WAIT)
		set_state(s, SMTP_S_READY);
}

/* A failed exchange (535) or a cancelled one (RFC 4954 §4: "*", 501): both
 * count toward max_auth_failures, else "AUTH" and "*" could probe users
 * without end on one connection; the last reply is followed by 421 4.7.0. */
static void auth_failed(struct smtp_session *s, int code, enum smtp_esc esc, const char *text)
{
	auth_finish(s);
	reply(s, code, esc, text);
	if (++s->auth_failures >= s->cfg->max_auth_failures && s->state != SMTP_S_CLOSED)
		replyf(s, 421, ESC_SEC_OTHER, "%s Error: too many failed authentications",
		       s->cfg->hostname);
}

/* Decode one response (RFC 4954 §4: "=" is an empty initial response) and
 * hand it to the backend; the session waits for smtp_session_auth_reply. */
static struct smtp_reply auth_respond(struct smtp_session *s, const char *b64, size_t len)
{
	static const unsigned char empty[1];
	unsigned char raw[SMTP_AUTH_LINE_MAX / 4 * 3 + 3];
	size_t raw_len = 0;
	if (!(len == 1 && b64[0] == '=') && !base64_decode(b64, len, raw, &raw_len)) {
		auth_finish(s);
		return mk(501, ESC_PROTO_SYNTAX_ERROR, "Error: invalid base64 data");
	}
	set_state(s, SMTP_S_AUTH_WAIT);
	s->hooks->auth_step(s->hooks->ctx, raw_len ? raw : empty, raw_len);
	return REPLY_NONE;
}

static struct smtp_reply h_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* AUTH is advertised only in the reply to EHLO (RFC 4954 §4) */
	if (s->state == SMTP_S_CONNECTED || !s->esmtp)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: send EHLO first");
	const char *mechs = s->hooks->auth_mechs ? s->hooks->auth_mechs(s->hooks->ctx, s->tls) : NULL;
	if (!mechs || !s->hooks->auth_start || !s->hooks->auth_step)
		return mk(502, ESC_PROTO_INVALID_COMMAND, "Error: authentication not enabled");
	if (s->authenticated)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: already authenticated");
	if (s->state != SMTP_S_READY)
		return mk(503, ESC_PROTO_INVALID_COMMAND, "Error: AUTH not allowed in a mail transaction");
	/* "AUTH mechanism [initial-response]"; mechanism names are at most 20
	 * characters of A-Z 0-9 - _ (RFC 4422 §3.1) */
	char mech[21];
	size_t n = 0;
	while (n < cmd->arg_len && cmd->arg[n] != ' ') {
		char c = str_ascii_upper(cmd->arg[n]);
		if (n >= 20 || !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: AUTH mechanism [initial-response]");
		mech[n++] = c;
	}
	mech[n] = '\0';
	if (n == 0)
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: AUTH mechanism [initial-response]");
	const char *ir = n < cmd->arg_len ? cmd->arg + n + 1 : NULL;
	size_t ir_len = ir ? cmd->arg_len - n - 1 : 0;
	if (ir && (ir_len == 0 || memchr(ir, ' ', ir_len)))
		return mk(501, ESC_PROTO_INVALID_ARGUMENTS, "Syntax: AUTH mechanism [initial-response]");
	switch (s->hooks->auth_start(s->hooks->ctx, mech, s->tls, ir != NULL)) {
	case SMTP_AUTH_START_OK:
		break;
	case SMTP_AUTH_START_NEEDS_TLS:
		return mk(538, ESC_SEC_ENCRYPTION_REQUIRED,
			  "Error: encryption required for requested authentication mechanism");
	case SMTP_AUTH_START_TOO_WEAK:
		return mk(534, ESC_SEC_AUTH_MECH_TOO_WEAK, "Error: authentication mechanism is too weak");
	case SMTP_AUTH_START_TEMPFAIL:
		return mk(454, ESC_SEC_OTHER, "Error: temporary authentication failure");
	case SMTP_AUTH_START_NO_INITIAL_RESPONSE:
		return mk(501, ESC_SEC_OTHER, "Error: this mechanism takes no initial response");
	default:
		return mk(504, ESC_PROTO_INVALID_ARGUMENTS, "Error: unrecognized authentication type");
	}
	s->auth_active = true;
	if (ir && ir_len == 1 && ir[0] == '*') {
		auth_failed(s, 501, ESC_SEC_OTHER, "Error: authentication cancelled");
		return REPLY_NONE;
	}
	if (!ir) {
		set_state(s, SMTP_S_AUTH_WAIT);
		s->hooks->auth_step(s->hooks->ctx, NULL, 0);
		return REPLY_NONE;
	}
	return auth_respond(s, ir, ir_len);
}

void smtp_session_auth_reply(struct smtp_session *s, enum smtp_auth_reply r, const void *data,
			     size_t len, const char *user)
{
	if (s->state != SMTP_S_AUTH_WAIT)
		return;
	s->verb = SMTP_VERB_AUTH;
	switch (r) {
	case SMTP_AUTH_CHALLENGE: {
		/* "334 " always carries its space, even for an empty challenge */
		size_t need = base64_encoded_len(len) + 1;
		char stackbuf[1024];
		char *b64 = need <= sizeof(stackbuf) ? stackbuf : malloc(need);
		if (!b64) {
			auth_finish(s);
			reply(s, 454, ESC_SEC_OTHER, "Error: temporary authentication failure");
			return;
		}
		base64_encode(data, len, b64);
		reply(s, 334, ESC_NONE, b64);
		if (b64 != stackbuf)
			free(b64);
		set_state(s, SMTP_S_AUTH);
		return;
	}
	case SMTP_AUTH_SUCCESS:
		auth_finish(s);
		s->authenticated = true;
		str_copy(s->auth_user, sizeof(s->auth_user), user ? user : "", user ? strlen(user) : 0);
		reply(s, 235, ESC_SEC_OTHER, "Authentication successful");
		return;
	case SMTP_AUTH_TEMPFAIL:
		auth_finish(s);
		reply(s, 454, ESC_SEC_OTHER, "Error: temporary authentication failure");
		return;
	case SMTP_AUTH_BUSY:
		auth_finish(s);
		reply(s, 454, ESC_SEC_OTHER, "Error: too many password checks in flight, try again later");
		return;
	default:
		auth_failed(s, 535, ESC_SEC_AUTH_CREDENTIALS_INVALID, "Error: authentication failed");
		return;
	}
}

bool smtp_session_authenticated(const struct smtp_session *s)
{
	return s->authenticated;
}

const char *smtp_session_auth_user(const struct smtp_session *s)
{
	return s->auth_user;
}

static struct smtp_reply h_not_implemented(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	return mk(502, ESC_PROTO_INVALID_COMMAND, "Error: command not implemented");
}

/* As Postfix: EHLO, HELO, RSET, NOOP, VRFY and ETRN are the commands a client
 * can repeat forever without sending mail, so they are the junk commands. */
static const struct cmd_entry cmd_table[] = {
	{ SMTP_VERB_EHLO, h_ehlo_helo, CMD_PRE_TLS | CMD_LAST | CMD_LIMIT },
	{ SMTP_VERB_HELO, h_ehlo_helo, CMD_PRE_TLS | CMD_LAST | CMD_LIMIT },
	{ SMTP_VERB_MAIL, h_mail, 0 },
	{ SMTP_VERB_RCPT, h_rcpt, 0 },
	{ SMTP_VERB_DATA, h_data, CMD_LAST },
	{ SMTP_VERB_BDAT, h_bdat, CMD_OCTETS },
	{ SMTP_VERB_RSET, h_rset, CMD_PRE_TLS | CMD_LIMIT },
	{ SMTP_VERB_NOOP, h_noop, CMD_PRE_TLS | CMD_LAST | CMD_LIMIT },
	{ SMTP_VERB_QUIT, h_quit, CMD_PRE_TLS | CMD_LAST },
	{ SMTP_VERB_VRFY, h_vrfy, CMD_LAST | CMD_LIMIT },
	{ SMTP_VERB_HELP, h_help, CMD_LAST },
	{ SMTP_VERB_STARTTLS, h_starttls, CMD_PRE_TLS | CMD_LAST },
	{ SMTP_VERB_AUTH, h_auth, CMD_LAST },
	{ SMTP_VERB_EXPN, h_not_implemented, CMD_LAST },
	{ SMTP_VERB_TURN, h_not_implemented, CMD_LAST },
	{ SMTP_VERB_ETRN, h_not_implemented, CMD_LIMIT },
	{ SMTP_VERB_ATRN, h_not_implemented, 0 },
	{ SMTP_VERB_SEND, h_not_implemented, 0 },
	{ SMTP_VERB_SOML, h_not_implemented, 0 },
	{ SMTP_VERB_SAML, h_not_implemented, 0 },
	{ SMTP_VERB_VERB, h_not_implemented, 0 },
	{ SMTP_VERB_ONEX, h_not_implemented, 0 },
	{ SMTP_VERB_XCLIENT, h_not_implemented, 0 },
	{ SMTP_VERB_XFORWARD, h_not_implemented, 0 },
};

static void shutdown_reply(struct smtp_session *s)
{
	replyf(s, 421, ESC_SYS_NOT_ACCEPTING, "%s Service shutting down, closing channel",
	       s->cfg->hostname);
}

/* No command or message is partly received: between BDAT chunks a message
 * is still under way. */
static bool at_rest(const struct smtp_session *s)
{
	return s->state == SMTP_S_CONNECTED || s->state == SMTP_S_READY ||
	       (s->state == SMTP_S_MAIL && !s->bdat_used);
}

/* Shutting down: a session that comes to rest (its message stored, its
 * handshake or AUTH exchange over) is told 421 at once, not at its next
 * command. */
static void shutdown_if_at_rest(struct smtp_session *s)
{
	if (!s->shutting_down || !at_rest(s))
		return;
	s->verb = SMTP_VERB_UNKNOWN;
	txn_reset(s);
	shutdown_reply(s);
}

static const struct cmd_entry *cmd_lookup(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		if (cmd_table[i].verb == v)
			return &cmd_table[i];
	return NULL;
}

/* Say r, the refusal of a command before its handler ran. */
static void refuse(struct smtp_session *s, const struct cmd_entry *e, const struct smtp_cmd *cmd,
		   struct smtp_reply r)
{
	if (!e || !(e->flags & CMD_OCTETS)) {
		answer(s, r);
		return;
	}
	refuse_octets(s, cmd, r);
	if (s->state == SMTP_S_BDAT && s->bdat_left == 0)
		bdat_chunk_end(s); /* BDAT 0: no octets follow */
}

static void dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	smtp_cmd_parse(line, len, &cmd);
	s->verb = cmd.verb;
	/* shutting down: a message under way in BDAT chunks may still finish */
	if (s->shutting_down && !(cmd.verb == SMTP_VERB_BDAT && s->bdat_used)) {
		shutdown_reply(s);
		return;
	}
	const struct cmd_entry *e = cmd_lookup(cmd.verb);
	s->cmd_flags = e ? e->flags : 0;
	/* RFC 5321 §4.5.3.1.4 is 512 for every line; MAIL may add what its
	 * advertised parameters allow (SIZE, SMTPUTF8, BODY, AUTH=). */
	size_t limit = s->cfg->line_limit;
	if (cmd.verb == SMTP_VERB_MAIL && s->esmtp)
		limit += SMTP_MAIL_LINE_EXTRA;
	if (cmd.verb == SMTP_VERB_AUTH && limit < SMTP_AUTH_LINE_MAX)
		limit = SMTP_AUTH_LINE_MAX;
	if (len + 2 > limit) {
		refuse(s, e, &cmd, mk(500, ESC_PROTO_SYNTAX_ERROR, "Error: line too long"));
		return;
	}
	if (!e) {
		protocol_error(s, 500, ESC_PROTO_SYNTAX_ERROR, "Error: command not recognized");
		return;
	}
	if (s->cfg->require_tls && !s->tls && !(e->flags & CMD_PRE_TLS)) {
		/* counted as an error, as Postfix does */
		refuse(s, e, &cmd, mk(530, ESC_SEC_OTHER, "Must issue a STARTTLS command first"));
		return;
	}
	/* Postfix's smtpd_junk_command_limit: a session that only repeats
	 * NOOP, RSET and the like cannot hold its slot forever. */
	bool junk = (e->flags & CMD_LIMIT) && s->cfg->junk_command_limit &&
		    ++s->junk_commands > s->cfg->junk_command_limit;
	struct smtp_reply r = e->handler(s, &cmd);
	answer(s, r);
	if (junk && !is_protocol_error(r.code))
		count_error(s);
	if (s->state == SMTP_S_BDAT && s->bdat_left == 0)
		bdat_chunk_end(s); /* BDAT 0 [LAST]: no octets follow */
	if (cmd.verb == SMTP_VERB_STARTTLS && r.code == 220)
		set_state(s, SMTP_S_TLS);
}

/* ---- input ---- */

static size_t input_data(struct smtp_session *s, const char *in, size_t len)
{
	char chunk[SMTP_CHUNK];
	size_t off = 0;
	while (off < len) {
		size_t used, produced;
		enum smtp_dot_status st = smtp_dot_decode(&s->dot, in + off, len - off, &used,
							  chunk, sizeof(chunk), &produced);
		off += used;
		msg_content(s, chunk, produced);
		if (st == SMTP_DOT_END) {
			s->verb = SMTP_VERB_DATA;
			msg_finish(s, s->dot.saw_bare, s->dot.long_line);
			break;
		}
		if (used == 0 && produced == 0)
			break;
	}
	return off;
}

static void bdat_chunk_end(struct smtp_session *s)
{
	s->verb = SMTP_VERB_BDAT;
	if (s->bdat_discard) {
		/* the refusal was decided when the command was read */
		set_state(s, s->bdat_prev_state);
		answer(s, s->bdat_refusal);
		return;
	}
	if (s->too_big) {
		/* RFC 3030 §2: a failed chunk ends the transaction */
		reply(s, 552, ESC_SYS_MSG_TOO_BIG, "Error: message size exceeds fixed limit");
		txn_reset(s);
		return;
	}
	if (!s->bdat_last) {
		set_state(s, SMTP_S_MAIL);
		/* the octets as sent: what is stored may still lack a CR held
		 * back to see whether a LF follows in the next chunk */
		replyf(s, 250, ESC_OTHER_UNDEFINED, "Ok: %llu octets received",
		       (unsigned long long)s->bdat_octets);
		return;
	}
	char tail[4];
	size_t n = smtp_bdat_finish(&s->bdat, tail, sizeof(tail));
	msg_content(s, tail, n);
	msg_finish(s, s->bdat.saw_bare, s->bdat.long_line);
}

static size_t input_bdat(struct smtp_session *s, const char *in, size_t len)
{
	char chunk[SMTP_CHUNK];
	size_t off = 0;
	while (s->bdat_left > 0 && off < len) {
		size_t avail = len - off;
		if (avail > s->bdat_left)
			avail = (size_t)s->bdat_left;
		size_t used = avail, produced = 0;
		if (!s->bdat_discard) {
			smtp_bdat_decode(&s->bdat, in + off, avail, &used, chunk, sizeof(chunk),
					 &produced);
			msg_content(s, chunk, produced);
		}
		off += used;
		s->bdat_left -= used;
	}
	if (s->bdat_left == 0)
		bdat_chunk_end(s);
	return off;
}

/* One response line of the 334 exchange. */
static void auth_line(struct smtp_session *s, const char *line, size_t len)
{
	s->verb = SMTP_VERB_AUTH;
	if (len + 2 > SMTP_AUTH_LINE_MAX) {
		auth_finish(s);
		protocol_error(s, 500, ESC_PROTO_AUTH_LINE_TOO_LONG,
			       "Error: authentication exchange line too long");
		return;
	}
	if (len == 1 && line[0] == '*') {
		auth_failed(s, 501, ESC_SEC_OTHER, "Error: authentication cancelled");
		return;
	}
	answer(s, auth_respond(s, line, len));
}

/* RFC 2920 §3.1: the client sent more after a command that must end its
 * pipelined group, without waiting for the reply. Told once per session, as
 * Postfix logs "improper command pipelining after X". */
static void improper_pipelining(struct smtp_session *s)
{
	if (s->improper_pipelining_seen || s->state == SMTP_S_CLOSED)
		return;
	s->improper_pipelining_seen = true;
	if (s->hooks->on_improper_pipelining)
		s->hooks->on_improper_pipelining(s->hooks->ctx, s->verb);
}

static size_t input_line(struct smtp_session *s, const char *in, size_t len)
{
	const char *line;
	size_t line_len, used;
	bool in_auth = s->state == SMTP_S_AUTH;
	if (!s->lines.discarding)
		s->line_is_auth = in_auth || (len >= 5 && str_iprefix(in, len, "AUTH "));
	enum smtp_line_status st = smtp_line_next(&s->lines, in, len, &line, &line_len, &used);
	if (in_auth && st == SMTP_LINE_OK) {
		auth_line(s, line, line_len);
		return used;
	}
	if (in_auth && st != SMTP_LINE_NEED_MORE)
		auth_finish(s); /* a bad line ends the exchange; the reply says why */
	switch (st) {
	case SMTP_LINE_NEED_MORE:
		break;
	case SMTP_LINE_OK:
		s->cmd_flags = 0;
		dispatch(s, line, line_len);
		if ((s->cmd_flags & CMD_LAST) && used < len)
			improper_pipelining(s);
		break;
	case SMTP_LINE_TOO_LONG:
		s->verb = s->line_is_auth ? SMTP_VERB_AUTH : SMTP_VERB_UNKNOWN;
		if (s->line_is_auth)
			protocol_error(s, 500, ESC_PROTO_AUTH_LINE_TOO_LONG,
				       "Error: authentication exchange line too long");
		else
			protocol_error(s, 500, ESC_PROTO_SYNTAX_ERROR, "Error: line too long");
		break;
	case SMTP_LINE_BAD_ENDING:
		s->verb = SMTP_VERB_UNKNOWN;
		protocol_error(s, 500, ESC_PROTO_SYNTAX_ERROR, "Error: line must end with CRLF");
		break;
	case SMTP_LINE_BAD_OCTET:
		s->verb = SMTP_VERB_UNKNOWN;
		protocol_error(s, 500, ESC_PROTO_SYNTAX_ERROR,
			       "Error: control character in command");
		break;
	}
	return used;
}

size_t smtp_session_input(struct smtp_session *s, const char *in, size_t len)
{
	size_t off = 0;
	while (off < len && s->out.len < SMTP_OUT_HIGH) {
		size_t used;
		switch (s->state) {
		case SMTP_S_DATA:
			used = input_data(s, in + off, len - off);
			break;
		case SMTP_S_BDAT:
			used = input_bdat(s, in + off, len - off);
			break;
		case SMTP_S_TLS:
			/* CVE-2011-0411 class: nothing sent before the handshake
			 * may be taken as a command after it. */
			return len;
		case SMTP_S_COMMIT:
		case SMTP_S_AUTH_WAIT:
		case SMTP_S_CLOSED:
			return off;
		default:
			used = input_line(s, in + off, len - off);
			if (used == 0)
				return off; /* need more input */
			break;
		}
		off += used;
		if (used == 0 && s->state != SMTP_S_BDAT)
			break;
	}
	return off;
}

/* ---- lifecycle and owner events ---- */

struct smtp_session *smtp_session_new(const struct smtp_config *cfg, const struct smtp_hooks *hooks)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = cfg;
	s->hooks = hooks;
	s->state = SMTP_S_CONNECTED;
	buf_init(&s->out, SMTP_OUT_MAX);
	size_t limit = cfg->line_limit < SMTP_LINE_MIN ? SMTP_LINE_MIN : cfg->line_limit;
	limit += SMTP_MAIL_LINE_EXTRA;
	if (limit < SMTP_AUTH_LINE_MAX)
		limit = SMTP_AUTH_LINE_MAX; /* AUTH lines; every other verb is checked in dispatch */
	smtp_line_reader_init(&s->lines, limit, cfg->lenient_line_endings);
	return s;
}

void smtp_session_free(struct smtp_session *s)
{
	if (!s)
		return;
	if (s->state != SMTP_S_COMMIT)
		msg_end(s);
	if (s->auth_active && s->hooks->auth_end)
		s->hooks->auth_end(s->hooks->ctx);
	free(s->env.rcpts);
	buf_fini(&s->out);
	free(s);
}

void smtp_session_greet(struct smtp_session *s)
{
	replyf(s, 220, ESC_NONE, "%s %s", s->cfg->hostname, s->cfg->banner);
}

void smtp_session_refuse(struct smtp_session *s)
{
	replyf(s, 421, ESC_SEC_OTHER, "%s Error: too many connections, try again later",
	       s->cfg->hostname);
}

struct buf *smtp_session_output(struct smtp_session *s)
{
	return &s->out;
}

bool smtp_session_closing(const struct smtp_session *s)
{
	return s->state == SMTP_S_CLOSED;
}

bool smtp_session_wants_input(const struct smtp_session *s)
{
	return s->state != SMTP_S_COMMIT && s->state != SMTP_S_CLOSED &&
	       s->state != SMTP_S_TLS && s->state != SMTP_S_AUTH_WAIT && s->out.len < SMTP_OUT_HIGH;
}

bool smtp_session_idle(const struct smtp_session *s)
{
	return at_rest(s) || s->state == SMTP_S_CLOSED;
}

void smtp_session_tls_done(struct smtp_session *s, bool ok)
{
	if (s->state != SMTP_S_TLS)
		return;
	if (!ok) {
		set_state(s, SMTP_S_CLOSED);
		return;
	}
	/* RFC 3207 §4.2: forget everything learnt before the handshake. */
	txn_reset(s);
	s->tls = true;
	s->esmtp = false;
	s->authenticated = false;
	s->auth_user[0] = '\0';
	s->env.helo[0] = '\0';
	smtp_line_reader_init(&s->lines, s->lines.limit, s->lines.lenient);
	set_state(s, SMTP_S_CONNECTED);
	shutdown_if_at_rest(s);
}

void smtp_session_set_tls(struct smtp_session *s)
{
	s->tls = true;
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->state == SMTP_S_CLOSED)
		return;
	s->verb = SMTP_VERB_UNKNOWN;
	auth_finish(s);
	replyf(s, 421, ESC_NET_BAD_CONNECTION, "%s Error: timeout exceeded", s->cfg->hostname);
	txn_reset(s);
	set_state(s, SMTP_S_CLOSED);
}

void smtp_session_shutdown(struct smtp_session *s)
{
	s->shutting_down = true;
	shutdown_if_at_rest(s);
}

void smtp_session_shutdown_now(struct smtp_session *s)
{
	s->shutting_down = true;
	if (s->state == SMTP_S_CLOSED || s->state == SMTP_S_COMMIT)
		return; /* a commit in flight completes and is answered first */
	s->verb = SMTP_VERB_UNKNOWN;
	if (s->auth_active)
		auth_finish(s);
	txn_reset(s); /* drops a partly received message: it was never acknowledged */
	shutdown_reply(s);
}

const struct smtp_envelope *smtp_session_envelope(const struct smtp_session *s)
{
	return &s->env;
}
