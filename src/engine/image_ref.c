/* Image references ("name[:tag]"), checked against docker's grammar. */
#include "image.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool ref_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
	}
}

/* host ("." separated labels of letters, digits and inner '-') with an optional :port */
static bool ref_domain_valid(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host = colon ? (size_t)(colon - s) : n, i, label = 0;

	if (colon && (colon + 1 == s + n || strspn(colon + 1, "0123456789") != n - host - 1))
		return false;
	for (i = 0; i <= host; i++) {
		if (i == host || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || (s[i] == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static bool ref_is_domain(const char *s, size_t n, bool more)
{
	return more && (memchr(s, '.', n) || memchr(s, ':', n) ||
			(n == 9 && !memcmp(s, "localhost", 9)));
}

static bool ref_name_valid(const char *name)
{
	const char *p = name;
	bool first = true;

	if (!*name || strlen(name) > REF_NAME_MAX)
		return false;
	for (;;) {
		size_t n = strcspn(p, "/");
		bool more = p[n] == '/';
		bool ok = first && ref_is_domain(p, n, more) ? ref_domain_valid(p, n)
							       : ref_component_valid(p, n);

		if (!ok)
			return false;
		if (!more)
			return true;
		p += n + 1;
		first = false;
	}
}

/* [\w][\w.-]{0,127} */
static bool ref_tag_valid(const char *tag)
{
	size_t i, n = strlen(tag);

	if (n == 0 || n > REF_TAG_MAX || tag[0] == '.' || tag[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return false;
	return true;
}

static bool has_upper(const char *s)
{
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return true;
	return false;
}

void image_ref_split(const char *ref, char **name, char **tag)
{
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');

	if (!colon) {
		*name = xstrdup(ref);
		*tag = xstrdup("latest");
		return;
	}
	*name = xasprintf("%.*s", (int)(colon - ref), ref);
	*tag = xstrdup(colon + 1);
}

int image_ref_normalize(const char *ref, char **out, struct err *err)
{
	char *name = NULL, *tag = NULL;
	int r = 0;

	if (!ref || !*ref)
		return err_set(err, "invalid reference format: the image name is empty");
	if (strchr(ref, '@'))
		return err_set(err, "invalid reference format '%s': digest references are "
			       "not supported; use name:tag or the image ID", ref);
	/* docker's familiar names: docker.io/library/busybox is busybox,
	 * docker.io/acme/app is acme/app (the docker CLI sends the full ones) */
	image_ref_split(!strncmp(ref, "docker.io/library/", 18) && ref[18] ? ref + 18
			: !strncmp(ref, "docker.io/", 10) && ref[10] ? ref + 10 : ref, &name, &tag);
	if (!ref_name_valid(name))
		r = err_set(err, "invalid reference format '%s': %s", ref,
			    has_upper(name) ? "repository name must be lowercase"
					    : "a name is lowercase letters and digits, joined by "
					      "'/', '.', '_' or '-'");
	else if (!ref_tag_valid(tag))
		r = err_set(err, "invalid reference format '%s': a tag is up to 128 letters, "
			    "digits, '_', '.' or '-', not starting with '.' or '-'", ref);
	else
		*out = xasprintf("%s:%s", name, tag);
	free(name);
	free(tag);
	return r;
}
