/* Networks and a container's place on them (issue 14), docker's model:
 *
 *  - The store: ROOT/networks/<id>.json, one file per user-defined network,
 *    in the shape of docker's `network inspect` object (Name, Id, Created,
 *    Scope "local", Driver "bridge", EnableIPv6, IPAM{Driver, Options,
 *    Config[{Subnet, Gateway}]}, Internal, Attachable, Ingress, ConfigFrom,
 *    ConfigOnly, Options, Labels); Containers is filled in when shown.
 *    Names are unique (ROOT/networks/names/<name> -> <id>, as containers').
 *    Three networks always exist, as in docker: "bridge" (the default;
 *    172.17.0.0/16, gateway .1, Linux bridge isobox0, no name resolution),
 *    "host" and "none" (no store file; they cannot be removed).
 *  - Leases: ROOT/networks/<id>.leases, "IP CONTAINER-ID" lines, changed
 *    under flock of the network's file. A lease whose container no longer
 *    runs (its monitor is gone: kill -9, reboot) is free for the taking and
 *    is dropped by net_reconcile.
 *  - A container's endpoints are its record's (container.json) keys, as
 *    docker's inspect shows them, written by container_create from run_opts
 *    and read back by net_container_setup at start:
 *      HostConfig.NetworkMode ("bridge", "none", "host", "container:ID",
 *        or a network's name), HostConfig.PortBindings
 *        {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
 *        HostConfig.PublishAllPorts, HostConfig.Dns, DnsSearch, DnsOptions,
 *        ExtraHosts ["name:ip"];
 *      NetworkSettings.Networks.<name> {IPAMConfig {IPv4Address}, Aliases,
 *        NetworkID, EndpointID, Gateway, IPAddress, IPPrefixLen, MacAddress,
 *        ...}: what was asked (IPAMConfig, Aliases, MacAddress) from create;
 *        what was given (the rest) from start, cleared at stop, as docker.
 *      NetworkSettings.Ports {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort":
 *        "8080"}]} while running, SandboxKey (the netns path).
 *  - The network namespace of a container on bridge or a user network is a
 *    bind mount of nsfs at ROOT/netns/<container id>, made at start before
 *    the runtime runs; the bundle's config.json names that path
 *    (linux.namespaces type network, path), so either backend joins it:
 *    the process backend with setns, the hyperv runtime by running the VMM
 *    inside it with a TAP joined to eth0 (runtime's business, not this
 *    file's). Everything is torn down when the container stops (the
 *    monitor's exit hook), at the next isobox command after a kill -9 of the
 *    monitor (net_reconcile), and naturally by a reboot (nothing lives
 *    outside the netns but the bridge and the firewall table, rebuilt on
 *    demand).
 */
#ifndef ISOBOX_NETWORK_H
#define ISOBOX_NETWORK_H

#include <stdbool.h>
#include <jansson.h>

#include "util/err.h"
#include "util/strv.h"

#define NETWORK_DEFAULT "bridge"
#define NETWORK_DEFAULT_BRIDGE "isobox0"
#define NETWORK_DEFAULT_SUBNET "172.17.0.0/16"

struct network_create_opts {
	const char *name;
	const char *driver;          /* -d: only "bridge" (NULL = bridge) */
	const char *subnet;          /* --subnet CIDR, or NULL: the next free 172.18-31.0.0/16,
				      * then 192.168.N.0/20, as docker picks */
	const char *gateway;         /* --gateway, or NULL: the subnet's first address */
	bool internal;               /* --internal: no route out, no masquerade */
	struct strv labels;          /* --label k=v */
	struct strv options;         /* -o k=v (com.docker.network.bridge.name, ...) */
};

/* Prints nothing; *id_out is the new network's id (64 hex). An overlapping
 * subnet or a taken name is an error naming the other network. */
int network_create(const char *root, const struct network_create_opts *o, char **id_out,
		   struct err *err);
/* By name, full id or unique id prefix; "bridge", "host" and "none" too.
 * *out is docker's inspect object, Containers included. */
int network_inspect(const char *root, const char *ref, json_t **out, struct err *err);
/* docker's inspect objects of every network, bridge/host/none first. */
int network_list(const char *root, json_t **out, struct err *err);
/* Refused while a container (running or not) names the network, as docker:
 * "error while removing network: network NAME id ID has active endpoints". */
int network_remove(const char *root, const char *ref, struct err *err);
/* Every user-defined network no container names; *removed lists their names. */
int network_prune(const char *root, struct strv *removed, struct err *err);

/* connect/disconnect a container (running: at once; else at its next start). */
struct net_endpoint_opts {
	const char *ip;              /* --ip */
	const char *mac;             /* --mac-address */
	struct strv aliases;         /* --alias / --network-alias */
};
struct container;
int network_connect(const char *root, const char *net_ref, struct container *c,
		    const struct net_endpoint_opts *o, struct err *err);
int network_disconnect(const char *root, const char *net_ref, struct container *c,
		       bool force, struct err *err);

/* At start, before the runtime: the netns, its veth (eth0) on each network's
 * bridge, addresses, routes, published ports, DNS entries, /etc/hosts and
 * resolv.conf in the container's directory; the record's NetworkSettings
 * filled in. On failure nothing is left set up. No-op for none/host/container:. */
int net_container_setup(const char *root, struct container *c, struct err *err);
/* At stop: undo all of it, release the leases, clear what start filled in.
 * Idempotent; safe on a container that was never set up. */
int net_container_teardown(const char *root, const char *container_dir, struct err *err);
/* The same in the monitor's exit hook: the veth's deletion (~20 ms of the
 * kernel's), the netns mount and the lease finish in a detached child, off
 * the path of the exit's report; the lease stays taken until then. */
int net_container_release(const char *root, const char *container_dir, struct err *err);
/* Tear down what containers that no longer run left (their monitor was
 * killed): called by every command that lists or starts containers. */
void net_reconcile(const char *root);

#endif
