// The test runner of a unit test binary (CAF's own framework).
#define CAF_SUITE main
#include <caf/test/unit_test_impl.hpp>
