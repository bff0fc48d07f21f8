/* The queue's on-disk records (pure: bytes in, bytes out; no file I/O).
 *
 * Every record is a 16-octet header and a payload:
 *
 *   0  "PQR1"          magic
 *   4  type            'M' message, 'S' state snapshot, 'D' done
 *   5  0 0 0           reserved, must be zero
 *   8  u32 LE          payload length (<= QREC_MAX_PAYLOAD)
 *   12 u32 LE          CRC-32 (zlib) of octets 4..11 and the payload
 *
 * Payloads (str = u16 LE length + octets; integers little-endian):
 *   M  str id, u64 queued_at, str from, u8 flags (1 SMTPUTF8, 2 8-bit
 *      body), u32 nrcpt, nrcpt x str rcpt,
 *      u64 size, u8 body (0 inline, 1 spill file), u32 body_crc,
 *      then for an inline body exactly `size` octets of message
 *   S  str id, u32 attempts, u64 next_try, u8 held, u32 nrcpt,
 *      nrcpt x (u8 status, str text)
 *   D  str id
 * A record whose header, length or CRC does not check out is where a
 * segment ends (a torn append at a crash): nothing after it is read. */
#ifndef POSTERN_QUEUE_RECORD_H
#define POSTERN_QUEUE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define QREC_HDR 16
/* An inline body is at most QUEUE_INLINE_MAX; the envelope of the largest
 * recipient count fits easily. Bounds the read before the parse. */
#define QREC_MAX_PAYLOAD ((uint32_t)8 * 1024 * 1024)
#define QREC_ID_MAX 31
#define QREC_TEXT_MAX 512
#define QREC_STR_MAX 65535u

enum qrec_type { QREC_MSG = 'M', QREC_STATE = 'S', QREC_DONE = 'D' };

/* Per-recipient delivery state (S records, in memory). */
enum qrec_rcpt { QREC_RCPT_PENDING = 0, QREC_RCPT_DELIVERED = 1, QREC_RCPT_FAILED = 2 };

/* A string inside a parsed payload: not NUL-terminated, valid while the
 * payload buffer is. */
struct qrec_str {
	const char *p;
	size_t len;
};

struct qrec_msg {
	char id[QREC_ID_MAX + 1];
	uint64_t queued_at;
	struct qrec_str from;
	uint8_t flags;
	uint32_t nrcpt;
	const unsigned char *rcpts; /* nrcpt strings, walk with qrec_next_str */
	size_t rcpts_len;
	uint64_t size;
	bool spill;
	uint32_t body_crc;
	const unsigned char *body; /* inline body (size octets), NULL for spill */
};

struct qrec_state {
	char id[QREC_ID_MAX + 1];
	uint32_t attempts;
	uint64_t next_try;
	bool held;
	uint32_t nrcpt;
	const unsigned char *rcpts; /* nrcpt (u8 status, str text): qrec_next_rcpt */
	size_t rcpts_len;
};

/* The M record's flags: what the backend must know of MAIL's parameters. */
#define QREC_F_SMTPUTF8 1u
#define QREC_F_8BIT 2u
#define QREC_F_BINARY 4u

enum qrec_parse {
	QREC_OK,
	QREC_INCOMPLETE, /* more octets needed (header: 16, else 16 + length) */
	QREC_BAD,        /* not a record: the segment ends here */
};

/* Check the header at p (n octets available). On QREC_OK sets *type and
 * *payload_len; QREC_INCOMPLETE if n < QREC_HDR. The CRC is checked by
 * qrec_check once the payload is read. */
enum qrec_parse qrec_header(const unsigned char *p, size_t n, enum qrec_type *type,
			    uint32_t *payload_len);
/* Header and payload together (QREC_HDR + payload_len octets): CRC. */
bool qrec_check(const unsigned char *rec, size_t n);

/* Payload parsers: every length is checked against n; false on anything
 * malformed (trailing octets included). */
bool qrec_parse_msg(const unsigned char *p, size_t n, struct qrec_msg *m);
bool qrec_parse_state(const unsigned char *p, size_t n, struct qrec_state *s);
bool qrec_parse_done(const unsigned char *p, size_t n, char id[QREC_ID_MAX + 1]);
/* Walk a string list: p and n advance; false at the end or on a bad length. */
bool qrec_next_str(const unsigned char **p, size_t *n, struct qrec_str *out);
bool qrec_next_rcpt(const unsigned char **p, size_t *n, uint8_t *status, struct qrec_str *text);

/* Encoding into a bounded buffer: the envelope of an M record without its
 * body; the caller appends the body octets (inline) and then seals. */
struct qrec_envelope {
	const char *id;
	uint64_t queued_at;
	const char *from;
	uint8_t flags;
	const char *const *rcpts;
	uint32_t nrcpt;
	uint64_t size;
	bool spill;
	uint32_t body_crc;
};
/* Start a record of type t in b (b cleared): QREC_HDR octets of room for
 * the header, which qrec_seal fills once the payload is in. */
int qrec_begin(struct buf *b, enum qrec_type t);
int qrec_put_envelope(struct buf *b, const struct qrec_envelope *e);
struct qrec_state_out {
	const char *id;
	uint32_t attempts;
	uint64_t next_try;
	bool held;
	uint32_t nrcpt;
	const uint8_t *status;
	const char *const *text; /* NULL entries: "" */
};
int qrec_put_state(struct buf *b, const struct qrec_state_out *s);
int qrec_put_str(struct buf *b, const char *s, size_t n);
/* Fill length and CRC for a record of QREC_HDR + plen octets at b->data,
 * where body (bodylen octets, may be NULL) follows b's octets on disk and is
 * counted in the length and CRC without being copied. */
void qrec_seal(struct buf *b, const void *body, size_t bodylen);
/* The same, for a body whose CRC-32 the caller has (as it streamed by):
 * the body is not read again. */
void qrec_seal_crc(struct buf *b, size_t bodylen, uint32_t body_crc);

/* CRC-32 as zlib computes it; start with crc = 0. */
uint32_t qrec_crc(uint32_t crc, const void *p, size_t n);

#endif
