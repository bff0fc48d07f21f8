/* SMTP AUTH (RFC 4954) for a connection: the session hooks over the sasl/
 * backend. Every step of an exchange (GNU SASL's gsasl_step, and with it
 * the yescrypt check of a password) runs on the password check pool
 * (cpu_pool.c), never on libuv's, where commits wait; the session reads
 * nothing until the answer comes back to the loop. Steps queued or running
 * at once are capped per client and in all (auth_checks_per_client,
 * auth_checks_max): past the cap the answer is 454 4.7.0 at once, so a
 * flood costs a queue of bounded length. A failed exchange is answered
 * after a delay that grows with the recent failures of the client's address
 * (a uv_timer: the loop never sleeps, and the check's place is already
 * given back), counted from when the response came in and never shorter
 * than twice the users file's slowest check: every failure takes the same
 * time, whichever user's hash it was checked against. A client that hangs up takes its step back from the queue,
 * or has its result thrown away. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "creds/creds.h"
#include "sasl/sasl.h"
#include "server/internal.h"

/* Failures per client (srv_client_key: IPv6 counts per /64): a bounded
 * table (8-way sets, the least recently failed entry is evicted), so memory
 * does not grow with the number of attackers. */
#define AUTH_IP_SETS 512
#define AUTH_IP_WAYS 8
/* A failure is forgotten after this long without another one. */
#define AUTH_FORGET_MS (15 * 60 * 1000)
/* The first failure waits this long, each further one twice as long,
 * up to auth_delay_max. */
#define AUTH_DELAY_BASE_MS 250
/* The server's secret (creds_secret_load) lives beside the users file. */
#define SRV_AUTH_SECRET_SUFFIX ".secret"

struct ip_slot {
	unsigned char key[SRV_CLIENT_KEY_LEN];
	unsigned failures;
	uint64_t last_ms;
};

struct srv_auth_shared {
	struct sasl_server *sasl;
	char *path;
	unsigned delay_max;
	pthread_mutex_t lock; /* db and slots */
	struct creds_db *db;
	struct ip_slot *slots;
	uint64_t seed;
	struct srv_ip_table checks; /* steps queued or running, per client */
	unsigned checks_max, checks_per_client;
	bool limit_loopback;
};

/* One connection's exchange. It outlives the connection while a step runs
 * on the pool (the pool's callback frees it then). */
struct srv_auth {
	struct srv_conn *conn; /* NULL once the connection has gone */
	struct srv_auth_shared *sh;
	struct srv_cpu_pool *pool;
	struct sockaddr_storage peer; /* its check is counted under this client */
	struct sasl_sess *sess;
	struct sasl_cb cb;
	struct srv_cpu_job job;
	uv_timer_t delay;
	bool working;       /* a step is queued or runs on the pool (and is counted in checks) */
	bool timer_closing;
	bool timer_closed;
	bool logged;        /* this exchange's outcome is in the log */
	/* the step: a copy of the response (the session's is valid only
	 * during auth_step), wiped after use */
	unsigned char *in;
	size_t in_len;
	bool in_absent;
	enum sasl_step_status st;
	unsigned char *out;
	size_t out_len;
	uint64_t started_ms;
	uint64_t step_ms;   /* when the response came in: a failure's time runs from here */
	unsigned delay_ms;
};

/* ---- the shared part ---- */

static uint64_t hash_key(uint64_t seed, const unsigned char *k, size_t n)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_INIT ^ seed, k, n);
	return h ^ (h >> 29);
}

/* Count one failure from addr; returns the delay before its 535. */
static unsigned ip_failure(struct srv_auth_shared *sh, const struct sockaddr_storage *addr)
{
	unsigned char key[SRV_CLIENT_KEY_LEN];
	srv_client_key(addr, key);
	uint64_t now = srv_now_ms();
	pthread_mutex_lock(&sh->lock);
	struct ip_slot *set = &sh->slots[(hash_key(sh->seed, key, sizeof(key)) % AUTH_IP_SETS) * AUTH_IP_WAYS];
	struct ip_slot *hit = NULL, *victim = &set[0];
	for (size_t i = 0; i < AUTH_IP_WAYS; i++) {
		if (set[i].failures && !memcmp(set[i].key, key, sizeof(key))) {
			hit = &set[i];
			break;
		}
		/* an empty slot, else the one whose last failure is oldest */
		if (!victim->failures)
			continue;
		if (!set[i].failures || set[i].last_ms < victim->last_ms)
			victim = &set[i];
	}
	if (hit && now - hit->last_ms > AUTH_FORGET_MS)
		hit->failures = 0;
	if (!hit) {
		hit = victim;
		memcpy(hit->key, key, sizeof(key));
		hit->failures = 0;
	}
	hit->failures++;
	hit->last_ms = now;
	unsigned n = hit->failures;
	pthread_mutex_unlock(&sh->lock);
	uint64_t d = (uint64_t)AUTH_DELAY_BASE_MS << (n - 1 < 16 ? n - 1 : 16);
	return d > sh->delay_max ? sh->delay_max : (unsigned)d;
}

static struct creds_db *db_get(struct srv_auth_shared *sh)
{
	pthread_mutex_lock(&sh->lock);
	struct creds_db *db = creds_db_ref(sh->db);
	pthread_mutex_unlock(&sh->lock);
	return db;
}

int srv_auth_init(struct srv_shared *shared, char *err, size_t errlen)
{
	const struct srv_config *cfg = shared->cfg;
	shared->auth = NULL;
	if (!cfg->users_file)
		return 0;
	struct srv_auth_shared *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&sh->lock, NULL);
	sh->delay_max = cfg->auth_delay_max;
	sh->path = strdup(cfg->users_file);
	sh->slots = calloc((size_t)AUTH_IP_SETS * AUTH_IP_WAYS, sizeof(*sh->slots));
	sh->checks_max = cfg->auth_checks_max;
	sh->checks_per_client = cfg->auth_checks_per_client;
	sh->limit_loopback = cfg->limit_loopback;
	char why[600];
	if (!sh->path || !sh->slots || creds_random(&sh->seed, sizeof(sh->seed)) ||
	    srv_ip_table_init(&sh->checks, sh->checks_max)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sh->db = creds_db_load(sh->path, why, sizeof(why));
	if (!sh->db) {
		snprintf(err, errlen, "users = \"%s\": %s", sh->path, why);
		goto fail;
	}
	/* unknown users' SCRAM salts must not change across restarts */
	unsigned char secret[CREDS_SECRET_LEN];
	char *secret_path = malloc(strlen(sh->path) + sizeof(SRV_AUTH_SECRET_SUFFIX));
	if (!secret_path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(secret_path, strlen(sh->path) + sizeof(SRV_AUTH_SECRET_SUFFIX), "%s%s", sh->path,
		 SRV_AUTH_SECRET_SUFFIX);
	int src = creds_secret_load(secret_path, sh->path, secret, why, sizeof(why));
	free(secret_path);
	if (src) {
		snprintf(err, errlen, "users = \"%s\": %s", sh->path, why);
		goto fail;
	}
	struct sasl_config sc = {
		.mechanisms = cfg->auth_mechanisms,
		.cram_md5 = cfg->cram_md5,
		.plaintext = cfg->auth_plaintext,
		.verify_cache_ttl = cfg->auth_cache_ttl,
		.no_channel_binding = !cfg->auth_channel_binding,
		.secret = secret,
		.hostname = cfg->hostname,
	};
	sh->sasl = sasl_server_new(&sc, why, sizeof(why));
	creds_wipe(secret, sizeof(secret));
	if (!sh->sasl) {
		snprintf(err, errlen, "auth_mechanisms: %s", why);
		goto fail;
	}
	shared->auth = sh;
	char qpath[700], qmechs[300];
	log_msg(LOG_INFO, "event=users_loaded path=%s users=%zu mechanisms=%s",
		log_quote(qpath, sizeof(qpath), sh->path), creds_db_count(sh->db),
		log_quote(qmechs, sizeof(qmechs), sasl_server_mechs(sh->sasl, true, false)));
	return 0;
fail:
	shared->auth = sh;
	srv_auth_fini(shared);
	return -1;
}

int srv_auth_reload(struct srv_shared *shared, char *err, size_t errlen)
{
	struct srv_auth_shared *sh = shared->auth;
	if (!sh)
		return 0;
	struct creds_db *db = creds_db_load(sh->path, err, errlen);
	if (!db)
		return -1;
	size_t n = creds_db_count(db);
	pthread_mutex_lock(&sh->lock);
	struct creds_db *old = sh->db;
	sh->db = db;
	pthread_mutex_unlock(&sh->lock);
	creds_db_unref(old); /* exchanges in progress keep their own reference */
	char qpath[700];
	log_msg(LOG_INFO, "event=users_reloaded path=%s users=%zu", log_quote(qpath, sizeof(qpath), sh->path), n);
	return 0;
}

void srv_auth_fini(struct srv_shared *shared)
{
	struct srv_auth_shared *sh = shared->auth;
	if (!sh)
		return;
	sasl_server_free(sh->sasl);
	creds_db_unref(sh->db);
	pthread_mutex_destroy(&sh->lock);
	if (sh->checks.slots)
		srv_ip_table_fini(&sh->checks);
	free(sh->slots);
	free(sh->path);
	free(sh);
	shared->auth = NULL;
}

/* ---- one connection ---- */

static void auth_free_if_done(struct srv_auth *a)
{
	if (a->conn || a->working || !a->timer_closed)
		return;
	sasl_sess_free(a->sess);
	free(a->out);
	free(a);
}

static void timer_closed(uv_handle_t *h)
{
	struct srv_auth *a = h->data;
	a->timer_closed = true;
	auth_free_if_done(a);
}

static struct srv_auth *auth_get(struct srv_conn *c)
{
	if (c->auth)
		return c->auth;
	struct srv_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->conn = c;
	a->sh = c->worker->shared->auth;
	a->pool = c->worker->shared->cpu_pool;
	a->peer = c->peer;
	a->job.home = &c->worker->cpu;
	uv_timer_init(&c->worker->loop, &a->delay);
	a->delay.data = a;
	c->auth = a;
	return a;
}

static void auth_log(struct srv_auth *a, const char *result, const char *reason)
{
	struct srv_conn *c = a->conn;
	char user[600], why[200];
	log_quote(user, sizeof(user), a->sess ? sasl_sess_user(a->sess) : "");
	log_quote(why, sizeof(why), reason ? reason : "");
	/* the mechanism, the user and the result; never a password, a
	 * challenge or a response */
	log_msg(LOG_INFO, "event=auth sid=%s client=%s mech=%s user=%s result=%s%s%s ms=%llu delay_ms=%u",
		c->sid, c->peer_addr, a->sess ? sasl_sess_mech(a->sess) : "-", user, result,
		reason && *reason ? " reason=" : "", reason && *reason ? why : "",
		(unsigned long long)(srv_now_ms() - a->started_ms), a->delay_ms);
	a->logged = true;
}

static const char *auth_mechs(void *ctx, bool tls)
{
	struct srv_conn *c = ctx;
	struct srv_auth_shared *sh = c->worker->shared->auth;
	bool cb = c->auth && c->auth->cb.type != SASL_CB_NONE;
	return sasl_server_mechs(sh->sasl, tls, cb);
}

static enum smtp_auth_start auth_start(void *ctx, const char *mech, bool tls,
				       bool initial_response)
{
	struct srv_conn *c = ctx;
	struct srv_auth *a = auth_get(c);
	if (!a || a->working)
		return SMTP_AUTH_START_TEMPFAIL;
	sasl_sess_free(a->sess); /* the session ended the last one; be sure */
	a->sess = NULL;
	struct creds_db *db = db_get(a->sh);
	enum sasl_start_status st = sasl_sess_start(a->sh->sasl, db, mech, tls,
						    a->cb.type != SASL_CB_NONE ? &a->cb : NULL, &a->sess);
	creds_db_unref(db); /* the session holds its own reference */
	if (st == SASL_START_OK && initial_response && sasl_mech_server_first(mech)) {
		sasl_sess_free(a->sess);
		a->sess = NULL;
		return SMTP_AUTH_START_NO_INITIAL_RESPONSE;
	}
	a->started_ms = srv_now_ms();
	a->logged = false;
	a->delay_ms = 0;
	return sasl_start_reply(st);
}

static struct srv_auth *job_auth(struct srv_cpu_job *job)
{
	return (struct srv_auth *)((char *)job - offsetof(struct srv_auth, job));
}

static void wipe_input(struct srv_auth *a)
{
	if (a->in) {
		creds_wipe(a->in, a->in_len);
		free(a->in);
		a->in = NULL;
	}
}

/* The step left the pool (done or taken back): its place is free. */
static void step_left_pool(struct srv_auth *a)
{
	a->working = false;
	wipe_input(a);
	srv_ip_release(&a->sh->checks, &a->peer);
}

static void step_work(struct srv_cpu_job *job)
{
	struct srv_auth *a = job_auth(job);
	/* NULL means "no initial response"; an empty response is not that */
	static const unsigned char empty[1];
	const unsigned char *in = a->in_absent ? NULL : a->in ? a->in : empty;
	a->st = sasl_sess_step(a->sess, in, a->in_len, &a->out, &a->out_len);
	wipe_input(a);
}

static void delay_done(uv_timer_t *t)
{
	struct srv_auth *a = t->data;
	struct srv_conn *c = a->conn;
	if (!c)
		return;
	smtp_session_auth_reply(c->session, SMTP_AUTH_FAILED, NULL, 0, NULL);
	srv_conn_pump(c);
}

/* How long a failure's 535 takes from the response: delay, and at least
 * twice the slowest check of the users file (a mixed file's cheap hashes
 * would tell their users from unknown ones, which are checked against the
 * slowest: creds_db_unknown_setting). */
static unsigned failure_time(struct srv_auth *a, unsigned delay)
{
	struct creds_db *db = db_get(a->sh);
	unsigned floor = 2 * creds_db_slowest_ms(db);
	creds_db_unref(db);
	return delay > floor ? delay : floor;
}

static void step_done(struct srv_cpu_job *job)
{
	struct srv_auth *a = job_auth(job);
	step_left_pool(a);
	struct srv_conn *c = a->conn;
	if (!c) { /* hung up while it ran: the result goes nowhere */
		free(a->out);
		a->out = NULL;
		auth_free_if_done(a);
		return;
	}
	unsigned char *out = a->out;
	size_t out_len = a->out_len;
	a->out = NULL;
	a->out_len = 0;
	switch (a->st) {
	case SASL_STEP_CHALLENGE:
		smtp_session_auth_reply(c->session, SMTP_AUTH_CHALLENGE, out ? out : (const unsigned char *)"",
					out_len, NULL);
		break;
	case SASL_STEP_SUCCESS: {
		char user[SASL_USER_MAX + 1];
		snprintf(user, sizeof(user), "%s", sasl_sess_user(a->sess));
		auth_log(a, "ok", sasl_sess_reason(a->sess)); /* "password cache" or none */
		smtp_session_auth_reply(c->session, SMTP_AUTH_SUCCESS, NULL, 0, user);
		break;
	}
	case SASL_STEP_TEMPFAIL:
		auth_log(a, "tempfail", sasl_sess_reason(a->sess));
		smtp_session_auth_reply(c->session, SMTP_AUTH_TEMPFAIL, NULL, 0, NULL);
		break;
	default:
		/* the same reply after the same time for every cause */
		a->delay_ms = failure_time(a, a->sh->delay_max ? ip_failure(a->sh, &c->peer) : 0);
		auth_log(a, "failed", sasl_sess_reason(a->sess));
		/* never early: both clocks are whole milliseconds, each up to
		 * one behind the true time (step_ms's and the loop's), and the
		 * loop's is the one of its last wake-up until updated */
		uint64_t due = a->step_ms + a->delay_ms + 2, now = srv_now_ms();
		if (due > now) {
			uv_update_time(a->delay.loop);
			uv_timer_start(&a->delay, delay_done, due - now, 0);
			free(out);
			return;
		}
		smtp_session_auth_reply(c->session, SMTP_AUTH_FAILED, NULL, 0, NULL);
		break;
	}
	free(out);
	srv_conn_pump(c);
}

static void auth_step(void *ctx, const unsigned char *resp, size_t len)
{
	struct srv_conn *c = ctx;
	struct srv_auth *a = c->auth;
	if (!a || !a->sess) {
		smtp_session_auth_reply(c->session, SMTP_AUTH_TEMPFAIL, NULL, 0, NULL);
		return;
	}
	a->in_absent = resp == NULL;
	a->step_ms = srv_now_ms();
	a->in_len = resp ? len : 0;
	a->in = NULL;
	if (resp && len) {
		a->in = malloc(len);
		if (!a->in) {
			auth_log(a, "tempfail", "out of memory");
			smtp_session_auth_reply(c->session, SMTP_AUTH_TEMPFAIL, NULL, 0, NULL);
			return;
		}
		memcpy(a->in, resp, len);
	}
	/* loopback is trusted as for max_connections_per_ip; the total is not */
	unsigned per_client = srv_client_is_loopback(&c->peer) && !a->sh->limit_loopback
				      ? 0 : a->sh->checks_per_client;
	enum srv_ip_verdict v = srv_ip_acquire(&a->sh->checks, &c->peer, per_client, a->sh->checks_max);
	if (v != SRV_IP_OK) {
		wipe_input(a);
		auth_log(a, "tempfail", v == SRV_IP_CLIENT_FULL ? "too many checks from this client"
								: "too many checks in flight");
		smtp_session_auth_reply(c->session, SMTP_AUTH_BUSY, NULL, 0, NULL);
		return;
	}
	a->working = true;
	a->job.work = step_work;
	a->job.done = step_done;
	srv_cpu_pool_submit(a->pool, &a->job);
}

/* The exchange is over: success, failure, "*", a bad line, or the end of
 * the session. */
static void auth_end(void *ctx)
{
	struct srv_conn *c = ctx;
	struct srv_auth *a = c->auth;
	if (!a || !a->sess)
		return;
	if (!a->logged)
		auth_log(a, "aborted", NULL); /* cancelled, bad base64, line too long, timeout */
	if (a->working)
		return; /* the step finishes on the pool; the session is freed after it */
	sasl_sess_free(a->sess);
	a->sess = NULL;
}

void srv_auth_hooks(struct srv_conn *c, struct smtp_hooks *h)
{
	if (!c->worker->shared->auth)
		return; /* no users file: AUTH is neither advertised nor accepted (502) */
	h->auth_mechs = auth_mechs;
	h->auth_start = auth_start;
	h->auth_step = auth_step;
	h->auth_end = auth_end;
}

void srv_auth_conn_gone(struct srv_conn *c)
{
	struct srv_auth *a = c->auth;
	if (!a)
		return;
	c->auth = NULL;
	if (a->sess && !a->logged)
		auth_log(a, "aborted", "connection closed");
	a->conn = NULL;
	if (a->working && srv_cpu_pool_cancel(a->pool, &a->job))
		step_left_pool(a); /* never ran: nothing was hashed for nobody */
	uv_timer_stop(&a->delay);
	uv_close((uv_handle_t *)&a->delay, timer_closed);
}

bool srv_auth_busy(const struct srv_conn *c)
{
	const struct srv_auth *a = c->auth;
	return a && (a->working || uv_is_active((const uv_handle_t *)&a->delay));
}

int srv_auth_channel_binding(struct srv_conn *c, const char *kind, const unsigned char *data,
			     size_t len)
{
	if (!c->worker->shared->auth || len == 0 || len > SASL_CB_MAX)
		return -1;
	enum sasl_cb_type t = !strcmp(kind, "tls-exporter") ? SASL_CB_TLS_EXPORTER
			      : !strcmp(kind, "tls-unique") ? SASL_CB_TLS_UNIQUE
							    : SASL_CB_NONE;
	struct srv_auth *a = t != SASL_CB_NONE ? auth_get(c) : NULL;
	if (!a)
		return -1;
	a->cb.type = t;
	memcpy(a->cb.data, data, len);
	a->cb.len = len;
	return 0;
}
