/* The streaming blob writer: resume, verification, and one writer per blob
 * across processes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/blob.h"
#include "util/fs.h"

static const char DATA[] = "the quick brown fox jumps over the lazy dog, twice over";

struct sandbox {
	char dir[64];
	char digest[DIGEST_STR_LEN];
};

static int setup(void **state)
{
	struct sandbox *s = xmalloc(sizeof(*s));
	struct err err;

	strcpy(s->dir, "/tmp/test_blob.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	assert_int_equal(digest_buffer(DATA, strlen(DATA), s->digest, &err), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sandbox *s = *state;
	struct err err;

	rm_rf(s->dir, &err);
	free(s);
	return 0;
}

static bool partial_exists(struct sandbox *s)
{
	char *p = xasprintf("%s/blobs/sha256/.partial-%s", s->dir, digest_hex(s->digest));
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void test_write_commit(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 99;
	struct err err = { 0 };
	char *data = NULL;
	size_t len = 0;

	assert_false(blob_exists(s->dir, s->digest));
	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(at, 0);
	assert_int_equal(blob_writer_write(&w, DATA, 10, &err), 0);
	assert_int_equal(blob_writer_write(&w, DATA + 10, strlen(DATA) - 10, &err), 0);
	assert_int_equal(blob_writer_commit(&w, (long long)strlen(DATA), &err), 0);
	blob_writer_close(&w, false);
	assert_true(blob_exists(s->dir, s->digest));
	assert_false(partial_exists(s));
	assert_int_equal(blob_get(s->dir, s->digest, 1024, &data, &len, &err), 0);
	assert_int_equal(len, strlen(DATA));
	free(data);
	/* Already there: nothing to write. */
	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 1);
	blob_writer_close(&w, false);
}

static void test_resume(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(blob_writer_write(&w, DATA, 17, &err), 0);
	blob_writer_close(&w, true);
	assert_true(partial_exists(s));
	assert_false(blob_exists(s->dir, s->digest));
	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(at, 17);
	assert_int_equal(blob_writer_write(&w, DATA + 17, strlen(DATA) - 17, &err), 0);
	assert_int_equal(blob_writer_commit(&w, -1, &err), 0);
	blob_writer_close(&w, false);
	assert_true(blob_exists(s->dir, s->digest));
}

/* A partial whose bytes are wrong is re-hashed on reopen, so the resumed
 * blob fails verification instead of entering the store. */
static void test_resume_corrupt_partial(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(blob_writer_write(&w, "THE QUICK", 9, &err), 0);
	blob_writer_close(&w, true);
	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(at, 9);
	assert_int_equal(blob_writer_write(&w, DATA + 9, strlen(DATA) - 9, &err), 0);
	assert_int_equal(blob_writer_commit(&w, (long long)strlen(DATA), &err), -1);
	assert_non_null(strstr(err.msg, "failed verification: its content hashes to sha256:"));
	blob_writer_close(&w, true);
	assert_false(blob_exists(s->dir, s->digest));
	assert_false(partial_exists(s));
}

static void test_wrong_digest(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(blob_writer_write(&w, DATA, strlen(DATA) - 1, &err), 0);
	assert_int_equal(blob_writer_write(&w, "!", 1, &err), 0);
	assert_int_equal(blob_writer_commit(&w, -1, &err), -1);
	assert_non_null(strstr(err.msg, s->digest));
	assert_non_null(strstr(err.msg, "failed verification"));
	blob_writer_close(&w, false);
	assert_false(blob_exists(s->dir, s->digest));
	assert_false(partial_exists(s));
}

static void test_wrong_size(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(blob_writer_write(&w, DATA, strlen(DATA), &err), 0);
	assert_int_equal(blob_writer_commit(&w, (long long)strlen(DATA) + 1, &err), -1);
	assert_non_null(strstr(err.msg, "failed verification"));
	assert_non_null(strstr(err.msg, "expected"));
	blob_writer_close(&w, false);
	assert_false(blob_exists(s->dir, s->digest));
}

static void test_restart(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 0);
	assert_int_equal(blob_writer_write(&w, "garbage", 7, &err), 0);
	assert_int_equal(blob_writer_restart(&w, &err), 0);
	assert_int_equal(blob_writer_write(&w, DATA, strlen(DATA), &err), 0);
	assert_int_equal(blob_writer_commit(&w, (long long)strlen(DATA), &err), 0);
	blob_writer_close(&w, false);
	assert_true(blob_exists(s->dir, s->digest));
}

static void test_invalid_digest(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };

	assert_int_equal(blob_writer_open(&w, s->dir, "sha256:../../etc", &at, &err), -1);
	assert_int_equal(blob_writer_open(&w, s->dir, "sha256:ABC", &at, &err), -1);
	blob_writer_close(&w, false);
}

/* A second process waits for the first writer and then finds the blob there. */
static void test_two_writers(void **state)
{
	struct sandbox *s = *state;
	struct blob_writer w;
	unsigned long long at = 0;
	struct err err = { 0 };
	int ready[2], status;
	char c;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (blob_writer_open(&w, s->dir, s->digest, &at, &err) != 0)
			_exit(1);
		if (blob_writer_write(&w, DATA, 5, &err) < 0 || write(ready[1], "x", 1) != 1)
			_exit(2);
		usleep(300 * 1000);
		if (blob_writer_write(&w, DATA + 5, strlen(DATA) - 5, &err) < 0 ||
		    blob_writer_commit(&w, -1, &err) < 0)
			_exit(3);
		blob_writer_close(&w, false);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	/* The child holds the lock: this waits for its commit. */
	assert_int_equal(blob_writer_open(&w, s->dir, s->digest, &at, &err), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(blob_exists(s->dir, s->digest));
	close(ready[0]);
	close(ready[1]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_commit),
		T(test_resume),
		T(test_resume_corrupt_partial),
		T(test_wrong_digest),
		T(test_wrong_size),
		T(test_restart),
		T(test_invalid_digest),
		T(test_two_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
