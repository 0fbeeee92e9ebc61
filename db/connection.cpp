#include "db/connection.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <unistd.h>

#include <pqxx/pqxx>

#include "telemetry/log_once.hpp"

namespace backfilld {

namespace {

bool is_url(std::string_view url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

/// Appends `key=value` unless the connection string sets the key already.
void add_default(std::string& conninfo, bool url, const std::string& key,
                 const std::string& value) {
  if (conninfo.find(key + "=") != std::string::npos)
    return;
  if (url)
    conninfo += (conninfo.find('?') == std::string::npos ? '?' : '&');
  else if (!conninfo.empty())
    conninfo += ' ';
  conninfo += key + "=" + value;
}

fault classify_raw(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    return {ec::database_unavailable, e.what()};
  } catch (const pqxx::insufficient_privilege& e) {
    return {ec::insufficient_privilege, e.what()};
  } catch (const pqxx::sql_error& e) {
    // Admin shutdown, crash recovery and friends also mean "unavailable".
    auto state = e.sqlstate();
    if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0)
      return {ec::database_unavailable, e.what()};
    return {ec::database_error, e.what()};
  } catch (const pqxx::in_doubt_error& e) {
    return {ec::database_unavailable, e.what()};
  } catch (const std::exception& e) {
    return {ec::database_error, e.what()};
  } catch (...) {
    return {ec::database_error, "unknown exception"};
  }
}

std::string seconds(std::chrono::seconds x) {
  return std::to_string(x.count());
}

} // namespace

std::string connection_string(const db_settings& settings) {
  auto url = is_url(settings.url);
  auto result = settings.url;
  add_default(result, url, "application_name", "backfilld");
  add_default(result, url, "connect_timeout",
              seconds(settings.connect_timeout));
  add_default(result, url, "keepalives", "1");
  add_default(result, url, "keepalives_idle", seconds(settings.keepalive_idle));
  add_default(result, url, "keepalives_interval",
              seconds(settings.keepalive_interval));
  add_default(result, url, "keepalives_count",
              std::to_string(settings.keepalive_count));
  if (settings.tcp_user_timeout.count() > 0)
    add_default(result, url, "tcp_user_timeout",
                std::to_string(settings.tcp_user_timeout.count()));
  // The server applies the statement timeout as the session starts: no SET
  // round trip after connecting that the watchdog would not see, and a
  // connection libpqxx reopens behind our back keeps it.
  if (settings.statement_timeout.count() > 0) {
    auto ms = std::to_string(settings.statement_timeout.count());
    add_default(result, url, "options",
                url ? "-c%20statement_timeout%3D" + ms
                    : "'-c statement_timeout=" + ms + "'");
  }
  return result;
}

std::unique_ptr<pqxx::connection> open_connection(const db_settings& settings) {
  auto conn = std::make_unique<pqxx::connection>(connection_string(settings));
  // The user's own `options` took the place of ours (see connection_string).
  if (settings.statement_timeout.count() > 0 &&
      settings.url.find("options=") != std::string::npos)
    conn->set_variable("statement_timeout",
                       std::to_string(settings.statement_timeout.count()));
  return conn;
}

fault classify(const std::exception_ptr& error) {
  // libpq ends its messages with a newline and puts hints on lines of their
  // own; a log record must stay on one line for line-based collectors.
  auto f = classify_raw(error);
  f.detail = one_line(f.detail);
  return f;
}

std::string worker_name() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  auto nonce = std::to_string(rd() % 100000);
  return std::string{host} + ":" + std::to_string(getpid()) + ":" + nonce;
}

} // namespace backfilld
