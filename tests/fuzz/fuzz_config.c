/* libFuzzer target for the config file (src/server/config.c over libinih).
 * The input is a whole file. Whatever it holds, reading it and finishing the
 * config must not crash or leak, an error must be one line naming the line
 * number, and a file that reads must read to the same config again (the
 * table's setters are deterministic). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

#define check(x) \
	do { \
		if (!(x)) \
			abort(); \
	} while (0)

static int read_config(struct srv_config *c, const uint8_t *data, size_t size, char *err,
		       size_t errlen)
{
	srv_config_defaults(c);
	FILE *f = fmemopen((void *)data, size, "r");
	check(f != NULL);
	int rc = srv_config_read(c, f, "fuzz.conf", err, errlen);
	fclose(f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct srv_config a, b;
	char err[1024] = "", err2[1024] = "";
	int rc = read_config(&a, data, size, err, sizeof(err));
	check(memchr(err, '\0', sizeof(err)) != NULL);
	check(strchr(err, '\n') == NULL);
	if (rc != 0) {
		check(strncmp(err, "fuzz.conf: line ", 16) == 0);
	} else {
		/* the same file gives the same values */
		check(read_config(&b, data, size, err2, sizeof(err2)) == 0);
		for (size_t i = 0; i < srv_config_nkeys; i++) {
			const struct srv_key *k = &srv_config_keys[i];
			const char *pa = (const char *)&a + k->offset, *pb = (const char *)&b + k->offset;
			if (k->type == SRV_KEY_STR) {
				const char *sa = *(char *const *)(const void *)pa;
				const char *sb = *(char *const *)(const void *)pb;
				check((sa == NULL) == (sb == NULL) && (!sa || strcmp(sa, sb) == 0));
			} else if (k->type != SRV_KEY_LIST) {
				check(memcmp(pa, pb, k->size) == 0);
			}
		}
		srv_config_free(&b);
		if (srv_config_finish(&a, err, sizeof(err)) != 0)
			check(err[0] != '\0' && strchr(err, '\n') == NULL);
	}
	srv_config_free(&a);
	return 0;
}
