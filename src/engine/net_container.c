/* A container's place on a network (network.h): at start, its netns (a bind
 * mount at ROOT/netns/<id>), a veth pair with eth0 inside, a leased address,
 * the default route, the bridge and the network's firewall rules when they
 * are missing; at stop, all of it undone. What needs no record is derived
 * from the container id (the host veth is "veth" + id[0..10]), so a teardown
 * after a kill -9 needs nothing but the id. */
#include "engine/network.h"
#include "engine/network_store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/container.h"
#include "net/firewall.h"
#include "net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/loopback.h"

static bool mode_is_network(const char *mode)
{
	return mode && strcmp(mode, "none") && strcmp(mode, "host") &&
	       strncmp(mode, "container:", 10);
}

char *net_netns_path(const char *root, const char *id, const char *mode)
{
	return mode_is_network(mode) ? xasprintf("%s/netns/%s", root, id) : NULL;
}

char *net_lock_path(const char *container_dir)
{
	return xasprintf("%s/net.lock", container_dir);
}

static int mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 || strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	/* A multicast address cannot be an interface's. */
	return mac[0] & 1 ? -1 : 0;
}

int net_mode_resolve(const char *root, const char *asked, const char *ip, const char *mac,
		     char **mode_out, struct err *err)
{
	_cleanup_json_ json_t *net = NULL;
	uint8_t m[6];
	uint32_t a;

	if (!asked)
		asked = NETWORK_DEFAULT;
	if (mac && mac_parse(mac, m) < 0)
		return err_set(err, "invalid argument \"%s\" for \"--mac-address\" flag: "
			       "invalid MAC address", mac);
	if (ip && ip_parse(ip, &a) < 0)
		return err_set(err, "invalid argument \"%s\" for \"--ip\" flag: invalid IPv4 "
			       "address", ip);
	if (!strncmp(asked, "container:", 10)) {
		struct container other;

		if ((ip || mac))
			return err_set(err, "conflicting options: ip or mac-address and the "
				       "network mode");
		if (container_find(root, asked + 10, &other, err) < 0)
			return err_wrap(err, "--network %s", asked);
		*mode_out = xasprintf("container:%s", other.id);
		container_free(&other);
		return 0;
	}
	if (!strcmp(asked, "none") || !strcmp(asked, "host")) {
		if (ip || mac)
			return err_set(err, "conflicting options: ip or mac-address and the "
				       "network mode");
		*mode_out = xstrdup(asked);
		return 0;
	}
	if (network_load(root, asked, &net, err) < 0) {
		err_clear(err);
		return err_set(err, "network %s not found", asked);
	}
	if (ip && !strcmp(asked, NETWORK_DEFAULT))
		return err_set(err, "user specified IP address is supported on user defined "
			       "networks only");
	*mode_out = xstrdup(json_string_value(json_object_get(net, "Name")));
	return 0;
}

json_t *net_endpoint_empty(const char *network_id, const char *ip, const char *mac)
{
	return json_pack("{s:o, s:n, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:n}",
			 "IPAMConfig", ip ? json_pack("{s:s}", "IPv4Address", ip) : json_null(),
			 "Links", "Aliases", "NetworkID", network_id, "EndpointID", "",
			 "Gateway", "", "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
			 "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "MacAddress",
			 "", "DriverOpts");
}

/* docker's NetworkSettings, empty but for the networks asked for. */
json_t *net_settings_initial(const char *root, const char *mode, const char *ip,
			     const char *mac)
{
	json_t *nets = json_object();
	_cleanup_json_ json_t *net = NULL;

	if (mode && strncmp(mode, "container:", 10) &&
	    network_load(root, mode, &net, &(struct err){ 0 }) == 0)
		json_object_set_new(nets, mode,
				    net_endpoint_empty(json_string_value(json_object_get(net, "Id")),
						   ip, mac));
	return json_pack("{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i,"
			 " s:s, s:i, s:s, s:s, s:o}",
			 "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address",
			 "", "LinkLocalIPv6PrefixLen", 0, "Ports", json_object(), "SandboxKey", "",
			 "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "",
			 "Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
			 "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "",
			 "Networks", nets);
}

static void veth_name(const char *id, char out[16])
{
	snprintf(out, 16, "veth%.10s", id);
}

/* The host side of ethN: eth0's is veth_name's, ethN's "v<id[0:10]>.N", so a
 * teardown finds every one from the id alone. */
static void veth_name_n(const char *id, unsigned n, char out[16])
{
	if (n == 0)
		veth_name(id, out);
	else
		snprintf(out, 16, "v%.10s.%u", id, n % NET_MAX_IFACES);
}

/* Which ethN each network got: "N NETWORK-ID" lines in the container's
 * net-ifaces, written at start and connect, so a disconnect deletes the
 * right veth. */
static char *ifaces_path(const char *dir)
{
	return xasprintf("%s/net-ifaces", dir);
}

static int ifaces_find(const char *dir, const char *net_id)
{
	_cleanup_free_ char *path = ifaces_path(dir), *text = NULL;
	char *line, *save;

	if (read_file(path, 1 << 16, &text, NULL, &(struct err){ 0 }) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned n;
		char id[65];

		if (sscanf(line, "%u %64s", &n, id) == 2 && n < NET_MAX_IFACES &&
		    !strcmp(id, net_id))
			return (int)n;
	}
	return -1;
}

/* Drop net_id's line, then add "n net_id" unless n < 0. */
static int ifaces_set(const char *dir, const char *net_id, int n, struct err *err)
{
	_cleanup_free_ char *path = ifaces_path(dir), *text = NULL, *out = xstrdup("");
	char *line, *save, *next;

	if (read_file(path, 1 << 16, &text, NULL, &(struct err){ 0 }) < 0)
		text = xstrdup("");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char id[65];
		unsigned m;

		if (sscanf(line, "%u %64s", &m, id) != 2 || !strcmp(id, net_id))
			continue;
		next = xasprintf("%s%u %s\n", out, m, id);
		free(out);
		out = next;
	}
	if (n >= 0) {
		next = xasprintf("%s%d %s\n", out, n, net_id);
		free(out);
		out = next;
	}
	return write_file_replace(path, out, strlen(out), 0600, err);
}

int net_iface_free(const char *dir, const char *id)
{
	_cleanup_free_ char *path = ifaces_path(dir), *text = NULL;
	bool used[NET_MAX_IFACES] = { false };
	char *line, *save;
	unsigned n;

	if (read_file(path, 1 << 16, &text, NULL, &(struct err){ 0 }) == 0)
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (sscanf(line, "%u", &n) == 1 && n < NET_MAX_IFACES)
				used[n] = true;
	for (n = 1; n < NET_MAX_IFACES; n++) {
		char veth[16];

		veth_name_n(id, n, veth);
		if (!used[n] && !nl_link_index(veth))
			return (int)n;
	}
	return -1;
}

static char *tag_container(const char *id)
{
	return xasprintf("isobox-ctr-%.12s", id);
}

static char *tag_network(const char *id)
{
	return xasprintf("isobox-net-%.12s", id);
}

/* --- leases: "IP CONTAINER-ID" lines in ROOT/networks/<id>.leases --- */

struct lease_set {
	uint32_t ip[4096];
	char owner[4096][65];
	size_t n;
};

static bool lease_live(const char *root, const char *cid)
{
	_cleanup_free_ char *ns = xasprintf("%s/netns/%s", root, cid);

	return access(ns, F_OK) == 0;
}

static void leases_read(const char *root, const char *path, struct lease_set *ls)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save;

	ls->n = 0;
	if (read_file(path, 1 << 20, &text, NULL, &(struct err){ 0 }) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line && ls->n < 4096;
	     line = strtok_r(NULL, "\n", &save)) {
		char ip[INET_ADDRSTRLEN + 1], cid[65];

		/* Hostile or torn lines are dropped, as a stale lease is. */
		if (sscanf(line, "%16s %64s", ip, cid) != 2 || strlen(cid) != 64 ||
		    strspn(cid, "0123456789abcdef") != 64 || ip_parse(ip, &ls->ip[ls->n]) < 0 ||
		    !lease_live(root, cid))
			continue;
		memcpy(ls->owner[ls->n++], cid, 65);
	}
}

static int leases_write(const char *path, const struct lease_set *ls, struct err *err)
{
	_cleanup_free_ char *text = xstrdup("");
	size_t i;

	for (i = 0; i < ls->n; i++) {
		char ip[INET_ADDRSTRLEN], *next;

		ip_format(ls->ip[i], ip);
		next = xasprintf("%s%s %s\n", text, ip, ls->owner[i]);
		free(text);
		text = next;
	}
	return write_file_replace(path, text, strlen(text), 0600, err);
}

static bool leased(const struct lease_set *ls, uint32_t ip)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (ls->ip[i] == ip)
			return true;
	return false;
}

static int lease_take(const char *root, const char *net_id, const char *cid, const char *want,
		      uint32_t subnet, int prefix, uint32_t gateway, uint32_t *ip,
		      struct err *err)
{
	_cleanup_free_ char *path = network_path(root, net_id, ".leases");
	_cleanup_free_ struct lease_set *ls = xmalloc(sizeof(*ls));
	uint32_t last = subnet | (prefix == 32 ? 0 : ~(0xffffffffu << (32 - prefix)));
	uint32_t a;

	leases_read(root, path, ls);
	if (want) {
		if (ip_parse(want, &a) < 0 || (a & (0xffffffffu << (32 - prefix))) != subnet)
			return err_set(err, "no configured subnet contains IP address %s", want);
		if (a == subnet || a == last || a == gateway)
			return err_set(err, "address %s is reserved on this network", want);
		if (leased(ls, a))
			return err_set(err, "Address already in use: %s", want);
	} else {
		for (a = subnet + 1; a < last; a++)
			if (a != gateway && !leased(ls, a))
				break;
		if (a >= last)
			return err_set(err, "no available IPv4 addresses on this network's address "
				       "pools");
	}
	if (ls->n >= 4096)
		return err_set(err, "too many leases on this network");
	ls->ip[ls->n] = a;
	snprintf(ls->owner[ls->n++], 65, "%s", cid);
	*ip = a;
	return leases_write(path, ls, err);
}

/* Drop cid's lease on one network (its id), under the network's lock. */
static void lease_release_net(const char *root, const char *net_id, const char *cid)
{
	_cleanup_free_ char *path = network_path(root, net_id, ".leases");
	_cleanup_free_ char *lock = network_path(root, net_id, ".lock");
	_cleanup_free_ struct lease_set *ls = xmalloc(sizeof(*ls));
	_cleanup_close_ int fd = lock_path(lock, LOCK_EX, &(struct err){ 0 });
	size_t i, j;

	if (fd < 0 || access(path, F_OK) < 0)
		return;         /* unlocked: leases_read drops it once the netns is gone */
	leases_read(root, path, ls);
	for (i = j = 0; i < ls->n; i++)
		if (strcmp(ls->owner[i], cid)) {
			ls->ip[j] = ls->ip[i];
			memcpy(ls->owner[j++], ls->owner[i], 65);
		}
	ls->n = j;
	leases_write(path, ls, &(struct err){ 0 });
}

/* Drop cid's leases from every network. */
static void leases_release(const char *root, const char *cid)
{
	_cleanup_free_ char *dir = xasprintf("%s/networks", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char net_id[65];

		if (strlen(de->d_name) != 71 || strcmp(de->d_name + 64, ".leases"))
			continue;
		snprintf(net_id, sizeof(net_id), "%.64s", de->d_name);
		lease_release_net(root, net_id, cid);
	}
}

/* --- the host side: the bridge and the network's rules --- */

static int sysctl_set(const char *path, const char *value, struct err *err)
{
	return write_file(path, value, err);
}

static int bridge_ensure(struct nl *nl, json_t *net, const char *bridge, uint32_t subnet,
			 int prefix, uint32_t gateway, struct err *err)
{
	_cleanup_free_ char *tag = tag_network(json_string_value(json_object_get(net, "Id")));
	_cleanup_free_ char *rules = NULL, *isolate = NULL;
	char sub[INET_ADDRSTRLEN];
	struct in_addr gw = { htonl(gateway) };

	if (nl_link_index(bridge))
		return 0;
	if (nl_bridge_add(nl, bridge, network_mtu(net), err) < 0 && err->errnum != EEXIST)
		return -1;
	err_clear(err);
	if (nl_addr_add(nl, bridge, gw, prefix, err) < 0 || nl_link_set_up(nl, bridge, err) < 0)
		return -1;
	if (sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
		return -1;
	ip_format(subnet, sub);
	/* Replaced, not added, so that a bridge made again has one set of rules. */
	fw_delete_tagged(tag, &(struct err){ 0 });
	/* As docker's isolation chains: nothing is forwarded from this bridge to
	 * another network's. */
	isolate = xasprintf("add element ip " FW_TABLE " bridges { \"%s\" }\n"
			    "add rule ip " FW_TABLE " forward iifname \"%s\" oifname @bridges "
			    "oifname != \"%s\" drop comment \"%s\"\n",
			    bridge, bridge, bridge, tag);
	if (json_is_true(json_object_get(net, "Internal")))
		rules = xasprintf("%sadd rule ip " FW_TABLE " forward iifname \"%s\" oifname != \"%s\" "
				  "drop comment \"%s\"\n"
				  "add rule ip " FW_TABLE " forward oifname \"%s\" iifname != \"%s\" "
				  "drop comment \"%s\"\n",
				  isolate, bridge, bridge, tag, bridge, bridge, tag);
	else
		rules = xasprintf("%sadd rule ip " FW_TABLE " postrouting ip saddr %s/%d oifname != "
				  "\"%s\" masquerade comment \"%s\"\n",
				  isolate, sub, prefix, bridge, tag);
	return fw_apply(rules, err);
}

/* --- the netns --- */

static int netns_create(const char *path, struct err *err)
{
	_cleanup_close_ int fd = -1;
	int status, p[2];
	char msg[256] = "";
	ssize_t n;
	pid_t pid;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return err_sys(err, errno, "create %s", path);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0) {
		int e = 0;
		const char *what = "";

		close(p[0]);
		if (unshare(CLONE_NEWNET) < 0)
			e = errno, what = "unshare a network namespace";
		else if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
			e = errno, what = "bind-mount the network namespace";
		else if (loopback_up() < 0)
			e = errno, what = "bring up lo";
		if (e)
			dprintf(p[1], "%s: %s", what, strerror(e));
		_exit(e ? 1 : 0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[n > 0 ? n : 0] = '\0';
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(err, "%s", *msg ? msg : "make the network namespace");
	return 0;
}

static void netns_remove(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}

struct eth0_conf {
	uint32_t ip, gateway;
	int prefix;
	bool route;
};

/* Inside the netns (a child joins it): ethN's address, up, the default route. */
static int eth_configure(const char *netns, const char *ifname, const struct eth0_conf *ec,
			 struct err *err)
{
	int status, p[2];
	char msg[512] = "";
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0) {
		struct err e = { 0 };
		struct nl nl = { 0 };
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		struct in_addr a = { htonl(ec->ip) }, g = { htonl(ec->gateway) };

		close(p[0]);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			err_sys(&e, errno, "join %s", netns);
		else if (nl_open(&nl, &e) == 0 && nl_addr_add(&nl, ifname, a, ec->prefix, &e) == 0 &&
			 nl_link_set_up(&nl, ifname, &e) == 0 && ec->route)
			nl_route_add_default(&nl, ifname, g, &e);
		if (e.kind)
			dprintf(p[1], "%s", e.msg);
		_exit(e.kind ? 1 : 0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[n > 0 ? n : 0] = '\0';
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(err, "configure %s: %s", ifname, *msg ? msg : "failed");
	return 0;
}

/* --- setup and teardown --- */

bool net_container_hyperv(const struct container *c)
{
	json_t *hc = json_object_get(c->record, "HostConfig");

	return !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "", "hyperv");
}

size_t net_count(json_t *nets)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(nets, k, v)
		n += strcmp(k, "none") && strcmp(k, "host");
	return n;
}

static int record_save(const char *dir, json_t *rec, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/container.json", dir);

	return json_save_replace(path, rec, err);
}

/* docker's MAC for an address: 02:42 and the address's four bytes. */
static void mac_from_ip(uint32_t ip, char out[18])
{
	snprintf(out, 18, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
}

static void settings_fill(json_t *ns, json_t *net, const char *name, const char *cid,
			  const char *netns, uint32_t ip, int prefix, uint32_t gateway,
			  bool route, const char *mac)
{
	json_t *ep = json_object_get(json_object_get(ns, "Networks"), name);
	char ip_txt[INET_ADDRSTRLEN], gw_txt[INET_ADDRSTRLEN], eid[65];

	ip_format(ip, ip_txt);
	ip_format(gateway, gw_txt);
	if (!route)
		gw_txt[0] = '\0';
	snprintf(eid, sizeof(eid), "%s", cid);
	if (!ep) {
		ep = net_endpoint_empty(json_string_value(json_object_get(net, "Id")), NULL, NULL);
		json_object_set_new(json_object_get(ns, "Networks"), name, ep);
	}
	json_object_set_new(ep, "NetworkID", json_string(json_string_value(json_object_get(net, "Id"))));
	json_object_set_new(ep, "EndpointID", json_string(eid));
	json_object_set_new(ep, "Gateway", json_string(gw_txt));
	json_object_set_new(ep, "IPAddress", json_string(ip_txt));
	json_object_set_new(ep, "IPPrefixLen", json_integer(prefix));
	json_object_set_new(ep, "MacAddress", json_string(mac));
	json_object_set_new(ns, "SandboxID", json_string(cid));
	/* docker's alias on a user network: the short id. */
	if (strcmp(name, NETWORK_DEFAULT)) {
		json_t *aliases = json_object_get(ep, "Aliases"), *a;
		char short_id[13];
		size_t i;

		snprintf(short_id, sizeof(short_id), "%.12s", cid);
		if (!json_is_array(aliases)) {
			aliases = json_array();
			json_object_set_new(ep, "Aliases", aliases);
		}
		json_array_foreach(aliases, i, a)
			if (!strcmp(json_string_value(a) ?: "", short_id))
				break;
		if (i == json_array_size(aliases))
			json_array_append_new(aliases, json_string(short_id));
	}
	json_object_set_new(ns, "SandboxKey", json_string(netns));
	/* docker fills the top-level copy for the default bridge only. */
	if (!strcmp(name, NETWORK_DEFAULT)) {
		json_object_set_new(ns, "EndpointID", json_string(eid));
		json_object_set_new(ns, "Gateway", json_string(gw_txt));
		json_object_set_new(ns, "IPAddress", json_string(ip_txt));
		json_object_set_new(ns, "IPPrefixLen", json_integer(prefix));
		json_object_set_new(ns, "MacAddress", json_string(mac));
	}
}

/* What start gave, cleared as docker 20.10 does at stop (it keeps the
 * sandbox's id and key, and what was asked). */
static void settings_clear(json_t *ns)
{
	static const char *const strs[] = { "EndpointID", "Gateway", "IPAddress", "MacAddress" };
	json_t *ep;
	const char *k;
	size_t i;

	if (!json_is_object(ns))
		return;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		json_object_set_new(ns, strs[i], json_string(""));
	json_object_set_new(ns, "IPPrefixLen", json_integer(0));
	json_object_set_new(ns, "Ports", json_object());
	json_object_foreach(json_object_get(ns, "Networks"), k, ep) {
		json_t *asked = json_object_get(ep, "IPAMConfig");

		json_object_set_new(ep, "EndpointID", json_string(""));
		json_object_set_new(ep, "Gateway", json_string(""));
		json_object_set_new(ep, "IPAddress", json_string(""));
		json_object_set_new(ep, "IPPrefixLen", json_integer(0));
		(void)asked;
		json_object_set_new(ep, "MacAddress", json_string(""));
	}
}

/* docker's /etc/hosts for a container with addresses: the loopback names and
 * "IP\tHOSTNAME" for each network's address, in the networks' order; the
 * lines of an earlier start or connect are replaced. Written in place: a
 * running container has the file bind-mounted (connect, disconnect). */
int net_hosts_refresh(struct container *c, struct err *err)
{
	const char *hostname = json_string_value(json_object_get(
		json_object_get(c->record, "Config"), "Hostname")) ?: c->id;
	json_t *nets = json_object_get(json_object_get(c->record, "NetworkSettings"), "Networks");
	_cleanup_free_ char *path = xasprintf("%s/hosts", c->dir), *text = NULL;
	_cleanup_free_ char *out = xstrdup(""), *suffix = xasprintf("\t%s", hostname);
	_cleanup_close_ int fd = -1;
	char *line, *save, *next;
	const char *k;
	json_t *ep;

	if (read_file(path, 1 << 20, &text, NULL, err) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line), s = strlen(suffix);

		if (n > s && !strcmp(line + n - s, suffix) && strchr("0123456789", line[0]))
			continue;
		next = xasprintf("%s%s\n", out, line);
		free(out);
		out = next;
	}
	json_object_foreach(nets, k, ep) {
		const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
		uint32_t a;

		if (!ip || ip_parse(ip, &a) < 0)
			continue;
		next = xasprintf("%s%s\t%s\n", out, ip, hostname);
		free(out);
		out = next;
	}
	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || write(fd, out, strlen(out)) != (ssize_t)strlen(out))
		return err_sys(err, errno, "write %s", path);
	return 0;
}

/* On a user network the container resolves names through aardvark-dns on
 * its gateway: resolv.conf names it, the host's search and options kept. */
static int resolv_conf_gateway(const char *dir, uint32_t gateway, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/resolv.conf", dir), *host = NULL;
	_cleanup_free_ char *out = NULL;
	char gw[INET_ADDRSTRLEN], *line, *save, *next;

	ip_format(gateway, gw);
	out = xasprintf("nameserver %s\n", gw);
	/* the search and options lines written at create (--dns-search, ...) */
	if (read_file(path, 1 << 16, &host, NULL, &(struct err){ 0 }) == 0) {
		for (line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "search", 6) && strncmp(line, "options", 7))
				continue;
			next = xasprintf("%s%s\n", out, line);
			free(out);
			out = next;
		}
	}
	/* in place: a running container has the file bind-mounted (connect) */
	{
		_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_NOFOLLOW |
					      O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, out, strlen(out)) != (ssize_t)strlen(out))
			return err_sys(err, errno, "write %s", path);
	}
	return 0;
}

static int dns_register(const char *root, struct container *c, const char *network,
			uint32_t gateway, uint32_t ip, bool resolv, struct err *err)
{
	const char *name = json_string_value(json_object_get(c->record, "Name")) ?: "";
	json_t *aliases = json_object_get(json_object_get(json_object_get(json_object_get(
		c->record, "NetworkSettings"), "Networks"), network), "Aliases"), *a;
	char gw[INET_ADDRSTRLEN], ip_txt[INET_ADDRSTRLEN];
	_cleanup_free_ char *names = xasprintf("%s", name);
	size_t i;

	/* name, aliases (the short id among them): aardvark's comma list, each
	 * a DNS label a hostile record cannot break out of */
	json_array_foreach(aliases, i, a) {
		const char *s = json_string_value(a);
		char *next;

		if (!s || !*s || strpbrk(s, " ,\n\t") || strlen(s) > 253)
			continue;
		next = xasprintf("%s%s%s", names, *names ? "," : "", s);
		free(names);
		names = next;
	}

	if (!net_dns_available())
		return 0;
	ip_format(gateway, gw);
	ip_format(ip, ip_txt);
	if (resolv && resolv_conf_gateway(c->dir, gateway, err) < 0)
		return -1;
	return net_dns_add(root, network, gw, c->id, ip_txt, names, err);
}

/* Whether another of the container's networks than name is a user network
 * with an address: resolv.conf already names its gateway then. */
static bool named_elsewhere(json_t *nets, const char *name)
{
	const char *k;
	json_t *ep;

	json_object_foreach(nets, k, ep) {
		const char *ip = json_string_value(json_object_get(ep, "IPAddress"));

		if (strcmp(k, name) && !network_is_predefined(k) && ip && *ip)
			return true;
	}
	return false;
}

int net_endpoint_attach(const char *root, struct container *c, const char *name, unsigned n,
			bool route, uint32_t *ip_out, struct err *err)
{
	json_t *ns = json_object_get(c->record, "NetworkSettings");
	json_t *nets = json_object_get(ns, "Networks");
	json_t *ep = json_object_get(nets, name);
	const char *want = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"),
							     "IPv4Address"));
	/* docker 20.10 keeps --mac-address in Config.MacAddress; it is eth0's */
	const char *asked_mac = n ? NULL : json_string_value(
		json_object_get(json_object_get(c->record, "Config"), "MacAddress"));
	_cleanup_json_ json_t *net = NULL;
	_cleanup_free_ char *netns = xasprintf("%s/netns/%s", root, c->id), *lock = NULL;
	_cleanup_close_ int lfd = -1, nsfd = -1;
	struct nl nl = { 0 };
	struct eth0_conf ec;
	char bridge_buf[16], veth[16], ifname[16], mac[18];
	const char *bridge, *net_id;
	uint8_t macb[6];
	uint32_t subnet, gateway, ip = 0;
	int prefix, r = -1;
	bool leased_here = false;

	if (network_load(root, name, &net, err) < 0 ||
	    network_subnet(net, &subnet, &prefix, &gateway, err) < 0)
		return err_wrap(err, "network %s", name);
	net_id = json_string_value(json_object_get(net, "Id"));
	bridge = network_bridge_name(net, bridge_buf);
	veth_name_n(c->id, n, veth);
	snprintf(ifname, sizeof(ifname), "eth%u", n);
	lock = network_path(root, net_id, ".lock");
	lfd = lock_path(lock, LOCK_EX, err);
	if (lfd < 0)
		return -1;
	if (lease_take(root, net_id, c->id, want, subnet, prefix, gateway, &ip, err) < 0)
		goto out;
	leased_here = true;
	if (asked_mac && *asked_mac)
		snprintf(mac, sizeof(mac), "%s", asked_mac);
	else
		mac_from_ip(ip, mac);
	if (mac_parse(mac, macb) < 0) {
		err_set(err, "invalid MAC address %s", mac);
		goto out;
	}
	nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		err_sys(err, errno, "open %s", netns);
		goto out;
	}
	ec = (struct eth0_conf){ .ip = ip, .gateway = gateway, .prefix = prefix,
				 .route = route && !json_is_true(json_object_get(net, "Internal")) };
	if (nl_open(&nl, err) < 0 || bridge_ensure(&nl, net, bridge, subnet, prefix, gateway, err) < 0 ||
	    nl_veth_add(&nl, veth, ifname, nsfd, macb, network_mtu(net), err) < 0 ||
	    nl_link_set_master(&nl, veth, bridge, err) < 0 ||
	    nl_link_set_hairpin(&nl, veth, err) < 0 || nl_link_set_up(&nl, veth, err) < 0 ||
	    eth_configure(netns, ifname, &ec, err) < 0)
		goto out;
	/* DNAT of 127.0.0.1 to a container: the kernel routes it out the bridge. */
	{
		_cleanup_free_ char *rl = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet",
						    bridge);

		if (sysctl_set(rl, "1", err) < 0)
			goto out;
	}
	settings_fill(ns, net, name, c->id, netns, ip, prefix, gateway, ec.route, mac);
	/* names on user networks only, as docker's default bridge has none */
	if (strcmp(name, NETWORK_DEFAULT) &&
	    dns_register(root, c, name, gateway, ip, !named_elsewhere(nets, name), err) < 0)
		goto out;
	if (ifaces_set(c->dir, net_id, (int)n, err) < 0)
		goto out;
	*ip_out = ip;
	r = 0;
out:
	if (r < 0 && leased_here) {
		if (nl.sock)
			nl_link_del(&nl, veth, &(struct err){ 0 });
		close(lfd);
		lfd = -1;
		lease_release_net(root, net_id, c->id);
		net_dns_remove_one(root, name, c->id);
	}
	nl_close(&nl);
	return r;
}

void net_endpoint_detach(const char *root, struct container *c, const char *name,
			 const char *net_id)
{
	int n = net_id ? ifaces_find(c->dir, net_id) : -1;
	struct nl nl = { 0 };
	char veth[16];

	if (n >= 0) {
		veth_name_n(c->id, (unsigned)n, veth);
		if (nl_link_index(veth) && nl_open(&nl, &(struct err){ 0 }) == 0) {
			nl_link_del(&nl, veth, &(struct err){ 0 });
			nl_close(&nl);
		}
	}
	if (net_id) {
		ifaces_set(c->dir, net_id, -1, &(struct err){ 0 });
		lease_release_net(root, net_id, c->id);
	}
	if (!network_is_predefined(name))
		net_dns_remove_one(root, name, c->id);
}

static int setup_network(const char *root, struct container *c, struct err *err)
{
	json_t *ns = json_object_get(c->record, "NetworkSettings");
	json_t *nets = json_object_get(ns, "Networks"), *ep;
	_cleanup_free_ char *netns = xasprintf("%s/netns/%s", root, c->id);
	_cleanup_free_ char *nsdir = xasprintf("%s/netns", root);
	_cleanup_free_ char *netdir = xasprintf("%s/networks", root);
	_cleanup_free_ char *ifaces = ifaces_path(c->dir);
	const char *name;
	unsigned n = 0;
	bool routed = false;
	int r = -1;

	if (mkdir_p(nsdir, 0700, err) < 0 || mkdir_p(netdir, 0700, err) < 0)
		return -1;
	/* What a killed monitor of this very container left: reconcile skips it,
	 * since its start (this one) holds its net.lock. */
	if (access(netns, F_OK) == 0)
		net_container_teardown(root, c->dir, &(struct err){ 0 });
	unlink(ifaces);
	if (netns_create(netns, err) < 0) {
		unlink(netns);
		return -1;
	}
	json_object_set_new(ns, "SandboxID", json_string(c->id));
	json_object_set_new(ns, "SandboxKey", json_string(netns));
	/* eth0, eth1, ... in the order the networks were connected, as docker */
	json_object_foreach(nets, name, ep) {
		uint32_t ip;

		if (!strcmp(name, "none") || !strcmp(name, "host"))
			continue;
		if (n >= NET_MAX_IFACES) {
			err_set(err, "a container has at most %d networks", NET_MAX_IFACES);
			goto fail;
		}
		/* the default route goes out the first network that has one */
		if (net_endpoint_attach(root, c, name, n, !routed, &ip, err) < 0)
			goto fail;
		routed = routed || (json_string_value(json_object_get(ep, "Gateway")) ?: "")[0];
		if (n == 0) {
			_cleanup_free_ char *tag = tag_container(c->id);

			int prefix = json_integer_value(json_object_get(ep, "IPPrefixLen"));

			if (net_ports_publish(root, c->record, c->id, ip, prefix, tag, err) < 0)
				goto fail;
		}
		n++;
	}
	if ((n && net_hosts_refresh(c, err) < 0) || record_save(c->dir, c->record, err) < 0)
		goto fail;
	r = 0;
fail:
	if (r < 0)
		net_container_teardown(root, c->dir, &(struct err){ 0 });
	return r;
}

/* --network container:ID: the other's netns, which must be there. */
static int setup_joined(const char *root, struct container *c, const char *other_id,
			struct err *err)
{
	_cleanup_free_ char *cfg_path = xasprintf("%s/config.json", c->dir);
	_cleanup_json_ json_t *cfg = NULL;
	struct container other;
	char path[64];
	json_t *nsl, *ns;
	size_t i;
	int pid;

	if (container_find(root, other_id, &other, err) < 0)
		return err_wrap(err, "cannot join the network of container %s", other_id);
	{
		_cleanup_json_ json_t *j = NULL;

		if (container_inspect(&other, &j, err) < 0) {
			container_free(&other);
			return -1;
		}
		pid = (int)json_integer_value(json_object_get(json_object_get(j, "State"), "Pid"));
	}
	container_free(&other);
	if (pid <= 0)
		return err_set(err, "cannot join network of a non running container: %s",
			       other_id);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (json_load_path(cfg_path, &cfg, err) < 0)
		return -1;
	nsl = json_object_get(json_object_get(cfg, "linux"), "namespaces");
	json_array_foreach(nsl, i, ns)
		if (!strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network"))
			json_object_set_new(ns, "path", json_string(path));
	return json_save_replace(cfg_path, cfg, err);
}

int net_container_setup(const char *root, struct container *c, struct err *err)
{
	const char *mode = json_string_value(
		json_object_get(json_object_get(c->record, "HostConfig"), "NetworkMode"));

	if (!mode || !strcmp(mode, "none") || !strcmp(mode, "host"))
		return 0;
	if (!strncmp(mode, "container:", 10))
		return setup_joined(root, c, mode + 10, err);
	net_reconcile(root);
	if (net_container_hyperv(c) && net_count(json_object_get(json_object_get(
		    c->record, "NetworkSettings"), "Networks")) > 1)
		return err_set(err, NET_HYPERV_ONE);
	return setup_network(root, c, err);
}

/* The veth's deletion (the kernel waits ~20 ms for RCU there), then the netns
 * mount and the lease, which stays taken until the veth is gone. */
static void teardown_link(const char *root, const char *id, const char *netns)
{
	struct nl nl = { 0 };
	unsigned n;

	for (n = 0; n < NET_MAX_IFACES; n++) {
		char veth[16];

		veth_name_n(id, n, veth);
		if (!nl_link_index(veth))
			continue;
		if (!nl.sock && nl_open(&nl, &(struct err){ 0 }) < 0)
			break;
		nl_link_del(&nl, veth, &(struct err){ 0 });
	}
	nl_close(&nl);
	netns_remove(netns);
	leases_release(root, id);
}

static int teardown(const char *root, const char *container_dir, bool background,
		    struct err *err)
{
	const char *id = strrchr(container_dir, '/') ? strrchr(container_dir, '/') + 1
						      : container_dir;
	_cleanup_free_ char *netns = xasprintf("%s/netns/%s", root, id);
	_cleanup_free_ char *tag = tag_container(id);
	_cleanup_free_ char *rec_path = xasprintf("%s/container.json", container_dir);
	_cleanup_json_ json_t *rec = NULL;
	pid_t pid;

	if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return err_set(err, "not a container directory: %s", container_dir);
	/* Nothing was set up (none, host, container:, never started). */
	if (access(netns, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (net_ports_release(root, id))
		fw_delete_tagged(tag, &(struct err){ 0 });
	net_dns_remove(root, id);
	if (!background || (pid = fork()) < 0) {
		teardown_link(root, id, netns);
	} else if (pid == 0) {
		/* Detached, holding only the container's net.lock (inherited), so
		 * reconcile waits for it and no caller waits on a pipe it holds. */
		if (fork() == 0) {
			_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
			struct dirent *de;
			char link[PATH_MAX];

			setsid();
			while (d && (de = readdir(d))) {
				int fd = atoi(de->d_name);
				ssize_t n;
				_cleanup_free_ char *p = xasprintf("/proc/self/fd/%s", de->d_name);

				if (de->d_name[0] == '.' || fd == dirfd(d))
					continue;
				n = readlink(p, link, sizeof(link) - 1);
				link[n > 0 ? n : 0] = '\0';
				if (n < 9 || strcmp(link + n - 9, "/net.lock"))
					close(fd);
			}
			teardown_link(root, id, netns);
		}
		_exit(0);
	} else {
		waitpid(pid, NULL, 0);
	}
	if (json_load_path(rec_path, &rec, &(struct err){ 0 }) == 0) {
		json_t *ns = json_object_get(rec, "NetworkSettings");

		if (json_is_object(ns)) {
			settings_clear(ns);
			record_save(container_dir, rec, &(struct err){ 0 });
		}
	}
	return 0;
}

int net_container_teardown(const char *root, const char *container_dir, struct err *err)
{
	return teardown(root, container_dir, false, err);
}

int net_container_release(const char *root, const char *container_dir, struct err *err)
{
	return teardown(root, container_dir, true, err);
}

void net_reconcile(const char *root)
{
	_cleanup_free_ char *dir = xasprintf("%s/netns", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *cdir = NULL, *lock = NULL;
		_cleanup_close_ int fd = -1;

		if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		cdir = xasprintf("%s/containers/%s", root, de->d_name);
		lock = net_lock_path(cdir);
		fd = open(lock, O_RDWR | O_CLOEXEC);
		/* Held: its start command or its monitor lives. */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		net_container_teardown(root, cdir, &(struct err){ 0 });
	}
}
