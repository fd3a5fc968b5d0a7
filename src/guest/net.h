/* The guest's NIC: the TAG_NET_* records (hostile input, checked here) and
 * the setup of the interface they name, as the container's eth0 was on the
 * host: address, prefix, MTU, up, default route. */
#ifndef ISOBOX_GUEST_NET_H
#define ISOBOX_GUEST_NET_H

#include "guest/agent.h"

/* One record (tag TAG_NET_MAC..TAG_NET_MTU, s its text or NULL): 0, or -1
 * when the value is malformed or repeated. */
int agent_net_record(struct agent_net *net, unsigned tag, const char *s);
/* After the last record: -1 when they do not make one NIC (an address
 * without a MAC, a gateway or MTU without an address). */
int agent_net_check(const struct agent_net *net);
/* Configure the NIC whose MAC the records name (waiting a little for its
 * driver): 0, or -1 with errno set and *what naming the step that failed. */
int agent_net_setup(const struct agent_net *net, const char **what);

#endif
