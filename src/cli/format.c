#include "cli/format.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

static json_t *path_get(json_t *j, const char *path, size_t len)
{
	char key[256];

	while (len && j) {
		size_t n;

		if (*path == '.') {
			path++;
			len--;
			continue;
		}
		n = strcspn(path, ".");
		if (n > len)
			n = len;
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path += n;
		len -= n;
	}
	return j;
}

static void print_value(FILE *out, json_t *v, int as_json)
{
	char *s;

	if (!v) {
		fputs(as_json ? "null" : "<no value>", out);
		return;
	}
	if (json_is_string(v) && !as_json) {
		fputs(json_string_value(v), out);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		fputs(s, out);
	free(s);
}

int format_template(FILE *out, const char *t, json_t *j)
{
	while (*t) {
		const char *open = strstr(t, "{{"), *close, *e;
		int as_json = 0;

		if (!open) {
			fputs(t, out);
			break;
		}
		fwrite(t, 1, open - t, out);
		close = strstr(open, "}}");
		if (!close)
			return -1;
		for (e = open + 2; *e == ' '; e++)
			;
		if (!strncmp(e, "json ", 5)) {
			as_json = 1;
			for (e += 5; *e == ' '; e++)
				;
		}
		if (*e != '.')
			return -1;
		{
			size_t len = close - e;

			while (len && e[len - 1] == ' ')
				len--;
			print_value(out, len == 1 ? j : path_get(j, e, len), as_json);
		}
		t = close + 2;
	}
	fputc('\n', out);
	return 0;
}

void format_json_pretty(FILE *out, json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (s) {
		fputs(s, out);
		fputc('\n', out);
	}
	free(s);
}

void format_table(FILE *out, json_t *rows, int min_width, int padding)
{
	_cleanup_free_ int *width = NULL;
	size_t cols = 0, i, c;
	json_t *row, *cell;

	json_array_foreach(rows, i, row)
		cols = json_array_size(row) > cols ? json_array_size(row) : cols;
	width = xmalloc((cols + 1) * sizeof(*width));
	for (c = 0; c < cols; c++)
		width[c] = min_width;
	json_array_foreach(rows, i, row)
		json_array_foreach(row, c, cell) {
			int w = (int)strlen(json_string_value(cell) ?: "") + padding;

			width[c] = w > width[c] ? w : width[c];
		}
	json_array_foreach(rows, i, row) {
		json_array_foreach(row, c, cell) {
			const char *s = json_string_value(cell) ?: "";

			if (c + 1 < json_array_size(row))
				fprintf(out, "%-*s", width[c], s);
			else
				fprintf(out, "%s", s);
		}
		fputc('\n', out);
	}
}
