/* docker cp in a VM, the guest's side: an exec session marked TAG_TOOL runs
 * one of these in the container's mounts and root, as root (docker's daemon
 * copies as root whatever the container's user), not as the container's
 * process. The tar is busybox's (Debian's busybox-static, in the initramfs
 * as CP_TOOL_BUSYBOX, opened before the session enters the container):
 *
 *   cp-stat PATH follow|nofollow  prints "d", "f" (anything else) or "-" (missing)
 *   cp-out PATH follow|nofollow   prints "d NAME\n" or "f NAME\n", then the tar
 *                                 of PATH with its entries named NAME/...
 *                                 ("." for the root: its entries "./...");
 *                                 NAME is PATH's last name, or with follow the
 *                                 name of what its last symlink points to
 *   cp-in DIR owner|root          unpacks the tar on stdin into DIR, keeping
 *                                 the tar's owners or making root the owner
 *   cp-path-info PATH             PATH's lstat as util/path_info.h prints it
 *                                 (docker's HEAD .../archive)
 *   ps [ARGS...]                  busybox's ps: the VM's processes (docker top)
 *
 * Exit codes: 0, CP_TOOL_MISSING (PATH or DIR is not there),
 * CP_TOOL_NOT_DIR (cp-in: DIR is not a directory), else tar's or 125. */
#ifndef ISOBOX_GUEST_CP_TOOL_H
#define ISOBOX_GUEST_CP_TOOL_H

#define CP_TOOL_BUSYBOX "/bin/busybox"

#define CP_TOOL_MISSING 3
#define CP_TOOL_NOT_DIR 4

/* In the session's child, stdio set, busybox_fd CP_TOOL_BUSYBOX opened
 * (or -1), after it entered the container's root. Never returns. */
void cp_tool_run(char **argv, int busybox_fd) __attribute__((noreturn));

#endif
