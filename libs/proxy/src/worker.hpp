#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <fairway/balancer/random.hpp>

#include "event_loop.hpp"
#include "runtime.hpp"

namespace fairway::proxy {

class ClientConnection;
class UpstreamConnection;
class Listener;

// One shared-nothing worker: an event loop on its own thread, its own listening sockets
// (SO_REUSEPORT: the kernel spreads connections across workers), its own client connections,
// upstream connection pools and timers. Shares only the Runtime (routes, balancers, breakers,
// health), whose state is thread-safe.
class Worker {
 public:
  Worker(Runtime& runtime, std::size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Takes ownership of a listening socket (non-blocking, bound, listening). Before run().
  bool adoptListener(int fd, std::string& error);

  // The thread body: runs the loop until stop().
  void run();
  // Thread-safe: stop accepting; close idle client connections; finish in-flight requests and
  // close each client connection after its current response.
  void drain();
  // Thread-safe: stop the loop now; connections are closed as the worker is destroyed.
  void stop();

  const WorkerMetrics& metrics() const { return metrics_; }
  std::size_t index() const { return index_; }

 private:
  friend class ClientConnection;
  friend class UpstreamConnection;
  friend class Listener;

  void accept(int listenFd);
  ClientConnection* newClient();
  void recycle(ClientConnection* client);
  UpstreamConnection* newUpstream();
  void recycle(UpstreamConnection* upstream);
  // Pooled idle connection to `endpoint`, or null.
  UpstreamConnection* takeIdle(const UpstreamGroup& group, const EndpointState& endpoint);
  // Returns a finished connection to its pool (or closes it if the pool is full).
  void putIdle(UpstreamConnection* upstream);
  void removeIdle(UpstreamConnection* upstream);
  std::string nextRequestId();
  // "22/Nov/2026:08:40:01 +0000" for the access log, formatted once per second.
  const std::string& logTime();

  Runtime& runtime_;
  std::size_t index_;
  EventLoop loop_;
  WorkerMetrics metrics_;
  balancer::Random random_;
  std::vector<char> scratch_;  // one read buffer for every socket of this worker
  std::vector<std::unique_ptr<Listener>> listeners_;
  // Connection objects are recycled, never freed while the loop runs, so that a stale timer entry
  // or a late event in the same batch never touches freed memory (see EventLoop).
  std::deque<std::unique_ptr<ClientConnection>> clients_;
  std::vector<ClientConnection*> freeClients_;
  std::deque<std::unique_ptr<UpstreamConnection>> upstreams_;
  std::vector<UpstreamConnection*> freeUpstreams_;
  // [group][endpoint] -> idle connections, most recently used last.
  std::vector<std::vector<std::vector<UpstreamConnection*>>> idle_;
  std::uint64_t requestCounter_ = 0;
  std::uint64_t requestIdPrefix_ = 0;
  bool draining_ = false;
  std::string logTime_;
  std::int64_t logTimeSecond_ = -1;
};

}  // namespace fairway::proxy
