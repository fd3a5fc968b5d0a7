#include "engine/isolation_policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* docker's implicit names: "busybox" is docker.io/library/busybox. */
bool policy_image_matches(const char *pattern, const char *image)
{
	_cleanup_free_ char *name = xstrdup(image), *full = NULL, *full_name = NULL;
	const char *slash = strchr(image, '/');
	char *colon = strrchr(name, ':');
	bool domain;

	if (colon && !strchr(colon, '/'))
		*colon = '\0';
	domain = slash && (memchr(image, '.', slash - image) || memchr(image, ':', slash - image) ||
			   !strncmp(image, "localhost/", 10));
	if (!domain) {
		full = xasprintf("docker.io/%s%s", slash ? "" : "library/", image);
		full_name = xasprintf("docker.io/%s%s", slash ? "" : "library/", name);
	}
	return !fnmatch(pattern, image, 0) || !fnmatch(pattern, name, 0) ||
	       (full && (!fnmatch(pattern, full, 0) || !fnmatch(pattern, full_name, 0)));
}

/* "KEY" (present) or "KEY=GLOB" against a label's value. */
static bool label_matches(const char *pattern, const char *key, const char *value)
{
	const char *eq = strchr(pattern, '=');

	if (!eq)
		return !strcmp(pattern, key);
	return strlen(key) == (size_t)(eq - pattern) && !strncmp(pattern, key, eq - pattern) &&
	       !fnmatch(eq + 1, value, 0);
}

static bool images_match(const struct strv *patterns, const char *image, char *why, size_t size)
{
	size_t i;

	for (i = 0; i < patterns->n; i++)
		if (policy_image_matches(patterns->v[i], image)) {
			snprintf(why, size, "image %s matches %s", image, patterns->v[i]);
			return true;
		}
	snprintf(why, size, "image %s matches no image pattern of the rule", image);
	return false;
}

static bool image_labels_match(const struct strv *patterns, json_t *labels, char *why,
			       size_t size)
{
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < patterns->n; i++)
		json_object_foreach(labels, key, v)
			if (json_is_string(v) &&
			    label_matches(patterns->v[i], key, json_string_value(v))) {
				snprintf(why, size, "image label %s=%s matches %s", key,
					 json_string_value(v), patterns->v[i]);
				return true;
			}
	snprintf(why, size, "no image label matches %s", patterns->v[0]);
	return false;
}

static bool labels_match(const struct strv *patterns, const struct strv *labels, char *why,
			 size_t size)
{
	size_t i, j;

	for (i = 0; i < patterns->n; i++)
		for (j = 0; j < labels->n; j++) {
			_cleanup_free_ char *key = xstrdup(labels->v[j]);
			char *value = strchr(key, '=');

			if (value)
				*value++ = '\0';
			if (label_matches(patterns->v[i], key, value ? value : "")) {
				snprintf(why, size, "container label %s matches %s", labels->v[j],
					 patterns->v[i]);
				return true;
			}
		}
	snprintf(why, size, "no container label matches %s", patterns->v[0]);
	return false;
}

static const char *cap_name(const char *cap)
{
	return strncasecmp(cap, "CAP_", 4) ? cap : cap + 4;
}

static bool caps_match(const struct strv *patterns, const struct strv *caps, char *why,
		       size_t size)
{
	size_t i, j;

	for (i = 0; i < patterns->n; i++)
		for (j = 0; j < caps->n; j++)
			if (!strcmp(patterns->v[i], "*") || !strcasecmp(caps->v[j], "ALL") ||
			    !strcasecmp(cap_name(patterns->v[i]), cap_name(caps->v[j]))) {
				snprintf(why, size, "--cap-add %s matches %s", caps->v[j],
					 patterns->v[i]);
				return true;
			}
	snprintf(why, size, "no --cap-add matches %s", patterns->v[0]);
	return false;
}

static bool flag_asked(bool asked, const char *what, char *why, size_t size)
{
	snprintf(why, size, "%s %s", what, asked ? "is asked for" : "is not asked for");
	return asked;
}

/* Why a rule matched (every condition it sets), or did not (the first that failed). */
struct verdict {
	char *why;
	size_t size, len;
	bool ok;
};

static void verdict_add(struct verdict *v, bool matched, const char *one)
{
	if (!matched) {
		v->ok = false;
		v->len = 0;
	}
	v->len += snprintf(v->why + v->len, v->len < v->size ? v->size - v->len : 0, "%s%s",
			   v->len ? "; " : "", one);
}

static bool rule_matches(const struct policy_rule *r, const struct policy_subject *s,
			 char *why, size_t size)
{
	struct verdict v = { .why = why, .size = size, .ok = true };
	char one[320];

	why[0] = '\0';
	if (v.ok && r->images.n)
		verdict_add(&v, images_match(&r->images, s->image, one, sizeof(one)), one);
	if (v.ok && r->image_labels.n)
		verdict_add(&v, image_labels_match(&r->image_labels, s->image_labels, one,
						   sizeof(one)), one);
	if (v.ok && r->labels.n)
		verdict_add(&v, labels_match(&r->labels, s->labels, one, sizeof(one)), one);
	if (v.ok && r->cap_add.n)
		verdict_add(&v, caps_match(&r->cap_add, s->cap_add, one, sizeof(one)), one);
	if (v.ok && r->privileged)
		verdict_add(&v, flag_asked(s->privileged, "--privileged", one, sizeof(one)), one);
	if (v.ok && r->host_namespaces)
		verdict_add(&v, flag_asked(s->host_namespaces, "a host namespace (--network, "
					   "--pid, --ipc or --uts host)", one, sizeof(one)), one);
	if (v.ok && r->unconfined)
		verdict_add(&v, flag_asked(s->unconfined, "--security-opt seccomp=unconfined",
					   one, sizeof(one)), one);
	return v.ok;
}

static void result_add(json_t *results, const char *rule, const char *where, bool matched,
		       const char *detail)
{
	json_array_append_new(results, json_pack("{s:s, s:s, s:b, s:s}", "Rule", rule, "Where",
						 where ? where : "", "Matched", matched,
						 "Detail", detail));
}

int policy_evaluate(const struct host_config *c, const struct policy_subject *s,
		    json_t *results)
{
	char why[1024];
	int first = -1;
	size_t i;

	if (!c)
		return -1;
	for (i = 0; i < c->n_rules; i++) {
		bool m = rule_matches(&c->rules[i], s, why, sizeof(why));

		if (m && first < 0)
			first = (int)json_array_size(results);
		result_add(results, c->rules[i].name, c->rules[i].where, m, why);
	}
	if (c->require_untrusted) {
		bool trusted = false;

		snprintf(why, sizeof(why), "image %s matches no trusted_images pattern", s->image);
		for (i = 0; i < c->trusted_images.n && !trusted; i++)
			if (policy_image_matches(c->trusted_images.v[i], s->image)) {
				trusted = true;
				snprintf(why, sizeof(why), "image %s is trusted: it matches %s",
					 s->image, c->trusted_images.v[i]);
			}
		if (!trusted && first < 0)
			first = (int)json_array_size(results);
		result_add(results, POLICY_RULE_UNTRUSTED, c->require_untrusted_where, !trusted,
			   why);
	}
	return first;
}
