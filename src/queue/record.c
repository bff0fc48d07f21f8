/* The queue's record format (record.h): encoding and bounded parsing. */
#include "queue/record.h"

#include <string.h>
#include <zlib.h>

static const unsigned char magic[4] = {'P', 'Q', 'R', '1'};

uint32_t qrec_crc(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	while (n > 0) { /* zlib takes uInt lengths */
		uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = (uint32_t)crc32(crc, s, chunk);
		s += chunk;
		n -= chunk;
	}
	return crc;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

enum qrec_parse qrec_header(const unsigned char *p, size_t n, enum qrec_type *type,
			    uint32_t *payload_len)
{
	if (n < QREC_HDR)
		return QREC_INCOMPLETE;
	if (memcmp(p, magic, 4) != 0 || p[5] || p[6] || p[7])
		return QREC_BAD;
	if (p[4] != QREC_MSG && p[4] != QREC_STATE && p[4] != QREC_DONE)
		return QREC_BAD;
	uint32_t len = get32(p + 8);
	if (len > QREC_MAX_PAYLOAD)
		return QREC_BAD;
	*type = (enum qrec_type)p[4];
	*payload_len = len;
	return QREC_OK;
}

bool qrec_check(const unsigned char *rec, size_t n)
{
	if (n < QREC_HDR || get32(rec + 8) != n - QREC_HDR)
		return false;
	uint32_t crc = qrec_crc(0, rec + 4, 8);
	crc = qrec_crc(crc, rec + QREC_HDR, n - QREC_HDR);
	return crc == get32(rec + 12);
}

/* ---- reading a payload ---- */

struct rd {
	const unsigned char *p;
	size_t n;
	bool ok;
};

static const unsigned char *take(struct rd *r, size_t k)
{
	if (!r->ok || r->n < k) {
		r->ok = false;
		return NULL;
	}
	const unsigned char *at = r->p;
	r->p += k;
	r->n -= k;
	return at;
}

static uint64_t rd_int(struct rd *r, size_t width)
{
	const unsigned char *p = take(r, width);
	uint64_t v = 0;
	for (size_t i = 0; p && i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static struct qrec_str rd_str(struct rd *r)
{
	size_t len = (size_t)rd_int(r, 2);
	struct qrec_str s = {(const char *)take(r, len), len};
	if (!r->ok)
		s.len = 0;
	return s;
}

/* A queue id: 1..QREC_ID_MAX octets of [0-9A-Za-z] (it names files). */
static bool rd_id(struct rd *r, char id[QREC_ID_MAX + 1])
{
	struct qrec_str s = rd_str(r);
	if (!r->ok || s.len == 0 || s.len > QREC_ID_MAX)
		return r->ok = false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return r->ok = false;
	}
	memcpy(id, s.p, s.len);
	id[s.len] = '\0';
	return true;
}

bool qrec_next_str(const unsigned char **p, size_t *n, struct qrec_str *out)
{
	struct rd r = {*p, *n, true};
	*out = rd_str(&r);
	if (!r.ok)
		return false;
	*p = r.p;
	*n = r.n;
	return true;
}

bool qrec_next_rcpt(const unsigned char **p, size_t *n, uint8_t *status, struct qrec_str *text)
{
	struct rd r = {*p, *n, true};
	*status = (uint8_t)rd_int(&r, 1);
	*text = rd_str(&r);
	if (!r.ok || *status > QREC_RCPT_FAILED || text->len > QREC_TEXT_MAX)
		return false;
	*p = r.p;
	*n = r.n;
	return true;
}

bool qrec_parse_msg(const unsigned char *p, size_t n, struct qrec_msg *m)
{
	struct rd r = {p, n, true};
	memset(m, 0, sizeof(*m));
	if (!rd_id(&r, m->id))
		return false;
	m->queued_at = rd_int(&r, 8);
	m->from = rd_str(&r);
	m->flags = (uint8_t)rd_int(&r, 1);
	m->nrcpt = (uint32_t)rd_int(&r, 4);
	if (!r.ok || m->nrcpt == 0 || (m->flags & ~(QREC_F_SMTPUTF8 | QREC_F_8BIT | QREC_F_BINARY)))
		return false;
	m->rcpts = r.p;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		struct qrec_str s = rd_str(&r);
		if (!r.ok || s.len == 0)
			return false;
	}
	m->rcpts_len = (size_t)(r.p - m->rcpts);
	m->size = rd_int(&r, 8);
	uint64_t kind = rd_int(&r, 1);
	m->body_crc = (uint32_t)rd_int(&r, 4);
	if (!r.ok || kind > 1)
		return false;
	m->spill = kind == 1;
	if (m->spill)
		return r.n == 0;
	if (m->size != r.n)
		return false;
	m->body = r.p;
	return qrec_crc(0, m->body, r.n) == m->body_crc;
}

bool qrec_parse_state(const unsigned char *p, size_t n, struct qrec_state *s)
{
	struct rd r = {p, n, true};
	memset(s, 0, sizeof(*s));
	if (!rd_id(&r, s->id))
		return false;
	s->attempts = (uint32_t)rd_int(&r, 4);
	s->next_try = rd_int(&r, 8);
	uint64_t held = rd_int(&r, 1);
	s->nrcpt = (uint32_t)rd_int(&r, 4);
	if (!r.ok || held > 1 || s->nrcpt == 0)
		return false;
	s->held = held == 1;
	s->rcpts = r.p;
	s->rcpts_len = r.n;
	const unsigned char *q = r.p;
	size_t left = r.n;
	for (uint32_t i = 0; i < s->nrcpt; i++) {
		uint8_t st;
		struct qrec_str text;
		if (!qrec_next_rcpt(&q, &left, &st, &text))
			return false;
	}
	return left == 0;
}

bool qrec_parse_done(const unsigned char *p, size_t n, char id[QREC_ID_MAX + 1])
{
	struct rd r = {p, n, true};
	return rd_id(&r, id) && r.n == 0;
}

/* ---- encoding ---- */

static int put_int(struct buf *b, uint64_t v, size_t width)
{
	unsigned char o[8];
	for (size_t i = 0; i < width; i++)
		o[i] = (unsigned char)(v >> (8 * i));
	return buf_append(b, o, width);
}

int qrec_put_str(struct buf *b, const char *s, size_t n)
{
	if (n > QREC_STR_MAX)
		return BUF_TOO_BIG;
	int rc = put_int(b, n, 2);
	return rc ? rc : buf_append(b, s, n);
}

int qrec_begin(struct buf *b, enum qrec_type t)
{
	unsigned char h[QREC_HDR] = {'P', 'Q', 'R', '1', (unsigned char)t};
	buf_clear(b);
	return buf_append(b, h, sizeof(h));
}

int qrec_put_envelope(struct buf *b, const struct qrec_envelope *e)
{
	int rc = qrec_put_str(b, e->id, strlen(e->id));
	rc = rc ? rc : put_int(b, e->queued_at, 8);
	rc = rc ? rc : qrec_put_str(b, e->from, strlen(e->from));
	rc = rc ? rc : put_int(b, e->flags, 1);
	rc = rc ? rc : put_int(b, e->nrcpt, 4);
	for (uint32_t i = 0; !rc && i < e->nrcpt; i++)
		rc = qrec_put_str(b, e->rcpts[i], strlen(e->rcpts[i]));
	rc = rc ? rc : put_int(b, e->size, 8);
	rc = rc ? rc : put_int(b, e->spill ? 1 : 0, 1);
	return rc ? rc : put_int(b, e->body_crc, 4);
}

int qrec_put_state(struct buf *b, const struct qrec_state_out *s)
{
	int rc = qrec_put_str(b, s->id, strlen(s->id));
	rc = rc ? rc : put_int(b, s->attempts, 4);
	rc = rc ? rc : put_int(b, s->next_try, 8);
	rc = rc ? rc : put_int(b, s->held ? 1 : 0, 1);
	rc = rc ? rc : put_int(b, s->nrcpt, 4);
	for (uint32_t i = 0; !rc && i < s->nrcpt; i++) {
		const char *t = s->text && s->text[i] ? s->text[i] : "";
		size_t tl = strlen(t);
		if (tl > QREC_TEXT_MAX)
			tl = QREC_TEXT_MAX;
		rc = put_int(b, s->status[i], 1);
		rc = rc ? rc : qrec_put_str(b, t, tl);
	}
	return rc;
}

void qrec_seal_crc(struct buf *b, size_t bodylen, uint32_t body_crc)
{
	unsigned char *h = (unsigned char *)b->data;
	set32(h + 8, (uint32_t)(b->len - QREC_HDR + bodylen));
	uint32_t crc = qrec_crc(0, h + 4, 8);
	crc = qrec_crc(crc, h + QREC_HDR, b->len - QREC_HDR);
	if (bodylen) /* the CRC of the two parts, from the CRC of each */
		crc = (uint32_t)crc32_combine(crc, body_crc, (z_off_t)bodylen);
	set32(h + 12, crc);
}

void qrec_seal(struct buf *b, const void *body, size_t bodylen)
{
	qrec_seal_crc(b, bodylen, bodylen ? qrec_crc(0, body, bodylen) : 0);
}
