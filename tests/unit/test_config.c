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
	assert_int_equal(c.nlisten[SRV_LISTEN_SMTP], 1);
	assert_string_equal(c.listen[SRV_LISTEN_SMTP][0], "127.0.0.1:2525");
	for (int k = SRV_LISTEN_TLS; k < SRV_LISTEN_KINDS; k++)
		assert_int_equal(c.nlisten[k], 0);
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
	assert_int_equal(c.nlisten[SRV_LISTEN_SMTP], 1);
	assert_string_equal(c.listen[SRV_LISTEN_SMTP][0], "127.0.0.1:2"); /* the flag wins */
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

/* Each listener kind: its key, its flag, what it needs, what its sessions require. */
static void submission_listeners(void **st)
{
	struct srv_config c;
	char err[512];
	(void)st;

	srv_config_defaults(&c);
	char *ok[] = { "posternd", "--users", "/nonexistent/users", "--tls-cert", "c.pem", "--tls-key",
		       "k.pem", "--listen-submission", "127.0.0.1:587", "--listen-submissions",
		       "127.0.0.1:465", "--listen-submission", "[::1]:587", NULL };
	assert_int_equal(srv_config_load(&c, 13, ok, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten[SRV_LISTEN_SMTP], 0); /* no default SMTP listener then */
	assert_int_equal(c.nlisten[SRV_LISTEN_SUBMISSION], 2);
	assert_string_equal(c.listen[SRV_LISTEN_SUBMISSION][1], "[::1]:587");
	assert_int_equal(c.nlisten[SRV_LISTEN_SUBMISSIONS], 1);
	/* the submission sessions need AUTH, and TLS first; plain SMTP neither */
	assert_true(c.submission.require_auth);
	assert_true(c.submission.require_tls);
	assert_false(c.smtp.require_auth);
	assert_false(c.smtp.require_tls);
	assert_string_equal(c.submission.hostname, c.smtp.hostname);
	assert_int_equal(c.submission.max_message_size, c.smtp.max_message_size);
	srv_config_free(&c);

	assert_string_equal(srv_listen_key(SRV_LISTEN_SUBMISSIONS), "listen_submissions");
	assert_true(srv_listen_implicit_tls(SRV_LISTEN_SUBMISSIONS));
	assert_false(srv_listen_implicit_tls(SRV_LISTEN_SUBMISSION));
	assert_true(srv_listen_is_submission(SRV_LISTEN_SUBMISSION));
	assert_false(srv_listen_is_submission(SRV_LISTEN_TLS));

	/* without a certificate: AUTH is still required, TLS cannot be */
	srv_config_defaults(&c);
	char *plain[] = { "posternd", "--users", "u", "--listen-submission", "127.0.0.1:587", NULL };
	assert_int_equal(srv_config_load(&c, 5, plain, err, sizeof(err)), 0);
	assert_true(c.submission.require_auth);
	assert_false(c.submission.require_tls);
	srv_config_free(&c);

	/* submission without users, submissions without a certificate: named errors */
	srv_config_defaults(&c);
	char *nousers[] = { "posternd", "--listen-submission", "127.0.0.1:587", NULL };
	assert_int_equal(srv_config_load(&c, 3, nousers, err, sizeof(err)), -1);
	assert_string_equal(err, "listen_submission = \"127.0.0.1:587\" needs a users file "
				 "(users = FILE or --users FILE)");
	srv_config_free(&c);
	srv_config_defaults(&c);
	char *nocert[] = { "posternd", "--users", "u", "--listen-submissions", "127.0.0.1:465", NULL };
	assert_int_equal(srv_config_load(&c, 5, nocert, err, sizeof(err)), -1);
	assert_string_equal(err, "listen_submissions = \"127.0.0.1:465\" needs a certificate "
				 "(tls_cert and tls_key)");
	srv_config_free(&c);

	/* at most SRV_MAX_LISTEN listeners of all kinds together */
	srv_config_defaults(&c);
	char many[SRV_MAX_LISTEN * 24] = "";
	for (int i = 0; i < SRV_MAX_LISTEN; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "127.0.0.1:%d ", 1000 + i);
	assert_int_equal(srv_config_set(&c, "listen", many, err, sizeof(err)), 0);
	assert_int_equal(srv_config_set(&c, "users", "u", err, sizeof(err)), 0);
	assert_int_equal(srv_config_set(&c, "listen_submission", "127.0.0.1:587", err, sizeof(err)), 0);
	assert_int_equal(srv_config_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16 listeners in all"));
	srv_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(file_and_flags),
		cmocka_unit_test(submission_listeners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
