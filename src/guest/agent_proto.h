/* The wire format between isobox's VMM and the guest agent (isobox-init as
 * the VM's /init). The VMM exposes the container's process as a small
 * read-only virtio disk with serial "isobox-config"; the agent reads it once.
 *
 * The blob: the magic "ISOBOXC1", then records of a one-byte tag, a
 * little-endian u32 length and that many bytes, until TAG_END. Strings carry
 * no NUL. The agent checks every length against what it read. */
#ifndef ISOBOX_AGENT_PROTO_H
#define ISOBOX_AGENT_PROTO_H

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
};

/* Disk serials (virtio-blk GET_ID) the agent looks its disks up by. */
#define AGENT_DISK_ROOT "isobox-root"      /* EROFS image of the container's image */
#define AGENT_DISK_CONFIG "isobox-config"  /* the blob above */
#define AGENT_DISK_UPPER "isobox-upper"    /* optional ext4: the writable layer */

/* The agent reports the container's exit status here (one byte, outb). */
#define AGENT_EXIT_PORT 0xf4
/* The agent writes here once the container's stdio is set up: the VMM holds
 * stdin back until then, since a console nobody has opened loses its input. */
#define AGENT_READY_PORT 0xf5

#endif
