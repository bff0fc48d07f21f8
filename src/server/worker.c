/* The event loops: one per core, each with its own SO_REUSEPORT listeners,
 * plus the main thread that owns signals. Shutdown is graceful: listeners
 * close, idle sessions get 421 4.3.2, sessions in a transaction finish it
 * (up to shutdown_timeout), commits in flight always complete. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/internal.h"
#include "server/server.h"

static void on_connection(uv_stream_t *listener, int status)
{
	struct srv_worker *w = listener->data;
	if (status < 0 || w->stopping)
		return;
	srv_conn_accept(w, listener);
}

static void close_cb_noop(uv_handle_t *h)
{
	(void)h;
}

static void grace_tick(uv_timer_t *t)
{
	struct srv_worker *w = t->data;
	uint64_t limit = (uint64_t)w->shared->cfg->shutdown_timeout * 1000;
	bool expired = uv_now(&w->loop) - w->stop_started_ms >= limit;
	if (expired)
		for (struct srv_conn *c = w->conns, *n; c; c = n) {
			n = c->next;
			srv_conn_close(c);
		}
	if (!w->conns)
		uv_close((uv_handle_t *)&w->grace_timer, close_cb_noop);
}

static void on_stop(uv_async_t *a)
{
	struct srv_worker *w = a->data;
	if (w->stopping)
		return;
	w->stopping = true;
	for (size_t i = 0; i < w->nlisteners; i++)
		uv_close((uv_handle_t *)&w->listeners[i], close_cb_noop);
	for (struct srv_conn *c = w->conns, *n; c; c = n) {
		n = c->next;
		srv_conn_shutdown(c);
	}
	uv_close((uv_handle_t *)&w->stop_async, close_cb_noop);
	w->stop_started_ms = uv_now(&w->loop);
	uv_timer_start(&w->grace_timer, grace_tick, 0, 100);
}

static void worker_main(void *arg)
{
	struct srv_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
}

static int worker_init(struct srv_worker *w, unsigned id, struct srv_shared *sh, char *err,
		       size_t errlen)
{
	w->id = id;
	w->shared = sh;
	uv_loop_init(&w->loop);
	uv_async_init(&w->loop, &w->stop_async, on_stop);
	w->stop_async.data = w;
	uv_timer_init(&w->loop, &w->grace_timer);
	w->grace_timer.data = w;
	for (size_t i = 0; i < sh->cfg->nlisten; i++) {
		int fd = srv_listen_fd(sh->cfg->listen[i], err, errlen);
		if (fd < 0)
			return -1;
		uv_tcp_init(&w->loop, &w->listeners[i]);
		w->listeners[i].data = w;
		uv_tcp_open(&w->listeners[i], fd);
		int rc = uv_listen((uv_stream_t *)&w->listeners[i], 1024, on_connection);
		if (rc) {
			snprintf(err, errlen, "listen = \"%s\": %s", sh->cfg->listen[i], uv_strerror(rc));
			return -1;
		}
		w->nlisteners++;
	}
	return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, close_cb_noop);
}

struct srv_main {
	struct srv_shared *sh;
	struct srv_worker *workers;
	unsigned nworkers;
	uv_signal_t sigint, sigterm, sighup;
	bool stopping;
};

static void on_signal(uv_signal_t *s, int signum)
{
	struct srv_main *m = s->data;
	if (signum == SIGHUP) {
		char err[700], q[760];
		if (!m->sh->auth) {
			log_msg(LOG_INFO, "event=sighup note=\"nothing to reload\"");
			return;
		}
		/* sessions go on; a bad file leaves the old one in force */
		if (srv_auth_reload(m->sh, err, sizeof(err)))
			log_msg(LOG_ERROR, "event=reload_failed what=users reason=%s note=\"the previous users file stays in force\"",
				log_quote(q, sizeof(q), err));
		return;
	}
	log_msg(LOG_INFO, "event=shutdown signal=%d", signum);
	if (m->stopping)
		return;
	m->stopping = true;
	for (unsigned i = 0; i < m->nworkers; i++)
		uv_async_send(&m->workers[i].stop_async);
	uv_close((uv_handle_t *)&m->sigint, close_cb_noop);
	uv_close((uv_handle_t *)&m->sigterm, close_cb_noop);
	uv_close((uv_handle_t *)&m->sighup, close_cb_noop);
}

static int local_utc_offset(void)
{
	time_t now = time(NULL);
	struct tm lt;
	localtime_r(&now, &lt);
	return (int)(lt.tm_gmtoff / 60);
}

int srv_run(struct srv_config *cfg)
{
	char err[600];
	struct srv_shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.cfg = cfg;
	sh.utc_offset_min = local_utc_offset();
	signal(SIGPIPE, SIG_IGN);
	/* deliveries block a pool thread in fsync: give the pool room */
	setenv("UV_THREADPOOL_SIZE", "16", 0);

	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (srv_listen_parse(cfg->listen[i], &ss, &len)) {
			log_msg(LOG_ERROR, "event=start_failed reason=\"listen = %s: expected ADDRESS:PORT\"",
				cfg->listen[i]);
			return 2;
		}
	}
	sh.store = store_new(cfg->store, cfg->maildir, NULL, err, sizeof(err));
	if (!sh.store) {
		log_msg(LOG_ERROR, "event=start_failed reason=\"store: %s\"", err);
		return 1;
	}
	if (cfg->recipients_file && srv_recipients_load(&sh, cfg->recipients_file, err, sizeof(err))) {
		log_msg(LOG_ERROR, "event=start_failed reason=\"%s\"", err);
		store_free(sh.store);
		return 2;
	}
	if (srv_auth_init(&sh, err, sizeof(err))) {
		char q[700];
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
		srv_recipients_free(&sh);
		store_free(sh.store);
		return 2;
	}
	if (srv_ip_table_init(&sh.ips, cfg->max_connections)) {
		srv_auth_fini(&sh);
		srv_recipients_free(&sh);
		store_free(sh.store);
		return 1;
	}
	struct srv_main m;
	memset(&m, 0, sizeof(m));
	m.sh = &sh;
	m.workers = calloc(cfg->workers, sizeof(*m.workers));
	int rc = m.workers ? 0 : 1;
	for (unsigned i = 0; i < cfg->workers && rc == 0; i++) {
		m.nworkers++;
		if (worker_init(&m.workers[i], i, &sh, err, sizeof(err))) {
			log_msg(LOG_ERROR, "event=start_failed reason=\"%s\"", err);
			rc = 1;
		}
	}
	if (rc) {
		/* close what was opened so far; nothing has run yet */
		for (unsigned i = 0; i < m.nworkers; i++) {
			uv_walk(&m.workers[i].loop, close_any, NULL);
			uv_run(&m.workers[i].loop, UV_RUN_DEFAULT);
			uv_loop_close(&m.workers[i].loop);
		}
		free(m.workers);
		srv_ip_table_fini(&sh.ips);
		srv_auth_fini(&sh);
		srv_recipients_free(&sh);
		store_free(sh.store);
		return rc;
	}
	uv_loop_t *main_loop = uv_default_loop();
	uv_signal_init(main_loop, &m.sigint);
	uv_signal_init(main_loop, &m.sigterm);
	uv_signal_init(main_loop, &m.sighup);
	m.sigint.data = m.sigterm.data = m.sighup.data = &m;
	uv_signal_start(&m.sigint, on_signal, SIGINT);
	uv_signal_start(&m.sigterm, on_signal, SIGTERM);
	uv_signal_start(&m.sighup, on_signal, SIGHUP);
	for (unsigned i = 0; i < m.nworkers; i++)
		uv_thread_create(&m.workers[i].thread, worker_main, &m.workers[i]);
	for (size_t i = 0; i < cfg->nlisten; i++)
		log_msg(LOG_INFO, "event=listening address=%s workers=%u hostname=%s store=%s",
			cfg->listen[i], cfg->workers, cfg->hostname,
			cfg->store == STORE_MAILDIR ? "maildir" : "discard");
	uv_run(main_loop, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < m.nworkers; i++)
		uv_thread_join(&m.workers[i].thread);
	uv_loop_close(main_loop);
	free(m.workers);
	srv_ip_table_fini(&sh.ips);
	srv_auth_fini(&sh);
	srv_recipients_free(&sh);
	store_free(sh.store);
	log_msg(LOG_INFO, "event=stopped");
	return 0;
}
