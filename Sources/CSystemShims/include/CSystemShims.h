#ifndef C_SYSTEM_SHIMS_H
#define C_SYSTEM_SHIMS_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sched.h>

/// Number of CPUs this process may run on (honours taskset and cgroup cpusets).
int c_shims_available_cpus(void);



/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; Glibc's module map hides it behind _GNU_SOURCE.
int c_shims_accept_nonblocking(int listen_fd);

/// Sets the calling thread's nice value (Linux: per thread). Returns 0 or -1 with errno.
int c_shims_set_thread_niceness(int niceness);

/// Names the calling thread for top -H, ps -L and perf (the first 15 bytes; the kernel keeps no more).
void c_shims_name_thread(const char *name);
#endif
