package web_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/odds"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/slip-vectors.json from odds.Payout")

// slipData is the slip's JSON data block as static/slip.js reads it.
type slipData struct {
	SignedIn bool              `json:"signed_in"`
	Zone     string            `json:"zone"`
	Limits   map[string]int64  `json:"limits"`
	Sel      map[string]string `json:"sel"`
	T        map[string]string `json:"t"`
}

var (
	slipBlock      = regexp.MustCompile(`(?s)<script type="application/json" id="slip-data">(.*?)</script>`)
	slipTextsBlock = regexp.MustCompile(`(?s)<script type="application/json" id="slip-texts">(.*?)</script>`)
)

// The slip is on every page (the main page, a 404, a 400), in the
// viewer's language, with its script, its data block and, for a player,
// the signed-in flag the script branches on.
func TestSlipOnEveryPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.match("football", "K League 1", "Ulsan", "Jeonbuk", testNow.Add(3*time.Hour))
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var scriptKeys []string // every slip text but the three the markup shows
	for _, k := range cat.Keys() {
		if rest, ok := strings.CutPrefix(k, "slip."); ok && rest != "title" && rest != "empty" && rest != "needs_js" {
			scriptKeys = append(scriptKeys, rest)
		}
	}
	if len(scriptKeys) < 40 {
		t.Fatalf("only %d slip texts in the catalogue", len(scriptKeys))
	}
	for _, tt := range []struct {
		accept string
		lang   i18n.Lang
		want   []string
	}{
		{"", i18n.Korean, []string{"베팅 슬립", "배당을 눌러 선택을 담으세요.", "베팅 슬립을 쓰려면 JavaScript를 켜 주세요.",
			"베팅 포인트", "예상 적중 포인트", "배당이 바뀌면", "다시 확인하기", "오른 배당만 자동 수락", "모든 변경 자동 수락", "10,000"}},
		{"en", i18n.English, []string{"Bet slip", "Tap a price to add a selection.", "The bet slip needs JavaScript.",
			"Stake (points)", "Potential return", "If the odds change", "Ask me again", "Accept higher odds", "Accept any change", "10,000"}},
	} {
		p := cat.For(tt.lang)
		for _, signedIn := range []bool{false, true} {
			b := s.browser(tt.accept)
			if signedIn {
				b.signIn("slip" + string(tt.lang))
			}
			for _, path := range []string{"/", "/?sport=baseball", "/nowhere", "/?sport=%ff"} {
				pg := b.get(path)
				name := tt.accept + " " + path + " signed in " + strconv.FormatBool(signedIn)
				if pg.Status >= 500 || !strings.Contains(pg.Body, `<aside class="slip" id="slip"`) {
					t.Fatalf("%s: status %d, no slip", name, pg.Status)
				}
				for _, w := range tt.want {
					if !strings.Contains(pg.Body, w) {
						t.Errorf("%s: slip lacks %q", name, w)
					}
				}
				// The edge refuses a malformed query before it reads the
				// session, so that page is a visitor's.
				player := signedIn && path != "/?sport=%ff"
				place := map[bool]string{false: p.T("slip.login_to_place"), true: p.T("slip.place")}[player]
				if !strings.Contains(pg.Body, ">"+place+"</button>") {
					t.Errorf("%s: the place button does not say %q", name, place)
				}
				if regexpFind(pg.Body, `<script type="module" src="(/static/[0-9a-f]+/slip\.js)"></script>`) == "" {
					t.Errorf("%s: no slip module", name)
				}
				m := slipBlock.FindStringSubmatch(pg.Body)
				if m == nil {
					t.Fatalf("%s: no data block", name)
				}
				var d slipData
				dec := json.NewDecoder(strings.NewReader(m[1]))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&d); err != nil {
					t.Fatalf("%s: data block: %v\n%s", name, err, m[1])
				}
				// The texts are a second block, rendered once per language.
				mt := slipTextsBlock.FindStringSubmatch(pg.Body)
				if mt == nil {
					t.Fatalf("%s: no texts block", name)
				}
				dec = json.NewDecoder(strings.NewReader(mt[1]))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&d); err != nil {
					t.Fatalf("%s: texts block: %v\n%s", name, err, mt[1])
				}
				if d.SignedIn != player || d.Zone != "Asia/Seoul" {
					t.Errorf("%s: signed_in %v zone %q", name, d.SignedIn, d.Zone)
				}
				l := betting.DefaultLimits
				if d.Limits["min_stake"] != l.MinStake || d.Limits["max_stake"] != l.MaxStake ||
					d.Limits["max_payout"] != l.MaxPayout || d.Limits["max_legs"] != int64(l.MaxLegs) {
					t.Errorf("%s: limits %v", name, d.Limits)
				}
				for _, k := range scriptKeys {
					if d.T[k] == "" || d.T[k] != p.T("slip."+k) {
						t.Errorf("%s: text %q is %q, want %q", name, k, d.T[k], p.T("slip."+k))
					}
				}
				if len(d.T) != len(scriptKeys) {
					t.Errorf("%s: %d texts in the block, %d in the catalogue", name, len(d.T), len(scriptKeys))
				}
				for _, k := range []string{"1x2.home", "1x2.draw", "1x2.away", "moneyline.home", "total.over", "handicap.away"} {
					if d.Sel[k] != p.T("sel."+k) {
						t.Errorf("%s: selection %q is %q", name, k, d.Sel[k])
					}
				}
			}
		}
	}
	// The main page's odds buttons carry what the script needs: the
	// selection, the price and, on the row, the match.
	pg := s.browser("").get("/")
	if regexpFind(pg.Body, `<li class="match" data-match="(m_[^"]+)"`) == "" ||
		regexpFind(pg.Body, `<button type="button" class="pick" data-selection="(s_[^"]+)" data-odds="2\.05" aria-pressed="false">`) == "" {
		t.Errorf("the odds buttons lack their data")
	}
}

// The catalogue's slip texts live in slip.json only, and the placeholders
// the script fills ({n}, {points}, …) are the same in both languages.
func TestSlipCatalogue(t *testing.T) {
	t.Parallel()
	read := func(l string) map[string]any {
		raw, err := os.ReadFile(filepath.Join("..", "i18n", "catalog", l, "slip.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ko, en := read("ko"), read("en")
	holes := regexp.MustCompile(`\{\w+\}`)
	for k, v := range ko {
		if !strings.HasPrefix(k, "slip.") {
			t.Errorf("%q is in slip.json", k)
		}
		a, b := holes.FindAllString(v.(string), -1), holes.FindAllString(en[k].(string), -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%q: ko fills %v, en %v", k, a, b)
		}
	}
	for _, l := range []string{"ko", "en"} {
		raw, err := os.ReadFile(filepath.Join("..", "i18n", "catalog", l, "main.json"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(`"slip.`)) {
			t.Errorf("%s/main.json still has slip texts", l)
		}
	}
}

// slipVector is one case of the potential return: static/slip.js's
// payout must give Payout for Stake and Odds (null: over int64, which
// the server refuses). Numbers are strings: JSON numbers lose digits
// past 2^53 in a browser.
type slipVector struct {
	Stake  string   `json:"stake"`
	Odds   []string `json:"odds"`
	Payout *string  `json:"payout"`
}

type slipVectors struct {
	About   string       `json:"about"`
	Vectors []slipVector `json:"vectors"`
}

const vectorsFile = "testdata/slip-vectors.json"

// The slip's potential return is the server's: the vectors the browser
// tests run through static/slip.js are odds.Payout's answers, a few of
// them worked out by hand here.
func TestSlipVectors(t *testing.T) {
	t.Parallel()
	if *updateVectors {
		writeVectors(t)
	}
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs slipVectors
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) < 100 {
		t.Fatalf("only %d vectors", len(vs.Vectors))
	}
	overflow := 0
	for i, v := range vs.Vectors {
		stake, err := strconv.ParseInt(v.Stake, 10, 64)
		if err != nil || stake <= 0 || len(v.Odds) == 0 {
			t.Fatalf("vector %d: stake %q, %d prices", i, v.Stake, len(v.Odds))
		}
		prices := make([]odds.Odds, len(v.Odds))
		for j, s := range v.Odds {
			if prices[j], err = odds.Parse(s); err != nil {
				t.Fatalf("vector %d: %v", i, err)
			}
		}
		got, ok := odds.Payout(stake, prices)
		switch {
		case !ok && v.Payout != nil:
			t.Errorf("vector %d: Payout overflows, the file says %s", i, *v.Payout)
		case ok && (v.Payout == nil || *v.Payout != strconv.FormatInt(got, 10)):
			t.Errorf("vector %d: Payout(%d, %v) = %d, the file says %v", i, stake, v.Odds, got, v.Payout)
		case !ok:
			overflow++
		}
	}
	if overflow == 0 {
		t.Error("no vector overflows int64")
	}
	// By hand: stake × Π(odds in hundredths) / 100^legs, rounded down.
	for _, c := range []struct {
		stake string
		odds  []string
		want  string // "" for overflow
	}{
		{"1000", []string{"2.05"}, "2050"},                     // 1000·205/100
		{"1000", []string{"2.05", "3.30"}, "6765"},             // 1000·205·330/10⁴ = 6765
		{"333", []string{"1.01"}, "336"},                       // 33633/100 = 336.33
		{"999", []string{"1.01", "1.01"}, "1019"},              // 999·10201/10⁴ = 1019.0799
		{"7", []string{"1.99"}, "13"},                          // 1393/100 = 13.93
		{"50000", []string{"3.33", "3.33", "3.33"}, "1846301"}, // 50000·36926037/10⁶ = 1846301.85
		{"100", repeat("1.50", 10), "5766"},                    // 100·1.5¹⁰ = 5766.50390625
		{"50000", repeat("1000.00", 10), ""},                   // 5·10⁴·10³⁰: over int64
	} {
		found := false
		for _, v := range vs.Vectors {
			if v.Stake == c.stake && strings.Join(v.Odds, " ") == strings.Join(c.odds, " ") {
				found = true
				if (c.want == "") != (v.Payout == nil) || (v.Payout != nil && *v.Payout != c.want) {
					t.Errorf("%s × %v: the file says %v, by hand %q", c.stake, c.odds, v.Payout, c.want)
				}
			}
		}
		if !found {
			t.Errorf("%s × %v is not among the vectors", c.stake, c.odds)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// writeVectors draws the vectors: the hand-checked cases, the bounds
// (smallest and largest prices and stakes, ten legs) and a fixed
// pseudo-random sample.
func writeVectors(t *testing.T) {
	cases := [][]string{
		{"1000", "2.05"}, {"1000", "2.05", "3.30"}, {"333", "1.01"}, {"999", "1.01", "1.01"}, {"7", "1.99"},
		{"50000", "3.33", "3.33", "3.33"},
		append([]string{"100"}, repeat("1.50", 10)...),
		append([]string{"50000"}, repeat("1000.00", 10)...),
		append([]string{"1"}, repeat("1.01", 10)...),
		append([]string{"9223372036854775807"}, "1.01"),
		{"92233720368547758", "1.01"}, {"9223372036854775807", "1000.00"},
		append([]string{"9"}, repeat("1000.00", 6)...),
		append([]string{"1"}, repeat("99.99", 10)...),
		{"1", "1000.00"}, {"50000", "1000.00"}, {"100", "1.01"}, {"101", "1.99"},
	}
	r := rand.New(rand.NewPCG(15, 2026))
	for range 200 {
		c := []string{strconv.FormatInt(1+r.Int64N(100_000), 10)}
		for range 1 + r.IntN(10) {
			var o odds.Odds
			if r.IntN(5) == 0 {
				o = odds.Min + odds.Odds(r.Int64N(int64(odds.Max-odds.Min)+1))
			} else {
				o = odds.Min + odds.Odds(r.Int64N(900)) // the usual 1.01 to 10.00
			}
			c = append(c, o.String())
		}
		cases = append(cases, c)
	}
	vs := slipVectors{About: "Potential returns as internal/odds.Payout computes them: stake × the product of the odds, " +
		"rounded down to whole points; payout null when it does not fit in int64. Written by " +
		"go test ./internal/web -run TestSlipVectors -update-vectors; static/slip.js's payout must agree."}
	for _, c := range cases {
		stake, _ := strconv.ParseInt(c[0], 10, 64)
		prices := make([]odds.Odds, len(c)-1)
		for i, s := range c[1:] {
			prices[i], _ = odds.Parse(s)
		}
		v := slipVector{Stake: c[0], Odds: c[1:]}
		if p, ok := odds.Payout(stake, prices); ok {
			s := strconv.FormatInt(p, 10)
			v.Payout = &s
		}
		vs.Vectors = append(vs.Vectors, v)
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"about\": ")
	about, _ := json.Marshal(vs.About)
	b.Write(about)
	b.WriteString(",\n  \"vectors\": [\n")
	for i, v := range vs.Vectors {
		line, _ := json.Marshal(v)
		b.WriteString("    ")
		b.Write(line)
		if i < len(vs.Vectors)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
