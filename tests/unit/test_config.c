/* server/config: defaults, keys, the file, flags, and errors that name the key and line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static void defaults(void **st)
{
	struct srv_config c;
	char err[256];
	srv_config_defaults(&c);
	char *argv[] = { "posternd", NULL };
	assert_int_equal(srv_config_load(&c, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0], "127.0.0.1:2525");
	assert_int_equal(c.smtp.line_limit, 512);
	assert_int_equal(c.smtp.max_recipients, 100);
	assert_int_equal(c.smtp.max_errors, 10);
	assert_int_equal(c.command_timeout, 300);
	assert_string_equal(c.domains[0], "localhost");
	assert_true(c.workers >= 1);
	srv_config_free(&c);
}

static void bad_values(void **st)
{
	struct srv_config c;
	char err[256];
	srv_config_defaults(&c);
	assert_int_equal(srv_config_set(&c, "max_recipients", "99", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_recipients"));
	assert_int_equal(srv_config_set(&c, "line_limit", "511", err, sizeof(err)), -1);
	assert_int_equal(srv_config_set(&c, "line_limit", "1000", err, sizeof(err)), 0);
	assert_int_equal(srv_config_set(&c, "store", "mbox", err, sizeof(err)), -1);
	assert_int_equal(srv_config_set(&c, "bare_newline", "reject", err, sizeof(err)), 0);
	assert_int_equal(c.smtp.bare_newline, SMTP_BARE_REJECT);
	assert_int_equal(srv_config_set(&c, "nonsense", "1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nonsense"));
	assert_int_equal(srv_config_set(&c, "domains", "A.test, b.test", err, sizeof(err)), 0);
	assert_string_equal(c.domains[c.ndomains - 2], "a.test");
	srv_config_free(&c);
}

static void file_and_flags(void **st)
{
	char path[] = "/tmp/postern-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# comment\nmax_errors = 3\nlisten = 127.0.0.1:1\nworkers = 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
	struct srv_config c;
	char err[512];
	srv_config_defaults(&c);
	char *argv[] = { "posternd", "--config", path, "--listen", "127.0.0.1:2", "-w", "2", NULL };
	assert_int_equal(srv_config_load(&c, 7, argv, err, sizeof(err)), 0);
	assert_int_equal(c.smtp.max_errors, 3);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0], "127.0.0.1:2"); /* the flag wins */
	assert_int_equal(c.workers, 2);
	srv_config_free(&c);

	FILE *f = fopen(path, "w");
	fputs("workers = 1\n\nmax_errors = lots\n", f);
	fclose(f);
	srv_config_defaults(&c);
	char *argv2[] = { "posternd", "-c", path, NULL };
	assert_int_equal(srv_config_load(&c, 3, argv2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "max_errors"));
	srv_config_free(&c);

	srv_config_defaults(&c);
	char *argv3[] = { "posternd", "--bogus", NULL };
	assert_int_equal(srv_config_load(&c, 2, argv3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--bogus"));
	srv_config_free(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(file_and_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
