package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

const betCols = `id, user_id, state, stake, odds, potential_payout, payout, odds_policy, placed_at, settled_at, version`

func scanBet(row interface{ Scan(...any) error }) (*betting.Bet, error) {
	var b betting.Bet
	var id, uid, price, payout int64
	if err := row.Scan(&id, &uid, &b.State, &b.Stake, &price, &b.PotentialPayout, &payout, &b.OddsPolicy, scanTime{&b.PlacedAt}, scanNullTime{&b.SettledAt}, &b.Version); err != nil {
		return nil, err
	}
	b.ID, b.UserID, b.Odds = fmtID(pBet, id), fmtID(pUser, uid), odds.Odds(price)
	if b.State != betting.Open {
		b.Payout = &payout
	}
	return &b, nil
}

// FindBet returns one of the user's own bets with its legs and, once
// settled, its settlement receipt. It reads the primary: a player must
// see a bet they just placed. Another user's bet is not found.
//
// Codes: bet_not_found.
func (db *DB) FindBet(ctx context.Context, userID, betID string) (*betting.Bet, error) {
	uid, ok1 := parseID(pUser, userID)
	id, ok2 := parseID(pBet, betID)
	notFound := fault.New(fault.NotFound, "bet_not_found", "No such bet.")
	if !ok1 || !ok2 {
		return nil, notFound
	}
	b, err := scanBet(db.rw.QueryRowContext(ctx, `SELECT `+betCols+` FROM bets WHERE id = $1 AND user_id = $2`, id, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, classify(err)
	}
	if err := db.loadLegs(ctx, []*betting.Bet{b}, true); err != nil {
		return nil, err
	}
	return b, nil
}

// FindBets lists a user's bets, newest first, from the primary.
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
	q := `SELECT ` + betCols + ` FROM bets WHERE user_id = $1 AND id < $2`
	switch f.State {
	case "":
	case "settled":
		q += ` AND state <> 'open'`
	case "open", "won", "lost", "void":
		q += ` AND state = '` + f.State + `'` // one of four literals, never user text
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
	rows, err := db.rw.QueryContext(ctx, q+` ORDER BY id DESC LIMIT $3`, uid, before, f.Limit+1)
	if err != nil {
		return nil, "", classify(err)
	}
	var out []*betting.Bet
	for rows.Next() {
		b, err := scanBet(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[f.Limit-1].ID
	}
	return out, next, db.loadLegs(ctx, out, false)
}

// loadLegs fills legs (and, with receipts, settlement evidence and
// history) of bets in one query each.
func (db *DB) loadLegs(ctx context.Context, bets []*betting.Bet, receipts bool) error {
	if len(bets) == 0 {
		return nil
	}
	byID := map[int64]*betting.Bet{}
	args := make([]any, len(bets))
	for i, b := range bets {
		id, _ := parseID(pBet, b.ID)
		byID[id] = b
		args[i] = id
	}
	in := inList(len(args), 0)
	rows, err := db.rw.QueryContext(ctx, `SELECT l.bet_id, l.match_id, l.market_id, l.selection_id, l.market_kind, l.selection_name, l.line, l.odds, l.implied_ppm, l.state, COALESCE(l.rule, ''),
			r.outcome, r.home, r.away, r.reg_home, r.reg_away, r.source, COALESCE(r.provider_match_id, ''), r.status, r.fetched_at, COALESCE(r.reason, '')
		FROM bet_legs l LEFT JOIN match_results r ON r.id = l.result_id
		WHERE l.bet_id IN (`+in+`) ORDER BY l.bet_id, l.leg_no`, args...)
	if err != nil {
		return classify(err)
	}
	for rows.Next() {
		var l betting.Leg
		var betID, mid, mkid, sid, price int64
		var line, h, a, rh, ra sql.NullInt64
		var outcome, source, status sql.NullString
		var pmid, reason string
		var fetched *time.Time
		if err := rows.Scan(&betID, &mid, &mkid, &sid, &l.MarketKind, &l.Selection, &line, &price, &l.ImpliedPPM, &l.State, &l.Rule,
			&outcome, &h, &a, &rh, &ra, &source, &pmid, &status, scanNullTime{&fetched}, &reason); err != nil {
			rows.Close()
			return err
		}
		l.MatchID, l.MarketID, l.SelectionID, l.Odds = fmtID(pMatch, mid), fmtID(pMarket, mkid), fmtID(pSelection, sid), odds.Odds(price)
		if line.Valid {
			v := odds.Line(line.Int64)
			l.Line = &v
		}
		b := byID[betID]
		b.Legs = append(b.Legs, &l)
		if receipts && outcome.Valid {
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
	}
	rows.Close()
	if err := rows.Err(); err != nil || !receipts {
		return classify(err)
	}
	rows, err = db.rw.QueryContext(ctx, `SELECT bet_id, version, state, payout, delta, COALESCE(reason, ''), created_at FROM settlements WHERE bet_id IN (`+in+`) ORDER BY bet_id, version`, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var betID int64
		var v betting.SettlementVersion
		if err := rows.Scan(&betID, &v.Version, &v.State, &v.Payout, &v.Delta, &v.Reason, scanTime{&v.At}); err != nil {
			return err
		}
		b := byID[betID]
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
	for _, b := range bets {
		if b.Version != 1 || b.SettledAt == nil || (b.Settlement != nil && len(b.Settlement.History) > 0) {
			continue
		}
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

// BetCount returns how many bets exist (for tests and the load generator).
func (db *DB) BetCount(ctx context.Context) (int64, error) {
	var n int64
	err := db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM bets`).Scan(&n)
	return n, classify(err)
}
