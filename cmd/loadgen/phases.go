package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// Shape of the HTTP phases.
const (
	loadMatches = 20              // matches the HTTP load bets on
	warmup      = 2 * time.Second // load before the measured window
	settleLead  = 3 * time.Second // load before the result is posted
	settleTail  = 2 * time.Second // load after settlement returns
)

// results are the figures of the run.
type results struct {
	ceiling1, ceiling100 float64 // bets/s; 0 when not measured
	http                 []loadStats
	settle               *settleFigure
	hot                  map[int][]loadStats // house shards → runs
	pgbenchTPS           float64
	web                  *webFigure
	obs                  *obsFigure
}

type settleFigure struct {
	bets             int
	seedRate         float64
	took             time.Duration
	status           int
	before, during   loadStats
	settled, open    int64
	settledInRequest int64
	verify           string
}

var hotShards = []int{16, 50, 1}

// ---- ceiling ----------------------------------------------------------

func (l *loadgen) phaseCeiling(ctx context.Context) error {
	d, err := l.freshDB(ctx, "pbload_")
	if err != nil {
		return err
	}
	db, err := l.openStore(ctx, d, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	l.logf("ceiling: seeding %d players and %d matches", l.opt.players, loadMatches)
	users, err := seedUsers(ctx, db, l.opt.players, 1_000_000_000)
	if err != nil {
		return err
	}
	sels, err := seedMatches(ctx, db, loadMatches)
	if err != nil {
		return err
	}
	for _, per := range []int{1, 100} {
		placed, failed, elapsed := l.direct(ctx, db, users, sels, per)
		rate := float64(placed) / elapsed.Seconds()
		l.logf("ceiling: %3d bet(s) per transaction, %d goroutines: %d bets committed in %s = %.0f bets/s (failed transactions: %d)",
			per, l.opt.c, placed, elapsed, rate, failed)
		if per == 1 {
			l.r.ceiling1 = rate
		} else {
			l.r.ceiling100 = rate
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// direct places bets through PlaceDirect, per bets per call, from -c
// goroutines for the duration.
func (l *loadgen) direct(ctx context.Context, db *sqlstore.DB, users []string, sels []*betting.Selection, per int) (placed, failed int64, elapsed time.Duration) {
	var nPlaced, nFailed atomic.Int64
	start := time.Now()
	deadline := start.Add(l.opt.duration)
	// Calls still waiting when the window closes are not counted; bound
	// how long they may linger (a PostgreSQL deadlock takes a second to
	// detect, and the store retries it).
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < l.opt.c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+7, uint64(time.Now().UnixNano())))
			reqs := make([]*betting.PlaceRequest, per)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				for i := range reqs {
					s := sels[rng.IntN(len(sels))]
					reqs[i] = &betting.PlaceRequest{UserID: users[rng.IntN(len(users))], Slip: betting.Slip{
						Stake: 100, OddsPolicy: betting.AcceptAny, Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}}}
				}
				bets, _, err := db.PlaceDirect(ctx, reqs)
				if err != nil {
					nFailed.Add(1)
					continue
				}
				// Calls still queued for the single SQLite writer when the
				// window closes finish late; only bets committed inside
				// the window count.
				if time.Now().After(deadline) {
					return
				}
				for _, b := range bets {
					if b != nil {
						nPlaced.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	return nPlaced.Load(), nFailed.Load(), deadline.Sub(start)
}

// seedUsers creates n players through the store (no password hashing:
// they never log in) and returns their ids.
func seedUsers(ctx context.Context, db *sqlstore.DB, n int, bonus int64) ([]string, error) {
	ids := make([]string, n)
	run := randHex(3)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				name := fmt.Sprintf("seed%s_%d", run, i)
				u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name, Email: name + "@example.com",
					PasswordHash: "x", Role: account.Player, Bonus: bonus})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("seed users: %w", firstErr)
	}
	return ids, ctx.Err()
}

// seedMatches creates n matches (1x2 and total 2.5) kicking off in a few
// hours and returns their selections.
func seedMatches(ctx context.Context, db *sqlstore.DB, n int) ([]*betting.Selection, error) {
	var sels []*betting.Selection
	kick := time.Now().UTC().Add(4 * time.Hour).Truncate(time.Minute)
	for i := 0; i < n; i++ {
		m, err := seedMatch(ctx, db, i, kick.Add(time.Duration(i)*5*time.Minute))
		if err != nil {
			return nil, err
		}
		for _, mk := range m.Markets {
			sels = append(sels, mk.Selections...)
		}
	}
	return sels, nil
}

func seedMatch(ctx context.Context, db *sqlstore.DB, i int, kickoff time.Time) (*betting.Match, error) {
	x, err := betting.NewMarket(betting.OneXTwo, nil, map[string]odds.Odds{"home": 200, "draw": 340, "away": 380})
	if err != nil {
		return nil, err
	}
	line := odds.Line(250)
	tot, err := betting.NewMarket(betting.Total, &line, map[string]odds.Odds{"over": 190, "under": 190})
	if err != nil {
		return nil, err
	}
	return db.CreateMatch(ctx, betting.NewMatch{Sport: "football", League: "Seed League",
		Home: fmt.Sprintf("Seed Home %d", i), Away: fmt.Sprintf("Seed Away %d", i), KickoffAt: kickoff,
		Markets: []*betting.Market{x, tot}})
}

// ---- http ---------------------------------------------------------------

func (l *loadgen) phaseHTTP(ctx context.Context) error {
	for i := 0; i < l.opt.repeat; i++ {
		st, err := l.httpOnce(ctx, fmt.Sprintf("http %d/%d", i+1, l.opt.repeat))
		if err != nil {
			return err
		}
		l.r.http = append(l.r.http, st)
	}
	return nil
}

// httpOnce runs one HTTP placement load on a fresh database and server
// and checks the ledger afterwards.
func (l *loadgen) httpOnce(ctx context.Context, label string, extra ...string) (loadStats, error) {
	d, err := l.freshDB(ctx, "pbload_")
	if err != nil {
		return loadStats{}, err
	}
	s, err := l.startServer(ctx, d, extra...)
	if err != nil {
		return loadStats{}, err
	}
	c := newClient(s.base, l.opt.c)
	defer c.close()
	f, err := l.setup(ctx, s, c, loadMatches, l.opt.players)
	if err != nil {
		return loadStats{}, fmt.Errorf("%s setup: %w", label, err)
	}
	stop := make(chan struct{})
	timer := time.AfterFunc(warmup+l.opt.duration, func() { close(stop) })
	defer timer.Stop()
	run := runLoad(ctx, c, f, l.opt.c, stop)
	st := run.stats(warmup, warmup+l.opt.duration)
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := s.stop(); err != nil {
		return st, fmt.Errorf("%s: %w", label, err)
	}
	verdict, err := l.verifyLedger(ctx, s)
	if err != nil {
		return st, fmt.Errorf("%s: %w", label, err)
	}
	l.logf("%s%s: %.0f bets/s  p50 %s  p99 %s  p99.9 %s  errors %s  [%s]",
		label, settingsLabel(extra), st.bps, ms(st.p50), ms(st.p99), ms(st.p999), st.errorsText(), verdict)
	d.drop()
	return st, nil
}

func settingsLabel(extra []string) string {
	if len(extra) == 0 {
		return ""
	}
	return " (" + strings.Join(extra, " ") + ")"
}

// ---- hot ------------------------------------------------------------------

func (l *loadgen) phaseHot(ctx context.Context) error {
	if l.r.hot == nil {
		l.r.hot = map[int][]loadStats{}
	}
	// Rounds of 16, 50, 1 rather than all 16s first, so that a noisy
	// neighbour's minute hurts every setting alike.
	for i := 0; i < l.opt.repeat; i++ {
		for _, n := range hotShards {
			st, err := l.httpOnce(ctx, fmt.Sprintf("hot %d/%d", i+1, l.opt.repeat), "PB_HOUSE_SHARDS="+strconv.Itoa(n))
			if err != nil {
				return err
			}
			l.r.hot[n] = append(l.r.hot[n], st)
		}
	}
	return nil
}

// ---- settle -------------------------------------------------------------

func (l *loadgen) phaseSettle(ctx context.Context) error {
	fig := &settleFigure{bets: l.opt.settleBets}
	d, err := l.freshDB(ctx, "pbload_")
	if err != nil {
		return err
	}
	// Seed through the store: players, the match, and the open bets.
	db, err := l.openStore(ctx, d, 16)
	if err != nil {
		return err
	}
	l.logf("settle: seeding %d players and %d open bets on one match", l.opt.settlePlayers, l.opt.settleBets)
	users, err := seedUsers(ctx, db, l.opt.settlePlayers, 100_000_000)
	if err != nil {
		db.Close()
		return err
	}
	m, err := seedMatch(ctx, db, 9999, time.Now().UTC().Add(4*time.Hour).Truncate(time.Minute))
	if err != nil {
		db.Close()
		return err
	}
	sels := m.Markets[0].Selections // 1x2: home wins a third, the rest lose
	t0 := time.Now()
	if err := seedBets(ctx, db, users, sels, l.opt.settleBets); err != nil {
		db.Close()
		return err
	}
	fig.seedRate = float64(l.opt.settleBets) / time.Since(t0).Seconds()
	n, err := db.BetCount(ctx)
	db.Close()
	if err != nil {
		return err
	}
	if n != int64(l.opt.settleBets) {
		return fmt.Errorf("seeded %d bets, want %d", n, l.opt.settleBets)
	}
	l.logf("settle: seeded %d bets in %s (%.0f bets/s)", n, time.Since(t0).Round(time.Millisecond), fig.seedRate)
	if err := l.analyze(ctx, d); err != nil {
		return err
	}

	s, err := l.startServer(ctx, d)
	if err != nil {
		return err
	}
	c := newClient(s.base, l.opt.c+2)
	defer c.close()
	f, err := l.setup(ctx, s, c, loadMatches, l.opt.players)
	if err != nil {
		return fmt.Errorf("settle setup: %w", err)
	}
	stop := make(chan struct{})
	done := make(chan *loadRun, 1)
	go func() { done <- runLoad(ctx, c, f, l.opt.c, stop) }()
	// The load's clock starts inside runLoad; give it a moment, then post
	// the result and time the request.
	select {
	case <-time.After(settleLead):
	case <-ctx.Done():
	}
	var out struct {
		Changed bool `json:"changed"`
	}
	posted := time.Now()
	fig.status, err = c.call(ctx, "POST", "/api/v1/admin/matches/"+m.ID+"/result", f.adminToken,
		map[string]any{"home": 2, "away": 1}, &out, http.StatusOK)
	fig.took = time.Since(posted)
	settleErr := err
	// What the request itself settled: it may have run out of time (the
	// API bounds a request to 15 s) and left the rest to the server's
	// background settler.
	if n, _, err := countMatchBets(ctx, d, m.ID); err == nil {
		fig.settledInRequest = n
	}
	select {
	case <-time.After(settleTail):
	case <-ctx.Done():
	}
	close(stop)
	run := <-done
	from, to := posted.Sub(run.began), posted.Sub(run.began)+fig.took
	fig.before = run.stats(min(time.Second, from), from)
	fig.during = run.stats(from, to)
	if err := ctx.Err(); err != nil {
		return err
	}
	l.logf("settle: POST result answered %d in %s, %d of %d bets settled by then (%.0f bets/s) %v",
		fig.status, fig.took.Round(time.Millisecond), fig.settledInRequest, fig.bets, float64(fig.settledInRequest)/fig.took.Seconds(), errText(settleErr))
	if fig.settledInRequest < int64(fig.bets) {
		// The server's background settler (every 30 s) finishes the job.
		l.logf("settle: waiting up to 3 minutes for the background settler to finish")
		waitUntil := time.Now().Add(3 * time.Minute)
		for time.Now().Before(waitUntil) && ctx.Err() == nil {
			n, open, err := countMatchBets(ctx, d, m.ID)
			if err == nil && open == 0 && n == int64(fig.bets) {
				break
			}
			time.Sleep(time.Second)
		}
	}
	if err := s.stop(); err != nil {
		return err
	}
	l.logf("settle: placement before  %.0f bets/s  p50 %s  p99 %s  errors %s", fig.before.bps, ms(fig.before.p50), ms(fig.before.p99), fig.before.errorsText())
	l.logf("settle: placement during  %.0f bets/s  p50 %s  p99 %s  errors %s", fig.during.bps, ms(fig.during.p50), ms(fig.during.p99), fig.during.errorsText())

	fig.verify, err = l.verifyLedger(ctx, s)
	if err != nil {
		return err
	}
	fig.settled, fig.open, err = countMatchBets(ctx, d, m.ID)
	if err != nil {
		return err
	}
	l.logf("settle: bets on the match: %d settled, %d open  [%s]", fig.settled, fig.open, fig.verify)
	l.r.settle = fig
	if fig.open != 0 || fig.settled != int64(l.opt.settleBets) {
		return fmt.Errorf("settlement incomplete: %d settled, %d open, want %d settled", fig.settled, fig.open, l.opt.settleBets)
	}
	d.drop()
	return nil
}

// seedBets places n single bets on sels, 100 per PlaceDirect call, from
// four goroutines; each call takes its 100 players from a contiguous run
// so that concurrent calls rarely lock the same wallets. Should concurrent
// calls fail (a PostgreSQL deadlock the store's retries did not absorb),
// the failed call is run again and seeding goes on from one goroutine.
func seedBets(ctx context.Context, db *sqlstore.DB, users []string, sels []*betting.Selection, n int) error {
	const per = 100
	calls := (n + per - 1) / per
	var next atomic.Int64
	var serial atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if w > 0 && serial.Load() {
					return
				}
				k := int(next.Add(1)) - 1
				if k >= calls || ctx.Err() != nil {
					return
				}
				size := min(per, n-k*per)
				reqs := make([]*betting.PlaceRequest, size)
				for j := range reqs {
					s := sels[(k+j)%len(sels)]
					reqs[j] = &betting.PlaceRequest{UserID: users[(k*per+j)%len(users)], Slip: betting.Slip{
						Stake: 100, OddsPolicy: betting.AcceptAny, Legs: []betting.LegRequest{{SelectionID: s.ID, Odds: s.Odds}}}}
				}
				var bets []*betting.Bet
				var perr []error
				var err error
				for attempt := 0; attempt < 10 && ctx.Err() == nil; attempt++ {
					if bets, perr, err = db.PlaceDirect(ctx, reqs); err == nil {
						break
					}
					serial.Store(true)
				}
				if err == nil {
					for j := range bets {
						if perr[j] != nil {
							err = perr[j]
							break
						}
					}
				}
				if err != nil {
					errs <- fmt.Errorf("seed bets: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if serial.Load() {
		fmt.Fprintln(os.Stderr, "loadgen: seeding met failed transactions (deadlocks) and went on from one goroutine")
	}
	return ctx.Err()
}

// countMatchBets counts the settled and open bets with a leg on the match.
func countMatchBets(ctx context.Context, d *database, matchID string) (settled, open int64, err error) {
	mid, err := strconv.ParseInt(strings.TrimPrefix(matchID, "m_"), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("match id %q: %w", matchID, err)
	}
	db, err := d.rawSQL()
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT b.state, COUNT(*) FROM bets b WHERE b.id IN (SELECT bet_id FROM bet_legs WHERE match_id = $1) GROUP BY b.state`, mid)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return 0, 0, err
		}
		if state == "open" {
			open += n
		} else {
			settled += n
		}
	}
	return settled, open, rows.Err()
}

// ---- pgbench --------------------------------------------------------------

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func (l *loadgen) phasePgbench(ctx context.Context) error {
	d, err := l.freshDB(ctx, "pbload_bench_")
	if err != nil {
		return err
	}
	defer d.drop()
	host, port, user, env := pgbenchConn(l.opt.pgURL)
	conn := []string{"-h", host, "-p", port, "-U", user}
	l.logf("pgbench: initialising scale 10 in %s", d.name)
	if out, err := runCommand(ctx, 10*time.Minute, env, "pgbench", append(append([]string{"-i", "-s", "10", "-q"}, conn...), d.name)...); err != nil {
		return fmt.Errorf("pgbench -i: %w\n%s", err, out)
	}
	secs := strconv.Itoa(int(l.opt.duration.Seconds()))
	args := append(append([]string{"-c", "8", "-j", "2", "-T", secs, "-b", "tpcb-like", "-n"}, conn...), d.name)
	out, err := runCommand(ctx, l.opt.duration+5*time.Minute, env, "pgbench", args...)
	if err != nil {
		return fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	mt := tpsRE.FindStringSubmatch(out)
	if mt == nil {
		return fmt.Errorf("pgbench: no tps in its output:\n%s", out)
	}
	l.r.pgbenchTPS, _ = strconv.ParseFloat(mt[1], 64)
	l.logf("pgbench: tpcb-like, 8 clients, 2 threads, scale 10, %ss: %.0f tps", secs, l.r.pgbenchTPS)
	return nil
}

// pgbenchConn turns the admin URL into pgbench's connection options and
// environment (the password, if any, goes through PGPASSWORD).
func pgbenchConn(raw string) (host, port, user string, env []string) {
	u, _ := urlParse(raw)
	host, port, user = u.Hostname(), u.Port(), u.User.Username()
	if port == "" {
		port = "5432"
	}
	if user == "" {
		user = "postgres"
	}
	env = os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
	}
	if sm := u.Query().Get("sslmode"); sm != "" {
		env = append(env, "PGSSLMODE="+sm)
	}
	return host, port, user, env
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// analyze brings PostgreSQL's planner statistics up to date after a bulk
// seed, as pgbench -i does for its own tables. A server with autovacuum
// on gets there by itself within a minute or so; this machine's
// PostgreSQL runs with autovacuum off, and without statistics settling
// the seeded match took twice as long (seq scans of bet_legs).
func (l *loadgen) analyze(ctx context.Context, d *database) error {
	if d.kind != "postgres" {
		return nil
	}
	raw, err := d.rawSQL()
	if err != nil {
		return err
	}
	defer raw.Close()
	t0 := time.Now()
	if _, err := raw.ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum analyze after seeding: %w", err)
	}
	l.logf("settle: VACUUM (ANALYZE) after seeding took %s", time.Since(t0).Round(time.Millisecond))
	return nil
}
