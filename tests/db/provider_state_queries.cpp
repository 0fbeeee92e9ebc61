#define CAF_SUITE provider_state_queries
#include <caf/test/unit_test.hpp>

#include "db/job_queries.hpp"
#include "db/provider_state_queries.hpp"
#include "queue_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

provider_state state(std::string name, std::string breaker) {
  provider_state s;
  s.provider = std::move(name);
  s.breaker = std::move(breaker);
  return s;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(provider_state_queries_tests, queue_fixture)

CAF_TEST(nothing is stored before a daemon writes a snapshot) {
  CAF_CHECK(read_provider_states(*conn).empty());
}

CAF_TEST(a snapshot round trips and the next one replaces it) {
  auto yahoo = state("yahoo", "open");
  yahoo.open_until = 1'900'000'000;
  yahoo.requests = 12;
  yahoo.errors = 5;
  yahoo.window_start = 1'899'999'700;
  auto tiingo = state("tiingo", "off");
  tiingo.note = "no API key";
  write_provider_states(*conn, {yahoo, tiingo}, "host:1:a", 5s);
  auto rows = read_provider_states(*conn);
  CAF_REQUIRE_EQUAL(rows.size(), 2u);
  // By name.
  CAF_CHECK_EQUAL(rows[0].state.provider, "tiingo");
  CAF_CHECK_EQUAL(rows[0].state.breaker, "off");
  CAF_CHECK_EQUAL(rows[0].state.note, "no API key");
  CAF_CHECK_EQUAL(rows[0].state.open_until, 0);
  const auto& y = rows[1];
  CAF_CHECK_EQUAL(y.state.breaker, "open");
  CAF_CHECK_EQUAL(y.state.open_until, 1'900'000'000);
  CAF_CHECK_EQUAL(y.state.throttled_until, 0);
  CAF_CHECK_EQUAL(y.state.requests, 12);
  CAF_CHECK_EQUAL(y.state.errors, 5);
  CAF_CHECK_EQUAL(y.state.window_start, 1'899'999'700);
  CAF_CHECK_EQUAL(y.daemon, "host:1:a");
  CAF_CHECK_EQUAL(y.period_ms, 5'000);
  CAF_CHECK_LESS(y.age_seconds, 5.0);
  CAF_CHECK(!y.stale());
  // Another daemon's later snapshot: one row per provider, the last one's.
  auto closed = state("yahoo", "closed");
  closed.throttled_until = 1'900'000'060;
  write_provider_states(*conn, {closed}, "host:2:b", 5s);
  rows = read_provider_states(*conn);
  CAF_REQUIRE_EQUAL(rows.size(), 2u);
  CAF_CHECK_EQUAL(rows[1].state.breaker, "closed");
  CAF_CHECK_EQUAL(rows[1].state.open_until, 0);
  CAF_CHECK_EQUAL(rows[1].state.throttled_until, 1'900'000'060);
  CAF_CHECK_EQUAL(rows[1].daemon, "host:2:b");
}

CAF_TEST(a snapshot nobody refreshes goes stale) {
  write_provider_states(*conn, {state("yahoo", "closed")}, "host:1:a", 5s);
  exec("UPDATE backfilld_provider_state"
       " SET updated_at = now() - interval '16 seconds'");
  auto rows = read_provider_states(*conn);
  CAF_REQUIRE_EQUAL(rows.size(), 1u);
  CAF_CHECK_GREATER(rows[0].age_seconds, 15.0);
  CAF_CHECK(rows[0].stale());
  // A slow period stretches the bound: three periods of 10 s.
  write_provider_states(*conn, {state("yahoo", "closed")}, "host:1:a", 10s);
  exec("UPDATE backfilld_provider_state"
       " SET updated_at = now() - interval '20 seconds'");
  CAF_CHECK(!read_provider_states(*conn)[0].stale());
}

// -- the per-asset source a claimed job carries ------------------------------

CAF_TEST(a claimed job carries the source its assets row names) {
  // The tracker's schema has no such column: no source, and no error.
  enqueue({12});
  auto plain = claim(1, me);
  CAF_REQUIRE_EQUAL(plain.size(), 1u);
  CAF_CHECK_EQUAL(plain[0].source, "");
  exec("ALTER TABLE assets ADD COLUMN data_source text;"
       "UPDATE assets SET data_source = 'COINGECKO' WHERE id = 13;"
       "INSERT INTO assets (id, symbol, asset_type) VALUES (16, 'MSFT',"
       " 'stock');");
  enqueue({13, 16});
  auto jobs = claim(2, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  std::sort(jobs.begin(), jobs.end(),
            [](const auto& a, const auto& b) { return a.asset < b.asset; });
  CAF_CHECK_EQUAL(jobs[0].source, "COINGECKO");
  // NULL is no source.
  CAF_CHECK_EQUAL(jobs[1].source, "");
}

CAF_TEST(the source column is configurable and an empty name reads none) {
  exec("ALTER TABLE assets ADD COLUMN provider_name text;"
       "UPDATE assets SET provider_name = 'tiingo' WHERE id = 12;");
  enqueue({12});
  auto named = me;
  named.source_column = "provider_name";
  auto jobs = claim(1, named);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].source, "tiingo");
  // Read back after an unanswered commit: the same columns.
  auto token = claim_token(named);
  exec("UPDATE backfill_jobs SET claim_token = '" + token + "'");
  auto resolved = resolve_claim(*conn, token, named);
  CAF_REQUIRE_EQUAL(resolved.size(), 1u);
  CAF_CHECK_EQUAL(resolved[0].source, "tiingo");
  auto none = me;
  none.source_column.clear();
  exec("UPDATE backfill_jobs SET state = 'pending', locked_by = NULL,"
       " locked_until = NULL, next_attempt_at = now()");
  auto unnamed = claim(1, none);
  CAF_REQUIRE_EQUAL(unnamed.size(), 1u);
  CAF_CHECK_EQUAL(unnamed[0].source, "");
}

CAF_TEST_FIXTURE_SCOPE_END()
