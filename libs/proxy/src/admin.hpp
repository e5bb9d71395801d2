#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPServer;
}

namespace fairway::proxy {

class Server;

// The admin listener (loopback by default), on POCO's HTTPServer: its cost per request does not
// matter here. GET /healthz, /readyz, /stats (JSON), /metrics (Prometheus text), /backends (JSON),
// /config (JSON).
class AdminServer {
 public:
  explicit AdminServer(Server& server);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  bool start(const std::string& address, std::uint16_t port, std::string& error);
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  Server& server_;
  std::unique_ptr<Poco::Net::HTTPServer> http_;
  std::uint16_t port_ = 0;
};

}  // namespace fairway::proxy
