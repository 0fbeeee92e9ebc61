#define CAF_SUITE progress
#include <caf/test/unit_test.hpp>

#include "app/progress.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

CAF_TEST(durations read as people say them) {
  CAF_CHECK_EQUAL(human_duration(0s), "0s");
  CAF_CHECK_EQUAL(human_duration(45s), "45s");
  CAF_CHECK_EQUAL(human_duration(185s), "3m05s");
  CAF_CHECK_EQUAL(human_duration(7380s), "2h03m");
  CAF_CHECK_EQUAL(human_duration(-3s), "0s");
}

CAF_TEST(the text shows done and total and rows when known and rate and eta) {
  CAF_CHECK_EQUAL(progress_text({0, 10, 0}, 2000ms),
                  "0/10 jobs, 0.0 jobs/s, ETA ?");
  // 4 in 8 s: 0.5 a second, 6 left take 12 s.
  CAF_CHECK_EQUAL(progress_text({4, 10, 1234}, 8000ms),
                  "4/10 jobs, 1234 rows, 0.5 jobs/s, ETA 12s");
  CAF_CHECK_EQUAL(progress_text({9000, 10000, 0}, 300'000ms),
                  "9000/10000 jobs, 30 jobs/s, ETA 33s");
  CAF_CHECK_EQUAL(progress_text({1, 1, 251}, 0ms),
                  "1/1 jobs, 251 rows, 0.0 jobs/s, ETA 0s");
}

CAF_TEST(on a terminal one line is rewritten in place) {
  progress_meter meter{"backfill AMD", true, 10'000ms, 200ms};
  auto first = meter.update({0, 2, 0}, 0ms);
  CAF_CHECK_EQUAL(first, "\rbackfill AMD: 0/2 jobs, 0.0 jobs/s, ETA ?\x1b[K");
  // Not again within the redraw period, nor when nothing changed.
  CAF_CHECK_EQUAL(meter.update({1, 2, 0}, 100ms), "");
  CAF_CHECK_EQUAL(meter.update({1, 2, 0}, 1000ms).substr(0, 21),
                  "\rbackfill AMD: 1/2 jo");
  CAF_CHECK_EQUAL(meter.update({1, 2, 0}, 1000ms), "");
  auto last = meter.finish({2, 2, 500}, 2000ms);
  CAF_CHECK_EQUAL(last, "\rbackfill AMD: 2/2 jobs, 500 rows in 2s\x1b[K\n");
}

CAF_TEST(elsewhere a plain line comes every period) {
  progress_meter meter{"refresh", false, 10'000ms};
  CAF_CHECK_EQUAL(meter.update({0, 5, 0}, 0ms), "");
  CAF_CHECK_EQUAL(meter.update({1, 5, 0}, 9'999ms), "");
  CAF_CHECK_EQUAL(meter.update({2, 5, 0}, 10'000ms),
                  "refresh: 2/5 jobs, 0.2 jobs/s, ETA 15s\n");
  CAF_CHECK_EQUAL(meter.update({3, 5, 0}, 15'000ms), "");
  // Also unchanged: a log shows that it is still waiting.
  CAF_CHECK_EQUAL(meter.update({3, 5, 0}, 20'000ms),
                  "refresh: 3/5 jobs, 0.1 jobs/s, ETA 13s\n");
  auto last = meter.finish({5, 5, 0}, 21'000ms);
  CAF_CHECK_EQUAL(last, "refresh: 5/5 jobs in 21s\n");
  CAF_CHECK_EQUAL(last.find('\r'), std::string::npos);
  CAF_CHECK_EQUAL(last.find('\x1b'), std::string::npos);
}
