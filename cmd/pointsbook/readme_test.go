package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

// readmeCommands is the first sh block of the README's "Using it"
// section.
func readmeCommands(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Using it\n")
	if !ok {
		t.Fatal(`README.md has no "## Using it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal(`"Using it" has no sh block`)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal(`"Using it" has an unterminated sh block`)
	}
	return block
}

// TestReadmeWalkthrough runs the README's "Using it" commands with bash
// against a fresh server, as a reader would on a first start: sign-up,
// log-in, the match list and a bet on a real open selection. curl fails
// on any error status, so a refused step fails the test.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			testgate.Unavailable(t, "readme-tools", "the README's commands need %s: %v", tool, err)
		}
	}
	script := readmeCommands(t)
	if !strings.Contains(script, "localhost:8080") || strings.Contains(script, `"s_1"`) {
		t.Fatalf("the walk-through no longer talks to localhost:8080, or bets on a fixed selection:\n%s", script)
	}
	base, _ := runServe(t, nil)
	waitStatus(t, base+"/readyz", http.StatusOK, readyLimit()+5*time.Second, 20*time.Millisecond)
	script = strings.ReplaceAll(script, "localhost:8080", strings.TrimPrefix(base, "http://"))
	script = strings.ReplaceAll(script, "curl -s ", "curl -sS --fail-with-body ")
	cmd := exec.Command("bash", "-e", "-u", "-o", "pipefail", "-x", "-c", script)
	var out, trace bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &trace
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walk-through failed: %v\nstdout:\n%s\ntrace:\n%s", err, out.String(), trace.String())
	}
	// The last command's answer is the bet, placed and open.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	bet := lines[len(lines)-1]
	if !strings.Contains(bet, `"state":"open"`) || !strings.Contains(bet, `"stake":1000`) {
		t.Fatalf("the last command did not place the bet: %s\ntrace:\n%s", bet, trace.String())
	}
}
