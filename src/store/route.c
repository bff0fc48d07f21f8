/* Recipient routing (route.h). The tables are built once at start and read
 * by every loop without locks. */
#include "store/route.h"

#include "common/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network, host bits cleared */
	unsigned bits;
};

struct route_table {
	char **domains; /* canonical (lower-case, no trailing dot) */
	size_t ndomains;
	char **rcpts; /* canonical, ASCII lower-cased, sorted; NULL: no list */
	size_t nrcpts;
	bool relay_authenticated;
	struct net *nets;
	size_t nnets;
};

/* ---- canonical addresses (RFC 5321 §4.1.2) ---- */

/* atext (RFC 5322 §3.2.3) and, for SMTPUTF8 (RFC 6531 §3.3), any octet >= 0x80 */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Dot-string = Atom *("." Atom): no empty atom, so no leading, trailing or
 * double dot. */
static bool is_dot_string(const char *p, size_t n)
{
	bool atom_start = true;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (atom_start)
				return false;
			atom_start = true;
		} else if (is_atext(c)) {
			atom_start = false;
		} else {
			return false;
		}
	}
	return !atom_start;
}

static bool put(char *out, size_t outlen, size_t *pos, char c)
{
	if (*pos + 1 >= outlen)
		return false;
	out[(*pos)++] = c;
	out[*pos] = '\0';
	return true;
}

/* The local part local[0..n) in canonical form, appended to out. */
static bool canonical_local(const char *local, size_t n, char *out, size_t outlen, size_t *pos)
{
	if (n == 0)
		return false;
	if (local[0] != '"') { /* as the RCPT parser let it through */
		for (size_t i = 0; i < n; i++)
			if (!put(out, outlen, pos, local[i]))
				return false;
		return true;
	}
	/* Quoted-string: unescape into content, then decide whether it still
	 * needs its quotes. */
	if (n < 2 || local[n - 1] != '"')
		return false;
	char content[ROUTE_ADDR_MAX + 1];
	size_t clen = 0;
	for (size_t i = 1; i < n - 1; i++) {
		char c = local[i];
		if (c == '"')
			return false; /* an unescaped quote inside */
		if (c == '\\') {
			if (++i >= n - 1)
				return false;
			c = local[i];
		}
		if (clen >= sizeof content - 1)
			return false;
		content[clen++] = c;
	}
	bool quote = !is_dot_string(content, clen);
	if (quote && !put(out, outlen, pos, '"'))
		return false;
	for (size_t i = 0; i < clen; i++) {
		if (quote && (content[i] == '"' || content[i] == '\\') && !put(out, outlen, pos, '\\'))
			return false;
		if (!put(out, outlen, pos, content[i]))
			return false;
	}
	return !quote || put(out, outlen, pos, '"');
}

bool route_canonical(const char *addr, char *out, size_t outlen)
{
	size_t pos = 0;

	if (!addr || !out || outlen == 0)
		return false;
	out[0] = '\0';
	size_t len = strlen(addr);
	const char *at = memrchr(addr, '@', len);
	if (!at) { /* RFC 5321 §4.5.1: only the bare postmaster has no domain */
		if (!str_ieq(addr, len, "postmaster"))
			return false;
		return str_copy(out, outlen, "postmaster", 10) == 10;
	}
	size_t llen = (size_t)(at - addr);
	const char *domain = at + 1;
	size_t dlen = len - llen - 1;
	if (dlen && domain[dlen - 1] == '.')
		dlen--;
	if (dlen == 0 || !canonical_local(addr, llen, out, outlen, &pos) ||
	    !put(out, outlen, &pos, '@'))
		goto bad;
	for (size_t i = 0; i < dlen; i++)
		if (domain[i] == '\0' || !put(out, outlen, &pos, str_ascii_lower(domain[i])))
			goto bad;
	return true;
bad:
	out[0] = '\0';
	return false;
}

/* ---- tables ---- */

struct route_table *route_new(void) { return calloc(1, sizeof(struct route_table)); }

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void route_free(struct route_table *rt)
{
	if (!rt)
		return;
	free_list(rt->domains, rt->ndomains);
	free_list(rt->rcpts, rt->nrcpts);
	free(rt->nets);
	free(rt);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = str_ascii_lower(*s);
}

/* Append a copy of s to *v (n entries, *cap slots). */
static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	char *copy = strdup(s);
	if (!copy)
		return -1;
	(*v)[(*n)++] = copy;
	return 0;
}

int route_add_domain(struct route_table *rt, const char *domain, char *err, size_t errlen)
{
	char canon[ROUTE_ADDR_MAX + 1];
	size_t n = strlen(domain);

	if (n && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > 255 || memchr(domain, '@', n)) {
		snprintf(err, errlen, "domain \"%s\": not a domain name", domain);
		return -1;
	}
	str_copy(canon, sizeof canon, domain, n);
	lower(canon);
	size_t cap = rt->ndomains; /* grows one at a time: a handful of domains */
	if (push(&rt->domains, &rt->ndomains, &cap, canon)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The key a recipient is looked up by: canonical and ASCII lower-cased
 * (the Maildir mapping lower-cases the local part too). */
static bool lookup_key(const char *addr, char *key, size_t keylen)
{
	if (!route_canonical(addr, key, keylen))
		return false;
	lower(key);
	return true;
}

int route_load_recipients(struct route_table *rt, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "recipients = \"%s\": %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	char key[ROUTE_ADDR_MAX + 1];
	size_t cap = 0;
	unsigned lineno = 0;
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, "\r\n#");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		p[len] = '\0';
		if (!len)
			continue;
		if (!strchr(p, '@') || strchr(p, ' ') || !lookup_key(p, key, sizeof key)) {
			snprintf(err, errlen, "%s: line %u: expected one address local@domain", path,
				 lineno);
			rc = -1;
		} else if (push(&v, &n, &cap, key)) {
			snprintf(err, errlen, "%s: out of memory", path);
			rc = -1;
		}
	}
	fclose(f);
	if (rc == 0 && !v && !(v = calloc(1, sizeof(char *)))) { /* an empty file: nobody */
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -1;
	}
	if (rc) {
		free_list(v, n);
		return -1;
	}
	qsort(v, n, sizeof(char *), cmp_str);
	free_list(rt->rcpts, rt->nrcpts);
	rt->rcpts = v;
	rt->nrcpts = n;
	return 0;
}

void route_relay_authenticated(struct route_table *rt, bool on) { rt->relay_authenticated = on; }

int route_add_relay_network(struct route_table *rt, const char *cidr, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct net net = {0};
	const char *slash = strchr(cidr, '/');
	size_t hlen = slash ? (size_t)(slash - cidr) : strlen(cidr);

	if (hlen == 0 || hlen >= sizeof host)
		goto bad;
	str_copy(host, sizeof host, cidr, hlen);
	if (inet_pton(AF_INET, host, net.addr) == 1) {
		net.family = AF_INET;
		net.bits = 32;
	} else if (inet_pton(AF_INET6, host, net.addr) == 1) {
		net.family = AF_INET6;
		net.bits = 128;
	} else {
		goto bad;
	}
	if (slash) {
		char *end;
		errno = 0;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits > net.bits)
			goto bad;
		net.bits = (unsigned)bits;
	}
	for (unsigned i = net.bits; i < 128; i++) /* clear the host bits */
		net.addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	struct net *v = realloc(rt->nets, (rt->nnets + 1) * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt->nets = v;
	rt->nets[rt->nnets++] = net;
	return 0;
bad:
	snprintf(err, errlen, "relay network \"%s\": expected ADDRESS or ADDRESS/BITS", cidr);
	return -1;
}

static bool net_has(const struct net *net, int family, const unsigned char *a)
{
	if (net->family != family)
		return false;
	unsigned full = net->bits / 8, rest = net->bits % 8;
	if (memcmp(net->addr, a, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net->addr[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

static bool from_relay_network(const struct route_table *rt, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *a;
	int family;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		family = AF_INET6;
		if (memcmp(a, v4mapped, sizeof v4mapped) == 0) { /* ::ffff:a.b.c.d is IPv4 */
			family = AF_INET;
			a += sizeof v4mapped;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < rt->nnets; i++)
		if (net_has(&rt->nets[i], family, a))
			return true;
	return false;
}

static bool is_local_domain(const struct route_table *rt, const char *domain)
{
	for (size_t i = 0; i < rt->ndomains; i++)
		if (str_ieq(domain, strlen(domain), rt->domains[i]))
			return true;
	return false;
}

static void answer(struct route_answer *out, enum route_verdict v, enum route_backend b)
{
	out->verdict = v;
	out->backend = b;
}

void route_check(const struct route_table *rt, const char *addr, const struct route_client *client,
		 struct route_answer *out)
{
	char key[ROUTE_ADDR_MAX + 1];

	if (!route_canonical(addr, out->addr, sizeof out->addr)) {
		answer(out, ROUTE_BAD_ADDRESS, ROUTE_BACKEND_NONE);
		return;
	}
	const char *at = strrchr(out->addr, '@');
	if (!at) { /* the bare postmaster, RFC 5321 §4.5.1 */
		answer(out, ROUTE_LOCAL, ROUTE_BACKEND_STORE);
		return;
	}
	if (!is_local_domain(rt, at + 1)) {
		bool may = client && ((rt->relay_authenticated && client->authenticated) ||
				      from_relay_network(rt, client->addr));
		if (may)
			answer(out, ROUTE_RELAY, ROUTE_BACKEND_RELAY);
		else
			answer(out, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE);
		return;
	}
	/* RFC 5321 §4.5.1: postmaster at every domain we host */
	if (str_ieq(out->addr, (size_t)(at - out->addr), "postmaster") || !rt->rcpts) {
		answer(out, ROUTE_LOCAL, ROUTE_BACKEND_STORE);
		return;
	}
	str_copy(key, sizeof key, out->addr, strlen(out->addr));
	lower(key);
	char *k = key;
	if (bsearch(&k, rt->rcpts, rt->nrcpts, sizeof(char *), cmp_str))
		answer(out, ROUTE_LOCAL, ROUTE_BACKEND_STORE);
	else
		answer(out, ROUTE_NO_MAILBOX, ROUTE_BACKEND_NONE);
}
