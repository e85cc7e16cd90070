package account

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/input"
)

// The rules of the account lifecycle: how long an e-mail code lives, how
// often it may be guessed and resent, how long a reset link works.
const (
	CodeTTL      = 15 * time.Minute
	CodeAttempts = 5
	ResendAfter  = 60 * time.Second
	ResetTTL     = time.Hour
)

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the embedded list as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 1200)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// IsCommonPassword reports whether p is on the bundled list of passwords
// that breaches show people pick most (letter case ignored).
func IsCommonPassword(p string) bool {
	_, ok := commonPasswords()[strings.ToLower(p)]
	return ok
}

// CheckNewPassword enforces every rule on a password being set: the
// length rule, not a common password, and not the username or the
// e-mail's local part (equal to or containing it), since those are the
// first guesses of anyone who knows the account.
//
// Codes: weak_password.
func CheckNewPassword(password, username, email string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	if IsCommonPassword(password) {
		return fault.New(fault.Invalid, "weak_password", "That password is one of the most common ones and is guessed first; choose another.")
	}
	lp := strings.ToLower(password)
	if u := strings.ToLower(username); u != "" && strings.Contains(lp, u) {
		return fault.New(fault.Invalid, "weak_password", "A password cannot contain your username.")
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && local != "" {
		// A very short local part ("a@…") would forbid half the alphabet,
		// so below three characters only equality is refused.
		if lp == local || (utf8.RuneCountInString(local) >= 3 && strings.Contains(lp, local)) {
			return fault.New(fault.Invalid, "weak_password", "A password cannot contain your e-mail address.")
		}
	}
	return nil
}

// deletedName is the shape of the anonymised username and nickname a
// deleted account keeps; sign-up refuses it as a nickname so that no
// player can take the name an account will get on deletion.
var deletedName = regexp.MustCompile(`(?i)^deleted-[0-9]+$`)

// DeletedName is the anonymised username and nickname of deleted user id.
func DeletedName(id int64) string { return fmt.Sprintf("deleted-%d", id) }

// NewCode returns a uniformly random 6-digit code.
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// CheckCode validates a code's shape. Codes: invalid_code.
func CheckCode(code string) error {
	if !codeRE.MatchString(code) {
		return fault.New(fault.Invalid, "invalid_code", "The code is the 6 digits from the e-mail we sent.")
	}
	return nil
}

// CodeHash is how a code is stored: an HMAC-SHA256 under the server's key,
// bound to the user so a hash cannot be replayed for another account.
func CodeHash(key []byte, userID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("email-code\x00" + userID + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckTimeZone validates an IANA time zone name by the one rule of
// input.Zone ("Local" and other names for the server's own zone are not
// the player's). Codes: invalid_time_zone.
func CheckTimeZone(tz string) error {
	_, err := input.Zone(tz)
	return err
}

// ProfileUpdate changes a user's profile; nil fields stay as they are.
type ProfileUpdate struct {
	TimeZone *string `json:"time_zone"`
	Nickname *string `json:"nickname"`
	Language *string `json:"language"`
}

// Languages are the languages the product speaks, as the language
// setting spells them.
var Languages = []string{"ko", "en"}

// Check validates the fields given and puts a nickname in NFC.
// Codes: invalid_time_zone, invalid_nickname, invalid_language.
func (p *ProfileUpdate) Check() error {
	if p.Language != nil && !slices.Contains(Languages, *p.Language) {
		return fault.New(fault.Invalid, "invalid_language", "The language is ko (한국어) or en (English).")
	}
	if p.TimeZone != nil {
		if err := CheckTimeZone(*p.TimeZone); err != nil {
			return err
		}
	}
	if p.Nickname != nil {
		nick, err := Nickname(*p.Nickname)
		if err != nil {
			return err
		}
		p.Nickname = &nick
	}
	return nil
}
