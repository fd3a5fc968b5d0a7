/* The host's isobox configuration: /etc/isobox/isobox.conf, or the file
 * named by --config or $ISOBOX_CONFIG. Lines are "key = value"; '#' starts a
 * comment; "[policy]" and "[rule NAME]" open the isolation policy's sections
 * (docs/isolation-policy.md). A line that is none of those is an error naming
 * the file and the line. */
#ifndef ISOBOX_HOST_CONFIG_H
#define ISOBOX_HOST_CONFIG_H

#include <stdbool.h>

#include "util/err.h"
#include "util/strv.h"

#define HOST_CONFIG_DEFAULT_PATH "/etc/isobox/isobox.conf"
#define HOST_CHASSIS_TYPE_FILE "/sys/class/dmi/id/chassis_type"
#define HOST_MACHINE_INFO_FILE "/etc/machine-info"

/* [rule NAME]: a container that matches every condition the rule sets must
 * get hyperv isolation. Each condition is a list; any of its items matches. */
struct policy_rule {
	char *name;
	char *where;                /* "FILE:LINE" of its section header */
	struct strv images;         /* image = registry/repository[:tag] patterns */
	struct strv image_labels;   /* image_label = KEY[=VALUE pattern] */
	struct strv labels;         /* label = KEY[=VALUE pattern], the container's */
	struct strv cap_add;        /* cap_add = NAME, or * for any */
	bool privileged;            /* privileged = true: --privileged */
	bool host_namespaces;       /* host_namespaces = true: --network/--pid/--ipc/--uts host */
	bool unconfined;            /* unconfined = true: --security-opt seccomp=unconfined */
};

struct host_config {
	char *path;                 /* the file read, or NULL when there was none */
	char *default_isolation;    /* default_isolation = ..., or NULL */
	char *chassis_type_file;    /* chassis_type_file = ..., or NULL */
	/* default_network = NAME: the network of a container that names none
	 * (docker's is "bridge", also when this is unset); "none" keeps hosts
	 * whose network must not change (the e2e harness) on loopback. */
	char *default_network;
	bool init;                  /* init = true: containers get --init by default, as
				     * dockerd's --init */
	/* no_new_privileges = true: containers get no_new_privs unless
	 * --security-opt no-new-privileges=false (dockerd's --no-new-privileges). */
	bool no_new_privileges;
	struct policy_rule *rules;
	size_t n_rules;
	/* [policy] require_hyperv_for_untrusted = true: an image that matches no
	 * trusted_images pattern must get hyperv isolation. */
	bool require_untrusted;
	char *require_untrusted_where;
	struct strv trusted_images;
	/* insecure_registries = host:port, ...: plain HTTP (after HTTPS fails) and
	 * unverified TLS for these registries, as dockerd's --insecure-registry.
	 * Loopback registries are always allowed plain HTTP. */
	struct strv insecure_registries;
	/* max_concurrent_downloads = N: layers a pull downloads at once (3, as dockerd). */
	int max_concurrent_downloads;
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
 * chassis is read from $ISOBOX_CHASSIS_TYPE_FILE or the config's
 * chassis_type_file (an SMBIOS type number or a hostnamectl chassis word),
 * else from /etc/machine-info's CHASSIS= (hostnamectl set-chassis), else from
 * HOST_CHASSIS_TYPE_FILE. */
int isolation_default(const struct host_config *c, const char *override,
		      struct isolation_default *d, struct err *err);

enum isolation_mode {
	ISOLATION_DEFAULT = -1,     /* "default" or empty: the host's default */
	ISOLATION_PROCESS = 0,
	ISOLATION_HYPERV = 1,       /* "hyperv" or "vm" */
	ISOLATION_AUTO = 2,         /* what the policy and the image need, else the default */
};

/* An isolation value (enum isolation_mode), case-insensitive; "auto" only
 * where allow_auto. Anything else is an error listing the valid values. */
int isolation_value(const char *value, const char *what, bool allow_auto, int *mode,
		    struct err *err);

#endif
