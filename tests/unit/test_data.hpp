// Reads a fixture from tests/data (BACKFILLD_TEST_DATA is set by CMake).

#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <caf/test/unit_test.hpp>

namespace backfilld::test {

/// The whole file at `path` below tests/data, e.g. "yahoo/aapl_1d.json".
inline std::string test_data(const std::string& path) {
  std::ifstream in{std::string{BACKFILLD_TEST_DATA} + "/" + path};
  CAF_REQUIRE(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace backfilld::test
