/* Device rules as a cgroup v2 device policy: docker's defaults, the BPF
 * program that enforces a rule list (the last rule that matches decides) and
 * its loading. Shared by the process backend on the host and the guest agent
 * in a VM (linked into the static isobox-init: libc only, errors as errno). */
#ifndef ISOBOX_DEVCG_H
#define ISOBOX_DEVCG_H

#include <stdbool.h>
#include <stddef.h>

struct dev_rule {
	char type;            /* 'c', 'b' or 'a' (all) */
	long major, minor;    /* -1 for any, else 0..INT32_MAX */
	char access[4];       /* some of "rwm", in that order */
	bool deny;
};

/* Docker's: mknod of anything, use of the standard nodes only. */
extern const struct dev_rule devcg_defaults[];
extern const size_t devcg_defaults_len;

#define DEVCG_MAX_RULES 256           /* a spec's, before the defaults */
#define DEVCG_RULE_TEXT_MAX 64

/* Set r->access from some of "rwm" (any order, no repeats needed); -1 when
 * access is empty or holds anything else. */
int devcg_rule_set_access(struct dev_rule *r, const char *access);

/* The rule as one line of text, "allow|deny TYPE MAJOR MINOR ACCESS" with -1
 * for any major or minor (the agent's wire format). */
void devcg_rule_format(const struct dev_rule *r, char *buf, size_t len);
/* The reverse, strict: -1 on anything but exactly that. */
int devcg_rule_parse(const char *s, struct dev_rule *r);

/* The BPF program for rules, the last match deciding (no match: deny); the
 * number of instructions written to insns (at most max), or -1 when it does
 * not fit. */
struct bpf_insn;
int devcg_bpf_build(const struct dev_rule *rules, size_t n, struct bpf_insn *insns, size_t max);

/* Load the program for rules followed by docker's defaults and attach it to
 * the cgroup v2 directory dir. -1 with errno set; the verifier's first line
 * of complaint, if any, in log. */
int devcg_attach(const char *dir, const struct dev_rule *rules, size_t n, char *log,
		 size_t log_len);

#endif
