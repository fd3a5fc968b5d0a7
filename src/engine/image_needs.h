/* What an image needs of the kernel it runs on, from its OCI config: os,
 * architecture, os.version (the lowest kernel version), os.features (kernel
 * features), and the label org.isobox.kernel (an exact kernel series). */
#ifndef ISOBOX_IMAGE_NEEDS_H
#define ISOBOX_IMAGE_NEEDS_H

#include <stdbool.h>
#include <jansson.h>

#include "engine/kernel_info.h"
#include "util/err.h"

#define IMAGE_LABEL_KERNEL "org.isobox.kernel"

struct image_needs {
	char image[256];                /* the image as named, for messages */
	bool has_version;
	struct kernel_version version;  /* os.version */
	char version_text[32];
	json_t *features;               /* os.features: borrowed array of strings */
	bool has_series;
	struct kernel_version series;   /* org.isobox.kernel: MAJOR.MINOR */
};

/* Reads and checks the needs of an image config. A non-Linux image, another
 * architecture, or a malformed field fails here, in either mode. */
int image_needs_read(json_t *image_config, const char *image, struct image_needs *n,
		     struct err *err);

/* Whether kernel k meets the needs: 1, or 0 with need ("kernel 6.20
 * (os.version)") and lack ("runs 6.18.44") filled. who names the kernel in
 * lack ("this host", "guest kernel 6.1.0-57-cloud-amd64"). */
int image_needs_met(const struct image_needs *n, const struct kernel_info *k, const char *who,
		    char *need, size_t need_size, char *lack, size_t lack_size);

/* The needs in words, "" when none: "kernel >= 6.20, io_uring". */
void image_needs_describe(const struct image_needs *n, char *buf, size_t size);

#endif
