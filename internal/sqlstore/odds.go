package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/odds"
)

// defaultOddsHistory is the page size when the filter names none.
const defaultOddsHistory = 100

// FindOddsHistory lists the odds versions of a match's selections, from
// the replica: selections in id order (which is market order), each with
// its versions oldest first. A page holds at most f.Limit versions, so a
// selection with a long history may continue on the next page, whose
// first entry then has the same selection id. The cursor is the last
// (selection, version) returned; "" means there is no more.
//
// Codes: match_not_found, market_not_found, invalid_cursor, invalid_limit.
func (db *DB) FindOddsHistory(ctx context.Context, matchID string, f betting.OddsHistoryFilter) ([]*betting.SelectionHistory, string, error) {
	mid, ok := parseID(pMatch, matchID)
	if !ok {
		return nil, "", fault.New(fault.NotFound, "match_not_found", "No such match.")
	}
	switch {
	case f.Limit == 0:
		f.Limit = defaultOddsHistory
	case f.Limit < 0 || f.Limit > betting.MaxOddsHistory:
		return nil, "", fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", betting.MaxOddsHistory)
	}
	var afterSel, afterVer int64
	if f.Cursor != "" {
		if afterSel, afterVer, ok = parseOddsCursor(f.Cursor); !ok {
			return nil, "", fault.New(fault.Invalid, "invalid_cursor", "The cursor is not valid.")
		}
	}
	var marketID int64
	if f.MarketID != "" {
		if marketID, ok = parseID(pMarket, f.MarketID); !ok {
			return nil, "", fault.New(fault.NotFound, "market_not_found", "The match has no such market.")
		}
	}
	// The match, and the market when one is named, must exist: an
	// unknown id is a 404, not an empty history.
	var found int64
	var market sql.NullInt64
	err := db.ro.QueryRowContext(ctx, `SELECT m.id, mk.id FROM matches m LEFT JOIN markets mk ON mk.id = $2 AND mk.match_id = m.id WHERE m.id = $1`,
		mid, marketID).Scan(&found, &market)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, "", fault.New(fault.NotFound, "match_not_found", "No such match.")
	case err != nil:
		return nil, "", classify(err)
	case marketID != 0 && !market.Valid:
		return nil, "", fault.New(fault.NotFound, "market_not_found", "The match has no such market.")
	}
	args := []any{mid}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	q := `SELECT s.id, mk.id, mk.kind, mk.line, s.name, v.id, v.odds, v.implied_ppm, v.created_at
		FROM markets mk JOIN selections s ON s.market_id = mk.id JOIN odds_versions v ON v.selection_id = s.id
		WHERE mk.match_id = $1`
	if marketID != 0 {
		q += ` AND mk.id = ` + arg(marketID)
	}
	if f.Cursor != "" {
		s := arg(afterSel)
		q += ` AND (s.id > ` + s + ` OR (s.id = ` + s + ` AND v.id > ` + arg(afterVer) + `))`
	}
	q += ` ORDER BY s.id, v.id LIMIT ` + arg(f.Limit+1)
	rows, err := db.ro.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", classify(err)
	}
	defer rows.Close()
	var out []*betting.SelectionHistory
	var cur *betting.SelectionHistory
	var curSel, lastSel, lastVer int64
	n := 0
	next := ""
	for rows.Next() {
		var selID, mkID, verID, price, ppm int64
		var kind, name string
		var line sql.NullInt64
		var at time.Time
		if err := rows.Scan(&selID, &mkID, &kind, &line, &name, &verID, &price, &ppm, scanTime{&at}); err != nil {
			return nil, "", err
		}
		if n == f.Limit {
			// One row past the page: there is more.
			next = strconv.FormatInt(lastSel, 10) + "." + strconv.FormatInt(lastVer, 10)
			break
		}
		n++
		if cur == nil || curSel != selID {
			cur = &betting.SelectionHistory{SelectionID: fmtID(pSelection, selID), MarketID: fmtID(pMarket, mkID),
				Kind: betting.MarketKind(kind), Name: name, Versions: []betting.OddsVersion{}}
			if line.Valid {
				l := odds.Line(line.Int64)
				cur.Line = &l
			}
			curSel = selID
			out = append(out, cur)
		}
		cur.Versions = append(cur.Versions, betting.OddsVersion{Odds: odds.Odds(price), ImpliedPPM: ppm, At: at})
		lastSel, lastVer = selID, verID
	}
	if err := rows.Err(); err != nil {
		return nil, "", classify(err)
	}
	return out, next, nil
}

// parseOddsCursor reads "selection.version", both positive ids.
func parseOddsCursor(c string) (sel, ver int64, ok bool) {
	a, b, ok := strings.Cut(c, ".")
	if !ok {
		return 0, 0, false
	}
	sel, err1 := strconv.ParseInt(a, 10, 64)
	ver, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || sel <= 0 || ver <= 0 || strconv.FormatInt(sel, 10) != a || strconv.FormatInt(ver, 10) != b {
		return 0, 0, false
	}
	return sel, ver, true
}

// stakedChunk bounds the match refs of one StakedBefore query.
const stakedChunk = 500

// StakedBefore sums, per selection, the stakes of bets placed before
// before on a provider's matches (refs are the provider's match ids).
// Void bets do not count. It reads the replica: a price reacting to the
// stakes of a moment ago does not need the latest commit.
func (db *DB) StakedBefore(ctx context.Context, provider string, refs []string, before time.Time) ([]feed.Staked, error) {
	var out []feed.Staked
	for start := 0; start < len(refs); start += stakedChunk {
		chunk := refs[start:min(start+stakedChunk, len(refs))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, db.d.ts(before))
		for _, r := range chunk {
			args = append(args, provider+":"+r)
		}
		rows, err := db.ro.QueryContext(ctx, `SELECT m.external_ref, l.market_kind, l.line, l.selection_name, CAST(SUM(b.stake) AS BIGINT)
			FROM matches m JOIN bet_legs l ON l.match_id = m.id JOIN bets b ON b.id = l.bet_id
			WHERE m.external_ref IN (`+inList(len(chunk), 1)+`) AND b.placed_at < $1 AND b.state <> 'void'
			GROUP BY m.external_ref, l.market_kind, l.line, l.selection_name`, args...)
		if err != nil {
			return nil, classify(err)
		}
		for rows.Next() {
			var ref, kind, name string
			var line sql.NullInt64
			var pts int64
			if err := rows.Scan(&ref, &kind, &line, &name, &pts); err != nil {
				rows.Close()
				return nil, err
			}
			s := feed.Staked{Ref: strings.TrimPrefix(ref, provider+":"), Kind: betting.MarketKind(kind), Selection: name, Points: pts}
			if line.Valid {
				l := odds.Line(line.Int64)
				s.Line = &l
			}
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify(err)
		}
	}
	return out, nil
}
