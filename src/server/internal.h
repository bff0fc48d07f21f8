/* Structures shared by the files of src/server/ (not offered above it). */
#ifndef POSTERN_SERVER_INTERNAL_H
#define POSTERN_SERVER_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/buf.h"
#include "server/config.h"
#include "smtp/session.h"
#include "store/route.h"
#include "store/store.h"

#define SRV_READ_BUF (64 * 1024)
/* Plaintext out of TLS per step: one TLS record's worth. */
#define SRV_TLS_PLAIN_BUF (16 * 1024)

/* A client as the limits count it (limits.c: srv_client_key). */
#define SRV_CLIENT_KEY_LEN 16

/* Counts per client across all loops (connections, password checks in
 * flight), and their total; bounded by the number it was sized for. */
struct srv_ip_table {
	pthread_mutex_t lock;
	size_t size; /* slots, a power of two */
	unsigned total;
	struct srv_ip_slot {
		unsigned char key[SRV_CLIENT_KEY_LEN];
		unsigned count;
	} *slots;
};

/* A pool of threads (cpu_pool.c), apart from libuv's: password checks, and
 * the queue manager's deliveries. */
struct srv_cpu_pool;
struct srv_job_home;
struct srv_cpu_job {
	struct srv_cpu_job *prev, *next; /* in the pool's queue, then in the loop's done list */
	struct srv_job_home *home;       /* whose loop runs done */
	void (*work)(struct srv_cpu_job *job);  /* on a pool thread */
	void (*done)(struct srv_cpu_job *job);  /* on the loop, after work */
	bool queued;                     /* in the queue: srv_cpu_pool_cancel can take it back */
};

/* Read-only after start, except the counters. */
struct srv_shared {
	const struct srv_config *cfg;
	struct store *store;
	struct route_table *routes; /* local domains, recipients, relay rule */
	struct queue *queue;
	struct srv_qmgr *qmgr;       /* qmgr.c */
	struct srv_control *control; /* control.c */
	atomic_uint connections;
	struct srv_ip_table ips;
	atomic_uint queue_seq;
	int utc_offset_min;
	struct srv_auth_shared *auth; /* auth.c; NULL when no users file: AUTH is not offered */
	struct srv_cpu_pool *cpu_pool; /* password checks; NULL when no users file */
	/* TLS: NULL without a certificate. SIGHUP swaps it under tls_lock;
	 * connections hold their own reference (srv_tls_new takes one). */
	pthread_mutex_t tls_lock;
	struct srv_tls_ctx *tls_ctx;
};

struct srv_conn;

/* wake.c: another thread wakes a loop (not uv_async_t: see wake.c) */
struct srv_wake {
	uv_poll_t poll;
	int fd;              /* an eventfd */
	atomic_bool pending; /* written, not yet seen by the loop */
	void (*cb)(struct srv_wake *w);
	void *data;
};
/* On the loop's thread; 0, or -1 (no eventfd). */
int srv_wake_init(uv_loop_t *loop, struct srv_wake *w, void (*cb)(struct srv_wake *), void *data);
/* From any thread: cb runs on the loop soon, once for sends that come
 * together. */
void srv_wake_send(struct srv_wake *w);
/* On the loop's thread: the poll handle is closed... */
void srv_wake_close(struct srv_wake *w, uv_close_cb closed);
/* ...and once no thread can send any more, the eventfd. */
void srv_wake_fini(struct srv_wake *w);

/* Where a pool's finished jobs go (cpu_pool.c): the done list of one loop,
 * under lock, and the wake-up that makes the loop run their done
 * callbacks. jobs counts the jobs out (on the loop only): the wake-up is
 * closed only when none is. */
struct srv_job_home {
	struct srv_wake wake;
	pthread_mutex_t lock;
	struct srv_cpu_job *done;
	unsigned jobs;
};
/* On the loop's thread, before it runs; 0, or -1 (no eventfd). */
int srv_job_home_init(uv_loop_t *loop, struct srv_job_home *h);
/* Once the pools that finish its jobs are stopped (srv_wake_fini). */
void srv_job_home_fini(struct srv_job_home *h);

struct srv_worker {
	unsigned id;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t stop_async;
	uv_timer_t grace_timer;
	uv_tcp_t listeners[SRV_MAX_LISTEN];
	enum srv_listen_kind listener_kind[SRV_MAX_LISTEN];
	size_t nlisteners;
	struct srv_shared *shared;
	struct srv_conn *conns; /* doubly linked list of open connections */
	bool stopping;
	uint64_t stop_started_ms;
	uint64_t accept_errors;          /* since the last accept_failed line */
	uint64_t accept_errors_logged_ms;
	/* Reads are borrowed from here, not owned per connection: an idle
	 * connection holds no read buffer (libuv reads into this one). */
	char rbuf[SRV_READ_BUF];
	bool rbuf_busy;
	char tlsbuf[SRV_TLS_PLAIN_BUF]; /* decrypted input, handed to a session at once */
	struct srv_job_home cpu; /* password checks of this loop's sessions */
	/* delivery.c: messages the queue's flusher made durable (or failed) */
	struct srv_wake queue_wake;
	pthread_mutex_t queue_lock;
	struct srv_delivery *queue_done;
	unsigned queue_pending; /* committed, not yet answered; on the loop only */
};

struct srv_delivery; /* delivery.c */
struct srv_auth;     /* auth.c */
struct srv_tls;      /* tls.c */

struct srv_conn {
	struct srv_conn *prev, *next;
	struct srv_worker *worker;
	uv_tcp_t tcp;
	uv_timer_t timer;
	int handles_open;
	struct smtp_session *session;
	struct smtp_hooks hooks;
	struct buf in;       /* unconsumed input: a partial line, or input held while a request is pending */
	struct buf pending;  /* bytes the socket did not take yet */
	struct buf inflight; /* bytes handed to uv_write, until it completes */
	uv_write_t wreq;
	bool writing;
	bool drop;           /* close once the output is written (a TLS failure) */
	bool reading;
	bool closing;
	bool counted_ip;
	struct sockaddr_storage peer;
	char peer_addr[64]; /* numeric */
	unsigned peer_port;
	char sid[24];
	uint64_t started_ms;
	unsigned messages;
	struct srv_delivery *delivery; /* the message being received or committed */
	struct srv_auth *auth; /* the AUTH exchange; allocated at the first AUTH */
	struct srv_tls *tls;   /* NULL: plaintext */
	bool tls_on;           /* socket bytes are TLS records */
	bool tls_ready;        /* the handshake is done */
	bool tls_implicit;     /* RFC 8314 listener: greet after the handshake */
	bool tls_fresh;        /* ciphertext came since the last handshake step */
	bool tls_busy;         /* a handshake step runs on the pool */
	bool tls_answered;     /* our reply to the ClientHello is out: later steps run inline */
	bool refused;          /* over a limit: 421 instead of the greeting */
	size_t held;           /* octets read while AUTH is checked: bounded, read only to see a hang-up */
	char tls_info[128];    /* the Received comment, after the handshake */
};

/* conn.c */
void srv_conn_accept(struct srv_worker *w, uv_stream_t *listener, enum srv_listen_kind kind);
/* the grace time is over: 421 4.3.2 now, then close */
void srv_conn_shutdown_now(struct srv_conn *c);
/* after the grace time, how long a session told 421 may keep its slot */
#define SRV_SHUTDOWN_LINGER_MS 2000
void srv_conn_shutdown(struct srv_conn *c);
void srv_conn_pump(struct srv_conn *c);
void srv_conn_close(struct srv_conn *c);
void srv_conn_free_if_done(struct srv_conn *c);

/* delivery.c: the session hooks that talk to the store */
void srv_delivery_hooks(struct smtp_hooks *h);
/* queue_config.on_queued: logs a durable message's queued line */
void srv_delivery_queued(void *arg);
/* the connection goes away: drop a message being received (not one committing) */
void srv_delivery_conn_gone(struct srv_conn *c);
bool srv_delivery_busy(const struct srv_conn *c);
/* the store from the config (its start-up warnings logged): 0, or -1 with err */
int srv_store_open(struct srv_shared *sh, char *err, size_t errlen);
/* the route table (store/route.h) from the config: 0, or -1 with err */
int srv_routes_init(struct srv_shared *sh, char *err, size_t errlen);
void srv_routes_free(struct srv_shared *sh);
/* a loop's end of the queue's flush notifications; closed by its stop.
 * 0, or -1 (no eventfd) */
int srv_delivery_worker_init(struct srv_worker *w);
/* no commit of this loop waits for a flush: its handles may close */
bool srv_delivery_worker_idle(const struct srv_worker *w);

/* auth.c: SMTP AUTH over the sasl/ backend, password checks on the pool */
int srv_auth_init(struct srv_shared *sh, char *err, size_t errlen);
/* SIGHUP: read the users file again; on error the old one stays in force. */
int srv_auth_reload(struct srv_shared *sh, char *err, size_t errlen);
void srv_auth_fini(struct srv_shared *sh);
void srv_auth_hooks(struct srv_conn *c, struct smtp_hooks *h);
/* the connection goes away: a check not started is cancelled, the result
 * of one running is thrown away */
void srv_auth_conn_gone(struct srv_conn *c);
/* A password check runs or its 535 waits: the client can only hang up. */
bool srv_auth_busy(const struct srv_conn *c);
/* For the TLS layer after its handshake: channel binding data (kind
 * "tls-exporter" or "tls-unique") that enables SCRAM-*-PLUS. 0 or -1. */
int srv_auth_channel_binding(struct srv_conn *c, const char *kind, const unsigned char *data,
			     size_t len);

/* fdlimit.c: raise the open files limit, lower max_connections to fit it */
int srv_fd_budget(struct srv_config *cfg, char *err, size_t errlen);

/* qmgr.c: the queue manager on the main loop: delivers due messages
 * through the store on the pool, logs each recipient's outcome. */
int srv_qmgr_start(struct srv_shared *sh, uv_loop_t *loop);
/* How many deliveries it runs at once (each holds a queue-deliver thread). */
unsigned srv_qmgr_concurrency(const struct srv_config *cfg);
/* Its threads: the deliveries, and beside them a sync, a load and the upkeep. */
#define SRV_QMGR_THREADS(cfg) (srv_qmgr_concurrency(cfg) + 3)
/* stop taking work; deliveries in flight finish (the loop runs them out) */
void srv_qmgr_stop(struct srv_shared *sh);
void srv_qmgr_free(struct srv_shared *sh);
/* the queue's on_ready callback: arg is the srv_shared */
void srv_qmgr_ready(void *arg);

/* control.c: the control socket of `postern queue` on the main loop */
int srv_control_start(struct srv_shared *sh, uv_loop_t *loop, char *err, size_t errlen);
void srv_control_stop(struct srv_shared *sh);

/* listener.c */
/* A listening socket with SO_REUSEPORT for one loop; first: fail with
 * "Address already in use" if another process holds the address. */
int srv_listen_fd(const char *spec, bool first, char *err, size_t errlen);
int srv_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/* limits.c: one key per client (IPv6: per /64) for every per-client limit */
void srv_client_key(const struct sockaddr_storage *addr, unsigned char key[SRV_CLIENT_KEY_LEN]);
bool srv_client_is_loopback(const struct sockaddr_storage *addr);
int srv_ip_table_init(struct srv_ip_table *t, unsigned max_entries);
void srv_ip_table_fini(struct srv_ip_table *t);
enum srv_ip_verdict {
	SRV_IP_OK,          /* counted */
	SRV_IP_CLIENT_FULL, /* this client has per_client already */
	SRV_IP_TOTAL_FULL,  /* the table has total already */
};
/* Count one more for addr's client unless it has per_client or the table
 * total (0: no such limit); only SRV_IP_OK counts. */
enum srv_ip_verdict srv_ip_acquire(struct srv_ip_table *t, const struct sockaddr_storage *addr,
				   unsigned per_client, unsigned total);
void srv_ip_release(struct srv_ip_table *t, const struct sockaddr_storage *addr);

/* cpu_pool.c */
/* threads: 0 for half the cores, at least 1; name: the threads' (top -H);
 * lowered: at a lowered priority (srv_pool_thread_cpu_bound) */
struct srv_cpu_pool *srv_cpu_pool_new(unsigned threads, const char *name, bool lowered);
/* Joins the threads; every job must be done or cancelled. */
void srv_cpu_pool_free(struct srv_cpu_pool *p);
/* Queue job (work, done and home set; called on home's loop). */
void srv_cpu_pool_submit(struct srv_cpu_pool *p, struct srv_cpu_job *job);
/* A lowered pool's threads run their next jobs at SCHED_IDLE (true: only
 * on CPU nothing else wants) or back at their nice value (false). */
void srv_cpu_pool_set_idle(struct srv_cpu_pool *p, bool idle);
/* Take back a job not started: true, and done will not run. false: it
 * runs or ran, and done will run. */
bool srv_cpu_pool_cancel(struct srv_cpu_pool *p, struct srv_cpu_job *job);

uint64_t srv_now_ms(void);
/* worker.c: a thread about to do CPU-bound or background work (the
 * password check pool's threads; a libuv pool thread running a TLS
 * handshake step or a delivery from the queue) lowers its priority, once,
 * so that when such work saturates the cores the event loops still get
 * the CPU first. It stays on the thread; the rest of libuv's pool work
 * (the queue's sync and upkeep, control commands) waits on the disk. */
void srv_pool_thread_cpu_bound(void);
/* RLIMIT_NICE raised (as root, before the drop) so that a lowered thread
 * can come back from SCHED_IDLE to its nice value, and whether it can. */
void srv_pool_allow_return_from_idle(void);
bool srv_pool_can_return_from_idle(void);

/* privs.c: setgid/initgroups/setuid to user for good; the Maildir root
 * created as root is handed to it. 0, or -1 with a reason. */
int srv_drop_privileges(const char *user, const char *maildir, char *err, size_t errlen);
/* Create dir (mode 0700, parents as needed) and, when user is set and we
 * are root, give it and root's entries in it named in ours (NULL-ended;
 * two levels: an earlier run as root left them) to that user, if posternd
 * made it: now, or earlier, when it holds nothing but those names (a
 * directory such as /run named by mistake stays as it is). The queue and
 * control directories are made before the privileges drop and used after.
 * 0, or -1 with a reason. */
int srv_prepare_dir(const char *dir, const char *const *ours, const char *user, const char *key,
		    char *err, size_t errlen);

#endif
