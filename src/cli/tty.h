/* Reading a password: one line from a file descriptor, or from the
 * controlling terminal with its echo off. Used by `postern send` and
 * `postern passwd`. */
#ifndef POSTERN_CLI_TTY_H
#define POSTERN_CLI_TTY_H

#include <stddef.h>

/* One line from fd into buf, without its LF or CRLF; a last line without
 * LF counts. 1 a line (maybe empty), 0 end of input or a read error before
 * any octet, -1 longer than cap - 1 octets (buf is then wiped). */
int cli_read_line(int fd, char *buf, size_t cap);

enum cli_tty_status {
	CLI_TTY_OK = 0,
	CLI_TTY_NONE,    /* no controlling terminal (/dev/tty will not open) */
	CLI_TTY_GETATTR, /* its settings cannot be read; errno says why */
	CLI_TTY_SETATTR, /* its echo cannot be turned off; errno says why */
};

/* Open /dev/tty and turn its echo off until cli_tty_close; SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT restore it before they end the process.
 * On failure nothing stays open or changed. */
enum cli_tty_status cli_tty_open(void);
/* Write the prompt (a printf format) to the open terminal, read one line
 * without echo, then end the line on the screen. Returns as cli_read_line. */
int cli_tty_ask(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Restore the terminal, close it and give the signals back their defaults. */
void cli_tty_close(void);

#endif
