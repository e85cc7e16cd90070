package ledger

import (
	"math"
	"testing"

	"github.com/pointsbook/pointsbook/internal/fault"
)

func TestTransactionCheck(t *testing.T) {
	t.Parallel()
	p := func(id int64, k AccountKind, amt int64) Posting { return Posting{AccountID: id, Kind: k, Amount: amt} }
	tests := []struct {
		name string
		tx   Transaction
		code string
	}{
		{"stake", Transaction{Kind: Stake, Reference: "bet:1", Postings: []Posting{p(1, Player, -100), p(2, House, 100)}}, ""},
		{"three way", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, 100), p(2, House, -50), p(3, Programme, -50)}}, ""},
		{"one posting", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, 100)}}, "invalid_transaction"},
		{"unbalanced", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, 100), p(2, House, -99)}}, "invalid_transaction"},
		{"zero", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, 0), p(2, House, 0)}}, "invalid_transaction"},
		{"no reference", Transaction{Kind: Grant, Postings: []Posting{p(1, Player, 1), p(2, House, -1)}}, "invalid_transaction"},
		{"player to player", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, -100), p(2, Player, 100)}}, "player_transfer_forbidden"},
		{"player to player via house", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, -100), p(3, House, 0+100-100+100), p(2, Player, 0)}}, "invalid_transaction"},
		{"huge", Transaction{Kind: Grant, Reference: "g:1", Postings: []Posting{p(1, Player, 1<<62), p(2, House, -(1 << 62))}}, "invalid_transaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fault.Code(tt.tx.Check()); got != tt.code {
				t.Fatalf("code=%q, want %q", got, tt.code)
			}
		})
	}
	// Through the house, in one transaction, is still player to player.
	tx := Transaction{Kind: Grant, Reference: "g:2", Postings: []Posting{p(1, Player, -100), p(3, House, 100), p(3, House, -100), p(2, Player, 100)}}
	if got := fault.Code(tx.Check()); got != "player_transfer_forbidden" {
		t.Fatalf("via house: code=%q", got)
	}
}

func TestFormatPoints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {50000, "50,000"}, {1234567, "1,234,567"}, {-500, "-500"}, {-1234, "-1,234"},
		{math.MinInt64, "-9,223,372,036,854,775,808"}} {
		if got := FormatPoints(tt.n); got != tt.want {
			t.Errorf("FormatPoints(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestToPlayer(t *testing.T) {
	t.Parallel()
	stake := ToPlayer(Stake, "bet:7:stake", 11, 1, House, -250)
	if err := stake.Check(); err != nil {
		t.Fatalf("stake: %v", err)
	}
	want := []Posting{{AccountID: 11, Kind: Player, Amount: -250}, {AccountID: 1, Kind: House, Amount: 250}}
	if len(stake.Postings) != 2 || stake.Postings[0] != want[0] || stake.Postings[1] != want[1] {
		t.Fatalf("postings = %+v, want %+v", stake.Postings, want)
	}
	zero := ToPlayer(Grant, "g:1", 11, 2, Programme, 0)
	if got := fault.Code(zero.Check()); got != "invalid_transaction" {
		t.Fatalf("a zero movement: code=%q, want invalid_transaction", got)
	}
	between := ToPlayer(Grant, "g:1", 11, 12, Player, 5)
	if got := fault.Code(between.Check()); got != "player_transfer_forbidden" {
		t.Fatalf("wallet to wallet: code=%q, want player_transfer_forbidden", got)
	}
}
