// A blocking HTTP GET on one libcurl easy handle. Only ever used from a
// detached actor: every call may block for up to the total timeout.

#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "messages/ec.hpp"
#include "messages/types.hpp"

namespace backfilld {

struct http_options {
  /// Yahoo refuses obvious bots; a current browser's string works.
  std::string user_agent;
  std::chrono::milliseconds connect_timeout{5'000};
  /// Bounds the whole transfer, slow-loris responses included.
  std::chrono::milliseconds total_timeout{30'000};
  /// Bodies beyond this size are abandoned (`response_too_large`).
  int64_t max_body_bytes = 8 * 1024 * 1024;
  /// Extra CA bundle (PEM) for the provider, trusted in addition to the
  /// system's (OpenSSL's SSL_CERT_FILE when set, else libcurl's built-in
  /// bundle); empty trusts the system's alone. libcurl's CAINFO would
  /// replace the system bundle, so both go to curl as one in-memory bundle.
  std::string ca_file;
};

/// One reusable easy handle: connections and TLS sessions are kept between
/// calls. Not thread-safe; one per worker.
class http_client {
 public:
  explicit http_client(http_options options);
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// GETs `url` (gzip accepted, TLS verified). Any status is a response;
  /// connect, TLS, timeout and size failures are faults.
  fault get(const std::string& url, http_response& out);

  /// GETs `request.url` with its extra headers.
  fault get(const http_request& request, http_response& out);

 private:
  http_options options_;
  void* handle_; // CURL*, kept opaque so that curl.h stays out of headers.
  /// The system bundle followed by `ca_file`, when that is set.
  std::string ca_bundle_;
  /// Why `ca_file` cannot be used; every request fails with it.
  std::string ca_error_;
};

/// Why `url` is no usable provider base URL (scheme http or https, a host,
/// a valid port if any), or empty when it is one. A typo there would
/// otherwise start a daemon whose every fetch fails. Read with libcurl's own
/// URL parser, the one that later fetches from it.
std::string base_url_problem(std::string_view url);

/// Parses a `Retry-After` value given in seconds; -1 when absent or an
/// HTTP date (which Yahoo does not send).
int64_t parse_retry_after(std::string_view value);

/// The CA bundle trusted by default: `ssl_cert_file` (OpenSSL's
/// SSL_CERT_FILE) when not empty, else `builtin` (libcurl's own).
std::string system_ca_file(const char* ssl_cert_file, const char* builtin);

} // namespace backfilld
