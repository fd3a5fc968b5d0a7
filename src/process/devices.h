/* Which device nodes a container may use: the spec's rules
 * (linux.resources.devices) followed by docker's defaults, as runc appends
 * its own, where the last rule that matches decides; enforced by the devices
 * controller on cgroup v1 and by a BPF program on cgroup v2. */
#ifndef ISOBOX_DEVICES_H
#define ISOBOX_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#include <jansson.h>

struct dev_rule {
	char type;            /* 'c', 'b' or 'a' (all) */
	long major, minor;    /* -1 for any */
	const char *access;   /* some of "rwm" */
	bool deny;
};

extern const struct dev_rule devices_default[];
extern const size_t devices_default_len;

/* linux.resources.devices, checked; the access strings point into json. */
int devices_rules_from_json(json_t *json, struct dev_rule **rules, size_t *n, struct err *err);
/* Deny everything but the spec's rules and the defaults (or allow all) in the
 * v1 devices cgroup dir. */
int devices_apply_v1(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err);
/* Attach a BPF device program of the spec's rules and the defaults to the v2
 * cgroup dir. */
int devices_apply_v2(const char *dir, bool allow_all, const struct dev_rule *rules, size_t n,
		     struct err *err);

/* The BPF program for rules, the last match deciding (no match: deny); for
 * tests: returns the number of instructions written to insns (at most max),
 * or -1 when it does not fit. */
struct bpf_insn;
int devices_bpf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *insns,
		      size_t max);

#endif
