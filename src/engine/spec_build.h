/* From an image's config and docker's run flags to an OCI runtime spec. */
#ifndef ISOBOX_SPEC_BUILD_H
#define ISOBOX_SPEC_BUILD_H

#include <jansson.h>

#include "engine/container.h"
#include "engine/image.h"
#include "engine/user.h"
#include "util/err.h"

/* dir: the container's directory (bundle); hostname: decided by the caller. */
int spec_build(const struct image *img, const struct run_opts *o, const char *dir,
	       const char *hostname, const struct user_ids *ids, json_t **out, struct err *err);

/* The image's Entrypoint+Cmd as overridden by --entrypoint and the command. */
int spec_build_args(json_t *image_config, const struct run_opts *o, json_t **out,
		    struct err *err);
/* Image Env overridden by -e (by key; "KEY" alone takes the caller's value). */
json_t *spec_build_env(json_t *image_config, const struct run_opts *o, const char *hostname,
		       bool tty);

#endif
