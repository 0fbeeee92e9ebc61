// Bad prints: a single bar far off both its neighbours (an intraday 69.98
// among closes of 5,436 pence, a close equal to the last dividend, a day
// quoted in pounds instead of pence). Such a bar is held back before it is
// stored; the rest of the series is stored. Only closes are compared: they
// are what a tracker values a portfolio with.

#pragma once

#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace backfilld {

struct outlier_settings {
  /// Off: every bar is stored as served.
  bool enabled = true;
  /// A close this many times above (or below) both neighbours, whose
  /// neighbours agree with each other within the same factor, is a spike.
  double factor = 3.0;
  /// How far a minor-unit mix-up may be from exactly 100× (relative): with
  /// 0.2, a ratio of 80 to 120 counts as pounds for pence.
  double minor_unit_tolerance = 0.2;
};

/// Whether `currency` is a minor unit as Yahoo names them (pence "GBp" or
/// "GBX", South African cents "ZAc", Israeli agorot "ILA"), where a bar in
/// the major unit is 100 times off.
bool minor_unit_currency(std::string_view currency);

/// The bars of `series` that look like bad prints, each with its reason
/// ("spike", or "minor_unit" for ~100× on a minor-unit currency) and the
/// neighbours' closes as evidence.
///
/// - An inner bar is held when its close is more than `factor` above both
///   neighbours, or more than `factor` below both, and the neighbours agree
///   with each other within `factor` (the price came back); on a minor-unit
///   currency also when it is ~100× off both, whatever `factor` says.
/// - The first and the last bar have one neighbour, and one jump is all a
///   real move needs: they are held only when they are at least ~100× off on
///   a minor-unit currency, and only when their neighbour agrees with the
///   bar beyond it within `factor` (a two-bar series says nothing).
/// - A split among the events on the bar's day, or between its neighbours,
///   explains any jump: such a bar is never held.
///
/// Two bad bars in a row are not caught (each has a bad neighbour).
std::vector<held_bar> find_outliers(const price_series& series,
                                    const outlier_settings& settings);

/// Moves what `find_outliers` finds from `series.bars` to `series.held`;
/// nothing when the check is off. Returns how many bars it held.
size_t hold_outliers(price_series& series, const outlier_settings& settings);

} // namespace backfilld
