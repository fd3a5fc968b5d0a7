/* The host side of a container's network, over rtnetlink (libmnl): links,
 * addresses, routes, and the tc filters that join a VM's TAP to its veth.
 * The net/ folder is a layer below engine/, beside process/ and vmm/: it
 * knows interfaces and addresses, not containers. Every function acts in the
 * network namespace of its caller; callers that work in a container's netns
 * enter it first (netns_enter). */
#ifndef ISOBOX_NETLINK_H
#define ISOBOX_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>

#include "util/err.h"

struct mnl_socket;
struct nlmsghdr;

struct nl {
	struct mnl_socket *sock;
	uint32_t seq;
	unsigned portid;
};

int nl_open(struct nl *nl, struct err *err);
void nl_close(struct nl *nl);
/* Send one request (NLM_F_REQUEST|NLM_F_ACK added) and wait for its ACK; a
 * NACK is an error "what: strerror". The caller builds the message in buf. */
int nl_request(struct nl *nl, struct nlmsghdr *req, const char *what, struct err *err);
/* The same, each answer (a dump's objects, or one) given to cb first. */
int nl_query(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, const char *what,
	     struct err *err);

/* ifindex of name, 0 when there is none. */
unsigned nl_link_index(const char *name);
/* mtu: the link's MTU, 0 for the kernel's default (1500). */
int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct err *err);
/* A veth pair: host_name stays here, peer_name is created in the netns of
 * netns_fd (named there as peer_name, e.g. "eth0"). mac: the peer's, or NULL. */
int nl_veth_add(struct nl *nl, const char *host_name, const char *peer_name, int netns_fd,
		const uint8_t *mac, unsigned mtu, struct err *err);
int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct err *err);
/* Hairpin mode on a bridge port: a frame may leave by the port it came in
 * on, which a container reaching its own published port needs when the
 * bridge's traffic goes through netfilter (br_netfilter). */
int nl_link_set_hairpin(struct nl *nl, const char *name, struct err *err);
int nl_link_set_up(struct nl *nl, const char *name, struct err *err);
int nl_link_set_mtu(struct nl *nl, const char *name, unsigned mtu, struct err *err);
int nl_link_del(struct nl *nl, const char *name, struct err *err);
int nl_addr_add(struct nl *nl, const char *name, struct in_addr addr, int prefix,
		struct err *err);
/* gateway: a default route via it on name. */
int nl_route_add_default(struct nl *nl, const char *name, struct in_addr gateway,
			 struct err *err);

#endif
