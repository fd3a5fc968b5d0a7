/* docker history: an image's steps, newest first, from its config's history
 * and the sizes of the layers they made. */
#include "image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "image_store.h"
#include "layer.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Content bytes of layer i of an image: recorded at import, else measured. */
static long long layer_size_at(const char *root, json_t *mf, json_t *config, size_t i)
{
	json_t *l = json_array_get(json_object_get(mf, "layers"), i);
	const char *s = json_string_value(json_object_get(json_object_get(l, "annotations"),
							  SIZE_ANNOTATION));
	const char *diff = json_string_value(json_array_get(
		json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i));
	_cleanup_free_ char *dir = NULL;
	unsigned long long n = 0;
	struct err ignored;

	if (s)
		return strtoll(s, NULL, 10);
	if (!digest_valid(diff))
		return 0;
	dir = layer_dir(root, diff);
	if (layer_disk_usage(dir, &n, &ignored) < 0)
		return 0;
	return (long long)n;
}

static long long created_sec(const char *s)
{
	long long sec = 0;
	long nsec;

	if (!s || time_parse_rfc3339(s, &sec, &nsec) < 0)
		return 0;
	return sec;
}

static json_t *history_row(const char *created, const char *by, long long size,
			   const char *comment)
{
	return json_pack("{s:s, s:I, s:s, s:n, s:I, s:s}", "Id", "<missing>", "Created",
			 (json_int_t)created_sec(created), "CreatedBy", by ? by : "", "Tags",
			 "Size", (json_int_t)size, "Comment", comment ? comment : "");
}

/* Rows oldest first: one per history entry, a layer's size on the entries
 * that made one; without a history, one row per layer. */
static json_t *history_rows(const char *root, json_t *mf, json_t *config)
{
	json_t *hist = json_object_get(config, "history"), *h, *rows = json_array();
	size_t i, layer = 0;

	json_array_foreach(hist, i, h) {
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		long long size = empty ? 0 : layer_size_at(root, mf, config, layer++);

		json_array_append_new(rows, history_row(
			json_string_value(json_object_get(h, "created")),
			json_string_value(json_object_get(h, "created_by")), size,
			json_string_value(json_object_get(h, "comment"))));
	}
	if (json_array_size(hist) == 0) {
		size_t n = json_array_size(json_object_get(mf, "layers"));

		for (i = 0; i < n; i++)
			json_array_append_new(rows, history_row(config_created(config), "",
								layer_size_at(root, mf, config, i),
								""));
	}
	return rows;
}

int image_history(const char *root, const char *ref, json_t **out, struct err *err)
{
	_cleanup_json_ json_t *config = NULL;
	json_t *rows, *top, *tags;
	struct store s;
	size_t i, n;

	if (store_load_find(root, ref, &s, &i, NULL, err) < 0)
		return -1;
	if (blob_get_json(root, s.v[i].id, &config, err) < 0) {
		store_free(&s);
		return -1;
	}
	rows = history_rows(root, s.v[i].mf, config);
	/* Newest first; the newest row is the image itself, with its tags. */
	*out = json_array();
	for (n = json_array_size(rows); n > 0; n--)
		json_array_append(*out, json_array_get(rows, n - 1));
	json_decref(rows);
	top = json_array_get(*out, 0);
	if (top) {
		size_t j;

		tags = json_array();
		for (j = 0; j < s.n; j++)
			if (s.v[j].ref && !strcmp(s.v[j].id, s.v[i].id))
				json_array_append_new(tags, json_string(s.v[j].ref));
		json_object_set_new(top, "Id", json_string(s.v[i].id));
		json_object_set_new(top, "Tags", json_array_size(tags) ? tags : json_null());
		if (!json_array_size(tags))
			json_decref(tags);
	}
	store_free(&s);
	return 0;
}
