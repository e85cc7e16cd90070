package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP URL.
const (
	StartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required (port 587)
	Implicit = "implicit" // TLS from the first byte (port 465)
	NoTLS    = "none"     // no encryption: only for a relay on the same host or network
)

// Settings are the parts of an SMTP URL.
type Settings struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string
}

// ParseURL reads smtp://user:pass@host:port?tls=starttls|implicit|none
// (smtps://… means implicit TLS). The port defaults to the TLS mode's
// usual one. Errors never repeat the URL, which holds a password.
func ParseURL(raw string) (Settings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Settings{}, errors.New("PB_SMTP_URL does not parse as a URL")
	}
	var s Settings
	switch u.Scheme {
	case "smtp":
		s.TLS = StartTLS
	case "smtps":
		s.TLS = Implicit
	default:
		return Settings{}, errors.New("PB_SMTP_URL must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return Settings{}, errors.New("PB_SMTP_URL has no path: smtp://user:pass@host:port?tls=…")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return Settings{}, fmt.Errorf("PB_SMTP_URL has an unknown parameter %q (only tls)", k)
		}
	}
	if t := q.Get("tls"); t != "" {
		switch t {
		case StartTLS, Implicit, NoTLS:
			s.TLS = t
		default:
			return Settings{}, errors.New("PB_SMTP_URL tls must be starttls, implicit or none")
		}
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return Settings{}, errors.New("PB_SMTP_URL needs a host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Settings{}, errors.New("PB_SMTP_URL has a bad port")
		}
		s.Port = n
	} else {
		s.Port = map[string]int{StartTLS: 587, Implicit: 465, NoTLS: 25}[s.TLS]
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
		if s.Username == "" {
			return Settings{}, errors.New("PB_SMTP_URL has a password but no user name")
		}
	}
	return s, nil
}

// SMTP sends mail through an SMTP server.
type SMTP struct {
	s    Settings
	from string
	tls  *tls.Config
}

// NewSMTP returns a sender for the SMTP URL. tlsConfig, when not nil,
// replaces the default (system roots, the URL's host name); tests use it
// to trust their own server's certificate.
func NewSMTP(rawURL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	s, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	return &SMTP{s: s, from: from, tls: tlsConfig}, nil
}

// Addr is the server's host:port (for logs; it holds no credentials).
func (c *SMTP) Addr() string { return net.JoinHostPort(c.s.Host, strconv.Itoa(c.s.Port)) }

// Send delivers m. A connection is made per message: mail is rare here
// (sign-ups, resets), so a pool would only hold idle connections open.
func (c *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(c.from, m)
	if err != nil {
		return err
	}
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	opts := []gomail.Option{gomail.WithPort(c.s.Port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(c.tls)}
	switch c.s.TLS {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case Implicit:
		opts = append(opts, gomail.WithSSL())
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.s.Username != "" {
		// Auto-discovery takes the strongest mechanism the server offers
		// and never sends a password in the clear over an unencrypted
		// connection.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.s.Username), gomail.WithPassword(c.s.Password))
	}
	client, err := gomail.NewClient(c.s.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", c.Addr(), err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", c.Addr(), err)
	}
	return nil
}
