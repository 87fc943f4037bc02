#define _GNU_SOURCE
#include "swd_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(struct bpf_insn) == sizeof(swd_bpf_instruction),
               "struct bpf_insn is 8 bytes");

static int swd_bpf(int command, union bpf_attr *attr) {
    return (int)syscall(SYS_bpf, command, attr, sizeof(*attr));
}

int swd_bpf_load_cgroup_device(const swd_bpf_instruction *instructions, uint32_t count,
                               const char *license, char *log, uint32_t log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = count;
    attr.insns = (uint64_t)(uintptr_t)instructions;
    attr.license = (uint64_t)(uintptr_t)license;
    int fd = swd_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0 || log == NULL || log_size == 0) return fd;

    /* Load again only to fetch the verifier's log; keep the first errno. */
    int saved = errno;
    log[0] = '\0';
    attr.log_level = 1;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = log_size;
    int retry = swd_bpf(BPF_PROG_LOAD, &attr);
    log[log_size - 1] = '\0';
    if (retry >= 0) {
        /* The second load succeeded: use it rather than fail. */
        return retry;
    }
    errno = saved;
    return -1;
}

int swd_bpf_attach_cgroup_device(int program_fd, int cgroup_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)program_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    return swd_bpf(BPF_PROG_ATTACH, &attr);
}

int swd_bpf_count_cgroup_device(int cgroup_fd, uint32_t *count) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    /* prog_ids stays NULL: the kernel then stores only the count. */
    if (swd_bpf(BPF_PROG_QUERY, &attr) != 0) return -1;
    *count = attr.query.prog_cnt;
    return 0;
}
