package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// CreateMatch creates a match, its league and teams (found by name within
// the sport when they exist) and its markets with their first odds
// version.
//
// Codes: invalid_match.
func (db *DB) CreateMatch(ctx context.Context, nm betting.NewMatch) (*betting.Match, error) {
	sp, ok := sport.Lookup(nm.Sport)
	if !ok {
		return nil, fault.New(fault.Invalid, "invalid_match", "Unknown sport %q.", nm.Sport)
	}
	if err := nm.CheckNames(); err != nil {
		return nil, err
	}
	if strings.EqualFold(nm.Home, nm.Away) {
		return nil, fault.New(fault.Invalid, "invalid_match", "A team cannot play itself.")
	}
	seen := map[string]bool{}
	for _, mk := range nm.Markets {
		if mk.Kind == betting.OneXTwo && !sp.HasDraw {
			return nil, fault.New(fault.Invalid, "invalid_match", "%s has no draws: use a moneyline market.", sp.Name)
		}
		k := string(mk.Kind)
		if mk.Line != nil {
			k += mk.Line.String()
		}
		if seen[k] {
			return nil, fault.New(fault.Invalid, "invalid_match", "Market %s appears twice.", k)
		}
		seen[k] = true
	}
	now := db.Now()
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		league, err := db.upsertNamed(ctx, tx, "leagues", nm.Sport, nm.League)
		if err != nil {
			return err
		}
		home, err := db.upsertNamed(ctx, tx, "teams", nm.Sport, nm.Home)
		if err != nil {
			return err
		}
		away, err := db.upsertNamed(ctx, tx, "teams", nm.Sport, nm.Away)
		if err != nil {
			return err
		}
		var ext sql.NullString
		if nm.ExternalRef != "" {
			ext = sql.NullString{String: nm.ExternalRef, Valid: true}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO matches (sport, league_id, home_id, away_id, kickoff_at, original_kickoff_at, state, external_ref, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5, 'scheduled', $6, $7) RETURNING id`,
			nm.Sport, league, home, away, db.d.ts(nm.KickoffAt), ext, db.d.ts(now)).Scan(&id); err != nil {
			return err
		}
		for _, mk := range nm.Markets {
			if err := db.insertMarket(ctx, tx, id, mk, "operator", now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.findMatch(ctx, db.rw, id)
}

// upsertNamed finds a league or team by sport and name, creating it.
func (db *DB) upsertNamed(ctx context.Context, tx *sql.Tx, table, sp, name string) (int64, error) {
	ref := sp + ":" + strings.ToLower(name)
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE external_ref = $1`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO `+table+` (sport, name, external_ref) VALUES ($1, $2, $3) RETURNING id`, sp, name, ref).Scan(&id)
	}
	return id, err
}

// UpdateOdds sets a selection's price and records it as a new version.
//
// Codes: unknown_selection, invalid_odds.
func (db *DB) UpdateOdds(ctx context.Context, selectionID string, price odds.Odds) error {
	sid, ok := parseID(pSelection, selectionID)
	if !ok {
		return fault.New(fault.NotFound, "unknown_selection", "No such selection.")
	}
	if price < odds.Min || price > odds.Max {
		return fault.New(fault.Invalid, "invalid_odds", "Odds must be between %s and %s.", odds.Min, odds.Max)
	}
	now := db.Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		var marketID int64
		if err := tx.QueryRowContext(ctx, `UPDATE selections SET odds = $1 WHERE id = $2 RETURNING market_id`, int64(price), sid).Scan(&marketID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fault.New(fault.NotFound, "unknown_selection", "No such selection.")
			}
			return err
		}
		// Recompute the margin-free probabilities of the whole market:
		// one price moving changes every selection's share.
		rows, err := tx.QueryContext(ctx, `SELECT id, odds FROM selections WHERE market_id = $1 ORDER BY id`, marketID)
		if err != nil {
			return err
		}
		var ids []int64
		var prices []odds.Odds
		for rows.Next() {
			var id, o int64
			if err := rows.Scan(&id, &o); err != nil {
				rows.Close()
				return err
			}
			ids, prices = append(ids, id), append(prices, odds.Odds(o))
		}
		rows.Close()
		fair := odds.FairPPM(prices)
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE selections SET implied_ppm = $1 WHERE id = $2`, fair[i], id); err != nil {
				return err
			}
			if id == sid {
				if _, err := tx.ExecContext(ctx, `INSERT INTO odds_versions (selection_id, odds, implied_ppm, created_at) VALUES ($1, $2, $3, $4)`,
					id, int64(price), fair[i], db.d.ts(now)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// OddsVersion is one historical price of a selection.
type OddsVersion struct {
	Odds       odds.Odds `json:"odds"`
	ImpliedPPM int64     `json:"-"`
	At         time.Time `json:"at"`
}

// OddsHistory lists a selection's prices, oldest first.
func (db *DB) OddsHistory(ctx context.Context, selectionID string) ([]OddsVersion, error) {
	sid, ok := parseID(pSelection, selectionID)
	if !ok {
		return nil, fault.New(fault.NotFound, "unknown_selection", "No such selection.")
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT odds, implied_ppm, created_at FROM odds_versions WHERE selection_id = $1 ORDER BY id`, sid)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []OddsVersion
	for rows.Next() {
		var v OddsVersion
		if err := rows.Scan(&v.Odds, &v.ImpliedPPM, scanTime{&v.At}); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, classify(rows.Err())
}

const matchCols = `m.id, m.sport, l.id, l.name, h.id, h.name, a.id, a.name, m.kickoff_at, m.state, m.locked,
	r.outcome, r.home, r.away, r.reg_home, r.reg_away, m.live_home, m.live_away`

const matchFrom = ` FROM matches m
	JOIN leagues l ON l.id = m.league_id
	JOIN teams h ON h.id = m.home_id
	JOIN teams a ON a.id = m.away_id
	LEFT JOIN match_results r ON r.id = m.result_id`

func scanMatch(row interface{ Scan(...any) error }) (*sport.Match, error) {
	var m sport.Match
	var id, lid, hid, aid int64
	var outcome sql.NullString
	var h, a, rh, ra, lh, la sql.NullInt64
	if err := row.Scan(&id, &m.Sport, &lid, &m.League.Name, &hid, &m.Home.Name, &aid, &m.Away.Name, scanTime{&m.KickoffAt}, &m.State, &m.Locked,
		&outcome, &h, &a, &rh, &ra, &lh, &la); err != nil {
		return nil, err
	}
	if lh.Valid && la.Valid && !outcome.Valid {
		// In play: the running score; regulation is not settled yet.
		live := sport.Pair{Home: int(lh.Int64), Away: int(la.Int64)}
		m.Score = &sport.Score{Home: live.Home, Away: live.Away, Regulation: live}
	}
	m.ID, m.League.ID, m.Home.ID, m.Away.ID = fmtID(pMatch, id), fmtID(pLeague, lid), fmtID(pTeam, hid), fmtID(pTeam, aid)
	if outcome.String == "result" {
		m.Score = &sport.Score{Home: int(h.Int64), Away: int(a.Int64), Regulation: sport.Pair{Home: int(rh.Int64), Away: int(ra.Int64)}}
	}
	return &m, nil
}

// FindMatches lists matches by kick-off, from the replica when there is
// one, each with its markets.
//
// Codes: invalid_cursor.
func (db *DB) FindMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := `SELECT ` + matchCols + matchFrom + ` WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Sport != "" {
		q += ` AND m.sport = ` + arg(f.Sport)
	}
	if !f.From.IsZero() {
		q += ` AND m.kickoff_at >= ` + arg(db.d.ts(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND m.kickoff_at < ` + arg(db.d.ts(f.To))
	}
	if f.State != "" {
		q += ` AND m.state = ` + arg(string(f.State))
	}
	if f.Cursor != "" {
		at, id, ok := parseMatchCursor(f.Cursor)
		if !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
		ts := arg(db.d.ts(at))
		q += ` AND (m.kickoff_at > ` + ts + ` OR (m.kickoff_at = ` + ts + ` AND m.id > ` + arg(id) + `))`
	}
	q += ` ORDER BY m.kickoff_at, m.id LIMIT ` + arg(f.Limit+1)
	rows, err := db.ro.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", classify(err)
	}
	var out []*betting.Match
	for rows.Next() {
		m, err := scanMatch(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, &betting.Match{Match: m})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[f.Limit-1]
		id, _ := parseID(pMatch, last.ID)
		next = fmt.Sprintf("%d.%d", last.KickoffAt.UnixMicro(), id)
	}
	if err := db.loadMarkets(ctx, db.ro, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func parseMatchCursor(c string) (time.Time, int64, bool) {
	a, b, ok := strings.Cut(c, ".")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// FindMatch returns one match with its markets, from the replica.
//
// Codes: match_not_found.
func (db *DB) FindMatch(ctx context.Context, id string) (*betting.Match, error) {
	mid, ok := parseID(pMatch, id)
	if !ok {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	return db.findMatch(ctx, db.ro, mid)
}

func (db *DB) findMatch(ctx context.Context, q queryer, id int64) (*betting.Match, error) {
	m, err := scanMatch(q.QueryRowContext(ctx, `SELECT `+matchCols+matchFrom+` WHERE m.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if err != nil {
		return nil, classify(err)
	}
	out := []*betting.Match{{Match: m}}
	if err := db.loadMarkets(ctx, q, out); err != nil {
		return nil, err
	}
	return out[0], nil
}

// loadMarkets fills the markets of matches in one query.
func (db *DB) loadMarkets(ctx context.Context, q queryer, ms []*betting.Match) error {
	if len(ms) == 0 {
		return nil
	}
	byID := make(map[int64]*betting.Match, len(ms))
	args := make([]any, 0, len(ms))
	for _, m := range ms {
		id, _ := parseID(pMatch, m.ID)
		byID[id] = m
		args = append(args, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT mk.match_id, mk.id, mk.kind, mk.line, mk.open, s.id, s.name, s.odds, s.implied_ppm
		FROM markets mk JOIN selections s ON s.market_id = mk.id
		WHERE mk.match_id IN (`+inList(len(args), 0)+`) ORDER BY mk.match_id, mk.id, s.id`, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	now := db.Now()
	var cur *betting.Market
	var curID int64
	for rows.Next() {
		var matchID, marketID, selID, price, ppm int64
		var kind, name string
		var line sql.NullInt64
		var open bool
		if err := rows.Scan(&matchID, &marketID, &kind, &line, &open, &selID, &name, &price, &ppm); err != nil {
			return err
		}
		m := byID[matchID]
		if cur == nil || curID != marketID {
			cur = &betting.Market{ID: fmtID(pMarket, marketID), MatchID: m.ID, Kind: betting.MarketKind(kind),
				Open: open && m.State == sport.Scheduled && now.Before(m.KickoffAt)}
			if line.Valid {
				l := odds.Line(line.Int64)
				cur.Line = &l
			}
			curID = marketID
			m.Markets = append(m.Markets, cur)
		}
		cur.Selections = append(cur.Selections, &betting.Selection{ID: fmtID(pSelection, selID), Name: name, Odds: odds.Odds(price), ImpliedPPM: ppm})
	}
	return classify(rows.Err())
}

// CountBySport counts matches kicking off in [from, to) per sport, from
// the replica. Every sport is listed, with zero when it has none.
func (db *DB) CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT sport, COUNT(*) FROM matches WHERE kickoff_at >= $1 AND kickoff_at < $2 GROUP BY sport`,
		db.d.ts(from), db.d.ts(to))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		counts[s] = n
	}
	out := make([]sport.Count, 0, len(sport.Sports))
	for _, s := range sport.Sports {
		out = append(out, sport.Count{Sport: s, Today: counts[s.Slug]})
	}
	return out, classify(rows.Err())
}

// SetMatchState changes a match's state (kick-off, suspension, postponement).
// Kick-off and every state but scheduled close the markets.
//
// Codes: match_not_found, invalid_state.
func (db *DB) SetMatchState(ctx context.Context, id string, st sport.State) error {
	mid, ok := parseID(pMatch, id)
	if !ok {
		return fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if !st.Valid() || st == sport.Finished || st == sport.Cancelled || st == sport.Abandoned {
		return fault.New(fault.Invalid, "invalid_state", "Use the result or void operations to finish or cancel a match.")
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE matches SET state = $1, updated_at = $2 WHERE id = $3 AND result_id IS NULL`, string(st), db.d.ts(db.Now()), mid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.New(fault.NotFound, "match_not_found", "No such match, or it already has a result.")
		}
		_, err = tx.ExecContext(ctx, `UPDATE markets SET open = $1 WHERE match_id = $2`, st == sport.Scheduled, mid)
		return err
	})
}
