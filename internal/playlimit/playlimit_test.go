package playlimit

import (
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%s): %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriodBoundaries(t *testing.T) {
	tests := []struct {
		name, zone string
		p          Period
		at         string
		key        string
		start, end string
	}{
		{"Seoul day, last second", "Asia/Seoul", Daily, "2026-11-24T14:59:59Z", "2026-11-24", "2026-11-23T15:00:00Z", "2026-11-24T15:00:00Z"},
		{"Seoul day, midnight", "Asia/Seoul", Daily, "2026-11-24T15:00:00Z", "2026-11-25", "2026-11-24T15:00:00Z", "2026-11-25T15:00:00Z"},
		{"Seoul week from Tuesday", "Asia/Seoul", Weekly, "2026-11-24T03:00:00Z", "2026-11-23", "2026-11-22T15:00:00Z", "2026-11-29T15:00:00Z"},
		{"Seoul week, Sunday night", "Asia/Seoul", Weekly, "2026-11-29T14:59:59Z", "2026-11-23", "2026-11-22T15:00:00Z", "2026-11-29T15:00:00Z"},
		{"Seoul week, Monday 00:00", "Asia/Seoul", Weekly, "2026-11-29T15:00:00Z", "2026-11-30", "2026-11-29T15:00:00Z", "2026-12-06T15:00:00Z"},
		{"week across a year", "UTC", Weekly, "2027-01-01T12:00:00Z", "2026-12-28", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"},
		{"Seoul month, December", "Asia/Seoul", Monthly, "2026-12-31T14:59:59Z", "2026-12", "2026-11-30T15:00:00Z", "2026-12-31T15:00:00Z"},
		{"Seoul month rolls the year", "Asia/Seoul", Monthly, "2026-12-31T15:00:00Z", "2027-01", "2026-12-31T15:00:00Z", "2027-01-31T15:00:00Z"},
		{"Berlin spring day is 23 h", "Europe/Berlin", Daily, "2026-03-29T12:00:00Z", "2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"Berlin autumn day is 25 h", "Europe/Berlin", Daily, "2026-10-25T12:00:00Z", "2026-10-25", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
		{"Berlin week over the spring change", "Europe/Berlin", Weekly, "2026-03-29T21:00:00Z", "2026-03-23", "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"New York month over the autumn change", "America/New_York", Monthly, "2026-11-15T12:00:00Z", "2026-11", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"},
		// Havana moves its clocks at midnight: 8 March 2026 has no 00:00 and
		// starts at 01:00 CDT (05:00 UTC).
		{"Havana day without a midnight", "America/Havana", Daily, "2026-03-08T12:00:00Z", "2026-03-08", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"},
		{"Havana day before the gap", "America/Havana", Daily, "2026-03-08T04:59:59Z", "2026-03-07", "2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			at := utc(tt.at)
			if got := tt.p.Key(at, loc); got != tt.key {
				t.Errorf("Key = %s, want %s", got, tt.key)
			}
			if got := tt.p.Start(at, loc); !got.Equal(utc(tt.start)) {
				t.Errorf("Start = %s, want %s", got.UTC(), tt.start)
			}
			if got := tt.p.End(at, loc); !got.Equal(utc(tt.end)) {
				t.Errorf("End = %s, want %s", got.UTC(), tt.end)
			}
		})
	}
}

// TestPeriodProperties walks a year in uneven steps through zones with
// daylight saving (including changes at midnight) and checks that every
// instant lies in its period, that the period's key is constant inside it
// and changes at its end, and that keys sort in time order.
func TestPeriodProperties(t *testing.T) {
	for _, zone := range []string{"Asia/Seoul", "Europe/Berlin", "America/New_York", "America/Havana", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"} {
		loc := mustLoc(t, zone)
		for _, p := range Periods {
			prev := ""
			for at := utc("2026-01-01T00:00:00Z"); at.Before(utc("2027-01-10T00:00:00Z")); at = at.Add(97 * time.Minute) {
				s, e := p.Start(at, loc), p.End(at, loc)
				if at.Before(s) || !at.Before(e) {
					t.Fatalf("%s %s: %s not in [%s, %s)", zone, p, at, s, e)
				}
				k := p.Key(at, loc)
				if p.Key(s, loc) != k || p.Key(e.Add(-time.Nanosecond), loc) != k {
					t.Fatalf("%s %s: key not constant over [%s, %s)", zone, p, s, e)
				}
				if p.Key(s.Add(-time.Nanosecond), loc) == k || p.Key(e, loc) == k {
					t.Fatalf("%s %s: key %s does not change at the period's edges", zone, p, k)
				}
				if k < prev {
					t.Fatalf("%s %s: key %s sorts before earlier key %s", zone, p, k, prev)
				}
				prev = k
				if h := e.Sub(s); p == Daily && (h < 22*time.Hour || h > 26*time.Hour) {
					t.Fatalf("%s: day of %s lasts %s", zone, k, h)
				}
			}
		}
	}
}

func TestLocation(t *testing.T) {
	if got := Location("").String(); got != DefaultTimeZone {
		t.Errorf("empty zone = %s", got)
	}
	if got := Location("Not/AZone").String(); got != DefaultTimeZone {
		t.Errorf("unknown zone = %s", got)
	}
	if got := Location("Europe/Berlin").String(); got != "Europe/Berlin" {
		t.Errorf("Berlin = %s", got)
	}
}

func ptr(n int64) *int64 { return &n }

func TestSettingApply(t *testing.T) {
	now := utc("2026-11-24T09:00:00Z")
	later := now.Add(IncreaseDelay)
	earlier := now.Add(-time.Hour)
	tests := []struct {
		name      string
		cur       Setting
		req       *int64
		amount    *int64
		pending   bool
		pendingAt time.Time
		pendingTo *int64
	}{
		{"new limit applies at once", Setting{}, ptr(1000), ptr(1000), false, time.Time{}, nil},
		{"decrease applies at once", Setting{Amount: ptr(1000)}, ptr(500), ptr(500), false, time.Time{}, nil},
		{"increase waits 24 h", Setting{Amount: ptr(1000)}, ptr(2000), ptr(1000), true, later, ptr(2000)},
		{"removal waits 24 h", Setting{Amount: ptr(1000)}, nil, ptr(1000), true, later, nil},
		{"removing nothing changes nothing", Setting{}, nil, nil, false, time.Time{}, nil},
		{"same value cancels a pending increase", Setting{Amount: ptr(1000), Pending: &Pending{Amount: ptr(5000), EffectiveAt: later}}, ptr(1000), ptr(1000), false, time.Time{}, nil},
		{"decrease cancels a pending increase", Setting{Amount: ptr(1000), Pending: &Pending{Amount: ptr(5000), EffectiveAt: later}}, ptr(800), ptr(800), false, time.Time{}, nil},
		{"repeating the pending value keeps its time", Setting{Amount: ptr(1000), Pending: &Pending{Amount: ptr(5000), EffectiveAt: earlier.Add(IncreaseDelay)}}, ptr(5000), ptr(1000), true, earlier.Add(IncreaseDelay), ptr(5000)},
		{"another increase restarts the wait", Setting{Amount: ptr(1000), Pending: &Pending{Amount: ptr(5000), EffectiveAt: earlier.Add(IncreaseDelay)}}, ptr(3000), ptr(1000), true, later, ptr(3000)},
		{"a removal replaces a pending increase", Setting{Amount: ptr(1000), Pending: &Pending{Amount: ptr(5000), EffectiveAt: earlier}}, nil, ptr(1000), true, later, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cur.Apply(tt.req, now)
			if !equal(got.Amount, tt.amount) {
				t.Errorf("Amount = %v, want %v", deref(got.Amount), deref(tt.amount))
			}
			if (got.Pending != nil) != tt.pending {
				t.Fatalf("Pending = %+v, want pending %v", got.Pending, tt.pending)
			}
			if got.Pending != nil && (!got.Pending.EffectiveAt.Equal(tt.pendingAt) || !equal(got.Pending.Amount, tt.pendingTo)) {
				t.Errorf("Pending = %v at %s, want %v at %s", deref(got.Pending.Amount), got.Pending.EffectiveAt, deref(tt.pendingTo), tt.pendingAt)
			}
		})
	}
}

func deref(p *int64) any {
	if p == nil {
		return "none"
	}
	return *p
}

func TestLimitsAt(t *testing.T) {
	at := utc("2026-11-25T09:00:00Z")
	l := Limits{
		Daily:  {Amount: ptr(1000), Pending: &Pending{Amount: ptr(2000), EffectiveAt: at}},
		Weekly: {Amount: ptr(5000), Pending: &Pending{Amount: nil, EffectiveAt: at}},
	}
	before := l.At(at.Add(-time.Nanosecond))
	if *before[Daily].Amount != 1000 || *before[Weekly].Amount != 5000 || before[Monthly].Amount != nil {
		t.Errorf("before: %+v", before)
	}
	after := l.At(at)
	if *after[Daily].Amount != 2000 || after[Weekly].Amount != nil || after[Daily].Pending != nil {
		t.Errorf("at the effective time: daily %v weekly %v", deref(after[Daily].Amount), deref(after[Weekly].Amount))
	}
}

func TestParseUpdate(t *testing.T) {
	tests := []struct {
		body string
		code string
		want Update
	}{
		{`{"daily": 10000}`, "", Update{Daily: ptr(10000)}},
		{`{"daily": null, "weekly": 1, "monthly": 1000000000000}`, "", Update{Daily: nil, Weekly: ptr(1), Monthly: ptr(MaxLimit)}},
		{`{}`, CodeNothingToApply, nil},
		{`{"daily": 0}`, CodeInvalidLimit, nil},
		{`{"daily": -5}`, CodeInvalidLimit, nil},
		{`{"daily": 1.5}`, CodeInvalidLimit, nil},
		{`{"daily": 1000.0}`, CodeInvalidLimit, nil},
		{`{"daily": 1e3}`, CodeInvalidLimit, nil},
		{`{"daily": "1000"}`, CodeInvalidLimit, nil},
		{`{"daily": true}`, CodeInvalidLimit, nil},
		{`{"daily": 1000000000001}`, CodeInvalidLimit, nil},
		{`{"daily": 99999999999999999999999}`, CodeInvalidLimit, nil},
		{`{"yearly": 5}`, "unknown_field", nil},
		{`[1]`, "invalid_json", nil},
		{`null`, "invalid_json", nil},
		{`{"daily": 5} {}`, "invalid_json", nil},
		{`{"daily": 5`, "invalid_json", nil},
		{`{"daily": 100, "daily": 1000000}`, "duplicate_key", nil},
		{"{\"daily\": 100, \"da\\u0000ily\": 5}", "invalid_text", nil},
		{"{\"daily\": 100, \"x\xff\": 5}", "invalid_text", nil},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := ParseUpdate([]byte(tt.body))
			if code := fault.Code(err); code != tt.code {
				t.Fatalf("code = %q (%v), want %q", code, err, tt.code)
			}
			if tt.code != "" {
				if fe, _ := fault.As(err); fe.Kind != fault.Invalid {
					t.Errorf("kind = %v, want Invalid", fe.Kind)
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for p, v := range tt.want {
				g, ok := got[p]
				if !ok || !equal(g, v) {
					t.Errorf("%s = %v, want %v", p, deref(g), deref(v))
				}
			}
		})
	}
}

func FuzzParseUpdate(f *testing.F) {
	for _, s := range []string{`{"daily": 10}`, `{"weekly": null}`, `{"monthly": -1}`, `{"daily": 1e3}`, `{}`, `[`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := ParseUpdate(body)
		if err != nil {
			if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid {
				t.Fatalf("error %v is not an Invalid fault", err)
			}
			return
		}
		if len(u) == 0 {
			t.Fatal("accepted an empty update")
		}
		for p, v := range u {
			if p != Daily && p != Weekly && p != Monthly {
				t.Fatalf("accepted period %q", p)
			}
			if v != nil && (*v < 1 || *v > MaxLimit) {
				t.Fatalf("accepted %s = %d", p, *v)
			}
		}
	})
}

func TestCaps(t *testing.T) {
	tests := []struct {
		name     string
		operator int64
		limits   Limits
		tally    Tally
		stake    int64
		code     string
		period   string
	}{
		{"no caps at all", 0, nil, Tally{Day: 1 << 40}, 50_000, "", ""},
		{"operator cap, exactly reached", 10_000, nil, Tally{Day: 9_000}, 1_000, "", ""},
		{"operator cap, one over", 10_000, nil, Tally{Day: 9_001}, 1_000, CodeDailyCap, "daily"},
		{"own daily below the operator's binds", 10_000, Limits{Daily: {Amount: ptr(5_000)}}, Tally{Day: 4_500}, 600, CodeLimitReached, "daily"},
		{"own daily above the operator's does not", 10_000, Limits{Daily: {Amount: ptr(50_000)}}, Tally{Day: 9_500}, 600, CodeDailyCap, "daily"},
		{"weekly", 0, Limits{Weekly: {Amount: ptr(20_000)}}, Tally{Day: 100, Week: 19_900}, 101, CodeLimitReached, "weekly"},
		{"weekly exactly", 0, Limits{Weekly: {Amount: ptr(20_000)}}, Tally{Day: 100, Week: 19_900}, 100, "", ""},
		{"monthly", 0, Limits{Monthly: {Amount: ptr(20_000)}}, Tally{Month: 20_000}, 1, CodeLimitReached, "monthly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CapsFor(tt.operator, tt.limits)
			ok := c.Allows(tt.tally, tt.stake)
			if ok != (tt.code == "") {
				t.Fatalf("Allows = %v, want %v", ok, tt.code == "")
			}
			if ok {
				return
			}
			fe := c.Refusal(tt.tally, tt.stake)
			if fe.Code != tt.code || fe.Kind != fault.Refused || fe.Details["period"] != tt.period {
				t.Errorf("refusal = %+v", fe)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	good := map[string]Span{"24h": {24, 'h'}, "7d": {7, 'd'}, "6w": {6, 'w'}, "6m": {6, 'm'}, "5y": {5, 'y'}, "100000h": {100000, 'h'}}
	for s, want := range good {
		if got, err := ParseSpan(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseSpan(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "h", "0h", "-1d", "1.5d", "07d", "1s", "24", "1 d", "1D", "100001h", "24hh", "+1d", "9999999d"} {
		if _, err := ParseSpan(s); fault.Code(err) != CodeInvalidSpan {
			t.Errorf("ParseSpan(%q): %v, want %s", s, err, CodeInvalidSpan)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"24h", "6w", "6m", "5y", "0d", "x"} {
		f.Add(s)
	}
	now := utc("2026-11-24T09:00:00Z")
	loc := mustLoc(f, "Asia/Seoul")
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpan(s)
		if err != nil {
			if fault.Code(err) != CodeInvalidSpan {
				t.Fatalf("code %q", fault.Code(err))
			}
			return
		}
		if sp.String() != s {
			t.Fatalf("%q round-trips to %q", s, sp)
		}
		if !sp.End(now, loc).After(now) {
			t.Fatalf("%q ends no later than it starts", s)
		}
		for _, k := range []Kind{CoolOff, SelfExclusion} {
			if b, err := NewBlock(k, sp, now, loc); err == nil && (b.EndsAt.Sub(now) < 24*time.Hour || b.EndsAt.Sub(now) > 5*367*24*time.Hour) {
				t.Fatalf("%s of %q accepted: ends %s", k, s, b.EndsAt)
			}
		}
	})
}

func TestNewBlock(t *testing.T) {
	now := utc("2026-08-31T03:00:00Z") // 31 August, 12:00 in Seoul
	seoul := mustLoc(t, "Asia/Seoul")
	tests := []struct {
		kind Kind
		span string
		ok   bool
		end  string
	}{
		{CoolOff, "24h", true, "2026-09-01T03:00:00Z"},
		{CoolOff, "23h", false, ""},
		{CoolOff, "1d", true, "2026-09-01T03:00:00Z"},
		{CoolOff, "6w", true, "2026-10-12T03:00:00Z"},
		{CoolOff, "42d", true, "2026-10-12T03:00:00Z"},
		{CoolOff, "1009h", false, ""},                 // 6 weeks and an hour
		{CoolOff, "1m", true, "2026-10-01T03:00:00Z"}, // "31 September" is 1 October: 31 days, within 6 weeks
		{CoolOff, "2m", false, ""},
		{SelfExclusion, "6m", true, "2027-03-03T03:00:00Z"},
		{SelfExclusion, "5m", false, ""},
		{SelfExclusion, "26w", false, ""}, // 182 days: short of six calendar months
		{SelfExclusion, "27w", true, "2027-03-08T03:00:00Z"},
		{SelfExclusion, "5y", true, "2031-08-31T03:00:00Z"},
		{SelfExclusion, "60m", true, "2031-08-31T03:00:00Z"},
		{SelfExclusion, "61m", false, ""},
		{SelfExclusion, "6y", false, ""},
		{SelfExclusion, "24h", false, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+" "+tt.span, func(t *testing.T) {
			sp, err := ParseSpan(tt.span)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewBlock(tt.kind, sp, now, seoul)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if fault.Code(err) != CodeInvalidSpan {
					t.Errorf("code = %s", fault.Code(err))
				}
				return
			}
			if !b.EndsAt.Equal(utc(tt.end)) || b.Kind != tt.kind || !b.StartedAt.Equal(now) {
				t.Errorf("block = %+v, want end %s", b, tt.end)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	now := utc("2026-11-24T09:00:00Z")
	cur := &Block{Kind: CoolOff, StartedAt: now.Add(-time.Hour), EndsAt: now.Add(48 * time.Hour)}
	if err := Replace(nil, cur, now); err != nil {
		t.Errorf("no block: %v", err)
	}
	if err := Replace(cur, &Block{Kind: CoolOff, EndsAt: now.Add(47 * time.Hour)}, now); fault.Code(err) != CodeBlockActive {
		t.Errorf("shorter: %v", err)
	}
	if err := Replace(cur, &Block{Kind: CoolOff, EndsAt: cur.EndsAt}, now); fault.Code(err) != CodeBlockActive {
		t.Errorf("same end: %v", err)
	}
	if err := Replace(cur, &Block{Kind: SelfExclusion, EndsAt: now.Add(200 * 24 * time.Hour)}, now); err != nil {
		t.Errorf("longer: %v", err)
	}
	if err := Replace(cur, &Block{Kind: CoolOff, EndsAt: now.Add(25 * time.Hour)}, cur.EndsAt); err != nil {
		t.Errorf("after the block ended: %v", err)
	}
	if !cur.Active(cur.EndsAt.Add(-time.Nanosecond)) || cur.Active(cur.EndsAt) {
		t.Error("Active at the edges")
	}
	if fe := Blocked(SelfExclusion, now); fe.Code != CodeSelfExcluded || fe.Kind != fault.Refused {
		t.Errorf("Blocked = %+v", fe)
	}
}

func TestParseRange(t *testing.T) {
	now := utc("2026-11-24T09:00:00Z")
	seoul := mustLoc(t, "Asia/Seoul")
	tests := []struct {
		from, to string
		ok       bool
		wf, wt   string
	}{
		{"", "", true, "2026-10-25T09:00:00Z", "2026-11-24T09:00:00Z"},
		{"2026-11-01", "2026-11-30", true, "2026-10-31T15:00:00Z", "2026-11-30T15:00:00Z"},
		{"2026-11-24", "2026-11-24", true, "2026-11-23T15:00:00Z", "2026-11-24T15:00:00Z"},
		{"2026-11-01T00:00:00Z", "2026-11-02T00:00:00+09:00", true, "2026-11-01T00:00:00Z", "2026-11-01T15:00:00Z"},
		{"2025-11-24", "2026-11-24", true, "2025-11-23T15:00:00Z", "2026-11-24T15:00:00Z"},
		{"2024-01-01", "2025-12-31", false, "", ""},
		{"2026-11-25", "2026-11-24", false, "", ""},
		{"2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z", false, "", ""},
		{"yesterday", "", false, "", ""},
		{"2026-13-01", "", false, "", ""},
		{"", "2026-11-24T10:00:00", false, "", ""},
		{"1999-12-31", "2000-01-02", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.from+"_"+tt.to, func(t *testing.T) {
			r, err := ParseRange(tt.from, tt.to, now, seoul)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if fault.Code(err) != CodeInvalidPeriod {
					t.Errorf("code = %s", fault.Code(err))
				}
				return
			}
			if !r.From.Equal(utc(tt.wf)) || !r.To.Equal(utc(tt.wt)) {
				t.Errorf("range = %s – %s, want %s – %s", r.From, r.To, tt.wf, tt.wt)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	f.Add("2026-11-01", "2026-11-30")
	f.Add("2026-11-01T00:00:00Z", "")
	f.Add("", "2026-02-30")
	now := utc("2026-11-24T09:00:00Z")
	loc := mustLoc(f, "America/Havana")
	f.Fuzz(func(t *testing.T, from, to string) {
		r, err := ParseRange(from, to, now, loc)
		if err != nil {
			if fault.Code(err) != CodeInvalidPeriod {
				t.Fatalf("code %q", fault.Code(err))
			}
			return
		}
		if !r.From.Before(r.To) || r.To.Sub(r.From) > MaxStatementSpan {
			t.Fatalf("accepted %s – %s", r.From, r.To)
		}
	})
}
