package programme

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestTopupAmount(t *testing.T) {
	r := DefaultRules
	now := at("2026-11-24T09:00:00Z")
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		name    string
		balance int64
		last    *time.Time
		amount  int64
		reason  string
	}{
		{"never topped up, below target", 1200, nil, 48800, ""},
		{"empty wallet", 0, nil, 50000, ""},
		{"one point short", 49999, nil, 1, ""},
		{"at target", 50000, nil, 0, "at_target"},
		{"above target", 120000, nil, 0, "balance_too_high"},
		{"debt is covered", -700, nil, 50700, ""},
		{"within the interval", 100, ago(23*time.Hour + 59*time.Minute), 0, "too_soon"},
		{"exactly the interval", 100, ago(24 * time.Hour), 49900, ""},
		{"long ago", 100, ago(30 * 24 * time.Hour), 49900, ""},
		{"too soon wins over too high", 60000, ago(time.Hour), 0, "too_soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amount, next, err := r.TopupAmount(tt.balance, tt.last, now)
			if tt.reason == "" {
				if err != nil || amount != tt.amount || !next.Equal(now.Add(24*time.Hour)) {
					t.Fatalf("= %d, %v, %v; want %d", amount, next, err, tt.amount)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Code != "topup_not_allowed" || fe.Details["reason"] != tt.reason || fe.Kind != fault.Refused || amount != 0 {
				t.Fatalf("= %d, %v; want refusal %s", amount, err, tt.reason)
			}
			if tt.reason == "too_soon" && !fe.Details["next_allowed_at"].(time.Time).Equal(tt.last.Add(24*time.Hour)) {
				t.Fatalf("next_allowed_at = %v", fe.Details["next_allowed_at"])
			}
		})
	}
}

func TestCheckin(t *testing.T) {
	r := DefaultRules
	next := at("2026-11-25T15:00:00Z")
	tests := []struct {
		name   string
		last   Day
		streak int
		today  Day
		want   int
		points int64
		code   string
	}{
		{"first ever", "", 0, "2026-11-24", 1, 500, ""},
		{"consecutive", "2026-11-23", 1, "2026-11-24", 2, 750, ""},
		{"day 7", "2026-11-23", 6, "2026-11-24", 7, 2000, ""},
		{"day 8 is capped", "2026-11-23", 7, "2026-11-24", 8, 2000, ""},
		{"day 100 is capped", "2026-11-23", 99, "2026-11-24", 100, 2000, ""},
		{"gap restarts", "2026-11-22", 5, "2026-11-24", 1, 500, ""},
		{"across a month", "2026-11-30", 3, "2026-12-01", 4, 1250, ""},
		{"across a year", "2026-12-31", 1, "2027-01-01", 2, 750, ""},
		{"leap day", "2028-02-28", 1, "2028-02-29", 2, 750, ""},
		{"same day", "2026-11-24", 2, "2026-11-24", 2, 0, "already_checked_in"},
		{"moved west, still yesterday", "2026-11-25", 2, "2026-11-24", 2, 0, "already_checked_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p, err := r.Checkin(tt.last, tt.streak, tt.today, next)
			if fault.Code(err) != tt.code || s != tt.want || p != tt.points {
				t.Fatalf("= %d, %d, %v; want %d, %d, %q", s, p, err, tt.want, tt.points, tt.code)
			}
		})
	}
	custom := Rules{CheckinBase: 10, CheckinStep: 0, CheckinCapDay: 1}
	if b := custom.CheckinBonus(5); b != 10 {
		t.Fatalf("flat bonus = %d", b)
	}
}

func TestCheckinStatus(t *testing.T) {
	r := DefaultRules
	for _, tt := range []struct {
		name            string
		last            Day
		streak          int
		done            bool
		cur, nextStreak int
		bonus           int64
	}{
		{"never", "", 0, false, 0, 1, 500},
		{"yesterday", "2026-11-23", 3, false, 3, 4, 1250},
		{"today", "2026-11-24", 3, true, 3, 4, 1250},
		{"lapsed", "2026-11-20", 3, false, 0, 1, 500},
	} {
		s := r.Status(tt.last, tt.streak, "2026-11-24", "Asia/Seoul", time.Time{})
		if s.CheckedInToday != tt.done || s.Streak != tt.cur || s.NextStreak != tt.nextStreak || s.NextBonus != tt.bonus {
			t.Errorf("%s: %+v", tt.name, s)
		}
	}
}

func TestDays(t *testing.T) {
	seoul, la := Location("Asia/Seoul"), Location("America/Los_Angeles")
	tests := []struct {
		t    string
		loc  *time.Location
		day  Day
		next string
	}{
		{"2026-11-24T14:59:59Z", seoul, "2026-11-24", "2026-11-24T15:00:00Z"},
		{"2026-11-24T15:00:00Z", seoul, "2026-11-25", "2026-11-25T15:00:00Z"},
		{"2026-11-24T07:59:59Z", la, "2026-11-23", "2026-11-24T08:00:00Z"},
		// The day DST ends in Los Angeles has 25 hours.
		{"2026-11-01T12:00:00Z", la, "2026-11-01", "2026-11-02T08:00:00Z"},
	}
	for _, tt := range tests {
		if d := DayIn(at(tt.t), tt.loc); d != tt.day {
			t.Errorf("DayIn(%s, %s) = %s, want %s", tt.t, tt.loc, d, tt.day)
		}
		if n := NextDayStart(at(tt.t), tt.loc); !n.Equal(at(tt.next)) {
			t.Errorf("NextDayStart(%s, %s) = %s, want %s", tt.t, tt.loc, n, tt.next)
		}
	}
	if Location("").String() != "Asia/Seoul" || Location("Mars/Olympus").String() != "Asia/Seoul" {
		t.Fatal("an empty or unknown zone must fall back to Asia/Seoul")
	}
}

func TestRules(t *testing.T) {
	if err := DefaultRules.Check(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Rules{
		"no target":        {TopupTarget: 0, TopupInterval: time.Hour, CheckinBase: 1, CheckinCapDay: 7, GrantMax: 1},
		"tiny interval":    {TopupTarget: 1, TopupInterval: time.Second, CheckinBase: 1, CheckinCapDay: 7, GrantMax: 1},
		"no base":          {TopupTarget: 1, TopupInterval: time.Hour, CheckinBase: 0, CheckinCapDay: 7, GrantMax: 1},
		"negative step":    {TopupTarget: 1, TopupInterval: time.Hour, CheckinBase: 1, CheckinStep: -1, CheckinCapDay: 7, GrantMax: 1},
		"huge bonus":       {TopupTarget: 1, TopupInterval: time.Hour, CheckinBase: 1 << 30, CheckinStep: 1, CheckinCapDay: 7, GrantMax: 1},
		"no cap day":       {TopupTarget: 1, TopupInterval: time.Hour, CheckinBase: 1, CheckinCapDay: 0, GrantMax: 1},
		"no grant maximum": {TopupTarget: 1, TopupInterval: time.Hour, CheckinBase: 1, CheckinCapDay: 7, GrantMax: 0},
	} {
		if r.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGrantCheck(t *testing.T) {
	r := DefaultRules
	long := string(bytes.Repeat([]byte("x"), MaxReason+1))
	for _, tt := range []struct {
		name string
		g    GrantRequest
		code string
	}{
		{"ok", GrantRequest{Username: "kim", Points: 100, Reason: "outage"}, ""},
		{"max", GrantRequest{Username: "kim", Points: r.GrantMax, Reason: "outage"}, ""},
		{"no reason", GrantRequest{Username: "kim", Points: 100, Reason: "   "}, "reason_required"},
		{"long reason", GrantRequest{Username: "kim", Points: 100, Reason: long}, "reason_required"},
		{"zero", GrantRequest{Username: "kim", Points: 0, Reason: "x"}, "invalid_points"},
		{"negative", GrantRequest{Username: "kim", Points: -5, Reason: "x"}, "invalid_points"},
		{"over max", GrantRequest{Username: "kim", Points: r.GrantMax + 1, Reason: "x"}, "invalid_points"},
		{"no username", GrantRequest{Points: 1, Reason: "x"}, "invalid_username"},
	} {
		if got := fault.Code(tt.g.Check(r)); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.code)
		}
	}
}

func TestRate(t *testing.T) {
	for _, tt := range []struct {
		in      string
		num     int64
		den     int64
		mileage int64
		points  int64
		code    string
	}{
		{"1/2", 1, 2, 1200, 600, ""},
		{"1/2", 1, 2, 1201, 600, ""}, // floor
		{"3/7", 3, 7, 100, 42, ""},   // 42.857… → 42
		{"5", 5, 1, 10, 50, ""},
		{" 2/3 ", 2, 3, 1, 0, "mileage_too_small"},
		{"1000000/1", 1000000, 1, MaxMileage, MaxMileage * 1000000, ""},
		{"1/2", 1, 2, 0, 0, "invalid_mileage"},
		{"1/2", 1, 2, -10, 0, "invalid_mileage"},
		{"1/2", 1, 2, MaxMileage + 1, 0, "invalid_mileage"},
	} {
		r, err := ParseRate(tt.in)
		if err != nil || r.Num != tt.num || r.Den != tt.den {
			t.Fatalf("ParseRate(%q) = %v, %v", tt.in, r, err)
		}
		p, err := r.Points(tt.mileage)
		if fault.Code(err) != tt.code || p != tt.points {
			t.Errorf("%s × %d = %d, %v; want %d %q", tt.in, tt.mileage, p, err, tt.points, tt.code)
		}
	}
	for _, bad := range []string{"", "0", "0/1", "1/0", "-1/2", "1/-2", "0.5", "1/2/3", "1000001/1", "1/1000001", "a/b", "1e3"} {
		if _, err := ParseRate(bad); fault.Code(err) != "invalid_rate" {
			t.Errorf("ParseRate(%q) = %v, want invalid_rate", bad, err)
		}
	}
}

func TestCreditRequestCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    CreditRequest
		code string
	}{
		{"ok", CreditRequest{"acme-000123", "kim", 1200}, ""},
		{"no tx id", CreditRequest{"", "kim", 1200}, "invalid_partner_tx_id"},
		{"space in tx id", CreditRequest{"acme 1", "kim", 1200}, "invalid_partner_tx_id"},
		{"long tx id", CreditRequest{string(bytes.Repeat([]byte("a"), 65)), "kim", 1200}, "invalid_partner_tx_id"},
		{"no username", CreditRequest{"a", "", 1200}, "invalid_username"},
		{"zero mileage", CreditRequest{"a", "kim", 0}, "invalid_mileage"},
		{"negative mileage", CreditRequest{"a", "kim", -1}, "invalid_mileage"},
		{"absurd mileage", CreditRequest{"a", "kim", MaxMileage + 1}, "invalid_mileage"},
	} {
		if got := fault.Code(tt.c.Check()); got != tt.code {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.code)
		}
	}
}

func TestSignature(t *testing.T) {
	secret := []byte("s3cr3t")
	body := []byte(`{"partner_tx_id":"acme-000123","username":"kim","mileage":1200}`)
	now := time.Unix(1764000000, 0)
	good := hex.EncodeToString(Sign(secret, 1764000000, body))
	tests := []struct {
		name            string
		id, ts, sig     string
		body            []byte
		parse, fresh, v string
	}{
		{"good", "acme", "1764000000", good, body, "", "", ""},
		{"upper-case hex", "acme", "1764000000", upper(good), body, "", "", ""},
		{"no id", "", "1764000000", good, body, "signature_required", "", ""},
		{"no timestamp", "acme", "", good, body, "signature_required", "", ""},
		{"no signature", "acme", "1764000000", "", body, "signature_required", "", ""},
		{"bad id", "ACME", "1764000000", good, body, "unknown_partner", "", ""},
		{"timestamp in ms", "acme", "1764000000000", good, body, "invalid_signature", "", ""},
		{"negative timestamp", "acme", "-1764000000", good, body, "invalid_signature", "", ""},
		{"leading zero", "acme", "01764000000", good, body, "invalid_signature", "", ""},
		{"fractional", "acme", "1764000000.5", good, body, "invalid_signature", "", ""},
		{"short signature", "acme", "1764000000", good[:63], body, "invalid_signature", "", ""},
		{"not hex", "acme", "1764000000", "zz" + good[2:], body, "invalid_signature", "", ""},
		{"5 min old", "acme", "1763999700", good, body, "", "", "invalid_signature"},
		{"5 min 1 s old", "acme", "1763999699", good, body, "", "stale_timestamp", ""},
		{"5 min 1 s ahead", "acme", "1764000301", good, body, "", "stale_timestamp", ""},
		{"body changed", "acme", "1764000000", good, []byte(`{"partner_tx_id":"acme-000123","username":"kim","mileage":12000}`), "", "", "invalid_signature"},
		{"other secret", "acme", "1764000000", hex.EncodeToString(Sign([]byte("other"), 1764000000, body)), body, "", "", "invalid_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSignature(tt.id, tt.ts, tt.sig)
			if fault.Code(err) != tt.parse {
				t.Fatalf("parse: %v, want %q", err, tt.parse)
			}
			if err != nil {
				if fe, _ := fault.As(err); fe.Kind != fault.Unauthenticated {
					t.Fatalf("kind %v, want Unauthenticated (401)", fe.Kind)
				}
				return
			}
			if got := fault.Code(s.Fresh(now)); got != tt.fresh {
				t.Fatalf("fresh: %q, want %q", got, tt.fresh)
			}
			if tt.fresh != "" {
				return
			}
			if got := fault.Code(s.Verify(secret, tt.body)); got != tt.v {
				t.Fatalf("verify: %q, want %q", got, tt.v)
			}
		})
	}
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }

func TestSealer(t *testing.T) {
	key, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSealer(key)
	sealed := s.Seal("acme", []byte("the secret"))
	if bytes.Contains(sealed, []byte("the secret")) {
		t.Fatal("sealed data contains the secret")
	}
	if got, err := s.Open("acme", sealed); err != nil || string(got) != "the secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("other", sealed); err == nil {
		t.Fatal("a sealed secret opened for another partner")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open("acme", tampered); err == nil {
		t.Fatal("tampered data opened")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if _, err := other.Open("acme", sealed); err == nil {
		t.Fatal("opened with another key")
	}
	if _, err := s.Open("acme", sealed[:5]); err == nil {
		t.Fatal("short data opened")
	}
	if bytes.Equal(s.Seal("acme", []byte("x"))[:12], s.Seal("acme", []byte("x"))[:12]) {
		t.Fatal("two seals share a nonce")
	}
	for _, bad := range []string{"", "abc", NewKey()[:62], "!!"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="); err != nil {
		t.Errorf("base64 key: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

// FuzzParseSignature: whatever the headers, parsing never panics, errors
// are 401 faults, and a parse that succeeds verifies only the exact HMAC.
func FuzzParseSignature(f *testing.F) {
	secret := []byte("fuzz-secret")
	body := []byte(`{"partner_tx_id":"a","username":"kim","mileage":1}`)
	f.Add("acme", "1764000000", hex.EncodeToString(Sign(secret, 1764000000, body)))
	f.Add("", "", "")
	f.Add("acme", "0", "00")
	f.Add("a-b", "999999999999", string(bytes.Repeat([]byte("f"), 64)))
	f.Add("acme", "١٧٦٤", "x")
	f.Fuzz(func(t *testing.T, id, ts, sig string) {
		s, err := ParseSignature(id, ts, sig)
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Unauthenticated {
				t.Fatalf("error %v is not a 401 fault", err)
			}
			return
		}
		if s.PartnerID != id || len(s.Signature) != 32 || s.Timestamp <= 0 {
			t.Fatalf("parsed %+v from %q %q %q", s, id, ts, sig)
		}
		_ = s.Fresh(time.Unix(1764000000, 0))
		want := Sign(secret, s.Timestamp, body)
		if (s.Verify(secret, body) == nil) != bytes.Equal(want, s.Signature) {
			t.Fatal("Verify disagrees with the HMAC")
		}
	})
}

// FuzzParseRate: a parsed rate is always in range, and conversion never
// overflows or goes negative.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1/2", "5", "1000000/1", "0/0", "-1/2", "9223372036854775807/1"} {
		f.Add(s, int64(1200))
	}
	f.Fuzz(func(t *testing.T, s string, mileage int64) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r.Check() != nil {
			t.Fatalf("ParseRate(%q) = %v out of range", s, r)
		}
		p, err := r.Points(mileage)
		if err == nil && (p < 1 || p > mileage*r.Num) {
			t.Fatalf("%v × %d = %d", r, mileage, p)
		}
	})
}
