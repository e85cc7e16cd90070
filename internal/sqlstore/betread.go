package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

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

// legColCount is how many columns legCols has.
var legColCount = strings.Count(legCols, ",") + 1

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

// betColCount is how many columns betCols has.
var betColCount = strings.Count(betCols, ",") + 1

// readBet reads betCols after the id, which the caller has read.
func readBet(r *rowValues, id int64, userID string) *betting.Bet {
	b := &betting.Bet{ID: fmtID(pBet, id), UserID: userID}
	b.State = betting.State(r.str())
	b.Stake = r.int()
	b.PotentialPayout = r.int()
	payout := r.int()
	b.OddsPolicy = betting.OddsPolicy(r.str())
	b.PlacedAt = r.time()
	b.SettledAt = r.nullTime()
	b.Version = int(r.int())
	if b.State != betting.Open {
		b.Payout = &payout
	}
	return b
}

// legRead is a leg with its match and score: one allocation for the three.
type legRead struct {
	l betting.Leg
	m betting.LegMatch
	s sport.Score
}

// readLeg reads legCols: a leg with its match.
func readLeg(r *rowValues) *betting.Leg {
	x := &legRead{}
	l, m := &x.l, &x.m
	l.MatchID, l.MarketID, l.SelectionID = fmtID(pMatch, r.int()), fmtID(pMarket, r.int()), fmtID(pSelection, r.int())
	l.MarketKind, l.Selection = betting.MarketKind(r.str()), r.str()
	if line, ok := r.nullInt(); ok {
		v := odds.Line(line)
		l.Line = &v
	}
	l.Odds, l.ImpliedPPM, l.State = odds.Odds(r.int()), betting.PPM(r.int()), betting.LegState(r.str())
	m.Sport = r.str()
	m.League = sport.Ref{ID: fmtID(pLeague, r.int()), Name: r.str()}
	m.Home = sport.Ref{ID: fmtID(pTeam, r.int()), Name: r.str()}
	m.Away = sport.Ref{ID: fmtID(pTeam, r.int()), Name: r.str()}
	m.KickoffAt, m.State = r.time(), sport.State(r.str())
	h, ok1 := r.nullInt()
	a, ok2 := r.nullInt()
	rh, _ := r.nullInt()
	ra, _ := r.nullInt()
	if ok1 && ok2 {
		x.s = sport.Score{Home: int(h), Away: int(a), Regulation: sport.Pair{Home: int(rh), Away: int(ra)}}
		m.Score = &x.s
	}
	l.Match = m
	return l
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
	vals := newRowValues(betColCount)
	err := vals.scan(q.QueryRowContext(ctx, `SELECT `+betCols+` FROM bets WHERE id = $1 AND user_id = $2`, id, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, classify(err)
	}
	b := readBet(vals, vals.int(), userID)
	if vals.err != nil {
		return nil, vals.err
	}
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
	vals := newRowValues(legColCount + 11) // the rule and the ten columns of the result graded on
	for rows.Next() {
		if err := vals.scan(rows); err != nil {
			rows.Close()
			return err
		}
		l := readLeg(vals)
		l.Rule = vals.str()
		b.Legs = append(b.Legs, l)
		outcome, graded := vals.nullStr()
		h, _ := vals.nullInt()
		a, _ := vals.nullInt()
		rh, _ := vals.nullInt()
		ra, _ := vals.nullInt()
		source, _ := vals.nullStr()
		pmid := vals.str()
		status, _ := vals.nullStr()
		fetched := vals.nullTime()
		reason := vals.str()
		if vals.err != nil {
			rows.Close()
			return vals.err
		}
		if !graded {
			continue
		}
		ev := betting.LegEvidence{SelectionID: l.SelectionID, MatchID: l.MatchID, State: l.State, Outcome: outcome,
			Source: source, ProviderMatchID: pmid, Status: status, Rule: l.Rule, Reason: reason}
		if fetched != nil {
			ev.FetchedAt = *fetched
		}
		if outcome == "result" {
			ev.Score = &sport.Score{Home: int(h), Away: int(a), Regulation: sport.Pair{Home: int(rh), Away: int(ra)}}
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
	vals := newRowValues(betColCount + legColCount)
	var cur *betting.Bet
	var curID int64
	for rows.Next() {
		if err := vals.scan(rows); err != nil {
			return nil, "", err
		}
		if id := vals.int(); cur == nil || id != curID {
			if len(out) == f.Limit {
				// The first leg of the bet after the page: there is a
				// next page.
				setTotal(cur)
				return out, cur.ID, classify(rows.Close())
			}
			if cur != nil {
				setTotal(cur)
			}
			cur, curID = readBet(vals, id, userID), id
			out = append(out, cur)
		} else {
			vals.next = betColCount // the bet's columns again, read with its first leg
		}
		cur.Legs = append(cur.Legs, readLeg(vals))
		if vals.err != nil {
			return nil, "", vals.err
		}
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
