#pragma once

// A real redis-server for tests: started on a free loopback port, stopped (or killed, paused,
// restarted) by the test. Readiness is polled with a bound, never slept for.

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fairway::testing {

class RedisServer {
 public:
  RedisServer() : port_(freePort()) {
    // A write to a Redis that was killed must fail with EPIPE, not end the test process.
    ::signal(SIGPIPE, SIG_IGN);
    start();
  }
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // Starts redis-server on port() and returns once it answers, or throws after 10 s.
  void start() {
    const std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      setpgid(0, 0);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--protected-mode", "no", "--logfile", "/dev/null",
             "--daemonize", "no", static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!answersPing()) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start (is it installed?)");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill();
        throw std::runtime_error("redis-server did not answer within 10 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, bounded above
    }
  }

  // SIGKILL: Redis vanishes mid-run, connections reset.
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // SIGSTOP / SIGCONT: Redis accepts bytes but never answers, like a hung server.
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

 private:
  static int freePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("no free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
  }

  bool answersPing() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      timeval tv{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      const char ping[] = "PING\r\n";
      char reply[16] = {};
      ok = write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1 &&
           read(fd, reply, sizeof(reply) - 1) > 0 && std::string(reply).starts_with("+PONG");
    }
    close(fd);
    return ok;
  }

  int port_;
  pid_t pid_ = -1;
};

}  // namespace fairway::testing
