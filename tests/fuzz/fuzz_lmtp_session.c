/* libFuzzer target for the LMTP client session (src/store/lmtp_session.c).
 *
 * Input: byte 0 picks the read size and the message's flags; the rest is
 * what an LMTP server sends. It is fed in chunks as network reads deliver
 * it; whenever the session is ready a message with three recipients starts
 * (at most four messages), its body goes through the dot-stuffer, and every
 * result is checked against the session's contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/lmtp_session.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

static const char *const rcpts[] = {"a@l", "\"b c\"@l", "j\xc3\xb6rg@l"};
static const char body[] = ".first\r\nmiddle\r\n..\r\n.\r\nlast";

static void check_results(struct lmtp_session *s, size_t n)
{
	check(lmtp_session_rcpt(s, n) == NULL);
	for (size_t i = 0; i < n; i++) {
		const struct lmtp_rcpt_result *r = lmtp_session_rcpt(s, i);
		check(r != NULL);
		check(r->code == 0 || (r->code >= 200 && r->code <= 599));
		check(memchr(r->text, '\0', sizeof r->text) != NULL);
		check(strchr(r->text, '\n') == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)(data[0] & 0x3f) + 1;
	struct lmtp_msg m = {
		.sender = "s@x", .rcpts = rcpts, .nrcpts = (data[0] & 0x40) ? 3 : 2,
		.smtputf8 = (data[0] & 0x80) != 0, .eightbit = true,
	};
	const char *in = (const char *)data + 1;
	size_t len = size - 1, pos = 0, have = 0;
	char buf[CLIENT_REPLY_LINE_MAX * 2];
	struct lmtp_session *s = lmtp_session_new("fuzz.test");
	check(s != NULL);
	unsigned messages = 0;
	bool closed = false;

	while (!closed && (pos < len || have > 0)) {
		size_t n = len - pos < chunk ? len - pos : chunk;
		if (n > sizeof buf - have)
			n = sizeof buf - have;
		memcpy(buf + have, in + pos, n);
		have += n;
		pos += n;
		size_t used = 0;
		enum lmtp_event ev = lmtp_session_feed(s, buf, have, &used);
		check(used <= have);
		memmove(buf, buf + used, have - used);
		have -= used;
		check(lmtp_session_out(s)->len <= LMTP_OUT_MAX);
		buf_clear(lmtp_session_out(s));
		if (ev == LMTP_EV_BODY) {
			lmtp_session_body(s, body, sizeof body - 1);
			lmtp_session_body_end(s);
			check(lmtp_session_out(s)->len >= 3);
			buf_clear(lmtp_session_out(s));
		} else if (ev == LMTP_EV_READY || ev == LMTP_EV_DONE) {
			if (ev == LMTP_EV_DONE)
				check_results(s, m.nrcpts);
			if (messages++ < 4) {
				ev = lmtp_session_start(s, &m);
				if (ev == LMTP_EV_DONE)
					check_results(s, m.nrcpts);
				buf_clear(lmtp_session_out(s));
			}
		}
		if (ev == LMTP_EV_CLOSED) {
			check(lmtp_session_error(s)[0] != '\0');
			closed = true;
		}
		if (n == 0 && used == 0 && !closed)
			break; /* a partial line and nothing more to come */
	}
	if (!closed)
		(void)lmtp_session_eof(s, "end of input");
	lmtp_session_free(s);
	return 0;
}
