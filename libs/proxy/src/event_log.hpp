#pragma once

#include <memory>
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <fairway/proxy/config.hpp>

namespace fairway::proxy {

// The error log (log.error, log.level): what an operator should hear about — backends failing
// their health checks or coming back, outlier ejections, breakers opening and closing, the
// server starting, draining, reloading — one line per event through POCO's logging: a
// PatternFormatter ("2026-12-06T20:55:09.123Z [Warning] ...") over a file or stderr, behind an
// AsyncChannel, so that a slow disk never holds up the thread that logs. Thread-safe.
class EventLog {
 public:
  // Opens the file now, so that a bad path is reported with the key ("log.error: ...").
  static std::shared_ptr<EventLog> make(const LogConfig& config, std::string& error);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // True when `priority` passes log.level (POCO's order: fatal 1 ... trace 8).
  bool enabled(Poco::Message::Priority priority) const { return priority <= level_; }
  void write(Poco::Message::Priority priority, const std::string& text);
  // Writes what is queued and closes the sink. Idempotent.
  void close();

 private:
  EventLog(Poco::AutoPtr<Poco::Channel> channel, int level);

  Poco::AutoPtr<Poco::Channel> channel_;
  int level_;
};

}  // namespace fairway::proxy
