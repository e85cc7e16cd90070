// Package mail sends the product's e-mail (verification codes, password
// reset links) through a small Sender interface: SMTP in production, and
// with no SMTP configured an outbox directory of .eml files, so a fresh
// install works and its mail can still be read.
//
// Messages are plain text in UTF-8 (Korean and English side by side), built
// by go-mail for both senders, so the .eml files in the outbox are exactly
// what SMTP would have carried.
package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text e-mail to one recipient.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender sends a message. Implementations honour ctx's deadline, so a
// slow mail server cannot hold a request.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// build renders m as an RFC 5322 message from from.
func build(from string, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	// RFC 3834: machines must not answer it (no vacation replies).
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	return msg, nil
}

// Received is a message read back from its RFC 5322 form.
type Received struct {
	From, To, Subject, MessageID string
	Date                         time.Time
	Body                         string
}

// Read parses a plain-text message as the outbox writes it and SMTP
// carries it: headers decoded (RFC 2047), body decoded from its
// Content-Transfer-Encoding. Operators' tools and tests use it to read
// the outbox.
func Read(r io.Reader) (*Received, error) {
	m, err := netmail.ReadMessage(r)
	if err != nil {
		return nil, err
	}
	dec := new(mime.WordDecoder)
	header := func(k string) (string, error) { return dec.DecodeHeader(m.Header.Get(k)) }
	out := &Received{MessageID: m.Header.Get("Message-Id")}
	if out.From, err = header("From"); err != nil {
		return nil, err
	}
	if out.To, err = header("To"); err != nil {
		return nil, err
	}
	if out.Subject, err = header("Subject"); err != nil {
		return nil, err
	}
	if out.Date, err = m.Header.Date(); err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		return nil, fmt.Errorf("content type %s; charset=%s, want text/plain; charset=UTF-8", mt, params["charset"])
	}
	body, err := decodeBody(m.Header.Get("Content-Transfer-Encoding"), m.Body)
	if err != nil {
		return nil, err
	}
	out.Body = body
	return out, nil
}

var errEncoding = errors.New("unsupported Content-Transfer-Encoding")
