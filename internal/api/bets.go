package api

import (
	"net/http"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/betting"
)

// betView is a bet as API.md shows it; the domain type already carries the
// contract's field names.
func betView(b *betting.Bet) *betting.Bet { return b }

func (a *API) handleBetCreate(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	body, idem, ok := a.readKeyed(w, r, sess)
	if !ok {
		return
	}
	var slip betting.Slip
	if err := decode(body, &slip); err != nil {
		a.writeError(w, r, err)
		return
	}
	bet, replay, err := a.store.PlaceBet(r.Context(), &betting.PlaceRequest{UserID: sess.User.ID, Slip: slip, Idempotency: idem})
	switch {
	case replay != nil:
		writeReplay(w, replay)
	case err != nil:
		a.writeError(w, r, err)
	default:
		w.Header().Set("Location", "/api/v1/bets/"+bet.ID)
		writeJSON(w, http.StatusCreated, betView(bet))
	}
}

func (a *API) handleBetGet(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	b, err := a.store.FindBet(r.Context(), sess.User.ID, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, betView(b))
}

func (a *API) handleMyBets(w http.ResponseWriter, r *http.Request, sess *account.Session) {
	limit, err := pageLimit(r, 20, 100)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	bets, next, err := a.store.FindBets(r.Context(), sess.User.ID, betting.BetFilter{State: q.Get("state"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(w, bets, next)
}
