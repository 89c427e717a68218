// fdWrite(fd, buffer) -> bytes written, or -errno: one write(2) to a non-blocking socket.
//
// Why: a reply written with net.Socket#write goes through Node's Writable stream and its C++
// StreamBase (a WriteWrap object, async-hook bookkeeping, a callback after the write) before libuv
// tries the same write(2). The front thread writes one reply batch per connection per turn, and
// under unpipelined load that machinery is a measurable share of its time. When nothing is queued
// in the socket's stream, src/server/client.ts writes with this instead and hands only what the
// kernel did not take (or an error) back to the stream, so ordering and error handling stay Node's.
#include "classic.h"
#include <cerrno>
#include <unistd.h>

namespace cairn {
namespace {

napi_value FdWrite(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  void* data = nullptr;
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "fdWrite(fd, buffer)");
    return nullptr;
  }
  ssize_t n;
  do {
    n = write(fd, data, len);
  } while (n < 0 && errno == EINTR);
  napi_value result;
  napi_create_int64(env, n >= 0 ? static_cast<int64_t>(n) : -static_cast<int64_t>(errno), &result);
  return result;
}

}  // namespace

void RegisterFdWrite(napi_env env, napi_value exports) {
  Export(env, exports, "fdWrite", FdWrite);
}

}  // namespace cairn
