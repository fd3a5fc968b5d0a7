/* Linux capabilities: Docker's default set, --cap-add/--cap-drop resolution,
 * and applying the OCI process.capabilities sets with libcap. */
#ifndef ISOBOX_CAPS_H
#define ISOBOX_CAPS_H

#include <stdint.h>

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

/* Docker's default capabilities (moby daemon/pkg/oci/caps/defaults.go). */
extern const char *const caps_docker_default[];
extern const size_t caps_docker_default_len;

/* The final capability list for docker's --cap-add/--cap-drop/--privileged:
 * names are case-insensitive, "CAP_" optional, "ALL" allowed in both lists
 * (add ALL wins over drop ALL, as in docker); privileged and ALL give every
 * capability the running kernel knows (cap_max_bits()) that isobox itself
 * holds, as dockerd does. *out_list is a new JSON array of "CAP_X" strings in
 * capability-number order. */
int caps_resolve(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
		 int privileged, json_t **out_list, struct err *err);

/* Apply OCI process.capabilities (arrays of "CAP_X"; NULL is an empty set) to
 * the calling process. Call it after setuid() made with PR_SET_KEEPCAPS, while
 * the permitted set still holds CAP_SETPCAP. Capabilities this kernel lacks are
 * skipped, as runc does; names that are no capability are errors. */
int caps_apply(json_t *bounding, json_t *effective, json_t *inheritable, json_t *permitted,
	       json_t *ambient, struct err *err);

/* "CAP_SYS_ADMIN" -> 21; -1 for a name that is no capability. Exact names only. */
int caps_from_name(const char *name);

/* process.capabilities as bit masks, in the order bounding, effective,
 * inheritable, permitted, ambient (for a guest that applies them itself);
 * ambient keeps only what is permitted and inheritable, as caps_apply does. */
#define CAPS_SETS 5
int caps_masks(json_t *caps, uint64_t masks[CAPS_SETS], struct err *err);

#endif
