#define CAF_SUITE base_url
#include <caf/test/unit_test.hpp>

#include "provider/http_client.hpp"

using namespace backfilld;

CAF_TEST(provider base URLs need http or https and a host) {
  for (auto good : {"https://query1.finance.yahoo.com", "http://127.0.0.1:8080",
                    "http://[::1]:9000/prefix", "HTTPS://Example.org"})
    CAF_CHECK_EQUAL(base_url_problem(good), "");
  for (auto bad : {"htp://x", "http://", "https://:443/v8", "query1.yahoo",
                   "http://host:99999", "ftp://example.org", ""}) {
    CAF_MESSAGE(bad);
    CAF_CHECK_NOT_EQUAL(base_url_problem(bad), "");
  }
}
