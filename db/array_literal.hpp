// Integer arrays as query parameters: libpqxx 6 has no array conversion for
// parameters, so arrays travel as PostgreSQL array literals and the SQL
// casts them (`$1::int[]`).

#pragma once

#include <string>
#include <vector>

namespace backfilld {

/// Formats integers as a PostgreSQL array literal, e.g. "{1,2,3}".
template <class Integer>
std::string array_literal(const std::vector<Integer>& xs) {
  std::string result = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += ',';
    result += std::to_string(xs[i]);
  }
  result += '}';
  return result;
}

} // namespace backfilld
