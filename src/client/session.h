/* The client session: a pure state machine fed the server's bytes. It
 * queues commands in `out` for the driver to write, asks the driver to start
 * TLS, computes SASL responses through the callbacks it is given (no I/O
 * there), and ends with a result that says where and why it stopped.
 * Its steps: greeting, EHLO (HELO when EHLO is refused and nothing needs
 * it), STARTTLS and EHLO again, AUTH, then MAIL, RCPT..., DATA (or BDAT),
 * pipelined as RFC 2920 allows, then QUIT. */
#ifndef POSTERN_CLIENT_SESSION_H
#define POSTERN_CLIENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "client/caps.h"
#include "client/reply_parse.h"
#include "common/buf.h"

/* Where the session stopped (or the step it is in). */
enum client_phase {
	CLIENT_PHASE_GREETING,
	CLIENT_PHASE_EHLO,
	CLIENT_PHASE_STARTTLS,
	CLIENT_PHASE_AUTH,
	CLIENT_PHASE_MAIL,
	CLIENT_PHASE_RCPT,
	CLIENT_PHASE_DATA,
	CLIENT_PHASE_BODY,  /* the reply to the end of DATA or to BDAT */
	CLIENT_PHASE_QUIT,
};

/* Reasons the client stops on its own, before or without a server refusal. */
enum client_local {
	CLIENT_LOCAL_NONE,
	CLIENT_LOCAL_NO_STARTTLS,   /* --starttls, but STARTTLS is not offered */
	CLIENT_LOCAL_NO_AUTH,       /* a user given, but AUTH is not offered */
	CLIENT_LOCAL_AUTH_NEEDS_TLS,/* only PLAIN/LOGIN offered and no TLS */
	CLIENT_LOCAL_NO_MECH,       /* nothing offered that the client speaks */
	CLIENT_LOCAL_SASL,          /* the SASL library refused a step (e.g. the server's SCRAM proof) */
	CLIENT_LOCAL_BAD_CHALLENGE, /* a 334 that is not base64 */
	CLIENT_LOCAL_NO_SMTPUTF8,   /* a UTF-8 address, SMTPUTF8 not offered */
	CLIENT_LOCAL_TOO_BIG,       /* larger than the server's SIZE */
	CLIENT_LOCAL_PROTOCOL,      /* a reply that makes no sense here, or not a reply */
	CLIENT_LOCAL_NOMEM,
};

enum client_tls_mode {
	CLIENT_TLS_NONE,
	CLIENT_TLS_STARTTLS,  /* STARTTLS, or stop: never go on in the clear */
	CLIENT_TLS_IMPLICIT,
	CLIENT_TLS_OPTIONAL,  /* STARTTLS when offered; in the clear otherwise (or when refused) */
};

/* Where --quit-after stops the session (QUIT once that stage succeeded). */
enum client_quit_after {
	CLIENT_QUIT_AFTER_NONE,    /* send the message */
	CLIENT_QUIT_AFTER_CONNECT, /* the driver closes right after connecting */
	CLIENT_QUIT_AFTER_BANNER,
	CLIENT_QUIT_AFTER_EHLO,
	CLIENT_QUIT_AFTER_TLS,
	CLIENT_QUIT_AFTER_AUTH,
	CLIENT_QUIT_AFTER_MAIL,
	CLIENT_QUIT_AFTER_RCPT,
};

/* "banner" and the others, or -1 for an unknown name. */
int client_quit_after_by_name(const char *name);
const char *client_quit_after_name(enum client_quit_after q);

/* SASL through the driver: computation only, never I/O. */
struct client_sasl_ops {
	/* Start mech. Sets *has_ir and the initial response in ir. 0 or -1. */
	int (*start)(void *arg, enum client_mech mech, struct buf *ir, bool *has_ir);
	/* Answer a decoded challenge into resp. 0, or -1 when the exchange must stop. */
	int (*step)(void *arg, const char *chal, size_t n, struct buf *resp);
	/* Whether the mechanism finished (for SCRAM: the server proved itself). */
	bool (*finished)(void *arg);
	void *arg;
};

/* Translation of a msgid for the transcript, NULL for English. */
typedef const char *(*client_tr)(const char *msgid);

struct client_session_cfg {
	const char *helo_name;
	enum client_tls_mode tls;
	bool auth;                 /* authenticate (a user was given) */
	enum client_mech mech;     /* forced by --auth, or CLIENT_MECH_NONE to choose */
	bool cb_available;         /* channel binding can be had once TLS runs */
	const char *from;
	const char *const *rcpts;
	size_t nrcpts;
	const char *msg;           /* normalized: CRLF line ends, ending with CRLF */
	size_t msg_len;
	bool bdat;                 /* use BDAT (CHUNKING) when offered */
	struct client_sasl_ops sasl;
	struct buf *transcript;    /* "C: " / "S: " lines go here when not NULL */
	bool show_data;            /* the transcript shows the message's lines too */
	bool lmtp;                 /* LMTP (RFC 2033): LHLO, one reply per recipient after DATA */
	enum client_quit_after quit_after;
	client_tr tr;
};

enum client_event {
	CLIENT_EV_NONE,     /* write `out`, then read more and feed again */
	CLIENT_EV_STARTTLS, /* write `out`, drop every buffered input octet, handshake, then client_session_tls_started() */
	CLIENT_EV_DONE,     /* write `out` (QUIT) and close: see the result */
};

/* At most this many recipients get their replies remembered. */
#define CLIENT_RCPT_MAX 1000

struct client_rcpt_result {
	int code;                        /* 0: no reply (yet) */
	char text[CLIENT_REPLY_LINE_MAX]; /* first line of the reply */
};

struct client_result {
	bool ok;                 /* the message was accepted (for at least one recipient),
				    or the --quit-after stage was reached */
	bool quit_early;         /* ok because the --quit-after stage was reached */
	enum client_phase phase; /* where it stopped */
	enum client_local local; /* a reason of the client's own, or NONE */
	int code;                /* the reply that stopped it (0: none) */
	int cls, subject, detail;/* its enhanced code, cls 0 when none */
	char text[CLIENT_REPLY_LINE_MAX]; /* its first line, code included */
	char final[CLIENT_REPLY_LINE_MAX];/* the reply to the message when ok */
	size_t accepted;         /* recipients accepted */
	enum client_mech mech;   /* the mechanism used, or NONE */
};

struct client_session;

struct client_session *client_session_new(const struct client_session_cfg *cfg);
void client_session_free(struct client_session *s);

/* Bytes to write to the server; the driver writes them all and clears it. */
struct buf *client_session_out(struct client_session *s);

/* Feed what was read. Sets *used. Stops at an event (the rest of the input
 * stays with the caller; for STARTTLS it must be dropped). */
enum client_event client_session_feed(struct client_session *s, const char *in, size_t len,
	size_t *used);
/* The server closed the connection (or the driver gave up): DONE. */
enum client_event client_session_eof(struct client_session *s);
/* The TLS handshake after STARTTLS (or the implicit one) succeeded; tls_cb
 * says whether channel binding is available. Queues EHLO. */
void client_session_tls_started(struct client_session *s, bool cb);

const struct client_result *client_session_result(const struct client_session *s);
const struct client_caps *client_session_caps(const struct client_session *s);
/* Recipient i's reply (i < nrcpts, up to CLIENT_RCPT_MAX). */
const struct client_rcpt_result *client_session_rcpt(const struct client_session *s, size_t i);
enum client_phase client_session_phase(const struct client_session *s);
bool client_session_tls_active(const struct client_session *s);
/* Whether the outcome is settled and only QUIT's reply is outstanding (a
 * silent or closing server then changes nothing). */
bool client_session_settled(const struct client_session *s);

const char *client_phase_name(enum client_phase p);

#endif
