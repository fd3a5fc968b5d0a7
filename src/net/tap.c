#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "util/cleanup.h"

#define VNET_HDR_LEN 12

struct if_query {
	unsigned index;
	struct net_if_info *info;
};

static int link_cb(const struct nlmsghdr *h, void *data)
{
	struct if_query *q = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	if (h->nlmsg_type != RTM_NEWLINK || (unsigned)ifi->ifi_index != q->index)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_ADDRESS && mnl_attr_get_payload_len(a) == 6)
			memcpy(q->info->mac, mnl_attr_get_payload(a), 6);
		else if (mnl_attr_get_type(a) == IFLA_MTU && mnl_attr_get_payload_len(a) == 4)
			q->info->mtu = mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *h, void *data)
{
	struct if_query *q = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    ifa->ifa_index != q->index || q->info->has_addr)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*ifa))
		if ((mnl_attr_get_type(a) == IFA_LOCAL || mnl_attr_get_type(a) == IFA_ADDRESS) &&
		    mnl_attr_get_payload_len(a) == 4) {
			memcpy(&q->info->addr, mnl_attr_get_payload(a), 4);
			q->info->prefix = ifa->ifa_prefixlen;
			q->info->has_addr = true;
		}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *h, void *data)
{
	struct if_query *q = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;
	struct in_addr gw = { 0 };
	bool has_gw = false;
	unsigned oif = 0;

	if (h->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET || rtm->rtm_dst_len ||
	    rtm->rtm_table != RT_TABLE_MAIN || q->info->has_gateway)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_GATEWAY && mnl_attr_get_payload_len(a) == 4) {
			memcpy(&gw, mnl_attr_get_payload(a), 4);
			has_gw = true;
		} else if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) == 4) {
			oif = mnl_attr_get_u32(a);
		}
	}
	if (has_gw && (!oif || oif == q->index)) {
		q->info->gateway = gw;
		q->info->has_gateway = true;
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *dump_msg(char *buf, uint16_t type, size_t extra, uint8_t family)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	uint8_t *fam;

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_DUMP;
	fam = mnl_nlmsg_put_extra_header(h, extra);
	*fam = family;              /* each of these headers starts with its family */
	return h;
}

int net_if_read(struct nl *nl, const char *name, struct net_if_info *info, struct err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct if_query q = { .index = nl_link_index(name), .info = info };

	memset(info, 0, sizeof(*info));
	if (!q.index)
		return err_sys(err, ENODEV, "find %s", name);
	if (nl_query(nl, dump_msg(buf, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC), link_cb,
		     &q, "list the links", err) < 0 ||
	    nl_query(nl, dump_msg(buf, RTM_GETADDR, sizeof(struct ifaddrmsg), AF_INET), addr_cb,
		     &q, "list the addresses", err) < 0 ||
	    nl_query(nl, dump_msg(buf, RTM_GETROUTE, sizeof(struct rtmsg), AF_INET), route_cb,
		     &q, "list the routes", err) < 0)
		return err_wrap(err, "read %s", name);
	return 0;
}

static int tap_up(const char *name, unsigned mtu, struct err *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	if (s < 0)
		return err_sys(err, errno, "socket");
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			return err_sys(err, errno, "set the MTU of %s to %u", name, mtu);
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_sys(err, errno, "read the flags of %s", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_sys(err, errno, "bring %s up", name);
	return 0;
}

int net_tap_create(const char *name, unsigned mtu, struct err *err)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	struct ifreq ifr = { 0 };
	int hdr = VNET_HDR_LEN;

	if (fd < 0)
		return err_sys(err, errno, "open /dev/net/tun (is the tun module loaded? "
			       "'modprobe tun')");
	if (strlen(name) >= IFNAMSIZ)
		return err_set(err, "TAP name %s is too long", name);
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return err_sys(err, errno, "create TAP %s", name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return err_sys(err, errno, "set the vnet header size of TAP %s", name);
	if (tap_up(name, mtu, err) < 0)
		return -1;
	return take_fd(&fd);
}
