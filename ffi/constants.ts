/**
 * Linux flags, errno numbers and struct layouts used by spliced, per CPU
 * architecture. Only x86_64 and aarch64 are supported; both use the generic
 * Linux values for everything here except `struct epoll_event` and
 * `struct stat`. glibc and musl agree on every value and layout here
 * (checked against musl 1.2.5's headers: docs/musl.md).
 *
 * @module
 */
import process from "node:process";

/** Address families and socket types. */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

/** Socket option levels and names. */
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const TCP_NODELAY = 1;
export const TCP_CORK = 3;

/** recv(2)/send(2) flags. */
export const MSG_PEEK = 0x2;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

/** shutdown(2) directions. */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** epoll. */
export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;

/** open(2), fcntl(2), pipes, eventfd. */
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_NOCTTY = 0o400;
/** open(2) O_PATH: an fd that names a place in the tree, for `*at` calls; no I/O. */
export const O_PATH = 0o10000000;
/** O_NOFOLLOW and O_DIRECTORY differ by architecture: aarch64 uses the 32-bit ARM values. */
export const O_NOFOLLOW = process.arch === "arm64" ? 0o100000 : 0o400000;
export const O_DIRECTORY = process.arch === "arm64" ? 0o40000 : 0o200000;
/** The dirfd meaning "the current directory" for `*at` calls. */
export const AT_FDCWD = -100;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;

/** openat2(2): its syscall number (the same on x86_64 and aarch64) and `struct open_how`. */
export const SYS_openat2 = 437;
/** sizeof(struct open_how): u64 flags, u64 mode, u64 resolve. */
export const OPEN_HOW_SIZE = 24;
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** splice(2) flags. SPLICE_F_MORE is deliberately absent: it stalls interactive traffic. */
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;

/** Resource limits. */
export const RLIMIT_NOFILE = 7;

/** errno values (positive; Sys calls return them negated). */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EXDEV = 18;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const EPIPE = 32;
export const ENOSYS = 38;
export const ELOOP = 40;
export const ENOTSOCK = 88;
export const EOPNOTSUPP = 95;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETUNREACH = 101;
export const ECONNABORTED = 103;
export const ECONNRESET = 104;
export const ENOBUFS = 105;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EHOSTUNREACH = 113;
export const EALREADY = 114;
export const EINPROGRESS = 115;

/** Short names for errno values, for messages. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [EINTR]: "EINTR", [ENXIO]: "ENXIO", [E2BIG]: "E2BIG", [EBADF]: "EBADF",
  [EAGAIN]: "EAGAIN", [ENOMEM]: "ENOMEM", [EACCES]: "EACCES", [EFAULT]: "EFAULT",
  [EXDEV]: "EXDEV", [ENOTDIR]: "ENOTDIR", [EISDIR]: "EISDIR", [ELOOP]: "ELOOP",
  [EINVAL]: "EINVAL", [ENFILE]: "ENFILE", [EMFILE]: "EMFILE", [EPIPE]: "EPIPE",
  [ENOSYS]: "ENOSYS", [ENOTSOCK]: "ENOTSOCK", [EOPNOTSUPP]: "EOPNOTSUPP",
  [EADDRINUSE]: "EADDRINUSE", [EADDRNOTAVAIL]: "EADDRNOTAVAIL",
  [ENETUNREACH]: "ENETUNREACH", [ECONNABORTED]: "ECONNABORTED",
  [ECONNRESET]: "ECONNRESET", [ENOBUFS]: "ENOBUFS", [ENOTCONN]: "ENOTCONN",
  [ETIMEDOUT]: "ETIMEDOUT", [ECONNREFUSED]: "ECONNREFUSED",
  [EHOSTUNREACH]: "EHOSTUNREACH", [EALREADY]: "EALREADY", [EINPROGRESS]: "EINPROGRESS",
};

/** Human text for errno values, as strerror(3) words them. */
export const ERRNO_TEXT: Readonly<Record<number, string>> = {
  [EADDRINUSE]: "address already in use",
  [EADDRNOTAVAIL]: "cannot assign requested address",
  [EACCES]: "permission denied",
  [ECONNREFUSED]: "connection refused",
  [ECONNRESET]: "connection reset by peer",
  [ETIMEDOUT]: "connection timed out",
  [ENETUNREACH]: "network is unreachable",
  [EHOSTUNREACH]: "no route to host",
  [EMFILE]: "too many open files",
  [EINVAL]: "invalid argument",
};

/** Text for a (positive) errno value. */
export function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ?? ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** Byte sizes of socket address structs. */
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** Room for any socket address we handle. */
export const SOCKADDR_MAX = 28;

/** Layout of `struct epoll_event`, counted in 32-bit words. */
export interface EpollLayout {
  /** Size of one event in bytes. */
  readonly size: number;
  /** Stride of one event in 32-bit words. */
  readonly strideWords: number;
  /** Word offset of the low 32 bits of `data.u64`. */
  readonly dataWord: number;
}

/** Layout of the fields of `struct stat` that spliced reads (byte offsets). */
export interface StatLayout {
  readonly size: number;
  readonly mode: number;
  readonly ino: number;
  readonly fileSize: number;
  readonly mtimeSec: number;
  readonly mtimeNsec: number;
}

/** Per-architecture layouts. */
interface ArchLayout {
  readonly epoll: EpollLayout;
  readonly stat: StatLayout;
}

const LAYOUTS: Readonly<Record<string, ArchLayout>> = {
  // x86_64: epoll_event is __attribute__((packed)): u32 events, u64 data = 12 bytes.
  x64: {
    epoll: { size: 12, strideWords: 3, dataWord: 1 },
    stat: { size: 144, mode: 24, ino: 8, fileSize: 48, mtimeSec: 88, mtimeNsec: 96 },
  },
  // aarch64: natural alignment: u32 events, 4 bytes padding, u64 data = 16 bytes.
  // struct stat is the generic one: st_atim at 72, st_mtim at 88, st_ctim at 104.
  arm64: {
    epoll: { size: 16, strideWords: 4, dataWord: 2 },
    stat: { size: 128, mode: 16, ino: 8, fileSize: 48, mtimeSec: 88, mtimeNsec: 96 },
  },
};

/** The layout of `struct epoll_event` on this (or the named) architecture. */
export function epollLayout(arch: string = process.arch): EpollLayout {
  const layout = LAYOUTS[arch];
  if (!layout) throw new RangeError(`unsupported CPU architecture: ${arch}`);
  return layout.epoll;
}

/** The layout of `struct stat` on this (or the named) architecture. */
export function statLayout(arch: string = process.arch): StatLayout {
  const layout = LAYOUTS[arch];
  if (!layout) throw new RangeError(`unsupported CPU architecture: ${arch}`);
  return layout.stat;
}

/** The file-type mask of `st_mode` and its values. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFSOCK = 0o140000;
