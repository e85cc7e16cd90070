package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/pointsbook/pointsbook/internal/account"
	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/fault"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

func runAdmin(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: pointsbook admin create-user|verify-ledger|partner")
		return 2
	}
	db, err := openStore(ctx, cfg)
	if err == nil {
		db.SetAuditLog(log)
	}
	if err != nil {
		log.Error("open database", "err", err)
		return 1
	}
	defer db.Close()
	switch args[0] {
	case "create-user":
		fs := flag.NewFlagSet("create-user", flag.ContinueOnError)
		fs.SetOutput(stderr)
		username := fs.String("username", "", "username (required)")
		email := fs.String("email", "", "e-mail address (default <username>@localhost)")
		nickname := fs.String("nickname", "", "nickname (default the username)")
		admin := fs.Bool("admin", false, "make the user an operator")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *username == "" {
			fmt.Fprintln(stderr, "--username is required; the password is read from standard input")
			return 2
		}
		// The password comes from stdin, never from a flag, so it does not
		// show up in the process list or shell history.
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		password := strings.TrimRight(line, "\r\n")
		if *email == "" {
			*email = *username + "@localhost"
		}
		if *nickname == "" {
			*nickname = *username
		}
		role := account.Player
		if *admin {
			role = account.Admin
		}
		if err := createUser(ctx, db, cfg, *username, password, *email, *nickname, role); err != nil {
			fmt.Fprintln(stderr, "create-user:", err)
			return 1
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", *username, role)
		return 0
	case "verify-ledger":
		bad, err := db.VerifyLedger(ctx)
		for _, d := range bad {
			fmt.Fprintf(stdout, "account %d (%s): stored %d, postings sum to %d\n", d.AccountID, d.Code, d.Stored, d.Postings)
		}
		if err != nil {
			fmt.Fprintln(stderr, "verify-ledger:", err)
			return 1
		}
		if len(bad) > 0 {
			fmt.Fprintf(stderr, "verify-ledger: %d accounts differ from their postings\n", len(bad))
			return 1
		}
		fmt.Fprintln(stdout, "ledger ok: every balance equals the sum of its postings, every transaction sums to zero")
		return 0
	case "partner":
		return runPartner(ctx, cfg, db, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown admin command %q\n", args[0])
		return 2
	}
}

func createUser(ctx context.Context, db *sqlstore.DB, cfg config.Config, username, password, email, nickname string, role account.Role) error {
	s := account.Signup{Username: username, Password: password, Email: email, Nickname: nickname}
	if err := s.Check(); err != nil {
		// An operator's password is chosen in configuration by whoever
		// runs the server; it keeps the length rule (checked again here)
		// rather than stop a deployment whose password names the account.
		if role != account.Admin || fault.Code(err) != "weak_password" || account.CheckPassword(password) != nil {
			return err
		}
	}
	hash, err := account.Hash(password, hashParams(cfg))
	if err != nil {
		return err
	}
	bonus := cfg.SignupBonus
	if role == account.Admin {
		bonus = 0 // operators do not bet
	}
	ev := audit.New(ctx, audit.AdminUserCreate, "").ByCLI().Because("role " + string(role))
	_, err = db.CreateUser(ctx, account.NewUser{Username: username, Nickname: nickname, Email: email, PasswordHash: hash, Role: role, Bonus: bonus,
		EmailVerified: true, Audit: ev}) // created by an operator, not through sign-up: nothing to verify
	return cliFailed(ctx, db, ev, err)
}

// cliFailed records a command-line change the store refused as a failed
// attempt, and returns err.
func cliFailed(ctx context.Context, db *sqlstore.DB, ev *audit.Event, err error) error {
	if err != nil {
		if rerr := db.RecordAudit(ctx, ev.Failed(err)); rerr != nil {
			return fmt.Errorf("%w (and its audit event: %v)", err, rerr)
		}
	}
	return err
}

// ensureAdmin creates the configured operator, or resets its password and
// role when it exists, so PB_ADMIN_PASSWORD is always the one in force.
func ensureAdmin(ctx context.Context, db *sqlstore.DB, cfg config.Config, username, password, email, nickname string) error {
	u, _, err := db.FindUserByUsername(ctx, username)
	if fault.Code(err) == "user_not_found" {
		return createUser(ctx, db, cfg, username, password, email, nickname, account.Admin)
	}
	if err != nil {
		return err
	}
	hash, err := account.Hash(password, hashParams(cfg))
	if err != nil {
		return err
	}
	ev := audit.New(ctx, audit.AdminUserPassword, "user:"+u.ID).ByCLI().Because("configured operator")
	return cliFailed(ctx, db, ev, db.SetPassword(ctx, u.ID, hash, account.Admin, ev))
}
