package edge

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/i18n"
)

// DefaultZone is where times are shown to a caller with no zone of their
// own: the product's players are in Korea.
const DefaultZone = "Asia/Seoul"

// catalogue is the message catalogue errors are printed from. It is
// embedded and checked by its own tests; should it still fail to load,
// errors keep their English messages rather than the server refusing to
// answer.
var catalogue = sync.OnceValue(func() *i18n.Catalog {
	c, err := i18n.Load()
	if err != nil {
		return nil
	}
	return c
})

// faultKeys finds the catalogue key of an error's message: by code, the
// English text of each fault.<code> key and its variants
// (fault.<code>.<name>), which is the format the domain wrote.
var faultKeys = sync.OnceValue(func() map[string]map[string]string {
	idx := map[string]map[string]string{}
	c := catalogue()
	if c == nil {
		return idx
	}
	for _, key := range c.Keys() {
		code, ok := FaultCode(key)
		if !ok {
			continue
		}
		src, _ := c.Source(i18n.English, key)
		if idx[code] == nil {
			idx[code] = map[string]string{}
		}
		idx[code][src] = key
	}
	return idx
})

// FaultCode is the error code of a catalogue key fault.<code> or
// fault.<code>.<variant>.
func FaultCode(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "fault.")
	if !ok || rest == "" {
		return "", false
	}
	code, _, _ := strings.Cut(rest, ".")
	return code, true
}

var zones sync.Map // name → *time.Location

func zone(name string) *time.Location {
	if name == "" {
		name = DefaultZone
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		if name == DefaultZone {
			return time.FixedZone("KST", 9*3600)
		}
		return zone(DefaultZone)
	}
	zones.Store(name, loc)
	return loc
}

// Caller is the language and zone answers to r are written in: the
// signed-in player's language setting, else the request's
// Accept-Language, Korean when neither says; the player's time zone, else
// Korea's.
func Caller(r *http.Request) (i18n.Lang, *time.Location) {
	lang, tz := i18n.Lang(""), ""
	if s := SessionFrom(r.Context()); s != nil && s.User != nil {
		if l, ok := i18n.Parse(s.User.Language); ok {
			lang = l
		}
		tz = s.User.TimeZone
	}
	if lang == "" {
		lang = i18n.Negotiate(r.Header.Get("Accept-Language"))
	}
	return lang, zone(tz)
}

// Localize is fe with its message in language l, times in loc: the
// catalogue text of its code and format with its arguments, else the
// code's general text in Korean and the English message as written in
// English. Code, kind and details stay as they are.
func Localize(fe *fault.Error, l i18n.Lang, loc *time.Location) *fault.Error {
	c := catalogue()
	if c == nil {
		return fe
	}
	p := c.For(l)
	msg := ""
	if key, ok := faultKeys()[fe.Code][fe.Format]; ok && fe.Format != "" && c.Args(key) == len(fe.Args) {
		msg = p.T(key, printable(fe.Args, p, loc)...)
	} else if l == i18n.English && fe.Message != "" {
		return fe
	} else if key := "fault." + fe.Code; c.Has(key) && c.Args(key) == 0 {
		msg = p.T(key)
	} else {
		return fe
	}
	out := *fe
	out.Message = msg
	return &out
}

// printable is args as a message prints them: times in the caller's zone
// and language.
func printable(args []any, p *i18n.Printer, loc *time.Location) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			out[i] = p.DateTime(v, loc)
		default:
			out[i] = a
		}
	}
	return out
}
