package config

import (
	"strings"
	"testing"
)

func TestMailSettings(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		required bool
		bad      string
	}{
		{"fresh install: outbox, verification optional", nil, false, ""},
		{"smtp makes it required", map[string]string{"PB_SMTP_URL": "smtp://u:p@mail.example.com:587"}, true, ""},
		{"explicitly off with smtp", map[string]string{"PB_SMTP_URL": "smtps://mail.example.com", "PB_REQUIRE_EMAIL_VERIFICATION": "false"}, false, ""},
		{"explicitly on without smtp", map[string]string{"PB_REQUIRE_EMAIL_VERIFICATION": "true"}, true, ""},
		{"bad switch", map[string]string{"PB_REQUIRE_EMAIL_VERIFICATION": "yes"}, false, "PB_REQUIRE_EMAIL_VERIFICATION"},
		{"bad scheme", map[string]string{"PB_SMTP_URL": "http://u:hunter2pass@mail.example.com"}, false, "PB_SMTP_URL"},
		{"bad from", map[string]string{"PB_MAIL_FROM": "nobody"}, false, "PB_MAIL_FROM"},
		{"short code key", map[string]string{"PB_CODE_KEY": "short"}, false, "PB_CODE_KEY"},
		{"mail timeout too long", map[string]string{"PB_MAIL_TIMEOUT": "5m"}, false, "PB_MAIL_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("err = %v, want one about %s", err, tt.bad)
				}
				if strings.Contains(err.Error(), "hunter2pass") {
					t.Fatalf("the error repeats the SMTP password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.EmailVerificationRequired(); got != tt.required {
				t.Fatalf("required = %v, want %v", got, tt.required)
			}
		})
	}
	c := Default()
	c.SMTPURL = "smtp://mailer:hunter2pass@mail.example.com:587?tls=starttls"
	if s := c.String(); strings.Contains(s, "hunter2pass") || !strings.Contains(s, "PB_SMTP_URL=smtp://mailer:xxxxx@mail.example.com:587") {
		t.Fatalf("String() does not redact the SMTP password:\n%s", s)
	}
}
