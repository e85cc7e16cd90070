package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// betCols are a bet's own columns but its user, whom every read names.
// They leave out bets.odds, the product rounded down to hundredths: a bet
// shows the exact product of its legs' odds (betting.TotalOdds), which
// setTotal works out from the legs.
const betCols = `id, state, stake, potential_payout, payout, odds_policy, placed_at, settled_at, version`

// betColsB is betCols of the bets table named b.
var betColsB = "b." + strings.ReplaceAll(betCols, ", ", ", b.")

// legCols are a leg and its match as it stands now, read from legFrom.
const legCols = `l.match_id, l.market_id, l.selection_id, l.market_kind, l.selection_name, l.line, l.odds, l.implied_ppm, l.state,
	m.sport, m.league_id, lg.name, m.home_id, h.name, m.away_id, a.name, m.kickoff_at, m.state,
	` + scoreCols

// scoreCols are currentScore's choice made in SQL, in four columns
// instead of seven: the result's score once there is one, the running
// score while in play (its regulation score is the running one), else
// NULL, also for a voided match.
const scoreCols = `CASE WHEN mr.outcome = 'result' THEN mr.home WHEN mr.id IS NULL THEN m.live_home END,
	CASE WHEN mr.outcome = 'result' THEN mr.away WHEN mr.id IS NULL THEN m.live_away END,
	CASE WHEN mr.outcome = 'result' THEN mr.reg_home WHEN mr.id IS NULL THEN m.live_home END,
	CASE WHEN mr.outcome = 'result' THEN mr.reg_away WHEN mr.id IS NULL THEN m.live_away END`

const legFrom = ` JOIN matches m ON m.id = l.match_id
	JOIN leagues lg ON lg.id = m.league_id
	JOIN teams h ON h.id = m.home_id
	JOIN teams a ON a.id = m.away_id
	LEFT JOIN match_results mr ON mr.id = m.result_id`

// betReader is where a player's own bets are read: a connection that sees
// every commit, so a bet just placed or settled is there (the same one
// settlement reads from; never a replica that may lag).
func (db *DB) betReader() *sql.DB { return db.settlementReader() }

// betDest is where scanBet's columns go.
type betDest struct {
	b           betting.Bet
	id, payout  int64
	destination []any
}

func newBetDest(userID string) *betDest {
	d := &betDest{}
	d.b.UserID = userID
	d.destination = []any{&d.id, &d.b.State, &d.b.Stake, &d.b.PotentialPayout, &d.payout, &d.b.OddsPolicy, scanTime{&d.b.PlacedAt}, scanNullTime{&d.b.SettledAt}, &d.b.Version}
	return d
}

// bet returns the scanned bet.
func (d *betDest) bet() *betting.Bet {
	b := d.b
	b.ID = fmtID(pBet, d.id)
	if b.State != betting.Open {
		payout := d.payout
		b.Payout = &payout
	}
	return &b
}

// legDest is where legCols go.
type legDest struct {
	l                                          betting.Leg
	m                                          betting.LegMatch
	mid, mkid, sid, price, implied, lg, hm, aw int64
	line, h, a, rh, ra                         sql.NullInt64
	destination                                []any
}

func newLegDest() *legDest {
	d := &legDest{}
	d.destination = []any{&d.mid, &d.mkid, &d.sid, &d.l.MarketKind, &d.l.Selection, &d.line, &d.price, &d.implied, &d.l.State,
		&d.m.Sport, &d.lg, &d.m.League.Name, &d.hm, &d.m.Home.Name, &d.aw, &d.m.Away.Name, scanTime{&d.m.KickoffAt}, &d.m.State,
		&d.h, &d.a, &d.rh, &d.ra}
	return d
}

// leg returns the scanned leg with its match.
func (d *legDest) leg() *betting.Leg {
	l, m := d.l, d.m
	l.MatchID, l.MarketID, l.SelectionID = fmtID(pMatch, d.mid), fmtID(pMarket, d.mkid), fmtID(pSelection, d.sid)
	l.Odds, l.ImpliedPPM = odds.Odds(d.price), betting.PPM(d.implied)
	if d.line.Valid {
		v := odds.Line(d.line.Int64)
		l.Line = &v
	}
	m.League.ID, m.Home.ID, m.Away.ID = fmtID(pLeague, d.lg), fmtID(pTeam, d.hm), fmtID(pTeam, d.aw)
	if d.h.Valid && d.a.Valid {
		m.Score = &sport.Score{Home: int(d.h.Int64), Away: int(d.a.Int64), Regulation: sport.Pair{Home: int(d.rh.Int64), Away: int(d.ra.Int64)}}
	}
	l.Match = &m
	return &l
}

// setTotal sets a bet's total odds from its legs.
func setTotal(b *betting.Bet) {
	prices := make([]odds.Odds, len(b.Legs))
	for i, l := range b.Legs {
		prices[i] = l.Odds
	}
	b.Odds = betting.TotalOf(prices)
}

// FindBet returns one of the user's own bets with its legs, each with its
// match, and, once settled, its settlement receipt. It reads where every
// commit is seen (betReader): a player must see a bet they just placed.
// Another user's bet is not found.
//
// Codes: bet_not_found.
func (db *DB) FindBet(ctx context.Context, userID, betID string) (*betting.Bet, error) {
	uid, ok1 := parseID(pUser, userID)
	id, ok2 := parseID(pBet, betID)
	notFound := fault.New(fault.NotFound, "bet_not_found", "No such bet.")
	if !ok1 || !ok2 {
		return nil, notFound
	}
	q := db.betReader()
	bd := newBetDest(userID)
	err := q.QueryRowContext(ctx, `SELECT `+betCols+` FROM bets WHERE id = $1 AND user_id = $2`, id, uid).Scan(bd.destination...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, classify(err)
	}
	b := bd.bet()
	if err := db.loadReceipt(ctx, q, b, id); err != nil {
		return nil, err
	}
	return b, nil
}

// loadReceipt fills a bet's legs with their matches and what each was
// graded on, and its settlement history, in one query each.
func (db *DB) loadReceipt(ctx context.Context, q *sql.DB, b *betting.Bet, id int64) error {
	rows, err := q.QueryContext(ctx, `SELECT `+legCols+`, COALESCE(l.rule, ''),
			r.outcome, r.home, r.away, r.reg_home, r.reg_away, r.source, COALESCE(r.provider_match_id, ''), r.status, r.fetched_at, COALESCE(r.reason, '')
		FROM bet_legs l`+legFrom+`
			LEFT JOIN match_results r ON r.id = l.result_id
		WHERE l.bet_id = $1 ORDER BY l.leg_no`, id)
	if err != nil {
		return classify(err)
	}
	for rows.Next() {
		ld := newLegDest()
		var rule, pmid, reason string
		var h, a, rh, ra sql.NullInt64
		var outcome, source, status sql.NullString
		var fetched *time.Time
		if err := rows.Scan(append(ld.destination, &rule, &outcome, &h, &a, &rh, &ra, &source, &pmid, &status, scanNullTime{&fetched}, &reason)...); err != nil {
			rows.Close()
			return err
		}
		l := ld.leg()
		l.Rule = rule
		b.Legs = append(b.Legs, l)
		if !outcome.Valid {
			continue
		}
		ev := betting.LegEvidence{SelectionID: l.SelectionID, MatchID: l.MatchID, State: l.State, Outcome: outcome.String,
			Source: source.String, ProviderMatchID: pmid, Status: status.String, Rule: l.Rule, Reason: reason}
		if fetched != nil {
			ev.FetchedAt = *fetched
		}
		if outcome.String == "result" {
			ev.Score = &sport.Score{Home: int(h.Int64), Away: int(a.Int64), Regulation: sport.Pair{Home: int(rh.Int64), Away: int(ra.Int64)}}
		}
		if b.Settlement == nil {
			b.Settlement = &betting.Settlement{}
		}
		b.Settlement.Legs = append(b.Settlement.Legs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	setTotal(b)
	rows, err = q.QueryContext(ctx, `SELECT version, state, payout, delta, COALESCE(reason, ''), created_at FROM settlements WHERE bet_id = $1 ORDER BY version`, id)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v betting.SettlementVersion
		if err := rows.Scan(&v.Version, &v.State, &v.Payout, &v.Delta, &v.Reason, scanTime{&v.At}); err != nil {
			return err
		}
		if b.Settlement == nil {
			b.Settlement = &betting.Settlement{}
		}
		b.Settlement.History = append(b.Settlement.History, v)
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	// A first settlement has no history row until the bet is corrected:
	// the bet row is its record (see applySettlements).
	if b.Version == 1 && b.SettledAt != nil && (b.Settlement == nil || len(b.Settlement.History) == 0) {
		if b.Settlement == nil {
			b.Settlement = &betting.Settlement{}
		}
		var payout int64
		if b.Payout != nil {
			payout = *b.Payout
		}
		b.Settlement.History = []betting.SettlementVersion{{Version: 1, State: b.State, Payout: payout, Delta: payout, At: *b.SettledAt}}
	}
	return nil
}

// FindBets lists a user's bets, newest first, each leg with its match, in
// one query: the page of bets joined to their legs and matches. It reads
// where every commit is seen (betReader).
//
// Codes: invalid_cursor, invalid_filter.
func (db *DB) FindBets(ctx context.Context, userID string, f betting.BetFilter) ([]*betting.Bet, string, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, "", errNoUser()
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	filter := ""
	switch f.State {
	case "":
	case "settled":
		filter = ` AND b.state <> 'open'`
	case "open", "won", "lost", "void":
		filter = ` AND b.state = '` + f.State + `'` // one of four literals, never user text
	default:
		return nil, "", fault.New(fault.Invalid, "invalid_filter", "state must be open, settled, won, lost or void.")
	}
	before := int64(1<<63 - 1)
	if f.Cursor != "" {
		id, ok := parseID(pBet, f.Cursor)
		if !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
		before = id
	}
	// The page is bounded below by the id of its last bet (one more than
	// the page, to know whether another follows) rather than by a LIMIT
	// on a subquery joined to the legs, so that the rows come in the
	// order of the bets' index and the legs' key, with nothing to sort.
	rows, err := db.betReader().QueryContext(ctx, `SELECT `+betColsB+`, `+legCols+`
		FROM bets b JOIN bet_legs l ON l.bet_id = b.id`+legFrom+`
		WHERE b.user_id = $1 AND b.id < $2`+filter+` AND b.id >= (SELECT COALESCE(MIN(p.id), 0) FROM
			(SELECT b.id FROM bets b WHERE b.user_id = $1 AND b.id < $2`+filter+` ORDER BY b.id DESC LIMIT $3) p)
		ORDER BY b.id DESC, l.leg_no`, uid, before, f.Limit+1)
	if err != nil {
		return nil, "", classify(err)
	}
	defer rows.Close()
	var out []*betting.Bet
	bd, ld := newBetDest(userID), newLegDest()
	dest := append(bd.destination[:len(bd.destination):len(bd.destination)], ld.destination...)
	var cur *betting.Bet
	var curID int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, "", err
		}
		if cur == nil || bd.id != curID {
			if len(out) == f.Limit {
				// The first leg of the bet after the page: there is a
				// next page.
				setTotal(cur)
				return out, cur.ID, classify(rows.Close())
			}
			if cur != nil {
				setTotal(cur)
			}
			cur, curID = bd.bet(), bd.id
			out = append(out, cur)
		}
		cur.Legs = append(cur.Legs, ld.leg())
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	if cur != nil {
		setTotal(cur)
	}
	return out, "", nil
}

// BetCount returns how many bets exist (for tests and the load generator).
func (db *DB) BetCount(ctx context.Context) (int64, error) {
	var n int64
	err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM bets`).Scan(&n)
	return n, classify(err)
}
