/* What a kernel is, for matching an image's needs: its release, its upstream
 * version and, where known, its build configuration. The host's comes from
 * uname, /proc/version and /proc/config.gz (or /boot/config-RELEASE); a guest
 * kernel's from its bzImage header and the config that `kernel install` kept. */
#ifndef ISOBOX_KERNEL_INFO_H
#define ISOBOX_KERNEL_INFO_H

#include <stdbool.h>

#include "util/err.h"

struct kernel_version {
	unsigned major, minor, patch;
};

/* "6.1" or "6.1.192" (a suffix after the numbers, as in "6.18.44-fc", is
 * ignored); -1 when s does not start with MAJOR.MINOR. */
int kernel_version_parse(const char *s, struct kernel_version *v);
int kernel_version_cmp(const struct kernel_version *a, const struct kernel_version *b);
/* "6.1.192", or "unknown" for 0.0.0. */
void kernel_version_format(const struct kernel_version *v, char *buf, size_t size);

/* A kernel's banner ("6.1.0-57-cloud-amd64 (...) #1 SMP ... Debian 6.1.192-3
 * (...)", or /proc/version's "Linux version ..."): the release is its first
 * word; the version is the distribution's upstream version where it names one
 * (Debian's release "6.1.0-57" hides the patch level), else the release's. */
void kernel_banner_parse(const char *banner, char *release, size_t size,
			 struct kernel_version *v);

struct kernel_info {
	char release[128];
	struct kernel_version version;
	char *config;               /* the kernel's .config text, or NULL: unknown */
	char config_source[160];    /* where config came from, or where it was sought */
};

/* The running kernel. Never fails for a missing config: config stays NULL. */
int kernel_info_host(struct kernel_info *k, struct err *err);
/* A kernel in the store: the banner of its bzImage (vmlinuz) and its config
 * file, either of which may be absent. */
void kernel_info_load(struct kernel_info *k, const char *bzimage, const char *config);
void kernel_info_free(struct kernel_info *k);

/* A feature an image may need (os.features): a name from the short list
 * (io_uring, bpf, user_namespaces, ...) or a CONFIG_ option. *option is the
 * CONFIG_ option it stands for; -1 for a name that is neither. */
int kernel_feature_option(const char *feature, const char **option);
/* 1: built in or a module; 0: not set; -1: unknown (no config). */
int kernel_has_option(const struct kernel_info *k, const char *option);
/* The short list, for messages and docs: "io_uring, bpf, ...". */
const char *kernel_feature_names(void);

#endif
