/* A message with attachments or extra header fields, built by GMime 3
 * (MIME by a well-kept library, never by hand): multipart/mixed with the
 * text as its first part and each file base64-encoded with its detected
 * type (GLib's shared-mime-info lookup) and its name. */
#ifndef POSTERN_CLIENT_MIME_H
#define POSTERN_CLIENT_MIME_H

#include <stddef.h>

#include "client/message.h"
#include "common/buf.h"

/* Whether "Name: value" is one header field we may add: a field name of
 * printable ASCII without ':' (RFC 5322 3.6.8), no CR or LF anywhere. */
int client_mime_header_ok(const char *h);

/* Build the message from f, the extra header fields (each "Name: value";
 * one that names an existing field replaces it) and the files to attach.
 * CRLF line ends. 0, or -1 with a one-line reason in err. */
int client_mime_build(struct buf *out, const struct client_msg_fields *f,
	const char *const *headers, size_t nheaders, const char *const *files, size_t nfiles,
	char *err, size_t errlen);

#endif
