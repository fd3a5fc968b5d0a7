/* The guest agent's config parser against what the VMM writes, and hostile
 * blobs; exec's user lookup in the guest against hostile passwd and group files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/agent.h"
#include "guest/agent_proto.h"
#include "guest/app.h"
#include "guest/net.h"
#include "guest/update.h"
#include "vmm/guest_config.h"

static size_t blob(const struct guest_process *gp, unsigned char *buf, size_t max)
{
	struct err err = { 0 };
	int fd = guest_config_memfd(gp, &err);
	ssize_t n;

	assert_true(fd >= 0);
	n = pread(fd, buf, max, 0);
	close(fd);
	assert_true(n > 0);
	assert_int_equal(n % 512, 0);
	return (size_t)n;
}

static void test_round_trip(void **state)
{
	const char *argv[] = { "sh", "-c", "echo 'a b'", NULL };
	const char *env[] = { "A=1", "PATH=/bin", NULL };
	struct guest_process gp = { .argv = argv, .env = env, .cwd = "/srv", .hostname = "box",
				    .uid = 1000, .gid = 100, .tty = true };
	unsigned char buf[4096];
	struct agent_process p;
	size_t n = blob(&gp, buf, sizeof(buf));

	assert_int_equal(agent_config_parse(buf, n, &p), 0);
	assert_string_equal(p.argv[0], "sh");
	assert_string_equal(p.argv[2], "echo 'a b'");
	assert_null(p.argv[3]);
	assert_string_equal(p.envp[1], "PATH=/bin");
	assert_string_equal(p.cwd, "/srv");
	assert_string_equal(p.hostname, "box");
	assert_int_equal(p.uid, 1000);
	assert_int_equal(p.gid, 100);
	assert_true(p.tty);
	assert_false(p.readonly);
	agent_process_free(&p);
}

/* Groups, sysctls, oomScoreAdj and devices reach the agent as the spec has them. */
static void test_process_settings(void **state)
{
	const char *argv[] = { "true", NULL };
	const gid_t gids[] = { 5, 10 };
	const struct oci_device dev = { .path = "/dev/fuse", .type = S_IFCHR, .major = 10,
					.minor = 229, .mode = 0640, .uid = 1, .gid = 2 };
	json_t *sysctl = json_pack("{s:s}", "net.ipv4.ip_forward", "1");
	struct guest_process gp = { .argv = argv, .gids = gids, .n_gids = 2, .sysctl = sysctl,
				    .has_oom_score_adj = true, .oom_score_adj = -500,
				    .devices = &dev, .n_devices = 1 };
	unsigned char buf[4096];
	struct agent_process p;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.n_gids, 2);
	assert_int_equal(p.gids[1], 10);
	assert_string_equal(p.sysctl[0], "net.ipv4.ip_forward=1");
	assert_null(p.sysctl[1]);
	assert_true(p.has_oom_score_adj);
	assert_int_equal(p.oom_score_adj, -500);
	assert_string_equal(p.devices[0], "c 10 229 640 1 2 /dev/fuse");
	agent_process_free(&p);
	json_decref(sysctl);
}

/* What would reach outside /proc/sys or /dev, or is out of range, is refused. */
static void test_hostile_settings(void **state)
{
	const char *argv[] = { "true", NULL };
	static const char *const keys[] = { "../../etc/passwd", ".hidden", "kernel..x", "a/b",
					    "" };
	static const char *const paths[] = { "/etc/passwd", "/dev/../etc/x", "/dev/a b",
					     "dev/null" };
	unsigned char buf[4096];
	struct agent_process p;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *sysctl = json_pack("{s:s}", keys[i], "1");
		struct guest_process gp = { .argv = argv, .sysctl = sysctl };

		if (agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p) != -1)
			fail_msg("sysctl %s was taken", keys[i]);
		json_decref(sysctl);
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct oci_device dev = { .path = paths[i], .type = S_IFCHR, .major = 1,
						.minor = 3, .mode = 0666 };
		struct guest_process gp = { .argv = argv, .devices = &dev, .n_devices = 1 };

		if (agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p) != -1)
			fail_msg("device %s was taken", paths[i]);
	}
	{
		struct guest_process gp = { .argv = argv, .has_oom_score_adj = true,
					    .oom_score_adj = 1001 };

		assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), -1);
	}
}

/* linux.resources.devices reach the agent in order, and within bounds. */
static void test_device_rules(void **state)
{
	const char *argv[] = { "true", NULL };
	const struct dev_rule rules[] = { { 'a', -1, -1, "rwm", true },
					  { 'c', 10, 200, "rw", false } };
	struct guest_process gp = { .argv = argv, .dev_rules = rules, .n_dev_rules = 2 };
	struct dev_rule *many = calloc(DEVCG_MAX_RULES + 1, sizeof(*many));
	unsigned char buf[16384];
	struct agent_process p;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.n_dev_rules, 2);
	assert_true(p.dev_rules[0].deny && p.dev_rules[0].type == 'a');
	assert_int_equal(p.dev_rules[1].minor, 200);
	assert_string_equal(p.dev_rules[1].access, "rw");
	assert_false(p.devices_allow_all);
	agent_process_free(&p);
	gp = (struct guest_process){ .argv = argv, .devices_allow_all = true };
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_true(p.devices_allow_all);
	assert_int_equal(p.n_dev_rules, 0);
	agent_process_free(&p);
	/* One rule past the spec's bound is refused. */
	for (i = 0; i <= DEVCG_MAX_RULES; i++)
		many[i] = rules[1];
	gp = (struct guest_process){ .argv = argv, .dev_rules = many,
				     .n_dev_rules = DEVCG_MAX_RULES };
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	agent_process_free(&p);
	gp.n_dev_rules = DEVCG_MAX_RULES + 1;
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), -1);
	free(many);
}

static void test_hostile_device_rules(void **state)
{
	static const char *const bad[] = { "allow c 1 3 rwx", "allow c 1 3", "allow c 1 3 rwm x",
					   "let c 1 3 rwm", "allow c -7 3 rwm", "" };
	unsigned char blob[128];
	struct agent_process p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t len = (uint32_t)strlen(bad[i]);
		size_t n = 0;

		memcpy(blob, "ISOBOXC1\x01\x01\x00\x00\x00" "x", 14);
		n = 14;
		blob[n++] = TAG_DEV_RULE;
		memcpy(blob + n, &len, 4);
		n += 4;
		memcpy(blob + n, bad[i], len);
		n += len;
		blob[n++] = TAG_END;
		if (agent_config_parse(blob, n, &p) != -1)
			fail_msg("device rule \"%s\" was taken", bad[i]);
	}
}

/* linux.rootfsPropagation: one type, MS_REC or not; no other mount flag. */
static void test_root_propagation(void **state)
{
	const char *argv[] = { "true", NULL };
	static const unsigned long bad[] = { MS_SHARED | MS_SLAVE, MS_BIND, MS_REC,
					     MS_PRIVATE | MS_REMOUNT, MS_SHARED | MS_RDONLY };
	struct guest_process gp = { .argv = argv, .root_propagation = MS_SHARED | MS_REC };
	unsigned char buf[4096];
	struct agent_process p;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.root_propagation, MS_SHARED | MS_REC);
	agent_process_free(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		gp.root_propagation = bad[i];
		if (agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p) != -1)
			fail_msg("propagation %#lx was taken", bad[i]);
	}
}

/* --init reaches the agent as TAG_INIT "1"; any other value is refused. */
static void test_init_flag(void **state)
{
	const char *argv[] = { "true", NULL };
	static const char *const bad[] = { "2", "", "true", "11", "1 ", "-1" };
	struct guest_process gp = { .argv = argv, .init = true };
	unsigned char buf[4096], raw[64];
	struct agent_process p;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_true(p.init);
	agent_process_free(&p);
	gp.init = false;
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_false(p.init);
	agent_process_free(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t len = (uint32_t)strlen(bad[i]);
		size_t n = 14;

		memcpy(raw, "ISOBOXC1\x01\x01\x00\x00\x00" "x", 14);
		raw[n++] = TAG_INIT;
		memcpy(raw + n, &len, 4);
		n += 4;
		memcpy(raw + n, bad[i], len);
		n += len;
		raw[n++] = TAG_END;
		if (agent_config_parse(raw, n, &p) != -1)
			fail_msg("TAG_INIT \"%s\" was taken", bad[i]);
	}
}

static void test_hostile_blobs(void **state)
{
	const char *argv[] = { "true", NULL };
	struct guest_process gp = { .argv = argv };
	unsigned char buf[4096];
	struct agent_process p;
	size_t n = blob(&gp, buf, sizeof(buf)), cut;
	unsigned char bad[64];

	assert_int_equal(agent_config_parse(buf, n, &p), 0);
	assert_string_equal(p.envp[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	agent_process_free(&p);
	/* Every truncation is refused, never read past. */
	for (cut = 0; cut < 40; cut++)
		if (cut < AGENT_MAGIC_LEN + 5 + 4 + 1)
			assert_int_equal(agent_config_parse(buf, cut, &p), -1);
	/* Wrong magic; a length past the end; a NUL inside a string; an unknown tag;
	 * no argv; a relative cwd; a uid that would wrap. */
	memcpy(bad, "ISOBOXC2", 8);
	assert_int_equal(agent_config_parse(bad, 8, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\xff\xff\xff\x7f" "abc\x00", 17);
	assert_int_equal(agent_config_parse(bad, 17, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x03\x00\x00\x00" "a\x00" "b\x00", 15);
	assert_int_equal(agent_config_parse(bad, 15, &p), -1);
	memcpy(bad, "ISOBOXC1\x63\x01\x00\x00\x00" "x\x00", 15);
	assert_int_equal(agent_config_parse(bad, 15, &p), -1);
	memcpy(bad, "ISOBOXC1\x00", 9);
	assert_int_equal(agent_config_parse(bad, 9, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x01\x00\x00\x00" "x" "\x03\x03\x00\x00\x00" "tmp\x00", 22);
	assert_int_equal(agent_config_parse(bad, 22, &p), -1);
	memcpy(bad, "ISOBOXC1\x01\x01\x00\x00\x00" "x" "\x04\x0a\x00\x00\x00" "4294967296\x00", 29);
	assert_int_equal(agent_config_parse(bad, 29, &p), -1);
}

/* A blob of argv "x" and one record TAG=value, as a hostile VMM could write. */
static int parse_one(unsigned tag, const char *value, struct agent_process *p)
{
	unsigned char buf[512];
	size_t n = strlen(value), off;

	memcpy(buf, AGENT_MAGIC "\x01\x01\x00\x00\x00" "x", AGENT_MAGIC_LEN + 6);
	off = AGENT_MAGIC_LEN + 6;
	buf[off++] = (unsigned char)tag;
	buf[off++] = (unsigned char)n;
	buf[off++] = (unsigned char)(n >> 8);
	buf[off++] = 0;
	buf[off++] = 0;
	memcpy(buf + off, value, n);
	off += n;
	buf[off++] = TAG_END;
	return agent_config_parse(buf, off, p);
}

/* --cpus as cpu.max and the cgroup view: what the VMM writes, then values out
 * of the kernel's bounds, flags that are not a view's, paths that climb. */
static void test_cgroup_records(void **state)
{
	const char *argv[] = { "true", NULL };
	const struct oci_mount m = { .destination = "/sys/fs/cgroup", .type = "cgroup",
				     .flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC };
	struct guest_process gp = { .argv = argv, .cpu_quota = 50000, .cpu_period = 100000,
				    .mounts = &m, .n_mounts = 1 };
	static const char *const bad_cpu[] = { "", "50000", "50000 ", " 100000", "999 100000",
					       "50000 999", "50000 1000001", "-1 100000",
					       "50000 100000 1", "18446744073709551616 100000",
					       "17592186044417 100000", "max 100000" };
	static const char *const bad_mount[] = { "1", "1:", "1:sys/fs/cgroup", "x:/sys",
						 "4096:/sys/fs/cgroup", "1:/sys/../etc",
						 "-1:/sys/fs/cgroup", ":/sys/fs/cgroup" };
	unsigned char buf[4096];
	struct agent_process p;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.cpu_quota, 50000);
	assert_int_equal(p.cpu_period, 100000);
	assert_string_equal(p.cgroup_mount, "/sys/fs/cgroup");
	assert_int_equal(p.cgroup_mount_flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	agent_process_free(&p);
	assert_int_equal(parse_one(TAG_CPU_MAX, "1000 1000000", &p), 0);
	agent_process_free(&p);
	for (i = 0; i < sizeof(bad_cpu) / sizeof(bad_cpu[0]); i++)
		if (parse_one(TAG_CPU_MAX, bad_cpu[i], &p) != -1)
			fail_msg("cpu.max \"%s\" was taken", bad_cpu[i]);
	for (i = 0; i < sizeof(bad_mount) / sizeof(bad_mount[0]); i++)
		if (parse_one(TAG_CGROUP_MOUNT, bad_mount[i], &p) != -1)
			fail_msg("cgroup mount \"%s\" was taken", bad_mount[i]);
	/* One view only: a second record is refused, not leaked. */
	{
		unsigned char two[128];
		size_t n = blob(&gp, buf, sizeof(buf)), off;
		const char rec[] = "\x20\x11\x00\x00\x00" "1:/sys/fs/cgroup";

		for (off = AGENT_MAGIC_LEN; buf[off] != TAG_END;)
			off += 5 + (buf[off + 1] | buf[off + 2] << 8);
		assert_true(off + sizeof(rec) < sizeof(two) && n > off);
		memcpy(two, buf, off);
		memcpy(two + off, rec, sizeof(rec) - 1);
		two[off + sizeof(rec) - 1] = TAG_END;
		assert_int_equal(agent_config_parse(two, off + sizeof(rec), &p), -1);
	}
	/* A plain tmpfs mount is no cgroup view. */
	{
		const struct oci_mount t = { .destination = "/sys/fs/cgroup", .type = "tmpfs" };
		struct guest_process g2 = { .argv = argv, .mounts = &t, .n_mounts = 1 };

		assert_int_equal(agent_config_parse(buf, blob(&g2, buf, sizeof(buf)), &p), 0);
		assert_null(p.cgroup_mount);
		assert_int_equal(p.cpu_quota, 0);
		agent_process_free(&p);
	}
}

/* The image's disk count: what the VMM writes, then values the agent must not
 * take (zero, past the VMM's bound, not decimal, twice). */
static void test_root_disks(void **state)
{
	const char *argv[] = { "true", NULL };
	struct guest_process gp = { .argv = argv, .root_disks = 16 };
	static const char *const bad[] = { "0", "17", "-1", "", " 3", "3 ", "0x3", "2x",
					   "4294967297", "18446744073709551616", "99999999999" };
	unsigned char buf[4096];
	struct agent_process p;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.root_disks, 16);
	agent_process_free(&p);
	gp.root_disks = 0;                 /* none said: one disk, as older VMMs */
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.root_disks, 0);
	agent_process_free(&p);
	assert_int_equal(parse_one(TAG_ROOT_DISKS, "1", &p), 0);
	assert_int_equal(p.root_disks, 1);
	agent_process_free(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_one(TAG_ROOT_DISKS, bad[i], &p) != -1)
			fail_msg("TAG_ROOT_DISKS \"%s\" was taken", bad[i]);
	{
		unsigned char two[4096];
		size_t off;

		gp.root_disks = 2;
		blob(&gp, buf, sizeof(buf));
		for (off = AGENT_MAGIC_LEN; buf[off] != TAG_END;)
			off += 5 + (buf[off + 1] | buf[off + 2] << 8);
		memcpy(two, buf, off);         /* all but TAG_END, then the record again */
		memcpy(two + off, "\x23\x01\x00\x00\x00" "3", 6);
		two[off + 6] = TAG_END;
		assert_int_equal(agent_config_parse(two, off + 7, &p), -1);
	}
}

/* The NIC: what the VMM writes comes back; a lone address, gateway or MTU,
 * malformed values and repeats are refused. */
static void test_net_records(void **state)
{
	const char *argv[] = { "true", NULL };
	struct guest_process gp = { .argv = argv, .net_mac = "02:42:0a:63:00:02",
				    .net_addr = "10.99.0.2/24", .net_gateway = "10.99.0.1",
				    .net_mtu = 1500 };
	static const uint8_t mac[6] = { 0x02, 0x42, 0x0a, 0x63, 0x00, 0x02 };
	static const char *const bad_mac[] = { "", "02:42:0a:63:00", "02:42:0a:63:00:02:",
		"02-42-0a-63-00-02", "02:42:0a:63:00:0g", "01:00:5e:00:00:01", "0242:0a:63:00:02:",
		" 2:42:0a:63:00:02" };
	static const char *const bad_addr[] = { "", "10.99.0.2", "10.99.0.2/", "10.99.0.2/0",
		"10.99.0.2/33", "10.99.0.2/-1", "10.99.0.2/+8", "10.99.0.2/24 ", "10.99.0/24",
		"10.99.0.256/24", "/24", "10.99.0.2/99999999999999999999",
		"1111111111111111111111111.2.3.4/8", "fe80::1/64" };
	static const char *const bad_gw[] = { "", "10.99.0", "10.99.0.1/24", "::1", "10.99.0.1 " };
	static const char *const bad_mtu[] = { "", "0", "67", "65536", "-1", "+1500", " 1500",
		"1500x", "99999999999999999999" };
	unsigned char buf[4096];
	struct agent_process p;
	struct agent_net n;
	size_t i;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_true(p.net.has_mac && p.net.has_addr && p.net.has_gateway);
	assert_memory_equal(p.net.mac, mac, 6);
	assert_int_equal(p.net.addr.s_addr, htonl(0x0a630002));
	assert_int_equal(p.net.prefix, 24);
	assert_int_equal(p.net.gateway.s_addr, htonl(0x0a630001));
	assert_int_equal(p.net.mtu, 1500);
	agent_process_free(&p);
	/* No NIC: nothing said, nothing set up. */
	gp.net_addr = NULL;
	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_false(p.net.has_addr);
	agent_process_free(&p);
	/* Alone, each record is refused: the NIC is named by MAC and address together. */
	assert_int_equal(parse_one(TAG_NET_ADDR, "10.99.0.2/24", &p), -1);
	assert_int_equal(parse_one(TAG_NET_MAC, "02:42:0a:63:00:02", &p), -1);
	assert_int_equal(parse_one(TAG_NET_GATEWAY, "10.99.0.1", &p), -1);
	assert_int_equal(parse_one(TAG_NET_MTU, "1500", &p), -1);
	for (i = 0; i < sizeof(bad_mac) / sizeof(bad_mac[0]); i++) {
		memset(&n, 0, sizeof(n));
		if (agent_net_record(&n, TAG_NET_MAC, bad_mac[i]) != -1)
			fail_msg("TAG_NET_MAC \"%s\" was taken", bad_mac[i]);
	}
	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		memset(&n, 0, sizeof(n));
		if (agent_net_record(&n, TAG_NET_ADDR, bad_addr[i]) != -1)
			fail_msg("TAG_NET_ADDR \"%s\" was taken", bad_addr[i]);
	}
	for (i = 0; i < sizeof(bad_gw) / sizeof(bad_gw[0]); i++) {
		memset(&n, 0, sizeof(n));
		if (agent_net_record(&n, TAG_NET_GATEWAY, bad_gw[i]) != -1)
			fail_msg("TAG_NET_GATEWAY \"%s\" was taken", bad_gw[i]);
	}
	for (i = 0; i < sizeof(bad_mtu) / sizeof(bad_mtu[0]); i++) {
		memset(&n, 0, sizeof(n));
		if (agent_net_record(&n, TAG_NET_MTU, bad_mtu[i]) != -1)
			fail_msg("TAG_NET_MTU \"%s\" was taken", bad_mtu[i]);
	}
	/* A value with no text, an unknown tag, and every record twice. */
	memset(&n, 0, sizeof(n));
	assert_int_equal(agent_net_record(&n, TAG_NET_ADDR, NULL), -1);
	assert_int_equal(agent_net_record(&n, TAG_NET_MTU + 1, "1"), -1);
	assert_int_equal(agent_net_record(&n, TAG_NET_MAC, "02:42:0a:63:00:02"), 0);
	assert_int_equal(agent_net_record(&n, TAG_NET_MAC, "02:42:0a:63:00:03"), -1);
	assert_int_equal(agent_net_record(&n, TAG_NET_ADDR, "10.0.0.1/32"), 0);
	assert_int_equal(n.prefix, 32);
	assert_int_equal(agent_net_record(&n, TAG_NET_ADDR, "10.0.0.2/8"), -1);
	assert_int_equal(agent_net_record(&n, TAG_NET_GATEWAY, "10.0.0.254"), 0);
	assert_int_equal(agent_net_record(&n, TAG_NET_GATEWAY, "10.0.0.253"), -1);
	assert_int_equal(agent_net_record(&n, TAG_NET_MTU, "9000"), 0);
	assert_int_equal(agent_net_record(&n, TAG_NET_MTU, "9000"), -1);
	assert_int_equal(agent_net_check(&n), 0);
}

static void test_too_big_is_refused(void **state)
{
	static const char *argv[AGENT_MAX_ARGS + 2];
	char *big = malloc(AGENT_CONFIG_MAX);
	struct guest_process gp = { .argv = argv };
	struct err err = { 0 };

	memset(big, 'a', AGENT_CONFIG_MAX - 1);
	big[AGENT_CONFIG_MAX - 1] = '\0';
	argv[0] = big;
	argv[1] = NULL;
	assert_int_equal(guest_config_memfd(&gp, &err), -1);
	assert_non_null(strstr(err.msg, "exceed"));
	free(big);
}

/* A passwd and a group file in a directory of their own. */
struct etc {
	char dir[64], passwd[96], group[96];
};

static void etc_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void etc_make(struct etc *e, const char *passwd, const char *group)
{
	strcpy(e->dir, "/tmp/isobox_test_agent.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->passwd, sizeof(e->passwd), "%s/passwd", e->dir);
	snprintf(e->group, sizeof(e->group), "%s/group", e->dir);
	if (passwd)
		etc_write(e->passwd, passwd);
	if (group)
		etc_write(e->group, group);
}

static void etc_remove(struct etc *e)
{
	unlink(e->passwd);
	unlink(e->group);
	rmdir(e->dir);
}

/* spec resolves to uid:gid, or (uid == -1) is refused. */
static void expect_user(const struct etc *e, const char *spec, long uid, long gid)
{
	struct passwd_user pu = { .uid = 12345, .gid = 12345 };
	int r = app_user_lookup(spec, e->passwd, e->group, &pu);
	unsigned u = pu.uid, g = pu.gid;

	if (uid < 0) {
		if (r != -1)
			fail_msg("%s: resolved to %u:%u, expected an error", spec, u, g);
		return;
	}
	if (r != 0)
		fail_msg("%s: refused, expected %ld:%ld", spec, uid, gid);
	if (u != (unsigned)uid || g != (unsigned)gid)
		fail_msg("%s: resolved to %u:%u, expected %ld:%ld", spec, u, g, uid, gid);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
			     "alice:x:1000:1001:Alice:/home/alice:/bin/sh\n"
			     "bob:x:1002:100::/home/bob:/bin/sh\n";
static const char group[] = "root:x:0:\n"
			    "wheel:x:10:root,alice\n"
			    "staff:x:50:alice\n"
			    "users:x:100:\n"
			    "alice:x:1001:\n";

static void test_user_lookup(void **state)
{
	struct etc e;

	etc_make(&e, passwd, group);
	/* Names, and numbers with their passwd entry's group. */
	expect_user(&e, "root", 0, 0);
	expect_user(&e, "alice", 1000, 1001);
	expect_user(&e, "bob", 1002, 100);
	expect_user(&e, "0", 0, 0);
	expect_user(&e, "1000", 1000, 1001);
	/* user:group by name and by number, in every combination. */
	expect_user(&e, "alice:staff", 1000, 50);
	expect_user(&e, "alice:10", 1000, 10);
	expect_user(&e, "1002:wheel", 1002, 10);
	expect_user(&e, "1002:0", 1002, 0);
	expect_user(&e, "daemon:users", 1, 100);
	/* A group number need not be in the group file, as in docker. */
	expect_user(&e, "bob:4242", 1002, 4242);
	/* A uid not in passwd takes root's group, as in docker. */
	expect_user(&e, "4242", 4242, 0);
	expect_user(&e, "4242:staff", 4242, 50);
	expect_user(&e, "4242:777", 4242, 777);
	expect_user(&e, "4294967294", 4294967294L, 0);
	/* Unknown names, and ids that are not ids. */
	expect_user(&e, "nobody", -1, 0);
	expect_user(&e, "Alice", -1, 0);
	expect_user(&e, "alice:nogroup", -1, 0);
	expect_user(&e, "4242:nogroup", -1, 0);
	expect_user(&e, "", -1, 0);
	expect_user(&e, "4294967295", -1, 0);
	expect_user(&e, "99999999999999999999", -1, 0);
	expect_user(&e, "-1", -1, 0);
	expect_user(&e, "+5", -1, 0);
	expect_user(&e, "12x", -1, 0);
	expect_user(&e, "alice:4294967295", -1, 0);
	expect_user(&e, "alice:-1", -1, 0);
	etc_remove(&e);
}

/* Without the files (an image with no /etc/passwd) only numbers resolve. */
static void test_user_lookup_no_files(void **state)
{
	struct etc e;
	char spec[400];

	etc_make(&e, NULL, NULL);
	expect_user(&e, "1000", 1000, 0);
	expect_user(&e, "1000:20", 1000, 20);
	expect_user(&e, "root", -1, 0);
	expect_user(&e, "0:wheel", -1, 0);
	/* A spec too long for any name is refused, not truncated. */
	memset(spec, '1', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	expect_user(&e, spec, -1, 0);
	etc_remove(&e);
}

/* Lines that are not entries are skipped, and the entries after them found. */
static void test_user_lookup_malformed(void **state)
{
	static char pw[16384], gr[8192];
	char filler[3000];
	struct etc e;

	memset(filler, 'a', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	snprintf(pw, sizeof(pw),
		 "\n"
		 "short:x\n"
		 "shorter\n"
		 "nouid:x::1::/:/bin/sh\n"
		 "textuid:x:abc:1::/:/bin/sh\n"
		 "textgid:x:7:abc::/:/bin/sh\n"
		 "nogid:x:8\n"
		 "neg:x:-5:1::/:/bin/sh\n"
		 "huge:x:4294967296:1::/:/bin/sh\n"
		 /* A name longer than any line buffer: its tail is not an entry. */
		 "%.1023sevil:x:0:0::/:/bin/sh\n"
		 /* A long gecos does not hide its entry. */
		 "dave:x:1005:1006:%s:/home/dave:/bin/sh\n"
		 "%sghost:x:0:0::/:/bin/sh\n"
		 "carol:x:1004:1004::/:/bin/sh\n",
		 filler, filler, filler);
	snprintf(gr, sizeof(gr),
		 "g1:x\n"
		 "g2:x:abc:\n"
		 "g3:x::\n"
		 "%.1023sevilgrp:x:0:\n"
		 "dev:x:60:%s\n"
		 "ops:x:61:\n",
		 filler, filler);
	etc_make(&e, pw, gr);
	expect_user(&e, "carol", 1004, 1004);
	expect_user(&e, "short", -1, 0);
	expect_user(&e, "shorter", -1, 0);
	expect_user(&e, "nouid", -1, 0);
	expect_user(&e, "textuid", -1, 0);
	expect_user(&e, "textgid", -1, 0);
	expect_user(&e, "nogid", -1, 0);
	expect_user(&e, "neg", -1, 0);
	expect_user(&e, "huge", -1, 0);
	/* A number matches no malformed entry: it stands alone. */
	expect_user(&e, "7", 7, 0);
	expect_user(&e, "8", 8, 0);
	expect_user(&e, "evil", -1, 0);
	expect_user(&e, "ghost", -1, 0);
	expect_user(&e, "dave", 1005, 1006);
	expect_user(&e, "carol:ops", 1004, 61);
	expect_user(&e, "carol:dev", 1004, 60);
	expect_user(&e, "carol:g1", -1, 0);
	expect_user(&e, "carol:g2", -1, 0);
	expect_user(&e, "carol:g3", -1, 0);
	expect_user(&e, "carol:evilgrp", -1, 0);
	etc_remove(&e);
}

/* /etc/hosts, hostname, resolv.conf reach the agent whole; one too long, or
 * with a NUL inside, is refused; a second record replaces the first. */
static void test_etc_files(void **state)
{
	const char *argv[] = { "true", NULL };
	struct guest_process gp = { .argv = argv, .etc_files = { "127.0.0.1\tlocalhost\n",
								  "box\n", NULL } };
	static const unsigned char nul[] = "ISOBOXC1\x01\x01\x00\x00\x00" "x"
					   "\x1e\x03\x00\x00\x00" "a\x00" "b";
	static const unsigned char twice[] = "ISOBOXC1\x01\x01\x00\x00\x00" "x"
					     "\x1f\x01\x00\x00\x00" "a"
					     "\x1f\x01\x00\x00\x00" "b";
	unsigned char buf[4096];
	struct agent_process p;
	char *data, *big = malloc(AGENT_ETC_FILE_MAX + 2);
	struct err err = { 0 };
	size_t len;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_string_equal(p.etc_files[0], "127.0.0.1\tlocalhost\n");
	assert_string_equal(p.etc_files[1], "box\n");
	assert_null(p.etc_files[2]);
	agent_process_free(&p);
	assert_int_equal(agent_config_parse(nul, sizeof(nul), &p), -1);
	assert_int_equal(agent_config_parse(twice, sizeof(twice), &p), 0);
	assert_string_equal(p.etc_files[2], "b");
	agent_process_free(&p);
	/* At the bound it is taken, past it refused. */
	memset(big, 'a', AGENT_ETC_FILE_MAX + 1);
	big[AGENT_ETC_FILE_MAX] = '\0';
	gp.etc_files[2] = big;
	assert_int_equal(guest_config_build(&gp, &data, &len, &err), 0);
	assert_int_equal(agent_config_parse((unsigned char *)data, len, &p), 0);
	agent_process_free(&p);
	free(data);
	big[AGENT_ETC_FILE_MAX] = 'a';
	big[AGENT_ETC_FILE_MAX + 1] = '\0';
	assert_int_equal(guest_config_build(&gp, &data, &len, &err), 0);
	assert_int_equal(agent_config_parse((unsigned char *)data, len, &p), -1);
	free(data);
	free(big);
}

/* The host side of the /etc files: a regular text file is read whole; a FIFO
 * (which would block the boot) and a file with a NUL are refused, named. */
static void test_etc_files_sources(void **state)
{
	char dir[] = "/tmp/isobox-test-etc-XXXXXX", ok[64], fifo[64], nul[64];
	struct oci_mount m = { .destination = "/etc/hosts", .bind = true };
	struct oci_spec spec = { .mounts = &m, .n_mounts = 1 };
	struct err err = { 0 };
	char *files[3];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(ok, sizeof(ok), "%s/hosts", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(nul, sizeof(nul), "%s/nul", dir);
	f = fopen(ok, "w");
	fputs("127.0.0.1\tlocalhost\n", f);
	fclose(f);
	f = fopen(nul, "w");
	fwrite("a\0b", 1, 3, f);
	fclose(f);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	m.source = ok;
	assert_int_equal(guest_config_etc_files(&spec, files, &err), 0);
	assert_string_equal(files[0], "127.0.0.1\tlocalhost\n");
	assert_null(files[1]);
	free(files[0]);
	m.source = fifo;
	assert_int_equal(guest_config_etc_files(&spec, files, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	m.source = nul;
	assert_int_equal(guest_config_etc_files(&spec, files, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
	unlink(ok);
	unlink(fifo);
	unlink(nul);
	rmdir(dir);
}

/* The caller's own limits for what the spec leaves unset, the spec's kept;
 * more records than the agent holds are refused. */
static void test_inherited_rlimits(void **state)
{
	const char *argv[] = { "true", NULL };
	const struct oci_rlimit nofile = { RLIMIT_NOFILE, 100, 200 };
	struct guest_process gp = { .argv = argv, .rlimits = &nofile, .n_rlimits = 1,
				    .inherit_rlimits = true };
	unsigned char buf[8192];
	struct agent_process p;
	struct rlimit own;
	size_t i, seen = 0;
	FILE *f;
	char *many = NULL;
	size_t len;

	assert_int_equal(agent_config_parse(buf, blob(&gp, buf, sizeof(buf)), &p), 0);
	assert_int_equal(p.n_rlimits, RLIM_NLIMITS);
	assert_int_equal(getrlimit(RLIMIT_NPROC, &own), 0);
	for (i = 0; i < p.n_rlimits; i++) {
		if (p.rlimits[i].resource == RLIMIT_NOFILE) {
			assert_int_equal(p.rlimits[i].soft, 100);
			assert_int_equal(p.rlimits[i].hard, 200);
			seen++;
		}
		if (p.rlimits[i].resource == RLIMIT_NPROC) {
			assert_true(p.rlimits[i].soft == own.rlim_cur);
			assert_true(p.rlimits[i].hard == own.rlim_max);
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	agent_process_free(&p);
	/* 65 records: one more than the agent keeps. */
	f = open_memstream(&many, &len);
	fwrite("ISOBOXC1\x01\x01\x00\x00\x00" "x", 1, 14, f);
	for (i = 0; i < 65; i++)
		fwrite("\x0b\x06\x00\x00\x00" "7:1:1", 1, 10, f);
	fputc(0, f);
	fclose(f);
	assert_int_equal(agent_config_parse((unsigned char *)many, len, &p), -1);
	free(many);
}

/* exec -u in a VM: the user's groups (primary first, then the groups that list
 * it; an explicit group alone) and home; HOME kept when the env has one. */
static void test_user_groups_and_home(void **state)
{
	static const char pw[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "alice:x:1000:1001:Alice:/home/alice:/bin/sh\n"
				 "nohome:x:1003:1003\n";
	static const char gr[] = "wheel:x:10:root,alice\nstaff:x:50:alice\nalice:x:1001:\n";
	char *env[] = { "PATH=/bin", NULL }, *with[] = { "HOME=/x", NULL }, **out;
	struct passwd_user u;
	struct etc e;
	char fifo[128];

	etc_make(&e, pw, gr);
	assert_int_equal(app_user_lookup("alice", e.passwd, e.group, &u), 0);
	assert_int_equal(u.n_gids, 3);
	assert_int_equal(u.gids[0], 1001);
	assert_int_equal(u.gids[1], 10);
	assert_int_equal(u.gids[2], 50);
	assert_string_equal(u.home, "/home/alice");
	assert_int_equal(app_user_lookup("alice:staff", e.passwd, e.group, &u), 0);
	assert_int_equal(u.n_gids, 1);
	assert_int_equal(u.gids[0], 50);
	assert_int_equal(app_user_lookup("4242", e.passwd, e.group, &u), 0);
	assert_int_equal(u.n_gids, 1);
	assert_int_equal(u.gids[0], 0);
	assert_string_equal(u.home, "/");
	out = app_env_home(env, 1000, e.passwd);
	assert_string_equal(out[0], "PATH=/bin");
	assert_string_equal(out[1], "HOME=/home/alice");
	assert_null(out[2]);
	free(out[1]);
	free(out);
	out = app_env_home(env, 1003, e.passwd);     /* an entry without a home field */
	assert_string_equal(out[1], "HOME=/");
	free(out[1]);
	free(out);
	out = app_env_home(env, 4242, e.passwd);
	assert_string_equal(out[1], "HOME=/");
	free(out[1]);
	free(out);
	assert_ptr_equal(app_env_home(with, 1000, e.passwd), with);
	/* A passwd that is a FIFO is no passwd, and does not hang the lookup. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", e.dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	out = app_env_home(env, 0, fifo);
	assert_string_equal(out[1], "HOME=/");
	free(out[1]);
	free(out);
	assert_int_equal(app_user_lookup("root", fifo, fifo, &u), -1);
	unlink(fifo);
	etc_remove(&e);
}

/* FRAME_UPDATE's records: what the host builds parses back. */
static void test_update_round_trip(void **state)
{
	const char *sets[] = { "memory.max 67108864", "pids.max max", "cpu.max 50000 100000",
			       "cpu.weight 20", "cpuset.cpus 0-1,3", "memory.low max", NULL };
	struct agent_update u;
	struct err err = { 0 };
	char *blob;
	size_t len;

	assert_int_equal(guest_update_build(sets, &blob, &len, &err), 0);
	assert_int_equal(agent_update_parse((unsigned char *)blob, len, &u), 0);
	assert_int_equal(u.n, 6);
	assert_string_equal(u.set[0].file, "memory.max");
	assert_string_equal(u.set[0].value, "67108864");
	assert_string_equal(u.set[2].value, "50000 100000");
	assert_string_equal(u.set[4].value, "0-1,3");
	free(blob);
}

static size_t record(unsigned char *b, unsigned tag, const char *s)
{
	size_t n = strlen(s);

	b[0] = (unsigned char)tag;
	b[1] = (unsigned char)n, b[2] = (unsigned char)(n >> 8), b[3] = b[4] = 0;
	memcpy(b + 5, s, n);
	return 5 + n;
}

/* Hostile records: unknown files, paths, values a file does not take, bad
 * lengths, too many, nothing at all. Each is refused whole. */
static void test_update_hostile(void **state)
{
	static const char *const bad[] = {
		"../../cgroup.procs 1", "cgroup.procs 1", "memory.max", "memory.max ",
		" 1", "memory.max -1", "memory.max 1e9", "memory.max 99999999999999999999",
		"pids.max 12abc", "cpu.max 0 100000", "cpu.max 1000 10", "cpu.max 1000 9999999",
		"cpu.max 1000", "cpu.max max 100000 1", "cpu.weight 0", "cpu.weight 10001",
		"cpu.weight -5", "cpuset.cpus ", "cpuset.cpus 0;reboot", "cpuset.cpus ,1",
		"cpuset.mems -1", "memory.max 1\n", "memory.low max max",
		"memory.max.......... 1", "cpuset.cpus 0123456789012345678901234567890123456789"
		"01234567890123456789012345678901234567890",
	};
	unsigned char b[512];
	struct agent_update u;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = record(b, TAG_CGROUP_SET, bad[i]);
		b[n++] = TAG_END;
		assert_int_equal(agent_update_parse(b, n, &u), -1);
	}
	/* a NUL inside the value */
	n = record(b, TAG_CGROUP_SET, "pids.max 10");
	b[n - 1] = '\0';
	b[n++] = TAG_END;
	assert_int_equal(agent_update_parse(b, n, &u), -1);
	/* another tag, no records, no end, a length beyond the data, trailing bytes */
	n = record(b, TAG_MEMORY, "1000");
	b[n++] = TAG_END;
	assert_int_equal(agent_update_parse(b, n, &u), -1);
	b[0] = TAG_END;
	assert_int_equal(agent_update_parse(b, 1, &u), -1);
	assert_int_equal(agent_update_parse(b, 0, &u), -1);
	n = record(b, TAG_CGROUP_SET, "pids.max 10");
	assert_int_equal(agent_update_parse(b, n, &u), -1);
	b[1] = 0xff, b[4] = 0x7f;
	b[n++] = TAG_END;
	assert_int_equal(agent_update_parse(b, n, &u), -1);
	n = record(b, TAG_CGROUP_SET, "pids.max 10");
	b[n++] = TAG_END;
	b[n++] = 'x';
	assert_int_equal(agent_update_parse(b, n, &u), -1);
	/* more records than the agent keeps */
	for (n = 0, i = 0; i <= AGENT_UPDATE_MAX; i++)
		n += record(b + n, TAG_CGROUP_SET, "pids.max 10");
	b[n++] = TAG_END;
	assert_int_equal(agent_update_parse(b, n, &u), -1);
}

/* Applied in order below a directory, the failure named with its value. */
static void test_update_apply(void **state)
{
	char dir[] = "/tmp/isobox-test-update-XXXXXX", path[128], msg[256] = "", buf[64] = "";
	const char *sets[] = { "memory.max 1048576", "pids.max max", NULL };
	struct agent_update u;
	struct err err = { 0 };
	char *blob;
	size_t len;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(guest_update_build(sets, &blob, &len, &err), 0);
	assert_int_equal(agent_update_parse((unsigned char *)blob, len, &u), 0);
	free(blob);
	/* pids.max is missing: the memory limit went in, the pids one is named */
	assert_int_equal(agent_update_apply(&u, dir, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "pids.max max"));
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "1048576");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_device_rules),
		cmocka_unit_test(test_hostile_device_rules),
		cmocka_unit_test(test_init_flag),
		cmocka_unit_test(test_hostile_blobs),
		cmocka_unit_test(test_root_propagation),
		cmocka_unit_test(test_process_settings),
		cmocka_unit_test(test_hostile_settings),
		cmocka_unit_test(test_cgroup_records),
		cmocka_unit_test(test_root_disks),
		cmocka_unit_test(test_net_records),
		cmocka_unit_test(test_too_big_is_refused),
		cmocka_unit_test(test_user_lookup),
		cmocka_unit_test(test_user_lookup_no_files),
		cmocka_unit_test(test_user_lookup_malformed),
		cmocka_unit_test(test_etc_files),
		cmocka_unit_test(test_etc_files_sources),
		cmocka_unit_test(test_inherited_rlimits),
		cmocka_unit_test(test_user_groups_and_home),
		cmocka_unit_test(test_update_round_trip),
		cmocka_unit_test(test_update_hostile),
		cmocka_unit_test(test_update_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
