// Package ledger is the double-entry points ledger: accounts, transactions
// made of postings that sum to zero, and statements. A point is an int64;
// there are no fractions. Storage enforces these rules inside the same
// database transaction that writes the postings.
package ledger

import (
	"strconv"
	"time"

	"github.com/pointsbook/pointsbook/internal/fault"
)

// AccountKind separates player wallets, which may not go below zero, from
// the operator's own accounts, which are counterparties and may.
type AccountKind string

const (
	Player    AccountKind = "player"
	House     AccountKind = "house"
	Programme AccountKind = "programme"
)

// Codes of the operator's accounts. Stakes flow into the house and payouts
// out of it; each points programme pays from its own account so its cost
// can be read off its balance.
const (
	HouseAccount       = "house"
	SignupBonusAccount = "programme:signup"
	GrantAccount       = "programme:grant"
	TopupAccount       = "programme:topup"
	CheckinAccount     = "programme:checkin"
	PartnerAccount     = "programme:partner"
)

// SystemAccounts lists every operator account created by the migrations.
var SystemAccounts = map[string]AccountKind{
	HouseAccount:       House,
	SignupBonusAccount: Programme,
	GrantAccount:       Programme,
	TopupAccount:       Programme,
	CheckinAccount:     Programme,
	PartnerAccount:     Programme,
}

// Kind names why points moved.
type Kind string

const (
	Stake       Kind = "stake"
	Payout      Kind = "payout"
	Refund      Kind = "refund"
	Reversal    Kind = "reversal"
	SignupBonus Kind = "signup_bonus"
	Grant       Kind = "grant"
	Topup       Kind = "topup"
	Checkin     Kind = "checkin"
	Partner     Kind = "partner_credit"
)

// Posting moves Amount points into (positive) or out of (negative) an
// account.
type Posting struct {
	AccountID int64
	Kind      AccountKind
	Amount    int64
}

// Transaction is one atomic movement of points.
type Transaction struct {
	Kind Kind
	// Reference identifies what caused the movement ("bet:77:v1"). It is
	// unique across the ledger, which makes every movement idempotent at
	// the storage level: the same payout cannot be posted twice.
	Reference string
	Postings  []Posting
	// AllowDebt lets a player balance go below zero; only reversals of a
	// payout after a result correction set it.
	AllowDebt bool
}

// Check enforces the ledger's invariants on a transaction before it is
// written: at least two postings, no zero amounts, a zero sum, and never a
// movement between two players' wallets.
//
// Codes: invalid_transaction, player_transfer_forbidden.
func (t *Transaction) Check() error {
	if t.Kind == "" || t.Reference == "" {
		return fault.New(fault.Internal, "invalid_transaction", "A transaction needs a kind and a reference.")
	}
	if len(t.Postings) < 2 {
		return fault.New(fault.Internal, "invalid_transaction", "A transaction needs at least two postings.")
	}
	var sum int64
	var player int64
	for _, p := range t.Postings {
		if p.Amount == 0 {
			return fault.New(fault.Internal, "invalid_transaction", "A posting cannot be zero.")
		}
		// Amounts are bounded far below overflow by bet limits, but a
		// ledger must not rely on callers for that.
		if p.Amount > 1<<50 || p.Amount < -(1<<50) {
			return fault.New(fault.Internal, "invalid_transaction", "A posting amount is out of range.")
		}
		sum += p.Amount
		if p.Kind == Player {
			if player != 0 && player != p.AccountID {
				return fault.New(fault.Forbidden, "player_transfer_forbidden", "Points cannot move between players.")
			}
			player = p.AccountID
		}
	}
	if sum != 0 {
		return fault.New(fault.Internal, "invalid_transaction", "Postings must sum to zero.")
	}
	return nil
}

// Entry is one line of an account statement.
type Entry struct {
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	Kind         Kind      `json:"kind"`
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Reference    string    `json:"reference"`
}

// Discrepancy is an account whose stored balance differs from the sum of
// its postings, as found by a verification.
type Discrepancy struct {
	AccountID int64
	Code      string
	Stored    int64
	Postings  int64
}

// FormatPoints writes an amount of points for people: 1234567 as
// "1,234,567", as the messages of every refusal show them.
func FormatPoints(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}

// ToPlayer is a movement between a player's wallet and one operator
// account: amount points into the wallet from the operator's account (a
// negative amount goes the other way). Every movement the product makes is
// one: a stake (negative, into the house), a payout, refund or reversal
// (the house pays, or takes back), and each programme's credits. The
// player's posting comes first.
func ToPlayer(kind Kind, reference string, wallet, operator int64, operatorKind AccountKind, amount int64) Transaction {
	return Transaction{Kind: kind, Reference: reference, Postings: []Posting{
		{AccountID: wallet, Kind: Player, Amount: amount},
		{AccountID: operator, Kind: operatorKind, Amount: -amount},
	}}
}
