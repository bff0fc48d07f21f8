/* Every configuration key of posternd, once: its flag, type, range, default
 * and help. The file parser, the flags, --help, posternd.conf.sample, the man
 * page and the README checks all come from this table (DESIGN.md point 5).
 *
 * To add a key: a field in struct srv_config, one entry below (a flag only
 * if people will want it on the command line; its help in N_(), translated
 * in po/th.po after po/update-pot.sh), a row in the README's key
 * table and an entry in man/posternd.conf.5 (tests check both), then
 * `build/test/posternd --print-config-sample > posternd.conf.sample`.
 * Cross-checks between keys go in srv_config_finish(). */
#include <stddef.h>
#include <string.h>

#include "queue/queue.h"
#include "queue/record.h"
#include "sasl/sasl.h"
#include "server/config.h"
#include "smtp/cmd.h"
#include "common/i18n.h" /* _() and N_(): --help speaks the user's language */

/* A queued message's envelope and the state of its recipients (a reply of
 * up to QREC_TEXT_MAX octets each) are records of at most QREC_MAX_PAYLOAD
 * octets: more recipients than this could not be queued (every try would
 * get 451) nor their state kept. Postfix's smtpd_recipient_limit is 1000. */
#define MAX_RECIPIENTS_CEILING 10000
_Static_assert((uint64_t)MAX_RECIPIENTS_CEILING * (1 + 4 + QREC_TEXT_MAX + 4 + SMTP_ADDR_MAX) +
			       QUEUE_INLINE_MAX + 4096 <= QREC_MAX_PAYLOAD,
	       "max_recipients must fit in the queue's records");

static int check_retry_schedule(const char *v, char *why, size_t whylen)
{
	struct queue_retry r = {0};
	return queue_retry_parse(&r, v, why, whylen);
}

static int check_duration(const char *v, char *why, size_t whylen)
{
	uint64_t s;
	if (queue_duration_parse(v, &s) == 0)
		return 0;
	snprintf(why, whylen, _("expected a duration: 5d, 12h, 90m, 30s"));
	return -1;
}

static int check_hostname(const char *v, char *why, size_t whylen)
{
	if (smtp_cmd_valid_helo(v, strlen(v)))
		return 0;
	snprintf(why, whylen, _("not a valid host name"));
	return -1;
}

static int check_banner(const char *v, char *why, size_t whylen)
{
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(why, whylen, _("control characters"));
			return -1;
		}
	}
	return 0;
}

/* CRAM-MD5 against cram_md5 is checked once every key is read */
static int check_mechanisms(const char *v, char *why, size_t whylen)
{
	return sasl_check_mechanisms(v, true, why, whylen);
}

#define AT(field) .offset = offsetof(struct srv_config, field), \
	.size = sizeof(((struct srv_config *)0)->field)
#define LIST_AT(field, count) .type = SRV_KEY_LIST, AT(field), \
	.count_offset = offsetof(struct srv_config, count)
#define UINT(lo, hi) .type = SRV_KEY_UINT, .min = (lo), .max = (hi)
#define BOOL .type = SRV_KEY_BOOL, .arg = "yes|no"
#define CHOICE(...) .type = SRV_KEY_CHOICE, .choices = { __VA_ARGS__ }

const struct srv_key srv_config_keys[] = {
	/* listeners and TLS */
	{ .key = "listen", .flag = "listen", .short_flag = 'l', .arg = "ADDR:PORT",
	  LIST_AT(listen[SRV_LISTEN_SMTP], nlisten[SRV_LISTEN_SMTP]),
	  .def_doc = "127.0.0.1:2525 when no listener of any kind is given",
	  .help = N_("SMTP listeners ([::1]:25 for IPv6); STARTTLS with a certificate") },
	{ .key = "listen_tls", .flag = "listen-tls", .arg = "ADDR:PORT",
	  LIST_AT(listen[SRV_LISTEN_TLS], nlisten[SRV_LISTEN_TLS]), .def_doc = "none",
	  .help = N_("implicit-TLS SMTP listeners (RFC 8314); need a certificate") },
	{ .key = "listen_submission", .flag = "listen-submission", .arg = "ADDR:PORT",
	  LIST_AT(listen[SRV_LISTEN_SUBMISSION], nlisten[SRV_LISTEN_SUBMISSION]), .def_doc = "none",
	  .help = N_("submission listeners (RFC 6409): AUTH before MAIL; need users") },
	{ .key = "listen_submissions", .flag = "listen-submissions", .arg = "ADDR:PORT",
	  LIST_AT(listen[SRV_LISTEN_SUBMISSIONS], nlisten[SRV_LISTEN_SUBMISSIONS]),
	  .def_doc = "none",
	  .help = N_("submission over implicit TLS (RFC 8314); need users and a certificate") },
	{ .key = "tls_cert", .flag = "tls-cert", .arg = "FILE", .type = SRV_KEY_STR,
	  AT(tls_cert), .def_doc = "none",
	  .help = N_("certificate chain (PEM, leaf first): enables STARTTLS") },
	{ .key = "tls_key", .flag = "tls-key", .arg = "FILE", .type = SRV_KEY_STR, AT(tls_key),
	  .def_doc = "none", .help = N_("the certificate's private key (PEM, unencrypted)") },
	{ .key = "require_tls", .flag = "require-tls", .flag_sets = "yes", BOOL,
	  AT(smtp.require_tls), .def = "no",
	  .help = N_("refuse mail commands before STARTTLS (530 5.7.0)") },
	{ .key = "tls_handshake_timeout", .arg = "S", UINT(1, 3600), AT(tls_handshake_timeout),
	  .def = "10", .help = N_("seconds a client has to finish the TLS handshake") },
	{ .key = "user", .flag = "user", .short_flag = 'u', .arg = "NAME", .type = SRV_KEY_STR,
	  AT(user), .def_doc = "none: keep the identity posternd was started with",
	  .help = N_("drop root privileges to NAME once the listeners are bound") },
	/* names and mail */
	{ .key = "hostname", .flag = "hostname", .short_flag = 'H', .arg = "NAME",
	  .type = SRV_KEY_TEXT, AT(hostname), .check = check_hostname,
	  .def_doc = "the system host name", .help = N_("our name in the greeting, EHLO and Received") },
	{ .key = "banner", .arg = "TEXT", .type = SRV_KEY_TEXT, AT(banner), .check = check_banner,
	  .def = "ESMTP postern", .help = N_("greeting text after the host name") },
	{ .key = "domains", .alias = "domain", .flag = "domain", .short_flag = 'd',
	  .arg = "DOMAIN", LIST_AT(domains, ndomains), .lower = true,
	  .def_doc = "localhost and the host name",
	  .help = N_("local domains; mail for any other gets 554 5.7.1") },
	{ .key = "recipients", .flag = "recipients", .arg = "FILE", .type = SRV_KEY_STR,
	  AT(recipients_file), .def_doc = "none: every local part of a local domain",
	  .help = N_("accept only the addresses listed in FILE (550 5.1.1)") },
	{ .key = "store", .flag = "store", CHOICE("maildir", "discard", "lmtp"), AT(store),
	  .def = "maildir",
	  .help = N_("where accepted mail goes (discard: for testing clients; lmtp: an LMTP server)") },
	{ .key = "lmtp", .flag = "lmtp", .arg = "HOST:PORT", .type = SRV_KEY_STR, AT(lmtp),
	  .def_doc = "none",
	  .help = N_("the LMTP server of store = lmtp: HOST:PORT, [IPv6]:PORT or unix:/path") },
	{ .key = "lmtp_concurrency", .arg = "N", UINT(1, 100), AT(lmtp_concurrency), .def = "20",
	  .help = N_("LMTP deliveries at once, each on its own connection, kept open between messages") },
	{ .key = "lmtp_connect_timeout", .arg = "S", UINT(1, 3600), AT(lmtp_connect_timeout),
	  .def = "30", .help = N_("seconds to wait for a connection to the LMTP server") },
	{ .key = "lmtp_timeout", .arg = "S", UINT(1, 86400), AT(lmtp_timeout), .def = "300",
	  .help = N_("seconds to wait for each reply of the LMTP server and for each write to it") },
	{ .key = "lmtp_data_done_timeout", .arg = "S", UINT(1, 86400), AT(lmtp_data_done_timeout),
	  .def = "600", .help = N_("seconds to wait for each LMTP reply to the end of a message") },
	{ .key = "maildir", .flag = "maildir", .short_flag = 'm', .arg = "DIR",
	  .type = SRV_KEY_STR, AT(maildir), .def = "/var/lib/postern/mail",
	  .help = N_("the Maildir root (created if missing)") },
	/* the queue */
	{ .key = "queue_dir", .flag = "queue-dir", .arg = "DIR", .type = SRV_KEY_STR,
	  AT(queue_dir), .def = QUEUE_DEFAULT_DIR,
	  .help = N_("the queue: accepted mail waits here until delivered (created if missing)") },
	{ .key = "queue_min_free", .arg = "N", UINT(0, UINT64_C(1) << 50), AT(queue_min_free),
	  .def = "104857600",
	  .help = N_("octets that must stay free on the queue's file system (452 4.3.1 to MAIL); 0: no check") },
	{ .key = "retry_schedule", .arg = "LIST", .type = SRV_KEY_STR, AT(retry_schedule),
	  .check = check_retry_schedule, .def = QUEUE_DEFAULT_RETRY_SCHEDULE,
	  .help = N_("delays after the 1st, 2nd... failed delivery; the last repeats") },
	{ .key = "max_queue_lifetime", .arg = "TIME", .type = SRV_KEY_STR, AT(max_queue_lifetime),
	  .check = check_duration, .def = "5d",
	  .help = N_("after this long in the queue an undelivered recipient fails (4.4.7)") },
	{ .key = "control", .flag = "control", .arg = "PATH", .type = SRV_KEY_STR, AT(control),
	  .def = "/run/postern/control.sock",
	  .help = N_("the control socket of postern queue (mode 0600)") },
	/* limits of the protocol (SPEC.md) */
	{ .key = "max_message_size", .flag = "max-message-size", .arg = "N",
	  UINT(0, UINT64_C(1) << 40), AT(smtp.max_message_size), .def = "36700160",
	  .help = N_("the SIZE limit in octets (552 5.3.4); 0: none") },
	{ .key = "max_recipients", .arg = "N", UINT(SMTP_MIN_MAX_RECIPIENTS, MAX_RECIPIENTS_CEILING),
	  AT(smtp.max_recipients), .def = "100",
	  .help = N_("recipients per message (452 4.5.3 beyond)") },
	{ .key = "max_errors", .arg = "N", UINT(1, 1000), AT(smtp.max_errors), .def = "10",
	  .help = N_("protocol errors per session before 421 4.7.0") },
	{ .key = "junk_command_limit", .arg = "N", UINT(0, 100000), AT(smtp.junk_command_limit),
	  .def = "100", .help = N_("EHLO/HELO/RSET/NOOP/VRFY/ETRN between messages before each counts as an error (0: none)") },
	{ .key = "line_limit", .arg = "N", UINT(SMTP_LINE_MIN, 65536), AT(smtp.line_limit),
	  .def = "512", .help = N_("command line limit in octets, CRLF included (500 5.5.2)") },
	{ .key = "line_endings", .flag = "line-endings", CHOICE("strict", "lenient"),
	  AT(smtp.lenient_line_endings), .def = "strict",
	  .help = N_("whether a bare LF or CR may end a command line") },
	{ .key = "bare_newline", CHOICE("normalize", "reject"), AT(smtp.bare_newline),
	  .def = "normalize", .help = N_("bare LF or CR in a message: store as CRLF, or 554 5.6.0") },
	{ .key = "text_line_limit", .arg = "N", UINT(0, 1u << 30), AT(smtp.text_line_limit),
	  .def = "0", .help = N_("refuse a message with a longer line (554 5.6.0); 0: none") },
	/* connections */
	{ .key = "max_connections", .flag = "max-connections", .arg = "N", UINT(1, 1000000),
	  AT(max_connections), .def = "1000", .help = N_("connections at once (421 4.7.0 beyond)") },
	{ .key = "max_connections_per_ip", .arg = "N", UINT(0, 1000000),
	  AT(max_connections_per_ip), .def = "50",
	  .help = N_("connections at once from one address; 0: no limit") },
	{ .key = "limit_loopback", BOOL, AT(limit_loopback), .def = "no",
	  .help = N_("apply max_connections_per_ip and auth_checks_per_client to 127.0.0.0/8 and ::1 too") },
	{ .key = "command_timeout", .flag = "command-timeout", .arg = "S", UINT(1, 86400),
	  AT(command_timeout), .def = "300", .help = N_("idle seconds before 421 4.4.2") },
	{ .key = "shutdown_timeout", .arg = "S", UINT(0, 86400), AT(shutdown_timeout),
	  .def = "30", .help = N_("seconds a session in DATA has to finish at shutdown") },
	{ .key = "workers", .flag = "workers", .short_flag = 'w', .arg = "N", UINT(0, 256),
	  AT(workers), .def = "0", .help = N_("event loops (threads); 0: one per core") },
	{ .key = "log_level", .flag = "debug", .flag_sets = "debug", CHOICE("info", "debug"),
	  AT(log_debug), .def = "info", .help = N_("log at debug level (debug) or not (info)") },
	/* SMTP AUTH (RFC 4954) */
	{ .key = "users", .flag = "users", .arg = "FILE", .type = SRV_KEY_STR, AT(users_file),
	  .def_doc = "none: AUTH is neither offered nor accepted",
	  .help = N_("the users file of SMTP AUTH") },
	{ .key = "auth_mechanisms", .arg = "LIST", .type = SRV_KEY_STR, AT(auth_mechanisms),
	  .check = check_mechanisms, .def = SASL_DEFAULT_MECHANISMS,
	  .help = N_("mechanisms in the order EHLO advertises them (504 5.5.4 to others)") },
	{ .key = "cram_md5", BOOL, AT(cram_md5), .def = "no",
	  .help = N_("allow CRAM-MD5 (the users file must then hold the password)") },
	{ .key = "auth_plaintext", .flag = "auth-plaintext", .flag_sets = "yes", BOOL,
	  AT(auth_plaintext), .def = "no", .help = N_("allow PLAIN and LOGIN without TLS") },
	{ .key = "auth_channel_binding", .flag = "auth-channel-binding", BOOL,
	  AT(auth_channel_binding), .def = "yes",
	  .help = N_("offer SCRAM-*-PLUS over TLS; no: leave them out (504 5.5.4), for clients "
		     "that pick -PLUS and cannot complete it (mutt 2.2)") },
	{ .key = "require_auth", BOOL, AT(smtp.require_auth), .def = "no",
	  .help = N_("MAIL needs AUTH first on every listener (530 5.7.0)") },
	{ .key = "max_auth_failures", .arg = "N", UINT(1, 100), AT(smtp.max_auth_failures),
	  .def = "3", .help = N_("failed or cancelled (*) AUTH per session before 421 4.7.0") },
	{ .key = "auth_delay_max", .arg = "MS", UINT(0, 60000), AT(auth_delay_max),
	  .def = "8000", .help = N_("milliseconds: the cap of the growing delay before a 535") },
	{ .key = "auth_cache_ttl", .arg = "S", UINT(0, 86400), AT(auth_cache_ttl), .def = "3600",
	  .help = N_("seconds a good PLAIN/LOGIN password is not hashed again; 0: off") },
	{ .key = "auth_checks_max", .arg = "N", UINT(1, 100000), AT(auth_checks_max), .def = "32",
	  .help = N_("password checks queued or running at once; more get 454 4.7.0") },
	{ .key = "auth_checks_per_client", .arg = "N", UINT(0, 100000), AT(auth_checks_per_client),
	  .def = "4", .help = N_("the same per client address (IPv6: its /64); 0: no limit") },
	{ .key = "auth_threads", .arg = "N", UINT(0, 256), AT(auth_threads), .def = "0",
	  .help = N_("threads that check passwords; 0: half the cores, at least 1") },
};

const size_t srv_config_nkeys = sizeof(srv_config_keys) / sizeof(srv_config_keys[0]);
