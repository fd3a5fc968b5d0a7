/* The wire format between isobox's VMM and the guest agent (isobox-init as
 * the VM's /init). The VMM exposes the container's process as a small
 * read-only virtio disk with serial "isobox-config"; the agent reads it once.
 *
 * The blob: the magic "ISOBOXC1", then records of a one-byte tag, a
 * little-endian u32 length and that many bytes, until TAG_END. Strings carry
 * no NUL. The agent checks every length against what it read. */
#ifndef ISOBOX_AGENT_PROTO_H
#define ISOBOX_AGENT_PROTO_H

#include <stdint.h>

#define AGENT_MAGIC "ISOBOXC1"
#define AGENT_MAGIC_LEN 8
#define AGENT_CONFIG_MAX (1u << 20)
#define AGENT_MAX_ARGS 4096

enum agent_tag {
	TAG_END = 0,
	TAG_ARG = 1,         /* one per argv element, in order */
	TAG_ENV = 2,         /* one per "KEY=VALUE" */
	TAG_CWD = 3,
	TAG_UID = 4,         /* decimal text */
	TAG_GID = 5,
	TAG_HOSTNAME = 6,
	TAG_TTY = 7,         /* "1": stdio is a terminal */
	TAG_READONLY = 8,    /* "1": the root is read-only */
	TAG_USER = 9,        /* exec: "user[:group]", names looked up in the guest */
	TAG_TMPFS = 10,      /* "MS_FLAGS:DATA:DEST", MS_FLAGS decimal */
	TAG_RLIMIT = 11,     /* "RESOURCE:SOFT:HARD", decimal, RLIM_INFINITY as is */
	TAG_MEMORY = 12,     /* the container's memory limit in bytes */
	TAG_PIDS = 13,       /* the container's pids limit */
	TAG_CAPS = 14,       /* hex masks "BOUNDING EFFECTIVE INHERITABLE PERMITTED AMBIENT" */
	TAG_NO_NEW_PRIVS = 15, /* "1" */
	TAG_SECCOMP = 16,    /* binary: LE u64 seccomp(2) flags, then struct sock_filter[] */
	TAG_MASKED = 17,     /* a path hidden from the container (docker's maskedPaths) */
	TAG_RO_PATH = 18,    /* a path made read-only (readonlyPaths) */
	TAG_HOLD = 19,       /* "1": hold the app until the control line "start" (runc's create) */
	TAG_GROUP = 20,      /* one supplementary group id, decimal (process.user.additionalGids) */
	TAG_SYSCTL = 21,     /* "KEY=VALUE" (linux.sysctl), written to /proc/sys in the guest */
	TAG_OOM_SCORE_ADJ = 22, /* decimal, -1000..1000 (process.oomScoreAdj) */
	TAG_DEVICE = 23,     /* "TYPE MAJOR MINOR MODE UID GID PATH" (linux.devices): TYPE c, b
			      * or p, MODE octal, the rest decimal, PATH under /dev/ */
	TAG_DEV_RULE = 24,   /* one of linux.resources.devices, in order, as util/devcg.h writes
			      * it: "allow|deny TYPE MAJOR MINOR ACCESS"; the agent adds docker's
			      * defaults after them, as the process backend does */
	TAG_DEV_ALLOW_ALL = 25, /* "1": no device policy (the rules allow all: --privileged) */
	TAG_ROOT_PROPAGATION = 26, /* linux.rootfsPropagation as MS_ flags, decimal: one of
				    * MS_PRIVATE, MS_SHARED, MS_SLAVE, MS_UNBINDABLE, with or
				    * without MS_REC */
	TAG_DETACH = 27,     /* exec: "1": stdio is /dev/null, nobody reads the output */
	TAG_INIT = 28,       /* "1": isobox-init is PID 1 of the container's PID namespace and
			      * forks the app (--init); "0" or absent: the app is PID 1 */
	/* The contents of the container's /etc/hosts, /etc/hostname and
	 * /etc/resolv.conf (the spec's bind mounts of them), at most
	 * AGENT_ETC_FILE_MAX bytes each: the agent binds them there, as the
	 * process backend binds the host's files. */
	TAG_ETC_HOSTS = 29,
	TAG_ETC_HOSTNAME = 30,
	TAG_ETC_RESOLV = 31,
	TAG_CGROUP_MOUNT = 32, /* "MS_FLAGS:DEST": the container's cgroup, the app's view of
				* it (the spec's "cgroup" mount), MS_FLAGS decimal, of
				* MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC only */
	TAG_CPU_MAX = 33,    /* "QUOTA PERIOD" in microseconds (--cpus): the cgroup's cpu.max */
	TAG_CGROUP_SET = 34, /* FRAME_UPDATE: "FILE VALUE", a limit of the app's cgroup; FILE one
			      * of memory.max memory.swap.max memory.low pids.max cpu.max
			      * cpu.weight cpuset.cpus cpuset.mems, VALUE checked for it */
	TAG_ROOT_DISKS = 35, /* decimal, 1..AGENT_ROOT_DISKS_MAX: the image's read-only EROFS
			      * disks, stacked by overlay (absent: one) */
	/* The guest's NIC (virtio-net), set up as the container's eth0 was in its
	 * network namespace on the host; all absent: no NIC, loopback only. */
	TAG_NET_MAC = 36,    /* "02:42:0a:63:00:02": the NIC to configure, found by MAC */
	TAG_NET_ADDR = 37,   /* "a.b.c.d/prefix", prefix 1..32 */
	TAG_NET_GATEWAY = 38, /* "a.b.c.d": the default route */
	TAG_NET_MTU = 39,    /* decimal, 68..65535 */
	TAG_SHARE = 40,      /* "MS_FLAGS:TAG:DEST": mount the virtio-fs device TAG (a host
			      * directory, served read-only on the host when MS_RDONLY is
			      * set) on DEST in the container's root, in record order, after
			      * the --tmpfs mounts; at most AGENT_SHARES_MAX */
	TAG_SHARE_FILE = 41, /* the same for a single host file: the device's directory
			      * holds it alone as AGENT_SHARED_FILE, bound on DEST */
	TAG_TOOL = 42,       /* exec: "1": argv is one of the guest's own tools (cp_tool.h),
			      * run as root in the container's root, not as its process */
	TAG_SHARE_DISK = 43, /* "MS_FLAGS:SERIAL:DEST": a block volume, the ext4 disk with
			      * that serial (AGENT_DISK_VOLUME-N), mounted on DEST in record
			      * order with the shares; with them, at most AGENT_SHARES_MAX */
};

#define AGENT_SHARED_FILE "file"

#define AGENT_SHARES_MAX 8

#define AGENT_ETC_FILE_MAX (64u << 10)

/* Disk serials (virtio-blk GET_ID) the agent looks its disks up by. */
#define AGENT_DISK_ROOT "isobox-root"      /* EROFS image of the container's image: its
					    * bottom layer(s); "isobox-root-N" (N from 1)
					    * are the layers above, N-th from the bottom */
#define AGENT_ROOT_DISKS_MAX 16
#define AGENT_DISK_CONFIG "isobox-config"  /* the blob above */
#define AGENT_DISK_UPPER "isobox-upper"    /* optional ext4: the writable layer */
#define AGENT_DISK_VOLUME "isobox-vol"     /* "isobox-vol-N": block volumes (TAG_SHARE_DISK) */

/* The agent reports the container's exit status here (one byte, outb). */
#define AGENT_EXIT_PORT 0xf4
/* The agent writes here, before the status, when the kernel killed the
 * container's app for memory (docker's OOMKilled). */
#define AGENT_OOM_PORT 0xf6
/* The agent writes here once the container's stdio is set up: the VMM holds
 * stdin back until then, since a console nobody has opened loses its input. */
#define AGENT_READY_PORT 0xf5

/* hvc3 carries `exec` sessions, as frames both ways: a one-byte type, the
 * session as a little-endian u32, the length of the data as a little-endian
 * u32, then the data. A frame is at most AGENT_FRAME_MAX bytes, header
 * included, so that the VMM writes each one whole into a pipe (PIPE_BUF).
 * A host's client speaks the same frames to the VMM, whose session number it
 * leaves 0: the VMM numbers the sessions. */
#define AGENT_FRAME_HDR 9
#define AGENT_FRAME_MAX 4096
#define AGENT_FRAME_DATA (AGENT_FRAME_MAX - AGENT_FRAME_HDR)
#define AGENT_MAX_SESSIONS 16
/* Output flow control, per session: the agent may have at most this many
 * bytes of STDOUT and STDERR frames (headers included) on their way to the
 * session's client; the VMM gives bytes back (FRAME_CREDIT) as the client
 * takes them. A client that stops reading so stops only its own process, on
 * its pipe in the guest, never the VMM's loop or another session. EXIT, the
 * last frame, needs no credit. Stdin the other way, in data bytes: the VMM
 * sends a session at most this much STDIN data that the process has not
 * taken (FRAME_STDIN_CREDIT gives it back), so the agent always reads the
 * channel, and a process that does not read its stdin holds only its client. */
#define AGENT_EXEC_WINDOW (64u << 10)

enum agent_frame_type {
	/* host -> guest */
	FRAME_CONFIG = 1,    /* part of the process's config blob (the records above) */
	FRAME_START = 2,     /* the last part of it: start the process */
	FRAME_STDIN = 3,
	FRAME_STDIN_EOF = 4,
	FRAME_RESIZE = 5,    /* "ROWS COLS" */
	FRAME_SIGNAL = 6,    /* decimal signal number */
	FRAME_UPDATE = 20,   /* a session of its own (runc's update): TAG_CGROUP_SET records,
			      * then TAG_END, at most one frame; the agent applies them to
			      * the app's cgroup in order and answers STDERR (why not) and
			      * EXIT ("0", or "1" after the first that failed) */
	/* VMM -> guest only: a client never sends these */
	FRAME_CREDIT = 7,    /* LE u32: output bytes the session's client took */
	FRAME_HANGUP = 8,    /* the client is gone: close the process's stdio, as a
			      * host's closed pipe or terminal would */
	/* guest -> host */
	FRAME_STDOUT = 16,
	FRAME_STDERR = 17,
	FRAME_EXIT = 18,     /* decimal status, the session's last frame */
	/* guest -> VMM only: the VMM does not pass it on */
	FRAME_STDIN_CREDIT = 19,  /* LE u32: stdin data the process took (or lost) */
};

static inline void agent_frame_put(uint8_t h[AGENT_FRAME_HDR], unsigned type, uint32_t session,
				   uint32_t len)
{
	h[0] = (uint8_t)type;
	h[1] = (uint8_t)session, h[2] = (uint8_t)(session >> 8);
	h[3] = (uint8_t)(session >> 16), h[4] = (uint8_t)(session >> 24);
	h[5] = (uint8_t)len, h[6] = (uint8_t)(len >> 8);
	h[7] = (uint8_t)(len >> 16), h[8] = (uint8_t)(len >> 24);
}

/* The header's fields; -1 when the length cannot be a frame's. */
static inline int agent_frame_get(const uint8_t h[AGENT_FRAME_HDR], unsigned *type,
				  uint32_t *session, uint32_t *len)
{
	*type = h[0];
	*session = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 |
		   (uint32_t)h[4] << 24;
	*len = (uint32_t)h[5] | (uint32_t)h[6] << 8 | (uint32_t)h[7] << 16 | (uint32_t)h[8] << 24;
	return *len <= AGENT_FRAME_DATA ? 0 : -1;
}

/* The next record of a blob at *off (the config's, or FRAME_UPDATE's): 1 with
 * its tag and data, 0 at TAG_END (*off past it), -1 when the bytes end first or
 * a length runs past them. Every reader of records goes through here. */
static inline int agent_record_next(const unsigned char *buf, size_t len, size_t *off,
				    unsigned *tag, const unsigned char **data, uint32_t *n)
{
	size_t at = *off;

	if (at >= len)
		return -1;
	*tag = buf[at++];
	if (*tag == TAG_END) {
		*off = at;
		return 0;
	}
	if (len - at < 4)
		return -1;
	*n = (uint32_t)buf[at] | (uint32_t)buf[at + 1] << 8 | (uint32_t)buf[at + 2] << 16 |
	     (uint32_t)buf[at + 3] << 24;
	at += 4;
	if (*n > len - at)
		return -1;
	*data = buf + at;
	*off = at + *n;
	return 1;
}

#endif
