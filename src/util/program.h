/* Running a helper program (mkfs.erofs, mkfs.ext4, the kernel installer). */
#ifndef ISOBOX_PROGRAM_H
#define ISOBOX_PROGRAM_H

#include "util/err.h"

/* Run argv (PATH searched) to completion, stdin on /dev/null; its stderr is
 * kept and becomes the error's message when it fails. */
int program_run(const char *const argv[], struct err *err);
/* The same, its stdout in *out (malloc'ed, NUL-ended, the first
 * PROGRAM_OUTPUT_MAX bytes); on a failure "ARGV0: exit status N: what it
 * said" and *out NULL. */
#define PROGRAM_OUTPUT_MAX (1u << 20)
int program_output(const char *const argv[], char **out, struct err *err);

#endif
