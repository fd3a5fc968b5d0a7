/* The network store's helpers shared by network.c (the store) and
 * net_container.c (a container's endpoints): engine-private. */
#ifndef ISOBOX_NETWORK_STORE_H
#define ISOBOX_NETWORK_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <netinet/in.h>

#include "util/err.h"
#include "util/strv.h"

/* "a.b.c.d/n" -> host-order address and prefix; 0 or -1 (invalid). */
int cidr_parse(const char *s, uint32_t *addr, int *prefix);
int ip_parse(const char *s, uint32_t *addr);
void ip_format(uint32_t addr, char out[INET_ADDRSTRLEN]);

/* The stored (or predefined) inspect object of ref, Containers not filled. */
int network_load(const char *root, const char *ref, json_t **out, struct err *err);
bool network_is_predefined(const char *name);
/* The Linux bridge of a bridge-driver network. */
const char *network_bridge_name(json_t *net, char buf[16]);
/* -o com.docker.network.driver.mtu of the network, 0 when unset (1500). */
unsigned network_mtu(json_t *net);
/* Its first IPAM config's subnet and gateway. */
int network_subnet(json_t *net, uint32_t *subnet, int *prefix, uint32_t *gateway,
		   struct err *err);
/* The path of a network's store file, leases file. */
char *network_path(const char *root, const char *id, const char *suffix);

#endif

/* At create: the NetworkMode that asked resolves to ("bridge", "none", "host",
 * "container:<id>", or a user network's name), checked against the store;
 * ip/mac as --ip/--mac-address asked (either may be NULL). */
int net_mode_resolve(const char *root, const char *asked, const char *ip, const char *mac,
		     char **mode_out, struct err *err);
/* The NetworkSettings a created container's record starts with. */
json_t *net_settings_initial(const char *root, const char *mode, const char *ip,
			     const char *mac);
/* -p specs -> docker's HostConfig.PortBindings {"80/tcp": [{"HostIp": "",
 * "HostPort": "8080"}]}, ranges expanded; a bad spec is docker's error. */
int net_ports_parse(const struct strv *specs, json_t **bindings, struct err *err);
/* At start, after eth0 has ip: the host ports chosen (ephemeral ones for
 * -P and for bindings without a host port), checked free (another
 * container's or a listening socket: an error naming it), DNAT rules tagged
 * tag; NetworkSettings.Ports filled in. */
int net_ports_publish(const char *root, json_t *record, const char *cid, uint32_t ip,
		      int prefix, const char *tag, struct err *err);
/* Drop cid's host ports from the ports file: whether it had any (only then
 * can it have DNAT rules). */
bool net_ports_release(const char *root, const char *cid);

/* Names on user networks (net_dns.c, aardvark-dns): cid's entry "ip" with
 * names (comma-separated) on network, the daemon started or reloaded; no-op
 * where aardvark-dns is not installed (net_dns_available false). */
bool net_dns_available(void);
int net_dns_add(const char *root, const char *network, const char *gateway, const char *cid,
		const char *ip, const char *names, struct err *err);
/* cid's entries gone, the daemon reloaded (or stopped when none is left). */
void net_dns_remove(const char *root, const char *cid);
/* cid's entry on one network gone (network disconnect). */
void net_dns_remove_one(const char *root, const char *network, const char *cid);

/* ROOT/netns/<id>: the container's network namespace once started, for
 * bridge and user networks; NULL for none, host and container:. */
char *net_netns_path(const char *root, const char *id, const char *mode);
/* A container's flock while its network is set up: held by the start command,
 * then by its monitor (inherited), so a lock anyone else can take means the
 * network is stale. */
char *net_lock_path(const char *container_dir);

/* A container's interfaces: eth0 .. eth15. */
#define NET_MAX_IFACES 16
#define NET_HYPERV_ONE "hyperv isolation gives a container one network for now: " \
	"disconnect it from all but one (isobox network disconnect NETWORK CONTAINER)"
struct container;
bool net_container_hyperv(const struct container *c);
/* The networks of NetworkSettings.Networks that get an interface. */
size_t net_count(json_t *nets);
/* ethN (veth on the network's bridge) in the container's netns for the
 * network name of its record's NetworkSettings.Networks: a lease (its
 * IPAMConfig's address if asked), the address, the default route if route,
 * the DNS entry on a user network, the endpoint's keys filled in (the record
 * is not saved). On failure nothing of it is left. */
int net_endpoint_attach(const char *root, struct container *c, const char *name, unsigned n,
			bool route, uint32_t *ip_out, struct err *err);
/* Undo net_endpoint_attach for one network (net_id NULL: its store is gone). */
void net_endpoint_detach(const char *root, struct container *c, const char *name,
			 const char *net_id);
/* docker's endpoint settings before start: NetworkID, what was asked. */
json_t *net_endpoint_empty(const char *network_id, const char *ip, const char *mac);
/* /etc/hosts: "IP\tHOSTNAME" for each of the record's network addresses. */
int net_hosts_refresh(struct container *c, struct err *err);
/* The first ethN (N >= 1) a running container has free, or -1. */
int net_iface_free(const char *dir, const char *id);
