// LD_PRELOAD shim for fault injection in the real daemon (test/fs/durability.test.ts): with
// MIC_FAULT_DIR set, marker files in that directory switch faults on and off while the daemon runs:
//   fsync-eio    fsync/fdatasync of files under a sessions/ directory fail with EIO
//   short-write  every third write to a journal file writes half of what was asked, and the write after
//                it fails with ENOSPC (as a disk filling up mid-write does); each is noted in faults.log
//   trace        ftruncate, fsync and fdatasync calls are appended to trace.log as "<call> <path>"
//   stall-journal  a write to a journal file sleeps 30 s first (noted in faults.log): a window to kill in
//   rename-eio   a rename onto a path ending with one of the marker's lines (e.g. "/holder", a session's
//                holder ref, or "/metadata.json", its record: the local store writes every object by
//                rename) fails with EIO, as a store write error (test/session/store-write-fault.test.ts);
//                each is noted in faults.log
//   stall-shrink an ftruncate that shrinks a file under a files/ directory (a session's data file, or one
//                replaced and no longer named) waits while the marker exists (at most 20 s), noted in faults.log
//                as "shrink-stall <path>" before and "shrink-resume <path>" after (test/fs/truncate-off-loop.test.ts);
//                so does an open(2) with O_TRUNC of a non-empty file there (the kernel frees its pages in the open)
//   rename-stall as rename-eio, but the rename sleeps 3 s first and then succeeds (a slow store write: a
//                window to stop the daemon in; noted in faults.log before the sleep)
// Built by the test with gcc (scripts/install-deps.sh installs it).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int marker(const char *name) {
  const char *dir = getenv("MIC_FAULT_DIR");
  if (!dir) return 0;
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

static void path_of(int fd, char *out, size_t n) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, out, n - 1);
  out[len < 0 ? 0 : len] = 0;
}

static void note_path(const char *log, const char *call, const char *p) {
  char file[4096], line[8400];
  snprintf(file, sizeof file, "%s/%s", getenv("MIC_FAULT_DIR"), log);
  int len = snprintf(line, sizeof line, "%s %s\n", call, p);
  int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
  int t = real_open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (t >= 0) {
    ssize_t (*real_write)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");
    real_write(t, line, len);
    close(t);
  }
}

static void note(const char *log, const char *call, int fd) {
  char p[4096];
  path_of(fd, p, sizeof p);
  note_path(log, call, p);
}

static void trace(const char *call, int fd) {
  if (marker("trace")) note("trace.log", call, fd);
}

static int failing_sync(int fd) {
  if (!marker("fsync-eio")) return 0;
  char p[4096];
  path_of(fd, p, sizeof p);
  return strstr(p, "/sessions/") != NULL;
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = dlsym(RTLD_NEXT, "fsync");
  trace("fsync", fd);
  if (failing_sync(fd)) { errno = EIO; return -1; }
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
  trace("fdatasync", fd);

  if (failing_sync(fd)) { errno = EIO; return -1; }
  return real(fd);
}

static void stall_shrink(int fd, off_t len) {
  if (!marker("stall-shrink")) return;
  char p[4096];
  path_of(fd, p, sizeof p);
  struct stat st;
  if (!strstr(p, "/files/") || fstat(fd, &st) != 0 || st.st_size <= len) return;
  note_path("faults.log", "shrink-stall", p);
  for (int i = 0; i < 2000 && marker("stall-shrink"); i++) usleep(10000);
  note_path("faults.log", "shrink-resume", p);
}

/* stall-shrink for open(2) with O_TRUNC: the kernel frees a non-empty file's pages inside the open */
static void stall_open_trunc(const char *path, int flags) {
  if (!(flags & O_TRUNC) || !path || !strstr(path, "/files/") || !marker("stall-shrink")) return;
  struct stat st;
  if (stat(path, &st) != 0 || st.st_size == 0) return;
  note_path("faults.log", "shrink-stall", path);
  for (int i = 0; i < 2000 && marker("stall-shrink"); i++) usleep(10000);
  note_path("faults.log", "shrink-resume", path);
}

int open(const char *path, int flags, ...) {
  static int (*real)(const char *, int, ...);
  if (!real) real = dlsym(RTLD_NEXT, "open");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  stall_open_trunc(path, flags);
  return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  static int (*real)(const char *, int, ...);
  if (!real) real = dlsym(RTLD_NEXT, "open64");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  stall_open_trunc(path, flags);
  return real(path, flags, mode);
}

int ftruncate(int fd, off_t len) {
  static int (*real)(int, off_t);
  if (!real) real = dlsym(RTLD_NEXT, "ftruncate");
  trace("ftruncate", fd);
  stall_shrink(fd, len);
  return real(fd, len);
}

int ftruncate64(int fd, off_t len) {
  static int (*real)(int, off_t);
  if (!real) real = dlsym(RTLD_NEXT, "ftruncate64");
  trace("ftruncate", fd);
  stall_shrink(fd, len);
  return real(fd, len);
}

static int journal_writes;
static int fail_next;

/* How many bytes to pass on; -1: fail with ENOSPC. */
static ssize_t shortened(int fd, size_t count) {
  if (marker("stall-journal")) {
    char p[4096];
    path_of(fd, p, sizeof p);
    if (strstr(p, "/journal.")) { note("faults.log", "stall", fd); sleep(30); }
  }
  if (count < 2 || !marker("short-write")) return count;
  char p[4096];
  path_of(fd, p, sizeof p);
  if (!strstr(p, "/journal.")) return count;
  if (fail_next) { fail_next = 0; errno = ENOSPC; return -1; }
  if (++journal_writes % 3 != 0) return count;
  fail_next = 1;
  note("faults.log", "short-write", fd);
  return count / 2;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (!real) real = dlsym(RTLD_NEXT, "pwrite");
  ssize_t n = shortened(fd, count);
  return n < 0 ? -1 : real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
  ssize_t n = shortened(fd, count);
  return n < 0 ? -1 : real(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t count) {
  static ssize_t (*real)(int, const void *, size_t);
  if (!real) real = dlsym(RTLD_NEXT, "write");
  ssize_t n = shortened(fd, count);
  return n < 0 ? -1 : real(fd, buf, n);
}

/* rename-eio, rename-stall: does `to` end with one of the marker file's lines? */
static int rename_matches(const char *name, const char *to) {
  const char *dir = getenv("MIC_FAULT_DIR");
  if (!dir) return 0;
  char p[4096], buf[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
  int fd = real_open(p, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  size_t len = strlen(to);
  char *save = NULL; /* strtok_r: renames run on several libuv threads at once */
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t l = strlen(line);
    if (l > 0 && l <= len && strcmp(to + len - l, line) == 0) return 1;
  }
  return 0;
}

int rename(const char *from, const char *to) {
  static int (*real)(const char *, const char *);
  if (!real) real = dlsym(RTLD_NEXT, "rename");
  if (rename_matches("rename-stall", to)) {
    note_path("faults.log", "rename-stall", to);
    sleep(3);
  }
  if (rename_matches("rename-eio", to)) {
    note_path("faults.log", "rename-eio", to);
    errno = EIO;
    return -1;
  }
  return real(from, to);
}
