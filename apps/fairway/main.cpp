// fairway: the reverse proxy executable. Option parsing and wiring only; everything worth testing
// lives in libs/proxy.

#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>

#include <Poco/Message.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <fairway/balancer/version.hpp>
#include <fairway/breaker/version.hpp>
#include <fairway/cache/version.hpp>
#include <fairway/health/version.hpp>
#include <fairway/proxy/config_loader.hpp>
#include <fairway/proxy/server.hpp>
#include <fairway/proxy/version.hpp>
#include <fairway/ratelimit/version.hpp>

namespace {

namespace proxy = fairway::proxy;

class FairwayApplication final : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(
        Poco::Util::Option("config", "c", "run the proxy with this configuration file")
            .argument("FILE")
            .repeatable(false)
            .callback(Poco::Util::OptionCallback<FairwayApplication>(
                this, &FairwayApplication::onConfig)));
    options.addOption(
        Poco::Util::Option("check-config", "t", "validate FILE, report every problem, and exit")
            .argument("FILE")
            .repeatable(false)
            .callback(Poco::Util::OptionCallback<FairwayApplication>(
                this, &FairwayApplication::onCheck)));
    options.addOption(Poco::Util::Option("version", "v", "print the versions and exit")
                          .callback(Poco::Util::OptionCallback<FairwayApplication>(
                              this, &FairwayApplication::onVersion)));
    options.addOption(Poco::Util::Option("help", "h", "print this help and exit")
                          .callback(Poco::Util::OptionCallback<FairwayApplication>(
                              this, &FairwayApplication::onHelp)));
  }

  int main(const std::vector<std::string>& args) override {
    if (exit_) {
      return exitCode_;
    }
    if (!args.empty()) {
      std::cerr << "fairway: unexpected argument '" << args.front() << "' (see --help)\n";
      return EXIT_USAGE;
    }
    if (configFile_.empty()) {
      std::cerr << "fairway: --config FILE is required (see --help)\n";
      return EXIT_USAGE;
    }
    // Signals are taken synchronously by this thread; every thread started from here on
    // inherits the mask, so none of them is interrupted.
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGHUP, SIGINT, SIGTERM, SIGQUIT}) {
      sigaddset(&signals, signal);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::string problem;
    std::unique_ptr<proxy::Server> server = startServer(nullptr, problem);
    if (!server) {
      std::cerr << "fairway: " << problem;
      return EXIT_CONFIG;
    }
    announce(*server);
    for (;;) {
      int signal = 0;
      sigwait(&signals, &signal);
      if (signal != SIGHUP) {
        break;
      }
      // Reload: a bad file, or one that cannot start, leaves the running configuration alone.
      std::unique_ptr<proxy::Server> next = startServer(server.get(), problem);
      if (!next) {
        server->log(Poco::Message::PRIO_ERROR,
                    "reload refused, the running configuration stays: " + problem);
        continue;
      }
      std::cout << "fairway: reloaded " << configFile_ << "; draining the previous configuration\n"
                << std::flush;
      server->drain(std::chrono::seconds(10));
      server = std::move(next);
      announce(*server);
    }
    std::cout << "fairway: draining\n" << std::flush;
    bool drained = server->drain(std::chrono::seconds(10));
    std::cout << "fairway: stopped" << (drained ? "" : " (grace period over)") << "\n";
    return EXIT_OK;
  }

 private:
  // Loads configFile_ and starts a server (taking over `previous`'s listeners); null with
  // `problem` set if the file or the start fails.
  std::unique_ptr<proxy::Server> startServer(const proxy::Server* previous, std::string& problem) {
    proxy::LoadResult loaded = proxy::loadConfigFile(configFile_);
    if (!loaded.config) {
      problem = configFile_ + " has problems:\n" + proxy::describeProblems(loaded.problems);
      return nullptr;
    }
    auto made = proxy::Server::make(*loaded.config);
    if (!made) {
      problem = made.error().message + "\n";
      return nullptr;
    }
    if (proxy::Status started = made.value()->start(previous); !started) {
      problem = started.message() + "\n";
      return nullptr;
    }
    return std::move(made.value());
  }

  void announce(const proxy::Server& server) {
    const proxy::Config& config = server.config();
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
      std::cout << "fairway " << proxy::kVersion << " listening on http://"
                << config.listeners[i].address << ":" << server.port(i) << "/\n";
    }
    if (server.adminPort() != 0) {
      std::cout << "admin on http://" << config.admin.address << ":" << server.adminPort()
                << "/ (/metrics /stats /backends /healthz /readyz /config"
                << (config.cache.enabled ? ", POST /cache/purge" : "") << ")\n";
    }
    if (config.cache.enabled) {
      std::cout << "cache on: " << config.cache.maxEntries << " responses in memory"
                << (config.cache.redis ? ", Redis at " + config.cache.redis->host + ":" +
                                             std::to_string(config.cache.redis->port)
                                       : std::string())
                << "\n";
    }
    std::cout.flush();
  }

 public:
 private:
  void onConfig(const std::string&, const std::string& value) { configFile_ = value; }

  void onCheck(const std::string&, const std::string& value) {
    proxy::LoadResult loaded = proxy::loadConfigFile(value);
    if (loaded.config) {
      std::size_t backends = 0;
      for (const auto& upstream : loaded.config->upstreams) {
        backends += upstream.backends.size();
      }
      std::cout << value << ": ok (" << loaded.config->upstreams.size() << " upstream(s), "
                << backends << " backend(s), " << loaded.config->routes.size() << " route(s))\n";
      exitCode_ = EXIT_OK;
    } else {
      std::cerr << value << ": " << loaded.problems.size() << " problem(s)\n"
                << proxy::describeProblems(loaded.problems);
      exitCode_ = EXIT_CONFIG;
    }
    finish();
  }

  void onVersion(const std::string&, const std::string&) {
    std::cout << "fairway " << proxy::kVersion << "\n"
              << "  proxy     " << proxy::kVersion << "\n"
              << "  balancer  " << fairway::balancer::kVersion << "\n"
              << "  breaker   " << fairway::breaker::kVersion << "\n"
              << "  health    " << fairway::health::kVersion << "\n"
              << "  ratelimit " << fairway::ratelimit::kVersion << "\n"
              << "  cache     " << fairway::cache::kVersion << "\n";
    exitCode_ = EXIT_OK;
    finish();
  }

  void onHelp(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand("fairway");
    help.setUsage("--config FILE | --check-config FILE | --version | --help");
    help.setHeader("A reverse proxy and load balancer. Docs: docs/configuration.md");
    help.format(std::cout);
    exitCode_ = EXIT_OK;
    finish();
  }

  void finish() {
    exit_ = true;
    stopOptionsProcessing();
  }

  std::string configFile_;
  bool exit_ = false;
  int exitCode_ = EXIT_OK;
};

}  // namespace

POCO_SERVER_MAIN(FairwayApplication)
