package apisports

import (
	"strings"

	"github.com/pointsbook/pointsbook/internal/sport"
)

// Sports this adapter polls, in the catalogue's order.
var sportSlugs = []string{"football", "baseball", "basketball", "hockey", "handball"}

// statusTable maps each sport's status codes onto our states, as listed in
// the provider notes. A code not listed maps to "" so the ingester holds
// the match and warns, instead of guessing a settlement.
var statusTable = map[string]map[string]sport.State{
	"football": states(
		"TBD NS", "1H HT 2H ET BT P LIVE", "SUSP INT", "FT AET PEN", "PST", "CANC", "ABD",
		// AWD is the typed clients' spelling of a technical loss; AWA is how
		// the documentation copy spells it. Both are awarded results: void.
		"AWD AWA WO"),
	"basketball": states("NS", "Q1 Q2 Q3 Q4 OT BT HT", "SUSP", "FT AOT", "POST", "CANC", "ABD", "AWD"),
	"baseball":   states("NS", "IN1 IN2 IN3 IN4 IN5 IN6 IN7 IN8 IN9", "INTR", "FT", "POST", "CANC", "ABD", ""),
	"hockey":     states("NS", "P1 P2 P3 OT PT BT", "INTR", "FT AOT AP", "POST", "CANC", "ABD", "AW"),
	"handball":   states("NS", "1H 2H HT ET BT PT", "INTR", "FT AET AP", "POST", "CANC", "ABD", "AW WO"),
}

// states builds one sport's table from the reference's columns. Awarded
// and walkover results are voided like abandoned matches; the provider
// code stays in Fixture.Status so the receipt shows what happened.
func states(scheduled, live, paused, finished, postponed, cancelled, abandoned, awarded string) map[string]sport.State {
	m := map[string]sport.State{}
	for _, col := range []struct {
		codes string
		state sport.State
	}{
		{scheduled, sport.Scheduled}, {live, sport.Live}, {paused, sport.Suspended}, {finished, sport.Finished},
		{postponed, sport.Postponed}, {cancelled, sport.Cancelled}, {abandoned, sport.Abandoned}, {awarded, sport.Abandoned},
	} {
		for _, c := range strings.Fields(col.codes) {
			m[c] = col.state
		}
	}
	return m
}

// normStatus is the status code as we store it: trimmed and upper-case,
// bounded so a garbage value cannot bloat the catalogue.
func normStatus(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) > 16 {
		code = clean(code[:16]) // clean drops a rune cut in half
	}
	return code
}

// mapStatus returns the state for a sport's status code, or "" when the
// code is not known for that sport.
func mapStatus(sp, code string) sport.State {
	return statusTable[sp][normStatus(code)]
}

// terminal states need no more polling.
func terminal(s sport.State) bool {
	switch s {
	case sport.Finished, sport.Postponed, sport.Cancelled, sport.Abandoned:
		return true
	}
	return false
}
