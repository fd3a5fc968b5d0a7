#include "runtime/vm_privileges.h"

#include <string.h>

#include "process/caps.h"

int vm_privileges(const struct oci_spec *spec, const char *cache_dir, struct guest_security *sec,
		  struct seccomp_prog *prog, struct err *err)
{
	memset(sec, 0, sizeof(*sec));
	memset(prog, 0, sizeof(*prog));
	if (caps_masks(spec->capabilities, sec->caps, err) < 0)
		return -1;
	sec->no_new_privs = spec->no_new_privileges;
	if (!spec->seccomp)
		return 0;
	/* The guest runs the same architecture: the filter compiled here holds there. */
	if (seccomp_prog_compile(spec->seccomp, cache_dir, prog, err) < 0)
		return -1;
	sec->seccomp = prog->fprog.filter;
	sec->seccomp_len = prog->fprog.len * sizeof(struct sock_filter);
	sec->seccomp_flags = prog->flags;
	return 0;
}
