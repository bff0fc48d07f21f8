/* The whole session fed random bytes in random-sized writes, with hooks that
 * sometimes fail and commits that sometimes stay pending. Invariants: the
 * session never consumes more than it was given, every reply line is
 * well-formed "ddd[ -]...CRLF", and nothing leaks or crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/session.h"

struct fz {
	struct smtp_session *s;
	uint8_t knobs;
	int pending;
};

static enum smtp_rcpt_verdict fz_rcpt(void *ctx, const struct smtp_path *p, bool auth)
{
	struct fz *f = ctx;
	(void)auth;
	return (enum smtp_rcpt_verdict)((p->len + f->knobs) % 4);
}

static enum smtp_msg_status fz_begin(void *ctx, struct smtp_envelope *env)
{
	struct fz *f = ctx;
	memcpy(env->queue_id, "FUZZ", 5);
	return (f->knobs & 0x10) ? SMTP_MSG_FULL : SMTP_MSG_OK;
}

static enum smtp_msg_status fz_write(void *ctx, const char *p, size_t n)
{
	struct fz *f = ctx;
	if (n == 0 || !p)
		abort();
	return (f->knobs & 0x20) && n > 100 ? SMTP_MSG_IOERR : SMTP_MSG_OK;
}

static void fz_commit(void *ctx, struct smtp_envelope *env)
{
	struct fz *f = ctx;
	(void)env;
	if (f->knobs & 0x40)
		f->pending = 1;
	else
		smtp_session_msg_done(f->s, SMTP_MSG_OK);
}

static bool fz_starttls(void *ctx)
{
	(void)ctx;
	return true;
}

static void check_output(struct buf *o)
{
	size_t i = 0;
	while (i < o->len) {
		if (o->len - i < 5)
			abort();
		for (int k = 0; k < 3; k++)
			if (o->data[i + k] < '0' || o->data[i + k] > '9')
				abort();
		if (o->data[i + 3] != ' ' && o->data[i + 3] != '-')
			abort();
		const char *nl = memchr(o->data + i, '\n', o->len - i);
		if (!nl || nl == o->data + i || nl[-1] != '\r')
			abort();
		i = (size_t)(nl - o->data) + 1;
	}
	buf_clear(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct smtp_config cfg;
	smtp_config_defaults(&cfg);
	cfg.hostname = "fuzz.test";
	cfg.max_message_size = 2000;
	cfg.lenient_line_endings = data[0] & 1;
	cfg.bare_newline = (data[0] & 2) ? SMTP_BARE_REJECT : SMTP_BARE_NORMALIZE;
	cfg.text_line_limit = (data[0] & 4) ? 100 : 0;
	cfg.tls_available = data[0] & 8;
	cfg.require_tls = data[0] & 0x80;
	struct fz f = { 0 };
	f.knobs = data[0];
	struct smtp_hooks hooks = {
		.ctx = &f, .rcpt_check = fz_rcpt, .msg_begin = fz_begin, .msg_write = fz_write,
		.msg_commit = fz_commit, .starttls = fz_starttls,
	};
	f.s = smtp_session_new(&cfg, &hooks);
	smtp_session_greet(f.s);
	unsigned step = (unsigned)data[1] % 64 + 1;
	data += 2;
	size -= 2;
	char held[8192];
	size_t held_len = 0, off = 0;
	while (off < size || held_len) {
		size_t n = size - off < step ? size - off : step;
		if (held_len + n > sizeof(held))
			n = sizeof(held) - held_len;
		memcpy(held + held_len, data + off, n);
		held_len += n;
		off += n;
		size_t used = smtp_session_input(f.s, held, held_len);
		if (used > held_len)
			abort();
		memmove(held, held + used, held_len - used);
		held_len -= used;
		check_output(smtp_session_output(f.s));
		if (f.pending) {
			f.pending = 0;
			smtp_session_msg_done(f.s, SMTP_MSG_OK);
		}
		if (smtp_session_closing(f.s))
			break;
		if (used == 0 && n == 0) {
			if (!smtp_session_wants_input(f.s))
				smtp_session_tls_done(f.s, true);
			else
				break;
		}
	}
	smtp_session_timeout(f.s);
	check_output(smtp_session_output(f.s));
	smtp_session_free(f.s);
	return 0;
}
