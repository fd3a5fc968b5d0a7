/* Containers: a directory per container under ROOT/containers/<id> holding
 * the OCI bundle (config.json, rootfs/), the record docker's inspect shows
 * (container.json), the runtime's state.json and the log. Names are symlinks
 * ROOT/names/<name> -> <id>, created atomically, so a name is never taken twice. */
#ifndef ISOBOX_CONTAINER_H
#define ISOBOX_CONTAINER_H

#include <stdbool.h>
#include <jansson.h>

#include "util/err.h"
#include "util/strv.h"

struct host_config;

struct run_opts {
	const char *image;
	struct strv cmd;            /* after the image name */
	const char *name;
	bool detach, interactive, tty, autoremove, privileged, read_only;
	struct strv env;            /* -e, in order; --env-file lines are added here */
	const char *workdir;
	const char *user;
	const char *hostname;
	const char *entrypoint;     /* NULL: the image's; "": none */
	struct strv tmpfs;          /* "/path[:opts]" */
	struct strv volumes;        /* -v SRC:DST[:MODE] | NAME:DST[:MODE] | DST */
	struct strv mounts;         /* --mount type=...,source=,target=,... */
	struct strv volumes_from;   /* --volumes-from CONTAINER[:ro|:rw] */
	long long memory;           /* bytes, 0 = unlimited */
	long long nano_cpus;
	long long pids_limit;
	struct strv ulimits;        /* "nofile=1024:2048" */
	struct strv cap_add, cap_drop;
	struct strv security_opt;   /* "seccomp=unconfined|FILE", "no-new-privileges" */
	struct strv group_add;      /* --group-add: group names or numbers */
	struct strv labels;         /* "k=v" */
	const char *isolation;      /* process|hyperv|vm|auto|default; NULL = default */
	const struct host_config *host;     /* the host's configuration, or NULL */
	const char *default_isolation;      /* --default-isolation, or NULL */
	const char *stop_signal;
	/* "host" shares the host's namespace (process isolation only); NULL or
	 * "none"/"private": the container's own. */
	const char *network_mode, *pid_mode, *ipc_mode, *uts_mode;
	/* --network: "bridge", "none", "host", "container:NAME" or a network's
	 * name; NULL: the host config's default_network, else "bridge". */
	const char *network;
	const char *ip, *mac;       /* --ip, --mac-address */
	struct strv publish;        /* -p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO] */
	bool publish_all;           /* -P: every exposed port on an ephemeral host port */
	struct strv aliases;        /* --network-alias (user networks) */
	struct strv dns, dns_search, dns_opt;   /* --dns, --dns-search, --dns-option */
	struct strv add_host;       /* --add-host NAME:IP */
	const char *kernel;         /* --kernel: the guest kernel, by name or version */
	bool init, init_set;        /* --init[=BOOL]; unset: the host config's init */
	const char *pull;           /* --pull missing (default) | always | never */
	const char *platform;       /* --platform os/arch[/variant] of a pulled image */
};

/* Whether the container gets isobox-init as PID 1 (--init, else init = in
 * isobox.conf, else not: the app is PID 1, as docker's default). */
bool run_opts_init(const struct run_opts *o);

struct container {
	char *id;
	char *dir;
	json_t *record;             /* container.json */
};

/* The lists' strings (the rest points into the caller's data). */
void run_opts_free(struct run_opts *o);

int container_create(const char *root, const struct run_opts *o, struct container *c,
		     struct err *err);
/* By full id, unique id prefix, or name. */
int container_find(const char *root, const char *ref, struct container *c, struct err *err);
void container_free(struct container *c);

/* docker inspect's object: the record plus State. */
int container_inspect(const struct container *c, json_t **out, struct err *err);
/* inspect objects of all containers (running only unless all), newest first. */
int container_list(const char *root, bool all, json_t **out, struct err *err);

/* attach: relay the caller's stdio and set *exit_code when it exits. */
int container_start(const char *root, struct container *c, bool attach, bool interactive,
		    int *exit_code, struct err *err);
int container_stop(struct container *c, int timeout, struct err *err);
int container_kill(struct container *c, const char *signal, struct err *err);
int container_wait(struct container *c, int *exit_code, struct err *err);
/* Wait up to timeout_ms: 1 once the container no longer runs, 0 while it does. */
int container_wait_timeout(struct container *c, int timeout_ms, struct err *err);
int container_remove(const char *root, struct container *c, bool force, struct err *err);
/* docker rename: the new name taken (docker's conflict message when it is
 * another's), the record saved, the old name let go, a "rename" event. */
int container_rename(const char *root, struct container *c, const char *name, struct err *err);
/* rm -v: its anonymous volumes too (those no other container uses). */
int container_remove_volumes(const char *root, struct container *c, bool force,
			     struct err *err);

struct exec_opts {
	struct strv cmd, env;
	const char *workdir, *user;
	bool detach, interactive, tty;
};
int container_exec(struct container *c, const struct exec_opts *o, int *exit_code,
		   struct err *err);

/* docker's stats of c now (GET /containers/ID/stats, one sample): cpu,
 * memory, pids, blkio (its cgroups'; a VM's: its VMM's) and networks; a
 * stopped container's are zeros, as docker's. precpu_stats is empty: the
 * caller keeps the sample before. */
int container_stats(const struct container *c, json_t **out, struct err *err);

/* docker top: {"Titles", "Processes"} of ps ps_args ("-ef" when n is 0):
 * a process container's rows of the host's ps whose PID is in its cgroup; a
 * running VM's, its guest's busybox ps. "Container ID is not running" when
 * it is not. */
int container_top(const struct container *c, const char *const *ps_args, size_t n,
		  json_t **out, struct err *err);

/* An event of c's in the store's log (engine/events.h) with docker's image
 * and name attributes and extra's (taken; may be NULL). */
int container_event(const struct container *c, const char *action, json_t *extra,
		    struct err *err);

/* Whether any container uses the image; *name_out names one (caller frees). */
int container_image_in_use(const char *root, const char *image_id, char **name_out,
			   struct err *err);
/* image_prune's in_use, root_ctx the store's root: a failure to tell counts
 * as in use (when unsure, the image stays). */
bool container_image_in_use_cb(const char *image_id, void *root_ctx);

#endif
