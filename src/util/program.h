/* Running a helper program (mkfs.erofs, mkfs.ext4, the kernel installer). */
#ifndef ISOBOX_PROGRAM_H
#define ISOBOX_PROGRAM_H

#include "util/err.h"

/* Run argv (PATH searched) to completion, stdin on /dev/null; its stderr is
 * kept and becomes the error's message when it fails. */
int program_run(const char *const argv[], struct err *err);

#endif
