// What the addon knows of classic-level 3.x's native structs, and LevelDB 1.20 helpers shared by
// sync_write.cc and sync_scan.cc. See sync_write.cc's header for why this is ABI-safe: only
// pointers are read, and LevelDB is reached through virtual methods of its own objects.
#pragma once
#include <node_api.h>
#include <dlfcn.h>
#include <cstdint>
#include <cstring>
#include <string>
#include "leveldb/db.h"
#include "leveldb/status.h"

namespace cairn {

// classic-level binding.cc `struct Database`: no virtual methods, `leveldb::DB* db_` first.
// db_ is null once the database is closed.
struct ClassicDatabase {
  leveldb::DB* db_;
};

// leveldb 1.20 Status: one `const char* state_`; null when OK, else length(4) code(1) message.
inline std::string StatusMessage(const leveldb::Status& s) {
  const char* state = *reinterpret_cast<const char* const*>(&s);
  if (state == nullptr) return "OK";
  uint32_t len;
  std::memcpy(&len, state, sizeof(len));
  return std::string(state + 5, len);
}

// The pointer inside a napi external (a classic-level context), or null (a type error is thrown).
inline void* ExternalArg(napi_env env, napi_value v, const char* what) {
  void* ptr = nullptr;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, v, &ptr) != napi_ok || ptr == nullptr) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", what);
    return nullptr;
  }
  return ptr;
}

// A function of classic-level's already-loaded binary, by its mangled name; null if absent.
// `pathArg` is the binary's path (a JS string). RTLD_NOLOAD: only the copy classic-level loaded
// (the one its databases use); dlclose drops the reference dlopen added, the binary stays loaded.
inline void* ClassicSymbol(napi_env env, napi_value pathArg, const char* name) {
  char path[4096];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, pathArg, path, sizeof(path), &len) != napi_ok) return nullptr;
  void* handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  void* sym = dlsym(handle, name);
  dlclose(handle);
  return sym;
}

// exports[name] = a function calling `fn` (nothing when N-API refuses: the JS side checks what is there).
inline void Export(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &f) == napi_ok) {
    napi_set_named_property(env, exports, name, f);
  }
}

void RegisterScan(napi_env env, napi_value exports);
void RegisterMemory(napi_env env, napi_value exports);
void RegisterGet(napi_env env, napi_value exports);
void RegisterFdWrite(napi_env env, napi_value exports);

}  // namespace cairn
