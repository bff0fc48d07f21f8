#include "client/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client_transport {
	int fd;
	int timeout_ms;
	SSL_CTX *ctx;
	SSL *ssl;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the socket until the deadline; CLIENT_NET_OK when ready. */
static enum client_net_err wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return CLIENT_NET_TIMEOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);

		if (r > 0)
			return CLIENT_NET_OK;
		if (r < 0 && errno != EINTR)
			return CLIENT_NET_IO;
	}
}

static enum client_net_err errno_kind(int e)
{
	switch (e) {
	case ECONNREFUSED: return CLIENT_NET_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL: return CLIENT_NET_UNREACHABLE;
	case ETIMEDOUT: return CLIENT_NET_TIMEOUT;
	case ECONNRESET:
	case EPIPE: return CLIENT_NET_CLOSED;
	default: return CLIENT_NET_IO;
	}
}

static int try_connect(const struct addrinfo *ai, long long deadline, int *err_out)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0) {
		*err_out = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*err_out = errno;
		close(fd);
		return -1;
	}
	enum client_net_err w = wait_fd(fd, POLLOUT, deadline);
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (w != CLIENT_NET_OK) {
		*err_out = w == CLIENT_NET_TIMEOUT ? ETIMEDOUT : EIO;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
		*err_out = soerr ? soerr : errno;
		close(fd);
		return -1;
	}
	return fd;
}

enum client_net_err client_transport_connect(struct client_transport **out, const char *host,
	const char *port, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	long long deadline = now_ms() + timeout_ms;
	int rc = getaddrinfo(host, port, &hints, &res);
	int e = 0, fd = -1;

	*out = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return CLIENT_NET_RESOLVE;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = try_connect(ai, deadline, &e);
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s", host, port,
			 e == ETIMEDOUT ? "no answer (timed out)" : strerror(e));
		return errno_kind(e);
	}
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct client_transport *t = calloc(1, sizeof(*t));

	if (!t) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return CLIENT_NET_NOMEM;
	}
	t->fd = fd;
	t->timeout_ms = timeout_ms;
	*out = t;
	return CLIENT_NET_OK;
}

void client_transport_set_timeout(struct client_transport *t, int timeout_ms)
{
	t->timeout_ms = timeout_ms;
}

void client_transport_close(struct client_transport *t)
{
	if (!t)
		return;
	if (t->ssl) {
		SSL_shutdown(t->ssl); /* best effort close_notify; never waits */
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	close(t->fd);
	free(t);
}

bool client_transport_tls_active(const struct client_transport *t)
{
	return t->ssl != NULL;
}

static void ssl_reason(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

/* Drive an SSL call that may want the socket readable or writable. */
static int ssl_wait(struct client_transport *t, int r, long long deadline, enum client_net_err *ne)
{
	int e = SSL_get_error(t->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*ne = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		return *ne == CLIENT_NET_OK ? 1 : 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		*ne = CLIENT_NET_CLOSED;
		return 0;
	}
	if (e == SSL_ERROR_SYSCALL) {
		*ne = errno ? errno_kind(errno) : CLIENT_NET_CLOSED;
		return 0;
	}
	*ne = CLIENT_NET_TLS;
	return 0;
}

enum client_net_err client_transport_start_tls(struct client_transport *t,
	const struct client_tls_opts *opts, char *err, size_t errlen)
{
	long long deadline = now_ms() + t->timeout_ms;
	enum client_net_err ne = CLIENT_NET_TLS;

	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		ssl_reason(err, errlen, "TLS setup failed");
		return CLIENT_NET_TLS;
	}
	SSL_CTX_set_min_proto_version(t->ctx, opts->version ? opts->version : TLS1_2_VERSION);
	if (opts->version)
		SSL_CTX_set_max_proto_version(t->ctx, opts->version);
	if (opts->cert) {
		if (SSL_CTX_use_certificate_chain_file(t->ctx, opts->cert) != 1) {
			ssl_reason(err, errlen, "cannot load the client certificate");
			return CLIENT_NET_TLS;
		}
		if (SSL_CTX_use_PrivateKey_file(t->ctx, opts->key ? opts->key : opts->cert,
						SSL_FILETYPE_PEM) != 1) {
			ssl_reason(err, errlen, "cannot load the client key");
			return CLIENT_NET_TLS;
		}
		if (SSL_CTX_check_private_key(t->ctx) != 1) {
			ssl_reason(err, errlen, "the client certificate does not match its key");
			return CLIENT_NET_TLS;
		}
	}
	/* a peer that closes without close_notify is a plain close */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (opts->cafile) {
		if (SSL_CTX_load_verify_locations(t->ctx, opts->cafile, NULL) != 1) {
			ssl_reason(err, errlen, "cannot load the CA file");
			return CLIENT_NET_TLS;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		ssl_reason(err, errlen, "cannot load the system certificate store");
		return CLIENT_NET_TLS;
	}
	/* with verification off the chain is still checked, for the report */
	SSL_CTX_set_verify(t->ctx, opts->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1) {
		ssl_reason(err, errlen, "TLS setup failed");
		return CLIENT_NET_TLS;
	}
	const char *name = opts->sni ? opts->sni : opts->host;

	if (name) {
		/* SNI takes a name, never an address literal (RFC 6066 §3) */
		struct in6_addr a6;
		struct in_addr a4;
		bool literal = inet_pton(AF_INET, name, &a4) == 1 ||
			       inet_pton(AF_INET6, name, &a6) == 1;

		if (!literal)
			SSL_set_tlsext_host_name(t->ssl, name);
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);

		if (literal)
			X509_VERIFY_PARAM_set1_ip_asc(vp, name);
		else
			SSL_set1_host(t->ssl, name);
	}
	for (;;) {
		int r = SSL_connect(t->ssl);

		if (r == 1)
			return CLIENT_NET_OK;
		long vr = SSL_get_verify_result(t->ssl);

		if (opts->verify && vr != X509_V_OK) {
			snprintf(err, errlen, "the server's certificate does not verify: %s",
				 X509_verify_cert_error_string(vr));
			ERR_clear_error();
			return CLIENT_NET_TLS_VERIFY;
		}
		if (!ssl_wait(t, r, deadline, &ne)) {
			if (ne == CLIENT_NET_TIMEOUT)
				snprintf(err, errlen, "the TLS handshake timed out");
			else if (ne == CLIENT_NET_CLOSED)
				snprintf(err, errlen, "the server closed the connection during the TLS handshake");
			else
				ssl_reason(err, errlen, "the TLS handshake failed");
			return ne == CLIENT_NET_CLOSED ? CLIENT_NET_TLS : ne;
		}
	}
}

enum client_net_err client_transport_read(struct client_transport *t, char *p, size_t cap,
	size_t *got, char *err, size_t errlen)
{
	long long deadline = now_ms() + t->timeout_ms;
	enum client_net_err ne;

	*got = 0;
	for (;;) {
		if (t->ssl) {
			size_t n = 0;
			int r = SSL_read_ex(t->ssl, p, cap, &n);

			if (r == 1) {
				*got = n;
				return CLIENT_NET_OK;
			}
			if (ssl_wait(t, r, deadline, &ne))
				continue;
		} else {
			ssize_t n = read(t->fd, p, cap);

			if (n > 0) {
				*got = (size_t)n;
				return CLIENT_NET_OK;
			}
			if (n == 0)
				ne = CLIENT_NET_CLOSED;
			else if (errno == EAGAIN || errno == EINTR)
				ne = wait_fd(t->fd, POLLIN, deadline);
			else
				ne = errno_kind(errno);
			if (ne == CLIENT_NET_OK)
				continue;
		}
		if (ne == CLIENT_NET_TIMEOUT)
			snprintf(err, errlen, "the server sent nothing for %d s", t->timeout_ms / 1000);
		else if (ne == CLIENT_NET_CLOSED)
			snprintf(err, errlen, "the server closed the connection");
		else if (ne == CLIENT_NET_TLS)
			ssl_reason(err, errlen, "TLS error");
		else
			snprintf(err, errlen, "read error: %s", strerror(errno));
		return ne;
	}
}

enum client_net_err client_transport_write(struct client_transport *t, const char *p, size_t n,
	char *err, size_t errlen)
{
	long long deadline = now_ms() + t->timeout_ms;
	enum client_net_err ne = CLIENT_NET_OK;

	while (n > 0) {
		size_t w = 0;

		if (t->ssl) {
			int r = SSL_write_ex(t->ssl, p, n, &w);

			if (r != 1) {
				if (ssl_wait(t, r, deadline, &ne))
					continue;
				break;
			}
		} else {
			ssize_t k = send(t->fd, p, n, MSG_NOSIGNAL);

			if (k < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					if ((ne = wait_fd(t->fd, POLLOUT, deadline)) == CLIENT_NET_OK)
						continue;
				} else {
					ne = errno_kind(errno);
				}
				break;
			}
			w = (size_t)k;
		}
		p += w;
		n -= w;
	}
	if (ne == CLIENT_NET_OK)
		return CLIENT_NET_OK;
	if (ne == CLIENT_NET_TIMEOUT)
		snprintf(err, errlen, "the server took no data for %d s", t->timeout_ms / 1000);
	else if (ne == CLIENT_NET_CLOSED)
		snprintf(err, errlen, "the server closed the connection");
	else if (ne == CLIENT_NET_TLS)
		ssl_reason(err, errlen, "TLS error");
	else
		snprintf(err, errlen, "write error: %s", strerror(errno));
	return ne;
}

static void name_text(X509_NAME *name, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (!b || !name) {
		BIO_free(b);
		return;
	}
	X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(b, out, (int)cap - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

void client_transport_tls_info(struct client_transport *t, struct client_tls_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!t->ssl)
		return;
	snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(t->ssl));
	snprintf(info->cipher, sizeof(info->cipher), "%s", SSL_get_cipher_name(t->ssl));
	long vr = SSL_get_verify_result(t->ssl);

	info->verified = vr == X509_V_OK;
	snprintf(info->verify, sizeof(info->verify), "%s",
		 vr == X509_V_OK ? "ok" : X509_verify_cert_error_string(vr));
	X509 *cert = SSL_get1_peer_certificate(t->ssl);

	if (!cert)
		return;
	name_text(X509_get_subject_name(cert), info->subject, sizeof(info->subject));
	name_text(X509_get_issuer_name(cert), info->issuer, sizeof(info->issuer));
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(info->not_after, sizeof(info->not_after), "%Y-%m-%d %H:%M:%S UTC", &tm);
	X509_free(cert);
}

int client_transport_cb(struct client_transport *t, enum client_cb_type *type,
	unsigned char *out, size_t *n)
{
	if (!t->ssl)
		return -1;
	if (SSL_version(t->ssl) >= TLS1_3_VERSION) {
		/* RFC 9266 §2: label "EXPORTER-Channel-Binding", no context, 32 octets */
		static const char label[] = "EXPORTER-Channel-Binding";

		if (SSL_export_keying_material(t->ssl, out, 32, label, sizeof(label) - 1,
					       NULL, 0, 0) != 1)
			return -1;
		*type = CLIENT_CB_TLS_EXPORTER;
		*n = 32;
		return 0;
	}
	/* RFC 5929 §3.1: the first Finished message of the handshake, which is
	 * the client's own on a full handshake */
	size_t k = SSL_session_reused(t->ssl) ? SSL_get_peer_finished(t->ssl, out, 64)
					      : SSL_get_finished(t->ssl, out, 64);

	if (k == 0 || k > 64)
		return -1;
	*type = CLIENT_CB_TLS_UNIQUE;
	*n = k;
	return 0;
}
