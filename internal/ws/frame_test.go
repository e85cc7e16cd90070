package ws

import (
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		code string
	}{
		{`{"type":"subscribe","channel":"match:m_1","since":4}`, ""},
		{`{"type":"subscribe","channel":"lobby:football"}`, ""},
		{`{"type":"chat.send","channel":"match:m_1","text":"<b>hi</b>","ref":"a"}`, ""},
		{`{"type":"chat.report","channel":"match:m_1","id":3}`, ""},
		{`{"type":"chat.report","channel":"match:m_1"}`, "invalid_frame"},
		{`{"type":"subscribe","channel":"match:m_1","since":0}`, ""},
		{`{"type":"subscribe","channel":"match:m_1","since":-1}`, "invalid_frame"},
		{`{"type":"subscribe","channel":"lobby:football","since":3}`, "invalid_frame"},
		{`{"type":"subscribe","channel":"lobby:football","since":0}`, "invalid_frame"},
		{`{"type":"chat.send","channel":"match:m_1","text":"x","since":0}`, "invalid_frame"},
		{`{"type":"chat.send","channel":"lobby:football","text":"x"}`, "invalid_channel"},
		{`{"type":"dance","channel":"match:m_1"}`, "unknown_type"},
		{`{"type":"subscribe","channel":"room:1"}`, "invalid_channel"},
		{`{"type":"subscribe","channel":"match:"}`, "invalid_channel"},
		{`{"type":"subscribe","channel":"match:m_1","x":1}`, "invalid_frame"},
		{`{"type":"subscribe","type":"subscribe","channel":"match:m_1"}`, "invalid_frame"},
		{`[1,2]`, "invalid_frame"},
		{`{"type":"subscribe"`, "invalid_frame"},
		{`{"type":"chat.send","channel":"match:m_1","text":"a\u0000"}`, "invalid_text"},
		{"{\"type\":\"chat.send\",\"channel\":\"match:m_1\",\"text\":\"\xff\"}", "invalid_text"},
	}
	for _, c := range cases {
		_, err := DecodeFrame([]byte(c.in))
		code := ""
		if err != nil {
			fe, ok := err.(*fault.Error)
			if !ok {
				t.Fatalf("%s: %v is not a fault", c.in, err)
			}
			code = fe.Code
		}
		if code != c.code {
			t.Errorf("%s: code %q, want %q", c.in, code, c.code)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","channel":"match:m_1","since":4}`,
		`{"type":"chat.send","channel":"match:m_1","text":"hi","ref":"r"}`,
		`{"type":"chat.report","channel":"match:m_1","id":3,"reason":"spam"}`,
		`{"type":"unsubscribe","channel":"user:u_1"}`,
		`[]`, `null`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			if _, ok := err.(*fault.Error); !ok {
				t.Fatalf("error %v is not a fault", err)
			}
			return
		}
		if fr.Type == "" || fr.Channel == "" || len(data) > MaxFrame {
			t.Fatalf("accepted %q as %+v", data, fr)
		}
	})
}
