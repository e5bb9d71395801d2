#include "event_loop.hpp"

#include <array>
#include <cerrno>
#include <sys/eventfd.h>
#include <unistd.h>

namespace fairway::proxy {

namespace {
// A marker for the wake-up eventfd among epoll's user data.
Handler* const kWakeMarker = nullptr;
}  // namespace

EventLoop::EventLoop() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ >= 0 && wake_ >= 0) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = kWakeMarker;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
  }
}

EventLoop::~EventLoop() {
  if (wake_ >= 0) {
    ::close(wake_);
  }
  if (epoll_ >= 0) {
    ::close(epoll_);
  }
}

bool EventLoop::add(int fd, Handler& handler, std::uint32_t events) {
  epoll_event event{};
  event.events = events | EPOLLET;
  event.data.ptr = &handler;
  return ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) == 0;
}

void EventLoop::remove(int fd) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::setDeadline(Handler& handler, TimePoint deadline) {
  handler.deadline_ = deadline;
  if (deadline < handler.queuedAt_) {
    // Shorter than the live entry (or none): a new entry; the old one goes stale.
    ++handler.timerGeneration_;
    handler.queuedAt_ = deadline;
    timers_.push({deadline, &handler, handler.timerGeneration_});
  }
}

void EventLoop::forget(Handler& handler) {
  ++handler.timerGeneration_;
  handler.deadline_ = kNever;
  handler.queuedAt_ = kNever;
}

void EventLoop::stop() {
  stopping_.store(true, std::memory_order_release);
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(postedMutex_);
    posted_.push_back(std::move(task));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
}

int EventLoop::waitTimeoutMs() const {
  if (timers_.empty()) {
    return -1;
  }
  TimePoint at = timers_.top().at;
  if (at <= now_) {
    return 0;
  }
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(at - now_).count();
  return wait > 60'000 ? 60'000 : static_cast<int>(wait);
}

void EventLoop::runTimers() {
  while (!timers_.empty() && timers_.top().at <= now_) {
    TimerEntry entry = timers_.top();
    timers_.pop();
    Handler& handler = *entry.handler;
    if (entry.generation != handler.timerGeneration_) {
      continue;  // superseded by a shorter deadline, or the handler was recycled
    }
    handler.queuedAt_ = kNever;
    if (handler.deadline_ == kNever) {
      continue;
    }
    if (handler.deadline_ > now_) {
      handler.queuedAt_ = handler.deadline_;
      timers_.push({handler.deadline_, &handler, handler.timerGeneration_});
      continue;
    }
    handler.deadline_ = kNever;
    handler.onDeadline();
  }
}

void EventLoop::runPosted() {
  std::uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(wake_, &count, sizeof count);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(postedMutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) {
    task();
  }
}

void EventLoop::run() {
  std::array<epoll_event, 256> events;
  while (!stopping_.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), waitTimeoutMs());
    now_ = Clock::now();
    if (n < 0 && errno != EINTR) {
      break;
    }
    bool wake = false;
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<Handler*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (handler == kWakeMarker) {
        wake = true;
        continue;
      }
      handler->onEvents(events[static_cast<std::size_t>(i)].events);
    }
    if (wake) {
      runPosted();
    }
    runTimers();
    for (std::size_t i = 0; i < afterBatch_.size(); ++i) {  // tasks may queue more tasks
      auto task = std::move(afterBatch_[i]);
      task();
    }
    afterBatch_.clear();
  }
}

}  // namespace fairway::proxy
