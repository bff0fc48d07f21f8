/* libFuzzer target for the scan of pasted transcripts (src/client/paste.c)
 * and the explanation of what it finds (src/client/explain.c): any bytes
 * must give bounded, NUL-terminated codes that explain as text and JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/explain.h"
#include "client/paste.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

/* Explaining is the slow part: every code found is checked, the first one
 * is explained too (text, wrapped, and JSON), so the smoke stays fast. */
#define EXPLAINED_MAX 1

static int each(void *arg, const struct client_explain_code *c)
{
	struct buf out, wrapped;
	size_t *seen = arg;

	check(memchr(c->text, '\0', sizeof(c->text)) != NULL);
	check(c->basic == 0 || (c->basic >= 200 && c->basic <= 559));
	check(c->cls == 0 || c->cls == 2 || c->cls == 4 || c->cls == 5 || c->cls == CLIENT_EXPLAIN_ANY_CLASS);
	if ((*seen)++ >= EXPLAINED_MAX)
		return 0;
	buf_init(&out, CLIENT_EXPLAIN_MAX_OUTPUT);
	check(client_explain_text(&out, c, 1, NULL) == BUF_OK);
	buf_init(&wrapped, CLIENT_EXPLAIN_MAX_OUTPUT * 2);
	check(client_explain_wrap(&wrapped, out.data, out.len, 40) == BUF_OK);
	buf_fini(&wrapped);
	buf_clear(&out);
	check(client_explain_json(&out, c, 1, NULL, "en") == BUF_OK);
	buf_fini(&out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t found = 0, seen = 0;

	check(client_paste_scan((const char *)data, size, each, &seen, &found) == 0);
	check(found == seen);
	return 0;
}
