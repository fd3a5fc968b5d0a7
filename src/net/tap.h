/* A VM's side of a container's network namespace (Kata's "tcfilter"): what
 * the namespace's eth0 is (MAC, MTU, IPv4 address, default gateway), so the
 * guest's NIC can be the same, and a TAP beside it for the VMM. Every
 * function acts in the caller's network namespace. */
#ifndef ISOBOX_NET_TAP_H
#define ISOBOX_NET_TAP_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "net/netlink.h"

struct net_if_info {
	uint8_t mac[6];
	unsigned mtu;
	bool has_addr, has_gateway;
	struct in_addr addr, gateway;
	unsigned prefix;
};

/* name's MAC and MTU, its first IPv4 address and the main table's default
 * route's gateway (absent ones leave has_* false). */
int net_if_read(struct nl *nl, const char *name, struct net_if_info *info, struct err *err);
/* A TAP called name for the VMM: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with
 * virtio's 12-byte header, non-blocking, up with mtu (0: the default).
 * Returns its fd (close-on-exec); the TAP goes when the fd closes. */
int net_tap_create(const char *name, unsigned mtu, struct err *err);

/* tc.c: join a and b (ingress qdiscs, and a u32 match-all filter on each
 * that redirects every frame to the other's egress with mirred), replacing
 * an older join of a's. */
int net_tc_redirect_pair(struct nl *nl, const char *a, const char *b, struct err *err);

#endif
