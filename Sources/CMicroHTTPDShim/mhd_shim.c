#define _GNU_SOURCE 1   // POLLRDHUP
#include "mhd_shim.h"
#include <stdlib.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

// MHD hands the logger a printf format + va_list; format it here so Swift gets a plain string.
struct log_target { mhd_shim_log_fn fn; void *cls; };

static void shim_logger(void *cls, const char *fmt, va_list ap) {
    struct log_target *t = cls;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    t->fn(t->cls, line);
}

struct MHD_Daemon *mhd_shim_start(const struct mhd_shim_config *c, const char **error_out) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned) c->port);
    int gai = getaddrinfo(c->host, port_text, &hints, &res);
    if (gai != 0 || res == NULL) {
        if (error_out) *error_out = "cannot resolve host";
        return NULL;
    }
    unsigned int flags = c->flags;
    if (res->ai_family == AF_INET6) flags |= MHD_USE_IPv6;

    // The logger target must outlive the daemon and MHD has no hook to free it, so it is
    // deliberately leaked: 16 bytes per daemon start, and a process starts a few daemons.
    struct log_target *target = NULL;
    if (c->logger != NULL && (target = malloc(sizeof *target)) != NULL) {
        target->fn = c->logger;
        target->cls = c->logger_cls;
    }

    struct MHD_OptionItem ops[16];
    int n = 0;
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, res->ai_addr };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t) c->connection_timeout, NULL };
    if (c->connection_limit > 0)
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t) c->connection_limit, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t) c->per_ip_connection_limit, NULL };
    if (c->connection_memory_limit > 0)
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t) c->connection_memory_limit, NULL };
    if (c->thread_pool_size > 1)
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t) c->thread_pool_size, NULL };
    if (c->listen_backlog > 0)
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, (intptr_t) c->listen_backlog, NULL };
    if (c->completed != NULL)
        // Two-pointer options: the function goes in `value`, its closure in `ptr_value`.
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) c->completed, c->completed_cls };
    if (target != NULL)
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) shim_logger, target };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

    struct MHD_Daemon *d = MHD_start_daemon(flags, c->port, NULL, NULL, c->handler, c->handler_cls,
                                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    freeaddrinfo(res);   // MHD copies the address when it binds
    if (d == NULL && error_out) *error_out = "MHD_start_daemon failed (port in use or bad option)";
    return d;
}

uint16_t mhd_shim_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

unsigned int mhd_shim_current_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

int mhd_shim_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

int mhd_shim_peer_gone(int fd) {
    if (fd < 0) return 0;
    struct pollfd p = { .fd = fd, .events = POLLRDHUP, .revents = 0 };
    if (poll(&p, 1, 0) <= 0) return 0;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) ? 1 : 0;
}
