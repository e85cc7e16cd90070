package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/chat"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// matchStore is what the match page reads.
type matchStore interface {
	FindMatch(ctx context.Context, id string) (*betting.Match, error)
	MatchStats(ctx context.Context, id string) (*sport.MatchStats, error)
	FindOddsHistory(ctx context.Context, matchID string, f betting.OddsHistoryFilter) ([]*betting.SelectionHistory, string, error)
	CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error)
	MatchResult(ctx context.Context, matchID string) (*sport.Outcome, error)
	ChatHistory(ctx context.Context, matchID string, before, after int64, limit int) ([]*chat.Message, error)
}

// chatShown is how many of a room's latest messages the page carries: the
// whole panel without JavaScript, and where the socket resumes from.
const chatShown = 50

// maxHistoryPages bounds the pages of odds history one match page reads
// (betting.MaxOddsHistory versions each): a main market that moved more
// than that is charted up to there, and its current price closes the line.
const maxHistoryPages = 4

// selectionView is one outcome of a market as the page shows it.
type selectionView struct {
	ID   string
	Name string
	// Line is the selection's own line, signed from its side for a
	// handicap ("−1.5" for the home side, "+1.5" for the away side).
	Line string
	Odds odds.Odds
	// Prob is the margin-free implied probability ("47.3%").
	Prob string
}

// marketView is one market with its title's line.
type marketView struct {
	ID   string
	Kind betting.MarketKind
	// Line is the title's line: the total, or the handicap from the home
	// side.
	Line       string
	Open       bool
	Selections []selectionView
}

// resultView is a finished or void match's outcome and the scores each
// kind of market settles on.
type resultView struct {
	Void       bool
	Final      sport.Pair
	Regulation sport.Pair
	// Overtime says the final score differs from the regulation one.
	Overtime bool
	// RegulationTotals: totals and handicaps settle on the regulation
	// score (else on the final one).
	RegulationTotals bool
	// Evidence is what the bets were settled on; nil while the store has
	// no result recorded (a match the feed reported over but not yet
	// settled).
	Evidence *sport.Evidence
}

// sideView is one team's form and season record.
type sideView struct {
	Which  string // "home" or "away"
	Team   sport.Ref
	Form   []sport.FormResult
	Season sport.SeasonRecord
}

type matchData struct {
	Match    *betting.Match
	Sports   []sportTab
	Markets  []marketView
	Charts   []*chart
	Sides    []sideView
	Meetings []sport.Meeting
	Result   *resultView
	// Chat is the room's latest messages, oldest first.
	Chat []*chat.Message
	// ZoneName is the viewer's zone's abbreviation ("KST"), for the times
	// the chat script writes.
	ZoneName string
}

// handleMatch is a match's page: the teams, state and score, the sides'
// form, season records and meetings, every market with its odds buttons,
// the main market's price movement and, once over, the result. An unknown
// or malformed id is the 404 page.
func (s *Web) handleMatch(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return errNotFound
	}
	ctx := r.Context()
	m, err := s.store.FindMatch(ctx, id)
	if err != nil {
		return notFound(err)
	}
	stats, err := s.store.MatchStats(ctx, id)
	if err != nil {
		return notFound(err)
	}
	zone := viewerZone(r)
	now := s.now().In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	counts, err := s.store.CountBySport(ctx, today.UTC(), today.AddDate(0, 0, 1).UTC())
	if err != nil {
		return err
	}
	msgs, err := s.store.ChatHistory(ctx, id, 0, 0, chatShown)
	if err != nil {
		return notFound(err)
	}
	d := &matchData{Match: m, Chat: msgs, ZoneName: i18n.Zone(now), Meetings: stats.HeadToHead, Sides: []sideView{
		{Which: "home", Team: m.Home, Form: stats.Form.Home, Season: stats.Season.Home},
		{Which: "away", Team: m.Away, Form: stats.Form.Away, Season: stats.Season.Away},
	}}
	for _, c := range counts {
		d.Sports = append(d.Sports, sportTab{Slug: c.Slug, Count: c.Today, Current: c.Slug == m.Sport})
	}
	for _, mk := range m.Markets {
		d.Markets = append(d.Markets, toMarketView(mk))
	}
	if mm := m.MainMarket(); mm != nil {
		hist, err := s.mainHistory(ctx, id, mm.ID)
		if err != nil {
			return notFound(err)
		}
		end := now
		if m.KickoffAt.Before(end) {
			end = m.KickoffAt // markets close at kick-off
		}
		for _, sel := range mm.Selections {
			d.Charts = append(d.Charts, buildChart(mm.Kind, sel, hist[sel.ID], end))
		}
	}
	if d.Result = resultOf(m.Match); d.Result != nil {
		o, err := s.store.MatchResult(r.Context(), m.ID)
		if err != nil {
			return err
		}
		if o != nil {
			d.Result.Evidence = &o.Evidence
		}
	}
	return s.render(w, r, http.StatusOK, "match", d)
}

// notFound turns the store's "no such match" into the site's 404 page;
// other errors pass.
func notFound(err error) error {
	if fe, ok := fault.As(err); ok && fe.Kind == fault.NotFound {
		return errNotFound
	}
	return err
}

// mainHistory reads the main market's versions per selection, oldest
// first, across at most maxHistoryPages pages.
func (s *Web) mainHistory(ctx context.Context, matchID, marketID string) (map[string][]betting.OddsVersion, error) {
	out := map[string][]betting.OddsVersion{}
	cursor := ""
	for range maxHistoryPages {
		page, next, err := s.store.FindOddsHistory(ctx, matchID, betting.OddsHistoryFilter{MarketID: marketID, Cursor: cursor, Limit: betting.MaxOddsHistory})
		if err != nil {
			return nil, err
		}
		for _, h := range page {
			out[h.SelectionID] = append(out[h.SelectionID], h.Versions...)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

func toMarketView(mk *betting.Market) marketView {
	v := marketView{ID: mk.ID, Kind: mk.Kind, Open: mk.Open}
	if mk.Line != nil {
		v.Line = lineText(*mk.Line, mk.Kind == betting.Handicap)
	}
	for _, sel := range mk.Selections {
		sv := selectionView{ID: sel.ID, Name: sel.Name, Odds: sel.Odds, Prob: percent(sel.ImpliedPPM)}
		if mk.Line != nil {
			l := *mk.Line
			if mk.Kind == betting.Handicap && sel.Name == "away" {
				l = -l
			}
			sv.Line = lineText(l, mk.Kind == betting.Handicap)
		}
		v.Selections = append(v.Selections, sv)
	}
	return v
}

// lineText writes a line as people read it: "2.5", "3"; a handicap signed,
// with a true minus sign ("−1.5", "+1", "0").
func lineText(l odds.Line, signed bool) string {
	v := int64(l)
	sign := ""
	switch {
	case v < 0:
		sign, v = "−", -v
	case v > 0 && signed:
		sign = "+"
	}
	s := strconv.FormatInt(v/100, 10)
	if frac := v % 100; frac != 0 {
		s += "." + decimals(frac)
	}
	return sign + s
}

// decimals writes hundredths without a trailing zero (50 → "5", 25 → "25").
func decimals(frac int64) string {
	if frac%10 == 0 {
		return strconv.FormatInt(frac/10, 10)
	}
	return strconv.FormatInt(frac/10, 10) + strconv.FormatInt(frac%10, 10)
}

// percent writes parts per million as a percentage with one decimal.
func percent(ppm int64) string {
	tenths := (ppm + 500) / 1000
	return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10) + "%"
}

// resultOf is the outcome shown for a match that is over: a score once
// finished, void once cancelled or abandoned; nil before.
func resultOf(m *sport.Match) *resultView {
	switch m.State {
	case sport.Cancelled, sport.Abandoned:
		return &resultView{Void: true}
	case sport.Finished:
	default:
		return nil
	}
	if m.Score == nil {
		return nil
	}
	sp, _ := sport.Lookup(m.Sport)
	return &resultView{Final: m.Score.Final(), Regulation: m.Score.Regulation, Overtime: m.Score.Final() != m.Score.Regulation,
		RegulationTotals: sp.RegulationTotals}
}
