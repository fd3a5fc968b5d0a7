/* A container's changes as an OCI layer: its overlay upper directory (process
 * mode's, or the one on a hyperv container's writable disk) written as a tar,
 * overlay's whiteouts (0/0 character devices) turned back into ".wh.NAME"
 * files and its opaque directories (trusted.overlay.opaque=y) into
 * ".wh..wh..opq" entries; overlay's own xattrs are left out. */
#ifndef ISOBOX_LAYER_DIFF_H
#define ISOBOX_LAYER_DIFF_H

#include "util/err.h"

/* Write the tar of upper to out_fd (not closed). */
int layer_diff_write(const char *upper, int out_fd, struct err *err);

#endif
