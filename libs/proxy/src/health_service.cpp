#include "health_service.hpp"

#include <istream>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>

namespace fairway::proxy {

health::ProbeResult runProbe(const std::string& host, std::uint16_t port,
                             const health::ProbeConfig& probe) {
  health::ProbeResult result;
  TimePoint start = Clock::now();
  try {
    std::string bare = host;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
      bare = bare.substr(1, bare.size() - 2);
    }
    Poco::Net::HTTPClientSession session(bare, port);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(probe.timeout).count();
    session.setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(micros)));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, probe.path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(host, port);
    request.set("User-Agent", "fairway-health-check");
    request.setKeepAlive(false);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    char sink[4096];
    for (int i = 0; i < 16 && body.read(sink, sizeof sink); ++i) {
    }
    result.statusCode = static_cast<int>(response.getStatus());
    result.success = probe.accepts(result.statusCode);
    if (!result.success) {
      result.reason = "status " + std::to_string(result.statusCode);
    }
  } catch (const Poco::TimeoutException&) {
    result.reason = "timeout";
  } catch (const Poco::Exception& e) {
    result.reason = e.displayText();
  } catch (const std::exception& e) {
    result.reason = e.what();
  }
  result.latency = Clock::now() - start;
  return result;
}

HealthService::HealthService(std::vector<UpstreamGroup*> groups) : groups_(std::move(groups)) {
  for (UpstreamGroup* group : groups_) {
    group->setBreakerOpenedHook([this, group](EndpointState& endpoint, TimePoint until) {
      breakerOpened(*group, endpoint, until);
    });
  }
}

HealthService::~HealthService() {
  stop();
  for (UpstreamGroup* group : groups_) {
    group->setBreakerOpenedHook(nullptr);
  }
}

void HealthService::start() {
  thread_ = std::thread([this] { run(); });
}

void HealthService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void HealthService::breakerOpened(UpstreamGroup& group, EndpointState& endpoint, TimePoint until) {
  {
    std::lock_guard lock(mutex_);
    reopen_.push({until, &group, &endpoint});
  }
  wake_.notify_all();
}

void HealthService::run() {
  std::unique_lock lock(mutex_);
  bool first = true;
  while (!stopping_) {
    TimePoint now = Clock::now();
    while (!reopen_.empty() && reopen_.top().at <= now) {
      Reopen due = reopen_.top();
      reopen_.pop();
      lock.unlock();
      // The breaker moves to half-open on the next allow(); until then it must be pickable.
      due.endpoint->breakerOpen.store(false, std::memory_order_relaxed);
      due.group->refreshAvailability(*due.endpoint, now);
      lock.lock();
    }
    lock.unlock();

    TimePoint next = now + std::chrono::seconds(1);
    for (UpstreamGroup* group : groups_) {
      if (health::HealthChecker* checker = group->checker()) {
        std::vector<health::ProbeTarget> due = checker->takeDueProbes(now);
        if (!due.empty()) {
          std::vector<health::ProbeResult> results(due.size());
          std::vector<std::thread> probes;
          for (std::size_t i = 0; i < due.size(); ++i) {
            EndpointState* endpoint = nullptr;
            for (auto& candidate : group->endpoints()) {
              if (candidate->id == due[i].endpoint) {
                endpoint = candidate.get();
              }
            }
            if (endpoint == nullptr) {
              continue;
            }
            probes.emplace_back([&results, i, endpoint, &due] {
              results[i] = runProbe(endpoint->config.host, endpoint->config.port, due[i].probe);
            });
          }
          for (auto& probe : probes) {
            probe.join();
          }
          TimePoint done = Clock::now();
          for (std::size_t i = 0; i < due.size(); ++i) {
            (void)checker->recordProbe(due[i].endpoint, results[i], done);
          }
          now = done;
        }
        if (auto at = checker->nextProbeAt(now)) {
          next = std::min(next, *at);
        }
      }
      health::OutlierDetector& outliers = group->outliers();
      if (auto at = outliers.nextUpdateAt(); first || (at && *at <= now)) {
        outliers.update(now);  // the first call starts the failure-percentage windows
      }
      if (auto at = outliers.nextUpdateAt()) {
        next = std::min(next, *at);
      }
    }

    first = false;
    lock.lock();
    if (!reopen_.empty()) {
      next = std::min(next, reopen_.top().at);
    }
    if (!stopping_) {
      wake_.wait_until(lock, next);
    }
  }
}

}  // namespace fairway::proxy
