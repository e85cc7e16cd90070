package oidc

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// flowState is what a sign-in must remember between start and callback.
// It lives in the browser, in a cookie sealed with an HMAC: the browser
// may read it (the verifier and nonce only matter to whoever holds this
// browser's callback anyway) but cannot change it, and any instance behind
// the load balancer can check it without shared storage.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"` // Unix seconds
}

// stateKey derives the cookie's HMAC key from the client secret, which
// every instance already has: no extra secret to configure or rotate, and
// the label keeps this key from ever equalling a key used elsewhere.
func stateKey(clientSecret string) []byte {
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte("pointsbook oidc state cookie v1"))
	return m.Sum(nil)
}

const sealPrefix = "v1."

// maxSealed bounds what open reads: a real value is a few hundred bytes.
const maxSealed = 2048

// b64 is strict so that one value has one encoding: a sealed state is
// accepted only exactly as seal wrote it.
var b64 = base64.RawURLEncoding.Strict()

func seal(key []byte, fs flowState) string {
	payload := b64.EncodeToString(marshal(fs))
	return sealPrefix + payload + "." + b64.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sealPrefix + payload))
	return m.Sum(nil)
}

var (
	errMissing   = errors.New("missing")
	errMalformed = errors.New("malformed")
	errForged    = errors.New("not ours (bad MAC)")
	errExpired   = errors.New("expired")
)

// open checks and decodes a sealed state. Its errors read as "the cookie
// is <err>".
func open(key []byte, sealed string, now time.Time) (flowState, error) {
	var fs flowState
	if sealed == "" {
		return fs, errMissing
	}
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok || len(sealed) > maxSealed {
		return fs, errMalformed
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return fs, errMalformed
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return fs, errMalformed
	}
	// The MAC is checked before the payload is even decoded.
	if !hmac.Equal(got, mac(key, payload)) {
		return fs, errForged
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return fs, errMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fs); err != nil || fs.State == "" || fs.Nonce == "" || fs.Verifier == "" {
		return flowState{}, errMalformed
	}
	if now.Unix() >= fs.Expires {
		return flowState{}, errExpired
	}
	return fs, nil
}

// random returns 256 bits for a state or a nonce.
func random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b64.EncodeToString(b)
}
