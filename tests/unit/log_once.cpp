#define CAF_SUITE log_once
#include <caf/test/unit_test.hpp>

#include <pqxx/except>

#include "db/connection.hpp"
#include "telemetry/log_once.hpp"

using namespace backfilld;

CAF_TEST(a repeated cause is said once and then counted) {
  log_once gate;
  CAF_CHECK(gate.failed("db", "password authentication failed"));
  CAF_CHECK(!gate.failed("db", "password authentication failed"));
  CAF_CHECK(!gate.failed("db", "password authentication failed"));
  CAF_CHECK(gate.failing("db"));
  auto quiet = gate.recovered("db");
  CAF_REQUIRE(quiet.has_value());
  CAF_CHECK_EQUAL(*quiet, 2u);
  CAF_CHECK(!gate.failing("db"));
  // Working again is said once; the next outage is news again.
  CAF_CHECK(!gate.recovered("db").has_value());
  CAF_CHECK(gate.failed("db", "password authentication failed"));
}

CAF_TEST(a new cause is news and sources are apart) {
  log_once gate;
  CAF_CHECK(gate.failed("db", "connection refused"));
  CAF_CHECK(gate.failed("db", "database \"x\" does not exist"));
  CAF_CHECK(!gate.failed("db", "database \"x\" does not exist"));
  CAF_CHECK(gate.failed("listen", "database \"x\" does not exist"));
  auto quiet = gate.recovered("db");
  CAF_REQUIRE(quiet.has_value());
  CAF_CHECK_EQUAL(*quiet, 1u);
  CAF_CHECK(gate.failing("listen"));
}

CAF_TEST(log text stays on one line) {
  CAF_CHECK_EQUAL(one_line("FATAL:  password authentication failed\n"),
                  "FATAL:  password authentication failed");
  CAF_CHECK_EQUAL(
    one_line("connection to server at \"127.0.0.1\", port 1 failed: "
             "Connection refused\n\tIs the server running on that host?\n"),
    "connection to server at \"127.0.0.1\", port 1 failed: Connection "
    "refused; Is the server running on that host?");
  CAF_CHECK_EQUAL(one_line("a \r\n\r\n b"), "a; b");
  CAF_CHECK_EQUAL(one_line("plain"), "plain");
  CAF_CHECK_EQUAL(one_line(" \n"), "");
}

CAF_TEST(database faults are rendered on one line) {
  auto f = classify(std::make_exception_ptr(
    pqxx::broken_connection{"FATAL:  database \"nope\" does not exist\n"}));
  CAF_CHECK(f.code == ec::database_unavailable);
  CAF_CHECK_EQUAL(f.detail, "FATAL:  database \"nope\" does not exist");
  f = classify(std::make_exception_ptr(pqxx::sql_error{
    "ERROR:  relation \"x\" does not exist\nLINE 1: SELECT * FROM x\n",
    "SELECT * FROM x", "42P01"}));
  CAF_CHECK(f.code == ec::database_error);
  CAF_CHECK_EQUAL(f.detail, "ERROR:  relation \"x\" does not exist; LINE 1: "
                            "SELECT * FROM x");
}
