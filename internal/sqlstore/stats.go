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
// Codes: match_not_found.
func (db *DB) MatchStats(ctx context.Context, id string) (*sport.MatchStats, error) {
	mid, ok := parseID(pMatch, id)
	if !ok {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	var league, home, away int64
	var kickoff time.Time
	err := db.ro.QueryRowContext(ctx, `SELECT league_id, home_id, away_id, kickoff_at FROM matches WHERE id = $1`, mid).Scan(&league, &home, &away, scanTime{&kickoff})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if err != nil {
		return nil, classify(err)
	}
	st := &sport.MatchStats{Form: sport.HomeAway[[]sport.FormResult]{Home: []sport.FormResult{}, Away: []sport.FormResult{}}, HeadToHead: []sport.Meeting{}}
	yearStart := time.Date(kickoff.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	for _, side := range []struct {
		team   int64
		form   *[]sport.FormResult
		season *sport.SeasonRecord
	}{{home, &st.Form.Home, &st.Season.Home}, {away, &st.Form.Away, &st.Season.Away}} {
		rows, err := db.ro.QueryContext(ctx, `SELECT m.id, m.league_id, m.home_id, m.kickoff_at, r.home, r.away, CASE WHEN m.home_id = $1 THEN a.name ELSE h.name END
			FROM matches m JOIN match_results r ON r.id = m.result_id
			JOIN teams h ON h.id = m.home_id JOIN teams a ON a.id = m.away_id
			WHERE (m.home_id = $1 OR m.away_id = $1) AND m.kickoff_at < $2 AND m.kickoff_at >= $3 AND r.outcome = 'result'
			ORDER BY m.kickoff_at DESC`, side.team, db.d.ts(kickoff), db.d.ts(yearStart.AddDate(-1, 0, 0)))
		if err != nil {
			return nil, classify(err)
		}
		for rows.Next() {
			var f sport.FormResult
			var id, lg, hid int64
			var hs, as int
			if err := rows.Scan(&id, &lg, &hid, scanTime{&f.KickoffAt}, &hs, &as, &f.Opponent); err != nil {
				rows.Close()
				return nil, err
			}
			f.MatchID, f.Home = fmtID(pMatch, id), hid == side.team
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
			if len(*side.form) < formDepth {
				*side.form = append(*side.form, f)
			}
			if lg == league && !f.KickoffAt.Before(yearStart) {
				s := side.season
				s.Played++
				s.For += f.For
				s.Against += f.Against
				switch f.Result {
				case "W":
					s.Won++
				case "L":
					s.Lost++
				default:
					s.Drawn++
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify(err)
		}
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT m.id, m.kickoff_at, m.home_id, m.away_id, r.home, r.away
		FROM matches m JOIN match_results r ON r.id = m.result_id
		WHERE ((m.home_id = $1 AND m.away_id = $2) OR (m.home_id = $2 AND m.away_id = $1)) AND m.kickoff_at < $3 AND r.outcome = 'result'
		ORDER BY m.kickoff_at DESC LIMIT $4`, home, away, db.d.ts(kickoff), formDepth)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var mt sport.Meeting
		var id, h, a int64
		if err := rows.Scan(&id, scanTime{&mt.KickoffAt}, &h, &a, &mt.HomeScore, &mt.AwayScore); err != nil {
			return nil, err
		}
		mt.MatchID, mt.HomeID, mt.AwayID = fmtID(pMatch, id), fmtID(pTeam, h), fmtID(pTeam, a)
		st.HeadToHead = append(st.HeadToHead, mt)
	}
	return st, classify(rows.Err())
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
