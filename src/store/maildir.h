/* The maildir backend's own offer to its tests (not used above store/). */
#ifndef POSTERN_STORE_MAILDIR_H
#define POSTERN_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

/* The mailbox directory of a recipient address "local@domain" under root
 * (see README: <root>/<domain>/<local> with both parts lower-cased and unsafe
 * octets percent-encoded; maildir.c says how). Writes a NUL-terminated path
 * without a trailing '/' into out; false if it does not fit or the address
 * cannot be mapped. The bare address "postmaster" maps to
 * postmaster@localhost. */
bool maildir_mailbox_path(const char *root, const char *addr, char *out, size_t outlen);

#endif
