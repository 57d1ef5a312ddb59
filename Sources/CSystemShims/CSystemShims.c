#define _GNU_SOURCE
#include "CSystemShims.h"
#include <sys/socket.h>
#include <pthread.h>
#include <string.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int c_shims_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return 1;
    }
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}

int c_shims_accept_nonblocking(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int c_shims_set_thread_niceness(int niceness) {
    /* On Linux, setpriority() with a thread id changes that thread only. */
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), niceness);
}

void c_shims_name_thread(const char *name) {
    char shortened[16];
    strncpy(shortened, name, sizeof shortened - 1);
    shortened[sizeof shortened - 1] = '\0';
    pthread_setname_np(pthread_self(), shortened);
}
