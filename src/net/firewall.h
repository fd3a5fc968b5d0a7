/* isobox's firewall: one nftables table, "ip isobox", of its own (libnftables),
 * changed one transaction at a time. Rules carry a comment tag naming their
 * owner (a network, a container), so an owner's rules go in one transaction
 * without isobox keeping rule handles anywhere. Acts in the caller's netns. */
#ifndef ISOBOX_FIREWALL_H
#define ISOBOX_FIREWALL_H

#include "util/err.h"

#define FW_TABLE "isobox"

/* The table also holds the set "bridges" (type ifname): every network's
 * bridge, for the rule that keeps two networks apart. */
/* Run rules (nft syntax, "add rule ip isobox CHAIN ... comment \"TAG\"" lines)
 * as one transaction, after making the table and its base chains
 * (prerouting, output, postrouting: nat; forward: filter) when missing. */
int fw_apply(const char *rules, struct err *err);
/* Delete every rule of the table whose comment is tag, in one transaction;
 * nothing to delete (or no table) is not an error. */
int fw_delete_tagged(const char *tag, struct err *err);
/* How many rules carry tag (tests and reconcile); -1 on error. */
int fw_count_tagged(const char *tag, struct err *err);

#endif
