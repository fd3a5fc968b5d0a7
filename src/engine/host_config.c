#include "engine/host_config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/fs.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int bool_value(const char *value, bool *out)
{
	if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1"))
		*out = true;
	else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* "a, b ,c": each item, trimmed, onto list. */
static int list_value(char *value, struct strv *list)
{
	char *item, *save;

	for (item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (*trim(item))
			strv_push(list, trim(item));
	return list->n ? 0 : -1;
}

static int set_rule_key(struct policy_rule *r, const char *key, char *value)
{
	static const struct { const char *key; size_t list; size_t flag; } keys[] = {
		{ "image", offsetof(struct policy_rule, images), 0 },
		{ "image_label", offsetof(struct policy_rule, image_labels), 0 },
		{ "label", offsetof(struct policy_rule, labels), 0 },
		{ "cap_add", offsetof(struct policy_rule, cap_add), 0 },
		{ "privileged", 0, offsetof(struct policy_rule, privileged) },
		{ "host_namespaces", 0, offsetof(struct policy_rule, host_namespaces) },
		{ "unconfined", 0, offsetof(struct policy_rule, unconfined) },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key))
			continue;
		if (keys[i].list)
			return list_value(value, (struct strv *)((char *)r + keys[i].list));
		return bool_value(value, (bool *)((char *)r + keys[i].flag));
	}
	return -2;
}

static int set_key(struct host_config *c, const char *section, const char *key,
		   char *value, const char *path, unsigned line, struct err *err)
{
	char **slot = NULL;
	int r;

	if (!strncmp(section, "rule ", 5)) {
		r = set_rule_key(&c->rules[c->n_rules - 1], key, value);
		if (r == -2)
			return err_set(err, "%s:%u: unknown rule condition \"%s\": use image, "
				       "image_label, label, cap_add, privileged, host_namespaces or "
				       "unconfined", path, line, key);
		if (r < 0)
			return err_set(err, "%s:%u: invalid value \"%s\" for %s", path, line, value,
				       key);
		return 0;
	}
	if (!strcmp(section, "policy") && !strcmp(key, "require_hyperv_for_untrusted")) {
		free(c->require_untrusted_where);
		c->require_untrusted_where = xasprintf("%s:%u", path, line);
		if (bool_value(value, &c->require_untrusted) < 0)
			return err_set(err, "%s:%u: require_hyperv_for_untrusted is true or false, "
				       "not \"%s\"", path, line, value);
		return 0;
	}
	if (!strcmp(section, "policy") && !strcmp(key, "trusted_images")) {
		if (list_value(value, &c->trusted_images) < 0)
			return err_set(err, "%s:%u: trusted_images needs image patterns", path,
				       line);
		return 0;
	}
	if (!*section && !strcmp(key, "init")) {
		if (bool_value(value, &c->init) < 0)
			return err_set(err, "%s:%u: init is true or false, not \"%s\"", path, line,
				       value);
		return 0;
	}
	if (!*section && !strcmp(key, "no_new_privileges")) {
		if (bool_value(value, &c->no_new_privileges) < 0)
			return err_set(err, "%s:%u: no_new_privileges is true or false, not \"%s\"",
				       path, line, value);
		return 0;
	}
	if (!*section && !strcmp(key, "insecure_registries")) {
		if (list_value(value, &c->insecure_registries) < 0)
			return err_set(err, "%s:%u: insecure_registries needs host[:port] names",
				       path, line);
		return 0;
	}
	if (!*section && !strcmp(key, "max_concurrent_downloads")) {
		char *end;
		long n = strtol(value, &end, 10);

		if (*end || end == value || n < 1 || n > 64)
			return err_set(err, "%s:%u: max_concurrent_downloads is a number from 1 "
				       "to 64, not \"%s\"", path, line, value);
		c->max_concurrent_downloads = (int)n;
		return 0;
	}
	if (!*section && !strcmp(key, "default_isolation"))
		slot = &c->default_isolation;
	else if (!*section && !strcmp(key, "chassis_type_file"))
		slot = &c->chassis_type_file;
	else if (!*section && !strcmp(key, "default_network"))
		slot = &c->default_network;
	if (!slot)
		return err_set(err, "%s:%u: unknown setting \"%s\"%s%s", path, line, key,
			       *section ? " in section " : "", section);
	free(*slot);
	*slot = xstrdup(value);
	return 0;
}

/* "[policy]" or "[rule NAME]"; a rule's name is unique. */
static int open_section(struct host_config *c, const char *name, const char *path,
			unsigned line, struct err *err)
{
	const char *rule = name + 5;
	size_t i;

	if (!strcmp(name, "policy"))
		return 0;
	if (strncmp(name, "rule ", 5) || !*trim((char *)rule) ||
	    strspn(rule, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(rule))
		return err_set(err, "%s:%u: unknown section [%s]: the sections are [policy] and "
			       "[rule NAME] (NAME of letters, digits, '_', '.', '-')", path, line,
			       name);
	for (i = 0; i < c->n_rules; i++)
		if (!strcmp(c->rules[i].name, rule))
			return err_set(err, "%s:%u: rule %s is already defined at %s", path, line,
				       rule, c->rules[i].where);
	c->rules = xrealloc(c->rules, (c->n_rules + 1) * sizeof(*c->rules));
	memset(&c->rules[c->n_rules], 0, sizeof(*c->rules));
	c->rules[c->n_rules].name = xstrdup(rule);
	c->rules[c->n_rules++].where = xasprintf("%s:%u", path, line);
	return 0;
}

static bool rule_empty(const struct policy_rule *r)
{
	return !r->images.n && !r->image_labels.n && !r->labels.n && !r->cap_add.n &&
	       !r->privileged && !r->host_namespaces && !r->unconfined;
}

static int parse(FILE *f, const char *path, struct host_config *c, struct err *err)
{
	_cleanup_free_ char *buf = NULL;
	char section[64] = "";
	size_t cap = 0;
	unsigned line = 0;

	while (getline(&buf, &cap, f) >= 0) {
		char *s, *eq;

		line++;
		buf[strcspn(buf, "#\n")] = '\0';
		s = trim(buf);
		if (!*s)
			continue;
		if (*s == '[') {
			size_t n = strlen(s);

			if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(section))
				return err_set(err, "%s:%u: a section header is \"[name]\"", path,
					       line);
			s[n - 1] = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			if (open_section(c, section, path, line, err) < 0)
				return -1;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq)
			return err_set(err, "%s:%u: expected \"key = value\", got \"%.60s\"", path,
				       line, s);
		*eq = '\0';
		if (!*trim(s))
			return err_set(err, "%s:%u: a setting needs a name", path, line);
		if (set_key(c, section, trim(s), trim(eq + 1), path, line, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->n_rules; i++)
		if (rule_empty(&c->rules[i]))
			return err_set(err, "%s: rule %s has no condition: give it image, "
				       "image_label, label, cap_add, privileged, host_namespaces or "
				       "unconfined", c->rules[i].where, c->rules[i].name);
	return 0;
}

int host_config_load(const char *path, struct host_config *c, struct err *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	bool named = path != NULL;

	memset(c, 0, sizeof(*c));
	c->max_concurrent_downloads = 3;
	if (!path && getenv("ISOBOX_CONFIG") && *getenv("ISOBOX_CONFIG")) {
		path = getenv("ISOBOX_CONFIG");
		named = true;
	}
	if (!path)
		path = HOST_CONFIG_DEFAULT_PATH;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !named)
			return 0;
		return err_sys(err, errno, "read the configuration %s", path);
	}
	c->path = xstrdup(path);
	if (parse(f, path, c, err) < 0) {
		host_config_free(c);
		return -1;
	}
	if (c->default_isolation) {
		int mode;

		if (isolation_value(c->default_isolation, "default_isolation", false, &mode, err) < 0) {
			err_wrap(err, "%s", path);
			host_config_free(c);
			return -1;
		}
	}
	return 0;
}

void host_config_free(struct host_config *c)
{
	strv_free(&c->insecure_registries);
	free(c->path);
	free(c->default_isolation);
	free(c->chassis_type_file);
	free(c->default_network);
	for (size_t i = 0; i < c->n_rules; i++) {
		struct policy_rule *r = &c->rules[i];

		free(r->name);
		free(r->where);
		strv_free(&r->images);
		strv_free(&r->image_labels);
		strv_free(&r->labels);
		strv_free(&r->cap_add);
	}
	free(c->rules);
	free(c->require_untrusted_where);
	strv_free(&c->trusted_images);
	memset(c, 0, sizeof(*c));
}

int isolation_value(const char *value, const char *what, bool allow_auto, int *mode,
		    struct err *err)
{
	if (!value || !*value || !strcasecmp(value, "default"))
		*mode = ISOLATION_DEFAULT;
	else if (!strcasecmp(value, "process"))
		*mode = ISOLATION_PROCESS;
	else if (!strcasecmp(value, "hyperv") || !strcasecmp(value, "vm"))
		*mode = ISOLATION_HYPERV;
	else if (allow_auto && !strcasecmp(value, "auto"))
		*mode = ISOLATION_AUTO;
	else
		return err_set(err, "invalid %s value \"%s\": valid values are process, hyperv "
			       "(alias vm)%s default", what, value, allow_auto ? ", auto and" : " and");
	return 0;
}

/* SMBIOS 3.x chassis types of machines people sit at: desktops, laptops,
 * tablets and their kin. */
static const char *workstation_chassis(int type)
{
	static const struct { int type; const char *name; } kinds[] = {
		{ 3, "Desktop" }, { 4, "Low Profile Desktop" }, { 5, "Pizza Box" },
		{ 6, "Mini Tower" }, { 7, "Tower" }, { 8, "Portable" }, { 9, "Laptop" },
		{ 10, "Notebook" }, { 11, "Hand Held" }, { 13, "All in One" },
		{ 14, "Sub Notebook" }, { 15, "Space-saving" }, { 16, "Lunch Box" },
		{ 30, "Tablet" }, { 31, "Convertible" }, { 32, "Detachable" },
		{ 35, "Mini PC" }, { 36, "Stick PC" },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].type == type)
			return kinds[i].name;
	return NULL;
}

/* hostnamectl's chassis names (set with `hostnamectl set-chassis`, kept in
 * /etc/machine-info as CHASSIS=): the ones people sit at. */
static bool workstation_word(const char *word)
{
	static const char *const words[] = { "desktop", "laptop", "convertible", "tablet",
					     "handset", "watch" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(word, words[i]))
			return true;
	return false;
}

/* CHASSIS= of /etc/machine-info, or NULL. */
static char *machine_info_chassis(void)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;

	if (read_file(HOST_MACHINE_INFO_FILE, 1 << 16, &text, NULL, &(struct err){ 0 }) < 0)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = line + 8;

		if (strncmp(line, "CHASSIS=", 8))
			continue;
		if (*v == '"' || *v == '\'')
			v++;
		v[strcspn(v, "\"'")] = '\0';
		return *v ? xstrdup(v) : NULL;
	}
	return NULL;
}

/* The host's role from a chassis: an SMBIOS type number, or a hostnamectl word. */
static void role_from_chassis(const char *chassis, const char *source, struct isolation_default *d)
{
	char *end;
	long type = strtol(chassis, &end, 10);
	const char *kind;

	if (end != chassis) {
		kind = workstation_chassis((int)type);
		d->hyperv = kind != NULL;
		if (kind)
			snprintf(d->why, sizeof(d->why), "a workstation: chassis type %ld (%s) in %s",
				 type, kind, source);
		else
			snprintf(d->why, sizeof(d->why), "a server: chassis type %ld in %s", type,
				 source);
		return;
	}
	d->hyperv = workstation_word(chassis);
	snprintf(d->why, sizeof(d->why), "a %s: chassis \"%.40s\" in %s",
		 d->hyperv ? "workstation" : "server", chassis, source);
}

int isolation_default(const struct host_config *c, const char *override,
		      struct isolation_default *d, struct err *err)
{
	const char *file = getenv("ISOBOX_CHASSIS_TYPE_FILE");
	_cleanup_free_ char *text = NULL;
	int mode;

	memset(d, 0, sizeof(*d));
	if (override && isolation_value(override, "--default-isolation", false, &mode, err) < 0)
		return -1;
	if (override && mode >= 0) {
		d->hyperv = mode == 1;
		snprintf(d->why, sizeof(d->why), "set by --default-isolation");
		return 0;
	}
	if (c && c->default_isolation &&
	    isolation_value(c->default_isolation, "default_isolation", false, &mode, err) == 0 &&
	    mode >= 0) {
		d->hyperv = mode == 1;
		snprintf(d->why, sizeof(d->why), "set by default_isolation in %s", c->path);
		return 0;
	}
	if (!file || !*file)
		file = c && c->chassis_type_file ? c->chassis_type_file : NULL;
	/* What the administrator set with hostnamectl comes before the firmware's word. */
	if (!file && (text = machine_info_chassis())) {
		role_from_chassis(text, HOST_MACHINE_INFO_FILE, d);
		return 0;
	}
	if (!file)
		file = HOST_CHASSIS_TYPE_FILE;
	if (read_file(file, 64, &text, NULL, &(struct err){ 0 }) < 0 || !*trim(text)) {
		snprintf(d->why, sizeof(d->why), "a server by default: no chassis type in %s", file);
		return 0;
	}
	role_from_chassis(trim(text), file, d);
	return 0;
}
