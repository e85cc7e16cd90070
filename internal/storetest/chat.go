package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/chat"
)

func testChat(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u1, u2 := mustUser(t, db, 0), mustUser(t, db, 0)
	m1 := mustMatch(t, db, time.Now().Add(time.Hour))
	m2 := mustMatch(t, db, time.Now().Add(2*time.Hour))
	at := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	post := func(m, u, text string) *chat.Message {
		t.Helper()
		msg, err := db.PostChat(ctx, chat.NewMessage{MatchID: m, UserID: u, Text: text, At: at})
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}

	// Ids grow per room, also under concurrent posts.
	if a, b := post(m1.ID, u1.ID, "first"), post(m2.ID, u1.ID, "other room"); a.ID != 1 || b.ID != 1 {
		t.Fatalf("first ids %d and %d, want 1 in each room", a.ID, b.ID)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { post(m1.ID, u2.ID, fmt.Sprint("msg ", i)) })
	}
	wg.Wait()
	html := post(m1.ID, u1.ID, "<script>alert(1)</script> & é")
	if html.ID != 10 || html.Nickname != u1.Nickname || !html.At.Equal(at) {
		t.Fatalf("got %+v, want id 10 by %s", html, u1.Nickname)
	}
	all, err := db.ChatHistory(ctx, m1.ID, 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 || all[9].Text != "<script>alert(1)</script> & é" {
		t.Fatalf("history has %d messages, last %+v", len(all), all[len(all)-1])
	}
	for i, m := range all {
		if m.ID != int64(i+1) {
			t.Fatalf("history[%d] has id %d: not oldest first", i, m.ID)
		}
	}
	page, _ := db.ChatHistory(ctx, m1.ID, 5, 0, 2)
	if len(page) != 2 || page[0].ID != 3 || page[1].ID != 4 {
		t.Fatalf("before 5, limit 2: %+v", page)
	}
	after, _ := db.ChatHistory(ctx, m1.ID, 0, 7, 2)
	if len(after) != 2 || after[0].ID != 8 || after[1].ID != 9 {
		t.Fatalf("after 7, limit 2: %+v", after)
	}
	_, err = db.PostChat(ctx, chat.NewMessage{MatchID: "m_999999", UserID: u1.ID, Text: "x", At: at})
	wantCode(t, "post to a missing match", err, "match_not_found")

	// Reports: once per player per message; deleted messages leave history
	// and the queue.
	if err := db.ReportChat(ctx, chat.Report{MatchID: m1.ID, MessageID: 10, ReporterID: u2.ID, Reason: "spam", At: at}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second report", db.ReportChat(ctx, chat.Report{MatchID: m1.ID, MessageID: 10, ReporterID: u2.ID, At: at}), "already_reported")
	wantCode(t, "report of a missing message", db.ReportChat(ctx, chat.Report{MatchID: m1.ID, MessageID: 99, ReporterID: u2.ID, At: at}), "chat_message_not_found")
	if err := db.ReportChat(ctx, chat.Report{MatchID: m1.ID, MessageID: 2, ReporterID: u1.ID, At: at.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	q, err := db.ChatReports(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0].MessageID != 2 || q[1].Message.Text != html.Text || q[1].Message.UserID != u1.ID {
		t.Fatalf("reports queue %+v", q)
	}
	if err := db.DeleteChat(ctx, m1.ID, 10, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second delete", db.DeleteChat(ctx, m1.ID, 10, nil), "chat_message_not_found")
	if all, _ := db.ChatHistory(ctx, m1.ID, 0, 0, 100); len(all) != 9 {
		t.Fatalf("history after a delete has %d messages, want 9", len(all))
	}
	if q, _ := db.ChatReports(ctx, 10); len(q) != 1 {
		t.Fatalf("queue after a delete has %d reports, want 1", len(q))
	}

	// Mutes and slow mode.
	if m, err := db.ActiveMute(ctx, u1.ID, at); err != nil || m != nil {
		t.Fatalf("unmuted player: %+v, %v", m, err)
	}
	if err := db.MuteChat(ctx, chat.Mute{UserID: u1.ID, Until: at.Add(time.Hour), Reason: "abuse", By: "op", At: at}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "mute of a missing user", db.MuteChat(ctx, chat.Mute{UserID: "u_999999", Until: at.Add(time.Hour), Reason: "abuse", By: "op", At: at}), "user_not_found")
	if m, err := db.ActiveMute(ctx, u1.ID, at.Add(59*time.Minute)); err != nil || m == nil || m.Reason != "abuse" || !m.Until.Equal(at.Add(time.Hour)) {
		t.Fatalf("muted player: %+v, %v", m, err)
	}
	if m, _ := db.ActiveMute(ctx, u1.ID, at.Add(time.Hour)); m != nil {
		t.Fatalf("mute still active at its end: %+v", m)
	}
	if d, err := db.SlowMode(ctx, m2.ID); err != nil || d != 0 {
		t.Fatalf("slow mode of a fresh room: %s, %v", d, err)
	}
	for _, d := range []time.Duration{30 * time.Second, 0} {
		if err := db.SetSlowMode(ctx, m1.ID, d, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.SlowMode(ctx, m1.ID); got != d {
			t.Fatalf("slow mode %s, want %s", got, d)
		}
	}
	wantCode(t, "slow mode of a missing match", db.SetSlowMode(ctx, "m_999999", time.Second, nil), "match_not_found")
	if next := post(m1.ID, u1.ID, "after slow mode"); next.ID != 11 {
		t.Fatalf("id after slow mode changes: %d, want 11", next.ID)
	}
}
