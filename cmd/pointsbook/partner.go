package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pointsbook/pointsbook/internal/audit"
	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/programme"
	"github.com/pointsbook/pointsbook/internal/sqlstore"
)

// programmeRules are the programme settings of the configuration.
func programmeRules(cfg config.Config) programme.Rules {
	return programme.Rules{
		TopupTarget: cfg.TopupTarget, TopupInterval: cfg.TopupInterval,
		CheckinBase: cfg.CheckinBase, CheckinStep: cfg.CheckinStep, CheckinCapDay: cfg.CheckinCapDay,
		GrantMax: cfg.GrantMax,
	}
}

// secretsKeyFile is where a laptop run keeps its generated secrets key.
func secretsKeyFile(cfg config.Config) string { return filepath.Join(cfg.DataDir, "secrets.key") }

// loadSealer returns the sealer of partner secrets: PB_SECRETS_KEY when
// set, else the key in PB_DATA_DIR/secrets.key, generated (0600) on first
// use so that a fresh install works. Every instance serving partners and
// every admin command must use the same key; with several instances, set
// PB_SECRETS_KEY (from a secret store) on all of them.
func loadSealer(cfg config.Config) (*programme.Sealer, error) {
	if cfg.SecretsKey != "" {
		key, err := programme.ParseKey(cfg.SecretsKey)
		if err != nil {
			return nil, fmt.Errorf("PB_SECRETS_KEY: %w", err)
		}
		return programme.NewSealer(key)
	}
	path := secretsKeyFile(cfg)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case cerr == nil:
			_, werr := f.WriteString(programme.NewKey() + "\n")
			if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		case !errors.Is(cerr, fs.ErrExist): // another process may have just written it
			return nil, fmt.Errorf("create %s: %w", path, cerr)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	key, err := programme.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return programme.NewSealer(key)
}

const partnerUsage = `usage: pointsbook admin partner add --id ID --name NAME --rate N/D --daily-cap POINTS
       pointsbook admin partner list
       pointsbook admin partner rotate-secret --id ID
       pointsbook admin partner disable --id ID`

// runPartner manages mileage partners. A new or rotated secret is written
// to stdout once and never again: only its sealed form is stored.
func runPartner(ctx context.Context, cfg config.Config, db *sqlstore.DB, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, partnerUsage)
		return 2
	}
	fs := flag.NewFlagSet("partner "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "partner id: 2 to 32 lower-case letters, digits and dashes")
	name := fs.String("name", "", "partner name (add)")
	rate := fs.String("rate", "", "points per mile as N/D, e.g. 1/2 (add)")
	dailyCap := fs.Int64("daily-cap", 0, "most points one player may receive from this partner per KST day (add)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	// Every change, refused or made, is in the audit trail: a refusal as a
	// failure, whichever step refused it.
	var ev *audit.Event
	if action, ok := map[string]string{"add": audit.AdminPartnerAdd, "rotate-secret": audit.AdminPartnerKey, "disable": audit.AdminPartnerOff}[args[0]]; ok {
		ev = audit.New(ctx, action, "partner:"+*id).ByCLI()
	}
	fail := func(err error) int {
		if ev != nil {
			err = cliFailed(ctx, db, ev, err)
		}
		fmt.Fprintf(stderr, "partner %s: %v\n", args[0], err)
		return 1
	}
	switch args[0] {
	case "add":
		r, err := programme.ParseRate(*rate)
		if err != nil {
			return fail(err)
		}
		sealer, err := loadSealer(cfg)
		if err != nil {
			return fail(err)
		}
		secret := programme.NewSecret()
		p := &programme.Partner{ID: *id, Name: strings.TrimSpace(*name), Rate: r, DailyCap: *dailyCap, SealedSecret: sealer.Seal(*id, []byte(secret))}
		if err := db.CreatePartner(ctx, p, ev); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "added partner %s (%s): %s points per mile, daily cap %d points per player\n", p.ID, p.Name, p.Rate, p.DailyCap)
		printSecret(stdout, secret)
		return 0
	case "list":
		list, err := db.ListPartners(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tRATE\tDAILY CAP\tSTATUS\tCREATED\tSECRET ROTATED")
		for _, p := range list {
			status := "active"
			if p.DisabledAt != nil {
				status = "disabled " + p.DisabledAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.ID, p.Name, p.Rate, p.DailyCap, status, p.CreatedAt.Format(time.RFC3339), p.RotatedAt.Format(time.RFC3339))
		}
		tw.Flush()
		return 0
	case "rotate-secret":
		if _, err := db.FindPartner(ctx, *id); err != nil {
			return fail(err)
		}
		sealer, err := loadSealer(cfg)
		if err != nil {
			return fail(err)
		}
		secret := programme.NewSecret()
		if err := db.RotatePartnerSecret(ctx, *id, sealer.Seal(*id, []byte(secret)), ev); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "rotated the secret of %s; the old secret no longer works\n", *id)
		printSecret(stdout, secret)
		return 0
	case "disable":
		if err := db.DisablePartner(ctx, *id, ev); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "disabled partner %s: its requests are refused from now on (403 partner_disabled)\n", *id)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown partner command %q\n%s\n", args[0], partnerUsage)
		return 2
	}
}

func printSecret(w io.Writer, secret string) {
	fmt.Fprintf(w, "secret: %s\nThis is the only time the secret is shown. Give it to the partner over a secure channel.\n", secret)
}
