/* Which device nodes a container may use: docker's default rules, enforced
 * by the devices controller on cgroup v1 and by a BPF program on cgroup v2. */
#ifndef ISOBOX_DEVICES_H
#define ISOBOX_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct dev_rule {
	char type;            /* 'c', 'b' or 'a' (all) */
	long major, minor;    /* -1 for any */
	const char *access;   /* some of "rwm" */
};

extern const struct dev_rule devices_default[];
extern const size_t devices_default_len;

/* Deny everything but the rules (or allow all) in the v1 devices cgroup dir. */
int devices_apply_v1(const char *dir, bool allow_all, struct err *err);
/* Attach a BPF device program with the rules to the v2 cgroup dir. */
int devices_apply_v2(const char *dir, bool allow_all, struct err *err);

/* The BPF program for rules, for tests: returns the number of instructions
 * written to insns (at most max), or -1 when it does not fit. */
struct bpf_insn;
int devices_bpf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *insns,
		      size_t max);

#endif
