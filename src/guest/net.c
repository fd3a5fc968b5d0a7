#include "guest/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "guest/agent_proto.h"

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx"; a multicast address is no NIC's. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned i;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		int h = hex(s[3 * i]), l = hex(s[3 * i + 1]);

		if (h < 0 || l < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(h << 4 | l);
	}
	return mac[0] & 1 ? -1 : 0;
}

static int parse_ip(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

/* "a.b.c.d/N", N 1..32 in decimal without sign or leading junk. */
static int parse_cidr(const char *s, struct in_addr *a, unsigned *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long n;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || slash[1] < '0' || slash[1] > '9')
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno || *end || n < 1 || n > 32 || parse_ip(ip, a) < 0)
		return -1;
	*prefix = (unsigned)n;
	return 0;
}

static int parse_mtu(const char *s, unsigned *mtu)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < 68 || n > 65535)
		return -1;
	*mtu = (unsigned)n;
	return 0;
}

int agent_net_record(struct agent_net *net, unsigned tag, const char *s)
{
	if (!s)
		return -1;
	switch (tag) {
	case TAG_NET_MAC:
		if (net->has_mac || parse_mac(s, net->mac) < 0)
			return -1;
		net->has_mac = true;
		return 0;
	case TAG_NET_ADDR:
		if (net->has_addr || parse_cidr(s, &net->addr, &net->prefix) < 0)
			return -1;
		net->has_addr = true;
		return 0;
	case TAG_NET_GATEWAY:
		if (net->has_gateway || parse_ip(s, &net->gateway) < 0)
			return -1;
		net->has_gateway = true;
		return 0;
	case TAG_NET_MTU:
		return net->mtu || parse_mtu(s, &net->mtu) < 0 ? -1 : 0;
	default:
		return -1;
	}
}

int agent_net_check(const struct agent_net *net)
{
	if (net->has_addr != net->has_mac)
		return -1;
	if (!net->has_addr && (net->has_gateway || net->mtu))
		return -1;
	return 0;
}

/* The interface with this MAC, its name in ifr->ifr_name. */
static int find_by_mac(int sock, const uint8_t mac[6], struct ifreq *ifr)
{
	struct if_nameindex *all = if_nameindex(), *i;
	int r = -1;

	for (i = all; i && i->if_index; i++) {
		memset(ifr, 0, sizeof(*ifr));
		snprintf(ifr->ifr_name, IFNAMSIZ, "%s", i->if_name);
		if (ioctl(sock, SIOCGIFHWADDR, ifr) == 0 &&
		    !memcmp(ifr->ifr_hwaddr.sa_data, mac, 6)) {
			r = 0;
			break;
		}
	}
	if (all)
		if_freenameindex(all);
	return r;
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memcpy(sa, &sin, sizeof(sin));
}

static int configure(int sock, const struct agent_net *net, struct ifreq *ifr, const char **what)
{
	struct in_addr mask = { htonl(net->prefix == 32 ? 0xffffffffu :
				      ~(0xffffffffu >> net->prefix)) };
	struct rtentry rt = { 0 };

	*what = "the NIC: set its MTU";
	if (net->mtu && (ifr->ifr_mtu = (int)net->mtu, ioctl(sock, SIOCSIFMTU, ifr) < 0))
		return -1;
	*what = "the NIC: set its address";
	set_sin(&ifr->ifr_addr, net->addr);
	if (ioctl(sock, SIOCSIFADDR, ifr) < 0)
		return -1;
	*what = "the NIC: set its netmask";
	set_sin(&ifr->ifr_netmask, mask);
	if (ioctl(sock, SIOCSIFNETMASK, ifr) < 0)
		return -1;
	*what = "the NIC: bring it up";
	if (ioctl(sock, SIOCGIFFLAGS, ifr) < 0)
		return -1;
	ifr->ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, ifr) < 0)
		return -1;
	if (!net->has_gateway)
		return 0;
	*what = "the NIC: add the default route";
	set_sin(&rt.rt_dst, (struct in_addr){ 0 });
	set_sin(&rt.rt_genmask, (struct in_addr){ 0 });
	set_sin(&rt.rt_gateway, net->gateway);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = ifr->ifr_name;
	return ioctl(sock, SIOCADDRT, &rt);
}

int agent_net_setup(const struct agent_net *net, const char **what)
{
	struct ifreq ifr;
	int sock, r, tries;

	if (!net->has_addr)
		return 0;
	*what = "the NIC: open a socket";
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	/* The driver binds as its module loads; give a slow probe a second. */
	for (tries = 0; (r = find_by_mac(sock, net->mac, &ifr)) < 0 && tries < 100; tries++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (r < 0) {
		*what = "the NIC: find the network device (is virtio_net in the initramfs?)";
		errno = ENODEV;
	} else {
		r = configure(sock, net, &ifr, what);
	}
	{
		int e = errno;

		close(sock);
		errno = e;
	}
	return r;
}
