// Package account holds players and operators: sign-up rules, argon2id
// password hashes, roles and session tokens.
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// Role decides what a user may do.
type Role string

const (
	Player Role = "player"
	Admin  Role = "admin"
)

// User is a player or an operator.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Nickname string `json:"nickname"`
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	TimeZone string `json:"time_zone"`
	// Language is "ko" or "en", or "" while the player has not chosen one
	// (the browser's Accept-Language decides then).
	Language  string    `json:"language"`
	CreatedAt time.Time `json:"created_at"`
	// NicknameRequired is true while the user still has the provisional
	// nickname of a first OIDC sign-in and should be asked to choose one.
	NicknameRequired bool `json:"-"`
	// EmailVerified is set once the player entered the code mailed to
	// their address (or followed a password reset link sent there).
	EmailVerified bool `json:"email_verified"`
}

// NewUser is a user to store, with an already hashed password.
type NewUser struct {
	Username     string
	Nickname     string
	Email        string
	PasswordHash string
	Role         Role
	// EmailVerified marks the address as proven (operators created from
	// configuration, identities an OIDC issuer vouches for).
	EmailVerified bool
	// Bonus is credited from the sign-up programme in the same
	// transaction, so no account exists without its bonus.
	Bonus int64
	// EmailKey, when set, is stored as the unique e-mail key instead of
	// the lower-cased Email: a non-deliverable placeholder for accounts
	// whose identity provider gave no verified, unused address.
	EmailKey string
	// NicknamePending marks Nickname as provisional (first OIDC sign-in).
	NicknamePending bool
	// Audit, when set, is written in the creating transaction, its target
	// (and, for a sign-up, its actor) the new user.
	Audit *audit.Event
}

// Signup is a sign-up request.
type Signup struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
	Nickname string `json:"nickname"`
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{3,32}$`)

// CheckUsername validates a username's shape. Codes: invalid_username.
func CheckUsername(u string) error {
	if !usernameRE.MatchString(u) {
		for _, r := range u {
			if r > unicode.MaxASCII && unicode.IsLetter(r) {
				// A Korean player's first try is often their name in
				// Hangul: say what a username is made of, and where the
				// name can go.
				return fault.New(fault.Invalid, "invalid_username",
					"Usernames use Latin letters (A-Z, a-z), digits and underscores only; a name in Hangul or another script can be your nickname.")
			}
		}
		return fault.New(fault.Invalid, "invalid_username", "A username is 3 to 32 Latin letters (A-Z, a-z), digits or underscores.")
	}
	return nil
}

// CheckNickname validates a nickname; see Nickname.
// Codes: invalid_nickname.
func CheckNickname(n string) error {
	_, err := Nickname(n)
	return err
}

// Nickname validates a nickname and returns it in Unicode NFC, the form it
// is stored in: 2 to 24 characters of any script (Korean nicknames are the
// norm), no spaces at the ends, no angle brackets, and none of the
// characters that hide or reorder text (input.Hidden: controls,
// bidirectional and zero-width marks, line separators). Uniqueness is by
// input.Fold, so "ＫＩＭ" is taken when "kim" is. Codes: invalid_nickname.
func Nickname(n string) (string, error) {
	if !utf8.ValidString(n) {
		return "", fault.New(fault.Invalid, "invalid_nickname", "A nickname is 2 to 24 characters without leading or trailing spaces.")
	}
	n = norm.NFC.String(n)
	c := utf8.RuneCountInString(n)
	if c < 2 || c > 24 || strings.TrimSpace(n) != n {
		return "", fault.New(fault.Invalid, "invalid_nickname", "A nickname is 2 to 24 characters without leading or trailing spaces.")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || r == '<' || r == '>' {
			return "", fault.New(fault.Invalid, "invalid_nickname", "A nickname cannot contain control characters or angle brackets.")
		}
	}
	if _, err := input.Name(n); err != nil {
		return "", fault.New(fault.Invalid, "invalid_nickname", "A nickname cannot contain invisible or formatting characters (bidirectional or zero-width marks, line separators).")
	}
	if deletedName.MatchString(n) {
		return "", fault.New(fault.Invalid, "invalid_nickname", "Nicknames of the form deleted-<number> are reserved for deleted accounts.")
	}
	return n, nil
}

// Check validates a sign-up request and puts its nickname in NFC.
//
// Codes: invalid_username, invalid_nickname, invalid_email, weak_password.
func (s *Signup) Check() error {
	if err := CheckUsername(s.Username); err != nil {
		return err
	}
	nick, err := Nickname(s.Nickname)
	if err != nil {
		return err
	}
	s.Nickname = nick
	if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email || len(s.Email) > 254 {
		return fault.New(fault.Invalid, "invalid_email", "Enter a valid e-mail address.")
	}
	return CheckNewPassword(s.Password, s.Username, s.Email)
}

// CheckPassword enforces the minimum password rule. Codes: weak_password.
func CheckPassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < 10 {
		return fault.New(fault.Invalid, "weak_password", "A password needs at least 10 characters.")
	}
	if len(p) > 256 {
		return fault.New(fault.Invalid, "weak_password", "A password may have at most 256 bytes.")
	}
	return nil
}

// HashParams are argon2id cost parameters.
type HashParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultHashParams follow OWASP's argon2id minimum (19 MiB, t=2, p=1).
var DefaultHashParams = HashParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Hash returns an argon2id hash in the PHC string format, which records
// its own parameters so they can be raised later without breaking logins.
func Hash(password string, p HashParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches a hash made by Hash.
func Verify(password, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false
	}
	// Refuse absurd parameters from a tampered row rather than burn memory.
	if p.MemoryKiB > 1<<21 || p.Time > 16 || p.Threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when a username does not exist, so a
// failed login takes the same time either way and does not reveal which
// usernames exist.
var dummyHash, _ = Hash("not-a-real-password", DefaultHashParams)

// VerifyMissing spends the time of one verification and returns false.
func VerifyMissing(password string) bool {
	Verify(password, dummyHash)
	return false
}

// NewToken returns a random session token (shown to the client once) and
// its SHA-256 hex digest (the only form stored).
func NewToken() (token, digest string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenDigest(token)
}

// TokenDigest is how a token is looked up in storage.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CSRFToken derives the CSRF token bound to a session token, so it needs
// no storage and changes whenever the session rotates.
func CSRFToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// Session is an authenticated session.
type Session struct {
	User      *User
	Digest    string
	ExpiresAt time.Time
}
