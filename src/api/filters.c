/* docker's list filters (?filters=JSON) for containers: id, name (a regular
 * expression), status, label (KEY or KEY=VALUE), isolation. */
#include "api/api.h"

#include <regex.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

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
	if (!strcmp(key, "name")) {
		regex_t re;
		bool m;

		/* a client's regular expression: bounded */
		if (strlen(want) > 256 || regcomp(&re, want, REG_EXTENDED | REG_NOSUB))
			return false;
		m = regexec(&re, json_string_value(json_object_get(c, "Name")), 0, NULL, 0) == 0;
		regfree(&re);
		return m;
	}
	/* label: "KEY" or "KEY=VALUE" */
	{
		const char *eq = strchr(want, '=');
		_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
		json_t *v = json_object_get(json_object_get(cfg, "Labels"), k);

		return v && (!eq || !strcmp(json_string_value(v) ?: "", eq + 1));
	}
}

static const char *const filter_keys[] = { "id", "name", "status", "label", "isolation" };

/* A key's values OR'ed (a label's AND'ed), the keys AND'ed, as docker does. */
bool api_filters_match(json_t *c, json_t *filters)
{
	size_t i, j;

	for (i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++) {
		_cleanup_json_ json_t *vals = filter_values(filters, filter_keys[i]);
		json_t *v;
		bool any = false;

		if (!json_array_size(vals))
			continue;
		/* labels are all required, as docker's; other keys' values any */
		if (!strcmp(filter_keys[i], "label")) {
			json_array_foreach(vals, j, v)
				if (!one_matches(c, "label", json_string_value(v) ?: ""))
					return false;
			continue;
		}
		json_array_foreach(vals, j, v)
			any = any || one_matches(c, filter_keys[i], json_string_value(v) ?: "");
		if (!any)
			return false;
	}
	return true;
}

int api_filters_parse(const char *text, json_t **out, struct api_resp *resp)
{
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

		for (i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++)
			known = known || !strcmp(key, filter_keys[i]);
		if (!known) {
			api_error(resp, 400, "invalid filter '%s'", key);
			json_decref(filters);
			return -1;
		}
	}
	*out = filters;
	return 0;
}
