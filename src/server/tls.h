/* server/tls: TLS as a pure byte transform over OpenSSL memory BIOs.
 *
 * No sockets here. The connection feeds ciphertext from the socket in,
 * reads plaintext out for the SMTP session, writes plaintext replies in and
 * sends whatever ciphertext is pending out. The handshake runs inside
 * srv_tls_read. After every srv_tls_feed / srv_tls_read / srv_tls_write /
 * srv_tls_shutdown call, send srv_tls_pending_out: the handshake, session
 * tickets and alerts all travel that way.
 *
 *   on socket bytes:  srv_tls_feed(t, buf, n);
 *                     while (srv_tls_read(t, p, cap, &n) == SRV_TLS_OK) session(p, n);
 *                     (WANT_MORE: wait for the socket; CLOSED/ERROR: log, flush, close)
 *   on socket EOF:    srv_tls_feed_eof(t), then srv_tls_read as above
 *   on a reply:       srv_tls_write(t, reply, len)
 *   then always:      srv_tls_pending_out(t, &p, &n); send; srv_tls_consume_out(t, sent)
 *
 * Nothing here aborts or exits on an OpenSSL error. The OpenSSL error queue
 * (one per thread) is cleared before and after every call, so one
 * connection's error never shows up in another's.
 *
 * A struct srv_tls is used by one thread at a time; a struct srv_tls_ctx is
 * shared by all loops (OpenSSL's SSL_CTX is thread-safe for this use). */
#ifndef POSTERN_SERVER_TLS_H
#define POSTERN_SERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>

enum srv_tls_status {
	SRV_TLS_OK = 0,        /* progress: *n plaintext octets returned / input queued */
	SRV_TLS_WANT_MORE = 1, /* nothing more until more ciphertext arrives */
	SRV_TLS_CLOSED = 2,    /* peer closed: close_notify, or EOF after the handshake */
	SRV_TLS_ERROR = -1,    /* fatal; srv_tls_error says why; sticky */
};

/* Unprocessed ciphertext a connection may hold (srv_tls_feed refuses more).
 * Stop reading the socket while the session is paused; this is the backstop. */
#define SRV_TLS_IN_MAX (256 * 1024)
/* Plaintext srv_tls_write may queue before the handshake has finished. */
#define SRV_TLS_EARLY_MAX (16 * 1024)
/* Largest channel binding srv_tls_channel_binding returns (tls-exporter: 32,
 * tls-unique: 12 in TLS 1.2). */
#define SRV_TLS_CB_MAX 64
/* Room for srv_tls_format_received. */
#define SRV_TLS_INFO_MAX 128

/* ---- server context: certificate, key, protocol policy ---------------------
 * TLS 1.2 minimum (1.3 preferred), ECDHE + AEAD ciphers only for 1.2,
 * session cache and tickets, no renegotiation, no compression, a peer closing
 * without close_notify is a plain close, ALPACA defence (a client asking for
 * HTTP by ALPN is refused). Encrypted private keys are refused, never
 * prompted for.
 *
 * Reference counted: srv_tls_new takes a reference, srv_tls_free drops it,
 * so on SIGHUP the owner builds a new context, swaps its pointer, and drops
 * its reference to the old one with srv_tls_ctx_free (or _unref); sessions
 * still using the old one keep it alive. Ref and unref are atomic. */
struct srv_tls_ctx;

/* NULL on failure with a one-line reason in err naming the file, e.g.
 * "certificate file /etc/x.pem: No such file or directory". */
struct srv_tls_ctx *srv_tls_ctx_new(const char *cert_file, const char *key_file, char *err,
				    size_t errlen);
struct srv_tls_ctx *srv_tls_ctx_ref(struct srv_tls_ctx *ctx);
void srv_tls_ctx_unref(struct srv_tls_ctx *ctx);
/* Drops the creator's reference: the same as srv_tls_ctx_unref. NULL is a no-op. */
void srv_tls_ctx_free(struct srv_tls_ctx *ctx);
/* On reload: give the new context the old one's session ticket keys, so
 * clients holding tickets still resume after a SIGHUP. 0 on success. */
int srv_tls_ctx_inherit_tickets(struct srv_tls_ctx *dst, const struct srv_tls_ctx *src);

/* ---- one connection ---------------------------------------------------- */
struct srv_tls;

/* Server side, waiting for a ClientHello. NULL on allocation failure. */
struct srv_tls *srv_tls_new(struct srv_tls_ctx *ctx);
void srv_tls_free(struct srv_tls *t);

/* Queue ciphertext received from the socket. OK, or ERROR when more than
 * SRV_TLS_IN_MAX octets would be waiting, after EOF, or after an error. */
int srv_tls_feed(struct srv_tls *t, const void *cipher, size_t len);
/* The socket reached EOF: once the queued ciphertext is used up, srv_tls_read
 * returns CLOSED (after the handshake, even without close_notify) or ERROR
 * (during the handshake: "peer closed connection during handshake"). */
void srv_tls_feed_eof(struct srv_tls *t);

/* Advance the handshake only, with the ciphertext queued so far: OK once it
 * is done (then at once), WANT_MORE, or ERROR. The costly step of a
 * connection (the server's key exchange and signature), so it may run on a
 * worker thread: a struct srv_tls is used by one thread at a time. Plaintext
 * that came with the client's last flight waits for srv_tls_read. */
int srv_tls_handshake(struct srv_tls *t);

/* Advance the handshake and return plaintext. cap must be > 0. *n is set
 * (0 unless OK). Call until it stops returning OK: OpenSSL may hold more
 * plaintext than one call returns. */
int srv_tls_read(struct srv_tls *t, void *plain, size_t cap, size_t *n);

/* Encrypt len octets of plaintext into the output; takes all of it (the
 * output grows). Before the handshake has finished the plaintext is held
 * (up to SRV_TLS_EARLY_MAX) and encrypted as soon as it finishes. */
int srv_tls_write(struct srv_tls *t, const void *plain, size_t len);

/* Send close_notify (it appears in the pending output). Afterwards writes
 * fail. OK, or ERROR when the connection has already failed. */
int srv_tls_shutdown(struct srv_tls *t);

/* Ciphertext waiting for the socket, without copying. *len is 0 when
 * nothing waits. *ptr stays valid and unchanged until srv_tls_read,
 * srv_tls_write, srv_tls_shutdown or srv_tls_free on t (srv_tls_feed and
 * srv_tls_feed_eof never touch the output; consuming only part of it keeps
 * the rest in place). Those calls append to the output and may move it, so
 * a connection that hands *ptr to an asynchronous write (uv_write) must not
 * make them until the write completes, or must copy first (uv_try_write,
 * then copy what is left). */
void srv_tls_pending_out(struct srv_tls *t, const void **ptr, size_t *len);
/* n octets of the pending output were sent (n is clamped to what is pending). */
void srv_tls_consume_out(struct srv_tls *t, size_t n);

bool srv_tls_handshake_done(const struct srv_tls *t);
bool srv_tls_session_reused(const struct srv_tls *t);

/* Why the last ERROR happened, short, for a log line ("wrong version
 * number", "unsupported protocol", "http request", ...). "" if none. */
const char *srv_tls_error(const struct srv_tls *t);

/* After the handshake: "TLSv1.3" / "TLSv1.2", and the OpenSSL cipher name
 * ("TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"). NULL before. */
const char *srv_tls_version(const struct srv_tls *t);
const char *srv_tls_cipher(const struct srv_tls *t);

/* The Received header comment (Postfix style), without parentheses:
 * "using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)".
 * Returns its length, or -1 before the handshake or when cap is too small
 * (SRV_TLS_INFO_MAX always suffices); out is always NUL-terminated if cap > 0. */
int srv_tls_format_received(const struct srv_tls *t, char *out, size_t cap);

/* Channel binding data for SCRAM-*-PLUS, after the handshake.
 * kind "tls-exporter" (RFC 9266): 32 octets of keying material exported with
 *   label "EXPORTER-Channel-Binding" and an empty context; TLS 1.3 only.
 * kind "tls-unique" (RFC 5929 §3.1): the first Finished message of the
 *   handshake (the client's on a full handshake, ours on a resumed one);
 *   TLS 1.2 only, and only with the extended master secret (RFC 7627), since
 *   without it a resumed session lets a man in the middle share the value
 *   (triple handshake attack).
 * 0 with *len set, or -1 (unknown kind, wrong TLS version, no handshake yet,
 * cap too small). */
int srv_tls_channel_binding(struct srv_tls *t, const char *kind, unsigned char *out, size_t cap,
			    size_t *len);

#endif
