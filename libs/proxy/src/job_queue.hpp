#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fairway::proxy {

// A few threads of its own for calls that may block on the network (Redis), so that no worker's
// event loop ever does. Jobs run in submission order, each on one thread; results go back to the
// asking worker through its loop's post().
class JobQueue {
 public:
  explicit JobQueue(int threads);
  // stop().
  ~JobQueue();
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Thread-safe. After stop(), the job is dropped.
  void submit(std::function<void()> job);
  // Lets running jobs finish, joins the threads, and drops (destroys, does not run) the jobs not
  // started. Idempotent; not from a job.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fairway::proxy
