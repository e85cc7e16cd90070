// Package i18n is the product's two languages: the message catalogue
// (Korean first, English second), choosing a language from a setting, a
// cookie or Accept-Language, and the formats a Korean player expects for
// points, numbers and times (KST by default, the zone always shown).
//
// Messages live in catalog/<lang>/*.json, one file per area of the
// product, flat keys to text. A text is a golang.org/x/text/message
// format: %d arguments are printed with thousands separators. A value may
// instead be an object of plural forms ({"one": …, "other": …}) selected
// by the first argument. Load refuses a catalogue in which a key exists in
// one language and not the other, a key is defined twice, or the two
// languages disagree on a key's number of arguments.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

//go:embed catalog
var files embed.FS

// Lang is a language the product speaks.
type Lang string

// The languages, Korean first: it is the default.
const (
	Korean  Lang = "ko"
	English Lang = "en"
)

// Langs are the languages in the order a switch offers them.
var Langs = []Lang{Korean, English}

var tags = map[Lang]language.Tag{Korean: language.Korean, English: language.English}

// Korean is first, so it is what the matcher falls back to.
var matcher = language.NewMatcher([]language.Tag{language.Korean, language.English})

// Parse reads a language setting ("ko" or "en").
func Parse(s string) (Lang, bool) {
	l := Lang(s)
	_, ok := tags[l]
	return l, ok
}

// Negotiate picks the language of an Accept-Language header: the best
// match of the two, Korean when nothing matches or the header is absent.
func Negotiate(acceptLanguage string) Lang {
	if acceptLanguage == "" || len(acceptLanguage) > 512 {
		return Korean
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return Korean
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return Korean
	}
	return Langs[i]
}

// Tag is the BCP 47 tag of l, for <html lang>.
func (l Lang) Tag() string { return tags[l].String() }

// Catalog is the loaded message catalogue.
type Catalog struct {
	keys     map[string]bool
	texts    map[Lang]map[string]string
	printers map[Lang]*Printer
}

// Load reads the embedded catalogue and checks it.
func Load() (*Catalog, error) { return load(files, "catalog") }

// verb finds the formatting verbs of a message, to compare argument counts.
var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

func args(text string) int {
	n := 0
	for _, m := range verb.FindAllString(text, -1) {
		if !strings.HasSuffix(m, "%") {
			n++
		}
	}
	return n
}

func load(fsys fs.FS, root string) (*Catalog, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.Korean))
	texts := map[Lang]map[string]string{}
	for _, l := range Langs {
		texts[l] = map[string]string{}
		dir := path.Join(root, string(l))
		names, err := fs.Glob(fsys, dir+"/*.json")
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("i18n: no catalogue files for %s", l)
		}
		for _, name := range names {
			raw, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, err
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", name, err)
			}
			for key, v := range m {
				if _, dup := texts[l][key]; dup {
					return nil, fmt.Errorf("i18n: %s: key %q is defined twice in %s", name, key, l)
				}
				msg, text, err := parseMessage(v)
				if err != nil {
					return nil, fmt.Errorf("i18n: %s: key %q: %w", name, key, err)
				}
				texts[l][key] = text
				if err := b.Set(tags[l], key, msg); err != nil {
					return nil, fmt.Errorf("i18n: %s: key %q: %w", name, key, err)
				}
			}
		}
	}
	var problems []string
	for _, l := range Langs {
		for _, o := range Langs {
			for key := range texts[l] {
				if _, ok := texts[o][key]; !ok {
					problems = append(problems, fmt.Sprintf("%q is in %s but not in %s", key, l, o))
				}
			}
		}
	}
	for key, ko := range texts[Korean] {
		if en, ok := texts[English][key]; ok && args(ko) != args(en) {
			problems = append(problems, fmt.Sprintf("%q takes %d arguments in ko and %d in en", key, args(ko), args(en)))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("i18n: the catalogue's languages disagree: %s", strings.Join(problems, "; "))
	}
	c := &Catalog{keys: map[string]bool{}, texts: texts, printers: map[Lang]*Printer{}}
	for key := range texts[Korean] {
		c.keys[key] = true
	}
	for _, l := range Langs {
		c.printers[l] = &Printer{lang: l, p: message.NewPrinter(tags[l], message.Catalog(b))}
	}
	return c, nil
}

// parseMessage reads one catalogue value: a text, or plural forms keyed by
// CLDR category ("zero", "one", "two", "few", "many", "other"; "other" is
// required). The returned text is one form, for argument counting.
func parseMessage(v json.RawMessage) (catalog.Message, string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return catalog.String(s), s, nil
	}
	var forms map[string]string
	if err := json.Unmarshal(v, &forms); err != nil {
		return nil, "", fmt.Errorf("a value is a text or an object of plural forms")
	}
	other, ok := forms["other"]
	if !ok {
		return nil, "", fmt.Errorf("plural forms need \"other\"")
	}
	var cases []any
	for _, k := range []string{"zero", "one", "two", "few", "many"} {
		if f, ok := forms[k]; ok {
			cases = append(cases, k, f)
			delete(forms, k)
		}
	}
	delete(forms, "other")
	if len(forms) > 0 {
		return nil, "", fmt.Errorf("unknown plural form(s) %v", slices.Sorted(maps.Keys(forms)))
	}
	cases = append(cases, "other", other)
	return plural.Selectf(1, "%d", cases...), other, nil
}

// Has reports whether key is in the catalogue.
func (c *Catalog) Has(key string) bool { return c.keys[key] }

// Keys are the catalogue's keys, sorted.
func (c *Catalog) Keys() []string {
	out := make([]string, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Source is the text of key in l as the catalogue has it, before any
// argument is printed (one form of a plural), and whether it exists.
func (c *Catalog) Source(l Lang, key string) (string, bool) {
	t, ok := c.texts[l][key]
	return t, ok
}

// Args is the number of arguments key takes.
func (c *Catalog) Args(key string) int { return args(c.texts[Korean][key]) }

// For is the printer of l (Korean for an unknown l).
func (c *Catalog) For(l Lang) *Printer {
	if p, ok := c.printers[l]; ok {
		return p
	}
	return c.printers[Korean]
}
