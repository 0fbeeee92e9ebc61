#define CAF_SUITE connection_options
#include <caf/test/unit_test.hpp>

#include "db/session.hpp"
#include "db_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;

CAF_TEST_FIXTURE_SCOPE(connection_option_tests, db_fixture)

CAF_TEST(every session starts with the statement timeout) {
  db_settings s;
  s.url = url;
  s.statement_timeout = std::chrono::milliseconds{4321};
  db_session session{s};
  std::string shown;
  int pid = 0;
  auto show = [&](pqxx::connection& conn) {
    pqxx::nontransaction txn{conn};
    shown = txn.exec1("SHOW statement_timeout")[0].as<std::string>();
    pid = conn.backendpid();
  };
  CAF_REQUIRE(!session.run(show));
  CAF_CHECK_EQUAL(shown, "4321ms");
  // The server ends the session; the next call opens a new one, which must
  // have the timeout too (no SET after connecting that could be skipped).
  auto first = pid;
  exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")");
  shown.clear();
  CAF_REQUIRE(!session.run(show));
  CAF_CHECK_NOT_EQUAL(pid, first);
  CAF_CHECK_EQUAL(shown, "4321ms");
}

CAF_TEST_FIXTURE_SCOPE_END()
