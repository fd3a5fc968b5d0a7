/* Seccomp profiles in Docker's format (docker run --security-opt seccomp=FILE)
 * and Docker's default profile, turned into OCI linux.seccomp objects for the
 * bundle: conditional rules are resolved against the container's capabilities,
 * the host's architecture and its kernel version, as dockerd does. */
#ifndef ISOBOX_SECCOMP_PROFILE_H
#define ISOBOX_SECCOMP_PROFILE_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

/* Docker's default profile (moby profiles/seccomp/default.json) for a
 * container whose bounding set is caps ("CAP_SYS_ADMIN", ...). Returns a new
 * reference; NULL only if the built-in table is broken (a bug). */
json_t *seccomp_profile_default(const char *const *caps, size_t n_caps);

/* Read a Docker-format profile (defaultAction, defaultErrnoRet, architectures
 * or archMap, flags, syscalls[{names|name, action, errnoRet, args, includes,
 * excludes}]) and convert it for a container whose bounding set is caps.
 * Errors name the file and the place: "seccomp profile F: syscalls[3].action:
 * unknown action SCMP_ACT_FOO". */
int seccomp_profile_load_docker(const char *path, const char *const *caps, size_t n_caps,
				json_t **out, struct err *err);

/* The same conversion for a profile already parsed; where names it in errors. */
int seccomp_profile_convert(json_t *profile, const char *const *caps, size_t n_caps,
			    const char *where, json_t **out, struct err *err);

#endif
