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

/* The table: keys, aliases and flags unique; every default valid; every
 * maximum fits its field; ranges enforced at both ends, in numbers. */
static void key_table(void **st)
{
	const struct srv_key *keys = srv_config_keys;
	size_t n = srv_config_nkeys;
	(void)st;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		const struct srv_key *k = &keys[i];
		assert_non_null(k->help);
		assert_true(k->def || k->def_doc); /* the sample must say what the default is */
		assert_ptr_equal(srv_config_key(k->key), k);
		if (k->alias)
			assert_ptr_equal(srv_config_key(k->alias), k);
		for (size_t j = i + 1; j < n; j++) {
			const struct srv_key *o = &keys[j];
			assert_string_not_equal(k->key, o->key);
			if (k->flag && o->flag)
				assert_string_not_equal(k->flag, o->flag);
			assert_true(!k->short_flag || k->short_flag != o->short_flag);
		}
		if (k->type == SRV_KEY_UINT) {
			assert_true(k->min <= k->max);
			assert_true(k->size == 8 || k->max < (UINT64_C(1) << (8 * k->size)));
		}
		if (k->type == SRV_KEY_BOOL || k->type == SRV_KEY_CHOICE)
			assert_true(k->size <= 8);
	}
	struct srv_config c;
	char err[512], v[32];
	srv_config_defaults(&c);
	for (size_t i = 0; i < n; i++) {
		const struct srv_key *k = &keys[i];
		if (k->def)
			assert_int_equal(srv_config_set(&c, k->key, k->def, err, sizeof(err)), 0);
		if (k->type != SRV_KEY_UINT)
			continue;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->max);
		assert_int_equal(srv_config_set(&c, k->key, v, err, sizeof(err)), 0);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->max + 1);
		assert_int_equal(srv_config_set(&c, k->key, v, err, sizeof(err)), -1);
		char want[200];
		snprintf(want, sizeof(want), "%s = \"%s\": expected a whole number from %llu to %llu",
			 k->key, v, (unsigned long long)k->min, (unsigned long long)k->max);
		assert_string_equal(err, want);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->min);
		assert_int_equal(srv_config_set(&c, k->key, v, err, sizeof(err)), 0);
		if (k->min > 0) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)k->min - 1);
			assert_int_equal(srv_config_set(&c, k->key, v, err, sizeof(err)), -1);
		}
	}
	srv_config_free(&c);

	/* the range of max_message_size is printed as a number, not as C */
	srv_config_defaults(&c);
	assert_int_equal(srv_config_set(&c, "max_message_size", "x", err, sizeof(err)), -1);
	assert_string_equal(err, "max_message_size = \"x\": expected a whole number from 0 to "
				 "1099511627776");
	/* the value in an error is quoted and escaped as in the logs */
	assert_int_equal(srv_config_set(&c, "hostname", "a\"b\\c\n", err, sizeof(err)), -1);
	assert_string_equal(err, "hostname = \"a\\\"b\\\\c\\x0a\": not a valid host name");
	assert_int_equal(srv_config_set(&c, "line_endings", "crlf", err, sizeof(err)), -1);
	assert_string_equal(err, "line_endings = \"crlf\": expected strict or lenient");
	assert_int_equal(srv_config_set(&c, "users", "", err, sizeof(err)), -1);
	assert_string_equal(err, "users = \"\": empty value");
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(srv_config_set(&c, "banner", longname, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 255 octets"));
	srv_config_free(&c);
}

/* What the table's defaults give, field by field, and what each flag sets. */
static void table_defaults_and_flags(void **st)
{
	struct srv_config c;
	char err[256];
	(void)st;
	srv_config_defaults(&c);
	assert_int_equal(c.store, STORE_MAILDIR);
	assert_string_equal(c.maildir, "/var/lib/postern/mail");
	assert_string_equal(c.banner, "ESMTP postern");
	assert_int_equal(c.smtp.max_message_size, 36700160);
	assert_int_equal(c.max_connections, 1000);
	assert_int_equal(c.max_connections_per_ip, 50);
	assert_int_equal(c.shutdown_timeout, 30);
	assert_int_equal(c.auth_delay_max, 8000);
	assert_int_equal(c.tls_handshake_timeout, 10);
	assert_int_equal(c.auth_cache_ttl, 3600);
	assert_int_equal(c.smtp.max_auth_failures, 3);
	assert_false(c.smtp.lenient_line_endings);
	assert_int_equal(c.smtp.bare_newline, SMTP_BARE_NORMALIZE);
	assert_false(c.log_debug);
	assert_null(c.users_file);
	assert_null(c.tls_cert);
	srv_config_free(&c);

	srv_config_defaults(&c);
	char *argv[] = { "posternd", "--debug", "--auth-plaintext", "--store", "discard",
			 "--line-endings", "lenient", "-H", "mx.example", "-d", "A.example",
			 "--domain", "b.example", "-m", "/tmp/md", "--max-message-size", "1000",
			 "--max-connections", "7", "--command-timeout", "9", "-w", "3", NULL };
	assert_int_equal(srv_config_load(&c, 23, argv, err, sizeof(err)), 0);
	assert_true(c.log_debug);
	assert_true(c.auth_plaintext);
	assert_int_equal(c.store, STORE_DISCARD);
	assert_true(c.smtp.lenient_line_endings);
	assert_string_equal(c.hostname, "mx.example");
	assert_int_equal(c.ndomains, 2);
	assert_string_equal(c.domains[0], "a.example");
	assert_string_equal(c.domains[1], "b.example");
	assert_string_equal(c.maildir, "/tmp/md");
	assert_int_equal(c.smtp.max_message_size, 1000);
	assert_int_equal(c.max_connections, 7);
	assert_int_equal(c.command_timeout, 9);
	assert_int_equal(c.workers, 3);
	srv_config_free(&c);

	/* the alias "domain" adds to the same list */
	srv_config_defaults(&c);
	assert_int_equal(srv_config_set(&c, "domain", "x.example", err, sizeof(err)), 0);
	assert_int_equal(srv_config_set(&c, "domains", "y.example", err, sizeof(err)), 0);
	assert_int_equal(c.ndomains, 2);
	srv_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(file_and_flags),
		cmocka_unit_test(submission_listeners),
		cmocka_unit_test(key_table),
		cmocka_unit_test(table_defaults_and_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
