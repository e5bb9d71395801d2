#include "event_log.hpp"

#include <Poco/AsyncChannel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

namespace fairway::proxy {

std::shared_ptr<EventLog> EventLog::make(const LogConfig& config, std::string& error) {
  try {
    const int level = Poco::Logger::parseLevel(config.level);
    Poco::AutoPtr<Poco::Channel> sink;
    if (config.errorLog == "-") {
      sink = new Poco::ConsoleChannel;  // std::clog: stderr
    } else {
      auto* file = new Poco::FileChannel(config.errorLog);
      sink = file;
      file->open();
    }
    Poco::AutoPtr<Poco::PatternFormatter> format(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ [%p] %t"));
    Poco::AutoPtr<Poco::Channel> formatted(new Poco::FormattingChannel(format, sink));
    Poco::AutoPtr<Poco::Channel> async(new Poco::AsyncChannel(formatted));
    async->open();
    return std::shared_ptr<EventLog>(new EventLog(async, level));
  } catch (const Poco::Exception& e) {
    error = "log.error: " + e.displayText();
    return nullptr;
  }
}

EventLog::EventLog(Poco::AutoPtr<Poco::Channel> channel, int level)
    : channel_(std::move(channel)), level_(level) {}

EventLog::~EventLog() {
  close();
}

void EventLog::write(Poco::Message::Priority priority, const std::string& text) {
  if (enabled(priority)) {
    channel_->log(Poco::Message("fairway", text, priority));
  }
}

void EventLog::close() {
  channel_->close();  // AsyncChannel: drains its queue, then stops its thread
}

}  // namespace fairway::proxy
