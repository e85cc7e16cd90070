package api

import (
	"testing"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// FuzzDecodeSlip feeds the bet body parser arbitrary bytes: it must never
// panic, and every refusal must be a 400 with a code.
func FuzzDecodeSlip(f *testing.F) {
	for _, s := range []string{
		`{"stake":1000,"legs":[{"selection_id":"s_1","odds":"2.05"}],"odds_policy":"reject"}`,
		`{"stake":-1,"legs":[]}`, `{"stake":1e3}`, `{"legs":[{"odds":"1.001"}]}`, `[]`, `null`, `{"stake":1}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var slip betting.Slip
		err := decode(body, &slip)
		if err == nil {
			_ = slip.Check(betting.DefaultLimits)
			return
		}
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid || fe.Code == "" || fe.Message == "" {
			t.Fatalf("decode error %v is not a 400 with a code", err)
		}
	})
}
