// fairway-echo: option parsing and signal handling around fairway::echo::EchoServer.

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "echo_server.hpp"

namespace {

constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto commandLine = fairway::echo::parseCommandLine(args);
  if (!commandLine) {
    std::fprintf(stderr, "fairway-echo: %s\n\n%s", commandLine.error().message.c_str(),
                 fairway::echo::usage().c_str());
    return kExitUsage;
  }
  if (commandLine.value().help) {
    std::fputs(fairway::echo::usage().c_str(), stdout);
    return 0;
  }
  if (commandLine.value().version) {
    std::printf("fairway-echo %s\n", FAIRWAY_VERSION);
    return 0;
  }

  // Block the stop signals before any thread starts, so that every thread inherits the mask and
  // sigwait() below is the only place they arrive.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  fairway::echo::EchoServer server(commandLine.value().options);
  auto port = server.start();
  if (!port) {
    std::fprintf(stderr, "fairway-echo: %s\n", port.error().message.c_str());
    return 1;
  }
  const std::string& address = commandLine.value().options.address;
  const bool ipv6 = address.find(':') != std::string::npos;
  std::printf("fairway-echo listening on %s%s%s:%u\n", ipv6 ? "[" : "", address.c_str(),
              ipv6 ? "]" : "", static_cast<unsigned>(port.value()));
  std::fflush(stdout);

  int signal = 0;
  while (sigwait(&stopSignals, &signal) != 0) {
  }
  server.stop();
  return 0;
}
