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
	defer db.lists.changed() // after the commit: see listCache
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
	err := db.audited(ctx, nm.Audit, func(tx *sql.Tx) error {
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
		if nm.Audit != nil {
			nm.Audit.Target = "match:" + fmtID(pMatch, id)
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
	defer db.lists.changed() // after the commit: see listCache
	sid, ok := parseID(pSelection, selectionID)
	if !ok {
		return fault.New(fault.NotFound, "unknown_selection", "No such selection.")
	}
	if price < odds.Min || price > odds.Max {
		return fault.New(fault.Invalid, "invalid_odds", "Odds must be between %s and %s.", odds.Min, odds.Max)
	}
	now := db.Now()
	var marketID int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
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
	if err == nil && db.afterCommit != nil {
		var mid int64
		if db.settlementReader().QueryRowContext(ctx, `SELECT match_id FROM markets WHERE id = $1`, marketID).Scan(&mid) == nil {
			db.publishMatchChanges(ctx, []matchChange{{id: mid, odds: true}})
		}
	}
	return err
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

// scanMatch reads matchCols, then into extra any columns after them.
func scanMatch(row interface{ Scan(...any) error }, extra ...any) (*sport.Match, error) {
	var m sport.Match
	var id, lid, hid, aid int64
	var outcome sql.NullString
	var h, a, rh, ra, lh, la sql.NullInt64
	if err := row.Scan(append([]any{&id, &m.Sport, &lid, &m.League.Name, &hid, &m.Home.Name, &aid, &m.Away.Name, scanTime{&m.KickoffAt}, &m.State, &m.Locked,
		&outcome, &h, &a, &rh, &ra, &lh, &la}, extra...)...); err != nil {
		return nil, err
	}
	m.ID, m.League.ID, m.Home.ID, m.Away.ID = fmtID(pMatch, id), fmtID(pLeague, lid), fmtID(pTeam, hid), fmtID(pTeam, aid)
	m.Score = currentScore(outcome, h, a, rh, ra, lh, la)
	return &m, nil
}

// currentScore is a match's score as lists show it: the result once there
// is one, the running score while in play, else none (and none for a
// voided match).
func currentScore(outcome sql.NullString, h, a, rh, ra, lh, la sql.NullInt64) *sport.Score {
	switch {
	case outcome.String == "result":
		return &sport.Score{Home: int(h.Int64), Away: int(a.Int64), Regulation: sport.Pair{Home: int(rh.Int64), Away: int(ra.Int64)}}
	case lh.Valid && la.Valid && !outcome.Valid:
		// In play: the running score; regulation is not settled yet.
		live := sport.Pair{Home: int(lh.Int64), Away: int(la.Int64)}
		return &sport.Score{Home: live.Home, Away: live.Away, Regulation: live}
	}
	return nil
}

// listGroup is sport.ListGroup as SQL over m.state, built from it so the
// two cannot disagree.
var listGroup = func() string {
	var b strings.Builder
	b.WriteString("CASE m.state")
	for _, st := range sport.States {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", st, sport.ListGroup(st))
	}
	fmt.Fprintf(&b, " ELSE %d END", sport.ListGroup(""))
	return b.String()
}()

// FindMatches lists matches in the order a fan reads them (sport.ListGroup:
// in play, still to play, finished, then postponed, cancelled and
// abandoned), by kick-off then id within each group, from the replica
// when there is one, each with its markets. The cursor is the last row's
// group, kick-off and id, so that a page never skips or repeats a match
// across the groups' boundaries.
//
// The matches returned may be shared with other callers (listCache):
// they must not be changed.
//
// Codes: invalid_cursor.
func (db *DB) FindMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error) {
	if db.lists == nil {
		return db.findMatches(ctx, f)
	}
	return db.lists.matches(ctx, f, db.Now(), db.findMatches)
}

func (db *DB) findMatches(ctx context.Context, f sport.MatchFilter) ([]*betting.Match, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	// The page is chosen over matches alone and joined after, so that
	// the sort by group reads no more than the day's match rows.
	q := `SELECT m.id, ` + listGroup + ` AS grp FROM matches m WHERE 1 = 1`
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
		grp, at, id, ok := parseMatchCursor(f.Cursor)
		if !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
		g, ts := arg(grp), arg(db.d.ts(at))
		q += ` AND (` + listGroup + ` > ` + g + ` OR (` + listGroup + ` = ` + g + ` AND (m.kickoff_at > ` + ts + ` OR (m.kickoff_at = ` + ts + ` AND m.id > ` + arg(id) + `))))`
	}
	q += ` ORDER BY grp, m.kickoff_at, m.id LIMIT ` + arg(f.Limit+1)
	q = `SELECT ` + matchCols + `, p.grp FROM (` + q + `) p JOIN matches m ON m.id = p.id` +
		strings.TrimPrefix(matchFrom, ` FROM matches m`) + ` ORDER BY p.grp, m.kickoff_at, m.id`
	rows, err := db.ro.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", classify(err)
	}
	var out []*betting.Match
	var groups []int
	for rows.Next() {
		var grp int
		m, err := scanMatch(rows, &grp)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, &betting.Match{Match: m})
		groups = append(groups, grp)
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
		next = fmt.Sprintf("%d.%d.%d", groups[f.Limit-1], last.KickoffAt.UnixMicro(), id)
	}
	kinds := ""
	if f.MainMarketOnly {
		kinds = ` AND mk.kind IN ('` + string(betting.OneXTwo) + `', '` + string(betting.Moneyline) + `')`
	}
	if err := db.loadMarkets(ctx, db.ro, out, kinds); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// parseMatchCursor reads "group.kickoff-µs.id".
func parseMatchCursor(c string) (int, time.Time, int64, bool) {
	parts := strings.Split(c, ".")
	if len(parts) != 3 {
		return 0, time.Time{}, 0, false
	}
	grp, err0 := strconv.Atoi(parts[0])
	us, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil || grp < 0 || grp > 3 {
		return 0, time.Time{}, 0, false
	}
	return grp, time.UnixMicro(us).UTC(), id, true
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
	if err := db.loadMarkets(ctx, q, out, ""); err != nil {
		return nil, err
	}
	return out[0], nil
}

// loadMarkets fills the markets of matches in one query; where, when
// not empty, narrows the markets (" AND mk.kind …").
func (db *DB) loadMarkets(ctx context.Context, q queryer, ms []*betting.Match, where string) error {
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
		WHERE mk.match_id IN (`+inList(len(args), 0)+`)`+where+` ORDER BY mk.match_id, mk.id, s.id`, args...)
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
// the replica: every match but cancelled ones, those still to play and
// those in play (sport.Count). Every sport is listed, with zeros when it
// has none.
func (db *DB) CountBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error) {
	if db.lists == nil {
		return db.countBySport(ctx, from, to)
	}
	return db.lists.countsBySport(ctx, from, to, db.Now(), db.countBySport)
}

func (db *DB) countBySport(ctx context.Context, from, to time.Time) ([]sport.Count, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT sport, COUNT(*),
			COALESCE(SUM(CASE WHEN state = 'scheduled' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN state IN ('live', 'suspended') THEN 1 ELSE 0 END), 0)
		FROM matches WHERE kickoff_at >= $1 AND kickoff_at < $2 AND state <> 'cancelled' GROUP BY sport`,
		db.d.ts(from), db.d.ts(to))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	counts := map[string]sport.Count{}
	for rows.Next() {
		var s string
		var c sport.Count
		if err := rows.Scan(&s, &c.Today, &c.Upcoming, &c.Live); err != nil {
			return nil, err
		}
		counts[s] = c
	}
	out := make([]sport.Count, 0, len(sport.Sports))
	for _, s := range sport.Sports {
		c := counts[s.Slug]
		c.Sport = s
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// SetMatchState changes a match's state (kick-off, suspension, postponement).
// Kick-off and every state but scheduled close the markets.
//
// Codes: match_not_found, invalid_state.
func (db *DB) SetMatchState(ctx context.Context, id string, st sport.State) error {
	defer db.lists.changed() // after the commit: see listCache
	mid, ok := parseID(pMatch, id)
	if !ok {
		return fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	if !st.Valid() || st == sport.Finished || st == sport.Cancelled || st == sport.Abandoned {
		return fault.New(fault.Invalid, "invalid_state", "Use the result or void operations to finish or cancel a match.")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
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
	if err == nil {
		// The state opens or closes the markets too.
		db.publishMatchChanges(ctx, []matchChange{{id: mid, state: true, odds: true}})
	}
	return err
}
