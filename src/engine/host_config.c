#include "engine/host_config.h"

#include <ctype.h>
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

static int set_key(struct host_config *c, const char *section, const char *key,
		   const char *value, const char *path, unsigned line, struct err *err)
{
	char **slot = NULL;

	if (!*section && !strcmp(key, "default_isolation"))
		slot = &c->default_isolation;
	else if (!*section && !strcmp(key, "chassis_type_file"))
		slot = &c->chassis_type_file;
	if (!slot)
		return err_set(err, "%s:%u: unknown setting \"%s\"%s%s", path, line, key,
			       *section ? " in section " : "", section);
	free(*slot);
	*slot = xstrdup(value);
	return 0;
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
	return 0;
}

int host_config_load(const char *path, struct host_config *c, struct err *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	bool named = path != NULL;

	memset(c, 0, sizeof(*c));
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

		if (isolation_value(c->default_isolation, "default_isolation", &mode, err) < 0) {
			err_wrap(err, "%s", path);
			host_config_free(c);
			return -1;
		}
	}
	return 0;
}

void host_config_free(struct host_config *c)
{
	free(c->path);
	free(c->default_isolation);
	free(c->chassis_type_file);
	memset(c, 0, sizeof(*c));
}

int isolation_value(const char *value, const char *what, int *mode, struct err *err)
{
	if (!value || !*value || !strcasecmp(value, "default"))
		*mode = -1;
	else if (!strcasecmp(value, "process"))
		*mode = 0;
	else if (!strcasecmp(value, "hyperv") || !strcasecmp(value, "vm"))
		*mode = 1;
	else
		return err_set(err, "invalid %s value \"%s\": valid values are process, hyperv "
			       "(alias vm) and default", what, value);
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

int isolation_default(const struct host_config *c, const char *override,
		      struct isolation_default *d, struct err *err)
{
	const char *file = getenv("ISOBOX_CHASSIS_TYPE_FILE");
	_cleanup_free_ char *text = NULL;
	const char *kind;
	size_t len;
	int mode, type;

	memset(d, 0, sizeof(*d));
	if (override && isolation_value(override, "--default-isolation", &mode, err) < 0)
		return -1;
	if (override && mode >= 0) {
		d->hyperv = mode == 1;
		snprintf(d->why, sizeof(d->why), "set by --default-isolation");
		return 0;
	}
	if (c && c->default_isolation &&
	    isolation_value(c->default_isolation, "default_isolation", &mode, err) == 0 &&
	    mode >= 0) {
		d->hyperv = mode == 1;
		snprintf(d->why, sizeof(d->why), "set by default_isolation in %s", c->path);
		return 0;
	}
	if (!file || !*file)
		file = c && c->chassis_type_file ? c->chassis_type_file : HOST_CHASSIS_TYPE_FILE;
	if (read_file(file, 64, &text, &len, &(struct err){ 0 }) < 0) {
		snprintf(d->why, sizeof(d->why), "a server by default: no chassis type in %s", file);
		return 0;
	}
	type = atoi(text);
	kind = workstation_chassis(type);
	d->hyperv = kind != NULL;
	if (kind)
		snprintf(d->why, sizeof(d->why), "a workstation: chassis type %d (%s) in %s", type,
			 kind, file);
	else
		snprintf(d->why, sizeof(d->why), "a server: chassis type %d in %s", type, file);
	return 0;
}
