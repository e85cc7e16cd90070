package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Identity is a person as an OpenID Connect issuer knows them. The pair
// (Issuer, Subject) is the only thing that links it to a player: an
// e-mail address asserted by an issuer never does, or any issuer that
// lets people type an unverified address could take over the password
// account that owns it.
type Identity struct {
	Issuer  string
	Subject string
	// Email is kept only when the issuer says it verified it.
	Email         string
	EmailVerified bool
}

// ProvisionalNames draws a username and a nickname for a player created
// by a first OIDC sign-in, who chooses a real nickname afterwards. They
// are random rather than derived from the identity so that nobody can
// reserve a name in advance to block someone else's first sign-in.
func ProvisionalNames() (username, nickname string) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	h := hex.EncodeToString(b)
	return "oidc_" + h, "player-" + h
}

// PlaceholderEmailKey is the unique e-mail key of an identity that gave no
// verified, unused address. The .invalid top-level domain is reserved
// (RFC 2606), so nothing is ever delivered to it, and no sign-up can
// claim it because sign-up needs a deliverable-looking address and its
// key is derived from the (issuer, subject) pair.
func PlaceholderEmailKey(id Identity) string {
	sum := sha256.Sum256([]byte(id.Issuer + "\x00" + id.Subject))
	return "oidc-" + hex.EncodeToString(sum[:16]) + "@placeholder.invalid"
}

// EmailKeyOf is how an address is compared for uniqueness.
func EmailKeyOf(email string) string { return strings.ToLower(email) }
