/* `postern send`: argument parsing and wiring only; the conversation is
 * client/session driven by client/send. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cli/cli_common.h"
#include "cli/postern_cmds.h"
#include "cli/tty.h"
#include "client/hostport.h"
#include "client/message.h"
#include "client/mime.h"
#include "client/mx.h"
#include "client/send.h"
#include "smtp/cmd.h"

#define MSG_MAX ((size_t)64 << 20) /* a message read from a file or stdin */
#define PASSWORD_MAX 1024
#define RCPT_MAX 1000
#define HEADER_MAX 100
#define ATTACH_MAX 100

static void usage(FILE *f)
{
	fputs(_("usage: postern send [--server HOST[:PORT] | --resolver IP[:PORT]] [--port PORT]\n"
		"                    --from ADDR --to ADDR [--to ADDR...]\n"
		"                    [--starttls | --tls] [--user USER [--auth MECH] [--password-file F]]\n"
		"                    [--subject S] [--body TEXT | --body-file F] [--header H...] [--attach F...]\n"
		"                    [--bdat] [-v [--show-data]] [--quit-after STAGE] [--timeout SEC]\n"
		"                    [--data FILE | FILE | -]\n"), f);
	fputs(_("  --server HOST[:PORT]  the server (port 25; 465 with --tls; [IPv6]:PORT); without\n"
		"                        it, the MX hosts of the first --to's domain, in order\n"
		"  --resolver IP[:PORT]  the DNS server for that MX lookup (default: the system's)\n"
		"  --port PORT           the port (default 25, or 465 with --tls)\n"
		"  --starttls            upgrade to TLS with STARTTLS before anything else\n"
		"  --tls                 implicit TLS from the first octet (RFC 8314)\n"
		"  --tls-optional        STARTTLS when the server offers it, else go on in the clear\n"
		"  --tls-version V       only TLS version V: 1.2 or 1.3 (default: 1.2 or later)\n"
		"  --sni NAME            the name to send in SNI and to check the certificate for\n"
		"  --cert F [--key F]    a client certificate (PEM), its key in F or in --key F\n"
		"  --cafile F            trust the CA certificates in F instead of the system store\n"
		"  --insecure            do not verify the certificate (also --tls-verify no)\n"), f);
	fputs(_("  --user USER           authenticate as USER; the password comes from\n"
		"                        --password-file F, else $POSTERN_PASSWORD, else a prompt\n"
		"  --auth MECH           PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256 or a -PLUS\n"
		"                        form; without it the strongest offered one is chosen, and\n"
		"                        PLAIN and LOGIN are used only under TLS\n"), f);
	fputs(_("  --from ADDR, --to ADDR  the envelope (--to is repeatable)\n"
		"  --data FILE | FILE | -  the message (RFC 5322) to send as it is; without it, one\n"
		"                        is built from --subject and --body with Date and Message-ID\n"
		"  --body-file F         the body of the built message, from a file\n"
		"  --header \"N: V\"      add (or replace) a header field of the built message\n"
		"  --attach F            attach a file (type detected, base64); repeatable\n"
		"  --bdat                send with BDAT when the server offers CHUNKING\n"
		"  --helo NAME           the name to give in EHLO (default: this host's name)\n"
		"  -v, --verbose         print the whole conversation, explained\n"
		"  --show-data           with -v, also print the message's lines\n"
		"  --protocol P          smtp (the default) or lmtp (RFC 2033: LHLO, a reply per recipient)\n"
		"  --quit-after STAGE    stop with QUIT after connect, banner, ehlo, tls, auth, mail or rcpt\n"
		"  --timeout SEC         give up on a silent server after SEC seconds (default 30)\n"
		"  --lang LANG           language of the messages: en or th\n"), f);
	fputs(_("Exit status: 0 sent; 64 usage error; 65 refused (5xx) or not possible as asked;\n"
		"66 a file cannot be read; 69 no connection, timeout or TLS failure; 70 internal\n"
		"error; 75 temporary failure (4xx): try again later; 76 the server broke the protocol.\n"), f);
}

/* ---- the password ---- */

/* --password-file, else $POSTERN_PASSWORD, else the terminal without echo. */
static int get_password(const char *file, const char *user, char *pw, size_t cap)
{
	const char *env = getenv("POSTERN_PASSWORD");
	int rc;

	if (file) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "postern send: %s: %s\n", file, strerror(errno));
			return CLIENT_EXIT_NOINPUT;
		}
		rc = cli_read_line(fd, pw, cap);
		close(fd);
		if (rc < 0) {
			fprintf(stderr, "postern send: %s: %s\n", file, _("password line too long"));
			return CLIENT_EXIT_NOINPUT;
		}
		return 0;
	}
	if (env) {
		snprintf(pw, cap, "%s", env);
		return 0;
	}
	if (cli_tty_open() != CLI_TTY_OK) {
		fprintf(stderr, "postern send: %s\n",
			_("no password: give --password-file or set POSTERN_PASSWORD (no terminal to ask on)"));
		return CLIENT_EXIT_USAGE;
	}
	rc = cli_tty_ask(pw, cap, _("Password for %s: "), user);
	cli_tty_close();
	return rc < 0 ? CLIENT_EXIT_USAGE : 0;
}

/* ---- the message ---- */

static int read_message(const char *path, struct buf *raw)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];

	if (fd < 0) {
		fprintf(stderr, "postern send: %s: %s\n", path, strerror(errno));
		return CLIENT_EXIT_NOINPUT;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "postern send: %s: %s\n", path, strerror(errno));
			break;
		}
		if (n == 0) {
			if (fd != 0)
				close(fd);
			return 0;
		}
		if (buf_append(raw, chunk, (size_t)n) != BUF_OK) {
			fprintf(stderr, "postern send: %s: %s\n", path, _("message too large (over 64 MiB)"));
			break;
		}
	}
	if (fd != 0)
		close(fd);
	return CLIENT_EXIT_NOINPUT;
}

/* RFC 5322 §3.3 date in English whatever the locale. */
static void rfc5322_date(char *out, size_t cap)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	long off = tm.tm_gmtoff / 60;

	snprintf(out, cap, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static void message_id(char *out, size_t cap, const char *helo)
{
	unsigned char r[12] = { 0 };
	char hex[25];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts, sizeof(r) < sizeof(ts) ? sizeof(r) : sizeof(ts));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(out, cap, "%s.postern@%s", hex, helo);
}

static bool valid_addr(const char *a, bool rcpt)
{
	/* the session writes "<a>": check it as the server will */
	char line[600];
	struct smtp_path path;
	struct smtp_mail_params params;
	int n = snprintf(line, sizeof(line), "%s:<%s>", rcpt ? "TO" : "FROM", a);

	if (n < 0 || (size_t)n >= sizeof(line) || strpbrk(a, "\r\n<>"))
		return false;
	if (rcpt)
		return smtp_cmd_parse_rcpt(line, (size_t)n, &path) == SMTP_PARSE_OK;
	return smtp_cmd_parse_mail(line, (size_t)n, &path, &params) == SMTP_PARSE_OK;
}

/* A repeatable option: one more value, or the option is bad past max. */
static void repeat(const char **vals, size_t *n, size_t max, const char *val, const char *opt,
	const char **bad)
{
	if (*n == max)
		*bad = *bad ? *bad : opt;
	else
		vals[(*n)++] = val;
}

int postern_send_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "starttls", no_argument, NULL, 'S' },
		{ "tls", no_argument, NULL, 'T' },
		{ "auth", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "subject", required_argument, NULL, 'j' },
		{ "body", required_argument, NULL, 'b' },
		{ "bdat", no_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "header", required_argument, NULL, 'e' },
		{ "attach", required_argument, NULL, 'A' },
		{ "data", required_argument, NULL, 'd' },
		{ "body-file", required_argument, NULL, 'F' },
		{ "quit-after", required_argument, NULL, 'q' },
		{ "tls-optional", no_argument, NULL, 'O' },
		{ "tls-version", required_argument, NULL, 'P' },
		{ "sni", required_argument, NULL, 'n' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "show-data", no_argument, NULL, 'D' },
		{ "resolver", required_argument, NULL, 'R' },
		{ "port", required_argument, NULL, 'N' },
		{ "protocol", required_argument, NULL, 'L' },
		CLI_NET_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *auth = NULL, *user = NULL, *pwfile = NULL, *from = NULL;
	const char *subject = NULL, *body = NULL, *chosen;
	static const char *rcpts[RCPT_MAX], *headers[HEADER_MAX], *attach[ATTACH_MAX];
	size_t nrcpts = 0, nheaders = 0, nattach = 0;
	const char *data = NULL, *body_file = NULL, *quit_after = NULL, *tls_version = NULL;
	const char *sni = NULL, *cert = NULL, *key = NULL, *resolver = NULL, *port_opt = NULL;
	const char *protocol = NULL;
	bool starttls = false, tls = false, bdat = false, verbose = false, tls_optional = false;
	bool show_data = false;
	struct cli_net_opts net = CLI_NET_OPTS_INIT;
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":hv", opts, NULL)) != -1) {
		switch (ch) {
		case 's': server = optarg; break;
		case 'S': starttls = true; break;
		case 'T': tls = true; break;
		case 'a': auth = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'f': from = optarg; break;
		case 't': repeat(rcpts, &nrcpts, RCPT_MAX, optarg, "--to", &net.bad); break;
		case 'j': subject = optarg; break;
		case 'b': body = optarg; break;
		case 'B': bdat = true; break;
		case 'v': verbose = true; break;
		case 'e': repeat(headers, &nheaders, HEADER_MAX, optarg, "--header", &net.bad); break;
		case 'A': repeat(attach, &nattach, ATTACH_MAX, optarg, "--attach", &net.bad); break;
		case 'd': data = optarg; break;
		case 'F': body_file = optarg; break;
		case 'q': quit_after = optarg; break;
		case 'O': tls_optional = true; break;
		case 'P': tls_version = optarg; break;
		case 'n': sni = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'D': show_data = true; break;
		case 'R': resolver = optarg; break;
		case 'N': port_opt = optarg; break;
		case 'L': protocol = optarg; break;
		default: cli_net_option(&net, ch, optarg, argv[optind - 1]); break;
		}
	}
	int done = cli_options_done("postern send", net.lang, &chosen, net.help, net.bad, usage,
				    CLIENT_EXIT_USAGE);

	if (done >= 0)
		return done;
	const char *file = data ? data : optind < argc ? argv[optind] : NULL;
	const char *problem = NULL;
	int qa = quit_after ? client_quit_after_by_name(quit_after) : CLIENT_QUIT_AFTER_NONE;
	int version = 0;

	if (tls_version && strcmp(tls_version, "1.2") == 0)
		version = TLS1_2_VERSION;
	else if (tls_version && strcmp(tls_version, "1.3") == 0)
		version = TLS1_3_VERSION;
	const char *helo = net.helo;
	char host[256], port[8], helo_buf[256];
	enum client_mech mech = CLIENT_MECH_NONE;

	if (!from || nrcpts == 0)
		problem = _("--from and at least one --to are required");
	else if (protocol && strcasecmp(protocol, "smtp") != 0 && strcasecmp(protocol, "lmtp") != 0)
		problem = _("--protocol wants smtp or lmtp");
	else if (server && resolver)
		problem = _("--resolver is for the MX lookup without --server");
	else if (port_opt && (strspn(port_opt, "0123456789") != strlen(port_opt) || !port_opt[0] ||
			      atol(port_opt) < 1 || atol(port_opt) > 65535 || strlen(port_opt) > 5))
		problem = _("--port wants a number from 1 to 65535");
	else if (starttls + tls + tls_optional > 1)
		problem = _("--starttls, --tls and --tls-optional do not go together");
	else if (optind + 1 < argc || (data && optind < argc))
		problem = _("give at most one message FILE");
	else if (file && (subject || body || body_file || nheaders || nattach))
		problem = _("--subject, --body, --body-file, --header and --attach build a message; they do not go with FILE or --data");
	else if (body && body_file)
		problem = _("--body and --body-file do not go together");
	else if (qa < 0)
		problem = _("--quit-after wants connect, banner, ehlo, tls, auth, mail or rcpt");
	else if (tls_version && !version)
		problem = _("--tls-version wants 1.2 or 1.3");
	else if (key && !cert)
		problem = _("--key goes with --cert");
	else if (show_data && !verbose)
		problem = _("--show-data goes with -v");
	else if (server && client_hostport_split(server, host, sizeof(host), port, sizeof(port),
						  port_opt ? port_opt : tls ? "465" : "25") != 0)
		problem = _("--server wants HOST or HOST:PORT (or [IPv6]:PORT)");
	else if (auth && (mech = client_mech_by_name(auth)) == CLIENT_MECH_NONE)
		problem = _("--auth: unknown mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-256-PLUS)");
	else if (auth && !user)
		problem = _("--auth needs --user");
	else if (helo && !smtp_cmd_valid_helo(helo, strlen(helo)))
		problem = _("--helo wants a domain name or an address literal");
	if (!problem && !valid_addr(from, false))
		problem = _("--from is not a valid address");
	for (size_t i = 0; !problem && i < nrcpts; i++)
		if (!valid_addr(rcpts[i], true))
			problem = _("a --to is not a valid address");
	for (size_t i = 0; !problem && i < nheaders; i++)
		if (!client_mime_header_ok(headers[i]))
			problem = _("--header wants \"Name: value\" on one line");
	if (problem) {
		fprintf(stderr, "postern send: %s\n", problem);
		if (!from || nrcpts == 0)
			usage(stderr);
		return CLIENT_EXIT_USAGE;
	}
	if (!server) {
		host[0] = '\0'; /* each MX host in turn, below */
		snprintf(port, sizeof(port), "%s", port_opt ? port_opt : tls ? "465" : "25");
	}
	if (!helo) {
		cli_helo_name(helo_buf, sizeof(helo_buf));
		helo = helo_buf;
	}

	struct buf raw, msg;
	char password[PASSWORD_MAX] = "";
	int rc = 0;

	buf_init(&raw, MSG_MAX);
	buf_init(&msg, MSG_MAX + MSG_MAX / 2);
	if (file) {
		rc = read_message(file, &raw);
		if (rc == 0 && client_msg_normalize(&msg, raw.data, raw.len) != BUF_OK) {
			fprintf(stderr, "postern send: %s\n", _("message too large (over 64 MiB)"));
			rc = CLIENT_EXIT_NOINPUT;
		}
	} else {
		char date[64], mid[400];

		if (body_file) {
			/* the body text, as a C string for the builders */
			rc = read_message(body_file, &raw);
			if (rc == 0 && (buf_append(&raw, "", 1) != BUF_OK || memchr(raw.data, '\0', raw.len - 1))) {
				fprintf(stderr, "postern send: %s: %s\n", body_file, _("not a text file"));
				rc = CLIENT_EXIT_NOINPUT;
			}
			body = rc == 0 ? raw.data : NULL;
		}
		struct client_msg_fields f = { from, rcpts, nrcpts, subject, body, date, mid };
		char err[512];

		rfc5322_date(date, sizeof(date));
		message_id(mid, sizeof(mid), helo);
		if (rc != 0) {
			;
		} else if (nheaders || nattach) {
			if (client_mime_build(&msg, &f, headers, nheaders, attach, nattach, err, sizeof(err)) != 0) {
				fprintf(stderr, "postern send: %s\n", err);
				rc = CLIENT_EXIT_NOINPUT;
			}
		} else if (client_msg_build(&msg, &f) != BUF_OK) {
			fprintf(stderr, "postern send: %s\n", _("out of memory"));
			rc = CLIENT_EXIT_SOFTWARE;
		}
	}
	buf_fini(&raw);
	if (rc == 0 && user)
		rc = get_password(pwfile, user, password, sizeof(password));
	if (rc == 0) {
		struct client_send_opts o = {
			.host = host, .port = port,
			.tls = tls ? CLIENT_TLS_IMPLICIT : starttls ? CLIENT_TLS_STARTTLS
			     : tls_optional ? CLIENT_TLS_OPTIONAL : CLIENT_TLS_NONE,
			.sni = sni, .tls_version = version, .cert = cert, .key = key,
			.show_data = show_data, .quit_after = (enum client_quit_after)qa,
			.lmtp = protocol && strcasecmp(protocol, "lmtp") == 0,
			.verify = net.verify, .cafile = net.cafile,
			.user = user, .password = password, .mech = mech,
			.helo = helo, .from = from, .rcpts = rcpts, .nrcpts = nrcpts,
			.msg = msg.data ? msg.data : "", .msg_len = msg.len,
			.bdat = bdat, .verbose = verbose, .timeout_ms = (int)net.timeout * 1000,
			.tr = postern_translating() ? postern_tr : NULL,
			.out = stdout, .err = stderr,
		};

		signal(SIGPIPE, SIG_IGN);
		if (server) {
			rc = client_send(&o);
		} else {
			/* RFC 5321 5.1: the exchangers in preference order, the next
			 * one only when this one cannot be reached */
			static struct client_mx mx[CLIENT_MX_MAX];
			const char *at = strrchr(rcpts[0], '@');
			size_t nmx = 0;
			char err[512];

			if (!at || client_mx_lookup(at + 1, resolver, (int)net.timeout * 1000, mx, &nmx,
						    err, sizeof(err)) != 0) {
				fprintf(stderr, "postern send: %s\n", at ? err : _("a --to is not a valid address"));
				rc = CLIENT_EXIT_UNAVAILABLE;
			}
			for (size_t i = 0; i < nmx; i++) {
				if (verbose)
					fprintf(stdout, _("-- MX of %s: %s (%s), preference %d\n"), at + 1,
						mx[i].name, mx[i].addr, mx[i].preference);
				o.host = mx[i].addr;
				o.sni = sni ? sni : mx[i].name;
				rc = client_send(&o);
				if (rc != CLIENT_EXIT_UNAVAILABLE)
					break;
			}
		}
	}
	explicit_bzero(password, sizeof(password));
	buf_fini(&msg);
	return rc;
}
