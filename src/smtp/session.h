/* The server session: a pure state machine (RFC 5321 with PIPELINING, SIZE,
 * 8BITMIME, SMTPUTF8, CHUNKING, ENHANCEDSTATUSCODES). Bytes go in through
 * smtp_session_input(); reply bytes accumulate in smtp_session_output();
 * everything else (recipient policy, the message store, the TLS upgrade) is
 * asked of the owner through hooks. No sockets, no clock, no file I/O.
 *
 * While a request is pending (a durable commit, the TLS handshake) the
 * session consumes no input; the owner answers with smtp_session_msg_done()
 * or smtp_session_tls_done() and feeds the rest of its input again. */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "smtp/cmd.h"
#include "smtp/dot.h"
#include "smtp/line.h"

/* Every limit is a named parameter with a documented default (README). */
#define SMTP_DEFAULT_MAX_MESSAGE_SIZE (35u * 1024 * 1024)
#define SMTP_DEFAULT_MAX_RECIPIENTS 100
#define SMTP_MIN_MAX_RECIPIENTS 100 /* RFC 5321 §4.5.3.1.8 */
#define SMTP_DEFAULT_MAX_ERRORS 10
/* EHLO, HELO, RSET, NOOP, VRFY, ETRN between messages before each counts as
 * an error (Postfix's smtpd_junk_command_limit) */
#define SMTP_DEFAULT_JUNK_COMMAND_LIMIT 100
/* Octets RFC 1870, 6531, 6152 and 4954 let MAIL add to the 512-octet line. */
#define SMTP_MAIL_LINE_EXTRA (26 + 10 + 14 + 500)
/* RFC 4954 §4: an AUTH command or a response line may be 12288 octets. */
#define SMTP_AUTH_LINE_MAX 12288
#define SMTP_DEFAULT_MAX_AUTH_FAILURES 3

struct smtp_config {
	const char *hostname;    /* greeting, EHLO, Received */
	const char *banner;      /* greeting text after the hostname: "ESMTP postern" */
	size_t line_limit;       /* command line limit incl. CRLF, >= 512 */
	bool lenient_line_endings;
	uint64_t max_message_size; /* SIZE; 0 means no limit (SIZE advertised without a number) */
	size_t max_recipients;   /* >= 100 */
	unsigned max_errors;     /* protocol errors before 421 4.7.0 */
	unsigned junk_command_limit; /* 0: none */
	size_t text_line_limit;  /* 0: none; else refuse messages with longer lines (554 5.6.0) */
	enum smtp_bare_newline bare_newline;
	bool tls_available;      /* a certificate is configured: STARTTLS is offered */
	bool require_auth;       /* submission: MAIL needs AUTH first (530 5.7.0) */
	bool require_tls;        /* only EHLO HELO STARTTLS NOOP RSET QUIT before TLS (530 5.7.0) */
	unsigned max_auth_failures; /* failed AUTH per session before 421 4.7.0 */
};

void smtp_config_defaults(struct smtp_config *cfg);

enum smtp_rcpt_verdict {
	SMTP_RCPT_OK,
	SMTP_RCPT_RELAY_DENIED, /* 554 5.7.1 */
	SMTP_RCPT_NO_MAILBOX,   /* 550 5.1.1 */
	SMTP_RCPT_TEMPFAIL,     /* 451 4.3.0 */
};

enum smtp_msg_status {
	SMTP_MSG_OK,
	SMTP_MSG_FULL,  /* 452 4.3.1 */
	SMTP_MSG_IOERR, /* 451 4.3.0 */
	SMTP_MSG_REJECTED, /* 554 5.3.0: the mailbox server refused it for good */
};

/* One mail transaction (OpenSMTPD's habit: RSET is "free the transaction"). */
struct smtp_envelope {
	char helo[SMTP_DOMAIN_MAX + 1];
	const char *protocol; /* RFC 3848 / RFC 6531 "with" keyword: ESMTP, ESMTPS, UTF8SMTPA... */
	struct smtp_path from;
	struct smtp_mail_params params;
	struct smtp_path *rcpts; /* accepted recipients */
	size_t nrcpts;
	size_t rcpt_cap;
	char queue_id[32]; /* set by the msg_begin hook */
	uint64_t size;     /* octets of content received */
};

/* What the SASL backend says when an exchange starts. */
enum smtp_auth_start {
	SMTP_AUTH_START_OK,
	SMTP_AUTH_START_UNKNOWN,   /* 504 5.5.4: not a mechanism we offer */
	SMTP_AUTH_START_NEEDS_TLS, /* 538 5.7.11: PLAIN/LOGIN before TLS */
	SMTP_AUTH_START_TOO_WEAK,  /* 534 5.7.9 */
	SMTP_AUTH_START_TEMPFAIL,  /* 454 4.7.0 */
	/* 501 5.7.0: an initial response to a mechanism the server begins
	 * (CRAM-MD5; RFC 4954 §4) */
	SMTP_AUTH_START_NO_INITIAL_RESPONSE,
};

/* What the SASL backend says after a step (smtp_session_auth_reply). */
enum smtp_auth_reply {
	SMTP_AUTH_CHALLENGE, /* 334 <base64 of data> */
	SMTP_AUTH_SUCCESS,   /* 235 2.7.0 */
	SMTP_AUTH_FAILED,    /* 535 5.7.8: also malformed credentials, same reply for every cause */
	SMTP_AUTH_TEMPFAIL,  /* 454 4.7.0: the credential store is unreachable */
	SMTP_AUTH_BUSY,      /* 454 4.7.0: too many password checks in flight (SPEC.md §6) */
};

struct smtp_hooks {
	void *ctx;
	/* MAIL is acceptable so far: is there room for a message of size
	 * octets (its SIZE=, 0 if none)? false: 452 4.3.1 (SPEC §6: the queue
	 * below queue_min_free, or a SIZE= that would take it there). Optional. */
	bool (*mail_check)(void *ctx, uint64_t size);
	enum smtp_rcpt_verdict (*rcpt_check)(void *ctx, const struct smtp_path *rcpt,
					     bool authenticated);
	/* A message body begins (after 354, or at the first BDAT chunk). The hook
	 * sets env->queue_id and opens the spool. Errors are remembered and
	 * reported once the client has sent the whole message. */
	enum smtp_msg_status (*msg_begin)(void *ctx, struct smtp_envelope *env);
	enum smtp_msg_status (*msg_write)(void *ctx, const char *p, size_t n);
	/* The whole message arrived and is acceptable: make it durable, then
	 * call smtp_session_msg_done(). */
	void (*msg_commit)(void *ctx, struct smtp_envelope *env);
	/* Drop the message being received (refused, reset or connection gone). */
	void (*msg_abort)(void *ctx);
	/* STARTTLS is acceptable: prepare the TLS layer and return true, then
	 * "220 2.0.0" goes into the output; after flushing it, run the handshake
	 * and call smtp_session_tls_done(). false: 454 4.7.0 (temporary). */
	bool (*starttls)(void *ctx);
	/* AUTH (RFC 4954). The session owns the 334 framing, base64, the
	 * 12288-octet limit, "*" and the failure count; the backend owns the
	 * mechanisms. NULL auth_mechs: AUTH is not offered (502). */
	/* Mechanisms to advertise, space-separated in preference order, or "". */
	const char *(*auth_mechs)(void *ctx, bool tls);
	enum smtp_auth_start (*auth_start)(void *ctx, const char *mech, bool tls,
					   bool initial_response);
	/* One client response, decoded (resp == NULL: AUTH had no initial
	 * response). Valid only during the call. Answer, now or later, with
	 * smtp_session_auth_reply(); the session reads nothing meanwhile. */
	void (*auth_step)(void *ctx, const unsigned char *resp, size_t len);
	/* The exchange is over (success, failure, cancel, or the session ends). */
	void (*auth_end)(void *ctx);
	/* The client sent more input right after a command that must end a
	 * pipelined group (RFC 2920 §3.1), once per session, for the log. Optional. */
	void (*on_improper_pipelining)(void *ctx, enum smtp_verb after);
	/* Every change of the session's state ("ready" -> "mail"), for the debug
	 * log. Optional. */
	void (*on_state)(void *ctx, const char *from, const char *to);
	/* Every reply, for the log. Optional. */
	void (*on_reply)(void *ctx, enum smtp_verb verb, int code, const char *text);
};

struct smtp_session;

struct smtp_session *smtp_session_new(const struct smtp_config *cfg, const struct smtp_hooks *hooks);
void smtp_session_free(struct smtp_session *s);

/* The greeting (220), or 421 4.7.0 when the owner refuses the connection. */
void smtp_session_greet(struct smtp_session *s);
void smtp_session_refuse(struct smtp_session *s);

/* Consume input; returns the number of octets consumed. Less than len means:
 * a request is pending, the session is closing, or output must be flushed
 * first (the peer is not reading its replies). */
size_t smtp_session_input(struct smtp_session *s, const char *in, size_t len);

/* Reply bytes waiting to be written; the owner writes and clears them. */
struct buf *smtp_session_output(struct smtp_session *s);
/* The session said 221 or 421: flush the output, then close. */
bool smtp_session_closing(const struct smtp_session *s);
/* True while the session would consume more input. */
bool smtp_session_wants_input(const struct smtp_session *s);
/* True when no command or message is partly received (a shutdown may close now). */
bool smtp_session_idle(const struct smtp_session *s);

/* The owner's answers and events. */
void smtp_session_msg_done(struct smtp_session *s, enum smtp_msg_status st);
void smtp_session_tls_done(struct smtp_session *s, bool ok);
/* Implicit TLS (RFC 8314): the channel is TLS from the start; call before
 * smtp_session_greet(). */
void smtp_session_set_tls(struct smtp_session *s);
/* The SASL backend's answer to auth_step. data is the raw challenge for
 * SMTP_AUTH_CHALLENGE; user names the authenticated identity on success. */
void smtp_session_auth_reply(struct smtp_session *s, enum smtp_auth_reply r,
			     const void *data, size_t len, const char *user);
bool smtp_session_authenticated(const struct smtp_session *s);
const char *smtp_session_auth_user(const struct smtp_session *s);
void smtp_session_timeout(struct smtp_session *s);
/* Graceful shutdown: 421 4.3.2 now if idle, else as soon as the command or
 * message under way is done (a message in BDAT chunks may send its next
 * chunks). */
void smtp_session_shutdown(struct smtp_session *s);
/* The grace time is over: 421 4.3.2 now whatever is under way (a partly
 * received message is dropped), unless a commit is in flight, which is
 * answered first. */
void smtp_session_shutdown_now(struct smtp_session *s);

/* For the owner's logs and the Received header. */
const struct smtp_envelope *smtp_session_envelope(const struct smtp_session *s);

#endif
