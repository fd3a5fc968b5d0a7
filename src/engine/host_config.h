/* The host's isobox configuration: /etc/isobox/isobox.conf, or the file
 * named by --config or $ISOBOX_CONFIG. Lines are "key = value"; '#' starts a
 * comment; "[section]" lines open a section (the isolation policy's, to come).
 * A line that is none of those is an error naming the file and the line. */
#ifndef ISOBOX_HOST_CONFIG_H
#define ISOBOX_HOST_CONFIG_H

#include <stdbool.h>

#include "util/err.h"

#define HOST_CONFIG_DEFAULT_PATH "/etc/isobox/isobox.conf"
#define HOST_CHASSIS_TYPE_FILE "/sys/class/dmi/id/chassis_type"

struct host_config {
	char *path;                 /* the file read, or NULL when there was none */
	char *default_isolation;    /* default_isolation = ..., or NULL */
	char *chassis_type_file;    /* chassis_type_file = ..., or NULL */
};

/* path NULL: $ISOBOX_CONFIG, else the default path, which may be absent. A
 * file named explicitly must exist. */
int host_config_load(const char *path, struct host_config *c, struct err *err);
void host_config_free(struct host_config *c);

/* The isolation mode a container gets when it asks for the default, and why. */
struct isolation_default {
	bool hyperv;
	char why[256];
};

/* override: --default-isolation, or NULL. Host role from the SMBIOS chassis
 * type (a workstation defaults to hyperv, as on Windows; a server, an unknown
 * or a virtual machine to process), unless the config or override says. The
 * chassis type is read from $ISOBOX_CHASSIS_TYPE_FILE, the config's
 * chassis_type_file, or HOST_CHASSIS_TYPE_FILE. */
int isolation_default(const struct host_config *c, const char *override,
		      struct isolation_default *d, struct err *err);

/* A --isolation value: 1 for hyperv (or vm), 0 for process, -1 for
 * "default" or empty (the caller applies isolation_default); case-insensitive.
 * Anything else is an error listing the valid values. */
int isolation_value(const char *value, const char *what, int *mode, struct err *err);

#endif
