#ifndef SWD_QUOTA_H
#define SWD_QUOTA_H

/*
 * Project quotas: the project ID of a directory (FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR)
 * and the block limit of a project (quotactl with the XFS-style Q_XGETQSTAT and Q_XSETQLIM
 * commands, which ext4 takes too). ioctl(2) is variadic, QCMD is a function-like macro and
 * struct fs_disk_quota lives in kernel headers that glibc's Swift module does not import,
 * so these stay in C for as long as Swift cannot reach them.
 */

#include <stdint.h>

/* Reads the project quota state of the file system on the block device node at device
 * (Q_XGETQSTAT for PRJQUOTA). Sets *accounting and *enforcing to 1 or 0. Returns 0, or -1
 * with errno set. */
int swd_project_quota_state(const char *device, int *accounting, int *enforcing);

/* Sets the hard and soft block limits of project on the file system of device to bytes
 * (rounded down to 512-byte blocks; 0 removes the limit). Returns 0, or -1 with errno set. */
int swd_set_project_quota(const char *device, uint32_t project, uint64_t bytes);

/* Reads the project ID of the open file or directory fd. Returns 0, or -1 with errno set. */
int swd_get_project_id(int fd, uint32_t *project);

/* Gives the open directory fd the project ID project and the PROJINHERIT flag, so that
 * entries created below it get the same project. Returns 0, or -1 with errno set. */
int swd_set_project_id(int fd, uint32_t project);

#endif
