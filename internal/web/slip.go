package web

import "github.com/pointsbook/pointsbook/internal/betting"

// betLimits are the bet limits the slip checks a stake against before
// sending it (templates/partials/slip.html, static/slip.js). They are
// the defaults: the server checks the configured ones, and its refusals
// (stake_out_of_limits, payout_over_limit) carry them, which the slip
// then uses instead.
func betLimits() betting.Limits { return betting.DefaultLimits }
