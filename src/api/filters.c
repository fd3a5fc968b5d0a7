/* docker's list filters (?filters=JSON) for containers: id, name (a regular
 * expression), status, label (KEY or KEY=VALUE), isolation. */
#include "api/api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* docker's name filter is a Go regular expression (RE2: linear in time and
 * space). glibc's regcomp copies a subtree for each nested +, so "(a+)+"...
 * grows without bound; PCRE2 compiles in linear space and its matching is
 * bounded here (a backtracking match past the limits is "no match"). */
static bool name_matches(const char *pattern, const char *name)
{
	pcre2_code *re;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	int errcode, rc;
	PCRE2_SIZE erroff;

	if (strlen(pattern) > 256)
		return false;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
	if (!re)
		return false;
	mctx = pcre2_match_context_create(NULL);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = -1;
	if (mctx && md) {
		pcre2_set_match_limit(mctx, 100000);
		pcre2_set_depth_limit(mctx, 1000);
		pcre2_set_heap_limit(mctx, 1024); /* KiB */
		rc = pcre2_match(re, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, mctx);
	}
	pcre2_match_data_free(md);
	pcre2_match_context_free(mctx);
	pcre2_code_free(re);
	return rc >= 0;
}

/* filters={"status":["running"]} or {"status":{"running":true}}: the values of key. */
static json_t *filter_values(json_t *filters, const char *key)
{
	json_t *v = json_object_get(filters, key), *out, *x;
	const char *k;

	if (!v || json_is_array(v))
		return json_incref(v);
	out = json_array();
	json_object_foreach(v, k, x)
		if (json_is_true(x))
			json_array_append_new(out, json_string(k));
	return out;
}

static bool one_matches(json_t *c, const char *key, const char *want)
{
	json_t *cfg = json_object_get(c, "Config");

	if (!strcmp(key, "id"))
		return !strncmp(json_string_value(json_object_get(c, "Id")), want, strlen(want));
	if (!strcmp(key, "status"))
		return !strcmp(json_string_value(json_object_get(json_object_get(c, "State"),
								 "Status")), want);
	if (!strcmp(key, "isolation"))
		return !strcmp(json_string_value(json_object_get(json_object_get(c, "HostConfig"),
								 "Isolation")) ?: "", want);
	if (!strcmp(key, "name"))
		return name_matches(want, json_string_value(json_object_get(c, "Name")) ?: "");
	/* label: "KEY" or "KEY=VALUE" */
	{
		const char *eq = strchr(want, '=');
		_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
		json_t *v = json_object_get(json_object_get(cfg, "Labels"), k);

		return v && (!eq || !strcmp(json_string_value(v) ?: "", eq + 1));
	}
}

/* An event's (docker's Type, Action, Actor): "container" its id (a prefix)
 * or name, "event" its action, "type", "image", "label" its attributes. */
static bool event_matches(json_t *ev, const char *key, const char *want)
{
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *id = json_string_value(json_object_get(ev, "id")) ?: "";

	if (!strcmp(key, "container"))
		return (*want && !strncmp(id, want, strlen(want))) ||
		       !strcmp(json_string_value(json_object_get(attrs, "name")) ?: "", want);
	if (!strcmp(key, "event"))
		return !strcmp(json_string_value(json_object_get(ev, "Action")) ?: "", want);
	if (!strcmp(key, "type"))
		return !strcmp(json_string_value(json_object_get(ev, "Type")) ?: "", want);
	if (!strcmp(key, "image"))
		return !strcmp(json_string_value(json_object_get(attrs, "image")) ?: "", want);
	{
		const char *eq = strchr(want, '=');
		_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
		json_t *v = json_object_get(attrs, k);

		return v && (!eq || !strcmp(json_string_value(v) ?: "", eq + 1));
	}
}

static const char *const container_keys[] = { "id", "name", "status", "label", "isolation" };
static const char *const event_keys[] = { "container", "event", "type", "image", "label" };

static const char *const *keys_of(enum api_filters kind, size_t *n)
{
	*n = kind == API_FILTERS_EVENTS ? sizeof(event_keys) / sizeof(event_keys[0])
					: sizeof(container_keys) / sizeof(container_keys[0]);
	return kind == API_FILTERS_EVENTS ? event_keys : container_keys;
}

/* A key's values OR'ed (a label's AND'ed), the keys AND'ed, as docker does. */
bool api_filters_match(enum api_filters kind, json_t *obj, json_t *filters)
{
	bool (*one)(json_t *, const char *, const char *) =
		kind == API_FILTERS_EVENTS ? event_matches : one_matches;
	size_t i, j, n;
	const char *const *keys = keys_of(kind, &n);

	for (i = 0; i < n; i++) {
		_cleanup_json_ json_t *vals = filter_values(filters, keys[i]);
		json_t *v;
		bool any = false;

		if (!json_array_size(vals))
			continue;
		/* labels are all required, as docker's; other keys' values any */
		if (!strcmp(keys[i], "label")) {
			json_array_foreach(vals, j, v)
				if (!one(obj, "label", json_string_value(v) ?: ""))
					return false;
			continue;
		}
		json_array_foreach(vals, j, v)
			any = any || one(obj, keys[i], json_string_value(v) ?: "");
		if (!any)
			return false;
	}
	return true;
}

int api_filters_parse(enum api_filters kind, const char *text, json_t **out,
		      struct api_resp *resp)
{
	size_t n_keys;
	const char *const *keys = keys_of(kind, &n_keys);
	json_t *filters = json_loads(text, 0, NULL);
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(filters)) {
		json_decref(filters);
		api_error(resp, 400, "invalid filter: %s", text);
		return -1;
	}
	json_object_foreach(filters, key, v) {
		bool known = false;

		for (i = 0; i < n_keys; i++)
			known = known || !strcmp(key, keys[i]);
		if (!known) {
			api_error(resp, 400, "invalid filter '%s'", key);
			json_decref(filters);
			return -1;
		}
	}
	*out = filters;
	return 0;
}
