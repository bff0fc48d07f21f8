/* Recipient routing (pure: no sockets, no clock; only route_load_recipients
 * reads a file). For each RCPT it answers with a verdict and the backend that
 * will take the recipient:
 *
 *   bare "postmaster", postmaster@<local domain>  local (RFC 5321 §4.5.1)
 *   <anything>@<local domain>                     local, if the recipients list
 *                                                 has it (or there is no list);
 *                                                 else no such mailbox
 *   <anything>@<other domain>                     relay, if the client may relay
 *                                                 (authenticated, when that rule
 *                                                 is on; or from relay_networks);
 *                                                 else relay denied
 *
 * Addresses compare in their canonical form (route_canonical): a quoted
 * local part that needs no quoting is the same mailbox as the unquoted one
 * (RFC 5321 §4.1.2: "alice"@x is alice@x), and domains compare without case
 * and without a trailing dot. Local parts compare without ASCII case, as the
 * Maildir mapping stores them. */
#ifndef POSTERN_STORE_ROUTE_H
#define POSTERN_STORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets, "<" and ">" included. */
#define ROUTE_ADDR_MAX 254

enum route_verdict {
	ROUTE_LOCAL,        /* a mailbox here */
	ROUTE_RELAY,        /* another domain, and this client may relay */
	ROUTE_RELAY_DENIED, /* another domain: 554 5.7.1 */
	ROUTE_NO_MAILBOX,   /* a local domain without that mailbox: 550 5.1.1 */
	ROUTE_BAD_ADDRESS,  /* not an address this table can read: 501 5.1.3 */
};

enum route_backend {
	ROUTE_BACKEND_NONE,  /* refused */
	ROUTE_BACKEND_STORE, /* the configured store (maildir, lmtp, discard) */
	ROUTE_BACKEND_RELAY, /* the relay (client/ session, set up by server/) */
};

struct route_answer {
	enum route_verdict verdict;
	enum route_backend backend;
	char addr[ROUTE_ADDR_MAX + 1]; /* canonical; "" for ROUTE_BAD_ADDRESS */
};

/* Who is asking: the relay rule looks at it. */
struct route_client {
	bool authenticated;
	const struct sockaddr *addr; /* AF_INET or AF_INET6; NULL: unknown */
};

struct route_table;

struct route_table *route_new(void);
void route_free(struct route_table *rt);
/* A domain we receive mail for (case and a trailing dot do not matter). */
int route_add_domain(struct route_table *rt, const char *domain, char *err, size_t errlen);
/* Accept only listed recipients at local domains. The file has one address
 * local@domain per line; blank lines and "#" comments are ignored; an empty
 * file accepts nobody (but postmaster). 0, or -1 with the file, line and
 * reason in err. */
int route_load_recipients(struct route_table *rt, const char *path, char *err, size_t errlen);
/* The relay rule: authenticated clients may relay (off by default). */
void route_relay_authenticated(struct route_table *rt, bool on);
/* The relay rule: clients from this network may relay ("192.0.2.0/24",
 * "2001:db8::/32", or one address). */
int route_add_relay_network(struct route_table *rt, const char *cidr, char *err, size_t errlen);

/* The route of one recipient address ("local@domain" or the bare
 * "postmaster", as the RCPT parser gives it). */
void route_check(const struct route_table *rt, const char *addr, const struct route_client *client,
		 struct route_answer *out);

/* The canonical form of an address: the local part unquoted when the quotes
 * are not needed, else quoted with only the escapes it needs ("\"" and "\\");
 * the domain lower-cased without a trailing dot. The local part keeps its
 * case (other systems may tell cases apart); an unquoted local part is kept
 * as it is (the RCPT parser checked it). Never longer than addr. false when
 * addr is malformed (no domain, a broken quoted string) or out is too small. */
bool route_canonical(const char *addr, char *out, size_t outlen);

#endif
