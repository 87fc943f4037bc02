#ifndef SWD_BPF_H
#define SWD_BPF_H

/*
 * bpf(2) for cgroup device programs. glibc has no bpf() wrapper, and union bpf_attr is a
 * large union that Swift should not fill by hand, so these functions build the attribute
 * and call syscall(SYS_bpf, ...). They can go once glibc or Swift's Glibc module offers bpf().
 */

#include <stdint.h>

/* The bytes of one struct bpf_insn (code, dst_reg and src_reg nibbles, off, imm) packed in
 * the host's byte order, so that an array of these is an array of struct bpf_insn. */
typedef uint64_t swd_bpf_instruction;

/*
 * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program with BPF_PROG_LOAD. On failure, when log is
 * not NULL, loads it again with verifier log level 1 so that log (log_size bytes, always
 * NUL-terminated) contains the verifier's reason. Returns the program fd (close-on-exec), or
 * -1 with errno set from the first load.
 */
int swd_bpf_load_cgroup_device(const swd_bpf_instruction *instructions, uint32_t count,
                               const char *license, char *log, uint32_t log_size);

/* Attaches program_fd to the cgroup directory cgroup_fd as BPF_CGROUP_DEVICE with
 * BPF_F_ALLOW_MULTI, so programs of ancestor cgroups keep running too. */
int swd_bpf_attach_cgroup_device(int program_fd, int cgroup_fd);

/* Stores in *count the number of BPF_CGROUP_DEVICE programs attached to the cgroup itself
 * (BPF_PROG_QUERY without BPF_F_QUERY_EFFECTIVE). Returns 0, or -1 with errno set. */
int swd_bpf_count_cgroup_device(int cgroup_fd, uint32_t *count);

#endif
