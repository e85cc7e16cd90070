// Package oidc signs players in with an OpenID Connect issuer (Cognito,
// Keycloak, Google, …): the authorization-code flow with PKCE (S256),
// state and nonce, and the ID token verified against the issuer's
// discovery document and JWKS. It adapts github.com/coreos/go-oidc and
// golang.org/x/oauth2 to the two calls the API makes.
package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// Config says which issuer to use and how we are registered with it.
type Config struct {
	Issuer       string // exactly the "iss" of its ID tokens, e.g. https://accounts.google.com
	ClientID     string
	ClientSecret string
	RedirectURL  string // PB_PUBLIC_URL + /api/v1/auth/oidc/callback, registered at the issuer
	// HTTPClient makes the calls to the issuer; nil means a client with a
	// 10-second timeout.
	HTTPClient *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// FlowTTL is how long a sign-in may take between start and callback.
const FlowTTL = 10 * time.Minute

// Error codes of Start and Finish, which the API puts in /login?error=.
const (
	CodeState       = "oidc_state_invalid"   // no, expired, forged or mismatched state
	CodeDenied      = "oidc_denied"          // the issuer returned an error (the user declined, …)
	CodeExchange    = "oidc_exchange_failed" // the token endpoint refused the code
	CodeToken       = "oidc_token_invalid"   // the ID token failed verification
	CodeUnavailable = "oidc_unavailable"     // the issuer could not be reached
)

// Flow runs sign-ins against one issuer. Discovery happens on first use
// and is retried until it succeeds, so an issuer that is down when the
// server starts does not stop it from starting.
type Flow struct {
	cfg    Config
	key    []byte
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// New returns a flow; it does not contact the issuer.
func New(cfg Config) (*Flow, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidc: issuer, client id, client secret and redirect URL are all required")
	}
	f := &Flow{cfg: cfg, key: stateKey(cfg.ClientSecret), client: cfg.HTTPClient, now: cfg.Now}
	if f.client == nil {
		f.client = &http.Client{Timeout: 10 * time.Second}
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f, nil
}

// setup discovers the issuer once.
func (f *Flow) setup(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oauth != nil {
		return f.oauth, f.verifier, nil
	}
	// The provider keeps the client from this context for fetching the
	// JWKS later, so it carries our client, not the request's lifetime.
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, f.client), f.cfg.Issuer)
	if err != nil {
		return nil, nil, wrap(fault.New(fault.Unavailable, CodeUnavailable, "The sign-in provider could not be reached."), err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, nil, wrap(fault.New(fault.Unavailable, CodeUnavailable, "The sign-in provider's discovery document is malformed."), err)
	}
	ep := p.Endpoint()
	// Say how to authenticate instead of letting oauth2 guess: guessing
	// retries a refused exchange the other way, spending the code twice.
	// client_secret_basic is the default when the document names none.
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if len(meta.AuthMethods) > 0 && !slices.Contains(meta.AuthMethods, "client_secret_basic") && slices.Contains(meta.AuthMethods, "client_secret_post") {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	f.oauth = &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, Endpoint: ep, RedirectURL: f.cfg.RedirectURL,
		Scopes: []string{gooidc.ScopeOpenID, "email", "profile"}}
	f.verifier = p.Verifier(&gooidc.Config{ClientID: f.cfg.ClientID, Now: f.now})
	return f.oauth, f.verifier, nil
}

// Start begins a sign-in. It returns the issuer's authorization URL to
// send the browser to and the sealed flow state, which the caller keeps
// in a short-lived cookie and hands back to Finish. returnTo is where to
// go afterwards; anything but a same-site path becomes "/".
//
// Codes: oidc_unavailable.
func (f *Flow) Start(ctx context.Context, returnTo string) (authURL, sealed string, err error) {
	oc, _, err := f.setup(ctx)
	if err != nil {
		return "", "", err
	}
	fs := flowState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), ReturnTo: ReturnPath(returnTo),
		Expires: f.now().Add(FlowTTL).Unix()}
	authURL = oc.AuthCodeURL(fs.State, gooidc.Nonce(fs.Nonce), oauth2.S256ChallengeOption(fs.Verifier))
	return authURL, seal(f.key, fs), nil
}

// Finish completes a sign-in from the sealed state and the callback's
// query: it checks the state, exchanges the code with the PKCE verifier
// and verifies the ID token (signature by the issuer's JWKS, iss, aud,
// azp, exp, iat and nonce). The error's message says what failed, for the
// log; it never contains a code or a token.
//
// Codes: oidc_state_invalid, oidc_denied, oidc_exchange_failed,
// oidc_token_invalid, oidc_unavailable.
func (f *Flow) Finish(ctx context.Context, sealed string, q url.Values) (account.Identity, string, error) {
	fs, err := open(f.key, sealed, f.now())
	if err != nil {
		return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeState, "The sign-in state cookie is %v.", err)
	}
	if e := q.Get("error"); e != "" {
		// The issuer's error code is its word, not ours: log a bounded,
		// printable form of it and show the user our own code.
		return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeDenied, "The issuer answered error=%q.", bounded(e))
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(fs.State)) != 1 {
		return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeState, "The callback's state does not match the cookie's.")
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeExchange, "The callback has no usable code.")
	}
	oc, verifier, err := f.setup(ctx)
	if err != nil {
		return account.Identity{}, "", err
	}
	tok, err := oc.Exchange(gooidc.ClientContext(ctx, f.client), code, oauth2.VerifierOption(fs.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// Only the status and the OAuth error code: the response
			// body is the issuer's and is not ours to log.
			return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeExchange, "The token endpoint refused the code: HTTP %d, error=%q.",
				re.Response.StatusCode, bounded(re.ErrorCode))
		}
		return account.Identity{}, "", wrap(fault.New(fault.Unavailable, CodeUnavailable, "The token endpoint could not be reached."), err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return account.Identity{}, "", fault.New(fault.Unauthenticated, CodeToken, "The token response has no id_token.")
	}
	id, err := f.verify(ctx, verifier, raw, tok.AccessToken, fs.Nonce)
	if err != nil {
		return account.Identity{}, "", err
	}
	return id, fs.ReturnTo, nil
}

// verify checks what go-oidc does not: nonce, iat, azp, at_hash.
func (f *Flow) verify(ctx context.Context, v *gooidc.IDTokenVerifier, raw, accessToken, nonce string) (account.Identity, error) {
	bad := func(format string, args ...any) (account.Identity, error) {
		return account.Identity{}, fault.New(fault.Unauthenticated, CodeToken, "The ID token "+format, args...)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		// go-oidc's messages name the check that failed (signature,
		// issuer, audience, expiry) and never quote the token.
		return bad("failed verification: %v.", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return bad("has the wrong nonce.")
	}
	now := f.now()
	// The token was issued for this exchange, moments ago; allow for
	// clock skew between us and the issuer.
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(2*time.Minute)) || idt.IssuedAt.Before(now.Add(-FlowTTL)) {
		return bad("has an implausible iat (%s).", idt.IssuedAt.UTC().Format(time.RFC3339))
	}
	if idt.Subject == "" || len(idt.Subject) > 255 {
		return bad("has no usable sub.")
	}
	var claims struct {
		AZP           string   `json:"azp"`
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return bad("has malformed claims.")
	}
	// OIDC Core 3.1.3.7: with several audiences the authorized party must
	// be us; when named at all it must be us.
	if (len(idt.Audience) > 1 || claims.AZP != "") && claims.AZP != f.cfg.ClientID {
		return bad("was issued to another party (azp).")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return bad("does not match its access token (at_hash).")
		}
	}
	id := account.Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	if claims.EmailVerified && claims.Email != "" && len(claims.Email) <= 254 {
		id.Email, id.EmailVerified = claims.Email, true
	}
	return id, nil
}

// flexBool reads a JSON boolean, or the strings "true"/"false" that some
// issuers (Cognito among them) send for email_verified.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(string(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %.20s", data)
	}
	return nil
}

// wrap keeps the cause of a fault for the log; the fault's code and
// message are what callers see.
func wrap(fe *fault.Error, cause error) error { return fmt.Errorf("%w: %w", fe, cause) }

// bounded keeps an issuer-supplied string short and printable for a log.
func bounded(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// ReturnPath returns p when it is a path on this site, and "/" otherwise:
// no scheme, no host, no "//" or "/\" (which browsers read as another
// host), no control characters, at most 512 bytes.
func ReturnPath(p string) string {
	if p == "" || len(p) > 512 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	for _, r := range p {
		if r < 0x21 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return p
}

// marshal is json.Marshal for our own types, which always marshal.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
