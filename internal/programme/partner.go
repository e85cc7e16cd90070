package programme

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

// SignatureWindow is how far a partner's X-Timestamp may be from our
// clock, either way (docs/api.md: 5 minutes).
const SignatureWindow = 5 * time.Minute

// MaxMileage bounds one conversion: far above any real mileage balance,
// and low enough that mileage × rate numerator cannot overflow an int64.
const MaxMileage = 1_000_000_000

// Partner is a mileage partner. Its secret is only ever held sealed at
// rest (see Sealer) and opened in memory to check a signature.
type Partner struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Rate       Rate       `json:"rate"`
	DailyCap   int64      `json:"daily_cap"`
	Disabled   bool       `json:"disabled"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  time.Time  `json:"secret_rotated_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// SealedSecret is the HMAC secret sealed with the secrets key.
	SealedSecret []byte `json:"-"`
}

var partnerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,31}$`)

// CheckPartnerID validates a partner id: 2 to 32 lower-case letters,
// digits and dashes, starting with a letter or digit. It is sent in a
// header and written in references, so it is kept plain.
//
// Codes: invalid_partner_id.
func CheckPartnerID(id string) error {
	if !partnerID.MatchString(id) {
		return fault.New(fault.Invalid, "invalid_partner_id", "A partner id is 2 to 32 lower-case letters, digits and dashes.")
	}
	return nil
}

// Rate is an exact conversion rate: Num points per Den miles. Points are
// floor(mileage × Num / Den); there is no float anywhere.
type Rate struct {
	Num int64 `json:"num"`
	Den int64 `json:"den"`
}

// MaxRateTerm bounds both terms of a rate, so mileage × Num fits an int64.
const MaxRateTerm = 1_000_000

// ParseRate reads "N/D" (N points per D miles) or "N" (N points per mile).
//
// Codes: invalid_rate.
func ParseRate(s string) (Rate, error) {
	bad := fault.New(fault.Invalid, "invalid_rate", "A rate is N/D points per mile with whole numbers 1 to %d, like 1/2 (one point per two miles).", MaxRateTerm)
	num, den, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		den = "1"
	}
	n, err1 := strconv.ParseInt(num, 10, 64)
	d, err2 := strconv.ParseInt(den, 10, 64)
	if err1 != nil || err2 != nil {
		return Rate{}, bad
	}
	r := Rate{Num: n, Den: d}
	if r.Check() != nil {
		return Rate{}, bad
	}
	return r, nil
}

// Check validates a rate's terms.
//
// Codes: invalid_rate.
func (r Rate) Check() error {
	if r.Num < 1 || r.Den < 1 || r.Num > MaxRateTerm || r.Den > MaxRateTerm {
		return fault.New(fault.Invalid, "invalid_rate", "Rate terms must be whole numbers 1 to %d.", MaxRateTerm)
	}
	return nil
}

func (r Rate) String() string {
	return strconv.FormatInt(r.Num, 10) + "/" + strconv.FormatInt(r.Den, 10)
}

// Points converts mileage at the rate, rounding down.
//
// Codes: invalid_mileage, mileage_too_small.
func (r Rate) Points(mileage int64) (int64, error) {
	if mileage < 1 || mileage > MaxMileage {
		return 0, fault.New(fault.Invalid, "invalid_mileage", "mileage must be a whole number from 1 to %s.", ledger.FormatPoints(MaxMileage))
	}
	p := mileage * r.Num / r.Den // bounded: 1e9 × 1e6 < 2^63
	if p < 1 {
		return 0, fault.New(fault.Refused, "mileage_too_small", "%s miles convert to no points at %s points per mile.", ledger.FormatPoints(mileage), r)
	}
	return p, nil
}

// CreditRequest is the body of POST /api/v1/partner/credits.
type CreditRequest struct {
	PartnerTxID string `json:"partner_tx_id"`
	Username    string `json:"username"`
	Mileage     int64  `json:"mileage"`
}

var partnerTxID = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)

// Check validates a credit request's fields.
//
// Codes: invalid_partner_tx_id, invalid_username, invalid_mileage.
func (c *CreditRequest) Check() error {
	if !partnerTxID.MatchString(c.PartnerTxID) {
		return fault.New(fault.Invalid, "invalid_partner_tx_id", "partner_tx_id must be 1 to 64 printable ASCII characters without spaces.")
	}
	if c.Username == "" || len(c.Username) > 64 {
		return fault.New(fault.Invalid, "invalid_username", "username is required (at most 64 characters).")
	}
	if c.Mileage < 1 || c.Mileage > MaxMileage {
		return fault.New(fault.Invalid, "invalid_mileage", "mileage must be a whole number from 1 to %s.", ledger.FormatPoints(MaxMileage))
	}
	return nil
}

// Credit is a partner credit as answered to the partner.
type Credit struct {
	CreditID    string    `json:"credit_id"`
	Points      int64     `json:"points"`
	PartnerTxID string    `json:"partner_tx_id"`
	Username    string    `json:"username"`
	Mileage     int64     `json:"mileage"`
	CreditedAt  time.Time `json:"credited_at"`
}

// PartnerCredit is what the store needs to credit a partner's mileage;
// the signature has been verified by then.
type PartnerCredit struct {
	Partner *Partner
	CreditRequest
	// Audit, when set, is written in the credit's transaction (not for a
	// replay, which changes nothing).
	Audit *audit.Event
}

// Signed is a parsed set of partner signature headers.
type Signed struct {
	PartnerID string
	Timestamp int64
	Signature []byte // the decoded HMAC
}

// ParseSignature reads the X-Partner-Id, X-Timestamp and X-Signature
// headers. It checks their shape only; Verify checks the HMAC and Fresh
// the clock.
//
// Codes: signature_required, invalid_signature.
func ParseSignature(id, timestamp, signature string) (*Signed, error) {
	if id == "" || timestamp == "" || signature == "" {
		return nil, fault.New(fault.Unauthenticated, "signature_required",
			"This endpoint needs X-Partner-Id, X-Timestamp and X-Signature headers; sessions are not accepted.")
	}
	if CheckPartnerID(id) != nil {
		return nil, fault.New(fault.Unauthenticated, "unknown_partner", "No such partner.")
	}
	// Unix seconds, no sign, no leading zeros: one spelling per instant,
	// so what was signed is what we read.
	if len(timestamp) > 12 || timestamp[0] == '0' || strings.TrimLeft(timestamp, "0123456789") != "" {
		return nil, fault.New(fault.Unauthenticated, "invalid_signature", "X-Timestamp must be Unix seconds.")
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil, fault.New(fault.Unauthenticated, "invalid_signature", "X-Timestamp must be Unix seconds.")
	}
	if len(signature) != 2*sha256.Size {
		return nil, fault.New(fault.Unauthenticated, "invalid_signature", "X-Signature must be 64 hex digits (HMAC-SHA256).")
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return nil, fault.New(fault.Unauthenticated, "invalid_signature", "X-Signature must be 64 hex digits (HMAC-SHA256).")
	}
	return &Signed{PartnerID: id, Timestamp: ts, Signature: sig}, nil
}

// Fresh checks the timestamp against now, within SignatureWindow either
// way, so a captured request cannot be replayed later.
//
// Codes: stale_timestamp.
func (s *Signed) Fresh(now time.Time) error {
	d := now.Unix() - s.Timestamp
	if d > int64(SignatureWindow/time.Second) || d < -int64(SignatureWindow/time.Second) {
		return fault.New(fault.Unauthenticated, "stale_timestamp",
			"X-Timestamp is more than %s away from the server's clock (%d); check the partner's clock.", SignatureWindow, now.Unix()).
			With("server_time", now.Unix())
	}
	return nil
}

// Verify checks the signature over "<timestamp>.<raw body>" with the
// partner's secret, in constant time.
//
// Codes: invalid_signature.
func (s *Signed) Verify(secret, body []byte) error {
	want := Sign(secret, s.Timestamp, body)
	if !hmac.Equal(want, s.Signature) {
		return fault.New(fault.Unauthenticated, "invalid_signature", "The signature does not match: sign \"<X-Timestamp>.<raw body>\" with HMAC-SHA256 and the partner secret, hex-encoded.")
	}
	return nil
}

// Sign returns HMAC-SHA256 of "<timestamp>.<body>" with secret.
func Sign(secret []byte, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// NewSecret returns a fresh partner secret: 32 random bytes, hex-encoded
// (what the partner configures and signs with, as text).
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
