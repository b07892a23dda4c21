// The LD_PRELOAD interposer's shared declarations: the wire protocol v1 pieces it speaks (protocol/README.md,
// byte by byte), the delegated socket record, and the channel/pump entry points. protocol/README.md, "The
// interposer", says what it does with them.
#ifndef LINSOCK_INTERPOSER_H
#define LINSOCK_INTERPOSER_H
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>

// ---- wire (protocol/wire.ts, wire-layout.ts) ----
enum {
  FT_HELLO = 0x01, FT_CLOCK = 0x02, FT_SOCKET = 0x10, FT_CONNECT = 0x11, FT_BIND = 0x12, FT_LISTEN = 0x13, FT_SEND = 0x14,
  FT_SHUTDOWN = 0x15, FT_CLOSE = 0x16, FT_SENDTO = 0x17, FT_LOOKUP = 0x18, FT_SETSOCKOPT = 0x19, FT_GETSOCKOPT = 0x1a,
  FT_GETSOCKNAME = 0x1b, FT_GETPEERNAME = 0x1c, FT_STAMPS = 0x1d, FT_SENDMSG = 0x1e, FT_PASS_FD = 0x1f, FT_GOODBYE = 0x20, FT_CREDIT = 0x21, FT_OK = 0x80,
  FT_ERROR = 0x81, FT_HELLO_OK = 0x82, FT_CLOCK_OK = 0x83, FT_ADDRESS = 0x84, FT_LOOKUP_OK = 0x85, FT_DATA = 0xc0,
  FT_DATAGRAM = 0xc1, FT_ACCEPTED = 0xc2, FT_PEER_CLOSED = 0xc3, FT_SOCKET_ERROR = 0xc4, FT_CLOSED = 0xc5,
};
#define WIRE_VERSION 1
#define HDR 16
#define FLAG_NO_REPLY 0x01
#define CAP_STAMPS 0x01
#define CAP_PUSH_DATA 0x02
#define CAP_FD_PASS 0x08
/** The payload limit this guest offers in HELLO (the protocol's default). */
#define OFFERED_MAX_PAYLOAD (256u * 1024u)
#define MIN_MAX_PAYLOAD 4096u
#define MAX_PAYLOAD_CEILING (16u * 1024u * 1024u)
/** The push credit the daemon starts every socket with (DEFAULT_INITIAL_CREDIT): our receive window. */
#define PUSH_WINDOW (1024u * 1024u)
/** The largest reply payload we keep (lookupOk: 1 + 64 x 19 bytes). */
#define MAX_REPLY 1217
#define SOCKOPT_TCP_NODELAY 0
#define SOCKOPT_SO_KEEPALIVE 1

struct endpoint {
  uint8_t family; /* 4 or 6 */
  uint16_t port;
  uint8_t addr[16];
};

struct reply {
  uint8_t type;
  uint32_t len;
  uint8_t payload[MAX_REPLY];
};

/** Bytes an endpoint takes on the wire (7 or 19). */
size_t endpoint_size(const struct endpoint *e);
size_t put_endpoint(uint8_t *p, const struct endpoint *e);
/** Reads an endpoint from p[0..n); returns its size, 0 when malformed. */
size_t get_endpoint(const uint8_t *p, size_t n, struct endpoint *e);
int sockaddr_to_endpoint(const struct sockaddr *sa, socklen_t len, struct endpoint *e);
/** Writes e as a sockaddr of at most *len bytes (truncated like the kernel) and sets *len to its full size. */
void endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr *sa, socklen_t *len);
void put_u16(uint8_t *p, uint16_t v);
void put_u32(uint8_t *p, uint32_t v);
uint16_t get_u16(const uint8_t *p);
uint32_t get_u32(const uint8_t *p);
/** The kernel errno for a wire errno code (protocol/errno.ts order); EIO for unknown codes. */
int wire_errno(uint8_t code);
/** The wire errno code's name, for getaddrinfo's mapping; NULL when unknown. */
const char *wire_errno_name(uint8_t code);
/** Checks a host->guest frame's header and its payload length for its type; 0 when valid. */
int check_host_frame(const uint8_t *h, uint32_t max_payload);
/** Checks the fields inside a host frame's whole payload (errno codes, names, endpoints); 0 when valid. */
int check_reply_payload(uint8_t type, const uint8_t *p, uint32_t len);

// ---- delegated sockets ----
enum sock_state { S_NEW, S_CONNECTING, S_CONNECTED, S_LISTENING, S_FAILED };

struct lsock {
  int app_fd;            /* the application's end of the socketpair; -1 while an accepted one is in flight */
  int pump_fd;           /* ours, non-blocking; -1 once finalized */
  dev_t dev;             /* identity of app_fd's socketpair end, to spot a reused fd number */
  ino_t ino;
  uint32_t handle;
  int family;            /* AF_INET or AF_INET6 */
  enum sock_state state;
  int so_error;
  uint32_t send_credit;  /* bytes we may still send (helloOk.initialCredit, refilled by credit frames) */
  uint32_t push_outstanding; /* pushed bytes not yet granted back: at most PUSH_WINDOW */
  uint32_t credit_owed;  /* bytes moved to the app, to grant back */
  uint8_t *rx;           /* pushed bytes the socketpair did not take yet */
  size_t rx_head, rx_len, rx_cap;
  int peer_closed;       /* EOF (or error) from the daemon: shut the app's read side after rx */
  int rx_shut;           /* done */
  int app_eof;           /* read EOF from pump_fd: the app shut its write side or closed */
  int hup;               /* the app's end is closed */
  int nodelay, keepalive;
  int udp;               /* a UDP socket: the socketpair is SOCK_SEQPACKET, one datagram behind a DGRAM_HDR each */
  uint32_t udp_need;     /* the application's next datagram waits for this much send credit */
  int udp_failed;        /* a send failed: the daemon may keep that datagram's credit (exit.c does not wait for it) */
  int foreign;           /* another process's socket (inherit.c): no pump here, answered from its label */
  int labelled;          /* app_fd carries its label (inherit.c) */
  struct endpoint local, remote; /* as far as known (family 0: not) */
  int in_epoll;          /* the program added app_fd to an epoll set: never swap it (fdpass.c) */
  unsigned fork_gen;     /* g_forks when it was made: a fork since may share app_fd (fdpass.c) */
  struct lsock *next;
};

// ---- the channel and its pump (channel.c, pump.c) ----
extern pthread_mutex_t g_lock;
extern pthread_cond_t g_cond;
extern uint32_t g_max_payload, g_init_credit;
extern struct lsock *g_socks;

/** Opens the channel (HELLO) and starts the pump when it is not up; 0, or -1 with errno. Caller holds g_lock. */
int channel_ensure(void);
/** Queues one frame (header + payload) for the channel. Caller holds g_lock. */
int channel_queue(uint8_t type, uint8_t flags, uint32_t id, uint32_t handle, const void *payload, uint32_t len);
uint32_t channel_next_id(void);
/** Sends a request and waits for its reply; 0 with *r filled (FT_ERROR replies set errno and return -1). Caller holds g_lock. */
int channel_call(uint8_t type, uint32_t handle, const void *payload, uint32_t len, struct reply *r);
/** Sends connect and returns; the pump applies the reply to s (non-blocking connect). Caller holds g_lock. */
int channel_call_async_connect(struct lsock *s, const struct endpoint *e);
/** Wakes the pump so that it polls a changed set of sockets. */
void channel_wake(void);
int channel_is_internal_fd(int fd);
/** The pump thread's body (pump.c). */
void *pump_main(void *arg);
/** Applies one whole, checked frame from the daemon. Caller holds g_lock (pump.c). */
void pump_dispatch(const uint8_t *h, const uint8_t *p, uint32_t len);
/** Pending requests (channel.c): hands a reply to its waiter; 1 when the id was one. */
int pending_complete(uint32_t id, uint8_t type, const uint8_t *p, uint32_t len);
/** The channel failed: every waiter gets ECONNRESET, every socket EOF. Caller holds g_lock. */
void channel_fail(const char *why);
/** Writes what the channel's queue holds, as far as the socket takes it now; -1 when the channel broke. */
int channel_flush(void);
extern int g_chan_fd, g_wake_fd, g_chan_dead;
extern size_t g_outq_len;

/** A new delegated socket for `handle` with a fresh socketpair; NULL with errno. Caller holds g_lock. */
struct lsock *lsock_new(uint32_t handle, int family, int type_flags, int udp);
struct lsock *lsock_by_fd(int fd);
void lsock_forget_fd(int fd);
void lsock_set_fd(struct lsock *s);
/** In a forked child: the parent keeps pumping the shared sockets; the child drops its copies of our ends. */
void pump_after_fork_child(void);
void channel_after_fork_child(void);

// ---- the passed-descriptor plane (fdpass.c) ----
/** Whether helloOk granted CAP_FD_PASS (offered on a Unix socket unless LINSOCK_FD_PASS=0). */
extern int g_fd_pass_on;
/** Forks of this process so far (counted in the parent). */
extern unsigned g_forks;
/** A descriptor read_channel received (SCM_RIGHTS): kept for the passFd reply it came with. Caller holds g_lock. */
void fdpass_received(int fd);
/** Swaps fd (s's app_fd, just connected) for the host socket when it is safe and linsockd agrees. Caller holds g_lock. */
void fdpass_try(struct lsock *s, int fd);
/** The program closes fd: a passed socket's handle is closed on linsockd. Caller holds g_lock. */
void fdpass_on_close(int fd);
void fdpass_after_fork_child(void);

// ---- sockets other processes hold (inherit.c) ----
/** Binds s's socketpair end to its label (kind 'L' listening, 'C' connected, 'U' udp), once. */
void label_socket(struct lsock *s, char kind);
/** A fresh token for this process's labels (at start and in a forked child). */
void label_new_token(void);
/** The foreign record for a labelled fd this process does not know yet (NULL: not delegated). Caller holds g_lock or is alone. */
struct lsock *lsock_foreign(int fd);
/** lsock_by_fd, else lsock_foreign. */
struct lsock *lsock_lookup(int fd);
/** An fd accept() received: our own in-flight accepted socket, else a foreign record. */
struct lsock *lsock_adopt_accepted(int fd);
/** Records every labelled fd the process holds (after exec, after fork). */
void inherit_scan(void);
/** LINSOCK_GUEST_SOCKET as it was at load (a program may clear its environment, as nginx's workers do). */
extern char g_guest_path[108];

// ---- UDP (udp.c: the application's side; udp-pump.c: the pump's) ----
/** Each datagram in a UDP socketpair starts with this header: u8 family (0: the connected peer, 4, 6;
 * DGRAM_ERROR: no datagram but an error), u16 port, 16 address bytes (IPv4 in the first 4) -- the wire's
 * endpoint layout, padded to one size. */
#define DGRAM_HDR 19
/** The largest UDP payload (IPv4: 65535 - 20 - 8), as the daemon allows. */
#define MAX_DATAGRAM 65507
/** fds below this can be delegated UDP sockets: a flag per fd lets every read/write skip the lock. */
#define UDP_FD_LIMIT 65536
extern volatile uint8_t g_udp_fd[UDP_FD_LIMIT];
/** Moves the application's datagrams to the channel within the send credit. Caller holds g_lock. */
void udp_take(struct lsock *s);
/** Writes a pushed datagram into the socketpair (dropped when it is full); -1 beyond the push window. */
int udp_on_datagram(struct lsock *s, const uint8_t *p, uint32_t len);
/** A UDP socket's asynchronous error (a failed send): pending for the next send, and queued as an error
 * record (family DGRAM_ERROR, the errno in the port field) that wakes and fails the next receive. */
void udp_on_error(struct lsock *s, int err);
#define DGRAM_ERROR 0xff

// ---- libc (dlsym RTLD_NEXT) ----
struct addrinfo;
struct mmsghdr;
struct timespec;
struct epoll_event;
struct real_fns {
  int (*socket)(int, int, int);
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*bind)(int, const struct sockaddr *, socklen_t);
  int (*listen)(int, int);
  int (*accept)(int, struct sockaddr *, socklen_t *);
  int (*accept4)(int, struct sockaddr *, socklen_t *, int);
  int (*getsockname)(int, struct sockaddr *, socklen_t *);
  int (*getpeername)(int, struct sockaddr *, socklen_t *);
  int (*setsockopt)(int, int, int, const void *, socklen_t);
  int (*getsockopt)(int, int, int, void *, socklen_t *);
  int (*shutdown)(int, int);
  int (*close)(int);
  int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  ssize_t (*send)(int, const void *, size_t, int);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*write)(int, const void *, size_t);
  ssize_t (*readv)(int, const struct iovec *, int);
  ssize_t (*writev)(int, const struct iovec *, int);
  int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
  int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
  ssize_t (*read_chk)(int, void *, size_t, size_t);
  ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
  ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
  void (*freeaddrinfo)(struct addrinfo *);
  ssize_t (*sendfile)(int, int, off_t *, size_t);
  int (*epoll_ctl)(int, int, int, struct epoll_event *);
};
extern struct real_fns real;
void real_init(void);
/** Whether LINSOCK_GUEST_SOCKET was set: otherwise every call goes to libc. */
extern int g_enabled;
void diag(const char *fmt, ...);

// ---- trace-only mode (trace.c): the program's own kernel calls, timed ----
/** protocol/trace.ts OPS indices (append-only there). */
enum {
  OP_SOCKET = 0, OP_CONNECT = 1, OP_BIND = 2, OP_LISTEN = 3, OP_ACCEPT = 4, OP_SEND = 5, OP_RECV = 6, OP_SHUTDOWN = 7,
  OP_CLOSE = 8, OP_SENDTO = 9, OP_RECVFROM = 10, OP_LOOKUP = 11, OP_SETSOCKOPT = 12, OP_GETSOCKOPT = 13,
  OP_GETSOCKNAME = 14, OP_GETPEERNAME = 15, OP_SENDMSG = 16,
};
#define TRACE_FD_LIMIT 65536
/** Whether trace-only mode is on (LINSOCK_TRACE_SOCKET set, not delegating). */
extern int g_trace_kernel;
/** Whether calls on flagged fds are timed: trace-only mode, or a delegated run's passed sockets (fdpass.c). */
extern int g_trace_calls;
/** A flag per fd: an AF_INET/AF_INET6 TCP or UDP socket of the program's, so other fds skip the clock. */
extern volatile uint8_t g_trace_fd[TRACE_FD_LIMIT];
void trace_init(void);
void trace_after_fork_child(void);
uint64_t trace_now(void);
/** Records one call that entered at `enter` and returned rc (errno err when rc < 0); keeps errno = err. */
void trace_kernel(uint8_t op, int fd, uint64_t enter, long rc, int err);
void trace_mark_socket(int fd, int domain, int type);
/** Records one getaddrinfo of a name that returned rc (errno err for EAI_SYSTEM); keeps errno = err. */
void trace_lookup(uint64_t enter, int rc, int err);
int trace_is_internal_fd(int fd);
static inline int trace_fd_on(int fd) { return g_trace_calls && fd >= 0 && fd < TRACE_FD_LIMIT && g_trace_fd[fd]; }
/** In a hook: when fd is traced, makes `call` timed and returns its result. */
#define TRACE_KERNEL(op, fd, call) do { \
    if (trace_fd_on(fd)) { uint64_t t0_ = trace_now(); __typeof__(call) r_ = (call); trace_kernel((op), (fd), t0_, (long)r_, errno); return r_; } \
  } while (0)

// ---- delegated tracing (stamps.c): guest stage stamps in `stamps` frames ----
/** Whether stamps go to the daemon: LINSOCK_TRACE_STAMPS=1 asked for them and helloOk accepted. */
extern int g_stamps_on;
/** One guest part (see stamps.c for what the times mean per kind). Caller holds g_lock. */
void stamp_add(uint32_t id, uint64_t enter, uint64_t out, uint64_t in, uint64_t ret);
/** Queues the batch when it is due (or now, `force`). Caller holds g_lock. */
void stamps_flush(int force);
void stamps_after_fork_child(void);

#endif
