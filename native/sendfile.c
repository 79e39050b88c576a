// sendfile(2) for mic-fs: writes a small head, then `length` bytes of a file from `offset`, then `pad` zero bytes
// to a non-blocking stream socket, stopping at the first EAGAIN, short file or error. The head goes with
// MSG_MORE so that it leaves in one segment with the file's first bytes (the socket has TCP_NODELAY set).
// Returns the bytes written (head + file + pad, in that order), or -errno when nothing could be written
// because of an error other than EAGAIN. On loopback the file's page-cache pages travel by reference in the
// socket buffers: the receiver's copy is the only one.
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>

static const char ZEROS[4] = {0, 0, 0, 0};

static napi_value make_number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// send(sock, head, fileFd, offset, length, pad) -> written | -errno
static napi_value do_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, "send(sock, head, fd, offset, length, pad)");
    return NULL;
  }
  int32_t sock, fd, pad;
  int64_t off64, len64;
  void *head = NULL;
  size_t headLen = 0;
  bool isBuf = false;
  if (napi_get_value_int32(env, argv[0], &sock) != napi_ok || napi_get_value_int32(env, argv[2], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[3], &off64) != napi_ok || napi_get_value_int64(env, argv[4], &len64) != napi_ok ||
      napi_get_value_int32(env, argv[5], &pad) != napi_ok || napi_is_buffer(env, argv[1], &isBuf) != napi_ok ||
      !isBuf || napi_get_buffer_info(env, argv[1], &head, &headLen) != napi_ok || pad < 0 || pad > 3 ||
      off64 < 0 || len64 < 0) {
    napi_throw_type_error(env, NULL, "send(sock: int, head: Buffer, fd: int, offset: int, length: int, pad: 0..3)");
    return NULL;
  }
  double written = 0;
  size_t h = 0;
  while (h < headLen) {
    ssize_t n = send(sock, (char *)head + h, headLen - h, MSG_DONTWAIT | MSG_NOSIGNAL | (len64 + pad > 0 ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || written > 0) return make_number(env, written);
      return make_number(env, -errno);
    }
    h += (size_t)n;
    written += (double)n;
  }
  off_t off = (off_t)off64;
  int64_t left = len64;
  while (left > 0) {
    ssize_t n = sendfile(sock, fd, &off, (size_t)(left > 0x7ffff000 ? 0x7ffff000 : left));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || written > 0) return make_number(env, written);
      return make_number(env, -errno);
    }
    if (n == 0) return make_number(env, written); // the file is shorter than asked
    left -= n;
    written += (double)n;
  }
  int p = 0;
  while (p < pad) {
    ssize_t n = send(sock, ZEROS + p, (size_t)(pad - p), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || written > 0) return make_number(env, written);
      return make_number(env, -errno);
    }
    p += (int)n;
    written += (double)n;
  }
  return make_number(env, written);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, do_send, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  return exports;
}
