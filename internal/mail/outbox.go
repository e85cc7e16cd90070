package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Outbox writes each message as an .eml file (RFC 5322, as SMTP would
// carry it) into a directory, for installs without SMTP: an operator can
// open the files with any mail program. Files are readable by the owner
// only, since they hold codes and reset links.
type Outbox struct {
	dir  string
	from string
	now  func() time.Time
}

// NewOutbox creates dir if needed and returns a sender writing into it.
func NewOutbox(dir, from string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir, from: from, now: time.Now}, nil
}

// Dir is the directory the messages go to.
func (o *Outbox) Dir() string { return o.dir }

// Send writes m as <UTC time>-<random>.eml. The file appears complete or
// not at all: it is written under a temporary name and renamed.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := build(o.from, m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(o.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix) //nolint:errcheck // crypto/rand never fails on supported platforms
	name := o.now().UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(suffix) + ".eml"
	if err := os.Rename(tmp.Name(), filepath.Join(o.dir, name)); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
