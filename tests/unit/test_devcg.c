/* util/devcg.c: the device rules' wire text (hostile cases, as the guest
 * agent reads it) and the BPF program's bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <string.h>

#include "util/devcg.h"

static void test_rules_round_trip(void **state)
{
	const struct dev_rule in[] = {
		{ 'a', -1, -1, "rwm", true }, { 'c', 10, 200, "rw", false },
		{ 'b', 8, -1, "m", true },    { 'c', 2147483647, 0, "r", false },
	};
	char text[DEVCG_RULE_TEXT_MAX];
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct dev_rule out;

		devcg_rule_format(&in[i], text, sizeof(text));
		assert_int_equal(devcg_rule_parse(text, &out), 0);
		assert_int_equal(out.type, in[i].type);
		assert_int_equal(out.major, in[i].major);
		assert_int_equal(out.minor, in[i].minor);
		assert_string_equal(out.access, in[i].access);
		assert_int_equal(out.deny, in[i].deny);
	}
	devcg_rule_format(&in[1], text, sizeof(text));
	assert_string_equal(text, "allow c 10 200 rw");
}

static void test_bad_rule_text_is_refused(void **state)
{
	static const char *const bad[] = {
		"", "allow", "allow c 1 3", "allow c 1 3 rwm extra", "permit c 1 3 rwm",
		"allow x 1 3 rwm", "allow cc 1 3 rwm", "allow c -2 3 rwm", "allow c 1 -5 rwm",
		"allow c 2147483648 0 rwm", "allow c 99999999999 0 rwm", "allow c 01 3 rwm",
		"allow c +1 3 rwm", "allow c 1 3 rwx", "allow c 1 3 mwr", "allow c 1 3 rrw",
		"allow  c 1 3 rwm", "allow c 1 3 rwm ", " allow c 1 3 rwm", "allow\tc 1 3 rwm",
		"allow c 1 3 rwm\n", "allow c 1-2 3 rwm", "allow c 1 3 ",
		"allow c 1111111111111111111111111111111111111111111111111111111111111 3 rwm",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dev_rule r;

		if (devcg_rule_parse(bad[i], &r) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(devcg_rule_parse(NULL, &(struct dev_rule){ 0 }), -1);
}

static void test_access_is_normalized(void **state)
{
	struct dev_rule r;

	assert_int_equal(devcg_rule_set_access(&r, "mwr"), 0);
	assert_string_equal(r.access, "rwm");
	assert_int_equal(devcg_rule_set_access(&r, "mm"), 0);
	assert_string_equal(r.access, "m");
	assert_int_equal(devcg_rule_set_access(&r, ""), -1);
	assert_int_equal(devcg_rule_set_access(&r, "rwx"), -1);
	assert_int_equal(devcg_rule_set_access(&r, NULL), -1);
}

static void test_program_too_long_is_refused(void **state)
{
	struct bpf_insn insns[8];

	assert_int_equal(devcg_bpf_build(devcg_defaults, devcg_defaults_len, insns, 8), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_round_trip),
		cmocka_unit_test(test_bad_rule_text_is_refused),
		cmocka_unit_test(test_access_is_normalized),
		cmocka_unit_test(test_program_too_long_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
