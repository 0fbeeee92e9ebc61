#define CAF_SUITE db_watchdog
#include "actor_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/db_watchdog.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// A connected pair of sockets standing in for a database connection.
struct socket_pair {
  int fds[2] = {-1, -1};

  socket_pair() {
    CAF_REQUIRE_EQUAL(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  }

  ~socket_pair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }

  /// Whether our end was shut down: a read returns end-of-file at once.
  bool cut() {
    char c;
    return ::recv(fds[0], &c, 1, MSG_DONTWAIT) == 0;
  }
};

/// A connected pair of TCP sockets on loopback, as libpq's to a server.
struct tcp_pair {
  int listener = -1;
  int client = -1;
  int server = -1;

  tcp_pair() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(addr);
    CAF_REQUIRE_EQUAL(
      ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    CAF_REQUIRE_EQUAL(::listen(listener, 1), 0);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &size);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    CAF_REQUIRE_EQUAL(
      ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    server = ::accept(listener, nullptr, nullptr);
    CAF_REQUIRE(server >= 0);
  }

  ~tcp_pair() {
    ::close(client);
    ::close(server);
    ::close(listener);
  }

  /// The server answers: data arrives at the client.
  void answer() {
    CAF_REQUIRE_EQUAL(::send(server, "x", 1, 0), 1);
    char c;
    CAF_REQUIRE_EQUAL(::recv(client, &c, 1, 0), 1);
  }

  bool cut() {
    char c;
    return ::recv(client, &c, 1, MSG_DONTWAIT) == 0;
  }
};

struct fixture : actor_fixture {
  db_watchdog_actor hdl = start(db_watchdog);

  void arm(uint64_t token, int fd) {
    self->send(hdl, atom::arm_v, token, static_cast<int32_t>(fd),
               caf::timespan{10s});
    settle();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(db_watchdog_tests, fixture)

CAF_TEST(a call that overruns its bound gets its socket cut) {
  socket_pair conn;
  arm(1, conn.fds[0]);
  wait(9s);
  CAF_CHECK(!conn.cut());
  wait(2s);
  CAF_CHECK(conn.cut());
}

CAF_TEST(a call that ends in time is left alone) {
  socket_pair conn;
  arm(1, conn.fds[0]);
  wait(5s);
  self->send(hdl, atom::disarm_v, uint64_t{1});
  settle();
  wait(10s);
  CAF_CHECK(!conn.cut());
}

CAF_TEST(only the overdue call of several is cut) {
  socket_pair early;
  socket_pair late;
  arm(1, early.fds[0]);
  wait(6s);
  arm(2, late.fds[0]);
  wait(5s);
  CAF_CHECK(early.cut());
  CAF_CHECK(!late.cut());
  self->send(hdl, atom::disarm_v, uint64_t{2});
  settle();
  wait(20s);
  CAF_CHECK(!late.cut());
}

CAF_TEST(a connection that keeps answering is not cut) {
  // Simulated time runs ahead of the kernel's clock: the answer received
  // just now is, as far as the socket knows, never older than the bound.
  tcp_pair conn;
  conn.answer();
  arm(1, conn.client);
  wait(11s);
  CAF_CHECK(!conn.cut());
  wait(11s);
  CAF_CHECK(!conn.cut());
}

CAF_TEST(the quiet time of a socket comes from the kernel) {
  tcp_pair conn;
  conn.answer();
  auto quiet = socket_quiet_for(conn.client);
  CAF_REQUIRE(quiet);
  CAF_CHECK_LESS(quiet->count(), 10'000);
  socket_pair unix_socket;
  CAF_CHECK(!socket_quiet_for(unix_socket.fds[0]));
}

CAF_TEST_FIXTURE_SCOPE_END()
