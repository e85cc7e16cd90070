package programme

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// A partner's HMAC secret must be available to check each signature, so
// it cannot be stored as a one-way hash like a password. It is sealed
// with AES-256-GCM under a key that lives outside the database
// (PB_SECRETS_KEY, or a key file beside the data): a copy of the
// database alone reveals no secret. The partner id is the additional
// data, so a sealed secret moved to another partner's row does not open.

// KeySize is the length of a secrets key: AES-256.
const KeySize = 32

// Sealer seals and opens partner secrets.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, errors.New("the secrets key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey reads a key written as 64 hex digits or as standard base64 of
// 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, errors.New("the secrets key must be 32 bytes written as 64 hex digits or base64")
}

// NewKey returns a random key, hex-encoded.
func NewKey() string {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Seal encrypts secret for the partner: nonce ‖ ciphertext ‖ tag.
func (s *Sealer) Seal(partnerID string, secret []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, secret, []byte(partnerID))
}

// ErrUnseal means a sealed secret does not open: the key is not the one it
// was sealed with, or the data was altered or moved.
var ErrUnseal = errors.New("the partner secret does not open with this secrets key")

// Open decrypts a sealed secret of the partner.
func (s *Sealer) Open(partnerID string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrUnseal
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(partnerID))
	if err != nil {
		return nil, ErrUnseal
	}
	return out, nil
}
