// Process-wide controls of LevelDB (part of the cairn_native addon): table mmaps, compaction priority.
//
// setMmapLimit(path, n): LevelDB 1.20 reads table files through mmap, up to 1000 files per process
// (util/env_posix.cc MaxMmaps(), a compile-time default). Every page of a mapped table that a read
// touches counts in the process's RSS, so a dataset larger than RAM pushed a server's RSS up by the
// size of the files it read (433 MB in a 10M-member bench:large run), outside any Cairn budget.
// LevelDB exports a setter for that limit (leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit); it
// takes effect when LevelDB's default Env is created, i.e. before the first database opens. We find
// it in classic-level's already-loaded binary (ClassicSymbol). With a limit of 0 LevelDB reads tables
// with pread: the pages live in the kernel's page cache (reclaimable, not the process's RSS).
//
// It touches no classic-level data structure; a missing symbol just reports false.
// (malloc_trim was tried here too: no measurable effect on RSS in bench:large, so it went.)
#include "classic.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "leveldb/env.h"

namespace cairn {
namespace {

using SetLimitFn = void (*)(int);

// setMmapLimit(path, limit): true when LevelDB's setter was found and called.
napi_value SetMmapLimit(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t limit = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[1], &limit) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "setMmapLimit(path, limit)");
    return nullptr;
  }
  auto fn = reinterpret_cast<SetLimitFn>(
      ClassicSymbol(env, argv[0], "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi"));
  if (fn != nullptr) fn(limit);
  napi_value result;
  napi_get_boolean(env, fn != nullptr, &result);
  return result;
}

// Runs on LevelDB's background thread (queued with Env::Schedule): sets that thread's nice value.
// On Linux the nice value belongs to a thread, and raising it needs no privilege.
void ReniceThisThread(void* arg) {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), static_cast<int>(reinterpret_cast<intptr_t>(arg)));
}

// setCompactionNice(path, nice): LevelDB runs every compaction of the process (all shards) on one
// background thread of its default Env. Queues a task on that thread that sets its nice value, so
// compactions take the CPU the serving threads leave and a serving thread that wakes up preempts
// them (on 2 cores a compaction at nice 0 held a core for whole time slices while the front thread,
// the shards and the clients shared the other). True when Env::Default was found.
napi_value SetCompactionNice(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t nice = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[1], &nice) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "setCompactionNice(path, nice)");
    return nullptr;
  }
  using EnvDefaultFn = leveldb::Env* (*)();
  auto envDefault = reinterpret_cast<EnvDefaultFn>(ClassicSymbol(env, argv[0], "_ZN7leveldb3Env7DefaultEv"));
  if (envDefault != nullptr) envDefault()->Schedule(&ReniceThisThread, reinterpret_cast<void*>(static_cast<intptr_t>(nice)));
  napi_value result;
  napi_get_boolean(env, envDefault != nullptr, &result);
  return result;
}

}  // namespace

void RegisterMemory(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "setMmapLimit", NAPI_AUTO_LENGTH, SetMmapLimit, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, "setMmapLimit", fn);
  }
  if (napi_create_function(env, "setCompactionNice", NAPI_AUTO_LENGTH, SetCompactionNice, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, "setCompactionNice", fn);
  }
}

}  // namespace cairn
