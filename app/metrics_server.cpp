#include "app/metrics_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
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

namespace {

/// A thread that runs one database step every period on a connection of its
/// own, so that a slow step never holds a store's connection and a store's
/// outage handling never sees it. A step is bounded by db.connect-timeout and
/// a 5 s statement timeout, so stopping waits for at most that. Failures are
/// logged once when they start and once when they end.
class periodic_db_step {
 public:
  struct texts {
    /// "Counting the queue's jobs": logged with " works again".
    const char* subject;
    /// "count the queue's jobs": logged after "Cannot ".
    const char* action;
    /// What a failure means until it works again.
    const char* meanwhile;
  };

  using step_fn = std::function<void(pqxx::connection&)>;

  /// Starts the thread; throws what `std::thread` throws.
  periodic_db_step(db_settings db, std::chrono::milliseconds period,
                   step_fn step, texts say,
                   std::function<void()> on_failure = {})
    : thread_{[this, db = std::move(db), period, step = std::move(step), say,
               on_failure = std::move(on_failure)] {
        loop(db, period, step, say, on_failure);
      }} {
    // nop
  }

  ~periodic_db_step() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void loop(const db_settings& db, std::chrono::milliseconds period,
            const step_fn& step, texts say,
            const std::function<void()>& on_failure) {
    std::unique_ptr<pqxx::connection> conn;
    bool failing = false;
    for (;;) {
      try {
        if (conn == nullptr || !conn->is_open())
          conn = open_connection(db);
        step(*conn);
        if (failing)
          spdlog::debug("[metrics] {} works again", say.subject);
        failing = false;
      } catch (...) {
        // Next time on a fresh connection: a broken one stays broken.
        conn.reset();
        if (on_failure)
          on_failure();
        if (!failing)
          spdlog::debug("[metrics] Cannot {} ({}); {}", say.action,
                        classify(std::current_exception()).detail,
                        say.meanwhile);
        failing = true;
      }
      std::unique_lock<std::mutex> lock{mtx_};
      if (wake_.wait_for(lock, period, [&] { return stopping_; }))
        return;
    }
  }

  // Declared before the thread, which uses them from its first step.
  std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace

struct metrics_server::impl {
  httplib::Server server;
  std::thread thread;
  /// The queue sampler, when started.
  std::unique_ptr<periodic_db_step> sampler;
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

} // namespace

void metrics_server::sample_queue(const db_settings& db,
                                  std::chrono::milliseconds interval) {
  if (impl_->sampler != nullptr)
    return;
  try {
    impl_->sampler = std::make_unique<periodic_db_step>(
      db, interval,
      [](pqxx::connection& conn) {
        // The database's count, not this member function of the same name.
        metrics().set_queue_sample(backfilld::sample_queue(conn), unix_now());
      },
      periodic_db_step::texts{"Counting the queue's jobs",
                              "count the queue's jobs",
                              "its gauges are absent until it works"},
      [] { metrics().queue_sample_failed(); });
  } catch (const std::exception& e) {
    // Without the thread the gauges stay absent; the rest works.
    spdlog::warn("[metrics] Cannot start counting the queue's jobs: {}",
                 e.what());
  }
}

metrics_server::~metrics_server() {
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  impl_->sampler.reset();
}

// -- provider state for `backfilld status` ------------------------------------

struct provider_state_publisher::impl {
  std::unique_ptr<periodic_db_step> publisher;
};

provider_state_publisher::provider_state_publisher(std::unique_ptr<impl> ptr)
  : impl_(std::move(ptr)) {
  // nop
}

std::unique_ptr<provider_state_publisher> provider_state_publisher::start(
  const db_settings& db, std::chrono::milliseconds period, std::string daemon) {
  auto self = std::make_unique<impl>();
  try {
    self->publisher = std::make_unique<periodic_db_step>(
      db, period,
      [period, daemon = std::move(daemon)](pqxx::connection& conn) {
        auto now = static_cast<int64_t>(unix_now());
        write_provider_states(conn, provider_states().snapshot(now), daemon,
                              period);
      },
      periodic_db_step::texts{
        "Recording provider state", "record provider state",
        "`backfilld status` shows it as stale until it works"});
  } catch (const std::exception& e) {
    spdlog::warn("[metrics] Cannot start recording provider state: {}",
                 e.what());
    return nullptr;
  }
  return std::unique_ptr<provider_state_publisher>{
    new provider_state_publisher(std::move(self))};
}

provider_state_publisher::~provider_state_publisher() = default;

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
