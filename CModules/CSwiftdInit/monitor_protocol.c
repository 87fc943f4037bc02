/*
 * The messages between the daemon and a container's monitor (see include/swd_init.h).
 * Used by the daemon and by swiftd-monitor; nothing here allocates.
 */
#define _GNU_SOURCE
#include "swd_init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned swd_count_bits(uint32_t mask) {
    unsigned count = 0;
    for (uint32_t bit = 1; bit <= SWD_MONITOR_STDERR; bit <<= 1)
        if (mask & bit) count++;
    return count;
}

int swd_monitor_send(int32_t socket, uint32_t type, int32_t value, uint32_t mask,
                     const int32_t *fds) {
    struct swd_monitor_message payload = {type, value, mask};
    struct iovec data = {&payload, sizeof payload};
    union {
        char buffer[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    memset(&control, 0, sizeof control);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    unsigned count = swd_count_bits(mask);
    if (count > 0) {
        int passed[3];
        unsigned index = 0, slot = 0;
        for (uint32_t bit = 1; bit <= SWD_MONITOR_STDERR; bit <<= 1, slot++)
            if (mask & bit) passed[index++] = fds[slot];
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(count * sizeof(int));
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(count * sizeof(int));
        memcpy(CMSG_DATA(header), passed, count * sizeof(int));
    }
    ssize_t sent;
    do sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) return -1;
    if ((size_t)sent != sizeof payload) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int swd_monitor_receive(int32_t socket, struct swd_monitor_message *payload, int32_t fds[3]) {
    for (int i = 0; i < 3; i++) fds[i] = -1;
    struct iovec data = {payload, sizeof *payload};
    union {
        char buffer[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t count;
    do count = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    while (count < 0 && errno == EINTR);
    if (count <= 0) return (int)count;

    int received[3] = {-1, -1, -1};
    unsigned got = 0;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header != NULL && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
        got = (unsigned)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        if (got > 3) got = 3;
        memcpy(received, CMSG_DATA(header), got * sizeof(int));
    }
    int valid = (size_t)count == sizeof *payload && !(message.msg_flags & MSG_CTRUNC) &&
                got == swd_count_bits(payload->mask);
    if (!valid) {
        for (unsigned i = 0; i < got; i++) close(received[i]);
        errno = EPROTO;
        return -1;
    }
    unsigned index = 0, slot = 0;
    for (uint32_t bit = 1; bit <= SWD_MONITOR_STDERR; bit <<= 1, slot++)
        if (payload->mask & bit) fds[slot] = received[index++];
    return 1;
}

int32_t swd_monitor_connect(const char *directory) {
    int dir = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    /* Through the directory's descriptor, so that a long root still fits in sun_path. */
    snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/%s", dir,
             SWD_MONITOR_SOCKET);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int saved = errno;
        close(dir);
        errno = saved;
        return -1;
    }
    int connected;
    do connected = connect(fd, (struct sockaddr *)&address, sizeof address);
    while (connected != 0 && errno == EINTR);
    int saved = errno;
    close(dir);
    /* A monitor that is stopped or stuck must not hold up the caller for long. */
    struct timeval timeout = {2, 0};
    if (connected == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
        saved = errno;
        connected = -1;
    }
    if (connected != 0) {
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}
