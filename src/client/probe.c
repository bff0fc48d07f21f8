#include "client/probe.h"

#include <stdlib.h>
#include <string.h>

#include "client/send.h"
#include "client/transport.h"
#include "common/buf.h"
#include "common/escape.h"
#include "common/str.h"

#define N_(s) s /* a msgid for xgettext, translated through tr */
#define PROBE_VERB "XPOSTERNPROBE"

static const struct {
	const char *kw, *meaning;
} keywords[] = {
	{ "PIPELINING", N_("commands may be sent in batches without waiting for each reply (RFC 2920)") },
	{ "SIZE", N_("the largest message the server takes, in octets; 0 means no fixed limit (RFC 1870)") },
	{ "8BITMIME", N_("message bodies may carry 8-bit text (RFC 6152)") },
	{ "ENHANCEDSTATUSCODES", N_("replies carry enhanced status codes such as 5.7.8 (RFC 2034)") },
	{ "SMTPUTF8", N_("addresses and headers may be UTF-8 (RFC 6531)") },
	{ "CHUNKING", N_("the message may be sent in BDAT chunks instead of DATA (RFC 3030)") },
	{ "BINARYMIME", N_("binary message bodies are accepted with BDAT (RFC 3030)") },
	{ "STARTTLS", N_("the session can be upgraded to TLS (RFC 3207)") },
	{ "AUTH", N_("SMTP authentication with these SASL mechanisms (RFC 4954)") },
	{ "DSN", N_("delivery status notifications can be requested (RFC 3461)") },
	{ "REQUIRETLS", N_("the message can demand TLS on every hop (RFC 8689)") },
	{ "DELIVERBY", N_("a delivery deadline can be set (RFC 2852)") },
	{ "ETRN", N_("a client may ask the server to flush its queue (RFC 1985)") },
	{ "VRFY", N_("the server answers VRFY (RFC 5321)") },
	{ "EXPN", N_("the server answers EXPN (RFC 5321)") },
	{ "HELP", N_("the server answers HELP (RFC 5321)") },
	{ "MT-PRIORITY", N_("messages may carry a priority (RFC 6710)") },
	{ "LIMITS", N_("the server announces its limits (RFC 9422)") },
};

const char *client_probe_keyword_meaning(const char *kw, size_t n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (str_ieq(kw, n, keywords[i].kw))
			return keywords[i].meaning;
	return NULL;
}

/* ---- one connection ---- */

struct pconn {
	struct client_transport *t;
	char in[8192];
	size_t have;
	struct client_reply_parser parser;
	struct client_reply r;
	char err[512];
	int kind; /* client_exit value of the last failure */
};

static int pc_reply(struct pconn *c)
{
	for (;;) {
		size_t used, got;
		enum client_reply_status st = client_reply_parse(&c->parser, &c->r, c->in, c->have, &used);

		memmove(c->in, c->in + used, c->have - used);
		c->have -= used;
		if (st == CLIENT_REPLY_DONE)
			return 0;
		if (st != CLIENT_REPLY_MORE) {
			snprintf(c->err, sizeof(c->err), "%s", client_reply_strerror(st));
			c->kind = CLIENT_EXIT_PROTOCOL;
			return -1;
		}
		if (client_transport_read(c->t, c->in + c->have, sizeof(c->in) - c->have, &got, c->err,
					  sizeof(c->err)) != CLIENT_NET_OK) {
			c->kind = CLIENT_EXIT_UNAVAILABLE;
			return -1;
		}
		c->have += got;
	}
}

static int pc_send(struct pconn *c, const char *p, size_t n)
{
	if (client_transport_write(c->t, p, n, c->err, sizeof(c->err)) != CLIENT_NET_OK) {
		c->kind = CLIENT_EXIT_UNAVAILABLE;
		return -1;
	}
	return 0;
}

static int pc_cmd(struct pconn *c, const char *line)
{
	char b[600];
	int n = snprintf(b, sizeof(b), "%s\r\n", line);

	if (pc_send(c, b, (size_t)n) != 0)
		return -1;
	return pc_reply(c);
}

/* The reply's first line, "250 2.0.0 Ok" (with "..." when there are more). */
static void reply_text(const struct client_reply *r, char *out, size_t cap)
{
	size_t n;
	const char *t = client_reply_line(r, 0, &n);

	snprintf(out, cap, "%d %.*s%s", r->code, (int)n, t, r->nlines > 1 ? " ..." : "");
}

static struct pconn *pc_open(const struct client_probe_opts *o, char *err, size_t errlen, int *kind)
{
	struct pconn *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		*kind = CLIENT_EXIT_SOFTWARE;
		return NULL;
	}
	client_reply_parser_init(&c->parser);
	if (client_transport_connect(&c->t, o->host, o->port, o->timeout_ms, err, errlen) != CLIENT_NET_OK) {
		free(c);
		*kind = CLIENT_EXIT_UNAVAILABLE;
		return NULL;
	}
	return c;
}

static void pc_close(struct pconn *c)
{
	if (!c)
		return;
	client_transport_close(c->t);
	free(c);
}

static int pc_tls(struct pconn *c, const struct client_probe_opts *o)
{
	struct client_tls_opts to = { .verify = o->verify, .cafile = o->cafile, .host = o->host };

	c->have = 0; /* RFC 3207 §6: nothing from before the handshake counts */
	client_reply_parser_init(&c->parser);
	if (client_transport_start_tls(c->t, &to, c->err, sizeof(c->err)) != CLIENT_NET_OK) {
		c->kind = CLIENT_EXIT_UNAVAILABLE;
		return -1;
	}
	return 0;
}

/* ---- the report ---- */

enum verdict { V_PASS, V_FAIL, V_SKIP, V_INFO };

struct check {
	const char *name; /* msgid */
	enum verdict v;
	char seen[600];
};

#define NCHECKS 7

struct report {
	char banner[CLIENT_REPLY_LINE_MAX + 8];
	struct client_reply *ehlo;       /* the last EHLO reply (after TLS when there was TLS) */
	struct client_reply *ehlo_plain; /* the EHLO reply before STARTTLS, when there was one */
	struct client_reply *plain_buf;  /* room for it (NULL with implicit TLS) */
	bool caps_differ;                /* the two lists differ */
	char auth_before[CLIENT_CAPS_AUTH_MAX], auth_after[CLIENT_CAPS_AUTH_MAX];
	bool starttls_offered, tls_done, size_known;
	unsigned long long size;
	struct client_tls_info tls;
	struct check checks[NCHECKS];
	char error[600];
	int error_kind;
};

static const char *T(const struct client_probe_opts *o, const char *s)
{
	return o->tr ? o->tr(s) : s;
}

static void json_str(struct buf *b, const char *s)
{
	buf_append_str(b, "\"");
	esc_append(b, ESC_JSON, s, strlen(s));
	buf_append_str(b, "\"");
}

static const char *verdict_name(enum verdict v)
{
	return v == V_PASS ? "PASS" : v == V_FAIL ? "FAIL" : v == V_INFO ? "INFO" : "SKIP";
}

/* The keyword of EHLO line i, or NULL for an empty line (a server may send
 * "250-" with nothing: it is no capability). */
static const char *cap_line(const struct client_reply *r, size_t i, size_t *kwlen)
{
	size_t n, k;
	const char *l = client_reply_line(r, i, &n);

	while (*l == ' ') {
		l++;
		n--;
	}
	if (n == 0)
		return NULL;
	for (k = 0; k < n && l[k] != ' '; k++)
		;
	*kwlen = k;
	return l;
}

static void json_caps(struct buf *b, const struct client_probe_opts *o, const struct client_reply *r)
{
	bool first = true;

	buf_append_str(b, "[");
	for (size_t i = 1; r && i < r->nlines; i++) {
		size_t k;
		const char *l = cap_line(r, i, &k);
		const char *m = l ? client_probe_keyword_meaning(l, k) : NULL;

		if (!l)
			continue;
		buf_append_str(b, first ? "{\"keyword\":" : ",{\"keyword\":");
		first = false;
		json_str(b, l);
		buf_append_str(b, ",\"meaning\":");
		if (m)
			json_str(b, T(o, m));
		else
			buf_append_str(b, "null");
		buf_append_str(b, "}");
	}
	buf_append_str(b, "]");
}

static void text_caps(const struct client_probe_opts *o, const struct client_reply *r, const char *title)
{
	fprintf(o->out, "%s\n", T(o, title));
	for (size_t i = 1; i < r->nlines; i++) {
		size_t k;
		const char *l = cap_line(r, i, &k);
		const char *m = l ? client_probe_keyword_meaning(l, k) : NULL;

		if (l)
			fprintf(o->out, "  %-28s %s\n", l, m ? T(o, m) : T(o, N_("(not known to postern)")));
	}
}

static void print_json(const struct client_probe_opts *o, const struct report *rp)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	buf_append_str(&b, "{\"server\":");
	json_str(&b, o->host);
	buf_printf(&b, ",\"port\":%s,\"banner\":", o->port);
	json_str(&b, rp->banner);
	buf_append_str(&b, ",\"capabilities\":");
	json_caps(&b, o, rp->ehlo);
	buf_append_str(&b, ",\"capabilities_before_starttls\":");
	if (rp->ehlo_plain)
		json_caps(&b, o, rp->ehlo_plain);
	else
		buf_append_str(&b, "null");
	buf_printf(&b, ",\"starttls\":%s,\"tls\":", rp->starttls_offered ? "true" : "false");
	if (rp->tls_done) {
		buf_append_str(&b, "{\"version\":");
		json_str(&b, rp->tls.version);
		buf_append_str(&b, ",\"cipher\":");
		json_str(&b, rp->tls.cipher);
		buf_append_str(&b, ",\"subject\":");
		json_str(&b, rp->tls.subject);
		buf_append_str(&b, ",\"issuer\":");
		json_str(&b, rp->tls.issuer);
		buf_append_str(&b, ",\"expires\":");
		json_str(&b, rp->tls.not_after);
		buf_append_str(&b, ",\"verify\":");
		json_str(&b, rp->tls.verify);
		buf_append_str(&b, "}");
	} else {
		buf_append_str(&b, "null");
	}
	buf_append_str(&b, ",\"auth_before_tls\":");
	json_str(&b, rp->auth_before);
	buf_append_str(&b, ",\"auth_after_tls\":");
	json_str(&b, rp->auth_after);
	if (rp->size_known)
		buf_printf(&b, ",\"size\":%llu", rp->size);
	else
		buf_append_str(&b, ",\"size\":null");
	buf_append_str(&b, ",\"checks\":[");
	for (size_t i = 0; i < NCHECKS; i++) {
		if (!rp->checks[i].name)
			continue;
		buf_append_str(&b, b.data[b.len - 1] == '[' ? "{\"check\":" : ",{\"check\":");
		json_str(&b, rp->checks[i].name);
		buf_printf(&b, ",\"result\":\"%s\",\"seen\":", verdict_name(rp->checks[i].v));
		json_str(&b, rp->checks[i].seen);
		buf_append_str(&b, "}");
	}
	buf_append_str(&b, "],\"error\":");
	if (rp->error[0])
		json_str(&b, rp->error);
	else
		buf_append_str(&b, "null");
	buf_append_str(&b, "}\n");
	fwrite(b.data, 1, b.len, o->out);
	buf_fini(&b);
}

static void print_text(const struct client_probe_opts *o, const struct report *rp)
{
	FILE *f = o->out;

	fprintf(f, "%s %s\n", T(o, N_("banner:")), rp->banner);
	/* RFC 3207 4.2: the list after STARTTLS replaces the one before; both
	 * are shown when they differ, each under its own title */
	if (rp->ehlo_plain && rp->caps_differ)
		text_caps(o, rp->ehlo_plain, N_("EHLO capabilities before STARTTLS:"));
	if (rp->ehlo)
		text_caps(o, rp->ehlo, rp->ehlo_plain ? N_("EHLO capabilities after STARTTLS:")
				       : N_("EHLO capabilities:"));
	fprintf(f, "%s %s\n", T(o, N_("STARTTLS:")),
		o->tls ? T(o, N_("implicit TLS")) : rp->starttls_offered ? T(o, N_("offered")) : T(o, N_("not offered")));
	if (rp->tls_done) {
		fprintf(f, "%s %s, %s\n", T(o, N_("TLS:")), rp->tls.version, rp->tls.cipher);
		fprintf(f, "  %s %s\n", T(o, N_("subject:")), rp->tls.subject);
		fprintf(f, "  %s %s\n", T(o, N_("issuer:")), rp->tls.issuer);
		fprintf(f, "  %s %s\n", T(o, N_("expires:")), rp->tls.not_after);
		fprintf(f, "  %s %s\n", T(o, N_("verification:")), rp->tls.verify);
	}
	if (!o->tls)
		fprintf(f, "%s %s\n", T(o, N_("AUTH before TLS:")), rp->auth_before[0] ? rp->auth_before : "-");
	if (rp->tls_done)
		fprintf(f, "%s %s\n", T(o, N_("AUTH after TLS:")), rp->auth_after[0] ? rp->auth_after : "-");
	if (rp->size_known)
		fprintf(f, "%s %llu\n", T(o, N_("SIZE limit (octets):")), rp->size);
	else
		fprintf(f, "%s %s\n", T(o, N_("SIZE limit (octets):")), T(o, N_("not announced")));
	fprintf(f, "%s\n", T(o, N_("checks:")));
	for (size_t i = 0; i < NCHECKS; i++)
		if (rp->checks[i].name)
			fprintf(f, "  %s  %s\n        %s %s\n", verdict_name(rp->checks[i].v),
				T(o, rp->checks[i].name), T(o, N_("seen:")), rp->checks[i].seen);
	if (rp->error[0])
		fprintf(o->err, "postern probe: %s\n", rp->error);
}

/* ---- the checks ---- */

static void set_check(struct check *c, const char *name, enum verdict v, const char *seen)
{
	c->name = name;
	c->v = v;
	snprintf(c->seen, sizeof(c->seen), "%s", seen);
}

static void verdict_on(struct check *c, const char *name, struct pconn *pc, int rc, int want)
{
	char seen[600];

	if (rc != 0) {
		set_check(c, name, V_FAIL, pc->err);
		return;
	}
	reply_text(&pc->r, seen, sizeof(seen));
	set_check(c, name, pc->r.code == want ? V_PASS : V_FAIL, seen);
}

static void check_unknown(struct pconn *c, struct check *ck)
{
	verdict_on(ck, N_("500 to an unknown command"), c, pc_cmd(c, PROBE_VERB), 500);
}

static void check_long_line(struct pconn *c, struct check *ck)
{
	/* 513 octets with CRLF: one past RFC 5321 §4.5.3.1.4 */
	char line[520];

	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', 506);
	memcpy(line + 511, "\r\n", 2);
	int rc = pc_send(c, line, 513) == 0 ? pc_reply(c) : -1;
	const char *name = N_("500 to a 513-octet command line");

	verdict_on(ck, name, c, rc, 500);
	/* RFC 5321 4.5.3.1: "implementations should impose no limits where
	 * possible": taking a longer line is within the RFC, so information */
	if (rc == 0 && ck->v == V_FAIL && c->r.code / 100 == 2) {
		char seen[600];

		reply_text(&c->r, seen, sizeof(seen));
		set_check(ck, name, V_INFO, seen);
		snprintf(ck->seen + strlen(ck->seen), sizeof(ck->seen) - strlen(ck->seen), " (%s)",
			 "accepts lines over 512 octets, which RFC 5321 4.5.3.1 allows");
	}
}

static void check_pipelining(struct pconn *c, struct check *ck, bool offered)
{
	static const char batch[] = "RSET\r\nNOOP\r\nNOOP\r\n";
	const char *name = N_("PIPELINING honoured (three commands in one write, three replies)");
	char seen[600] = "";
	size_t len = 0;

	if (!offered) {
		set_check(ck, name, V_SKIP, "PIPELINING not offered");
		return;
	}
	if (pc_send(c, batch, sizeof(batch) - 1) != 0) {
		set_check(ck, name, V_FAIL, c->err);
		return;
	}
	bool ok = true;

	for (int i = 0; i < 3; i++) {
		if (pc_reply(c) != 0) {
			set_check(ck, name, V_FAIL, c->err);
			return;
		}
		len += (size_t)snprintf(seen + len, sizeof(seen) - len, "%s%d", i ? ", " : "", c->r.code);
		ok = ok && c->r.code == 250;
	}
	set_check(ck, name, ok ? V_PASS : V_FAIL, seen);
}

/* A message whose body holds "\n.\n" followed by a command, then the real
 * end and QUIT. A server that ends DATA at the bare one (SMTP smuggling,
 * CVE-2023-51764 class) answers the smuggled lines too, so more than two
 * replies (the message's and QUIT's) arrive before the close. */
static void check_bare_lf(struct pconn *c, struct check *ck)
{
	static const char body[] = "Subject: postern probe: bare LF end of data\r\n\r\n"
				   "This message tests that <LF>.<LF> does not end DATA.\n.\n"
				   PROBE_VERB "\r\n\r\n.\r\nQUIT\r\n";
	const char *name = N_("bare-LF end of data (<LF>.<LF>) not accepted");
	char seen[600];
	size_t len = 0;
	int n = 0;

	if (pc_cmd(c, "MAIL FROM:<>") != 0 || c->r.code != 250 ||
	    pc_cmd(c, "RCPT TO:<postmaster>") != 0 || c->r.code / 100 != 2 ||
	    pc_cmd(c, "DATA") != 0 || c->r.code != 354) {
		reply_text(&c->r, seen, sizeof(seen));
		set_check(ck, name, V_SKIP, seen);
		pc_cmd(c, "QUIT");
		return;
	}
	if (pc_send(c, body, sizeof(body) - 1) != 0) {
		set_check(ck, name, V_FAIL, c->err);
		return;
	}
	seen[0] = '\0';
	while (n < 10 && pc_reply(c) == 0) {
		char one[300];

		reply_text(&c->r, one, sizeof(one));
		len += (size_t)snprintf(seen + len, sizeof(seen) - len, "%s%.120s", n ? "; " : "", one);
		if (len >= sizeof(seen))
			len = sizeof(seen) - 1;
		n++;
		if (c->r.code == 221)
			break;
	}
	if (n == 0) {
		set_check(ck, name, V_FAIL, c->err);
		return;
	}
	set_check(ck, name, n == 2 && c->r.code == 221 ? V_PASS : V_FAIL, seen);
}

/* "STARTTLS\r\nNOOP\r\n" in one write: the NOOP was sent in the clear and
 * must not be answered inside TLS (CVE-2011-0411 class). */
static void check_starttls_injection(const struct client_probe_opts *o, struct check *ck)
{
	static const char batch[] = "STARTTLS\r\nNOOP\r\n";
	const char *name = N_("STARTTLS with a pipelined NOOP: NOOP not answered after TLS");
	char err[512], seen[600];
	int kind;
	struct pconn *c = pc_open(o, err, sizeof(err), &kind);

	if (!c) {
		set_check(ck, name, V_FAIL, err);
		return;
	}
	char ehlo[300];

	snprintf(ehlo, sizeof(ehlo), "EHLO %s", o->helo);
	if (pc_reply(c) != 0 || pc_cmd(c, ehlo) != 0 || pc_send(c, batch, sizeof(batch) - 1) != 0 ||
	    pc_reply(c) != 0) {
		set_check(ck, name, V_FAIL, c->err);
		pc_close(c);
		return;
	}
	if (c->r.code != 220) {
		reply_text(&c->r, seen, sizeof(seen));
		set_check(ck, name, V_SKIP, seen);
		pc_close(c);
		return;
	}
	if (pc_tls(c, o) != 0) {
		snprintf(seen, sizeof(seen), "%s", c->err);
		set_check(ck, name, V_FAIL, seen);
		pc_close(c);
		return;
	}
	/* the first reply inside TLS must answer our command, not the NOOP */
	int rc = pc_cmd(c, PROBE_VERB);

	if (rc != 0) {
		set_check(ck, name, V_FAIL, c->err);
	} else {
		reply_text(&c->r, seen, sizeof(seen));
		set_check(ck, name, c->r.code == 250 ? V_FAIL : V_PASS, seen);
	}
	pc_cmd(c, "QUIT");
	pc_close(c);
}

#define CHECK_STARTTLS_REPLY N_("STARTTLS answered with 220, and nothing before the TLS handshake")
#define CHECK_STARTTLS_HIDDEN N_("STARTTLS not hidden: it works only when EHLO offers it")

static void copy_caps(struct report *rp, const struct client_reply *ehlo, bool after_tls);

/* The STARTTLS safety checks of the 2021 "NO STARTTLS" study, from the
 * client's side: STARTTLS answered with 4xx/5xx although offered, octets
 * after the 220 and before the handshake (response injection: they would be
 * read as if inside TLS), and STARTTLS that works without being offered
 * (hidden, so clients never use it). Then TLS and EHLO again when it works.
 * 0, or -1 when the connection failed (c->err). */
static int starttls(const struct client_probe_opts *o, struct pconn *c, struct report *rp,
	const char *ehlo)
{
	char seen[600];

	if (pc_cmd(c, "STARTTLS") != 0)
		return -1;
	reply_text(&c->r, seen, sizeof(seen));
	if (!rp->starttls_offered) {
		if (c->r.code != 220) {
			set_check(&rp->checks[5], CHECK_STARTTLS_REPLY, V_SKIP, "STARTTLS not offered");
			set_check(&rp->checks[6], CHECK_STARTTLS_HIDDEN, V_INFO, seen);
			snprintf(rp->checks[6].seen + strlen(rp->checks[6].seen),
				 sizeof(rp->checks[6].seen) - strlen(rp->checks[6].seen), " (%s)",
				 "neither offered nor accepted: mail to this server goes in the clear");
			return 0;
		}
		set_check(&rp->checks[6], CHECK_STARTTLS_HIDDEN, V_FAIL, seen);
		snprintf(rp->checks[6].seen + strlen(rp->checks[6].seen),
			 sizeof(rp->checks[6].seen) - strlen(rp->checks[6].seen), " (%s)",
			 "STARTTLS works but EHLO does not offer it");
	} else {
		set_check(&rp->checks[6], CHECK_STARTTLS_HIDDEN, V_PASS, "offered in EHLO");
		if (c->r.code != 220) {
			set_check(&rp->checks[5], CHECK_STARTTLS_REPLY, V_FAIL, seen);
			return 0;
		}
	}
	if (c->have > 0) {
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen),
			 "; then %zu octets before the handshake (response injection)", c->have);
		set_check(&rp->checks[5], CHECK_STARTTLS_REPLY, V_FAIL, seen);
	} else {
		set_check(&rp->checks[5], CHECK_STARTTLS_REPLY, V_PASS, seen);
	}
	if (pc_tls(c, o) != 0)
		return -1;
	rp->tls_done = true;
	client_transport_tls_info(c->t, &rp->tls);
	if (pc_cmd(c, ehlo) != 0)
		return -1;
	copy_caps(rp, &c->r, true);
	return 0;
}

static void copy_caps(struct report *rp, const struct client_reply *ehlo, bool after_tls)
{
	struct client_caps caps;

	client_caps_parse(&caps, ehlo);
	if (after_tls && rp->plain_buf) {
		memcpy(rp->plain_buf, rp->ehlo, sizeof(*ehlo));
		rp->ehlo_plain = rp->plain_buf;
		rp->caps_differ = rp->ehlo->nlines != ehlo->nlines;
		for (size_t i = 1; !rp->caps_differ && i < ehlo->nlines; i++)
			rp->caps_differ = strcmp(client_reply_line(rp->ehlo, i, NULL),
						 client_reply_line(ehlo, i, NULL)) != 0;
	}
	memcpy(rp->ehlo, ehlo, sizeof(*ehlo));
	snprintf(after_tls ? rp->auth_after : rp->auth_before, CLIENT_CAPS_AUTH_MAX, "%s", caps.auth);
	if (!after_tls)
		rp->starttls_offered = caps.starttls;
	rp->size_known = caps.has_size;
	rp->size = caps.size;
}

int client_probe(const struct client_probe_opts *o)
{
	struct report *rp = calloc(1, sizeof(*rp));
	struct client_reply *ehlo_r = malloc(sizeof(*ehlo_r));
	struct client_reply *plain_r = malloc(sizeof(*plain_r));
	struct pconn *c = NULL;
	char ehlo[300];
	int rc = 0;

	if (!rp || !ehlo_r || !plain_r) {
		fprintf(o->err, "postern probe: out of memory\n");
		free(rp);
		free(ehlo_r);
		free(plain_r);
		return CLIENT_EXIT_SOFTWARE;
	}
	rp->plain_buf = o->tls ? NULL : plain_r;
	rp->ehlo = NULL;
	snprintf(ehlo, sizeof(ehlo), "EHLO %s", o->helo);
	c = pc_open(o, rp->error, sizeof(rp->error), &rp->error_kind);
	if (!c) {
		/* nothing was learnt: one line, no partial report */
		fprintf(o->err, "postern probe: %s\n", rp->error);
		rc = rp->error_kind;
		free(rp);
		free(ehlo_r);
		free(plain_r);
		return rc;
	}
	if (o->tls) {
		if (pc_tls(c, o) != 0)
			goto fail;
		rp->tls_done = true;
		client_transport_tls_info(c->t, &rp->tls);
	}
	if (pc_reply(c) != 0)
		goto fail;
	reply_text(&c->r, rp->banner, sizeof(rp->banner));
	if (c->r.code != 220) {
		snprintf(rp->error, sizeof(rp->error), "%s", T(o, N_("the server does not greet with 220")));
		rp->error_kind = CLIENT_EXIT_PERM;
		goto report;
	}
	if (pc_cmd(c, ehlo) != 0)
		goto fail;
	if (c->r.code != 250) {
		snprintf(rp->error, sizeof(rp->error), "EHLO: %d", c->r.code);
		rp->error_kind = CLIENT_EXIT_PERM;
		goto report;
	}
	rp->ehlo = ehlo_r;
	copy_caps(rp, &c->r, o->tls);
	if (o->tls)
		rp->starttls_offered = false;
	if (o->tls) {
		set_check(&rp->checks[5], CHECK_STARTTLS_REPLY, V_SKIP, "implicit TLS");
		set_check(&rp->checks[6], CHECK_STARTTLS_HIDDEN, V_SKIP, "implicit TLS");
	} else if (starttls(o, c, rp, ehlo) != 0) {
		goto fail;
	}
	struct client_caps caps;

	client_caps_parse(&caps, rp->ehlo);
	check_unknown(c, &rp->checks[0]);
	check_long_line(c, &rp->checks[1]);
	check_pipelining(c, &rp->checks[2], caps.pipelining);
	check_bare_lf(c, &rp->checks[3]); /* ends with QUIT */
	if (rp->starttls_offered && !o->tls)
		check_starttls_injection(o, &rp->checks[4]);
	else
		set_check(&rp->checks[4], N_("STARTTLS with a pipelined NOOP: NOOP not answered after TLS"),
			  V_SKIP, o->tls ? "implicit TLS" : "STARTTLS not offered");
	goto report;
fail:
	snprintf(rp->error, sizeof(rp->error), "%s", c->err);
	rp->error_kind = c->kind;
report:
	if (o->json)
		print_json(o, rp);
	else
		print_text(o, rp);
	if (rp->error[0])
		rc = rp->error_kind ? rp->error_kind : CLIENT_EXIT_UNAVAILABLE;
	for (size_t i = 0; rc == 0 && i < NCHECKS; i++)
		if (rp->checks[i].name && rp->checks[i].v == V_FAIL)
			rc = 1;
	pc_close(c);
	free(rp);
	free(ehlo_r);
	free(plain_r);
	return rc;
}
