package web

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// mainStore is what the main page reads.
type mainStore interface {
	CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error)
	FindMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error)
}

// maxMainMatches bounds one sport's day on the main page.
const maxMainMatches = 200

type sportTab struct {
	Slug    string
	Count   int
	Current bool
}

type dayLink struct {
	Key     string // catalogue key: main.day.yesterday, …
	Date    string // YYYY-MM-DD in the viewer's zone
	Current bool
}

type leagueGroup struct {
	Name string
	// Rows are the matches' rendered rows (the match-row partial), joined
	// here: ranging over 200 rows in the template cost an escaper call
	// each, as much as the rest of the page.
	Rows template.HTML
	rows []string
}

type mainData struct {
	Sport   string
	Sports  []sportTab
	Day     time.Time
	Date    string
	Days    []dayLink
	Leagues []leagueGroup
	Count   int
}

// handleMain is the main page: a sport's matches of one day, grouped by
// league, with the main market's odds as buttons for the bet slip.
// ?sport= (default the first sport with matches that day) and ?date=
// (YYYY-MM-DD in the viewer's zone, default today); an unknown sport or a
// malformed date is the 404 page.
func (s *Web) handleMain(w http.ResponseWriter, r *http.Request) error {
	zone := viewerZone(r)
	now := s.now().In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	day := today
	q := r.URL.Query()
	if d := q.Get("date"); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, zone)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			return errNotFound
		}
		day = t
	}
	next := day.AddDate(0, 0, 1)
	counts, err := s.store.CountBySport(r.Context(), day.UTC(), next.UTC())
	if err != nil {
		return err
	}
	slug := q.Get("sport")
	if slug == "" {
		slug = sport.Sports[0].Slug
		for _, c := range counts {
			if c.Today > 0 {
				slug = c.Slug
				break
			}
		}
	} else if _, ok := sport.Lookup(slug); !ok {
		return errNotFound
	}
	d := &mainData{Sport: slug, Day: day, Date: day.Format(time.DateOnly)}
	byCount := map[string]int{}
	for _, c := range counts {
		byCount[c.Slug] = c.Today
	}
	for _, sp := range sport.Sports {
		d.Sports = append(d.Sports, sportTab{Slug: sp.Slug, Count: byCount[sp.Slug], Current: sp.Slug == slug})
	}
	for i, key := range []string{"main.day.yesterday", "main.day.today", "main.day.tomorrow"} {
		date := today.AddDate(0, 0, i-1).Format(time.DateOnly)
		d.Days = append(d.Days, dayLink{Key: key, Date: date, Current: date == d.Date})
	}
	matches, _, err := s.store.FindMatches(r.Context(), sport.MatchFilter{Sport: slug, From: day.UTC(), To: next.UTC(), Limit: maxMainMatches, MainMarketOnly: true})
	if err != nil {
		return err
	}
	d.Count = len(matches)
	pg := s.page(w, r, "main", d)
	t, p := s.views[pg.Lang]["main"], s.opt.Catalog.For(pg.Lang)
	at := map[string]int{}
	for _, m := range matches {
		i, ok := at[m.League.ID]
		if !ok {
			i = len(d.Leagues)
			at[m.League.ID] = i
			d.Leagues = append(d.Leagues, leagueGroup{Name: m.League.Name})
		}
		row, err := s.rows.render(t, pg, p, m)
		if err != nil {
			return err
		}
		d.Leagues[i].rows = append(d.Leagues[i].rows, string(row))
	}
	for i := range d.Leagues {
		d.Leagues[i].Rows = template.HTML(strings.Join(d.Leagues[i].rows, "")) //nolint:gosec // rows rendered by html/template
	}
	return s.write(w, http.StatusOK, pg)
}
