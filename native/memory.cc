// Process-wide memory control for LevelDB (cairn_memory addon).
//
// setMmapLimit(path, n): LevelDB 1.20 reads table files through mmap, up to 1000 files per process
// (util/env_posix.cc MaxMmaps(), a compile-time default). Every page of a mapped table that a read
// touches counts in the process's RSS, so a dataset larger than RAM pushed a server's RSS up by the
// size of the files it read (433 MB in a 10M-member bench:large run), outside any Cairn budget.
// LevelDB exports a setter for that limit (leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit); it
// takes effect when LevelDB's default Env is created, i.e. before the first database opens. We find
// it in classic-level's already-loaded binary with dlsym. With a limit of 0 LevelDB reads tables
// with pread: the pages live in the kernel's page cache (reclaimable, not the process's RSS).
//
// It touches no classic-level data structure; a missing symbol just reports false.
// (malloc_trim was tried here too: no measurable effect on RSS in bench:large, so it went.)
#include <node_api.h>
#include <dlfcn.h>
#include <string>

namespace {

using SetLimitFn = void (*)(int);

napi_value MakeBool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value SetMmapLimit(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    napi_throw_type_error(env, nullptr, "setMmapLimit(path, limit)");
    return nullptr;
  }
  char path[4096];
  size_t len = 0;
  int32_t limit = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &limit) != napi_ok) {
    napi_throw_type_error(env, nullptr, "setMmapLimit(path, limit)");
    return nullptr;
  }
  // RTLD_NOLOAD: only the copy classic-level already loaded (the one its databases use).
  void* handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return MakeBool(env, false);
  auto fn = reinterpret_cast<SetLimitFn>(
      dlsym(handle, "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi"));
  if (fn != nullptr) fn(limit);
  dlclose(handle);
  return MakeBool(env, fn != nullptr);
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "setMmapLimit", NAPI_AUTO_LENGTH, SetMmapLimit, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, "setMmapLimit", fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
