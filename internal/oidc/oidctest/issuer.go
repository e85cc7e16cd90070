// Package oidctest is an OpenID Connect issuer for tests: discovery,
// JWKS, an authorization endpoint that approves at once, and a token
// endpoint that checks client authentication, the code, the redirect URI
// and the PKCE verifier, and issues RS256 ID tokens as OIDC Core 1.0 and
// RFC 7636 describe. Knobs make it misbehave in the ways a test needs.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a running test issuer.
type Issuer struct {
	URL          string // the issuer identifier, also its base URL
	ClientID     string
	ClientSecret string
	// RedirectURL is the one registered redirect URI; set it before the
	// first authorization.
	RedirectURL string

	srv *httptest.Server
	key *rsa.PrivateKey

	mu sync.Mutex
	// Subject, Email and EmailVerified are the signed-in person's claims.
	Subject       string
	Email         string
	EmailVerified bool
	// Tamper changes the claims of ID tokens before they are signed.
	Tamper func(claims map[string]any)
	// SignWith signs ID tokens with another key (under the published key id).
	SignWith *rsa.PrivateKey
	// CorruptChallenge makes authorization remember a challenge that the
	// client's verifier cannot match.
	CorruptChallenge bool
	// Deny answers authorization with error=access_denied.
	Deny bool

	grants  map[string]*grant
	secrets []string // every code and token issued
	// Exchanges counts token requests that were granted.
	Exchanges int
}

type grant struct {
	clientID, redirectURI, challenge, nonce string
	subject, email                          string
	emailVerified                           bool
	issued                                  time.Time
	used                                    bool
}

const keyID = "test-key-1"

// New starts an issuer for the client; it stops at the end of the test.
func New(t testing.TB, clientID, clientSecret string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{ClientID: clientID, ClientSecret: clientSecret, key: key, grants: map[string]*grant{},
		Subject: "subject-1", Email: "person@example.com", EmailVerified: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("POST /token", is.token)
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	t.Cleanup(is.srv.Close)
	return is
}

// Set changes the issuer's knobs under its lock.
func (is *Issuer) Set(fn func(is *Issuer)) {
	is.mu.Lock()
	defer is.mu.Unlock()
	fn(is)
}

// Secrets returns every code, access token and ID token issued so far,
// for tests that check none of them reached a log.
func (is *Issuer) Secrets() []string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]string(nil), is.secrets...)
}

// NewKey returns a fresh RSA key, for SignWith.
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{
		"issuer":                                is.URL,
		"authorization_endpoint":                is.URL + "/authorize",
		"token_endpoint":                        is.URL + "/token",
		"jwks_uri":                              is.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
	})
}

func (is *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}})
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize approves at once (OIDC Core 3.1.2). An unknown client or
// redirect URI is answered with a page, never a redirect, as the spec
// requires; other errors go back to the client.
func (is *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	is.mu.Lock()
	defer is.mu.Unlock()
	if q.Get("client_id") != is.ClientID || q.Get("redirect_uri") == "" || q.Get("redirect_uri") != is.RedirectURL {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		http.Redirect(w, r, is.RedirectURL+"?"+v.Encode(), http.StatusFound)
	}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case !contains(scopes, "openid"):
		back(url.Values{"error": {"invalid_scope"}})
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256 is required"}})
		return
	case is.Deny:
		back(url.Values{"error": {"access_denied"}})
		return
	}
	g := &grant{clientID: is.ClientID, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		subject: is.Subject, email: is.Email, emailVerified: is.EmailVerified, issued: time.Now()}
	if is.CorruptChallenge {
		g.challenge = s256(random())
	}
	code := random()
	is.grants[code] = g
	is.secrets = append(is.secrets, code)
	back(url.Values{"code": {code}})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// token is the token endpoint (RFC 6749 4.1.3, RFC 7636 4.6).
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(code int, e string) {
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		}
		writeJSON(w, code, map[string]string{"error": e})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(400, "invalid_request")
		return
	}
	// client_secret_basic: both parts are form-encoded before base64
	// (RFC 6749 2.3.1); client_secret_post: in the body.
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if id != is.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(is.ClientSecret)) != 1 {
		oauthErr(http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthErr(400, "unsupported_grant_type")
		return
	}
	g := is.grants[r.PostForm.Get("code")]
	if g == nil || g.used || time.Since(g.issued) > time.Minute || g.clientID != id {
		if g != nil {
			g.used = true // a replayed code stays dead
		}
		oauthErr(400, "invalid_grant")
		return
	}
	g.used = true
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		oauthErr(400, "invalid_grant")
		return
	}
	if v := r.PostForm.Get("code_verifier"); v == "" || subtle.ConstantTimeCompare([]byte(s256(v)), []byte(g.challenge)) != 1 {
		oauthErr(400, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": is.URL, "sub": g.subject, "aud": is.ClientID, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"auth_time": g.issued.Unix(), "nonce": g.nonce, "email": g.email, "email_verified": g.emailVerified,
	}
	access := random()
	claims["at_hash"] = atHash(access)
	if is.Tamper != nil {
		is.Tamper(claims)
	}
	key := is.key
	if is.SignWith != nil {
		key = is.SignWith
	}
	idToken, err := sign(key, claims)
	if err != nil {
		oauthErr(500, "server_error")
		return
	}
	is.Exchanges++
	is.secrets = append(is.secrets, access, idToken)
	writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// atHash is the left half of the SHA-256 of the access token (OIDC Core 3.1.3.6).
func atHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func sign(key *rsa.PrivateKey, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", keyID))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}
