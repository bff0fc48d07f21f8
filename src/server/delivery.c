/* The session hooks that ask store/ to route recipients and to keep the
 * message: thread-pool glue. Spooling happens on the loop (plain writes, no
 * fsync); the commit (Maildir: fsync, rename, directory fsync; LMTP: the
 * exchange with the server) runs on libuv's thread pool, and the session
 * waits, consuming nothing, until it is done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"
#include "server/internal.h"
#include "smtp/trace.h"
#include "store/route.h"

struct srv_delivery {
	struct srv_conn *conn;
	struct store_msg *msg;
	uv_work_t work;
	struct store_result *results; /* one per recipient, filled by the commit */
	size_t nresults;
	enum store_status status;
	bool committing;
	uint64_t started_ms;
};

/* The one reply after DATA, from the status store_summary chose (store.h
 * says why: any temporary failure wins, so the client retries and nothing
 * is lost; else any permanent one, so the sender hears of it). Until the
 * queue exists, the target's 4xx is a 451 like a local failure, and its 5xx
 * a 554 5.3.0 for the whole message. */
static enum smtp_msg_status msg_status(enum store_status st)
{
	switch (st) {
	case STORE_OK:
		return SMTP_MSG_OK;
	case STORE_FULL:
		return SMTP_MSG_FULL;
	case STORE_PERMFAIL:
		return SMTP_MSG_REJECTED;
	case STORE_IOERR:
	case STORE_TEMPFAIL:
		break;
	}
	return SMTP_MSG_IOERR;
}

/* Routing lives in store/route.c; this maps its verdict to the session's. */
static enum smtp_rcpt_verdict rcpt_check(void *ctx, const struct smtp_path *rcpt,
					 bool authenticated)
{
	struct srv_conn *c = ctx;
	struct route_client client = {
		.authenticated = authenticated,
		.addr = (const struct sockaddr *)&c->peer,
	};
	struct route_answer a;
	route_check(c->worker->shared->routes, rcpt->addr, &client, &a);
	switch (a.verdict) {
	case ROUTE_LOCAL:
		return SMTP_RCPT_OK;
	case ROUTE_NO_MAILBOX:
		return SMTP_RCPT_NO_MAILBOX;
	case ROUTE_RELAY: /* no relay backend yet: nothing turns the relay rule on */
	case ROUTE_RELAY_DENIED:
	case ROUTE_BAD_ADDRESS:
		break;
	}
	return SMTP_RCPT_RELAY_DENIED;
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

/* After a failed write the session stops writing and reports after the end
 * of data without a commit: this is the one log line (a disk full is an
 * error to see). */
static enum store_status spool(struct srv_conn *c, const void *p, size_t n)
{
	enum store_status st = store_msg_write(c->delivery->msg, p, n);
	if (st != STORE_OK) {
		char q[2 * STORE_TEXT_MAX];
		log_msg(LOG_ERROR, "event=spool_failed sid=%s queue_id=%s status=%s error=%s",
			c->sid, smtp_session_envelope(c->session)->queue_id, store_status_name(st),
			log_quote(q, sizeof(q), store_msg_error(c->delivery->msg)));
	}
	return st;
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
	struct store_envelope senv = {
		.queue_id = env->queue_id,
		.sender = env->from.addr,
		.rcpts = rcpts,
		.nrcpts = env->nrcpts,
		.smtputf8 = env->params.smtputf8,
		.eightbit = env->params.body == SMTP_BODY_8BITMIME ||
			    env->params.body == SMTP_BODY_BINARYMIME,
	};
	struct store_result res;
	d->msg = store_msg_begin(sh->store, &senv, &res);
	free(rcpts);
	if (!d->msg) {
		char q[2 * STORE_TEXT_MAX];
		log_msg(LOG_ERROR, "event=spool_failed sid=%s queue_id=%s status=%s error=%s", c->sid,
			env->queue_id, store_status_name(res.status), log_quote(q, sizeof(q), res.text));
		free(d);
		return msg_status(res.status == STORE_OK ? STORE_IOERR : res.status);
	}
	d->conn = c;
	d->started_ms = srv_now_ms();
	c->delivery = d;
	/* RFC 5321 §4.4: Return-Path (unless an LMTP server, the final
	 * delivery, adds it) and Received first */
	struct buf hdr;
	buf_init(&hdr, 4096);
	struct smtp_trace t = {
		.return_path = store_wants_return_path(sh->store) ? env->from.addr : NULL,
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
	enum store_status st = smtp_trace_format(&hdr, &t) == BUF_OK
				       ? spool(c, hdr.data, hdr.len)
				       : STORE_IOERR;
	buf_fini(&hdr);
	return msg_status(st);
}

static enum smtp_msg_status msg_write(void *ctx, const char *p, size_t n)
{
	struct srv_conn *c = ctx;
	if (!c->delivery)
		return SMTP_MSG_IOERR;
	return msg_status(spool(c, p, n));
}

static void commit_work(uv_work_t *w)
{
	struct srv_delivery *d = w->data;
	d->status = store_msg_commit(d->msg, d->results);
}

/* Recipients whose outcomes differ (an LMTP server answers each): one line
 * each, so the log says who has the message although the client got one
 * failure for all. Identical outcomes (a Maildir failure) need no more. */
static void log_recipients(const struct srv_delivery *d, const struct smtp_envelope *env)
{
	bool mixed = false;
	for (size_t i = 1; i < d->nresults && !mixed; i++)
		mixed = d->results[i].status != d->results[0].status ||
			strcmp(d->results[i].text, d->results[0].text) != 0;
	for (size_t i = 0; mixed && i < d->nresults; i++) {
		char q[2 * STORE_TEXT_MAX], to[2 * SMTP_ADDR_MAX + 8], addr[SMTP_ADDR_MAX + 3];
		(void)snprintf(addr, sizeof(addr), "<%s>", env->rcpts[i].addr);
		log_msg(d->results[i].status == STORE_OK ? LOG_INFO : LOG_ERROR,
			"event=rcpt_result sid=%s queue_id=%s to=%s status=%s reply=%s",
			d->conn->sid, env->queue_id, log_quote(to, sizeof(to), addr),
			store_status_name(d->results[i].status),
			log_quote(q, sizeof(q), d->results[i].text));
	}
}

/* One line per message; on failure, the result that decided the reply says
 * what failed (the path and errno text, or the target's reply). */
static void log_commit(const struct srv_delivery *d, const struct smtp_envelope *env)
{
	const struct srv_conn *c = d->conn;
	unsigned long long ms = (unsigned long long)(srv_now_ms() - d->started_ms);
	if (d->status == STORE_OK) {
		log_msg(LOG_INFO,
			"event=queued sid=%s client=%s queue_id=%s recipients=%zu bytes=%llu commit_ms=%llu",
			c->sid, c->peer_addr, env->queue_id, env->nrcpts,
			(unsigned long long)env->size, ms);
		return;
	}
	size_t which = 0;
	char q[2 * STORE_TEXT_MAX];
	const char *text = "out of memory";
	if (d->results) {
		(void)store_summary(d->results, d->nresults, &which);
		text = d->results[which].text;
	}
	log_msg(LOG_ERROR,
		"event=store_failed sid=%s client=%s queue_id=%s recipients=%zu bytes=%llu "
		"commit_ms=%llu status=%s error=%s",
		c->sid, c->peer_addr, env->queue_id, env->nrcpts, (unsigned long long)env->size, ms,
		store_status_name(d->status), log_quote(q, sizeof(q), text));
	log_recipients(d, env);
}

static void delivery_drop(struct srv_delivery *d)
{
	store_msg_free(d->msg);
	free(d->results);
	free(d);
}

/* The commit is over: tell the session. pump is false when we are still
 * inside the session's own input processing (the inline discard path). */
static void delivery_finish(struct srv_delivery *d, bool pump)
{
	struct srv_conn *c = d->conn;
	c->delivery = NULL;
	log_commit(d, smtp_session_envelope(c->session));
	enum store_status st = d->status;
	delivery_drop(d);
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
	if (!d) {
		smtp_session_msg_done(c->session, SMTP_MSG_IOERR);
		return;
	}
	/* without room for the results, commit still runs and only the summary counts */
	d->results = calloc(env->nrcpts, sizeof(*d->results));
	d->nresults = d->results ? env->nrcpts : 0;
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
	c->delivery = NULL;
	delivery_drop(d);
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

int srv_store_open(struct srv_shared *sh, char *err, size_t errlen)
{
	const struct srv_config *cfg = sh->cfg;
	struct store_config store_cfg = {
		.kind = cfg->store,
		.maildir = cfg->maildir,
		.user = cfg->user,
		.lmtp = cfg->lmtp,
		.hostname = cfg->hostname,
	};
	if (!(sh->store = store_new(&store_cfg, err, errlen)))
		return -1;
	const char *warnings = store_warnings(sh->store);
	if (*warnings) {
		char q[2 * 1200];
		log_msg(LOG_WARN, "event=store_warning store=%s warning=%s", store_name(sh->store),
			log_quote(q, sizeof(q), warnings));
	}
	return 0;
}

/* Local domains, the recipients file; the relay rule stays off until
 * relay exists. */
int srv_routes_init(struct srv_shared *sh, char *err, size_t errlen)
{
	const struct srv_config *cfg = sh->cfg;
	if (!(sh->routes = route_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (route_add_domain(sh->routes, cfg->domains[i], err, errlen))
			return -1;
	if (cfg->recipients_file &&
	    route_load_recipients(sh->routes, cfg->recipients_file, err, errlen))
		return -1;
	return 0;
}

void srv_routes_free(struct srv_shared *sh)
{
	route_free(sh->routes);
	sh->routes = NULL;
}
