package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/mail"
)

// newMailer returns the SMTP sender when PB_SMTP_URL is set and the
// outbox under PB_DATA_DIR otherwise, so a fresh install still "sends"
// its codes somewhere an operator can read them.
func newMailer(cfg config.Config, log *slog.Logger) (mail.Sender, error) {
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom, nil)
		if err != nil {
			return nil, err
		}
		log.Info("mail goes out through SMTP", "server", s.Addr(), "verification_required", cfg.EmailVerificationRequired())
		return s, nil
	}
	o, err := mail.NewOutbox(filepath.Join(cfg.DataDir, "outbox"), cfg.MailFrom)
	if err != nil {
		return nil, err
	}
	log.Info("no SMTP configured: mail is written to the outbox", "dir", o.Dir(), "verification_required", cfg.EmailVerificationRequired())
	return o, nil
}

// accountMailer gives the sign-in flows (account.Auth) a mail sender:
// account declares the message it sends, mail carries it.
type accountMailer struct{ s mail.Sender }

func (m accountMailer) Send(ctx context.Context, msg account.Mail) error {
	return m.s.Send(ctx, mail.Message(msg))
}

// codeKey is PB_CODE_KEY, or a random key created once in
// PB_DATA_DIR/code.key (mode 0600) and read from there afterwards. The
// key must outlive restarts, or every code in flight would stop matching.
func codeKey(cfg config.Config) ([]byte, error) {
	if cfg.CodeKey != "" {
		return []byte(cfg.CodeKey), nil
	}
	path := filepath.Join(cfg.DataDir, "code.key")
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, fmt.Errorf("%s holds fewer than 32 characters", path)
		}
		return []byte(key), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw)
	// Written under a temporary name and linked into place, which fails
	// when the file exists: two processes starting at once agree on the
	// key of whichever linked first, and nobody reads a half-written file.
	tmp, err := os.CreateTemp(cfg.DataDir, ".code.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // only the link remains
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return codeKey(cfg)
	} else if err != nil {
		return nil, err
	}
	return []byte(key), nil
}
