package api

import (
	"net/http"
	"net/netip"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/edge"
	"github.com/pointsbook/pointsbook/internal/fault"
)

// client is the caller's address, behind trusted proxies: what the
// attempt budgets count per address.
func (a *API) client(r *http.Request) netip.Addr {
	return a.clients.Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

func (a *API) handleVerifyEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Code     string `json:"code"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	// A signed-in player is verifying their own address: the code is
	// enough.
	if sess := edge.SessionFrom(r.Context()); req.Username == "" && sess != nil {
		req.Username = sess.User.Username
	}
	if err := a.auth.VerifyEmail(r.Context(), req.Username, req.Code, a.client(r)); err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"email_verified": true})
}

func (a *API) handleVerifyResend(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.auth.ResendCode(r.Context(), req.Username); err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusAccepted, map[string]any{"message": "If that account exists and its address is unverified, a new code is on its way. It is valid for 15 minutes."})
}

func (a *API) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.auth.ChangePassword(r.Context(), edge.SessionFrom(r.Context()), req.Current, req.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handlePasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.auth.RequestPasswordReset(r.Context(), req.Email); err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusAccepted, map[string]any{"message": "If an account uses that address, a link to set a new password is on its way. It works once, within an hour."})
}

func (a *API) handlePasswordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.auth.ResetPassword(r.Context(), req.Token, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleLogoutAll(w http.ResponseWriter, r *http.Request) error {
	if err := a.auth.LogOutEverywhere(r.Context(), edge.SessionFrom(r.Context())); err != nil {
		return err
	}
	a.edge.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleProfileUpdate(w http.ResponseWriter, r *http.Request) error {
	var req account.ProfileUpdate
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if req.TimeZone == nil && req.Nickname == nil && req.Language == nil {
		return fault.New(fault.Invalid, "empty_update", "Give time_zone, nickname, language or several.")
	}
	if err := req.Check(); err != nil {
		return err
	}
	u, err := a.store.UpdateProfile(r.Context(), edge.SessionFrom(r.Context()).User.ID, req)
	if err != nil {
		return err
	}
	return edge.WriteJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (a *API) handleAccountDelete(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Password string `json:"password"`
	}
	if err := a.readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.auth.DeleteAccount(r.Context(), edge.SessionFrom(r.Context()), req.Password); err != nil {
		return err
	}
	a.edge.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
