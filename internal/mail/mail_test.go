package mail_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/mail"
	"github.com/pointsbook/pointsbook/internal/mail/mailtest"
)

const from = "Pointsbook <no-reply@pointsbook.test>"

var korean = mail.Message{
	To:      "kim@example.com",
	Subject: "포인트북 인증 코드 / Your verification code",
	Body:    "안녕하세요, 김치님.\n인증 코드: 482915\n\nHello! Your code: 482915\n" + strings.Repeat("긴 줄 ", 40) + "\n",
}

func checkMessage(t *testing.T, r *mail.Received) {
	t.Helper()
	if r.Subject != korean.Subject || r.To != "<kim@example.com>" || !strings.Contains(r.From, "no-reply@pointsbook.test") {
		t.Fatalf("headers: from %q to %q subject %q", r.From, r.To, r.Subject)
	}
	if strings.TrimRight(r.Body, "\n") != strings.TrimRight(korean.Body, "\n") {
		t.Fatalf("body = %q, want %q", r.Body, korean.Body)
	}
	if r.MessageID == "" || time.Since(r.Date) > time.Minute {
		t.Fatalf("Message-ID %q, Date %v", r.MessageID, r.Date)
	}
}

func TestSMTPSender(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.NewSMTP(srv.URL(), from, srv.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, korean); err != nil {
		t.Fatal(err)
	}
	env := srv.Wait(t, 1)
	if env.From != "no-reply@pointsbook.test" || len(env.To) != 1 || env.To[0] != "kim@example.com" {
		t.Fatalf("envelope %+v", env)
	}
	// Every header line is 7-bit: UTF-8 travels encoded (RFC 2047 and
	// quoted-printable), so any relay can carry it.
	for _, b := range env.Data {
		if b >= 0x80 {
			t.Fatal("raw 8-bit byte in the message")
		}
	}
	r, err := mail.Read(bytes.NewReader(env.Data))
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, r)
}

func TestSMTPRefusals(t *testing.T) {
	srv := mailtest.Start(t)
	ctx := context.Background()
	send := func(rawURL string, cfgTLS bool) error {
		t.Helper()
		var s *mail.SMTP
		var err error
		if cfgTLS {
			s, err = mail.NewSMTP(rawURL, from, srv.ClientTLS)
		} else {
			s, err = mail.NewSMTP(rawURL, from, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return s.Send(ctx, korean)
	}
	wrong := "smtp://mailer:not-the-password@" + srv.Addr() + "?tls=starttls"
	err := send(wrong, true)
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Fatalf("the error repeats the password: %v", err)
	}
	// The server's certificate is not trusted by default: STARTTLS fails
	// rather than sending credentials to an unverified server.
	if err := send(srv.URL(), false); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	// Without TLS the password is never sent in the clear.
	if err := send("smtp://mailer:smtp-secret-pw@"+srv.Addr()+"?tls=none", true); err == nil {
		t.Fatal("credentials sent without TLS")
	}
	if n := len(srv.Received()); n != 0 {
		t.Fatalf("%d messages delivered by refused attempts", n)
	}
}

// TestSMTPTimeout: a server that accepts and then says nothing cannot
// hold the sender beyond its context's deadline.
func TestSMTPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := mail.NewSMTP("smtp://"+ln.Addr().String()+"?tls=none", from, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, korean); err == nil {
		t.Fatal("send to a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("send took %v despite a 300ms deadline", d)
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := mail.NewOutbox(dir, from)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := o.Send(context.Background(), korean); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 {
		t.Fatalf("outbox holds %v, want 2 files", files)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".eml") {
			t.Fatalf("file %s is not an .eml", f)
		}
		st, _ := os.Stat(f)
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600 (it holds codes)", f, st.Mode().Perm())
		}
		raw, _ := os.ReadFile(f)
		if !bytes.Contains(raw, []byte("\r\n")) || !bytes.Contains(raw, []byte("MIME-Version: 1.0")) || !bytes.Contains(raw, []byte("charset=UTF-8")) {
			t.Fatalf("not an RFC 5322 message with MIME headers:\n%s", raw)
		}
		r, err := mail.Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, r)
	}
	if err := o.Send(context.Background(), mail.Message{To: "not an address", Subject: "x", Body: "x"}); err == nil {
		t.Fatal("bad recipient accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, korean); err == nil {
		t.Fatal("sent with a cancelled context")
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want mail.Settings
		ok   bool
	}{
		{"smtp://u:p@mail.example.com", mail.Settings{Host: "mail.example.com", Port: 587, Username: "u", Password: "p", TLS: "starttls"}, true},
		{"smtp://u:p%40ss@mail.example.com:2525?tls=starttls", mail.Settings{Host: "mail.example.com", Port: 2525, Username: "u", Password: "p@ss", TLS: "starttls"}, true},
		{"smtps://mail.example.com", mail.Settings{Host: "mail.example.com", Port: 465, TLS: "implicit"}, true},
		{"smtp://relay?tls=none", mail.Settings{Host: "relay", Port: 25, TLS: "none"}, true},
		{"smtp://[::1]:25?tls=implicit", mail.Settings{Host: "::1", Port: 25, TLS: "implicit"}, true},
		{"http://mail.example.com", mail.Settings{}, false},
		{"smtp://mail.example.com?tls=maybe", mail.Settings{}, false},
		{"smtp://mail.example.com?auth=plain", mail.Settings{}, false},
		{"smtp://mail.example.com:0", mail.Settings{}, false},
		{"smtp://mail.example.com:99999", mail.Settings{}, false},
		{"smtp://mail.example.com/path", mail.Settings{}, false},
		{"smtp://:secret@mail.example.com", mail.Settings{}, false},
		{"smtp://", mail.Settings{}, false},
		{"", mail.Settings{}, false},
	}
	for _, tt := range tests {
		got, err := mail.ParseURL(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats the password: %v", err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@h:587?tls=starttls", "smtps://h", "smtp://h?tls=none", "smtp://%zz", "smtp://u:pw@[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := mail.ParseURL(raw)
		if err != nil {
			if pw := "pw"; strings.Contains(raw, ":"+pw+"@") && strings.Contains(err.Error(), pw) {
				t.Fatalf("error repeats the password: %v", err)
			}
			return
		}
		if s.Host == "" || s.Port < 1 || s.Port > 65535 || (s.TLS != "starttls" && s.TLS != "implicit" && s.TLS != "none") {
			t.Fatalf("accepted %q as %+v", raw, s)
		}
	})
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("From: a@b\r\nTo: c@d\r\nSubject: =?UTF-8?q?=ED=95=9C?=\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhi=\r\n there\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\n7ZWc\r\n6rWt\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := mail.Read(bytes.NewReader(raw))
		if err == nil && r == nil {
			t.Fatal("nil message without an error")
		}
	})
}
