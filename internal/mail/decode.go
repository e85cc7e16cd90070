package mail

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
)

// decodeBody reads a body in the transfer encoding named by cte.
func decodeBody(cte string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit":
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	default:
		return "", errEncoding
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

// newlineStripper drops line breaks, which base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
