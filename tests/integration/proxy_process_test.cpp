// The `fairway` program as a subprocess, where a process of its own is needed: the command line
// (--check-config, --version), descriptor limits and memory with 10,000 idle clients, a 1 GiB body
// streamed both ways with bounded memory, and SIGTERM draining in-flight requests (issue #5).
// Backends are in-process fairway-echo servers; fairway's memory is read from /proc/PID/status.

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <vector>

#include <gtest/gtest.h>

#include <fairway/balancer/version.hpp>
#include <fairway/breaker/version.hpp>
#include <fairway/cache/version.hpp>
#include <fairway/health/version.hpp>
#include <fairway/proxy/version.hpp>
#include <fairway/ratelimit/version.hpp>

#include "proxy_harness.hpp"

namespace fairway::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A program run as a child process, its stdout and stderr on pipes. Killed (SIGKILL) and reaped
// by the destructor if it is still running.
class Child {
 public:
  Child(const std::string& path, const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      return;
    }
    std::vector<std::string> argvStrings;
    argvStrings.push_back(path);
    argvStrings.insert(argvStrings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argvStrings) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) {
      ::close(out_);
    }
    if (err_ >= 0) {
      ::close(err_);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void signal(int number) const { ::kill(pid_, number); }

  // The next line of stdout (without the newline) within `timeout`.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto newline = stdout_.find('\n', consumed_); newline != std::string::npos) {
        std::string line = stdout_.substr(consumed_, newline - consumed_);
        consumed_ = newline + 1;
        return line;
      }
      if (Clock::now() >= deadline || !pump(deadline)) {
        return std::nullopt;
      }
    }
  }

  // Waits up to `timeout` for the child to exit: its exit code, or 128 + the signal that killed
  // it; nullopt while it runs. Reads its output meanwhile, so that a full pipe never blocks it.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (!exited_) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          exited_ = true;
          code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
      }
      if (exited_) {
        while (pump(Clock::now() + 100ms)) {
        }
        return code_;
      }
      if (Clock::now() >= deadline) {
        return std::nullopt;
      }
      pump(std::min(deadline, Clock::now() + 20ms));
    }
  }

  const std::string& output() const { return stdout_; }
  const std::string& errors() const { return stderr_; }

 private:
  // Reads whatever the pipes hold, waiting until `deadline` for something; false once both pipes
  // are closed or nothing came.
  bool pump(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(0, left.count()))) <= 0) {
      return false;
    }
    bool got = false;
    char chunk[4096];
    for (auto [fd, text] : {std::pair{out_, &stdout_}, std::pair{err_, &stderr_}}) {
      ssize_t n;
      while ((n = ::read(fd, chunk, sizeof chunk)) > 0) {
        text->append(chunk, static_cast<std::size_t>(n));
        got = true;
      }
    }
    return got;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  int code_ = -1;
  std::string stdout_, stderr_;
  std::size_t consumed_ = 0;
};

// A file under /tmp with `text`, removed with the object.
class TempFile {
 public:
  TempFile(const std::string& text, const std::string& suffix) {
    std::string pattern = "/tmp/fairway-test-XXXXXX" + suffix;
    int fd = ::mkstemps(pattern.data(), static_cast<int>(suffix.size()));
    if (fd >= 0) {
      if (::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
        path_ = pattern;
      } else {
        ::unlink(pattern.c_str());
      }
      ::close(fd);
    }
  }
  ~TempFile() {
    if (!path_.empty()) {
      ::unlink(path_.c_str());
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The port in a line "... http://ADDRESS:PORT/...", or 0.
std::uint16_t portIn(const std::string& line) {
  std::size_t at = line.find("http://");
  if (at == std::string::npos) {
    return 0;
  }
  std::size_t slash = line.find('/', at + 7);
  std::size_t colon = line.rfind(':', slash);
  if (slash == std::string::npos || colon == std::string::npos || colon < at + 7) {
    return 0;
  }
  return static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
}

// A `kB` field of /proc/PID/status ("VmRSS", "VmHWM") in bytes, or 0.
std::uint64_t procStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

// The integer after `"key":` following `after` in a JSON text, or -1.
std::int64_t jsonNumber(const std::string& json, const std::string& after, const std::string& key) {
  std::size_t at = json.find(after);
  if (at == std::string::npos) {
    return -1;
  }
  at = json.find("\"" + key + "\":", at);
  if (at == std::string::npos) {
    return -1;
  }
  return std::strtoll(json.c_str() + at + key.size() + 3, nullptr, 10);
}

// A running `fairway --config` on a temporary YAML file, with its bound ports.
struct Fairway {
  std::unique_ptr<TempFile> config;
  std::unique_ptr<Child> child;
  std::uint16_t port = 0;
  std::uint16_t adminPort = 0;

  // Whether the process still runs (or how it ended), and what it wrote to stderr.
  std::string describe() const {
    auto code = child->wait(0ms);
    return (code ? "fairway exited with " + std::to_string(*code) : std::string("fairway runs")) +
           "; stderr:\n" + child->errors();
  }

  // The admin /stats document, or "".
  std::string stats() const {
    auto response = get(adminPort, "/stats");
    return response && response->status == 200 ? response->body : "";
  }
};

// Starts fairway (2 workers, 127.0.0.1, port 0, admin on port 0) in front of `backendPort`, with
// `extra` YAML appended; null if it does not report its ports within 10 s.
std::unique_ptr<Fairway> startFairway(std::uint16_t backendPort, const std::string& extra = "") {
  auto fairway = std::make_unique<Fairway>();
  std::string yaml =
      "server: { address: 127.0.0.1, port: 0, workers: 2 }\n"
      "backends: [ { url: \"http://127.0.0.1:" +
      std::to_string(backendPort) +
      "\", weight: 1 } ]\n"
      "load_balancer: { algorithm: round_robin }\n"
      "admin: { address: 127.0.0.1, port: 0 }\n" +
      extra;
  fairway->config = std::make_unique<TempFile>(yaml, ".yaml");
  fairway->child = std::make_unique<Child>(
      FAIRWAY_BINARY, std::vector<std::string>{"--config", fairway->config->path()});
  if (!fairway->child->started()) {
    return nullptr;
  }
  auto deadline = Clock::now() + 10s;
  while ((fairway->port == 0 || fairway->adminPort == 0) && Clock::now() < deadline) {
    auto line = fairway->child->readLine(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!line) {
      break;
    }
    if (line->find(" listening on http://") != std::string::npos) {
      fairway->port = portIn(*line);
    } else if (line->rfind("admin on http://", 0) == 0) {
      fairway->adminPort = portIn(*line);
    }
  }
  if (fairway->port == 0 || fairway->adminPort == 0) {
    ADD_FAILURE() << "fairway did not report its ports; stdout:\n"
                  << fairway->child->output() << "\nstderr:\n"
                  << fairway->child->errors();
    return nullptr;
  }
  return fairway;
}

void raiseDescriptorLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

double mib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// --- command line -------------------------------------------------------------------------------

// --check-config: a bad file exits non-zero naming every offending key; a good one (the original
// design's file, unchanged) exits 0.
TEST(ProxyProcessTest, CheckConfigNamesTheKey) {
  TempFile bad(
      "server: { port: 8080 }\n"
      "backends: [ { url: \"http://127.0.0.1:3001\", weight: 0 } ]\n"
      "load_balancer: { algorithm: round_robbin }\n",
      ".yaml");
  Child checkBad(FAIRWAY_BINARY, {"--check-config", bad.path()});
  ASSERT_TRUE(checkBad.started());
  auto code = checkBad.wait(10s);
  ASSERT_TRUE(code) << "--check-config did not exit";
  EXPECT_NE(*code, 0);
  std::string report = checkBad.output() + checkBad.errors();
  EXPECT_NE(report.find("backends[0].weight"), std::string::npos) << report;
  EXPECT_NE(report.find("load_balancer.algorithm"), std::string::npos) << report;

  TempFile good(
      "server:        { port: 8080, timeout: 30s }\n"
      "backends:      [ { url: \"http://localhost:3001\", weight: 1 }, { url: "
      "\"http://localhost:3002\", weight: 2 } ]\n"
      "load_balancer: { algorithm: \"round_robin\" }\n"
      "health_check:  { interval: 30s, timeout: 10s, path: \"/health\" }\n"
      "rate_limit:    { requests_per_second: 100, burst: 10 }\n"
      "cache:         { max_size: 1000, ttl: 300s }\n",
      ".yaml");
  Child checkGood(FAIRWAY_BINARY, {"--check-config", good.path()});
  ASSERT_TRUE(checkGood.started());
  code = checkGood.wait(10s);
  ASSERT_TRUE(code) << "--check-config did not exit";
  EXPECT_EQ(*code, 0) << checkGood.output() << checkGood.errors();
}

// --version prints every library's version.
TEST(ProxyProcessTest, VersionPrintsEachLibrary) {
  Child version(FAIRWAY_BINARY, {"--version"});
  ASSERT_TRUE(version.started());
  auto code = version.wait(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  const std::string& out = version.output();
  for (auto [name, number] :
       {std::pair{"proxy", proxy::kVersion}, std::pair{"balancer", balancer::kVersion},
        std::pair{"breaker", breaker::kVersion}, std::pair{"health", health::kVersion},
        std::pair{"ratelimit", ratelimit::kVersion}, std::pair{"cache", cache::kVersion}}) {
    std::string number_(number);
    std::size_t line = out.find(name);
    ASSERT_NE(line, std::string::npos) << name << " missing:\n" << out;
    std::size_t end = out.find('\n', line);
    EXPECT_NE(out.substr(line, end - line).find(number_), std::string::npos)
        << name << " " << number_ << ":\n"
        << out;
  }
}

// --- scale -----------------------------------------------------------------------------------

// 10,000 idle keep-alive clients (each sent one GET and read its response) are held at once; one
// more request is still served, and fairway's RSS stays under 64 MiB.
TEST(ProxyProcessTest, HoldsTenThousandIdleKeepAliveClients) {
  raiseDescriptorLimit();
  constexpr int kClients = 10000;
  constexpr int kWindow = 64;  // requests under way at once (each may need an upstream connection)
  echo::Options options;
  options.threads = 512;
  auto backends = startBackends(1, options);
  ASSERT_EQ(backends.size(), 1U);
  auto fairway = startFairway(backends[0]->port());
  ASSERT_NE(fairway, nullptr);
  std::uint64_t rssBefore = procStatusBytes(fairway->child->pid(), "VmRSS");

  struct Connection {
    int fd = -1;
    bool connected = false;
    std::string in;
  };
  std::vector<Connection> connections(kClients);
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(epoll, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(fairway->port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "GET /x?size=16 HTTP/1.1\r\nHost: t\r\n\r\n";
  int opened = 0;
  int active = 0;
  int done = 0;
  int failed = 0;
  std::string firstFailure;
  auto fail = [&](Connection& c, const std::string& why) {
    ++failed;
    if (firstFailure.empty()) {
      firstFailure = why + " (errno " + std::strerror(errno) + ")";
    }
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    --active;
  };
  auto start = Clock::now();
  auto deadline = start + 60s;
  std::array<epoll_event, 256> events;
  while (done + failed < kClients && Clock::now() < deadline) {
    while (active < kWindow && opened < kClients) {
      Connection& c = connections[static_cast<std::size_t>(opened)];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ASSERT_GE(c.fd, 0) << "socket: " << std::strerror(errno) << " after " << opened;
      int rc = ::connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
      epoll_event event{};
      event.events = EPOLLOUT | EPOLLIN;
      event.data.u32 = static_cast<std::uint32_t>(opened);
      ASSERT_EQ(::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event), 0);
      ++opened;
      ++active;
    }
    int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      Connection& c = connections[events[static_cast<std::size_t>(i)].data.u32];
      std::uint32_t what = events[static_cast<std::size_t>(i)].events;
      if (!c.connected) {
        if ((what & EPOLLOUT) == 0 && (what & (EPOLLERR | EPOLLHUP)) == 0) {
          continue;
        }
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0 || ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                              static_cast<ssize_t>(request.size())) {
          fail(c, "connect/send");
          continue;
        }
        c.connected = true;
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u32 = events[static_cast<std::size_t>(i)].data.u32;
        ::epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &event);
        continue;
      }
      char buffer[4096];
      ssize_t got = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) {
          continue;
        }
        fail(c, "closed before the response");
        continue;
      }
      c.in.append(buffer, static_cast<std::size_t>(got));
      std::size_t headEnd = c.in.find("\r\n\r\n");
      if (headEnd != std::string::npos && c.in.size() >= headEnd + 4 + 16) {
        if (c.in.rfind("HTTP/1.1 200", 0) != 0) {
          fail(c, "status: " + c.in.substr(0, c.in.find('\r')));
          continue;
        }
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        std::string().swap(c.in);
        ++done;
        --active;
      }
    }
  }
  auto elapsed = Clock::now() - start;
  ::close(epoll);
  EXPECT_EQ(done, kClients) << failed << " failed, first: " << firstFailure << "; "
                            << kClients - done - failed << " unfinished";
  std::cout << "[ measured ] " << done << " keep-alive clients served in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";

  // The proxy holds every one of them...
  std::string stats = fairway->stats();
  EXPECT_GE(jsonNumber(stats, "\"connections\"", "active"), done) << stats;
  // ...and still serves a new client.
  auto extra = get(fairway->port, "/x?size=5");
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->status, 200);
  std::uint64_t rss = procStatusBytes(fairway->child->pid(), "VmRSS");
  std::cout << "[ measured ] fairway RSS " << mib(rssBefore) << " MiB idle, " << mib(rss)
            << " MiB with " << done << " idle keep-alive clients open\n";
  EXPECT_GT(rss, 0U);
  EXPECT_LT(rss, 64U * 1024 * 1024);

  // None of the clients was closed by the proxy meanwhile.
  int closed = 0;
  for (std::size_t from = 0; from < connections.size(); from += 1000) {
    std::vector<pollfd> fds;
    for (std::size_t i = from; i < std::min(connections.size(), from + 1000); ++i) {
      if (connections[i].fd >= 0) {
        fds.push_back({connections[i].fd, POLLIN | POLLRDHUP, 0});
      }
    }
    ::poll(fds.data(), fds.size(), 0);
    for (const auto& p : fds) {
      closed += (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0 ? 1 : 0;
    }
  }
  EXPECT_EQ(closed, 0);
  for (auto& c : connections) {
    if (c.fd >= 0) {
      ::close(c.fd);
    }
  }
}

// A 1 GiB body streams through fairway both ways with bounded memory: the upload's checksum
// matches at the backend, the download arrives whole, and fairway's peak RSS stays under 64 MiB.
TEST(ProxyProcessTest, StreamsOneGibibyteBothWaysInBoundedMemory) {
  constexpr std::uint64_t kSize = std::uint64_t{1} << 30;
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto fairway = startFairway(backends[0]->port(), "limits: { max_body_bytes: 0 }\n");
  ASSERT_NE(fairway, nullptr);

  // Upload: 1 GiB generated on the fly (each 1 MiB block stamped with its number).
  std::vector<char> block(1 << 20);
  for (std::size_t i = 0; i < block.size(); ++i) {
    block[i] = static_cast<char>((i * 2654435761U) >> 13);
  }
  echo::Fnv1a64 expected;
  RawClient upload(fairway->port);
  ASSERT_TRUE(upload.connected());
  timeval sendTimeout{30, 0};
  ::setsockopt(upload.fd(), SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, sizeof sendTimeout);
  auto start = Clock::now();
  ASSERT_TRUE(upload.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n"));
  for (std::uint64_t sent = 0, number = 0; sent < kSize; sent += block.size(), ++number) {
    std::memcpy(block.data(), &number, sizeof number);
    expected.update(block.data(), block.size());
    ASSERT_TRUE(upload.send(std::string_view(block.data(), block.size())))
        << "the proxy stopped reading after " << sent << " bytes";
  }
  auto reply = upload.read(30s);
  auto uploadTime = Clock::now() - start;
  ASSERT_TRUE(reply) << fairway->describe();
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("\"body_length\": " + std::to_string(kSize)), std::string::npos)
      << reply->body;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(expected.value()));
  EXPECT_NE(reply->body.find(hex), std::string::npos) << "expected " << hex << "\n" << reply->body;

  // Download: 1 GiB of the echo pattern, checked byte for byte as it arrives.
  RawClient download(fairway->port);
  ASSERT_TRUE(download.connected()) << fairway->describe();
  start = Clock::now();
  ASSERT_TRUE(
      download.send("GET /x?size=" + std::to_string(kSize) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string pattern;
  while (pattern.size() < (1 << 17) + echo::kBodyPattern.size()) {
    pattern += echo::kBodyPattern;
  }
  std::string head;
  std::uint64_t received = 0;
  bool intact = true;
  std::vector<char> chunk(1 << 17);
  auto deadline = Clock::now() + 60s;
  auto lastProgress = Clock::now();
  while (received < kSize && Clock::now() < deadline && Clock::now() - lastProgress < 5s) {
    pollfd p{download.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    lastProgress = Clock::now();
    ssize_t n = ::recv(download.fd(), chunk.data(), chunk.size(), 0);
    if (n <= 0) {
      break;
    }
    std::size_t at = 0;
    if (head.empty() || head.find("\r\n\r\n") == std::string::npos) {
      head.append(chunk.data(), static_cast<std::size_t>(n));
      std::size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        continue;
      }
      at = static_cast<std::size_t>(n) - (head.size() - end - 4);
      head.resize(end + 4);
    }
    std::size_t size = static_cast<std::size_t>(n) - at;
    std::size_t offset = static_cast<std::size_t>(received % echo::kBodyPattern.size());
    intact = intact && std::memcmp(chunk.data() + at, pattern.data() + offset, size) == 0;
    received += size;
  }
  auto downloadTime = Clock::now() - start;
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0U) << head;
  EXPECT_NE(lower(head).find("content-length: " + std::to_string(kSize)), std::string::npos)
      << head;
  EXPECT_EQ(received, kSize) << "stalled or cut short";
  EXPECT_TRUE(intact) << "the body differs from the echo pattern";

  std::uint64_t peak = procStatusBytes(fairway->child->pid(), "VmHWM");
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "[ measured ] 1 GiB upload " << seconds(uploadTime) << " s ("
            << mib(kSize) / seconds(uploadTime) << " MiB/s), download " << seconds(downloadTime)
            << " s (" << mib(kSize) / seconds(downloadTime) << " MiB/s); fairway peak RSS "
            << mib(peak) << " MiB\n";
  EXPECT_GT(peak, 0U);
  EXPECT_LT(peak, 64U * 1024 * 1024);
}

// --- signals -----------------------------------------------------------------------------------

// SIGTERM drains: a request in flight when the signal arrives completes with 200 (and its
// connection is closed after it), and the process exits 0 soon after.
TEST(ProxyProcessTest, SigtermDrainsInFlightRequestsAndExitsZero) {
  auto backends = startBackends(1);
  ASSERT_EQ(backends.size(), 1U);
  auto fairway = startFairway(backends[0]->port());
  ASSERT_NE(fairway, nullptr);
  RawClient slow(fairway->port);
  ASSERT_TRUE(slow.send("GET /x?delay=500ms HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(
      eventually([&] { return jsonNumber(fairway->stats(), "\"requests\"", "active") == 1; }, 5s))
      << fairway->stats();
  auto signalled = Clock::now();
  fairway->child->signal(SIGTERM);
  auto response = slow.read(5s);
  ASSERT_TRUE(response) << "the in-flight request was cut off";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(lower(response->header("connection").value_or("")), "close");
  EXPECT_TRUE(slow.closedWithin(2s));
  auto code = fairway->child->wait(5s);
  ASSERT_TRUE(code) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*code, 0) << fairway->child->errors();
  EXPECT_LT(Clock::now() - signalled, 5s);
}

}  // namespace
}  // namespace fairway::testing
