/**
 * The libc symbols spliced calls, as neutral data. Each backend (`deno.ts`,
 * `bun.ts`) maps these type names onto its own FFI type names.
 *
 * Type names: `i32`, `u32`, `usize` (size_t, passed as a JS number), `ptr`
 * (a typed array or `null`). Results that are `ssize_t` are declared `i32`:
 * spliced never asks for more than 1 GiB in one call, and -1 still reads as -1.
 *
 * @module
 */

/** One neutral FFI type name. */
export type NeutralType = "i32" | "u32" | "usize" | "ptr";

/** One C prototype: parameter types and result type. */
export interface SymbolSpec {
  readonly params: readonly NeutralType[];
  readonly result: NeutralType;
}

/** Every libc function the data plane uses, with its C prototype. */
export const SYMBOLS = {
  // int socket(int domain, int type, int protocol);
  socket: { params: ["i32", "i32", "i32"], result: "i32" },
  // int bind(int fd, const struct sockaddr *addr, socklen_t len);
  bind: { params: ["i32", "ptr", "u32"], result: "i32" },
  // int listen(int fd, int backlog);
  listen: { params: ["i32", "i32"], result: "i32" },
  // int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
  accept4: { params: ["i32", "ptr", "ptr", "i32"], result: "i32" },
  // int connect(int fd, const struct sockaddr *addr, socklen_t len);
  connect: { params: ["i32", "ptr", "u32"], result: "i32" },
  // int close(int fd);
  close: { params: ["i32"], result: "i32" },
  // int shutdown(int fd, int how);
  shutdown: { params: ["i32", "i32"], result: "i32" },
  // int setsockopt(int fd, int level, int name, const void *val, socklen_t len);
  setsockopt: { params: ["i32", "i32", "i32", "ptr", "u32"], result: "i32" },
  // int getsockopt(int fd, int level, int name, void *val, socklen_t *len);
  getsockopt: { params: ["i32", "i32", "i32", "ptr", "ptr"], result: "i32" },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *len);
  getsockname: { params: ["i32", "ptr", "ptr"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *len);
  getpeername: { params: ["i32", "ptr", "ptr"], result: "i32" },
  // int epoll_create1(int flags);
  epoll_create1: { params: ["i32"], result: "i32" },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
  epoll_ctl: { params: ["i32", "i32", "i32", "ptr"], result: "i32" },
  // int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms);
  epoll_wait: { params: ["i32", "ptr", "i32", "i32"], result: "i32" },
  // int pipe2(int fds[2], int flags);
  pipe2: { params: ["ptr", "i32"], result: "i32" },
  // int fcntl(int fd, int cmd, int arg);  (variadic in C; int arg on every ABI we support)
  fcntl: { params: ["i32", "i32", "i32"], result: "i32" },
  // ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags);
  splice: { params: ["i32", "ptr", "i32", "ptr", "usize", "u32"], result: "i32" },
  // ssize_t sendfile(int out, int in, off_t *offset, size_t count);
  sendfile: { params: ["i32", "i32", "ptr", "usize"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);
  read: { params: ["i32", "ptr", "usize"], result: "i32" },
  // ssize_t recv(int fd, void *buf, size_t len, int flags);
  recv: { params: ["i32", "ptr", "usize", "i32"], result: "i32" },
  // ssize_t send(int fd, const void *buf, size_t len, int flags);
  send: { params: ["i32", "ptr", "usize", "i32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { params: ["i32", "ptr", "usize"], result: "i32" },
  // int eventfd(unsigned initval, int flags);
  eventfd: { params: ["u32", "i32"], result: "i32" },
  // int getrlimit(int resource, struct rlimit *rlim);
  getrlimit: { params: ["i32", "ptr"], result: "i32" },
  // int setrlimit(int resource, const struct rlimit *rlim);
  setrlimit: { params: ["i32", "ptr"], result: "i32" },
  // int open(const char *path, int flags, mode_t mode);  (variadic in C)
  open: { params: ["ptr", "i32", "u32"], result: "i32" },
  // int openat(int dirfd, const char *path, int flags, mode_t mode);  (variadic in C)
  openat: { params: ["i32", "ptr", "i32", "u32"], result: "i32" },
  // long syscall(long number, ...);  declared in the one shape spliced uses, openat2:
  //   syscall(SYS_openat2, int dirfd, const char *path, struct open_how *how, size_t size).
  // glibc's syscall() is assembly that moves registers (number: full 64-bit %rdi/x0), so the
  // number goes as u32 (zero-extended on both backends) and the long result reads as i32 (fds, -1).
  syscall: { params: ["u32", "i32", "ptr", "ptr", "usize"], result: "i32" },
  // int fstat(int fd, struct stat *st);
  fstat: { params: ["i32", "ptr"], result: "i32" },
  // int *__errno_location(void);
  __errno_location: { params: [], result: "ptr" },
} as const satisfies Record<string, SymbolSpec>;

/** Names of the libc functions in {@link SYMBOLS}. */
export type SymbolName = keyof typeof SYMBOLS;
