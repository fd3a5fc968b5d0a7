/* Tests for src/cli/format.c: the docker --format subset ({{.A.B}}, {{json .A}}). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/format.h"
#include "util/cleanup.h"

static json_t *doc(void)
{
	json_error_t jerr;
	json_t *j = json_loads("{\"Id\":\"abc123\",\"Name\":\"/web\","
			       "\"State\":{\"Status\":\"running\",\"Pid\":42,\"Running\":true,"
			       "\"Health\":null},"
			       "\"Config\":{\"Env\":[\"A=b\"],\"Labels\":{\"x\":\"y\"}},"
			       "\"Size\":1.5}",
			       JSON_PRESERVE_ORDER, &jerr);

	assert_non_null(j);
	return j;
}

/* format_template's return value, and its output in *out (caller frees). */
static int expand(const char *tmpl, json_t *j, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int r;

	assert_non_null(f);
	r = format_template(f, tmpl, j);
	fclose(f);
	return r;
}

static void expect(const char *tmpl, const char *want)
{
	_cleanup_json_ json_t *j = doc();
	_cleanup_free_ char *out = NULL;

	if (expand(tmpl, j, &out) < 0)
		fail_msg("template '%s' refused", tmpl);
	if (strcmp(out, want))
		fail_msg("template '%s': got '%s', want '%s'", tmpl, out, want);
}

static void expect_refused(const char *tmpl)
{
	_cleanup_json_ json_t *j = doc();
	_cleanup_free_ char *out = NULL;

	if (expand(tmpl, j, &out) == 0)
		fail_msg("template '%s' accepted, printed '%s'", tmpl, out);
}

static void test_fields(void **state)
{
	expect("{{.Id}}", "abc123\n");
	expect("{{.State.Status}}", "running\n");
	expect("{{.State.Pid}}", "42\n");
	expect("{{.State.Running}}", "true\n");
	expect("{{.Size}}", "1.5\n");
	expect("{{ .Name }}", "/web\n");
	expect("{{.Config.Labels.x}}", "y\n");
}

static void test_text_around(void **state)
{
	expect("id={{.Id}} pid={{.State.Pid}}!", "id=abc123 pid=42!\n");
	expect("{{.Id}}{{.Name}}", "abc123/web\n");
	expect("plain text", "plain text\n");
	expect("", "\n");
	expect("a } b }}", "a } b }}\n");
}

static void test_json(void **state)
{
	expect("{{json .State.Status}}", "\"running\"\n");
	expect("{{json .Config.Env}}", "[\"A=b\"]\n");
	expect("{{json .Config.Labels}}", "{\"x\":\"y\"}\n");
	expect("{{ json  .State.Pid }}", "42\n");
	expect("{{json .Nope}}", "null\n");
	expect("{{json .}}",
	       "{\"Id\":\"abc123\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\","
	       "\"Pid\":42,\"Running\":true,\"Health\":null},\"Config\":{\"Env\":[\"A=b\"],"
	       "\"Labels\":{\"x\":\"y\"}},\"Size\":1.5}\n");
}

static void test_dot(void **state)
{
	_cleanup_json_ json_t *s = json_string("just me");
	_cleanup_free_ char *out = NULL;

	assert_int_equal(expand("{{.}}", s, &out), 0);
	assert_string_equal(out, "just me\n");
	free(out);
	out = NULL;
	assert_int_equal(expand("[{{ . }}]", s, &out), 0);
	assert_string_equal(out, "[just me]\n");
}

static void test_missing(void **state)
{
	expect("{{.Nope}}", "<no value>\n");
	expect("{{.State.Nope}}", "<no value>\n");
	expect("{{.Nope.Deeper}}", "<no value>\n");
	/* a field of a string, a key longer than any real one */
	expect("{{.Id.Length}}", "<no value>\n");
	{
		char tmpl[600];

		memset(tmpl, 'K', sizeof(tmpl));
		memcpy(tmpl, "{{.", 3);
		strcpy(tmpl + sizeof(tmpl) - 3, "}}");
		expect(tmpl, "<no value>\n");
	}
}

static void test_refused(void **state)
{
	expect_refused("{{.Id");
	expect_refused("x {{");
	expect_refused("{{.Id}} {{.Name");
	expect_refused("{{}}");
	expect_refused("{{ }}");
	expect_refused("{{Id}}");
	expect_refused("{{json}}");
	expect_refused("{{json }}");
	expect_refused("{{range .Config.Env}}{{.}}{{end}}");
	expect_refused("{{upper .Id}}");
}

static void test_json_pretty(void **state)
{
	_cleanup_json_ json_t *j = json_pack("{s:i, s:[s]}", "b", 1, "a", "x");
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	format_json_pretty(f, j);
	fclose(f);
	assert_string_equal(out, "{\n    \"b\": 1,\n    \"a\": [\n        \"x\"\n    ]\n}\n");
	free(out);
}

/* Go's tabwriter as docker top prints (min width 20, padding 3). */
static void test_table(void **state)
{
	_cleanup_json_ json_t *rows = json_pack("[[s, s, s], [s, s, s], [s, s, s]]", "UID", "PID",
						 "CMD", "root", "1", "sleep 100",
						 "a-rather-long-user-name", "22", "sh");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	format_table(f, rows, 20, 3);
	fclose(f);
	assert_string_equal(out,
			    "UID                       PID                 CMD\n"
			    "root                      1                   sleep 100\n"
			    "a-rather-long-user-name   22                  sh\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_text_around),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_json_pretty),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
