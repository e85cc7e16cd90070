package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/odds"
	"github.com/pointsbook/pointsbook/internal/sport"
)

// fullMatch creates a football match with a 1x2, a total and a handicap
// market.
func (s *site) fullMatch(home, away string, at time.Time) *betting.Match {
	s.t.Helper()
	l25, lh := odds.Line(250), odds.Line(-150)
	var mks []*betting.Market
	for _, def := range []struct {
		kind   betting.MarketKind
		line   *odds.Line
		prices map[string]odds.Odds
	}{
		{betting.OneXTwo, nil, map[string]odds.Odds{"home": 205, "draw": 330, "away": 350}},
		{betting.Total, &l25, map[string]odds.Odds{"over": 190, "under": 190}},
		{betting.Handicap, &lh, map[string]odds.Odds{"home": 240, "away": 155}},
	} {
		mk, err := betting.NewMarket(def.kind, def.line, def.prices)
		if err != nil {
			s.t.Fatal(err)
		}
		mks = append(mks, mk)
	}
	m, err := s.db.CreateMatch(context.Background(), betting.NewMatch{Sport: "football", League: "K League 1", Home: home, Away: away,
		KickoffAt: at, Markets: mks})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

func selectionOf(t *testing.T, m *betting.Match, kind betting.MarketKind, name string) *betting.Selection {
	t.Helper()
	for _, mk := range m.Markets {
		for _, s := range mk.Selections {
			if mk.Kind == kind && s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// The page shows the match, every market with buttons the slip picks up,
// the implied probabilities and the main market's movement, in both
// languages, with names escaped and nothing inline.
func TestMatchPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.fullMatch("Ulsan <b>HD</b>", "Jeonbuk", testNow.Add(12*time.Minute).Add(time.Hour))
	ml := s.match("baseball", "KBO", "Doosan", "LG", testNow.Add(2*time.Hour))
	// The home price moves 2.05 → 2.10 → 2.20 → 1.95 and the draw's
	// 3.30 → 3.50, a minute apart.
	home, draw := selectionOf(t, m, betting.OneXTwo, "home"), selectionOf(t, m, betting.OneXTwo, "draw")
	for _, mv := range []struct {
		sel   *betting.Selection
		price odds.Odds
	}{{home, 210}, {home, 220}, {draw, 350}, {home, 195}} {
		s.clock.Advance(time.Minute)
		if err := s.db.UpdateOdds(t.Context(), mv.sel.ID, mv.price); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(56 * time.Minute) // kick-off in 12 minutes

	for _, tt := range []struct {
		accept string
		want   []string
	}{
		{"", []string{`lang="ko"`, "Jeonbuk", "K League 1", "12분 후", "11:12 (KST)", "경기 전",
			"승무패", "오버/언더 (기준점 2.5)", "핸디캡 (홈 −1.5)", "홈 −1.5", "원정 &#43;1.5", "오버 2.5",
			"예상 확률 보기", "배당 변동", "승 배당 변동", "2.05 → <span class=\"visually-hidden\">현재 </span>1.95",
			`<span class="move-down">▼ 0.10`, `<span class="move-up">▲ 0.20`, "3회 변동", "변동 없음",
			"축구 <span class=\"count\"><span aria-hidden=\"true\">1</span><span class=\"visually-hidden\">1경기</span>",
			"최근 경기 기록이 없습니다", "이번 시즌 기록이 아직 없습니다", "최근 맞대결 기록이 없습니다"}},
		{"en", []string{`lang="en"`, "in 12 min", "Match result (1X2)", "Over/under (line 2.5)", "Handicap (home −1.5)",
			"Home −1.5", "Away &#43;1.5", "Show implied probabilities", "Odds movement", "Home odds movement",
			"3 changes: opened at 2.05, now 1.95", "1 change", "No change",
			"No recent results.", "No games this season yet.", "These teams have not met recently."}},
	} {
		p := s.browser(tt.accept).get("/matches/" + m.ID)
		if p.Status != 200 {
			t.Fatalf("%q: status %d", tt.accept, p.Status)
		}
		for _, w := range tt.want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%q: page lacks %q", tt.accept, w)
			}
		}
		if strings.Contains(p.Body, "<b>HD</b>") || !strings.Contains(p.Body, "Ulsan &lt;b&gt;HD&lt;/b&gt;") {
			t.Errorf("%q: team name not escaped", tt.accept)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, " onclick=") {
			t.Errorf("%q: inline script, style or handler in the page", tt.accept)
		}
		// Seven selections, each a slip button with its current price.
		if n := strings.Count(p.Body, `class="pick" data-selection="`); n != 7 {
			t.Errorf("%q: %d slip buttons, want 7", tt.accept, n)
		}
		if !strings.Contains(p.Body, `data-selection="`+home.ID+`" data-odds="1.95"`) {
			t.Errorf("%q: the home button lacks its current price", tt.accept)
		}
		// Margin-free: 1/1.95, 1/3.50, 1/3.50 normalised.
		for _, w := range []string{"<strong>47.3%</strong>", "<strong>26.4%</strong>", "<strong>50.0%</strong>"} {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%q: implied probability %s missing", tt.accept, w)
			}
		}
		// Three charts; the home one has a point per version.
		if n := strings.Count(p.Body, `<svg class="spark"`); n != 3 {
			t.Errorf("%q: %d charts, want 3", tt.accept, n)
		}
		homeChart := regexp.MustCompile(`(?s)<title id="ct-` + home.ID + `">.*?</svg>`).FindString(p.Body)
		if n := strings.Count(homeChart, "<circle"); n != 4 {
			t.Errorf("%q: the home chart has %d points, want 4: %s", tt.accept, n, homeChart)
		}
		if !strings.Contains(homeChart, "<title>2.20 · ") || !strings.Contains(homeChart, `<path class="spark-line" d="M6.0 `) {
			t.Errorf("%q: home chart %s", tt.accept, homeChart)
		}
		for _, asset := range []string{"live.js", "match.js"} {
			if !regexp.MustCompile(`<script type="module" src="/static/[0-9a-f]+/` + asset).MatchString(p.Body) {
				t.Errorf("%q: no %s", tt.accept, asset)
			}
		}
		if !strings.Contains(p.Body, `data-live-match="`+m.ID+`"`) || !strings.Contains(p.Body, `data-state-live="`) {
			t.Errorf("%q: no live refresh hooks", tt.accept)
		}
	}

	for accept, want := range map[string]string{"": "<h3 id=\"mk-" + ml.Markets[0].ID + "\">승패</h3>", "en": ">Moneyline</h3>"} {
		if p := s.browser(accept).get("/matches/" + ml.ID); !strings.Contains(p.Body, want) {
			t.Errorf("moneyline (%q): page lacks %q", accept, want)
		}
	}

	// The main page loads the live module too.
	if p := s.browser("").get("/"); !strings.Contains(p.Body, "/live.js\" data-live-texts") || !strings.Contains(p.Body, `data-state-finished="종료"`) {
		t.Errorf("main page lacks the live module")
	}
}

func TestMatchPageNotFound(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.match("football", "K League 1", "Pohang", "Seoul", testNow.Add(time.Hour))
	for _, path := range []string{"/matches/m_999999", "/matches/x1", "/matches/m_", "/matches/m_1x", "/matches/%ff", "/matches/" + strings.Repeat("9", 50),
		"/matches/m_99999999999999999999999"} {
		for accept, want := range map[string]string{"": "페이지를 찾을 수 없습니다", "en": "This page does not exist"} {
			p := s.browser(accept).get(path)
			if p.Status != 404 || !strings.Contains(p.Body, want) {
				t.Errorf("%s (%q): %d, body lacks %q", path, accept, p.Status, want)
			}
		}
	}
	if p := s.browser("").get("/matches/" + m.ID); p.Status != 200 {
		t.Errorf("a real match: %d", p.Status)
	}
}

// Form, season records and meetings come from the results stored before
// the match; an over match shows its result and the scores markets
// settle on; a started one shows its prices without buttons.
func TestMatchStatsAndResult(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := t.Context()
	past := []struct {
		home, away string
		h, a       int
		days       int
	}{
		{"Ulsan", "Jeonbuk", 2, 1, 20},
		{"Jeonbuk", "Ulsan", 3, 0, 10},
		{"Ulsan", "Pohang <i>FC</i>", 1, 1, 5},
	}
	for _, p := range past {
		pm := s.match("football", "K League 1", p.home, p.away, testNow.AddDate(0, 0, -p.days))
		if _, err := s.db.RecordResult(ctx, pm.ID, sport.Outcome{Score: sport.Score{Home: p.h, Away: p.a, Regulation: sport.Pair{Home: p.h, Away: p.a}},
			Evidence: sport.Evidence{Source: "operator", Status: "FT", Actor: "ops"}}, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	m := s.fullMatch("Ulsan", "Jeonbuk", testNow.Add(3*time.Hour))
	for _, tt := range []struct {
		accept string
		want   []string
	}{
		{"", []string{"최근 5경기", `data-result="D"`, "무: Pohang &lt;i&gt;FC&lt;/i&gt; 상대 1:1", "패: Jeonbuk 상대 0:3", "승: Jeonbuk 상대 2:1",
			"K League 1 2026 시즌", "3경기 1승 1무 1패", "득점 3 · 실점 5", "2경기 1승 0무 1패",
			"상대 전적", "11월 28일 (토)", "11월 18일 (수)"}},
		{"en", []string{"Last five results", "Drew against Pohang &lt;i&gt;FC&lt;/i&gt;, 1–1", "Lost against Jeonbuk, 0–3",
			"K League 1, 2026 season", "3 played: 1 won, 1 drawn, 1 lost", "Scored 3, conceded 5", "Head to head"}},
	} {
		p := s.browser(tt.accept).get("/matches/" + m.ID)
		for _, w := range tt.want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%q: page lacks %q", tt.accept, w)
			}
		}
		// Newest first: the draw with Pohang leads Ulsan's chips.
		if i, j := strings.Index(p.Body, `data-result="D"`), strings.Index(p.Body, `data-result="L"`); i < 0 || j < 0 || i > j {
			t.Errorf("%q: form not newest first", tt.accept)
		}
		meetings := regexp.MustCompile(`(?s)<ol class="meetings">.*?</ol>`).FindString(p.Body)
		if strings.Count(meetings, "<li>") != 2 || !strings.Contains(meetings, `<span class="team home">Jeonbuk</span> <span class="score">3 : 0</span>`) {
			t.Errorf("%q: meetings %s", tt.accept, meetings)
		}
		if strings.Contains(p.Body, "Pohang <i>FC</i>") {
			t.Errorf("%q: opponent name not escaped", tt.accept)
		}
	}

	// Kick-off: the markets close and show prices without buttons.
	s.clock.Advance(3*time.Hour + time.Minute)
	if err := s.db.SetMatchState(ctx, m.ID, sport.Live); err != nil {
		t.Fatal(err)
	}
	p := s.browser("").get("/matches/" + m.ID)
	if strings.Contains(p.Body, `class="pick"`) || !strings.Contains(p.Body, "마감되었습니다") || !strings.Contains(p.Body, `data-state="live">진행 중`) {
		t.Errorf("live match: buttons still offered or state missing")
	}
	if strings.Contains(p.Body, "경기 결과") {
		t.Errorf("a live match shows a result")
	}

	// Finished after extra time: the result and what each market settles on.
	if _, err := s.db.RecordResult(ctx, m.ID, sport.Outcome{Score: sport.Score{Home: 3, Away: 2, Regulation: sport.Pair{Home: 2, Away: 2}},
		Evidence: sport.Evidence{Source: "operator", Status: "AET", Actor: "ops", Reason: "entered from the <b>referee's</b> report", FetchedAt: testNow.Add(4 * time.Hour)}}, true, nil); err != nil {
		t.Fatal(err)
	}
	for accept, want := range map[string][]string{
		"":   {"정산 근거", "운영자 입력", "AET", "12월 8일 14:00 (KST)", "entered from the &lt;b&gt;referee&#39;s&lt;/b&gt; report", "경기 결과", "최종 점수</dt><dd>3 : 2", "정규 시간 점수</dt><dd>2 : 2", "승무패는 정규 시간 점수로 정산합니다", "오버/언더와 핸디캡은 정규 시간 점수로", `data-score>3 : 2`, ">종료<"},
		"en": {"Settled on", "Operator entry", "8 Dec 14:00 (KST)", "Result", "Final score</dt><dd>3 : 2", "Score after regulation time</dt><dd>2 : 2", "Totals and handicaps settle on the regulation score"},
	} {
		p := s.browser(accept).get("/matches/" + m.ID)
		for _, w := range want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("finished (%q): page lacks %q", accept, w)
			}
		}
	}

	// Cancelled: every bet is void.
	c := s.match("football", "K League 1", "Daegu", "Gwangju", testNow.Add(5*time.Hour))
	if _, err := s.db.VoidMatch(ctx, c.ID, sport.Evidence{Source: "operator", Status: "CANC", Actor: "ops"}, true); err != nil {
		t.Fatal(err)
	}
	if p := s.browser("").get("/matches/" + c.ID); !strings.Contains(p.Body, "경기가 취소되어") || !strings.Contains(p.Body, ">취소<") {
		t.Errorf("cancelled match: no void result")
	}
}
