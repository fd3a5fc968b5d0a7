/* Tests for the small parsers of src/util/fs.c (parse_bytes, RFC 3339 times)
 * and signal_parse of src/util/signal.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/fs.h"
#include "util/path_info.h"
#include "util/signal.h"

static void expect_bytes(const char *s, long long want)
{
	long long v = -42;

	if (parse_bytes(s, &v) < 0)
		fail_msg("parse_bytes(\"%s\") refused, want %lld", s, want);
	if (v != want)
		fail_msg("parse_bytes(\"%s\") = %lld, want %lld", s, v, want);
}

static void expect_bytes_refused(const char *s)
{
	long long v = -42;

	if (parse_bytes(s, &v) == 0)
		fail_msg("parse_bytes(\"%s\") accepted as %lld", s, v);
	assert_int_equal(v, -42);
}

static void test_parse_bytes(void **state)
{
	expect_bytes("0", 0);
	expect_bytes("1024", 1024);
	expect_bytes("1b", 1);
	expect_bytes("100k", 100 << 10);
	expect_bytes("100K", 100 << 10);
	expect_bytes("1kb", 1024);
	expect_bytes("1KB", 1024);
	expect_bytes("512m", 512LL << 20);
	expect_bytes("512mb", 512LL << 20);
	expect_bytes("6M", 6LL << 20);
	expect_bytes("1g", 1LL << 30);
	expect_bytes("4294967296g", 1LL << 62);
	expect_bytes("007k", 7 << 10);
}

static void test_parse_bytes_refused(void **state)
{
	expect_bytes_refused(NULL);
	expect_bytes_refused("");
	expect_bytes_refused("m");
	expect_bytes_refused("kb");
	expect_bytes_refused("-1");
	expect_bytes_refused("-1m");
	expect_bytes_refused("+1");
	expect_bytes_refused(" 1");
	expect_bytes_refused("1 m");
	expect_bytes_refused("1x");
	expect_bytes_refused("1mm");
	expect_bytes_refused("1bb");
	expect_bytes_refused("1mb ");
	expect_bytes_refused("1kib");
	expect_bytes_refused("0x10");
	/* overflow, in the number and in the multiplication */
	expect_bytes_refused("99999999999999999999");
	expect_bytes_refused("9223372036854775807k");
	expect_bytes_refused("4294967297g");
	expect_bytes_refused("4611686018427387905");
}

static void round_trip(long long sec, long nsec)
{
	char buf[64];
	long long s2 = -1;
	long n2 = -1;

	time_rfc3339_ts(sec, nsec, buf, sizeof(buf));
	assert_int_equal(strlen(buf), strlen("2026-11-29T01:02:03.123456789Z"));
	assert_int_equal(buf[strlen(buf) - 1], 'Z');
	if (time_parse_rfc3339(buf, &s2, &n2) < 0)
		fail_msg("time_parse_rfc3339(\"%s\") refused", buf);
	if (s2 != sec || n2 != nsec)
		fail_msg("\"%s\" parsed as %lld.%09ld, want %lld.%09ld", buf, s2, n2, sec, nsec);
}

static void test_time_round_trip(void **state)
{
	char buf[64];

	round_trip(0, 0);
	round_trip(1, 1);
	round_trip(1764378123, 123456789);
	round_trip(951782400, 999999999);   /* 2000-02-29 */
	round_trip(4102444799LL, 500);      /* 2099-12-31T23:59:59 */
	time_rfc3339_ts(0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
	time_rfc3339_ts(1764378123, 5, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-29T01:02:03.000000005Z");
	/* now, as the log writer stamps records */
	{
		long long s;
		long n;

		time_rfc3339(buf, sizeof(buf));
		assert_int_equal(time_parse_rfc3339(buf, &s, &n), 0);
		assert_true(s > 1600000000);
	}
}

static void test_time_parse(void **state)
{
	long long s;
	long n;

	assert_int_equal(time_parse_rfc3339("2025-11-29T01:02:03Z", &s, &n), 0);
	assert_int_equal(s, 1764378123);
	assert_int_equal(n, 0);
	/* fewer and more than nine digits of fraction */
	assert_int_equal(time_parse_rfc3339("2025-11-29T01:02:03.5Z", &s, &n), 0);
	assert_int_equal(n, 500000000);
	assert_int_equal(time_parse_rfc3339("2025-11-29T01:02:03.0000000019Z", &s, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(time_parse_rfc3339(NULL, &s, &n), -1);
	assert_int_equal(time_parse_rfc3339("", &s, &n), -1);
	assert_int_equal(time_parse_rfc3339("nope", &s, &n), -1);
	assert_int_equal(time_parse_rfc3339("2025-11-29", &s, &n), -1);
	assert_int_equal(time_parse_rfc3339("2025-13-29T01:02:03Z", &s, &n), -1);
	assert_int_equal(time_parse_rfc3339("2025-11-29T25:02:03Z", &s, &n), -1);
}

/* docker's CREATED column (go-units HumanDuration). */
static void test_time_human_ago(void **state)
{
	static const struct {
		long long ago;
		const char *want;
	} cases[] = {
		{ 0, "Less than a second ago" }, { 1, "1 second ago" }, { 59, "59 seconds ago" },
		{ 60, "About a minute ago" }, { 150, "2 minutes ago" },
		{ 3600, "About an hour ago" }, { 5399, "About an hour ago" },
		{ 5400, "2 hours ago" }, { 47 * 3600, "47 hours ago" },
		{ 48 * 3600, "2 days ago" }, { 13 * 86400, "13 days ago" },
		{ 14 * 86400, "2 weeks ago" }, { 59 * 86400, "8 weeks ago" },
		{ 60 * 86400, "2 months ago" }, { 336 * 86400, "11 months ago" },
		{ 729 * 86400, "24 months ago" }, { 730 * 86400, "2 years ago" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_human_ago((long long)time(NULL) - cases[i].ago, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_signal_parse(void **state)
{
	assert_int_equal(signal_parse("TERM"), SIGTERM);
	assert_int_equal(signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(signal_parse("SIGKILL"), SIGKILL);
	assert_int_equal(signal_parse("kill"), SIGKILL);
	assert_int_equal(signal_parse("sigusr1"), SIGUSR1);
	assert_int_equal(signal_parse("SigHup"), SIGHUP);
	assert_int_equal(signal_parse("WINCH"), SIGWINCH);
	assert_int_equal(signal_parse("9"), 9);
	assert_int_equal(signal_parse("1"), 1);
	assert_int_equal(signal_parse("64"), 64);
	assert_int_equal(signal_parse("RTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(signal_parse("SIGRTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(signal_parse("rtmin+0"), SIGRTMIN);
	assert_int_equal(signal_parse("RTMIN+"), -1);
	assert_int_equal(signal_parse("RTMIN+x"), -1);
	assert_int_equal(signal_parse("RTMIN+99"), -1);
	assert_int_equal(signal_parse("RTMAX-99"), -1);
	assert_int_equal(signal_parse("+9"), -1);
	assert_int_equal(signal_parse("0"), -1);
	assert_int_equal(signal_parse("65"), -1);
	assert_int_equal(signal_parse("-9"), -1);
	assert_int_equal(signal_parse("99999999999999999999"), -1);
	assert_int_equal(signal_parse("9x"), -1);
	assert_int_equal(signal_parse("nope"), -1);
	assert_int_equal(signal_parse("SIG"), -1);
	assert_int_equal(signal_parse("SIGSIGTERM"), -1);
	assert_int_equal(signal_parse("TERMINATE"), -1);
	assert_int_equal(signal_parse(""), -1);
	assert_int_equal(signal_parse(NULL), -1);
}

/* A path's info as printed, read back; what a hostile guest could send instead. */
static void test_path_info(void **state)
{
	char tmpl[] = "/tmp/isobox-pi-XXXXXX", path[64], *text = NULL;
	size_t len = 0;
	struct path_info pi;
	FILE *f;

	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/link", tmpl);
	assert_int_equal(symlink(tmpl, path), 0);
	f = open_memstream(&text, &len);
	assert_int_equal(path_info_print(f, path), 0);
	fclose(f);
	assert_int_equal(path_info_parse(text, &pi), 0);
	assert_true(pi.exists && S_ISLNK(pi.mode));
	assert_string_equal(pi.link, tmpl);
	free(text);
	f = open_memstream(&text, &len);
	assert_int_equal(path_info_print(f, tmpl), 0);
	fclose(f);
	assert_int_equal(path_info_parse(text, &pi), 0);
	assert_true(pi.exists && S_ISDIR(pi.mode) && !*pi.link);
	free(text);
	unlink(path);
	rmdir(tmpl);
	assert_int_equal(path_info_parse("-", &pi), 0);
	assert_false(pi.exists);
	/* a type that does not match the mode, a negative size, nanoseconds
	 * past a second, no newline, a second line in the target */
	assert_int_equal(path_info_parse("d 100644 1 2 3\n", &pi), -1);
	assert_int_equal(path_info_parse("f 100644 -1 2 3\n", &pi), -1);
	assert_int_equal(path_info_parse("f 100644 1 2 1000000000\n", &pi), -1);
	assert_int_equal(path_info_parse("f 100644 1 2 3", &pi), -1);
	assert_int_equal(path_info_parse("l 120777 1 2 3\n/a\n/b", &pi), -1);
	assert_int_equal(path_info_parse("x 100644 1 2 3\n", &pi), -1);
}

/* docker's X-Registry-Auth: the URL alphabet, padded or not. */
static void test_base64url(void **state)
{
	size_t len;
	char *s = base64url_decode("eyJ1c2VybmFtZSI6ImEifQ", &len);  /* {"username":"a"} */

	assert_non_null(s);
	assert_string_equal(s, "{\"username\":\"a\"}");
	free(s);
	s = base64url_decode("-_8", &len);                         /* 0xfb 0xff, unpadded */
	assert_non_null(s);
	assert_int_equal(len, 2);
	assert_memory_equal(s, "\xfb\xff", 2);
	free(s);
	s = base64url_decode("-_8=", &len);                        /* padded */
	assert_non_null(s);
	assert_int_equal(len, 2);
	free(s);
	assert_null(base64url_decode("+/8=", &len));               /* the standard alphabet */
	assert_null(base64url_decode("P", &len));                  /* one past */
	assert_null(base64url_decode("-_=8", &len));               /* padding inside */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_parse_bytes_refused),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_human_ago),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_path_info),
		cmocka_unit_test(test_base64url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
