/* libFuzzer target for the client's reply parser (src/smtp/reply_parse.c)
 * and the session above it (src/client/session.c).
 *
 * Input: byte 0 picks the read size; the rest is what a server sends. It is
 * fed in chunks as a network read would deliver it, into a buffer of
 * CLIENT_REPLY_LINE_MAX octets as the driver keeps, and every result is
 * checked against the parser's contract; the same bytes then drive a whole
 * client session, with SASL answered by a scripted test double (the real
 * GNU SASL client is tested in interop), which must end without a crash
 * and never write more than it was given reason to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/reply_parse.h"
#include "client/session.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

static int sasl_start(void *arg, enum client_mech m, struct buf *ir, bool *has_ir)
{
	(void)arg;
	*has_ir = m == CLIENT_MECH_PLAIN;
	return *has_ir ? buf_append(ir, "\0u\0p", 4) : 0;
}

static int sasl_step(void *arg, const char *chal, size_t n, struct buf *resp)
{
	(void)arg;
	return n > 3 && chal[0] == 'x' ? -1 : buf_append(resp, "resp", 4);
}

static bool sasl_finished(void *arg)
{
	(void)arg;
	return true;
}

static void parse_only(const uint8_t *in, size_t len, size_t chunk)
{
	static struct client_reply r;
	struct client_reply_parser p;
	char buf[CLIENT_REPLY_LINE_MAX];
	size_t have = 0, fed = 0;

	client_reply_parser_init(&p);
	while (fed < len || have > 0) {
		size_t n = len - fed < chunk ? len - fed : chunk;

		if (n > sizeof(buf) - have)
			n = sizeof(buf) - have;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		size_t used = 0;
		enum client_reply_status st = client_reply_parse(&p, &r, buf, have, &used);

		check(used <= have);
		if (st == CLIENT_REPLY_DONE) {
			check(r.code >= 200 && r.code <= 599);
			check(r.nlines >= 1 && r.nlines <= CLIENT_REPLY_LINES_MAX);
			for (size_t i = 0; i < r.nlines; i++) {
				size_t l;
				const char *t = client_reply_line(&r, i, &l);

				/* the limit counts octets as received: "ddd-" + text +
				 * LF (a bare-LF line is one octet shorter than CRLF) */
				check(l + 5 <= CLIENT_REPLY_LINE_MAX);
				check(t[l] == '\0' && memchr(t, '\n', l) == NULL);
				check(client_reply_line_text(&r, i) <= t + l);
			}
			if (r.cls)
				check(r.cls == r.code / 100);
		} else if (st == CLIENT_REPLY_MORE) {
			/* a partial line always fits the buffer */
			check(have - used < CLIENT_REPLY_LINE_MAX);
			if (used == 0 && n == 0)
				break; /* input exhausted mid-line */
		} else {
			check(used > 0);
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	}
}

static void run_session(const uint8_t *in, size_t len, size_t chunk, uint8_t mode)
{
	static const char *const rcpts[] = { "a@example.org", "b@example.org" };
	static const char msg[] = "Subject: x\r\n\r\n.dot\r\nbody\r\n";
	struct client_session_cfg cfg = {
		.helo_name = "client.example",
		.tls = (mode & 1) ? CLIENT_TLS_STARTTLS : CLIENT_TLS_NONE,
		.auth = (mode & 2) != 0,
		.mech = (mode & 4) ? CLIENT_MECH_PLAIN : CLIENT_MECH_NONE,
		.from = "f@example.org",
		.rcpts = rcpts,
		.nrcpts = 1 + ((mode >> 3) & 1),
		.msg = msg,
		.msg_len = sizeof(msg) - 1,
		.bdat = (mode & 16) != 0,
		.sasl = { sasl_start, sasl_step, sasl_finished, NULL },
	};
	struct buf trace;

	buf_init(&trace, 1u << 20);
	if (mode & 32)
		cfg.transcript = &trace;
	struct client_session *s = client_session_new(&cfg);

	check(s != NULL);
	size_t pos = 0;
	enum client_event ev = CLIENT_EV_NONE;

	while (pos < len && ev != CLIENT_EV_DONE) {
		size_t n = len - pos < chunk ? len - pos : chunk, used;

		ev = client_session_feed(s, (const char *)in + pos, n, &used);
		check(used <= n);
		buf_clear(client_session_out(s));
		if (ev == CLIENT_EV_STARTTLS) {
			client_session_tls_started(s, (mode & 64) != 0);
			used = n; /* the driver drops what it buffered */
		}
		pos += used == 0 ? n : used; /* the driver keeps a partial line */
	}
	if (ev != CLIENT_EV_DONE)
		client_session_eof(s);
	const struct client_result *r = client_session_result(s);

	check(!r->ok || r->accepted > 0);
	client_session_free(s);
	buf_fini(&trace);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = 1 + (size_t)(data[0] % 64) * 9;

	parse_only(data + 2, size - 2, chunk);
	run_session(data + 2, size - 2, chunk, data[1]);
	return 0;
}
