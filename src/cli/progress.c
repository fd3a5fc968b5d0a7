/* docker's progress bars and JSON messages (progress.h). */
#include "cli/progress.h"

#include <stdlib.h>

#include "util/fs.h"

void progress_bar(char *buf, size_t size, unsigned long long cur, long long total, int width)
{
	char c[32], t[32];
	int pct, off = 0;

	size_human_digits(cur, 4, c, sizeof(c));
	if (total <= 0) {
		snprintf(buf, size, "%8s", c);
		return;
	}
	size_human_digits((unsigned long long)total, 4, t, sizeof(t));
	pct = (int)((double)cur / (double)total * 100) / 2;
	if (pct > 50)
		pct = 50;
	if (width > 110)
		off = snprintf(buf, size, "[%.*s>%*s] ", pct,
			       "==================================================", 50 - pct, "");
	if (off < 0 || (size_t)off >= size)
		return;
	if (cur <= (unsigned long long)total)
		snprintf(buf + off, size - (size_t)off, "%8s/%s", c, t);
	else
		buf[off] = 0;
}

json_t *progress_message(const char *id, const char *status, enum progress_detail detail,
			 unsigned long long cur, long long total)
{
	json_t *m = json_pack("{s:s}", "status", status);
	char b[160];

	if (detail == DETAIL_COUNTS) {
		json_t *detail = json_pack("{s:I}", "current", (json_int_t)cur);

		if (total > 0)
			json_object_set_new(detail, "total", json_integer(total));
		json_object_set_new(m, "progressDetail", detail);
		progress_bar(b, sizeof(b), cur, total, 111);
		json_object_set_new(m, "progress", json_string(b));
	} else if (detail == DETAIL_STEP) {
		json_object_set_new(m, "progressDetail", json_object());
	}
	if (id)
		json_object_set_new(m, "id", json_string(id));
	return m;
}

void progress_emit(FILE *out, json_t *m)
{
	char *line = m ? json_dumps(m, JSON_COMPACT) : NULL;

	if (line)
		fprintf(out, "%s\n", line);
	fflush(out);
	free(line);
	json_decref(m);
}
