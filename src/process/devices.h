/* Which device nodes a container may use: the spec's rules
 * (linux.resources.devices, parsed by oci/spec.c) followed by docker's
 * defaults, as runc appends its own, where the last rule that matches
 * decides; enforced by the devices controller on cgroup v1 and by a BPF
 * program (util/devcg.c, which the guest agent shares) on cgroup v2. */
#ifndef ISOBOX_DEVICES_H
#define ISOBOX_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/devcg.h"
#include "util/err.h"

/* Deny everything but the spec's rules and the defaults (or allow all) in the
 * v1 devices cgroup dir. */
int devices_apply_v1(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err);
/* Attach a BPF device program of the spec's rules and the defaults to the v2
 * cgroup dir. */
int devices_apply_v2(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err);

#endif
