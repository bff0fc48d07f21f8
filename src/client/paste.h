/* What a user pastes into `postern explain -`: a `postern send -v` or swaks
 * transcript, a raw S:/C: dialogue, Postfix log lines ("said: 550 ..."),
 * bounce text, or codes one per line. Every reply found goes through the
 * client's reply parser (client/reply_parse), so continuation lines make
 * one reply as they do on the wire. Pure and bounded. */
#ifndef POSTERN_CLIENT_PASTE_H
#define POSTERN_CLIENT_PASTE_H

#include <stddef.h>

#include "client/explain.h"

/* Most input one scan reads (a long transcript fits many times). */
#define CLIENT_PASTE_MAX (1024u * 1024)

/* Called with each reply or code found, in order; a non-zero return stops
 * the scan and is returned by it. */
typedef int (*client_paste_fn)(void *arg, const struct client_explain_code *code);

/* Scan in[0..n) line by line. Returns 0, or what fn returned to stop;
 * *found counts the codes passed to fn. */
int client_paste_scan(const char *in, size_t n, client_paste_fn fn, void *arg, size_t *found);

#endif
