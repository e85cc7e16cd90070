package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/input"
)

// langCookie remembers a visitor's choice of language.
const langCookie = "pb_lang"

// seoul is the zone of a viewer who has not chosen one: the product is
// Korean first.
var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err) // the zone database is embedded (time/tzdata in cmd)
	}
	return loc
}()

// lang is the viewer's language: a signed-in player's setting, else the
// switch's cookie, else the browser's Accept-Language, else Korean.
func (s *Web) lang(r *http.Request) i18n.Lang {
	if sess := edge.SessionFrom(r.Context()); sess != nil {
		if l, ok := i18n.Parse(sess.User.Language); ok {
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.Negotiate(r.Header.Get("Accept-Language"))
}

// viewerZone is the signed-in player's zone, else Korea's.
func viewerZone(r *http.Request) *time.Location {
	if sess := edge.SessionFrom(r.Context()); sess != nil {
		if loc, err := input.Zone(sess.User.TimeZone); err == nil {
			return loc
		}
	}
	return seoul
}

// handleLang is the language switch: a form on every page. The choice is
// kept in a cookie and, for a signed-in player, in the profile, so it
// follows them to other devices and to the API's messages.
func (s *Web) handleLang(w http.ResponseWriter, r *http.Request) error {
	l, ok := i18n.Parse(r.PostFormValue("lang"))
	if !ok {
		return fault.New(fault.Invalid, "invalid_language", "The language is ko or en.")
	}
	if sess := edge.SessionFrom(r.Context()); sess != nil {
		lang := string(l)
		if _, err := s.store.UpdateProfile(r.Context(), sess.User.ID, account.ProfileUpdate{Language: &lang}); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.opt.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

// maxNext bounds a return address (a path and query on this site).
const maxNext = 2048

// localPath is next if it is a path on this site, else "/": a form's
// return address must not send the viewer to another site.
func localPath(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\x00") || input.QueryString(next) != nil {
		return "/"
	}
	return next
}
