/* Seccomp in the process backend: check an OCI linux.seccomp object and load it
 * into the calling thread with libseccomp, as runc and crun do. */
#ifndef ISOBOX_SECCOMP_H
#define ISOBOX_SECCOMP_H

#include <jansson.h>
#include <linux/filter.h>

#include "util/err.h"

/* Check the structure of an OCI linux.seccomp object (defaultAction,
 * defaultErrnoRet, architectures, flags, syscalls) without loading it, so that
 * create fails early. Syscall names unknown to libseccomp are not errors. */
int seccomp_validate(json_t *oci_seccomp, struct err *err);

/* Build the filter in memory, then install it on the calling thread; the
 * install is the last syscall made, so the filter may deny anything the caller
 * would do afterwards except execve. The caller sets no_new_privs (or holds
 * CAP_SYS_ADMIN). Syscall names unknown to this libseccomp are skipped. */
int seccomp_apply(json_t *oci_seccomp, struct err *err);

/* A compiled filter: compile before the fork (once per profile, cached in
 * cache_dir when not NULL), load in the child right before exec. */
struct seccomp_prog {
	struct sock_fprog fprog;
	unsigned long flags;
};
int seccomp_prog_compile(json_t *oci_seccomp, const char *cache_dir, struct seccomp_prog *out,
		    struct err *err);
int seccomp_prog_load(const struct seccomp_prog *prog, struct err *err);
void seccomp_prog_free(struct seccomp_prog *prog);

/* Pieces of seccomp_validate, for converters of other profile formats. `where`
 * names the value and prefixes the message: where="profile p: syscalls[3].action"
 * gives "profile p: syscalls[3].action: unknown action SCMP_ACT_FOO". */
int seccomp_check_action(json_t *action, const char *where, struct err *err);
int seccomp_check_errno(json_t *errno_ret, const char *where, struct err *err);
int seccomp_check_arch(json_t *arch, const char *where, struct err *err);
int seccomp_check_flags(json_t *flags, const char *where, struct err *err);
/* One OCI syscalls[] entry (names, action, errnoRet, args); where names the
 * entry ("...syscalls[3]") and fields are appended (".action"). */
int seccomp_check_rule(json_t *rule, const char *where, struct err *err);

#endif
