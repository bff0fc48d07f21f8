/* The session hooks that decide recipients and spool into the queue.
 * Spooling happens on the loop (plain writes, no fsync); the queue's flusher
 * thread makes a batch of messages durable with one flush (group commit,
 * queue/queue.c) and wakes the owning loop through its queue_wake, and only
 * then does the session say 250. The session waits meanwhile, consuming
 * nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "queue/queue.h"
#include "server/internal.h"
#include "smtp/trace.h"
#include "store/route.h"

/* The queued line's from= and to= before quoting, and all its fields after
 * (quoting at most doubles a value; the rest is under 256). to= may hold
 * more than a log line does: log_msg then cuts it where the line still
 * parses, and the line says truncated=yes (cut here, it was not said). */
#define QUEUED_FROM_MAX (SMTP_ADDR_MAX + 8)
#define QUEUED_TO_MAX 4096
#define QUEUED_FIELDS_MAX (2 * QUEUED_FROM_MAX + 2 * QUEUED_TO_MAX + 256)

struct srv_delivery {
	struct srv_conn *conn;
	struct queue_msg *msg;
	struct srv_delivery *next; /* the worker's list of flushed messages */
	enum queue_status status;
	char why[QUEUE_WHY_LOG];   /* what failed, from the queue */
	bool committing;
	uint64_t committed_ms; /* the end of data: commit_ms is the flush's wait, not the client's */
	char queued[QUEUED_FIELDS_MAX]; /* the queued line's fields, made on the loop at commit */
};

/* SPEC §6: ENOSPC or EIO while spooling or flushing is 451 4.3.0; a full
 * queue file system is refused earlier, at MAIL (mail_check). */
static enum smtp_msg_status msg_status(enum queue_status st)
{
	return st == QUEUE_OK ? SMTP_MSG_OK : SMTP_MSG_IOERR;
}

static bool mail_check(void *ctx, uint64_t size)
{
	struct srv_conn *c = ctx;
	struct srv_shared *sh = c->worker->shared;
	if (queue_space_ok(sh->queue, (uint64_t)time(NULL), size))
		return true;
	log_msg(LOG_WARN, "event=queue_full sid=%s dir=%s min_free=%llu size=%llu", c->sid,
		sh->cfg->queue_dir, (unsigned long long)sh->cfg->queue_min_free,
		(unsigned long long)size);
	return false;
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

static void msg_abort(void *ctx);

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
	enum queue_status st = QUEUE_OK;
	unsigned flags = (env->params.smtputf8 ? QUEUE_F_SMTPUTF8 : 0) |
			 (env->params.body == SMTP_BODY_8BITMIME ? QUEUE_F_8BIT : 0) |
			 (env->params.body == SMTP_BODY_BINARYMIME ? QUEUE_F_8BIT | QUEUE_F_BINARY : 0);
	d->msg = queue_msg_begin(sh->queue, env->queue_id, env->from.addr, flags, rcpts,
				 env->nrcpts, (uint64_t)time(NULL), &st);
	free(rcpts);
	if (!d->msg) {
		log_msg(LOG_ERROR, "event=spool_failed sid=%s queue_id=%s", c->sid, env->queue_id);
		free(d);
		return SMTP_MSG_IOERR;
	}
	d->conn = c;
	c->delivery = d;
	/* RFC 5321 §4.4: Received first (Return-Path is the final delivery's:
	 * added when the queue delivers, as the store then is, deliver.c) */
	struct buf hdr;
	buf_init(&hdr, 4096);
	struct smtp_trace t = {
		.return_path = NULL,
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
	st = smtp_trace_format(&hdr, &t) == BUF_OK ? queue_msg_write(d->msg, hdr.data, hdr.len)
						    : QUEUE_IOERR;
	buf_fini(&hdr);
	if (st != QUEUE_OK) /* the session takes it as never begun: nothing of it stays */
		msg_abort(c);
	return msg_status(st);
}

static enum smtp_msg_status msg_write(void *ctx, const char *p, size_t n)
{
	struct srv_conn *c = ctx;
	if (!c->delivery)
		return SMTP_MSG_IOERR;
	struct srv_delivery *d = c->delivery;
	bool failed = queue_msg_error(d->msg)[0] != '\0';
	enum queue_status st = queue_msg_write(d->msg, p, n);
	if (st != QUEUE_OK && !failed) { /* once: later writes repeat it */
		char q[2 * QUEUE_WHY_LOG];
		log_msg(LOG_ERROR, "event=spool_failed sid=%s queue_id=%s status=%s error=%s", c->sid,
			smtp_session_envelope(c->session)->queue_id,
			st == QUEUE_FULL ? "full" : "io_error",
			log_quote(q, sizeof(q), queue_msg_error(d->msg)));
	}
	return msg_status(st);
}

/* "<a@b>,<c@d>" for the queued line, cut at the buffer's end. */
static void rcpt_list(const struct smtp_envelope *env, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < env->nrcpts && pos + 1 < outlen; i++) {
		int r = snprintf(out + pos, outlen - pos, "%s<%s>", i ? "," : "", env->rcpts[i].addr);
		if (r < 0)
			break;
		pos += (size_t)r;
	}
}

/* The queued line's fields (all but commit_ms), made on the loop while the
 * session is its own. */
static void queued_fields(const struct srv_conn *c, const struct smtp_envelope *env,
			  uint64_t size, char *out, size_t outlen)
{
	char from[QUEUED_FROM_MAX], to[QUEUED_TO_MAX], qfrom[2 * sizeof(from)], qto[2 * sizeof(to)];
	snprintf(from, sizeof(from), "<%s>", env->from.addr);
	rcpt_list(env, to, sizeof(to));
	snprintf(out, outlen, "sid=%s client=%s queue_id=%s size=%llu from=%s nrcpt=%zu to=%s",
		 c->sid, c->peer_addr, env->queue_id, (unsigned long long)size,
		 log_quote(qfrom, sizeof(qfrom), from), env->nrcpts,
		 log_quote(qto, sizeof(qto), to));
}

/* The flush is over: tell the session. */
static void delivery_finish(struct srv_delivery *d)
{
	struct srv_conn *c = d->conn;
	c->delivery = NULL;
	const struct smtp_envelope *env = smtp_session_envelope(c->session);
	enum queue_status st = d->status;
	if (st != QUEUE_OK) {
		char q[2 * QUEUE_WHY_LOG];
		log_msg(LOG_ERROR, "event=queue_failed sid=%s client=%s queue_id=%s status=%s error=%s",
			c->sid, c->peer_addr, env->queue_id, st == QUEUE_FULL ? "full" : "io_error",
			log_quote(q, sizeof(q), d->why));
	}
	free(d);
	if (c->closing) {
		srv_conn_free_if_done(c);
		return;
	}
	if (st == QUEUE_OK)
		c->messages++;
	smtp_session_msg_done(c->session, msg_status(st));
	srv_conn_pump(c);
}

/* On the queue's flusher thread, before the queue manager can take the
 * message (queue_config.on_queued): so the queued line always comes before
 * the message's delivered one (logged on the session's loop, after the
 * flush woke it, it came after for about one message in ten). */
void srv_delivery_queued(void *arg)
{
	struct srv_delivery *d = arg;
	/* to=, the one field that can be long, comes last */
	log_msg(LOG_INFO, "event=queued commit_ms=%llu %s",
		(unsigned long long)(srv_now_ms() - d->committed_ms), d->queued);
}

/* On the queue's flusher thread: hand the result to the owning loop. */
static void on_durable(void *arg, enum queue_status st, const char *why)
{
	struct srv_delivery *d = arg;
	struct srv_worker *w = d->conn->worker;
	d->status = st;
	snprintf(d->why, sizeof(d->why), "%s", why);
	pthread_mutex_lock(&w->queue_lock);
	d->next = w->queue_done;
	w->queue_done = d;
	pthread_mutex_unlock(&w->queue_lock);
	srv_wake_send(&w->queue_wake);
}

static void on_queue_wake(struct srv_wake *wake)
{
	struct srv_worker *w = wake->data;
	pthread_mutex_lock(&w->queue_lock);
	struct srv_delivery *list = w->queue_done;
	w->queue_done = NULL;
	pthread_mutex_unlock(&w->queue_lock);
	while (list) {
		struct srv_delivery *d = list;
		list = d->next;
		w->queue_pending--;
		delivery_finish(d);
	}
}

static void msg_commit(void *ctx, struct smtp_envelope *env)
{
	struct srv_conn *c = ctx;
	struct srv_delivery *d = c->delivery;
	if (!d) {
		smtp_session_msg_done(c->session, SMTP_MSG_IOERR);
		return;
	}
	d->committing = true;
	d->committed_ms = srv_now_ms();
	c->worker->queue_pending++;
	struct queue_msg *m = d->msg;
	queued_fields(c, env, queue_msg_size(m), d->queued, sizeof(d->queued));
	d->msg = NULL; /* the queue's from now on */
	queue_msg_commit(m, on_durable, d);
}

static void msg_abort(void *ctx)
{
	struct srv_conn *c = ctx;
	struct srv_delivery *d = c->delivery;
	if (!d || d->committing)
		return;
	queue_msg_abort(d->msg);
	free(d);
	c->delivery = NULL;
}

int srv_delivery_worker_init(struct srv_worker *w)
{
	pthread_mutex_init(&w->queue_lock, NULL);
	return srv_wake_init(&w->loop, &w->queue_wake, on_queue_wake, w);
}

bool srv_delivery_worker_idle(const struct srv_worker *w)
{
	return w->queue_pending == 0;
}

void srv_delivery_hooks(struct smtp_hooks *h)
{
	h->mail_check = mail_check;
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
		.lmtp_connections = cfg->lmtp_concurrency,
		.lmtp_connect_timeout = cfg->lmtp_connect_timeout,
		.lmtp_timeout = cfg->lmtp_timeout,
		.lmtp_data_done_timeout = cfg->lmtp_data_done_timeout,
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
