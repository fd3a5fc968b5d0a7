/* -v and --mount parsed as docker's (moby's volume/mounts linux parser and
 * the CLI's --mount CSV): every error is found before anything is made. */
#include "engine/mount_spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

static const char *const propagations[] = { "shared", "rshared", "slave", "rslave",
					     "private", "rprivate" };

static bool is_propagation(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++)
		if (!strcmp(s, propagations[i]))
			return true;
	return false;
}

/* A mode is a comma list of rw|ro, z|Z, nocopy, one propagation. */
static bool mode_parse(const char *mode, struct mount_spec *m)
{
	_cleanup_free_ char *copy = xstrdup(mode);
	char *save = NULL, *tok;
	int rw = 0, label = 0, prop = 0, copy_ = 0;

	if (!*mode)
		return false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "ro") || !strcmp(tok, "rw")) {
			m->readonly = tok[1] == 'o';
			rw++;
		} else if (!strcmp(tok, "z") || !strcmp(tok, "Z")) {
			label++;
		} else if (!strcmp(tok, "nocopy")) {
			m->nocopy = true;
			copy_++;
		} else if (is_propagation(tok)) {
			free(m->propagation);
			m->propagation = xstrdup(tok);
			prop++;
		} else {
			return false;
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && copy_ <= 1;
}

static const char *type_name(enum mount_type t)
{
	return t == MOUNT_BIND ? "bind" : t == MOUNT_VOLUME ? "volume" : "tmpfs";
}

static int target_check(const struct mount_spec *m, const char *raw, struct err *err)
{
	const char *pre = raw ? "invalid volume specification: '" : "";

	if (!m->target || !*m->target)
		return err_set(err, "%s%s%sinvalid mount config for type \"%s\": field Target must "
			       "not be empty", pre, raw ?: "", raw ? "': " : "", type_name(m->type));
	if (m->target[0] != '/')
		return err_set(err, "%s%s%sinvalid mount config for type \"%s\": invalid mount "
			       "path: '%s' mount path must be absolute", pre, raw ?: "",
			       raw ? "': " : "", type_name(m->type), m->target);
	if (strspn(m->target, "/") == strlen(m->target))
		return err_set(err, "invalid specification: destination can't be '/'");
	if (strlen(m->target) > 4096)
		return err_set(err, "invalid mount path: longer than 4096 bytes");
	return 0;
}

int mount_spec_parse_volume(const char *spec, struct mount_spec *m, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *part[4] = { 0 }, *p = copy;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	if (!*spec)
		return err_set(err, "invalid empty volume spec");
	while (p && n < 4) {
		part[n++] = p;
		p = strchr(p, ':');
		if (p)
			*p++ = '\0';
	}
	if (p || n > 3)
		return err_set(err, "invalid spec: %s: too many colons", spec);
	m->mode = xstrdup("");
	if (n == 1) {
		m->type = MOUNT_VOLUME;
		m->target = xstrdup(part[0]);
	} else {
		m->source = xstrdup(part[0]);
		m->target = xstrdup(part[1]);
		m->type = part[0][0] == '/' ? MOUNT_BIND : MOUNT_VOLUME;
		if (!*part[0] || (n == 2 && mode_parse(part[1], m)))
			return err_set(err, "invalid volume specification: '%s'", spec);
		if (n == 3) {
			if (!mode_parse(part[2], m))
				return err_set(err, "invalid mode: %s", part[2]);
			free(m->mode);
			m->mode = xstrdup(part[2]);
		}
	}
	if (m->propagation && m->type != MOUNT_BIND)
		return err_set(err, "invalid volume specification: '%s': propagation applies to "
			       "host paths only", spec);
	if (m->type == MOUNT_BIND && !m->propagation)
		m->propagation = xstrdup("rprivate");
	/* docker shows a named volume's default mode as "z" */
	if (m->type == MOUNT_VOLUME && m->source && n == 2)
		m->mode = (free(m->mode), xstrdup("z"));
	return target_check(m, spec, err);
}

static int bool_value(const char *key, const char *val, bool *out, struct err *err)
{
	if (!val || !strcmp(val, "1") || !strcasecmp(val, "true"))
		*out = true;
	else if (!strcmp(val, "0") || !strcasecmp(val, "false"))
		*out = false;
	else
		return err_set(err, "invalid value for %s: %s", key, val);
	return 0;
}

static int mount_field(struct mount_spec *m, char *key, char *val, bool *typed,
		       struct err *err)
{
	if (!strcmp(key, "type")) {
		if (!val || !strcmp(val, "volume"))
			m->type = MOUNT_VOLUME;
		else if (!strcmp(val, "bind"))
			m->type = MOUNT_BIND;
		else if (!strcmp(val, "tmpfs"))
			m->type = MOUNT_TMPFS;
		else
			return err_set(err, "invalid mount config for type \"%s\": mount type unknown",
				       val);
		*typed = true;
	} else if (!strcmp(key, "source") || !strcmp(key, "src")) {
		free(m->source);
		m->source = val && *val ? xstrdup(val) : NULL;
	} else if (!strcmp(key, "target") || !strcmp(key, "destination") ||
		   !strcmp(key, "dst")) {
		free(m->target);
		m->target = xstrdup(val ?: "");
	} else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
		return bool_value(key, val, &m->readonly, err);
	} else if (!strcmp(key, "volume-nocopy")) {
		return bool_value(key, val, &m->nocopy, err);
	} else if (!strcmp(key, "volume-opt")) {
		if (!val || !strchr(val, '='))
			return err_set(err, "invalid volume-opt \"%s\": want KEY=VALUE", val ?: "");
		strv_push(&m->volume_opts, val);
	} else if (!strcmp(key, "tmpfs-size")) {
		if (!val || parse_bytes(val, &m->tmpfs_size) < 0 || m->tmpfs_size < 0)
			return err_set(err, "invalid tmpfs-size \"%s\"", val ?: "");
	} else if (!strcmp(key, "tmpfs-mode")) {
		char *end;
		unsigned long v = val ? strtoul(val, &end, 8) : 0;

		if (!val || !*val || *end || v > 07777)
			return err_set(err, "invalid tmpfs-mode \"%s\"", val ?: "");
		m->tmpfs_mode = (unsigned)v;
	} else if (!strcmp(key, "bind-propagation")) {
		if (!val || !is_propagation(val))
			return err_set(err, "invalid bind-propagation \"%s\"", val ?: "");
		free(m->propagation);
		m->propagation = xstrdup(val);
	} else if (strcmp(key, "consistency")) {
		return err_set(err, "unexpected key '%s'", key);
	}
	return 0;
}

int mount_spec_parse_mount(const char *spec, struct mount_spec *m, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *save = NULL, *tok;
	bool typed = false;

	memset(m, 0, sizeof(*m));
	m->type = MOUNT_VOLUME;
	m->from_mount = true;
	m->mode = xstrdup("");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = '\0';
		if (mount_field(m, tok, eq, &typed, err) < 0)
			return err_wrap(err, "invalid argument \"%s\" for \"--mount\" flag", spec);
	}
	if (!m->target)
		return err_set(err, "invalid argument \"%s\" for \"--mount\" flag: target is "
			       "required", spec);
	if (m->type == MOUNT_BIND && !m->source)
		return err_set(err, "invalid mount config for type \"bind\": field Source must not "
			       "be empty");
	if (m->type == MOUNT_TMPFS && m->source)
		return err_set(err, "invalid mount config for type \"tmpfs\": field Source must "
			       "not be specified");
	if (m->type == MOUNT_BIND && m->source[0] != '/')
		return err_set(err, "invalid mount config for type \"bind\": invalid mount path: "
			       "'%s' mount path must be absolute", m->source);
	if (m->propagation && m->type != MOUNT_BIND)
		return err_set(err, "invalid mount config for type \"%s\": field BindOptions must "
			       "not be specified", type_name(m->type));
	if ((m->tmpfs_size || m->tmpfs_mode) && m->type != MOUNT_TMPFS)
		return err_set(err, "invalid mount config for type \"%s\": field TmpfsOptions must "
			       "not be specified", type_name(m->type));
	if ((m->volume_opts.n || m->nocopy) && m->type != MOUNT_VOLUME)
		return err_set(err, "invalid mount config for type \"%s\": field VolumeOptions must "
			       "not be specified", type_name(m->type));
	if (m->type == MOUNT_VOLUME && m->source) {
		/* a name, as the volume store checks it later; not a path */
		if (strchr(m->source, '/'))
			return err_set(err, "create %s: \"%s\" includes invalid characters for a "
				       "local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
				       "allowed. If you intended to pass a host directory, use "
				       "absolute path", m->source, m->source);
	}
	if (m->type == MOUNT_VOLUME)
		m->mode = (free(m->mode), xstrdup("z"));
	if (m->type == MOUNT_BIND && !m->propagation)
		m->propagation = xstrdup("rprivate");
	(void)typed;
	return target_check(m, NULL, err);
}

void mount_spec_free(struct mount_spec *m)
{
	free(m->source);
	free(m->target);
	free(m->mode);
	free(m->propagation);
	strv_free(&m->volume_opts);
	memset(m, 0, sizeof(*m));
}
