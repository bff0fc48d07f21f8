/* auth_load: SMTP load generator for the AUTH and TLS benchmarks (bench/).
 *
 * N threads, each running sessions back to back on 127.0.0.1 (or any
 * loopback address) for DUR seconds, in lock step (no pipelining):
 *
 *   mode mail (default):  connect, 220, EHLO, [STARTTLS, 220, TLS handshake,
 *                         EHLO], [AUTH PLAIN <initial response>, 235],
 *                         MAIL, RCPT, DATA, 354, body, ".", 250, QUIT, 221
 *   mode handshake:       connect, 220, EHLO, STARTTLS, 220, TLS handshake,
 *                         EHLO, QUIT, 221   (implies --starttls)
 *   mode auth:            connect, 220, EHLO, [TLS], AUTH PLAIN, 235, QUIT
 *
 * One message per session.  A session counts as done only if every reply
 * had the expected code.  The time from the message's last octet to its
 * 250 is measured too (eod_*).
 *
 * --flood N adds N threads that flood AUTH meanwhile, each in a loop from
 * its own loopback address (127.0.1.x, --flood-sources of them): connect,
 * 220, EHLO, AUTH PLAIN with a wrong password, then hang up at once
 * (--flood-mode hangup) or wait for the answer first (wait), at most
 * --flood-rate AUTH per second each (0: as fast as they can, which makes
 * it a connection flood more than a password-check flood).  Their counts
 * are printed (flood_*); they are not timed.  At the same time a separate thread keeps one
 * plain connection open and sends NOOP every --noop-ms milliseconds,
 * timing each round trip (it reconnects every --noop-reconnect NOOPs, so
 * that no server's junk-command limit interferes; the reconnection is not
 * timed).
 *
 * TLS (OpenSSL): no certificate verification; a new full handshake per
 * session, or with --resume each thread offers the session (ticket) of its
 * previous connection.
 *
 * Output: a human summary on stderr and one machine-readable line on stdout:
 *   result mode=... sessions=N secs=S done=D rate=R errors=E
 *          sess_p50_ms=.. sess_p99_ms=.. noop_n=.. noop_p50_ms=.. noop_p99_ms=..
 *          noop_max_ms=.. noop_errors=.. resumed=..
 * rate = sessions done in the measured window / window length; the window
 * starts after --warmup seconds and ends when the last session started
 * before the deadline has finished.
 *
 * build: cc -O2 -pthread -o auth_load auth_load.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_MAIL, MODE_HANDSHAKE, MODE_AUTH };

static struct {
	const char *host;
	const char *port;
	int sessions;
	double duration;
	double warmup;
	size_t size;
	const char *user;
	const char *pass;
	const char *from;
	const char *to;
	const char *helo;
	bool starttls;
	bool resume;
	int tls_max; /* 0, 12, 13 */
	enum mode mode;
	int noop_ms;       /* 0: no NOOP thread */
	int noop_reconnect;
	int timeout_s;
	long max_errors;
	bool verbose;
	int flood;          /* AUTH flood threads; 0: none */
	int flood_sources;  /* loopback source addresses for them */
	bool flood_wait;    /* read the AUTH reply before hanging up */
	double flood_rate;  /* AUTH per second per flood thread; 0: no pacing */
	const char *flood_user;
} opt = {
	.host = "127.0.0.1",
	.port = "2525",
	.sessions = 20,
	.duration = 10,
	.warmup = 1,
	.size = 4096,
	.from = "sender@bench.local",
	.to = "rcpt@bench.local",
	.helo = "load.bench.local",
	.noop_ms = 10,
	.noop_reconnect = 50,
	.timeout_s = 30,
	.max_errors = 10000,
	.flood_sources = 50,
	.flood_user = "alice",
};

static struct addrinfo *g_addr;
static SSL_CTX *g_ctx;
static char *g_body;      /* the DATA payload, dot-stuffed, ending with CRLF.CRLF */
static size_t g_body_len;
static char g_auth_cmd[1024];
static double g_t0, g_warm_end, g_deadline;
static atomic_bool g_stop;
static atomic_long g_errors;
static pthread_mutex_t g_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_tls_desc[128]; /* protocol/cipher of the first handshake */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a growable array of doubles ---- */
struct vec {
	double *v;
	size_t n, cap;
};
static void vec_push(struct vec *a, double x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = realloc(a->v, a->cap * sizeof(double));
		if (!a->v) {
			perror("realloc");
			exit(1);
		}
	}
	a->v[a->n++] = x;
}
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static double pct(struct vec *a, double p) /* a sorted */
{
	if (!a->n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (a->n - 1) + 0.5);
	return a->v[i];
}

/* ---- error tally: "stage: reply" -> count ---- */
#define MAX_KINDS 64
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char what[160];
	long n;
} g_kinds[MAX_KINDS];
static int g_nkinds;

static void tally(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	pthread_mutex_lock(&g_err_lock);
	int i;
	for (i = 0; i < g_nkinds; i++)
		if (!strcmp(g_kinds[i].what, buf))
			break;
	if (i == g_nkinds && g_nkinds < MAX_KINDS) {
		snprintf(g_kinds[i].what, sizeof g_kinds[i].what, "%s", buf);
		g_nkinds++;
	}
	if (i < MAX_KINDS)
		g_kinds[i].n++;
	pthread_mutex_unlock(&g_err_lock);
}

/* ---- a connection: socket, optional TLS, buffered reply reader ---- */
struct conn {
	int fd;
	SSL *ssl;
	char buf[16384];
	size_t off, len;
	char last[256]; /* last reply line, for error reports */
};

static int conn_open(struct conn *c)
{
	c->ssl = NULL;
	c->off = c->len = 0;
	c->last[0] = 0;
	c->fd = socket(g_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = opt.timeout_s};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, g_addr->ai_addr, g_addr->ai_addrlen) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* send close_notify, do not wait for the peer's */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int conn_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (c->ssl) {
			int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (r <= 0)
				return -1;
			w = r;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int conn_fill(struct conn *c)
{
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof c->buf)
		c->len = 0; /* an absurd line: drop it */
	ssize_t r;
	if (c->ssl) {
		int k = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
		if (k <= 0)
			return -1;
		r = k;
	} else {
		do
			r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			return -1;
	}
	c->len += (size_t)r;
	return 0;
}

/* Read one whole reply (all its lines); returns its code, or -1 on EOF,
 * timeout or garbage (c->last says which). */
static int conn_reply(struct conn *c)
{
	for (;;) {
		char *start = c->buf + c->off;
		char *nl = memchr(start, '\n', c->len - c->off);
		if (!nl) {
			if (conn_fill(c) < 0) {
				snprintf(c->last, sizeof c->last, "%s",
					 errno == EAGAIN || errno == EWOULDBLOCK ? "timeout" : "EOF");
				return -1;
			}
			continue;
		}
		size_t ll = (size_t)(nl - start) + 1;
		size_t cl = ll < sizeof c->last ? ll : sizeof c->last - 1;
		memcpy(c->last, start, cl);
		c->last[cl] = 0;
		c->off += ll;
		if (ll < 4 || start[0] < '1' || start[0] > '5') {
			snprintf(c->last, sizeof c->last, "garbage reply");
			return -1;
		}
		if (ll >= 5 && start[3] == '-')
			continue;
		return (start[0] - '0') * 100 + (start[1] - '0') * 10 + (start[2] - '0');
	}
}

/* Send a command (may be NULL: just read) and expect a reply code. */
static bool step(struct conn *c, const char *stage, const char *cmd, size_t len, int want)
{
	if (cmd && conn_write(c, cmd, len) < 0) {
		tally("%s: write failed (%s)", stage, c->ssl ? "TLS" : strerror(errno));
		return false;
	}
	int code = conn_reply(c);
	if (code == want)
		return true;
	if (code < 0)
		tally("%s: %s", stage, c->last);
	else
		tally("%s: %.100s", stage, c->last);
	return false;
}
#define STEP(c, stage, lit, want) step(c, stage, lit, sizeof(lit) - 1, want)

static bool do_tls(struct conn *c, SSL_SESSION **sess, long *resumed)
{
	if (!STEP(c, "STARTTLS", "STARTTLS\r\n", 220))
		return false;
	if (c->off != c->len) {
		tally("STARTTLS: bytes after 220");
		return false;
	}
	c->ssl = SSL_new(g_ctx);
	if (!c->ssl)
		return false;
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (sess && *sess)
		SSL_set_session(c->ssl, *sess);
	if (SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		char eb[128];
		ERR_error_string_n(e, eb, sizeof eb);
		tally("TLS handshake: %s", e ? eb : "failed");
		ERR_clear_error();
		return false;
	}
	if (SSL_session_reused(c->ssl))
		(*resumed)++;
	if (!g_tls_desc[0]) {
		pthread_mutex_lock(&g_tls_lock);
		if (!g_tls_desc[0])
			snprintf(g_tls_desc, sizeof g_tls_desc, "%s/%s", SSL_get_version(c->ssl),
				 SSL_get_cipher_name(c->ssl));
		pthread_mutex_unlock(&g_tls_lock);
	}
	char ehlo[300];
	int n = snprintf(ehlo, sizeof ehlo, "EHLO %s\r\n", opt.helo);
	return step(c, "EHLO after TLS", ehlo, (size_t)n, 250);
}

/* One session; true if every reply was the expected one. */
static bool session(struct conn *c, SSL_SESSION **sess, long *resumed, double *eod_s)
{
	char cmd[600];
	int n;
	if (conn_open(c) < 0) {
		tally("connect: %s", strerror(errno));
		return false;
	}
	bool ok = false;
	if (!step(c, "greeting", NULL, 0, 220))
		goto out;
	n = snprintf(cmd, sizeof cmd, "EHLO %s\r\n", opt.helo);
	if (!step(c, "EHLO", cmd, (size_t)n, 250))
		goto out;
	if (opt.starttls && !do_tls(c, sess, resumed))
		goto out;
	if (opt.user && opt.mode != MODE_HANDSHAKE &&
	    !step(c, "AUTH PLAIN", g_auth_cmd, strlen(g_auth_cmd), 235))
		goto out;
	if (opt.mode == MODE_MAIL) {
		n = snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>\r\n", opt.from);
		if (!step(c, "MAIL", cmd, (size_t)n, 250))
			goto out;
		n = snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", opt.to);
		if (!step(c, "RCPT", cmd, (size_t)n, 250))
			goto out;
		if (!STEP(c, "DATA", "DATA\r\n", 354))
			goto out;
		double t = now_s();
		if (!step(c, "end of data", g_body, g_body_len, 250))
			goto out;
		*eod_s = now_s() - t;
	}
	if (!STEP(c, "QUIT", "QUIT\r\n", 221))
		goto out;
	ok = true;
out:
	if (ok && sess && c->ssl) {
		SSL_SESSION *s = SSL_get1_session(c->ssl);
		if (s && SSL_SESSION_is_resumable(s)) {
			if (*sess)
				SSL_SESSION_free(*sess);
			*sess = s;
		} else if (s) {
			SSL_SESSION_free(s);
		}
	}
	conn_close(c);
	return ok;
}

struct worker {
	pthread_t th;
	long done;     /* in the measured window */
	long done_all; /* including the warm-up */
	long errors;
	long resumed;   /* TLS resumptions among the sessions in done */
	struct vec lat; /* session seconds, measured window */
	struct vec eod; /* last octet of the message to its 250, seconds */
	double last_end;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *c = calloc(1, sizeof *c);
	SSL_SESSION *sess = NULL;
	c->fd = -1;
	while (!atomic_load(&g_stop)) {
		double t = now_s();
		if (t >= g_deadline)
			break;
		long r = 0;
		double eod = 0;
		bool ok = session(c, opt.resume ? &sess : NULL, &r, &eod);
		double e = now_s();
		w->last_end = e;
		if (ok) {
			w->done_all++;
			if (t >= g_warm_end) {
				w->done++;
				w->resumed += r;
				vec_push(&w->lat, e - t);
				if (opt.mode == MODE_MAIL)
					vec_push(&w->eod, eod);
			}
		} else {
			w->errors++;
			if (atomic_fetch_add(&g_errors, 1) + 1 >= opt.max_errors) {
				fprintf(stderr, "auth_load: %ld errors, stopping\n", opt.max_errors);
				atomic_store(&g_stop, true);
			}
			usleep(10000); /* no busy loop against a refusing server */
		}
	}
	if (sess)
		SSL_SESSION_free(sess);
	free(c);
	return NULL;
}

/* ---- the NOOP prober ---- */
struct prober {
	pthread_t th;
	struct vec rtt;
	long errors;
	long reconnects;
};

static bool probe_open(struct conn *c)
{
	char cmd[300];
	if (conn_open(c) < 0) {
		tally("NOOP connection: connect: %s", strerror(errno));
		return false;
	}
	int n = snprintf(cmd, sizeof cmd, "EHLO %s\r\n", opt.helo);
	if (!step(c, "NOOP connection: greeting", NULL, 0, 220) ||
	    !step(c, "NOOP connection: EHLO", cmd, (size_t)n, 250)) {
		conn_close(c);
		return false;
	}
	return true;
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	struct conn *c = calloc(1, sizeof *c);
	c->fd = -1;
	int sent = 0;
	double next = now_s();
	while (!atomic_load(&g_stop)) {
		if (c->fd < 0) {
			if (!probe_open(c)) {
				p->errors++;
				usleep(100000);
				continue;
			}
			sent = 0;
		}
		double t = now_s();
		if (t >= g_deadline)
			break;
		bool ok = STEP(c, "NOOP", "NOOP\r\n", 250);
		double e = now_s();
		if (!ok) {
			p->errors++;
			conn_close(c);
			continue;
		}
		if (t >= g_warm_end)
			vec_push(&p->rtt, e - t);
		if (++sent >= opt.noop_reconnect && opt.noop_reconnect > 0) {
			STEP(c, "NOOP connection: QUIT", "QUIT\r\n", 221);
			conn_close(c);
			p->reconnects++;
		}
		next += opt.noop_ms / 1000.0;
		double s = next - now_s();
		if (s > 0)
			usleep((useconds_t)(s * 1e6));
		else
			next = now_s(); /* behind: do not send a burst to catch up */
	}
	if (c->fd >= 0) {
		STEP(c, "NOOP connection: QUIT", "QUIT\r\n", 221);
		conn_close(c);
	}
	free(c);
	return NULL;
}

/* ---- the AUTH flood ---- */
static char g_flood_cmd[1024];
static atomic_long g_flood_sent, g_flood_refused, g_flood_failed;

static void *flood_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000100u + 1 + (unsigned)(id % opt.flood_sources));
	char ehlo[300];
	int n = snprintf(ehlo, sizeof ehlo, "EHLO flood%d.bench.local\r\n", id);
	double next = now_s();
	while (!atomic_load(&g_stop) && now_s() < g_deadline) {
		if (opt.flood_rate > 0) {
			next += 1.0 / opt.flood_rate;
			double s = next - now_s();
			if (s > 0)
				usleep((useconds_t)(s * 1e6));
			else
				next = now_s(); /* behind: no burst to catch up */
		}
		int fd = socket(g_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		struct conn c = {.fd = fd};
		struct timeval tv = {.tv_sec = opt.timeout_s};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one); /* the port at connect */
		if ((g_addr->ai_family == AF_INET && bind(fd, (struct sockaddr *)&src, sizeof src) < 0) ||
		    connect(fd, g_addr->ai_addr, g_addr->ai_addrlen) < 0) {
			close(fd);
			atomic_fetch_add(&g_flood_failed, 1);
			usleep(10000);
			continue;
		}
		int code = conn_reply(&c);
		if (code != 220) {
			atomic_fetch_add(&g_flood_refused, 1); /* 421: no slot */
		} else if (conn_write(&c, ehlo, (size_t)n) == 0 && conn_reply(&c) == 250 &&
			   conn_write(&c, g_flood_cmd, strlen(g_flood_cmd)) == 0) {
			atomic_fetch_add(&g_flood_sent, 1);
			if (opt.flood_wait)
				conn_reply(&c); /* 535 (after its delay) or 454 */
		} else {
			atomic_fetch_add(&g_flood_failed, 1);
		}
		close(fd);
	}
	return NULL;
}

/* ---- setup ---- */
static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		out[o++] = t[v >> 18 & 63], out[o++] = t[v >> 12 & 63];
		out[o++] = t[v >> 6 & 63], out[o++] = t[v & 63];
	}
	if (i < n) {
		unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);
		out[o++] = t[v >> 18 & 63], out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = 0;
}

static void make_body(void)
{
	/* headers, then payload lines of 76 octets + CRLF until opt.size octets */
	size_t cap = opt.size + 1024;
	g_body = malloc(cap);
	int h = snprintf(g_body, cap,
			 "From: <%s>\r\nTo: <%s>\r\nSubject: auth_load benchmark\r\n"
			 "Message-ID: <auth_load@bench.local>\r\n\r\n",
			 opt.from, opt.to);
	size_t n = (size_t)h, payload = 0;
	while (payload < opt.size) {
		size_t l = opt.size - payload >= 78 ? 76 : (opt.size - payload > 2 ? opt.size - payload - 2 : 1);
		for (size_t i = 0; i < l; i++)
			g_body[n++] = (char)('a' + (payload + i) % 26);
		g_body[n++] = '\r', g_body[n++] = '\n';
		payload += l + 2;
	}
	memcpy(g_body + n, ".\r\n", 3);
	g_body_len = n + 3;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: auth_load [options]\n"
		"  --host H (127.0.0.1)  --port P (2525)  --sessions N (20)  --duration S (10)\n"
		"  --warmup S (1)  --size OCTETS (4096)  --from A  --to A  --helo NAME\n"
		"  --user U --pass P     AUTH PLAIN with an initial response (omit: no AUTH)\n"
		"  --starttls            STARTTLS before AUTH/MAIL (no certificate check)\n"
		"  --resume              offer each thread's previous TLS session\n"
		"  --tls-max 1.2|1.3     highest TLS version offered\n"
		"  --mode mail|handshake|auth   (default mail; handshake implies --starttls)\n"
		"  --noop-ms MS (10; 0 = no NOOP prober)  --noop-reconnect N (50)\n"
		"  --timeout S (30)  --max-errors N (10000)\n"
		"  --flood N (0)         N more threads flooding AUTH PLAIN with a wrong password\n"
		"  --flood-sources K (50)  from 127.0.1.1 .. 127.0.1.K\n"
		"  --flood-mode hangup|wait  hang up after AUTH (default) or after its reply\n"
		"  --flood-user U (alice)  --flood-rate R (0)  AUTH per second per flood thread; 0: unpaced\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(), ""))
		if (!strcmp(a, "--host"))
			opt.host = ARG();
		else if (!strcmp(a, "--port"))
			opt.port = ARG();
		else if (!strcmp(a, "--sessions"))
			opt.sessions = atoi(ARG());
		else if (!strcmp(a, "--duration"))
			opt.duration = atof(ARG());
		else if (!strcmp(a, "--warmup"))
			opt.warmup = atof(ARG());
		else if (!strcmp(a, "--size"))
			opt.size = strtoul(ARG(), NULL, 10);
		else if (!strcmp(a, "--from"))
			opt.from = ARG();
		else if (!strcmp(a, "--to"))
			opt.to = ARG();
		else if (!strcmp(a, "--helo"))
			opt.helo = ARG();
		else if (!strcmp(a, "--user"))
			opt.user = ARG();
		else if (!strcmp(a, "--pass"))
			opt.pass = ARG();
		else if (!strcmp(a, "--starttls"))
			opt.starttls = true;
		else if (!strcmp(a, "--resume"))
			opt.resume = true;
		else if (!strcmp(a, "--tls-max")) {
			const char *v = ARG();
			opt.tls_max = !strcmp(v, "1.2") ? 12 : !strcmp(v, "1.3") ? 13 : (usage(), 0);
		} else if (!strcmp(a, "--mode")) {
			const char *v = ARG();
			opt.mode = !strcmp(v, "mail")	     ? MODE_MAIL
				   : !strcmp(v, "handshake") ? MODE_HANDSHAKE
				   : !strcmp(v, "auth")	     ? MODE_AUTH
							     : (usage(), MODE_MAIL);
		} else if (!strcmp(a, "--noop-ms"))
			opt.noop_ms = atoi(ARG());
		else if (!strcmp(a, "--noop-reconnect"))
			opt.noop_reconnect = atoi(ARG());
		else if (!strcmp(a, "--timeout"))
			opt.timeout_s = atoi(ARG());
		else if (!strcmp(a, "--max-errors"))
			opt.max_errors = atol(ARG());
		else if (!strcmp(a, "-v"))
			opt.verbose = true;
		else if (!strcmp(a, "--flood"))
			opt.flood = atoi(ARG());
		else if (!strcmp(a, "--flood-sources"))
			opt.flood_sources = atoi(ARG());
		else if (!strcmp(a, "--flood-mode")) {
			const char *v = ARG();
			opt.flood_wait = !strcmp(v, "wait") ? true : !strcmp(v, "hangup") ? false : (usage(), false);
		} else if (!strcmp(a, "--flood-user"))
			opt.flood_user = ARG();
		else if (!strcmp(a, "--flood-rate"))
			opt.flood_rate = atof(ARG());
		else
			usage();
	}
	if (opt.mode == MODE_HANDSHAKE)
		opt.starttls = true;
	if (opt.sessions < 1 || opt.duration <= 0 || opt.warmup < 0 || (opt.user && !opt.pass) ||
	    (opt.mode == MODE_AUTH && !opt.user) || opt.flood < 0 || opt.flood_sources < 1 ||
	    opt.flood_sources > 254)
		usage();
	signal(SIGPIPE, SIG_IGN);

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	int gai = getaddrinfo(opt.host, opt.port, &hints, &g_addr);
	if (gai) {
		fprintf(stderr, "auth_load: %s:%s: %s\n", opt.host, opt.port, gai_strerror(gai));
		return 2;
	}
	if (opt.user) {
		unsigned char raw[600];
		size_t ul = strlen(opt.user), pl = strlen(opt.pass);
		if (ul + pl + 2 > 600)
			usage();
		raw[0] = 0;
		memcpy(raw + 1, opt.user, ul);
		raw[1 + ul] = 0;
		memcpy(raw + 2 + ul, opt.pass, pl);
		memcpy(g_auth_cmd, "AUTH PLAIN ", 11);
		b64(raw, ul + pl + 2, g_auth_cmd + 11);
		strcat(g_auth_cmd, "\r\n");
	}
	if (opt.starttls) {
		g_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
		if (opt.tls_max)
			SSL_CTX_set_max_proto_version(g_ctx, opt.tls_max == 12 ? TLS1_2_VERSION
									     : TLS1_3_VERSION);
		SSL_CTX_set_session_cache_mode(g_ctx, opt.resume ? SSL_SESS_CACHE_CLIENT
								 : SSL_SESS_CACHE_OFF);
		if (!opt.resume)
			SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET);
	}
	make_body();
	{
		unsigned char raw[600];
		const char *bad = "wrong-password";
		size_t ul = strlen(opt.flood_user), pl = strlen(bad);
		if (ul + pl + 2 > 600)
			usage();
		raw[0] = 0;
		memcpy(raw + 1, opt.flood_user, ul);
		raw[1 + ul] = 0;
		memcpy(raw + 2 + ul, bad, pl);
		memcpy(g_flood_cmd, "AUTH PLAIN ", 11);
		b64(raw, ul + pl + 2, g_flood_cmd + 11);
		strcat(g_flood_cmd, "\r\n");
	}

	struct worker *ws = calloc((size_t)opt.sessions, sizeof *ws);
	struct prober pr = {0};
	g_t0 = now_s();
	g_warm_end = g_t0 + opt.warmup;
	g_deadline = g_warm_end + opt.duration;
	for (int i = 0; i < opt.sessions; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) {
			perror("pthread_create");
			return 1;
		}
	if (opt.noop_ms > 0)
		pthread_create(&pr.th, NULL, prober_main, &pr);
	pthread_t *floods = calloc((size_t)opt.flood + 1, sizeof *floods);
	for (int i = 0; i < opt.flood; i++)
		if (pthread_create(&floods[i], NULL, flood_main, (void *)(intptr_t)i)) {
			perror("pthread_create");
			return 1;
		}
	long done = 0, done_all = 0, errors = 0, resumed = 0;
	double end = g_warm_end;
	struct vec lat = {0}, eod = {0};
	for (int i = 0; i < opt.sessions; i++) {
		pthread_join(ws[i].th, NULL);
		done += ws[i].done;
		done_all += ws[i].done_all;
		errors += ws[i].errors;
		resumed += ws[i].resumed;
		if (ws[i].last_end > end)
			end = ws[i].last_end;
		for (size_t k = 0; k < ws[i].lat.n; k++)
			vec_push(&lat, ws[i].lat.v[k]);
		for (size_t k = 0; k < ws[i].eod.n; k++)
			vec_push(&eod, ws[i].eod.v[k]);
		free(ws[i].lat.v);
		free(ws[i].eod.v);
	}
	atomic_store(&g_stop, true);
	if (opt.noop_ms > 0)
		pthread_join(pr.th, NULL);
	for (int i = 0; i < opt.flood; i++)
		pthread_join(floods[i], NULL);
	free(floods);
	double secs = end - g_warm_end;
	double rate = secs > 0 ? done / secs : 0;
	qsort(lat.v, lat.n, sizeof(double), cmp_d);
	qsort(eod.v, eod.n, sizeof(double), cmp_d);
	qsort(pr.rtt.v, pr.rtt.n, sizeof(double), cmp_d);
	double nmax = pr.rtt.n ? pr.rtt.v[pr.rtt.n - 1] : 0;
	const char *mname = opt.mode == MODE_MAIL ? "mail" : opt.mode == MODE_HANDSHAKE ? "handshake" : "auth";

	fprintf(stderr,
		"auth_load: %s:%s mode=%s%s%s%s, %d sessions, %.2f s measured (+%.1f s warm-up)\n"
		"  done %ld (%ld with warm-up), %.1f sessions/s, errors %ld, resumed %ld%s%s\n"
		"  session ms: p50 %.2f p99 %.2f; end of data to 250 ms: p50 %.2f p99 %.2f\n"
		"  NOOP every %d ms: %zu round trips, p50 %.3f ms, p99 %.3f ms, max %.3f ms, errors %ld\n",
		opt.host, opt.port, mname, opt.starttls ? " starttls" : "", opt.resume ? " resume" : "",
		opt.user ? " auth=PLAIN" : "", opt.sessions, secs, opt.warmup, done, done_all, rate, errors,
		resumed, g_tls_desc[0] ? ", TLS " : "", g_tls_desc, pct(&lat, 50) * 1e3, pct(&lat, 99) * 1e3,
		pct(&eod, 50) * 1e3, pct(&eod, 99) * 1e3, opt.noop_ms, pr.rtt.n,
		pct(&pr.rtt, 50) * 1e3, pct(&pr.rtt, 99) * 1e3, nmax * 1e3, pr.errors);
	if (opt.flood)
		fprintf(stderr, "  AUTH flood: %d threads (%s) from %d addresses: %ld AUTH sent, %ld refused at connect, %ld failed\n",
			opt.flood, opt.flood_wait ? "wait" : "hangup", opt.flood_sources,
			atomic_load(&g_flood_sent), atomic_load(&g_flood_refused), atomic_load(&g_flood_failed));
	for (int i = 0; i < g_nkinds; i++)
		fprintf(stderr, "  error x%ld: %s\n", g_kinds[i].n, g_kinds[i].what);
	printf("result mode=%s sessions=%d secs=%.3f done=%ld rate=%.1f errors=%ld sess_p50_ms=%.3f "
	       "sess_p99_ms=%.3f noop_n=%zu noop_p50_ms=%.3f noop_p99_ms=%.3f noop_max_ms=%.3f "
	       "noop_errors=%ld resumed=%ld tls=%s eod_p50_ms=%.3f eod_p99_ms=%.3f flood=%d "
	       "flood_sent=%ld flood_refused=%ld flood_failed=%ld flood_rate=%g\n",
	       mname, opt.sessions, secs, done, rate, errors, pct(&lat, 50) * 1e3, pct(&lat, 99) * 1e3,
	       pr.rtt.n, pct(&pr.rtt, 50) * 1e3, pct(&pr.rtt, 99) * 1e3, nmax * 1e3, pr.errors, resumed,
	       g_tls_desc[0] ? g_tls_desc : "-", pct(&eod, 50) * 1e3, pct(&eod, 99) * 1e3, opt.flood,
	       atomic_load(&g_flood_sent), atomic_load(&g_flood_refused), atomic_load(&g_flood_failed),
	       opt.flood_rate);
	fflush(stdout);
	return 0;
}
