package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/live"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// playGuard is what placement needs to know about a player for the
// responsible-play checks: their time zone (stake periods are calendar
// periods there), their own limits and their block, if any.
type playGuard struct {
	tz     string
	loc    *time.Location
	limits playlimit.Limits
	block  *playlimit.Block
}

// guardCols reads a player's zone and play_limits row (all NULL when the
// player never set a limit or a block) from "users u LEFT JOIN
// play_limits l".
const guardCols = `u.id, u.time_zone, l.daily, l.daily_next, l.daily_next_at, l.weekly, l.weekly_next, l.weekly_next_at,
	l.monthly, l.monthly_next, l.monthly_next_at, l.block_kind, l.block_started_at, l.block_ends_at`

func scanGuard(row interface{ Scan(...any) error }) (int64, *playGuard, error) {
	var uid int64
	g := &playGuard{limits: playlimit.Limits{}}
	var amount, next [3]sql.NullInt64
	var nextAt [3]*time.Time
	var kind sql.NullString
	var started, ends *time.Time
	if err := row.Scan(&uid, &g.tz, &amount[0], &next[0], scanNullTime{&nextAt[0]}, &amount[1], &next[1], scanNullTime{&nextAt[1]},
		&amount[2], &next[2], scanNullTime{&nextAt[2]}, &kind, scanNullTime{&started}, scanNullTime{&ends}); err != nil {
		return 0, nil, err
	}
	for i, p := range playlimit.Periods {
		s := playlimit.Setting{Amount: nullInt(amount[i])}
		if nextAt[i] != nil {
			s.Pending = &playlimit.Pending{Amount: nullInt(next[i]), EffectiveAt: *nextAt[i]}
		}
		g.limits[p] = s
	}
	if kind.Valid && started != nil && ends != nil {
		g.block = &playlimit.Block{Kind: playlimit.Kind(kind.String), StartedAt: *started, EndsAt: *ends}
	}
	g.loc = playlimit.Location(g.tz)
	return uid, g, nil
}

func nullInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// loadGuards reads the guards of a batch's players in one query: one
// round trip per batch, and a LEFT JOIN on a primary key for the (usual)
// player who has set nothing.
func (db *DB) loadGuards(ctx context.Context, q queryer, jobs []*placeJob) (map[int64]*playGuard, error) {
	out := map[int64]*playGuard{}
	var ids []any
	for _, j := range jobs {
		if _, ok := out[j.uid]; !ok {
			out[j.uid] = nil
			ids = append(ids, j.uid)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT `+guardCols+` FROM users u LEFT JOIN play_limits l ON l.user_id = u.id
		WHERE u.id IN (`+inList(len(ids), 0)+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		uid, g, err := scanGuard(rows)
		if err != nil {
			return nil, err
		}
		out[uid] = g
	}
	return out, rows.Err()
}

// guard returns the job's guard, read with the batch or on its own.
func (db *DB) guard(ctx context.Context, tx *sql.Tx, j *placeJob) (*playGuard, error) {
	if j.guard != nil {
		return j.guard, nil
	}
	gs, err := db.loadGuards(ctx, tx, []*placeJob{j})
	if err != nil {
		return nil, err
	}
	if g := gs[j.uid]; g != nil {
		return g, nil
	}
	// No such user: the debit will find no wallet and refuse the bet.
	return &playGuard{loc: playlimit.Location(""), limits: playlimit.Limits{}}, nil
}

// stakeTally is one placement's view of the player's stake ceilings: the
// keys of the current day, week and month in their zone and the caps in
// force (the operator's daily cap combined with their own limits).
type stakeTally struct {
	day, week, month string
	caps             playlimit.Caps
	loc              *time.Location
}

func (db *DB) newStakeTally(g *playGuard, now time.Time) *stakeTally {
	return &stakeTally{
		day: playlimit.Daily.Key(now, g.loc), week: playlimit.Weekly.Key(now, g.loc), month: playlimit.Monthly.Key(now, g.loc),
		caps: playlimit.CapsFor(db.dailyCap.Load(), g.limits.At(now)), loc: g.loc,
	}
}

// tallyUpsert checks stakes against the ceilings and adds them to the
// players' tallies in one conditional upsert. rows yields (user_id, day,
// stake, week, stake, month, stake); fits, given the three new totals,
// says whether an existing row may take its stake. The check and the
// increment are one statement, so concurrent placements (several
// PostgreSQL writers or servers) cannot both pass a limit that only one of
// them fits under; the second waits on the row and re-checks the new
// total. It changes no row when the stake does not fit. A period whose key
// moved on starts again from zero. A key is only ever replaced by a later
// one, so a player who changes time zone backwards keeps counting into the
// later period rather than starting a fresh one. A first stake inserts
// without the update's check: the caller checks it against empty tallies
// first (Caps.Allows), which for an existing row the SQL check implies
// anyway.
func tallyUpsert(rows string, fits func(day, week, month string) string) string {
	sum := func(col string) string {
		return "CASE WHEN excluded." + col + " > stake_tally." + col + " THEN 0 ELSE stake_tally." + col + "_amount END + excluded." + col + "_amount"
	}
	key := func(col string) string {
		return col + " = CASE WHEN excluded." + col + " > stake_tally." + col + " THEN excluded." + col + " ELSE stake_tally." + col + " END"
	}
	return `INSERT INTO stake_tally (user_id, day, day_amount, week, week_amount, month, month_amount)
		` + rows + `
		ON CONFLICT (user_id) DO UPDATE SET
			day_amount = ` + sum("day") + `, ` + key("day") + `,
			week_amount = ` + sum("week") + `, ` + key("week") + `,
			month_amount = ` + sum("month") + `, ` + key("month") + `
		WHERE ` + fits(sum("day"), sum("week"), sum("month"))
}

// roundTallyUpsert counts the stakes of a round of bets, the rows of src
// (uid, day, week, month, stake, cap_d, cap_w, cap_m), each under its own
// player's caps; it returns the players whose stake was counted. A round
// has at most one bet per player. PostgreSQL's bet write runs it as one
// step of its chain (src c), SQLite's on a VALUES list (src v). The WHERE TRUE
// is SQLite's: an INSERT … SELECT followed by ON CONFLICT is ambiguous to
// its parser without one.
func roundTallyUpsert(src string) string {
	return tallyUpsert(`SELECT uid, day, stake, week, stake, month, stake FROM `+src+` WHERE TRUE`, func(day, week, month string) string {
		return `EXISTS (SELECT 1 FROM ` + src + ` WHERE ` + src + `.uid = stake_tally.user_id AND ` + day + ` <= ` + src + `.cap_d AND ` + week + ` <= ` + src + `.cap_w AND ` + month + ` <= ` + src + `.cap_m)`
	}) + ` RETURNING user_id`
}

// tallyRefusal explains a stake that did not fit (the rare path): it
// reads the totals to say which limit and how much is left, and returns
// that refusal.
func (db *DB) tallyRefusal(ctx context.Context, tx *sql.Tx, uid, stake int64, st *stakeTally, now time.Time) (*fault.Error, error) {
	t, err := db.tally(ctx, tx, uid, st.loc, now)
	if err != nil {
		return nil, err
	}
	return st.caps.Refusal(t, stake), nil
}

// untallyStake takes back a stake that the bet write counted
// (roundTallyUpsert) but the balance then did not cover, in the same
// transaction.
func (db *DB) untallyStake(ctx context.Context, tx *sql.Tx, uid, stake int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE stake_tally SET day_amount = day_amount - $2, week_amount = week_amount - $2, month_amount = month_amount - $2
		WHERE user_id = $1`, uid, stake)
	return err
}

// tally reads what a player staked in the periods current at now in loc.
func (db *DB) tally(ctx context.Context, q queryer, uid int64, loc *time.Location, now time.Time) (playlimit.Tally, error) {
	var t playlimit.Tally
	var day, week, month string
	err := q.QueryRowContext(ctx, `SELECT day, day_amount, week, week_amount, month, month_amount FROM stake_tally WHERE user_id = $1`, uid).
		Scan(&day, &t.Day, &week, &t.Week, &month, &t.Month)
	if errors.Is(err, sql.ErrNoRows) {
		return playlimit.Tally{}, nil
	}
	if err != nil {
		return t, err
	}
	// A later key than the current one (the zone moved back) still
	// counts, as it does at placement.
	if day < playlimit.Daily.Key(now, loc) {
		t.Day = 0
	}
	if week < playlimit.Weekly.Key(now, loc) {
		t.Week = 0
	}
	if month < playlimit.Monthly.Key(now, loc) {
		t.Month = 0
	}
	return t, nil
}

// checkPlayAllowed refuses when the player is in a cool-off or has
// excluded themselves. Programmes (top-up, check-in) call it inside their
// own transaction, before moving any points; placement reads the same
// block with its batch (loadGuards).
//
// Codes: cooloff_active, self_excluded.
func (db *DB) checkPlayAllowed(ctx context.Context, q queryer, userID int64, now time.Time) error {
	var kind string
	var ends time.Time
	err := q.QueryRowContext(ctx, `SELECT block_kind, block_ends_at FROM play_limits WHERE user_id = $1 AND block_ends_at > $2`,
		userID, db.d.ts(now)).Scan(&kind, scanTime{&ends})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return playlimit.Blocked(playlimit.Kind(kind), ends)
}

// SetDailyStakeCap changes the operator's daily stake cap (0: none) for
// placements from now on.
func (db *DB) SetDailyStakeCap(points int64) { db.dailyCap.Store(max(points, 0)) }

// CheckPlayAllowed refuses when the player is in a cool-off or has
// excluded themselves (checkPlayAllowed outside a transaction).
//
// Codes: user_not_found, cooloff_active, self_excluded.
func (db *DB) CheckPlayAllowed(ctx context.Context, userID string) error {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return errNoUser()
	}
	return classify(db.checkPlayAllowed(ctx, db.rw, uid, db.Now()))
}

// PlayLimits returns a player's stake limits, pending changes and what
// they staked in the current periods.
//
// Codes: user_not_found.
func (db *DB) PlayLimits(ctx context.Context, userID string) (*playlimit.Status, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	now := db.Now()
	// Two plain reads, no transaction: on SQLite a transaction would take
	// the writer's lock from placements for a page view.
	g, err := db.readGuard(ctx, db.rw, uid)
	if err != nil {
		return nil, classify(err)
	}
	t, err := db.tally(ctx, db.rw, uid, g.loc, now)
	if err != nil {
		return nil, classify(err)
	}
	return playlimit.NewStatus(g.tz, g.limits, t, db.dailyCap.Load(), now), nil
}

// readGuard reads one player's guard.
func (db *DB) readGuard(ctx context.Context, q queryer, uid int64) (*playGuard, error) {
	_, g, err := scanGuard(q.QueryRowContext(ctx, `SELECT `+guardCols+` FROM users u LEFT JOIN play_limits l ON l.user_id = u.id WHERE u.id = $1`, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	}
	return g, err
}

// lockLimits makes sure the player has a play_limits row and locks it
// (PostgreSQL; SQLite's single writer already excludes every other
// writer), so that two changes to one player's limits apply one after the
// other, each on the result of the last.
func (db *DB) lockLimits(ctx context.Context, tx *sql.Tx, uid int64, now time.Time) (*playGuard, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO play_limits (user_id, updated_at) SELECT id, `+db.tsParam(2)+` FROM users WHERE id = $1 ON CONFLICT (user_id) DO NOTHING`,
		uid, db.d.ts(now)); err != nil {
		return nil, err
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM play_limits WHERE user_id = $1`+db.d.forUpdate, uid).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	} else if err != nil {
		return nil, err
	}
	return db.readGuard(ctx, tx, uid)
}

// SetPlayLimits changes a player's limits: a new or lower limit applies
// at once, a higher one or a removal after playlimit.IncreaseDelay
// (playlimit.Setting.Apply). Periods absent from u are left as they are.
//
// Codes: user_not_found.
//
// ev, when set, is written with the change.
func (db *DB) SetPlayLimits(ctx context.Context, userID string, u playlimit.Update, ev *audit.Event) (*playlimit.Status, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	now := db.Now()
	var st *playlimit.Status
	var evs []live.Event
	err := db.audited(ctx, ev, func(tx *sql.Tx) error {
		g, err := db.lockLimits(ctx, tx, uid, now)
		if err != nil {
			return err
		}
		// Apply changes that came due first, so the rule compares with the
		// limit actually in force.
		l := g.limits.At(now)
		for p, v := range u {
			l[p] = l[p].Apply(v, now)
		}
		args := []any{uid, db.d.ts(now)}
		for _, p := range playlimit.Periods {
			s := l[p]
			var next, nextAt any
			if s.Pending != nil {
				nextAt = db.d.ts(s.Pending.EffectiveAt)
				if s.Pending.Amount != nil {
					next = *s.Pending.Amount
				}
			}
			var amount any
			if s.Amount != nil {
				amount = *s.Amount
			}
			args = append(args, amount, next, nextAt)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE play_limits SET updated_at = $2,
			daily = $3, daily_next = $4, daily_next_at = `+db.tsParam(5)+`,
			weekly = $6, weekly_next = $7, weekly_next_at = `+db.tsParam(8)+`,
			monthly = $9, monthly_next = $10, monthly_next_at = `+db.tsParam(11)+`
			WHERE user_id = $1`, args...); err != nil {
			return err
		}
		t, err := db.tally(ctx, tx, uid, g.loc, now)
		if err != nil {
			return err
		}
		st = playlimit.NewStatus(g.tz, l, t, db.dailyCap.Load(), now)
		evs, err = db.limitNotice(ctx, tx, uid, "limits", now)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.published(evs)
	return st, nil
}

// limitNotice stores the player's limit.changed notice inside tx (what:
// "limits", or the block's kind) and returns its event for after the
// commit: the player's other pages and devices learn of the change at
// once, and the inbox keeps it.
func (db *DB) limitNotice(ctx context.Context, tx *sql.Tx, uid int64, what string, now time.Time) ([]live.Event, error) {
	data := live.New(live.LimitChanged, "", live.LimitChangedData{What: what}).Data
	if _, err := tx.ExecContext(ctx, `INSERT INTO notices (user_id, type, data, created_at) VALUES ($1, $2, $3, `+db.d.param(4, db.d.tsType)+`)`,
		uid, live.LimitChanged, string(data), db.d.ts(now)); err != nil {
		return nil, err
	}
	return []live.Event{{Type: live.LimitChanged, Channel: live.UserChannel(fmtID(pUser, uid)), Data: data}}, nil
}

// tsParam is a timestamp parameter that may be NULL, typed for PostgreSQL.
func (db *DB) tsParam(n int) string { return db.d.param(n, db.d.tsType) }

// PlayBlock returns the player's block in force, or nil.
//
// Codes: user_not_found.
func (db *DB) PlayBlock(ctx context.Context, userID string) (*playlimit.Block, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	g, err := db.readGuard(ctx, db.rw, uid)
	if err != nil {
		return nil, classify(err)
	}
	if !g.block.Active(db.Now()) {
		return nil, nil
	}
	return g.block, nil
}

// StartPlayBlock puts the player in a cool-off or self-exclusion of span
// from now. It can replace a block in force only with one that ends later
// (playlimit.Replace): a block is never lifted or shortened.
//
// ev, when set, is written with the change.
//
// Codes: user_not_found, invalid_duration, block_not_shortened.
func (db *DB) StartPlayBlock(ctx context.Context, userID string, kind playlimit.Kind, span playlimit.Span, ev *audit.Event) (*playlimit.Block, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	now := db.Now()
	var out *playlimit.Block
	var evs []live.Event
	err := db.audited(ctx, ev, func(tx *sql.Tx) error {
		g, err := db.lockLimits(ctx, tx, uid, now)
		if err != nil {
			return err
		}
		b, err := playlimit.NewBlock(kind, span, now, g.loc)
		if err != nil {
			return err
		}
		if err := playlimit.Replace(g.block, b, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE play_limits SET block_kind = $2, block_started_at = $3, block_ends_at = $4, updated_at = $3 WHERE user_id = $1`,
			uid, string(b.Kind), db.d.ts(b.StartedAt), db.d.ts(b.EndsAt)); err != nil {
			return err
		}
		out = b
		evs, err = db.limitNotice(ctx, tx, uid, string(b.Kind), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.published(evs)
	return out, nil
}

// ActivityStatement sums a player's activity in r: bets placed and their
// stakes (a bet later voided still counts as staked: it was placed),
// returns posted in the period (payouts and refunds, less reversals after
// a corrected result) and logins.
//
// Codes: user_not_found.
func (db *DB) ActivityStatement(ctx context.Context, userID string, r playlimit.Range) (*playlimit.Activity, error) {
	uid, ok := parseID(pUser, userID)
	if !ok {
		return nil, errNoUser()
	}
	a := &playlimit.Activity{From: r.From.UTC(), To: r.To.UTC()}
	from, to := db.d.ts(r.From), db.d.ts(r.To)
	err := db.rw.QueryRowContext(ctx, `SELECT u.time_zone,
			(SELECT COUNT(*) FROM bets b WHERE b.user_id = u.id AND b.placed_at >= $2 AND b.placed_at < $3),
			(SELECT CAST(COALESCE(SUM(b.stake), 0) AS BIGINT) FROM bets b WHERE b.user_id = u.id AND b.placed_at >= $2 AND b.placed_at < $3),
			(SELECT CAST(COALESCE(SUM(b.stake), 0) AS BIGINT) FROM bets b WHERE b.user_id = u.id AND b.placed_at >= $2 AND b.placed_at < $3
				AND b.state = 'open'),
			(SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM postings p JOIN ledger_tx t ON t.id = p.tx_id
				WHERE p.account_id = (SELECT id FROM accounts WHERE user_id = u.id) AND t.kind IN ('payout', 'refund', 'reversal')
				AND p.created_at >= $2 AND p.created_at < $3),
			(SELECT COUNT(*) FROM login_events e WHERE e.user_id = u.id AND e.at >= $2 AND e.at < $3)
		FROM users u WHERE u.id = $1`, uid, from, to).Scan(&a.TimeZone, &a.Bets, &a.Staked, &a.Pending, &a.Returns, &a.Sessions)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser()
	}
	if err != nil {
		return nil, classify(err)
	}
	a.TimeZone = playlimit.Location(a.TimeZone).String()
	a.Net = a.Returns - (a.Staked - a.Pending)
	return a, nil
}
