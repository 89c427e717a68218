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
#include "classic.h"
#include "leveldb/options.h"
#include "leveldb/write_batch.h"

namespace {

using cairn::ClassicDatabase;
using cairn::StatusMessage;

struct ClassicBatch {
  ClassicDatabase* database_;
  leveldb::WriteBatch* batch_;
  bool hasData_;
};

napi_value WriteSync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* ptr = argc < 1 ? nullptr : cairn::ExternalArg(env, argv[0], "expected a classic-level batch context");
  if (ptr == nullptr) return nullptr;
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
  cairn::RegisterScan(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
