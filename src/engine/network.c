/* The network store (network.h): ROOT/networks/<id>.json in docker's inspect
 * shape, names as symlinks ROOT/networks/names/<name> -> <id>, every change
 * under the flock of ROOT/networks/.lock so two creates cannot take one
 * subnet. bridge, host and none are built here, never stored. */
#include "engine/network.h"
#include "engine/network_store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "engine/container.h"
#include "net/firewall.h"
#include "net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/sha256.h"

static const char *const predefined[] = { "bridge", "host", "none" };

int ip_parse(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*addr = ntohl(a.s_addr);
	return 0;
}

void ip_format(uint32_t addr, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = { htonl(addr) };

	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static uint32_t prefix_mask(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int cidr_parse(const char *s, uint32_t *addr, int *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	char *end;
	long p;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1])
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (*end || errno || p < 0 || p > 32 || ip_parse(ip, addr) < 0)
		return -1;
	*prefix = (int)p;
	return 0;
}

char *network_path(const char *root, const char *id, const char *suffix)
{
	return xasprintf("%s/networks/%s%s", root, id, suffix);
}

bool network_is_predefined(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (!strcmp(name, predefined[i]))
			return true;
	return false;
}

/* A predefined network's id: stable per root, as docker's are per daemon. */
static void predefined_id(const char *root, const char *name, char out[65])
{
	struct sha256 s;

	sha256_begin(&s);
	sha256_add(&s, "isobox-network\0", 15);
	sha256_add(&s, root, strlen(root));
	sha256_add(&s, "\0", 1);
	sha256_add(&s, name, strlen(name));
	sha256_end_hex(&s, out);
}

static json_t *network_object(const char *name, const char *id, const char *created,
			      const char *driver, json_t *ipam_config, bool internal,
			      json_t *options, json_t *labels)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:o, s:o}, s:b, s:b, s:b,"
			 " s:{s:s}, s:b, s:o, s:o}",
			 "Name", name, "Id", id, "Created", created, "Scope", "local", "Driver",
			 driver, "EnableIPv6", 0, "IPAM", "Driver", "default", "Options",
			 json_object(), "Config", ipam_config, "Internal", internal, "Attachable", 0, "Ingress",
			 0, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Options", options,
			 "Labels", labels);
}

static json_t *predefined_object(const char *root, const char *name)
{
	char id[65], created[40];
	json_t *cfg = json_array(), *opts = json_object(), *net;

	predefined_id(root, name, id);
	time_rfc3339_ts(0, 0, created, sizeof(created));
	if (!strcmp(name, "bridge")) {
		json_array_append_new(cfg, json_pack("{s:s, s:s}", "Subnet",
						     NETWORK_DEFAULT_SUBNET, "Gateway",
						     "172.17.0.1"));
		json_decref(opts);
		opts = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
				 "com.docker.network.bridge.default_bridge", "true",
				 "com.docker.network.bridge.enable_icc", "true",
				 "com.docker.network.bridge.enable_ip_masquerade", "true",
				 "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0",
				 "com.docker.network.bridge.name", NETWORK_DEFAULT_BRIDGE,
				 "com.docker.network.driver.mtu", "1500");
	}
	net = network_object(name, id, created,
			     !strcmp(name, "bridge") ? "bridge" : !strcmp(name, "host") ? "host"
											: "null",
			     cfg, false, opts, json_object());
	/* docker's predefined networks have null IPAM options. */
	json_object_set_new(json_object_get(net, "IPAM"), "Options", json_null());
	return net;
}

static bool is_hex(const char *s)
{
	return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

int network_load(const char *root, const char *ref, json_t **out, struct err *err)
{
	_cleanup_free_ char *link = NULL, *dir = xasprintf("%s/networks", root);
	_cleanup_free_ char *path = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	char target[80], match[80] = "", id[65];
	struct dirent *de;
	ssize_t n;
	size_t i;
	int hits = 0;

	if (!*ref || strchr(ref, '/') || strlen(ref) > 128)
		return err_set(err, "No such network: %s", ref);
	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		predefined_id(root, predefined[i], id);
		if (!strcmp(ref, predefined[i]) ||
		    (is_hex(ref) && !strncmp(id, ref, strlen(ref)))) {
			*out = predefined_object(root, predefined[i]);
			return 0;
		}
	}
	link = xasprintf("%s/names/%s", dir, ref);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		snprintf(match, sizeof(match), "%s", target);
		hits = 1;
	} else if (is_hex(ref) && (d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len == 69 && !strcmp(de->d_name + 64, ".json") &&
			    !strncmp(de->d_name, ref, strlen(ref))) {
				snprintf(match, sizeof(match), "%.64s", de->d_name);
				hits++;
			}
		}
	}
	if (hits > 1)
		return err_set(err, "network %s is ambiguous (%d matches found based on ID prefix)",
			       ref, hits);
	if (hits == 0)
		return err_set(err, "No such network: %s", ref);
	path = network_path(root, match, ".json");
	if (json_load_path(path, out, err) < 0 || !json_is_object(*out)) {
		err_clear(err);
		return err_set(err, "No such network: %s", ref);
	}
	return 0;
}

const char *network_bridge_name(json_t *net, char buf[16])
{
	const char *name = json_string_value(json_object_get(json_object_get(net, "Options"),
							     "com.docker.network.bridge.name"));

	if (name)
		return name;
	/* docker's name for a user network's bridge: br- and its id's first 12. */
	snprintf(buf, 16, "br-%.12s", json_string_value(json_object_get(net, "Id")) ?: "");
	return buf;
}

int network_subnet(json_t *net, uint32_t *subnet, int *prefix, uint32_t *gateway,
		   struct err *err)
{
	json_t *c = json_array_get(json_object_get(json_object_get(net, "IPAM"), "Config"), 0);
	const char *name = json_string_value(json_object_get(net, "Name")) ?: "?";

	if (cidr_parse(json_string_value(json_object_get(c, "Subnet")), subnet, prefix) < 0 ||
	    ip_parse(json_string_value(json_object_get(c, "Gateway")), gateway) < 0 ||
	    *prefix > 30)
		return err_set(err, "network %s has no usable IPv4 subnet", name);
	return 0;
}

/* Every network's inspect object, the predefined first, Containers unfilled. */
static json_t *network_all(const char *root)
{
	_cleanup_free_ char *dir = xasprintf("%s/networks", root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	json_t *arr = json_array(), *user = json_array(), *n;
	struct dirent *de;
	size_t i;

	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		json_array_append_new(arr, predefined_object(root, predefined[i]));
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json"))
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (json_load_path(p, &n, &(struct err){ 0 }) == 0 && json_is_object(n))
			json_array_append_new(user, n);
		else if (n)
			json_decref(n);
	}
	json_array_extend(arr, user);
	json_decref(user);
	return arr;
}

static bool overlaps(uint32_t a, int ap, uint32_t b, int bp)
{
	int p = ap < bp ? ap : bp;

	return (a & prefix_mask(p)) == (b & prefix_mask(p));
}

/* The network among all whose subnet overlaps subnet/prefix, or NULL. */
static json_t *overlapping(json_t *all, uint32_t subnet, int prefix)
{
	json_t *n;
	size_t i;

	json_array_foreach(all, i, n) {
		uint32_t s, g;
		int p;

		if (network_subnet(n, &s, &p, &g, &(struct err){ 0 }) == 0 &&
		    overlaps(s, p, subnet, prefix))
			return n;
	}
	return NULL;
}

/* docker's pick: 172.18-31.0.0/16, then 192.168.N.0/20. */
static int subnet_pick(json_t *all, uint32_t *subnet, int *prefix, struct err *err)
{
	uint32_t s;

	for (s = 18; s <= 31; s++) {
		*subnet = (172u << 24) | (s << 16);
		*prefix = 16;
		if (!overlapping(all, *subnet, *prefix))
			return 0;
	}
	for (s = 0; s < 256; s += 16) {
		*subnet = (192u << 24) | (168u << 16) | (s << 8);
		*prefix = 20;
		if (!overlapping(all, *subnet, *prefix))
			return 0;
	}
	return err_set(err, "could not find an available, non-overlapping IPv4 address pool "
		       "among the defaults to assign to the network");
}

static bool network_name_valid(const char *name)
{
	const char *p;

	if (!*name || strlen(name) > 128 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
		return false;
	for (p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
			return false;
	return true;
}

static json_t *kv_json(const struct strv *kv)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < kv->n; i++) {
		_cleanup_free_ char *k = xstrdup(kv->v[i]);
		char *v = strchr(k, '=');

		if (v)
			*v++ = '\0';
		json_object_set_new(o, k, json_string(v ? v : ""));
	}
	return o;
}

static int ipam_config(json_t *all, const struct network_create_opts *o, json_t **cfg,
		       struct err *err)
{
	char s_txt[INET_ADDRSTRLEN], g_txt[INET_ADDRSTRLEN], p_txt[8];
	uint32_t subnet, gateway;
	int prefix;
	json_t *other;

	if (o->subnet) {
		if (cidr_parse(o->subnet, &subnet, &prefix) < 0)
			return err_set(err, "invalid CIDR address: %s", o->subnet);
		if (prefix > 30)
			return err_set(err, "subnet %s is too small for a network", o->subnet);
		subnet &= prefix_mask(prefix);
		other = overlapping(all, subnet, prefix);
		if (other)
			return err_set(err, "Pool overlaps with other one on this address space "
				       "(network %s has %s)",
				       json_string_value(json_object_get(other, "Name")),
				       json_string_value(json_object_get(json_array_get(json_object_get(
					       json_object_get(other, "IPAM"), "Config"), 0), "Subnet")));
	} else if (o->gateway) {
		return err_set(err, "Invalid network config: gateway %s needs --subnet", o->gateway);
	} else if (subnet_pick(all, &subnet, &prefix, err) < 0) {
		return -1;
	}
	if (o->gateway) {
		if (ip_parse(o->gateway, &gateway) < 0)
			return err_set(err, "invalid gateway address %s", o->gateway);
		if ((gateway & prefix_mask(prefix)) != subnet)
			return err_set(err, "no matching subnet for gateway %s", o->gateway);
	} else {
		gateway = subnet + 1;
	}
	if (o->gateway && (gateway == subnet || gateway == (subnet | ~prefix_mask(prefix))))
		return err_set(err, "gateway %s is not a host address of %s", o->gateway,
			       o->subnet);
	ip_format(subnet, s_txt);
	ip_format(gateway, g_txt);
	*cfg = json_pack("[{s:s++, s:s}]", "Subnet", s_txt, "/",
			 (snprintf(p_txt, sizeof(p_txt), "%d", prefix), p_txt), "Gateway", g_txt);
	return 0;
}

static int network_lock(const char *root, struct err *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/networks/names", root);
	_cleanup_free_ char *lock = xasprintf("%s/networks/.lock", root);

	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	return lock_path(lock, LOCK_EX, err);
}

int network_create(const char *root, const struct network_create_opts *o, char **id_out,
		   struct err *err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_json_ json_t *all = NULL, *net = NULL;
	_cleanup_free_ char *link = NULL, *path = NULL;
	json_t *cfg = NULL, *opts, *n;
	unsigned char rnd[32];
	char id[65], now[40];
	size_t i;

	if (o->driver && strcmp(o->driver, "bridge"))
		return err_set(err, "plugin \"%s\" not found: isobox has the bridge driver only",
			       o->driver);
	if (!network_name_valid(o->name))
		return err_set(err, "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] "
			       "are allowed", o->name);
	lock = network_lock(root, err);
	if (lock < 0)
		return -1;
	all = network_all(root);
	json_array_foreach(all, i, n)
		if (!strcmp(json_string_value(json_object_get(n, "Name")), o->name))
			return err_set(err, "network with name %s already exists", o->name);
	if (ipam_config(all, o, &cfg, err) < 0)
		return -1;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		json_decref(cfg);
		return err_sys(err, errno, "getrandom");
	}
	for (i = 0; i < sizeof(rnd); i++)
		sprintf(id + 2 * i, "%02x", rnd[i]);
	opts = kv_json(&o->options);
	n = json_object_get(opts, "com.docker.network.bridge.name");
	/* It goes into nft commands and interface names: a strict charset. */
	if (n && (!json_is_string(n) || strlen(json_string_value(n)) == 0 ||
		  strlen(json_string_value(n)) > 15 ||
		  strspn(json_string_value(n), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") != strlen(json_string_value(n)))) {
		json_decref(cfg);
		json_decref(opts);
		return err_set(err, "invalid bridge name \"%s\"", json_string_value(n));
	}
	time_rfc3339(now, sizeof(now));
	net = network_object(o->name, id, now, "bridge", cfg, o->internal, opts,
			     kv_json(&o->labels));
	path = network_path(root, id, ".json");
	if (json_save_atomic(path, net, err) < 0)
		return -1;
	link = xasprintf("%s/networks/names/%s", root, o->name);
	if (symlink(id, link) < 0) {
		int e = errno;

		unlink(path);
		return err_sys(err, e, "reserve network name %s", o->name);
	}
	*id_out = xstrdup(id);
	return 0;
}

/* The containers (inspect objects) that name the network: its NetworkMode,
 * or an entry of NetworkSettings.Networks. */
static json_t *network_users(const char *root, json_t *net)
{
	const char *name = json_string_value(json_object_get(net, "Name"));
	const char *id = json_string_value(json_object_get(net, "Id"));
	_cleanup_json_ json_t *all = NULL;
	json_t *users = json_array(), *c;
	size_t i;

	if (container_list(root, true, &all, &(struct err){ 0 }) < 0)
		return users;
	json_array_foreach(all, i, c) {
		const char *mode = json_string_value(
			json_object_get(json_object_get(c, "HostConfig"), "NetworkMode")) ?: "";
		json_t *nets = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");

		if (!strcmp(mode, name) || !strcmp(mode, id) || json_object_get(nets, name))
			json_array_append(users, c);
	}
	return users;
}

/* docker's Containers: the running containers with an endpoint on it. */
static void containers_fill(const char *root, json_t *net)
{
	_cleanup_json_ json_t *users = network_users(root, net);
	const char *name = json_string_value(json_object_get(net, "Name"));
	json_t *out = json_object(), *c;
	size_t i;

	json_array_foreach(users, i, c) {
		json_t *ep = json_object_get(json_object_get(json_object_get(c, "NetworkSettings"),
							     "Networks"), name);
		const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
		char addr[64] = "";

		if (!json_is_true(json_object_get(json_object_get(c, "State"), "Running")) ||
		    !ip || !*ip)
			continue;
		snprintf(addr, sizeof(addr), "%s/%lld", ip,
			 (long long)json_integer_value(json_object_get(ep, "IPPrefixLen")));
		json_object_set_new(out, json_string_value(json_object_get(c, "Id")),
				    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
					      json_string_value(json_object_get(c, "Name")) + 1,
					      "EndpointID",
					      json_string_value(json_object_get(ep, "EndpointID")) ?: "",
					      "MacAddress",
					      json_string_value(json_object_get(ep, "MacAddress")) ?: "",
					      "IPv4Address", addr, "IPv6Address", ""));
	}
	/* docker's key order: Containers before Options. */
	json_object_set_new(net, "Containers", out);
}

static json_t *with_containers(const char *root, json_t *net)
{
	json_t *o = json_object(), *v;
	const char *k;

	json_object_foreach(net, k, v) {
		if (!strcmp(k, "Options"))
			json_object_set_new(o, "Containers", json_object());
		json_object_set(o, k, v);
	}
	containers_fill(root, o);
	return o;
}

int network_inspect(const char *root, const char *ref, json_t **out, struct err *err)
{
	_cleanup_json_ json_t *net = NULL;

	if (network_load(root, ref, &net, err) < 0)
		return -1;
	*out = with_containers(root, net);
	return 0;
}

int network_list(const char *root, json_t **out, struct err *err)
{
	_cleanup_json_ json_t *all = network_all(root);
	json_t *arr = json_array(), *n;
	size_t i;

	json_array_foreach(all, i, n)
		json_array_append_new(arr, with_containers(root, n));
	*out = arr;
	return 0;
}

/* The network's bridge and rules, where the caller's netns has them. */
static void network_bridge_remove(json_t *net)
{
	_cleanup_free_ char *tag = xasprintf("isobox-net-%.12s",
					     json_string_value(json_object_get(net, "Id")));
	char buf[16];
	const char *bridge = network_bridge_name(net, buf);
	struct nl nl = { 0 };

	if (!nl_link_index(bridge))
		return;
	if (nl_open(&nl, &(struct err){ 0 }) == 0) {
		nl_link_del(&nl, bridge, &(struct err){ 0 });
		nl_close(&nl);
	}
	fw_delete_tagged(tag, &(struct err){ 0 });
}

static int network_remove_locked(const char *root, json_t *net, struct err *err)
{
	const char *name = json_string_value(json_object_get(net, "Name"));
	const char *id = json_string_value(json_object_get(net, "Id"));
	_cleanup_json_ json_t *users = NULL;
	_cleanup_free_ char *link = xasprintf("%s/networks/names/%s", root, name);
	_cleanup_free_ char *path = network_path(root, id, ".json");
	_cleanup_free_ char *leases = network_path(root, id, ".leases");

	if (network_is_predefined(name))
		return err_set(err, "%s is a pre-defined network and cannot be removed", name);
	users = network_users(root, net);
	if (json_array_size(users))
		return err_set(err, "error while removing network: network %s id %s has active "
			       "endpoints", name, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_sys(err, errno, "remove %s", path);
	unlink(leases);
	unlink(link);
	network_bridge_remove(net);
	return 0;
}

int network_remove(const char *root, const char *ref, struct err *err)
{
	_cleanup_json_ json_t *net = NULL;
	_cleanup_close_ int lock = network_lock(root, err);

	if (lock < 0 || network_load(root, ref, &net, err) < 0)
		return -1;
	return network_remove_locked(root, net, err);
}

int network_prune(const char *root, struct strv *removed, struct err *err)
{
	_cleanup_close_ int lock = network_lock(root, err);
	_cleanup_json_ json_t *all = NULL;
	json_t *n;
	size_t i;

	if (lock < 0)
		return -1;
	all = network_all(root);
	json_array_foreach(all, i, n) {
		const char *name = json_string_value(json_object_get(n, "Name"));

		if (network_is_predefined(name))
			continue;
		if (network_remove_locked(root, n, &(struct err){ 0 }) == 0)
			strv_push(removed, name);
	}
	return 0;
}
