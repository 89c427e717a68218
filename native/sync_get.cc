// Many point reads of a classic-level database in one synchronous call, overlapped when they reach
// the disk.
//
// The reading is done by cairn_leveldb_get_many, which the patched LevelDB build exports
// (native/leveldb-get-many.inc, native/leveldb-build.cjs: patch get-many); bindGetMany finds it in
// classic-level's loaded binary with dlsym. With classic-level's prebuild it is absent and
// bindGetMany returns false. Only pointers, lengths and ints cross between the two binaries.
//
// bindGetMany(classicLevelBinaryPath) -> whether the function was found.
// getManySync(ctx, keys, ends, count, parallel, slowMicros) -> Buffer
//   keys: one Buffer holding the keys back to back; ends: Uint32Array, ends[i] = where key i ends.
//   parallel: hand the reads to the pool at once (else only after one read took > slowMicros).
//   Returns, native endian: u32 count | u32 slow reads | count x i32 (value length; -1 absent,
//   -2 read error) | the values back to back.
#include "classic.h"
#include <vector>

namespace cairn {
namespace {

using SinkFn = void (*)(void* ctx, int i, int found, const char* data, size_t len);
using GetManyFn = int (*)(leveldb::DB* db, int n, const char* const* keys, const size_t* lens, int parallel,
                          long long slowNs, SinkFn sink, void* ctx);
GetManyFn g_getMany = nullptr;

napi_value BindGetMany(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "bindGetMany(path)");
    return nullptr;
  }
  g_getMany = reinterpret_cast<GetManyFn>(ClassicSymbol(env, argv[0], "cairn_leveldb_get_many"));
  napi_value result;
  napi_get_boolean(env, g_getMany != nullptr, &result);
  return result;
}

// Reused per thread (one shard per thread).
thread_local std::vector<const char*> tKeys;
thread_local std::vector<size_t> tLens;
thread_local std::vector<char> tOut;
constexpr size_t kKeepCapacity = 8u << 20;
constexpr size_t kHeader = 8;

void Sink(void* ctx, int i, int found, const char* data, size_t len) {
  std::vector<char>& out = *static_cast<std::vector<char>*>(ctx);
  int32_t slot = found == 1 ? static_cast<int32_t>(len) : found == 0 ? -1 : -2;
  std::memcpy(out.data() + kHeader + 4 * static_cast<size_t>(i), &slot, 4);
  if (found == 1) out.insert(out.end(), data, data + len);
}

napi_value GetManySync(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc < 6 || g_getMany == nullptr) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "getManySync(ctx, keys, ends, count, parallel, slowMicros) after bindGetMany");
    return nullptr;
  }
  void* ptr = ExternalArg(env, argv[0], "expected a classic-level database context");
  if (ptr == nullptr) return nullptr;
  leveldb::DB* db = static_cast<ClassicDatabase*>(ptr)->db_;
  if (db == nullptr) {
    napi_throw_error(env, "LEVEL_DATABASE_NOT_OPEN", "Database is not open");
    return nullptr;
  }
  void* keyData = nullptr;
  size_t keyBytes = 0;
  napi_typedarray_type type;
  size_t endsLength = 0;
  void* endsData = nullptr;
  uint32_t count = 0;
  bool parallel = false;
  double slowMicros = 0;
  if (napi_get_buffer_info(env, argv[1], &keyData, &keyBytes) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &type, &endsLength, &endsData, nullptr, nullptr) != napi_ok ||
      type != napi_uint32_array || napi_get_value_uint32(env, argv[3], &count) != napi_ok || count > endsLength ||
      napi_get_value_bool(env, argv[4], &parallel) != napi_ok || napi_get_value_double(env, argv[5], &slowMicros) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "getManySync(ctx, keys: Buffer, ends: Uint32Array, count, parallel: boolean, slowMicros)");
    return nullptr;
  }
  const uint32_t* ends = static_cast<const uint32_t*>(endsData);
  const char* base = static_cast<const char*>(keyData);
  tKeys.resize(count);
  tLens.resize(count);
  uint32_t start = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (ends[i] < start || ends[i] > keyBytes) {
      napi_throw_range_error(env, "CAIRN_NATIVE_ARG", "getManySync: a key end is out of order or past the keys");
      return nullptr;
    }
    tKeys[i] = base + start;
    tLens[i] = ends[i] - start;
    start = ends[i];
  }
  std::vector<char>& out = tOut;
  out.assign(kHeader + 4 * static_cast<size_t>(count), 0);
  int slow = g_getMany(db, static_cast<int>(count), tKeys.data(), tLens.data(), parallel ? 1 : 0,
                       static_cast<long long>(slowMicros * 1000), Sink, &out);
  uint32_t head[2] = {count, static_cast<uint32_t>(slow)};
  std::memcpy(out.data(), head, sizeof(head));
  napi_value result;
  void* copy = nullptr;
  napi_status st = napi_create_buffer_copy(env, out.size(), out.data(), &copy, &result);
  if (out.capacity() > kKeepCapacity) std::vector<char>().swap(out);
  return st == napi_ok ? result : nullptr;
}

}  // namespace

void RegisterGet(napi_env env, napi_value exports) {
  Export(env, exports, "bindGetMany", BindGetMany);
  Export(env, exports, "getManySync", GetManySync);
}

}  // namespace cairn
