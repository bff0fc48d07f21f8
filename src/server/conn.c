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

/* Unconsumed input held per connection: a partial command line (at most the
 * MAIL line limit) or one read's worth held while a commit is pending. */
#define CONN_IN_MAX (SRV_READ_BUF + 70000)
/* Replies the peer did not take yet (it pipelines without reading). */
#define CONN_PENDING_MAX (512 * 1024)

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
}

/* Free once both handles are closed and no commit still refers to us. */
void srv_conn_free_if_done(struct srv_conn *c)
{
	if (c->handles_open > 0 || srv_delivery_busy(c))
		return;
	smtp_session_free(c->session);
	buf_fini(&c->in);
	buf_fini(&c->pending);
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

static void conn_write_done(uv_write_t *req, int status)
{
	struct srv_conn *c = req->data;
	c->writing = false;
	buf_clear(&c->pending);
	if (status < 0) {
		srv_conn_close(c);
		return;
	}
	srv_conn_pump(c);
}

/* Write what the session said: try the socket at once (one syscall for a
 * whole pipelined batch), queue the rest. */
static void conn_flush(struct srv_conn *c)
{
	struct buf *out = smtp_session_output(c->session);
	if (out->len == 0 || c->closing)
		return;
	if (c->writing || c->pending.len) {
		if (buf_append(&c->pending, out->data, out->len) != BUF_OK) {
			srv_conn_close(c);
			return;
		}
		buf_clear(out);
		return;
	}
	uv_buf_t b = uv_buf_init(out->data, (unsigned)out->len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == UV_EAGAIN)
		n = 0;
	if (n < 0) {
		buf_clear(out);
		srv_conn_close(c);
		return;
	}
	if ((size_t)n < out->len) {
		if (buf_append(&c->pending, out->data + n, out->len - (size_t)n) != BUF_OK) {
			srv_conn_close(c);
			return;
		}
		c->writing = true;
		c->wreq.data = c;
		uv_buf_t rest = uv_buf_init(c->pending.data, (unsigned)c->pending.len);
		if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &rest, 1, conn_write_done) < 0) {
			c->writing = false;
			srv_conn_close(c);
		}
	}
	buf_clear(out);
	/* an emptied buffer is given back: idle connections hold no output memory */
	if (out->cap > 4096)
		buf_fini(out);
}

static void conn_timeout(uv_timer_t *t)
{
	struct srv_conn *c = t->data;
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

/* Feed held input to the session, write its replies, decide whether to read. */
void srv_conn_pump(struct srv_conn *c)
{
	if (c->closing)
		return;
	while (c->in.len && smtp_session_wants_input(c->session)) {
		size_t used = smtp_session_input(c->session, c->in.data, c->in.len);
		buf_consume(&c->in, used);
		if (used == 0)
			break;
	}
	if (c->in.len == 0)
		buf_fini(&c->in);
	conn_flush(c);
	if (c->closing)
		return;
	if (smtp_session_closing(c->session)) {
		conn_set_reading(c, false);
		if (!c->writing && !c->pending.len)
			srv_conn_close(c);
		return;
	}
	bool want = smtp_session_wants_input(c->session) && !c->writing;
	conn_set_reading(c, want);
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
		srv_conn_close(c);
		return;
	}
	if (n == 0 || buf->base == NULL) {
		if (buf->base == w->rbuf)
			w->rbuf_busy = false;
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
	if (len && buf_append(&c->in, p, len) != BUF_OK) {
		w->rbuf_busy = false;
		srv_conn_close(c);
		return;
	}
	w->rbuf_busy = false;
	srv_conn_pump(c);
}

static void conn_log_reply(void *ctx, enum smtp_verb verb, int code, const char *text)
{
	struct srv_conn *c = ctx;
	if (code < 400)
		return;
	char q[600];
	log_msg(LOG_INFO, "event=reply sid=%s client=%s verb=%s code=%d text=%s", c->sid,
		c->peer_addr, smtp_verb_name(verb), code, log_quote(q, sizeof(q), text));
}

static void conn_free_unaccepted(uv_handle_t *h)
{
	free(h->data);
}

void srv_conn_accept(struct srv_worker *w, uv_stream_t *listener)
{
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

	c->hooks.ctx = c;
	srv_delivery_hooks(&c->hooks);
	srv_auth_hooks(c, &c->hooks);
	c->hooks.on_reply = conn_log_reply;
	c->session = smtp_session_new(&sh->cfg->smtp, &c->hooks);
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
	bool loopback = (c->peer.ss_family == AF_INET &&
			 (ntohl(((struct sockaddr_in *)&c->peer)->sin_addr.s_addr) >> 24) == 127) ||
			(c->peer.ss_family == AF_INET6 &&
			 IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&c->peer)->sin6_addr));
	unsigned per_ip = (loopback && !sh->cfg->limit_loopback) ? 0 : sh->cfg->max_connections_per_ip;
	bool over = total > sh->cfg->max_connections || w->stopping;
	if (!over) {
		c->counted_ip = srv_ip_acquire(&sh->ips, &c->peer, per_ip);
		over = !c->counted_ip;
	}
	log_msg(LOG_INFO, "event=connect sid=%s client=%s port=%u%s", c->sid, c->peer_addr,
		c->peer_port, over ? " refused=limit" : "");
	if (over)
		smtp_session_refuse(c->session);
	else
		smtp_session_greet(c->session);
	srv_conn_pump(c);
}

void srv_conn_shutdown(struct srv_conn *c)
{
	if (c->closing)
		return;
	smtp_session_shutdown(c->session);
	srv_conn_pump(c);
}
