#define CAF_SUITE supervisor
#include "actor_fixture.hpp"

#include <map>
#include <string>

#include "actors/supervisor.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

/// What the fake roles saw, in order, and how often each role was made.
struct stage {
  std::vector<std::string> events;
  std::map<std::string, int> spawns;
  std::map<std::string, caf::actor> current;
};

using stage_ptr = std::shared_ptr<stage>;

tracker_actor::behavior_type fake_tracker(tracker_actor::pointer, stage_ptr s) {
  return {
    [](atom::track, asset_id) {},
    [](atom::track, asset_id, atom::write) {},
    [](atom::track, const std::vector<asset_id>&) {},
    [=](atom::flush) {
      s->events.push_back("tracker flush");
      return int32_t{0};
    },
    [](atom::tick) {},
  };
}

rate_limiter_actor::behavior_type fake_limiter(rate_limiter_actor::pointer,
                                               stage_ptr) {
  return {
    [](atom::acquire) { return atom::grant_v; },
    [](atom::throttle, caf::timespan) {},
    [](atom::tick) {},
  };
}

writer_actor::behavior_type fake_writer(writer_actor::pointer, stage_ptr s) {
  return {
    [](atom::write, const backfill_job&, const price_series&) {
      return write_summary{};
    },
    [=](tracker_actor) { s->events.push_back("writer got tracker"); },
  };
}

dedupe_actor::behavior_type fake_queue(dedupe_actor::pointer, stage_ptr s) {
  return {
    [](const asset_seen&) {},
    [](atom::catch_up) {},
    [](atom::pull, uint32_t, const std::vector<job_id>&) {
      return std::vector<backfill_job>{};
    },
    [](atom::done, const backfill_job&, const write_summary&) {},
    [](atom::failed, const backfill_job&, const job_failure&) {},
    [](atom::release, const std::vector<job_id>&) {},
    [=](atom::drain) {
      s->events.push_back("dedupe drain");
      return int32_t{0};
    },
    [](atom::tick) {},
    [](atom::heartbeat) {},
    [=](tracker_actor) { s->events.push_back("dedupe got tracker"); },
  };
}

fetcher_actor::behavior_type fake_fetcher(fetcher_actor::pointer, stage_ptr s) {
  return {
    [=](dedupe_actor) { s->events.push_back("fetcher got queue"); },
    [=](rate_limiter_actor) { s->events.push_back("fetcher got limiter"); },
    [=](writer_actor) { s->events.push_back("fetcher got writer"); },
    [=](atom::drain) {
      s->events.push_back("fetcher drain");
      return int32_t{0};
    },
    [](atom::tick) {},
  };
}

listener_actor::behavior_type fake_listener(listener_actor::pointer,
                                            stage_ptr s) {
  return {
    [](const pg_notification&) {},
    [](atom::listening, int32_t) {},
    [](atom::lost, const std::string&) {},
    [=](dedupe_actor) { s->events.push_back("listener got queue"); },
  };
}

/// Records how an actor ended.
caf::behavior watcher(caf::event_based_actor* self, caf::actor target,
                      std::shared_ptr<answer<caf::error>> ended) {
  self->monitor(target);
  self->set_down_handler([=](caf::down_msg& dm) {
    ended->value = dm.reason;
    ended->error = caf::make_error(caf::sec::runtime_error, "down");
  });
  return idle_behavior();
}

struct fixture : actor_fixture {
  stage_ptr s = std::make_shared<stage>();
  supervisor_actor sup;
  std::shared_ptr<answer<caf::error>> ended =
    std::make_shared<answer<caf::error>>();

  template <class Handle>
  Handle made(const std::string& role, Handle hdl) {
    ++s->spawns[role];
    s->current[role] = caf::actor_cast<caf::actor>(hdl);
    spawned.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  role_factory fakes() {
    role_factory make;
    make.tracker = [=](caf::actor_system& sys, db_watchdog_actor) {
      return made("tracker", sys.spawn(fake_tracker, s));
    };
    make.rate_limiter = [=](caf::actor_system& sys) {
      return made("rate-limiter", sys.spawn(fake_limiter, s));
    };
    make.writer = [=](caf::actor_system& sys, db_watchdog_actor,
                      tracker_actor) {
      return made("writer", sys.spawn(fake_writer, s));
    };
    make.dedupe = [=](caf::actor_system& sys, db_watchdog_actor,
                      tracker_actor) {
      return made("dedupe", sys.spawn(fake_queue, s));
    };
    make.fetcher = [=](caf::actor_system& sys, dedupe_actor, rate_limiter_actor,
                       writer_actor) {
      return made("fetcher", sys.spawn(fake_fetcher, s));
    };
    make.listener = [=](caf::actor_system& sys, db_watchdog_actor,
                        dedupe_actor) {
      return made("listener", sys.spawn(fake_listener, s));
    };
    return make;
  }

  fixture() {
    supervision_settings settings;
    settings.max_restarts = 2;
    settings.restart_window = 60s;
    settings.restart_delay = 1s;
    settings.shutdown_grace = 5s;
    settings.summary_interval = 3600s;
    sup = start(supervisor, settings, fakes());
    start(watcher, caf::actor_cast<caf::actor>(sup), ended);
    settle();
  }

  void kill(const std::string& role) {
    caf::anon_send_exit(s->current.at(role), caf::exit_reason::kill);
    settle();
  }

  bool saw(const std::string& event) {
    return std::count(s->events.begin(), s->events.end(), event) > 0;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(every role is spawned once) {
  for (auto role :
       {"tracker", "rate-limiter", "writer", "dedupe", "fetcher", "listener"})
    CAF_CHECK_EQUAL(s->spawns[role], 1);
  CAF_CHECK(!ended->arrived());
}

CAF_TEST(a dead role is restarted on its own after the delay) {
  kill("writer");
  CAF_CHECK_EQUAL(s->spawns["writer"], 1);
  wait(1s);
  CAF_CHECK_EQUAL(s->spawns["writer"], 2);
  // Its successor reaches the peer that uses it; nobody else is touched.
  CAF_CHECK(saw("fetcher got writer"));
  for (auto role : {"tracker", "rate-limiter", "dedupe", "fetcher", "listener"})
    CAF_CHECK_EQUAL(s->spawns[role], 1);
}

CAF_TEST(a new tracker reaches the queue and the writer) {
  kill("tracker");
  wait(1s);
  CAF_CHECK_EQUAL(s->spawns["tracker"], 2);
  CAF_CHECK(saw("dedupe got tracker"));
  CAF_CHECK(saw("writer got tracker"));
}

CAF_TEST(a new queue reaches the fetcher and the listener) {
  kill("dedupe");
  wait(1s);
  CAF_CHECK(saw("fetcher got queue"));
  CAF_CHECK(saw("listener got queue"));
}

CAF_TEST(a crash loop stops the supervisor with an error) {
  for (int i = 0; i < 2; ++i) {
    kill("fetcher");
    wait(1s);
  }
  CAF_CHECK_EQUAL(s->spawns["fetcher"], 3);
  CAF_CHECK(!ended->arrived());
  kill("fetcher");
  CAF_REQUIRE(ended->value);
  CAF_CHECK(is(*ended->value, ec::shutting_down));
}

CAF_TEST(restarts spread out in time are no crash loop) {
  for (int i = 0; i < 5; ++i) {
    kill("fetcher");
    wait(1s);
    wait(40s);
  }
  CAF_CHECK_EQUAL(s->spawns["fetcher"], 6);
  CAF_CHECK(!ended->arrived());
}

CAF_TEST(shutdown drains the pipeline in order and ends cleanly) {
  self->send(sup, atom::shutdown_v);
  settle();
  std::vector<std::string> drain_steps;
  for (const auto& e : s->events)
    if (e.find("drain") != std::string::npos ||
        e.find("flush") != std::string::npos)
      drain_steps.push_back(e);
  CAF_CHECK_EQUAL(drain_steps,
                  std::vector<std::string>(
                    {"fetcher drain", "dedupe drain", "tracker flush"}));
  CAF_REQUIRE(ended->value);
  CAF_CHECK(!*ended->value);
  // Nothing was restarted on the way out.
  CAF_CHECK_EQUAL(s->spawns["fetcher"], 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
