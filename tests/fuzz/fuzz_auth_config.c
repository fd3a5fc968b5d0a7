/* libFuzzer: a hostile docker config.json ($DOCKER_CONFIG/config.json).
 * Input: byte 0 picks the host asked for; the rest is the file. Each run
 * reads it (get), then stores and removes credentials in it: a file that
 * cannot be read must be refused by all three and left as it was; one that
 * can must give back what was stored. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/auth_config.h"
#include "util/fs.h"

static const char *const hosts[] = {
	"127.0.0.1:5000", "docker.io", "h", "reg.example:8443", "index.docker.io", "x",
	"https://index.docker.io/v1/", "a:1",
};

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/fuzz-auth-config-XXXXXX";

	if (!mkdtemp(dir))
		abort();
	setenv("DOCKER_CONFIG", dir, 1);
	/* credential helpers the file names are looked up on PATH: none found */
	setenv("PATH", "/nonexistent", 1);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *host;
	struct err err = { 0 };
	char *user = NULL, *password = NULL, *after = NULL;
	int had = 0, bad;
	size_t len = 0;

	if (size < 1)
		return 0;
	host = hosts[data[0] & 7];
	if (write_file_replace(path, data + 1, size - 1, 0600, &err) < 0)
		abort();
	bad = auth_config_get(host, &user, &password, &err) < 0;
	if (bad && (user || password))
		abort();
	if (!bad && !user != !password)
		abort();
	free(user);
	free(password);
	user = password = NULL;
	if (auth_config_set(host, "fuzz", "pw:\x01", &err) == 0) {
		if (bad)
			abort();
		if (auth_config_get(host, &user, &password, &err) < 0 || !user ||
		    strcmp(user, "fuzz") || strcmp(password, "pw:\x01"))
			abort();
		if (auth_config_remove(host, &had, &err) < 0 || !had)
			abort();
	} else if (!bad) {
		/* only a file that cannot be read is refused */
		abort();
	} else {
		if (read_file(path, 1 << 22, &after, &len, &err) < 0 || len != size - 1 ||
		    memcmp(after, data + 1, len))
			abort();
	}
	free(user);
	free(password);
	free(after);
	return 0;
}
