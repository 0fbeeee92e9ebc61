#include "app/metrics_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>
#include <utility>

#include <curl/curl.h>
#include <httplib.h>
#include <pqxx/connection>
#include <spdlog/spdlog.h>

#include "db/connection.hpp"
#include "db/metrics_queries.hpp"
#include "db/provider_state_queries.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/prometheus.hpp"
#include "telemetry/provider_health.hpp"

namespace backfilld {

struct metrics_server::impl {
  httplib::Server server;
  std::thread thread;
  /// The queue sampler; `stopping` (under `mtx`) ends it.
  std::thread sampler;
  std::mutex mtx;
  std::condition_variable wake;
  bool stopping = false;
};

namespace {

/// SO_REUSEADDR only. The library's default, SO_REUSEPORT, lets a second
/// daemon bind the same port without an error and steal half the scrapes.
void exclusive_port(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

} // namespace

metrics_server::metrics_server(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

std::unique_ptr<metrics_server>
metrics_server::start(const std::string& address, int64_t port,
                      std::string version, std::string& error) {
  auto self = std::make_unique<impl>();
  auto& srv = self->server;
  srv.set_socket_options(exclusive_port);
  // Scrapes are rare and cheap: two threads instead of the library's default
  // of one per core (at least eight).
  srv.new_task_queue = [] {
    return new httplib::ThreadPool(2);
  };
  srv.Get("/metrics", [version = std::move(version)](const httplib::Request&,
                                                     httplib::Response& res) {
    res.set_content(render_prometheus(metrics(), version),
                    prometheus_content_type);
  });
  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  srv.Get("/readyz", [](const httplib::Request&, httplib::Response& res) {
    auto ready = check_readiness(metrics());
    res.status = ready.ready ? 200 : 503;
    res.set_content(ready.reason + "\n", "text/plain; charset=utf-8");
  });
  // A handler never throws on purpose; should one, the client gets a 500
  // and the process goes on.
  srv.set_exception_handler(
    [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    });
  errno = 0;
  if (!srv.bind_to_port(address, static_cast<int>(port))) {
    error = "cannot listen on " + address + ":" + std::to_string(port) +
            " (metrics.address, metrics.port): " +
            (errno != 0 ? std::strerror(errno) : "bind failed") +
            "; set metrics.port to a free port, or 0 to turn the endpoint off";
    return nullptr;
  }
  try {
    self->thread = std::thread{[&srv] {
      srv.listen_after_bind();
    }};
  } catch (const std::exception& e) {
    // No thread to be had: a start-up error, not a crash.
    error = std::string{"cannot start the endpoint's thread: "} + e.what();
    return nullptr;
  }
  // `stop` before the loop runs would be lost and the join would hang: wait
  // for the loop (it starts at once; the bound only guards against a bug).
  for (int i = 0; i < 2000 && !srv.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return std::unique_ptr<metrics_server>{new metrics_server(std::move(self))};
}

namespace {

double unix_now() {
  return std::chrono::duration<double>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The sampler's loop. Its connection is its own: a slow count never holds
/// a store's connection, and a store's outage handling never sees it. A
/// look is bounded by db.connect-timeout and a 5 s statement timeout, so
/// shutdown waits for at most that.
void sample_loop(metrics_server::impl& self, db_settings db,
                 std::chrono::milliseconds interval) {
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;
  for (;;) {
    try {
      if (conn == nullptr || !conn->is_open())
        conn = open_connection(db);
      metrics().set_queue_sample(sample_queue(*conn), unix_now());
      if (failing)
        spdlog::debug("[metrics] Counting the queue's jobs works again");
      failing = false;
    } catch (...) {
      // Next time on a fresh connection: a broken one stays broken.
      conn.reset();
      metrics().queue_sample_failed();
      if (!failing)
        spdlog::debug("[metrics] Cannot count the queue's jobs ({}); its "
                      "gauges are absent until it works",
                      classify(std::current_exception()).detail);
      failing = true;
    }
    std::unique_lock<std::mutex> lock{self.mtx};
    if (self.wake.wait_for(lock, interval, [&] { return self.stopping; }))
      return;
  }
}

} // namespace

void metrics_server::sample_queue(const db_settings& db,
                                  std::chrono::milliseconds interval) {
  if (impl_->sampler.joinable())
    return;
  try {
    impl_->sampler = std::thread{[self = impl_.get(), db, interval] {
      sample_loop(*self, db, interval);
    }};
  } catch (const std::exception& e) {
    // Without the thread the gauges stay absent; the rest works.
    spdlog::warn("[metrics] Cannot start counting the queue's jobs: {}",
                 e.what());
  }
}

metrics_server::~metrics_server() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  if (impl_->sampler.joinable())
    impl_->sampler.join();
}

// -- provider state for `backfilld status` ------------------------------------

struct provider_state_publisher::impl {
  std::thread thread;
  std::mutex mtx;
  std::condition_variable wake;
  bool stopping = false;
};

namespace {

/// The publisher's loop: one snapshot per period, a few rows each, on its
/// own connection (bounded by db.connect-timeout and a 5 s statement
/// timeout, so shutdown waits at most that).
void publish_loop(provider_state_publisher::impl& self, db_settings db,
                  std::chrono::milliseconds period, std::string daemon) {
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;
  for (;;) {
    try {
      if (conn == nullptr || !conn->is_open())
        conn = open_connection(db);
      auto now = static_cast<int64_t>(unix_now());
      write_provider_states(*conn, provider_states().snapshot(now), daemon,
                            period);
      if (failing)
        spdlog::debug("[metrics] Recording provider state works again");
      failing = false;
    } catch (...) {
      conn.reset();
      if (!failing)
        spdlog::debug("[metrics] Cannot record provider state ({}); "
                      "`backfilld status` shows it as stale until it works",
                      classify(std::current_exception()).detail);
      failing = true;
    }
    std::unique_lock<std::mutex> lock{self.mtx};
    if (self.wake.wait_for(lock, period, [&] { return self.stopping; }))
      return;
  }
}

} // namespace

provider_state_publisher::provider_state_publisher(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

std::unique_ptr<provider_state_publisher> provider_state_publisher::start(
  const db_settings& db, std::chrono::milliseconds period, std::string daemon) {
  auto self = std::make_unique<impl>();
  try {
    self->thread =
      std::thread{[ptr = self.get(), db, period, daemon = std::move(daemon)] {
        publish_loop(*ptr, db, period, daemon);
      }};
  } catch (const std::exception& e) {
    spdlog::warn("[metrics] Cannot start recording provider state: {}",
                 e.what());
    return nullptr;
  }
  return std::unique_ptr<provider_state_publisher>{
    new provider_state_publisher(std::move(self))};
}

provider_state_publisher::~provider_state_publisher() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

namespace {

size_t append_body(char* data, size_t size, size_t count, void* out) {
  auto& body = *static_cast<std::string*>(out);
  // A readiness reason is a line; refuse to buffer anything huge.
  if (body.size() + size * count > 64 * 1024)
    return 0;
  body.append(data, size * count);
  return size * count;
}

} // namespace

int query_readiness(const std::string& address, int64_t port) {
  if (port == 0) {
    std::cerr << "backfilld: the metrics endpoint is off (metrics.port=0); "
                 "nothing to ask\n";
    return 1;
  }
  // A wildcard bind address is reachable on loopback.
  auto host = address;
  if (host.empty() || host == "0.0.0.0")
    host = "127.0.0.1";
  else if (host == "::")
    host = "::1";
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  auto url = "http://" + host + ":" + std::to_string(port) + "/readyz";
  auto curl = curl_easy_init();
  if (curl == nullptr) {
    std::cerr << "backfilld: cannot initialise libcurl\n";
    return 1;
  }
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  auto rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    std::cerr << "backfilld: not healthy: cannot reach " << url << ": "
              << (error[0] != '\0' ? error : curl_easy_strerror(rc)) << "\n";
    return 1;
  }
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
    body.pop_back();
  if (status == 200) {
    std::cout << body << "\n";
    return 0;
  }
  std::cerr << "backfilld: not ready (HTTP " << status << "): " << body << "\n";
  return 1;
}

} // namespace backfilld
