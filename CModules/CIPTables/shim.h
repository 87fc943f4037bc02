/* libiptc (IPv4): the nat and filter tables. */
#ifndef SWD_IPTABLES_SHIM_H
#define SWD_IPTABLES_SHIM_H

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/if.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * ipt_entry, xt_entry_match and xt_entry_target end in flexible array members, which Swift does
 * not import, so entries are built and read here. A rule is described by swd_ipt_spec: source
 * and destination network, in and out interface (each optionally negated), a protocol with
 * its tcp or udp port match, an addrtype destination-type match, a conntrack state match, and a
 * target: a verdict or chain name, MASQUERADE, or DNAT to one address and port.
 */

enum { SWD_TARGET_STANDARD = 0, SWD_TARGET_MASQUERADE = 1, SWD_TARGET_DNAT = 2 };

/*
 * The --ctstate bits of xt_conntrack. XT_CONNTRACK_STATE_BIT is a function-like macro, which
 * Swift cannot import.
 */
enum {
    SWD_CTSTATE_INVALID = XT_CONNTRACK_STATE_INVALID,
    SWD_CTSTATE_NEW = XT_CONNTRACK_STATE_BIT(IP_CT_NEW),
    SWD_CTSTATE_RELATED = XT_CONNTRACK_STATE_BIT(IP_CT_RELATED),
    SWD_CTSTATE_ESTABLISHED = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED),
    SWD_CTSTATE_UNTRACKED = XT_CONNTRACK_STATE_UNTRACKED,
};

struct swd_ipt_spec {
    uint32_t source, source_mask; /* network byte order */
    int source_inverted;
    uint32_t destination, destination_mask; /* network byte order */
    int destination_inverted;
    const char *in; /* "" for any */
    int in_inverted;
    const char *out; /* "" for any */
    int out_inverted;
    uint16_t protocol; /* 0, IPPROTO_TCP or IPPROTO_UDP */
    uint16_t source_port; /* with a protocol; 0 for any */
    uint16_t destination_port; /* with a protocol; 0 for any */
    uint16_t destination_type; /* XT_ADDRTYPE_* mask for -m addrtype --dst-type; 0 for none */
    uint16_t connection_states; /* SWD_CTSTATE_* mask for -m conntrack --ctstate; 0 for none */
    const char *target;
    int target_kind; /* SWD_TARGET_* */
    uint32_t nat_address; /* DNAT: network byte order */
    uint16_t nat_port; /* DNAT: host byte order, 0 to keep the port */
};

/* Copies an interface name and its match mask as iptables does (exact name, no '+'). */
static inline void swd_ipt_set_interface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ],
                                         const char *value) {
    size_t length = strlen(value);
    if (length >= IFNAMSIZ) length = IFNAMSIZ - 1;
    memcpy(name, value, length);
    memset(mask, 0xFF, length + 1);
}

static inline size_t swd_ipt_port_match_size(const struct swd_ipt_spec *spec) {
    if (spec->protocol == IPPROTO_TCP)
        return XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_tcp));
    if (spec->protocol == IPPROTO_UDP)
        return XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_udp));
    return 0;
}

/*
 * Allocates the rule `spec` describes; free it with swd_ipt_entry_free. Matches come in the
 * order iptables-save prints them: the protocol's port match, addrtype, then conntrack.
 * Returns NULL when out of memory.
 */
static inline struct ipt_entry *swd_ipt_entry_build(const struct swd_ipt_spec *spec) {
    size_t port_size = swd_ipt_port_match_size(spec);
    size_t type_size = spec->destination_type != 0
        ? XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_addrtype_info_v1))
        : 0;
    size_t state_size = spec->connection_states != 0
        ? XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(sizeof(struct xt_conntrack_mtinfo3))
        : 0;
    size_t target_size;
    if (spec->target_kind == SWD_TARGET_STANDARD)
        target_size = XT_ALIGN(sizeof(struct xt_standard_target));
    else if (spec->target_kind == SWD_TARGET_DNAT)
        target_size = XT_ALIGN(sizeof(struct xt_entry_target))
            + XT_ALIGN(sizeof(struct nf_nat_range2));
    else
        target_size = XT_ALIGN(sizeof(struct xt_entry_target))
            + XT_ALIGN(sizeof(struct nf_nat_ipv4_multi_range_compat));
    size_t head = XT_ALIGN(sizeof(struct ipt_entry));
    size_t size = head + port_size + type_size + state_size + target_size;
    struct ipt_entry *entry = calloc(1, size);
    if (entry == NULL) return NULL;
    entry->ip.src.s_addr = spec->source;
    entry->ip.smsk.s_addr = spec->source_mask;
    if (spec->source_inverted) entry->ip.invflags |= IPT_INV_SRCIP;
    entry->ip.dst.s_addr = spec->destination;
    entry->ip.dmsk.s_addr = spec->destination_mask;
    if (spec->destination_inverted) entry->ip.invflags |= IPT_INV_DSTIP;
    if (spec->in != NULL && spec->in[0] != '\0') {
        swd_ipt_set_interface(entry->ip.iniface, entry->ip.iniface_mask, spec->in);
        if (spec->in_inverted) entry->ip.invflags |= IPT_INV_VIA_IN;
    }
    if (spec->out != NULL && spec->out[0] != '\0') {
        swd_ipt_set_interface(entry->ip.outiface, entry->ip.outiface_mask, spec->out);
        if (spec->out_inverted) entry->ip.invflags |= IPT_INV_VIA_OUT;
    }
    entry->ip.proto = spec->protocol;

    char *cursor = (char *)entry + head;
    if (port_size != 0) {
        struct xt_entry_match *m = (struct xt_entry_match *)cursor;
        m->u.match_size = (uint16_t)port_size;
        uint16_t sport_min = spec->source_port, sport_max = spec->source_port;
        uint16_t dport_min = spec->destination_port, dport_max = spec->destination_port;
        if (spec->source_port == 0) { sport_min = 0; sport_max = 0xFFFF; }
        if (spec->destination_port == 0) { dport_min = 0; dport_max = 0xFFFF; }
        if (spec->protocol == IPPROTO_TCP) {
            strcpy(m->u.user.name, "tcp");
            struct xt_tcp *tcp = (struct xt_tcp *)m->data;
            tcp->spts[0] = sport_min; tcp->spts[1] = sport_max;
            tcp->dpts[0] = dport_min; tcp->dpts[1] = dport_max;
        } else {
            strcpy(m->u.user.name, "udp");
            struct xt_udp *udp = (struct xt_udp *)m->data;
            udp->spts[0] = sport_min; udp->spts[1] = sport_max;
            udp->dpts[0] = dport_min; udp->dpts[1] = dport_max;
        }
        cursor += port_size;
    }
    if (type_size != 0) {
        struct xt_entry_match *m = (struct xt_entry_match *)cursor;
        m->u.match_size = (uint16_t)type_size;
        strcpy(m->u.user.name, "addrtype");
        m->u.user.revision = 1;
        struct xt_addrtype_info_v1 *info = (struct xt_addrtype_info_v1 *)m->data;
        info->dest = spec->destination_type;
        cursor += type_size;
    }
    if (state_size != 0) {
        /* Revision 3, the one iptables 1.8 writes for --ctstate. */
        struct xt_entry_match *m = (struct xt_entry_match *)cursor;
        m->u.match_size = (uint16_t)state_size;
        strcpy(m->u.user.name, "conntrack");
        m->u.user.revision = 3;
        struct xt_conntrack_mtinfo3 *info = (struct xt_conntrack_mtinfo3 *)m->data;
        info->match_flags = XT_CONNTRACK_STATE;
        info->state_mask = spec->connection_states;
        cursor += state_size;
    }

    entry->target_offset = (uint16_t)(head + port_size + type_size + state_size);
    entry->next_offset = (uint16_t)size;
    struct xt_entry_target *t = (struct xt_entry_target *)cursor;
    t->u.user.target_size = (uint16_t)target_size;
    strncpy(t->u.user.name, spec->target, sizeof(t->u.user.name) - 1);
    if (spec->target_kind == SWD_TARGET_MASQUERADE) {
        struct nf_nat_ipv4_multi_range_compat *range = (void *)t->data;
        range->rangesize = 1; /* the kernel's MASQUERADE check wants exactly one range */
    } else if (spec->target_kind == SWD_TARGET_DNAT) {
        /* Revision 2, the one iptables 1.8 writes and iptables-save prints. */
        t->u.user.revision = 2;
        struct nf_nat_range2 *range = (void *)t->data;
        range->flags = NF_NAT_RANGE_MAP_IPS;
        range->min_addr.ip = range->max_addr.ip = spec->nat_address;
        if (spec->nat_port != 0) {
            range->flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
            range->min_proto.all = range->max_proto.all = htons(spec->nat_port);
        }
    }
    return entry;
}

/* A match mask for iptc_check_entry and iptc_delete_entry: every byte of `entry` counts. */
static inline unsigned char *swd_ipt_match_mask(const struct ipt_entry *entry) {
    unsigned char *mask = malloc(entry->next_offset);
    if (mask != NULL) memset(mask, 0xFF, entry->next_offset);
    return mask;
}

static inline void swd_ipt_mask_free(unsigned char *mask) { free(mask); }

static inline void swd_ipt_entry_free(struct ipt_entry *entry) { free(entry); }

static inline uint32_t swd_ipt_entry_source(const struct ipt_entry *e) { return e->ip.src.s_addr; }
static inline uint32_t swd_ipt_entry_source_mask(const struct ipt_entry *e) {
    return e->ip.smsk.s_addr;
}
static inline const char *swd_ipt_entry_in(const struct ipt_entry *e) { return e->ip.iniface; }
static inline const char *swd_ipt_entry_out(const struct ipt_entry *e) { return e->ip.outiface; }
static inline int swd_ipt_entry_in_inverted(const struct ipt_entry *e) {
    return (e->ip.invflags & IPT_INV_VIA_IN) != 0;
}
static inline int swd_ipt_entry_out_inverted(const struct ipt_entry *e) {
    return (e->ip.invflags & IPT_INV_VIA_OUT) != 0;
}

/*
 * Reports whether the rule has criteria beyond source, interfaces and target: matches, a
 * protocol, a destination, fragment flags, or a negated source.
 */
static inline int swd_ipt_entry_has_other_criteria(const struct ipt_entry *e) {
    return e->target_offset != XT_ALIGN(sizeof(struct ipt_entry)) || e->ip.proto != 0
        || e->ip.dmsk.s_addr != 0 || e->ip.flags != 0
        || (e->ip.invflags & ~(IPT_INV_VIA_IN | IPT_INV_VIA_OUT)) != 0;
}

#endif
