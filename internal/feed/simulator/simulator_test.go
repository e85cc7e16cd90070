package simulator

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/odds/oddstest"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/clocktest"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

var day = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB, seed int64, speed float64, at time.Time) (*Simulator, *clocktest.Clock) {
	t.Helper()
	c := clocktest.New(at)
	s, err := New(Config{Seed: seed, Speed: speed, Now: c.Now, Margin: odds.DefaultMargin})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func fixtures(t testing.TB, s *Simulator, d time.Time, loc *time.Location) []feed.Fixture {
	t.Helper()
	fs, err := s.Fixtures(context.Background(), d, loc)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	at := day.Add(13*time.Hour + 7*time.Minute)
	a, _ := newSim(t, 42, 1, at)
	b, _ := newSim(t, 42, 1, at)
	kst, _ := time.LoadLocation("Asia/Seoul")
	fa, fb := fixtures(t, a, at, kst), fixtures(t, b, at, kst)
	if len(fa) == 0 || !reflect.DeepEqual(fa, fb) {
		t.Fatalf("same seed and clock disagree (%d and %d fixtures)", len(fa), len(fb))
	}
	ha, err := a.History(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := b.History(context.Background(), at)
	if !reflect.DeepEqual(ha, hb) {
		t.Fatal("same seed, different history")
	}
	// Match agrees with Fixtures, and asking in another order or zone
	// changes nothing.
	for _, i := range []int{0, len(fa) / 2, len(fa) - 1} {
		m, err := b.Match(context.Background(), fa[i].Ref)
		if err != nil || !reflect.DeepEqual(*m, fa[i]) {
			t.Fatalf("Match(%s) = %+v, %v; want %+v", fa[i].Ref, m, err, fa[i])
		}
	}
	utc := append(fixtures(t, b, at.AddDate(0, 0, -1), time.UTC), fixtures(t, b, at, time.UTC)...)
	byRef := map[string]feed.Fixture{}
	for _, f := range utc {
		byRef[f.Ref] = f
	}
	for _, f := range fa {
		if g, ok := byRef[f.Ref]; ok && !reflect.DeepEqual(f, g) {
			t.Fatalf("%s differs between zones", f.Ref)
		}
	}
	// Another seed is another world.
	c, _ := newSim(t, 43, 1, at)
	fc := fixtures(t, c, at, kst)
	same := 0
	for i := range fc {
		if reflect.DeepEqual(fc[i].Ratings, fa[i].Ratings) && reflect.DeepEqual(fc[i].Score, fa[i].Score) {
			same++
		}
	}
	if same > len(fc)/10 {
		t.Fatalf("seed 43 repeats %d of %d matches of seed 42", same, len(fc))
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{Speed: -1}, {Speed: math.NaN()}, {Margin: -0.01}, {Margin: 0.6}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	// An operator's 0% margin is honoured, not replaced by the default.
	s, err := New(Config{Seed: 1, Now: clocktest.New(day).Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures(t, s, day.AddDate(0, 0, 1), time.UTC)[:20] {
		for _, m := range f.Markets {
			implied := 0.0
			for _, o := range m.Prices {
				implied += 100 / float64(o)
			}
			if math.Abs(implied-1) > 0.005 {
				t.Fatalf("%s %s at 0%% margin: implied probabilities sum to %.4f", f.Ref, m.Kind, implied)
			}
		}
	}
}

func TestRefs(t *testing.T) {
	t.Parallel()
	s, _ := newSim(t, 1, 1, day)
	seen := map[string]bool{}
	for d := -1; d <= 1; d++ {
		for _, f := range fixtures(t, s, day.AddDate(0, 0, d), time.UTC) {
			if seen[f.Ref] {
				t.Fatalf("ref %s twice", f.Ref)
			}
			seen[f.Ref] = true
			if !strings.HasPrefix(f.Ref, f.Sport+":") {
				t.Fatalf("ref %s for a %s match", f.Ref, f.Sport)
			}
		}
	}
	for _, bad := range []string{"", "football", "football:", "football:x", "football:01", "curling:5", "football:+5", "football:99999999999999999999"} {
		if _, err := s.Match(context.Background(), bad); err == nil {
			t.Errorf("Match(%q) found a match", bad)
		}
	}
}

func TestAroundTheClock(t *testing.T) {
	t.Parallel()
	s, c := newSim(t, 1, 1, day)
	// Every sport has matches in every country's league each day.
	leagues := map[string]int{}
	for _, f := range fixtures(t, s, day, time.UTC) {
		if f.KickoffAt.Before(day) || !f.KickoffAt.Before(day.AddDate(0, 0, 1)) {
			t.Fatalf("%s kicks off at %s, outside the day", f.Ref, f.KickoffAt)
		}
		leagues[f.Sport+" "+f.League.Country]++
	}
	if len(leagues) != len(sports)*len(regions) {
		t.Fatalf("%d sport-country pairs play today, want %d: %v", len(leagues), len(sports)*len(regions), leagues)
	}
	for hour := range 24 {
		at := day.Add(time.Duration(hour) * time.Hour)
		c.Set(at)
		all := fixtures(t, s, at, time.UTC)
		if hour < 4 { // matches from before midnight are still playing
			all = append(all, fixtures(t, s, at.AddDate(0, 0, -1), time.UTC)...)
		}
		soon, live := 0, 0
		for _, f := range all {
			if f.KickoffAt.After(at) && !f.KickoffAt.After(at.Add(5*time.Minute)) && f.State == sport.Scheduled {
				soon++
			}
			if f.State == sport.Live {
				live++
			}
		}
		if soon == 0 || live == 0 {
			t.Errorf("%s: %d kick off within five minutes, %d live", at.Format("15:04"), soon, live)
		}
	}
	// A kick-off in every five minutes of the day.
	var kicks []time.Time
	for _, f := range fixtures(t, s, day, time.UTC) {
		kicks = append(kicks, f.KickoffAt)
	}
	for m := 0; m < 24*60; m += 5 {
		from := day.Add(time.Duration(m) * time.Minute)
		if !slices.ContainsFunc(kicks, func(k time.Time) bool { return !k.Before(from) && k.Before(from.Add(5*time.Minute)) }) {
			t.Fatalf("no kick-off in the five minutes from %s", from.Format("15:04"))
		}
	}
}

func TestPricedMatchesEverySport(t *testing.T) {
	t.Parallel()
	at := day.Add(9 * time.Hour)
	s, _ := newSim(t, 1, 1, at)
	priced := map[string]int{}
	for _, f := range fixtures(t, s, at, time.UTC) {
		if f.Ratings == nil || f.Ratings.Home <= 0 || f.Ratings.Away <= 0 {
			t.Fatalf("%s has ratings %+v", f.Ref, f.Ratings)
		}
		if !f.FetchedAt.Equal(at) {
			t.Fatalf("%s fetched at %s", f.Ref, f.FetchedAt)
		}
		if f.State != sport.Scheduled {
			if len(f.Markets) > 0 {
				t.Fatalf("%s is %s with markets", f.Ref, f.State)
			}
			continue
		}
		sp, _ := sport.Lookup(f.Sport)
		want := []betting.MarketKind{betting.Moneyline, betting.Total, betting.Handicap}
		if sp.HasDraw {
			want[0] = betting.OneXTwo
		}
		var kinds []betting.MarketKind
		for _, m := range f.Markets {
			kinds = append(kinds, m.Kind)
			if _, err := betting.NewMarket(m.Kind, m.Line, m.Prices); err != nil {
				t.Fatalf("%s %s: %v", f.Ref, m.Kind, err)
			}
			if m.Source != "model" {
				t.Fatalf("%s %s source %q", f.Ref, m.Kind, m.Source)
			}
		}
		if !slices.Equal(kinds, want) {
			t.Fatalf("%s markets %v, want %v", f.Ref, kinds, want)
		}
		priced[f.Sport]++
	}
	for _, sp := range sport.Sports {
		if priced[sp.Slug] < 10 {
			t.Errorf("%s: %d priced matches today", sp.Slug, priced[sp.Slug])
		}
	}
	// Markets are copies: changing one changes no other fixture.
	fs := fixtures(t, s, at, time.UTC)
	for i := range fs {
		for _, m := range fs[i].Markets {
			if m.Line != nil {
				*m.Line += 100
			}
			for k := range m.Prices {
				m.Prices[k] = 999
			}
		}
	}
	if !reflect.DeepEqual(fixtures(t, s, at, time.UTC), fixtures(t, s, at, time.UTC)) {
		t.Fatal("fixtures share market state")
	}
	for _, f := range fixtures(t, s, at, time.UTC) {
		for _, m := range f.Markets {
			if m.Prices[betting.SelectionNames[m.Kind][0]] == 999 {
				t.Fatal("a caller's change reached the price cache")
			}
		}
	}
}

// finals are the status codes a finished match may end on, by sport.
var finals = map[string][]string{
	"football": {"FT", "AET", "PEN"}, "baseball": {"FT"}, "basketball": {"FT", "AOT"},
	"hockey": {"FT", "AOT", "AP"}, "handball": {"FT"},
}

var liveCodes = map[string][]string{
	"football": {"1H", "HT", "2H", "BT", "ET", "P"}, "baseball": {"IN1", "IN2", "IN3", "IN4", "IN5", "IN6", "IN7", "IN8", "IN9", "IN10", "IN11", "IN12"},
	"basketball": {"Q1", "Q2", "Q3", "Q4", "BT", "HT", "OT"}, "hockey": {"P1", "P2", "P3", "BT", "OT", "PT"}, "handball": {"1H", "HT", "2H"},
}

// checkFinal checks a finished match's score against its sport's rules.
func checkFinal(t *testing.T, f *feed.Fixture) {
	t.Helper()
	sc := f.Score
	if sc == nil {
		t.Fatalf("%s finished (%s) without a score", f.Ref, f.Status)
	}
	reg, fin := sc.Regulation, sc.Final()
	if reg.Home > fin.Home || reg.Away > fin.Away {
		t.Fatalf("%s %s: regulation %v above final %v", f.Ref, f.Status, reg, fin)
	}
	if !slices.Contains(finals[f.Sport], f.Status) {
		t.Fatalf("%s finished with status %s", f.Ref, f.Status)
	}
	overtime := f.Status == "AET" || f.Status == "PEN" || f.Status == "AOT" || f.Status == "AP"
	if overtime && reg.Home != reg.Away {
		t.Fatalf("%s %s but regulation %v was not level", f.Ref, f.Status, reg)
	}
	if !overtime && f.Sport != "baseball" && reg != fin {
		t.Fatalf("%s %s: regulation %v differs from final %v", f.Ref, f.Status, reg, fin)
	}
	switch f.Sport {
	case "hockey":
		if overtime && math.Abs(float64(fin.Home-fin.Away)) != 1 {
			t.Fatalf("%s %s ended %v", f.Ref, f.Status, fin)
		}
	case "basketball":
		if fin.Home == fin.Away {
			t.Fatalf("%s ended level %v", f.Ref, fin)
		}
	case "football":
		if f.Status == "PEN" && fin.Home != fin.Away {
			t.Fatalf("%s went to penalties at %v", f.Ref, fin)
		}
	}
}

func TestAcceleratedMatchPlaysOutWithinFiveMinutes(t *testing.T) {
	t.Parallel()
	from := day.Add(11 * time.Hour)
	s, c := newSim(t, 1, 60, from)
	played := map[string]int{}
	for _, g := range gamesBetween(from, from.Add(3*time.Hour)) {
		kick := g.kickoff()
		var states []sport.State
		var last *feed.Fixture
		for at := kick.Add(-10 * time.Second); !at.After(kick.Add(5 * time.Minute)); at = at.Add(5 * time.Second) {
			c.Set(at)
			f, err := s.Match(context.Background(), g.ref())
			if err != nil {
				t.Fatal(err)
			}
			if len(states) == 0 || states[len(states)-1] != f.State {
				states = append(states, f.State)
			}
			if f.State == sport.Live && !slices.Contains(liveCodes[f.Sport], f.Status) {
				t.Fatalf("%s live with status %s", f.Ref, f.Status)
			}
			last = f
		}
		switch states[len(states)-1] {
		case sport.Postponed, sport.Cancelled:
			if len(states) != 1 {
				t.Fatalf("%s went %v", g.ref(), states)
			}
		case sport.Abandoned:
		case sport.Finished:
			// scheduled → live (⇄ suspended) → finished
			if states[0] != sport.Scheduled || states[1] != sport.Live {
				t.Fatalf("%s went %v", g.ref(), states)
			}
			for _, st := range states[1 : len(states)-1] {
				if st != sport.Live && st != sport.Suspended {
					t.Fatalf("%s went %v", g.ref(), states)
				}
			}
			checkFinal(t, last)
			played[last.Sport]++
		default:
			t.Fatalf("%s still %v five minutes after kick-off at speed 60", g.ref(), states)
		}
	}
	for _, sp := range sport.Sports {
		if played[sp.Slug] < 3 {
			t.Errorf("%s: only %d matches played out", sp.Slug, played[sp.Slug])
		}
	}
}

// TestEveryState reads matches at the moments their status changes and
// finds every state; the rare fates come at about their rates.
func TestEveryState(t *testing.T) {
	t.Parallel()
	s, _ := newSim(t, 1, 1, day)
	counts := map[sport.State]int{}
	fates := map[sport.State]int{}
	codes := map[string]int{}
	gs := gamesBetween(day.AddDate(0, 0, -20), day)
	for i, g := range gs {
		home, away := s.pairing(g)
		rh, ra := s.ratings(g, home, away)
		ft := s.fate(g)
		fates[ft.kind]++
		var sc *script
		if ft.kind != sport.Postponed && ft.kind != sport.Cancelled {
			sc = s.play(g, rh, ra, ft)
		}
		// Reading a fixture plays the match again: read every unusual
		// match and a sample of the rest.
		if ft.kind == sport.Scheduled && i%8 != 0 && (sc.final == "FT" || i%2 != 0) {
			continue
		}
		kick := g.kickoff()
		moments := []time.Time{kick.Add(-7 * time.Hour), kick.Add(-time.Minute)}
		if sc != nil {
			for _, p := range sc.phases {
				moments = append(moments, kick.Add(time.Duration((p.at+0.01)*float64(time.Minute))))
			}
			moments = append(moments, kick.Add(time.Duration((sc.end+1)*float64(time.Minute))))
		}
		seen := map[sport.State]bool{}
		for _, at := range moments {
			f := s.fixture(g, at)
			if f.State != stateOf(f.Status) || !f.State.Valid() {
				t.Fatalf("%s: status %s with state %s", f.Ref, f.Status, f.State)
			}
			codes[f.Sport+" "+f.Status]++
			seen[f.State] = true
			if f.State == sport.Finished {
				checkFinal(t, &f)
			}
		}
		for st := range seen {
			counts[st]++
		}
	}
	for _, st := range sport.States {
		if counts[st] == 0 {
			t.Errorf("no match was ever %s", st)
		}
	}
	for st, want := range map[sport.State]float64{sport.Postponed: postponeRate, sport.Cancelled: cancelRate, sport.Abandoned: abandonRate, sport.Suspended: suspendRate} {
		got := float64(fates[st]) / float64(len(gs))
		if got < want/2 || got > want*2 {
			t.Errorf("%s in %.2f%% of %d matches, want about %.2f%%", st, 100*got, len(gs), 100*want)
		}
	}
	for _, code := range []string{"football AET", "football PEN", "basketball AOT", "hockey AOT", "hockey AP", "baseball IN10", "football SUSP", "hockey PST", "handball CANC"} {
		if codes[code] == 0 {
			t.Errorf("status %s never seen", code)
		}
	}
	t.Logf("%d matches, fates %v; of those read, matches per state %v", len(gs), fates, counts)
}

func TestHistory(t *testing.T) {
	t.Parallel()
	until := day.Add(3 * time.Hour)
	s, _ := newSim(t, 1, 1, until)
	hs, err := s.History(context.Background(), until)
	if err != nil {
		t.Fatal(err)
	}
	// About 300 matches a day for historyDays days, and three past
	// matchdays: under 30,000, which a first start imports in a few
	// seconds (BenchmarkFirstStartHistory).
	if len(hs) < 25000 || len(hs) > 30000 {
		t.Fatalf("%d historical matches, want 25,000 to 30,000", len(hs))
	}
	names := map[string]string{}
	name := func(sp string, n feed.Named) {
		key := sp + " " + n.Ref
		if was, ok := names[key]; ok && was != n.Name {
			t.Fatalf("%s is %q and %q", key, was, n.Name)
		}
		names[key] = n.Name
	}
	seasons := map[string]map[int]bool{}
	refs := map[string]bool{}
	for i := range hs {
		f := &hs[i]
		if f.State != sport.Finished || !f.KickoffAt.Before(until) || refs[f.Ref] {
			t.Fatalf("%s: %s at %s (seen before: %v)", f.Ref, f.State, f.KickoffAt, refs[f.Ref])
		}
		refs[f.Ref] = true
		checkFinal(t, f)
		name(f.Sport, f.Home)
		name(f.Sport, f.Away)
		if seasons[f.Sport] == nil {
			seasons[f.Sport] = map[int]bool{}
		}
		seasons[f.Sport][f.KickoffAt.Year()] = true
	}
	for _, sp := range sport.Sports {
		for y := until.Year() - 3; y <= until.Year(); y++ {
			if !seasons[sp.Slug][y] {
				t.Errorf("%s has no %d matches in history", sp.Slug, y)
			}
		}
	}
	// Today's teams are history's teams.
	known := 0
	for _, f := range fixtures(t, s, until, time.UTC) {
		name(f.Sport, f.Home)
		name(f.Sport, f.Away)
		if refs[f.Ref] {
			known++
		}
	}
	if known == 0 {
		t.Error("history has none of today's finished matches")
	}
	// Head-to-head has its five meetings to show: most pairs of a
	// league's teams met at least five times, and today's sides too.
	const want = 5
	meetings := map[[3]string]int{}
	for _, f := range hs {
		a, b := f.Home.Ref, f.Away.Ref
		if a > b {
			a, b = b, a
		}
		meetings[[3]string{f.Sport, a, b}]++
	}
	pairs := len(sports) * len(regions) * teamsPerLeague * (teamsPerLeague - 1) / 2
	enough := 0
	for _, n := range meetings {
		if n >= want {
			enough++
		}
	}
	if enough < pairs*9/10 {
		t.Errorf("%d of %d pairs of teams met %d times or more in history, want 90 %%", enough, pairs, want)
	}
	short := 0
	today := fixtures(t, s, until, time.UTC)
	for _, f := range today {
		a, b := f.Home.Ref, f.Away.Ref
		if a > b {
			a, b = b, a
		}
		if meetings[[3]string{f.Sport, a, b}] < want {
			short++
		}
	}
	if short > len(today)/10 {
		t.Errorf("%d of today's %d matches have fewer than %d past meetings", short, len(today), want)
	}
	t.Logf("%d historical matches; %d of %d pairs met %d times or more", len(hs), enough, pairs, want)
}

// TestModelCalibratedOnSimulator plays 10,000 matches per sport through the
// simulator and grades the model's markets on them as bets are graded.
func TestModelCalibratedOnSimulator(t *testing.T) {
	t.Parallel()
	const matches = 10000
	s, _ := newSim(t, 7, 1, day)
	start := game{round: int64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400 - epochDay)}.number()
	for spi, sp := range sport.Sports {
		var cal oddstest.Calibration
		priced := map[[2]float64][]odds.Priced{}
		for n := start; n < start+matches; n++ {
			g := gameOf(spi, n)
			home, away := s.pairing(g)
			rh, ra := s.ratings(g, home, away)
			ps, ok := priced[[2]float64{rh, ra}]
			if !ok {
				var err error
				if ps, err = s.model.Price(sp.Slug, rh, ra); err != nil {
					t.Fatal(err)
				}
				priced[[2]float64{rh, ra}] = ps
			}
			sc := s.play(g, rh, ra, fate{kind: sport.Scheduled})
			score := *sc.score(sc.end)
			for _, p := range ps {
				kind := betting.MarketKind(p.Kind)
				grade := func(sel string) betting.LegState {
					st, _ := betting.Grade(sp, kind, p.Line, sel, score)
					return st
				}
				switch kind {
				case betting.OneXTwo:
					for i, sel := range p.Selections {
						cal.Add("1x2 "+sel, p.Fair[i], grade(sel) == betting.LegWon)
					}
				default: // the first selection, pushes set aside
					if st := grade(p.Selections[0]); st != betting.LegPush {
						cal.Add(p.Kind+" "+p.Selections[0], p.Fair[0], st == betting.LegWon)
					}
				}
			}
		}
		cal.Check(t, sp.Slug, 0.03)
	}
}

// BenchmarkFixturesDay polls today at noon KST, as the ingester does every
// few seconds: half the matches played (their scripts replayed), half
// priced (from the cache after the first poll).
func BenchmarkFixturesDay(b *testing.B) {
	at := day.Add(3 * time.Hour)
	s, _ := newSim(b, 1, 1, at)
	kst, _ := time.LoadLocation("Asia/Seoul")
	for b.Loop() {
		if fs := fixtures(b, s, at, kst); len(fs) < 288 {
			b.Fatalf("%d fixtures", len(fs))
		}
	}
}

// BenchmarkFixturesDayCold polls tomorrow with a fresh simulator: every
// match is priced afresh, as on the first poll of a day.
func BenchmarkFixturesDayCold(b *testing.B) {
	at := day.Add(3 * time.Hour)
	kst, _ := time.LoadLocation("Asia/Seoul")
	for b.Loop() {
		s, _ := newSim(b, 1, 1, at)
		fixtures(b, s, at.AddDate(0, 0, 1), kst)
	}
}
