#include "client/send.h"

#include <stdlib.h>
#include <string.h>

#include "client/sasl_client.h"
#include "client/transcript.h"
#include "client/transport.h"
#include "smtp/codes.h"

#define N_(s) s /* a msgid for xgettext, translated through tr */
#define IN_MAX (64 * 1024)
#define ERR_MAX 512

static const char *T(client_tr tr, const char *msgid)
{
	return tr ? tr(msgid) : msgid;
}

static bool esc_is(const struct client_result *r, int subject, int detail)
{
	return r->cls && r->subject == subject && r->detail == detail;
}

/* printf with a translated format of one or two %s */
#define advise(fmt, ...) snprintf(out, cap, T(tr, fmt), __VA_ARGS__)
#define say(msgid) snprintf(out, cap, "%s", T(tr, msgid))

void client_send_advice(char *out, size_t cap, const struct client_result *r,
	const struct client_caps *caps, bool tls, client_tr tr)
{
	const char *offered = caps->auth[0] ? caps->auth : T(tr, N_("nothing"));

	out[0] = '\0';
	switch (r->local) {
	case CLIENT_LOCAL_NO_STARTTLS:
		say(N_("the server does not offer STARTTLS; try --tls (port 465), or leave out --starttls if sending in the clear is acceptable"));
		return;
	case CLIENT_LOCAL_NO_AUTH:
		say(N_("the server does not offer AUTH here; many servers offer it only after TLS: add --starttls, or leave out --user"));
		return;
	case CLIENT_LOCAL_AUTH_NEEDS_TLS:
		advise(N_("the server offers only %s without TLS, which would send your password in the clear: add --starttls, or force it with --auth"), offered);
		return;
	case CLIENT_LOCAL_NO_MECH:
		advise(N_("the server offers no mechanism postern speaks (it offered: %s)"), offered);
		return;
	case CLIENT_LOCAL_SASL:
		advise(N_("authentication failed on the client side with %s: the server did not prove it knows your password, or the mechanism could not start"), client_mech_name(r->mech));
		return;
	case CLIENT_LOCAL_BAD_CHALLENGE:
		say(N_("the server sent an AUTH challenge that is not base64; the exchange was cancelled"));
		return;
	case CLIENT_LOCAL_NO_SMTPUTF8:
		say(N_("an address is not ASCII and the server does not offer SMTPUTF8: use an ASCII address"));
		return;
	case CLIENT_LOCAL_TOO_BIG:
		say(N_("the message is larger than the server's SIZE limit: make it smaller"));
		return;
	case CLIENT_LOCAL_PROTOCOL:
		advise(N_("the server broke the protocol (%s); it may not be an SMTP server, or a proxy is in the way"), r->text);
		return;
	case CLIENT_LOCAL_NOMEM:
		say(N_("out of memory"));
		return;
	case CLIENT_LOCAL_NONE:
		break;
	}
	/* a refusal by the server: the cases people meet most, then the table */
	if (r->code == 538 || esc_is(r, 7, 11) || esc_is(r, 7, 10)) {
		say(N_("the server wants TLS first: add --starttls"));
	} else if (r->phase == CLIENT_PHASE_AUTH && (r->code == 535 || esc_is(r, 7, 8))) {
		advise(N_("credentials rejected; check them, and use a mechanism the server offers (it offered: %s)"), offered);
	} else if (r->phase == CLIENT_PHASE_AUTH && r->code == 534) {
		advise(N_("the server finds %s too weak: choose another with --auth (it offered: %s)"), client_mech_name(r->mech), offered);
	} else if (r->phase == CLIENT_PHASE_AUTH && r->code == 504) {
		advise(N_("the server does not take the mechanism %s: choose one it offers with --auth (it offered: %s)"), client_mech_name(r->mech), offered);
	} else if (r->code == 530) {
		say(N_("the server wants you to authenticate first: add --user (and --starttls)"));
	} else if (r->code == 500) {
		say(N_("the server did not understand a command: the command line must not exceed 512 octets and must end with CRLF"));
	} else if (r->phase == CLIENT_PHASE_RCPT && (r->code == 554 || r->code == 550 || r->code == 503) &&
		   esc_is(r, 7, 1) && r->mech != CLIENT_MECH_NONE) {
		/* logged in, and still refused: --user cannot be the advice */
		say(N_("relay refused although you are logged in: this account may not send to that domain, or not with this --from; use the sender address of your account"));
	} else if (r->phase == CLIENT_PHASE_RCPT && (r->code == 554 || r->code == 550 || r->code == 503) &&
		   esc_is(r, 7, 1)) {
		say(N_("relay access denied: this server does not take mail for that domain from you; authenticate with --user, or send through the server of the recipient's domain"));
	} else if (r->phase == CLIENT_PHASE_RCPT && (r->code == 550 || esc_is(r, 1, 1))) {
		say(N_("the recipient's mailbox does not exist there: check the address"));
	} else if (r->code == 552 || esc_is(r, 3, 4)) {
		say(N_("the message is too big for this server: make it smaller"));
	} else if ((r->phase == CLIENT_PHASE_MAIL || r->phase == CLIENT_PHASE_RCPT) && r->code == 501) {
		say(N_("the server refused the address syntax: check --from and --to"));
	} else if (r->code == 421) {
		say(N_("the server is closing the connection (busy, shutting down, or too many errors): try again later"));
	} else {
		const struct smtp_basic_code *b = smtp_code_basic(r->code);

		if (b)
			snprintf(out, cap, "%s", T(tr, b->fix));
		else if (r->code / 100 == 4)
			snprintf(out, cap, "%s", T(tr, N_("a temporary failure: try again later")));
	}
}

int client_send_exit_code(const struct client_result *r)
{
	switch (r->local) {
	case CLIENT_LOCAL_NONE:
		break;
	case CLIENT_LOCAL_NO_STARTTLS:
		return CLIENT_EXIT_UNAVAILABLE;
	case CLIENT_LOCAL_PROTOCOL:
	case CLIENT_LOCAL_BAD_CHALLENGE:
		return CLIENT_EXIT_PROTOCOL;
	case CLIENT_LOCAL_NOMEM:
		return CLIENT_EXIT_SOFTWARE;
	default:
		return CLIENT_EXIT_PERM;
	}
	if (r->code / 100 == 4)
		return CLIENT_EXIT_TEMP;
	if (r->code / 100 == 5)
		return CLIENT_EXIT_PERM;
	return r->ok ? CLIENT_EXIT_OK : CLIENT_EXIT_PROTOCOL;
}

/* ---- the driver ---- */

struct run {
	const struct client_send_opts *o;
	struct client_transport *t;
	struct client_session *s;
	struct client_sasl *sasl;
	struct buf trace;
	char err[ERR_MAX];
	bool injected; /* bytes came between the 220 to STARTTLS and the handshake */
};

static void flush_trace(struct run *r)
{
	if (r->trace.len) {
		fwrite(r->trace.data, 1, r->trace.len, r->o->out);
		fflush(r->o->out);
		buf_clear(&r->trace);
	}
}

static int net_exit(enum client_net_err e)
{
	return e == CLIENT_NET_NOMEM ? CLIENT_EXIT_SOFTWARE : CLIENT_EXIT_UNAVAILABLE;
}

static enum client_net_err start_tls(struct run *r)
{
	struct client_tls_opts to = {
		.verify = r->o->verify, .cafile = r->o->cafile, .host = r->o->host, .sni = r->o->sni,
		.version = r->o->tls_version, .cert = r->o->cert, .key = r->o->key,
	};
	enum client_net_err e = client_transport_start_tls(r->t, &to, r->err, sizeof(r->err));

	if (e != CLIENT_NET_OK)
		return e;
	struct client_tls_info info;
	unsigned char cb[64];
	size_t cbn = 0;
	enum client_cb_type type;
	bool have_cb = r->sasl && client_transport_cb(r->t, &type, cb, &cbn) == 0 &&
		       client_sasl_set_cb(r->sasl, type, cb, cbn) == 0;

	client_transport_tls_info(r->t, &info);
	if (r->o->verbose) {
		char note[1024];

		snprintf(note, sizeof(note), "TLS: %s %s, certificate %s (%s)", info.version,
			 info.cipher, info.subject, r->o->verify ? "verified" : info.verify);
		client_transcript_note(&r->trace, note);
	}
	client_session_tls_started(r->s, have_cb);
	return CLIENT_NET_OK;
}

/* Run the conversation; returns CLIENT_NET_OK when the session ended (see
 * its result) or the network error that cut it short. */
static enum client_net_err converse(struct run *r)
{
	char in[IN_MAX];
	size_t have = 0;
	enum client_event ev = CLIENT_EV_NONE;
	struct buf *out = client_session_out(r->s);
	enum client_net_err e;

	for (;;) {
		flush_trace(r);
		if (out->len) {
			e = client_transport_write(r->t, out->data, out->len, r->err, sizeof(r->err));
			buf_clear(out);
			if (e != CLIENT_NET_OK)
				return client_session_settled(r->s) ? CLIENT_NET_OK : e;
		}
		if (ev == CLIENT_EV_DONE)
			return CLIENT_NET_OK;
		if (ev == CLIENT_EV_STARTTLS) {
			/* RFC 3207 §6: nothing read before the handshake counts. Bytes
			 * already there came in the clear after the 220: someone
			 * injected them (the "NO STARTTLS" study's response
			 * injection), so stop rather than trust the session. */
			if (have > 0) {
				snprintf(r->err, sizeof(r->err), T(r->o->tr,
					 N_("the server sent %zu octets after its 220 to STARTTLS, before the TLS handshake: they may be injected by an attacker, so the session stops")),
					 have);
				r->injected = true;
				return CLIENT_NET_TLS;
			}
			if ((e = start_tls(r)) != CLIENT_NET_OK)
				return e;
			ev = CLIENT_EV_NONE;
			continue;
		}
		size_t used;

		ev = client_session_feed(r->s, in, have, &used);
		memmove(in, in + used, have - used);
		have -= used;
		if (ev != CLIENT_EV_NONE || out->len)
			continue;
		size_t got;

		e = client_transport_read(r->t, in + have, sizeof(in) - have, &got, r->err,
					  sizeof(r->err));
		if (e != CLIENT_NET_OK) {
			if (client_session_settled(r->s))
				return CLIENT_NET_OK; /* only the reply to QUIT is missing */
			if (e == CLIENT_NET_CLOSED)
				client_session_eof(r->s);
			return e;
		}
		have += got;
	}
}

/* A hint when the TLS mode does not match the port (issue: "wrong version
 * number" for --tls on a STARTTLS port, silence for --starttls on 465). */
static void tls_mode_hint(const struct run *r, enum client_net_err e, enum client_phase phase)
{
	const struct client_send_opts *o = r->o;

	if (o->tls == CLIENT_TLS_IMPLICIT && e == CLIENT_NET_TLS &&
	    (strstr(r->err, "wrong version number") || strstr(r->err, "packet length too long") ||
	     strstr(r->err, "unknown protocol")))
		fprintf(o->err, "postern send: %s\n", T(o->tr,
			N_("the server answered in plain text, so this port speaks STARTTLS (usually 587 or 25): try --starttls instead of --tls")));
	else if (o->tls != CLIENT_TLS_IMPLICIT && e == CLIENT_NET_TIMEOUT && phase == CLIENT_PHASE_GREETING)
		fprintf(o->err, "postern send: %s\n", T(o->tr,
			N_("no greeting: a port with TLS from the first octet (implicit TLS, usually 465) waits for the client's TLS handshake: try --tls")));
}

static void summary(struct run *r, const struct client_result *res)
{
	const struct client_send_opts *o = r->o;

	if (res->quit_early) {
		fprintf(o->out, T(o->tr, N_("stopped after %s, as --quit-after asked: %s\n")),
			client_quit_after_name(o->quit_after), res->final);
		return;
	}

	fprintf(o->out, T(o->tr, N_("accepted by %s for %zu of %zu recipients: %s\n")), o->host,
		res->accepted, o->nrcpts, res->final);
	for (size_t i = 0; i < o->nrcpts; i++) {
		const struct client_rcpt_result *rr = client_session_rcpt(r->s, i);

		if (rr && rr->code && rr->code / 100 != 2)
			fprintf(o->err, T(o->tr, N_("postern send: refused <%s>: %s\n")), o->rcpts[i],
				rr->text);
	}
}

int client_send(const struct client_send_opts *o)
{
	struct run r = { .o = o };
	int rc = CLIENT_EXIT_OK;
	enum client_net_err e;

	buf_init(&r.trace, 1u << 24);
	e = client_transport_connect(&r.t, o->host, o->port, o->timeout_ms, r.err, sizeof(r.err));
	if (e != CLIENT_NET_OK) {
		fprintf(o->err, "postern send: %s\n", r.err);
		buf_fini(&r.trace);
		return net_exit(e);
	}
	if (o->quit_after == CLIENT_QUIT_AFTER_CONNECT) {
		fprintf(o->out, T(o->tr, N_("stopped after %s, as --quit-after asked: %s\n")), "connect",
			o->host);
		client_transport_close(r.t);
		buf_fini(&r.trace);
		return CLIENT_EXIT_OK;
	}
	if (o->user && !(r.sasl = client_sasl_new(o->user, o->password ? o->password : "", o->host))) {
		fprintf(o->err, "postern send: %s\n", T(o->tr, N_("cannot start GNU SASL")));
		client_transport_close(r.t);
		buf_fini(&r.trace);
		return CLIENT_EXIT_SOFTWARE;
	}
	struct client_session_cfg cfg = {
		.helo_name = o->helo,
		.tls = o->tls,
		.auth = o->user != NULL,
		.mech = o->mech,
		.from = o->from,
		.rcpts = o->rcpts,
		.nrcpts = o->nrcpts,
		.msg = o->msg,
		.msg_len = o->msg_len,
		.bdat = o->bdat,
		.transcript = o->verbose ? &r.trace : NULL,
		.show_data = o->show_data,
		.lmtp = o->lmtp,
		.quit_after = o->quit_after,
		.tr = o->tr,
	};

	if (r.sasl)
		cfg.sasl = client_sasl_ops(r.sasl);
	r.s = client_session_new(&cfg);
	if (!r.s) {
		fprintf(o->err, "postern send: %s\n", T(o->tr, N_("out of memory")));
		rc = CLIENT_EXIT_SOFTWARE;
		goto out;
	}
	if (o->tls == CLIENT_TLS_IMPLICIT && (e = start_tls(&r)) != CLIENT_NET_OK) {
		flush_trace(&r);
		fprintf(o->err, "postern send: %s\n", r.err);
		tls_mode_hint(&r, e, CLIENT_PHASE_GREETING);
		rc = net_exit(e);
		goto out;
	}
	e = converse(&r);
	flush_trace(&r);
	const struct client_result *res = client_session_result(r.s);

	if (e != CLIENT_NET_OK && !res->ok) {
		fprintf(o->err, "postern send: %s (%s %s)\n", r.err, T(o->tr, N_("during")),
			client_phase_name(res->phase));
		tls_mode_hint(&r, e, res->phase);
		rc = r.injected ? CLIENT_EXIT_PROTOCOL : net_exit(e);
		goto out;
	}
	if (res->ok) {
		summary(&r, res);
		if (!res->quit_early && res->accepted < o->nrcpts)
			rc = res->code / 100 == 4 ? CLIENT_EXIT_TEMP : CLIENT_EXIT_PERM;
		goto out;
	}
	char advice[1024];

	client_send_advice(advice, sizeof(advice), res, client_session_caps(r.s),
			   client_session_tls_active(r.s), o->tr);
	if (res->code && res->local != CLIENT_LOCAL_PROTOCOL)
		fprintf(o->err, T(o->tr, N_("postern send: failed at %s: %s\n")),
			client_phase_name(res->phase), res->text);
	if (advice[0])
		fprintf(o->err, "postern send: %s\n", advice);
	if (res->local == CLIENT_LOCAL_SASL && r.sasl && client_sasl_error(r.sasl)[0])
		fprintf(o->err, "postern send: GNU SASL: %s\n", client_sasl_error(r.sasl));
	rc = client_send_exit_code(res);
out:
	client_session_free(r.s);
	client_sasl_free(r.sasl);
	client_transport_close(r.t);
	buf_fini(&r.trace);
	return rc;
}
