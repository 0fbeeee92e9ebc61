#define CAF_SUITE job_queries
#include "db/operator_queries.hpp"
#include "queue_fixture.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(job_queries_tests, queue_fixture)

CAF_TEST(claims hand out each job once and hold it under a lease) {
  enqueue({12, 13});
  auto mine = claim(1, me);
  CAF_REQUIRE_EQUAL(mine.size(), 1u);
  CAF_CHECK_EQUAL(mine[0].attempts, 1);
  CAF_CHECK_EQUAL(mine[0].kind, job_kind::backfill);
  auto theirs = claim(5, other);
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  CAF_CHECK_NOT_EQUAL(mine[0].id, theirs[0].id);
  CAF_CHECK(claim(5, me).empty());
  CAF_CHECK(finish_job(*conn, mine[0].id, me));
  CAF_CHECK_EQUAL(state_of(mine[0].id), "done");
  // Only the lease holder may finish a job.
  CAF_CHECK(!finish_job(*conn, theirs[0].id, me));
  CAF_CHECK_EQUAL(state_of(theirs[0].id), "running");
}

CAF_TEST(done marks for many jobs take one transaction and skip lost leases) {
  enqueue({12, 13});
  auto mine = claim(1, me);
  auto theirs = claim(1, other);
  CAF_REQUIRE_EQUAL(mine.size(), 1u);
  CAF_REQUIRE_EQUAL(theirs.size(), 1u);
  // Ours is marked; theirs is named as lost and left running.
  auto lost = finish_jobs(*conn, {mine[0].id, theirs[0].id}, me);
  CAF_CHECK_EQUAL(lost, std::vector<job_id>{theirs[0].id});
  CAF_CHECK_EQUAL(state_of(mine[0].id), "done");
  CAF_CHECK_EQUAL(state_of(theirs[0].id), "running");
  // A mark sent twice (a retry after a lost answer) finds the job done:
  // nothing lost, nothing changed.
  auto finished_at = [&](job_id job) {
    return scalar<std::string>(
      "SELECT finished_at::text FROM backfill_jobs WHERE id = " +
      std::to_string(job));
  };
  auto first = finished_at(mine[0].id);
  CAF_CHECK(finish_jobs(*conn, {mine[0].id}, me).empty());
  CAF_CHECK_EQUAL(finished_at(mine[0].id), first);
  // Theirs, released back to the queue, is still not ours to finish.
  exec("UPDATE backfill_jobs SET state = 'pending', locked_by = NULL "
       "WHERE id = " +
       std::to_string(theirs[0].id));
  CAF_CHECK_EQUAL(finish_jobs(*conn, {theirs[0].id, mine[0].id}, me),
                  std::vector<job_id>{theirs[0].id});
  CAF_CHECK(finish_jobs(*conn, {}, me).empty());
}

CAF_TEST(concurrent claimers never get the same job) {
  std::vector<asset_id> assets;
  for (int i = 0; i < 40; ++i) {
    exec("INSERT INTO assets (id, symbol) VALUES (" + std::to_string(100 + i) +
         ", 'S" + std::to_string(i) + "')");
    assets.push_back(100 + i);
  }
  enqueue(assets);
  std::vector<std::vector<job_id>> got(4);
  // Every claimer's session outlives the race: a claimer whose session
  // ended would rightly lose its jobs to the others.
  std::vector<std::unique_ptr<pqxx::connection>> sessions;
  for (size_t t = 0; t < got.size(); ++t)
    sessions.push_back(connect());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      auto& c = sessions[t];
      queue_settings who{"worker" + std::to_string(t), 60'000ms};
      for (;;) {
        std::vector<std::string> reclaimed;
        auto jobs = claim_jobs(*c, 3, who, reclaimed);
        if (jobs.empty())
          return;
        for (const auto& job : jobs)
          got[t].push_back(job.id);
      }
    });
  for (auto& t : threads)
    t.join();
  std::vector<job_id> all;
  for (const auto& g : got)
    all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  CAF_CHECK_EQUAL(all.size(), 40u);
  CAF_CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

CAF_TEST(a job whose lease expired is reclaimed) {
  enqueue({12});
  queue_settings brief{"dead:1:x", 60'000ms};
  auto first = claim(1, brief);
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK(claim(1, me).empty());
  exec("UPDATE backfill_jobs SET locked_until = now() - interval '1 second'");
  std::vector<std::string> reclaimed;
  auto second = claim_jobs(*conn, 1, me, reclaimed);
  CAF_REQUIRE_EQUAL(second.size(), 1u);
  CAF_CHECK_EQUAL(second[0].id, first[0].id);
  CAF_CHECK_EQUAL(second[0].attempts, 2);
  CAF_REQUIRE_EQUAL(reclaimed.size(), 1u);
  CAF_CHECK(reclaimed[0].find("Reclaimed job") == 0);
  CAF_CHECK(reclaimed[0].find("dead:1:x") != std::string::npos);
  // The dead worker can no longer finish it.
  CAF_CHECK(!finish_job(*conn, first[0].id, brief));
}

CAF_TEST(heartbeats keep leases alive) {
  enqueue({12});
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  // As if most of the lease went by since the claim.
  exec("UPDATE backfill_jobs SET locked_until = now() + interval '1 second'");
  CAF_CHECK_EQUAL(extend_leases(*conn, {jobs[0].id}, me).extended, 1);
  CAF_CHECK(scalar<bool>("SELECT locked_until > now() + interval '50 seconds'"
                         " FROM backfill_jobs"));
  CAF_CHECK(claim(1, other).empty());
  // Without the heartbeat, the lease runs out and the job goes to others.
  exec("UPDATE backfill_jobs SET locked_until = now() - interval '1 second'");
  CAF_CHECK_EQUAL(claim(1, other).size(), 1u);
}

CAF_TEST(failed attempts back off and then give up visibly) {
  enqueue({12});
  auto jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  auto id = jobs[0].id;
  CAF_CHECK(fail_job(
    *conn, job_verdict{id, verdict_action::retry, 60'000, false, "HTTP 503"},
    me));
  CAF_CHECK_EQUAL(state_of(id), "pending");
  // Not due yet.
  CAF_CHECK(claim(1, me).empty());
  exec("UPDATE backfill_jobs SET next_attempt_at = now()");
  jobs = claim(1, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 1u);
  CAF_CHECK_EQUAL(jobs[0].attempts, 2);
  CAF_CHECK(fail_job(*conn,
                     job_verdict{id, verdict_action::give_up_permanent, 0,
                                 false, "symbol_not_found"},
                     me));
  CAF_CHECK_EQUAL(state_of(id), "failed");
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT last_error FROM backfill_jobs"),
                  "symbol_not_found");
  // A failed asset is not queued again by sightings or catch-up ...
  CAF_CHECK_EQUAL(outcome_of(12), enqueue_outcome::failed_before);
  // ... until an operator asks.
  CAF_CHECK_EQUAL(retry_failed(*conn, "amd"), 1);
  CAF_CHECK_EQUAL(state_of(id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT attempts FROM backfill_jobs"), 0);
  CAF_CHECK_EQUAL(retry_failed(*conn, ""), 0);
}

CAF_TEST(throttled attempts and released jobs do not count) {
  enqueue({12, 13});
  auto jobs = claim(2, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  CAF_CHECK(fail_job(
    *conn, job_verdict{jobs[0].id, verdict_action::retry, 0, true, "HTTP 429"},
    me));
  CAF_CHECK_EQUAL(release_jobs(*conn, job_release{{jobs[1].id}, true}, me), 1);
  CAF_CHECK_EQUAL(scalar<int>("SELECT sum(attempts) FROM backfill_jobs"), 0);
  CAF_CHECK_EQUAL(claim(5, other).size(), 2u);
}

CAF_TEST(jobs of ours that nobody holds go back to the table) {
  enqueue({12, 13});
  queue_settings quick = me;
  quick.orphan_after = 10'000ms;
  auto jobs = claim(2, quick);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  // Job 1 is in hand (and heartbeated); the claim of job 2 was lost.
  auto check = extend_leases(*conn, {jobs[0].id}, quick);
  CAF_CHECK_EQUAL(check.extended, 1);
  CAF_CHECK_EQUAL(check.orphans_released, 0); // Too fresh to tell.
  // As if 11 s went by without a heartbeat for job 2.
  exec("UPDATE backfill_jobs SET locked_until = locked_until"
       " - interval '11 seconds' WHERE id = " +
       std::to_string(jobs[1].id));
  check = extend_leases(*conn, {jobs[0].id}, quick);
  CAF_CHECK_EQUAL(check.orphans_released, 1);
  CAF_CHECK_EQUAL(state_of(jobs[0].id), "running");
  CAF_CHECK_EQUAL(state_of(jobs[1].id), "pending");
  CAF_CHECK_EQUAL(scalar<int>("SELECT attempts FROM backfill_jobs WHERE id = " +
                              std::to_string(jobs[1].id)),
                  0);
}

CAF_TEST(a job whose holder keeps dying runs out of attempts) {
  enqueue({12});
  queue_settings dying{"dying:1:x", 1ms};
  dying.max_attempts = 2;
  for (int i = 0; i < 2; ++i) {
    auto jobs = claim(1, dying);
    CAF_REQUIRE_EQUAL(jobs.size(), 1u);
    // Its holder died; the release keeps the attempt.
    CAF_CHECK_EQUAL(
      release_jobs(*conn, job_release{{jobs[0].id}, false}, dying), 1);
  }
  std::vector<std::string> notes;
  CAF_CHECK(claim_jobs(*conn, 1, dying, notes).empty());
  CAF_REQUIRE_EQUAL(notes.size(), 1u);
  CAF_CHECK(notes[0].find("Gave up on job") == 0);
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT state FROM backfill_jobs"),
                  "failed");
  CAF_CHECK(!scalar<bool>("SELECT permanent FROM backfill_jobs"));
}

CAF_TEST(a claim reads the jobs it takes and not the whole table) {
  // A backlog of pending jobs and a history of done ones, as after a large
  // import; statistics as autovacuum would have them.
  exec("INSERT INTO assets (id, symbol) SELECT i, 'B' || i"
       " FROM generate_series(1000, 6999) i");
  exec("INSERT INTO backfill_jobs (asset_id, kind, state, finished_at)"
       " SELECT i, 'backfill', CASE WHEN i < 4000 THEN 'done' ELSE"
       " 'pending' END, CASE WHEN i < 4000 THEN now() END"
       " FROM generate_series(1000, 6999) i");
  exec("ANALYZE backfill_jobs");
  // This session's table statistics, flushed after each statement.
  auto rows_read = [&] {
    scalar<std::string>("SELECT pg_stat_force_next_flush()::text");
    return scalar<int64_t>(
      "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
      " FROM pg_stat_user_tables WHERE relname = 'backfill_jobs'");
  };
  // The claim is a prepared statement: after five runs PostgreSQL may
  // switch to a generic plan, which must walk the index as well.
  for (auto i = 1; i <= 8; ++i) {
    auto before = rows_read();
    CAF_CHECK_EQUAL(claim(4, me).size(), 4u);
    auto read = rows_read() - before;
    CAF_MESSAGE("claim " << i << " of 4 out of 3,000 pending read " << read
                         << " rows");
    // At least the jobs it took: the statistics are there to count.
    CAF_CHECK_GREATER_OR_EQUAL(read, 4);
    CAF_CHECK_LESS(read, 100);
  }
}

CAF_TEST(a job whose holder session ended is claimable at once) {
  enqueue({12});
  auto holder = connect();
  queue_settings dead{"dead:1:x", 300'000ms};
  std::vector<std::string> notes;
  auto held = claim_jobs(*holder, 1, dead, notes);
  CAF_REQUIRE_EQUAL(held.size(), 1u);
  // While the holder's session lives, its lease holds.
  CAF_CHECK(claim(1, me).empty());
  // A heartbeat ties the claim to the session that sends it.
  CAF_CHECK_EQUAL(extend_leases(*holder, {held[0].id}, dead).extended, 1);
  CAF_CHECK(claim(1, me).empty());
  CAF_REQUIRE(scalar<bool>("SELECT pg_terminate_backend(" +
                           std::to_string(holder->backendpid()) + ", 30000)"));
  auto taken = claim_jobs(*conn, 1, me, notes);
  CAF_REQUIRE_EQUAL(taken.size(), 1u);
  CAF_CHECK_EQUAL(taken[0].id, held[0].id);
  CAF_CHECK_EQUAL(taken[0].attempts, 2);
  CAF_REQUIRE_EQUAL(notes.size(), 1u);
  CAF_CHECK(notes[0].find("ended database session of dead:1:x") !=
            std::string::npos);
  // The holder's daemon, reconnected, can no longer finish it.
  CAF_CHECK(
    !reconnecting([&] { return finish_job(*holder, held[0].id, dead); }));
  CAF_CHECK(finish_job(*conn, held[0].id, me));
}

CAF_TEST(daemons under different roles never take each other for dead) {
  // Another role's session start is hidden in pg_stat_activity: a holder
  // must still count as alive while its pid is there.
  auto suffix = std::to_string(getpid());
  auto holder_role = "bf_holder_" + suffix;
  auto claimer_role = "bf_claimer_" + suffix;
  for (const auto& role : {holder_role, claimer_role}) {
    admin_exec("DROP ROLE IF EXISTS " + role);
    admin_exec("CREATE ROLE " + role + " LOGIN");
    exec("GRANT ALL ON ALL TABLES IN SCHEMA public TO " + role +
         "; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + role);
  }
  auto as = [&](const std::string& role) {
    auto at = url.find('@');
    auto scheme = url.find("://") + 3;
    db_settings settings;
    settings.url = url.substr(0, scheme) + role + url.substr(at);
    return open_connection(settings);
  };
  enqueue({12});
  {
    auto holder = as(holder_role);
    auto claimer = as(claimer_role);
    queue_settings first{"first:1:x", 300'000ms};
    queue_settings second{"second:1:x", 300'000ms};
    std::vector<std::string> notes;
    auto held = claim_jobs(*holder, 1, first, notes);
    CAF_REQUIRE_EQUAL(held.size(), 1u);
    CAF_CHECK(claim_jobs(*claimer, 1, second, notes).empty());
    CAF_REQUIRE(scalar<bool>("SELECT pg_terminate_backend(" +
                             std::to_string(holder->backendpid()) +
                             ", 30000)"));
    CAF_CHECK_EQUAL(claim_jobs(*claimer, 1, second, notes).size(), 1u);
  }
  exec("REASSIGN OWNED BY " + holder_role + ", " + claimer_role +
       " TO CURRENT_USER; DROP OWNED BY " + holder_role + ", " + claimer_role);
  for (const auto& role : {holder_role, claimer_role})
    admin_exec("DROP ROLE IF EXISTS " + role);
}

CAF_TEST(a heartbeat after a reconnect keeps the jobs of a live daemon) {
  enqueue({12, 13});
  auto holder = connect();
  queue_settings alive{"alive:1:x", 300'000ms};
  std::vector<std::string> notes;
  auto held = claim_jobs(*holder, 2, alive, notes);
  CAF_REQUIRE_EQUAL(held.size(), 2u);
  // The daemon's connection breaks; libpqxx reconnects on the next call.
  CAF_REQUIRE(scalar<bool>("SELECT pg_terminate_backend(" +
                           std::to_string(holder->backendpid()) + ", 30000)"));
  CAF_CHECK_EQUAL(
    reconnecting([&] {
      return extend_leases(*holder, {held[0].id, held[1].id}, alive).extended;
    }),
    2);
  CAF_CHECK(claim(2, me).empty());
  // The daemon itself never takes its own jobs for abandoned.
  exec("UPDATE backfill_jobs SET holder_pid = -1");
  std::vector<std::string> own;
  CAF_CHECK(claim_jobs(*holder, 2, alive, own).empty());
  CAF_CHECK_EQUAL(claim(2, me).size(), 2u);
}

CAF_TEST(a reconnected daemon ties its running jobs to its new session) {
  enqueue({12, 13});
  auto holder = connect();
  queue_settings alive{"alive:1:x", 300'000ms};
  std::vector<std::string> notes;
  CAF_REQUIRE_EQUAL(claim_jobs(*holder, 2, alive, notes).size(), 2u);
  CAF_REQUIRE(scalar<bool>("SELECT pg_terminate_backend(" +
                           std::to_string(holder->backendpid()) + ", 30000)"));
  CAF_CHECK_EQUAL(reconnecting([&] { return retie_jobs(*holder, alive); }), 2);
  CAF_CHECK(claim(2, me).empty());
  CAF_CHECK_EQUAL(retie_jobs(*conn, me), 0);
}

CAF_TEST(a claim whose commit went unanswered is read back) {
  enqueue({12});
  auto token_of = [&] {
    return scalar<std::string>("SELECT claim_token FROM backfill_jobs");
  };
  auto claimed = claim(1, me);
  CAF_REQUIRE_EQUAL(claimed.size(), 1u);
  // The answer was lost, the commit happened: reading back finds the job,
  // still ours, on this session.
  auto again = resolve_claim(*conn, token_of(), me);
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK_EQUAL(again[0].id, claimed[0].id);
  CAF_CHECK_EQUAL(again[0].symbol, "AMD");
  CAF_CHECK_EQUAL(again[0].attempts, 1);
  // Someone else's claim, or one that never committed, reads back empty.
  CAF_CHECK(resolve_claim(*conn, token_of(), other).empty());
  CAF_CHECK(resolve_claim(*conn, "never", me).empty());
}

CAF_TEST(a claim whose commit fails in doubt hands out nothing twice) {
  enqueue({12});
  // The backend dies while committing: the client cannot tell whether the
  // claim committed (pqxx::in_doubt_error). This one did not.
  exec(R"sql(
    CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_terminate_backend(pg_backend_pid());
      PERFORM pg_sleep(5);
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER die_at_commit AFTER UPDATE ON backfill_jobs
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (NEW.state = 'running') EXECUTE FUNCTION die_at_commit();
  )sql");
  auto claimer = connect();
  std::vector<std::string> notes;
  auto token = claim_token(me);
  auto in_doubt = false;
  try {
    claim_jobs(*claimer, 1, me, notes, token);
  } catch (const pqxx::in_doubt_error&) {
    in_doubt = true;
  }
  CAF_CHECK(in_doubt);
  // Read back on a new session, as the job store does: it never committed,
  // so nothing is ours and the job waits for any claimer.
  auto fresh = connect();
  CAF_CHECK(resolve_claim(*fresh, token, me).empty());
  CAF_CHECK_EQUAL(scalar<std::string>("SELECT state FROM backfill_jobs"),
                  "pending");
  exec("DROP TRIGGER die_at_commit ON backfill_jobs");
  CAF_CHECK_EQUAL(claim(1, me).size(), 1u);
}

// -- what counts as having prices ---------------------------------------------

CAF_TEST(old finished jobs are pruned but the newest of each asset stays) {
  exec(R"sql(
    INSERT INTO backfill_jobs (asset_id, kind, state, finished_at) VALUES
      (12, 'backfill', 'done', now() - interval '40 days'),
      (12, 'backfill', 'done', now() - interval '35 days'),
      (12, 'extend', 'done', now() - interval '40 days'),
      (13, 'backfill', 'done', now() - interval '40 days'),
      (13, 'backfill', 'done', now() - interval '1 day'),
      (13, 'backfill', 'failed', now() - interval '40 days');
  )sql");
  queue_settings pruning = me;
  pruning.prune_after = 30 * 24 * 3'600'000ms;
  // The older done rows of 12/backfill and 13/backfill go.
  CAF_CHECK_EQUAL(prune_jobs(*conn, pruning), 2);
  CAF_CHECK_EQUAL(scalar<int>("SELECT count(*) FROM backfill_jobs"), 4);
  CAF_CHECK_EQUAL(prune_jobs(*conn, pruning), 0);
  pruning.prune_after = 0ms;
  exec("UPDATE backfill_jobs SET finished_at = now() - interval '99 days'");
  CAF_CHECK_EQUAL(prune_jobs(*conn, pruning), 0);
}

// -- what the tracker's rows may hold ----------------------------------------

CAF_TEST(a tracker row with null symbol or type still claims) {
  exec("ALTER TABLE assets ALTER COLUMN symbol DROP NOT NULL,"
       " ALTER COLUMN asset_type DROP NOT NULL");
  exec("INSERT INTO assets (id, symbol, asset_type) VALUES (60, NULL, NULL)");
  enqueue({60, 12});
  auto jobs = claim(5, me);
  CAF_REQUIRE_EQUAL(jobs.size(), 2u);
  auto odd = std::find_if(jobs.begin(), jobs.end(),
                          [](const auto& j) { return j.asset == 60; });
  CAF_REQUIRE(odd != jobs.end());
  CAF_CHECK_EQUAL(odd->symbol, "");
  CAF_CHECK_EQUAL(odd->asset_type, "");
}

CAF_TEST_FIXTURE_SCOPE_END()
