/* Trace fields prepended to a stored message (RFC 5321 §4.4): Return-Path
 * and Received. Pure: the time is passed in. */
#ifndef POSTERN_SMTP_TRACE_H
#define POSTERN_SMTP_TRACE_H

#include <stdint.h>
#include <time.h>

#include "common/buf.h"

struct smtp_trace {
	const char *return_path; /* envelope sender without brackets; "" for <>; NULL: no Return-Path */
	const char *helo;        /* what the client said in EHLO/HELO */
	const char *client_addr; /* numeric address, e.g. "127.0.0.1" or "::1" */
	const char *by;          /* our host name */
	const char *protocol;    /* RFC 3848 "with": ESMTP, ESMTPSA, UTF8SMTP... */
	const char *queue_id;
	const char *for_addr;    /* the recipient when there is exactly one, else NULL */
	const char *tls;         /* "TLSv1.3 cipher TLS_AES_256_GCM_SHA384", or NULL */
	time_t when;
	int utc_offset_min;      /* local offset from UTC in minutes */
};

/* Append "Return-Path: <...>\r\nReceived: ...\r\n" (no Return-Path when
 * return_path is NULL: an LMTP server behind us is the final delivery and
 * adds it, RFC 5321 §4.4). */
int smtp_trace_format(struct buf *out, const struct smtp_trace *t);
/* Append the Return-Path line alone (sender without brackets, "" for <>):
 * the queue adds it when it delivers to a final store. */
int smtp_trace_return_path(struct buf *out, const char *sender);
/* RFC 5322 §3.3 date-time, e.g. "Sat, 28 Nov 2026 17:42:33 +0000". */
int smtp_trace_date(struct buf *out, time_t when, int utc_offset_min);

#endif
