package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// formDepth is how many recent results and meetings are shown.
const formDepth = 5

// MatchStats computes form, season records and head-to-head from results
// stored before the match's kick-off, from the replica.
//
// A season record counts the team's league season whatever competition
// the match is in: the competition it played most in the kick-off year
// (or, with no result yet that year, the year before; else the match's
// own), so a cup tie shows the sides' league records.
//
// Codes: match_not_found.
func (db *DB) MatchStats(ctx context.Context, id string) (*sport.MatchStats, error) {
	mid, ok := parseID(pMatch, id)
	if !ok {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	var league, home, away int64
	var leagueName string
	var kickoff time.Time
	err := db.ro.QueryRowContext(ctx, `SELECT m.league_id, l.name, m.home_id, m.away_id, m.kickoff_at FROM matches m JOIN leagues l ON l.id = m.league_id WHERE m.id = $1`, mid).
		Scan(&league, &leagueName, &home, &away, scanTime{&kickoff})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if err != nil {
		return nil, classify(err)
	}
	own := sport.Ref{ID: fmtID(pLeague, league), Name: leagueName}
	st := &sport.MatchStats{Form: sport.HomeAway[[]sport.FormResult]{Home: []sport.FormResult{}, Away: []sport.FormResult{}}, HeadToHead: []sport.Meeting{}}
	yearStart := time.Date(kickoff.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	for _, side := range []struct {
		team   int64
		form   *[]sport.FormResult
		season *sport.SeasonRecord
	}{{home, &st.Form.Home, &st.Season.Home}, {away, &st.Form.Away, &st.Season.Away}} {
		results, err := db.teamResults(ctx, side.team, kickoff, yearStart.AddDate(-1, 0, 0))
		if err != nil {
			return nil, err
		}
		*side.form = results[:min(formDepth, len(results))]
		*side.season = seasonRecord(results, own, yearStart)
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT m.id, m.kickoff_at, m.league_id, l.name, m.home_id, h.name, m.away_id, a.name, r.home, r.away
		FROM matches m JOIN match_results r ON r.id = m.result_id
		JOIN teams h ON h.id = m.home_id JOIN teams a ON a.id = m.away_id JOIN leagues l ON l.id = m.league_id
		WHERE ((m.home_id = $1 AND m.away_id = $2) OR (m.home_id = $2 AND m.away_id = $1)) AND m.kickoff_at < $3 AND r.outcome = 'result'
		ORDER BY m.kickoff_at DESC LIMIT $4`, home, away, db.d.ts(kickoff), formDepth)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var mt sport.Meeting
		var id, lg, h, a int64
		if err := rows.Scan(&id, scanTime{&mt.KickoffAt}, &lg, &mt.League.Name, &h, &mt.Home.Name, &a, &mt.Away.Name, &mt.HomeScore, &mt.AwayScore); err != nil {
			return nil, err
		}
		mt.MatchID, mt.League.ID, mt.HomeID, mt.AwayID = fmtID(pMatch, id), fmtID(pLeague, lg), fmtID(pTeam, h), fmtID(pTeam, a)
		mt.Home.ID, mt.Away.ID = mt.HomeID, mt.AwayID
		st.HeadToHead = append(st.HeadToHead, mt)
	}
	return st, classify(rows.Err())
}

// teamResults lists a team's results from since until before, newest
// first, from its point of view.
func (db *DB) teamResults(ctx context.Context, team int64, before, since time.Time) ([]sport.FormResult, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT m.id, m.league_id, l.name, m.home_id, m.kickoff_at, r.home, r.away,
			CASE WHEN m.home_id = $1 THEN m.away_id ELSE m.home_id END, CASE WHEN m.home_id = $1 THEN a.name ELSE h.name END
		FROM matches m JOIN match_results r ON r.id = m.result_id
		JOIN teams h ON h.id = m.home_id JOIN teams a ON a.id = m.away_id JOIN leagues l ON l.id = m.league_id
		WHERE (m.home_id = $1 OR m.away_id = $1) AND m.kickoff_at < $2 AND m.kickoff_at >= $3 AND r.outcome = 'result'
		ORDER BY m.kickoff_at DESC, m.id DESC`, team, db.d.ts(before), db.d.ts(since))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []sport.FormResult
	for rows.Next() {
		var f sport.FormResult
		var id, lg, hid, opp int64
		var hs, as int
		if err := rows.Scan(&id, &lg, &f.League.Name, &hid, scanTime{&f.KickoffAt}, &hs, &as, &opp, &f.Opponent); err != nil {
			return nil, err
		}
		f.MatchID, f.League.ID, f.OpponentID, f.Home = fmtID(pMatch, id), fmtID(pLeague, lg), fmtID(pTeam, opp), hid == team
		f.For, f.Against = hs, as
		if !f.Home {
			f.For, f.Against = as, hs
		}
		switch {
		case f.For > f.Against:
			f.Result = "W"
		case f.For < f.Against:
			f.Result = "L"
		default:
			f.Result = "D"
		}
		out = append(out, f)
	}
	return out, classify(rows.Err())
}

// seasonRecord is a team's record in its league in the year from
// yearStart, from its results newest first. Its league is the competition
// of most of its results that year, else of the year before, else own;
// a tie goes to own, then to the competition played most recently.
func seasonRecord(results []sport.FormResult, own sport.Ref, yearStart time.Time) sport.SeasonRecord {
	pick := func(in func(time.Time) bool) (sport.Ref, bool) {
		count := map[string]int{}
		var seen []sport.Ref // by most recent result
		for _, f := range results {
			if !in(f.KickoffAt) {
				continue
			}
			if count[f.League.ID] == 0 {
				seen = append(seen, f.League)
			}
			count[f.League.ID]++
		}
		if len(seen) == 0 {
			return own, false
		}
		best := seen[0]
		for _, l := range seen[1:] {
			if count[l.ID] > count[best.ID] {
				best = l
			}
		}
		if count[own.ID] == count[best.ID] {
			best = own
		}
		return best, true
	}
	thisYear := func(t time.Time) bool { return !t.Before(yearStart) }
	lg, ok := pick(thisYear)
	if !ok {
		lg, _ = pick(func(t time.Time) bool { return t.Before(yearStart) })
	}
	rec := sport.SeasonRecord{League: lg, Season: yearStart.Year()}
	for _, f := range results {
		if f.League.ID != lg.ID || !thisYear(f.KickoffAt) {
			continue
		}
		rec.Played++
		rec.For += f.For
		rec.Against += f.Against
		switch f.Result {
		case "W":
			rec.Won++
		case "L":
			rec.Lost++
		default:
			rec.Drawn++
		}
	}
	return rec
}

// TeamScoring averages what a provider's team scored and conceded over its
// last n results (for the odds model's fallback prices).
func (db *DB) TeamScoring(ctx context.Context, provider, sp, teamRef string, n int) (scored, conceded float64, played int, err error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT m.home_id = t.id, r.reg_home, r.reg_away
		FROM teams t JOIN matches m ON m.home_id = t.id OR m.away_id = t.id
		JOIN match_results r ON r.id = m.result_id
		WHERE t.external_ref = $1 AND r.outcome = 'result'
		ORDER BY m.kickoff_at DESC LIMIT $2`, provider+":"+sp+":"+teamRef, n)
	if err != nil {
		return 0, 0, 0, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var home bool
		var h, a int
		if err := rows.Scan(&home, &h, &a); err != nil {
			return 0, 0, 0, err
		}
		if !home {
			h, a = a, h
		}
		scored += float64(h)
		conceded += float64(a)
		played++
	}
	if played > 0 {
		scored /= float64(played)
		conceded /= float64(played)
	}
	return scored, conceded, played, classify(rows.Err())
}
