/* Reading a password from a file descriptor or, with echo off, from the
 * controlling terminal. The saved settings are process-global so that a
 * signal handler can put the terminal back before the process dies. */
#include "cli/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_changed;

int cli_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	bool any = false;

	if (cap == 0)
		return -1;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		any = true;
		if (ch == '\n')
			break;
		if (n + 1 >= cap) {
			explicit_bzero(buf, cap);
			return -1;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return any ? 1 : 0;
}

static void tty_restore(void)
{
	if (tty_changed) {
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
		tty_changed = 0;
	}
}

static void on_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void tty_signals_to(void (*handler)(int))
{
	for (size_t i = 0; i < sizeof(tty_signals) / sizeof(tty_signals[0]); i++)
		signal(tty_signals[i], handler);
}

enum cli_tty_status cli_tty_open(void)
{
	struct termios quiet;
	int e;

	tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty_fd < 0)
		return CLI_TTY_NONE;
	if (tcgetattr(tty_fd, &tty_saved) != 0) {
		e = errno;
		close(tty_fd);
		tty_fd = -1;
		errno = e;
		return CLI_TTY_GETATTR;
	}
	quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tty_signals_to(on_signal);
	tty_changed = 1;
	if (tcsetattr(tty_fd, TCSAFLUSH, &quiet) != 0) {
		e = errno;
		tty_changed = 0;
		cli_tty_close();
		errno = e;
		return CLI_TTY_SETATTR;
	}
	return CLI_TTY_OK;
}

int cli_tty_ask(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int rc;

	/* a terminal that takes no prompt gives no line either: read tells */
	va_start(ap, fmt);
	vdprintf(tty_fd, fmt, ap);
	va_end(ap);
	rc = cli_read_line(tty_fd, buf, cap);
	/* the Enter was not echoed: end the prompt's line ourselves */
	dprintf(tty_fd, "\n");
	return rc;
}

void cli_tty_close(void)
{
	if (tty_fd < 0)
		return;
	tty_restore();
	close(tty_fd);
	tty_fd = -1;
	tty_signals_to(SIG_DFL);
}
