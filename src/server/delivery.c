/* The session hooks that decide recipients and talk to the store. Spooling
 * happens on the loop (plain writes, no fsync); the durable commit (fsync,
 * rename, directory fsync) runs on libuv's thread pool, and the session
 * waits, consuming nothing, until it is done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"
#include "common/str.h"
#include "server/internal.h"
#include "smtp/trace.h"

struct srv_delivery {
	struct srv_conn *conn;
	struct store_msg *msg;
	uv_work_t work;
	enum store_status status;
	bool committing;
	uint64_t started_ms;
};

static enum smtp_msg_status msg_status(enum store_status st)
{
	return st == STORE_OK ? SMTP_MSG_OK : st == STORE_FULL ? SMTP_MSG_FULL : SMTP_MSG_IOERR;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = str_ascii_lower(*s);
}

static enum smtp_rcpt_verdict rcpt_check(void *ctx, const struct smtp_path *rcpt,
					 bool authenticated)
{
	struct srv_conn *c = ctx;
	const struct srv_shared *sh = c->worker->shared;
	const struct srv_config *cfg = sh->cfg;
	(void)authenticated; /* relaying is not built yet: everyone gets local delivery only */
	if (rcpt->postmaster)
		return SMTP_RCPT_OK; /* RFC 5321 §4.5.1 */
	if (rcpt->at >= rcpt->len)
		return SMTP_RCPT_RELAY_DENIED;
	const char *domain = rcpt->addr + rcpt->at + 1;
	size_t dlen = rcpt->len - rcpt->at - 1;
	if (dlen && domain[dlen - 1] == '.')
		dlen--;
	bool local = false;
	for (size_t i = 0; i < cfg->ndomains && !local; i++)
		local = str_ieq(domain, dlen, cfg->domains[i]);
	if (!local)
		return SMTP_RCPT_RELAY_DENIED;
	/* RFC 5321 §4.5.1: postmaster at every domain we host */
	if (str_ieq(rcpt->addr, rcpt->at, "postmaster"))
		return SMTP_RCPT_OK;
	if (sh->recipients) {
		char key[SMTP_ADDR_MAX + 1];
		str_copy(key, sizeof(key), rcpt->addr, rcpt->len);
		lower(key);
		char *k = key;
		if (!bsearch(&k, sh->recipients, sh->nrecipients, sizeof(char *), cmp_str))
			return SMTP_RCPT_NO_MAILBOX;
	}
	return SMTP_RCPT_OK;
}

/* Queue ids are unique across loops and restarts: time, loop, sequence. */
static void make_queue_id(struct srv_conn *c, char *out, size_t outlen)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	unsigned seq = atomic_fetch_add(&c->worker->shared->queue_seq, 1);
	snprintf(out, outlen, "%08llX%05lX%02X%04X", (unsigned long long)tv.tv_sec,
		 (long)tv.tv_usec, c->worker->id & 0xffu, seq & 0xffffu);
}

static enum smtp_msg_status msg_begin(void *ctx, struct smtp_envelope *env)
{
	struct srv_conn *c = ctx;
	struct srv_shared *sh = c->worker->shared;
	make_queue_id(c, env->queue_id, sizeof(env->queue_id));
	const char **rcpts = calloc(env->nrcpts, sizeof(*rcpts));
	struct srv_delivery *d = calloc(1, sizeof(*d));
	if (!rcpts || !d) {
		free(rcpts);
		free(d);
		return SMTP_MSG_IOERR;
	}
	for (size_t i = 0; i < env->nrcpts; i++)
		rcpts[i] = env->rcpts[i].addr;
	enum store_status st = STORE_OK;
	d->msg = store_msg_begin(sh->store, env->queue_id, rcpts, env->nrcpts, &st);
	free(rcpts);
	if (!d->msg) {
		log_msg(LOG_ERROR, "event=spool_failed sid=%s queue_id=%s status=%s", c->sid,
			env->queue_id, st == STORE_FULL ? "full" : "io_error");
		free(d);
		return msg_status(st == STORE_OK ? STORE_IOERR : st);
	}
	d->conn = c;
	d->started_ms = srv_now_ms();
	c->delivery = d;
	/* RFC 5321 §4.4: Return-Path and Received first */
	struct buf hdr;
	buf_init(&hdr, 4096);
	struct smtp_trace t = {
		.return_path = env->from.addr,
		.helo = env->helo,
		.client_addr = c->peer_addr,
		.by = sh->cfg->hostname,
		.protocol = env->protocol,
		.queue_id = env->queue_id,
		.for_addr = env->nrcpts == 1 ? env->rcpts[0].addr : NULL,
		.tls = c->tls_ready && c->tls_info[0] ? c->tls_info : NULL,
		.when = time(NULL),
		.utc_offset_min = sh->utc_offset_min,
	};
	st = smtp_trace_format(&hdr, &t) == BUF_OK ? store_msg_write(d->msg, hdr.data, hdr.len)
						    : STORE_IOERR;
	buf_fini(&hdr);
	return msg_status(st);
}

static enum smtp_msg_status msg_write(void *ctx, const char *p, size_t n)
{
	struct srv_conn *c = ctx;
	if (!c->delivery)
		return SMTP_MSG_IOERR;
	return msg_status(store_msg_write(c->delivery->msg, p, n));
}

static void commit_work(uv_work_t *w)
{
	struct srv_delivery *d = w->data;
	d->status = store_msg_commit(d->msg);
}

/* The commit is over: tell the session. pump is false when we are still
 * inside the session's own input processing (the inline discard path). */
static void delivery_finish(struct srv_delivery *d, bool pump)
{
	struct srv_conn *c = d->conn;
	store_msg_free(d->msg);
	c->delivery = NULL;
	const struct smtp_envelope *env = smtp_session_envelope(c->session);
	log_msg(d->status == STORE_OK ? LOG_INFO : LOG_ERROR,
		"event=%s sid=%s client=%s queue_id=%s recipients=%zu bytes=%llu commit_ms=%llu",
		d->status == STORE_OK ? "queued" : "store_failed", c->sid, c->peer_addr,
		env->queue_id, env->nrcpts, (unsigned long long)env->size,
		(unsigned long long)(srv_now_ms() - d->started_ms));
	enum store_status st = d->status;
	free(d);
	if (c->closing) {
		srv_conn_free_if_done(c);
		return;
	}
	if (st == STORE_OK)
		c->messages++;
	smtp_session_msg_done(c->session, msg_status(st));
	if (pump)
		srv_conn_pump(c);
}

static void commit_done(uv_work_t *w, int status)
{
	struct srv_delivery *d = w->data;
	if (status == UV_ECANCELED)
		d->status = STORE_IOERR;
	delivery_finish(d, true);
}

static void msg_commit(void *ctx, struct smtp_envelope *env)
{
	struct srv_conn *c = ctx;
	struct srv_delivery *d = c->delivery;
	(void)env;
	if (!d) {
		smtp_session_msg_done(c->session, SMTP_MSG_IOERR);
		return;
	}
	d->committing = true;
	d->work.data = d;
	if (!store_commit_blocks(c->worker->shared->store)) {
		/* nothing to wait for: skip the round trip through the pool */
		commit_work(&d->work);
		delivery_finish(d, false);
		return;
	}
	if (uv_queue_work(&c->worker->loop, &d->work, commit_work, commit_done) != 0) {
		d->committing = false;
		smtp_session_msg_done(c->session, SMTP_MSG_IOERR);
	}
}

static void msg_abort(void *ctx)
{
	struct srv_conn *c = ctx;
	struct srv_delivery *d = c->delivery;
	if (!d || d->committing)
		return;
	store_msg_free(d->msg);
	free(d);
	c->delivery = NULL;
}

void srv_delivery_hooks(struct smtp_hooks *h)
{
	h->rcpt_check = rcpt_check;
	h->msg_begin = msg_begin;
	h->msg_write = msg_write;
	h->msg_commit = msg_commit;
	h->msg_abort = msg_abort;
}

void srv_delivery_conn_gone(struct srv_conn *c)
{
	msg_abort(c);
}

bool srv_delivery_busy(const struct srv_conn *c)
{
	return c->delivery && c->delivery->committing;
}

int srv_recipients_load(struct srv_shared *sh, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "recipients = \"%s\": %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	size_t cap = 0;
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, "\r\n#");
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		p[n] = '\0';
		if (!n)
			continue;
		if (n > SMTP_ADDR_MAX || !strchr(p, '@') || strchr(p, ' ')) {
			snprintf(err, errlen, "%s: line %u: expected one address local@domain", path,
				 lineno);
			fclose(f);
			return -1;
		}
		if (sh->nrecipients == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = realloc(sh->recipients, cap * sizeof(*v));
			if (!v) {
				fclose(f);
				return -1;
			}
			sh->recipients = v;
		}
		lower(p);
		sh->recipients[sh->nrecipients++] = strdup(p);
	}
	fclose(f);
	if (!sh->recipients)
		sh->recipients = calloc(1, sizeof(char *)); /* an empty file accepts nobody */
	qsort(sh->recipients, sh->nrecipients, sizeof(char *), cmp_str);
	return 0;
}

void srv_recipients_free(struct srv_shared *sh)
{
	for (size_t i = 0; i < sh->nrecipients; i++)
		free(sh->recipients[i]);
	free(sh->recipients);
	sh->recipients = NULL;
	sh->nrecipients = 0;
}
