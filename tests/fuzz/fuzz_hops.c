/* libFuzzer target for the Received counter (smtp/hops.h). Checks: the
 * count over the whole input equals the count over the input fed in pieces
 * (a split pattern seeded by the first octet), equals a naive reference
 * over the whole buffer, and never exceeds the number of lines. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/hops.h"

#define CHECK(x)                                                                             \
	do {                                                                                 \
		if (!(x))                                                                    \
			__builtin_trap();                                                    \
	} while (0)

static bool name_is_received(const uint8_t *p, size_t n)
{
	static const char want[] = "received";
	size_t i = 0;
	for (; i < 8; i++) {
		if (i >= n)
			return false;
		uint8_t c = p[i] >= 'A' && p[i] <= 'Z' ? (uint8_t)(p[i] + 32) : p[i];
		if (c != (uint8_t)want[i])
			return false;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* The rule written plainly: lines split at LF, CRs dropped, until the
 * first empty line. */
static unsigned reference(const uint8_t *p, size_t n, unsigned *lines)
{
	unsigned count = 0;
	*lines = 0;
	uint8_t *line = malloc(n ? n : 1);
	CHECK(line != NULL);
	size_t len = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '\n') {
			(*lines)++;
			if (i < n && len == 0)
				break;
			if (name_is_received(line, len))
				count++;
			len = 0;
			continue;
		}
		if (p[i] != '\r')
			line[len++] = p[i];
	}
	free(line);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint32_t seed = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct smtp_hops whole, parts;
	smtp_hops_init(&whole);
	smtp_hops_feed(&whole, (const char *)p, n);
	smtp_hops_init(&parts);
	for (size_t off = 0; off < n;) {
		seed = seed * 1103515245u + 12345u;
		size_t k = (seed >> 16) % 9;
		if (k > n - off)
			k = n - off;
		smtp_hops_feed(&parts, (const char *)p + off, k);
		off += k;
	}
	CHECK(whole.count == parts.count && whole.body == parts.body);
	unsigned lines;
	CHECK(whole.count == reference(p, n, &lines));
	CHECK(whole.count <= lines);
	return 0;
}
