/* The "lmtp" store backend: hands each message to an LMTP server (RFC 2033)
 * such as Dovecot's, which answers per recipient.
 *
 *   begin   the envelope; the body may arrive on the event loop, where no
 *           network wait is allowed, so it is kept until commit
 *   write   a 64 KiB buffer; a longer body goes on to an unnamed spool file
 *           (O_TMPFILE in $TMPDIR or /tmp), made only then: most messages
 *           cost no file at all
 *   commit  (a worker thread) take an idle connection or open one (greeting,
 *           LHLO), then MAIL, RCPT per recipient, DATA, the body dot-stuffed
 *           (its end marker in the same write as its last octets), and one
 *           reply per accepted recipient; the connection goes back to the
 *           idle pool for the next message. The pool keeps up to
 *           `connections` (lmtp_concurrency: the queue manager runs as many
 *           deliveries at once), so a busy queue reuses every connection
 *           instead of opening and closing some per message
 *
 * A reply 2xx is delivered, 4xx (or no reply: refused, closed, timed out)
 * temporary, 5xx permanent. A reused connection that the server closed
 * while idle is noticed before the message went out, and the message is
 * tried once more on a fresh connection; never after its body was sent
 * (that could deliver it twice). The protocol itself is lmtp_session.c. */
#include "store/backend.h"

#include "common/buf.h"
#include "common/str.h"
#include "store/lmtp_session.h"
#include "store/route.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LMTP_CONNECTIONS_DEFAULT 20       /* kept open between messages (Postfix: 20) */
/* seconds, as Postfix's lmtp_connect_timeout, lmtp_rcpt_timeout and
 * lmtp_data_done_timeout */
#define LMTP_CONNECT_TIMEOUT_DEFAULT 30
#define LMTP_TIMEOUT_DEFAULT 300           /* RFC 5321 §4.5.3.2: minutes, not seconds */
#define LMTP_DATA_DONE_TIMEOUT_DEFAULT 600 /* §4.5.3.2.6: the replies to "." */
#define LMTP_READ_BUF 8192
#define LMTP_CANCEL_CHECK_MS 1000
#define LMTP_TARGET_MAX 512

struct lmtp_conn {
	const struct lmtp *be;
	int fd;
	struct lmtp_session *s;
	char rbuf[LMTP_READ_BUF];
	size_t rlen;
};

struct lmtp {
	char target[LMTP_TARGET_MAX]; /* as configured, for logs */
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" for TCP */
	char host[LMTP_TARGET_MAX];
	char port[8];
	char *lhlo_name;
	int connect_ms, io_ms, dot_ms; /* timeouts */
	pthread_mutex_t mu; /* guards idle[] */
	struct lmtp_conn **idle;
	size_t nidle, idle_max;
	atomic_bool cancelled; /* store_cancel: every wait ends (wait_fd) */
};

/* What the body holds that the LMTP server must offer an extension for,
 * learnt as it streams through: 8-bit octets (8BITMIME, RFC 6152), UTF-8 in
 * the header section, up to the first CRLF CRLF (SMTPUTF8, RFC 6532), and
 * for BINARYMIME whether it is text after all, which DATA can carry (RFC
 * 3030 §3): no NUL, CR only before LF and LF only after CR, lines of at
 * most 998 octets (RFC 5321 §4.5.3.1.6), and a line end at the end. */
struct body_scan {
	bool has_8bit;
	bool utf8_headers;
	bool headers_done;
	unsigned header_eol; /* octets of CRLF CRLF matched */
	bool not_text;
	bool cr;             /* the last octet was a CR */
	size_t line;         /* octets of the current line */
};

static void body_scan(struct body_scan *b, const unsigned char *p, size_t n)
{
	static const char end[] = "\r\n\r\n";
	for (size_t i = 0; i < n; i++) {
		b->has_8bit |= p[i] >= 0x80;
		if (!b->headers_done) {
			b->utf8_headers |= p[i] >= 0x80;
			b->header_eol = p[i] == end[b->header_eol] ? b->header_eol + 1 : p[i] == '\r';
			b->headers_done = b->header_eol == 4;
		}
		if (b->not_text) {
			continue;
		} else if (b->cr) {
			b->cr = false;
			b->not_text = p[i] != '\n';
			b->line = 0;
		} else if (p[i] == '\r') {
			b->cr = true;
		} else {
			b->not_text = p[i] == '\n' || p[i] == '\0' || ++b->line > 998;
		}
	}
}

static bool body_is_text(const struct body_scan *b, off_t size)
{
	return !b->not_text && !b->cr && (b->line == 0 || size == 0);
}

struct lmtp_msg_state {
	struct lmtp *be;
	char *sender;
	bool smtputf8, eightbit;
	bool binary;            /* BODY=BINARYMIME */
	struct body_scan scan;
	char **rcpts;      /* unique canonical recipients, in the order first seen */
	size_t nrcpts;
	size_t *rcpt_of;   /* the unique recipient of each recipient of begin */
	size_t nin;
	int fd;            /* the spool file, once the body outgrew body; else -1 */
	struct buf body;   /* max LMTP_BODY_CHUNK: a small message holds little */
	off_t size;        /* body octets so far */
	int err;           /* first spool failure, sticky */
	struct store_result failure;
};

static void conn_close(struct lmtp_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	lmtp_session_free(c->s);
	free(c);
}

/* ---- the target ---- */

/* "unix:/path", "host:port" or "[v6addr]:port". */
static int parse_target(struct lmtp *be, const char *t, char *err, size_t errlen)
{
	if (!t || !*t) {
		store_set_err(err, errlen, "lmtp: no target (lmtp = HOST:PORT or unix:/path)");
		return -1;
	}
	if (strlen(t) >= sizeof be->target)
		goto bad;
	(void)str_copy(be->target, sizeof be->target, t, strlen(t));
	if (strncmp(t, "unix:", 5) == 0) {
		const char *path = t + 5;
		if (path[0] != '/' || strlen(path) >= sizeof be->unix_path)
			goto bad;
		(void)str_copy(be->unix_path, sizeof be->unix_path, path, strlen(path));
		return 0;
	}
	const char *colon = strrchr(t, ':');
	if (!colon || colon == t)
		goto bad;
	const char *host = t;
	size_t hlen = (size_t)(colon - t);
	if (t[0] == '[') { /* [v6]:port */
		if (hlen < 3 || t[hlen - 1] != ']')
			goto bad;
		host++;
		hlen -= 2;
	} else if (memchr(t, ':', hlen)) {
		goto bad; /* a bare IPv6 address needs brackets */
	}
	const char *port = colon + 1;
	size_t plen = strlen(port);
	if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen || atoi(port) < 1 ||
	    atoi(port) > 65535)
		goto bad;
	(void)str_copy(be->host, sizeof be->host, host, hlen);
	(void)str_copy(be->port, sizeof be->port, port, plen);
	return 0;
bad:
	store_set_err(err, errlen, "lmtp = \"%s\": expected HOST:PORT, [IPv6]:PORT or unix:/path",
		      t);
	return -1;
}

/* ---- blocking I/O with timeouts (on a worker thread) ---- */

/* Wait for events on fd: 0, ETIMEDOUT, ECANCELED (store_cancel: looked
 * at every second, so a connection still being made or greeted, which
 * shutdown(2) does not wake, gives up too), or an errno. */
static int wait_fd(const struct lmtp *be, int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	for (;;) {
		if (atomic_load(&be->cancelled))
			return ECANCELED;
		int slice = timeout_ms < LMTP_CANCEL_CHECK_MS ? timeout_ms : LMTP_CANCEL_CHECK_MS;
		int r = poll(&p, 1, slice);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return errno;
		if (r == 0 && (timeout_ms -= slice) <= 0)
			return ETIMEDOUT;
	}
}

static int connect_addr(const struct lmtp *be, const struct sockaddr *sa, socklen_t len, int *out)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	/* every write is a whole command group or body: Nagle would hold a
	 * short one back until the last is acknowledged (a delayed ACK, 40 ms) */
	int one = 1;
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int e = 0;
	if (connect(fd, sa, len) != 0) {
		e = errno;
		/* EAGAIN: a TCP port range ran out, or a Unix socket's listen
		 * queue is full, where nothing was started: that is the error */
		if (e == EINPROGRESS || (e == EAGAIN && sa->sa_family != AF_UNIX)) {
			socklen_t elen = sizeof e;
			e = wait_fd(be, fd, POLLOUT, be->connect_ms);
			if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
				e = errno;
		}
	}
	if (e) {
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

static void connect_failed(const struct lmtp *be, int e, char *err, size_t errlen)
{
	if (e == ECANCELED)
		store_set_err(err, errlen, "given up at shutdown (shutdown_timeout): the message "
			      "stays queued");
	else if (e == ETIMEDOUT)
		store_set_err(err, errlen, "connect: no answer in %d s (lmtp_connect_timeout)",
			      be->connect_ms / 1000);
	else if (e == EAGAIN && be->unix_path[0])
		store_set_err(err, errlen, "connect: the server's listen queue is full");
	else
		store_set_err(err, errlen, "connect: %s", strerror(e));
}

/* Connect to the target; on failure fills err with why. */
static int dial(const struct lmtp *be, char *err, size_t errlen)
{
	int fd = -1, e;
	if (be->unix_path[0]) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		(void)str_copy(sun.sun_path, sizeof sun.sun_path, be->unix_path, strlen(be->unix_path));
		if ((e = connect_addr(be, (struct sockaddr *)&sun, sizeof sun, &fd)) != 0) {
			connect_failed(be, e, err, errlen);
			return -1;
		}
		return fd;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(be->host, be->port, &hints, &res);
	if (g != 0) {
		store_set_err(err, errlen, "resolve %s: %s", be->host, gai_strerror(g));
		return -1;
	}
	e = ENOENT;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next)
		e = connect_addr(be, a->ai_addr, a->ai_addrlen, &fd);
	freeaddrinfo(res);
	if (fd < 0) {
		connect_failed(be, e, err, errlen);
		return -1;
	}
	return fd;
}

/* Write the session's output; 0 or an errno. */
static int flush_out(struct lmtp_conn *c)
{
	struct buf *out = lmtp_session_out(c->s);
	size_t off = 0;
	int e = 0;
	while (off < out->len) {
		ssize_t r = send(c->fd, out->data + off, out->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((e = wait_fd(c->be, c->fd, POLLOUT, c->be->io_ms)) != 0)
				break;
			continue;
		}
		e = r < 0 ? errno : EPIPE;
		break;
	}
	buf_clear(out);
	return e;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When the wait for the next reply line gives up: a server trickling
 * octets cannot hold a delivery thread beyond it. */
static int64_t reply_deadline(const struct lmtp_conn *c)
{
	return now_ms() + (lmtp_session_after_dot(c->s) ? c->be->dot_ms : c->be->io_ms);
}

/* The connection failed with errno e while writing or waiting for a reply;
 * a timeout names the setting that gave up, and after how long. */
static enum lmtp_event io_failed(struct lmtp_conn *c, int e, bool writing)
{
	char why[128];
	bool dot = !writing && lmtp_session_after_dot(c->s);
	if (e == ECANCELED)
		(void)snprintf(why, sizeof why, "given up at shutdown (shutdown_timeout): the "
			       "message stays queued");
	else if (e == ETIMEDOUT)
		(void)snprintf(why, sizeof why, "%s in %d s (%s)",
			       writing ? "write: no progress" : "no reply",
			       (dot ? c->be->dot_ms : c->be->io_ms) / 1000,
			       dot ? "lmtp_data_done_timeout" : "lmtp_timeout");
	else
		(void)snprintf(why, sizeof why, "%s%s", writing ? "write: " : "", strerror(e));
	return lmtp_session_eof(c->s, why);
}

/* Write what is queued, then read and feed until an event. */
static enum lmtp_event step(struct lmtp_conn *c)
{
	int64_t deadline = reply_deadline(c);
	int e = flush_out(c);
	if (e)
		return io_failed(c, e, true);
	for (;;) {
		size_t used = 0;
		enum lmtp_event ev = LMTP_EV_NONE;
		if (c->rlen > 0) {
			ev = lmtp_session_feed(c->s, c->rbuf, c->rlen, &used);
			memmove(c->rbuf, c->rbuf + used, c->rlen - used);
			c->rlen -= used;
		}
		if (ev != LMTP_EV_NONE)
			return ev;
		if (used > 0) /* whole reply lines came: the next one gets its own time */
			deadline = reply_deadline(c);
		if (lmtp_session_out(c->s)->len > 0) { /* without PIPELINING: the next command */
			if ((e = flush_out(c)) != 0)
				return io_failed(c, e, true);
			continue;
		}
		int64_t left = deadline - now_ms();
		if ((e = left > 0 ? wait_fd(c->be, c->fd, POLLIN, (int)left) : ETIMEDOUT) != 0)
			break;
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, MSG_DONTWAIT);
		if (r > 0) {
			c->rlen += (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		return lmtp_session_eof(c->s, r == 0 ? "the LMTP server closed the connection"
						     : strerror(errno));
	}
	return io_failed(c, e, false);
}

/* A new connection, greeted and past LHLO; NULL with why in err. */
static struct lmtp_conn *conn_open(const struct lmtp *be, char *err, size_t errlen)
{
	struct lmtp_conn *c = calloc(1, sizeof *c);
	if (!c || !(c->s = lmtp_session_new(be->lhlo_name))) {
		free(c);
		store_set_err(err, errlen, "out of memory");
		return NULL;
	}
	c->be = be;
	if ((c->fd = dial(be, err, errlen)) < 0) {
		conn_close(c);
		return NULL;
	}
	if (step(c) != LMTP_EV_READY) {
		store_set_err(err, errlen, "%s", lmtp_session_error(c->s));
		conn_close(c);
		return NULL;
	}
	return c;
}

/* An idle connection the server has not closed meanwhile: one with
 * something to read (a 421 for idleness, or the end) is dropped. */
static struct lmtp_conn *conn_take_idle(struct lmtp *be)
{
	for (;;) {
		struct lmtp_conn *c = NULL;
		pthread_mutex_lock(&be->mu);
		if (be->nidle > 0)
			c = be->idle[--be->nidle];
		pthread_mutex_unlock(&be->mu);
		if (!c)
			return NULL;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 0)
			return c;
		conn_close(c);
	}
}

static void conn_put_idle(struct lmtp *be, struct lmtp_conn *c)
{
	pthread_mutex_lock(&be->mu);
	if (be->nidle < be->idle_max) {
		be->idle[be->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&be->mu);
	conn_close(c); /* the pool is full */
}

/* Every wait of every delivery ends within LMTP_CANCEL_CHECK_MS (wait_fd);
 * the deliveries fail then with a temporary failure, and new ones at once. */
static void lmtp_cancel(void *state)
{
	struct lmtp *be = state;
	atomic_store(&be->cancelled, true);
}

/* ---- the backend ---- */

static void lmtp_close(void *state)
{
	struct lmtp *be = state;
	if (!be)
		return;
	for (size_t i = 0; i < be->nidle; i++) {
		(void)send(be->idle[i]->fd, "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_close(be->idle[i]);
	}
	pthread_mutex_destroy(&be->mu);
	free(be->idle);
	free(be->lhlo_name);
	free(be);
}

static void *lmtp_open(const struct store_config *cfg, char *err, size_t errlen)
{
	struct lmtp *be = calloc(1, sizeof *be);
	if (!be) {
		store_set_err(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&be->mu, NULL);
	be->idle_max = cfg->lmtp_connections ? cfg->lmtp_connections : LMTP_CONNECTIONS_DEFAULT;
	be->connect_ms = 1000 * (int)(cfg->lmtp_connect_timeout ? cfg->lmtp_connect_timeout
						     : LMTP_CONNECT_TIMEOUT_DEFAULT);
	be->io_ms = 1000 * (int)(cfg->lmtp_timeout ? cfg->lmtp_timeout : LMTP_TIMEOUT_DEFAULT);
	be->dot_ms = 1000 * (int)(cfg->lmtp_data_done_timeout ? cfg->lmtp_data_done_timeout
							   : LMTP_DATA_DONE_TIMEOUT_DEFAULT);
	if (!(be->idle = calloc(be->idle_max, sizeof(*be->idle)))) {
		store_set_err(err, errlen, "out of memory");
		lmtp_close(be);
		return NULL;
	}
	char host[256];
	const char *name = cfg->hostname;
	if (!name || !*name) {
		if (gethostname(host, sizeof host) != 0 || !host[0])
			(void)str_copy(host, sizeof host, "localhost", 9);
		host[sizeof host - 1] = '\0';
		name = host;
	}
	if (parse_target(be, cfg->lmtp, err, errlen) != 0) {
		lmtp_close(be);
		return NULL;
	}
	if (!(be->lhlo_name = strdup(name))) {
		store_set_err(err, errlen, "out of memory");
		lmtp_close(be);
		return NULL;
	}
	/* No connection now: the LMTP server may start after us; a message
	 * that finds it down gets a 4xx and is retried by its sender. */
	return be;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void lmtp_free(void *msg)
{
	struct lmtp_msg_state *m = msg;
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->rcpt_of);
	free(m->sender);
	buf_fini(&m->body);
	free(m);
}

/* Where spools go: $TMPDIR, else /tmp. */
static const char *spool_dir(void)
{
	const char *dir = getenv("TMPDIR");
	return dir && *dir ? dir : "/tmp";
}

/* An unnamed file (it vanishes with the last descriptor, whatever happens);
 * -1 with errno. */
static int open_spool(void)
{
	const char *dir = spool_dir();
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[4096];
	(void)snprintf(path, sizeof path, "%s/postern-lmtp.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		(void)unlink(path);
	return fd;
}

static enum store_status status_of(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? STORE_FULL : STORE_IOERR;
}

static void *lmtp_begin(void *state, const struct store_envelope *env, struct store_result *res)
{
	struct lmtp_msg_state *m = calloc(1, sizeof *m);
	if (!m) {
		store_result_set(res, STORE_IOERR, "out of memory");
		return NULL;
	}
	m->be = state;
	m->fd = -1;
	buf_init(&m->body, LMTP_BODY_CHUNK);
	m->nin = env->nrcpts;
	m->smtputf8 = env->smtputf8;
	m->eightbit = env->eightbit;
	m->binary = env->binary;
	m->rcpts = calloc(env->nrcpts, sizeof(*m->rcpts));
	m->rcpt_of = calloc(env->nrcpts, sizeof(*m->rcpt_of));
	if (!m->rcpts || !m->rcpt_of || !(m->sender = strdup(env->sender)))
		goto nomem;
	/* one RCPT per mailbox: "alice"@x is alice@x, and domains have no case;
	 * a local part's case is the LMTP server's to judge (RFC 5321 §2.4), so
	 * Dave@x and dave@x each get their RCPT */
	char **canon = calloc(env->nrcpts, sizeof(*canon));
	if (!canon)
		goto nomem;
	for (size_t i = 0; i < env->nrcpts; i++) {
		char c[ROUTE_ADDR_MAX + 1];
		if (!route_canonical(env->rcpts[i], c, sizeof c)) {
			store_result_set(res, STORE_IOERR, "recipient %s: not an address", env->rcpts[i]);
			free_strings(canon, env->nrcpts);
			lmtp_free(m);
			return NULL;
		}
		if (!(canon[i] = strdup(c))) {
			free_strings(canon, env->nrcpts);
			goto nomem;
		}
	}
	if (!store_unique((const char *const *)canon, env->nrcpts, strcmp, m->rcpt_of)) {
		free_strings(canon, env->nrcpts);
		goto nomem;
	}
	for (size_t i = 0; i < env->nrcpts; i++) { /* each first one is kept */
		if (m->rcpt_of[i] == m->nrcpts) {
			m->rcpts[m->nrcpts++] = canon[i];
			canon[i] = NULL;
		}
	}
	free_strings(canon, env->nrcpts);
	return m;
nomem:
	store_result_set(res, STORE_IOERR, "out of memory");
	lmtp_free(m);
	return NULL;
}

/* body to the spool file (made the first time): 0 or an errno. */
static int spool_flush(struct lmtp_msg_state *m)
{
	if (m->fd < 0 && (m->fd = open_spool()) < 0)
		return errno;
	size_t off = 0;
	while (off < m->body.len) {
		ssize_t r = write(m->fd, m->body.data + off, m->body.len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO;
		off += (size_t)r;
	}
	buf_clear(&m->body);
	return 0;
}

static void spool_failed(struct lmtp_msg_state *m, int e)
{
	if (m->err)
		return;
	m->err = e;
	store_result_set(&m->failure, status_of(e), "write the LMTP spool in %s: %s", spool_dir(),
			 strerror(e));
}

static enum store_status lmtp_write(void *msg, const void *p, size_t n)
{
	struct lmtp_msg_state *m = msg;
	const char *s = p;
	body_scan(&m->scan, p, n);
	while (n > 0 && !m->err) {
		int e = m->body.len == m->body.max ? spool_flush(m) : 0; /* more is coming */
		size_t k = m->body.max - m->body.len;
		if (k > n)
			k = n;
		if (!e && buf_append(&m->body, s, k) != BUF_OK)
			e = ENOMEM;
		if (e) {
			spool_failed(m, e);
			break;
		}
		m->size += (off_t)k;
		s += k;
		n -= k;
	}
	return m->err ? m->failure.status : STORE_OK;
}

/* The body through the session, from buf when it all fit there, else
 * streamed from the spool file; the end marker is queued with the last
 * octets, so a small message goes in one write (step writes it). 0 or an
 * errno of the spool; a failed write of a chunk sets *write_err. */
static int send_body(struct lmtp_msg_state *m, struct lmtp_conn *c, int *write_err)
{
	if (m->fd < 0) {
		if (m->body.len)
			lmtp_session_body(c->s, m->body.data, m->body.len);
		lmtp_session_body_end(c->s);
		return 0;
	}
	/* the body buffer reads the spool back a chunk at a time; it
	 * overflowed into the spool, so it holds a whole chunk already */
	if (buf_reserve(&m->body, m->body.max) != BUF_OK)
		return ENOMEM;
	off_t off = 0;
	while (off < m->size) {
		if (off > 0 && (*write_err = flush_out(c)) != 0)
			return 0;
		ssize_t r = pread(m->fd, m->body.data, m->body.max, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO; /* shorter than what was written */
		off += r;
		lmtp_session_body(c->s, m->body.data, (size_t)r);
	}
	lmtp_session_body_end(c->s);
	return 0;
}

/* One message on one connection. *retry: the connection failed before the
 * server could have taken the message (a reused one closed while idle). */
static enum lmtp_event transact(struct lmtp_msg_state *m, struct lmtp_conn *c, bool *retry,
				int *spool_err)
{
	struct lmtp_msg lm = {
		.sender = m->sender,
		.rcpts = (const char *const *)m->rcpts,
		.nrcpts = m->nrcpts,
		.smtputf8 = m->smtputf8,
		.eightbit = m->eightbit,
		.has_8bit = m->scan.has_8bit,
		.utf8_headers = m->scan.utf8_headers,
	};
	*retry = false;
	*spool_err = 0;
	enum lmtp_event ev = lmtp_session_start(c->s, &lm);
	if (ev == LMTP_EV_DONE || ev == LMTP_EV_CLOSED)
		return ev;
	ev = step(c);
	if (ev == LMTP_EV_CLOSED) {
		/* nothing of this message was answered: it cannot have been taken */
		bool answered = false;
		for (size_t i = 0; i < m->nrcpts && !answered; i++)
			answered = lmtp_session_rcpt(c->s, i)->code != 0;
		*retry = !answered;
		return ev;
	}
	if (ev != LMTP_EV_BODY)
		return ev;
	int write_err = 0;
	if ((*spool_err = send_body(m, c, &write_err)) != 0)
		return lmtp_session_eof(c->s, "reading the spool failed");
	if (write_err)
		return io_failed(c, write_err, true);
	return step(c);
}

static void lmtp_commit(void *msg, struct store_result *results)
{
	struct lmtp_msg_state *m = msg;
	struct lmtp *be = m->be;
	char err[STORE_TEXT_MAX];
	int e;

	if (m->err || (m->fd >= 0 && (e = spool_flush(m)) != 0)) {
		if (!m->err)
			spool_failed(m, e);
		store_result_fill(results, m->nin, &m->failure);
		return;
	}
	if (m->binary && !body_is_text(&m->scan, m->size)) {
		/* no BDAT here, and no conversion to base64: returned, as
		 * RFC 3030 §3 allows (Dovecot offers no BINARYMIME anyway) */
		struct store_result r;
		store_result_set(&r, STORE_PERMFAIL, "lmtp %s: 554 5.6.3 the message is binary "
				 "(BODY=BINARYMIME), which LMTP over DATA cannot carry, and postern does "
				 "not convert it", be->target);
		store_result_fill(results, m->nin, &r);
		return;
	}
	struct lmtp_conn *c = conn_take_idle(be);
	bool reused = c != NULL;
	enum lmtp_event ev = LMTP_EV_CLOSED;
	int spool_err = 0;
	bool cancelled = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c && !(c = conn_open(be, err, sizeof err))) {
			struct store_result r;
			store_result_set(&r, STORE_TEMPFAIL, "lmtp %s: %s", be->target, err);
			store_result_fill(results, m->nin, &r);
			return;
		}
		bool retry = false;
		if ((cancelled = atomic_load(&be->cancelled)))
			break;
		ev = transact(m, c, &retry, &spool_err);
		if ((cancelled = atomic_load(&be->cancelled)) || ev != LMTP_EV_CLOSED || !retry ||
		    !reused)
			break;
		conn_close(c); /* closed by the server while idle: once more, fresh */
		c = NULL;
		reused = false;
	}
	for (size_t i = 0; i < m->nin; i++) {
		static const struct lmtp_rcpt_result none; /* the message did not start */
		const struct lmtp_rcpt_result *r = lmtp_session_rcpt(c->s, m->rcpt_of[i]);
		if (!r)
			r = &none;
		enum store_status st = r->code == 0	  ? STORE_TEMPFAIL
				       : r->code / 100 == 2 ? STORE_OK
				       : r->code / 100 == 5 ? STORE_PERMFAIL
							    : STORE_TEMPFAIL;
		if (r->code == 0 && cancelled)
			store_result_set(&results[i], STORE_TEMPFAIL, "lmtp %s: given up at shutdown "
					 "(shutdown_timeout): the message stays queued", be->target);
		else if (r->code == 0 && spool_err)
			store_result_set(&results[i], status_of(spool_err), "read the LMTP spool in %s: %s",
					 spool_dir(), strerror(spool_err));
		else
			store_result_set(&results[i], st, "lmtp %s: %s", be->target,
					 r->code ? r->text : lmtp_session_error(c->s));
	}
	/* octets past the last reply answer nothing we sent: kept, they would
	 * be taken for the next message's replies */
	if (ev == LMTP_EV_DONE && c->rlen == 0 && !cancelled)
		conn_put_idle(be, c);
	else
		conn_close(c);
}

static const char *lmtp_error(const void *msg)
{
	const struct lmtp_msg_state *m = msg;
	return m->failure.text;
}

const struct store_backend store_backend_lmtp = {
	.name = "lmtp",
	.commit_blocks = true,
	.return_path = false, /* the LMTP server is the final delivery: it adds Return-Path */
	.open = lmtp_open,
	.begin = lmtp_begin,
	.write = lmtp_write,
	.commit = lmtp_commit,
	.free = lmtp_free,
	.error = lmtp_error,
	.close = lmtp_close,
	.cancel = lmtp_cancel,
};
