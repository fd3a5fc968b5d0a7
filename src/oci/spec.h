/* The OCI runtime spec (config.json): the contract between the engine and the
 * backends. spec_parse validates hostile input once; the backends read only
 * this struct. */
#ifndef ISOBOX_SPEC_H
#define ISOBOX_SPEC_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "util/devcg.h"
#include "util/err.h"

struct oci_mount {
	const char *destination;
	const char *type;
	const char *source;
	unsigned long flags;        /* MS_* for the mount itself */
	unsigned long propagation;  /* MS_PRIVATE/MS_SLAVE/... applied afterwards */
	bool bind;
	bool readonly_bind;         /* a bind that needs a read-only remount */
	char *data;                 /* the options that are not flags, comma-joined */
};

/* linux.devices[]: a node made in the container's /dev. */
struct oci_device {
	const char *path;
	mode_t type;                /* S_IFCHR, S_IFBLK or S_IFIFO */
	unsigned major, minor;
	mode_t mode;                /* fileMode, default 0666 */
	uid_t uid;
	gid_t gid;
};

/* linux.namespaces[] with a path: joined, not made. */
struct oci_ns_path {
	int flag;                   /* CLONE_NEW* */
	const char *path;
};

/* linux.uidMappings / gidMappings[]: a user namespace's id map line. */
struct oci_id_map {
	unsigned container, host, size;
};

struct oci_rlimit {
	int resource;
	unsigned long long soft, hard;
};

struct oci_spec {
	json_t *json;               /* owns every const char * below */
	const char **args;          /* NULL-terminated */
	const char **env;           /* NULL-terminated */
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *gids;
	size_t n_gids;
	bool terminal;
	bool no_new_privileges;
	json_t *capabilities;       /* process.capabilities, may be NULL */
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	const char *root_path;
	bool root_readonly;
	const char *hostname;
	struct oci_mount *mounts;
	size_t n_mounts;
	int clone_flags;            /* CLONE_NEW* of namespaces to create */
	struct oci_ns_path ns_paths[8];     /* namespaces to join */
	size_t n_ns_paths;
	struct oci_id_map uid_maps[5], gid_maps[5];      /* a user namespace's */
	size_t n_uid_maps, n_gid_maps;
	struct oci_device *devices;
	size_t n_devices;
	json_t *sysctl;             /* linux.sysctl, may be NULL */
	unsigned long root_propagation; /* linux.rootfsPropagation's MS_ flags, 0: none */
	bool has_oom_score_adj;
	int oom_score_adj;          /* process.oomScoreAdj */
	const char **masked_paths;  /* NULL-terminated */
	const char **readonly_paths;
	json_t *seccomp;            /* linux.seccomp, may be NULL */
	long long memory_limit;     /* bytes, 0 = none */
	long long cpu_quota;        /* microseconds per period, 0 = none */
	long long cpu_period;
	long long pids_limit;       /* 0 = none */
	bool devices_allow_all;     /* linux.resources.devices allows "a" (privileged) */
	struct dev_rule *dev_rules; /* linux.resources.devices, checked */
	size_t n_dev_rules;
	json_t *resources;          /* linux.resources, may be NULL */
	const char *cgroups_path;   /* linux.cgroupsPath, or NULL */
	json_t *annotations;
	bool init;                  /* annotation io.isobox.init "true": isobox-init is PID 1 */
};

/* A NULL-terminated array of the strings of a JSON array (borrowed; NULL
 * gives an empty one); what names it in the error. Caller frees the array. */
int spec_strv_from_json(json_t *arr, const char *what, const char ***out, struct err *err);

/* linux.resources.devices, checked (the rules before docker's defaults). */
int spec_device_rules(json_t *json, struct dev_rule **rules, size_t *n, struct err *err);

/* CLONE_NEW* of every namespace of the container's own: made or joined by path. */
int spec_namespace_flags(const struct oci_spec *spec);

/* Parse and validate a config.json already loaded (takes a reference). */
int spec_parse(json_t *json, struct oci_spec *spec, struct err *err);
int spec_load(const char *path, struct oci_spec *spec, struct err *err);
void spec_free(struct oci_spec *spec);

/* Parse one mount option list into flags/propagation/data. Exposed for tests. */
int spec_mount_options(json_t *options, struct oci_mount *m, struct err *err);

/* RLIMIT_NOFILE from "RLIMIT_NOFILE"; -1 when unknown. */
int spec_rlimit_resource(const char *name);

#endif
