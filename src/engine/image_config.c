/* The OCI image config of an imported image, and docker's --change
 * instructions that fill its "config" object. */
#include "image.h"

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/signal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#if defined(__x86_64__)
#define IMAGE_ARCH "amd64"
#elif defined(__aarch64__)
#define IMAGE_ARCH "arm64"
#else
#define IMAGE_ARCH "amd64"
#endif

/* Docker's word splitting: whitespace separates, '...' and "..." group, and
 * a backslash escapes the next character outside single quotes. */
static int split_words(const char *s, json_t **out, struct err *err)
{
	_cleanup_json_ json_t *words = json_array();
	_cleanup_free_ char *buf = xmalloc(strlen(s) + 1);
	size_t n = 0;
	bool in_word = false;
	char quote = 0;

	for (; *s; s++) {
		if (!quote && isspace((unsigned char)*s)) {
			if (in_word)
				json_array_append_new(words, json_stringn(buf, n));
			in_word = false;
			n = 0;
			continue;
		}
		in_word = true;
		if (*s == quote)
			quote = 0;
		else if (!quote && (*s == '"' || *s == '\''))
			quote = *s;
		else if (*s == '\\' && quote != '\'' && s[1])
			buf[n++] = *++s;
		else
			buf[n++] = *s;
	}
	if (quote)
		return err_set(err, "unterminated quote %c", quote);
	if (in_word)
		json_array_append_new(words, json_stringn(buf, n));
	*out = take_ptr(&words);
	return 0;
}

/* ["a","b"] if arg is a JSON array of strings, else NULL. */
static json_t *json_form(const char *arg)
{
	json_t *j = arg[0] == '[' ? json_loads(arg, 0, NULL) : NULL;
	size_t i;
	json_t *v;

	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	json_array_foreach(j, i, v) {
		if (!json_is_string(v)) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static int change_command(json_t *cfg, const char *key, const char *arg, struct err *err)
{
	json_t *cmd = json_form(arg);

	if (!*arg)
		return err_set(err, "%s needs a command, as [\"exe\", \"arg\"] or a shell line",
			       key);
	if (!cmd)
		cmd = json_pack("[sss]", "/bin/sh", "-c", arg);
	json_object_set_new(cfg, key, cmd);
	return 0;
}

static int change_cmd(json_t *cfg, const char *arg, struct err *err)
{
	return change_command(cfg, "Cmd", arg, err);
}

static int change_entrypoint(json_t *cfg, const char *arg, struct err *err)
{
	return change_command(cfg, "Entrypoint", arg, err);
}

static void env_set(json_t *env, const char *key, size_t klen, const char *val)
{
	char *kv = xasprintf("%.*s=%s", (int)klen, key, val);
	size_t i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && !strncmp(s, key, klen) && s[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			free(kv);
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
	free(kv);
}

/* "K=V K2=V2" or the legacy "K V with spaces"; calls set(obj, key, klen, value). */
static int change_pairs(json_t *obj, const char *what, const char *arg,
			void (*set)(json_t *, const char *, size_t, const char *),
			struct err *err)
{
	_cleanup_json_ json_t *words = NULL;
	size_t klen = strcspn(arg, " \t="), i;
	json_t *w;

	if (!*arg || klen == 0)
		return err_set(err, "%s needs KEY=VALUE", what);
	if (arg[klen] != '=') {
		const char *val = arg + klen + strspn(arg + klen, " \t");

		if (!*val)
			return err_set(err, "%s needs KEY=VALUE or KEY VALUE", what);
		set(obj, arg, klen, val);
		return 0;
	}
	if (split_words(arg, &words, err) < 0)
		return -1;
	json_array_foreach(words, i, w) {
		const char *s = json_string_value(w);
		const char *eq = strchr(s, '=');

		if (!eq || eq == s)
			return err_set(err, "%s needs KEY=VALUE, not '%s'", what, s);
		set(obj, s, (size_t)(eq - s), eq + 1);
	}
	return 0;
}

static json_t *config_member(json_t *cfg, const char *key, json_t *(*make)(void))
{
	json_t *v = json_object_get(cfg, key);

	if (!v || json_is_null(v)) {
		v = make();
		json_object_set_new(cfg, key, v);
	}
	return v;
}

static int change_env(json_t *cfg, const char *arg, struct err *err)
{
	return change_pairs(config_member(cfg, "Env", json_array), "ENV", arg, env_set, err);
}

static void label_set(json_t *labels, const char *key, size_t klen, const char *val)
{
	char *k = xasprintf("%.*s", (int)klen, key);
	_cleanup_json_ json_t *kw = NULL;
	struct err ignored;

	/* A quoted key ("LABEL \"a b\"=c") loses its quotes as docker's does. */
	if (split_words(k, &kw, &ignored) == 0 && json_array_size(kw) == 1) {
		free(k);
		k = xstrdup(json_string_value(json_array_get(kw, 0)));
	}
	json_object_set_new(labels, k, json_string(val));
	free(k);
}

static int change_label(json_t *cfg, const char *arg, struct err *err)
{
	return change_pairs(config_member(cfg, "Labels", json_object), "LABEL", arg, label_set,
			    err);
}

static int parse_port(const char *s, const char *end, unsigned *port)
{
	char *e;
	unsigned long v;

	if (s == end || !isdigit((unsigned char)*s))
		return -1;
	v = strtoul(s, &e, 10);
	if (e != end || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* "80", "80/udp", "8000-8010/tcp" */
static int expose_one(json_t *ports, const char *spec, struct err *err)
{
	const char *slash = strchr(spec, '/');
	const char *proto = slash ? slash + 1 : "tcp";
	const char *end = slash ? slash : spec + strlen(spec);
	const char *dash = memchr(spec, '-', (size_t)(end - spec));
	unsigned lo, hi, p;

	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return err_set(err, "EXPOSE %s: the protocol must be tcp, udp or sctp", spec);
	if (parse_port(spec, dash ? dash : end, &lo) < 0 ||
	    parse_port(dash ? dash + 1 : spec, end, &hi) < 0 || hi < lo)
		return err_set(err, "EXPOSE %s: a port is 1-65535, or a range LOW-HIGH", spec);
	for (p = lo; p <= hi; p++) {
		char key[32];

		snprintf(key, sizeof(key), "%u/%s", p, proto);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

static int change_expose(json_t *cfg, const char *arg, struct err *err)
{
	_cleanup_json_ json_t *words = NULL;
	json_t *ports = config_member(cfg, "ExposedPorts", json_object), *w;
	size_t i;

	if (split_words(arg, &words, err) < 0)
		return -1;
	if (json_array_size(words) == 0)
		return err_set(err, "EXPOSE needs a port");
	json_array_foreach(words, i, w)
		if (expose_one(ports, json_string_value(w), err) < 0)
			return -1;
	return 0;
}

static int change_stopsignal(json_t *cfg, const char *arg, struct err *err)
{
	if (signal_parse(arg) < 0)
		return err_set(err, "STOPSIGNAL '%s' is not a signal: give a name such as "
			       "SIGTERM or a number", arg);
	json_object_set_new(cfg, "StopSignal", json_string(arg));
	return 0;
}

static int change_user(json_t *cfg, const char *arg, struct err *err)
{
	if (!*arg || strpbrk(arg, " \t"))
		return err_set(err, "USER needs one user[:group]");
	json_object_set_new(cfg, "User", json_string(arg));
	return 0;
}

static int change_workdir(json_t *cfg, const char *arg, struct err *err)
{
	_cleanup_free_ char *dir = NULL;

	if (!*arg)
		return err_set(err, "WORKDIR needs a directory");
	dir = arg[0] == '/' ? xstrdup(arg) : xasprintf("/%s", arg);
	json_object_set_new(cfg, "WorkingDir", json_string(dir));
	return 0;
}

static int change_volume(json_t *cfg, const char *arg, struct err *err)
{
	_cleanup_json_ json_t *words = json_form(arg);
	json_t *vols, *w;
	size_t i;

	if (!words && split_words(arg, &words, err) < 0)
		return -1;
	if (json_array_size(words) == 0)
		return err_set(err, "VOLUME needs a path");
	vols = config_member(cfg, "Volumes", json_object);
	json_array_foreach(words, i, w) {
		if (!*json_string_value(w))
			return err_set(err, "VOLUME needs a path, not an empty string");
		json_object_set_new(vols, json_string_value(w), json_object());
	}
	return 0;
}

/* isobox's own: what the image needs of its platform (engine/image_needs.h). */
static int change_os(json_t *img, const char *arg, struct err *err)
{
	if (!*arg || strpbrk(arg, " \t/"))
		return err_set(err, "OS needs one word, such as linux");
	json_object_set_new(img, "os", json_string(arg));
	return 0;
}

static int change_arch(json_t *img, const char *arg, struct err *err)
{
	const char *slash = strchr(arg, '/');

	if (!*arg || strpbrk(arg, " \t") || slash == arg || (slash && strchr(slash + 1, '/')))
		return err_set(err, "ARCH is ARCHITECTURE[/VARIANT], such as amd64 or arm64/v8");
	json_object_set_new(img, "architecture",
			    json_stringn(arg, slash ? (size_t)(slash - arg) : strlen(arg)));
	if (slash)
		json_object_set_new(img, "variant", json_string(slash + 1));
	else
		json_object_del(img, "variant");
	return 0;
}

static int change_os_version(json_t *img, const char *arg, struct err *err)
{
	if (!*arg || strspn(arg, "0123456789.") != strlen(arg) || !strchr(arg, '.'))
		return err_set(err, "OS.VERSION is the lowest kernel version, such as 6.1 or 6.1.90");
	json_object_set_new(img, "os.version", json_string(arg));
	return 0;
}

static int change_os_features(json_t *img, const char *arg, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	json_t *list = json_array();
	char *f, *save;

	for (f = strtok_r(copy, " \t,", &save); f; f = strtok_r(NULL, " \t,", &save))
		json_array_append_new(list, json_string(f));
	if (!json_array_size(list)) {
		json_decref(list);
		return err_set(err, "OS.FEATURES needs kernel features, such as io_uring bpf");
	}
	json_object_set_new(img, "os.features", list);
	return 0;
}

static const struct change_op {
	const char *name;
	int (*apply)(json_t *obj, const char *arg, struct err *err);
	bool whole_image;   /* apply gets the image config, not its "config" */
} change_ops[] = {
	{ "CMD", change_cmd, false },
	{ "ENTRYPOINT", change_entrypoint, false },
	{ "ENV", change_env, false },
	{ "EXPOSE", change_expose, false },
	{ "LABEL", change_label, false },
	{ "STOPSIGNAL", change_stopsignal, false },
	{ "USER", change_user, false },
	{ "VOLUME", change_volume, false },
	{ "WORKDIR", change_workdir, false },
	{ "OS", change_os, true },
	{ "ARCH", change_arch, true },
	{ "OS.VERSION", change_os_version, true },
	{ "OS.FEATURES", change_os_features, true },
};

static char *trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xasprintf("%.*s", (int)n, s);
}

int image_change_apply(json_t *image, const char *instr, struct err *err)
{
	json_t *config = json_object_get(image, "config");
	const char *s = instr + strspn(instr, " \t\n");
	size_t klen = strcspn(s, " \t\n"), i;
	_cleanup_free_ char *arg = trim(s + klen, strlen(s + klen));

	for (i = 0; i < sizeof(change_ops) / sizeof(change_ops[0]); i++) {
		if (strlen(change_ops[i].name) != klen || strncasecmp(s, change_ops[i].name, klen))
			continue;
		if (change_ops[i].apply(change_ops[i].whole_image ? image : config, arg, err) < 0)
			return err_wrap(err, "--change '%s'", instr);
		return 0;
	}
	return err_set(err, "--change '%s': unknown instruction %.*s: use CMD, ENTRYPOINT, ENV, "
		       "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, OS, ARCH, OS.VERSION or "
		       "OS.FEATURES", instr,
		       (int)(klen > 64 ? 64 : klen), s);
}

static void config_default_path(json_t *cfg)
{
	json_t *env = config_member(cfg, "Env", json_array), *v;
	size_t i;

	json_array_foreach(env, i, v)
		if (json_is_string(v) && !strncmp(json_string_value(v), "PATH=", 5))
			return;
	json_array_insert_new(env, 0, json_string(DEFAULT_PATH));
}

int image_config_new(const char *const *changes, size_t n_changes, const char *message,
		     json_t **out, struct err *err)
{
	_cleanup_json_ json_t *img = NULL;
	json_t *cfg = json_object(), *hist;
	char now[64];
	size_t i;

	time_rfc3339(now, sizeof(now));
	img = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:[]}}", "architecture", IMAGE_ARCH,
			"os", "linux", "created", now, "config", cfg, "rootfs", "type", "layers",
			"diff_ids");
	for (i = 0; i < n_changes; i++)
		if (image_change_apply(img, changes[i], err) < 0)
			return -1;
	config_default_path(cfg);
	hist = json_pack("{s:s, s:s}", "created", now, "created_by", "isobox import");
	if (message && *message)
		json_object_set_new(hist, "comment", json_string(message));
	json_object_set_new(img, "history", json_pack("[o]", hist));
	*out = take_ptr(&img);
	return 0;
}
