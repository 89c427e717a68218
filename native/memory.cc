// Process-wide controls of LevelDB (part of the cairn_native addon): table mmaps, compaction priority;
// and the scheduling policy and name of the calling thread (setThreadBatch, setThreadName).
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
//
// tuneAllocator(arenaMax, mmapThreshold): glibc malloc gives each thread that allocates an arena
// of its own (up to 8 per core) and keeps what is freed there; and its mmap threshold rises with
// every large block freed (up to 32 MB), so LevelDB's compaction buffers and large Node buffers
// come to live in those arenas too. A loading server's threads (front, shards, 16 overlapped-read
// threads, compactions) left a fragmented RSS far above what they held: bench:capacity at 5 GiB
// went past its 256 MB budget. mallopt(M_ARENA_MAX) and a fixed M_MMAP_THRESHOLD bound both.
// mallocInfo(): glibc's malloc_info XML (its arenas, what they hold), for INFO memory.
#include "classic.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "leveldb/env.h"

namespace cairn {
namespace {

// The shape of this file's functions, f(path, n): finds `symbol` in classic-level's binary at
// `path` and, if it is there, calls use(symbol, n, find), where find(name) looks up another symbol
// of that binary (null when absent). Returns whether `symbol` was found.
template <typename Use>
napi_value WithClassicSymbol(napi_env env, napi_callback_info info, const char* usage, const char* symbol, Use use) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", usage);
    return nullptr;
  }
  void* sym = ClassicSymbol(env, argv[0], symbol);
  if (sym != nullptr) use(sym, n, [&](const char* name) { return ClassicSymbol(env, argv[0], name); });
  napi_value result;
  napi_get_boolean(env, sym != nullptr, &result);
  return result;
}

// setMmapLimit(path, limit): true when LevelDB's setter was found and called.
napi_value SetMmapLimit(napi_env env, napi_callback_info info) {
  return WithClassicSymbol(env, info, "setMmapLimit(path, limit)",
      "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi",
      [](void* setter, int32_t limit, auto) { reinterpret_cast<void (*)(int)>(setter)(limit); });
}

// Runs on LevelDB's background thread (queued with Env::Schedule): sets that thread's nice value
// and names it (top -H, perf and /proc/<pid>/task/*/comm then tell it from the serving threads).
// On Linux the nice value belongs to a thread, and raising it needs no privilege.
void ReniceThisThread(void* arg) {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), static_cast<int>(reinterpret_cast<intptr_t>(arg)));
  prctl(PR_SET_NAME, "leveldb-bg", 0, 0, 0);
}

// setCompactionNice(path, nice): LevelDB runs compactions on the background thread(s) of its
// default Env. Sets their nice value, so compactions take the CPU the serving threads leave and a
// serving thread that wakes up preempts them (on 2 cores a compaction at nice 0 held a core for
// whole time slices while the front thread, the shards and the clients shared the other).
// The patched build (native/leveldb-build.cjs, background-threads) runs several threads and
// exports cairn_leveldb_set_bg_nice, which each of them applies before its next job; a task queued
// on the Env also starts them at once (the first one to take it renices and names itself again).
// classic-level's prebuild has one thread, which that task renices. True when Env::Default was found.
napi_value SetCompactionNice(napi_env env, napi_callback_info info) {
  return WithClassicSymbol(env, info, "setCompactionNice(path, nice)", "_ZN7leveldb3Env7DefaultEv",
      [](void* envDefault, int32_t nice, auto find) {
        void* setAll = find("cairn_leveldb_set_bg_nice");
        if (setAll != nullptr) reinterpret_cast<void (*)(int)>(setAll)(nice);
        leveldb::Env* leveldbEnv = reinterpret_cast<leveldb::Env* (*)()>(envDefault)();
        leveldbEnv->Schedule(&ReniceThisThread, reinterpret_cast<void*>(static_cast<intptr_t>(nice)));
      });
}

// setThreadBatch(on): the calling thread's policy becomes SCHED_BATCH (on) or SCHED_OTHER. The
// kernel's fair scheduler does not let a SCHED_BATCH thread preempt the running thread when it wakes
// (check_preempt_wakeup_fair: "Batch and idle tasks do not preempt non-idle tasks"). Cairn's serving
// threads wake each other for every message (a MessagePort wakes its receiver while it holds the
// port's mutex), and on few cores the woken thread used to preempt the sender and then block on
// that mutex. Needs no privilege. True when applied.
napi_value SetThreadBatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "setThreadBatch(on)");
    return nullptr;
  }
  sched_param param{};
  param.sched_priority = 0;
  bool ok = sched_setscheduler(0, on ? SCHED_BATCH : SCHED_OTHER, &param) == 0;
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// setThreadName(name): names the calling thread (at most 15 bytes are kept). True when applied.
napi_value SetThreadName(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[16];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "setThreadName(name)");
    return nullptr;
  }
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_NAME, name, 0, 0, 0) == 0, &result);
  return result;
}

// tuneAllocator(arenaMax, mmapThreshold): true when glibc took both settings.
napi_value TuneAllocator(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t arenaMax = 0;
  int32_t threshold = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &arenaMax) != napi_ok || napi_get_value_int32(env, argv[1], &threshold) != napi_ok) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "tuneAllocator(arenaMax, mmapThreshold)");
    return nullptr;
  }
  bool ok = mallopt(M_ARENA_MAX, arenaMax) == 1 && mallopt(M_MMAP_THRESHOLD, threshold) == 1;
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// mallocInfo(): malloc_info(0, ...)'s XML, or undefined when it fails.
napi_value MallocInfo(napi_env env, napi_callback_info info) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  napi_value result = nullptr;
  if (f == nullptr) return result;
  int rc = malloc_info(0, f);
  fclose(f);
  if (rc == 0) napi_create_string_utf8(env, buf, len, &result);
  free(buf);
  return result;
}

}  // namespace

void RegisterMemory(napi_env env, napi_value exports) {
  Export(env, exports, "tuneAllocator", TuneAllocator);
  Export(env, exports, "mallocInfo", MallocInfo);
  Export(env, exports, "setMmapLimit", SetMmapLimit);
  Export(env, exports, "setCompactionNice", SetCompactionNice);
  Export(env, exports, "setThreadBatch", SetThreadBatch);
  Export(env, exports, "setThreadName", SetThreadName);
}

}  // namespace cairn
