package web

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
	"github.com/pointsbook/pointsbook/internal/playlimit"
)

// commonZones are the time zones the settings offer first: where Korean
// players most often live or travel, and the big zones elsewhere. Any
// other IANA name a player set through the API is offered too.
var commonZones = []string{
	"Asia/Seoul", "Asia/Tokyo", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Manila",
	"Asia/Singapore", "Asia/Ho_Chi_Minh", "Asia/Bangkok", "Asia/Jakarta", "Asia/Kolkata", "Asia/Dubai",
	"Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "Pacific/Guam", "Pacific/Honolulu",
	"America/Anchorage", "America/Los_Angeles", "America/Vancouver", "America/Denver", "America/Chicago",
	"America/New_York", "America/Toronto", "America/Sao_Paulo", "Europe/London", "Europe/Paris",
	"Europe/Berlin", "Europe/Istanbul", "Europe/Moscow", "UTC",
}

type zoneOption struct {
	Name     string
	Label    string
	Selected bool
}

// settingsData is the settings page: the forms' current values, and per
// form (timezone, language, nickname, password, delete) a refusal's text.
type settingsData struct {
	Zones    []zoneOption
	Language string
	Nickname string
	Errors   map[string]string
	Done     string
}

// The settings a done message exists for (settings.done.<name>).
var settingsDone = []string{"timezone", "language", "nickname", "password"}

// zoneLabel is a zone's name with its abbreviation and offset now:
// "Asia/Seoul · KST (UTC+09:00)".
func zoneLabel(name string, now time.Time) string {
	loc, err := input.Zone(name)
	if err != nil {
		return name
	}
	t := now.In(loc)
	abbr, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s · %s (UTC%c%02d:%02d)", name, abbr, sign, off/3600, off%3600/60)
}

func (s *Web) settingsData(r *http.Request) *settingsData {
	u := edge.SessionFrom(r.Context()).User
	current := u.TimeZone
	if current == "" {
		current = playlimit.DefaultTimeZone
	}
	names := commonZones
	if !slices.Contains(names, current) {
		names = append([]string{current}, names...)
	}
	now := s.now()
	d := &settingsData{Language: string(s.lang(r)), Nickname: u.Nickname, Errors: map[string]string{}}
	for _, n := range names {
		d.Zones = append(d.Zones, zoneOption{Name: n, Label: zoneLabel(n, now), Selected: n == current})
	}
	return d
}

// handleSettings is the settings page.
func (s *Web) handleSettings(w http.ResponseWriter, r *http.Request) error {
	d := s.settingsData(r)
	if done := r.URL.Query().Get("done"); slices.Contains(settingsDone, done) {
		d.Done = done
	}
	return s.render(w, r, http.StatusOK, "settings", d)
}

// settingsRefusal shows the settings again with err's text at form, or
// returns err when it is not the client's.
func (s *Web) settingsRefusal(w http.ResponseWriter, r *http.Request, form string, err error, edit func(*settingsData)) error {
	status, text, ok := s.refusal(w, r, err)
	if !ok {
		return err
	}
	d := s.settingsData(r)
	d.Errors[form] = text
	if edit != nil {
		edit(d)
	}
	return s.render(w, r, status, "settings", d)
}

// updateProfile saves one profile field through the checks the API uses.
func (s *Web) updateProfile(w http.ResponseWriter, r *http.Request, form string, p account.ProfileUpdate, edit func(*settingsData)) error {
	if err := p.Check(); err != nil {
		return s.settingsRefusal(w, r, form, err, edit)
	}
	if _, err := s.store.UpdateProfile(r.Context(), edge.SessionFrom(r.Context()).User.ID, p); err != nil {
		return s.settingsRefusal(w, r, form, err, edit)
	}
	http.Redirect(w, r, "/me/settings?done="+form+"#"+form, http.StatusSeeOther)
	return nil
}

func (s *Web) handleSettingsZone(w http.ResponseWriter, r *http.Request) error {
	tz, err := formValue(r, "time_zone", 64)
	if err != nil {
		return err
	}
	return s.updateProfile(w, r, "timezone", account.ProfileUpdate{TimeZone: &tz}, nil)
}

// handleSettingsLanguage saves the language in the profile and, like the
// switch, in the cookie that outlasts the session.
func (s *Web) handleSettingsLanguage(w http.ResponseWriter, r *http.Request) error {
	l, err := formValue(r, "language", 8)
	if err != nil {
		return err
	}
	if slices.Contains(account.Languages, l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	return s.updateProfile(w, r, "language", account.ProfileUpdate{Language: &l}, nil)
}

func (s *Web) handleSettingsNickname(w http.ResponseWriter, r *http.Request) error {
	nick, err := formValue(r, "nickname", maxFieldLen)
	if err != nil {
		return err
	}
	return s.updateProfile(w, r, "nickname", account.ProfileUpdate{Nickname: &nick}, func(d *settingsData) { d.Nickname = nick })
}

// handleSettingsPassword changes the password; the player's other
// sessions end (Auth's rule), this one stays.
func (s *Web) handleSettingsPassword(w http.ResponseWriter, r *http.Request) error {
	current, err := formValue(r, "current_password", maxFieldLen)
	if err != nil {
		return err
	}
	next, err := formValue(r, "new_password", maxFieldLen)
	if err != nil {
		return err
	}
	if err := s.opt.Auth.ChangePassword(r.Context(), edge.SessionFrom(r.Context()), current, next); err != nil {
		return s.settingsRefusal(w, r, "password", err, nil)
	}
	http.Redirect(w, r, "/me/settings?done=password#password", http.StatusSeeOther)
	return nil
}

// handleSettingsLogoutAll ends every session of the player, this one too.
func (s *Web) handleSettingsLogoutAll(w http.ResponseWriter, r *http.Request) error {
	if err := s.opt.Auth.LogOutEverywhere(r.Context(), edge.SessionFrom(r.Context())); err != nil {
		return err
	}
	s.edge.ClearSession(w)
	http.Redirect(w, r, "/login?done=logout", http.StatusSeeOther)
	return nil
}

var errDeleteUnconfirmed = fault.New(fault.Invalid, "delete_unconfirmed", "Tick the box to confirm that the account and its points are deleted for good.")

// handleSettingsDelete deletes the account once the player ticked the
// confirmation and typed the password again (Auth checks it).
func (s *Web) handleSettingsDelete(w http.ResponseWriter, r *http.Request) error {
	password, err := formValue(r, "password", maxFieldLen)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return s.settingsRefusal(w, r, "delete", errDeleteUnconfirmed, nil)
	}
	if err := s.opt.Auth.DeleteAccount(r.Context(), edge.SessionFrom(r.Context()), password); err != nil {
		return s.settingsRefusal(w, r, "delete", err, nil)
	}
	s.edge.ClearSession(w)
	http.Redirect(w, r, "/login?done=deleted", http.StatusSeeOther)
	return nil
}
