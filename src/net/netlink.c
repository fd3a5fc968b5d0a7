/* rtnetlink over libmnl: one request, one ACK, the error named. */
#include "net/netlink.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>

int nl_open(struct nl *nl, struct err *err)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return err_sys(err, errno, "open rtnetlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err_sys(err, e, "bind rtnetlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

int nl_query(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, const char *what,
	     struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int r;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return err_sys(err, errno, "%s", what);
	/* mnl_cb_run turns an NLMSG_ERROR with a code into -1/errno, and the
	 * ACK (code 0) or a dump's end into MNL_CB_STOP. */
	do {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return err_sys(err, errno, "%s", what);
		r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, nl->portid, cb, data);
		if (r < 0)
			return err_sys(err, errno, "%s", what);
	} while (r != MNL_CB_STOP);
	return 0;
}

int nl_request(struct nl *nl, struct nlmsghdr *req, const char *what, struct err *err)
{
	return nl_query(nl, req, NULL, NULL, what, err);
}

unsigned nl_link_index(const char *name)
{
	return if_nametoindex(name);
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, struct ifinfomsg **ifi)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	*ifi = mnl_nlmsg_put_extra_header(h, sizeof(**ifi));
	(*ifi)->ifi_family = AF_UNSPEC;
	return h;
}

static int name_ok(const char *name, struct err *err)
{
	if (!*name || strlen(name) >= IFNAMSIZ)
		return err_set(err, "invalid interface name \"%s\"", name);
	return 0;
}

int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *h = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi);
	struct nlattr *info;
	char what[64];

	if (name_ok(name, err) < 0)
		return -1;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	snprintf(what, sizeof(what), "add bridge %s", name);
	if (nl_request(nl, h, what, err) < 0)
		return -1;
	/* Set as a change of its own: a bridge keeps an MTU set so when its
	 * last port goes, and falls back to 1500 from one given at creation. */
	return mtu ? nl_link_set_mtu(nl, name, mtu, err) : 0;
}

int nl_link_set_mtu(struct nl *nl, const char *name, unsigned mtu, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *h = link_msg(buf, RTM_NEWLINK, 0, &ifi);
	char what[64];

	snprintf(what, sizeof(what), "set the MTU of %s to %u", name, mtu);
	ifi->ifi_index = (int)nl_link_index(name);
	if (!ifi->ifi_index)
		return err_set(err, "%s: no such interface", what);
	mnl_attr_put_u32(h, IFLA_MTU, mtu);
	return nl_request(nl, h, what, err);
}

int nl_veth_add(struct nl *nl, const char *host_name, const char *peer_name, int netns_fd,
		const uint8_t *mac, unsigned mtu, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi, *peer_ifi;
	struct nlmsghdr *h = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi);
	struct nlattr *info, *data, *peer;
	char what[96];

	if (name_ok(host_name, err) < 0 || name_ok(peer_name, err) < 0)
		return -1;
	mnl_attr_put_strz(h, IFLA_IFNAME, host_name);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	peer_ifi = mnl_nlmsg_put_extra_header(h, sizeof(*peer_ifi));
	peer_ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
	if (netns_fd >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	snprintf(what, sizeof(what), "add veth %s (peer %s)", host_name, peer_name);
	return nl_request(nl, h, what, err);
}

static int link_change(struct nl *nl, const char *name, const char *what_fmt,
		       uint16_t type, unsigned flags, unsigned change, int master, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *h = link_msg(buf, type, 0, &ifi);
	char what[96];

	snprintf(what, sizeof(what), what_fmt, name);
	ifi->ifi_index = (int)nl_link_index(name);
	if (!ifi->ifi_index)
		return err_set(err, "%s: no such interface", what);
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (master >= 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	return nl_request(nl, h, what, err);
}

int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct err *err)
{
	unsigned m = nl_link_index(master);

	if (!m)
		return err_set(err, "attach %s to %s: no such bridge", name, master);
	return link_change(nl, name, "attach %s to its bridge", RTM_NEWLINK, 0, 0, (int)m, err);
}

int nl_link_set_hairpin(struct nl *nl, const char *name, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct ifinfomsg *ifi;
	struct nlmsghdr *h = link_msg(buf, RTM_SETLINK, 0, &ifi);
	struct nlattr *info;

	snprintf(what, sizeof(what), "set hairpin mode on %s", name);
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = (int)nl_link_index(name);
	if (!ifi->ifi_index)
		return err_set(err, "%s: no such interface", what);
	info = mnl_attr_nest_start(h, IFLA_PROTINFO);
	mnl_attr_put_u8(h, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(h, info);
	return nl_request(nl, h, what, err);
}

int nl_link_set_up(struct nl *nl, const char *name, struct err *err)
{
	return link_change(nl, name, "set %s up", RTM_NEWLINK, IFF_UP, IFF_UP, -1, err);
}

int nl_link_del(struct nl *nl, const char *name, struct err *err)
{
	return link_change(nl, name, "delete %s", RTM_DELLINK, 0, 0, -1, err);
}

int nl_addr_add(struct nl *nl, const char *name, struct in_addr addr, int prefix,
		struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct in_addr brd;

	snprintf(what, sizeof(what), "add an address to %s", name);
	if (prefix < 0 || prefix > 32)
		return err_set(err, "%s: invalid prefix length %d", what, prefix);
	h->nlmsg_type = RTM_NEWADDR;
	h->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = nl_link_index(name);
	if (!ifa->ifa_index)
		return err_set(err, "%s: no such interface", what);
	brd.s_addr = addr.s_addr | (prefix == 0 ? 0xffffffffu : htonl((1u << (32 - prefix)) - 1));
	if (prefix == 32)
		brd = addr;
	mnl_attr_put(h, IFA_LOCAL, 4, &addr);
	mnl_attr_put(h, IFA_ADDRESS, 4, &addr);
	if (prefix < 31)
		mnl_attr_put(h, IFA_BROADCAST, 4, &brd);
	return nl_request(nl, h, what, err);
}

int nl_route_add_default(struct nl *nl, const char *name, struct in_addr gateway,
			 struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	unsigned idx = nl_link_index(name);

	snprintf(what, sizeof(what), "add the default route on %s", name);
	if (!idx)
		return err_set(err, "%s: no such interface", what);
	h->nlmsg_type = RTM_NEWROUTE;
	h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, 4, &gateway);
	mnl_attr_put_u32(h, RTA_OIF, idx);
	return nl_request(nl, h, what, err);
}
