package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// DefaultZone is the viewer's zone when none is given (the product is
// Korean first).
const DefaultZone = "Asia/Seoul"

// viewerDay returns the UTC bounds of a calendar day in the viewer's zone:
// ?date= (default today) in ?tz= (default the user's zone, else KST).
//
// Codes: invalid_time_zone, invalid_date.
func (a *API) viewerDay(r *http.Request, sess *account.Session) (time.Time, time.Time, error) {
	name := r.URL.Query().Get("tz")
	var loc *time.Location
	if name == "" && sess != nil {
		// A stored zone the rule refuses is not the caller's mistake:
		// the default applies, as it does for the player's limits
		// (playlimit.Location).
		loc, _ = input.Zone(sess.User.TimeZone)
	}
	if name == "" && loc == nil {
		name = DefaultZone
	}
	var err error
	if loc == nil {
		if loc, err = input.Zone(name); err != nil {
			return time.Time{}, time.Time{}, fault.New(fault.Invalid, "invalid_time_zone", "Unknown time zone %q; use an IANA name such as Asia/Seoul.", truncate(name, 64))
		}
	}
	day := a.now().In(loc)
	if d := r.URL.Query().Get("date"); d != "" {
		day, err = time.ParseInLocation("2006-01-02", d, loc)
		if err != nil {
			return time.Time{}, time.Time{}, fault.New(fault.Invalid, "invalid_date", "date must be YYYY-MM-DD.")
		}
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	return start.UTC(), start.AddDate(0, 0, 1).UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (a *API) handleSportList(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	from, to, err := a.viewerDay(r, sess)
	if err != nil {
		return err
	}
	counts, err := a.store.CountBySport(r.Context(), from, to)
	if err != nil {
		return err
	}
	type item struct {
		Slug     string `json:"slug"`
		Name     string `json:"name"`
		Today    int    `json:"today"`
		Upcoming int    `json:"upcoming"`
		Live     int    `json:"live"`
	}
	items := make([]item, len(counts))
	for i, c := range counts {
		items[i] = item{c.Slug, c.Name, c.Today, c.Upcoming, c.Live}
	}
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// selectionView is a selection as the API shows it.
type selectionView struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Odds               odds.Odds `json:"odds"`
	ImpliedProbability string    `json:"implied_probability,omitempty"`
}

type marketView struct {
	ID         string             `json:"id"`
	Kind       betting.MarketKind `json:"kind"`
	Line       *odds.Line         `json:"line,omitempty"`
	Open       bool               `json:"open"`
	Selections []selectionView    `json:"selections"`
}

type matchView struct {
	*sport.Match
	MainMarket *marketView  `json:"main_market"`
	Markets    []marketView `json:"markets,omitempty"`
	Form       any          `json:"form,omitempty"`
	Season     any          `json:"season,omitempty"`
	HeadToHead any          `json:"head_to_head,omitempty"`
}

// ppm renders parts per million as a probability with four decimals.
func ppm(v int64) string {
	tenThousandths := (v + 50) / 100 // round to four decimals first, so 0.99996 shows as 1.0000
	return fmt.Sprintf("%d.%04d", tenThousandths/10_000, tenThousandths%10_000)
}

func toMarketView(mk *betting.Market, detail bool) marketView {
	v := marketView{ID: mk.ID, Kind: mk.Kind, Line: mk.Line, Open: mk.Open}
	for _, s := range mk.Selections {
		sv := selectionView{ID: s.ID, Name: s.Name, Odds: s.Odds}
		if detail {
			sv.ImpliedProbability = ppm(s.ImpliedPPM)
		}
		v.Selections = append(v.Selections, sv)
	}
	return v
}

func toMatchView(m *betting.Match, detail bool) matchView {
	v := matchView{Match: m.Match}
	if mm := m.MainMarket(); mm != nil {
		mv := toMarketView(mm, detail)
		v.MainMarket = &mv
	}
	if detail {
		v.Markets = []marketView{}
		for _, mk := range m.Markets {
			v.Markets = append(v.Markets, toMarketView(mk, true))
		}
	}
	return v
}

func (a *API) handleMatchList(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	q := r.URL.Query()
	from, to, err := a.viewerDay(r, sess)
	if err != nil {
		return err
	}
	f := sport.MatchFilter{Sport: q.Get("sport"), From: from, To: to, State: sport.State(q.Get("state")), Cursor: q.Get("cursor"), MainMarketOnly: true}
	if f.Sport != "" {
		if _, ok := sport.Lookup(f.Sport); !ok {
			return fault.New(fault.Invalid, "invalid_sport", "sport must be football, baseball, basketball, hockey or handball.")
		}
	}
	if f.State != "" && !f.State.Valid() {
		return fault.New(fault.Invalid, "invalid_state", "Unknown match state.")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to 200.")
		}
		f.Limit = n
	}
	ms, next, err := a.store.FindMatches(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]matchView, len(ms))
	for i, m := range ms {
		items[i] = toMatchView(m, false)
	}
	return writeList(w, items, next)
}

func writeList[T any](w http.ResponseWriter, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	body := map[string]any{"items": items}
	if next != "" {
		body["next_cursor"] = next
	}
	return edge.WriteJSON(w, http.StatusOK, body)
}

func (a *API) handleMatchGet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	m, err := a.store.FindMatch(r.Context(), id)
	if err != nil {
		return err
	}
	stats, err := a.store.MatchStats(r.Context(), id)
	if err != nil {
		return err
	}
	v := toMatchView(m, true)
	v.Form, v.Season, v.HeadToHead = stats.Form, stats.Season, stats.HeadToHead
	return edge.WriteJSON(w, http.StatusOK, v)
}

// handleMatchOdds lists the odds versions of a match's selections, oldest
// first, a page of at most ?limit= versions (?market= for one market).
//
// Codes: match_not_found, market_not_found, invalid_limit, invalid_cursor.
func (a *API) handleMatchOdds(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := betting.OddsHistoryFilter{MarketID: q.Get("market"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > betting.MaxOddsHistory {
			return fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", betting.MaxOddsHistory)
		}
		f.Limit = n
	}
	hs, next, err := a.store.FindOddsHistory(r.Context(), r.PathValue("id"), f)
	if err != nil {
		return err
	}
	return writeList(w, hs, next)
}
