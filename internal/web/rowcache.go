package web

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
	"sync"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/i18n"
)

// rowCache keeps rendered match rows by everything a row shows. A list
// of 200 matches is mostly rows that did not change since the last
// viewer (a score, a state or a price changes a few rows at a time), and
// executing html/template 200 times per request cost three times what
// the JSON list of the same matches costs; looking a row up costs a key
// built from a few fields. The template stays the one source of the
// markup: a miss executes it.
type rowCache struct {
	mu   sync.Mutex
	rows map[string]template.HTML
}

// maxCachedRows bounds the cache (about 1 KB a row); when full it starts
// over, which costs one render of each row still on screen.
const maxCachedRows = 8192

func newRowCache() *rowCache { return &rowCache{rows: map[string]template.HTML{}} }

// rowKey is everything the match-row template reads from the page and
// the match, so that equal keys render equal HTML.
func rowKey(pg *Page, p *i18n.Printer, m *betting.Match) string {
	var b strings.Builder
	b.Grow(128)
	b.WriteString(string(pg.Lang))
	b.WriteByte('|')
	b.WriteString(pg.Zone.String())
	b.WriteByte('|')
	b.WriteString(m.ID)
	b.WriteByte('|')
	b.WriteString(string(m.State))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(m.KickoffAt.UnixNano(), 36))
	b.WriteByte('|')
	b.WriteString(p.Relative(m.KickoffAt, pg.Now))
	b.WriteByte('|')
	b.WriteString(m.Home.Name)
	b.WriteByte('\x00')
	b.WriteString(m.Away.Name)
	if sc := m.Score; sc != nil {
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(sc.Home))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(sc.Away))
	}
	if mk := m.MainMarket(); mk != nil && mk.Open {
		b.WriteByte('|')
		b.WriteString(string(mk.Kind))
		for _, s := range mk.Selections {
			b.WriteByte(',')
			b.WriteString(s.ID)
			b.WriteByte('=')
			b.WriteString(strconv.FormatInt(int64(s.Odds), 10))
		}
	}
	return b.String()
}

// render returns the row of m, from the cache or by executing t.
func (c *rowCache) render(t *template.Template, pg *Page, p *i18n.Printer, m *betting.Match) (template.HTML, error) {
	key := rowKey(pg, p, m)
	c.mu.Lock()
	h, ok := c.rows[key]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "match-row", matchRow{pg, m}); err != nil {
		return "", err
	}
	h = template.HTML(buf.String()) //nolint:gosec // the output of html/template, escaped there
	c.mu.Lock()
	if len(c.rows) >= maxCachedRows {
		clear(c.rows)
	}
	c.rows[key] = h
	c.mu.Unlock()
	return h, nil
}
