/* Registry credentials in docker's client config.json (see auth_config.h).
 * The file is the user's, shared with the docker CLI: a file isobox cannot
 * read is refused, never overwritten, and what isobox does not know in it
 * (HttpHeaders, proxies, psFormat, ...) is written back unchanged. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nettle/base64.h>

#include "auth_config.h"
#include "cred_helper.h"
#include "util/cleanup.h"
#include "util/base64.h"
#include "util/fs.h"

/* A docker config.json is a few KiB; anything this big is not one. */
#define AUTH_CONFIG_MAX_BYTES (1u << 20)
#define AUTH_HUB_KEY "https://index.docker.io/v1/"

char *auth_config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home;

	if (dir && *dir)
		return xasprintf("%s/config.json", dir);
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());

		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.docker/config.json", home);
}

/* docker's credentials.ConvertToHostname: no scheme, nothing after the
 * first "/". Caller frees. */
static char *auth_hostname(const char *addr)
{
	const char *p = addr;
	size_t n;

	if (!strncmp(p, "http://", 7))
		p += 7;
	else if (!strncmp(p, "https://", 8))
		p += 8;
	n = strcspn(p, "/");
	return strndup(p, n);
}

static bool auth_is_hub(const char *host)
{
	return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
	       !strcmp(host, "registry-1.docker.io") || !strcmp(host, AUTH_HUB_KEY);
}

/* The key docker stores a host's credentials under. */
static const char *auth_key(const char *host)
{
	return auth_is_hub(host) ? AUTH_HUB_KEY : host;
}

/* Does config key k hold the credentials of host? The exact key, or one
 * docker or older tools wrote with a scheme or a path. */
static bool auth_key_matches(const char *k, const char *host)
{
	_cleanup_free_ char *h = NULL;

	if (!strcmp(k, auth_key(host)))
		return true;
	h = auth_hostname(k);
	if (!h)
		return false;
	if (auth_is_hub(host))
		return auth_is_hub(h);
	return !strcmp(h, host);
}


/* One auths entry: user and password from "auth" (docker's decodeAuth:
 * "user:password", the user not empty, NULs trimmed from the password), or
 * from "username"/"password" when there is no "auth". Both NULL: an entry
 * without credentials (a credential helper's placeholder). */
static int auth_entry_decode(const char *path, const char *key, json_t *e, char **user,
			     char **password, struct err *err)
{
	json_t *a, *u, *p;
	_cleanup_free_ char *dec = NULL;
	size_t len = 0;
	char *colon;

	*user = *password = NULL;
	if (!json_is_object(e))
		return err_set(err, "%s: auths[\"%s\"] is not an object", path, key);
	a = json_object_get(e, "auth");
	if (a && !json_is_string(a))
		return err_set(err, "%s: auths[\"%s\"].auth is not a string", path, key);
	if (!a || !*json_string_value(a)) {
		u = json_object_get(e, "username");
		p = json_object_get(e, "password");
		if ((u && !json_is_string(u)) || (p && !json_is_string(p)))
			return err_set(err, "%s: auths[\"%s\"]: username and password must be strings",
				       path, key);
		if (u && *json_string_value(u)) {
			*user = xstrdup(json_string_value(u));
			*password = xstrdup(p ? json_string_value(p) : "");
		}
		return 0;
	}
	dec = base64_decode(json_string_value(a), &len);
	if (!dec)
		return err_set(err, "%s: auths[\"%s\"].auth is not valid base64: run 'isobox login %s' again",
			       path, key, key);
	colon = memchr(dec, ':', len);
	if (!colon || colon == dec || memchr(dec, '\0', colon - dec))
		return err_set(err, "%s: auths[\"%s\"].auth is not base64 of \"user:password\": "
			       "run 'isobox login %s' again", path, key, key);
	*colon = '\0';
	/* Go trims NULs from both ends of the password; one inside ends it here. */
	char *pw = colon + 1;
	size_t pwlen = len - (size_t)(pw - dec);

	while (pwlen && pw[pwlen - 1] == '\0')
		pwlen--;
	while (pwlen && *pw == '\0')
		pw++, pwlen--;
	if (memchr(pw, '\0', pwlen))
		return err_set(err, "%s: auths[\"%s\"].auth: the password holds a NUL byte", path, key);
	*user = xstrdup(dec);
	*password = strndup(pw, pwlen);
	return 0;
}

/* Load and check the whole file as docker does (every entry decodes), so a
 * file one tool finds broken is broken for the other too. A missing file is
 * an empty object. *out is owned by the caller. */
static int auth_config_load(const char *path, json_t **out, struct err *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_t *auths, *e;
	json_error_t je;
	const char *k;
	size_t len = 0, i;
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return err_sys(err, errno, "read %s", path);
		*out = json_object();
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return err_set(err, "%s is not a regular file", path);
	if ((unsigned long long)st.st_size > AUTH_CONFIG_MAX_BYTES)
		return err_set(err, "%s is larger than %u bytes: not a docker config file",
			       path, AUTH_CONFIG_MAX_BYTES);
	if (read_file(path, AUTH_CONFIG_MAX_BYTES, &data, &len, err) < 0)
		return -1;
	for (i = 0; i < len && strchr(" \t\r\n", data[i]); i++)
		;
	if (i == len) {       /* docker reads an empty file as an empty config */
		*out = json_object();
		return 0;
	}
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!j)
		return err_set(err, "%s is not valid JSON (line %d: %s): fix or remove it",
			       path, je.line, je.text);
	if (!json_is_object(j))
		return err_set(err, "%s: not a JSON object: fix or remove it", path);
	auths = json_object_get(j, "auths");
	if (auths && !json_is_object(auths) && !json_is_null(auths))
		return err_set(err, "%s: \"auths\" is not an object: fix or remove it", path);
	e = json_object_get(j, "credsStore");
	if (e && !json_is_null(e) && !(json_is_string(e) && (!*json_string_value(e) ||
					 cred_helper_name_valid(json_string_value(e)))))
		return err_set(err, "%s: \"credsStore\" is not a credential helper's name: fix or "
			       "remove it", path);
	auths = json_object_get(j, "credHelpers");
	if (auths && !json_is_object(auths) && !json_is_null(auths))
		return err_set(err, "%s: \"credHelpers\" is not an object: fix or remove it", path);
	json_object_foreach(auths, k, e) {
		if (!json_is_string(e) || !cred_helper_name_valid(json_string_value(e)))
			return err_set(err, "%s: credHelpers[\"%s\"] is not a credential helper's "
				       "name: fix or remove it", path, k);
	}
	auths = json_object_get(j, "auths");
	if (json_is_object(auths)) {
		json_object_foreach(auths, k, e) {
			_cleanup_free_ char *u = NULL, *p = NULL;

			if (auth_entry_decode(path, k, e, &u, &p, err) < 0)
				return -1;
		}
	}
	*out = take_ptr_((void **)&j);
	return 0;
}

/* The credential helper docker would use for host: credHelpers' entry for
 * it, else credsStore; NULL for the file itself. (Checked by the load.) */
static const char *auth_helper(json_t *j, const char *host)
{
	json_t *helpers = json_object_get(j, "credHelpers"), *e;
	const char *k, *store = json_string_value(json_object_get(j, "credsStore"));

	e = json_object_get(helpers, auth_key(host));
	if (e)
		return json_string_value(e);
	json_object_foreach(helpers, k, e) {
		if (auth_key_matches(k, host))
			return json_string_value(e);
	}
	return store && *store ? store : NULL;
}

int auth_config_get(const char *host, char **user, char **password, struct err *err)
{
	_cleanup_free_ char *path = auth_config_path();
	_cleanup_json_ json_t *j = NULL;
	json_t *auths, *e;
	const char *k, *helper;

	*user = *password = NULL;
	if (auth_config_load(path, &j, err) < 0)
		return -1;
	helper = auth_helper(j, host);
	if (helper) {
		if (cred_helper_get(helper, auth_key(host), user, password, err) < 0)
			return err_wrap(err, "%s names credential helper %s", path, helper);
		if (*user)
			return 0;
	}
	auths = json_object_get(j, "auths");
	if (!json_is_object(auths))
		return 0;
	e = json_object_get(auths, auth_key(host));
	if (e)
		return auth_entry_decode(path, auth_key(host), e, user, password, err);
	json_object_foreach(auths, k, e) {
		if (auth_key_matches(k, host))
			return auth_entry_decode(path, k, e, user, password, err);
	}
	return 0;
}

/* Write j to path (through a symlink to its target, as docker does),
 * atomically, mode 0600. */
static int auth_config_save(const char *path, json_t *j, struct err *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	_cleanup_free_ char *target = NULL;
	_cleanup_free_ char *s = NULL;
	struct stat st;
	char *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700, err) < 0)
			return err_wrap(err, "create the directory of %s", path);
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		target = realpath(path, NULL);
		if (!target)
			return err_sys(err, errno, "resolve the symlink %s", path);
	}
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s)
		return err_set(err, "encode %s", path);
	if (write_file_atomic(target ? target : path, s, strlen(s), 0600, err) < 0)
		return -1;
	/* An existing file keeps a wider mode through rename of a new one only
	 * if umask allowed it: make it 0600 in every case. */
	chmod(target ? target : path, 0600);
	return 0;
}

int auth_config_set(const char *host, const char *user, const char *password,
		    struct err *err)
{
	_cleanup_free_ char *path = auth_config_path();
	_cleanup_free_ char *plain = NULL, *b64 = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_t *auths, *e;
	const char *k, *helper;
	void *tmp;

	if (!*user || strchr(user, ':'))
		return err_set(err, "invalid username '%s': it must not be empty or hold ':'", user);
	if (auth_config_load(path, &j, err) < 0)
		return -1;
	auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	/* Older spellings of the same host (with a scheme) would shadow nothing
	 * but confuse logout: keep one entry per host. */
	json_object_foreach_safe(auths, tmp, k, e) {
		if (strcmp(k, auth_key(host)) && auth_key_matches(k, host))
			json_object_del(auths, k);
	}
	helper = auth_helper(j, host);
	if (helper) {
		/* as docker: the secret in the helper, an empty entry in the file */
		if (cred_helper_store(helper, auth_key(host), user, password, err) < 0)
			return err_wrap(err, "%s names credential helper %s", path, helper);
		json_object_set_new(auths, auth_key(host), json_object());
		return auth_config_save(path, j, err);
	}
	plain = xasprintf("%s:%s", user, password);
	b64 = base64_encode(plain, strlen(plain));
	explicit_bzero(plain, strlen(plain));
	json_object_set_new(auths, auth_key(host), json_pack("{s:s}", "auth", b64));
	return auth_config_save(path, j, err);
}

int auth_config_remove(const char *host, int *had, struct err *err)
{
	_cleanup_free_ char *path = auth_config_path();
	_cleanup_json_ json_t *j = NULL;
	json_t *auths, *e;
	const char *k, *helper;
	void *tmp;

	*had = 0;
	if (auth_config_load(path, &j, err) < 0)
		return -1;
	helper = auth_helper(j, host);
	if (helper && cred_helper_erase(helper, auth_key(host), err) < 0)
		return err_wrap(err, "%s names credential helper %s", path, helper);
	auths = json_object_get(j, "auths");
	if (!json_is_object(auths))
		return 0;
	json_object_foreach_safe(auths, tmp, k, e) {
		if (auth_key_matches(k, host)) {
			json_object_del(auths, k);
			*had = 1;
		}
	}
	if (!*had)
		return 0;
	return auth_config_save(path, j, err);
}

char *auth_config_helper(const char *host)
{
	_cleanup_free_ char *path = auth_config_path();
	_cleanup_json_ json_t *j = NULL;
	struct err err = { 0 };
	const char *helper;

	if (auth_config_load(path, &j, &err) < 0)
		return NULL;
	helper = auth_helper(j, host);
	return helper ? xstrdup(helper) : NULL;
}
