/* The isolation policy of the host's config: which containers must get
 * hyperv isolation. Rules are evaluated in the file's order; each says
 * whether it matched, and why, so `policy explain` can print every one. */
#ifndef ISOBOX_ISOLATION_POLICY_H
#define ISOBOX_ISOLATION_POLICY_H

#include <stdbool.h>
#include <jansson.h>

#include "engine/host_config.h"
#include "util/strv.h"

#define POLICY_RULE_UNTRUSTED "require_hyperv_for_untrusted"

/* What the rules look at: the image and what the container asks for. */
struct policy_subject {
	const char *image;              /* "name:tag", or the image id */
	json_t *image_labels;           /* the image config's Labels, or NULL */
	const struct strv *labels;      /* the container's labels, "KEY=VALUE" */
	const struct strv *cap_add;
	bool privileged, unconfined, host_namespaces;
};

/* Appends one {"Rule","Where","Matched","Detail"} per rule to results and
 * returns the index in results of the first rule that matched, or -1. */
int policy_evaluate(const struct host_config *c, const struct policy_subject *s,
		    json_t *results);

/* Whether pattern (a glob) matches image "name:tag", with or without its tag
 * and with docker.io's implicit prefixes. Exposed for the unit tests. */
bool policy_image_matches(const char *pattern, const char *image);

#endif
