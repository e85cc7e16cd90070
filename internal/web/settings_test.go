package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Each setting is saved, shown as done, and kept in the profile.
func TestSettingsSaved(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	b.signIn("doyun", "도윤")
	p := b.get("/me/settings")
	mustContain(t, "settings", p, "계정 설정", `<option value="Asia/Seoul" selected>Asia/Seoul · KST (UTC&#43;09:00)</option>`,
		`data-avail="nickname" data-current="도윤"`, "모든 기기에서 로그아웃", "<details>", `name="confirm" value="yes"`)

	for _, tt := range []struct {
		path string
		form url.Values
		done string
	}{
		{"/me/settings/timezone", url.Values{"time_zone": {"Europe/London"}}, "시간대가 저장되었습니다"},
		{"/me/settings/nickname", url.Values{"nickname": {"새도윤"}}, "닉네임이 바뀌었습니다"},
	} {
		p := b.post(tt.path, tt.form)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/me/settings?done=") {
			t.Fatalf("%s: %d %q", tt.path, p.Status, p.Header.Get("Location"))
		}
		mustContain(t, tt.path, b.get(p.Header.Get("Location")), tt.done)
	}
	u, _, _ := s.db.FindUserByUsername(t.Context(), "doyun")
	if u.TimeZone != "Europe/London" || u.Nickname != "새도윤" {
		t.Fatalf("profile: zone %q, nickname %q", u.TimeZone, u.Nickname)
	}
	mustContain(t, "zone shown", b.get("/me/settings"), `<option value="Europe/London" selected>`)

	// The language follows the profile: the next page is in English.
	if p := b.post("/me/settings/language", url.Values{"language": {"en"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("language: %d", p.Status)
	}
	mustContain(t, "language", b.get("/me/settings?done=language"), `lang="en"`, "Your language is saved.")
	if u, _, _ := s.db.FindUserByUsername(t.Context(), "doyun"); u.Language != "en" {
		t.Fatalf("language %q", u.Language)
	}

	// Refusals in words, nothing saved.
	for _, tt := range []struct {
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"/me/settings/timezone", url.Values{"time_zone": {"Mars/Olympus"}}, 400, "Unknown time zone"},
		{"/me/settings/timezone", url.Values{"time_zone": {"Local"}}, 400, "Unknown time zone"},
		{"/me/settings/language", url.Values{"language": {"fr"}}, 400, "The language is 한국어 or English."},
		{"/me/settings/nickname", url.Values{"nickname": {"<b>x</b>"}}, 400, "&lt;b&gt;x&lt;/b&gt;"},
		{"/me/settings/nickname", url.Values{"nickname": {"a"}}, 400, "A nickname is 2 to 24 characters"},
		{"/me/settings/timezone", url.Values{"time_zone": {"Asia/\xff"}}, 400, "The form could not be read"},
	} {
		p := b.post(tt.path, tt.form)
		if p.Status != tt.status || !strings.Contains(p.Body, tt.want) {
			t.Errorf("%s %v: %d, want %d with %q", tt.path, tt.form, p.Status, tt.status, tt.want)
		}
	}
	if u, _, _ := s.db.FindUserByUsername(t.Context(), "doyun"); u.TimeZone != "Europe/London" || u.Nickname != "새도윤" || u.Language != "en" {
		t.Fatalf("a refused change was saved: %+v", u)
	}
	other := s.browser("")
	other.signIn("taken_nick", "가져간닉")
	if p := b.post("/me/settings/nickname", url.Values{"nickname": {"가져간닉"}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "That nickname is already taken.") {
		t.Errorf("taken nickname: %d", p.Status)
	}
}

// The password change checks the current one and ends the other sessions;
// log out everywhere ends this one too.
func TestSettingsPasswordAndSessions(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	b.signIn("seojun")
	phone := s.browser("")
	in, _ := s.auth.LogIn(t.Context(), "seojun", "long-password-1", clientAddr)
	phone.setSession(in.Token)
	b.get("/me/settings")
	for accept, want := range map[string]string{"": "비밀번호가 올바르지 않습니다", "en": "The password is wrong."} {
		b.accept = accept
		p := b.post("/me/settings/password", url.Values{"current_password": {"not-my-password"}, "new_password": {"another-secret-2"}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, want) {
			t.Errorf("%q: wrong current password: %d", accept, p.Status)
		}
	}
	b.accept = ""
	if p := b.post("/me/settings/password", url.Values{"current_password": {"long-password-1"}, "new_password": {"seojun-is-me-1"}}); p.Status != 400 || !strings.Contains(p.Body, "비밀번호가 규칙에 맞지 않습니다") {
		t.Errorf("password with the username: %d", p.Status)
	}
	if p := b.post("/me/settings/password", url.Values{"current_password": {"long-password-1"}, "new_password": {"another-secret-2"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("change: %d", p.Status)
	}
	mustContain(t, "changed", b.get("/me/settings?done=password"), "비밀번호가 바뀌었습니다")
	if p := phone.get("/me/settings"); p.Status != http.StatusSeeOther {
		t.Fatalf("the other session survived the password change: %d", p.Status)
	}
	if _, err := s.auth.LogIn(t.Context(), "seojun", "another-secret-2", clientAddr); err != nil {
		t.Fatalf("log-in with the new password: %v", err)
	}
	if p := b.post("/me/settings/logout-all", nil); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?done=logout" {
		t.Fatalf("log out everywhere: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := b.get("/me/settings"); p.Status != http.StatusSeeOther {
		t.Fatalf("still signed in after logging out everywhere: %d", p.Status)
	}
}

// Deleting the account needs the box ticked and the password typed again;
// without the page's token nothing happens.
func TestSettingsDeleteAccount(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser("")
	b.signIn("haeun")
	b.get("/me/settings")
	if p := b.post("/me/settings/delete", url.Values{"password": {"long-password-1"}, "confirm": {"yes"}, "csrf_token": {""}}); p.Status != http.StatusForbidden {
		t.Fatalf("without token: %d", p.Status)
	}
	b.get("/me/settings") // the refusal's page had no session, so no token for it
	for _, tt := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"confirm": {"yes"}}, 403, "비밀번호가 올바르지 않습니다"},
		{url.Values{"password": {"wrong-password-0"}, "confirm": {"yes"}}, 403, "비밀번호가 올바르지 않습니다"},
		{url.Values{"password": {"long-password-1"}}, 400, "계정 삭제를 확인하는 상자에 체크하세요"},
	} {
		p := b.post("/me/settings/delete", tt.form)
		if p.Status != tt.status || !strings.Contains(p.Body, tt.want) || !strings.Contains(p.Body, "<details open>") {
			t.Errorf("%v: %d, want %d with %q, the step open", tt.form, p.Status, tt.status, tt.want)
		}
	}
	if _, _, err := s.db.FindUserByUsername(t.Context(), "haeun"); err != nil {
		t.Fatalf("a refused deletion deleted the account: %v", err)
	}
	p := b.post("/me/settings/delete", url.Values{"password": {"long-password-1"}, "confirm": {"yes"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?done=deleted" {
		t.Fatalf("delete: %d %q", p.Status, p.Header.Get("Location"))
	}
	if _, _, err := s.db.FindUserByUsername(t.Context(), "haeun"); err == nil {
		t.Fatal("the account still exists")
	}
	mustContain(t, "deleted", b.get("/login?done=deleted"), "계정이 삭제되었습니다")
	if p := b.get("/me/settings"); p.Status != http.StatusSeeOther {
		t.Fatalf("the deleted account's session still works: %d", p.Status)
	}
}
