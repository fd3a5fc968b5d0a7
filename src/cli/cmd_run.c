/* run and create: docker's flags into struct run_opts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/container.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "util/signal.h"
#include "util/cleanup.h"
#include "util/fs.h"

enum {
	OPT_RM = 256, OPT_NAME, OPT_ENV_FILE, OPT_HOSTNAME, OPT_ENTRYPOINT, OPT_READ_ONLY,
	OPT_TMPFS, OPT_CPUS, OPT_PIDS_LIMIT, OPT_ULIMIT, OPT_CAP_ADD, OPT_CAP_DROP,
	OPT_PRIVILEGED, OPT_SECURITY_OPT, OPT_LABEL, OPT_ISOLATION, OPT_HELP, OPT_STOP_SIGNAL,
	OPT_NETWORK, OPT_PID, OPT_IPC, OPT_UTS, OPT_KERNEL, OPT_INIT, OPT_GROUP_ADD,
	OPT_PULL, OPT_PLATFORM, OPT_IP, OPT_MAC, OPT_ALIAS, OPT_DNS, OPT_DNS_SEARCH, OPT_DNS_OPT,
	OPT_ADD_HOST, OPT_MOUNT, OPT_VOLUMES_FROM,
};

static const struct option run_options[] = {
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "pull", required_argument, NULL, OPT_PULL },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "hostname", required_argument, NULL, 'h' },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "publish", required_argument, NULL, 'p' },
	{ "publish-all", no_argument, NULL, 'P' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "ulimit", required_argument, NULL, OPT_ULIMIT },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
	{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
	{ "label", required_argument, NULL, 'l' },
	{ "isolation", required_argument, NULL, OPT_ISOLATION },
	{ "stop-signal", required_argument, NULL, OPT_STOP_SIGNAL },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "network-alias", required_argument, NULL, OPT_ALIAS },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-search", required_argument, NULL, OPT_DNS_SEARCH },
	{ "dns-option", required_argument, NULL, OPT_DNS_OPT },
	{ "dns-opt", required_argument, NULL, OPT_DNS_OPT },
	{ "add-host", required_argument, NULL, OPT_ADD_HOST },
	{ "volume", required_argument, NULL, 'v' },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "volumes-from", required_argument, NULL, OPT_VOLUMES_FROM },
	{ "mac-address", required_argument, NULL, OPT_MAC },
	{ "net", required_argument, NULL, OPT_NETWORK },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "ipc", required_argument, NULL, OPT_IPC },
	{ "uts", required_argument, NULL, OPT_UTS },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "init", optional_argument, NULL, OPT_INIT },
	{ "group-add", required_argument, NULL, OPT_GROUP_ADD },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

static const char run_usage[] =
	"Usage:  isobox %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
	"Options:\n"
	"      --cap-add list          Add Linux capabilities\n"
	"      --cap-drop list         Drop Linux capabilities\n"
	"      --cpus decimal          Number of CPUs\n"
	"  -d, --detach                Run container in background and print container ID\n"
	"      --entrypoint string     Overwrite the default ENTRYPOINT of the image\n"
	"  -e, --env list              Set environment variables\n"
	"      --group-add list        Add additional groups to join\n"
	"      --env-file list         Read in a file of environment variables\n"
	"  -h, --hostname string       Container host name\n"
	"  -i, --interactive           Keep STDIN open even if not attached\n"
	"      --init                  Run an init inside the container that forwards signals and\n"
	"                              reaps processes\n"
	"      --ipc string            IPC mode: private (default) or host\n"
	"      --isolation string      Container isolation technology: process, hyperv (vm), auto,\n"
	"                              default\n"
	"      --kernel string         Guest kernel for hyperv isolation, by name or version\n"
	"  -l, --label list            Set meta data on a container\n"
	"  -m, --memory bytes          Memory limit\n"
	"      --name string           Assign a name to the container\n"
	"      --add-host list         Add a custom host-to-IP mapping (host:ip)\n"
	"      --dns list              Set custom DNS servers\n"
	"      --dns-option list       Set DNS options\n"
	"      --dns-search list       Set custom DNS search domains\n"
	"      --ip string             IPv4 address (e.g., 172.30.100.104)\n"
	"      --mac-address string    Container MAC address (e.g., 92:d0:c6:0a:29:33)\n"
	"      --network-alias list    Add network-scoped alias for the container\n"
	"      --network string        Connect a container to a network: bridge (default),\n"
	"                              none, host, container:NAME, or a network's name\n"
	"      --pid string            PID namespace: private (default) or host\n"
	"  -p, --publish list          Publish a container's port(s) to the host\n"
	"  -P, --publish-all           Publish all exposed ports to random ports\n"
	"      --platform string       Set platform if server is multi-platform capable\n"
	"      --pids-limit int        Tune container pids limit\n"
	"      --privileged            Give extended privileges to this container\n"
	"      --read-only             Mount the container's root filesystem as read only\n"
	"      --rm                    Automatically remove the container when it exits\n"
	"      --security-opt list     Security Options (seccomp=unconfined|FILE,\n"
	"                              no-new-privileges[=true|false])\n"
	"      --stop-signal string    Signal to stop the container\n"
	"      --tmpfs list            Mount a tmpfs directory\n"
	"  -v, --volume list           Bind mount a volume (SRC:DST[:ro], NAME:DST[:ro], DST)\n"
	"      --mount mount           Attach a filesystem mount to the container\n"
	"      --volumes-from list     Mount volumes from the specified container(s)\n"
	"  -t, --tty                   Allocate a pseudo-TTY\n"
	"      --pull string           Pull image before running (\"always\", \"missing\",\n"
	"                              \"never\") (default \"missing\")\n"
	"      --ulimit ulimit         Ulimit options\n"
	"      --uts string            UTS namespace: private (default) or host\n"
	"  -u, --user string           Username or UID (format: <name|uid>[:<group|gid>])\n"
	"  -w, --workdir string        Working directory inside the container\n";

static int env_file_read(const char *path, struct strv *env, struct err *err)
{
	_cleanup_free_ char *data = NULL;
	char *line, *save;

	if (read_file(path, 1 << 20, &data, NULL, err) < 0)
		return err_wrap(err, "--env-file");
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		line[strcspn(line, "\r")] = '\0';
		if (*line && *line != '#')
			strv_push(env, line);
	}
	return 0;
}

static int parse_cpus(const char *s, long long *nano)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v <= 0 || v > 1024)
		return -1;
	*nano = (long long)(v * 1e9);
	return 0;
}

static const char *const namespace_flags[] = { "network", "pid", "ipc", "uts" };

/* --network none|host, --pid/--ipc/--uts private|host. */
static int namespace_mode_set(struct run_opts *o, int opt, const char *mode)
{
	const char **slot[] = { &o->network_mode, &o->pid_mode, &o->ipc_mode, &o->uts_mode };
	bool own = opt == OPT_NETWORK ? !strcmp(mode, "none") || !strcmp(mode, "default")
				      : !strcmp(mode, "private") || !*mode;

	if (opt == OPT_NETWORK) {
		/* Any other name is a network's, checked at create. */
		o->network = !strcmp(mode, "default") ? "bridge" : mode;
		o->network_mode = !strcmp(mode, "host") ? mode : NULL;
		return 0;
	}
	if (!own && strcmp(mode, "host"))
		return -1;
	*slot[opt - OPT_NETWORK] = own ? NULL : mode;
	return 0;
}

int cli_run_opts_parse(const char *cmd, int argc, char **argv, struct run_opts *o)
{
	struct err err = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "+dite:w:u:h:m:l:p:Pv:", run_options, NULL)) != -1) {
		switch (c) {
		case 'd': o->detach = true; break;
		case 'i': o->interactive = true; break;
		case 't': o->tty = true; break;
		case OPT_RM: o->autoremove = true; break;
		case OPT_NAME: o->name = optarg; break;
		case 'e': strv_push(&o->env, optarg); break;
		case OPT_ENV_FILE:
			if (env_file_read(optarg, &o->env, &err) < 0)
				return cli_fail(&err);
			break;
		case 'w': o->workdir = optarg; break;
		case 'u': o->user = optarg; break;
		case 'h': o->hostname = optarg; break;
		case OPT_ENTRYPOINT: o->entrypoint = optarg; break;
		case OPT_READ_ONLY: o->read_only = true; break;
		case OPT_TMPFS: strv_push(&o->tmpfs, optarg); break;
		case 'm':
			if (parse_bytes(optarg, &o->memory) < 0 || o->memory < 6 * 1024 * 1024)
				return cli_usage(cmd, "invalid --memory %s: want a size of at "
						 "least 6m, e.g. 64m or 1g", optarg);
			break;
		case OPT_CPUS:
			if (parse_cpus(optarg, &o->nano_cpus) < 0)
				return cli_usage(cmd, "invalid --cpus %s: want a positive "
						 "number, e.g. 0.5", optarg);
			break;
		case OPT_PIDS_LIMIT: {
			char *end;

			o->pids_limit = strtoll(optarg, &end, 10);
			if (end == optarg || *end)
				return cli_usage(cmd, "invalid --pids-limit %s", optarg);
			break;
		}
		case OPT_ULIMIT: strv_push(&o->ulimits, optarg); break;
		case OPT_CAP_ADD: strv_push(&o->cap_add, optarg); break;
		case OPT_CAP_DROP: strv_push(&o->cap_drop, optarg); break;
		case OPT_PRIVILEGED: o->privileged = true; break;
		case OPT_SECURITY_OPT: strv_push(&o->security_opt, optarg); break;
		case 'l': strv_push(&o->labels, optarg); break;
		case OPT_ISOLATION: o->isolation = optarg; break;
		case OPT_STOP_SIGNAL:
			if (signal_parse(optarg) < 0)
				return cli_usage(cmd, "invalid --stop-signal %s", optarg);
			o->stop_signal = optarg;
			break;
		case OPT_NETWORK:
		case OPT_PID:
		case OPT_IPC:
		case OPT_UTS:
			if (namespace_mode_set(o, c, optarg) < 0)
				return cli_usage(cmd, "invalid --%s %s: use %s or host",
						 namespace_flags[c - OPT_NETWORK],
						 optarg, c == OPT_NETWORK ? "none" : "private");
			break;
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_IP: o->ip = optarg; break;
		case 'p': strv_push(&o->publish, optarg); break;
		case OPT_ALIAS: strv_push(&o->aliases, optarg); break;
		case OPT_DNS: strv_push(&o->dns, optarg); break;
		case OPT_DNS_SEARCH: strv_push(&o->dns_search, optarg); break;
		case OPT_DNS_OPT: strv_push(&o->dns_opt, optarg); break;
		case OPT_ADD_HOST: strv_push(&o->add_host, optarg); break;
		case 'v': strv_push(&o->volumes, optarg); break;
		case OPT_MOUNT: strv_push(&o->mounts, optarg); break;
		case OPT_VOLUMES_FROM: strv_push(&o->volumes_from, optarg); break;
		case 'P': o->publish_all = true; break;
		case OPT_MAC: o->mac = optarg; break;
		case OPT_INIT:
			/* docker's bool flag: --init, --init=true, --init=false */
			if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false"))
				return cli_usage(cmd, "invalid --init %s: use true or false", optarg);
			o->init = !optarg || !strcmp(optarg, "true");
			o->init_set = true;
			break;
		case OPT_GROUP_ADD: strv_push(&o->group_add, optarg); break;
		case OPT_PULL:
			if (strcmp(optarg, "missing") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never"))
				return cli_usage(cmd, "invalid pull option: '%s': must be one of "
						 "\"always\", \"missing\" or \"never\"", optarg);
			o->pull = optarg;
			break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case OPT_HELP:
			printf(run_usage, cmd);
			return -1;
		default:
			return cli_usage(cmd, "unknown or malformed flag");
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "requires at least 1 argument (the image)");
	if (o->uts_mode && o->hostname)
		return cli_usage(cmd, "conflicting options: --hostname and --uts host");
	o->image = argv[optind];
	for (int i = optind + 1; i < argc; i++)
		strv_push(&o->cmd, argv[i]);
	return 0;
}

/* docker's --pull: missing (pull an image the store lacks), always, never. */
static int image_pull_needed(struct cli *cli, const struct run_opts *o, struct err *err)
{
	char *id = NULL;
	bool always = o->pull && !strcmp(o->pull, "always");

	if (o->pull && !strcmp(o->pull, "never"))
		return 0;
	if (!always) {
		if (image_resolve_id(cli->root, o->image, &id, &(struct err){ 0 }) == 0) {
			free(id);
			return 0;
		}
		/* Only what a registry could serve: not an image ID. */
		if (strspn(o->image, "0123456789abcdef") == strlen(o->image) ||
		    !strncmp(o->image, "sha256:", 7))
			return 0;
		fprintf(stderr, "Unable to find image '%s' locally\n", o->image);
	}
	return cli_pull(cli, o->image, o->platform, stderr, err);
}

static int run_or_create(struct cli *cli, int argc, char **argv, bool run)
{
	const char *cmd = run ? "run" : "create";
	struct run_opts o = { 0 };
	struct host_config host;
	struct container c;
	struct err err = { 0 };
	int r, code = 0;

	r = cli_run_opts_parse(cmd, argc, argv, &o);
	if (r != 0) {
		run_opts_free(&o);
		return r < 0 ? 0 : r;
	}
	/* $ISOBOX_DEFAULT_NETWORK before the config's default_network: the test
	 * harness keeps every container that names no network off the host's. */
	if (!o.network && getenv("ISOBOX_DEFAULT_NETWORK") && *getenv("ISOBOX_DEFAULT_NETWORK"))
		o.network = getenv("ISOBOX_DEFAULT_NETWORK");
	if (cli_host_config(cli, &host, &err) < 0) {
		run_opts_free(&o);
		return cli_fail(&err);
	}
	o.host = &host;
	o.default_isolation = cli->default_isolation;
	if (image_pull_needed(cli, &o, &err) < 0) {
		host_config_free(&host);
		run_opts_free(&o);
		return cli_fail(&err);
	}
	r = container_create(cli->root, &o, &c, &err);
	host_config_free(&host);
	if (r < 0) {
		run_opts_free(&o);
		return cli_fail(&err);
	}
	if (!run || o.detach) {
		if (run && container_start(cli->root, &c, false, false, &code, &err) < 0)
			code = cli_fail(&err);
		else
			printf("%s\n", c.id);
	} else if (container_start(cli->root, &c, true, o.interactive, &code, &err) < 0) {
		code = cli_fail(&err);
	}
	/* A --rm container that never ran is removed here; one that ran removes itself. */
	if (run && o.autoremove && code && err.kind)
		container_remove_volumes(cli->root, &c, true, &(struct err){ 0 });
	container_free(&c);
	run_opts_free(&o);
	return code;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	return run_or_create(cli, argc, argv, true);
}

int cmd_create(struct cli *cli, int argc, char **argv)
{
	return run_or_create(cli, argc, argv, false);
}
