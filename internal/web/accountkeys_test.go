package web

import (
	"testing"

	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// Every key the sign-in, settings and limits templates build from data
// exists, and so does the text of every refusal those pages can show.
func TestAccountPagesDynamicKeys(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for view, dones := range authDone {
		for _, d := range dones {
			keys = append(keys, view+".done."+d)
		}
	}
	for _, d := range settingsDone {
		keys = append(keys, "settings.done."+d)
	}
	for _, d := range limitsDone {
		keys = append(keys, "limits.done."+d)
	}
	for _, p := range playlimit.Periods {
		keys = append(keys, "limits.period."+string(p))
	}
	for _, sp := range append(append([]string{}, coolOffSpans...), excludeSpans...) {
		keys = append(keys, "limits.span."+sp)
	}
	for _, k := range []playlimit.Kind{playlimit.CoolOff, playlimit.SelfExclusion} {
		for _, prefix := range []string{"limits.confirm.title.", "limits.confirm.what.", "limits.confirm.submit.", "limits.block.active."} {
			keys = append(keys, prefix+string(k))
		}
	}
	for _, code := range []string{
		// account.Auth's flows and the store's sign-up refusals
		"invalid_credentials", "rate_limited", "email_not_verified", "username_taken", "nickname_taken", "email_taken",
		"invalid_username", "invalid_nickname", "invalid_email", "weak_password", "invalid_code", "code_expired",
		"resend_too_soon", "email_already_verified", "invalid_reset_token", "wrong_password", "same_password",
		"reauthentication_required", "invalid_time_zone", "invalid_language",
		// the OIDC flow's failures, shown on /login?error=…
		"oidc_denied", "oidc_exchange_failed", "oidc_failed", "oidc_not_configured", "oidc_state_invalid", "oidc_token_invalid", "oidc_unavailable",
		// limits and blocks
		playlimit.CodeInvalidLimit, playlimit.CodeNothingToApply, playlimit.CodeInvalidPeriod, playlimit.CodeInvalidSpan,
		playlimit.CodeInvalidKind, playlimit.CodeBlockActive,
		// this package's own
		"invalid_form", errDeleteUnconfirmed.Code, errBlockUnconfirmed.Code,
	} {
		keys = append(keys, "fault."+code)
	}
	for _, k := range keys {
		if !cat.Has(k) {
			t.Errorf("catalogue lacks %q", k)
		}
	}
}
