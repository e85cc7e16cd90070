package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/ledger"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own view types always marshal
	}
	return b
}

func (a *API) handleSignup(w http.ResponseWriter, r *http.Request) error {
	var req account.Signup
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	u, err := a.auth.SignUp(r.Context(), req)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusCreated, map[string]any{"user": u})
}

func (a *API) handleAvailability(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	username, nickname := q.Get("username"), q.Get("nickname")
	if username == "" && nickname == "" {
		return fault.New(fault.Invalid, "invalid_query", "Give username, nickname or both.")
	}
	uFree, nFree, err := a.store.Availability(r.Context(), username, nickname)
	if err != nil {
		return err
	}
	type avail struct {
		Value     string `json:"value"`
		Available bool   `json:"available"`
		Reason    string `json:"reason,omitempty"`
	}
	check := func(v string, free bool, valid func(string) error) *avail {
		if v == "" {
			return nil
		}
		out := &avail{Value: v, Available: free}
		if err := valid(v); err != nil {
			fe, _ := fault.As(err)
			out.Available, out.Reason = false, fe.Message
		} else if !free {
			out.Reason = "Already taken."
		}
		return out
	}
	resp := map[string]any{}
	if x := check(username, uFree, account.CheckUsername); x != nil {
		resp["username"] = x
	}
	if x := check(nickname, nFree, account.CheckNickname); x != nil {
		resp["nickname"] = x
	}
	return edge.WriteJSON(w, http.StatusOK, resp)
}

func (a *API) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	s, err := a.auth.LogIn(r.Context(), req.Username, req.Password, a.client(r))
	if err != nil {
		return err
	}
	a.edge.SetSession(w, s.Token, s.ExpiresAt)
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"token": s.Token, "expires_at": s.ExpiresAt, "csrf_token": account.CSRFToken(s.Token), "user": s.User})
}

func (a *API) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := a.auth.LogOut(r.Context(), edge.SessionFrom(r.Context())); err != nil {
		return err
	}
	a.edge.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleMe(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	acct, err := a.store.PlayerAccount(r.Context(), sess.User.ID)
	if err != nil {
		return err
	}
	bal, err := a.store.Balance(r.Context(), acct)
	if err != nil {
		return err
	}
	u := sess.User
	resp := map[string]any{"id": u.ID, "username": u.Username, "nickname": u.Nickname, "email": u.Email, "role": u.Role,
		"time_zone": u.TimeZone, "language": u.Language, "created_at": u.CreatedAt, "balance": bal, "nickname_required": u.NicknameRequired, "email_verified": u.EmailVerified}
	if token, ok := edge.CookieToken(r); ok {
		resp["csrf_token"] = account.CSRFToken(token)
	}
	return edge.WriteJSON(w, http.StatusOK, resp)
}

// pageLimit reads ?limit= (default def, at most max). Codes: invalid_limit.
func pageLimit(r *http.Request, def, max int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		return 0, fault.New(fault.Invalid, "invalid_limit", "limit must be 1 to %d.", max)
	}
	return n, nil
}

func (a *API) handleStatement(w http.ResponseWriter, r *http.Request) error {
	sess := edge.SessionFrom(r.Context())
	limit, err := pageLimit(r, 50, 200)
	if err != nil {
		return err
	}
	acct, err := a.store.PlayerAccount(r.Context(), sess.User.ID)
	if err != nil {
		return err
	}
	entries, next, err := a.store.Statement(r.Context(), acct, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []*ledger.Entry{}
	}
	return writeList(w, entries, next)
}
