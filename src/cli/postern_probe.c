/* `postern probe HOST[:PORT]`: argument parsing and wiring only; the
 * report is built by client/probe. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli/cli_common.h"
#include "cli/postern_cmds.h"
#include "client/hostport.h"
#include "client/probe.h"
#include "client/send.h"

static void usage(FILE *f)
{
	fputs(_("usage: postern probe HOST[:PORT] [--tls] [--cafile F] [--insecure] [--json]\n"
		"                     [--timeout SEC] [--helo NAME] [--lang LANG]\n"), f);
	fputs(_("  Reports the banner, the EHLO keywords and what they mean, STARTTLS and the\n"
		"  TLS session (version, cipher, certificate), AUTH before and after TLS, SIZE,\n"
		"  and checks: 500 to an unknown command, 500 to a 513-octet line, PIPELINING,\n"
		"  no reply inside TLS to a command sent before it, <LF>.<LF> not ending DATA.\n"
		"  The last check sends a short message to <postmaster>.\n"), f);
	fputs(_("  --tls         implicit TLS (port 465 by default; else 25)\n"
		"  --cafile F    trust the CA certificates in F\n"
		"  --insecure    do not verify the certificate (it is still reported)\n"
		"  --json        one JSON object instead of text\n"
		"  --timeout SEC give up on a silent server after SEC seconds (default 30)\n"), f);
	fputs(_("Exit status: 0 every check passed or was skipped; 1 a check failed; 64 usage\n"
		"error; 65 the server refused the greeting or EHLO; 69 no connection, timeout or\n"
		"TLS failure; 76 the server broke the protocol.\n"), f);
}

int postern_probe_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tls", no_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		CLI_NET_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *chosen;
	bool tls = false, json = false;
	struct cli_net_opts net = CLI_NET_OPTS_INIT;
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'T': tls = true; break;
		case 'j': json = true; break;
		default: cli_net_option(&net, ch, optarg, argv[optind - 1]); break;
		}
	}
	int done = cli_options_done("postern probe", net.lang, &chosen, net.help, net.bad, usage,
				    CLIENT_EXIT_USAGE);

	if (done >= 0)
		return done;
	char host[256], port[8], helo_buf[256];

	if (optind + 1 != argc) {
		usage(stderr);
		return CLIENT_EXIT_USAGE;
	}
	if (client_hostport_split(argv[optind], host, sizeof(host), port, sizeof(port),
				   tls ? "465" : "25") != 0) {
		fprintf(stderr, "postern probe: %s\n", _("wants HOST or HOST:PORT (or [IPv6]:PORT)"));
		return CLIENT_EXIT_USAGE;
	}
	const char *helo = net.helo;

	if (!helo) {
		cli_helo_name(helo_buf, sizeof(helo_buf));
		helo = helo_buf;
	}
	struct client_probe_opts o = {
		.host = host, .port = port, .tls = tls, .verify = net.verify, .cafile = net.cafile,
		.helo = helo, .timeout_ms = (int)net.timeout * 1000, .json = json,
		.tr = postern_translating() ? postern_tr : NULL,
		.out = stdout, .err = stderr,
	};

	signal(SIGPIPE, SIG_IGN);
	return client_probe(&o);
}
