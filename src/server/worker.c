/* The event loops: one per core, each with its own SO_REUSEPORT listeners,
 * plus the main thread that owns signals. Shutdown is graceful: listeners
 * close, idle sessions get 421 4.3.2, sessions in a transaction finish it
 * (up to shutdown_timeout), commits in flight always complete. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/queue.h"
#include "server/internal.h"
#include "server/server.h"
#include "server/tls.h"

/* Out of file descriptors, libuv accepts and closes the waiting
 * connections (its EMFILE trick) and tells us: log it at most once a second,
 * with how many were refused meanwhile, so a flood cannot flood the log. */
static void accept_failed(struct srv_worker *w, int status)
{
	uint64_t now = uv_now(&w->loop);
	w->accept_errors++;
	if (w->accept_errors_logged_ms && now - w->accept_errors_logged_ms < 1000)
		return;
	log_msg(LOG_ERROR, "event=accept_failed worker=%u count=%llu reason=\"%s\"%s", w->id,
		(unsigned long long)w->accept_errors, uv_strerror(status),
		status == UV_EMFILE || status == UV_ENFILE
			? " hint=\"raise the open files limit (ulimit -n, LimitNOFILE=) or lower max_connections\""
			: "");
	w->accept_errors = 0;
	w->accept_errors_logged_ms = now;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct srv_worker *w = listener->data;
	if (status < 0 && !w->stopping)
		accept_failed(w, status);
	if (status < 0 || w->stopping)
		return;
	size_t i = (size_t)((uv_tcp_t *)listener - w->listeners);
	srv_conn_accept(w, listener, i < w->nlisteners ? w->listener_kind[i] : SRV_LISTEN_SMTP);
}

static void close_cb_noop(uv_handle_t *h)
{
	(void)h;
}

static void grace_tick(uv_timer_t *t)
{
	struct srv_worker *w = t->data;
	uint64_t limit = (uint64_t)w->shared->cfg->shutdown_timeout * 1000;
	uint64_t elapsed = uv_now(&w->loop) - w->stop_started_ms;
	/* at the deadline every session is told 421 4.3.2; one that still
	 * holds its slot a little later (not reading, or its commit still
	 * running) is closed */
	bool expired = elapsed >= limit;
	bool overdue = elapsed >= limit + SRV_SHUTDOWN_LINGER_MS;
	if (expired)
		for (struct srv_conn *c = w->conns, *n; c; c = n) {
			n = c->next;
			if (overdue)
				srv_conn_close(c);
			else
				srv_conn_shutdown_now(c);
		}
	/* a password check still running comes back to this loop, and so
	 * does a message waiting for the queue's flush */
	if (!w->conns && !w->cpu.jobs && srv_delivery_worker_idle(w)) {
		uv_close((uv_handle_t *)&w->grace_timer, close_cb_noop);
		srv_wake_close(&w->cpu.wake, close_cb_noop);
		srv_wake_close(&w->queue_wake, close_cb_noop);
	}
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
	char name[16];
	snprintf(name, sizeof(name), "smtp-%u", w->id); /* for top -H and perf */
	(void)pthread_setname_np(pthread_self(), name);
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
	w->cpu.wake.fd = w->queue_wake.fd = -1; /* srv_wake_fini may come first */
	if (srv_job_home_init(&w->loop, &w->cpu) || srv_delivery_worker_init(w)) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	const struct srv_config *cfg = sh->cfg;
	for (int kind = 0; kind < SRV_LISTEN_KINDS; kind++) {
		for (size_t j = 0; j < cfg->nlisten[kind]; j++) {
			const char *spec = cfg->listen[kind][j];
			int fd = srv_listen_fd(spec, id == 0, err, errlen);
			if (fd < 0)
				return -1;
			size_t k = w->nlisteners;
			uv_tcp_init(&w->loop, &w->listeners[k]);
			w->listeners[k].data = w;
			w->listener_kind[k] = kind;
			w->nlisteners++;
			uv_tcp_open(&w->listeners[k], fd);
			int rc = uv_listen((uv_stream_t *)&w->listeners[k], 1024, on_connection);
			if (rc) {
				snprintf(err, errlen, "%s = \"%s\": %s", srv_listen_key(kind), spec,
					 uv_strerror(rc));
				return -1;
			}
		}
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
	uv_work_t pool_start;
	bool stopping;
};

/* After stop_shared: no thread can wake a loop any more (the queue's
 * flusher and the CPU pool have stopped), so the eventfds can go. */
static void free_workers(struct srv_main *m)
{
	for (unsigned i = 0; i < m->nworkers; i++) {
		srv_job_home_fini(&m->workers[i].cpu);
		srv_wake_fini(&m->workers[i].queue_wake);
	}
	free(m->workers);
}

static void no_work(uv_work_t *w) { (void)w; }
static void no_work_done(uv_work_t *w, int status) { (void)w; (void)status; }

/* libuv starts its pool at the first work, and a new thread takes the name
 * of the one that made it: started here, its threads are "uv-pool" in top -H
 * and perf, not "smtp-0" after a first TLS handshake. */
static void start_uv_pool(uv_loop_t *loop, uv_work_t *w)
{
	char own[16] = "posternd";
	(void)pthread_getname_np(pthread_self(), own, sizeof(own));
	(void)pthread_setname_np(pthread_self(), "uv-pool");
	(void)uv_queue_work(loop, w, no_work, no_work_done);
	(void)pthread_setname_np(pthread_self(), own);
}

/* SIGHUP: a new certificate for new connections; open ones keep theirs. */
static void tls_reload(struct srv_shared *sh)
{
	char err[700], q[760];
	struct srv_tls_ctx *fresh = srv_tls_ctx_new(sh->cfg->tls_cert, sh->cfg->tls_key, err, sizeof(err));
	if (!fresh) {
		log_msg(LOG_ERROR, "event=reload_failed what=tls reason=%s note=\"the previous certificate stays in force\"",
			log_quote(q, sizeof(q), err));
		return;
	}
	pthread_mutex_lock(&sh->tls_lock);
	srv_tls_ctx_inherit_tickets(fresh, sh->tls_ctx); /* tickets issued before still resume */
	struct srv_tls_ctx *old = sh->tls_ctx;
	sh->tls_ctx = fresh;
	pthread_mutex_unlock(&sh->tls_lock);
	srv_tls_ctx_free(old);
	log_msg(LOG_INFO, "event=reloaded what=tls cert=%s", log_quote(q, sizeof(q), sh->cfg->tls_cert));
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct srv_main *m = s->data;
	if (signum == SIGHUP) {
		/* sessions go on; a bad file leaves the old one in force */
		char err[700], q[760];
		if (!m->sh->auth && !m->sh->tls_ctx)
			log_msg(LOG_INFO, "event=sighup note=\"nothing to reload\"");
		if (m->sh->auth && srv_auth_reload(m->sh, err, sizeof(err)))
			log_msg(LOG_ERROR, "event=reload_failed what=users reason=%s note=\"the previous users file stays in force\"",
				log_quote(q, sizeof(q), err));
		if (m->sh->tls_ctx)
			tls_reload(m->sh);
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
	/* queued mail waits for the next start */
	srv_qmgr_stop(m->sh);
	srv_control_stop(m->sh);
}

static int local_utc_offset(void)
{
	time_t now = time(NULL);
	struct tm lt;
	localtime_r(&now, &lt);
	return (int)(lt.tm_gmtoff / 60);
}

/* What every loop shares: certificate, store, recipients, users, the
 * per-IP table. 0, or the exit status after logging why. */
static int start_shared(struct srv_shared *sh, char *err, size_t errlen)
{
	const struct srv_config *cfg = sh->cfg;
	char q[700];
	if (cfg->tls_cert) {
		sh->tls_ctx = srv_tls_ctx_new(cfg->tls_cert, cfg->tls_key, err, errlen);
		if (!sh->tls_ctx) {
			log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
			return 2;
		}
	}
	if (srv_store_open(sh, err, errlen)) {
		char why[700];
		snprintf(why, sizeof(why), "store: %s", err);
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), why));
		return 1;
	}
	if (srv_routes_init(sh, err, errlen)) {
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
		return 2;
	}
	if (srv_auth_init(sh, err, errlen)) {
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
		return 2;
	}
	if (sh->auth && !(sh->cpu_pool = srv_cpu_pool_new(cfg->auth_threads, "cpu-pool", true))) {
		log_msg(LOG_ERROR, "event=start_failed reason=\"password check threads: cannot start\"");
		return 1;
	}
	return srv_ip_table_init(&sh->ips, cfg->max_connections) ? 1 : 0;
}

static void stop_shared(struct srv_shared *sh)
{
	queue_close(sh->queue); /* after the loops: pending records get flushed */
	srv_qmgr_free(sh);
	if (sh->ips.slots)
		srv_ip_table_fini(&sh->ips);
	srv_cpu_pool_free(sh->cpu_pool); /* every loop has stopped: no job is out */
	srv_auth_fini(sh);
	srv_routes_free(sh);
	store_free(sh->store);
	srv_tls_ctx_free(sh->tls_ctx);
	pthread_mutex_destroy(&sh->tls_lock);
}

int srv_run(struct srv_config *cfg)
{
	char err[600];
	struct srv_shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.cfg = cfg;
	sh.utc_offset_min = local_utc_offset();
	signal(SIGPIPE, SIG_IGN);
	/* libuv's pool: TLS handshake steps and control commands. Password
	 * checks and the queue manager's deliveries have pools of their own
	 * (cpu_pool.c). */
	setenv("UV_THREADPOOL_SIZE", "16", 0);

	for (int kind = 0; kind < SRV_LISTEN_KINDS; kind++) {
		for (size_t j = 0; j < cfg->nlisten[kind]; j++) {
			struct sockaddr_storage ss;
			socklen_t len;
			if (srv_listen_parse(cfg->listen[kind][j], &ss, &len)) {
				char q[700];
				snprintf(err, sizeof(err), "%s = %s: expected ADDRESS:PORT",
					 srv_listen_key(kind), log_quote(q, sizeof(q), cfg->listen[kind][j]));
				log_msg(LOG_ERROR, "event=start_failed reason=%s",
					log_quote(q, sizeof(q), err));
				return 2;
			}
		}
	}
	if (srv_fd_budget(cfg, err, sizeof(err)) != 0) {
		char q[700];
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
		return 1;
	}
	pthread_mutex_init(&sh.tls_lock, NULL);
	int rc = start_shared(&sh, err, sizeof(err));
	struct srv_main m;
	memset(&m, 0, sizeof(m));
	m.sh = &sh;
	if (rc == 0) {
		m.workers = calloc(cfg->workers, sizeof(*m.workers));
		rc = m.workers ? 0 : 1;
	}
	for (unsigned i = 0; i < cfg->workers && rc == 0; i++) {
		m.nworkers++;
		if (worker_init(&m.workers[i], i, &sh, err, sizeof(err))) {
			char q[700];
			log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
			rc = 2; /* an address in use or not ours: as a bad setting */
		}
	}
	/* the queue and control directories, made as root for the user */
	char ctl_dir[4096];
	snprintf(ctl_dir, sizeof(ctl_dir), "%s", cfg->control);
	char *slash = strrchr(ctl_dir, '/');
	if (slash && slash != ctl_dir)
		*slash = '\0';
	static const char *const queue_entries[] = {"journal", "spill", NULL};
	const char *ctl_entries[] = {slash ? slash + 1 : cfg->control, NULL};
	if (rc == 0 && (srv_prepare_dir(cfg->queue_dir, queue_entries, cfg->user, "queue_dir", err,
					sizeof(err)) ||
			(slash && slash != ctl_dir &&
			 srv_prepare_dir(ctl_dir, ctl_entries, cfg->user, "control", err,
					 sizeof(err))))) {
		char q[700];
		log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
		rc = 2;
	}
	/* every listener is bound: root is no longer needed (but the deliveries'
	 * threads must be able to come back from SCHED_IDLE: qmgr.c) */
	srv_pool_allow_return_from_idle();
	if (rc == 0 && cfg->user) {
		char q[700];
		if (srv_drop_privileges(cfg->user, cfg->store == STORE_MAILDIR ? cfg->maildir : NULL,
					err, sizeof(err))) {
			log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
			rc = 2;
		} else {
			log_msg(LOG_INFO, "event=privileges user=%s uid=%u gid=%u", cfg->user,
				(unsigned)getuid(), (unsigned)getgid());
		}
	}
	/* the queue after the drop: its files belong to the user (0600) */
	uv_loop_t *main_loop = uv_default_loop();
	if (rc == 0 && !main_loop) { /* out of descriptors or memory already */
		log_msg(LOG_ERROR, "event=start_failed reason=\"the main event loop: %s\"",
			strerror(errno ? errno : ENOMEM));
		rc = 1;
	}
	if (rc == 0)
		start_uv_pool(main_loop, &m.pool_start);
	if (rc == 0) {
		char q[700];
		struct queue_config qc = {
			.dir = cfg->queue_dir,
			.min_free = cfg->queue_min_free,
			.retry = cfg->retry,
			.on_ready = srv_qmgr_ready,
			.on_ready_arg = &sh,
			.on_queued = srv_delivery_queued,
		};
		sh.queue = queue_open(&qc, err, sizeof(err));
		if (!sh.queue) {
			log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
			rc = 1;
		} else if ((srv_qmgr_start(&sh, main_loop) &&
			    snprintf(err, sizeof(err), "queue manager: cannot start its threads or "
				     "wake-ups: %s", strerror(errno ? errno : ENOMEM))) ||
			   srv_control_start(&sh, main_loop, err, sizeof(err))) {
			log_msg(LOG_ERROR, "event=start_failed reason=%s", log_quote(q, sizeof(q), err));
			srv_qmgr_stop(&sh);
			srv_control_stop(&sh);
			uv_run(main_loop, UV_RUN_DEFAULT);
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
		stop_shared(&sh);
		free_workers(&m);
		return rc;
	}
	uv_signal_init(main_loop, &m.sigint);
	uv_signal_init(main_loop, &m.sigterm);
	uv_signal_init(main_loop, &m.sighup);
	m.sigint.data = m.sigterm.data = m.sighup.data = &m;
	uv_signal_start(&m.sigint, on_signal, SIGINT);
	uv_signal_start(&m.sigterm, on_signal, SIGTERM);
	uv_signal_start(&m.sighup, on_signal, SIGHUP);
	for (unsigned i = 0; i < m.nworkers; i++)
		uv_thread_create(&m.workers[i].thread, worker_main, &m.workers[i]);
	for (int kind = 0; kind < SRV_LISTEN_KINDS; kind++)
		for (size_t j = 0; j < cfg->nlisten[kind]; j++)
			log_msg(LOG_INFO,
				"event=listening address=%s tls=%s service=%s workers=%u hostname=%s store=%s queue_dir=%s",
				cfg->listen[kind][j],
				srv_listen_implicit_tls(kind) ? "implicit" : cfg->tls_cert ? "starttls" : "no",
				srv_listen_is_submission(kind) ? "submission" : "smtp", cfg->workers,
				cfg->hostname, store_name(sh.store), cfg->queue_dir);
	uv_run(main_loop, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < m.nworkers; i++)
		uv_thread_join(&m.workers[i].thread);
	uv_loop_close(main_loop);
	stop_shared(&sh);
	free_workers(&m);
	log_msg(LOG_INFO, "event=stopped");
	return 0;
}

/* Linux sets the nice value per thread. */
#define POOL_CPU_NICE 10

void srv_pool_thread_cpu_bound(void)
{
	static _Thread_local bool lowered; /* once per thread: pool threads stay */
	if (lowered)
		return;
	lowered = true;
	/* failing (no such syscall, a seccomp filter) costs only latency */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_CPU_NICE);
}

/* A thread may leave SCHED_IDLE for SCHED_OTHER only at a nice value that
 * RLIMIT_NICE allows it to take (or with CAP_SYS_NICE, which posternd
 * does not keep): nice POOL_CPU_NICE needs a soft limit of at least
 * 20 - POOL_CPU_NICE. Raised here, before root is dropped, when the hard
 * limit allows it or root may raise that too. */
#define POOL_NICE_RLIMIT (20 - POOL_CPU_NICE)

void srv_pool_allow_return_from_idle(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NICE, &rl) != 0 || rl.rlim_cur >= POOL_NICE_RLIMIT)
		return;
	rl.rlim_cur = POOL_NICE_RLIMIT;
	if (rl.rlim_max < POOL_NICE_RLIMIT)
		rl.rlim_max = POOL_NICE_RLIMIT; /* root only (CAP_SYS_RESOURCE) */
	(void)setrlimit(RLIMIT_NICE, &rl);
}

bool srv_pool_can_return_from_idle(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NICE, &rl) == 0 && rl.rlim_cur >= POOL_NICE_RLIMIT)
		return true;
	/* or CAP_SYS_NICE, effective: root that kept its privileges */
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	return syscall(SYS_capget, &h, d) == 0 &&
	       (d[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32)));
}
