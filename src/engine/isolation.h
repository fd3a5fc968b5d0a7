/* Which isolation mode a container gets, and why: the flag, the host's
 * policy, what the image needs of the kernel, and the host's default, in that
 * order (docs/isolation-policy.md). A decision that forbids the run fails with
 * a message naming the rule or the need; `policy explain` prints the rest. */
#ifndef ISOBOX_ISOLATION_H
#define ISOBOX_ISOLATION_H

#include <stdbool.h>
#include <jansson.h>

#include "engine/container.h"
#include "engine/image.h"
#include "engine/kernel.h"
#include "util/err.h"

struct isolation_decision {
	bool hyperv;
	const char *requested;      /* process, hyperv, auto or default */
	char reason[1280];          /* why this mode, in a sentence */
	char rule[160];             /* the policy rule that asked for hyperv, or "" */
	json_t *rules;              /* every rule's verdict, [{"Rule","Where","Matched","Detail"}] */
	char needs[256];            /* what the image needs of its kernel, "" for nothing */
	char host_kernel[1100];     /* "" when the host's kernel meets the needs, else why not */
	struct kernel_entry kernel; /* hyperv: the guest kernel it boots */
};

/* Decides for the container o describes, made from img. Fails (exit 125)
 * when the decision forbids the run: a policy rule against an explicit
 * --isolation=process, a host kernel that does not meet the image, no KVM or
 * no guest kernel that meets it for hyperv. d is filled as far as it got. */
int isolation_decide(const char *root, const struct run_opts *o, const struct image *img,
		     struct isolation_decision *d, struct err *err);
void isolation_decision_free(struct isolation_decision *d);
/* {"Requested","Mode","Reason","Rule","Rules","ImageNeeds","Kernel"} for inspect. */
json_t *isolation_decision_json(const struct isolation_decision *d);

/* The same for a bundle another engine made (isobox-runtime): the mode its
 * annotation io.isobox.isolation asks for, else hyperv when name_hyperv (the
 * program was started as isobox-runtime-hyperv), else the host's default;
 * the policy's rules see its annotations as labels, the capabilities beyond
 * docker's default set as added ones, a missing seccomp filter as
 * unconfined, a namespace it does not ask for as the host's, and its image
 * as the annotation io.kubernetes.cri.image-name ("unknown" without). */
int isolation_decide_bundle(const char *root, const struct host_config *host, json_t *config,
			    bool name_hyperv, struct isolation_decision *d, struct err *err);

/* Whether this host can run hyperv containers at all; *kernel_name is the
 * kernel they would boot (the newest), or err says why not and what to do. */
int isolation_hyperv_available(const char *root, char **kernel_name, struct err *err);

#endif
