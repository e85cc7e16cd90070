// Package web is the player site: server-rendered html/template pages in
// Korean and English, with small vanilla JavaScript modules that add the
// bet slip, the sign-in modal and live refresh. Templates and assets are
// embedded, parsed and checked once at start; assets are served at
// content-hashed URLs. Pages read through the same store interfaces the
// JSON API uses, each page declaring the few methods it needs; sessions,
// CSRF and error rendering are the HTTP edge's (internal/edge).
//
// A page is a route in Routes, a handler in its own file (main.go,
// match.go, me.go, …), a template in templates/pages, its texts in
// internal/i18n/catalog/*/<page>.json and, if it needs one, a module in
// static/.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/i18n"
	"github.com/pointsbook/pointsbook/internal/programme"
)

// Store is everything the pages read and write, as the sum of what each
// page declares for itself.
type Store interface {
	mainStore
	matchStore
	profileStore
	meStore
	statementStore
	limitsStore
}

// profileStore saves the language a signed-in player switches to.
type profileStore interface {
	UpdateProfile(ctx context.Context, userID string, p account.ProfileUpdate) (*account.User, error)
}

// Options are the site's settings.
type Options struct {
	// Auth are the sign-in flows shared with the API.
	Auth *account.Auth
	// Catalog is the message catalogue (i18n.Load).
	Catalog *i18n.Catalog
	// SecureCookies marks cookies Secure (the site is served over https).
	SecureCookies bool
	// OIDCName labels the "sign in with …" button; empty: no button.
	OIDCName string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client, for the sign-in attempt budgets; none: the TCP peer is
	// the client.
	TrustedProxies []netip.Prefix
	Log            *slog.Logger
	// Now is the clock (tests set it); nil: time.Now.
	Now func() time.Time
	// Programme are the rules of top-ups and check-ins, the API's own;
	// zero: programme.DefaultRules.
	Programme programme.Rules
	// Limits are the bet limits the store enforces; zero:
	// betting.DefaultLimits.
	Limits betting.Limits
}

// Web serves the player site.
type Web struct {
	store  Store
	opt    Options
	edge   *edge.Edge
	log    *slog.Logger
	views  views
	assets *assets
	rows   *rowCache
	now    func() time.Time
}

// New parses and checks the templates and assets: a broken template, a
// text missing from the catalogue or an unknown asset fails here, at
// start, not at the first request.
func New(store Store, opt Options) (*Web, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Limits == (betting.Limits{}) {
		opt.Limits = betting.DefaultLimits
	}
	if opt.Programme == (programme.Rules{}) {
		opt.Programme = programme.DefaultRules
	}
	s := &Web{store: store, opt: opt, log: opt.Log, now: opt.Now, rows: newRowCache()}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.views, err = parseViews(templateFS, opt.Catalog, s.assets); err != nil {
		return nil, err
	}
	s.edge = edge.New(edge.Config{Sessions: opt.Auth, Log: opt.Log, Format: edge.HTML,
		SecureCookies: opt.SecureCookies, ErrorPage: s.errorPage, Audit: store})
	return s, nil
}

// Access says who may open a page; the edge enforces it.
type Access = edge.Access

// The access rules of pages.
const (
	Public = edge.Public
	Player = edge.Player
)

// Route is one page or form of the site.
type Route struct {
	Method  string
	Pattern string
	Access  Access
	Handler edge.Handler
}

// Routes is the site map.
func (s *Web) Routes() []Route {
	return []Route{
		{"GET", "/{$}", Public, s.handleMain},
		{"POST", "/lang", Public, s.handleLang},
		{"GET", "/matches/{id}", Public, s.handleMatch},

		{"GET", "/me", Player, s.handleMe},
		{"POST", "/me/topup", Player, s.handleTopup},
		{"POST", "/me/checkin", Player, s.handleCheckin},
		{"GET", "/me/bets/{id}", Player, s.handleReceipt},
		{"GET", "/me/statement", Player, s.handleStatement},

		{"GET", "/login", Public, s.handleLoginPage},
		{"POST", "/login", Public, s.handleLogin},
		{"GET", "/signup", Public, s.handleSignupPage},
		{"POST", "/signup", Public, s.handleSignup},
		{"GET", "/verify", Public, s.handleVerifyPage},
		{"POST", "/verify", Public, s.handleVerify},
		{"POST", "/verify/resend", Public, s.handleVerifyResend},
		{"GET", "/password-reset", Public, s.handleResetPage},
		{"POST", "/password-reset", Public, s.handleReset},
		{"GET", "/password-reset/confirm", Public, s.handleResetConfirmPage},
		{"GET", "/reset-password", Public, s.handleResetConfirmPage},
		{"POST", "/password-reset/confirm", Public, s.handleResetConfirm},
		{"POST", "/logout", Player, s.handleLogout},

		{"GET", "/me/settings", Player, s.handleSettings},
		{"POST", "/me/settings/timezone", Player, s.handleSettingsZone},
		{"POST", "/me/settings/language", Player, s.handleSettingsLanguage},
		{"POST", "/me/settings/nickname", Player, s.handleSettingsNickname},
		{"POST", "/me/settings/password", Player, s.handleSettingsPassword},
		{"POST", "/me/settings/logout-all", Player, s.handleSettingsLogoutAll},
		{"POST", "/me/settings/delete", Player, s.handleSettingsDelete},

		{"GET", "/me/limits", Player, s.handleLimits},
		{"POST", "/me/limits", Player, s.handleLimitsSet},
		{"POST", "/me/limits/cancel", Player, s.handleLimitsCancel},
		{"GET", "/me/limits/block", Player, s.handleBlockConfirm},
		{"POST", "/me/limits/block", Player, s.handleBlockStart},

		// The seed's addresses keep working for old bookmarks.
		{"GET", "/main", Public, s.handleLegacy},
		{"GET", "/bet", Public, s.handleLegacy},
		{"GET", "/mypage", Public, s.handleLegacy},
	}
}

// Handler is the site's handler: its routes, the assets, and the 404 page
// for every other path.
func (s *Web) Handler() http.Handler {
	// Pages are compressed as they are written (gzip, which every browser
	// takes); assets were compressed once at start and bypass it.
	pages := http.NewServeMux()
	for _, rt := range s.Routes() {
		pages.Handle(rt.Method+" "+rt.Pattern, s.edge.Wrap(rt.Access, rt.Handler))
	}
	pages.Handle("/", s.edge.Wrap(Public, s.handleNotFound))
	mux := http.NewServeMux()
	mux.Handle("GET /static/{version}/{name}", s.assets)
	mux.Handle("/", compressPages(pages))
	// Browsers send Sec-Fetch-Site (or Origin) with every request, so a
	// cross-site form or fetch is refused before any handler runs, on top
	// of the CSRF tokens the edge checks.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.edge.WriteError(w, r, errCrossOrigin)
	}))
	return cop.Handler(mux)
}

// compressPages gzips pages as they are written at the fastest level: a
// list of 200 matches is some 230 KB of very repetitive HTML, which level
// 1 still shrinks about twentyfold, at a third of the default level's
// cost, and that cost is paid on every request.
func compressPages(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(gzip.BestSpeed), gzhttp.MinSize(1024))
	if err != nil {
		panic(err) // constant, valid options
	}
	return wrap(h)
}
