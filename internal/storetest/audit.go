package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/logtest"
	"github.com/pointsbook/pointsbook/internal/playlimit"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/request"
	"github.com/pointsbook/pointsbook/internal/sport"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// auditCtx is a request from a documentation address, with its place.
func auditCtx() context.Context {
	return request.With(context.Background(), &request.Info{
		ID: "req-audit", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ClientIP: netip.MustParseAddr("198.51.100.23"),
		Geo: &request.Geo{CountryISO: "KR", CountryName: "South Korea", City: "Busan", Lat: 35.1, Lon: 129.04, HasLocation: true},
	})
}

// auditEvents lists every event under f, all pages.
func auditEvents(t testing.TB, db *sqlstore.DB, f audit.Filter) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	for {
		page, next, err := db.AuditEvents(context.Background(), f)
		if err != nil {
			t.Fatalf("AuditEvents(%+v): %v", f, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
}

func testAudit(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	var logBuf logtest.Buffer
	db.SetAuditLog(slog.New(slog.NewJSONHandler(&logBuf, nil)))
	ctx := auditCtx()
	u := mustUser(t, db, 1000)
	op, err := db.CreateUser(ctx, account.NewUser{Username: "auditor", Nickname: "Auditor", Email: "auditor@example.com", PasswordHash: "x", Role: account.Admin,
		Audit: audit.New(ctx, audit.AdminUserCreate, "").ByCLI()})
	if err != nil {
		t.Fatal(err)
	}
	by := func(action, target string) *audit.Event {
		return audit.New(ctx, action, target).By(u.ID, u.Username)
	}
	byOp := func(action, target string) *audit.Event {
		return audit.New(ctx, action, target).By(op.ID, op.Username)
	}

	// Written inside the change, with every field and the store's clock.
	if err := db.ChangePassword(ctx, u.ID, "new-hash", "", by(audit.PasswordChange, "user:"+u.ID)); err != nil {
		t.Fatal(err)
	}
	got := auditEvents(t, db, audit.Filter{Action: audit.PasswordChange})
	if len(got) != 1 {
		t.Fatalf("%d password.change events, want 1", len(got))
	}
	e := got[0]
	if e.Actor != "user:"+u.ID || e.UserID != u.ID || e.Username != u.Username || e.Target != "user:"+u.ID || e.Outcome != audit.Success ||
		e.ClientIP != "198.51.100.23" || e.RequestID != "req-audit" || e.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || !e.At.Equal(c.now()) ||
		!strings.HasPrefix(e.ID, "au_") {
		t.Fatalf("stored event %+v", e)
	}
	if e.Geo == nil || e.Geo.CountryISO != "KR" || e.Geo.City != "Busan" || e.Geo.Lat == nil || *e.Geo.Lat != 35.1 || *e.Geo.Lon != 129.04 {
		t.Fatalf("stored geo %+v", e.Geo)
	}

	// A refused change rolls its event back with it: no row, no line.
	lines := strings.Count(logBuf.String(), "\n")
	refused := []struct {
		name string
		err  error
		code string
	}{
		{"unknown user", db.ChangePassword(ctx, "u_999999", "x", "", by(audit.PasswordChange, "user:u_999999")), "user_not_found"},
		{"mute of a missing user", db.MuteChat(ctx, chat.Mute{UserID: "u_999999", Until: c.now().Add(time.Hour), Reason: "r", By: op.ID, At: c.now(),
			Audit: byOp(audit.AdminChatMute, "user:u_999999")}), "user_not_found"},
		{"delete of a missing message", db.DeleteChat(ctx, "m_999999", 1, byOp(audit.AdminChatDelete, "message:m_999999/1")), "chat_message_not_found"},
	}
	// A refusal after the transaction wrote (the block's row is locked and
	// read first): rolled back all the same.
	if _, err := db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, mustSpan(t, "48h"), by(audit.CoolOffStart, "user:"+u.ID)); err != nil {
		t.Fatal(err)
	}
	_, err = db.StartPlayBlock(ctx, u.ID, playlimit.CoolOff, mustSpan(t, "24h"), by(audit.CoolOffStart, "user:"+u.ID))
	refused = append(refused, struct {
		name string
		err  error
		code string
	}{"shorter block", err, playlimit.CodeBlockActive})
	for _, r := range refused {
		if fault.Code(r.err) != r.code {
			t.Fatalf("%s: %v, want %s", r.name, r.err, r.code)
		}
	}
	if n := len(auditEvents(t, db, audit.Filter{Outcome: audit.Success, Action: audit.CoolOffStart})); n != 1 {
		t.Fatalf("%d cool-off events, want the one that committed", n)
	}
	for _, a := range []string{audit.AdminChatMute, audit.AdminChatDelete} {
		if n := len(auditEvents(t, db, audit.Filter{Action: a})); n != 0 {
			t.Fatalf("a refused %s left %d events", a, n)
		}
	}
	if n := len(auditEvents(t, db, audit.Filter{Action: audit.PasswordChange})); n != 1 {
		t.Fatalf("a refused password change left a row (%d)", n)
	}
	if got := strings.Count(logBuf.String(), "\n") - lines; got != 1 {
		t.Fatalf("%d lines logged for one committed change among refusals", got)
	}
	// The caller records the refusal in its own transaction.
	if err := db.RecordAudit(ctx, by(audit.CoolOffStart, "user:"+u.ID).Failed(err)); err != nil {
		t.Fatal(err)
	}
	if f := auditEvents(t, db, audit.Filter{Outcome: audit.Failure}); len(f) != 1 || f[0].Reason != playlimit.CodeBlockActive {
		t.Fatalf("failures %+v", f)
	}

	// A wrong e-mail code commits its counted attempt, but not the event
	// of a verification that did not happen.
	if err := db.SetEmailCode(ctx, u.ID, "right", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.VerifyEmail(ctx, u.ID, "wrong", 5, by(audit.EmailVerify, "user:"+u.ID)); fault.Code(err) != "invalid_code" {
		t.Fatalf("wrong code: %v", err)
	}
	if err := db.VerifyEmail(ctx, u.ID, "right", 5, by(audit.EmailVerify, "user:"+u.ID)); err != nil {
		t.Fatal(err)
	}
	if n := len(auditEvents(t, db, audit.Filter{Action: audit.EmailVerify})); n != 1 {
		t.Fatalf("%d email.verify events, want 1", n)
	}

	// Every audited write takes its event; the store names the target it
	// creates.
	c.advance(time.Minute)
	m := mustMatch(t, db, c.now().Add(24*time.Hour))
	created, err := db.CreateMatch(ctx, auditMatch(m.KickoffAt, byOp(audit.AdminMatchCreate, "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResult(ctx, created.ID, sport.Outcome{Score: sport.Score{Home: 1, Away: 0, Regulation: sport.Pair{Home: 1, Away: 0}},
		Evidence: sport.Evidence{Source: "operator", Actor: op.Username}}, true, byOp(audit.AdminMatchResult, "match:"+created.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetPlayLimits(ctx, u.ID, playlimit.Update{playlimit.Daily: i64(5000)}, by(audit.LimitChange, "user:"+u.ID)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSlowMode(ctx, created.ID, 30*time.Second, byOp(audit.AdminChatSlowMode, "match:"+created.ID)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, u.ID, "digest-audit", c.now().Add(time.Hour), by(audit.Login, "user:"+u.ID)); err != nil {
		t.Fatal(err)
	}
	key := testKey("user:"+op.ID, "audit-grant", "h")
	grant := func() (*programme.Grant, error) {
		g, _, err := db.Grant(ctx, programme.GrantRequest{AdminID: op.ID, Username: u.Username, Points: 100, Reason: "audit test",
			Idempotency: key, Audit: byOp(audit.AdminGrant, "").Because("audit test")})
		return g, err
	}
	if _, err := grant(); err != nil {
		t.Fatal(err)
	}
	if g, err := grant(); err != nil || g != nil {
		t.Fatalf("grant replay: %+v %v", g, err)
	}
	p, _ := mustPartner(t, db, "audit-air", programme.Rate{Num: 1, Den: 1}, 1_000_000)
	credit := func() bool {
		_, replayed, err := db.CreditPartner(ctx, programme.PartnerCredit{Partner: p, CreditRequest: programme.CreditRequest{PartnerTxID: "tx-1", Username: u.Username, Mileage: 500},
			Audit: audit.New(ctx, audit.PartnerCredit, "").ByPartner(p.ID)})
		if err != nil {
			t.Fatal(err)
		}
		return replayed
	}
	if credit() || !credit() {
		t.Fatal("the second credit of tx-1 was not a replay")
	}
	if err := db.DisablePartner(ctx, p.ID, audit.New(ctx, audit.AdminPartnerOff, "partner:"+p.ID).ByCLI()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ action, actor, target string }{
		{audit.AdminUserCreate, audit.ActorCLI, "user:" + op.ID},
		{audit.AdminMatchCreate, "user:" + op.ID, "match:" + created.ID},
		{audit.AdminMatchResult, "user:" + op.ID, "match:" + created.ID},
		{audit.LimitChange, "user:" + u.ID, "user:" + u.ID},
		{audit.AdminChatSlowMode, "user:" + op.ID, "match:" + created.ID},
		{audit.Login, "user:" + u.ID, "user:" + u.ID},
		{audit.AdminGrant, "user:" + op.ID, "user:" + u.ID},
		{audit.PartnerCredit, "partner:audit-air", "user:" + u.ID},
		{audit.AdminPartnerOff, audit.ActorCLI, "partner:audit-air"},
	} {
		got := auditEvents(t, db, audit.Filter{Action: w.action})
		if len(got) != 1 || got[0].Actor != w.actor || got[0].Target != w.target || got[0].Outcome != audit.Success {
			t.Errorf("%s: %d events (want 1 by %s on %s): %+v", w.action, len(got), w.actor, w.target, got)
		}
	}

	// Each committed event is one log line of the audit dataset.
	for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["event.dataset"] != "pointsbook.audit" || rec["client.ip"] != "198.51.100.23" {
			t.Fatalf("audit line %s: %v", line, err)
		}
	}
	all := auditEvents(t, db, audit.Filter{})
	if n := strings.Count(logBuf.String(), "\n"); n != len(all) {
		t.Fatalf("%d lines logged for %d stored events", n, len(all))
	}
}

// auditMatch is an operator's new match, with ev.
func auditMatch(kickoff time.Time, ev *audit.Event) betting.NewMatch {
	x, _ := betting.NewMarket(betting.OneXTwo, nil, prices(map[string]string{"home": "2.00", "draw": "3.40", "away": "3.80"}))
	return betting.NewMatch{Sport: "football", League: "Audit League", Home: "Audit Home", Away: "Audit Away", KickoffAt: kickoff,
		Markets: []*betting.Market{x}, Audit: ev}
}

func mustSpan(t testing.TB, s string) playlimit.Span {
	t.Helper()
	sp, err := playlimit.ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// testAuditList: the operators' list filters by actor, action (exact or
// a prefix), target, outcome and time, newest first, a page at a time.
func testAuditList(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	ctx := context.Background()
	start := c.now()
	// 30 events, a minute apart: actors a/b alternate, actions cycle
	// through three, every third fails.
	actions := []string{audit.AdminGrant, audit.AdminMatchVoid, audit.Login}
	for i := range 30 {
		e := audit.New(ctx, actions[i%3], fmt.Sprintf("match:m_%d", i%5)).By(fmt.Sprintf("u_%d", i%2+1), "x")
		if i%3 == 2 {
			e = e.Failed(fault.New(fault.Unauthenticated, "invalid_credentials", "no"))
		}
		if err := db.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Minute)
	}
	all := auditEvents(t, db, audit.Filter{Limit: 7})
	if len(all) != 30 {
		t.Fatalf("%d events over pages of 7, want 30", len(all))
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Fatalf("event %s on two pages", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && !e.At.Before(all[i-1].At) {
			t.Fatalf("not newest first at %d: %v after %v", i, e.At, all[i-1].At)
		}
	}
	for _, tt := range []struct {
		name string
		f    audit.Filter
		want int
	}{
		{"actor", audit.Filter{Actor: "user:u_1"}, 15},
		{"action", audit.Filter{Action: audit.AdminGrant}, 10},
		{"action prefix", audit.Filter{Action: "admin.*"}, 20},
		{"prefix of nothing", audit.Filter{Action: "admin.x*"}, 0},
		{"target", audit.Filter{Target: "match:m_0"}, 6},
		{"outcome", audit.Filter{Outcome: audit.Failure}, 10},
		{"from", audit.Filter{From: start.Add(25 * time.Minute)}, 5},
		{"to", audit.Filter{To: start.Add(10 * time.Minute)}, 10},
		{"range", audit.Filter{From: start.Add(10 * time.Minute), To: start.Add(20 * time.Minute)}, 10},
		{"all at once", audit.Filter{Actor: "user:u_1", Action: "login", Outcome: audit.Failure, From: start, To: start.Add(time.Hour)}, 5},
	} {
		got := auditEvents(t, db, func() audit.Filter { f := tt.f; f.Limit = 4; return f }())
		if len(got) != tt.want {
			t.Errorf("%s: %d events, want %d", tt.name, len(got), tt.want)
		}
		for _, e := range got {
			if tt.f.Actor != "" && e.Actor != tt.f.Actor || tt.f.Outcome != "" && e.Outcome != tt.f.Outcome ||
				!tt.f.From.IsZero() && e.At.Before(tt.f.From) || !tt.f.To.IsZero() && !e.At.Before(tt.f.To) {
				t.Errorf("%s: %+v does not match", tt.name, e)
			}
		}
	}
	if _, _, err := db.AuditEvents(ctx, audit.Filter{Cursor: "b_12"}); fault.Code(err) != "invalid_cursor" {
		t.Fatalf("foreign cursor: %v", err)
	}
}
