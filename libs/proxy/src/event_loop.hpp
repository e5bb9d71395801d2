#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <sys/epoll.h>
#include <vector>

#include <fairway/core/time.hpp>

namespace fairway::proxy {

using core::Clock;
using core::TimePoint;  // also declared by upstream.hpp: the same names

inline constexpr TimePoint kNever = TimePoint::max();

// Something an EventLoop drives: the events of one file descriptor and one deadline. Handlers
// are owned elsewhere and must outlive every timer entry that names them: the worker recycles its
// connection objects instead of freeing them (see Worker), which makes a stale entry harmless.
class Handler {
 public:
  virtual ~Handler() = default;

  // The epoll events of the handler's descriptor (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, ...),
  // edge-triggered: read and write until EAGAIN, or remember that more is pending.
  virtual void onEvents(std::uint32_t events) = 0;
  // The deadline set through EventLoop::setDeadline() has passed.
  virtual void onDeadline() = 0;

 private:
  friend class EventLoop;
  TimePoint deadline_ = kNever;  // the deadline in force
  TimePoint queuedAt_ = kNever;  // the time of this handler's live heap entry, if any
  std::uint64_t timerGeneration_ = 0;
};

// One worker's event loop: epoll (edge-triggered), a deadline per handler, and a thread-safe
// queue of tasks posted from other threads. Everything but post() and stop() runs on the loop's
// own thread.
//
// Deadlines are lazy: pushing a later deadline over an earlier entry costs nothing, the early
// entry pops and re-queues itself at the deadline then in force. Only a shorter deadline pushes a
// new heap entry, so re-arming an idle or body timeout on every read is O(1).
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // False if the kernel refused an epoll instance or an eventfd (the error is in errno).
  bool valid() const { return epoll_ >= 0 && wake_ >= 0; }

  // Registers `fd` for `events` | EPOLLET, delivered to `handler`. Returns false with errno set.
  bool add(int fd, Handler& handler, std::uint32_t events);
  // Unregisters `fd` (closing a descriptor unregisters it too).
  void remove(int fd);

  // Sets `handler`'s single deadline; kNever clears it.
  void setDeadline(Handler& handler, TimePoint deadline);
  // Forgets every heap entry of `handler`: call before recycling its object.
  static void forget(Handler& handler);

  // Runs until stop(). `now()` is refreshed after each wait.
  void run();
  // Thread-safe: makes run() return after the current iteration.
  void stop();
  // Thread-safe: runs `task` on the loop's thread, soon.
  void post(std::function<void()> task);
  // Runs `task` after the current batch of events (on the loop's thread).
  void afterBatch(std::function<void()> task) { afterBatch_.push_back(std::move(task)); }

  TimePoint now() const { return now_; }
  void refreshNow() { now_ = Clock::now(); }

 private:
  struct TimerEntry {
    TimePoint at;
    Handler* handler;
    std::uint64_t generation;
    bool operator>(const TimerEntry& other) const { return at > other.at; }
  };

  void runTimers();
  void runPosted();
  int waitTimeoutMs() const;

  int epoll_ = -1;
  int wake_ = -1;  // eventfd
  TimePoint now_ = Clock::now();
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::vector<std::function<void()>> afterBatch_;
  std::atomic<bool> stopping_{false};
  std::mutex postedMutex_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace fairway::proxy
