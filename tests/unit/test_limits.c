/* server/limits: the client key of an address (IPv4, IPv4-mapped, IPv6 /64)
 * and the per-client and total counts of the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "server/internal.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return ss;
}

static bool same_client(const char *x, const char *y)
{
	struct sockaddr_storage a = addr(x), b = addr(y);
	unsigned char ka[SRV_CLIENT_KEY_LEN], kb[SRV_CLIENT_KEY_LEN];
	srv_client_key(&a, ka);
	srv_client_key(&b, kb);
	return !memcmp(ka, kb, sizeof(ka));
}

static void client_key(void **st)
{
	/* IPv6: one /64 is one client */
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"));
	assert_false(same_client("2001:db8:1:2::1", "2001:db8:1:3::1"));
	assert_true(same_client("::1", "::2"));
	/* IPv4: the whole address; a dual-stack listener's mapped form is the same client */
	assert_false(same_client("192.0.2.1", "192.0.2.2"));
	assert_true(same_client("192.0.2.1", "::ffff:192.0.2.1"));
	assert_false(same_client("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
	/* a prefix key never equals an IPv4 key, and none is "empty" */
	assert_false(same_client("0.0.0.0", "::"));
	assert_false(same_client("::ffff:0.0.0.0", "::"));
	struct sockaddr_storage any6 = addr("::");
	unsigned char k[SRV_CLIENT_KEY_LEN], zero[SRV_CLIENT_KEY_LEN] = { 0 };
	srv_client_key(&any6, k);
	assert_memory_not_equal(k, zero, sizeof(k));
}

static void loopback(void **st)
{
	struct sockaddr_storage a;
	a = addr("127.0.0.1");
	assert_true(srv_client_is_loopback(&a));
	a = addr("127.45.6.7");
	assert_true(srv_client_is_loopback(&a));
	a = addr("::1");
	assert_true(srv_client_is_loopback(&a));
	a = addr("::ffff:127.0.0.9");
	assert_true(srv_client_is_loopback(&a));
	a = addr("128.0.0.1");
	assert_false(srv_client_is_loopback(&a));
	a = addr("::2");
	assert_false(srv_client_is_loopback(&a));
}

static void per_client_cap(void **st)
{
	struct srv_ip_table t;
	assert_int_equal(srv_ip_table_init(&t, 100), 0);
	struct sockaddr_storage a = addr("2001:db8::1"), b = addr("2001:db8::2"),
				c = addr("2001:db8:0:1::1");
	assert_int_equal(srv_ip_acquire(&t, &a, 2, 0), SRV_IP_OK);
	/* the same /64: the second and last place */
	assert_int_equal(srv_ip_acquire(&t, &b, 2, 0), SRV_IP_OK);
	assert_int_equal(srv_ip_acquire(&t, &a, 2, 0), SRV_IP_CLIENT_FULL);
	assert_int_equal(srv_ip_acquire(&t, &b, 2, 0), SRV_IP_CLIENT_FULL);
	/* another /64 has its own */
	assert_int_equal(srv_ip_acquire(&t, &c, 2, 0), SRV_IP_OK);
	assert_int_equal(t.total, 3);
	srv_ip_release(&t, &b);
	assert_int_equal(srv_ip_acquire(&t, &a, 2, 0), SRV_IP_OK);
	/* 0: no per-client limit */
	assert_int_equal(srv_ip_acquire(&t, &a, 0, 0), SRV_IP_OK);
	srv_ip_table_fini(&t);
}

static void total_cap(void **st)
{
	struct srv_ip_table t;
	assert_int_equal(srv_ip_table_init(&t, 3), 0);
	struct sockaddr_storage v[4] = { addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3"),
					 addr("192.0.2.4") };
	for (int i = 0; i < 3; i++)
		assert_int_equal(srv_ip_acquire(&t, &v[i], 1, 3), SRV_IP_OK);
	assert_int_equal(srv_ip_acquire(&t, &v[3], 1, 3), SRV_IP_TOTAL_FULL);
	assert_int_equal(srv_ip_acquire(&t, &v[0], 1, 3), SRV_IP_TOTAL_FULL);
	srv_ip_release(&t, &v[1]);
	assert_int_equal(t.total, 2);
	assert_int_equal(srv_ip_acquire(&t, &v[3], 1, 3), SRV_IP_OK);
	/* a release of a client with nothing counted changes nothing */
	srv_ip_release(&t, &v[1]);
	assert_int_equal(t.total, 3);
	srv_ip_table_fini(&t);
}

/* Many clients coming and going leave the table as it was: every count
 * goes back to 0, and a full cycle of new clients is counted again. */
static void churn(void **st)
{
	struct srv_ip_table t;
	assert_int_equal(srv_ip_table_init(&t, 8), 0);
	for (unsigned round = 0; round < 50; round++) {
		struct sockaddr_storage v[8];
		for (unsigned i = 0; i < 8; i++) {
			v[i] = addr("10.0.0.0");
			((struct sockaddr_in *)&v[i])->sin_addr.s_addr = htonl(0x0a000000u + round * 8 + i);
			assert_int_equal(srv_ip_acquire(&t, &v[i], 1, 8), SRV_IP_OK);
		}
		assert_int_equal(srv_ip_acquire(&t, &v[0], 1, 0), SRV_IP_CLIENT_FULL);
		for (unsigned i = 0; i < 8; i++)
			srv_ip_release(&t, &v[(i * 3) % 8]);
		assert_int_equal(t.total, 0);
	}
	/* every slot emptied again: no tombstone was left behind */
	for (size_t i = 0; i < t.size; i++)
		assert_int_equal(t.slots[i].count, 0);
	unsigned char zero[SRV_CLIENT_KEY_LEN] = { 0 };
	for (size_t i = 0; i < t.size; i++)
		assert_memory_equal(t.slots[i].key, zero, sizeof(zero));
	srv_ip_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_key),
		cmocka_unit_test(loopback),
		cmocka_unit_test(per_client_cap),
		cmocka_unit_test(total_cap),
		cmocka_unit_test(churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
