package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/live"
)

// Every way sessions end — log-out, log-out everywhere, a password change
// or reset, deletion — hands a session.revoked event on after commit, on
// the player's channel, so the live hubs close those sessions' sockets;
// ending nothing sends nothing.
func testSessionEvents(t *testing.T, open Opener) {
	db := open(t)
	c := newClock(db)
	var got capture
	db.SetAfterCommit(got.send)
	ctx := context.Background()
	u := mustUser(t, db, 0)
	expires := c.now().Add(time.Hour)
	for _, d := range []string{"digest-1", "digest-2", "digest-3"} {
		if err := db.CreateSession(ctx, u.ID, d, expires, nil); err != nil {
			t.Fatal(err)
		}
	}
	got.take()
	for _, step := range []struct {
		name string
		end  func() error
		sent bool
	}{
		{"log-out", func() error { return db.DeleteSession(ctx, "digest-1") }, true},
		{"log-out of a session that is gone", func() error { return db.DeleteSession(ctx, "digest-1") }, false},
		{"password change", func() error { return db.ChangePassword(ctx, u.ID, "new-hash", "digest-2", nil) }, true},
		{"log-out everywhere", func() error { _, err := db.DeleteSessions(ctx, u.ID); return err }, true},
		{"log-out everywhere with none left", func() error { _, err := db.DeleteSessions(ctx, u.ID); return err }, false},
		{"password reset", func() error {
			if err := db.CreatePasswordReset(ctx, u.ID, "reset-digest", time.Hour); err != nil {
				return err
			}
			_, err := db.ResetPassword(ctx, "reset-digest", "reset-hash", nil)
			return err
		}, true},
		{"deletion", func() error { return db.DeleteUser(ctx, u.ID) }, true},
	} {
		if err := step.end(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		evs := got.take()
		if !step.sent {
			if len(evs) != 0 {
				t.Fatalf("%s sent %+v", step.name, evs)
			}
			continue
		}
		if len(evs) != 1 || evs[0].Type != live.SessionRevoked || evs[0].Channel != live.UserChannel(u.ID) {
			t.Fatalf("%s sent %+v", step.name, evs)
		}
	}
}
