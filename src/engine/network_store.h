/* The network store's helpers shared by network.c (the store) and
 * net_container.c (a container's endpoints): engine-private. */
#ifndef ISOBOX_NETWORK_STORE_H
#define ISOBOX_NETWORK_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <netinet/in.h>

#include "util/err.h"

/* "a.b.c.d/n" -> host-order address and prefix; 0 or -1 (invalid). */
int cidr_parse(const char *s, uint32_t *addr, int *prefix);
int ip_parse(const char *s, uint32_t *addr);
void ip_format(uint32_t addr, char out[INET_ADDRSTRLEN]);

/* The stored (or predefined) inspect object of ref, Containers not filled. */
int network_load(const char *root, const char *ref, json_t **out, struct err *err);
bool network_is_predefined(const char *name);
/* The Linux bridge of a bridge-driver network. */
const char *network_bridge_name(json_t *net, char buf[16]);
/* Its first IPAM config's subnet and gateway. */
int network_subnet(json_t *net, uint32_t *subnet, int *prefix, uint32_t *gateway,
		   struct err *err);
/* The path of a network's store file, leases file. */
char *network_path(const char *root, const char *id, const char *suffix);

#endif
