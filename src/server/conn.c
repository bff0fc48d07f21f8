/* One SMTP connection on an event loop: socket bytes in, session, reply
 * bytes out. The session never blocks and this file never waits: reads stop
 * while the session has a request pending and resume when it is answered. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/internal.h"
#include "server/tls.h"

/* Unconsumed input held per connection: a partial command line (at most the
 * MAIL line limit) or one read's worth held while a commit is pending. */
#define CONN_IN_MAX (SRV_READ_BUF + 70000)
/* Output the peer did not take yet (it pipelines without reading). */
#define CONN_PENDING_MAX (512 * 1024)
/* While AUTH is checked (or its 535 delayed) the socket is still read, only
 * to see a hang-up at once: the connection slot is freed and the check
 * dropped, instead of both lasting until the answer goes out to nobody. A
 * client should send nothing before the answer (RFC 4954 §4); what it sends
 * anyway is kept, up to this much, and reading stops there. A client that
 * only half-closes its side while its AUTH is checked has gone too. */
#define CONN_HOLD_MAX 4096

uint64_t srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct srv_conn *c = h->data;
	struct srv_worker *w = c->worker;
	(void)hint;
	if (w->rbuf_busy) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	w->rbuf_busy = true;
	buf->base = w->rbuf;
	buf->len = sizeof(w->rbuf);
	if (srv_auth_busy(c) && c->held < CONN_HOLD_MAX)
		buf->len = CONN_HOLD_MAX - c->held;
}

/* Free once both handles are closed and no commit still refers to us. */
void srv_conn_free_if_done(struct srv_conn *c)
{
	if (c->handles_open > 0 || srv_delivery_busy(c) || c->tls_busy)
		return;
	smtp_session_free(c->session);
	srv_tls_free(c->tls);
	buf_fini(&c->in);
	buf_fini(&c->pending);
	buf_fini(&c->inflight);
	free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct srv_conn *c = h->data;
	c->handles_open--;
	srv_conn_free_if_done(c);
}

void srv_conn_close(struct srv_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct srv_shared *sh = c->worker->shared;
	log_msg(LOG_INFO, "event=disconnect sid=%s client=%s messages=%u duration_ms=%llu", c->sid,
		c->peer_addr, c->messages, (unsigned long long)(srv_now_ms() - c->started_ms));
	srv_delivery_conn_gone(c);
	srv_auth_conn_gone(c);
	if (c->counted_ip)
		srv_ip_release(&sh->ips, &c->peer);
	atomic_fetch_sub(&sh->connections, 1);
	/* unlink from the worker's list */
	if (c->prev)
		c->prev->next = c->next;
	else
		c->worker->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void conn_start_write(struct srv_conn *c);

static void conn_write_done(uv_write_t *req, int status)
{
	struct srv_conn *c = req->data;
	c->writing = false;
	buf_clear(&c->inflight);
	if (c->inflight.cap > 4096)
		buf_fini(&c->inflight);
	if (status < 0) {
		srv_conn_close(c);
		return;
	}
	conn_start_write(c);
	srv_conn_pump(c);
}

/* Hand what is pending to uv_write; new output goes on queueing behind it. */
static void conn_start_write(struct srv_conn *c)
{
	if (c->writing || c->pending.len == 0 || c->closing)
		return;
	struct buf t = c->inflight;
	c->inflight = c->pending;
	c->pending = t;
	c->writing = true;
	c->wreq.data = c;
	uv_buf_t b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, conn_write_done) < 0) {
		c->writing = false;
		srv_conn_close(c);
	}
}

/* Bytes for the socket, in order: try it at once (one syscall for a whole
 * pipelined batch), queue what it did not take. */
static void conn_send(struct srv_conn *c, const char *p, size_t n)
{
	if (n == 0 || c->closing)
		return;
	if (!c->writing && c->pending.len == 0) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
		int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (w == UV_EAGAIN)
			w = 0;
		if (w < 0) {
			srv_conn_close(c);
			return;
		}
		p += w;
		n -= (size_t)w;
		if (n == 0)
			return;
	}
	if (buf_append(&c->pending, p, n) != BUF_OK) {
		srv_conn_close(c);
		return;
	}
	conn_start_write(c);
}

static void conn_tls_failed(struct srv_conn *c, const char *why)
{
	char q[200];
	log_msg(LOG_INFO, "event=tls_failed sid=%s client=%s stage=%s reason=%s", c->sid,
		c->peer_addr, c->tls_ready ? "session" : "handshake",
		log_quote(q, sizeof(q), why && *why ? why : "unknown"));
	c->drop = true;
}

static void conn_timeout(uv_timer_t *t);

/* STARTTLS: the 220 went out in plaintext; from here on the socket carries
 * TLS records. Anything the client sent before its ClientHello is gone
 * (CVE-2011-0411). The handshake has its own deadline, which progress does
 * not extend. */
static void conn_tls_switch(struct srv_conn *c)
{
	c->tls_on = true;
	buf_fini(&c->in);
	uv_timer_start(&c->timer, conn_timeout,
		       (uint64_t)c->worker->shared->cfg->tls_handshake_timeout * 1000, 0);
}

/* Write what the session said: through TLS once it is on. */
static void conn_flush(struct srv_conn *c)
{
	struct buf *out = smtp_session_output(c->session);
	if (c->closing) {
		buf_clear(out);
		return;
	}
	if (out->len) {
		if (!c->tls_on)
			conn_send(c, out->data, out->len);
		else if (srv_tls_write(c->tls, out->data, out->len) != SRV_TLS_OK)
			conn_tls_failed(c, srv_tls_error(c->tls));
		buf_clear(out);
		/* an emptied buffer is given back: idle connections hold no output memory */
		if (out->cap > 4096)
			buf_fini(out);
	}
	if (c->tls_on) {
		const void *p;
		size_t n;
		srv_tls_pending_out(c->tls, &p, &n);
		conn_send(c, p, n);
		srv_tls_consume_out(c->tls, n);
	} else if (c->tls) {
		conn_tls_switch(c);
	}
}

static void conn_timeout(uv_timer_t *t)
{
	struct srv_conn *c = t->data;
	if (c->tls_on && !c->tls_ready) {
		/* no plaintext channel to say 421 on */
		conn_tls_failed(c, "handshake timeout");
		srv_conn_close(c);
		return;
	}
	log_msg(LOG_INFO, "event=timeout sid=%s client=%s", c->sid, c->peer_addr);
	smtp_session_timeout(c->session);
	srv_conn_pump(c);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void conn_set_reading(struct srv_conn *c, bool on)
{
	if (on == c->reading || c->closing)
		return;
	c->reading = on;
	if (on)
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
}

/* The handshake finished: channel binding for SCRAM-*-PLUS, the Received
 * comment, then the session starts over (STARTTLS) or is greeted (RFC 8314). */
static void conn_tls_ready(struct srv_conn *c)
{
	c->tls_ready = true;
	uv_timer_stop(&c->timer);
	const char *version = srv_tls_version(c->tls);
	const char *kind = version && !strcmp(version, "TLSv1.3") ? "tls-exporter" : "tls-unique";
	unsigned char cb[SRV_TLS_CB_MAX];
	size_t cblen;
	bool plus = srv_tls_channel_binding(c->tls, kind, cb, sizeof(cb), &cblen) == 0 &&
		    srv_auth_channel_binding(c, kind, cb, cblen) == 0;
	if (srv_tls_format_received(c->tls, c->tls_info, sizeof(c->tls_info)) < 0)
		c->tls_info[0] = '\0';
	log_msg(LOG_INFO, "event=tls sid=%s client=%s version=%s cipher=%s resumed=%s binding=%s",
		c->sid, c->peer_addr, version ? version : "?",
		srv_tls_cipher(c->tls) ? srv_tls_cipher(c->tls) : "?",
		srv_tls_session_reused(c->tls) ? "yes" : "no", plus ? kind : "none");
	if (!c->tls_implicit)
		smtp_session_tls_done(c->session, true);
	else if (c->refused)
		smtp_session_refuse(c->session);
	else
		smtp_session_greet(c->session);
}

/* The handshake step that answers the ClientHello runs on the pool: the
 * server's key exchange and signature cost a millisecond or more of CPU,
 * and the loop has other sessions to answer meanwhile. The steps after it
 * (the client's Finished) are cheap and run inline: a trip through the pool
 * would cost more than they do. While a step runs on the pool the
 * connection neither reads nor touches its TLS state (srv_conn_pump returns
 * at once). */
struct conn_handshake {
	uv_work_t work;
	struct srv_conn *c;
	int st;
};

static void handshake_work(uv_work_t *w)
{
	struct conn_handshake *h = w->data;
	srv_pool_thread_cpu_bound();
	h->st = srv_tls_handshake(h->c->tls);
}

static void handshake_done(uv_work_t *w, int status)
{
	struct conn_handshake *h = w->data;
	struct srv_conn *c = h->c;
	int st = status == 0 ? h->st : SRV_TLS_ERROR;
	free(h);
	c->tls_busy = false;
	if (c->closing) {
		srv_conn_free_if_done(c);
		return;
	}
	const void *out;
	size_t n;
	srv_tls_pending_out(c->tls, &out, &n);
	c->tls_answered = n > 0; /* a whole ClientHello was answered */
	if (st == SRV_TLS_ERROR)
		conn_tls_failed(c, status == 0 ? srv_tls_error(c->tls) : "handshake step not run");
	srv_conn_pump(c);
}

/* Run the next handshake step: on the pool until the ClientHello is
 * answered, inline afterwards (and when the pool cannot take it). */
static void conn_tls_handshake(struct srv_conn *c)
{
	struct conn_handshake *h = c->tls_answered ? NULL : malloc(sizeof *h);
	c->tls_fresh = false;
	if (h) {
		h->c = c;
		h->work.data = h;
		conn_set_reading(c, false);
		c->tls_busy = true;
		if (uv_queue_work(&c->worker->loop, &h->work, handshake_work, handshake_done) == 0)
			return;
		c->tls_busy = false;
		free(h);
	}
	if (srv_tls_handshake(c->tls) == SRV_TLS_ERROR)
		conn_tls_failed(c, srv_tls_error(c->tls));
}

/* One step of TLS input: advance the handshake, hand plaintext to the
 * session. true when something happened that may let the session go on. */
static bool conn_tls_pull(struct srv_conn *c)
{
	struct srv_worker *w = c->worker;
	if (!srv_tls_handshake_done(c->tls)) {
		/* only new ciphertext can move the handshake on */
		if (c->tls_fresh)
			conn_tls_handshake(c);
		if (!srv_tls_handshake_done(c->tls))
			return false;
	}
	size_t n = 0;
	int st = srv_tls_read(c->tls, w->tlsbuf, sizeof(w->tlsbuf), &n);
	bool progress = false;
	if (!c->tls_ready && srv_tls_handshake_done(c->tls)) {
		conn_tls_ready(c);
		progress = true;
	}
	if (st == SRV_TLS_OK && n > 0) {
		size_t used = c->in.len == 0 && smtp_session_wants_input(c->session)
				      ? smtp_session_input(c->session, w->tlsbuf, n) : 0;
		if (used < n && buf_append(&c->in, w->tlsbuf + used, n - used) != BUF_OK) {
			srv_conn_close(c);
			return false;
		}
		return true;
	}
	if (st == SRV_TLS_CLOSED) {
		c->drop = true; /* close_notify or EOF: nothing more will come */
		return false;
	}
	if (st == SRV_TLS_ERROR)
		conn_tls_failed(c, srv_tls_error(c->tls));
	return progress;
}

/* Feed held input to the session, write its replies, decide whether to read. */
void srv_conn_pump(struct srv_conn *c)
{
	for (;;) {
		if (c->closing || c->tls_busy)
			return;
		while (c->in.len && smtp_session_wants_input(c->session)) {
			size_t used = smtp_session_input(c->session, c->in.data, c->in.len);
			buf_consume(&c->in, used);
			if (used == 0)
				break;
		}
		/* TLS holds decrypted input of its own: take it only when the
		 * session can (a commit pending leaves it there, bounded). */
		if (!c->tls_on || c->drop ||
		    (c->tls_ready && !smtp_session_wants_input(c->session)) ||
		    !conn_tls_pull(c))
			break;
	}
	if (c->closing || c->tls_busy)
		return;
	if (c->in.len == 0)
		buf_fini(&c->in);
	conn_flush(c);
	if (c->closing)
		return;
	if (smtp_session_closing(c->session) || c->drop) {
		conn_set_reading(c, false);
		if (c->tls_on && !c->drop) {
			/* QUIT or 421: close_notify after the last reply */
			c->drop = true;
			srv_tls_shutdown(c->tls);
			conn_flush(c);
		}
		if (!c->closing && !c->writing && !c->pending.len)
			srv_conn_close(c);
		return;
	}
	bool handshaking = c->tls_on && !c->tls_ready;
	bool wants = smtp_session_wants_input(c->session);
	if (wants)
		c->held = 0;
	bool watch_hangup = srv_auth_busy(c) && c->held < CONN_HOLD_MAX;
	bool want = (wants || handshaking) && !c->writing;
	conn_set_reading(c, want || (watch_hangup && !c->writing));
	if (handshaking)
		return; /* the handshake deadline runs on, set once */
	if (want)
		uv_timer_start(&c->timer, conn_timeout, (uint64_t)c->worker->shared->cfg->command_timeout * 1000, 0);
	else if (!c->writing)
		uv_timer_stop(&c->timer); /* a commit or handshake is pending: not the client's fault */
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct srv_conn *c = s->data;
	struct srv_worker *w = c->worker;
	if (n < 0) {
		if (buf->base == w->rbuf)
			w->rbuf_busy = false;
		if (c->tls_on && !c->tls_ready)
			conn_tls_failed(c, "peer closed connection during handshake");
		srv_conn_close(c);
		return;
	}
	if (n == 0 || buf->base == NULL) {
		if (buf->base == w->rbuf)
			w->rbuf_busy = false;
		return;
	}
	if (srv_auth_busy(c))
		c->held += (size_t)n;
	if (c->tls_on) {
		int rc = srv_tls_feed(c->tls, buf->base, (size_t)n);
		w->rbuf_busy = false;
		c->tls_fresh = true;
		if (rc != SRV_TLS_OK) {
			conn_tls_failed(c, srv_tls_error(c->tls));
			srv_conn_close(c);
			return;
		}
		srv_conn_pump(c);
		return;
	}
	const char *p = buf->base;
	size_t len = (size_t)n;
	if (c->in.len == 0) {
		/* fast path: consume straight from the loop's read buffer */
		size_t used = smtp_session_input(c->session, p, len);
		p += used;
		len -= used;
	}
	if (len && !c->tls && buf_append(&c->in, p, len) != BUF_OK) {
		w->rbuf_busy = false;
		srv_conn_close(c);
		return;
	}
	w->rbuf_busy = false;
	srv_conn_pump(c);
}

/* Refusals at info; with --debug every reply, so a session can be followed
 * command by command. */
static void conn_log_reply(void *ctx, enum smtp_verb verb, int code, const char *text)
{
	struct srv_conn *c = ctx;
	enum log_level lvl = code < 400 ? LOG_DEBUG : LOG_INFO;
	if (!log_enabled(lvl))
		return;
	char q[600];
	log_msg(lvl, "event=reply sid=%s client=%s verb=%s code=%d text=%s",
		c->sid, c->peer_addr, smtp_verb_name(verb), code, log_quote(q, sizeof(q), text));
}

static void conn_log_state(void *ctx, const char *from, const char *to)
{
	struct srv_conn *c = ctx;
	log_msg(LOG_DEBUG, "event=state sid=%s from=%s to=%s", c->sid, from, to);
}

static void conn_log_pipelining(void *ctx, enum smtp_verb after)
{
	struct srv_conn *c = ctx;
	log_msg(LOG_INFO, "event=improper_pipelining sid=%s client=%s after=%s", c->sid,
		c->peer_addr, smtp_verb_name(after));
}

/* A TLS layer on the current certificate (SIGHUP may swap it). */
static struct srv_tls *conn_tls_new(struct srv_shared *sh)
{
	pthread_mutex_lock(&sh->tls_lock);
	struct srv_tls *t = sh->tls_ctx ? srv_tls_new(sh->tls_ctx) : NULL;
	pthread_mutex_unlock(&sh->tls_lock);
	return t;
}

static bool conn_starttls(void *ctx)
{
	struct srv_conn *c = ctx;
	if (!c->tls)
		c->tls = conn_tls_new(c->worker->shared);
	if (!c->tls)
		log_msg(LOG_WARN, "event=tls_failed sid=%s client=%s stage=starttls reason=\"no TLS context\"",
			c->sid, c->peer_addr);
	return c->tls != NULL;
}

static void conn_free_unaccepted(uv_handle_t *h)
{
	free(h->data);
}

void srv_conn_accept(struct srv_worker *w, uv_stream_t *listener, enum srv_listen_kind kind)
{
	bool implicit_tls = srv_listen_implicit_tls(kind);
	bool submission = srv_listen_is_submission(kind);
	struct srv_shared *sh = w->shared;
	struct srv_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->worker = w;
	uv_tcp_init(&w->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, conn_free_unaccepted);
		return;
	}
	uv_timer_init(&w->loop, &c->timer);
	c->timer.data = c;
	c->handles_open = 2;
	c->started_ms = srv_now_ms();
	uv_tcp_nodelay(&c->tcp, 1);
	int alen = sizeof(c->peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &alen);
	if (c->peer.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&c->peer;
		inet_ntop(AF_INET, &a->sin_addr, c->peer_addr, sizeof(c->peer_addr));
		c->peer_port = ntohs(a->sin_port);
	} else if (c->peer.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->peer;
		inet_ntop(AF_INET6, &a->sin6_addr, c->peer_addr, sizeof(c->peer_addr));
		c->peer_port = ntohs(a->sin6_port);
	}
	unsigned seq = atomic_fetch_add(&sh->queue_seq, 1);
	snprintf(c->sid, sizeof(c->sid), "%x%04x", w->id, seq & 0xffffu);
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->pending, CONN_PENDING_MAX);
	buf_init(&c->inflight, CONN_PENDING_MAX);

	c->hooks.ctx = c;
	srv_delivery_hooks(&c->hooks);
	srv_auth_hooks(c, &c->hooks);
	c->hooks.on_reply = conn_log_reply;
	c->hooks.on_state = conn_log_state;
	c->hooks.on_improper_pipelining = conn_log_pipelining;
	if (sh->cfg->tls_cert)
		c->hooks.starttls = conn_starttls;
	c->session = smtp_session_new(submission ? &sh->cfg->submission : &sh->cfg->smtp, &c->hooks);
	/* link in before anything can close it */
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	unsigned total = atomic_fetch_add(&sh->connections, 1) + 1;
	if (!c->session) {
		srv_conn_close(c);
		return;
	}
	bool loopback = srv_client_is_loopback(&c->peer);
	unsigned per_ip = (loopback && !sh->cfg->limit_loopback) ? 0 : sh->cfg->max_connections_per_ip;
	bool over = total > sh->cfg->max_connections || w->stopping;
	if (!over) {
		/* the total is counted above (refused connections count too) */
		c->counted_ip = srv_ip_acquire(&sh->ips, &c->peer, per_ip, 0) == SRV_IP_OK;
		over = !c->counted_ip;
	}
	log_msg(LOG_INFO, "event=connect sid=%s client=%s port=%u%s%s%s", c->sid, c->peer_addr,
		c->peer_port, implicit_tls ? " tls=implicit" : "", submission ? " service=submission" : "",
		over ? " refused=limit" : "");
	c->refused = over;
	if (implicit_tls) {
		/* RFC 8314: the handshake first, the greeting (or 421) inside TLS */
		c->tls = conn_tls_new(sh);
		if (!c->tls) {
			conn_tls_failed(c, "no TLS context");
			srv_conn_close(c);
			return;
		}
		c->tls_implicit = true;
		smtp_session_set_tls(c->session);
		conn_tls_switch(c);
	} else if (over) {
		smtp_session_refuse(c->session);
	} else {
		smtp_session_greet(c->session);
	}
	srv_conn_pump(c);
}

void srv_conn_shutdown(struct srv_conn *c)
{
	if (c->closing)
		return;
	smtp_session_shutdown(c->session);
	srv_conn_pump(c);
}

void srv_conn_shutdown_now(struct srv_conn *c)
{
	if (c->closing)
		return;
	smtp_session_shutdown_now(c->session);
	srv_conn_pump(c);
}
