#include "worker.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <Poco/Message.h>
#include <llhttp.h>

#include "http.hpp"

namespace fairway::proxy {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// Backpressure: a side stops reading while the buffer it feeds holds more than kHighWater, and
// resumes once that buffer is below kLowWater. Bounds memory per exchange whatever the body size.
constexpr std::size_t kHighWater = 256 * 1024;
constexpr std::size_t kLowWater = 64 * 1024;
constexpr std::string_view kVia = "1.1 fairway";

enum class Failure {
  kConnect,          // refused or unreachable: the request was never sent
  kConnectTimeout,   // never connected: never sent
  kReset,            // closed or reset before the response completed
  kResponseTimeout,  // no response (or no progress) within timeouts.response
  kBadResponse,      // the response broke HTTP/1.1 framing
};

bool isIdempotent(std::uint8_t method) {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string addressText(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
                sizeof text);
  } else if (address.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

// The head of a request is checked byte by byte before llhttp sees it, for what RFC 9112 lets a
// parser accept but a proxy must not pass on (a downstream parser could read it differently):
// bare CR, bare LF, NUL, and obsolete line folding. Leading empty lines are allowed (§2.2).
class HeadScanner {
 public:
  void reset() {
    *this = HeadScanner{};
    active_ = true;
  }
  bool active() const { return active_; }
  // Scans up to the end of the head (then deactivates). False on a forbidden byte.
  bool scan(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size && active_; ++i) {
      char c = data[i];
      if (previousCr_) {
        if (c != '\n') {
          return false;  // bare CR
        }
        previousCr_ = false;
        if (lineLength_ == 0) {
          if (sawLine_) {
            active_ = false;  // the empty line that ends the head
          }
          continue;  // a leading empty line
        }
        sawLine_ = true;
        lineLength_ = 0;
        continue;
      }
      if (c == '\r') {
        previousCr_ = true;
      } else if (c == '\n' || c == '\0') {
        return false;  // bare LF, NUL
      } else {
        if (lineLength_ == 0 && sawLine_ && (c == ' ' || c == '\t')) {
          return false;  // obs-fold
        }
        ++lineLength_;
      }
    }
    return true;
  }

 private:
  bool active_ = false;
  bool previousCr_ = false;
  bool sawLine_ = false;
  std::size_t lineLength_ = 0;
};

// The origin-form of a request target (absolute-form loses its scheme and authority).
std::string_view originForm(std::string_view target) {
  if (target.size() > 7 && equalsIgnoreCase(target.substr(0, 7), "http://")) {
    const std::size_t slash = target.find('/', 7);
    return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target;
}

// A quick look at a response head before copying its body for the cache: without any field that
// gives freshness or a validator (and without cache.ttl or cache.stale_if_error, which can make up
// for them), cache::Policy::worthStoring() would refuse the entry, so nothing is copied. A field
// present proves nothing: the cache decides.
bool mayBeStoredBy(const CacheConfig& config, const HeaderBlock& headers) {
  return (config.ttl && config.ttl->count() > 0) || config.staleIfError.count() > 0 ||
         headers.find("cache-control") != std::string_view::npos ||
         headers.find("expires") != std::string_view::npos ||
         headers.find("etag") != std::string_view::npos ||
         headers.find("last-modified") != std::string_view::npos;
}

// True when a Connection field of `headers` names `name` (it is hop-by-hop, RFC 9110 §7.6.1).
bool namedByConnection(const HeaderBlock& headers, std::string_view name) {
  bool named = false;
  for (std::size_t i = headers.find("connection"); i != std::string_view::npos && !named;
       i = headers.find("connection", i + 1)) {
    named = listContains(headers.value(i), name);
  }
  return named;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class Listener final : public Handler {
 public:
  Listener(Worker& worker, int fd) : worker_(worker), fd_(fd) {}
  ~Listener() override { closeSocket(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  void closeSocket() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  // fairway::proxy::Handler
  void onEvents(std::uint32_t) override {
    if (fd_ >= 0) {
      worker_.accept(fd_);
    }
  }
  void onDeadline() override {}

 private:
  Worker& worker_;
  int fd_;
};

// ---------------------------------------------------------------------------------------------
// One client connection and the exchange in progress on it. Requests on a connection are served
// one at a time, in order: the parser pauses at the end of each request, so pipelined requests
// wait in `in_` until the response before them is complete.

class ClientConnection final : public Handler {
 public:
  explicit ClientConnection(Worker& worker);

  void open(int fd, const sockaddr_storage& peer);
  void drain();
  bool isOpen() const { return fd_ >= 0; }
  void close();
  void retryNow();

  // fairway::proxy::Handler
  void onEvents(std::uint32_t events) override;
  void onDeadline() override;

  // From the upstream connection serving this client's request.
  Buffer& requestOut() { return requestOut_; }
  void requestOutDrained();
  bool requestFullySent() const { return phase_ == Phase::kAwaitResponse && requestOut_.empty(); }
  int upstreamHead(UpstreamConnection& upstream, llhttp_t* parser, std::string_view reason);
  void upstreamBody(const char* data, std::size_t size);
  void upstreamChunkHeader(std::uint64_t size);
  void upstreamChunkComplete();
  void upstreamComplete();
  void upstreamFailed(Failure failure);
  bool clientBacklogged() const { return out_.size() > kHighWater; }
  // After a read from the upstream: send what it produced.
  void flushAfterUpstream() {
    if (fd_ >= 0 && !out_.empty()) {
      flush();
    }
  }
  HeaderBlock& upstreamHeaders() { return responseHeaders_; }

 private:
  enum class Phase {
    kIdle,           // between requests (keep-alive)
    kHead,           // reading a request head
    kBody,           // reading a request body
    kAwaitResponse,  // request read in full
  };
  enum class Framing { kNone, kLength, kChunked, kEncode, kRaw };

  // A timer of its own for retry backoff (the connection's deadline serves client timeouts).
  class RetryTimer final : public Handler {
   public:
    explicit RetryTimer(ClientConnection& client) : client_(client) {}
    void onEvents(std::uint32_t) override {}
    void onDeadline() override { client_.retryNow(); }

   private:
    ClientConnection& client_;
  };

  static int onMessageBegin(llhttp_t* parser);
  static int onUrl(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderField(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderValue(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderValueComplete(llhttp_t* parser);
  static int onHeadersComplete(llhttp_t* parser);
  static int onBody(llhttp_t* parser, const char* at, std::size_t size);
  static int onChunkHeader(llhttp_t* parser);
  static int onChunkComplete(llhttp_t* parser);
  static int onMessageComplete(llhttp_t* parser);
  static const llhttp_settings_t& settings();

  void readSome();
  void sendOrBuffer(const char* data, std::size_t size);
  bool readBlocked() const;
  bool feed(const char* data, std::size_t size);
  void resumeParsing();
  bool flush();
  void closeAfterFlush();
  void armClientDeadline();
  void releaseIdleMemory();

  int requestHead();
  int fail(int status);  // from a parser callback: answer `status`, stop parsing
  // The rate limit's key for this request (rate_limit.key), and what a decision means: true
  // when the request must be answered 429 (then localHeaders_ holds Retry-After and the
  // RateLimit fields of draft-ietf-httpapi-ratelimit-headers).
  std::string rateLimitKey(std::size_t route) const;
  bool overLimit(const ratelimit::Decision& decision);
  void rateLimitDecided(const ratelimit::Decision& decision);
  // `conditionals`: the cache's If-None-Match / If-Modified-Since in place of the client's.
  void buildUpstreamHead(std::string_view host, const cache::Headers* conditionals = nullptr);
  void appendUpstream(const char* data, std::size_t size);
  bool startAttempt();
  // The balancer's hash for this request (consistent_hash), or nullopt.
  std::optional<std::uint64_t> balancerHash() const;
  void endAttempt(bool success, Failure failure, int status);
  bool canRetry(Failure failure);
  void scheduleRetry();
  void respondLocal(int status, bool closeAfter);
  // The upstream could not answer (`status`: 502, 503 or 504): a stale response where
  // stale-if-error allows, else `status`.
  void respondUpstreamFailure(int status);
  void finishResponse();

  // The response cache (cache.*), for GET and HEAD without a body. With a store that may block
  // (Redis), cache calls run on the CacheService's threads and continue here through the loop.
  template <typename Work, typename Then>
  void cacheCall(Work work, Then then);
  void cacheLookup();
  void cacheDecided(std::shared_ptr<cache::Lookup> lookup);
  void cacheWaitOver();
  void refreshInBackground(std::shared_ptr<cache::Lookup> lookup);
  void respondCached(const cache::Response& response, std::string_view label);
  cache::Response upstreamResponse(std::string body) const;
  void completeHeld();
  void storeTeed();
  void invalidateAfterUnsafe();
  void releaseHeld();
  void emitBody(const char* data, std::size_t size);
  void resetCache();
  void logAccess(core::Duration elapsed);
  void finishExchange();
  void detachUpstream();

  Worker& worker_;
  int fd_ = -1;
  std::uint64_t generation_ = 0;
  std::string peer_;
  llhttp_t parser_{};
  HeadScanner scanner_;
  Buffer in_;   // unparsed bytes held while the parser is paused
  Buffer out_;  // bytes for the client
  bool readable_ = false;
  bool parserPaused_ = false;
  bool closing_ = false;
  Phase phase_ = Phase::kIdle;
  std::uint32_t served_ = 0;

  // The request.
  std::string url_;
  HeaderBlock headers_;
  bool inTrailers_ = false;
  std::size_t headBytes_ = 0;
  std::uint8_t method_ = 0;
  bool http10_ = false;
  bool idempotent_ = false;
  bool isHead_ = false;
  bool requestChunked_ = false;
  bool requestLastChunk_ = false;
  bool expectContinue_ = false;
  bool continueSent_ = false;
  bool keepAlive_ = true;
  std::uint64_t bodyBytes_ = 0;
  int pendingStatus_ = 0;         // a local answer decided inside a parser callback
  int localStatus_ = 0;           // a local answer to give once the (bodiless) request is read
  bool waitingDecision_ = false;  // the shared rate limit has not answered yet
  std::string localHeaders_;      // extra fields for the next local answer (429's Retry-After...)
  std::string requestId_;
  TimePoint requestStart_{};
  TimePoint idleSince_{};     // when the keep-alive wait began
  bool idleRelease_ = false;  // the deadline is releaseIdleMemory's, not the keep-alive timeout

  // The exchange with the upstream group.
  static constexpr std::size_t kNoRoute = ~std::size_t{0};
  std::size_t route_ = kNoRoute;  // the route matched (Runtime::routeNames)
  UpstreamGroup* group_ = nullptr;
  bool requestActive_ = false;  // counted in group_->activeRequests
  std::string head_;            // the upstream request head, without its final CRLF
  bool needsHost_ = false;
  std::string replay_;  // the body as sent, while it fits retry.buffer_bytes
  bool replayable_ = true;
  Buffer requestOut_;  // bytes for the upstream connection
  UpstreamConnection* upstream_ = nullptr;
  EndpointState* endpoint_ = nullptr;
  EndpointState* lastEndpoint_ = nullptr;
  balancer::Pick pick_{};
  bool pickHeld_ = false;
  bool breakerAdmitted_ = false;
  bool outcomeRecorded_ = false;
  TimePoint attemptStart_{};
  core::Duration firstByteLatency_{0};
  int attempts_ = 0;
  bool retryInFlight_ = false;
  RetryTimer retryTimer_{*this};
  bool retryScheduled_ = false;

  // The cache's part in the exchange.
  bool cacheEngaged_ = false;  // a GET or HEAD the cache looks up
  std::shared_ptr<const cache::Request> cacheRequest_;
  std::shared_ptr<cache::Lookup> lookup_;  // what the cache decided, while it matters
  std::uint64_t cacheSeq_ = 0;             // tells this request's posted results apart
  bool cachePending_ = false;              // a cache call off the loop has not answered
  bool cacheWaiting_ = false;              // coalesced: retryTimer_ holds the deadline
  bool cacheWokenEarly_ = false;  // the fetch waited for ended before the lookup's answer came
  std::string_view cacheLabel_;   // X-Cache of a streamed response, if any
  bool held_ = false;             // the response is withheld until complete() (a 304, a 5xx)
  std::string heldHead_;          // ... its head as it would be streamed
  std::string heldBody_;
  bool teeing_ = false;  // the streamed body is copied for storing
  std::string teeBody_;
  cache::SystemTime cacheSentAt_{};

  // The response.
  int responseStatus_ = 0;
  std::uint64_t responseBodyBytes_ = 0;
  bool responseStarted_ = false;
  Framing framing_ = Framing::kNone;
  bool responseLastChunk_ = false;
  HeaderBlock responseHeaders_;
};

// ---------------------------------------------------------------------------------------------

class UpstreamConnection final : public Handler {
 public:
  explicit UpstreamConnection(Worker& worker) : worker_(worker) {}

  enum class State { kClosed, kConnecting, kBusy, kIdle };

  // Starts a non-blocking connect; false if it failed at once.
  bool connect(UpstreamGroup& group, EndpointState& endpoint);
  void attach(ClientConnection& owner);
  void flush();
  void resumeRead();
  // The client went away, or the exchange gave up on this connection: close without a verdict.
  void abandon() {
    owner_ = nullptr;
    close();
  }
  // The exchange drops the response being parsed (a status it retries): close once parsing stops.
  void dropOwner() { owner_ = nullptr; }
  void close();
  // Closes a connection that has nothing in flight (its last response read whole) with a reset
  // rather than a FIN, as HAProxy does: the TIME_WAIT state then stays off this host. Without it,
  // a pool smaller than the concurrency (1,000 clients, 64 idle connections kept) fills the
  // ephemeral port range with TIME_WAIT sockets and every connect() searches it (measured: 4x the
  // CPU per request, 300 ms p99).
  void closeWithReset();
  void becomeIdle();

  State state() const { return state_; }
  UpstreamGroup* group() const { return group_; }
  EndpointState* endpoint() const { return endpoint_; }
  bool reused() const { return requests_ > 1; }

  // fairway::proxy::Handler
  void onEvents(std::uint32_t events) override;
  void onDeadline() override;

 private:
  static int onStatus(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderField(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderValue(llhttp_t* parser, const char* at, std::size_t size);
  static int onHeaderValueComplete(llhttp_t* parser);
  static int onHeadersComplete(llhttp_t* parser);
  static int onBody(llhttp_t* parser, const char* at, std::size_t size);
  static int onChunkHeader(llhttp_t* parser);
  static int onChunkComplete(llhttp_t* parser);
  static int onMessageComplete(llhttp_t* parser);
  static const llhttp_settings_t& settings();

  void readSome();
  void feed(const char* data, std::size_t size);
  void failed(Failure failure);
  void completed(bool reusable);

  Worker& worker_;
  int fd_ = -1;
  State state_ = State::kClosed;
  UpstreamGroup* group_ = nullptr;
  EndpointState* endpoint_ = nullptr;
  ClientConnection* owner_ = nullptr;
  llhttp_t parser_{};
  std::string reason_;
  bool inTrailers_ = false;
  bool headSeen_ = false;  // a final (non-1xx) response head arrived
  bool readable_ = false;
  bool readBlocked_ = false;
  bool connectFailed_ = false;
  bool messageDone_ = false;
  std::uint64_t responseBytes_ = 0;
  std::uint32_t requests_ = 0;
};

// =============================================================================================
// Worker

Worker::Worker(Runtime& runtime, std::size_t index)
    : runtime_(runtime),
      index_(index),
      random_(0x9e3779b97f4a7c15ULL * (index + 1)),
      scratch_(kReadChunk) {
  idle_.resize(runtime_.groups.size());
  metrics_.upstreamResponses = std::vector<std::array<Counter, 6>>(runtime_.groups.size());
  metrics_.upstreamHeaderLatency = std::vector<LatencyHistogram>(runtime_.groups.size());
  metrics_.routeResponses = std::vector<std::array<Counter, 6>>(runtime_.routeNames.size());
  for (std::size_t g = 0; g < runtime_.groups.size(); ++g) {
    idle_[g].resize(runtime_.groups[g]->endpoints().size());
  }
  requestIdPrefix_ = (static_cast<std::uint64_t>(::getpid()) << 40) ^
                     (static_cast<std::uint64_t>(index) << 32) ^
                     static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
}

Worker::~Worker() {
  for (auto& client : clients_) {
    client->close();
  }
  for (auto& upstream : upstreams_) {
    upstream->close();
  }
  listeners_.clear();
}

bool Worker::adoptListener(int fd, std::string& error) {
  auto listener = std::make_unique<Listener>(*this, fd);
  if (!loop_.valid() || !loop_.add(fd, *listener, EPOLLIN)) {
    error = std::string("cannot watch the listening socket: ") + std::strerror(errno);
    return false;
  }
  listeners_.push_back(std::move(listener));
  return true;
}

void Worker::run() {
  loop_.run();
}

void Worker::stop() {
  loop_.stop();
}

void Worker::drain() {
  loop_.post([this] {
    draining_ = true;
    for (auto& listener : listeners_) {
      loop_.remove(listener->fd());
      listener->closeSocket();
    }
    for (auto& client : clients_) {
      if (client->isOpen()) {
        client->drain();
      }
    }
  });
}

void Worker::accept(int listenFd) {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t size = sizeof peer;
    int fd = ::accept4(listenFd, reinterpret_cast<sockaddr*>(&peer), &size,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;  // EAGAIN, or out of descriptors: the next edge retries
    }
    if (draining_ || runtime_.connections.fetch_add(1, std::memory_order_relaxed) >=
                         static_cast<std::int64_t>(runtime_.config.limits.maxConnections)) {
      if (!draining_) {
        runtime_.connections.fetch_sub(1, std::memory_order_relaxed);
      }
      metrics_.refused.add();
      ::close(fd);
      continue;
    }
    metrics_.accepted.add();
    metrics_.activeConnections.add();
    setNoDelay(fd);
    newClient()->open(fd, peer);
  }
}

ClientConnection* Worker::newClient() {
  if (freeClients_.empty()) {
    clients_.push_back(std::make_unique<ClientConnection>(*this));
    return clients_.back().get();
  }
  ClientConnection* client = freeClients_.back();
  freeClients_.pop_back();
  return client;
}

void Worker::recycle(ClientConnection* client) {
  // After the batch: a later event of this batch may still name the object.
  loop_.afterBatch([this, client] { freeClients_.push_back(client); });
}

UpstreamConnection* Worker::newUpstream() {
  if (freeUpstreams_.empty()) {
    upstreams_.push_back(std::make_unique<UpstreamConnection>(*this));
    return upstreams_.back().get();
  }
  UpstreamConnection* upstream = freeUpstreams_.back();
  freeUpstreams_.pop_back();
  return upstream;
}

void Worker::recycle(UpstreamConnection* upstream) {
  loop_.afterBatch([this, upstream] { freeUpstreams_.push_back(upstream); });
}

UpstreamConnection* Worker::takeIdle(const UpstreamGroup& group, const EndpointState& endpoint) {
  auto& pool = idle_[group.index()][endpoint.index];
  if (pool.empty()) {
    return nullptr;
  }
  UpstreamConnection* upstream = pool.back();
  pool.pop_back();
  return upstream;
}

void Worker::putIdle(UpstreamConnection* upstream) {
  auto& pool = idle_[upstream->group()->index()][upstream->endpoint()->index];
  if (draining_ || pool.size() >= upstream->group()->config().pool.maxIdlePerEndpoint) {
    upstream->closeWithReset();
    return;
  }
  upstream->becomeIdle();
  pool.push_back(upstream);
}

void Worker::removeIdle(UpstreamConnection* upstream) {
  auto& pool = idle_[upstream->group()->index()][upstream->endpoint()->index];
  auto it = std::find(pool.begin(), pool.end(), upstream);
  if (it != pool.end()) {
    pool.erase(it);
  }
}

const std::string& Worker::logTime() {
  auto now = std::chrono::system_clock::now();
  std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (second != logTimeSecond_) {
    logTimeSecond_ = second;
    auto t = static_cast<std::time_t>(second);
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%d/%b/%Y:%H:%M:%S +0000", &utc);
    logTime_ = text;
  }
  return logTime_;
}

std::string Worker::nextRequestId() {
  std::string id;
  id.reserve(32);
  std::uint64_t counter = ++requestCounter_;
  std::uint64_t mixed = requestIdPrefix_ ^ (counter * 0x9e3779b97f4a7c15ULL);
  for (std::uint64_t part : {requestIdPrefix_, mixed}) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      id.push_back("0123456789abcdef"[(part >> shift) & 0xf]);
    }
  }
  return id;
}

// =============================================================================================
// ClientConnection

const llhttp_settings_t& ClientConnection::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &ClientConnection::onMessageBegin;
    s.on_url = &ClientConnection::onUrl;
    s.on_header_field = &ClientConnection::onHeaderField;
    s.on_header_value = &ClientConnection::onHeaderValue;
    s.on_header_value_complete = &ClientConnection::onHeaderValueComplete;
    s.on_headers_complete = &ClientConnection::onHeadersComplete;
    s.on_body = &ClientConnection::onBody;
    s.on_chunk_header = &ClientConnection::onChunkHeader;
    s.on_chunk_complete = &ClientConnection::onChunkComplete;
    s.on_message_complete = &ClientConnection::onMessageComplete;
    return s;
  }();
  return kSettings;
}

ClientConnection::ClientConnection(Worker& worker) : worker_(worker) {}

void ClientConnection::open(int fd, const sockaddr_storage& peer) {
  fd_ = fd;
  ++generation_;
  peer_ = addressText(peer);
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
  in_.clear();
  out_.clear();
  readable_ = false;
  parserPaused_ = false;
  closing_ = false;
  phase_ = Phase::kIdle;
  served_ = 0;
  upstream_ = nullptr;
  requestActive_ = false;
  retryScheduled_ = false;
  if (!worker_.loop_.add(fd_, *this, EPOLLIN | EPOLLOUT | EPOLLRDHUP)) {
    close();
    return;
  }
  worker_.loop_.setDeadline(*this,
                            worker_.loop_.now() + worker_.runtime_.config.clientTimeouts.header);
}

// Draining (SIGTERM, reload): every response from now on says Connection: close. An idle
// connection gets a second to send its next request (answered, then closed) before it is closed:
// closing at once would reset a request already on its way (the keep-alive race).
void ClientConnection::drain() {
  keepAlive_ = false;
  if (phase_ == Phase::kIdle && out_.empty()) {
    worker_.loop_.setDeadline(*this, worker_.loop_.now() + std::chrono::seconds(1));
  }
}

void ClientConnection::onEvents(std::uint32_t events) {
  if (fd_ < 0) {
    return;
  }
  if ((events & EPOLLERR) != 0) {
    close();
    return;
  }
  if ((events & EPOLLOUT) != 0 && !out_.empty() && !flush()) {
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) {
    readable_ = true;
    readSome();
  }
}

bool ClientConnection::readBlocked() const {
  return closing_ || parserPaused_ || waitingDecision_ || phase_ == Phase::kAwaitResponse ||
         requestOut_.size() > kHighWater || out_.size() > kHighWater;
}

void ClientConnection::readSome() {
  while (fd_ >= 0 && readable_ && !readBlocked()) {
    ssize_t n = ::recv(fd_, worker_.scratch_.data(), worker_.scratch_.size(), 0);
    if (n > 0) {
      worker_.metrics_.bytesFromClients.add(static_cast<std::uint64_t>(n));
      if (!feed(worker_.scratch_.data(), static_cast<std::size_t>(n))) {
        return;
      }
      continue;
    }
    if (n == 0) {
      readable_ = false;
      // The client finished sending. Between requests that is a close; mid-request the request
      // can never complete.
      if (phase_ == Phase::kIdle && in_.empty()) {
        close();
      } else if (phase_ == Phase::kHead || phase_ == Phase::kBody) {
        if (responseStarted_ || upstream_ != nullptr || retryScheduled_) {
          close();
        } else {
          respondLocal(400, true);
        }
      }
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
      return;
    }
    if (errno != EINTR) {
      close();
      return;
    }
  }
}

bool ClientConnection::feed(const char* data, std::size_t size) {
  if (!scanner_.active() && phase_ == Phase::kIdle) {
    scanner_.reset();
  }
  if (scanner_.active() && !scanner_.scan(data, size)) {
    respondLocal(400, true);
    return false;
  }
  llhttp_errno_t error = llhttp_execute(&parser_, data, size);
  if (error == HPE_PAUSED) {
    const char* position = llhttp_get_error_pos(&parser_);
    std::size_t consumed = static_cast<std::size_t>(position - data);
    if (consumed < size) {
      in_.append(position, size - consumed);
    }
    parserPaused_ = true;
  } else if (error != HPE_OK) {
    if (fd_ < 0) {
      return false;
    }
    int status = pendingStatus_ != 0 ? pendingStatus_ : 400;
    pendingStatus_ = 0;
    if (closing_) {
      return false;  // already answered
    }
    if (responseStarted_) {
      close();  // the request broke after the response began: nothing more can be said
      return false;
    }
    // The request broke after it was forwarded (a body over the limit, bad chunk framing): the
    // upstream exchange is dropped and the client gets the error.
    if (upstream_ != nullptr) {
      detachUpstream();
    }
    if (retryScheduled_) {
      EventLoop::forget(retryTimer_);
      retryScheduled_ = false;
    }
    respondLocal(status, true);
    return false;
  }
  if (upstream_ != nullptr && upstream_->state() == UpstreamConnection::State::kBusy) {
    upstream_->flush();
  }
  if (!out_.empty()) {
    return flush();
  }
  return fd_ >= 0;
}

void ClientConnection::resumeParsing() {
  if (fd_ < 0 || phase_ != Phase::kIdle || closing_) {
    return;
  }
  if (parserPaused_) {
    parserPaused_ = false;
    llhttp_resume(&parser_);
  }
  if (!in_.empty()) {
    std::string pending(in_.data(), in_.size());
    in_.clear();
    if (!feed(pending.data(), pending.size())) {
      return;
    }
  }
  if (fd_ >= 0 && readable_) {
    readSome();
  }
}

bool ClientConnection::flush() {
  while (!out_.empty()) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      worker_.metrics_.bytesToClients.add(static_cast<std::uint64_t>(n));
      out_.consume(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      worker_.loop_.setDeadline(*this,
                                worker_.loop_.now() + worker_.runtime_.config.clientTimeouts.send);
      if (upstream_ != nullptr && out_.size() < kLowWater) {
        upstream_->resumeRead();
      }
      return fd_ >= 0;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    close();  // the client is gone
    return false;
  }
  out_.trim();
  if (closing_) {
    close();
    return false;
  }
  armClientDeadline();
  if (upstream_ != nullptr) {
    upstream_->resumeRead();
  }
  if (phase_ == Phase::kIdle && (parserPaused_ || !in_.empty() || readable_)) {
    auto generation = generation_;
    worker_.loop_.afterBatch([this, generation] {
      if (generation == generation_) {
        resumeParsing();
      }
    });
  }
  return fd_ >= 0;
}

void ClientConnection::armClientDeadline() {
  const ClientTimeouts& timeouts = worker_.runtime_.config.clientTimeouts;
  TimePoint now = worker_.loop_.now();
  switch (phase_) {
    case Phase::kIdle:
      idleSince_ = now;
      idleRelease_ = timeouts.keepAliveRelease < timeouts.keepAlive;
      worker_.loop_.setDeadline(
          *this, now + (idleRelease_ ? timeouts.keepAliveRelease : timeouts.keepAlive));
      break;
    case Phase::kHead:
      break;  // set once, at the first byte of the request: the whole head must arrive in time
    case Phase::kBody:
      worker_.loop_.setDeadline(*this, now + timeouts.body);
      break;
    case Phase::kAwaitResponse:
      worker_.loop_.setDeadline(*this, kNever);  // the upstream's timeouts govern
      break;
  }
}

void ClientConnection::onDeadline() {
  if (fd_ < 0) {
    return;
  }
  if (phase_ == Phase::kIdle && idleRelease_) {
    idleRelease_ = false;
    if (out_.empty()) {  // else this is the send timeout: flush() replaced the deadline
      releaseIdleMemory();
      worker_.metrics_.idleReleases.add();
      worker_.loop_.setDeadline(*this,
                                idleSince_ + worker_.runtime_.config.clientTimeouts.keepAlive);
      return;
    }
  }
  worker_.metrics_.clientTimeouts.add();
  if (!out_.empty()) {
    close();  // a client that does not read its response
    return;
  }
  switch (phase_) {
    case Phase::kIdle:
      close();
      return;
    case Phase::kHead:
    case Phase::kBody:
      if (responseStarted_ || upstream_ != nullptr || retryScheduled_) {
        close();
      } else {
        respondLocal(408, true);
      }
      return;
    case Phase::kAwaitResponse:
      return;
  }
}

void ClientConnection::close() {
  if (fd_ < 0) {
    return;
  }
  if (upstream_ != nullptr) {
    detachUpstream();
  }
  if (retryScheduled_) {
    EventLoop::forget(retryTimer_);
    retryScheduled_ = false;
  }
  if (requestActive_) {
    worker_.metrics_.responses[0].add();  // the exchange ended without a complete response
  }
  resetCache();
  finishExchange();
  ::close(fd_);
  fd_ = -1;
  ++generation_;
  EventLoop::forget(*this);
  in_.clear();
  out_.clear();
  releaseIdleMemory();  // a recycled object keeps nothing of its last client
  worker_.runtime_.connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.metrics_.sub(worker_.metrics_.activeConnections);
  worker_.recycle(this);
}

void ClientConnection::closeAfterFlush() {
  closing_ = true;
  keepAlive_ = false;
  if (out_.empty()) {
    close();
  } else {
    flush();
  }
}

// --- request parsing (llhttp callbacks) -------------------------------------------------------

int ClientConnection::onMessageBegin(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  self->phase_ = Phase::kHead;
  self->url_.clear();
  self->headers_.clear();
  self->inTrailers_ = false;
  self->headBytes_ = 0;
  self->bodyBytes_ = 0;
  self->requestChunked_ = false;
  self->requestLastChunk_ = false;
  self->expectContinue_ = false;
  self->continueSent_ = false;
  self->responseStarted_ = false;
  self->pendingStatus_ = 0;
  self->replay_.clear();
  self->replayable_ = true;
  self->requestOut_.clear();
  self->attempts_ = 0;
  self->lastEndpoint_ = nullptr;
  self->requestId_.clear();
  self->localStatus_ = 0;
  self->localHeaders_.clear();
  self->route_ = kNoRoute;
  self->worker_.loop_.setDeadline(
      *self, self->worker_.loop_.now() + self->worker_.runtime_.config.clientTimeouts.header);
  return 0;
}

int ClientConnection::fail(int status) {
  pendingStatus_ = status;
  return -1;
}

int ClientConnection::onUrl(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  self->url_.append(at, size);
  if (self->url_.size() > self->worker_.runtime_.config.limits.maxRequestLineBytes) {
    return self->fail(414);
  }
  return 0;
}

int ClientConnection::onHeaderField(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  const LimitsConfig& limits = self->worker_.runtime_.config.limits;
  self->headBytes_ += size;
  if (self->headBytes_ > limits.maxHeaderBytes) {
    return self->fail(431);
  }
  if (self->inTrailers_) {
    return 0;  // trailer fields are dropped (RFC 9110 §6.5.1 allows it)
  }
  std::size_t before = self->headers_.size();
  self->headers_.appendName(at, size);
  if (self->headers_.size() > before && self->headers_.size() > limits.maxHeaderCount) {
    return self->fail(431);
  }
  return 0;
}

int ClientConnection::onHeaderValue(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  self->headBytes_ += size;
  if (self->headBytes_ > self->worker_.runtime_.config.limits.maxHeaderBytes) {
    return self->fail(431);
  }
  if (!self->inTrailers_) {
    self->headers_.appendValue(at, size);
  }
  return 0;
}

int ClientConnection::onHeaderValueComplete(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  if (!self->inTrailers_) {
    self->headers_.endValue();
  }
  return 0;
}

int ClientConnection::onHeadersComplete(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  return self->requestHead();
}

int ClientConnection::requestHead() {
  phase_ = Phase::kBody;
  inTrailers_ = true;  // any further field is a trailer
  requestStart_ = worker_.loop_.now();
  worker_.metrics_.requests.add();
  const Config& config = worker_.runtime_.config;

  if (parser_.http_major != 1) {
    return fail(505);
  }
  http10_ = parser_.http_minor == 0;
  method_ = static_cast<std::uint8_t>(llhttp_get_method(&parser_));
  if (method_ == HTTP_CONNECT) {
    return fail(405);
  }
  parser_.upgrade = 0;  // no protocol upgrades: Upgrade is dropped as hop-by-hop
  idempotent_ = isIdempotent(method_);
  isHead_ = method_ == HTTP_HEAD;

  std::size_t hostCount = headers_.count("host");
  if (hostCount > 1 || (!http10_ && hostCount == 0)) {
    return fail(400);  // RFC 9112 §3.2
  }
  std::size_t te = headers_.find("transfer-encoding");
  if (te != std::string_view::npos) {
    // Only "chunked", exactly once: anything else could be framed differently downstream.
    if (headers_.count("transfer-encoding") > 1 ||
        !equalsIgnoreCase(headers_.value(te), "chunked") || http10_) {
      return fail(400);
    }
    requestChunked_ = true;
  }
  std::size_t contentLengths = headers_.count("content-length");
  if (contentLengths > 1 || (contentLengths == 1 && requestChunked_)) {
    return fail(400);
  }
  bool hasLength = (parser_.flags & F_CONTENT_LENGTH) != 0;
  bool hasBody = requestChunked_ || (hasLength && parser_.content_length > 0);
  if (hasLength && config.limits.maxBodyBytes != 0 &&
      parser_.content_length > config.limits.maxBodyBytes) {
    return fail(413);
  }
  if (std::size_t expect = headers_.find("expect"); expect != std::string_view::npos) {
    if (!equalsIgnoreCase(headers_.value(expect), "100-continue")) {
      return fail(417);
    }
    expectContinue_ = hasBody && !http10_;
  }

  keepAlive_ = llhttp_should_keep_alive(&parser_) != 0 && !worker_.draining_ &&
               (config.limits.maxRequestsPerConnection == 0 ||
                served_ + 1 < config.limits.maxRequestsPerConnection);

  std::string_view host;
  if (std::size_t h = headers_.find("host"); h != std::string_view::npos) {
    host = headers_.value(h);
  }
  if (std::size_t id = headers_.find("x-request-id"); id != std::string_view::npos) {
    requestId_.assign(headers_.value(id));
  } else {
    requestId_ = worker_.nextRequestId();
  }

  std::string_view path = url_;
  if (path.size() > 7 && equalsIgnoreCase(path.substr(0, 7), "http://")) {
    std::size_t slash = path.find('/', 7);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  if (std::size_t query = path.find('?'); query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  // 404 and 429 keep the connection when there is no body to skip.
  auto answerLocally = [&](int status) {
    if (hasBody) {
      return fail(status);
    }
    localStatus_ = status;
    return 0;
  };
  auto target = worker_.runtime_.router->match(host, path);
  if (!target) {
    worker_.metrics_.noRoute.add();
    return answerLocally(404);
  }
  if (worker_.runtime_.limiter && overLimit(worker_.runtime_.limiter->tryAcquire(
                                      rateLimitKey(*target), 1, worker_.loop_.now()))) {
    return answerLocally(429);
  }
  route_ = *target;
  group_ = worker_.runtime_.groups[worker_.runtime_.routeUpstream[*target]].get();
  if (worker_.runtime_.cache) {
    cacheLabel_ = "BYPASS";
    if ((method_ == HTTP_GET || method_ == HTTP_HEAD) && !hasBody && !host.empty()) {
      cacheEngaged_ = true;
      auto request = std::make_shared<cache::Request>();
      request->method = isHead_ ? "HEAD" : "GET";
      request->uri = cacheKey(host, url_);
      for (std::size_t i = 0; i < headers_.size(); ++i) {
        request->headers.add(std::string(headers_.name(i)), std::string(headers_.value(i)));
      }
      cacheRequest_ = std::move(request);
    }
  }
  if (!cacheEngaged_) {
    buildUpstreamHead(host);  // a looked-up request builds its head only if it goes upstream
  }
  group_->startRequest();
  requestActive_ = true;
  worker_.metrics_.activeRequests.add();
  worker_.loop_.setDeadline(*this,
                            hasBody ? worker_.loop_.now() + config.clientTimeouts.body : kNever);
  if (worker_.runtime_.sharedLimiter) {
    // The shared limit is decided off the loop; the request waits (its body is not read
    // meanwhile) and continues in rateLimitDecided(), on this worker's thread.
    waitingDecision_ = true;
    Worker* worker = &worker_;
    auto generation = generation_;
    worker_.runtime_.sharedLimiter->submit(
        rateLimitKey(*target), [worker, self = this, generation](ratelimit::Decision decision) {
          worker->loop_.post([self, generation, decision] {
            if (self->generation_ == generation) {
              self->rateLimitDecided(decision);
            }
          });
        });
    return 0;
  }
  if (cacheEngaged_) {
    return 0;  // looked up once the request is read, in onMessageComplete
  }
  if (!startAttempt()) {
    return fail(503);
  }
  return 0;
}

std::string ClientConnection::rateLimitKey(std::size_t route) const {
  const RateLimitConfig& config = worker_.runtime_.config.rateLimit;
  std::string_view key = peer_;
  if (config.key == "route") {
    return "route:" + std::to_string(route);
  }
  if (config.key.rfind("header:", 0) == 0) {
    std::size_t field = headers_.find(std::string_view(config.key).substr(7));
    key = field == std::string_view::npos ? std::string_view() : headers_.value(field);
  } else if (config.trustedHops > 0) {
    // The client is trustedHops entries from the right of X-Forwarded-For, when there are that
    // many; a shorter list means a client wrote it itself: the peer counts.
    std::vector<std::string_view> hops;
    for (std::size_t i = headers_.find("x-forwarded-for"); i != std::string_view::npos;
         i = headers_.find("x-forwarded-for", i + 1)) {
      forEachToken(headers_.value(i), [&](std::string_view hop) { hops.push_back(hop); });
    }
    if (hops.size() >= static_cast<std::size_t>(config.trustedHops)) {
      key = hops[hops.size() - static_cast<std::size_t>(config.trustedHops)];
    }
  }
  return std::string(key);
}

bool ClientConnection::overLimit(const ratelimit::Decision& decision) {
  const RateLimitConfig& config = worker_.runtime_.config.rateLimit;
  if (decision.allowed) {
    return false;
  }
  if (config.dryRun) {
    worker_.metrics_.rateLimitedDryRun.add();
    return false;
  }
  worker_.metrics_.rateLimited.add();
  auto seconds = [](core::Duration d) {
    return static_cast<std::uint64_t>((d.count() + 999'999'999) / 1'000'000'000);
  };
  std::string& h = localHeaders_;
  h.append("Retry-After: ");
  appendDecimal(h, std::max<std::uint64_t>(1, seconds(decision.retryAfter)));
  h.append("\r\nRateLimit-Policy: \"default\";q=");
  appendDecimal(h, static_cast<std::uint64_t>(decision.limit));
  h.append(";w=");
  appendDecimal(
      h, std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(decision.limit) /
                                                               config.requestsPerSecond)));
  h.append("\r\nRateLimit: \"default\";r=");
  appendDecimal(h, static_cast<std::uint64_t>(decision.remaining));
  h.append(";t=");
  appendDecimal(h, seconds(decision.reset));
  h.append("\r\n");
  return true;
}

void ClientConnection::buildUpstreamHead(std::string_view host,
                                         const cache::Headers* conditionals) {
  head_.clear();
  head_.append(llhttp_method_name(static_cast<llhttp_method_t>(method_)));
  head_.push_back(' ');
  head_.append(url_);
  head_.append(" HTTP/1.1\r\n");

  // Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  std::string_view connection[16];
  std::size_t connectionCount = 0;
  for (std::size_t i = headers_.find("connection"); i != std::string_view::npos;
       i = headers_.find("connection", i + 1)) {
    forEachToken(headers_.value(i), [&](std::string_view token) {
      if (connectionCount < std::size(connection)) {
        connection[connectionCount++] = token;
      }
    });
  }
  std::string forwardedFor;
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    std::string_view name = headers_.name(i);
    if (isHopByHop(name) || equalsIgnoreCase(name, "content-length") ||
        equalsIgnoreCase(name, "expect") || equalsIgnoreCase(name, "x-forwarded-proto") ||
        equalsIgnoreCase(name, "x-forwarded-host")) {
      continue;
    }
    if (conditionals != nullptr &&
        (equalsIgnoreCase(name, "if-none-match") || equalsIgnoreCase(name, "if-modified-since"))) {
      continue;
    }
    bool named = false;
    for (std::size_t c = 0; c < connectionCount && !named; ++c) {
      named = equalsIgnoreCase(name, connection[c]);
    }
    if (named) {
      continue;
    }
    if (equalsIgnoreCase(name, "x-forwarded-for")) {
      if (!forwardedFor.empty()) {
        forwardedFor.append(", ");
      }
      forwardedFor.append(headers_.value(i));
      continue;
    }
    head_.append(name);
    head_.append(": ");
    head_.append(headers_.value(i));
    head_.append("\r\n");
  }
  head_.append("X-Forwarded-For: ");
  if (!forwardedFor.empty()) {
    head_.append(forwardedFor);
    head_.append(", ");
  }
  head_.append(peer_);
  head_.append("\r\nX-Forwarded-Proto: http\r\n");
  if (conditionals != nullptr) {
    for (std::string_view name : {"If-None-Match", "If-Modified-Since"}) {
      if (auto value = conditionals->combined(name)) {
        head_.append(name);
        head_.append(": ");
        head_.append(*value);
        head_.append("\r\n");
      }
    }
  }
  if (!host.empty()) {
    head_.append("X-Forwarded-Host: ");
    head_.append(host);
    head_.append("\r\n");
  }
  head_.append("Via: ");
  head_.append(http10_ ? "1.0 fairway" : kVia);
  head_.append("\r\n");
  if (headers_.find("x-request-id") == std::string_view::npos) {
    head_.append("X-Request-Id: ");
    head_.append(requestId_);
    head_.append("\r\n");
  }
  if (requestChunked_) {
    head_.append("Transfer-Encoding: chunked\r\n");
  } else if ((parser_.flags & F_CONTENT_LENGTH) != 0) {
    head_.append("Content-Length: ");
    appendDecimal(head_, parser_.content_length);
    head_.append("\r\n");
  }
  needsHost_ = host.empty();
}

void ClientConnection::appendUpstream(const char* data, std::size_t size) {
  requestOut_.append(data, size);
  if (replayable_) {
    if (replay_.size() + size <= group_->config().retry.bufferBytes) {
      replay_.append(data, size);
    } else {
      replayable_ = false;
      std::string().swap(replay_);
    }
  }
}

int ClientConnection::onBody(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  self->bodyBytes_ += size;
  std::uint64_t limit = self->worker_.runtime_.config.limits.maxBodyBytes;
  if (limit != 0 && self->bodyBytes_ > limit) {
    return self->fail(413);
  }
  if (self->group_ != nullptr) {
    self->appendUpstream(at, size);
  }
  self->worker_.loop_.setDeadline(
      *self, self->worker_.loop_.now() + self->worker_.runtime_.config.clientTimeouts.body);
  return 0;
}

int ClientConnection::onChunkHeader(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  if (self->group_ == nullptr) {
    return 0;
  }
  if (parser->content_length == 0) {
    self->requestLastChunk_ = true;
    return 0;
  }
  std::string header;
  appendHex(header, parser->content_length);
  header.append("\r\n");
  self->appendUpstream(header.data(), header.size());
  return 0;
}

int ClientConnection::onChunkComplete(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  if (self->group_ != nullptr && !self->requestLastChunk_) {
    self->appendUpstream("\r\n", 2);
  }
  return 0;
}

int ClientConnection::onMessageComplete(llhttp_t* parser) {
  auto* self = static_cast<ClientConnection*>(parser->data);
  if (self->group_ != nullptr && self->requestChunked_) {
    self->appendUpstream("0\r\n\r\n", 5);  // trailers are not forwarded
  }
  self->phase_ = Phase::kAwaitResponse;
  self->armClientDeadline();
  if (self->localStatus_ != 0) {
    int status = self->localStatus_;
    self->localStatus_ = 0;
    self->respondLocal(status, false);
  } else if (self->cacheEngaged_ && !self->waitingDecision_ && !self->lookup_ &&
             !self->cachePending_) {
    self->cacheLookup();
  }
  return HPE_PAUSED;  // one request at a time; the rest waits in in_
}

// --- the exchange -----------------------------------------------------------------------------

void ClientConnection::rateLimitDecided(const ratelimit::Decision& decision) {
  if (fd_ < 0 || !waitingDecision_) {
    return;
  }
  waitingDecision_ = false;
  if (overLimit(decision)) {
    respondLocal(429, phase_ != Phase::kAwaitResponse);
    return;
  }
  if (cacheEngaged_) {
    cacheLookup();  // a bodiless request: read whole by now
    return;
  }
  if (!startAttempt()) {
    respondLocal(503, phase_ != Phase::kAwaitResponse);
    return;
  }
  if (upstream_ != nullptr && upstream_->state() == UpstreamConnection::State::kBusy) {
    upstream_->flush();
  }
  if (!out_.empty() && !flush()) {
    return;
  }
  if (readable_ && !readBlocked()) {
    readSome();
  }
}

void ClientConnection::retryNow() {
  if (fd_ < 0) {
    return;
  }
  if (cacheWaiting_) {
    cacheWaitOver();  // the coalescing deadline
    return;
  }
  if (!startAttempt()) {
    respondLocal(503, phase_ != Phase::kAwaitResponse);
    return;
  }
  if (!out_.empty()) {
    flush();
  }
}

bool ClientConnection::startAttempt() {
  retryScheduled_ = false;
  ++attempts_;
  TimePoint now = worker_.loop_.now();
  UpstreamGroup& group = *group_;
  std::optional<balancer::Pick> chosen;
  EndpointState* endpoint = nullptr;
  const std::optional<std::uint64_t> hash = balancerHash();
  // A retry avoids the endpoint that just failed: re-pick (a randomised algorithm draws it again
  // with probability about 1/n per draw, so 24 more draws leave ~2^-24 with two endpoints) and,
  // for consistent_hash, walk on to other ring points. Picks are cheap; re-picks are rare.
  std::size_t tries = group.endpoints().size() + (lastEndpoint_ != nullptr ? 24 : 2);
  for (std::size_t i = 0; i < tries && !chosen; ++i) {
    std::optional<std::uint64_t> point;
    if (hash) {
      point = *hash + i * 0x9e3779b97f4a7c15ULL;
    }
    auto pick = group.balancer().pick({.now = now, .hash = point, .random = &worker_.random_});
    if (!pick) {
      break;
    }
    EndpointState* candidate = group.endpointOf(pick->endpoint);
    bool again = candidate == lastEndpoint_ && group.endpoints().size() > 1 && i + 1 < tries;
    if (!again && candidate->breaker != nullptr) {
      breaker::Decision decision = candidate->breaker->allow(now);
      if (!decision) {
        again = true;
        if (decision.state == breaker::State::kHalfOpen) {
          group.probeSlotsFull(*candidate, now);
        }
      }
    }
    if (again) {
      group.balancer().release(*pick, {.now = now, .latency = {}});
      continue;
    }
    chosen = pick;
    endpoint = candidate;
  }
  if (!chosen) {
    worker_.metrics_.noEndpoint.add();
    return false;
  }
  pick_ = *chosen;
  pickHeld_ = true;
  endpoint_ = endpoint;
  lastEndpoint_ = endpoint;
  breakerAdmitted_ = endpoint->breaker != nullptr;
  outcomeRecorded_ = false;
  attemptStart_ = now;
  if (lookup_) {
    cacheSentAt_ = std::chrono::system_clock::now();
  }
  endpoint->requests.fetch_add(1, std::memory_order_relaxed);

  // The first attempt sends the body read so far (rate_limit.redis may have let some arrive);
  // a retry replays it.
  std::string body = attempts_ == 1 ? std::string(requestOut_.data(), requestOut_.size()) : replay_;
  requestOut_.clear();
  requestOut_.append(head_);
  if (needsHost_) {
    requestOut_.append("Host: ");
    requestOut_.append(endpoint->config.host);
    requestOut_.append(":");
    appendDecimal(requestOut_.raw(), endpoint->config.port);
    requestOut_.append("\r\n");
  }
  requestOut_.append("\r\n");
  requestOut_.append(body);

  if (expectContinue_ && !continueSent_) {
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    continueSent_ = true;
  }

  // Called inside the client parser's callbacks: nothing here may close the client connection.
  // Writes to the client happen once the parser returns.
  UpstreamConnection* upstream = worker_.takeIdle(group, *endpoint);
  upstream_ = upstream != nullptr ? upstream : worker_.newUpstream();
  upstream_->attach(*this);
  if (upstream != nullptr) {
    worker_.metrics_.upstreamReuses.add();
    upstream_->flush();
  } else {
    worker_.metrics_.upstreamConnects.add();
    upstream_->connect(group, *endpoint);  // a failure is reported from the loop, not from here
  }
  return true;
}

std::optional<std::uint64_t> ClientConnection::balancerHash() const {
  // consistent_hash: the key is load_balancer.hash_header's value, else the client's address.
  const UpstreamConfig& config = group_->config();
  if (config.balancer.algorithm != "consistent_hash") {
    return std::nullopt;
  }
  std::string_view key = peer_;
  if (!config.hashHeader.empty()) {
    if (std::size_t i = headers_.find(config.hashHeader); i != std::string_view::npos) {
      key = headers_.value(i);
    }
  }
  return core::hashKey(key);
}

void ClientConnection::requestOutDrained() {
  if (fd_ >= 0 && readable_ && !readBlocked()) {
    auto generation = generation_;
    worker_.loop_.afterBatch([this, generation] {
      if (generation == generation_) {
        readSome();
      }
    });
  }
}

void ClientConnection::endAttempt(bool success, Failure failure, int status) {
  if (outcomeRecorded_ || endpoint_ == nullptr) {
    return;
  }
  outcomeRecorded_ = true;
  TimePoint now = worker_.loop_.now();
  firstByteLatency_ = now - attemptStart_;
  if (success) {
    worker_.metrics_.upstreamHeaderLatency[group_->index()].record(firstByteLatency_);
  }
  health::Outcome outcome = health::Outcome::response(status);
  if (!success) {
    endpoint_->failures.fetch_add(1, std::memory_order_relaxed);
    switch (failure) {
      case Failure::kConnect:
        outcome = health::Outcome::connectFailure();
        endpoint_->connectFailures.fetch_add(1, std::memory_order_relaxed);
        break;
      case Failure::kConnectTimeout:
      case Failure::kResponseTimeout:
        outcome = health::Outcome::timeout();
        break;
      case Failure::kReset:
      case Failure::kBadResponse:
        outcome = health::Outcome::reset();
        break;
    }
  }
  if (breakerAdmitted_) {
    bool failed = !success || status >= 500;
    endpoint_->breaker->record(failed ? breaker::Outcome::kFailure : breaker::Outcome::kSuccess,
                               firstByteLatency_, now);
    group_->breakerRecorded(*endpoint_, now);
  }
  group_->outliers().recordOutcome(endpoint_->id, outcome, now);
}

void ClientConnection::detachUpstream() {
  UpstreamConnection* upstream = upstream_;
  upstream_ = nullptr;
  if (!outcomeRecorded_ && breakerAdmitted_ && endpoint_ != nullptr) {
    endpoint_->breaker->record(breaker::Outcome::kIgnored, worker_.loop_.now());
    group_->breakerRecorded(*endpoint_, worker_.loop_.now());
    outcomeRecorded_ = true;
  }
  if (pickHeld_) {
    group_->balancer().release(pick_, {.now = worker_.loop_.now(), .latency = firstByteLatency_});
    pickHeld_ = false;
  }
  if (upstream != nullptr) {
    upstream->abandon();
  }
}

bool ClientConnection::canRetry(Failure failure) {
  if (responseStarted_ || !replayable_ || attempts_ >= group_->config().retry.attempts) {
    return false;
  }
  bool neverSent = failure == Failure::kConnect || failure == Failure::kConnectTimeout;
  if (!neverSent && !idempotent_) {
    return false;
  }
  if (retryInFlight_) {
    return true;  // this request already holds a retry slot
  }
  if (!group_->tryStartRetry()) {
    return false;
  }
  retryInFlight_ = true;
  return true;
}

void ClientConnection::scheduleRetry() {
  worker_.metrics_.retries.add();
  const RetryConfig& retry = group_->config().retry;
  auto cap = retry.backoffBase.count() << std::min(attempts_ - 1, 20);
  cap = std::min<std::int64_t>(cap, retry.backoffMax.count());
  std::int64_t delay =
      cap > 0
          ? static_cast<std::int64_t>(worker_.random_.below(static_cast<std::uint64_t>(cap) + 1))
          : 0;
  retryScheduled_ = true;
  worker_.loop_.setDeadline(retryTimer_, worker_.loop_.now() + core::Duration(delay));
}

void ClientConnection::upstreamFailed(Failure failure) {
  switch (failure) {
    case Failure::kConnect:
      worker_.metrics_.upstreamConnectFailures.add();
      break;
    case Failure::kConnectTimeout:
    case Failure::kResponseTimeout:
      worker_.metrics_.upstreamTimeouts.add();
      break;
    case Failure::kReset:
      worker_.metrics_.upstreamResets.add();
      break;
    case Failure::kBadResponse:
      worker_.metrics_.upstreamBadResponses.add();
      break;
  }
  endAttempt(false, failure, 0);
  upstream_ = nullptr;  // the connection closes itself
  if (held_) {
    held_ = false;  // nothing of the withheld response went out: as if it never began
    responseStarted_ = false;
    heldHead_.clear();
    heldBody_.clear();
  }
  teeing_ = false;
  if (pickHeld_) {
    // A failure reports the connect timeout as its latency: an endpoint that refuses at once must
    // not look like the fastest one to latency-aware algorithms (peak_ewma).
    auto penalty = std::max<core::Duration>(firstByteLatency_, group_->config().timeouts.connect);
    group_->balancer().release(pick_, {.now = worker_.loop_.now(), .latency = penalty});
    pickHeld_ = false;
  }
  if (canRetry(failure)) {
    scheduleRetry();
    return;
  }
  if (responseStarted_) {
    close();  // the client sees a truncated response, as it must
    return;
  }
  bool timeout = failure == Failure::kConnectTimeout || failure == Failure::kResponseTimeout;
  respondUpstreamFailure(timeout ? 504 : 502);
}

void ClientConnection::respondUpstreamFailure(int status) {
  if (lookup_ && phase_ == Phase::kAwaitResponse) {
    // Cache::fail() reads no store: called here even when the store may block.
    std::shared_ptr<cache::Lookup> lookup = std::move(lookup_);
    std::optional<cache::Response> stale =
        worker_.runtime_.cache->cache().fail(*lookup, *cacheRequest_, CacheService::now());
    if (stale) {
      respondCached(*stale, "STALE");
      return;
    }
  }
  respondLocal(status, phase_ != Phase::kAwaitResponse);
}

int ClientConnection::upstreamHead(UpstreamConnection& upstream, llhttp_t* parser,
                                   std::string_view reason) {
  int status = parser->status_code;
  HeaderBlock& headers = responseHeaders_;
  if (status < 200) {
    if (status == 101) {
      return -1;  // we never ask for an upgrade
    }
    if (status == 100 || http10_) {
      return 0;  // our own 100 Continue went out already; 1.0 clients get no interim responses
    }
  } else {
    endAttempt(true, Failure::kReset, status);
    const RetryConfig& retry = group_->config().retry;
    if (std::find(retry.onStatuses.begin(), retry.onStatuses.end(), status) !=
            retry.onStatuses.end() &&
        canRetry(Failure::kReset)) {
      // Drop this response: the connection cannot be reused mid-response.
      upstream_ = nullptr;
      upstream.dropOwner();
      if (pickHeld_) {
        group_->balancer().release(pick_,
                                   {.now = worker_.loop_.now(), .latency = firstByteLatency_});
        pickHeld_ = false;
      }
      scheduleRetry();
      return -1;
    }
  }

  std::string& out = out_.raw();
  const std::size_t headStart = out.size();
  out.append("HTTP/1.1 ");
  appendDecimal(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason.empty() ? reasonPhrase(status) : reason);
  out.append("\r\n");
  std::string_view connection[16];
  std::size_t connectionCount = 0;
  for (std::size_t i = headers.find("connection"); i != std::string_view::npos;
       i = headers.find("connection", i + 1)) {
    forEachToken(headers.value(i), [&](std::string_view token) {
      if (connectionCount < std::size(connection)) {
        connection[connectionCount++] = token;
      }
    });
  }
  bool noBody = isHead_ || status < 200 || status == 204 || status == 304;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    std::string_view name = headers.name(i);
    if (isHopByHop(name)) {
      continue;
    }
    if (equalsIgnoreCase(name, "content-length") && !noBody) {
      continue;  // framing is ours to write
    }
    bool named = false;
    for (std::size_t c = 0; c < connectionCount && !named; ++c) {
      named = equalsIgnoreCase(name, connection[c]);
    }
    if (named) {
      continue;
    }
    out.append(name);
    out.append(": ");
    out.append(headers.value(i));
    out.append("\r\n");
  }
  out.append("Via: ");
  out.append(kVia);
  out.append("\r\n");
  if (!cacheLabel_.empty() && status >= 200) {
    out.append("X-Cache: ");
    out.append(cacheLabel_);
    out.append("\r\n");
  }
  if (status < 200) {
    out.append("\r\n");
    return 0;  // an interim response (103 Early Hints...): the final one follows
  }

  responseStarted_ = true;
  responseStatus_ = status;
  responseBodyBytes_ = 0;
  responseLastChunk_ = false;
  if (noBody) {
    framing_ = Framing::kNone;
  } else if ((parser->flags & F_CONTENT_LENGTH) != 0) {
    framing_ = Framing::kLength;
    out.append("Content-Length: ");
    appendDecimal(out, parser->content_length);
    out.append("\r\n");
  } else if ((parser->flags & F_CHUNKED) != 0) {
    framing_ = http10_ ? Framing::kRaw : Framing::kChunked;
  } else {
    framing_ = http10_ ? Framing::kRaw : Framing::kEncode;  // close-delimited upstream
  }
  if (framing_ == Framing::kChunked || framing_ == Framing::kEncode) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (framing_ == Framing::kRaw) {
    keepAlive_ = false;  // a 1.0 client learns the end of the body from the close
  }
  if (!keepAlive_ || phase_ != Phase::kAwaitResponse) {
    out.append("Connection: close\r\n");
    keepAlive_ = false;
  } else if (http10_) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (lookup_ && lookup_->cacheable()) {
    // A 304 to the cache's validation, or a server error, is withheld: complete() decides what
    // the client gets (the freshened or a stale response). Any other response streams, and its
    // body is copied for the store.
    if ((status == 304 && lookup_->action == cache::Lookup::Action::kRevalidate) || status >= 500) {
      held_ = true;
      heldHead_.assign(out, headStart);
      out.resize(headStart);
      heldBody_.clear();
      if (framing_ == Framing::kChunked) {
        framing_ = Framing::kEncode;  // re-chunked should it be released mid-body
      }
    } else if (mayBeStoredBy(worker_.runtime_.config.cache, headers)) {
      teeing_ = true;
      teeBody_.clear();
    } else {
      // Nothing the cache could keep: no copy, and the requests waiting for this one are told
      // now (dropping the Lookup) and fetch for themselves.
      lookup_.reset();
    }
  }
  return noBody ? 1 : 0;
}

void ClientConnection::upstreamBody(const char* data, std::size_t size) {
  responseBodyBytes_ += size;
  const std::size_t limit = worker_.runtime_.config.cache.maxBodyBytes;
  if (held_) {
    if (heldBody_.size() + size <= limit) {
      heldBody_.append(data, size);
      return;
    }
    releaseHeld();
  }
  if (teeing_) {
    if (teeBody_.size() + size <= limit) {
      teeBody_.append(data, size);
    } else {
      // Too large to store: stop copying; dropping the Lookup frees the requests waiting for it.
      teeing_ = false;
      std::string().swap(teeBody_);
      lookup_.reset();
    }
  }
  emitBody(data, size);
}

void ClientConnection::emitBody(const char* data, std::size_t size) {
  switch (framing_) {
    case Framing::kEncode:
      appendHex(out_.raw(), size);
      out_.append("\r\n");
      sendOrBuffer(data, size);
      out_.append("\r\n");
      break;
    case Framing::kNone:
      break;
    default:
      sendOrBuffer(data, size);
      break;
  }
}

// Body bytes go out straight from the read buffer, behind whatever small head or chunk header is
// queued, in one writev: no copy into out_ unless the client cannot take them now.
void ClientConnection::sendOrBuffer(const char* data, std::size_t size) {
  if (fd_ < 0 || closing_ || out_.size() > 16 * 1024 || size < 1024) {
    out_.append(data, size);
    return;
  }
  iovec parts[2] = {{const_cast<char*>(out_.data()), out_.size()}, {const_cast<char*>(data), size}};
  ssize_t n = ::writev(fd_, out_.empty() ? parts + 1 : parts, out_.empty() ? 1 : 2);
  if (n <= 0) {
    out_.append(data, size);  // EAGAIN or an error: flush() decides, after the parser returns
    return;
  }
  auto sent = static_cast<std::size_t>(n);
  worker_.metrics_.bytesToClients.add(sent);
  std::size_t fromQueue = std::min(sent, out_.size());
  out_.consume(fromQueue);
  sent -= fromQueue;
  if (sent < size) {
    out_.append(data + sent, size - sent);
  }
}

void ClientConnection::upstreamChunkHeader(std::uint64_t size) {
  if (framing_ != Framing::kChunked) {
    return;
  }
  if (size == 0) {
    responseLastChunk_ = true;
    return;
  }
  appendHex(out_.raw(), size);
  out_.append("\r\n");
}

void ClientConnection::upstreamChunkComplete() {
  if (framing_ == Framing::kChunked && !responseLastChunk_) {
    out_.append("\r\n");
  }
}

void ClientConnection::upstreamComplete() {
  upstream_ = nullptr;
  if (pickHeld_) {
    group_->balancer().release(pick_, {.now = worker_.loop_.now(), .latency = firstByteLatency_});
    pickHeld_ = false;
  }
  if (held_) {
    completeHeld();
    return;
  }
  if (framing_ == Framing::kChunked || framing_ == Framing::kEncode) {
    out_.append("0\r\n\r\n");
  }
  if (teeing_) {
    storeTeed();
  } else if (worker_.runtime_.cache && !cacheEngaged_ && responseStatus_ >= 200 &&
             responseStatus_ < 400 && method_ != HTTP_GET && method_ != HTTP_HEAD &&
             method_ != HTTP_OPTIONS && method_ != HTTP_TRACE) {
    invalidateAfterUnsafe();
  }
  finishResponse();
}

void ClientConnection::respondLocal(int status, bool closeAfter) {
  if (fd_ < 0) {
    return;
  }
  if (status >= 400 && status < 500) {
    worker_.metrics_.badRequests.add();
  }
  if (closeAfter || phase_ != Phase::kAwaitResponse) {
    keepAlive_ = false;
  }
  std::string_view reason = reasonPhrase(status);
  std::string& out = out_.raw();
  out.append("HTTP/1.1 ");
  appendDecimal(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  appendDecimal(out, 5 + reason.size());
  if (!requestId_.empty()) {
    out.append("\r\nX-Request-Id: ");
    out.append(requestId_);
  }
  if (!localHeaders_.empty()) {
    out.append("\r\n");
    out.append(localHeaders_.data(), localHeaders_.size() - 2);  // without its last CRLF
    localHeaders_.clear();
  }
  out.append(keepAlive_ ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  appendDecimal(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason);
  out.push_back('\n');
  responseStarted_ = true;
  responseStatus_ = status;
  responseBodyBytes_ = 5 + reason.size();
  framing_ = Framing::kNone;
  finishResponse();
}

// --- the cache --------------------------------------------------------------------------------

template <typename Work, typename Then>
void ClientConnection::cacheCall(Work work, Then then) {
  CacheService& service = *worker_.runtime_.cache;
  if (!service.blocking()) {
    then(work(service.cache()));
    return;
  }
  using Value = decltype(work(service.cache()));
  cachePending_ = true;
  Worker* worker = &worker_;
  ClientConnection* self = this;
  auto generation = generation_;
  auto seq = cacheSeq_;
  service.submit([worker, self, generation, seq, &service, work = std::move(work),
                  then = std::move(then)]() mutable {
    auto value = std::make_shared<Value>(work(service.cache()));
    worker->loop_.post([self, generation, seq, value, then]() mutable {
      if (self->generation_ == generation && self->cacheSeq_ == seq && self->cachePending_) {
        self->cachePending_ = false;
        then(std::move(*value));
      }
    });
  });
}

void ClientConnection::cacheLookup() {
  ++cacheSeq_;
  Worker* worker = &worker_;
  Runtime* runtime = &worker_.runtime_;
  ClientConnection* self = this;
  auto generation = generation_;
  auto seq = cacheSeq_;
  // Runs on whichever thread ends the fetch waited for (once, if this request waits).
  cache::Coalescer::Waiter waiter = [worker, runtime, self, generation,
                                     seq](const cache::FlightOutcome&) {
    if (runtime->stopped.load(std::memory_order_acquire)) {
      return;
    }
    worker->loop_.post([self, generation, seq] {
      if (self->generation_ != generation || self->cacheSeq_ != seq) {
        return;
      }
      if (self->cacheWaiting_) {
        self->cacheWaitOver();
      } else if (self->cachePending_) {
        self->cacheWokenEarly_ = true;
      }
    });
  };
  cacheCall(
      [request = cacheRequest_, waiter = std::move(waiter)](cache::Cache& c) {
        return std::make_shared<cache::Lookup>(c.lookup(*request, CacheService::now(), waiter));
      },
      [this](std::shared_ptr<cache::Lookup> lookup) { cacheDecided(std::move(lookup)); });
}

void ClientConnection::cacheDecided(std::shared_ptr<cache::Lookup> lookup) {
  if (fd_ < 0) {
    return;
  }
  using Action = cache::Lookup::Action;
  switch (lookup->action) {
    case Action::kServe: {
      cache::Response response = std::move(lookup->response);
      const bool stale = lookup->stale;
      if (lookup->revalidateInBackground) {
        refreshInBackground(std::move(lookup));
      }
      respondCached(response, stale ? "STALE" : "HIT");
      return;
    }
    case Action::kGatewayTimeout:
      respondCached(lookup->response, "MISS");
      return;
    case Action::kWait:
      lookup_ = std::move(lookup);
      cacheWaiting_ = true;
      if (cacheWokenEarly_) {
        cacheWaitOver();
        return;
      }
      worker_.loop_.setDeadline(retryTimer_, lookup_->deadline);
      return;
    case Action::kForward:
    case Action::kRevalidate:
      break;
  }
  lookup_ = std::move(lookup);
  cacheLabel_ = lookup_->cacheable() ? "MISS" : "BYPASS";
  std::string_view host;
  if (std::size_t h = headers_.find("host"); h != std::string_view::npos) {
    host = headers_.value(h);
  }
  buildUpstreamHead(host, lookup_->cacheable() ? &lookup_->upstream.headers : nullptr);
  if (!startAttempt()) {
    respondUpstreamFailure(503);
    return;
  }
  if (!out_.empty()) {
    flush();
  }
}

void ClientConnection::cacheWaitOver() {
  cacheWaiting_ = false;
  cacheWokenEarly_ = false;
  EventLoop::forget(retryTimer_);
  std::shared_ptr<cache::Lookup> waited = std::move(lookup_);
  cacheCall(
      [waited, request = cacheRequest_](cache::Cache& c) {
        return std::make_shared<cache::Lookup>(
            c.resume(std::move(*waited), *request, CacheService::now()));
      },
      [this](std::shared_ptr<cache::Lookup> lookup) { cacheDecided(std::move(lookup)); });
}

// RFC 5861 §3: the stale response goes to the client now; the conditional request goes to an
// endpoint the balancer picks, from a cache thread.
void ClientConnection::refreshInBackground(std::shared_ptr<cache::Lookup> lookup) {
  UpstreamGroup& group = *group_;
  const TimePoint now = worker_.loop_.now();
  auto pick =
      group.balancer().pick({.now = now, .hash = balancerHash(), .random = &worker_.random_});
  if (!pick) {
    return;  // nowhere to send it: the Lookup goes, and a later request leads the refresh
  }
  EndpointState* endpoint = group.endpointOf(pick->endpoint);
  group.balancer().release(*pick, {.now = now, .latency = {}});
  RefreshTarget target;
  target.host = endpoint->config.host;
  target.port = endpoint->config.port;
  if (std::size_t h = headers_.find("host"); h != std::string_view::npos) {
    target.hostHeader = headers_.value(h);
  }
  target.target = originForm(url_);
  target.connectTimeout = group.config().timeouts.connect;
  target.responseTimeout = group.config().timeouts.response;
  worker_.runtime_.cache->refresh(std::move(lookup), cacheRequest_, std::move(target));
}

void ClientConnection::respondCached(const cache::Response& response, std::string_view label) {
  if (fd_ < 0) {
    return;
  }
  if (phase_ != Phase::kAwaitResponse) {
    keepAlive_ = false;
  }
  const int status = response.status;
  const bool noBody = status < 200 || status == 204 || status == 304;
  std::string& out = out_.raw();
  out.append("HTTP/1.1 ");
  appendDecimal(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\n");
  for (const cache::Field& field : response.headers) {
    if (isHopByHop(field.name) || equalsIgnoreCase(field.name, "content-length") ||
        equalsIgnoreCase(field.name, "transfer-encoding") ||
        equalsIgnoreCase(field.name, "x-cache")) {
      continue;
    }
    out.append(field.name);
    out.append(": ");
    out.append(field.value);
    out.append("\r\n");
  }
  out.append("Via: ");
  out.append(http10_ ? "1.0 fairway" : kVia);
  out.append("\r\nX-Cache: ");
  out.append(label);
  out.append("\r\n");
  if (!noBody) {
    out.append("Content-Length: ");
    const auto stated = response.headers.first("Content-Length");
    if (!response.body && isHead_ && stated) {
      out.append(*stated);  // a HEAD: the stored GET's size, as the cache states it
    } else {
      appendDecimal(out, response.bodySize());
    }
    out.append("\r\n");
  }
  if (!keepAlive_) {
    out.append("Connection: close\r\n");
  } else if (http10_) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  const std::size_t bodySize = isHead_ || noBody ? 0 : response.bodySize();
  responseStarted_ = true;
  responseStatus_ = status;
  responseBodyBytes_ = bodySize;
  framing_ = Framing::kNone;
  if (bodySize > 0) {
    sendOrBuffer(response.body->data(), bodySize);
  }
  finishResponse();
}

cache::Response ClientConnection::upstreamResponse(std::string body) const {
  cache::Response r;
  r.status = responseStatus_;
  const HeaderBlock& headers = responseHeaders_;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    std::string_view name = headers.name(i);
    if (isHopByHop(name) || equalsIgnoreCase(name, "content-length") ||
        namedByConnection(headers, name)) {
      continue;
    }
    r.headers.add(std::string(name), std::string(headers.value(i)));
  }
  r.body = cache::makeBody(std::move(body));
  return r;
}

// A withheld 304 or 5xx, read whole: complete() freshens the entry (or finds a stale one to
// serve) and says what the client gets.
void ClientConnection::completeHeld() {
  held_ = false;
  heldHead_.clear();
  auto response = std::make_shared<cache::Response>(upstreamResponse(std::move(heldBody_)));
  heldBody_.clear();
  const int upstreamStatus = responseStatus_;
  responseStarted_ = false;
  std::shared_ptr<cache::Lookup> lookup = std::move(lookup_);
  cacheCall(
      [lookup, request = cacheRequest_, response, sentAt = cacheSentAt_](cache::Cache& c) {
        return c.complete(*lookup, *request, std::move(*response), sentAt, CacheService::now());
      },
      [this, upstreamStatus](cache::Response answer) {
        std::string_view label = upstreamStatus == 304 ? "REVALIDATED"
                                 : answer.status < 500 ? "STALE"
                                                       : "MISS";
        respondCached(answer, label);
      });
}

// The streamed response, copied whole: stored (and the requests waiting for it told) off the
// client's path.
void ClientConnection::storeTeed() {
  teeing_ = false;
  auto response = std::make_shared<cache::Response>(upstreamResponse(std::move(teeBody_)));
  teeBody_.clear();
  std::shared_ptr<cache::Lookup> lookup = std::move(lookup_);
  CacheService& service = *worker_.runtime_.cache;
  auto store = [&service, lookup, request = cacheRequest_, response, sentAt = cacheSentAt_] {
    service.cache().complete(*lookup, *request, std::move(*response), sentAt, CacheService::now());
  };
  if (service.blocking()) {
    service.submit(std::move(store));
  } else {
    store();
  }
}

// RFC 9111 §4.4: a successful unsafe request invalidates its target and the Location and
// Content-Location of its response.
void ClientConnection::invalidateAfterUnsafe() {
  std::size_t h = headers_.find("host");
  if (h == std::string_view::npos) {
    return;
  }
  auto request = std::make_shared<cache::Request>();
  request->method = llhttp_method_name(static_cast<llhttp_method_t>(method_));
  request->uri = cacheKey(headers_.value(h), url_);
  auto response = std::make_shared<cache::Response>();
  response->status = responseStatus_;
  for (std::string_view name : {"location", "content-location"}) {
    if (std::size_t i = responseHeaders_.find(name); i != std::string_view::npos) {
      response->headers.add(std::string(name), std::string(responseHeaders_.value(i)));
    }
  }
  CacheService& service = *worker_.runtime_.cache;
  auto invalidate = [&service, request, response] {
    cache::Lookup none;
    const cache::Instant now = CacheService::now();
    service.cache().complete(none, *request, std::move(*response), now.wall, now);
  };
  if (service.blocking()) {
    service.submit(std::move(invalidate));
  } else {
    invalidate();
  }
}

// The withheld response is too large to keep: it streams after all, uncached.
void ClientConnection::releaseHeld() {
  held_ = false;
  out_.append(heldHead_);
  heldHead_.clear();
  std::string body = std::move(heldBody_);
  heldBody_.clear();
  lookup_.reset();
  if (!body.empty()) {
    emitBody(body.data(), body.size());
  }
}

void ClientConnection::resetCache() {
  if (!worker_.runtime_.cache) {
    return;  // nothing of it was ever set
  }
  if (cacheWaiting_) {
    EventLoop::forget(retryTimer_);
    cacheWaiting_ = false;
  }
  ++cacheSeq_;
  cacheEngaged_ = false;
  cachePending_ = false;
  cacheWokenEarly_ = false;
  lookup_.reset();
  cacheRequest_.reset();
  cacheLabel_ = {};
  held_ = false;
  teeing_ = false;
  for (std::string* buffer : {&heldHead_, &heldBody_, &teeBody_}) {
    if (buffer->capacity() > 64 * 1024) {
      std::string().swap(*buffer);
    } else {
      buffer->clear();
    }
  }
}

namespace {

void appendJson(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out.append(escaped);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// Text inside the combined format's quotes: quotes, backslashes and non-printable bytes as \xHH,
// as nginx writes them.
void appendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || byte < 0x20 || byte >= 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      out.append(escaped);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

// One access-log line (log.access_format): nginx's combined format followed by the request id,
// the duration in seconds and the backend; or one JSON object. The worker formats; the
// asynchronous channel's thread writes.
void ClientConnection::logAccess(core::Duration elapsed) {
  std::string_view referer = "-";
  std::string_view agent = "-";
  if (std::size_t i = headers_.find("referer"); i != std::string_view::npos) {
    referer = headers_.value(i);
  }
  if (std::size_t i = headers_.find("user-agent"); i != std::string_view::npos) {
    agent = headers_.value(i);
  }
  std::string_view method = llhttp_method_name(static_cast<llhttp_method_t>(method_));
  std::string_view backend = endpoint_ != nullptr ? std::string_view(endpoint_->id) : "-";
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", std::chrono::duration<double>(elapsed).count());
  std::string line;
  line.reserve(256);
  if (worker_.runtime_.config.log.accessFormat == "json") {
    line.append("{\"time\":");
    appendJson(line, worker_.logTime());
    line.append(",\"client\":");
    appendJson(line, peer_);
    line.append(",\"method\":");
    appendJson(line, method);
    line.append(",\"target\":");
    appendJson(line, url_);
    line.append(http10_ ? ",\"protocol\":\"HTTP/1.0\"" : ",\"protocol\":\"HTTP/1.1\"");
    line.append(",\"status\":");
    appendDecimal(line, static_cast<std::uint64_t>(responseStatus_));
    line.append(",\"bytes\":");
    appendDecimal(line, responseBodyBytes_);
    line.append(",\"duration_s\":");
    line.append(seconds);
    line.append(",\"backend\":");
    appendJson(line, backend);
    line.append(",\"request_id\":");
    appendJson(line, requestId_);
    line.append(",\"referer\":");
    appendJson(line, referer);
    line.append(",\"user_agent\":");
    appendJson(line, agent);
    line.push_back('}');
  } else {
    line.append(peer_);
    line.append(" - - [");
    line.append(worker_.logTime());
    line.append("] \"");
    line.append(method);
    line.push_back(' ');
    appendEscaped(line, url_);
    line.append(http10_ ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    appendDecimal(line, static_cast<std::uint64_t>(responseStatus_));
    line.push_back(' ');
    appendDecimal(line, responseBodyBytes_);
    line.append(" \"");
    appendEscaped(line, referer);
    line.append("\" \"");
    appendEscaped(line, agent);
    line.append("\" \"");
    appendEscaped(line, requestId_);
    line.append("\" ");
    line.append(seconds);
    line.push_back(' ');
    line.append(backend);
  }
  worker_.runtime_.accessLog->log(
      Poco::Message("fairway.access", line, Poco::Message::PRIO_INFORMATION));
}

void ClientConnection::finishExchange() {
  if (retryInFlight_) {
    group_->endRetry();
    retryInFlight_ = false;
  }
  if (requestActive_) {
    group_->endRequest();
    requestActive_ = false;
    worker_.metrics_.sub(worker_.metrics_.activeRequests);
  }
}

void ClientConnection::finishResponse() {
  ++served_;
  auto statusClass = static_cast<std::size_t>(std::clamp(responseStatus_ / 100, 1, 5));
  worker_.metrics_.responses[statusClass].add();
  if (group_ != nullptr) {
    worker_.metrics_.upstreamResponses[group_->index()][statusClass].add();
  }
  if (route_ != kNoRoute) {
    worker_.metrics_.routeResponses[route_][statusClass].add();
    route_ = kNoRoute;
  }
  auto elapsed = worker_.loop_.now() - requestStart_;
  worker_.metrics_.latency.record(elapsed);
  if (worker_.runtime_.accessLog) {
    logAccess(elapsed);
  }
  finishExchange();
  resetCache();
  group_ = nullptr;
  endpoint_ = nullptr;
  if (!keepAlive_ || phase_ != Phase::kAwaitResponse) {
    closeAfterFlush();
    return;
  }
  phase_ = Phase::kIdle;
  responseStarted_ = false;
  armClientDeadline();
  auto generation = generation_;
  worker_.loop_.afterBatch([this, generation] {
    if (generation == generation_) {
      resumeParsing();  // the next pipelined request, if any
    }
  });
  if (!out_.empty()) {
    flush();
  }
}

// What the last exchange left allocated — the request's and the response's header fields, URL,
// heads, byte queues — goes back to the allocator once the connection has waited
// timeouts.keep_alive_release for its next request (onDeadline): an idle keep-alive connection
// holds only its object (about 1 KiB), while a busy one keeps its warm buffers and allocates
// nothing per request.
void ClientConnection::releaseIdleMemory() {
  if ((phase_ != Phase::kIdle && fd_ >= 0) || !in_.empty() || !out_.empty()) {
    return;
  }
  headers_.release();
  responseHeaders_.release();
  for (std::string* s :
       {&url_, &head_, &requestId_, &localHeaders_, &replay_, &heldHead_, &heldBody_, &teeBody_}) {
    std::string().swap(*s);
  }
  requestOut_.release();
  out_.release();
  in_.release();
}

// =============================================================================================
// UpstreamConnection

const llhttp_settings_t& UpstreamConnection::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_status = &UpstreamConnection::onStatus;
    s.on_header_field = &UpstreamConnection::onHeaderField;
    s.on_header_value = &UpstreamConnection::onHeaderValue;
    s.on_header_value_complete = &UpstreamConnection::onHeaderValueComplete;
    s.on_headers_complete = &UpstreamConnection::onHeadersComplete;
    s.on_body = &UpstreamConnection::onBody;
    s.on_chunk_header = &UpstreamConnection::onChunkHeader;
    s.on_chunk_complete = &UpstreamConnection::onChunkComplete;
    s.on_message_complete = &UpstreamConnection::onMessageComplete;
    return s;
  }();
  return kSettings;
}

bool UpstreamConnection::connect(UpstreamGroup& group, EndpointState& endpoint) {
  group_ = &group;
  endpoint_ = &endpoint;
  readable_ = false;
  readBlocked_ = false;
  fd_ = ::socket(endpoint.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = -1;
  if (fd_ >= 0) {
    setNoDelay(fd_);
    rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint.address), endpoint.addressSize);
  }
  state_ = State::kConnecting;
  if (fd_ < 0 || (rc < 0 && errno != EINPROGRESS) ||
      !worker_.loop_.add(fd_, *this, EPOLLIN | EPOLLOUT | EPOLLRDHUP)) {
    // Failed at once: reported from the loop's timers, never from inside the caller.
    connectFailed_ = true;
    worker_.loop_.setDeadline(*this, worker_.loop_.now());
    return false;
  }
  connectFailed_ = false;
  worker_.loop_.setDeadline(*this, worker_.loop_.now() + group.config().timeouts.connect);
  return true;
}

void UpstreamConnection::attach(ClientConnection& owner) {
  owner_ = &owner;
  ++requests_;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
  owner.upstreamHeaders().clear();
  reason_.clear();
  inTrailers_ = false;
  headSeen_ = false;
  responseBytes_ = 0;
  readBlocked_ = false;
  messageDone_ = false;
  if (state_ == State::kIdle) {
    state_ = State::kBusy;
    worker_.loop_.setDeadline(*this, worker_.loop_.now() + group_->config().timeouts.response);
  }
}

void UpstreamConnection::becomeIdle() {
  state_ = State::kIdle;
  owner_ = nullptr;
  worker_.loop_.setDeadline(*this, worker_.loop_.now() + group_->config().timeouts.idle);
}

void UpstreamConnection::closeWithReset() {
  if (fd_ >= 0) {
    const linger abort{.l_onoff = 1, .l_linger = 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);  // advisory
  }
  close();
}

void UpstreamConnection::close() {
  if (fd_ < 0) {
    return;
  }
  if (state_ == State::kIdle) {
    worker_.removeIdle(this);
  }
  ::close(fd_);
  fd_ = -1;
  state_ = State::kClosed;
  owner_ = nullptr;
  requests_ = 0;
  EventLoop::forget(*this);
  worker_.recycle(this);
}

void UpstreamConnection::failed(Failure failure) {
  ClientConnection* owner = owner_;
  owner_ = nullptr;
  if (fd_ >= 0) {
    close();
  } else {
    state_ = State::kClosed;
    requests_ = 0;
    EventLoop::forget(*this);
    worker_.recycle(this);
  }
  if (owner != nullptr) {
    owner->upstreamFailed(failure);
  }
}

void UpstreamConnection::onEvents(std::uint32_t events) {
  if (fd_ < 0) {
    return;
  }
  if (state_ == State::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) {
      return;
    }
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      failed(Failure::kConnect);
      return;
    }
    state_ = State::kBusy;
    worker_.loop_.setDeadline(*this, worker_.loop_.now() + group_->config().timeouts.response);
    flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
      readable_ = true;
      readSome();
    }
    return;
  }
  if (state_ == State::kIdle) {
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      close();  // the backend closed it (or sent bytes nobody asked for)
    }
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    flush();
  }
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    readable_ = true;
    readSome();
  }
}

void UpstreamConnection::onDeadline() {
  switch (state_) {
    case State::kConnecting:
      failed(connectFailed_ ? Failure::kConnect : Failure::kConnectTimeout);
      return;
    case State::kBusy:
      if (readBlocked_) {
        return;  // waiting for a slow client, not for the backend
      }
      failed(Failure::kResponseTimeout);
      return;
    case State::kIdle:
      closeWithReset();
      return;
    case State::kClosed:
      return;
  }
}

void UpstreamConnection::flush() {
  if (fd_ < 0 || owner_ == nullptr || state_ != State::kBusy) {
    return;
  }
  Buffer& out = owner_->requestOut();
  bool wasHigh = out.size() > kHighWater;
  while (!out.empty()) {
    ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.consume(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    }
    // EPIPE or reset: the response (if any) is still readable; reading decides.
    break;
  }
  if (wasHigh && out.size() <= kLowWater) {
    owner_->requestOutDrained();
  }
}

void UpstreamConnection::resumeRead() {
  if (!readBlocked_ || fd_ < 0) {
    return;
  }
  readBlocked_ = false;
  worker_.loop_.setDeadline(*this, worker_.loop_.now() + group_->config().timeouts.response);
  if (readable_) {
    readSome();
  }
}

void UpstreamConnection::readSome() {
  while (fd_ >= 0 && readable_ && !readBlocked_ && owner_ != nullptr) {
    ssize_t n = ::recv(fd_, worker_.scratch_.data(), worker_.scratch_.size(), 0);
    if (n > 0) {
      responseBytes_ += static_cast<std::uint64_t>(n);
      worker_.loop_.setDeadline(*this, worker_.loop_.now() + group_->config().timeouts.response);
      ClientConnection* owner = owner_;
      feed(worker_.scratch_.data(), static_cast<std::size_t>(n));
      if (owner_ != nullptr && owner_ == owner) {
        owner->flushAfterUpstream();
      }
      continue;
    }
    if (n == 0) {
      readable_ = false;
      // EOF completes a close-delimited response; anything else was cut short.
      llhttp_errno_t error = llhttp_finish(&parser_);
      if ((error == HPE_OK || error == HPE_PAUSED) && messageDone_) {
        completed(false);
      } else {
        failed(Failure::kReset);
      }
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
      return;
    }
    if (errno != EINTR) {
      failed(Failure::kReset);
      return;
    }
  }
}

void UpstreamConnection::feed(const char* data, std::size_t size) {
  llhttp_errno_t error = llhttp_execute(&parser_, data, size);
  if (error == HPE_PAUSED && messageDone_) {
    // The response is whole. Bytes after it were never asked for: the connection is not reused.
    const char* position = llhttp_get_error_pos(&parser_);
    bool extra = position != data + size;
    completed(!extra && llhttp_should_keep_alive(&parser_) != 0);
    return;
  }
  if (error != HPE_OK) {
    if (owner_ == nullptr) {
      close();  // the exchange dropped this response (a retried status)
      return;
    }
    failed(Failure::kBadResponse);  // malformed: 502, and the connection is closed
    return;
  }
  if (owner_ != nullptr && owner_->clientBacklogged()) {
    readBlocked_ = true;  // the client reads slower than the backend writes
    worker_.loop_.setDeadline(*this, kNever);
  }
}

void UpstreamConnection::completed(bool reusable) {
  ClientConnection* owner = owner_;
  bool requestDone = owner != nullptr && owner->requestFullySent();
  std::size_t cap = group_->config().pool.maxRequestsPerConnection;
  if (cap != 0 && requests_ >= cap) {
    reusable = false;
  }
  owner_ = nullptr;
  if (reusable && requestDone) {
    worker_.putIdle(this);
  } else {
    close();
  }
  if (owner != nullptr) {
    owner->upstreamComplete();
  }
}

int UpstreamConnection::onStatus(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  self->reason_.append(at, size);
  return 0;
}

int UpstreamConnection::onHeaderField(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  if (!self->inTrailers_) {
    HeaderBlock& headers = self->owner_->upstreamHeaders();
    headers.appendName(at, size);
    if (headers.bytes() > 256 * 1024 || headers.size() > 1000) {
      return -1;  // an unreasonable response head: 502
    }
  }
  return 0;
}

int UpstreamConnection::onHeaderValue(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  if (!self->inTrailers_) {
    self->owner_->upstreamHeaders().appendValue(at, size);
  }
  return 0;
}

int UpstreamConnection::onHeaderValueComplete(llhttp_t* parser) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ != nullptr && !self->inTrailers_) {
    self->owner_->upstreamHeaders().endValue();
  }
  return 0;
}

int UpstreamConnection::onHeadersComplete(llhttp_t* parser) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  int status = parser->status_code;
  ClientConnection* owner = self->owner_;
  int result = owner->upstreamHead(*self, parser, self->reason_);
  if (status >= 200) {
    self->headSeen_ = true;
    self->inTrailers_ = true;
  } else {
    owner->upstreamHeaders().clear();
    self->reason_.clear();
  }
  return result;
}

int UpstreamConnection::onBody(llhttp_t* parser, const char* at, std::size_t size) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  self->owner_->upstreamBody(at, size);
  return 0;
}

int UpstreamConnection::onChunkHeader(llhttp_t* parser) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  self->owner_->upstreamChunkHeader(parser->content_length);
  return 0;
}

int UpstreamConnection::onChunkComplete(llhttp_t* parser) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (self->owner_ == nullptr) {
    return -1;
  }
  self->owner_->upstreamChunkComplete();
  return 0;
}

int UpstreamConnection::onMessageComplete(llhttp_t* parser) {
  auto* self = static_cast<UpstreamConnection*>(parser->data);
  if (parser->status_code < 200) {
    return 0;  // an interim response; the final one follows on the same connection
  }
  self->messageDone_ = true;
  return HPE_PAUSED;
}

}  // namespace fairway::proxy
