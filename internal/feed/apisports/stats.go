package apisports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// TeamStats is a team's season in one league as the provider counts it:
// a fallback for form and season record when too few results are stored.
type TeamStats struct {
	Sport  string
	League feed.Named
	Team   feed.Named
	Season string
	// Form is the provider's recent results, oldest first ("WWDLW"); only
	// W, D and L are kept.
	Form   string
	Record sport.SeasonRecord
}

// TeamStatistics returns a team's season statistics (football
// /teams/statistics, basketball /statistics, other v1 /teams/statistics).
// Like HeadToHead it only spends spare budget and is cached for the day.
func (c *Client) TeamStatistics(ctx context.Context, sportSlug, league, season, team string) (*TeamStats, error) {
	s := c.sports[sportSlug]
	if s == nil || !validID(league) || !validID(team) || !validSeason(season) {
		return nil, errors.New("apisports: bad team statistics request")
	}
	path := "/teams/statistics"
	if sportSlug == "basketball" {
		path = "/statistics"
	}
	q := url.Values{"league": {league}, "season": {season}, "team": {team}}
	key := path + "?" + q.Encode()
	now := c.now()
	s.fetch.Lock()
	defer s.fetch.Unlock()
	s.mu.Lock()
	if st, ok := s.stats[key]; ok && now.Sub(st.at) < 24*time.Hour {
		s.mu.Unlock()
		cp := *st.stats
		return &cp, nil
	}
	if err := s.spare(now); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()
	env, err := c.get(ctx, s, path, q)
	var ts *TeamStats
	if err == nil {
		ts, err = parseTeamStatsItems(sportSlug, env, c.log)
	}
	if err != nil {
		c.failed(s, key, err, now)
		return nil, err
	}
	s.mu.Lock()
	s.succeeded(now)
	s.stats[key] = statsEntry{stats: ts, at: now}
	s.mu.Unlock()
	cp := *ts
	return &cp, nil
}

func validSeason(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// parseTeamStatsBody reads a whole statistics answer.
func parseTeamStatsBody(sp string, body []byte, log *slog.Logger) (*TeamStats, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: err.Error()}
	}
	if perr := env.providerError(sp); perr != nil {
		return nil, perr
	}
	return parseTeamStatsItems(sp, env, log)
}

// statsCount accepts a number, {total|all: n} or {all: {total: n}}.
type statsCount struct{ optInt }

func (c *statsCount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return c.optInt.UnmarshalJSON(b)
	}
	var v struct {
		Total optInt          `json:"total"`
		All   json.RawMessage `json:"all"`
	}
	if json.Unmarshal(b, &v) != nil {
		c.optInt = optInt{Bad: true}
		return nil
	}
	if v.Total.Set || v.Total.Bad {
		c.optInt = v.Total
		return nil
	}
	var all statsCount
	if len(v.All) > 0 {
		_ = all.UnmarshalJSON(v.All)
	}
	c.optInt = all.optInt
	return nil
}

type goalTotals struct {
	For     struct{ Total statsCount } `json:"for"`
	Against struct{ Total statsCount } `json:"against"`
}

func parseTeamStatsItems(sp string, env *envelope, log *slog.Logger) (*TeamStats, error) {
	raw := bytes.TrimSpace(env.Response)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: "statistics answer is not an object"}
	}
	var v struct {
		League rawLeague `json:"league"`
		Team   rawTeam   `json:"team"`
		Form   looseString
		// football
		Fixtures struct {
			Played statsCount `json:"played"`
			Wins   statsCount `json:"wins"`
			Draws  statsCount `json:"draws"`
			Loses  statsCount `json:"loses"`
		} `json:"fixtures"`
		// v1
		Games struct {
			Played statsCount `json:"played"`
			Wins   statsCount `json:"wins"`
			Draws  statsCount `json:"draws"`
			Loses  statsCount `json:"loses"`
		} `json:"games"`
		Goals  goalTotals `json:"goals"`
		Points goalTotals `json:"points"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		log.Warn("apisports: unreadable team statistics", "sport", sp, "err", shortErr(err))
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: "unreadable team statistics"}
	}
	if v.Team.ID == "" || v.Team.Name == "" {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: "team statistics without a team"}
	}
	g := v.Fixtures
	if sp != "football" {
		g = v.Games
	}
	goals := v.Goals
	if !goals.For.Total.Set && v.Points.For.Total.Set {
		goals = v.Points // basketball counts points
	}
	counts := []optInt{g.Played.optInt, g.Wins.optInt, g.Draws.optInt, g.Loses.optInt, goals.For.Total.optInt, goals.Against.Total.optInt}
	for _, n := range counts {
		if n.Bad {
			return nil, &Error{Sport: sp, Kind: KindMalformed, Message: "unreadable count in team statistics"}
		}
	}
	rec := sport.SeasonRecord{Played: g.Played.V, Won: g.Wins.V, Drawn: g.Draws.V, Lost: g.Loses.V, For: goals.For.Total.V, Against: goals.Against.Total.V}
	if rec.Won+rec.Drawn+rec.Lost > rec.Played {
		return nil, &Error{Sport: sp, Kind: KindMalformed, Message: "more results than games in team statistics"}
	}
	form := strings.ToUpper(string(v.Form))
	if strings.Trim(form, "WDL") != "" || len(form) > 100 {
		form = ""
	}
	return &TeamStats{
		Sport:  sp,
		League: feed.Named{Ref: string(v.League.ID), Name: string(v.League.Name), Country: string(v.League.Country)},
		Team:   feed.Named{Ref: string(v.Team.ID), Name: string(v.Team.Name)},
		Season: rawString(v.League.Season),
		Form:   form,
		Record: rec,
	}, nil
}
