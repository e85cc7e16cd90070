package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func mustLoad(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The shipped catalogue loads: every key in both languages, with the same
// arguments.
func TestCatalogueLoads(t *testing.T) {
	t.Parallel()
	c := mustLoad(t)
	if len(c.Keys()) < 40 || !c.Has("unit.points") {
		t.Fatalf("catalogue has %d keys", len(c.Keys()))
	}
	for _, key := range c.Keys() {
		ko, en := c.For(Korean).T(key, 1, 2, 3), c.For(English).T(key, 1, 2, 3)
		if strings.TrimSpace(ko) == "" || strings.TrimSpace(en) == "" {
			t.Errorf("%q is empty in a language", key)
		}
	}
}

func TestLoadRefusesDisagreement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"key only in Korean", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"가","b":"나"}`)},
			"c/en/a.json": {Data: []byte(`{"a":"A"}`)},
		}, `"b" is in ko but not in en`},
		{"key only in English", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"가"}`)},
			"c/en/a.json": {Data: []byte(`{"a":"A","c":"C"}`)},
		}, `"c" is in en but not in ko`},
		{"arguments differ", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"%d분 후"}`)},
			"c/en/a.json": {Data: []byte(`{"a":"soon"}`)},
		}, `takes 1 arguments in ko and 0 in en`},
		{"key twice across files", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"가"}`)},
			"c/ko/b.json": {Data: []byte(`{"a":"나"}`)},
			"c/en/a.json": {Data: []byte(`{"a":"A"}`)},
		}, `defined twice`},
		{"plural without other", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"%d경기"}`)},
			"c/en/a.json": {Data: []byte(`{"a":{"one":"%d match"}}`)},
		}, `need "other"`},
		{"not JSON", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":`)},
			"c/en/a.json": {Data: []byte(`{"a":"A"}`)},
		}, `c/ko/a.json`},
		{"a language missing", fstest.MapFS{
			"c/ko/a.json": {Data: []byte(`{"a":"가"}`)},
		}, `no catalogue files for en`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tt.files, "c")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPlurals(t *testing.T) {
	t.Parallel()
	c, err := load(fstest.MapFS{
		"c/ko/a.json": {Data: []byte(`{"n":"%d경기"}`)},
		"c/en/a.json": {Data: []byte(`{"n":{"one":"%d match","other":"%d matches"}}`)},
	}, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		l    Lang
		n    int
		want string
	}{{English, 1, "1 match"}, {English, 2, "2 matches"}, {English, 1200, "1,200 matches"}, {Korean, 1, "1경기"}, {Korean, 1200, "1,200경기"}} {
		if got := c.For(tt.l).T("n", tt.n); got != tt.want {
			t.Errorf("%s %d = %q, want %q", tt.l, tt.n, got, tt.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   Lang
	}{
		{"", Korean},
		{"en-US,en;q=0.9", English},
		{"en-GB", English},
		{"ko-KR,ko;q=0.9,en-US;q=0.8", Korean},
		{"fr-FR,en;q=0.5", English},
		{"fr-FR", Korean},
		{"ja,ko;q=0.4,en;q=0.3", Korean},
		{"de;q=0.9,en;q=0.8,ko;q=0.1", English},
		{"*", Korean},
		{";;;garbage===", Korean},
		{strings.Repeat("en,", 400), Korean},
	} {
		if got := Negotiate(tt.header); got != tt.want {
			t.Errorf("Negotiate(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
	if l, ok := Parse("en"); !ok || l != English {
		t.Fatal("Parse(en)")
	}
	for _, s := range []string{"", "EN", "ko-KR", "jp"} {
		if _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	c := mustLoad(t)
	ko, en := c.For(Korean), c.For(English)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	london, _ := time.LoadLocation("Europe/London")
	at := time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC) // 9 Dec 00:00 in Seoul
	for _, tt := range []struct{ got, want string }{
		{ko.Points(1234567), "1,234,567 P"},
		{en.Points(50000), "50,000 P"},
		{ko.Points(-300), "-300 P"},
		{en.Number(1000), "1,000"},
		{ko.DateTime(at, seoul), "12월 9일 00:00 (KST)"},
		{en.DateTime(at, seoul), "9 Dec 00:00 (KST)"},
		{en.DateTime(at, london), "8 Dec 15:00 (GMT)"},
		{ko.Date(at, seoul), "12월 9일 (수)"},
		{en.Date(at, seoul), "Wed 9 Dec"},
		{ko.Clock(at, seoul), "00:00 (KST)"},
		{ko.Relative(at, at.Add(-12*time.Minute)), "12분 후"},
		{en.Relative(at, at.Add(-12*time.Minute)), "in 12 min"},
		{en.Relative(at, at.Add(-11*time.Minute-30*time.Second)), "in 12 min"},
		{ko.Relative(at, at.Add(3*time.Minute)), "3분 전"},
		{en.Relative(at, at.Add(-2*time.Hour)), ""},
		{en.Relative(at, at.Add(time.Hour)), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
