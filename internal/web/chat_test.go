package web_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/chat"
)

var chatBlock = regexp.MustCompile(`(?s)<script type="application/json" id="chat-data">(.*?)</script>`)

// The match page carries its room's chat: the latest messages as text
// (HTML in a message is shown, never interpreted), the panel's texts for
// chat.js in the viewer's language, a send form for a player (shown by the
// script once the socket is open) and "log in to chat" for a visitor, and
// a note for readers without JavaScript.
func TestMatchChatPanel(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.fullMatch("Ulsan", "Jeonbuk", testNow.Add(3*time.Hour))
	author := s.browser("").signIn("chatter", "fan&1")
	ctx := context.Background()
	for _, text := range []string{"첫 골 가자!", `<img src=x onerror=alert(1)> & "quoted"`} {
		if _, err := s.db.PostChat(ctx, chat.NewMessage{MatchID: m.ID, UserID: author.ID, Text: text, At: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	empty := s.fullMatch("Seoul", "Busan", testNow.Add(4*time.Hour))

	for _, tt := range []struct {
		accept   string
		player   bool
		want     []string
		absent   []string
		presence string
	}{
		{"", false, []string{"<h2 id=\"chat-h\">채팅</h2>", "로그인하면 채팅할 수 있습니다", `href="/login?next=%2fmatches%2f` + m.ID + `"`,
			"실시간 채팅과 메시지 보내기에는 자바스크립트가 필요합니다"}, []string{"data-chat-form"}, "{n}명 보는 중"},
		{"en", false, []string{"<h2 id=\"chat-h\">Chat</h2>", "Log in to chat", "Live chat and sending messages need JavaScript"},
			[]string{"data-chat-form"}, "{n} watching"},
		{"", true, []string{"<form class=\"chat-form\" hidden data-chat-form>", `placeholder="응원 메시지를 남겨 보세요"`, ">보내기</button>"},
			[]string{`class="chat-login"`}, "{n}명 보는 중"},
		{"en", true, []string{`<label class="visually-hidden" for="chat-text">Message</label>`, ">Send</button>"},
			[]string{`class="chat-login"`}, "{n} watching"},
	} {
		b := s.browser(tt.accept)
		var me string
		if tt.player {
			me = b.signIn("viewer" + tt.accept).ID
		}
		pg := b.get("/matches/" + m.ID)
		if pg.Status != 200 {
			t.Fatalf("%q player=%v: status %d", tt.accept, tt.player, pg.Status)
		}
		for _, w := range append(tt.want,
			`<section class="chat" id="chat" aria-labelledby="chat-h" data-chat="`+m.ID+`"`,
			`role="log"`,
			`<span class="chat-nick">fan&amp;1</span>`,
			`<span class="chat-text">첫 골 가자!</span>`,
			`<span class="chat-text">&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quoted&#34;</span>`,
			`data-user="`+author.ID+`"`,
			`(KST)</time>`,
			`src="/static/`, `/chat.js"`) {
			if !strings.Contains(pg.Body, w) {
				t.Errorf("%q player=%v: no %q", tt.accept, tt.player, w)
			}
		}
		for _, a := range append(tt.absent, "<b>1</b>", "<img") {
			if strings.Contains(pg.Body, a) {
				t.Errorf("%q player=%v: has %q", tt.accept, tt.player, a)
			}
		}
		if strings.Count(pg.Body, `class="chat-msg`) != 2 {
			t.Errorf("%q player=%v: %d messages shown, want 2", tt.accept, tt.player, strings.Count(pg.Body, `class="chat-msg`))
		}
		// chat.js tells a player's own messages (no report button) by the
		// body's data-user.
		if me != "" && !strings.Contains(pg.Body, `data-lang="`) || (me != "" && !strings.Contains(pg.Body, ` data-user="`+me+`">`)) {
			t.Errorf("%q: no data-user on the body for the player", tt.accept)
		}
		// A player's pages carry the settlement notice slip.js fills.
		won := map[string]string{"": `data-won="베팅이 적중했습니다 {points}"`, "en": `data-won="Bet won {points}"`}[tt.accept]
		if strings.Contains(pg.Body, won) != tt.player || strings.Contains(pg.Body, "data-live-notice") != tt.player {
			t.Errorf("%q player=%v: settlement notice present = %v", tt.accept, tt.player, !tt.player)
		}
		// The script's texts: valid JSON, in the page's language.
		blk := chatBlock.FindStringSubmatch(pg.Body)
		if blk == nil {
			t.Fatalf("%q player=%v: no chat data block", tt.accept, tt.player)
		}
		var texts map[string]string
		if err := json.Unmarshal([]byte(blk[1]), &texts); err != nil {
			t.Fatalf("%q: chat data block: %v\n%s", tt.accept, err, blk[1])
		}
		if texts["presence"] != tt.presence || texts["clock"] != "{time} (KST)" {
			t.Errorf("%q: presence %q, clock %q", tt.accept, texts["presence"], texts["clock"])
		}
		for _, k := range []string{"cooldown", "slow", "muted", "reported", "offline", "reload", "fault.chat_rate_limited", "fault.already_reported"} {
			if texts[k] == "" {
				t.Errorf("%q: no %q text for chat.js", tt.accept, k)
			}
		}
	}

	// An empty room says so; the page still answers for a room nobody
	// has written in.
	pg := s.browser("").get("/matches/" + empty.ID)
	if pg.Status != 200 || !strings.Contains(pg.Body, "아직 메시지가 없습니다.") || strings.Contains(pg.Body, `class="chat-msg`) {
		t.Errorf("empty room: status %d, empty note or messages wrong", pg.Status)
	}
	if !strings.Contains(pg.Body, `<p class="note chat-empty" data-chat-empty>`) {
		t.Errorf("empty room: the empty note is hidden")
	}
}

// The page shows a room's latest messages only, oldest first, and not the
// deleted ones.
func TestMatchChatLatest(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	m := s.fullMatch("Ulsan", "Jeonbuk", testNow.Add(3*time.Hour))
	u := s.browser("").signIn("talker")
	ctx := context.Background()
	var ids []int64
	for i := range 55 {
		msg, err := s.db.PostChat(ctx, chat.NewMessage{MatchID: m.ID, UserID: u.ID, Text: "msg-" + strconv.Itoa(i), At: testNow})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, msg.ID)
	}
	if err := s.db.DeleteChat(ctx, m.ID, ids[54], nil); err != nil {
		t.Fatal(err)
	}
	pg := s.browser("en").get("/matches/" + m.ID)
	if n := strings.Count(pg.Body, `class="chat-msg`); n != 50 {
		t.Fatalf("%d messages shown, want the latest 50", n)
	}
	if strings.Contains(pg.Body, "-54</span>") || strings.Contains(pg.Body, "-3</span>") || !strings.Contains(pg.Body, "-4</span>") {
		t.Errorf("the shown messages are not 4…53")
	}
	if strings.Index(pg.Body, "-4</span>") > strings.Index(pg.Body, "-53</span>") {
		t.Errorf("messages are not oldest first")
	}
}
