// Works around a bug of CAF 0.17's OpenSSL module (libcaf-openssl0.17): a
// failed handshake (a plain node, a certificate from another CA) leaves its
// errors in the OpenSSL error queue of the middleman's thread, and the next
// SSL_read of any other connection on that thread then reads as failed
// (SSL_get_error consults that queue): every connected node was dropped
// whenever anyone failed a handshake. OpenSSL requires an empty queue before
// each I/O call (SSL_get_error(3)), which CAF does not ensure; these
// definitions in the executable take precedence over libssl's and clear it
// first, then call libssl. libcurl clears it itself, so this changes nothing
// for the providers' HTTPS.
//
// SSL_accept is also the one place that sees a node refused in the TLS
// handshake on the core's side: CAF closes that connection without a word,
// so an operator would only see the node's complaint. It says so here.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "telemetry/counters.hpp"

namespace {

template <class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

/// "10.0.0.5:41234", or "an unknown peer".
std::string peer_of(SSL* ssl) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  auto fd = SSL_get_fd(ssl);
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return "an unknown peer";
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return std::string{host} + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto in = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
    return "[" + std::string{host} +
           "]:" + std::to_string(ntohs(in->sin6_port));
  }
  return "an unknown peer";
}

/// Whether a refusal from `host` for `reason` deserves a warning: the first
/// one, then at most one every ten minutes per address and reason. A
/// misconfigured node retries for ever (and a port scan knocks on every port):
/// the rest go to debug and the counter. The map is bounded, so it cannot grow
/// with uptime.
bool worth_a_warning(const std::string& key) {
  using clock = std::chrono::steady_clock;
  static std::mutex mx;
  static std::map<std::string, clock::time_point> last_warned;
  std::lock_guard<std::mutex> guard{mx};
  auto now = clock::now();
  auto i = last_warned.find(key);
  if (i != last_warned.end() && now - i->second < std::chrono::minutes{10})
    return false;
  if (last_warned.size() >= 256)
    last_warned.clear();
  last_warned[key] = now;
  return true;
}

/// What the core knows of one incoming handshake. The peer is noted at the
/// first SSL_accept: once the peer has given up, its address is gone.
struct accept_note {
  std::string peer;
  bool reported = false;
};

void free_note(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<accept_note*>(ptr);
}

accept_note& note_of(SSL* ssl) {
  static const int index =
    SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_note);
  auto note = static_cast<accept_note*>(SSL_get_ex_data(ssl, index));
  if (!note) {
    note = new accept_note{peer_of(ssl)};
    SSL_set_ex_data(ssl, index, note);
  }
  return *note;
}

/// The handshake failed (not merely waiting for the peer's next bytes):
/// name the peer and OpenSSL's reason, once per connection. The error
/// queue is left as it is, for CAF's own SSL_get_error.
void report_refused(SSL* ssl, accept_note& note, int rc) {
  auto kind = SSL_get_error(ssl, rc);
  if (note.reported || kind == SSL_ERROR_WANT_READ ||
      kind == SSL_ERROR_WANT_WRITE)
    return;
  note.reported = true;
  backfilld::metrics().cluster_handshakes_refused++;
  std::string reason = "the peer closed the connection";
  if (auto code = ERR_peek_error(); code != 0) {
    if (auto text = ERR_reason_error_string(code))
      reason = text;
  }
  auto host = note.peer.substr(0, note.peer.rfind(':'));
  auto level = worth_a_warning(host + " " + reason) ? spdlog::level::warn
                                                    : spdlog::level::debug;
  spdlog::log(level,
              "refused a TLS handshake from {} ({}): a fetcher node needs "
              "cluster.tls=true and a certificate signed by this core's "
              "cluster.cafile",
              note.peer, reason);
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real =
    next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  auto& note = note_of(ssl);
  ERR_clear_error();
  auto rc = real(ssl);
  if (rc <= 0)
    report_refused(ssl, note, rc);
  return rc;
}

int SSL_connect(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
