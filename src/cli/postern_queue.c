/* `postern queue`: postqueue/postsuper's jobs against a running posternd,
 * over its control socket (server/control.c). Wiring only: the commands
 * are answered by queue/control.c; this sends one line and prints the
 * answer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/postern_cmds.h"
#include "common/escape.h"

#define QUEUE_DEFAULT_CONTROL "/run/postern/control.sock"
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69

/* What the server sends comes from mail (senders, headers): control octets
 * (C0, DEL and the C1 controls U+0080..U+009F) and octets that are not
 * UTF-8 are shown as \xNN, so a message cannot drive the operator's
 * terminal; CRLF ends a line as LF does. The answer comes in pieces: a
 * UTF-8 sequence cut between two waits in pend for the rest. */
struct safe_out {
	bool cr; /* a CR was the last octet: shown once the next one says */
	unsigned char pend[4];
	size_t npend;
};

/* Show what pend holds; at the end (last) nothing more will come. */
static void put_pending(FILE *f, struct safe_out *so, bool last)
{
	while (so->npend) {
		size_t k = esc_printable_utf8_len(so->pend, so->npend);
		if (k == 0 && !last && esc_utf8_unfinished(so->pend, so->npend))
			return;
		if (k)
			fwrite(so->pend, 1, k, f);
		else
			fprintf(f, "\\x%02x", so->pend[0]);
		k = k ? k : 1;
		so->npend -= k;
		memmove(so->pend, so->pend + k, so->npend);
	}
}

static void put_safe(FILE *f, struct safe_out *so, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (so->cr && ch != '\n')
			fputs("\\x0d", f);
		so->cr = ch == '\r';
		if (ch >= 0x80) { /* pend never stays full: 4 octets are whole or wrong */
			so->pend[so->npend++] = ch;
			put_pending(f, so, false);
			continue;
		}
		put_pending(f, so, true);
		if (ch == '\r')
			continue;
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

static void usage(FILE *f)
{
	fputs("usage: postern queue [--control PATH] COMMAND\n"
	      "  list          every message: id, size, age, state, sender, recipients,\n"
	      "                last error (state: queued, active, deferred, held, failed)\n"
	      "  show ID       the envelope, each recipient's state, and the headers\n"
	      "  retry [ID]    try a deferred message (or all of them) now\n"
	      "  hold ID       keep a message from delivery until release\n"
	      "  release ID    deliver a held message again\n"
	      "  delete ID     remove a message from the queue\n"
	      "  --control PATH  posternd's control socket (default " QUEUE_DEFAULT_CONTROL ")\n"
	      "Exit status: 0 done; 1 refused (no such message...); 64 usage error;\n"
	      "69 posternd is not reachable on the control socket.\n",
	      f);
}

/* The command line to send, checked here for a helpful usage error. */
static int build_line(int argc, char **argv, char *line, size_t linelen)
{
	static const struct {
		const char *verb;
		int min, max; /* arguments */
	} verbs[] = {{"list", 0, 0}, {"show", 1, 1}, {"retry", 0, 1},
		     {"hold", 1, 1}, {"release", 1, 1}, {"delete", 1, 1}};
	if (argc < 1)
		return -1;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[0], verbs[i].verb) != 0)
			continue;
		int nargs = argc - 1;
		if (nargs < verbs[i].min || nargs > verbs[i].max)
			return -1;
		int r = snprintf(line, linelen, "%s%s%s\n", argv[0], nargs ? " " : "",
				 nargs ? argv[1] : "");
		/* an empty id ("retry \"$ID\"" with ID unset) is no id: not the
		 * whole queue */
		if (r < 0 || (size_t)r >= linelen ||
		    (nargs && (!argv[1][0] || strpbrk(argv[1], " \r\n"))))
			return -1;
		return 0;
	}
	return -1;
}

int postern_queue_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"control", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *control = QUEUE_DEFAULT_CONTROL;
	int ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': control = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	char line[300];
	if (build_line(argc - optind, argv + optind, line, sizeof(line)) != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(control) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "postern queue: --control %s: path too long\n", control);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, control, strlen(control) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "postern queue: %s: %s (is posternd running? --control PATH)\n",
			control, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_UNAVAILABLE;
	}
	size_t n = strlen(line);
	if (write(fd, line, n) != (ssize_t)n) {
		fprintf(stderr, "postern queue: %s: %s\n", control, strerror(errno));
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	/* the answer: "ok..." or "error: ...", then lines; echo as it comes */
	char buf[65536];
	size_t have = 0;
	ssize_t r;
	bool first = true, ok = false, cut = false;
	struct safe_out so = {false};
	while ((r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)r;
		const char *p = buf;
		size_t len = have;
		if (first) {
			/* the status line decides: read until it is whole */
			const char *nl = memchr(buf, '\n', have);
			if (!nl && have < sizeof(buf))
				continue;
			first = false;
			ok = have >= 2 && memcmp(buf, "ok", 2) == 0;
			size_t skip = nl ? (size_t)(nl - buf) + 1 : have;
			cut = ok && memmem(buf, skip, " shown=", 7) != NULL;
			if (!ok) {
				fputs("postern queue: ", stderr);
				put_safe(stderr, &so, buf, have);
				have = 0;
				continue;
			}
			/* the status line is for us; what follows is for the reader */
			if (strcmp(argv[optind], "list") == 0 || skip == have)
				fwrite(buf, 1, skip, stdout); /* "ok messages=N" says how many */
			p += skip;
			len -= skip;
		}
		put_safe(ok ? stdout : stderr, &so, p, len);
		have = 0;
	}
	if (first && have > 0) { /* an answer without a line end */
		first = false;
		ok = have >= 2 && memcmp(buf, "ok", 2) == 0;
		fputs(ok ? "" : "postern queue: ", ok ? stdout : stderr);
		put_safe(ok ? stdout : stderr, &so, buf, have);
	}
	put_pending(ok ? stdout : stderr, &so, true);
	if (cut) {
		fprintf(stderr, "postern queue: the list is cut short (the answer has a size "
			"limit): see \"shown=\" above\n");
		ok = false;
	}
	close(fd);
	if (first) {
		fprintf(stderr, "postern queue: %s: no answer\n", control);
		return EXIT_UNAVAILABLE;
	}
	return ok ? 0 : 1;
}
