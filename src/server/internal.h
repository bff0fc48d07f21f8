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

/* Connections per client address, across all loops; bounded by max_connections. */
struct srv_ip_table {
	pthread_mutex_t lock;
	size_t size; /* slots, a power of two */
	struct srv_ip_slot {
		unsigned char addr[16];
		unsigned count;
	} *slots;
};

/* Read-only after start, except the counters. */
struct srv_shared {
	const struct srv_config *cfg;
	struct store *store;
	struct route_table *routes; /* local domains, recipients, relay rule */
	atomic_uint connections;
	struct srv_ip_table ips;
	atomic_uint queue_seq;
	int utc_offset_min;
	struct srv_auth_shared *auth; /* auth.c; NULL when no users file: AUTH is not offered */
	/* TLS: NULL without a certificate. SIGHUP swaps it under tls_lock;
	 * connections hold their own reference (srv_tls_new takes one). */
	pthread_mutex_t tls_lock;
	struct srv_tls_ctx *tls_ctx;
};

struct srv_conn;

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
/* the connection goes away: drop a message being received (not one committing) */
void srv_delivery_conn_gone(struct srv_conn *c);
bool srv_delivery_busy(const struct srv_conn *c);
/* the store from the config (its start-up warnings logged): 0, or -1 with err */
int srv_store_open(struct srv_shared *sh, char *err, size_t errlen);
/* the route table (store/route.h) from the config: 0, or -1 with err */
int srv_routes_init(struct srv_shared *sh, char *err, size_t errlen);
void srv_routes_free(struct srv_shared *sh);

/* auth.c: SMTP AUTH over the sasl/ backend, password checks on the pool */
int srv_auth_init(struct srv_shared *sh, char *err, size_t errlen);
/* SIGHUP: read the users file again; on error the old one stays in force. */
int srv_auth_reload(struct srv_shared *sh, char *err, size_t errlen);
void srv_auth_fini(struct srv_shared *sh);
void srv_auth_hooks(struct srv_conn *c, struct smtp_hooks *h);
/* the connection goes away: an exchange in flight finishes on its own */
void srv_auth_conn_gone(struct srv_conn *c);
/* For the TLS layer after its handshake: channel binding data (kind
 * "tls-exporter" or "tls-unique") that enables SCRAM-*-PLUS. 0 or -1. */
int srv_auth_channel_binding(struct srv_conn *c, const char *kind, const unsigned char *data,
			     size_t len);

/* fdlimit.c: raise the open files limit, lower max_connections to fit it */
void srv_fd_budget(struct srv_config *cfg);

/* listener.c */
/* A listening socket with SO_REUSEPORT for one loop; first: fail with
 * "Address already in use" if another process holds the address. */
int srv_listen_fd(const char *spec, bool first, char *err, size_t errlen);
int srv_listen_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/* limits.c */
int srv_ip_table_init(struct srv_ip_table *t, unsigned max_connections);
void srv_ip_table_fini(struct srv_ip_table *t);
/* Count one more connection from addr; false when over the limit (not counted). */
bool srv_ip_acquire(struct srv_ip_table *t, const struct sockaddr_storage *addr, unsigned limit);
void srv_ip_release(struct srv_ip_table *t, const struct sockaddr_storage *addr);

uint64_t srv_now_ms(void);
/* worker.c: a pool thread about to do CPU-bound work (a password hash, a TLS
 * handshake) lowers its priority, so that when such work saturates the cores
 * the event loops still get the CPU first. It stays on the thread; the other
 * work of the pool (fsync, rename) waits on the disk, not the CPU. */
void srv_pool_thread_cpu_bound(void);

/* privs.c: setgid/initgroups/setuid to user for good; the Maildir root
 * created as root is handed to it. 0, or -1 with a reason. */
int srv_drop_privileges(const char *user, const char *maildir, char *err, size_t errlen);

#endif
