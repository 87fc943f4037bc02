/* libiptc (IPv4): the nat and filter tables. */
#ifndef SWD_IPTABLES_SHIM_H
#define SWD_IPTABLES_SHIM_H

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * ipt_entry and xt_entry_target end in flexible array members, which Swift does not import,
 * so entries are built and read here. The rule shape is the one swiftd needs: source network,
 * in and out interface (each optionally negated) and a target without options. A target that
 * is not a verdict or a chain name gets the option block of MASQUERADE when `masquerade` is
 * set. Other extension targets are not supported.
 */

/* Copies an interface name and its match mask as iptables does (exact name, no '+'). */
static inline void swd_ipt_set_interface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ],
                                         const char *value) {
    size_t length = strlen(value);
    if (length >= IFNAMSIZ) length = IFNAMSIZ - 1;
    memcpy(name, value, length);
    memset(mask, 0xFF, length + 1);
}

/*
 * Allocates a rule; free it with swd_ipt_entry_free. Addresses are in network byte order.
 * Returns NULL when out of memory.
 */
static inline struct ipt_entry *swd_ipt_entry_new(
    uint32_t source, uint32_t source_mask, const char *in, int in_inverted,
    const char *out, int out_inverted, const char *target, int masquerade) {
    size_t target_size = masquerade
        ? XT_ALIGN(sizeof(struct xt_entry_target))
            + XT_ALIGN(sizeof(struct nf_nat_ipv4_multi_range_compat))
        : XT_ALIGN(sizeof(struct xt_standard_target));
    size_t size = XT_ALIGN(sizeof(struct ipt_entry)) + target_size;
    struct ipt_entry *entry = calloc(1, size);
    if (entry == NULL) return NULL;
    entry->ip.src.s_addr = source;
    entry->ip.smsk.s_addr = source_mask;
    if (in != NULL && in[0] != '\0') {
        swd_ipt_set_interface(entry->ip.iniface, entry->ip.iniface_mask, in);
        if (in_inverted) entry->ip.invflags |= IPT_INV_VIA_IN;
    }
    if (out != NULL && out[0] != '\0') {
        swd_ipt_set_interface(entry->ip.outiface, entry->ip.outiface_mask, out);
        if (out_inverted) entry->ip.invflags |= IPT_INV_VIA_OUT;
    }
    entry->target_offset = XT_ALIGN(sizeof(struct ipt_entry));
    entry->next_offset = (uint16_t)size;
    struct xt_entry_target *t = (struct xt_entry_target *)((char *)entry + entry->target_offset);
    t->u.user.target_size = (uint16_t)target_size;
    strncpy(t->u.user.name, target, sizeof(t->u.user.name) - 1);
    if (masquerade) {
        struct nf_nat_ipv4_multi_range_compat *range = (void *)t->data;
        range->rangesize = 1; /* the kernel's MASQUERADE check wants exactly one range */
    }
    return entry;
}

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
 * Reports whether the rule has criteria that swd_ipt_entry_new cannot express: matches,
 * a protocol, a destination, fragment flags, or a negated source.
 */
static inline int swd_ipt_entry_has_other_criteria(const struct ipt_entry *e) {
    return e->target_offset != XT_ALIGN(sizeof(struct ipt_entry)) || e->ip.proto != 0
        || e->ip.dmsk.s_addr != 0 || e->ip.flags != 0
        || (e->ip.invflags & ~(IPT_INV_VIA_IN | IPT_INV_VIA_OUT)) != 0;
}

#endif
