/* Private to runtime/: the hooks of an OCI bundle's config.json. */
#ifndef ISOBOX_OCI_HOOKS_H
#define ISOBOX_OCI_HOOKS_H

#include <jansson.h>

#include "util/err.h"

/* Every hook of one kind ("createRuntime", "prestart", ...) in order, state
 * on stdin; the first failure stops them and fills err. */
int oci_hooks_run(json_t *spec_json, const char *kind, json_t *state, struct err *err);
/* poststart and poststop: a failure is a warning on stderr, and the rest go on. */
void oci_hooks_warn(json_t *spec_json, const char *kind, json_t *state);

#endif
