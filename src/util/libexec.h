/* Where isobox's helper programs are: $ISOBOX_LIBEXEC, beside this binary
 * (the build tree), ../libexec/isobox (installed), or ../scripts (the source
 * tree, for scripts). */
#ifndef ISOBOX_LIBEXEC_H
#define ISOBOX_LIBEXEC_H

#include <stddef.h>

#include "util/err.h"

int libexec_find(const char *name, char *buf, size_t len, struct err *err);

#endif
