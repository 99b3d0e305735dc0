// A mutex, a scoped lock and a condition variable that clang's -Wthread-safety understands
// (leveldb's port/thread_annotations.h, Abseil's names): members a mutex protects say so with
// GUARDED_BY(mutex_), functions that must hold it with REQUIRES(mutex_). Under GCC the
// annotations are empty and the classes are thin wrappers of the standard ones.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PETASTORM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PETASTORM_THREAD_ANNOTATION(x)
#endif

#ifndef GUARDED_BY
#define GUARDED_BY(x) PETASTORM_THREAD_ANNOTATION(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) PETASTORM_THREAD_ANNOTATION(pt_guarded_by(x))
#endif
#ifndef REQUIRES
#define REQUIRES(...) PETASTORM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif
#ifndef EXCLUDES
#define EXCLUDES(...) PETASTORM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif
#ifndef ACQUIRE
#define ACQUIRE(...) PETASTORM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) PETASTORM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif
#ifndef CAPABILITY
#define CAPABILITY(x) PETASTORM_THREAD_ANNOTATION(capability(x))
#endif
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY PETASTORM_THREAD_ANNOTATION(scoped_lockable)
#endif

namespace petastorm::internal {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mutex_.lock(); }
  void Unlock() RELEASE() { mutex_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mutex_;
};

// Holds `mutex` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mutex_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  // Lets go of the mutex for a while (to run work that must not hold it), and takes it back.
  void Unlock() RELEASE() {
    held_ = false;
    mutex_->Unlock();
  }
  void Lock() ACQUIRE() {
    mutex_->Lock();
    held_ = true;
  }
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mutex_;
  bool held_ = true;
};

class CondVar {
 public:
  // Atomically releases `mutex`, waits for a notification (or a spurious wake-up), and takes
  // `mutex` again before returning.
  void Wait(Mutex* mutex) REQUIRES(mutex) {
    std::unique_lock<std::mutex> lock(mutex->mutex_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace petastorm::internal
