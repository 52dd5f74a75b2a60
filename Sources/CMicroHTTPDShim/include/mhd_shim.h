// Fixed-signature wrappers for the variadic libmicrohttpd entry points, which Swift
// cannot call (MHD_start_daemon, MHD_get_connection_info, MHD_get_daemon_info).
#pragma once
#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdarg.h>
#include <microhttpd.h>

/// Receives one formatted MHD error-log line (no trailing newline guaranteed).
typedef void (*mhd_shim_log_fn)(void *cls, const char *line);

struct mhd_shim_config {
    /// Numeric address or host name to bind ("127.0.0.1", "::", "0.0.0.0", "localhost").
    const char *host;
    /// 0 = ephemeral; read the bound port back with mhd_shim_bound_port.
    uint16_t port;
    unsigned int flags;                 // MHD_FLAG bits (threading, epoll, suspend/resume, ...)
    unsigned int connection_timeout;    // seconds, 0 = never (MHD default; avoid)
    unsigned int connection_limit;      // 0 = MHD default (FD_SETSIZE-4)
    unsigned int per_ip_connection_limit; // 0 = off
    size_t connection_memory_limit;    // 0 = MHD default (32 KiB)
    unsigned int thread_pool_size;      // 0/1 = one internal polling thread
    unsigned int listen_backlog;        // 0 = SOMAXCONN
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    mhd_shim_log_fn logger;             // may be NULL
    void *logger_cls;
};

/// Starts a daemon with the options above (built as an MHD_OPTION_ARRAY).
/// Returns NULL on failure; *error_out (if not NULL) then holds a short reason.
struct MHD_Daemon *mhd_shim_start(const struct mhd_shim_config *config, const char **error_out);

/// The port the daemon is bound to (useful with port 0), 0 if unknown.
uint16_t mhd_shim_bound_port(struct MHD_Daemon *daemon);

/// Connections MHD currently holds, including suspended and idle keep-alive ones.
unsigned int mhd_shim_current_connections(struct MHD_Daemon *daemon);

/// The socket of a connection, -1 if unknown. Used to poll for a vanished peer while suspended.
int mhd_shim_connection_fd(struct MHD_Connection *connection);

/// poll()s fd without waiting; returns 1 if the peer hung up or the socket errored.
int mhd_shim_peer_gone(int fd);
