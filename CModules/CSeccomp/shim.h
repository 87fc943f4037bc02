/* libseccomp: builds seccomp BPF filters. seccomp_init, seccomp_rule_add_array,
 * seccomp_syscall_resolve_name, seccomp_arch_add and seccomp_export_bpf import as they are;
 * the SCMP_ACT_* function-like macros do not, so SwiftdSeccomp spells their values. */
#include <seccomp.h>
