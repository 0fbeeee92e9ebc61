#define CAF_SUITE supervisor
#include "fakes.hpp"

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

rate_limiter_actor::behavior_type fake_limiter(rate_limiter_actor::pointer,
                                               stage_ptr) {
  return {
    [](atom::acquire, const std::string&) { return atom::grant_v; },
    [](atom::throttle, const std::string&, caf::timespan) {},
    [](atom::cap, double) {},
    [](atom::done, const std::string&) {},
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

fetcher_actor::behavior_type fake_fetcher(fetcher_actor::pointer, stage_ptr s) {
  return {
    [=](job_queue_actor) { s->events.push_back("fetcher got queue"); },
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
    [=](dedupe_actor) { s->events.push_back("listener got dedupe"); },
  };
}

scheduler_actor::behavior_type fake_scheduler(scheduler_actor::pointer,
                                              stage_ptr s) {
  return {
    [=](job_queue_actor) { s->events.push_back("scheduler got queue"); },
    [](atom::tick) {},
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
  /// The logs of the current (latest) fakes of these roles.
  std::shared_ptr<tracker_log> tracker_book;
  std::shared_ptr<queue_script> queue_book;
  std::shared_ptr<dedupe_log> dedupe_book;
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
      tracker_book = std::make_shared<tracker_log>();
      tracker_book->events = &s->events;
      return made("tracker", sys.spawn(fake_tracker, tracker_book));
    };
    make.rate_limiter = [=](caf::actor_system& sys) {
      return made("rate-limiter", sys.spawn(fake_limiter, s));
    };
    make.writer = [=](caf::actor_system& sys, db_watchdog_actor,
                      tracker_actor) {
      return made("writer", sys.spawn(fake_writer, s));
    };
    make.job_queue = [=](caf::actor_system& sys, db_watchdog_actor) {
      queue_book = std::make_shared<queue_script>();
      queue_book->allowed = {"drain"};
      queue_book->events = &s->events;
      return made("job-queue", sys.spawn(fake_job_queue, queue_book));
    };
    make.dedupe = [=](caf::actor_system& sys, db_watchdog_actor, tracker_actor,
                      job_queue_actor) {
      dedupe_book = std::make_shared<dedupe_log>();
      return made("dedupe", sys.spawn(fake_dedupe, dedupe_book));
    };
    make.fetcher = [=](caf::actor_system& sys, job_queue_actor,
                       rate_limiter_actor, writer_actor) {
      return made("fetcher", sys.spawn(fake_fetcher, s));
    };
    make.listener = [=](caf::actor_system& sys, db_watchdog_actor,
                        dedupe_actor) {
      return made("listener", sys.spawn(fake_listener, s));
    };
    make.scheduler = [=](caf::actor_system& sys, db_watchdog_actor,
                         job_queue_actor) {
      return made("scheduler", sys.spawn(fake_scheduler, s));
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
  for (auto r : all_roles)
    CAF_CHECK_EQUAL(s->spawns[to_string(r)], 1);
  CAF_CHECK(!ended->arrived());
}

CAF_TEST(a dead role is restarted on its own after the delay) {
  kill("writer");
  CAF_CHECK_EQUAL(s->spawns["writer"], 1);
  wait(1s);
  CAF_CHECK_EQUAL(s->spawns["writer"], 2);
  // Its successor reaches the peer that uses it; nobody else is touched.
  CAF_CHECK(saw("fetcher got writer"));
  for (auto r : all_roles)
    if (r != role::writer)
      CAF_CHECK_EQUAL(s->spawns[to_string(r)], 1);
}

CAF_TEST(a new tracker reaches dedupe and the writer) {
  kill("tracker");
  wait(1s);
  CAF_CHECK_EQUAL(s->spawns["tracker"], 2);
  CAF_CHECK_EQUAL(dedupe_book->new_trackers, 1);
  CAF_CHECK(saw("writer got tracker"));
}

CAF_TEST(a new job queue reaches dedupe and the fetcher) {
  kill("job-queue");
  wait(1s);
  CAF_CHECK_EQUAL(s->spawns["job-queue"], 2);
  CAF_CHECK(saw("fetcher got queue"));
  CAF_CHECK(saw("scheduler got queue"));
  CAF_CHECK_EQUAL(dedupe_book->new_queues, 1);
}

CAF_TEST(a factory without a scheduler runs without one) {
  auto make = fakes();
  make.scheduler = nullptr;
  auto spawns = s->spawns["scheduler"];
  auto other = start(supervisor, supervision_settings{}, make);
  settle();
  CAF_CHECK_EQUAL(s->spawns["scheduler"], spawns);
  CAF_CHECK_EQUAL(s->spawns["fetcher"], 2);
}

CAF_TEST(a new dedupe actor reaches the listener) {
  kill("dedupe");
  wait(1s);
  CAF_CHECK(saw("listener got dedupe"));
  CAF_CHECK(!saw("fetcher got queue"));
}

CAF_TEST(a restart is a typed message naming the role) {
  kill("writer");
  sched.clock().advance_time(1s);
  expect((atom::restart, role), from(sup).to(sup).with(_, role::writer));
  CAF_CHECK_EQUAL(s->spawns["writer"], 2);
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
                    {"fetcher drain", "job-queue drain", "tracker flush"}));
  CAF_REQUIRE(ended->value);
  CAF_CHECK(!*ended->value);
  // Nothing was restarted on the way out.
  CAF_CHECK_EQUAL(s->spawns["fetcher"], 1);
}

CAF_TEST(a one shot pipeline runs without listener and dedupe) {
  auto make = fakes();
  make.listener = nullptr;
  make.dedupe = nullptr;
  s->spawns.clear();
  s->events.clear();
  supervision_settings settings;
  settings.summary_interval = 3600s;
  auto one_shot = start(supervisor, settings, make);
  auto one_shot_ended = std::make_shared<answer<caf::error>>();
  start(watcher, caf::actor_cast<caf::actor>(one_shot), one_shot_ended);
  settle();
  CAF_CHECK_EQUAL(s->spawns["listener"], 0);
  CAF_CHECK_EQUAL(s->spawns["dedupe"], 0);
  for (auto r : {"tracker", "rate-limiter", "writer", "job-queue", "fetcher"})
    CAF_CHECK_EQUAL(s->spawns[r], 1);
  self->send(one_shot, atom::shutdown_v);
  settle();
  CAF_CHECK(saw("fetcher drain"));
  CAF_CHECK(saw("tracker flush"));
  CAF_REQUIRE(one_shot_ended->value);
  CAF_CHECK(!*one_shot_ended->value);
}

CAF_TEST_FIXTURE_SCOPE_END()
