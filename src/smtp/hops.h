/* Mail loop detection (RFC 5321 §6.3): count the Received header fields
 * of a message's header section while its content streams by, so that a
 * message that went round too often is refused (docs/SPEC.md §6). Pure.
 *
 * A field counts when its line starts with "Received" (any case), then
 * optional blanks (RFC 5322 §4.5's obsolete form) and ":". The header
 * section ends at the first empty line; a bare LF ends a line as CRLF
 * does, and a CR is not counted as content. Any split of the input gives
 * the same count. */
#ifndef POSTERN_SMTP_HOPS_H
#define POSTERN_SMTP_HOPS_H

#include <stdbool.h>
#include <stddef.h>

/* More than this many Received fields: 554 5.4.6 (Postfix's hopcount_limit
 * is 50, counting Delivered-To too; sendmail's MaxHopCount is 25; RFC 5321
 * asks for at least 100 before a loop is assumed). */
#define SMTP_HOP_LIMIT 100

struct smtp_hops {
	unsigned count; /* Received fields seen so far (stops at UINT_MAX) */
	bool body;      /* past the header section: nothing more is looked at */
	size_t col;     /* octets on the current line, CRs not counted */
	unsigned match; /* octets of the field name matched on this line */
};

void smtp_hops_init(struct smtp_hops *h);
void smtp_hops_feed(struct smtp_hops *h, const char *p, size_t n);

#endif
