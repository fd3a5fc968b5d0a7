#include "util/strv.h"

#include <stdlib.h>

#include "util/fs.h"

static const char *const empty[] = { NULL };

void strv_push(struct strv *s, const char *str)
{
	char **v = realloc(s->v, (s->n + 2) * sizeof(char *));

	if (!v)
		abort();
	v[s->n++] = xstrdup(str);
	v[s->n] = NULL;
	s->v = v;
}

void strv_free(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

const char *const *strv_get(const struct strv *s)
{
	return s->v ? (const char *const *)s->v : empty;
}
