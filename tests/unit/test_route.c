/* store/route.c: canonical addresses (RFC 5321 §4.1.2), local domains, the
 * recipients file, and the relay rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_canonical(const char *addr, const char *want)
{
	char out[ROUTE_ADDR_MAX + 1];
	assert_true(route_canonical(addr, out, sizeof out));
	assert_string_equal(out, want);
	assert_true(strlen(out) <= strlen(addr));
}

static void test_canonical(void **state)
{
	(void)state;
	/* quotes that are not needed go: the same mailbox as the unquoted one */
	expect_canonical("\"alice\"@localhost", "alice@localhost");
	expect_canonical("\"Alice.Smith\"@Example.COM", "Alice.Smith@example.com");
	expect_canonical("\"al\\ice\"@x", "alice@x");
	expect_canonical("\"a/b\"@x", "a/b@x");
	expect_canonical("\"\xc3\xa9t\xc3\xa9\"@x", "\xc3\xa9t\xc3\xa9@x"); /* RFC 6531 */
	/* quotes that are needed stay, with only the escapes they need */
	expect_canonical("\"a b\"@x", "\"a b\"@x");
	expect_canonical("\"a\\ b\"@x", "\"a b\"@x");
	expect_canonical("\"a\\\"b\"@x", "\"a\\\"b\"@x");
	expect_canonical("\"a\\\\b\"@x", "\"a\\\\b\"@x");
	expect_canonical("\"a@b\"@x", "\"a@b\"@x");
	expect_canonical("\"\"@x", "\"\"@x");
	/* dots that a dot-string cannot hold keep the quotes */
	expect_canonical("\".x\"@x", "\".x\"@x");
	expect_canonical("\"x.\"@x", "\"x.\"@x");
	expect_canonical("\"a..b\"@x", "\"a..b\"@x");
	expect_canonical("\"..\"@x", "\"..\"@x");
	expect_canonical("\"../x\"@x", "\"../x\"@x");
	/* unquoted local parts keep their case; domains lose theirs and a final dot */
	expect_canonical("Bob@EXAMPLE.org.", "Bob@example.org");
	expect_canonical("a.b+tag@x", "a.b+tag@x");
	/* RFC 5321 §4.5.1 */
	expect_canonical("postmaster", "postmaster");
	expect_canonical("PostMaster", "postmaster");

	char out[ROUTE_ADDR_MAX + 1];
	assert_false(route_canonical("alice", out, sizeof out));
	assert_false(route_canonical("alice@", out, sizeof out));
	assert_false(route_canonical("alice@.", out, sizeof out));
	assert_false(route_canonical("@x", out, sizeof out));
	assert_false(route_canonical("\"abc@x", out, sizeof out));
	assert_false(route_canonical("\"a\"b\"@x", out, sizeof out));
	assert_false(route_canonical("\"a\\\"@x", out, sizeof out));
	assert_false(route_canonical("alice@x", out, 7));
	assert_true(route_canonical("alice@x", out, 8));
	assert_false(route_canonical(NULL, out, sizeof out));
}

/* ---- route_check ---- */

struct fx {
	struct route_table *rt;
	char path[64];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char err[256];
	assert_non_null(fx);
	assert_non_null(fx->rt = route_new());
	assert_int_equal(route_add_domain(fx->rt, "localhost", err, sizeof err), 0);
	assert_int_equal(route_add_domain(fx->rt, "Example.ORG.", err, sizeof err), 0);
	(void)snprintf(fx->path, sizeof fx->path, "/tmp/test_route.XXXXXX");
	int fd = mkstemp(fx->path);
	assert_true(fd >= 0);
	close(fd);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	route_free(fx->rt);
	unlink(fx->path);
	free(fx);
	return 0;
}

static void write_file(const struct fx *fx, const char *text)
{
	FILE *f = fopen(fx->path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void expect_route(const struct fx *fx, const char *addr, const struct route_client *client,
			 enum route_verdict v, enum route_backend b, const char *canon)
{
	struct route_answer a;
	route_check(fx->rt, addr, client, &a);
	assert_int_equal(a.verdict, v);
	assert_int_equal(a.backend, b);
	assert_string_equal(a.addr, canon);
}

static void test_local_domains(void **state)
{
	struct fx *fx = *state;
	expect_route(fx, "alice@localhost", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE, "alice@localhost");
	expect_route(fx, "\"bob\"@EXAMPLE.org.", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "bob@example.org");
	expect_route(fx, "alice@example.net", NULL, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
		     "alice@example.net");
	/* a subdomain is another domain */
	expect_route(fx, "alice@mx.example.org", NULL, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
		     "alice@mx.example.org");
	expect_route(fx, "Postmaster", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE, "postmaster");
	expect_route(fx, "alice", NULL, ROUTE_BAD_ADDRESS, ROUTE_BACKEND_NONE, "");

	char err[256];
	err[0] = '\0';
	assert_int_equal(route_add_domain(fx->rt, "", err, sizeof err), -1);
	assert_non_null(strstr(err, "not a domain"));
	assert_int_equal(route_add_domain(fx->rt, "a@b", err, sizeof err), -1);
}

static void test_recipients_file(void **state)
{
	struct fx *fx = *state;
	char err[256];

	write_file(fx, "# who may receive\n"
		       "  Alice@Example.org   # the boss\n"
		       "\n"
		       "\"carol\"@localhost\n"
		       "\"d..e\"@localhost\r\n");
	assert_int_equal(route_load_recipients(fx->rt, fx->path, err, sizeof err), 0);
	expect_route(fx, "alice@example.org", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "alice@example.org");
	expect_route(fx, "ALICE@example.org", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "ALICE@example.org");
	expect_route(fx, "\"alice\"@example.org", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "alice@example.org");
	expect_route(fx, "carol@localhost", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "carol@localhost");
	expect_route(fx, "\"d.\\.e\"@localhost", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "\"d..e\"@localhost");
	expect_route(fx, "bob@example.org", NULL, ROUTE_NO_MAILBOX, ROUTE_BACKEND_NONE,
		     "bob@example.org");
	/* postmaster is never refused (RFC 5321 §4.5.1) */
	expect_route(fx, "postMaster@example.org", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "postMaster@example.org");
	/* the list does not open other domains */
	expect_route(fx, "alice@example.net", NULL, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
		     "alice@example.net");

	/* an empty file accepts nobody but postmaster */
	write_file(fx, "# nobody\n");
	assert_int_equal(route_load_recipients(fx->rt, fx->path, err, sizeof err), 0);
	expect_route(fx, "alice@example.org", NULL, ROUTE_NO_MAILBOX, ROUTE_BACKEND_NONE,
		     "alice@example.org");
	expect_route(fx, "postmaster", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE, "postmaster");
}

static void test_recipients_file_errors(void **state)
{
	struct fx *fx = *state;
	char err[256];

	write_file(fx, "alice@localhost\nnot an address\n");
	assert_int_equal(route_load_recipients(fx->rt, fx->path, err, sizeof err), -1);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "line 2"));
	write_file(fx, "\"broken@localhost\n");
	assert_int_equal(route_load_recipients(fx->rt, fx->path, err, sizeof err), -1);
	assert_non_null(strstr(err, "line 1"));
	/* a failed load leaves no list behind: local domains still accept all */
	expect_route(fx, "anyone@localhost", NULL, ROUTE_LOCAL, ROUTE_BACKEND_STORE,
		     "anyone@localhost");

	assert_int_equal(route_load_recipients(fx->rt, "/nonexistent/recipients", err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/recipients"));
	assert_non_null(strstr(err, "No such file"));
}

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6 v6(const char *a)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	return sin6;
}

static void test_relay_rule(void **state)
{
	struct fx *fx = *state;
	char err[256];
	struct route_client authed = {.authenticated = true};
	struct route_client anon = {.authenticated = false};

	/* off by default: nobody relays */
	expect_route(fx, "x@example.net", &authed, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
		     "x@example.net");
	route_relay_authenticated(fx->rt, true);
	expect_route(fx, "x@example.net", &authed, ROUTE_RELAY, ROUTE_BACKEND_RELAY,
		     "x@example.net");
	expect_route(fx, "x@example.net", &anon, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
		     "x@example.net");
	/* local mail stays local for a client that may relay */
	expect_route(fx, "x@localhost", &authed, ROUTE_LOCAL, ROUTE_BACKEND_STORE, "x@localhost");
	route_relay_authenticated(fx->rt, false);

	assert_int_equal(route_add_relay_network(fx->rt, "192.0.2.77/24", err, sizeof err), 0);
	assert_int_equal(route_add_relay_network(fx->rt, "2001:db8::/32", err, sizeof err), 0);
	assert_int_equal(route_add_relay_network(fx->rt, "198.51.100.9", err, sizeof err), 0);
	struct sockaddr_in in_net = v4("192.0.2.200"), out_net = v4("192.0.3.1"),
			   one = v4("198.51.100.9"), next = v4("198.51.100.10");
	struct sockaddr_in6 mapped = v6("::ffff:192.0.2.5"), in6 = v6("2001:db8:ffff::1"),
			    out6 = v6("2001:db9::1");
	const struct sockaddr *yes[] = {(void *)&in_net, (void *)&one, (void *)&mapped, (void *)&in6};
	const struct sockaddr *no[] = {(void *)&out_net, (void *)&next, (void *)&out6, NULL};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		anon.addr = yes[i];
		expect_route(fx, "x@example.net", &anon, ROUTE_RELAY, ROUTE_BACKEND_RELAY,
			     "x@example.net");
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		anon.addr = no[i];
		expect_route(fx, "x@example.net", &anon, ROUTE_RELAY_DENIED, ROUTE_BACKEND_NONE,
			     "x@example.net");
	}

	static const char *const bad[] = {"", "/24", "192.0.2.0/33", "192.0.2.0/", "192.0.2.0/x",
					  "2001:db8::/129", "example.org", "192.0.2.0/24 "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(route_add_relay_network(fx->rt, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "relay network"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test_setup_teardown(test_local_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipients_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipients_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_rule, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
