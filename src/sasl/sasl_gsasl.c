/* The GNU SASL backend of sasl.h. libgsasl runs the mechanisms; this file
 * decides which may start, answers its callbacks from the creds database
 * and maps its results onto the four answers the SMTP session knows. */
#include <gsasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base64.h"
#include "common/i18n.h"
#include "common/str.h"
#include "creds/verify_cache.h"
#include "sasl/cram.h"
#include "sasl/sasl.h"

enum mech {
	M_SCRAM256_PLUS,
	M_SCRAM1_PLUS,
	M_SCRAM256,
	M_SCRAM1,
	M_PLAIN,
	M_LOGIN,
	M_CRAM,
	M_COUNT,
};

/* The allow-list: nothing else is ever given to gsasl_server_start. */
static const struct mech_info {
	const char *name;
	bool plaintext;    /* the password crosses the wire: TLS first */
	bool client_first; /* an empty initial response is malformed */
	bool server_first; /* the server's challenge comes first: no initial response */
	int scram;         /* enum creds_scram_hash, or -1 */
	enum mech base;    /* the non-PLUS variant */
} mech_info[M_COUNT] = {
	[M_SCRAM256_PLUS] = { "SCRAM-SHA-256-PLUS", false, true, false, CREDS_SCRAM_SHA256, M_SCRAM256 },
	[M_SCRAM1_PLUS] = { "SCRAM-SHA-1-PLUS", false, true, false, CREDS_SCRAM_SHA1, M_SCRAM1 },
	[M_SCRAM256] = { "SCRAM-SHA-256", false, true, false, CREDS_SCRAM_SHA256, M_SCRAM256 },
	[M_SCRAM1] = { "SCRAM-SHA-1", false, true, false, CREDS_SCRAM_SHA1, M_SCRAM1 },
	[M_PLAIN] = { "PLAIN", true, true, false, -1, M_PLAIN },
	/* LOGIN: the server asks first, but an initial response is taken as
	 * the user name (RFC 4954 practice, SPEC §3) */
	[M_LOGIN] = { "LOGIN", true, false, false, -1, M_LOGIN },
	[M_CRAM] = { "CRAM-MD5", false, false, true, -1, M_CRAM },
};

#define ADV_MAX 160

struct sasl_server {
	Gsasl *ctx;
	bool cram_md5, plaintext, allow_authzid, no_channel_binding;
	char hostname[256]; /* in CRAM-MD5's challenge */
	enum mech order[M_COUNT]; /* configured base mechanisms, in order */
	size_t norder;
	char adv[2][2][ADV_MAX]; /* [tls][cb] */
	unsigned char secret[CREDS_SECRET_LEN]; /* for the keys of users who have none */
	struct creds_cache *cache; /* good PLAIN/LOGIN checks; NULL: off */
};

struct sasl_sess {
	struct sasl_server *srv;
	struct creds_db *db;
	Gsasl_session *gs;
	enum mech mech;
	unsigned steps;
	int login_stage;  /* LOGIN: 1 after "Username:", 2 after "Password:" */
	bool login_no_user; /* LOGIN: an empty user name, which libgsasl refuses at once */
	bool await_empty; /* SCRAM's server-final went out in a 334 */
	bool finished;
	struct sasl_cb cb;
	/* SCRAM: the keys answered to gsasl, looked up once per exchange */
	bool scram_ready, scram_known;
	struct creds_scram keys;
	bool tempfail;     /* set by a callback: the step is a 454 */
	char challenge[CRAM_CHALLENGE_MAX]; /* CRAM-MD5's, once sent */
	const char *reason;
	char user[SASL_USER_MAX + 1];
};

static int find_mech(const char *name, size_t len)
{
	for (int i = 0; i < M_COUNT; i++)
		if (str_ieq(name, len, mech_info[i].name))
			return i;
	return -1;
}

/* Calls fn for each name of a space- or comma-separated list. */
static int each_token(const char *list, int (*fn)(void *arg, const char *p, size_t n), void *arg)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t n = strcspn(p, " ,\t");
		if (n && fn(arg, p, n))
			return -1;
		p += n;
	}
	return 0;
}

struct check_ctx {
	bool cram_md5;
	char *err;
	size_t errlen;
	unsigned count;
};

static int check_one(void *arg, const char *p, size_t n)
{
	struct check_ctx *x = arg;
	int m = find_mech(p, n);
	if (m < 0 || mech_info[m].base != (enum mech)m) {
		snprintf(x->err, x->errlen,
			 _("unknown mechanism \"%.*s\" (expected SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN, "
			   "CRAM-MD5; -PLUS variants are offered by themselves over TLS)"),
			 (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	if (m == M_CRAM && !x->cram_md5) {
		snprintf(x->err, x->errlen, _("CRAM-MD5 is listed but cram_md5 = no"));
		return -1;
	}
	x->count++;
	return 0;
}

/* Its texts are posternd's config errors, for a person: translated. When
 * sasl_server_new repeats the check in the running daemon (C locale) they
 * stay English, as sasl_server_new's own texts, which only reach the log. */
int sasl_check_mechanisms(const char *list, bool cram_md5, char *err, size_t errlen)
{
	struct check_ctx x = { cram_md5, err, errlen, 0 };
	if (each_token(list, check_one, &x))
		return -1;
	if (!x.count) {
		snprintf(err, errlen, _("no mechanism listed"));
		return -1;
	}
	return 0;
}

static int add_one(void *arg, const char *p, size_t n)
{
	struct sasl_server *srv = arg;
	int m = find_mech(p, n);
	for (size_t i = 0; i < srv->norder; i++)
		if (srv->order[i] == (enum mech)m)
			return 0; /* listed twice: the first place counts */
	srv->order[srv->norder++] = (enum mech)m;
	return 0;
}

static bool offered(const struct sasl_server *srv, enum mech m)
{
	for (size_t i = 0; i < srv->norder; i++)
		if (srv->order[i] == m)
			return true;
	return false;
}

static int gs_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop);

struct sasl_server *sasl_server_new(const struct sasl_config *cfg, char *err, size_t errlen)
{
	const char *list = cfg->mechanisms ? cfg->mechanisms : SASL_DEFAULT_MECHANISMS;
	if (sasl_check_mechanisms(list, cfg->cram_md5, err, errlen))
		return NULL;
	struct sasl_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cram_md5 = cfg->cram_md5;
	srv->plaintext = cfg->plaintext;
	srv->allow_authzid = cfg->allow_authzid;
	srv->no_channel_binding = cfg->no_channel_binding;
	snprintf(srv->hostname, sizeof(srv->hostname), "%s",
		 cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost");
	if (cfg->secret)
		memcpy(srv->secret, cfg->secret, sizeof(srv->secret));
	each_token(list, add_one, srv);
	if (srv->cram_md5 && !offered(srv, M_CRAM))
		srv->order[srv->norder++] = M_CRAM;
	int rc = gsasl_init(&srv->ctx);
	if (rc != GSASL_OK) {
		snprintf(err, errlen, "GNU SASL: %s", gsasl_strerror(rc));
		free(srv);
		return NULL;
	}
	/* Every configured mechanism libgsasl runs must exist in its build
	 * (PLAIN and CRAM-MD5 run here). */
	for (size_t i = 0; i < srv->norder; i++) {
		enum mech m = srv->order[i];
		if (m != M_PLAIN && m != M_CRAM && !gsasl_server_support_p(srv->ctx, mech_info[m].name)) {
			snprintf(err, errlen, "GNU SASL was built without %s", mech_info[srv->order[i]].name);
			sasl_server_free(srv);
			return NULL;
		}
	}
	if ((!cfg->secret && creds_random(srv->secret, sizeof(srv->secret))) ||
	    (cfg->verify_cache_ttl && !(srv->cache = creds_cache_new(cfg->verify_cache_ttl)))) {
		snprintf(err, errlen, "no random numbers");
		sasl_server_free(srv);
		return NULL;
	}
	gsasl_callback_set(srv->ctx, gs_callback);
	for (int tls = 0; tls < 2; tls++) {
		for (int cb = 0; cb < 2; cb++) {
			char *a = srv->adv[tls][cb];
			size_t o = 0;
			a[0] = '\0';
			for (size_t i = 0; i < srv->norder; i++) {
				enum mech m = srv->order[i];
				if (mech_info[m].plaintext && !tls && !srv->plaintext)
					continue;
				if (cb && tls && m == M_SCRAM256)
					o += (size_t)snprintf(a + o, ADV_MAX - o, "%s%s", o ? " " : "",
							      mech_info[M_SCRAM256_PLUS].name);
				if (cb && tls && m == M_SCRAM1)
					o += (size_t)snprintf(a + o, ADV_MAX - o, "%s%s", o ? " " : "",
							      mech_info[M_SCRAM1_PLUS].name);
				o += (size_t)snprintf(a + o, ADV_MAX - o, "%s%s", o ? " " : "",
						      mech_info[m].name);
			}
		}
	}
	return srv;
}

void sasl_server_free(struct sasl_server *srv)
{
	if (!srv)
		return;
	if (srv->ctx)
		gsasl_done(srv->ctx);
	creds_wipe(srv->secret, sizeof(srv->secret));
	creds_cache_free(srv->cache);
	free(srv);
}

const char *sasl_server_mechs(const struct sasl_server *srv, bool tls, bool cb)
{
	return srv->adv[tls ? 1 : 0][cb && !srv->no_channel_binding ? 1 : 0];
}

/* ---- callbacks: run on whichever thread called gsasl_step ---- */

static void note_user(struct sasl_sess *s, const char *name, size_t len)
{
	if (name)
		str_copy(s->user, sizeof(s->user), name, len);
}

static bool usable_name(const char *name)
{
	return name && creds_valid_name(name, strlen(name));
}

static int set_b64(Gsasl_session *gs, Gsasl_property prop, const void *p, size_t n)
{
	char b64[(SASL_CB_MAX > CREDS_SALT_MAX ? SASL_CB_MAX : CREDS_SALT_MAX) / 3 * 4 + 8];
	if (base64_encoded_len(n) + 1 > sizeof(b64))
		return GSASL_MALLOC_ERROR;
	base64_encode(p, n, b64);
	return gsasl_property_set(gs, prop, b64);
}

static unsigned long long monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec;
}

/* SASLprep (RFC 4013) of what the client gave, as `postern passwd` did
 * before hashing; NULL when it cannot be prepared (a prohibited character,
 * not UTF-8): such a name is unknown and such a password wrong. */
static char *prepare(const char *in)
{
	char *out = NULL;
	return in && !creds_saslprep(in, &out) ? out : NULL;
}

static void free_secret(char *p)
{
	if (p) {
		creds_wipe(p, strlen(p));
		free(p);
	}
}

/* PLAIN and LOGIN: check a password against the crypt hash; authid and
 * password are prepared here (LOGIN hands over the octets as sent). */
static bool check_simple(struct sasl_sess *s, const char *authid, const char *pw)
{
	char *name = prepare(authid);
	char *prep = prepare(pw);
	if (name)
		note_user(s, name, strlen(name));
	else if (authid)
		note_user(s, authid, strlen(authid));
	bool name_ok = usable_name(name);
	/* An unusable name still costs one hash computation: same time. Only
	 * a password already checked good skips it (verify_cache.h). */
	const struct creds_user *u = name_ok ? creds_db_find(s->db, name) : NULL;
	unsigned long long now = monotonic_s();
	enum creds_verdict v;
	if (u && prep && creds_cache_check(s->srv->cache, u, prep, now)) {
		v = CREDS_OK;
		s->reason = "password cache";
	} else {
		v = creds_verify_password(s->db, name_ok ? name : NULL, prep ? prep : "");
		if (v == CREDS_OK && !prep)
			v = CREDS_BAD; /* refused by SASLprep: wrong, even against a hash of "" */
		if (v == CREDS_OK)
			creds_cache_put(s->srv->cache, u, prep, now);
	}
	free_secret(prep);
	free(name);
	if (v == CREDS_OK)
		return true;
	if (v == CREDS_ERROR) {
		s->tempfail = true;
		s->reason = "password check failed (bad hash in the users file?)";
	} else if (!name_ok) {
		s->reason = "bad user name";
	} else {
		s->reason = !u ? "unknown user" : u->hash[0] != '$' ? "no password hash for this user"
								     : "wrong password";
	}
	return false;
}

/* LOGIN through gsasl's VALIDATE_SIMPLE callback. */
static int validate_simple(struct sasl_sess *s, Gsasl_session *gs)
{
	const char *pw = gsasl_property_fast(gs, GSASL_PASSWORD);
	bool ok = check_simple(s, gsasl_property_fast(gs, GSASL_AUTHID), pw);
	/* LOGIN keeps its own copy; the property is not needed any more and
	 * libgsasl would free it without wiping it */
	if (pw) {
		creds_wipe((char *)pw, strlen(pw));
		gsasl_property_set(gs, GSASL_PASSWORD, NULL);
	}
	return ok ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
}

/* PLAIN (RFC 4616 §2): [authzid] NUL authcid NUL passwd, parsed here
 * rather than by gsasl: GNU SASL 2.2.0's PLAIN server prepares with its
 * inverted flag and refuses any password holding an emoji as malformed. */
static enum sasl_step_status plain_step(struct sasl_sess *s, const unsigned char *in, size_t len);
static enum sasl_step_status cram_step(struct sasl_sess *s, const unsigned char *in, size_t len,
				       unsigned char **out, size_t *outlen);

/* SCRAM: iteration count, salt, StoredKey, ServerKey. Users without keys
 * get plausible ones, so the exchange only fails at the proof. */
static int scram_prop(struct sasl_sess *s, Gsasl_session *gs, Gsasl_property prop)
{
	enum creds_scram_hash h = (enum creds_scram_hash)mech_info[s->mech].scram;
	if (!s->scram_ready) {
		/* RFC 5802 §5.1: the client SHOULD have prepared the name;
		 * prepare it again, as passwd did, for those that did not */
		const char *authid = gsasl_property_fast(gs, GSASL_AUTHID);
		char *name = prepare(authid);
		if (name || authid)
			note_user(s, name ? name : authid, strlen(name ? name : authid));
		const struct creds_user *u = usable_name(name) ? creds_db_find(s->db, name) : NULL;
		if (u && u->scram[h].iter) {
			s->keys = u->scram[h];
			s->scram_known = true;
		} else {
			creds_scram_dummy(s->db, h, s->srv->secret, s->user, &s->keys);
			s->scram_known = false;
			s->reason = !u ? "unknown user" : "no SCRAM keys for this user";
		}
		free(name);
		s->scram_ready = true;
	}
	size_t kl = creds_scram_key_len(h);
	switch (prop) {
	case GSASL_SCRAM_ITER: {
		char it[16];
		snprintf(it, sizeof(it), "%u", s->keys.iter);
		return gsasl_property_set(gs, prop, it);
	}
	case GSASL_SCRAM_SALT:
		return set_b64(gs, prop, s->keys.salt, s->keys.salt_len);
	case GSASL_SCRAM_STOREDKEY:
		return set_b64(gs, prop, s->keys.stored_key, kl);
	default:
		return set_b64(gs, prop, s->keys.server_key, kl);
	}
}


static int gs_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop)
{
	(void)ctx;
	struct sasl_sess *s = gs ? gsasl_session_hook_get(gs) : NULL;
	if (!s)
		return GSASL_NO_CALLBACK;
	switch (prop) {
	case GSASL_VALIDATE_SIMPLE:
		if (s->mech != M_LOGIN)
			return GSASL_NO_CALLBACK;
		return validate_simple(s, gs);
	case GSASL_SCRAM_ITER:
	case GSASL_SCRAM_SALT:
	case GSASL_SCRAM_STOREDKEY:
	case GSASL_SCRAM_SERVERKEY:
		if (mech_info[s->mech].scram < 0)
			return GSASL_NO_CALLBACK;
		return scram_prop(s, gs, prop);
	case GSASL_PASSWORD: /* never learnt from us */
	case GSASL_CB_TLS_EXPORTER:
		if (s->cb.type != SASL_CB_TLS_EXPORTER)
			return GSASL_NO_CALLBACK;
		return set_b64(gs, prop, s->cb.data, s->cb.len);
	case GSASL_CB_TLS_UNIQUE:
		if (s->cb.type != SASL_CB_TLS_UNIQUE)
			return GSASL_NO_CALLBACK;
		return set_b64(gs, prop, s->cb.data, s->cb.len);
	default:
		return GSASL_NO_CALLBACK;
	}
}

/* ---- sessions ---- */

enum sasl_start_status sasl_sess_start(struct sasl_server *srv, struct creds_db *db,
				       const char *mech, bool tls, const struct sasl_cb *cb,
				       struct sasl_sess **out)
{
	*out = NULL;
	int m = find_mech(mech, strlen(mech));
	if (m < 0)
		return SASL_START_UNKNOWN;
	enum mech base = mech_info[m].base;
	if (!offered(srv, base))
		return base == M_CRAM ? SASL_START_TOO_WEAK : SASL_START_UNKNOWN;
	bool have_cb = tls && cb && cb->type != SASL_CB_NONE && cb->len && cb->len <= SASL_CB_MAX &&
		       !srv->no_channel_binding;
	if (base != (enum mech)m && !have_cb)
		return SASL_START_UNKNOWN; /* -PLUS is offered only with channel binding */
	if (mech_info[m].plaintext && !tls && !srv->plaintext)
		return SASL_START_NEEDS_TLS;
	if (!db)
		return SASL_START_TEMPFAIL;
	struct sasl_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return SASL_START_TEMPFAIL;
	s->srv = srv;
	s->mech = (enum mech)m;
	if (have_cb)
		s->cb = *cb;
	if (m != M_PLAIN && m != M_CRAM) {
		if (gsasl_server_start(srv->ctx, mech_info[m].name, &s->gs) != GSASL_OK) {
			free(s);
			return SASL_START_TEMPFAIL;
		}
		gsasl_session_hook_set(s->gs, s);
	}
	s->db = creds_db_ref(db);
	*out = s;
	return SASL_START_OK;
}

/* RFC 4422 §3.4.1: no identity other than the user's own, unless allowed;
 * compared prepared, as the user name was (s->user). */
static bool authzid_allowed(struct sasl_sess *s, const char *authzid)
{
	if (s->srv->allow_authzid || !authzid || !*authzid)
		return true;
	char *z = prepare(authzid);
	bool same = z && !strcmp(z, s->user);
	free(z);
	if (!same)
		s->reason = "authorization identity differs from the user";
	return same;
}

static bool authzid_ok(struct sasl_sess *s)
{
	const char *authid = gsasl_property_fast(s->gs, GSASL_AUTHID);
	if (!authid)
		return false;
	if (!s->user[0])
		note_user(s, authid, strlen(authid));
	return authzid_allowed(s, gsasl_property_fast(s->gs, GSASL_AUTHZID));
}

static enum sasl_step_status fail(struct sasl_sess *s, const char *why)
{
	if (!s->reason)
		s->reason = why;
	s->finished = true;
	return s->tempfail ? SASL_STEP_TEMPFAIL : SASL_STEP_FAILED;
}

/* gsasl's LOGIN asks "User Name" and "Password"; SMTP servers (and SPEC §3)
 * say "Username:" and "Password:". */
static void login_prompt(struct sasl_sess *s, char **o, size_t *ol)
{
	const char *p = NULL;
	if (*ol == 9 && !memcmp(*o, "User Name", 9)) {
		p = "Username:";
		s->login_stage = 1;
	} else if (*ol == 8 && !memcmp(*o, "Password", 8)) {
		p = "Password:";
		s->login_stage = 2;
	}
	if (!p)
		return;
	char *n = strdup(p);
	if (!n)
		return;
	free(*o);
	*o = n;
	*ol = strlen(n);
}

enum sasl_step_status sasl_sess_step(struct sasl_sess *s, const unsigned char *in, size_t len,
				     unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	s->reason = NULL;
	s->tempfail = false;
	if (s->finished)
		return fail(s, "exchange already finished");
	if (s->await_empty) {
		/* RFC 4422 §5: additional data with success went out as a
		 * challenge; the client acknowledges it with an empty response */
		if (!in || len)
			return fail(s, "malformed");
		s->finished = true;
		return SASL_STEP_SUCCESS;
	}
	bool first = s->steps++ == 0;
	/* PLAIN and SCRAM begin with the client: an empty response ("=" as
	 * the initial response, or an empty line) is malformed, not a request
	 * for another empty challenge */
	if (in && len == 0 && mech_info[s->mech].client_first)
		return fail(s, "empty response");
	if (first && in && s->mech == M_CRAM)
		return fail(s, "initial response to a server-first mechanism");
	if (s->mech == M_PLAIN)
		return plain_step(s, in, in ? len : 0);
	if (s->mech == M_CRAM)
		return cram_step(s, in, in ? len : 0, out, outlen);
	/* RFC 5802 §6: "p" (the client binds) with a mechanism that is not
	 * -PLUS must fail; libgsasl only checks "y" */
	if (first && in && len && in[0] == 'p' && mech_info[s->mech].scram >= 0 &&
	    mech_info[s->mech].base == s->mech)
		return fail(s, "channel binding requested without -PLUS");
	char *o = NULL;
	size_t ol = 0;
	int rc;
	if (s->mech == M_LOGIN && first && in) {
		/* the initial response is the user name: skip the first prompt */
		rc = gsasl_step(s->gs, NULL, 0, &o, &ol);
		free(o);
		o = NULL;
		ol = 0;
		if (rc != GSASL_NEEDS_MORE)
			return fail(s, "LOGIN did not start");
		s->login_stage = 1;
	}
	if (s->mech == M_LOGIN && s->login_stage == 1 && in && len && !memchr(in, 0, len))
		note_user(s, (const char *)in, len);
	/* An empty user name still gets "Password:" and a real check, as a
	 * wrong one does (SPEC §3; libgsasl failed it at once, which told it
	 * apart by its time); the password is then checked for no user. */
	if (s->mech == M_LOGIN && s->login_stage == 1 && in && !len) {
		s->login_no_user = true;
		s->login_stage = 2;
		if (!(*out = (unsigned char *)strdup("Password:"))) {
			s->tempfail = true;
			return fail(s, "out of memory");
		}
		*outlen = strlen("Password:");
		return SASL_STEP_CHALLENGE;
	}
	if (s->mech == M_LOGIN && s->login_no_user) {
		char *pw = in ? strndup((const char *)in, len) : NULL;
		(void)check_simple(s, "", pw ? pw : "");
		free_secret(pw);
		s->reason = "empty user name";
		return fail(s, "authentication failed");
	}
	rc = gsasl_step(s->gs, (const char *)in, in ? len : 0, &o, &ol);
	if (rc == GSASL_NEEDS_MORE) {
		if (s->mech == M_LOGIN)
			login_prompt(s, &o, &ol);
		*out = (unsigned char *)o;
		*outlen = ol;
		return SASL_STEP_CHALLENGE;
	}
	if (rc == GSASL_OK) {
		if (!authzid_ok(s)) {
			free(o);
			return fail(s, "authzid refused");
		}
		if (ol) {
			*out = (unsigned char *)o;
			*outlen = ol;
			s->await_empty = true;
			return SASL_STEP_CHALLENGE;
		}
		free(o);
		s->finished = true;
		return SASL_STEP_SUCCESS;
	}
	free(o);
	if (rc == GSASL_MALLOC_ERROR || rc == GSASL_CRYPTO_ERROR)
		s->tempfail = true;
	if (rc == GSASL_AUTHENTICATION_ERROR && mech_info[s->mech].scram >= 0 && !s->reason)
		s->reason = s->scram_known ? "wrong password" : "unknown user";
	if (rc == GSASL_AUTHENTICATION_ERROR && s->mech == M_CRAM && !s->reason)
		s->reason = "wrong password";
	return fail(s, rc == GSASL_AUTHENTICATION_ERROR ? "authentication failed"
		       : rc == GSASL_MALLOC_ERROR	     ? "out of memory"
							     : "malformed");
}

const char *sasl_sess_mech(const struct sasl_sess *s)
{
	return mech_info[s->mech].name;
}

const char *sasl_sess_user(const struct sasl_sess *s)
{
	return s->user;
}

const char *sasl_sess_reason(const struct sasl_sess *s)
{
	return s->reason ? s->reason : "";
}

void sasl_sess_free(struct sasl_sess *s)
{
	if (!s)
		return;
	if (s->gs)
		gsasl_finish(s->gs);
	creds_db_unref(s->db);
	creds_wipe(&s->keys, sizeof(s->keys));
	creds_wipe(&s->cb, sizeof(s->cb));
	free(s);
}

bool sasl_mech_server_first(const char *mech)
{
	int m = find_mech(mech, strlen(mech));
	return m >= 0 && mech_info[m].server_first;
}

enum smtp_auth_start sasl_start_reply(enum sasl_start_status st)
{
	switch (st) {
	case SASL_START_OK:
		return SMTP_AUTH_START_OK;
	case SASL_START_NEEDS_TLS:
		return SMTP_AUTH_START_NEEDS_TLS;
	case SASL_START_TOO_WEAK:
		return SMTP_AUTH_START_TOO_WEAK;
	case SASL_START_TEMPFAIL:
		return SMTP_AUTH_START_TEMPFAIL;
	default:
		return SMTP_AUTH_START_UNKNOWN;
	}
}

static enum sasl_step_status plain_step(struct sasl_sess *s, const unsigned char *in, size_t len)
{
	if (!in)
		return SASL_STEP_CHALLENGE; /* no initial response: "334 " */
	const unsigned char *nul1 = memchr(in, 0, len);
	const unsigned char *nul2 = nul1 ? memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - in)) : NULL;
	/* exactly two NULs, a name and a password (RFC 4616 §2: 1*SAFE) */
	if (!nul2 || memchr(nul2 + 1, 0, len - (size_t)(nul2 + 1 - in)) || nul2 == nul1 + 1 ||
	    nul2 + 1 == in + len)
		return fail(s, "malformed");
	size_t zl = (size_t)(nul1 - in), cl = (size_t)(nul2 - nul1 - 1);
	size_t pl = len - (size_t)(nul2 + 1 - in);
	char *authzid = strndup((const char *)in, zl);
	char *authcid = strndup((const char *)nul1 + 1, cl);
	char *pw = strndup((const char *)nul2 + 1, pl);
	if (!authzid || !authcid || !pw) {
		free(authzid);
		free(authcid);
		free_secret(pw);
		s->tempfail = true;
		return fail(s, "out of memory");
	}
	bool ok = check_simple(s, authcid, pw); /* the hash is paid first: same time */
	free_secret(pw);
	ok = ok && authzid_allowed(s, authzid);
	free(authzid);
	free(authcid);
	if (!ok)
		return fail(s, "authentication failed");
	s->finished = true;
	return SASL_STEP_SUCCESS;
}

/* CRAM-MD5 (cram.h): the challenge, then "user SP digest". A user without
 * a CRAM-MD5 secret, or unknown, has the digest checked against a random
 * one, so the answer takes as long as for a wrong password. */
static enum sasl_step_status cram_step(struct sasl_sess *s, const unsigned char *in, size_t len,
				       unsigned char **out, size_t *outlen)
{
	if (!s->challenge[0]) {
		uint64_t r;
		if (creds_random(&r, sizeof(r))) {
			s->tempfail = true;
			return fail(s, "no random numbers");
		}
		size_t n = cram_challenge(s->challenge, r, time(NULL), s->srv->hostname);
		if (!n || !(*out = (unsigned char *)strdup(s->challenge))) {
			s->tempfail = true;
			return fail(s, "out of memory");
		}
		*outlen = n;
		return SASL_STEP_CHALLENGE;
	}
	size_t user_len;
	if (!cram_parse(in, len, &user_len) || user_len == 0)
		return fail(s, "malformed");
	note_user(s, (const char *)in, user_len);
	char *name = strndup((const char *)in, user_len);
	const struct creds_user *u = name && usable_name(name) ? creds_db_find(s->db, name) : NULL;
	free(name);
	char dummy[33];
	const char *secret = u && u->cram_md5 ? u->cram_md5 : NULL;
	if (!secret) {
		unsigned char r[16];
		if (creds_random(r, sizeof(r)))
			memset(r, 0x5a, sizeof(r));
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(dummy + 2 * i, 3, "%02x", r[i]);
		secret = dummy;
	}
	bool ok = cram_verify(in, len, secret, s->challenge) && secret != dummy;
	creds_wipe(dummy, sizeof(dummy));
	if (!ok) {
		s->reason = !u ? "unknown user" : !u->cram_md5 ? "no CRAM-MD5 secret for this user"
							  : "wrong password";
		return fail(s, "authentication failed");
	}
	s->finished = true;
	return SASL_STEP_SUCCESS;
}
