package edge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// An error's message is in the signed-in player's language, else the
// request's Accept-Language, else Korean; a time in it is in the player's
// zone, else KST. The code and details stay the same.
func TestErrorsSpeakTheCallersLanguageAndZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "pb.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	auth := account.NewAuth(db, account.AuthConfig{SessionTTL: time.Hour, Hash: fastHash}, nil)
	token := func(name, lang, zone string) string {
		hash, _ := account.Hash("long-password-1", fastHash)
		u, err := db.CreateUser(ctx, account.NewUser{Username: name, Nickname: name + "-nick", Email: name + "@example.com", PasswordHash: hash, Role: account.Player})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateProfile(ctx, u.ID, account.ProfileUpdate{Language: &lang, TimeZone: &zone}); err != nil {
			t.Fatal(err)
		}
		in, err := auth.LogIn(ctx, name, "long-password-1", netip.MustParseAddr("192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		return in.Token
	}
	var (
		koSeoul   = token("ko_seoul", "ko", "Asia/Seoul")
		koLondon  = token("ko_london", "ko", "Europe/London")
		enSeoul   = token("en_seoul", "en", "Asia/Seoul")
		enLondon  = token("en_london", "en", "Europe/London")
		unsetZone = token("no_choice", "", "Europe/London")
	)
	// 15:00 UTC on 8 December is midnight on the 9th in Seoul.
	next := time.Date(2026, 12, 8, 15, 0, 0, 0, time.UTC)
	_, _, checkedIn := programme.DefaultRules.Checkin("2026-12-08", 3, "2026-12-08", next)
	limited := fault.New(fault.Refused, "daily_stake_cap_reached", "Stakes are capped at %d points a day; %d remain today.", int64(100000), int64(2500))
	e := edge.New(edge.Config{Sessions: auth, Format: edge.JSON})
	for _, c := range []struct {
		name, bearer, lang string
		err                error
		wantLang, want     string
	}{
		{"Korean player in Seoul", koSeoul, "en", checkedIn, "ko",
			"오늘(2026-12-08)은 이미 출석 체크를 했습니다. 12월 9일 00:00 (KST)에 다음 출석 체크를 할 수 있습니다."},
		{"Korean player in London", koLondon, "", checkedIn, "ko",
			"오늘(2026-12-08)은 이미 출석 체크를 했습니다. 12월 8일 15:00 (GMT)에 다음 출석 체크를 할 수 있습니다."},
		{"English player in Seoul", enSeoul, "ko", checkedIn, "en",
			"You have already checked in today (2026-12-08); the next check-in opens on 9 Dec 00:00 (KST)."},
		{"English player in London", enLondon, "", checkedIn, "en",
			"You have already checked in today (2026-12-08); the next check-in opens on 8 Dec 15:00 (GMT)."},
		{"no language chosen: the browser's", unsetZone, "en-GB,en;q=0.9", checkedIn, "en",
			"You have already checked in today (2026-12-08); the next check-in opens on 8 Dec 15:00 (GMT)."},
		{"signed out, English browser", "", "en-US", checkedIn, "en",
			"You have already checked in today (2026-12-08); the next check-in opens on 9 Dec 00:00 (KST)."},
		{"signed out, nothing said", "", "", checkedIn, "ko",
			"오늘(2026-12-08)은 이미 출석 체크를 했습니다. 12월 9일 00:00 (KST)에 다음 출석 체크를 할 수 있습니다."},
		{"numbers, Korean", koSeoul, "", limited, "ko", "하루 베팅 한도는 100,000 포인트이며 오늘 남은 한도는 2,500 포인트입니다."},
		{"numbers, English", enSeoul, "", limited, "en", "Stakes are capped at 100,000 points a day; 2,500 remain today."},
		{"a code's general text when its message has no text of its own", koSeoul, "",
			fault.New(fault.Invalid, "invalid_market", "Unknown market kind %q.", "corners"), "ko", "마켓이 올바르지 않습니다."},
		{"the English message as written when it has none", enSeoul, "",
			fault.New(fault.Invalid, "invalid_market", "Unknown market kind %q.", "corners"), "en", `Unknown market kind "corners".`},
		{"a login failure is told in the browser's language", "not-a-session", "en", nil, "en", "Please log in."},
		{"internal errors too", "", "ko-KR", errSecret, "ko", "서버에 문제가 생겼습니다. 기록되었으니 잠시 후 다시 시도해 주세요."},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := e.Wrap(edge.Public, func(http.ResponseWriter, *http.Request) error { return c.err })
			if c.err == nil {
				h = e.Wrap(edge.Player, func(http.ResponseWriter, *http.Request) error { return nil })
			}
			rec := serve(h, request{method: "GET", bearer: c.bearer, lang: c.lang})
			var body struct {
				Error struct {
					Code, Message string
					Details       map[string]any
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%d %q", rec.Code, rec.Body)
			}
			if body.Error.Message != c.want || rec.Header().Get("Content-Language") != c.wantLang {
				t.Fatalf("message %q (Content-Language %q), want %q (%s)", body.Error.Message, rec.Header().Get("Content-Language"), c.want, c.wantLang)
			}
			if fe, ok := fault.As(c.err); ok && fe.Code != "internal" && body.Error.Code != fe.Code {
				t.Fatalf("code %q, want %q", body.Error.Code, fe.Code)
			}
		})
	}
	// The details keep the instant, whatever the language.
	rec := serve(e.Wrap(edge.Public, func(http.ResponseWriter, *http.Request) error { return checkedIn }), request{method: "GET", bearer: koSeoul})
	if !strings.Contains(rec.Body.String(), `"next_at":"2026-12-08T15:00:00Z"`) {
		t.Fatalf("details changed: %s", rec.Body)
	}
}

var errSecret = errorString("driver: connection reset")

type errorString string

func (e errorString) Error() string { return string(e) }
