package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/live"
)

func (e *env) userID(token string) string {
	e.t.Helper()
	return e.want(e.do("GET", "/api/v1/me", token, "", nil), 200)["id"].(string)
}

// next is the next event of a subscription, failing after 5 s.
func next(t *testing.T, sub live.Subscription) live.Event {
	t.Helper()
	select {
	case ev := <-sub.C():
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return live.Event{}
	}
}

func faultCode(err error) string {
	if fe, ok := errors.AsType[*fault.Error](err); ok {
		return fe.Code
	}
	return fmt.Sprint(err)
}

func ids(body map[string]any) string {
	var out []any
	for _, it := range body["items"].([]any) {
		out = append(out, it.(map[string]any)["id"])
	}
	return fmt.Sprint(out)
}

func TestChatHistoryPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	match := e.match["id"].(string)
	kim := e.userID(e.player)
	for i := 1; i <= 5; i++ {
		if _, err := e.chat.Post(ctx, kim, match, fmt.Sprintf("<i>m%d</i>", i)); err != nil {
			t.Fatal(err)
		}
	}
	path := "/api/v1/matches/" + match + "/chat"
	page := e.want(e.do("GET", path+"?limit=2", "", "", nil), 200)
	if ids(page) != "[4 5]" || page["next_before"] != float64(4) {
		t.Fatalf("newest page: %v", page)
	}
	if first := page["items"].([]any)[0].(map[string]any); first["text"] != "<i>m4</i>" || first["nickname"] != "kim-nick" || first["user_id"] != kim {
		t.Fatalf("message %v", first)
	}
	page = e.want(e.do("GET", path+"?limit=2&before=4", "", "", nil), 200)
	if ids(page) != "[2 3]" {
		t.Fatalf("page before 4: %v", page)
	}
	page = e.want(e.do("GET", path+"?before=2", e.other, "", nil), 200)
	if ids(page) != "[1]" || page["next_before"] != nil {
		t.Fatalf("last page: %v", page)
	}
	for q, code := range map[string]string{"?limit=0": "invalid_limit", "?limit=101": "invalid_limit", "?before=x": "invalid_before", "?before=0": "invalid_before"} {
		if got := errCode(e.want(e.do("GET", path+q, "", "", nil), 400)); got != code {
			t.Errorf("%s: %s, want %s", q, got, code)
		}
	}
	if got := errCode(e.want(e.do("GET", "/api/v1/matches/m_999999/chat", "", "", nil), 404)); got != "match_not_found" {
		t.Errorf("missing match: %s", got)
	}
}

func TestChatModeration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	match := e.match["id"].(string)
	kim, lee := e.userID(e.player), e.userID(e.other)
	room, err := e.bus.Subscribe(ctx, live.MatchChannel(match))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	mine, err := e.bus.Subscribe(ctx, live.UserChannel(kim))
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()

	m, err := e.chat.Post(ctx, kim, match, "buy followers at spam.example")
	if err != nil {
		t.Fatal(err)
	}
	next(t, room) // the message
	if err := e.chat.Report(ctx, lee, match, m.ID, "spam"); err != nil {
		t.Fatal(err)
	}

	// Players may not moderate.
	reports := "/api/v1/admin/chat/reports"
	e.want(e.do("GET", reports, e.player, "", nil), 403)
	e.want(e.do("GET", reports, "", "", nil), 401)
	del := fmt.Sprintf("/api/v1/admin/matches/%s/chat/%d", match, m.ID)
	e.want(e.do("DELETE", del, e.other, "", nil), 403)

	q := e.want(e.do("GET", reports, e.admin, "", nil), 200)["items"].([]any)
	if len(q) != 1 {
		t.Fatalf("reports queue %v", q)
	}
	if r := q[0].(map[string]any); r["reporter_id"] != lee || r["reason"] != "spam" || r["message"].(map[string]any)["text"] != m.Text {
		t.Fatalf("report %v", r)
	}

	// A delete reaches the room and empties the queue.
	e.want(e.do("DELETE", del, e.admin, "", nil), 200)
	if ev := next(t, room); ev.Type != live.ChatDeleted || string(ev.Data) != fmt.Sprintf(`{"match":%q,"id":%d}`, match, m.ID) {
		t.Fatalf("after delete: %s %s", ev.Type, ev.Data)
	}
	if got := errCode(e.want(e.do("DELETE", del, e.admin, "", nil), 404)); got != "chat_message_not_found" {
		t.Fatalf("second delete: %s", got)
	}
	if q := e.want(e.do("GET", reports, e.admin, "", nil), 200)["items"].([]any); len(q) != 0 {
		t.Fatalf("queue after the delete: %v", q)
	}
	if page := e.want(e.do("GET", "/api/v1/matches/"+match+"/chat", "", "", nil), 200); ids(page) != "[]" {
		t.Fatalf("history after the delete: %v", page)
	}

	// A mute: the player is told and cannot post.
	mutes := "/api/v1/admin/chat/mutes"
	for body, code := range map[string]string{
		`{"user_id":"` + kim + `","minutes":0,"reason":"x"}`:     "invalid_mute",
		`{"user_id":"` + kim + `","minutes":43201,"reason":"x"}`: "invalid_mute",
		`{"user_id":"` + kim + `","minutes":5,"reason":""}`:      "invalid_reason",
		`{"user_id":"` + kim + `","minutes":5}`:                  "invalid_reason",
	} {
		if got := errCode(e.want(e.do("POST", mutes, e.admin, body, nil), 400)); got != code {
			t.Errorf("%s: %s, want %s", body, got, code)
		}
	}
	if got := errCode(e.want(e.do("POST", mutes, e.admin, `{"user_id":"u_999999","minutes":5,"reason":"x"}`, nil), 404)); got != "user_not_found" {
		t.Errorf("mute of a missing user: %s", got)
	}
	mute := e.want(e.do("POST", mutes, e.admin, `{"user_id":"`+kim+`","minutes":60,"reason":"spam"}`, nil), 201)
	until, _ := time.Parse(time.RFC3339Nano, mute["until"].(string))
	if d := time.Until(until); d < 59*time.Minute || d > 61*time.Minute || mute["reason"] != "spam" {
		t.Fatalf("mute %v", mute)
	}
	ev := next(t, mine)
	var notice struct{ Code, Message string }
	if json.Unmarshal(ev.Data, &notice); ev.Type != live.Notice || notice.Code != "chat_muted" || notice.Message != "spam" {
		t.Fatalf("the muted player was told %s %s", ev.Type, ev.Data)
	}
	if _, err := e.chat.Post(ctx, kim, match, "hello"); faultCode(err) != "chat_muted" {
		t.Fatalf("post while muted: %v", err)
	}
}

func TestChatSlowModeAndAnnouncements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	match := e.match["id"].(string)
	lee := e.userID(e.other)
	slow := "/api/v1/admin/matches/" + match + "/chat/slow-mode"
	for _, body := range []string{`{}`, `{"seconds":-1}`, `{"seconds":601}`} {
		if got := errCode(e.want(e.do("PUT", slow, e.admin, body, nil), 400)); got != "invalid_slow_mode" {
			t.Errorf("%s: %s", body, got)
		}
	}
	e.want(e.do("PUT", "/api/v1/admin/matches/m_999999/chat/slow-mode", e.admin, `{"seconds":30}`, nil), 404)
	e.want(e.do("PUT", slow, e.player, `{"seconds":30}`, nil), 403)
	if got := e.want(e.do("PUT", slow, e.admin, `{"seconds":30}`, nil), 200); got["seconds"] != float64(30) {
		t.Fatalf("slow mode: %v", got)
	}
	if _, err := e.chat.Post(ctx, lee, match, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.chat.Post(ctx, lee, match, "two"); faultCode(err) != "chat_slow_mode" {
		t.Fatalf("second message in slow mode: %v", err)
	}
	e.want(e.do("PUT", slow, e.admin, `{"seconds":0}`, nil), 200)
	if _, err := e.chat.Post(ctx, lee, match, "three"); err != nil {
		t.Fatalf("after slow mode off: %v", err)
	}

	room, err := e.bus.Subscribe(ctx, live.MatchChannel(match))
	if err != nil {
		t.Fatal(err)
	}
	defer room.Close()
	ann := "/api/v1/admin/matches/" + match + "/announcements"
	if got := errCode(e.want(e.do("POST", ann, e.admin, `{"text":""}`, nil), 400)); got != "invalid_chat_text" {
		t.Errorf("empty announcement: %s", got)
	}
	e.want(e.do("POST", "/api/v1/admin/matches/m_999999/announcements", e.admin, `{"text":"hi"}`, nil), 404)
	e.want(e.do("POST", ann, e.player, `{"text":"hi"}`, nil), 403)
	e.want(e.do("POST", ann, e.admin, `{"text":"Kick-off delayed 10 minutes."}`, nil), 202)
	ev := next(t, room)
	var a live.AnnouncementData
	if json.Unmarshal(ev.Data, &a); ev.Type != live.Announcement || a.Text != "Kick-off delayed 10 minutes." || a.Match != match {
		t.Fatalf("announcement %s %s", ev.Type, ev.Data)
	}
}
