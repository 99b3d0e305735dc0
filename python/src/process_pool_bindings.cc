// Shared memory for reader_pool_type='process' (petastorm/process_pool.py), Linux memfds.
//
// A worker writes each row group's IPC form (petastorm/row_group_ipc.h) into a slot of its
// MemfdArena and passes the slot's fd to the parent, which maps it privately
// (DecodedRowGroup.from_memfd): the parent's arrays and tensors are views of the mapping. When
// the last of them goes, the mapping is unmapped and the slot is put on a ReleaseQueue; the
// parent tells the worker, which then writes another row group into it. Reusing slots spares
// the kernel allocating and zeroing fresh pages for every row group.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "petastorm/row_group_ipc.h"
#include "handles.h"
#include "status.h"

namespace nb = nanobind;

namespace petastorm::python {

namespace {

std::string Errno() { return std::strerror(errno); }

// Slots a parent has let go of. Thread-safe: buffers are released on any thread.
class ReleaseQueue {
 public:
  void Push(int64_t slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    released_.push_back(slot);
  }
  std::vector<int64_t> Take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> out;
    out.swap(released_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<int64_t> released_;  // guarded by mutex_
};

// The parent's private mapping of a slot; unmapped, and the slot released, on destruction.
class SlotMapping : public arrow::MutableBuffer {
 public:
  SlotMapping(uint8_t* data, int64_t size, std::shared_ptr<ReleaseQueue> queue, int64_t slot)
      : arrow::MutableBuffer(data, size), queue_(std::move(queue)), slot_(slot) {}
  ~SlotMapping() override {
    if (size_ > 0) ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
    queue_->Push(slot_);
  }

 private:
  std::shared_ptr<ReleaseQueue> queue_;
  int64_t slot_;
};

// A worker's slots: memfds it keeps mapped, each holding one row group until released.
class MemfdArena {
 public:
  MemfdArena() = default;
  MemfdArena(const MemfdArena&) = delete;
  MemfdArena& operator=(const MemfdArena&) = delete;
  ~MemfdArena() {
    for (Slot& slot : slots_) {
      if (slot.map) ::munmap(slot.map, static_cast<size_t>(slot.capacity));
      if (slot.fd >= 0) ::close(slot.fd);
    }
  }

  // Writes `group` into a free slot (a new one when none is big enough): (slot, fd, size). The
  // fd stays the arena's; the slot is busy until Release.
  arrow::Result<std::tuple<int64_t, int, int64_t>> Write(const DecodedRowGroup& group) {
    int64_t chosen = -1;
    auto allocate = [&](int64_t size) -> arrow::Result<std::shared_ptr<arrow::MutableBuffer>> {
      for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = slots_[i];
        if (!slot.busy && slot.capacity >= size &&
            (chosen < 0 || slot.capacity < slots_[static_cast<size_t>(chosen)].capacity)) {
          chosen = static_cast<int64_t>(i);
        }
      }
      if (chosen < 0) {
        ARROW_ASSIGN_OR_RAISE(chosen, NewSlot(size));
      }
      Slot& slot = slots_[static_cast<size_t>(chosen)];
      return std::make_shared<arrow::MutableBuffer>(slot.map, size);
    };
    ARROW_ASSIGN_OR_RAISE(int64_t size, RowGroupToIpcInto(group, allocate));
    Slot& slot = slots_[static_cast<size_t>(chosen)];
    slot.busy = true;
    return std::make_tuple(chosen, slot.fd, size);
  }

  void Release(int64_t slot) {
    if (slot >= 0 && slot < static_cast<int64_t>(slots_.size())) slots_[static_cast<size_t>(slot)].busy = false;
  }

  int64_t num_slots() const { return static_cast<int64_t>(slots_.size()); }

 private:
  struct Slot {
    int fd = -1;
    int64_t capacity = 0;
    uint8_t* map = nullptr;
    bool busy = false;
  };

  arrow::Result<int64_t> NewSlot(int64_t size) {
    // Room to spare, so that the next row groups (a little larger, say) fit too.
    const int64_t capacity = std::max<int64_t>(4096, (size + size / 8 + 4095) / 4096 * 4096);
    const int fd = ::memfd_create("petastorm-row-group", MFD_CLOEXEC);
    if (fd < 0) return arrow::Status::IOError("memfd_create: ", Errno());
    if (::ftruncate(fd, static_cast<off_t>(capacity)) != 0) {
      ::close(fd);
      return arrow::Status::IOError("Cannot size a memfd to ", capacity, " bytes: ", Errno());
    }
    void* map = ::mmap(nullptr, static_cast<size_t>(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      return arrow::Status::IOError("Cannot map a memfd: ", Errno());
    }
    slots_.push_back(Slot{fd, capacity, static_cast<uint8_t*>(map), false});
    return static_cast<int64_t>(slots_.size()) - 1;
  }

  std::vector<Slot> slots_;
};

}  // namespace

void BindProcessPool(nb::module_& m) {
  nb::class_<ReleaseQueue>(m, "ReleaseQueue", "Slots of a worker's MemfdArena the parent has let go of.")
      .def(nb::init<>())
      .def("take", &ReleaseQueue::Take, "The slots released since the last call.");

  nb::class_<MemfdArena>(m, "MemfdArena", "A worker's shared-memory slots for row groups (Linux memfds).")
      .def(nb::init<>())
      .def("write",
           [](MemfdArena& arena, const RowGroupHandle& group) {
             nb::gil_scoped_release release;
             return ValueOrThrow(arena.Write(*group.batch));
           },
           nb::arg("group"), "Writes the row group's IPC form into a slot: (slot, fd, size).")
      .def("release", &MemfdArena::Release, nb::arg("slot"))
      .def_prop_ro("num_slots", &MemfdArena::num_slots);

  m.def("row_group_from_memfd",
        [](int fd, int64_t size, const SchemaHandle& schema, std::shared_ptr<ReleaseQueue> queue, int64_t slot) {
          std::shared_ptr<const DecodedRowGroup> group;
          {
            nb::gil_scoped_release release;
            void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
              queue->Push(slot);
              ThrowIfError(arrow::Status::IOError("Cannot map a row group from a worker: ", Errno()));
            }
            auto buffer = std::make_shared<SlotMapping>(static_cast<uint8_t*>(map), size, queue, slot);
            group = ValueOrThrow(RowGroupFromIpc(buffer, schema.schema));
          }
          return RowGroupHandle{std::move(group), true};
        },
        nb::arg("fd"), nb::arg("size"), nb::arg("schema"), nb::arg("queue"), nb::arg("slot"),
        "The row group a worker wrote into its memfd `fd` (not closed here), mapped privately: its "
        "arrays and tensors are writable views of the mapping. When the last goes, `slot` is put on "
        "`queue`.");
}

}  // namespace petastorm::python
