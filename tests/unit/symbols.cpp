#define CAF_SUITE symbols
#include <caf/test/unit_test.hpp>

#include "provider/symbols.hpp"

using namespace backfilld;

namespace {

std::string ticker(std::string_view type, std::string_view symbol) {
  std::string out;
  if (auto f = yahoo_symbol(type, symbol, out))
    return "error: " + std::string{to_string(f.code)};
  return out;
}

} // namespace

CAF_TEST(market instruments keep their symbol) {
  CAF_CHECK_EQUAL(ticker("stock", "AMD"), "AMD");
  CAF_CHECK_EQUAL(ticker("etf", "VWCE.DE"), "VWCE.DE");
  CAF_CHECK_EQUAL(ticker("mutual_fund", "VFIAX"), "VFIAX");
  CAF_CHECK_EQUAL(ticker("index", "^GSPC"), "^GSPC");
  CAF_CHECK_EQUAL(ticker("stock", "BRK-B"), "BRK-B");
  CAF_CHECK_EQUAL(ticker("stock", "vod.l"), "VOD.L");
  CAF_CHECK_EQUAL(ticker("Stock", "M&M.NS"), "M&M.NS");
}

CAF_TEST(crypto gets a USD pair unless it has one) {
  CAF_CHECK_EQUAL(ticker("crypto", "BTC"), "BTC-USD");
  CAF_CHECK_EQUAL(ticker("crypto", "eth"), "ETH-USD");
  CAF_CHECK_EQUAL(ticker("crypto", "BTC-EUR"), "BTC-EUR");
}

CAF_TEST(currency pairs get the =X suffix) {
  CAF_CHECK_EQUAL(ticker("currency", "EURUSD"), "EURUSD=X");
  CAF_CHECK_EQUAL(ticker("fx", "EUR/USD"), "EURUSD=X");
  CAF_CHECK_EQUAL(ticker("fx", "GBPUSD=X"), "GBPUSD=X");
}

CAF_TEST(cash and custom assets have no market price) {
  CAF_CHECK_EQUAL(ticker("cash", "EUR"), "error: no_market_price");
  CAF_CHECK_EQUAL(ticker("custom", "HOUSE"), "error: no_market_price");
  CAF_CHECK(!has_market_price("CASH"));
  CAF_CHECK(has_market_price("stock"));
}

CAF_TEST(only ticker characters reach a URL) {
  CAF_CHECK_EQUAL(ticker("stock", "'); DROP TABLE assets;--"),
                  "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", "AMD/../x"), "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", "A B"), "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", "AMD?range=max"), "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", ""), "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", std::string(33, 'A')),
                  "error: invalid_symbol");
  CAF_CHECK_EQUAL(ticker("stock", "\xc3\xa9"), "error: invalid_symbol");
}
