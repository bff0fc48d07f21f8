/* Counting Received fields (hops.h). */
#include "smtp/hops.h"

#include <limits.h>

#define NAME "received"
#define NAME_LEN 8
#define BLANKS (NAME_LEN + 1) /* matched the name: blanks, then ":" */
#define NO_MATCH (NAME_LEN + 2)

void smtp_hops_init(struct smtp_hops *h)
{
	*h = (struct smtp_hops){0};
}

void smtp_hops_feed(struct smtp_hops *h, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !h->body; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			h->body = h->col == 0; /* an empty line ends the header section */
			h->col = 0;
			h->match = 0;
			continue;
		}
		if (c == '\r')
			continue;
		h->col++;
		if (h->match < NAME_LEN) {
			unsigned char lc = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
			h->match = lc == (unsigned char)NAME[h->match] ? h->match + 1 : NO_MATCH;
			if (h->match == NAME_LEN)
				h->match = BLANKS;
		} else if (h->match == BLANKS) {
			if (c == ':') {
				if (h->count < UINT_MAX)
					h->count++;
				h->match = NO_MATCH;
			} else if (c != ' ' && c != '\t') {
				h->match = NO_MATCH;
			}
		}
	}
}
