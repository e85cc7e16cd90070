package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/feed"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// UpsertFixture stores a provider's fixture idempotently: league, teams
// and match are found by the provider's ids and created once; a match
// without a result follows the provider's kick-off time and pre-match
// states (scheduled, live, suspended, postponed); odds changes become new
// versions while the match is still scheduled. Results, voids and
// settlement are not done here but by RecordResult, so a match an
// operator has settled is never overwritten.
func (db *DB) UpsertFixture(ctx context.Context, provider string, f *feed.Fixture) (*feed.Ingested, error) {
	out, err := db.UpsertFixtures(ctx, provider, []*feed.Fixture{f})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// UpsertFixtures is UpsertFixture for many fixtures in one transaction:
// a poll of a thousand matches costs one commit, not a thousand.
func (db *DB) UpsertFixtures(ctx context.Context, provider string, fs []*feed.Fixture) ([]*feed.Ingested, error) {
	defer db.lists.changed() // after the commit: see listCache
	var out []*feed.Ingested
	var changes []matchChange
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := db.Now()
		out, changes = out[:0], changes[:0]
		for _, f := range fs {
			ing, ch, err := db.upsertFixture(ctx, tx, provider, f, now)
			if err != nil {
				return err
			}
			out = append(out, ing)
			if ch.state || ch.score || ch.odds {
				changes = append(changes, ch)
			}
		}
		return nil
	})
	if err == nil {
		db.publishMatchChanges(ctx, changes)
	}
	return out, err
}

// matchChange is what an upsert changed of a match that viewers see live.
type matchChange struct {
	id                 int64
	state, score, odds bool
}

// publishMatchChanges hands on, after the commit, each changed match's
// new state, score or odds, for its room and its sport's lobby. Events
// carry the full current value, read after the commit where settlement
// reads (never a lagging replica); a match that cannot be read is left to
// its next change.
func (db *DB) publishMatchChanges(ctx context.Context, changes []matchChange) {
	// Before the events go out, so a viewer who reads the list on one
	// never gets the cached list from before the change.
	db.lists.changed()
	if db.afterCommit == nil || len(changes) == 0 {
		return
	}
	q := db.settlementReader()
	var evs []live.Event
	for _, ch := range changes {
		m, err := db.findMatch(ctx, q, ch.id)
		if err != nil {
			continue
		}
		for _, channel := range []string{live.MatchChannel(m.ID), live.LobbyChannel(m.Sport)} {
			if ch.state {
				evs = append(evs, live.New(live.MatchState, channel, live.StateData{Match: m.ID, State: m.State, KickoffAt: m.KickoffAt}))
			}
			if ch.score {
				evs = append(evs, live.New(live.MatchScore, channel, live.ScoreData{Match: m.ID, Score: m.Score}))
			}
			if ch.odds {
				evs = append(evs, live.New(live.OddsChanged, channel, live.OddsData{Match: m.ID, Markets: m.Markets}))
			}
		}
	}
	db.published(evs)
}

func (db *DB) upsertFixture(ctx context.Context, tx *sql.Tx, provider string, f *feed.Fixture, now time.Time) (*feed.Ingested, matchChange, error) {
	out := &feed.Ingested{}
	var ch matchChange
	err := func() error {
		ref := provider + ":" + f.Ref
		league, err := db.upsertRef(ctx, tx, "leagues", f.Sport, provider+":"+f.Sport+":"+f.League.Ref, f.League.Name)
		if err != nil {
			return err
		}
		home, err := db.upsertRef(ctx, tx, "teams", f.Sport, provider+":"+f.Sport+":"+f.Home.Ref, f.Home.Name)
		if err != nil {
			return err
		}
		away, err := db.upsertRef(ctx, tx, "teams", f.Sport, provider+":"+f.Sport+":"+f.Away.Ref, f.Away.Name)
		if err != nil {
			return err
		}
		var id int64
		var state string
		var resultID sql.NullInt64
		var locked bool
		var original *time.Time
		var kickoff time.Time
		var wasHome, wasAway sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT id, state, result_id, locked, original_kickoff_at, kickoff_at, live_home, live_away FROM matches WHERE external_ref = $1`+db.d.forUpdate, ref).
			Scan(&id, &state, &resultID, &locked, scanNullTime{&original}, scanTime{&kickoff}, &wasHome, &wasAway)
		preMatch := func(s sport.State) bool {
			return s == sport.Scheduled || s == sport.Live || s == sport.Suspended || s == sport.Postponed
		}
		var liveHome, liveAway sql.NullInt64
		if f.Score != nil && f.State != sport.Scheduled {
			liveHome, liveAway = sql.NullInt64{Int64: int64(f.Score.Home), Valid: true}, sql.NullInt64{Int64: int64(f.Score.Away), Valid: true}
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			st := f.State
			if !preMatch(st) {
				st = sport.Scheduled // a result arrives through RecordResult
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO matches (sport, league_id, home_id, away_id, kickoff_at, original_kickoff_at, state, provider_status, external_ref, live_home, live_away, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
				f.Sport, league, home, away, db.d.ts(f.KickoffAt), string(st), f.Status, ref, liveHome, liveAway, db.d.ts(now)).Scan(&id); err != nil {
				return err
			}
			out.Created, state = true, string(st)
			t := f.KickoffAt
			original = &t
			ch = matchChange{id: id, state: true, score: true, odds: true}
		case err != nil:
			return err
		case !resultID.Valid && preMatch(f.State):
			if _, err := tx.ExecContext(ctx, `UPDATE matches SET state = $1, kickoff_at = $2, provider_status = $3, live_home = $4, live_away = $5, updated_at = $6 WHERE id = $7`,
				string(f.State), db.d.ts(f.KickoffAt), f.Status, liveHome, liveAway, db.d.ts(now), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE markets SET open = $1 WHERE match_id = $2`, f.State == sport.Scheduled, id); err != nil {
				return err
			}
			// A new state opens or closes the markets too.
			moved := state != string(f.State)
			ch = matchChange{id: id, odds: moved,
				state: moved || !kickoff.Equal(f.KickoffAt.UTC().Truncate(time.Microsecond)),
				score: wasHome != liveHome || wasAway != liveAway}
			state = string(f.State)
		}
		out.MatchID, out.State, out.HasResult, out.Locked = fmtID(pMatch, id), sport.State(state), resultID.Valid, locked
		if original != nil {
			out.OriginalKickoff = *original
		}
		if out.State == sport.Scheduled && !resultID.Valid {
			n, err := db.upsertMarkets(ctx, tx, id, f.Markets, now)
			if err != nil {
				return err
			}
			out.OddsChanged = n
			ch.id, ch.odds = id, ch.odds || n > 0
		}
		return nil
	}()
	return out, ch, err
}

// upsertRef finds a league or team by its provider reference, creating it
// and keeping its name current.
func (db *DB) upsertRef(ctx context.Context, tx *sql.Tx, table, sp, ref, name string) (int64, error) {
	var id int64
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT id, name FROM `+table+` WHERE external_ref = $1`, ref).Scan(&id, &cur)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, `INSERT INTO `+table+` (sport, name, external_ref) VALUES ($1, $2, $3) RETURNING id`, sp, name, ref).Scan(&id)
		return id, err
	}
	if err == nil && cur != name && name != "" {
		_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET name = $1 WHERE id = $2`, name, id)
	}
	return id, err
}

// upsertMarkets creates missing markets and records changed prices as new
// odds versions. It returns how many selections changed price.
func (db *DB) upsertMarkets(ctx context.Context, tx *sql.Tx, matchID int64, ms []feed.Market, now time.Time) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	type existing struct {
		id      int64
		sels    map[string]int64 // name → selection id
		prices  map[string]odds.Odds
		ordered []string
	}
	key := func(kind betting.MarketKind, line *odds.Line) string {
		if line == nil {
			return string(kind)
		}
		return string(kind) + "@" + line.String()
	}
	rows, err := tx.QueryContext(ctx, `SELECT mk.id, mk.kind, mk.line, s.id, s.name, s.odds FROM markets mk JOIN selections s ON s.market_id = mk.id WHERE mk.match_id = $1 ORDER BY mk.id, s.id`, matchID)
	if err != nil {
		return 0, err
	}
	have := map[string]*existing{}
	for rows.Next() {
		var mid, sid, price int64
		var kind, name string
		var line sql.NullInt64
		if err := rows.Scan(&mid, &kind, &line, &sid, &name, &price); err != nil {
			rows.Close()
			return 0, err
		}
		var lp *odds.Line
		if line.Valid {
			l := odds.Line(line.Int64)
			lp = &l
		}
		k := key(betting.MarketKind(kind), lp)
		e := have[k]
		if e == nil {
			e = &existing{id: mid, sels: map[string]int64{}, prices: map[string]odds.Odds{}}
			have[k] = e
		}
		e.sels[name], e.prices[name] = sid, odds.Odds(price)
		e.ordered = append(e.ordered, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	changed := 0
	for _, m := range ms {
		mk, err := betting.NewMarket(m.Kind, m.Line, m.Prices)
		if err != nil {
			continue // a malformed market from a provider is skipped, never stored
		}
		e := have[key(m.Kind, m.Line)]
		if e == nil {
			if err := db.insertMarket(ctx, tx, matchID, mk, m.Source, now); err != nil {
				return 0, err
			}
			continue
		}
		diff := false
		for _, s := range mk.Selections {
			if e.prices[s.Name] != s.Odds {
				diff = true
			}
		}
		if !diff {
			continue
		}
		for _, s := range mk.Selections {
			sid, ok := e.sels[s.Name]
			if !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE selections SET odds = $1, implied_ppm = $2 WHERE id = $3`, int64(s.Odds), s.ImpliedPPM, sid); err != nil {
				return 0, err
			}
			if e.prices[s.Name] != s.Odds {
				changed++
				if _, err := tx.ExecContext(ctx, `INSERT INTO odds_versions (selection_id, odds, implied_ppm, created_at) VALUES ($1, $2, $3, $4)`,
					sid, int64(s.Odds), s.ImpliedPPM, db.d.ts(now)); err != nil {
					return 0, err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE markets SET source = $1 WHERE id = $2`, m.Source, e.id); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// insertMarket writes a market, its selections and their first odds version.
func (db *DB) insertMarket(ctx context.Context, tx *sql.Tx, matchID int64, mk *betting.Market, source string, now time.Time) error {
	var line sql.NullInt64
	if mk.Line != nil {
		line = sql.NullInt64{Int64: int64(*mk.Line), Valid: true}
	}
	if source == "" {
		source = "operator"
	}
	var mid int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO markets (match_id, kind, line, open, source) VALUES ($1, $2, $3, TRUE, $4) RETURNING id`,
		matchID, string(mk.Kind), line, source).Scan(&mid); err != nil {
		return err
	}
	for _, s := range mk.Selections {
		var sid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO selections (market_id, name, odds, implied_ppm) VALUES ($1, $2, $3, $4) RETURNING id`,
			mid, s.Name, int64(s.Odds), s.ImpliedPPM).Scan(&sid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO odds_versions (selection_id, odds, implied_ppm, created_at) VALUES ($1, $2, $3, $4)`,
			sid, int64(s.Odds), s.ImpliedPPM, db.d.ts(now)); err != nil {
			return err
		}
	}
	return nil
}

// AcquireLease takes or renews the named lease for holder until now+ttl.
// It returns false while another holder's lease is unexpired. Because the
// check and the write are one statement, two instances can never both
// hold it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := db.Now()
	var got string
	err := db.rw.QueryRowContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < $4
		RETURNING holder`, name, holder, db.d.ts(now.Add(ttl)), db.d.ts(now)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, classify(err)
	}
	return got == holder, nil
}

// ReleaseLease gives the lease up at once (on shutdown), so another
// instance need not wait for it to expire.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.rw.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return classify(err)
}

// ImportHistory stores finished fixtures of past seasons, so a first start
// has form, season records and head-to-head at once. Fixtures already
// stored (by provider id) and any that are not finished with a score are
// skipped; no bets can exist on them, so nothing is settled. Rows are
// written in multi-row batches: thousands of matches take a few round
// trips, not tens of thousands. It returns how many were added.
func (db *DB) ImportHistory(ctx context.Context, provider string, fs []feed.Fixture) (int, error) {
	var todo []*feed.Fixture
	for i := range fs {
		f := &fs[i]
		if f.State == sport.Finished && f.Score != nil && f.Check() == nil {
			todo = append(todo, f)
		}
	}
	added := 0
	for start := 0; start < len(todo); start += historyBatch {
		n, err := db.importBatch(ctx, provider, todo[start:min(start+historyBatch, len(todo))])
		if err != nil {
			return added, err
		}
		added += n
	}
	return added, nil
}

// historyBatch fixtures per statement keeps parameters far below both
// databases' limits.
const historyBatch = 500

func (db *DB) importBatch(ctx context.Context, provider string, fs []*feed.Fixture) (int, error) {
	defer db.lists.changed() // after the commit: see listCache
	added := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		added = 0
		now := db.Now()
		// Leave out matches already stored.
		args := make([]any, len(fs))
		for i, f := range fs {
			args[i] = provider + ":" + f.Ref
		}
		rows, err := tx.QueryContext(ctx, `SELECT external_ref FROM matches WHERE external_ref IN (`+inList(len(args), 0)+`)`, args...)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return err
			}
			have[r] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var todo []*feed.Fixture
		for _, f := range fs {
			if !have[provider+":"+f.Ref] {
				have[provider+":"+f.Ref] = true // and duplicates within the batch
				todo = append(todo, f)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		refs := map[string]int64{}
		ref := func(table, sp string, n feed.Named) (int64, error) {
			k := table + "\x00" + sp + "\x00" + n.Ref
			if id, ok := refs[k]; ok {
				return id, nil
			}
			id, err := db.upsertRef(ctx, tx, table, sp, provider+":"+sp+":"+n.Ref, n.Name)
			refs[k] = id
			return id, err
		}
		args = args[:0]
		for _, f := range todo {
			league, err := ref("leagues", f.Sport, f.League)
			if err != nil {
				return err
			}
			home, err := ref("teams", f.Sport, f.Home)
			if err != nil {
				return err
			}
			away, err := ref("teams", f.Sport, f.Away)
			if err != nil {
				return err
			}
			args = append(args, f.Sport, league, home, away, db.d.ts(f.KickoffAt), db.d.ts(f.KickoffAt), "finished", f.Status, provider+":"+f.Ref, db.d.ts(now))
		}
		rows, err = tx.QueryContext(ctx, `INSERT INTO matches (sport, league_id, home_id, away_id, kickoff_at, original_kickoff_at, state, provider_status, external_ref, updated_at)
			VALUES `+placeholders(len(todo), 10, 0)+` RETURNING id, external_ref`, args...)
		if err != nil {
			return err
		}
		matchOf := map[string]int64{}
		for rows.Next() {
			var id int64
			var r string
			if err := rows.Scan(&id, &r); err != nil {
				rows.Close()
				return err
			}
			matchOf[r] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		args = args[:0]
		for _, f := range todo {
			fetched := f.FetchedAt
			if fetched.IsZero() {
				fetched = now
			}
			s := f.Score
			args = append(args, matchOf[provider+":"+f.Ref], "result", s.Home, s.Away, s.Regulation.Home, s.Regulation.Away, provider, f.Ref, f.Status, db.d.ts(fetched), db.d.ts(now))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO match_results (match_id, outcome, home, away, reg_home, reg_away, source, provider_match_id, status, fetched_at, created_at)
			VALUES `+placeholders(len(todo), 11, 0), args...); err != nil {
			return err
		}
		// Each imported match has exactly one result: point at it.
		args = args[:0]
		for _, f := range todo {
			args = append(args, matchOf[provider+":"+f.Ref])
		}
		if _, err := tx.ExecContext(ctx, `UPDATE matches SET result_id = (SELECT MAX(r.id) FROM match_results r WHERE r.match_id = matches.id)
			WHERE id IN (`+inList(len(args), 0)+`)`, args...); err != nil {
			return err
		}
		added = len(todo)
		return nil
	})
	return added, err
}
