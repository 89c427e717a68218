// Synchronous write of a classic-level chained batch, on the calling thread.
//
// Why: classic-level writes batches only through the libuv thread pool. A shard waits for that
// write before it may reply (group commit), so every turn with a write paid a round trip to a
// pool thread (~200 us under load on 2 vCPUs, bench/). Writing on the shard's own thread takes
// the write() of LevelDB's log and the memtable insert, nothing more.
//
// How, without an ABI hazard: classic-level keeps a batch as the struct below (two pointers and a
// flag, binding.cc `struct Batch`), and its `struct Database` has no virtual methods and keeps
// `leveldb::DB* db_` first. We read those pointers and call the virtual DB::Write, which runs
// classic-level's own compiled LevelDB on its own WriteBatch. No std::string or other
// library-ABI type crosses between the two binaries. The layout is pinned to classic-level 3.x
// (checked by test/native.test.ts); if this addon cannot load, Cairn writes asynchronously.
#include <node_api.h>
#include <cstdint>
#include <cstring>
#include <string>
#include "leveldb/db.h"
#include "leveldb/options.h"
#include "leveldb/status.h"
#include "leveldb/write_batch.h"

namespace {

struct ClassicDatabase {
  leveldb::DB* db_;
};

struct ClassicBatch {
  ClassicDatabase* database_;
  leveldb::WriteBatch* batch_;
  bool hasData_;
};

// leveldb 1.20 Status: one `const char* state_`; null when OK, else length(4) code(1) message.
std::string StatusMessage(const leveldb::Status& s) {
  const char* state = *reinterpret_cast<const char* const*>(&s);
  if (state == nullptr) return "OK";
  uint32_t len;
  std::memcpy(&len, state, sizeof(len));
  return std::string(state + 5, len);
}

napi_value WriteSync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* ptr = nullptr;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &ptr) != napi_ok || ptr == nullptr) {
    napi_throw_type_error(env, "CAIRN_NATIVE_ARG", "expected a classic-level batch context");
    return nullptr;
  }
  bool sync = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &sync);
  ClassicBatch* batch = static_cast<ClassicBatch*>(ptr);
  if (!batch->hasData_) return nullptr;
  if (batch->database_ == nullptr || batch->database_->db_ == nullptr) {
    napi_throw_error(env, "LEVEL_DATABASE_NOT_OPEN", "Database is not open");
    return nullptr;
  }
  leveldb::WriteOptions options;
  options.sync = sync;
  leveldb::Status status = batch->database_->db_->Write(options, batch->batch_);
  if (!status.ok()) {
    napi_throw_error(env, "CAIRN_LEVELDB_WRITE", StatusMessage(status).c_str());
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "writeSync", NAPI_AUTO_LENGTH, WriteSync, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, "writeSync", fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
