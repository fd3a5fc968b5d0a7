/* The network store's parsers (src/engine/network.c, net_ports.c): CIDRs and
 * addresses from the command line and the store, -p specs, hostile cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <string.h>

#include "engine/network_store.h"
#include "util/strv.h"

static void test_cidr_parse(void **state)
{
	uint32_t a;
	int p;
	static const char *const bad[] = { NULL, "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33",
					   "10.0.0.0/-1", "10.0.0.0/8x", "/8", "10.0.0/8",
					   "300.0.0.0/8", "10.0.0.0/99999999999999999999",
					   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8",
					   "::1/128" };
	size_t i;

	assert_int_equal(cidr_parse("172.18.0.0/16", &a, &p), 0);
	assert_int_equal(a, 0xac120000u);
	assert_int_equal(p, 16);
	assert_int_equal(cidr_parse("0.0.0.0/0", &a, &p), 0);
	assert_int_equal(p, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], &a, &p) == 0)
			fail_msg("cidr_parse(\"%s\") accepted", bad[i] ? bad[i] : "(null)");
}

static json_t *parse_one(const char *spec, struct err *err)
{
	struct strv s = { 0 };
	json_t *b = NULL;

	strv_push(&s, spec);
	if (net_ports_parse(&s, &b, err) < 0)
		b = NULL;
	strv_free(&s);
	return b;
}

static void test_ports_parse(void **state)
{
	struct err err = { 0 };
	json_t *b = parse_one("127.0.0.1:8080-8081:80-81/udp", &err), *e;

	assert_non_null(b);
	e = json_array_get(json_object_get(b, "81/udp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostIp")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(e, "HostPort")), "8081");
	json_decref(b);
	b = parse_one("80", &err);
	e = json_array_get(json_object_get(b, "80/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "HostPort")), "");
	json_decref(b);
	b = parse_one("1.2.3.4::53/udp", &err);
	assert_non_null(json_object_get(b, "53/udp"));
	json_decref(b);
}

static void test_ports_parse_hostile(void **state)
{
	static const char *const bad[] = {
		"", "/", "abc", "0", "65536", "80-79", "80-", "-80", "8080:", ":", "1:2:3:4",
		"80/sctpx", "80/", "8080-8081:80", "1.2.3:80:80", "99999999999999999999999:80",
		"80:99999999999999999999999", "1-65535:1-2", "a.b.c.d:80:80", "80/tcp/udp",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err err = { 0 };
		json_t *b = parse_one(bad[i], &err);

		if (b)
			fail_msg("-p \"%s\" accepted", bad[i]);
		assert_true(err.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_ports_parse),
		cmocka_unit_test(test_ports_parse_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
