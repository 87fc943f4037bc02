#define _GNU_SOURCE
#include "swd_quota.h"

#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/quota.h>

static int swd_quotactl(int command, const char *device, uint32_t id, void *data) {
    return quotactl(QCMD(command, PRJQUOTA), device, (int)id, (caddr_t)data);
}

int swd_project_quota_state(const char *device, int *accounting, int *enforcing) {
    struct fs_quota_stat state;
    memset(&state, 0, sizeof state);
    if (swd_quotactl(Q_XGETQSTAT, device, 0, &state) != 0) return -1;
    *accounting = (state.qs_flags & FS_QUOTA_PDQ_ACCT) != 0;
    *enforcing = (state.qs_flags & FS_QUOTA_PDQ_ENFD) != 0;
    return 0;
}

int swd_set_project_quota(const char *device, uint32_t project, uint64_t bytes) {
    struct fs_disk_quota limit;
    memset(&limit, 0, sizeof limit);
    limit.d_version = FS_DQUOT_VERSION;
    limit.d_flags = FS_PROJ_QUOTA;
    limit.d_id = project;
    limit.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT;
    limit.d_blk_hardlimit = bytes / 512;
    limit.d_blk_softlimit = bytes / 512;
    return swd_quotactl(Q_XSETQLIM, device, project, &limit);
}

int swd_get_project_id(int fd, uint32_t *project) {
    struct fsxattr attributes;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attributes) != 0) return -1;
    *project = attributes.fsx_projid;
    return 0;
}

int swd_set_project_id(int fd, uint32_t project) {
    struct fsxattr attributes;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attributes) != 0) return -1;
    attributes.fsx_projid = project;
    attributes.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    return ioctl(fd, FS_IOC_FSSETXATTR, &attributes);
}
