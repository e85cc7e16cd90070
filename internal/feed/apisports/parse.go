package apisports

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// fxMeta is what a fixture's later calls need that feed.Fixture does not
// carry: v1 odds are asked per league and season.
type fxMeta struct {
	League string
	Season string
}

// decoded is what one fixtures or games answer yields.
type decoded struct {
	fixtures []feed.Fixture
	meta     map[string]fxMeta
	// skipped counts items that could not be used; skippedRefs holds those
	// whose id was still readable, so a cached copy is not dropped for them.
	skipped     int
	skippedRefs map[string]bool
	pages       paging
}

// parseFixturesBody reads a whole fixtures (football) or games (v1) answer.
// Provider errors come back as *Error.
func parseFixturesBody(sp string, body []byte, fetched time.Time, log *slog.Logger) (*decoded, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: err.Error()}
	}
	if perr := env.providerError(sp); perr != nil {
		return nil, perr
	}
	return parseFixtureItems(sp, env, fetched, log)
}

func parseFixtureItems(sp string, env *envelope, fetched time.Time, log *slog.Logger) (*decoded, error) {
	items, err := env.items()
	if err != nil {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: err.Error()}
	}
	d := &decoded{meta: map[string]fxMeta{}, skippedRefs: map[string]bool{}, pages: env.pages()}
	seen := map[string]bool{}
	for _, raw := range items {
		f, meta, note, err := parseItem(sp, raw, fetched)
		if err != nil {
			d.skipped++
			id := itemID(sp, raw)
			if id != "" {
				d.skippedRefs[sp+":"+id] = true
			}
			log.Warn("apisports: skipped malformed item", "sport", sp, "match", refOrUnknown(sp, id), "err", err)
			continue
		}
		if note != "" {
			log.Warn("apisports: score not usable; match held without a score", "sport", sp, "match", f.Ref, "status", f.Status, "why", note)
		}
		if seen[f.Ref] {
			// Two different copies of one match in one answer: trust neither.
			d.skipped++
			d.skippedRefs[f.Ref] = true
			log.Warn("apisports: match listed twice; skipped", "sport", sp, "match", f.Ref)
			continue
		}
		seen[f.Ref] = true
		d.fixtures = append(d.fixtures, f)
		d.meta[f.Ref] = meta
	}
	// Drop the first copy too of anything listed twice.
	if len(d.skippedRefs) > 0 {
		kept := d.fixtures[:0]
		for _, f := range d.fixtures {
			if !d.skippedRefs[f.Ref] {
				kept = append(kept, f)
			} else {
				delete(d.meta, f.Ref)
			}
		}
		d.fixtures = kept
	}
	return d, nil
}

func refOrUnknown(sp, id string) string {
	if id == "" {
		return sp + ":?"
	}
	return sp + ":" + id
}

// itemID digs out an item's id for the log when the item itself could not
// be read.
func itemID(sp string, raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	idRaw := m["id"]
	if sp == "football" {
		var fx map[string]json.RawMessage
		if json.Unmarshal(m["fixture"], &fx) != nil {
			return ""
		}
		idRaw = fx["id"]
	}
	var id flexID
	if idRaw != nil {
		_ = id.UnmarshalJSON(idRaw)
	}
	return string(id)
}

type rawStatus struct {
	Short looseString `json:"short"`
	Long  looseString `json:"long"`
}

type rawLeague struct {
	ID      flexID          `json:"id"`
	Name    looseString     `json:"name"`
	Country looseString     `json:"country"` // football: a name; v1 has a country object beside the league
	Season  json.RawMessage `json:"season"`
}

type rawTeam struct {
	ID   flexID      `json:"id"`
	Name looseString `json:"name"`
}

type rawPair struct {
	Home optInt `json:"home"`
	Away optInt `json:"away"`
}

func (p rawPair) complete() bool { return p.Home.Set && p.Away.Set }
func (p rawPair) bad() bool      { return p.Home.Bad || p.Away.Bad }
func (p rawPair) pair() sport.Pair {
	return sport.Pair{Home: p.Home.V, Away: p.Away.V}
}

type fbItem struct {
	Fixture struct {
		ID        flexID      `json:"id"`
		Date      looseString `json:"date"`
		Timestamp optInt      `json:"timestamp"`
		Status    rawStatus   `json:"status"`
	} `json:"fixture"`
	League rawLeague `json:"league"`
	Teams  struct {
		Home rawTeam `json:"home"`
		Away rawTeam `json:"away"`
	} `json:"teams"`
	Goals rawPair `json:"goals"`
	Score struct {
		Fulltime  rawPair `json:"fulltime"`
		Extratime rawPair `json:"extratime"`
	} `json:"score"`
}

type v1Item struct {
	ID        flexID          `json:"id"`
	Date      looseString     `json:"date"`
	Timestamp optInt          `json:"timestamp"`
	Status    rawStatus       `json:"status"`
	League    rawLeague       `json:"league"`
	Country   json.RawMessage `json:"country"`
	Teams     struct {
		Home rawTeam `json:"home"`
		Away rawTeam `json:"away"`
	} `json:"teams"`
	Scores  json.RawMessage `json:"scores"`
	Periods json.RawMessage `json:"periods"`
}

// head is what every sport's item has in common.
type head struct {
	sport, id  string
	league     rawLeague
	country    string
	home, away rawTeam
	ts         optInt
	date       string
	status     string
}

// Kick-offs outside these years are data errors.
var (
	minKickoff = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxKickoff = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (h head) fixture(fetched time.Time) (feed.Fixture, error) {
	switch {
	case h.id == "":
		return feed.Fixture{}, errors.New("missing match id")
	case h.league.ID == "" || h.league.Name == "":
		return feed.Fixture{}, errors.New("missing league")
	case h.home.ID == "" || h.home.Name == "" || h.away.ID == "" || h.away.Name == "":
		return feed.Fixture{}, errors.New("missing team")
	case h.home.ID == h.away.ID:
		return feed.Fixture{}, errors.New("the same team on both sides")
	}
	var kick time.Time
	if h.ts.Set {
		kick = time.Unix(int64(h.ts.V), 0).UTC()
	} else if t, err := time.Parse(time.RFC3339, h.date); err == nil {
		kick = t.UTC()
	}
	if kick.Before(minKickoff) || !kick.Before(maxKickoff) {
		return feed.Fixture{}, errors.New("missing or implausible kick-off time")
	}
	code := normStatus(h.status)
	return feed.Fixture{
		Ref:       h.sport + ":" + h.id,
		Sport:     h.sport,
		League:    feed.Named{Ref: string(h.league.ID), Name: string(h.league.Name), Country: h.country},
		Home:      feed.Named{Ref: string(h.home.ID), Name: string(h.home.Name)},
		Away:      feed.Named{Ref: string(h.away.ID), Name: string(h.away.Name)},
		KickoffAt: kick,
		Status:    code,
		State:     mapStatus(h.sport, code),
		FetchedAt: fetched,
	}, nil
}

// parseItem reads one item. An error means the item is skipped; a note
// means the fixture is kept without a score (and so held if finished).
func parseItem(sp string, raw json.RawMessage, fetched time.Time) (f feed.Fixture, meta fxMeta, note string, err error) {
	if sp == "football" {
		var it fbItem
		if err := json.Unmarshal(raw, &it); err != nil {
			return f, meta, "", fmt.Errorf("unreadable fixture: %w", shortErr(err))
		}
		h := head{sport: sp, id: string(it.Fixture.ID), league: it.League, country: string(it.League.Country),
			home: it.Teams.Home, away: it.Teams.Away, ts: it.Fixture.Timestamp, date: string(it.Fixture.Date), status: string(it.Fixture.Status.Short)}
		if f, err = h.fixture(fetched); err != nil {
			return f, meta, "", err
		}
		f.Score, note = footballScore(f.State, f.Status, it.Goals, it.Score.Fulltime, it.Score.Extratime)
		return f, fxMeta{League: f.League.Ref, Season: rawString(it.League.Season)}, note, nil
	}
	if _, ok := statusTable[sp]; !ok {
		return f, meta, "", fmt.Errorf("unknown sport %q", sp)
	}
	var it v1Item
	if err := json.Unmarshal(raw, &it); err != nil {
		return f, meta, "", fmt.Errorf("unreadable game: %w", shortErr(err))
	}
	var country struct {
		Name looseString `json:"name"`
	}
	_ = json.Unmarshal(it.Country, &country) // the country is decoration only
	h := head{sport: sp, id: string(it.ID), league: it.League, country: string(country.Name),
		home: it.Teams.Home, away: it.Teams.Away, ts: it.Timestamp, date: string(it.Date), status: string(it.Status.Short)}
	if f, err = h.fixture(fetched); err != nil {
		return f, meta, "", err
	}
	switch sp {
	case "basketball":
		f.Score, note = basketballScore(f.State, f.Status, it.Scores)
	case "baseball":
		f.Score, note = baseballScore(f.State, it.Scores)
	case "hockey":
		f.Score, note = hockeyScore(f.State, f.Status, it.Scores, it.Periods)
	case "handball":
		f.Score, note = handballScore(f.State, f.Status, it.Scores, it.Periods)
	}
	return f, fxMeta{League: f.League.Ref, Season: rawString(it.League.Season)}, note, nil
}

// shortErr keeps decode errors from quoting large parts of the payload.
func shortErr(err error) error {
	s := err.Error()
	if len(s) > 160 {
		s = clean(s[:160])
	}
	return errors.New(s)
}

// maxScore bounds any side's score; beyond it the data is wrong.
const maxScore = 999

// withScore checks a final and regulation score before they are used for
// settlement: regulation can never exceed the final score.
func withScore(final, reg sport.Pair) (*sport.Score, string) {
	switch {
	case final.Home > maxScore || final.Away > maxScore:
		return nil, "implausible score"
	case reg.Home < 0 || reg.Away < 0 || reg.Home > final.Home || reg.Away > final.Away:
		return nil, fmt.Sprintf("regulation %d-%d does not fit the final score %d-%d", reg.Home, reg.Away, final.Home, final.Away)
	}
	return &sport.Score{Home: final.Home, Away: final.Away, Regulation: reg}, ""
}

// noScore says whether a state carries no score worth reporting.
func noScore(st sport.State) bool {
	return st == sport.Scheduled || st == sport.Postponed || st == sport.Cancelled
}

// missing is the note for a score that is absent; only a finished match
// needs one, so other states stay silent.
func missing(st sport.State, what string) (*sport.Score, string) {
	if st == sport.Finished {
		return nil, what
	}
	return nil, ""
}

// footballScore: goals is the running total (no shoot-out goals); 1x2
// means the 90 minutes, which after extra time is score.fulltime.
func footballScore(st sport.State, code string, goals, ft, et rawPair) (*sport.Score, string) {
	if noScore(st) {
		return nil, ""
	}
	if goals.bad() || !goals.complete() {
		return missing(st, "goals missing or unreadable")
	}
	final, reg := goals.pair(), goals.pair()
	switch code {
	case "AET", "PEN":
		if ft.bad() || !ft.complete() {
			return nil, "extra time without a full-time (90 minute) score"
		}
		reg = ft.pair()
		// If extra-time goals are given they must add up; otherwise
		// fulltime may already include them and would settle 1x2 wrongly.
		if et.complete() && (reg.Home+et.Home.V != final.Home || reg.Away+et.Away.V != final.Away) {
			return nil, fmt.Sprintf("full time %d-%d plus extra time %d-%d is not the final %d-%d", reg.Home, reg.Away, et.Home.V, et.Away.V, final.Home, final.Away)
		}
	case "ET", "BT", "P":
		if ft.complete() && !ft.bad() {
			reg = ft.pair()
		}
	}
	return withScore(final, reg)
}

type bbSide struct {
	Q1       optInt `json:"quarter_1"`
	Q2       optInt `json:"quarter_2"`
	Q3       optInt `json:"quarter_3"`
	Q4       optInt `json:"quarter_4"`
	OverTime optInt `json:"over_time"`
	Total    optInt `json:"total"`
}

func (s bbSide) quarters() (sum int, known bool) {
	known = true
	for _, q := range []optInt{s.Q1, s.Q2, s.Q3, s.Q4} {
		if !q.Set || q.Bad {
			known = false
		}
		sum += q.V
	}
	return sum, known
}

// basketballScore: moneyline includes overtime (total); regulation is
// the four quarters.
func basketballScore(st sport.State, code string, raw json.RawMessage) (*sport.Score, string) {
	if noScore(st) {
		return nil, ""
	}
	var sc struct{ Home, Away bbSide }
	if json.Unmarshal(raw, &sc) != nil {
		return missing(st, "unreadable scores")
	}
	h, a := sc.Home, sc.Away
	if h.Total.Bad || a.Total.Bad || !h.Total.Set || !a.Total.Set {
		return missing(st, "total missing or unreadable")
	}
	final := sport.Pair{Home: h.Total.V, Away: a.Total.V}
	qh, knownH := h.quarters()
	qa, knownA := a.quarters()
	overtime := code == "AOT" || code == "OT" || h.OverTime.V > 0 || a.OverTime.V > 0
	if !overtime {
		if st == sport.Finished && knownH && knownA && (qh != final.Home || qa != final.Away) {
			return nil, fmt.Sprintf("quarters %d-%d do not add up to the total %d-%d", qh, qa, final.Home, final.Away)
		}
		return withScore(final, final)
	}
	if !knownH || !knownA {
		return missing(st, "overtime without all four quarters")
	}
	reg := sport.Pair{Home: qh, Away: qa}
	if st == sport.Finished {
		if reg.Home != reg.Away {
			return nil, fmt.Sprintf("overtime after an unlevel regulation %d-%d", reg.Home, reg.Away)
		}
		if final.Home == final.Away {
			return nil, "finished after overtime with a level total"
		}
		if h.OverTime.Set && a.OverTime.Set && (qh+h.OverTime.V != final.Home || qa+a.OverTime.V != final.Away) {
			return nil, "quarters plus overtime do not add up to the total"
		}
	}
	return withScore(final, reg)
}

// baseballScore: the final is the total; regulation is the total less
// extra innings ("extra", or any inning beyond the ninth).
func baseballScore(st sport.State, raw json.RawMessage) (*sport.Score, string) {
	if noScore(st) {
		return nil, ""
	}
	var sc struct {
		Home struct {
			Innings json.RawMessage `json:"innings"`
			Total   optInt          `json:"total"`
		} `json:"home"`
		Away struct {
			Innings json.RawMessage `json:"innings"`
			Total   optInt          `json:"total"`
		} `json:"away"`
	}
	if json.Unmarshal(raw, &sc) != nil {
		return missing(st, "unreadable scores")
	}
	if sc.Home.Total.Bad || sc.Away.Total.Bad || !sc.Home.Total.Set || !sc.Away.Total.Set {
		return missing(st, "total missing or unreadable")
	}
	final := sport.Pair{Home: sc.Home.Total.V, Away: sc.Away.Total.V}
	eh, okH := extraRuns(sc.Home.Innings)
	ea, okA := extraRuns(sc.Away.Innings)
	if !okH || !okA {
		return missing(st, "unreadable extra innings")
	}
	reg := sport.Pair{Home: final.Home - eh, Away: final.Away - ea}
	if st == sport.Finished && (eh > 0 || ea > 0) && reg.Home != reg.Away {
		return nil, fmt.Sprintf("extra innings after an unlevel nine innings %d-%d", reg.Home, reg.Away)
	}
	return withScore(final, reg)
}

// extraRuns sums the runs beyond the ninth inning. ok is false when an
// inning we need cannot be read; absent innings count as none.
func extraRuns(raw json.RawMessage) (runs int, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, true
	}
	var inn map[string]optInt
	if json.Unmarshal(raw, &inn) != nil {
		return 0, false
	}
	for k, v := range inn {
		n, err := strconv.Atoi(k)
		if k != "extra" && (err != nil || n <= 9) {
			continue
		}
		if v.Bad {
			return 0, false
		}
		runs += v.V
	}
	return runs, runs <= maxScore
}

// periodPair is one period's score, a "home-away" string (hockey) or a
// {home, away} object (handball).
type periodPair struct {
	H, A     int
	Set, Bad bool
}

func (p *periodPair) UnmarshalJSON(b []byte) error {
	*p = periodPair{}
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null" || s == "" || s == `""`:
		return nil
	case s[0] == '{':
		var v rawPair
		if json.Unmarshal(b, &v) != nil || v.bad() {
			p.Bad = true
			return nil
		}
		if v.complete() {
			p.H, p.A, p.Set = v.Home.V, v.Away.V, true
		}
		return nil
	case s[0] == '"':
		var str string
		if json.Unmarshal(b, &str) != nil {
			p.Bad = true
			return nil
		}
		hs, as, ok := strings.Cut(str, "-")
		h, err1 := strconv.Atoi(strings.TrimSpace(hs))
		a, err2 := strconv.Atoi(strings.TrimSpace(as))
		if !ok || err1 != nil || err2 != nil || h < 0 || a < 0 || h > maxScore || a > maxScore {
			p.Bad = true
			return nil
		}
		p.H, p.A, p.Set = h, a, true
		return nil
	}
	p.Bad = true
	return nil
}

type periods struct {
	First     periodPair `json:"first"`
	Second    periodPair `json:"second"`
	Third     periodPair `json:"third"`
	Overtime  periodPair `json:"overtime"`
	Penalties periodPair `json:"penalties"`
}

func sumPeriods(ps ...periodPair) (sport.Pair, bool) {
	var sum sport.Pair
	for _, p := range ps {
		if !p.Set || p.Bad {
			return sum, false
		}
		sum.Home += p.H
		sum.Away += p.A
	}
	return sum, true
}

// teamScores reads the {home, away} integer scores of hockey and handball.
func teamScores(raw json.RawMessage) (sport.Pair, bool) {
	var sc rawPair
	if json.Unmarshal(raw, &sc) != nil || sc.bad() || !sc.complete() {
		return sport.Pair{}, false
	}
	return sc.pair(), true
}

// hockeyScore: moneyline includes overtime and the shoot-out (scores);
// the 3-way result is the three periods.
func hockeyScore(st sport.State, code string, rawScores, rawPeriods json.RawMessage) (*sport.Score, string) {
	if noScore(st) {
		return nil, ""
	}
	final, ok := teamScores(rawScores)
	if !ok {
		return missing(st, "scores missing or unreadable")
	}
	var ps periods
	_ = json.Unmarshal(rawPeriods, &ps) // unreadable periods read as unknown
	reg, known := sumPeriods(ps.First, ps.Second, ps.Third)
	switch {
	case code == "AOT" || code == "AP":
		if !known {
			return nil, "decided after regulation without all three periods"
		}
		if reg.Home != reg.Away {
			return nil, fmt.Sprintf("overtime after an unlevel regulation %d-%d", reg.Home, reg.Away)
		}
		if final.Home == final.Away {
			// The shoot-out winner should be in scores; without it the
			// moneyline would settle as a tie.
			return nil, "decided after regulation with a level final score"
		}
		return withScore(final, reg)
	case st == sport.Finished:
		if known && reg != final {
			return nil, fmt.Sprintf("periods %d-%d do not add up to the score %d-%d", reg.Home, reg.Away, final.Home, final.Away)
		}
		return withScore(final, final)
	case code == "OT" || code == "PT" || (code == "BT" && ps.Overtime.Set):
		if known {
			return withScore(final, reg)
		}
	}
	return withScore(final, final)
}

// handballScore: regulation is the two halves.
func handballScore(st sport.State, code string, rawScores, rawPeriods json.RawMessage) (*sport.Score, string) {
	if noScore(st) {
		return nil, ""
	}
	final, ok := teamScores(rawScores)
	if !ok {
		return missing(st, "scores missing or unreadable")
	}
	var ps periods
	_ = json.Unmarshal(rawPeriods, &ps)
	reg, known := sumPeriods(ps.First, ps.Second)
	switch {
	case code == "AET" || code == "AP":
		if !known {
			return nil, "decided after regulation without both halves"
		}
		return withScore(final, reg)
	case st == sport.Finished:
		if known && reg != final {
			return nil, fmt.Sprintf("halves %d-%d do not add up to the score %d-%d", reg.Home, reg.Away, final.Home, final.Away)
		}
		return withScore(final, final)
	case code == "ET" || code == "PT":
		if known {
			return withScore(final, reg)
		}
	}
	return withScore(final, final)
}
