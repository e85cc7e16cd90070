package api

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/pointsbook/pointsbook/internal/betting"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// betView is a bet as docs/api.md shows it; the domain type already carries the
// contract's field names.
func betView(b *betting.Bet) *betting.Bet { return b }

func (a *API) handleBetCreate(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	body, idem, err := a.readKeyed(w, r, sess)
	if err != nil {
		return err
	}
	var slip betting.Slip
	if err := decode(body, &slip); err != nil {
		return err
	}
	bet, replay, err := a.store.PlaceBet(r.Context(), &betting.PlaceRequest{UserID: sess.User.ID, Slip: slip, Idempotency: idem})
	if obs := a.opt.Bets; obs != nil && replay == nil {
		if err != nil {
			obs.BetRefused(r.Context(), fault.Code(err))
		} else {
			obs.BetPlaced(r.Context(), bet)
		}
	}
	if done, err := a.edge.Replayed(w, r, replay, err); done {
		return err
	}
	w.Header().Set("Location", "/api/v1/bets/"+bet.ID)
	return edge.WriteJSON(w, http.StatusCreated, betView(bet))
}

func (a *API) handleBetGet(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	b, err := a.store.FindBet(r.Context(), sess.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, betView(b))
}

func (a *API) handleMyBets(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	limit, err := pageLimit(r, 20, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	bets, next, err := a.store.FindBets(r.Context(), sess.User.ID, betting.BetFilter{State: q.Get("state"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	buf := betBuffers.Get().(*[]byte)
	defer betBuffers.Put(buf)
	*buf = appendBetList((*buf)[:0], bets, next)
	edge.WriteRaw(w, http.StatusOK, *buf)
	return nil
}

// betBuffers hold the answers of the bet reads between requests: a page
// of 100 bets is about 75 kB, grown again from nothing by every request
// otherwise.
var betBuffers = sync.Pool{New: func() any { return new([]byte) }}

// appendBetList appends a page of bets as writeList writes a list, each
// bet by its own encoder (betting.Bet.AppendJSON).
func appendBetList(dst []byte, bets []*betting.Bet, next string) []byte {
	dst = append(dst, `{"items":[`...)
	for i, b := range bets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = betView(b).AppendJSON(dst)
	}
	dst = append(dst, ']')
	if next != "" {
		cursor, _ := json.Marshal(next) // a string: cannot fail
		dst = append(dst, `,"next_cursor":`...)
		dst = append(dst, cursor...)
	}
	return append(dst, '}')
}
