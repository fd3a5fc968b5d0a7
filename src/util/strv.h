/* A growable NULL-terminated array of owned strings. */
#ifndef ISOBOX_STRV_H
#define ISOBOX_STRV_H

#include <stddef.h>

struct strv {
	char **v;      /* always NULL-terminated once anything was pushed */
	size_t n;
};

void strv_push(struct strv *s, const char *str);
void strv_free(struct strv *s);
/* The strings as a const array, never NULL. */
const char *const *strv_get(const struct strv *s);

#endif
