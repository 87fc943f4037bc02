/* libnl-route-3: links (bridge, veth), addresses and routes. */
#ifndef SWD_NETLINK_SHIM_H
#define SWD_NETLINK_SHIM_H

/*
 * glibc's <net/if.h> first, as libiptc's headers include it: otherwise <linux/if.h> defines
 * enum net_device_flags with all 19 flags here and with 3 in CIPTables, and a module that
 * imports both fails with "different definitions in different modules".
 */
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

/*
 * Constants from glibc and kernel headers. In release builds, glibc constants vanished from
 * targets that import two C modules declaring them. The rtnetlink values are enum members.
 * Reading all of them through these functions keeps SwiftdNetlink on one C module.
 */
static inline int swd_nl_af_inet(void) { return AF_INET; }
static inline int swd_nl_af_llc(void) { return AF_LLC; }
static inline int swd_nl_protocol_route(void) { return NETLINK_ROUTE; }
static inline unsigned int swd_nl_iff_up(void) { return IFF_UP; }
static inline int swd_nl_create_exclusive(void) { return NLM_F_CREATE | NLM_F_EXCL; }
static inline unsigned int swd_nl_table_main(void) { return RT_TABLE_MAIN; }
static inline unsigned int swd_nl_table_local(void) { return RT_TABLE_LOCAL; }
static inline unsigned char swd_nl_scope_universe(void) { return RT_SCOPE_UNIVERSE; }
static inline unsigned char swd_nl_protocol_boot(void) { return RTPROT_BOOT; }
static inline unsigned char swd_nl_type_unicast(void) { return RTN_UNICAST; }

/*
 * setns(2) is hidden by glibc's Swift module (built without _GNU_SOURCE). CSwiftdSystem
 * declares it too, but only SwiftdSystem may import that module and it does not re-export
 * setns; delete this once SwiftdSystem offers a setns wrapper. Joins the network namespace
 * that `fd` refers to (nstype CLONE_NEWNET).
 */
extern int setns(int fd, int nstype);
static inline int swd_nl_setns_net(int fd) { return setns(fd, 0x40000000 /* CLONE_NEWNET */); }

#endif
