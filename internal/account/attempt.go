package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/clientip"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/throttle"
)

// Purposes of attempt budgets: each has its own counts, so failed logins
// do not use up code entries and the other way round.
const (
	PurposeLogin     = "login"
	PurposeEmailCode = "email_code"
)

// attemptBudget is how many failed attempts one purpose allows per subject
// (the account) and per client address within a sliding window.
type attemptBudget struct {
	perSubject, perIP int
	window            time.Duration
}

// attemptBudgets: the per-account budget stops guessing one password; the
// per-address budget stops one client from spraying a common password
// over many accounts while staying under each account's budget. 20 per
// address leaves room for a household or an office behind one NAT.
var attemptBudgets = map[string]attemptBudget{
	PurposeLogin:     {perSubject: 5, perIP: 20, window: 15 * time.Minute},
	PurposeEmailCode: {perSubject: 5, perIP: 20, window: 15 * time.Minute},
}

// attempt is one try taken from the budgets by takeAttempt.
type attempt struct {
	a          *Auth
	res        throttle.Result
	subjectKey string
}

// takeAttempt takes one attempt of purpose from the budgets of subject
// and of the client's address. Call it once the input is parsed and
// BEFORE the secret (password, code) is checked; then
//
//   - secret wrong: do nothing more, the attempt stays counted;
//   - secret right: call succeeded;
//   - the secret was never checked (a store error): call release.
//
// subject names the account as the caller gave it (a username as typed, a
// user id); it is compared case-insensitively and only a digest of it is
// stored. An unknown account has a budget like any other, so a refusal
// never tells whether an account exists.
//
// Over budget it returns rate_limited with the wait in seconds as the
// retry_after detail (the HTTP edge turns it into Retry-After), and the
// caller must answer that without checking the secret.
//
// Codes: rate_limited.
func (a *Auth) takeAttempt(ctx context.Context, purpose, subject string, client netip.Addr) (*attempt, error) {
	b, ok := attemptBudgets[purpose]
	if !ok {
		return nil, fmt.Errorf("account: no attempt budget for purpose %q", purpose)
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(subject))))
	subjectKey := purpose + ":subject:" + hex.EncodeToString(sum[:16])
	res, err := a.cfg.Limiter.Take(ctx,
		throttle.Limit{Key: subjectKey, Max: b.perSubject, Window: b.window},
		throttle.Limit{Key: purpose + ":ip:" + clientip.Key(client), Max: b.perIP, Window: b.window},
	)
	if err != nil {
		return nil, fmt.Errorf("account: attempt limiter: %w", err)
	}
	if !res.Allowed {
		secs := waitSeconds(res.RetryAfter)
		return nil, fault.New(fault.RateLimited, "rate_limited", "Too many failed attempts. Please try again in %s.", waitText(secs)).
			With("retry_after", secs)
	}
	return &attempt{a: a, res: res, subjectKey: subjectKey}, nil
}

// succeeded gives the attempt back (successes do not use the budget) and
// clears the subject's count: whoever knows the secret made the earlier
// typos. The address's count stays, or one valid account would let a
// client wipe the count of its guesses at other accounts.
func (t *attempt) succeeded(ctx context.Context) {
	t.release(ctx)
	if err := t.a.cfg.Limiter.Reset(ctx, t.subjectKey); err != nil {
		t.a.log.WarnContext(ctx, "attempt limiter reset", "err", err)
	}
}

// release gives the attempt back without clearing anything.
func (t *attempt) release(ctx context.Context) {
	if err := t.a.cfg.Limiter.Refund(ctx, t.res); err != nil {
		t.a.log.WarnContext(ctx, "attempt limiter refund", "err", err)
	}
}

// waitSeconds rounds a wait up to whole seconds.
func waitSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// waitText is a wait for people: "45 seconds", "1 minute", "15 minutes".
func waitText(secs int) string {
	switch {
	case secs < 60:
		if secs == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", secs)
	case secs < 120:
		return "1 minute"
	default:
		return fmt.Sprintf("%d minutes", (secs+59)/60)
	}
}
